"""``gradviz.optim`` against ``torch.optim`` (2.13): updates, state, schedulers, errors.

Every optimizer runs several steps on the same float64 parameters in both libraries,
with gradients from the same loss, and must land on the same parameters (1e-6; in
practice they agree to rounding). Schedulers must produce the same learning rates.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import optim

GF = importlib.import_module("gradviz.nn.functional")

STEPS = 6


def _initial() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(2)]


def _loss(lib: Any, params: list[Any], step: int) -> Any:
    """A smooth non-quadratic loss whose gradients change with the parameters and the step."""
    w, b, c = params
    x = lib.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3) * (1 + 0.1 * step))
    h = lib.tanh(x @ w + b)
    return (h * h).sum() + (c * c * c).sum() * 0.1 + (w * b).sum() * 0.05


def _run(
    lib: Any, make: Callable[[list[Any]], Any], steps: int = STEPS, none_grad: bool = False
) -> tuple[list[Any], Any]:
    params = [lib.tensor(a, requires_grad=True) for a in _initial()]
    opt = make(params)
    for step in range(steps):
        opt.zero_grad()
        _loss(lib, params, step).backward()
        if none_grad and step % 2:
            params[2].grad = None
        opt.step()
    return params, opt


OPTIMIZERS: list[tuple[str, Callable[[Any], Callable[[list[Any]], Any]]]] = [
    ("sgd", lambda o: lambda p: o.SGD(p, lr=0.1)),
    ("sgd momentum", lambda o: lambda p: o.SGD(p, lr=0.1, momentum=0.9)),
    ("sgd dampening", lambda o: lambda p: o.SGD(p, lr=0.05, momentum=0.8, dampening=0.3)),
    (
        "sgd nesterov wd",
        lambda o: lambda p: o.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    ("sgd maximize", lambda o: lambda p: o.SGD(p, lr=0.01, momentum=0.5, maximize=True)),
    ("adam", lambda o: lambda p: o.Adam(p, lr=0.05)),
    (
        "adam wd amsgrad",
        lambda o: lambda p: o.Adam(p, lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
    ),
    ("adam maximize eps", lambda o: lambda p: o.Adam(p, lr=0.01, eps=1e-3, maximize=True)),
    ("adam large beta1", lambda o: lambda p: o.Adam(p, lr=0.05, betas=(0.3, 0.99))),
    ("adamw", lambda o: lambda p: o.AdamW(p, lr=0.05)),
    ("adamw amsgrad", lambda o: lambda p: o.AdamW(p, lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("rmsprop", lambda o: lambda p: o.RMSprop(p, lr=0.01)),
    (
        "rmsprop centered momentum wd",
        lambda o: (
            lambda p: o.RMSprop(
                p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1
            )
        ),
    ),
    ("rmsprop small alpha", lambda o: lambda p: o.RMSprop(p, lr=0.01, alpha=0.3, centered=True)),
    ("adagrad", lambda o: lambda p: o.Adagrad(p, lr=0.1)),
    (
        "adagrad decay",
        lambda o: (
            lambda p: o.Adagrad(
                p,
                lr=0.1,
                lr_decay=0.1,
                weight_decay=0.05,
                initial_accumulator_value=0.2,
                maximize=True,
            )
        ),
    ),
    ("adamax", lambda o: lambda p: o.Adamax(p, lr=0.05)),
    (
        "adamax wd maximize",
        lambda o: lambda p: o.Adamax(p, lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, maximize=True),
    ),
    ("nadam", lambda o: lambda p: o.NAdam(p, lr=0.05)),
    (
        "nadam wd decay",
        lambda o: lambda p: o.NAdam(p, lr=0.05, weight_decay=0.1, momentum_decay=0.01),
    ),
    (
        "nadam decoupled",
        lambda o: lambda p: o.NAdam(p, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
    ),
    ("radam", lambda o: lambda p: o.RAdam(p, lr=0.05)),
    (
        "radam wd decoupled",
        lambda o: lambda p: o.RAdam(p, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
    ),
    ("radam early rectified", lambda o: lambda p: o.RAdam(p, lr=0.05, betas=(0.9, 0.8))),
    ("adadelta", lambda o: lambda p: o.Adadelta(p)),
    (
        "adadelta wd rho maximize",
        lambda o: lambda p: o.Adadelta(p, lr=0.5, rho=0.7, weight_decay=0.1, maximize=True),
    ),
    (
        "sgd param groups",
        lambda o: (
            lambda p: o.SGD(
                [{"params": p[:2]}, {"params": p[2:], "lr": 0.01, "momentum": 0.9}], lr=0.1
            )
        ),
    ),
    (
        "adam param groups",
        lambda o: (
            lambda p: o.Adam(
                [{"params": p[:1], "lr": 0.1}, {"params": p[1:], "weight_decay": 0.2}], lr=0.01
            )
        ),
    ),
]


@pytest.mark.parametrize(("name", "make"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_optimizer_matches_torch(torch: Any, name: str, make: Callable[[Any], Any]) -> None:
    t_params, t_opt = _run(torch, make(torch.optim))
    g_params, g_opt = _run(gradviz, make(optim))
    for t, g in zip(t_params, g_params, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-12)
    _assert_state_dicts_match(t_opt.state_dict(), g_opt.state_dict())


@pytest.mark.parametrize(
    ("name", "make"),
    OPTIMIZERS[:1] + OPTIMIZERS[5:6] + OPTIMIZERS[11:12] + OPTIMIZERS[14:15],
    ids=["sgd", "adam", "rmsprop", "adagrad"],
)
def test_parameters_without_grad_are_skipped_like_torch(
    torch: Any, name: str, make: Callable[[Any], Any]
) -> None:
    t_params, t_opt = _run(torch, make(torch.optim), none_grad=True)
    g_params, g_opt = _run(gradviz, make(optim), none_grad=True)
    for t, g in zip(t_params, g_params, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-12)
    _assert_state_dicts_match(t_opt.state_dict(), g_opt.state_dict())


def _assert_state_dicts_match(t_sd: dict[str, Any], g_sd: dict[str, Any]) -> None:
    assert list(g_sd) == list(t_sd) == ["state", "param_groups"]
    assert len(g_sd["param_groups"]) == len(t_sd["param_groups"])
    for tg, gg in zip(t_sd["param_groups"], g_sd["param_groups"], strict=True):
        assert list(gg) == list(tg)
        for key in tg:
            assert gg[key] == tg[key], key
    assert list(g_sd["state"]) == list(t_sd["state"])
    for index, t_state in t_sd["state"].items():
        g_state = g_sd["state"][index]
        assert list(g_state) == list(t_state)
        for key, value in t_state.items():
            got = g_state[key]
            if value is None:
                assert got is None
                continue
            assert got.dtype.name == str(value.dtype).split(".")[-1], key
            np.testing.assert_allclose(
                got.numpy(), value.numpy(), rtol=1e-6, atol=1e-12, err_msg=key
            )


@pytest.mark.parametrize(("name", "make"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_load_state_dict_resumes_exactly(name: str, make: Callable[[Any], Any]) -> None:
    straight, _ = _run(gradviz, make(optim), steps=STEPS)
    params = [gradviz.tensor(a, requires_grad=True) for a in _initial()]
    first = make(optim)(params)
    for step in range(3):
        first.zero_grad()
        _loss(gradviz, params, step).backward()
        first.step()
    saved = first.state_dict()
    resumed = make(optim)(params)
    resumed.load_state_dict(saved)
    for step in range(3, STEPS):
        resumed.zero_grad()
        _loss(gradviz, params, step).backward()
        resumed.step()
    for a, b in zip(straight, params, strict=True):
        if name.startswith("nadam"):
            # NOTE: loading casts NAdam's float32 mu_product to the parameters' dtype (here
            # float64), as PyTorch does, so the resumed run rounds differently (in PyTorch
            # too: see test_nadam_load_casts_mu_product_like_torch).
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-7)
        else:
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_nadam_load_casts_mu_product_like_torch(torch: Any) -> None:
    dtypes = []
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        p = lib.tensor(_initial()[0], requires_grad=True)
        first = o.NAdam([p])
        _loss(lib, [p, lib.tensor(_initial()[1]), lib.tensor(_initial()[2])], 0).backward()
        first.step()
        second = o.NAdam([p])
        second.load_state_dict(first.state_dict())
        state = second.state[p]
        dtypes.append((str(state["step"].dtype), str(state["mu_product"].dtype)))
    assert [tuple(d.split(".")[-1] for d in pair) for pair in dtypes] == [
        ("float32", "float64"),
        ("float32", "float64"),
    ]


def test_step_bumps_version_counters_and_leaves_no_graph() -> None:
    p = gradviz.ones(3, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    data_before = p._data
    opt.step()
    assert p._version == 1 and p._data is data_before
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    assert opt.state[p]["exp_avg"].requires_grad is False
    assert gradviz.is_grad_enabled()


def test_step_on_a_saved_parameter_is_caught_by_backward() -> None:
    p = gradviz.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    loss = (p * p).sum()
    (p * 2).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_zero_grad_with_and_without_set_to_none() -> None:
    p = gradviz.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    opt.step()
    assert p.tolist() == [1.0, 1.0]


def test_closure_runs_with_grad_enabled_and_returns_the_loss() -> None:
    p = gradviz.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure() -> Any:
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with gradviz.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and p.tolist() == [1.0]


def test_step_hooks_run_in_order_and_can_be_removed() -> None:
    p = gradviz.ones(1, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    calls: list[str] = []
    pre = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    post = opt.register_step_post_hook(lambda o, a, k: calls.append(f"post {p.item()}"))
    (p * 2).sum().backward()
    opt.step()
    assert calls == ["pre", "post -1.0"]
    pre.remove()
    post.remove()
    opt.step()
    assert calls == ["pre", "post -1.0"]


def test_named_parameters_and_added_groups(torch: Any) -> None:
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        a, b = lib.ones(2, requires_grad=True), lib.ones(3, requires_grad=True)
        opt = o.SGD([("a", a)], lr=0.1)
        opt.add_param_group({"params": [("b", b)], "lr": 0.5})
        sd = opt.state_dict()
        assert [g["param_names"] for g in sd["param_groups"]] == [["a"], ["b"]]
        assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]


def test_repr_matches_torch(torch: Any) -> None:
    t = torch.optim.Adam([torch.ones(1, requires_grad=True)], lr=0.5, amsgrad=True)
    g = optim.Adam([gradviz.ones(1, requires_grad=True)], lr=0.5, amsgrad=True)
    assert repr(g) == repr(t)


OPT_ERRORS: list[tuple[str, Callable[[Any, Any, Any], Any]]] = [
    ("empty", lambda o, lib, p: o.SGD([], lr=0.1)),
    ("single tensor", lambda o, lib, p: o.SGD(p, lr=0.1)),
    ("set", lambda o, lib, p: o.SGD([{"params": {p}}], lr=0.1)),
    ("non-tensor", lambda o, lib, p: o.SGD([1.0], lr=0.1)),
    ("non-leaf", lambda o, lib, p: o.SGD([p * 2], lr=0.1)),
    ("twice", lambda o, lib, p: o.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)),
    ("group not dict", lambda o, lib, p: o.SGD([p], lr=0.1).add_param_group([p])),
    ("names missing", lambda o, lib, p: o.SGD([("a", p), lib.ones(1, requires_grad=True)], lr=0.1)),
    ("sgd lr", lambda o, lib, p: o.SGD([p], lr=-1.0)),
    ("ConstantLR factor", lambda o, lib, p: o.lr_scheduler.ConstantLR(o.SGD([p], lr=0.1), 2.0)),
    (
        "LinearLR start",
        lambda o, lib, p: o.lr_scheduler.LinearLR(o.SGD([p], lr=0.1), start_factor=0.0),
    ),
    ("LinearLR end", lambda o, lib, p: o.lr_scheduler.LinearLR(o.SGD([p], lr=0.1), end_factor=2)),
    (
        "MultiplicativeLR not callable",
        lambda o, lib, p: o.lr_scheduler.MultiplicativeLR(o.SGD([p], lr=0.1), 0.5),
    ),
    (
        "WarmRestarts T_0",
        lambda o, lib, p: o.lr_scheduler.CosineAnnealingWarmRestarts(o.SGD([p], lr=0.1), 0),
    ),
    (
        "WarmRestarts T_mult",
        lambda o, lib, p: o.lr_scheduler.CosineAnnealingWarmRestarts(o.SGD([p], lr=0.1), 2, 1.5),
    ),
    (
        "OneCycleLR no length",
        lambda o, lib, p: o.lr_scheduler.OneCycleLR(o.SGD([p], lr=0.1), 1.0),
    ),
    (
        "OneCycleLR pct_start",
        lambda o, lib, p: o.lr_scheduler.OneCycleLR(
            o.SGD([p], lr=0.1, momentum=0.9), 1.0, total_steps=5, pct_start=1
        ),
    ),
    (
        "OneCycleLR no momentum",
        lambda o, lib, p: o.lr_scheduler.OneCycleLR(o.Adagrad([p]), 1.0, total_steps=5),
    ),
    (
        "OneCycleLR max_lr list",
        lambda o, lib, p: o.lr_scheduler.OneCycleLR(
            o.SGD([p], lr=0.1, momentum=0.9), [1.0, 2.0], total_steps=5
        ),
    ),
    (
        "OneCycleLR past the end",
        lambda o, lib, p: _step_past(
            o.lr_scheduler.OneCycleLR(o.SGD([p], lr=0.1, momentum=0.9), 1.0, total_steps=2)
        ),
    ),
    ("adamax lr", lambda o, lib, p: o.Adamax([p], lr=-1.0)),
    ("adamax beta", lambda o, lib, p: o.Adamax([p], betas=(0.9, 1.0))),
    ("adamax eps", lambda o, lib, p: o.Adamax([p], eps=-1.0)),
    ("nadam momentum_decay", lambda o, lib, p: o.NAdam([p], momentum_decay=-1.0)),
    ("nadam beta0", lambda o, lib, p: o.NAdam([p], betas=(-0.1, 0.9))),
    ("radam weight_decay", lambda o, lib, p: o.RAdam([p], weight_decay=-1.0)),
    ("adadelta rho", lambda o, lib, p: o.Adadelta([p], rho=1.5)),
    ("adadelta eps", lambda o, lib, p: o.Adadelta([p], eps=-1e-6)),
    ("sgd momentum", lambda o, lib, p: o.SGD([p], lr=0.1, momentum=-0.5)),
    ("sgd weight_decay", lambda o, lib, p: o.SGD([p], lr=0.1, weight_decay=-1)),
    ("sgd nesterov", lambda o, lib, p: o.SGD([p], lr=0.1, nesterov=True)),
    (
        "sgd nesterov dampening",
        lambda o, lib, p: o.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    ),
    ("adam lr", lambda o, lib, p: o.Adam([p], lr=-0.1)),
    ("adam eps", lambda o, lib, p: o.Adam([p], eps=-1.0)),
    ("adam beta0", lambda o, lib, p: o.Adam([p], betas=(1.0, 0.9))),
    ("adam beta1", lambda o, lib, p: o.Adam([p], betas=(0.9, -0.1))),
    ("adam weight_decay", lambda o, lib, p: o.AdamW([p], weight_decay=-0.1)),
    ("rmsprop alpha", lambda o, lib, p: o.RMSprop([p], alpha=-1.0)),
    ("rmsprop momentum", lambda o, lib, p: o.RMSprop([p], momentum=-1.0)),
    ("rmsprop eps", lambda o, lib, p: o.RMSprop([p], eps=-1.0)),
    ("adagrad lr_decay", lambda o, lib, p: o.Adagrad([p], lr_decay=-1.0)),
    (
        "adagrad initial accumulator",
        lambda o, lib, p: o.Adagrad([p], initial_accumulator_value=-1.0),
    ),
    ("adagrad eps", lambda o, lib, p: o.Adagrad([p], eps=-1.0)),
    (
        "load groups",
        lambda o, lib, p: o.SGD([p], lr=0.1).load_state_dict({"state": {}, "param_groups": []}),
    ),
    (
        "load group size",
        lambda o, lib, p: o.SGD([p], lr=0.1).load_state_dict(
            {"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]}
        ),
    ),
    ("scheduler optimizer", lambda o, lib, p: o.lr_scheduler.StepLR(object(), 2)),
    (
        "scheduler resume",
        lambda o, lib, p: o.lr_scheduler.StepLR(o.SGD([p], lr=0.1), 2, last_epoch=3),
    ),
    (
        "lambda count",
        lambda o, lib, p: o.lr_scheduler.LambdaLR(
            o.SGD([p], lr=0.1), [lambda e: 1.0, lambda e: 2.0]
        ),
    ),
    (
        "plateau factor",
        lambda o, lib, p: o.lr_scheduler.ReduceLROnPlateau(o.SGD([p], lr=0.1), factor=1.0),
    ),
    (
        "plateau mode",
        lambda o, lib, p: o.lr_scheduler.ReduceLROnPlateau(o.SGD([p], lr=0.1), mode="best"),
    ),
    (
        "plateau threshold mode",
        lambda o, lib, p: o.lr_scheduler.ReduceLROnPlateau(o.SGD([p], lr=0.1), threshold_mode="x"),
    ),
    (
        "plateau min_lr",
        lambda o, lib, p: o.lr_scheduler.ReduceLROnPlateau(o.SGD([p], lr=0.1), min_lr=[0.1, 0.2]),
    ),
]


def _step_past(sched: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            sched.step()


def _raised(fn: Callable[[], Any]) -> BaseException:
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the exception is under test
        return err
    raise AssertionError("no exception was raised")


@pytest.mark.parametrize(("name", "call"), OPT_ERRORS, ids=[e[0] for e in OPT_ERRORS])
def test_error_matches_torch(torch: Any, name: str, call: Callable[..., Any]) -> None:
    expected = _raised(lambda: call(torch.optim, torch, torch.ones(2, requires_grad=True)))
    got = _raised(lambda: call(optim, gradviz, gradviz.ones(2, requires_grad=True)))
    assert isinstance(got, type(expected)), f"{type(got).__name__}: {got}"
    assert str(got) == str(expected)


def test_unsupported_modes_are_refused() -> None:
    p = gradviz.ones(1, requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"differentiable=True is not supported"):
        optim.SGD([p], lr=0.1, differentiable=True)
    with pytest.raises(NotImplementedError, match=r"fused=True is not supported"):
        optim.Adam([p], fused=True)


def test_duplicate_parameters_warn_like_torch() -> None:
    p = gradviz.ones(1, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


# ---------------------------------------------------------------------------- schedulers

SCHEDULERS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("StepLR", lambda s, o: s.StepLR(o, step_size=3, gamma=0.5)),
    ("MultiStepLR", lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", lambda s, o: s.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", lambda s, o: s.CosineAnnealingLR(o, T_max=4, eta_min=0.01)),
    ("LambdaLR", lambda s, o: s.LambdaLR(o, lambda epoch: 1.0 / (1 + epoch))),
    ("LambdaLR per group", lambda s, o: s.LambdaLR(o, [lambda e: 0.9**e, lambda e: 1 + e])),
    ("MultiplicativeLR", lambda s, o: s.MultiplicativeLR(o, lambda epoch: 0.95)),
    ("ConstantLR", lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=4)),
    ("LinearLR", lambda s, o: s.LinearLR(o, start_factor=0.1, total_iters=5)),
    ("LinearLR down", lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=8)),
    ("PolynomialLR", lambda s, o: s.PolynomialLR(o, total_iters=6, power=2.0)),
    ("WarmRestarts", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=0.001)),
    ("WarmRestarts T_mult", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2)),
    ("OneCycleLR", lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=13)),
    (
        "OneCycleLR three phase linear",
        lambda s, o: s.OneCycleLR(
            o,
            max_lr=[1.0, 0.5],
            epochs=2,
            steps_per_epoch=7,
            anneal_strategy="linear",
            three_phase=True,
        ),
    ),
]


def _two_group_optimizer(o: Any, lib: Any) -> Any:
    a, b = lib.ones(2, requires_grad=True), lib.ones(1, requires_grad=True)
    return o.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.2, momentum=0.9)


@pytest.mark.parametrize(("name", "make"), SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_scheduler_lr_sequence_matches_torch(
    torch: Any, name: str, make: Callable[[Any, Any], Any]
) -> None:
    sequences = []
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        opt = _two_group_optimizer(o, lib)
        sched = make(o.lr_scheduler, opt)
        lrs = [sched.get_last_lr()]
        for _ in range(12):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
            assert [g["lr"] for g in opt.param_groups] == lrs[-1]
        sequences.append((lrs, [g["momentum"] for g in opt.param_groups]))
    np.testing.assert_allclose(np.array(sequences[1][0]), np.array(sequences[0][0]), rtol=1e-12)
    np.testing.assert_allclose(sequences[1][1], sequences[0][1], rtol=1e-12)  # OneCycleLR's


def test_one_cycle_cycles_adams_beta1_like_torch(torch: Any) -> None:
    runs = []
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        opt = o.Adam([lib.ones(2, requires_grad=True)], lr=0.1)
        sched = o.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=6, base_momentum=0.8)
        betas = []
        for _ in range(5):
            opt.step()
            sched.step()
            betas.append(opt.param_groups[0]["betas"])
        runs.append(betas)
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12)


NEW_CLOSED_FORMS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("ConstantLR", lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=3)),
    ("LinearLR", lambda s, o: s.LinearLR(o, start_factor=0.25, total_iters=4)),
    ("PolynomialLR", lambda s, o: s.PolynomialLR(o, total_iters=5, power=0.5)),
    ("WarmRestarts", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.01)),
]


@pytest.mark.parametrize("epoch", [0, 2, 3, 7])
@pytest.mark.parametrize(("name", "make"), NEW_CLOSED_FORMS, ids=[m[0] for m in NEW_CLOSED_FORMS])
def test_closed_forms_of_the_new_schedulers_match_torch(
    torch: Any, name: str, make: Callable[[Any, Any], Any], epoch: float
) -> None:
    results = []
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        opt = _two_group_optimizer(o, lib)
        sched = make(o.lr_scheduler, opt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
            sched.step(epoch)
        results.append(sched.get_last_lr())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


@pytest.mark.parametrize("epoch", [0.5, 4.5, 9.25])
def test_warm_restarts_take_fractional_epochs_like_torch(torch: Any, epoch: float) -> None:
    results = []
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        opt = _two_group_optimizer(o, lib)
        sched = o.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
        opt.step()
        sched.step(epoch)
        results.append((sched.get_last_lr(), sched.T_cur, sched.T_i, sched.last_epoch))
    assert results[1][1:] == results[0][1:]
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)


def test_scheduler_closed_form_with_epoch_matches_torch(torch: Any) -> None:
    results = []
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        opt = _two_group_optimizer(o, lib)
        sched = o.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
            sched.step(7)
        results.append(sched.get_last_lr())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


def test_reduce_lr_on_plateau_matches_torch(torch: Any) -> None:
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.7]
    sequences = []
    for lib, o in ((torch, torch.optim), (gradviz, optim)):
        opt = _two_group_optimizer(o, lib)
        sched = o.lr_scheduler.ReduceLROnPlateau(
            opt, factor=0.5, patience=1, cooldown=1, min_lr=[0.03, 0.0]
        )
        lrs = []
        for m in metrics:
            opt.step()
            sched.step(m)
            lrs.append(sched.get_last_lr())
        sequences.append(lrs)
    assert sequences[1] == sequences[0]


def test_scheduler_warns_when_stepped_before_the_optimizer() -> None:
    opt = optim.SGD([gradviz.ones(1, requires_grad=True)], lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, 1)
    with pytest.warns(
        UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"
    ):
        sched.step()


def test_scheduler_state_dict_round_trip() -> None:
    opt = optim.SGD([gradviz.ones(1, requires_grad=True)], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    other = optim.lr_scheduler.StepLR(
        optim.SGD([gradviz.ones(1, requires_grad=True)], lr=1.0), step_size=5
    )
    other.load_state_dict(state)
    assert other.step_size == 2 and other.get_last_lr() == sched.get_last_lr()


# ---------------------------------------------------------------------------- training loop


def _toy_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    x = rng.standard_normal((64, 4))
    labels = (x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2]) > 0).astype(np.int64) + (x[:, 3] > 1).astype(
        np.int64
    )
    return x, labels


def _mlp_weights(torch: Any) -> list[np.ndarray]:
    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 16), torch.nn.Linear(16, 16), torch.nn.Linear(16, 3)]
    return [
        t.detach().double().numpy().copy() for layer in layers for t in (layer.weight, layer.bias)
    ]


def _train(lib: Any, functional: Any, o: Any, weights: list[np.ndarray], steps: int) -> list[float]:
    params = [lib.tensor(w, requires_grad=True) for w in weights]
    x, labels = _toy_data()
    xs, ys = lib.tensor(x), lib.tensor(labels)
    opt = o.Adam(params[:4], lr=0.01)
    opt.add_param_group({"params": params[4:], "lr": 0.02, "weight_decay": 1e-3})
    sched = o.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        h = functional.relu(functional.linear(xs, params[0], params[1]))
        h = functional.dropout(h, p=0.0, training=True)
        h = functional.gelu(functional.linear(h, params[2], params[3]))
        logits = functional.linear(h, params[4], params[5])
        loss = functional.cross_entropy(logits, ys, label_smoothing=0.05)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def test_mlp_training_matches_torch_step_by_step(torch: Any) -> None:
    weights = _mlp_weights(torch)
    t_losses = _train(torch, torch.nn.functional, torch.optim, weights, steps=30)
    g_losses = _train(gradviz, GF, optim, weights, steps=30)
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-9)
    assert g_losses[-1] < 0.8 * g_losses[0]


def test_mlp_training_decreases_the_loss_without_torch() -> None:
    rng = np.random.default_rng(1)
    weights = [
        rng.standard_normal(s) * 0.5 for s in ((16, 4), (16,), (16, 16), (16,), (3, 16), (3,))
    ]
    losses = _train(gradviz, GF, optim, weights, steps=40)
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0]
