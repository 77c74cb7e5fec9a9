"""Every op case of the engine's suite, forward and backward, on a CUDA GPU (CuPy).

The same table (``tests/engine/op_cases.py``) runs on the strict stand-in device in
``tests/engine/test_strict_device.py``; here it runs on ``cuda`` where a GPU is usable,
and must give the CPU's numbers (to float64 rounding) with every result and gradient on
the GPU. Without a GPU this file reports one skipped test that says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradviz
from tests.device.conftest import CUDA_REASON, needs_gpu, tolerance
from tests.engine.op_cases import CASES, INPLACE_CASES, Case, flat_outputs, make_inputs

ALL_CASES = CASES + INPLACE_CASES
PARAMS = (
    [pytest.param(None, id="all-op-cases", marks=needs_gpu)]
    if CUDA_REASON
    else [pytest.param(c, id=c.id, marks=pytest.mark.gpu) for c in ALL_CASES]
)


def _run(case: Case, device: Any) -> tuple[list[Any], list[Any], list[Any]]:
    with gradviz.device(device):  # index tensors built inside the cases land there too
        xs = [
            gradviz.tensor(v, dtype=gradviz.float64, requires_grad=a.grad)
            for v, a in zip(make_inputs(case), case.args, strict=False)
        ]
        outs = flat_outputs(case.fn(gradviz, *xs))
        diff = [o for o in outs if o.requires_grad]
        wrt = [x for x in xs if x.requires_grad]
        grads: tuple[Any, ...] = ()
        if diff and wrt:
            seeds = [gradviz.ones_like(o) for o in diff]
            grads = gradviz.autograd.grad(diff, wrt, seeds, allow_unused=True)
    devices = [o.device for o in outs] + [g.device for g in grads if g is not None]
    return (
        [o.detach().cpu().numpy() for o in outs],
        [None if g is None else g.cpu().numpy() for g in grads],
        devices,
    )


@pytest.mark.parametrize("case", PARAMS)
def test_every_op_case_runs_on_cuda(case: Case) -> None:
    cuda = gradviz.device("cuda")
    outs, grads, devices = _run(case, cuda)
    assert all(d == cuda for d in devices), devices
    ref_outs, ref_grads, _ = _run(case, "cpu")
    assert len(outs) == len(ref_outs)
    for got, want in zip(outs, ref_outs, strict=True):
        np.testing.assert_allclose(got, want, **tolerance(cuda))
    for got, want in zip(grads, ref_grads, strict=True):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want, **tolerance(cuda))
