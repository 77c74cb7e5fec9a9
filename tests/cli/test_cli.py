"""The ``gradviz`` command line: render, run, demo, doctor; errors are one line.

Most tests drive the CLI in-process with click's ``CliRunner``; a few run it as a real
process (``python3 -c "from gradviz.cli import main; main()"``), as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gradviz.cli import main
from gradviz.trace import load
from tests.render import dotparse

ROOT = Path(__file__).resolve().parents[2]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed"
)

TRAIN = """\
import sys

import gradviz as torch
from helper import make_leaves


def main():
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 2
    w, x, b = make_leaves()
    for step in range(steps):
        h = (w * x + b) if step % 2 == 0 else (w * x).exp()
        h.sum().backward()
    print("trained", steps)


if __name__ == "__main__":
    main()
"""

HELPER = """\
import gradviz as torch


def make_leaves():
    leaves = []
    for name, value in (("w", 2.0), ("x", 3.0), ("b", 1.0)):
        t = torch.tensor([value], requires_grad=True)
        t.name = name
        leaves.append(t)
    return leaves
"""

RAISES = """\
import gradviz as torch
x = torch.ones(2, requires_grad=True)
raise ValueError("boom\\nsecond line")
"""


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "helper.py").write_text(HELPER)
    (tmp_path / "raises.py").write_text(RAISES)
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "exits_ok.py").write_text(
        "import sys\nimport gradviz as g\n"
        "x = g.ones(1, requires_grad=True)\n(x * 2).sum().backward()\nsys.exit(0)\n"
    )
    (tmp_path / "nothing.py").write_text("import gradviz as g\nprint(g.ones(2) + 1)\n")
    return tmp_path


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def assert_one_line_error(result: Result, *fragments: str, code: int = 1) -> None:
    """The command failed with exactly one ``Error: ...`` line on stderr, no traceback."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def _trace(scripts: Path, *extra: str) -> Path:
    out = scripts / "train.gvz"
    result = invoke("run", "-o", str(out), *extra, str(scripts / "train.py"))
    assert result.exit_code == 0, result.output
    return out


# -- help ------------------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert result.output.startswith("Usage: gradviz [OPTIONS] COMMAND [ARGS]...")
    for command in ("run", "render", "demo", "doctor"):
        assert f"\n  {command} " in result.output
    assert invoke("render", "--help").exit_code == 0
    assert "--iteration K" in invoke("render", "--help").output


def test_version() -> None:
    from gradviz import __version__

    assert invoke("--version").output == f"gradviz, version {__version__}\n"


# -- run -----------------------------------------------------------------------------------


def test_run_records_every_backward(scripts: Path) -> None:
    out = scripts / "train.gvz"
    argv, path = list(sys.argv), list(sys.path)
    result = invoke("run", "-o", str(out), str(scripts / "train.py"), "--steps", "3")
    assert result.exit_code == 0, result.output
    assert sys.argv == argv and sys.path == path  # restored after the script ran
    assert "trained 3" in result.output
    assert "recorded 3 backward passes from" in result.output
    assert "  iteration 2: " in result.output
    assert f"wrote {out}" in result.output
    graphs = load(out)
    assert len(graphs) == 3
    labels = {d["label"] for d in graphs[1].nodes.values()}
    assert {"ExpBackward0", "MulBackward0", "w", "x"} <= labels


def test_run_max_graphs_and_values(scripts: Path) -> None:
    out = _trace(scripts, "--max-graphs", "1", "--values")
    graphs = load(out)
    assert len(graphs) == 1
    leaf = next(d for d in graphs[0].nodes.values() if d["kind"] == "leaf")
    assert leaf["grad_value"] is not None


