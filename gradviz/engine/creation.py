"""Tensor creation: ``tensor``, ``zeros``, ``randn``, ``arange``, ... and the random generator.

Random numbers come from the ``generator=`` given, else from the process-wide
:class:`Generator` that :func:`manual_seed` seeds and returns (a fixed default seed makes
programs reproducible). They are drawn on the host and moved to the requested device, so
the same seed gives the same numbers on every device. They are not PyTorch's numbers:
code that must match PyTorch exactly should copy values across.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradviz.engine import backend
from gradviz.engine import dtypes as _dt
from gradviz.engine.ops._base import register
from gradviz.engine.tensor import Tensor, _make

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "eye",
    "arange",
    "linspace",
    "rand",
    "randn",
    "randint",
    "randperm",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand_like",
    "randn_like",
    "randint_like",
    "manual_seed",
    "seed",
    "Generator",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
]

_DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed, for familiarity


class Generator:
    """A random generator of its own, as ``torch.Generator`` (pass it as ``generator=``).

    Random functions and samplers draw from it instead of the process-wide generator, so
    one stream (a data split, a shuffle) repeats whatever else draws random numbers.

    Args:
        device: where its tensors go; gradviz draws on the CPU for every device.

    Example:
        >>> import gradviz
        >>> g = gradviz.Generator().manual_seed(42)
        >>> a = gradviz.randperm(5, generator=g)
        >>> bool((a == gradviz.randperm(5, generator=g.manual_seed(42))).all())
        True
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = backend.device(device)
        self._seed = _DEFAULT_SEED
        self._rng = np.random.default_rng(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Seed it; returns the generator itself (so ``Generator().manual_seed(0)`` works)."""
        self._seed = operator.index(seed)
        self._rng = np.random.default_rng(self._seed & 0xFFFFFFFFFFFFFFFF)
        return self

    def seed(self) -> int:
        """Seed it from the operating system's entropy; return the seed."""
        entropy: Any = np.random.SeedSequence().entropy
        self.manual_seed(int(entropy) & 0xFFFFFFFFFFFFFFFF)
        return self._seed

    def initial_seed(self) -> int:
        """Return the seed last set."""
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """Return its state (to restore with :meth:`set_state`)."""
        return dict(self._rng.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> Generator:
        """Restore a state returned by :meth:`get_state`; returns the generator."""
        self._rng.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return "<gradviz.Generator object>"


# NOTE: made on first use, not at import, so that ``import gradviz`` seeds no NumPy
# generator it may never need.
_default_generator: Generator | None = None


def _default() -> Generator:
    """Return the process-wide generator (PyTorch's ``default_generator``)."""
    global _default_generator
    if _default_generator is None:
        _default_generator = Generator()
    return _default_generator


def _rng_of(generator: Any) -> np.random.Generator:
    """Return the NumPy generator behind ``generator=`` (None: the process-wide one).

    Raises:
        TypeError: ``generator`` is not a gradviz Generator.
    """
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a gradviz.Generator, not {type(generator).__name__}. "
            "Fix: make one with gradviz.Generator().manual_seed(seed)."
        )
    return (generator or _default())._rng


def manual_seed(seed: int) -> Generator:
    """Seed the process-wide generator so random tensors repeat from run to run.

    Returns:
        The process-wide generator (PyTorch returns its ``default_generator``).

    Example:
        >>> import gradviz
        >>> _ = gradviz.manual_seed(0); a = gradviz.rand(2)
        >>> _ = gradviz.manual_seed(0); bool((a == gradviz.rand(2)).all())
        True
    """
    return _default().manual_seed(seed)


def seed() -> int:
    """Seed the process-wide generator from the operating system's entropy; return the seed."""
    return _default().seed()


def initial_seed() -> int:
    """Return the seed last set with :func:`manual_seed` (or :func:`seed`)."""
    return _default().initial_seed()


def get_rng_state() -> dict[str, Any]:
    """Return the process-wide generator's state (to restore with :func:`set_rng_state`)."""
    return _default().get_state()


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _default().set_state(state)


# ---------------------------------------------------------------------------- conversion


def _infer_dtype(data: Any) -> _dt.dtype:
    kinds: set[Any] = set()

    def walk(x: Any) -> None:
        if isinstance(x, Tensor):
            kinds.add(x.dtype)
        elif isinstance(x, bool | np.bool_):
            kinds.add("b")
        elif isinstance(x, int | np.integer):
            kinds.add("i")
        elif isinstance(x, float | np.floating):
            kinds.add("f")
        elif isinstance(x, complex):
            raise TypeError("complex tensors are not supported by gradviz")
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif hasattr(x, "dtype"):
            kinds.add(_dt.from_numpy_dtype(np.dtype(x.dtype)))
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")

    walk(data)
    tensor_dtypes = [k for k in kinds if isinstance(k, _dt.dtype)]
    if "f" in kinds:
        if any(d.is_floating_point for d in tensor_dtypes):
            return max(
                (d for d in tensor_dtypes if d.is_floating_point), key=lambda d: d.np.itemsize
            )
        return _dt.get_default_dtype()
    if tensor_dtypes:
        out = tensor_dtypes[0]
        for d in tensor_dtypes[1:]:
            out = _dt._promote(out, d)
        if "i" in kinds and out.category < 1:
            return _dt.int64
        return out
    if "i" in kinds:
        return _dt.int64
    if "b" in kinds:
        return _dt.bool
    return _dt.get_default_dtype()


def _host_list(x: Any) -> Any:
    if isinstance(x, Tensor):
        return backend.to_host(x._data)
    if isinstance(x, (list, tuple)):
        return [_host_list(y) for y in x]
    return x


def _to_array(data: Any, dtype: Any, device: Any) -> Any:
    """Return ``data`` (nested lists, scalars, arrays, Tensors) as an array of the device.

    Tensors and device arrays stay where they are unless ``device`` says otherwise; host
    data goes to ``device``, else to the default device.
    """
    want = None if dtype is None else _dt.to_dtype(dtype)
    dev = None if device is None else backend.device(device)
    if isinstance(data, Tensor) or backend.is_device_array(data):
        arr = data._data if isinstance(data, Tensor) else data
        if want is not None and _dt.from_numpy_dtype(arr.dtype) is not want:
            xp = backend.namespace(arr)
            arr = xp.astype(arr, _dt.native(xp, want))
        if dev is None or backend.device_of(arr) == dev:
            return arr
        return backend.transfer(arr, dev)
    if isinstance(data, np.ndarray | np.generic):
        host = np.asarray(data)
        if host.dtype.kind not in "biuf":
            raise TypeError(
                f"can't convert np.ndarray of type {host.dtype}. The only supported types are: "
                "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
            )
        if want is not None:
            host = host.astype(want.np)
    else:
        kind = want if want is not None else _infer_dtype(data)
        try:
            host = np.asarray(_host_list(data), dtype=kind.np)
        except ValueError as err:
            _raise_ragged(data)
            raise ValueError(
                f"expected a rectangular nested list of numbers, got {_describe(data)} ({err})"
            ) from None
    # NOTE: np.ascontiguousarray would turn a 0-d array into a 1-d one.
    host = np.asarray(host, order="C")
    if dev is None:
        dev = backend.default_device()  # as torch.tensor does under set_default_device
    if dev.type == "cpu":
        return host.copy() if host.base is not None or not host.flags.writeable else host
    return backend.transfer(host, dev)


def _raise_ragged(data: Any) -> None:
    """Raise PyTorch's error for nested lists that are not rectangular, where it has one.

    The expected lengths are those of the first element at each depth, as PyTorch reads
    them; the first list of another length (depth first) is the one named.
    """
    sizes = []
    x = data
    while isinstance(x, (list, tuple)):
        sizes.append(len(x))
        if not x:
            break
        x = x[0]

    def check(seq: Any, dim: int) -> None:
        if len(seq) != sizes[dim]:
            raise ValueError(
                f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(seq)})"
            ) from None
        if dim + 1 < len(sizes):
            for item in seq:
                if not isinstance(item, (list, tuple)):
                    raise TypeError("not a sequence") from None
                check(item, dim + 1)

    if sizes:
        check(data, 0)


