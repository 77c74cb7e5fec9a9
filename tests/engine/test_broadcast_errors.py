"""Shapes that do not broadcast: PyTorch's RuntimeError and wording, never NumPy's ValueError."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradviz
from gradviz.engine.function import Op, infer_size

PAIRS = [
    ((2, 3), (4,)),
    ((2, 3, 4), (5, 4)),
    ((2, 3, 4), (5, 6)),  # two mismatches: PyTorch names the last dimension
    ((3,), (2, 4)),
    ((2, 1, 3), (4, 5)),
    ((5,), (3,)),
]

OPS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "pow": lambda lib, a, b: a**b,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "eq": lambda lib, a, b: a == b,
    "lt": lambda lib, a, b: a < b,
    "remainder": lambda lib, a, b: lib.remainder(a, b),
    "where": lambda lib, a, b: lib.where(a > 0, a, b),
    "add_ in place": lambda lib, a, b: a.add_(b),
    "mul with grad": lambda lib, a, b: a.requires_grad_() * b,
}


def _error(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:  # the type is compared below
        call()
    return info.value


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_mismatch_raises_like_torch(
    op: str, a: tuple[int, ...], b: tuple[int, ...], torch: ModuleType
) -> None:
    call = OPS[op]
    want = _error(lambda: call(torch, torch.ones(*a), torch.ones(*b)))
    got = _error(lambda: call(gradviz, gradviz.ones(*a), gradviz.ones(*b)))
    assert type(got).__name__ == type(want).__name__ == "RuntimeError"
    assert str(got) == str(want)
    assert got.__context__ is None or got.__suppress_context__  # no NumPy error under it


def test_an_internal_broadcast_failure_is_not_blamed_on_the_inputs() -> None:
    # The inputs broadcast together; the kernel's own error is what the user sees.
    class Odd(Op):
        node = "OddBackward0"
        inputs = ("self", "other")

        @staticmethod
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            return a + np.ones(7)

    with pytest.raises(ValueError, match="could not be broadcast"):
        Odd.apply(gradviz.ones(2, 3), gradviz.ones(3))


shapes = st.lists(st.integers(1, 4), max_size=4).map(tuple)


@given(st.lists(shapes, min_size=1, max_size=4))
def test_infer_size_agrees_with_numpy(operands: list[tuple[int, ...]]) -> None:
    try:
        want = np.broadcast_shapes(*operands)
    except ValueError:
        with pytest.raises(RuntimeError, match="must match the size of tensor b"):
            infer_size(*operands)
    else:
        assert infer_size(*operands) == want
