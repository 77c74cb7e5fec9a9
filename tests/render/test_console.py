"""Rich console views: golden text at a fixed width without colour, and their behaviour."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest

from gradviz.renderers import console
from gradviz.renderers.console import (
    describe_model,
    fmt_bytes,
    fmt_number,
    fmt_shape,
    grad_table,
    graph_tree,
    graph_warnings,
    inspect,
    inspect_graph,
    make_console,
    model_view,
    neighbourhood_tree,
    node_view,
    params_table,
    summary_panel,
    to_text,
)
from tests.debugger.fixtures import GraphBuilder, mlp_graph, nan_graph
from tests.helpers.golden import assert_golden


def test_inspect_mlp_golden() -> None:
    assert_golden("console/mlp_inspect.txt", to_text(inspect_graph(mlp_graph())))


def test_inspect_nan_golden_depth_limited() -> None:
    text = to_text(inspect_graph(nan_graph(), max_depth=2))
    assert_golden("console/nan_inspect_depth2.txt", text)


def test_tree_collapsed_by_module_golden() -> None:
    text = to_text(graph_tree(mlp_graph(), collapse=True))
    assert_golden("console/mlp_tree_collapsed.txt", text)
    assert "module fc1  (6 nodes: AccumulateGrad x2, AddmmBackward0 x1, TBackward0 x1)" in text
    assert "params fc1.weight, fc1.bias" in text
    only_fc1 = to_text(graph_tree(mlp_graph(), collapse=["fc1"]))
    assert "module fc1" in only_fc1 and "module fc2" not in only_fc1
    assert "MmBackward0 [n10]" in only_fc1


def test_node_view_golden() -> None:
    graph = nan_graph()
    text = to_text(
        node_view(graph, "n2", position=(4, 5), notes=["Breakpoint 1: nan"]),
        node_view(graph, "n0", position=(5, 5)),
        node_view(graph, "n5", position=(2, 5), phase="before"),
        neighbourhood_tree(graph, "n5"),
    )
    assert_golden("console/node_views.txt", text)


def test_model_view_golden() -> None:
    info = {
        "type": "Net",
        "modules": [
            {"path": "", "type": "Net", "parameters": [], "buffers": []},
            {
                "path": "fc1",
                "type": "Linear",
                "parameters": [
                    {"name": "weight", "shape": (4, 3), "dtype": "float32", "trainable": True},
                    {"name": "bias", "shape": (4,), "dtype": "float32", "trainable": False},
                ],
                "buffers": [],
            },
            {
                "path": "bn",
                "type": "BatchNorm1d",
                "parameters": [],
                "buffers": [
                    {"name": "running_mean", "shape": (4,), "dtype": "float32", "persistent": True},
                    {"name": "scratch", "shape": (4,), "dtype": "float32", "persistent": False},
                ],
            },
        ],
        "state_dict": ["fc1.weight", "fc1.bias", "bn.running_mean"],
    }
    text = to_text(model_view(info))
    assert_golden("console/model_view.txt", text)
    assert "16 parameter elements, 12 trainable" in text


class _FakeParam(SimpleNamespace):
    pass


class _FakeModule:
    """The nn.Module surface describe_model reads, without gradviz.nn."""

    def __init__(
        self,
        params: dict[str, Any],
        buffers: dict[str, Any],
        children: dict[str, Any],
        non_persistent: set[str] | None = None,
    ) -> None:
        self._parameters = params
        self._buffers = buffers
        self._modules = children
        self._non_persistent_buffers_set = non_persistent or set()

    def named_modules(self, prefix: str = "") -> Any:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def state_dict(self) -> dict[str, Any]:
        out = {}
        for path, module in self.named_modules():
            dot = f"{path}." if path else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    out[dot + name] = b
        return out


class Linear(_FakeModule):
    """A fake layer (its class name is what the view shows)."""


class Net(_FakeModule):
    """A fake model."""


def _fake_model() -> Net:
    dtype = SimpleNamespace(name="float32")
    weight = _FakeParam(shape=(2, 3), dtype=dtype, requires_grad=True)
    bias = _FakeParam(shape=(2,), dtype=dtype, requires_grad=False)
    steps = _FakeParam(shape=(), dtype=SimpleNamespace(name="int64"), requires_grad=False)
    fc = Linear({"weight": weight, "bias": bias, "unused": None}, {}, {})
    return Net({}, {"steps": steps, "tmp": steps}, {"fc": fc}, non_persistent={"tmp"})


def test_describe_model_reads_the_module_api() -> None:
    info = describe_model(_fake_model())
    assert info["type"] == "Net"
    assert [m["path"] for m in info["modules"]] == ["", "fc"]
    assert info["modules"][1]["parameters"] == [
        {"name": "weight", "shape": (2, 3), "dtype": "float32", "trainable": True},
        {"name": "bias", "shape": (2,), "dtype": "float32", "trainable": False},
    ]
    assert info["modules"][0]["buffers"] == [
        {"name": "steps", "shape": (), "dtype": "int64", "persistent": True},
        {"name": "tmp", "shape": (), "dtype": "int64", "persistent": False},
    ]
    assert info["state_dict"] == ["steps", "fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="describe_model\\(\\) needs an nn.Module, got int"):
        describe_model(3)


def test_inspect_dispatch() -> None:
    buffer = io.StringIO()
    out = make_console(buffer, width=100)
    inspect(_fake_model(), console=out)
    inspect([nan_graph(), mlp_graph()], console=out, timings=False)
    text = buffer.getvalue()
    assert "fc (Linear)" in text and "frozen (requires_grad=False)" in text
    line = next(ln for ln in text.splitlines() if "op nodes ran" in ln)
    assert "graph (iteration 3)" in text
    assert "9 of 9 op nodes ran" in line and " ms" not in line
    with pytest.raises(TypeError, match="inspect\\(\\) cannot show a int"):
        inspect(3, console=out)
    tensor = SimpleNamespace(grad_fn=None, requires_grad=False)
    with pytest.raises(TypeError, match="inspect\\(\\) got a tensor without a graph"):
        inspect(tensor, console=out)


def test_summary_without_backward_and_timings() -> None:
    b = GraphBuilder(how="capture", iteration=None)
    acc = b.param("w", (2,))
    b.output(b.op("SumBackward0", [acc], ()))
    graph = b.build()
    text = to_text(summary_panel(graph))
    assert "backward      not recorded" in text
    assert "no backward recorded" in to_text(grad_table(graph))
    assert graph_warnings(graph) == []
    recorded = to_text(summary_panel(nan_graph()))
    assert "5 of 5 op nodes ran in 1.25 ms" in recorded
    assert "in 1.25 ms" not in to_text(summary_panel(nan_graph(), timings=False))


def test_params_table_without_values() -> None:
    text = to_text(params_table(mlp_graph(values=False)))
    assert "fc1.weight   (4, 3)   float32           0            -   100.0%" in text
    assert "fc2.weight   (1, 4)   float32           1            -        -" in text


def test_warnings() -> None:
    found = graph_warnings(mlp_graph())
    assert found == [
        "fc1.weight: gradient is exactly zero everywhere",
        "fc1.bias: gradient is exactly zero everywhere",
        "dead ReLU: ReluBackward0 [n6] in act passed no gradient: every unit is inactive",
    ]
    nan_found = graph_warnings(nan_graph())
    assert nan_found[0].startswith(
        "non-finite gradients start at SqrtBackward0 [n2] (finite gradients in, NaN/Inf out)"
    )
    tiny = GraphBuilder()
    small = tiny.param("small", (1,))
    big = tiny.param("big", (1,))
    dead = tiny.param("dead", (1,))
    add = tiny.op("AddBackward0", [small, big, dead], (1,))
    tiny.output(add, (1,))
    graph = tiny.record(
        [
            (add, [[1.0]], [[1e-9], [1e6], None]),
            (small, [[1e-9]], []),
            (big, [[1e6]], []),
        ]
    )
    assert graph_warnings(graph) == [
        "small: vanishing gradient (norm 1e-09 < 1e-07)",
        "big: exploding gradient (norm 1e+06 > 10000)",
        "dead: no gradient: it is in the graph but no gradient reached it (its branch carried "
        "none, or backward(inputs=...) left it out)",
    ]


def test_formatting_helpers() -> None:
    assert fmt_number(0.000123456) == "0.0001235"
    assert fmt_number(float("-inf")) == "-inf"
    assert fmt_number(3) == "3"
    assert fmt_number(True) == "True"
    assert fmt_shape([2, 3]) == "(2, 3)"
    assert fmt_bytes(5 * 1024 * 1024) == "5.0 MiB"
    assert fmt_bytes(3 * 1024**4) == "3072.0 GiB"


def test_output_is_deterministic_and_width_bound() -> None:
    first = to_text(inspect_graph(mlp_graph()), width=100)
    second = to_text(inspect_graph(mlp_graph()), width=100)
    assert first == second
    assert max(len(line) for line in first.splitlines()) <= 100
    narrow = to_text(inspect_graph(mlp_graph()), width=60)
    assert max(len(line) for line in narrow.splitlines()) <= 60


def test_make_console_plain_when_not_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = make_console(io.StringIO())
    assert plain.width == 100 and plain.color_system is None

    class FakeTty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = make_console(FakeTty(), width=80)
    assert coloured.color_system is not None
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_console(FakeTty(), width=80).color_system is None


def test_labels_are_not_markup() -> None:
    b = GraphBuilder()
    acc = b.param("[bold]w[/bold]", (1,))
    b.output(b.op("SumBackward0", [acc], ()))
    text = to_text(console.graph_tree(b.build()))
    assert "leaf '[bold]w[/bold]' [n1]" in text


# ---------------------------------------------------------------------------- end to end


def test_inspect_a_tensor_through_capture() -> None:
    import gradviz

    w = gradviz.tensor([1.0, 2.0], requires_grad=True)
    w.name = "w"
    buffer = io.StringIO()
    inspect((w * w).sum(), console=make_console(buffer, width=100))
    text = buffer.getvalue()
    assert "not recorded" in text
    assert "SumBackward0 [n3]" in text and "leaf 'w' [n1]" in text


def _cli_inspect(*args: str) -> Any:
    from click.testing import CliRunner

    from gradviz.cli.inspect import inspect as inspect_command

    return CliRunner().invoke(inspect_command, list(args))


DEAD_RELU_SCRIPT = """\
import gradviz

