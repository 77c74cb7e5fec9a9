"""Build a trace graph by walking ``grad_fn`` from tensors: :func:`capture`.

The walk is iterative (no recursion limit) and linear in the size of the graph (plus one
sort of the ops by creation order). It reads what the engine stored on each node when it
was created (``next_functions``, ``_seq``, ``module``, ``attributes()``, ``saved_items()``,
``_out_meta``), so it works before and after ``backward()``; once a backward has freed a
node's saved tensors the node is marked ``saved_freed`` instead of failing. The same
builder makes the graphs of :func:`gradviz.trace.record`, which is why the two agree.
See :mod:`gradviz.trace.schema` for what the graph holds.
"""

from __future__ import annotations

import functools
import gc
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import networkx as nx
import numpy as np

from gradviz.engine.function import AccumulateGrad, Node
from gradviz.engine.tensor import Tensor
from gradviz.trace import schema
from gradviz.trace.summary import device_name, dtype_name, nbytes, shape_of

__all__ = [
    "capture",
    "readable",
    "param_names",
    "roots_of",
    "Walk",
    "build",
    "note_inputs",
    "InputNote",
]


def capture(
    *tensors: Any, params: Any = None, saved: bool = False, inputs: bool = False
) -> nx.DiGraph:
    """Return the trace graph behind ``tensors`` by walking their ``grad_fn``.

    Works before and after ``backward()``. Leaves are named from ``params`` (torchviz's
    argument), else from ``tensor.name`` (which ``gradviz.nn`` sets to each parameter's
    dotted name), so ``params`` is rarely needed.

    With ``inputs=True`` the graph also holds the tensors that feed an op without needing
    a gradient (``x`` in ``w * x``): ``leaf`` nodes with ``requires_grad=False``. Walking
    ``grad_fn`` after the fact can only see those that the engine still holds: the ones an
    op saved for its backward (``w * x`` and ``x @ w`` save ``x``; ``x + b`` saves nothing),
    and only until a backward frees them. To see every one, run the forward inside
    ``gradviz.trace.record(inputs=True)``, which notes them as the ops are created.

    Args:
        *tensors: the outputs to draw from: tensors, or tuples/lists/dicts of tensors
            (a dict's keys name outputs that have no name of their own; entries that are
            not tensors, such as None, are skipped).
        params: names for leaves: a mapping ``name -> tensor`` (``dict(model.named_parameters())``)
            or an iterable of ``(name, tensor)`` pairs; inputs are named from it too.
        saved: also add a ``saved`` node for each saved tensor that is not a leaf.
        inputs: also add the inputs that need no gradient and are still known (see above).

    Returns:
        A ``networkx.DiGraph`` following :mod:`gradviz.trace.schema`.

    Raises:
        TypeError: no tensor was given, an argument is not a tensor (or a container of
            them), or ``params`` is not a mapping of names to tensors.

    Example:
        >>> import gradviz
        >>> w = gradviz.ones(3, requires_grad=True)
        >>> g = capture(w * 2, params={"w": w})
        >>> [(n, d["label"]) for n, d in g.nodes(data=True)]
        [('n0', 'AccumulateGrad'), ('n1', 'w'), ('n2', 'MulBackward0'), ('n3', '')]
        >>> x = gradviz.tensor([1.0, 2.0, 3.0])
        >>> g = capture(w * x, params={"w": w, "x": x}, inputs=True)
        >>> leaves = [n for n, kind in g.nodes(data="kind") if kind == "leaf"]
        >>> [(n, g.nodes[n]["label"], g.nodes[n]["requires_grad"]) for n in leaves]
        [('n1', 'w', True), ('n4', 'x', False)]
        >>> g.edges["n4", "n2"]
        {'role': 'data', 'slots': [[1, 0]]}
    """
    roots = roots_of(tensors, "capture")
    made_by = schema.producer("capture")
    return build(roots, param_names(params), saved, made_by, inputs=inputs).graph


