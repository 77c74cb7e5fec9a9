"""The autograd engine: tensors, ops, backward nodes, the backward pass and graph events.

It imports nothing from the layers above it (nn, trace, renderers, debugger, cli).
"""

from __future__ import annotations

from gradviz.engine import (
    creation,
    events,
    ops,
)
from gradviz.engine.tensor import Size, Tensor

__all__ = ["Tensor", "Size", "ops", "creation", "events"]
