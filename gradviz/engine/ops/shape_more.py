"""More shape and indexing ops: narrow/select/movedim, tile, splits, stacks, scatters, ...

Families, in this order:

* **views**: ``narrow`` and ``select`` (``SliceBackward0``/``SelectBackward0``), ``movedim``
  and ``moveaxis`` (``PermuteBackward0``), ``tensor_split``/``hsplit``/``vsplit``/``dsplit``
  (one ``SliceBackward0`` view per piece), ``atleast_1d/2d/3d``, ``meshgrid`` and
  ``broadcast_tensors`` (``ExpandBackward0`` views). Like PyTorch's, these share the data
  and the version counter of their input, so an in-place change through them is seen.
* **copies built from other ops** (PyTorch composes them the same way, so the graph has
  PyTorch's nodes): ``tile`` (``RepeatBackward0``), ``repeat_interleave``, ``take_along_dim``,
  ``kron``, ``diff``, ``flipud``/``fliplr``, ``column_stack``, ``dstack``,
  ``cartesian_prod``, ``combinations``.
* **ops with their own node**: ``take``, ``rot90``, ``linalg_cross`` (``cross``), ``cdist``,
  ``block_diag``, ``index_add``, ``index_fill``, ``index_copy``, ``scatter``,
  ``scatter_reduce``, ``masked_scatter``, and the in-place forms ``index_add_``,
  ``index_fill_``, ``index_copy_``, ``scatter_``, ``scatter_add_``, ``scatter_reduce_``,
  ``masked_scatter_``, ``triu_``, ``tril_``.

Preconditions and invariants: kernels use the array namespace of their inputs (no NumPy
here). ``scatter_reduce`` (and ``scatter(..., reduce=)``) compares every index with every
position of the scattered dimension, so it needs memory proportional to
``index.numel() * input.size(dim)``; it is meant for the small tensors one inspects.
``cdist`` always computes distances directly (PyTorch's
``compute_mode='donot_use_mm_for_euclid_dist'``): PyTorch's default switches to a matmul
formulation, with other nodes, when either input has more than 25 rows.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Sequence
from typing import Any

from gradviz.engine import backend
from gradviz.engine.dtypes import is_bool, is_floating
from gradviz.engine.function import infer_size
from gradviz.engine.ops import pointwise as P  # noqa: N812 - short module aliases
from gradviz.engine.ops import reduction as R  # noqa: N812
from gradviz.engine.ops import shape as S  # noqa: N812
from gradviz.engine.ops._base import Op, Tensor, const, norm_dim, register
from gradviz.engine.tensor import contiguous_format

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "block_diag",
    "broadcast_tensors",
    "cartesian_prod",
    "cdist",
    "column_stack",
    "combinations",
    "cross",
    "diff",
    "dsplit",
    "dstack",
    "fliplr",
    "flipud",
    "hsplit",
    "index_add",
    "index_copy",
    "index_fill",
    "kron",
    "masked_scatter",
    "meshgrid",
    "movedim",
    "narrow",
    "repeat_interleave",
    "rot90",
    "scatter",
    "scatter_reduce",
    "select",
    "take",
    "take_along_dim",
    "tensor_split",
    "tile",
    "vsplit",
]

# ---------------------------------------------------------------------------- helpers


def _dims(value: Any) -> tuple[int, ...]:
    return (operator.index(value),) if not isinstance(value, (list, tuple)) else tuple(value)


def _int_arg(value: Any) -> int:
    """Return a Python int from an int or a one-element integer tensor (``narrow``'s start)."""
    if isinstance(value, Tensor):
        return int(value.item())
    return operator.index(value)


def _index_of(fn: str, index: Any, allowed: tuple[str, ...], message: str) -> Any:
    """Return the array of an integer index tensor, or raise ``message`` (PyTorch's error)."""
    if not isinstance(index, Tensor) or index.dtype.name not in allowed:
        kind = index.dtype.scalar_name if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(message.format(fn=fn, kind=kind))
    return index._data


def _check_bounds(
    idx: Any,
    size: int,
    dim: int,
    prefix: str = "",
    exc: type = RuntimeError,
    negative: bool = True,
) -> None:
    """Raise PyTorch's out-of-bounds error for an index outside ``[-size, size)``.

    With ``negative`` False the range is ``[0, size)`` (``index_add``, ``scatter``, ...).
    """
    bad = S._out_of_bounds(idx, size, negative=negative)
    if bad is not None:
        raise exc(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")


def _wrap(idx: Any, size: int) -> Any:
    """Return ``idx`` with negative entries counted from the end (as int64)."""
    xp = backend.namespace(idx)
    idx = xp.astype(idx, xp.int64)
    return xp.where(idx < 0, idx + size, idx) if idx.size else idx


def _pad_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Return ``g`` padded with zeros at the end of each dimension up to ``shape``."""
    if tuple(g.shape) == tuple(shape):
        return g
    pads: list[int] = []
    for have, want in zip(reversed(tuple(g.shape)), reversed(tuple(shape)), strict=True):
        pads += [0, want - have]
    return S.pad(g, pads)


# ---------------------------------------------------------------------------- views


@register("narrow")
def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:  # noqa: A002
    """Return a view of ``length`` elements of ``input`` along ``dim`` from ``start``.

    Args:
        input: the tensor to narrow.
        dim: the dimension to narrow.
        start: the first element (may be negative, or a 0-d integer tensor).
        length: how many elements to keep.

    Returns:
        A view (``SliceBackward0``) sharing ``input``'s data.

    Raises:
        RuntimeError: ``input`` is 0-d, ``length`` is negative, or the range does not fit.
        IndexError: ``dim`` or ``start`` is out of range.
    """
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = norm_dim(dim, input.ndim)
    begin, length = _int_arg(start), operator.index(length)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    size = input.shape[d]
    if not -size <= begin <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {begin})"
        )
    if begin < 0:
        begin += size
    if begin + length > size:
        raise RuntimeError(f"start ({begin}) + length ({length}) exceeds dimension size ({size}).")
    return S.Slice.apply(input, dim=d, start=begin, end=begin + length, step=1)


@register("select")
def select(input: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    """Return the view of ``input`` at ``index`` along ``dim`` (that dimension removed).

    Raises:
        IndexError: ``input`` is 0-d, or ``dim``/``index`` is out of range.
    """
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = norm_dim(dim, input.ndim)
    i = _int_arg(index)
    size = input.shape[d]
    if not -size <= i < size:
        raise IndexError(
            f"select(): index {i} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    return S.Select.apply(input, dim=d, index=i % size)


@register("movedim", "moveaxis")
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:  # noqa: A002
    """Return a view of ``input`` with dims ``source`` moved to ``destination``.

    Raises:
        RuntimeError: ``source`` and ``destination`` differ in length or repeat a dim.
        IndexError: a dim is out of range.
    """
    src, dst = _dims(source), _dims(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    n = input.ndim
    nsrc = [norm_dim(d, n) for d in src]
    ndst = [norm_dim(d, n) for d in dst]
    if len(set(nsrc)) != len(nsrc):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(ndst)) != len(ndst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    if not n:  # dims 0/-1 of a 0-d tensor: an alias, as in PyTorch
        return S.Alias.apply(input)
    order: list[int | None] = [None] * n
    for s, d in zip(nsrc, ndst, strict=True):
        order[d] = s
    rest = iter(d for d in range(n) if d not in nsrc)
    perm = tuple(next(rest) if o is None else o for o in order)
    return S.Permute.apply(input, dims=perm)


def _slice(input: Tensor, dim: int, start: int, end: int) -> Tensor:  # noqa: A002
    size = input.shape[dim]
    begin, stop, _ = slice(start, end).indices(size)
    return S.Slice.apply(input, dim=dim, start=begin, end=max(stop, begin), step=1)


@register("tensor_split")
def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """Split ``input`` into views along ``dim``: ``n`` near-equal parts, or at the given indices.

    Args:
        input: the tensor to split (at least 1-D).
        indices_or_sections: a number of sections (int or 0-d int64 tensor), or the indices
            to split before (a sequence or a 1-D int64 tensor).
        dim: the dimension to split.

    Returns:
        A tuple of views (``SliceBackward0`` each); the first ``size % n`` sections are one
        element longer.

    Raises:
        RuntimeError: ``input`` is 0-d, the number of sections is not positive, or the
            index tensor has the wrong dtype or dimensions.
    """
    if input.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype.name != "int64":
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have dtype of long, but "
                f"got {spec.dtype.scalar_name}"
            )
        if spec.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor, but got a tensor with {spec.ndim} dims"
            )
        spec = int(spec.item()) if spec.ndim == 0 else [int(i) for i in spec.tolist()]
    d = norm_dim(dim, input.ndim)
    size = input.shape[d]
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        base, extra = divmod(size, spec)
        bounds, start = [], 0
        for i in range(spec):
            end = start + base + (1 if i < extra else 0)
            bounds.append((start, end))
            start = end
    else:
        cuts = [operator.index(i) for i in spec]
        starts = [0, *cuts]
        ends = [*cuts, size]
        bounds = list(zip(starts, ends, strict=True))
    return tuple(_slice(input, d, s, e) for s, e in bounds)


def _split_dir(name: str, input: Tensor, spec: Any, dim: int, need: int) -> tuple[Tensor, ...]:  # noqa: A002
    if input.ndim < need:
        raise RuntimeError(
            f"torch.{name} requires a tensor with at least {need} dimension, but got a tensor "
            f"with {input.ndim} dimensions!"
        )
    if isinstance(spec, int):
        size = input.shape[dim]
        if spec == 0 or size % spec:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {spec}!"
            )
    return tensor_split(input, spec, dim)


@register("hsplit")
def hsplit(input: Tensor, sections: Any) -> tuple[Tensor, ...]:  # noqa: A002
    """Split ``input`` into views along dim 1 (dim 0 for 1-D tensors).

    Raises:
        RuntimeError: ``input`` is 0-d or an int ``sections`` does not divide the size.
    """
    dim = 0 if input.ndim == 1 else 1
    return _split_dir("hsplit", input, sections, dim, 1)


@register("vsplit")
def vsplit(input: Tensor, sections: Any) -> tuple[Tensor, ...]:  # noqa: A002
    """Split ``input`` (at least 2-D) into views along dim 0.

    Raises:
        RuntimeError: ``input`` has fewer than 2 dims or ``sections`` does not divide dim 0.
    """
    return _split_dir("vsplit", input, sections, 0, 2)


@register("dsplit")
def dsplit(input: Tensor, sections: Any) -> tuple[Tensor, ...]:  # noqa: A002
    """Split ``input`` (at least 3-D) into views along dim 2.

    Raises:
        RuntimeError: ``input`` has fewer than 3 dims or ``sections`` does not divide dim 2.
    """
    return _split_dir("dsplit", input, sections, 2, 3)


def _atleast(n: int, tensors: tuple[Any, ...]) -> Any:
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    items = tensors[0] if len(tensors) == 1 and not one else tensors
    out = []
    for x in items:
        if x.ndim == 0:
            out.append(S.reshape(x, (1,) * n))
        elif n == 2 and x.ndim == 1:
            out.append(S.unsqueeze(x, 0))
        elif n == 3 and x.ndim == 1:
            out.append(S.unsqueeze(S.unsqueeze(x, 0), -1))
        elif n == 3 and x.ndim == 2:
            out.append(S.unsqueeze(x, -1))
        else:
            out.append(x)
    return out[0] if one else tuple(out)


@register("atleast_1d", method=False)
def atleast_1d(*tensors: Any) -> Any:
    """Return each tensor with at least 1 dimension (a 0-d tensor becomes shape ``(1,)``).

    One tensor gives a tensor; several (or one sequence) give a tuple.
    """
    return _atleast(1, tensors)


@register("atleast_2d", method=False)
def atleast_2d(*tensors: Any) -> Any:
    """Return each tensor with at least 2 dimensions (1-D ``(n,)`` becomes ``(1, n)``)."""
    return _atleast(2, tensors)


@register("atleast_3d", method=False)
def atleast_3d(*tensors: Any) -> Any:
    """Return each tensor with at least 3 dimensions (``(n,)`` becomes ``(1, n, 1)``)."""
    return _atleast(3, tensors)


@register("meshgrid", method=False)
def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Return coordinate grids (broadcast views) of 0-D or 1-D tensors.

    Args:
        tensors: the coordinate vectors (or one sequence of them).
        indexing: ``"ij"`` (matrix indexing) or ``"xy"`` (Cartesian: the first two
            dimensions swapped). Left out, ``"ij"`` with PyTorch's warning.

    Returns:
        One ``ExpandBackward0`` view per input, each of shape ``(len(t0), len(t1), ...)``.

    Raises:
        RuntimeError: no tensors, a tensor of more than 1 dimension, mixed dtypes, or an
            unknown ``indexing``.
    """
    ts = (
        list(tensors[0])
        if len(tensors) == 1 and not isinstance(tensors[0], Tensor)
        else list(tensors)
    )
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for x in ts:
        if x.ndim > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a tensor "
                f"of shape {list(x.shape)}"
            )
        if x.dtype != ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(x.numel() for x in ts)
    grids = []
    for i, x in enumerate(ts):
        view_shape = tuple(-1 if j == i else 1 for j in range(len(ts)))
        grids.append(S.Expand.apply(S.view(x, view_shape), shape=shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@register("broadcast_tensors", method=False)
def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Return the tensors broadcast to one shape (expanded views; same-shape ones as is).

    Raises:
        RuntimeError: the shapes do not broadcast (PyTorch's size-mismatch message).
    """
    shape = infer_size(*(tuple(x.shape) for x in tensors))
    return tuple(x if tuple(x.shape) == shape else S.Expand.apply(x, shape=shape) for x in tensors)


# ---------------------------------------------------------------------------- composed copies


@register("tile")
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:  # noqa: A002
    """Return ``input`` repeated ``dims`` times along each dimension (``RepeatBackward0``).

    ``dims`` shorter than ``input.ndim`` is padded with ones in front, as in NumPy.

    Raises:
        RuntimeError: a repetition count is negative.
    """
    reps = _dims(dims)
    reps = (1,) * (input.ndim - len(reps)) + reps
    shape = (1,) * (len(reps) - input.ndim) + tuple(input.shape)
    out = [s * r for s, r in zip(shape, reps, strict=True)]
    for size in out:
        if size < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {size}: {out}")
    return S.repeat(input, reps)


def _repeat_index(xp: Any, counts: Any) -> Any:
    """Return ``[0]*counts[0] + [1]*counts[1] + ...`` as an int64 array (searchsorted)."""
    ends = xp.cumulative_sum(counts)
    total = int(ends[-1]) if counts.shape[0] else 0
    positions = backend.arange(counts, total)
    return xp.astype(xp.searchsorted(ends, positions, side="right"), xp.int64)


@register("repeat_interleave")
def repeat_interleave(
    input: Tensor,  # noqa: A002
    repeats: Any = None,
    dim: int | None = None,
    *,
    output_size: int | None = None,
) -> Tensor:
    """Repeat each element of ``input`` (along ``dim``, or of the flattened tensor).

    Args:
        input: the tensor; or, with ``repeats`` left out, a 1-D tensor of repetition counts
            (the result is then ``0`` repeated ``input[0]`` times, ``1`` ...).
        repeats: an int, or an integer tensor with one count per element along ``dim``
            (or a single count).
        dim: the dimension to repeat along; None flattens ``input`` first.
        output_size: the total length along ``dim``, if known (checked).

    Returns:
        An int count gives ``ViewBackward0(CloneBackward0(ExpandBackward0(...)))``, a
        tensor of counts ``IndexSelectBackward0``, as in PyTorch.

    Raises:
        RuntimeError: a negative count, counts of the wrong length or dimensions, or an
            ``output_size`` that does not match.
        NotImplementedError: the counts are not integers.
    """
    if repeats is None:
        counts = input._data
        xp = backend.namespace(counts)
        if counts.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if is_floating(counts.dtype) or is_bool(counts.dtype):
            raise RuntimeError("repeats has to be Long or Int tensor")
        if counts.shape[0] and int(xp.min(counts)) < 0:
            raise RuntimeError("repeats can not be negative")
        return const(_repeat_index(xp, counts))
    x = S.flatten(input) if dim is None else input
    d = 0 if dim is None else norm_dim(dim, input.ndim)
    if x.ndim == 0:
        x = S.reshape(x, (1,))
    if isinstance(repeats, Tensor):
        counts = repeats._data
        xp = backend.namespace(counts)
        if is_floating(counts.dtype) or is_bool(counts.dtype):
            raise NotImplementedError(
                f"\"repeat_interleave_cpu\" not implemented for '{repeats.dtype.scalar_name}'"
            )
        if counts.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        size = x.shape[d]
        if counts.ndim == 0 or counts.shape[0] == 1:
            counts = xp.broadcast_to(xp.reshape(counts, (1,)), (size,))
        elif counts.shape[0] != size:
            raise RuntimeError(
                "repeats must have the same size as input along dim, but got repeats.size(0) = "
                f"{counts.shape[0]} and input.size({d}) = {size}"
            )
        if counts.shape[0] and int(xp.min(counts)) < 0:
            raise RuntimeError("repeats can not be negative")
        index = _repeat_index(xp, counts)
        _check_output_size(output_size, index.shape[0])
        return S.IndexSelect.apply(x, dim=d, index=index)
    times = operator.index(repeats)
    if times < 0:
        raise RuntimeError("Repeats must be non-negative")
    _check_output_size(output_size, x.shape[d] * times)
    shape = list(x.shape)
    shape.insert(d + 1, times)
    wide = S.Expand.apply(S.unsqueeze(x, d + 1), shape=tuple(shape))
    copy = S.clone(wide, memory_format=contiguous_format)
    return S.flatten(copy, d, d + 1)


def _check_output_size(output_size: int | None, total: int) -> None:
    if output_size is not None and output_size != total:
        raise RuntimeError("allocated size does not match required size")


@register("take_along_dim")
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:  # noqa: A002
    """Return the values of ``input`` at ``indices`` along ``dim`` (broadcasting the others).

    With ``dim`` None, ``input`` and ``indices`` are flattened first. The graph is
    ``GatherBackward0(ExpandBackward0(...))`` (or over ``ViewBackward0``), as in PyTorch.

    Raises:
        RuntimeError: ``indices`` is not int64, or the number of dimensions differs.
    """
    if not isinstance(indices, Tensor) or indices.dtype.name != "int64":
        kind = indices.dtype.scalar_name if isinstance(indices, Tensor) else "?"
        raise RuntimeError(
            f"torch.take_along_dim(): dtype of indices should be Long but got {kind}"
        )
    if dim is None:
        flat = S.reshape(input, (-1,))
        idx = backend.namespace(indices._data).reshape(indices._data, (-1,))
        S._check_advanced(flat, (idx,))
        return S.Gather.apply(flat, dim=0, index=_wrap(idx, flat.shape[0]))
    if input.ndim != indices.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {input.ndim} dimensions for input, and {indices.ndim} "
            "dimensions for indices"
        )
    d = norm_dim(dim, input.ndim)
    self_sizes = list(input.shape)
    self_sizes[d] = indices.shape[d]
    shape = list(infer_size(tuple(self_sizes), tuple(indices.shape)))
    index_shape = tuple(shape)
    shape[d] = input.shape[d]
    wide = S.expand(input, tuple(shape))
    xp = backend.namespace(indices._data)
    idx = xp.broadcast_to(indices._data, index_shape)
    _check_bounds(idx, input.shape[d], d)
    return S.Gather.apply(wide, dim=d, index=_wrap(idx, input.shape[d]))


@register("kron")
def kron(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return the Kronecker product of ``input`` and ``other``.

    Composed as PyTorch does: both reshaped with interleaved size-1 dims
    (``UnsafeViewBackward0``), multiplied (``MulBackward0``), reshaped back.
    """
    n = max(input.ndim, other.ndim)
    pad_a, pad_b = n - input.ndim, n - other.ndim
    a_shape: list[int] = []
    b_shape: list[int] = []
    out_shape: list[int] = []
    for i in range(n):
        sa = input.shape[i - pad_a] if i >= pad_a else 1
        sb = other.shape[i - pad_b] if i >= pad_b else 1
        a_shape += [sa, 1]
        b_shape += [1, sb]
        out_shape.append(sa * sb)
    a = S.UnsafeView.apply(input, shape=tuple(a_shape))
    b = S.UnsafeView.apply(other, shape=tuple(b_shape))
    return S.UnsafeView.apply(P.mul(a, b), shape=tuple(out_shape))


@register("diff")
def diff(
    input: Tensor,  # noqa: A002
    n: int = 1,
    dim: int = -1,
    prepend: Tensor | None = None,
    append: Tensor | None = None,
) -> Tensor:
    """Return the ``n``-th forward difference of ``input`` along ``dim``.

    Args:
        input: the tensor (at least 1-D).
        n: how many times to take differences (0 gives a copy).
        dim: the dimension.
        prepend: values put before ``input`` along ``dim`` first (same number of dims).
        append: values put after ``input`` along ``dim`` first.

    Returns:
        ``narrow(x, dim, 1, L-1) - narrow(x, dim, 0, L-1)``, ``n`` times
        (``SubBackward0`` over ``SliceBackward0``; ``logical_xor`` for bool tensors).

    Raises:
        RuntimeError: ``input`` is 0-d, ``n`` is negative, or ``prepend``/``append`` has
            another number of dimensions.
    """
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = norm_dim(dim, input.ndim)
    for extra in (prepend, append):
        if extra is not None and (not isinstance(extra, Tensor) or extra.ndim != input.ndim):
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    x = input
    if prepend is not None or append is not None:
        parts = [t for t in (prepend, input, append) if t is not None]
        x = S.cat(parts, d)
    if n == 0:
        # NOTE: PyTorch copies into zeros (CopyBackwards), not clone.
        out = const(backend.zeros(x._data, tuple(x.shape)))
        return out.copy_(x)
    size = x.shape[d]
    length = size - 1
    for _ in range(min(n, size)):
        hi = S.Slice.apply(x, dim=d, start=1, end=1 + length, step=1)
        lo = S.Slice.apply(x, dim=d, start=0, end=length, step=1)
        x = P.logical_xor(hi, lo) if is_bool(x._data.dtype) else P.sub(hi, lo)
        length -= 1
    return x


@register("flipud")
def flipud(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` flipped along dim 0 (``FlipBackward0``).

    Raises:
        RuntimeError: ``input`` is 0-d.
    """
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return S.flip(input, (0,))


@register("fliplr")
def fliplr(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` flipped along dim 1 (``FlipBackward0``).

    Raises:
        RuntimeError: ``input`` has fewer than 2 dims.
    """
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return S.flip(input, (1,))


@register("column_stack", method=False)
def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack tensors as columns: 0-D and 1-D ones become ``(n, 1)``, then join along dim 1.

    Raises:
        RuntimeError: no tensors.
    """
    ts = S._check_seq("column_stack", tensors)
    cols = [S.reshape(x, (x.numel(), 1)) if x.ndim <= 1 else x for x in ts]
    return S.cat(cols, 1)


@register("dstack", method=False)
def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack tensors depth-wise: each made at least 3-D, then joined along dim 2.

    Raises:
        RuntimeError: no tensors.
    """
    ts = S._check_seq("dstack", tensors)
    return S.cat(list(atleast_3d(ts)), 2)


@register("cartesian_prod", method=False)
def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Return the Cartesian product of 1-D tensors as rows of a 2-D tensor.

    One tensor is returned as it is. Composed as PyTorch does: ``meshgrid``, flatten,
    ``stack`` along dim 1.

    Raises:
        RuntimeError: a tensor is not 1-D.
    """
    for x in tensors:
        if x.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(x.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return S.stack([S.flatten(g) for g in grids], 1)


@register("combinations", method=False)
def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002
    """Return the length-``r`` combinations of a 1-D tensor's elements, one per row.

    In ``itertools.combinations`` order (``combinations_with_replacement`` when asked).

    Raises:
        RuntimeError: ``input`` is not 1-D or ``r`` is negative.
    """
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return const(backend.zeros(input._data, (0,)))
    n = input.shape[0]
    xp = backend.namespace(input._data)
    mask = backend.full(input._data, (n,) * r, True, xp.bool)
    rng = backend.arange(input._data, n)
    for i in range(r - 1):
        left = xp.reshape(rng, tuple(n if j == i else 1 for j in range(r)))
        right = xp.reshape(rng, tuple(n if j == i + 1 else 1 for j in range(r)))
        mask = mask & ((left <= right) if with_replacement else (left < right))
    grids = meshgrid(*([input] * r), indexing="ij")
    return S.stack([S.MaskedSelect.apply(g, mask=mask) for g in grids], 1)


# ---------------------------------------------------------------------------- own nodes


class Take(Op):
    """Elements at flat indices. d/dinput = g added into zeros at the indices."""

    node = "TakeBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, index: Any = None) -> Any:
        ctx.self_sym_sizes = a.shape
        ctx.save_array("index", index)
        flat = backend.namespace(a).reshape(a, (-1,))
        return backend.getitem(flat, (index,))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        shape = ctx.self_sym_sizes
        flat = S._Unindex.apply(
            g, shape=(math.prod(shape),), key=(ctx._unpack("index"),), accumulate=True
        )
        return S.reshape(flat, shape)


@register("take")
def take(input: Tensor, index: Tensor) -> Tensor:  # noqa: A002
    """Return the elements of flattened ``input`` at ``index`` (``TakeBackward0``).

    Raises:
        RuntimeError: ``index`` is not int64.
        IndexError: an index is outside ``[-numel, numel)``.
    """
    idx = _index_of(
        "take", index, ("int64",), "take(): Expected a long tensor for index, but got {kind}"
    )
    n = input.numel()
    bad = S._out_of_bounds(idx, n)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return Take.apply(input, index=_wrap(idx, n))


class Rot90(Op):
    """Rotation by ``k`` quarter turns in the plane ``dims``. d/dinput = rot90(g, -k, dims)."""

    node = "Rot90Backward0"
    attrs = ("k", "dims")

    @staticmethod
    def forward(ctx: Any, a: Any, k: int = 1, dims: tuple[int, int] = (0, 1)) -> Any:
        ctx.k, ctx.dims = k, dims
        xp = backend.namespace(a)
        d0, d1 = dims
        order = list(range(a.ndim))
        order[d0], order[d1] = d1, d0
        if k == 1:
            out = xp.permute_dims(xp.flip(a, axis=d1), tuple(order))
        elif k == 2:
            out = xp.flip(a, axis=dims)
        elif k == 3:
            out = xp.permute_dims(xp.flip(a, axis=d0), tuple(order))
        else:
            out = a
        # NOTE: flip and permute_dims return views; the result must own its data.
        return backend.copy(out, contiguous=k == 0)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Rot90.apply(g, k=(-ctx.k) % 4, dims=ctx.dims)


@register("rot90")
def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:  # noqa: A002
    """Return ``input`` rotated ``k`` times by 90° from ``dims[0]`` towards ``dims[1]``.

    Raises:
        RuntimeError: ``dims`` does not name two different dims, or ``input`` has fewer
            than 2 dims.
        IndexError: a dim is out of range.
    """
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = norm_dim(dims[0], input.ndim), norm_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    return Rot90.apply(input, k=k % 4, dims=(d0, d1))


def _cross_arrays(xp: Any, a: Any, b: Any, dim: int) -> Any:
    def part(x: Any, i: int) -> Any:
        return backend.getitem(x, (slice(None),) * dim + (slice(i, i + 1),))

    a0, a1, a2 = part(a, 0), part(a, 1), part(a, 2)
    b0, b1, b2 = part(b, 0), part(b, 1), part(b, 2)
    return xp.concat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=dim)


class LinalgCross(Op):
    """Cross product along ``dim``. d/dself = cross(other, g), d/dother = cross(g, self)."""

    node = "LinalgCrossBackward0"
    inputs = ("self", "other")
    saves = ("self", "other")
    needs = {"self": (1,), "other": (0,)}
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, dim: int = -1) -> Any:
        ctx.dim = dim
        return _cross_arrays(backend.namespace(a), a, b, dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        ga = LinalgCross.apply(b, g, dim=ctx.dim) if ctx.needs_input_grad[0] else None
        gb = LinalgCross.apply(g, a, dim=ctx.dim) if ctx.needs_input_grad[1] else None
        return ga, gb


@register("cross")
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:  # noqa: A002
    """Return the cross product of 3-vectors along ``dim`` (``LinalgCrossBackward0``).

    Args:
        input: the first tensor.
        other: the second tensor (same number of dims; sizes broadcast).
        dim: the dimension of size 3. Left out, the first dimension of size 3, with
            PyTorch's deprecation warning.

    Raises:
        RuntimeError: different numbers of dims or dtypes, or ``dim`` is not of size 3.
    """
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype != other.dtype:
        raise RuntimeError(
            f"expected scalar type {input.dtype.scalar_name} but found {other.dtype.scalar_name}"
        )
    if dim is None:
        warnings.warn(
            "Using torch.cross without specifying the dim arg is deprecated.\nPlease either "
            "pass the dim explicitly or simply use torch.linalg.cross.\nThe default value of "
            "dim will change to agree with that of linalg.cross in a future release.",
            UserWarning,
            stacklevel=2,
        )
        sizes = [i for i, s in enumerate(input.shape) if s == 3]
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        d = sizes[0]
    else:
        d = norm_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {d} must have length 3. Got {input.shape[d]} and "
            f"{other.shape[d]}"
        )
    infer_size(tuple(input.shape), tuple(other.shape))
    return LinalgCross.apply(input, other, dim=d)


def _cdist_arrays(xp: Any, a: Any, b: Any, p: float) -> Any:
    diff = xp.abs(xp.expand_dims(a, axis=-2) - xp.expand_dims(b, axis=-3))
    if p == 0:
        return xp.sum(xp.astype(diff != 0, a.dtype), axis=-1)
    if p == 1:
        return xp.sum(diff, axis=-1)
    if p == 2:
        return xp.sqrt(xp.sum(diff * diff, axis=-1))
    if math.isinf(p):
        return xp.max(diff, axis=-1) if diff.shape[-1] else xp.sum(diff, axis=-1)
    return xp.sum(diff**p, axis=-1) ** (1.0 / p)


class Cdist(Op):
    """p-norm distances between rows. d/dx1_i = sum_j g_ij * d|x1_i - x2_j|_p / dx1_i."""

    node = "CdistBackward0"
    inputs = ("x1", "x2")
    saves = ("x1", "x2", "result")
    attrs = ("p",)

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, p: float = 2.0) -> Any:
        ctx.p = p
        return _cdist_arrays(backend.namespace(a), a, b, p)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        x1, x2, dist = ctx.saved_tensors
        p = ctx.p
        diff = P.sub(S.unsqueeze(x1, -2), S.unsqueeze(x2, -3))  # (..., P, R, M)
        gd = S.unsqueeze(g, -1)
        if p == 0:
            w = P.mul(diff, 0.0)
        elif p == 1:
            w = P.mul(P.sign(diff), gd)
        elif math.isinf(p):
            hit = P.eq(P.abs(diff), S.unsqueeze(dist, -1))
            w = P.mul(P.mul(P.sign(diff), P.where(hit, gd, 0.0)), 1.0)
        else:
            d = S.unsqueeze(dist, -1)
            safe = P.where(P.eq(d, 0.0), 1.0, d)
            scale = P.where(P.eq(d, 0.0), 0.0, P.div(gd, P.pow(safe, p - 1)))
            if p == 2:
                w = P.mul(diff, scale)
            else:
                w = P.mul(P.mul(diff, P.pow(P.abs(diff), p - 2)), scale)
        g1 = R.sum(w, -2) if ctx.needs_input_grad[0] else None
        g2 = P.neg(R.sum(w, -3)) if ctx.needs_input_grad[1] else None
        return g1, g2


@register("cdist", method=False)
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: Any = None) -> Tensor:
    """Return the p-norm distance between each row of ``x1`` and each row of ``x2``.

    Args:
        x1: ``(..., P, M)`` floating tensor.
        x2: ``(..., R, M)`` tensor of the same dtype (batch dims broadcast).
        p: the norm's order, in ``[0, inf]``.
        compute_mode: accepted for PyTorch compatibility; distances are always computed
            directly (see the module docstring).

    Returns:
        ``(..., P, R)`` distances (``CdistBackward0``).

    Raises:
        RuntimeError: fewer than 2 dims, non-floating or mixed dtypes, a negative ``p``, or
            different numbers of columns.
    """
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
        if not x.dtype.is_floating_point:
            raise RuntimeError(
                f"cdist only supports floating-point dtypes, {name} got: {x.dtype.scalar_name}"
            )
    if x1.dtype != x2.dtype:
        raise RuntimeError(
            f"expected scalar type {x1.dtype.scalar_name} but found {x2.dtype.scalar_name}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    infer_size(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    return Cdist.apply(x1, x2, p=float(p))


class BlockDiag(Op):
    """Block-diagonal matrix of the inputs. d/dinput_i = the block of g where input i sits."""

    node = "BlockDiagBackward0"
    promotes = True

    @staticmethod
    def forward(ctx: Any, *arrays: Any) -> Any:
        shapes = [tuple(a.shape) for a in arrays]
        ctx.shapes = shapes
        blocks = [(1, 1) if not s else (1, s[0]) if len(s) == 1 else s for s in shapes]
        rows = sum(b[0] for b in blocks)
        cols = sum(b[1] for b in blocks)
        xp = backend.namespace(arrays[0])
        out = backend.zeros(arrays[0], (rows, cols))
        r = c = 0
        places = []
        for a, (h, w) in zip(arrays, blocks, strict=True):
            backend.setitem(out, (slice(r, r + h), slice(c, c + w)), xp.reshape(a, (h, w)))
            places.append((r, c, h, w))
            r, c = r + h, c + w
        ctx.places = places
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, ...]:
        out = []
        for (r, c, h, w), shape in zip(ctx.places, ctx.shapes, strict=True):
            block = S.getitem(g, (slice(r, r + h), slice(c, c + w)))
            out.append(S.reshape(block, shape))
        return tuple(out)


@register("block_diag", method=False)
def block_diag(*tensors: Tensor) -> Tensor:
    """Return a block-diagonal matrix of 0-D, 1-D (one row) and 2-D tensors.

    Raises:
        RuntimeError: a tensor has more than 2 dims.
    """
    for i, x in enumerate(tensors):
        if x.ndim > 2:
            raise RuntimeError(
                "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                f"{i} has {x.ndim} dimensions"
            )
    if not tensors:
        from gradviz.engine.creation import zeros  # noqa: PLC0415 - only for no tensors

        return zeros(1, 0)
    return BlockDiag.apply(*tensors)


# ---------------------------------------------------------------------------- index_* ops


def _index_vector(fn: str, input: Tensor, dim: int, index: Any) -> Any:  # noqa: A002
    idx = _index_of(
        fn,
        index,
        ("int64", "int32"),
        "{fn}(): Expected dtype int32/int64 for index but got: {kind}",
    )
    if idx.ndim > 1:
        raise IndexError(
            f"{fn}(): Index is supposed to be a vector, but got dim: {idx.ndim} with type: "
            f"{index.dtype.scalar_name} and size: {list(index.shape)}"
        )
    return idx


def _dim_key(dim: int, idx: Any) -> tuple[Any, ...]:
    return (slice(None),) * dim + (backend.namespace(idx).reshape(idx, (-1,)),)


class IndexAdd(Op):
    """``self`` with ``alpha * source`` added at ``index`` along ``dim``.

    d/dself = g; d/dsource = alpha * g.index_select(dim, index).
    """

    node = "IndexAddBackward0"
    inputs = ("self", "source")
    attrs = ("dim", "alpha")

    @staticmethod
    def forward(ctx: Any, a: Any, src: Any, dim: int = 0, index: Any = None, alpha: Any = 1) -> Any:
        ctx.dim, ctx.alpha = dim, alpha
        ctx.source_shape = src.shape
        ctx.save_array("index", index)
        xp = backend.namespace(a)
        out = xp.asarray(a, copy=True)
        values = src if alpha == 1 else src * alpha
        if a.ndim == 0:
            return out + xp.sum(values)
        values = xp.reshape(values, (1,)) if src.ndim == 0 else values
        backend.scatter_add(out, _dim_key(dim, index), values)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        gs = None
        if ctx.needs_input_grad[1]:
            if g.ndim == 0:
                gs = S.reshape(g, ctx.source_shape)
            else:
                gs = S.IndexSelect.apply(g, dim=ctx.dim, index=ctx._unpack("index"))
                gs = S.reshape(gs, ctx.source_shape)
            if ctx.alpha != 1:
                gs = P.mul(gs, ctx.alpha)
        return g, gs


@register("index_add")
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """Return a copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``.

    Repeated indices accumulate (``IndexAddBackward0``).

    Raises:
        RuntimeError: ``index`` is not int32/int64, its length differs from
            ``source.size(dim)``, dtypes differ, or an index is out of bounds.
        IndexError: ``index`` has more than one dimension.
    """
    d = norm_dim(dim, input.ndim)
    idx = _index_vector("index_add_", input, d, index)
    n = idx.size
    have = source.shape[d] if source.ndim else 1
    if n != have:
        raise RuntimeError(
            f"index_add_(): Number of indices ({n}) should be equal to source.size(dim): "
            f"({have}), for dim: {d}"
        )
    if input.dtype != source.dtype:
        raise RuntimeError(
            f"index_add_(): self ({input.dtype.scalar_name}) and source "
            f"({source.dtype.scalar_name}) must have the same scalar type"
        )
    size = input.shape[d] if input.ndim else 1
    _check_bounds(idx, size, d, negative=False)
    return IndexAdd.apply(input, source, dim=d, index=_wrap(idx, size), alpha=alpha)


class IndexFill(Op):
    """``self`` with a number at ``index`` along ``dim``. d/dself = g with zeros there."""

    node = "IndexFillBackward0"
    attrs = ("dim", "value")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0, index: Any = None, value: Any = 0) -> Any:
        ctx.dim, ctx.value = dim, value
        ctx.save_array("index", index)
        out = backend.namespace(a).asarray(a, copy=True)
        backend.setitem(out, _dim_key(dim, index), value)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return IndexFill.apply(g, dim=ctx.dim, index=ctx._unpack("index"), value=0)


class IndexFillTensor(Op):
    """``self`` with a 0-d tensor at ``index``. d/dself = g zeroed there, d/dvalue = their sum."""

    node = "IndexFillBackward1"
    inputs = ("self", "value")
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, value: Any, dim: int = 0, index: Any = None) -> Any:
        ctx.dim = dim
        ctx.save_array("index", index)
        xp = backend.namespace(a)
        out = xp.asarray(a, copy=True)
        backend.setitem(out, _dim_key(dim, index), xp.astype(value, a.dtype))
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        index = ctx._unpack("index")
        gself = IndexFill.apply(g, dim=ctx.dim, index=index, value=0)
        gvalue = None
        if ctx.needs_input_grad[1]:
            gvalue = R.sum(S.IndexSelect.apply(g, dim=ctx.dim, index=index))
        return gself, gvalue


