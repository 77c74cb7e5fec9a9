"""Edge cases of gradviz/engine/ops/math_more.py against PyTorch 2.13 and the stdlib.

NaN and infinite inputs, the ends of each domain (atanh at +-1, logit at 0 and 1, lgamma
at its poles, erfinv at +-1), result dtypes for integer and bool inputs, ties in the
scans and fmax/fmin, torch's errors for bad arguments, the special functions against
``math.lgamma``/``math.erfc`` over wide ranges, and hypothesis properties.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz

NAN, INF = float("nan"), float("inf")


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _same(ours: Any, theirs: Any, rtol: float = 1e-12, atol: float = 0.0) -> None:
    """Compare shape, dtype, then values (NaN equal to NaN, infinities by sign)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b, rtol, atol)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert "torch." + ours.dtype.name == str(theirs.dtype)
    np.testing.assert_allclose(
        _np(ours).astype(np.float64),
        theirs.detach().numpy().astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
    )


def _both(torch: Any, fn: Callable[[Any, Any], Any], values: Any, dtype: str = "float64") -> None:
    ours = fn(gradviz, gradviz.tensor(values, dtype=getattr(gradviz, dtype)))
    theirs = fn(torch, torch.tensor(values, dtype=getattr(torch, dtype)))
    _same(ours, theirs, rtol=1e-12 if dtype == "float64" else 1e-6)


SPECIAL_POINTS = [0.0, -0.0, 1.0, 2.0, -1.0, -2.0, -2.5, 0.5, 1e-300, 1e5, INF, -INF, NAN]


# ---------------------------------------------------------------------------- domains


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("atanh", [-1.0, 1.0, 2.0, -2.0, 0.0, NAN]),
        ("acosh", [1.0, 0.5, INF, NAN]),
        ("asinh", [INF, -INF, 0.0, -0.0, 1e300]),
        ("logit", [0.0, 1.0, -0.5, 1.5, 0.5, NAN]),
        ("erfinv", [-1.0, 1.0, 1.5, -1.5, 0.0, NAN, 1 - 2**-52, -(1 - 2**-53)]),
        ("erfc", [-INF, INF, 0.0, 26.0, 27.5, -6.0, NAN]),
        ("lgamma", [0.0, -0.0, -1.0, -2.0, -2.5, INF, -INF, NAN, 1.0, 2.0, 1e300]),
        ("digamma", [0.0, -0.0, -1.0, -2.5, INF, -INF, NAN, 1.0, 10.0, 1e20]),
        ("sinc", [0.0, INF, -INF, NAN, 1.0, -3.0]),
        ("frac", [-1.5, 2.25, INF, -INF, NAN, -0.0]),
        ("deg2rad", [180.0, INF, NAN]),
        ("rad2deg", [math.pi, -INF, NAN]),
    ],
)
def test_unary_edges_match_torch(name: str, values: list[float], torch: Any) -> None:
    _both(torch, lambda lib, x: getattr(lib, name)(x), values)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_polygamma_edges_match_torch(n: int, torch: Any) -> None:
    values = [0.5, 1.0, 2.5, 7.0, 25.0, -2.5, -0.5, NAN]
    ours = gradviz.polygamma(n, gradviz.tensor(values, dtype=gradviz.float64))
    theirs = torch.polygamma(n, torch.tensor(values, dtype=torch.float64))
    # NOTE: torch's trigamma (n = 1) is a short series, good to about 1e-9; gradviz sums
    # the Hurwitz zeta function to full precision (trigamma(1) = pi²/6 exactly below).
    _same(ours, theirs, rtol=1e-12 if n > 1 else 1e-8)
    one = gradviz.polygamma(1, gradviz.tensor([1.0], dtype=gradviz.float64))
    assert abs(float(one.item()) - math.pi**2 / 6) < 1e-15


def test_polygamma_at_poles_is_infinite() -> None:
    out = gradviz.polygamma(1, gradviz.tensor([0.0, -1.0, -3.0], dtype=gradviz.float64))
    assert np.all(np.isinf(_np(out)))
    assert np.all(_np(gradviz.lgamma(gradviz.tensor([0.0, -1.0, -4.0]))) == INF)


def test_logit_with_eps_clamps_like_torch(torch: Any) -> None:
    values = [0.0, 1.0, 0.05, 0.95, 0.5, -1.0, 2.0]
    _both(torch, lambda lib, x: lib.logit(x, eps=0.1), values)


