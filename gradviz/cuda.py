"""``gradviz.cuda``: is a CUDA GPU usable, how many, synchronize, seeding.

CUDA tensors are CuPy arrays (``pip install 'gradviz[cuda]'``). Nothing here imports CuPy
until it is asked for, and every function answers without raising when CuPy or a GPU is
missing (``is_available()`` is then False and ``device_count()`` 0).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["is_available", "device_count", "synchronize", "manual_seed", "manual_seed_all", "why_unavailable"]


def _cupy() -> Any:
    try:
        return importlib.import_module("cupy")
    except ImportError:
        return None


def why_unavailable() -> str | None:
    """Return why CUDA cannot be used (a sentence with the fix), or None when it can."""
    cp = _cupy()
    if cp is None:
        return (
            "CuPy is not installed. Fix: pip install 'gradviz[cuda]' (CuPy for CUDA 12; "
            "for CUDA 13 install cupy-cuda13x) on a machine with an NVIDIA GPU."
        )
    try:
        n = cp.cuda.runtime.getDeviceCount()
    except Exception as err:  # noqa: BLE001 - CuPy raises several runtime error types
        return f"CuPy is installed but the CUDA runtime reports no usable GPU ({err})."
    if n == 0:
        return "CuPy is installed but no CUDA GPU was found."
    return None


def is_available() -> bool:
    """Return True when CuPy is installed and at least one CUDA GPU is usable."""
    return why_unavailable() is None


def device_count() -> int:
    """Return the number of usable CUDA GPUs (0 without CuPy or GPU)."""
    if not is_available():
        return 0
    return int(_cupy().cuda.runtime.getDeviceCount())


def synchronize(device: Any = None) -> None:
    """Wait for all work queued on the GPU to finish (no-op without CUDA)."""
    if is_available():
        cp = _cupy()
        index = getattr(device, "index", device)
        with cp.cuda.Device(index or 0):
            cp.cuda.Stream.null.synchronize()


def manual_seed(seed: int) -> None:
    """Seed gradviz's generator (random tensors are drawn on the host for every device)."""
    from gradviz.engine.creation import manual_seed as _seed  # noqa: PLC0415

    _seed(seed)


def manual_seed_all(seed: int) -> None:
    """Same as :func:`manual_seed` (one generator serves every device)."""
    manual_seed(seed)
