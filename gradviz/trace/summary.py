"""Gradient summaries: a few numbers that describe an array, computed where it lives.

:func:`summarize` reduces an array on its own device through its array namespace
(``backend.namespace``: NumPy on the CPU, CuPy on a GPU, ``array_api_strict`` on the
stand-in device) and brings back only Python floats and ints, so recording a backward pass
on a GPU moves a handful of scalars per gradient, never the gradient itself. The helpers
``dtype_name``, ``device_name``, ``shape_of`` and ``nbytes`` describe an array the same way
everywhere in :mod:`gradviz.trace`.

Small NumPy float arrays (up to ``SMALL`` elements) are summarised by :func:`summarize_many`,
which takes any number of them in one vectorised pass, in float64; :func:`summarize` of one
such array goes the same way, so both give the same numbers. A recorder gathers the small
gradients of a backward pass and summarises them together at its end, where the fixed
cost of a handful of NumPy calls per array would otherwise outweigh the reductions.

Example:
    >>> import numpy as np
    >>> s = summarize(np.array([3.0, -4.0, np.nan], dtype=np.float32))
    >>> s["norm"], s["min"], s["max"], s["nan"], s["inf"]
    (5.0, -4.0, 3.0, 1, 0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.engine import backend
from gradviz.engine.tensor import Tensor

__all__ = [
    "summarize",
    "summarize_many",
    "batchable",
    "SMALL",
    "host_copy",
    "dtype_name",
    "device_name",
    "shape_of",
    "nbytes",
]

_NAN = float("nan")

#: The largest NumPy float array (in elements) that :func:`summarize_many` takes.
SMALL = 4096


def dtype_name(dtype: Any) -> str:
    """Return the plain name of an array or tensor dtype (``"float32"``, ``"int64"``).

    Args:
        dtype: a NumPy/CuPy dtype, a gradviz dtype or an ``array_api_strict`` dtype.

    Returns:
        The name without a library prefix.
    """
    key = (type(dtype), dtype)  # the type first, so dtypes of two libraries never compare
    try:
        return _DTYPE_NAMES[key]
    except (KeyError, TypeError):
        pass
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        wrapped = getattr(dtype, "_np_dtype", None)  # array_api_strict wraps a NumPy dtype
        name = str(wrapped.name) if wrapped is not None else str(dtype).rsplit(".", 1)[-1]
    try:
        _DTYPE_NAMES[key] = name
    except TypeError:  # an unhashable dtype-like object: just not cached
        pass
    return name


# NOTE: NumPy computes ``dtype.name`` on every access (microseconds); recording asks for it
# per node, so names are cached by dtype object (there are only a handful).
_DTYPE_NAMES: dict[tuple[type, Any], str] = {}


def device_name(array: Any) -> str:
    """Return the device an array lives on, as a string (``"cpu"``, ``"cuda:0"``)."""
    if type(array) is np.ndarray:
        return "cpu"
    return str(backend.device_of(array))


def shape_of(array: Any) -> tuple[int, ...]:
    """Return an array's shape as a tuple of Python ints."""
    shape = array.shape
    if type(shape) is tuple and all(type(s) is int for s in shape):
        return shape
    return tuple(int(s) for s in shape)


def nbytes(array: Any) -> int:
    """Return the number of bytes an array's elements occupy."""
    size = 1
    for s in array.shape:
        size *= int(s)
    itemsize = getattr(array.dtype, "itemsize", None)
    if not isinstance(itemsize, int):
        itemsize = np.dtype(dtype_name(array.dtype)).itemsize
    return size * itemsize


def host_copy(value: Any) -> np.ndarray:
    """Return a NumPy copy of an array or tensor that later in-place changes cannot touch.

    Args:
        value: a Tensor or an array of any device.

    Returns:
        A new host array (the only place a gradient moves off its device, and only when
        the user asked for values).
    """
    data = value._data if isinstance(value, Tensor) else value
    return backend.host_copy(data)  # one copy: a GPU download is already a new array


