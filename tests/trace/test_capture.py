"""capture(): the graph behind tensors, by walking grad_fn (gradviz.trace.capture)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradviz as gv
from gradviz.engine.events import module_scope
from gradviz.trace import capture, record, schema
from gradviz.trace.capture import readable


def nodes_of(g: nx.DiGraph) -> list[tuple[str, str, str]]:
    """(id, kind, label) of every node, in id order."""
    return [(n, d["kind"], d["label"]) for n, d in g.nodes(data=True)]


def edges_of(g: nx.DiGraph) -> dict[tuple[str, str], Any]:
    """Edge -> slots for data edges, slot name for saved edges."""
    return {
        (u, v): d["slots"] if d["role"] == "data" else ("saved", d["slot"])
        for u, v, d in g.edges(data=True)
    }


def seed_program() -> tuple[gv.Tensor, gv.Tensor, gv.Tensor, gv.Tensor]:
    """The seed article's example: h = w*x + b, with named parameters."""
    w = gv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = gv.tensor([4.0, 5.0, 6.0])
    b = gv.tensor([0.5, 0.5, 0.5], requires_grad=True)
    w.name, b.name = "w", "b"
    h = w * x + b
    return h, w, x, b


# ------------------------------------------------------------------ leaves, ops, outputs


def test_seed_example_leaves_ops_output() -> None:
    h, _, _, _ = seed_program()
    g = capture(h)
    schema.validate(g)
    assert nodes_of(g) == [
        ("n0", "op", "AccumulateGrad"),
        ("n1", "leaf", "w"),
        ("n2", "op", "MulBackward0"),
        ("n3", "op", "AccumulateGrad"),
        ("n4", "leaf", "b"),
        ("n5", "op", "AddBackward0"),
        ("n6", "output", ""),
    ]
    assert edges_of(g) == {
        ("n1", "n0"): [[0, 0]],
        ("n0", "n2"): [[0, 0]],
        ("n2", "n5"): [[0, 0]],
        ("n4", "n3"): [[0, 0]],
        ("n3", "n5"): [[1, 0]],
        ("n5", "n6"): [[0, 0]],
    }
    assert g.graph["schema"] == "gradviz.trace/1"
    assert g.graph["roots"] == ["n6"]
    assert g.graph["producer"] == {
        "tool": "gradviz",
        "version": gv.__version__,
        "how": "capture",
        "iteration": None,
    }
    assert "backward" not in g.graph


def test_node_attributes() -> None:
    h, _, _, _ = seed_program()
    g = capture(h)
    leaf = g.nodes["n1"]
    assert leaf == {
        "kind": "leaf",
        "label": "w",
        "name": "w",
        "param": "w",
        "requires_grad": True,
        "shape": (3,),
        "dtype": "float32",
        "device": "cpu",
        "module": None,
    }
    mul = g.nodes["n2"]
    assert mul["name"] == mul["label"] == "MulBackward0"
    assert mul["seq"] == 0 and g.nodes["n5"]["seq"] == 1
    assert g.nodes["n0"]["seq"] == schema.ACCUMULATE_GRAD_SEQ == 2**64 - 1
    assert (mul["n_inputs"], mul["n_outputs"]) == (2, 1)
    assert (mul["shape"], mul["dtype"], mul["device"]) == ((3,), "float32", None)
    assert (g.nodes["n0"]["n_inputs"], g.nodes["n0"]["n_outputs"]) == (0, 1)
    assert g.nodes["n0"]["device"] == "cpu"
    assert g.nodes["n5"]["attrs"] == {"alpha": "1"}
    assert g.nodes["n6"] == {
        "kind": "output",
        "label": "",
        "name": "",
        "grad_fn": "n5",
        "shape": (3,),
        "dtype": "float32",
        "device": "cpu",
        "module": None,
    }


def test_unnamed_leaf_has_empty_name_and_no_param() -> None:
    w = gv.ones(2, requires_grad=True)
    g = capture(w * 2)
    assert g.nodes["n1"]["label"] == g.nodes["n1"]["name"] == ""
    assert g.nodes["n1"]["param"] is None


