"""The Graphviz renderer on hand-built schema graphs: look, options, files, errors."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradviz.errors import RenderError
from gradviz.renderers import graphviz as gvr
from gradviz.trace import schema
from tests.helpers.golden import assert_golden
from tests.render import dotparse
from tests.render.graphs import (
    Builder,
    chain_graph,
    mlp_graph,
    seed_graph,
    summary,
    tutorial_graph,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed"
)


def parse(graph: nx.DiGraph, **options: object) -> dotparse.Dot:
    return dotparse.parse(gvr.render_dot(graph, **options))


# -- golden DOT ------------------------------------------------------------------------------


def test_seed_dot_matches_golden() -> None:
    assert_golden("render/seed_handbuilt.dot", gvr.render_dot(seed_graph()))


def test_tutorial_with_saved_and_attrs_matches_golden() -> None:
    text = gvr.render_dot(tutorial_graph(), show_saved=True, show_attrs=True)
    assert_golden("render/tutorial_saved_attrs_handbuilt.dot", text)


def test_mlp_clusters_match_golden() -> None:
    assert_golden("render/mlp_clusters_handbuilt.dot", gvr.render_dot(mlp_graph()))


# -- determinism ---------------------------------------------------------------------------


def _shuffled_copy(graph: nx.DiGraph, seed: int) -> nx.DiGraph:
    rng = random.Random(seed)
    nodes = list(graph.nodes(data=True))
    edges = list(graph.edges(data=True))
    rng.shuffle(nodes)
    rng.shuffle(edges)
    copy = nx.DiGraph()
    copy.graph.update(graph.graph)
    copy.add_nodes_from(nodes)
    copy.add_edges_from(edges)
    return copy


@pytest.mark.parametrize("make", [seed_graph, tutorial_graph, mlp_graph])
def test_dot_does_not_depend_on_insertion_order(make) -> None:
    graph = make()
    expected = gvr.render_dot(graph, show_saved=True, show_attrs=True)
    for seed in range(3):
        shuffled = _shuffled_copy(graph, seed)
        assert gvr.render_dot(shuffled, show_saved=True, show_attrs=True) == expected


def test_renderer_does_not_change_the_graph() -> None:
    graph = mlp_graph()
    before = graph.copy()
    gvr.render_dot(graph, show_saved=True, show_attrs=True, max_depth=0, legend=True)
    gvr.to_json(graph)
    assert schema.graphs_equal(graph, before)


# -- torchviz's look -------------------------------------------------------------------------


def test_node_defaults_are_torchviz_node_attrs() -> None:
    dot = parse(seed_graph())
    assert dot.node_defaults == {
        "style": "filled",
        "shape": "box",
        "align": "left",
        "fontsize": "10",
        "ranksep": "0.1",
        "height": "0.2",
        "fontname": "monospace",
    }
    assert dot.graph_attrs == {"size": "12,12"}
    assert "rankdir" not in dot.graph_attrs  # top to bottom, Graphviz's default


def test_colours_and_labels_of_each_kind() -> None:
    dot = parse(seed_graph())
    assert dot.nodes["n1"] == {"label": "w\n(1)", "fillcolor": "lightblue"}
    assert dot.nodes["n0"] == {"label": "AccumulateGrad"}  # grey: the default fill
    assert dot.nodes["n4"] == {"label": "MulBackward0"}
    assert dot.nodes["n8"] == {"label": "\n(1)", "fillcolor": "darkolivegreen1"}
    # Edges in (target, input slot) order.
    assert [(a, b) for a, b, _ in dot.edges] == [
        ("n1", "n0"),
        ("n3", "n2"),
        ("n0", "n4"),
        ("n2", "n4"),
        ("n6", "n5"),
        ("n4", "n7"),
        ("n5", "n7"),
        ("n7", "n8"),
    ]


def test_shapes_print_as_torchviz_prints_them() -> None:
    dot = parse(tutorial_graph())
    assert dot.nodes["n1"]["label"] == "x\n(2, 2)"
    assert dot.nodes["n8"]["label"] == "\n()"


def test_dtype_and_device_shown_only_when_not_default() -> None:
    b = Builder()
    x = b.param("x", (3,), param="x", dtype="float64", device="cuda:0")
    y = b.param("y", (3,), param="y")
    add = b.op("AddBackward0", [x, y], (3,))
    b.output(add, (3,))
    dot = parse(b.done())
    assert dot.nodes["n1"]["label"] == "x\n(3)\nfloat64 cuda:0"
    assert dot.nodes["n3"]["label"] == "y\n(3)"


def test_a_node_used_twice_by_one_op_gets_two_edges() -> None:
    dot = parse(tutorial_graph())
    assert [(a, b) for a, b, _ in dot.edges].count(("n2", "n3")) == 2


# -- show_attrs / show_saved -----------------------------------------------------------------


def test_show_attrs_lays_out_a_torchviz_table() -> None:
    b = Builder()
    x = b.param("x", (2, 3), param="x")
    s = b.op("SumBackward1", [x], (2,), attrs={"keepdim": "False", "dim": "1"})
    b.output(s, (2,))
    graph = b.done()
    label = parse(graph, show_attrs=True).nodes["n2"]["label"]
    assert label == "SumBackward1\n--------------\ndim    :     1\nkeepdim: False"
    assert parse(graph).nodes["n2"]["label"] == "SumBackward1"


def test_show_attrs_truncates_long_values() -> None:
    b = Builder()
    x = b.param("x", (2,), param="x")
    op = b.op("ViewBackward0", [x], (2,), attrs={"self_sym_sizes": "(2, 1, 1, 1, 1)"})
    b.output(op, (2,))
    label = parse(b.done(), show_attrs=True, max_attr_chars=8).nodes["n2"]["label"]
    assert label.splitlines()[-1] == "self_sym_sizes: (2, 1..."


def test_saved_leaves_are_dashed_edges_not_merged_nodes() -> None:
    graph = seed_graph()
    assert all(d.get("style") != "dashed" for _, _, d in parse(graph).edges)
    dot = parse(graph, show_saved=True)
    saved = [(a, b, d) for a, b, d in dot.edges if d.get("style") == "dashed"]
    assert saved == [
        ("n1", "n4", {"label": "self", "dir": "none", "fontsize": "8", "style": "dashed"}),
        ("n3", "n4", {"label": "other", "dir": "none", "fontsize": "8", "style": "dashed"}),
    ]
    # w is drawn once, still as a light-blue leaf (torchviz redraws it orange).
    assert [n for n, d in dot.nodes.items() if d.get("label", "").startswith("w")] == ["n1"]
    assert dot.nodes["n1"]["fillcolor"] == "lightblue"


def test_saved_tensors_are_orange_boxes() -> None:
    dot = parse(tutorial_graph(), show_saved=True)
    assert dot.nodes["n4"] == {"label": "self\n(2, 2)", "fillcolor": "orange"}
    assert dot.nodes["n5"] == {"label": "other\n(2, 2)", "fillcolor": "orange"}
    assert ("n4", "n3", {"dir": "none", "style": "dashed"}) in dot.edges
    assert "n4" not in parse(tutorial_graph()).nodes


def test_saved_entries_in_the_attribute_table() -> None:
    label = parse(seed_graph(), show_attrs=True).nodes["n4"]["label"]
    assert label.splitlines()[2:] == ["other: leaf x", "self : leaf w"]


def test_freed_saved_tensors_read_freed() -> None:
    b = Builder()
    x = b.param("x", (3,), param="x")
    exp = b.op("ExpBackward0", [x], (3,))
    b.graph.nodes[exp]["saved_freed"] = True
    b.output(exp, (3,))
    graph = b.done()
    assert parse(graph, show_attrs=True).nodes[exp]["label"].splitlines()[-1] == "saved: freed"
    assert parse(graph, show_saved=True).nodes[exp]["label"] == "ExpBackward0\nsaved: freed"
    assert parse(graph).nodes[exp]["label"] == "ExpBackward0"


def _graph_with_input() -> tuple[nx.DiGraph, str]:
    """``w * x`` where ``x`` needs no gradient: an input node feeding slot 1."""
    b = Builder()
    w = b.param("w", (3,), param="w")
    op = b.op("MulBackward0", [w, None], (3,))
    b.output(op, (3,))
    x = "n5"
    b.graph.add_node(
        x,
        **schema.leaf_node(
            "x", param="x", requires_grad=False, shape=(3,), dtype="float32", device="cpu"
        ),
    )
    b.graph.add_edge(x, op, **schema.data_edge([[1, 0]]))
    return b.done(), x


def test_inputs_without_grad_hidden_unless_asked() -> None:
    graph, x = _graph_with_input()
    hidden = parse(graph)
    assert x not in hidden.nodes and all(x not in (a, b) for a, b, _ in hidden.edges)
    shown = parse(graph, show_inputs=True)
    assert shown.nodes[x] == {"label": "x\n(3)", "fillcolor": "white"}
    assert (x, "n2", {}) in shown.edges


def test_legend_explains_inputs_when_they_are_shown() -> None:
    graph, _ = _graph_with_input()
    assert "legend_input" not in parse(graph, legend=True).nodes
    legend = parse(graph, legend=True, show_inputs=True).nodes["legend_input"]
    assert legend == {"label": "input tensor\n(no grad)", "fillcolor": "white"}


# -- modules -------------------------------------------------------------------------------


def test_modules_are_nested_clusters_labelled_by_path() -> None:
    dot = parse(mlp_graph())
    assert {name: attrs["label"] for name, attrs in dot.clusters.items()} == {
        "cluster_layers": "layers",
        "cluster_layers.0": "layers.0",
        "cluster_layers.1": "layers.1",
        "cluster_layers.2": "layers.2",
    }
    assert dot.parent == {
        "cluster_layers": None,
        "cluster_layers.0": "cluster_layers",
        "cluster_layers.1": "cluster_layers",
        "cluster_layers.2": "cluster_layers",
    }
    # Parameters and their AccumulateGrad sit in their layer; the loss is outside.
    assert dot.member["n1"] == "cluster_layers.0"  # layers.0.weight
    assert dot.member["n0"] == "cluster_layers.0"  # its AccumulateGrad
    assert dot.member["n6"] == "cluster_layers.1"  # ReluBackward0
    assert dot.member["n13"] is None and dot.member["n14"] is None


def test_clusters_can_be_switched_off() -> None:
    dot = parse(mlp_graph(), clusters=False)
    assert dot.clusters == {}
    assert len(dot.nodes) == mlp_graph().number_of_nodes()


def test_max_depth_zero_folds_top_level_modules() -> None:
    dot = parse(mlp_graph(), max_depth=0)
    assert dot.nodes["module_layers"] == {
        "label": "layers\n5 ops, 4 leaves",
        "fillcolor": "lightgoldenrod1",
        "shape": "box3d",
    }
    assert sorted(dot.nodes) == ["module_layers", "n13", "n14"]
    assert [(a, b) for a, b, _ in dot.edges] == [("module_layers", "n13"), ("n13", "n14")]


def test_max_depth_one_folds_each_layer_inside_its_parent_cluster() -> None:
    dot = parse(mlp_graph(), max_depth=1)
    folded = ["module_layers.0", "module_layers.1", "module_layers.2"]
    assert all(dot.member[box] == "cluster_layers" for box in folded)
    assert dot.nodes["module_layers.1"]["label"] == "layers.1\n1 op"
    assert [(a, b) for a, b, _ in dot.edges] == [
        ("module_layers.0", "module_layers.1"),
        ("module_layers.1", "module_layers.2"),
        ("module_layers.2", "n13"),
        ("n13", "n14"),
    ]


def test_node_budget_folds_modules_and_says_so() -> None:
    graph = chain_graph(n_modules=40, ops_per_module=5)
    assert graph.number_of_nodes() == 204
    dot = parse(graph, max_nodes=60, fold_repeats=False)
    assert len(dot.nodes) <= 60
    assert "204 nodes exceed the budget of 60" in dot.graph_attrs["label"]
    assert "modules deeper than 2 are folded (44 drawn)" in dot.graph_attrs["label"]
    assert dot.nodes["module_blocks.7.inner"]["label"] == "blocks.7.inner\n5 ops"
    assert dot.member["module_blocks.7.inner"] == "cluster_blocks.7"
    # 40 blocks do not fit in 20 boxes at any depth but the top: one box for `blocks`.
    dot = parse(graph, max_nodes=20, fold_repeats=False)
    assert "modules deeper than 0 are folded (5 drawn)" in dot.graph_attrs["label"]
    assert dot.nodes["module_blocks"]["label"] == "blocks\n200 ops"
    assert len(parse(graph, max_nodes=None).nodes) == 204


def test_node_budget_without_modules_says_it_cannot_fold() -> None:
    b = Builder()
    h = b.param("x", (3,), param="x")
    for _ in range(30):
        h = b.op("TanhBackward0", [h], (3,))
    b.output(h, (3,))
    dot = parse(b.done(), max_nodes=10)
    assert len(dot.nodes) == 33
    assert "no more modules to fold" in dot.graph_attrs["label"]


# -- repeated blocks ---------------------------------------------------------------------------


def blocks_graph(
    n_blocks: int = 12, widths: list[int] | None = None, *, mask: bool = False
) -> nx.DiGraph:
    """Return ``x`` through blocks ``layers.K`` into a SumBackward0.

    A block is ``fc`` (weight, TBackward0, MmBackward0), then a ReluBackward0, or with
    ``mask`` a MulBackward0 by a leaf that every block shares.
    """
    b = Builder()
    h = b.param("x", (2, 4), param="x")
    shared = b.param("mask", (2, 4), param="mask") if mask else None
    for k in range(n_blocks):
        width = widths[k] if widths else 4
        module = f"layers.{k}"
        weight = b.param(f"{module}.fc.weight", (width, 4), param=f"{module}.fc.weight")
        t = b.op("TBackward0", [weight], (4, width), module=f"{module}.fc")
        mm = b.op("MmBackward0", [h, t], (2, width), module=f"{module}.fc")
        if shared is None:
            h = b.op("ReluBackward0", [mm], (2, width), module=module)
        else:
            h = b.op("MulBackward0", [mm, shared], (2, width), module=module)
    out = b.op("SumBackward0", [h], ())
    b.output(out, ())
    return b.done()


def _block_ids(graph: nx.DiGraph, block: str) -> set[str]:
    """Ids of the nodes drawn inside ``block`` (ops by module, leaves by parameter name)."""
    found = set()
    for n, d in graph.nodes(data=True):
        name = d.get("module") or d.get("param") or ""
        if name == block or name.startswith(block + "."):
            found.add(n)
    for n, d in graph.nodes(data=True):  # an AccumulateGrad goes with its leaf
        if d.get("label") == "AccumulateGrad" and set(graph.predecessors(n)) & found:
            found.add(n)
    return found


def test_repeated_blocks_fold_into_the_first_when_asked() -> None:
    graph = blocks_graph()
    dot = parse(graph, fold_repeats=True)
    assert dot.clusters["cluster_layers.0"]["label"] == "layers.0\u201311 (\u00d712)"
    assert sorted(dot.clusters) == ["cluster_layers", "cluster_layers.0", "cluster_layers.0.fc"]
    first = _block_ids(graph, "layers.0")
    outside = {"n0", "n1"} | {n for n in graph if graph.nodes[n]["label"] in ("SumBackward0", "")}
    assert set(dot.nodes) == first | outside
    relu0 = next(n for n in first if graph.nodes[n]["label"] == "ReluBackward0")
    mm0 = next(n for n in first if graph.nodes[n]["label"] == "MmBackward0")
    total = next(n for n in graph if graph.nodes[n]["label"] == "SumBackward0")
    pairs = [(a, b) for a, b, _ in dot.edges]
    assert (relu0, total) in pairs  # what left layers.11 leaves its place in layers.0
    assert ("n0", mm0) in pairs and (relu0, mm0) not in pairs  # no edge between blocks
    assert len(pairs) == len(set(pairs))
    assert_golden(
        "render/repeated_blocks_folded_handbuilt.dot", gvr.render_dot(graph, fold_repeats=True)
    )


def test_repeated_blocks_are_drawn_in_full_by_default_and_when_refused() -> None:
    graph = blocks_graph()
    for options in ({}, {"fold_repeats": False}):
        dot = parse(graph, **options)
        assert len(dot.nodes) == graph.number_of_nodes()
        assert dot.clusters["cluster_layers.11"]["label"] == "layers.11"


def test_node_budget_folds_repeated_blocks_before_modules() -> None:
    graph = blocks_graph()
    assert graph.number_of_nodes() == 64
    dot = parse(graph, max_nodes=20)
    assert dot.graph_attrs["label"] == (
        "64 nodes exceed the budget of 20: repeated blocks are folded (9 drawn)"
    )
    assert dot.clusters["cluster_layers.0"]["label"] == "layers.0\u201311 (\u00d712)"
    # Still too big: then modules fold too, and the blocks' box keeps the run's name.
    dot = parse(graph, max_nodes=6)
    assert dot.graph_attrs["label"] == (
        "64 nodes exceed the budget of 6: repeated blocks and modules deeper than 2 are "
        "folded (6 drawn)"
    )
    assert dot.nodes["module_layers.0.fc"]["label"] == "layers.0.fc\n2 ops, 1 leaf"
    dot = parse(graph, max_nodes=5)
    assert dot.graph_attrs["label"] == (
        "64 nodes exceed the budget of 5: repeated blocks and modules deeper than 1 are "
        "folded (5 drawn)"
    )
    assert dot.nodes["module_layers.0"]["label"] == "layers.0\u201311 (\u00d712)\n3 ops, 1 leaf"
    assert "module_layers.1" not in dot.nodes
    # Without folding repeats, the same budget folds modules only.
    refused = parse(graph, max_nodes=20, fold_repeats=False)
    assert "repeated" not in refused.graph_attrs["label"]
    assert "modules deeper than 1 are folded (16 drawn)" in refused.graph_attrs["label"]


def test_only_runs_of_identical_neighbours_fold() -> None:
    dot = parse(blocks_graph(6, [4, 4, 4, 8, 4, 4]), fold_repeats=True)
    labels = {name: attrs["label"] for name, attrs in dot.clusters.items()}
    assert labels["cluster_layers.0"] == "layers.0\u20132 (\u00d73)"
    assert labels["cluster_layers.3"] == "layers.3"  # wider than its neighbours
    assert labels["cluster_layers.4"] == "layers.4\u20135 (\u00d72)"
    assert not {"cluster_layers.1", "cluster_layers.2", "cluster_layers.5"} & set(labels)


def test_repeat_folding_within_depth_folding() -> None:
    graph = blocks_graph()
    dot = parse(graph, fold_repeats=True, max_depth=1)
    assert dot.nodes["module_layers.0"]["label"] == "layers.0\u201311 (\u00d712)\n3 ops, 1 leaf"
    assert [n for n in dot.nodes if n.startswith("module_")] == ["module_layers.0"]
    # Folding `layers` itself swallows every block: its box counts them all.
    dot = parse(graph, fold_repeats=True, max_depth=0)
    assert dot.nodes["module_layers"]["label"] == "layers\n36 ops, 12 leaves"


def test_without_clusters_the_caption_names_the_folded_blocks() -> None:
    dot = parse(blocks_graph(), fold_repeats=True, clusters=False)
    assert dot.clusters == {}
    assert dot.graph_attrs["label"] == "repeated blocks drawn once: layers.0\u201311 (\u00d712)"


def test_an_input_shared_by_every_block_gets_one_edge() -> None:
    graph = blocks_graph(4, mask=True)
    dot = parse(graph, fold_repeats=True)
    mask_acc = "n2"
    assert graph.nodes["n3"]["label"] == "mask"
    assert [b for a, b, _ in dot.edges if a == mask_acc] == [
        next(n for n in _block_ids(graph, "layers.0") if graph.nodes[n]["label"] == "MulBackward0")
    ]


def test_gradients_that_differ_between_blocks_do_not_stop_folding() -> None:
    graph = blocks_graph(3)
    ops = [n for n, d in graph.nodes(data=True) if d["kind"] == "op"]
    for k, n in enumerate(ops):
        graph.nodes[n]["grad_in"] = [summary(float(k + 1))]
    dot = parse(graph, fold_repeats=True, grads=True)
    assert dot.clusters["cluster_layers.0"]["label"] == "layers.0\u20132 (\u00d73)"


def test_folded_dot_does_not_depend_on_insertion_order() -> None:
    graph = blocks_graph(5, mask=True)
    expected = gvr.render_dot(graph, fold_repeats=True, show_saved=True)
    for seed in range(3):
        shuffled = _shuffled_copy(graph, seed)
        assert gvr.render_dot(shuffled, fold_repeats=True, show_saved=True) == expected


def test_fold_repeats_must_be_true_false_or_none() -> None:
    with pytest.raises(ValueError, match="fold_repeats must be True, False or None, got 'yes'"):
        gvr.render_dot(blocks_graph(2), fold_repeats="yes")


# -- after a backward --------------------------------------------------------------------------


def _recorded_graph() -> nx.DiGraph:
    b = Builder(how="record")
    x = b.param("x", (3,), param="x")
    log = b.op("LogBackward0", [x], (3,))
    never = b.op("ExpBackward0", [x], (3,))
    total = b.op("SumBackward0", [log], ())
    b.output(total, ())
    b.output(never, (3,), name="side")
    b.backward(
        [total, log, x],
        {
            total: summary(1.0),
            log: summary(1.7320508, shape=(3,)),
            x: summary(0.0, shape=(3,), nan=1, inf=2),
            b.leaf_of[x]: summary(0.0, shape=(3,), nan=1, inf=2),
        },
    )
    return b.done()


def test_gradient_norms_and_nonfinite_nodes() -> None:
    graph = _recorded_graph()
    dot = parse(graph)
    assert dot.nodes["n2"]["label"] == "LogBackward0\ngrad norm 1.732"
    assert dot.nodes["n4"]["label"] == "SumBackward0\ngrad norm 1"
    assert dot.nodes["n1"]["label"] == "x\n(3)\ngrad norm 0 (1 NaN, 2 Inf)"
    assert dot.nodes["n1"]["fillcolor"] == "red"
    assert dot.nodes["n0"]["fillcolor"] == "red"  # AccumulateGrad received the NaN
    assert "fillcolor" not in dot.nodes["n2"]
    assert dot.nodes["n3"] == {"label": "ExpBackward0", "style": "filled,dashed"}  # did not run


def test_gradient_annotations_can_be_forced_off() -> None:
    dot = parse(_recorded_graph(), grads=False)
    assert dot.nodes["n2"] == {"label": "LogBackward0"}
    assert dot.nodes["n1"] == {"label": "x\n(3)", "fillcolor": "lightblue"}


# -- other options -------------------------------------------------------------------------


def test_highlight_ids_or_colours() -> None:
    dot = parse(seed_graph(), highlight=["n4"])
    assert dot.nodes["n4"] == {"label": "MulBackward0", "color": "red", "penwidth": "3"}
    dot = parse(seed_graph(), highlight={"n7": "blue"})
    assert dot.nodes["n7"]["color"] == "blue"


def test_edge_shapes_legend_rankdir_and_title() -> None:
    dot = parse(seed_graph(), edge_shapes=True, legend=True, rankdir="LR", title="h = w*x + b")
    assert ("n7", "n8", {"label": "(1)", "fontsize": "8"}) in dot.edges
    assert dot.graph_attrs["rankdir"] == "LR"
    assert dot.graph_attrs["label"] == "h = w*x + b"
    assert dot.clusters["cluster_legend"]["label"] == "legend"
    assert dot.nodes["legend_leaf"]["fillcolor"] == "lightblue"


def test_labels_are_escaped() -> None:
    b = Builder()
    x = b.param("<b>", (1,), param="<b>")
    y = b.param('a\\b"c', (1,), param='a\\b"c')
    op = b.op("AddBackward0", [x, y], (1,))
    b.output(op, (1,))
    source = gvr.render_dot(b.done())
    dot = dotparse.parse(source)
    assert dot.nodes["n1"]["label"] == "<b>\n(1)"
    assert 'a\\\\b\\"c' in source  # backslash doubled, quote escaped
    assert dot.nodes["n3"]["label"] == 'a\\b"c\n(1)'
    if shutil.which("dot"):
        svg = gvr.run_dot(source, "svg").decode()
        assert "a\\b&quot;c" in svg and "&lt;b&gt;" in svg


# -- bad input -------------------------------------------------------------------------------


def test_not_a_graph() -> None:
    with pytest.raises(TypeError, match=r"expected a trace graph .* got int"):
        gvr.to_dot(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got MultiDiGraph"):
        gvr.to_dot(nx.MultiDiGraph())


def test_unknown_schema() -> None:
    graph = seed_graph()
    graph.graph["schema"] = "gradviz.trace/2"
    with pytest.raises(ValueError, match=r"'gradviz.trace/2' is not supported .* upgrade"):
        gvr.render_dot(graph)
    with pytest.raises(ValueError, match="has no gradviz trace schema"):
        gvr.render_dot(nx.DiGraph())


def test_unknown_node_kind() -> None:
    graph = seed_graph()
    graph.nodes["n4"]["kind"] = "tensor"
    with pytest.raises(ValueError, match="node 'n4' has kind 'tensor'"):
        gvr.render_dot(graph)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"rankdir": "XY"}, ValueError, "rankdir must be"),
        ({"max_depth": -1}, ValueError, "max_depth must be a non-negative int"),
        ({"max_nodes": 2.5}, ValueError, "max_nodes must be a non-negative int"),
        ({"highlight": "n1"}, TypeError, r"Fix: pass \['n1'\]"),
    ],
)
def test_bad_options(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        gvr.to_dot(seed_graph(), **options)


# -- files -----------------------------------------------------------------------------------


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@needs_dot
@needs_pdftotext
def test_pdf_reads_back_with_the_op_names(tmp_path: Path) -> None:
    path = gvr.render(mlp_graph(), tmp_path / "mlp.pdf")
    assert path == tmp_path / "mlp.pdf"
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for name in (
        "AddmmBackward0",
        "TBackward0",
        "ReluBackward0",
        "MeanBackward0",
        "AccumulateGrad",
        "layers.0.weight",
        "layers.2",
    ):
        assert name in text
    assert _leftovers(tmp_path) == []


@needs_dot
def test_svg_holds_the_labels(tmp_path: Path) -> None:
    path = gvr.render(seed_graph(), tmp_path / "seed.svg")
    root = ET.fromstring(path.read_bytes())
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for name in ("MulBackward0", "AddBackward0", "AccumulateGrad", "w", "(1)"):
        assert name in texts


@needs_dot
def test_png_and_format_override(tmp_path: Path) -> None:
    path = gvr.render(seed_graph(), tmp_path / "seed.png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    other = gvr.render(seed_graph(), tmp_path / "picture", format="svg")
    assert other.read_bytes().lstrip().startswith(b"<?xml")


def test_dot_and_json_files(tmp_path: Path) -> None:
    graph = _recorded_graph()
    dot_path = gvr.render(graph, tmp_path / "sub" / "g.dot", show_attrs=True)
    assert dot_path.read_text() == gvr.render_dot(graph, show_attrs=True)
    data = json.loads(gvr.render(graph, tmp_path / "g.json").read_text())
    assert data["graph"]["schema"] == "gradviz.trace/1"
    assert [n["id"] for n in data["nodes"]] == [f"n{i}" for i in range(7)]
    leaf = data["nodes"][1]
    assert leaf["grad"]["nan"] == 1 and leaf["shape"] == [3]
    assert {"source": "n0", "target": "n2", "role": "data", "slots": [[0, 0]]} in data["edges"]
    assert gvr.to_json(graph) == gvr.to_json(_recorded_graph())


def test_json_turns_nonfinite_numbers_and_arrays_into_plain_json() -> None:
    np = pytest.importorskip("numpy")
    graph = _recorded_graph()
    graph.nodes["n1"]["grad"]["min"] = float("nan")
    graph.nodes["n1"]["grad"]["max"] = float("inf")
    graph.nodes["n1"]["grad_value"] = np.array([1.0, np.nan], dtype=np.float32)
    data = json.loads(gvr.to_json(graph))
    leaf = data["nodes"][1]
    assert leaf["grad"]["min"] == "nan" and leaf["grad"]["max"] == "inf"
    assert leaf["grad_value"] == [1.0, "nan"]


def test_unknown_suffix_or_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot tell the format from the file name .*g\.xyz"):
        gvr.render(seed_graph(), tmp_path / "g.xyz")
    with pytest.raises(ValueError, match="unknown format 'jpeg'"):
        gvr.render(seed_graph(), tmp_path / "g.pdf", format="jpeg")
    assert list(tmp_path.iterdir()) == []


def test_missing_dot_says_how_to_install_and_dot_json_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(
        RenderError,
        match=r"rendering PDF needs the Graphviz 'dot' program.*"
        r"apt-get install graphviz.*\.dot or \.json",
    ):
        gvr.render(seed_graph(), tmp_path / "g.pdf")
    assert not (tmp_path / "g.pdf").exists()
    assert gvr.render(seed_graph(), tmp_path / "g.dot").exists()
    assert gvr.render(seed_graph(), tmp_path / "g.json").exists()
    assert _leftovers(tmp_path) == []


@needs_dot
def test_failed_render_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "g.svg"
    target.write_text("old")
    monkeypatch.setattr(gvr, "render_dot", lambda graph, **options: "digraph { n0 -> }")
    with pytest.raises(
        RenderError, match=r"Graphviz's dot failed \(exit 1\) writing SVG: .*syntax"
    ):
        gvr.render(seed_graph(), target)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_run_dot_only_writes_picture_formats() -> None:
    with pytest.raises(ValueError, match="run_dot writes pdf, svg, png, not 'dot'"):
        gvr.run_dot("digraph {}", "dot")


# -- properties ------------------------------------------------------------------------------


@st.composite
def random_graphs(draw: st.DrawFn) -> nx.DiGraph:
    """Random small trace graphs: leaves, ops over earlier nodes, modules, one output."""
    b = Builder()
    available = [b.param(f"p{i}", (2,), param=f"p{i}") for i in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(1, 12))):
        k = draw(st.integers(1, 3))
        inputs = [draw(st.sampled_from(available + [None])) for _ in range(k)]
        if all(i is None for i in inputs):
            inputs[0] = available[0]
        module = draw(st.sampled_from([None, "a", "a.b", "a.b.c", "d"]))
        available.append(b.op(f"Op{k}Backward0", inputs, (2,), module=module))
    b.output(available[-1], (2,))
    return b.done()


@given(random_graphs(), st.sampled_from([None, 0, 1, 2]))
def test_every_node_and_slot_is_drawn_once(graph: nx.DiGraph, max_depth: int | None) -> None:
    text = gvr.render_dot(graph, max_depth=max_depth)
    assert gvr.render_dot(graph, max_depth=max_depth) == text
    dot = dotparse.parse(text)
    if max_depth is None:
        assert set(dot.nodes) == set(graph.nodes)
        slots = sum(len(d["slots"]) for _, _, d in graph.edges(data=True) if d["role"] == "data")
        assert len(dot.edges) == slots
        assert nx.is_directed_acyclic_graph(dot.to_networkx())
        return
    # Folding: each node is drawn itself or inside the box of its module at max_depth + 1.
    for node in graph.nodes:
        module = graph.nodes[node]["module"]
        if module is not None and module.count(".") + 1 > max_depth:
            box = "module_" + ".".join(module.split(".")[: max_depth + 1])
            assert box in dot.nodes and node not in dot.nodes
        elif graph.nodes[node]["kind"] != "leaf":
            assert node in dot.nodes
    assert all(a != b for a, b, _ in dot.edges)
