"""The margin, embedding, NLL and triplet losses and ``rms_norm``, compared with PyTorch.

Every case runs the same call on the same float64 inputs in gradviz and in torch, for each
reduction, and compares values, input gradients and the output node's name (three losses
are fused kernels in PyTorch and compositions here: the differences are listed in
``FUSED_IN_TORCH``); ``gradcheck`` checks the gradients numerically. Modules compare their
reprs and outputs with torch's; error cases compare exception type and message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.autograd import gradcheck
from gradviz.nn import functional_losses as FL  # noqa: N812
from gradviz.nn.modules import loss_more
from gradviz.nn.modules.rmsnorm import RMSNorm

REDUCTIONS = ("none", "mean", "sum")
RNG_SEED = 20261123
TOL = {"rtol": 1e-10, "atol": 1e-12}

# loss -> (torch's output node, gradviz's output node) with reduction 'none'; with 'mean'
# and 'sum' gradviz's node is MeanBackward0/SumBackward0 and torch's stays the fused one.
FUSED_IN_TORCH = {
    "soft_margin_loss": ("SoftMarginLossBackward0", "Log1PBackward0"),
    "multi_margin_loss": ("MultiMarginLossBackward0", "DivBackward0"),
    "multilabel_margin_loss": ("MultilabelMarginLossBackward0", "DivBackward0"),
}


def _sign(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return np.where(rng.standard_normal(shape) > 0, 1.0, -1.0)


class Case:
    """One loss call: ``fn(*tensors, **kwargs)``; ``grads[i]`` says which inputs need grad."""

    def __init__(
        self,
        id: str,  # noqa: A002
        fn: str,
        make: Callable[[np.random.Generator], list[np.ndarray]],
        grads: tuple[bool, ...],
        **kwargs: Any,
    ) -> None:
        self.id = id
        self.fn = fn
        self.make = make
        self.grads = grads
        self.kwargs = kwargs

    def arrays(self) -> list[np.ndarray]:
        """Return the case's inputs, seeded."""
        return self.make(np.random.default_rng(RNG_SEED))


def _mlm_target(rng: np.random.Generator) -> list[np.ndarray]:
    target = np.array(
        [[3, 0, -1, 1, 2], [0, 4, 2, 2, -1], [1, 2, 3, 4, 0], [-1, 0, 0, 0, 0]], dtype=np.int64
    )
    return [rng.standard_normal((4, 5)), target]