def roots_of(values: Iterable[Any], caller: str) -> list[tuple[Tensor, str | None]]:
    """Flatten tensors and containers of tensors into ``(tensor, name hint)`` pairs.

    Args:
        values: what the user passed.
        caller: the function name used in error messages.

    Raises:
        TypeError: a top-level value is not a tensor or a container, or nothing was given.
    """
    out: list[tuple[Tensor, str | None]] = []
    for i, value in enumerate(values):
        if isinstance(value, Tensor):
            out.append((value, None))
        elif isinstance(value, (tuple, list, dict)):
            _flatten(value, None, out)
        else:
            raise TypeError(
                f"{caller}() expects tensors (or tuples/lists/dicts of tensors); argument {i} "
                f"is a {type(value).__name__}. Pass the model's output or the loss."
            )
    if not out:
        raise TypeError(
            f"{caller}() needs at least one tensor to draw the graph of, e.g. {caller}(loss)."
        )
    return out


def _flatten(value: Any, hint: str | None, out: list[tuple[Tensor, str | None]]) -> None:
    stack: list[tuple[Any, str | None]] = [(value, hint)]
    while stack:
        item, name = stack.pop()
        if isinstance(item, Tensor):
            out.append((item, name))
        elif isinstance(item, dict):
            stack.extend((v, str(k)) for k, v in reversed(list(item.items())))
        elif isinstance(item, (tuple, list)):
            stack.extend((v, None) for v in reversed(item))


def param_names(params: Any) -> dict[int, str]:
    """Return ``id(tensor) -> name`` for a ``params`` argument (None gives ``{}``).

    Args:
        params: a mapping ``name -> tensor`` or an iterable of ``(name, tensor)`` pairs.

    Raises:
        TypeError: ``params`` is neither, or holds a non-str name or a non-tensor value.
    """
    if params is None:
        return {}
    if isinstance(params, Mapping):
        items = list(params.items())
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes, Tensor)):
        items = list(params)
        if not all(isinstance(p, tuple) and len(p) == 2 for p in items):
            raise TypeError(
                "params must be a dict of name -> tensor or (name, tensor) pairs, as "
                "dict(model.named_parameters()) gives; got an iterable of "
                f"{', '.join(sorted({type(p).__name__ for p in items}))}"
            )
    else:
        raise TypeError(
            "params must be a dict of name -> tensor (e.g. dict(model.named_parameters())), "
            f"got {type(params).__name__}"
        )
    names: dict[int, str] = {}
    for name, tensor in items:
        if not isinstance(name, str) or not isinstance(tensor, Tensor):
            raise TypeError(
                "params must map str names to tensors; got "
                f"{type(name).__name__} -> {type(tensor).__name__} for {name!r}"
            )
        names.setdefault(id(tensor), name)
    return names


