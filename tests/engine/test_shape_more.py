"""The shape and indexing ops of ``gradviz.engine.ops.shape_more`` beyond the shared op cases.

``op_cases_shape.py`` already gradient-checks every op and compares values, gradients and
graphs with torch. Here: view semantics (shared data and version counter, in-place writes
through the views, autograd's version checks), the in-place methods, PyTorch's errors and
warnings word for word, the reductions' tie and zero rules against torch, and hypothesis
properties against NumPy.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz
from tests.engine.test_ops_torch import graph_string


def _f64(values: Any, grad: bool = False) -> gradviz.Tensor:
    return gradviz.tensor(values, dtype=gradviz.float64, requires_grad=grad)


def _both(torch: Any, values: Any, grad: bool = True) -> tuple[Any, Any]:
    ours = gradviz.tensor(values, dtype=gradviz.float64, requires_grad=grad)
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=grad)
    return ours, theirs


# ---------------------------------------------------------------------------- views

VIEWS: dict[str, Callable[[Any], Any]] = {
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(0, 1),
    "movedim": lambda x: x.movedim(0, 1),
    "moveaxis": lambda x: x.moveaxis(1, 0),
    "tensor_split": lambda x: x.tensor_split(2, dim=1)[1],
    "hsplit": lambda x: x.hsplit([1])[1],
    "vsplit": lambda x: x.vsplit(3)[2],
    "atleast_3d": lambda x: gradviz.atleast_3d(x),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_data_and_version_counter(name: str) -> None:
    base = gradviz.arange(1.0, 13.0).reshape(3, 4).clone()
    view = VIEWS[name](base)
    assert view._base is base
    before = base._version
    view.mul_(10)
    assert base._version == view._version == before + 1
    changed = base.numpy() != np.arange(1.0, 13.0).reshape(3, 4)
    assert changed.sum() == view.numel()  # the write went to the base's memory
    base.add_(1)
    assert view._version == base._version


def test_meshgrid_and_broadcast_tensors_return_views() -> None:
    x = gradviz.arange(3.0)
    gx, gy = gradviz.meshgrid(x, gradviz.arange(2.0), indexing="ij")
    assert gx._base is x and tuple(gx.shape) == (3, 2)
    a, b = gradviz.broadcast_tensors(gradviz.ones(2, 3), x)
    assert b._base is x
    y = gradviz.ones(2, 3)
    assert gradviz.broadcast_tensors(y, y)[0] is y  # same shape: the tensor itself, as torch


@pytest.mark.parametrize(
    "write",
    [
        lambda lib, y: y.narrow(1, 1, 2).mul_(2),
        lambda lib, y: y.select(0, 2).zero_(),
        lambda lib, y: y.movedim(0, 1)[1].add_(1.5),
        lambda lib, y: y.tensor_split(2, dim=1)[0].exp_(),
    ],
    ids=["narrow-mul_", "select-zero_", "movedim-add_", "tensor_split-exp_"],
)
def test_inplace_through_views_matches_torch(torch: Any, write: Callable[..., Any]) -> None:
    values = np.linspace(-1, 1, 12).reshape(3, 4)
    outs = []
    for lib in (gradviz, torch):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        y = x * 1
        write(lib, y)
        (y * y).sum().backward()
        outs.append((graph_string(y.grad_fn), y.detach().numpy(), x.grad.numpy()))
    (g_ours, v_ours, d_ours), (g_theirs, v_theirs, d_theirs) = outs
    assert g_ours == g_theirs
    np.testing.assert_allclose(v_ours, v_theirs)
    np.testing.assert_allclose(d_ours, d_theirs)


def test_saved_tensor_changed_through_a_view_fails_as_in_torch(torch: Any) -> None:
    messages = []
    for lib in (gradviz, torch):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = x * 1
        v = y.narrow(0, 0, 1)
        z = v * v  # MulBackward0 saves v
        y.select(0, 0).mul_(2)  # another view of the same memory: v's version moves
        assert v._version == y._version == 1
        with pytest.raises(RuntimeError) as caught:
            z.sum().backward()
        messages.append(str(caught.value))
    for message in messages:
        assert "modified by an inplace operation" in message
        assert "is at version 1; expected version 0 instead" in message


def test_views_of_leaves_refuse_inplace_as_torch() -> None:
    x = _f64([[1.0, 2.0], [3.0, 4.0]], grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x.narrow(0, 0, 1).mul_(2)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used"):
        x.index_fill_(0, gradviz.tensor([0]), 1.0)


# ---------------------------------------------------------------------------- in-place methods

INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "index_add_": lambda lib, y: y.index_add_(1, lib.tensor([0, 0]), y[:, :2] * 2, alpha=0.5),
    "index_fill_": lambda lib, y: y.index_fill_(1, lib.tensor([2]), -1.0),
    "index_copy_": lambda lib, y: y.index_copy_(0, lib.tensor([1]), y[:1] * 3),
    "scatter_": lambda lib, y: y.scatter_(1, lib.tensor([[2], [0]]), 7.0),
    "scatter_add_": lambda lib, y: y.scatter_add_(0, lib.tensor([[1, 1, 0]]), y[:1] * 1),
    "scatter_reduce_": lambda lib, y: y.scatter_reduce_(
        1, lib.tensor([[0, 0, 1], [2, 2, 2]]), y * 2, "mean", include_self=False
    ),
    "masked_scatter_": lambda lib, y: y.masked_scatter_(y > 0, y.flip(0) * 1),
    "triu_": lambda lib, y: y.triu_(1),
    "tril_": lambda lib, y: y.tril_(),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_methods_match_torch(torch: Any, name: str) -> None:
    values = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
    results = []
    for lib in (gradviz, torch):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        y = x * 1
        version = y._version
        out = INPLACE[name](lib, y)
        assert out is y
        assert y._version > version
        (y * lib.tensor(values, dtype=lib.float64)).sum().backward()
        results.append((graph_string(y.grad_fn), y.detach().numpy(), x.grad.numpy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][2], results[1][2])


# ---------------------------------------------------------------------------- errors

ERRORS: dict[str, Callable[[Any, Any], Any]] = {
    "narrow-0d": lambda lib, x: x.sum().narrow(0, 0, 1),
    "narrow-past-end": lambda lib, x: x.narrow(1, 3, 2),
    "narrow-dim": lambda lib, x: x.narrow(2, 0, 1),
    "narrow-negative-length": lambda lib, x: x.narrow(1, 0, -1),
    "narrow-start": lambda lib, x: x.narrow(1, 5, 0),
    "select-index": lambda lib, x: x.select(-1, 7),
    "select-0d": lambda lib, x: x.sum().select(0, 0),
    "movedim-repeat": lambda lib, x: x.movedim((0, 0), (1, 0)),
    "movedim-lengths": lambda lib, x: x.movedim((0, 1), (1,)),
    "movedim-dim": lambda lib, x: x.movedim(2, 0),
    "tile-negative": lambda lib, x: x.tile((-1,)),
    "repeat_interleave-negative": lambda lib, x: x.repeat_interleave(-1),
    "repeat_interleave-length": lambda lib, x: x.repeat_interleave(lib.tensor([1, 2]), dim=0),
    "repeat_interleave-float": lambda lib, x: x.repeat_interleave(lib.tensor([1.0]), dim=0),
    "repeat_interleave-2d": lambda lib, x: x.repeat_interleave(lib.tensor([[1]]), dim=0),
    "repeat_interleave-negative-tensor": lambda lib, x: x.repeat_interleave(
        lib.tensor([1, -1, 1]), dim=0
    ),
    "take-range": lambda lib, x: x.take(lib.tensor([12])),
    "take-float": lambda lib, x: x.take(lib.tensor([1.0])),
    "take-int32": lambda lib, x: x.take(lib.tensor([1], dtype=lib.int32)),
    "take_along_dim-float": lambda lib, x: x.take_along_dim(lib.tensor([[1.0]]), 1),
    "take_along_dim-ndim": lambda lib, x: x.take_along_dim(lib.tensor([1]), 1),
    "rot90-same-dims": lambda lib, x: x.rot90(1, (0, 0)),
    "rot90-one-dim": lambda lib, x: x.rot90(1, (0,)),
    "rot90-1d": lambda lib, x: x[0].rot90(),
    "diff-0d": lambda lib, x: x.sum().diff(),
    "diff-negative": lambda lib, x: x.diff(n=-1),
    "diff-prepend": lambda lib, x: x.diff(prepend=x[0]),
    "cross-length": lambda lib, x: lib.cross(x, x, dim=1),
    "cross-ndim": lambda lib, x: lib.cross(x[:, :3], x[0, :3], dim=1),
    "cross-dtype": lambda lib, x: lib.cross(x[:, :3], x[:, :3].float(), dim=1),
    "cdist-columns": lambda lib, x: lib.cdist(x, x[:, :3]),
    "cdist-1d": lambda lib, x: lib.cdist(x[0], x[0]),
    "cdist-long": lambda lib, x: lib.cdist(x.long(), x.long()),
    "cdist-negative-p": lambda lib, x: lib.cdist(x, x, p=-1),
    "index_add-float-index": lambda lib, x: x.index_add(0, lib.tensor([0.0]), x[:1]),
    "index_add-count": lambda lib, x: x.index_add(0, lib.tensor([0, 2]), x[:1]),
    "index_add-bounds": lambda lib, x: x.index_add(0, lib.tensor([0, 5]), x[:2]),
    "index_add-2d-index": lambda lib, x: x.index_add(0, lib.tensor([[0]]), x[:1]),
    "index_add-dtype": lambda lib, x: x.index_add(0, lib.tensor([0, 2]), x[:2].float()),
    "index_fill-bounds": lambda lib, x: x.index_fill(1, lib.tensor([7]), 1.0),
    "index_fill-float-index": lambda lib, x: x.index_fill(1, lib.tensor([1.0]), 1.0),
    "index_fill-int32-index": lambda lib, x: x.index_fill(1, lib.tensor([1], dtype=lib.int32), 1),
    "index_fill-vector-value": lambda lib, x: x.index_fill(1, lib.tensor([0]), x[0]),
    "index_copy-count": lambda lib, x: x.index_copy(0, lib.tensor([0, 2]), x),
    "index_copy-bounds": lambda lib, x: x.index_copy(0, lib.tensor([0, 3]), x[:2]),
    "index_copy-negative": lambda lib, x: x.index_copy(0, lib.tensor([-1]), x[:1]),
    "index_copy-dtype": lambda lib, x: x.index_copy(0, lib.tensor([0, 2]), x[:2].float()),
    "index_copy-float-index": lambda lib, x: x.index_copy(0, lib.tensor([1.0]), x[:1]),
    "scatter-float-index": lambda lib, x: x.scatter(0, lib.tensor([[0.0]]), x),
    "scatter-bounds": lambda lib, x: x.scatter(0, lib.tensor([[5]]), x),
    "scatter-negative": lambda lib, x: x.scatter(0, lib.tensor([[-1]]), 1.0),
    "scatter-index-too-big": lambda lib, x: x.scatter(0, lib.zeros(4, 1, dtype=lib.int64), x),
    "scatter-index-ndim": lambda lib, x: x.scatter(0, lib.zeros(4, dtype=lib.int64), x),
    "scatter-dtype": lambda lib, x: x.scatter(0, lib.zeros(1, 1, dtype=lib.int64), x.float()),
    "scatter-reduce-name": lambda lib, x: x.scatter(
        0, lib.zeros(1, 1, dtype=lib.int64), 1.0, reduce="max"
    ),
    "scatter_reduce-name": lambda lib, x: x.scatter_reduce(
        0, lib.zeros(1, 1, dtype=lib.int64), x, "foo"
    ),
    "scatter_reduce-dtype": lambda lib, x: x.scatter_reduce(
        0, lib.zeros(1, 1, dtype=lib.int64), x.float(), "sum"
    ),
    "meshgrid-indexing": lambda lib, x: lib.meshgrid(x[0], x[0], indexing="ab"),
    "meshgrid-dtypes": lambda lib, x: lib.meshgrid(x[0], x[0].float(), indexing="ij"),
    "meshgrid-empty": lambda lib, x: lib.meshgrid([], indexing="ij"),
    "broadcast_tensors": lambda lib, x: lib.broadcast_tensors(x, lib.ones(3)),
    "tensor_split-zero": lambda lib, x: x.tensor_split(0),
    "tensor_split-0d": lambda lib, x: x.sum().tensor_split(1),
    "tensor_split-float": lambda lib, x: x.tensor_split(lib.tensor([1.0])),
    "tensor_split-2d": lambda lib, x: x.tensor_split(lib.tensor([[1]])),
    "hsplit-divisible": lambda lib, x: x.hsplit(3),
    "hsplit-0d": lambda lib, x: x.sum().hsplit(1),
    "vsplit-1d": lambda lib, x: x[0].vsplit(1),
    "vsplit-divisible": lambda lib, x: x.vsplit(2),
    "dsplit-2d": lambda lib, x: x.dsplit(1),
    "flipud-0d": lambda lib, x: lib.flipud(x.sum()),
    "fliplr-1d": lambda lib, x: lib.fliplr(x[0]),
    "column_stack-empty": lambda lib, x: lib.column_stack([]),
    "dstack-empty": lambda lib, x: lib.dstack([]),
    "block_diag-3d": lambda lib, x: lib.block_diag(x[None]),
    "cartesian_prod-2d": lambda lib, x: lib.cartesian_prod(x, x[0]),
    "combinations-2d": lambda lib, x: lib.combinations(x),
    "combinations-negative": lambda lib, x: lib.combinations(x[0], -1),
    "masked_scatter-dtype": lambda lib, x: x.masked_scatter(x > 0, x.float()),
    "masked_scatter-short": lambda lib, x: x.masked_scatter(x > -100, x[0]),
    "masked_scatter-mask": lambda lib, x: x.masked_scatter(x, x),
    "triu_-1d": lambda lib, x: (x[0] * 1).triu_(),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(torch: Any, name: str) -> None:
    values = np.arange(12.0).reshape(3, 4) - 5.5
    caught = []
    for lib in (gradviz, torch):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        with pytest.raises(Exception) as info:
            ERRORS[name](lib, x)
        caught.append(info.value)
    ours, theirs = caught
    assert type(ours) is type(theirs), f"{type(ours).__name__}: {ours}"
    assert str(ours) == str(theirs).split(" (Triggered internally")[0]


def test_meshgrid_error_for_a_matrix() -> None:
    x = gradviz.ones(2, 2)
    with pytest.raises(RuntimeError, match=r"Expected 0D or 1D tensor .* shape \[2, 2\]"):
        gradviz.meshgrid(x, x, indexing="ij")


# ---------------------------------------------------------------------------- warnings


def test_meshgrid_without_indexing_warns_as_torch() -> None:
    x = gradviz.arange(3.0)
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        gx, gy = gradviz.meshgrid(x, x)
    np.testing.assert_array_equal(
        gx.numpy(), np.meshgrid(np.arange(3.0), np.arange(3.0), indexing="ij")[0]
    )


def test_cross_without_dim_warns_and_takes_the_first_dim_of_size_3(torch: Any) -> None:
    values = np.arange(12.0).reshape(3, 4) % 5
    other = np.arange(12.0).reshape(3, 4)[::-1].copy()
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg"):
        ours = gradviz.cross(_f64(values), _f64(other))
    with pytest.warns(UserWarning):
        theirs = torch.cross(torch.tensor(values), torch.tensor(other))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="no dimension of size 3"):
        gradviz.cross(gradviz.ones(2, 2), gradviz.ones(2, 2))


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_has_no_derivative_as_in_torch(torch: Any, reduce: str) -> None:
    values = np.linspace(0.5, 2, 12).reshape(3, 4)
    index = [[0, 1, 2, 0], [0, 0, 0, 0]]
    results = []
    for lib in (gradviz, torch):
        x, src = (lib.tensor(values, dtype=lib.float64, requires_grad=True) for _ in range(2))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            out = x.scatter(0, lib.tensor(index), src, reduce=reduce)
        if lib is gradviz:  # torch warns once per process
            assert "The reduce argument of torch.scatter with Tensor src" in str(seen[0].message)
        assert out.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
            out.sum().backward()
        scalar = x.scatter(0, lib.tensor(index), 1.5, reduce=reduce)
        results.append((out.detach().numpy(), scalar.detach().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])


# ---------------------------------------------------------------------------- values vs torch


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod", "mean", "sum"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_and_zeros_match_torch(
    torch: Any, reduce: str, include_self: bool
) -> None:
    base = [[1.0, 0.0, 2.0], [0.5, 3.0, 0.0]]
    src = [[1.0, 0.0, 2.0, 2.0], [0.0, 0.0, 3.0, -1.0]]
    index = [[0, 0, 2, 2], [1, 1, 1, 0]]
    results = []
    for lib in (gradviz, torch):
        a = lib.tensor(base, dtype=lib.float64, requires_grad=True)
        s = lib.tensor(src, dtype=lib.float64, requires_grad=True)
        out = a.scatter_reduce(1, lib.tensor(index), s, reduce, include_self=include_self)
        seed = lib.tensor([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]], dtype=lib.float64)
        (out * seed).sum().backward()
        results.append([out.detach().numpy(), a.grad.numpy(), s.grad.numpy()])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs)


def test_scatter_reduce_on_integers_matches_torch(torch: Any) -> None:
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        outs = []
        for lib in (gradviz, torch):
            a = lib.tensor([1, 2, 3])
            out = a.scatter_reduce(0, lib.tensor([0, 0, 2]), lib.tensor([4, 5, -7]), reduce)
            outs.append(out.numpy())
        np.testing.assert_array_equal(outs[0], outs[1])


def test_cdist_of_many_rows_matches_torch_values(torch: Any) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 3)), rng.normal(size=(27, 3))
    ours = gradviz.cdist(_f64(a), _f64(b))
    theirs = torch.cdist(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)
    assert ours.grad_fn is None


def test_cdist_gradient_at_zero_distance_is_zero(torch: Any) -> None:
    grads = []
    for lib in (gradviz, torch):
        x = lib.tensor([[1.0, 2.0], [0.0, 0.0]], dtype=lib.float64, requires_grad=True)
        lib.cdist(x, x.detach()).sum().backward()
        grads.append(x.grad.numpy())
    assert np.isfinite(grads[0]).all()
    np.testing.assert_allclose(grads[0], grads[1])


def test_block_diag_promotes_dtypes_and_handles_no_input(torch: Any) -> None:
    ours = gradviz.block_diag(gradviz.tensor([[1, 2]]), _f64([3.0]))
    theirs = torch.block_diag(torch.tensor([[1, 2]]), torch.tensor([3.0], dtype=torch.float64))
    assert ours.dtype.name == "float64" and str(theirs.dtype) == "torch.float64"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert tuple(gradviz.block_diag().shape) == tuple(torch.block_diag().shape) == (1, 0)


def test_combinations_edge_sizes_match_torch(torch: Any) -> None:
    for r, with_replacement in ((0, False), (5, False), (1, True), (2, True)):
        ours = gradviz.combinations(gradviz.arange(3.0), r, with_replacement)
        theirs = torch.combinations(torch.arange(3.0), r, with_replacement)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_repeat_interleave_of_counts_alone_matches_torch(torch: Any) -> None:
    ours = gradviz.repeat_interleave(gradviz.tensor([2, 0, 3]))
    theirs = torch.repeat_interleave(torch.tensor([2, 0, 3]))
    assert ours.dtype.name == "int64"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="allocated size does not match required size"):
        gradviz.repeat_interleave(gradviz.ones(3), 2, output_size=5)


def test_diff_of_booleans_is_xor(torch: Any) -> None:
    values = [True, False, False, True]
    ours = gradviz.diff(gradviz.tensor(values))
    theirs = torch.diff(torch.tensor(values))
    assert ours.dtype.name == "bool"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_scatter_gradient_for_a_source_larger_than_the_index() -> None:
    # PyTorch raises "invalid gradient" here; gradviz gives the source zeros where no
    # index reads it (the correct gradient).
    x = _f64(np.zeros((2, 3)), grad=True)
    src = _f64(np.ones((2, 3)), grad=True)
    x.scatter(0, gradviz.tensor([[1, 0]]), src).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def test_rot90_result_owns_its_data() -> None:
    x = gradviz.arange(6.0).reshape(2, 3)
    y = gradviz.rot90(x)
    x.add_(100)
    np.testing.assert_array_equal(y.numpy(), np.rot90(np.arange(6.0).reshape(2, 3)))


def test_double_backward_graph_of_scatter_reduce_prod(torch: Any) -> None:
    grads = []
    for lib in (gradviz, torch):
        a = lib.tensor([1.5, 2.0, -1.0], dtype=lib.float64, requires_grad=True)
        s = lib.tensor([0.5, 3.0, 2.0], dtype=lib.float64, requires_grad=True)
        out = a.scatter_reduce(0, lib.tensor([0, 0, 2]), s, "prod")
        (ga, gs) = lib.autograd.grad(out.sum(), (a, s), create_graph=True)
        second = lib.autograd.grad((ga * gs).sum() + gs.sum(), (a, s))
        grads.append([t.detach().numpy() for t in (ga, gs, *second)])
    for ours, theirs in zip(*grads, strict=True):
        np.testing.assert_allclose(ours, theirs)


# ---------------------------------------------------------------------------- properties

_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    elements=st.floats(-10, 10),
)


@settings(deadline=None, max_examples=40)
@given(_arrays, st.lists(st.integers(0, 3), min_size=0, max_size=4))
def test_tile_matches_numpy(values: np.ndarray, reps: list[int]) -> None:
    out = gradviz.tile(_f64(values), tuple(reps))
    np.testing.assert_array_equal(out.numpy(), np.tile(values, tuple(reps)))


@settings(deadline=None, max_examples=40)
@given(_arrays, st.integers(0, 3), st.data())
def test_repeat_interleave_matches_numpy(values: np.ndarray, times: int, data: Any) -> None:
    dim = data.draw(st.integers(-values.ndim, values.ndim - 1))
    ours = gradviz.repeat_interleave(_f64(values), times, dim=dim)
    np.testing.assert_array_equal(ours.numpy(), np.repeat(values, times, axis=dim))
    counts = data.draw(
        st.lists(st.integers(0, 3), min_size=values.shape[dim], max_size=values.shape[dim])
    )
    ours = _f64(values).repeat_interleave(gradviz.tensor(counts), dim=dim)
    np.testing.assert_array_equal(ours.numpy(), np.repeat(values, counts, axis=dim))
    flat = gradviz.repeat_interleave(_f64(values), times)
    np.testing.assert_array_equal(flat.numpy(), np.repeat(values, times))


@settings(deadline=None, max_examples=40)
@given(_arrays, st.integers(1, 5), st.data())
def test_tensor_split_matches_numpy_array_split(values: np.ndarray, n: int, data: Any) -> None:
    dim = data.draw(st.integers(0, values.ndim - 1))
    ours = gradviz.tensor_split(_f64(values), n, dim)
    theirs = np.array_split(values, n, axis=dim)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(o.numpy(), t)


@settings(deadline=None, max_examples=40)
@given(_arrays, st.integers(0, 4), st.integers(-4, 7))
def test_diff_rot90_kron_match_numpy(values: np.ndarray, n: int, k: int) -> None:
    x = _f64(values)
    np.testing.assert_allclose(gradviz.diff(x, n).numpy(), np.diff(values, n))
    if values.ndim >= 2:
        np.testing.assert_array_equal(gradviz.rot90(x, k).numpy(), np.rot90(values, k))
    other = values[..., :2] * 0.5
    np.testing.assert_allclose(gradviz.kron(x, _f64(other)).numpy(), np.kron(values, other))