CASES = [
    Case(
        "margin_ranking",
        "margin_ranking_loss",
        lambda r: [r.standard_normal(6), r.standard_normal(6), _sign(r, 6)],
        (True, True, False),
        margin=0.3,
    ),
    Case(
        "margin_ranking_default",
        "margin_ranking_loss",
        lambda r: [r.standard_normal((2, 3)), r.standard_normal((2, 3)), _sign(r, 2, 3)],
        (True, True, False),
    ),
    Case(
        "hinge_embedding",
        "hinge_embedding_loss",
        lambda r: [r.standard_normal((4, 5)), _sign(r, 4, 5)],
        (True, False),
        margin=0.7,
    ),
    Case(
        "hinge_embedding_default",
        "hinge_embedding_loss",
        lambda r: [r.standard_normal(7), _sign(r, 7)],
        (True, False),
    ),
    Case(
        "cosine_embedding",
        "cosine_embedding_loss",
        lambda r: [r.standard_normal((4, 5)), r.standard_normal((4, 5)), _sign(r, 4)],
        (True, True, False),
        margin=-0.2,
    ),
    Case(
        "cosine_embedding_0d_target",
        "cosine_embedding_loss",
        lambda r: [r.standard_normal(5), r.standard_normal(5), np.array(-1.0)],
        (True, True, False),
        margin=-0.5,
    ),
    Case(
        "soft_margin",
        "soft_margin_loss",
        lambda r: [r.standard_normal((4, 5)), _sign(r, 4, 5)],
        (True, False),
    ),
    Case(
        "multilabel_soft_margin",
        "multilabel_soft_margin_loss",
        lambda r: [r.standard_normal((4, 5)), (r.random((4, 5)) > 0.5).astype(np.float64)],
        (True, False),
    ),
    Case(
        "multilabel_soft_margin_weight",
        "multilabel_soft_margin_loss",
        lambda r: [r.standard_normal((4, 5)), r.random((4, 5)), r.random(5) + 0.5],
        (True, True, True),
    ),
    Case(
        "multi_margin",
        "multi_margin_loss",
        lambda r: [r.standard_normal((4, 5)), np.array([0, 3, 2, 4])],
        (True, False),
    ),
    Case(
        "multi_margin_p2_weight",
        "multi_margin_loss",
        lambda r: [r.standard_normal((4, 5)), np.array([1, 1, 0, 4]), r.random(5) + 0.5],
        (True, False, False),
        p=2,
        margin=0.8,
    ),
    Case(
        "multi_margin_1d",
        "multi_margin_loss",
        lambda r: [r.standard_normal(5), np.array([2])],
        (True, False),
    ),
    Case(
        "multi_margin_0d_target",
        "multi_margin_loss",
        lambda r: [r.standard_normal(5), np.array(4)],
        (True, False),
        margin=2.0,
    ),
    Case("multilabel_margin", "multilabel_margin_loss", _mlm_target, (True, False)),
    Case(
        "multilabel_margin_1d",
        "multilabel_margin_loss",
        lambda r: [r.standard_normal(4), np.array([2, 0, -1, 3])],
        (True, False),
    ),
    Case(
        "poisson_nll",
        "poisson_nll_loss",
        lambda r: [r.standard_normal((4, 5)), r.poisson(2.0, (4, 5)).astype(np.float64)],
        (True, False),
    ),
    Case(
        "poisson_nll_rates_full",
        "poisson_nll_loss",
        lambda r: [r.random((4, 5)) + 0.2, r.poisson(3.0, (4, 5)).astype(np.float64) + 0.5],
        (True, True),
        log_input=False,
        full=True,
    ),
    Case(
        "gaussian_nll",
        "gaussian_nll_loss",
        lambda r: [r.standard_normal((4, 5)), r.standard_normal((4, 5)), r.random((4, 5)) + 0.1],
        (True, True, True),
    ),
    Case(
        "gaussian_nll_homoscedastic_full",
        "gaussian_nll_loss",
        lambda r: [r.standard_normal((4, 3)), r.standard_normal((4, 3)), r.random(4) + 0.1],
        (True, True, True),
        full=True,
    ),
    Case(
        "gaussian_nll_one_mismatch",
        "gaussian_nll_loss",
        lambda r: [r.standard_normal((4, 3)), r.standard_normal((4, 3)), r.random((4, 1)) + 0.1],
        (True, False, True),
        eps=0.05,
    ),
    Case(
        "triplet_margin",
        "triplet_margin_loss",
        lambda r: [r.standard_normal((4, 5)) for _ in range(3)],
        (True, True, True),
    ),
    Case(
        "triplet_margin_swap_p1",
        "triplet_margin_loss",
        lambda r: [r.standard_normal((4, 5)) for _ in range(3)],
        (True, True, True),
        margin=2.0,
        p=1.0,
        swap=True,
    ),
]


def _tensors(lib: Any, case: Case) -> list[Any]:
    out = []
    for array, grad in zip(case.arrays(), case.grads, strict=True):
        if lib is gradviz:
            out.append(gradviz.tensor(array, requires_grad=grad))
        else:
            t = lib.from_numpy(np.array(array))
            out.append(t.requires_grad_(grad))
    return out


def _call(lib: Any, case: Case, tensors: list[Any], reduction: str) -> Any:
    fn = getattr(FL if lib is gradviz else lib.nn.functional, case.fn)
    if case.fn == "multi_margin_loss" and len(tensors) == 3:
        return fn(tensors[0], tensors[1], weight=tensors[2], reduction=reduction, **case.kwargs)
    return fn(*tensors, reduction=reduction, **case.kwargs)


