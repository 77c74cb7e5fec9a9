"""Tests of gradviz/engine/ops/extra.py against PyTorch 2.13.

Each op is run on gradviz and torch with the same inputs: values, dtypes and shapes must
match (ties, keepdim, negative dims, 0-d and empty inputs included); differentiable ops
pass float64 gradcheck and give torch's gradients for the same upstream gradient, under
torch's node names; bad arguments raise torch's exception type and message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz
from gradviz.autograd import gradcheck, gradgradcheck

NAN = float("nan")


def _to_numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _assert_same(ours: Any, theirs: Any, where: str = "result") -> None:
    """Compare nested results: type of container, shape, dtype, then values (NaN = NaN)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple), f"{where}: expected a tuple, got {type(ours).__name__}"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items, torch has {len(theirs)}"
        if hasattr(theirs, "values") and hasattr(theirs, "indices"):
            _assert_same(ours.values, theirs.values, f"{where}.values")
            _assert_same(ours.indices, theirs.indices, f"{where}.indices")
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _assert_same(a, b, f"{where}[{i}]")
        return
    if isinstance(theirs, bool):
        assert type(ours) is bool, f"{where}: expected a Python bool, got {type(ours).__name__}"
        assert ours == theirs, f"{where}: {ours} != {theirs}"
        return
    assert tuple(ours.shape) == tuple(theirs.shape), f"{where}: shape {ours.shape} {theirs.shape}"
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), (
        f"{where}: dtype {ours.dtype} vs {theirs.dtype}"
    )
    np.testing.assert_allclose(
        _to_numpy(ours).astype(np.float64),
        theirs.detach().numpy().astype(np.float64),
        rtol=1e-12,
        atol=1e-12,
        equal_nan=True,
        err_msg=where,
    )
    assert ours.requires_grad == theirs.requires_grad, f"{where}: requires_grad differs"


def _inputs(lib: Any, values: list[Any], dtypes: list[str], grad: bool = False) -> list[Any]:
    out = []
    for v, dt in zip(values, dtypes, strict=True):
        t = lib.tensor(v, dtype=getattr(lib, dt))
        if grad and dt.startswith("float"):
            t.requires_grad_(True)
        out.append(t)
    return out


def _run_both(
    torch: Any, fn: Callable[..., Any], values: list[Any], dtypes: list[str], grad: bool = False
) -> tuple[Any, Any, list[Any], list[Any]]:
    gv_in = _inputs(gradviz, values, dtypes, grad)
    th_in = _inputs(torch, values, dtypes, grad)
    return fn(gradviz, *gv_in), fn(torch, *th_in), gv_in, th_in


TIES = [[1.0, 3.0, 3.0, 1.0, 2.0], [2.0, 2.0, 2.0, 5.0, 5.0], [0.5, -1.0, 4.0, 4.0, -1.0]]
MAT = [[0.3, -1.2, 2.5, 0.0], [1.1, 0.7, -0.4, 3.3], [-2.0, 0.9, 1.5, -0.6]]
VEC = [3.0, -1.0, 2.5, 0.0, 7.0, -4.0]
WITH_NAN = [[1.0, NAN, 0.0, -2.0], [3.0, 2.0, NAN, NAN]]

