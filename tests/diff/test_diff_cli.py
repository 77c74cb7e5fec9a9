"""``gradviz diff``: targets, outputs and ``diff(1)``'s exit codes (0 same, 1 differ, 2 error)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gradviz.cli.diff import EXIT_DIFFERENT, EXIT_ERROR, EXIT_SAME
from gradviz.cli.diff import diff as diff_command
from tests.diff import dynamic

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trace file of DynamicNet with depths 1, 2, 1 and a batch-size change last."""
    rec, _ = dynamic.train(4, depths=[1, 2, 1, 1], batches=[16, 16, 16, 8])
    return Path(rec.save(tmp_path_factory.mktemp("trace") / "dyn.gvz"))


def script(folder: Path, name: str, depths: list[int], *, fail: bool = False) -> Path:
    path = folder / name
    path.write_text(
        textwrap.dedent(
            f"""\
            import gradviz as torch
            from tests.diff.dynamic import D_IN, D_OUT, make

            model, loss_fn, optimizer = make(0)
            for depth in {depths!r}:
                model.depth = depth
                x = torch.randn(16, D_IN)
                y = torch.randn(16, D_OUT)
                loss = loss_fn(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            print("trained")
            if {fail!r}:
                raise ValueError("the script broke")
            """
        )
    )
    return path


def run(*args: object) -> Result:
    return CliRunner().invoke(diff_command, [str(a) for a in args], prog_name="gradviz diff")


# ------------------------------------------------------------------ exit 0 and 1


def test_same_depth_is_identical(trace: Path) -> None:
    result = run(f"{trace}:0", f"{trace}:2")
    assert result.exit_code == EXIT_SAME, result.output
    assert "graphs are identical: 22 nodes, 21 edges" in result.stdout


def test_extra_layer_differs(trace: Path) -> None:
    result = run(f"{trace}:0", f"{trace}:1")
    assert result.exit_code == EXIT_DIFFERENT, result.output
    out = result.stdout
    assert "graphs differ: 3 added, 0 removed, 0 changed" in out
    assert "middle_linear" in out and "+ n14 TBackward0 (8, 8) float32" in out


def test_iterations_option(trace: Path) -> None:
    assert run(trace, "--iterations", 0, 2).exit_code == EXIT_SAME
    result = run(trace, "--iterations", 2, 3, "--format", "text")
    assert result.exit_code == EXIT_DIFFERENT
    assert result.stdout.startswith("graphs differ: 0 added, 0 removed, 5 changed")
    assert "~ n5 AddmmBackward0 @input_linear: shape (16, 8) -> (8, 8)" in result.stdout


def test_last_graph_of_a_trace_file(trace: Path) -> None:
    # Without :K a trace file stands for its last graph (batch 8 here).
    assert run(trace, f"{trace}:3").exit_code == EXIT_SAME
    assert run(trace, f"{trace}:2").exit_code == EXIT_DIFFERENT


def test_scripts_their_last_backward(trace: Path, tmp_path: Path) -> None:
    two = script(tmp_path, "two.py", [1, 2])
    one = script(tmp_path, "one.py", [2, 1])
    result = run(two, f"{trace}:1")
    assert result.exit_code == EXIT_SAME, result.output
    assert "trained" not in result.stdout  # the script's prints go to stderr
    assert "trained" in result.stderr
    assert run(one, two).exit_code == EXIT_DIFFERENT
    assert run(two, "--iterations", 0, 1, "-q").exit_code == EXIT_DIFFERENT


def test_formats_on_stdout(trace: Path) -> None:
    data = json.loads(run(f"{trace}:0", f"{trace}:1", "--format", "json").stdout)
    assert data["identical"] is False and len(data["added"]) == 3
    dot = run(f"{trace}:0", f"{trace}:1", "--format", "dot").stdout
    assert dot.startswith("digraph gradviz_diff {") and "palegreen" in dot
    limited = run(f"{trace}:0", f"{trace}:1", "--format", "text", "--limit", "1").stdout
    assert "  ... and 2 more" in limited
    quiet = run(f"{trace}:0", f"{trace}:1", "-q")
    assert quiet.exit_code == EXIT_DIFFERENT and quiet.stdout == "" and quiet.stderr == ""


