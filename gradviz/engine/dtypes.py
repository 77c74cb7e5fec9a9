"""Tensor dtypes with PyTorch's names and promotion rules.

A :class:`dtype` wraps a NumPy dtype (CuPy uses the same dtype objects). The module
holds the process-wide default floating dtype (float32, as in PyTorch).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype",
    "float16",
    "half",
    "float32",
    "float",
    "float64",
    "double",
    "int8",
    "uint8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
    "get_default_dtype",
    "set_default_dtype",
    "to_dtype",
    "result_type",
]

_builtin_bool = bool
_builtin_float = float
_builtin_int = int


class dtype:  # noqa: N801 - PyTorch's spelling
    """A tensor element type: ``gradviz.float32``, ``gradviz.int64``, ...

    Args:
        name: PyTorch's name for it (``"float32"``).
        np_dtype: the NumPy dtype that stores it.
    """

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "category")

    def __init__(self, name: str, np_dtype: np.dtype) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        # NOTE: categories order bool < integer < floating, as PyTorch's promotion does.
        self.category = {"b": 0, "u": 1, "i": 1, "f": 2}[self.np.kind]

    def __repr__(self) -> str:
        return f"gradviz.{self.name}"

    def __reduce__(self) -> str:
        return self.name


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)  # noqa: A001 - PyTorch's alias
float64 = double = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)  # noqa: A001
int64 = long = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)  # noqa: A001

_ALL = (float16, float32, float64, int8, uint8, int16, int32, int64, bool)
_BY_NP = {d.np: d for d in _ALL}
_default = [float32]


def get_default_dtype() -> dtype:
    """Return the default floating dtype (float32 unless changed).

    Example:
        >>> import gradviz
        >>> gradviz.get_default_dtype()
        gradviz.float32
    """
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    """Set the dtype that float tensors get when none is given.

    Args:
        d: ``gradviz.float32`` or ``gradviz.float64`` (or float16).

    Raises:
        TypeError: ``d`` is not a floating dtype.
    """
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def to_dtype(d: object) -> dtype:
    """Return the gradviz dtype for ``d`` (a gradviz dtype, NumPy dtype, or Python type).

    Raises:
        TypeError: ``d`` names no dtype that gradviz supports.
    """
    if isinstance(d, dtype):
        return d
    if d is _builtin_float:
        return _default[0]
    if d is _builtin_int:
        return int64
    if d is _builtin_bool:
        return bool
    try:
        return _BY_NP[np.dtype(d)]  # type: ignore[call-overload]
    except (TypeError, KeyError):
        names = ", ".join(x.name for x in _ALL)
        raise TypeError(f"unsupported dtype {d!r}; gradviz supports {names}") from None


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    """Return the gradviz dtype stored as ``np_dtype`` (float64 for unknown floats)."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        return to_dtype(np_dtype)


def _promote(a: dtype, b: dtype) -> dtype:
    return from_numpy_dtype(np.promote_types(a.np, b.np))


def result_type(*operands: object) -> dtype:
    """Return the dtype PyTorch gives an op over ``operands`` (tensors and Python scalars).

    Dimensioned tensors decide first; zero-dim tensors and then Python scalars only raise
    the result when they are of a higher category (bool < int < float), in which case a
    Python float gives the default dtype and a Python int gives int64.
    """
    dim: dtype | None = None
    zero: dtype | None = None
    scalar_cat = -1
    for x in operands:
        dt = getattr(x, "dtype", None)
        if isinstance(dt, dtype):
            if x.ndim:  # type: ignore[attr-defined]
                dim = dt if dim is None else _promote(dim, dt)
            else:
                zero = dt if zero is None else _promote(zero, dt)
        elif isinstance(x, _builtin_bool):
            scalar_cat = max(scalar_cat, 0)
        elif isinstance(x, _builtin_int):
            scalar_cat = max(scalar_cat, 1)
        elif isinstance(x, _builtin_float):
            scalar_cat = max(scalar_cat, 2)
    result = dim
    if zero is not None and (result is None or zero.category > result.category):
        result = zero
    if scalar_cat >= 0 and (result is None or scalar_cat > result.category):
        result = (bool, int64, _default[0])[scalar_cat]
    return result if result is not None else _default[0]
