"""gradviz.trace.diff: structural matching, the DynamicNet cases of issue 6, properties."""

from __future__ import annotations

import importlib
import json
import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradviz as gv
from gradviz.trace import schema
from tests.diff import dynamic
from tests.diff.builder import Builder, graphs, insert_after, relabel, sinks

differ = importlib.import_module("gradviz.trace.diff")
diff = differ.diff


def labels(g: nx.DiGraph, nodes: object) -> list[str]:
    return sorted(g.nodes[n]["label"] for n in nodes)  # type: ignore[attr-defined]


def mlp(
    depth: int = 1, width: int = 3, batch: int = 4, *, attrs: dict[str, str] | None = None
) -> nx.DiGraph:
    """A hand-built DynamicNet-like graph: `depth` middle layers sharing one weight."""
    b = Builder()
    w_in = b.leaf("input.weight", (width, 5))
    t = b.op("TBackward0", w_in, shape=(5, width), module="input")
    bias = b.leaf("input.bias", (width,))
    h = b.op("AddmmBackward0", bias, None, t, shape=(batch, width), module="input")
    h = b.op("ClampBackward1", h, shape=(batch, width), attrs=attrs or {"min": "0"})
    if depth:
        w_mid = b.leaf("middle.weight", (width, width))
        b_mid = b.leaf("middle.bias", (width,))
        for _ in range(depth):
            t = b.op("TBackward0", w_mid, shape=(width, width), module="middle")
            h = b.op("AddmmBackward0", b_mid, h, t, shape=(batch, width), module="middle")
            h = b.op("ClampBackward1", h, shape=(batch, width), attrs=attrs or {"min": "0"})
    loss = b.op("SumBackward0", h, shape=())
    return b.graph(loss, names=["loss"])


# ------------------------------------------------------------------ basic behaviour


def test_identical_graph_diff_is_empty() -> None:
    g = mlp(2)
    d = diff(g, g)
    assert d.identical
    assert d.added == d.removed == () and d.changed == ()
    assert d.added_edges == d.removed_edges == ()
    assert dict(d.matches) == {n: n for n in g}
    assert d.counts == {}
    assert d.text() == (
        "graphs are identical: 19 nodes, 20 edges\n  a: 19 nodes, 20 edges; b: 19 nodes, 20 edges\n"
    )


def test_extra_layer_is_exactly_its_nodes() -> None:
    a, b = mlp(1), mlp(2)
    d = diff(a, b)
    assert not d.identical
    assert labels(b, d.added) == ["AddmmBackward0", "ClampBackward1", "TBackward0"]
    assert d.removed == () and d.changed == ()
    assert d.counts == {
        "AddmmBackward0": {"added": 1, "removed": 0, "changed": 0},
        "ClampBackward1": {"added": 1, "removed": 0, "changed": 0},
        "TBackward0": {"added": 1, "removed": 0, "changed": 0},
    }
    # The first middle layer keeps its place: the new one is the second occurrence.
    assert [b.nodes[n]["seq"] for n in d.added] == [6, 7, 8]
    # One edge re-routed (first clamp -> sum), six new around the added layer.
    assert len(d.removed_edges) == 1 and len(d.added_edges) == 6
    shared = next(n for n in b if b.nodes[n].get("param") == "middle.weight")
    accumulate = next(iter(b.successors(shared)))
    new_t = next(n for n in d.added if b.nodes[n]["label"] == "TBackward0")
    assert (accumulate, new_t) in d.added_edges  # the reuse of the shared weight


def test_extra_layer_mirrored() -> None:
    a, b = mlp(3), mlp(1)
    d = diff(a, b)
    assert labels(a, d.removed) == sorted(["AddmmBackward0", "ClampBackward1", "TBackward0"] * 2)
    assert d.added == () and d.changed == ()