# (id, fn(lib, *inputs), input values, input dtypes). Results must equal torch's exactly;
# indices included, so inputs with ties are only used where torch's choice is deterministic.
VALUE_CASES: list[tuple[str, Callable[..., Any], list[Any], list[str]]] = [
    # sort / argsort / msort
    ("sort", lambda lib, x: x.sort(), [MAT], ["float32"]),
    ("sort-dim0", lambda lib, x: lib.sort(x, 0), [MAT], ["float64"]),
    ("sort-neg-dim-desc", lambda lib, x: x.sort(-2, descending=True), [MAT], ["float32"]),
    ("sort-stable-ties", lambda lib, x: lib.sort(x, stable=True), [TIES], ["float32"]),
    (
        "sort-stable-ties-desc",
        lambda lib, x: x.sort(dim=1, descending=True, stable=True),
        [TIES],
        ["float32"],
    ),
    ("sort-nan", lambda lib, x: x.sort(), [WITH_NAN], ["float32"]),
    ("sort-nan-desc", lambda lib, x: x.sort(descending=True), [WITH_NAN], ["float32"]),
    ("sort-int", lambda lib, x: x.sort(descending=True, stable=True), [[3, 1, 3, 2]], ["int64"]),
    ("sort-bool", lambda lib, x: x.sort(stable=True), [[True, False, True]], ["bool"]),
    ("sort-0d", lambda lib, x: x.sort(), [2.5], ["float32"]),
    ("sort-empty", lambda lib, x: x.sort(), [[]], ["float32"]),
    ("argsort", lambda lib, x: x.argsort(), [MAT], ["float32"]),
    (
        "argsort-ties-desc",
        lambda lib, x: lib.argsort(x, dim=1, descending=True, stable=True),
        [TIES],
        ["float64"],
    ),
    ("argsort-0d", lambda lib, x: lib.argsort(x), [1.0], ["float32"]),
    ("msort", lambda lib, x: lib.msort(x), [MAT], ["float32"]),
    ("msort-method-int", lambda lib, x: x.msort(), [[[3, 1], [1, 2]]], ["int32"]),
    ("msort-0d", lambda lib, x: x.msort(), [3.0], ["float32"]),
    # topk
    ("topk", lambda lib, x: x.topk(2), [MAT], ["float32"]),
    ("topk-dim0-smallest", lambda lib, x: lib.topk(x, 2, 0, largest=False), [MAT], ["float32"]),
    ("topk-k0", lambda lib, x: x.topk(0), [MAT], ["float64"]),
    ("topk-all", lambda lib, x: x.topk(6), [VEC], ["float32"]),
    (
        "topk-unsorted-values",
        lambda lib, x: x.topk(4, sorted=False).values.sort().values,
        [VEC],
        ["float32"],
    ),
    ("topk-int", lambda lib, x: x.topk(2, largest=False), [[3, 1, 2]], ["int64"]),
    ("topk-nan", lambda lib, x: x.topk(2), [[1.0, NAN, 0.0]], ["float32"]),
    ("topk-0d", lambda lib, x: x.topk(1), [2.0], ["float32"]),
    # kthvalue
    ("kthvalue", lambda lib, x: x.kthvalue(2), [MAT], ["float32"]),
    ("kthvalue-dim0-keepdim", lambda lib, x: lib.kthvalue(x, 3, 0, True), [MAT], ["float64"]),
    ("kthvalue-neg-dim", lambda lib, x: x.kthvalue(1, -2), [MAT], ["float32"]),
    ("kthvalue-int", lambda lib, x: x.kthvalue(2), [[3, 1, 2]], ["int64"]),
    ("kthvalue-nan", lambda lib, x: x.kthvalue(3), [[1.0, NAN, 0.0]], ["float32"]),
    ("kthvalue-0d", lambda lib, x: x.kthvalue(1), [2.0], ["float32"]),
    # median
    ("median-all-even", lambda lib, x: x.median(), [[4.0, 1.0, 3.0, 2.0]], ["float32"]),
    ("median-all", lambda lib, x: lib.median(x), [MAT], ["float64"]),
    ("median-all-int", lambda lib, x: x.median(), [[4, 1, 3, 2]], ["int64"]),
    ("median-all-nan", lambda lib, x: x.median(), [WITH_NAN], ["float32"]),
    ("median-all-empty", lambda lib, x: x.median(), [[]], ["float32"]),
    ("median-all-0d", lambda lib, x: x.median(), [2.0], ["float32"]),
    ("median-dim-ties", lambda lib, x: x.median(1), [TIES], ["float32"]),
    ("median-dim0-keepdim", lambda lib, x: lib.median(x, 0, keepdim=True), [TIES], ["float64"]),
    ("median-dim-neg", lambda lib, x: x.median(-1), [MAT], ["float32"]),
    ("median-dim-nan", lambda lib, x: x.median(1), [WITH_NAN], ["float32"]),
    ("median-dim-0d", lambda lib, x: x.median(0), [2.0], ["float32"]),
    ("median-dim-empty-rows", lambda lib, x: x.median(1), [np.zeros((0, 3))], ["float32"]),
    # mode
    ("mode", lambda lib, x: x.mode(), [TIES], ["float32"]),
    ("mode-dim0-keepdim", lambda lib, x: lib.mode(x, 0, True), [TIES], ["float64"]),
    ("mode-int", lambda lib, x: x.mode(), [[1, 3, 3, 1]], ["int64"]),
    ("mode-bool", lambda lib, x: x.mode(), [[True, False, True]], ["bool"]),
    ("mode-0d", lambda lib, x: x.mode(), [2.0], ["float32"]),
    ("mode-empty-slices", lambda lib, x: x.mode(0), [np.zeros((3, 0))], ["float32"]),
    ("mode-all-distinct", lambda lib, x: x.mode(), [VEC], ["float32"]),
    # unique
    ("unique", lambda lib, x: x.unique(), [[3.0, 1.0, 2.0, 1.0]], ["float32"]),
    (
        "unique-inverse-counts",
        lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True),
        [[[2.0, 1.0], [1.0, 1.0]]],
        ["float64"],
    ),
    (
        "unique-unsorted",
        lambda lib, x: lib.unique(x, sorted=False, return_counts=True),
        [[5, 3, 9, 3, 1, 7, 5]],
        ["int64"],
    ),
    ("unique-nan", lambda lib, x: x.unique(return_counts=True), [[NAN, 1.0, NAN]], ["float32"]),
    ("unique-bool", lambda lib, x: x.unique(), [[True, False, True]], ["bool"]),
    ("unique-empty", lambda lib, x: x.unique(return_inverse=True), [[]], ["float32"]),
    ("unique-0d", lambda lib, x: x.unique(return_inverse=True), [2.0], ["float32"]),
    (
        "unique-dim0",
        lambda lib, x: x.unique(dim=0, return_inverse=True, return_counts=True),
        [[[1.0, 2.0], [1.0, 2.0], [0.0, 5.0], [1.0, 0.0]]],
        ["float32"],
    ),
    (
        "unique-dim-neg",
        lambda lib, x: lib.unique(x, dim=-1, return_inverse=True),
        [[[1, 2, 1, 2], [3, 4, 3, 0]]],
        ["int64"],
    ),
    (
        "unique-dim-empty",
        lambda lib, x: x.unique(dim=0, return_inverse=True, return_counts=True),
        [np.zeros((0, 3))],
        ["float32"],
    ),
    # nonzero
    ("nonzero", lambda lib, x: x.nonzero(), [[[0, 1], [2, 0]]], ["int64"]),
    ("nonzero-tuple", lambda lib, x: lib.nonzero(x, as_tuple=True), [[[0, 1], [2, 0]]], ["int64"]),
    ("nonzero-float", lambda lib, x: x.nonzero(), [[NAN, 0.0, -0.0, 2.0]], ["float32"]),
    ("nonzero-0d", lambda lib, x: x.nonzero(), [5], ["int64"]),
    ("nonzero-0d-zero", lambda lib, x: x.nonzero(), [0], ["int64"]),
    ("nonzero-0d-tuple", lambda lib, x: x.nonzero(as_tuple=True), [5], ["int64"]),
    ("nonzero-empty", lambda lib, x: x.nonzero(), [np.zeros((0, 2))], ["float32"]),
    # bincount
    ("bincount", lambda lib, x: x.bincount(), [[1, 1, 3]], ["int64"]),
    ("bincount-minlength", lambda lib, x: lib.bincount(x, minlength=6), [[1, 1, 3]], ["int32"]),
    ("bincount-empty", lambda lib, x: lib.bincount(x), [[]], ["int64"]),
    ("bincount-empty-ml", lambda lib, x: lib.bincount(x, minlength=2), [[]], ["int64"]),
    (
        "bincount-weights32",
        lambda lib, x, w: lib.bincount(x, w),
        [[1, 1, 3], [0.5, 1.0, 2.0]],
        ["int64", "float32"],
    ),
    (
        "bincount-weights-int",
        lambda lib, x, w: lib.bincount(x, weights=w),
        [[1, 1, 3], [1, 2, 3]],
        ["int64", "int64"],
    ),
    # isclose / allclose / equal
    (
        "isclose-broadcast",
        lambda lib, a, b: lib.isclose(a, b),
        [[[1.0], [2.0]], [1.0, 2.0, 2.0000001]],
        ["float32", "float32"],
    ),
    (
        "isclose-inf-nan",
        lambda lib, a, b: a.isclose(b, equal_nan=True),
        [[np.inf, -np.inf, np.inf, NAN, NAN], [np.inf, np.inf, 1e30, NAN, 1.0]],
        ["float64", "float64"],
    ),
    (
        "isclose-nan-not-equal",
        lambda lib, a, b: a.isclose(b),
        [[NAN, 1.0], [NAN, 1.001]],
        ["float64", "float64"],
    ),
    (
        "isclose-tolerances",
        lambda lib, a, b: lib.isclose(a, b, rtol=0.1, atol=0.5),
        [[1.0, 10.0, 0.0], [1.5, 11.5, -0.6]],
        ["float32", "float32"],
    ),
    ("isclose-int", lambda lib, a, b: lib.isclose(a, b), [[1, 2], [1, 3]], ["int64", "int64"]),
    ("isclose-bool", lambda lib, a, b: a.isclose(b), [[True], [True]], ["bool", "bool"]),
    ("allclose", lambda lib, a, b: lib.allclose(a, b), [[1.0, 2.0], [1.0, 2.0]], ["float32"] * 2),
    (
        "allclose-false",
        lambda lib, a, b: a.allclose(b, rtol=0.0, atol=1e-3),
        [[1.0, 2.0], [1.0, 2.01]],
        ["float64"] * 2,
    ),
    (
        "allclose-broadcast",
        lambda lib, a, b: lib.allclose(a, b),
        [[[1.0], [1.0]], [1.0, 1.0]],
        ["float32"] * 2,
    ),
    ("equal", lambda lib, a, b: lib.equal(a, b), [[1.0, 2.0], [1.0, 2.0]], ["float32"] * 2),
    ("equal-shapes", lambda lib, a, b: a.equal(b), [[1.0, 2.0], [[1.0, 2.0]]], ["float32"] * 2),
    ("equal-dtypes", lambda lib, a, b: a.equal(b), [[1.0, 2.0], [1, 2]], ["float32", "int64"]),
    ("equal-nan", lambda lib, a, b: lib.equal(a, b), [[NAN], [NAN]], ["float32"] * 2),
    ("equal-empty", lambda lib, a, b: lib.equal(a, b), [[], []], ["float32"] * 2),
    # addcmul / addcdiv / lerp
    (
        "addcmul-broadcast",
        lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5),
        [[1.0, 2.0, 3.0], [[2.0], [4.0]], [0.5, -1.0, 2.0]],
        ["float32"] * 3,
    ),
    (
        "addcmul-int-float-value",
        lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5),
        [[1], [1], [2]],
        ["int64"] * 3,
    ),
    (
        "addcmul-mixed",
        lambda lib, a, b, c: a.addcmul(b, c),
        [[1], [1.0], [2.0]],
        ["int64", "float32", "float64"],
    ),
    (
        "addcdiv",
        lambda lib, a, b, c: a.addcdiv(b, c, value=2),
        [[1.0, 2.0], [3.0, 4.0], [0.5, -2.0]],
        ["float32"] * 3,
    ),
    (
        "addcdiv-int-input",
        lambda lib, a, b, c: lib.addcdiv(a, b, c),
        [[1], [1.0], [2.0]],
        ["int64", "float32", "float32"],
    ),
    (
        "lerp-scalar",
        lambda lib, a, b: lib.lerp(a, b, 0.3),
        [[1.0, 2.0, -3.0], [4.0, -2.0, 0.5]],
        ["float32"] * 2,
    ),
    (
        "lerp-scalar-large",
        lambda lib, a, b: a.lerp(b, 0.75),
        [[1.0, 2.0, -3.0], [4.0, -2.0, 0.5]],
        ["float64"] * 2,
    ),
    (
        "lerp-tensor",
        lambda lib, a, b, w: lib.lerp(a, b, w),
        [[1.0, 2.0, -3.0], [[4.0], [-2.0]], [0.1, 0.6, 1.0]],
        ["float32"] * 3,
    ),
    # diag / trace
    ("diag-vector", lambda lib, x: lib.diag(x), [[1.0, 2.0, 3.0]], ["float32"]),
    ("diag-vector-offset", lambda lib, x: x.diag(1), [[1.0, 2.0]], ["float64"]),
    ("diag-vector-neg-offset", lambda lib, x: lib.diag(x, -2), [[1, 2]], ["int64"]),
    ("diag-matrix", lambda lib, x: x.diag(), [MAT], ["float32"]),
    ("diag-matrix-offset", lambda lib, x: lib.diag(x, 1), [MAT], ["float32"]),
    ("diag-matrix-neg-offset", lambda lib, x: lib.diag(x, -1), [MAT], ["float32"]),
    ("diag-matrix-offset-out", lambda lib, x: lib.diag(x, 5), [MAT], ["float32"]),
    ("diag-empty", lambda lib, x: lib.diag(x, 1), [[]], ["float32"]),
    ("trace", lambda lib, x: x.trace(), [MAT], ["float32"]),
    ("trace-int", lambda lib, x: x.trace(), [[[1, 2, 3], [4, 5, 6]]], ["int32"]),
    ("trace-empty", lambda lib, x: x.trace(), [np.zeros((0, 3))], ["float32"]),
    # einsum
    (
        "einsum-mm",
        lambda lib, a, b: lib.einsum("ij,jk->ik", a, b),
        [MAT, np.ones((4, 2))],
        ["float32"] * 2,
    ),
]


