"""The engine on the ``strict`` stand-in device (array_api_strict): device independence.

``strict:0`` and ``strict:1`` are backed by ``array_api_strict``, which refuses everything
outside the Python Array API standard (``.astype`` methods, NumPy dtypes, partial
indexing...) and refuses to mix its devices, as CuPy refuses to mix GPUs and host arrays.
Every op case of ``op_cases.py`` runs forward and backward there and must give the CPU's
numbers, with every result and gradient on the input's device.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.errors import DeviceError
from tests.engine.op_cases import CASES, INPLACE_CASES, Case, flat_outputs, make_inputs

pytest.importorskip("array_api_strict")

S0 = gradviz.device("strict:0")
S1 = gradviz.device("strict:1")
ALL_CASES = CASES + INPLACE_CASES


@pytest.fixture
def on_strict(request: pytest.FixtureRequest) -> Iterator[gradviz.Device]:
    """Make ``strict:N`` the default device (index tensors built inside cases land there)."""
    dev = request.param
    gradviz.set_default_device(dev)
    try:
        yield dev
    finally:
        gradviz.set_default_device(None)


def _run(case: Case, device: Any) -> tuple[list[np.ndarray], list[np.ndarray | None], list[Any]]:
    xs = [
        gradviz.tensor(v, dtype=gradviz.float64, requires_grad=a.grad, device=device)
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


@pytest.mark.parametrize("on_strict", [S0, S1], indirect=True, ids=["strict0", "strict1"])
@pytest.mark.parametrize("case", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_every_op_case_runs_on_strict(case: Case, on_strict: gradviz.Device) -> None:
    outs, grads, devices = _run(case, on_strict)
    assert all(d == on_strict for d in devices), devices
    gradviz.set_default_device(None)
    ref_outs, ref_grads, _ = _run(case, "cpu")
    assert len(outs) == len(ref_outs)
    for got, want in zip(outs, ref_outs, strict=False):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, ref_grads, strict=False):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dev", [S0, S1], ids=["strict0", "strict1"])
def test_creation_with_device(dev: gradviz.Device) -> None:
    made = [
        gradviz.zeros(2, 3, device=dev),
        gradviz.ones(2, device=dev, dtype=gradviz.float64),
        gradviz.full((2,), 7, device=dev),
        gradviz.empty(3, device=dev),
        gradviz.eye(2, device=dev),
        gradviz.arange(5, device=dev),
        gradviz.linspace(0, 1, 5, device=dev),
        gradviz.rand(2, device=dev),
        gradviz.randn(2, device=dev),
        gradviz.randint(0, 5, (3,), device=dev),
        gradviz.tensor([[1.0, 2.0]], device=dev),
        gradviz.tensor([True, False], device=dev),
    ]
    for t in made:
        assert t.device == dev
        assert str(t.device) == str(dev)
    like = gradviz.zeros_like(made[0])
    assert like.device == dev and like.shape == (2, 3)
    assert gradviz.ones_like(made[1]).dtype is gradviz.float64
    assert made[2].dtype is gradviz.int64
    assert made[5].tolist() == [0, 1, 2, 3, 4]
    assert made[0].new_ones(2).device == dev
    assert repr(made[10]) == f"tensor([[1., 2.]], device='{dev}')"
    assert repr(dev) == f"device(type='strict', index={dev.index})"


def test_to_device_moves_data_and_gradients_back() -> None:
    x = gradviz.tensor([1.0, 2.0, 3.0], requires_grad=True)
    on0 = x.to(S0)
    assert on0.device == S0 and on0.grad_fn.name() == "ToCopyBackward0"
    on1 = on0.to("strict:1")
    assert on1.device == S1
    assert on1.to(S1) is on1
    back = (on1 * 2).cpu()
    assert back.device == gradviz.device("cpu")
    back.sum().backward()
    assert x.grad.device == gradviz.device("cpu")
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    y = gradviz.ones(2, device=S0, requires_grad=True)
    (y.to(S1) * 3).sum().backward()
    assert y.grad.device == S0 and y.grad.tolist() == [3.0, 3.0]
    z = gradviz.ones(2).to(device=S1, dtype=gradviz.float64)
    assert (z.device, z.dtype) == (S1, gradviz.float64)


def test_host_access_on_strict() -> None:
    t = gradviz.tensor([[1.5, 2.0]], device=S1)
    with pytest.raises(TypeError, match="can't convert strict:1 device type tensor to numpy"):
        t.numpy()  # as PyTorch for a CUDA tensor
    assert t.cpu().numpy().tolist() == [[1.5, 2.0]]
    assert t.tolist() == [[1.5, 2.0]]
    assert t.sum().item() == 3.5
    assert float(t[0, 0]) == 1.5
    assert t.is_contiguous()


@pytest.mark.parametrize(
    ("a", "b"),
    [("strict:0", "strict:1"), ("strict:1", "strict:0"), ("strict:0", "cpu"), ("cpu", "strict:1")],
)
@pytest.mark.parametrize(
    "op",
    [
        lambda x, y: x + y,
        lambda x, y: x * y,
        lambda x, y: gradviz.maximum(x, y),
        lambda x, y: x @ y,
        lambda x, y: gradviz.cat([x, y]),
        lambda x, y: gradviz.where(x > 0, x, y),
    ],
    ids=["add", "mul", "maximum", "matmul", "cat", "where"],
)
def test_mixing_devices_raises_the_device_error(a: str, b: str, op: Any) -> None:
    x = gradviz.ones(2, 2, device=a, requires_grad=True)
    y = gradviz.ones(2, 2, device=b)
    with pytest.raises(RuntimeError) as err:
        op(x, y)
    assert isinstance(err.value, DeviceError)
    first = str(err.value).splitlines()[0]
    assert first.startswith(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{a} and {b}!"
    )
    assert "Fix: move the tensors to one device with .to(device)" in str(err.value)


def test_in_place_and_version_checks_on_strict() -> None:
    a = gradviz.ones(3, device=S1, requires_grad=True)
    b = a.exp()
    b.add_(1)
    with pytest.raises(RuntimeError, match="output 0 of Exp, is at version 1"):
        b.sum().backward()
    c = a * 1
    c[1:] = gradviz.zeros(2, device=S1)
    c.sum().backward()
    assert a.grad.tolist() == [1.0, 0.0, 0.0]
    with gradviz.no_grad():
        a.mul_(2).uniform_(0, 1)
    assert a.device == S1 and a._version == 2


def test_anomaly_mode_and_hooks_on_strict() -> None:
    x = gradviz.tensor([-1.0, 4.0], device=S0, requires_grad=True)
    seen: list[Any] = []
    x.register_hook(lambda g: seen.append(g.device))
    with pytest.warns(UserWarning) as record:
        with gradviz.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan"):
                gradviz.sqrt(x * 2).sum().backward()
    assert str(record[-1].message).startswith("Error detected in SqrtBackward0.")
    (x * 2).sum().backward()
    assert seen == [S0]


def test_double_backward_on_strict() -> None:
    x = gradviz.tensor([0.5, 1.5], dtype=gradviz.float64, device=S1, requires_grad=True)
    assert gradviz.autograd.gradcheck(lambda t: (t.tanh() * t).sum(), (x,))
    assert gradviz.autograd.gradgradcheck(lambda t: (t.sigmoid() ** 2).sum(), (x,))
    with pytest.warns(UserWarning, match="reference cycle"):
        (x**3).sum().backward(create_graph=True)
    assert x.grad.device == S1 and x.grad.grad_fn.name() == "CopyBackwards"


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(0, 3), (2, 0)], ids=str)
def test_softmax_of_an_empty_tensor_runs_on_strict(name: str, shape: tuple[int, int]) -> None:
    x = gradviz.zeros(shape, device=S1, requires_grad=True)
    y = getattr(gradviz, name)(x, 1)
    y.sum().backward()
    assert (tuple(y.shape), y.device, tuple(x.grad.shape), x.grad.device) == (shape, S1, shape, S1)
