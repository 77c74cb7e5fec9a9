"""Cases for the math ops added after op_cases.py (merged into its tables at its end).

Same conventions as ``op_cases.py``: ``CASES`` are gradient-checked in float64 and compared
with torch; ``OPS_WITHOUT_GRADIENT`` names registry ops whose outputs never require grad,
each with a call in ``NON_DIFFERENTIABLE_CALLS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.engine.op_cases import A, Case, P, V

CASES: list[Case] = []


def _unary(name: str, arg: Any, gradgrad: bool = True) -> None:
    """Add the function call (2x3, with double backward), a 0-d call and the method."""

    def call(lib: Any, x: Any) -> Any:
        return getattr(lib, name)(x)

    def method(lib: Any, x: Any) -> Any:
        return getattr(x, name)()

    CASES.extend(
        [
            Case(name, call, (arg,), "2x3", gradgrad=gradgrad),
            Case(name, call, (A(lo=arg.lo, hi=arg.hi),), "0d"),
            Case(name, method, (A(4, lo=arg.lo, hi=arg.hi),), "method"),
        ]
    )


_unary("asinh", A(2, 3))
_unary("arcsinh", A(2, 3), gradgrad=False)
_unary("acosh", A(2, 3, lo=1.2, hi=3.0))
_unary("arccosh", A(2, 3, lo=1.2, hi=3.0), gradgrad=False)
_unary("atanh", A(2, 3, lo=-0.9, hi=0.9))
_unary("arctanh", A(2, 3, lo=-0.9, hi=0.9), gradgrad=False)
_unary("deg2rad", A(2, 3, lo=-180.0, hi=180.0))
_unary("rad2deg", A(2, 3))
_unary("frac", A(2, 3, lo=-3.0, hi=3.0))
_unary("sinc", A(2, 3))
_unary("erfc", A(2, 3, lo=-3.0, hi=3.0))
_unary("erfinv", A(2, 3, lo=-0.95, hi=0.95))
_unary("lgamma", A(2, 3, lo=0.2, hi=6.0))
_unary("digamma", A(2, 3, lo=0.2, hi=6.0))

_NEG = V([[-2.5, -0.7, -1.3], [-3.2, 0.4, 11.5]])

CASES.extend(
    [
        Case("lgamma", lambda lib, a: lib.lgamma(a), (_NEG,), "negative", gradgrad=True),
        Case("digamma", lambda lib, a: lib.digamma(a), (_NEG,), "negative", gradgrad=True),
        Case("erfc", lambda lib, a: lib.erfc(a), (V([4.0, 6.5, 9.0]),), "tail"),
        Case("erfinv", lambda lib, a: lib.erfinv(a), (V([0.999, -0.9995, 0.0]),), "tails"),
        Case("sinc", lambda lib, a: lib.sinc(a), (V([0.0, 1.0, -2.5]),), "zero-integers"),
        Case("polygamma", lambda lib, a: lib.polygamma(0, a), (P(2, 3),), "n0", gradgrad=True),
        Case("polygamma", lambda lib, a: lib.polygamma(1, a), (P(2, 3),), "n1", gradgrad=True),
        Case("polygamma", lambda lib, a: a.polygamma(2), (P(4),), "n2-method"),
        Case("polygamma", lambda lib, a: lib.polygamma(1, a), (_NEG,), "n1-negative"),
        Case("logit", lambda lib, a: lib.logit(a), (A(2, 3, lo=0.05, hi=0.95),), gradgrad=True),
        Case(
            "logit",
            lambda lib, a: a.logit(eps=0.2),
            (V([0.1, 0.3, 0.5, 0.7, 0.9]),),
            "eps",
            gradgrad=True,
        ),
        Case("logit", lambda lib, a: lib.logit(a, 1e-6), (A(lo=0.1, hi=0.9),), "0d"),
        Case(
            "nan_to_num",
            lambda lib, a: a.nan_to_num(nan=1.5, posinf=3.0, neginf=-3.0),
            (A(2, 3),),
            "method",
            gradgrad=True,
        ),
        Case("atan2", lambda lib, a, b: lib.atan2(a, b), (A(2, 3), A(3)), gradgrad=True),
        Case("atan2", lambda lib, a, b: a.atan2(b), (A(3), A()), "method-0d"),
        Case("arctan2", lambda lib, a, b: lib.arctan2(a, b), (A(3), A(3))),
        Case("arctan2", lambda lib, a, b: a.arctan2(b), (A(3), A(3, grad=False)), "method"),
        Case("hypot", lambda lib, a, b: lib.hypot(a, b), (A(2, 3), A(3)), gradgrad=True),
        Case("hypot", lambda lib, a, b: a.hypot(b), (A(3), A(3, grad=False)), "method"),
        Case("fmax", lambda lib, a, b: lib.fmax(a, b), (A(2, 3), A(3)), gradgrad=True),
        Case(
            "fmax",
            lambda lib, a, b: a.fmax(b),
            (V([1.0, 2.0, 3.0]), V([1.5, 0.5, 4.0])),
            "method",
        ),
        Case("fmin", lambda lib, a, b: lib.fmin(a, b), (A(2, 3), A(3)), gradgrad=True),
        Case(
            "fmin",
            lambda lib, a, b: a.fmin(b),
            (V([1.0, 2.0, 3.0]), V([1.5, 0.5, 4.0])),
            "method",
        ),
        Case("copysign", lambda lib, a, b: lib.copysign(a, b), (A(2, 3), A(3)), gradgrad=True),
        Case("copysign", lambda lib, a: a.copysign(-1.5), (A(4),), "scalar"),
        Case("copysign", lambda lib, a: lib.copysign(a, 2), (V([0.0, -1.0, 2.0]),), "zero"),
        Case("logaddexp", lambda lib, a, b: lib.logaddexp(a, b), (A(2, 3), A(3)), gradgrad=True),
        Case(
            "logaddexp",
            lambda lib, a, b: a.logaddexp(b),
            (V([800.0, -800.0]), V([799.0, -801.0])),
            "large",
        ),
        Case("logaddexp2", lambda lib, a, b: lib.logaddexp2(a, b), (A(2, 3), A(3)), gradgrad=True),
        Case("logaddexp2", lambda lib, a, b: a.logaddexp2(b), (A(3), A()), "method"),
        Case("float_power", lambda lib, a: lib.float_power(a, 2), (A(2, 3),), gradgrad=True),
        Case("float_power", lambda lib, a, b: lib.float_power(a, b), (P(3), A(3)), "tensors"),
        Case("float_power", lambda lib, a: lib.float_power(2, a), (A(3),), "scalar-base"),
        Case("float_power", lambda lib, a: a.float_power(-1.5), (P(3),), "method"),
        Case("cumprod", lambda lib, a: lib.cumprod(a, 1), (A(2, 4),), gradgrad=True),
        Case("cumprod", lambda lib, a: a.cumprod(0), (A(5),), "method"),
        Case(
            "cumprod",
            lambda lib, a: lib.cumprod(a, 1),
            (V([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 0.5]]),),
            "zeros",
            gradgrad=True,
        ),
        Case("cumprod", lambda lib, a: lib.cumprod(a, 0), (A(),), "0d"),
        Case("cummax", lambda lib, a: lib.cummax(a, 1), (A(2, 5),), gradgrad=True),
        Case(
            "cummax",
            lambda lib, a: a.cummax(0),
            (V([1.0, 3.0, 2.0, 3.5, 0.5, 4.0]),),
            "method",
        ),
        Case("cummax", lambda lib, a: lib.cummax(a, 0), (A(),), "0d"),
        Case("cummin", lambda lib, a: lib.cummin(a, 0), (A(5, 2),), gradgrad=True),
        Case(
            "cummin",
            lambda lib, a: a.cummin(-1),
            (V([3.0, 1.0, 2.0, 1.5, 0.5, 0.25]),),
            "method",
        ),
        Case("logcumsumexp", lambda lib, a: lib.logcumsumexp(a, 1), (A(2, 5),), gradgrad=True),
        Case(
            "logcumsumexp",
            lambda lib, a: a.logcumsumexp(0),
            (V([-1000.0, 0.0, 1000.0, 3.0]),),
            "wide-method",
        ),
        Case("logcumsumexp", lambda lib, a: lib.logcumsumexp(a, 0), (A(),), "0d"),
        Case("std_mean", lambda lib, a: lib.std_mean(a), (A(2, 3),), "all", gradgrad=True),
        Case(
            "std_mean",
            lambda lib, a: lib.std_mean(a, 1, keepdim=True, correction=0),
            (A(2, 3),),
            "dim",
        ),
        Case("std_mean", lambda lib, a: lib.std_mean(a, 0)[0], (A(3, 2),), "std-only"),
        Case("var_mean", lambda lib, a: lib.var_mean(a), (A(2, 3),), "all", gradgrad=True),
        Case(
            "var_mean",
            lambda lib, a: lib.var_mean(a, (0, 2), unbiased=False),
            (A(2, 3, 2),),
            "dims",
        ),
        Case("var_mean", lambda lib, a: lib.var_mean(a, 1)[1], (A(2, 3),), "mean-only"),
        Case("nansum", lambda lib, a: lib.nansum(a), (A(2, 3),), "all", gradgrad=True),
        Case(
            "nansum",
            lambda lib, a: lib.nansum(lib.log(a), 1),
            (V([[1.0, -1.0, 2.0], [0.5, 3.0, -2.0]]),),
            "nan-dim",
        ),
        Case("nansum", lambda lib, a: a.nansum(0, keepdim=True), (A(3, 2),), "method"),
        Case("nanmean", lambda lib, a: lib.nanmean(a), (A(2, 3),), "all", gradgrad=True),
        Case(
            "nanmean",
            lambda lib, a: a.nanmean(1),
            (V([[1.0, float("nan"), 2.0], [0.5, 3.0, -2.0]]),),
            "nan-method",
        ),
        Case("aminmax", lambda lib, a: lib.aminmax(a), (A(2, 3),), "all", gradgrad=True),
        Case("aminmax", lambda lib, a: a.aminmax(dim=1, keepdim=True), (A(2, 3),), "dim"),
        Case(
            "aminmax",
            lambda lib, a: lib.aminmax(a, dim=0),
            (V([[1.0, 2.0], [1.0, 0.5], [3.0, 2.0]]),),
            "ties",
        ),
    ]
)

OPS_WITHOUT_GRADIENT: set[str] = {"logspace"}

NON_DIFFERENTIABLE_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "logspace": lambda lib, x: lib.logspace(0, 1, 5),
}
