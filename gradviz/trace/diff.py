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
whole diff is linear in the size of the two graphs (``benchmarks/bench_diff.py`` times it
on two graphs of 100,000 nodes).

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
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import itemgetter, ne, not_
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
#
# NOTE: diffing two graphs of 100,000 nodes leaves a few microseconds per node for
# everything; the time goes in interpreter steps and in cache misses on networkx's many
# small dicts. So the index reads each node's attributes and its input edges in one loop,
# in insertion order (mostly the order of the dicts in memory), computes identities in a
# second loop over its own compact lists, and later steps read the graph only for what
# they report (the attributes of changed nodes, gradient norms).


def _graph_dicts(graph: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Return ``({node: attributes}, {node: {predecessor: edge attributes}})``.

    NOTE: ``_node`` and ``_pred`` are the dicts that networkx's own views (``G.nodes``,
    ``G.pred``) wrap; reading them directly saves a view call per access, a large part of
    indexing a big graph. They are only read. A graph-like object without them (not a
    networkx graph) is read through the public API instead.
    """
    nodes = getattr(graph, "_node", None)
    predecessors = getattr(graph, "_pred", None)
    if isinstance(nodes, dict) and isinstance(predecessors, dict):
        return nodes, predecessors
    nodes = dict(graph.nodes(data=True))
    predecessors = {node: {} for node in nodes}
    for u, consumers in graph.adjacency():
        for v, data in consumers.items():
            predecessors[v][u] = data
    return nodes, predecessors


def _column(dicts: list[Any], key: str) -> list[Any]:
    """Return ``[d.get(key) for d in dicts]``, looping in C when the dicts are dicts."""
    try:
        return list(map(dict.get, dicts, repeat(key)))
    except TypeError:  # a mapping that is not a dict (a custom networkx attribute factory)
        return [d.get(key) for d in dicts]


# An edge as the index keeps it: (input slot, signature, tail, head), one tuple in both
# its head's `preds` and its tail's `succs`. The slot is the edge's lowest input slot; the
# signature is its `slots` as a tuple of tuples (one pair per slot fed), () without any.
_Edge = tuple[int, tuple[Any, ...], int, int]
_NO_EDGES: tuple[_Edge, ...] = ()
# What a matched pair is compared on: _COMPARED, and an op's attributes. Every node of the
# schema has these keys; itemgetter reads them in C. NOTE: tuples compare their items as
# `==` does, except that an item is equal to itself even when it is a value like NaN that
# is not (nonsense for these attributes, so no matter).
_SCREEN = itemgetter(*_COMPARED)
_SCREEN_OP = itemgetter(*_COMPARED, "attrs")


class _Tables:
    """The interning tables shared by both sides: equal integers mean equal structure."""

    __slots__ = ("exact", "loose", "labels", "plain_ops", "signatures")

    def __init__(self) -> None:
        self.exact: dict[Any, int] = {}
        self.loose: dict[tuple[Any, ...], int] = {}
        self.labels: dict[tuple[Any, ...], int] = {}
        # An op without attributes (most of them) is labelled by its name alone: its two
        # label ids are remembered by name instead of building and hashing both tuples.
        self.plain_ops: dict[Any, tuple[int, int]] = {}
        # One tuple per distinct single-pair `slots` (almost every edge has one pair).
        self.signatures: dict[tuple[Any, ...], tuple[tuple[Any, ...]]] = {}

    def label_ids(self, kind: str, data: Mapping[str, Any]) -> tuple[int, int]:
        """Return the interned exact and loose labels of a node."""
        labels = self.labels
        loose = self.loose
        return (
            labels.setdefault(_exact_label(kind, data), len(labels)),
            loose.setdefault(_loose_label(kind, data), len(loose)),
        )


class _Side:
    """One graph, indexed by small integers for the matcher.

    Identities (interned in the tables shared with the other side) are computed bottom-up:
    an op's exact identity is its label and, in input-slot order, the identity and slots
    of each data input; a saved node's is its label and its consumer's identity.

    Attributes:
        ids: node ids in the graph's insertion order; ``index`` maps them back.
        numbers: ``list(range(len(ids)))``: the node numbers, as int objects shared by
            every list and dict of the index.
        kind, data: per node.
        preds: per node, its data input edges (see ``_Edge``) sorted by slot.
        succs: per node, its data output edges.
        saved_edges: the saved edges as ``{(u, v): slot name}``.
        saved_consumer: per saved node, its consumer and slot name.
        ident, loose: interned exact and loose identities.
        topo: a topological order of the data edges.
        base: per node, its place in creation order (ops by ``seq``, other nodes next to
            the op they feed or come from; see ``_place``); insertion order breaks ties.
        screen: per node, what a matched pair is compared on: a tuple of the attributes,
            or the node's attribute dict where it lacks some. Equal screens: no change.
    """

    __slots__ = (
        "name",
        "graph",
        "ids",
        "numbers",
        "index",
        "kind",
        "data",
        "preds",
        "succs",
        "saved_edges",
        "saved_consumer",
        "ident",
        "loose",
        "topo",
        "base",
        "screen",
        "_order",
        "_depths",
    )

    def __init__(self, graph: Any, name: str, tables: _Tables) -> None:
        _check_graph(graph, name)
        self.name = name
        self.graph = graph
        nodes, predecessors = _graph_dicts(graph)
        ids = list(nodes)
        self.ids = ids
        # NOTE: range() would make new int objects each time it is read; 100,000 of them
        # cost time to make and to free.
        self.numbers = numbers = list(range(len(ids)))
        self.index = dict(zip(ids, numbers, strict=True))
        self.data = list(nodes.values())
        kinds = _column(self.data, "kind")
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
        self.saved_edges: dict[tuple[int, int], str] = {}
        self.saved_consumer: dict[int, tuple[int, str]] = {}
        self._order: list[int] | None = None
        self._depths: list[int] | None = None
        # networkx adds a node to `_node` and `_pred` together, so their orders agree.
        rows = list(predecessors.values())
        if list(predecessors) != ids:
            rows = list(map(predecessors.__getitem__, ids))
        labels, visit = self._read(rows, tables)
        unplaced = self._identify(labels, visit, tables)
        if "saved" in kinds:
            self._saved_identities(labels, tables)
        self._place(unplaced)

    def _read(self, rows: list[Mapping[str, Any]], tables: _Tables) -> tuple[list[int], list[int]]:
        """Read every node's attributes and input edges: labels, edges, seq, screens.

        Args:
            rows: per node, networkx's ``{input: edge attributes}``.
            tables: the interning tables.

        Returns:
            The exact label id of each node, and the nodes to visit for their identities:
            those without data inputs, then the others, in insertion order each (for a
            graph made by gradviz, a topological order).
        """
        count = len(rows)
        data = self.data
        index = self.index
        loose_ids = [0] * count
        label_ids = [0] * count
        base = [math.inf] * count
        screens: list[Any] = [None] * count
        preds: list[Sequence[_Edge]] = [_NO_EDGES] * count
        succs: list[list[_Edge]] = [[] for _ in range(count)]
        saved_edges = self.saved_edges
        plain_ops = tables.plain_ops
        labels = tables.labels
        loose = tables.loose
        signatures = tables.signatures
        sources: list[int] = []
        others: list[int] = []
        for v, kind, node, row in zip(self.numbers, self.kind, data, rows, strict=True):
            if kind == "op":
                if node.get("attrs"):
                    label_ids[v], loose_ids[v] = tables.label_ids(kind, node)
                else:  # the common case, inlined
                    op_name = node.get("name") or node.get("label")
                    known = plain_ops.get(op_name)
                    if known is None:
                        known = plain_ops[op_name] = (
                            labels.setdefault(("op", op_name, ()), len(labels)),
                            loose.setdefault(("op", op_name), len(loose)),
                        )
                    label_ids[v], loose_ids[v] = known
                seq = node.get("seq")
                if seq.__class__ is int:  # the common case, inlined
                    if seq < _NO_SEQ:
                        base[v] = float(seq)
                elif _has_rank(seq):
                    base[v] = float(seq)
                try:
                    screens[v] = _SCREEN_OP(node)
                except KeyError:  # a hand-built node without some attributes
                    screens[v] = node
            else:
                param = node.get("param") if kind == "leaf" else None
                if param:  # a parameter, the common leaf, inlined
                    label_ids[v] = labels.setdefault(("leaf", "param", param), len(labels))
                    loose_ids[v] = loose.setdefault(("leaf", param), len(loose))
                else:
                    label_ids[v], loose_ids[v] = tables.label_ids(kind, node)
                try:
                    screens[v] = node if "attrs" in node else _SCREEN(node)
                except KeyError:
                    screens[v] = node
            if not row:
                sources.append(v)
                continue
            inputs = []
            for input_id, edge in row.items():
                slots = edge.get("slots")
                if edge.get("role") == "saved":
                    saved_edges[index[input_id], v] = str(edge.get("slot"))
                    continue
                if not slots:
                    signature: tuple[Any, ...] = ()
                    slot = -1
                elif len(slots) == 1:  # the usual case: one pair, one shared tuple
                    pair = tuple(slots[0])
                    signature = signatures.get(pair)  # type: ignore[assignment]
                    if signature is None:
                        signature = signatures[pair] = (pair,)
                    slot = pair[0]
                else:
                    signature = tuple(map(tuple, slots))
                    slot = min(signature)[0]
                tail = index[input_id]
                edge_entry = (slot, signature, tail, v)
                inputs.append(edge_entry)
                succs[tail].append(edge_entry)
            if len(inputs) > 1:
                # Inputs in slot order; ties (hand-built graphs only) in insertion order
                # of the inputs, which is what comparing the input's number gives.
                inputs.sort()
            preds[v] = inputs
            (others if inputs else sources).append(v)
        self.preds = preds
        self.succs = succs
        self.loose = loose_ids
        self.base = base
        self.screen = screens
        return label_ids, sources + others

    def _identify(self, labels: list[int], visit: list[int], tables: _Tables) -> list[int]:
        """Compute the identities bottom-up; set ``ident`` and ``topo``.

        Args:
            labels: the exact label id of each node.
            visit: the nodes in an order that is topological for graphs made by gradviz
                (any other is found out and replaced by one that is).
            tables: the interning tables.

        Returns:
            The nodes without a ``seq`` of their own, in topological order (see
            ``_place``).

        Raises:
            ValueError: the graph has a cycle.
        """
        kinds = self.kind
        preds = self.preds
        base = self.base
        exact = tables.exact
        ident: list[Any] = [None] * len(kinds)
        inf = math.inf
        unplaced = []
        in_order = True
        for v in visit:
            if base[v] == inf:
                unplaced.append(v)
            inputs = preds[v]
            if not inputs:
                key: tuple[Any, ...] = (labels[v],)
            elif len(inputs) == 1:  # the usual case, inlined
                _, signature, u, _ = inputs[0]
                if ident[u] is None:
                    in_order = False
                    continue
                key = (labels[v], ident[u], signature)
            else:
                # A flat key: (label, input 0's identity, its slots, input 1's, ...).
                key = (labels[v], *[x for _, sig, u, _ in inputs for x in (ident[u], sig)])
                if None in key:
                    in_order = False
                    continue
            if kinds[v] == "saved":
                # NOTE: a saved node's identity needs its consumer's (set afterwards);
                # until then it reads as 0, also to a (hand-built) data consumer.
                ident[v] = 0
            else:
                ident[v] = exact.setdefault(key, len(exact))
        self.ident = ident
        if in_order:
            self.topo = visit
            return unplaced
        # Not a graph made by gradviz: a topological order the slow way, then the
        # identities still missing, in that order.
        self.topo = topo = self._topological_order()
        for v in topo:
            if ident[v] is None:
                key = (labels[v], *[x for _, sig, u, _ in preds[v] for x in (ident[u], sig)])
                ident[v] = 0 if kinds[v] == "saved" else exact.setdefault(key, len(exact))
        return [v for v in topo if base[v] == inf]

    def _saved_identities(self, labels: list[int], tables: _Tables) -> None:
        """Find each saved node's consumer and give the node its identity."""
        # A saved node's consumer is the head of its first saved edge in the graph's
        # adjacency order (a saved tensor has one; hand-built graphs may give it more).
        saved_consumer = self.saved_consumer
        kinds = self.kind
        adjacency = self.graph.adj
        index = self.index
        for u in sorted({u for u, _ in self.saved_edges if kinds[u] == "saved"}):
            for v, data in adjacency[self.ids[u]].items():
                if data.get("role", "data") == "saved":
                    saved_consumer[u] = (index[v], str(data.get("slot")))
                    break
        exact = tables.exact
        ident = self.ident
        for i in compress(self.numbers, map("saved".__eq__, kinds)):
            consumer = saved_consumer.get(i)
            if consumer is None:
                key: tuple[Any, ...] = (labels[i], "saved")
            else:
                key = (labels[i], "saved", ident[consumer[0]], consumer[1])
            ident[i] = exact.setdefault(key, len(exact))

    def _topological_order(self) -> list[int]:
        indegree = list(map(len, self.preds))
        order = list(compress(self.numbers, map(not_, indegree)))
        succs = self.succs
        for node in order:  # Kahn's algorithm; the list grows while it is read
            for edge in succs[node]:
                consumer = edge[3]
                indegree[consumer] -= 1
                if not indegree[consumer]:
                    order.append(consumer)
        count = len(self.ids)
        if len(order) != count:
            stuck = sorted(self.ids[i] for i in range(count) if indegree[i] > 0)[:5]
            raise ValueError(
                f"diff: graph {self.name} has a cycle (it is not a DAG); nodes on or after "
                f"it include {', '.join(map(repr, stuck))}.\n"
                "Fix: trace graphs are DAGs; check how the graph was built."
            )
        return order

    def _place(self, unplaced: list[int]) -> None:
        """Give the nodes without a ``seq`` of their own a place in creation order.

        Args:
            unplaced: those nodes, in topological order.
        """
        # NOTE: ops carry `seq` (creation order); AccumulateGrad and leaves sort just
        # before the first op they feed, outputs just after their producer, saved nodes
        # just before their op. Graphs without `seq` fall back to insertion order, which
        # relabelling keeps. Ids are never used, so relabelling cannot change the diff.
        inf = math.inf
        base = self.base
        succs = self.succs
        kinds = self.kind
        # AccumulateGrad, then its leaf, just before the op fed (in reversed topological
        # order, consumers come first).
        for i in reversed(unplaced):
            targets = succs[i]
            if targets:
                if len(targets) == 1:
                    consumer = base[targets[0][3]]
                else:
                    consumer = min([base[edge[3]] for edge in targets])
                if consumer != inf:
                    base[i] = consumer - (0.5 if kinds[i] == "op" else 0.01)
        preds = self.preds
        for i in unplaced:
            if base[i] == inf and preds[i]:  # outputs just after their producer
                producer = min([base[edge[2]] for edge in preds[i]])
                if producer != inf:
                    base[i] = producer + 0.5
        for i, (consumer, _) in self.saved_consumer.items():
            if base[i] == inf and base[consumer] != inf:
                base[i] = base[consumer] - 0.25

    @property
    def order(self) -> list[int]:
        """Return all nodes in creation order (sorted when first asked)."""
        if self._order is None:
            self._order = sorted(self.numbers, key=self.base.__getitem__)  # stable
        return self._order

    def by_creation(self, nodes: Iterable[int]) -> list[int]:
        """Return ``nodes`` in creation order, as they come in :attr:`order`."""
        return sorted(sorted(nodes), key=self.base.__getitem__)  # ties: insertion order

    def depth(self, node: int) -> int:
        """Return ``node``'s longest distance from a source (saved: its op's, plus one).

        Computed for all nodes when first asked (only the matcher's last step needs
        depths, and often not at all).
        """
        if self._depths is None:
            depth = [0] * len(self.ids)
            preds = self.preds
            for i in self.topo:
                inputs = preds[i]
                if inputs:
                    depth[i] = max([depth[edge[2]] for edge in inputs]) + 1
            for i, (consumer, _) in self.saved_consumer.items():
                depth[i] = depth[consumer] + 1
            self._depths = depth
        return self._depths[node]


