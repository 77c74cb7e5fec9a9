"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

The state is two flags held in one-element lists (``_grad_enabled[0]``): every op reads
them on its hot path, and a list item is the cheapest mutable global to read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
]

_grad_enabled = [True]
_inference = [False]


def is_grad_enabled() -> bool:
    """Return True when new ops record a backward graph."""
    return _grad_enabled[0]


def is_inference_mode_enabled() -> bool:
    """Return True inside ``inference_mode()``."""
    return _inference[0]


class _Mode:
    """Base of the grad modes: a context manager and a decorator.

    Subclasses set ``_grad`` and ``_infer`` (None leaves the inference flag alone).
    """

    _grad = True
    _infer: bool | None = None

    def _apply(self) -> None:
        _grad_enabled[0] = self._grad
        if self._infer is not None:
            _inference[0] = self._infer

    def __enter__(self) -> None:
        self._prev = (_grad_enabled[0], _inference[0])
        self._apply()

    def __exit__(self, *exc: object) -> None:
        _grad_enabled[0], _inference[0] = self._prev

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = (_grad_enabled[0], _inference[0])
            self._apply()
            try:
                return fn(*args, **kwargs)
            finally:
                _grad_enabled[0], _inference[0] = prev

        return wrapper


class _BareDecorator(_Mode):
    """A mode usable as ``@mode``, ``@mode()`` and ``with mode():``."""

    def __new__(cls, fn: Callable[..., Any] | None = None) -> Any:
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        pass


class no_grad(_BareDecorator):  # noqa: N801 - PyTorch's name
    """Disable graph recording.

    Example:
        >>> import gradviz
        >>> x = gradviz.ones(2, requires_grad=True)
        >>> with gradviz.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    _grad = False


class enable_grad(_BareDecorator):  # noqa: N801
    """Enable graph recording, for example inside a ``no_grad`` block."""

    _grad = True


class set_grad_enabled(_Mode):  # noqa: N801
    """Set grad mode; works as a plain call, a context manager and a decorator.

    Args:
        mode: True to record graphs, False not to.
    """

    def __init__(self, mode: bool) -> None:
        self._grad = bool(mode)
        self._prev = (_grad_enabled[0], _inference[0])
        _grad_enabled[0] = self._grad

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``fn`` to run in this mode; as a decorator the mode applies to its calls only."""
        # __init__ switched the mode at decoration time: undo that.
        _grad_enabled[0], _inference[0] = self._prev
        return super().__call__(fn)


class inference_mode(_Mode):  # noqa: N801
    """Like ``no_grad``; tensors made inside are inference tensors and stay so.

    Args:
        mode: False makes this block a no-op, as in PyTorch.
    """

    def __new__(cls, mode: Any = True) -> Any:
        """Create the mode; ``@inference_mode`` without parentheses decorates directly."""
        self = super().__new__(cls)
        if callable(mode):
            inference_mode.__init__(self, True)
            return self(mode)
        return self

    def __init__(self, mode: Any = True) -> None:
        on = True if callable(mode) else bool(mode)
        self._grad = not on
        self._infer = on
        if not on:
            self._grad = _grad_enabled[0]
