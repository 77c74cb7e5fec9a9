"""Layers and losses on a device give the CPU's outputs, gradients and buffers.

Each case builds a module on the CPU from a fixed seed (in float64), moves it and its
inputs to the device under test, runs forward and backward there, and compares every
output, parameter gradient, input gradient and buffer with the same program on the
CPU. Everything the program produced must live on the device. (The CPU results
themselves are checked against PyTorch in ``tests/nn`` and ``tests/functional``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import nn
from tests.device.conftest import tolerance

F64 = gradviz.float64


@dataclass(frozen=True)
class Case:
    """A module, how to make its inputs, and whether it runs in training mode."""

    id: str
    make: Callable[[], nn.Module]
    inputs: Callable[[], list[gradviz.Tensor]]
    train: bool = True
    kwargs: Callable[[], dict[str, Any]] = field(default=lambda: {})


def _x(*shape: int) -> gradviz.Tensor:
    return gradviz.randn(*shape, dtype=F64)


def _labels(high: int, *shape: int) -> gradviz.Tensor:
    return gradviz.randint(0, high, shape)


def _batchnorm_eval() -> nn.Module:
    bn = nn.BatchNorm1d(4, dtype=F64)
    bn.running_mean = gradviz.randn(4, dtype=F64)
    bn.running_var = gradviz.rand(4, dtype=F64) + 0.5
    return bn


def _mha_self() -> nn.Module:
    return nn.MultiheadAttention(8, 2, dtype=F64)


LAYERS = [
    Case("linear", lambda: nn.Linear(5, 3, dtype=F64), lambda: [_x(4, 5)]),
    Case("linear-3d-nobias", lambda: nn.Linear(5, 3, bias=False, dtype=F64), lambda: [_x(2, 4, 5)]),
    Case(
        "conv2d-stride-pad",
        lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=F64),
        lambda: [_x(2, 3, 7, 7)],
    ),
    Case(
        "conv2d-groups-dilation",
        lambda: nn.Conv2d(4, 6, 3, groups=2, dilation=2, padding=2, dtype=F64),
        lambda: [_x(2, 4, 6, 6)],
    ),
    Case("conv1d", lambda: nn.Conv1d(2, 3, 3, dtype=F64), lambda: [_x(2, 2, 9)]),
    Case("batchnorm2d-train", lambda: nn.BatchNorm2d(3, dtype=F64), lambda: [_x(4, 3, 5, 5)]),
    Case("batchnorm1d-train", lambda: nn.BatchNorm1d(4, dtype=F64), lambda: [_x(8, 4)]),
    Case("batchnorm1d-eval", _batchnorm_eval, lambda: [_x(8, 4)], train=False),
    Case("layernorm", lambda: nn.LayerNorm((4, 5), dtype=F64), lambda: [_x(3, 4, 5)]),
    Case(
        "embedding-padding",
        lambda: nn.Embedding(10, 4, padding_idx=0, dtype=F64),
        lambda: [gradviz.tensor([[0, 2, 2], [9, 0, 3]])],
    ),
    Case(
        "embedding-max-norm",
        lambda: nn.Embedding(10, 4, max_norm=1.0, dtype=F64),
        lambda: [gradviz.tensor([1, 4, 4, 7])],
    ),
    Case(
        "multihead-attention-self",
        _mha_self,
        lambda: [_x(5, 2, 8)] * 3,
        kwargs=lambda: {"key_padding_mask": gradviz.tensor([[False] * 4 + [True], [False] * 5])},
    ),
    Case(
        "multihead-attention-kdim-vdim",
        lambda: nn.MultiheadAttention(8, 2, batch_first=True, kdim=6, vdim=5, dtype=F64),
        lambda: [_x(2, 3, 8), _x(2, 4, 6), _x(2, 4, 5)],
        kwargs=lambda: {"attn_mask": _x(3, 4), "average_attn_weights": False},
    ),
    Case(
        "transformer-encoder-layer",
        lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=F64),
        lambda: [_x(2, 5, 8)],
    ),
    Case(
        "convnet",
        lambda: nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1, dtype=F64),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(8, 3, dtype=F64),
            nn.GELU(),
        ),
        lambda: [_x(2, 1, 8, 8)],
    ),
    Case("adaptive-avg-pool", lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda: [_x(2, 3, 5, 7)]),
    Case("dropout", lambda: nn.Dropout(0.3), lambda: [_x(6, 5)]),
    Case(
        "activations",
        lambda: nn.Sequential(nn.GELU(approximate="none"), nn.SiLU(), nn.ELU(), nn.Softplus()),
        lambda: [_x(3, 4)],
    ),
]

LOSSES = [
    Case("cross-entropy", nn.CrossEntropyLoss, lambda: [_x(6, 5), _labels(5, 6)]),
    Case(
        "cross-entropy-weight-smoothing-ignore",
        lambda: nn.CrossEntropyLoss(
            weight=gradviz.rand(5, dtype=F64) + 0.5, label_smoothing=0.1, ignore_index=1
        ),
        lambda: [_x(6, 5), gradviz.tensor([0, 1, 2, 3, 4, 1])],
    ),
    Case(
        "cross-entropy-probabilities",
        lambda: nn.CrossEntropyLoss(label_smoothing=0.2),
        lambda: [_x(4, 3), gradviz.softmax(_x(4, 3), dim=1)],
    ),
    Case(
        "cross-entropy-spatial-sum",
        lambda: nn.CrossEntropyLoss(reduction="sum"),
        lambda: [_x(2, 4, 3, 3), _labels(4, 2, 3, 3)],
    ),
    Case("mse-mean", nn.MSELoss, lambda: [_x(4, 3), _x(4, 3)]),
    Case("mse-sum", lambda: nn.MSELoss(reduction="sum"), lambda: [_x(4, 3), _x(4, 3)]),
    Case("mse-none", lambda: nn.MSELoss(reduction="none"), lambda: [_x(4, 3), _x(4, 3)]),
    Case("nll", nn.NLLLoss, lambda: [gradviz.log_softmax(_x(5, 4), dim=1), _labels(4, 5)]),
    Case(
        "bce-with-logits",
        lambda: nn.BCEWithLogitsLoss(pos_weight=gradviz.rand(3, dtype=F64) + 0.5),
        lambda: [_x(4, 3), gradviz.rand(4, 3, dtype=F64)],
    ),
    Case("smooth-l1", lambda: nn.SmoothL1Loss(beta=0.5), lambda: [_x(4, 3), _x(4, 3)]),
    Case("huber", lambda: nn.HuberLoss(delta=0.7), lambda: [_x(4, 3), _x(4, 3)]),
    Case("l1", nn.L1Loss, lambda: [_x(4, 3), _x(4, 3)]),
    Case(
        "kl-div",
        lambda: nn.KLDivLoss(reduction="batchmean", log_target=True),
        lambda: [gradviz.log_softmax(_x(4, 3), dim=1), gradviz.log_softmax(_x(4, 3), dim=1)],
    ),
]


def _flat(out: Any) -> list[gradviz.Tensor]:
    if isinstance(out, gradviz.Tensor):
        return [out]
    return [t for item in out if item is not None for t in _flat(item)]


def _run(case: Case, device: Any) -> dict[str, Any]:
    """Run one case on ``device``; return host copies of everything it produced."""
    dev = gradviz.device(device)
    gradviz.manual_seed(0)
    module = case.make().to(dev)
    module.train(case.train)
    moved: dict[int, gradviz.Tensor] = {}  # an input given twice stays one tensor
    case_inputs = case.inputs()
    for t in case_inputs:
        if id(t) not in moved:
            moved[id(t)] = t.to(dev)
            if t.is_floating_point():
                moved[id(t)].requires_grad_()
    inputs = list(moved.values())
    kwargs = {
        k: v.to(dev) if isinstance(v, gradviz.Tensor) else v for k, v in case.kwargs().items()
    }
    outs = _flat(module(*[moved[id(t)] for t in case_inputs], **kwargs))
    # Weigh each output by fixed numbers so that every gradient is a non-trivial one.
    loss = sum(
        ((o * gradviz.randn(*o.shape, dtype=o.dtype).to(dev)).sum() for o in outs),
        gradviz.zeros((), dtype=F64, device=dev),
    )
    loss.backward()
    produced = {f"out{i}": o for i, o in enumerate(outs)}
    produced |= {f"grad:{name}": p.grad for name, p in module.named_parameters()}
    produced |= {f"input-grad{i}": t.grad for i, t in enumerate(inputs) if t.requires_grad}
    produced |= {f"buffer:{name}": b for name, b in module.named_buffers()}
    produced |= {f"param:{name}": p for name, p in module.named_parameters()}
    for name, t in produced.items():
        assert t is not None, f"{case.id}: {name} is None"
        assert t.device == dev, f"{case.id}: {name} is on {t.device}, not {dev}"
    return {name: t.detach().cpu().numpy() for name, t in produced.items()}


def _compare(case: Case, device: gradviz.Device) -> None:
    got = _run(case, device)
    want = _run(case, "cpu")
    assert sorted(got) == sorted(want)
    for name, expected in want.items():
        actual = got[name]
        assert actual.shape == expected.shape, f"{case.id}: {name} shape"
        assert actual.dtype == expected.dtype, f"{case.id}: {name} dtype"
        np.testing.assert_allclose(
            actual, expected, **tolerance(device), err_msg=f"{case.id}: {name}"
        )


@pytest.mark.parametrize("case", LAYERS, ids=[c.id for c in LAYERS])
def test_layer_matches_cpu(case: Case, device: gradviz.Device) -> None:
    _compare(case, device)


@pytest.mark.parametrize("case", LOSSES, ids=[c.id for c in LOSSES])
def test_loss_matches_cpu(case: Case, device: gradviz.Device) -> None:
    _compare(case, device)


def test_layers_built_on_the_device_match_layers_moved_there(device: gradviz.Device) -> None:
    """``device=`` on a constructor and ``.to(device)`` give the same parameters.

    Random numbers are drawn on the host for every device, so a seed gives the same
    initial weights wherever a layer is built.
    """
    gradviz.manual_seed(3)
    built = nn.Linear(4, 2, device=device, dtype=F64)
    gradviz.manual_seed(3)
    moved = nn.Linear(4, 2, dtype=F64).to(device)
    for (name, a), (_, b) in zip(built.named_parameters(), moved.named_parameters(), strict=True):
        assert a.device == device and b.device == device, name
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


def test_functional_ops_with_integer_side_inputs(device: gradviz.Device) -> None:
    """one_hot, gather-style indexing and masks keep their integer inputs on the device."""
    labels = gradviz.tensor([2, 0, 1], device=device)
    hot = gradviz.nn.functional.one_hot(labels, 4)
    assert hot.device == device and hot.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    x = gradviz.arange(12.0, device=device).reshape(3, 4).clone().requires_grad_()
    picked = x.gather(1, labels.unsqueeze(1))
    masked = x.masked_fill(x > 6, 0.0)
    (picked.sum() + masked.sum()).backward()
    assert picked.device == device and picked.flatten().tolist() == [2.0, 4.0, 9.0]
    assert x.grad.device == device
    assert x.grad.tolist() == [[1, 1, 2, 1], [2, 1, 1, 0], [0, 1, 0, 0]]
