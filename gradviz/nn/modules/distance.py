"""Distance layers: ``CosineSimilarity`` and ``PairwiseDistance`` (PyTorch's API and reprs)."""

from __future__ import annotations

from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn.modules.module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """Return the cosine of the angle between ``x1`` and ``x2`` along ``dim``.

    Args:
        dim: the dimension of the vectors.
        eps: the smallest norm a vector is divided by.

    Example:
        >>> import gradviz
        >>> cos = gradviz.nn.CosineSimilarity(dim=0)
        >>> cos(gradviz.tensor([1.0, 0.0]), gradviz.tensor([1.0, 1.0]))
        tensor(0.7071)
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Return ``cosine_similarity(x1, x2, dim, eps)``."""
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """Return the ``p``-norm distance ``||x1 - x2 + eps||_p`` along the last dim.

    Args:
        p: the norm's exponent (stored as ``norm``, as PyTorch does).
        eps: added to the difference, to avoid a zero norm.
        keepdim: keep the reduced dim (size 1).

    Example:
        >>> import gradviz
        >>> d = gradviz.nn.PairwiseDistance(eps=0.0)
        >>> d(gradviz.tensor([[0.0, 0.0]]), gradviz.tensor([[3.0, 4.0]]))
        tensor([5.])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Return ``pairwise_distance(x1, x2, norm, eps, keepdim)``."""
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