# The einsum cases (equation, input shapes), compared with torch on random values.
EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ij->ji", [(3, 4)]),
    ("ba", [(3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(4, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (1, 4, 5)]),
    ("...ij", [(2, 3, 4)]),
    ("i...->...", [(3, 2, 4)]),
    ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,kj->", [(3, 4), (2, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij,jk->ik", [(3, 1), (4, 5)]),
    ("iij->ji", [(3, 3, 2)]),
    ("Ab,bc->Ac", [(3, 4), (4, 2)]),
    (",->", [(), ()]),
    ("i,->i", [(2,), ()]),
    ("ij, jk -> ik", [(3, 4), (4, 5)]),
    ("ij,jk->ik", [(3, 0), (0, 5)]),
]


@pytest.mark.parametrize(
    ("fn", "values", "dtypes"),
    [c[1:] for c in VALUE_CASES],
    ids=[c[0] for c in VALUE_CASES],
)
def test_values_and_dtypes_match_torch(
    torch: Any, fn: Callable[..., Any], values: list[Any], dtypes: list[str]
) -> None:
    ours, theirs, _, _ = _run_both(torch, fn, values, dtypes)
    _assert_same(ours, theirs)


@pytest.mark.parametrize(("equation", "shapes"), EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_matches_torch(torch: Any, equation: str, shapes: list[tuple[int, ...]]) -> None:
    rng = np.random.default_rng(len(equation) * 7 + len(shapes))
    values = [rng.standard_normal(s) for s in shapes]
    dtypes = ["float64"] * len(shapes)
    ours, theirs, gv_in, th_in = _run_both(
        torch, lambda lib, *xs: lib.einsum(equation, *xs), values, dtypes, grad=True
    )
    _assert_same(ours, theirs)
    upstream = rng.standard_normal(tuple(theirs.shape))
    _assert_same_grads(ours, theirs, gv_in, th_in, upstream)
    assert gradcheck(lambda *xs: gradviz.einsum(equation, *xs), tuple(gv_in))


def test_einsum_int_and_list_and_sublist_forms(torch: Any) -> None:
    a = [[1, 2], [3, 4]]
    b = [[5, 6], [7, 8]]
    ours, theirs, _, _ = _run_both(
        torch, lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), [a, b], ["int64"] * 2
    )
    _assert_same(ours, theirs)
    ours, theirs, _, _ = _run_both(
        torch, lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2], [0, 2]), [a, b], ["float32"] * 2
    )
    _assert_same(ours, theirs)
    ours, theirs, _, _ = _run_both(
        torch, lambda lib, x: lib.einsum(x, [0, Ellipsis]), [[a, b]], ["float32"]
    )
    _assert_same(ours, theirs)
    for equation in ("ii->i", "iij->j", "ii"):  # diagonals of inputs without a graph
        shape = (3, 3, 2) if equation == "iij->j" else (3, 3)
        ours, theirs, _, _ = _run_both(
            torch,
            lambda lib, x, eq=equation: lib.einsum(eq, x),
            [np.arange(np.prod(shape), dtype=np.float64).reshape(shape)],
            ["float32"],
        )
        _assert_same(ours, theirs)