@register("index_fill")
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:  # noqa: A002
    """Return a copy of ``input`` with ``value`` at ``index`` along ``dim``.

    A number gives ``IndexFillBackward0``, a 0-d tensor ``IndexFillBackward1``.

    Raises:
        IndexError: ``index`` is not int64 or out of bounds.
        RuntimeError: ``value`` is a tensor with dimensions.
    """
    if not isinstance(index, Tensor) or index.dtype.name != "int64":
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    d = norm_dim(dim, input.ndim)
    size = input.shape[d]
    idx = index._data
    _check_bounds(idx, size, d, exc=IndexError)
    idx = _wrap(idx, size)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        return IndexFillTensor.apply(input, value, dim=d, index=idx)
    return IndexFill.apply(input, dim=d, index=idx, value=value)


class IndexCopy(Op):
    """``self`` with slices of ``source`` at ``index`` along ``dim``.

    d/dself = g with zeros at ``index``; d/dsource = g.index_select(dim, index).
    """

    node = "IndexCopyBackward0"
    inputs = ("self", "source")
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, src: Any, dim: int = 0, index: Any = None) -> Any:
        ctx.dim = dim
        ctx.save_array("index", index)
        out = backend.namespace(a).asarray(a, copy=True)
        backend.setitem(out, _dim_key(dim, index), src)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        index = ctx._unpack("index")
        gself = IndexFill.apply(g, dim=ctx.dim, index=index, value=0)
        gsrc = None
        if ctx.needs_input_grad[1]:
            gsrc = S.IndexSelect.apply(g, dim=ctx.dim, index=index)
        return gself, gsrc