def _floats(xp: Any, scalars: list[Any]) -> list[float]:
    """Bring 0-d results to the host as Python floats, in one transfer off a GPU."""
    if xp is np:
        return [float(s) for s in scalars]
    f64 = xp.float64
    stacked = xp.stack([xp.astype(s, f64) for s in scalars])
    return [float(v) for v in backend.to_host(stacked).tolist()]


def summarize(value: Any) -> dict[str, Any]:
    """Summarise an array or tensor: shape, dtype, device, norm, min, max, mean, NaN/Inf counts.

    The reductions run on the array's own device; only the results come back, as Python
    numbers. ``norm`` (L2 norm of all elements), ``min``, ``max`` and ``mean`` are taken over
    the *finite* elements, so one NaN does not hide the scale of the rest; ``nan`` and
    ``inf`` count the others. With no finite element (or an empty array) ``norm`` is 0.0
    and ``min``/``max``/``mean`` are NaN. Complex arrays are summarised by their magnitudes.

    Args:
        value: a Tensor or an array (NumPy, CuPy, ``array_api_strict``).

    Returns:
        ``{"shape": tuple, "dtype": str, "device": str, "norm": float, "min": float,
        "max": float, "mean": float, "nan": int, "inf": int}``.

    Raises:
        TypeError: ``value`` is neither a Tensor nor an array.

    Example:
        >>> import gradviz
        >>> summarize(gradviz.tensor([1.0, 2.0, 2.0]))["norm"]
        3.0
    """
    data = value._data if isinstance(value, Tensor) else value
    if type(data) is np.ndarray and data.dtype.kind == "f" and data.size:
        if data.size <= SMALL and data.dtype.itemsize <= 8:
            return summarize_many([data])[0]
        fast = _summarize_numpy(data)
        if fast is not None:
            return fast
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        raise TypeError(
            f"summarize() expects a Tensor or an array, got {type(value).__name__}. "
            "Pass the tensor itself (or its .grad)."
        )
    # NaN, Inf and overflow are what a summary reports, not reasons to warn.
    with np.errstate(all="ignore"):
        return _summarize(data)


def batchable(data: Any) -> bool:
    """Return whether :func:`summarize_many` takes ``data``.

    It takes non-empty NumPy float16, float32 and float64 arrays of at most ``SMALL``
    elements.
    """
    return (
        type(data) is np.ndarray
        and 0 < data.size <= SMALL
        and data.dtype.kind == "f"
        and data.dtype.itemsize <= 8
    )


def summarize_many(arrays: list[np.ndarray]) -> list[dict[str, Any]]:
    """Summarise small NumPy float arrays together, as :func:`summarize` does one by one.

    All of them are copied into one float64 buffer and reduced segment by segment
    (``ufunc.reduceat``): four reductions for the lot instead of four per array. An array
    holding a NaN or an Inf (or one whose squares overflow float64) is then summarised
    on its own, by the general path.

    Args:
        arrays: arrays for which :func:`batchable` is True.

    Returns:
        One summary dict per array, in order (the same numbers :func:`summarize` gives).

    Example:
        >>> [s["max"] for s in summarize_many([np.ones(3), np.arange(4.0)])]
        [1.0, 3.0]
    """
    if not arrays:
        return []
    starts = []
    at = 0
    for a in arrays:
        starts.append(at)
        at += a.size
    buf = np.concatenate([a.ravel("K") for a in arrays], dtype=np.float64)
    lows = _MIN_AT(buf, starts).tolist()  # NaN and Inf pass through min and max silently
    highs = _MAX_AT(buf, starts).tolist()
    isfinite = math.isfinite
    tame = True
    for a, lo, hi in zip(arrays, lows, highs, strict=True):
        bound = max(-lo, hi)
        if not bound * bound * a.size < _SAFE[8]:  # also False for NaN and Inf
            tame = False
            break
    if tame:  # no sum below can overflow: skip np.errstate, which costs as much as a sum
        totals = _ADD_AT(buf, starts).tolist()
        _MUL(buf, buf, out=buf)
        squares = _ADD_AT(buf, starts).tolist()
    else:
        # NaN, Inf and overflow are what a summary reports, not reasons to warn.
        with np.errstate(all="ignore"):
            totals = _ADD_AT(buf, starts).tolist()
            _MUL(buf, buf, out=buf)
            squares = _ADD_AT(buf, starts).tolist()
    out = []
    for a, lo, hi, total, sq in zip(arrays, lows, highs, totals, squares, strict=True):
        if isfinite(lo) and isfinite(hi) and isfinite(sq):
            out.append(
                {
                    "shape": a.shape,
                    "dtype": dtype_name(a.dtype),
                    "device": "cpu",
                    "norm": math.sqrt(sq),
                    "min": lo,
                    "max": hi,
                    "mean": total / a.size,
                    "nan": 0,
                    "inf": 0,
                }
            )
        else:
            with np.errstate(all="ignore"):
                out.append(_summarize(a))
    return out


