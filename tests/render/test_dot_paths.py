"""The renderer's shortcuts draw exactly what its general code draws.

``to_dot`` takes shortcuts where a graph allows them: a graph numbered ``n0``, ``n1``, ...
in insertion order (what capture, record and load make) gets its sort keys without parsing
ids, its ids unquoted and its nodes unsorted; a layout where nothing folds skips the
folding loop; an unstyled edge and a box without attributes are written inline. Each test
here draws one graph both ways (the same graph inserted in another order, a depth limit that
folds nothing, edge shapes switched on and their labels cut out again) and requires the same
bytes, or holds a fast check to the regular expression it stands for. Drawing a graph
inserted in another order also pins down that folded edges are placed by the graph edge
first in id order, not by the one the graph happens to list first.
"""

from __future__ import annotations

import re
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradviz
from gradviz import nn
from gradviz.renderers import graphviz as gvr
from gradviz.trace import capture, record, schema
from tests.render.graphs import Builder, summary

# -- graphs and options ----------------------------------------------------------------------

_MODULES = [
    None,
    "enc",
    "enc.layers.0",
    "enc.layers.1",
    "enc.layers.1.attn",
    "blocks.0",
    "blocks.1",
    "blocks.2",
    "head",
]


@st.composite
def trace_graphs(draw: st.DrawFn) -> nx.DiGraph:
    """Small schema graphs numbered as capture numbers them.

    Leaves (some named like a model's parameters), ops in modules (numbered siblings, so
    repeated blocks can fold) with attributes, saved tensors (as nodes and as leaf
    aliases), a named output, sometimes an input that needs no gradient and a recorded
    backward with NaN/Inf gradients.
    """
    b = Builder(how=draw(st.sampled_from(["capture", "record"])))
    params = []
    for i in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([f"p{i}", f"blocks.{i}.weight", f"enc.layers.{i}.w"]))
        dtype = draw(st.sampled_from(["float32", "float64"]))
        params.append(b.param(name, (2,), param=name, dtype=dtype))
    available = list(params)
    ops = []
    for _ in range(draw(st.integers(1, 10))):
        inputs = [draw(st.sampled_from([*available, None])) for _ in range(draw(st.integers(1, 3)))]
        if all(i is None for i in inputs):
            inputs[0] = available[-1]
        op = b.op(
            f"Op{len(inputs)}Backward0",
            inputs,
            draw(st.sampled_from([(2,), (2, 3), None])),
            module=draw(st.sampled_from(_MODULES)),
            attrs=draw(st.sampled_from([None, {"dim": "1"}, {"alpha": "1", "z": 'a "b" \\l'}])),
        )
        if draw(st.booleans()):
            b.save_tensor(op, "result", (2,), node=draw(st.booleans()))
        if inputs[0] in params and draw(st.booleans()):
            b.save_leaf(op, inputs[0], "self")
        available.append(op)
        ops.append(op)
    b.output(available[-1], (2,), name=draw(st.sampled_from(["", "loss", "<out>"])))
    if draw(st.booleans()):
        grads = {
            node: summary(draw(st.floats(0, 10)), nan=draw(st.integers(0, 1)))
            for node in [*ops, *params]
            if draw(st.booleans())
        }
        b.backward([op for op in ops if draw(st.booleans())], grads)
    graph = b.graph
    free = [slot for slot, source in enumerate(inputs) if source is None]
    add_input = draw(st.booleans())
    if free and add_input:
        # An input that needs no gradient, numbered after the rest (as capture numbers it).
        nid = schema.node_id(graph.number_of_nodes())
        graph.add_node(
            nid,
            **schema.leaf_node(
                "x", param=None, requires_grad=False, shape=(2,), dtype="float32", device="cpu"
            ),
        )
        graph.add_edge(nid, ops[-1], **schema.data_edge([[free[0], 0]]))
        if "backward" in graph.graph:
            graph.nodes[nid]["grad"] = None
    return b.done()


OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "show_attrs": st.booleans(),
        "show_saved": st.booleans(),
        "show_inputs": st.booleans(),
        "clusters": st.booleans(),
        "max_depth": st.sampled_from([None, 0, 1, 2]),
        "max_nodes": st.sampled_from([None, 6, 2000]),
        "fold_repeats": st.sampled_from([None, True, False]),
        "grads": st.sampled_from([None, True, False]),
        "edge_shapes": st.booleans(),
        "legend": st.booleans(),
        "rankdir": st.sampled_from(["TB", "LR"]),
        "title": st.sampled_from([None, "a\\l <b>"]),
    },
)


