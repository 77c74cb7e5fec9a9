"""record(): one graph per backward call, annotated as it runs; and gradient summaries."""

from __future__ import annotations

import gc
import importlib.util
import math
import weakref
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz as gv
from gradviz.engine.events import bus
from gradviz.trace import Recorder, capture, record, schema, summarize
from gradviz.trace.summary import dtype_name, host_copy


def seed_program() -> tuple[gv.Tensor, gv.Tensor, gv.Tensor, gv.Tensor]:
    w = gv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = gv.tensor([4.0, 5.0, -6.0])
    b = gv.tensor([0.5, 0.5, 0.5], requires_grad=True)
    w.name, b.name = "w", "b"
    return (w * x + b).sum(), w, x, b


def same_static(recorded: Any, captured: Any) -> bool:
    return schema.graphs_equal(schema.static_view(recorded), schema.static_view(captured))


# ------------------------------------------------------------------ agreement with capture


def test_recorded_graph_equals_captured_graph() -> None:
    loss, _, _, _ = seed_program()
    captured = capture(loss)
    with record() as rec:
        loss.backward()
    assert len(rec.graphs) == 1
    g = rec.graphs[0]
    schema.validate(g)
    assert same_static(g, captured)
    assert list(g.nodes) == list(captured.nodes)
    assert g.graph["producer"]["how"] == "record"
    assert g.graph["producer"]["iteration"] == 0


def mlp_step(seed: int, x_rows: int = 4) -> gv.Tensor:
    gv.manual_seed(seed)
    ws = [gv.randn(3, 3, dtype=gv.float64, requires_grad=True) for _ in range(3)]
    for i, w in enumerate(ws):
        w.name = f"layers.{i}.weight"
    h = gv.randn(x_rows, 3, dtype=gv.float64)
    for i, w in enumerate(ws):
        h = h @ w
        if i < 2:
            h = h.relu()
    return (h * h).mean()


@pytest.mark.parametrize("saved", [False, True])
def test_record_equals_capture_on_an_mlp(saved: bool) -> None:
    loss = mlp_step(0)
    captured = capture(loss, saved=saved)
    with record(saved=saved) as rec:
        loss.backward()
    assert same_static(rec.graphs[0], captured)
    schema.validate(rec.graphs[0])


def test_one_graph_per_backward_with_iteration_numbers() -> None:
    with record() as rec:
        for i in range(3):
            loss = mlp_step(i)
            loss.backward()
    assert [g.graph["producer"]["iteration"] for g in rec.graphs] == [0, 1, 2]
    assert len(rec) == 3
    # the same program gives the same graph each iteration, ids included
    assert same_static(rec.graphs[0], rec.graphs[2])


def test_same_program_recorded_twice_gives_equal_graphs() -> None:
    def run() -> Any:
        with record(values=True) as rec:
            mlp_step(7).backward()
        g = rec.graphs[0]
        for d in g.nodes.values():  # times differ from run to run
            if "seconds" in d:
                d["seconds"] = 0.0
        g.graph["backward"]["seconds"] = 0.0
        return g

    assert schema.graphs_equal(run(), run())


# ------------------------------------------------------------------ what a backward adds


def test_order_and_backward_attributes() -> None:
    loss, _, _, _ = seed_program()
    with record() as rec:
        loss.backward()
    g = rec.graphs[0]
    bw = g.graph["backward"]
    assert set(bw) == set(schema.BACKWARD_KEYS)
    assert bw["order"] == ["n6", "n5", "n3", "n2", "n0"]  # PyTorch's order
    assert bw["completed"] is True
    assert (bw["retain_graph"], bw["create_graph"]) == (False, False)
    assert bw["seconds"] >= 0.0
    assert [g.nodes[n]["order"] for n in bw["order"]] == [0, 1, 2, 3, 4]
    assert all(g.nodes[n]["seconds"] >= 0.0 for n in bw["order"])


