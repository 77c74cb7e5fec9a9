"""More of ``torch.nn.functional``: pooling, normalisation, resizing, transposed convolution.

Covers 1-D and adaptive max pooling, group and instance norm, interpolation, pixel shuffle
and transposed convolution.

Same names, signatures, defaults, node names and error messages as PyTorch 2.13. Where
PyTorch builds an op from several nodes, so does gradviz: ``max_pool1d`` is
``SqueezeBackward1`` over ``MaxPool2DWithIndicesBackward0`` over ``UnsqueezeBackward0``,
``instance_norm`` is ``ViewBackward0`` over ``NativeBatchNormBackward0`` over a view of the
input (and ``RepeatBackward0`` of the affine parameters). The kernels live in
:mod:`gradviz.engine.ops.nn_more` and :mod:`gradviz.engine.ops.nn`.

Where gradviz differs from PyTorch: ``interpolate`` supports the modes ``nearest`` (3-D and
4-D input), ``linear`` (3-D), ``bilinear`` (4-D, without ``antialias``) and ``area`` (3-D
and 4-D); the other modes raise ``NotImplementedError`` saying so.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from gradviz.engine import backend
from gradviz.engine import dtypes as _dt
from gradviz.engine.grad_mode import no_grad
from gradviz.engine.ops import nn as _nn
from gradviz.engine.ops import nn_more as _more
from gradviz.engine.ops import reduction as _R  # noqa: N812
from gradviz.engine.ops import shape as _S  # noqa: N812
from gradviz.engine.ops._base import const as _const
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as _F  # noqa: N812 - only used at call time (no cycle)

__all__ = [
    "max_pool1d",
    "avg_pool1d",
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "group_norm",
    "instance_norm",
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "conv_transpose1d",
    "conv_transpose2d",
]

# ---------------------------------------------------------------------------- helpers


def _ints(value: Any) -> list[int]:
    """``value`` as a list of ints (an int becomes a one-element list)."""
    if isinstance(value, (list, tuple)):
        return [operator.index(v) for v in value]
    return [operator.index(value)]


def _dim_range(input: Tensor, fn: str) -> None:  # noqa: A002
    """PyTorch's ``checkDimRange(2, 4)`` for the 1-D pooling functions."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {fn})"
        )


def _check1d(fn: str, name: str, value: Any) -> int:
    """PyTorch's ``check1d``: exactly one int."""
    values = _ints(value)
    if len(values) != 1:
        raise RuntimeError(f"{fn}() argument '{name}' should contain one int (got {len(values)})")
    return values[0]


# ---------------------------------------------------------------------------- pooling


