"""PyTorch's autograd semantics (``pytorch-autograd-semantics.md`` §3), checked on gradviz.

Each test states one fact of the reference. Where the fact is a behaviour that PyTorch can
show directly (an order of calls, a value, a repr), the same program runs on both and the
results are compared; where it is an exact value or message from the reference, the test
asserts that value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradviz
from gradviz.autograd import Function
from tests.helpers.oracle import require_torch

CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak."
)
ANOMALY_ENABLED = (
    "Anomaly Detection has been enabled. This mode will increase the runtime and should only "
    "be enabled for debugging."
)


def values(t: Any) -> list[Any]:
    """Return a tensor's values as (nested) Python lists."""
    return t.detach().tolist()


def name(node: Any) -> str:
    """Return a node's name without PyTorch's C++ namespace."""
    return node.name().rsplit("::", 1)[-1]


# ---------------------------------------------------------------------------- 3.1 accumulation


def test_grad_starts_none_and_backward_accumulates() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad is None
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert values(x.grad) == [6.0, 6.0]
    (x * x).sum().backward()
    assert values(x.grad) == [8.0, 10.0]


def test_first_grad_is_a_new_tensor_then_accumulation_is_in_place() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    gout = gradviz.ones(2)
    x.backward(gout)
    first = x.grad
    assert first is not gout
    gout.add_(5)  # the gradient passed in is not shared with .grad
    assert values(first) == [1.0, 1.0]
    x.backward(gradviz.ones(2))
    assert x.grad is first
    assert values(first) == [2.0, 2.0]


def test_create_graph_accumulation_is_out_of_place_and_warns() -> None:
    x = gradviz.tensor([3.0], requires_grad=True)
    with pytest.warns(UserWarning) as record:
        (x**3).sum().backward(create_graph=True)
    assert [str(w.message) for w in record] == [CREATE_GRAPH_WARNING]
    first = x.grad
    assert name(first.grad_fn) == "CopyBackwards"
    with pytest.warns(UserWarning, match="reference cycle"):
        (x**3).sum().backward(create_graph=True)
    assert x.grad is not first
    assert name(x.grad.grad_fn) == "AddBackward0"
    assert values(x.grad) == [54.0]


def test_create_graph_grad_can_be_differentiated_again() -> None:
    x = gradviz.tensor(3.0, requires_grad=True)
    with pytest.warns(UserWarning, match="reference cycle"):
        (x**3).backward(create_graph=True)
    g = x.grad
    assert g.item() == 27.0
    x.grad = None
    g.backward()
    assert x.grad.item() == 18.0


def test_assigning_grad_checks_shape_and_dtype() -> None:
    x = gradviz.ones(2, requires_grad=True)
    x.grad = None
    with pytest.raises(RuntimeError) as err:
        x.grad = gradviz.ones(3)
    assert str(err.value) == (
        "attempting to assign a gradient of size '[3]' to a tensor of size '[2]'. Please ensure "
        "that the gradient and the tensor are the same size"
    )
    with pytest.raises(
        RuntimeError,
        match=(
            r"^attempting to assign a gradient with dtype 'double' to a tensor with grad_dtype "
            r"'Float'\. The gradient must match"
        ),
    ):
        x.grad = gradviz.ones(2, dtype=gradviz.float64)


def test_backward_of_several_roots_and_inputs_filter() -> None:
    x = gradviz.ones(2, requires_grad=True)
    w = gradviz.ones(2, requires_grad=True)
    gradviz.autograd.backward([(x * 2).sum(), (x * 3).sum()])
    assert values(x.grad) == [5.0, 5.0]
    x.grad = None
    ((x * w) * 4).sum().backward(inputs=[w])
    assert x.grad is None
    assert values(w.grad) == [4.0, 4.0]


def test_gradient_with_other_dtype_is_cast_to_the_output_dtype() -> None:
    x = gradviz.ones(2, 2, requires_grad=True)
    (x + 2).backward(gradviz.ones(2, 2, dtype=gradviz.float64))
    assert x.grad.dtype is gradviz.float32
    assert values(x.grad) == [[1.0, 1.0], [1.0, 1.0]]


# ---------------------------------------------------------------------------- 3.2 retain_grad


def test_retain_grad_flag_leaf_noop_and_accumulation() -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x * 2
    assert y.retains_grad is False
    y.retain_grad()
    assert y.retains_grad is True
    x.retain_grad()
    assert x.retains_grad is False
    (y * 4).sum().backward(retain_graph=True)
    assert values(y.grad) == [4.0, 4.0]
    (y * 4).sum().backward()
    assert values(y.grad) == [8.0, 8.0]


def test_retain_grad_on_tensor_without_grad_raises() -> None:
    with pytest.raises(
        RuntimeError, match="^can't retain_grad on Tensor that has requires_grad=False$"
    ):
        gradviz.ones(2).retain_grad()


@pytest.mark.parametrize("retain_first", [True, False])
def test_retained_grad_is_taken_after_all_hooks(retain_first: bool) -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x * 1
    if retain_first:
        y.retain_grad()
    y.register_hook(lambda g: g * 100)
    if not retain_first:
        y.retain_grad()
    y.sum().backward()
    assert values(y.grad) == [100.0, 100.0]
    assert values(x.grad) == [100.0, 100.0]


def test_non_leaf_grad_warns_and_is_none() -> None:
    x = gradviz.ones(2, 2, requires_grad=True)
    y = x + 2
    y.backward(gradviz.ones(2, 2), retain_graph=True)
    with pytest.warns(UserWarning, match=r"^The \.grad attribute of a Tensor that is not a leaf"):
        assert y.grad is None
    assert values(x.grad) == [[1.0, 1.0], [1.0, 1.0]]
    y.backward(gradviz.ones(2, 2))
    assert values(x.grad) == [[2.0, 2.0], [2.0, 2.0]]


# ---------------------------------------------------------------------------- 3.3 tensor hooks


def test_tensor_hooks_chain_in_registration_order() -> None:
    x = gradviz.ones(2, requires_grad=True)
    seen: list[tuple[str, list[float]]] = []
    x.register_hook(lambda g: seen.append(("h1", values(g))))
    x.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: seen.append(("h3", values(g))))
    (x * 3).sum().backward()
    assert seen == [("h1", [3.0, 3.0]), ("h3", [30.0, 30.0])]
    assert values(x.grad) == [30.0, 30.0]


def test_leaf_hook_runs_before_accumulation_on_the_incoming_grad() -> None:
    x = gradviz.ones(2, requires_grad=True)
    x.grad = gradviz.tensor([100.0, 100.0])
    at_hook: list[list[float]] = []

    def hook(g: gradviz.Tensor) -> gradviz.Tensor:
        at_hook.append(values(x.grad))
        return g + 1

    x.register_hook(hook)
    (x * 3).sum().backward()
    assert at_hook == [[100.0, 100.0]]
    assert values(x.grad) == [104.0, 104.0]


@pytest.mark.parametrize("leaf", [True, False])
def test_hook_sees_the_summed_gradient_once(leaf: bool) -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x if leaf else x * 1
    calls: list[list[float]] = []
    y.register_hook(lambda g: calls.append(values(g)))
    (y * 3 + y * 5).sum().backward()
    assert calls == [[8.0, 8.0]]


def test_hook_on_a_branch_without_gradient_is_not_called() -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x * 2
    z = x * 3
    called: list[int] = []
    z.register_hook(lambda g: called.append(1))
    y.sum().backward()
    assert called == []


