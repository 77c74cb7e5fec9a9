"""Structural diff of two trace graphs: what changed between two backward passes.

:func:`diff` matches the nodes of two graphs of the ``gradviz.trace/1`` schema by their
structure, never by their ids or creation order:

* an op's identity is its name, its attributes and the identities of its data inputs in
  input-slot order; a leaf's is its parameter name, else its tensor name, else its shape;
  an output's is its name and its producer's identity; a saved-tensor node's is its slot
  name and its consumer's identity. Identities are computed bottom-up in topological order
  and interned to small integers, so comparing two is one integer comparison;
* nodes whose identity occurs once in each graph are matched first (anchors); matches
  spread from them to inputs in the same slot and to consumers that are the only
  candidates for a slot; repeated structure that is still unmatched (the same layer
  applied three times) is matched occurrence by occurrence, in creation order;
* the outputs are then matched by position in ``roots``, and matches spread once more
  with a looser rule (same kind and name, attributes and shapes may differ), so a node in
  the same place with a different shape, dtype or attributes is reported as *changed*,
  and an extra layer in the middle is reported as exactly its own nodes, added.

Every pass resolves its candidates all at once and accepts only those that are unique on
both sides, so the result does not depend on the order of nodes in either graph: diff(a,
b) is the mirror of diff(b, a), and relabelling node ids changes nothing but the ids. The
whole diff is linear in the size of the two graphs (about a second for two graphs of
100,000 nodes; see ``benchmarks/bench_diff.py``).

Preconditions: both graphs are DAGs of the trace schema (``kind`` on every node; edges in
the forward direction with ``role`` and ``slots``). Hand-built graphs may leave out the
optional attributes (``seq``, ``attrs``, ``shape``, ...). The graphs are only read.

Example:
    >>> import networkx as nx
    >>> g = nx.DiGraph(schema="gradviz.trace/1", roots=["n2"])
    >>> g.add_node("n1", kind="leaf", label="w", param="w", shape=(3,), dtype="float32")
    >>> g.add_node("n0", kind="op", label="AccumulateGrad", name="AccumulateGrad", seq=0)
    >>> g.add_node("n2", kind="output", label="", name="", shape=(3,))
    >>> g.add_edge("n1", "n0", role="data", slots=[[0, 0]])
    >>> g.add_edge("n0", "n2", role="data", slots=[[0, 0]])
    >>> diff(g, g).identical
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # networkx is only read through the graph objects handed in.
    import networkx as nx

__all__ = ["diff", "GraphDiff", "NodeChange", "GradChange", "SCHEMA"]

SCHEMA = "gradviz.trace/1"
_KINDS = frozenset(("op", "leaf", "output", "saved"))
# Node attributes compared on matched pairs; a difference makes the pair "changed".
_COMPARED = ("shape", "dtype", "device", "module", "name")
_CONFLICT = -2
_CHECKED_INPUTS = 32
_SCANNED_INPUTS = 8
_NO_SEQ = 2**63


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class NodeChange:
    """A node found in the same place in both graphs, with different properties.

    Attributes:
        a: the node's id in graph ``a``.
        b: the node's id in graph ``b``.
        kind: ``"op"``, ``"leaf"``, ``"output"`` or ``"saved"``.
        label: the node's label (an op's PyTorch name) in graph ``b``.
        module: the node's module path in graph ``b`` (or ``a`` when ``b`` has none).
        fields: ``(field, before, after)`` triples sorted by field: ``shape``, ``dtype``,
            ``device``, ``module``, ``name``, and ``attrs.<key>`` for each op attribute
            that differs (``None`` where one side lacks it).
    """

    a: str
    b: str
    kind: str
    label: str
    module: str | None
    fields: tuple[tuple[str, Any, Any], ...]


@dataclass(frozen=True)
class GradChange:
    """The gradient norm of one matched node in both graphs.

    For a leaf it is the norm of the gradient accumulated into it; for an op, the norm of
    the gradient flowing into it (over all its output slots).

    Attributes:
        a: the node's id in graph ``a``.
        b: the node's id in graph ``b``.
        kind: ``"op"`` or ``"leaf"``.
        label: the node's label in graph ``b``.
        module: the node's module path, or None.
        before: the norm in graph ``a``.
        after: the norm in graph ``b``.
    """

    a: str
    b: str
    kind: str
    label: str
    module: str | None
    before: float
    after: float

    @property
    def delta(self) -> float:
        """Return ``after - before`` (NaN when either is NaN)."""
        return self.after - self.before


@dataclass(frozen=True, eq=False)
class GraphDiff:
    """What changed from graph ``a`` to graph ``b``; made by :func:`diff`.

    Node ids of ``added`` and of the heads of ``added_edges`` are ``b``'s; those of
    ``removed`` and ``removed_edges`` are ``a``'s. Every sequence is in creation order of
    its graph, so the text form is stable.

    Attributes:
        a: the first graph (read only).
        b: the second graph (read only).
        matches: ``{a id: b id}`` for every node found in both graphs.
        added: ids (in ``b``) of nodes only ``b`` has.
        removed: ids (in ``a``) of nodes only ``a`` has.
        changed: matched nodes whose shape, dtype, device, module, name or attributes
            differ.
        added_edges: ``(u, v)`` edges of ``b`` that ``a`` lacks (by matched endpoints,
            role and slots).
        removed_edges: ``(u, v)`` edges of ``a`` that ``b`` lacks.
        grad_changes: the largest changes of gradient norm between matched nodes, largest
            first; empty unless both graphs carry gradient summaries.
    """

    a: nx.DiGraph
    b: nx.DiGraph
    matches: Mapping[str, str]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[NodeChange, ...]
    added_edges: tuple[tuple[str, str], ...]
    removed_edges: tuple[tuple[str, str], ...]
    grad_changes: tuple[GradChange, ...] = field(default=())

    @property
    def identical(self) -> bool:
        """Return True when the graphs have the same structure, shapes and attributes.

        Gradient values are not part of the structure: two iterations of the same model
        are identical even though their gradients differ.
        """
        return not (
            self.added or self.removed or self.changed or self.added_edges or self.removed_edges
        )

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Return ``{label: {"added": n, "removed": n, "changed": n}}``, sorted by label.

        Ops count under their PyTorch name; other nodes under ``[leaf]``, ``[output]`` and
        ``[saved]``.
        """
        table: dict[str, dict[str, int]] = {}

        def bump(g: nx.DiGraph, node: str, what: str) -> None:
            key = _count_key(g.nodes[node])
            row = table.setdefault(key, {"added": 0, "removed": 0, "changed": 0})
            row[what] += 1

        for node in self.added:
            bump(self.b, node, "added")
        for node in self.removed:
            bump(self.a, node, "removed")
        for change in self.changed:
            bump(self.b, change.b, "changed")
        return {key: table[key] for key in sorted(table)}

    def summary(self) -> str:
        """Return the one-line summary that starts :meth:`text`."""
        if self.identical:
            return (
                f"graphs are identical: {self.a.number_of_nodes()} nodes, "
                f"{self.a.number_of_edges()} edges"
            )
        return (
            f"graphs differ: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed; edges: {len(self.added_edges)} added, "
            f"{len(self.removed_edges)} removed"
        )

    def text(self, *, limit: int | None = None) -> str:
        """Return a stable, plain-text account of the diff (for logs and golden files).

        Args:
            limit: show at most this many entries per section and say how many were left
                out; None shows all.

        Returns:
            Lines ending in a newline: the summary, the sizes of both graphs, counts by op,
            then the added, removed and changed nodes, the added and removed edges and the
            largest gradient-norm changes (each section only when not empty).

        Raises:
            ValueError: ``limit`` is negative.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"text(): limit must be None or >= 0, got {limit}.")
        a, b = self.a, self.b
        lines = [
            self.summary(),
            f"  a: {a.number_of_nodes()} nodes, {a.number_of_edges()} edges; "
            f"b: {b.number_of_nodes()} nodes, {b.number_of_edges()} edges",
        ]
        counts = self.counts
        if counts:
            lines.append("by op:")
            width = max(len(key) for key in counts)
            for key, row in counts.items():
                parts = [
                    f"{sign}{row[what]} {what}"
                    for sign, what in (("+", "added"), ("-", "removed"), ("~", "changed"))
                    if row[what]
                ]
                lines.append(f"  {key.ljust(width)}  {', '.join(parts)}")

        def section(title: str, items: list[str]) -> None:
            if not items:
                return
            lines.append(f"{title}:")
            shown = items if limit is None else items[:limit]
            lines.extend(f"  {item}" for item in shown)
            if len(shown) < len(items):
                lines.append(f"  ... and {len(items) - len(shown)} more")

        section("added", [f"+ {describe_node(b, node)}" for node in self.added])
        section("removed", [f"- {describe_node(a, node)}" for node in self.removed])
        section("changed", [_describe_change(a, b, change) for change in self.changed])
        section("edges added", [f"+ {_describe_edge(b, u, v)}" for u, v in self.added_edges])
        section("edges removed", [f"- {_describe_edge(a, u, v)}" for u, v in self.removed_edges])
        section("gradient norms, largest changes", [_describe_grad(g) for g in self.grad_changes])
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as plain JSON-ready data (lists, dicts, str, int, float, None).

        Non-finite gradient norms become the strings ``"nan"``, ``"inf"`` and ``"-inf"``.
        """

        def node_entry(g: nx.DiGraph, node: str) -> dict[str, Any]:
            data = g.nodes[node]
            return {
                "id": node,
                "kind": data.get("kind"),
                "label": data.get("label", ""),
                "module": data.get("module"),
                "shape": _json_value(data.get("shape")),
                "dtype": data.get("dtype"),
            }

        return {
            "schema": SCHEMA,
            "identical": self.identical,
            "summary": self.summary(),
            "nodes": {"a": self.a.number_of_nodes(), "b": self.b.number_of_nodes()},
            "edges": {"a": self.a.number_of_edges(), "b": self.b.number_of_edges()},
            "counts": self.counts,
            "added": [node_entry(self.b, node) for node in self.added],
            "removed": [node_entry(self.a, node) for node in self.removed],
            "changed": [
                {
                    "a": change.a,
                    "b": change.b,
                    "kind": change.kind,
                    "label": change.label,
                    "module": change.module,
                    "fields": {
                        name: [_json_value(before), _json_value(after)]
                        for name, before, after in change.fields
                    },
                }
                for change in self.changed
            ],
            "added_edges": [[u, v] for u, v in self.added_edges],
            "removed_edges": [[u, v] for u, v in self.removed_edges],
            "grad_changes": [
                {
                    "a": g.a,
                    "b": g.b,
                    "kind": g.kind,
                    "label": g.label,
                    "module": g.module,
                    "before": _json_float(g.before),
                    "after": _json_float(g.after),
                }
                for g in self.grad_changes
            ],
        }

    def __repr__(self) -> str:
        return f"<GraphDiff {self.summary()}>"