def test_gradient_summaries() -> None:
    loss, w, x, b = seed_program()
    with record() as rec:
        loss.backward()
    g = rec.graphs[0]
    mul = g.nodes["n2"]
    (into_mul,) = mul["grad_in"]
    assert into_mul["shape"] == (3,) and into_mul["norm"] == pytest.approx(math.sqrt(3))
    out_w, out_x = mul["grad_out"]
    assert out_x is None  # x does not require grad
    assert out_w["min"] == -6.0 and out_w["max"] == 5.0 and out_w["mean"] == 1.0
    assert out_w["norm"] == pytest.approx(math.sqrt(16 + 25 + 36))
    assert (out_w["nan"], out_w["inf"], out_w["dtype"], out_w["device"]) == (0, 0, "float32", "cpu")
    acc_w = g.nodes["n0"]
    assert acc_w["grad_in"] == [out_w] and acc_w["grad_out"] == []
    assert g.nodes["n1"]["grad"] == summarize(w.grad)
    assert g.nodes["n4"]["grad"] == summarize(b.grad)
    assert "grad_in_values" not in mul and "grad_value" not in g.nodes["n1"]


def test_values_keeps_host_arrays() -> None:
    loss, w, x, b = seed_program()
    with record(values=True) as rec:
        loss.backward()
    g = rec.graphs[0]
    schema.validate(g)
    mul = g.nodes["n2"]
    np.testing.assert_array_equal(mul["grad_out_values"][0], x.numpy())
    assert mul["grad_out_values"][1] is None
    np.testing.assert_array_equal(g.nodes["n1"]["grad_value"], w.grad.numpy())
    # the stored arrays are copies: a later backward accumulating into .grad leaves them
    kept = g.nodes["n1"]["grad_value"].copy()
    loss2, _, _, _ = seed_program()
    (loss2 * 0 + (w * 2).sum()).backward()
    np.testing.assert_array_equal(g.nodes["n1"]["grad_value"], kept)


def test_grad_accumulation_summarises_the_sum() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    with record() as rec:
        (w * 3).sum().backward()
        (w * 3).sum().backward()
    assert rec.graphs[0].nodes["n1"]["grad"]["max"] == 3.0
    assert rec.graphs[1].nodes["n1"]["grad"]["max"] == 6.0  # .grad after the second call


def test_autograd_grad_records_without_leaf_grads() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with record() as rec:
        (gw,) = gv.autograd.grad(y, w)
    g = rec.graphs[0]
    assert g.nodes["n1"]["grad"] is None  # grad() does not write .grad
    assert g.nodes["n0"]["grad_in"][0]["max"] == 4.0
    assert gw.tolist() == [2.0, 4.0]


def test_nodes_that_do_not_run_have_no_order() -> None:
    a = gv.tensor([1.0, 2.0], requires_grad=True)
    b = gv.tensor([3.0, 4.0], requires_grad=True)
    y = (a * 2).sum() + (b * 3).sum()
    with record() as rec:
        gv.autograd.grad(y, [a])
    g = rec.graphs[0]
    labels = {n: d["label"] for n, d in g.nodes(data=True)}
    not_run = [labels[n] for n, d in g.nodes(data=True) if d["kind"] == "op" and d["order"] is None]
    assert sorted(not_run) == ["AccumulateGrad", "MulBackward0", "SumBackward0"]  # b's branch
    for d in g.nodes.values():
        if d["kind"] == "op" and d["order"] is None:
            assert d["seconds"] == 0.0
            assert d["grad_in"] == [None] * d["n_outputs"]


def test_nan_gradients_are_counted() -> None:
    x = gv.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with record() as rec:
        x.sqrt().sum().backward()  # d sqrt(x)/dx at 0 is inf
    g = rec.graphs[0]
    sqrt = next(d for _, d in g.nodes(data=True) if d["label"] == "SqrtBackward0")
    (out,) = sqrt["grad_out"]
    assert out["inf"] == 1 and out["nan"] == 0
    assert out["max"] == 0.5 and out["min"] == 0.25  # over the finite elements


