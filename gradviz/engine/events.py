"""Graph events: what the engine announces, and the bus that carries them.

The engine builds an event only when someone listens (``if bus.listeners:``), so with
no listener the cost of an announcement is one check. Events carry references to the
tensors and nodes involved, never copies: a listener decides what to keep.

Invariant: listeners must not change engine state (the debugger may *pause* inside a
listener, nothing more).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "EventBus",
    "Handle",
    "bus",
    "subscribe",
    "NodeCreated",
    "BackwardStarted",
    "NodeWillRun",
    "NodeExecuted",
    "GradAccumulated",
    "BackwardFinished",
    "module_scope",
    "current_module",
]


_set = object.__setattr__


class _Event:
    """Base of the events: immutable, equal and shown field by field (as frozen dataclasses).

    Each event lists its fields in ``__slots__`` and fills them in ``__init__``; plain
    classes, because making dataclasses costs more at ``import gradviz`` than the rest of
    this module, and building events is on the engine's path while someone listens.
    """

    __slots__: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field '{name}': events are read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field '{name}': events are read-only")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class NodeCreated(_Event):
    """A backward node was created by a forward op.

    Attributes:
        node: the new ``grad_fn`` node.
        inputs: the op's inputs in order (tensors, or Python values for scalar slots).
        outputs: the tensors the op returned.
        module: dotted path of the module being called, or None.
    """

    __slots__ = ("node", "inputs", "outputs", "module")
    node: Any
    inputs: tuple[Any, ...]
    outputs: tuple[Any, ...]
    module: str | None

    def __init__(
        self, node: Any, inputs: tuple[Any, ...], outputs: tuple[Any, ...], module: str | None
    ) -> None:
        _set(self, "node", node)
        _set(self, "inputs", inputs)
        _set(self, "outputs", outputs)
        _set(self, "module", module)


class BackwardStarted(_Event):
    """``backward()`` or ``autograd.grad()`` began.

    Attributes:
        roots: the tensors differentiated.
        grad_roots: the gradients they were seeded with.
        nodes: every node that will run, in no particular order.
        create_graph: whether the backward builds a graph of its own.
        retain_graph: whether saved tensors are kept.
        accumulate: True for ``backward()`` (writes ``.grad``), False for ``grad()``.
    """

    __slots__ = ("roots", "grad_roots", "nodes", "create_graph", "retain_graph", "accumulate")
    roots: tuple[Any, ...]
    grad_roots: tuple[Any, ...]
    nodes: tuple[Any, ...]
    create_graph: bool
    retain_graph: bool
    accumulate: bool

    def __init__(
        self,
        roots: tuple[Any, ...],
        grad_roots: tuple[Any, ...],
        nodes: tuple[Any, ...],
        create_graph: bool,
        retain_graph: bool,
        accumulate: bool,
    ) -> None:
        _set(self, "roots", roots)
        _set(self, "grad_roots", grad_roots)
        _set(self, "nodes", nodes)
        _set(self, "create_graph", create_graph)
        _set(self, "retain_graph", retain_graph)
        _set(self, "accumulate", accumulate)


class NodeWillRun(_Event):
    """A node is about to run. ``grads_in`` are the gradients of its outputs."""

    __slots__ = ("node", "grads_in", "index")
    node: Any
    grads_in: tuple[Any, ...]
    index: int

    def __init__(self, node: Any, grads_in: tuple[Any, ...], index: int) -> None:
        _set(self, "node", node)
        _set(self, "grads_in", grads_in)
        _set(self, "index", index)


class NodeExecuted(_Event):
    """A node ran. ``grads_out`` are the gradients it sent to its inputs."""

    __slots__ = ("node", "grads_in", "grads_out", "index", "seconds")
    node: Any
    grads_in: tuple[Any, ...]
    grads_out: tuple[Any, ...]
    index: int
    seconds: float

    def __init__(
        self,
        node: Any,
        grads_in: tuple[Any, ...],
        grads_out: tuple[Any, ...],
        index: int,
        seconds: float,
    ) -> None:
        _set(self, "node", node)
        _set(self, "grads_in", grads_in)
        _set(self, "grads_out", grads_out)
        _set(self, "index", index)
        _set(self, "seconds", seconds)


class GradAccumulated(_Event):
    """A leaf's ``.grad`` was written (``grad`` is the gradient added, ``tensor.grad`` the sum)."""

    __slots__ = ("tensor", "grad", "node")
    tensor: Any
    grad: Any
    node: Any

    def __init__(self, tensor: Any, grad: Any, node: Any) -> None:
        _set(self, "tensor", tensor)
        _set(self, "grad", grad)
        _set(self, "node", node)


class BackwardFinished(_Event):
    """The backward pass ended (``completed`` is False when it raised)."""

    __slots__ = ("roots", "seconds", "completed")
    roots: tuple[Any, ...]
    seconds: float
    completed: bool

    def __init__(self, roots: tuple[Any, ...], seconds: float, completed: bool) -> None:
        _set(self, "roots", roots)
        _set(self, "seconds", seconds)
        _set(self, "completed", completed)


class Handle:
    """Removes a subscription or hook; also a context manager that removes on exit."""

    __slots__ = ("_container", "_item")

    def __init__(self, container: list[Any] | dict[Any, Any], item: Any) -> None:
        self._container = container
        self._item = item

    def remove(self) -> None:
        """Remove the subscription; removing twice is harmless."""
        container = self._container
        if isinstance(container, dict):
            container.pop(self._item, None)
        elif self._item in container:
            container.remove(self._item)

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class EventBus:
    """Delivers engine events to listeners, in subscription order."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Any], None]] = []

    def subscribe(self, listener: Callable[[Any], None]) -> Handle:
        """Call ``listener(event)`` for every event from now on.

        Returns:
            A Handle whose ``remove()`` ends the subscription.
        """
        self.listeners.append(listener)
        return Handle(self.listeners, listener)

    def emit(self, event: Any) -> None:
        """Send ``event`` to every listener."""
        listeners = self.listeners
        if len(listeners) == 1:  # the usual case, without the copy that guards the loop
            listeners[0](event)
            return
        for listener in tuple(listeners):  # a listener may subscribe or remove one
            listener(event)


bus = EventBus()
subscribe = bus.subscribe

# The dotted path of the module whose forward is running (innermost last).
_module_stack: list[str] = []


def current_module() -> str | None:
    """Return the dotted path of the innermost module being called, or None."""
    return _module_stack[-1] if _module_stack else None


class module_scope:  # noqa: N801 - used like a function
    """Mark graph nodes created inside as belonging to module ``path``."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        _module_stack.append(self.path)

    def __exit__(self, *exc: object) -> None:
        _module_stack.pop()
