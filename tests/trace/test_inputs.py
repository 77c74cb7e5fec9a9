"""Inputs that need no gradient: ``capture(..., inputs=True)`` and ``record(inputs=True)``."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import networkx as nx
import pytest

import gradviz as gv
from gradviz import nn
from gradviz.errors import SchemaError
from gradviz.trace import capture, record, schema


def inputs_of(g: nx.DiGraph) -> dict[str, dict[str, Any]]:
    return {n: d for n, d in g.nodes(data=True) if d["kind"] == "leaf" and not d["requires_grad"]}


def without_inputs(g: nx.DiGraph) -> nx.DiGraph:
    h = g.copy()
    h.remove_nodes_from(list(inputs_of(g)))
    return h


def same_static(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    return schema.graphs_equal(schema.static_view(a), schema.static_view(b))


def seed() -> tuple[gv.Tensor, gv.Tensor, gv.Tensor]:
    w = gv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = gv.tensor([4.0, 5.0, 6.0])
    w.name, x.name = "w", "x"
    return w, x, (w * x).sum()


# ------------------------------------------------------------------ capture


def test_capture_shows_a_saved_input_after_everything_else() -> None:
    _, _, loss = seed()
    plain = capture(loss)
    g = capture(loss, inputs=True)
    schema.validate(g)
    assert inputs_of(g) == {
        "n5": {
            "kind": "leaf",
            "label": "x",
            "name": "x",
            "param": "x",
            "requires_grad": False,
            "shape": (3,),
            "dtype": "float32",
            "device": "cpu",
            "module": None,
        }
    }
    assert g.edges["n5", "n2"] == {"role": "data", "slots": [[1, 0]]}  # x fills slot 1
    assert g.nodes["n2"]["label"] == "MulBackward0"
    # No other id moves: the graph without its inputs is the graph captured without them.
    assert schema.graphs_equal(without_inputs(g), plain)
    assert not inputs_of(plain)


def test_one_tensor_feeding_two_ops_is_one_input_node() -> None:
    w = gv.ones(2, 2, requires_grad=True)
    x = gv.full((2, 2), 3.0)
    loss = ((w * x) @ x).sum()  # x feeds MulBackward0 (slot 1) and MmBackward0 (slot 1)
    g = capture(loss, params={"x": x}, inputs=True)
    schema.validate(g)
    (xid,) = inputs_of(g)
    assert g.nodes[xid]["label"] == "x"  # named from params=
    fed = {g.nodes[v]["label"]: d["slots"] for _, v, d in g.out_edges(xid, data=True)}
    assert fed == {"MulBackward0": [[1, 0]], "MmBackward0": [[1, 0]]}


def test_inputs_of_several_ops_are_numbered_in_op_order() -> None:
    w = gv.ones(3, requires_grad=True)
    a, b = gv.full((3,), 2.0), gv.full((3,), 5.0)
    a.name, b.name = "a", "b"
    loss = ((w * a) * b).sum()
    g = capture(loss, inputs=True)
    found = inputs_of(g)
    assert [found[n]["label"] for n in sorted(found, key=schema.id_number)] == ["a", "b"]
    assert min(schema.id_number(n) for n in found) > schema.id_number(g.graph["roots"][0])


def test_capture_only_sees_inputs_the_engine_still_holds() -> None:
    b = gv.ones(3, requires_grad=True)
    x = gv.tensor([1.0, 2.0, 3.0])
    # AddBackward0 saves nothing, so walking grad_fn cannot know x.
    assert not inputs_of(capture((x + b).sum(), inputs=True))
    # A backward frees what MulBackward0 saved, x with it.
    _, _, loss = seed()
    loss.backward()
    g = capture(loss, inputs=True)
    assert g.nodes["n2"]["saved_freed"] and not inputs_of(g)


def test_capture_of_a_linear_layer_shows_its_batch() -> None:
    gv.manual_seed(0)
    layer = nn.Linear(4, 3)
    x = gv.randn(5, 4)
    g = capture(layer(x).sum(), inputs=True)
    schema.validate(g)
    ((xid, data),) = inputs_of(g).items()
    assert data["shape"] == (5, 4)
    ((op, slots),) = [(v, d["slots"]) for _, v, d in g.out_edges(xid, data=True)]
    assert g.nodes[op]["label"] == "AddmmBackward0" and slots == [[1, 0]]


def test_user_functions_do_not_show_their_saved_inputs() -> None:
    class Scale(gv.autograd.Function):
        @staticmethod
        def forward(ctx: Any, w: gv.Tensor, x: gv.Tensor) -> gv.Tensor:
            ctx.save_for_backward(x)
            return w * x

        @staticmethod
        def backward(ctx: Any, g: gv.Tensor) -> tuple[gv.Tensor, None]:
            (x,) = ctx.saved_tensors
            return g * x, None

    w = gv.ones(2, requires_grad=True)
    # Its saved slots ("0") are not named after its inputs, so capture cannot place x.
    assert not inputs_of(capture(Scale.apply(w, gv.ones(2)).sum(), inputs=True))
    with record(inputs=True) as rec:
        Scale.apply(w, gv.ones(2)).sum().backward()
    (data,) = inputs_of(rec.graphs[0]).values()
    assert data["shape"] == (2,)


# ------------------------------------------------------------------ record


def test_record_sees_every_input_of_ops_made_while_recording() -> None:
    b = gv.ones(3, requires_grad=True)
    x = gv.tensor([1.0, 2.0, 3.0])
    mask = gv.tensor([1.0, 0.0, 1.0])
    x.name = "x"
    with record(inputs=True) as rec:
        ((x + b) * mask).sum().backward()
    g = rec.graphs[0]
    schema.validate(g)
    found = {d["label"]: n for n, d in inputs_of(g).items()}
    assert set(found) == {"x", ""}  # the mask has no name
    assert g.nodes[found["x"]]["grad"] is None  # an input gets no gradient
    assert [g.nodes[v]["label"] for _, v in g.out_edges(found["x"])] == ["AddBackward0"]
    assert [g.nodes[v]["label"] for _, v in g.out_edges(found[""])] == ["MulBackward0"]


def test_record_without_inputs_adds_none() -> None:
    b = gv.ones(3, requires_grad=True)
    with record() as rec:
        (gv.ones(3) * b).sum().backward()
    assert not inputs_of(rec.graphs[0])


def test_record_and_capture_agree_on_inputs_of_a_forward_made_before() -> None:
    gv.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = gv.randn(3, 4)
    loss = model(x).sum()
    captured = capture(loss, inputs=True)
    with record(inputs=True) as rec:
        loss.backward()
    assert same_static(rec.graphs[0], captured)
    assert len(inputs_of(captured)) == 1


def test_record_and_capture_agree_when_both_know_every_input() -> None:
    w = gv.ones(3, requires_grad=True)
    x = gv.tensor([1.0, 2.0, 3.0])
    with record(inputs=True) as rec:
        loss = (w * x).sum()  # MulBackward0 saves x: capture knows it too
        captured = capture(loss, inputs=True)
        loss.backward()
    assert same_static(rec.graphs[0], captured)


def test_same_program_recorded_twice_gives_the_same_input_ids() -> None:
    def run() -> nx.DiGraph:
        gv.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
        with record(inputs=True) as rec:
            x = gv.randn(2, 4)
            (model(x) + gv.ones(2, 1)).sum().backward()
        return rec.graphs[0]

    a, b = run(), run()
    assert same_static(a, b)
    assert list(inputs_of(a)) == list(inputs_of(b))


def test_notes_keep_no_tensor_alive_and_outlive_it() -> None:
    b = gv.ones(3, requires_grad=True)
    with record(inputs=True) as rec:
        x = gv.tensor([1.0, 2.0, 3.0])
        x.name = "batch"
        loss = (x + b).sum()
        gone = weakref.ref(x)
        del x
        gc.collect()
        assert gone() is None  # the recorder's note does not keep the batch alive
        loss.backward()
    (data,) = inputs_of(rec.graphs[0]).values()
    assert (data["label"], data["shape"], data["dtype"]) == ("batch", (3,), "float32")


def test_values_mode_gives_inputs_an_empty_grad_value() -> None:
    w = gv.ones(2, requires_grad=True)
    with record(inputs=True, values=True) as rec:
        (w * gv.ones(2)).sum().backward()
    (data,) = inputs_of(rec.graphs[0]).values()
    assert data["grad"] is None and data["grad_value"] is None
    schema.validate(rec.graphs[0])


# ------------------------------------------------------------------ schema


def test_schema_rejects_an_input_feeding_an_accumulate_grad() -> None:
    _, _, loss = seed()
    g = capture(loss)
    g.nodes["n1"]["requires_grad"] = False  # w, which feeds its AccumulateGrad n0
    with pytest.raises(SchemaError, match="an input .* feeds ops, not an AccumulateGrad"):
        schema.validate(g)


def test_graphs_with_inputs_round_trip_through_a_trace_file(tmp_path: Any) -> None:
    w = gv.ones(3, requires_grad=True)
    x = gv.tensor([1.0, 2.0, 3.0])
    with record(inputs=True, values=True) as rec:
        for _ in range(2):
            (w * x + x).sum().backward()
    path = rec.save(tmp_path / "inputs.gvz")
    loaded = gv.trace.load(path)
    assert all(schema.graphs_equal(a, b) for a, b in zip(loaded, rec.graphs, strict=True))
    assert rec.diff(0, 1).identical
