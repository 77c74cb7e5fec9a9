"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

PyTorch's arguments, initialisation and repr.
"""

from __future__ import annotations

import math
from typing import Any

from gradviz.engine.creation import empty
from gradviz.engine.ops.nn_more import conv_transpose_output_size
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn import init
from gradviz.nn.modules.module import Module
from gradviz.nn.modules.utils import _ntuple
from gradviz.nn.parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_VALID_PADDING_STRINGS = ("same", "valid")
_VALID_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
# NOTE: PyTorch prints these as Python sets, whose order changes from run to run; gradviz
# prints the same set literals in a fixed order, so its messages are deterministic.
_PADDING_STRINGS_TEXT = "{'same', 'valid'}"
_PADDING_MODES_TEXT = "{'zeros', 'reflect', 'replicate', 'circular'}"


def _reverse_repeat_tuple(t: tuple[int, ...], n: int) -> tuple[int, ...]:
    """Turn per-dim padding (d0, d1) into F.pad's (d1, d1, d0, d0) for n=2."""
    return tuple(x for x in reversed(t) for _ in range(n))


class _ConvNd(Module):
    """Shared code of ``Conv1d``, ``Conv2d`` and (``transposed``) ``ConvTranspose1d/2d``."""

    _dims = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        transposed: bool = False,
        output_padding: Any = 0,
    ) -> None:
        super().__init__()
        n = self._dims
        kernel_size_ = _ntuple(kernel_size, n)
        stride_ = _ntuple(stride, n)
        padding_ = padding if isinstance(padding, str) else _ntuple(padding, n)
        dilation_ = _ntuple(dilation, n)
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding_, str):
            if padding_ not in _VALID_PADDING_STRINGS:
                raise ValueError(
                    f"Invalid padding string {padding_!r}, should be one of {_PADDING_STRINGS_TEXT}"
                )
            if padding_ == "same" and any(s != 1 for s in stride_):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _VALID_PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {_PADDING_MODES_TEXT}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size_
        self.stride = stride_
        self.padding = padding_
        self.dilation = dilation_
        self.transposed = transposed
        self.output_padding = _ntuple(output_padding, n)
        self.groups = groups
        self.padding_mode = padding_mode
        if isinstance(padding_, str):
            pads = [0, 0] * n
            if padding_ == "same":
                for d, k, i in zip(dilation_, kernel_size_, range(n - 1, -1, -1), strict=True):
                    total = d * (k - 1)
                    left = total // 2
                    pads[2 * i] = left
                    pads[2 * i + 1] = total - left
            self._reversed_padding_repeated_twice = tuple(pads)
        else:
            self._reversed_padding_repeated_twice = _reverse_repeat_tuple(padding_, 2)
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size_)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size_)
        self.weight = Parameter(empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias again, as PyTorch initialises them."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        """Return PyTorch's summary: channels, kernel_size, stride, and non-default options."""
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """Apply a 1-D convolution over ``(N, C_in, L)`` input.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: the kernel length.
        stride: the step between windows.
        padding: zeros added on both sides, or ``'valid'`` / ``'same'``.
        dilation: spacing between kernel elements.
        groups: split the channels into this many independent groups.
        bias: whether to learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        ValueError: channels not divisible by groups, a bad padding string or mode.
    """

    _dims = 1

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the convolution of ``input`` with ``weight`` (plus ``bias``)."""
        if self.padding_mode != "zeros":
            return F.conv1d(
                F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode),
                self.weight,
                self.bias,
                self.stride,
                0,
                self.dilation,
                self.groups,
            )
        return F.conv1d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class Conv2d(_ConvNd):
    """Apply a 2-D convolution over ``(N, C_in, H, W)`` input.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: an int or a pair.
        stride: the step between windows.
        padding: zeros added on each side, or ``'valid'`` / ``'same'``.
        dilation: spacing between kernel elements.
        groups: split the channels into this many independent groups.
        bias: whether to learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        ValueError: channels not divisible by groups, a bad padding string or mode.

    Example:
        >>> import gradviz.nn as nn
        >>> nn.Conv2d(3, 8, 3, padding=1)
        Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    _dims = 2

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the convolution of ``input`` with ``weight`` (plus ``bias``)."""
        if self.padding_mode != "zeros":
            return F.conv2d(
                F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode),
                self.weight,
                self.bias,
                self.stride,
                (0, 0),
                self.dilation,
                self.groups,
            )
        return F.conv2d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class _ConvTransposeNd(_ConvNd):
    """Shared code of ``ConvTranspose1d`` and ``ConvTranspose2d``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(
                f'Only "zeros" padding mode is supported for {self.__class__.__name__}'
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            transposed=True,
            output_padding=output_padding,
        )

    def _output_padding(self, input: Tensor, output_size: Any) -> list[int]:  # noqa: A002
        """Return the output padding that makes the output ``output_size`` (PyTorch's rule).

        Raises:
            ValueError: ``output_size`` has the wrong length or a size no output padding
                can reach.
        """
        if output_size is None:
            return list(self.output_padding)
        n = self._dims
        non_spatial = 2 if input.dim() == n + 2 else 1
        output_size = list(output_size)
        if len(output_size) == non_spatial + n:
            output_size = output_size[non_spatial:]
        if len(output_size) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {input.dim()}D input, output_size must have {n} "
                f"or {non_spatial + n} elements (got {len(output_size)})"
            )
        # NOTE: a string padding ('same', 'valid') goes into the formula as in PyTorch and
        # fails there with PyTorch's TypeError (int - str); hence Any.
        padding: Any = self.padding
        min_sizes = [
            conv_transpose_output_size(
                input.size(d + non_spatial),
                self.kernel_size[d],
                self.stride[d],
                padding[d],
                0,
                self.dilation[d],
            )
            for d in range(n)
        ]
        max_sizes = [m + s - 1 for m, s in zip(min_sizes, self.stride, strict=True)]
        for size, low, high in zip(output_size, min_sizes, max_sizes, strict=True):
            if size < low or size > high:
                # NOTE: PyTorch prints the input's spatial size as a torch.Size.
                spatial = ", ".join(str(s) for s in input.shape[2:])
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range "
                    f"from {min_sizes} to {max_sizes} (for an input of torch.Size([{spatial}]))"
                )
        return [size - low for size, low in zip(output_size, min_sizes, strict=True)]

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        """Return the transposed convolution of ``input`` (``output_size`` picks the padding).

        Raises:
            ValueError: an ``output_size`` that cannot be reached.
        """
        fn = F.conv_transpose1d if self._dims == 1 else F.conv_transpose2d
        return fn(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """Apply a 1-D transposed convolution over ``(N, C_in, L)`` input.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: the kernel length.
        stride: the step between windows.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros on both sides.
        output_padding: extra length added to one side of the output.
        groups: split the channels into this many independent groups.
        bias: whether to learn an additive bias.
        dilation: spacing between kernel elements.
        padding_mode: only ``'zeros'``.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        ValueError: channels not divisible by groups, or another padding mode.

    Example:
        >>> from gradviz.nn.modules.conv import ConvTranspose1d
        >>> ConvTranspose1d(4, 6, 3, stride=2, output_padding=1)
        ConvTranspose1d(4, 6, kernel_size=(3,), stride=(2,), output_padding=(1,))
    """

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Apply a 2-D transposed convolution over ``(N, C_in, H, W)`` input.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: an int or a pair.
        stride: the step between windows.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros on each side.
        output_padding: extra size added to one side of each output dim.
        groups: split the channels into this many independent groups.
        bias: whether to learn an additive bias.
        dilation: spacing between kernel elements.
        padding_mode: only ``'zeros'``.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        ValueError: channels not divisible by groups, or another padding mode.
    """

    _dims = 2