@register("index_copy")
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:  # noqa: A002
    """Return a copy of ``input`` with ``source``'s slices written at ``index`` along ``dim``.

    Raises:
        RuntimeError: ``index`` is not int64, or dtypes differ.
        IndexError: the number of indices differs from ``source.size(dim)``, or an index
            is out of bounds.
    """
    if not isinstance(index, Tensor) or index.dtype.name != "int64":
        kind = index.dtype.scalar_name if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got {kind}")
    d = norm_dim(dim, input.ndim)
    idx = index._data
    have = source.shape[d] if source.ndim else 1
    if idx.size != have:
        raise IndexError(
            f"index_copy_(): Number of indices ({idx.size}) should be equal to source.size(dim) "
            f"({have})"
        )
    if input.dtype != source.dtype:
        raise RuntimeError(
            "index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{input.dtype.scalar_name} and (source) {source.dtype.scalar_name}"
        )
    size = input.shape[d]
    _check_bounds(idx, size, d, prefix="index_copy_(): ", exc=IndexError, negative=False)
    return IndexCopy.apply(input, source, dim=d, index=_wrap(idx, size))


# ---------------------------------------------------------------------------- scatter


def _src_part(xp: Any, src: Any, index: Any) -> Any:
    return backend.getitem(src, tuple(slice(0, s) for s in index.shape))