def _expected_node(case: Case, torch_name: str, reduction: str) -> str:
    if case.fn not in FUSED_IN_TORCH:
        return torch_name
    fused, composed = FUSED_IN_TORCH[case.fn]
    assert torch_name == fused
    return {"none": composed, "mean": "MeanBackward0", "sum": "SumBackward0"}[reduction]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_loss_matches_torch(torch: Any, case: Case, reduction: str) -> None:
    xs = _tensors(gradviz, case)
    txs = _tensors(torch, case)
    out = _call(gradviz, case, xs, reduction)
    ref = _call(torch, case, txs, reduction)
    assert tuple(out.shape) == tuple(ref.shape)
    assert out.dtype.name == "float64"
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL)
    assert out.grad_fn.name() == _expected_node(case, ref.grad_fn.name(), reduction)
    g = np.random.default_rng(7).standard_normal(tuple(ref.shape))
    out.backward(gradviz.tensor(g))
    ref.backward(torch.from_numpy(g))
    for x, tx, grad in zip(xs, txs, case.grads, strict=True):
        if grad:
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_loss_gradcheck(case: Case, reduction: str) -> None:
    tensors = _tensors(gradviz, case)
    diff = [t for t, g in zip(tensors, case.grads, strict=True) if g]

    def fn(*args: Any) -> Any:
        it = iter(args)
        merged = [next(it) if g else t for t, g in zip(tensors, case.grads, strict=True)]
        return _call(gradviz, case, merged, reduction)

    assert gradcheck(fn, tuple(diff))


def test_poisson_full_masks_small_targets(torch: Any) -> None:
    """The Stirling term is dropped where ``target <= 1`` (target 0 gives no NaN)."""
    x = np.array([0.5, -0.2, 1.5, 0.1])
    target = np.array([0.0, 1.0, 2.0, 5.0])
    out = FL.poisson_nll_loss(gradviz.tensor(x), gradviz.tensor(target), full=True)
    ref = torch.nn.functional.poisson_nll_loss(
        torch.from_numpy(x), torch.from_numpy(target), full=True
    )
    np.testing.assert_allclose(out.numpy(), ref.numpy(), **TOL)
    assert out.grad_fn is None


def test_gaussian_float_var_and_clamp(torch: Any) -> None:
    """A float variance, and variances below ``eps`` clamped without a gradient."""
    rng = np.random.default_rng(3)
    mu, y = rng.standard_normal(6), rng.standard_normal(6)
    var = np.array([1e-9, 0.5, 2.0, 1e-8, 0.3, 1.0])
    x, tx = gradviz.tensor(mu, requires_grad=True), torch.tensor(mu, requires_grad=True)
    v, tv = gradviz.tensor(var, requires_grad=True), torch.tensor(var, requires_grad=True)
    out = FL.gaussian_nll_loss(x, gradviz.tensor(y), v, reduction="sum")
    ref = torch.nn.functional.gaussian_nll_loss(tx, torch.from_numpy(y), tv, reduction="sum")
    out.backward()
    ref.backward()
    np.testing.assert_allclose(out.item(), ref.item(), **TOL)
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), **TOL)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)
    out = FL.gaussian_nll_loss(gradviz.tensor(mu), gradviz.tensor(y), 0.5, full=True)
    ref = torch.nn.functional.gaussian_nll_loss(
        torch.from_numpy(mu), torch.from_numpy(y), 0.5, full=True
    )
    np.testing.assert_allclose(out.item(), ref.item(), **TOL)


def test_legacy_reduction_flags_warn_like_torch(torch: Any) -> None:
    x = np.array([0.3, -1.0, 2.0])
    t = np.array([1.0, -1.0, -1.0])
    message = "size_average and reduce args will be deprecated, please use reduction='sum'"
    with pytest.warns(UserWarning, match=message):
        out = FL.soft_margin_loss(gradviz.tensor(x), gradviz.tensor(t), size_average=False)
    with pytest.warns(UserWarning, match=message):
        ref = torch.nn.functional.soft_margin_loss(
            torch.from_numpy(x), torch.from_numpy(t), size_average=False
        )
    np.testing.assert_allclose(out.item(), ref.item(), **TOL)
    with pytest.warns(UserWarning, match="reduction='none'"):
        out = loss_more.HingeEmbeddingLoss(reduce=False)(gradviz.tensor(x), gradviz.tensor(t))
    assert tuple(out.shape) == (3,)


