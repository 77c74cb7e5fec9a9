"""Asking for ``cuda`` where it cannot work: the error says which piece is missing and the fix.

Three situations, each faked here so the tests run on any machine: CuPy not installed,
CuPy installed but broken (its import fails), and CuPy working but no GPU (the CUDA
runtime fails, or finds none). ``gradviz.cuda`` answers False/0 without raising; making
a tensor or moving a module raises a :class:`DeviceError` (a ``RuntimeError``) that keeps
the original exception as its cause; ``gradviz doctor`` reports the same, and still exits
0 since CUDA is optional. A fake CuPy with one GPU checks the rest of ``gradviz.cuda``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

import gradviz
from gradviz import nn
from gradviz.cli import main
from gradviz.engine import backend
from gradviz.errors import DeviceError


class _BrokenCupyFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import cupy`` fail the way a CuPy wheel for the wrong CUDA version does."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name == "cupy":
            return importlib.machinery.ModuleSpec("cupy", self)
        return None

    def create_module(self, spec: Any) -> Any:
        raise ImportError("libcudart.so.12: cannot open shared object file: No such file")

    def exec_module(self, module: Any) -> None:  # pragma: no cover - never reached
        raise AssertionError


class _CudaRuntimeError(RuntimeError):
    """What CuPy raises when the driver is missing (``CUDARuntimeError``)."""


def _fake_cupy(count: int | None) -> types.ModuleType:
    """A CuPy stand-in: ``count`` GPUs, or a failing CUDA runtime when None."""
    cupy = types.ModuleType("cupy")
    cupy.__version__ = "13.6.0"
    state = {"current": 0}

    def get_device_count() -> int:
        if count is None:
            raise _CudaRuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
        return count

    class Device:
        def __init__(self, index: int = 0) -> None:
            self.id = index

        def use(self) -> None:
            state["current"] = self.id

        def __enter__(self) -> Any:
            self._saved = state["current"]
            state["current"] = self.id
            return self

        def __exit__(self, *exc: object) -> None:
            state["current"] = self._saved

    runtime = types.SimpleNamespace(
        getDeviceCount=get_device_count,
        getDevice=lambda: state["current"],
        getDeviceProperties=lambda i: {"name": f"Fake GPU {i}".encode(), "major": 9, "minor": 0},
        runtimeGetVersion=lambda: 12080,
        driverGetVersion=lambda: 12090,
    )
    cupy.cuda = types.SimpleNamespace(runtime=runtime, Device=Device)  # type: ignore[attr-defined]
    return cupy


@pytest.fixture
def fresh_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the test its own Device objects, so no namespace found earlier is reused."""
    monkeypatch.setattr(backend, "_indexed_devices", {})