class Scatter(Op):
    """``self`` with ``src`` written at ``index`` along ``dim``.

    d/dself = g.scatter(dim, index, 0); d/dsrc = g.gather(dim, index) (zero beyond index).
    """

    node = "ScatterBackward0"
    inputs = ("self", "src")
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, src: Any, dim: int = 0, index: Any = None) -> Any:
        ctx.dim = dim
        ctx.src_shape = src.shape
        ctx.save_array("index", index)
        xp = backend.namespace(a)
        out = xp.asarray(a, copy=True)
        backend.setitem(out, S._along_axis_key(xp, index, dim), _src_part(xp, src, index))
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        index = ctx._unpack("index")
        gself = ScatterValue.apply(g, dim=ctx.dim, index=index, value=0)
        gsrc = None
        if ctx.needs_input_grad[1]:
            gsrc = _pad_to(S.Gather.apply(g, dim=ctx.dim, index=index), ctx.src_shape)
        return gself, gsrc


class ScatterValue(Op):
    """``self`` with a number at ``index`` along ``dim``. d/dself = g.scatter(dim, index, 0)."""

    node = "ScatterBackward1"
    attrs = ("dim", "value")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0, index: Any = None, value: Any = 0) -> Any:
        ctx.dim, ctx.value = dim, value
        ctx.save_array("index", index)
        xp = backend.namespace(a)
        out = xp.asarray(a, copy=True)
        backend.setitem(out, S._along_axis_key(xp, index, dim), value)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return ScatterValue.apply(g, dim=ctx.dim, index=ctx._unpack("index"), value=0)


