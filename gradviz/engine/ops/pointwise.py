"""Elementwise ops: arithmetic, powers, activations, comparisons, fills.

Kernels use the array namespace of their inputs; backward formulas use Tensor ops, so
double backward works. Broadcasting is undone by the engine, so a binary op's backward
returns gradients in the broadcast shape.
"""

from __future__ import annotations

import math
from typing import Any

from gradviz.engine import backend
from gradviz.engine.dtypes import is_bool, is_floating, native, result_type
from gradviz.engine.function import infer_size
from gradviz.engine.grad_mode import _grad_enabled
from gradviz.engine.ops._base import Op, Tensor, check_tensor, const, register

__all__ = [
    "abs",
    "acos",
    "add",
    "asin",
    "atan",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "ceil",
    "clamp",
    "cos",
    "cosh",
    "div",
    "elu",
    "eq",
    "erf",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "fmod",
    "ge",
    "gelu",
    "greater",
    "greater_equal",
    "gt",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "leaky_relu",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "masked_fill",
    "maximum",
    "minimum",
    "mul",
    "ne",
    "neg",
    "not_equal",
    "pow",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "rsub",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "sinh",
    "softplus",
    "sqrt",
    "square",
    "sub",
    "tan",
    "tanh",
    "trunc",
    "where",
]

# ---------------------------------------------------------------------------- arithmetic


class Add(Op):
    node = "AddBackward0"
    scalar_operands = True
    inputs = ("self", "other")
    attrs = ("alpha",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, alpha: Any = 1) -> Any:
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        if not ctx.needs_input_grad[1]:
            return g, None
        return g, (g if ctx.alpha == 1 else g * ctx.alpha)


class Sub(Op):
    node = "SubBackward0"
    scalar_operands = True
    inputs = ("self", "other")
    attrs = ("alpha",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, alpha: Any = 1) -> Any:
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        if not ctx.needs_input_grad[1]:
            return g, None
        return g, (-g if ctx.alpha == 1 else g * -ctx.alpha)


class RsubScalar(Op):
    node = "RsubBackward1"
    attrs = ("other", "alpha")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, other: Any = 0, alpha: Any = 1) -> Any:
        ctx.other = other
        ctx.alpha = alpha
        return other - a if alpha == 1 else other - alpha * a

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return -g if ctx.alpha == 1 else g * -ctx.alpha


class Rsub(Op):
    node = "RsubBackward0"
    inputs = ("self", "other")
    attrs = ("alpha",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, alpha: Any = 1) -> Any:
        ctx.alpha = alpha
        return b - a if alpha == 1 else b - alpha * a

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        return (-g if ctx.alpha == 1 else g * -ctx.alpha), g


class Mul(Op):
    node = "MulBackward0"
    scalar_operands = True
    inputs = ("self", "other")
    saves = ("self", "other")
    needs = {"self": (1,), "other": (0,)}
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return a * b

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        need = ctx.needs_input_grad
        if not _grad_enabled[0]:  # plain backward: on the arrays
            gd = g._data
            return (
                const(gd * backend.operand(ctx._unpack_array("other"), gd)) if need[0] else None,
                const(gd * ctx._unpack_array("self")) if need[1] else None,
            )
        a, b = ctx.saved_tensors
        return (g * b if need[0] else None), (g * a if need[1] else None)


class Div(Op):
    node = "DivBackward0"
    scalar_operands = True
    inputs = ("self", "other")
    saves = ("self", "other")
    needs = {"self": (1,)}
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return a / b

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = g / b if need[0] else None
        gb = -g * a / (b * b) if need[1] else None
        return ga, gb


class DivRounding(Op):
    """``a / b`` rounded down or toward zero. The gradient is zero (piecewise constant)."""

    node = "DivBackward2"
    inputs = ("self", "other")
    attrs = ("rounding_mode",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, rounding_mode: str = "floor") -> Any:
        ctx.rounding_mode = rounding_mode
        xp = backend.namespace(a if hasattr(a, "shape") else b)
        dtype = _dtype(a, b)
        if is_floating(dtype):
            q = a / b
            return xp.floor(q) if rounding_mode == "floor" else xp.trunc(q)
        _check_integer_divisor(f"div_{rounding_mode}_cpu", dtype, b)
        if rounding_mode == "floor":
            return xp.floor_divide(a, b)
        q = xp.floor_divide(a, b)  # trunc: round toward zero where floor rounded down
        return xp.where((q < 0) & (q * b != a), q + 1, q)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        z = g * 0
        return z, z


def _check_integer_divisor(kernel: str, dtype: Any, b: Any) -> None:
    """Raise PyTorch's errors for integer division: no bool kernel, no division by zero."""
    if is_bool(dtype):
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    xp = backend.namespace(b) if hasattr(b, "shape") else None
    zero = bool(xp.any(b == 0)) if xp is not None else b == 0
    if zero:
        raise RuntimeError("ZeroDivisionError")


class RemainderScalar(Op):
    """Python's ``input % other`` for a number ``other``. d/dinput = g."""

    node = "RemainderBackward0"
    attrs = ("other",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, other: Any = 1) -> Any:
        ctx.other = other
        return _remainder(a, other)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g