@pytest.fixture
def no_cupy(monkeypatch: pytest.MonkeyPatch, fresh_devices: None) -> None:
    """CuPy not installed (whatever this machine has)."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail


@pytest.fixture
def broken_cupy(monkeypatch: pytest.MonkeyPatch, fresh_devices: None) -> Iterator[None]:
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    finder = _BrokenCupyFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


@pytest.fixture(params=[None, 0], ids=["runtime-fails", "zero-gpus"])
def no_gpu(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, fresh_devices: None
) -> int | None:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(request.param))
    return request.param


ATTEMPTS = {
    "zeros": lambda: gradviz.zeros(2, device="cuda"),
    "tensor-cuda:1": lambda: gradviz.tensor([1.0], device="cuda:1"),
    "Tensor.cuda": lambda: gradviz.ones(2).cuda(),
    "Tensor.to": lambda: gradviz.ones(2, requires_grad=True).to("cuda"),
    "Module.cuda": lambda: nn.Linear(2, 2).cuda(),
    "Module.to": lambda: nn.Linear(2, 2).to("cuda:0"),
    "default-device": lambda: gradviz.randn(2, device=gradviz.device(0)),
}


def _attempt(name: str) -> DeviceError:
    with pytest.raises(RuntimeError) as err:
        ATTEMPTS[name]()
    assert isinstance(err.value, DeviceError)
    return err.value


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_without_cupy_asking_for_cuda_says_install_cupy(no_cupy: None, name: str) -> None:
    err = _attempt(name)
    text = str(err)
    assert "CuPy is not installed" in text.splitlines()[0]
    assert "Fix: pip install 'gradviz[cuda]' (CuPy for CUDA 12)" in text
    assert "cupy-cuda13x for CUDA 13" in text
    assert isinstance(err.__cause__, ImportError)


@pytest.mark.parametrize("name", ["zeros", "Module.cuda"])
def test_with_a_broken_cupy_the_error_says_it_is_broken(broken_cupy: None, name: str) -> None:
    text = str(_attempt(name))
    assert "CuPy is installed but cannot be imported" in text.splitlines()[0]
    assert "libcudart.so.12" in text
    assert "cupy-cuda12x for CUDA 12, cupy-cuda13x for CUDA 13" in text


@pytest.mark.parametrize("name", ["zeros", "Tensor.to", "Module.to"])
def test_without_a_gpu_the_error_says_no_gpu(no_gpu: int | None, name: str) -> None:
    err = _attempt(name)
    first = str(err).splitlines()[0]
    assert "CuPy 13.6.0 is installed but no CUDA GPU" in first
    if no_gpu is None:
        assert "cudaErrorNoDevice" in first and isinstance(err.__cause__, _CudaRuntimeError)
    assert "Fix: run on a machine with an NVIDIA GPU" in str(err)


def test_a_failed_move_leaves_the_module_where_it_was(no_cupy: None) -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    with pytest.raises(DeviceError):
        net.to("cuda")
    assert {t.device for t in [*net.parameters(), *net.buffers()]} == {gradviz.device("cpu")}


def test_gradviz_cuda_answers_without_raising(no_cupy: None) -> None:
    assert gradviz.cuda.is_available() is False
    assert gradviz.cuda.device_count() == 0
    reason = gradviz.cuda.why_unavailable()
    assert reason is not None and reason.startswith("CuPy is not installed")
    gradviz.cuda.empty_cache()  # nothing to free, nothing raised (as in PyTorch)
    gradviz.cuda.manual_seed(5)
    a = gradviz.rand(3)
    gradviz.cuda.manual_seed_all(5)
    assert a.tolist() == gradviz.rand(3).tolist()  # one generator serves every device


@pytest.mark.parametrize(
    "call",
    [
        lambda: gradviz.cuda.synchronize(),
        lambda: gradviz.cuda.current_device(),
        lambda: gradviz.cuda.set_device(0),
        lambda: gradviz.cuda.get_device_name(),
        lambda: gradviz.cuda.get_device_capability(0),
        lambda: gradviz.cuda.memory_allocated(),
        lambda: gradviz.cuda.device(0).__enter__(),
    ],
    ids=["synchronize", "current_device", "set_device", "name", "capability", "memory", "ctx"],
)
def test_gpu_only_functions_raise_with_the_reason(no_cupy: None, call: Any) -> None:
    with pytest.raises(DeviceError, match=r"needs a CUDA GPU: CuPy is not installed"):
        call()


def test_gradviz_cuda_without_a_gpu(no_gpu: int | None) -> None:
    assert gradviz.cuda.is_available() is False
    assert gradviz.cuda.device_count() == 0
    assert "no CUDA GPU" in (gradviz.cuda.why_unavailable() or "")


def test_gradviz_cuda_with_one_gpu(monkeypatch: pytest.MonkeyPatch, fresh_devices: None) -> None:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(1))
    assert gradviz.cuda.is_available() is True
    assert gradviz.cuda.why_unavailable() is None
    assert gradviz.cuda.device_count() == 1
    assert gradviz.cuda.current_device() == 0
    assert gradviz.cuda.get_device_name() == "Fake GPU 0"
    assert gradviz.cuda.get_device_capability("cuda:0") == (9, 0)
    with gradviz.cuda.device(0):
        assert gradviz.cuda.current_device() == 0
    with pytest.raises(DeviceError, match=r"invalid device ordinal.*cuda:3"):
        gradviz.cuda.set_device(3)
    with pytest.raises(ValueError, match="expected a CUDA device, got strict:0"):
        gradviz.cuda.get_device_name("strict:0")
    with pytest.raises(DeviceError, match=r"CUDA error: invalid device ordinal: cuda:2"):
        gradviz.zeros(2, device="cuda:2")


# ---------------------------------------------------------------------------- gradviz doctor


def _doctor() -> tuple[int, dict[str, str]]:
    result = CliRunner().invoke(main, ["doctor"])
    lines = {}
    for line in result.output.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0] in ("ok", "!!"):
            lines[parts[1]] = parts[2]
    return result.exit_code, lines


def test_doctor_without_cupy(no_cupy: None) -> None:
    _, lines = _doctor()
    assert lines["cupy"] == (
        "not installed (optional, for NVIDIA GPUs: pip install 'gradviz[cuda]' for CUDA 12, "
        "pip install cupy-cuda13x for CUDA 13)"
    )
    assert lines["gpu"] == "none usable without CuPy (device='cuda' raises; the CPU works)"


def test_doctor_with_a_broken_cupy(broken_cupy: None) -> None:
    _, lines = _doctor()
    assert lines["cupy"].startswith("broken: CuPy is installed but cannot be imported")
    assert "-> fix: install the one CuPy wheel" in lines["cupy"]
    assert lines["gpu"].startswith("none usable without CuPy")


def test_doctor_without_a_gpu(no_gpu: int | None) -> None:
    _, lines = _doctor()
    assert lines["gpu"].startswith("none usable: CuPy 13.6.0 is installed but no CUDA GPU")
    assert "-> fix: run on a machine with an NVIDIA GPU" in lines["gpu"]


def test_doctor_with_a_gpu(monkeypatch: pytest.MonkeyPatch, fresh_devices: None) -> None:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(2))
    _, lines = _doctor()
    assert lines["gpu"] == (
        "2 CUDA devices usable: cuda:0 Fake GPU 0 (compute 9.0), cuda:1 Fake GPU 1 "
        "(compute 9.0); CUDA runtime 12.8, driver 12.9"
    )


def test_doctor_exit_status_does_not_depend_on_cuda(no_cupy: None) -> None:
    import shutil

    code, lines = _doctor()
    assert "cupy" in lines and "gpu" in lines
    if shutil.which("dot"):
        assert code == 0