def _dense_reduce(a: Any, src: Any, index: Any, dim: int, reduce: str, include_self: bool) -> Any:
    """Return ``a`` with ``src`` reduced into it at ``index`` along ``dim`` (a new array).

    Every index is compared with every position of ``dim`` (see the module docstring), so
    the kernel needs nothing beyond the array API (no ``ufunc.at`` for products/extremes).
    """
    xp = backend.namespace(a)
    src = _src_part(xp, src, index)
    n, m = a.shape[dim], index.ndim
    positions = xp.reshape(backend.arange(index, n), (1,) * dim + (n,) + (1,) * (m - dim))
    hit = xp.expand_dims(index, axis=dim) == positions  # index dims + the position axis
    values = xp.expand_dims(src, axis=dim)
    axis = dim + 1
    region = tuple(slice(None) if k == dim else slice(0, s) for k, s in enumerate(index.shape))
    own = backend.getitem(a, region)
    count = xp.sum(xp.astype(hit, a.dtype), axis=axis)
    zero = xp.zeros_like(values)
    if reduce in ("sum", "mean"):
        total = xp.sum(xp.where(hit, values, zero), axis=axis)
        if reduce == "sum":
            merged = own + total if include_self else xp.where(count > 0, total, own)
        else:
            if include_self:
                total, count = total + own, count + 1
            safe = xp.where(count > 0, count, xp.ones_like(count))
            mean = total / safe if is_floating(a.dtype) else xp.floor_divide(total, safe)
            merged = xp.where(count > 0, mean, own)
    elif reduce == "prod":
        total = xp.prod(xp.where(hit, values, xp.ones_like(values)), axis=axis)
        merged = own * total if include_self else xp.where(count > 0, total, own)
    else:
        if is_floating(a.dtype):
            lowest = -math.inf if reduce == "amax" else math.inf
        else:
            info = xp.iinfo(a.dtype)
            lowest = info.min if reduce == "amax" else info.max
        fill = xp.full_like(values, lowest)
        pick = xp.max if reduce == "amax" else xp.min
        best = pick(xp.where(hit, values, fill), axis=axis)
        both = xp.maximum if reduce == "amax" else xp.minimum
        merged = both(own, best) if include_self else best
        merged = xp.where(count > 0, merged, own)
    out = xp.asarray(a, copy=True)
    backend.setitem(out, region, xp.astype(merged, a.dtype))
    return out


