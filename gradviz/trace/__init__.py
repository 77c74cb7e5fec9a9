"""Trace graphs: turn the engine's backward graphs into networkx DAGs, keep and store them.

- :func:`capture` walks ``grad_fn`` from tensors and returns a graph.
- :func:`record` listens while code runs and keeps one graph per backward call, with the
  execution order, time and gradient summaries of every node.
- :func:`save` / :func:`load` write and read trace files (``*.gvz``).
- :func:`diff` compares two graphs (``gradviz.trace.diff``, loaded on first use).
- :mod:`schema` defines the graph (read its docstring); :func:`summarize` describes an
  array.

Example:
    >>> import gradviz
    >>> from gradviz import trace
    >>> w = gradviz.tensor([1.0, 2.0], requires_grad=True)
    >>> w.name = "w"
    >>> loss = (w * w).sum()
    >>> g = trace.capture(loss)
    >>> sorted(d["label"] for _, d in g.nodes(data=True) if d["kind"] == "op")
    ['AccumulateGrad', 'MulBackward0', 'SumBackward0']
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from gradviz.trace import schema
from gradviz.trace.capture import capture
from gradviz.trace.record import Recorder, record
from gradviz.trace.summary import summarize
from gradviz.trace.tracefile import load, save

__all__ = ["capture", "record", "Recorder", "save", "load", "schema", "summarize", "diff"]


def __getattr__(name: str) -> Any:
    if name == "diff":
        differ = importlib.import_module("gradviz.trace.diff").diff
        globals()["diff"] = differ
        return differ
    raise AttributeError(f"module 'gradviz.trace' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"diff"})


class _TracePackage(types.ModuleType):
    """The package's module type: keeps ``gradviz.trace.diff`` the differ *function*.

    Importing the submodule ``gradviz.trace.diff`` makes Python set the package attribute
    ``diff`` to that module; this turns it into the module's ``diff`` function, so
    ``gradviz.trace.diff(a, b)`` works whichever way the differ was first imported.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "diff" and isinstance(value, types.ModuleType):
            value = getattr(value, "diff", value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _TracePackage
