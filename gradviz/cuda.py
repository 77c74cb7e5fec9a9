"""``gradviz.cuda``: is a CUDA GPU usable, how many, which one is current, synchronize, seeding.

CUDA tensors are CuPy arrays. Install CuPy with ``pip install 'gradviz[cuda]'`` (the
``cupy-cuda12x`` wheel, for CUDA 12) or ``pip install cupy-cuda13x`` (CUDA 13); install
exactly one of them. Nothing here imports CuPy before it is asked for.

``is_available()``, ``device_count()`` and ``why_unavailable()`` never raise: without CuPy
or without a GPU they answer False, 0 and the reason. The other functions need a usable
GPU and raise :class:`~gradviz.errors.DeviceError` (a ``RuntimeError``) saying which piece
is missing and how to fix it, where PyTorch would raise too.

Kernels run on CuPy's *current* device. Tensors on ``cuda:0`` need nothing more; for
another GPU make it current first, with :func:`set_device` or ``with gradviz.cuda.device(1):``
(as in PyTorch).

Example:
    >>> import gradviz
    >>> gradviz.cuda.is_available() in (True, False)
    True
"""

from __future__ import annotations

from typing import Any

from gradviz.engine import backend
from gradviz.errors import DeviceError

__all__ = [
    "is_available",
    "device_count",
    "why_unavailable",
    "current_device",
    "set_device",
    "device",
    "get_device_name",
    "get_device_capability",
    "synchronize",
    "empty_cache",
    "memory_allocated",
    "manual_seed",
    "manual_seed_all",
]


def why_unavailable() -> str | None:
    """Return why CUDA cannot be used (what is missing, then ``Fix: ...``), or None.

    Example:
        >>> import gradviz
        >>> reason = gradviz.cuda.why_unavailable()
        >>> reason is None or "Fix:" in reason
        True
    """
    return backend.cuda_probe().problem


def is_available() -> bool:
    """Return True when CuPy imports and at least one CUDA GPU is usable."""
    return backend.cuda_probe().problem is None


def device_count() -> int:
    """Return the number of usable CUDA GPUs (0 without CuPy or without a GPU)."""
    return backend.cuda_probe().gpus


def _cupy(what: str) -> Any:
    """Return CuPy, or raise the DeviceError that says why ``what`` cannot run."""
    probe = backend.cuda_probe()
    if probe.problem is not None:
        raise DeviceError(f"{what} needs a CUDA GPU: {probe.problem}") from probe.cause
    return probe.cupy


def _ordinal(what: str, dev: Any) -> int:
    """Return the GPU ordinal that ``dev`` (None, int, str or Device) names."""
    if dev is None:
        return current_device()
    d = backend.device(dev)
    if d.type != "cuda":
        raise ValueError(f"{what}: expected a CUDA device, got {d}")
    count = backend.cuda_probe().gpus
    if d.index is None or d.index >= count:
        raise DeviceError(
            f"CUDA error: invalid device ordinal: {what} was given {d}, but this machine has "
            f"{count} CUDA device{'s' if count != 1 else ''}.\n"
            "Fix: use an ordinal below gradviz.cuda.device_count()."
        )
    return d.index


def current_device() -> int:
    """Return the ordinal of the current CUDA device (where CuPy runs kernels).

    Raises:
        DeviceError: CUDA cannot be used (the message says why and how to fix it).
    """
    cupy = _cupy("gradviz.cuda.current_device()")
    return int(cupy.cuda.runtime.getDevice())


def set_device(device: Any) -> None:
    """Make ``device`` (an ordinal, ``"cuda:N"`` or a Device) the current CUDA device.

    Args:
        device: the GPU to make current.

    Raises:
        DeviceError: CUDA cannot be used, or the ordinal does not exist.
        ValueError: ``device`` is not a CUDA device.
    """
    cupy = _cupy("gradviz.cuda.set_device()")
    cupy.cuda.Device(_ordinal("gradviz.cuda.set_device()", device)).use()


class device:  # noqa: N801 - PyTorch's spelling (torch.cuda.device)
    """Context manager that makes a CUDA device current inside the block.

    Args:
        device: an ordinal, ``"cuda:N"`` or a Device; None leaves the current device.

    Raises:
        DeviceError: on entry, when CUDA cannot be used or the ordinal does not exist.
    """

    def __init__(self, device: Any) -> None:
        self.device = device
        self._previous: int | None = None

    def __enter__(self) -> device:
        if self.device is not None:
            self._previous = current_device()
            set_device(self.device)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            set_device(self._previous)
            self._previous = None


def get_device_name(device: Any = None) -> str:
    """Return the name of a CUDA device (the current one by default), e.g. ``"NVIDIA H100"``.

    Raises:
        DeviceError: CUDA cannot be used, or the ordinal does not exist.
    """
    cupy = _cupy("gradviz.cuda.get_device_name()")
    props = cupy.cuda.runtime.getDeviceProperties(_ordinal("get_device_name()", device))
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device: Any = None) -> tuple[int, int]:
    """Return a CUDA device's compute capability as ``(major, minor)``, e.g. ``(9, 0)``.

    Raises:
        DeviceError: CUDA cannot be used, or the ordinal does not exist.
    """
    cupy = _cupy("gradviz.cuda.get_device_capability()")
    props = cupy.cuda.runtime.getDeviceProperties(_ordinal("get_device_capability()", device))
    return int(props["major"]), int(props["minor"])


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on a CUDA device (the current one by default) is done.

    Time GPU work with it: kernels run asynchronously, so a timer read without it
    measures only the launches.

    Raises:
        DeviceError: CUDA cannot be used (as ``torch.cuda.synchronize`` raises without CUDA).
    """
    cupy = _cupy("gradviz.cuda.synchronize()")
    with cupy.cuda.Device(_ordinal("synchronize()", device)):
        cupy.cuda.get_current_stream().synchronize()


def empty_cache() -> None:
    """Give the GPU memory that CuPy's pool holds but no array uses back to the driver.

    Does nothing without CuPy (there is no cache then), as in PyTorch.
    """
    probe = backend.cuda_probe()
    if probe.cupy is not None and probe.problem is None:
        probe.cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device: Any = None) -> int:
    """Return the bytes of GPU memory that arrays on a CUDA device occupy now.

    Raises:
        DeviceError: CUDA cannot be used, or the ordinal does not exist.
    """
    cupy = _cupy("gradviz.cuda.memory_allocated()")
    with cupy.cuda.Device(_ordinal("memory_allocated()", device)):
        return int(cupy.get_default_memory_pool().used_bytes())


def manual_seed(seed: int) -> None:
    """Seed gradviz's random generator.

    gradviz draws random numbers on the host for every device and moves them over, so one
    generator serves the CPU and every GPU, and a seed gives the same numbers everywhere.
    """
    from gradviz.engine.creation import manual_seed as _seed  # noqa: PLC0415

    _seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed gradviz's random generator (the same as :func:`manual_seed`: there is one)."""
    manual_seed(seed)
