"""Record graphs while code runs: :func:`record` and :class:`Recorder`.

A :class:`Recorder` listens to the engine's events (``gradviz.engine.events.bus``) and
keeps one trace graph per backward call in ``rec.graphs``, so a training loop gives one
graph per iteration. Each graph is built when the backward starts, by the same builder as
:func:`gradviz.trace.capture` (so ``rec.graphs[k]`` and ``capture(loss)`` agree on nodes,
ids, edges and static attributes, saved tensors included, as they still exist then), and
then annotated as the backward runs: execution order, time per node and summaries of the
gradients into and out of every node (:mod:`gradviz.trace.summary`), plus the arrays
themselves with ``values=True``.

Cost: nothing is done for ``NodeCreated`` (the engine already stores a node's module,
sequence number and metadata on the node itself), the graph is built once per backward in
time linear in its size, and each gradient is summarised once (a gradient passed from one
node to the next is recognised and not summarised twice), with a few reductions on its own
device. Nothing is copied unless ``values=True``.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable
from typing import Any

import networkx as nx

from gradviz.engine import events
from gradviz.trace import schema
from gradviz.trace.capture import Walk, build, param_names, roots_of
from gradviz.trace.summary import host_copy, summarize

__all__ = ["record", "Recorder"]


def record(values: bool = False, params: Any = None, saved: bool = False) -> Recorder:
    """Return a context manager that records one trace graph per backward call.

    Args:
        values: also keep every gradient as a host NumPy array (``grad_in_values``,
            ``grad_out_values``, ``grad_value``); memory grows with the model.
        params: names for leaves, as in :func:`gradviz.trace.capture` (usually not needed:
            leaves are named from ``tensor.name``, which nn sets to parameter names).
        saved: add ``saved`` nodes to each graph, as ``capture(..., saved=True)`` does.

    Returns:
        A :class:`Recorder`; use it in a ``with`` statement and read ``rec.graphs`` after.

    Example:
        >>> import gradviz
        >>> w = gradviz.ones(3, requires_grad=True)
        >>> with record() as rec:
        ...     for _ in range(2):
        ...         (w * 2).sum().backward()
        >>> len(rec.graphs), rec.graphs[1].graph["producer"]["iteration"]
        (2, 1)
        >>> rec.graphs[0].graph["backward"]["order"]
        ['n3', 'n2', 'n0']
    """
    return Recorder(values=values, params=params, saved=saved)


class _Active:
    """The state of one backward pass being recorded."""

    __slots__ = ("walk", "roots", "order", "memo", "backward", "fresh")

    def __init__(self, walk: Walk, roots: tuple[Any, ...], backward: dict[str, Any]) -> None:
        self.walk = walk
        self.roots = roots
        self.order: list[str] = backward["order"]
        self.backward = backward
        # id(tensor) -> (weak reference, summary, host copy): a gradient handed from one
        # node to the next is summarised once; the weak reference proves the id still
        # names the same tensor without keeping gradients alive.
        self.memo: dict[int, tuple[Any, dict[str, Any], Any]] = {}
        # AccumulateGrad -> the gradient it is about to write into a leaf whose .grad is
        # None: the leaf's new .grad is then a copy of it, with the same summary.
        self.fresh: dict[Any, Any] = {}


class Recorder:
    """Listens to the engine and keeps one trace graph per backward call.

    Use :func:`record` to make one. ``start()``/``stop()`` do what ``with`` does, for code
    that cannot use a ``with`` block; the subscription is removed on exit even when the
    block raises.

    Attributes:
        graphs: the recorded graphs, one per backward call, oldest first
            (``graphs[k].graph["producer"]["iteration"] == k``).
        values: whether gradient arrays are kept.
        saved: whether graphs have ``saved`` nodes.
    """

    def __init__(self, values: bool = False, params: Any = None, saved: bool = False) -> None:
        self.values = bool(values)
        self.saved = bool(saved)
        self.graphs: list[nx.DiGraph] = []
        self._names = param_names(params)
        self._handle: events.Handle | None = None
        self._active: list[_Active] = []
        self._dispatch: dict[type, Callable[[Any], None]] = {
            events.BackwardStarted: self._started,
            events.NodeWillRun: self._will_run,
            events.NodeExecuted: self._executed,
            events.GradAccumulated: self._accumulated,
            events.BackwardFinished: self._finished,
        }

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Recorder:
        """Start listening to the engine.

        Returns:
            The recorder itself.

        Raises:
            RuntimeError: it is already recording.
        """
        if self._handle is not None:
            raise RuntimeError(
                "this Recorder is already recording; stop() it (or leave its `with` block) "
                "before starting it again"
            )
        self._handle = events.subscribe(self._on_event)
        return self

    def stop(self) -> None:
        """Stop listening; removing twice is harmless. Graphs recorded so far are kept."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self._active.clear()

    @property
    def recording(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._handle is not None

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __len__(self) -> int:
        return len(self.graphs)

    def __repr__(self) -> str:
        state = "recording" if self.recording else "stopped"
        return f"<Recorder {state}, {len(self.graphs)} graph(s), values={self.values}>"

    # ------------------------------------------------------------ results
    def diff(self, i: int, j: int) -> Any:
        """Compare two recorded graphs with :func:`gradviz.trace.diff.diff`.

        Args:
            i: index of the first graph in ``graphs`` (negative counts from the end).
            j: index of the second graph.

        Returns:
            The differ's result (a ``GraphDiff``).

        Raises:
            IndexError: ``i`` or ``j`` names no recorded graph.
        """
        n = len(self.graphs)
        for k in (i, j):
            if not -n <= k < n:
                raise IndexError(
                    f"no graph {k}: this recorder holds {n} graph(s) (indices 0 to {n - 1})"
                    if n
                    else f"no graph {k}: nothing was recorded (no backward ran inside the block)"
                )
        differ = importlib.import_module("gradviz.trace.diff")
        return differ.diff(self.graphs[i], self.graphs[j])

    def save(self, path: Any) -> Any:
        """Save the recorded graphs to a trace file (see :func:`gradviz.trace.save`).

        Returns:
            The path written, as a ``pathlib.Path``.
        """
        from gradviz.trace.tracefile import save  # noqa: PLC0415 - keeps record's import light

        return save(self.graphs, path)

    # ------------------------------------------------------------ events
    def _on_event(self, event: Any) -> None:
        handler = self._dispatch.get(type(event))
        if handler is not None:
            handler(event)

    def _summary(self, active: _Active, grad: Any) -> tuple[dict[str, Any] | None, Any]:
        if grad is None:
            return None, None
        key = id(grad)
        hit = active.memo.get(key)
        if hit is not None and hit[0]() is grad:
            return hit[1], hit[2]
        summary = summarize(grad)
        value = host_copy(grad) if self.values else None
        active.memo[key] = (weakref.ref(grad), summary, value)
        return summary, value

    def _summaries(self, active: _Active, grads: tuple[Any, ...]) -> tuple[list[Any], list[Any]]:
        summaries = []
        values = []
        for g in grads:
            s, v = self._summary(active, g)
            summaries.append(s)
            values.append(v)
        return summaries, values

    def _started(self, event: events.BackwardStarted) -> None:
        iteration = len(self.graphs)
        roots = roots_of(event.roots, "backward")
        walk = build(roots, self._names, self.saved, schema.producer("record", iteration))
        backward = {
            "order": [],
            "seconds": 0.0,
            "retain_graph": bool(event.retain_graph),
            "create_graph": bool(event.create_graph),
            "completed": False,
        }
        walk.graph.graph["backward"] = backward
        values = self.values
        for d in walk.data.values():
            d["order"] = None
            d["seconds"] = 0.0
            d["grad_in"] = [None] * d["n_outputs"]
            d["grad_out"] = [None] * d["n_inputs"]
            if values:
                d["grad_in_values"] = [None] * d["n_outputs"]
                d["grad_out_values"] = [None] * d["n_inputs"]
        for d in walk.leaves.values():
            d["grad"] = None
            if values:
                d["grad_value"] = None
        self.graphs.append(walk.graph)
        self._active.append(_Active(walk, event.roots, backward))

    def _will_run(self, event: events.NodeWillRun) -> None:
        if not self._active:
            return
        active = self._active[-1]
        d = active.walk.data.get(event.node)
        if d is None:
            return
        d["order"] = len(active.order)
        active.order.append(active.walk.ids[event.node])
        d["grad_in"], values = self._summaries(active, event.grads_in)
        if self.values:
            d["grad_in_values"] = values
        leaf = active.walk.leaves.get(event.node)
        if leaf is not None and event.node.variable._grad is None:
            active.fresh[event.node] = event.grads_in[0]

    def _executed(self, event: events.NodeExecuted) -> None:
        if not self._active:
            return
        active = self._active[-1]
        d = active.walk.data.get(event.node)
        if d is None:
            return
        d["seconds"] = float(event.seconds)
        d["grad_out"], values = self._summaries(active, event.grads_out)
        if self.values:
            d["grad_out_values"] = values

    def _accumulated(self, event: events.GradAccumulated) -> None:
        if not self._active:
            return
        active = self._active[-1]
        d = active.walk.leaves.get(event.node)
        if d is None:
            return
        grad = event.tensor._grad
        written = active.fresh.pop(event.node, None)
        if grad is None:
            d["grad"] = None
            if self.values:
                d["grad_value"] = None
            return
        if written is not None and written is event.grad:
            # .grad was None and is now a copy of exactly this gradient (no dtype cast).
            d["grad"], value = self._summary(active, written)
        else:
            d["grad"] = summarize(grad)
            value = host_copy(grad) if self.values else None
        if self.values:
            d["grad_value"] = value

    def _finished(self, event: events.BackwardFinished) -> None:
        if not self._active or self._active[-1].roots is not event.roots:
            return  # a backward that failed before it started, or one begun before start()
        active = self._active.pop()
        active.backward["seconds"] = float(event.seconds)
        active.backward["completed"] = bool(event.completed)
        active.memo.clear()
