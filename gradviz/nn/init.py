"""Parameter initialisation, as ``torch.nn.init``.

Every function fills its tensor in place under ``no_grad`` (so it works on Parameters)
and returns it. Random values come from the ``generator=`` given, else from the
process-wide generator (``gradviz.manual_seed``); they are not PyTorch's numbers, so code
that must match PyTorch copies weights across.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from gradviz.engine.grad_mode import no_grad
from gradviz.engine.tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "ones_",
    "zeros_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain for a nonlinearity (``"relu"`` → sqrt(2), ...).

    Args:
        nonlinearity: ``linear``, ``conv*``, ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``
            or ``selu``.
        param: the negative slope of ``leaky_relu`` (default 0.01).

    Raises:
        ValueError: an unsupported nonlinearity, or a slope that is not a number.

    Example:
        >>> import gradviz.nn as nn
        >>> round(nn.init.calculate_gain("relu"), 4)
        1.4142
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``.

    Raises:
        ValueError: the tensor has fewer than 2 dimensions.
    """
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    num_input_fmaps = tensor.size(1)
    num_output_fmaps = tensor.size(0)
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with samples of U(a, b) and return it.

    Args:
        tensor: the tensor to fill.
        a: the lower bound.
        b: the upper bound.
        generator: the Generator to draw from (None: the process-wide one).
    """
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with samples of N(mean, std²) and return it.

    Args:
        tensor: the tensor to fill.
        mean: the mean.
        std: the standard deviation.
        generator: the Generator to draw from (None: the process-wide one).
    """
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val`` and return it."""
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with ones and return it."""
    with no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros and return it."""
    with no_grad():
        return tensor.zero_()


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot), and return it.

    Args:
        tensor: the tensor to fill (at least 2 dimensions).
        gain: the scaling factor.
        generator: the Generator to draw from (None: the process-wide one).

    Raises:
        ValueError: the tensor has fewer than 2 dimensions.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(0, std²), std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot), and return it.

    Args:
        tensor: the tensor to fill (at least 2 dimensions).
        gain: the scaling factor.
        generator: the Generator to draw from (None: the process-wide one).

    Raises:
        ValueError: the tensor has fewer than 2 dimensions.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """Fill with U(-bound, bound), bound = gain * sqrt(3 / fan) (He), and return it.

    ``nn.Linear`` and ``nn.Conv2d`` initialise their weights with ``a=sqrt(5)``.

    Args:
        tensor: the tensor to fill.
        a: the negative slope of the rectifier that follows (for ``leaky_relu``).
        mode: ``"fan_in"`` (keeps the forward variance) or ``"fan_out"`` (the backward's).
        nonlinearity: the nonlinearity the gain is computed for.
        generator: the Generator to draw from (None: the process-wide one).

    Raises:
        ValueError: a bad ``mode`` or ``nonlinearity``, or fewer than 2 dimensions.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    with no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """Fill with N(0, std²), std = gain / sqrt(fan) (He), and return it.

    Args:
        tensor: the tensor to fill.
        a: the negative slope of the rectifier that follows (for ``leaky_relu``).
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: the nonlinearity the gain is computed for.
        generator: the Generator to draw from (None: the process-wide one).

    Raises:
        ValueError: a bad ``mode`` or ``nonlinearity``, or fewer than 2 dimensions.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    with no_grad():
        return tensor.normal_(0, gain / math.sqrt(fan), generator=generator)