# ----------------------------------------------------------------------- descriptions


def describe_node(g: nx.DiGraph, node: str) -> str:
    """Return a one-line description of ``node``: id, label, module, shape, dtype.

    Args:
        g: the graph holding the node.
        node: the node id.

    Returns:
        For example ``"n7 AddmmBackward0 @middle (64, 100) float32"`` or
        ``"n3 leaf 'w_in' (1000, 100) float32"``.
    """
    data = g.nodes[node]
    kind = data.get("kind")
    parts = [node]
    if kind == "op":
        parts.append(str(data.get("label") or data.get("name") or "?"))
    else:
        title = data.get("param") or data.get("label") or data.get("name") or ""
        parts.append(f"{kind} {title!r}" if title else str(kind))
    module = data.get("module")
    if module:
        parts.append(f"@{module}")
    shape = data.get("shape")
    if shape is not None:
        parts.append(_format_shape(shape))
    dtype = data.get("dtype")
    if dtype:
        parts.append(str(dtype))
    return " ".join(parts)


def _describe_change(a: nx.DiGraph, b: nx.DiGraph, change: NodeChange) -> str:
    head = f"{change.b} {_short_label(b, change.b)}"
    if change.a != change.b:
        head = f"{change.a} -> {head}"
    if change.module:
        head += f" @{change.module}"
    fields = "; ".join(
        f"{name} {_format_value(before)} -> {_format_value(after)}"
        for name, before, after in change.fields
    )
    return f"~ {head}: {fields}"


