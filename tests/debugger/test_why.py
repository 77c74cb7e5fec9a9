"""why_no_grad: one test per cause, each checked against what backward() really does."""

from __future__ import annotations

import pytest

import gradviz
from gradviz.debugger import CAUSES, WhyNoGrad, why_no_grad


def _param(values: list[float] | None = None, name: str = "w") -> gradviz.Tensor:
    w = gradviz.tensor(values or [0.5, 1.5, -2.25], requires_grad=True)
    w.name = name
    return w


def _x() -> gradviz.Tensor:
    return gradviz.tensor([1.0, 2.0, 3.0])


def _gets_no_grad(loss: gradviz.Tensor, w: gradviz.Tensor) -> None:
    """The premise of every case: backward really leaves w.grad None."""
    if loss.requires_grad:
        loss.backward(retain_graph=True)
    assert w.grad is None


def test_reachable() -> None:
    w = _param()
    loss = (w * _x()).sum()
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "reachable" and verdict.gets_grad
    assert verdict.path == ("SumBackward0", "MulBackward0", "AccumulateGrad")
    assert "backward() has not run on this loss yet" in verdict.message
    loss.backward()
    assert "it has a .grad now" in why_no_grad(loss, w).message


def test_requires_grad_false() -> None:
    w = gradviz.tensor([1.0, 2.0, 3.0])
    loss = (w * _param(name="other")).sum()
    _gets_no_grad(loss, w)
    verdict = why_no_grad(loss, w, name="fc.weight")
    assert verdict.cause == "requires_grad_false"
    assert "fc.weight has requires_grad=False" in verdict.message
    assert "fc.weight.requires_grad_(True)" in verdict.message


def test_integer_dtype() -> None:
    steps = gradviz.tensor([1, 2, 3])
    loss = (steps * _param()).sum()
    _gets_no_grad(loss, steps)
    verdict = why_no_grad(loss, steps, name="steps")
    assert verdict.cause == "integer_dtype"
    assert "steps has dtype int64: only floating-point tensors can require grad" in verdict.message


def test_loss_has_no_graph_under_no_grad() -> None:
    w = _param()
    with gradviz.no_grad():
        loss = (w * _x()).sum()
    _gets_no_grad(loss, w)
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "loss_has_no_graph"
    assert "computed under no_grad()" in verdict.message


@pytest.mark.parametrize("cut", ["detach", "data"])
def test_detached(cut: str) -> None:
    w = _param()
    other = _param(name="b")
    used = w.detach() if cut == "detach" else w.data
    loss = (used * other).sum()
    _gets_no_grad(loss, w)
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "detached"
    assert "w is cut from the graph by .detach() (or .data)" in verdict.message
    assert verdict.evidence == (
        "MulBackward0 saved 'self': a tensor sharing w's data that does not require grad "
        "(made by .detach() or .data)",
    )


@pytest.mark.parametrize("cast", ["long", "round_int", "long_float"])
def test_integer_cast(cast: str) -> None:
    w = _param([0.5, 1.5, -2.25])
    other = _param(name="b")
    if cast == "long":
        used = w.long()
    elif cast == "round_int":
        used = w.round().int()
    else:
        used = w.long().float()
    loss = (other * used).sum()
    _gets_no_grad(loss, w)
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "integer_cast"
    assert "w is cut from the graph by an integer cast" in verdict.message
    assert verdict.evidence[0].startswith("MulBackward0 saved 'other': w's values")


def test_no_grad_copy() -> None:
    w = _param()
    other = _param(name="b")
    with gradviz.no_grad():
        frozen = w * 1.0
    loss = (frozen * other).sum()
    _gets_no_grad(loss, w)
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "no_grad_copy"
    assert "made without a graph (under no_grad()" in verdict.message


def test_not_on_path_unused_or_only_under_no_grad() -> None:
    w = _param()
    other = _param(name="b")
    with gradviz.no_grad():
        scaled = w * _x()  # new values, no graph: only "not on any path" can be told
    loss = (other * scaled).sum()
    _gets_no_grad(loss, w)
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "not_on_path"
    assert "w is not on any path to the loss" in verdict.message
    assert "used only in code run under no_grad()" in verdict.message

    unused = _param(name="unused")
    assert why_no_grad(loss, unused).cause == "not_on_path"


def test_other_graph() -> None:
    w = _param()
    side = (w * 2.0).sum()  # recorded, but not part of the loss
    other = _param(name="b")
    loss = (other * _x()).sum()
    _gets_no_grad(loss, w)
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "other_graph"
    assert "that result does not feed the loss" in verdict.message
    del side


def test_non_leaf() -> None:
    w = _param()
    hidden = w * 3.0
    loss = (hidden * _x()).sum()
    verdict = why_no_grad(loss, hidden, name="hidden")
    assert verdict.cause == "non_leaf"
    assert "it is not a leaf: it was computed by MulBackward0" in verdict.message
    hidden.retain_grad()
    assert why_no_grad(loss, hidden).cause == "reachable"


def test_freed_saved_tensors_are_reported() -> None:
    w = _param()
    other = _param(name="b")
    loss = (w.detach() * other).sum()
    loss.backward()  # frees what MulBackward0 saved
    verdict = why_no_grad(loss, w)
    assert verdict.cause == "not_on_path"
    assert any("had their saved tensors freed by backward()" in e for e in verdict.evidence)
    assert "freed by backward()" in str(verdict)


def test_loss_is_the_param() -> None:
    w = _param()
    assert why_no_grad(w, w).cause == "reachable"


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="why_no_grad\\(\\) expects Tensors, got list for tensor"):
        why_no_grad([1.0], _param())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got str for param"):
        why_no_grad(_param(), "w")  # type: ignore[arg-type]


def test_every_cause_is_covered_and_str() -> None:
    verdict = WhyNoGrad("not_on_path", "message", ("a", "b"))
    assert str(verdict) == "message\n  a\n  b"
    assert set(CAUSES) == {
        "integer_dtype",
        "requires_grad_false",
        "loss_has_no_graph",
        "reachable",
        "non_leaf",
        "detached",
        "integer_cast",
        "no_grad_copy",
        "other_graph",
        "not_on_path",
    }