@pytest.mark.parametrize("eps", [None, 0.25])
def test_logit_gradient_outside_its_domain_matches_torch(eps: Any, torch: Any) -> None:
    values = [-0.5, 0.1, 0.5, 0.9, 1.5]
    x = gradviz.tensor(values, dtype=gradviz.float64, requires_grad=True)
    gradviz.logit(x, eps).sum().backward()
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    torch.logit(tx, eps).sum().backward()
    _same(x.grad, tx.grad)


def test_nan_to_num_replacements_match_torch(torch: Any) -> None:
    values = [NAN, INF, -INF, 1.5, -0.0]
    for dtype in ("float64", "float32", "float16"):
        _both(torch, lambda lib, x: lib.nan_to_num(x), values, dtype)
        _both(torch, lambda lib, x: x.nan_to_num(2.0, 9.0, -9.0), values, dtype)
    x = gradviz.tensor(values, requires_grad=True)
    gradviz.nan_to_num(x).sum().backward()
    assert _np(x.grad).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_binary_edges_match_torch(torch: Any) -> None:
    a = [INF, -INF, -INF, NAN, 1.0, NAN, 0.0, -0.0, 3.0]
    b = [INF, -INF, 1.0, 1.0, NAN, NAN, -0.0, 0.0, -4.0]
    for name in ("atan2", "hypot", "fmax", "fmin", "copysign", "logaddexp", "logaddexp2"):
        ours = getattr(gradviz, name)(
            gradviz.tensor(a, dtype=gradviz.float64), gradviz.tensor(b, dtype=gradviz.float64)
        )
        theirs = getattr(torch, name)(
            torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
        )
        _same(ours, theirs)


def test_heaviside_matches_torch_and_has_no_derivative(torch: Any) -> None:
    x = [NAN, 0.0, -0.0, 2.0, -3.0]
    v = [5.0, NAN, 2.0, 7.0, 7.0]
    ours = gradviz.heaviside(gradviz.tensor(x), gradviz.tensor(v))
    _same(ours, torch.heaviside(torch.tensor(x), torch.tensor(v)))
    ints = gradviz.heaviside(gradviz.tensor([-2, 0, 3]), gradviz.tensor([9, 9, 9]))
    _same(ints, torch.heaviside(torch.tensor([-2, 0, 3]), torch.tensor([9, 9, 9])))
    flags = gradviz.heaviside(gradviz.tensor([True, False]), gradviz.tensor([False, True]))
    _same(flags, torch.heaviside(torch.tensor([True, False]), torch.tensor([False, True])))
    w = gradviz.tensor(x, requires_grad=True)
    out = w.heaviside(gradviz.tensor(v))
    assert out.requires_grad
    assert out.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="^derivative for aten::heaviside is not implemented$"):
        out.sum().backward()


def test_ties_in_fmax_fmin_go_to_self_as_in_torch(torch: Any) -> None:
    for name in ("fmax", "fmin"):
        a, b = [1.0, 2.0, NAN, 3.0], [1.0, NAN, 2.0, 3.0]
        ga = gradviz.tensor(a, requires_grad=True)
        gb = gradviz.tensor(b, requires_grad=True)
        getattr(gradviz, name)(ga, gb).sum().backward()
        ta = torch.tensor(a, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)
        getattr(torch, name)(ta, tb).sum().backward()
        _same(ga.grad, ta.grad)
        _same(gb.grad, tb.grad)


# ---------------------------------------------------------------------------- scans


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize(
    "values",
    [
        [1.0, 3.0, 2.0, 3.0, 0.5, 4.0, 4.0],
        [2.0, NAN, 1.0, NAN, 5.0],
        [NAN, 1.0, -INF, INF],
        [[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]],
    ],
)
def test_cummax_cummin_ties_and_nan_match_torch(name: str, values: Any, torch: Any) -> None:
    x = gradviz.tensor(values, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    ours = getattr(gradviz, name)(x, -1)
    theirs = getattr(torch, name)(tx, -1)
    assert type(ours).__name__ == f"{name.capitalize()}Result"
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)
    ours.values.sum().backward()
    theirs.values.sum().backward()
    _same(x.grad, tx.grad)


def test_cummax_of_integers_and_bools_matches_torch(torch: Any) -> None:
    for values in ([3, 1, 4, 1, 5, 9, 2], [False, True, False, True]):
        _same(
            tuple(gradviz.cummax(gradviz.tensor(values), 0)),
            tuple(torch.cummax(torch.tensor(values), 0)),
        )
        _same(
            tuple(gradviz.cummin(gradviz.tensor(values), 0)),
            tuple(torch.cummin(torch.tensor(values), 0)),
        )


