"""``parameters_to_vector`` and ``vector_to_parameters``, as in ``torch.nn.utils``."""

from __future__ import annotations

from collections.abc import Iterable

from gradviz.engine.ops.shape import cat
from gradviz.engine.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check(p: object) -> None:
    if not isinstance(p, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(p).__name__}")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Return the parameters flattened and concatenated into one vector (in the graph).

    Raises:
        TypeError: an element is not a Tensor.
    """
    flat = []
    for p in parameters:
        _check(p)
        flat.append(p.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' data (no graph).

    Raises:
        TypeError: ``vec`` or a parameter is not a Tensor (PyTorch's messages).
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    for p in parameters:
        _check(p)
        n = p.numel()
        p.data = vec[offset : offset + n].reshape(tuple(p.shape)).data
        offset += n
