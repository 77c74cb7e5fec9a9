"""What every op module shares: the registry of public ops and small helpers.

``register`` records an op function under its public name; ``gradviz.engine.ops``
attaches the ones marked ``method=True`` to :class:`Tensor`, so an op is declared once
and reachable as ``gradviz.exp(x)`` and ``x.exp()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gradviz.engine.backend import namespace
from gradviz.engine.function import Op
from gradviz.engine.tensor import Tensor, _make

__all__ = [
    "Op",
    "Tensor",
    "check_tensor",
    "register",
    "REGISTRY",
    "METHODS",
    "const",
    "norm_dim",
    "norm_dims",
    "xp_of",
]

F = TypeVar("F", bound=Callable[..., Any])

REGISTRY: dict[str, Callable[..., Any]] = {}
METHODS: dict[str, Callable[..., Any]] = {}


def register(*names: str, method: bool = True, function: bool = True) -> Callable[[F], F]:
    """Record ``fn`` as public op(s) ``names`` (a function and/or a Tensor method)."""

    def deco(fn: F) -> F:
        for name in names or (fn.__name__,):
            if function:
                REGISTRY[name] = fn
            if method:
                METHODS[name] = fn
        return fn

    return deco


# Wrap an array as a Tensor that never requires grad (masks, indices, constants): the
# engine's constructor itself, whose defaults are those (one call less on a hot path).
const: Callable[[Any], Tensor] = _make


def xp_of(x: Any) -> Any:
    """Return the array namespace of a Tensor or array."""
    return namespace(x._data if isinstance(x, Tensor) else x)


def norm_dim(dim: int, ndim: int) -> int:
    """Return ``dim`` as a non-negative axis of an ``ndim``-dimensional tensor."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def norm_dims(dim: Any, ndim: int) -> tuple[int, ...]:
    """Return ``dim`` (None, an int or a sequence) as a sorted tuple of axes.

    A 0-d tensor accepts dim 0 or -1, as PyTorch allows, and has no axis to reduce: the
    result is ``()``.
    """
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = sorted({norm_dim(d, ndim) for d in dims})
    return tuple(axes) if ndim else ()


def check_tensor(fn: str, name: str, position: int, x: Any) -> None:
    """Raise PyTorch's TypeError when argument ``name`` of ``fn`` is not a Tensor.

    Args:
        fn: the op's name in the message (``"maximum"``).
        name: the argument's name in PyTorch's signature (``"other"``).
        position: the argument's 1-based position in that signature.
        x: the value passed.

    Raises:
        TypeError: ``x`` is not a Tensor.
    """
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{fn}(): argument '{name}' (position {position}) must be Tensor, "
            f"not {type(x).__name__}"
        )
