"""More neural-network ops: adaptive max pooling, group norm, upsampling, pixel shuffle.

Also transposed convolution.

Same rules as :mod:`gradviz.engine.ops.nn`: kernels use the array namespace ``xp`` only,
backwards are written with Tensor ops (so ``create_graph=True`` works) and each op carries
PyTorch's node name. Upsampling reuses the separable window maps of ``nn`` (a gather
along each spatial axis with per-tap weights), paired with their adjoints
``Upsample...BackwardBackward0`` as PyTorch names the nodes of a double backward.

Preconditions: the functions here trust their arguments. ``gradviz.nn.functional_more``
checks shapes and values, and raises PyTorch's errors, before calling them.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from gradviz.engine import backend
from gradviz.engine.ops import linalg as L  # noqa: N812
from gradviz.engine.ops import nn as N  # noqa: N812
from gradviz.engine.ops import reduction as R  # noqa: N812
from gradviz.engine.ops import shape as S  # noqa: N812
from gradviz.engine.ops._base import Op, Tensor

__all__ = [
    "adaptive_max_pool2d",
    "native_group_norm",
    "upsample",
    "pixel_shuffle",
    "pixel_unshuffle",
    "conv_transpose",
    "conv_transpose_output_size",
]

# ---------------------------------------------------------------------------- adaptive max pool


def _adaptive_taps(size: int, out: int) -> tuple[list[list[int]], list[list[bool]]]:
    """Per tap ``k`` and output ``i``: the input position read, and whether it is in the window."""
    bounds = N.adaptive_bounds(size, out)
    kernel = max(e - s for s, e in bounds)
    index = [[min(s + k, e - 1) for s, e in bounds] for k in range(kernel)]
    valid = [[s + k < e for s, e in bounds] for k in range(kernel)]
    return index, valid


class AdaptiveMaxPool2D(Op):
    """Adaptive 2-D max pooling: values and flat ``H*W`` indices of each window's maximum.

    d/dinput routes each output's gradient to the element it took (scatter-add).
    """

    node = "AdaptiveMaxPool2DBackward0"
    saves = ("self", "result1")
    non_differentiable_outputs = (1,)

    @staticmethod
    def forward(ctx: Any, x: Any, output_size: tuple[int, int] = (1, 1)) -> Any:
        xp = backend.namespace(x)
        h, w = x.shape[-2], x.shape[-1]
        rows, rows_ok = _adaptive_taps(h, output_size[0])
        cols, cols_ok = _adaptive_taps(w, output_size[1])
        low = N._lowest(xp, x.dtype)
        # The column taps and their masks are the same for every row tap: built once.
        col_index = [N._ints(xp, c, x) for c in cols]
        col_ok = [xp.reshape(xp.asarray(ok, **N._creation_kw(x)), (1, -1)) for ok in cols_ok]
        candidates = []
        positions = []
        for kh in range(len(rows)):
            ri = N._ints(xp, rows[kh], x)
            taken_h = xp.take(x, ri, axis=x.ndim - 2)
            ok_h = xp.asarray(rows_ok[kh], **N._creation_kw(x))
            for ci, ok_w in zip(col_index, col_ok, strict=True):
                taken = xp.take(taken_h, ci, axis=x.ndim - 1)
                ok = xp.reshape(ok_h, (-1, 1)) & ok_w
                candidates.append(xp.where(ok, taken, xp.full_like(taken, low)))
                positions.append(xp.reshape(ri, (-1, 1)) * w + xp.reshape(ci, (1, -1)))
        stacked = xp.stack(candidates, axis=x.ndim - 2)
        arg = xp.argmax(stacked, axis=x.ndim - 2, keepdims=True)
        values = xp.squeeze(xp.take_along_axis(stacked, arg, axis=x.ndim - 2), axis=x.ndim - 2)
        pos = xp.stack(positions, axis=0)
        pos = xp.broadcast_to(
            xp.reshape(pos, (1,) * (x.ndim - 2) + tuple(pos.shape)), tuple(stacked.shape)
        )
        indices = xp.squeeze(xp.take_along_axis(pos, arg, axis=x.ndim - 2), axis=x.ndim - 2)
        return values, indices

    @staticmethod
    def backward(ctx: Any, g: Tensor, _indices_grad: Any = None) -> Any:
        x, indices = ctx.saved_tensors
        return AdaptiveMaxPool2DBackward.apply(
            g, indices=indices._data, self_sym_sizes=tuple(x.shape)
        )


class AdaptiveMaxPool2DBackward(Op):
    """The gradient of :class:`AdaptiveMaxPool2D`: ``g`` scatter-added at the saved indices.

    Its own gradient gathers the incoming gradient at the same indices.
    """

    node = "AdaptiveMaxPool2DBackwardBackward0"
    inputs = ("grad_output",)

    @staticmethod
    def forward(ctx: Any, g: Any, indices: Any = None, self_sym_sizes: tuple[int, ...] = ()) -> Any:
        ctx.save_array("indices", indices)
        ctx.self_sym_sizes = self_sym_sizes
        xp = backend.namespace(g)
        lead = tuple(self_sym_sizes[:-2])
        plane = self_sym_sizes[-2] * self_sym_sizes[-1]
        # NOTE: explicit sizes, not -1: NumPy cannot infer a size when ``lead`` holds a 0.
        outputs = lead + (math.prod(indices.shape[-2:]),)
        flat_idx = xp.reshape(indices, outputs)
        out = N._zeros(xp, lead + (plane,), g.dtype, g)
        key = S._along_axis_key(xp, flat_idx, len(lead))
        backend.scatter_add(out, key, xp.reshape(g, outputs))
        return xp.reshape(out, self_sym_sizes)

    @staticmethod
    def backward(ctx: Any, gg: Tensor) -> Any:
        indices = ctx._unpack("indices")
        sizes = ctx.self_sym_sizes
        xp = backend.namespace(indices)
        lead = tuple(sizes[:-2])
        flat = S.reshape(gg, lead + (sizes[-2] * sizes[-1],))
        index = xp.reshape(indices, lead + (math.prod(indices.shape[-2:]),))
        picked = S.Gather.apply(flat, dim=len(lead), index=index)
        return S.reshape(picked, tuple(indices.shape))


def adaptive_max_pool2d(input: Tensor, output_size: tuple[int, int]) -> tuple[Tensor, Tensor]:  # noqa: A002
    """Return ``(values, indices)`` of adaptive 2-D max pooling (``AdaptiveMaxPool2DBackward0``)."""
    return AdaptiveMaxPool2D.apply(input, output_size=tuple(output_size))


# ---------------------------------------------------------------------------- group norm


class NativeGroupNorm(Op):
    """Group normalisation: each sample's channels split into ``group`` groups, each normalised.

    Returns (output, mean, rstd), the statistics of shape (N, group). d/dx = rstd (gy -
    mean(gy) - x̂ mean(gy x̂)) per group with gy = g * weight; d/dweight = sum(g x̂), d/dbias
    = sum(g) over batch and space.
    """

    node = "NativeGroupNormBackward0"
    inputs = ("input", "weight", "bias")
    saves = ("input", "weight", "result1", "result2")
    attrs = ("C", "HxW", "N", "eps", "group")
    non_differentiable_outputs = (1, 2)

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any, b: Any, group: int = 1, eps: float = 1e-5) -> Any:
        n, c = x.shape[0], x.shape[1]
        ctx.N, ctx.C, ctx.HxW = n, c, math.prod(x.shape[2:])
        ctx.group, ctx.eps = group, eps
        xp = backend.namespace(x)
        xr = xp.reshape(x, (n, group, c // group * ctx.HxW))
        mean, rstd = N._moments(xr, (2,), eps)
        y = xp.reshape((xr - mean) * rstd, tuple(x.shape))
        shape = (1, c) + (1,) * (x.ndim - 2)
        if w is not None:
            y = y * xp.reshape(w, shape)
        if b is not None:
            y = y + xp.reshape(b, shape)
        return y, xp.reshape(mean, (n, group)), xp.reshape(rstd, (n, group))

    @staticmethod
    def backward(ctx: Any, g: Tensor, *_stats_grads: Any) -> tuple[Any, Any, Any]:
        x, w, mean, rstd = ctx.saved_tensors
        need = ctx.needs_input_grad
        n, c, group = ctx.N, ctx.C, ctx.group
        xp = backend.namespace(mean._data)
        per_group = c // group * ctx.HxW
        xr = S.reshape(x, (n, group, per_group))
        m, r = N._stats(
            xr,
            (2,),
            ctx.eps,
            xp.reshape(mean._data, (n, group, 1)),
            xp.reshape(rstd._data, (n, group, 1)),
        )
        xhat = (xr - m) * r
        shape = (1, c) + (1,) * (x.ndim - 2)
        axes = (0,) + tuple(range(2, x.ndim))
        gx = gw = gb = None
        if need[0]:
            gy = g * S.reshape(w, shape) if w is not None else g
            gxr = N._normalize_backward(S.reshape(gy, (n, group, per_group)), xhat, r, (2,))
            gx = S.reshape(gxr, tuple(x.shape))
        if need[1]:
            gw = R.sum(g * S.reshape(xhat, tuple(x.shape)), axes)
        if need[2]:
            gb = R.sum(g, axes)
        return gx, gw, gb


def native_group_norm(
    input: Tensor,  # noqa: A002
    weight: Tensor | None,
    bias: Tensor | None,
    group: int,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Return ``(output, mean, rstd)`` of group normalisation (``NativeGroupNormBackward0``)."""
    return NativeGroupNorm.apply(input, weight, bias, group=group, eps=eps)