def test_shape_change_is_changed_not_added() -> None:
    d = diff(mlp(2, batch=4), mlp(2, batch=8))
    assert d.added == d.removed == () and d.added_edges == d.removed_edges == ()
    assert {c.label for c in d.changed} == {"AddmmBackward0", "ClampBackward1"}
    for change in d.changed:
        assert change.fields == (("shape", (4, 3), (8, 3)),)
    assert d.counts["ClampBackward1"] == {"added": 0, "removed": 0, "changed": 3}


def test_attribute_change_is_changed_in_place() -> None:
    d = diff(mlp(1), mlp(1, attrs={"min": "0.5"}))
    assert d.added == d.removed == () and d.added_edges == d.removed_edges == ()
    assert [c.label for c in d.changed] == ["ClampBackward1", "ClampBackward1"]
    assert d.changed[0].fields == (("attrs.min", "0", "0.5"),)


def test_dtype_device_module_name_changes() -> None:
    a = mlp(0)
    b = a.copy()
    b.graph = dict(a.graph)
    b.nodes["n5"].update(dtype="float64", device="cuda:0", module="other")
    out = b.graph["roots"][0]
    b.nodes[out]["name"] = "total"
    d = diff(a, b)
    fields = {c.b: c.fields for c in d.changed}
    assert fields["n5"] == (
        ("device", None, "cuda:0"),
        ("dtype", "float32", "float64"),
        ("module", "input", "other"),
    )
    assert fields[out] == (("name", "loss", "total"),)


def test_anonymous_leaf_shape_change_is_changed() -> None:
    def graph(shape: tuple[int, ...]) -> nx.DiGraph:
        b = Builder()
        x = b.leaf(None, shape)
        w = b.leaf("w", (3,))
        y = b.op("MulBackward0", x, w, shape=shape)
        return b.graph(b.op("SumBackward0", y, shape=()))

    d = diff(graph((3,)), graph((2, 3)))
    assert d.added == d.removed == ()
    assert sorted((c.kind, c.label) for c in d.changed) == [
        ("leaf", ""),
        ("op", "AccumulateGrad"),
        ("op", "MulBackward0"),
    ]


def test_repeated_structure_matched_occurrence_by_occurrence() -> None:
    # Two identical tanh(w) branches summed; b drops the second one.
    def graph(branches: int) -> nx.DiGraph:
        b = Builder()
        w = b.leaf("w")
        outs = [b.op("TanhBackward0", w) for _ in range(branches)]
        total = outs[0]
        for other in outs[1:]:
            total = b.op("AddBackward0", total, other)
        return b.graph(total)

    a, b = graph(3), graph(2)
    d = diff(a, b)
    assert labels(a, d.removed) == ["AddBackward0", "TanhBackward0"]
    assert d.removed == ("n4", "n6")  # the third tanh and the last add
    assert d.added == () and d.changed == ()


def test_saved_nodes_and_alias_edges() -> None:
    def graph(saved: bool, alias: bool) -> nx.DiGraph:
        b = Builder()
        w = b.leaf("w")
        y = b.op("ExpBackward0", w)
        if saved:
            b.saved(y, "result")
        if alias:
            b.saved_alias(w, y, "self")
        return b.graph(y)

    d = diff(graph(False, False), graph(True, True))
    assert [d.b.nodes[n]["kind"] for n in d.added] == ["saved"]
    roles = sorted(d.b.edges[e]["role"] for e in d.added_edges)
    assert roles == ["saved", "saved"]
    assert diff(graph(True, True), graph(True, True)).identical


def test_multi_slot_and_multi_output_edges() -> None:
    def graph(second_output: int) -> nx.DiGraph:
        b = Builder()
        w = b.leaf("w", (4,))
        parts = b.op("SplitBackward0", w, shape=None)
        y = b.op("MulBackward0", (parts, 0), (parts, second_output), shape=(2,))
        return b.graph(b.op("SumBackward0", y, shape=()))

    same = diff(graph(0), graph(0))
    assert same.identical
    d = diff(graph(0), graph(1))
    # a: one edge Split -> Mul with slots [[0,0],[1,0]]; b: slots [[0,0],[1,1]].
    assert d.removed_edges == (("n2", "n3"),) and d.added_edges == (("n2", "n3"),)
    assert d.added == d.removed == ()


