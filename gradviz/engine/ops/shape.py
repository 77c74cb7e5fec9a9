"""Shape, view and indexing ops: view/reshape, permute, expand, cat, split, getitem, ...

Views (``view=True``) share their input's data and version counter, so in-place changes
through a view are seen by the checks that guard saved tensors, as in PyTorch.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

from gradviz.engine import backend
from gradviz.engine.dtypes import is_bool, is_floating, native
from gradviz.engine.function import infer_size
from gradviz.engine.grad_mode import _grad_enabled
from gradviz.engine.ops import pointwise as P  # noqa: N812 - short module aliases
from gradviz.engine.ops import reduction as R  # noqa: N812
from gradviz.engine.ops._base import Op, Tensor, const, norm_dim, norm_dims, register
from gradviz.engine.tensor import Size, contiguous_format

__all__ = [
    "broadcast_to",
    "cat",
    "chunk",
    "clone",
    "diagonal",
    "expand",
    "expand_as",
    "flatten",
    "flip",
    "gather",
    "getitem",
    "hstack",
    "index_put",
    "index_select",
    "masked_select",
    "pad",
    "permute",
    "repeat",
    "reshape",
    "reshape_as",
    "roll",
    "scatter_add",
    "scatter_into",
    "split",
    "squeeze",
    "stack",
    "t",
    "to_device",
    "to_dtype",
    "transpose",
    "tril",
    "triu",
    "unbind",
    "unflatten",
    "unsqueeze",
    "view",
    "view_as",
    "vstack",
]

# ---------------------------------------------------------------------------- helpers


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and not isinstance(shape[0], int):
        return tuple(operator.index(s) for s in shape[0])
    return tuple(operator.index(s) for s in shape)


def _infer(shape: tuple[int, ...], numel: int, src: tuple[int, ...]) -> tuple[int, ...]:
    """Return ``shape`` with its ``-1`` resolved for ``numel`` elements (ATen's infer_size)."""
    inferred = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if inferred is not None:
                raise RuntimeError("only one dimension can be inferred")
            inferred = i
        elif s >= 0:
            known *= s
        else:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
    if inferred is None:
        if known != numel:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return shape
    if numel == known == 0:
        raise RuntimeError(
            f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
            "unspecified dimension size -1 can be any value and is ambiguous"
        )
    if known == 0 or numel % known:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape[:inferred] + (numel // known,) + shape[inferred + 1 :]


# ---------------------------------------------------------------------------- views


class View(Op):
    node = "ViewBackward0"
    view = True
    attrs = ("self_sym_sizes",)

    @staticmethod
    def forward(ctx: Any, a: Any, shape: tuple[int, ...] = ()) -> Any:
        ctx.self_sym_sizes = a.shape
        return backend.namespace(a).reshape(a, shape)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return reshape(g, ctx.self_sym_sizes)


class UnsafeView(View):
    node = "UnsafeViewBackward0"
    view = False


class ReshapeAlias(View):
    """``reshape`` of a non-contiguous tensor whose strides allow a view. d = reshape(g)."""

    node = "ReshapeAliasBackward0"


class Alias(Op):
    node = "AliasBackward0"
    view = True

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return a[...]

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g


@register("view")
def view(input: Tensor, *shape: Any) -> Tensor:  # noqa: A002
    """Return a view of ``input`` with a new shape (one ``-1`` is inferred)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)):
        return input.to(shape[0])
    target = _infer(_shape_arg(shape), input.numel(), tuple(input.shape))
    if not backend.can_view(input._data, target):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return View.apply(input, shape=target)


@register("reshape")
def reshape(input: Tensor, *shape: Any) -> Tensor:  # noqa: A002
    """Return ``input`` with a new shape: a view when possible, else a copy."""
    target = _infer(_shape_arg(shape), input.numel(), tuple(input.shape))
    data = input._data
    if backend.is_contiguous(data):
        return View.apply(input, shape=target)
    # NOTE: PyTorch's reshape is a view when the strides allow (ReshapeAliasBackward0), else
    # a contiguous copy viewed (UnsafeViewBackward0 over CloneBackward0).
    if backend.can_view(data, target):
        return ReshapeAlias.apply(input, shape=target)
    return UnsafeView.apply(clone(input, memory_format=contiguous_format), shape=target)


def view_as(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` viewed with ``other``'s shape."""
    return view(input, tuple(other.shape))


def reshape_as(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` reshaped to ``other``'s shape."""
    return reshape(input, tuple(other.shape))


register("view_as", function=False)(view_as)
register("reshape_as", function=False)(reshape_as)


@register("flatten")
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:  # noqa: A002
    """Return ``input`` with dims ``start_dim..end_dim`` merged into one."""
    shape = tuple(input.shape)
    if not shape:
        norm_dim(start_dim, 0)  # PyTorch's IndexError for a dim other than 0 or -1
        norm_dim(end_dim, 0)
        return reshape(input, (1,))
    s = norm_dim(start_dim, len(shape))
    e = norm_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1 :])


@register("unflatten")
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:  # noqa: A002
    """Return ``input`` with dim ``dim`` split into ``sizes``."""
    shape = tuple(input.shape)
    d = norm_dim(dim, len(shape))
    sizes = tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        inner = _infer(sizes, shape[d], (shape[d],))
    except RuntimeError as error:
        if sizes.count(-1) > 1:
            raise
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
            f"({shape[d]}) in the input tensor"
        ) from error
    return view(input, shape[:d] + inner + shape[d + 1 :])


class Permute(Op):
    node = "PermuteBackward0"
    view = True
    attrs = ("dims",)

    @staticmethod
    def forward(ctx: Any, a: Any, dims: tuple[int, ...] = ()) -> Any:
        ctx.dims = dims
        return backend.namespace(a).permute_dims(a, dims)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return permute(g, tuple(inverse))


@register("permute")
def permute(input: Tensor, *dims: Any) -> Tensor:  # noqa: A002
    """Return a view of ``input`` with its dimensions reordered."""
    given = _shape_arg(dims)
    # NOTE: the count first, as PyTorch (a 0-d input has no dim to wrap the others into)
    order = tuple(norm_dim(d, input.ndim) for d in given) if len(given) == input.ndim else given
    if sorted(order) != list(range(input.ndim)):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {input.ndim} is "
            f"not equal to len(dims) = {len(order)}"
            if len(order) != input.ndim
            else "permute(): duplicate dims are not allowed."
        )
    return Permute.apply(input, dims=order)


class Transpose(Op):
    node = "TransposeBackward0"
    view = True
    attrs = ("dim0", "dim1")

    @staticmethod
    def forward(ctx: Any, a: Any, dim0: int = 0, dim1: int = 1) -> Any:
        ctx.dim0 = dim0
        ctx.dim1 = dim1
        order = list(range(a.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return backend.namespace(a).permute_dims(a, tuple(order))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return transpose(g, ctx.dim0, ctx.dim1)


@register("transpose", "swapaxes", "swapdims")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """Return a view of ``input`` with ``dim0`` and ``dim1`` swapped."""
    return Transpose.apply(input, dim0=norm_dim(dim0, input.ndim), dim1=norm_dim(dim1, input.ndim))


class T(Op):
    node = "TBackward0"
    view = True

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return backend.transposed(a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if not _grad_enabled[0]:
            # Plain backward: the transposed array alone, so that ``.grad`` can take over
            # its memory (nn.Linear's weight gradient) when nothing else holds it.
            return const(backend.transposed(g._data))
        return t(g)


@register("t")
def t(input: Tensor) -> Tensor:  # noqa: A002
    """Return the transpose of a tensor with at most 2 dimensions (``TBackward0``)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return T.apply(input)


class Unsqueeze(Op):
    node = "UnsqueezeBackward0"
    view = True
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        return backend.namespace(a).expand_dims(a, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return squeeze(g, ctx.dim)


@register("unsqueeze")
def unsqueeze(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    """Return a view of ``input`` with a size-1 dimension inserted at ``dim``."""
    return Unsqueeze.apply(input, dim=norm_dim(dim, input.ndim + 1))


class SqueezeAll(Op):
    node = "SqueezeBackward0"
    view = True

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        ctx.self_sym_sizes = a.shape
        axes = tuple(i for i, s in enumerate(a.shape) if s == 1)
        return backend.namespace(a).squeeze(a, axis=axes) if axes else a[...]

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return reshape(g, ctx.self_sym_sizes)


class SqueezeDim(Op):
    node = "SqueezeBackward1"
    view = True
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        ctx.self_sym_sizes = a.shape
        if not a.ndim or a.shape[dim] != 1:  # a 0-d input accepts dim 0/-1 and stays 0-d
            return a[...]
        return backend.namespace(a).squeeze(a, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return reshape(g, ctx.self_sym_sizes)


class SqueezeDims(SqueezeDim):
    node = "SqueezeBackward2"

    @staticmethod
    def forward(ctx: Any, a: Any, dim: tuple[int, ...] = ()) -> Any:  # type: ignore[override]
        ctx.dim = dim
        ctx.self_sym_sizes = a.shape
        axes = tuple(d for d in dim if a.ndim and a.shape[d] == 1)
        return backend.namespace(a).squeeze(a, axis=axes) if axes else a[...]


class SqueezeDimsInplace(SqueezeDims):
    """``squeeze_(dims)``, which ATen's matmul applies to its own result (1-D @ 2-D).

    d = reshape(g) back to the unsqueezed shape.
    """

    node = "SqueezeBackward4"


@register("squeeze")
def squeeze(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """Return a view of ``input`` without size-1 dimensions (all, or ``dim`` only)."""
    if dim is None:
        return SqueezeAll.apply(input)
    if isinstance(dim, int):
        return SqueezeDim.apply(input, dim=norm_dim(dim, input.ndim))
    return SqueezeDims.apply(input, dim=tuple(norm_dim(d, input.ndim) for d in dim))


class Expand(Op):
    node = "ExpandBackward0"
    view = True
    attrs = ("self_sym_sizes",)

    @staticmethod
    def forward(ctx: Any, a: Any, shape: tuple[int, ...] = ()) -> Any:
        ctx.self_sym_sizes = a.shape
        return backend.namespace(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return R.sum_to_size(g, ctx.self_sym_sizes)


@register("expand")
def expand(input: Tensor, *sizes: Any) -> Tensor:  # noqa: A002
    """Return a broadcast view of ``input`` with the given sizes (``-1`` keeps a size)."""
    want = _shape_arg(sizes)
    have = tuple(input.shape)
    if len(want) < len(have):
        raise RuntimeError(
            f"expand({input.type()}{{{list(have)}}}, size={list(want)}): the number of sizes "
            f"provided ({len(want)}) must be greater or equal to the number of dimensions in "
            f"the tensor ({len(have)})"
        )
    lead = len(want) - len(have)
    shape = tuple(have[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(want))
    for i, s in enumerate(have):
        if s != 1 and s != shape[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({shape[lead + i]}) must match the existing "
                f"size ({s}) at non-singleton dimension {lead + i}.  Target sizes: {list(want)}.  "
                f"Tensor sizes: {list(have)}"
            )
    if shape == have:
        return (
            input
            if input._grad_fn is None and not input._requires_grad
            else Expand.apply(input, shape=shape)
        )
    return Expand.apply(input, shape=shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` broadcast to ``other``'s shape."""
    if other.shape != input.shape:
        return expand(input, *other.shape)  # its checks give PyTorch's messages
    return Expand.apply(input, shape=tuple(other.shape))


register("expand_as", function=False)(expand_as)


@register("broadcast_to")
def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:  # noqa: A002
    """Return ``input`` broadcast to ``shape``."""
    return expand(input, tuple(shape))


class Repeat(Op):
    node = "RepeatBackward0"
    attrs = ("repeats",)

    @staticmethod
    def forward(ctx: Any, a: Any, repeats: tuple[int, ...] = ()) -> Any:
        ctx.repeats = repeats
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        lead = len(repeats) - a.ndim
        a = xp.reshape(a, (1,) * lead + a.shape)
        return xp.tile(a, repeats)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        src = (1,) * (len(ctx.repeats) - len(ctx.self_sym_sizes)) + tuple(ctx.self_sym_sizes)
        split: list[int] = []
        for r, s in zip(ctx.repeats, src, strict=False):
            split += [r, s]
        summed = R.sum(reshape(g, tuple(split)), dim=tuple(range(0, len(split), 2)))
        return reshape(summed, ctx.self_sym_sizes)


@register("repeat", function=False)
def repeat(input: Tensor, *repeats: Any) -> Tensor:  # noqa: A002
    """Return ``input`` tiled ``repeats`` times along each dimension."""
    reps = _shape_arg(repeats)
    if len(reps) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            "tensor"
        )
    return Repeat.apply(input, repeats=reps)


# ---------------------------------------------------------------------------- copies


class Clone(Op):
    node = "CloneBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, contiguous: bool = False) -> Any:
        return backend.copy(a, contiguous)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g


@register("clone")
def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:  # noqa: A002
    """Return a copy of ``input`` that stays in the graph (``CloneBackward0``).

    The copy keeps ``input``'s memory layout unless ``memory_format`` is
    ``gradviz.contiguous_format``, as in PyTorch.
    """
    if memory_format is contiguous_format:
        return Clone.apply(input, contiguous=True)
    return Clone.apply(input)


class ToCopy(Op):
    node = "ToCopyBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, dtype: Any = None, device: Any = None) -> Any:
        ctx.src_dtype = a.dtype
        ctx.src_device = backend.device_of(a)
        if device is not None:
            return backend.transfer(a, device)
        xp = backend.namespace(a)
        return xp.astype(a, native(xp, dtype))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if g.device != ctx.src_device:
            g = to_device(g, ctx.src_device)
        if g._data.dtype != ctx.src_dtype:
            from gradviz.engine.dtypes import from_numpy_dtype  # noqa: PLC0415 - cold path

            g = to_dtype(g, from_numpy_dtype(ctx.src_dtype))
        return g


def to_dtype(input: Tensor, dtype: Any) -> Tensor:  # noqa: A002
    """Return ``input`` converted to ``dtype`` (``ToCopyBackward0``)."""
    return ToCopy.apply(input, dtype=dtype)


def to_device(input: Tensor, device: Any) -> Tensor:  # noqa: A002
    """Return ``input`` copied to ``device`` (``ToCopyBackward0``)."""
    return ToCopy.apply(input, device=device)


# ---------------------------------------------------------------------------- join and split


class Cat(Op):
    node = "CatBackward0"
    promotes = True
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, *arrays: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        ctx.sizes = tuple(a.shape[dim] for a in arrays)
        return backend.namespace(arrays[0]).concat(arrays, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, ...]:
        return tuple(split(g, list(ctx.sizes), ctx.dim))


def _check_seq(name: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type(tensors).__name__}"
        )
    if not tensors:
        if name in ("cat", "concat", "concatenate"):
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return list(tensors)


@register("cat", "concat", "concatenate", method=False)
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Return the tensors joined along ``dim`` (``CatBackward0``)."""
    ts = _check_seq("cat", tensors)
    for i, x in enumerate(ts):
        if not x.ndim:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ref = ts[0]
    d = norm_dim(dim, ref.ndim)
    for i, x in enumerate(ts):
        if x.ndim != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {x.ndim}"
            )
        for k in range(ref.ndim):
            if k != d and x.shape[k] != ref.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[k]} but got size {x.shape[k]} for tensor number {i} in the list."
                )
    return Cat.apply(*ts, dim=d)


class Stack(Op):
    node = "StackBackward0"
    promotes = True
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, *arrays: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        return backend.namespace(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, ...]:
        return unbind(g, ctx.dim)


@register("stack", method=False)
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Return the tensors stacked along a new dimension ``dim``."""
    ts = _check_seq("stack", tensors)
    for i, x in enumerate(ts):
        if tuple(x.shape) != tuple(ts[0].shape):
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at "
                f"entry 0 and {list(x.shape)} at entry {i}"
            )
    return Stack.apply(*ts, dim=norm_dim(dim, ts[0].ndim + 1))