def _has_rank(seq: Any) -> bool:
    """Return True when an op's ``seq`` is a creation rank."""
    # NOTE: AccumulateGrad's seq is PyTorch's 2**64 - 1 ("run when ready"), not a creation
    # rank: it sorts with the op it feeds, like a leaf.
    return isinstance(seq, (int, float)) and not isinstance(seq, bool) and seq < _NO_SEQ


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
        self._free: tuple[list[int], list[int]] | None = None

    def free(self) -> tuple[list[int], list[int]]:
        """Return the unmatched nodes of ``a`` and of ``b``, in index order."""
        pa = self.pa
        pb = self.pb
        if self._free is None:  # the first time, a look at every node
            free = (
                [i for i, p in enumerate(pa) if p == -1],
                [j for j, p in enumerate(pb) if p == -1],
            )
        else:  # then only at those that were still free (a match is never undone)
            free_a, free_b = self._free
            free = ([i for i in free_a if pa[i] == -1], [j for j in free_b if pb[j] == -1])
        self._free = free
        return free

    # -- acceptance

    def _accept(
        self, candidates: list[tuple[int, int]], check: bool = True
    ) -> list[tuple[int, int]]:
        if not candidates:
            return []
        pa = self.pa
        pb = self.pb
        if len(candidates) == 1:  # common while a match spreads along a chain
            i, j = candidates[0]
            if pa[i] != -1 or pb[j] != -1 or (check and not self._consistent(i, j)):
                return []
            pa[i] = j
            pb[j] = i
            return [(i, j)]
        consistent = self._consistent
        want_a: dict[int, int] = {}
        want_b: dict[int, int] = {}
        # Each distinct pair once: a node is often proposed by several of its neighbours.
        for i, j in dict.fromkeys(candidates):
            if pa[i] != -1 or pb[j] != -1 or (check and not consistent(i, j)):
                continue
            want_a[i] = _CONFLICT if i in want_a else j
            want_b[j] = _CONFLICT if j in want_b else i
        accepted = [(i, j) for i, j in want_a.items() if j >= 0 and want_b[j] == i]
        for i, j in accepted:
            pa[i] = j
            pb[j] = i
        return accepted

    def _consistent(self, i: int, j: int) -> bool:
        """Return False when ``i`` and ``j`` cannot be the same place.

        That is when, in some input slot, both inputs are matched but not to each other.
        """
        preds_a = self.a.preds[i]
        preds_b = self.b.preds[j]
        if len(preds_a) == 1 and len(preds_b) == 1:  # the usual case, inlined
            slot_a, _, u, _ = preds_a[0]
            slot_b, _, v, _ = preds_b[0]
            partner = self.pa[u]
            return slot_a != slot_b or partner == -1 or partner == v or self.pb[v] == -1
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
            for (slot_a, _, u, _), (slot_b, _, v, _) in zip(preds_a, preds_b, strict=True):
                if slot_a != slot_b:
                    break
                partner = pa[u]
                if partner != -1 and partner != v and pb[v] != -1:
                    return False
            else:
                return True
        by_slot = {slot: v for slot, _, v, _ in preds_b}
        for slot, _, u, _ in preds_a:
            w = by_slot.get(slot)
            partner = pa[u]
            if w is not None and partner != -1 and partner != w and pb[w] != -1:
                return False
        return True

    # -- steps

    def anchors(self) -> list[tuple[int, int]]:
        """Match the nodes whose exact identity is unique in both graphs."""
        ident_a = self.a.ident
        ident_b = self.b.ident
        # Counting and indexing in C: an identity's entry in `where` is its only node when
        # it occurs once.
        count_a = Counter(ident_a)
        count_b = Counter(ident_b)
        where_a = dict(zip(ident_a, self.a.numbers, strict=True))
        where_b = dict(zip(ident_b, self.b.numbers, strict=True))
        unique = [h for h, n in count_a.items() if n == 1 and count_b.get(h) == 1]
        # Each candidate is the only one for both its nodes, and nothing is matched yet:
        # all of them are accepted.
        pa = self.pa
        pb = self.pb
        accepted = list(
            zip(map(where_a.__getitem__, unique), map(where_b.__getitem__, unique), strict=True)
        )
        for i, j in accepted:
            pa[i] = j
            pb[j] = i
        return accepted

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
        free_a, free_b = self.free()
        groups_a: dict[int, list[int]] = {}
        for i in self.a.by_creation(free_a):
            groups_a.setdefault(ident_a[i], []).append(i)
        groups_b: dict[int, list[int]] = {}
        for j in self.b.by_creation(free_b):
            if ident_b[j] in groups_a:
                groups_b.setdefault(ident_b[j], []).append(j)
        depth = self.a.depth
        levels: dict[int, list[int]] = {}
        for h in groups_b:
            levels.setdefault(depth(groups_a[h][0]), []).append(h)
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
                candidates.extend(zip(members_a, members_b, strict=False))  # creation order
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
        return side.by_creation([i for i, kind in enumerate(side.kind) if kind == "output"])

    def spread(self, frontier: list[tuple[int, int]], loose: bool) -> None:
        """Grow the match from ``frontier`` to inputs and consumers until it stops.

        Each matched pair proposes its unmatched inputs in the same slot and its unmatched
        consumers that take it in the same slot, when their identities (exact, or loose:
        kind and name only) agree.
        """
        a = self.a
        b = self.b
        preds_a = a.preds
        preds_b = b.preds
        succs_a = a.succs
        succs_b = b.succs
        key_a = a.loose if loose else a.ident
        key_b = b.loose if loose else b.ident
        pa = self.pa
        pb = self.pb
        # NOTE: one loop with the one-input and one-consumer cases inlined: when the
        # graphs differ early on, the match spreads through much of them this way.
        while frontier:
            candidates: list[tuple[int, int]] = []
            propose = candidates.append
            for i, j in frontier:
                # Inputs in the same slot.
                inputs_a = preds_a[i]
                inputs_b = preds_b[j]
                if len(inputs_a) == 1 and len(inputs_b) == 1:
                    slot_a, _, u, _ = inputs_a[0]
                    slot_b, _, w, _ = inputs_b[0]
                    if slot_a == slot_b and pa[u] == -1 and pb[w] == -1 and key_a[u] == key_b[w]:
                        propose((u, w))
                elif inputs_a and inputs_b:
                    by_slot = {slot: w for slot, _, w, _ in inputs_b}
                    for slot, _, u, _ in inputs_a:
                        x = by_slot.get(slot)
                        if x is not None and pa[u] == -1 and pb[x] == -1 and key_a[u] == key_b[x]:
                            propose((u, x))
                # Consumers that take them in the same slot.
                outputs_a = succs_a[i]
                outputs_b = succs_b[j]
                if len(outputs_a) == 1 and len(outputs_b) == 1:
                    slot_a, _, _, c = outputs_a[0]
                    slot_b, _, _, d = outputs_b[0]
                    if slot_a == slot_b and pa[c] == -1 and pb[d] == -1 and key_a[c] == key_b[d]:
                        propose((c, d))
                elif outputs_a and outputs_b:
                    self._consumers(outputs_a, outputs_b, key_a, key_b, candidates)
            frontier = self._accept(candidates)

    def boundary(self) -> list[tuple[int, int]]:
        """Return the matched pairs next to an unmatched node (the only ones that can grow)."""
        pairs: set[tuple[int, int]] = set()
        sides = zip((self.a, self.b), (self.pa, self.pb), self.free(), strict=True)
        for side, partner, free in sides:
            is_a = side is self.a
            for i in free:
                for _, _, x, _ in side.preds[i]:
                    if partner[x] != -1:
                        pairs.add((x, partner[x]) if is_a else (partner[x], x))
                for _, _, _, x in side.succs[i]:
                    if partner[x] != -1:
                        pairs.add((x, partner[x]) if is_a else (partner[x], x))
        return sorted(pairs)

    def _consumers(
        self,
        outputs_a: Sequence[_Edge],
        outputs_b: Sequence[_Edge],
        key_a: list[int],
        key_b: list[int],
        out: list[tuple[int, int]],
    ) -> None:
        """Propose consumers of a matched pair that take it in the same slot."""
        pa = self.pa
        pb = self.pb
        groups_a: dict[tuple[int, int], list[int]] = {}
        for slot, _, _, c in outputs_a:
            if pa[c] == -1:
                groups_a.setdefault((key_a[c], slot), []).append(c)
        if not groups_a:
            return
        groups_b: dict[tuple[int, int], list[int]] = {}
        for slot, _, _, d in outputs_b:
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
            key = tuple([(slot, u) for slot, _, u, _ in self.a.preds[c]])
            sig_a[key] = _CONFLICT if key in sig_a else c
        sig_b: dict[tuple[Any, ...], int] = {}
        for d in members_b:
            inputs = self.b.preds[d]
            if any(pb[v] == -1 for _, _, v, _ in inputs):
                continue  # an unmatched input: nothing to read through the match
            key = tuple([(slot, pb[v]) for slot, _, v, _ in inputs])
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
    tables = _Tables()
    side_a = _Side(a, "a", tables)
    side_b = _Side(b, "b", tables)
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
    # The matched pairs in a's creation order, as two parallel lists.
    partners = list(map(pa.__getitem__, a.order))
    is_matched = list(map(ne, partners, repeat(-1)))
    matched_a = list(compress(a.order, is_matched))
    matched_b = list(compress(partners, is_matched))
    ids_a = a.ids
    ids_b = b.ids
    free_a, free_b = matcher.free()

    changed = []
    data_a = a.data
    data_b = b.data
    preds_a = a.preds
    preds_b = b.preds
    lost_a: list[tuple[int, int]] = []  # edges of a that b lacks, as (tail, head)
    lost_b: list[tuple[int, int]] = []
    screens_a = a.screen
    screens_b = b.screen
    for i, j in zip(matched_a, matched_b, strict=True):
        # NOTE: a quick screen first; _compare builds the exact list for the few that
        # differ.
        if screens_a[i] != screens_b[j]:
            before = data_a[i]
            after = data_b[j]
            fields = _compare(before, after, a.kind[i])
            if fields:
                changed.append(
                    NodeChange(
                        a=ids_a[i],
                        b=ids_b[j],
                        kind=b.kind[j],
                        label=str(after.get("label") or after.get("name") or ""),
                        module=after.get("module") or before.get("module"),
                        fields=fields,
                    )
                )
        # The input edges of a matched pair: equal when each comes from the partner of
        # the other's input, with the same slots.
        inputs_a = preds_a[i]
        inputs_b = preds_b[j]
        if len(inputs_a) == 1 and len(inputs_b) == 1:  # the usual case, inlined
            edge_a = inputs_a[0]
            edge_b = inputs_b[0]
            if pa[edge_a[2]] == edge_b[2] and edge_a[1] == edge_b[1]:
                continue
        if inputs_a or inputs_b:
            _lost_inputs(inputs_a, inputs_b, pa, pb, lost_a, lost_b)
    # Every input edge of an unmatched node is lost.
    for side, free, lost in ((a, free_a, lost_a), (b, free_b, lost_b)):
        preds = side.preds
        for v in free:
            lost.extend([(edge[2], v) for edge in preds[v]])

    return GraphDiff(
        a=a.graph,
        b=b.graph,
        matches=dict(
            zip(map(ids_a.__getitem__, matched_a), map(ids_b.__getitem__, matched_b), strict=True)
        ),
        added=tuple(map(ids_b.__getitem__, b.by_creation(free_b))),
        removed=tuple(map(ids_a.__getitem__, a.by_creation(free_a))),
        changed=tuple(changed),
        added_edges=_edges(b, a, pb, lost_b),
        removed_edges=_edges(a, b, pa, lost_a),
        grad_changes=_grad_changes(a, b, zip(matched_a, matched_b, strict=True), grad_top),
    )


