"""gradviz.renderers.diffview: the union picture and the console report of a diff."""

from __future__ import annotations

import importlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import networkx as nx
import pytest
from rich.console import Console

import gradviz as gv
from gradviz.errors import RenderError
from gradviz.renderers import diffview
from gradviz.renderers.console import make_console
from tests.diff import dynamic
from tests.diff.builder import Builder
from tests.helpers.golden import assert_golden

diff = importlib.import_module("gradviz.trace.diff").diff

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def small_pair() -> tuple[nx.DiGraph, nx.DiGraph]:
    """Return a and b: one op added, one removed, two changed, gradients on both."""

    def graph(version: int) -> nx.DiGraph:
        b = Builder()
        w = b.leaf("layer.weight", (3, 2), grad=1.0 + version)
        x = b.leaf(None, (4, 3), grad=0.5)
        h = b.op("MmBackward0", x, w, shape=(4, 2 + version), module="layer", grad=2.0)
        if version == 0:
            h = b.op("TanhBackward0", h, shape=(4, 2), grad=2.5)
        else:
            h = b.op("SigmoidBackward0", h, shape=(4, 3), grad=3.5)
        loss = b.op("SumBackward1", h, shape=(), attrs={"dim": str(version)}, grad=1.0)
        return b.graph(loss, names=["loss"], backward=True)

    return graph(0), graph(1)


def captured_dynamic(depth: int, batch: int = 4) -> nx.DiGraph:
    model, loss_fn, _ = dynamic.make(0)
    model.depth = depth
    x = gv.ones(batch, dynamic.D_IN)
    return gv.trace.capture(loss_fn(model(x), gv.zeros(batch, dynamic.D_OUT)))


# ------------------------------------------------------------------ the picture


def test_dot_colours_by_status() -> None:
    d = diff(*small_pair())
    source = diffview.render_dot(d)
    lines = source.splitlines()

    def line_of(uid: str) -> str:
        return next(line for line in lines if line.lstrip().startswith(f"{uid} ["))

    added = d.added[0]
    removed = d.removed[0]
    changed = d.changed[0].b
    assert "fillcolor=palegreen" in line_of(f"b_{added}")
    assert "fillcolor=lightpink" in line_of(f"a_{removed}") and "dashed" in line_of(f"a_{removed}")
    assert "fillcolor=orange" in line_of(f"b_{changed}")
    assert "shape: (4, 2) -> (4, 3)" in line_of(f"b_{changed}")
    assert "fillcolor=lightgrey" in line_of("b_n0")
    assert "cluster_legend" in source and "removed (a only)" in source
    assert source.startswith("digraph gradviz_diff {")
    assert 'label="graphs differ: 1 added, 1 removed, 2 changed' in source


def test_dot_removed_edges_attach_to_matched_nodes() -> None:
    a, b = captured_dynamic(2), captured_dynamic(1)
    d = diff(a, b)
    source = diffview.render_dot(d)
    # Every removed edge is drawn red and dashed, between b's ids where a node survived.
    for u, v in d.removed_edges:
        tail = f"b_{d.matches[u]}" if u in d.matches else f"a_{u}"
        head = f"b_{d.matches[v]}" if v in d.matches else f"a_{v}"
        assert f"{tail} -> {head} [color=red style=dashed]" in source


def test_dot_golden_and_deterministic() -> None:
    d = diff(*small_pair())
    source = diffview.render_dot(d)
    assert source == diffview.render_dot(diff(*small_pair()))
    assert_golden("diff/small_pair.dot", source)


def _affine(n: int, *, tanh: bool = False) -> nx.DiGraph:
    """``(w * 2 + b).sum()`` with 1-D leaves of ``n`` elements, optionally through tanh."""
    w = gv.ones(n, requires_grad=True)
    b = gv.zeros(n, requires_grad=True)
    h = w * 2.0 + b
    if tanh:
        h = h.tanh()
    return gv.trace.capture(h.sum(), params={"w": w, "b": b})


def test_picture_writes_shapes_as_the_graph_picture_does() -> None:
    from gradviz.renderers import graphviz as graph_picture

    a, b = _affine(6), _affine(6, tanh=True)
    source = diffview.render_dot(diff(a, b))
    assert 'b_n1 [label="w\\l(6)\\l"' in source
    assert 'b_n6 [label="TanhBackward0\\l(6)\\l"' in source  # the added op
    assert "(6,)" not in source
    graph_source = graph_picture.render_dot(b)
    assert 'n1 [label="w\n(6)"' in graph_source and "(6,)" not in graph_source
    grown = diff(_affine(6), _affine(8))
    picture = diffview.render_dot(grown)
    assert 'b_n1 [label="w\\l(8)\\lshape: (6) -> (8)\\l"' in picture
    assert "(6,)" not in picture and "(8,)" not in picture
    # The console report keeps the console views' tuple form.
    assert "~ n1 w: shape (6,) -> (8,)" in diffview.report_text(grown)


def test_identical_diff_is_all_grey() -> None:
    g = captured_dynamic(1)
    source = diffview.render_dot(diff(g, g), legend=False)
    assert "palegreen" not in source and "lightpink" not in source and "orange" not in source
    assert "graphs are identical" in source and "cluster_legend" not in source


