"""Hand-built trace graphs for the differ's tests, and hypothesis strategies for them.

:class:`Builder` writes graphs in the ``gradviz.trace/1`` schema the way the tracer does:
ids ``n0, n1, ...`` in creation order, a leaf right after its ``AccumulateGrad``, ops with
a ``seq`` in creation order, outputs last. :func:`graphs` draws random graphs with few
op names, shapes and parameter names, so that repeated structure and near-misses are
common; :func:`mutations` derives a second graph from one by a small edit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import networkx as nx
from hypothesis import strategies as st

from gradviz.trace import schema

ACCUMULATE = "AccumulateGrad"
ACCUMULATE_SEQ = schema.ACCUMULATE_GRAD_SEQ
OPS = ("AddBackward0", "MulBackward0", "TanhBackward0")
SHAPES = ((2,), (3,), (2, 3))
ATTRS = ({}, {"dim": "0"}, {"dim": "1"})


def summary(norm: float, shape: tuple[int, ...] = (3,)) -> dict[str, Any]:
    """Return a gradient summary dict with the given norm."""
    return {
        "shape": shape,
        "dtype": "float32",
        "device": "cpu",
        "norm": float(norm),
        "min": -1.0,
        "max": 1.0,
        "mean": 0.0,
        "nan": 0,
        "inf": 0,
    }


class Builder:
    """Build a trace graph node by node.

    Inputs of :meth:`op` are node ids, ``(node id, output_nr)`` pairs, or None for an
    input that needs no gradient.
    """

    def __init__(self) -> None:
        self.nodes: list[tuple[str, dict[str, Any]]] = []
        self.edges: dict[tuple[str, str], dict[str, Any]] = {}
        self.seq = 0

    def _add(self, data: dict[str, Any]) -> str:
        node = schema.node_id(len(self.nodes))
        self.nodes.append((node, data))
        return node

    def leaf(
        self,
        param: str | None = None,
        shape: tuple[int, ...] = (3,),
        *,
        dtype: str = "float32",
        grad: float | None = None,
    ) -> str:
        """Add a leaf and its AccumulateGrad; return the AccumulateGrad's id."""
        accumulate = self._add(
            schema.op_node(
                ACCUMULATE, schema.ACCUMULATE_GRAD_SEQ, shape=shape, dtype=dtype, device="cpu"
            )
        )
        data = schema.leaf_node(param or "", param=param, shape=shape, dtype=dtype, device="cpu")
        if grad is not None:
            data["grad"] = summary(grad, shape)
        leaf = self._add(data)
        self.edges[leaf, accumulate] = schema.data_edge([[0, 0]])
        return accumulate

    def op(
        self,
        name: str,
        *inputs: str | tuple[str, int] | None,
        shape: tuple[int, ...] | None = (3,),
        dtype: str = "float32",
        attrs: dict[str, str] | None = None,
        module: str | None = None,
        seq: float | None = None,
        grad: float | None = None,
    ) -> str:
        """Add an op fed by ``inputs`` (slot by slot); return its id."""
        node = self._add(
            schema.op_node(
                name,
                self.seq if seq is None else seq,  # type: ignore[arg-type]
                attrs=attrs,
                n_inputs=len(inputs),
                shape=shape,
                dtype=dtype,
                module=module,
            )
        )
        if grad is not None:
            self.nodes[-1][1]["grad_in"] = [summary(grad, shape or ())]
        self.seq += 1
        for slot, source in enumerate(inputs):
            if source is None:
                continue
            producer, output_nr = (source, 0) if isinstance(source, str) else source
            edge = self.edges.setdefault((producer, node), schema.data_edge([]))
            edge["slots"] = sorted([*edge["slots"], [slot, output_nr]])
        return node

    def saved_alias(self, leaf_accumulate: str, op: str, slot: str) -> None:
        """Add a saved edge from the leaf behind ``leaf_accumulate`` to ``op``."""
        leaf = schema.node_id(schema.id_number(leaf_accumulate) + 1)
        self.edges[leaf, op] = schema.saved_edge(slot)

    def saved(self, op: str, slot: str, shape: tuple[int, ...] = (3,)) -> str:
        """Add a saved-tensor node for ``op``'s ``slot``; return its id."""
        node = self._add(schema.saved_node(slot, shape=shape, dtype="float32", device="cpu"))
        self.edges[node, op] = schema.saved_edge(slot)
        return node

    def graph(self, *roots: str, names: Sequence[str] = (), backward: bool = False) -> nx.DiGraph:
        """Add one output per root (in order) and return the graph."""
        outputs = []
        for k, root in enumerate(roots):
            data = dict(self.nodes[schema.id_number(root)][1])
            name = names[k] if k < len(names) else ""
            out = self._add(
                schema.output_node(
                    name, grad_fn=root, shape=data.get("shape"), dtype="float32", device="cpu"
                )
            )
            self.edges[root, out] = schema.data_edge([[0, 0]])
            outputs.append(out)
        g = schema.new_graph(outputs, schema.producer("capture"))
        if backward:
            g.graph["backward"] = {
                "order": [],
                "seconds": 0.0,
                "retain_graph": False,
                "create_graph": False,
                "completed": True,
            }
        g.add_nodes_from(self.nodes)
        g.add_edges_from((u, v, d) for (u, v), d in self.edges.items())
        return g