class ScatterReduce(Op):
    """``self`` with ``src`` reduced in at ``index`` (sum, prod, mean, amax, amin).

    Gradients follow PyTorch's ``scatter_reduce_backward`` (ties of amax/amin share the
    gradient evenly; products divide out exact zeros).
    """

    node = "ScatterReduceBackward0"
    inputs = ("self", "src")
    saves = ("self", "src", "result")
    attrs = ("dim", "reduce", "include_self")

    @staticmethod
    def forward(
        ctx: Any,
        a: Any,
        src: Any,
        dim: int = 0,
        index: Any = None,
        reduce: str = "sum",
        include_self: bool = True,
    ) -> Any:
        ctx.dim, ctx.reduce, ctx.include_self = dim, reduce, include_self
        ctx.save_array("index", index)
        return _dense_reduce(a, src, index, dim, reduce, include_self)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        self_, src_full, result = ctx.saved_tensors
        index = ctx._unpack("index")
        dim, reduce, include_self = ctx.dim, ctx.reduce, ctx.include_self
        src = S.getitem(src_full, tuple(slice(0, s) for s in index.shape))
        idx_t = const(index)

        def gather(t: Tensor) -> Tensor:
            return S.Gather.apply(t, dim=dim, index=index)

        def scatter_add_(base: Tensor, values: Tensor) -> Tensor:
            return S.scatter_add(base, dim, idx_t, values)

        if reduce == "sum":
            gself, gsrc = g, gather(g)
        elif reduce == "prod":
            masked_self = P.masked_fill(self_, P.eq(self_, 0), 1)
            masked_self_result = ScatterReduce.apply(
                masked_self, src, dim=dim, index=index, reduce=reduce, include_self=include_self
            )
            gself = P.div(P.mul(g, masked_self_result), masked_self)
            src_zero = P.eq(src, 0)
            zeros = P.mul(self_.detach(), 0)
            src_num_zeros = gather(scatter_add_(zeros, src_zero.to(self_.dtype)))
            single = P.logical_and(src_zero, P.eq(src_num_zeros, 1))
            masked_src = P.masked_fill(src, single, 1)
            masked_src_result = ScatterReduce.apply(
                self_, masked_src, dim=dim, index=index, reduce=reduce, include_self=include_self
            )
            gsrc = P.where(
                single,
                gather(P.mul(g, masked_src_result)),
                P.div(gather(P.mul(g, result)), P.masked_fill(src, src_zero, 1)),
            )
        elif reduce == "mean":
            base = P.add(P.mul(g.detach(), 0), 1 if include_self else 0)
            counts = scatter_add_(base, P.add(P.mul(src.detach(), 0), 1))
            counts = P.masked_fill(counts, P.eq(counts, 0), 1)
            gself = P.div(g, counts)
            gsrc = P.div(gather(g), gather(counts))
        else:
            value = gather(result)
            self_is_result = P.eq(self_, result)
            src_is_result = P.eq(src, value)
            share = scatter_add_(self_is_result.to(g.dtype), src_is_result.to(g.dtype))
            spread = P.div(g, share)
            gself = P.mul(self_is_result.to(g.dtype), spread)
            gsrc = P.mul(src_is_result.to(g.dtype), gather(spread))
        if not include_self:
            gself = ScatterValue.apply(gself, dim=dim, index=index, value=0)
        return gself, _pad_to(gsrc, tuple(src_full.shape))


