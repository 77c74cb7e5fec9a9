"""Sorting and selection, set-like ops, comparisons, fused pointwise ops, diagonals, einsum.

Families, in this order:

* **sorting and selection**: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
  ``median``, ``mode``. Kernels sort with a *stable* sort (NaN last when ascending,
  first when descending, as PyTorch places it), so ties resolve to the lowest index
  first. The value-selecting ops share one backward: the gradient goes to the chosen
  elements (``indices``), everything else gets zero.
* **set-like and indexing ops**: ``unique``, ``nonzero``, ``bincount``. Their outputs
  have no gradient (``unique``'s values keep a node whose backward raises PyTorch's
  "not implemented" error, as PyTorch's do).
* **comparisons**: ``isclose`` (a bool tensor), ``allclose`` and ``equal`` (Python bools).
* **fused pointwise**: ``addcmul``, ``addcdiv``, ``lerp``.
* **diagonals**: ``diag`` (a 1-D tensor to a matrix, or a matrix's diagonal) and the
  ``x.trace()`` method.
* **einsum**, composed of permute/reshape/bmm/sum (see :func:`einsum`).

Preconditions and invariants: kernels run on the array namespace of their inputs (no
NumPy here); where PyTorch's CPU result depends on an unstable algorithm (the index of a
tied value in ``topk``, ``kthvalue`` and ``mode``, or ``mode`` with NaN), gradviz returns
the stable-sort answer, which is one of the answers PyTorch may give.

``gradviz.trace`` is the tracing package, so ``trace`` is offered as the Tensor method
``x.trace()`` only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from gradviz.engine import backend
from gradviz.engine.dtypes import float64, is_bool, is_floating, native, result_type
from gradviz.engine.function import infer_size
from gradviz.engine.ops import linalg as L  # noqa: N812 - short module aliases
from gradviz.engine.ops import pointwise as P  # noqa: N812
from gradviz.engine.ops import reduction as R  # noqa: N812
from gradviz.engine.ops import shape as S  # noqa: N812
from gradviz.engine.ops._base import Op, Tensor, check_tensor, const, norm_dim, register

__all__ = [
    "KthvalueResult",
    "MedianResult",
    "ModeResult",
    "SortResult",
    "TopkResult",
    "addcdiv",
    "addcmul",
    "allclose",
    "argsort",
    "bincount",
    "diag",
    "einsum",
    "equal",
    "isclose",
    "kthvalue",
    "lerp",
    "median",
    "mode",
    "msort",
    "nonzero",
    "sort",
    "topk",
    "trace",
    "unique",
]


class SortResult(R._values_indices):
    """``(values, indices)`` returned by ``sort``, as PyTorch's ``torch.return_types.sort``."""

    __slots__ = ()


class TopkResult(R._values_indices):
    """``(values, indices)`` returned by ``topk``, as PyTorch's ``torch.return_types.topk``."""

    __slots__ = ()


class KthvalueResult(R._values_indices):
    """``(values, indices)`` returned by ``kthvalue`` (PyTorch's ``return_types.kthvalue``)."""

    __slots__ = ()


class MedianResult(R._values_indices):
    """``(values, indices)`` returned by ``median(dim)`` (PyTorch's ``return_types.median``)."""

    __slots__ = ()


class ModeResult(R._values_indices):
    """``(values, indices)`` returned by ``mode``, as PyTorch's ``torch.return_types.mode``."""

    __slots__ = ()


# ---------------------------------------------------------------------------- array helpers


def _sort_key(xp: Any, a: Any) -> Any:
    """Return ``a`` in a dtype every namespace can sort (bool as int8, same order)."""
    return xp.astype(a, xp.int8) if is_bool(a.dtype) else a


def _argsort(xp: Any, a: Any, axis: int, descending: bool) -> Any:
    """Return the stable sorting permutation of ``a`` along ``axis`` as int64.

    Ascending puts NaN last; descending is the ascending sort of the reversed array,
    reversed back, so NaN comes first and equal elements keep their original order.
    """
    key = _sort_key(xp, a)
    if not descending:
        return xp.astype(xp.argsort(key, axis=axis, stable=True), xp.int64)
    idx = xp.argsort(xp.flip(key, axis=axis), axis=axis, stable=True)
    return xp.astype((a.shape[axis] - 1) - xp.flip(idx, axis=axis), xp.int64)


