"""PyTorch's ``torch.nn.functional`` for gradviz tensors.

Same names, signatures, defaults, node names and error messages as PyTorch 2.13:
``F.linear`` builds ``AddmmBackward0`` over ``TBackward0``, ``F.cross_entropy`` builds
``NllLossBackward0`` over ``LogSoftmaxBackward0``, ``F.dropout`` in training builds
``MulBackward0`` with a constant mask, and so on. This module checks arguments and
composes the engine's ops (``gradviz.engine.ops``); the kernels and backward formulas
live there.

Where gradviz differs from PyTorch: random masks (dropout) come from gradviz's own
generator, so they are not PyTorch's numbers; ``sparse=True`` embeddings are refused;
composite formulas that PyTorch writes with Scalar overloads (``MulBackward1``,
``DivBackward1``: label smoothing, probability targets) use the tensor overloads here.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Sequence
from typing import Any

from gradviz.engine import backend
from gradviz.engine import creation as _creation
from gradviz.engine import dtypes as _dt
from gradviz.engine.dtypes import get_default_dtype
from gradviz.engine.function import _type_name, infer_size
from gradviz.engine.grad_mode import no_grad
from gradviz.engine.ops import activation as _A  # noqa: N812
from gradviz.engine.ops import linalg as _L  # noqa: N812
from gradviz.engine.ops import nn as _nn
from gradviz.engine.ops import pointwise as _P  # noqa: N812
from gradviz.engine.ops import reduction as _R  # noqa: N812
from gradviz.engine.ops import shape as _S  # noqa: N812
from gradviz.engine.ops import shape_more as _shape_more
from gradviz.engine.ops._base import const as _const
from gradviz.engine.ops._base import norm_dim as _norm_dim
from gradviz.engine.ops._base import norm_dims as _norm_dims
from gradviz.engine.tensor import Tensor
from gradviz.nn import _reduction as _red

__all__ = [
    "linear",
    "bilinear",
    "relu",
    "relu_",
    "relu6",
    "hardtanh",
    "leaky_relu",
    "gelu",
    "silu",
    "elu",
    "softplus",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "dropout",
    "scaled_dot_product_attention",
    "dropout1d",
    "dropout2d",
    "prelu",
    "selu",
    "celu",
    "mish",
    "softsign",
    "hardswish",
    "hardsigmoid",
    "threshold",
    "threshold_",
    "logsigmoid",
    "glu",
    "softmin",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "pairwise_distance",
    "conv1d",
    "conv2d",
    "conv3d",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "layer_norm",
    "batch_norm",
    "embedding",
    "one_hot",
    "pad",
    "normalize",
    "cosine_similarity",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
]

# ---------------------------------------------------------------------------- helpers


def _torch_size(shape: Sequence[int]) -> str:
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def _check_tensor(fn: str, name: str, position: int, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{fn}(): argument '{name}' (position {position}) must be Tensor, not "
            f"{type(x).__name__}"
        )


def _ntuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(operator.index(v) for v in value)
    return (operator.index(value),) * n


def _broadcast_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Expand ``x`` to ``shape`` (``ExpandBackward0``), or return it when it already fits."""
    return x if tuple(x.shape) == shape else _S.expand(x, shape)


def _reduction_enum(reduction: str, size_average: Any = None, reduce: Any = None) -> int:
    """Return PyTorch's reduction enum (0 none, 1 mean, 2 sum), honouring the legacy flags."""
    return _red.reduction_enum(reduction, size_average, reduce, stacklevel=3)