class _ScatterReduceNoGrad(Op):
    """``scatter(..., reduce=)``: PyTorch keeps a ``NotImplemented`` node whose backward raises."""

    node = "NotImplemented"
    inputs = ("self", "src")

    @staticmethod
    def forward(
        ctx: Any, a: Any, src: Any, dim: int = 0, index: Any = None, reduce: str = "sum"
    ) -> Any:
        return _dense_reduce(a, src, index, dim, reduce, True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        raise RuntimeError("derivative for aten::scatter is not implemented")


_SCATTER_REDUCE = {"add": "sum", "multiply": "prod"}


@register("scatter")
def scatter(
    input: Tensor,  # noqa: A002
    dim: int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """Return a copy of ``input`` with ``src`` (or the number ``value``) written at ``index``.

    Args:
        input: the tensor to write into (not changed).
        dim: the dimension ``index`` addresses.
        index: int64/int32 positions, one per written element (same number of dims).
        src: the tensor (or number) to write.
        value: the number to write, as a keyword (instead of ``src``).
        reduce: ``"add"`` or ``"multiply"``: combine instead of overwrite. As in PyTorch
            the result then has no gradient formula (its backward raises), and a tensor
            ``src`` warns that the argument is deprecated.

    Returns:
        ``ScatterBackward0`` (tensor ``src``) or ``ScatterBackward1`` (number).

    Raises:
        RuntimeError: a bad index (dtype, dimensions, sizes, bounds), mixed dtypes, or an
            unknown ``reduce``.
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing 1 required argument: 'src' (or 'value')")
    d = norm_dim(dim, input.ndim)
    idx = S._scatter_checks("scatter", input, d, index, src)
    if reduce is not None:
        if reduce not in _SCATTER_REDUCE:
            raise RuntimeError("reduce argument must be either add or multiply.")
        if isinstance(src, Tensor):
            warnings.warn(
                "The reduce argument of torch.scatter with Tensor src is deprecated and will be "
                "removed in a future PyTorch release. Use torch.scatter_reduce instead for more "
                "reduction options.",
                UserWarning,
                stacklevel=2,
            )
        else:
            src = const(backend.full(input._data, tuple(idx.shape), src))
        return _ScatterReduceNoGrad.apply(
            input, src, dim=d, index=idx, reduce=_SCATTER_REDUCE[reduce]
        )
    if isinstance(src, Tensor):
        return Scatter.apply(input, src, dim=d, index=idx)
    return ScatterValue.apply(input, dim=d, index=idx, value=src)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


@register("scatter_reduce")
def scatter_reduce(
    input: Tensor,  # noqa: A002
    dim: int,
    index: Tensor,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """Return ``input`` with ``src`` reduced in at ``index`` along ``dim``.

    Args:
        input: the tensor to reduce into (not changed).
        dim: the dimension ``index`` addresses.
        index: int64/int32 positions (same number of dims as ``input``).
        src: the values (same dtype as ``input``).
        reduce: ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``.
        include_self: whether ``input``'s own values take part in the reduction.

    Returns:
        ``ScatterReduceBackward0``; positions no index names keep ``input``'s value.

    Raises:
        RuntimeError: an unknown ``reduce``, a bad index, or mixed dtypes.
    """
    aliases = {"max": "amax", "min": "amin"}
    reduce = aliases.get(reduce, reduce)
    if reduce not in _REDUCTIONS:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    d = norm_dim(dim, input.ndim)
    idx = S._scatter_checks("scatter", input, d, index, src)
    return ScatterReduce.apply(
        input, src, dim=d, index=idx, reduce=reduce, include_self=bool(include_self)
    )


class MaskedScatter(Op):
    """``self`` with ``source``'s first elements where ``mask`` is True, in order.

    d/dself = g with zeros under the mask; d/dsource = g's masked elements, then zeros.
    """

    node = "MaskedScatterBackward0"
    inputs = ("self", "source")

    @staticmethod
    def forward(ctx: Any, a: Any, src: Any, mask: Any = None) -> Any:
        xp = backend.namespace(a)
        ctx.source_shape = src.shape
        ctx.save_array("mask", mask)
        out = xp.asarray(xp.broadcast_to(a, mask.shape), copy=True)
        n = int(xp.sum(xp.astype(mask, xp.int64)))
        flat = xp.reshape(src, (-1,))
        backend.setitem(out, mask, flat[:n])
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        mask = ctx._unpack("mask")
        gself = P.masked_fill(g, const(mask), 0)
        gsrc = None
        if ctx.needs_input_grad[1]:
            picked = S.MaskedSelect.apply(g, mask=mask)
            total = math.prod(ctx.source_shape)
            if picked.shape[0] < total:
                picked = S.pad(picked, (0, total - picked.shape[0]))
            gsrc = S.reshape(picked, ctx.source_shape)
        return gself, gsrc


@register("masked_scatter")
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` (broadcast with ``mask``) with ``source``'s values where ``mask`` is True.

    Raises:
        RuntimeError: ``mask`` is not bool, dtypes differ, or ``source`` has fewer elements
            than ``mask`` has True values.
    """
    if not isinstance(mask, Tensor) or not is_bool(mask._data.dtype):
        kind = mask.dtype.scalar_name if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(
            f"masked_scatter_ only supports boolean masks, but got mask with dtype {kind}"
        )
    if input.dtype != source.dtype:
        raise RuntimeError(
            "masked_scatter: expected self and source to have same dtypes but got"
            f"{input.dtype.scalar_name} and {source.dtype.scalar_name}"
        )
    shape = infer_size(tuple(input.shape), tuple(mask.shape))
    xp = backend.namespace(mask._data)
    m = xp.broadcast_to(mask._data, shape)
    if int(xp.sum(xp.astype(m, xp.int64))) > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return MaskedScatter.apply(input, source, mask=m)


# ---------------------------------------------------------------------------- in place


def _in_place(name: str, fn: Any) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._inplace(fn, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"Tensor.{name}"
    method.__doc__ = f"In-place :func:`{fn.__name__}`: write the result into this tensor."
    return method


def _masked_scatter_inplace(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    if isinstance(mask, Tensor) and tuple(mask.shape) != tuple(self.shape):
        S.expand(mask.detach(), tuple(self.shape))  # PyTorch's error when it cannot broadcast
    return masked_scatter(self, mask, source)


def _triangle_inplace(kind: str, fn: Any) -> Any:
    def run(self: Tensor, diagonal: int = 0) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"{kind}: input tensor must have at least 2 dimensions")
        return fn(self, diagonal)

    run.__name__ = kind
    return run


for _name, _fn in (
    ("index_add_", index_add),
    ("index_fill_", index_fill),
    ("index_copy_", index_copy),
    ("scatter_", scatter),
    ("scatter_add_", S.scatter_add),
    ("scatter_reduce_", scatter_reduce),
    ("masked_scatter_", _masked_scatter_inplace),
    ("triu_", _triangle_inplace("triu", S.triu)),
    ("tril_", _triangle_inplace("tril", S.tril)),
):
    register(_name, function=False)(_in_place(_name, _fn))
