"""Devices and their array namespaces: the one place that knows NumPy and CuPy.

A :class:`Device` names where a tensor's data lives. Each device has an *array
namespace* ``xp`` that op kernels use (``xp.exp(x)``): ``numpy`` on the CPU, CuPy on
CUDA, ``array_api_strict`` on the ``strict`` stand-in device. Kernels that the Python
Array API standard lacks (scatter-add, ``erf``) live here, one implementation per
namespace. CuPy is imported lazily, only when a CUDA device is used, and is seen through
a thin compatibility layer that adds the few Array API names older CuPy releases lack
(``astype``, ``cumulative_sum``, ``linalg.vector_norm``, ``copy=`` on ``asarray``...), so
kernels written against the standard run on every CuPy release gradviz supports.

Invariants: ``namespace(a)`` is the namespace kernels must use for ``a``, and
``device.xp`` is the same object for every array on ``device``. Data crosses devices only
in :func:`transfer`, :func:`to_host`, :func:`host_copy`, :func:`from_host` and
:func:`full_on` (which fills an array on the host for the strict device).
"""

from __future__ import annotations

import functools
import importlib
import math
import types
from collections.abc import Callable
from typing import Any, NamedTuple

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
    "host_copy",
    "transfer",
    "default_device",
    "get_default_device",
    "set_default_device",
    "cuda_probe",
    "array_api_compat",
    "CudaProbe",
    "is_device_array",
    "full_on",
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

_DEVICE_TYPES = ("cpu", "cuda", "strict")
# array_api_strict's two devices, in the order of the ``strict:N`` index.
_STRICT_NAMES = ("CPU_DEVICE", "device1")


class Device:
    """Where tensor data lives: ``cpu``, ``cuda:N``, or the test stand-in ``strict:N``.

    ``strict`` devices are backed by ``array_api_strict`` (two devices, 0 and 1): an array
    namespace that refuses everything outside the Array API standard and refuses to mix
    devices, as CuPy does. They prove device-independence on machines without a GPU.

    Creating a Device never touches the hardware (as ``torch.device("cuda")`` works on a
    machine without a GPU); the first array made on it does, and raises a
    :class:`~gradviz.errors.DeviceError` that says what is missing and how to fix it.

    A device is also a context manager that makes it the default device of the creation
    functions inside the block (as ``with torch.device("cuda"):`` does).

    Args:
        type: ``"cpu"``, ``"cuda"`` or ``"strict"``.
        index: the ordinal for CUDA and strict devices, else None.

    Example:
        >>> import gradviz
        >>> with gradviz.device("strict:1"):
        ...     gradviz.zeros(2).device
        device(type='strict', index=1)
    """

    __slots__ = ("type", "index", "_xp", "_previous")

    def __init__(self, type: str, index: int | None = None) -> None:  # noqa: A002
        self.type = type
        self.index = index
        self._xp: Any = np if type == "cpu" else None
        self._previous: list[Device | None] = []

    @property
    def xp(self) -> Any:
        """The array namespace of this device (``numpy``, CuPy, ``array_api_strict``).

        Raises:
            DeviceError: the namespace cannot be used here (CuPy missing or broken, no
                GPU, a CUDA ordinal the machine does not have, array-api-strict missing).
        """
        if self._xp is None:
            self._xp = _import_strict() if self.type == "strict" else _import_cupy(self)
        return self._xp

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __enter__(self) -> Device:
        self._previous.append(_default_device[0])
        _default_device[0] = self
        return self

    def __exit__(self, *exc: object) -> None:
        _default_device[0] = self._previous.pop()


cpu = Device("cpu")
_indexed_devices: dict[tuple[str, int], Device] = {}


