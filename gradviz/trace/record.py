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
gradient is summarised once, with four reductions on its own device; a gradient passed
from one node to the next is recognised by identity. A large gradient is summarised as it
flows, while it is still in the CPU's cache, and a transposed or reshaped view of it
(``TBackward0``) reuses its summary. (Keeping gradients alive to summarise them later
costs more than summarising them: the engine can no longer reuse their memory.) Small
NumPy gradients (:data:`gradviz.trace.summary.SMALL` elements or fewer), for which
NumPy's cost per call outweighs the reductions, are kept until the backward ends and
summarised together in one vectorised pass (:func:`gradviz.trace.summary.summarize_many`),
before user code can change them in place; one that a hook is about to be handed is
summarised at once, as a hook could change it in place (PyTorch asks hooks not to, but
does not stop them). The engine changes no gradient in place once it has flowed. Nothing
is copied unless ``values=True``. Without ``inputs=True`` nothing is done when a node is
created.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from gradviz.engine import events
from gradviz.engine.function import AccumulateGrad
from gradviz.trace import schema
from gradviz.trace.capture import InputNote, Walk, build, note_inputs, param_names, roots_of
from gradviz.trace.summary import SMALL, host_copy, summarize, summarize_many

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
    """The state of one backward pass being recorded.

    Small gradients are *owed*: ``owed[i]`` is the array of owed gradient ``i`` until it is
    summarised into ``done[i]``; ``holes`` lists where the summaries go, as
    ``(container, key, i)`` (a node's ``grad_in``/``grad_out`` list and a slot, or a leaf
    node's dict and ``"grad"``).
    """

    __slots__ = (
        "walk",
        "roots",
        "order",
        "backward",
        "memo",
        "whole",
        "fresh",
        "owed",
        "done",
        "holes",
        "eager",
    )

    def __init__(self, walk: Walk, roots: tuple[Any, ...], backward: dict[str, Any]) -> None:
        self.walk = walk
        self.roots = roots
        self.order: list[str] = backward["order"]
        self.backward = backward
        # id(tensor) -> (weak reference, summary or owed index, host copy): a gradient
        # handed from one node to the next is summarised once; the weak reference proves
        # the id still names the same tensor without keeping gradients alive.
        self.memo: dict[int, tuple[Any, Any, Any]] = {}
        # id(array owning the memory) -> (weak reference, summary): a view that covers all
        # of that memory holds the same numbers in another shape (a transposed gradient).
        self.whole: dict[int, tuple[Any, dict[str, Any]]] = {}
        # AccumulateGrad -> the memo entry of the gradient it is about to write into a leaf
        # whose .grad is None: the leaf's new .grad is then a copy of it, same summary.
        self.fresh: dict[Any, Any] = {}
        self.owed: list[Any] = []
        self.done: list[dict[str, Any] | None] = []
        self.holes: list[tuple[Any, Any, int]] = []
        self.eager = False  # the graph was handed out while the backward ran


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


