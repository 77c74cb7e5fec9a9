"""Float64 numerical gradient checks for every differentiable op in the registry.

The calls come from ``op_cases.py`` (shared with the PyTorch comparisons). Every name in
``gradviz.engine.ops.REGISTRY`` and ``METHODS`` is either covered by a case or listed in
``OPS_WITHOUT_GRADIENT``, and every built-in node class is produced by some case (in its
forward or its double backward), so a new op cannot skip these checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.autograd import GradcheckError, gradcheck, gradgradcheck
from gradviz.engine import events
from gradviz.engine.function import Op
from gradviz.engine.ops import METHODS, REGISTRY
from tests.engine.op_cases import (
    CASES,
    INPLACE_CASES,
    NON_DIFFERENTIABLE_CALLS,
    OPS_OUTSIDE_AUTOGRAD,
    OPS_WITHOUT_GRADIENT,
    Case,
    flat_outputs,
    make_inputs,
)

ALL_CASES = CASES + INPLACE_CASES
GRADGRAD_CASES = [c for c in ALL_CASES if c.gradgrad]

# Nodes that only exist inside other ops' backward formulas, or whose only producer is
# reached through an op that has its own case. Each entry says where it comes from.
INTERNAL_NODES = {
    "IndexPutBackward0": "backward of indexing (checked by gradgradcheck of __getitem__)",
    "ScatterAddBackward1": "backward of gather (checked by gradgradcheck of gather)",
}

# Nodes without a backward formula, as in PyTorch (no gradient to check); test_extra_ops
# checks that their backward raises PyTorch's error.
NODES_WITHOUT_BACKWARD = {
    "Unique2Backward0": "unique",
    "UniqueDimBackward0": "unique(dim=...)",
    "NotImplemented": "bincount with weights that require grad",
}


def _inputs(case: Case) -> list[gradviz.Tensor]:
    return [
        gradviz.tensor(v, dtype=gradviz.float64, requires_grad=arg.grad)
        for v, arg in zip(make_inputs(case), case.args, strict=False)
    ]


def _differentiable_outputs(case: Case, xs: list[gradviz.Tensor]) -> Any:
    def fn(*args: Any) -> tuple[Any, ...]:
        return tuple(o for o in flat_outputs(case.fn(gradviz, *args)) if o.dtype.is_floating_point)

    return fn


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_gradcheck(case: Case) -> None:
    xs = _inputs(case)
    fn = _differentiable_outputs(case, xs)
    outs = fn(*xs)
    assert outs, f"{case.id}: no floating-point output"
    assert any(o.requires_grad for o in outs), f"{case.id}: output does not require grad"
    assert gradcheck(fn, tuple(xs), **(case.check or {}))


@pytest.mark.parametrize("case", GRADGRAD_CASES, ids=[c.id for c in GRADGRAD_CASES])
def test_gradgradcheck(case: Case) -> None:
    xs = _inputs(case)
    assert gradgradcheck(_differentiable_outputs(case, xs), tuple(xs))


def test_every_differentiable_op_has_a_case() -> None:
    covered = {c.op for c in ALL_CASES}
    names = set(REGISTRY) | set(METHODS)
    exempt = set(OPS_WITHOUT_GRADIENT) | set(OPS_OUTSIDE_AUTOGRAD)
    missing = sorted(n for n in names if n not in covered and n not in exempt)
    assert not missing, (
        f"ops without a gradient-check case: {missing}. Fix: add a Case to "
        "tests/engine/op_cases.py (or list the op in OPS_WITHOUT_GRADIENT if its output "
        "never requires grad)."
    )
    stale = sorted(n for n in OPS_WITHOUT_GRADIENT if n not in names)
    assert not stale, f"OPS_WITHOUT_GRADIENT names ops that do not exist: {stale}"


def test_ops_outside_autograd_behave_as_listed() -> None:
    x = gradviz.tensor([1.0, 2.0, 2.0], requires_grad=True)
    assert gradviz.allclose(x, x) is True
    assert gradviz.equal(x, x * 1.0) is True
    values = gradviz.unique(x)
    assert values.requires_grad
    with pytest.raises(NotImplementedError):
        values.sum().backward()
    step = gradviz.heaviside(x, gradviz.tensor(0.5))
    assert step.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        step.sum().backward()
    assert set(OPS_OUTSIDE_AUTOGRAD) == {"allclose", "equal", "unique", "heaviside"}


@pytest.mark.parametrize("name", sorted(OPS_WITHOUT_GRADIENT))
def test_ops_without_gradient_do_not_require_grad(name: str) -> None:
    x = gradviz.tensor([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]], requires_grad=True)
    out = NON_DIFFERENTIABLE_CALLS[name](gradviz, x)
    assert isinstance(out, gradviz.Tensor)
    assert out.requires_grad is False
    assert out.grad_fn is None


# Op modules whose nodes are reached through gradviz.nn.functional (conv, pooling, norms,
# losses, activations), gradient-checked by tests/functional/test_functional_gradcheck.py
# and by the nn tests named beside them.
NN_MODULES = {
    "gradviz.engine.ops.nn",
    "gradviz.engine.ops.activation",  # checked by tests/nn/test_more_layers.py
    "gradviz.engine.ops.nn_more",  # checked by tests/nn/test_more_pooling_norm.py
}


def _all_node_names() -> set[str]:
    names: set[str] = set()
    stack = list(Op.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        module = cls.__module__
        if module in NN_MODULES or not module.startswith("gradviz.engine.ops"):
            continue
        if cls.node and cls.differentiable:
            names.add(cls.node)
    return names


def test_every_node_class_is_produced_by_a_case() -> None:
    produced: set[str] = set()

    def listen(event: Any) -> None:
        if isinstance(event, events.NodeCreated):
            produced.add(event.node.name())

    with events.subscribe(listen):
        for case in ALL_CASES:
            xs = _inputs(case)
            outs = [o for o in flat_outputs(case.fn(gradviz, *xs)) if o.requires_grad]
            wrt = [x for x in xs if x.requires_grad]
            gos = [gradviz.ones_like(o).requires_grad_() for o in outs]
            gradviz.autograd.grad(outs, wrt, gos, create_graph=True, allow_unused=True)
    missing = sorted(
        _all_node_names() - produced - set(INTERNAL_NODES) - set(NODES_WITHOUT_BACKWARD)
    )
    assert not missing, f"node classes that no case produces: {missing}"
    internal_missing = sorted(n for n in INTERNAL_NODES if n not in produced)
    assert not internal_missing, f"internal nodes never produced: {internal_missing}"


def test_gradcheck_catches_a_wrong_backward() -> None:
    class Wrong(gradviz.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: gradviz.Tensor) -> gradviz.Tensor:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: Any, g: gradviz.Tensor) -> gradviz.Tensor:
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = gradviz.tensor([1.0, 2.0], dtype=gradviz.float64, requires_grad=True)
    with pytest.raises(
        GradcheckError, match=r"Jacobian mismatch for output 0 with respect to input 0"
    ):
        gradcheck(Wrong.apply, (x,))
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_double_backward() -> None:
    class OnceWrong(gradviz.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: gradviz.Tensor) -> gradviz.Tensor:
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx: Any, g: gradviz.Tensor) -> gradviz.Tensor:
            (x,) = ctx.saved_tensors
            # Right value, but detached from x: the second derivative comes out wrong.
            return g * 3 * x.detach() ** 2

    x = gradviz.tensor([1.0, 2.0], dtype=gradviz.float64, requires_grad=True)
    assert gradcheck(OnceWrong.apply, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradgradcheck(OnceWrong.apply, (x,))


def test_gradcheck_warns_for_float32_inputs() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match=r"Input #0 requires gradient and is not a double"):
        gradcheck(lambda t: t * 2, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_seed_linear_function_passes_gradcheck_and_gradgradcheck() -> None:
    class LinearFunction(gradviz.autograd.Function):
        @staticmethod
        def forward(ctx: Any, input: Any, weight: Any, bias: Any = None) -> Any:  # noqa: A002 - PyTorch's argument name
            ctx.save_for_backward(input, weight, bias)
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            input, weight, bias = ctx.saved_tensors  # noqa: A001
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    gradviz.manual_seed(0)
    x = gradviz.randn(5, 4, dtype=gradviz.float64, requires_grad=True)
    w = gradviz.randn(3, 4, dtype=gradviz.float64, requires_grad=True)
    b = gradviz.randn(3, dtype=gradviz.float64, requires_grad=True)
    assert gradcheck(LinearFunction.apply, (x, w, b), eps=1e-6, atol=1e-4)
    assert gradcheck(LinearFunction.apply, (x, w), eps=1e-6, atol=1e-4)
    assert gradgradcheck(LinearFunction.apply, (x, w, b))
    out = LinearFunction.apply(x, w, b)
    assert out.grad_fn.name() == "LinearFunctionBackward"
    assert np.allclose(
        out.detach().numpy(), x.detach().numpy() @ w.detach().numpy().T + b.detach().numpy()
    )