def test_hooks_fire_under_autograd_grad_without_touching_grad() -> None:
    x = gradviz.ones(2, requires_grad=True)
    calls: list[list[float]] = []
    x.register_hook(lambda g: calls.append(values(g)))
    (g,) = gradviz.autograd.grad((x * 2).sum(), x)
    assert calls == [[2.0, 2.0]]
    assert values(g) == [2.0, 2.0]
    assert x.grad is None


def test_hook_errors() -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: gradviz.ones(3))
    with pytest.raises(RuntimeError, match="^hook '<lambda>' has changed the size of value$"):
        y.sum().backward()
    with pytest.raises(
        RuntimeError, match="^cannot register a hook on a tensor that doesn't require gradient$"
    ):
        gradviz.ones(2).register_hook(lambda g: g)


def test_removed_hook_does_not_run() -> None:
    x = gradviz.ones(2, requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    handle.remove()
    (x * 1).sum().backward()
    assert values(x.grad) == [1.0, 1.0]


def test_removed_hooks_of_a_node_do_not_run_and_the_pass_is_unchanged() -> None:
    # A node that ever had hooks takes the engine's full path; with all of them removed it
    # must compute what a node that never had any does.
    x = gradviz.ones(2, requires_grad=True)
    y = x * 3
    z = y.tanh()
    handles = [
        y.register_hook(lambda g: g * 10),
        z.grad_fn.register_prehook(lambda grads: (grads[0] * 100,)),
        z.grad_fn.register_hook(lambda grads_in, grads_out: (grads_in[0] * 1000,)),
    ]
    y.retain_grad()
    for handle in handles:
        handle.remove()
    z.sum().backward()
    expected = (1 - np.tanh(3.0) ** 2) * 3
    assert values(x.grad) == pytest.approx([expected, expected], rel=1e-5)  # float32
    assert values(y.grad) == pytest.approx([expected / 3, expected / 3], rel=1e-5)


def test_post_accumulate_grad_hook_gets_the_leaf() -> None:
    x = gradviz.ones(2, requires_grad=True)
    seen: list[Any] = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append((t, values(t.grad))))
    (x * 3).sum().backward()
    assert seen[0][0] is x
    assert seen[0][1] == [3.0, 3.0]
    with pytest.raises(
        RuntimeError, match="^post accumulate grad hooks cannot be registered on non-leaf tensors$"
    ):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_order_around_one_node() -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x * 2
    order: list[str] = []
    y.register_hook(lambda g: order.append("tensor hook 1"))
    y.grad_fn.register_prehook(lambda go: order.append("node prehook"))
    y.register_hook(lambda g: order.append("tensor hook 2"))
    y.grad_fn.register_hook(lambda gi, go: order.append("node post hook"))
    x.register_hook(lambda g: order.append("leaf hook"))
    acc = y.grad_fn.next_functions[0][0]
    acc.register_prehook(lambda go: order.append(f"acc prehook {values(go[0])}"))
    acc.register_hook(lambda gi, go: order.append(f"acc post {gi} {values(x.grad)}"))
    x.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert order == [
        "tensor hook 1",
        "tensor hook 2",
        "node prehook",
        "node post hook",
        "leaf hook",
        "acc prehook [20.0, 20.0]",
        "acc post () [20.0, 20.0]",
    ]


# ---------------------------------------------------------------------------- 3.5 grad modes


def test_grad_mode_table() -> None:
    x = gradviz.ones(2, requires_grad=True)
    assert gradviz.is_grad_enabled()
    y = x * 2
    assert y.requires_grad and name(y.grad_fn) == "MulBackward0"
    with gradviz.no_grad():
        assert not gradviz.is_grad_enabled()
        y = x * 2
        assert (y.requires_grad, y.grad_fn, y.is_leaf, y.is_inference()) == (
            False,
            None,
            True,
            False,
        )
        with gradviz.enable_grad():
            assert gradviz.is_grad_enabled()
            assert name((x * 2).grad_fn) == "MulBackward0"
    with gradviz.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert gradviz.is_grad_enabled()
    gradviz.set_grad_enabled(False)
    try:
        assert not gradviz.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        gradviz.set_grad_enabled(True)
    with gradviz.inference_mode():
        assert not gradviz.is_grad_enabled()
        assert gradviz.is_inference_mode_enabled()
        y = x * 2
        assert (y.requires_grad, y.grad_fn, y.is_inference()) == (False, None, True)
    assert y.is_inference()
    with gradviz.inference_mode(False):
        assert gradviz.is_grad_enabled()
        assert (x * 2).requires_grad


def test_grad_modes_as_decorators() -> None:
    x = gradviz.ones(2, requires_grad=True)

    @gradviz.no_grad
    def bare() -> gradviz.Tensor:
        return x * 2

    @gradviz.no_grad()
    def called() -> gradviz.Tensor:
        return x * 2

    @gradviz.enable_grad()
    def enabled() -> gradviz.Tensor:
        return x * 2

    @gradviz.set_grad_enabled(False)
    def disabled() -> gradviz.Tensor:
        return x * 2

    @gradviz.inference_mode()
    def inference() -> gradviz.Tensor:
        return x * 2

    assert gradviz.is_grad_enabled()
    assert not bare().requires_grad
    assert not called().requires_grad
    assert not disabled().requires_grad
    assert inference().is_inference()
    with gradviz.no_grad():
        assert enabled().requires_grad
    assert gradviz.is_grad_enabled()
    assert bare.__name__ == "bare"


def test_no_grad_keeps_factories_and_views_of_leaves() -> None:
    x = gradviz.ones(2, 2, requires_grad=True)
    with gradviz.no_grad():
        made = gradviz.ones(2, requires_grad=True)
        view = x[0]
    assert made.requires_grad and made.is_leaf
    assert (view.requires_grad, view.grad_fn, view.is_leaf) == (True, None, True)
    (view * 2).sum().backward()
    assert view.grad is None and x.grad is None
    with pytest.raises(RuntimeError, match="^A view was created in no_grad mode and is being"):
        view.add_(1)
    with gradviz.no_grad():
        view.add_(1)
    assert values(x)[0] == [2.0, 2.0]


def test_integer_outputs_never_require_grad() -> None:
    x = gradviz.randn(3, 4, requires_grad=True)
    v, i = x.max(dim=1)
    assert (v.requires_grad, i.requires_grad, i.grad_fn, i.dtype) == (
        True,
        False,
        None,
        gradviz.int64,
    )
    assert (x.argmax().requires_grad, (x > 0).requires_grad) == (False, False)


def test_backward_inside_no_grad_works_and_grad_create_graph_builds_a_graph() -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = (x * 2).sum()
    s = (x * x).sum()
    with gradviz.no_grad():
        y.backward(retain_graph=True)
        (g,) = gradviz.autograd.grad(s, x, create_graph=True)
    assert values(x.grad) == [2.0, 2.0]
    assert g.requires_grad
    assert name(g.grad_fn) in ("MulBackward0", "AddBackward0")


def test_inference_tensor_errors() -> None:
    with gradviz.inference_mode():
        t = gradviz.ones(2)
    w = gradviz.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="^Inference tensors cannot be saved for backward"):
        (w * t).sum().backward()
    with pytest.raises(
        RuntimeError,
        match="^Setting requires_grad=True on inference tensor outside InferenceMode is not",
    ):
        t.requires_grad_()
    with pytest.raises(
        RuntimeError,
        match=r"^Inplace update to inference tensor outside InferenceMode is not allowed\.You can",
    ):
        t.add_(1)


# ---------------------------------------------------------------------------- 3.6 detach / data