# ---------------------------------------------------------------------------- rms_norm

RMS_CASES = [
    ((3, 4), (4,), True, None),
    ((2, 3, 4), (3, 4), True, 1e-3),
    ((5,), (5,), False, None),
    ((2, 3), (3,), False, 0.5),
]


@pytest.mark.parametrize(("shape", "normalized", "affine", "eps"), RMS_CASES)
def test_rms_norm_matches_torch(
    torch: Any, shape: tuple[int, ...], normalized: tuple[int, ...], affine: bool, eps: Any
) -> None:
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal(shape)
    w = rng.standard_normal(normalized) if affine else None
    xs = [gradviz.tensor(x, requires_grad=True)]
    txs = [torch.tensor(x, requires_grad=True)]
    if w is not None:
        xs.append(gradviz.tensor(w, requires_grad=True))
        txs.append(torch.tensor(w, requires_grad=True))
    out = FL.rms_norm(xs[0], normalized, xs[1] if affine else None, eps)
    ref = torch.nn.functional.rms_norm(txs[0], list(normalized), txs[1] if affine else None, eps)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL)
    assert out.grad_fn.name() == ref.grad_fn.name() == "MulBackward0"
    g = rng.standard_normal(shape)
    out.backward(gradviz.tensor(g))
    ref.backward(torch.from_numpy(g))
    for a, b in zip(xs, txs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)
    assert gradcheck(
        lambda *args: FL.rms_norm(args[0], normalized, args[1] if affine else None, eps),
        tuple(gradviz.tensor(a.detach().numpy(), requires_grad=True) for a in xs),
    )


def test_rms_norm_default_eps_float32(torch: Any) -> None:
    """``eps=None`` is the dtype's machine epsilon: visible for a tiny float32 input."""
    x = np.full((2, 3), 1e-4, dtype=np.float32)
    out = FL.rms_norm(gradviz.tensor(x), (3,))
    ref = torch.nn.functional.rms_norm(torch.from_numpy(x), [3])
    assert out.dtype == gradviz.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


def test_rmsnorm_module(torch: Any) -> None:
    m, tm = RMSNorm([3, 4], eps=1e-4), torch.nn.RMSNorm([3, 4], eps=1e-4)
    assert repr(m) == repr(tm) == "RMSNorm((3, 4), eps=0.0001, elementwise_affine=True)"
    assert repr(RMSNorm(5)) == repr(torch.nn.RMSNorm(5))
    plain, tplain = (
        RMSNorm(4, elementwise_affine=False),
        torch.nn.RMSNorm(4, elementwise_affine=False),
    )
    assert repr(plain) == repr(tplain)
    assert plain.weight is None
    assert list(dict(m.named_parameters())) == ["weight"]
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones((3, 4)))
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        m(gradviz.tensor(x)).detach().numpy(), tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        plain(gradviz.tensor(x)).numpy(), tplain(torch.from_numpy(x)).numpy(), rtol=1e-6
    )


# ---------------------------------------------------------------------------- modules

MODULES = [
    ("MarginRankingLoss", {"margin": 0.3, "reduction": "sum"}, "margin_ranking"),
    ("HingeEmbeddingLoss", {"margin": 0.7}, "hinge_embedding"),
    ("CosineEmbeddingLoss", {"margin": -0.2, "reduction": "none"}, "cosine_embedding"),
    ("SoftMarginLoss", {"reduction": "sum"}, "soft_margin"),
    ("MultiLabelSoftMarginLoss", {}, "multilabel_soft_margin"),
    ("MultiMarginLoss", {"p": 2, "margin": 0.8}, "multi_margin"),
    ("MultiLabelMarginLoss", {"reduction": "none"}, "multilabel_margin"),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, "poisson_nll_rates_full"),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, "gaussian_nll"),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True}, "triplet_margin"),
]
CASE_BY_ID = {c.id: c for c in CASES}