def _describe_edge(g: nx.DiGraph, u: str, v: str) -> str:
    data = g.edges[u, v]
    role = data.get("role", "data")
    extra = f" [{role} {data.get('slot')}]" if role == "saved" else ""
    return f"{u} {_short_label(g, u)} -> {v} {_short_label(g, v)}{extra}"


def _describe_grad(change: GradChange) -> str:
    head = change.b if change.a == change.b else f"{change.a} -> {change.b}"
    module = f" @{change.module}" if change.module else ""
    return (
        f"{head} {change.label}{module}: {_format_float(change.before)} -> "
        f"{_format_float(change.after)} ({_format_signed(change.delta)})"
    )


def _short_label(g: nx.DiGraph, node: str) -> str:
    data = g.nodes[node]
    if data.get("kind") == "op":
        return str(data.get("label") or data.get("name") or "?")
    title = data.get("param") or data.get("label") or data.get("name") or ""
    return f"{data.get('kind')} {title!r}" if title else str(data.get("kind"))


def _count_key(data: Mapping[str, Any]) -> str:
    if data.get("kind") == "op":
        return str(data.get("label") or data.get("name") or "?")
    return f"[{data.get('kind')}]"


def _format_shape(shape: Any) -> str:
    dims = tuple(shape)
    if len(dims) == 1:
        return f"({dims[0]},)"
    return "(" + ", ".join(str(d) for d in dims) + ")"


