"""``gradviz diff``: what changed between two graphs, with ``diff(1)``'s exit codes.

Each side is a TARGET: a trace file (its last graph), ``trace.gvz:K`` (iteration K), or a
Python script (run under the recorder; its last backward pass). ``gradviz diff TRACE
--iterations I J`` compares two iterations of one trace file (or one run of a script).

Exit status, as ``diff(1)``, so the command can gate CI ("the graph of my model did not
change"): 0 when the graphs are identical (gradient values aside), 1 when they differ,
2 on any error, reported as one line ``Error: ...`` on stderr.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from gradviz.cli._common import Loaded, load_target, one_line, pick_graph
from gradviz.errors import GradvizError

__all__ = ["diff", "DiffError", "EXIT_SAME", "EXIT_DIFFERENT", "EXIT_ERROR"]

EXIT_SAME = 0
EXIT_DIFFERENT = 1
EXIT_ERROR = 2

_FORMATS = ("report", "text", "json", "dot", "pdf", "svg", "png")
_STDOUT_FORMATS = ("report", "text", "json", "dot")
_SUFFIXES = {
    ".pdf": "pdf",
    ".svg": "svg",
    ".png": "png",
    ".dot": "dot",
    ".gv": "dot",
    ".json": "json",
    ".txt": "text",
}


class DiffError(click.ClickException):
    """A ``gradviz diff`` error: one line on stderr and exit status 2 (``diff(1)``'s)."""

    exit_code = EXIT_ERROR


def _load(target: str) -> Loaded:
    """Load a TARGET; a script's own output goes to stderr so stdout stays the report's."""
    with contextlib.redirect_stdout(sys.stderr):
        return load_target(target)


def _pick(loaded: Loaded, iteration: int | None) -> Any:
    graph, _ = pick_graph(loaded if iteration is None else replace(loaded, iteration=iteration))
    return graph


def _output_format(output: Path | None, fmt: str | None) -> str:
    if output is None:
        chosen = fmt or "report"
        if chosen not in _STDOUT_FORMATS:
            raise click.UsageError(
                f"--format {chosen} writes a file: give it with -o (for example "
                f"-o diff.{chosen}), or print report, text, json or dot."
            )
        return chosen
    if fmt is not None:
        if fmt == "report":
            return "text"
        return fmt
    found = _SUFFIXES.get(output.suffix.lower())
    if found is None:
        raise click.BadParameter(
            f"cannot tell the format from {str(output)!r}: end it in "
            ".pdf, .svg, .png, .dot, .json or .txt, or pass --format.",
            param_hint="'-o' / '--output'",
        )
    return found


@click.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="[B]", required=False)
@click.option(
    "--iterations",
    nargs=2,
    type=int,
    default=None,
    metavar="I J",
    help="Compare iterations I and J of the one TARGET A (a trace file or a script).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the diff to this file: a picture (.pdf .svg .png), .dot, .json or .txt.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default=None,
    help="Format of OUTPUT (default: from its suffix); without -o, what to print "
    "(report, text, json or dot; default: report).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    metavar="N",
    help="At most N lines per section of the report (0: no limit).",
)
@click.option(
    "--max-nodes",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    metavar="N",
    help="Above N nodes, draw only the changes and their neighbours.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; only the exit status tells.")
@click.pass_context
def diff(
    ctx: click.Context,
    a: str,
    b: str | None,
    iterations: tuple[int, int] | None,
    output: Path | None,
    fmt: str | None,
    limit: int,
    max_nodes: int,
    quiet: bool,
) -> None:
    """Show what changed between two graphs A and B.

    A and B are trace files (train.gvz: its last graph; train.gvz:3: iteration 3) or
    Python scripts (run, and their last backward pass taken). With --iterations I J, A
    alone is enough: gradviz diff train.gvz --iterations 0 5.

    Exit status, as diff(1)'s: 0 if the graphs are identical (gradient values aside), 1
    if they differ, 2 on error.
    """
    if b is None and iterations is None:
        raise click.UsageError(
            "give two TARGETs (gradviz diff A B) or one with --iterations I J "
            "(gradviz diff train.gvz --iterations 0 5)."
        )
    if b is not None and iterations is not None:
        raise click.UsageError(
            "give either two TARGETs or --iterations I J with one TARGET, not both."
        )
    out_format = _output_format(output, fmt)
    try:
        result = _compare(a, b, iterations)
        if output is not None:
            _write(result, output, out_format, max_nodes)
        if not quiet:
            _print(result, None if output is not None else out_format, limit, max_nodes)
            if output is not None:
                click.echo(f"wrote {output} ({out_format})", err=True)
    except click.UsageError:
        raise
    except click.ClickException as err:
        raise DiffError(one_line(err.format_message())) from err
    except (GradvizError, OSError, ValueError, TypeError) as err:
        raise DiffError(_message(err)) from err
    except Exception as err:  # exit 2, never 1, so that CI cannot read a bug as "differ"
        raise DiffError(
            one_line(f"unexpected {type(err).__name__}: {err} (this is a bug in gradviz)")
        ) from err
    ctx.exit(EXIT_SAME if result.identical else EXIT_DIFFERENT)


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and getattr(err, "filename", None):
        return one_line(f"{err.filename}: {err.strerror or err}")
    return one_line(err)


def _compare(a: str, b: str | None, iterations: tuple[int, int] | None) -> Any:
    from gradviz.trace.diff import diff as diff_graphs  # noqa: PLC0415 - fast --help

    loaded_a = _load(a)
    if iterations is not None:
        if loaded_a.iteration is not None:
            raise click.UsageError(
                f"TARGET {a!r} names iteration {loaded_a.iteration} and --iterations names "
                "two more: give the file alone with --iterations, or two TARGETs."
            )
        return diff_graphs(_pick(loaded_a, iterations[0]), _pick(loaded_a, iterations[1]))
    assert b is not None  # checked by the command: internal invariant
    first = _pick(loaded_a, None)
    return diff_graphs(first, _pick(_load(b), None))


def _write(result: Any, output: Path, out_format: str, max_nodes: int) -> None:
    from gradviz.renderers import diffview  # noqa: PLC0415 - fast --help

    options: dict[str, Any] = {}
    if out_format in ("pdf", "svg", "png", "dot"):
        options["max_nodes"] = max_nodes
    diffview.render(result, output, format=out_format, **options)


def _print(result: Any, out_format: str | None, limit: int, max_nodes: int) -> None:
    from gradviz.renderers import diffview  # noqa: PLC0415 - fast --help
    from gradviz.renderers.console import make_console  # noqa: PLC0415

    shown = limit or None
    if out_format in (None, "report"):
        diffview.print_report(result, console=make_console(), limit=shown)
    elif out_format == "text":
        click.echo(result.text(limit=shown), nl=False)
    elif out_format == "json":
        import json  # noqa: PLC0415

        click.echo(json.dumps(result.to_dict(), indent=1, sort_keys=True))
    else:
        click.echo(diffview.render_dot(result, max_nodes=max_nodes), nl=False)
