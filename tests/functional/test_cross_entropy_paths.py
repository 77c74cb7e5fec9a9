"""cross_entropy's fast paths give PyTorch's numbers, and step aside when they must not run.

``log_softmax`` skips the shift by the maximum when every slice's maximum is moderate, and
its backward uses the one-hot shape of the gradient that ``nll_loss`` sends it. These tests
run both sides of each decision against torch 2.13 in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradviz
import gradviz.nn.functional as F  # noqa: N812
from tests.helpers.oracle import require_torch


def _both(torch: Any, logits: np.ndarray, target: np.ndarray, **kw: Any) -> None:
    x = gradviz.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, gradviz.tensor(target), **kw)
    tx = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(target), **kw)
    np.testing.assert_allclose(
        loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-12, atol=1e-12
    )
    up = np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape))
    loss.backward(gradviz.tensor(up))
    tloss.backward(torch.tensor(up))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


@settings(deadline=None, max_examples=40)
@given(
    n=st.integers(1, 6),
    c=st.integers(1, 7),
    scale=st.sampled_from([0.5, 3.0, 59.0, 61.0, 200.0, 1000.0]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    weighted=st.booleans(),
    ignore=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_matches_torch_on_both_sides_of_the_shift(
    n: int,
    c: int,
    scale: float,
    reduction: str,
    weighted: bool,
    ignore: bool,
    seed: int,
) -> None:
    torch = require_torch()
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c)) * scale
    target = rng.integers(0, c, n)
    kw: dict[str, Any] = {"reduction": reduction}
    if weighted:
        kw["weight"] = rng.uniform(0.5, 2.0, c)
    if ignore:
        kw["ignore_index"] = int(target[0])
    if weighted:
        w = kw.pop("weight")
        x = gradviz.tensor(logits, requires_grad=True)
        tx = torch.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(x, gradviz.tensor(target), weight=gradviz.tensor(w), **kw)
        tloss = torch.nn.functional.cross_entropy(
            tx, torch.tensor(target), weight=torch.tensor(w), **kw
        )
        np.testing.assert_allclose(
            loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-12, atol=1e-12, equal_nan=True
        )
        loss.sum().backward()
        tloss.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    else:
        _both(torch, logits, target, **kw)


def test_log_softmax_of_infinite_and_huge_values_matches_torch(torch: Any) -> None:
    logits = np.array([[1e4, 0.0, -1e4], [np.inf, 1.0, 2.0], [-np.inf, 0.0, 1.0]])
    got = F.log_softmax(gradviz.tensor(logits), dim=1).numpy()
    want = torch.nn.functional.log_softmax(torch.tensor(logits), dim=1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)


def test_a_log_softmax_output_used_twice_gets_the_sum_of_both_gradients(torch: Any) -> None:
    logits = np.arange(12.0).reshape(3, 4) / 7
    target = np.array([1, 0, 3])

    def run(lib: Any, fn: Any) -> np.ndarray:
        x = lib.tensor(logits, requires_grad=True)
        lsm = fn.log_softmax(x, dim=1)
        (fn.nll_loss(lsm, lib.tensor(target)) + (lsm * lsm).sum()).backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(gradviz, F), run(torch, torch.nn.functional), rtol=1e-12)


def test_a_hook_that_changes_the_gradient_in_place_is_honoured(torch: Any) -> None:
    logits = np.arange(12.0).reshape(3, 4) / 5
    target = np.array([2, 2, 0])

    def run(lib: Any, fn: Any) -> np.ndarray:
        x = lib.tensor(logits, requires_grad=True)
        lsm = fn.log_softmax(x, dim=1)
        lsm.register_hook(lambda g: g.add_(1.0))
        fn.nll_loss(lsm, lib.tensor(target)).backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(gradviz, F), run(torch, torch.nn.functional), rtol=1e-12)


def test_a_post_hook_on_nll_that_changes_its_gradient_in_place_is_honoured(torch: Any) -> None:
    logits = np.arange(8.0).reshape(2, 4) / 3
    target = np.array([3, 1])

    def run(lib: Any, fn: Any) -> np.ndarray:
        x = lib.tensor(logits, requires_grad=True)
        loss = fn.nll_loss(fn.log_softmax(x, dim=1), lib.tensor(target))
        loss.grad_fn.register_hook(lambda gin, gout: [gin[0].mul_(3.0)] and None)
        loss.backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(gradviz, F), run(torch, torch.nn.functional), rtol=1e-12)


@pytest.mark.parametrize("retain", [False, True])
def test_the_one_hot_path_is_taken_and_gives_the_dense_result(retain: bool) -> None:
    # The dense formula (g - softmax * sum(g)) on the same gradient is the reference.
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((5, 6))
    target = rng.integers(0, 6, 5)
    x = gradviz.tensor(logits, requires_grad=True)
    lsm = F.log_softmax(x, dim=1)
    loss = F.nll_loss(lsm, gradviz.tensor(target))
    node = lsm.grad_fn
    loss.backward(retain_graph=retain)
    assert "_one_hot" not in node.__dict__  # handed over and used
    g = np.zeros((5, 6))
    g[np.arange(5), target] = -1 / 5
    soft = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    want = g - soft * g.sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    if retain:  # the saved exp was not reused in place: a second backward gives the same
        loss.backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * want, rtol=1e-12)


def test_a_saved_exp_the_user_holds_is_never_overwritten() -> None:
    x = gradviz.tensor([[0.5, 1.0, 2.0]], requires_grad=True)
    loss = F.cross_entropy(x, gradviz.tensor([2]))
    held = loss.grad_fn.next_functions[0][0]._saved_exp
    before = held.tolist()
    loss.backward()
    assert held.tolist() == before


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("create_graph", [False, True])
def test_nll_loss_with_every_target_ignored_has_zero_gradient(
    torch: Any, shape: tuple[int, ...], create_graph: bool
) -> None:
    # mean over no targets is 0 / 0 = nan, but no element gets a gradient (PyTorch).
    logits = np.linspace(-1, 1, int(np.prod(shape))).reshape(shape)
    target = np.full((shape[0], *shape[2:]), 1)
    grads = []
    for lib, fn in ((gradviz, F), (torch, torch.nn.functional)):
        x = lib.tensor(logits, requires_grad=True)
        loss = fn.nll_loss(fn.log_softmax(x, dim=1), lib.tensor(target), ignore_index=1)
        assert np.isnan(loss.item())
        (grad,) = lib.autograd.grad(loss, x, create_graph=create_graph)
        grads.append(grad.detach().numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert not np.isnan(grads[0]).any()


EMPTY_SOFTMAX = [((0, 5), 1), ((3, 0), 1), ((0, 5), 0), ((0,), 0), ((2, 0, 3), -1)]


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize(("shape", "dim"), EMPTY_SOFTMAX)
def test_softmax_family_of_an_empty_tensor_is_empty_as_in_pytorch(
    torch: Any, name: str, shape: tuple[int, ...], dim: int
) -> None:
    def run(lib: Any, f: Any) -> tuple[Any, ...]:
        x = lib.zeros(shape, dtype=lib.float64, requires_grad=True)
        y = getattr(f, name)(x, dim)
        y.sum().backward()
        return y.grad_fn.name(), tuple(y.shape), tuple(x.grad.shape)

    assert run(gradviz, F) == run(torch, torch.nn.functional)


EMPTY_LOSSES = [
    ("mean", lambda f, x, t: f.cross_entropy(x, t)),
    ("sum", lambda f, x, t: f.cross_entropy(x, t, reduction="sum")),
    ("none", lambda f, x, t: f.cross_entropy(x, t, reduction="none")),
    ("smoothing", lambda f, x, t: f.cross_entropy(x, t, label_smoothing=0.1)),
    ("nll", lambda f, x, t: f.nll_loss(f.log_softmax(x, 1), t)),
]


@pytest.mark.parametrize(("label", "call"), EMPTY_LOSSES, ids=[c[0] for c in EMPTY_LOSSES])
@pytest.mark.parametrize("extra", [(), (2,), (2, 3)], ids=["2d", "3d", "4d"])
def test_losses_of_an_empty_batch_are_pytorchs(
    torch: Any, label: str, call: Any, extra: tuple[int, ...]
) -> None:
    def run(lib: Any, f: Any) -> tuple[Any, ...]:
        x = lib.zeros((0, 5, *extra), dtype=lib.float64, requires_grad=True)
        loss = call(f, x, lib.zeros((0, *extra), dtype=lib.int64))
        loss.sum().backward()
        return loss.grad_fn.name(), loss.detach().numpy(), tuple(x.grad.shape)

    got, ref = run(gradviz, F), run(torch, torch.nn.functional)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])  # nan for a mean over nothing, as in torch
    assert got[2] == ref[2]