def test_detach_shares_data_and_version_counter() -> None:
    x = gradviz.ones(3, requires_grad=True)
    y = x.exp()
    d = y.detach()
    assert d is not y
    assert (d.requires_grad, d.is_leaf, d.grad_fn) == (False, True, None)
    d.add_(1)
    assert y._version == 1 and d._version == 1
    assert values(y)[0] == pytest.approx(math.e + 1)
    with pytest.raises(RuntimeError, match="output 0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()


def test_data_has_its_own_version_counter_and_silently_breaks_grads() -> None:
    x = gradviz.ones(3, requires_grad=True)
    y = x.exp()
    y.data.add_(1)
    assert y._version == 0
    y.sum().backward()
    assert values(x.grad) == pytest.approx([math.e + 1] * 3, rel=1e-6)
    leaf = gradviz.ones(2, requires_grad=True)
    assert leaf.detach() is not leaf


def test_detach_in_place_and_requires_grad_rules() -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x * 2
    y.detach_()
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    z = x * 2
    with pytest.raises(
        RuntimeError,
        match=r"^you can only change requires_grad flags of leaf variables\. If you want",
    ):
        z.requires_grad = False
    with pytest.raises(
        RuntimeError, match=r"^you can only change requires_grad flags of leaf variables\.$"
    ):
        z.requires_grad = True
    with pytest.raises(
        RuntimeError, match="^only Tensors of floating point dtype can require gradients$"
    ):
        gradviz.tensor([1, 2]).requires_grad_()
    with pytest.raises(
        RuntimeError,
        match="^Only Tensors of floating point and complex dtype can require gradients$",
    ):
        gradviz.tensor([1, 2], requires_grad=True)


def test_version_counter_steps() -> None:
    t = gradviz.zeros(3)
    assert t._version == 0
    t.add_(1)
    assert t._version == 1
    t[0] = 5
    assert t._version == 2
    t.mul_(2).add_(1)
    assert t._version == 4
    view = t[1:]
    view.add_(1)
    assert t._version == 5 and view._version == 5
    with gradviz.no_grad():
        t.add_(1)
    assert t._version == 6


def test_leaf_in_place_errors_and_no_grad_exception() -> None:
    x = gradviz.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match="^a leaf Variable that requires grad is being used in an in-place operation.$",
    ):
        x.add_(1)
    with pytest.raises(
        RuntimeError,
        match="^a view of a leaf Variable that requires grad is being used in an in-place",
    ):
        x[0] = 5
    with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad"):
        gradviz.ones(2, 2, requires_grad=True)[0].mul_(2)
    with gradviz.no_grad():
        x.add_(1)
    assert (values(x), x.is_leaf, x.grad_fn, x._version) == ([2.0, 2.0], True, None, 1)


def test_in_place_on_a_plain_tensor_with_a_grad_operand_makes_a_non_leaf() -> None:
    a = gradviz.ones(3, requires_grad=True)
    c = gradviz.zeros(3)
    c.add_(a)
    assert (c.requires_grad, c.is_leaf, name(c.grad_fn)) == (True, False, "AddBackward0")
    assert [f if f is None else name(f) for f, _ in c.grad_fn.next_functions] == [
        None,
        "AccumulateGrad",
    ]
    y = a * 1
    y.add_(1)
    assert name(y.grad_fn) == "AddBackward0"
    assert name(y.grad_fn.next_functions[0][0]) == "MulBackward0"


def test_setitem_through_a_non_leaf_gives_zero_gradient_to_overwritten_positions() -> None:
    x = gradviz.ones(4, requires_grad=True)
    y = x * 1
    y[1:3] = gradviz.zeros(2)
    assert name(y.grad_fn) == "CopySlices"
    y.sum().backward()
    assert values(x.grad) == [1.0, 0.0, 0.0, 1.0]


def test_in_place_through_views_rewrites_the_root_graph(torch: Any) -> None:
    graphs = []
    for lib in (gradviz, torch):
        a = lib.ones(3, 4, requires_grad=True)
        y = a * 1
        first = y[0]
        sibling = y[1:]
        first.mul_(2)
        graphs.append(
            (
                _graph(y.grad_fn),
                _graph(first.grad_fn),
                _graph(sibling.grad_fn),
                y._version,
                first._version,
            )
        )
        (y * 1).sum().backward()
        graphs.append(values(a.grad))
    assert graphs[0] == graphs[2]
    assert graphs[1] == graphs[3] == [[2.0] * 4, [1.0] * 4, [1.0] * 4]
    assert graphs[0][0] == "CopySlices(MulBackward0(AccumulateGrad, None), None)"
    assert graphs[0][1].startswith("AsStridedBackward0(CopySlices(")


def _graph(fn: Any) -> str:
    if fn is None:
        return "None"
    children = [_graph(f) for f, _ in fn.next_functions]
    label = name(fn)
    return f"{label}({', '.join(children)})" if children else label


def test_in_place_on_multi_output_views_and_custom_function_views_is_refused() -> None:
    y = gradviz.ones(2, 4, requires_grad=True) * 1
    parts = y.split(2, 1)
    with pytest.raises(RuntimeError) as err:
        parts[1].mul_(3)
    assert str(err.value) == (
        "Output 1 of Split is a view and is being modified inplace. This view is the output of "
        "a function that returns multiple views. Such functions do not allow the output views "
        "to be modified inplace. You should replace the inplace operation by an out-of-place "
        "one."
    )

    class Identity(Function):
        """Return the input as-is (so the output is a view of it)."""

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            """Return ``x`` itself."""
            return x

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            """Pass the gradient through."""
            return g

    out = Identity.apply(gradviz.ones(2, requires_grad=True) * 1)
    with pytest.raises(
        RuntimeError, match=r"^Output 0 of Identity is a view and is being modified"
    ):
        out.add_(1)
    plain = Identity.apply(gradviz.ones(2))
    plain.add_(1)
    assert values(plain) == [2.0, 2.0]


# ---------------------------------------------------------------------------- 3.7 double backward


DOUBLE_BACKWARD: dict[str, tuple[Callable[[Any, Any], Any], float]] = {
    "cube": (lambda lib, x: x**3, 2.0),
    "square": (lambda lib, x: x * x, 2.0),
    "exp": (lambda lib, x: x.exp(), 0.5),
    "sin": (lambda lib, x: x.sin(), 0.5),
    "tanh": (lambda lib, x: x.tanh(), 0.5),
    "sigmoid": (lambda lib, x: x.sigmoid(), 0.0),
    "relu": (lambda lib, x: x.relu(), 0.5),
    "log": (lambda lib, x: x.log(), 2.0),
    "sqrt": (lambda lib, x: x.sqrt(), 4.0),
    "mean-square": (lambda lib, x: (x * x).mean(), 2.0),
    "sum-squared": (lambda lib, x: x.sum() ** 2, 2.0),
    "gelu": (
        lambda lib, x: (
            lib.nn.functional.gelu(x)
            if hasattr(lib, "nn")
            and hasattr(lib.nn, "functional")
            and hasattr(lib.nn.functional, "gelu")
            else lib.gelu(x)
        ),
        0.5,
    ),
    "softmax": (lambda lib, x: x.softmax(0)[0], 0.5),
    "log_softmax": (lambda lib, x: x.log_softmax(0)[0], 0.5),
}