def _assert_same_grads(
    ours: Any, theirs: Any, gv_in: list[Any], th_in: list[Any], upstream: np.ndarray
) -> None:
    gv_out = ours if not isinstance(ours, tuple) else ours[0]
    th_out = theirs if not isinstance(theirs, tuple) else theirs[0]
    (gv_out * gradviz.tensor(upstream, dtype=gv_out.dtype)).sum().backward()
    import torch as torch_module

    (th_out * torch_module.tensor(upstream, dtype=th_out.dtype)).sum().backward()
    for i, (a, b) in enumerate(zip(gv_in, th_in, strict=True)):
        if not b.requires_grad:
            continue
        if b.grad is None:
            assert a.grad is None or not np.any(_to_numpy(a.grad)), f"input {i}: unexpected grad"
            continue
        np.testing.assert_allclose(
            _to_numpy(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"grad {i}"
        )


# (id, fn(lib, *inputs) whose first output is differentiable, values, node name).
GRAD_CASES: list[tuple[str, Callable[..., Any], list[Any], str]] = [
    ("sort", lambda lib, x: x.sort(1), [MAT], "SortBackward0"),
    ("sort-desc-dim0", lambda lib, x: lib.sort(x, -2, True), [MAT], "SortBackward0"),
    ("sort-stable", lambda lib, x: x.sort(stable=True), [MAT], "SortBackward1"),
    ("sort-0d", lambda lib, x: x.sort(), [1.5], "SortBackward0"),
    ("msort", lambda lib, x: x.msort(), [MAT], "SortBackward0"),
    ("topk", lambda lib, x: x.topk(2), [MAT], "TopkBackward0"),
    ("topk-dim0-smallest", lambda lib, x: lib.topk(x, 2, 0, False), [MAT], "TopkBackward0"),
    ("kthvalue", lambda lib, x: x.kthvalue(3), [MAT], "KthvalueBackward0"),
    ("kthvalue-keepdim", lambda lib, x: x.kthvalue(2, 0, True), [MAT], "KthvalueBackward0"),
    ("median-all", lambda lib, x: x.median(), [MAT], "MedianBackward0"),
    ("median-dim", lambda lib, x: x.median(1), [MAT], "MedianBackward1"),
    ("median-dim-keepdim", lambda lib, x: x.median(0, True), [MAT], "MedianBackward1"),
    # Distinct values: a tie would break under gradcheck's perturbation.
    ("mode", lambda lib, x: x.mode(), [MAT], "ModeBackward0"),
    ("mode-dim0", lambda lib, x: x.mode(0, True), [MAT], "ModeBackward0"),
    (
        "addcmul",
        lambda lib, a, b, c: a.addcmul(b, c, value=0.5),
        [[1.0, 2.0, 3.0], [[2.0], [4.0]], [0.5, -1.0, 2.0]],
        "AddcmulBackward0",
    ),
    (
        "addcdiv",
        lambda lib, a, b, c: lib.addcdiv(a, b, c, value=-2),
        [[1.0, 2.0, 3.0], [[2.0], [4.0]], [0.5, -1.0, 2.0]],
        "AddcdivBackward0",
    ),
    ("lerp", lambda lib, a, b: lib.lerp(a, b, 0.3), [[1.0, 2.0], [[3.0, 4.0]]], "LerpBackward0"),
    (
        "lerp-tensor",
        lambda lib, a, b, w: a.lerp(b, w),
        [[1.0, 2.0, -3.0], [[4.0], [-2.0]], [0.1, 0.6, 0.9]],
        "LerpBackward1",
    ),
    ("diag-vector", lambda lib, x: lib.diag(x, -1), [[1.0, 2.0, 3.0]], "DiagEmbedBackward0"),
    ("diag-matrix", lambda lib, x: x.diag(1), [MAT], "DiagonalBackward0_copy"),
    ("trace", lambda lib, x: x.trace(), [MAT], "TraceBackward0"),
]


@pytest.mark.parametrize(
    ("fn", "values", "node"), [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES]
)
def test_gradients_and_node_names_match_torch(
    torch: Any, fn: Callable[..., Any], values: list[Any], node: str
) -> None:
    dtypes = ["float64"] * len(values)
    ours, theirs, gv_in, th_in = _run_both(torch, fn, values, dtypes, grad=True)
    gv_out = ours if not isinstance(ours, tuple) else ours[0]
    th_out = theirs if not isinstance(theirs, tuple) else theirs[0]
    assert th_out.grad_fn.name() == node
    assert gv_out.grad_fn.name() == node
    upstream = np.random.default_rng(0).standard_normal(tuple(th_out.shape))
    _assert_same_grads(ours, theirs, gv_in, th_in, upstream)


@pytest.mark.parametrize(
    ("fn", "values"), [(c[1], c[2]) for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES]
)
def test_gradcheck_and_gradgradcheck(fn: Callable[..., Any], values: list[Any]) -> None:
    xs = _inputs(gradviz, values, ["float64"] * len(values), grad=True)

    def first(*args: Any) -> Any:
        out = fn(gradviz, *args)
        return out if not isinstance(out, tuple) else out[0]

    assert gradcheck(first, tuple(xs))
    assert gradgradcheck(first, tuple(xs))


def test_median_all_shares_the_gradient_among_ties_as_torch(torch: Any) -> None:
    for values in ([1.0, 2.0, 2.0, 3.0, 2.0], [1.0, NAN, 2.0, NAN]):
        ours, theirs, gv_in, th_in = _run_both(
            torch, lambda lib, x: x.median(), [values], ["float64"], grad=True
        )
        _assert_same(ours, theirs)
        _assert_same_grads(ours, theirs, gv_in, th_in, np.array(1.0))


def test_saved_tensors_have_torch_names() -> None:
    x = gradviz.randn(3, 4, dtype=gradviz.float64, requires_grad=True)
    node = x.sort(1).values.grad_fn
    assert node._saved_dim == 1
    assert node._saved_self_sym_sizes == (3, 4)
    assert tuple(node._saved_indices.shape) == (3, 4)
    node = x.median(1).values.grad_fn
    assert node._saved_keepdim is False
    assert tuple(node._saved_indices.shape) == (3,)
    node = gradviz.addcmul(x, x, x, value=2).grad_fn
    assert node._saved_value == 2
    assert node._saved_tensor1 is x


def test_outputs_without_gradient(torch: Any) -> None:
    x = gradviz.tensor([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]], requires_grad=True)
    for out in (
        x.argsort(),
        x.nonzero(),
        gradviz.isclose(x, x),
        x.sort().indices,
        x.topk(1).indices,
        x.median(0).indices,
        *gradviz.unique(x, return_inverse=True, return_counts=True)[1:],
    ):
        assert out.requires_grad is False
        assert out.grad_fn is None
    assert gradviz.allclose(x, x) is True
    assert gradviz.equal(x, x) is True