def test_double_backward_is_recorded() -> None:
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    y = (x**3).sum()
    with record() as rec:
        (g,) = gv.autograd.grad(y, x, create_graph=True)
        z = g.sum()
        captured = capture(z)
        z.backward()
    assert len(rec.graphs) == 2
    first, second = rec.graphs
    assert first.graph["backward"]["create_graph"] is True
    assert first.graph["backward"]["retain_graph"] is True
    assert same_static(second, captured)
    # the second graph holds nodes the first backward created, and reaches the leaf x
    assert second.number_of_nodes() > first.number_of_nodes()
    assert [d["label"] for _, d in second.nodes(data=True) if d["kind"] == "leaf"] == ["x"]
    assert second.graph["backward"]["completed"] is True
    assert x.grad.tolist() == [6.0, 12.0]  # d/dx sum(3 x^2)


def test_params_and_saved_options() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    c = gv.tensor([3.0, 4.0])
    y = (w.exp() * c).sum()
    captured = capture(y, params={"weight": w}, saved=True)
    with record(params={"weight": w}, saved=True) as rec:
        y.backward()
    assert same_static(rec.graphs[0], captured)
    assert rec.graphs[0].nodes["n1"]["param"] == "weight"


def test_transposed_weight_gradient_summaries_agree() -> None:
    # A weight's gradient reaches TBackward0 as the transpose of what leaves it: one
    # array in two shapes, summarised once; the numbers must be those of the array.
    gv.manual_seed(0)
    layer = gv.nn.Linear(48, 32)
    x = gv.randn(16, 48)
    with record() as rec:
        layer(x).square().mean().backward()
    g = rec.graphs[0]
    (t_node,) = [d for _, d in g.nodes(data=True) if d["label"] == "TBackward0"]
    (into,) = t_node["grad_in"]
    (out,) = t_node["grad_out"]
    assert into["shape"] == (48, 32) and out["shape"] == (32, 48)
    assert {k: v for k, v in into.items() if k != "shape"} == {
        k: v for k, v in out.items() if k != "shape"
    }
    expected = summarize(layer.weight.grad.numpy().astype(np.float64))
    for key in ("norm", "min", "max", "mean"):
        assert out[key] == pytest.approx(expected[key], rel=1e-5, abs=1e-9)
    weight = next(d for _, d in g.nodes(data=True) if d["label"] == "weight")
    assert weight["grad"]["norm"] == pytest.approx(expected["norm"], rel=1e-5)


def test_graph_is_made_on_first_read_and_fills_in_if_read_during_backward() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    seen: list[Any] = []
    with record() as rec:
        h = w * 3
        h.register_hook(lambda grad: seen.append(rec.graphs[-1]))  # read mid-backward
        h.sum().backward()
    (mid,) = seen
    assert mid is rec.graphs[0]  # the same graph object, filled in after the read
    assert mid.graph["backward"]["completed"] is True
    assert mid.graph["backward"]["order"] == ["n3", "n2", "n0"]
    assert mid.nodes["n1"]["grad"]["max"] == 3.0
    schema.validate(mid)


def test_recorder_drops_the_engine_graph_after_each_backward() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    with record() as rec:
        loss = (w * 3).exp().sum()
        node = weakref.ref(loss.grad_fn)
        loss.backward()
    del loss
    gc.collect()
    assert node() is None  # not kept alive by the graphs not yet read
    assert len(rec) == 1 and rec.graphs[0].nodes["n4"]["label"] == "SumBackward0"


# ------------------------------------------------------------------ subscription lifecycle


def test_listener_removed_on_exit_and_on_exceptions() -> None:
    with record() as rec:
        assert rec.recording and len(bus.listeners) == 1
    assert not rec.recording and not bus.listeners
    with pytest.raises(ZeroDivisionError):
        with record():
            1 / 0  # noqa: B018
    assert not bus.listeners


