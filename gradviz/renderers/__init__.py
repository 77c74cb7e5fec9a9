"""Renderers: readers of trace graphs (``gradviz.trace``'s schema) that draw them.

- :mod:`gradviz.renderers.graphviz`: a graph as a ``graphviz.Digraph`` and as PDF, SVG,
  PNG, DOT source or node-link JSON (``to_dot``, ``render_dot``, ``render``), plus
  torchviz's ``make_dot`` for people moving from it.

Renderers read the graph schema only: they never import the engine, and never change
the graph they are given. The names below load on first use, so importing this package
costs nothing until something is drawn.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["to_dot", "render_dot", "render", "make_dot", "to_json"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("gradviz.renderers.graphviz"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradviz.renderers' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