def test_cumprod_with_zeros_matches_torch_gradients(torch: Any) -> None:
    values = [[2.0, 0.0, 3.0, 0.0, 1.5], [0.0, 0.5, -2.0, 4.0, 1.0], [1.0, 2.0, 3.0, 4.0, 0.0]]
    seed = np.linspace(-1, 1, 15).reshape(3, 5)
    x = gradviz.tensor(values, dtype=gradviz.float64, requires_grad=True)
    gradviz.cumprod(x, 1).backward(gradviz.tensor(seed))
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    torch.cumprod(tx, 1).backward(torch.tensor(seed))
    _same(x.grad, tx.grad)


def test_logcumsumexp_keeps_small_prefixes_and_infinities(torch: Any) -> None:
    values = [-1000.0, -INF, 0.0, 1000.0, INF, 3.0]
    _both(torch, lambda lib, x: lib.logcumsumexp(x, 0), values)
    _both(torch, lambda lib, x: lib.logcumsumexp(x, 0), [-INF, -INF, 1.0])


def test_int_scans_and_sums_give_int64(torch: Any) -> None:
    for fn in (
        lambda lib, x: lib.cumprod(x, 0),
        lambda lib, x: lib.nansum(x),
        lambda lib, x: x.nansum(0, keepdim=True),
    ):
        for values in ([1, 2, 3], [True, False, True]):
            _same(fn(gradviz, gradviz.tensor(values)), fn(torch, torch.tensor(values)))
    x = gradviz.cumprod(gradviz.tensor([1, 2, 3]), 0, dtype=gradviz.float64)
    assert x.dtype == gradviz.float64


# ---------------------------------------------------------------------------- dtypes

UNARY_FLOAT = "asinh acosh atanh deg2rad rad2deg sinc logit erfc erfinv lgamma digamma".split()


@pytest.mark.parametrize("name", UNARY_FLOAT)
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float16", "float32"])
def test_unary_result_dtypes_match_torch(name: str, dtype: str, torch: Any) -> None:
    values = [1, 0, 1] if dtype == "bool" else [1, 0, 2]
    ours = getattr(gradviz, name)(gradviz.tensor(values, dtype=getattr(gradviz, dtype)))
    theirs = getattr(torch, name)(torch.tensor(values, dtype=getattr(torch, dtype)))
    _same(ours, theirs, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: lib.atan2(x, x),
        lambda lib, x: lib.copysign(x, x),
        lambda lib, x: lib.copysign(x, -1),
        lambda lib, x: lib.fmax(x, x),
        lambda lib, x: lib.fmin(x, x),
        lambda lib, x: lib.polygamma(1, x + 1),
        lambda lib, x: lib.nan_to_num(x),
        lambda lib, x: lib.float_power(x, 2),
        lambda lib, x: lib.float_power(x, x),
        lambda lib, x: lib.float_power(2, x),
        lambda lib, x: lib.aminmax(x),
        lambda lib, x: lib.cummax(x, 0),
    ],
)
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_mixed_result_dtypes_match_torch(call: Any, dtype: str, torch: Any) -> None:
    values = [3, 1, 2]
    ours = call(gradviz, gradviz.tensor(values, dtype=getattr(gradviz, dtype)))
    theirs = call(torch, torch.tensor(values, dtype=getattr(torch, dtype)))
    if isinstance(theirs, tuple):
        ours, theirs = tuple(ours), tuple(theirs)
    _same(ours, theirs, rtol=1e-6)


def test_float_power_graph_converts_to_float64_first(torch: Any) -> None:
    x = gradviz.tensor([1.5, 2.0], requires_grad=True)
    out = gradviz.float_power(x, 2)
    assert out.dtype == gradviz.float64
    assert out.grad_fn.name() == "PowBackward0"
    assert out.grad_fn.next_functions[0][0].name() == "ToCopyBackward0"
    out.sum().backward()
    assert x.grad.dtype == gradviz.float32
    np.testing.assert_allclose(_np(x.grad), [3.0, 4.0])


# ---------------------------------------------------------------------------- reductions


def test_std_mean_and_var_mean_return_plain_tuples(torch: Any) -> None:
    values = [[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]]
    for name in ("std_mean", "var_mean"):
        ours = getattr(gradviz, name)(gradviz.tensor(values, dtype=gradviz.float64), 1)
        theirs = getattr(torch, name)(torch.tensor(values, dtype=torch.float64), 1)
        assert type(ours) is tuple
        _same(ours, theirs)
        ours_b = getattr(gradviz, name)(gradviz.tensor(values, dtype=gradviz.float64), False)
        theirs_b = getattr(torch, name)(torch.tensor(values, dtype=torch.float64), False)
        _same(ours_b, theirs_b)


