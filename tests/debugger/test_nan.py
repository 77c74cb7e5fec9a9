"""Where NaN and Inf gradients start: the tracker's rules, recorded graphs, live backward."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.debugger import Debugger, NanTracker, find_nan_origin
from gradviz.debugger.nan import is_finite
from gradviz.renderers.console import make_console
from tests.debugger.fixtures import mlp_graph, nan_graph

FINE = {"nan": 0, "inf": 0}
NAN = {"nan": 2, "inf": 0}
INF = {"nan": 0, "inf": 1}
BOTH = {"nan": 1, "inf": 1}


def test_is_finite() -> None:
    assert is_finite([])
    assert is_finite([None, FINE])
    assert not is_finite([FINE, INF])
    assert not is_finite([NAN])


def test_finite_nodes_give_no_finding() -> None:
    tracker = NanTracker()
    assert tracker.observe("n3", "MulBackward0", [FINE], [FINE, None]) is None
    assert tracker.findings == []
    assert tracker.report() == []


def test_origin_from_finite_inputs() -> None:
    tracker = NanTracker()
    tracker.observe("n5", "SumBackward0", [FINE], [FINE])
    finding = tracker.observe("n4", "LogBackward0", [FINE], [BOTH])
    assert finding is not None
    assert (finding.kind, finding.what, finding.creates_nan, finding.creates_inf) == (
        "origin",
        "NaN and Inf",
        True,
        True,
    )
    assert "grad_out[0] has 1 NaN and 1 Inf" in finding.reason
    assert finding.line().startswith("LogBackward0 [n4]: produced NaN and Inf")


def test_passed_on_and_accumulate() -> None:
    tracker = NanTracker()
    tracker.observe("n5", "SqrtBackward0", [FINE], [INF])
    passed = tracker.observe("n4", "MulBackward0", [INF], [INF, FINE])
    leaf = tracker.observe("n1", "AccumulateGrad", [INF], [])
    assert passed is not None and passed.kind == "passed" and passed.what == "Inf"
    assert leaf is not None and leaf.kind == "passed"
    assert "into the leaf's .grad" in leaf.reason
    assert [f.node for f in tracker.origins] == ["n5"]
    assert [f.node for f in tracker.passed] == ["n4", "n1"]
    report = tracker.report()
    assert report[0].startswith("Inf origin: SqrtBackward0 [n5]: produced Inf")
    assert report[1] == "passed non-finite gradients on (2): MulBackward0 [n4], AccumulateGrad [n1]"


def test_inf_turned_into_nan_is_a_nan_origin() -> None:
    tracker = NanTracker()
    tracker.observe("n6", "DivBackward0", [FINE], [INF])
    finding = tracker.observe("n5", "MulBackward0", [INF], [NAN])
    assert finding is not None
    assert (finding.kind, finding.what, finding.creates_nan) == ("origin", "NaN", True)
    assert "turned Inf into NaN" in finding.reason


def test_absorbed() -> None:
    tracker = NanTracker()
    tracker.observe("n6", "DivBackward0", [FINE], [NAN])
    finding = tracker.observe("n5", "WhereBackward0", [NAN], [FINE])
    assert finding is not None and finding.kind == "absorbed"
    assert tracker.report()[-1] == (
        "received non-finite gradients but produced finite ones: WhereBackward0 [n5]"
    )


def test_seed_and_summation_origins() -> None:
    seeded = NanTracker()
    finding = seeded.observe("n2", "SumBackward0", [NAN], [NAN])
    assert finding is not None and finding.kind == "origin"
    assert "the gradient given to backward() is not finite" in finding.reason

    summed = NanTracker()
    summed.observe("n4", "SqrtBackward0", [FINE], [INF])
    summed.observe("n3", "SqrtBackward0", [FINE], [INF])
    finding = summed.observe("n2", "AddBackward0", [NAN], [NAN])
    assert finding is not None and finding.kind == "origin" and finding.what == "NaN"
    assert "Inf + -Inf is NaN" in finding.reason

    overflow = NanTracker()
    overflow.observe("n4", "MulBackward0", [FINE], [FINE])
    finding = overflow.observe("n3", "AddBackward0", [INF], [INF])
    assert finding is not None and finding.kind == "origin"
    assert "the sum overflowed" in finding.reason


def test_find_nan_origin_on_recorded_graphs() -> None:
    tracker = find_nan_origin(nan_graph())
    assert [(f.node, f.name, f.kind) for f in tracker.findings] == [
        ("n2", "SqrtBackward0", "origin"),
        ("n0", "AccumulateGrad", "passed"),
    ]
    assert find_nan_origin(mlp_graph()).findings == []
    graph = nan_graph()
    del graph.graph["backward"]
    assert find_nan_origin(graph).findings == []


def _live(commands: str, program: Any) -> tuple[str, Any]:
    buffer = io.StringIO()
    with Debugger(commands=commands, console=make_console(buffer, width=100)) as debugger:
        program()
    return buffer.getvalue(), debugger


def test_live_nan_from_the_norm_of_a_zero_vector() -> None:
    a = gradviz.tensor([1.0, 2.0], requires_grad=True)
    b = gradviz.tensor([1.0, 2.0], requires_grad=True)

    def program() -> None:
        d = a - b  # all zeros
        distance = (d * d).sum().sqrt()  # finite (0) forward; d sqrt/dx is Inf at 0
        distance.backward()

    text, debugger = _live("b nan;c;c;c", program)
    summary = [(f.name, f.kind, f.what) for f in debugger.session.tracker.findings]
    assert summary == [
        ("SqrtBackward0", "origin", "Inf"),
        ("SumBackward0", "passed", "Inf"),
        ("MulBackward0", "origin", "NaN"),
        ("SubBackward0", "passed", "NaN"),
        ("AccumulateGrad", "passed", "NaN"),
        ("AccumulateGrad", "passed", "NaN"),
    ]
    stops = [line for line in text.splitlines() if "(just ran)" in line]
    assert [line.split()[1] for line in stops] == ["SqrtBackward0", "MulBackward0"]
    assert "turned Inf into NaN" in text
    assert (
        "passed non-finite gradients on (4): SumBackward0 [n6], SubBackward0 [n4], "
        "AccumulateGrad [n0], AccumulateGrad [n2]" in text
    )
    assert np.isnan(a.grad.numpy()).all() and np.isnan(b.grad.numpy()).all()


def test_live_summation_nan() -> None:
    x = gradviz.tensor([0.0, 1.0], requires_grad=True)

    def program() -> None:
        p = x * 1.0
        loss = p.sqrt().sum() - p.sqrt().sum()  # +Inf and -Inf meet in MulBackward0's input
        loss.backward()

    text, debugger = _live("c", program)
    kinds = [(f.name, f.kind, f.what) for f in debugger.session.tracker.findings]
    assert kinds[:2] == [("SqrtBackward0", "origin", "Inf"), ("SqrtBackward0", "origin", "Inf")]
    assert ("MulBackward0", "origin", "NaN") in kinds
    assert "Inf + -Inf is NaN" in text


@pytest.mark.parametrize("spec", ["inf", "nan"])
def test_inf_and_nan_breakpoints(spec: str) -> None:
    x = gradviz.tensor([1.0, 0.0], requires_grad=True)

    def program() -> None:
        x.sqrt().sum().backward()

    text, debugger = _live(f"b {spec};c;c", program)
    assert debugger.session.stops == 2
    assert "[2/3] SqrtBackward0 [n2] (just ran)" in text
