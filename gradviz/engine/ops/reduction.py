"""Reductions and normalisations: sum, mean, max/min, var/std, norm, softmax, cumsum."""

from __future__ import annotations

import math
import sys
import warnings
from collections import namedtuple
from types import FrameType
from typing import Any

from gradviz.engine import backend
from gradviz.engine.dtypes import is_bool, is_floating
from gradviz.engine.function import _NULL_CTX
from gradviz.engine.grad_mode import _grad_enabled
from gradviz.engine.ops import pointwise as P  # noqa: N812 - short module aliases
from gradviz.engine.ops import shape as S  # noqa: N812
from gradviz.engine.ops._base import Op, Tensor, const, norm_dim, norm_dims, register

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "cumsum",
    "log_softmax",
    "logsumexp",
    "max",
    "mean",
    "min",
    "norm",
    "prod",
    "softmax",
    "std",
    "sum",
    "sum_to_size",
    "var",
]

_values_indices = namedtuple("_values_indices", ["values", "indices"])


class MinMaxResult(_values_indices):
    """``(values, indices)`` returned by ``max(dim)``/``min(dim)``, as PyTorch's named tuple."""

    __slots__ = ()


def _grow(g: Tensor, shape: tuple[int, ...], dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back to ``shape``."""
    if not keepdim and g.ndim != len(shape):
        kept = [1 if i in dims else s for i, s in enumerate(shape)]
        g = S.reshape(g, tuple(kept))
    return S.expand(g, shape)


def _tie_count(hit: Tensor, like: Tensor, dims: tuple[int, ...]) -> Tensor:
    """Return how many elements tie for the extreme in each reduced slice, broadcastable."""
    xp = backend.namespace(hit._data)
    hits = xp.astype(hit._data, like._data.dtype)  # the standard sums numbers, not bools
    return const(xp.sum(hits, axis=dims, keepdims=True))


def _size_of(shape: tuple[int, ...], dims: tuple[int, ...]) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


class SumAll(Op):
    node = "SumBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, dtype: Any = None) -> Any:
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        if not is_floating(a.dtype):
            return xp.sum(a, dtype=xp.int64)
        return xp.sum(a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return S.expand(g, ctx.self_sym_sizes)


class SumDim(Op):
    node = "SumBackward1"
    attrs = ("dim", "keepdim")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: tuple[int, ...] = (), keepdim: bool = False) -> Any:
        ctx.dim = dim
        ctx.keepdim = keepdim
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        if not is_floating(a.dtype):
            return xp.sum(a, axis=dim, keepdims=keepdim, dtype=xp.int64)
        return xp.sum(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return _grow(g, ctx.self_sym_sizes, ctx.dim, ctx.keepdim)


@register("sum")
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A001, A002
    """Return the sum of all elements, or along ``dim`` (an int or a tuple)."""
    x = input if dtype is None else input.to(dtype)
    if dim is None:
        return SumAll.apply(x)
    return SumDim.apply(x, dim=norm_dims(dim, x.ndim), keepdim=keepdim)


def sum_to_size(input: Tensor, *size: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``input`` summed down to the broadcast-compatible ``size``."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    if tuple(input.shape) == shape:
        return input
    lead = input.ndim - len(shape)
    dims = backend.broadcast_dims(tuple(input.shape), shape)
    if lead and not _grad_enabled[0] and len(dims) == lead:
        # Only leading dimensions go (a bias's gradient): one reduction, an array of its own.
        return SumDim.apply(input, dim=dims, keepdim=False)
    out = SumDim.apply(input, dim=dims, keepdim=True) if dims else input
    if lead:
        out = S.reshape(out, shape)
    return out


register("sum_to_size", function=False)(sum_to_size)


def mean_kernel(a: Any, dims: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Return NumPy's mean; NaN over an empty slice without NumPy's warning, as PyTorch."""
    xp = backend.namespace(a)
    if a.size:
        return xp.mean(a, axis=dims, keepdims=keepdims)
    return xp.sum(a, axis=dims, keepdims=keepdims) * math.nan


class MeanAll(Op):
    node = "MeanBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        ctx.self_sym_sizes = a.shape
        ctx.self_sym_numel = math.prod(a.shape)
        return mean_kernel(a, None, False)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        n = math.prod(ctx.self_sym_sizes)
        return S.expand(g / n, ctx.self_sym_sizes)


class MeanDim(Op):
    node = "MeanBackward1"
    attrs = ("dim", "keepdim")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: tuple[int, ...] = (), keepdim: bool = False) -> Any:
        ctx.dim = dim
        ctx.keepdim = keepdim
        ctx.self_sym_sizes = a.shape
        return mean_kernel(a, dim, keepdim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        n = _size_of(ctx.self_sym_sizes, ctx.dim)
        return _grow(g / n, ctx.self_sym_sizes, ctx.dim, ctx.keepdim)


def _need_float(name: str, x: Tensor, dtype: Any = None) -> None:
    if dtype is None and not x.dtype.is_floating_point:
        raise RuntimeError(
            f"{name}(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {x.dtype.scalar_name}"
        )


@register("mean")
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """Return the mean of all elements, or along ``dim``."""
    _need_float("mean", input, dtype)
    x = input if dtype is None else input.to(dtype)
    if dim is None:
        return MeanAll.apply(x)
    return MeanDim.apply(x, dim=norm_dims(dim, x.ndim), keepdim=keepdim)


def check_reduction_size(prefix: str, shape: tuple[int, ...], dims: tuple[int, ...]) -> None:
    """Raise PyTorch's IndexError where an op without identity reduces over an empty dim.

    max, argmax, median and their kin have no value for an empty slice; ``prefix`` is how
    PyTorch's message names the op (``"max():"``, ``"aminmax:"``).
    """
    for d in sorted(dims):
        if shape and shape[d] == 0:
            raise IndexError(f"{prefix} Expected reduction dim {d} to have non-zero size.")


def _no_identity_for_all(name: str, x: Tensor) -> None:
    if x._data.size == 0:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )


