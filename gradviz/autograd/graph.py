"""``torch.autograd.graph``: the Node base class of every ``grad_fn``."""

from __future__ import annotations

from gradviz.engine.function import Node

__all__ = ["Node"]
