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