_MIN_AT = np.minimum.reduceat
_MAX_AT = np.maximum.reduceat
_ADD_AT = np.add.reduceat
_MUL = np.multiply


def _summarize(data: Any) -> dict[str, Any]:
    xp = backend.namespace(data)
    summary: dict[str, Any] = {
        "shape": shape_of(data),
        "dtype": dtype_name(data.dtype),
        "device": device_name(data),
    }
    size = 1
    for s in summary["shape"]:
        size *= s
    x = data
    kind = _kind(xp, x)
    if kind == "c":
        x = xp.abs(x)
    elif kind != "f":
        x = xp.astype(x, xp.float64)
    elif _half(xp, x.dtype):
        x = xp.astype(x, xp.float32)  # squares in float16 would round (and overflow)
    if size == 0:
        summary.update(norm=0.0, min=_NAN, max=_NAN, mean=_NAN, nan=0, inf=0)
        return summary
    f64 = xp.float64
    total, lo, hi = _floats(xp, [xp.sum(x, dtype=f64), xp.min(x), xp.max(x)])
    if math.isfinite(total) and math.isfinite(lo) and math.isfinite(hi):
        (squares,) = _floats(xp, [xp.sum(x * x, dtype=f64)])
        summary.update(
            norm=_norm(xp, x, squares, max(-lo, hi)),
            min=lo,
            max=hi,
            mean=total / size,
            nan=0,
            inf=0,
        )
        return summary
    return _summarize_nonfinite(xp, x, size, summary)


def _summarize_numpy(x: np.ndarray) -> dict[str, Any] | None:
    """The common case on the CPU: finite floats of moderate size, in four BLAS/ufunc passes.

    Returns None (the general path then runs) when a NaN or Inf is present, or when the
    values are so large that the sum or the sum of squares could overflow; so this path
    can neither overflow nor warn.
    """
    # NOTE: ravel("K") is a view for C- and F-ordered arrays (a transposed weight gradient
    # is F-ordered); reshape(-1) would copy those in a cache-hostile order, which costs
    # more than all four reductions together.
    flat = x.ravel("K")
    ones = _ONES.get(flat.dtype)
    if ones is None:
        if flat.dtype.itemsize >= 4:
            return None  # long double: the general path
        flat = flat.astype(np.float32)  # float16 squares overflow; summarise in float32
        ones = _ONES[flat.dtype]
    lo = float(_MIN(flat))
    hi = float(_MAX(flat))
    size = flat.size
    bound = max(-lo, hi)
    if not bound * bound * size < _SAFE[ones.itemsize]:  # also False for NaN and Inf
        return None
    return {
        "shape": x.shape,
        "dtype": dtype_name(x.dtype),
        "device": "cpu",
        "norm": math.sqrt(float(_DOT(flat, flat))),
        "min": lo,
        "max": hi,
        "mean": _sum(flat, ones) / size,
        "nan": 0,
        "inf": 0,
    }