def _describe(data: Any) -> str:
    text = repr(data)
    return text if len(text) < 60 else text[:57] + "..."


def tensor(
    data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Return a new tensor holding a copy of ``data``.

    Args:
        data: a number, a (nested) list or tuple, an array (NumPy, CuPy) or a tensor.
        dtype: the dtype; inferred from ``data`` when None (floats → the default dtype).
        device: where the data lives (``"cpu"``, ``"cuda"``, ``"cuda:1"``); None means
            the device of ``data`` when it is a tensor or a device array, else the default
            device (see :func:`gradviz.set_default_device`).
        requires_grad: whether to record operations on it for autograd.

    Example:
        >>> import gradviz
        >>> gradviz.tensor([1.0, 2.0], requires_grad=True)
        tensor([1., 2.], requires_grad=True)
    """
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
            "rather than torch.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
    arr = _to_array(data, dtype, device)
    source = data._data if isinstance(data, Tensor) else data
    if arr is source:  # nothing was converted or moved: the new tensor must not share
        arr = backend.copy(arr)
    return _leaf(arr, requires_grad)


def _leaf(arr: Any, requires_grad: bool) -> Tensor:
    _check_grad_dtype(requires_grad, arr.dtype)
    return _make(arr, requires_grad, None, 0)


def _check_grad_dtype(requires_grad: bool, array_dtype: Any) -> None:
    """Refuse ``requires_grad`` for a new leaf (or Parameter) whose array is not floating.

    Raises:
        RuntimeError: ``requires_grad`` is True and ``array_dtype`` is not floating, with
            PyTorch's message.
    """
    if requires_grad and not _dt.is_floating(array_dtype):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Return ``data`` as a tensor, sharing memory with an array or tensor when possible.

    Nothing is copied when ``data`` is already of the right dtype on the right device
    (for a NumPy array with no ``device``, the right device is the default device).

    Example:
        >>> import numpy as np, gradviz
        >>> a = np.zeros(2); t = gradviz.as_tensor(a); a[0] = 1; t
        tensor([1., 0.], dtype=gradviz.float64)
    """
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if (
        isinstance(data, np.ndarray)
        and dtype is None
        and device is None
        and data.dtype.kind in "biuf"
        and backend.default_device().type == "cpu"
    ):
        return _make(data, False, None, 0)
    return _make(_to_array(data, dtype, device), False, None, 0)


def from_numpy(array: np.ndarray) -> Tensor:
    """Return a tensor that shares memory with the NumPy ``array``.

    Example:
        >>> import numpy as np, gradviz
        >>> a = np.zeros(2); t = gradviz.from_numpy(a); a[0] = 5; t
        tensor([5., 0.], dtype=gradviz.float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"can't convert np.ndarray of type {array.dtype}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        )
    return _make(array, False, None, 0)


# ---------------------------------------------------------------------------- filled tensors


def _size(size: tuple[Any, ...], fn: str, param: bool = False) -> tuple[int, ...]:
    """Read a size given as ``f(2, 3)`` or ``f((2, 3))`` (``param``: as ``f(size=...)``).

    Raises:
        TypeError: a size that is not integers, with PyTorch's message for ``fn``.
        RuntimeError: a negative size, with PyTorch's message.
    """
    packed = len(size) == 1 and isinstance(size[0], (list, tuple))
    items = tuple(size[0]) if packed else tuple(size)
    shape = []
    for k, s in enumerate(items):
        try:
            shape.append(operator.index(s))
        except TypeError:
            raise TypeError(
                f"{fn}(): argument 'size' {_size_error(k, s, packed, param, len(items))}"
            ) from None
    negative = [s for s in shape if s < 0]
    if negative:
        if fn == "zeros":
            raise RuntimeError("zeros: Dimension size must be non-negative.")
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {negative[0]}: {list(shape)}"
        )
    return tuple(shape)


def _size_error(k: int, item: Any, packed: bool, param: bool, count: int) -> str:
    """PyTorch's words for item ``k`` of a size that is not an integer."""
    kind = type(item).__name__
    if param and packed:  # full((2.5,), 1)
        return f"(position 1) must be tuple of ints, but found element of type {kind} at pos {k}"
    if (param or count == 1) and not packed:  # full(2.5, 1), ones(2.5)
        return f"(position 1) must be tuple of ints, not {kind}"
    # ones(2, 2.5), ones((2, 2.5))
    return (
        f'failed to unpack the object at pos {k + 1} with error "type must be tuple of ints,'
        f'but got {kind}"'
    )


def _filled(
    shape: tuple[int, ...], value: Any, dtype: Any, device: Any, requires_grad: bool
) -> Tensor:
    dt = _dt.to_dtype(dtype) if dtype is not None else None
    if dt is None:
        dt = _dt.result_type(value) if not isinstance(value, float) else _dt.get_default_dtype()
    dev = backend.device(device) if device is not None else backend.default_device()
    return _leaf(backend.full_on(dev, shape, value, dt.np), requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Return a tensor of zeros of the given size (default dtype float32)."""
    return _filled(_size(size, "zeros"), 0, dtype or _dt.get_default_dtype(), device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Return a tensor of ones of the given size."""
    return _filled(_size(size, "ones"), 1, dtype or _dt.get_default_dtype(), device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Return a tensor of the given size (gradviz fills it with zeros)."""
    return _filled(_size(size, "empty"), 0, dtype or _dt.get_default_dtype(), device, requires_grad)


def full(
    size: Sequence[int],
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return a tensor of the given size filled with ``fill_value``."""
    return _filled(_size((size,), "full", param=True), fill_value, dtype, device, requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return a 2-D tensor with ones on the diagonal."""
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    return _leaf(_on(np.eye(n, m, dtype=dt.np), device), requires_grad)


def _on(host: np.ndarray, device: Any) -> Any:
    dev = backend.device(device) if device is not None else backend.default_device()
    return host if dev.type == "cpu" else backend.transfer(host, dev)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return ``start, start + step, ...`` up to (not including) ``end``.

    Example:
        >>> import gradviz
        >>> gradviz.arange(3)
        tensor([0, 1, 2])
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dt = _dt.result_type(start, end, step)
    else:
        dt = _dt.to_dtype(dtype)
    n = max(math.ceil((end - start) / step), 0)
    host = (
        (start + step * np.arange(n, dtype=np.float64))
        if dt.is_floating_point
        else np.arange(start, end, step)
    )
    return _leaf(_on(host.astype(dt.np), device), requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return ``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _leaf(_on(_linspace(start, end, steps, dt), device), requires_grad)


def _linspace(start: float, end: float, steps: int, dt: _dt.dtype) -> np.ndarray:
    """Return PyTorch's linspace values, bit for bit.

    PyTorch's CPU kernel computes ``start + step * i`` for the first half and
    ``end - step * (steps - 1 - i)`` for the second, each with a fused multiply-add in the
    element type. One rounding from a wider type reproduces the fused result.
    """
    if steps <= 1:
        return np.full((steps,), start, dtype=dt.np)
    if not dt.is_floating_point:
        step = (float(end) - float(start)) / (steps - 1)
        i = np.arange(steps, dtype=np.float64)
        half = steps // 2
        exact = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
        return np.trunc(exact).astype(dt.np)
    elem = dt.np.type
    wide = np.longdouble if dt.np.itemsize >= 8 else np.float64
    lo, hi = elem(start), elem(end)
    step = wide(elem((hi - lo) / elem(steps - 1)))
    i = np.arange(steps).astype(wide)
    half = steps // 2
    values = np.where(i < half, wide(lo) + step * i, wide(hi) - step * (steps - 1 - i))
    return values.astype(dt.np)


def rand(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Return samples of U(0, 1) of the given size."""
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    host = _rng_of(generator).random(_size(size, "rand")).astype(dt.np)
    return _leaf(_on(host, device), requires_grad)


def randn(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Return samples of N(0, 1) of the given size."""
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    host = _rng_of(generator).standard_normal(_size(size, "randn")).astype(dt.np)
    return _leaf(_on(host, device), requires_grad)


def randint(
    low: int,
    high: Any = None,
    size: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Return random integers in ``[low, high)`` of the given size (``randint(high, size)`` too)."""
    if size is None:
        low, high, size = 0, low, high
    elif isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.int64
    shape = _size((size,), "randint", param=True)
    host = _rng_of(generator).integers(low, high, shape).astype(dt.np)
    return _leaf(_on(host, device), requires_grad)


def randperm(
    n: int,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return a random permutation of ``0 .. n-1`` (from ``generator`` when given)."""
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.int64
    return _leaf(_on(_rng_of(generator).permutation(n).astype(dt.np), device), requires_grad)


def _like(x: Tensor, dtype: Any, device: Any) -> tuple[tuple[int, ...], Any, Any]:
    return tuple(x.shape), dtype or x.dtype, device if device is not None else x.device


def zeros_like(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return zeros with ``input``'s shape, dtype and device."""
    shape, dt, dev = _like(input, dtype, device)
    return zeros(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return ones with ``input``'s shape, dtype and device."""
    shape, dt, dev = _like(input, dtype, device)
    return ones(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return an (zero-filled) tensor with ``input``'s shape, dtype and device."""
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return ``fill_value`` everywhere, with ``input``'s shape, dtype and device."""
    shape, dt, dev = _like(input, dtype, device)
    return full(shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def rand_like(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return U(0, 1) samples with ``input``'s shape, dtype and device."""
    shape, dt, dev = _like(input, dtype, device)
    return rand(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Return N(0, 1) samples with ``input``'s shape, dtype and device."""
    shape, dt, dev = _like(input, dtype, device)
    return randn(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randint_like(
    input: Tensor,  # noqa: A002 - PyTorch's argument name
    low: int,
    high: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Return random integers with ``input``'s shape."""
    shape, dt, dev = _like(input, dtype, device)
    if high is None:
        low, high = 0, low
    return randint(low, high, shape, dtype=dt, device=dev)


# ---------------------------------------------------------------------------- Tensor.new_*


def _new_tensor(
    self: Tensor, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return tensor(
        data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
    )


def _new_zeros(
    self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return zeros(
        *size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
    )


def _new_ones(
    self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return ones(
        *size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
    )


def _new_full(
    self: Tensor,
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return full(
        size,
        fill_value,
        dtype=dtype or self.dtype,
        device=device or self.device,
        requires_grad=requires_grad,
    )


for _name, _fn in (
    ("new_tensor", _new_tensor),
    ("new_zeros", _new_zeros),
    ("new_ones", _new_ones),
    ("new_empty", _new_zeros),
    ("new_full", _new_full),
):
    register(_name, function=False)(_fn)
    setattr(Tensor, _name, _fn)
