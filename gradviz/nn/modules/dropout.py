"""``Dropout``, ``Dropout1d``, ``Dropout2d``: zero elements or whole channels while training."""

from __future__ import annotations

from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn.modules.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training, scaling the rest by 1/(1-p).

    In evaluation mode (``eval()``) it returns its input unchanged.

    Args:
        p: the probability of zeroing an element.
        inplace: overwrite the input instead of allocating the output.

    Raises:
        ValueError: ``p`` is not within [0, 1].

    Example:
        >>> import gradviz
        >>> d = gradviz.nn.Dropout(0.5).eval()
        >>> x = gradviz.ones(3)
        >>> d(x) is x
        True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``input`` with dropout applied (in training mode only)."""
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        """Return ``p=..., inplace=...``."""
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``.

    In training, each channel (a 1-D feature map) is zeroed independently and the kept
    ones are scaled by 1/(1-p); in evaluation mode the input is returned unchanged.

    Args:
        p: the probability of zeroing a channel.
        inplace: overwrite the input instead of allocating the output.

    Raises:
        ValueError: ``p`` is not within [0, 1].

    Example:
        >>> import gradviz
        >>> d = gradviz.nn.Dropout1d(1.0)
        >>> d(gradviz.ones(1, 2, 3)).sum().item()
        0.0
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``input`` with channel dropout applied (in training mode only)."""
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``.

    In training, each channel (a 2-D feature map) is zeroed independently and the kept
    ones are scaled by 1/(1-p); in evaluation mode the input is returned unchanged. As in
    PyTorch, 3-D input is treated as ``(N, C, L)`` with a warning.

    Args:
        p: the probability of zeroing a channel.
        inplace: overwrite the input instead of allocating the output.

    Raises:
        ValueError: ``p`` is not within [0, 1].
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``input`` with channel dropout applied (in training mode only)."""
        return F.dropout2d(input, self.p, self.training, self.inplace)