@register("hstack", method=False)
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack horizontally (along dim 1, or 0 for 1-D tensors)."""
    ts = [x if x.ndim else reshape(x, (1,)) for x in _check_seq("hstack", tensors)]  # atleast_1d
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


@register("vstack", method=False)
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack vertically (1-D tensors become rows)."""
    ts = [  # atleast_2d, as PyTorch: a 0-d tensor becomes 1x1, a 1-D one a row
        x if x.ndim > 1 else unsqueeze(x, 0) if x.ndim else reshape(x, (1, 1))
        for x in _check_seq("vstack", tensors)
    ]
    return cat(ts, 0)


class Split(Op):
    node = "SplitBackward0"
    view = True
    attrs = ("split_size", "dim")

    @staticmethod
    def forward(
        ctx: Any, a: Any, sizes: tuple[int, ...] = (), dim: int = 0, split_size: Any = None
    ) -> Any:
        ctx.split_size = split_size if split_size is not None else list(sizes)
        ctx.dim = dim
        out = []
        start = 0
        idx = [slice(None)] * a.ndim
        for s in sizes:
            idx[dim] = slice(start, start + s)
            out.append(backend.getitem(a, tuple(idx)))
            start += s
        return tuple(out)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        return cat(list(grads), ctx.dim)