def _hooked(fn: Any) -> bool:
    """Whether user code may see the gradients that flow into node ``fn`` while it runs.

    True when ``fn`` has tensor hooks or pre-hooks, and for an AccumulateGrad whose leaf
    has hooks or post-accumulate hooks (these see ``.grad``, which could share the memory
    of the gradient written into it).
    """
    if fn._tensor_hooks or fn._pre_hooks:
        return True
    if type(fn) is not AccumulateGrad:
        return False
    leaf = fn.variable
    return bool(leaf._hooks or leaf._post_accumulate_hooks)


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
            self._settle(active)  # its end will not be seen
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
            for active in self._active:
                # Handed out mid-backward: what it owes now, and the rest as it comes.
                self._settle(active)
                active.eager = True
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

    def _entry(self, active: _Active, g: Any) -> tuple[Any, Any, Any]:
        """Return ``g``'s new memo entry: its summary, or the index of its owed summary."""
        data = g._data
        summary: Any
        if (
            not active.eager
            and type(data) is np.ndarray
            and 0 < data.size <= SMALL
            and data.dtype.kind == "f"
            and data.dtype.itemsize <= 8
        ):  # what summarize_many takes (summary.batchable, inlined)
            summary = len(active.owed)
            active.owed.append(data)
            active.done.append(None)
        else:
            summary = self._describe(active, data)
        entry = (weakref.ref(g), summary, host_copy(g) if self.values else None)
        active.memo[id(g)] = entry
        return entry

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

    def _pay(self, active: _Active, i: int) -> dict[str, Any]:
        """Summarise owed gradient ``i`` now."""
        summary = active.done[i]
        if summary is None:
            summary = active.done[i] = summarize_many([active.owed[i]])[0]
            active.owed[i] = None
        return summary

    def _settle(self, active: _Active) -> None:
        """Summarise every gradient ``active`` owes, in one pass, and put the summaries in."""
        owed, done = active.owed, active.done
        pending = [i for i in range(len(owed)) if owed[i] is not None]
        if pending:
            # NOTE: a transposed view and its owner are both summarised here, rather than
            # matched up: the batch costs less than the matching, and gives both the same
            # numbers (ravel("K") reads their elements in the same order).
            for i, summary in zip(pending, summarize_many([owed[i] for i in pending]), strict=True):
                done[i] = summary
                owed[i] = None
        holes = active.holes
        if holes:
            for container, key, i in holes:
                container[key] = done[i]
            holes.clear()

    def _fill(
        self,
        active: _Active,
        grads: tuple[Any, ...],
        d: dict[str, Any],
        key: str,
        now: bool,
        consumers: Any = (),
    ) -> None:
        """Put the summaries of ``grads`` in ``d[key]``, slot for slot (host copies too).

        An owed summary goes in when the backward ends, unless ``now`` or a hook of the
        slot's consumer (``consumers``: the node's ``next_functions``) will see it first.
        """
        # NOTE: this runs for every node, twice: keep it lean.
        n = len(grads)
        target = d[key]
        if len(target) != n:
            target = d[key] = [None] * n
        copies = None
        if self.values:
            copies = d[key + "_values"]
            if len(copies) != n:
                copies = d[key + "_values"] = [None] * n
        memo = active.memo
        for k in range(n):
            g = grads[k]
            if g is None:
                target[k] = None
                continue
            entry = memo.get(id(g))
            if entry is None or entry[0]() is not g:
                entry = self._entry(active, g)
            summary = entry[1]
            if type(summary) is int:
                i = summary
                summary = active.done[i]
                if summary is None:
                    fn = consumers[k][0] if k < len(consumers) else None
                    if now or (fn is not None and _hooked(fn)):
                        summary = self._pay(active, i)
                    else:
                        active.holes.append((target, k, i))
            target[k] = summary
            if copies is not None:
                copies[k] = entry[2]

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
        grads = event.grads_in
        # The node's own post hooks are handed these gradients once it has run.
        self._fill(active, grads, d, "grad_in", active.eager or bool(node._post_hooks))
        if node in walk.leaves and node.variable._grad is None:
            active.fresh[node] = active.memo.get(id(grads[0]))

    def _executed(self, event: events.NodeExecuted) -> None:
        if not self._active:
            return
        active = self._active[-1]
        node = event.node
        d = active.walk.data.get(node)
        if d is None:
            return
        d["seconds"] = float(event.seconds)
        self._fill(active, event.grads_out, d, "grad_out", active.eager, node.next_functions)

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
        if written is not None and written[0]() is event.grad:
            # .grad was None and is now a copy of exactly this gradient (no dtype cast).
            summary = written[1]
            if type(summary) is int:
                i = summary
                summary = active.done[i]
                if summary is None:
                    active.holes.append((d, "grad", i))
            d["grad"] = summary
            value = written[2]
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
        self._settle(active)  # before user code runs again, and can change them in place
        active.memo.clear()
        active.whole.clear()
        active.fresh.clear()
        active.walk.detach()  # the graph no longer needs the engine's nodes and tensors