def test_grad_changes_largest_first() -> None:
    def graph(scale: float) -> nx.DiGraph:
        b = Builder()
        w = b.leaf("w", grad=1.0 * scale)
        v = b.leaf("v", grad=2.0)
        y = b.op("MulBackward0", w, v, grad=3.0 * scale)
        return b.graph(b.op("SumBackward0", y, shape=(), grad=1.0), backward=True)

    d = diff(graph(1.0), graph(4.0))
    assert d.identical  # gradients are not structure
    assert [(g.label, g.before, g.after) for g in d.grad_changes] == [
        ("MulBackward0", 3.0, 12.0),
        ("leaf 'w'", 1.0, 4.0),
    ]
    assert d.grad_changes[0].delta == 9.0
    assert diff(graph(1.0), graph(4.0), grad_top=1).grad_changes[0].label == "MulBackward0"
    assert diff(graph(1.0), graph(4.0), grad_top=0).grad_changes == ()
    assert "gradient norms, largest changes:" in d.text()


def test_grad_change_to_nan_comes_first() -> None:
    def graph(w_grad: float, v_grad: float) -> nx.DiGraph:
        b = Builder()
        w = b.leaf("w", grad=w_grad)
        v = b.leaf("v", grad=v_grad)
        return b.graph(b.op("MulBackward0", w, v), backward=True)

    d = diff(graph(1.0, 1.0), graph(math.nan, 100.0))
    assert [g.label for g in d.grad_changes] == ["leaf 'w'", "leaf 'v'"]
    assert d.to_dict()["grad_changes"][0]["after"] == "nan"
    json.dumps(d.to_dict(), allow_nan=False)


def test_no_grad_changes_without_summaries() -> None:
    assert diff(mlp(1), mlp(2)).grad_changes == ()


def test_text_is_stable_and_complete() -> None:
    d = diff(mlp(1, batch=2), mlp(2, batch=3))
    text = d.text()
    assert text == d.text()
    assert text.splitlines()[0] == (
        "graphs differ: 3 added, 0 removed, 4 changed; edges: 6 added, 1 removed"
    )
    assert "  + n14 TBackward0 @middle (3, 3) float32" in text
    assert "  ~ n5 AddmmBackward0 @input: shape (2, 3) -> (3, 3)" in text
    assert "  - n13 ClampBackward1 -> n14 SumBackward0" in text
    limited = d.text(limit=1)
    assert "  ... and 2 more" in limited and "  ... and 3 more" in limited
    with pytest.raises(ValueError, match=r"limit must be None or >= 0, got -1"):
        d.text(limit=-1)


def test_to_dict_is_json() -> None:
    d = diff(mlp(1), mlp(2, batch=5))
    data = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert data["identical"] is False
    assert data["summary"] == d.summary()
    assert [e["id"] for e in data["added"]] == list(d.added)
    assert data["added"][0]["shape"] == [3, 3]
    assert data["changed"][0]["fields"]["shape"] == [[4, 3], [5, 3]]
    assert data["added_edges"] == [list(e) for e in d.added_edges]
    assert repr(d).startswith("<GraphDiff graphs differ: 3 added")


def test_loaded_shapes_as_lists_are_not_changes() -> None:
    a = mlp(1)
    b = a.copy()
    b.graph = dict(a.graph)
    for _, data in b.nodes(data=True):
        if data.get("shape") is not None:
            data["shape"] = list(data["shape"])
    assert diff(a, b).identical