def _format_value(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return _format_shape(value)
    return str(value)


def _format_float(value: float) -> str:
    return f"{value:.4g}"


def _format_signed(value: float) -> str:
    return f"{value:+.4g}"


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


def _json_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


# ---------------------------------------------------------------------- the index


class _Side:
    """One graph, indexed by small integers for the matcher.

    Attributes:
        ids: node ids in the graph's insertion order; ``index`` maps them back.
        kind, data: per node.
        preds: per node, its data inputs as ``(slot key, edge signature, input index)``
            sorted by slot key.
        succs: per node, its data consumers as ``(slot key, edge signature, consumer)``.
        saved_edges: the saved edges as ``{(u, v): slot name}`` (data edges are in preds).
        rank: position in creation order (ops by ``seq``, other nodes next to the op they
            feed or come from; insertion order breaks ties); never derived from ids.
        ident, loose: interned exact and loose identities (shared tables across sides).
        topo: a topological order of the data edges.
    """

    __slots__ = (
        "name",
        "graph",
        "ids",
        "index",
        "kind",
        "data",
        "preds",
        "succs",
        "saved_edges",
        "saved_consumer",
        "rank",
        "ident",
        "loose",
        "topo",
        "order",
        "depth",
    )

    def __init__(self, graph: Any, name: str) -> None:
        _check_graph(graph, name)
        self.name = name
        self.graph = graph
        ids = list(graph)
        self.ids = ids
        index = {node: i for i, node in enumerate(ids)}
        self.index = index
        count = len(ids)
        node_data = [data for _, data in graph.nodes(data=True)]
        self.data = node_data
        kinds = [data.get("kind") for data in node_data]
        try:
            valid = _KINDS.issuperset(kinds)
        except TypeError:  # an unhashable kind: found and named below
            valid = False
        if not valid:
            for node, kind in zip(ids, kinds, strict=True):
                if not isinstance(kind, str) or kind not in _KINDS:
                    raise ValueError(
                        f"diff: graph {name} is not a gradviz trace graph: node {node!r} has "
                        f"kind {kind!r}, expected one of {', '.join(sorted(_KINDS))}.\n"
                        "Fix: pass graphs made by gradviz.trace.capture/record or "
                        "gradviz.trace.load."
                    )
        self.kind = kinds
        preds: list[list[tuple[int, tuple[Any, ...], int]]] = [[] for _ in range(count)]
        succs: list[list[tuple[int, tuple[Any, ...], int]]] = [[] for _ in range(count)]
        saved_edges: dict[tuple[int, int], str] = {}
        saved_consumer: dict[int, tuple[int, str]] = {}
        # adjacency() hands out networkx's own dicts: the fastest public way through edges.
        for u, neighbours in graph.adjacency():
            iu = index[u]
            consumers = succs[iu]
            for v, data in neighbours.items():
                iv = index[v]
                role = data.get("role", "data")
                if role == "saved":
                    slot_name = str(data.get("slot"))
                    saved_edges[iu, iv] = slot_name
                    if kinds[iu] == "saved" and iu not in saved_consumer:
                        saved_consumer[iu] = (iv, slot_name)
                    continue
                slots = data.get("slots")
                if slots:
                    signature = tuple(map(tuple, slots))
                    key = signature[0][0] if len(signature) == 1 else min(signature)[0]
                else:
                    signature = ()
                    key = -1
                preds[iv].append((key, signature, iu))
                consumers.append((key, signature, iv))
        for entry in preds:
            if len(entry) > 1:
                entry.sort(key=_first_two)
        self.preds = preds
        self.succs = succs
        self.saved_edges = saved_edges
        self.saved_consumer = saved_consumer
        self.topo = self._topological_order()
        self.rank = self._ranks()
        self.depth = self._depths()
        self.ident: list[int] = [0] * count
        self.loose: list[int] = [0] * count

    def _topological_order(self) -> list[int]:
        count = len(self.ids)
        indegree = [len(p) for p in self.preds]
        order = [i for i in range(count) if indegree[i] == 0]
        succs = self.succs
        head = 0
        while head < len(order):
            node = order[head]
            head += 1
            for _, _, consumer in succs[node]:
                indegree[consumer] -= 1
                if indegree[consumer] == 0:
                    order.append(consumer)
        if len(order) != count:
            stuck = sorted(self.ids[i] for i in range(count) if indegree[i] > 0)[:5]
            raise ValueError(
                f"diff: graph {self.name} has a cycle (it is not a DAG); nodes on or after "
                f"it include {', '.join(map(repr, stuck))}.\n"
                "Fix: trace graphs are DAGs; check how the graph was built."
            )
        return order

    def _depths(self) -> list[int]:
        """Return each node's longest distance from a source (saved: its op's, plus one)."""
        depth = [0] * len(self.ids)
        preds = self.preds
        for i in self.topo:
            deepest = -1
            for _, _, j in preds[i]:
                if depth[j] > deepest:
                    deepest = depth[j]
            depth[i] = deepest + 1
        for i, (consumer, _) in self.saved_consumer.items():
            depth[i] = depth[consumer] + 1
        return depth

    def _ranks(self) -> list[int]:
        # NOTE: ops carry `seq` (creation order); AccumulateGrad and leaves sort just
        # before the first op they feed, outputs just after their producer, saved nodes
        # just before their op. Graphs without `seq` fall back to insertion order, which
        # relabelling keeps. Ids are never used, so relabelling cannot change the diff.
        count = len(self.ids)
        base: list[float] = [math.inf] * count
        for i, data in enumerate(self.data):
            seq = data.get("seq") if self.kind[i] == "op" else None
            # NOTE: AccumulateGrad's seq is PyTorch's 2**64 - 1 ("run when ready"), not a
            # creation rank: it sorts with the op it feeds, like a leaf.
            if isinstance(seq, (int, float)) and not isinstance(seq, bool) and seq < _NO_SEQ:
                base[i] = float(seq)
        inf = math.inf
        succs = self.succs
        preds = self.preds
        kinds = self.kind
        for i in reversed(self.topo):  # AccumulateGrad, then its leaf, just before the op fed
            if base[i] == inf and succs[i]:
                consumer = inf
                for _, _, j in succs[i]:
                    if base[j] < consumer:
                        consumer = base[j]
                if consumer != inf:
                    base[i] = consumer - (0.5 if kinds[i] == "op" else 0.01)
        for i in self.topo:  # outputs just after their producer
            if base[i] == inf and preds[i]:
                producer = inf
                for _, _, j in preds[i]:
                    if base[j] < producer:
                        producer = base[j]
                if producer != inf:
                    base[i] = producer + 0.5
        for i, (consumer, _) in self.saved_consumer.items():
            if base[i] == math.inf and base[consumer] != math.inf:
                base[i] = base[consumer] - 0.25
        order = sorted(range(count), key=base.__getitem__)  # stable: insertion order on ties
        self.order = order
        rank = [0] * count
        for position, i in enumerate(order):
            rank[i] = position
        return rank


def _first_two(entry: tuple[int, tuple[Any, ...], int]) -> tuple[int, tuple[Any, ...]]:
    return entry[0], entry[1]


def _check_graph(graph: Any, name: str) -> None:
    if not (hasattr(graph, "nodes") and hasattr(graph, "edges") and hasattr(graph, "graph")):
        raise TypeError(
            f"diff: {name} must be a networkx.DiGraph of the gradviz trace schema, got "
            f"{type(graph).__name__}.\n"
            "Fix: capture one with gradviz.trace.capture(loss), record them with "
            "gradviz.trace.record(), or load a trace file with gradviz.trace.load(path)."
        )
    if not graph.is_directed() or graph.is_multigraph():
        raise TypeError(
            f"diff: {name} must be a networkx.DiGraph, got {type(graph).__name__}.\n"
            "Fix: trace graphs are DiGraphs; convert with networkx.DiGraph(graph)."
        )
    schema = graph.graph.get("schema")
    if schema is not None and schema != SCHEMA:
        raise ValueError(
            f"diff: graph {name} has schema {schema!r}; this gradviz reads {SCHEMA!r}.\n"
            "Fix: record the graph again with this version of gradviz."
        )


def _attrs_key(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    attrs = data.get("attrs")
    if not attrs:
        return ()
    return tuple(sorted((str(key), str(value)) for key, value in attrs.items()))


def _exact_label(kind: str, data: Mapping[str, Any]) -> tuple[Any, ...]:
    if kind == "op":
        return ("op", data.get("name") or data.get("label"), _attrs_key(data))
    if kind == "leaf":
        if data.get("param"):
            return ("leaf", "param", data["param"])
        if data.get("name"):
            return ("leaf", "name", data["name"])
        shape = data.get("shape")
        return ("leaf", "shape", None if shape is None else tuple(shape))
    if kind == "output":
        return ("output", data.get("name") or data.get("label") or "")
    return ("saved", data.get("label") or data.get("name") or "")


def _loose_label(kind: str, data: Mapping[str, Any]) -> tuple[Any, ...]:
    if kind == "op":
        return ("op", data.get("name") or data.get("label"))
    if kind == "leaf":
        return ("leaf", data.get("param") or data.get("name") or "")
    if kind == "output":
        return ("output",)
    return ("saved", data.get("label") or data.get("name") or "")


def _intern(sides: Iterable[_Side]) -> None:
    """Compute the exact and loose identities of every node of every side.

    Identities are interned to small integers in tables shared by both sides, so equal
    integers mean equal structure (no hash collisions to worry about).
    """
    exact: dict[tuple[Any, ...], int] = {}
    loose: dict[tuple[Any, ...], int] = {}
    labels: dict[tuple[Any, ...], int] = {}
    for side in sides:
        ident = side.ident
        loose_ids = side.loose
        kinds = side.kind
        label_ids = [0] * len(side.ids)
        for i, data in enumerate(side.data):
            kind = kinds[i]
            if kind == "op" and not data.get("attrs"):  # the common case, inlined
                name = data.get("name") or data.get("label")
                label: tuple[Any, ...] = ("op", name, ())
                loose_label: tuple[Any, ...] = ("op", name)
            else:
                label = _exact_label(kind, data)
                loose_label = _loose_label(kind, data)
            label_ids[i] = labels.setdefault(label, len(labels))
            loose_ids[i] = loose.setdefault(loose_label, len(loose))
        preds = side.preds
        for i in side.topo:
            if kinds[i] == "saved":
                continue
            inputs = preds[i]
            # A flat key: (label, identity of input 0, its slots, identity of input 1, ...).
            if not inputs:
                key: tuple[Any, ...] = (label_ids[i],)
            elif len(inputs) == 1:
                _, signature, j = inputs[0]
                key = (label_ids[i], ident[j], signature)
            else:
                key = (label_ids[i], *[x for _, sig, j in inputs for x in (ident[j], sig)])
            ident[i] = exact.setdefault(key, len(exact))
        for i, kind in enumerate(kinds):
            if kind != "saved":
                continue
            consumer = side.saved_consumer.get(i)
            if consumer is None:
                key = (label_ids[i], "saved")
            else:
                key = (label_ids[i], "saved", ident[consumer[0]], consumer[1])
            ident[i] = exact.setdefault(key, len(exact))


# --------------------------------------------------------------------- the matcher


class _Matcher:
    """Grows a one-to-one match between the nodes of two sides.

    Every step proposes candidate pairs from the current state, then accepts only the
    pairs whose both ends were proposed with one partner each (a symmetric rule), so the
    outcome is the same whichever graph is called ``a``.
    """

    def __init__(self, a: _Side, b: _Side) -> None:
        self.a = a
        self.b = b
        self.pa = [-1] * len(a.ids)
        self.pb = [-1] * len(b.ids)

    # -- acceptance

    def _accept(
        self, candidates: list[tuple[int, int]], check: bool = True
    ) -> list[tuple[int, int]]:
        if not candidates:
            return []
        pa = self.pa
        pb = self.pb
        want_a: dict[int, int] = {}
        want_b: dict[int, int] = {}
        checked: dict[tuple[int, int], bool] = {}
        for i, j in candidates:
            if pa[i] != -1 or pb[j] != -1:
                continue
            if check:
                pair = (i, j)
                consistent = checked.get(pair)
                if consistent is None:
                    consistent = checked[pair] = self._consistent(i, j)
                if not consistent:
                    continue
            previous = want_a.get(i)
            if previous is None:
                want_a[i] = j
            elif previous != j:
                want_a[i] = _CONFLICT
            previous = want_b.get(j)
            if previous is None:
                want_b[j] = i
            elif previous != i:
                want_b[j] = _CONFLICT
        accepted = []
        for i, j in want_a.items():
            if j >= 0 and want_b.get(j) == i:
                pa[i] = j
                pb[j] = i
                accepted.append((i, j))
        return accepted

    def _consistent(self, i: int, j: int) -> bool:
        """Return False when ``i`` and ``j`` cannot be the same place.

        That is when, in some input slot, both inputs are matched but not to each other.
        """
        preds_a = self.a.preds[i]
        preds_b = self.b.preds[j]
        if not preds_a or not preds_b:
            return True
        if len(preds_a) > _CHECKED_INPUTS or len(preds_b) > _CHECKED_INPUTS:
            # NOTE: a node with very many inputs (cat of thousands) can be proposed once per
            # input; checking all of them each time would be quadratic. Such nodes are
            # accepted unchecked (the uniqueness rule still applies).
            return True
        pa = self.pa
        pb = self.pb
        if len(preds_a) == len(preds_b):  # the usual case: the same slots, in order
            for (slot_a, _, u), (slot_b, _, v) in zip(preds_a, preds_b, strict=True):
                if slot_a != slot_b:
                    break
                partner = pa[u]
                if partner != -1 and partner != v and pb[v] != -1:
                    return False
            else:
                return True
        by_slot = {slot: v for slot, _, v in preds_b}
        for slot, _, u in preds_a:
            w = by_slot.get(slot)
            partner = pa[u]
            if w is not None and partner != -1 and partner != w and pb[w] != -1:
                return False
        return True

    # -- steps

    def anchors(self) -> list[tuple[int, int]]:
        """Match the nodes whose exact identity is unique in both graphs."""
        seen_a: dict[int, int] = {}
        for i, h in enumerate(self.a.ident):
            seen_a[h] = _CONFLICT if h in seen_a else i
        seen_b: dict[int, int] = {}
        for j, h in enumerate(self.b.ident):
            seen_b[h] = _CONFLICT if h in seen_b else j
        candidates = []
        for h, i in seen_a.items():
            if i >= 0:
                j = seen_b.get(h, _CONFLICT)
                if j >= 0:
                    candidates.append((i, j))
        # Nothing is matched yet, so no candidate can contradict a match: skip the check.
        return self._accept(candidates, check=False)

    def leftovers(self) -> None:
        """Match unmatched nodes of equal exact identity occurrence by occurrence.

        Level by level (equal identities have equal depths), so that twins are told apart
        by their already matched inputs where they can be: first by their inputs read
        through the match, then in creation order; the match spreads after each step.
        """
        pa = self.pa
        pb = self.pb
        ident_a = self.a.ident
        ident_b = self.b.ident
        groups_a: dict[int, list[int]] = {}
        for i in self.a.order:
            if pa[i] == -1:
                groups_a.setdefault(ident_a[i], []).append(i)
        groups_b: dict[int, list[int]] = {}
        for j in self.b.order:
            if pb[j] == -1 and ident_b[j] in groups_a:
                groups_b.setdefault(ident_b[j], []).append(j)
        depth = self.a.depth
        levels: dict[int, list[int]] = {}
        for h in groups_b:
            levels.setdefault(depth[groups_a[h][0]], []).append(h)
        for level in sorted(levels):
            pending = []
            for h in levels[level]:
                members_a = [i for i in groups_a[h] if pa[i] == -1]
                members_b = [j for j in groups_b[h] if pb[j] == -1]
                if members_a and members_b:
                    pending.append((members_a, members_b))
            candidates: list[tuple[int, int]] = []
            for members_a, members_b in pending:
                self._by_inputs(members_a, members_b, candidates)
            self.spread(self._accept(candidates), loose=False)
            candidates = []
            for members_a, members_b in pending:
                members_a = [i for i in members_a if pa[i] == -1]
                members_b = [j for j in members_b if pb[j] == -1]
                candidates.extend(zip(members_a, members_b, strict=False))  # in rank order
            self.spread(self._accept(candidates), loose=False)

    def roots(self) -> list[tuple[int, int]]:
        """Match the graphs' outputs by their position in ``roots``."""
        roots_a = self._roots(self.a)
        roots_b = self._roots(self.b)
        candidates = [
            (i, j)
            for i, j in zip(roots_a, roots_b, strict=False)
            if self.a.kind[i] == self.b.kind[j] and self.a.loose[i] == self.b.loose[j]
        ]
        return self._accept(candidates)

    @staticmethod
    def _roots(side: _Side) -> list[int]:
        roots = side.graph.graph.get("roots")
        if roots:
            return [side.index[node] for node in roots if node in side.index]
        outputs = [i for i, kind in enumerate(side.kind) if kind == "output"]
        return sorted(outputs, key=side.rank.__getitem__)

    def spread(self, frontier: list[tuple[int, int]], loose: bool) -> None:
        """Grow the match from ``frontier`` to inputs and consumers until it stops."""
        while frontier:
            candidates: list[tuple[int, int]] = []
            for i, j in frontier:
                self._down(i, j, loose, candidates)
                self._up(i, j, loose, candidates)
            frontier = self._accept(candidates)

    def boundary(self) -> list[tuple[int, int]]:
        """Return the matched pairs next to an unmatched node (the only ones that can grow)."""
        pairs: set[tuple[int, int]] = set()
        for side, partner in ((self.a, self.pa), (self.b, self.pb)):
            is_a = side is self.a
            for i, p in enumerate(partner):
                if p != -1:
                    continue
                for _, _, x in side.preds[i]:
                    if partner[x] != -1:
                        pairs.add((x, partner[x]) if is_a else (partner[x], x))
                for _, _, x in side.succs[i]:
                    if partner[x] != -1:
                        pairs.add((x, partner[x]) if is_a else (partner[x], x))
        return sorted(pairs)

    def matched_pairs(self) -> list[tuple[int, int]]:
        """Return every matched pair."""
        return [(i, j) for i, j in enumerate(self.pa) if j != -1]

    def _down(self, i: int, j: int, loose: bool, out: list[tuple[int, int]]) -> None:
        preds_a = self.a.preds[i]
        preds_b = self.b.preds[j]
        if not preds_a or not preds_b:
            return
        pa = self.pa
        pb = self.pb
        key_a = self.a.loose if loose else self.a.ident
        key_b = self.b.loose if loose else self.b.ident
        if len(preds_a) == 1 and len(preds_b) == 1:
            slot_a, _, u = preds_a[0]
            slot_b, _, v = preds_b[0]
            if slot_a == slot_b and pa[u] == -1 and pb[v] == -1 and key_a[u] == key_b[v]:
                out.append((u, v))
            return
        by_slot = {slot: v for slot, _, v in preds_b}
        for slot, _, u in preds_a:
            w = by_slot.get(slot)
            if w is not None and pa[u] == -1 and pb[w] == -1 and key_a[u] == key_b[w]:
                out.append((u, w))

    def _up(self, i: int, j: int, loose: bool, out: list[tuple[int, int]]) -> None:
        succs_a = self.a.succs[i]
        succs_b = self.b.succs[j]
        if not succs_a or not succs_b:
            return
        pa = self.pa
        pb = self.pb
        key_a = self.a.loose if loose else self.a.ident
        key_b = self.b.loose if loose else self.b.ident
        if len(succs_a) == 1 and len(succs_b) == 1:
            slot_a, _, c = succs_a[0]
            slot_b, _, d = succs_b[0]
            if slot_a == slot_b and pa[c] == -1 and pb[d] == -1 and key_a[c] == key_b[d]:
                out.append((c, d))
            return
        groups_a: dict[tuple[int, int], list[int]] = {}
        for slot, _, c in succs_a:
            if pa[c] == -1:
                groups_a.setdefault((key_a[c], slot), []).append(c)
        if not groups_a:
            return
        groups_b: dict[tuple[int, int], list[int]] = {}
        for slot, _, d in succs_b:
            if pb[d] == -1 and (key_b[d], slot) in groups_a:
                groups_b.setdefault((key_b[d], slot), []).append(d)
        for group, members_b in groups_b.items():
            members_a = groups_a[group]
            if len(members_a) == 1 and len(members_b) == 1:
                out.append((members_a[0], members_b[0]))
            else:
                self._by_inputs(members_a, members_b, out)

    def _by_inputs(
        self, members_a: list[int], members_b: list[int], out: list[tuple[int, int]]
    ) -> None:
        # Several consumers of one matched node take it in the same slot: tell them apart
        # by all their inputs, read through the match.
        pb = self.pb
        sig_a: dict[tuple[Any, ...], int] = {}
        for c in members_a:
            key = tuple([(slot, u) for slot, _, u in self.a.preds[c]])
            sig_a[key] = _CONFLICT if key in sig_a else c
        sig_b: dict[tuple[Any, ...], int] = {}
        for d in members_b:
            inputs = self.b.preds[d]
            if any(pb[v] == -1 for _, _, v in inputs):
                continue  # an unmatched input: nothing to read through the match
            key = tuple([(slot, pb[v]) for slot, _, v in inputs])
            sig_b[key] = _CONFLICT if key in sig_b else d
        for key, d in sig_b.items():
            c = sig_a.get(key, _CONFLICT)
            if c >= 0 and d >= 0:
                out.append((c, d))


# --------------------------------------------------------------------------- diff


def diff(a: nx.DiGraph, b: nx.DiGraph, *, grad_top: int = 10) -> GraphDiff:
    """Compare two trace graphs by structure: what ``b`` adds, removes and changes.

    Nodes are matched by identity (an op's is its name, its attributes and the identities
    of its inputs in order; a leaf's is its parameter name, else its name, else its shape),
    never by id, then by place (same kind and name next to matched nodes), so a node in
    the same place with another shape, dtype, device or attributes is *changed*, not
    removed and added. Repeated structure is matched occurrence by occurrence. Runs in
    time linear in the size of the graphs.

    Args:
        a: the "before" graph (``gradviz.trace`` schema).
        b: the "after" graph.
        grad_top: how many of the largest gradient-norm changes to keep (when both graphs
            carry gradient summaries: both have the ``backward`` graph attribute of a
            recorded backward).

    Returns:
        A :class:`GraphDiff`; ``.identical`` is True when nothing but gradient values
        differs.

    Raises:
        TypeError: ``a`` or ``b`` is not a networkx DiGraph.
        ValueError: a graph has a foreign schema version, a node without a valid ``kind``,
            or a cycle; or ``grad_top`` is negative.

    Example:
        >>> import gradviz as gv
        >>> from gradviz.trace.diff import diff
        >>> def step(depth):
        ...     w = gv.ones(3, requires_grad=True)
        ...     w.name = "w"
        ...     h = w * 2
        ...     for _ in range(depth):
        ...         h = (h * w).tanh()
        ...     return gv.trace.capture(h.sum())
        >>> d = diff(step(1), step(2))
        >>> d.identical, d.counts
        (False, {'MulBackward0': {'added': 1, 'removed': 0, 'changed': 0}, \
'TanhBackward0': {'added': 1, 'removed': 0, 'changed': 0}})
    """
    if grad_top < 0:
        raise ValueError(f"diff: grad_top must be >= 0, got {grad_top}.")
    side_a = _Side(a, "a")
    side_b = _Side(b, "b")
    _intern((side_a, side_b))
    matcher = _Matcher(side_a, side_b)
    matcher.anchors()
    # Spreading from a pair only reaches unmatched neighbours, so the pairs next to an
    # unmatched node are the whole useful frontier (and far fewer than all anchors).
    matcher.spread(matcher.boundary(), loose=False)
    # Outputs, then places, before creation order: twins (equal identities) that only
    # their consumers tell apart are matched from above first; leftovers falls back on
    # creation order only for what is still ambiguous.
    matcher.spread(matcher.roots(), loose=False)
    matcher.spread(matcher.boundary(), loose=True)
    matcher.leftovers()
    matcher.spread(matcher.boundary(), loose=True)
    return _result(side_a, side_b, matcher, grad_top)


def _result(a: _Side, b: _Side, matcher: _Matcher, grad_top: int) -> GraphDiff:
    pa = matcher.pa
    pb = matcher.pb
    pairs = [(i, pa[i]) for i in a.order if pa[i] != -1]
    ids_a = a.ids
    ids_b = b.ids
    matches = {ids_a[i]: ids_b[j] for i, j in pairs}
    added = tuple(ids_b[j] for j in b.order if pb[j] == -1)
    removed = tuple(ids_a[i] for i in a.order if pa[i] == -1)

    changed = []
    data_a = a.data
    data_b = b.data
    for i, j in pairs:
        before = data_a[i]
        after = data_b[j]
        # NOTE: a quick screen first; _compare builds the exact list for the few that differ.
        get_a = before.get
        get_b = after.get
        if (
            get_a("shape") == get_b("shape")
            and get_a("dtype") == get_b("dtype")
            and get_a("device") == get_b("device")
            and get_a("module") == get_b("module")
            and get_a("name") == get_b("name")
            and get_a("attrs") == get_b("attrs")
        ):
            continue
        fields = _compare(before, after, a.kind[i])
        if fields:
            data = b.data[j]
            changed.append(
                NodeChange(
                    a=a.ids[i],
                    b=b.ids[j],
                    kind=b.kind[j],
                    label=str(data.get("label") or data.get("name") or ""),
                    module=data.get("module") or a.data[i].get("module"),
                    fields=fields,
                )
            )

    removed_edges = _edges_missing(a, b, pa)
    added_edges = _edges_missing(b, a, pb)
    return GraphDiff(
        a=a.graph,
        b=b.graph,
        matches=matches,
        added=added,
        removed=removed,
        changed=tuple(changed),
        added_edges=added_edges,
        removed_edges=removed_edges,
        grad_changes=_grad_changes(a, b, pairs, grad_top),
    )


def _edges_missing(mine: _Side, other: _Side, partner: list[int]) -> tuple[tuple[str, str], ...]:
    """Return the edges of ``mine`` with no equal edge (role, slots) in ``other``."""
    missing = []
    other_preds = other.preds
    rank = mine.rank
    wide: dict[int, dict[int, tuple[Any, ...]]] = {}
    for v, entries in enumerate(mine.preds):
        pv = partner[v]
        for _, signature, u in entries:
            pu = partner[u]
            if pu == -1 or pv == -1:
                missing.append((rank[v], rank[u], u, v))
                continue
            inputs = other_preds[pv]
            count = len(inputs)
            if count == 1:  # the usual case, inlined
                found = inputs[0][1] if inputs[0][2] == pu else None
            elif count <= _SCANNED_INPUTS:
                found = _input_signature(inputs, pu)
            else:  # a node with many inputs (a cat of thousands): look up, do not scan
                lookup = wide.get(pv)
                if lookup is None:
                    lookup = wide[pv] = {x: sig for _, sig, x in inputs}
                found = lookup.get(pu)
            if found != signature:
                missing.append((rank[v], rank[u], u, v))
    other_saved = other.saved_edges
    for (u, v), slot in mine.saved_edges.items():
        pu = partner[u]
        pv = partner[v]
        if pu == -1 or pv == -1 or other_saved.get((pu, pv)) != slot:
            missing.append((rank[v], rank[u], u, v))
    missing.sort()
    return tuple((mine.ids[u], mine.ids[v]) for _, _, u, v in missing)


def _input_signature(
    entries: list[tuple[int, tuple[Any, ...], int]], u: int
) -> tuple[Any, ...] | None:
    for _, signature, other in entries:
        if other == u:
            return signature
    return None


def _normal(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_normal(v) for v in value)
    return value


def _compare(
    before: Mapping[str, Any], after: Mapping[str, Any], kind: str
) -> tuple[tuple[str, Any, Any], ...]:
    fields = []
    for name in _COMPARED:
        old = before.get(name)
        new = after.get(name)
        if old != new:
            old = _normal(old)
            new = _normal(new)
            if old != new:  # a shape read back from JSON as a list equals its tuple
                fields.append((name, old, new))
    if kind == "op":
        attrs_a = before.get("attrs") or {}
        attrs_b = after.get("attrs") or {}
        if attrs_a != attrs_b:
            for key in sorted(set(attrs_a) | set(attrs_b), key=str):
                old = attrs_a.get(key)
                new = attrs_b.get(key)
                if old != new:
                    fields.append((f"attrs.{key}", old, new))
    fields.sort(key=lambda entry: entry[0])
    return tuple(fields)


def _grad_norm(kind: str, data: Mapping[str, Any]) -> float | None:
    if kind == "leaf":
        summary = data.get("grad")
        if isinstance(summary, Mapping) and summary.get("norm") is not None:
            return float(summary["norm"])
        return None
    if kind != "op":
        return None
    summaries = data.get("grad_in")
    if not summaries:
        return None
    total = 0.0
    found = False
    for summary in summaries:
        if isinstance(summary, Mapping) and summary.get("norm") is not None:
            norm = float(summary["norm"])
            total += norm * norm
            found = True
    return math.sqrt(total) if found else None


def _carries_grads(side: _Side) -> bool:
    return "backward" in side.graph.graph


def _grad_changes(
    a: _Side, b: _Side, pairs: list[tuple[int, int]], top: int
) -> tuple[GradChange, ...]:
    if top == 0 or not (_carries_grads(a) and _carries_grads(b)):
        return ()
    entries = []
    for i, j in pairs:
        kind = a.kind[i]
        if kind == "op" and a.data[i].get("name") == "AccumulateGrad":
            continue  # the same gradient as its leaf's
        before = _grad_norm(kind, a.data[i])
        after = _grad_norm(b.kind[j], b.data[j])
        if before is None or after is None:
            continue
        delta = abs(after - before)
        if math.isnan(delta):
            # NOTE: a norm that turned NaN/Inf is the most interesting change of all.
            delta = math.inf if (math.isnan(before) != math.isnan(after)) else 0.0
        if delta == 0.0:
            continue
        entries.append((-delta, a.rank[i], i, j, before, after))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    result = []
    for _, _, i, j, before, after in entries[:top]:
        data = b.data[j]
        result.append(
            GradChange(
                a=a.ids[i],
                b=b.ids[j],
                kind=b.kind[j],
                label=_short_label(b.graph, b.ids[j]),
                module=data.get("module"),
                before=before,
                after=after,
            )
        )
    return tuple(result)
