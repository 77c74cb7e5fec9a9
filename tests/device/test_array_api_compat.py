"""The compatibility layer that lets Array API kernels run on CuPy releases without NumPy 2's API.

CuPy 13 lacks some names the kernels use (``astype``, ``cumulative_sum``,
``linalg.vector_norm``, ``isdtype``...) and the ``copy=``/``correction=`` keywords. The
layer (``backend.array_api_compat``) adds them from calls every release has. It is
tested here on an *old-style* namespace: NumPy with those names removed and with the old
``var``/``std``/``asarray``/``reshape`` signatures, so each added piece is checked against
NumPy 2's own implementation on any machine.
"""

from __future__ import annotations

import types
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradviz.engine import backend

REMOVED = (
    "astype acos acosh asin asinh atan atan2 atanh pow bitwise_invert bitwise_left_shift "
    "bitwise_right_shift permute_dims concat isdtype matrix_transpose unique_values vecdot "
    "cumulative_sum bool"
).split()


def _old_numpy() -> types.ModuleType:
    """NumPy as CuPy 13 looks: no Array API aliases, ``ddof`` only, no ``copy=``."""
    old = types.ModuleType("oldnumpy")
    old.__dict__.update({k: v for k, v in vars(np).items() if k not in REMOVED})
    old.bool_ = np.bool_  # type: ignore[attr-defined]

    def var(a: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
        return np.var(a, axis, ddof=ddof, keepdims=keepdims)

    def std(a: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
        return np.std(a, axis, ddof=ddof, keepdims=keepdims)

    old.var, old.std = var, std  # type: ignore[attr-defined]
    old.asarray = lambda a, dtype=None: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]
    old.reshape = lambda a, newshape: np.reshape(a, newshape)  # type: ignore[attr-defined]
    linalg = types.ModuleType("oldnumpy.linalg")
    linalg.norm = np.linalg.norm  # type: ignore[attr-defined]
    old.linalg = linalg  # type: ignore[attr-defined]
    return old


XP = backend.array_api_compat(_old_numpy())
RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))


def test_every_removed_name_is_provided() -> None:
    for name in REMOVED:
        assert getattr(XP, name) is not None, name
    assert XP.linalg.vector_norm is not None
    assert XP.exp is np.exp  # what the library has is used as is
    assert XP.linalg.norm is np.linalg.norm


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("acos", (np.clip(A, -1, 1),)),
        ("asinh", (A,)),
        ("atan2", (A, B)),
        ("pow", (np.abs(A), B)),
        ("bitwise_invert", (np.arange(5),)),
        ("bitwise_left_shift", (np.arange(5), 2)),
        ("matrix_transpose", (RNG.standard_normal((2, 3, 4)),)),
    ],
)
def test_aliases_match_numpy2(name: str, args: tuple[Any, ...]) -> None:
    np.testing.assert_array_equal(getattr(XP, name)(*args), getattr(np, name)(*args))


def test_unique_values() -> None:
    x = np.array([3, 1, 3, 2, 1])
    np.testing.assert_array_equal(np.sort(XP.unique_values(x)), np.sort(np.unique_values(x)))


def test_functions_with_keywords_match_numpy2() -> None:
    assert XP.astype(A, np.float32).dtype == np.float32
    same = XP.astype(A, np.float64, copy=False)
    assert same is A
    np.testing.assert_array_equal(XP.concat([A, B], axis=1), np.concat([A, B], axis=1))
    np.testing.assert_array_equal(XP.concat([A, B], axis=None), np.concat([A, B], axis=None))
    np.testing.assert_array_equal(XP.permute_dims(A, (1, 0)), np.permute_dims(A, (1, 0)))
    np.testing.assert_allclose(XP.vecdot(A, B), np.vecdot(A, B))
    np.testing.assert_allclose(XP.vecdot(A, B, axis=0), np.vecdot(A, B, axis=0))
    for axis, dtype in [(0, None), (1, np.float32)]:
        np.testing.assert_allclose(
            XP.cumulative_sum(A, axis=axis, dtype=dtype),
            np.cumulative_sum(A, axis=axis, dtype=dtype),
            rtol=1e-6,
        )
    np.testing.assert_allclose(
        XP.cumulative_sum(A, axis=1, include_initial=True),
        np.cumulative_sum(A, axis=1, include_initial=True),
    )
    np.testing.assert_array_equal(XP.cumulative_sum(np.arange(4)), [0, 1, 3, 6])
    with pytest.raises(ValueError, match="axis is required"):
        XP.cumulative_sum(A)
    for kw in [{}, {"axis": 1, "correction": 1}, {"axis": (0, 1), "keepdims": True}]:
        np.testing.assert_allclose(XP.var(A, **kw), np.var(A, **kw))
        np.testing.assert_allclose(XP.std(A, **kw), np.std(A, **kw))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("real floating", [True, True, False, False, False]),
        ("integral", [False, False, True, True, False]),
        ("signed integer", [False, False, True, False, False]),
        ("bool", [False, False, False, False, True]),
        ("numeric", [True, True, True, True, False]),
        (("bool", "unsigned integer"), [False, False, False, True, True]),
        (np.float32, [True, False, False, False, False]),
    ],
)
def test_isdtype(kind: Any, expected: list[bool]) -> None:
    dtypes = [np.float32, np.float64, np.int64, np.uint8, np.bool_]
    got = [XP.isdtype(np.dtype(d), kind) for d in dtypes]
    assert got == expected
    assert got == [np.isdtype(np.dtype(d), kind) for d in dtypes]