def max_pool1d(
    input: Tensor,  # noqa: A002
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Return the 1-D max pooling of ``(N, C, L)`` or ``(C, L)`` input.

    The graph is PyTorch's: ``SqueezeBackward1`` over ``MaxPool2DWithIndicesBackward0``
    over ``UnsqueezeBackward0``. With ``return_indices`` the index of each maximum along
    ``L`` is returned too.

    Args:
        input: the signal.
        kernel_size: the window length (an int or a 1-sequence).
        stride: the step between windows; the kernel size when None.
        padding: implicit -inf padding on both sides, at most half the kernel.
        dilation: the spacing between window elements.
        ceil_mode: round the output length up instead of down.
        return_indices: also return the indices of the maxima.

    Raises:
        RuntimeError: bad input rank, kernel, stride, padding or dilation, an empty dim
            other than the batch, or an empty output (PyTorch's messages).
        NotImplementedError: ``input`` is not floating point (without ``return_indices``)
            or is bool.
    """
    if return_indices:
        # PyTorch's max_pool1d_with_indices: max_pool2d's checks of the unsqueezed input.
        _dim_range(input, "max_pool1d")
        _F._check_pool_input(_S.unsqueeze(input, -2))
    elif input.ndim not in (2, 3) or 0 in tuple(input.shape[input.ndim - 2 :]):
        raise RuntimeError(
            "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{list(input.shape)}"
        )
    kernel = _ints(kernel_size)
    steps = [] if stride is None else _ints(stride)
    pads, dils = _ints(padding), _ints(dilation)
    for name, given in (("kernel_size", kernel), ("stride", steps), ("padding", pads)):
        if len(given) != 1 and not (name == "stride" and not given):
            article = (
                "an int, list of ints or" if name == "kernel_size" else "an int, list of ints,"
            )
            raise RuntimeError(
                f"max_pool1d() {name} must be {article} tuple of ints of size 1 but got size "
                f"{len(given)}"
            )
    if len(dils) != 1:
        raise RuntimeError(
            "max_pool1d() dilation must be an int, list of ints, or tuple of ints of size 1 but "
            f"got size {len(dils)}"
        )
    k, p, d = kernel[0], pads[0], dils[0]
    s = steps[0] if steps else k
    if k <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(
            "max_pool1d() padding should be at most half of kernel size, but got "
            f"padding={p} and kernel_size={k}"
        )
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    out = _nn.pool_output_size(input.shape[-1], k, s, p, d, bool(ceil_mode))
    if out <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {out}")
    if return_indices:
        if input.dtype == _dt.bool:
            _F._check_pool_dtype("max_pool2d", input, integers=False)
    else:
        _F._check_pool_dtype("max_pool1d_impl", input, integers=False)
    values, indices = _nn.max_pool2d_with_indices(
        _S.unsqueeze(input, -2), (1, k), (1, s), (0, p), (1, d), bool(ceil_mode)
    )
    values = _S.squeeze(values, -2)
    if return_indices:
        return values, _S.squeeze(indices, -2)
    return values


def avg_pool1d(
    input: Tensor,  # noqa: A002
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Return the 1-D average pooling of ``(N, C, L)`` or ``(C, L)`` input.

    The graph is PyTorch's: ``SqueezeBackward1`` over ``AvgPool2DBackward0`` over
    ``UnsqueezeBackward0``.

    Args:
        input: the signal.
        kernel_size: the window length (an int or a 1-sequence).
        stride: the step between windows; the kernel size when None.
        padding: implicit zero padding on both sides, at most half the kernel.
        ceil_mode: round the output length up instead of down.
        count_include_pad: count the padding zeros in the average's divisor.

    Raises:
        RuntimeError: bad input rank or arguments, or an empty output (PyTorch's messages).
    """
    _dim_range(input, "avg_pool1d")
    k = _check1d("avg_pool1d", "kernel_size", kernel_size)
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    s = k if no_stride else _check1d("avg_pool1d", "stride", stride)
    p = _check1d("avg_pool1d", "padding", padding)
    out = _F.avg_pool2d(
        _S.unsqueeze(input, -2), (1, k), (1, s), (0, p), ceil_mode, count_include_pad
    )
    return _S.squeeze(out, -2)


def _adaptive_size_1d(fn: str, output_size: Any) -> int:
    size = _check1d(fn, "output_size", output_size)
    if size < 0:
        raise RuntimeError(
            "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 "
            f"but received {{1, {size}}}"
        )
    return size


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Return adaptive 1-D average pooling of ``(N, C, L)`` or ``(C, L)`` input.

    The graph is ``SqueezeBackward1`` over ``AdaptiveAvgPool2DBackward0`` (``MeanBackward1``
    for ``output_size`` 1) over ``UnsqueezeBackward0``, as in PyTorch.

    Raises:
        RuntimeError: the input is not 2-D or 3-D, or ``output_size`` is not one
            non-negative int.
    """
    _dim_range(input, "adaptive_avg_pool1d")
    size = _adaptive_size_1d("adaptive_avg_pool1d", output_size)
    return _S.squeeze(_F.adaptive_avg_pool2d(_S.unsqueeze(input, -2), (1, size)), -2)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:  # noqa: A002
    """Return adaptive 1-D max pooling of ``(N, C, L)`` or ``(C, L)`` input.

    The graph is ``SqueezeBackward1`` over ``AdaptiveMaxPool2DBackward0`` over
    ``UnsqueezeBackward0``, as in PyTorch.

    Raises:
        RuntimeError: the input is not 2-D or 3-D, or ``output_size`` is not one int.
    """
    _dim_range(input, "adaptive_max_pool1d")
    size = _check1d("adaptive_max_pool1d", "output_size", output_size)
    _F._check_non_empty("adaptive_max_pool1d", input, range(1, input.ndim))
    values, indices = _adaptive_max(_S.unsqueeze(input, -2), (1, size))
    values = _S.squeeze(values, -2)
    return (values, _S.squeeze(indices, -2)) if return_indices else values


def _adaptive_max(input: Tensor, sizes: tuple[int, int]) -> tuple[Tensor, Tensor]:  # noqa: A002
    _F._check_non_empty("adaptive_max_pool2d", input, range(1, input.ndim))
    _F._check_pool_dtype("adaptive_max_pool2d", input, integers=False)
    shape = tuple(input.shape[:-2]) + sizes
    if any(s < 0 for s in sizes):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(sizes)}: {list(shape)}"
        )
    if 0 in sizes:
        data = input._data
        int64 = backend.namespace(data).int64
        return _const(backend.zeros(data, shape)), _const(backend.zeros(data, shape, int64))
    return _more.adaptive_max_pool2d(input, sizes)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:  # noqa: A002
    """Return adaptive 2-D max pooling of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    The node is ``AdaptiveMaxPool2DBackward0``. Output cell ``i`` takes the maximum of
    input rows ``floor(i*H/oh)`` to ``ceil((i+1)*H/oh)``; with ``return_indices`` the flat
    ``H*W`` index of each maximum is returned too.

    Args:
        input: the image batch.
        output_size: an int, or a pair whose entries may be None (keep that size).
        return_indices: also return the indices of the maxima.

    Raises:
        ValueError: ``output_size`` has more entries than the input has dims.
        RuntimeError: the input is not 3-D or 4-D, or ``output_size`` is not 2 values
            (PyTorch's messages).
    """
    if isinstance(output_size, (list, tuple)):
        if len(input.shape) <= len(output_size):
            raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
        defaults = tuple(input.shape[-len(output_size) :]) if output_size else ()
        sizes = [
            d if v is None else operator.index(v)
            for v, d in zip(output_size, defaults, strict=True)
        ]
    else:
        sizes = [operator.index(output_size)] * 2
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}"
        )
    if len(sizes) != 2:
        raise RuntimeError("adaptive_max_pool2d(): internal error: output_size.size() must be 2")
    values, indices = _adaptive_max(input, (sizes[0], sizes[1]))
    return (values, indices) if return_indices else values


# ---------------------------------------------------------------------------- normalisation


def group_norm(
    input: Tensor,  # noqa: A002
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each of ``num_groups`` channel groups per sample (``NativeGroupNormBackward0``).

    Args:
        input: ``(N, C, *)``.
        num_groups: how many groups to split the ``C`` channels into.
        weight: per-channel scale ``(C,)``, or None.
        bias: per-channel shift ``(C,)``, or None.
        eps: added to the variance.

    Raises:
        RuntimeError: fewer than 2 dims, ``C`` not divisible by ``num_groups``, or a weight
            or bias of the wrong size (PyTorch's messages).
        ValueError: one value per group.
    """
    if input.ndim < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.ndim}"
        )
    shape = list(input.shape)
    size = [shape[0] * shape[1] // num_groups, num_groups] + shape[2:]
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )
    c = shape[1]
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {shape} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape {shape}"
            )
    return _more.native_group_norm(input, weight, bias, num_groups, eps)[0]


