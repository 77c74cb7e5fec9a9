"""The guided tour's samples run, print what they teach, and match the committed pictures.

- Every ``samples/NN_*.py`` runs as a script in a subprocess with ``--out TMP --fast``,
  exits 0 without writing to stderr (warnings are errors), prints the facts its part of
  the tour is about, and writes one PNG per figure.
- For every committed picture ``docs/img/<name>.dot``, the DOT the samples draw now is
  the same, byte for byte; each committed ``.png`` exists and is a PNG; no picture is
  left over or missing. A mismatch says to run ``python -m samples.regenerate``.
- ``docs/tour.md`` shows every picture and links every sample, and its terminal sessions
  have been run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from samples import regenerate

ROOT = Path(__file__).resolve().parents[2]
IMG_DIR = ROOT / "docs" / "img"
TOUR = ROOT / "docs" / "tour.md"
README = ROOT / "README.md"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIX = f"Run `{regenerate.COMMAND}` from the repository root to redraw the committed pictures."

# What each sample must print (substrings of its standard output, in this order).
EXPECTED: dict[str, list[str]] = {
    "01_leaf_and_ops": [
        "h = tensor([7.], grad_fn=<AddBackward0>)",
        "h.grad_fn.next_functions -> ['MulBackward0', 'AccumulateGrad']",
        "MulBackward0.next_functions -> ['AccumulateGrad', 'AccumulateGrad']",
        "the first AccumulateGrad holds w: True",
        "h: is_leaf=False, requires_grad=True, grad_fn=AddBackward0",
        "w.grad = tensor([3.])",
        "x.grad = tensor([2.])",
        "b.grad = tensor([1.])",
    ],
    "02_detach_vs_requires_grad": [
        "MulBackward0.next_functions -> ['AccumulateGrad', None]",
        "x.grad = None",
        "RuntimeError: you can only change requires_grad flags of leaf variables. If you "
        "want to use a computed variable in a subgraph that doesn't require differentiation "
        "use var_no_grad = var.detach().",
        "u.grad = tensor([6.])",
        "x.detach(): requires_grad=False, is_leaf=True, grad_fn=None",
        "why_no_grad(h, u) -> other_graph",
        "u.grad = None",
        "why_no_grad(h, x) -> detached",
        "x.requires_grad=True, but after backward x.grad = None",
    ],
    "03_custom_function": [
        "out.grad_fn = LinearFunctionBackward, name() = 'LinearFunctionBackward'",
        "next_functions -> ['AccumulateGrad', 'AccumulateGrad', 'AccumulateGrad']",
        "needs_input_grad = (True, True, True)",
        "saved_tensors: 3 tensors, shapes [(5, 4), (3, 4), (3,)]",
        "next_functions -> [None, 'AccumulateGrad', 'AccumulateGrad']",
        "needs_input_grad = (False, True, True)",
        "gradcheck(LinearFunction.apply, (input, weight, bias)) -> True",
    ],
    "04_module_state": [
        "named_parameters(): ['weight']",
        "named_buffers():    ['running_mean']",
        "state_dict() keys:  ['weight', 'running_mean']",
        "is weight: True",
        "AddBackward0 (+ offset) -> ['MulBackward0', None]",
        "MulBackward0 (* weight) -> [None, 'AccumulateGrad']",
        "weight       changed by the step: True",
        "running_mean changed by the step: False",
        "offset       changed by the step: False",
        "weight       dtype: gradviz.float64",
        "running_mean dtype: gradviz.float64",
        "offset       dtype: gradviz.float32",
    ],
    # PyTorch's order (reference: pytorch-autograd-semantics.md, sections 3.3, 3.4, 3.12).
    "05_hooks": [
        "forward pre-hook     block",
        "forward pre-hook     fc",
        "forward hook         fc",
        "forward pre-hook     act",
        "forward hook         act",
        "forward hook         block",
        "-- loss.backward() --",
        "node pre-hook        SumBackward0",
        "tensor hook          y",
        "backward pre-hook    block",
        "backward pre-hook    act",
        "backward hook        act",
        "backward pre-hook    fc",
        "post-accumulate hook fc.weight",
        "backward hook        fc",
        "backward hook        block",
        "tensor hook          x",
        "after handle.remove() on all 16 handles: 0 hook calls",
    ],
    "06_grad_accumulation": [
        "after backward #1: w.grad = tensor(3.)",
        "after backward #2: w.grad = tensor(6.)",
        "zero_grad(set_to_none=False): w.grad = tensor(0.), same tensor: True",
        "zero_grad():                  w.grad = None",
        "the same up to rounding: True",
    ],
    "07_double_backward": [
        "y = tensor(8., grad_fn=<PowBackward0>)",
        "dy/dx = tensor(12., grad_fn=<MulBackward0>)",
        "d2y/dx2 = tensor(12.)",
        "dy/dx = tensor(12.), requires_grad=False: a constant",
        "x.grad.grad_fn = CopyBackwards",
    ],
    "08_dynamic_net_diff": [
        "4 training steps",
        "graphs recorded: 4",
        "graphs are identical",
        "graphs differ: 3 added, 0 removed, 0 changed; edges: 6 added, 1 removed",
        "AddmmBackward0   +1 -0 ~0",
        "ClampBackward1   +1 -0 ~0",
        "TBackward0       +1 -0 ~0",
    ],
    "09_nan_hunt": [
        "distances: tensor([0., 1., 1.])",
        "nan",
        "Inf origin: SqrtBackward0",
        "NaN origin: PowBackward0",
        "finite: True",
    ],
    "10_mlp": [
        "(fc1): Linear(in_features=4, out_features=8, bias=True)",
        "step  0: loss =",
        "step  2: loss =",
        "15 nodes; modules: ['act', 'fc1', 'fc2']",
        "leaves: ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']",
    ],
    "11_small_cnn": [
        "(0): Conv2d(1, 4, kernel_size=(3, 3)",
        "698 parameters",
        "features.1.running_mean",
        "images (2, 1, 8, 8)",
        "conv weight grad: (4, 1, 3, 3)",
        "in 15 Adam steps",
        "loss went down: True",
        "ConvolutionBackward0",
        "LogSoftmaxBackward0",
        "MaxPool2DWithIndicesBackward0",
        "NativeBatchNormBackward0",
        "NllLossBackward0",
    ],
    "12_transformer_block": [
        "TransformerEncoderLayer(",
        "output (2, 3, 8)",
        "self_attn                     36",
        "self_attn.in_proj_weight     grad (24, 8)",
        "norm2.bias                   grad (8,)",
        "in 15 Adam steps",
        "loss went down: True",
    ],
}


@dataclass(frozen=True)
class Run:
    """One sample run as a script."""

    returncode: int
    stdout: str
    stderr: str
    out: Path


def _run_sample(path: Path, out: Path) -> Run:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NO_COLOR"] = "1"
    result = subprocess.run(
        [sys.executable, "-W", "error", str(path), "--out", str(out), "--fast"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr, out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Run every sample once, two at a time (each mostly waits on its own process)."""
    base = tmp_path_factory.mktemp("samples")
    paths = regenerate.sample_paths()
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        results = pool.map(lambda p: _run_sample(p, base / p.stem), paths)
        return {path.stem: run for path, run in zip(paths, results, strict=True)}