w1 = gradviz.tensor([[1.0, 2.0], [0.5, 1.0]], requires_grad=True)
w1.name = "w1"
w2 = gradviz.tensor([[2.0, 3.0]], requires_grad=True)
w2.name = "w2"
frozen = gradviz.tensor([1.0, 1.0], requires_grad=True)
frozen.name = "frozen"
x = gradviz.tensor([[-1.0, -1.0], [-2.0, -3.0]])
for step in range(2):
    h = (x @ w1.t()).relu()          # every pre-activation is negative: a dead ReLU
    loss = (h @ w2.t()).mean() + (frozen * 0).sum()
    loss.backward()
"""


def test_cli_inspect_script_golden(tmp_path: Any) -> None:
    script = tmp_path / "dead.py"
    script.write_text(DEAD_RELU_SCRIPT)
    result = _cli_inspect(str(script), "--no-timings")
    assert result.exit_code == 0, result.output
    assert "graph (iteration 1)" in result.output
    assert "dead ReLU: ReluBackward0" in result.output
    assert "w1: gradient is exactly zero everywhere" in result.output
    assert_golden("console/cli_inspect_dead_relu.txt", result.output)
    first = _cli_inspect(f"{script}:0", "--no-timings", "--depth", "2", "--collapse", "all")
    assert first.exit_code == 0, first.output
    assert "graph (iteration 0)" in first.output
    assert "more nodes below" in first.output


def test_cli_inspect_trace_file_and_errors(tmp_path: Any) -> None:
    from gradviz.trace import save

    path = save([nan_graph(), mlp_graph()], tmp_path / "two.gvz")
    result = _cli_inspect(str(path), "--iteration", "0", "--no-timings", "--width", "80")
    assert result.exit_code == 0, result.output
    assert "non-finite gradients start at SqrtBackward0 [n2]" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    missing = _cli_inspect(str(tmp_path / "nope.gvz"))
    assert missing.exit_code == 1 and "does not exist" in missing.output
    wrong = _cli_inspect(f"{path}:0", "--iteration", "1")
    assert wrong.exit_code == 1 and "Give one of them" in wrong.output
    absent = _cli_inspect(str(path), "--iteration", "9")
    assert absent.exit_code == 1 and "there is no iteration 9" in absent.output


def test_model_view_of_a_real_module_golden() -> None:
    import gradviz

    model = gradviz.nn.Sequential(
        gradviz.nn.Linear(3, 4),
        gradviz.nn.ReLU(),
        gradviz.nn.BatchNorm1d(4),
        gradviz.nn.Linear(4, 1),
    )
    model[0].bias.requires_grad_(False)
    model[2].register_buffer("scratch", gradviz.zeros(2), persistent=False)
    info = describe_model(model)
    assert info["state_dict"] == list(model.state_dict().keys())
    assert "2.scratch" not in info["state_dict"]
    buffer = io.StringIO()
    inspect(model, console=make_console(buffer, width=100))
    assert_golden("console/model_view_sequential.txt", to_text(model_view(info)))
    assert buffer.getvalue().count("trainable") >= 5


def test_model_view_title_of_a_narrow_key_list_stays_on_one_line() -> None:
    import gradviz

    info = describe_model(gradviz.nn.Linear(2, 2))
    assert info["state_dict"] == ["weight", "bias"]
    text = to_text(model_view(info))
    assert_golden("console/model_view_tiny.txt", text)
    lines = text.splitlines()
    assert "state_dict: 2 keys" in lines
    assert not any(line in ("state_dict", ": 2 keys", "keys") for line in lines)


def test_model_view_singular_and_empty_state_dict() -> None:
    one = {
        "type": "Scale",
        "modules": [
            {
                "path": "",
                "type": "Scale",
                "parameters": [{"name": "w", "shape": (), "dtype": "float32", "trainable": True}],
                "buffers": [],
            }
        ],
        "state_dict": ["w"],
    }
    assert to_text(model_view(one)).splitlines()[-4:] == ["state_dict: 1 key", "", "  w", ""]
    empty = {"type": "Identity", "modules": [], "state_dict": []}
    assert to_text(model_view(empty)) == (
        "Identity\n0 parameter elements, 0 trainable\nstate_dict: 0 keys\n"
    )


def test_inputs_that_need_no_grad_are_not_listed_as_parameters() -> None:
    import io

    from rich.console import Console

    import gradviz
    from gradviz.renderers.console import params_table

    w = gradviz.ones(3, requires_grad=True)
    w.name = "w"
    x = gradviz.ones(3)
    x.name = "data_x"
    graph = gradviz.trace.capture((w * x).sum(), inputs=True)
    assert any(d.get("requires_grad") is False for _, d in graph.nodes(data=True))
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(params_table(graph))
    assert "w" in out.getvalue()
    assert "data_x" not in out.getvalue()