def test_params_name_leaves_like_torchviz() -> None:
    h, w, _, b = seed_program()
    w.name = None
    g = capture(h, params={"weight": w, "bias": b})
    assert g.nodes["n1"]["label"] == g.nodes["n1"]["param"] == "weight"
    assert g.nodes["n4"]["label"] == "bias"
    # an iterable of pairs, as model.named_parameters() gives, works too
    g2 = capture(h, params=[("weight", w), ("bias", b)])
    assert schema.graphs_equal(g, g2)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (3, "params must be a dict of name -> tensor"),
        ({"w": 3.0}, "params must map str names to tensors; got str -> float for 'w'"),
        ([1, 2], "params must be a dict of name -> tensor or \\(name, tensor\\) pairs"),
    ],
)
def test_bad_params_raise(params: Any, match: str) -> None:
    w = gv.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=match):
        capture(w * 2, params=params)


def test_bad_arguments_raise() -> None:
    with pytest.raises(TypeError, match=r"capture\(\) needs at least one tensor"):
        capture()
    with pytest.raises(TypeError, match="argument 0 is a int. Pass the model's output"):
        capture(3)


def test_containers_of_outputs() -> None:
    w = gv.ones(2, requires_grad=True)
    a, b = w * 2, w + 1
    g = capture({"double": a, "plus": b, "n": None})
    outs = [g.nodes[r] for r in g.graph["roots"]]
    assert [o["label"] for o in outs] == ["double", "plus"]
    g2 = capture((a, [b]))
    assert [g2.nodes[r]["grad_fn"] for r in g2.graph["roots"]] == ["n2", "n3"]
    assert [g2.nodes[r]["label"] for r in g2.graph["roots"]] == ["", ""]


def test_same_tensor_twice_gives_two_outputs() -> None:
    w = gv.ones(2, requires_grad=True)
    y = w * 2
    g = capture(y, y)
    assert g.graph["roots"] == ["n3", "n4"]
    assert all(g.nodes[r]["grad_fn"] == "n2" for r in g.graph["roots"])


def test_leaf_and_constant_roots() -> None:
    w = gv.ones(2, requires_grad=True)
    w.name = "w"
    g = capture(w)
    assert nodes_of(g) == [
        ("n0", "op", "AccumulateGrad"),
        ("n1", "leaf", "w"),
        ("n2", "output", "w"),
    ]
    assert g.nodes["n2"]["grad_fn"] is None
    assert edges_of(g) == {("n1", "n0"): [[0, 0]], ("n0", "n2"): [[0, 0]]}
    c = gv.ones(3)
    g2 = capture(c)
    assert nodes_of(g2) == [("n0", "output", "")]
    assert g2.number_of_edges() == 0
    schema.validate(g)
    schema.validate(g2)


# ------------------------------------------------------------------ structure


def mlp(lib: Any, x: Any, weights: list[Any]) -> Any:
    """An nn-free MLP built from matmul and relu (runs on gradviz and torch alike)."""
    h = x
    for i, w in enumerate(weights):
        h = h @ w
        if i < len(weights) - 1:
            h = lib.relu(h)
    return h.sum()


def test_mlp_from_matmul_and_relu() -> None:
    rng = np.random.default_rng(0)
    ws = [gv.tensor(rng.standard_normal((4, 4)), requires_grad=True) for _ in range(3)]
    for i, w in enumerate(ws):
        w.name = f"w{i}"
    g = capture(mlp(gv, gv.tensor(rng.standard_normal((2, 4))), ws))
    schema.validate(g)
    labels = [d["label"] for _, d in g.nodes(data=True)]
    assert labels == [
        "AccumulateGrad", "w0", "MmBackward0", "ReluBackward0",
        "AccumulateGrad", "w1", "MmBackward0", "ReluBackward0",
        "AccumulateGrad", "w2", "MmBackward0", "SumBackward0", "",
    ]  # fmt: skip
    assert g.nodes["n2"]["dtype"] == "float64"
    assert nx.is_directed_acyclic_graph(g)
    # ids follow the forward direction, except that a leaf comes right after its
    # AccumulateGrad (which it feeds)
    for u, v in g.edges:
        if g.nodes[u]["kind"] != "leaf":
            assert schema.id_number(u) < schema.id_number(v)


def test_multi_output_split() -> None:
    a = gv.randn(4, 3, requires_grad=True)
    p0, p1 = a.split(2, 0)
    z = p0 * 2 + p1
    g = capture(z)
    assert nodes_of(g)[2] == ("n2", "op", "SplitBackward0")
    split = g.nodes["n2"]
    assert (split["n_inputs"], split["n_outputs"]) == (1, 2)
    assert split["shape"] is None  # two outputs: no single shape
    assert split["attrs"] == {"split_size": "2", "dim": "0"}
    assert edges_of(g)[("n2", "n3")] == [[0, 0]]  # output 0 -> MulBackward0 slot 0
    assert edges_of(g)[("n2", "n4")] == [[1, 1]]  # output 1 -> AddBackward0 slot 1