@pytest.mark.parametrize("case", sorted(DOUBLE_BACKWARD))
def test_second_derivatives_match_torch(case: str, torch: Any) -> None:
    fn, at = DOUBLE_BACKWARD[case]
    results = []
    for lib in (gradviz, torch):
        x = lib.tensor([at, at + 0.25], dtype=lib.float64, requires_grad=True)
        if case in ("gelu",):
            y = lib.nn.functional.gelu(x) if lib is torch else lib.gelu(x)
        else:
            y = fn(lib, x)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        assert g.requires_grad
        (gg,) = lib.autograd.grad(g.sum(), x)
        results.append((values(g), values(gg)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)


def test_retain_graph_defaults_to_create_graph() -> None:
    x = gradviz.tensor([2.0], requires_grad=True)
    y = (x**3).sum()
    with pytest.warns(UserWarning, match="reference cycle"):
        y.backward(create_graph=True)
    y.backward()  # the graph was kept
    (g,) = gradviz.autograd.grad((x * x).sum(), x)
    assert (g.requires_grad, g.grad_fn) == (False, None)


# ---------------------------------------------------------------------------- 3.8 autograd.grad


def test_autograd_grad_facts() -> None:
    x = gradviz.ones(2, requires_grad=True)
    z = gradviz.ones(2, requires_grad=True)
    y = (x * 2).sum()
    result = gradviz.autograd.grad(y, x, retain_graph=True)
    assert isinstance(result, tuple) and len(result) == 1
    with pytest.raises(RuntimeError) as err:
        gradviz.autograd.grad(y, [x, z], retain_graph=True)
    assert str(err.value) == (
        "The differentiated Tensor at index 1 appears to not have been used in the graph. Set "
        "allow_unused=True if this is the desired behavior."
    )
    gx, gz = gradviz.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert values(gx) == [2.0, 2.0] and gz is None
    gx, gz = gradviz.autograd.grad(y, [x, z], materialize_grads=True, retain_graph=True)
    assert values(gz) == [0.0, 0.0]
    with pytest.raises(
        RuntimeError, match="^One of the differentiated Tensors does not require grad$"
    ):
        gradviz.autograd.grad(y, [x, gradviz.ones(2)])
    (g,) = gradviz.autograd.grad([y, (x * 5).sum()], x)
    assert values(g) == [7.0, 7.0]
    (g,) = gradviz.autograd.grad(x, x, grad_outputs=gradviz.ones(2))
    assert values(g) == [1.0, 1.0]
    assert x.grad is None


# ---------------------------------------------------------------------------- 3.9 anomaly mode


def test_detect_anomaly_warns_on_entry_and_set_detect_anomaly_does_not() -> None:
    with pytest.warns(UserWarning) as record:
        with gradviz.autograd.detect_anomaly():
            assert gradviz.autograd.is_anomaly_enabled()
    assert [str(w.message) for w in record] == [ANOMALY_ENABLED]
    assert not gradviz.autograd.is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with gradviz.autograd.set_detect_anomaly(True):
            assert gradviz.autograd.is_anomaly_enabled()
    assert not gradviz.autograd.is_anomaly_enabled()


def _nan_case(check_nan: bool = True) -> tuple[gradviz.Tensor, list[str], BaseException | None]:
    x = gradviz.tensor([-1.0, 4.0], requires_grad=True)
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gradviz.autograd.detect_anomaly(check_nan=check_nan):
            y = x * 2
            z = gradviz.sqrt(y)  # the forward line the traceback must show
            try:
                z.sum().backward()
            except RuntimeError as err:
                error = err
    return x, [str(w.message) for w in caught], error


def test_anomaly_names_the_node_that_returned_nan_and_its_forward_line() -> None:
    _, messages, error = _nan_case()
    assert str(error) == "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert messages[0] == ANOMALY_ENABLED
    detected = [m for m in messages if m.startswith("Error detected in SqrtBackward0.")]
    assert len(detected) == 1
    text = detected[0]
    assert text.startswith(
        "Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n"
    )
    assert "z = gradviz.sqrt(y)  # the forward line the traceback must show" in text
    assert 'File "' in text and "test_semantics.py" in text
    assert "gradviz/engine" not in text


def test_anomaly_check_nan_false_lets_nan_through() -> None:
    x, messages, error = _nan_case(check_nan=False)
    assert error is None
    assert math.isnan(values(x.grad)[0])
    assert messages == [ANOMALY_ENABLED]


def test_anomaly_keeps_the_forward_stack_in_metadata() -> None:
    x = gradviz.ones(2, requires_grad=True)
    assert (x * 2).grad_fn.metadata == {}
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with gradviz.autograd.detect_anomaly(check_nan=False):
            y = gradviz.sqrt(x * 2)
    stack = y.grad_fn.metadata["traceback_"]
    assert isinstance(stack, list) and all(isinstance(s, str) for s in stack)
    assert "y = gradviz.sqrt(x * 2)" in stack[-1]


def test_anomaly_names_the_output_index() -> None:
    x = gradviz.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(UserWarning):
        with gradviz.autograd.detect_anomaly():
            y = x / x
            with pytest.raises(
                RuntimeError,
                match=r"^Function 'DivBackward0' returned nan values in its 1th output\.$",
            ):
                y.sum().backward()


def test_anomaly_nan_only_in_backward_and_custom_function() -> None:
    class Bad(Function):
        @staticmethod
        def forward(ctx: Any, x: gradviz.Tensor) -> gradviz.Tensor:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: gradviz.Tensor) -> gradviz.Tensor:
            return g * float("nan")

    x = gradviz.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(UserWarning) as record:
        with gradviz.autograd.detect_anomaly():
            y = gradviz.sqrt(x)
            with pytest.raises(
                RuntimeError,
                match=r"^Function 'SqrtBackward0' returned nan values in its 0th output\.$",
            ):
                (y * 0.0).sum().backward()
            with pytest.raises(
                RuntimeError,
                match=r"^Function 'BadBackward' returned nan values in its 0th output\.$",
            ):
                Bad.apply(x).sum().backward()
    assert any(str(w.message).startswith("Error detected in BadBackward.") for w in record)


