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

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from gradviz.engine.function import AccumulateGrad, Node
from gradviz.engine.tensor import Tensor
from gradviz.trace import schema
from gradviz.trace.summary import device_name, dtype_name, nbytes, shape_of

__all__ = ["capture", "readable", "param_names", "roots_of", "Walk", "build"]


def capture(*tensors: Any, params: Any = None, saved: bool = False) -> nx.DiGraph:
    """Return the trace graph behind ``tensors`` by walking their ``grad_fn``.

    Works before and after ``backward()``. Leaves are named from ``params`` (torchviz's
    argument), else from ``tensor.name`` (which ``gradviz.nn`` sets to each parameter's
    dotted name), so ``params`` is rarely needed.

    Args:
        *tensors: the outputs to draw from: tensors, or tuples/lists/dicts of tensors
            (a dict's keys name outputs that have no name of their own; entries that are
            not tensors, such as None, are skipped).
        params: names for leaves: a mapping ``name -> tensor`` (``dict(model.named_parameters())``)
            or an iterable of ``(name, tensor)`` pairs.
        saved: also add a ``saved`` node for each saved tensor that is not a leaf.

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
    """
    roots = roots_of(tensors, "capture")
    return build(roots, param_names(params), saved, schema.producer("capture")).graph


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


class Walk:
    """A built graph and the maps from engine objects to it (used while recording).

    Attributes:
        graph: the trace graph.
        ids: backward node -> node id.
        data: backward node -> that node's data dict in ``graph`` (live, mutable).
        leaves: AccumulateGrad -> the data dict of its leaf node.
    """

    __slots__ = ("graph", "ids", "data", "leaves")

    def __init__(self, graph: nx.DiGraph, ids: dict[Node, str]) -> None:
        self.graph = graph
        self.ids = ids
        nodes = graph.nodes
        self.data: dict[Node, dict[str, Any]] = {n: nodes[i] for n, i in ids.items()}
        self.leaves: dict[Node, dict[str, Any]] = {}


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


def _tensor_meta(t: Tensor) -> tuple[tuple[int, ...], str, str]:
    data = t._data
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
    if getattr(node, "_freed", False):
        return None
    if not node._saved:
        return []
    return [(k, v) for k, v in node.saved_items() if not k.startswith("_")]


def build(
    roots: list[tuple[Tensor, str | None]],
    names: dict[int, str],
    saved: bool,
    made_by: dict[str, Any],
) -> Walk:
    """Build the trace graph of ``roots`` (the engine of :func:`capture` and ``record``).

    Ids follow the rules in :mod:`gradviz.trace.schema` ("Node ids"). Linear in the size of
    the graph, apart from one sort of the ops by creation order.

    Args:
        roots: ``(tensor, name hint)`` pairs, in order (see :func:`roots_of`).
        names: ``id(tensor) -> name`` for leaves (see :func:`param_names`).
        saved: add ``saved`` nodes.
        made_by: the graph's ``producer`` attribute.

    Returns:
        The graph with the maps from engine nodes to it.
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

    # 2. AccumulateGrad nodes and their leaves.
    leaf_ids: dict[Node, str] = {}
    for acc in accs:
        k = number[acc]
        nid = ids[acc]
        lid = f"n{k + 1}"
        leaf_ids[acc] = lid
        leaf = acc.variable
        shape, dtype, device = _tensor_meta(leaf)
        slots_by_number[k] = (
            nid,
            schema.op_node(
                schema.ACCUMULATE_GRAD,
                schema.ACCUMULATE_GRAD_SEQ,
                n_inputs=0,
                n_outputs=1,
                shape=shape,
                dtype=dtype,
                device=device,
                module=acc.module,
            ),
        )
        name = _display_name(leaf, names)
        slots_by_number[k + 1] = (
            lid,
            schema.leaf_node(
                name,
                param=name or None,
                requires_grad=bool(leaf._requires_grad),
                shape=shape,
                dtype=dtype,
                device=device,
            ),
        )
        edges.append((lid, nid, {"role": schema.DATA, "slots": [[0, 0]]}))

    # 3. Ops (they need every leaf id, for alias_of), their data and saved edges.
    pending_saved: list[tuple[str, str, Any, str | None]] = []  # (op id, slot, value, module)
    for rank, op in enumerate(ops):
        nid = ids[op]
        shape, dtype = _op_meta(op)
        items = _saved_items(op)
        entries: list[dict[str, Any]] = []
        alias_slots: dict[str, list[str]] = {}
        for slot, value in items or ():
            entry = _saved_entry(slot, value, leaf_ids)
            if entry is None:
                continue
            entries.append(entry)
            if entry["alias_of"] is not None:
                alias_slots.setdefault(entry["alias_of"], []).append(slot)
            elif saved:
                pending_saved.append((nid, slot, value, op.module))
        attributes = op.attributes()
        slots_by_number[number[op]] = (
            nid,
            schema.op_node(
                type(op).__name__,
                rank,
                attrs={k: readable(v) for k, v in attributes.items()} if attributes else None,
                saved=entries,
                saved_freed=items is None,
                n_inputs=len(op.next_functions),
                n_outputs=max(len(op._out_meta), 1),
                shape=shape,
                dtype=dtype,
                module=op.module,
            ),
        )
        # Slots come in input order, so each edge's list is already sorted.
        into: dict[str, list[list[int]]] = {}
        for k, (fn, nr) in enumerate(op.next_functions):
            if fn is not None:
                src = ids[fn]
                pairs = into.get(src)
                if pairs is None:
                    into[src] = [[k, nr]]
                else:
                    pairs.append([k, nr])
        edges.extend(
            (src, nid, {"role": schema.DATA, "slots": pairs}) for src, pairs in into.items()
        )
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

    # 5. Outputs last, in root order.
    root_ids: list[str] = []
    for (t, hint), fn in zip(roots, root_fns, strict=True):
        oid = f"n{counter}"
        counter += 1
        root_ids.append(oid)
        shape, dtype, device = _tensor_meta(t)
        name = names.get(id(t))
        if name is None:
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

    graph = schema.new_graph(root_ids, made_by)
    # NOTE: adding plain ids, then filling their data dicts, is twice as fast as
    # add_nodes_from((id, data)) pairs, which networkx tells apart by a caught TypeError.
    graph.add_nodes_from([nid for nid, _ in nodes])
    view = graph.nodes
    for nid, data in nodes:
        view[nid].update(data)
    graph.add_edges_from(edges)
    walk = Walk(graph, ids)
    gnodes = graph.nodes
    walk.leaves = {acc: gnodes[lid] for acc, lid in leaf_ids.items()}
    return walk


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
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        return None
    return schema.saved_entry(slot, shape_of(data), dtype_name(data.dtype), nbytes(data), alias)