@pytest.mark.parametrize(("name", "kwargs", "case_id"), MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(torch: Any, name: str, kwargs: dict[str, Any], case_id: str) -> None:
    module = getattr(loss_more, name)(**kwargs)
    tmodule = getattr(torch.nn, name)(**kwargs)
    assert repr(module) == repr(tmodule) == f"{name}()"
    assert repr(getattr(loss_more, name)()) == repr(getattr(torch.nn, name)())
    case = CASE_BY_ID[case_id]
    out = module(*_tensors(gradviz, case))
    ref = tmodule(*_tensors(torch, case))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL)
    for attr, value in kwargs.items():
        assert getattr(module, attr) == getattr(tmodule, attr) == value


def test_weighted_modules_register_buffers(torch: Any) -> None:
    w = np.array([1.0, 2.0, 0.5])
    for name in ("MultiMarginLoss", "MultiLabelSoftMarginLoss"):
        module = getattr(loss_more, name)(weight=gradviz.tensor(w))
        tmodule = getattr(torch.nn, name)(weight=torch.from_numpy(w))
        assert list(module.state_dict()) == list(tmodule.state_dict()) == ["weight"]
        assert repr(module) == repr(tmodule)


# ---------------------------------------------------------------------------- errors


def _raises_like_torch(torch: Any, call: Callable[[Any, Any], Any], *arrays: Any) -> None:
    """Run ``call(lib, fn_namespace, *tensors)`` in both libraries; compare the exceptions."""
    with pytest.raises(Exception) as expected:
        call(torch.nn.functional, *[torch.from_numpy(np.array(a)) for a in arrays])
    with pytest.raises(type(expected.value)) as got:
        call(FL, *[gradviz.tensor(np.array(a)) for a in arrays])
    assert str(got.value) == str(expected.value)