def test_run_errors(scripts: Path) -> None:
    assert_one_line_error(invoke("run", str(scripts / "missing.py")), "'", "does not exist")
    assert_one_line_error(invoke("run", str(scripts)), "is a folder")
    assert_one_line_error(
        invoke("run", "-o", str(scripts / "t.gvz"), str(scripts / "nothing.py")),
        "nothing.py ran no backward pass",
    )
    assert_one_line_error(
        invoke("run", str(scripts / "raises.py")),
        "raises.py:3: the script raised ValueError: boom second line",
    )
    assert_one_line_error(invoke("run", str(scripts / "exits.py")), "exits.py exited with status 3")
    assert not (scripts / "t.gvz").exists()


def test_run_accepts_sys_exit_zero(scripts: Path) -> None:
    result = invoke("run", "-o", str(scripts / "ok.gvz"), str(scripts / "exits_ok.py"))
    assert result.exit_code == 0, result.output
    assert len(load(scripts / "ok.gvz")) == 1


# -- render ------------------------------------------------------------------------------------


def _labels(path: Path) -> list[str]:
    return sorted(d.get("label", "") for d in dotparse.parse(path.read_text()).nodes.values())


def test_render_trace_file_picks_last_or_asked_iteration(scripts: Path) -> None:
    trace = _trace(scripts)
    last, first, also_first = (scripts / n for n in ("last.dot", "first.dot", "first2.dot"))
    result = invoke("render", str(trace), "-o", str(last))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {last} (dot): iteration 1 of train.gvz, 8 nodes")
    assert any(label.startswith("ExpBackward0") for label in _labels(last))
    assert invoke("render", f"{trace}:0", "-o", str(first)).exit_code == 0
    assert invoke("render", str(trace), "--iteration", "0", "-o", str(also_first)).exit_code == 0
    assert first.read_text() == also_first.read_text()
    assert any(label.startswith("AddBackward0") for label in _labels(first))


def test_render_options_reach_the_drawing(scripts: Path) -> None:
    trace = _trace(scripts)
    out = scripts / "g.dot"
    result = invoke(
        "render",
        str(trace),
        "-o",
        str(out),
        "--show-attrs",
        "--no-grads",
        "--legend",
        "--rankdir",
        "LR",
        "--edge-shapes",
    )
    assert result.exit_code == 0, result.output
    dot = dotparse.parse(out.read_text())
    assert dot.graph_attrs["rankdir"] == "LR"
    assert "cluster_legend" in dot.clusters
    assert not any("grad norm" in d.get("label", "") for d in dot.nodes.values())
    result = invoke("render", str(trace), "-o", str(out), "--format", "json")
    assert result.exit_code == 0 and out.read_text().startswith("{")


def test_render_a_script(scripts: Path) -> None:
    out = scripts / "g.dot"
    result = invoke("render", str(scripts / "train.py"), "-o", str(out), "--iteration", "0")
    assert result.exit_code == 0, result.output
    assert "iteration 0 of train.py" in result.output
    assert any(label.startswith("AddBackward0") for label in _labels(out))


def test_saved_tensors_from_a_script_or_a_trace(scripts: Path) -> None:
    out = scripts / "g.dot"
    result = invoke("render", str(scripts / "train.py"), "--show-saved", "-o", str(out))
    assert result.exit_code == 0, result.output
    saved = dotparse.parse(out.read_text())
    orange = [d["label"] for d in saved.nodes.values() if d.get("fillcolor") == "orange"]
    assert orange == ["result\n(1)"]  # ExpBackward0 saves its result
    dashed = sorted(d.get("label", "") for _, _, d in saved.edges if d.get("style") == "dashed")
    assert dashed == ["", "other", "self"]  # the result's edge; w * x saved the leaves
    trace = _trace(scripts, "--saved")
    assert invoke("render", str(trace), "--show-saved", "-o", str(out)).exit_code == 0
    assert dotparse.parse(out.read_text()).nodes == saved.nodes


DATA = """\
import gradviz as torch

w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
w.name = "w"
x = torch.tensor([4.0, 5.0, 6.0])
x.name = "x"
mask = torch.tensor([1.0, 0.0, 1.0])
mask.name = "mask"
((w * x) + mask).sum().backward()
"""

