"""``RMSNorm``: root-mean-square normalisation over the trailing dims, with a learnt scale."""

from __future__ import annotations

import numbers
from typing import Any

from gradviz.engine.creation import empty
from gradviz.engine.tensor import Tensor
from gradviz.nn import init
from gradviz.nn.functional_losses import rms_norm
from gradviz.nn.modules.module import Module
from gradviz.nn.parameter import Parameter

__all__ = ["RMSNorm"]


class RMSNorm(Module):
    """Divide by the root mean square over the trailing ``normalized_shape`` dims, then scale.

    ``y = x / sqrt(mean(x**2) + eps) * weight``, as ``torch.nn.RMSNorm``.

    Args:
        normalized_shape: the trailing shape to normalise over (an int or a sequence).
        eps: added to the mean square; None uses the machine epsilon of the input's dtype.
        elementwise_affine: learn a per-element ``weight`` (initialised to ones).
        device: where to create the weight.
        dtype: the weight's dtype.

    Example:
        >>> from gradviz.nn.modules.rmsnorm import RMSNorm
        >>> RMSNorm(8)
        RMSNorm((8,), eps=None, elementwise_affine=True)
    """

    def __init__(
        self,
        normalized_shape: Any,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.weight: Parameter | None
        if elementwise_affine:
            self.weight = Parameter(empty(*self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set ``weight`` to ones."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        """Return the normalised and scaled input."""
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        """Return ``normalized_shape, eps=..., elementwise_affine=...``."""
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
