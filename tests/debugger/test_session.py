"""The debugger's command loop, live and replayed, driven by scripted commands."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.debugger import Debugger, DebuggerError, parse_breakpoint, replay
from gradviz.engine.events import bus, module_scope
from gradviz.renderers.console import make_console
from tests.debugger.fixtures import nan_graph
from tests.helpers.golden import assert_golden


def _console() -> tuple[Any, io.StringIO]:
    buffer = io.StringIO()
    return make_console(buffer, width=100, color=False), buffer


def _text(buffer: io.StringIO) -> str:
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _nan_program() -> tuple[gradviz.Tensor, gradviz.Tensor, gradviz.Tensor]:
    """``loss = (x.sqrt() * w).sum()`` with x = [1, 4, 0]: SqrtBackward0 makes Inf."""
    x = gradviz.tensor([1.0, 4.0, 0.0], requires_grad=True)
    x.name = "x"
    w = gradviz.tensor([2.0, 3.0, 1.0], requires_grad=True)
    w.name = "w"
    loss = (x.sqrt() * w).sum()
    loss.name = "loss"
    return x, w, loss


def _session(commands: str, program: Any = _nan_program, **options: Any) -> tuple[Debugger, str]:
    *_, loss = program()
    console, buffer = _console()
    with Debugger(commands=commands, console=console, **options) as debugger:
        loss.backward()
    return debugger, _text(buffer)


# ---------------------------------------------------------------------------- golden sessions


def test_scripted_live_session_golden() -> None:
    _, text = _session("s;p grad_in;l;b nan;c;p grad_out;p saved;c")
    assert_golden("debugger/live_nan_session.txt", text)


def test_scripted_replay_session_golden() -> None:
    console, buffer = _console()
    stops = replay(nan_graph(), commands="n 2;b nan;c;p grad_out 0;c", console=console)
    assert stops == 3
    assert_golden("debugger/replay_nan_session.txt", _text(buffer))


def test_replay_without_values_prints_summaries() -> None:
    console, buffer = _console()
    replay(nan_graph(values=False), commands="n 3;p grad_out;p saved result;q", console=console)
    text = _text(buffer)
    assert "saved result: (3,) float32 (its values were not recorded)" in text
    assert "grad_out[0]: (3,) float32 norm 1.25 min 0.75 max 1 mean 0.875 NaN 0 Inf 1" in text
    assert "record with values=True to print arrays" in text
    assert text.rstrip().endswith("quit")


# ---------------------------------------------------------------------------- order vs torch


def _branchy(lib: Any, dtype: Any) -> tuple[Any, list[Any]]:
    x = lib.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=dtype, requires_grad=True)
    y = lib.tensor([[1.5, 0.5], [-0.5, 1.0]], dtype=dtype, requires_grad=True)
    a = x * y
    b = a.exp()
    c = a.sin()
    d = (b * c + x) @ y.t()
    loss = d.sum() + (y**2).mean() + x.tanh().relu().sum()
    return loss, [x, y]


def _torch_order(torch: Any, loss: Any) -> list[str]:
    order: list[str] = []
    seen = set()
    stack = [loss.grad_fn]
    handles = []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        handles.append(node.register_hook(lambda gi, go, n=node: order.append(n.name())))
        stack.extend(fn for fn, _ in node.next_functions)
    loss.backward()
    for handle in handles:
        handle.remove()
    return [name.replace("torch::autograd::", "") for name in order]


def test_visit_order_matches_pytorch_execution_order(torch: Any) -> None:
    expected = _torch_order(torch, _branchy(torch, torch.float64)[0])
    loss, _ = _branchy(gradviz, gradviz.float64)
    console, _ = _console()
    with Debugger(commands="c", console=console) as debugger:
        loss.backward()
    visited = [name for _, name in debugger.session.visited]
    assert visited == expected


def test_stepping_visits_every_node_once_in_order(torch: Any) -> None:
    expected = _torch_order(torch, _branchy(torch, torch.float32)[0])
    loss, _ = _branchy(gradviz, gradviz.float32)
    console, buffer = _console()
    with Debugger(commands=";".join(["s"] * 40), console=console) as debugger:
        loss.backward()
    headers = [line for line in _text(buffer).splitlines() if line.startswith("[")]
    assert len(headers) == len(expected)
    for k, (line, name) in enumerate(zip(headers, expected, strict=True)):
        assert line.startswith(f"[{k + 1}/{len(expected)}] {name} [")
    assert debugger.session.stops == len(expected)


# ---------------------------------------------------------------------------- quitting


@pytest.mark.parametrize("quit_after", range(5))
@pytest.mark.parametrize("preset", [False, True])
def test_quit_leaves_every_grad_as_before(quit_after: int, preset: bool) -> None:
    x, w, loss = _nan_program()
    before = {}
    if preset:
        x.grad = gradviz.tensor([10.0, 20.0, 30.0])
        w.grad = gradviz.tensor([-1.0, -2.0, -3.0])
    for name, t in (("x", x), ("w", w)):
        before[name] = None if t.grad is None else t.grad.numpy().copy()
    console, buffer = _console()
    commands = ";".join(["s"] * quit_after + ["q"])
    with Debugger(commands=commands, console=console):
        loss.backward()
    assert not bus.listeners
    for name, t in (("x", x), ("w", w)):
        if before[name] is None:
            assert t.grad is None, f"{name}.grad was written although the backward was quit"
        else:
            np.testing.assert_array_equal(t.grad.numpy(), before[name])
    assert "quit: the backward was stopped; every .grad is as it was before it" in _text(buffer)


def test_quit_then_backward_again_gives_the_normal_gradients() -> None:
    x, w, loss = _nan_program()
    console, _ = _console()
    with Debugger(commands="s;s;s;q", console=console):
        loss.backward(retain_graph=True)
    assert x.grad is None and w.grad is None
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.array([1.0, 2.0, 0.0], np.float32))


def test_listener_removed_when_the_block_raises() -> None:
    console, _ = _console()
    with pytest.raises(ValueError, match="boom"):
        with Debugger(commands="c", console=console):
            raise ValueError("boom")
    assert not bus.listeners


def test_debugger_cannot_be_entered_twice() -> None:
    console, _ = _console()
    debugger = Debugger(commands="c", console=console)
    with debugger:
        with pytest.raises(RuntimeError, match="already active"):
            debugger.__enter__()
    assert not bus.listeners


def test_errors_of_the_backward_propagate_and_the_listener_goes() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.sum().backward(retain_graph=False)
    console, buffer = _console()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        with Debugger(commands="c", console=console):
            y.sum().backward()
    assert not bus.listeners
    assert "backward stopped by an error" in _text(buffer)


# ---------------------------------------------------------------------------- commands


def test_next_n_runs_n_nodes() -> None:
    debugger, text = _session("n 3;c")
    headers = [line for line in text.splitlines() if line.startswith("[")]
    assert [h.split(" ")[0] for h in headers] == ["[1/5]", "[4/5]"]
    assert headers[1].startswith("[4/5] SqrtBackward0 [n2]")


def test_empty_line_repeats_the_last_command() -> None:
    _, text = _session("n 2;;c")
    headers = [line.split(" ")[0] for line in text.splitlines() if line.startswith("[")]
    assert headers == ["[1/5]", "[3/5]", "[5/5]"]


def test_breakpoint_on_op_name_module_and_clear() -> None:
    def program() -> tuple[Any, ...]:
        x = gradviz.tensor([1.0, 2.0], requires_grad=True)
        with module_scope("encoder.0"):
            h = (x * 3).exp()
        with module_scope("head"):
            out = h.tanh().sum()
        return x, out

    _, text = _session("b exp;b head;b;c;c;cl 1;b;cl;b;c", program)
    assert "Breakpoint 1: exp (op name or module)" in text
    assert "Breakpoint 2: head (op name or module)" in text
    stops = [line for line in text.splitlines() if line.startswith("[")]
    # stops: first node (step), then head's nodes, then exp
    assert stops[0].startswith("[1/5] SumBackward0 [n") and "in head" in stops[0]
    assert stops[1].startswith("[2/5] TanhBackward0") and "in head" in stops[1]
    assert stops[2].startswith("[3/5] ExpBackward0") and "in encoder.0" in stops[2]
    assert "cleared breakpoint 1" in text
    assert "cleared 1 breakpoint\n" in text
    assert "no breakpoints" in text
    assert "2: head (op name or module), hit 1 time" in text


def test_norm_breakpoint_stops_after_the_node() -> None:
    _, text = _session("b norm>3;c;c")
    assert "[2/5] MulBackward0 [n5] (just ran)" in text
    assert (
        "Breakpoint 1: norm>3 (a produced gradient's norm above 3), hit 1 time: gradient norm 3.742"
        in text
    )


def test_bad_commands_say_what_is_wrong_and_continue() -> None:
    _, text = _session("frobnicate;b norm>abc;n x;n 0;p grad_in 7;p saved nope;p stuff;cl 9;c")
    assert "*** unknown command 'frobnicate'. Type h for the list of commands." in text
    assert "*** b norm>abc: 'abc' is not a number. Fix: b norm>1e3" in text
    assert "*** n x: N must be a whole number, like n 3." in text
    assert "*** n 0: N must be at least 1." in text
    assert "*** p grad_in 7: this node has 1 slot(s), 0 to 0." in text
    assert "*** p saved nope: this node saved nothing" not in text
    assert "this node saved no tensors" in text
    assert "*** p stuff: print what? Give grad_in [I], grad_out [I] or saved [NAME]." in text
    assert "*** no breakpoint 9; b lists them." in text
    assert "backward finished: 5 nodes ran" in text


def test_more_bad_arguments() -> None:
    _, text = _session("s x;l x;cl x;p grad_in x;c")
    assert "*** s takes no argument; to run several nodes use n N." in text
    assert "*** l x: the depth must be a number." in text
    assert "*** cl x: give a breakpoint number (b lists them)." in text
    assert "*** p grad_in x: the slot must be a number." in text


def test_parse_breakpoint_errors() -> None:
    with pytest.raises(DebuggerError, match="b needs a spec"):
        parse_breakpoint("  ")
    with pytest.raises(DebuggerError, match="is not a number"):
        parse_breakpoint("norm<x")
    with pytest.raises(DebuggerError, match="one op name or module path at a time"):
        parse_breakpoint("mul add")
    bp = parse_breakpoint("MulBackward0")
    assert bp.matches_node("MulBackward0", None)
    assert parse_breakpoint("mul").matches_node("MulBackward0", None)
    assert not parse_breakpoint("mul").matches_node("MmBackward0", None)
    assert parse_breakpoint("layers").matches_node("AddBackward0", "layers.0")
    assert not parse_breakpoint("layers").matches_node("AddBackward0", "layers2")


def test_print_before_run_and_saved() -> None:
    _, text = _session("n 3;p grad_out;p saved;p saved result;s;p grad_in 0;p grad_out;c")
    assert "SqrtBackward0 [n2] has not run yet: s runs it and shows what it produced." in text
    assert "result: (3,) float32 12 B" in text
    assert "saved result: (3,) float32\n  [1., 2., 0.]" in text
    assert "grad_in[0]: (3,) float32\n  [1.  , 0.75,  inf]" in text
    assert "AccumulateGrad [n0] sends no gradient on: it adds grad_in into .grad of leaf" in text


def test_help_lists_every_command() -> None:
    _, text = _session("h;h b;h zz;c")
    for command in (
        "s, step",
        "n [N], next [N]",
        "c, continue",
        "cl [N]",
        "p grad_in",
        "w, where",
        "l, list",
        "g [PATH]",
        "why PARAM",
        "q, quit",
    ):
        assert command in text
    assert "norm>X" in text
    assert "*** no command 'zz'." in text


def test_where_without_and_with_anomaly_mode() -> None:
    _, text = _session("w;c")
    assert "no forward stack recorded for SumBackward0 [n6]" in text
    with gradviz.autograd.set_detect_anomaly(True, check_nan=False):
        x, w, loss = _nan_program()
    console, buffer = _console()
    with Debugger(commands="w;c", console=console):
        loss.backward()
    text = _text(buffer)
    assert "SumBackward0 [n6] was made by:" in text
    assert "test_session.py" in text
    assert "loss = (x.sqrt() * w).sum()" in text


def test_record_stacks_without_anomaly_mode() -> None:
    console, buffer = _console()
    with Debugger(commands="s;w;c", console=console, record_stacks=True):
        x = gradviz.tensor([4.0], requires_grad=True)
        y = x.sqrt()  # the line `w` must show
        y.sum().backward()
    text = _text(buffer)
    assert "SqrtBackward0 [n2] was made by:" in text
    assert "y = x.sqrt()  # the line `w` must show" in text


WHERE_MODULE = """\
import gradviz