def test_isdtype_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown kind 'floating'"):
        XP.isdtype(np.dtype(np.float32), "floating")


@pytest.mark.parametrize("order", [2, 1, 0, 3.5, np.inf, -np.inf])
@pytest.mark.parametrize(("axis", "keepdims"), [(None, False), (1, True), ((0, 1), False)])
def test_vector_norm(order: float, axis: Any, keepdims: bool) -> None:
    x = np.where(np.abs(A) < 0.3, 0.0, A)
    np.testing.assert_allclose(
        XP.linalg.vector_norm(x, ord=order, axis=axis, keepdims=keepdims),
        np.linalg.vector_norm(x, ord=order, axis=axis, keepdims=keepdims),
        rtol=1e-12,
    )


def test_asarray_copy_keyword() -> None:
    assert XP.asarray(A) is A
    copied = XP.asarray(A, copy=True)
    assert copied is not A and not np.shares_memory(copied, A)
    assert XP.asarray(A, copy=False) is A
    assert XP.asarray([1, 2], dtype=np.int8).dtype == np.int8
    with pytest.raises(ValueError, match="cannot be used without a copy"):
        XP.asarray([1.0, 2.0], copy=False)


def test_reshape_copy_keyword() -> None:
    view = XP.reshape(A, (4, 3), copy=False)
    assert np.shares_memory(view, A)
    copied = XP.reshape(A, (12,), copy=True)
    assert not np.shares_memory(copied, A)
    with pytest.raises(ValueError, match=r"cannot be viewed as shape \(12,\)"):
        XP.reshape(A.T, (12,), copy=False)


@st.composite
def _strided(draw: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    """A possibly non-contiguous view and a shape with the same number of elements."""
    base = draw(hnp.arrays(np.int16, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4)))
    view = base
    if draw(st.booleans()):
        view = np.transpose(view, draw(st.permutations(range(view.ndim))))
    step = tuple(draw(st.sampled_from([1, 1, 2, -1])) for _ in range(view.ndim))
    view = view[tuple(slice(None, None, s) for s in step)]
    size = view.size
    factors = [d for d in range(1, size + 1) if size % d == 0] or [1]
    first = draw(st.sampled_from(factors))
    rest = size // first if first else 0
    shape = draw(
        st.sampled_from([(size,), (first, rest), (rest, 1, first), (1, size, 1), (first, -1)])
    )
    return view, shape


@given(_strided())
def test_view_detection_agrees_with_numpy(case: tuple[np.ndarray, tuple[int, ...]]) -> None:
    view, shape = case
    try:
        np.reshape(view, shape, copy=False)
        numpy_says = True
    except ValueError:
        numpy_says = False
    assert backend._reshapes_as_view(view, shape) == numpy_says, (view.shape, view.strides, shape)


def test_namespace_of_each_array_type() -> None:
    xp = pytest.importorskip("array_api_strict")
    assert backend.namespace(np.zeros(1)) is np
    assert backend.namespace(xp.zeros(1)) is xp
    with pytest.raises(TypeError, match="expected an array of NumPy, CuPy or an Array API"):
        backend.namespace([1.0])
    assert backend.is_device_array(xp.zeros(1))
    assert not backend.is_device_array(np.zeros(1)) and not backend.is_device_array(1.0)
