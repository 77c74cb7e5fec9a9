"""Pooling layers: max, average and adaptive pooling in 1-D and 2-D."""

from __future__ import annotations

from typing import Any

from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn.modules.module import Module
from gradviz.nn.modules.utils import _ntuple

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
]


class _MaxPoolNd(Module):
    """What the max-pooling layers share: their arguments and how they print (PyTorch's)."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        """Return ``kernel_size=..., stride=..., padding=..., dilation=..., ceil_mode=...``."""
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    """Take the maximum over sliding windows of ``(N, C, H, W)`` input.

    Args:
        kernel_size: the window size (an int or a pair).
        stride: the step between windows (default: ``kernel_size``).
        padding: implicit -inf padding on each side.
        dilation: spacing between window elements.
        return_indices: also return the flat indices of the maxima.
        ceil_mode: round the output size up instead of down.

    Example:
        >>> import gradviz.nn as nn
        >>> nn.MaxPool2d(2)
        MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        """Return the pooled input (and the indices with ``return_indices``)."""
        return F.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool2d(Module):
    """Average over sliding windows of ``(N, C, H, W)`` input.

    Args:
        kernel_size: the window size (an int or a pair).
        stride: the step between windows (default: ``kernel_size``).
        padding: implicit zero padding on each side.
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the padding zeros in the average.
        divisor_override: divide by this instead of the window size.
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the pooled input."""
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        """Return ``kernel_size=..., stride=..., padding=...``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average-pool ``(N, C, H, W)`` input to a fixed ``output_size``, whatever its size.

    Args:
        output_size: an int, or a pair whose entries may be None (keep that size).
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the pooled input."""
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        """Return ``output_size=...``."""
        return f"output_size={self.output_size}"


class MaxPool1d(_MaxPoolNd):
    """Take the maximum over sliding windows of ``(N, C, L)`` or ``(C, L)`` input.

    Args:
        kernel_size: the window length.
        stride: the step between windows (default: ``kernel_size``).
        padding: implicit -inf padding on both sides.
        dilation: spacing between window elements.
        return_indices: also return the indices of the maxima.
        ceil_mode: round the output length up instead of down.

    Example:
        >>> from gradviz.nn.modules.pooling import MaxPool1d
        >>> MaxPool1d(2)
        MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        """Return the pooled input (and the indices with ``return_indices``)."""
        return F.max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool1d(Module):
    """Average over sliding windows of ``(N, C, L)`` or ``(C, L)`` input.

    Args:
        kernel_size: the window length.
        stride: the step between windows (default: ``kernel_size``).
        padding: implicit zero padding on both sides.
        ceil_mode: round the output length up instead of down.
        count_include_pad: count the padding zeros in the average.

    Example:
        >>> from gradviz.nn.modules.pooling import AvgPool1d
        >>> AvgPool1d(3, stride=2)
        AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, 1)
        self.stride = _ntuple(stride if stride is not None else kernel_size, 1)
        self.padding = _ntuple(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the pooled input."""
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        """Return ``kernel_size=..., stride=..., padding=...``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Average-pool ``(N, C, L)`` or ``(C, L)`` input to a fixed ``output_size``.

    Args:
        output_size: the output length.
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the pooled input."""
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        """Return ``output_size=...``."""
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(Module):
    """Shared code of ``AdaptiveMaxPool1d`` and ``AdaptiveMaxPool2d``."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        """Return ``output_size=...``."""
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max-pool ``(N, C, L)`` or ``(C, L)`` input to a fixed ``output_size``.

    Args:
        output_size: the output length.
        return_indices: also return the indices of the maxima.
    """

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        """Return the pooled input (and the indices with ``return_indices``)."""
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max-pool ``(N, C, H, W)`` or ``(C, H, W)`` input to a fixed ``output_size``.

    Args:
        output_size: an int, or a pair whose entries may be None (keep that size).
        return_indices: also return the flat ``H*W`` indices of the maxima.

    Example:
        >>> from gradviz.nn.modules.pooling import AdaptiveMaxPool2d
        >>> AdaptiveMaxPool2d((3, None))
        AdaptiveMaxPool2d(output_size=(3, None))
    """

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        """Return the pooled input (and the indices with ``return_indices``)."""
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
