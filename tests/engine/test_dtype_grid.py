"""Binary operators over every pair of dtypes and Python scalars, as PyTorch computes them.

Result dtype, values and errors are compared with torch.

The grid found ``&``, ``|`` and ``^`` computing logical results for integer tensors (PyTorch
computes bitwise ones, in the promoted integer dtype, and refuses floating tensors).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradviz

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = {"py_bool": True, "py_int": 2, "py_float": 2.5}

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "pow": lambda a, b: a**b,
    "remainder": lambda a, b: a % b,
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "rand": lambda a, b: b & a,
    "ror": lambda a, b: b | a,
}


def _outcome(lib: ModuleType, op: str, left: str, right: str) -> tuple[Any, ...]:
    a = lib.tensor([True, False, True] if left == "bool" else [1, 2, 3], dtype=getattr(lib, left))
    if right in SCALARS:
        b: Any = SCALARS[right]
    else:
        values = [True, True, False] if right == "bool" else [2, 1, 3]
        b = lib.tensor(values, dtype=getattr(lib, right))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = OPS[op](a, b)
    except Exception as err:  # noqa: BLE001 - the error is part of the outcome compared
        return (type(err).__name__, str(err))
    return ("ok", str(out.dtype).split(".")[-1], np.asarray(out.tolist(), dtype=np.float64))


@pytest.mark.parametrize("op", sorted(OPS))
def test_operator_over_the_dtype_grid_matches_torch(op: str, torch: ModuleType) -> None:
    differences = []
    for left, right in itertools.product(DTYPES, DTYPES + list(SCALARS)):
        got = _outcome(gradviz, op, left, right)
        want = _outcome(torch, op, left, right)
        same = got[:2] == want[:2] and (
            got[0] != "ok" or np.array_equal(got[2], want[2], equal_nan=True)
        )
        if not same:
            differences.append(f"{left} {op} {right}: gradviz {got}, torch {want}")
    assert not differences, "\n".join(differences[:10])


def test_invert_is_logical_for_bool_bitwise_for_integers_refused_for_floats(
    torch: ModuleType,
) -> None:
    for dtype in DTYPES:
        got = _invert(gradviz, dtype)
        assert got == _invert(torch, dtype), dtype


def _invert(lib: ModuleType, dtype: str) -> tuple[Any, ...]:
    a = lib.tensor([True, False] if dtype == "bool" else [1, 2], dtype=getattr(lib, dtype))
    try:
        out = ~a
    except Exception as err:  # noqa: BLE001 - the error is part of the outcome compared
        return (type(err).__name__, str(err))
    return (str(out.dtype).split(".")[-1], out.tolist())