class SplitWithSizes(Split):
    node = "SplitWithSizesBackward0"
    attrs = ("split_sizes", "dim")

    @staticmethod
    def forward(
        ctx: Any, a: Any, sizes: tuple[int, ...] = (), dim: int = 0, split_size: Any = None
    ) -> Any:
        ctx.split_sizes = list(sizes)
        return Split.forward(ctx, a, sizes=sizes, dim=dim, split_size=split_size)


class Unbind(Op):
    node = "UnbindBackward0"
    view = True
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        idx: list[Any] = [slice(None)] * a.ndim
        out = []
        for i in range(a.shape[dim]):
            idx[dim] = i
            out.append(backend.getitem(a, tuple(idx)))
        return tuple(out)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        return stack(list(grads), ctx.dim)


@register("split")
def split(input: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """Split ``input`` into chunks of a size, or into the listed sizes, along ``dim``."""
    if not input.ndim:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = norm_dim(dim, input.ndim)
    n = input.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and n:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        sizes = tuple(min(step, n - s) for s in range(0, n, step)) if n else (0,)
        return Split.apply(input, sizes=sizes, dim=d, split_size=step)
    sizes = tuple(split_size_or_sections)
    total = 0
    for s in sizes:
        total += s
    if total != n:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
            f"dimension {d}), but got split_sizes={list(sizes)}"
        )
    return SplitWithSizes.apply(input, sizes=sizes, dim=d)


