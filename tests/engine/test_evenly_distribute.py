"""Full max/min/median backward: PyTorch's evenly_distribute_backward.

The gradient is shared by every element equal to the result, NaNs included when the result
is NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradviz as gv

NAN = math.nan
CASES = [
    [1.0, NAN, 2.0],
    [NAN, 3.0, NAN, 1.0],
    [2.0, 5.0, 5.0, 1.0],
    [4.0, 4.0, 4.0],
    [-1.0, 0.5, 3.0],
]


@pytest.mark.parametrize("values", CASES, ids=str)
@pytest.mark.parametrize("fn", ["max", "min", "median"])
def test_gradient_of_a_full_reduction_matches_torch(values: list[float], fn: str) -> None:
    x = gv.tensor(values, requires_grad=True)
    getattr(x, fn)().backward()
    tx = torch.tensor(values, requires_grad=True)
    getattr(tx, fn)().backward()
    assert x.grad is not None and tx.grad is not None
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