class Broken(gv.autograd.Function):
    """A user Function whose backward raises."""

    @staticmethod
    def forward(ctx: Any, x: gv.Tensor) -> gv.Tensor:
        """Return a copy of x."""
        return x * 1

    @staticmethod
    def backward(ctx: Any, g: gv.Tensor) -> gv.Tensor:
        """Fail."""
        raise ValueError("broken backward")


def test_failing_backward_is_kept_as_not_completed() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    y = Broken.apply(w * 2).sum()
    with pytest.raises(ValueError, match="broken backward"):
        with record() as rec:
            y.backward()
    assert not bus.listeners
    g = rec.graphs[0]
    schema.validate(g)
    bw = g.graph["backward"]
    assert bw["completed"] is False
    assert [g.nodes[n]["label"] for n in bw["order"]] == ["SumBackward0", "BrokenBackward"]
    broken = g.nodes[bw["order"][-1]]
    assert broken["grad_in"][0]["shape"] == (2,)  # what it was given before it raised
    assert broken["grad_out"] == [None]


def test_backward_twice_error_is_recorded_too() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        with record() as rec:
            y.backward()
    assert rec.graphs[0].graph["backward"]["completed"] is False
    assert rec.graphs[0].nodes["n2"]["saved_freed"] is True


def test_start_stop_and_errors() -> None:
    rec = Recorder()
    rec.start()
    try:
        with pytest.raises(RuntimeError, match="already recording"):
            rec.start()
        (gv.ones(2, requires_grad=True) * 2).sum().backward()
    finally:
        rec.stop()
    rec.stop()  # twice is harmless
    assert len(rec.graphs) == 1 and not bus.listeners
    assert "stopped, 1 graph(s)" in repr(rec)


def test_backward_outside_the_block_is_not_recorded() -> None:
    w = gv.ones(2, requires_grad=True)
    with record() as rec:
        y = (w * 2).sum()
    y.backward()
    assert rec.graphs == []


def test_diff_index_errors() -> None:
    rec = Recorder()
    with pytest.raises(IndexError, match="nothing was recorded"):
        rec.diff(0, 1)
    with rec:
        (gv.ones(2, requires_grad=True) * 2).sum().backward()
    with pytest.raises(IndexError, match=r"no graph 3: this recorder holds 1 graph\(s\)"):
        rec.diff(0, 3)


@pytest.mark.skipif(
    importlib.util.find_spec("gradviz.trace.diff") is None, reason="the differ is not written yet"
)
def test_diff_of_two_iterations() -> None:
    from gradviz.trace import diff as differ

    with record() as rec:
        mlp_step(0).backward()
        mlp_step(1).backward()
        mlp_step(2, x_rows=5).backward()
    assert differ.__name__ == "diff"  # gradviz.trace.diff is the function, not the module
    assert rec.diff(0, 1).identical == differ(rec.graphs[0], rec.graphs[1]).identical
    assert not rec.diff(0, 2).identical  # a batch of 5 rows instead of 4 changes shapes


# ------------------------------------------------------------------ summaries


def test_summary_fields() -> None:
    s = summarize(np.array([[3.0, -4.0], [0.0, 0.0]], dtype=np.float32))
    assert s == {
        "shape": (2, 2),
        "dtype": "float32",
        "device": "cpu",
        "norm": 5.0,
        "min": -4.0,
        "max": 3.0,
        "mean": -0.25,
        "nan": 0,
        "inf": 0,
    }
    assert summarize(gv.tensor([1.0, 2.0, 2.0]))["norm"] == 3.0