def test_graph_without_seq_or_schema_attrs() -> None:
    g = nx.DiGraph()
    g.add_node("x", kind="leaf", param="w", shape=(2,))
    g.add_node("y", kind="op", name="TanhBackward0")
    g.add_edge("x", "y")
    h = g.copy()
    h.add_node("z", kind="op", name="ExpBackward0")
    h.add_edge("y", "z")
    d = diff(g, h)
    assert d.added == ("z",) and d.added_edges == (("y", "z"),)


# ------------------------------------------------------------------ errors


def test_rejects_non_graphs() -> None:
    with pytest.raises(TypeError, match=r"diff: a must be a networkx.DiGraph .* got list"):
        diff([], mlp(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"diff: b must be a networkx.DiGraph, got Graph"):
        diff(mlp(1), nx.Graph())


def test_rejects_foreign_schema_and_bad_kind() -> None:
    g = mlp(0)
    foreign = g.copy()
    foreign.graph = {"schema": "gradviz.trace/9"}
    with pytest.raises(ValueError, match=r"graph b has schema 'gradviz.trace/9'"):
        diff(g, foreign)
    bad = g.copy()
    bad.nodes["n0"]["kind"] = "tensor"
    with pytest.raises(ValueError, match=r"node 'n0' has kind 'tensor'"):
        diff(bad, g)
    bad.nodes["n0"]["kind"] = ["op"]
    with pytest.raises(ValueError, match=r"node 'n0' has kind \['op'\], expected one of"):
        diff(g, bad)


def test_rejects_cycles_and_negative_top() -> None:
    g = nx.DiGraph()
    g.add_node("p", kind="op", name="A")
    g.add_node("q", kind="op", name="B")
    g.add_edges_from([("p", "q"), ("q", "p")])
    with pytest.raises(ValueError, match=r"graph a has a cycle .* 'p', 'q'"):
        diff(g, mlp(0))
    with pytest.raises(ValueError, match=r"grad_top must be >= 0, got -1"):
        diff(mlp(0), mlp(0), grad_top=-1)


def test_diff_does_not_modify_graphs() -> None:
    a, b = mlp(1), mlp(2)
    before = (nx.node_link_data(a, edges="links"), nx.node_link_data(b, edges="links"))
    diff(a, b)
    assert (nx.node_link_data(a, edges="links"), nx.node_link_data(b, edges="links")) == before


# ------------------------------------------------------------------ DynamicNet (issue 6)


@pytest.fixture(scope="module")
def dynamic_run() -> tuple[list[nx.DiGraph], list[int]]:
    rec, depths = dynamic.train(10, seed=3)
    return rec.graphs, depths


def test_dynamic_net_uses_several_depths(dynamic_run: tuple[list[nx.DiGraph], list[int]]) -> None:
    _, depths = dynamic_run
    assert len(set(depths)) >= 3  # the seed gives a varied run, so the tests below bite


def test_dynamic_net_same_depth_identical(dynamic_run: tuple[list[nx.DiGraph], list[int]]) -> None:
    graphs_, depths = dynamic_run
    pairs = 0
    for i in range(len(depths)):
        for j in range(i + 1, len(depths)):
            d = diff(graphs_[i], graphs_[j])
            assert d.identical == (depths[i] == depths[j]), (i, j, depths, d.text())
            pairs += depths[i] == depths[j]
    assert pairs >= 3


def test_dynamic_net_extra_layer_adds_one_layer(
    dynamic_run: tuple[list[nx.DiGraph], list[int]],
) -> None:
    graphs_, depths = dynamic_run
    checked = 0
    for i, depth in enumerate(depths):
        for j, other in enumerate(depths):
            if other != depth + 1 or depth == 0:
                continue
            a, b = graphs_[i], graphs_[j]
            d = diff(a, b)
            assert labels(b, d.added) == ["AddmmBackward0", "ClampBackward1", "TBackward0"]
            # The clamp runs in DynamicNet.forward itself: the root module, path "".
            assert {b.nodes[n]["module"] for n in d.added} == {"middle_linear", ""}
            assert d.removed == () and d.changed == ()
            assert len(d.removed_edges) == 1 and len(d.added_edges) == 6
            sources = {b.nodes[u]["label"] for u, _ in d.added_edges}
            assert "AccumulateGrad" in sources  # the shared weights are reused, not new
            mirror = diff(b, a)
            assert mirror.removed == d.added and mirror.added == ()
            checked += 1
    assert checked


def test_dynamic_net_first_middle_layer_brings_its_parameters() -> None:
    rec, _ = dynamic.train(2, depths=[0, 1])
    d = rec.diff(0, 1)
    b = rec.graphs[1]
    assert sorted(b.nodes[n].get("param") or b.nodes[n]["label"] for n in d.added) == [
        "AccumulateGrad",
        "AccumulateGrad",
        "AddmmBackward0",
        "ClampBackward1",
        "TBackward0",
        "middle_linear.bias",
        "middle_linear.weight",
    ]
    assert d.removed == () and d.changed == ()


def test_dynamic_net_detached_branch_is_removed() -> None:
    rec, _ = dynamic.train(3, depths=[1, 1, 1], aux=["on", "detached", "on"])
    d = rec.diff(0, 1)
    assert labels(rec.graphs[0], d.removed) == ["MulBackward0", "PowBackward0", "SumBackward0"]
    assert d.added == () and d.changed == () and d.added_edges == ()
    assert len(d.removed_edges) == 4
    assert rec.diff(0, 2).identical
    assert rec.diff(1, 2).added == d.removed


def test_dynamic_net_batch_size_changes_shapes_only() -> None:
    rec, _ = dynamic.train(2, depths=[2, 2], batches=[16, 32])
    d = rec.diff(0, 1)
    assert d.added == d.removed == () and d.added_edges == d.removed_edges == ()
    assert d.changed
    assert {name for c in d.changed for name, _, _ in c.fields} == {"shape"}
    assert {c.label for c in d.changed} == {"AddmmBackward0", "ClampBackward1"}
    for change in d.changed:
        (_, before, after) = change.fields[0]
        assert (before[0], after[0]) == (16, 32) and before[1:] == after[1:]


def test_recorder_diff_and_trace_file_round_trip(tmp_path: object) -> None:
    rec, depths = dynamic.train(4, depths=[1, 2, 1, 3])
    path = gv.trace.save(rec.graphs, tmp_path / "dyn.gvz")  # type: ignore[operator]
    loaded = gv.trace.load(path)
    for i, j in ((0, 1), (0, 2), (1, 3)):
        direct = diff(rec.graphs[i], rec.graphs[j])
        assert rec.diff(i, j).text() == direct.text()
        assert diff(loaded[i], loaded[j]).text() == direct.text()
    assert gv.trace.diff(rec.graphs[0], rec.graphs[2]).identical


def test_capture_and_record_agree() -> None:
    model, loss_fn, _ = dynamic.make(1)
    graphs_ = []
    for depth in (1, 2):
        model.depth = depth
        x = gv.randn(4, dynamic.D_IN)
        graphs_.append(gv.trace.capture(loss_fn(model(x), gv.zeros(4, dynamic.D_OUT))))
    d = diff(*graphs_)
    assert labels(graphs_[1], d.added) == ["AddmmBackward0", "ClampBackward1", "TBackward0"]


# ------------------------------------------------------------------ properties


def mapped(d: object, ma: dict[str, str], mb: dict[str, str]) -> dict[str, object]:
    """The diff's content with ids of a mapped through ma and ids of b through mb."""
    return {
        "matches": {ma[x]: mb[y] for x, y in d.matches.items()},  # type: ignore[attr-defined]
        "added": [mb[x] for x in d.added],  # type: ignore[attr-defined]
        "removed": [ma[x] for x in d.removed],  # type: ignore[attr-defined]
        "changed": [(ma[c.a], mb[c.b], c.fields) for c in d.changed],  # type: ignore[attr-defined]
        "added_edges": sorted((mb[u], mb[v]) for u, v in d.added_edges),  # type: ignore[attr-defined]
        "removed_edges": sorted((ma[u], ma[v]) for u, v in d.removed_edges),  # type: ignore[attr-defined]
    }


def identity(g: nx.DiGraph) -> dict[str, str]:
    return {n: n for n in g}


def assert_mirror(ab: object, ba: object) -> None:
    assert ab.added == ba.removed  # type: ignore[attr-defined]
    assert ab.removed == ba.added  # type: ignore[attr-defined]
    assert ab.added_edges == ba.removed_edges  # type: ignore[attr-defined]
    assert ab.removed_edges == ba.added_edges  # type: ignore[attr-defined]
    assert {y: x for x, y in ab.matches.items()} == dict(ba.matches)  # type: ignore[attr-defined]
    flipped = {(c.b, c.a, tuple((f, new, old) for f, old, new in c.fields)) for c in ab.changed}  # type: ignore[attr-defined]
    assert flipped == {(c.a, c.b, c.fields) for c in ba.changed}  # type: ignore[attr-defined]
    assert ab.identical == ba.identical  # type: ignore[attr-defined]


@given(graphs())
def test_property_self_diff_is_identical(g: nx.DiGraph) -> None:
    schema.validate(g)
    d = diff(g, g)
    assert d.identical
    assert dict(d.matches) == identity(g)
    copy = nx.relabel_nodes(g, {}, copy=True)
    assert diff(g, copy).identical


@given(graphs(), graphs())
def test_property_diff_is_mirrored(a: nx.DiGraph, b: nx.DiGraph) -> None:
    ab, ba = diff(a, b), diff(b, a)
    assert_mirror(ab, ba)
    # Every node is accounted for exactly once.
    assert len(ab.matches) + len(ab.removed) == a.number_of_nodes()
    assert len(ab.matches) + len(ab.added) == b.number_of_nodes()


@given(graphs(), graphs(), st.integers(0, 2**16), st.integers(0, 2**16))
def test_property_relabelling_ids_changes_nothing(
    a: nx.DiGraph, b: nx.DiGraph, seed_a: int, seed_b: int
) -> None:
    ra, ma = relabel(a, seed_a)
    rb, mb = relabel(b, seed_b)
    assert mapped(diff(a, b), ma, mb) == mapped(diff(ra, rb), identity(ra), identity(rb))


@given(graphs(max_ops=8), st.data())
def test_property_inserted_op_is_the_only_addition(g: nx.DiGraph, data: st.DataObject) -> None:
    feeds = sorted((n for n, d in g.nodes(data=True) if d["kind"] == "op"), key=schema.id_number)
    node = data.draw(st.sampled_from(feeds))
    h, new = insert_after(g, node)
    d = diff(g, h)
    assert d.added == (new,)
    assert d.removed == () and d.changed == ()
    assert_mirror(d, diff(h, g))


@given(graphs(max_ops=8), st.data())
@settings(deadline=None)
def test_property_shape_change_is_one_change(g: nx.DiGraph, data: st.DataObject) -> None:
    ops = sorted(
        (n for n, d in g.nodes(data=True) if d["kind"] == "op" and d["label"] != "AccumulateGrad"),
        key=schema.id_number,
    )
    if not ops:
        return
    node = data.draw(st.sampled_from(ops))
    h = g.copy()
    h.graph = dict(g.graph)
    h.nodes[node]["shape"] = (7, 7)
    d = diff(g, h)
    assert [(c.a, c.b) for c in d.changed] == [(node, node)]
    assert d.added == d.removed == () and d.added_edges == d.removed_edges == ()


def test_builder_graphs_follow_the_schema() -> None:
    for g in (mlp(0), mlp(3), insert_after(mlp(1), "n5")[0]):
        schema.validate(g)
    assert sinks(mlp(1)) == []  # every op feeds the output
