"""``Flatten`` and ``Unflatten``: reshape a range of dimensions."""

from __future__ import annotations

from typing import Any

from gradviz.engine.ops.shape import flatten, unflatten
from gradviz.engine.tensor import Tensor
from gradviz.nn.modules.module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flatten dimensions ``start_dim`` to ``end_dim`` into one.

    Args:
        start_dim: the first dimension to flatten (default 1, keeping the batch).
        end_dim: the last dimension to flatten.

    Example:
        >>> import gradviz
        >>> gradviz.nn.Flatten()(gradviz.zeros(32, 1, 5, 5)).shape
        gradviz.Size([32, 25])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``input.flatten(start_dim, end_dim)``."""
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        """Return ``start_dim=..., end_dim=...``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dimension ``dim`` into the shape ``unflattened_size``.

    Args:
        dim: the dimension to expand.
        unflattened_size: the new shape of that dimension (a tuple or list of ints).

    Raises:
        TypeError: ``unflattened_size`` is not a tuple or list of ints.

    Example:
        >>> import gradviz
        >>> gradviz.nn.Unflatten(1, (2, 5))(gradviz.zeros(3, 10)).shape
        gradviz.Size([3, 2, 5])
    """

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self._require_tuple_int(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    @staticmethod
    def _require_tuple_int(value: Any) -> None:
        if isinstance(value, (tuple, list)):
            for idx, elem in enumerate(value):
                if not isinstance(elem, int):
                    raise TypeError(
                        "unflattened_size must be tuple of ints, but found element of type "
                        f"{type(elem).__name__} at pos {idx}"
                    )
            return
        raise TypeError(
            f"unflattened_size must be a tuple of ints, but found type {type(value).__name__}"
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``input.unflatten(dim, unflattened_size)``."""
        return unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        """Return ``dim=..., unflattened_size=...``."""
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
