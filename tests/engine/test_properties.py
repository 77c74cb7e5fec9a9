"""Hypothesis properties of the engine: laws every backward pass must obey.

Shapes come from ``hypothesis.extra.numpy`` (0-d included); values are bounded floats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz
from gradviz.engine import events

# NOTE: no explain phase: on failure it imports libcst, whose DeprecationWarning the suite's
# filterwarnings=error turns into an INTERNALERROR that hides the failing example.
props = settings(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)
finite = st.one_of(st.just(0.0), st.floats(1e-6, 3.0), st.floats(-3.0, -1e-6))
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def arrays(shape: Any) -> Any:
    """Return a strategy of float64 arrays of ``shape`` with bounded values."""
    return hnp.arrays(np.float64, shape, elements=finite)


def leaf(a: np.ndarray) -> gradviz.Tensor:
    return gradviz.tensor(a, dtype=gradviz.float64, requires_grad=True)


def grads_of(
    fn: Callable[..., gradviz.Tensor], arrays_: list[np.ndarray], g: np.ndarray
) -> list[np.ndarray]:
    xs = [leaf(a) for a in arrays_]
    out = fn(*xs)
    out.backward(gradviz.tensor(g, dtype=gradviz.float64))
    return [
        x.grad.numpy() if x.grad is not None else np.zeros_like(a)
        for x, a in zip(xs, arrays_, strict=False)
    ]


@props
@given(
    st.data(), hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
)
def test_grads_of_a_sum_add_up_to_the_output_size(data: Any, bshapes: Any) -> None:
    a = data.draw(arrays(bshapes.input_shapes[0]))
    b = data.draw(arrays(bshapes.input_shapes[1]))
    x, y = leaf(a), leaf(b)
    z = x + y
    assert tuple(z.shape) == bshapes.result_shape
    z.sum().backward()
    n = int(np.prod(bshapes.result_shape))
    assert x.grad.shape == x.shape and y.grad.shape == y.shape
    assert float(x.grad.sum().item()) == n
    assert float(y.grad.sum().item()) == n


PROGRAMS: dict[str, Callable[[Any, Any], Any]] = {
    "mul-exp": lambda x, y: (x * y).exp(),
    "tanh-div": lambda x, y: x.tanh() / (y * y + 1),
    "where-max": lambda x, y: gradviz.where(x > y, x * 2, gradviz.maximum(x, y)),
    "sigmoid-pow": lambda x, y: x.sigmoid() ** 2 - y.abs(),
    "softmax": lambda x, y: (lambda p: p.reshape(-1).softmax(0).reshape(p.shape))(x * y),
}


@props
@given(
    st.data(),
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.sampled_from(sorted(PROGRAMS)),
    st.floats(-2.0, 2.0, allow_nan=False),
)
def test_backward_is_linear_in_the_incoming_gradient(
    data: Any, bshapes: Any, name: str, c: float
) -> None:
    a = data.draw(arrays(bshapes.input_shapes[0]))
    b = data.draw(arrays(bshapes.input_shapes[1]))
    out_shape = bshapes.result_shape
    g1 = data.draw(arrays(out_shape))
    g2 = data.draw(arrays(out_shape))
    fn = PROGRAMS[name]
    left = grads_of(fn, [a, b], g1 + c * g2)
    r1 = grads_of(fn, [a, b], g1)
    r2 = grads_of(fn, [a, b], g2)
    for got, p, q in zip(left, r1, r2, strict=False):
        np.testing.assert_allclose(got, p + c * q, rtol=1e-9, atol=1e-9)


@props
@given(st.data(), shapes)
def test_inputs_and_incoming_gradient_are_not_mutated(data: Any, shape: tuple[int, ...]) -> None:
    a = data.draw(arrays(shape))
    g = data.draw(arrays(shape))
    a_copy, g_copy = a.copy(), g.copy()
    x = gradviz.tensor(a, dtype=gradviz.float64, requires_grad=True)
    grad_in = gradviz.tensor(g, dtype=gradviz.float64)
    before = x.detach().numpy().copy()
    y = ((x * 2).exp() + x.sin()).relu() * 0.5
    y.backward(grad_in)
    y2 = x.clone().add_(1)
    y2.backward(grad_in)
    np.testing.assert_array_equal(x.detach().numpy(), before)
    np.testing.assert_array_equal(grad_in.numpy(), g_copy)
    np.testing.assert_array_equal(a, a_copy)
    assert x.grad.shape == x.shape and x.grad.dtype is gradviz.float64


@props
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3))
def test_permute_and_reshape_round_trips(data: Any, shape: tuple[int, ...]) -> None:
    a = data.draw(arrays(shape))
    order = data.draw(st.permutations(range(len(shape))))
    inverse = [0] * len(order)
    for i, d in enumerate(order):
        inverse[d] = i
    x = leaf(a)
    back = x.permute(*order).permute(*inverse)
    np.testing.assert_array_equal(back.detach().numpy(), a)
    flat = x.permute(*order).reshape(-1).reshape([shape[d] for d in order]).permute(*inverse)
    np.testing.assert_array_equal(flat.detach().numpy(), a)
    g = data.draw(arrays(shape))
    (back * 1 + flat).backward(gradviz.tensor(g, dtype=gradviz.float64))
    np.testing.assert_allclose(x.grad.numpy(), 2 * g)


@props
@given(
    st.data(), hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=3)
)
def test_broadcast_backward_sums_over_broadcast_dims(data: Any, bshapes: Any) -> None:
    (in_shape,) = bshapes.input_shapes
    target = data.draw(
        hnp.broadcastable_shapes(in_shape, min_dims=len(in_shape), max_dims=4, max_side=3)
    )
    out_shape = np.broadcast_shapes(in_shape, target)
    a = data.draw(arrays(in_shape))
    g = data.draw(arrays(out_shape))
    x = leaf(a)
    x.expand(*out_shape).backward(gradviz.tensor(g, dtype=gradviz.float64))
    lead = len(out_shape) - len(in_shape)
    expected = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(in_shape) if s == 1 and expected.shape[i] != 1)
    if axes:
        expected = expected.sum(axis=axes, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected.reshape(in_shape), rtol=1e-12, atol=1e-12)


@props
@given(st.data(), shapes, st.integers(1, 3))
def test_backward_repeated_with_retain_graph_multiplies_the_grad(
    data: Any, shape: Any, times: int
) -> None:
    a = data.draw(arrays(shape))
    x = leaf(a)
    y = (x * x + x.exp()).sum()
    y.backward(retain_graph=True)
    once = x.grad.numpy().copy()
    for _ in range(times):
        y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), once * (times + 1), rtol=1e-12)


CHAIN_OPS: dict[str, Callable[[gradviz.Tensor], gradviz.Tensor]] = {
    "exp": lambda t: t.exp(),
    "mul": lambda t: t * 1.5,
    "add": lambda t: t + 1,
    "tanh": lambda t: t.tanh(),
    "neg": lambda t: -t,
    "sum-keepdim": lambda t: t.sum(-1, keepdim=True) if t.ndim else t * 1,
    "transpose": lambda t: t.transpose(0, -1) if t.ndim else t * 1,
}


@props
@given(st.data(), shapes, st.lists(st.sampled_from(sorted(CHAIN_OPS)), min_size=1, max_size=8))
def test_each_op_creates_one_node_and_the_graph_is_a_dag(
    data: Any, shape: Any, chain: list[str]
) -> None:
    created: list[Any] = []

    def listen(event: Any) -> None:
        if isinstance(event, events.NodeCreated):
            created.append(event.node)

    x = leaf(data.draw(arrays(shape)))
    with events.subscribe(listen):
        y = x
        for op in chain:
            y = CHAIN_OPS[op](y)
    assert len(created) == len(chain)
    # Walk the graph from the output: every node reached once, ending at the leaf.
    seen: list[Any] = []
    node = y.grad_fn
    while node is not None and node.name() != "torch::autograd::AccumulateGrad":
        assert node not in seen
        seen.append(node)
        live = [f for f, _ in node.next_functions if f is not None]
        assert len(live) == 1
        node = live[0]
    assert node is not None and node.variable is x
    assert seen == created[::-1]


@props
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
def test_grad_shape_and_dtype_follow_the_input(data: Any, shape: tuple[int, ...]) -> None:
    dtype = data.draw(st.sampled_from([gradviz.float32, gradviz.float64]))
    a = data.draw(arrays(shape))
    x = gradviz.tensor(a, dtype=dtype, requires_grad=True)
    other = gradviz.tensor(
        a, dtype=gradviz.float64 if dtype is gradviz.float32 else gradviz.float32
    )
    (x * other).sum().backward()
    assert x.grad.shape == x.shape
    assert x.grad.dtype is dtype
