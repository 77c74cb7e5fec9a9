"""record()'s gradient summaries: right numbers, taken as the gradients flowed.

Small gradients are summarised together when the backward ends and large ones as they
flow (see gradviz.trace.record); whichever way, every summary must be that of the gradient
as it flowed, equal to what NumPy computes on it, and unaffected by what user code does to
``.grad`` (or to anything else) afterwards.
"""

from __future__ import annotations

import gc
import math
import weakref
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz as gv
from gradviz.engine import events
from gradviz.trace import record, schema, summarize
from gradviz.trace.summary import SMALL, batchable, summarize_many

# ------------------------------------------------------------------ helpers


def same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Summary dicts equal, NaN equal to NaN."""
    if a is None or b is None:
        return a is b
    if set(a) != set(b):
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


def check_against_numpy(summary: dict[str, Any], value: np.ndarray) -> None:
    """Assert ``summary`` is what a plain float64 NumPy computation gives for ``value``."""
    assert summary["shape"] == value.shape
    assert summary["dtype"] == value.dtype.name
    assert summary["device"] == "cpu"
    assert summary["nan"] == int(np.isnan(value).sum())
    assert summary["inf"] == int(np.isinf(value).sum())
    finite = value[np.isfinite(value)].astype(np.float64)
    if finite.size == 0:
        assert summary["norm"] == 0.0 and math.isnan(summary["min"])
        return
    assert summary["min"] == finite.min() and summary["max"] == finite.max()
    scale = float(np.abs(finite).max()) or 1.0
    assert summary["mean"] == pytest.approx(finite.mean(), rel=1e-5, abs=1e-6 * scale)
    assert summary["norm"] == pytest.approx(float(np.linalg.norm(finite)), rel=1e-5)


def mlp(width: int, dtype: Any = gv.float32) -> tuple[gv.nn.Module, gv.Tensor, gv.Tensor]:
    """A two-layer MLP whose first weight has ``width * 24`` elements, with a batch."""
    gv.manual_seed(0)
    nn = gv.nn
    model = nn.Sequential(nn.Linear(24, width), nn.ReLU(), nn.Linear(width, 3)).to(dtype)
    x = gv.randn(8, 24, dtype=dtype)
    y = gv.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return model, x, y


def step(model: gv.nn.Module, x: gv.Tensor, y: gv.Tensor) -> None:
    gv.nn.functional.cross_entropy(model(x), y).backward()


def recorded_summaries(g: Any) -> list[tuple[str, str, int, dict[str, Any] | None, Any]]:
    """Every (node, key, slot, summary, value) of a graph recorded with values=True."""
    out = []
    for nid, d in g.nodes(data=True):
        for key in ("grad_in", "grad_out"):
            for k, s in enumerate(d.get(key, [])):
                out.append((nid, key, k, s, d[key + "_values"][k]))
        if d["kind"] == "leaf" and "grad" in d:
            out.append((nid, "grad", 0, d["grad"], d["grad_value"]))
    return out


# ------------------------------------------------------------------ the numbers


@pytest.mark.parametrize("width", [4, 400])  # every gradient small; the first weight large
@pytest.mark.parametrize("dtype", [gv.float32, gv.float64])
def test_every_summary_is_numpys_summary_of_the_gradient(width: int, dtype: Any) -> None:
    model, x, y = mlp(width, dtype)
    with record(values=True) as rec:
        step(model, x, y)
    g = rec.graphs[0]
    schema.validate(g)
    found = recorded_summaries(g)
    assert sum(s is not None for *_, s, _ in found) >= 20
    for nid, key, k, summary, value in found:
        assert (summary is None) == (value is None), (nid, key, k)
        if summary is not None:
            check_against_numpy(summary, value)
            assert same(summary, summarize(value)), (nid, key, k)  # the same arithmetic
    sizes = {v.size for *_, v in found if v is not None}
    if width == 400:
        assert max(sizes) > SMALL  # both kinds of gradient were recorded
    assert min(sizes) <= SMALL


@pytest.mark.parametrize("width", [4, 400])
def test_values_do_not_change_the_summaries(width: int) -> None:
    def run(values: bool) -> Any:
        model, x, y = mlp(width)
        with record(values=values) as rec:
            step(model, x, y)
        return rec.graphs[0]

    plain, with_values = run(False), run(True)
    for (nid, d), (_, e) in zip(plain.nodes(data=True), with_values.nodes(data=True), strict=True):
        for key in ("grad_in", "grad_out"):
            assert len(d.get(key, [])) == len(e.get(key, []))
            for a, b in zip(d.get(key, []), e.get(key, []), strict=True):
                assert same(a, b), (nid, key)
        assert same(d.get("grad"), e.get("grad")), nid


@pytest.mark.parametrize("n", [3, SMALL + 100])
def test_nan_and_inf_counts(n: int) -> None:
    values = np.linspace(-1.0, 1.0, n, dtype=np.float32)
    values[n // 3] = 0.0
    x = gv.tensor(values, requires_grad=True)
    with record() as rec:
        (x.abs().sqrt() * 2).sum().backward()  # d/dx sqrt(|x|) is inf at 0, then NaN (inf * 0)
    g = rec.graphs[0]
    grad = x.grad.numpy()
    values = x.detach().numpy()
    with np.errstate(divide="ignore"):
        into_abs = (2.0 / (2 * np.sqrt(np.abs(values)))).astype(np.float32)
    sqrt = next(d for _, d in g.nodes(data=True) if d["label"] == "SqrtBackward0")
    check_against_numpy(sqrt["grad_out"][0], into_abs)
    leaf = next(d for _, d in g.nodes(data=True) if d["kind"] == "leaf")
    check_against_numpy(leaf["grad"], grad)
    assert leaf["grad"]["nan"] + leaf["grad"]["inf"] == int((values == 0).sum()) >= 1


def test_a_batch_with_finite_and_non_finite_gradients() -> None:
    a = gv.tensor([1.0, 0.0, 4.0], requires_grad=True)
    b = gv.tensor([2.0, -3.0], requires_grad=True)
    with record(values=True) as rec:
        (a.sqrt().sum() + (b * b).sum()).backward()
    for _, _, _, summary, value in recorded_summaries(rec.graphs[0]):
        if summary is not None:
            check_against_numpy(summary, value)
    leaves = {d["label"]: d["grad"] for _, d in rec.graphs[0].nodes(data=True) if "grad" in d}
    assert leaves[""]["inf"] in (0, 1)  # names are empty; check both leaves below
    grads = sorted(
        (d["grad"] for _, d in rec.graphs[0].nodes(data=True) if d["kind"] == "leaf"),
        key=lambda s: s["shape"],
    )
    assert (grads[0]["inf"], grads[0]["min"], grads[0]["max"]) == (0, -6.0, 4.0)
    assert (grads[1]["inf"], grads[1]["min"], grads[1]["max"]) == (1, 0.25, 0.5)


# ------------------------------------------------------------------ as it flowed


@pytest.mark.parametrize("width", [4, 400])
def test_grad_changed_in_place_after_backward_keeps_its_summary(width: int) -> None:
    model, x, y = mlp(width)
    with record() as rec:
        step(model, x, y)
        expected = {name: summarize(p.grad) for name, p in model.named_parameters()}
        gv.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)  # scales .grad in place
        for p in model.parameters():
            p.grad.mul_(0.0)
    g = rec.graphs[0]
    leaves = {d["label"]: d for _, d in g.nodes(data=True) if d["kind"] == "leaf"}
    assert set(leaves) == set(expected)
    for name, summary in expected.items():
        assert summary["norm"] > 0
        assert same(leaves[name]["grad"], summary), name
        # and the AccumulateGrad above it saw the same gradient come in
        (acc,) = g.successors(next(n for n, d in g.nodes(data=True) if d.get("label") == name))
        assert same(g.nodes[acc]["grad_in"][0], summary), name


def test_retained_and_captured_gradients_changed_later() -> None:
    # h.grad (retain_grad) and autograd.grad's result share memory with gradients that
    # flowed; changing them afterwards must not change what was recorded.
    w = gv.tensor([1.0, -2.0, 3.0], requires_grad=True)
    with record() as rec:
        h = w * 2
        h.retain_grad()
        (h * h).sum().backward()
        kept_h = h.grad.numpy().copy()
        h.grad.zero_()
        (gw,) = gv.autograd.grad((w * w).sum(), w)
        kept_w = gw.numpy().copy()
        gw.zero_()
    first, second = rec.graphs
    times_two = next(
        d for _, d in first.nodes(data=True) if d["label"] == "MulBackward0" and d["order"] == 2
    )
    check_against_numpy(times_two["grad_in"][0], kept_h)
    assert (times_two["grad_in"][0]["min"], times_two["grad_in"][0]["max"]) == (-8.0, 12.0)
    acc = next(d for _, d in second.nodes(data=True) if d["label"] == "AccumulateGrad")
    check_against_numpy(acc["grad_in"][0], kept_w)
    assert (acc["grad_in"][0]["min"], acc["grad_in"][0]["max"]) == (-4.0, 6.0)


def test_a_hook_changing_a_gradient_in_place_does_not_rewrite_the_past() -> None:
    # PyTorch asks hooks not to change their argument in place; when one does anyway, the
    # node that produced the gradient is still shown with what it produced.
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    with record() as rec:
        h = w * 3
        h.register_hook(lambda g: g.mul_(10.0))
        (h * 1.0).sum().backward()
    g = rec.graphs[0]
    producer = next(
        d for _, d in g.nodes(data=True) if d["label"] == "MulBackward0" and d["order"] == 1
    )
    assert producer["grad_out"][0]["max"] == 1.0  # as it left MulBackward0 (times 1.0)
    assert w.grad.tolist() == [30.0, 30.0]  # the hook's change did flow on
    leaf = next(d for _, d in g.nodes(data=True) if d["kind"] == "leaf")
    assert leaf["grad"]["max"] == 30.0


def test_a_post_accumulate_hook_zeroing_grad_in_place() -> None:
    # An optimizer run from such a hook may zero .grad in place before backward() returns.
    w = gv.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda p: p.grad.zero_())
    with record() as rec:
        (w * w).sum().backward()
    assert w.grad.tolist() == [0.0, 0.0, 0.0]
    g = rec.graphs[0]
    acc = next(d for _, d in g.nodes(data=True) if d["label"] == "AccumulateGrad")
    assert (acc["grad_in"][0]["min"], acc["grad_in"][0]["max"]) == (-4.0, 6.0)
    mul = next(d for _, d in g.nodes(data=True) if d["label"] == "MulBackward0")
    assert [(s["min"], s["max"]) for s in mul["grad_out"]] == [(-2.0, 3.0), (-2.0, 3.0)]


def test_reading_the_graph_mid_backward_then_later_summaries() -> None:
    def program(hook: Any) -> None:
        w = gv.tensor([1.0, 2.0], requires_grad=True)
        b = (w * 3) * 2
        b.register_hook(hook)  # runs before b's node: two of the four nodes are still to run
        b.sum().backward()

    seen: list[Any] = []
    with record() as rec:
        program(lambda grad: seen.append(rec.graphs[-1]))
    with record() as unread:
        program(lambda grad: None)
    (mid,) = seen
    assert mid is rec.graphs[0]
    schema.validate(mid)
    expected = unread.graphs[0]
    for nid, d in expected.nodes(data=True):
        got = mid.nodes[nid]
        for key in ("grad_in", "grad_out"):
            assert [same(a, b) for a, b in zip(got.get(key, []), d.get(key, []), strict=True)] == [
                True
            ] * len(d.get(key, [])), (nid, key)
        assert same(got.get("grad"), d.get("grad")), nid
    assert mid.nodes["n1"]["grad"]["max"] == 6.0


def test_stopping_mid_backward_keeps_what_was_summarised() -> None:
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    rec = record()
    rec.start()
    h = w * 3
    h.register_hook(lambda grad: rec.stop())
    (h * 2).sum().backward()
    g = rec.graphs[0]
    ran = sorted(
        (d for _, d in g.nodes(data=True) if d["kind"] == "op" and d["order"] is not None),
        key=lambda d: d["order"],
    )
    assert [d["label"] for d in ran] == ["SumBackward0", "MulBackward0"]
    assert ran[1]["grad_out"][0]["max"] == 2.0 and ran[1]["grad_in"][0]["max"] == 1.0
    assert g.graph["backward"]["completed"] is False  # its end was not seen


def test_gradients_are_not_kept_alive_by_the_recorder() -> None:
    w = gv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    refs: list[Any] = []
    with record() as rec:
        h = w * 3
        h.register_hook(lambda grad: refs.append(weakref.ref(grad._data)) or None)
        (h * 2).sum().backward()
        gc.collect()
        assert refs and refs[0]() is None  # freed with the backward, not held for later
    assert rec.graphs[0].nodes["n2"]["grad_in"][0]["max"] == 2.0


# ------------------------------------------------------------------ summarize_many


small_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=6),
    elements=st.one_of(
        st.floats(-1e4, 1e4, width=16), st.sampled_from([math.nan, math.inf, -math.inf, 0.0])
    ),
)


@given(st.lists(small_arrays, min_size=1, max_size=6))
def test_summarize_many_equals_summarize(arrays: list[np.ndarray]) -> None:
    together = summarize_many(arrays)
    assert len(together) == len(arrays)
    for a, s in zip(arrays, together, strict=True):
        assert batchable(a)
        assert same(s, summarize(a))
        check_against_numpy(s, a)


def test_summarize_many_views_and_large_values() -> None:
    base = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    arrays = [base, base.T, base[:, 1], np.array([1e200, -1e200]), np.float64(5.0) * np.ones(())]
    out = summarize_many(arrays)
    assert same({**out[0], "shape": (4, 3)}, out[1])  # same elements, same numbers
    assert (out[2]["min"], out[2]["max"], out[2]["mean"]) == (1.0, 9.0, 5.0)
    assert out[3]["norm"] == pytest.approx(1e200 * math.sqrt(2)) and out[3]["inf"] == 0
    assert out[4]["shape"] == () and out[4]["norm"] == 5.0
    assert summarize_many([]) == []


def test_batchable() -> None:
    assert batchable(np.ones(SMALL, dtype=np.float32))
    assert not batchable(np.ones(SMALL + 1, dtype=np.float32))
    assert not batchable(np.ones(0))
    assert not batchable(np.ones(3, dtype=np.int64))
    assert not batchable(np.ones(3, dtype=np.longdouble)) or np.longdouble(0).itemsize <= 8
    assert not batchable([1.0, 2.0])


# ------------------------------------------------------------------ events


def test_events_are_read_only_and_compare_by_their_fields() -> None:
    e = events.NodeExecuted("node", (1,), (2,), 3, 0.5)
    same = events.NodeExecuted(node="node", grads_in=(1,), grads_out=(2,), index=3, seconds=0.5)
    assert e == same and hash(e) == hash(same)
    assert e != events.NodeExecuted("node", (1,), (2,), 4, 0.5)
    assert e != events.NodeWillRun("node", (1,), 3)
    assert (
        repr(e) == "NodeExecuted(node='node', grads_in=(1,), grads_out=(2,), index=3, seconds=0.5)"
    )
    with pytest.raises(AttributeError, match="read-only"):
        e.index = 4  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del e.index  # type: ignore[misc]
    with pytest.raises(AttributeError):
        e.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'index'"):
        events.NodeWillRun("n", ())  # type: ignore[call-arg]
    for cls in (
        events.NodeCreated,
        events.BackwardStarted,
        events.NodeWillRun,
        events.NodeExecuted,
        events.GradAccumulated,
        events.BackwardFinished,
    ):
        names = cls.__slots__
        made = cls(*range(len(names)))
        assert [getattr(made, n) for n in names] == list(range(len(names)))
        assert made == cls(**{n: i for i, n in enumerate(names)})


def test_bus_delivers_to_every_listener_even_when_one_unsubscribes() -> None:
    seen: list[str] = []
    bus = events.EventBus()
    handles: list[Any] = []

    def first(event: Any) -> None:
        seen.append("first")
        handles[0].remove()  # leaves during delivery

    handles.append(bus.subscribe(first))
    handles.append(bus.subscribe(lambda event: seen.append("second")))
    bus.emit("e1")
    bus.emit("e2")
    assert seen == ["first", "second", "second"]
    handles[1].remove()
    bus.emit("e3")
    assert seen == ["first", "second", "second"] and bus.listeners == []