def test_forward_nan_alone_is_not_reported() -> None:
    x = gradviz.tensor([-1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection"):
        with gradviz.autograd.detect_anomaly():
            gradviz.log(x).sum().backward()
    assert values(x.grad) == [-1.0]


def test_version_error_hint_changes_under_anomaly_mode() -> None:
    a = gradviz.ones(3, requires_grad=True)
    b = a.sigmoid()
    b.mul_(2)
    with gradviz.autograd.set_detect_anomaly(True):
        with pytest.raises(RuntimeError) as err:
            b.sum().backward()
    assert str(err.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [torch.FloatTensor [3]], which is output 0 of Sigmoid, is at version 1; "
        "expected version 0 instead. Hint: the backtrace further above shows the operation that "
        "failed to compute its gradient. The variable in question was changed in there or "
        "anywhere later. Good luck!"
    )


# ---------------------------------------------------------------------------- saved tensors


def test_saved_tensor_version_checks() -> None:
    a = gradviz.ones(3, requires_grad=True)
    b = a * 2
    c = b * b
    b.add_(1)
    with pytest.raises(
        RuntimeError,
        match=r"\[3\]\], which is output 0 of Add, is at version 1; expected version 0",
    ):
        c.sum().backward()
    w = gradviz.ones(3, requires_grad=True)
    const = gradviz.ones(3)
    y = (w * const).sum()
    const.add_(1)
    with pytest.raises(
        RuntimeError,
        match=(
            r"^one of the variables needed for gradient computation has been modified by an "
            r"inplace operation: \[torch\.FloatTensor \[3\]\] is at version 1; expected version 0 "
            r"instead\. Hint: enable"
        ),
    ):
        y.backward()


def test_backward_twice_fails_only_through_saved_tensors() -> None:
    x = gradviz.ones(2, 2, requires_grad=True)
    out = (x + 2).sum()
    out.backward()
    out.backward()
    assert values(x.grad) == [[2.0, 2.0], [2.0, 2.0]]
    y = x * x
    y.sum().backward()
    with pytest.raises(RuntimeError, match=r"^Trying to backward through the graph a second time"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match=r"^Trying to backward through the graph a second time"):
        _ = y.grad_fn._saved_self


SAVED_PROGRAMS: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {
    "mul-scalar": (lambda lib: lib.ones(2, requires_grad=True) * 3, {"_saved_self": None}),
    "sum-dim": (
        lambda lib: lib.ones(2, 3, requires_grad=True).sum(0, keepdim=True),
        {"_saved_dim": (0,), "_saved_keepdim": True, "_saved_self_sym_sizes": (2, 3)},
    ),
    "sum": (lambda lib: lib.ones(2, requires_grad=True).sum(), {"_saved_self_sym_sizes": (2,)}),
    "mean": (
        lambda lib: lib.ones(2, requires_grad=True).mean(),
        {"_saved_self_sym_numel": 2, "_saved_self_sym_sizes": (2,)},
    ),
    "add": (
        lambda lib: lib.add(lib.ones(2, requires_grad=True), lib.ones(2), alpha=2),
        {"_saved_alpha": 2},
    ),
    "sub": (lambda lib: lib.ones(2, requires_grad=True) - 1, {"_saved_alpha": 1}),
    "pow": (lambda lib: lib.ones(2, requires_grad=True) ** 2, {"_saved_exponent": 2}),
    "max-dim": (
        lambda lib: lib.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]], requires_grad=True).max(1)[0],
        {"_saved_dim": 1, "_saved_keepdim": False, "_saved_self_sym_sizes": (2, 3)},
    ),
    "clamp": (
        lambda lib: lib.ones(2, requires_grad=True).clamp(min=0),
        {"_saved_min": 0, "_saved_max": None},
    ),
    "view": (
        lambda lib: lib.ones(2, 3, requires_grad=True).view(6),
        {"_saved_self_sym_sizes": (2, 3)},
    ),
    "transpose": (
        lambda lib: lib.ones(2, 3, requires_grad=True).transpose(0, 1),
        {"_saved_dim0": 0, "_saved_dim1": 1},
    ),
    "permute": (
        lambda lib: lib.ones(2, 3, requires_grad=True).permute(1, 0),
        {"_saved_dims": (1, 0)},
    ),
    "select": (
        lambda lib: lib.ones(2, 3, requires_grad=True)[0],
        {"_saved_dim": 0, "_saved_index": 0, "_saved_self_sym_sizes": (2, 3)},
    ),
    "slice": (
        lambda lib: lib.ones(2, 3, requires_grad=True)[:, 1:3],
        {
            "_saved_dim": 1,
            "_saved_start": 1,
            "_saved_end": 3,
            "_saved_step": 1,
            "_saved_self_sym_sizes": (2, 3),
        },
    ),
    "softmax": (lambda lib: lib.ones(2, 3, requires_grad=True).softmax(1), {"_saved_dim": 1}),
    "cat": (lambda lib: lib.cat([lib.ones(2, requires_grad=True), lib.ones(2)]), {"_saved_dim": 0}),
}


@pytest.mark.parametrize("case", sorted(SAVED_PROGRAMS))
def test_saved_attributes_match_torch(case: str, torch: Any) -> None:
    make, expected = SAVED_PROGRAMS[case]
    ours = make(gradviz).grad_fn
    theirs = make(torch).grad_fn
    assert name(ours) == name(theirs)
    for attr, want in expected.items():
        assert getattr(theirs, attr) == want, f"reference drifted for {attr}"
        got = getattr(ours, attr)
        assert (tuple(got) if isinstance(got, tuple | list) else got) == want, attr


def test_saved_tensor_identity_and_values() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    w = gradviz.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    assert y.grad_fn._saved_self is x and y.grad_fn._saved_other is w
    sq = x * x
    assert sq.grad_fn._saved_self is x and sq.grad_fn._saved_other is x
    scaled = x * 3
    assert scaled.grad_fn._saved_self is None
    other = scaled.grad_fn._saved_other
    assert (other.dtype, other.ndim, other.item()) == (gradviz.int64, 0, 3)
    by_const = gradviz.ones(2) * x
    assert (
        values(by_const.grad_fn._saved_self) == [1.0, 1.0] and by_const.grad_fn._saved_other is None
    )
    e = x.exp()
    assert e.grad_fn._saved_result is not e
    assert values(e.grad_fn._saved_result) == values(e)
    v, i = gradviz.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]], requires_grad=True).max(1)
    assert values(v.grad_fn._saved_indices) == [1, 0]


def test_node_api() -> None:
    x = gradviz.ones(2, requires_grad=True)
    y = x * 2
    node = y.grad_fn
    assert isinstance(node, gradviz.autograd.graph.Node)
    assert node.name() == "MulBackward0" and type(node).__name__ == "MulBackward0"
    acc = node.next_functions[0][0]
    assert acc.variable is x
    assert acc.name() == "torch::autograd::AccumulateGrad"
    assert acc._sequence_nr() == 2**64 - 1
    assert (x + 1).grad_fn.next_functions[0][0] is acc
    a = (x * 2).grad_fn
    b = (x * 2).grad_fn
    assert b._sequence_nr() > a._sequence_nr()


# ---------------------------------------------------------------------------- 3.12 node hooks


def test_node_prehook_and_post_hook_values() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    w = gradviz.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    seen: list[Any] = []
    y.grad_fn.register_prehook(lambda go: seen.append(("pre", [values(g) for g in go])))
    y.grad_fn.register_hook(
        lambda gi, go: seen.append(("post", [values(g) for g in gi], [values(g) for g in go]))
    )
    y.backward(gradviz.tensor([1.0, 10.0]))
    assert seen == [("pre", [[1.0, 10.0]]), ("post", [[3.0, 40.0], [1.0, 20.0]], [[1.0, 10.0]])]


def test_node_hooks_can_replace_gradients() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    w = gradviz.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    y.grad_fn.register_prehook(lambda go: tuple(g * 2 for g in go))
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 100, gi[1]))
    y.sum().backward()
    assert values(x.grad) == [600.0, 800.0]
    assert values(w.grad) == [2.0, 4.0]


# ---------------------------------------------------------------------------- 3.13 engine order


ORDER_PROGRAMS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "diamond": lambda lib, x, w: (lambda a: a.exp() + a.sin())(x * 2),
    "diamond-sin-first": lambda lib, x, w: (lambda a: (lambda c, b: b + c)(a.sin(), a.exp()))(
        x * 2
    ),
    "long-branch-first": lambda lib, x, w: (
        lambda a: (lambda long, short: long + short)(a.exp().cos().tanh(), a.sin())
    )(x * 2),
    "short-branch-first": lambda lib, x, w: (
        lambda a: (lambda short, long: long + short)(a.sin(), a.exp().cos().tanh())
    )(x * 2),
    "independent": lambda lib, x, w: x.exp() + w.sin(),
    "independent-w-first": lambda lib, x, w: (lambda s: x.exp() + s)(w.sin()),
    "shared-leaf": lambda lib, x, w: (x * w).sum() * x.sum() + (w * 3).mean(),
    "matmul-chain": lambda lib, x, w: ((x.reshape(1, 2) @ w.reshape(2, 1)).relu() * x).sum(),
}