def test_nan_reductions_match_torch(torch: Any) -> None:
    values = [[1.0, NAN, 2.0], [NAN, NAN, NAN], [INF, 1.0, NAN]]
    for call in (
        lambda lib, x: lib.nansum(x),
        lambda lib, x: lib.nansum(x, 1),
        lambda lib, x: lib.nanmean(x),
        lambda lib, x: lib.nanmean(x, 1, keepdim=True),
        lambda lib, x: x.nanmean(dim=0, dtype=lib.float32),
    ):
        _both(torch, call, values)


def test_aminmax_matches_torch(torch: Any) -> None:
    values = [[1.0, 5.0, 5.0], [-2.0, 0.0, -2.0]]
    x = gradviz.tensor(values, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    ours, theirs = gradviz.aminmax(x, dim=1), torch.aminmax(tx, dim=1)
    assert type(ours).__name__ == "AminmaxResult"
    assert ours.min is ours[0] and ours.max is ours[1]
    _same(tuple(ours), tuple(theirs))
    (ours.min * 2 + ours.max).sum().backward()
    (theirs.min * 2 + theirs.max).sum().backward()
    _same(x.grad, tx.grad)
    zero_d = gradviz.aminmax(gradviz.tensor(3.0), dim=0)
    _same(tuple(zero_d), tuple(torch.aminmax(torch.tensor(3.0), dim=0)))
    _same(gradviz.aminmax(x, keepdim=True).min, torch.aminmax(tx, keepdim=True).min)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0, 2, 5), {}),
        ((-1, 1.5, 7), {"dtype": "float64"}),
        ((0, 3, 4), {"base": 2, "dtype": "int64"}),
        ((0.1, 2.3, 6), {"base": 3.5, "dtype": "float32"}),
        ((2, 2, 1), {}),
        ((0, 1, 0), {}),
    ],
)
def test_logspace_matches_torch(args: tuple[Any, ...], kwargs: dict[str, Any], torch: Any) -> None:
    ours_kw = {k: getattr(gradviz, v) if k == "dtype" else v for k, v in kwargs.items()}
    theirs_kw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
    ours, theirs = gradviz.logspace(*args, **ours_kw), torch.logspace(*args, **theirs_kw)
    # NOTE: torch's float32 kernel rounds its powers differently (within 2 ulp).
    _same(ours, theirs, rtol=1e-15 if ours.dtype != gradviz.float32 else 2.5e-7)


def test_logspace_can_require_grad() -> None:
    x = gradviz.logspace(0, 1, 3, requires_grad=True)
    assert x.requires_grad and x.is_leaf


# ---------------------------------------------------------------------------- errors


def _same_error(torch: Any, call: Callable[[Any], Any]) -> None:
    with pytest.raises(Exception) as theirs:  # the type is what we compare
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(gradviz)
    assert str(ours.value) == str(theirs.value)


ERRORS: dict[str, Callable[[Any], Any]] = {
    "polygamma-negative": lambda lib: lib.polygamma(-1, lib.ones(2)),
    "polygamma-float-n": lambda lib: lib.polygamma(1.5, lib.ones(2)),
    "heaviside-dtypes": lambda lib: lib.heaviside(lib.ones(2), lib.ones(2, dtype=lib.float64)),
    "heaviside-number": lambda lib: lib.heaviside(lib.ones(2), 1.0),
    "atan2-number": lambda lib: lib.atan2(lib.ones(2), 2.0),
    "hypot-number": lambda lib: lib.hypot(lib.ones(2), 2.0),
    "hypot-int": lambda lib: lib.hypot(lib.tensor([1, 2]), lib.tensor([3, 4])),
    "hypot-bool": lambda lib: lib.hypot(lib.tensor([True]), lib.tensor([False])),
    "logaddexp-number": lambda lib: lib.logaddexp(lib.ones(2), 2.0),
    "logaddexp-int": lambda lib: lib.logaddexp(lib.tensor([1]), lib.tensor([2])),
    "logaddexp2-int": lambda lib: lib.logaddexp2(lib.tensor([1]), lib.tensor([2])),
    "fmax-number": lambda lib: lib.fmax(lib.ones(2), 2.0),
    "fmin-number": lambda lib: lib.fmin(lib.ones(2), 2.0),
    "copysign-number-first": lambda lib: lib.copysign(2.0, lib.ones(2)),
    "frac-int": lambda lib: lib.frac(lib.tensor([1, 2])),
    "frac-bool": lambda lib: lib.frac(lib.tensor([True])),
    "logcumsumexp-int": lambda lib: lib.logcumsumexp(lib.tensor([1, 2]), 0),
    "cumprod-dim": lambda lib: lib.cumprod(lib.ones(3), 2),
    "cummax-dim": lambda lib: lib.cummax(lib.ones(3), 1),
    "std_mean-int": lambda lib: lib.std_mean(lib.tensor([1, 2])),
    "var_mean-bool": lambda lib: lib.var_mean(lib.tensor([True, False])),
    "nanmean-int": lambda lib: lib.nanmean(lib.tensor([1, 2])),
    "nanmean-int-dtype": lambda lib: lib.nanmean(lib.ones(2), dtype=lib.int64),
    "aminmax-empty": lambda lib: lib.aminmax(lib.zeros(0)),
    "aminmax-empty-dim": lambda lib: lib.aminmax(lib.zeros(2, 0), dim=1),
    "logspace-negative": lambda lib: lib.logspace(0, 1, -1),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name: str, torch: Any) -> None:
    _same_error(torch, ERRORS[name])


