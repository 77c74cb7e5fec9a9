"""What the commands share: loading a TARGET, running a script, turning errors into one line.

A TARGET names graphs in one of three ways:

- ``trace.gvz``: a trace file written by ``gradviz run`` or ``gradviz.trace.save``; its
  last graph unless an iteration is asked for;
- ``trace.gvz:3``: the graph of iteration 3 (0-based, as ``rec.graphs[3]``);
- ``script.py``: a Python script, run as ``__main__`` under ``gradviz.trace.record()``
  with its folder first on ``sys.path``; one graph per backward call it makes (with
  saved-tensor and input nodes when the command asks for them).

Every user error (a missing file, a bad iteration, a script that raises, a damaged trace
file, Graphviz missing) becomes a :class:`click.ClickException`: one line on stderr,
``Error: ...``, and exit status 1, never a traceback. Heavy modules (the tracer, networkx)
are imported inside the functions, so ``gradviz --help`` stays fast.
"""

from __future__ import annotations

import functools
import re
import runpy
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gradviz.errors import GradvizError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "Loaded",
    "one_line",
    "user_errors",
    "split_target",
    "run_script",
    "load_target",
    "pick_graph",
    "describe_graph",
]

_ITERATION_SUFFIX = re.compile(r"^(?P<path>.+):(?P<iteration>-?\d+)$")

F = TypeVar("F", bound=Callable[..., Any])


def one_line(message: object) -> str:
    """Join a (possibly multi-line) message into one line of text."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def user_errors(func: F) -> F:
    """Make a command turn gradviz's and the file system's errors into one-line errors.

    ``GradvizError`` (``TraceFileError``, ``RenderError``, ...) and ``OSError`` (a file
    that cannot be written) become a ``click.ClickException``. Anything else is a bug in
    gradviz and keeps its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except GradvizError as err:
            raise click.ClickException(one_line(err)) from err
        except OSError as err:
            where = f"{err.filename}: " if getattr(err, "filename", None) else ""
            raise click.ClickException(one_line(f"{where}{err.strerror or err}")) from err

    return wrapper  # type: ignore[return-value]


def split_target(target: str) -> tuple[Path, int | None]:
    """Split ``trace.gvz:3`` into the path and the iteration (None when not given).

    A name that exists as a file is taken whole, so a file whose name ends in ``:3``
    still works.

    Args:
        target: The TARGET argument as typed.

    Returns:
        ``(path, iteration)``.

    Raises:
        click.ClickException: the file does not exist, or is a folder.
    """
    path = Path(target)
    iteration = None
    if not path.exists():
        match = _ITERATION_SUFFIX.match(target)
        if match and Path(match.group("path")).exists():
            path = Path(match.group("path"))
            iteration = int(match.group("iteration"))
    if not path.exists():
        raise click.ClickException(
            f"TARGET {target!r} does not exist. Give a trace file (trace.gvz, trace.gvz:3) "
            "or a Python script (train.py)."
        )
    if path.is_dir():
        raise click.ClickException(
            f"TARGET {target!r} is a folder. Give a trace file or a Python script."
        )
    return path, iteration


def _script_location(err: BaseException, script: Path) -> str:
    """Return ``script.py:LINE`` of the deepest frame of the script in the traceback."""
    wanted = str(script.resolve())
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        try:
            same = str(Path(frame.filename).resolve()) == wanted
        except OSError:
            same = False
        if same:
            line = frame.lineno
    return f"{script.name}:{line}" if line is not None else script.name


def run_script(
    script: Path,
    args: Sequence[str] = (),
    *,
    values: bool = False,
    saved: bool = False,
    inputs: bool = False,
) -> list[nx.DiGraph]:
    """Run a Python script as ``__main__`` while recording every backward pass.

    ``sys.argv`` is ``[script, *args]`` and the script's folder comes first on
    ``sys.path`` while it runs; both are restored afterwards. A script that ends with
    ``sys.exit(0)`` counts as a success.

    Args:
        script: The script's path.
        args: Its command-line arguments.
        values: Keep the gradient arrays, not only their summaries.
        saved: Add a node for each saved tensor that is not a leaf.
        inputs: Add a node for each tensor that feeds an op without needing a gradient.

    Returns:
        One trace graph per backward call, in call order.

    Raises:
        click.ClickException: the script raised, or exited with a non-zero status.
    """
    from gradviz.trace import record  # noqa: PLC0415 - keeps `gradviz --help` fast

    saved_argv = sys.argv
    saved_path = list(sys.path)
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.resolve().parent))
    recorder = record(values=values, saved=saved, inputs=inputs)
    try:
        with recorder:
            runpy.run_path(str(script), run_name="__main__")
    except SystemExit as stop:
        code = stop.code
        if code not in (None, 0):
            detail = f"status {code}" if isinstance(code, int) else f"{code}"
            raise click.ClickException(f"{script.name} exited with {detail}") from None
    except Exception as err:  # any error of the user's script is reported
        where = _script_location(err, script)
        raise click.ClickException(
            one_line(f"{where}: the script raised {type(err).__name__}: {err}")
        ) from err
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
    return list(recorder.graphs)