def _execution_order(lib: Any, program: Callable[[Any, Any, Any], Any]) -> list[str]:
    x = lib.tensor([0.5, 1.5], requires_grad=True)
    w = lib.tensor([2.0, -1.0], requires_grad=True)
    out = program(lib, x, w)
    order: list[str] = []
    labels = {id(x): "x", id(w): "w"}
    stack = [out.grad_fn]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        label = name(node)
        if label == "AccumulateGrad":
            label += f"({labels[id(node.variable)]})"
        node.register_prehook(lambda go, label=label: order.append(label))
        stack.extend(f for f, _ in node.next_functions)
    out.sum().backward()
    return order


@pytest.mark.parametrize("program", sorted(ORDER_PROGRAMS))
def test_execution_order_matches_torch(program: str, torch: Any) -> None:
    ours = _execution_order(gradviz, ORDER_PROGRAMS[program])
    theirs = _execution_order(torch, ORDER_PROGRAMS[program])
    assert ours == theirs


def test_execution_order_of_the_reference_diamond() -> None:
    assert _execution_order(gradviz, ORDER_PROGRAMS["diamond"]) == [
        "AddBackward0",
        "SinBackward0",
        "ExpBackward0",
        "MulBackward0",
        "AccumulateGrad(x)",
    ]


def test_tensor_hooks_in_the_diamond_fire_in_reverse_creation_order() -> None:
    x = gradviz.ones(2, requires_grad=True)
    calls: list[str] = []
    a = x * 2
    b = a.exp()
    c = a.sin()
    d = b + c
    for label, t in (("x", x), ("a", a), ("b", b), ("c", c), ("d", d)):
        t.register_hook(lambda g, label=label: calls.append(label))
    d.sum().backward()
    assert calls == ["d", "c", "b", "a", "x"]


def test_deep_graph_does_not_hit_the_recursion_limit() -> None:
    x = gradviz.ones(1, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    assert values(x.grad) == [1.0]


# ---------------------------------------------------------------------------- 3.14 broadcasting


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((4,), [3.0] * 4), ((3, 1), [[4.0]] * 3), ((), 12.0), ((1, 4), [[3.0] * 4])],
)
def test_broadcast_gradient_is_summed_back(shape: tuple[int, ...], expected: Any) -> None:
    a = gradviz.ones(3, 4)
    r = gradviz.ones(*shape, requires_grad=True)
    (a * r).sum().backward()
    assert tuple(r.grad.shape) == shape
    assert values(r.grad) == expected


def test_broadcast_both_sides_and_expand_and_batched_matmul() -> None:
    e = gradviz.ones(2, 1, 3, requires_grad=True)
    f = gradviz.ones(4, 1, requires_grad=True)
    (e * f).sum().backward()
    assert values(e.grad) == [[[4.0] * 3]] * 2
    assert values(f.grad) == [[6.0]] * 4
    g = gradviz.ones(3, 1, requires_grad=True)
    g.expand(3, 4).sum().backward()
    assert values(g.grad) == [[4.0]] * 3
    a = gradviz.ones(2, 3, 4)
    m = gradviz.ones(4, 5, requires_grad=True)
    (a @ m).sum().backward()
    assert values(m.grad) == [[6.0] * 5] * 4


# ---------------------------------------------------------------------------- 3.16 edge points


EDGE_POINTS: dict[str, tuple[Callable[[Any, Any], Any], list[float]]] = {
    "abs-at-0": (lambda lib, x: x.abs(), [0.0]),
    "relu-at-0": (lambda lib, x: x.relu(), [0.0]),
    "sqrt-at-0": (lambda lib, x: x.sqrt(), [0.0]),
    "pow-half-at-0": (lambda lib, x: x**0.5, [0.0]),
    "pow-2-at-0": (lambda lib, x: x**2, [0.0]),
    "pow-0-at-0": (lambda lib, x: x**0, [0.0]),
    "clamp-min-boundary": (lambda lib, x: x.clamp(min=0), [0.0]),
    "clamp-max-boundary": (lambda lib, x: x.clamp(max=1.0), [1.0]),
    "max-ties": (lambda lib, x: x.max(), [1.0, 3.0, 3.0]),
    "amax-ties": (lambda lib, x: x.amax(0), [1.0, 3.0, 3.0]),
    "max-dim-ties": (lambda lib, x: x.reshape(1, 3).max(dim=1)[0], [1.0, 3.0, 3.0]),
    "min-ties": (lambda lib, x: x.min(), [2.0, 1.0, 1.0]),
    "maximum-tie": (lambda lib, x: lib.maximum(x, lib.ones(1)), [1.0]),
    "minimum-tie": (lambda lib, x: lib.minimum(x, lib.ones(1)), [1.0]),
    "norm-at-zero": (lambda lib, x: x.norm(), [0.0, 0.0]),
    "std-unbiased": (lambda lib, x: x.std(), [1.0, 2.0, 4.0]),
    "duplicate-index": (lambda lib, x: x[[0, 0, 2]], [1.0, 2.0, 3.0]),
    "where-nan-branch": (lambda lib, x: lib.where(x > 0, x, lib.log(-x)), [2.0]),
    "sign-at-0": (lambda lib, x: x.sign(), [0.0]),
    "log-at-0": (lambda lib, x: x.log(), [0.0]),
    "div-by-zero": (lambda lib, x: 1 / x, [0.0]),
    "sigmoid-far": (lambda lib, x: x.sigmoid(), [-100.0, 100.0]),
    "softplus-threshold": (
        lambda lib, x: (
            lib.nn.functional.softplus(x) if lib.__name__ == "torch" else lib.softplus(x)
        ),
        [20.0, 25.0],
    ),
    "leaky-relu-at-0": (
        lambda lib, x: (
            lib.nn.functional.leaky_relu(x) if lib.__name__ == "torch" else lib.leaky_relu(x)
        ),
        [0.0],
    ),
    "elu-at-0": (
        lambda lib, x: lib.nn.functional.elu(x) if lib.__name__ == "torch" else lib.elu(x),
        [0.0],
    ),
    "logsumexp-inf": (lambda lib, x: x.logsumexp(0), [float("-inf"), 0.0]),
    "prod-with-zero": (lambda lib, x: x.prod(), [0.0, 2.0, 3.0]),
    "remainder-at-jump": (lambda lib, x: x % 1.0, [1.0]),
}


@pytest.mark.parametrize("case", sorted(EDGE_POINTS))
def test_gradient_at_edge_points_matches_torch(case: str, torch: Any) -> None:
    fn, at = EDGE_POINTS[case]
    grads = []
    for lib in (gradviz, torch):
        x = lib.tensor(at, requires_grad=True)
        fn(lib, x).sum().backward()
        grads.append(values(x.grad))
    np.testing.assert_array_equal(np.asarray(grads[0]), np.asarray(grads[1]))


def test_reference_edge_values() -> None:
    x = gradviz.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert values(x.grad) == [0.0, 0.5, 0.5]
    y = gradviz.tensor([0.0], requires_grad=True)
    y.sqrt().backward()
    assert values(y.grad) == [math.inf]
    z = gradviz.tensor([0.0], requires_grad=True)
    z.clamp(min=0).backward()
    assert values(z.grad) == [1.0]


# ---------------------------------------------------------------------------- custom Functions


class MyExp(Function):
    """``exp`` written as a custom Function, ctx style. d/dx = g * exp(x)."""

    @staticmethod
    def forward(ctx: Any, x: gradviz.Tensor) -> gradviz.Tensor:
        """Return ``exp(x)`` and save it."""
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx: Any, g: gradviz.Tensor) -> gradviz.Tensor:
        """Return ``g * exp(x)``."""
        (result,) = ctx.saved_tensors
        return g * result


