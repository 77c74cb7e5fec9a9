"""The trace graph schema: constants, constructors, validate() and comparisons."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import pytest

import gradviz as gv
from gradviz.errors import GradvizError
from gradviz.trace import capture, record, schema


def recorded_graph(values: bool = False) -> nx.DiGraph:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    x = gv.tensor([3.0, 4.0], requires_grad=True)
    w.name = "w"
    with record(values=values) as rec:
        (w * x).sum().backward()
    return rec.graphs[0]


def test_constants() -> None:
    assert schema.SCHEMA_VERSION == "gradviz.trace/1"
    assert schema.SCHEMA_VERSION.startswith(schema.SCHEMA_PREFIX)
    assert schema.KINDS == ("op", "leaf", "output", "saved")
    assert schema.ROLES == ("data", "saved")
    assert schema.ACCUMULATE_GRAD_SEQ == 2**64 - 1
    assert schema.SUMMARY_KEYS == (
        "shape", "dtype", "device", "norm", "min", "max", "mean", "nan", "inf",
    )  # fmt: skip
    assert schema.BACKWARD_KEYS == ("order", "seconds", "retain_graph", "create_graph", "completed")


def test_the_docstring_documents_the_schema() -> None:
    doc = schema.__doc__ or ""
    for term in (
        "schema", "roots", "producer", "backward", "kind", "label", "shape", "dtype",
        "device", "module", "seq", "attrs", "saved", "alias_of", "n_inputs", "n_outputs",
        "order", "seconds", "grad_in", "grad_out", "grad_in_values", "param",
        "requires_grad", "grad_fn", "role", "slots", "slot", "saved_freed", "norm",
    ):  # fmt: skip
        assert f"``{term}``" in doc, term


def test_ids() -> None:
    assert schema.node_id(12) == "n12"
    assert schema.id_number("n12") == 12
    for bad in ("12", "n", "n01", "m3", 3):
        with pytest.raises(schema.SchemaError, match="is not of the form 'n<number>'"):
            schema.id_number(bad)  # type: ignore[arg-type]


def test_constructors_make_valid_graphs() -> None:
    g = schema.new_graph(["n3"], schema.producer("capture"))
    g.add_node("n0", **schema.op_node("AccumulateGrad", schema.ACCUMULATE_GRAD_SEQ, shape=(2,)))
    g.add_node("n1", **schema.leaf_node("w", param="w", shape=(2,), dtype="float32"))
    g.add_node(
        "n2",
        **schema.op_node(
            "MulBackward0",
            0,
            attrs={"alpha": "1"},
            saved=[schema.saved_entry("self", (2,), "float32", 8, "n1")],
            n_inputs=2,
        ),
    )
    g.add_node("n3", **schema.output_node("y", grad_fn="n2", shape=(2,)))
    g.add_node("n4", **schema.saved_node("other", shape=(2,), dtype="float32"))
    g.add_edge("n1", "n0", **schema.data_edge([(0, 0)]))
    g.add_edge("n0", "n2", **schema.data_edge([[1, 0], [0, 0]]))
    g.add_edge("n1", "n2", **schema.saved_edge("self"))
    g.add_edge("n4", "n2", **schema.saved_edge("other"))
    g.add_edge("n2", "n3", **schema.data_edge([[0, 0]]))
    schema.validate(g)
    assert g.edges["n0", "n2"]["slots"] == [[0, 0], [1, 0]]  # sorted
    assert g.nodes["n2"]["label"] == g.nodes["n2"]["name"] == "MulBackward0"
    assert schema.producer("record", 3) == {
        "tool": "gradviz",
        "version": gv.__version__,
        "how": "record",
        "iteration": 3,
    }


@pytest.mark.parametrize("values", [False, True])
def test_real_graphs_validate(values: bool) -> None:
    g = recorded_graph(values)
    assert schema.problems(g) == []
    schema.validate(g)


def _break(change: Callable[[nx.DiGraph], Any]) -> nx.DiGraph:
    g = recorded_graph(values=True)
    change(g)
    return g


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda g: g.graph.update(schema="other"),
            "graph attribute schema must be 'gradviz.trace/1'",
        ),
        (lambda g: g.graph.update(schema="gradviz.trace/2"), "a newer gradviz wrote it: upgrade"),
        (lambda g: g.graph.update(roots=["n0"]), "root 'n0' is not an output node"),
        (lambda g: g.graph.update(roots="n6"), "roots must be a list of output node ids"),
        (lambda g: g.graph["producer"].pop("how"), "producer must be a dict with tool, version"),
        (lambda g: g.graph["producer"].update(iteration="1"), "iteration an int or None"),
        (lambda g: g.graph["backward"].pop("order"), "backward must be a dict with order"),
        (lambda g: g.graph["backward"].update(order=["n99"]), "backward order must be a list"),
        (lambda g: g.graph["backward"].update(completed=1), "backward completed must be a bool"),
        (
            lambda g: nx.relabel_nodes(g, {"n0": "x0"}, copy=False),
            "node id 'x0' is not of the form",
        ),
        (lambda g: g.nodes["n0"].update(kind="tensor"), "node n0: kind must be one of op, leaf"),
        (lambda g: g.nodes["n0"].pop("module"), "node n0: missing module"),
        (
            lambda g: g.nodes["n0"].update(shape=[2]),
            "node n0: shape must be a tuple of ints or None",
        ),
        (lambda g: g.nodes["n0"].update(dtype=3), "node n0: dtype must be a str or None"),
        (lambda g: g.nodes["n0"].update(label=None), "node n0: label must be a str"),
        (lambda g: g.nodes["n4"].update(name="Mul"), "name 'Mul' must be a str equal to label"),
        (lambda g: g.nodes["n4"].update(seq=-1), "seq must be an int >= 0"),
        (lambda g: g.nodes["n4"].update(attrs={"dim": 1}), "attrs must be a dict of str to str"),
        (lambda g: g.nodes["n4"].update(saved_freed="no"), "saved_freed must be a bool"),
        (lambda g: g.nodes["n4"].update(n_inputs=-1), "n_inputs and n_outputs must be ints >= 0"),
        (lambda g: g.nodes["n4"].pop("saved"), "node n4 \\(op\\): missing saved"),
        (lambda g: g.nodes["n4"]["saved"][0].pop("bytes"), "saved entries must be dicts with name"),
        (lambda g: g.nodes["n4"]["saved"][0].update(alias_of="n0"), "alias_of 'n0' is not a leaf"),
        (lambda g: g.nodes["n4"]["saved"][0].update(shape=None), "needs a str name and a shape"),
        (lambda g: g.nodes["n4"].pop("grad_out"), "a recorded graph's ops need grad_out"),
        (lambda g: g.nodes["n4"].update(order=-2), "order must be an int >= 0 or None"),
        (lambda g: g.nodes["n4"].update(seconds="1"), "seconds must be a float"),
        (lambda g: g.nodes["n4"].update(grad_in=[]), "grad_in must be a list of 1 summaries"),
        (lambda g: g.nodes["n4"]["grad_in"][0].pop("norm"), "grad_in\\[0\\]: summary lacks norm"),
        (lambda g: g.nodes["n4"]["grad_in"][0].update(nan=-1), "summary nan must be a count"),
        (lambda g: g.nodes["n4"]["grad_in"][0].update(min="0"), "summary min must be a float"),
        (lambda g: g.nodes["n4"]["grad_in"][0].update(shape=[]), "summary shape must be a tuple"),
        (lambda g: g.nodes["n4"].update(grad_in=[[1.0]]), "must be a dict or None, got list"),
        (lambda g: g.nodes["n4"].update(grad_out_values=[None]), "must be a list of 2 arrays"),
        (lambda g: g.nodes["n4"].update(grad_in_values=[[1.0]]), "must be NumPy arrays or None"),
        (lambda g: g.nodes["n1"].pop("param"), "node n1 \\(leaf\\): missing param"),
        (lambda g: g.nodes["n1"].update(requires_grad=1), "requires_grad must be a bool"),
        (lambda g: g.nodes["n1"].pop("grad"), "a recorded graph's leaves need grad"),
        (lambda g: g.nodes["n1"].update(grad_value=[1.0]), "grad_value must be a NumPy array"),
        (lambda g: g.nodes["n6"].update(grad_fn="n1"), "grad_fn 'n1' is not an op node"),
        (lambda g: g.nodes["n6"].pop("grad_fn"), "node n6 \\(output\\): missing name or grad_fn"),
        (lambda g: g.edges["n0", "n4"].update(role="grad"), "role must be one of data, saved"),
        (lambda g: g.edges["n0", "n4"].update(slots=[]), "a data edge needs slots"),
        (lambda g: g.edges["n0", "n4"].update(slots=[(0, 0)]), "a data edge needs slots"),
        (
            lambda g: g.add_edge("n6", "n4", role="data", slots=[[0, 0]]),
            "op/leaf -> op/output, not output",
        ),
        (
            lambda g: g.add_edge("n0", "n1", role="saved", slot="x"),
            "saved/leaf -> op, not op -> leaf",
        ),
        (lambda g: g.edges["n1", "n4"].pop("slot"), "a saved edge needs slot"),
        (lambda g: g.add_edge("n4", "n0", role="data", slots=[[0, 0]]), "the graph has a cycle"),
    ],
)
def test_problems_are_found_and_named(change: Callable[[nx.DiGraph], Any], message: str) -> None:
    g = _break(change)
    with pytest.raises(schema.SchemaError, match=message):
        schema.validate(g)


def test_schema_error_lists_every_problem() -> None:
    t = gv.ones(2, requires_grad=True)
    for _ in range(30):
        t = t * 2
    g = capture(t)
    for n in g:
        g.nodes[n]["kind"] = "x"
    found = schema.problems(g)
    assert len(found) > 20
    with pytest.raises(schema.SchemaError) as info:
        schema.validate(g)
    text = str(info.value)
    assert f"({len(found)} problems)" in text and f"... and {len(found) - 20} more" in text
    assert isinstance(info.value, ValueError) and isinstance(info.value, GradvizError)


def test_not_a_digraph() -> None:
    for bad in (nx.Graph(), nx.MultiDiGraph(), {"nodes": []}):
        assert schema.problems(bad) == [
            f"a trace graph is a networkx.DiGraph, got {type(bad).__name__}"
        ]
    with pytest.raises(schema.SchemaError, match="got MultiDiGraph"):
        schema.validate(nx.MultiDiGraph())


def test_extra_keys_are_allowed() -> None:
    g = recorded_graph()
    g.nodes["n0"]["color"] = "red"
    g.graph["note"] = {"by": "me"}
    schema.validate(g)


def test_static_view_drops_what_backward_added() -> None:
    g = recorded_graph(values=True)
    static = schema.static_view(g)
    assert "backward" not in static.graph and "producer" not in static.graph
    for _, d in static.nodes(data=True):
        assert not set(d) & (set(schema.OP_BACKWARD_KEYS) | set(schema.LEAF_BACKWARD_KEYS))
    assert "backward" in g.graph and "order" in g.nodes["n0"]  # the original is unchanged
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    x = gv.tensor([3.0, 4.0], requires_grad=True)
    w.name = "w"
    assert schema.graphs_equal(static, schema.static_view(capture((w * x).sum())))


def test_graphs_equal() -> None:
    a = recorded_graph(values=True)
    b = recorded_graph(values=True)
    for g in (a, b):
        g.graph["backward"]["seconds"] = 0.0
        for d in g.nodes.values():
            if "seconds" in d:
                d["seconds"] = 0.0
    assert schema.graphs_equal(a, b)
    a.nodes["n0"]["x"] = b.nodes["n0"]["x"] = math.nan
    assert schema.graphs_equal(a, b)  # NaN equals NaN here
    b.nodes["n1"]["grad_value"] = b.nodes["n1"]["grad_value"].astype(np.float64)
    assert not schema.graphs_equal(a, b)  # arrays compare dtypes too
    b.nodes["n1"]["grad_value"] = a.nodes["n1"]["grad_value"].copy()
    assert schema.graphs_equal(a, b)
    b.nodes["n1"]["shape"] = [2]
    assert not schema.graphs_equal(a, b)  # a list is not a tuple
    b.nodes["n1"]["shape"] = (2,)
    b.edges["n0", "n4"]["slots"] = [[1, 0]]
    assert not schema.graphs_equal(a, b)
    b.edges["n0", "n4"]["slots"] = [[0, 0]]
    b.remove_edge("n1", "n4")
    assert not schema.graphs_equal(a, b)
    c = nx.relabel_nodes(a, {n: n for n in reversed(list(a))})
    c = nx.DiGraph(c)
    c.remove_node("n6")
    assert not schema.graphs_equal(a, c)