@dataclass
class Loaded:
    """Graphs loaded from a TARGET, with where they came from."""

    path: Path
    graphs: list[nx.DiGraph]
    iteration: int | None
    is_script: bool


def load_target(
    target: str, *, iteration: int | None = None, saved: bool = False, inputs: bool = False
) -> Loaded:
    """Load the graphs a TARGET names (a trace file, ``file:K``, or a script to run).

    Args:
        target: The TARGET argument as typed.
        iteration: ``--iteration``; must agree with a ``:K`` suffix when both are given.
        saved: When running a script, also record saved-tensor nodes.
        inputs: When running a script, also record input nodes (tensors without grad).

    Returns:
        The graphs and the iteration asked for (None: the last one).

    Raises:
        click.ClickException: the file is missing, damaged or foreign, the script failed,
            or ``--iteration`` disagrees with the ``:K`` suffix.
    """
    path, suffix_iteration = split_target(target)
    if iteration is not None and suffix_iteration is not None and iteration != suffix_iteration:
        raise click.ClickException(
            f"TARGET {target!r} asks for iteration {suffix_iteration} but --iteration is "
            f"{iteration}. Give one of them."
        )
    wanted = iteration if iteration is not None else suffix_iteration
    if path.suffix == ".py":
        return Loaded(path, run_script(path, saved=saved, inputs=inputs), wanted, True)
    from gradviz.trace import load  # noqa: PLC0415 - keeps `gradviz --help` fast

    try:
        loaded = load(path)
    except GradvizError as err:
        raise click.ClickException(one_line(err)) from err
    graphs = [loaded] if hasattr(loaded, "graph") and hasattr(loaded, "nodes") else list(loaded)
    return Loaded(path, graphs, wanted, False)


def pick_graph(loaded: Loaded) -> tuple[nx.DiGraph, int]:
    """Return the graph a TARGET asks for and its iteration (position when it has none).

    Graphs are picked by the iteration recorded in them (``producer["iteration"]``), and
    by position in the file when they carry none (captured graphs).

    Raises:
        click.ClickException: there is no graph, or no graph of that iteration.
    """
    graphs = loaded.graphs
    name = loaded.path.name
    if not graphs:
        if loaded.is_script:
            raise click.ClickException(
                f"{name} ran no backward pass, so there is no graph to draw. "
                "Call .backward() (or gradviz.autograd.grad) in the script."
            )
        raise click.ClickException(f"{name} holds no graphs.")
    recorded = [(g.graph.get("producer") or {}).get("iteration") for g in graphs]
    numbered = [k for k in recorded if isinstance(k, int)]
    # Iterations recorded in the graphs, else positions in the file.
    available = numbered if len(numbered) == len(graphs) else list(range(len(graphs)))
    wanted = loaded.iteration if loaded.iteration is not None else available[-1]
    if wanted in available:
        return graphs[available.index(wanted)], wanted
    span = (
        f"iteration {available[0]}"
        if len(available) == 1
        else f"iterations {', '.join(str(k) for k in available)}"
        if len(available) <= 6
        else f"iterations {available[0]} to {available[-1]}"
    )
    count = f"{len(graphs)} graph{'s' if len(graphs) != 1 else ''}"
    raise click.ClickException(
        f"there is no iteration {wanted} in {name}: it holds {count} ({span})."
    )


def describe_graph(graph: nx.DiGraph) -> str:
    """Return a short description: ``14 nodes (9 ops, 4 leaves, 1 output), 0.8 ms``.

    Leaves that need no gradient (input nodes) are counted as ``inputs``.
    """
    kinds: dict[str, int] = {}
    for _, data in graph.nodes(data=True):
        kind = data.get("kind", "?")
        if kind == "leaf" and data.get("requires_grad") is False:
            kind = "input"
        kinds[kind] = kinds.get(kind, 0) + 1
    parts = []
    for kind, singular, plural in (
        ("op", "op", "ops"),
        ("leaf", "leaf", "leaves"),
        ("input", "input", "inputs"),
        ("output", "output", "outputs"),
        ("saved", "saved", "saved"),
    ):
        if kinds.get(kind):
            parts.append(f"{kinds[kind]} {singular if kinds[kind] == 1 else plural}")
    text = f"{graph.number_of_nodes()} nodes ({', '.join(parts)})"
    backward = graph.graph.get("backward")
    if isinstance(backward, dict) and isinstance(backward.get("seconds"), (int, float)):
        text += f", backward {backward['seconds'] * 1000:.2f} ms"
    return text
