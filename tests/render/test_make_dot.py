"""``make_dot`` and ``render`` on real gradviz programs, compared with torchviz on PyTorch.

The differential tests run the same program in torch (drawn by torchviz) and in gradviz
(drawn by ``gradviz.make_dot``), parse both DOT sources, and require the same node labels
(op names; leaves ``name`` over ``(shape)``) and the same edges, up to node ids.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import graphviz
import networkx as nx
import numpy as np
import pytest

import gradviz
from gradviz.examples import seed as examples
from gradviz.renderers.graphviz import make_dot, render, render_dot
from gradviz.trace import capture, record
from tests.helpers.golden import assert_golden
from tests.render import dotparse

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")

Program = Callable[[ModuleType], tuple[Any, dict[str, Any]]]


def _leaf(lib: ModuleType, values: Any, name: str) -> Any:
    t = lib.tensor(np.asarray(values, dtype=np.float32), requires_grad=True)
    if lib is gradviz:
        t.name = name
    return t


def seed_program(lib: ModuleType) -> tuple[Any, dict[str, Any]]:
    w, x, b = (_leaf(lib, [v], n) for v, n in ((2.0, "w"), (3.0, "x"), (1.0, "b")))
    return w * x + b, {"w": w, "x": x, "b": b}


def tutorial_program(lib: ModuleType) -> tuple[Any, dict[str, Any]]:
    x = _leaf(lib, np.ones((2, 2)), "x")
    y = x + 2
    z = y * y * 3
    return z.mean(), {"x": x}


def mlp_program(lib: ModuleType) -> tuple[Any, dict[str, Any]]:
    rng = np.random.default_rng(0)
    params = {
        "layers.0.weight": _leaf(lib, rng.standard_normal((8, 4)), "layers.0.weight"),
        "layers.0.bias": _leaf(lib, rng.standard_normal(8), "layers.0.bias"),
        "layers.2.weight": _leaf(lib, rng.standard_normal((3, 8)), "layers.2.weight"),
        "layers.2.bias": _leaf(lib, rng.standard_normal(3), "layers.2.bias"),
    }
    x = lib.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    target = lib.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    h = lib.addmm(params["layers.0.bias"], x, params["layers.0.weight"].t()).relu()
    out = lib.addmm(params["layers.2.bias"], h, params["layers.2.weight"].t())
    return ((out - target) ** 2).mean(), params


def shared_leaf_program(lib: ModuleType) -> tuple[Any, dict[str, Any]]:
    a = _leaf(lib, [1.0, 2.0, 3.0], "a")
    c = _leaf(lib, [[0.5, -1.0, 2.0]], "c")
    y = (a + a) * c + a.exp() - c.sum(dim=1, keepdim=True)
    return y.tanh().sum(), {"a": a, "c": c}


def two_outputs_program(lib: ModuleType) -> tuple[Any, dict[str, Any]]:
    a = _leaf(lib, [[1.0, 2.0], [3.0, 4.0]], "a")
    b = _leaf(lib, [[0.5], [2.0]], "b")
    m = lib.matmul(a, b)
    return (m.sigmoid(), lib.cat([a, m], dim=1).softmax(dim=-1)), {"a": a, "b": b}


PROGRAMS = {
    "seed": seed_program,
    "tutorial": tutorial_program,
    "mlp": mlp_program,
    "shared_leaf": shared_leaf_program,
    "two_outputs": two_outputs_program,
}


def _normalized(dot: dotparse.Dot) -> nx.MultiDiGraph:
    r"""Nodes labelled by their label's stripped lines (torchviz writes ``name\\n (shape)``)."""
    g = nx.MultiDiGraph()
    for node, attrs in dot.nodes.items():
        lines = tuple(line.strip() for line in attrs.get("label", node).split("\n"))
        g.add_node(node, label=lines, fill=attrs.get("fillcolor", "grey"))
    for a, b, _ in dot.edges:
        g.add_edge(a, b)
    return g


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_graph_as_torchviz(name: str, torch: ModuleType) -> None:
    torchviz = pytest.importorskip("torchviz")
    program = PROGRAMS[name]
    torch_out, torch_params = program(torch)
    gv_out, _ = program(gradviz)
    expected = _normalized(dotparse.parse(torchviz.make_dot(torch_out, params=torch_params).source))
    actual = _normalized(dotparse.parse(make_dot(gv_out).source))

    labels = Counter(d["label"] for _, d in expected.nodes(data=True))
    assert Counter(d["label"] for _, d in actual.nodes(data=True)) == labels

    def edge_labels(g: nx.MultiDiGraph) -> Counter[tuple[Any, Any]]:
        return Counter((g.nodes[a]["label"], g.nodes[b]["label"]) for a, b in g.edges())

    assert edge_labels(actual) == edge_labels(expected)
    assert nx.is_isomorphic(
        actual,
        expected,
        node_match=lambda a, b: a["label"] == b["label"] and a["fill"] == b["fill"],
    )


# -- golden DOT for the seed examples and an MLP --------------------------------------------


def test_seed_golden() -> None:
    h, params = examples.seed_example()
    assert_golden("render/seed.dot", make_dot(h, params=params).source)


