"""``backend.surely_finite``: the one-pass check behind relu's fast backward."""

from __future__ import annotations

import numpy as np
import pytest

from gradviz.engine import backend

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_finite_arrays_are_reported_finite(dtype: type, layout: str) -> None:
    a = np.arange(24, dtype=dtype).reshape(4, 6) - 10
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided":
        a = a[:, ::2]
    assert backend.surely_finite(a)


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_any_nan_or_infinity_is_caught(bad: float, layout: str) -> None:
    a = np.zeros((4, 6), dtype=np.float32)
    a[3, 4] = bad  # kept by the strided view too (column 4)
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided":
        a = a[:, ::2]
    assert not backend.surely_finite(a)


def test_huge_values_may_read_as_not_finite_but_never_the_reverse() -> None:
    # False here only sends the caller down its exact (slower) path.
    assert not backend.surely_finite(np.array([1e30, 1.0], dtype=np.float32))
    assert backend.surely_finite(np.array([1e30, 1.0], dtype=np.float64))


def test_empty_array_is_finite() -> None:
    assert backend.surely_finite(np.zeros((0, 3), dtype=np.float32))