class Remainder(Op):
    """Python's ``a % b`` of two tensors. d/da = g, d/db = -g * floor(a / b)."""

    node = "RemainderBackward1"
    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return _remainder(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            gb = -g * floor(div(a, b))
        return g, gb


def _remainder(a: Any, b: Any) -> Any:
    """Python's modulus (the result takes the divisor's sign).

    For floats it is exact, as ATen's fmod-based kernel (``a - floor(a / b) * b`` was off in
    the last bit for a third of the values, and NaN for an infinite divisor).
    """
    dtype = _dtype(a, b)
    if not is_floating(dtype):
        _check_integer_divisor("remainder_cpu", dtype, b)
    return backend.namespace(a if hasattr(a, "shape") else b).remainder(a, b)


class FmodScalar(Op):
    """C's ``fmod(input, other)`` for a number ``other``. d/dinput = g."""

    node = "FmodBackward0"
    attrs = ("other",)
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, other: Any = 1) -> Any:
        ctx.other = other
        return _fmod(a, other)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g


class Fmod(Op):
    """C's ``fmod(a, b)`` of two tensors. d/da = g, d/db = -g * trunc(a / b)."""

    node = "FmodBackward1"
    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return _fmod(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            gb = -g * trunc(div(a, b))
        return g, gb


def _fmod(a: Any, b: Any) -> Any:
    """C's fmod (the result takes the dividend's sign), for floats and integers alike."""
    dtype = _dtype(a, b)
    if not is_floating(dtype):
        _check_integer_divisor("fmod_cpu", dtype, b)
    return backend.fmod(a, b)


def _dtype(a: Any, b: Any) -> Any:
    return a.dtype if hasattr(a, "dtype") else b.dtype


def floating_only(name: str, x: Tensor, *, per_device: bool = True) -> None:
    """Raise PyTorch's NotImplementedError: ATen's kernel has no integer or bool version.

    The kernel is named ``name`` with the device type (``elu_cpu``), or ``name`` alone
    where ``per_device`` is False (``GeluKernelImpl``).
    """
    if not is_floating(x._data.dtype):
        kernel = f"{name}_{x.device.type}" if per_device else name
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{x.dtype.scalar_name}'")


def zero_grad(g: Tensor) -> Tensor:
    """Return zeros shaped like ``g``: PyTorch's ``zeros_like(grad)``.

    ``g * 0`` would be NaN where ``g`` is NaN or infinite.
    """
    return const(backend.zeros(g._data, g._data.shape))


def zero_where(g: Tensor, drop: Any) -> Tensor:
    """Return 0 where the boolean array ``drop`` holds, else ``g`` (differentiable in ``g``).

    ATen's ``drop ? 0 : g``: a NaN input, for which every comparison is False, passes ``g``.
    """
    return where(const(drop), zero_grad(g), g)


class Neg(Op):
    node = "NegBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return -a

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return -g


class Reciprocal(Op):
    node = "ReciprocalBackward0"
    saves = ("result",)
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return 1 / a

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (r,) = ctx.saved_tensors
        return -g * r * r


class PowScalar(Op):
    """``a ** exponent`` for a number ``exponent``. d/da = g * exponent * a**(exponent-1)."""

    node = "PowBackward0"
    saves = ("self",)
    attrs = ("exponent",)

    @staticmethod
    def forward(ctx: Any, a: Any, exponent: Any = 2) -> Any:
        ctx.exponent = exponent
        if exponent == 2:
            return a * a
        if is_bool(a.dtype):
            xp = backend.namespace(a)
            return a if exponent else xp.ones_like(a)
        return a**exponent

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        e = ctx.exponent
        if e == 0:
            return zero_grad(g)
        if e == 2:
            return g * (a * 2)
        return g * (a ** (e - 1) * e)


class PowTensor(Op):
    """``a ** b`` of two tensors. d/da = g * b * a**(b-1), d/db = g * a**b * log(a)."""

    node = "PowBackward1"
    inputs = ("self", "exponent")
    saves = ("self", "exponent", "result")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        if is_floating(a.dtype):
            return a**b
        return _integer_pow(backend.namespace(a), a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b, r = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = g * b * a ** (b - 1) if need[0] else None
        gb = None
        if need[1]:
            safe = where(a == 0, 1.0, a)  # 0**b has gradient 0 w.r.t. b where b > 0
            gb = g * where((a == 0) & (b >= 0), 0.0, r * log(safe))
        return ga, gb


def _integer_pow(xp: Any, a: Any, b: Any) -> Any:
    """Integer power with C semantics for negative exponents (0, or +-1 for a base of +-1)."""
    if is_bool(a.dtype):
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    negative = b < 0
    if not bool(xp.any(negative)):
        return a**b
    positive = a ** xp.where(negative, 0, b)
    odd = xp.remainder(b, 2) != 0
    one = xp.ones_like(positive)
    inverse = xp.where(a == 1, one, xp.where(a == -1, xp.where(odd, -one, one), 0 * one))
    return xp.where(negative, inverse, positive)


class PowScalarBase(Op):
    """``base ** b`` for a number ``base``. d/db = g * base**b * log(base)."""

    node = "PowBackward2"
    saves = ("result",)
    attrs = ("self",)

    @staticmethod
    def forward(ctx: Any, b: Any, base: Any = 2) -> Any:
        ctx.self = base
        if is_floating(b.dtype):
            return base**b
        xp = backend.namespace(b)
        return _integer_pow(xp, xp.full_like(b, base), b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (r,) = ctx.saved_tensors
        return g * r * math.log(ctx.self) if ctx.self > 0 else g * 0


def _cast_for_scalar(input: Tensor, *scalars: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``input`` in PyTorch's result dtype for ``input`` op ``scalars`` (non-floats only)."""
    if is_floating(input._data.dtype):
        return input
    want = result_type(input, *(x for x in scalars if x is not None))
    return input if want is input.dtype else input.to(want)


_BOOL_SUB = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
    "invert a mask, use the `~` or `logical_not()` operator instead."
)
_TWO_BOOL_SUB = (
    "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
    "`logical_xor()` operator instead."
)


def _is_bool(x: Any) -> bool:
    return x.__class__ is bool or (isinstance(x, Tensor) and is_bool(x._data.dtype))


def _check_sub(a: Any, b: Any) -> None:
    a_bool = _is_bool(a)
    b_bool = _is_bool(b)
    if a_bool or b_bool:
        raise RuntimeError(_TWO_BOOL_SUB if a_bool and b_bool else _BOOL_SUB)


@register("add")
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """Return ``input + alpha * other`` (``AddBackward0``)."""
    if not isinstance(input, Tensor):
        return Add.apply(other, input, alpha=1) if alpha == 1 else Add.apply(input * alpha, other)
    if alpha == 1:
        return Add.apply(input, other)
    return Add.apply(input, other, alpha=alpha)


@register("sub", "subtract")
def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """Return ``input - alpha * other`` (``SubBackward0``)."""
    if not isinstance(input, Tensor):
        return rsub(other, input, alpha=alpha)
    if is_bool(input._data.dtype) or _is_bool(other):
        _check_sub(input, other)
    if alpha == 1:
        return Sub.apply(input, other)
    return Sub.apply(input, other, alpha=alpha)


@register("rsub")
def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """Return ``other - alpha * input`` (``RsubBackward1`` for a scalar ``other``)."""
    _check_sub(input, other)
    if isinstance(other, Tensor):
        return Rsub.apply(input, other, alpha=alpha)
    return RsubScalar.apply(_cast_for_scalar(input, other), other=other, alpha=alpha)


@register("mul", "multiply")
def mul(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Return ``input * other`` (``MulBackward0``)."""
    if not isinstance(input, Tensor):
        return Mul.apply(other, input)
    return Mul.apply(input, other)


@register("div", "divide", "true_divide")
def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    """Return ``input / other``; ``rounding_mode`` is ``None``, ``"floor"`` or ``"trunc"``."""
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(
                "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                f"'{rounding_mode}'"
            )
        return DivRounding.apply(input, other, rounding_mode=rounding_mode)
    if not isinstance(input, Tensor):
        return mul(reciprocal(other), input)
    return Div.apply(input, other)


@register("floor_divide")
def floor_divide(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Return ``floor(input / other)``."""
    return div(input, other, rounding_mode="floor")


@register("remainder")
def remainder(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Return Python's modulus ``input % other`` (the sign of ``other``)."""
    if not isinstance(input, Tensor):
        from gradviz.engine.creation import tensor as _tensor  # noqa: PLC0415 - import cycle

        input = _tensor(input, dtype=result_type(input, other), device=other.device)  # noqa: A001
    if isinstance(other, Tensor):
        return Remainder.apply(input, other)
    return RemainderScalar.apply(_cast_for_scalar(input, other), other=other)


@register("fmod")
def fmod(input: Tensor, other: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return C's remainder of ``input / other`` (the sign of ``input``)."""
    if isinstance(other, Tensor):
        return Fmod.apply(input, other)
    return FmodScalar.apply(_cast_for_scalar(input, other), other=other)


_BOOL_NEG = (
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
    "invert a mask, use the `~` or `logical_not()` operator instead."
)


@register("neg", "negative")
def neg(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``-input``."""
    if is_bool(input._data.dtype):
        raise RuntimeError(_BOOL_NEG)
    return Neg.apply(input)


@register("reciprocal")
def reciprocal(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``1 / input``."""
    return Reciprocal.apply(input)


@register("pow")
def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001, A002
    """Return ``input ** exponent`` (``PowBackward0``/``1``/``2`` by which is a tensor)."""
    if not isinstance(input, Tensor):
        return _rpow(exponent, input)
    if isinstance(exponent, Tensor):
        return PowTensor.apply(input, exponent)
    if not is_floating(input._data.dtype):
        if isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        input = _cast_for_scalar(input, exponent)  # noqa: A001
    return PowScalar.apply(input, exponent=exponent)


def _rpow(exponent: Tensor, base: Any) -> Tensor:
    """Return ``base ** exponent`` for a Python number ``base``."""
    return PowScalarBase.apply(_cast_for_scalar(exponent, base), base=base)


@register("square")
def square(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input ** 2``."""
    return pow(input, 2)


# ---------------------------------------------------------------------------- unary math


def _unary(
    name: str,
    node: str,
    kernel: Any,
    grad: Any,
    saves: tuple[str, ...] = ("self",),
    doc: str = "",
    arithmetic: bool = False,
    aliases: tuple[str, ...] = (),
    float_kernel: str = "",
) -> Any:
    """Declare an elementwise float op: ``kernel(xp, a)`` forward, ``grad(g, *saved)`` backward.

    ``arithmetic`` says that ``grad`` uses only Python operators, so in a plain backward it
    runs directly on the arrays (the same formula, without making Tensors). ``doc`` (the
    derivative) is the op class's docstring and ends the function's; ``aliases`` are more
    public names for the op. ``float_kernel`` names PyTorch's CPU kernel for ops that refuse
    integer and bool inputs (its NotImplementedError); the others turn those inputs into the
    default float dtype.
    """

    def forward(ctx: Any, a: Any) -> Any:
        return kernel(backend.namespace(a), a)

    def backward(ctx: Any, g: Tensor) -> Any:
        if arithmetic and not _grad_enabled[0]:
            return const(grad(g._data, ctx._unpack_array(saves[0])))
        return grad(g, *ctx.saved_tensors)

    cls: Any = type(
        node.replace("Backward0", ""),
        (Op,),
        {
            "node": node,
            "saves": saves,
            "promotes": "float",
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "__module__": __name__,
            "__doc__": doc or None,
        },
    )

    def op(input: Tensor) -> Tensor:  # noqa: A002
        if float_kernel and not is_floating(input._data.dtype):
            raise NotImplementedError(
                f"\"{float_kernel}\" not implemented for '{input.dtype.scalar_name}'"
            )
        return cls.apply(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Return ``{name}(input)`` elementwise (``{node}``)." + (f" {doc}" if doc else "")
    register(name, *aliases)(op)
    return op


exp = _unary(
    "exp", "ExpBackward0", lambda xp, a: xp.exp(a), lambda g, r: g * r, ("result",), arithmetic=True
)
log = _unary("log", "LogBackward0", lambda xp, a: xp.log(a), lambda g, a: g / a, arithmetic=True)
log2 = _unary(
    "log2",
    "Log2Backward0",
    lambda xp, a: xp.log2(a),
    lambda g, a: g / (a * math.log(2)),
    arithmetic=True,
)
log10 = _unary(
    "log10",
    "Log10Backward0",
    lambda xp, a: xp.log10(a),
    lambda g, a: g / (a * math.log(10)),
    arithmetic=True,
)
log1p = _unary(
    "log1p", "Log1PBackward0", lambda xp, a: xp.log1p(a), lambda g, a: g / (a + 1), arithmetic=True
)
expm1 = _unary(
    "expm1",
    "Expm1Backward0",
    lambda xp, a: xp.expm1(a),
    lambda g, r: g * (r + 1),
    ("result",),
    arithmetic=True,
)
sqrt = _unary(
    "sqrt",
    "SqrtBackward0",
    lambda xp, a: xp.sqrt(a),
    lambda g, r: g / (r * 2),
    ("result",),
    arithmetic=True,
)
rsqrt = _unary(
    "rsqrt",
    "RsqrtBackward0",
    lambda xp, a: 1 / xp.sqrt(a),
    lambda g, r: g * r * r * r * -0.5,
    ("result",),
    arithmetic=True,
)
sin: Any = _unary("sin", "SinBackward0", lambda xp, a: xp.sin(a), lambda g, a: g * cos(a))
cos: Any = _unary("cos", "CosBackward0", lambda xp, a: xp.cos(a), lambda g, a: -g * sin(a))
tan = _unary(
    "tan",
    "TanBackward0",
    lambda xp, a: xp.tan(a),
    lambda g, r: g * (r * r + 1),
    ("result",),
    arithmetic=True,
)
tanh = _unary(
    "tanh",
    "TanhBackward0",
    lambda xp, a: xp.tanh(a),
    lambda g, r: g * (backend.operand(1, r) - r * r),
    ("result",),
    arithmetic=True,
)
atan = _unary(
    "atan", "AtanBackward0", lambda xp, a: xp.atan(a), lambda g, a: g / (a * a + 1), arithmetic=True
)
asin = _unary("asin", "AsinBackward0", lambda xp, a: xp.asin(a), lambda g, a: g * rsqrt(1 - a * a))
acos = _unary("acos", "AcosBackward0", lambda xp, a: xp.acos(a), lambda g, a: -g * rsqrt(1 - a * a))
sinh: Any = _unary("sinh", "SinhBackward0", lambda xp, a: xp.sinh(a), lambda g, a: g * cosh(a))
cosh: Any = _unary("cosh", "CoshBackward0", lambda xp, a: xp.cosh(a), lambda g, a: g * sinh(a))
sigmoid = _unary(
    "sigmoid",
    "SigmoidBackward0",
    lambda xp, a: _sigmoid(xp, a),
    lambda g, r: g * (r * (1 - r)),
    ("result",),
    arithmetic=True,
)
erf = _unary(
    "erf",
    "ErfBackward0",
    lambda xp, a: backend.erf(a),
    lambda g, a: g * exp(-(a * a)) * (2 / math.sqrt(math.pi)),
)


def _sigmoid(xp: Any, a: Any) -> Any:
    # NOTE: PyTorch's formula: exp overflows to inf for very negative inputs, giving exactly 0
    # (floating-point warnings are off in kernels).
    return 1 / (1 + xp.exp(-a))


class Abs(Op):
    node = "AbsBackward0"
    saves = ("self",)

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return backend.namespace(a).abs(a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return g * sign(a)


@register("abs", "absolute")
def abs(input: Tensor) -> Tensor:  # noqa: A001, A002
    """Return ``|input|``; the gradient at 0 is 0, as in PyTorch."""
    if is_bool(input._data.dtype):
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
    return Abs.apply(input)


class _ZeroGrad(Op):
    """Piecewise-constant ops: the gradient is zero everywhere."""

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return zero_grad(g)


def _zero_grad_op(name: str, node: str, kernel: Any) -> Any:
    """Declare a rounding-like op: float inputs go through ``kernel``, integers are copied."""

    def forward(ctx: Any, a: Any) -> Any:
        xp = backend.namespace(a)
        if is_floating(a.dtype):
            return kernel(xp, a)
        if is_bool(a.dtype) and name != "sign":
            raise NotImplementedError(f"\"{name}_vml_cpu\" not implemented for 'Bool'")
        return xp.sign(a) if name == "sign" and not is_bool(a.dtype) else xp.asarray(a, copy=True)

    cls: Any = type(
        node.replace("Backward0", ""),
        (_ZeroGrad,),
        {"node": node, "forward": staticmethod(forward), "__module__": __name__},
    )

    def op(input: Tensor) -> Tensor:  # noqa: A002
        return cls.apply(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Return ``{name}(input)`` elementwise (zero gradient, ``{node}``)."
    register(name)(op)
    return op


# NOTE: PyTorch's sign is (0 < x) - (x < 0): 0 for NaN, where NumPy's sign gives NaN.
sign = _zero_grad_op(
    "sign", "SignBackward0", lambda xp, a: xp.where(xp.isnan(a), xp.zeros_like(a), xp.sign(a))
)
floor = _zero_grad_op("floor", "FloorBackward0", lambda xp, a: xp.floor(a))
ceil = _zero_grad_op("ceil", "CeilBackward0", lambda xp, a: xp.ceil(a))
round = _zero_grad_op("round", "RoundBackward0", lambda xp, a: xp.round(a))  # noqa: A001
trunc = _zero_grad_op("trunc", "TruncBackward0", lambda xp, a: xp.trunc(a))

# ---------------------------------------------------------------------------- activations


class Relu(Op):
    node = "ReluBackward0"
    saves = ("result",)

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return backend.namespace(a).maximum(a, 0)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        if _grad_enabled[0]:
            # create_graph: like PyTorch's threshold_backward, the gradient stays connected
            # to the result (with derivative 0), so it can be differentiated again.
            (r,) = ctx.saved_tensors
            return where(r != 0, g, r * 0)
        # threshold_backward: 0 where the result is <= 0, else the gradient. The result is
        # >= 0 or NaN (a NaN input), so that mask is ``result != 0``: a NaN passes the
        # gradient, as in PyTorch. Multiplying by the mask is several times faster than a
        # where (no branches), but turns a NaN or infinite gradient of an inactive unit into
        # NaN, not 0: one pass tells (rarely).
        rd, gd = ctx._unpack_array("result"), g._data
        positive = rd != 0
        out = backend.masked(gd, positive)
        if not backend.surely_finite(out):
            out = backend.namespace(rd).where(positive, gd, 0.0)
        return const(out)


@register("relu")
def relu(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``max(input, 0)`` (``ReluBackward0``)."""
    if is_bool(input._data.dtype):
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


class LeakyRelu(Op):
    node = "LeakyReluBackward0"
    saves = ("self",)
    attrs = ("negative_slope",)

    @staticmethod
    def forward(ctx: Any, a: Any, negative_slope: float = 0.01) -> Any:
        ctx.negative_slope = negative_slope
        return backend.namespace(a).where(a > 0, a, a * negative_slope)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return where(a > 0, g, g * ctx.negative_slope)


@register("leaky_relu", method=False)
def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """Return ``input`` where positive, else ``negative_slope * input``."""
    floating_only("leaky_relu", input)
    return LeakyRelu.apply(input, negative_slope=negative_slope)


def elu_kernel(a: Any, alpha: float, scale: float, input_scale: float) -> Any:
    """Return ATen's ``elu``: ``scale * x`` above 0, else alpha * scale * expm1(x * input_scale)."""
    xp = backend.namespace(a)
    negative = xp.expm1(xp.minimum(a, 0) * input_scale) * (alpha * scale)
    return xp.where(a > 0, a * scale, negative)


def elu_grad(g: Tensor, a: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """Return ``elu``'s gradient from its input: g * scale above 0, else g * d(negative)/dx."""
    # NOTE: clamp first, so the unused branch stays finite (no inf * 0 in double backward).
    slope = exp(clamp(a, max=0) * input_scale) * (alpha * scale * input_scale)
    return where(const(a._data <= 0), g * slope, g * scale)  # NaN: g * scale, as in ATen


def elu_grad_from_result(
    g: Tensor, r: Tensor, alpha: float, scale: float, input_scale: float
) -> Tensor:
    """Return ``elu``'s gradient from its result r (in-place forms, which lose the input)."""
    negative = g * ((r + alpha * scale) * input_scale)
    return where(const(r._data <= 0), negative, g * scale)


class Elu(Op):
    """ATen's ``elu`` (:func:`elu_kernel`); ELU and SELU are this op with other constants."""

    node = "EluBackward0"
    saves = ("self",)
    attrs = ("alpha", "scale", "input_scale")

    @staticmethod
    def forward(
        ctx: Any, a: Any, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0
    ) -> Any:
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        return elu_kernel(a, alpha, scale, input_scale)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return elu_grad(g, a, ctx.alpha, ctx.scale, ctx.input_scale)


class EluInplace(Elu):
    """In-place ``Elu``, saving the result, as PyTorch's ``EluBackward1`` does."""

    node = "EluBackward1"
    saves = ("result",)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (r,) = ctx.saved_tensors
        return elu_grad_from_result(g, r, ctx.alpha, ctx.scale, ctx.input_scale)


@register("elu", method=False)
def elu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """Return ``input`` where positive, else ``alpha * (exp(input) - 1)`` (``EluBackward0``)."""
    floating_only("elu", input)
    return Elu.apply(input, alpha=alpha, scale=1, input_scale=1)


class Gelu(Op):
    node = "GeluBackward0"
    saves = ("self",)
    attrs = ("approximate",)

    @staticmethod
    def forward(ctx: Any, a: Any, approximate: str = "none") -> Any:
        ctx.approximate = approximate
        xp = backend.namespace(a)
        if approximate == "tanh":
            return 0.5 * a * (1 + xp.tanh(_K * (a + 0.044715 * a * a * a)))
        return 0.5 * a * (1 + backend.erf(a * _SQRT1_2))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            inner = (a + a * a * a * 0.044715) * _K
            t = tanh(inner)
            dinner = (a * a * (3 * 0.044715) + 1) * _K
            return g * ((t + 1) * 0.5 + a * 0.5 * (1 - t * t) * dinner)
        cdf = (erf(a * _SQRT1_2) + 1) * 0.5
        pdf = exp(a * a * -0.5) * (1 / math.sqrt(2 * math.pi))
        return g * (cdf + a * pdf)


_K = math.sqrt(2 / math.pi)
_SQRT1_2 = 1 / math.sqrt(2)


@register("gelu", method=False)
def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """Return the Gaussian error linear unit of ``input`` (``approximate='tanh'`` optional)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    floating_only("GeluKernelImpl", input, per_device=False)
    return Gelu.apply(input, approximate=approximate)


class Silu(Op):
    node = "SiluBackward0"
    saves = ("self",)

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return a * _sigmoid(backend.namespace(a), a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        s = sigmoid(a)
        return g * (s * (1 + a * (1 - s)))


@register("silu", method=False)
def silu(input: Tensor) -> Tensor:  # noqa: A002
    """Return ``input * sigmoid(input)``."""
    floating_only("silu", input)
    return Silu.apply(input)


class Softplus(Op):
    node = "SoftplusBackward0"
    saves = ("self",)
    attrs = ("beta", "threshold")

    @staticmethod
    def forward(ctx: Any, a: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
        ctx.beta = beta
        ctx.threshold = threshold
        xp = backend.namespace(a)
        z = a * beta
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        return xp.where(z > threshold, a, soft)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        z = a * ctx.beta
        return where(z > ctx.threshold, g, g * sigmoid(z))


@register("softplus", method=False)
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """Return ``log(1 + exp(beta * input)) / beta``, linear above ``threshold``."""
    floating_only("softplus", input)
    return Softplus.apply(input, beta=beta, threshold=threshold)


# ---------------------------------------------------------------------------- clamp, min/max, where


class ClampScalar(Op):
    node = "ClampBackward1"
    saves = ("self",)
    attrs = ("min", "max")

    @staticmethod
    def forward(ctx: Any, a: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
        ctx.min = min
        ctx.max = max
        xp = backend.namespace(a)
        if min is not None:
            a = xp.maximum(a, min)
        if max is not None:
            a = xp.minimum(a, max)
        return a

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        data = a._data
        keep = None
        if ctx.min is not None:
            keep = data >= ctx.min
        if ctx.max is not None:
            below = data <= ctx.max
            keep = below if keep is None else keep & below
        return g * const(keep)


class ClampTensor(Op):
    node = "ClampBackward0"
    inputs = ("self", "min", "max")
    saves = ("self", "min", "max")

    @staticmethod
    def forward(ctx: Any, a: Any, lo: Any, hi: Any) -> Any:
        xp = backend.namespace(a)
        if lo is not None:
            a = xp.maximum(a, lo)
        if hi is not None:
            a = xp.minimum(a, hi)
        return a

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        # NOTE: ATen's clamp_backward_min_max: a bound gets the gradient where it won (a
        # NaN input sends it to neither bound), a min above the max wins over it.
        a, lo, hi = ctx.saved_tensors
        need = ctx.needs_input_grad
        zero = zero_grad(g)
        keep = None
        glo = ghi = None
        if lo is not None:
            keep = a >= lo
            if need[1]:
                won = a < lo if hi is None else (a < lo) & (lo < hi)
                glo = where(won, g, zero)
        if hi is not None:
            keep = a <= hi if keep is None else keep & (a <= hi)
            if need[2]:
                won = a > hi if lo is None else (a > hi) | (hi < lo)
                ghi = where(won, g, zero)
        return where(keep, g, zero), glo, ghi


@register("clamp", "clip")
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Return ``input`` limited to ``[min, max]`` (either may be None, a number or a tensor)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        tensors = [x for x in (input, min, max) if isinstance(x, Tensor)]
        if any(x.shape != input.shape for x in tensors):
            infer_size(*(tuple(x.shape) for x in tensors))  # PyTorch's error when they differ
        if min is not None and max is not None and result_type(input, min, max).name == "bool":
            raise NotImplementedError("\"clamp_cpu\" not implemented for 'Bool'")
        return ClampTensor.apply(input, min, max)
    return ClampScalar.apply(_cast_for_scalar(input, min, max), min=min, max=max)


class Maximum(Op):
    node = "MaximumBackward0"
    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return backend.namespace(a).maximum(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        return _minmax_backward(ctx, g, lambda a, b: a < b)


class Minimum(Op):
    node = "MinimumBackward0"
    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return backend.namespace(a).minimum(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        return _minmax_backward(ctx, g, lambda a, b: a > b)


def _minmax_backward(ctx: Any, g: Tensor, loses: Any) -> tuple[Any, Any]:
    """ATen's formulas: ``where(a == b, g / 2, g)``, zero where the input lost.

    Ties split the gradient in half; a NaN on either side loses nothing, so both inputs get
    the whole gradient there, as in PyTorch.
    """
    a, b = ctx.saved_tensors
    zero = zero_grad(g)
    shared = where(a == b, g * 0.5, g)
    need = ctx.needs_input_grad
    ga = where(loses(a, b), zero, shared) if need[0] else None
    gb = where(loses(b, a), zero, shared) if need[1] else None
    return ga, gb


@register("maximum")
def maximum(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return the elementwise maximum of two tensors."""
    check_tensor("maximum", "other", 2, other)
    return Maximum.apply(input, other)


@register("minimum")
def minimum(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return the elementwise minimum of two tensors."""
    check_tensor("minimum", "other", 2, other)
    return Minimum.apply(input, other)


class Where(Op):
    node = "WhereBackward0"
    inputs = ("self", "other")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, condition: Any = None) -> Any:
        ctx.save_array("condition", condition)
        xp = backend.namespace(condition)
        return xp.where(condition, a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        cond = const(ctx._unpack("condition"))
        z = g * 0
        need = ctx.needs_input_grad
        return (where(cond, g, z) if need[0] else None), (where(cond, z, g) if need[1] else None)


@register("where", method=False)
def where(condition: Any, input: Any, other: Any) -> Tensor:  # noqa: A002
    """Return ``input`` where ``condition`` holds, else ``other`` (``WhereBackward0``)."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        # Two numbers: PyTorch's result dtype for them (a float gives the default dtype).
        xp = backend.namespace(cond)
        dt = native(xp, result_type(input, other))
        return const(xp.where(cond, backend.full(cond, cond.shape, input, dt), other))
    shapes = [tuple(x.shape) for x in (cond, input, other) if hasattr(x, "shape")]
    if any(shape != shapes[0] for shape in shapes):
        infer_size(*shapes)  # PyTorch's error when they do not broadcast together
    return Where.apply(input, other, condition=cond)


def _tensor_where(self: Tensor, condition: Any, other: Any) -> Tensor:
    return where(condition, self, other)


register("where", function=False)(_tensor_where)

# ---------------------------------------------------------------------------- comparisons, logic


def _compare(name: str, kernel: Any) -> Any:
    cls: Any = type(
        name.capitalize(),
        (Op,),
        {
            "inputs": ("self", "other"),
            "differentiable": False,
            "forward": staticmethod(lambda ctx, a, b=None: kernel(a, b)),
            "__module__": __name__,
        },
    )

    def op(input: Any, other: Any = None) -> Tensor:  # noqa: A002
        return cls.apply(input, other)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Return the elementwise ``{name}`` of the inputs as a bool tensor (no gradient)."
    register(name)(op)
    return op


eq = _compare("eq", lambda a, b: a == b)
ne = _compare("ne", lambda a, b: a != b)
lt = _compare("lt", lambda a, b: a < b)
le = _compare("le", lambda a, b: a <= b)
gt = _compare("gt", lambda a, b: a > b)
ge = _compare("ge", lambda a, b: a >= b)
logical_and = _compare("logical_and", lambda a, b: backend.namespace(a).logical_and(a, b))
logical_or = _compare("logical_or", lambda a, b: backend.namespace(a).logical_or(a, b))
logical_xor = _compare("logical_xor", lambda a, b: backend.namespace(a).logical_xor(a, b))
logical_not = _compare("logical_not", lambda a, b: backend.namespace(a).logical_not(a))
isnan = _compare("isnan", lambda a, b: backend.namespace(a).isnan(a))
isinf = _compare("isinf", lambda a, b: backend.namespace(a).isinf(a))
isfinite = _compare("isfinite", lambda a, b: backend.namespace(a).isfinite(a))
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne
for _alias, _fn in (
    ("greater", gt),
    ("less", lt),
    ("greater_equal", ge),
    ("less_equal", le),
    ("not_equal", ne),
):
    register(_alias)(_fn)


def _bitwise(name: str, kernel: Any) -> Any:
    """Declare a bitwise op: logical on bool tensors, bitwise on integers, as in PyTorch."""

    def op(input: Any, other: Any) -> Tensor:  # noqa: A002
        a, b = (input, other) if isinstance(input, Tensor) else (other, input)
        want = result_type(a, b)
        if want.is_floating_point:
            kind = backend.device_of(a._data).type
            raise NotImplementedError(f"\"{name}_{kind}\" not implemented for '{want.scalar_name}'")
        xp = backend.namespace(a._data)
        dt = native(xp, want)
        x = a._data if a._data.dtype == dt else xp.astype(a._data, dt)
        if isinstance(b, Tensor):
            y = b._data if b._data.dtype == dt else xp.astype(b._data, dt)
        else:
            y = b
        return const(kernel(xp, x, y))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"Return the elementwise ``{name}`` of two bool or integer tensors (or a tensor and "
        "a Python int or bool): logical for bools, bitwise for integers, no gradient."
    )
    return op


bitwise_and = _bitwise("bitwise_and", lambda xp, x, y: x & y)
bitwise_or = _bitwise("bitwise_or", lambda xp, x, y: x | y)
bitwise_xor = _bitwise("bitwise_xor", lambda xp, x, y: x ^ y)


def bitwise_not(a: Tensor) -> Tensor:
    """Return ``~a``: logical not of a bool tensor, bitwise not of an integer one.

    Raises:
        TypeError: ``a`` is a floating-point tensor (PyTorch's message).
    """
    data = a._data
    if a.dtype.is_floating_point:
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    xp = backend.namespace(data)
    return const(xp.logical_not(data) if a.dtype.name == "bool" else ~data)


for _fn in (bitwise_and, bitwise_or, bitwise_xor, bitwise_not):
    register(_fn.__name__)(_fn)

# ---------------------------------------------------------------------------- fills and masks


class MaskedFill(Op):
    node = "MaskedFillBackward0"
    attrs = ("value",)

    @staticmethod
    def forward(ctx: Any, a: Any, mask: Any = None, value: Any = 0) -> Any:
        ctx.save_array("mask", mask)
        ctx.value = value
        xp = backend.namespace(a)
        return xp.where(mask, backend.asarray(value, a, a.dtype), a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        mask = const(ctx._unpack("mask"))
        return where(mask, g * 0, g)


class MaskedFillTensor(Op):
    node = "MaskedFillBackward1"
    inputs = ("self", "value")

    @staticmethod
    def forward(ctx: Any, a: Any, value: Any, mask: Any = None) -> Any:
        ctx.save_array("mask", mask)
        xp = backend.namespace(a)
        return xp.where(mask, xp.astype(value, a.dtype), a)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        mask = const(ctx._unpack("mask"))
        z = g * 0
        return where(mask, z, g), where(mask, g, z).sum()  # type: ignore[attr-defined]


@register("masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:  # noqa: A002
    """Return ``input`` with ``value`` where ``mask`` is True (``MaskedFillBackward0``)."""
    m = mask._data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) is None or not is_bool(m.dtype):
        kind = mask.dtype.c_name if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype {kind}"
        )
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        return MaskedFillTensor.apply(input, value, mask=m)
    return MaskedFill.apply(input, mask=m, value=value)


class Fill(Op):
    node = "FillBackward2"
    attrs = ("value",)

    @staticmethod
    def forward(ctx: Any, a: Any, value: Any = 0) -> Any:
        ctx.value = value
        return backend.full(a, a.shape, value)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return zero_grad(g)


class Zero(Op):
    node = "ZeroBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        return backend.zeros(a, a.shape)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return zero_grad(g)


class Copy(Op):
    node = "CopyBackwards"
    inputs = ("self", "src")

    @staticmethod
    def forward(ctx: Any, a: Any, src: Any) -> Any:
        xp = backend.namespace(a)
        src = src if hasattr(src, "shape") else backend.asarray(src, a, a.dtype)
        ctx.src_dtype = src.dtype
        out = xp.broadcast_to(src, a.shape)
        return out if out.dtype == a.dtype else xp.astype(out, a.dtype)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        return zero_grad(g), g


def _fill(input: Tensor, value: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        return Copy.apply(input, value)
    return Fill.apply(input, value=value)


def _zero(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    return Zero.apply(input)


def _copy(input: Tensor, src: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    if isinstance(src, Tensor) and src.shape != input.shape:
        shape = infer_size(tuple(input.shape), tuple(src.shape))  # PyTorch's size mismatch
        if shape != tuple(input.shape):
            raise RuntimeError(
                f"output with shape {list(input.shape)} doesn't match the broadcast shape "
                f"{list(shape)}"
            )
    return Copy.apply(input, src)