def test_tutorial_golden() -> None:
    out, _ = examples.tutorial_example()
    assert_golden(
        "render/tutorial_saved.dot", make_dot(out, show_saved=True, show_attrs=True).source
    )


def test_mlp_training_step_golden() -> None:
    model = examples.TinyMLP()
    x, target = examples.mlp_batch()
    with record() as rec:
        examples.mlp_training_step(model, x, target)
    (graph,) = rec.graphs
    # Gradient norms are float32 sums: render them with the structure, not in the golden.
    assert_golden("render/mlp_step.dot", render_dot(graph, grads=False, show_attrs=True))
    with_grads = dotparse.parse(render_dot(graph))
    assert all(
        "grad norm" in d["label"]
        for n, d in with_grads.nodes.items()
        if graph.nodes[n]["kind"] == "op"
    )


def test_same_program_same_bytes() -> None:
    first = make_dot(examples.TinyMLP()(examples.mlp_batch()[0]).sum(), show_attrs=True).source
    second = make_dot(examples.TinyMLP()(examples.mlp_batch()[0]).sum(), show_attrs=True).source
    assert first == second


# -- make_dot's behaviour ---------------------------------------------------------------------


def test_returns_a_digraph_jupyter_can_show() -> None:
    h, _ = examples.seed_example()
    dot = make_dot(h)
    assert isinstance(dot, graphviz.Digraph)
    assert hasattr(dot, "_repr_mimebundle_")
    assert gradviz.make_dot is make_dot and gradviz.render is render


def test_parameter_names_without_params() -> None:
    model = examples.TinyMLP()
    loss = model(examples.mlp_batch()[0]).sum()
    labels = {d["label"] for d in dotparse.parse(make_dot(loss).source).nodes.values()}
    assert {"layers.0.weight\n(8, 4)", "layers.2.bias\n(3)"} <= labels


def test_params_override_names() -> None:
    h, params = examples.seed_example()
    named = {"weight": params["w"]}
    labels = [d["label"] for d in dotparse.parse(make_dot(h, params=named).source).nodes.values()]
    assert "weight\n(1)" in labels and "x\n(1)" in labels


def test_params_must_be_a_dict() -> None:
    h, params = examples.seed_example()
    with pytest.raises(TypeError, match=r"params must be a dict of name -> tensor"):
        make_dot(h, params=list(params.values()))  # type: ignore[arg-type]


def test_works_after_backward_and_says_freed(torch: ModuleType) -> None:
    out, _ = examples.tutorial_example()
    out.backward()
    label = dotparse.parse(make_dot(out, show_saved=True).source).nodes
    freed = [d["label"] for d in label.values() if "saved: freed" in d["label"]]
    assert freed == ["MulBackward0\nsaved: freed"] * 2  # y*y saved y; (y*y)*3 saved the 3
    # torchviz cannot draw the same graph after backward.
    torchviz = pytest.importorskip("torchviz")
    t_out, _ = tutorial_program(torch)
    t_out.backward()
    with pytest.raises(RuntimeError, match="after they have already been freed"):
        torchviz.make_dot(t_out, show_saved=True)


def test_saved_leaf_is_an_edge_not_a_merged_node() -> None:
    h, params = examples.seed_example()
    dot = dotparse.parse(make_dot(h, params=params, show_saved=True).source)
    dashed = sorted(d["label"] for a, b, d in dot.edges if d.get("style") == "dashed")
    assert dashed == ["other", "self"]
    assert [d["fillcolor"] for d in dot.nodes.values() if "fillcolor" in d].count("orange") == 0


def test_dict_of_outputs_names_them() -> None:
    a = gradviz.ones(2, requires_grad=True)
    dot = dotparse.parse(make_dot({"double": a * 2, "total": a.sum()}).source)
    outputs = sorted(
        d["label"] for d in dot.nodes.values() if d.get("fillcolor") == "darkolivegreen1"
    )
    assert outputs == ["double\n(2)", "total\n()"]


def test_capture_and_record_draw_the_same_picture() -> None:
    x, target = examples.mlp_batch()
    captured_model = examples.TinyMLP()
    loss = ((captured_model(x) - target) ** 2).mean()
    captured = render_dot(capture(loss))
    with record() as rec:
        examples.mlp_training_step(examples.TinyMLP(), x, target)
    assert render_dot(rec.graphs[0], grads=False) == captured


@needs_dot
def test_torchviz_style_render_call_works_unchanged(tmp_path: Path) -> None:
    h, params = examples.seed_example()
    written = make_dot(h, params=params).render(str(tmp_path / "graph"), format="pdf")
    assert Path(written) == tmp_path / "graph.pdf"
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", written, "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "MulBackward0" in text and "AddBackward0" in text


@needs_dot
def test_render_a_tensor_directly(tmp_path: Path) -> None:
    out, _ = examples.tutorial_example()
    path = gradviz.render(out, tmp_path / "graph.svg", show_saved=True)
    svg = path.read_text()
    assert "MeanBackward0" in svg and "AddBackward0" in svg and "self" in svg
    path = render((out, out * 2), tmp_path / "two.dot")
    assert path.read_text().count("darkolivegreen1") == 2