def device(type: Any = None, index: int | None = None) -> Device:  # noqa: A002
    """Return the device named by ``type`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``1``).

    Args:
        type: a device string (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"strict:N"``), a
            Device, a GPU ordinal (an int means ``cuda:N``, as in PyTorch), or None for
            the CPU.
        index: the ordinal when ``type`` names a device type without one.

    Returns:
        The (shared) Device object; ``"cuda"`` without an ordinal means ``cuda:0``.

    Raises:
        RuntimeError: the string is not a device (PyTorch's messages), the ordinal is
            negative, or an ordinal is given twice.
        DeviceError: a ``strict`` ordinal other than 0 or 1.

    Example:
        >>> import gradviz
        >>> gradviz.device("cpu"), gradviz.device("cuda", 1)
        (device(type='cpu'), device(type='cuda', index=1))
    """
    if isinstance(type, Device) and index is None:
        return type
    if type is None:
        return cpu
    if isinstance(type, int) and not isinstance(type, bool):
        if index is not None:
            raise RuntimeError("device(): an ordinal was given twice: device(int, index)")
        return _indexed("cuda", type)
    if not isinstance(type, str):
        raise TypeError(
            "device(): expected a device string, a Device or an int, got " + type.__class__.__name__
        )
    if not type:
        raise RuntimeError("Device string must not be empty")
    kind, colon, ordinal = type.partition(":")
    if not (kind.replace("_", "a").isalpha() and kind.isascii()):  # PyTorch's [a-zA-Z_]+
        raise RuntimeError(f"Invalid device string: '{type}'")
    if kind not in _DEVICE_TYPES:
        raise RuntimeError(
            "Expected one of cpu, cuda, strict device type at start of device string: " + type
        )
    if colon:
        if not ordinal.isdigit() or (len(ordinal) > 1 and ordinal[0] == "0"):
            raise RuntimeError(f"Invalid device string: '{type}'")
        if index is not None:
            raise RuntimeError(
                "type (string) must not include an index because index was passed "
                f"explicitly: {type}"
            )
        index = int(ordinal)
    if kind == "cpu":
        if index not in (None, 0):
            raise RuntimeError(f"CPU device index must be -1 or zero, got {index}")
        return cpu
    return _indexed(kind, 0 if index is None else index)


def _indexed(kind: str, index: int) -> Device:
    if index < 0:
        raise RuntimeError(f"Device index must not be negative, got {kind}:{index}")
    if kind == "strict" and index >= len(_STRICT_NAMES):
        raise DeviceError(
            f"strict:{index} does not exist: the stand-in device has strict:0 and strict:1.\n"
            "Fix: use 'strict:0' or 'strict:1'."
        )
    found = _indexed_devices.get((kind, index))
    if found is None:
        found = _indexed_devices[kind, index] = Device(kind, index)
    return found


# ---------------------------------------------------------------------------- CUDA / CuPy


class CudaProbe(NamedTuple):
    """What :func:`cuda_probe` found: the CuPy module, how many GPUs, and any problem.

    Attributes:
        cupy: the CuPy module, or None when it is missing or cannot be imported.
        gpus: the number of usable CUDA GPUs (0 when there is a problem).
        problem: why CUDA cannot be used (first line: what; then ``Fix: ...``), or None.
        cause: the exception behind ``problem``, or None.
    """

    cupy: Any
    gpus: int
    problem: str | None
    cause: BaseException | None


_CUPY_WHEELS = (
    "pip install 'gradviz[cuda]' (CuPy for CUDA 12), or pip install cupy-cuda13x for CUDA 13"
)


def cuda_probe() -> CudaProbe:
    """Find out whether CUDA can be used: CuPy importable, and at least one GPU usable.

    Never raises; nothing is cached, so a test can change what ``import cupy`` finds.

    Returns:
        A :class:`CudaProbe`; its ``problem`` says which piece is missing and how to fix it.
    """
    try:
        cupy = importlib.import_module("cupy")
    except ModuleNotFoundError as err:
        if err.name not in (None, "cupy"):
            return _broken_cupy(err)
        return CudaProbe(
            None,
            0,
            "CuPy is not installed, so there is no CUDA device.\n"
            f"Fix: {_CUPY_WHEELS}, on a machine with an NVIDIA GPU; or use device='cpu'.",
            err,
        )
    except ImportError as err:
        return _broken_cupy(err)
    version = getattr(cupy, "__version__", "?")
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as err:  # noqa: BLE001 - CuPy raises CUDARuntimeError and friends
        return CudaProbe(
            cupy,
            0,
            f"CuPy {version} is installed but no CUDA GPU is usable ({_first_line(err)}).\n"
            "Fix: run on a machine with an NVIDIA GPU and a driver that supports CuPy's CUDA "
            "version (nvidia-smi shows both); or use device='cpu'.",
            err,
        )
    if count <= 0:
        return CudaProbe(
            cupy,
            0,
            f"CuPy {version} is installed but no CUDA GPU was found.\n"
            "Fix: run on a machine with an NVIDIA GPU (nvidia-smi lists them); "
            "or use device='cpu'.",
            None,
        )
    return CudaProbe(cupy, count, None, None)