@register("chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """Split ``input`` into ``chunks`` pieces of (almost) equal size along ``dim``."""
    if not input.ndim:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = norm_dim(dim, input.ndim)
    n = input.shape[d]
    if not n:  # ATen: an empty dim gives ``chunks`` empty pieces (split_with_sizes)
        return SplitWithSizes.apply(input, sizes=(0,) * chunks, dim=d)
    return split(input, -(-n // chunks), dim)


@register("unbind")
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """Return the slices of ``input`` along ``dim`` (``UnbindBackward0``)."""
    _refuse_0d_dim(input, dim)
    return Unbind.apply(input, dim=norm_dim(dim, input.ndim))


# ---------------------------------------------------------------------------- reorder


class Flip(Op):
    node = "FlipBackward0"
    attrs = ("dims",)

    @staticmethod
    def forward(ctx: Any, a: Any, dims: tuple[int, ...] = ()) -> Any:
        ctx.dims = dims
        xp = backend.namespace(a)
        # A copy, as PyTorch's flip makes (xp.flip returns a view of ``a``).
        return xp.asarray(xp.flip(a, axis=dims), copy=True)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return flip(g, ctx.dims)


@register("flip")
def flip(input: Tensor, dims: Any) -> Tensor:  # noqa: A002
    """Return ``input`` reversed along ``dims``."""
    return Flip.apply(input, dims=norm_dims(dims, input.ndim))


class Roll(Op):
    node = "RollBackward0"
    attrs = ("shifts", "dims")

    @staticmethod
    def forward(ctx: Any, a: Any, shifts: tuple[int, ...] = (), dims: Any = None) -> Any:
        ctx.shifts = shifts
        ctx.dims = dims
        return backend.namespace(a).roll(a, shifts, axis=dims)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Roll.apply(g, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


@register("roll")
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:  # noqa: A002
    """Return ``input`` rolled by ``shifts`` along ``dims`` (flattened when None)."""
    sh = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    ds = None if dims is None else ((dims,) if isinstance(dims, int) else tuple(dims))
    for d in ds or ():
        _refuse_0d_dim(input, d)
    return Roll.apply(input, shifts=sh, dims=ds)


class Tril(Op):
    node = "TrilBackward0"
    attrs = ("diagonal",)
    upper = False

    @classmethod
    def forward(cls, ctx: Any, a: Any, diagonal: int = 0) -> Any:  # type: ignore[override]
        ctx.diagonal = diagonal
        xp = backend.namespace(a)
        return xp.triu(a, k=diagonal) if cls.upper else xp.tril(a, k=diagonal)

    @classmethod
    def backward(cls, ctx: Any, g: Tensor) -> Any:  # type: ignore[override]
        return cls.apply(g, diagonal=ctx.diagonal)


class Triu(Tril):
    node = "TriuBackward0"
    upper = True


def _refuse_0d_dim(input: Tensor, dim: int) -> None:  # noqa: A002 - PyTorch's name
    """Raise PyTorch's IndexError for an op that needs a real dim of a 0-d tensor."""
    if not input.ndim:
        norm_dim(dim, 0)  # a dim other than 0/-1 is out of range first
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")


def _check_matrix(fn: str, input: Tensor) -> None:  # noqa: A002 - PyTorch's name
    if input.ndim < 2:
        raise RuntimeError(f"{fn}: input tensor must have at least 2 dimensions")


@register("tril")
def tril(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """Return the lower triangle of the last two dims (zeros above ``diagonal``)."""
    _check_matrix("tril", input)
    return Tril.apply(input, diagonal=diagonal)


@register("triu")
def triu(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """Return the upper triangle of the last two dims (zeros below ``diagonal``)."""
    _check_matrix("triu", input)
    return Triu.apply(input, diagonal=diagonal)


class Diagonal(Op):
    node = "DiagonalBackward0"
    attrs = ("offset", "dim1", "dim2")

    @staticmethod
    def forward(ctx: Any, a: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
        ctx.offset, ctx.dim1, ctx.dim2 = offset, dim1, dim2
        xp = backend.namespace(a)
        order = tuple(i for i in range(a.ndim) if i not in (dim1, dim2)) + (dim1, dim2)
        moved = xp.permute_dims(a, order)
        n1, n2 = a.shape[dim1], a.shape[dim2]
        lo = max(-offset, 0)
        n = max(min(n1 - lo, n2 - lo - offset), 0)
        rows = backend.arange(a, n, lo)
        key = (Ellipsis, rows, rows + offset)
        ctx.order = order
        ctx.moved_shape = moved.shape
        ctx.key = key  # NOTE: not read back from ctx: without a graph, ctx keeps nothing
        return backend.getitem(moved, key)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        full = _Unindex.apply(g, shape=ctx.moved_shape, key=ctx.key)
        inverse = [0] * len(ctx.order)
        for i, d in enumerate(ctx.order):
            inverse[d] = i
        return permute(full, tuple(inverse))


@register("diagonal")
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """Return the diagonal of ``input`` over ``dim1`` and ``dim2``, as a last dimension."""
    return Diagonal.apply(
        input, offset=offset, dim1=norm_dim(dim1, input.ndim), dim2=norm_dim(dim2, input.ndim)
    )


class ConstantPad(Op):
    node = "ConstantPadNdBackward0"
    attrs = ("pad", "value")

    @staticmethod
    def forward(ctx: Any, a: Any, pad: tuple[int, ...] = (), value: float = 0.0) -> Any:
        ctx.pad = pad
        ctx.value = value
        shape = list(a.shape)
        region = [slice(None)] * a.ndim
        for i in range(len(pad) // 2):
            d = a.ndim - 1 - i
            lo, hi = pad[2 * i], pad[2 * i + 1]
            shape[d] += lo + hi
            region[d] = slice(lo, lo + a.shape[d])
        out = backend.full(a, tuple(shape), value)
        backend.setitem(out, tuple(region), a)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        key: list[Any] = [slice(None)] * g.ndim
        for i in range(len(ctx.pad) // 2):
            d = g.ndim - 1 - i
            lo, hi = ctx.pad[2 * i], ctx.pad[2 * i + 1]
            key[d] = slice(lo, g.shape[d] - hi)
        return getitem(g, tuple(key))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Any = None) -> Tensor:  # noqa: A002
    """Pad the last dimensions of ``input``: ``pad`` = (left, right, top, bottom, ...)."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension"
        )
    if mode != "constant":
        raise NotImplementedError(
            f"pad mode '{mode}' is not supported; gradviz supports mode='constant'"
        )
    if any(p < 0 for p in pad):
        raise NotImplementedError("negative padding is not supported")
    return ConstantPad.apply(input, pad=tuple(pad), value=0.0 if value is None else value)


# ---------------------------------------------------------------------------- indexing


def _index_array(x: Any, like: Any) -> Any:
    if isinstance(x, Tensor):
        return x._data
    return backend.asarray(x, like)


def _is_advanced(k: Any) -> bool:
    return (
        isinstance(k, (Tensor, list))
        or (hasattr(k, "shape") and hasattr(k, "dtype"))
        or isinstance(k, bool)
    )


class Select(Op):
    node = "SelectBackward0"
    view = True
    attrs = ("dim", "index")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0, index: int = 0) -> Any:
        ctx.dim = dim
        ctx.index = index
        ctx.self_sym_sizes = a.shape
        key: list[Any] = [slice(None)] * dim + [index]
        return backend.getitem(a, tuple(key))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return _Unindex.apply(
            g, shape=ctx.self_sym_sizes, key=(slice(None),) * ctx.dim + (ctx.index,)
        )


class Slice(Op):
    node = "SliceBackward0"
    view = True
    attrs = ("dim", "start", "end", "step")

    @staticmethod
    def forward(
        ctx: Any, a: Any, dim: int = 0, start: Any = None, end: Any = None, step: Any = None
    ) -> Any:
        ctx.dim, ctx.start, ctx.end, ctx.step = dim, start, end, step
        ctx.self_sym_sizes = a.shape
        key: list[Any] = [slice(None)] * dim + [slice(start, end, step)]
        return backend.getitem(a, tuple(key))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        key = (slice(None),) * ctx.dim + (slice(ctx.start, ctx.end, ctx.step),)
        return _Unindex.apply(g, shape=ctx.self_sym_sizes, key=key)


class Index(Op):
    node = "IndexBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, key: tuple[Any, ...] = ()) -> Any:
        ctx.self_sym_sizes = a.shape
        ctx.save_array("indices", key)
        return backend.getitem(a, key)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return _Unindex.apply(
            g, shape=ctx.self_sym_sizes, key=ctx._unpack("indices"), accumulate=True
        )


class _Unindex(Op):
    """Scatter a gradient back into zeros of the indexed tensor's shape."""

    node = "IndexPutBackward0"
    attrs = ("shape",)

    @staticmethod
    def forward(
        ctx: Any, g: Any, shape: tuple[int, ...] = (), key: Any = (), accumulate: bool = False
    ) -> Any:
        ctx.shape = shape
        ctx.key = key
        out = backend.zeros(g, shape)
        if accumulate:
            backend.scatter_add(out, key, g)
        else:
            backend.setitem(out, key, g)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if g._requires_grad:
            return Index.apply(g, key=ctx.key)
        return const(backend.getitem(g._data, ctx.key))


def _normalize_key(key: Any, ndim: int) -> tuple[Any, ...]:
    key = key if isinstance(key, tuple) else (key,)
    used = sum(
        1
        for k in key
        if k is not None
        and k is not Ellipsis
        and not (isinstance(k, Tensor) and k.dtype.name == "bool" and False)
    )
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        fill = (slice(None),) * max(ndim - used, 0)
        key = key[:i] + fill + key[i + 1 :]
    return key


@register("__getitem__", function=False)
def getitem(input: Tensor, key: Any) -> Tensor:  # noqa: A002
    """Index ``input`` as PyTorch does: Select/Slice/Unsqueeze views, or ``IndexBackward0``."""
    raw = key if isinstance(key, tuple) else (key,)
    if any(_is_advanced(k) for k in raw):
        data = input._data
        arr_key = tuple(_index_array(k, data) if _is_advanced(k) else k for k in raw)
        _check_advanced(input, arr_key)
        return Index.apply(input, key=arr_key)
    # NOTE: PyTorch always records a bare slice (x[:] is SliceBackward0) but skips full
    # slices inside a tuple (x[:, :] is AliasBackward0).
    bare_slice = isinstance(key, slice)
    parts = _normalize_key(key, input.ndim)
    n_index = sum(1 for k in parts if k is not None)
    if n_index > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim}")
    out = input
    dim = 0
    changed = False
    for k in parts:
        if k is None:
            out = Unsqueeze.apply(out, dim=dim)
            dim += 1
            changed = True
        elif isinstance(k, slice):
            size = out.shape[dim]
            start, stop, step = k.indices(size)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            if bare_slice or (start, stop, step) != (0, size, 1):
                out = Slice.apply(out, dim=dim, start=start, end=max(stop, start), step=step)
                changed = True
            dim += 1
        else:
            i = operator.index(k)
            size = out.shape[dim]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
            out = Select.apply(out, dim=dim, index=i % size)
            changed = True
    if not changed:
        return Alias.apply(input)
    return out


def _out_of_bounds(idx: Any, size: int, *, negative: bool = True) -> int | None:
    """Return an entry of the index array ``idx`` outside ``[-size, size)``, or None.

    The highest entry when it is too large, else the lowest (PyTorch's messages name that
    one). With ``negative`` False the range is ``[0, size)``.
    """
    if not idx.size:
        return None
    xp = backend.namespace(idx)
    high, low = int(xp.max(idx)), int(xp.min(idx))
    if high >= size:
        return high
    if low < (-size if negative else 0):
        return low
    return None


def _check_advanced(input: Tensor, key: tuple[Any, ...]) -> None:  # noqa: A002
    dim = 0
    for k in key:
        if hasattr(k, "dtype") and is_bool(k.dtype):
            shape = tuple(input.shape[dim : dim + k.ndim])
            if tuple(k.shape) != shape:
                raise IndexError(
                    f"The shape of the mask {list(k.shape)} at index {dim} does not match the "
                    f"shape of the indexed tensor {list(input.shape)} at index {dim}"
                )
            dim += k.ndim
        elif hasattr(k, "dtype"):
            if is_floating(k.dtype):
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            size = input.shape[dim] if dim < input.ndim else 0
            bad = _out_of_bounds(k, size)
            if bad is not None:
                raise IndexError(
                    f"index {bad} is out of bounds for dimension {dim} with size {size}"
                )
            dim += 1
        elif k is not None and k is not Ellipsis:
            dim += 1


class CopySlices(Op):
    node = "CopySlices"
    inputs = ("self", "value")

    @staticmethod
    def forward(ctx: Any, a: Any, value: Any, key: Any = ()) -> Any:
        ctx.key = key
        xp = backend.namespace(a)
        out = xp.asarray(a, copy=True)
        v = value if hasattr(value, "shape") else backend.asarray(value, a, a.dtype)
        backend.setitem(out, key, v if v.dtype == a.dtype else xp.astype(v, a.dtype))
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        xp = backend.namespace(g._data)
        mask = backend.full(g._data, g._data.shape, True, xp.bool)
        backend.setitem(mask, ctx.key, False)
        gv = None
        if ctx.needs_input_grad[1]:
            if g._requires_grad:
                gv = Index.apply(g, key=ctx.key)
            else:
                gv = const(backend.getitem(g._data, ctx.key))
        return P.where(const(mask), g, 0.0), gv


class IndexPut(CopySlices):
    """``input[key] = value`` with an advanced index.

    d/dinput = g with zeros at ``key``; d/dvalue = g[key] (summed to value's shape).
    """

    node = "IndexPutBackward0"


def index_put(input: Tensor, key: Any, value: Any) -> Tensor:  # noqa: A002
    """Return a copy of ``input`` with ``input[key] = value``.

    The node is ``IndexPutBackward0`` for advanced indices and ``CopySlices`` otherwise,
    as for PyTorch's ``__setitem__``.
    """
    raw = key if isinstance(key, tuple) else (key,)
    data = input._data
    advanced = any(_is_advanced(k) for k in raw)
    arr_key = tuple(_index_array(k, data) if _is_advanced(k) else k for k in raw)
    if advanced:
        _check_advanced(input, arr_key)
    try:
        if advanced:
            return IndexPut.apply(input, value, key=arr_key)
        return CopySlices.apply(input, value, key=arr_key)
    except ValueError:
        _raise_setitem_mismatch(data, arr_key, value, advanced)
        raise


def _raise_setitem_mismatch(data: Any, key: Any, value: Any, advanced: bool) -> None:
    """Raise PyTorch's error for a value that does not fit where ``__setitem__`` puts it."""
    have = tuple(getattr(value, "shape", ()))
    region = tuple(backend.getitem(data, key).shape)
    if advanced:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(have)} cannot be broadcast to "
            f"indexing result of shape {list(region)}"
        ) from None
    if isinstance(value, Tensor):
        try:
            expand(value.detach(), region)
        except RuntimeError as mismatch:  # PyTorch's expand error: the value does not fit
            raise mismatch from None


class Gather(Op):
    node = "GatherBackward0"
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0, index: Any = None) -> Any:
        ctx.dim = dim
        ctx.self_sym_sizes = a.shape
        ctx.save_array("index", index)
        xp = backend.namespace(a)
        if a.ndim == 0 or index.ndim == 0:
            # A 0-d input or index counts as 1-D (ATen's ensure_nonempty_dim).
            flat = xp.reshape(a, (a.size,))
            return xp.reshape(xp.take(flat, xp.reshape(index, (index.size,))), index.shape)
        # NOTE: indexing, not take_along_axis: PyTorch's index may be smaller than the input
        # in the other dims (it picks from the leading part of each).
        return backend.getitem(a, _along_axis_key(xp, index, dim))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return _ScatterAddInto.apply(
            g, shape=ctx.self_sym_sizes, dim=ctx.dim, index=ctx._unpack("index")
        )


class _ScatterAddInto(Op):
    node = "ScatterAddBackward1"

    @staticmethod
    def forward(
        ctx: Any, g: Any, shape: tuple[int, ...] = (), dim: int = 0, index: Any = None
    ) -> Any:
        ctx.dim = dim
        ctx.save_array("index", index)
        xp = backend.namespace(g)
        if not shape or index.ndim == 0:  # 0-d operands count as 1-D, as in Gather
            out = backend.zeros(g, (math.prod(shape),))
            flat = (xp.reshape(index, (index.size,)),)
            backend.scatter_add(out, flat, xp.reshape(g, (g.size,)))
            return xp.reshape(out, shape)
        out = backend.zeros(g, shape)
        backend.scatter_add(out, _along_axis_key(xp, index, dim), g)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Gather.apply(g, dim=ctx.dim, index=ctx._unpack("index"))


def _along_axis_key(xp: Any, index: Any, dim: int) -> tuple[Any, ...]:
    key = []
    for d in range(index.ndim):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = index.shape[d]
            key.append(xp.reshape(backend.arange(index, index.shape[d]), tuple(shape)))
    return tuple(key)


def _long_index(fn: str, index: Any) -> Any:
    """Return the array of an int32/int64 index tensor, or raise PyTorch's error."""
    if not isinstance(index, Tensor) or index.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index")
    return index._data


def _check_index_bounds(idx: Any, size: int, dim: int) -> None:
    """Raise ATen's scatter/gather error for an entry of ``idx`` outside ``[0, size)``.

    It names the first such entry in C order, as ATen's kernel meets them.
    """
    if _out_of_bounds(idx, size, negative=False) is not None:
        bad = _first_out_of_bounds(idx, size)
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _first_out_of_bounds(idx: Any, size: int) -> int:
    """Return the first entry (C order) of the index array ``idx`` outside ``[0, size)``."""
    xp = backend.namespace(idx)
    flat = xp.reshape(idx, (idx.size,))
    outside = xp.astype((flat < 0) | (flat >= size), xp.int8)  # argmax refuses bool arrays
    return int(flat[int(xp.argmax(outside))])


def _scatter_checks(fn: str, input: Tensor, d: int, index: Any, src: Any) -> Any:  # noqa: A002
    """Check a scatter's index as ATen does; return its array, with as many dims as ``input``.

    A 0-d tensor counts as 1-D (ATen's ``ensure_nonempty_dim``) and an empty index skips
    the shape checks.
    """
    idx = _long_index(fn, index)
    if idx.size and max(idx.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if isinstance(src, Tensor):
        if src.dtype != input.dtype:
            raise RuntimeError(f"{fn}(): Expected self.dtype to be equal to src.dtype")
        if idx.size and max(src.ndim, 1) != max(idx.ndim, 1):
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    want, have = tuple(idx.shape) or (1,), tuple(input.shape) or (1,)
    source = tuple(src.shape) or (1,) if isinstance(src, Tensor) else None
    for k in range(len(want) if idx.size else 0):
        over_self = k != d and want[k] > have[k]
        if over_self or (source is not None and want[k] > source[k]):
            tail = "" if source is None else f" and to be no larger size than src {list(src.shape)}"
            raise RuntimeError(
                f"Expected index {list(idx.shape)} to be no larger than self "
                f"{list(input.shape)} apart from dimension {d}{tail}"
            )
    _check_index_bounds(idx, input.shape[d] if input.ndim else 1, d)
    xp = backend.namespace(idx)
    idx = xp.astype(idx, xp.int64)
    return idx if idx.ndim == input.ndim else xp.reshape(idx, (1,) * input.ndim)


@register("gather")
def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` values picked along ``dim`` by ``index`` (``GatherBackward0``).

    A 0-d input or index counts as 1-D, as in PyTorch.

    Raises:
        RuntimeError: a non-integer index, one with another number of dims than ``input``,
            larger than ``input`` in a dim other than ``dim``, or an entry outside
            ``[0, input.size(dim))`` (PyTorch's messages).
    """
    d = norm_dim(dim, input.ndim)
    data = _long_index("gather", index)
    if not data.size:
        return Gather.apply(input, dim=d, index=data)
    have, want = tuple(input.shape) or (1,), tuple(data.shape) or (1,)
    if len(want) != len(have):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    larger = [k for k in range(len(want)) if k != d and want[k] > have[k]]
    if larger:
        raise RuntimeError(
            f"Size does not match at dimension {larger[0]} expected index {list(data.shape)} "
            f"to be no larger than self {list(input.shape)} apart from dimension {d}"
        )
    _check_index_bounds(data, have[d], d)
    return Gather.apply(input, dim=d, index=data)


class ScatterAdd(Op):
    node = "ScatterAddBackward0"
    inputs = ("self", "src")
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, src: Any, dim: int = 0, index: Any = None) -> Any:
        ctx.dim = dim
        ctx.save_array("index", index)
        xp = backend.namespace(a)
        out = xp.asarray(a, copy=True)
        sub = tuple(slice(0, s) for s in index.shape)
        backend.scatter_add(out, _along_axis_key(xp, index, dim), backend.getitem(src, sub))
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        gs = None
        if ctx.needs_input_grad[1]:
            gs = Gather.apply(g, dim=ctx.dim, index=ctx._unpack("index"))
        return g, gs


@register("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:  # noqa: A002
    """Return a copy of ``input`` with ``src`` added at ``index`` along ``dim``.

    Raises:
        RuntimeError: a bad index (dtype, dimensions, sizes, bounds) or mixed dtypes, with
            PyTorch's messages.
    """
    d = norm_dim(dim, input.ndim)
    idx = _scatter_checks("scatter", input, d, index, src)
    return ScatterAdd.apply(input, src, dim=d, index=idx)


class IndexSelect(Op):
    node = "IndexSelectBackward0"
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0, index: Any = None) -> Any:
        ctx.dim = dim
        ctx.self_sym_sizes = a.shape
        ctx.save_array("index", index)
        xp = backend.namespace(a)
        if a.ndim == 0:  # one index, 0 (checked): the value itself, as ATen's result
            return xp.asarray(a, copy=True)
        return xp.take(a, index, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if not ctx.self_sym_sizes:
            return g
        key = (slice(None),) * ctx.dim + (ctx._unpack("index"),)
        return _Unindex.apply(g, shape=ctx.self_sym_sizes, key=key, accumulate=True)


@register("index_select")
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    """Return the slices of ``input`` along ``dim`` listed by ``index``.

    Raises:
        IndexError: ``index`` has more than one dim, or an entry outside ``[0, size)`` where
            ATen's general loop checks it ('index out of range in self').
        RuntimeError: a 0-d input with other than one index, a non-integer index, an empty
            ``dim``, or an entry outside ``[0, size)`` where ATen's dim-1 or empty-input path
            checks it ('INDICES element is out of DATA bounds').
    """
    d = norm_dim(dim, input.ndim)
    idx = (
        index._data if isinstance(index, Tensor) else backend.namespace(input._data).asarray(index)
    )
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if input.ndim == 0 and idx.size != 1:
        raise RuntimeError(
            f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
        )
    if not isinstance(index, Tensor) or index.dtype.name not in ("int64", "int32"):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    idx = backend.namespace(idx).reshape(idx, (idx.size,))
    size = input.shape[d] if input.ndim else 1
    if input.ndim > 1 and idx.size and input.numel() == 0 and not size:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    bad = _out_of_bounds(idx, size, negative=False)
    if bad is not None:
        # NOTE: ATen's paths word it differently: dim 1 or an empty input, else the loop's.
        if input.ndim > 1 and (d == 1 or input.numel() == 0):
            first = _first_out_of_bounds(idx, size)
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={first} axis_dim={size}")
        raise IndexError("index out of range in self")
    return IndexSelect.apply(input, dim=d, index=idx)


class MaskedSelect(Op):
    node = "MaskedSelectBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, mask: Any = None, shape: Any = None) -> Any:
        # NOTE: ``shape`` (set when the mask is larger) broadcasts the input too, as ATen's
        # expand_outplace; the engine sums the gradient back to the input's shape.
        xp = backend.namespace(a)
        if shape is not None:
            a = xp.broadcast_to(a, shape)
        mask = xp.broadcast_to(mask, a.shape)
        ctx.self_sym_sizes = a.shape
        ctx.save_array("mask", mask)
        return backend.getitem(a, mask)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return _Unindex.apply(g, shape=ctx.self_sym_sizes, key=ctx._unpack("mask"))


@register("masked_select")
def masked_select(input: Tensor, mask: Tensor) -> Tensor:  # noqa: A002
    """Return the elements of ``input`` where ``mask`` is True, as a 1-D tensor.

    ``input`` and ``mask`` broadcast together, as in PyTorch.

    Raises:
        RuntimeError: their shapes do not broadcast (PyTorch's size-mismatch message).
    """
    if mask.shape == input.shape:
        return MaskedSelect.apply(input, mask=mask._data)
    shape = infer_size(tuple(mask.shape), tuple(input.shape))
    if shape == tuple(input.shape):
        return MaskedSelect.apply(input, mask=mask._data)
    return MaskedSelect.apply(input, mask=mask._data, shape=shape)


def scatter_into(g: Tensor, shape: tuple[int, ...], dim: int, idx: Any) -> Tensor:
    """Return zeros of ``shape`` holding ``g`` (keepdim-shaped) at ``idx`` along ``dim``."""
    xp = backend.namespace(idx)
    n = shape[dim]
    pos = [1] * len(shape)
    pos[dim] = n
    hit = xp.reshape(backend.arange(idx, n), tuple(pos)) == idx
    return P.where(const(hit), g, 0.0)