def test_big_union_draws_the_changes_and_their_neighbours() -> None:
    def chain(n: int, extra: bool) -> nx.DiGraph:
        b = Builder()
        h = b.leaf("w")
        for k in range(n):
            h = b.op("TanhBackward0", h)
            if extra and k == n // 2:
                h = b.op("ExpBackward0", h)
        return b.graph(h)

    d = diff(chain(300, False), chain(300, True))
    source = diffview.render_dot(d, max_nodes=20)
    assert "showing 3 of 304 nodes: the changes and their neighbours (max_nodes=20)" in source
    assert source.count("fillcolor=") == 3 + 4  # the added node, its 2 neighbours, legend
    assert "showing 2 of 304" in diffview.render_dot(d, max_nodes=2)
    full = diffview.render_dot(d)
    assert full.count("fillcolor=") == 304 + 4


def test_render_formats(tmp_path: Path) -> None:
    d = diff(*small_pair())
    dot_path = diffview.render(d, tmp_path / "d.dot")
    assert dot_path.read_text() == diffview.render_dot(d)
    data = json.loads(diffview.render(d, tmp_path / "d.json").read_text())
    assert data == json.loads(json.dumps(d.to_dict()))
    assert diffview.render(d, tmp_path / "d.txt").read_text() == d.text()
    assert diffview.render(d, tmp_path / "same", format="text").read_text() == d.text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.dot", "d.json", "d.txt", "same"]
    umask = os.umask(0)
    os.umask(umask)
    assert dot_path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    nested = diffview.render(d, tmp_path / "new" / "folder" / "d.txt")
    assert nested.read_text() == d.text()


@needs_dot
def test_render_pdf_svg_png(tmp_path: Path) -> None:
    a, b = captured_dynamic(1), captured_dynamic(2)
    d = diff(a, b)
    pdf = diffview.render(d, tmp_path / "diff.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    svg = diffview.render(d, tmp_path / "diff.svg").read_text()
    assert "AddmmBackward0" in svg and "palegreen" in svg
    assert diffview.render(d, tmp_path / "diff.png").read_bytes().startswith(b"\x89PNG")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for word in ("ClampBackward1", "TBackward0", "middle_linear.weight", "legend", "added"):
            assert word in text


def test_render_without_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    d = diff(*small_pair())
    with pytest.raises(RenderError, match=r"needs the Graphviz 'dot' program"):
        diffview.render(d, tmp_path / "d.pdf")
    assert not (tmp_path / "d.pdf").exists()
    assert diffview.render(d, tmp_path / "d.dot").exists()  # DOT needs no Graphviz


def test_picture_errors(tmp_path: Path) -> None:
    d = diff(*small_pair())
    with pytest.raises(TypeError, match=r"expected a GraphDiff .* got DiGraph"):
        diffview.to_dot(nx.DiGraph())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"max_nodes must be at least 1, got 0"):
        diffview.to_dot(d, max_nodes=0)
    with pytest.raises(ValueError, match=r"rankdir must be one of TB, LR, BT, RL, got 'XY'"):
        diffview.to_dot(d, rankdir="XY")
    with pytest.raises(ValueError, match=r"cannot tell the format from the file name"):
        diffview.render(d, tmp_path / "d.xyz")
    with pytest.raises(ValueError, match=r"unknown format 'gif'"):
        diffview.render(d, tmp_path / "d.gif", format="gif")


# ------------------------------------------------------------------ the report


def test_report_golden_small_pair() -> None:
    text = diffview.report_text(diff(*small_pair()))
    assert text == diffview.report_text(diff(*small_pair()))
    assert_golden("diff/small_pair_report.txt", text)


def test_report_golden_dynamic_net_extra_layer() -> None:
    text = diffview.report_text(diff(captured_dynamic(1), captured_dynamic(2)))
    assert "changes by module" in text
    assert_golden("diff/dynamic_extra_layer.txt", text)


def test_report_golden_dynamic_net_batch_change() -> None:
    text = diffview.report_text(diff(captured_dynamic(2, batch=4), captured_dynamic(2, batch=8)))
    assert "0 added, 0 removed, 7 changed" in text
    assert_golden("diff/dynamic_batch_change.txt", text)


def test_report_groups_by_module_and_limits() -> None:
    d = diff(captured_dynamic(0), captured_dynamic(3))
    text = diffview.report_text(d, limit=2)
    lines = text.splitlines()
    modules = [line for line in lines if line in ("middle_linear", "(top level)")]
    assert modules == ["middle_linear", "(top level)"]  # modules first, the rest last
    assert "... and 8 more" in text  # 2 leaves, 2 AccumulateGrad, 3 T, 3 Addmm: 2 shown
    assert "... and 1 more" in text  # 3 clamps in DynamicNet.forward itself
    assert "+ n8 middle_linear.weight (8, 8) float32" in diffview.report_text(d, limit=None)
    with pytest.raises(ValueError, match=r"limit must be None or >= 0, got -1"):
        diffview.report(d, limit=-1)


def test_report_identical() -> None:
    g = captured_dynamic(1)
    text = diffview.report_text(diff(g, g))
    assert text.splitlines()[1].startswith("│ graphs are identical: 22 nodes, 21 edges")
    assert "by op" not in text and "changes by module" not in text


def test_print_report_uses_colour_only_on_request() -> None:
    d = diff(*small_pair())
    plain = io.StringIO()
    diffview.print_report(d, console=make_console(plain, width=80, color=False))
    assert "\x1b[" not in plain.getvalue()
    assert plain.getvalue().splitlines()[0].startswith("┌─ gradviz diff")
    coloured = io.StringIO()
    console = Console(file=coloured, width=80, force_terminal=True, color_system="standard")
    diffview.print_report(d, console=console)
    assert "\x1b[" in coloured.getvalue()
    uncoloured = io.StringIO()
    console = Console(file=uncoloured, width=80, force_terminal=True, color_system="standard")
    console.print(diffview.report(d, color=False))
    assert "\x1b[31m" not in uncoloured.getvalue()  # no red lines without colour
