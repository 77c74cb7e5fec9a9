"""What the tour's samples share: figures, the command line, and a few print helpers.

Every sample is a script (``python samples/01_leaf_and_ops.py --out DIR --fast``) that
prints what it shows and draws its pictures, and a module with a ``figures()`` function
returning :class:`Figure` objects: a trace graph (or a graph diff) together with the
render options it is drawn with. ``python -m samples.regenerate`` writes those figures to
``docs/img`` (PNG and DOT), and the samples' tests compare the DOT each figure draws now
with the committed one, byte for byte.

So a figure must be the same on every run and machine: samples seed everything they draw
(``torch.manual_seed``), never draw timings, and draw gradient values only where they are
exact in floating point (small dyadic numbers), so no last-bit difference between two
machines' arithmetic can change a label.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from gradviz.renderers import diffview
from gradviz.renderers import graphviz as gvrender
from gradviz.trace.diff import GraphDiff

__all__ = [
    "DEFAULT_OUT",
    "Figure",
    "parse_args",
    "save_figures",
    "section",
    "node_names",
]

#: Where a sample writes its pictures when ``--out`` is not given.
DEFAULT_OUT = Path("out/samples")


@dataclass(frozen=True)
class Figure:
    """One picture of the tour: what is drawn and how.

    Attributes:
        name: the file stem (``01_h_wx_b`` becomes ``01_h_wx_b.png`` and ``.dot``).
        source: a trace graph (``networkx.DiGraph`` of ``gradviz.trace``'s schema) or a
            :class:`~gradviz.trace.diff.GraphDiff`.
        options: keyword options of ``gradviz.renderers.graphviz.to_dot`` (a graph) or of
            ``gradviz.renderers.diffview.to_dot`` (a diff).
    """

    name: str
    source: Any
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise ValueError(f"a figure name is a plain file stem, got {self.name!r}")
        if not isinstance(self.source, (nx.DiGraph, GraphDiff)):
            raise TypeError(
                f"figure {self.name!r}: source must be a trace graph or a GraphDiff, got "
                f"{type(self.source).__name__}. Fix: capture the tensor first "
                "(gradviz.trace.capture(t)) or diff two graphs (gradviz.trace.diff(a, b))."
            )

    def dot(self) -> str:
        """Return the DOT source of the picture (the same text on every run)."""
        if isinstance(self.source, GraphDiff):
            return str(diffview.render_dot(self.source, **self.options))
        return gvrender.render_dot(self.source, **self.options)

    def write(self, folder: Path, fmt: str = "png") -> Path:
        """Write the picture as ``folder/<name>.<fmt>`` (written atomically).

        Args:
            folder: where to write; created when missing.
            fmt: ``"png"``, ``"svg"``, ``"pdf"`` or ``"dot"``.

        Returns:
            The path written.

        Raises:
            gradviz.errors.RenderError: a picture format was asked for and Graphviz's
                ``dot`` program is missing or failed.
        """
        path = Path(folder) / f"{self.name}.{fmt}"
        if isinstance(self.source, GraphDiff):
            return diffview.render(self.source, path, format=fmt, **self.options)
        return gvrender.render(self.source, path, format=fmt, **self.options)


def parse_args(argv: Sequence[str] | None, doc: str | None) -> argparse.Namespace:
    """Parse a sample's command line: ``--out DIR`` and ``--fast``.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).
        doc: the sample's module docstring; its first line is the ``--help`` description.

    Returns:
        The options: ``out`` (a Path) and ``fast`` (a bool).
    """
    description = (doc or "").strip().splitlines()[0] if doc else None
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder for the pictures (default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="fewer iterations and smaller data (what CI runs); the pictures are the same",
    )
    return parser.parse_args(argv)


def save_figures(figures: Sequence[Figure], out: Path, fmt: str = "png") -> list[Path]:
    """Draw every figure into ``out`` and print where each one went.

    Args:
        figures: what to draw.
        out: the folder (created when missing).
        fmt: the picture format.

    Returns:
        The paths written, in order.
    """
    section("pictures")
    paths = []
    for figure in figures:
        path = figure.write(out, fmt)
        print(f"wrote {path}")
        paths.append(path)
    return paths


def section(title: str) -> None:
    """Print a section heading: a blank line, then ``== title ==``."""
    print()
    print(f"== {title} ==")


def node_names(node: Any) -> list[str | None]:
    """Return the class names of a ``grad_fn``'s ``next_functions`` (None for no input).

    PyTorch's ``Node.name()`` spells built-in C++ nodes as ``torch::autograd::AccumulateGrad``;
    the class name (``AccumulateGrad``) is what the pictures show, so the samples print it.

    Args:
        node: a backward node (``tensor.grad_fn``).

    Returns:
        One entry per input slot.
    """
    return [None if fn is None else type(fn).__name__ for fn, _ in node.next_functions]
