"""Activation layers: thin modules over ``gradviz.nn.functional``, with PyTorch's reprs."""

from __future__ import annotations

from typing import Any

from gradviz.engine.creation import empty
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn import init
from gradviz.nn.modules.module import Module
from gradviz.nn.parameter import Parameter

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
    "Hardtanh",
    "ReLU6",
    "PReLU",
    "SELU",
    "CELU",
    "Mish",
    "Softsign",
    "Hardswish",
    "Hardsigmoid",
    "Threshold",
    "LogSigmoid",
    "GLU",
    "Softmin",
    "Tanhshrink",
    "Softshrink",
    "Hardshrink",
]


class _Inplace(Module):
    """Base of the elementwise activations whose only option is ``inplace``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        """Return ``inplace=True`` when in place, else nothing."""
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """Apply ``max(0, x)`` elementwise.

    Args:
        inplace: overwrite the input instead of allocating the output.

    Example:
        >>> import gradviz
        >>> gradviz.nn.ReLU()(gradviz.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``relu(input)``."""
        return F.relu(input, inplace=self.inplace)


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


class SiLU(_Inplace):
    """Apply ``x * sigmoid(x)`` elementwise.

    Args:
        inplace: overwrite the input instead of allocating the output.
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``silu(input)``."""
        return F.silu(input, inplace=self.inplace)


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


class Softmin(_AlongDim):
    """Apply ``softmax(-x)`` along ``dim`` (the outputs along it are positive and sum to 1).

    Args:
        dim: the dimension to normalise over (None is deprecated: PyTorch's implicit choice).
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``softmin(input, dim)``."""
        return F.softmin(input, self.dim, _stacklevel=5)


class Hardtanh(Module):
    """Clamp each element to ``[min_val, max_val]`` (``HardtanhBackward0``).

    Args:
        min_val: the lower end of the linear region.
        max_val: the upper end of the linear region.
        inplace: overwrite the input instead of allocating the output.

    Raises:
        AssertionError: ``max_val <= min_val`` (PyTorch's type and message).

    Example:
        >>> import gradviz
        >>> gradviz.nn.Hardtanh()(gradviz.tensor([-2.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if not self.max_val > self.min_val:
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``hardtanh(input, min_val, max_val)``."""
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        """Return ``min_val=..., max_val=...`` (and ``, inplace=True``)."""
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace_str}"


class ReLU6(Hardtanh):
    """Apply ``min(max(0, x), 6)`` elementwise (``HardtanhBackward0``, as in PyTorch).

    Args:
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        """Return ``inplace=True`` when in place, else nothing."""
        return "inplace=True" if self.inplace else ""


class PReLU(Module):
    """Apply ``x if x >= 0 else weight * x`` with a learned slope (``PreluKernelBackward0``).

    Args:
        num_parameters: 1 (one slope for every channel) or the number of channels (dim 1
            of the input).
        init: the initial slope.
        device: where to create the weight.
        dtype: the weight's dtype.

    Attributes:
        weight: the slopes, shape ``(num_parameters,)``.

    Example:
        >>> import gradviz
        >>> gradviz.nn.PReLU()(gradviz.tensor([-2.0, 2.0]))
        tensor([-0.5000,  2.0000], grad_fn=<PreluKernelBackward0>)
    """

    def __init__(
        self,
        num_parameters: int = 1,
        init: float = 0.25,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set every slope to ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``prelu(input, weight)``."""
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        """Return ``num_parameters=...``."""
        return f"num_parameters={self.num_parameters}"


class SELU(_Inplace):
    """Apply ``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` (``EluBackward0``).

    ``alpha`` and ``scale`` are SELU's fixed constants (about 1.6733 and 1.0507).

    Args:
        inplace: overwrite the input instead of allocating the output.
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``selu(input)``."""
        return F.selu(input, self.inplace)


class CELU(Module):
    """Apply ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (``CeluBackward0``).

    Args:
        alpha: the scale of the negative part (not 0).
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``celu(input, alpha)``."""
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        """Return ``alpha=...`` (and ``, inplace=True``)."""
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"alpha={self.alpha}{inplace_str}"


class Mish(_Inplace):
    """Apply ``x * tanh(softplus(x))`` elementwise (``MishBackward0``).

    Args:
        inplace: overwrite the input instead of allocating the output.
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``mish(input)``."""
        return F.mish(input, inplace=self.inplace)


class Hardswish(Module):
    """Apply ``x * relu6(x + 3) / 6`` elementwise (``HardswishBackward0``).

    Args:
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``hardswish(input)``."""
        return F.hardswish(input, self.inplace)


class Hardsigmoid(Module):
    """Apply ``relu6(x + 3) / 6`` elementwise (``HardsigmoidBackward0``).

    Args:
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``hardsigmoid(input)``."""
        return F.hardsigmoid(input, self.inplace)


class Threshold(Module):
    """Replace every element not above ``threshold`` by ``value`` (``ThresholdBackward0``).

    Args:
        threshold: the value to compare with.
        value: what replaces the elements at or below ``threshold``.
        inplace: overwrite the input instead of allocating the output.
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``threshold(input, threshold, value)``."""
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        """Return ``threshold=..., value=...`` (and ``, inplace=True``)."""
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace_str}"


class Softsign(Module):
    """Apply ``x / (1 + |x|)`` elementwise (composite: ``DivBackward0``)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``softsign(input)``."""
        return F.softsign(input)


class LogSigmoid(Module):
    """Apply ``log(sigmoid(x))`` elementwise, computed stably (``LogSigmoidBackward0``)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``logsigmoid(input)``."""
        return F.logsigmoid(input)


class Tanhshrink(Module):
    """Apply ``x - tanh(x)`` elementwise (composite: ``SubBackward0``)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``tanhshrink(input)``."""
        return F.tanhshrink(input)


class GLU(Module):
    """Apply the gated linear unit ``a * sigmoid(b)`` to the halves of the input along ``dim``.

    Args:
        dim: the dimension to split in two (its size must be even).
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``glu(input, dim)``."""
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        """Return ``dim=...``."""
        return f"dim={self.dim}"


class Softshrink(Module):
    """Move each element toward 0 by ``lambd``; 0 within ``[-lambd, lambd]``.

    Args:
        lambd: the shrinkage (non-negative).
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``softshrink(input, lambd)``."""
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        """Return the ``lambd`` value."""
        return str(self.lambd)


class Hardshrink(Module):
    """Zero each element within ``[-lambd, lambd]``, keep the others.

    Args:
        lambd: the half-width of the zeroed band.
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``hardshrink(input, lambd)``."""
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        """Return the ``lambd`` value."""
        return str(self.lambd)