@pytest.fixture(scope="module")
def figures() -> list[tuple[str, Any]]:
    """Every figure of every sample, drawn in this process (no Graphviz needed)."""
    return regenerate.collect_figures()


@pytest.fixture(scope="module")
def dots(figures: list[tuple[str, Any]]) -> dict[str, str]:
    """The DOT source of every figure, by figure name."""
    return {figure.name: figure.dot() for _, figure in figures}


def _committed_dots() -> list[str]:
    return sorted(path.stem for path in IMG_DIR.glob("*.dot"))


# ------------------------------------------------------------------------- the scripts


def test_every_sample_has_expectations() -> None:
    stems = [path.stem for path in regenerate.sample_paths()]
    assert stems == sorted(EXPECTED), (
        "each samples/NN_*.py needs its expected output in EXPECTED (and only those)"
    )
    numbers = [stem[:2] for stem in stems]
    assert numbers == [f"{k:02d}" for k in range(1, len(stems) + 1)], "numbered 01, 02, ..."


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_sample_runs_and_prints(
    stem: str, runs: dict[str, Run], figures: list[tuple[str, Any]]
) -> None:
    run = runs[stem]
    assert run.returncode == 0, f"{stem} exited {run.returncode}:\n{run.stderr}"
    assert run.stderr == "", f"{stem} wrote to stderr:\n{run.stderr}"
    position = 0
    for expected in EXPECTED[stem]:
        found = run.stdout.find(expected, position)
        assert found >= 0, (
            f"{stem} should print {expected!r} (after what came before it); it printed:\n"
            f"{run.stdout}"
        )
        position = found + len(expected)
    names = [figure.name for owner, figure in figures if owner == stem]
    assert names, f"{stem} draws no figure"
    for name in names:
        path = run.out / f"{name}.png"
        assert f"wrote {path}" in run.stdout
        assert path.read_bytes().startswith(PNG_MAGIC), f"{path} is not a PNG"