def test_deep_graphs_have_no_recursion_limit(torch: ModuleType) -> None:
    def chain(lib: ModuleType) -> Any:
        x = _leaf(lib, [1.0, 2.0], "x")
        h = x
        for _ in range(1200):  # deeper than Python's default recursion limit of 1000
            h = h.tanh()
        return h.sum()

    dot = dotparse.parse(make_dot(chain(gradviz)).source)
    assert len(dot.nodes) == 1200 + 4  # tanh ops, sum, AccumulateGrad, leaf, output
    torchviz = pytest.importorskip("torchviz")
    with pytest.raises(RecursionError):
        torchviz.make_dot(chain(torch))


# -- inputs that need no gradient ---------------------------------------------------------------


def test_make_dot_shows_inputs_only_when_asked() -> None:
    gradviz.manual_seed(0)
    layer = gradviz.nn.Linear(4, 3)
    x = gradviz.randn(5, 4)
    x.name = "batch"
    y = layer(x).sum()
    hidden = dotparse.parse(make_dot(y).source)
    assert not any(d.get("fillcolor") == "white" for d in hidden.nodes.values())
    shown = dotparse.parse(make_dot(y, show_inputs=True).source)
    (batch,) = [n for n, d in shown.nodes.items() if d.get("fillcolor") == "white"]
    assert shown.nodes[batch]["label"] == "batch\n(5, 4)"
    (head,) = [b for a, b, _ in shown.edges if a == batch]
    assert shown.nodes[head]["label"] == "AddmmBackward0"
    # All other nodes are drawn as before, under the same ids.
    assert {n: d for n, d in shown.nodes.items() if n != batch} == hidden.nodes


def test_render_a_tensor_with_inputs(tmp_path: Path) -> None:
    w = gradviz.ones(3, requires_grad=True)
    x = gradviz.tensor([1.0, 2.0, 3.0])
    x.name = "x"
    path = render((w * x).sum(), tmp_path / "g.dot", show_inputs=True)
    assert 'label="x\n(3)" fillcolor=white' in path.read_text()


def test_recorded_inputs_are_drawn_even_when_nothing_saved_them() -> None:
    b = gradviz.ones(3, requires_grad=True)
    mask = gradviz.tensor([1.0, 0.0, 1.0])
    mask.name = "mask"
    with record(inputs=True) as rec:
        (b + mask).sum().backward()  # AddBackward0 saves nothing: capture cannot see mask
    dot = dotparse.parse(render_dot(rec.graphs[0], show_inputs=True))
    assert [d["label"] for d in dot.nodes.values() if d.get("fillcolor") == "white"] == [
        "mask\n(3)"
    ]


# -- a model of repeated blocks ----------------------------------------------------------------


class Block(gradviz.nn.Module):
    """A residual block: ``x + relu(norm(fc(x)))``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = gradviz.nn.Linear(8, 8)
        self.norm = gradviz.nn.LayerNorm(8)

    def forward(self, x: Any) -> Any:  # noqa: D102 - nn.Module's forward
        return x + self.norm(self.fc(x)).relu()


class Stack(gradviz.nn.Module):
    """An embedding, ``n_blocks`` identical blocks in ``layers``, and a head."""

    def __init__(self, n_blocks: int = 12) -> None:
        super().__init__()
        self.embed = gradviz.nn.Linear(4, 8)
        self.layers = gradviz.nn.ModuleList([Block() for _ in range(n_blocks)])
        self.head = gradviz.nn.Linear(8, 2)

    def forward(self, x: Any) -> Any:  # noqa: D102 - nn.Module's forward
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h)
        return self.head(h)


def _stack_loss() -> Any:
    gradviz.manual_seed(0)
    return Stack()(gradviz.randn(3, 4)).sum()


def test_a_model_of_repeated_blocks_folds_into_one_cluster() -> None:
    graph = capture(_stack_loss())
    assert graph.number_of_nodes() == 170
    source = render_dot(graph, fold_repeats=True)
    dot = dotparse.parse(source)
    assert dot.clusters["cluster_layers.0"]["label"] == "layers.0\u201311 (\u00d712)"
    assert not any(name.startswith("cluster_layers.1") for name in dot.clusters)
    ops = Counter(d["label"] for d in dot.nodes.values() if "fillcolor" not in d)
    assert ops["NativeLayerNormBackward0"] == 1 and ops["AddmmBackward0"] == 3  # embed, fc, head
    assert_golden("render/repeated_blocks_model.dot", source)


def test_a_model_of_repeated_blocks_folds_to_fit_the_budget() -> None:
    graph = capture(_stack_loss())
    dot = dotparse.parse(render_dot(graph, max_nodes=40))
    assert dot.graph_attrs["label"] == (
        "170 nodes exceed the budget of 40: repeated blocks are folded (27 drawn)"
    )
    assert len(dot.nodes) == 27
    # Recording the same step draws the same folded picture.
    with record() as rec:
        _stack_loss().backward()
    assert render_dot(rec.graphs[0], max_nodes=40, grads=False) == render_dot(graph, max_nodes=40)