def _is_numbered(graph: nx.DiGraph) -> bool:
    return list(graph) == [f"n{k}" for k in range(graph.number_of_nodes())]


def _reversed_copy(graph: nx.DiGraph) -> nx.DiGraph:
    """The same graph with its nodes and edges inserted in reverse order (not numbered)."""
    copy = nx.DiGraph()
    copy.graph.update(graph.graph)
    copy.add_nodes_from(reversed(list(graph.nodes(data=True))))
    copy.add_edges_from(reversed(list(graph.edges(data=True))))
    assert not _is_numbered(copy)
    return copy


def _highlight(graph: nx.DiGraph, data: st.DataObject) -> dict[str, Any]:
    nodes = sorted(graph)
    return {"highlight": data.draw(st.lists(st.sampled_from(nodes), max_size=2))}


# -- numbered graphs ---------------------------------------------------------------------------


@given(trace_graphs(), OPTIONS, st.data())
def test_a_numbered_graph_draws_as_the_same_graph_in_another_order(
    graph: nx.DiGraph, options: dict[str, Any], data: st.DataObject
) -> None:
    assert _is_numbered(graph)  # the shortcut is taken ...
    options.update(_highlight(graph, data))
    expected = gvr.render_dot(graph, **options)
    assert gvr.render_dot(_reversed_copy(graph), **options) == expected  # ... and is not here


def _blocks_model() -> nn.Module:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = nn.Tanh()

        def forward(self, x: Any) -> Any:
            return self.act(self.fc(x))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.Sequential(*[Block() for _ in range(4)])
            self.head = nn.Linear(4, 2)

        def forward(self, x: Any) -> Any:
            return self.head(self.layers(x))

    return Net()


def _program_graphs() -> dict[str, nx.DiGraph]:
    """Graphs of real programs: captured with saved tensors and inputs, and recorded."""
    net = _blocks_model()
    x = gradviz.tensor(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4))
    w = gradviz.ones(3, requires_grad=True)
    w.name = "w"
    graphs = {
        "blocks": capture((net(x) ** 2).mean(), saved=True, inputs=True),
        "seed": capture(w * gradviz.tensor([1.0, 2.0, 3.0]) + w, saved=True, inputs=True),
    }
    with record() as rec:
        net(x).log().sum().backward()  # log of negatives: NaN gradients to highlight
    graphs["recorded"] = rec.graphs[-1]
    return graphs


PROGRAM_GRAPHS = _program_graphs()


@pytest.mark.parametrize("name", sorted(PROGRAM_GRAPHS))
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"show_saved": True, "show_inputs": True, "show_attrs": True, "edge_shapes": True},
        {"fold_repeats": True},
        {"max_depth": 1, "legend": True},
        {"max_nodes": 5, "clusters": False},
    ],
)
def test_program_graphs_draw_the_same_in_any_order(name: str, options: dict[str, Any]) -> None:
    graph = PROGRAM_GRAPHS[name]
    assert _is_numbered(graph)
    assert gvr.render_dot(_reversed_copy(graph), **options) == gvr.render_dot(graph, **options)


def _edge_lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if " -> " in line]


def test_an_edge_into_a_folded_module_is_placed_by_its_first_graph_edge() -> None:
    # n0 feeds n2 and n4 in module "enc" and n3 outside it: folded, n0 -> module_enc stands
    # for n0 -> n2 and comes before n0 -> n3, whatever order the edges were added in.
    b = Builder()
    acc = b.param("p", (2,), param="p")
    b.op("MulBackward0", [acc], (2,), module="enc")
    b.op("ExpBackward0", [acc], (2,))
    last = b.op("TanhBackward0", [acc], (2,), module="enc")
    b.output(last, (2,))
    graph = b.done()
    expected = ["n1 -> n0", "n0 -> module_enc", "n0 -> n3", "module_enc -> n5"]
    assert _edge_lines(gvr.render_dot(graph, max_depth=0)) == expected
    assert _edge_lines(gvr.render_dot(_reversed_copy(graph), max_depth=0)) == expected


def test_an_edge_out_of_folded_blocks_is_placed_by_its_first_graph_edge() -> None:
    # Blocks layers.0-2 fold into layers.0; layers.1 and layers.2 both feed CatBackward0
    # (slots 2 and 0), drawn once from layers.0's MulBackward0 (n4): at slot 2, from
    # layers.1, the first in id order, so after y's edge (slot 1).
    b = Builder()
    h = b.param("x", (2,), param="x")
    outs = []
    for k in range(3):
        weight = b.param(f"layers.{k}.w", (2,), param=f"layers.{k}.w")
        h = b.op("MulBackward0", [h, weight], (2,), module=f"layers.{k}")
        outs.append(h)
    y = b.param("y", (2,), param="y")
    cat = b.op("CatBackward0", [outs[2], y, outs[1]], (6,))
    b.output(cat, (6,))
    graph = b.done()
    expected = ["n1 -> n0", "n3 -> n2", "n0 -> n4", "n2 -> n4", "n12 -> n11", "n11 -> n13"]
    expected += ["n4 -> n13", "n13 -> n14"]
    assert _edge_lines(gvr.render_dot(graph, fold_repeats=True)) == expected
    assert _edge_lines(gvr.render_dot(_reversed_copy(graph), fold_repeats=True)) == expected