def test_a_plus_a_is_one_edge_with_two_slots() -> None:
    a = gv.ones(3, requires_grad=True)
    g = capture(a + a)
    assert nodes_of(g) == [
        ("n0", "op", "AccumulateGrad"),
        ("n1", "leaf", ""),
        ("n2", "op", "AddBackward0"),
        ("n3", "output", ""),
    ]
    assert edges_of(g)[("n0", "n2")] == [[0, 0], [1, 0]]


def test_shared_leaf_has_one_accumulate_grad() -> None:
    a = gv.ones(3, requires_grad=True)
    g = capture((a * 2 + a.exp()).sum())
    assert [lbl for _, k, lbl in nodes_of(g) if k == "op"].count("AccumulateGrad") == 1


class Cube(gv.autograd.Function):
    """A user Function that saves its input and its own output."""

    @staticmethod
    def forward(ctx: Any, x: gv.Tensor, k: int) -> gv.Tensor:
        """Return x**3, saving x and the result."""
        y = x**3
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: gv.Tensor) -> tuple[gv.Tensor, None]:
        """Return 3 x**2 g (and no gradient for k)."""
        x, _ = ctx.saved_tensors
        return g * 3 * x * x, None


def test_custom_function() -> None:
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    z = Cube.apply(x * 2, 5).sum()
    g = capture(z, saved=True)
    schema.validate(g)
    cube = g.nodes["n3"]
    assert cube["label"] == "CubeBackward"
    assert (cube["n_inputs"], cube["n_outputs"]) == (1, 1)
    assert cube["saved"] == [
        {"name": "0", "shape": (2,), "dtype": "float32", "bytes": 8, "alias_of": None},
        {"name": "result0", "shape": (2,), "dtype": "float32", "bytes": 8, "alias_of": None},
    ]
    assert [g.nodes[n]["label"] for n in g.predecessors("n3")] == ["MulBackward0", "0", "result0"]
    z.backward()
    assert x.grad.tolist() == [24.0, 96.0]


def test_saved_tensor_aliasing_a_leaf_is_an_edge_not_a_node() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    x = gv.tensor([3.0, 4.0], requires_grad=True)
    w.name, x.name = "w", "x"
    y = w * x
    assert y.grad_fn._saved_self is w
    for g in (capture(y), capture(y, saved=True)):
        schema.validate(g)
        assert [d["kind"] for _, d in g.nodes(data=True)].count("saved") == 0
        mul = g.nodes["n4"]
        assert mul["label"] == "MulBackward0"
        assert mul["saved"] == [
            {"name": "self", "shape": (2,), "dtype": "float32", "bytes": 8, "alias_of": "n1"},
            {"name": "other", "shape": (2,), "dtype": "float32", "bytes": 8, "alias_of": "n3"},
        ]
        assert g.edges["n1", "n4"] == {"role": "saved", "slot": "self"}
        assert g.edges["n3", "n4"] == {"role": "saved", "slot": "other"}


def test_one_leaf_in_two_saved_slots_joins_the_names() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    g = capture(w * w)
    assert g.edges["n1", "n2"] == {"role": "saved", "slot": "self, other"}
    assert g.edges["n0", "n2"] == {"role": "data", "slots": [[0, 0], [1, 0]]}


def test_saved_nodes_for_non_leaf_and_constant_tensors() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    c = gv.tensor([3.0, 4.0])
    y = w.exp() * c
    plain = capture(y)
    g = capture(y, saved=True)
    schema.validate(g)
    # op and leaf ids do not depend on saved=True; saved nodes come before the outputs
    assert nodes_of(g)[:4] == nodes_of(plain)[:4]
    saved = {n: d for n, d in g.nodes(data=True) if d["kind"] == "saved"}
    assert [(d["label"], d["shape"]) for d in saved.values()] == [
        ("result", (2,)),
        ("other", (2,)),
    ]
    exp_id, mul_id = "n2", "n3"
    assert [g.edges[s, exp_id]["slot"] for s in saved if g.has_edge(s, exp_id)] == ["result"]
    assert [g.edges[s, mul_id]["slot"] for s in saved if g.has_edge(s, mul_id)] == ["other"]
    assert nodes_of(g)[-1] == ("n6", "output", "")