@pytest.mark.parametrize(
    ("fn", "derivative"),
    [
        (lambda x: x.unique(), "_unique2"),
        (lambda x: x.unique(dim=1), "unique_dim"),
    ],
    ids=["unique", "unique-dim"],
)
def test_unique_backward_is_not_implemented_as_in_torch(
    torch: Any, fn: Callable[..., Any], derivative: str
) -> None:
    node = "Unique2Backward0" if derivative == "_unique2" else "UniqueDimBackward0"
    for lib in (gradviz, torch):
        out = fn(lib.tensor([[3.0, 1.0], [1.0, 2.0]], requires_grad=True))
        assert out.requires_grad
        assert out.grad_fn.name() == node
        with pytest.raises(
            NotImplementedError, match=f"^the derivative for '{derivative}' is not implemented.$"
        ):
            out.sum().backward()


def test_weighted_bincount_backward_is_not_implemented_as_in_torch(torch: Any) -> None:
    for lib in (gradviz, torch):
        w = lib.tensor([0.5, 1.0], requires_grad=True)
        out = lib.bincount(lib.tensor([0, 2]), w)
        assert out.requires_grad
        assert out.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(
            RuntimeError, match="^derivative for aten::bincount is not implemented$"
        ):
            out.sum().backward()


def test_results_are_named_tuples() -> None:
    x = gradviz.tensor([[3.0, 1.0, 2.0]])
    for result in (x.sort(), x.topk(2), x.kthvalue(1), x.median(1), x.mode()):
        values, indices = result
        assert values is result.values
        assert indices is result.indices
        assert indices.dtype == gradviz.int64