# -- layouts where nothing folds ---------------------------------------------------------------


@given(trace_graphs(), OPTIONS)
def test_a_depth_limit_that_folds_nothing_draws_what_no_limit_draws(
    graph: nx.DiGraph, options: dict[str, Any]
) -> None:
    # max_depth=None takes the shortcut; a limit deeper than every module goes through the
    # folding loop, which then folds nothing.
    options.pop("max_depth", None)
    options["max_nodes"] = None
    unlimited = gvr.render_dot(graph, **options)
    assert gvr.render_dot(graph, max_depth=10, **options) == unlimited


# -- edges and boxes written inline ----------------------------------------------------------

_SHAPE_LABEL = re.compile(r' \[label="\([0-9, ]*\)" fontsize=8\]$', re.MULTILINE)


@given(trace_graphs(), OPTIONS)
def test_edges_with_shapes_differ_only_by_their_labels(
    graph: nx.DiGraph, options: dict[str, Any]
) -> None:
    # Without edge shapes, data edges are written inline; with them, by the general code.
    options.pop("edge_shapes", None)
    plain = gvr.render_dot(graph, edge_shapes=False, **options)
    shaped = gvr.render_dot(graph, edge_shapes=True, **options)
    assert _SHAPE_LABEL.sub("", shaped) == plain


_LABELS = st.text(alphabet=st.sampled_from('ab_1 \\"<>\n.-é'), max_size=8)


@given(_LABELS, st.sampled_from([None, "a", "a.b.c"]))
def test_a_box_without_attributes_is_written_as_with_them(label: str, module: str | None) -> None:
    indent = "\t" * (1 if module is None else module.count(".") + 2)
    quoted = gvr._Quoted()
    bare = gvr._node_line(module, "n1", label, {}, quoted)
    assert bare == f"{indent}n1 [{gvr._attr_text(label, {'x': 'y'}, quoted)[:-4]}]\n"
    assert bare == f"{indent}n1 [label={gvr._quote(label)}]\n"
    coloured = gvr._node_line(module, "n1", label, {"fillcolor": "red"}, quoted)
    assert coloured == f"{indent}n1 [label={gvr._quote(label)} fillcolor=red]\n"


# -- fast checks and the regular expressions they stand for ------------------------------------

_ID_DEFINITION = re.compile(r"^(\D*)(\d+)$")


def _id_key_by_regex(node_id: Any) -> tuple[str, int, str]:
    text = str(node_id)
    match = _ID_DEFINITION.match(text)
    if match:
        return (match.group(1), int(match.group(2)), "")
    return (text, -1, text)


_ID_TEXT = st.text(alphabet=st.sampled_from("n_x09٣¹ \n"), max_size=5)


@given(_ID_TEXT)
def test_id_keys_follow_the_regex(text: str) -> None:
    assert gvr._id_key(text) == _id_key_by_regex(text)


@pytest.mark.parametrize("node_id", ["n0", "n10", "x7", "n01", "٣5", "n5\n", "n", "", 7, "ab12"])
def test_id_keys_of_chosen_ids(node_id: Any) -> None:
    assert gvr._id_key(node_id) == _id_key_by_regex(node_id)


_PLAIN = re.compile(r"(?:[a-zA-Z_][a-zA-Z0-9_]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))\Z")


@given(st.text(alphabet=st.sampled_from('aZ_09.-é\\" \nNoDeg'), max_size=8))
def test_quoting_follows_the_dot_id_rule(text: str) -> None:
    plain = _PLAIN.match(text) is not None and text.lower() not in gvr._DOT_KEYWORDS
    expected = text if plain else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert gvr._quote(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n12", "n12"),
        ("Node", '"Node"'),
        ("é", '"é"'),
        ("-1.5", "-1.5"),
        ("a b", '"a b"'),
        ("x\n", '"x\n"'),
        ("", '""'),
    ],
)
def test_quoting_of_chosen_texts(text: str, expected: str) -> None:
    assert gvr._quote(text) == expected