def _broken_cupy(err: ImportError) -> CudaProbe:
    return CudaProbe(
        None,
        0,
        f"CuPy is installed but cannot be imported ({_first_line(err)}).\n"
        "Fix: install the one CuPy wheel that matches the machine's CUDA version "
        "(cupy-cuda12x for CUDA 12, cupy-cuda13x for CUDA 13; `pip list | grep -i cupy` "
        "shows what is installed); or use device='cpu'.",
        err,
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _import_cupy(dev: Device) -> Any:
    probe = cuda_probe()
    if probe.problem is not None:
        raise DeviceError(f"cannot use {dev}: {probe.problem}") from probe.cause
    index = dev.index or 0
    if index >= probe.gpus:
        raise DeviceError(
            f"CUDA error: invalid device ordinal: {dev} was asked for, but this machine has "
            f"{probe.gpus} CUDA device{'s' if probe.gpus != 1 else ''} "
            f"(cuda:0 to cuda:{probe.gpus - 1}).\n"
            "Fix: use one of those ordinals (gradviz.cuda.device_count() says how many)."
        )
    return _cupy_namespace(probe.cupy)


def _import_strict() -> Any:
    try:
        import array_api_strict  # noqa: PLC0415 - test-only stand-in, imported on first use
    except ImportError as err:
        raise DeviceError(
            "The 'strict' stand-in device needs array-api-strict, which is not installed.\n"
            "Fix: pip install array-api-strict (it comes with gradviz[test])."
        ) from err
    _dtypes.register_namespace(array_api_strict)
    return array_api_strict


def _is_cupy(array: Any) -> bool:
    return type(array).__module__.partition(".")[0] == "cupy"


def is_device_array(value: Any) -> bool:
    """Return True for an array of a device namespace other than NumPy (CuPy, strict)."""
    if isinstance(value, np.ndarray | np.generic):
        return False
    return _is_cupy(value) or hasattr(value, "__array_namespace__")


# ---------------------------------------------------------------------------- default device

_default_device: list[Device | None] = [None]


def default_device() -> Device:
    """Return the device that creation functions use when given none (the CPU at start)."""
    return _default_device[0] or cpu


def get_default_device() -> Device:
    """Return the default device of the creation functions (PyTorch's name for it).

    Example:
        >>> from gradviz.engine.backend import get_default_device
        >>> get_default_device()
        device(type='cpu')
    """
    return default_device()


def set_default_device(device: Any) -> None:
    """Make creation functions put new tensors on ``device`` (None restores the CPU).

    Args:
        device: a device string, Device, GPU ordinal, or None.

    Raises:
        RuntimeError: ``device`` names no device (see :func:`device`).

    Example:
        >>> import gradviz
        >>> gradviz.set_default_device("strict:0"); gradviz.ones(1).device
        device(type='strict', index=0)
        >>> gradviz.set_default_device(None)
    """
    _default_device[0] = None if device is None else _parse(device)


_parse = device


# ---------------------------------------------------------------------------- arrays


# Array type -> its namespace. Filled on first sight of each type (NumPy's is the fast path).
_NAMESPACES: dict[type, Any] = {}


def namespace(array: Any) -> Any:
    """Return the array namespace (``numpy``, CuPy, ...) that ``array`` belongs to.

    Raises:
        TypeError: ``array`` is not an array of a namespace gradviz knows.
    """
    if type(array) is np.ndarray:
        return np
    xp = _NAMESPACES.get(type(array))
    if xp is None:
        xp = _namespace_of_new_type(array)
    return xp


def _namespace_of_new_type(array: Any) -> Any:
    cls = type(array)
    if _is_cupy(array):
        xp = _cupy_namespace(importlib.import_module("cupy"))
    else:
        get = getattr(array, "__array_namespace__", None)
        if get is None:
            raise TypeError(
                f"expected an array of NumPy, CuPy or an Array API namespace, got "
                f"{cls.__module__}.{cls.__qualname__}"
            )
        xp = get()
    _NAMESPACES[cls] = xp
    return xp


def device_of(array: Any) -> Device:
    """Return the Device an array lives on."""
    if type(array) is np.ndarray:
        return cpu
    dev = getattr(array, "device", None)
    ordinal = getattr(dev, "id", None)
    if ordinal is not None:
        return _indexed("cuda", ordinal)
    name = getattr(dev, "_device", None)
    if name in _STRICT_NAMES:
        return _indexed("strict", _STRICT_NAMES.index(name))
    return cpu


def to_host(array: Any) -> np.ndarray:
    """Return ``array`` as a NumPy array on the host (a copy only when it is on a GPU).

    The result may share memory with ``array`` (NumPy arrays, the strict device); use
    :func:`host_copy` for an array that later changes to ``array`` cannot touch.
    """
    if type(array) is np.ndarray:
        return array
    if hasattr(array, "get"):  # CuPy: device-to-host copy
        return array.get()
    if hasattr(array, "_array"):  # array_api_strict keeps its NumPy array here
        return np.asarray(array._array)
    return np.asarray(array)


def host_copy(array: Any) -> np.ndarray:
    """Return a NumPy array holding ``array``'s values that shares no memory with it."""
    host = to_host(array)
    return host if _is_cupy(array) else np.array(host, copy=True)


def transfer(array: Any, dev: Device) -> Any:
    """Return a copy of ``array`` on device ``dev`` (from any device, to any device).

    CUDA to CUDA copies go from GPU to GPU; everything else goes through the host.

    Raises:
        DeviceError: ``dev`` cannot be used here (see :attr:`Device.xp`).
    """
    if dev.type == "cpu":
        return host_copy(array)
    xp = dev.xp
    if dev.type == "strict":
        place = xp.Device(_STRICT_NAMES[dev.index or 0])
        return xp.asarray(to_host(array), device=place, copy=True)
    with xp.cuda.Device(dev.index or 0):
        if _is_cupy(array):
            # NOTE: ndarray.copy() allocates on the *current* device, even for an array
            # that lives on another GPU: a device-to-device copy, no trip through the host.
            return array.copy()
        return xp.asarray(to_host(array))


def full_on(dev: Device, shape: tuple[int, ...], value: Any, dtype: Any) -> Any:
    """Return a new array of ``shape`` filled with ``value`` on ``dev``.

    Args:
        dev: where the array is made (on a GPU it is filled there, not copied over).
        shape: its shape.
        value: a Python number (cast to ``dtype`` as NumPy casts).
        dtype: a NumPy dtype (gradviz dtypes store one in ``.np``).
    """
    if dev.type == "cpu":
        return np.full(shape, value, dtype=dtype)
    if dev.type == "cuda":
        xp = dev.xp
        with xp.cuda.Device(dev.index or 0):
            return xp.full(shape, value, dtype=dtype)
    return transfer(np.full(shape, value, dtype=dtype), dev)


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
    if _is_cupy(like):
        with like.device:
            return namespace(like).asarray(host, dtype=like.dtype)
    xp = namespace(like)
    return xp.astype(xp.asarray(host, device=like.device), like.dtype)


def zeros(like: Any, shape: tuple[int, ...], dtype: Any = None) -> Any:
    """Return zeros of ``shape`` on ``like``'s device (in ``like``'s dtype unless given)."""
    dt = like.dtype if dtype is None else dtype
    return namespace(like).zeros(shape, dtype=dt, **_placed(like))


def reduce_max(array: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Return ``max(array, axis)`` (NumPy: the ufunc itself, without ``np.max``'s wrapper)."""
    if type(array) is np.ndarray:
        return _MAX_REDUCE(array, axis=axis, keepdims=keepdims)
    return namespace(array).max(array, axis=axis, keepdims=keepdims)


def indices_in_range(index: Any, n: int) -> bool:
    """Return True when every value of the integer array ``index`` lies in ``[0, n)``.

    On NumPy int64 it is one pass: viewed as unsigned, negative values are huge.
    """
    if type(index) is np.ndarray and index.dtype == np.int64:
        return not index.size or int(_MAX_REDUCE(index.view(np.uint64), axis=None)) < n
    xp = namespace(index)
    return not index.size or (int(xp.min(index)) >= 0 and int(xp.max(index)) < n)


def reduce_sum(array: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Return ``sum(array, axis)`` in the array's dtype (NumPy: the ufunc itself)."""
    if type(array) is np.ndarray:
        return _ADD_REDUCE(array, axis=axis, keepdims=keepdims)
    return namespace(array).sum(array, axis=axis, keepdims=keepdims)


def broadcast_dims(have: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Return the axes to sum an array of shape ``have`` over to bring it down to ``shape``.

    ``shape`` broadcasts to ``have``: the leading axes ``have`` has beyond it, and the axes
    where ``shape`` is 1 and ``have`` is not.
    """
    lead = len(have) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and have[lead + i] != 1
    )


def sum_to_shape(array: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``array`` down to ``shape``, which it broadcasts from (``sum_to_size`` on arrays)."""
    out = reduce_sum(array, axis=broadcast_dims(array.shape, shape))
    if type(out) is not np.ndarray and isinstance(out, np.generic):
        out = np.asarray(out)  # a NumPy scalar (every axis summed)
    return out if out.shape == shape else namespace(out).reshape(out, shape)


def nll_every_target(x: Any, target: Any, ignore_index: int, reduction: int) -> Any:
    """``nll_loss`` forward on a NumPy ``(N, C)`` float32/64 array when every target counts.

    Without class weights, when no target is ``ignore_index``, the total weight is ``N``
    and the loss is ``-x[i, target[i]]`` summed (``reduction`` 2), averaged (1) or not (0):
    the general path's numbers in a few calls.

    Returns:
        ``(loss, total_weight)``, or None when this case does not apply (the caller then
        takes the general path).
    """
    if (
        type(x) is not np.ndarray
        or x.ndim != 2
        or x.dtype not in _EXACT_COUNTS
        or not x.shape[0]
        or not (target != ignore_index).all()
    ):
        return None
    n = x.shape[0]
    loss = -x[np.arange(n), target]
    total = np.asarray(n, dtype=x.dtype)
    if reduction == 0:
        return loss, total
    loss = _ADD_REDUCE(loss)
    return (loss / total if reduction == 1 else loss), total


def nll_every_target_grad(
    shape: tuple[int, int], dtype: Any, target: Any, grad: Any, reduction: int
) -> tuple[Any, Any, Any]:
    """The input gradient of a reduced :func:`nll_every_target` (NumPy).

    ``-grad`` (``sum``) or ``-grad / N`` (``mean``) at each row's target class, 0 elsewhere.

    Returns:
        ``(gradient, rows, values)``: the ``(N, C)`` gradient, and where its non-zero values
        are (``gradient[rows, target] == values``).
    """
    n = shape[0]
    value = -grad
    if reduction == 1:
        value = value / np.asarray(n, dtype=dtype)
    out = np.zeros(shape, dtype=dtype)
    rows = np.arange(n)
    values = np.full(n, value, dtype=dtype)
    out[rows, target] = values  # one target per row: a plain write
    return out, rows, values


# Float dtypes that count rows exactly (the total weight of N targets is N).
_EXACT_COUNTS = frozenset({np.dtype(np.float32), np.dtype(np.float64)})


def transposed(array: Any) -> Any:
    """Return a view of ``array`` with its axes in reverse order (``array.T``)."""
    if type(array) is np.ndarray:
        return array.T  # NOTE: an attribute: np.transpose is a Python wrapper (~1 us)
    return namespace(array).permute_dims(array, tuple(range(array.ndim - 1, -1, -1)))


def surely_finite(array: Any) -> bool:
    """Return True when every element of a float array is finite (no NaN, no infinity).

    One pass. A False may also mean that the values are merely huge (their squares, or
    their sum, overflow): callers use it to skip a slower exact path when it is True.
    """
    token = quiet()  # an overflow is an answer here, not a warning
    try:
        if type(array) is np.ndarray:
            flags = array.flags
            if flags.c_contiguous or flags.f_contiguous:
                flat = array.ravel("K")  # a view in memory order
                # NOTE: a BLAS dot product is several times faster than NumPy's summation,
                # and NaN or infinity in any element makes it non-finite too.
                return math.isfinite(_DOT(flat, flat))
            return math.isfinite(_ADD_REDUCE(array, axis=None))
        return math.isfinite(float(namespace(array).sum(array)))
    finally:
        loud(token)


_ADD_REDUCE: Any = np.add.reduce
_MAX_REDUCE: Any = np.maximum.reduce
_DOT = np.dot


def masked(array: Any, mask: Any) -> Any:
    """Return ``array`` times a boolean ``mask`` (0 where it is False), in one pass.

    NumPy and CuPy multiply by booleans directly; the standard needs the mask as numbers.
    """
    if type(array) is np.ndarray or not hasattr(array, "_array"):
        return array * mask
    return array * namespace(array).astype(mask, array.dtype)


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """Add ``values`` into ``target[index]`` in place, summing repeated indices.

    Args:
        target: the array to add into (changed in place).
        index: an index (NumPy's rules; a tuple of integer arrays and slices).
        values: what to add, broadcast to ``target[index]``.

    Raises:
        ValueError: on the strict device, an index or ``values`` on another device.
    """
    if type(target) is np.ndarray:
        np.add.at(target, index, values)
        return
    if hasattr(target, "_array"):  # array_api_strict: the stand-in's own kernel
        key = _host_key(target, index if isinstance(index, tuple) else (index,))
        if hasattr(values, "_array"):
            if values.device != target.device:
                raise ValueError(
                    f"scatter_add: values on device {values.device} added into an array on "
                    f"device {target.device}"
                )
            values = values._array
        np.add.at(target._array, key, values)
        return
    xp = namespace(target)
    if isinstance(index, tuple):
        index = tuple(xp.asarray(i) if isinstance(i, np.ndarray) else i for i in index)
    elif isinstance(index, np.ndarray):
        index = xp.asarray(index)
    add_at = getattr(xp.add, "at", None)  # ufunc.at: CuPy 13 and later
    if add_at is not None:
        add_at(target, index, values)
        return
    import cupyx  # noqa: PLC0415 - only ever reached with CuPy arrays

    cupyx.scatter_add(target, index, values)


_np_erf = np.frompyfunc(math.erf, 1, 1)


def fmod(a: Any, b: Any) -> Any:
    """Return C's ``fmod(a, b)`` elementwise (the dividend's sign), exactly, as ATen does.

    The Array API has no ``fmod``: where the namespace lacks it (array_api_strict), the
    Python remainder is moved to the dividend's sign.
    """
    xp = namespace(a if hasattr(a, "shape") else b)
    kernel = getattr(xp, "fmod", None)
    if kernel is not None:
        return kernel(a, b)
    r = xp.remainder(a, b)
    return xp.where((r != 0) & ((r < 0) != (a < 0)), r - b, r)


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


# ---------------------------------------------------------------------------- CuPy compatibility
#
# Kernels are written against the Array API standard (NumPy 2's main namespace follows it).
# CuPy's main namespace mirrors NumPy 2 from CuPy 14 on; CuPy 13 lacks a few names and
# keywords. The layer below is CuPy's module plus those pieces, each written with calls
# that every CuPy release has. It adds nothing that CuPy already provides, except for
# ``asarray``/``reshape`` (whose ``copy=`` keyword it always understands) and ``var``/``std``
# (``correction=``), which it wraps on every release.


class _CompatNamespace(types.ModuleType):
    """A module-like view of an array library plus the Array API names it lacks."""

    def __init__(self, base: Any, extra: dict[str, Any]) -> None:
        super().__init__(f"gradviz.compat.{getattr(base, '__name__', 'xp')}")
        self.__dict__["_base"] = base
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.__dict__["_base"], name)
        self.__dict__[name] = value  # later lookups are plain attribute hits
        return value

    def __repr__(self) -> str:
        return f"<array namespace {self.__name__}>"


def array_api_compat(base: Any) -> _CompatNamespace:
    """Return ``base`` (CuPy, or any NumPy-like module) completed with Array API names.

    Args:
        base: the array module; every name it has is used as is.

    Returns:
        A module-like object: ``base``'s attributes, plus implementations of the Array API
        functions ``base`` lacks, plus ``copy=``-aware ``asarray``/``reshape`` and
        ``correction=``-aware ``var``/``std``.
    """
    extra: dict[str, Any] = {}

    def missing(name: str) -> bool:
        return getattr(base, name, None) is None

    aliases = {
        "acos": "arccos",
        "acosh": "arccosh",
        "asin": "arcsin",
        "asinh": "arcsinh",
        "atan": "arctan",
        "atan2": "arctan2",
        "atanh": "arctanh",
        "pow": "power",
        "bitwise_invert": "invert",
        "bitwise_left_shift": "left_shift",
        "bitwise_right_shift": "right_shift",
        "permute_dims": "transpose",
        "bool": "bool_",
    }
    for name, old in aliases.items():
        if missing(name) and not missing(old):
            extra[name] = getattr(base, old)

    if missing("astype"):

        def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
            return x.astype(dtype, copy=copy)

        extra["astype"] = astype
    if missing("concat"):

        def concat(arrays: Any, /, *, axis: int | None = 0) -> Any:
            if axis is None:
                return base.concatenate([base.reshape(a, (-1,)) for a in arrays])
            return base.concatenate(arrays, axis=axis)

        extra["concat"] = concat
    if missing("isdtype"):
        extra["isdtype"] = _isdtype
    if missing("matrix_transpose"):
        extra["matrix_transpose"] = lambda x, /: base.swapaxes(x, -1, -2)
    if missing("unique_values"):
        extra["unique_values"] = lambda x, /: base.unique(x)
    if missing("vecdot"):

        def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
            return base.sum(x1 * x2, axis=axis)

        extra["vecdot"] = vecdot
    if missing("cumulative_sum"):

        def cumulative_sum(
            x: Any,
            /,
            *,
            axis: int | None = None,
            dtype: Any = None,
            include_initial: bool = False,
        ) -> Any:
            if axis is None:
                if x.ndim != 1:
                    raise ValueError("cumulative_sum: axis is required for arrays of ndim > 1")
                axis = 0
            out = base.cumsum(x, axis=axis, dtype=dtype)
            if include_initial:
                shape = list(out.shape)
                shape[axis] = 1
                out = base.concatenate([base.zeros(tuple(shape), dtype=out.dtype), out], axis)
            return out

        extra["cumulative_sum"] = cumulative_sum

    def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: Any = None) -> Any:
        if copy is True:
            return base.array(obj, dtype=dtype, copy=True)
        out = base.asarray(obj, dtype=dtype)
        if copy is False and out is not obj:
            raise ValueError("asarray(copy=False): the array cannot be used without a copy")
        return out

    def reshape(x: Any, /, shape: Any, *, copy: Any = None) -> Any:
        if copy is False and not _reshapes_as_view(x, shape):
            raise ValueError(
                f"reshape(copy=False): an array of shape {tuple(x.shape)} and strides "
                f"{tuple(x.strides)} cannot be viewed as shape {tuple(shape)}"
            )
        out = base.reshape(x, shape)
        return out.copy() if copy is True else out

    def var(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Any:
        return base.var(x, axis=axis, ddof=correction, keepdims=keepdims)

    def std(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Any:
        return base.std(x, axis=axis, ddof=correction, keepdims=keepdims)

    extra.update(asarray=asarray, reshape=reshape, var=var, std=std)

    linalg = getattr(base, "linalg", None)
    if linalg is not None and getattr(linalg, "vector_norm", None) is None:
        extra["linalg"] = _CompatNamespace(
            linalg, {"vector_norm": functools.partial(_vector_norm, base)}
        )
    return _CompatNamespace(base, extra)


_CUPY_NAMESPACE: list[Any] = [None, None]  # [the CuPy module, its compat namespace]


def _cupy_namespace(cupy: Any) -> Any:
    if _CUPY_NAMESPACE[0] is not cupy:
        _CUPY_NAMESPACE[:] = [cupy, array_api_compat(cupy)]
    return _CUPY_NAMESPACE[1]


_KINDS = {
    "bool": "b",
    "signed integer": "i",
    "unsigned integer": "u",
    "integral": "iu",
    "real floating": "f",
    "complex floating": "c",
    "numeric": "iufc",
}


def _isdtype(dtype: Any, kind: Any) -> bool:
    """The Array API's ``isdtype`` for NumPy dtype objects (which CuPy uses)."""
    if isinstance(kind, tuple):
        return any(_isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"isdtype: unknown kind {kind!r}; expected one of {sorted(_KINDS)}")
        return np.dtype(dtype).kind in _KINDS[kind]
    return bool(np.dtype(dtype) == np.dtype(kind))


def _vector_norm(
    xp: Any,
    x: Any,
    /,
    *,
    axis: Any = None,
    keepdims: bool = False,
    ord: float = 2,  # noqa: A002
) -> Any:
    """The Array API's ``linalg.vector_norm`` from reductions every namespace has."""
    a = xp.abs(x)
    if ord == math.inf:
        return xp.max(a, axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return xp.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return xp.sum((a != 0).astype(a.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return xp.sum(a, axis=axis, keepdims=keepdims)
    if ord == 2:
        return xp.sqrt(xp.sum(a * a, axis=axis, keepdims=keepdims))
    return xp.sum(a**ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _reshapes_as_view(x: Any, shape: Any) -> bool:
    """Return True when ``x`` can take ``shape`` by changing strides only (no copy).

    NumPy's ``_attempt_nocopy_reshape``: group the old and new dimensions into runs of
    equal element count; each run of old dimensions must be contiguous in row-major order.
    """
    old = [int(s) for s in x.shape]
    size = math.prod(old)
    new = [int(s) for s in (shape if isinstance(shape, tuple | list) else (shape,))]
    if -1 in new:
        known = math.prod(s for s in new if s != -1)
        new[new.index(-1)] = size // known if known else 0
    if size == 0 or math.prod(new) != size:
        return True  # empty arrays reshape freely; a wrong size is for reshape to report
    dims = [(s, int(st)) for s, st in zip(old, x.strides, strict=True) if s != 1]
    new = [s for s in new if s != 1]
    oi = ni = 0
    while oi < len(dims) and ni < len(new):
        oj, nj = oi + 1, ni + 1
        old_count, new_count = dims[oi][0], new[ni]
        while old_count != new_count:
            if new_count < old_count:
                new_count *= new[nj]
                nj += 1
            else:
                old_count *= dims[oj][0]
                oj += 1
        for k in range(oi, oj - 1):
            if dims[k][1] != dims[k + 1][0] * dims[k + 1][1]:
                return False
        oi, ni = oj, nj
    return True


# NOTE: NumPy 2 takes a Python number in arithmetic through its "weak scalar" promotion,
# which costs ~1 us per call (3x the whole multiply of a small array); a 0-d array of the
# other operand's float dtype gives the same result (the number is cast to that dtype
# either way) at the cost of an array operand. Small tensors in Python loops (and every
# backward formula with a constant) pay that microsecond per op, so the arithmetic kernels
# hand NumPy cached 0-d arrays instead.
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_OPERANDS: dict[Any, dict[Any, np.ndarray]] = {_F32: {}, _F64: {}}
_OPERANDS_MAX = 512
_EXACT_INT = {_F32: 2**24, _F64: 2**53}
_LARGEST = {_F32: float(np.finfo(np.float32).max), _F64: float(np.finfo(np.float64).max)}


def operand(value: Any, like: Any) -> Any:
    """Return ``value`` ready for arithmetic with the array ``like``.

    A Python ``float`` or ``int`` next to a float32/float64 NumPy array becomes a read-only
    0-d array of that dtype (cached), which NumPy computes with faster and to the same
    result; anything else is returned as it is. Zeros (whose sign a cache keyed by value
    would lose), NaNs, infinities, numbers beyond the dtype's range (whose cast would warn)
    and integers that the dtype does not hold exactly stay Python numbers.
    """
    kind = type(value)
    if (kind is float or kind is int) and type(like) is np.ndarray:
        dt = like.dtype
        if dt is _F32 or dt is _F64:
            cache = _OPERANDS[dt]
            found = cache.get(value)
            if found is not None:
                return found
            if (
                not value
                or not abs(value) <= _LARGEST[dt]  # NaN, infinite, or it would overflow
                or (kind is int and abs(value) > _EXACT_INT[dt])
            ):
                return value
            if len(cache) >= _OPERANDS_MAX:
                cache.clear()
            found = np.array(value, dtype=dt)
            found.flags.writeable = False
            cache[value] = found
            return found
    return value