def readable(value: Any) -> str:
    """Return an op attribute as readable, deterministic text (``"1"``, ``"(0, 1)"``, ``"mean"``).

    Args:
        value: an op parameter (int, float, bool, None, str, tuple, list, dtype, device,
            slice, array or tensor).

    Returns:
        Text without object addresses, so the same program gives the same text.

    Example:
        >>> readable((0,)), readable(False), readable(1e-05), readable([2, 3])
        ('(0,)', 'False', '1e-05', '[2, 3]')
    """
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, int)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, np.generic):
        return readable(value.item())
    if isinstance(value, tuple):
        inner = ", ".join(readable(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(readable(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{readable(k)}: {readable(v)}" for k, v in value.items()) + "}"
    if isinstance(value, slice):
        return f"slice({readable(value.start)}, {readable(value.stop)}, {readable(value.step)})"
    if value is Ellipsis:
        return "..."
    if isinstance(value, Tensor):
        data = value._data
        return f"tensor(shape={readable(shape_of(data))}, dtype={dtype_name(data.dtype)})"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array(shape={readable(shape_of(value))}, dtype={dtype_name(value.dtype)})"
    name = getattr(value, "name", None)
    if isinstance(name, str) and type(value).__name__ == "dtype":
        return name
    text = repr(value) if type(value).__name__ != "Device" else str(value)
    return type(value).__name__ if " at 0x" in text else text


#: What a recorder notes about one input of a new node that needs no gradient:
#: ``(slot, weak reference to the tensor, its name then, shape, dtype, device)``.
InputNote = tuple[int, Any, Any, Any, Any, str]


_F = TypeVar("_F", bound=Callable[..., Any])


def gc_paused(fn: _F) -> _F:
    """Run ``fn`` with Python's cyclic garbage collector paused.

    Building a graph makes several dicts and tuples per node and keeps them all; the
    collections that their allocation triggers find nothing to free, yet walk every young
    object each time and cost about 40% of a large capture. (Reference counting still frees
    everything as usual; cycles made meanwhile are collected after.)
    """

    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused  # type: ignore[return-value]


class Walk:
    """A trace graph being built, and the maps from engine objects to its node data.

    The node and edge data are computed when the walk is made, because what they describe
    changes or goes away (a backward frees saved tensors); the ``networkx`` graph is made
    from them on the first read of :attr:`graph`, so a recording that is never read costs
    nothing in networkx. ``data`` and ``leaves`` then point at the graph's own node dicts,
    so what is written through them shows in the graph.

    Attributes:
        ids: backward node -> node id.
        data: backward node -> that node's data dict (live, mutable).
        leaves: AccumulateGrad -> the data dict of its leaf node.
        inputs: the data dicts of the input nodes (leaves that need no gradient).
        attrs: more graph attributes (``backward``), set on the graph when it is made.
    """

    __slots__ = ("ids", "data", "leaves", "inputs", "attrs", "_parts", "_graph")

    def __init__(
        self,
        ids: dict[Node, str],
        data: dict[Node, dict[str, Any]],
        leaves: dict[Node, dict[str, Any]],
        inputs: list[dict[str, Any]],
        parts: tuple[Any, ...],
    ) -> None:
        self.ids = ids
        self.data = data
        self.leaves = leaves
        self.inputs = inputs
        self.attrs: dict[str, Any] = {}
        # (nodes [(id, data)], edges [(u, v, data)], root ids, producer, leaf ids)
        self._parts: tuple[Any, ...] | None = parts
        self._graph: nx.DiGraph | None = None

    @property
    def graph(self) -> nx.DiGraph:
        """The trace graph (made on first read)."""
        graph = self._graph
        if graph is None:
            graph = self._graph = self._make_graph()
        return graph

    @gc_paused
    def _make_graph(self) -> nx.DiGraph:
        assert self._parts is not None  # internal: parts are dropped only once a graph exists
        nodes, edges, root_ids, made_by, leaf_ids = self._parts
        graph = schema.new_graph(root_ids, made_by)
        graph.graph.update(self.attrs)
        # NOTE: adding plain ids, then filling their data dicts, is twice as fast as
        # add_nodes_from((id, data)) pairs, which networkx tells apart by a caught TypeError.
        graph.add_nodes_from([nid for nid, _ in nodes])
        view = graph.nodes
        for nid, data in nodes:
            view[nid].update(data)
        graph.add_edges_from(edges)
        # From now on, writes through the maps go to the graph's own dicts.
        data_map = self.data
        for node, nid in self.ids.items():
            if node in data_map:
                data_map[node] = view[nid]
        for acc, lid in leaf_ids.items():
            if acc in self.leaves:
                self.leaves[acc] = view[lid]
        self.inputs = [view[nid] for nid, d in nodes if _is_input(d)]
        self._parts = None
        return graph

    def detach(self) -> None:
        """Forget the engine objects (nodes, tensors); the graph, made or not, is kept."""
        self.ids = {}
        self.data = {}
        self.leaves = {}
        if self._parts is not None:
            nodes, edges, root_ids, made_by, _ = self._parts
            self._parts = (nodes, edges, root_ids, made_by, {})


def _is_input(data: dict[str, Any]) -> bool:
    return data["kind"] == schema.LEAF and data["requires_grad"] is False


def _reachable(starts: list[Node]) -> list[Node]:
    seen = set(starts)
    stack = list(starts)
    found = list(starts)
    while stack:
        node = stack.pop()
        for fn, _ in node.next_functions:
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
                found.append(fn)
    return found


def _shape(data: Any) -> tuple[int, ...]:
    # NumPy shapes are already tuples of Python ints; other libraries go through shape_of.
    return data.shape if type(data) is np.ndarray else shape_of(data)


def _tensor_meta(t: Tensor) -> tuple[tuple[int, ...], str, str]:
    data = t._data
    if type(data) is np.ndarray:
        return data.shape, dtype_name(data.dtype), "cpu"
    return shape_of(data), dtype_name(data.dtype), device_name(data)


def _display_name(t: Tensor, names: dict[int, str]) -> str:
    name = names.get(id(t))
    if name is None:
        name = t.name if isinstance(t.name, str) else ""
    return name


def _op_meta(node: Node) -> tuple[tuple[int, ...] | None, str | None]:
    meta = node._out_meta
    if len(meta) == 1 and meta[0] is not None:
        shape, dtype = meta[0]
        return (shape if type(shape) is tuple else tuple(shape)), dtype_name(dtype)
    return None, None


def _saved_items(node: Node) -> list[tuple[str, Any]] | None:
    """Return the node's saved (name, value) pairs, or None once a backward freed them."""
    if node._freed:
        return None
    if not node._saved:
        return []
    return [(k, v) for k, v in node.saved_items() if not k.startswith("_")]


@gc_paused
def build(
    roots: list[tuple[Tensor, str | None]],
    names: dict[int, str],
    saved: bool,
    made_by: dict[str, Any],
    *,
    inputs: bool = False,
    notes: Mapping[Node, tuple[InputNote, ...]] | None = None,
    recorded: bool = False,
    values: bool = False,
) -> Walk:
    """Build the trace graph of ``roots`` (the engine of :func:`capture` and ``record``).

    Ids follow the rules in :mod:`gradviz.trace.schema` ("Node ids"). Linear in the size of
    the graph, apart from one sort of the ops by creation order. The node data is computed
    now; the networkx graph when ``walk.graph`` is first read.

    Args:
        roots: ``(tensor, name hint)`` pairs, in order (see :func:`roots_of`).
        names: ``id(tensor) -> name`` for leaves (see :func:`param_names`).
        saved: add ``saved`` nodes.
        made_by: the graph's ``producer`` attribute.
        inputs: add input nodes (leaves that need no gradient) for the ops' inputs.
        notes: what a recorder noted about each node's inputs when the node was created;
            a node without a note shows the inputs it saved for backward (see
            :func:`capture`).
        recorded: give nodes the keys a recorded backward fills in (``order``,
            ``seconds``, ``grad_in``, ``grad_out``; ``grad`` for leaves), empty.
        values: with ``recorded``, also the ``*_values`` keys.

    Returns:
        The walk: the graph with the maps from engine nodes to it.
    """
    root_fns: list[Node | None] = []
    for t, _ in roots:
        fn = t._grad_fn
        if fn is None and t._requires_grad:
            fn = t._grad_accumulator()
        root_fns.append(fn)
    reached = _reachable(list(dict.fromkeys(fn for fn in root_fns if fn is not None)))
    ops = sorted((n for n in reached if not isinstance(n, AccumulateGrad)), key=_seq_of)

    # 1. Number the engine nodes: each new AccumulateGrad (then its leaf) before its first
    #    consumer, then the op; root AccumulateGrads after all ops.
    number: dict[Node, int] = {}
    accs: list[Node] = []
    counter = 0
    for op in ops:
        for fn, _ in op.next_functions:
            if fn is not None and fn not in number and isinstance(fn, AccumulateGrad):
                number[fn] = counter
                accs.append(fn)
                counter += 2
        number[op] = counter
        counter += 1
    for fn in root_fns:
        if isinstance(fn, AccumulateGrad) and fn not in number:
            number[fn] = counter
            accs.append(fn)
            counter += 2
    ids = {node: f"n{k}" for node, k in number.items()}
    slots_by_number: list[tuple[str, dict[str, Any]] | None] = [None] * counter
    edges: list[tuple[str, str, dict[str, Any]]] = []
    data_of: dict[Node, dict[str, Any]] = {}
    leaf_data: dict[Node, dict[str, Any]] = {}

    # 2. AccumulateGrad nodes and their leaves.
    leaf_ids: dict[Node, str] = {}
    for acc in accs:
        k = number[acc]
        nid = ids[acc]
        lid = f"n{k + 1}"
        leaf_ids[acc] = lid
        leaf = acc.variable
        shape, dtype, device = _tensor_meta(leaf)
        # NOTE: node dicts are written out with schema.op_node's and leaf_node's keys, in
        # their order (tests hold them equal): the constructors' keyword calls and copies
        # cost as much as the rest of a node, and recording builds a graph per backward.
        d = {
            "kind": schema.OP,
            "label": schema.ACCUMULATE_GRAD,
            "name": schema.ACCUMULATE_GRAD,
            "seq": schema.ACCUMULATE_GRAD_SEQ,
            "shape": shape,
            "dtype": dtype,
            "device": device,
            "module": acc.module,
            "attrs": {},
            "saved": [],
            "saved_freed": False,
            "n_inputs": 0,
            "n_outputs": 1,
        }
        slots_by_number[k] = (nid, d)
        data_of[acc] = d
        name = _display_name(leaf, names)
        ld = {
            "kind": schema.LEAF,
            "label": name,
            "name": name,
            "param": name or None,
            "requires_grad": bool(leaf._requires_grad),
            "shape": shape,
            "dtype": dtype,
            "device": device,
            "module": None,
        }
        if recorded:
            d["order"] = None
            d["seconds"] = 0.0
            d["grad_in"] = [None]
            d["grad_out"] = []
            ld["grad"] = None
            if values:
                d["grad_in_values"] = [None]
                d["grad_out_values"] = []
                ld["grad_value"] = None
        slots_by_number[k + 1] = (lid, ld)
        leaf_data[acc] = ld
        edges.append((lid, nid, {"role": schema.DATA, "slots": [[0, 0]]}))

    # 3. Ops (they need every leaf id, for alias_of), their data and saved edges.
    pending_saved: list[tuple[str, str, Any, str | None]] = []  # (op id, slot, value, module)
    for rank, op in enumerate(ops):
        nid = ids[op]
        out_shape, out_dtype = _op_meta(op)
        items = _saved_items(op)
        entries: list[dict[str, Any]] = []
        alias_slots: dict[str, list[str]] | None = None
        for slot, value in items or ():
            entry = _saved_entry(slot, value, leaf_ids)
            if entry is None:
                continue
            entries.append(entry)
            if entry["alias_of"] is not None:
                if alias_slots is None:
                    alias_slots = {}
                alias_slots.setdefault(entry["alias_of"], []).append(slot)
            elif saved:
                pending_saved.append((nid, slot, value, op.module))
        attributes = op.attributes() if op.attrs else None
        next_functions = op.next_functions
        name = type(op).__name__
        n_in = len(next_functions)
        n_out = len(op._out_meta) or 1
        d = {
            "kind": schema.OP,
            "label": name,
            "name": name,
            "seq": rank,
            "shape": out_shape,
            "dtype": out_dtype,
            "device": None,
            "module": op.module,
            "attrs": {k: readable(v) for k, v in attributes.items()} if attributes else {},
            "saved": entries,
            "saved_freed": items is None,
            "n_inputs": n_in,
            "n_outputs": n_out,
        }
        if recorded:
            d["order"] = None
            d["seconds"] = 0.0
            d["grad_in"] = [None] * n_out
            d["grad_out"] = [None] * n_in
            if values:
                d["grad_in_values"] = [None] * n_out
                d["grad_out_values"] = [None] * n_in
        slots_by_number[number[op]] = (nid, d)
        data_of[op] = d
        # Slots come in input order, so each edge's list is already sorted.
        into: dict[str, list[list[int]]] = {}
        for k, (fn, nr) in enumerate(next_functions):
            if fn is not None:
                src = ids[fn]
                pairs = into.get(src)
                if pairs is None:
                    into[src] = [[k, nr]]
                else:
                    pairs.append([k, nr])
        for src, pairs in into.items():
            edges.append((src, nid, {"role": schema.DATA, "slots": pairs}))
        if alias_slots:
            for lid, slot_names in alias_slots.items():
                edges.append((lid, nid, schema.saved_edge(", ".join(slot_names))))

    nodes = [item for item in slots_by_number if item is not None]

    # 4. Saved nodes (saved=True), after ops and leaves so their ids do not depend on it.
    for op_id, slot, value, module in pending_saved:
        sid = f"n{counter}"
        counter += 1
        data = value._data if isinstance(value, Tensor) else value
        nodes.append(
            (
                sid,
                schema.saved_node(
                    slot,
                    shape=shape_of(data),
                    dtype=dtype_name(data.dtype),
                    device=device_name(data),
                    module=module,
                ),
            )
        )
        edges.append((sid, op_id, schema.saved_edge(slot)))

    # 5. Outputs, in root order.
    root_ids: list[str] = []
    for (t, hint), fn in zip(roots, root_fns, strict=True):
        oid = f"n{counter}"
        counter += 1
        root_ids.append(oid)
        shape, dtype, device = _tensor_meta(t)
        found = names.get(id(t))
        if found is not None:
            name = found
        else:
            name = t.name if isinstance(t.name, str) else (hint or "")
        is_acc = isinstance(fn, AccumulateGrad)
        producer_id = ids[fn] if fn is not None else None
        nodes.append(
            (
                oid,
                schema.output_node(
                    name,
                    grad_fn=None if is_acc else producer_id,
                    shape=shape,
                    dtype=dtype,
                    device=device,
                ),
            )
        )
        if producer_id is not None:
            nr = 0 if is_acc else t._output_nr
            edges.append((producer_id, oid, {"role": schema.DATA, "slots": [[0, nr]]}))

    # 6. Inputs last (inputs=True), so that no other id depends on which inputs are seen.
    input_data: list[dict[str, Any]] = []
    if inputs:
        _add_inputs(ops, ids, names, notes, counter, nodes, edges, input_data)
        if recorded:
            for data in input_data:
                data["grad"] = None
                if values:
                    data["grad_value"] = None

    parts = (nodes, edges, root_ids, made_by, leaf_ids)
    return Walk(ids, data_of, leaf_data, input_data, parts)


def _add_inputs(
    ops: list[Node],
    ids: dict[Node, str],
    names: dict[int, str],
    notes: Mapping[Node, tuple[InputNote, ...]] | None,
    counter: int,
    nodes: list[tuple[str, dict[str, Any]]],
    edges: list[tuple[str, str, dict[str, Any]]],
    input_data: list[dict[str, Any]],
) -> None:
    """Add a node per tensor that feeds an op without needing a gradient, and its edges.

    Op by op in id order, slot by slot; a tensor feeding several slots or ops is one node,
    numbered at its first use.
    """
    seen: dict[Any, str] = {}
    for op in ops:
        note = notes.get(op) if notes is not None else None
        found = _noted_inputs(note) if note is not None else _saved_inputs(op)
        if not found:
            continue
        op_id = ids[op]
        into: dict[str, list[list[int]]] = {}
        for slot, key, tensor, meta in found:
            iid = seen.get(key)
            if iid is None:
                iid = seen[key] = f"n{counter}"
                counter += 1
                data = _input_node(tensor, meta, names)
                nodes.append((iid, data))
                input_data.append(data)
            pairs = into.get(iid)
            if pairs is None:
                into[iid] = [[slot, 0]]
            else:
                pairs.append([slot, 0])
        for iid, pairs in into.items():
            edges.append((iid, op_id, {"role": schema.DATA, "slots": pairs}))


def _noted_inputs(notes: tuple[InputNote, ...]) -> list[tuple[int, Any, Any, Any]]:
    """Return ``(slot, identity key, live tensor or None, note)`` for a recorder's notes."""
    found = []
    for note in notes:
        tensor = note[1]()
        # A live tensor is known by its id (as the saved inputs of other nodes are); a dead
        # one by its weak reference, which all notes about it share.
        key = id(tensor) if tensor is not None else ("gone", id(note[1]))
        found.append((note[0], key, tensor, note))
    return found


def _saved_inputs(op: Node) -> list[tuple[int, Any, Any, Any]]:
    """Return ``(slot, identity key, tensor, None)`` for the inputs ``op`` saved for backward.

    Only a built-in op's saved inputs are named after its input slots (``self``, ``other``);
    a user Function's (``0``, ``1``) are not, and are not shown.
    """
    if op._freed or not op._saved:
        return []
    spec = getattr(type(op), "_op", None)
    slot_names = getattr(spec, "inputs", None)
    if not slot_names:
        return []
    next_functions = op.next_functions
    found = []
    for name, value in op.saved_items():
        if not isinstance(value, Tensor) or value._requires_grad or name not in slot_names:
            continue
        slot = slot_names.index(name)
        if slot < len(next_functions) and next_functions[slot][0] is None:
            found.append((slot, id(value), value, None))
    found.sort(key=_first)
    return found


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def _input_node(tensor: Tensor | None, note: InputNote | None, names: dict[int, str]) -> Any:
    """Return the leaf node data of an input: its meta when noted, else the tensor's now."""
    if tensor is not None:
        name = _display_name(tensor, names)
    else:
        name = note[2] if note is not None and isinstance(note[2], str) else ""
    if note is not None:
        shape = note[3] if type(note[3]) is tuple else tuple(int(s) for s in note[3])
        dtype, device = dtype_name(note[4]), note[5]
    else:
        assert tensor is not None  # internal: saved inputs are live tensors
        shape, dtype, device = _tensor_meta(tensor)
    return schema.leaf_node(
        name, param=name or None, requires_grad=False, shape=shape, dtype=dtype, device=device
    )


def note_inputs(inputs: tuple[Any, ...], node: Node) -> tuple[InputNote, ...] | None:
    """Note a new node's inputs that need no gradient (for a recorder's ``NodeCreated``).

    Args:
        inputs: the op's inputs, slot for slot (``NodeCreated.inputs``).
        node: the new node.

    Returns:
        One :data:`InputNote` per tensor input without a gradient edge, or None if there
        is none. Only weak references are kept: noting never keeps a tensor alive.
    """
    found = None
    next_functions = node.next_functions
    for slot, x in enumerate(inputs):
        if isinstance(x, Tensor) and not x._requires_grad and slot < len(next_functions):
            data = x._data
            device = "cpu" if type(data) is np.ndarray else device_name(data)
            note = (slot, weakref.ref(x), x.name, data.shape, data.dtype, device)
            if found is None:
                found = [note]
            else:
                found.append(note)
    return tuple(found) if found is not None else None


def _seq_of(node: Node) -> int:
    return node._seq


def _saved_entry(slot: str, value: Any, leaf_ids: dict[Node, str]) -> dict[str, Any] | None:
    """Describe one saved value; None for values that are not arrays (saved Python scalars)."""
    alias = None
    if isinstance(value, Tensor):
        if value._grad_fn is None and value._requires_grad and value._accumulator is not None:
            acc = value._accumulator()
            alias = leaf_ids.get(acc) if acc is not None else None
        data = value._data
    else:
        data = value
    if type(data) is np.ndarray:
        return schema.saved_entry(slot, data.shape, dtype_name(data.dtype), data.nbytes, alias)
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        return None
    return schema.saved_entry(slot, shape_of(data), dtype_name(data.dtype), nbytes(data), alias)