def _lost_inputs(
    inputs_a: Sequence[_Edge],
    inputs_b: Sequence[_Edge],
    pa: list[int],
    pb: list[int],
    lost_a: list[tuple[int, int]],
    lost_b: list[tuple[int, int]],
) -> None:
    """Add the input edges of a matched pair that the other side lacks to ``lost_*``."""
    theirs = {tail: signature for _, signature, tail, _ in inputs_b}
    for _, signature, tail, head in inputs_a:
        if theirs.get(pa[tail]) != signature:  # no such input (-1: unmatched) or other slots
            lost_a.append((tail, head))
    ours = {tail: signature for _, signature, tail, _ in inputs_a}
    for _, signature, tail, head in inputs_b:
        if ours.get(pb[tail]) != signature:
            lost_b.append((tail, head))


def _edges(
    mine: _Side, other: _Side, partner: list[int], lost: list[tuple[int, int]]
) -> tuple[tuple[str, str], ...]:
    """Return ``lost`` and the saved edges that ``other`` lacks, by head then tail.

    Args:
        mine: the side the edges belong to.
        other: the other side.
        partner: ``mine``'s match (-1 where unmatched).
        lost: the data edges of ``mine`` that ``other`` lacks, as index pairs.

    Returns:
        ``(tail id, head id)`` pairs in creation order of the heads, then of the tails.
    """
    lost = list(lost)
    other_saved = other.saved_edges
    for (u, v), slot in mine.saved_edges.items():
        pu = partner[u]
        pv = partner[v]
        if pu == -1 or pv == -1 or other_saved.get((pu, pv)) != slot:
            lost.append((u, v))
    base = mine.base
    lost.sort(key=lambda edge: (base[edge[1]], edge[1], base[edge[0]], edge[0]))
    return tuple((mine.ids[u], mine.ids[v]) for u, v in lost)


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
    a: _Side, b: _Side, pairs: Iterable[tuple[int, int]], top: int
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
        entries.append((-delta, i, j, before, after))
    entries.sort(key=itemgetter(0))  # stable: the pairs come in a's creation order
    result = []
    for _, i, j, before, after in entries[:top]:
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