def _sum(flat: np.ndarray, ones: np.ndarray) -> float:
    """Sum a 1-D float32/float64 array as dot products with ``ones`` (BLAS: 2-3x a ufunc).

    Rows of ``_CHUNK`` elements are summed by one matrix-vector product and the row sums
    are added in float64, so the error stays that of a ``_CHUNK``-long sum.
    """
    n = flat.size
    if n <= _CHUNK:
        return float(_DOT(flat, ones[:n]))
    rows = n // _CHUNK
    cut = rows * _CHUNK
    total = float(_ADD(_DOT(flat[:cut].reshape(rows, _CHUNK), ones), dtype=np.float64))
    return total + float(_DOT(flat[cut:], ones[: n - cut]))


_MIN = np.minimum.reduce
_MAX = np.maximum.reduce
_ADD = np.add.reduce
_DOT = np.dot
_CHUNK = 1 << 14
_ONES = {np.dtype(t): np.ones(_CHUNK, dtype=t) for t in (np.float32, np.float64)}
# Largest sum of squares that float32 / float64 accumulation holds without overflowing,
# by item size.
_SAFE = {4: float(np.finfo(np.float32).max) / 4, 8: float(np.finfo(np.float64).max) / 4}


def _kind(xp: Any, x: Any) -> str:
    """Return ``"f"`` for real floating, ``"c"`` for complex, ``"o"`` for anything else."""
    dt = x.dtype
    kind = getattr(dt, "kind", None)
    if isinstance(kind, str):
        return "f" if kind == "f" else "c" if kind == "c" else "o"
    if xp.isdtype(dt, "real floating"):
        return "f"
    return "c" if xp.isdtype(dt, "complex floating") else "o"


def _half(xp: Any, dtype: Any) -> bool:
    """Whether a real floating dtype has fewer than 32 bits (float16)."""
    itemsize = getattr(dtype, "itemsize", None)
    if isinstance(itemsize, int):
        return itemsize < 4
    return bool(dtype == getattr(xp, "float16", None))


def _norm(xp: Any, x: Any, squares: float, scale: float) -> float:
    """Return sqrt(squares), rescaling when the squares overflowed the array's dtype."""
    if math.isfinite(squares):
        return math.sqrt(squares)
    if scale == 0.0 or not math.isfinite(scale):
        return math.inf
    y = x / scale
    (scaled,) = _floats(xp, [xp.sum(y * y, dtype=xp.float64)])
    return scale * math.sqrt(scaled)


def _summarize_nonfinite(xp: Any, x: Any, size: int, summary: dict[str, Any]) -> dict[str, Any]:
    """The slow path, taken only when a NaN or Inf (or an overflowing sum) is present."""
    f64 = xp.float64
    finite = xp.isfinite(x)
    n_nan, n_inf, count = _floats(
        xp,
        [
            xp.sum(xp.astype(xp.isnan(x), xp.int64)),
            xp.sum(xp.astype(xp.isinf(x), xp.int64)),
            xp.sum(xp.astype(finite, xp.int64)),
        ],
    )
    summary["nan"] = int(n_nan)
    summary["inf"] = int(n_inf)
    if count == 0:
        summary.update(norm=0.0, min=_NAN, max=_NAN, mean=_NAN)
        return summary
    zero = xp.zeros_like(x)
    kept = xp.where(finite, x, zero)
    inf = xp.full_like(x, math.inf)
    total, lo, hi = _floats(
        xp,
        [
            xp.sum(kept, dtype=f64),
            xp.min(xp.where(finite, x, inf)),
            xp.max(xp.where(finite, x, -inf)),
        ],
    )
    (squares,) = _floats(xp, [xp.sum(kept * kept, dtype=f64)])
    summary.update(
        norm=_norm(xp, kept, squares, max(-lo, hi)),
        min=lo,
        max=hi,
        mean=total / count,
    )
    return summary