_M = [[1.0, 2.0], [3.0, 4.0]]
_V = [1.0, 2.0]

# (id, fn(lib)); the call must raise torch's exception type with torch's message.
ERROR_CASES: list[tuple[str, Callable[[Any], Any]]] = [
    ("sort-dim", lambda lib: lib.tensor(_M).sort(2)),
    ("sort-dim-neg", lambda lib: lib.tensor(_M).sort(-3)),
    ("sort-0d-dim", lambda lib: lib.tensor(2.0).sort(1)),
    ("argsort-dim", lambda lib: lib.argsort(lib.tensor(_M), 5)),
    ("topk-k-big", lambda lib: lib.tensor(_M).topk(3)),
    ("topk-k-neg", lambda lib: lib.tensor(_M).topk(-1)),
    ("topk-0d-k2", lambda lib: lib.tensor(2.0).topk(2)),
    ("topk-dim", lambda lib: lib.tensor(_M).topk(1, 3)),
    ("topk-bool", lambda lib: lib.tensor([True, False]).topk(1)),
    ("kthvalue-k-big", lambda lib: lib.tensor(_M).kthvalue(3)),
    ("kthvalue-k0", lambda lib: lib.tensor(_M).kthvalue(0, 0)),
    ("kthvalue-dim", lambda lib: lib.tensor(_M).kthvalue(1, 2)),
    ("kthvalue-empty", lambda lib: lib.tensor([]).kthvalue(1)),
    ("kthvalue-bool", lambda lib: lib.tensor([True]).kthvalue(1)),
    ("median-empty-dim", lambda lib: lib.zeros(0, 3).median(0)),
    ("median-dim", lambda lib: lib.tensor(_M).median(2)),
    ("median-bool", lambda lib: lib.tensor([True, False]).median()),
    ("median-bool-dim", lambda lib: lib.tensor([True]).median(0)),
    ("mode-empty", lambda lib: lib.tensor([]).mode()),
    ("mode-dim", lambda lib: lib.tensor([1.0]).mode(2)),
    ("unique-dim", lambda lib: lib.zeros(2, 3).unique(dim=2)),
    ("unique-dim-0d", lambda lib: lib.tensor(3.0).unique(dim=0)),
    ("unique-dim-zero-size", lambda lib: lib.zeros(3, 0).unique(dim=0)),
    ("bincount-neg", lambda lib: lib.bincount(lib.tensor([-1, 2]))),
    ("bincount-2d", lambda lib: lib.bincount(lib.tensor([[1, 2]]))),
    ("bincount-0d", lambda lib: lib.bincount(lib.tensor(1))),
    ("bincount-float", lambda lib: lib.bincount(lib.tensor([1.0]))),
    ("bincount-bool", lambda lib: lib.bincount(lib.tensor([True]))),
    ("bincount-minlength", lambda lib: lib.bincount(lib.tensor([[1]]), minlength=-1)),
    ("bincount-weights", lambda lib: lib.bincount(lib.tensor([1, 2]), lib.tensor([1.0]))),
    ("isclose-dtypes", lambda lib: lib.isclose(lib.tensor([1]), lib.tensor([1.0]))),
    (
        "isclose-f32-f64",
        lambda lib: lib.isclose(lib.tensor([1.0]), lib.tensor([1.0], dtype=lib.float64)),
    ),
    ("isclose-rtol", lambda lib: lib.isclose(lib.tensor(_V), lib.tensor(_V), rtol=-1)),
    ("isclose-atol", lambda lib: lib.isclose(lib.tensor(_V), lib.tensor(_V), atol=-1)),
    ("isclose-shapes", lambda lib: lib.isclose(lib.tensor(_V), lib.tensor([1.0, 2.0, 3.0]))),
    ("isclose-scalar", lambda lib: lib.isclose(lib.tensor(_V), 1.0)),
    ("allclose-shapes", lambda lib: lib.allclose(lib.tensor(_V), lib.tensor([1.0, 2.0, 3.0]))),
    ("equal-scalar", lambda lib: lib.equal(lib.tensor(_V), 1.0)),
    (
        "addcmul-shapes",
        lambda lib: lib.addcmul(lib.ones(3), lib.ones(2), lib.ones(3)),
    ),
    (
        "addcdiv-integer",
        lambda lib: lib.addcdiv(lib.tensor([1.0]), lib.tensor([1]), lib.tensor([2])),
    ),
    ("lerp-int", lambda lib: lib.lerp(lib.tensor([1]), lib.tensor([2]), 0.5)),
    ("lerp-int-tensor", lambda lib: lib.lerp(lib.tensor([1]), lib.tensor([2]), lib.tensor([1]))),
    (
        "lerp-end-dtype",
        lambda lib: lib.lerp(lib.tensor([1.0]), lib.tensor([2.0], dtype=lib.float64), 0.5),
    ),
    ("lerp-end-long", lambda lib: lib.lerp(lib.tensor([1.0]), lib.tensor([2]), 0.5)),
    (
        "lerp-weight-dtype",
        lambda lib: lib.lerp(
            lib.tensor([1.0]), lib.tensor([2.0]), lib.tensor([0.5], dtype=lib.float64)
        ),
    ),
    ("lerp-end-scalar", lambda lib: lib.lerp(lib.tensor([1.0]), 2.0, 0.5)),
    ("diag-3d", lambda lib: lib.diag(lib.zeros(2, 2, 2))),
    ("diag-0d", lambda lib: lib.diag(lib.tensor(1.0))),
    ("trace-3d", lambda lib: lib.zeros(2, 2, 2).trace()),
    ("trace-1d", lambda lib: lib.zeros(2).trace()),
    ("trace-bool", lambda lib: lib.ones(2, 3, dtype=lib.bool).trace()),
    ("einsum-size", lambda lib: lib.einsum("ij,jk->ik", lib.ones(3, 4), lib.ones(3, 4))),
    ("einsum-more-ops", lambda lib: lib.einsum("ij->ij", lib.ones(3, 4), lib.ones(4, 5))),
    ("einsum-fewer-ops", lambda lib: lib.einsum("ij,jk->ik", lib.ones(3, 4))),
    ("einsum-ndim", lambda lib: lib.einsum("ijk,jk->ik", lib.ones(3, 4), lib.ones(4, 5))),
    ("einsum-ndim-ellipsis", lambda lib: lib.einsum("...ijk", lib.ones(3, 4))),
    ("einsum-out-missing", lambda lib: lib.einsum("ij,jk->iz", lib.ones(3, 4), lib.ones(4, 5))),
    ("einsum-out-repeated", lambda lib: lib.einsum("ij,jk->ii", lib.ones(3, 4), lib.ones(4, 5))),
    ("einsum-bad-char", lambda lib: lib.einsum("i1,jk->ik", lib.ones(3, 4), lib.ones(4, 5))),
    ("einsum-two-arrows", lambda lib: lib.einsum("ij,jk->ik->i", lib.ones(3, 4), lib.ones(4, 5))),
    ("einsum-out-bad-char", lambda lib: lib.einsum("ij->i-", lib.ones(3, 4))),
    (
        "einsum-ellipsis",
        lambda lib: lib.einsum("...ij,...jk->...ik", lib.ones(2, 3, 4), lib.ones(3, 4, 5)),
    ),
    ("einsum-diag-sizes", lambda lib: lib.einsum("ii->i", lib.ones(3, 4))),
    (
        "einsum-dtypes",
        lambda lib: lib.einsum("ij,jk->ik", lib.ones(3, 4), lib.ones(4, 5, dtype=lib.float64)),
    ),
    ("einsum-no-operand", lambda lib: lib.einsum("->")),
    ("einsum-not-tensor", lambda lib: lib.einsum("i->i", [1, 2])),
    ("einsum-ellipsis-twice", lambda lib: lib.einsum("......", lib.ones(3, 4))),
    ("einsum-lone-dot", lambda lib: lib.einsum("i.j", lib.ones(3, 4))),
    ("einsum-out-ellipsis-twice", lambda lib: lib.einsum("...->......", lib.ones(3, 4))),
    ("einsum-out-lone-dot", lambda lib: lib.einsum("...->.", lib.ones(3, 4))),
]


