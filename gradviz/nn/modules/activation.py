"""Activation layers: thin modules over ``gradviz.nn.functional``, with PyTorch's reprs."""

from __future__ import annotations

from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn.modules.module import Module

__all__ = [
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "SiLU",
    "ELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
]


class ReLU(Module):
    """Apply ``max(0, x)`` elementwise.

    Args:
        inplace: overwrite the input instead of allocating the output.

    Example:
        >>> import gradviz
        >>> gradviz.nn.ReLU()(gradviz.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``relu(input)``."""
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        """Return ``inplace=True`` when in place, else nothing."""
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """Apply ``x if x >= 0 else negative_slope * x`` elementwise.

    Args:
        negative_slope: the slope for negative inputs.
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``leaky_relu(input)``."""
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        """Return ``negative_slope=...`` (and ``, inplace=True``)."""
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.negative_slope}{inplace_str}"


class Sigmoid(Module):
    """Apply ``1 / (1 + exp(-x))`` elementwise."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``sigmoid(input)``."""
        return F.sigmoid(input)


class Tanh(Module):
    """Apply ``tanh(x)`` elementwise."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``tanh(input)``."""
        return F.tanh(input)


class GELU(Module):
    """Apply the Gaussian error linear unit ``x * Phi(x)``.

    Args:
        approximate: ``"none"`` (exact, with erf) or ``"tanh"``.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``gelu(input)``."""
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        """Return ``approximate='...'``."""
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """Apply ``x * sigmoid(x)`` elementwise.

    Args:
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``silu(input)``."""
        return F.silu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        """Return ``inplace=True`` when in place, else nothing."""
        return "inplace=True" if self.inplace else ""


class ELU(Module):
    """Apply ``x if x > 0 else alpha * (exp(x) - 1)`` elementwise.

    Args:
        alpha: the scale of the negative part.
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``elu(input)``."""
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        """Return ``alpha=...`` (and ``, inplace=True``)."""
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"alpha={self.alpha}{inplace_str}"


class Softplus(Module):
    """Apply ``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.

    Args:
        beta: the sharpness.
        threshold: above ``beta * x > threshold`` the function is the identity.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``softplus(input)``."""
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        """Return ``beta=..., threshold=...``."""
        return f"beta={self.beta}, threshold={self.threshold}"


class _AlongDim(Module):
    """Base of the activations that normalise along one dimension ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def __setstate__(self, state: dict[str, object]) -> None:
        super().__setstate__(state)
        if not hasattr(self, "dim"):
            self.dim = None

    def extra_repr(self) -> str:
        """Return ``dim=...``."""
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """Apply softmax along ``dim`` (the outputs along it are positive and sum to 1).

    Args:
        dim: the dimension to normalise over (None is deprecated: PyTorch's implicit choice).
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``softmax(input, dim)``."""
        return F.softmax(input, self.dim, _stacklevel=5)


class LogSoftmax(_AlongDim):
    """Apply ``log(softmax(x))`` along ``dim``, computed stably.

    Args:
        dim: the dimension to normalise over (None is deprecated: PyTorch's implicit choice).
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``log_softmax(input, dim)``."""
        return F.log_softmax(input, self.dim, _stacklevel=5)
