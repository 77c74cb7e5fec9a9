"""Activation ops that PyTorch runs as fused kernels, each with PyTorch's node name.

``hardswish``, ``hardsigmoid``, ``mish``, ``log_sigmoid``, ``glu``, ``prelu``, ``selu``,
``celu``, ``threshold``, ``softshrink`` and ``hardshrink`` are single nodes in PyTorch
(``HardswishBackward0``, ``GluBackward0``, ...), so they are primitives here too; the
activations PyTorch composes in Python (``softsign``, ``tanhshrink``, ``softmin``) live in
``gradviz.nn.functional`` as compositions. ``pairwise_distance``'s two ATen nodes
(``AddBackward1``: tensor + scalar; ``NormBackward1``: ``at::norm(x, p, dim, keepdim)``)
are declared here as well.

Preconditions: the functions in this module take the arguments already checked by
``gradviz.nn.functional`` (dtype, shapes, argument ranges); the kernels only compute.
"""

from __future__ import annotations

from typing import Any

from gradviz.engine import backend
from gradviz.engine.ops import pointwise as P  # noqa: N812
from gradviz.engine.ops import reduction as R  # noqa: N812
from gradviz.engine.ops import shape as S  # noqa: N812
from gradviz.engine.ops._base import Op, Tensor, const

__all__ = [
    "add_scalar",
    "celu",
    "celu_",
    "elu_scaled",
    "elu_scaled_",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "log_sigmoid",
    "mish",
    "norm",
    "prelu",
    "softshrink",
    "threshold",
    "threshold_",
]

_ONE_SIXTH_F32 = 0.1666666716337204  # float32(1 / 6)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _masked(g: Tensor, keep: Any) -> Tensor:
    """Return ``g`` where the boolean array ``keep`` holds, else 0 (differentiable in ``g``).

    ATen's ``keep ? g : 0``: a NaN input, for which every comparison is False, gets 0.
    """
    return P.where(const(keep), g, P.zero_grad(g))


# ---------------------------------------------------------------------------- hard activations


