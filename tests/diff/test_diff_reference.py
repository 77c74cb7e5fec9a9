"""gradviz.trace.diff against a plain reference of the same algorithm, on random graphs.

The differ builds its index in a few fused passes and inlines the common cases of the
matcher; ``tests/diff/reference.py`` is the same algorithm written step by step. Both
must give the same diff: the same matches in the same order, the same added, removed and
changed nodes, edges and gradient changes, and the same text.
"""

from __future__ import annotations

import importlib
import random
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.diff.builder import OPS, SHAPES, Builder, builders, finish, graphs, insert_after, relabel
from tests.diff.reference import reference_diff

differ = importlib.import_module("gradviz.trace.diff")


def content(d: Any) -> dict[str, Any]:
    """Everything a diff reports, with the order of every sequence."""
    return {
        "matches": list(d.matches.items()),
        "added": d.added,
        "removed": d.removed,
        "changed": d.changed,
        "added_edges": d.added_edges,
        "removed_edges": d.removed_edges,
        "grad_changes": d.grad_changes,
        "text": d.text(),
    }


def assert_same(a: nx.DiGraph, b: nx.DiGraph) -> None:
    """Assert that diff(a, b) is the reference's, or that both raise the same error."""
    try:
        expected = reference_diff(a, b)
    except (TypeError, ValueError) as error:
        with pytest.raises(type(error)) as raised:
            differ.diff(a, b)
        assert str(raised.value) == str(error)
        return
    assert content(differ.diff(a, b)) == content(expected)


def reordered(g: nx.DiGraph, seed: int) -> nx.DiGraph:
    """The same graph (same ids) with nodes and edges inserted in a random order."""
    rng = random.Random(seed)
    nodes = list(g.nodes(data=True))
    edges = list(g.edges(data=True))
    rng.shuffle(nodes)
    rng.shuffle(edges)
    h = nx.DiGraph()
    h.graph = dict(g.graph)
    h.add_nodes_from(nodes)
    h.add_edges_from(edges)
    return h


@st.composite
def rich_graphs(draw: st.DrawFn, max_ops: int = 10) -> nx.DiGraph:
    """Graphs with saved tensors, leaf aliases, gradient summaries and multi-slot edges."""
    b = Builder()
    feeds: list[str] = []
    for k in range(draw(st.integers(1, 3))):
        named = draw(st.booleans())
        grad = draw(st.sampled_from([None, 1.0, 2.0, 3.5]))
        feeds.append(b.leaf(f"p{k}" if named else None, draw(st.sampled_from(SHAPES)), grad=grad))
    ops: list[str] = []
    for _ in range(draw(st.integers(0, max_ops))):
        name = draw(st.sampled_from(OPS))
        arity = 1 if name == "TanhBackward0" else 2
        inputs = [draw(st.sampled_from(feeds)) for _ in range(arity)]
        grad = draw(st.sampled_from([None, 0.5, 1.0, 4.0]))
        op = b.op(name, *inputs, shape=draw(st.sampled_from(SHAPES)), grad=grad)
        feeds.append(op)
        ops.append(op)
    for _ in range(draw(st.integers(0, 2))):
        if ops:
            b.saved(draw(st.sampled_from(ops)), draw(st.sampled_from(["self", "other"])))
    accumulates = [n for n, d in b.nodes if d["label"] == "AccumulateGrad"]
    alias: bool = draw(st.booleans())
    if ops and alias:
        op = draw(st.sampled_from(ops))
        accumulate = draw(st.sampled_from(accumulates))
        if (accumulate, op) not in b.edges:
            b.saved_alias(accumulate, op, "self")
    draft = b.graph()
    sinks = [n for n, d in draft.nodes(data=True) if d["kind"] == "op" and not draft.out_degree(n)]
    return b.graph(*sinks, backward=draw(st.booleans()))