D = np.zeros
ERRORS: list[tuple[str, Callable[..., Any], list[Any]]] = [
    (
        "margin_ranking_ndim",
        lambda f, a, b, t: f.margin_ranking_loss(a, b, t),
        [D(4), D((4, 1)), D(4)],
    ),
    ("margin_ranking_shape", lambda f, a, b, t: f.margin_ranking_loss(a, b, t), [D(4), D(3), D(4)]),
    (
        "margin_ranking_reduction",
        lambda f, a, b, t: f.margin_ranking_loss(a, b, t, reduction="bad"),
        [D(4), D(4), D(4)],
    ),
    ("hinge_shape", lambda f, x, t: f.hinge_embedding_loss(x, t), [D((4, 5)), D((3, 5))]),
    (
        "hinge_reduction",
        lambda f, x, t: f.hinge_embedding_loss(x, t, reduction="avg"),
        [D(3), D(3)],
    ),
    (
        "cosine_target_ndim",
        lambda f, a, b, t: f.cosine_embedding_loss(a, b, t),
        [D((4, 5)), D((4, 5)), D((4, 1))],
    ),
    (
        "cosine_1d_target",
        lambda f, a, b, t: f.cosine_embedding_loss(a, b, t),
        [D((4, 5, 3)), D((4, 5, 3)), D(4)],
    ),
    (
        "cosine_0d_target",
        lambda f, a, b, t: f.cosine_embedding_loss(a, b, t),
        [D((4, 5)), D((4, 5)), np.array(1.0)],
    ),
    ("soft_margin_shape", lambda f, x, t: f.soft_margin_loss(x, t), [D((4, 5)), D((3, 5))]),
    (
        "soft_margin_reduction",
        lambda f, x, t: f.soft_margin_loss(x, t, reduction="bad"),
        [D(2), D(2)],
    ),
    (
        "multilabel_soft_margin_reduction",
        lambda f, x, t: f.multilabel_soft_margin_loss(x, t, reduction="bad"),
        [D((4, 5)), D((4, 5))],
    ),
    (
        "multi_margin_p",
        lambda f, x, t: f.multi_margin_loss(x, t, p=3),
        [D((4, 5)), np.arange(4)],
    ),
    (
        "multi_margin_weight_ndim",
        lambda f, x, t, w: f.multi_margin_loss(x, t, weight=w),
        [D((4, 5)), np.arange(4), D((5, 1))],
    ),
    (
        "multi_margin_weight_size",
        lambda f, x, t, w: f.multi_margin_loss(x, t, weight=w),
        [D((4, 5)), np.arange(4), D(4)],
    ),
    (
        "multi_margin_target_size",
        lambda f, x, t: f.multi_margin_loss(x, t),
        [D((4, 5)), np.arange(3)],
    ),
    (
        "multi_margin_out_of_range",
        lambda f, x, t: f.multi_margin_loss(x, t),
        [D((4, 5)), np.array([0, 1, 2, 5])],
    ),
    (
        "multi_margin_negative_target",
        lambda f, x, t: f.multi_margin_loss(x, t),
        [D((4, 5)), np.array([0, -1, 2, 3])],
    ),
    ("multi_margin_3d", lambda f, x, t: f.multi_margin_loss(x, t), [D((2, 3, 4)), np.arange(2)]),
    ("multi_margin_empty", lambda f, x, t: f.multi_margin_loss(x, t), [D((2, 0)), np.arange(2)]),
    ("multi_margin_float_target", lambda f, x, t: f.multi_margin_loss(x, t), [D((4, 5)), D(4)]),
    (
        "multilabel_margin_target_shape",
        lambda f, x, t: f.multilabel_margin_loss(x, t),
        [D((4, 5)), np.zeros((3, 5), dtype=np.int64)],
    ),
    (
        "multilabel_margin_out_of_range",
        lambda f, x, t: f.multilabel_margin_loss(x, t),
        [D((4, 5)), np.full((4, 5), 7)],
    ),
    (
        "multilabel_margin_below_minus_one",
        lambda f, x, t: f.multilabel_margin_loss(x, t),
        [D((2, 4)), np.array([[0, -2, 1, 1], [1, -1, 0, 0]])],
    ),
    (
        "multilabel_margin_out_of_range_after_end",
        lambda f, x, t: f.multilabel_margin_loss(x, t),
        [D((2, 4)), np.array([[0, -1, 7, 1], [1, -1, 0, 0]])],
    ),
    (
        "multilabel_margin_3d",
        lambda f, x, t: f.multilabel_margin_loss(x, t),
        [D((2, 3, 4)), np.zeros((2, 3, 4), dtype=np.int64)],
    ),
    (
        "multilabel_margin_float_target",
        lambda f, x, t: f.multilabel_margin_loss(x, t),
        [D((4, 5)), D((4, 5))],
    ),
    (
        "poisson_reduction",
        lambda f, x, t: f.poisson_nll_loss(x, t, reduction="bad"),
        [D((4, 5)), D((4, 5))],
    ),
    ("poisson_shape", lambda f, x, t: f.poisson_nll_loss(x, t), [D((4, 5)), D((3, 5))]),
    (
        "gaussian_negative_var",
        lambda f, x, t, v: f.gaussian_nll_loss(x, t, v),
        [D((4, 5)), D((4, 5)), -np.ones((4, 5))],
    ),
    (
        "gaussian_negative_float_var",
        lambda f, x, t: f.gaussian_nll_loss(x, t, -1.0),
        [D((4, 5)), D((4, 5))],
    ),
    (
        "gaussian_var_size",
        lambda f, x, t, v: f.gaussian_nll_loss(x, t, v),
        [D((4, 5)), D((4, 5)), np.ones(3)],
    ),
    (
        "gaussian_var_two_mismatches",
        lambda f, x, t, v: f.gaussian_nll_loss(x, t, v),
        [D((4, 5)), D((4, 5)), np.ones((1, 1))],
    ),
    (
        "gaussian_reduction",
        lambda f, x, t, v: f.gaussian_nll_loss(x, t, v, reduction="bad"),
        [D((4, 5)), D((4, 5)), np.ones((4, 5))],
    ),
    (
        "triplet_margin_nonpositive",
        lambda f, a, p, n: f.triplet_margin_loss(a, p, n, margin=0),
        [D((4, 5)), D((4, 5)), D((4, 5))],
    ),
    (
        "triplet_ndim",
        lambda f, a, p, n: f.triplet_margin_loss(a, p, n),
        [D((4, 5)), D((4, 5)), D(5)],
    ),
    (
        "triplet_reduction",
        lambda f, a, p, n: f.triplet_margin_loss(a, p, n, reduction="bad"),
        [D((4, 5)), D((4, 5)), D((4, 5))],
    ),
    ("rms_norm_shape", lambda f, x: f.rms_norm(x, (5,)), [D((3, 4))]),
    ("rms_norm_weight", lambda f, x, w: f.rms_norm(x, (4,), weight=w), [D((3, 4)), D(3)]),
    ("rms_norm_empty_shape", lambda f, x: f.rms_norm(x, ()), [D((3, 4))]),
    ("rms_norm_shape_2d", lambda f, x: f.rms_norm(x, (2, 5)), [D((3, 4))]),
    ("rms_norm_int_shape", lambda f, x: f.rms_norm(x, 4), [D((3, 4))]),
]