def _along(ndim: int, axis: int, index: Any) -> tuple[Any, ...]:
    """Return a key that applies ``index`` (a slice or int) to one axis only."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _pick(xp: Any, a: Any, order: Any, pos: Any, axis: int, keepdim: bool) -> tuple[Any, Any]:
    """Return ``(values, indices)`` of the element at sorted position ``pos`` of each slice.

    ``order`` is the sorting permutation along ``axis``; ``pos`` holds one position per
    slice, shaped like ``order`` with ``axis`` of size 1.
    """
    idx = xp.take_along_axis(order, pos, axis=axis)
    values = xp.take_along_axis(a, idx, axis=axis)
    if not keepdim:
        values = xp.squeeze(values, axis=axis)
        idx = xp.squeeze(idx, axis=axis)
    return values, idx


def _not_for_bool(kernel: str, x: Tensor) -> None:
    if x.dtype.name == "bool":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


# ---------------------------------------------------------------------------- sorting


class _Selecting(Op):
    """Base of the ops whose outputs are input elements chosen along ``dim``.

    d/dx = g scattered to the chosen ``indices`` (zero elsewhere).
    """

    attrs: ClassVar[tuple[str, ...]] = ("dim",)
    non_differentiable_outputs = (1,)

    @staticmethod
    def backward(ctx: Any, g: Tensor, _gi: Any = None) -> Any:
        idx = ctx._unpack("indices")
        shape = ctx.self_sym_sizes
        if not shape:  # a 0-d input is its own selection
            return S.reshape(g, ())
        if not getattr(ctx, "keepdim", True):
            g = S.unsqueeze(g, ctx.dim)
            idx = backend.namespace(idx).expand_dims(idx, axis=ctx.dim)
        return S._ScatterAddInto.apply(g, shape=shape, dim=ctx.dim, index=idx)


def _zero_d(xp: Any, a: Any) -> tuple[Any, Any]:
    return xp.asarray(a, copy=True), backend.zeros(a, (), xp.int64)


class Sort(_Selecting):
    """Values sorted along ``dim``. d/dx = g scattered back through the permutation."""

    node = "SortBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = -1, descending: bool = False) -> Any:
        ctx.dim = dim
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        if a.ndim == 0:
            values, idx = _zero_d(xp, a)
        else:
            idx = _argsort(xp, a, dim, descending)
            values = xp.take_along_axis(a, idx, axis=dim)
        ctx.save_array("indices", idx)
        return values, idx


class SortStable(Sort):
    """``sort`` called with ``stable=``. d/dx = g scattered back through the permutation."""

    node = "SortBackward1"


@register("sort")
def sort(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: int = -1,
    descending: bool = False,
    *,
    stable: Any = None,
) -> SortResult:
    """Return the elements of ``input`` sorted along ``dim`` and their original indices.

    The sort is always stable (equal elements keep their order), so ``stable`` only picks
    PyTorch's node name: ``SortBackward1`` when it is given, ``SortBackward0`` otherwise.
    NaN sorts as the largest value.

    Args:
        input: the tensor to sort.
        dim: the dimension to sort along.
        descending: largest first.
        stable: accepted for PyTorch compatibility (gradviz's sort is always stable).

    Returns:
        A ``SortResult`` named tuple ``(values, indices)``; ``indices`` is int64.

    Raises:
        IndexError: ``dim`` is out of range.

    Example:
        >>> import gradviz
        >>> gradviz.tensor([3.0, 1.0, 2.0]).sort()
        SortResult(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    op = Sort if stable is None else SortStable
    d = norm_dim(dim, input.ndim)
    values, indices = op.apply(input, dim=d, descending=bool(descending))
    return SortResult(values, indices)


@register("argsort")
def argsort(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: int = -1,
    descending: bool = False,
    *,
    stable: bool = False,
) -> Tensor:
    """Return the indices that sort ``input`` along ``dim`` (int64, no gradient).

    Args:
        input: the tensor to sort.
        dim: the dimension to sort along.
        descending: largest first.
        stable: accepted for PyTorch compatibility (the sort is always stable).

    Returns:
        The int64 tensor of indices, shaped like ``input``.

    Raises:
        IndexError: ``dim`` is out of range.
    """
    d = norm_dim(dim, input.ndim)
    a = input._data
    xp = backend.namespace(a)
    if a.ndim == 0:
        return const(backend.zeros(a, (), xp.int64))
    return const(_argsort(xp, a, d, bool(descending)))


@register("msort")
def msort(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``input`` sorted along its first dimension (``sort(input, 0).values``)."""
    return Sort.apply(input, dim=0, descending=False)[0]


class Topk(_Selecting):
    """The ``k`` largest (or smallest) values along ``dim``. d/dx = g scattered to them."""

    node = "TopkBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, k: int = 1, dim: int = -1, largest: bool = True) -> Any:
        ctx.dim = dim
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        if a.ndim == 0:
            values, idx = _zero_d(xp, a)
        else:
            idx = _argsort(xp, a, dim, largest)[_along(a.ndim, dim, slice(0, k))]
            values = xp.take_along_axis(a, idx, axis=dim)
        ctx.save_array("indices", idx)
        return values, idx


@register("topk")
def topk(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,  # noqa: A002 - PyTorch's argument name
) -> TopkResult:
    """Return the ``k`` largest (or smallest) elements along ``dim`` and their indices.

    Results are always sorted (``sorted=False`` lets PyTorch return any order, so sorted
    is one of its answers). Among tied values the lowest indices are chosen.

    Args:
        input: the tensor.
        k: how many elements to return.
        dim: the dimension to select along.
        largest: the largest elements (else the smallest).
        sorted: accepted for PyTorch compatibility.

    Returns:
        A ``TopkResult`` named tuple ``(values, indices)``.

    Raises:
        IndexError: ``dim`` is out of range.
        RuntimeError: ``input`` is bool, or ``k`` is not in ``[0, input.size(dim)]``.
    """
    d = norm_dim(dim, input.ndim)
    if input.dtype.name == "bool":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    size = input.shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    values, indices = Topk.apply(input, k=k, dim=d, largest=bool(largest))
    return TopkResult(values, indices)


class _SelectingReduction(_Selecting):
    """A value-selecting reduction along ``dim`` with ``keepdim`` (kthvalue, median, mode)."""

    attrs = ("dim", "keepdim")


class Kthvalue(_SelectingReduction):
    """The ``k``-th smallest value along ``dim``. d/dx = g at its index."""

    node = "KthvalueBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, k: int = 1, dim: int = -1, keepdim: bool = False) -> Any:
        ctx.dim, ctx.keepdim, ctx.self_sym_sizes = dim, keepdim, a.shape
        xp = backend.namespace(a)
        if a.ndim == 0:
            values, idx = _zero_d(xp, a)
        else:
            order = _argsort(xp, a, dim, False)
            values, idx = _pick(xp, a, order, _positions(a, dim, k - 1), dim, keepdim)
        ctx.save_array("indices", idx)  # shaped like the output, as PyTorch shows it
        return values, idx


def _positions(a: Any, dim: int, position: int) -> Any:
    """Return an int64 array holding ``position`` once per slice along ``dim``."""
    shape = list(a.shape)
    shape[dim] = 1
    xp = backend.namespace(a)
    return backend.full(a, tuple(shape), position, xp.int64)


@register("kthvalue")
def kthvalue(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    k: int,
    dim: int = -1,
    keepdim: bool = False,
) -> KthvalueResult:
    """Return the ``k``-th smallest element along ``dim`` (1-based) and its index.

    Args:
        input: the tensor.
        k: which smallest element, from 1.
        dim: the dimension to select along.
        keepdim: keep ``dim`` with size 1.

    Returns:
        A ``KthvalueResult`` named tuple ``(values, indices)``.

    Raises:
        IndexError: ``dim`` is out of range, or the dimension is empty.
        NotImplementedError: ``input`` is bool.
        RuntimeError: ``k`` is not in ``[1, input.size(dim)]``.
    """
    d = norm_dim(dim, input.ndim)
    _not_for_bool("kthvalue_cpu", input)
    R.check_reduction_size("kthvalue():", tuple(input.shape), (d,))
    size = input.shape[d] if input.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    values, indices = Kthvalue.apply(input, k=k, dim=d, keepdim=bool(keepdim))
    return KthvalueResult(values, indices)


class MedianAll(Op):
    """The lower median of all elements. d/dx = g shared evenly by the elements equal to it."""

    node = "MedianBackward0"
    saves = ("self", "result")

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = backend.namespace(a)
        flat = xp.reshape(a, (-1,))
        n = flat.shape[0]
        if n == 0:
            if is_floating(a.dtype):
                return backend.full(a, (), math.nan)
            return backend.full(a, (), xp.iinfo(a.dtype).min)  # PyTorch's NaN cast to int
        s = xp.sort(flat, stable=True)  # NaN last: the last element is NaN if any is
        if is_floating(a.dtype) and bool(xp.isnan(s[n - 1])):
            return xp.asarray(s[n - 1], copy=True)
        return xp.asarray(s[(n - 1) // 2], copy=True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        return R.evenly_distribute(g, a, r)


class MedianDim(_SelectingReduction):
    """The lower median along ``dim`` (NaN if the slice has one). d/dx = g at its index."""

    node = "MedianBackward1"

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = -1, keepdim: bool = False) -> Any:
        ctx.dim, ctx.keepdim, ctx.self_sym_sizes = dim, keepdim, a.shape
        xp = backend.namespace(a)
        if a.ndim == 0:
            values, idx = _zero_d(xp, a)
        else:
            order = _argsort(xp, a, dim, False)
            n = a.shape[dim]
            pos = _positions(a, dim, (n - 1) // 2)
            if is_floating(a.dtype):
                # With NaN the median is NaN, at its first index: the first NaN in the order.
                nans = xp.sum(xp.astype(xp.isnan(a), xp.int64), axis=dim, keepdims=True)
                pos = xp.where(nans > 0, n - nans, pos)
            values, idx = _pick(xp, a, order, pos, dim, keepdim)
        ctx.save_array("indices", idx)  # shaped like the output, as PyTorch shows it
        return values, idx


@register("median")
def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A002
    """Return the median: of all elements, or ``(values, indices)`` along ``dim``.

    For an even count this is the lower of the two middle values, as in PyTorch; a slice
    that holds NaN has median NaN (its index is that of the first NaN). Along ``dim``, the
    index of a tied median is the one a stable sort puts in the middle.

    Args:
        input: the tensor.
        dim: the dimension to reduce; None for all elements.
        keepdim: keep ``dim`` with size 1.

    Returns:
        A 0-d tensor (``dim=None``; NaN for an empty float tensor), or a ``MedianResult``
        named tuple ``(values, indices)``.

    Raises:
        IndexError: ``dim`` is out of range, or the dimension is empty.
        NotImplementedError: ``input`` is bool.
    """
    if dim is None:
        _not_for_bool("median_cpu", input)
        return MedianAll.apply(input)
    d = norm_dim(dim, input.ndim)
    _not_for_bool("median_out", input)
    R.check_reduction_size("median():", tuple(input.shape), (d,))
    values, indices = MedianDim.apply(input, dim=d, keepdim=bool(keepdim))
    return MedianResult(values, indices)


class Mode(_SelectingReduction):
    """The most frequent value along ``dim`` (smallest among ties). d/dx = g at its index."""

    node = "ModeBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = -1, keepdim: bool = False) -> Any:
        ctx.dim, ctx.keepdim, ctx.self_sym_sizes = dim, keepdim, a.shape
        xp = backend.namespace(a)
        if a.ndim == 0:
            values, idx = _zero_d(xp, a)
        else:
            values, idx = _mode_last_axis(xp, xp.moveaxis(a, dim, -1))
            if keepdim:
                values = xp.expand_dims(values, axis=dim)
                idx = xp.expand_dims(idx, axis=dim)
        ctx.save_array("indices", idx)  # shaped like the output, as PyTorch shows it
        return values, idx


def _mode_last_axis(xp: Any, a: Any) -> tuple[Any, Any]:
    """Return the mode of each slice along the last axis and the index of its last occurrence.

    Sort stably; runs of equal values end where the next value differs. Moving the run
    ends to the front (a stable sort of "is not an end") lists them in order, so each
    run's length is the distance to the previous end; the first longest run wins (the
    smallest value), and its end is the last occurrence of that value in the input.
    """
    n = a.shape[-1]
    order = _argsort(xp, a, a.ndim - 1, False)
    s = xp.take_along_axis(a, order, axis=-1)
    lead = a.shape[:-1]
    last = backend.full(a, (*lead, 1), True, xp.bool)
    ends = xp.concat([s[..., 1:] != s[..., :-1], last], axis=-1) if n > 1 else last
    end_positions = xp.argsort(xp.astype(~ends, xp.int8), axis=-1, stable=True)
    end_positions = xp.astype(end_positions, xp.int64)
    previous = xp.concat(
        [backend.full(a, (*lead, 1), -1, xp.int64), end_positions[..., :-1]], axis=-1
    )
    runs = xp.sum(xp.astype(ends, xp.int64), axis=-1, keepdims=True)
    valid = xp.reshape(backend.arange(a, n), (1,) * len(lead) + (n,)) < runs
    lengths = xp.where(valid, end_positions - previous, xp.zeros_like(end_positions))
    best = xp.argmax(lengths, axis=-1, keepdims=True)
    end = xp.take_along_axis(end_positions, best, axis=-1)
    values = xp.take_along_axis(s, end, axis=-1)
    idx = xp.take_along_axis(order, end, axis=-1)
    return xp.squeeze(values, axis=-1), xp.squeeze(idx, axis=-1)


@register("mode")
def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> ModeResult:  # noqa: A002
    """Return the most frequent value along ``dim`` and the index of its last occurrence.

    Among values equally frequent, the smallest wins (PyTorch's CPU rule). With NaN the
    answer is unspecified in PyTorch; gradviz counts each NaN as a distinct value.

    Args:
        input: the tensor.
        dim: the dimension to reduce.
        keepdim: keep ``dim`` with size 1.

    Returns:
        A ``ModeResult`` named tuple ``(values, indices)``.

    Raises:
        IndexError: ``dim`` is out of range, or the dimension is empty.
    """
    d = norm_dim(dim, input.ndim)
    R.check_reduction_size("mode():", tuple(input.shape), (d,))
    values, indices = Mode.apply(input, dim=d, keepdim=bool(keepdim))
    return ModeResult(values, indices)


# ---------------------------------------------------------------------------- set-like ops


class Unique(Op):
    """Sorted distinct values; PyTorch has no derivative for it (backward raises)."""

    node = "Unique2Backward0"
    non_differentiable_outputs = (1, 2)
    derivative = "_unique2"

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = backend.namespace(a)
        flat = xp.reshape(a, (-1,))
        n = flat.shape[0]
        if n == 0:
            empty = backend.zeros(a, (0,), xp.int64)
            return xp.asarray(flat, copy=True), xp.reshape(empty, a.shape), empty
        order = _argsort(xp, flat, 0, False)
        s = xp.take(flat, order)
        first = backend.full(a, (1,), True, xp.bool)
        starts = xp.concat([first, s[1:] != s[:-1]])  # NaN != NaN: every NaN is distinct
        return _runs(xp, s, order, starts, n, a.shape, a)

    @classmethod
    def backward(cls, ctx: Any, *grads: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError(f"the derivative for '{cls.derivative}' is not implemented.")


def _runs(
    xp: Any, s: Any, order: Any, starts: Any, n: int, inverse_shape: tuple[int, ...], like: Any
) -> tuple[Any, Any, Any]:
    """Return ``(distinct values, inverse, counts)`` from a stable sort and its run starts."""
    values = backend.getitem(s, starts)
    run = xp.cumulative_sum(xp.astype(starts, xp.int64)) - 1  # run number of each position
    inverse = xp.take(run, xp.argsort(order, stable=True))  # back to the input's order
    start_at = xp.astype(xp.nonzero(starts)[0], xp.int64)
    ends = xp.concat([start_at[1:], backend.full(like, (1,), n, xp.int64)])
    return values, xp.reshape(inverse, inverse_shape), ends - start_at


class UniqueDim(Unique):
    """Sorted distinct slices along ``dim``; PyTorch has no derivative for it (backward raises)."""

    node = "UniqueDimBackward0"
    attrs = ("dim",)
    derivative = "unique_dim"

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0) -> Any:  # type: ignore[override]
        ctx.dim = dim
        xp = backend.namespace(a)
        moved = xp.moveaxis(a, dim, 0)
        n = moved.shape[0]
        if n == 0:
            empty = backend.zeros(a, (0,), xp.int64)
            return xp.asarray(a, copy=True), empty, empty
        rows = xp.reshape(moved, (n, -1))
        # Lexicographic stable sort of the rows: sort by the last column first.
        order = backend.arange(a, n)
        order = xp.astype(order, xp.int64)
        for j in range(rows.shape[1] - 1, -1, -1):
            column = xp.take(rows[:, j], order)
            order = xp.take(order, _argsort(xp, column, 0, False))
        s = xp.take(rows, order, axis=0)
        first = backend.full(a, (1,), True, xp.bool)
        differs = xp.any(s[1:, :] != s[:-1, :], axis=1)
        starts = xp.concat([first, differs])
        values, inverse, counts = _runs(xp, s, order, starts, n, (n,), a)
        values = xp.reshape(values, (values.shape[0], *moved.shape[1:]))
        return xp.moveaxis(values, 0, dim), inverse, counts


@register("unique")
def unique(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    sorted: bool = True,  # noqa: A002 - PyTorch's argument name
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: Any = None,
) -> Any:
    """Return the distinct elements of ``input`` (or distinct slices along ``dim``), sorted.

    NaN values are all distinct, as in PyTorch. The result is sorted whatever ``sorted``
    says (PyTorch's CPU kernel sorts too). The values keep a node (``Unique2Backward0``,
    or ``UniqueDimBackward0`` with ``dim``) whose backward raises, as PyTorch's does.

    Args:
        input: the tensor.
        sorted: accepted for PyTorch compatibility.
        return_inverse: also return, for each element (slice), the index of its value.
        return_counts: also return how many times each value occurs.
        dim: the dimension whose slices are compared; None for single elements.

    Returns:
        The distinct values, or a tuple ``(values[, inverse][, counts])``.

    Raises:
        IndexError: ``dim`` is out of range (or given for a 0-d tensor).
        RuntimeError: another dimension than ``dim`` has size 0.
    """
    if dim is None:
        values, inverse, counts = Unique.apply(input)
    else:
        if input.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        d = norm_dim(dim, input.ndim)
        if input.shape[d] and any(s == 0 for i, s in enumerate(input.shape) if i != d):
            raise RuntimeError(
                "There are 0 sized dimensions, and they aren't selected, so unique cannot be "
                "applied"
            )
        values, inverse, counts = UniqueDim.apply(input, dim=d)
    if not return_inverse and not return_counts:
        return values
    out = [values]
    if return_inverse:
        out.append(inverse)
    if return_counts:
        out.append(counts)
    return tuple(out)


@register("nonzero")
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:  # noqa: A002
    """Return the indices of the non-zero elements of ``input`` (no gradient).

    Args:
        input: the tensor.
        as_tuple: return one 1-D index tensor per dimension instead of an ``(n, ndim)``
            matrix.

    Returns:
        An int64 tensor of shape ``(n, input.ndim)``, or a tuple of ``input.ndim`` int64
        tensors of shape ``(n,)`` (one tensor for a 0-d input).
    """
    a = input._data
    xp = backend.namespace(a)
    if a.ndim == 0:
        hits = xp.nonzero(xp.reshape(a, (1,)))[0]
        if as_tuple:
            return (const(xp.astype(hits, xp.int64)),)
        return const(backend.zeros(a, (hits.shape[0], 0), xp.int64))
    found = [xp.astype(i, xp.int64) for i in xp.nonzero(a)]
    if as_tuple:
        return tuple(const(i) for i in found)
    return const(xp.stack(found, axis=1))


class _BincountWeights(Op):
    """Weighted counts: PyTorch keeps a ``NotImplemented`` node whose backward raises."""

    node = "NotImplemented"
    inputs = ("weights",)

    @staticmethod
    def forward(ctx: Any, w: Any, index: Any = None, length: int = 0) -> Any:
        xp = backend.namespace(w)
        dt = w.dtype if is_floating(w.dtype) else native(xp, float64)
        out = backend.zeros(w, (length,), dt)
        backend.scatter_add(out, index, xp.astype(w, dt))
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        raise RuntimeError("derivative for aten::bincount is not implemented")


@register("bincount")
def bincount(input: Tensor, weights: Any = None, minlength: int = 0) -> Tensor:  # noqa: A002
    """Count the occurrences of each value in a 1-D tensor of non-negative integers.

    Args:
        input: the 1-D integer tensor.
        weights: optional 1-D weights, one per element: sums of weights instead of counts.
        minlength: the least length of the result.

    Returns:
        A 1-D tensor of length ``max(input.max() + 1, minlength)``: int64 counts, or sums
        of weights (float32/float64 as the weights, float64 for integer weights).

    Raises:
        RuntimeError: ``minlength`` is negative, ``input`` is not 1-D or has negative
            values, or ``weights`` does not match ``input``'s length.
        NotImplementedError: ``input`` is not an integer tensor.
    """
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    dt = input.dtype
    if dt.is_floating_point or dt.name == "bool":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{dt.scalar_name}'")
    a = input._data
    xp = backend.namespace(a)
    if a.ndim != 1 or (a.shape[0] and bool(xp.any(a < 0))):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    length = max(int(xp.max(a)) + 1 if a.shape[0] else 0, minlength)
    index = xp.astype(a, xp.int64)
    if weights is not None:
        if weights.ndim != 1 or weights.shape[0] != a.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        return _BincountWeights.apply(weights, index=index, length=length)
    out = backend.zeros(a, (length,), xp.int64)
    backend.scatter_add(out, index, backend.full(a, (a.shape[0],), 1, xp.int64))
    return const(out)


# ---------------------------------------------------------------------------- comparisons


@register("isclose")
def isclose(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Tensor:
    """Return where ``|input - other| <= atol + rtol * |other|`` elementwise (a bool tensor).

    Equal values (infinities included) are close; NaN is close to NaN only with
    ``equal_nan``. Both tensors must have the same dtype; they broadcast.

    Args:
        input: the first tensor.
        other: the second tensor.
        rtol: relative tolerance (>= 0).
        atol: absolute tolerance (>= 0).
        equal_nan: count two NaNs as close.

    Returns:
        A bool tensor of the broadcast shape (no gradient).

    Raises:
        TypeError: ``other`` is not a Tensor.
        RuntimeError: the dtypes differ, a tolerance is negative, or the shapes do not
            broadcast.
    """
    check_tensor("isclose", "other", 2, other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{input.dtype.scalar_name} did not match {other.dtype.scalar_name}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    infer_size(tuple(input.shape), tuple(other.shape))
    a, b = input._data, other._data
    xp = backend.namespace(a)
    close = a == b
    if is_bool(a.dtype):
        return const(close)
    if not is_floating(a.dtype):
        a, b = xp.astype(a, xp.float64), xp.astype(b, xp.float64)
    if equal_nan:
        close = close | (xp.isnan(a) & xp.isnan(b))
    token = backend.quiet()  # inf - inf is NaN here on purpose: not a warning
    try:
        error = xp.abs(a - b)
        allowed = atol + xp.abs(rtol * b)
        return const(close | (xp.isfinite(error) & (error <= allowed)))
    finally:
        backend.loud(token)


@register("allclose")
def allclose(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Return whether every element of ``input`` is close to ``other`` (see ``isclose``).

    Returns:
        A Python bool.

    Raises:
        TypeError: ``other`` is not a Tensor.
        RuntimeError: as ``isclose``.
    """
    check_tensor("allclose", "other", 2, other)
    close = isclose(input, other, rtol, atol, equal_nan)._data
    return bool(backend.namespace(close).all(close))


@register("equal")
def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002 - PyTorch's argument name
    """Return whether ``input`` and ``other`` have the same shape and the same elements.

    Dtypes may differ (values are compared after promotion); NaN equals nothing.

    Returns:
        A Python bool.

    Raises:
        TypeError: ``other`` is not a Tensor.
    """
    check_tensor("equal", "other", 2, other)
    if tuple(input.shape) != tuple(other.shape):
        return False
    a, b = input._data, other._data
    xp = backend.namespace(a)
    if a.dtype != b.dtype:
        target = native(xp, result_type(input, other))
        a, b = xp.astype(a, target), xp.astype(b, target)
    return bool(xp.all(a == b))


# ---------------------------------------------------------------------------- fused pointwise


def _integral(t: Tensor) -> bool:
    return not t.dtype.is_floating_point


class Addcmul(Op):
    """``self + value * tensor1 * tensor2``. d/dself = g, d/dt1 = g*value*t2, d/dt2 = g*value*t1."""

    node = "AddcmulBackward0"
    inputs = ("self", "tensor1", "tensor2")
    saves = ("tensor1", "tensor2")
    needs = {"tensor1": (2,), "tensor2": (1,)}
    attrs = ("value",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, t1: Any, t2: Any, value: Any = 1) -> Any:
        ctx.value = value
        return a + value * (t1 * t2)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        t1, t2 = ctx.saved_tensors
        need = ctx.needs_input_grad
        value = ctx.value
        return (
            g if need[0] else None,
            g * t2 * value if need[1] else None,
            g * t1 * value if need[2] else None,
        )


class Addcdiv(Op):
    """``self + value * t1 / t2``. d/dself = g, d/dt1 = g*value/t2, d/dt2 = -g*value*t1/t2^2."""

    node = "AddcdivBackward0"
    inputs = ("self", "tensor1", "tensor2")
    saves = ("tensor1", "tensor2")
    needs = {"tensor1": (2,)}
    attrs = ("value",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, t1: Any, t2: Any, value: Any = 1) -> Any:
        ctx.value = value
        return a + value * (t1 / t2)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        t1, t2 = ctx.saved_tensors
        need = ctx.needs_input_grad
        value = ctx.value
        return (
            g if need[0] else None,
            g * value / t2 if need[1] else None,
            -g * value * t1 / (t2 * t2) if need[2] else None,
        )


def _fused_args(fn: str, input: Tensor, tensor1: Any, tensor2: Any) -> None:  # noqa: A002
    for name, t in (("tensor1", tensor1), ("tensor2", tensor2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    infer_size(tuple(input.shape), tuple(tensor1.shape), tuple(tensor2.shape))


@register("addcmul")
def addcmul(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    tensor1: Tensor,
    tensor2: Tensor,
    *,
    value: Any = 1,
) -> Tensor:
    """Return ``input + value * tensor1 * tensor2`` (broadcast, PyTorch's result dtype).

    For an integer result a float ``value`` is truncated to an integer, as PyTorch does.

    Raises:
        TypeError: ``tensor1`` or ``tensor2`` is not a Tensor.
        RuntimeError: the shapes do not broadcast.
    """
    _fused_args("addcmul", input, tensor1, tensor2)
    if not result_type(input, tensor1, tensor2).is_floating_point:
        value = int(value)
    return Addcmul.apply(input, tensor1, tensor2, value=value)


_ADDCDIV_INTEGER = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
    "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "
    "for all dtypes."
)


@register("addcdiv")
def addcdiv(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    tensor1: Tensor,
    tensor2: Tensor,
    *,
    value: Any = 1,
) -> Tensor:
    """Return ``input + value * tensor1 / tensor2`` (broadcast, PyTorch's result dtype).

    Raises:
        TypeError: ``tensor1`` or ``tensor2`` is not a Tensor.
        RuntimeError: ``tensor1`` and ``tensor2`` are both integer tensors (PyTorch's
            message says how to write the division), or the shapes do not broadcast.
    """
    _fused_args("addcdiv", input, tensor1, tensor2)
    if _integral(tensor1) and _integral(tensor2):
        raise RuntimeError(_ADDCDIV_INTEGER)
    return Addcdiv.apply(input, tensor1, tensor2, value=value)


def _lerp_kernel(xp: Any, a: Any, b: Any, w: Any) -> Any:
    """PyTorch's formula: from ``a`` for small weights, from ``b`` for large ones (exact ends)."""
    diff = b - a
    small = xp.abs(w) < 0.5
    return xp.where(small, a + w * diff, b - diff * (1 - w))


class Lerp(Op):
    """``self + weight * (end - self)``, scalar weight. d/dself = g*(1-w), d/dend = g*w."""

    node = "LerpBackward0"
    inputs = ("self", "end")
    attrs = ("weight",)

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, weight: float = 0.5) -> Any:
        ctx.weight = weight
        xp = backend.namespace(a)
        w = backend.full(a, (), weight)
        return _lerp_kernel(xp, a, b, w)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        w = ctx.weight
        need = ctx.needs_input_grad
        return (g * (1 - w) if need[0] else None, g * w if need[1] else None)


class LerpTensor(Op):
    """``self + weight * (end - self)``. d/dself = g*(1-w), d/dend = g*w, d/dw = g*(end-self)."""

    node = "LerpBackward1"
    inputs = ("self", "end", "weight")
    saves = ("self", "end", "weight")

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, w: Any) -> Any:
        return _lerp_kernel(backend.namespace(a), a, b, w)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        a, b, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (
            g * (1 - w) if need[0] else None,
            g * w if need[1] else None,
            g * (b - a) if need[2] else None,
        )


@register("lerp")
def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:  # noqa: A002
    """Return ``input + weight * (end - input)``: a Python number or a tensor weight.

    Args:
        input: the start (a floating tensor).
        end: the end, of ``input``'s dtype.
        weight: a number (``LerpBackward0``) or a tensor of ``input``'s dtype
            (``LerpBackward1``).

    Returns:
        The interpolation, in the broadcast shape.

    Raises:
        TypeError: ``end`` is not a Tensor.
        RuntimeError: ``end`` or ``weight`` has another dtype than ``input``, or the shapes
            do not broadcast.
        NotImplementedError: ``input`` is not a floating tensor.
    """
    if not isinstance(end, Tensor):
        raise TypeError(
            "lerp() received an invalid combination of arguments - got (Tensor, "
            f"{type(end).__name__}, {type(weight).__name__}), but expected one of:\n"
            " * (Tensor input, Tensor end, Tensor weight, *, Tensor out = None)\n"
            " * (Tensor input, Tensor end, Number weight, *, Tensor out = None)\n"
        )
    tensor_weight = isinstance(weight, Tensor)
    dt = input.dtype
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.dtype != dt:
            raise RuntimeError(
                f"expected dtype {dt.c_name} for `{name}` but got dtype {t.dtype.c_name}"
            )
    if not dt.is_floating_point:
        kernel = "lerp_kernel_tensor" if tensor_weight else "lerp_kernel_scalar"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt.scalar_name}'")
    if tensor_weight:
        infer_size(tuple(input.shape), tuple(end.shape), tuple(weight.shape))
        return LerpTensor.apply(input, end, weight)
    infer_size(tuple(input.shape), tuple(end.shape))
    return Lerp.apply(input, end, weight=weight)


# ---------------------------------------------------------------------------- diagonals


class DiagEmbed(Op):
    """A square matrix with a 1-D input on diagonal ``offset``. d/dx = diag(g, offset)."""

    node = "DiagEmbedBackward0"
    attrs = ("offset", "dim1", "dim2")

    @staticmethod
    def forward(ctx: Any, a: Any, offset: int = 0) -> Any:
        ctx.offset, ctx.dim1, ctx.dim2 = offset, 0, 1
        n = a.shape[0] + abs(offset)
        out = backend.zeros(a, (n, n))
        rows = backend.arange(a, a.shape[0], max(-offset, 0))
        backend.setitem(out, (rows, rows + offset), a)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return DiagonalCopy.apply(g, offset=ctx.offset)


class DiagonalCopy(Op):
    """A matrix's diagonal ``offset`` as a new 1-D tensor. d/dx = g placed on that diagonal."""

    node = "DiagonalBackward0_copy"
    attrs = ("offset", "dim1", "dim2")

    @staticmethod
    def forward(ctx: Any, a: Any, offset: int = 0) -> Any:
        ctx.offset, ctx.dim1, ctx.dim2 = offset, 0, 1
        ctx.self_sym_sizes = a.shape
        key = _diagonal_key(a, a.shape, offset)
        ctx.save_array("key", key)
        return backend.getitem(a, key)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return S._Unindex.apply(g, shape=ctx.self_sym_sizes, key=ctx._unpack("key"))


def _diagonal_key(like: Any, shape: tuple[int, ...], offset: int) -> tuple[Any, Any]:
    """Return ``(rows, cols)`` of diagonal ``offset`` of a matrix of ``shape``."""
    start = max(-offset, 0)
    n = max(min(shape[0] - start, shape[1] - start - offset), 0)
    rows = backend.arange(like, n, start)
    return rows, rows + offset


@register("diag")
def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return a matrix with a 1-D ``input`` on a diagonal, or a matrix's diagonal as 1-D.

    Args:
        input: a 1-D or 2-D tensor.
        diagonal: which diagonal (0 the main one, > 0 above it, < 0 below it).

    Returns:
        A 2-D tensor (``DiagEmbedBackward0``) for a 1-D input, or a 1-D copy of the
        diagonal (``DiagonalBackward0_copy``) for a 2-D input.

    Raises:
        RuntimeError: ``input`` is neither 1-D nor 2-D.
    """
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=diagonal)
    if input.ndim == 2:
        return DiagonalCopy.apply(input, offset=diagonal)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class Trace(Op):
    """The sum of a matrix's main diagonal. d/dx = g on the diagonal, 0 elsewhere."""

    node = "TraceBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        rows = backend.arange(a, min(a.shape))
        d = backend.getitem(a, (rows, rows))
        if is_floating(a.dtype):
            return xp.sum(d)
        return xp.sum(d, dtype=xp.int64)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        shape = ctx.self_sym_sizes
        xp = backend.namespace(g._data)
        rows = xp.reshape(backend.arange(g._data, shape[0]), (-1, 1))
        cols = xp.reshape(backend.arange(g._data, shape[1]), (1, -1))
        return P.where(const(rows == cols), S.expand(g, shape), 0.0)


def trace(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return the sum of the main diagonal of a 2-D tensor (int64 for integer input).

    Offered as the Tensor method ``x.trace()``: ``gradviz.trace`` is the tracing package.

    Raises:
        RuntimeError: ``input`` is not 2-D.
        NotImplementedError: ``input`` is bool.
    """
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    _not_for_bool("trace", input)
    return Trace.apply(input)


register("trace", function=False)(trace)


# ---------------------------------------------------------------------------- einsum

_ELLIPSIS = -1  # the marker of "..." in a parsed operand


def _is_subscript(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _parse_inputs(lhs: str, num_ops: int) -> list[list[Any]]:
    """Return each operand's subscripts (letters and ``_ELLIPSIS``), with PyTorch's checks."""
    labels: list[list[Any]] = [[]]
    found_ellipsis = False
    i = 0
    while i < len(lhs):
        c = lhs[i]
        if c == " ":
            pass
        elif c == ".":
            op = len(labels) - 1
            if found_ellipsis:
                raise RuntimeError(
                    f"einsum(): found '.' for operand {op} for which an ellipsis was already found"
                )
            if not (i + 2 < len(lhs) and lhs[i + 1] == "." and lhs[i + 2] == "."):
                raise RuntimeError(
                    f"einsum(): found '.' for operand {op} that is not part of any ellipsis"
                )
            i += 2
            labels[-1].append(_ELLIPSIS)
            found_ellipsis = True
        elif c == ",":
            labels.append([])
            if len(labels) > num_ops:
                raise RuntimeError(
                    "einsum(): fewer operands were provided than specified in the equation"
                )
            found_ellipsis = False
        else:
            if not _is_subscript(c):
                raise RuntimeError(
                    f"einsum(): invalid subscript given at index {i} in the equation string, "
                    "subscripts must be in [a-zA-Z]"
                )
            labels[-1].append(c)
        i += 1
    if len(labels) != num_ops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return labels


def _parse_output(rhs: str, offset: int, counts: dict[str, int]) -> list[Any]:
    out: list[Any] = []
    i = 0
    while i < len(rhs):
        c = rhs[i]
        if c == " ":
            pass
        elif c == ".":
            if _ELLIPSIS in out:
                raise RuntimeError(
                    "einsum(): found '.' for output but an ellipsis (...) was already found"
                )
            if not (i + 2 < len(rhs) and rhs[i + 1] == "." and rhs[i + 2] == "."):
                raise RuntimeError(
                    "einsum(): found '.' for output that is not part of any ellipsis (...)"
                )
            i += 2
            out.append(_ELLIPSIS)
        else:
            if not _is_subscript(c):
                raise RuntimeError(
                    f"einsum(): invalid subscript given at index {offset + i} in the equation "
                    "string, subscripts must be in [a-zA-Z]"
                )
            if c in out:
                raise RuntimeError(
                    f"einsum(): output subscript {c} appears more than once in the output"
                )
            if counts.get(c, 0) == 0:
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    "input operand"
                )
            out.append(c)
        i += 1
    return out


def _sublist_equation(args: Sequence[Any]) -> tuple[str, list[Any]]:
    """Turn ``einsum(op0, sublist0, op1, sublist1, ..., [out])`` into an equation string."""

    def letters(sub: Any) -> str:
        text = ""
        for s in sub:
            if s is Ellipsis:
                text += "..."
            elif isinstance(s, int) and 0 <= s < 52:
                text += chr(ord("A") + s) if s < 26 else chr(ord("a") + s - 26)
            else:
                raise ValueError(
                    f"einsum(): subscript in subscript list is not within the valid range [0, 52), "
                    f"got {s}"
                )
        return text

    operands = list(args[0::2])
    subs = list(args[1::2])
    has_output = len(args) % 2 == 1
    if has_output:
        operands = operands[:-1]
        subs = subs[: len(operands)]
    equation = ",".join(letters(s) for s in subs)
    if has_output:
        equation += "->" + letters(args[-1])
    return equation, operands


def _sum_labels(t: Tensor, labels: list[Any], drop: set[Any]) -> tuple[Tensor, list[Any]]:
    """Sum ``t`` over the dimensions whose labels are in ``drop``."""
    dims = tuple(i for i, lab in enumerate(labels) if lab in drop)
    if not dims:
        return t, labels
    return R.sum(t, dims), [lab for lab in labels if lab not in drop]


def _contract(
    a: Tensor, la: list[Any], b: Tensor, lb: list[Any], keep: set[Any]
) -> tuple[Tensor, list[Any]]:
    """Return ``a * b`` summed over their shared labels not in ``keep``, as one bmm.

    ``a`` becomes (batch, a-only, contracted) and ``b`` (batch, contracted, b-only), each
    reshaped to 3-D; the product is reshaped to (batch..., a-only..., b-only...).
    """
    a, la = _sum_labels(a, la, {x for x in la if x not in lb and x not in keep})
    b, lb = _sum_labels(b, lb, {x for x in lb if x not in la and x not in keep})
    shared = [x for x in la if x in lb]
    batch = [x for x in shared if x in keep]
    summed = [x for x in shared if x not in keep]
    a_only = [x for x in la if x not in lb]
    b_only = [x for x in lb if x not in la]
    size = {}
    for x in shared:  # sizes of 1 broadcast against the other operand's size
        size[x] = max(a.shape[la.index(x)], b.shape[lb.index(x)])
    a = S.expand(a, tuple(size.get(x, a.shape[i]) for i, x in enumerate(la)))
    b = S.expand(b, tuple(size.get(x, b.shape[i]) for i, x in enumerate(lb)))
    a = S.permute(a, tuple(la.index(x) for x in batch + a_only + summed))
    b = S.permute(b, tuple(lb.index(x) for x in batch + summed + b_only))
    nb = math.prod(size[x] for x in batch)
    nk = math.prod(size[x] for x in summed)
    a_sizes = [a.shape[len(batch) + i] for i in range(len(a_only))]
    b_sizes = [b.shape[len(batch) + len(summed) + i] for i in range(len(b_only))]
    product = L.bmm(
        S.reshape(a, (nb, math.prod(a_sizes), nk)), S.reshape(b, (nb, nk, math.prod(b_sizes)))
    )
    shape = tuple(size[x] for x in batch) + tuple(a_sizes) + tuple(b_sizes)
    return S.reshape(product, shape), batch + a_only + b_only


def _diagonals(t: Tensor, labels: list[Any], op: int) -> tuple[Tensor, list[Any]]:
    """Take the diagonal over every label repeated within one operand ('ii->i')."""
    while True:
        seen: dict[Any, int] = {}
        for j, lab in enumerate(labels):
            if lab in seen:
                first = seen[lab]
                if t.shape[j] != t.shape[first]:
                    raise RuntimeError(
                        f"einsum(): subscript {lab} is repeated for operand {op} but the sizes "
                        f"don't match, {t.shape[j]} != {t.shape[first]}"
                    )
                t = S.diagonal(t, 0, first, j)
                labels = [x for k, x in enumerate(labels) if k not in (first, j)] + [lab]
                break
            seen[lab] = j
        else:
            return t, labels


@register("einsum", method=False)
def einsum(*args: Any) -> Tensor:
    """Return the Einstein summation of the operands described by ``equation``.

    ``einsum("ij,jk->ik", a, b)``, ``einsum("ij,jk->ik", [a, b])`` and PyTorch's sublist
    form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` are accepted; without ``->`` the output
    is the ellipsis dimensions then the subscripts used once, in alphabetical order
    (uppercase first). Sizes of 1 broadcast, inside and outside the ellipsis.

    Graph: gradviz composes einsum of its own ops, so its gradients (and double
    backward) are theirs. Repeated subscripts within an operand become
    ``DiagonalBackward0``; a subscript used by one operand only and absent from the output
    is summed first (``SumBackward1``); the operands are then contracted left to right,
    each pair as ``ExpandBackward0`` (only where a size of 1 broadcasts),
    ``PermuteBackward0``, ``ViewBackward0``/``UnsafeViewBackward0`` and one
    ``BmmBackward0``; a last ``PermuteBackward0`` orders the output. PyTorch's graph is
    made of the same kinds of nodes, but not node for node.

    Args:
        *args: the equation and the operands (or PyTorch's sublist form).

    Returns:
        The result tensor.

    Raises:
        ValueError: no operand was given.
        TypeError: an operand is not a Tensor.
        RuntimeError: the equation is malformed or does not match the operands (PyTorch's
            messages), or the operands' dtypes differ.

    Example:
        >>> import gradviz
        >>> a = gradviz.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> gradviz.einsum("ii->", a)
        tensor(5.)
    """
    if len(args) < 2:
        raise ValueError(
            "einsum(): must specify the equation string and at least one operand, or at least "
            "one operand and its subscripts list"
        )
    if isinstance(args[0], str):
        equation = args[0]
        operands = list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 1, but got {type(t).__name__}"
            )
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    parsed = _parse_inputs(lhs, len(operands))

    # Each operand's labels, the ellipsis expanded to labels (_ELLIPSIS, k), right-aligned.
    ellipsis_dims = 0
    counts: dict[str, int] = {}
    for i, (t, labs) in enumerate(zip(operands, parsed, strict=True)):
        named = [x for x in labs if x != _ELLIPSIS]
        has_ellipsis = len(named) != len(labs)
        if has_ellipsis and len(named) > t.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(named)}) is more "
                f"than the number of dimensions ({t.ndim}) for operand {i}"
            )
        if not has_ellipsis and len(named) != t.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(named)}) does not "
                f"match the number of dimensions ({t.ndim}) for operand {i} and no ellipsis "
                "was given"
            )
        if has_ellipsis:
            ellipsis_dims = max(ellipsis_dims, t.ndim - len(named))
        for x in named:
            counts[x] = counts.get(x, 0) + 1
    labels: list[list[Any]] = []
    for t, labs in zip(operands, parsed, strict=True):
        expanded: list[Any] = []
        for x in labs:
            if x == _ELLIPSIS:
                n = t.ndim - (len(labs) - 1)
                expanded.extend((_ELLIPSIS, k) for k in range(ellipsis_dims - n, ellipsis_dims))
            else:
                expanded.append(x)
        labels.append(expanded)

    if arrow >= 0:
        out = _parse_output(equation[arrow + 2 :], arrow + 2, counts)
    else:
        out = [_ELLIPSIS] if ellipsis_dims else []
        out += sorted(x for x, n in counts.items() if n == 1)
    out_labels: list[Any] = []
    for x in out:
        if x == _ELLIPSIS:
            out_labels.extend((_ELLIPSIS, k) for k in range(ellipsis_dims))
        else:
            out_labels.append(x)

    first_dtype = operands[0].dtype
    for t in operands[1:]:
        if t.dtype != first_dtype:
            raise RuntimeError(
                f"expected scalar type {first_dtype.scalar_name} but found {t.dtype.scalar_name}"
            )

    tensors: list[Tensor] = []
    for i, t in enumerate(operands):
        t, labels[i] = _diagonals(t, labels[i], i)
        tensors.append(t)
    _check_sizes(tensors, labels)

    keep_out = set(out_labels)
    cur, cur_labels = tensors[0], labels[0]
    later = [x for labs in labels[1:] for x in labs]
    cur, cur_labels = _sum_labels(cur, cur_labels, set(cur_labels) - keep_out - set(later))
    for j in range(1, len(tensors)):
        keep = keep_out | {x for labs in labels[j + 1 :] for x in labs}
        cur, cur_labels = _contract(cur, cur_labels, tensors[j], labels[j], keep)
    cur, cur_labels = _sum_labels(cur, cur_labels, set(cur_labels) - keep_out)
    if not out_labels:
        return cur if cur.ndim == 0 else S.reshape(cur, ())
    return S.permute(cur, tuple(cur_labels.index(x) for x in out_labels))


def _check_sizes(tensors: list[Tensor], labels: list[list[Any]]) -> None:
    """Raise PyTorch's error when a subscript's sizes (other than 1) differ across operands."""
    seen: dict[Any, int] = {}
    for i, (t, labs) in enumerate(zip(tensors, labels, strict=True)):
        for d, x in enumerate(labs):
            n = t.shape[d]
            prev = seen.get(x, 1)
            if n != 1 and prev != 1 and n != prev:
                if isinstance(x, tuple):
                    raise RuntimeError(
                        f"einsum(): dimension {x[1]} covered by ellipsis in operand {i}has size "
                        f"{n} which does not broadcast with previously seen ellipsis with size "
                        f"{prev} for the respective dimension"
                    )
                raise RuntimeError(
                    f"einsum(): subscript {x} has size {n} for operand {i} which does not "
                    f"broadcast with previously seen size {prev}"
                )
            if n != 1:
                seen[x] = n
