"""``F.scaled_dot_product_attention`` against torch: values, gradients, masks, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz

rng = np.random.default_rng(0)
Q = rng.standard_normal((2, 3, 4, 8))
K = rng.standard_normal((2, 3, 5, 8))
V = rng.standard_normal((2, 3, 5, 6))
BOOL_MASK = rng.random((4, 5)) > 0.3
BOOL_MASK[1] = False  # a query that sees no key: PyTorch gives zeros, not NaN
FLOAT_MASK = rng.standard_normal((4, 5))

CALLS: dict[str, Callable[[Any, Any, Any, Any], Any]] = {
    "plain": lambda f, q, k, v: f.scaled_dot_product_attention(q, k, v),
    "3-D": lambda f, q, k, v: f.scaled_dot_product_attention(q[0], k[0], v[0]),
    "causal": lambda f, q, k, v: f.scaled_dot_product_attention(q, k, v, is_causal=True),
    "scale": lambda f, q, k, v: f.scaled_dot_product_attention(q, k, v, scale=0.3),
    "bool mask": lambda f, q, k, v: f.scaled_dot_product_attention(
        q, k, v, attn_mask=_lib(q).tensor(BOOL_MASK)
    ),
    "float mask": lambda f, q, k, v: f.scaled_dot_product_attention(
        q, k, v, attn_mask=_lib(q).tensor(FLOAT_MASK)
    ),
    "grouped query": lambda f, q, k, v: f.scaled_dot_product_attention(
        q, k[:, :1], v[:, :1], enable_gqa=True
    ),
}


def _lib(t: Any) -> Any:
    return gradviz if isinstance(t, gradviz.Tensor) else __import__("torch")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_values_gradients_and_node_match_torch(torch: Any, name: str) -> None:
    results = []
    for lib in (torch, gradviz):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in (Q, K, V))
        out = CALLS[name](lib.nn.functional, q, k, v)
        out.backward(lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape))))
        grads = [x.grad.numpy() if x.grad is not None else None for x in (q, k, v)]
        results.append((out.detach().numpy(), grads, out.grad_fn.name()))
    (want, want_grads, want_node), (got, got_grads, got_node) = results
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for g, w in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    assert got_node == want_node


ERRORS: dict[str, Callable[[Any], Any]] = {
    "mask with causal": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.ones(2, 3), lib.ones(2, 3), lib.ones(2, 3), attn_mask=lib.ones(2, 2), is_causal=True
    ),
    "mixed dtypes": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.ones(2, 3), lib.ones(2, 3, dtype=lib.float64), lib.ones(2, 3)
    ),
    "1-D": lambda lib: lib.nn.functional.scaled_dot_product_attention(
        lib.ones(3), lib.ones(3), lib.ones(3)
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(torch: Any, name: str) -> None:
    with pytest.raises(RuntimeError) as want:
        ERRORS[name](torch)
    with pytest.raises(RuntimeError) as got:
        ERRORS[name](gradviz)
    assert str(got.value) == str(want.value)


def test_gradcheck() -> None:
    q, k, v = (gradviz.tensor(a[0, 0], requires_grad=True) for a in (Q, K, V))
    assert gradviz.autograd.gradcheck(
        lambda q, k, v: gradviz.nn.functional.scaled_dot_product_attention(q, k, v),
        (q, k, v),
    )


ON_QUERY_DEVICE: dict[str, Callable[[Any, Any, Any], Any]] = {
    "causal": lambda q, k, v: gradviz.nn.functional.scaled_dot_product_attention(
        q, k, v, is_causal=True
    ),
    "bool mask": lambda q, k, v: gradviz.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=gradviz.tensor(BOOL_MASK, device=q.device)
    ),
    "float mask": lambda q, k, v: gradviz.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=gradviz.tensor(FLOAT_MASK, device=q.device)
    ),
    "grouped query": lambda q, k, v: gradviz.nn.functional.scaled_dot_product_attention(
        q, k[:, :1], v[:, :1], enable_gqa=True
    ),
}


def _run_on(device: str, name: str) -> tuple[Any, list[Any], list[Any]]:
    q, k, v = (gradviz.tensor(a, requires_grad=True, device=device) for a in (Q, K, V))
    out = ON_QUERY_DEVICE[name](q, k, v)
    out.backward(gradviz.ones_like(out))
    grads = [x.grad for x in (q, k, v) if x.grad is not None]
    devices = [out.device] + [g.device for g in grads]
    return out.detach().cpu().numpy(), [g.cpu().numpy() for g in grads], devices


@pytest.mark.parametrize("name", sorted(ON_QUERY_DEVICE))
def test_masks_are_made_on_the_query_device(name: str) -> None:
    """On the strict stand-in device (no host arrays allowed) every result stays there."""
    pytest.importorskip("array_api_strict")
    got, got_grads, devices = _run_on("strict:0", name)
    want, want_grads, _ = _run_on("cpu", name)
    assert all(d == gradviz.device("strict:0") for d in devices), devices
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert len(got_grads) == len(want_grads) == 3
    for g, w in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def _paths_to(root: Any, leaf: Any) -> list[list[str]]:
    """Every path of node names from ``root`` down to ``leaf``'s AccumulateGrad."""
    found: list[list[str]] = []
    stack = [(root, [root.name()])]
    while stack:
        node, trail = stack.pop()
        if getattr(node, "variable", None) is leaf:
            found.append(trail)
        for child, _ in node.next_functions:
            if child is not None:
                stack.append((child, [*trail, child.name()]))
    return sorted(found)


@pytest.mark.parametrize(
    "heads", [(4, 1, 1), (4, 2, 2), (4, 4, 2), (3, 3, 3)], ids=lambda h: "q{}-k{}-v{}".format(*h)
)
def test_grouped_query_key_and_value_graphs_match_torch(
    torch: Any, heads: tuple[int, int, int]
) -> None:
    """Key and value heads are repeated with ``repeat_interleave``, as PyTorch's math path.

    PyTorch repeats both once one of them has fewer heads than the query (so q4-k4-v2
    repeats the key once), and neither when all have as many. The value's whole path is
    compared; the key's from its transpose down, as PyTorch scales the key before
    ``matmul`` where gradviz scales the product.
    """
    rng = np.random.default_rng(1)
    sizes = zip(heads, (4, 5, 5), (8, 8, 6), strict=True)  # (heads, length, features)
    arrays = [rng.standard_normal((2, h, n, e)) for h, n, e in sizes]
    results = []
    for lib in (torch, gradviz):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = lib.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        key_paths = _paths_to(out.grad_fn, k)
        value_paths = _paths_to(out.grad_fn, v)
        assert len(key_paths) == len(value_paths) == 1
        key_path = key_paths[0]
        results.append((key_path[key_path.index("TransposeBackward0") :], value_paths[0]))
    assert results[1] == results[0]


@pytest.mark.parametrize("heads", [(4, 3, 3), (4, 2, 3), (6, 4, 4)], ids=str)
def test_grouped_query_heads_that_do_not_divide_are_refused_as_in_torch(
    torch: Any, heads: tuple[int, int, int]
) -> None:
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((1, h, 3, 8)) for h in heads]
    errors = []
    for lib in (torch, gradviz):
        q, k, v = (lib.tensor(a) for a in arrays)
        with pytest.raises(RuntimeError) as caught:
            lib.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        errors.append(str(caught.value))
    assert errors[1] == errors[0]