def _broadcast_pair(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:  # noqa: A002
    """Warn like PyTorch when the shapes differ, then broadcast both (``broadcast_tensors``)."""
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({_torch_size(target.shape)}) that is different to the input "
            f"size ({_torch_size(input.shape)}). This will likely lead to incorrect results due "
            "to broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
        shape = infer_size(input.shape, target.shape)
        return _broadcast_to(input, shape), _broadcast_to(target, shape)
    return input, target


def _host_any(mask: Any) -> bool:
    xp = backend.namespace(mask)
    return bool(xp.any(mask))


# ---------------------------------------------------------------------------- linear layers


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """Return ``input @ weight.T + bias``.

    2-D input with a bias is one ``addmm`` (``AddmmBackward0``). Other inputs with a bias
    are viewed as 2-D and back around one ``addmm`` (``ViewBackward0``) when the input is
    contiguous and the bias 1-D; otherwise, and without a bias, they go through ``matmul``,
    then the bias is added (``AddBackward0``), as in PyTorch.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Returns:
        ``(*, out_features)``.

    Raises:
        TypeError: ``input`` or ``weight`` is not a Tensor.
        RuntimeError: the shapes do not fit (PyTorch's messages).

    Example:
        >>> import gradviz
        >>> import gradviz.nn.functional as F
        >>> w = gradviz.ones(3, 2, requires_grad=True)
        >>> F.linear(gradviz.ones(4, 2), w, gradviz.zeros(3)).grad_fn.name()
        'AddmmBackward0'
    """
    _check_tensor("linear", "input", 1, input)
    _check_tensor("linear", "weight", 2, weight)
    x_shape, w_shape = input._data.shape, weight._data.shape
    if not x_shape or not w_shape:
        raise RuntimeError(
            "both arguments to linear need to be at least 1D, but they are "
            f"{len(x_shape)}D and {len(w_shape)}D"
        )
    wt = _S.t(weight)
    if bias is None:
        return _L.matmul(input, wt)
    _check_tensor("linear", "bias", 3, bias)
    if len(x_shape) == 2:
        if len(w_shape) == 2 and x_shape[1] == w_shape[1]:
            _check_expand(bias, (x_shape[0], w_shape[0]))
        return _L.addmm(bias, input, wt)
    if _fusable_bias(bias) and input.is_contiguous():
        # ATen's _flatten_nd_linear; the row count is a product, not -1, which a reshape
        # cannot resolve when the last dim is 0.
        flat = _S.reshape(input, (math.prod(x_shape[:-1]), x_shape[-1]))
        if flat.shape[1] == wt.shape[0] and weight.ndim == 2:
            _check_expand(bias, (flat.shape[0], wt.shape[1]))
        out = _L.addmm(bias, flat, wt)
        return _S.reshape(out, tuple(x_shape[:-1]) + (wt.shape[1],))
    # NOTE: PyTorch adds the bias in place (``output.add_(bias)``): a bias that would widen
    # the output is refused, and one of another float dtype is cast to the output's.
    return _L.matmul(input, wt).add_(bias)


def _fusable_bias(bias: Tensor) -> bool:
    """Whether ATen's linear folds an n-D input into one ``addmm`` with this bias.

    A contiguous bias with one dimension, or one dimension besides size-1 ones
    (``is_bias_likely_fusable``); any other bias is added after a ``matmul``.
    """
    shape = bias._data.shape
    return (len(shape) == 1 or sum(s != 1 for s in shape) == 1) and bias.is_contiguous()


def _check_expand(x: Tensor, shape: tuple[int, ...]) -> None:
    """Raise PyTorch's ``expand`` error when ``x`` does not broadcast to ``shape``."""
    have = x._data.shape
    if (
        have == shape[-1:]
        or len(have) <= len(shape)
        and all(h == s or h == 1 for h, s in zip(reversed(have), reversed(shape), strict=False))
    ):
        return
    with no_grad():
        _S.expand(x, shape)  # raises the error


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Return ``y[..., o] = input1 @ weight[o] @ input2 + bias[o]`` (``TrilinearBackward0``).

    Args:
        input1: ``(*, in1)``.
        input2: ``(*, in2)`` with the same leading dims.
        weight: ``(out, in1, in2)``.
        bias: ``(out,)`` or None.

    Raises:
        RuntimeError: the shapes do not fit (PyTorch's messages).
    """
    _check_tensor("bilinear", "input1", 1, input1)
    _check_tensor("bilinear", "input2", 2, input2)
    _check_tensor("bilinear", "weight", 3, weight)
    if input1.ndim != input2.ndim:
        raise RuntimeError(
            f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}"
        )
    for i in range(input1.ndim - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(
                f"bilinear(): input batch dimensions do not match at dim {i}: got "
                f"{input1.shape[i]} and {input2.shape[i]}"
            )
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
            f"expected {weight.shape[1]}"
        )
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
            f"expected {weight.shape[2]}"
        )
    if bias is not None and bias.shape[0] != weight.shape[0]:
        raise RuntimeError(
            f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but "
            f"expected {weight.shape[0]}"
        )
    x1 = _S.reshape(input1, (-1, input1.shape[-1]))
    x2 = _S.reshape(input2, (-1, input2.shape[-1]))
    out = _S.reshape(_nn.trilinear(x1, weight, x2), tuple(input1.shape[:-1]) + (weight.shape[0],))
    return out if bias is None else out + bias


# ---------------------------------------------------------------------------- activations


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``max(input, 0)`` (``ReluBackward0``), in place when ``inplace``.

    Raises:
        RuntimeError: ``inplace`` on a leaf that requires grad.
    """
    return input.relu_() if inplace else _P.relu(input)


def relu_(input: Tensor) -> Tensor:  # noqa: A002
    """Apply ``relu`` to ``input`` in place and return it."""
    return input.relu_()


def hardtanh(
    input: Tensor,  # noqa: A002
    min_val: float = -1.0,
    max_val: float = 1.0,
    inplace: bool = False,
) -> Tensor:
    """Return ``input`` clamped to ``[min_val, max_val]`` (``HardtanhBackward0``).

    An integer input stays integer: the limits are truncated to its dtype, as PyTorch
    converts them.

    Raises:
        ValueError: ``min_val > max_val``.
        RuntimeError: ``input`` is bool, or an integer limit does not fit its dtype
            (PyTorch's messages).
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if not input.dtype.is_floating_point:
        if input.dtype == _dt.bool:
            raise RuntimeError("Bool inputs not supported for hardtanh")
        # PyTorch reads the limits as int64 first, then converts them to the input's dtype.
        low, high = _int_scalar(min_val, _dt.int64), _int_scalar(max_val, _dt.int64)
        if low < 0 and not input.dtype.is_signed:
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
        min_val, max_val = _int_scalar(low, input.dtype), _int_scalar(high, input.dtype)
    if inplace:
        input._check_inplace()
        return input._write_inplace(_nn.hardtanh(input, min_val, max_val))
    return _nn.hardtanh(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``min(max(input, 0), 6)`` (``HardtanhBackward0``, as in PyTorch)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``input`` where positive, else ``negative_slope * input``.

    ``LeakyReluBackward0``; in place it is ``LeakyReluBackward1``, as in PyTorch.

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    if inplace:  # (the out-of-place op checks the dtype itself)
        _P.floating_only("leaky_relu", input)
        return _nn.leaky_relu_(input, negative_slope)
    return _P.leaky_relu(input, negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """Return the Gaussian error linear unit (``approximate='tanh'`` for the tanh form).

    Raises:
        RuntimeError: ``approximate`` is neither ``'none'`` nor ``'tanh'``.
        NotImplementedError: ``input`` is not floating point.
    """
    return _P.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``input * sigmoid(input)`` (``SiluBackward0``).

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    if inplace:
        return input._inplace(_P.silu)
    return _P.silu(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``input`` where positive, else ``alpha * (exp(input) - 1)``.

    ``EluBackward0``; in place it is ``EluBackward1``, as in PyTorch.

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    if inplace:  # (the out-of-place op checks the dtype itself)
        _P.floating_only("elu", input)
        return _A.elu_scaled_(input, alpha, 1, 1)
    return _P.elu(input, alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """Return ``log(1 + exp(beta * input)) / beta``, linear where ``beta * input > threshold``.

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    return _P.softplus(input, beta, threshold)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``1 / (1 + exp(-input))`` (``SigmoidBackward0``)."""
    return _P.sigmoid(input)


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``tanh(input)`` (``TanhBackward0``)."""
    return _P.tanh(input)


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(
    input: Tensor,  # noqa: A002
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: Any = None,
) -> Tensor:
    """Return ``exp(input) / sum(exp(input))`` along ``dim`` (``SoftmaxBackward0``).

    Without ``dim`` it warns and picks one as PyTorch does (0 for 0-, 1- and 3-D input,
    else 1). ``dtype`` converts the input first.
    """
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _R.softmax(input, dim, dtype)


def log_softmax(
    input: Tensor,  # noqa: A002
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: Any = None,
) -> Tensor:
    """Return ``log(softmax(input))`` along ``dim``, computed stably (``LogSoftmaxBackward0``)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _R.log_softmax(input, dim, dtype)


def _feature_dropout(
    input: Tensor,  # noqa: A002
    p: float,
    training: bool,
    inplace: bool,
    channel_dim: int | None = 1,
) -> Tensor:
    """Zero whole channels (dims up to ``channel_dim``) with probability ``p``.

    The kept channels are scaled by ``1 / (1 - p)``. With ``channel_dim`` None every
    element is its own channel: plain ``dropout``.
    """
    if not training or p == 0 or input.numel() == 0:
        return input
    if channel_dim is None:
        shape = tuple(input.shape)
    else:
        shape = tuple(input.shape[: channel_dim + 1]) + (1,) * (input.ndim - channel_dim - 1)
    u = _creation.rand(shape, dtype=input.dtype, device=input.device)._data
    xp = backend.namespace(u)
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    mask = _const(xp.astype(u < 1.0 - p, u.dtype) * scale)
    return input.mul_(mask) if inplace else _P.mul(input, mask)


def _check_dropout_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    In training the output is ``input * mask`` (``MulBackward0`` with a constant mask);
    otherwise, or with ``p == 0``, ``input`` itself is returned. The mask comes from
    gradviz's generator (``gradviz.manual_seed``), not PyTorch's.

    Raises:
        ValueError: ``p`` is not in ``[0, 1]``.
    """
    _check_dropout_p(p)
    return _feature_dropout(input, p, training, inplace, channel_dim=None)


def _int_scalar(value: float, dtype: _dt.dtype) -> int:
    """``value`` truncated to the integer ``dtype``, as PyTorch's checked Scalar conversion.

    Raises:
        RuntimeError: ``value`` is NaN or outside the dtype's range (PyTorch's message).
    """
    bits = 8 * dtype.itemsize
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if dtype.is_signed else (0, 2**bits - 1)
    if not low <= value <= high:
        # NOTE: c10's checked_convert names the fixed-width C type (uint8_t), int for int32.
        c_type = "int" if dtype.name == "int32" else f"{dtype.name}_t"
        raise RuntimeError(f"value cannot be converted to type {c_type} without overflow")
    return int(value)


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` where positive, else ``weight * input`` (``PreluKernelBackward0``).

    ``weight`` has one element (shared) or one per channel (dim 1 of ``input``); as in
    PyTorch it is viewed to broadcast along dim 1 (``ViewBackward0``) when ``input`` has
    two or more dims.

    Raises:
        TypeError: ``weight`` is not a Tensor.
        RuntimeError: the dtypes differ, ``weight`` has more than one dim, or its size is
            neither 1 nor the channel count (PyTorch's messages).
        NotImplementedError: ``input`` is not floating point.
    """
    _check_tensor("prelu", "weight", 2, weight)
    if input.dtype != weight.dtype:
        raise RuntimeError(
            "prelu: Type promoting not supported. Got "
            f"{input.dtype.scalar_name} and {weight.dtype.scalar_name}"
        )
    if weight.ndim > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    count = weight.numel()
    if count != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim > 1 else 1
        if channels != count:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {count} and channel size = {channels}."
            )
    _P.floating_only("prelu", input)
    w = weight
    if input.ndim >= 2:
        w = _S.reshape(weight, (1, count) + (1,) * (input.ndim - 2))
    elif weight.ndim != input.ndim:
        w = _S.reshape(weight, (1,) * input.ndim)
    return _A.prelu(input, w)


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``scale * elu(input, alpha)`` with SELU's constants (``EluBackward0``).

    In place it is ``EluBackward1``, as in PyTorch.

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    _P.floating_only("elu", input)
    if inplace:
        return _A.elu_scaled_(input, _A.SELU_ALPHA, _A.SELU_SCALE, 1.0)
    return _A.elu_scaled(input, _A.SELU_ALPHA, _A.SELU_SCALE, 1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (``CeluBackward0``).

    In place it is ``CeluBackward1``, as in PyTorch.

    Raises:
        RuntimeError: ``alpha`` is 0.
        NotImplementedError: ``input`` is not floating point.
    """
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    _P.floating_only("elu", input)
    return _A.celu_(input, alpha) if inplace else _A.celu(input, alpha)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``input * tanh(softplus(input))`` (``MishBackward0``).

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    _P.floating_only("mish", input)
    return input._inplace(_A.mish) if inplace else _A.mish(input)


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input / (1 + |input|)``; composite as in PyTorch (``DivBackward0``)."""
    return input / (_P.abs(input) + 1)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``input * relu6(input + 3) / 6`` (``HardswishBackward0``).

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    _P.floating_only("hardswish", input)
    return input._inplace(_A.hardswish) if inplace else _A.hardswish(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """Return ``relu6(input + 3) / 6`` (``HardsigmoidBackward0``).

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    _P.floating_only("hardsigmoid", input)
    return input._inplace(_A.hardsigmoid) if inplace else _A.hardsigmoid(input)


def threshold(
    input: Tensor,  # noqa: A002
    threshold: float,
    value: float,
    inplace: bool = False,
) -> Tensor:
    """Return ``input`` where it is above ``threshold``, else ``value`` (``ThresholdBackward0``).

    In place it is ``ThresholdBackward1``, as in PyTorch. For an integer input both numbers
    are truncated to its dtype, as PyTorch converts them.

    Raises:
        NotImplementedError: ``input`` is bool.
        RuntimeError: ``threshold`` or ``value`` does not fit an integer ``input``'s dtype.
    """
    if not input.dtype.is_floating_point:
        threshold, value = _int_limits("threshold", input, threshold, value)
    if inplace:
        return _A.threshold_(input, threshold, value)
    return _A.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """Apply ``threshold`` to ``input`` in place and return it (``ThresholdBackward1``).

    Raises:
        NotImplementedError: ``input`` is bool.
        RuntimeError: ``threshold`` or ``value`` does not fit an integer ``input``'s dtype.
    """
    if not input.dtype.is_floating_point:
        threshold, value = _int_limits("threshold", input, threshold, value)
    return _A.threshold_(input, threshold, value)


def _int_limits(kernel: str, x: Tensor, *values: float) -> list[int]:
    """``values`` as ``x``'s integer dtype converts them, or PyTorch's error for a bool ``x``."""
    if x.dtype == _dt.bool:
        _P.floating_only(kernel, x)
    return [_int_scalar(v, x.dtype) for v in values]


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``log(sigmoid(input))``, computed stably (``LogSigmoidBackward0``).

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    _P.floating_only("log_sigmoid", input)
    return _A.log_sigmoid(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """Return ``a * sigmoid(b)`` for the two halves ``a, b`` of ``input`` along ``dim``.

    ``GluBackward0``.

    Raises:
        RuntimeError: ``input`` is 0-d, or its size along ``dim`` is odd.
        IndexError: ``dim`` is out of range.
        NotImplementedError: ``input`` is not floating point.
    """
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = _norm_dim(dim, input.ndim)
    size = input.shape[axis]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {size}")
    _P.floating_only("glu", input)
    return _A.glu(input, dim, axis)


def softmin(
    input: Tensor,  # noqa: A002
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: Any = None,
) -> Tensor:
    """Return ``softmax(-input, dim)`` (``SoftmaxBackward0`` after ``NegBackward0``).

    Without ``dim`` it warns and picks one as PyTorch does. ``dtype`` converts first.
    """
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    return _R.softmax(-input, dim, dtype)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input - tanh(input)``; composite as in PyTorch (``SubBackward0``)."""
    return input - _P.tanh(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """Return ``input`` moved toward 0 by ``lambd``, 0 within ``[-lambd, lambd]``.

    ``SoftshrinkBackward0``.

    Raises:
        NotImplementedError: ``input`` is not floating point.
        RuntimeError: ``lambd`` is negative or above the dtype's largest value.
    """
    _P.floating_only("softshrink_check", input, per_device=False)
    top = float(backend.namespace(input._data).finfo(input._data.dtype).max)
    if lambd < 0 or lambd > top:
        raise RuntimeError(
            f"lambda must be in range [0, {top:g}] for input dtype {input.dtype.scalar_name}, "
            f"but found {lambd:g}"
        )
    return _A.softshrink(input, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """Return ``input`` where ``|input| > lambd``, else 0 (``HardshrinkBackward0``).

    Raises:
        NotImplementedError: ``input`` is not floating point.
    """
    _P.floating_only("hardshrink", input)
    return _A.hardshrink(input, lambd)


def dropout1d(
    input: Tensor,  # noqa: A002
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``.

    The kept channels are scaled by ``1 / (1 - p)`` (``MulBackward0`` with a constant mask
    of shape ``(N, C, 1)``); an unbatched input goes through ``unsqueeze(0)`` and
    ``squeeze(0)`` as in PyTorch. Outside training, or with ``p == 0``, ``input`` itself
    is returned. The mask comes from gradviz's generator, not PyTorch's.

    Raises:
        ValueError: ``p`` is not in ``[0, 1]``.
        RuntimeError: ``input`` is neither 2-D nor 3-D.
    """
    _check_dropout_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. "
            "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
            "spatial dimension, a channel dimension, and an optional batch dimension "
            "(i.e. 2D or 3D inputs)."
        )
    if input.ndim == 3:
        return _feature_dropout(input, p, training, inplace)
    if inplace:
        # NOTE: PyTorch reshapes the tensor itself (unsqueeze_/squeeze_); gradviz has no
        # in-place reshapes, so the (C, L) input is masked per row directly.
        return _feature_dropout(input, p, training, inplace=True, channel_dim=0)
    return _S.squeeze(_feature_dropout(_S.unsqueeze(input, 0), p, training, False), 0)


def dropout2d(
    input: Tensor,  # noqa: A002
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
) -> Tensor:
    """Zero whole channels (dim 1) of ``(N, C, H, W)`` input with probability ``p``.

    The kept channels are scaled by ``1 / (1 - p)`` (``MulBackward0``). As in PyTorch a
    3-D input is taken as ``(N, C, L)`` (channel-wise 1-D dropout) with a warning, and
    other ranks are accepted with a deprecation warning.

    Raises:
        ValueError: ``p`` is not in ``[0, 1]``.
    """
    _check_dropout_p(p)
    ndim = input.ndim
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            UserWarning,
            stacklevel=2,
        )
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace)


# ---------------------------------------------------------------------------- convolution


_CONV_SIGNATURES = (
    " * (Tensor input, Tensor weight, Tensor bias = None, tuple of ints stride = 1, tuple of ints "
    "padding = 0, tuple of ints dilation = 1, int groups = 1)\n"
    " * (Tensor input, Tensor weight, Tensor bias = None, tuple of ints stride = 1, str padding = "
    '"valid", tuple of ints dilation = 1, int groups = 1)\n'
)


def _conv(
    name: str,
    nsp: int,
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        got = ", ".join(type(a).__name__ for a in (input, weight))
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got ({got}), but expected "
            f"one of:\n{_CONV_SIGNATURES}"
        )
    stride_t = _ntuple(stride, nsp)
    dilation_t = _ntuple(dilation, nsp)
    _check_conv_rank(name, nsp, input, weight, stride_t)
    batched = input.ndim == nsp + 2
    x = input if batched else _S.unsqueeze(input, 0)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            padding_t = (0,) * nsp
        elif padding == "same":
            if any(s != 1 for s in stride_t):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            padding_t, x = _same_padding(x, kernel, dilation_t)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding_t = _ntuple(padding, nsp)
    _check_conv_ranges(weight, stride_t, padding_t, dilation_t, groups)
    wshape = list(weight.shape)
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {wshape}, expected input{list(x.shape)} to "
            f"have {weight.shape[1] * groups} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(
            f"Given weight of size {wshape}, expected bias to be 1-dimensional with "
            f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead"
        )
    padded = [s + 2 * p for s, p in zip(x.shape[2:], padding_t, strict=True)]
    dilated = [(kk - 1) * d + 1 for kk, d in zip(kernel, dilation_t, strict=True)]
    if any(kk > s for kk, s in zip(dilated, padded, strict=True)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
            f"size: ({' x '.join(map(str, dilated))}). Kernel size can't be greater than actual "
            "input size"
        )
    _check_conv_dtypes(input, weight, bias)
    out = _nn.convolution(x, weight, bias, stride_t, padding_t, dilation_t, groups)
    return out if batched else _S.squeeze(out, 0)


def _check_conv_rank(
    name: str,
    nsp: int,
    input: Tensor,  # noqa: A002
    weight: Tensor,
    stride: tuple[int, ...],
) -> None:
    """PyTorch's checks of a convolution's input rank and its stride's length."""
    if input.ndim not in (nsp + 1, nsp + 2):
        raise RuntimeError(
            f"Expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) input to {name}, but got "
            f"input of size: {list(input.shape)}"
        )
    k = weight.ndim - 2
    if len(stride) != k or weight.ndim < 3:
        raise RuntimeError(
            f"expected stride to be a single integer value or a list of {k} values to match the "
            f"convolution dimensions, but got stride={list(stride)}"
        )


def _check_conv_ranges(
    weight: Tensor,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    output_padding: tuple[int, ...] = (),
) -> None:
    """PyTorch's range checks of a convolution's (or transposed one's) arguments, in order."""
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if weight.shape[0] < groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {list(weight.shape)} instead"
        )
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{list(weight.shape)}] instead"
        )


def _check_conv_dtypes(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:  # noqa: A002
    """PyTorch's dtype checks of a convolution's input, weight and bias."""
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"Input type ({input.type()}) and weight type ({weight.type()}) should be the same or "
            "input should be a MKLDNN tensor and weight is a dense tensor"
        )
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(
            f"Input type ({input.dtype.c_name}) and bias type ({bias.dtype.c_name}) should be "
            "the same"
        )


def _same_padding(
    x: Tensor, kernel: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[tuple[int, ...], Tensor]:
    """Split padding='same' into symmetric padding plus an extra right pad where it is odd."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    symmetric = tuple(t // 2 for t in totals)
    extra = [t - 2 * s for t, s in zip(totals, symmetric, strict=True)]
    if any(extra):
        warnings.warn(
            "Using padding='same' with even kernel lengths and odd dilation may require a "
            "zero-padded copy of the input be created",
            UserWarning,
            stacklevel=4,
        )
        pads: list[int] = []
        for e in reversed(extra):
            pads += [0, e]
        x = _S.pad(x, pads)
    return symmetric, x


def conv1d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """Return the 1-D convolution of ``(N, C, L)`` or ``(C, L)`` input (``ConvolutionBackward0``).

    Args:
        input: the signal.
        weight: ``(out_channels, in_channels / groups, kernel)``.
        bias: ``(out_channels,)`` or None.
        stride: an int or a 1-tuple.
        padding: an int, a 1-tuple, ``'valid'`` or ``'same'``.
        dilation: an int or a 1-tuple.
        groups: split the channels into this many independent groups.

    Raises:
        RuntimeError: bad shapes, dtypes or arguments (PyTorch's messages).
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """Return the 2-D convolution of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    The node is ``ConvolutionBackward0``.

    Args:
        input: the image batch.
        weight: ``(out_channels, in_channels / groups, kH, kW)``.
        bias: ``(out_channels,)`` or None.
        stride: an int or a pair.
        padding: an int, a pair, ``'valid'`` or ``'same'``.
        dilation: an int or a pair.
        groups: split the channels into this many independent groups.

    Raises:
        RuntimeError: bad shapes, dtypes or arguments (PyTorch's messages).

    Example:
        >>> import gradviz
        >>> import gradviz.nn.functional as F
        >>> F.conv2d(gradviz.ones(1, 1, 4, 4), gradviz.ones(2, 1, 3, 3), padding=1).shape
        gradviz.Size([1, 2, 4, 4])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """Return the 3-D convolution of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input.

    Raises:
        RuntimeError: bad shapes, dtypes or arguments (PyTorch's messages).
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------------------- pooling


def _pool_pair(name: str, value: Any, what: str) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (operator.index(value[0]),) * 2
        if len(value) != 2:
            raise RuntimeError(
                f"{name}: {what} must either be a single int, or a tuple of two ints"
            )
        return operator.index(value[0]), operator.index(value[1])
    v = operator.index(value)
    return v, v


def _pool_args(
    name: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    kernel = _pool_pair(name, kernel_size, "kernel_size")
    no_stride = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    step = kernel if no_stride else _pool_pair(name, stride, "stride")
    pad = _pool_pair(name, padding, "padding")
    dil = _pool_pair(name, dilation, "dilation")
    if step[0] == 0 or step[1] == 0:
        raise RuntimeError("stride should not be zero")
    if kernel[0] <= 0 or kernel[1] <= 0:
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[1]}"
        )
    if step[0] < 0 or step[1] < 0:
        raise RuntimeError(
            f"stride should be greater than zero, but got dH: {step[0]} dW: {step[1]}"
        )
    if dil[0] <= 0 or dil[1] <= 0:
        raise RuntimeError(
            f"dilation should be greater than zero, but got dilationH: {dil[0]} dilationW: {dil[1]}"
        )
    for p in pad:
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    for k, p, d in zip(kernel, pad, dil, strict=True):
        if ((k - 1) * d + 1) // 2 < p:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
    return kernel, step, pad, dil


def _check_pool_output(
    input: Tensor,  # noqa: A002
    kernel: tuple[int, int],
    step: tuple[int, int],
    pad: tuple[int, int],
    dil: tuple[int, int],
    ceil_mode: bool,
) -> None:
    h, w = input.shape[-2], input.shape[-1]
    oh = _nn.pool_output_size(h, kernel[0], step[0], pad[0], dil[0], ceil_mode)
    ow = _nn.pool_output_size(w, kernel[1], step[1], pad[1], dil[1], ceil_mode)
    if oh < 1 or ow < 1:
        c = input.shape[-3]
        raise RuntimeError(
            f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{oh}x{ow}). Output "
            "size is too small"
        )


def _check_pool_input(input: Tensor) -> None:  # noqa: A002
    """PyTorch's pool2d_shape_check of a 3-D or 4-D input: only a batch dim may be empty."""
    if 0 in tuple(input.shape[input.ndim - 3 :]):
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
            f"but got:{list(input.shape)}"
        )


def _check_non_empty(fn: str, input: Tensor, dims: Sequence[int]) -> None:  # noqa: A002
    """PyTorch's check of the adaptive poolings that none of ``dims`` is empty."""
    for i in dims:
        if input.shape[i] == 0:
            raise RuntimeError(
                f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(input.shape)} with dimension {i} being empty"
            )


def _check_pool_dtype(kernel: str, input: Tensor, integers: bool) -> None:  # noqa: A002
    """PyTorch's dtype dispatch of a pooling kernel: floats, and int64 too with ``integers``."""
    dtype = input.dtype
    if not dtype.is_floating_point and not (integers and dtype == _dt.int64):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dtype.scalar_name}'")


def max_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Return the 2-D max pooling of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    The node is ``MaxPool2DWithIndicesBackward0``. With ``return_indices`` the flat
    ``H*W`` index of each maximum is returned too.

    Raises:
        RuntimeError: bad input rank, kernel, stride, padding or dilation, an empty dim
            other than the batch, or an empty output (PyTorch's messages).
        NotImplementedError: ``input`` is bool.
    """
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    _check_pool_input(input)
    kernel, step, pad, dil = _pool_args("max_pool2d", kernel_size, stride, padding, dilation)
    if kernel[1] // 2 < pad[1] or kernel[0] // 2 < pad[0]:
        raise RuntimeError(
            "pad should be smaller than or equal to half of kernel size, but got "
            f"padW = {pad[1]}, padH = {pad[0]}, kW = {kernel[1]}, kH = {kernel[0]}"
        )
    _check_pool_output(input, kernel, step, pad, dil, ceil_mode)
    if input.dtype == _dt.bool:
        _check_pool_dtype("max_pool2d", input, integers=False)
    values, indices = _nn.max_pool2d_with_indices(input, kernel, step, pad, dil, bool(ceil_mode))
    return (values, indices) if return_indices else values


def avg_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Return the 2-D average pooling of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    The node is ``AvgPool2DBackward0``.

    Args:
        input: the image batch.
        kernel_size: an int or a pair.
        stride: an int or a pair; the kernel size when None.
        padding: implicit zero padding on both sides, at most half the kernel.
        ceil_mode: use ceil instead of floor for the output size.
        count_include_pad: count padding zeros in the average's divisor.
        divisor_override: divide every window sum by this instead.

    An int64 input is averaged with truncating division, as in PyTorch.

    Raises:
        IndexError: the input has fewer than 3 dimensions.
        RuntimeError: bad arguments, an empty dim other than the batch, or an empty output
            (PyTorch's messages).
        NotImplementedError: ``input`` is bool or an integer type other than int64.
    """
    if input.ndim < 3:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(input.ndim, 1)}, "
            f"{max(input.ndim, 1) - 1}], but got -3)"
        )
    if input.ndim > 4:
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
            f"but got:{list(input.shape)}"
        )
    _check_pool_input(input)
    kernel, step, pad, dil = _pool_args("avg_pool2d", kernel_size, stride, padding, 1)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _check_pool_output(input, kernel, step, pad, dil, ceil_mode)
    options = (kernel, step, pad, bool(ceil_mode), bool(count_include_pad), divisor_override)
    if not input.dtype.is_floating_point:
        _check_pool_dtype("avg_pool2d", input, integers=True)
        # NOTE: ATen divides int64 window sums with C's truncating division; the float64
        # mean truncates to the same integer (a non-integer quotient is at least 1/divisor
        # away from one, far beyond float64's rounding at these sizes).
        mean = _nn.avg_pool2d(input.to(_dt.float64), *options)
        return _P.trunc(mean).to(input.dtype)
    return _nn.avg_pool2d(input, *options)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Return adaptive 2-D average pooling to ``output_size`` (an int, or a pair, None = keep).

    ``output_size`` 1 is a mean over the last two dims (``MeanBackward1``), as in PyTorch;
    other sizes give ``AdaptiveAvgPool2DBackward0``.

    Raises:
        RuntimeError: ``output_size`` is not 1 or 2 values, or (for sizes other than 1) the
            input is not 3-D or 4-D or its last two dims are empty.
        NotImplementedError: ``input`` is not floating point (for sizes other than 1).
    """
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
        sizes = tuple(
            input.shape[-2 + i] if s is None else operator.index(s)
            for i, s in enumerate(output_size)
        )
    else:
        sizes = (operator.index(output_size),) * 2
    if sizes == (1, 1):
        # NOTE: ATen takes this shortcut before it checks the rank (a 2-D input is fine).
        return _R.mean(input, (-2, -1), keepdim=True)
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}"
        )
    _check_non_empty("adaptive_avg_pool2d", input, (input.ndim - 2, input.ndim - 1))
    _check_pool_dtype("adaptive_avg_pool2d", input, integers=False)
    if sizes[0] == 0 or sizes[1] == 0:
        return _const(backend.zeros(input._data, tuple(input.shape[:-2]) + sizes))
    return _nn.adaptive_avg_pool2d(input, (sizes[0], sizes[1]))


# ---------------------------------------------------------------------------- normalisation


def layer_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (``NativeLayerNormBackward0``).

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: a sequence of the trailing sizes.
        weight: elementwise scale of shape ``normalized_shape``, or None.
        bias: elementwise shift of shape ``normalized_shape``, or None.
        eps: added to the variance.

    Raises:
        TypeError: ``normalized_shape`` is not a sequence.
        RuntimeError: the input, weight or bias shape does not match (PyTorch's messages).
    """
    if not isinstance(normalized_shape, (list, tuple)):
        raise TypeError(
            "layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
            f"{type(normalized_shape).__name__}"
        )
    shape = tuple(operator.index(s) for s in normalized_shape)
    n = len(shape)
    if input.ndim < n or tuple(input.shape[input.ndim - n :]) != shape:
        star = ", ".join(["*"] + [str(s) for s in shape])
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [{star}], but got "
            f"input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{list(t.shape)} and normalized_shape = {list(shape)}"
            )
    return _nn.native_layer_norm(input, shape, weight, bias, eps)[0]


def batch_norm(
    input: Tensor,  # noqa: A002
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) over batch and space (``NativeBatchNormBackward0``).

    In training the batch statistics are used and the running ones (when given) updated
    in place: ``running = (1 - momentum) * running + momentum * batch`` (unbiased
    variance). In evaluation the running statistics are used.

    An empty input (an empty batch) takes ATen's shortcut, before any other check: the
    running statistics are left alone and the output is ``input.clone() * weight[0] +
    bias[0]`` (``AddBackward0``), so the gradient chain reaches the parameters.

    Raises:
        ValueError: training with one value per channel.
        RuntimeError: missing running statistics in evaluation, or a parameter with the
            wrong number of elements (PyTorch's messages).
        IndexError: an empty input with an empty ``weight`` or ``bias`` (PyTorch's message).
    """
    if input.numel() == 0:
        # NOTE: ATen's _batch_norm_impl_index: "don't return view of input, don't return
        # empty tensor because it will break gradient chain".
        out = _S.clone(input)
        if weight is not None:
            out = out * _shape_more.select(weight, 0, 0)
        if bias is not None:
            out = out + _shape_more.select(bias, 0, 0)
        return out
    if training:
        size = list(input.shape)
        if math.prod(size[:1] + size[2:]) == 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{_torch_size(size)}"
            )
    else:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        if running_var is None:
            raise RuntimeError("running_var must be defined in evaluation mode")
    channels = input.shape[1] if input.ndim > 1 else 1
    for name, t in (  # in PyTorch's order
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
    return _nn.native_batch_norm(
        input, weight, bias, running_mean, running_var, bool(training), momentum, eps
    )[0]


def normalize(
    input: Tensor,  # noqa: A002
    p: float = 2.0,
    dim: int = 1,
    eps: float = 1e-12,
    out: Tensor | None = None,
) -> Tensor:
    """Return ``input / max(||input||_p, eps)`` along ``dim``.

    Args:
        input: any shape.
        p: the norm's exponent.
        dim: the dimension to normalise.
        eps: the smallest denominator.
        out: a tensor to copy the result into, or None.
    """
    denom = _S.expand_as(_nn.clamp_min(_R.norm(input, p, dim, keepdim=True), eps), input)
    result = input / denom
    if out is not None:
        return out.copy_(result)
    return result


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Return the cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcast).

    Each vector is divided by its norm (at least ``eps``) before the dot product, as in
    PyTorch.

    Raises:
        RuntimeError: the shapes do not broadcast.
    """
    a, b = x1, x2
    if tuple(x1.shape) != tuple(x2.shape):
        # NOTE: like ATen's expand_outplace, both sides get an ExpandBackward0 node.
        shape = infer_size(x1.shape, x2.shape)
        a, b = _S.expand(x1, shape), _S.expand(x2, shape)
    parts = []
    for x in (a, b):
        n = _S.clone(_R.norm(x, 2, dim, keepdim=True))
        with no_grad():
            n.clamp_(min=eps)
        parts.append(x / n)
    return _R.sum(parts[0] * parts[1], dim)


def pairwise_distance(
    x1: Tensor,
    x2: Tensor,
    p: float = 2.0,
    eps: float = 1e-6,
    keepdim: bool = False,
) -> Tensor:
    """Return the ``p``-norm of ``x1 - x2 + eps`` along the last dim (broadcast).

    As ATen computes it: ``SubBackward0``, ``AddBackward1`` (the ``eps``) and
    ``NormBackward1``. Integer inputs give a float result.

    Raises:
        RuntimeError: the shapes do not broadcast (PyTorch's message).
    """
    innermost = max(x1.ndim, x2.ndim) - 1
    diff = x1 - x2
    if not diff.dtype.is_floating_point:
        diff = diff.to(get_default_dtype())
    shifted = _A.add_scalar(diff, eps)
    return _A.norm(shifted, p, _norm_dims(innermost, shifted.ndim), keepdim)


# ---------------------------------------------------------------------------- embedding, one_hot


def embedding(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Return the rows of ``weight`` at the integer ``input`` (``EmbeddingBackward0``).

    Args:
        input: integer indices, any shape.
        weight: ``(num_embeddings, embedding_dim)``.
        padding_idx: a row whose gradient is always zero.
        max_norm: renormalise (in place) looked-up rows whose norm exceeds this.
        norm_type: the p of the norm for ``max_norm``.
        scale_grad_by_freq: divide each row's gradient by its count in ``input``.
        sparse: not supported by gradviz.

    Raises:
        AssertionError: ``padding_idx`` is out of range (PyTorch's type and message).
        RuntimeError: ``weight`` is not 2-D or ``input`` is not an integer tensor.
        IndexError: an index is out of range.
        NotImplementedError: ``sparse=True``.

    Example:
        >>> import gradviz
        >>> import gradviz.nn.functional as F
        >>> F.embedding(gradviz.tensor([0, 2]), gradviz.eye(3)).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    _check_tensor("embedding", "indices", 2, input)
    _check_tensor("embedding", "weight", 1, weight)
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.shape[0] + padding_idx
    else:
        padding_idx = -1
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.dtype.name not in ("int64", "int32"):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {_type_name(input._data)} instead (while checking arguments for "
            "embedding)"
        )
    if sparse:
        raise NotImplementedError(
            "embedding(sparse=True) is not supported: gradviz has no sparse gradients. "
            "Use sparse=False."
        )
    idx = input._data
    if idx.size and _host_any((idx < 0) | (idx >= weight.shape[0])):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _nn.embedding_renorm_(weight, idx, max_norm, norm_type)
    return _nn.embedding(weight, idx, padding_idx, bool(scale_grad_by_freq), False)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Return an int64 tensor with a trailing dim of ``num_classes``, 1 at each value's index.

    Raises:
        RuntimeError: ``tensor`` is not int64, holds negative values or values at least
            ``num_classes``, or is empty with ``num_classes=-1`` (PyTorch's messages).
    """
    if tensor.dtype.name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    data = tensor._data
    xp = backend.namespace(data)
    if data.size == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
    else:
        if int(xp.min(data)) < 0:
            raise RuntimeError("Class values must be non-negative.")
        top = int(xp.max(data))
        if num_classes == -1:
            num_classes = top + 1
        elif top >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = xp.arange(num_classes, dtype=data.dtype, **_nn._creation_kw(data))
    return _const(xp.astype(xp.expand_dims(data, axis=-1) == classes, xp.int64))


# ---------------------------------------------------------------------------- padding

_PAD_SUPPORT = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def pad(
    input: Tensor,  # noqa: A002
    pad: Sequence[int],
    mode: str = "constant",
    value: float | None = None,
) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, front, back)``.

    Modes: ``'constant'`` (``ConstantPadNdBackward0``; negative entries crop),
    ``'reflect'`` and ``'replicate'`` (``ReflectionPad2DBackward0``, ...) and
    ``'circular'`` (slices and ``cat``).

    Raises:
        RuntimeError: odd ``pad`` length, too many pads, ``value`` with a non-constant
            mode, or a pad too large for the mode (PyTorch's messages).
        NotImplementedError: an unknown mode, or a rank/pad-length combination PyTorch
            does not support for that mode.
    """
    pads = tuple(operator.index(p) for p in pad)
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if mode == "constant":
        if len(pads) // 2 > input.ndim:
            raise RuntimeError(
                "Padding length should be less than or equal to two times the input dimension but "
                f"got padding length {len(pads)} and input of dimension {input.ndim}"
            )
        x = input
        if any(p < 0 for p in pads):
            key: list[Any] = [slice(None)] * input.ndim
            for i in range(len(pads) // 2):
                d = input.ndim - 1 - i
                lo, hi = max(-pads[2 * i], 0), max(-pads[2 * i + 1], 0)
                key[d] = slice(lo, input.shape[d] - hi)
            x = x[tuple(key)]
            pads = tuple(max(p, 0) for p in pads)
        return _S.pad(x, pads, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    n = len(pads) // 2
    if n not in (1, 2, 3) or input.ndim not in (n + 1, n + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {input.ndim}D input tensor.\n"
            + _PAD_SUPPORT
        )
    if mode == "circular":
        return _circular_pad(input, pads)
    if mode == "reflect":
        for i in range(n):
            d = input.ndim - 1 - i
            lo, hi = pads[2 * i], pads[2 * i + 1]
            if lo >= input.shape[d] or hi >= input.shape[d]:
                raise RuntimeError(
                    f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding "
                    f"input dimension, but got: padding ({lo}, {hi}) at dimension {d} of input "
                    f"{list(input.shape)}"
                )
    return _nn.index_pad(input, pads, mode)


def _circular_pad(input: Tensor, pads: tuple[int, ...]) -> Tensor:  # noqa: A002
    x = input
    for i in range(len(pads) // 2):
        d = x.ndim - 1 - i
        size = x.shape[d]
        lo, hi = pads[2 * i], pads[2 * i + 1]
        if lo > size or hi > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        lead: tuple[Any, ...] = (slice(None),) * d
        core = x[lead + (slice(max(-lo, 0), size - max(-hi, 0)),)]
        parts = []
        if lo > 0:
            parts.append(x[lead + (slice(size - lo, size),)])
        parts.append(core)
        if hi > 0:
            parts.append(x[lead + (slice(0, hi),)])
        x = _S.cat(parts, d) if len(parts) > 1 else core
    return x


# ---------------------------------------------------------------------------- classification losses


def _check_target_dtype(target: Tensor) -> None:
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {target.dtype.scalar_name}"
        )


def _check_class_weight(weight: Tensor | None, n_classes: int, prefix: str = "") -> None:
    if weight is not None and (weight.ndim != 1 or weight.numel() != n_classes):
        raise RuntimeError(
            f"{prefix}weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {list(weight.shape)}"
        )


def _check_bounds(target: Any, n_classes: int, ignore_index: int) -> None:
    if backend.indices_in_range(target, n_classes):
        return  # every target in range (the usual case)
    xp = backend.namespace(target)
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if _host_any(bad):
        flat_bad = xp.reshape(bad, (-1,))
        first = int(xp.argmax(xp.astype(flat_bad, xp.int8)))
        raise IndexError(f"Target {int(xp.reshape(target, (-1,))[first])} is out of bounds.")


def _nll_nd(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None,
    reduction: int,
    ignore_index: int,
) -> Tensor:
    """PyTorch's ``nll_loss_nd``: checks, then nll_loss (≤2-D), nll_loss2d (4-D) or a 4-D view."""
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    target_batch = target.shape[0] if target.ndim > 0 else 0
    if input.ndim != 1 and input.shape[0] != target_batch:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target_batch})."
        )
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if input.ndim <= 2:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if not (input.ndim == 1 and target.ndim == 0) and input.shape[0] != target.shape[0]:
            raise RuntimeError(
                f"size mismatch (got input: {list(input.shape)}, target: {list(target.shape)})"
            )
    elif input.ndim == 4:
        if target.ndim != 3:
            raise RuntimeError(
                "only batches of spatial targets supported (3D tensors) but got targets of "
                f"dimension: {target.ndim}"
            )
        if tuple(input.shape[2:]) != tuple(target.shape[1:]):
            raise RuntimeError(
                f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}"
            )
    elif tuple(target.shape[1:]) != tuple(input.shape[2:]):
        out_size = [input.shape[0]] + list(input.shape[2:])
        raise RuntimeError(f"Expected target size {out_size}, got {list(target.shape)}")
    _check_class_weight(weight, n_classes)
    _check_target_dtype(target)
    xp = backend.namespace(target._data)
    t = xp.astype(target._data, xp.int64)
    _check_bounds(t, n_classes, ignore_index)
    w = None if weight is None else weight._data
    if input.ndim in (1, 2, 4):
        return _nn.nll_loss(input, t, w, reduction, ignore_index)
    n, c, rest = input.shape[0], input.shape[1], math.prod(input.shape[2:])
    x4 = _S.reshape(input, (n, c, 1, rest))  # rest, not -1: the batch may be empty
    t3 = xp.reshape(t, (n, 1, rest))
    out = _nn.nll_loss(x4, t3, w, reduction, ignore_index)
    if reduction == 0:
        out = _S.reshape(out, (n,) + tuple(input.shape[2:]))
    return out


def nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return the negative log-likelihood of class indices ``target`` under ``input``.

    ``NllLossBackward0`` for ``(C,)``/``(N, C)`` input, ``NllLoss2DBackward0`` for
    ``(N, C, H, W)`` (other ranks are viewed as 4-D, as in PyTorch).

    Args:
        input: log-probabilities ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
        target: int64 class indices ``()``, ``(N,)`` or ``(N, d1, ...)``.
        weight: a weight per class, or None.
        size_average: deprecated (see ``reduction``).
        ignore_index: a target value that contributes nothing.
        reduce: deprecated (see ``reduction``).
        reduction: ``'mean'`` (weighted mean over non-ignored targets), ``'sum'`` or ``'none'``.

    Raises:
        ValueError: bad rank, batch size mismatch or unknown reduction.
        RuntimeError: bad target shape or dtype, or bad class weights.
        IndexError: a target is out of range.
    """
    _check_tensor("nll_loss_nd", "target", 2, target)
    enum = _reduction_enum(reduction, size_average, reduce)
    return _nll_nd(input, target, weight, enum, ignore_index)


def cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Return the cross-entropy between logits ``input`` and ``target``.

    ``target`` holds class indices (``log_softmax`` then ``nll_loss``:
    ``NllLossBackward0(LogSoftmaxBackward0)``), or class probabilities when it has the
    input's shape. ``label_smoothing`` mixes the target with the uniform distribution.

    Args:
        input: logits ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
        target: class indices, or probabilities shaped like ``input``.
        weight: a weight per class, or None.
        size_average: deprecated (see ``reduction``).
        ignore_index: a target index that contributes nothing (class indices only).
        reduce: deprecated (see ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        label_smoothing: in ``[0, 1]``.

    Raises:
        TypeError: ``target`` is not a Tensor.
        ValueError: bad rank, batch mismatch or unknown reduction.
        RuntimeError: bad target dtype or shape, weights, ``ignore_index`` with
            probabilities, or ``label_smoothing`` above 1 (PyTorch's messages).
        IndexError: a class index is out of range.

    Example:
        >>> import gradviz
        >>> import gradviz.nn.functional as F
        >>> x = gradviz.zeros(2, 4, requires_grad=True)
        >>> loss = F.cross_entropy(x, gradviz.tensor([1, 3]))
        >>> round(loss.item(), 4), loss.grad_fn.name()
        (1.3863, 'NllLossBackward0')
    """
    _check_tensor("cross_entropy_loss", "input", 1, input)
    _check_tensor("cross_entropy_loss", "target", 2, target)
    enum = _reduction_enum(reduction, size_average, reduce)
    class_dim = 0 if input.ndim == 1 else 1
    if tuple(input.shape) == tuple(target.shape):
        if not target.dtype.is_floating_point:
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{target.dtype.scalar_name}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if label_smoothing > 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
            )
        return _cross_entropy_probs(input, target, weight, enum, label_smoothing, class_dim)
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
            )
        return _cross_entropy_smoothed(
            input, target, weight, enum, ignore_index, label_smoothing, class_dim
        )
    if input.ndim == 0:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    return _nll_nd(_R.log_softmax(input, class_dim), target, weight, enum, ignore_index)


def _class_view(weight: Tensor, ndim: int, class_dim: int) -> Tensor:
    if ndim <= 1:
        return weight
    shape = [1] * ndim
    shape[class_dim] = weight.shape[0]
    return _S.view(weight, tuple(shape))


def _cross_entropy_probs(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None,
    reduction: int,
    label_smoothing: float,
    class_dim: int,
) -> Tensor:
    n_classes = input.shape[class_dim]
    _check_class_weight(weight, n_classes, prefix="cross_entropy: ")
    lsm = _R.log_softmax(input, class_dim)
    t = target
    if label_smoothing > 0.0:
        t = t * (1 - label_smoothing) + label_smoothing / n_classes
    prod = lsm * t
    if weight is not None:
        prod = prod * _class_view(weight, input.ndim, class_dim)
    if reduction == 0:
        return -_R.sum(prod, class_dim)
    total = -_R.sum(prod)
    if reduction == 2:
        return total
    if input.numel() == 0:
        return total * math.nan
    return total / (input.numel() // n_classes)


def _cross_entropy_smoothed(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None,
    reduction: int,
    ignore_index: int,
    label_smoothing: float,
    class_dim: int,
) -> Tensor:
    lsm = _R.log_softmax(input, class_dim)
    nll = _nll_nd(lsm, target, weight, reduction, ignore_index)
    n_classes = lsm.shape[class_dim]
    if weight is not None:
        smooth = -_R.sum(lsm * _class_view(weight, lsm.ndim, class_dim), class_dim)
    else:
        smooth = -_R.sum(lsm, class_dim)
    ignored = target._data == ignore_index
    smooth = _P.masked_fill(smooth, _const(ignored), 0.0)
    if reduction == 1:
        xp = backend.namespace(ignored)
        keep = xp.logical_not(ignored)
        if weight is not None:
            t = xp.where(keep, target._data, xp.zeros_like(target._data))
            w_t = xp.take(weight._data, xp.reshape(xp.astype(t, xp.int64), (-1,)), axis=0)
            denom = xp.sum(xp.where(xp.reshape(keep, (-1,)), w_t, xp.zeros_like(w_t)))
        else:
            denom = xp.sum(xp.astype(keep, xp.int64))
        ret = _R.sum(smooth) / _const(denom)
    elif reduction == 2:
        ret = _R.sum(smooth)
    else:
        ret = smooth
    return nll * (1 - label_smoothing) + ret * (label_smoothing / n_classes)


# ---------------------------------------------------------------------------- regression losses


def _weighted(loss: Tensor, weight: Tensor, reduction: str, normalize: bool = True) -> Tensor:
    """PyTorch's hand-written weighted path of ``mse_loss``/``l1_loss``/``huber_loss``.

    ``mean`` divides by the sum of the weights (``normalize``) or, for ``huber_loss``, by
    the number of elements, as PyTorch does.
    """
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return _R.sum(weighted)
    if reduction == "mean":
        return _R.sum(weighted) / _R.sum(weight) if normalize else _R.mean(weighted)
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def _check_weight_size(weight: Tensor, input: Tensor) -> None:  # noqa: A002
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")


def mse_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Return the (optionally weighted) mean squared error (``MseLossBackward0``).

    Warns like PyTorch when the shapes differ, then broadcasts them.

    Raises:
        ValueError: unknown reduction, or ``weight`` not shaped like ``input``.
        RuntimeError: the shapes do not broadcast.
    """
    a, b = _broadcast_pair(input, target)
    if size_average is not None or reduce is not None:
        reduction = _red.legacy_string(size_average, reduce, stacklevel=2)
    if weight is not None:
        _check_weight_size(weight, input)
        return _weighted((a - b) ** 2, weight, reduction)
    return _nn.mse_loss(a, b, _reduction_enum(reduction))


def l1_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Return the (optionally weighted) mean absolute error: ``mean(abs(input - target))``.

    Raises:
        ValueError: unknown reduction, or ``weight`` not shaped like ``input``.
        RuntimeError: the shapes do not broadcast.
    """
    a, b = _broadcast_pair(input, target)
    if size_average is not None or reduce is not None:
        reduction = _red.legacy_string(size_average, reduce, stacklevel=2)
    if weight is not None:
        _check_weight_size(weight, input)
        return _weighted(_P.abs(a - b), weight, reduction)
    return _red.apply(_P.abs(a - b), _reduction_enum(reduction))


def smooth_l1_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Return the smooth L1 loss (``SmoothL1LossBackward0``; ``beta=0`` is ``l1_loss``).

    Raises:
        ValueError: unknown reduction.
        RuntimeError: negative ``beta``, or shapes that do not broadcast.
    """
    a, b = _broadcast_pair(input, target)
    enum = _reduction_enum(reduction, size_average, reduce)
    if beta == 0.0:
        return _red.apply(_P.abs(a - b), enum)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _nn.smooth_l1_loss(a, b, enum, beta)


def huber_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """Return the (optionally weighted) Huber loss (``HuberLossBackward0``).

    Raises:
        ValueError: unknown reduction, or ``weight`` not shaped like ``input``.
        RuntimeError: ``delta <= 0``, or shapes that do not broadcast.
    """
    a, b = _broadcast_pair(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is None:
        return _nn.huber_loss(a, b, _reduction_enum(reduction), delta)
    _check_weight_size(weight, input)
    return _weighted(_nn.huber_loss(a, b, 0, delta), weight, reduction, normalize=False)


def binary_cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return the binary cross-entropy of probabilities ``input`` (``BinaryCrossEntropyBackward0``).

    Raises:
        ValueError: the shapes differ, or unknown reduction.
        RuntimeError: ``input`` leaves ``[0, 1]``, or ``weight`` does not broadcast.
    """
    enum = _reduction_enum(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({_torch_size(target.shape)}) that is different to the input "
            f"size ({_torch_size(input.shape)}) is deprecated. Please ensure they have the same "
            "size."
        )
    w = None
    if weight is not None:
        _check_broadcastable(weight, tuple(input.shape))
        xp = backend.namespace(weight._data)
        w = xp.broadcast_to(weight._data, tuple(input.shape))
    x = input._data
    if x.size and _host_any((x < 0) | (x > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    return _nn.binary_cross_entropy(input, target, w, enum)


def _check_broadcastable(weight: Tensor, shape: tuple[int, ...]) -> None:
    wshape = tuple(weight.shape)
    for i in range(1, len(wshape) + 1):
        size = wshape[-i]
        want = shape[-i] if i <= len(shape) else 1
        if size != 1 and size != want:
            raise RuntimeError(
                f"Attempting to broadcast a dimension of length {size} at {-i}! Mismatching "
                f"argument at index 1 had {_torch_size(wshape)}; but expected shape should be "
                f"broadcastable to {list(shape)}"
            )


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Return the binary cross-entropy of logits (``BinaryCrossEntropyWithLogitsBackward0``).

    Args:
        input: logits.
        target: probabilities of the same shape.
        weight: broadcast weights per element, or None.
        size_average: deprecated (see ``reduction``).
        reduce: deprecated (see ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: a weight for positive examples, broadcast along the last dims.

    Raises:
        ValueError: the shapes differ, or unknown reduction.
        RuntimeError: ``weight`` or ``pos_weight`` does not broadcast.
    """
    enum = _reduction_enum(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({_torch_size(target.shape)}) must be the same as input size "
            f"({_torch_size(input.shape)})"
        )
    shape = tuple(input.shape)
    arrays: list[Any] = []
    for t, first in ((pos_weight, True), (weight, False)):
        if t is None:
            arrays.append(None)
            continue
        if first:
            infer_size(t.shape, shape)
        else:
            infer_size(shape, t.shape)
        arrays.append(t._data)
    return _nn.binary_cross_entropy_with_logits(input, target, arrays[1], arrays[0], enum)


def kl_div(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Return the Kullback-Leibler divergence of ``target`` from log-probabilities ``input``.

    Pointwise ``target * (log(target) - input)`` (``xlogy``), or with ``log_target``
    ``exp(target) * (target - input)``; ``'batchmean'`` divides the sum by the batch size.
    ``'mean'`` warns as in PyTorch.

    Raises:
        ValueError: unknown reduction.
        RuntimeError: the shapes do not broadcast.
    """
    if size_average is not None or reduce is not None:
        enum = _nn.REDUCTIONS[_red.legacy_string(size_average, reduce, stacklevel=2)]
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support "
                "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                "major release.",
                UserWarning,
                stacklevel=2,
            )
        enum = _nn.REDUCTIONS["sum"] if reduction == "batchmean" else _reduction_enum(reduction)
    infer_size(target.shape, input.shape)
    if log_target:
        pointwise = _P.exp(target) * (target - input)
    else:
        pointwise = _nn.xlogy(target, target) - target * input
    reduced = _red.apply(pointwise, enum)
    if reduction == "batchmean" and input.ndim != 0:
        reduced = reduced / input.shape[0]
    return reduced


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """Return ``softmax(query @ key^T * scale + mask) @ value``, as PyTorch computes it.

    PyTorch's composite (math) implementation, op for op: the graph ends in
    ``UnsafeViewBackward0`` (the batched product), and rows whose keys are all masked get
    0 rather than NaN (PyTorch's "safe" softmax). PyTorch's fused CPU kernels give the same
    numbers with other nodes.

    Args:
        query: ``(..., L, E)``.
        key: ``(..., S, E)``.
        value: ``(..., S, Ev)``.
        attn_mask: a bool mask (True: attend) or a float bias, broadcast to ``(..., L, S)``.
        dropout_p: dropout on the attention weights.
        is_causal: mask out keys after each query (no ``attn_mask`` then).
        scale: the factor on ``query @ key^T`` (default ``1 / sqrt(E)``).
        enable_gqa: share key/value heads among groups of query heads (dim -3).

    Returns:
        ``(..., L, Ev)``.

    Raises:
        RuntimeError: mixed dtypes, inputs under 2-D, or a mask with ``is_causal``
            (PyTorch's messages).
    """
    for name, x, position in (("query", query, 1), ("key", key, 2), ("value", value, 3)):
        _check_tensor("scaled_dot_product_attention", name, position, x)
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype.c_name} key.dtype: {key.dtype.c_name} and value.dtype: "
            f"{value.dtype.c_name} instead."
        )
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead."
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    length, source = query.shape[-2], key.shape[-2]
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    bias = attn_mask
    if is_causal:
        bias = _S.tril(_creation.ones(length, source, dtype=_dt.bool, device=query.device))
    if bias is not None and bias.dtype is _dt.bool:
        # NOTE: the masks are made on the query's device: on a GPU (or the strict stand-in)
        # a host mask could not be added to the scores.
        bias = _P.masked_fill(
            _creation.zeros(tuple(bias.shape), dtype=query.dtype, device=query.device),
            _P.logical_not(bias),
            float("-inf"),
        )
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    scores = _L.matmul(query, _S.transpose(key, -2, -1)) * factor
    if bias is not None:
        scores = scores + bias
    weights = _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return _L.matmul(weights, value)


def _repeat_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
    """Repeat each key and value head (dim -3) to the query's heads, as PyTorch's math attention.

    Like PyTorch, both are left alone when all three have as many heads, and otherwise both
    go through ``repeat_interleave`` (one of them maybe once): ``ViewBackward0(
    CloneBackward0(ExpandBackward0(UnsqueezeBackward0(...))))``.
    """
    heads = query.shape[-3]
    if key.shape[-3] == heads and value.shape[-3] == heads:
        return key, value
    if heads % key.shape[-3] or heads % value.shape[-3]:
        # NOTE: PyTorch's message, cut short as ATen's is.
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    return (
        _shape_more.repeat_interleave(key, heads // key.shape[-3], dim=-3),
        _shape_more.repeat_interleave(value, heads // value.shape[-3], dim=-3),
    )


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim; a row that is all -inf gives zeros (not NaN), as PyTorch."""
    with no_grad():
        dead = _R.all(_P.eq(scores, float("-inf")), -1, keepdim=True)
    if not bool(_R.any(dead)):
        return _R.softmax(scores, -1)
    # NOTE: the dead rows are replaced before the softmax too: a softmax of all -inf is
    # NaN, and its backward would carry that NaN into the scores' gradient.
    zeros = _creation.zeros_like(scores)
    out = _R.softmax(_P.where(dead, zeros, scores), -1)
    return _P.where(dead, zeros, out)


# The pooling, normalization, upsampling and transposed-convolution functions live in
# functional_more (which imports this module when its functions run): re-exported here.
from gradviz.nn.functional_more import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    conv_transpose1d,
    conv_transpose2d,
    group_norm,
    instance_norm,
    interpolate,
    max_pool1d,
    pixel_shuffle,
    pixel_unshuffle,
)

__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "conv_transpose1d",
    "conv_transpose2d",
    "group_norm",
    "instance_norm",
    "interpolate",
    "max_pool1d",
    "pixel_shuffle",
    "pixel_unshuffle",
]

# The margin, embedding, NLL and triplet losses and rms_norm live in functional_losses:
# re-exported here.
from gradviz.nn.functional_losses import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    rms_norm,
    soft_margin_loss,
    triplet_margin_loss,
)

__all__ += [
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "rms_norm",
    "soft_margin_loss",
    "triplet_margin_loss",
]