@pytest.mark.parametrize(("name", "call", "arrays"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(
    torch: Any, name: str, call: Callable[..., Any], arrays: list[Any]
) -> None:
    _raises_like_torch(torch, call, *arrays)


def test_module_constructor_errors_match_torch(torch: Any) -> None:
    calls: list[Callable[[Any, Any], Any]] = [
        lambda m, w: m.MultiMarginLoss(p=3),
        lambda m, w: m.TripletMarginLoss(margin=-1.0),
        lambda m, w: m.MultiMarginLoss(weight=w),
    ]
    for call in calls:
        with pytest.raises(ValueError) as expected:
            call(torch.nn, torch.zeros(2, 2))
        with pytest.raises(ValueError) as got:
            call(loss_more, gradviz.zeros(2, 2))
        assert str(got.value) == str(expected.value)


STRICT_CALLS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("margin_ranking", lambda x, y: FL.margin_ranking_loss(x, y, y.sign())),
    ("hinge_embedding", lambda x, y: FL.hinge_embedding_loss(x, y.sign())),
    ("cosine_embedding", lambda x, y: FL.cosine_embedding_loss(x, y, y[:, 0].sign())),
    ("soft_margin", lambda x, y: FL.soft_margin_loss(x, y.sign())),
    ("multilabel_soft_margin", lambda x, y: FL.multilabel_soft_margin_loss(x, y.abs(), y[0])),
    ("poisson_nll", lambda x, y: FL.poisson_nll_loss(x, y.abs() * 3, full=True)),
    ("gaussian_nll", lambda x, y: FL.gaussian_nll_loss(x, y, y.abs())),
    ("triplet_margin", lambda x, y: FL.triplet_margin_loss(x, y, x * y, swap=True)),
    ("rms_norm", lambda x, y: FL.rms_norm(x, (5,), y[0]).sum()),
]


@pytest.mark.parametrize(("name", "call"), STRICT_CALLS, ids=[c[0] for c in STRICT_CALLS])
def test_strict_device_matches_cpu(name: str, call: Callable[[Any, Any], Any]) -> None:
    """The losses run on the strict stand-in device (no NumPy-only calls) and agree with cpu."""
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    results = []
    for device in ("cpu", "strict"):
        x = gradviz.tensor(a, device=device, requires_grad=True)
        out = call(x, gradviz.tensor(b, device=device))
        out.backward()
        assert str(out.device).startswith(device)
        results.append((out.item(), x.grad.to("cpu").numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], **TOL)
    np.testing.assert_allclose(results[0][1], results[1][1], **TOL)


def test_class_index_losses_on_strict_device() -> None:
    rng = np.random.default_rng(RNG_SEED)
    a = rng.standard_normal((4, 5))
    index = np.array([0, 3, 2, 4])
    labels = np.array([[3, 0, -1, 1, 2]] * 4)
    for fn, target in ((FL.multi_margin_loss, index), (FL.multilabel_margin_loss, labels)):
        values = []
        for device in ("cpu", "strict"):
            x = gradviz.tensor(a, device=device, requires_grad=True)
            out = fn(x, gradviz.tensor(target, device=device))
            out.backward()
            values.append((out.item(), x.grad.to("cpu").numpy()))
        np.testing.assert_allclose(values[0][0], values[1][0], **TOL)
        np.testing.assert_allclose(values[0][1], values[1][1], **TOL)