# ------------------------------------------------------------------------ the pictures


@pytest.mark.parametrize("name", _committed_dots())
def test_committed_dot_matches_what_the_code_draws(name: str, dots: dict[str, str]) -> None:
    assert name in dots, f"docs/img/{name}.dot: no sample draws it any more. {FIX}"
    committed = (IMG_DIR / f"{name}.dot").read_text(encoding="utf-8")
    assert dots[name] == committed, (
        f"docs/img/{name}.dot differs from what the samples draw now. {FIX}"
    )


def test_every_figure_is_committed_as_dot_and_png(dots: dict[str, str]) -> None:
    missing = [name for name in dots if not (IMG_DIR / f"{name}.dot").is_file()]
    assert not missing, f"no committed docs/img/<name>.dot for {missing}. {FIX}"
    for name in dots:
        png = IMG_DIR / f"{name}.png"
        assert png.is_file(), f"docs/img/{name}.png is missing. {FIX}"
        assert png.read_bytes().startswith(PNG_MAGIC), f"docs/img/{name}.png is not a PNG"
    leftovers = sorted(
        path.name
        for path in IMG_DIR.iterdir()
        if path.suffix in (".png", ".dot") and path.stem not in dots
    )
    assert not leftovers, f"pictures no sample draws: {leftovers}. {FIX}"


def test_regenerate_check_agrees(figures: list[tuple[str, Any]]) -> None:
    assert regenerate.stale_pictures(figures) == []


def test_figures_are_deterministic(figures: list[tuple[str, Any]]) -> None:
    again = {figure.name: figure.dot() for _, figure in regenerate.collect_figures()}
    first = {figure.name: figure.dot() for _, figure in figures}
    assert again == first


def test_figures_draw_no_timings(figures: list[tuple[str, Any]]) -> None:
    # Recorded graphs carry seconds per node; a drawn time would change every run.
    for _, figure in figures:
        assert not re.search(r"\d\s*(ms|µs|s)\b", figure.dot()), figure.name


def test_readme_picture_is_the_mlp(dots: dict[str, str]) -> None:
    readme = README.read_text(encoding="utf-8")
    assert "](docs/img/mlp.png)" in readme
    assert "](docs/tour.md)" in readme
    assert "cluster_fc1" in dots["mlp"] and "fc1.weight" in dots["mlp"]


# --------------------------------------------------------------------------- the tour


def test_tour_shows_every_picture_and_sample(dots: dict[str, str]) -> None:
    tour = TOUR.read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\(img/([^)]+)\.png\)", tour))
    assert shown == set(dots), f"pictures not in docs/tour.md: {sorted(set(dots) - shown)}"
    for path in regenerate.sample_paths():
        assert f"](../samples/{path.name})" in tour, f"docs/tour.md does not link {path.name}"


