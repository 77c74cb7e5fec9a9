"""gradviz's built-in ops, each declared once (kernel, backward and node name together).

Importing this package binds it into :mod:`gradviz.engine.tensor` and attaches the
registered ops as Tensor methods (``x.exp()``, ``x.sum(1)``).
"""

from __future__ import annotations

from gradviz.engine import tensor as _tensor
from gradviz.engine.ops import linalg, pointwise, reduction, shape
from gradviz.engine.ops._base import METHODS, REGISTRY
from gradviz.engine.ops.linalg import addmm, bmm, dot, matmul, mm, mv, outer
from gradviz.engine.ops.pointwise import (
    _copy,
    _fill,
    _rpow,
    _zero,
    abs,
    add,
    clamp,
    div,
    elu,
    eq,
    exp,
    ge,
    gelu,
    gt,
    le,
    leaky_relu,
    log,
    logical_and,
    logical_not,
    logical_or,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    reciprocal,
    relu,
    remainder,
    rsub,
    sigmoid,
    silu,
    softplus,
    sqrt,
    sub,
    tanh,
    where,
)
from gradviz.engine.ops.reduction import (
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    softmax,
    sum,
    sum_to_size,
)
from gradviz.engine.ops.shape import (
    cat,
    clone,
    expand,
    getitem,
    index_put,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    t,
    to_device,
    to_dtype,
    transpose,
    unbind,
    unsqueeze,
    view,
)

__all__ = sorted(REGISTRY)

_SKIP_METHODS = {"__getitem__"}  # Tensor defines these itself


def _attach() -> None:
    for name, fn in METHODS.items():
        if name in _SKIP_METHODS or name in _tensor.Tensor.__dict__:
            continue
        setattr(_tensor.Tensor, name, fn)


_tensor.ops = __import__(__name__, fromlist=["_"])
_attach()
