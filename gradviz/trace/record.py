"""Record graphs while code runs: :func:`record` and :class:`Recorder`.

A :class:`Recorder` listens to the engine's events (``gradviz.engine.events.bus``) and
keeps one trace graph per backward call in ``rec.graphs``, so a training loop gives one
graph per iteration. Each graph is taken when the backward starts, by the same builder as
:func:`gradviz.trace.capture` (so ``rec.graphs[k]`` and ``capture(loss)`` agree on nodes,
ids, edges and static attributes, saved tensors included, as they still exist then), and
then annotated as the backward runs: execution order, time per node and summaries of the
gradients into and out of every node (:mod:`gradviz.trace.summary`), plus the arrays
themselves with ``values=True``.

With ``inputs=True`` the recorder also notes, for every node created while it listens,
the tensors that fed the op without needing a gradient, and the graphs show them as
``leaf`` nodes with ``requires_grad=False``. Nodes created before recording started show
only the inputs they saved for backward, as :func:`gradviz.trace.capture` does.

Cost, per backward pass: the node data is taken once, in time linear in the graph; the
``networkx`` graph is made from it only when ``rec.graphs`` is first read, so a training
loop that records but reads the graphs at the end pays for networkx at the end. Each
gradient is summarised once, with four reductions on its own device: a gradient passed
from one node to the next, or handed on as a transposed or reshaped view of the same
array (``TBackward0``), is recognised and not summarised again. Nothing is copied unless
``values=True``. Without ``inputs=True`` nothing is done when a node is created.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from gradviz.engine import events
from gradviz.trace import schema
from gradviz.trace.capture import InputNote, Walk, build, note_inputs, param_names, roots_of
from gradviz.trace.summary import host_copy, summarize

__all__ = ["record", "Recorder"]


def record(
    values: bool = False, params: Any = None, saved: bool = False, inputs: bool = False
) -> Recorder:
    """Return a context manager that records one trace graph per backward call.

    Args:
        values: also keep every gradient as a host NumPy array (``grad_in_values``,
            ``grad_out_values``, ``grad_value``); memory grows with the model.
        params: names for leaves, as in :func:`gradviz.trace.capture` (usually not needed:
            leaves are named from ``tensor.name``, which nn sets to parameter names).
        saved: add ``saved`` nodes to each graph, as ``capture(..., saved=True)`` does.
        inputs: add the tensors that feed an op without needing a gradient (a batch of
            data, a mask) as ``leaf`` nodes with ``requires_grad=False``; every one of them
            for ops created while recording.

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
        >>> x = gradviz.tensor([1.0, 2.0, 3.0])
        >>> with record(inputs=True) as rec:
        ...     (w + x).sum().backward()
        >>> [d["requires_grad"] for _, d in rec.graphs[0].nodes(data=True) if d["kind"] == "leaf"]
        [True, False]
    """
    return Recorder(values=values, params=params, saved=saved, inputs=inputs)


class _Active:
    """The state of one backward pass being recorded."""

    __slots__ = ("walk", "roots", "order", "backward", "memo", "whole", "fresh")

    def __init__(self, walk: Walk, roots: tuple[Any, ...], backward: dict[str, Any]) -> None:
        self.walk = walk
        self.roots = roots
        self.order: list[str] = backward["order"]
        self.backward = backward
        # id(tensor) -> (weak reference, summary, host copy): a gradient handed from one
        # node to the next is summarised once; the weak reference proves the id still
        # names the same tensor without keeping gradients alive.
        self.memo: dict[int, tuple[Any, dict[str, Any], Any]] = {}
        # id(array owning the memory) -> (weak reference, summary): a view that covers all
        # of that memory holds the same numbers in another shape (a transposed gradient).
        self.whole: dict[int, tuple[Any, dict[str, Any]]] = {}
        # AccumulateGrad -> the gradient it is about to write into a leaf whose .grad is
        # None: the leaf's new .grad is then a copy of it, with the same summary.
        self.fresh: dict[Any, Any] = {}


def _whole_array(data: Any) -> np.ndarray | None:
    """Return the NumPy array owning ``data``'s memory when ``data`` holds all of it.

    Such a view (``a.T``, ``a.reshape(...)``) has the same elements as the owner in another
    order, so it has the owner's summary but for the shape. None for anything else (a
    slice, a broadcast, another dtype, another library).
    """
    if type(data) is not np.ndarray:
        return None
    base = data.base
    if base is None:
        return data
    if type(base) is not np.ndarray or base.size != data.size or base.dtype != data.dtype:
        return None
    flags = data.flags
    if not (flags.c_contiguous or flags.f_contiguous):
        return None
    flags = base.flags
    return base if flags.c_contiguous or flags.f_contiguous else None


class Recorder:
    """Listens to the engine and keeps one trace graph per backward call.

    Use :func:`record` to make one. ``start()``/``stop()`` do what ``with`` does, for code
    that cannot use a ``with`` block; the subscription is removed on exit even when the
    block raises.

    Attributes:
        values: whether gradient arrays are kept.
        saved: whether graphs have ``saved`` nodes.
        inputs: whether graphs have input nodes (leaves that need no gradient).
    """

    def __init__(
        self,
        values: bool = False,
        params: Any = None,
        saved: bool = False,
        inputs: bool = False,
    ) -> None:
        self.values = bool(values)
        self.saved = bool(saved)
        self.inputs = bool(inputs)
        self._graphs: list[nx.DiGraph] = []
        self._pending: list[Walk] = []  # recorded passes whose graphs are not made yet
        self._names = param_names(params)
        self._handle: events.Handle | None = None
        self._active: list[_Active] = []
        self._notes: weakref.WeakKeyDictionary[Any, tuple[InputNote, ...]] | None = (
            weakref.WeakKeyDictionary() if self.inputs else None
        )
        self._dispatch: dict[type, Callable[[Any], None]] = {
            events.BackwardStarted: self._started,
            events.NodeWillRun: self._will_run,
            events.NodeExecuted: self._executed,
            events.GradAccumulated: self._accumulated,
            events.BackwardFinished: self._finished,
        }
        if self.inputs:
            self._dispatch[events.NodeCreated] = self._created

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
        for active in self._active:
            active.walk.detach()
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
        return len(self._graphs) + len(self._pending)

    def __repr__(self) -> str:
        state = "recording" if self.recording else "stopped"
        return f"<Recorder {state}, {len(self)} graph(s), values={self.values}>"

    # ------------------------------------------------------------ results
    @property
    def graphs(self) -> list[nx.DiGraph]:
        """The recorded graphs, one per backward call, oldest first.

        ``graphs[k].graph["producer"]["iteration"] == k``. Graphs are made from the
        recorded data on the first read; a graph read while its backward still runs keeps
        filling in as the backward goes on.
        """
        pending = self._pending
        if pending:
            self._graphs.extend(walk.graph for walk in pending)
            pending.clear()
        return self._graphs

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
        n = len(self)
        for k in (i, j):
            if not -n <= k < n:
                raise IndexError(
                    f"no graph {k}: this recorder holds {n} graph(s) (indices 0 to {n - 1})"
                    if n
                    else f"no graph {k}: nothing was recorded (no backward ran inside the block)"
                )
        differ = importlib.import_module("gradviz.trace.diff")
        graphs = self.graphs
        return differ.diff(graphs[i], graphs[j])

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
        summary = self._describe(active, grad._data)
        value = host_copy(grad) if self.values else None
        active.memo[key] = (weakref.ref(grad), summary, value)
        return summary, value

    def _describe(self, active: _Active, data: Any) -> dict[str, Any]:
        """Summarise an array, reusing the summary of a view of the same memory."""
        whole = _whole_array(data)
        if whole is None:
            return summarize(data)
        seen = active.whole.get(id(whole))
        if seen is not None and seen[0]() is whole:
            summary = seen[1]
            if summary["shape"] != data.shape:
                summary = {**summary, "shape": data.shape}
            return summary
        summary = summarize(data)
        active.whole[id(whole)] = (weakref.ref(whole), summary)
        return summary

    def _summaries(
        self, active: _Active, grads: tuple[Any, ...]
    ) -> tuple[list[Any], list[Any] | None]:
        """Return the gradients' summaries (and host copies with ``values``), slot for slot."""
        # NOTE: _summary's work inlined: this runs for every slot of every node.
        memo = active.memo
        summaries: list[Any] = []
        values: list[Any] | None = [] if self.values else None
        for g in grads:
            if g is None:
                summary = value = None
            else:
                hit = memo.get(id(g))
                if hit is not None and hit[0]() is g:
                    summary, value = hit[1], hit[2]
                else:
                    summary = self._describe(active, g._data)
                    value = host_copy(g) if values is not None else None
                    memo[id(g)] = (weakref.ref(g), summary, value)
            summaries.append(summary)
            if values is not None:
                values.append(value)
        return summaries, values

    def _created(self, event: events.NodeCreated) -> None:
        found = note_inputs(event.inputs, event.node)
        if found is not None:
            self._notes[event.node] = found  # type: ignore[index]

    def _started(self, event: events.BackwardStarted) -> None:
        iteration = len(self)
        roots = roots_of(event.roots, "backward")
        walk = build(
            roots,
            self._names,
            self.saved,
            schema.producer("record", iteration),
            inputs=self.inputs,
            notes=self._notes,
            recorded=True,
            values=self.values,
        )
        backward = {
            "order": [],
            "seconds": 0.0,
            "retain_graph": bool(event.retain_graph),
            "create_graph": bool(event.create_graph),
            "completed": False,
        }
        walk.attrs["backward"] = backward
        self._pending.append(walk)
        self._active.append(_Active(walk, event.roots, backward))

    def _will_run(self, event: events.NodeWillRun) -> None:
        if not self._active:
            return
        active = self._active[-1]
        node = event.node
        walk = active.walk
        d = walk.data.get(node)
        if d is None:
            return
        d["order"] = len(active.order)
        active.order.append(walk.ids[node])
        d["grad_in"], values = self._summaries(active, event.grads_in)
        if values is not None:
            d["grad_in_values"] = values
        if node in walk.leaves and node.variable._grad is None:
            active.fresh[node] = event.grads_in[0]

    def _executed(self, event: events.NodeExecuted) -> None:
        if not self._active:
            return
        active = self._active[-1]
        d = active.walk.data.get(event.node)
        if d is None:
            return
        d["seconds"] = float(event.seconds)
        d["grad_out"], values = self._summaries(active, event.grads_out)
        if values is not None:
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
            # NOTE: not from the memos: .grad may have been added to in place.
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
        active.whole.clear()
        active.fresh.clear()
        active.walk.detach()  # the graph no longer needs the engine's nodes and tensors
