"""Devices the device tests run on: the ``strict`` stand-in always, ``cuda`` when usable.

``strict:N`` is backed by ``array_api_strict``: it refuses NumPy-only calls and mixing
devices, as CuPy does, so a suite that passes there runs on a GPU. The ``cuda`` parameters
carry the ``gpu`` mark and skip, with the reason, where ``gradviz.cuda.is_available()`` is
False (no CuPy, or no GPU); on a machine with a GPU they run the same suite on CuPy.
"""

from __future__ import annotations

from typing import Any

import pytest

import gradviz

pytest.importorskip("array_api_strict")


def _cuda_skip_reason() -> str:
    reason = gradviz.cuda.why_unavailable() or ""
    return "no usable CUDA GPU: " + reason.splitlines()[0] if reason else ""


CUDA_REASON = _cuda_skip_reason()
needs_gpu = [pytest.mark.gpu, pytest.mark.skipif(bool(CUDA_REASON), reason=CUDA_REASON)]


def device_params(strict: str) -> list[Any]:
    """Return pytest params: ``strict`` (a ``strict:N`` device) and ``cuda`` (GPU-only)."""
    return [
        pytest.param(strict, id=strict.replace(":", "")),
        pytest.param("cuda", id="cuda", marks=needs_gpu),
    ]


def tolerance(device: gradviz.Device, dtype: gradviz.dtype = gradviz.float64) -> dict[str, float]:
    """How close a device's numbers must be to the CPU's.

    The strict device computes with NumPy underneath, so it must agree to rounding; a GPU
    sums in another order (and uses fused multiply-adds), so it gets float rounding room.
    """
    if device.type == "strict":
        return (
            {"rtol": 1e-12, "atol": 1e-12}
            if dtype is gradviz.float64
            else {"rtol": 1e-6, "atol": 1e-7}
        )
    return (
        {"rtol": 1e-9, "atol": 1e-10} if dtype is gradviz.float64 else {"rtol": 2e-4, "atol": 1e-5}
    )


@pytest.fixture(params=device_params("strict:0"))
def device(request: pytest.FixtureRequest) -> gradviz.Device:
    """The device under test: ``strict:0``, or ``cuda`` on a machine with a GPU."""
    return gradviz.device(request.param)


@pytest.fixture(autouse=True)
def _reset_default_device() -> Any:
    """Put the default device back on the CPU after each test, even a failing one."""
    yield
    gradviz.set_default_device(None)
