"""``F.linear`` takes PyTorch 2.13's path for each input layout and bias: same graph, values.

ATen folds an n-D input into one ``addmm`` (``ViewBackward0(AddmmBackward0)``) only when
the input is contiguous and the bias 1-D (or 1-D besides size-1 dims) and contiguous;
otherwise it runs ``matmul`` and adds the bias in place (``AddBackward0``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz

# name -> (input shape, weight shape, bias shape, how the input is laid out, the bias's)
Layout = Callable[[Any], Any] | None
CASES: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], Layout, Layout]] = {
    "contiguous 3-D": ((3, 4, 5), (6, 5), (6,), None, None),
    "transposed 3-D": ((4, 3, 5), (6, 5), (6,), lambda x: x.transpose(0, 1), None),
    "transposed 4-D": ((3, 2, 2, 5), (6, 5), (6,), lambda x: x.transpose(0, 2), None),
    "sliced 3-D": ((3, 5, 5), (6, 5), (6,), lambda x: x[:, 1:], None),
    "expanded 3-D": ((1, 4, 5), (6, 5), (6,), lambda x: x.expand(3, 4, 5), None),
    "contiguous 3-D, bias (1, 6)": ((3, 4, 5), (6, 5), (1, 6), None, None),
    "contiguous 3-D, bias (4, 6)": ((3, 4, 5), (6, 5), (4, 6), None, None),
    "contiguous 4-D, bias (4, 6)": ((2, 3, 4, 5), (6, 5), (4, 6), None, None),
    "transposed 3-D, bias (4, 6)": ((4, 3, 5), (6, 5), (4, 6), lambda x: x.transpose(0, 1), None),
    "contiguous 3-D, 0-d bias": ((3, 4, 5), (6, 5), (), None, None),
    "contiguous 3-D, bias (1, 1)": ((3, 4, 5), (6, 5), (1, 1), None, None),
    "contiguous 3-D, strided bias": ((3, 4, 5), (6, 5), (12,), None, lambda b: b[::2]),
    "contiguous 3-D, expanded bias": ((3, 4, 5), (6, 5), (1,), None, lambda b: b.expand(6)),
    "contiguous 3-D, empty features": ((3, 4, 0), (6, 0), (6,), None, None),
    "transposed 3-D, empty features": ((4, 3, 0), (6, 0), (6,), lambda x: x.transpose(0, 1), None),
    "contiguous 3-D, 1-D weight": ((3, 4, 5), (5,), (), None, None),
    "transposed 3-D, 1-D weight": ((4, 3, 5), (5,), (), lambda x: x.transpose(0, 1), None),
    "contiguous 1-D, 1-D weight": ((5,), (5,), (), None, None),
}


def _names(node: Any) -> str:
    """The graph under ``node`` as nested node names."""
    if node is None:
        return "None"
    children = ", ".join(_names(child) for child, _ in node.next_functions)
    return f"{node.name()}({children})"


def _run(lib: Any, name: str) -> tuple[str, tuple[int, ...], np.ndarray, list[np.ndarray]]:
    x_shape, w_shape, b_shape, x_layout, b_layout = CASES[name]
    rng = np.random.default_rng(0)
    leaves = [
        lib.tensor(rng.standard_normal(s), requires_grad=True) for s in (x_shape, w_shape, b_shape)
    ]
    x, w, b = leaves
    x = x if x_layout is None else x_layout(x)
    b = b if b_layout is None else b_layout(b)
    out = lib.nn.functional.linear(x, w, b)
    seed = np.linspace(-1.0, 1.0, out.numel()).reshape(tuple(out.shape))
    out.backward(lib.tensor(seed))
    grads = [leaf.grad.numpy() for leaf in leaves]
    return _names(out.grad_fn), tuple(out.shape), out.detach().numpy(), grads


@pytest.mark.parametrize("name", list(CASES))
def test_graph_values_and_gradients_match_torch(torch: Any, name: str) -> None:
    want_graph, want_shape, want, want_grads = _run(torch, name)
    got_graph, got_shape, got, got_grads = _run(gradviz, name)
    assert got_graph == want_graph
    assert got_shape == want_shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for g, w in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_transposed_input_adds_the_bias_after_matmul() -> None:
    """The reviewer's case, spelled out: no ``addmm`` for a non-contiguous input."""
    graph = _run(gradviz, "transposed 3-D")[0]
    assert graph.startswith("AddBackward0(UnsafeViewBackward0(MmBackward0(")
    assert "AddmmBackward0" not in graph


ERRORS: dict[str, Callable[[Any], Any]] = {
    "bias of the wrong size, transposed input": lambda lib: lib.nn.functional.linear(
        lib.ones(4, 3, 5).transpose(0, 1), lib.ones(6, 5), lib.ones(7)
    ),
    "bias that widens the output": lambda lib: lib.nn.functional.linear(
        lib.ones(4, 3, 5).transpose(0, 1), lib.ones(6, 5), lib.ones(2, 1, 1, 6)
    ),
    "float bias on integer input": lambda lib: lib.nn.functional.linear(
        lib.ones(4, 3, 5, dtype=lib.int64).transpose(0, 1),
        lib.ones(6, 5, dtype=lib.int64),
        lib.ones(6),
    ),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(torch: Any, name: str) -> None:
    with pytest.raises(RuntimeError) as want:
        ERRORS[name](torch)
    with pytest.raises(RuntimeError) as got:
        ERRORS[name](gradviz)
    assert str(got.value) == str(want.value)


def test_float_bias_is_cast_to_the_output_dtype(torch: Any) -> None:
    """As PyTorch's in-place add: a float64 bias on a float32 product gives float32."""
    results = []
    for lib in (torch, gradviz):
        x = lib.ones(4, 3, 5).transpose(0, 1)
        out = lib.nn.functional.linear(x, lib.ones(6, 5), lib.ones(6, dtype=lib.float64))
        results.append((str(out.dtype).split(".")[-1], tuple(out.shape), out.numpy()))
    assert results[1][:2] == results[0][:2] == ("float32", (3, 4, 6))
    np.testing.assert_array_equal(results[1][2], results[0][2])