def instance_norm(
    input: Tensor,  # noqa: A002
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample over its spatial dims.

    As in PyTorch, this is batch norm of the input viewed as ``(1, N*C, *)``: the graph is
    ``ViewBackward0`` over ``NativeBatchNormBackward0`` over ``ViewBackward0`` of the input
    and ``RepeatBackward0`` of ``weight`` and ``bias``. Running statistics, when given, are
    updated in place with the mean over the batch of the per-sample updates.

    Raises:
        ValueError: one spatial element while using input statistics.
        RuntimeError: no running statistics with ``use_input_stats=False``, or a parameter
            with the wrong number of elements (PyTorch's messages).
    """
    size = list(input.shape)
    if use_input_stats and math.prod(size[2:]) == 1:
        raise ValueError(
            "Expected more than 1 spatial element when training, got input size "
            f"{_F._torch_size(size)}"
        )
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError(
            "Expected running_mean and running_var to be defined when use_input_stats is false"
        )
    b, c = size[0], size[1]

    def repeated(t: Tensor | None) -> Tensor | None:
        return None if t is None else _S.repeat(t, b)

    stats = [repeated(t.detach()) if t is not None else None for t in (running_mean, running_var)]
    x = _S.view(input.contiguous(), [1, b * c] + size[2:])
    out = _F.batch_norm(
        x, stats[0], stats[1], repeated(weight), repeated(bias), use_input_stats, momentum, eps
    )
    with no_grad():
        for target, updated in zip((running_mean, running_var), stats, strict=True):
            if target is not None and updated is not None:
                target.copy_(_R.mean(_S.view(updated, (b, c)), 0))
    return _S.view(out, size)


# ---------------------------------------------------------------------------- interpolation

_INTERPOLATE_MODES = (
    "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
)
_WRONG_RANK = {
    (3, "bilinear"): "Got 3D input, but bilinear mode needs 4D input",
    (3, "trilinear"): "Got 3D input, but trilinear mode needs 5D input",
    (4, "linear"): "Got 4D input, but linear mode needs 3D input",
    (4, "trilinear"): "Got 4D input, but trilinear mode needs 5D input",
    (5, "linear"): "Got 5D input, but linear mode needs 3D input",
    (5, "bilinear"): "Got 5D input, but bilinear mode needs 4D input",
}
_SUPPORTED = {(3, "nearest"), (4, "nearest"), (3, "linear"), (4, "bilinear")}


def _is_integer(x: Any) -> bool:
    return isinstance(x, int) or (isinstance(x, Tensor) and not x.dtype.is_floating_point)


def _interpolate_sizes(
    input: Tensor,  # noqa: A002
    size: Any,
    scale_factor: Any,
    recompute_scale_factor: bool | None,
) -> tuple[list[int] | None, list[float] | None]:
    """Return PyTorch's ``(output_size, scale_factors)`` for ``interpolate`` (one is None)."""
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    scale_factors: list[float] | None = None
    output_size: list[int] | None = None
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(input.shape[2:])} and output size "
                    f"of {size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format."
                )
            if not all(_is_integer(x) for x in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(x) for x in size]}"
                )
            output_size = [operator.index(s) for s in size]
        else:
            output_size = [operator.index(size)] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(input.shape[2:])} and "
                    f"scale_factor of shape {scale_factor}. Please provide input tensor in (N, C, "
                    "d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format."
                )
            scale_factors = [float(s) for s in scale_factor]
        else:
            scale_factors = [float(scale_factor)] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    return output_size, scale_factors


