"""Affine layers: ``Identity``, ``Linear``, ``Bilinear``.

Weights are initialised as in PyTorch: ``Linear`` draws its weight with
``kaiming_uniform_(a=sqrt(5))`` and its bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in));
``Bilinear`` draws both from U(-1/sqrt(in1_features), 1/sqrt(in1_features)).
"""

from __future__ import annotations

import math
from typing import Any

from gradviz.engine.creation import empty
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn import init
from gradviz.nn.modules.module import Module
from gradviz.nn.parameter import Parameter

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    """Return the input unchanged (arguments to the constructor are ignored).

    Example:
        >>> import gradviz
        >>> x = gradviz.ones(2)
        >>> gradviz.nn.Identity(54, unused="x")(x) is x
        True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``input``."""
        return input


class Linear(Module):
    """Apply ``y = x @ weight.T + bias`` (``AddmmBackward0`` for 2-D input).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Attributes:
        weight: shape ``(out_features, in_features)``.
        bias: shape ``(out_features,)``, or None.

    Example:
        >>> import gradviz
        >>> m = gradviz.nn.Linear(20, 30)
        >>> m(gradviz.randn(128, 20)).shape
        gradviz.Size([128, 30])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias again, as PyTorch initialises them."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return ``input @ weight.T + bias``."""
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        """Return ``in_features=..., out_features=..., bias=...``."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """Apply ``y_k = x1 @ weight[k] @ x2 + bias[k]``.

    Args:
        in1_features: size of each first input sample.
        in2_features: size of each second input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Attributes:
        weight: shape ``(out_features, in1_features, in2_features)``.
        bias: shape ``(out_features,)``, or None.
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(
            empty(out_features, in1_features, in2_features, device=device, dtype=dtype)
        )
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias again, as PyTorch initialises them.

        Raises:
            ValueError: ``in1_features`` is not positive (the bound divides by it).
        """
        if self.in1_features <= 0:
            raise ValueError(
                f"in1_features must be > 0, but got (in1_features={self.in1_features})"
            )
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        """Return the bilinear form of ``input1`` and ``input2``."""
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        """Return ``in1_features=..., in2_features=..., out_features=..., bias=...``."""
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