BLOCKS = """\
import gradviz as torch
from gradviz import nn

torch.manual_seed(0)
blocks = [nn.Sequential(nn.Linear(6, 6), nn.Tanh()) for _ in range(8)]
model = nn.Sequential(nn.Linear(4, 6), *blocks)
model(torch.randn(2, 4)).sum().backward()
"""


def _white(path: Path) -> list[str]:
    nodes = dotparse.parse(path.read_text()).nodes.values()
    return sorted(d["label"] for d in nodes if d.get("fillcolor") == "white")


def test_render_help_names_the_flags_of_the_issue() -> None:
    text = invoke("render", "--help").output
    for flag in (
        "--show-inputs",
        "--grads / --no-grads",
        "--cluster-modules / --no-cluster-modules",
        "--depth, --max-depth N",
        "--max-nodes N",
        "--fold-repeats / --no-fold-repeats",
    ):
        assert flag in text, flag
    assert "--inputs" in invoke("run", "--help").output


def test_show_inputs_from_a_script_or_a_trace(scripts: Path) -> None:
    (scripts / "data.py").write_text(DATA)
    out = scripts / "g.dot"
    result = invoke("render", str(scripts / "data.py"), "--show-inputs", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "1 leaf, 2 inputs, 1 output" in result.output
    # x feeds MulBackward0; the mask feeds AddBackward0, which saved nothing: recording
    # the script knows both.
    assert _white(out) == ["mask\n(3)", "x\n(3)"]
    assert invoke("render", str(scripts / "data.py"), "-o", str(out)).exit_code == 0
    assert _white(out) == []  # hidden unless asked
    # A trace file holds inputs when `run --inputs` recorded them.
    trace = scripts / "data.gvz"
    assert invoke("run", "-o", str(trace), "--inputs", str(scripts / "data.py")).exit_code == 0
    result = invoke("render", str(trace), "--show-inputs", "-o", str(out))
    assert result.exit_code == 0 and result.stderr == ""
    assert _white(out) == ["mask\n(3)", "x\n(3)"]
    assert invoke("run", "-o", str(trace), str(scripts / "data.py")).exit_code == 0
    result = invoke("render", str(trace), "--show-inputs", "-o", str(out))
    assert result.exit_code == 0
    assert "holds no input nodes; record it with `gradviz run --inputs`" in result.stderr
    assert _white(out) == []


def test_grads_flags(scripts: Path) -> None:
    trace = _trace(scripts)
    texts = {}
    for flag in ("--grads", "--no-grads", None):
        out = scripts / f"{flag}.dot"
        args = ["render", str(trace), "-o", str(out)] + ([flag] if flag else [])
        assert invoke(*args).exit_code == 0
        texts[flag] = out.read_text()
    assert "grad norm" in texts["--grads"] and "grad norm" not in texts["--no-grads"]
    assert texts[None] == texts["--grads"]  # a recorded graph shows its gradients


def test_cluster_depth_and_node_budget_flags(scripts: Path) -> None:
    (scripts / "blocks.py").write_text(BLOCKS)
    script = str(scripts / "blocks.py")

    def draw(*flags: str) -> dotparse.Dot:
        out = scripts / "g.dot"
        result = invoke("render", script, "-o", str(out), "--no-grads", *flags)
        assert result.exit_code == 0, result.output
        return dotparse.parse(out.read_text())

    full = draw()
    assert "cluster_1.0" in full.clusters and len(full.nodes) == 64
    assert draw("--no-cluster-modules").clusters == {}
    assert draw("--cluster-modules").clusters == full.clusters
    shallow = draw("--depth", "0")
    assert shallow.nodes == draw("--max-depth", "0").nodes  # the old name still works
    assert sorted(n for n in shallow.nodes if n.startswith("module_"))[:2] == [
        "module_0",
        "module_1",
    ]
    folded = draw("--fold-repeats")
    assert folded.clusters["cluster_1"]["label"] == "1\u20138 (\u00d78)"
    assert len(folded.nodes) == 15
    assert (
        draw("--no-fold-repeats", "--max-nodes", "30")
        .graph_attrs["label"]
        .startswith("64 nodes exceed the budget of 30: modules deeper than")
    )
    budget = draw("--max-nodes", "30")
    assert budget.graph_attrs["label"] == (
        "64 nodes exceed the budget of 30: repeated blocks are folded (15 drawn)"
    )
    assert draw("--max-nodes", "0").nodes == full.nodes  # 0: no limit
    bad = invoke("render", script, "-o", str(scripts / "g.dot"), "--depth", "-1")
    assert bad.exit_code == 2 and "Invalid value for '--depth'" in bad.output


@needs_dot
@needs_pdftotext
def test_render_pdf_reads_back(scripts: Path) -> None:
    out = scripts / "g.pdf"
    result = invoke("render", str(_trace(scripts)), "-o", str(out))
    assert result.exit_code == 0, result.output
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("ExpBackward0", "MulBackward0", "SumBackward0", "AccumulateGrad", "grad norm"):
        assert name in text


def test_render_errors(scripts: Path) -> None:
    trace = _trace(scripts)
    out = str(scripts / "g.dot")
    assert_one_line_error(
        invoke("render", str(scripts / "missing.gvz"), "-o", out),
        "TARGET",
        "missing.gvz' does not exist",
    )
    assert_one_line_error(
        invoke("render", f"{trace}:7", "-o", out),
        "there is no iteration 7 in train.gvz: it holds 2 graphs (iterations 0, 1).",
    )
    assert_one_line_error(
        invoke("render", str(trace), "--iteration", "5", "-o", out), "no iteration 5"
    )
    assert_one_line_error(
        invoke("render", f"{trace}:1", "--iteration", "0", "-o", out),
        "asks for iteration 1 but --iteration is 0",
    )
    assert_one_line_error(
        invoke("render", str(scripts / "raises.py"), "-o", out),
        "raises.py:3: the script raised ValueError: boom",
    )
    assert_one_line_error(
        invoke("render", str(scripts / "nothing.py"), "-o", out), "nothing.py ran no backward pass"
    )
    assert_one_line_error(invoke("render", str(scripts), "-o", out), "is a folder")
    damaged = scripts / "damaged.gvz"
    damaged.write_bytes(trace.read_bytes()[: len(trace.read_bytes()) // 2])
    assert_one_line_error(invoke("render", str(damaged), "-o", out), "damaged.gvz")
    foreign = scripts / "foreign.gvz"
    foreign.write_text("hello, I am not a trace\n")
    assert_one_line_error(invoke("render", str(foreign), "-o", out), "foreign.gvz")
    assert not Path(out).exists()


def test_render_output_name_without_a_known_suffix_is_a_usage_error(scripts: Path) -> None:
    result = invoke("render", str(_trace(scripts)), "-o", str(scripts / "g.xyz"))
    assert result.exit_code == 2
    assert "cannot tell the format from" in result.stderr
    assert "Try 'gradviz render --help' for help." in result.stderr


def test_render_without_dot_says_how_to_install(scripts: Path) -> None:
    trace = _trace(scripts)
    empty = scripts / "bin"
    empty.mkdir()
    result = invoke("render", str(trace), "-o", str(scripts / "g.pdf"), env={"PATH": str(empty)})
    assert_one_line_error(result, "needs the Graphviz 'dot' program", "apt-get install graphviz")
    ok = invoke("render", str(trace), "-o", str(scripts / "g.dot"), env={"PATH": str(empty)})
    assert ok.exit_code == 0


# -- demo ------------------------------------------------------------------------------------


@needs_dot
@needs_pdftotext
def test_demo_renders_the_samples(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = invoke("demo", "--out", str(out))
    assert result.exit_code == 0, result.output
    names = ("seed.pdf", "tutorial.pdf", "mlp.pdf")
    printed = [line.split()[0] for line in result.output.splitlines()]
    assert printed == [str(out / name) for name in names]
    texts = {
        name: subprocess.run(
            ["pdftotext", str(out / name), "-"], capture_output=True, text=True, check=True
        ).stdout
        for name in names
    }
    assert "MulBackward0" in texts["seed.pdf"] and "AddBackward0" in texts["seed.pdf"]
    assert "MeanBackward0" in texts["tutorial.pdf"] and "self" in texts["tutorial.pdf"]
    for name in ("AddmmBackward0", "ReluBackward0", "layers.0", "grad norm"):
        assert name in texts["mlp.pdf"]


def test_demo_in_dot_format_and_without_dot(tmp_path: Path) -> None:
    result = invoke("demo", "--out", str(tmp_path), "--format", "dot")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.dot", "seed.dot", "tutorial.dot"]
    empty = tmp_path / "bin"
    empty.mkdir()
    result = invoke("demo", "--out", str(tmp_path / "pdf"), env={"PATH": str(empty)})
    assert_one_line_error(result, "Graphviz 'dot'")


# -- doctor ----------------------------------------------------------------------------------


def test_doctor_reports_versions() -> None:
    result = invoke("doctor")
    lines = result.output.splitlines()
    names = [line.split()[1] for line in lines[:-1]]
    assert names == [
        "python",
        "gradviz",
        "numpy",
        "networkx",
        "graphviz",
        "rich",
        "click",
        "dot",
        "cupy",
        "gpu",
        "torch",
    ]
    if shutil.which("dot"):
        assert result.exit_code == 0, result.output
        assert lines[-1] == "everything gradviz needs is present."


def test_doctor_fails_without_dot(tmp_path: Path) -> None:
    result = invoke("doctor", env={"PATH": str(tmp_path)})
    assert result.exit_code == 1
    dot_line = next(line for line in result.output.splitlines() if line.split()[1] == "dot")
    assert (
        dot_line.startswith("!!") and "not on PATH" in dot_line and "install Graphviz" in dot_line
    )
    assert_one_line_error(result, "1 required piece is missing or broken: dot")


# -- as a real process -------------------------------------------------------------------------


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", "from gradviz.cli import main; main()", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_real_process_run_then_render(scripts: Path) -> None:
    result = _cli("run", "-o", "t.gvz", "train.py", cwd=scripts)
    assert result.returncode == 0, result.stderr
    assert "recorded 2 backward passes" in result.stdout
    result = _cli("render", "t.gvz:1", "-o", "g.dot", cwd=scripts)
    assert result.returncode == 0, result.stderr
    assert "ExpBackward0" in (scripts / "g.dot").read_text()


def test_real_process_errors_are_one_line(scripts: Path) -> None:
    result = _cli("render", "missing.gvz", "-o", "g.pdf", cwd=scripts)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: TARGET 'missing.gvz' does not exist. Give a trace file (trace.gvz, "
        "trace.gvz:3) or a Python script (train.py)."
    ]
    result = _cli("run", "raises.py", cwd=scripts)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: raises.py:3: the script raised ValueError: boom second line"
    ]


def test_real_process_help_does_not_load_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom gradviz.cli import main\n"
        "heavy = ('networkx', 'graphviz', 'rich', 'gradviz.trace')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.stdout.strip() == "[]"


def test_unconverted_gradviz_errors_and_file_errors_are_one_line(scripts: Path) -> None:
    import click

    from gradviz.cli import _Main
    from gradviz.errors import RenderError

    @click.command("boom")
    def boom() -> None:
        raise RenderError("first line\nFix: second line")

    group = _Main("gradviz", commands=[boom])
    result = CliRunner().invoke(group, ["boom"])
    assert_one_line_error(result, "Error: first line Fix: second line")

    blocker = scripts / "file.txt"
    blocker.write_text("a file, not a folder")
    result = invoke("render", str(_trace(scripts)), "-o", str(blocker / "g.dot"))
    assert_one_line_error(result, "file.txt")
