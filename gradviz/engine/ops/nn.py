"""Neural-network ops: convolution, pooling, normalisation, embedding, losses and padding.

Each op is declared once, here: its kernel (array namespace ``xp`` only, so it runs on
NumPy, CuPy and the strict stand-in device), its backward written with Tensor ops (so
``create_graph=True`` works) and PyTorch's node name. Linear maps come in adjoint pairs
whose backwards are each other: :class:`Im2Col`/:class:`Col2Im` (the sliding windows of
an N-d input, used by convolution and max pooling) and the separable window maps of
average pooling and reflection/replication padding with their ``...BackwardBackward0``
adjoints (PyTorch's names for the nodes of a double backward).

Preconditions: the functions here trust their arguments. ``gradviz.nn.functional``
checks shapes, dtypes and values, and raises PyTorch's errors, before calling them.
Reductions are PyTorch's enum: 0 ``none``, 1 ``mean``, 2 ``sum``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

from gradviz.engine import backend
from gradviz.engine.grad_mode import _grad_enabled
from gradviz.engine.ops import linalg as L  # noqa: N812
from gradviz.engine.ops import pointwise as P  # noqa: N812
from gradviz.engine.ops import reduction as R  # noqa: N812
from gradviz.engine.ops import shape as S  # noqa: N812
from gradviz.engine.ops._base import Op, Tensor, const, register

__all__ = [
    "REDUCTIONS",
    "conv_output_size",
    "pool_output_size",
    "convolution",
    "max_pool2d_with_indices",
    "avg_pool2d",
    "adaptive_bounds",
    "adaptive_avg_pool2d",
    "index_pad",
    "native_layer_norm",
    "native_batch_norm",
    "embedding",
    "embedding_renorm_",
    "nll_loss",
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "smooth_l1_loss",
    "huber_loss",
    "trilinear",
    "hardtanh",
    "leaky_relu_",
    "xlogy",
    "clamp_min",
]

REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}
_EPSILON = 1e-12  # PyTorch's floor for x * (1 - x) in binary_cross_entropy's gradient

# ---------------------------------------------------------------------------- array helpers


def _creation_kw(like: Any) -> dict[str, Any]:
    """Keyword arguments that put a new array on ``like``'s device.

    NumPy 2 and array-api-strict take ``device=``; CuPy allocates on the current device.
    """
    if type(like).__module__.partition(".")[0] == "cupy":
        return {}
    return {"device": like.device}


def _zeros(xp: Any, shape: tuple[int, ...], dtype: Any, like: Any) -> Any:
    return xp.zeros(shape, dtype=dtype, **_creation_kw(like))


def _full(xp: Any, shape: tuple[int, ...], value: Any, dtype: Any, like: Any) -> Any:
    return xp.full(shape, value, dtype=dtype, **_creation_kw(like))


def _ints(xp: Any, values: Any, like: Any) -> Any:
    return xp.asarray(values, dtype=xp.int64, **_creation_kw(like))


def _floats(xp: Any, values: Any, dtype: Any, like: Any) -> Any:
    return xp.asarray(values, dtype=dtype, **_creation_kw(like))


def _lowest(xp: Any, dtype: Any) -> Any:
    """The padding value that never wins a max: -inf, or the smallest integer."""
    if xp.isdtype(dtype, "real floating"):
        return -math.inf
    return xp.iinfo(dtype).min


def _reduce(xp: Any, loss: Any, reduction: int) -> Any:
    if reduction == 1:
        return R.mean_kernel(loss, None, False)  # NaN for an empty batch, without a warning
    if reduction == 2:
        return xp.sum(loss)
    return loss


def _per_element(g: Tensor, shape: tuple[int, ...], reduction: int) -> Tensor:
    """The gradient reaching each element of an elementwise loss before its reduction."""
    if reduction == 1:
        return g / max(math.prod(shape), 1)
    return g


def _clamped_log(xp: Any, x: Any) -> Any:
    """``max(log(x), -100)`` without evaluating ``log(0)`` (PyTorch's BCE clamp)."""
    positive = x > 0
    safe = xp.where(positive, x, xp.ones_like(x))
    floor = xp.full_like(x, -100.0)
    return xp.where(positive, xp.maximum(xp.log(safe), floor), floor)


def _safe_div(xp: Any, a: Any, b: Any) -> Any:
    """``a / b`` that gives NaN for ``b == 0`` without a floating-point warning."""
    zero = b == 0
    quotient = a / xp.where(zero, xp.ones_like(b), b)
    return xp.where(zero, xp.full_like(quotient, math.nan), quotient)


# ---------------------------------------------------------------------------- sliding windows


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Return the length of a convolution's output along one dimension."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """Return the length of a pooling output along one dimension, as PyTorch computes it."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _extent(
    size: int, pad: tuple[int, int], kernel: int, dilation: int, stride: int, out: int
) -> int:
    """Length of the padded buffer: the input with its padding, or more if windows reach out."""
    return max(pad[0] + size + pad[1], (kernel - 1) * dilation + stride * (out - 1) + 1)


def _window_key(
    offsets: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    out: tuple[int, ...],
) -> tuple[slice, ...]:
    parts = tuple(
        slice(o * d, o * d + s * (n - 1) + 1, s)
        for o, d, s, n in zip(offsets, dilation, stride, out, strict=True)
    )
    return (slice(None), slice(None)) + parts


def _patches(
    xp: Any,
    x: Any,
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    stride: tuple[int, ...],
    out: tuple[int, ...],
    fill: Any = 0,
) -> Any:
    """Return the ``(N, C, K, *out)`` window elements of an ``(N, C, *spatial)`` array.

    ``K`` runs over the kernel offsets in row-major order; positions outside the input
    hold ``fill``. Built from strided slices and ``stack`` (the Array API has no
    ``as_strided``).
    """
    spatial = tuple(x.shape[2:])
    extent = tuple(
        _extent(s, p, k, d, st, n)
        for s, p, k, d, st, n in zip(spatial, padding, kernel, dilation, stride, out, strict=True)
    )
    if extent != spatial or any(p[0] for p in padding):
        buf = _full(xp, tuple(x.shape[:2]) + extent, fill, x.dtype, x)
        region = (slice(None), slice(None)) + tuple(
            slice(p[0], p[0] + s) for p, s in zip(padding, spatial, strict=True)
        )
        buf[region] = x
        x = buf
    parts = [
        x[_window_key(offsets, dilation, stride, out)]
        for offsets in itertools.product(*(range(k) for k in kernel))
    ]
    return xp.stack(parts, axis=2)


def _unpatch(
    xp: Any,
    cols: Any,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    stride: tuple[int, ...],
    out: tuple[int, ...],
) -> Any:
    """Adjoint of :func:`_patches`: sum ``(N, C, K, *out)`` windows into ``(N, C, *spatial)``."""
    extent = tuple(
        _extent(s, p, k, d, st, n)
        for s, p, k, d, st, n in zip(spatial, padding, kernel, dilation, stride, out, strict=True)
    )
    buf = _zeros(xp, tuple(cols.shape[:2]) + extent, cols.dtype, cols)
    for i, offsets in enumerate(itertools.product(*(range(k) for k in kernel))):
        key = _window_key(offsets, dilation, stride, out)
        buf[key] = buf[key] + cols[:, :, i, ...]
    region = (slice(None), slice(None)) + tuple(
        slice(p[0], p[0] + s) for p, s in zip(padding, spatial, strict=True)
    )
    return xp.asarray(buf[region], copy=True)