def _check_upsample_sizes(input: Tensor, out: list[int]) -> None:  # noqa: A002
    if all(s > 0 for s in input.shape[2:]) and all(s > 0 for s in out):
        return
    if len(out) == 1:
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input "
            f"(W: {input.shape[-1]}) and output (W: {out[0]})"
        )
    raise RuntimeError(
        "Input and output sizes should be greater than 0, but got input "
        f"(H: {input.shape[-2]}, W: {input.shape[-1]}) output (H: {out[0]}, W: {out[1]})"
    )


def interpolate(
    input: Tensor,  # noqa: A002
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of ``(N, C, L)`` or ``(N, C, H, W)`` input.

    The nodes are PyTorch's: ``UpsampleNearest1DBackward0``, ``UpsampleNearest2DBackward0``,
    ``UpsampleLinear1DBackward0``, ``UpsampleBilinear2DBackward0``; ``area`` is adaptive
    average pooling. Source positions are computed as PyTorch's CPU kernels do (in the
    input's precision), so the same pixels are picked.

    Args:
        input: the batch to resize.
        size: the output size (an int, or one int per spatial dim).
        scale_factor: the multiplier of each spatial size (a float or one per dim).
        mode: ``nearest``, ``linear`` (3-D), ``bilinear`` (4-D) or ``area``.
        align_corners: for ``linear``/``bilinear``: map the corner pixels onto each other.
        recompute_scale_factor: compute the scales from the output size instead of using
            ``scale_factor``.
        antialias: not supported (PyTorch's bilinear anti-aliasing).

    Raises:
        ValueError: both or neither of ``size`` and ``scale_factor``, lengths that do not
            match the input, ``align_corners`` with a non-interpolating mode.
        TypeError: non-integer sizes.
        NotImplementedError: a mode that does not fit the input's rank, or that gradviz
            does not implement.
        RuntimeError: an empty input or output size.

    Example:
        >>> import gradviz
        >>> import gradviz.nn.functional_more as F
        >>> F.interpolate(gradviz.ones(1, 1, 2, 2), scale_factor=2).shape
        gradviz.Size([1, 1, 4, 4])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: linear | "
                "bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    output_size, scale_factors = _interpolate_sizes(
        input, size, scale_factor, recompute_scale_factor
    )
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if recompute_scale_factor and scale_factors is not None:
        output_size = [int(input.shape[i + 2] * scale_factors[i]) for i in range(dim)]
        scale_factors = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
            "requires a 4-D tensor as input"
        )
    if mode == "area" and input.ndim in (3, 4) and output_size is not None:
        pool = adaptive_avg_pool1d if input.ndim == 3 else _F.adaptive_avg_pool2d
        return pool(input, output_size if input.ndim == 4 else output_size[0])
    if (input.ndim, mode) in _WRONG_RANK:
        raise NotImplementedError(_WRONG_RANK[input.ndim, mode])
    if (input.ndim, mode) not in _SUPPORTED or antialias:
        if input.ndim in (3, 4, 5) and mode in _INTERPOLATE_MODES.split(" | "):
            raise NotImplementedError(
                f"interpolate: mode '{mode}' with {input.ndim}D input"
                f"{' and antialias=True' if antialias else ''} is not implemented in gradviz. "
                "Supported: nearest (3D, 4D), linear (3D), bilinear (4D), area (3D, 4D)."
            )
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: {_INTERPOLATE_MODES} (got {mode})"
        )
    if output_size is None:
        assert scale_factors is not None  # one of the two is always set above
        output_size = [int(input.shape[i + 2] * scale_factors[i]) for i in range(dim)]
    _check_upsample_sizes(input, output_size)
    scales: tuple[float | None, ...] = (
        tuple(scale_factors) if scale_factors is not None else (None,) * dim
    )
    upsample_mode = "linear" if mode == "bilinear" and input.ndim == 4 else mode
    return _more.upsample(input, tuple(output_size), scales, upsample_mode, bool(align_corners))


