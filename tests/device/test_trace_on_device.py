"""Graphs, traces, renderers and the debugger carry the device.

A program run on the device under test must give the graph it gives on the CPU, with the
device in each tensor node (``device="strict:0"``) and in the rendered DOT; gradient
summaries are computed on the device (only a few scalars come back to the host) unless
``record(values=True)`` asked for the arrays, which then arrive as NumPy arrays; trace
files keep all of it; the debugger prints device gradients as it prints CPU ones.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.debugger import Debugger
from gradviz.engine import backend
from gradviz.renderers.console import make_console
from gradviz.renderers.graphviz import render_dot
from gradviz.trace import capture, load, record, save, schema


def _program(device: Any) -> tuple[nn.Module, gradviz.Tensor]:
    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    x = gradviz.randn(5, 3).to(device)
    loss = nn.functional.cross_entropy(model(x), gradviz.tensor([0, 1, 1, 0, 1], device=device))
    return model, loss


def _tensor_nodes(graph: Any) -> list[dict[str, Any]]:
    return [d for _, d in graph.nodes(data=True) if d["kind"] in ("leaf", "output")]


def test_captured_graph_and_dot_carry_the_device(device: gradviz.Device) -> None:
    model, loss = _program(device)
    graph = capture(loss, params=dict(model.named_parameters()))
    schema.validate(graph)
    assert {d["device"] for d in _tensor_nodes(graph)} == {str(device)}
    accumulators = [d for _, d in graph.nodes(data=True) if d["label"] == "AccumulateGrad"]
    assert accumulators and {d["device"] for d in accumulators} == {str(device)}

    cpu_model, cpu_loss = _program("cpu")
    cpu_graph = capture(cpu_loss, params=dict(cpu_model.named_parameters()))
    dot, cpu_dot = render_dot(graph), render_dot(cpu_graph)
    # The CPU is the default device and is not printed; any other device is, under the
    # shape of every tensor node. Without those lines the two drawings are the same.
    assert dot.count(f"\n{device}") == len(_tensor_nodes(graph))
    assert dot.replace(f"\n{device}", "") == cpu_dot


def test_make_dot_shows_the_device(device: gradviz.Device) -> None:
    model, loss = _program(device)
    source = gradviz.make_dot(loss, params=dict(model.named_parameters())).source
    assert f"(4, 3)\n{device}" in source  # the first layer's weight: shape, then device


def _spy_on_host_transfers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Record the shape of every array that ``backend.to_host`` brings to the host."""
    moved: list[tuple[int, ...]] = []
    real = backend.to_host

    def spy(array: Any) -> np.ndarray:
        host = real(array)
        if type(array) is not np.ndarray:
            moved.append(tuple(host.shape))
        return host

    monkeypatch.setattr(backend, "to_host", spy)
    return moved


def test_recorded_summaries_are_computed_on_the_device(
    device: gradviz.Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, loss = _program(device)
    moved = _spy_on_host_transfers(monkeypatch)
    with record() as rec:
        loss.backward()
    monkeypatch.undo()
    graph = rec.graphs[0]
    schema.validate(graph)
    summaries = [s for _, d in graph.nodes(data=True) for s in d.get("grad_in") or [] if s]
    assert summaries and {s["device"] for s in summaries} == {str(device)}
    # Only reductions came back: stacks of at most three scalars, never a gradient.
    assert moved and all(len(shape) == 1 and shape[0] <= 3 for shape in moved), moved
    assert not any(
        k.endswith("_values") and v for _, d in graph.nodes(data=True) for k, v in d.items()
    )

    cpu_model, cpu_loss = _program("cpu")
    with record() as cpu_rec:
        cpu_loss.backward()
    for (nid, d), (_, c) in zip(
        graph.nodes(data=True), cpu_rec.graphs[0].nodes(data=True), strict=True
    ):
        assert d["label"] == c["label"], nid
        for got, want in zip(d.get("grad_in") or [], c.get("grad_in") or [], strict=True):
            if want is None:
                assert got is None
                continue
            assert {**got, "device": "cpu"}.keys() == want.keys()
            for key in ("norm", "min", "max", "mean"):
                assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-7), (nid, key)
            assert (got["nan"], got["inf"], got["shape"]) == (
                want["nan"],
                want["inf"],
                want["shape"],
            )


def test_record_values_moves_arrays_to_the_host(device: gradviz.Device) -> None:
    model, loss = _program(device)
    with record(values=True) as rec:
        loss.backward()
    graph = rec.graphs[0]
    leaves = [d for _, d in graph.nodes(data=True) if d["kind"] == "leaf"]
    assert len(leaves) == 4
    # The four parameters have four different shapes: match recorded values by shape.
    by_shape = {tuple(p.shape): p.grad.cpu().numpy() for p in model.parameters()}
    for leaf in leaves:
        assert type(leaf["grad_value"]) is np.ndarray
        np.testing.assert_array_equal(leaf["grad_value"], by_shape[tuple(leaf["shape"])])
    arrays = [
        a for _, d in graph.nodes(data=True) for a in d.get("grad_in_values") or [] if a is not None
    ]
    assert arrays and all(type(a) is np.ndarray for a in arrays)


def test_trace_files_keep_devices_and_summaries(device: gradviz.Device, tmp_path: Path) -> None:
    model, loss = _program(device)
    with record(values=True) as rec:
        loss.backward()
    path = save(rec.graphs, tmp_path / "run.gvz")
    (back,) = load(path)
    schema.validate(back)
    for nid, data in rec.graphs[0].nodes(data=True):
        loaded = back.nodes[nid]
        assert loaded["device"] == data["device"]
        assert loaded.get("grad") == data.get("grad")
        if "grad_value" in data:
            np.testing.assert_array_equal(loaded["grad_value"], data["grad_value"])
    assert {d["device"] for d in _tensor_nodes(back)} == {str(device)}


def _debug_session(device: Any) -> str:
    x = gradviz.tensor([1.0, 4.0, 0.0], device=device, requires_grad=True)
    w = gradviz.tensor([2.0, 3.0, 1.0], device=device, requires_grad=True)
    loss = (x.sqrt() * w).sum()
    buffer = io.StringIO()
    console = make_console(buffer, width=100, color=False)
    with Debugger(commands="s;p grad_in;c;p grad_out;p saved;c", console=console):
        loss.backward()
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def test_debugger_prints_device_gradients_as_cpu_ones(device: gradviz.Device) -> None:
    text = _debug_session(device)
    assert "inf" in text.lower()  # sqrt'(0) * 1: the session does show the values
    assert text == _debug_session("cpu")


def test_summary_of_a_device_array_matches_numpy(device: gradviz.Device) -> None:
    from gradviz.trace.summary import host_copy, summarize

    values = [3.0, -4.0, math.nan, math.inf, 0.5]
    t = gradviz.tensor(values, device=device)
    s = summarize(t)
    assert s["device"] == str(device)
    assert (s["nan"], s["inf"], s["min"], s["max"]) == (1, 1, -4.0, 3.0)
    assert s["norm"] == pytest.approx(math.sqrt(9 + 16 + 0.25))
    copy = host_copy(t)
    assert type(copy) is np.ndarray and copy[0] == 3.0
    with gradviz.no_grad():
        t.zero_()
    assert copy[0] == 3.0  # a copy, not a view of the device data
