"""Devices: naming them, making tensors on them, moving tensors and modules between them.

Runs on the strict stand-in device (``strict:0``/``strict:1``) everywhere and on ``cuda``
where a GPU is usable. Gradients must live on their tensor's device, and an op that
mixes devices must raise PyTorch's error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.engine import backend
from gradviz.errors import DeviceError
from tests.device.conftest import device_params

CPU = gradviz.device("cpu")
S0 = gradviz.device("strict:0")
S1 = gradviz.device("strict:1")

# ---------------------------------------------------------------------------- naming devices


@pytest.mark.parametrize(
    ("spec", "kind", "index"),
    [
        ("cpu", "cpu", None),
        ("cuda", "cuda", 0),
        ("cuda:0", "cuda", 0),
        ("cuda:3", "cuda", 3),
        ("strict:1", "strict", 1),
        (2, "cuda", 2),
    ],
)
def test_device_names(spec: Any, kind: str, index: int | None) -> None:
    dev = gradviz.device(spec)
    assert (dev.type, dev.index) == (kind, index)
    assert gradviz.device(dev) is dev  # one shared object per device
    assert gradviz.device(str(dev)) is dev
    assert dev == str(dev)


def test_device_with_separate_index_and_repr() -> None:
    assert gradviz.device("cuda", 1) is gradviz.device("cuda:1")
    assert repr(gradviz.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert repr(gradviz.device("cpu")) == "device(type='cpu')"
    assert gradviz.device(None) is CPU
    assert gradviz.device("cpu") != "cuda:0"
    assert gradviz.device("cpu") != "not a device"
    assert len({gradviz.device("cuda:0"), gradviz.device("cuda"), gradviz.device(0)}) == 1


@pytest.mark.parametrize(
    ("spec", "index", "error", "message"),
    [
        (
            "tpu",
            None,
            RuntimeError,
            "Expected one of cpu, cuda, strict device type at start of device string: tpu",
        ),
        ("cuda:x", None, RuntimeError, "Invalid device string: 'cuda:x'"),
        ("cuda:-1", None, RuntimeError, "Invalid device string: 'cuda:-1'"),
        ("cuda:01", None, RuntimeError, "Invalid device string: 'cuda:01'"),
        (
            "cuda:0",
            1,
            RuntimeError,
            "type (string) must not include an index because index was passed explicitly: cuda:0",
        ),
        ("cuda", -1, RuntimeError, "Device index must not be negative"),
        (-1, None, RuntimeError, "Device index must not be negative"),
        ("strict:2", None, DeviceError, "strict:2 does not exist"),
        (1.5, None, TypeError, "expected a device string, a Device or an int, got float"),
    ],
)
def test_bad_device_names_raise(spec: Any, index: Any, error: type, message: str) -> None:
    with pytest.raises(error) as err:
        gradviz.device(spec, index)
    assert message in str(err.value)


def test_device_context_manager_sets_the_default_device() -> None:
    assert backend.get_default_device() is CPU
    with S1 as entered:
        assert entered is S1
        assert backend.get_default_device() is S1
        with gradviz.device("strict:0"):
            assert gradviz.zeros(1).device == S0
        assert gradviz.tensor([1.0]).device == S1
    assert gradviz.zeros(1).device == CPU


def test_set_default_device() -> None:
    gradviz.set_default_device("strict:1")
    try:
        made = [
            gradviz.zeros(2),
            gradviz.tensor([1, 2]),
            gradviz.as_tensor(np.ones(2)),
            gradviz.randn(2),
            gradviz.arange(3),
            nn.Linear(2, 2).weight,
        ]
        assert [t.device for t in made] == [S1] * len(made)
        assert gradviz.from_numpy(np.ones(2)).device == CPU  # as in PyTorch: shares memory
        on_cpu = gradviz.ones(2, device="cpu")
        assert on_cpu.device == CPU
        assert gradviz.zeros_like(on_cpu).device == CPU  # *_like follows its input
    finally:
        gradviz.set_default_device(None)
    assert gradviz.zeros(2).device == CPU


# ---------------------------------------------------------------------------- creation

CREATORS: dict[str, Callable[[Any], gradviz.Tensor]] = {
    "tensor": lambda d: gradviz.tensor([[1.0, 2.0]], device=d),
    "tensor-bool": lambda d: gradviz.tensor([True, False], device=d),
    "as_tensor": lambda d: gradviz.as_tensor([1, 2], device=d),
    "zeros": lambda d: gradviz.zeros(2, 3, device=d),
    "ones": lambda d: gradviz.ones((2,), dtype=gradviz.float64, device=d),
    "empty": lambda d: gradviz.empty(3, device=d),
    "full": lambda d: gradviz.full((2, 2), 7, device=d),
    "full-float": lambda d: gradviz.full((2,), 0.5, device=d),
    "eye": lambda d: gradviz.eye(3, 2, device=d),
    "arange": lambda d: gradviz.arange(1, 7, 2, device=d),
    "linspace": lambda d: gradviz.linspace(0, 1, 5, device=d),
    "rand": lambda d: gradviz.rand(2, 2, device=d),
    "randn": lambda d: gradviz.randn(3, device=d),
    "randint": lambda d: gradviz.randint(0, 5, (4,), device=d),
    "randperm": lambda d: gradviz.randperm(5, device=d),
    "zeros_like": lambda d: gradviz.zeros_like(gradviz.ones(2), device=d),
    "ones_like": lambda d: gradviz.ones_like(gradviz.ones(2), device=d),
    "empty_like": lambda d: gradviz.empty_like(gradviz.ones(2), device=d),
    "full_like": lambda d: gradviz.full_like(gradviz.ones(2), 3.0, device=d),
    "rand_like": lambda d: gradviz.rand_like(gradviz.ones(2), device=d),
    "randn_like": lambda d: gradviz.randn_like(gradviz.ones(2), device=d),
    "randint_like": lambda d: gradviz.randint_like(gradviz.ones(2), 5, device=d),
    "new_tensor": lambda d: gradviz.ones(1).new_tensor([1.0, 2.0], device=d),
    "new_zeros": lambda d: gradviz.ones(1).new_zeros(2, device=d),
    "new_ones": lambda d: gradviz.ones(1).new_ones(2, device=d),
    "new_empty": lambda d: gradviz.ones(1).new_empty(2, device=d),
    "new_full": lambda d: gradviz.ones(1).new_full((2,), 4.0, device=d),
}


@pytest.mark.parametrize("name", list(CREATORS))
def test_every_creation_function_takes_device(name: str, device: gradviz.Device) -> None:
    """Same values and dtype as on the CPU (random ones too: they are drawn on the host)."""
    gradviz.manual_seed(7)
    made = CREATORS[name](device)
    gradviz.manual_seed(7)
    ref = CREATORS[name]("cpu")
    assert made.device == device
    assert made.dtype is ref.dtype
    assert made.shape == ref.shape
    np.testing.assert_array_equal(made.cpu().numpy(), ref.numpy())


def test_like_functions_follow_their_input(device: gradviz.Device) -> None:
    x = gradviz.ones(2, 2, device=device, dtype=gradviz.float64)
    for like in (gradviz.zeros_like, gradviz.ones_like, gradviz.empty_like, gradviz.rand_like):
        out = like(x)
        assert (out.device, out.dtype) == (device, gradviz.float64)
    assert x.new_zeros(3).device == device


def test_tensor_copies_and_as_tensor_shares(device: gradviz.Device) -> None:
    src = gradviz.tensor([1.0, 2.0], device=device)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):  # as PyTorch
        copied = gradviz.tensor(src)
    shared = gradviz.as_tensor(src)
    assert copied.device == device and shared is src
    with gradviz.no_grad():
        src.add_(1)
    assert copied.tolist() == [1.0, 2.0]
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        cast = gradviz.tensor(src, dtype=gradviz.float64)
    assert (cast.device, cast.dtype, cast.tolist()) == (device, gradviz.float64, [2.0, 3.0])
    raw = src._data  # an array of the device's namespace
    assert gradviz.tensor(raw).device == device
    assert gradviz.tensor(raw, device="cpu").tolist() == [2.0, 3.0]


# ---------------------------------------------------------------------------- moving tensors


def test_to_cuda_cpu_and_device_property(device: gradviz.Device) -> None:
    x = gradviz.tensor([1.0, 2.0, 3.0], requires_grad=True)
    moved = x.to(device)
    assert moved.device == device and moved.grad_fn.name() == "ToCopyBackward0"
    assert moved.to(device) is moved
    assert moved.to(str(device)) is moved
    assert moved.cpu().device == CPU
    both = x.to(device, gradviz.float64)
    assert (both.device, both.dtype) == (device, gradviz.float64)
    assert x.to(moved).device == device  # to(other) takes its device and dtype
    if device.type == "cuda":
        assert x.cuda().device == device and x.cuda().is_cuda
    else:
        assert not moved.is_cuda


def test_gradients_live_on_their_tensors_device(device: gradviz.Device) -> None:
    w = gradviz.randn(3, 2, device=device, requires_grad=True)
    host = gradviz.randn(4, 3, requires_grad=True)
    out = (host.to(device) @ w).relu().sum()
    out.backward()
    assert w.grad.device == device
    assert host.grad.device == CPU  # it came back through ToCopyBackward0
    seen: list[Any] = []
    w.register_hook(lambda g: seen.append(g.device))
    (w * 2).sum().backward()
    assert seen == [device] and w.grad.device == device
    (g,) = gradviz.autograd.grad((w**2).sum(), [w])
    assert g.device == device
    np.testing.assert_allclose(g.cpu().numpy(), 2 * w.detach().cpu().numpy(), rtol=1e-6)


def test_moving_between_two_devices_and_back() -> None:
    x = gradviz.ones(2, device=S0, requires_grad=True)
    y = x.to(S1) * 3
    assert y.device == S1
    (y.to(S0) + x).sum().backward()
    assert x.grad.device == S0 and x.grad.tolist() == [4.0, 4.0]


MIXERS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "cat": lambda a, b: gradviz.cat([a, b]),
    "where": lambda a, b: gradviz.where(a > 0, a, b),
    "mse_loss": lambda a, b: nn.functional.mse_loss(a, b),
    "linear": lambda a, b: nn.functional.linear(a, b),
}


@pytest.mark.parametrize("op", list(MIXERS))
@pytest.mark.parametrize(("a", "b"), [("strict:0", "cpu"), ("strict:0", "strict:1")])
def test_mixing_devices_raises_pytorchs_error(op: str, a: str, b: str) -> None:
    x = gradviz.ones(2, 2, device=a, requires_grad=True)
    y = gradviz.ones(2, 2, device=b)
    with pytest.raises(RuntimeError) as err:
        MIXERS[op](x, y)
    first = str(err.value).splitlines()[0]
    assert first.startswith(
        f"Expected all tensors to be on the same device, but found at least two devices, "
        f"{a} and {b}!"
    )


def test_mixing_devices_in_a_layer_raises() -> None:
    layer = nn.Linear(3, 2).to(S0)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        layer(gradviz.ones(1, 3))


# ---------------------------------------------------------------------------- moving modules


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("scale", gradviz.tensor(2.0))
        self.register_buffer("steps", gradviz.tensor(0))

    def forward(self, x: gradviz.Tensor) -> gradviz.Tensor:
        return self.bn(self.fc(x)) * self.scale


@pytest.mark.parametrize("device", device_params("strict:0"))
def test_module_to_moves_parameters_and_buffers(device: str) -> None:
    dev = gradviz.device(device)
    net = _Net()
    weight = net.fc.weight
    before = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    net(gradviz.randn(5, 3)).sum().backward()
    assert net.to(dev) is net
    assert net.fc.weight is weight  # the same Parameter: optimizers keep working
    assert weight.grad.device == dev  # its gradient moved with it
    for name, p in net.named_parameters():
        assert p.device == dev and isinstance(p, nn.Parameter), name
    for name, b in net.named_buffers():
        assert b.device == dev, name
    assert net.steps.dtype is gradviz.int64  # buffers keep their dtype
    state = net.state_dict()
    assert {k: v.device for k, v in state.items()} == {k: dev for k in before}
    out = net(gradviz.randn(5, 3, device=dev))
    out.sum().backward()
    assert out.device == dev and net.bn.running_mean.device == dev
    assert net.bn.num_batches_tracked.item() == 2
    net.cpu()
    assert all(t.device == CPU for t in [*net.parameters(), *net.buffers()])
    assert weight.grad.device == CPU


def test_module_to_device_and_dtype_together() -> None:
    net = _Net().to(S1, gradviz.float64)
    assert net.fc.weight.device == S1 and net.fc.weight.dtype is gradviz.float64
    assert net.bn.running_var.dtype is gradviz.float64
    assert net.steps.dtype is gradviz.int64 and net.steps.device == S1
    net.to(device="strict:0", dtype=gradviz.float32)
    assert net.fc.bias.device == S0 and net.fc.bias.dtype is gradviz.float32


def test_load_state_dict_copies_into_the_parameters_device() -> None:
    src = _Net()
    dst = _Net().to(S1)
    dst.load_state_dict(src.state_dict())
    assert dst.fc.weight.device == S1
    np.testing.assert_array_equal(
        dst.fc.weight.detach().cpu().numpy(), src.fc.weight.detach().numpy()
    )
    back = _Net()
    back.load_state_dict(dst.state_dict())
    assert back.fc.weight.device == CPU


def test_save_and_load_keep_the_device(tmp_path: Any) -> None:
    net = _Net().to(S1)
    path = tmp_path / "net.gv"
    gradviz.save(net.state_dict(), path)
    loaded = gradviz.load(path)
    assert {v.device for v in loaded.values()} == {S1}
    on_cpu = gradviz.load(path, map_location="cpu")
    assert {v.device for v in on_cpu.values()} == {CPU}
