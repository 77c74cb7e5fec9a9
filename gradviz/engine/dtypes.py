"""Tensor dtypes with PyTorch's names and promotion rules.

A :class:`dtype` wraps a NumPy dtype (CuPy uses the same dtype objects). The module
holds the process-wide default floating dtype (float32, as in PyTorch).
"""

from __future__ import annotations

import builtins
from typing import Any

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
    "register_namespace",
    "native",
    "FLOATING",
    "BOOLEAN",
    "is_floating",
    "is_bool",
]

_builtin_bool = bool
_builtin_float = float
_builtin_int = int


_SCALAR_NAMES = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "int8": "Char",
    "uint8": "Byte",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "bool": "Bool",
}

# The C++ type names PyTorch's kernels print for a dtype ("got: double != float").
_C_NAMES = {
    "float16": "c10::Half",
    "float32": "float",
    "float64": "double",
    "int8": "signed char",
    "uint8": "unsigned char",
    "int16": "short int",
    "int32": "int",
    "int64": "long int",
    "bool": "bool",
}


class dtype:  # noqa: N801 - PyTorch's spelling
    """A tensor element type: ``gradviz.float32``, ``gradviz.int64``, ...

    Args:
        name: PyTorch's name for it (``"float32"``).
        np_dtype: the NumPy dtype that stores it.
    """

    __slots__ = (
        "name",
        "np",
        "is_floating_point",
        "is_signed",
        "itemsize",
        "category",
        "scalar_name",
        "c_name",
    )

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        # NOTE: categories order bool < integer < floating, as PyTorch's promotion does.
        self.category = {"b": 0, "u": 1, "i": 1, "f": 2}[self.np.kind]
        # PyTorch's ScalarType name, which its error messages use ("Got: Long").
        self.scalar_name = _SCALAR_NAMES[name]
        # The C++ type name, which other messages use ("but got: double != float").
        self.c_name = _C_NAMES[name]

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
# Array dtype objects -> dtype. NumPy's (shared by CuPy) and other namespaces' dtype objects
# live in separate tables: array_api_strict's dtypes hash like NumPy's but warn when compared
# with them, so a lookup must never mix the two.
_BY_NP = {d.np: d for d in _ALL}
_BY_FOREIGN: dict[object, dtype] = {}
# NumPy dtypes that are floating / bool, for the engine's hot paths (set lookups are cheap);
# only probe these with NumPy dtypes (use is_floating / is_bool for any array's dtype).
FLOATING: set[object] = {d.np for d in _ALL if d.is_floating_point}
BOOLEAN: set[object] = {bool.np}
_FOREIGN_FLOATING: set[object] = set()
_FOREIGN_BOOLEAN: set[object] = set()
_default = [float32]
_np_dtype = np.dtype


def register_namespace(xp: object) -> None:
    """Teach the dtype tables the dtype objects of an array namespace (``array_api_strict``).

    NumPy and CuPy share NumPy's dtype objects and need no registration.
    """
    for d in _ALL:
        native = getattr(xp, d.name, None)
        if native is None or isinstance(native, type) or isinstance(native, np.dtype):
            continue  # NumPy/CuPy scalar types: already known
        _BY_FOREIGN[native] = d
        if d.is_floating_point:
            _FOREIGN_FLOATING.add(native)
        if d is bool:
            _FOREIGN_BOOLEAN.add(native)


def is_floating(array_dtype: object) -> builtins.bool:
    """Return True when an array's dtype (of any namespace) is a floating type."""
    if isinstance(array_dtype, _np_dtype):
        return array_dtype in FLOATING
    return array_dtype in _FOREIGN_FLOATING


def is_bool(array_dtype: object) -> builtins.bool:
    """Return True when an array's dtype (of any namespace) is bool."""
    if isinstance(array_dtype, _np_dtype):
        return array_dtype in BOOLEAN
    return array_dtype in _FOREIGN_BOOLEAN


def native(xp: object, d: dtype) -> object:
    """Return the dtype object of namespace ``xp`` that stores ``d``."""
    if xp is np:
        return d.np
    return getattr(xp, d.name)


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


def from_numpy_dtype(np_dtype: object) -> dtype:
    """Return the gradviz dtype stored as the array dtype ``np_dtype`` (of any namespace)."""
    if isinstance(np_dtype, _np_dtype):
        try:
            return _BY_NP[np_dtype]
        except KeyError:
            return to_dtype(np_dtype)
    return _BY_FOREIGN[np_dtype]


def _promote(a: dtype, b: dtype) -> dtype:
    # NOTE: PyTorch's table: across categories the higher category's dtype wins as is
    # (int64 with float32 gives float32; NumPy would say float64).
    if a.category != b.category:
        return a if a.category > b.category else b
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