def test_output_file(trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "diff.pdf"
    result = run(f"{trace}:0", f"{trace}:1", "-o", out)
    assert result.exit_code == EXIT_DIFFERENT, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert "graphs differ" in result.stdout
    assert f"wrote {out} (pdf)" in result.stderr
    text = tmp_path / "diff.txt"
    assert run(f"{trace}:0", f"{trace}:2", "-o", text, "-q").exit_code == EXIT_SAME
    assert text.read_text().startswith("graphs are identical")
    forced = tmp_path / "diff.out"
    assert run(f"{trace}:0", f"{trace}:1", "-o", forced, "--format", "json", "-q").exit_code == 1
    assert json.loads(forced.read_text())["identical"] is False


# ------------------------------------------------------------------ exit 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{trace}"], "give two TARGETs (gradviz diff A B) or one with --iterations I J"),
        (["{trace}", "{trace}", "--iterations", "0", "1"], "give either two TARGETs or"),
        (["{trace}:1", "--iterations", "0", "1"], "names iteration 1 and --iterations"),
        (["{trace}", "{trace}", "-o", "x.xyz"], "cannot tell the format from 'x.xyz'"),
        (["{trace}", "{trace}", "--format", "pdf"], "--format pdf writes a file: give it with -o"),
        (["{trace}", "--iterations", "0", "9"], "there is no iteration 9 in dyn.gvz"),
        (["missing.gvz", "{trace}"], "TARGET 'missing.gvz' does not exist."),
    ],
)
def test_errors_exit_2(trace: Path, args: list[str], message: str) -> None:
    result = run(*[a.replace("{trace}", str(trace)) for a in args])
    assert result.exit_code == EXIT_ERROR, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_damaged_trace_file_exits_2(tmp_path: Path, trace: Path) -> None:
    broken = tmp_path / "broken.gvz"
    broken.write_bytes(b"this is not a trace file")
    result = run(broken, trace)
    assert result.exit_code == EXIT_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "broken.gvz" in lines[0]


def test_failing_script_exits_2(tmp_path: Path, trace: Path) -> None:
    bad = script(tmp_path, "bad.py", [1], fail=True)
    result = run(bad, trace)
    assert result.exit_code == EXIT_ERROR
    assert "bad.py:15: the script raised ValueError: the script broke" in result.stderr


def test_unexpected_error_exits_2_not_1(trace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    differ = importlib.import_module("gradviz.trace.diff")

    def broken(a: object, b: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(differ, "diff", broken)
    result = run(f"{trace}:0", f"{trace}:1")
    assert result.exit_code == EXIT_ERROR
    assert "unexpected KeyError: 'boom' (this is a bug in gradviz)" in result.stderr


def test_unwritable_output_exits_2(trace: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run(f"{trace}:0", f"{trace}:1", "-o", blocker / "diff.txt")
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.startswith("Error: ")


def test_real_process_exit_codes(trace: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from gradviz.cli.diff import diff; diff()"]

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False
        )

    assert status(f"{trace}:0", f"{trace}:2", "-q").returncode == 0
    assert status(f"{trace}:0", f"{trace}:1", "-q").returncode == 1
    missing = status("nope.gvz", str(trace))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "Error: TARGET 'nope.gvz' does not exist. Give a trace file (trace.gvz, "
        "trace.gvz:3) or a Python script (train.py)."
    ]


def test_help_mentions_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "0 if the graphs are identical" in result.stdout
    assert "1 if they differ, 2 on error" in " ".join(result.stdout.split())
    assert "--iterations I J" in result.stdout