def test_tour_sessions_have_been_run() -> None:
    tour = TOUR.read_text(encoding="utf-8")
    blocks = [m.group("body") for m in regenerate._SESSION.finditer(tour)]
    assert blocks, "docs/tour.md has no terminal session"
    for body in blocks:
        lines = body.splitlines()
        commands = [line[2:] for line in lines if line.startswith("$ ")]
        assert commands, f"a session without a '$ ' line:\n{body}"
        for command in commands:
            assert regenerate._argv(command)[0] == sys.executable
        assert len(lines) > len(commands), (
            f"the session {commands} has no output: run `{regenerate.COMMAND}`"
        )
        assert "Traceback" not in body


# ------------------------------------------------------------------ helpers and errors


def _tour_module() -> Any:
    with regenerate._samples_on_path():
        import _tour
    return _tour


def test_figure_rejects_a_bad_name_and_a_bad_source() -> None:
    tour = _tour_module()
    graph = nx.DiGraph(schema="gradviz.trace/1", roots=[])
    with pytest.raises(ValueError, match="plain file stem"):
        tour.Figure("img/x", graph)
    with pytest.raises(TypeError, match="source must be a trace graph or a GraphDiff"):
        tour.Figure("x", "not a graph")


def test_session_commands_are_limited_to_gradviz_and_python() -> None:
    assert regenerate._argv("gradviz diff a b")[:3] == [sys.executable, "-m", "gradviz"]
    assert regenerate._argv("python samples/01_leaf_and_ops.py") == [
        sys.executable,
        "samples/01_leaf_and_ops.py",
    ]
    with pytest.raises(regenerate.RegenerateError, match="only 'gradviz ...' and 'python ...'"):
        regenerate._argv("rm -rf /")
    with pytest.raises(regenerate.RegenerateError, match="has no '\\$ ' command line"):
        regenerate.render_session("just text\n")


def test_a_crashing_session_command_is_an_error() -> None:
    with pytest.raises(regenerate.RegenerateError, match="failed \\(exit"):
        regenerate.run_command("python -c \"raise ValueError('boom')\"")


@pytest.fixture
def fake_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the regenerator at a folder of made-up samples."""
    folder = tmp_path / "fake"
    folder.mkdir()
    monkeypatch.setattr(regenerate, "sample_paths", lambda: sorted(folder.glob("*.py")))

    def load(path: Path) -> Any:
        namespace: dict[str, Any] = {}
        with regenerate._samples_on_path():
            exec(compile(path.read_text(), str(path), "exec"), namespace)
        if not callable(namespace.get("figures")):
            raise regenerate.RegenerateError(f"{path.name} has no figures() function")
        return type("Sample", (), {"figures": staticmethod(namespace["figures"])})

    monkeypatch.setattr(regenerate, "load_sample", load)
    yield folder


_FAKE = """
import networkx as nx
from _tour import Figure
def figures():
    return [{figures}]
"""


def test_duplicate_figure_names_are_an_error(fake_samples: Path) -> None:
    graph = 'nx.DiGraph(schema="gradviz.trace/1", roots=[])'
    for stem in ("01_a", "02_b"):
        (fake_samples / f"{stem}.py").write_text(_FAKE.format(figures=f"Figure('x', {graph})"))
    with pytest.raises(regenerate.RegenerateError, match="'x' is drawn by both 01_a and 02_b"):
        regenerate.collect_figures()


def test_figures_must_return_figures(fake_samples: Path) -> None:
    (fake_samples / "01_a.py").write_text(_FAKE.format(figures="'not a figure'"))
    with pytest.raises(regenerate.RegenerateError, match="returned a str, not a Figure"):
        regenerate.collect_figures()


def test_a_sample_without_figures_is_an_error() -> None:
    with pytest.raises(regenerate.RegenerateError, match="has no figures\\(\\) function"):
        regenerate.load_sample(ROOT / "samples" / "regenerate.py")