class MyExpNewStyle(Function):
    """``exp`` as a custom Function in the ``setup_context`` style."""

    @staticmethod
    def forward(x: gradviz.Tensor) -> gradviz.Tensor:
        """Return ``exp(x)``."""
        return x.exp()

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        """Save the output for backward and keep a custom attribute."""
        ctx.save_for_backward(output)
        ctx.k = 5

    @staticmethod
    def backward(ctx: Any, g: gradviz.Tensor) -> gradviz.Tensor:
        """Return ``g * exp(x)``."""
        (result,) = ctx.saved_tensors
        return g * result


@pytest.mark.parametrize("cls", [MyExp, MyExpNewStyle])
def test_custom_function_styles(cls: type[Function]) -> None:
    x = gradviz.tensor([0.0, 1.0], dtype=gradviz.float64, requires_grad=True)
    y = cls.apply(x)
    assert y.grad_fn.name() == f"{cls.__name__}Backward"
    assert type(y.grad_fn).__name__ == f"{cls.__name__}Backward"
    assert repr(y).endswith(f"grad_fn=<{cls.__name__}Backward>)")
    assert [name(f) for f, _ in y.grad_fn.next_functions] == ["AccumulateGrad"]
    y.sum().backward()
    assert values(x.grad) == pytest.approx([1.0, math.e])
    assert gradviz.autograd.gradcheck(cls.apply, (x,))
    assert gradviz.autograd.gradgradcheck(cls.apply, (x,))
    if cls is MyExpNewStyle:
        assert cls.apply(x).grad_fn.k == 5


def test_needs_input_grad_and_non_tensor_arguments() -> None:
    seen: list[tuple[bool, ...]] = []

    class Scale(Function):
        @staticmethod
        def forward(ctx: Any, a: Any, b: Any, k: float) -> Any:
            seen.append(ctx.needs_input_grad)
            ctx.k = k
            return a * b * k

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * ctx.k, g * ctx.k, None

    a = gradviz.ones(2, requires_grad=True)
    b = gradviz.ones(2)
    out = Scale.apply(a, b, 3.0)
    assert seen == [(True, False, False)]
    assert [f if f is None else name(f) for f, _ in out.grad_fn.next_functions] == [
        "AccumulateGrad",
        None,
    ]
    out.sum().backward()
    assert values(a.grad) == [3.0, 3.0]


