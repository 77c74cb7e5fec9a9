"""More elementwise math, special functions, scans and reductions, with PyTorch's nodes.

Families, in this order:

* **binary elementwise**: ``atan2``, ``hypot``, ``fmax``, ``fmin``, ``copysign``,
  ``logaddexp``, ``logaddexp2``, ``heaviside``, ``float_power``.
* **unary elementwise**: ``asinh``/``acosh``/``atanh`` (and their ``arc`` aliases),
  ``deg2rad``, ``rad2deg``, ``frac``, ``sinc``, ``logit``, ``nan_to_num``.
* **special functions**: ``erfc``, ``erfinv``, ``lgamma``, ``digamma``, ``polygamma``.
  The array API has no kernels for them, so they are written here with its elementwise
  functions only (they run on NumPy, CuPy and the strict stand-in alike), evaluated in
  float64 and rounded to the input's dtype: ``lgamma`` and ``digamma`` as Cephes computes
  them (recurrence into a small interval, a rational approximation or an asymptotic
  series, reflection for negative inputs), ``polygamma(n)`` for ``n >= 1`` through the
  Hurwitz zeta function (Euler-Maclaurin summation, Cephes' ``zeta``), ``erfc`` as
  ``1 - erf`` below 1.5 and Laplace's continued fraction above, ``erfinv`` by Halley
  steps on ``erf`` (centre) or ``erfc`` (tails, for relative accuracy near +-1).
  Accuracy: about 1e-15 relative away from the functions' zeros and poles.
* **scans**: ``cumprod``, ``cummax``, ``cummin``, ``logcumsumexp``.
* **reductions**: ``std_mean``, ``var_mean``, ``nansum``, ``nanmean``, ``aminmax``.
* **creation**: ``logspace``.

Preconditions: kernels never import NumPy; backward formulas use Tensor ops, so double
backward works. ``heaviside`` has no derivative in PyTorch: its output keeps a
``NotImplemented`` node whose backward raises PyTorch's error, as PyTorch's does.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, ClassVar

from gradviz.engine import backend
from gradviz.engine.dtypes import (
    float64,
    get_default_dtype,
    is_bool,
    is_floating,
    native,
    result_type,
    to_dtype,
)
from gradviz.engine.ops import extra as E  # noqa: N812 - short module aliases
from gradviz.engine.ops import pointwise as P  # noqa: N812
from gradviz.engine.ops import reduction as R  # noqa: N812
from gradviz.engine.ops import shape as S  # noqa: N812
from gradviz.engine.ops._base import (
    Op,
    Tensor,
    check_tensor,
    const,
    norm_dim,
    norm_dims,
    register,
)

__all__ = [
    "AminmaxResult",
    "CummaxResult",
    "CumminResult",
    "acosh",
    "aminmax",
    "asinh",
    "atan2",
    "atanh",
    "copysign",
    "cummax",
    "cummin",
    "cumprod",
    "deg2rad",
    "digamma",
    "erfc",
    "erfinv",
    "float_power",
    "fmax",
    "fmin",
    "frac",
    "heaviside",
    "hypot",
    "lgamma",
    "logaddexp",
    "logaddexp2",
    "logcumsumexp",
    "logit",
    "logspace",
    "nan_to_num",
    "nanmean",
    "nansum",
    "polygamma",
    "rad2deg",
    "sinc",
    "std_mean",
    "var_mean",
]

_min_max = namedtuple("_min_max", ["min", "max"])


class CummaxResult(R._values_indices):
    """``(values, indices)`` returned by ``cummax`` (PyTorch's ``return_types.cummax``)."""

    __slots__ = ()


class CumminResult(R._values_indices):
    """``(values, indices)`` returned by ``cummin`` (PyTorch's ``return_types.cummin``)."""

    __slots__ = ()


class AminmaxResult(_min_max):
    """``(min, max)`` returned by ``aminmax`` (PyTorch's ``return_types.aminmax``)."""

    __slots__ = ()


_PI = math.pi
_SQRT_PI = math.sqrt(math.pi)
_LN2 = math.log(2.0)

# ---------------------------------------------------------------------------- argument checks


def _float_only(kernel: str, *xs: Any) -> None:
    """Raise PyTorch's NotImplementedError when the ops' common dtype is not floating."""
    want = result_type(*xs)
    if not want.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{want.scalar_name}'")


def _in_float64(xp: Any, a: Any, kernel: Any) -> Any:
    """Return ``kernel(xp, a)`` evaluated in float64 and rounded to ``a``'s dtype."""
    if a.dtype == xp.float64:
        return kernel(xp, a)
    return xp.astype(kernel(xp, xp.astype(a, xp.float64)), a.dtype)


# ---------------------------------------------------------------------------- binary elementwise


class Atan2(Op):
    """Angle of the point ``(other, self)``. d/da = g * b / (a²+b²), d/db = -g * a / (a²+b²)."""

    node = "Atan2Backward0"
    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return backend.namespace(a).atan2(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        recip = P.reciprocal(a * a + b * b)
        return (g * b * recip if need[0] else None), (g * -a * recip if need[1] else None)


@register("atan2", "arctan2")
def atan2(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return the elementwise angle of ``(other, input)`` in ``[-pi, pi]`` (``Atan2Backward0``).

    Raises:
        TypeError: ``other`` is not a Tensor (PyTorch's message).
    """
    check_tensor("atan2", "other", 2, other)
    return Atan2.apply(input, other)


class Hypot(Op):
    """``sqrt(a² + b²)`` without overflow. d/da = g * a / r, d/db = g * b / r."""

    node = "HypotBackward0"
    inputs = ("self", "other")
    saves = ("self", "other", "result")
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return backend.namespace(a).hypot(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b, r = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (g * a / r if need[0] else None), (g * b / r if need[1] else None)


@register("hypot")
def hypot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``sqrt(input² + other²)`` elementwise (``HypotBackward0``).

    Raises:
        TypeError: ``other`` is not a Tensor.
        NotImplementedError: both are integer or bool tensors (PyTorch's message).
    """
    check_tensor("hypot", "other", 2, other)
    _float_only("hypot_cpu", input, other)
    return Hypot.apply(input, other)


class _FmaxFmin(Op):
    """Base of ``fmax``/``fmin``: the non-NaN operand wins; ties go to ``self`` (PyTorch)."""

    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = True
    kind = "max"

    @classmethod
    def forward(cls, ctx: Any, a: Any, b: Any) -> Any:  # type: ignore[override]
        xp = backend.namespace(a if hasattr(a, "shape") else b)
        pick = xp.maximum if cls.kind == "max" else xp.minimum
        return xp.where(xp.isnan(b), a, xp.where(xp.isnan(a), b, pick(a, b)))

    @classmethod
    def backward(cls, ctx: Any, g: Tensor) -> tuple[Any, Any]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        ad, bd = a._data, b._data
        xp = backend.namespace(ad)
        wins = (ad >= bd) if cls.kind == "max" else (ad <= bd)
        to_self = const(xp.logical_or(wins, xp.isnan(bd)))
        zero = g * 0
        need = ctx.needs_input_grad
        return (
            P.where(to_self, g, zero) if need[0] else None,
            P.where(to_self, zero, g) if need[1] else None,
        )


class Fmax(_FmaxFmin):
    """Elementwise maximum ignoring NaN. The gradient goes to the chosen operand."""

    node = "FmaxBackward0"
    kind = "max"


class Fmin(_FmaxFmin):
    """Elementwise minimum ignoring NaN. The gradient goes to the chosen operand."""

    node = "FminBackward0"
    kind = "min"


@register("fmax")
def fmax(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return the elementwise maximum, taking the other operand where one is NaN.

    Raises:
        TypeError: ``other`` is not a Tensor.
    """
    check_tensor("fmax", "other", 2, other)
    return Fmax.apply(input, other)


@register("fmin")
def fmin(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return the elementwise minimum, taking the other operand where one is NaN.

    Raises:
        TypeError: ``other`` is not a Tensor.
    """
    check_tensor("fmin", "other", 2, other)
    return Fmin.apply(input, other)


class Copysign(Op):
    """``|a|`` with ``b``'s sign. d/da = g * result / a (0 where a == 0), d/db = 0."""

    node = "CopysignBackward0"
    inputs = ("self", "other")
    saves = ("self", "result")
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return backend.namespace(a).copysign(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, r = ctx.saved_tensors
        return _copysign_grad(g, a, r), (g * 0 if ctx.needs_input_grad[1] else None)


class CopysignScalar(Op):
    """``|a|`` with the sign of the number ``other``. d/da = g * result / a (0 at a == 0)."""

    node = "CopysignBackward1"
    saves = ("self", "result")
    attrs = ("other",)
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, other: Any = 1.0) -> Any:
        ctx.other = other
        xp = backend.namespace(a)
        return xp.copysign(a, backend.full(a, (), float(other)))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        return _copysign_grad(g, a, r)


def _copysign_grad(g: Tensor, a: Tensor, r: Tensor) -> Tensor:
    zero = const(a._data == 0)
    return g * P.where(zero, 0.0, r / P.where(zero, 1.0, a))


_COPYSIGN_SIGNATURES = (
    " * (Tensor input, Tensor other, *, Tensor out = None)\n"
    " * (Tensor input, Number other, *, Tensor out = None)\n"
)


@register("copysign")
def copysign(input: Tensor, other: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``|input|`` with the sign of ``other`` (a tensor or a number).

    Raises:
        TypeError: ``input`` is not a Tensor (PyTorch's message).
    """
    if not isinstance(input, Tensor):
        raise TypeError(
            "copysign() received an invalid combination of arguments - got "
            f"({type(input).__name__}, {type(other).__name__}), but expected one of:\n"
            + _COPYSIGN_SIGNATURES
        )
    if isinstance(other, Tensor):
        return Copysign.apply(input, other)
    x = input if is_floating(input._data.dtype) else input.to(get_default_dtype())
    return CopysignScalar.apply(x, other=other)


def _logaddexp_arrays(xp: Any, a: Any, b: Any, *, base2: bool = False) -> Any:
    """Return ``log(exp(a) + exp(b))`` (``log2(2**a + 2**b)`` with ``base2``) without overflow."""
    m = xp.maximum(a, b)
    d = -xp.abs(a - b)
    tail = xp.log1p(xp.pow(xp.full_like(d, 2.0), d)) / _LN2 if base2 else xp.log1p(xp.exp(d))
    # NOTE: equal infinities give a - b = NaN; PyTorch returns the infinity itself.
    return xp.where(xp.isinf(m) & (a == b), a, m + tail)


class Logaddexp(Op):
    """``log(exp(a) + exp(b))``. d/da = g / (1 + exp(b - a)), d/db = g / (1 + exp(a - b))."""

    node = "LogaddexpBackward0"
    inputs = ("self", "other")
    saves = ("self", "other")
    promotes = True
    base2 = False

    @classmethod
    def forward(cls, ctx: Any, a: Any, b: Any) -> Any:  # type: ignore[override]
        return _logaddexp_arrays(backend.namespace(a), a, b, base2=cls.base2)

    @classmethod
    def backward(cls, ctx: Any, g: Tensor) -> tuple[Any, Any]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        if cls.base2:
            ga = g / (P.pow(2.0, b - a) + 1) if need[0] else None
            gb = g / (P.pow(2.0, a - b) + 1) if need[1] else None
        else:
            ga = g / (P.exp(b - a) + 1) if need[0] else None
            gb = g / (P.exp(a - b) + 1) if need[1] else None
        return ga, gb


class Logaddexp2(Logaddexp):
    """``log2(2**a + 2**b)``. d/da = g / (1 + 2**(b - a)), d/db = g / (1 + 2**(a - b))."""

    node = "Logaddexp2Backward0"
    base2 = True


@register("logaddexp")
def logaddexp(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``log(exp(input) + exp(other))``, computed without overflow.

    Raises:
        TypeError: ``other`` is not a Tensor.
        NotImplementedError: both are integer or bool tensors (PyTorch's message).
    """
    check_tensor("logaddexp", "other", 2, other)
    _float_only("logaddexp_cpu", input, other)
    return Logaddexp.apply(input, other)


@register("logaddexp2")
def logaddexp2(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``log2(2**input + 2**other)``, computed without overflow.

    Raises:
        TypeError: ``other`` is not a Tensor.
        NotImplementedError: both are integer or bool tensors (PyTorch's message).
    """
    check_tensor("logaddexp2", "other", 2, other)
    _float_only("logaddexp2_cpu", input, other)
    return Logaddexp2.apply(input, other)


class Heaviside(Op):
    """The step function: 0 below 0, ``values`` at 0, 1 above. PyTorch has no derivative."""

    node = "NotImplemented"
    inputs = ("self", "values")

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        xp = backend.namespace(a)
        if is_bool(a.dtype):  # True is above 0; False is 0 and takes the value
            return xp.where(a, a, b)
        zero = xp.zeros_like(a)
        return xp.where(a == zero, b, xp.astype(a > zero, a.dtype))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        raise RuntimeError("derivative for aten::heaviside is not implemented")


@register("heaviside")
def heaviside(input: Tensor, values: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return the Heaviside step of ``input``, ``values`` where ``input`` is 0.

    NaN inputs give 0, as in PyTorch. The result has no gradient: where an input requires
    grad, backward raises PyTorch's "not implemented" error.

    Raises:
        TypeError: ``values`` is not a Tensor.
        RuntimeError: the two tensors have different dtypes (PyTorch's message).
    """
    check_tensor("heaviside", "values", 2, values)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return Heaviside.apply(input, values)


@register("float_power")
def float_power(input: Any, exponent: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``input ** exponent`` computed in float64 (``PowBackward0``/``1``/``2``).

    Tensors are converted to float64 first (``ToCopyBackward0`` where they were not), numbers
    to Python floats, as PyTorch's ``float_power`` does.
    """
    if not isinstance(input, Tensor):
        return P.pow(float(input), exponent.to(float64))
    base = input.to(float64)
    if isinstance(exponent, Tensor):
        return P.pow(base, exponent.to(float64))
    return P.pow(base, float(exponent))


# ---------------------------------------------------------------------------- unary elementwise


asinh = P._unary(
    "asinh",
    "AsinhBackward0",
    lambda xp, a: xp.asinh(a),
    lambda g, a: g * P.rsqrt(a * a + 1),
    doc="d/dx = g / sqrt(x² + 1).",
    aliases=("arcsinh",),
)
acosh = P._unary(
    "acosh",
    "AcoshBackward0",
    lambda xp, a: xp.acosh(a),
    lambda g, a: g * P.rsqrt(a * a - 1),
    doc="d/dx = g / sqrt(x² - 1).",
    aliases=("arccosh",),
)
atanh = P._unary(
    "atanh",
    "AtanhBackward0",
    lambda xp, a: xp.atanh(a),
    lambda g, a: g / (1 - a * a),
    doc="d/dx = g / (1 - x²).",
    aliases=("arctanh",),
)
_DEG = 0.017453292519943295769236907684886127134428718885417  # pi / 180, PyTorch's constant
_RAD = 57.295779513082320876798154814105170332405472466564  # 180 / pi
deg2rad = P._unary(
    "deg2rad",
    "Deg2RadBackward0",
    lambda xp, a: a * _DEG,
    lambda g: g * _DEG,
    saves=(),
    doc="d/dx = g * pi / 180.",
)
rad2deg = P._unary(
    "rad2deg",
    "Rad2DegBackward0",
    lambda xp, a: a * _RAD,
    lambda g: g * _RAD,
    saves=(),
    doc="d/dx = g * 180 / pi.",
)
frac = P._unary(
    "frac",
    "FracBackward0",
    lambda xp, a: a - xp.trunc(a),
    lambda g: g,
    saves=(),
    doc="The fractional part, with the sign of ``input``. d/dx = g.",
    float_kernel="frac_cpu",
)


def _sinc(xp: Any, a: Any) -> Any:
    t = a * _PI
    safe = xp.where(a == 0, xp.ones_like(t), t)
    return xp.where(a == 0, xp.ones_like(t), xp.sin(safe) / safe)


def _sinc_grad(g: Tensor, a: Tensor) -> Tensor:
    zero = const(a._data == 0)
    safe = P.where(zero, 1.0, a)
    t = safe * _PI
    return g * P.where(zero, 0.0, (t * P.cos(t) - P.sin(t)) / (t * safe))


sinc = P._unary(
    "sinc",
    "SincBackward0",
    _sinc,
    _sinc_grad,
    doc="``sin(pi x) / (pi x)``, 1 at 0. d/dx = g * (pi x cos(pi x) - sin(pi x)) / (pi x²).",
)


class Logit(Op):
    """``log(x / (1 - x))`` of ``x`` clamped to ``[eps, 1 - eps]``. d/dx = g / (x (1 - x)).

    Without ``eps`` the gradient is NaN outside ``[0, 1]``; with it, 0 outside
    ``[eps, 1 - eps]`` (PyTorch's ``logit_backward``).
    """

    node = "LogitBackward0"
    saves = ("self",)
    attrs = ("eps",)
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, eps: Any = None) -> Any:
        ctx.eps = eps
        xp = backend.namespace(a)
        if eps is not None:
            lo = backend.full(a, (), eps)
            hi = backend.full(a, (), 1 - eps)
            a = xp.minimum(xp.maximum(a, lo), hi)
        return xp.log(a / (1 - a))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        d = a._data
        eps = ctx.eps
        grad = g / (a * (1 - a))
        if eps is None:
            return P.where(const((d < 0) | (d > 1)), math.nan, grad)
        return P.where(const((d < eps) | (d > 1 - eps)), 0.0, grad)


@register("logit")
def logit(input: Tensor, eps: Any = None) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``log(p / (1 - p))`` of ``input`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given.

    Example:
        >>> import gradviz
        >>> gradviz.logit(gradviz.tensor([0.5, 0.0]), eps=0.25)
        tensor([ 0.0000, -1.0986])
    """
    return Logit.apply(input, eps=None if eps is None else float(eps))


class NanToNum(Op):
    """NaN and infinities replaced by finite numbers. d/dx = g where x is finite, else 0."""

    node = "NanToNumBackward0"
    saves = ("self",)
    attrs = ("nan", "posinf", "neginf")

    @staticmethod
    def forward(ctx: Any, a: Any, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
        ctx.nan, ctx.posinf, ctx.neginf = nan, posinf, neginf
        xp = backend.namespace(a)
        if not is_floating(a.dtype):
            return xp.asarray(a, copy=True)
        info = xp.finfo(a.dtype)
        big = backend.full(a, (), info.max if posinf is None else posinf)
        small = backend.full(a, (), info.min if neginf is None else neginf)
        out = xp.where(xp.isnan(a), backend.full(a, (), nan), a)
        out = xp.where(out == math.inf, big, out)
        return xp.where(out == -math.inf, small, out)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        xp = backend.namespace(a._data)
        return g * const(xp.isfinite(a._data))


@register("nan_to_num")
def nan_to_num(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    nan: float = 0.0,
    posinf: Any = None,
    neginf: Any = None,
) -> Tensor:
    """Return ``input`` with NaN, +inf and -inf replaced (by default: 0, the dtype's max and min).

    Integer and bool tensors are copied unchanged.
    """
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


# ---------------------------------------------------------------------------- special functions


# NOTE: the Bernoulli numbers behind these tables are written out (computing them with
# fractions cost 6 ms of `import gradviz`); tests/engine/test_math_more.py recomputes
# them exactly and checks every entry.
# B_2, B_4, ..., B_24, as floats.
_B2K = (
    0.16666666666666666,
    -0.03333333333333333,
    0.023809523809523808,
    -0.03333333333333333,
    0.07575757575757576,
    -0.2531135531135531,
    1.1666666666666667,
    -7.092156862745098,
    54.971177944862156,
    -529.1242424242424,
    6192.123188405797,
    -86580.25311355312,
)
# Stirling's series for lgamma: B_2k / (2k (2k - 1)) x^(1 - 2k), k = 1..7 (x >= 13).
_STIRLING = (
    0.08333333333333333,
    -0.002777777777777778,
    0.0007936507936507937,
    -0.0005952380952380953,
    0.0008417508417508417,
    -0.0019175269175269176,
    0.00641025641025641,
)
# Euler-Maclaurin tail of the Hurwitz zeta function (Cephes' A[]): (2k)! / B_2k.
_ZETA_A = (
    12.0,
    -720.0,
    30240.0,
    -1209600.0,
    47900160.0,
    -1892437580.3183792,
    74724249600.0,
    -2950130727918.164,
    116467828143500.67,
    -4597978722407473.0,
    1.8152105401943546e17,
    -7.166165256175667e18,
)
# lgamma on [2, 3): x * B(x) / C(x) with x = u - 2 (Cephes' lgam).
_LGAM_B = (
    -1.37825152569120859100e3,
    -3.88016315134637840924e4,
    -3.31612992738871184744e5,
    -1.16237097492762307383e6,
    -1.72173700820839662146e6,
    -8.53555664245765465627e5,
)
_LGAM_C = (
    -3.51815701436523470549e2,
    -1.70642106651881159223e4,
    -2.20528590553854454839e5,
    -1.13933444367982507207e6,
    -2.53252307177582951285e6,
    -2.01889141433532773231e6,
)
# digamma's asymptotic series in z = 1 / x² (Cephes' psi; PyTorch's calc_digamma).
_PSI_A = (
    8.33333333333333333333e-2,
    -2.10927960927960927961e-2,
    7.57575757575757575758e-3,
    -4.16666666666666666667e-3,
    3.96825396825396825397e-3,
    -8.33333333333333333333e-3,
    8.33333333333333333333e-2,
)
_PSI_10 = 2.25175258906672110764  # digamma(10)


def _zeta_minus_one(s: int) -> float:
    """Return ``zeta(s) - 1`` for an integer ``s >= 2`` (Euler-Maclaurin from n = 20)."""
    n = 20
    head = math.fsum(k ** -float(s) for k in range(2, n))
    tail = n ** (1.0 - s) / (s - 1) + 0.5 * n ** -float(s)
    rise = float(s)
    power = n ** (-float(s) - 1)
    for k, b in enumerate(_B2K[:8], start=1):
        tail += b / math.factorial(2 * k) * rise * power
        rise *= (s + 2 * k - 1) * (s + 2 * k)
        power /= n * n
    return head + tail


# lgamma near its zeros 1 and 2, as Taylor series (Cephes' rational form loses relative
# accuracy there): lgamma(1 + z) = -gamma z + sum_k (-1)^k zeta(k) z^k / k and
# lgamma(2 + z) = (1 - gamma) z + sum_k (-1)^k (zeta(k) - 1) z^k / k, used for |z| <= 0.2.
_EULER_GAMMA = 0.57721566490153286061
_ZM1 = [_zeta_minus_one(k) for k in range(2, 28)]
_NEAR_ONE = [-_EULER_GAMMA] + [(-1) ** k * (1 + z) / k for k, z in enumerate(_ZM1, start=2)]
_NEAR_TWO = [1 - _EULER_GAMMA] + [(-1) ** k * z / k for k, z in enumerate(_ZM1, start=2)]
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _polevl(x: Any, coefs: tuple[float, ...], leading_one: bool = False) -> Any:
    """Return the polynomial with ``coefs`` (highest power first) at ``x`` (Horner)."""
    out = x * 0 + (1.0 if leading_one else coefs[0])
    for c in coefs if leading_one else coefs[1:]:
        out = out * x + c
    return out


def _sin_pi_abs(xp: Any, x: Any) -> Any:
    """Return ``|sin(pi x)|`` accurately for large ``x`` (reduced to the nearest integer)."""
    r = x - xp.floor(x)
    r = xp.minimum(r, 1 - r)
    return xp.abs(xp.sin(r * _PI))


def _lgamma_positive(xp: Any, x: Any) -> Any:
    """Return ``lgamma(x)`` for finite ``x > 0`` (Cephes' lgam)."""
    big = x >= 13
    # x >= 13: Stirling's series.
    xb = xp.where(big, x, xp.full_like(x, 13.0))
    inv = 1 / xb
    inv2 = inv * inv
    series = xp.zeros_like(x)
    for c in reversed(_STIRLING):
        series = series * inv2 + c
    stirling = (xb - 0.5) * xp.log(xb) - xb + _LOG_SQRT_2PI + series * inv
    # x < 13: shift into [2, 3) by the recurrence, keeping the product of the shifts.
    u = xp.where(big, xp.full_like(x, 2.5), x)
    z = xp.ones_like(x)
    for _ in range(11):
        down = u >= 3
        u = xp.where(down, u - 1, u)
        z = xp.where(down, z * u, z)
    for _ in range(2):
        up = u < 2
        z = xp.where(up, z / u, z)
        u = xp.where(up, u + 1, u)
    t = u - 2
    small = xp.log(z) + t * _polevl(t, _LGAM_B) / _polevl(t, _LGAM_C, leading_one=True)
    out = xp.where(big, stirling, small)
    for centre, coefs in ((1.0, _NEAR_ONE), (2.0, _NEAR_TWO)):
        near = xp.abs(x - centre) <= 0.2
        d = xp.where(near, x - centre, xp.zeros_like(x))
        series = xp.zeros_like(x)
        for c in reversed(coefs):
            series = series * d + c
        out = xp.where(near, d * series, out)
    return out


def _lgamma64(xp: Any, x: Any) -> Any:
    """Return ``log|gamma(x)|`` in float64: +inf at 0 and the negative integers."""
    finite = xp.isfinite(x)
    pole = (x <= 0) & (x == xp.floor(x))
    neg = x < 0
    good = finite & ~pole
    xs = xp.where(good, x, xp.ones_like(x))
    pos = xp.where(neg, 1 - xs, xs)  # reflection: lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1-x)
    lg = _lgamma_positive(xp, pos)
    s = _sin_pi_abs(xp, xs)
    reflected = math.log(_PI) - xp.log(xp.where(neg, s, xp.ones_like(s))) - lg
    out = xp.where(neg, reflected, lg)
    out = xp.where(pole | xp.isinf(x), xp.full_like(x, math.inf), out)
    return xp.where(xp.isnan(x), x, out)


def _digamma64(xp: Any, x: Any) -> Any:
    """Return ``digamma(x)`` in float64 as PyTorch's ``calc_digamma`` (Cephes' psi)."""
    pole = (x < 0) & (x == xp.floor(x))
    neg = x < 0
    xs = xp.where(xp.isfinite(x) & ~pole & (x != 0), x, xp.ones_like(x))
    # Reflection: digamma(x) = digamma(1 - x) - pi / tan(pi r), r the fractional part.
    r = xs - xp.trunc(xs)
    correction = xp.where(neg, _PI / xp.tan(_PI * xp.where(neg, r, 0.5 * xp.ones_like(r))), 0 * r)
    v = xp.where(neg, 1 - xs, xs)
    result = xp.zeros_like(v)
    for _ in range(10):
        low = v < 10
        result = xp.where(low, result - 1 / v, result)
        v = xp.where(low, v + 1, v)
    z = 1 / (v * v)
    tail = xp.where(v < 1.0e17, z * _polevl(z, _PSI_A), xp.zeros_like(z))
    asym = result + xp.log(v) - 0.5 / v - tail
    out = xp.where(v == 10, result + _PSI_10, asym) - correction
    out = xp.where(x == 0, xp.copysign(xp.full_like(x, math.inf), -x), out)
    out = xp.where(pole | (x == -math.inf), xp.full_like(x, math.nan), out)
    out = xp.where(x == math.inf, x, out)
    return xp.where(xp.isnan(x), x, out)


def _zeta64(xp: Any, s: float, q: Any) -> Any:
    """Return the Hurwitz zeta function ``zeta(s, q)`` for an integer ``s > 1`` (Cephes' zeta)."""
    pole = (q <= 0) & (q == xp.floor(q))
    qs = xp.where(xp.isfinite(q) & ~pole, q, xp.ones_like(q))
    lowest = float(xp.min(qs)) if qs.size else 1.0
    steps = max(9, math.ceil(9 - lowest) + 1)
    total = xp.pow(qs, -s)
    a = qs
    b = total
    for i in range(steps):
        more = (a <= 9) | (i < 9)
        a = xp.where(more, a + 1, a)
        b = xp.where(more, xp.pow(a, -s), b)
        total = xp.where(more, total + b, total)
    w = a
    total = total + b * w / (s - 1) - 0.5 * b
    fact = xp.ones_like(q)
    k = 0.0
    for coef in _ZETA_A:
        fact = fact * (s + k)
        b = b / w
        total = total + fact * b / coef
        k += 1.0
        fact = fact * (s + k)
        b = b / w
        k += 1.0
    total = xp.where(pole, xp.full_like(q, math.inf), total)
    total = xp.where(q == math.inf, xp.zeros_like(q), total)
    total = xp.where(q == -math.inf, xp.full_like(q, math.nan), total)
    return xp.where(xp.isnan(q), q, total)


def _polygamma64(xp: Any, n: int, x: Any) -> Any:
    """Return ``polygamma(n, x)`` in float64: digamma for 0, else ``(-1)^(n+1) n! zeta(n+1, x)``."""
    if n == 0:
        return _digamma64(xp, x)
    sign = 1.0 if n % 2 else -1.0
    return _zeta64(xp, float(n + 1), x) * (sign * math.factorial(n))


def _erfc64(xp: Any, x: Any) -> Any:
    """Return ``erfc(x)`` in float64, accurate relative to its value for large ``x``."""
    near = x < 1.5
    xs = xp.where(near | xp.isnan(x), xp.full_like(x, 1.5), x)
    # Laplace's continued fraction, evaluated from its 80th term back.
    f = xs
    for k in range(80, 0, -1):
        f = xs + (0.5 * k) / f
    # exp(-x²) with x² split exactly (x = hi + lo, hi with 12 fraction bits).
    hi = xp.floor(xs * 4096) / 4096
    lo = xs - hi
    tail = xp.exp(-hi * hi) * xp.exp(-(2 * hi + lo) * lo) / (_SQRT_PI * f)
    tail = xp.where(xs == math.inf, xp.zeros_like(x), tail)
    return xp.where(near | xp.isnan(x), 1 - backend.erf(x), tail)


def _erfinv64(xp: Any, x: Any) -> Any:
    """Return ``erfinv(x)`` in float64: Halley's method on ``erf`` or, near +-1, on ``erfc``."""
    ax = xp.abs(x)
    inside = ax < 1
    ax = xp.where(inside, ax, xp.zeros_like(ax))
    central = ax <= 0.7
    t = 1 - ax  # exact for |x| >= 0.5
    # Starting points: the Maclaurin series in the centre, erfc's asymptotics in the tails.
    w = ax * (_SQRT_PI / 2)
    w2 = w * w
    start_c = w * (1 + w2 * (1 / 3 + w2 * (7 / 30 + w2 * 127 / 630)))
    ts = xp.where(central, xp.full_like(t, 0.1), t)
    y0 = xp.sqrt(-xp.log(ts))
    start_t = xp.sqrt(-xp.log(ts * _SQRT_PI * y0))
    y = xp.where(central, start_c, start_t)
    for _ in range(5):
        resid = xp.where(central, backend.erf(y) - ax, t - _erfc64(xp, y))
        step = resid / ((2 / _SQRT_PI) * xp.exp(-y * y))
        y = y - step / (1 + y * step)
    y = xp.where(ax == 0, xp.zeros_like(y), y)
    y = xp.copysign(y, x)
    out = xp.where(inside, y, xp.full_like(x, math.nan))
    return xp.where(xp.abs(x) == 1, x * math.inf, out)


erfc: Any = P._unary(
    "erfc",
    "ErfcBackward0",
    lambda xp, a: _in_float64(xp, a, _erfc64),
    lambda g, a: g * P.exp(-(a * a)) * (-2 / _SQRT_PI),
    doc="``1 - erf(x)``. d/dx = -g * 2 / sqrt(pi) * exp(-x²).",
)
erfinv: Any = P._unary(
    "erfinv",
    "ErfinvBackward0",
    lambda xp, a: _in_float64(xp, a, _erfinv64),
    lambda g, a: g * P.exp(erfinv(a) ** 2) * (_SQRT_PI / 2),
    doc="The inverse of ``erf`` on ``[-1, 1]``. d/dx = g * sqrt(pi) / 2 * exp(erfinv(x)²).",
)
lgamma: Any = P._unary(
    "lgamma",
    "LgammaBackward0",
    lambda xp, a: _in_float64(xp, a, _lgamma64),
    lambda g, a: g * digamma(a),
    doc="``log|gamma(x)|`` (+inf at the poles). d/dx = g * digamma(x).",
)
digamma: Any = P._unary(
    "digamma",
    "DigammaBackward0",
    lambda xp, a: _in_float64(xp, a, _digamma64),
    lambda g, a: g * _polygamma(1, a),
    doc="The logarithmic derivative of gamma. d/dx = g * polygamma(1, x).",
)


class Polygamma(Op):
    """The ``n``-th derivative of digamma. d/dx = g * polygamma(n + 1, x)."""

    node = "PolygammaBackward0"
    saves = ("self",)
    attrs = ("n",)
    promotes = "float"

    @staticmethod
    def forward(ctx: Any, a: Any, n: int = 0) -> Any:
        ctx.n = n
        xp = backend.namespace(a)
        return _in_float64(xp, a, lambda xp, x: _polygamma64(xp, n, x))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        return g * Polygamma.apply(a, n=ctx.n + 1)


def _polygamma(n: Any, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(
            f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}"
        )
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(input, n=n)


@register("polygamma", method=False)
def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return the ``n``-th derivative of digamma at ``input`` (``PolygammaBackward0``).

    Args:
        n: the order, a non-negative int (0 is digamma).
        input: the points.

    Raises:
        TypeError: ``n`` is not an int (PyTorch's message).
        RuntimeError: ``n`` is negative (PyTorch's message).
    """
    return _polygamma(n, input)


def _tensor_polygamma(self: Tensor, n: int) -> Tensor:
    """Return ``polygamma(n, self)``."""
    return _polygamma(n, self)


register("polygamma", function=False)(_tensor_polygamma)

# ---------------------------------------------------------------------------- scans


def _scan(xp: Any, a: Any, axis: int, combine: Any) -> Any:
    """Return the inclusive scan of ``a`` along ``axis`` with an associative ``combine``.

    Hillis-Steele doubling: log2(n) passes over the whole array, each combining every
    element with the one ``step`` places before it. ``combine(earlier, later)``.
    """
    n = a.shape[axis]
    ndim = a.ndim
    step = 1
    while step < n:
        head = a[E._along(ndim, axis, slice(0, step))]
        later = a[E._along(ndim, axis, slice(step, None))]
        earlier = a[E._along(ndim, axis, slice(0, n - step))]
        a = xp.concat([head, combine(earlier, later)], axis=axis)
        step *= 2
    return a


def _scan_pair(xp: Any, v: Any, i: Any, axis: int, combine: Any) -> tuple[Any, Any]:
    """Return the inclusive scan of the pairs ``(v, i)`` along ``axis`` (as :func:`_scan`).

    ``combine(earlier_v, earlier_i, later_v, later_i)`` returns the combined pair.
    """
    n = v.shape[axis]
    ndim = v.ndim
    step = 1
    while step < n:
        head, later, earlier = (
            E._along(ndim, axis, slice(0, step)),
            E._along(ndim, axis, slice(step, None)),
            E._along(ndim, axis, slice(0, n - step)),
        )
        cv, ci = combine(v[earlier], i[earlier], v[later], i[later])
        v = xp.concat([v[head], cv], axis=axis)
        i = xp.concat([i[head], ci], axis=axis)
        step *= 2
    return v, i


class Cumprod(Op):
    """Cumulative product along ``dim``. d/dx_k = sum_{j>=k} g_j * prod_{i<=j, i!=k} x_i."""

    node = "CumprodBackward0"
    saves = ("self", "result")
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        xp = backend.namespace(a)
        if not is_floating(a.dtype):
            a = xp.astype(a, xp.int64)
        if a.ndim == 0:
            return xp.asarray(a, copy=True)
        return xp.cumulative_prod(a, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        if a.ndim == 0:
            return g
        dim = ctx.dim
        xp = backend.namespace(a._data)
        if not bool(xp.any(a._data == 0)):
            # No zeros: the reversed cumulative sum of g * result, divided by the input.
            return S.flip(R.cumsum(S.flip(g * r, (dim,)), dim), (dim,)) / a
        # With zeros: prod_{i<k} x_i * s_k, where s_k = g_k + x_{k+1} s_{k+1}.
        xs = S.unbind(a, dim)
        gs = S.unbind(g, dim)
        n = len(xs)
        suffix: list[Any] = [None] * n
        suffix[n - 1] = gs[n - 1]
        for k in range(n - 2, -1, -1):
            suffix[k] = gs[k] + xs[k + 1] * suffix[k + 1]
        out = [suffix[0]]
        before = xs[0]
        for k in range(1, n):
            out.append(before * suffix[k])
            before = before * xs[k]
        return S.stack(out, dim)


@register("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return the cumulative product along ``dim`` (integers and bools give int64).

    Raises:
        IndexError: ``dim`` is out of range (PyTorch's message).
    """
    x = input if dtype is None else input.to(dtype)
    return Cumprod.apply(x, dim=norm_dim(dim, x.ndim))


class _Cumextreme(E._Selecting):
    """Base of ``cummax``/``cummin``: d/dx = g scattered to the running extreme's index."""

    kind = "max"

    @classmethod
    def forward(cls, ctx: Any, a: Any, dim: int = 0) -> Any:  # type: ignore[override]
        ctx.dim = dim
        ctx.self_sym_sizes = a.shape
        xp = backend.namespace(a)
        if a.ndim == 0:
            values, idx = E._zero_d(xp, a)
        else:
            shape = [1] * a.ndim
            shape[dim] = a.shape[dim]
            pos = xp.reshape(xp.astype(backend.arange(a, a.shape[dim]), xp.int64), tuple(shape))
            pos = xp.broadcast_to(pos, a.shape)
            key = xp.astype(a, xp.int8) if is_bool(a.dtype) else a
            floating = is_floating(a.dtype)
            at_least = cls.kind == "max"

            def combine(ev: Any, ei: Any, lv: Any, li: Any) -> tuple[Any, Any]:
                # PyTorch's rule: a later NaN, or a later value at least as extreme, wins.
                take = (lv >= ev) if at_least else (lv <= ev)
                if floating:
                    take = xp.isnan(lv) | (~xp.isnan(ev) & take)
                return xp.where(take, lv, ev), xp.where(take, li, ei)

            _, idx = _scan_pair(xp, key, pos, dim, combine)
            values = xp.take_along_axis(a, idx, axis=dim)
        ctx.save_array("indices", idx)
        return values, idx

    @staticmethod
    def backward(ctx: Any, g: Tensor, _gi: Any = None) -> Any:
        # NOTE: a 0-d input's gradient is g itself, without the view _Selecting takes of it.
        if not ctx.self_sym_sizes:
            return g
        return E._Selecting.backward(ctx, g)


class Cummax(_Cumextreme):
    """Running maximum along ``dim`` and its index. d/dx = g added at the indices."""

    node = "CummaxBackward0"
    kind = "max"


class Cummin(_Cumextreme):
    """Running minimum along ``dim`` and its index. d/dx = g added at the indices."""

    node = "CumminBackward0"
    kind = "min"


@register("cummax")
def cummax(input: Tensor, dim: int) -> CummaxResult:  # noqa: A002 - PyTorch's argument name
    """Return the running maximum along ``dim`` and the index where each was reached.

    Ties and NaN take the latest index; once a NaN appears it is the running maximum.

    Raises:
        IndexError: ``dim`` is out of range (PyTorch's message).
    """
    values, indices = Cummax.apply(input, dim=norm_dim(dim, input.ndim))
    return CummaxResult(values, indices)


@register("cummin")
def cummin(input: Tensor, dim: int) -> CumminResult:  # noqa: A002 - PyTorch's argument name
    """Return the running minimum along ``dim`` and the index where each was reached.

    Ties and NaN take the latest index; once a NaN appears it is the running minimum.

    Raises:
        IndexError: ``dim`` is out of range (PyTorch's message).
    """
    values, indices = Cummin.apply(input, dim=norm_dim(dim, input.ndim))
    return CumminResult(values, indices)


class Logcumsumexp(Op):
    """``log(cumsum(exp(x)))`` along ``dim``. d/dx_k = sum_{j>=k} g_j exp(x_k - out_j)."""

    node = "LogcumsumexpBackward0"
    saves = ("self", "result")
    attrs = ("dim",)

    @staticmethod
    def forward(ctx: Any, a: Any, dim: int = 0) -> Any:
        ctx.dim = dim
        xp = backend.namespace(a)
        if a.ndim == 0:
            return xp.asarray(a, copy=True)
        return _scan(xp, a, dim, lambda e, x: _logaddexp_arrays(xp, e, x))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, r = ctx.saved_tensors
        if a.ndim == 0:
            return g
        dim = ctx.dim
        # PyTorch's formula: the positive and negative parts of g, each in log space, with
        # the dtype's lowest finite number for log(0) (-inf would make inf - inf = NaN in
        # the double backward).
        gd = g._data
        xp = backend.namespace(gd)
        lowest = float(xp.finfo(gd.dtype).min)
        positive, negative = const(gd > 0), const(gd < 0)
        log_pos = P.where(positive, P.log(P.where(positive, g, 1.0)), lowest)
        log_neg = P.where(negative, P.log(P.where(negative, -g, 1.0)), lowest)

        def reverse_lcse(x: Tensor) -> Tensor:
            return S.flip(logcumsumexp(S.flip(x, (dim,)), dim), (dim,))

        out_pos = P.exp(reverse_lcse(log_pos - r) + a)
        out_neg = P.exp(reverse_lcse(log_neg - r) + a)
        return out_pos - out_neg


@register("logcumsumexp")
def logcumsumexp(input: Tensor, dim: int) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Return ``log(cumsum(exp(input), dim))``, computed without overflow.

    Raises:
        IndexError: ``dim`` is out of range.
        NotImplementedError: ``input`` is an integer or bool tensor (PyTorch's message).
    """
    d = norm_dim(dim, input.ndim)
    if not is_floating(input._data.dtype):
        raise NotImplementedError(
            f"\"logcumsumexp_out_cpu\" not implemented for '{input.dtype.scalar_name}'"
        )
    return Logcumsumexp.apply(input, dim=d)


# ---------------------------------------------------------------------------- reductions


class VarMean(Op):
    """Variance and mean in one node. d/dx = g_var * 2 (x - mean) / (n - c) + g_mean / n."""

    node = "VarMeanBackward0"
    saves: ClassVar[tuple[str, ...]] = ("self",)
    attrs = ("dim", "correction", "keepdim")
    std = False

    @classmethod
    def forward(  # type: ignore[override]
        cls,
        ctx: Any,
        a: Any,
        dim: tuple[int, ...] = (),
        correction: float = 1,
        keepdim: bool = False,
    ) -> Any:
        ctx.dim, ctx.correction, ctx.keepdim = dim, correction, keepdim
        spread = R.spread(a, dim, correction, keepdim, root=cls.std)
        return spread, R.mean_kernel(a, dim, keepdim)

    @classmethod
    def backward(cls, ctx: Any, g_spread: Tensor, g_mean: Tensor) -> Any:  # type: ignore[override]
        a = ctx.saved_tensors[0]
        shape = tuple(a.shape)
        n = R._size_of(shape, ctx.dim)
        if cls.std:
            spread = ctx.saved_tensors[1]  # the std itself, saved as PyTorch does
            centered = a - R.MeanDim.apply(a, dim=ctx.dim, keepdim=True)
            scale = R._grow(R.std_over(g_spread, spread), shape, ctx.dim, ctx.keepdim)
            from_spread = scale * centered * R._reciprocal(n - ctx.correction)
        else:
            from_spread = R._var_grad(g_spread, a, ctx.dim, ctx.correction, ctx.keepdim)
        return from_spread + R._grow(g_mean / n, shape, ctx.dim, ctx.keepdim)


class StdMean(VarMean):
    """Standard deviation and mean in one node.

    d/dx = g_std (x - mean) / ((n - c) std) + g_mean / n.
    """

    node = "StdMeanBackward0"
    saves = ("self", "result0")
    std = True


def _spread_mean(
    cls: Any,
    name: str,
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: Any,
    unbiased: Any,
    keepdim: bool,
    correction: Any,
) -> tuple[Tensor, Tensor]:
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if not is_floating(input._data.dtype):
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    dims, corr = norm_dims(dim, input.ndim), R._correction(unbiased, correction)
    R.warn_degrees_of_freedom(name, tuple(input.shape), dims, corr)
    spread, mean = cls.apply(input, dim=dims, correction=corr, keepdim=keepdim)
    return spread, mean


@register("std_mean", method=False)
def std_mean(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    """Return ``(std, mean)`` over ``dim`` or all elements (Bessel-corrected by default).

    Raises:
        RuntimeError: ``input`` is not floating point (PyTorch's message).
    """
    return _spread_mean(StdMean, "std_mean", input, dim, unbiased, keepdim, correction)


@register("var_mean", method=False)
def var_mean(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    """Return ``(var, mean)`` over ``dim`` or all elements (Bessel-corrected by default).

    Raises:
        RuntimeError: ``input`` is not floating point (PyTorch's message).
    """
    return _spread_mean(VarMean, "var_mean", input, dim, unbiased, keepdim, correction)


class Nansum(Op):
    """Sum treating NaN as 0. d/dx = g where x is not NaN, else 0."""

    node = "NansumBackward0"
    saves = ("self",)
    attrs = ("dim", "keepdim")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: tuple[int, ...] = (), keepdim: bool = False) -> Any:
        ctx.dim, ctx.keepdim = dim, keepdim
        xp = backend.namespace(a)
        if not is_floating(a.dtype):
            return xp.sum(a, axis=dim, keepdims=keepdim, dtype=xp.int64)
        return xp.sum(xp.where(xp.isnan(a), xp.zeros_like(a), a), axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (a,) = ctx.saved_tensors
        xp = backend.namespace(a._data)
        keep = const(~xp.isnan(a._data))
        return R._grow(g, tuple(a.shape), ctx.dim, ctx.keepdim) * keep


@register("nansum")
def nansum(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """Return the sum of the elements that are not NaN (all, or along ``dim``)."""
    x = input if dtype is None else input.to(dtype)
    return Nansum.apply(x, dim=norm_dims(dim, x.ndim), keepdim=keepdim)


@register("nanmean")
def nanmean(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """Return the mean of the elements that are not NaN: ``nansum / count`` (``DivBackward0``).

    Raises:
        RuntimeError: ``input`` (or ``dtype``) is not floating point (PyTorch's messages).
    """
    if not is_floating(input._data.dtype):
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{input.dtype.scalar_name}"
        )
    if dtype is not None and not to_dtype(dtype).is_floating_point:
        raise RuntimeError(
            "nanmean(): could not infer output dtype. Optional dtype must be either a floating "
            f"point or complex dtype. Got: {to_dtype(dtype).scalar_name}"
        )
    xp = backend.namespace(input._data)
    present = xp.astype(~xp.isnan(input._data), xp.int64)
    count = xp.sum(present, axis=norm_dims(dim, input.ndim), keepdims=keepdim)
    return P.div(nansum(input, dim, keepdim, dtype=dtype), const(count))


class Aminmax(Op):
    """Minimum and maximum in one node; ties share each gradient evenly (as ``amin``/``amax``)."""

    node = "AminmaxBackward0"
    saves = ("self", "result0", "result1")
    attrs = ("dim", "keepdim")

    @staticmethod
    def forward(ctx: Any, a: Any, dim: tuple[int, ...] = (), keepdim: bool = False) -> Any:
        ctx.dim, ctx.keepdim = dim, keepdim
        xp = backend.namespace(a)
        return xp.min(a, axis=dim, keepdims=keepdim), xp.max(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Any, g_min: Tensor, g_max: Tensor) -> Any:
        a, lo, hi = ctx.saved_tensors
        from_min = R._extreme_grad(g_min, a, lo, ctx.dim, ctx.keepdim)
        return from_min + R._extreme_grad(g_max, a, hi, ctx.dim, ctx.keepdim)


@register("aminmax")
def aminmax(input: Tensor, *, dim: Any = None, keepdim: bool = False) -> AminmaxResult:  # noqa: A002 - PyTorch's argument name
    """Return ``(min, max)`` of all elements or along ``dim`` (``AminmaxBackward0``).

    Raises:
        RuntimeError: ``input`` is empty and ``dim`` is None (PyTorch's message).
        IndexError: the reduced dimension is empty, or ``dim`` is out of range.
    """
    shape = tuple(input.shape)
    if dim is None:
        if math.prod(shape) == 0:
            raise RuntimeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation "
                "has no identity."
            )
        dims = tuple(range(len(shape)))
    else:
        d = norm_dim(dim, len(shape))
        R.check_reduction_size("aminmax:", shape, (d,))
        dims = (d,) if shape else ()
    lo, hi = Aminmax.apply(input, dim=dims, keepdim=keepdim)
    return AminmaxResult(lo, hi)


# ---------------------------------------------------------------------------- creation


@register("logspace", method=False)
def logspace(
    start: Any,
    end: Any,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return ``steps`` values ``base ** e`` for ``e`` evenly spaced from ``start`` to ``end``.

    As PyTorch's CPU kernel: ``start`` and ``end`` are first rounded to ``dtype``, the
    exponents are computed in float64 from the nearer end, and the powers rounded to
    ``dtype``.

    Raises:
        RuntimeError: ``steps`` is negative, or ``requires_grad`` for an integer dtype.

    Example:
        >>> import gradviz
        >>> gradviz.logspace(0, 2, 3)
        tensor([  1.,  10., 100.])
    """
    from gradviz.engine.creation import _leaf, arange  # noqa: PLC0415 - import cycle

    dt = to_dtype(dtype) if dtype is not None else get_default_dtype()
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    i = arange(steps, dtype=float64, device=device)._data
    xp = backend.namespace(i)
    target = native(xp, dt)
    if dt.is_floating_point:
        lo = float(xp.astype(backend.full(i, (), float(start), xp.float64), target))
        hi = float(xp.astype(backend.full(i, (), float(end), xp.float64), target))
    else:
        lo, hi = float(int(start)), float(int(end))
    if steps == 1:
        exponent = backend.full(i, (1,), float(start), xp.float64)
    else:
        step = (hi - lo) / (steps - 1)
        half = steps // 2
        exponent = xp.where(i < half, lo + step * i, hi - step * (steps - 1 - i))
    values = xp.pow(backend.full(i, tuple(exponent.shape), float(base), xp.float64), exponent)
    return _leaf(xp.astype(values, target), requires_grad)
