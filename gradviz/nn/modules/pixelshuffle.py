"""Pixel shuffle layers: ``PixelShuffle`` (channels into space) and ``PixelUnshuffle``."""

from __future__ import annotations

from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn.modules.module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """Rearrange ``(*, C r², H, W)`` into ``(*, C, H r, W r)`` (sub-pixel convolution).

    Args:
        upscale_factor: ``r``, the factor by which height and width grow.

    Example:
        >>> from gradviz.nn.modules.pixelshuffle import PixelShuffle
        >>> PixelShuffle(2)
        PixelShuffle(upscale_factor=2)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the shuffled input."""
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        """Return ``upscale_factor=...``."""
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Rearrange ``(*, C, H r, W r)`` into ``(*, C r², H, W)``: the inverse of ``PixelShuffle``.

    Args:
        downscale_factor: ``r``, the factor by which height and width shrink.
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the unshuffled input."""
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        """Return ``downscale_factor=...``."""
        return f"downscale_factor={self.downscale_factor}"