def test_mark_non_differentiable() -> None:
    class SortWithIndex(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            values_, idx = x.max(0)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return values_, idx

        @staticmethod
        def backward(ctx: Any, g: Any, g_idx: Any) -> Any:
            x, idx = ctx.saved_tensors
            out = gradviz.zeros_like(x)
            out[idx] = g
            return out

    x = gradviz.tensor([1.0, 4.0, 2.0], requires_grad=True)
    v, i = SortWithIndex.apply(x)
    assert v.requires_grad and not i.requires_grad
    v.backward()
    assert values(x.grad) == [0.0, 1.0, 0.0]


def test_mark_dirty_in_place_function() -> None:
    class AddOneInPlace(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g

    a = gradviz.ones(2, requires_grad=True)
    b = a * 2
    c = AddOneInPlace.apply(b)
    assert c is b
    assert name(c.grad_fn) == "AddOneInPlaceBackward"
    assert values(c) == [3.0, 3.0]
    c.sum().backward()
    assert values(a.grad) == [2.0, 2.0]


@pytest.mark.parametrize("materialize", [True, False])
def test_set_materialize_grads(materialize: bool) -> None:
    received: list[Any] = []

    class Two(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.set_materialize_grads(materialize)
            return x * 1, x * 2

        @staticmethod
        def backward(ctx: Any, g1: Any, g2: Any) -> Any:
            received.append(g2 if g2 is None else values(g2))
            return g1

    x = gradviz.ones(2, requires_grad=True)
    first, _ = Two.apply(x)
    first.sum().backward()
    assert received == ([[0.0, 0.0]] if materialize else [None])


def test_custom_function_gradient_errors() -> None:
    class WrongCount(Function):
        @staticmethod
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            return a * b

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g

    class WrongShape(Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            return a * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return gradviz.ones(3)

    class ExtraNones(Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            return a * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2, None, None

    class GradForNumber(Function):
        @staticmethod
        def forward(ctx: Any, a: Any, k: Any) -> Any:
            return a * k

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2, gradviz.ones(1)

    x = gradviz.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=(
            r"^function WrongCountBackward returned an incorrect number of gradients "
            r"\(expected 2, got 1\)$"
        ),
    ):
        WrongCount.apply(x, x).sum().backward()
    with pytest.raises(
        RuntimeError,
        match=(
            r"^Function WrongShapeBackward returned an invalid gradient at index 0 - got \[3\] "
            r"but expected shape compatible with \[2\]$"
        ),
    ):
        WrongShape.apply(x).sum().backward()
    ExtraNones.apply(x).sum().backward()
    assert values(x.grad) == [2.0, 2.0]
    with pytest.raises(
        RuntimeError,
        match=(
            r"^function GradForNumberBackward returned a gradient different than None at "
            r"position 2, but the corresponding forward input was not a Variable$"
        ),
    ):
        GradForNumber.apply(x, 3).sum().backward()


def test_custom_function_without_grad_inputs_records_nothing() -> None:
    out = MyExp.apply(gradviz.ones(2))
    assert out.grad_fn is None and not out.requires_grad
    with gradviz.no_grad():
        assert MyExp.apply(gradviz.ones(2, requires_grad=True)).grad_fn is None


# ---------------------------------------------------------------------------- tensor repr

REPRS = [
    "lib.tensor([1, 2, 3])",
    "lib.tensor([-1, 20, 300])",
    "lib.tensor([1., 2., 3.])",
    "lib.tensor([1.5, -2.25, 3.])",
    "lib.tensor(3.5)",
    "lib.tensor(-7)",
    "lib.tensor([[1, -2], [30, 4]])",
    "lib.tensor([[1.5, 2.], [3., 4.125]])",
    "lib.tensor([1e-5, 1., 100.])",
    "lib.tensor([1e10, 1.])",
    "lib.tensor([1.23456789e-8])",
    "lib.tensor([1e8, 2e8])",
    "lib.tensor([0.1, 0.25, 1000.5])",
    "lib.tensor([12345.678])",
    "lib.tensor([1.0, float('nan'), float('inf'), -float('inf')])",
    "lib.tensor([True, False])",
    "lib.tensor([], dtype=lib.float32)",
    "lib.zeros(0, 3)",
    "lib.tensor([1., 2.], dtype=lib.float64)",
    "lib.tensor([1, 2], dtype=lib.int32)",
    "lib.tensor([1.5, 2.], dtype=lib.float16)",
    "lib.tensor([1, 2], dtype=lib.uint8)",
    "lib.arange(12.).reshape(2, 3, 2)",
    "lib.arange(24).reshape(2, 3, 4)",
    "lib.arange(2000.)",
    "lib.arange(1100).reshape(100, 11)",
    "lib.arange(3000.).reshape(10, 10, 30) / 7",
    "lib.arange(40.) / 7",
    "lib.arange(100) * 1000",
    "lib.ones(2, 2, requires_grad=True)",
    "lib.ones(2, requires_grad=True) * 2",
    "(lib.ones(3, requires_grad=True) * 2).sum()",
    "lib.tensor([[1e-4, 1.]], requires_grad=True)",
    "lib.tensor([-0.0, 0.0])",
    "lib.tensor([1e-10, 0.])",
    "lib.tensor([0., 0.])",
    "lib.linspace(-1, 1, 7)",
    "lib.tensor([[[1.]]])",
    "lib.tensor([2.], dtype=lib.float64, requires_grad=True)",
    "lib.tensor([2.], dtype=lib.float64, requires_grad=True) * 3",
    "lib.full((3,), 1e-3)",
    "lib.tensor([123456789.])",
    "lib.tensor([10.0, 1000000.0])",
    "lib.tensor([1e-3, 1e4])",
    "lib.tensor([[0.5, 1e5], [3., 4.]])",
    "lib.tensor([1, 2]) > 1",
]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(expr: str, torch: Any) -> None:
    theirs = repr(eval(expr, {"lib": torch})).replace("torch.", "gradviz.")
    ours = repr(eval(expr, {"lib": gradviz}))
    assert ours == theirs


def test_repr_of_a_custom_function_output_and_size() -> None:
    x = gradviz.ones(2, requires_grad=True)
    assert repr(MyExp.apply(x * 0)) == "tensor([1., 1.], grad_fn=<MyExpBackward>)"
    assert repr(x.shape) == "gradviz.Size([2])"


def test_grad_buffer_is_never_shared_with_a_tensor_the_user_holds() -> None:
    # .grad may take over the engine's own gradient buffer (no copy), but never one that
    # a hook kept: accumulating later must not change the user's tensor.
    kept = []
    x = gradviz.ones(3, requires_grad=True)
    handle = x.register_hook(lambda g: kept.append(g))
    (x * 2).sum().backward()
    handle.remove()
    (x * 2).sum().backward()
    assert kept[0].tolist() == [2.0, 2.0, 2.0]
    assert x.grad.tolist() == [4.0, 4.0, 4.0]


def test_grad_of_broadcast_backward_is_writable_and_accumulates() -> None:
    x = gradviz.ones(2, 3, requires_grad=True)
    x.sum().backward()
    x.sum().backward()
    assert x.grad.tolist() == [[2.0] * 3] * 2


def test_view_of_a_plain_tensor_made_to_require_grad_is_a_leaf() -> None:
    x = gradviz.arange(12.0).reshape(3, 4).requires_grad_()
    assert x.is_leaf
    x.sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == [[1.0] * 4] * 3


def test_deepcopy_of_a_parameter_copies_its_data() -> None:
    import copy

    p = gradviz.nn.Parameter(gradviz.ones(2))
    q = copy.deepcopy(p)
    q.data.add_(1)
    assert p.tolist() == [1.0, 1.0]
    assert q.tolist() == [2.0, 2.0]


def test_grads_of_two_leaves_fed_the_same_gradient_never_share_memory() -> None:
    # AddBackward0 hands one gradient to both inputs: only one .grad may own it.
    a = gradviz.ones(3, requires_grad=True)
    b = gradviz.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(10.0)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())


class _Twice(Function):
    kept: list[Any] = []

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        return x + y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        _Twice.kept.append(g)  # a reference the user keeps
        return g, g


def test_grad_never_takes_a_buffer_a_custom_backward_kept() -> None:
    _Twice.kept.clear()
    x = gradviz.ones(2, requires_grad=True)
    y = gradviz.ones(2, requires_grad=True)
    _Twice.apply(x, y).sum().backward()
    _Twice.apply(x, y).sum().backward()  # accumulates in place into x.grad and y.grad
    assert _Twice.kept[0].tolist() == [1.0, 1.0]
    assert x.grad.tolist() == [2.0, 2.0] and y.grad.tolist() == [2.0, 2.0]


def test_linear_weight_grad_never_shares_a_transposed_gradient_a_hook_kept() -> None:
    kept = []
    w = gradviz.ones(2, 3, requires_grad=True)
    wt = w.t()
    wt.register_hook(lambda g: kept.append(g))
    x = gradviz.ones(4, 3)
    (x @ wt).sum().backward()
    (x @ w.t()).sum().backward()
    assert kept[0].tolist() == [[4.0, 4.0]] * 3
    assert w.grad.tolist() == [[8.0] * 3] * 2


def test_linear_gradients_take_over_the_engine_buffers_without_copies(monkeypatch: Any) -> None:
    # The weight's gradient is a transposed view of a matmul result and the bias's a
    # reduction: .grad takes both over instead of copying (as PyTorch steals them).
    from gradviz.engine import backend

    copies = []
    real = backend.copy

    def counting_copy(array: Any, contiguous: bool = False) -> Any:
        copies.append(array.shape)
        return real(array, contiguous)

    monkeypatch.setattr(backend, "copy", counting_copy)
    lin = gradviz.nn.Linear(3, 2)
    lin(gradviz.ones(4, 3)).sum().backward()
    assert copies == []
    assert lin.weight.grad.tolist() == [[4.0] * 3] * 2
    assert lin.bias.grad.tolist() == [4.0, 4.0]
    assert lin.weight.grad.is_contiguous()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_backward_gives_inactive_units_zero_even_for_a_nan_gradient(
    torch: Any, dtype: str
) -> None:
    grads = []
    for lib in (gradviz, torch):
        x = lib.tensor([1.0, -1.0, 0.0, 2.0], dtype=getattr(lib, dtype), requires_grad=True)
        lib.relu(x).backward(
            lib.tensor([float("nan"), float("nan"), 1.0, 3.0], dtype=getattr(lib, dtype))
        )
        grads.append((x.grad.numpy(), str(x.grad.dtype).split(".")[-1]))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    assert grads[0][1] == grads[1][1] == dtype


@pytest.mark.parametrize(
    "upstream",
    [
        [float("inf"), float("-inf"), 1.0, 3.0],  # infinite gradients at inactive units
        [1e30, -1e30, 1.0, 3e30],  # huge but finite: their squares overflow float32
        [float("nan"), 2.0, 1.0, float("inf")],
    ],
)
def test_relu_backward_matches_torch_for_extreme_gradients(
    torch: Any, upstream: list[float]
) -> None:
    grads = []
    for lib in (gradviz, torch):
        x = lib.tensor([[1.0, -1.0], [0.0, 2.0]], requires_grad=True)
        y = lib.relu(x.t())  # a transposed (column-major) input and gradient
        y.backward(lib.tensor(upstream).reshape(2, 2))
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def _random_program(seed: int) -> Callable[[Any, Any, Any], Any]:
    """A program of 3 to 12 unary and binary ops over x, w and what came before."""

    def program(lib: Any, x: Any, w: Any) -> Any:
        rng = np.random.default_rng(seed)
        values = [x, w]
        for _ in range(int(rng.integers(3, 13))):
            a = values[int(rng.integers(len(values)))]
            kind = int(rng.integers(4))
            if kind == 0:
                values.append(a.sin())
            elif kind == 1:
                values.append(a.exp() * 0.5)
            else:
                b = values[int(rng.integers(len(values)))]
                values.append(a * b if kind == 2 else a + b)
        total = values[-1]
        for v in values[2:-1:2]:  # some intermediate results reach the output too
            total = total + v
        return total

    return program


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_execution_order_matches_torch_on_random_graphs(seed: int) -> None:
    torch = require_torch()
    program = _random_program(seed)
    assert _execution_order(gradviz, program) == _execution_order(torch, program)


@pytest.mark.parametrize("other", [0.5, 1, True])
def test_subtracting_a_number_from_a_bool_tensor_raises_as_in_pytorch(
    torch: Any, other: Any
) -> None:
    errors = []
    for lib in (gradviz, torch):
        with pytest.raises(RuntimeError) as info:
            lib.tensor([True, False]) - other
        errors.append(str(info.value))
    assert errors[0] == errors[1]