# ---------------------------------------------------------------------------- upsampling


def _f32(value: float) -> float:
    """Round a Python float to the nearest float32, as PyTorch's float arithmetic does."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _upsample_axis(
    size: int, out: int, mode: str, align_corners: bool, scale: float | None, single: bool
) -> tuple[list[list[int]], list[list[float]] | None]:
    """The taps of one upsampled axis, computed as PyTorch's CPU kernel does.

    ``single``: the arithmetic is in float32 (float32 inputs), else in float64.
    """
    rnd = _f32 if single else float
    if align_corners:
        ratio = rnd((size - 1) / (out - 1)) if out > 1 else 0.0
    elif scale is not None and scale > 0:
        ratio = rnd(1.0 / scale)
    else:
        ratio = rnd(size / out)
    if mode == "nearest":
        return [[min(math.floor(rnd(ratio * i)), size - 1) for i in range(out)]], None
    first, second, w0, w1 = [], [], [], []
    for i in range(out):
        if out == size:
            i0, lam = i, 0.0
        else:
            if align_corners:
                real = rnd(ratio * i)
            else:
                real = max(rnd(rnd(ratio * (i + 0.5)) - 0.5), 0.0)
            i0 = min(math.floor(real), size - 1)
            lam = min(max(rnd(real - i0), 0.0), 1.0)
        first.append(i0)
        second.append(i0 + (1 if i0 < size - 1 else 0))
        w0.append(rnd(1.0 - lam))
        w1.append(lam)
    return [first, second], [w0, w1]


_NEAREST_DOC = "Nearest upsampling: output i copies input floor(i * scale). d/dinput sums copies."
_LINEAR_DOC = (
    "Linear upsampling: each output mixes two neighbours with weights 1 - λ and λ. "
    "d/dinput spreads g back with the same weights."
)
UpsampleNearest1D, _ = N._window_pair(
    "UpsampleNearest1D", ("output_size", "scales", "self_sym_sizes"), _NEAREST_DOC, saves=()
)
UpsampleNearest2D, _ = N._window_pair(
    "UpsampleNearest2D",
    ("output_size", "scales_h", "scales_w", "self_sym_sizes"),
    _NEAREST_DOC,
    saves=(),
)
UpsampleLinear1D, _ = N._window_pair(
    "UpsampleLinear1D",
    ("align_corners", "output_size", "scales", "self_sym_sizes"),
    _LINEAR_DOC,
    saves=(),
)
UpsampleBilinear2D, _ = N._window_pair(
    "UpsampleBilinear2D",
    ("align_corners", "output_size", "scales_h", "scales_w", "self_sym_sizes"),
    _LINEAR_DOC,
    saves=(),
)
_UPSAMPLE_OPS = {
    ("nearest", 1): UpsampleNearest1D,
    ("nearest", 2): UpsampleNearest2D,
    ("linear", 1): UpsampleLinear1D,
    ("linear", 2): UpsampleBilinear2D,
}


def upsample(
    input: Tensor,  # noqa: A002
    output_size: tuple[int, ...],
    scales: tuple[float | None, ...],
    mode: str,
    align_corners: bool,
) -> Tensor:
    """Upsample the trailing 1 or 2 dims by ``mode`` ``nearest`` or ``linear`` (bilinear in 2-D).

    The nodes are ``UpsampleNearest1D/2DBackward0``, ``UpsampleLinear1DBackward0`` and
    ``UpsampleBilinear2DBackward0``. ``scales`` are the user's scale factors (None where
    the size was given); like PyTorch they set the source positions when given.
    """
    x = input._data
    xp = backend.namespace(x)
    single = x.dtype == xp.float32
    nsp = len(output_size)
    maps = []
    for j in range(nsp):
        axis = x.ndim - nsp + j
        index, weight = _upsample_axis(
            x.shape[axis], output_size[j], mode, align_corners, scales[j], single
        )
        w = None if weight is None else N._floats(xp, weight, x.dtype, x)
        maps.append((axis, N._ints(xp, index, x), w, x.shape[axis]))
    attrs: dict[str, Any] = {
        "output_size": tuple(output_size),
        "self_sym_sizes": tuple(input.shape),
    }
    if nsp == 1:
        attrs["scales"] = scales[0]
    else:
        attrs["scales_h"], attrs["scales_w"] = scales
    if mode == "linear":
        attrs["align_corners"] = align_corners
    return _UPSAMPLE_OPS[mode, nsp].apply(input, maps=tuple(maps), **attrs)


# ---------------------------------------------------------------------------- pixel shuffle


def _shuffle(xp: Any, x: Any, r: int) -> Any:
    lead = tuple(x.shape[:-3])
    c, h, w = x.shape[-3], x.shape[-2], x.shape[-1]
    k = len(lead)
    y = xp.reshape(x, lead + (c // (r * r), r, r, h, w))
    y = xp.permute_dims(y, tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return xp.reshape(y, lead + (c // (r * r), h * r, w * r))


def _unshuffle(xp: Any, x: Any, r: int) -> Any:
    lead = tuple(x.shape[:-3])
    c, h, w = x.shape[-3], x.shape[-2], x.shape[-1]
    k = len(lead)
    y = xp.reshape(x, lead + (c, h // r, r, w // r, r))
    y = xp.permute_dims(y, tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return xp.reshape(y, lead + (c * r * r, h // r, w // r))


class PixelShuffle(Op):
    """``(*, C r², H, W)`` to ``(*, C, H r, W r)``. d/dinput = pixel_unshuffle(g, r)."""

    node = "PixelShuffleBackward0"
    attrs = ("upscale_factor",)

    @staticmethod
    def forward(ctx: Any, x: Any, upscale_factor: int = 1) -> Any:
        ctx.upscale_factor = upscale_factor
        return _shuffle(backend.namespace(x), x, upscale_factor)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return PixelUnshuffle.apply(g, downscale_factor=ctx.upscale_factor)


class PixelUnshuffle(Op):
    """``(*, C, H r, W r)`` to ``(*, C r², H, W)``. d/dinput = pixel_shuffle(g, r)."""

    node = "PixelUnshuffleBackward0"
    attrs = ("downscale_factor",)

    @staticmethod
    def forward(ctx: Any, x: Any, downscale_factor: int = 1) -> Any:
        ctx.downscale_factor = downscale_factor
        return _unshuffle(backend.namespace(x), x, downscale_factor)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return PixelShuffle.apply(g, upscale_factor=ctx.downscale_factor)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """Return ``input`` rearranged from channels into space (``PixelShuffleBackward0``)."""
    return PixelShuffle.apply(input, upscale_factor=upscale_factor)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """Return ``input`` rearranged from space into channels (``PixelUnshuffleBackward0``)."""
    return PixelUnshuffle.apply(input, downscale_factor=downscale_factor)


# ---------------------------------------------------------------------------- transposed conv


def conv_transpose_output_size(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """Return the length of a transposed convolution's output along one dimension."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


