"""Wrong dtypes (and bad biases): PyTorch's error type and wording.

Matrix products refuse mixed dtypes; masks must be boolean; convolution biases must
have the input's dtype.

A mixed-dtype bias used to be accepted by ``addmm`` (and ``F.linear``) and to fail later,
in backward, with another message; PyTorch refuses it up front.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import gradviz

F32, F64, F16, I64 = "float32", "float64", "float16", "int64"

CASES: dict[str, Callable[[Any, Any], Any]] = {
    # name: call(lib, make), where make(dtype, *shape) gives ones of that dtype
    "mm double @ float": lambda lib, m: lib.mm(m(F64, 2, 4), m(F32, 4, 3)),
    "mm float @ half": lambda lib, m: lib.mm(m(F32, 2, 4), m(F16, 4, 3)),
    "matmul long @ float": lambda lib, m: lib.matmul(m(I64, 2, 4), m(F32, 4, 3)),
    "addmm double bias": lambda lib, m: lib.addmm(m(F64, 3), m(F32, 2, 4), m(F32, 4, 3)),
    "addmm double mat1": lambda lib, m: lib.addmm(m(F32, 3), m(F64, 2, 4), m(F32, 4, 3)),
    "addmm all differ": lambda lib, m: lib.addmm(m(F64, 3), m(F16, 2, 4), m(F32, 4, 3)),
    "linear double bias": lambda lib, m: lib.nn.functional.linear(
        m(F32, 2, 4), m(F32, 3, 4), m(F64, 3)
    ),
    "linear double input, 3-D": lambda lib, m: lib.nn.functional.linear(
        m(F64, 5, 2, 4), m(F32, 3, 4), m(F32, 3)
    ),
    "linear double input, no bias": lambda lib, m: lib.nn.functional.linear(
        m(F64, 2, 4), m(F32, 3, 4)
    ),
    "bmm double @ float": lambda lib, m: lib.bmm(m(F64, 2, 3, 4), m(F32, 2, 4, 5)),
    "bmm float @ half": lambda lib, m: lib.bmm(m(F32, 2, 3, 4), m(F16, 2, 4, 5)),
    "mv double @ float": lambda lib, m: lib.mv(m(F64, 3, 4), m(F32, 4)),
    "mv float @ double": lambda lib, m: lib.mv(m(F32, 3, 4), m(F64, 4)),
    "dot double, float": lambda lib, m: lib.dot(m(F64, 4), m(F32, 4)),
    # matmul dispatches to dot, mv, mm or bmm as PyTorch does, and raises as they do
    "matmul 1-D @ 1-D": lambda lib, m: lib.matmul(m(F64, 4), m(F32, 4)),
    "matmul 2-D @ 1-D": lambda lib, m: lib.matmul(m(F64, 3, 4), m(F32, 4)),
    "matmul 1-D @ 2-D": lambda lib, m: lib.matmul(m(F64, 4), m(F32, 4, 3)),
    "matmul 3-D @ 3-D": lambda lib, m: lib.matmul(m(F64, 2, 3, 4), m(F32, 2, 4, 5)),
    "matmul 3-D @ 2-D": lambda lib, m: lib.matmul(m(F64, 2, 3, 4), m(F32, 4, 5)),
    "matmul 2-D @ 3-D": lambda lib, m: lib.matmul(m(F64, 3, 4), m(F32, 2, 4, 5)),
    "matmul 3-D @ 1-D": lambda lib, m: lib.matmul(m(F64, 2, 3, 4), m(F32, 4)),
    "masked_fill float mask": lambda lib, m: m(F32, 3).masked_fill(m(F32, 3), 0.0),
    "masked_fill long mask": lambda lib, m: m(F32, 3).masked_fill(m(I64, 3), 0.0),
    "masked_fill double mask": lambda lib, m: m(F32, 3).masked_fill(m(F64, 3), 0.0),
    "conv2d half bias": lambda lib, m: lib.nn.functional.conv2d(
        m(F32, 1, 1, 5, 5), m(F32, 1, 1, 3, 3), m(F16, 1)
    ),
    "conv2d long bias": lambda lib, m: lib.nn.functional.conv2d(
        m(F32, 1, 1, 5, 5), m(F32, 1, 1, 3, 3), m(I64, 1)
    ),
    "addmm bias does not expand": lambda lib, m: lib.addmm(m(F32, 4), m(F32, 2, 3), m(F32, 3, 5)),
    "addmm bias of wrong rows": lambda lib, m: lib.addmm(m(F32, 3, 5), m(F32, 2, 3), m(F32, 3, 5)),
    "addmm bias of more dims": lambda lib, m: lib.addmm(
        m(F32, 2, 2, 5), m(F32, 2, 3), m(F32, 3, 5)
    ),
}


def _maker(lib: ModuleType) -> Callable[..., Any]:
    def make(dtype: str, *shape: int) -> Any:
        return lib.ones(*shape, dtype=getattr(lib, dtype))

    return make


def _error(call: Callable[[], Any]) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as info:  # the type is compared below
        call()
    return info.type, str(info.value)


@pytest.mark.parametrize("name", sorted(CASES))
def test_mixed_dtypes_raise_like_torch(name: str, torch: ModuleType) -> None:
    call = CASES[name]
    want_type, want = _error(lambda: call(torch, _maker(torch)))
    got_type, got = _error(lambda: call(gradviz, _maker(gradviz)))
    assert got == want
    assert got_type.__name__ == want_type.__name__


def test_same_dtypes_still_run_backward() -> None:
    bias = gradviz.zeros(3, dtype=gradviz.float64, requires_grad=True)
    m1 = gradviz.ones(2, 4, dtype=gradviz.float64, requires_grad=True)
    m2 = gradviz.ones(4, 3, dtype=gradviz.float64, requires_grad=True)
    gradviz.addmm(bias, m1, m2).sum().backward()
    assert m1.grad.tolist() == [[3.0] * 4] * 2
    assert bias.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("bias", [(5,), (1, 5), (2, 1), (1,), (2, 5)])
def test_biases_that_expand_still_work(bias: tuple[int, ...], torch: ModuleType) -> None:
    got = gradviz.addmm(gradviz.ones(*bias), gradviz.ones(2, 3), gradviz.ones(3, 5))
    want = torch.addmm(torch.ones(*bias), torch.ones(2, 3), torch.ones(3, 5))
    assert got.tolist() == want.tolist()
