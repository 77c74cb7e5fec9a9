"""gradviz's built-in ops, each declared once (kernel, backward and node name together).

Importing this package binds it into :mod:`gradviz.engine.tensor` and attaches the
registered ops as Tensor methods (``x.exp()``, ``x.sum(1)``).
"""

from __future__ import annotations

from typing import Any

from gradviz.engine import tensor as _tensor
from gradviz.engine.dtypes import FLOATING
from gradviz.engine.ops import extra as _extra  # noqa: F401 - sort, topk, unique, einsum, ...
from gradviz.engine.ops import math_more as _math_more  # noqa: F401 - atan2, lgamma, cumprod, ...
from gradviz.engine.ops import nn  # noqa: F401 - conv, pooling, norms, embedding, losses
from gradviz.engine.ops import pointwise as _pointwise
from gradviz.engine.ops import shape_more as _shape_more  # noqa: F401 - narrow, scatter, ...
from gradviz.engine.ops._base import METHODS, REGISTRY
from gradviz.engine.ops.linalg import addmm, bmm, dot, matmul, mm, mv, outer
from gradviz.engine.ops.pointwise import (
    _copy,
    _fill,
    _rpow,
    _zero,
    abs,  # noqa: A004 - PyTorch's name
    add,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
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
    pow,  # noqa: A004 - PyTorch's name
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
    max,  # noqa: A004 - PyTorch's name
    mean,
    min,  # noqa: A004 - PyTorch's name
    softmax,
    sum,  # noqa: A004 - PyTorch's name
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

# Everything imported above, for the engine (``ops.add`` ...); the public ops are REGISTRY.
__all__ = [
    "METHODS",
    "REGISTRY",
    "_copy",
    "_fill",
    "_rpow",
    "_zero",
    "abs",
    "add",
    "addmm",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "bmm",
    "cat",
    "clamp",
    "clone",
    "div",
    "dot",
    "elu",
    "eq",
    "exp",
    "expand",
    "ge",
    "gelu",
    "getitem",
    "gt",
    "index_put",
    "le",
    "leaky_relu",
    "log",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "logsumexp",
    "lt",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "mul",
    "mv",
    "ne",
    "neg",
    "outer",
    "pad",
    "permute",
    "pow",
    "reciprocal",
    "relu",
    "remainder",
    "reshape",
    "rsub",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "sum_to_size",
    "t",
    "tanh",
    "to_device",
    "to_dtype",
    "transpose",
    "unbind",
    "unsqueeze",
    "view",
    "where",
]

_SKIP_METHODS = {"__getitem__"}  # Tensor defines these itself


def _attach() -> None:
    for name, fn in METHODS.items():
        if name in _SKIP_METHODS or name in _tensor.Tensor.__dict__:
            continue
        setattr(_tensor.Tensor, name, fn)


def _direct(op_cls: type) -> Any:
    """Return a Tensor operator method that applies ``op_cls`` without the function layer.

    ``a + b`` is the hottest call in user code; for a Tensor ``self`` the public function
    (``ops.add``) would only forward to the same ``apply``.
    """
    apply = op_cls.apply  # type: ignore[attr-defined]

    def method(self: Any, other: Any) -> Any:
        return apply(self, other)

    return method


def _subtract() -> Any:
    """Return ``Tensor.__sub__``: straight to the op for a float tensor minus a float number.

    (Neither can be bool, the one case ``sub`` refuses.)
    """
    apply, sub = _pointwise.Sub.apply, _pointwise.sub  # type: ignore[attr-defined]
    floating, ndarray = FLOATING, _tensor._ndarray

    def __sub__(self: Any, other: Any) -> Any:  # noqa: N807
        data = self._data
        if other.__class__ is float and data.__class__ is ndarray and data.dtype in floating:
            return apply(self, other)
        return sub(self, other)

    return __sub__


def _bind_operators() -> None:
    t = _tensor.Tensor
    t.__sub__ = _subtract()  # type: ignore[method-assign]
    t.__add__ = t.__radd__ = _direct(_pointwise.Add)  # type: ignore[method-assign]
    t.__mul__ = t.__rmul__ = _direct(_pointwise.Mul)  # type: ignore[method-assign]
    t.__truediv__ = _direct(_pointwise.Div)  # type: ignore[method-assign]


_tensor.ops = __import__(__name__, fromlist=["_"])
_attach()
_bind_operators()
