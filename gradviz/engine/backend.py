"""Devices and their array namespaces: the one place that knows NumPy and CuPy.

A :class:`Device` names where a tensor's data lives. Each device has an *array
namespace* ``xp`` that op kernels use (``xp.exp(x)``): ``numpy`` on the CPU, ``cupy`` on
CUDA. Kernels that the Python Array API standard lacks (scatter-add, ``erf``) live here,
one implementation per namespace. CuPy is imported lazily, only when a CUDA device is
asked for.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.engine import dtypes as _dtypes
from gradviz.errors import DeviceError

__all__ = [
    "Device",
    "device",
    "cpu",
    "namespace",
    "device_of",
    "to_host",
    "transfer",
    "default_device",
    "set_default_device",
    "scatter_add",
    "erf",
    "can_view",
    "is_contiguous",
    "copy",
    "zeros",
    "full",
    "arange",
    "asarray",
    "getitem",
    "setitem",
    "from_host",
    "quiet",
    "loud",
]


class Device:
    """Where tensor data lives: ``cpu``, ``cuda:N``, or the test stand-in ``strict:N``.

    ``strict`` devices are backed by ``array_api_strict`` (two devices, 0 and 1): an array
    namespace that refuses everything outside the Array API standard and refuses to mix
    devices, as CuPy does. They prove device-independence on machines without a GPU.

    Args:
        type: ``"cpu"``, ``"cuda"`` or ``"strict"``.
        index: the GPU ordinal for CUDA devices, else None.
    """

    __slots__ = ("type", "index", "_xp")

    def __init__(self, type: str, index: int | None = None) -> None:  # noqa: A002
        self.type = type
        self.index = index
        self._xp: Any = np if type == "cpu" else None

    @property
    def xp(self) -> Any:
        """The array namespace of this device (``numpy`` or ``cupy``)."""
        if self._xp is None:
            self._xp = _import_strict() if self.type == "strict" else _import_cupy()
        return self._xp

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


cpu = Device("cpu")
_cuda_devices: dict[tuple[str, int], Device] = {}


def _import_cupy() -> Any:
    try:
        import cupy  # noqa: PLC0415 - optional dependency, imported on first use
    except ImportError as err:
        raise DeviceError(
            "CUDA tensors need CuPy, which is not installed.\n"
            "Fix: pip install 'gradviz[cuda]' (CuPy for CUDA 12) on a machine with an "
            "NVIDIA GPU, or use device='cpu'."
        ) from err
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:
        raise DeviceError(
            f"CuPy is installed but no CUDA GPU is usable ({err}).\n"
            "Fix: run on a machine with an NVIDIA GPU and driver, or use device='cpu'."
        ) from err
    if count == 0:
        raise DeviceError("CuPy is installed but no CUDA GPU was found. Use device='cpu'.")
    return cupy


def _import_strict() -> Any:
    try:
        import array_api_strict  # noqa: PLC0415 - test-only stand-in, imported on first use
    except ImportError as err:
        raise DeviceError(
            "The 'strict' stand-in device needs array-api-strict.\n"
            "Fix: pip install array-api-strict (it comes with gradviz[test])."
        ) from err
    _dtypes.register_namespace(array_api_strict)
    return array_api_strict


_STRICT_NAMES = ("CPU_DEVICE", "device1")


def device(spec: str | Device | None = None, index: int | None = None) -> Device:
    """Return the device named by ``spec`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``).

    Args:
        spec: a device string or Device; None means the CPU.
        index: the GPU ordinal when ``spec`` is ``"cuda"`` without one.

    Returns:
        The (shared) Device object.

    Raises:
        RuntimeError: the string names no device type gradviz knows.

    Example:
        >>> import gradviz
        >>> gradviz.device("cpu")
        device(type='cpu')
    """
    if spec is None or isinstance(spec, Device):
        return spec or cpu
    kind, _, ordinal = str(spec).partition(":")
    if kind == "cpu":
        return cpu
    if kind in ("cuda", "strict"):
        i = int(ordinal) if ordinal else (index or 0)
        if (kind, i) not in _cuda_devices:
            _cuda_devices[kind, i] = Device(kind, i)
        return _cuda_devices[kind, i]
    raise RuntimeError(
        "Expected one of cpu, cuda device type at start of device string: " + str(spec)
    )


_default_device: list[Device | None] = [None]


def default_device() -> Device:
    """Return the device that creation functions use when given none (the CPU at start)."""
    return _default_device[0] or cpu


def set_default_device(spec: str | Device | None) -> None:
    """Make creation functions put new tensors on ``spec`` (None restores the CPU)."""
    _default_device[0] = None if spec is None else device(spec)


def namespace(array: Any) -> Any:
    """Return the array namespace (``numpy``, ``cupy``, ...) that ``array`` belongs to."""
    if type(array) is np.ndarray:
        return np
    return array.__array_namespace__()


def device_of(array: Any) -> Device:
    """Return the Device an array lives on."""
    if type(array) is np.ndarray:
        return cpu
    dev = getattr(array, "device", None)
    ordinal = getattr(dev, "id", None)
    if ordinal is not None:
        return device("cuda", ordinal)
    name = getattr(dev, "_device", None)
    if name in _STRICT_NAMES:
        return device("strict", _STRICT_NAMES.index(name))
    return cpu


def to_host(array: Any) -> np.ndarray:
    """Return ``array`` as a NumPy array on the host (a copy only when it is on a GPU)."""
    if type(array) is np.ndarray:
        return array
    if hasattr(array, "get"):
        return array.get()
    if hasattr(array, "_array"):  # array_api_strict keeps its NumPy array here
        return np.asarray(array._array)
    return np.asarray(array)


def transfer(array: Any, dev: Device) -> Any:
    """Return ``array`` copied to device ``dev`` (from any device)."""
    if dev.type == "cpu":
        return to_host(array).copy() if type(array) is not np.ndarray else array.copy()
    host = to_host(array)
    if dev.type == "strict":
        xp = dev.xp
        return xp.asarray(host, device=xp.Device(_STRICT_NAMES[dev.index or 0]), copy=True)
    xp = dev.xp
    with xp.cuda.Device(dev.index or 0):
        return xp.asarray(host)


# NOTE: PyTorch computes 0/0, log(-1), overflow... silently (NaN and inf are values, and
# anomaly mode is the tool that reports them); NumPy warns. Kernels run with NumPy's
# floating-point warnings off. ``np.errstate`` costs ~1.5 us per use, too much for every
# op, so the engine sets NumPy's error-state context variable directly (two C calls),
# falling back to ``np.errstate`` where that private hook is missing.
try:
    from numpy._core._ufunc_config import (  # type: ignore[attr-defined]
        _extobj_contextvar,
        _make_extobj,
    )

    # Bound C methods, not Python functions: no extra frame on the hot path.
    quiet: Callable[[], Any] = functools.partial(_extobj_contextvar.set, _make_extobj(all="ignore"))
    loud: Callable[[Any], None] = _extobj_contextvar.reset

except ImportError:  # pragma: no cover - other NumPy layouts

    def quiet() -> Any:
        """Turn NumPy's floating-point warnings off; pass the result to :func:`loud`."""
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def loud(token: Any) -> None:
        """Restore NumPy's floating-point warnings as they were before :func:`quiet`."""
        token.__exit__(None, None, None)


def is_contiguous(array: Any) -> bool:
    """Return True when ``array`` is laid out in row-major order (PyTorch's ``is_contiguous``)."""
    flags = getattr(array, "flags", None)
    if flags is None:
        flags = getattr(getattr(array, "_array", None), "flags", None)  # array_api_strict
    return True if flags is None else bool(flags.c_contiguous)


def copy(array: Any, contiguous: bool = False) -> Any:
    """Return a copy of ``array``: row-major when ``contiguous``, else in the same layout."""
    if type(array) is np.ndarray:
        return np.array(array, order="C" if contiguous else "K")
    return namespace(array).asarray(array, copy=True)


def can_view(array: Any, shape: tuple[int, ...]) -> bool:
    """Return True when ``array`` can be reshaped to ``shape`` without copying (as a view).

    PyTorch's ``reshape`` is a view exactly when the strides allow it, and ``view`` refuses
    otherwise; the array libraries answer the same question through ``copy=False``.
    """
    if is_contiguous(array):
        return True
    xp = namespace(array)
    try:
        xp.reshape(array, shape, copy=False)
    except (ValueError, AttributeError):  # NumPy raises ValueError, array_api_strict AttributeError
        return False
    except TypeError:  # a namespace without ``copy=``: only contiguous data is known to fit
        return False
    return True


def _is_basic(key: tuple[Any, ...]) -> bool:
    return all(k is None or k is Ellipsis or isinstance(k, int | slice) for k in key)


def getitem(array: Any, key: Any) -> Any:
    """Return ``array[key]`` with NumPy's indexing rules on every namespace.

    The Array API standard leaves out partial keys (``a[0]`` of a matrix) and advanced
    indexing mixed with slices; array_api_strict refuses them, so its kernel completes
    partial keys with ``...`` and runs advanced keys on the NumPy array it wraps.
    """
    if type(array) is np.ndarray or not hasattr(array, "_array"):
        return array[key]
    key = key if isinstance(key, tuple) else (key,)
    if _is_basic(key):
        return array[key if Ellipsis in key else key + (Ellipsis,)]
    result = np.asarray(array._array[_host_key(array, key)])
    return namespace(array).asarray(result, device=array.device)


def setitem(array: Any, key: Any, value: Any) -> None:
    """Do ``array[key] = value`` with NumPy's indexing rules on every namespace."""
    if type(array) is np.ndarray or not hasattr(array, "_array"):
        array[key] = value
        return
    key = key if isinstance(key, tuple) else (key,)
    if _is_basic(key):
        array[key if Ellipsis in key else key + (Ellipsis,)] = value
        return
    array._array[_host_key(array, key)] = getattr(value, "_array", value)


def _host_key(array: Any, key: tuple[Any, ...]) -> tuple[Any, ...]:
    out = []
    for k in key:
        if hasattr(k, "_array"):
            if k.device != array.device:
                raise ValueError(
                    f"index on device {k.device} used with an array on device {array.device}"
                )
            out.append(k._array)
        else:
            out.append(k)
    return tuple(out)


def _placed(like: Any) -> dict[str, Any]:
    """Return the keyword that puts a new array on ``like``'s device.

    NumPy has one device; CuPy creates arrays on the current device (its own context);
    namespaces that follow the standard (array_api_strict) take ``device=``.
    """
    if isinstance(like, np.ndarray | np.generic) or not hasattr(like, "_array"):
        return {}
    return {"device": like.device}


def full(like: Any, shape: tuple[int, ...], value: Any, dtype: Any = None) -> Any:
    """Return ``value`` in every element of ``shape``, on ``like``'s device and dtype."""
    dt = like.dtype if dtype is None else dtype
    return namespace(like).full(shape, value, dtype=dt, **_placed(like))


def arange(like: Any, n: int, start: int = 0) -> Any:
    """Return the integers ``start .. start + n - 1`` on ``like``'s device."""
    return namespace(like).arange(start, start + n, **_placed(like))


def asarray(value: Any, like: Any, dtype: Any = None) -> Any:
    """Return ``value`` (a number, list or array) as an array on ``like``'s device."""
    if dtype is None:
        return namespace(like).asarray(value, **_placed(like))
    return namespace(like).asarray(value, dtype=dtype, **_placed(like))


def from_host(host: np.ndarray, like: Any) -> Any:
    """Return the NumPy array ``host`` as an array of ``like``'s namespace, device and dtype."""
    if type(like) is np.ndarray:
        return host.astype(like.dtype, copy=False)
    xp = namespace(like)
    return xp.astype(xp.asarray(host, device=like.device), like.dtype)


def zeros(like: Any, shape: tuple[int, ...], dtype: Any = None) -> Any:
    """Return zeros of ``shape`` on ``like``'s device (in ``like``'s dtype unless given)."""
    dt = like.dtype if dtype is None else dtype
    return namespace(like).zeros(shape, dtype=dt, **_placed(like))


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """Add ``values`` into ``target[index]`` in place, summing repeated indices."""
    if type(target) is np.ndarray:
        np.add.at(target, index, values)
        return
    if hasattr(target, "_array"):  # array_api_strict: the stand-in's own kernel
        idx = (
            tuple(i._array if hasattr(i, "_array") else i for i in index)
            if isinstance(index, tuple)
            else getattr(index, "_array", index)
        )
        np.add.at(target._array, idx, values._array if hasattr(values, "_array") else values)
        return
    import cupyx  # noqa: PLC0415 - only ever reached with CuPy arrays

    cupyx.scatter_add(target, index, values)


_np_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: Any) -> Any:
    """Return the error function of ``x`` elementwise, in ``x``'s dtype."""
    if isinstance(x, np.ndarray | np.generic):
        # NOTE: np.asarray, because a ufunc from frompyfunc returns a Python float for 0-d input.
        return np.asarray(_np_erf(x), dtype=x.dtype)
    if hasattr(x, "_array"):  # array_api_strict: the stand-in's own kernel
        host = np.asarray(x._array)
        return namespace(x).asarray(np.asarray(_np_erf(host), dtype=host.dtype), device=x.device)
    import cupyx.scipy.special  # noqa: PLC0415 - only ever reached with CuPy arrays

    return cupyx.scipy.special.erf(x)