def scaled(x):
    return x * 3.0  # made in a user module
"""

WHERE_SCRIPT = """\
import gradviz
from where_helper import scaled


def main():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    loss = scaled(x).sum()
    loss.backward()


main()
"""


def _where_script(folder: Path) -> Path:
    (folder / "where_helper.py").write_text(WHERE_MODULE)
    script = folder / "where_script.py"
    script.write_text(WHERE_SCRIPT)
    return script


def _where_block(text: str, title: str) -> list[str]:
    """The lines ``w`` printed for ``title``, up to the next prompt."""
    lines = text.splitlines()
    start = lines.index(f"{title} was made by:")
    end = next(k for k in range(start, len(lines)) if lines[k].startswith("(gradviz)"))
    return lines[start + 1 : end]


def test_where_under_anomaly_shows_only_the_users_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradviz.debugger import step

    script = _where_script(tmp_path)
    monkeypatch.chdir(tmp_path)
    console, buffer = _console()
    try:
        step(script.resolve(), commands="w;s;w;c", console=console, anomaly=True)
    finally:
        sys.modules.pop("where_helper", None)
    text = _text(buffer)
    # pdb's `where`: outermost first, "> " on the innermost frame, "-> " before its line,
    # paths relative to the current directory; pytest's, pluggy's and gradviz's frames
    # (the debugger's exec of the script) are left out.
    assert _where_block(text, "SumBackward0 [n3]") == [
        "  where_script.py(11)<module>()",
        "-> main()",
        "> where_script.py(7)main()",
        "-> loss = scaled(x).sum()",
    ]
    assert _where_block(text, "MulBackward0 [n2]") == [
        "  where_script.py(11)<module>()",
        "-> main()",
        "  where_script.py(7)main()",
        "-> loss = scaled(x).sum()",
        "> where_helper.py(5)scaled()",
        "-> return x * 3.0  # made in a user module",
    ]
    for library in ("_pytest", "pluggy", "gradviz/", "session.py", "File "):
        assert library not in text


def test_where_from_the_command_line_leaves_out_click_runpy_and_gradviz(tmp_path: Path) -> None:
    script = _where_script(tmp_path)
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "gradviz", "step", "--anomaly", "-c", "w;c", str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    where = _where_block(result.stdout, "SumBackward0 [n3]")
    assert where == [
        "  where_script.py(11)<module>()",
        "-> main()",
        "> where_script.py(7)main()",
        "-> loss = scaled(x).sum()",
    ]
    for library in ("click", "runpy", "gradviz/cli", "gradviz/debugger", "__main__"):
        assert library not in result.stdout


def test_where_over_a_trace_with_stacks_of_other_shapes() -> None:
    graph = nan_graph()
    library = [
        '  File "<frozen runpy>", line 88, in _run_code\n',
        f'  File "{Path(os.__file__)}", line 10, in fake\n    fake()\n    ^^^^^^\n',
    ]
    graph.nodes["n6"]["traceback"] = library
    graph.nodes["n5"]["traceback"] = ["made by a notebook cell 3\n"]
    user = '  File "/elsewhere/train.py", line 4, in <module>\n    y = f(x)\n        ~^^^\n'
    graph.nodes["n3"]["traceback"] = library + [user]
    console, buffer = _console()
    replay(graph, commands="w;s;w;s;w;c", console=console)
    text = _text(buffer)
    # Library frames only: nothing is hidden; the whole stack says so.
    assert "SumBackward0 [n6] was made by library code only; its whole stack:" in text
    assert f"> {Path(os.__file__)}(10)fake()\n-> fake()\n" in text
    assert "^^^" not in text and "~^" not in text
    # Text that is no Python stack is shown as it is.
    assert "MulBackward0 [n5] was made by:\nmade by a notebook cell 3\n" in text
    # A path outside the current directory stays absolute.
    assert _where_block(text, "AccumulateGrad [n3]") == [
        "> /elsewhere/train.py(4)<module>()",
        "-> y = f(x)",
    ]


def test_graph_command_renders_with_highlight(tmp_path: Path) -> None:
    target = tmp_path / "step.dot"
    _, text = _session(f"s;g {target};c")
    assert f"wrote {target} (MulBackward0 [n5] highlighted)" in text
    dot = target.read_text()
    assert "MulBackward0" in dot
    start = dot.index("\tn5 [")
    node = dot[start : dot.index("]\n", start)]
    assert "color=red" in node and "penwidth=3" in node
    assert dot.count("penwidth=3") == 1


def test_graph_command_reports_a_bad_path(tmp_path: Path) -> None:
    _, text = _session(f"g {tmp_path}/picture.unknown;c")
    assert "*** g: could not render" in text


def test_why_command_live() -> None:
    def program() -> tuple[Any, ...]:
        x = gradviz.tensor([1.0, 2.0], requires_grad=True)
        x.name = "x"
        unused = gradviz.tensor([3.0], requires_grad=True)
        frozen = gradviz.tensor([1.0, 1.0])
        return x, unused, frozen, (x * frozen).sum()

    x, unused, frozen, loss = program()
    console, buffer = _console()
    namespace = {"x": x, "unused": unused, "frozen": frozen}
    with Debugger(
        commands="why x;why unused;why frozen;why nothing;why;c",
        console=console,
        namespace=namespace,
    ):
        loss.backward()
    text = _text(buffer)
    assert "x is on a path to the loss (SumBackward0 -> MulBackward0 -> AccumulateGrad)" in text
    assert "unused is not on any path to the loss" in text
    assert "frozen has requires_grad=False" in text
    assert "no tensor named 'nothing'" in text
    assert "*** why needs a parameter name: why fc1.weight" in text


def test_why_command_replay() -> None:
    console, buffer = _console()
    replay(nan_graph(), commands="why w;why zz;c", console=console)
    text = _text(buffer)
    assert "w got a gradient in this backward: (3,) float32 norm 2.236" in text
    assert "zz is not a leaf of this graph: it is not on any path to the loss." in text


def test_commands_exhausted_continue_to_the_end() -> None:
    x, w, loss = _nan_program()
    console, buffer = _console()
    with Debugger(commands="s", console=console):
        loss.backward()
    text = _text(buffer)
    assert "(end of commands: continuing to the end without stopping)" in text
    np.testing.assert_array_equal(w.grad.numpy(), np.array([1.0, 2.0, 0.0], np.float32))


def test_commands_from_a_pipe() -> None:
    x, w, loss = _nan_program()
    console, buffer = _console()
    with Debugger(stdin=io.StringIO("s\nb nan\nc\nc\n"), console=console):
        loss.backward()
    text = _text(buffer)
    assert "(gradviz) b nan" in text
    assert "[4/5] SqrtBackward0 [n2] (just ran)" in text
    assert x.grad is not None


def test_several_backward_calls_and_autograd_grad() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    console, buffer = _console()
    with Debugger(commands="c;s;s;c", console=console) as debugger:
        (x * x).sum().backward()
        (x * 3).sum().backward()  # no stop: `c` runs to the end, and on
        (g,) = gradviz.autograd.grad((x**2).sum(), x)
    text = _text(buffer)
    assert text.count("backward finished") == 3
    np.testing.assert_array_equal(g.numpy(), np.array([2.0, 4.0], np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), np.array([5.0, 7.0], np.float32))
    assert debugger.session.stops == 1
    assert [name for _, name in debugger.session.visited].count("SumBackward0") == 3


def test_replay_errors() -> None:
    graph = nan_graph()
    del graph.graph["backward"]
    with pytest.raises(DebuggerError, match="this graph has no recorded backward pass"):
        replay(graph, commands="c")
    with pytest.raises(DebuggerError, match="there is no iteration 7 in the trace; it holds 0"):
        replay([nan_graph()], 7, commands="c")
    with pytest.raises(DebuggerError, match="there is no graph to replay"):
        replay([], commands="c")


def test_replay_quit_and_end_of_commands() -> None:
    console, buffer = _console()
    stops = replay(nan_graph(), commands="s", console=console)
    text = _text(buffer)
    assert stops == 2
    assert "(end of commands: continuing to the end without stopping)" in text
    assert "end of the recorded backward (5 nodes)" in text
    assert "Inf origin: SqrtBackward0 [n2]" in text


# ---------------------------------------------------------------------------- end to end


def test_live_graph_is_the_recorded_graph() -> None:
    from gradviz.trace import record, schema

    loss, _ = _branchy(gradviz, gradviz.float32)
    console, _ = _console()
    with record() as recorder, Debugger(commands="c", console=console) as debugger:
        loss.backward()
    live, recorded = debugger.graph, recorder.graphs[0]
    assert live is not None
    schema.validate(live)
    assert [nid for nid, _ in debugger.session.visited] == recorded.graph["backward"]["order"]
    for graph in (live, recorded):  # timings differ from run to run
        graph.graph["backward"]["seconds"] = 0.0
        for _, data in graph.nodes(data=True):
            if "seconds" in data:
                data["seconds"] = 0.0
    assert schema.graphs_equal(live, recorded)


def test_replay_a_saved_trace_file(tmp_path: Path) -> None:
    from gradviz.trace import record, save

    with record(values=True) as recorder:
        for _ in range(2):
            _, _, loss = _nan_program()
            loss.backward()
    path = save(recorder.graphs, tmp_path / "nan.gvz")
    console, buffer = _console()
    stops = replay(f"{path}:1", commands="b nan;c;p grad_out;c", console=console)
    text = _text(buffer)
    assert stops == 2
    assert "[4/5] SqrtBackward0 [n2] ---" in text
    assert "grad_out[0]: (3,) float32\n  [1.  , 0.75,  inf]" in text
    assert "end of the recorded backward (5 nodes)" in text
    with pytest.raises(DebuggerError, match="there is no iteration 5 in the trace; it holds 0, 1"):
        replay(path, 5, commands="c")


def _cli_step(*args: str) -> Any:
    from click.testing import CliRunner

    from gradviz.cli.step import step

    return CliRunner().invoke(step, list(args))


def test_cli_step_script_golden(tmp_path: Path) -> None:
    script = tmp_path / "nan_norm.py"
    script.write_text(
        "import gradviz\n"
        "a = gradviz.tensor([1.0, 2.0], requires_grad=True)\n"
        "b = gradviz.tensor([1.0, 2.0], requires_grad=True)\n"
        "d = a - b\n"
        "(d * d).sum().sqrt().backward()\n"
        "print('a.grad:', a.grad)\n"
    )
    result = _cli_step(str(script), "--commands", "b nan;c;c;p grad_in;c")
    assert result.exit_code == 0, result.output
    assert "a.grad: tensor([nan, nan])" in result.output
    assert_golden("debugger/cli_step_script.txt", _text(io.StringIO(result.output)))


def test_cli_step_replays_a_trace(tmp_path: Path) -> None:
    from gradviz.trace import record, save

    with record(values=True) as recorder:
        _, _, loss = _nan_program()
        loss.backward()
    path = save(recorder.graphs, tmp_path / "t.gvz")
    result = _cli_step(f"{path}:0", "--commands", "b nan;c;c")
    assert result.exit_code == 0, result.output
    assert "[4/5] SqrtBackward0 [n2] ---" in result.output
    result = _cli_step(str(path), "--iteration", "0", "--commands", "c")
    assert result.exit_code == 0, result.output
    assert "end of the recorded backward (5 nodes)" in result.output


def test_cli_step_errors(tmp_path: Path) -> None:
    result = _cli_step(str(tmp_path / "missing.py"))
    assert result.exit_code == 1
    assert "does not exist" in result.output
    script = tmp_path / "boom.py"
    script.write_text("import gradviz\nx = 1\nraise ZeroDivisionError('nope')\n")
    result = _cli_step(str(script), "--commands", "c")
    assert result.exit_code == 1
    assert "Error: boom.py:3: the script raised ZeroDivisionError: nope" in result.output
    assert "Traceback" not in result.output
    result = _cli_step(str(script), "--iteration", "2")
    assert result.exit_code == 2
    assert "--iteration and TARGET:K are for trace files, not scripts." in result.output
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(3)\n")
    result = _cli_step(str(exits), "--commands", "c")
    assert result.exit_code == 1
    assert "exits.py exited with status 3" in result.output


def test_step_function_runs_a_script_with_arguments(tmp_path: Path) -> None:
    from gradviz.debugger import step

    script = tmp_path / "args.py"
    script.write_text(
        "import sys, gradviz\n"
        "w = gradviz.tensor([float(sys.argv[1])], requires_grad=True)\n"
        "unused = gradviz.tensor([1.0], requires_grad=True)\n"
        "(w * w).sum().backward()\n"
    )
    console, buffer = _console()
    stops = step(script, ["3"], commands="why unused;why w;c", console=console)
    text = _text(buffer)
    assert stops == 1
    assert "unused is not on any path to the loss" in text
    assert "w is on a path to the loss" in text
    with pytest.raises(DebuggerError, match="cannot read the script"):
        step(tmp_path / "nope.py", commands="c", console=console)


def test_live_session_on_an_nn_model() -> None:
    gradviz.manual_seed(0)
    model = gradviz.nn.Sequential(
        gradviz.nn.Linear(3, 4), gradviz.nn.ReLU(), gradviz.nn.Linear(4, 1)
    )
    model[0].bias.requires_grad_(False)
    loss = model(gradviz.randn(5, 3)).mean()
    console, buffer = _console()
    commands = "b 2;c;why 0.bias;why 2.weight;why model.2.bias;s;s;why model.2.bias;c"
    with Debugger(commands=commands, console=console, namespace={"model": model}) as debugger:
        loss.backward()
    text = _text(buffer)
    stops = [line for line in text.splitlines() if line.startswith("[")]
    assert stops[1].startswith("[2/") and "AddmmBackward0" in stops[1] and " in 2 " in stops[1]
    assert "0.bias has requires_grad=False" in text
    assert (
        "2.weight is on a path to the loss (MeanBackward0 -> AddmmBackward0 -> TBackward0 -> "
        "AccumulateGrad), so this backward gives it a gradient; it has not reached it yet."
    ) in text
    assert (
        "model.2.bias is on a path to the loss (MeanBackward0 -> AddmmBackward0 -> "
        "AccumulateGrad), so this backward gives it a gradient; it has received it."
    ) in text
    assert "leads to leaves: 0.weight, 2.weight, 2.bias" in text
    assert all(name for _, name in debugger.session.visited)
    assert model[0].bias.grad is None and model[2].weight.grad is not None