class _ExtremeAll(Op):
    saves = ("self", "result")
    kind = "max"

    @classmethod
    def forward(cls, ctx: Any, a: Any) -> Any:  # type: ignore[override]
        xp = backend.namespace(a)
        return xp.max(a) if cls.kind == "max" else xp.min(a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        return evenly_distribute(g, a, r)


def evenly_distribute(g: Tensor, a: Tensor, r: Tensor) -> Tensor:
    """Return the gradient of a full reduction that picked the value ``r`` out of ``a``.

    Every element equal to ``r`` (every NaN, when ``r`` is NaN) gets an even share of ``g``:
    PyTorch's ``evenly_distribute_backward`` (max, min, median of a whole tensor).
    """
    hit = (a == r) | (P.isnan(a) & P.isnan(r))
    xp = backend.namespace(hit._data)
    count = int(xp.sum(xp.astype(hit._data, xp.int64)))
    return P.where(hit, g / (count or 1), 0.0)  # (no element: an empty median)


class MaxAll(_ExtremeAll):
    node = "MaxBackward1"
    kind = "max"


class MinAll(_ExtremeAll):
    node = "MinBackward1"
    kind = "min"


class _ExtremeDim(Op):
    attrs = ("dim", "keepdim")
    non_differentiable_outputs = (1,)
    kind = "max"

    @classmethod
    def forward(cls, ctx: Any, a: Any, dim: int = 0, keepdim: bool = False) -> Any:  # type: ignore[override]
        ctx.dim = dim
        ctx.keepdim = keepdim
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        if a.ndim == 0:  # a 0-d tensor is its own extreme, at index 0
            zero = backend.zeros(a, (), xp.int64)
            ctx.save_array("indices", zero)  # (backward read it: a TypeError when missing)
            return xp.asarray(a, copy=True), zero
        find = xp.argmax if cls.kind == "max" else xp.argmin
        idx = xp.astype(find(a, axis=dim, keepdims=True), xp.int64)
        values = xp.take_along_axis(a, idx, axis=dim)
        if not keepdim:
            values = xp.squeeze(values, axis=dim)
            idx = xp.squeeze(idx, axis=dim)
        ctx.save_array("indices", idx)  # shown as _saved_indices, shaped like the output
        return values, idx

    @staticmethod
    def backward(ctx: Any, g: Tensor, _gi: Any = None) -> Any:
        idx = ctx._unpack("indices")
        if not ctx.self_sym_sizes:
            return g
        if not ctx.keepdim:
            g = S.unsqueeze(g, ctx.dim)
            idx = backend.namespace(idx).expand_dims(idx, axis=ctx.dim)
        return S.scatter_into(g, ctx.self_sym_sizes, ctx.dim, idx)


class MaxDim(_ExtremeDim):
    node = "MaxBackward0"
    kind = "max"


class MinDim(_ExtremeDim):
    node = "MinBackward0"
    kind = "min"


def _extreme(kind: str, input: Tensor, dim: Any, keepdim: bool) -> Any:  # noqa: A002
    if isinstance(dim, Tensor):
        return (P.maximum if kind == "max" else P.minimum)(input, dim)
    if dim is None:
        _no_identity_for_all(kind, input)
        return (MaxAll if kind == "max" else MinAll).apply(input)
    d = norm_dim(dim, input.ndim)
    check_reduction_size(f"{kind}():", tuple(input.shape), (d,))
    values, indices = (MaxDim if kind == "max" else MinDim).apply(input, dim=d, keepdim=keepdim)
    return MinMaxResult(values, indices)


@register("max")
def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """Return the maximum, or ``(values, indices)`` along ``dim``, or ``maximum(input, other)``."""
    return _extreme("max", input, dim, keepdim)


@register("min")
def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """Return the minimum, or ``(values, indices)`` along ``dim``, or ``minimum(input, other)``."""
    return _extreme("min", input, dim, keepdim)


class Amax(Op):
    node = "AmaxBackward0"
    saves = ("self", "result")
    attrs = ("dim", "keepdim")
    kind = "max"

    @classmethod
    def forward(cls, ctx: Any, a: Any, dim: tuple[int, ...] = (), keepdim: bool = False) -> Any:  # type: ignore[override]
        ctx.dim = dim
        ctx.keepdim = keepdim
        xp = backend.namespace(a)
        return (xp.max if cls.kind == "max" else xp.min)(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        return _extreme_grad(g, a, r, ctx.dim, ctx.keepdim)


def _extreme_grad(g: Tensor, a: Tensor, r: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """Return ``g`` shared evenly by the elements of ``a`` equal to their extreme ``r``.

    ``r`` and ``g`` are reduced over ``dims`` (kept as size 1 when ``keepdim``); the
    gradient of ``amax``/``amin`` and of each half of ``aminmax``.
    """
    shape = tuple(a.shape)
    r = _grow(r, shape, dims, keepdim)
    g = _grow(g, shape, dims, keepdim)
    hit = a == r
    return P.where(hit, g / _tie_count(hit, a, dims), 0.0)


class Amin(Amax):
    node = "AminBackward0"
    kind = "min"


def _amax_amin(op: type[Amax], input: Tensor, dim: Any, keepdim: bool) -> Tensor:  # noqa: A002
    if dim == ():
        _no_identity_for_all(f"a{op.kind}", input)
    dims = norm_dims(dim if dim != () else None, input.ndim)
    check_reduction_size(f"a{op.kind}():", tuple(input.shape), dims)
    return op.apply(input, dim=dims, keepdim=keepdim)


@register("amax")
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Return the maximum along ``dim`` (all dims by default); ties share the gradient."""
    return _amax_amin(Amax, input, dim, keepdim)


@register("amin")
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Return the minimum along ``dim`` (all dims by default); ties share the gradient."""
    return _amax_amin(Amin, input, dim, keepdim)


def _arg(kind: str, input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    a = input._data
    if is_bool(a.dtype):
        raise RuntimeError(f"arg{kind}(): does not support bool input")
    xp = backend.namespace(a)
    fn = xp.argmax if kind == "max" else xp.argmin
    if dim is None and not a.size:
        raise IndexError(
            f"arg{kind}(): Expected reduction dim to be specified for input.numel() == 0."
        )
    if dim is None:
        out = fn(xp.reshape(a, (-1,)))
        if keepdim:
            out = xp.reshape(out, (1,) * a.ndim)
    elif a.ndim == 0:
        norm_dim(dim, 0)
        out = backend.zeros(a, (), xp.int64)
    else:
        d = norm_dim(dim, a.ndim)
        check_reduction_size(f"arg{kind}():", a.shape, (d,))
        out = fn(a, axis=d, keepdims=keepdim)
    return const(xp.astype(out, xp.int64))


@register("argmax")
def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Return the index of the maximum (flat, or along ``dim``)."""
    return _arg("max", input, dim, keepdim)


@register("argmin")
def argmin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Return the index of the minimum (flat, or along ``dim``)."""
    return _arg("min", input, dim, keepdim)


def spread(a: Any, dims: tuple[int, ...], correction: float, keepdims: bool, *, root: bool) -> Any:
    """Return the variance of ``a`` over ``dims`` (its square root when ``root``).

    A slice with no degrees of freedom left (n <= correction) gives inf or NaN, as in
    PyTorch; :func:`warn_degrees_of_freedom` has said so, so NumPy's warnings are silenced.
    """
    xp = backend.namespace(a)
    fn = xp.std if root else xp.var
    if _reduction_factor(tuple(a.shape), dims) > correction:
        return fn(a, axis=dims, correction=correction, keepdims=keepdims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(a, axis=dims, correction=correction, keepdims=keepdims)


def _reduction_factor(shape: tuple[int, ...], dims: tuple[int, ...]) -> int:
    """Return PyTorch's "input numel divided by output numel": 0 for an empty input."""
    return _size_of(shape, dims) if math.prod(shape) else 0


def _reciprocal(x: float) -> float:
    """Return 1 / x, inf for 0 (C's double division, which PyTorch's formulas use)."""
    return 1 / x if x else math.inf


def warn_degrees_of_freedom(
    name: str, shape: tuple[int, ...], dims: tuple[int, ...], correction: float
) -> None:
    """Give PyTorch's UserWarning when ``name`` (var, std, ...) has no degrees of freedom."""
    if _reduction_factor(shape, dims) <= correction:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than "
            "the reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    """Return the warnings stacklevel, seen from the caller, of the first frame outside gradviz."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("gradviz."):
        frame, level = frame.f_back, level + 1
    return level


class Var(Op):
    node = "VarBackward0"
    saves = ("self",)
    attrs = ("dim", "correction", "keepdim")

    @staticmethod
    def forward(
        ctx: Any, a: Any, dim: tuple[int, ...] = (), correction: float = 1, keepdim: bool = False
    ) -> Any:
        ctx.dim = dim
        ctx.correction = correction
        ctx.keepdim = keepdim
        return spread(a, dim, correction, keepdim, root=False)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return _var_grad(g, a, ctx.dim, ctx.correction, ctx.keepdim)


def _var_grad(
    g: Tensor, a: Tensor, dims: tuple[int, ...], correction: float, keepdim: bool
) -> Tensor:
    """Return ``g * 2 (a - mean) / (n - correction)``: the gradient of ``var`` over ``dims``.

    ``g`` is reduced over ``dims`` (kept as size 1 when ``keepdim``); used by ``var`` and by
    the variance half of ``var_mean``.
    """
    n = _size_of(tuple(a.shape), dims)
    centered = a - MeanDim.apply(a, dim=dims, keepdim=True)
    g = _grow(g, tuple(a.shape), dims, keepdim)
    return g * centered * (2 * _reciprocal(n - correction))


class Std(Op):
    node = "StdBackward0"
    saves = ("self", "result")
    attrs = ("dim", "correction", "keepdim")

    @staticmethod
    def forward(
        ctx: Any, a: Any, dim: tuple[int, ...] = (), correction: float = 1, keepdim: bool = False
    ) -> Any:
        ctx.dim = dim
        ctx.correction = correction
        ctx.keepdim = keepdim
        return spread(a, dim, correction, keepdim, root=True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        shape = tuple(a.shape)
        n = _size_of(shape, ctx.dim)
        centered = a - MeanDim.apply(a, dim=ctx.dim, keepdim=True)
        g = _grow(std_over(g, r), shape, ctx.dim, ctx.keepdim)
        return g * centered * _reciprocal(n - ctx.correction)


def std_over(g: Tensor, std: Tensor) -> Tensor:
    """Return ``g / std``, 0 where the std is 0 (PyTorch's std_backward masks it so)."""
    return P.where(std == 0, 0.0, g / std)


def _need_float_var(x: Tensor) -> None:
    if not is_floating(x._data.dtype):
        raise RuntimeError("std and var only support floating point and complex dtypes")


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


@register("var")
def var(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Return the variance (Bessel-corrected by default) over ``dim`` or all elements."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    _need_float_var(input)
    dims, corr = norm_dims(dim, input.ndim), _correction(unbiased, correction)
    warn_degrees_of_freedom("var", tuple(input.shape), dims, corr)
    return Var.apply(input, dim=dims, correction=corr, keepdim=keepdim)


@register("std")
def std(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Return the standard deviation (Bessel-corrected by default)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    _need_float_var(input)
    dims, corr = norm_dims(dim, input.ndim), _correction(unbiased, correction)
    warn_degrees_of_freedom("std", tuple(input.shape), dims, corr)
    return Std.apply(input, dim=dims, correction=corr, keepdim=keepdim)


class Prod(Op):
    node = "ProdBackward0"
    saves = ("self", "result")

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = backend.namespace(a)
        return xp.prod(a) if is_floating(a.dtype) else xp.prod(a, dtype=xp.int64)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        return _prod_backward(g, a, r, tuple(range(a.ndim)), False)


class ProdDim(Op):
    node = "ProdBackward1"
    saves = ("self", "result")
    attrs = ("dim", "keepdim")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0, keepdim: bool = False) -> Any:
        ctx.dim = dim
        ctx.keepdim = keepdim
        xp = backend.namespace(a)
        axes = (dim,) if a.ndim else ()
        if is_floating(a.dtype):
            return xp.prod(a, axis=axes, keepdims=keepdim)
        return xp.prod(a, axis=axes, keepdims=keepdim, dtype=xp.int64)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        return _prod_backward(g, a, r, (ctx.dim,) if a.ndim else (), ctx.keepdim)


def _prod_backward(g: Tensor, a: Tensor, r: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """Return the gradient of ``prod`` over ``dims``: the product of the other elements.

    Without zeros that is ``result / input``. Where the input is zero it is the product of
    the slice's non-zero elements if that zero is the slice's only one, else 0; elsewhere
    in a slice with a zero, ``result / input`` is already 0. Written with Tensor ops, so
    the gradient is differentiable again.
    """
    shape = tuple(a.shape)
    g = _grow(g, shape, dims, keepdim)
    r = _grow(r, shape, dims, keepdim)
    data = a._data
    xp = backend.namespace(data)
    zero = data == 0
    if not bool(xp.any(zero)):
        return g * r / a
    is_zero = const(zero)
    count = xp.sum(xp.astype(zero, xp.int64), axis=dims, keepdims=True)
    single = const(xp.broadcast_to(count == 1, shape))
    safe = P.where(is_zero, 1.0, a)
    nonzero_prod = safe
    for d in dims:
        nonzero_prod = ProdDim.apply(nonzero_prod, dim=d, keepdim=True)
    at_zero = P.where(single, S.expand(nonzero_prod, shape), 0.0)
    return g * P.where(is_zero, at_zero, r / safe)


@register("prod")
def prod(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Return the product of all elements, or along ``dim``."""
    if dim is None:
        return Prod.apply(input)
    return ProdDim.apply(input, dim=norm_dim(dim, input.ndim), keepdim=keepdim)


class VectorNorm(Op):
    node = "LinalgVectorNormBackward0"
    saves = ("self", "result")
    attrs = ("ord", "dim", "keepdim")

    @staticmethod
    def forward(
        ctx: Any,
        a: Any,
        ord: float = 2,  # noqa: A002 - PyTorch's argument name
        dim: tuple[int, ...] = (),
        keepdim: bool = False,
    ) -> Any:
        ctx.ord = ord
        ctx.dim = dim
        ctx.keepdim = keepdim
        xp = backend.namespace(a)
        return xp.linalg.vector_norm(a, axis=dim, keepdims=keepdim, ord=ord)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        shape = tuple(a.shape)
        g = _grow(g, shape, ctx.dim, ctx.keepdim)
        r = _grow(r, shape, ctx.dim, ctx.keepdim)
        p = ctx.ord
        if p == 2:
            return g * P.where(r == 0, 0.0, a / r)
        if p == 1:
            return g * P.sign(a)
        if p == math.inf:
            hit = P.abs(a) == r
            return P.where(hit, g * P.sign(a) / _tie_count(hit, a, ctx.dim), 0.0)
        return g * P.sign(a) * P.abs(a) ** (p - 1) / r ** (p - 1)


@register("norm")
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Return the vector norm of ``input`` (2-norm by default) over ``dim`` or all elements."""
    if p == "fro" and dim is not None and not isinstance(dim, int) and len(dim) > 2:
        raise RuntimeError(
            "linalg.matrix_norm: dim must be a 2-tuple. Got " + " ".join(str(d) for d in dim)
        )
    ord_ = 2 if p in ("fro", None) else p
    if not is_floating(input._data.dtype):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {input.dtype.scalar_name}"
        )
    return VectorNorm.apply(input, ord=ord_, dim=norm_dims(dim, input.ndim), keepdim=keepdim)


class Logsumexp(Op):
    node = "LogsumexpBackward0"
    saves = ("self", "result")
    attrs = ("dim", "keepdim")
    promotes = "float"  # integer and bool inputs are promoted to the default float dtype

    @staticmethod
    def forward(ctx: Any, a: Any, dim: tuple[int, ...] = (), keepdim: bool = False) -> Any:
        ctx.dim = dim
        ctx.keepdim = keepdim
        xp = backend.namespace(a)
        if not a.size:  # the log of an empty sum: -inf (PyTorch's value)
            return xp.sum(a, axis=dim, keepdims=keepdim) - math.inf
        m = xp.max(a, axis=dim, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        out = xp.log(xp.sum(xp.exp(a - m), axis=dim, keepdims=True)) + m
        return out if keepdim else xp.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        shape = tuple(a.shape)
        return _grow(g, shape, ctx.dim, ctx.keepdim) * P.exp(
            a - _grow(r, shape, ctx.dim, ctx.keepdim)
        )


@register("logsumexp")
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Return ``log(sum(exp(input)))`` along ``dim``, computed stably."""
    return Logsumexp.apply(input, dim=norm_dims(dim, input.ndim), keepdim=keepdim)


class Cumsum(Op):
    node = "CumsumBackward0"
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        xp = backend.namespace(a)
        if a.ndim == 0:  # the standard's cumulative_sum needs an axis; a 0-d sum is itself
            return xp.asarray(a, copy=True) if is_floating(a.dtype) else xp.astype(a, xp.int64)
        if is_floating(a.dtype):
            return xp.cumulative_sum(a, axis=dim)
        return xp.cumulative_sum(a, axis=dim, dtype=xp.int64)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if g.ndim == 0:
            return g
        return S.flip(cumsum(S.flip(g, (ctx.dim,)), ctx.dim), (ctx.dim,))


@register("cumsum")
def cumsum(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    """Return the cumulative sum along ``dim``."""
    return Cumsum.apply(input, dim=norm_dim(dim, input.ndim))


class Softmax(Op):
    node = "SoftmaxBackward0"
    saves = ("result",)
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = -1) -> Any:
        ctx.dim = dim
        xp = backend.namespace(a)
        axes = (dim,) if a.ndim else ()
        if not a.size:  # an empty batch or class dimension: nothing to normalise
            return backend.copy(a)
        e = xp.exp(a - xp.max(a, axis=axes, keepdims=True))
        return e / xp.sum(e, axis=axes, keepdims=True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (r,) = ctx.saved_tensors
        gr = g * r
        return gr - r * SumDim.apply(gr, dim=(ctx.dim,) if r.ndim else (), keepdim=True)


# Where a slice's largest value lies in [-60, 60], exp of the unshifted slice neither
# overflows nor lets the sum underflow (in float32 and wider), so no shift is needed.
_UNSHIFTED_RANGE = 60.0


class LogSoftmax(Op):
    node = "LogSoftmaxBackward0"
    saves = ("result",)
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = -1) -> Any:
        ctx.dim = dim
        xp = backend.namespace(a)
        axes = (dim,) if a.ndim else ()
        top = backend.reduce_max(a, axis=axes, keepdims=True) if a.size else None
        if top is None:  # an empty batch or class dimension: nothing to normalise
            out, e = backend.copy(a), backend.copy(a)
            total = xp.ones_like(xp.sum(a, axis=axes, keepdims=True))
        elif float(backend.reduce_max(xp.abs(top))) <= _UNSHIFTED_RANGE:  # False for NaN
            # The usual case: one pass less over the input than shifting by the maximum.
            e = xp.exp(a)
            total = backend.reduce_sum(e, axis=axes, keepdims=True)
            out = a - xp.log(total)
        else:  # large (or infinite, or NaN) values: shift by the maximum first
            out = a - top
            e = xp.exp(out)
            total = xp.sum(e, axis=axes, keepdims=True)
            out -= xp.log(total)
        if ctx is not _NULL_CTX:
            # Either way softmax = e / total: backward needs no exp and forward no division.
            ctx.save_array("exp", e)
            ctx.save_array("total", total)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (r,) = ctx.saved_tensors
        axes = (ctx.dim,) if r.ndim else ()
        if not _grad_enabled[0]:
            # Plain backward: g - softmax * sum(g) = g - e * (sum(g) / total).
            gd = g._data
            e, total = ctx._unpack("exp"), ctx._unpack("total")
            xp = backend.namespace(gd)
            one_hot = ctx.__dict__.pop("_one_hot", None)
            hooked = ctx._tensor_hooks or ctx._pre_hooks  # they may have changed g in place
            if one_hot is not None and one_hot[0] is gd and not hooked:
                # g is zero but for one value per row (from nll_loss): sum(g) is that value,
                # and g is added back at those places only: one pass instead of three.
                _, rows, cols, vals = one_hot
                scale = xp.reshape(-vals, (-1, 1)) / total
                # The saved exp is freed after this call: reuse it when nothing else holds
                # it (its references: the saved slot, this local, getrefcount's argument).
                if ctx._last_use and sys.getrefcount(e) == 3:
                    e *= scale
                    out = e
                else:
                    out = e * scale
                key = (rows, cols)
                backend.setitem(out, key, backend.getitem(out, key) + vals)
                return const(out)
            out = e * (-xp.sum(gd, axis=axes, keepdims=True) / total)
            out += gd
            return const(out)
        return g - P.exp(r) * SumDim.apply(g, dim=axes, keepdim=True)


def _softmax_dim(input: Tensor, dim: Any) -> int:  # noqa: A002
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return norm_dim(dim, input.ndim)


@register("softmax")
def softmax(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """Return ``exp(input) / sum(exp(input))`` along ``dim`` (``SoftmaxBackward0``)."""
    x = input if dtype is None else input.to(dtype)
    d = _softmax_dim(x, dim)
    _need_float_softmax("softmax", x, d)
    return Softmax.apply(x, dim=d)


@register("log_softmax")
def log_softmax(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """Return ``log(softmax(input))`` along ``dim``, computed stably."""
    x = input if dtype is None else input.to(dtype)
    d = _softmax_dim(x, dim)
    _need_float_softmax("log_softmax", x, d)
    return LogSoftmax.apply(x, dim=d)


def _need_float_softmax(name: str, x: Tensor, dim: int) -> None:
    if not is_floating(x._data.dtype):
        last = dim == (x.ndim or 1) - 1
        kernel = f"{name}_lastdim_kernel_impl" if last else f"{name}_kernel_impl"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{x.dtype.scalar_name}'")


def _logical_reduce(kind: str, input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    a = input._data
    xp = backend.namespace(a)
    fn = xp.all if kind == "all" else xp.any
    axis = None if dim is None else norm_dims(dim, a.ndim)
    return const(fn(a, axis=axis, keepdims=keepdim))


@register("all")
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """Return whether all elements are true (along ``dim``)."""
    return _logical_reduce("all", input, dim, keepdim)


@register("any")
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """Return whether any element is true (along ``dim``)."""
    return _logical_reduce("any", input, dim, keepdim)


@register("count_nonzero")
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """Return the number of non-zero elements (along ``dim``)."""
    a = input._data
    xp = backend.namespace(a)
    axis = None if dim is None else norm_dims(dim, a.ndim)
    return const(xp.astype(xp.sum(a != 0, axis=axis), xp.int64))