# ---------------------------------------------------------------------------- stdlib oracles


def test_lgamma_and_erfc_match_the_stdlib_over_wide_ranges() -> None:
    xs = np.concatenate(
        [np.linspace(0.01, 40, 997), np.linspace(-20.3, -0.01, 499), 1 + np.linspace(-0.2, 0.2, 41)]
    )
    got = _np(gradviz.lgamma(gradviz.tensor(xs, dtype=gradviz.float64)))
    want = np.array([math.lgamma(float(x)) for x in xs])
    far_from_zero = np.abs(want) > 0.1
    np.testing.assert_allclose(got[far_from_zero], want[far_from_zero], rtol=1e-13)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
    ys = np.linspace(-5, 26, 1001)
    got = _np(gradviz.erfc(gradviz.tensor(ys, dtype=gradviz.float64)))
    want = np.array([math.erfc(float(y)) for y in ys])
    np.testing.assert_allclose(got, want, rtol=1e-13)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
        elements=st.floats(-0.999999, 0.999999),
    )
)
def test_erfinv_inverts_erf(values: np.ndarray) -> None:
    x = gradviz.tensor(values, dtype=gradviz.float64)
    y = gradviz.erfinv(x)
    assert y.shape == x.shape
    np.testing.assert_allclose(_np(gradviz.erf(y)), values, rtol=0, atol=4e-16)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=5),
        elements=st.floats(0.05, 30.0),
    )
)
def test_lgamma_recurrence_and_digamma_derivative(values: np.ndarray) -> None:
    x = gradviz.tensor(values, dtype=gradviz.float64, requires_grad=True)
    lhs = _np(gradviz.lgamma(x + 1))
    rhs = _np(gradviz.lgamma(x)) + np.log(values)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12, atol=1e-12)
    gradviz.lgamma(x).sum().backward()
    np.testing.assert_allclose(_np(x.grad), _np(gradviz.digamma(x)), rtol=0, atol=0)
    # digamma(x + 1) = digamma(x) + 1 / x
    np.testing.assert_allclose(
        _np(gradviz.digamma(x + 1)), _np(gradviz.digamma(x)) + 1 / values, rtol=1e-12, atol=1e-12
    )


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=st.floats(-50, 50),
    ),
    st.integers(0, 2),
)
def test_scans_agree_with_their_definitions(values: np.ndarray, axis: int) -> None:
    axis = axis % values.ndim
    x = gradviz.tensor(values, dtype=gradviz.float64)
    np.testing.assert_allclose(
        _np(gradviz.logcumsumexp(x, axis)),
        np.logaddexp.accumulate(values, axis=axis),
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_array_equal(
        _np(gradviz.cummax(x, axis).values), np.maximum.accumulate(values, axis=axis)
    )
    np.testing.assert_array_equal(
        _np(gradviz.cummin(x, axis).values), np.minimum.accumulate(values, axis=axis)
    )


def test_special_function_tables_equal_their_exact_definitions() -> None:
    from fractions import Fraction
    from math import factorial

    from gradviz.engine.ops import math_more

    # Bernoulli numbers B_2 ... B_24 by the Akiyama-Tanigawa algorithm, exactly.
    a = [Fraction(0)] * 25
    b2k = []
    for m in range(25):
        a[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        if m >= 2 and m % 2 == 0:
            b2k.append(a[0])
    assert list(math_more._B2K) == [float(b) for b in b2k]
    assert list(math_more._STIRLING) == [
        float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(b2k[:7], start=1)
    ]
    assert list(math_more._ZETA_A) == [
        float(factorial(2 * k) / b) for k, b in enumerate(b2k, start=1)
    ]