class Hardswish(Op):
    """``x * relu6(x + 3) / 6``. d/dx = 0 up to -3, g * (x / 3 + 1/2) below 3, g from 3 on."""

    node = "HardswishBackward0"
    saves = ("self",)

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = backend.namespace(a)
        return a * xp.clip(a + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        # NOTE: PyTorch's kink values: the slope is 0 at x == -3 and 1 at x == 3.
        data = a._data
        inside = P.where(const(data < 3), g * (a / 3 + 0.5), g)
        return P.where(const(data <= -3), g * 0, inside)


def hardswish(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input * relu6(input + 3) / 6`` (``HardswishBackward0``)."""
    return Hardswish.apply(input)


class Hardsigmoid(Op):
    """``relu6(x + 3) / 6``. d/dx = g / 6 strictly inside (-3, 3), else 0."""

    node = "HardsigmoidBackward0"
    saves = ("self",)

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return backend.namespace(a).clip(a + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        data = a._data
        # NOTE: PyTorch's kernel multiplies by 1/6 rounded to float32, in every dtype.
        return _masked(g * _ONE_SIXTH_F32, (data > -3) & (data < 3))


def hardsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``relu6(input + 3) / 6`` (``HardsigmoidBackward0``)."""
    return Hardsigmoid.apply(input)


class Hardshrink(Op):
    """``0`` where ``-lambd <= x <= lambd``, else ``x``. d/dx = 0 in that range, else g.

    A NaN input is outside the range: it stays NaN and passes the gradient (ATen's kernels).
    """

    node = "HardshrinkBackward0"
    saves = ("self",)
    attrs = ("lambd",)

    @staticmethod
    def forward(ctx: Any, a: Any, lambd: float = 0.5) -> Any:
        ctx.lambd = lambd
        xp = backend.namespace(a)
        return xp.where((a >= -lambd) & (a <= lambd), xp.zeros_like(a), a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        data = a._data
        return P.zero_where(g, (data >= -ctx.lambd) & (data <= ctx.lambd))


def hardshrink(input: Tensor, lambd: float) -> Tensor:  # noqa: A002
    """Return ``input`` where ``|input| > lambd``, else 0 (``HardshrinkBackward0``)."""
    return Hardshrink.apply(input, lambd=lambd)


class Softshrink(Hardshrink):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    d/dx = 0 where ``-lambd <= x <= lambd``, else g (Hardshrink's backward; the same saves
    and attrs). A NaN input gives NaN (ATen's ``x * 0`` in the middle branch).
    """

    node = "SoftshrinkBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, lambd: float = 0.5) -> Any:
        ctx.lambd = lambd
        xp = backend.namespace(a)
        return xp.where(a > lambd, a - lambd, xp.where(a < -lambd, a + lambd, a * 0))


def softshrink(input: Tensor, lambd: float) -> Tensor:  # noqa: A002
    """Return ``input`` shrunk toward 0 by ``lambd`` (``SoftshrinkBackward0``)."""
    return Softshrink.apply(input, lambd=lambd)


class Threshold(Op):
    """``value`` where ``x <= threshold``, else ``x``. d/dx = 0 where ``x <= threshold``, else g.

    A NaN input is kept and passes the gradient (ATen's ``x <= threshold ? 0 : g``).
    """

    node = "ThresholdBackward0"
    saves = ("self",)
    attrs = ("threshold", "value")

    @staticmethod
    def forward(ctx: Any, a: Any, threshold: float = 0.0, value: float = 0.0) -> Any:
        ctx.threshold = threshold
        ctx.value = value
        xp = backend.namespace(a)
        return xp.where(a <= threshold, backend.asarray(value, a, a.dtype), a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return P.zero_where(g, a._data <= ctx.threshold)


class ThresholdInplace(Threshold):
    """In-place threshold: the same formula; the input is saved from before the write."""

    node = "ThresholdBackward1"


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """Return ``input`` where it exceeds ``threshold``, else ``value`` (``ThresholdBackward0``)."""
    return Threshold.apply(input, threshold=threshold, value=value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """Apply ``threshold`` to ``input`` in place (``ThresholdBackward1``)."""
    return input._inplace(ThresholdInplace.apply, threshold=threshold, value=value)


# ---------------------------------------------------------------------------- smooth activations


class Mish(Op):
    """``x * tanh(softplus(x))``. d/dx = g * (t + x * sigmoid(x) * (1 - t^2)), t = tanh(sp(x))."""

    node = "MishBackward0"
    saves = ("self",)

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = backend.namespace(a)
        softplus = xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))
        return a * xp.tanh(softplus)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        t = P.tanh(P.softplus(a))
        return g * (t + a * P.sigmoid(a) * (1 - t * t))


def mish(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input * tanh(softplus(input))`` (``MishBackward0``)."""
    return Mish.apply(input)


class LogSigmoid(Op):
    """``log(sigmoid(x))``, computed stably. d/dx = g * sigmoid(-x)."""

    node = "LogSigmoidBackward0"
    saves = ("self",)

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        xp = backend.namespace(a)
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return g * P.sigmoid(-a)


def log_sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``log(1 / (1 + exp(-input)))`` (``LogSigmoidBackward0``)."""
    return LogSigmoid.apply(input)


class Celu(Op):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``: ELU with input_scale 1 / alpha.

    PyTorch saves only ``alpha`` for it, so it is its own op on ``elu``'s kernel.
    """

    node = "CeluBackward0"
    saves = ("self",)
    attrs = ("alpha",)

    @staticmethod
    def forward(ctx: Any, a: Any, alpha: float = 1.0) -> Any:
        ctx.alpha = alpha
        return P.elu_kernel(a, alpha, 1.0, 1.0 / alpha)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return P.elu_grad(g, a, ctx.alpha, 1.0, 1.0 / ctx.alpha)


class CeluInplace(Celu):
    """In-place ``Celu``; it saves its result, as PyTorch does."""

    node = "CeluBackward1"
    saves = ("result",)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (r,) = ctx.saved_tensors
        return P.elu_grad_from_result(g, r, ctx.alpha, 1.0, 1.0 / ctx.alpha)


def elu_scaled(input: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:  # noqa: A002
    """Return ATen's ``elu(input, alpha, scale, input_scale)`` (``EluBackward0``)."""
    return P.Elu.apply(input, alpha=alpha, scale=scale, input_scale=input_scale)


def elu_scaled_(input: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:  # noqa: A002
    """Apply ``elu_scaled`` in place (``EluBackward1``)."""
    return input._inplace(P.EluInplace.apply, alpha=alpha, scale=scale, input_scale=input_scale)


def celu(input: Tensor, alpha: float) -> Tensor:  # noqa: A002
    """Return the continuously differentiable ELU of ``input`` (``CeluBackward0``)."""
    return Celu.apply(input, alpha=alpha)


def celu_(input: Tensor, alpha: float) -> Tensor:  # noqa: A002
    """Apply ``celu`` in place (``CeluBackward1``)."""
    return input._inplace(CeluInplace.apply, alpha=alpha)


# ---------------------------------------------------------------------------- gated, parametric


class Glu(Op):
    """``a * sigmoid(b)`` for the halves ``a, b`` of ``x`` along ``dim``.

    d/da = g * sigmoid(b), d/db = g * a * sigmoid(b) * (1 - sigmoid(b)).
    """

    node = "GluBackward0"
    saves = ("self",)
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = -1, axis: int = 0) -> Any:
        ctx.dim = dim
        ctx.axis = axis
        first, second = _halves(a, axis)
        return first * P._sigmoid(backend.namespace(a), second)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        first, second = _halves(x, ctx.axis)
        s = P.sigmoid(second)
        return S.cat([g * s, g * first * s * (1 - s)], ctx.axis)


def _halves(x: Any, axis: int) -> tuple[Any, Any]:
    """Split an array or Tensor in two equal halves along ``axis``."""
    half = x.shape[axis] // 2
    lead = (slice(None),) * axis
    return x[lead + (slice(0, half),)], x[lead + (slice(half, None),)]


def glu(input: Tensor, dim: int, axis: int) -> Tensor:  # noqa: A002
    """Return the gated linear unit of ``input`` along ``axis`` (``GluBackward0``).

    ``dim`` is the dimension as the caller wrote it (kept for display); ``axis`` is it
    normalised to a non-negative axis.
    """
    return Glu.apply(input, dim=dim, axis=axis)


class PreluKernel(Op):
    """``x`` where positive, else ``weight * x`` (``weight`` broadcast to ``x``).

    d/dx = g where x > 0, else g * weight; d/dweight = g * x where x <= 0, else 0 (the
    engine sums it back to the weight's shape).
    """

    node = "PreluKernelBackward0"
    inputs = ("self", "weight")
    saves = ("self", "weight")

    @staticmethod
    def forward(ctx: Any, a: Any, w: Any) -> Any:
        return backend.namespace(a).where(a > 0, a, w * a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, w = ctx.saved_tensors
        positive = const(a._data > 0)
        need = ctx.needs_input_grad
        ga = P.where(positive, g, g * w) if need[0] else None
        gw = P.where(positive, g * 0, g * a) if need[1] else None
        return ga, gw


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """Return ``input`` where positive, else ``weight * input`` (``PreluKernelBackward0``).

    ``weight`` must already broadcast to ``input`` (``gradviz.nn.functional.prelu``
    views it as PyTorch does).
    """
    return PreluKernel.apply(input, weight)


# ---------------------------------------------------------------------------- distance helpers


class AddScalar(Op):
    """``x + other`` for a Python number ``other`` (ATen's ``add.Scalar``). d/dx = g."""

    node = "AddBackward1"
    attrs = ("other",)

    @staticmethod
    def forward(ctx: Any, a: Any, other: float = 0.0) -> Any:
        ctx.other = other
        return a + other

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g


def add_scalar(input: Tensor, other: float) -> Tensor:  # noqa: A002
    """Return ``input + other`` as ATen's ``add.Scalar`` (``AddBackward1``)."""
    return AddScalar.apply(input, other=other)


class Norm(R.VectorNorm):
    """ATen's ``norm(x, p, dim, keepdim)``: the vector norm, with the p-norm gradient.

    d/dx = g * sign(x) * |x|^(p-1) / ||x||^(p-1); 0 for p == 0 (a count of non-zeros).
    """

    node = "NormBackward1"
    attrs = ("p", "dim", "keepdim")

    @staticmethod
    def forward(
        ctx: Any,
        a: Any,
        ord: float = 2,  # noqa: A002 - the parent's argument name
        dim: tuple[int, ...] = (),
        keepdim: bool = False,
    ) -> Any:
        ctx.p = float(ord)
        return R.VectorNorm.forward(ctx, a, ord=ord, dim=dim, keepdim=keepdim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if ctx.p == 0:
            (a, _) = ctx.saved_tensors
            return a * 0
        return R.VectorNorm.backward(ctx, g)


def norm(input: Tensor, p: float, dim: tuple[int, ...], keepdim: bool) -> Tensor:  # noqa: A002
    """Return the ``p``-norm of ``input`` over the axes ``dim`` (``NormBackward1``)."""
    return Norm.apply(input, ord=p, dim=dim, keepdim=keepdim)
