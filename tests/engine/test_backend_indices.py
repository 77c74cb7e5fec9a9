"""``backend.indices_in_range``: one pass over int64 targets says what min/max would."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradviz.engine import backend

_INT64 = st.integers(-(2**63), 2**63 - 1)


@given(
    index=hnp.arrays(
        np.int64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0), elements=_INT64
    ),
    n=st.integers(0, 2**62),
)
def test_in_range_is_min_and_max_in_range(index: np.ndarray, n: int) -> None:
    expected = index.size == 0 or (int(index.min()) >= 0 and int(index.max()) < n)
    assert backend.indices_in_range(index, n) is expected


@given(
    index=hnp.arrays(np.uint8, hnp.array_shapes(max_dims=2, min_side=0)),
    n=st.integers(0, 300),
)
def test_other_integer_dtypes_take_the_general_path(index: np.ndarray, n: int) -> None:
    expected = index.size == 0 or int(index.max()) < n
    assert backend.indices_in_range(index, n) is expected


def test_a_negative_target_is_out_of_range_even_below_a_huge_class_count() -> None:
    assert not backend.indices_in_range(np.array([3, -1, 2]), 2**62)
    assert backend.indices_in_range(np.array([3, 0, 2]), 4)
    assert not backend.indices_in_range(np.array([3, 4, 2]), 4)