def sinks(g: nx.DiGraph) -> list[str]:
    """Return the op nodes nothing consumes, in id order."""
    return sorted(
        (n for n, d in g.nodes(data=True) if d["kind"] == "op" and g.out_degree(n) == 0),
        key=schema.id_number,
    )


@st.composite
def builders(draw: st.DrawFn, max_ops: int = 10) -> Builder:
    """Draw a Builder holding a random DAG (leaves and ops, no outputs yet)."""
    b = Builder()
    feeds = []
    for k in range(draw(st.integers(1, 3))):
        named = draw(st.booleans())
        feeds.append(b.leaf(f"p{k}" if named else None, draw(st.sampled_from(SHAPES))))
    for _ in range(draw(st.integers(0, max_ops))):
        name = draw(st.sampled_from(OPS))
        arity = 1 if name == "TanhBackward0" else 2
        inputs = [draw(st.sampled_from(feeds)) for _ in range(arity)]
        feeds.append(
            b.op(
                name,
                *inputs,
                shape=draw(st.sampled_from(SHAPES)),
                attrs=draw(st.sampled_from(ATTRS)),
            )
        )
    return b


def finish(b: Builder) -> nx.DiGraph:
    """Give every sink op of the builder's graph an output and return the graph."""
    draft = b.graph()
    return b.graph(*sinks(draft))


@st.composite
def graphs(draw: st.DrawFn, max_ops: int = 10) -> nx.DiGraph:
    """Draw a random trace graph: every op without a consumer is an output."""
    return finish(draw(builders(max_ops)))


def relabel(g: nx.DiGraph, seed: int) -> tuple[nx.DiGraph, dict[str, str]]:
    """Return a copy of ``g`` with its node ids permuted, and the map old id -> new id."""
    ids = list(g)
    shuffled = ids[:]
    random.Random(seed).shuffle(shuffled)
    mapping = dict(zip(ids, shuffled, strict=True))
    h = nx.relabel_nodes(g, mapping, copy=True)
    h.graph = dict(g.graph)
    h.graph["roots"] = [mapping[r] for r in g.graph["roots"]]
    for _, data in h.nodes(data=True):
        if data.get("grad_fn") is not None:
            data["grad_fn"] = mapping[data["grad_fn"]]
    return h, mapping


def insert_after(
    g: nx.DiGraph, node: str, name: str = "InsertedBackward0"
) -> tuple[nx.DiGraph, str]:
    """Return a copy of ``g`` with a new unary op between ``node`` and all its consumers."""
    h = g.copy()
    h.graph = dict(g.graph)
    new = schema.node_id(max(schema.id_number(n) for n in g) + 1)
    h.add_node(new, **schema.op_node(name, 0, n_inputs=1, shape=g.nodes[node]["shape"]))
    # Creation order: right after `node`, or (after an AccumulateGrad) right before the
    # first op it feeds; every op's seq is renumbered 0, 1, ... around the new one.
    ops = sorted(
        (n for n, d in g.nodes(data=True) if d["kind"] == "op" and d["seq"] < ACCUMULATE_SEQ),
        key=lambda n: g.nodes[n]["seq"],
    )
    if node in ops:
        position = ops.index(node) + 1
    else:
        fed = [ops.index(c) for c in g.successors(node) if c in ops]
        position = min(fed) if fed else len(ops)
    ops.insert(position, new)
    for seq, op in enumerate(ops):
        h.nodes[op]["seq"] = seq
    for consumer in list(g.successors(node)):
        data = dict(g.edges[node, consumer])
        if data.get("role") == "saved":
            continue
        h.remove_edge(node, consumer)
        h.add_edge(new, consumer, **data)
        if h.nodes[consumer].get("grad_fn") == node:
            h.nodes[consumer]["grad_fn"] = new
    h.add_edge(node, new, **schema.data_edge([[0, 0]]))
    return h, new
