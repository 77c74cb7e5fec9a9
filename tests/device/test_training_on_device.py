"""A whole training loop on a device gives the CPU's losses and weights, step by step.

An MLP with dropout trains with cross-entropy under SGD with momentum (Nesterov and
weight decay) and under Adam (AMSGrad) and AdamW, several steps each, on ``strict:1``
(the stand-in device that is not the array library's default one) and, where a GPU is
usable, on ``cuda``. Every loss, gradient, weight and optimizer state must equal the
same loop on the CPU, and live where PyTorch keeps it: parameters, gradients and the
moment buffers on the device, Adam's ``step`` counter on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import nn
from tests.device.conftest import device_params, tolerance

F32 = gradviz.float32

OPTIMIZERS: dict[str, Callable[[Any], gradviz.optim.Optimizer]] = {
    "sgd-momentum": lambda p: gradviz.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd-nesterov-wd": lambda p: gradviz.optim.SGD(
        p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-2
    ),
    "adam": lambda p: gradviz.optim.Adam(p, lr=1e-2),
    "adam-amsgrad": lambda p: gradviz.optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda p: gradviz.optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: gradviz.optim.RMSprop(p, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda p: gradviz.optim.Adagrad(p, lr=0.1),
}
STEPS = 5


def _mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4)
    )


def _train(optimizer: str, device: Any) -> dict[str, Any]:
    """Train on ``device``; return every loss and host copies of the final state."""
    dev = gradviz.device(device)
    gradviz.manual_seed(0)
    model = _mlp().to(dev)
    opt = OPTIMIZERS[optimizer](model.parameters())
    x = gradviz.randn(16, 6).to(dev)  # one batch, fitted a little more at every step
    y = gradviz.randint(0, 4, (16,)).to(dev)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        assert loss.device == dev
        loss.backward()
        opt.step()
        losses.append(loss.item())
    state: dict[str, Any] = {}
    for name, p in model.named_parameters():
        assert p.device == dev and p.grad.device == dev, name
        state[f"param:{name}"] = p.detach().cpu().numpy()
        state[f"grad:{name}"] = p.grad.cpu().numpy()
        for key, value in opt.state[p].items():
            if not isinstance(value, gradviz.Tensor):
                continue
            # PyTorch keeps the step counter of Adam-like optimizers on the CPU.
            where = gradviz.device("cpu") if key == "step" else dev
            assert value.device == where, f"{optimizer}: state {key!r} of {name} on {value.device}"
            state[f"state:{name}:{key}"] = value.cpu().numpy()
    return {"losses": np.array(losses), **state}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("device", device_params("strict:1"))
def test_training_loop_matches_cpu(optimizer: str, device: str) -> None:
    got = _train(optimizer, device)
    want = _train(optimizer, "cpu")
    assert sorted(got) == sorted(want)
    tol = tolerance(gradviz.device(device), F32)
    for key, expected in want.items():
        np.testing.assert_allclose(got[key], expected, **tol, err_msg=f"{optimizer}: {key}")
    assert want["losses"][-1] < want["losses"][0]  # the loop does train


@pytest.mark.parametrize("device", device_params("strict:1"))
def test_optimizer_state_dict_round_trip_keeps_state_on_the_device(device: str) -> None:
    dev = gradviz.device(device)
    model = nn.Linear(3, 2).to(dev)
    opt = gradviz.optim.Adam(model.parameters(), lr=0.1)
    model(gradviz.ones(4, 3, device=dev)).sum().backward()
    opt.step()
    saved = opt.state_dict()
    fresh = gradviz.optim.Adam(model.parameters(), lr=0.1)
    # A state saved on the CPU (as a checkpoint loaded with map_location="cpu" is) goes
    # back to each parameter's device; the step counter stays on the CPU.
    on_host = {
        "state": {
            k: {n: v.cpu() if isinstance(v, gradviz.Tensor) else v for n, v in s.items()}
            for k, s in saved["state"].items()
        },
        "param_groups": saved["param_groups"],
    }
    fresh.load_state_dict(on_host)
    for p in model.parameters():
        assert fresh.state[p]["exp_avg"].device == dev
        assert fresh.state[p]["exp_avg_sq"].device == dev
        assert fresh.state[p]["step"].device == gradviz.device("cpu")
        np.testing.assert_array_equal(
            fresh.state[p]["exp_avg"].cpu().numpy(), opt.state[p]["exp_avg"].cpu().numpy()
        )


def test_clip_grad_norm_on_the_device(device: gradviz.Device) -> None:
    gradviz.manual_seed(1)
    model = _mlp().to(device)
    nn.functional.cross_entropy(
        model(gradviz.randn(8, 6, device=device)), gradviz.randint(0, 4, (8,), device=device)
    ).backward()
    before = _grad_norm(model)
    norm = nn.utils.clip_grad_norm_(model.parameters(), before / 4)
    assert norm.device == device
    assert norm.item() == pytest.approx(before, rel=1e-5)
    assert _grad_norm(model) == pytest.approx(before / 4, rel=1e-5)


def _grad_norm(model: nn.Module) -> float:
    return sum(float((p.grad * p.grad).sum().item()) for p in model.parameters()) ** 0.5
