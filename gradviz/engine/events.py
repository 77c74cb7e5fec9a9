"""Graph events: what the engine announces, and the bus that carries them.

The engine builds an event only when someone listens (``if bus.listeners:``), so with
no listener the cost of an announcement is one check. Events carry references to the
tensors and nodes involved, never copies: a listener decides what to keep.

Invariant: listeners must not change engine state (the debugger may *pause* inside a
listener, nothing more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

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


_E = TypeVar("_E")


def _quick_init(cls: type[_E]) -> type[_E]:
    """Give a frozen slotted dataclass an ``__init__`` that fills its slots directly.

    The generated ``__init__`` of a frozen dataclass goes through ``object.__setattr__``
    for every field, which costs more than the rest of an event; the engine makes several
    events per backward node while someone listens. Writing through the slots' own
    descriptors is the same assignment without the lookup. The class stays frozen: setting
    an attribute afterwards still raises ``FrozenInstanceError``.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    scope = {f"_set_{name}": getattr(cls, name).__set__ for name in names}
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names)
    exec(f"def __init__(self, {', '.join(names)}):\n{body}", scope)  # as dataclasses does
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = f"Make a {cls.__name__} event."
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@_quick_init
@dataclass(frozen=True, slots=True)
class NodeCreated:
    """A backward node was created by a forward op.

    Attributes:
        node: the new ``grad_fn`` node.
        inputs: the op's inputs in order (tensors, or Python values for scalar slots).
        outputs: the tensors the op returned.
        module: dotted path of the module being called, or None.
    """

    node: Any
    inputs: tuple[Any, ...]
    outputs: tuple[Any, ...]
    module: str | None


@_quick_init
@dataclass(frozen=True, slots=True)
class BackwardStarted:
    """``backward()`` or ``autograd.grad()`` began.

    Attributes:
        roots: the tensors differentiated.
        grad_roots: the gradients they were seeded with.
        nodes: every node that will run, in no particular order.
        create_graph: whether the backward builds a graph of its own.
        retain_graph: whether saved tensors are kept.
        accumulate: True for ``backward()`` (writes ``.grad``), False for ``grad()``.
    """

    roots: tuple[Any, ...]
    grad_roots: tuple[Any, ...]
    nodes: tuple[Any, ...]
    create_graph: bool
    retain_graph: bool
    accumulate: bool


@_quick_init
@dataclass(frozen=True, slots=True)
class NodeWillRun:
    """A node is about to run. ``grads_in`` are the gradients of its outputs."""

    node: Any
    grads_in: tuple[Any, ...]
    index: int


@_quick_init
@dataclass(frozen=True, slots=True)
class NodeExecuted:
    """A node ran. ``grads_out`` are the gradients it sent to its inputs."""

    node: Any
    grads_in: tuple[Any, ...]
    grads_out: tuple[Any, ...]
    index: int
    seconds: float


@_quick_init
@dataclass(frozen=True, slots=True)
class GradAccumulated:
    """A leaf's ``.grad`` was written (``grad`` is the gradient added, ``tensor.grad`` the sum)."""

    tensor: Any
    grad: Any
    node: Any


@_quick_init
@dataclass(frozen=True, slots=True)
class BackwardFinished:
    """The backward pass ended (``completed`` is False when it raised)."""

    roots: tuple[Any, ...]
    seconds: float
    completed: bool


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