class ConvolutionTranspose(Op):
    """N-d transposed convolution: the adjoint of a convolution with respect to its input.

    Forward: one batched matmul per group (Wᵀ x), then col2im. d/dinput = conv(g, W),
    d/dweight = sum over the batch of x · im2col(g)ᵀ, d/dbias = g summed over batch and space.
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
        output_padding: tuple[int, ...] = (),
        dilation: tuple[int, ...] = (),
        groups: int = 1,
    ) -> Any:
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        ctx.transposed = True
        ctx.output_padding = output_padding
        ctx.bias_sym_sizes_opt = None if b is None else tuple(b.shape)
        xp = backend.namespace(x)
        n, cin = x.shape[0], x.shape[1]
        cout_g = w.shape[1]
        kernel = tuple(w.shape[2:])
        k = math.prod(kernel)
        spatial = tuple(x.shape[2:])
        out = tuple(
            conv_transpose_output_size(s, kk, st, p, op, d)
            for s, kk, st, p, op, d in zip(
                spatial, kernel, stride, padding, output_padding, dilation, strict=True
            )
        )
        xr = xp.reshape(x, (n, groups, cin // groups, math.prod(spatial)))
        wr = xp.reshape(w, (1, groups, cin // groups, cout_g * k))
        cols = xp.matmul(xp.permute_dims(wr, (0, 1, 3, 2)), xr)  # (n, groups, cout_g * k, length)
        cols = xp.reshape(cols, (n, groups * cout_g, k) + spatial)
        pairs = tuple((p, p) for p in padding)
        y = N._unpatch(xp, cols, out, kernel, dilation, pairs, stride, spatial)
        if b is not None:
            y = y + xp.reshape(b, (1, groups * cout_g) + (1,) * len(out))
        return y

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        n, cin = x.shape[0], x.shape[1]
        groups = ctx.groups
        cout_g = w.shape[1]
        kernel = tuple(w.shape[2:])
        k = math.prod(kernel)
        spatial = tuple(x.shape[2:])
        length = math.prod(spatial)
        gx = gw = gb = None
        if need[0]:
            gx = N.Convolution.apply(
                g,
                w,
                None,
                stride=ctx.stride,
                padding=ctx.padding,
                dilation=ctx.dilation,
                groups=groups,
            )
            if tuple(gx.shape[2:]) != spatial:
                # NOTE: output_padding >= stride (allowed when below dilation) lengthens the
                # convolution of g by a window; the input never saw it.
                key = (slice(None), slice(None)) + tuple(slice(0, s) for s in spatial)
                gx = S.getitem(gx, key)
        if need[1]:
            cols = N.Im2Col.apply(
                g,
                kernel_size=kernel,
                dilation=ctx.dilation,
                padding=tuple((p, p) for p in ctx.padding),
                stride=ctx.stride,
                output=spatial,
            )
            cols = S.reshape(cols, (n, groups, cout_g * k, length))
            xr = S.reshape(x, (n, groups, cin // groups, length))
            gw = S.reshape(R.sum(L.matmul(xr, S.transpose(cols, 2, 3)), 0), tuple(w.shape))
        if need[2]:
            gb = R.sum(g, (0,) + tuple(range(2, g.ndim)))
        return gx, gw, gb


def conv_transpose(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_padding: tuple[int, ...],
    groups: int,
    dilation: tuple[int, ...],
) -> Tensor:
    """Return the batched N-d transposed convolution of ``input`` (``ConvolutionBackward0``)."""
    return ConvolutionTranspose.apply(
        input,
        weight,
        bias,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )
