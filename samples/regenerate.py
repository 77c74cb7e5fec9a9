"""Redraw the tour's pictures and terminal sessions: ``python -m samples.regenerate``.

Run from the repository root (or anywhere: paths are taken from this file):

- ``python -m samples.regenerate``: for every figure of every sample
  (``samples/NN_*.py``, its ``figures()``), write ``docs/img/<name>.dot`` and
  ``docs/img/<name>.png``, delete pictures no sample draws any more, then rerun the
  terminal sessions of ``docs/tour.md`` and paste their real output in;
- ``--pictures-only``: the pictures, not the sessions;
- ``--check``: write nothing; exit 1 and say which files are stale when a committed
  ``.dot`` differs from what the code draws now (or is missing, or is left over).

A terminal session in ``docs/tour.md`` is a block between ``<!-- session -->`` and
``<!-- /session -->`` holding a ``console`` code block; its lines starting with ``$ `` are
the commands (``gradviz ...`` or ``python ...``), everything else is their output and is
replaced. Commands run in the repository root with colour off, so the text is what a
user sees in a pipe. Pictures need Graphviz's ``dot`` program; sessions need nothing more.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = ROOT / "samples"
IMG_DIR = ROOT / "docs" / "img"
TOUR = ROOT / "docs" / "tour.md"

#: The command that rewrites the committed pictures (what failure messages tell people).
COMMAND = "python -m samples.regenerate"

_SESSION = re.compile(
    r"(?P<head><!-- session -->\n```console\n)(?P<body>.*?)(?P<tail>```\n<!-- /session -->)",
    re.DOTALL,
)
_PICTURE_SUFFIXES = (".png", ".dot")
_SESSION_TIMEOUT_S = 300


class RegenerateError(RuntimeError):
    """A sample, a figure or a session cannot be regenerated (the message says which)."""


# ------------------------------------------------------------------------------ samples


@contextmanager
def _samples_on_path() -> Iterator[None]:
    """Put ``samples/`` first on ``sys.path`` while samples load (they import ``_tour``)."""
    entry = str(SAMPLES_DIR)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def sample_paths() -> list[Path]:
    """Return the sample scripts, in tour order (``samples/01_*.py``, ``02_*``, ...)."""
    return sorted(SAMPLES_DIR.glob("[0-9][0-9]_*.py"))


def load_sample(path: Path) -> ModuleType:
    """Import one sample as ``samples.<stem>`` (without running its ``main``).

    Raises:
        RegenerateError: the sample has no ``figures()`` function.
    """
    with _samples_on_path():
        module = importlib.import_module(f"samples.{path.stem}")
    if not callable(getattr(module, "figures", None)):
        raise RegenerateError(
            f"{path.name} has no figures() function: every sample returns the pictures it "
            "draws from figures() (see samples/_tour.py)."
        )
    return module


def collect_figures() -> list[tuple[str, Any]]:
    """Return ``(sample stem, Figure)`` for every figure of every sample, in tour order.

    Raises:
        RegenerateError: two figures share a name, or ``figures()`` returned something
            other than Figures.
    """
    with _samples_on_path():
        from _tour import Figure  # noqa: PLC0415 - needs samples/ on sys.path first

    found: list[tuple[str, Any]] = []
    owner: dict[str, str] = {}
    for path in sample_paths():
        for figure in load_sample(path).figures():
            if not isinstance(figure, Figure):
                raise RegenerateError(
                    f"{path.name}: figures() returned a {type(figure).__name__}, not a Figure"
                )
            if figure.name in owner:
                raise RegenerateError(
                    f"figure name {figure.name!r} is drawn by both {owner[figure.name]} and "
                    f"{path.stem}; names must be unique (they are file names in docs/img)"
                )
            owner[figure.name] = path.stem
            found.append((path.stem, figure))
    return found


# ----------------------------------------------------------------------------- pictures


def stale_pictures(figures: Sequence[tuple[str, Any]], img_dir: Path = IMG_DIR) -> list[str]:
    """Say which committed pictures do not match the code (empty when all do).

    Args:
        figures: what :func:`collect_figures` returns.
        img_dir: the folder of the committed pictures.

    Returns:
        One line per problem: a ``.dot`` that differs or is missing, a ``.png`` that is
        missing, or a picture no sample draws.
    """
    problems = []
    names = set()
    for stem, figure in figures:
        names.add(figure.name)
        dot_path = img_dir / f"{figure.name}.dot"
        if not dot_path.is_file():
            problems.append(f"{dot_path.name}: missing (drawn by {stem})")
        elif dot_path.read_text(encoding="utf-8") != figure.dot():
            problems.append(f"{dot_path.name}: differs from what {stem} draws now")
        if not (img_dir / f"{figure.name}.png").is_file():
            problems.append(f"{figure.name}.png: missing (drawn by {stem})")
    for path in sorted(img_dir.glob("*")):
        if path.suffix in _PICTURE_SUFFIXES and path.stem not in names:
            problems.append(f"{path.name}: no sample draws it any more")
    return problems


def write_pictures(figures: Sequence[tuple[str, Any]], img_dir: Path = IMG_DIR) -> list[Path]:
    """Write every figure's ``.dot`` and ``.png``; delete pictures no sample draws.

    Returns:
        The paths written.
    """
    img_dir.mkdir(parents=True, exist_ok=True)
    written = []
    names = set()
    for _, figure in figures:
        names.add(figure.name)
        written.append(figure.write(img_dir, "dot"))
        written.append(figure.write(img_dir, "png"))
    for path in sorted(img_dir.glob("*")):
        if path.suffix in _PICTURE_SUFFIXES and path.stem not in names:
            path.unlink()
            print(f"removed {path.relative_to(ROOT)}")
    return written


# ----------------------------------------------------------------------------- sessions


def _argv(command: str) -> list[str]:
    """Turn a documented command into the argv that runs it with this Python."""
    words = shlex.split(command)
    if words and words[0] == "gradviz":
        return [sys.executable, "-m", "gradviz", *words[1:]]
    if words and words[0] in ("python", "python3"):
        return [sys.executable, *words[1:]]
    raise RegenerateError(
        f"session command {command!r}: only 'gradviz ...' and 'python ...' commands run "
        "in the tour's sessions"
    )


def run_command(command: str) -> str:
    """Run one documented command in the repository root and return its output.

    Standard output and error are merged, as a terminal shows them; trailing spaces
    and blank lines are dropped.

    Raises:
        RegenerateError: the command crashed (a traceback, or exit status 2 or more).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100", "PYTHONHASHSEED": "0"})
    result = subprocess.run(
        _argv(command),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=_SESSION_TIMEOUT_S,
        check=False,
    )
    text = result.stdout.decode("utf-8", "replace")
    if "Traceback (most recent call last)" in text or result.returncode >= 2:
        raise RegenerateError(
            f"session command {command!r} failed (exit {result.returncode}):\n{text}"
        )
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def render_session(body: str) -> str:
    """Rerun the ``$ `` commands of one session block and return its new body."""
    commands = [line[2:] for line in body.splitlines() if line.startswith("$ ")]
    if not commands:
        raise RegenerateError("a session block in docs/tour.md has no '$ ' command line")
    parts = []
    for command in commands:
        output = run_command(command)
        parts.append(f"$ {command}\n" + (f"{output}\n" if output else ""))
    return "".join(parts)


def update_sessions(tour: Path = TOUR) -> int:
    """Rerun every session of ``tour`` and rewrite the file; return how many ran."""
    from gradviz._fileio import write_atomic  # noqa: PLC0415 - gradviz is found via ROOT

    text = tour.read_text(encoding="utf-8")
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return match.group("head") + render_session(match.group("body")) + match.group("tail")

    new_text = _SESSION.sub(replace, text)
    if new_text != text:
        write_atomic(tour, new_text.encode("utf-8"))
    return count


# ---------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate (or with ``--check``, verify) the tour's pictures and sessions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a picture is stale"
    )
    parser.add_argument(
        "--pictures-only", action="store_true", help="skip the terminal sessions of the tour"
    )
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        figures = collect_figures()
        if args.check:
            problems = stale_pictures(figures)
            for line in problems:
                print(f"stale: {line}")
            if problems:
                print(f"run `{COMMAND}` to redraw them")
                return 1
            print(f"{len(figures)} pictures up to date")
            return 0
        written = write_pictures(figures)
        print(f"wrote {len(written)} files to {IMG_DIR.relative_to(ROOT)}/")
        if not args.pictures_only:
            ran = update_sessions()
            print(f"reran {ran} terminal sessions of {TOUR.relative_to(ROOT)}")
    except RegenerateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