def test_detach_and_no_grad_cut_the_graph() -> None:
    w = gv.ones(3, requires_grad=True)
    v = gv.ones(3, requires_grad=True)
    with gv.no_grad():
        cut = w * 2
    y = (w * 3).detach() * v + cut
    g = capture(y)
    labels = [lbl for _, _, lbl in nodes_of(g)]
    assert labels == ["AccumulateGrad", "", "MulBackward0", "AddBackward0", ""]
    assert g.nodes["n2"]["n_inputs"] == 2
    assert list(g.predecessors("n2")) == ["n0"]  # the detached input is a None slot


def test_module_paths() -> None:
    w = gv.ones(3, requires_grad=True)
    with module_scope("encoder"):
        with module_scope("encoder.layers.0"):
            h = w * 2
        h = h + 1
    y = h.sum()
    g = capture(y)
    assert [(d["label"], d["module"]) for _, d in g.nodes(data=True)] == [
        ("AccumulateGrad", None),
        ("", None),
        ("MulBackward0", "encoder.layers.0"),
        ("AddBackward0", "encoder"),
        ("SumBackward0", None),
        ("", None),
    ]


def test_nn_parameters_are_named_without_params() -> None:
    from gradviz import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    g = capture(model(gv.randn(5, 3)).sum())
    leaves = [(d["param"], d["shape"]) for _, d in g.nodes(data=True) if d["kind"] == "leaf"]
    assert leaves == [
        ("0.weight", (4, 3)),
        ("0.bias", (4,)),
        ("2.weight", (2, 4)),
        ("2.bias", (2,)),
    ]
    modules = Counter(d["module"] for _, d in g.nodes(data=True) if d["kind"] == "op")
    assert modules["0"] == 2 and modules["1"] == 1 and modules["2"] == 2


def test_attrs_are_readable() -> None:
    a = gv.randn(2, 3, requires_grad=True)
    g = capture(a.sum(dim=1, keepdim=True))
    assert g.nodes["n2"]["label"] == "SumBackward1"
    assert g.nodes["n2"]["attrs"] == {"dim": "(1,)", "keepdim": "True"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (-1, "-1"),
        (False, "False"),
        (None, "None"),
        (0.5, "0.5"),
        (1e-05, "1e-05"),
        ("mean", "mean"),
        ((0,), "(0,)"),
        ((2, 3), "(2, 3)"),
        ([1, (2,)], "[1, (2,)]"),
        (np.int64(4), "4"),
        (slice(1, None), "slice(1, None, None)"),
        (gv.float64, "float64"),
        (gv.device("cpu"), "cpu"),
        (np.zeros((2, 1), dtype=np.int64), "array(shape=(2, 1), dtype=int64)"),
        (gv.zeros(3), "tensor(shape=(3,), dtype=float32)"),
        (object(), "object"),
    ],
)
def test_readable(value: Any, text: str) -> None:
    assert readable(value) == text


# ------------------------------------------------------------------ before and after backward


def test_capture_after_backward_marks_saved_as_freed() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    x = gv.tensor([3.0, 4.0], requires_grad=True)
    y = (w * x).sum()
    before = capture(y, saved=True)
    y.backward()
    after = capture(y, saved=True)
    schema.validate(after)
    mul_before, mul_after = before.nodes["n4"], after.nodes["n4"]
    assert mul_before["saved_freed"] is False and len(mul_before["saved"]) == 2
    assert mul_after["saved_freed"] is True and mul_after["saved"] == []
    assert not any(d["role"] == "saved" for _, _, d in after.edges(data=True))
    # everything else is unchanged
    assert nodes_of(after) == nodes_of(before)
    data_edges = {e: d for e, d in edges_of(before).items() if d[0] != "saved"}
    assert edges_of(after) == data_edges


def test_capture_with_retain_graph_keeps_saved() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    g = capture(y)
    assert g.nodes["n2"]["saved_freed"] is False
    assert len(g.nodes["n2"]["saved"]) == 2


# ------------------------------------------------------------------ determinism and size


def program(seed: int) -> gv.Tensor:
    gv.manual_seed(seed)
    w = gv.randn(3, 4, requires_grad=True)
    b = gv.randn(4, requires_grad=True)
    x = gv.randn(2, 3)
    w.name, b.name = "w", "b"
    h = (x @ w + b).relu()
    parts = h.split(2, 1)
    return (parts[0] * parts[1]).mean() + (h * h).sum()


def test_same_program_same_graph() -> None:
    g1 = capture(program(0), saved=True)
    g2 = capture(program(0), saved=True)
    assert nx.utils.graphs_equal(g1, g2)
    assert list(g1.nodes) == list(g2.nodes)
    assert schema.graphs_equal(g1, g2)


