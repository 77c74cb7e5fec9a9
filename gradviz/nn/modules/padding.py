"""Padding layers: constant (zero), reflection and replication padding in 1-D and 2-D.

Each is a thin module over ``gradviz.nn.functional.pad`` with PyTorch's argument
handling (an int pads every side; a tuple is kept as given and checked when called) and
PyTorch's reprs. Node names are PyTorch's: ``ConstantPadNdBackward0``,
``ReflectionPad1DBackward0``, ``ReflectionPad2DBackward0``, ``ReplicationPad1DBackward0``,
``ReplicationPad2DBackward0``.
"""

from __future__ import annotations

from collections.abc import Sequence

from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn.modules.module import Module

__all__ = [
    "ConstantPad1d",
    "ConstantPad2d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
]


def _sides(padding: int | Sequence[int], n: int) -> tuple[int, ...]:
    """Return ``padding`` as a tuple: an int repeated ``n`` times, a sequence as given."""
    if isinstance(padding, Sequence):
        return tuple(padding)
    return (padding,) * n


class _ConstantPadNd(Module):
    """Base of the constant-padding layers: pad with ``value``."""

    _sides_count = 2

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        self.padding = _sides(padding, self._sides_count)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``pad(input, padding, 'constant', value)`` (``ConstantPadNdBackward0``)."""
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        """Return ``padding=(...), value=...``."""
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding = (left, right)`` or one int for both.

    Negative widths crop, as in PyTorch.

    Args:
        padding: an int, or ``(left, right)``.
        value: the fill value.

    Example:
        >>> import gradviz
        >>> gradviz.nn.ConstantPad1d((1, 2), 3.5)(gradviz.zeros(1, 2))
        tensor([[3.5000, 0.0000, 0.0000, 3.5000, 3.5000]])
    """


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``: ``(left, right, top, bottom)`` or one int.

    Args:
        padding: an int, or ``(left, right, top, bottom)``.
        value: the fill value.
    """

    _sides_count = 4


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros: ``padding = (left, right)`` or one int for both.

    Args:
        padding: an int, or ``(left, right)``.
    """

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        """Return the padding tuple."""
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros: ``(left, right, top, bottom)`` or one int.

    Args:
        padding: an int, or ``(left, right, top, bottom)``.

    Example:
        >>> import gradviz
        >>> gradviz.nn.ZeroPad2d(1)(gradviz.ones(1, 1, 1)).shape
        gradviz.Size([1, 3, 3])
    """

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        """Return the padding tuple."""
        return f"{self.padding}"


class _IndexPadNd(Module):
    """Base of the reflection and replication layers."""

    _mode = "reflect"
    _sides_count = 2

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _sides(padding, self._sides_count)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``pad(input, padding, mode)``."""
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        """Return the padding tuple."""
        return f"{self.padding}"


class ReflectionPad1d(_IndexPadNd):
    """Pad the last dim of ``(C, W)`` or ``(N, C, W)`` input with its mirror image.

    ``ReflectionPad1DBackward0``. Each width must be smaller than the padded dim.

    Args:
        padding: an int, or ``(left, right)``.

    Example:
        >>> import gradviz
        >>> gradviz.nn.ReflectionPad1d(2)(gradviz.tensor([[0.0, 1.0, 2.0]]))
        tensor([[2., 1., 0., 1., 2., 1., 0.]])
    """


class ReflectionPad2d(_IndexPadNd):
    """Pad the last two dims of ``(C, H, W)`` or ``(N, C, H, W)`` input by reflection.

    ``ReflectionPad2DBackward0``. Each width must be smaller than the padded dim.

    Args:
        padding: an int, or ``(left, right, top, bottom)``.
    """

    _sides_count = 4


class ReplicationPad1d(_IndexPadNd):
    """Pad the last dim of ``(C, W)`` or ``(N, C, W)`` input by repeating its edge values.

    ``ReplicationPad1DBackward0``.

    Args:
        padding: an int, or ``(left, right)``.
    """

    _mode = "replicate"


class ReplicationPad2d(_IndexPadNd):
    """Pad the last two dims of ``(C, H, W)`` or ``(N, C, H, W)`` input by repeating edges.

    ``ReplicationPad2DBackward0``.

    Args:
        padding: an int, or ``(left, right, top, bottom)``.
    """

    _mode = "replicate"
    _sides_count = 4