def test_summary_of_non_finite_and_empty_arrays() -> None:
    s = summarize(np.array([np.nan, np.inf, -np.inf, 2.0, -1.0]))
    assert (s["nan"], s["inf"], s["min"], s["max"], s["mean"]) == (1, 2, -1.0, 2.0, 0.5)
    assert s["norm"] == pytest.approx(math.sqrt(5))
    s = summarize(np.array([np.nan, np.nan]))
    assert s["nan"] == 2 and s["norm"] == 0.0 and math.isnan(s["min"]) and math.isnan(s["mean"])
    s = summarize(np.zeros((0, 3), dtype=np.float32))
    assert s["shape"] == (0, 3) and s["norm"] == 0.0 and math.isnan(s["max"])


def test_summary_does_not_overflow() -> None:
    s = summarize(np.array([60000.0, -60000.0], dtype=np.float16))
    assert s["dtype"] == "float16"
    assert s["norm"] == pytest.approx(60000.0 * math.sqrt(2), rel=1e-3)
    big = np.array([1e200, 1e200])
    assert summarize(big)["norm"] == pytest.approx(1e200 * math.sqrt(2))
    assert summarize(np.array([1e308, 1e308]))["inf"] == 0  # the sum overflows, not the data


def test_summary_of_other_dtypes() -> None:
    s = summarize(np.array([3 + 4j, 0j]))
    assert (s["dtype"], s["norm"], s["max"]) == ("complex128", 5.0, 5.0)
    s = summarize(np.array([1, 2, 3], dtype=np.int64))
    assert (s["dtype"], s["min"], s["max"], s["mean"]) == ("int64", 1.0, 3.0, 2.0)


def test_summary_rejects_non_arrays() -> None:
    with pytest.raises(TypeError, match="summarize\\(\\) expects a Tensor or an array, got list"):
        summarize([1.0, 2.0])


def test_summary_on_the_strict_device() -> None:
    xp = pytest.importorskip("array_api_strict")
    arr = xp.asarray([3.0, -4.0, float("nan")], dtype=xp.float32, device=xp.Device("device1"))
    s = summarize(arr)
    assert s["device"] == "strict:1" and s["dtype"] == "float32"
    assert (s["norm"], s["min"], s["max"], s["nan"]) == (5.0, -4.0, 3.0, 1)
    assert host_copy(arr).tolist()[:2] == [3.0, -4.0]
    assert dtype_name(xp.float64) == "float64"


@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        elements=st.one_of(
            st.floats(-1e6, 1e6, width=32), st.sampled_from([math.nan, math.inf, -math.inf])
        ),
    )
)
def test_summary_matches_numpy(a: np.ndarray) -> None:
    s = summarize(a)
    finite = a[np.isfinite(a)].astype(np.float64)
    assert s["shape"] == a.shape and s["dtype"] == a.dtype.name
    assert s["nan"] == int(np.isnan(a).sum()) and s["inf"] == int(np.isinf(a).sum())
    if finite.size == 0:
        assert s["norm"] == 0.0 and math.isnan(s["min"])
        return
    assert s["min"] == finite.min() and s["max"] == finite.max()
    scale = float(np.abs(finite).max())
    assert s["mean"] == pytest.approx(finite.mean(), rel=1e-5, abs=1e-6 * scale + 1e-30)
    assert s["norm"] == pytest.approx(np.linalg.norm(finite), rel=1e-4)


def test_record_on_the_strict_device() -> None:
    pytest.importorskip("array_api_strict")
    x = gv.tensor([1.0, -2.0, 3.0], device="strict:0").requires_grad_()
    with record(values=True) as rec:
        (x * 2).sum().backward()
    g = rec.graphs[0]
    schema.validate(g)
    assert g.nodes["n1"]["device"] == "strict:0"
    assert g.nodes["n1"]["grad"]["device"] == "strict:0"
    assert g.nodes["n1"]["grad"]["norm"] == pytest.approx(math.sqrt(12))
    assert isinstance(g.nodes["n1"]["grad_value"], np.ndarray)
    np.testing.assert_array_equal(g.nodes["n1"]["grad_value"], [2.0, 2.0, 2.0])