@given(st.lists(st.sampled_from(["exp", "mul", "add", "sum", "relu", "leaf"]), max_size=25))
def test_random_programs_give_valid_deterministic_graphs(steps: list[str]) -> None:
    def run() -> gv.Tensor:
        leaves = [gv.tensor([0.5, -1.0, 2.0], requires_grad=True)]
        t = leaves[0]
        for step in steps:
            if step == "exp":
                t = t.exp()
            elif step == "mul":
                t = t * leaves[-1]
            elif step == "add":
                t = t + leaves[0]
            elif step == "sum":
                t = t.sum() * gv.ones(3)
            elif step == "relu":
                t = t.relu()
            else:
                leaves.append(gv.tensor([1.0, 2.0, 3.0], requires_grad=True))
                t = t + leaves[-1]
        return t

    g = capture(run(), saved=True)
    schema.validate(g)
    assert schema.graphs_equal(g, capture(run(), saved=True))
    ops = [d for _, d in g.nodes(data=True) if d["kind"] == "op" and d["label"] != "AccumulateGrad"]
    assert sorted(d["seq"] for d in ops) == list(range(len(ops)))
    assert list(g.nodes) == [f"n{i}" for i in range(g.number_of_nodes())]


def test_deep_graph_has_no_recursion_limit() -> None:
    w = gv.ones(2, requires_grad=True)
    t = w
    for _ in range(3000):
        t = t * 1.0
    g = capture(t)
    assert g.number_of_nodes() == 3003
    assert nx.dag_longest_path_length(g) == 3002


# ------------------------------------------------------------------ PyTorch oracle


def _torch_structure(root: Any) -> Counter[tuple[str, tuple[str | None, ...]]]:
    seen: set[int] = set()
    stack = [root.grad_fn]
    out: Counter[tuple[str, tuple[str | None, ...]]] = Counter()
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        nexts = tuple(type(f).__name__ if f is not None else None for f, _ in fn.next_functions)
        out[(type(fn).__name__, nexts)] += 1
        stack.extend(f for f, _ in fn.next_functions if f is not None)
    return out


def _our_structure(g: nx.DiGraph) -> Counter[tuple[str, tuple[str | None, ...]]]:
    out: Counter[tuple[str, tuple[str | None, ...]]] = Counter()
    for n, d in g.nodes(data=True):
        if d["kind"] != "op":
            continue
        slots: list[str | None] = [None] * d["n_inputs"]
        for src in g.predecessors(n):
            e = g.edges[src, n]
            if e["role"] == "data" and g.nodes[src]["kind"] == "op":
                for i, _ in e["slots"]:
                    slots[i] = g.nodes[src]["label"]
        out[(d["label"], tuple(slots))] += 1
    return out


def _programs(lib: Any) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((3, 3)) for _ in range(4)]
    w, b, a, x = (lib.tensor(v, requires_grad=i != 3) for i, v in enumerate(arrays))
    p0, p1 = a.split(2, 0)
    return {
        "seed": w * x + b,
        "mlp": mlp(lib, x, [w, b, a]),
        "split": p0 * 2 + p1,
        "a_plus_a": a + a,
        "square": (w * w).sum() / (b.exp() + 1).mean(),
    }


@pytest.mark.torch
def test_structure_matches_torch(torch: Any) -> None:
    ours = _programs(gv)
    theirs = _programs(torch)
    for name, t in ours.items():
        assert _our_structure(capture(t)) == _torch_structure(theirs[name]), name


def test_node_dicts_have_the_schema_constructors_keys_in_order() -> None:
    # capture writes node dicts out for speed; they must stay what the constructors make.
    w = gv.ones(2, requires_grad=True)
    g = capture((w * gv.ones(2)).sum(), inputs=True)
    expected = {
        "op": list(schema.op_node("X", 0)),
        "leaf": list(schema.leaf_node("x")),
        "output": list(schema.output_node("")),
    }
    for _, d in g.nodes(data=True):
        assert list(d) == expected[d["kind"]], d["label"]
    with record(values=True, inputs=True) as rec:
        (w * gv.ones(2)).sum().backward()
    for _, d in rec.graphs[0].nodes(data=True):
        if d["kind"] == "op":
            assert list(d) == expected["op"] + list(schema.OP_BACKWARD_KEYS)
        elif d["kind"] == "leaf":
            assert list(d) == expected["leaf"] + list(schema.LEAF_BACKWARD_KEYS)