# ---------------------------------------------------------------------------- pixel shuffle


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """Move ``r²`` channel blocks into ``r x r`` pixels (``PixelShuffleBackward0``).

    ``(*, C r², H, W)`` becomes ``(*, C, H r, W r)``.

    Raises:
        RuntimeError: fewer than 3 dims, a non-positive factor, or channels not divisible
            by ``r²`` (PyTorch's messages).
    """
    if input.ndim < 3:
        raise RuntimeError(
            "pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    r = operator.index(upscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c = input.shape[-3]
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    return _more.pixel_shuffle(input, r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """Move ``r x r`` pixel blocks into channels (``PixelUnshuffleBackward0``).

    ``(*, C, H r, W r)`` becomes ``(*, C r², H, W)``.

    Raises:
        RuntimeError: fewer than 3 dims, a non-positive factor, or a height or width not
            divisible by ``r`` (PyTorch's messages).
    """
    if input.ndim < 3:
        raise RuntimeError(
            "pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    r = operator.index(downscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for name, axis in (("height", -2), ("width", -1)):
        if input.shape[axis] % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({axis})={input.shape[axis]} is not divisible by {r}"
            )
    return _more.pixel_unshuffle(input, r)


# ---------------------------------------------------------------------------- transposed conv


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    values = _ints(value)
    return tuple(values) if len(values) != 1 else (values[0],) * n


def _conv_transpose(
    name: str,
    nsp: int,
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Tensor:
    _F._check_tensor(name, "input", 1, input)
    _F._check_tensor(name, "weight", 2, weight)
    stride_t = _tuple(stride, nsp)
    _F._check_conv_rank(name, nsp, input, weight, stride_t)
    padding_t = _tuple(padding, nsp)
    output_padding_t = _tuple(output_padding, nsp)
    dilation_t = _tuple(dilation, nsp)
    batched = input.ndim == nsp + 2
    x = input if batched else _S.unsqueeze(input, 0)
    _F._check_conv_ranges(weight, stride_t, padding_t, dilation_t, groups, output_padding_t)
    wshape = list(weight.shape)
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {wshape}, expected input{list(x.shape)} to have "
            f"{weight.shape[0]} channels, but got {x.shape[1]} channels instead"
        )
    out_channels = weight.shape[1] * groups
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(
            f"Given transposed=1, weight of size {wshape}, expected bias to be 1-dimensional "
            f"with {out_channels} elements, but got bias of size {list(bias.shape)} instead"
        )
    # NOTE: PyTorch runs 1-D convolutions as 2-D ones, so its messages show a leading height.
    lead = 2 - nsp if nsp < 2 else 0

    def shown(values: Any, fill: int) -> list[int]:
        return [fill] * lead + list(values)

    if any(
        op >= s and op >= d for op, s, d in zip(output_padding_t, stride_t, dilation_t, strict=True)
    ):
        parts = []
        for label, values, fill in (
            ("output_padding", output_padding_t, 0),
            ("stride", stride_t, 1),
            ("dilation", dilation_t, 1),
        ):
            h, w = shown(values, fill)[-2:]
            parts.append(f"{label}_height: {h} {label}_width: {w}")
        got = " ".join(parts)
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got {got}"
        )
    out = [
        _more.conv_transpose_output_size(s, kk, st, p, op, d)
        for s, kk, st, p, op, d in zip(
            x.shape[2:],
            weight.shape[2:],
            stride_t,
            padding_t,
            output_padding_t,
            dilation_t,
            strict=True,
        )
    ]
    if any(o <= 0 for o in out):
        sizes = " x ".join(str(s) for s in shown(x.shape[2:], 1))
        outs = " x ".join(str(o) for o in shown(out, 1))
        raise RuntimeError(
            f"Given input size per channel: ({sizes}). Calculated output size per channel: "
            f"({outs}). Output size is too small"
        )
    _F._check_conv_dtypes(input, weight, bias)
    y = _more.conv_transpose(
        x, weight, bias, stride_t, padding_t, output_padding_t, groups, dilation_t
    )
    return y if batched else _S.squeeze(y, 0)


def conv_transpose1d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Return the 1-D transposed convolution of ``(N, C_in, L)`` or ``(C_in, L)`` input.

    The node is ``ConvolutionBackward0`` (``transposed=True``). The output length is
    ``(L - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1``.

    Args:
        input: the signal.
        weight: ``(in_channels, out_channels / groups, kernel)``.
        bias: ``(out_channels,)`` or None.
        stride: an int or a 1-tuple.
        padding: ``dilation * (kernel - 1) - padding`` zeros are added to both sides.
        output_padding: extra length added to one side of the output.
        groups: split the channels into this many independent groups.
        dilation: an int or a 1-tuple.

    Raises:
        TypeError: ``input`` or ``weight`` is not a Tensor.
        RuntimeError: bad shapes, dtypes or arguments (PyTorch's messages).
    """
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Return the 2-D transposed convolution of ``(N, C_in, H, W)`` or ``(C_in, H, W)`` input.

    The node is ``ConvolutionBackward0`` (``transposed=True``).

    Args:
        input: the image batch.
        weight: ``(in_channels, out_channels / groups, kH, kW)``.
        bias: ``(out_channels,)`` or None.
        stride: an int or a pair.
        padding: ``dilation * (kernel - 1) - padding`` zeros are added to each side.
        output_padding: extra size added to one side of each output dim.
        groups: split the channels into this many independent groups.
        dilation: an int or a pair.

    Raises:
        TypeError: ``input`` or ``weight`` is not a Tensor.
        RuntimeError: bad shapes, dtypes or arguments (PyTorch's messages).
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