@st.composite
def edited(draw: st.DrawFn) -> tuple[nx.DiGraph, nx.DiGraph]:
    """A graph and a copy with a few edits of attributes, nodes and edges."""
    g = draw(graphs())
    h = g.copy()
    h.graph = dict(g.graph)
    for _ in range(draw(st.integers(1, 4))):
        node = draw(st.sampled_from(sorted(h)))
        data = h.nodes[node]
        what = draw(st.sampled_from(["shape", "dtype", "attrs", "name", "seq", "remove", "edge"]))
        if what == "shape":
            data["shape"] = draw(st.sampled_from([(7, 7), [2, 3], None]))
        elif what == "dtype":
            data["dtype"] = "float64"
        elif what == "attrs" and data["kind"] == "op":
            data["attrs"] = {"dim": draw(st.sampled_from(["0", "2"]))}
        elif what == "name":
            data["name"] = draw(st.sampled_from(["p0", "x", "AddBackward0"]))
        elif what == "seq" and data["kind"] == "op":
            data["seq"] = draw(st.sampled_from([None, 2.5, True, 2**64 - 1, -3]))
        elif what == "remove" and len(h) > 2:
            h.remove_node(node)
            h.graph["roots"] = [r for r in h.graph["roots"] if r in h]
        elif what == "edge":
            other = draw(st.sampled_from(sorted(h)))
            if other != node and not h.has_edge(node, other) and not nx.has_path(h, other, node):
                slots = draw(st.sampled_from([[[1, 0]], [[0, 0], [1, 0]], [], [[0, 1]]]))
                h.add_edge(node, other, role="data", slots=slots)
    return g, h


@given(graphs(), graphs())
@settings(deadline=None)
def test_random_pairs_match_the_reference(a: nx.DiGraph, b: nx.DiGraph) -> None:
    assert_same(a, b)
    assert_same(b, a)
    assert_same(a, a)


@given(graphs(max_ops=12), st.data())
@settings(deadline=None)
def test_inserted_op_matches_the_reference(g: nx.DiGraph, data: st.DataObject) -> None:
    ops = sorted(n for n, d in g.nodes(data=True) if d["kind"] == "op")
    h, _ = insert_after(g, data.draw(st.sampled_from(ops)))
    assert_same(g, h)
    assert_same(h, g)


@given(graphs(), graphs(), st.integers(0, 2**16), st.integers(0, 2**16))
@settings(deadline=None)
def test_any_insertion_order_matches_the_reference(
    a: nx.DiGraph, b: nx.DiGraph, seed_a: int, seed_b: int
) -> None:
    # Not in creation order: the differ's fast identity pass must notice and fall back.
    assert_same(reordered(a, seed_a), reordered(b, seed_b))
    assert_same(relabel(a, seed_a)[0], reordered(a, seed_b))


@given(rich_graphs(), rich_graphs(), st.integers(0, 2**16))
@settings(deadline=None)
def test_saved_tensors_and_gradients_match_the_reference(
    a: nx.DiGraph, b: nx.DiGraph, seed: int
) -> None:
    assert_same(a, b)
    assert_same(a, a)
    assert_same(reordered(a, seed), b)


@given(edited())
@settings(deadline=None)
def test_edited_graphs_match_the_reference(pair: tuple[nx.DiGraph, nx.DiGraph]) -> None:
    g, h = pair
    assert_same(g, h)
    assert_same(h, g)


def test_repeated_structure_matches_the_reference() -> None:
    # Twins everywhere: three identical branches over one shared leaf, twice.
    graphs_ = []
    for branches in (3, 4):
        b = Builder()
        w = b.leaf("w")
        tops = [b.op("TanhBackward0", b.op("MulBackward0", w, w)) for _ in range(branches)]
        total = tops[0]
        for top in tops[1:]:
            total = b.op("AddBackward0", total, top)
        graphs_.append(b.graph(total))
    assert_same(graphs_[0], graphs_[1])
    assert_same(graphs_[1], graphs_[0])
    assert_same(reordered(graphs_[1], 7), graphs_[0])


def test_errors_match_the_reference() -> None:
    g = finish(Builder())
    cyclic = nx.DiGraph(schema="gradviz.trace/1", roots=[])
    cyclic.add_node("x", kind="op", label="A", name="A", seq=0)
    cyclic.add_node("y", kind="op", label="B", name="B", seq=1)
    cyclic.add_edge("x", "y", role="data", slots=[[0, 0]])
    cyclic.add_edge("y", "x", role="data", slots=[[0, 0]])
    assert_same(g, cyclic)
    bad = nx.DiGraph()
    bad.add_node("x", kind="tensor")
    bad.add_node("y", kind=None)
    assert_same(bad, g)


def test_reference_finds_differences() -> None:
    # The comparison can fail: an extra op is an addition for both.
    g = finish(Builder())
    b = Builder()
    b.op("TanhBackward0", b.leaf("p0"))
    h = finish(b)
    d = reference_diff(g, h)
    assert not d.identical
    assert content(differ.diff(g, h)) == content(d)


@given(builders(max_ops=6))
@settings(deadline=None)
def test_builders_match_the_reference(b: Builder) -> None:
    assert_same(finish(b), b.graph())