class Im2Col(Op):
    """Sliding windows of ``(N, C, *spatial)`` as ``(N, C*K, L)`` columns (``F.unfold``).

    Linear in its input; the gradient is the :class:`Col2Im` of the incoming gradient.
    """

    node = "Im2ColBackward0"
    attrs = ("kernel_size", "dilation", "padding", "stride")

    @staticmethod
    def forward(
        ctx: Any,
        x: Any,
        kernel_size: tuple[int, ...] = (),
        dilation: tuple[int, ...] = (),
        padding: tuple[tuple[int, int], ...] = (),
        stride: tuple[int, ...] = (),
        output: tuple[int, ...] = (),
    ) -> Any:
        ctx.kernel_size, ctx.dilation, ctx.padding, ctx.stride = (
            kernel_size,
            dilation,
            padding,
            stride,
        )
        ctx.output = output
        ctx.self_sym_sizes = tuple(x.shape)
        xp = backend.namespace(x)
        cols = _patches(xp, x, kernel_size, dilation, padding, stride, output)
        return xp.reshape(
            cols, (x.shape[0], x.shape[1] * math.prod(kernel_size), math.prod(output))
        )

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Col2Im.apply(
            g,
            output_size=ctx.self_sym_sizes[2:],
            kernel_size=ctx.kernel_size,
            dilation=ctx.dilation,
            padding=ctx.padding,
            stride=ctx.stride,
            output=ctx.output,
        )