@pytest.mark.parametrize("fn", [c[1] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(torch: Any, fn: Callable[[Any], Any]) -> None:
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(type(expected.value)) as got:
        fn(gradviz)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)


_small_floats = st.floats(-4, 4, allow_nan=False, width=32)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
        elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0, 3.0]),
    ),
    st.integers(-3, 2),
    st.booleans(),
)
def test_sort_is_sorted_stable_and_gathers_its_values(
    values: np.ndarray, dim: int, descending: bool
) -> None:
    x = gradviz.tensor(values)
    d = dim % values.ndim
    result = x.sort(d, descending=descending, stable=True)
    sorted_values = _to_numpy(result.values)
    steps = np.diff(sorted_values, axis=d)
    assert np.all(steps <= 0) if descending else np.all(steps >= 0)
    np.testing.assert_array_equal(_to_numpy(x.gather(d, result.indices)), sorted_values)
    # Stable: equal values keep increasing indices.
    idx = _to_numpy(result.indices)
    same = np.diff(sorted_values, axis=d) == 0
    assert np.all(np.diff(idx, axis=d)[same] > 0)
    np.testing.assert_array_equal(_to_numpy(x.argsort(d, descending, stable=True)), idx)


@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 10_000),
)
def test_einsum_equals_explicit_matmul(m: int, k: int, n: int, b: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = gradviz.tensor(rng.standard_normal((b, m, k)))
    y = gradviz.tensor(rng.standard_normal((b, k, n)))
    expected = _to_numpy(gradviz.matmul(x, y))
    np.testing.assert_allclose(_to_numpy(gradviz.einsum("bij,bjk->bik", x, y)), expected)
    np.testing.assert_allclose(
        _to_numpy(gradviz.einsum("bjk,bij->bki", y, x)), expected.transpose(0, 2, 1)
    )