class Col2Im(Op):
    """Sum ``(N, C*K, L)`` window columns back into ``(N, C, *output_size)`` (``F.fold``).

    The adjoint of :class:`Im2Col`; its gradient is the Im2Col of the incoming gradient.
    """

    node = "Col2ImBackward0"
    attrs = ("output_size", "kernel_size", "dilation", "padding", "stride")

    @staticmethod
    def forward(
        ctx: Any,
        cols: Any,
        output_size: tuple[int, ...] = (),
        kernel_size: tuple[int, ...] = (),
        dilation: tuple[int, ...] = (),
        padding: tuple[tuple[int, int], ...] = (),
        stride: tuple[int, ...] = (),
        output: tuple[int, ...] = (),
    ) -> Any:
        ctx.output_size, ctx.kernel_size, ctx.dilation = output_size, kernel_size, dilation
        ctx.padding, ctx.stride, ctx.output = padding, stride, output
        xp = backend.namespace(cols)
        k = math.prod(kernel_size)
        windows = xp.reshape(cols, (cols.shape[0], cols.shape[1] // k, k) + tuple(output))
        return _unpatch(
            xp, windows, tuple(output_size), kernel_size, dilation, padding, stride, output
        )

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return Im2Col.apply(
            g,
            kernel_size=ctx.kernel_size,
            dilation=ctx.dilation,
            padding=ctx.padding,
            stride=ctx.stride,
            output=ctx.output,
        )


# ---------------------------------------------------------------------------- convolution


class Convolution(Op):
    """N-d convolution (cross-correlation) with stride, padding, dilation and groups.

    Forward: im2col, then one batched matmul per group. d/dinput = col2im(Wᵀ g),
    d/dweight = sum over the batch of g · im2col(input)ᵀ, d/dbias = g summed over
    batch and space.
    """

    node = "ConvolutionBackward0"
    inputs = ("input", "weight", "bias")
    saves = ("input", "weight")
    attrs = (
        "bias_sym_sizes_opt",
        "stride",
        "padding",
        "dilation",
        "transposed",
        "output_padding",
        "groups",
    )

    @staticmethod
    def forward(
        ctx: Any,
        x: Any,
        w: Any,
        b: Any,
        stride: tuple[int, ...] = (),
        padding: tuple[int, ...] = (),
        dilation: tuple[int, ...] = (),
        groups: int = 1,
    ) -> Any:
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        ctx.transposed = False
        ctx.output_padding = (0,) * len(stride)
        ctx.bias_sym_sizes_opt = None if b is None else tuple(b.shape)
        xp = backend.namespace(x)
        n, c = x.shape[0], x.shape[1]
        o = w.shape[0]
        kernel = tuple(w.shape[2:])
        out = tuple(
            conv_output_size(s, k, st, p, d)
            for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation, strict=True)
        )
        pairs = tuple((p, p) for p in padding)
        cols = _patches(xp, x, kernel, dilation, pairs, stride, out)
        per_group = (c // groups) * math.prod(kernel)
        cols = xp.reshape(cols, (n, groups, per_group, math.prod(out)))
        wr = xp.reshape(w, (1, groups, o // groups, per_group))
        y = xp.reshape(xp.matmul(wr, cols), (n, o) + out)
        if b is not None:
            y = y + xp.reshape(b, (1, o) + (1,) * len(out))
        return y

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        n, c = x.shape[0], x.shape[1]
        o, groups = w.shape[0], ctx.groups
        kernel = tuple(w.shape[2:])
        out = tuple(g.shape[2:])
        per_group = (c // groups) * math.prod(kernel)
        geometry = {
            "kernel_size": kernel,
            "dilation": ctx.dilation,
            "padding": tuple((p, p) for p in ctx.padding),
            "stride": ctx.stride,
            "output": out,
        }
        g4 = S.reshape(g, (n, groups, o // groups, math.prod(out)))
        gx = gw = gb = None
        if need[0]:
            wt = S.transpose(S.reshape(w, (groups, o // groups, per_group)), 1, 2)
            cols = S.reshape(L.matmul(wt, g4), (n, c * math.prod(kernel), math.prod(out)))
            gx = Col2Im.apply(cols, output_size=tuple(x.shape[2:]), **geometry)
        if need[1]:
            cols = S.reshape(Im2Col.apply(x, **geometry), (n, groups, per_group, math.prod(out)))
            gw = S.reshape(R.sum(L.matmul(g4, S.transpose(cols, 2, 3)), 0), tuple(w.shape))
        if need[2]:
            gb = R.sum(g, (0,) + tuple(range(2, g.ndim)))
        return gx, gw, gb


def convolution(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
) -> Tensor:
    """Return the batched N-d convolution of ``input`` (``ConvolutionBackward0``)."""
    return Convolution.apply(
        input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups
    )


# ---------------------------------------------------------------------------- max pooling


def _flat_positions(
    xp: Any,
    like: Any,
    spatial: tuple[int, int],
    kernel_size: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    stride: tuple[int, ...],
    output: tuple[int, ...],
) -> Any:
    """Return ``(K, *output)``: the flat input index each window element reads (-1 in padding)."""
    flat = xp.reshape(
        xp.arange(math.prod(spatial), dtype=xp.int64, **_creation_kw(like)), (1, 1) + spatial
    )
    pos = _patches(xp, flat, kernel_size, dilation, padding, stride, output, fill=-1)
    return xp.reshape(pos, (math.prod(kernel_size),) + tuple(output))


class MaxPool2DWithIndices(Op):
    """2-D max pooling returning values and flat input indices (as ``max_pool2d_with_indices``).

    d/dinput routes each output's gradient to the input element it took, summing where
    windows overlap.
    """

    node = "MaxPool2DWithIndicesBackward0"
    saves = ("self", "result1")
    attrs = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    non_differentiable_outputs = (1,)

    @staticmethod
    def forward(
        ctx: Any,
        x: Any,
        kernel_size: tuple[int, ...] = (),
        stride: tuple[int, ...] = (),
        padding: tuple[int, ...] = (),
        dilation: tuple[int, ...] = (),
        ceil_mode: bool = False,
        output: tuple[int, ...] = (),
    ) -> Any:
        ctx.kernel_size, ctx.stride, ctx.padding = kernel_size, stride, padding
        ctx.dilation, ctx.ceil_mode, ctx.output = dilation, ceil_mode, output
        xp = backend.namespace(x)
        batched = x.ndim == 4
        x4 = x if batched else xp.expand_dims(x, axis=0)
        pairs = tuple((p, p) for p in padding)
        cols = _patches(
            xp, x4, kernel_size, dilation, pairs, stride, output, fill=_lowest(xp, x.dtype)
        )
        arg = xp.argmax(cols, axis=2, keepdims=True)
        values = xp.take_along_axis(cols, arg, axis=2)[:, :, 0, ...]
        pos = _flat_positions(
            xp, x, tuple(x4.shape[2:]), kernel_size, dilation, pairs, stride, output
        )
        pos = xp.broadcast_to(xp.reshape(pos, (1, 1) + tuple(pos.shape)), tuple(cols.shape))
        indices = xp.take_along_axis(pos, arg, axis=2)[:, :, 0, ...]
        if not batched:
            values, indices = values[0, ...], indices[0, ...]
        return values, indices

    @staticmethod
    def backward(ctx: Any, g: Tensor, _indices_grad: Any = None) -> Any:
        x, indices = ctx.saved_tensors
        idx = indices._data
        xp = backend.namespace(idx)
        batched = x.ndim == 4
        g4 = g if batched else S.unsqueeze(g, 0)
        idx4 = idx if batched else xp.expand_dims(idx, axis=0)
        spatial = (x.shape[-2], x.shape[-1])
        pairs = tuple((p, p) for p in ctx.padding)
        geometry = {
            "kernel_size": ctx.kernel_size,
            "dilation": ctx.dilation,
            "padding": pairs,
            "stride": ctx.stride,
            "output": ctx.output,
        }
        pos = _flat_positions(xp, idx, spatial, **geometry)
        hit = xp.reshape(pos, (1, 1) + tuple(pos.shape)) == xp.expand_dims(idx4, axis=2)
        cols = P.where(const(hit), S.unsqueeze(g4, 2), 0.0)
        n, c = idx4.shape[0], idx4.shape[1]
        k, length = math.prod(ctx.kernel_size), math.prod(ctx.output)
        gx = Col2Im.apply(S.reshape(cols, (n, c * k, length)), output_size=spatial, **geometry)
        return gx if batched else S.squeeze(gx, 0)


def max_pool2d_with_indices(
    input: Tensor,  # noqa: A002
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    ceil_mode: bool,
) -> tuple[Tensor, Tensor]:
    """Return ``(values, indices)`` of 2-D max pooling (``MaxPool2DWithIndicesBackward0``)."""
    output = tuple(
        pool_output_size(s, k, st, p, d, ceil_mode)
        for s, k, st, p, d in zip(
            input.shape[-2:], kernel_size, stride, padding, dilation, strict=True
        )
    )
    return MaxPool2DWithIndices.apply(
        input,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        output=output,
    )


# ---------------------------------------------------------------------------- separable window maps


def _axis_map(xp: Any, x: Any, axis: int, index: Any, weight: Any) -> Any:
    """Return ``y[.., i, ..] = sum_k weight[k, i] * x[.., index[k, i], ..]`` along ``axis``.

    A zero weight skips its element instead of multiplying it, so an inf or NaN stays in
    the outputs whose windows hold it.
    """
    out = None
    shape = [1] * x.ndim
    for k in range(index.shape[0]):
        taken = xp.take(x, index[k, ...], axis=axis)
        if weight is not None:
            shape[axis] = weight.shape[1]
            w = xp.reshape(weight[k, ...], tuple(shape))
            taken = xp.where(w != 0, taken, xp.zeros_like(taken)) * w
        out = taken if out is None else out + taken
    return out


def _axis_map_adjoint(xp: Any, g: Any, axis: int, index: Any, weight: Any, size: int) -> Any:
    """Adjoint of :func:`_axis_map`: scatter-add ``g`` back to length ``size`` along ``axis``."""
    shape = tuple(g.shape)
    out = _zeros(xp, shape[:axis] + (size,) + shape[axis + 1 :], g.dtype, g)
    bshape = [1] * g.ndim
    for k in range(index.shape[0]):
        part = g
        if weight is not None:
            bshape[axis] = weight.shape[1]
            w = xp.reshape(weight[k, ...], tuple(bshape))
            part = xp.where(w != 0, g, xp.zeros_like(g)) * w
        backend.scatter_add(out, (slice(None),) * axis + (index[k, ...],), part)
    return out


class _WindowMap(Op):
    """Base of separable linear window maps ``y = A x`` (pooling, padding); grad ``Aᵀ g``.

    ``maps`` holds ``(axis, index, weight, input_length)`` per mapped axis (see
    :func:`_axis_map`).
    """

    adjoint: ClassVar[type[Op]]

    @classmethod
    def forward(cls, ctx: Any, x: Any, maps: tuple[Any, ...] = (), **attrs: Any) -> Any:  # type: ignore[override]
        for name, value in attrs.items():
            setattr(ctx, name, value)
        ctx.maps = maps
        xp = backend.namespace(x)
        for axis, index, weight, _size in maps:
            x = _axis_map(xp, x, axis, index, weight)
        return x

    @classmethod
    def backward(cls, ctx: Any, g: Tensor) -> Any:  # type: ignore[override]
        return cls.adjoint.apply(g, maps=ctx.maps)


class _WindowMapAdjoint(Op):
    """Base of the adjoints ``Aᵀ g`` of :class:`_WindowMap`; grad ``A gg``."""

    primal: ClassVar[type[Op]]

    @classmethod
    def forward(cls, ctx: Any, g: Any, maps: tuple[Any, ...] = ()) -> Any:  # type: ignore[override]
        ctx.maps = maps
        xp = backend.namespace(g)
        for axis, index, weight, size in reversed(maps):
            g = _axis_map_adjoint(xp, g, axis, index, weight, size)
        return g

    @classmethod
    def backward(cls, ctx: Any, gg: Tensor) -> Any:  # type: ignore[override]
        return cls.primal.apply(gg, maps=ctx.maps)


def _window_pair(
    name: str, attrs: tuple[str, ...], doc: str, *, saves: tuple[str, ...] = ("self",)
) -> tuple[type[Op], type[Op]]:
    """Declare a window map ``<name>Backward0`` and its adjoint ``<name>BackwardBackward0``.

    ``saves`` is what the map's node keeps, as PyTorch's does: the input for pooling and
    padding, nothing for upsampling.
    """
    primal = type(
        name,
        (_WindowMap,),
        {
            "node": f"{name}Backward0",
            "attrs": attrs,
            "saves": saves,
            "__doc__": doc,
            "__module__": __name__,
        },
    )
    adjoint = type(
        f"{name}Backward",
        (_WindowMapAdjoint,),
        {
            "node": f"{name}BackwardBackward0",
            "__doc__": f"The adjoint (gradient) of {name}; its own gradient is {name}.",
            "__module__": __name__,
        },
    )
    primal.adjoint = adjoint  # type: ignore[attr-defined]
    adjoint.primal = primal  # type: ignore[attr-defined]
    return primal, adjoint


AvgPool2D, AvgPool2DBackward = _window_pair(
    "AvgPool2D",
    ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "2-D average pooling. d/dinput spreads each output gradient over its window / divisor.",
)
AdaptiveAvgPool2D, AdaptiveAvgPool2DBackward = _window_pair(
    "AdaptiveAvgPool2D",
    ("output_size",),
    "2-D adaptive average pooling. d/dinput spreads each gradient over its window / size.",
)
_PAD_OPS = {
    (mode, n): _window_pair(
        f"{prefix}Pad{n}D",
        ("padding",),
        f"{prefix} padding of the last {n} dimension(s). d/dinput sums the gradients of copies.",
    )
    for mode, prefix in (("reflect", "Reflection"), ("replicate", "Replication"))
    for n in (1, 2, 3)
}


def _avg_pool_axis(
    size: int,
    kernel: int,
    stride: int,
    padding: int,
    out: int,
    count_include_pad: bool,
    divisor: Any,
) -> tuple[list[list[int]], list[list[float]]]:
    index = [[0] * out for _ in range(kernel)]
    weight = [[0.0] * out for _ in range(kernel)]
    for i in range(out):
        start = i * stride - padding
        end = min(start + kernel, size + padding)
        lo, hi = max(start, 0), min(end, size)
        if divisor is not None:
            div = divisor
        elif count_include_pad:
            div = end - start
        else:
            div = hi - lo
        if div == 0:
            continue
        for k in range(kernel):
            pos = start + k
            if lo <= pos < hi:
                index[k][i] = pos
                weight[k][i] = 1.0 / div
    return index, weight


def avg_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    """Return 2-D average pooling of a 3-D or 4-D input (``AvgPool2DBackward0``)."""
    maps = _avg_pool_maps(
        input._data, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    return AvgPool2D.apply(
        input,
        maps=maps,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )


def _avg_pool_maps(
    x: Any,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> tuple[Any, ...]:
    """The two window maps of 2-D average pooling of the array ``x`` (see :func:`_axis_map`)."""
    xp = backend.namespace(x)
    maps = []
    for j in range(2):
        axis = x.ndim - 2 + j
        size = x.shape[axis]
        out = pool_output_size(size, kernel_size[j], stride[j], padding[j], 1, ceil_mode)
        divisor = None if divisor_override is None else (divisor_override if j == 0 else 1)
        index, weight = _avg_pool_axis(
            size, kernel_size[j], stride[j], padding[j], out, count_include_pad, divisor
        )
        maps.append((axis, _ints(xp, index, x), _floats(xp, weight, x.dtype, x), size))
    return tuple(maps)


def adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    """Return PyTorch's adaptive windows ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_avg_pool2d(input: Tensor, output_size: tuple[int, int]) -> Tensor:  # noqa: A002
    """Return adaptive 2-D average pooling (``AdaptiveAvgPool2DBackward0``).

    Output cell ``i`` averages input rows ``floor(i*H/oh)`` to ``ceil((i+1)*H/oh)``.
    """
    x = input._data
    xp = backend.namespace(x)
    maps = []
    for j in range(2):
        axis = x.ndim - 2 + j
        size, out = x.shape[axis], output_size[j]
        bounds = adaptive_bounds(size, out)
        kernel = max(e - s for s, e in bounds)
        index = [[0] * out for _ in range(kernel)]
        weight = [[0.0] * out for _ in range(kernel)]
        for i, (s, e) in enumerate(bounds):
            for k in range(e - s):
                index[k][i] = s + k
                weight[k][i] = 1.0 / (e - s)
        maps.append((axis, _ints(xp, index, x), _floats(xp, weight, x.dtype, x), size))
    return AdaptiveAvgPool2D.apply(input, maps=tuple(maps), output_size=tuple(output_size))


def _pad_index(size: int, lo: int, hi: int, mode: str) -> list[int]:
    index = []
    for i in range(-lo, size + hi):
        if mode == "reflect":
            j = -i if i < 0 else i
            j = 2 * (size - 1) - j if j >= size else j
        else:
            j = min(max(i, 0), size - 1)
        index.append(j)
    return index


def index_pad(input: Tensor, pad: tuple[int, ...], mode: str) -> Tensor:  # noqa: A002
    """Pad the last ``len(pad) // 2`` dims by reflection or replication (``ReflectionPad2D...``).

    ``pad`` is PyTorch's ``(left, right, top, bottom, front, back)``; negative entries crop.
    """
    x = input._data
    xp = backend.namespace(x)
    n = len(pad) // 2
    maps = []
    for i in range(n):
        axis = x.ndim - 1 - i
        index = _pad_index(x.shape[axis], pad[2 * i], pad[2 * i + 1], mode)
        maps.append((axis, _ints(xp, [index], x), None, x.shape[axis]))
    primal, _ = _PAD_OPS[mode, n]
    return primal.apply(input, maps=tuple(maps), padding=tuple(pad))


# ---------------------------------------------------------------------------- normalisation


def _moments(x: Any, axes: tuple[int, ...], eps: float) -> tuple[Any, Any]:
    """Return the mean and ``1 / sqrt(var + eps)`` of the array ``x`` over ``axes`` (kept).

    Over an empty slice the mean is 0 and rstd NaN, as ATen's layer and group norm kernels
    give, without NumPy's 'Mean of empty slice' warning.
    """
    xp = backend.namespace(x)
    if not x.size:
        mean = xp.sum(x, axis=axes, keepdims=True)
        return mean, mean + math.nan
    mean = xp.mean(x, axis=axes, keepdims=True)
    c = x - mean
    return mean, 1 / xp.sqrt(xp.mean(c * c, axis=axes, keepdims=True) + eps)


def _stats(
    x: Tensor, axes: tuple[int, ...], eps: float, mean: Any, rstd: Any
) -> tuple[Tensor, Tensor]:
    """Mean and 1/std over ``axes`` for a backward formula.

    With ``create_graph`` they are recomputed from ``x`` with Tensor ops, so second
    derivatives see their dependence on ``x``; otherwise the saved arrays are used.
    """
    if _grad_enabled[0] and x.requires_grad:
        m = R.mean(x, axes, keepdim=True)
        c = x - m
        return m, P.rsqrt(R.mean(c * c, axes, keepdim=True) + eps)
    return const(mean), const(rstd)


def _normalize_backward(gy: Tensor, xhat: Tensor, rstd: Tensor, axes: tuple[int, ...]) -> Tensor:
    """d/dx of ``(x - mean) * rstd`` over ``axes``: ``rstd (gy - mean(gy) - x̂ mean(gy x̂))``."""
    m1 = R.mean(gy, axes, keepdim=True)
    m2 = R.mean(gy * xhat, axes, keepdim=True)
    return (gy - m1 - xhat * m2) * rstd


class NativeLayerNorm(Op):
    """Layer normalisation over the trailing ``normalized_shape`` dims (output, mean, rstd).

    d/dx = rstd * (gy - mean(gy) - x̂ mean(gy x̂)) with gy = g * weight; d/dweight =
    sum(g x̂), d/dbias = sum(g) over the leading dims.
    """

    node = "NativeLayerNormBackward0"
    inputs = ("input", "weight", "bias")
    saves = ("input", "weight", "bias", "result1", "result2")
    attrs = ("normalized_shape",)
    non_differentiable_outputs = (1, 2)

    @staticmethod
    def forward(
        ctx: Any, x: Any, w: Any, b: Any, normalized_shape: tuple[int, ...] = (), eps: float = 1e-5
    ) -> Any:
        ctx.normalized_shape = normalized_shape
        ctx.eps = eps
        axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
        mean, rstd = _moments(x, axes, eps)
        y = (x - mean) * rstd
        if w is not None:
            y = y * w
        if b is not None:
            y = y + b
        return y, mean, rstd

    @staticmethod
    def backward(ctx: Any, g: Tensor, *_stats_grads: Any) -> tuple[Any, Any, Any]:
        x, w, _b, mean, rstd = ctx.saved_tensors
        need = ctx.needs_input_grad
        axes = tuple(range(x.ndim - len(ctx.normalized_shape), x.ndim))
        m, r = _stats(x, axes, ctx.eps, mean._data, rstd._data)
        xhat = (x - m) * r
        lead = tuple(range(x.ndim - len(ctx.normalized_shape)))
        gx = gw = gb = None
        if need[0]:
            gx = _normalize_backward(g * w if w is not None else g, xhat, r, axes)
        if need[1]:
            gw = R.sum(g * xhat, lead) if lead else g * xhat
        if need[2]:
            gb = R.sum(g, lead) if lead else g
        return gx, gw, gb


def native_layer_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: tuple[int, ...],
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Return ``(output, mean, rstd)`` of layer normalisation (``NativeLayerNormBackward0``)."""
    return NativeLayerNorm.apply(
        input, weight, bias, normalized_shape=tuple(normalized_shape), eps=eps
    )


def _write_buffer(t: Tensor, value: Any) -> None:
    """Overwrite a buffer's data in place and bump its version, as an in-place op would."""
    xp = backend.namespace(t._data)
    t._data[...] = value if value.dtype == t._data.dtype else xp.astype(value, t._data.dtype)
    counter = t._version_counter
    if counter is None:
        counter = t._version_counter = [0]
    counter[0] += 1


class NativeBatchNorm(Op):
    """Batch normalisation over all dims but the channel dim 1 (output, save_mean, save_invstd).

    Training uses the batch statistics (and updates the running ones in place);
    evaluation uses the running statistics, so d/dx = g * weight * invstd there.
    """

    node = "NativeBatchNormBackward0"
    inputs = ("input", "weight", "bias")
    saves = ("input", "weight", "result1", "result2")
    attrs = ("training", "eps")
    non_differentiable_outputs = (1, 2)

    @staticmethod
    def forward(
        ctx: Any,
        x: Any,
        w: Any,
        b: Any,
        running_mean: Tensor | None = None,
        running_var: Tensor | None = None,
        training: bool = True,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ) -> Any:
        ctx.training, ctx.eps = training, eps
        xp = backend.namespace(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if training:
            mean = xp.mean(x, axis=axes)
            c = x - xp.reshape(mean, shape)
            var = xp.mean(c * c, axis=axes)
            if running_mean is not None and running_var is not None:
                n = x.size // x.shape[1]
                _write_buffer(running_mean, (1 - momentum) * running_mean._data + momentum * mean)
                unbiased = var * (n / (n - 1))
                _write_buffer(running_var, (1 - momentum) * running_var._data + momentum * unbiased)
        else:
            mean = xp.astype(running_mean._data, x.dtype)  # type: ignore[union-attr]
            var = xp.astype(running_var._data, x.dtype)  # type: ignore[union-attr]
            c = x - xp.reshape(mean, shape)
        invstd = 1 / xp.sqrt(var + eps)
        ctx.save_array("running_mean", None if running_mean is None else running_mean._data)
        ctx.save_array("running_var", None if running_var is None else running_var._data)
        y = c * xp.reshape(invstd, shape)
        if w is not None:
            y = y * xp.reshape(w, shape)
        if b is not None:
            y = y + xp.reshape(b, shape)
        return y, mean, invstd

    @staticmethod
    def backward(ctx: Any, g: Tensor, *_stats_grads: Any) -> tuple[Any, Any, Any]:
        x, w, mean, invstd = ctx.saved_tensors
        need = ctx.needs_input_grad
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        xp = backend.namespace(mean._data)
        if ctx.training:
            m, r = _stats(
                x, axes, ctx.eps, xp.reshape(mean._data, shape), xp.reshape(invstd._data, shape)
            )
        else:
            m, r = const(xp.reshape(mean._data, shape)), const(xp.reshape(invstd._data, shape))
        xhat = (x - m) * r
        gx = gw = gb = None
        if need[0]:
            gy = g * S.reshape(w, shape) if w is not None else g
            gx = _normalize_backward(gy, xhat, r, axes) if ctx.training else gy * r
        if need[1]:
            gw = R.sum(g * xhat, axes)
        if need[2]:
            gb = R.sum(g, axes)
        return gx, gw, gb


def native_batch_norm(
    input: Tensor,  # noqa: A002
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Return ``(output, save_mean, save_invstd)`` of batch norm (``NativeBatchNormBackward0``).

    In training mode the running statistics (when given) are updated in place, outside
    the graph, with the unbiased batch variance, and their version counters bumped.
    """
    return NativeBatchNorm.apply(
        input,
        weight,
        bias,
        running_mean=running_mean,
        running_var=running_var,
        training=training,
        momentum=momentum,
        eps=eps,
    )


# ---------------------------------------------------------------------------- embedding


def _row_factor(xp: Any, flat: Any, num: int, padding_idx: int, scale: bool, like: Any) -> Any:
    """Per looked-up row: 0 for ``padding_idx``, else 1 (or 1/count with ``scale_grad_by_freq``)."""
    ones = xp.ones(flat.shape, dtype=like.dtype, **_creation_kw(like))
    factor = ones
    if padding_idx >= 0:
        factor = xp.where(flat == padding_idx, xp.zeros_like(ones), ones)
    if scale:
        counts = _zeros(xp, (num,), like.dtype, like)
        backend.scatter_add(counts, (flat,), ones)
        factor = factor / xp.take(counts, flat, axis=0)
    return factor


class Embedding(Op):
    """Rows of ``weight`` picked by integer ``indices``. d/dweight scatter-adds g into them."""

    node = "EmbeddingBackward0"
    inputs = ("weight",)
    attrs = ("padding_idx", "scale_grad_by_freq", "sparse", "weight_sym_argsize_0")

    @staticmethod
    def forward(
        ctx: Any,
        w: Any,
        indices: Any = None,
        padding_idx: int = -1,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Any:
        ctx.padding_idx, ctx.scale_grad_by_freq, ctx.sparse = (
            padding_idx,
            scale_grad_by_freq,
            sparse,
        )
        ctx.weight_sym_argsize_0 = w.shape[0]
        ctx.save_array("indices", indices)
        xp = backend.namespace(w)
        rows = xp.take(w, xp.reshape(indices, (-1,)), axis=0)
        return xp.reshape(rows, tuple(indices.shape) + (w.shape[1],))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return EmbeddingDenseBackward.apply(
            g,
            indices=ctx._unpack("indices"),
            num_weights=ctx.weight_sym_argsize_0,
            padding_idx=ctx.padding_idx,
            scale_grad_by_freq=ctx.scale_grad_by_freq,
        )


class EmbeddingDenseBackward(Op):
    """The gradient of :class:`Embedding`: ``g`` rows scatter-added into a (num, dim) zero matrix.

    Its own gradient looks the rows up again (an Embedding) with the ``padding_idx`` rows
    zeroed; like PyTorch's ``embedding_dense_double_backward`` it ignores
    ``scale_grad_by_freq``.
    """

    node = "EmbeddingDenseBackwardBackward0"
    inputs = ("grad_output",)
    attrs = ("num_weights", "padding_idx", "scale_grad_by_freq")

    @staticmethod
    def forward(
        ctx: Any,
        g: Any,
        indices: Any = None,
        num_weights: int = 0,
        padding_idx: int = -1,
        scale_grad_by_freq: bool = False,
    ) -> Any:
        ctx.num_weights, ctx.padding_idx, ctx.scale_grad_by_freq = (
            num_weights,
            padding_idx,
            scale_grad_by_freq,
        )
        ctx.save_array("indices", indices)
        xp = backend.namespace(g)
        flat = xp.reshape(indices, (-1,))
        rows = xp.reshape(g, (flat.shape[0], g.shape[-1]))
        factor = _row_factor(xp, flat, num_weights, padding_idx, scale_grad_by_freq, g)
        out = _zeros(xp, (num_weights, g.shape[-1]), g.dtype, g)
        backend.scatter_add(out, (flat,), rows * xp.reshape(factor, (-1, 1)))
        return out

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        indices = ctx._unpack("indices")
        xp = backend.namespace(indices)
        flat = xp.reshape(indices, (-1,))
        factor = _row_factor(xp, flat, ctx.num_weights, ctx.padding_idx, False, gg._data)
        rows = Embedding.apply(gg, indices=indices)
        return rows * const(xp.reshape(factor, tuple(indices.shape) + (1,)))


def embedding(
    weight: Tensor, indices: Any, padding_idx: int, scale_grad_by_freq: bool, sparse: bool
) -> Tensor:
    """Return ``weight[indices]`` (``EmbeddingBackward0``); ``padding_idx < 0`` means none."""
    return Embedding.apply(
        weight,
        indices=indices,
        padding_idx=padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
        sparse=sparse,
    )


def embedding_renorm_(weight: Tensor, indices: Any, max_norm: float, norm_type: float) -> None:
    """Rescale in place, outside the graph, the looked-up rows whose norm exceeds ``max_norm``."""
    w = weight._data
    xp = backend.namespace(w)
    flat = xp.unique_values(xp.reshape(indices, (-1,)))
    rows = xp.take(w, flat, axis=0)
    norms = xp.linalg.vector_norm(rows, ord=norm_type, axis=1, keepdims=True)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), xp.ones_like(norms))
    updated = xp.asarray(w, copy=True)
    # NOTE: integer-array assignment is outside the Array API standard: the backend does it.
    backend.setitem(updated, (flat, Ellipsis), rows * scale)
    _write_buffer(weight, updated)


# ---------------------------------------------------------------------------- losses


def _nll_targets(
    xp: Any, x: Any, target: Any, weight: Any, ignore_index: int
) -> tuple[Any, Any, Any]:
    """Return ``(valid, safe, w_t)`` for class-index targets.

    ``valid``: which targets count; ``safe``: targets with ignored ones set to class 0;
    ``w_t``: each target's class weight (0 where ignored).
    """
    valid = target != ignore_index
    safe = xp.where(valid, target, xp.zeros_like(target))
    if weight is None:
        return valid, safe, xp.astype(valid, x.dtype)
    w_t = xp.reshape(xp.take(weight, xp.reshape(safe, (-1,)), axis=0), tuple(safe.shape))
    return valid, safe, xp.where(valid, w_t, xp.zeros_like(w_t))


def _nll_parts(xp: Any, x: Any, target: Any, weight: Any, ignore_index: int) -> tuple[Any, Any]:
    """Return ``(pick, w_t)`` for ``x`` of shape (N, C, *d): the one-hot target mask and weights.

    ``pick`` is False at ignored targets; ``w_t`` (N, *d) is the target's class weight, 0
    where ignored.
    """
    valid = target != ignore_index
    safe = xp.where(valid, target, xp.zeros_like(target))
    classes = xp.reshape(
        xp.arange(x.shape[1], dtype=target.dtype, **_creation_kw(x)),
        (1, x.shape[1]) + (1,) * (x.ndim - 2),
    )
    pick = (classes == xp.expand_dims(safe, axis=1)) & xp.expand_dims(valid, axis=1)
    if weight is None:
        w_t = xp.astype(valid, x.dtype)
    else:
        w_t = xp.reshape(xp.take(weight, xp.reshape(safe, (-1,)), axis=0), tuple(safe.shape))
        w_t = xp.where(valid, w_t, xp.zeros_like(w_t))
    return pick, w_t


_LOG_SOFTMAX = R.LogSoftmax._node_cls


class NllLoss(Op):
    """Negative log-likelihood of class-index targets. d/dinput = -weight[t] at the target class.

    Returns (loss, total_weight); with ``mean`` the loss is divided by the total weight
    of the targets that are not ``ignore_index``.
    """

    node = "NllLossBackward0"
    saves = ("self", "result1")
    attrs = ("reduction", "ignore_index")
    non_differentiable_outputs = (1,)

    @staticmethod
    def forward(
        ctx: Any,
        x: Any,
        target: Any = None,
        weight: Any = None,
        reduction: int = 1,
        ignore_index: int = -100,
    ) -> Any:
        ctx.reduction, ctx.ignore_index = reduction, ignore_index
        ctx.save_array("target", target)
        ctx.save_array("weight", weight)
        if weight is None:
            # The usual case (every target counts, weight 1): a few NumPy calls.
            fast = backend.nll_every_target(x, target, ignore_index, reduction)
            if fast is not None:
                ctx._every_target = True
                return fast
        xp = backend.namespace(x)
        single = x.ndim == 1
        if single:
            x, target = xp.reshape(x, (1, -1)), xp.reshape(target, (1,))
        valid, safe, w_t = _nll_targets(xp, x, target, weight, ignore_index)
        if x.ndim == 2:
            rows = xp.arange(x.shape[0], dtype=safe.dtype, **_creation_kw(x))
            picked = backend.getitem(x, (rows, safe))  # x[i, target[i]]
        else:
            at = xp.expand_dims(safe, axis=1)
            picked = xp.squeeze(xp.take_along_axis(x, at, axis=1), axis=1)
        loss = -xp.where(valid, picked, xp.zeros_like(picked)) * w_t
        total = xp.sum(w_t)
        if reduction == 0:
            return (loss[0, ...] if single else loss), total
        if reduction == 2:
            return xp.sum(loss), total
        return _safe_div(xp, xp.sum(loss), total), total

    @staticmethod
    def backward(ctx: Any, g: Tensor, _total_grad: Any = None) -> Any:
        if ctx.__dict__.get("_every_target") and ctx.reduction and not _grad_enabled[0]:
            return _nll_backward_every_target(ctx, g)
        x, total = ctx.saved_tensors
        target, weight = ctx._unpack("target"), ctx._unpack("weight")
        xp = backend.namespace(target)
        data = x._data
        single = data.ndim == 1
        if single:
            data, target = xp.reshape(data, (1, -1)), xp.reshape(target, (1,))
        if not _grad_enabled[0] and data.ndim == 2:
            # Plain backward: write the few non-zero entries straight into zeros (one
            # scatter instead of several passes over an (N, C) one-hot mask).
            valid, safe, w_t = _nll_targets(xp, data, target, weight, ctx.ignore_index)
            scale = g._data if ctx.reduction == 0 else xp.reshape(g._data, (1,))
            vals = -w_t * scale
            if ctx.reduction == 1:
                # Ignored targets get no gradient, even when all are ignored (0 / 0).
                vals = xp.where(valid, _safe_div(xp, vals, total._data), xp.zeros_like(vals))
            out = xp.zeros(data.shape, dtype=data.dtype, **_creation_kw(data))
            rows = xp.arange(data.shape[0], dtype=safe.dtype, **_creation_kw(data))
            # One target per row: a plain write, no duplicates to sum.
            vals = xp.astype(vals, data.dtype)
            backend.setitem(out, (rows, safe), vals)
            if single:
                return const(xp.reshape(out, tuple(x.shape)))
            return _one_hot_gradient(ctx, out, rows, safe, vals)
        pick, w_t = _nll_parts(xp, data, target, weight, ignore_index=ctx.ignore_index)
        coef = -xp.where(pick, xp.expand_dims(w_t, axis=1), xp.zeros_like(data))
        if ctx.reduction == 1:
            coef = xp.where(pick, _safe_div(xp, coef, total._data), xp.zeros_like(coef))
        if single:
            coef = xp.reshape(coef, tuple(x.shape))
        elif ctx.reduction == 0:
            g = S.unsqueeze(g, 1)
        return g * const(coef)


def _nll_backward_every_target(ctx: Any, g: Tensor) -> Tensor:
    """``NllLoss.backward`` (plain, reduced) after ``backend.nll_every_target``."""
    data, target = ctx._unpack_array("self"), ctx._unpack("target")
    out, rows, vals = backend.nll_every_target_grad(
        data.shape, data.dtype, target, g._data, ctx.reduction
    )
    return _one_hot_gradient(ctx, out, rows, target, vals)


def _one_hot_gradient(ctx: Any, out: Any, rows: Any, cols: Any, vals: Any) -> Tensor:
    """Return nll_loss's plain input gradient ``out`` (``vals`` at ``(rows, cols)``, else 0).

    When the input came from log_softmax over dim 1 (cross_entropy), tell that node where
    the few values are; its backward uses them only if the gradient it gets is still this
    very array.
    """
    producer = ctx.next_functions[0][0]
    if type(producer) is _LOG_SOFTMAX and producer.dim == 1 and not ctx._post_hooks:
        producer._one_hot = (out, rows, cols, vals)
    return const(out)


class NllLoss2d(NllLoss):
    """``nll_loss`` for (N, C, H, W) inputs and (N, H, W) targets (PyTorch's ``nll_loss2d``)."""

    node = "NllLoss2DBackward0"


def nll_loss(
    input: Tensor,  # noqa: A002
    target: Any,
    weight: Any,
    reduction: int,
    ignore_index: int,
) -> Tensor:
    """Return the NLL loss of log-probabilities ``input`` (``NllLoss[2D]Backward0``).

    ``target`` and ``weight`` are arrays (``weight`` may be None).
    """
    op = NllLoss2d if input.ndim == 4 else NllLoss
    loss, _ = op.apply(
        input, target=target, weight=weight, reduction=reduction, ignore_index=ignore_index
    )
    return loss


class MseLoss(Op):
    """Mean squared error. d/dinput = 2 (input - target) g, d/dtarget its negative."""

    node = "MseLossBackward0"
    inputs = ("self", "target")
    saves = ("self", "target")
    attrs = ("reduction",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, reduction: int = 1) -> Any:
        ctx.reduction = reduction
        d = a - b
        return _reduce(backend.namespace(d), d * d, reduction)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        gd = _per_element(g, tuple(a.shape), ctx.reduction) * (a - b) * 2
        return (gd if need[0] else None), (-gd if need[1] else None)


def mse_loss(input: Tensor, target: Tensor, reduction: int) -> Tensor:  # noqa: A002
    """Return the mean squared error of same-shape tensors (``MseLossBackward0``)."""
    return MseLoss.apply(input, target, reduction=reduction)


class BinaryCrossEntropy(Op):
    """Binary cross-entropy of probabilities, logs clamped at -100 as in PyTorch.

    d/dinput = w (x - t) / max(x (1 - x), 1e-12) g; d/dtarget = w (log(1-x) - log x) g.
    """

    node = "BinaryCrossEntropyBackward0"
    inputs = ("self", "target")
    saves = ("self", "target")
    attrs = ("reduction",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, x: Any, t: Any, weight: Any = None, reduction: int = 1) -> Any:
        ctx.reduction = reduction
        ctx.save_array("weight", weight)
        xp = backend.namespace(x)
        loss = -(t * _clamped_log(xp, x) + (1 - t) * _clamped_log(xp, 1 - x))
        if weight is not None:
            loss = loss * weight
        return _reduce(xp, loss, reduction)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        x, t = ctx.saved_tensors
        need = ctx.needs_input_grad
        weight = ctx._unpack("weight")
        ge = _per_element(g, tuple(x.shape), ctx.reduction)
        if weight is not None:
            ge = ge * const(weight)
        gx = gt = None
        if need[0]:
            gx = ge * (x - t) / P.clamp(x * (1 - x), min=_EPSILON)
        if need[1]:
            gt = ge * (P.clamp(P.log(1 - x), min=-100) - P.clamp(P.log(x), min=-100))
        return gx, gt


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Any, reduction: int) -> Tensor:  # noqa: A002
    """Return the binary cross-entropy of probabilities (``BinaryCrossEntropyBackward0``)."""
    return BinaryCrossEntropy.apply(input, target, weight=weight, reduction=reduction)


class BinaryCrossEntropyWithLogits(Op):
    """Binary cross-entropy of logits, computed stably through softplus.

    loss = (1 - t) x + lw softplus(-x), lw = 1 + (pos_weight - 1) t; d/dx = w (lw σ(x) -
    pos_weight t) g; d/dt = w ((pos_weight - 1) softplus(-x) - x) g.
    """

    node = "BinaryCrossEntropyWithLogitsBackward0"
    inputs = ("self", "target")
    saves = ("self", "target")
    attrs = ("reduction",)
    promotes = True

    @staticmethod
    def forward(
        ctx: Any, x: Any, t: Any, weight: Any = None, pos_weight: Any = None, reduction: int = 1
    ) -> Any:
        ctx.reduction = reduction
        ctx.save_array("weight", weight)
        ctx.save_array("pos_weight", pos_weight)
        xp = backend.namespace(x)
        softplus_neg = xp.maximum(-x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            loss = (1 - t) * x + softplus_neg
        else:
            loss = (1 - t) * x + ((pos_weight - 1) * t + 1) * softplus_neg
        if weight is not None:
            loss = loss * weight
        return _reduce(xp, loss, reduction)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        x, t = ctx.saved_tensors
        need = ctx.needs_input_grad
        weight, pos_weight = ctx._unpack("weight"), ctx._unpack("pos_weight")
        ge = _per_element(g, tuple(x.shape), ctx.reduction)
        if weight is not None:
            ge = ge * const(weight)
        pw = None if pos_weight is None else const(pos_weight)
        gx = gt = None
        if need[0]:
            s = P.sigmoid(x)
            gx = ge * (s - t) if pw is None else ge * (((pw - 1) * t + 1) * s - pw * t)
        if need[1]:
            gt = -ge * x if pw is None else ge * ((pw - 1) * P.softplus(-x) - x)
        return gx, gt


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Any,
    pos_weight: Any,
    reduction: int,
) -> Tensor:
    """Return the binary cross-entropy of logits (``BinaryCrossEntropyWithLogitsBackward0``)."""
    return BinaryCrossEntropyWithLogits.apply(
        input, target, weight=weight, pos_weight=pos_weight, reduction=reduction
    )


class SmoothL1Loss(Op):
    """Smooth L1: 0.5 d²/beta where |d| < beta, else |d| - beta/2. d/dx = clamp(d/beta, -1, 1) g."""

    node = "SmoothL1LossBackward0"
    inputs = ("self", "target")
    saves = ("self", "target")
    attrs = ("reduction", "beta")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, reduction: int = 1, beta: float = 1.0) -> Any:
        ctx.reduction, ctx.beta = reduction, beta
        xp = backend.namespace(a)
        d = a - b
        ad = xp.abs(d)
        return _reduce(xp, xp.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta), reduction)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        gd = _per_element(g, tuple(a.shape), ctx.reduction) * P.clamp((a - b) / ctx.beta, -1.0, 1.0)
        return (gd if need[0] else None), (-gd if need[1] else None)


class HuberLoss(Op):
    """Huber: 0.5 d² where |d| < delta, else delta (|d| - delta/2). d/dx = clamp(d, ±delta) g."""

    node = "HuberLossBackward0"
    inputs = ("self", "target")
    saves = ("self", "target")
    attrs = ("reduction", "delta")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, reduction: int = 1, delta: float = 1.0) -> Any:
        ctx.reduction, ctx.delta = reduction, delta
        xp = backend.namespace(a)
        d = a - b
        ad = xp.abs(d)
        return _reduce(xp, xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta)), reduction)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        gd = _per_element(g, tuple(a.shape), ctx.reduction) * P.clamp(a - b, -ctx.delta, ctx.delta)
        return (gd if need[0] else None), (-gd if need[1] else None)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: int, beta: float) -> Tensor:  # noqa: A002
    """Return the smooth L1 loss of same-shape tensors (``SmoothL1LossBackward0``)."""
    return SmoothL1Loss.apply(input, target, reduction=reduction, beta=beta)


def huber_loss(input: Tensor, target: Tensor, reduction: int, delta: float) -> Tensor:  # noqa: A002
    """Return the Huber loss of same-shape tensors (``HuberLossBackward0``)."""
    return HuberLoss.apply(input, target, reduction=reduction, delta=delta)


class Trilinear(Op):
    """The bilinear form ``y[n, o] = sum_ij x1[n, i] W[o, i, j] x2[n, j]`` of ``F.bilinear``.

    d/dx1 = sum_oj g W x2, d/dx2 = sum_oi g W x1, d/dW = sum_n g x1 x2 (outer products).
    """

    node = "TrilinearBackward0"
    inputs = ("i1", "i2", "i3")
    saves = ("i1", "i2", "i3")
    promotes = True

    @staticmethod
    def forward(ctx: Any, x1: Any, w: Any, x2: Any) -> Any:
        xp = backend.namespace(x1)
        n, i = x1.shape
        o, _, j = w.shape
        t = xp.matmul(x1, xp.reshape(xp.permute_dims(w, (1, 0, 2)), (i, o * j)))
        return xp.sum(xp.reshape(t, (n, o, j)) * xp.expand_dims(x2, axis=1), axis=2)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        x1, w, x2 = ctx.saved_tensors
        need = ctx.needs_input_grad
        n, i = x1.shape
        o, _, j = w.shape
        g3 = S.unsqueeze(g, 2)
        gx1 = gw = gx2 = None
        if need[0]:
            rows = S.reshape(g3 * S.unsqueeze(x2, 1), (n, o * j))
            gx1 = L.matmul(rows, S.reshape(S.permute(w, (0, 2, 1)), (o * j, i)))
        if need[1]:
            outer = S.reshape(S.unsqueeze(x1, 2) * S.unsqueeze(x2, 1), (n, i * j))
            gw = S.reshape(L.matmul(S.t(g), outer), (o, i, j))
        if need[2]:
            rows = S.reshape(g3 * S.unsqueeze(x1, 1), (n, o * i))
            gx2 = L.matmul(rows, S.reshape(w, (o * i, j)))
        return gx1, gw, gx2


def trilinear(x1: Tensor, weight: Tensor, x2: Tensor) -> Tensor:
    """Return ``x1[n] @ weight[o] @ x2[n]`` for 2-D ``x1``, ``x2`` (``TrilinearBackward0``)."""
    return Trilinear.apply(x1, weight, x2)


# ---------------------------------------------------------------------------- activations, helpers


class Hardtanh(Op):
    """``clamp(x, min_val, max_val)``; d/dx = 0 where ``x <= min_val or x >= max_val``, else g.

    A NaN input passes the gradient (ATen's ``x <= min || x >= max ? 0 : g``).
    """

    node = "HardtanhBackward0"
    saves = ("self",)
    attrs = ("min_val", "max_val")

    @staticmethod
    def forward(ctx: Any, a: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
        ctx.min_val, ctx.max_val = min_val, max_val
        return backend.namespace(a).clip(a, min_val, max_val)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        data = a._data
        return P.zero_where(g, (data <= ctx.min_val) | (data >= ctx.max_val))


def hardtanh(input: Tensor, min_val: float, max_val: float) -> Tensor:  # noqa: A002
    """Return ``input`` clamped to ``[min_val, max_val]`` (``HardtanhBackward0``)."""
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


class LeakyReluInplace(P.LeakyRelu):
    """In-place leaky ReLU: the same op, saving its result (the input is overwritten).

    The backward is LeakyRelu's: the result is positive exactly where the input is.
    """

    node = "LeakyReluBackward1"
    saves = ("result",)


def leaky_relu_(input: Tensor, negative_slope: float) -> Tensor:  # noqa: A002
    """Apply leaky ReLU to ``input`` in place (``LeakyReluBackward1``)."""
    input._check_inplace()
    return input._write_inplace(LeakyReluInplace.apply(input, negative_slope=negative_slope))


class Xlogy(Op):
    """``x * log(y)``, 0 where x == 0. d/dx = log(y) (0 where x == 0), d/dy = x / y."""

    node = "XlogyBackward0"
    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return _xlogy_kernel(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = g * xlogy(const(a._data != 0), b) if need[0] else None
        gb = g * a / b if need[1] else None
        return ga, gb


def _xlogy_kernel(a: Any, b: Any) -> Any:
    xp = backend.namespace(a if hasattr(a, "shape") else b)
    zero = a == 0
    out = a * xp.log(xp.where(zero, xp.ones_like(b), b))
    # NOTE: 0 * log(y) is 0, except that a NaN y stays NaN (PyTorch's xlogy).
    return xp.where(xp.isnan(b), b, xp.where(zero, xp.zeros_like(out), out))


class XlogyNumberOther(Op):
    """``xlogy(x, c)`` for a Python number c. d/dx = log(c) (PyTorch's XlogyBackward2)."""

    node = "XlogyBackward2"
    saves = ("self",)
    attrs = ("other",)
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, other: float = 1.0) -> Any:
        ctx.other = other
        c = backend.zeros(a, (), a.dtype) + other  # 0-d, on the tensor's device and dtype
        ctx._log_other = backend.namespace(a).log(c)  # in the tensor's dtype, as ATen
        return _xlogy_kernel(a, c)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g * const(ctx._log_other)


class XlogyNumberSelf(Op):
    """``xlogy(s, y)`` for a Python number s. d/dy = s / y (PyTorch's XlogyBackward1)."""

    node = "XlogyBackward1"
    inputs = ("other",)
    saves = ("other",)
    attrs = ("self",)
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, b: Any, self: float = 1.0) -> Any:
        ctx.self = self
        return _xlogy_kernel(backend.zeros(b, (), b.dtype) + self, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (b,) = ctx.saved_tensors
        return g * ctx.self / b


@register("xlogy")
def xlogy(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Return ``input * log(other)``, defined as 0 where ``input`` is 0.

    ``XlogyBackward0`` for two tensors; ``XlogyBackward1``/``XlogyBackward2`` when the
    first/second is a Python number, as in PyTorch (the result takes the tensor's dtype).
    """
    if not isinstance(input, Tensor):
        return XlogyNumberSelf.apply(other, self=input)
    if not isinstance(other, Tensor):
        return XlogyNumberOther.apply(input, other=other)
    return Xlogy.apply(input, other)


class ClampMin(Op):
    """``max(x, min)``. d/dx = g where x >= min, else 0."""

    node = "ClampMinBackward0"
    saves = ("self",)
    attrs = ("min",)

    @staticmethod
    def forward(ctx: Any, a: Any, min: Any = 0) -> Any:  # noqa: A002
        ctx.min = min
        xp = backend.namespace(a)
        return xp.maximum(a, xp.full_like(a, min))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return g * const(a._data >= ctx.min)


@register("clamp_min")
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    """Return ``input`` with every element below ``min`` raised to it (``ClampMinBackward0``)."""
    return ClampMin.apply(input, min=min)
