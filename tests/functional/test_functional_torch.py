"""Differential tests of ``gradviz.nn.functional`` against ``torch.nn.functional`` (2.13).

Each case runs the same function on the same float64 inputs in both libraries and
compares, in order, the output's shape, dtype and values, then the gradients of every
floating input after a backward pass with the same random upstream gradient.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gradviz
from gradviz.engine.ops import nn as _nn
from tests.helpers.oracle import require_torch

GF = importlib.import_module("gradviz.nn.functional")

# (kind, shape[, extra]) input specs: "f" normal floats that require grad, "c" normal floats
# that do not, "i" integer classes below extra, "p" values in (0.05, 0.95) that require
# grad, "pc" the same without grad, "pos" positive floats that require grad.
Spec = tuple[Any, ...]


def _make(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    kind, shape = spec[0], spec[1]
    if kind in ("f", "c"):
        return rng.standard_normal(shape)
    if kind == "i":
        return rng.integers(0, spec[2], size=shape).astype(np.int64)
    if kind in ("p", "pc"):
        return rng.uniform(0.05, 0.95, size=shape)
    if kind == "pos":
        return rng.uniform(0.5, 2.0, size=shape)
    raise ValueError(kind)


def _wants_grad(spec: Spec) -> bool:
    return spec[0] in ("f", "p", "pos")


def run_both(
    torch: Any,
    fn: Callable[..., Any],
    specs: list[Spec],
    *,
    seed: int = 0,
    atol: float = 1e-9,
    rtol: float = 1e-7,
    dtype: str = "float64",
    grads: bool = True,
) -> tuple[Any, Any]:
    """Run ``fn(f, *inputs)`` in torch and gradviz; compare outputs and input gradients."""
    rng = np.random.default_rng(seed)
    arrays = [_make(s, rng) for s in specs]
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    t_in = [
        torch.tensor(a, requires_grad=_wants_grad(s)) for a, s in zip(arrays, specs, strict=True)
    ]
    g_in = [
        gradviz.tensor(a, requires_grad=_wants_grad(s)) for a, s in zip(arrays, specs, strict=True)
    ]
    t_out = fn(torch.nn.functional, *t_in)
    g_out = fn(GF, *g_in)
    t_first = t_out[0] if isinstance(t_out, tuple) else t_out
    g_first = g_out[0] if isinstance(g_out, tuple) else g_out
    assert tuple(g_first.shape) == tuple(t_first.shape)
    assert g_first.dtype.name == str(t_first.dtype).split(".")[-1]
    np.testing.assert_allclose(
        g_first.detach().numpy(), t_first.detach().numpy(), rtol=rtol, atol=atol
    )
    if grads and t_first.requires_grad:
        assert g_first.requires_grad
        upstream = rng.standard_normal(tuple(t_first.shape)).astype(dtype)
        (t_first * torch.tensor(upstream)).sum().backward()
        (g_first * gradviz.tensor(upstream)).sum().backward()
        for i, (t, g) in enumerate(zip(t_in, g_in, strict=True)):
            if not t.requires_grad:
                continue
            if t.grad is None:
                assert g.grad is None or not np.any(g.grad.numpy()), f"input {i}"
                continue
            assert g.grad is not None, f"input {i} got no gradient"
            np.testing.assert_allclose(
                g.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"input {i}"
            )
    return t_out, g_out


G, C, P = "f", "c", "p"

CASES: list[tuple[str, Callable[..., Any], list[Spec]]] = [
    # linear layers
    ("linear 2d bias", lambda f, x, w, b: f.linear(x, w, b), [(G, (3, 4)), (G, (5, 4)), (G, (5,))]),
    ("linear 2d", lambda f, x, w: f.linear(x, w), [(G, (3, 4)), (G, (5, 4))]),
    ("linear 1d bias", lambda f, x, w, b: f.linear(x, w, b), [(G, (4,)), (G, (5, 4)), (G, (5,))]),
    ("linear 1d", lambda f, x, w: f.linear(x, w), [(G, (4,)), (G, (5, 4))]),
    (
        "linear 3d bias",
        lambda f, x, w, b: f.linear(x, w, b),
        [(G, (2, 3, 4)), (G, (5, 4)), (G, (5,))],
    ),
    ("linear 3d", lambda f, x, w: f.linear(x, w), [(G, (2, 3, 4)), (G, (5, 4))]),
    (
        "bilinear",
        lambda f, a, b, w, c: f.bilinear(a, b, w, c),
        [(G, (3, 4)), (G, (3, 5)), (G, (2, 4, 5)), (G, (2,))],
    ),
    (
        "bilinear 3d",
        lambda f, a, b, w: f.bilinear(a, b, w),
        [(G, (2, 3, 4)), (G, (2, 3, 5)), (G, (6, 4, 5))],
    ),
    # activations
    ("relu", lambda f, x: f.relu(x), [(G, (3, 4))]),
    ("relu inplace", lambda f, x: f.relu(x * 1, inplace=True), [(G, (3, 4))]),
    ("relu6", lambda f, x: f.relu6(x * 4), [(G, (3, 4))]),
    ("relu6 inplace", lambda f, x: f.relu6(x * 4, inplace=True), [(G, (3, 4))]),
    ("hardtanh", lambda f, x: f.hardtanh(x * 2, -0.5, 1.5), [(G, (3, 4))]),
    ("leaky_relu", lambda f, x: f.leaky_relu(x, 0.2), [(G, (3, 4))]),
    ("leaky_relu inplace", lambda f, x: f.leaky_relu(x * 1, 0.2, inplace=True), [(G, (3, 4))]),
    ("gelu", lambda f, x: f.gelu(x), [(G, (3, 4))]),
    ("gelu tanh", lambda f, x: f.gelu(x, approximate="tanh"), [(G, (3, 4))]),
    ("silu", lambda f, x: f.silu(x), [(G, (3, 4))]),
    ("silu inplace", lambda f, x: f.silu(x * 1, inplace=True), [(G, (3, 4))]),
    ("elu", lambda f, x: f.elu(x, alpha=0.7), [(G, (3, 4))]),
    ("elu inplace", lambda f, x: f.elu(x * 1, 0.7, inplace=True), [(G, (3, 4))]),
    ("softplus", lambda f, x: f.softplus(x * 5, beta=2.0, threshold=5.0), [(G, (3, 4))]),
    ("sigmoid", lambda f, x: f.sigmoid(x), [(G, (3, 4))]),
    ("tanh", lambda f, x: f.tanh(x), [(G, (3, 4))]),
    ("softmax dim0", lambda f, x: f.softmax(x, 0), [(G, (3, 4))]),
    ("softmax dim-1", lambda f, x: f.softmax(x, dim=-1), [(G, (2, 3, 4))]),
    ("log_softmax", lambda f, x: f.log_softmax(x, 1), [(G, (3, 4))]),
    ("log_softmax dtype", lambda f, x: f.log_softmax(x * 1, 1, dtype=x.dtype), [(G, (3, 4))]),
    # convolution
    ("conv1d", lambda f, x, w, b: f.conv1d(x, w, b), [(G, (2, 3, 10)), (G, (4, 3, 3)), (G, (4,))]),
    (
        "conv1d stride pad dilation",
        lambda f, x, w: f.conv1d(x, w, stride=2, padding=2, dilation=2),
        [(G, (2, 3, 11)), (G, (4, 3, 3))],
    ),
    ("conv1d groups", lambda f, x, w: f.conv1d(x, w, groups=2), [(G, (2, 4, 7)), (G, (6, 2, 2))]),
    ("conv1d unbatched", lambda f, x, w: f.conv1d(x, w), [(G, (3, 10)), (G, (4, 3, 3))]),
    (
        "conv2d",
        lambda f, x, w, b: f.conv2d(x, w, b),
        [(G, (2, 3, 6, 6)), (G, (4, 3, 3, 3)), (G, (4,))],
    ),
    (
        "conv2d stride padding",
        lambda f, x, w, b: f.conv2d(x, w, b, stride=2, padding=1),
        [(G, (2, 3, 7, 6)), (G, (4, 3, 3, 3)), (G, (4,))],
    ),
    (
        "conv2d asymmetric",
        lambda f, x, w: f.conv2d(x, w, stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
        [(G, (1, 2, 6, 7)), (G, (3, 2, 2, 3))],
    ),
    (
        "conv2d groups",
        lambda f, x, w, b: f.conv2d(x, w, b, padding=1, groups=2),
        [(G, (2, 4, 5, 5)), (G, (6, 2, 3, 3)), (G, (6,))],
    ),
    (
        "conv2d depthwise",
        lambda f, x, w: f.conv2d(x, w, groups=3),
        [(G, (1, 3, 5, 5)), (G, (3, 1, 3, 3))],
    ),
    (
        "conv2d same odd",
        lambda f, x, w: f.conv2d(x, w, padding="same"),
        [(G, (1, 2, 5, 6)), (G, (3, 2, 3, 3))],
    ),
    (
        "conv2d valid",
        lambda f, x, w: f.conv2d(x, w, padding="valid"),
        [(G, (1, 2, 5, 6)), (G, (3, 2, 3, 3))],
    ),
    ("conv2d unbatched", lambda f, x, w: f.conv2d(x, w), [(G, (2, 5, 5)), (G, (3, 2, 2, 2))]),
    (
        "conv2d input const",
        lambda f, x, w, b: f.conv2d(x, w, b),
        [(C, (2, 3, 5, 5)), (G, (4, 3, 3, 3)), (G, (4,))],
    ),
    (
        "conv3d",
        lambda f, x, w: f.conv3d(x, w, padding=1),
        [(G, (1, 2, 4, 4, 3)), (G, (2, 2, 2, 3, 2))],
    ),
    # pooling
    ("max_pool2d k2", lambda f, x: f.max_pool2d(x, 2), [(G, (2, 3, 6, 6))]),
    (
        "max_pool2d k3 s2 p1",
        lambda f, x: f.max_pool2d(x, 3, stride=2, padding=1),
        [(G, (2, 3, 7, 6))],
    ),
    ("max_pool2d overlap", lambda f, x: f.max_pool2d(x, 3, stride=1), [(G, (1, 2, 5, 5))]),
    ("max_pool2d dilation", lambda f, x: f.max_pool2d(x, 2, dilation=2), [(G, (1, 2, 7, 7))]),
    ("max_pool2d ceil", lambda f, x: f.max_pool2d(x, 2, ceil_mode=True), [(G, (1, 2, 5, 7))]),
    (
        "max_pool2d ceil pad",
        lambda f, x: f.max_pool2d(x, 3, 2, 1, ceil_mode=True),
        [(G, (1, 2, 6, 6))],
    ),
    ("max_pool2d rect", lambda f, x: f.max_pool2d(x, (2, 3), (1, 2)), [(G, (1, 2, 5, 7))]),
    ("max_pool2d unbatched", lambda f, x: f.max_pool2d(x, 2), [(G, (3, 4, 4))]),
    ("avg_pool2d k2", lambda f, x: f.avg_pool2d(x, 2), [(G, (2, 3, 6, 6))]),
    ("avg_pool2d k3 s2 p1", lambda f, x: f.avg_pool2d(x, 3, 2, 1), [(G, (2, 3, 7, 6))]),
    (
        "avg_pool2d exclude pad",
        lambda f, x: f.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        [(G, (1, 2, 7, 6))],
    ),
    ("avg_pool2d ceil", lambda f, x: f.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [(G, (1, 2, 6, 6))]),
    (
        "avg_pool2d ceil exclude",
        lambda f, x: f.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False),
        [(G, (1, 2, 5, 6))],
    ),
    (
        "avg_pool2d divisor",
        lambda f, x: f.avg_pool2d(x, 2, divisor_override=3),
        [(G, (1, 2, 4, 6))],
    ),
    ("avg_pool2d unbatched", lambda f, x: f.avg_pool2d(x, (2, 3)), [(G, (3, 4, 6))]),
    ("adaptive 1", lambda f, x: f.adaptive_avg_pool2d(x, 1), [(G, (2, 3, 5, 5))]),
    ("adaptive 3 of 8", lambda f, x: f.adaptive_avg_pool2d(x, 3), [(G, (2, 3, 8, 8))]),
    ("adaptive (5, 3)", lambda f, x: f.adaptive_avg_pool2d(x, (5, 3)), [(G, (1, 2, 7, 5))]),
    ("adaptive (None, 2)", lambda f, x: f.adaptive_avg_pool2d(x, (None, 2)), [(G, (1, 2, 3, 5))]),
    ("adaptive upsample", lambda f, x: f.adaptive_avg_pool2d(x, (4, 6)), [(G, (3, 3, 4))]),
    # normalisation
    ("layer_norm", lambda f, x: f.layer_norm(x, (4,)), [(G, (3, 4))]),
    (
        "layer_norm affine",
        lambda f, x, w, b: f.layer_norm(x, (3, 4), w, b, eps=1e-3),
        [(G, (2, 3, 4)), (G, (3, 4)), (G, (3, 4))],
    ),
    (
        "layer_norm weight only",
        lambda f, x, w: f.layer_norm(x, [4], w),
        [(G, (2, 3, 4)), (G, (4,))],
    ),
    (
        "batch_norm train 2d",
        lambda f, x, w, b: f.batch_norm(x, None, None, w, b, training=True),
        [(G, (5, 4)), (G, (4,)), (G, (4,))],
    ),
    (
        "batch_norm train 4d",
        lambda f, x, w, b: f.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
        [(G, (2, 3, 4, 4)), (G, (3,)), (G, (3,))],
    ),
    (
        "batch_norm eval",
        lambda f, x, m, v, w, b: f.batch_norm(x, m, v.abs() + 0.5, w, b),
        [(G, (2, 3, 4)), (C, (3,)), (C, (3,)), (G, (3,)), (G, (3,))],
    ),
    (
        "batch_norm no affine",
        lambda f, x: f.batch_norm(x, None, None, training=True),
        [(G, (6, 2))],
    ),
    # embedding, padding, similarity
    ("embedding", lambda f, i, w: f.embedding(i, w), [("i", (2, 3), 6), (G, (6, 4))]),
    (
        "embedding padding_idx",
        lambda f, i, w: f.embedding(i, w, padding_idx=2),
        [("i", (4, 5), 4), (G, (4, 3))],
    ),
    (
        "embedding neg padding_idx",
        lambda f, i, w: f.embedding(i, w, padding_idx=-1),
        [("i", (9,), 4), (G, (4, 3))],
    ),
    (
        "embedding scale_grad_by_freq",
        lambda f, i, w: f.embedding(i, w, scale_grad_by_freq=True),
        [("i", (10,), 3), (G, (3, 2))],
    ),
    ("pad constant", lambda f, x: f.pad(x, (1, 2, 0, 1)), [(G, (2, 3, 4))]),
    ("pad constant value", lambda f, x: f.pad(x, (2, 1), value=3.5), [(G, (2, 3))]),
    ("pad constant negative", lambda f, x: f.pad(x, (-1, 2, 1, -2)), [(G, (2, 5, 4))]),
    ("pad reflect 1d", lambda f, x: f.pad(x, (2, 3), mode="reflect"), [(G, (2, 3, 5))]),
    ("pad reflect 2d-input", lambda f, x: f.pad(x, (1, 2), mode="reflect"), [(G, (3, 5))]),
    ("pad reflect 2d", lambda f, x: f.pad(x, (1, 2, 2, 1), mode="reflect"), [(G, (1, 2, 4, 5))]),
    (
        "pad reflect 3d",
        lambda f, x: f.pad(x, (1, 1, 2, 0, 1, 2), mode="reflect"),
        [(G, (1, 1, 3, 4, 5))],
    ),
    ("pad reflect negative", lambda f, x: f.pad(x, (-1, 2), mode="reflect"), [(G, (2, 3, 5))]),
    ("pad replicate 1d", lambda f, x: f.pad(x, (3, 1), mode="replicate"), [(G, (2, 3, 4))]),
    (
        "pad replicate 2d",
        lambda f, x: f.pad(x, (1, 2, 0, 3), mode="replicate"),
        [(G, (1, 2, 3, 4))],
    ),
    ("pad replicate large", lambda f, x: f.pad(x, (6, 1), mode="replicate"), [(G, (2, 3))]),
    ("pad circular 1d", lambda f, x: f.pad(x, (1, 2), mode="circular"), [(G, (2, 3, 5))]),
    ("pad circular 2d", lambda f, x: f.pad(x, (1, 2, 2, 1), mode="circular"), [(G, (1, 2, 3, 4))]),
    ("normalize", lambda f, x: f.normalize(x), [(G, (3, 4))]),
    ("normalize p1 dim0", lambda f, x: f.normalize(x, p=1, dim=0), [(G, (3, 4))]),
    ("cosine_similarity", lambda f, a, b: f.cosine_similarity(a, b), [(G, (3, 4)), (G, (3, 4))]),
    (
        "cosine_similarity broadcast",
        lambda f, a, b: f.cosine_similarity(a, b, dim=-1, eps=1e-6),
        [(G, (2, 3, 4)), (G, (1, 4))],
    ),
    # classification losses
    ("cross_entropy", lambda f, x, t: f.cross_entropy(x, t), [(G, (5, 4)), ("i", (5,), 4)]),
    (
        "cross_entropy sum",
        lambda f, x, t: f.cross_entropy(x, t, reduction="sum"),
        [(G, (5, 4)), ("i", (5,), 4)],
    ),
    (
        "cross_entropy none",
        lambda f, x, t: f.cross_entropy(x, t, reduction="none"),
        [(G, (5, 4)), ("i", (5,), 4)],
    ),
    (
        "cross_entropy weight",
        lambda f, x, t, w: f.cross_entropy(x, t, weight=w.abs()),
        [(G, (5, 4)), ("i", (5,), 4), (C, (4,))],
    ),
    (
        "cross_entropy ignore_index",
        lambda f, x, t: f.cross_entropy(x, t, ignore_index=1),
        [(G, (8, 3)), ("i", (8,), 3)],
    ),
    (
        "cross_entropy label_smoothing",
        lambda f, x, t: f.cross_entropy(x, t, label_smoothing=0.2),
        [(G, (5, 4)), ("i", (5,), 4)],
    ),
    (
        "cross_entropy ls weight ignore",
        lambda f, x, t, w: f.cross_entropy(x, t, w.abs(), ignore_index=0, label_smoothing=0.1),
        [(G, (6, 3)), ("i", (6,), 3), (C, (3,))],
    ),
    (
        "cross_entropy ls none",
        lambda f, x, t: f.cross_entropy(x, t, reduction="none", label_smoothing=0.3),
        [(G, (5, 4)), ("i", (5,), 4)],
    ),
    (
        "cross_entropy ls sum 4d",
        lambda f, x, t: f.cross_entropy(x, t, reduction="sum", label_smoothing=0.3),
        [(G, (2, 3, 2, 2)), ("i", (2, 2, 2), 3)],
    ),
    ("cross_entropy 1d", lambda f, x, t: f.cross_entropy(x, t[0]), [(G, (4,)), ("i", (1,), 4)]),
    (
        "cross_entropy 4d",
        lambda f, x, t: f.cross_entropy(x, t),
        [(G, (2, 3, 2, 3)), ("i", (2, 2, 3), 3)],
    ),
    (
        "cross_entropy 3d none",
        lambda f, x, t: f.cross_entropy(x, t, reduction="none"),
        [(G, (2, 3, 5)), ("i", (2, 5), 3)],
    ),
    (
        "cross_entropy probs",
        lambda f, x, t: f.cross_entropy(x, t.softmax(1)),
        [(G, (3, 4)), (C, (3, 4))],
    ),
    (
        "cross_entropy probs ls weight",
        lambda f, x, t, w: f.cross_entropy(x, t.softmax(1), w.abs(), label_smoothing=0.1),
        [(G, (3, 4)), (C, (3, 4)), (C, (4,))],
    ),
    (
        "cross_entropy probs none",
        lambda f, x, t: f.cross_entropy(x, t.softmax(1), reduction="none"),
        [(G, (3, 4)), (G, (3, 4))],
    ),
    ("nll_loss", lambda f, x, t: f.nll_loss(x, t), [(G, (5, 4)), ("i", (5,), 4)]),
    (
        "nll_loss weight ignore sum",
        lambda f, x, t, w: f.nll_loss(x, t, w.abs(), ignore_index=2, reduction="sum"),
        [(G, (7, 4)), ("i", (7,), 4), (C, (4,))],
    ),
    (
        "nll_loss 3d none",
        lambda f, x, t: f.nll_loss(x, t, reduction="none"),
        [(G, (2, 3, 5)), ("i", (2, 5), 3)],
    ),
    ("nll_loss 4d", lambda f, x, t: f.nll_loss(x, t), [(G, (2, 3, 2, 2)), ("i", (2, 2, 2), 3)]),
    (
        "nll_loss 5d",
        lambda f, x, t: f.nll_loss(x, t),
        [(G, (2, 3, 2, 2, 2)), ("i", (2, 2, 2, 2), 3)],
    ),
    ("nll_loss 1d", lambda f, x, t: f.nll_loss(x, t[0]), [(G, (4,)), ("i", (1,), 4)]),
    ("bce", lambda f, x, t: f.binary_cross_entropy(x, t), [(P, (3, 4)), (P, (3, 4))]),
    (
        "bce weight sum",
        lambda f, x, t, w: f.binary_cross_entropy(x, t, w, reduction="sum"),
        [(P, (3, 4)), (P, (3, 4)), (C, (4,))],
    ),
    (
        "bce none",
        lambda f, x, t: f.binary_cross_entropy(x, t, reduction="none"),
        [(P, (3, 4)), ("pc", (3, 4))],
    ),
    (
        "bce logits",
        lambda f, x, t: f.binary_cross_entropy_with_logits(x, t),
        [(G, (3, 4)), (P, (3, 4))],
    ),
    (
        "bce logits pos_weight",
        lambda f, x, t, pw: f.binary_cross_entropy_with_logits(x * 3, t, pos_weight=pw.abs()),
        [(G, (3, 4)), (P, (3, 4)), (C, (4,))],
    ),
    (
        "bce logits weight none",
        lambda f, x, t, w, pw: f.binary_cross_entropy_with_logits(
            x, t, w, reduction="none", pos_weight=pw.abs()
        ),
        [(G, (3, 4)), (P, (3, 4)), (C, (3, 1)), (C, (4,))],
    ),
    # regression losses
    ("mse_loss", lambda f, a, b: f.mse_loss(a, b), [(G, (3, 4)), (G, (3, 4))]),
    ("mse_loss sum", lambda f, a, b: f.mse_loss(a, b, reduction="sum"), [(G, (3, 4)), (C, (3, 4))]),
    (
        "mse_loss none",
        lambda f, a, b: f.mse_loss(a, b, reduction="none"),
        [(G, (3, 4)), (G, (3, 4))],
    ),
    (
        "mse_loss weight",
        lambda f, a, b, w: f.mse_loss(a, b, weight=w.abs()),
        [(G, (3, 4)), (G, (3, 4)), (C, (3, 4))],
    ),
    ("l1_loss", lambda f, a, b: f.l1_loss(a, b), [(G, (3, 4)), (G, (3, 4))]),
    ("l1_loss none", lambda f, a, b: f.l1_loss(a, b, reduction="none"), [(G, (3, 4)), (C, (3, 4))]),
    (
        "l1_loss weight sum",
        lambda f, a, b, w: f.l1_loss(a, b, reduction="sum", weight=w),
        [(G, (3, 4)), (G, (3, 4)), (C, (3, 4))],
    ),
    ("smooth_l1", lambda f, a, b: f.smooth_l1_loss(a, b), [(G, (4, 5)), (G, (4, 5))]),
    (
        "smooth_l1 beta",
        lambda f, a, b: f.smooth_l1_loss(a, b, beta=0.5, reduction="sum"),
        [(G, (4, 5)), (G, (4, 5))],
    ),
    (
        "smooth_l1 beta0",
        lambda f, a, b: f.smooth_l1_loss(a, b, beta=0.0),
        [(G, (4, 5)), (C, (4, 5))],
    ),
    ("huber", lambda f, a, b: f.huber_loss(a, b), [(G, (4, 5)), (G, (4, 5))]),
    (
        "huber delta none",
        lambda f, a, b: f.huber_loss(a, b, reduction="none", delta=0.3),
        [(G, (4, 5)), (G, (4, 5))],
    ),
    (
        "huber weight",
        lambda f, a, b, w: f.huber_loss(a, b, delta=0.5, weight=w.abs()),
        [(G, (4, 5)), (G, (4, 5)), (C, (4, 5))],
    ),
    (
        "kl_div batchmean",
        lambda f, x, t: f.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean"),
        [(G, (3, 4)), (G, (3, 4))],
    ),
    ("kl_div sum", lambda f, x, t: f.kl_div(x, t, reduction="sum"), [(G, (3, 4)), (P, (3, 4))]),
    ("kl_div none", lambda f, x, t: f.kl_div(x, t, reduction="none"), [(G, (3, 4)), (P, (3, 4))]),
    (
        "kl_div log_target",
        lambda f, x, t: f.kl_div(x, t, reduction="batchmean", log_target=True),
        [(G, (3, 4)), (G, (3, 4))],
    ),
    (
        "kl_div zero target",
        lambda f, x, t: f.kl_div(x, f.relu(t), reduction="sum"),
        [(G, (3, 4)), (C, (3, 4))],
    ),
]


@pytest.mark.parametrize(("name", "fn", "specs"), CASES, ids=[c[0] for c in CASES])
def test_matches_torch(torch: Any, name: str, fn: Callable[..., Any], specs: list[Spec]) -> None:
    run_both(torch, fn, specs)


FLOAT32_CASES = [
    c
    for c in CASES
    if c[0]
    in {
        "linear 3d bias",
        "conv2d groups",
        "max_pool2d k3 s2 p1",
        "avg_pool2d k3 s2 p1",
        "layer_norm affine",
        "batch_norm train 4d",
        "cross_entropy",
        "bce logits pos_weight",
        "mse_loss",
        "embedding padding_idx",
    }
]


@pytest.mark.parametrize(("name", "fn", "specs"), FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
def test_matches_torch_float32(
    torch: Any, name: str, fn: Callable[..., Any], specs: list[Spec]
) -> None:
    run_both(torch, fn, specs, dtype="float32", atol=2e-5, rtol=1e-4)


def test_max_pool2d_indices_match(torch: Any) -> None:
    t_out, g_out = run_both(
        torch,
        lambda f, x: f.max_pool2d(x, 3, 2, 1, dilation=1, return_indices=True),
        [(G, (2, 3, 7, 8))],
    )
    assert g_out[1].dtype.name == "int64"
    np.testing.assert_array_equal(g_out[1].numpy(), t_out[1].numpy())


def test_max_pool2d_ties_take_the_first(torch: Any) -> None:
    x = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    tx = torch.tensor(x, requires_grad=True)
    gx = gradviz.tensor(x, requires_grad=True)
    t_out, t_idx = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    g_out, g_idx = GF.max_pool2d(gx, 2, return_indices=True)
    assert g_idx.tolist() == t_idx.tolist()
    t_out.sum().backward()
    g_out.sum().backward()
    np.testing.assert_array_equal(gx.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_updates_running_stats_like_torch(torch: Any, momentum: float) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 2, 2))
    t_mean, t_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    g_mean, g_var = gradviz.zeros(3, dtype=gradviz.float64), gradviz.ones(3, dtype=gradviz.float64)
    for _ in range(3):
        torch.nn.functional.batch_norm(
            torch.tensor(x), t_mean, t_var, training=True, momentum=momentum
        )
        GF.batch_norm(gradviz.tensor(x), g_mean, g_var, training=True, momentum=momentum)
        x = x * 1.5 + 0.25
    np.testing.assert_allclose(g_mean.numpy(), t_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_var.numpy(), t_var.numpy(), rtol=1e-12)
    assert g_mean._version == 3 and g_var._version == 3


def test_batch_norm_eval_leaves_running_stats(torch: Any) -> None:
    mean, var = gradviz.zeros(3), gradviz.ones(3)
    GF.batch_norm(gradviz.randn(4, 3), mean, var, training=False)
    assert mean.tolist() == [0.0, 0.0, 0.0] and mean._version == 0


def test_embedding_max_norm_renormalises_weight_like_torch(torch: Any) -> None:
    rng = np.random.default_rng(4)
    w = rng.standard_normal((5, 3)) * 3
    idx = np.array([[0, 2], [2, 4]])
    tw, gw = torch.tensor(w, requires_grad=True), gradviz.tensor(w, requires_grad=True)
    t_out = torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=1.5)
    g_out = GF.embedding(gradviz.tensor(idx), gw, max_norm=1.5)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.detach().numpy(), tw.detach().numpy(), rtol=1e-12)
    assert gw._version == 1


def test_one_hot_matches_torch(torch: Any) -> None:
    t = torch.nn.functional.one_hot(torch.tensor([[0, 2], [3, 1]]))
    g = GF.one_hot(gradviz.tensor([[0, 2], [3, 1]]))
    assert g.dtype.name == "int64" and g.tolist() == t.tolist()
    assert GF.one_hot(gradviz.tensor([1]), 4).tolist() == [[0, 1, 0, 0]]


@pytest.mark.parametrize(
    "fn",
    [
        lambda f, a, b: f.mse_loss(a, b),
        lambda f, a, b: f.l1_loss(a, b, reduction="sum"),
        lambda f, a, b: f.huber_loss(a, b),
        lambda f, a, b: f.smooth_l1_loss(a, b, beta=0.5),
    ],
    ids=["mse", "l1", "huber", "smooth_l1"],
)
def test_regression_losses_broadcast_with_pytorchs_warning(
    torch: Any, fn: Callable[..., Any]
) -> None:
    with pytest.warns(
        UserWarning, match=r"Using a target size \(torch.Size\(\[3, 4\]\)\) that is different"
    ):
        run_both(torch, fn, [(G, (3, 1)), (G, (3, 4))])


def test_kl_div_mean_warns_and_matches(torch: Any) -> None:
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        run_both(torch, lambda f, x, t: f.kl_div(x, t), [(G, (3, 4)), (P, (3, 4))])


def test_softmax_without_dim_warns_and_matches(torch: Any) -> None:
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        run_both(torch, lambda f, x: f.softmax(x), [(G, (2, 3, 4))])


def test_legacy_reduction_flags(torch: Any) -> None:
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        run_both(
            torch, lambda f, a, b: f.mse_loss(a, b, size_average=False), [(G, (3, 4)), (G, (3, 4))]
        )


def test_conv2d_same_even_kernel_pads_like_torch(torch: Any) -> None:
    with pytest.warns(UserWarning, match="padding='same' with even kernel lengths"):
        run_both(
            torch,
            lambda f, x, w: f.conv2d(x, w, padding="same", dilation=(1, 2)),
            [(G, (1, 2, 5, 6)), (G, (3, 2, 2, 2))],
        )


def test_dropout_identities(torch: Any) -> None:
    x = gradviz.randn(3, 4, requires_grad=True)
    assert GF.dropout(x, 0.5, training=False) is x
    assert GF.dropout(x, 0.0) is x
    zeroed = GF.dropout(x, 1.0)
    assert zeroed.grad_fn.name() == "MulBackward0" and not np.any(zeroed.detach().numpy())


def test_dropout_scales_kept_elements_and_gradients() -> None:
    gradviz.manual_seed(0)
    x = gradviz.ones(200, 50, dtype=gradviz.float64, requires_grad=True)
    y = GF.dropout(x, 0.3)
    values = np.unique(y.detach().numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.7])
    kept = np.mean(y.detach().numpy() != 0)
    assert abs(kept - 0.7) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_dropout_inplace_multiplies_the_input() -> None:
    x = gradviz.ones(4, 5)
    out = GF.dropout(x, 0.5, inplace=True)
    assert out is x and x._version == 1
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


def test_reference_node_names_for_functional_calls(torch: Any) -> None:
    def names(fn: Any) -> str:
        if fn is None:
            return "None"
        n = fn.name().replace("torch::autograd::", "")
        children = [names(f) for f, _ in fn.next_functions]
        return f"{n}({', '.join(children)})" if children else n

    programs: list[Callable[..., Any]] = [
        lambda f, x, w: f.conv2d(x, w, padding="same"),
        lambda f, x, w: f.linear(x[0, 0], x[0, 1], x[1, 0, 0]),
        lambda f, x, w: f.max_pool2d(x, 2),
        lambda f, x, w: f.avg_pool2d(x, 2),
        lambda f, x, w: f.adaptive_avg_pool2d(x, 3),
        lambda f, x, w: f.pad(x, (1, 1, 1, 1), mode="reflect"),
        lambda f, x, w: f.pad(x[0], (1, 1), mode="replicate"),
        lambda f, x, w: f.nll_loss(f.log_softmax(x, 1), (x[:, 0] > 0).long()),
        lambda f, x, w: f.cross_entropy(x, (x[:, 0] > 0).long(), reduction="none"),
        lambda f, x, w: f.cosine_similarity(x, w[:1, :, :1, :1]),
        lambda f, x, w: f.normalize(x),
        lambda f, x, w: f.kl_div(x, x, reduction="batchmean"),
        lambda f, x, w: f.bilinear(x[0, 0], x[0, 1], x[1, :, :, :]),
        lambda f, x, w: f.relu6(x * 1, inplace=True),
        lambda f, x, w: f.leaky_relu(x * 1, inplace=True),
        lambda f, x, w: f.elu(x * 1, inplace=True),
        lambda f, x, w: f.layer_norm(x, (5, 5)),
        lambda f, x, w: f.smooth_l1_loss(x, w[:1, :1, :1, :1].expand(2, 3, 5, 5)),
        lambda f, x, w: f.huber_loss(x, x * 2),
        lambda f, x, w: f.binary_cross_entropy(x.sigmoid(), x.sigmoid()),
    ]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((3, 3, 2, 2))
    for program in programs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = program(
                torch.nn.functional,
                torch.tensor(x, requires_grad=True),
                torch.tensor(w, requires_grad=True),
            )
            g = program(
                GF, gradviz.tensor(x, requires_grad=True), gradviz.tensor(w, requires_grad=True)
            )
        assert names(g.grad_fn) == names(t.grad_fn)
        assert tuple(g.shape) == tuple(t.shape)


DOUBLE_BACKWARD: list[tuple[str, Callable[..., Any], list[Spec]]] = [
    (
        "conv2d",
        lambda f, x, w: f.conv2d(x, w, stride=2, padding=1, groups=2),
        [(G, (1, 4, 5, 5)), (G, (2, 2, 3, 3))],
    ),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 3, 2, 1) ** 2, [(G, (1, 2, 5, 5))]),
    ("avg_pool2d", lambda f, x: f.avg_pool2d(x, 3, 2, 1, ceil_mode=True) ** 2, [(G, (1, 2, 6, 6))]),
    ("layer_norm", lambda f, x, w: f.layer_norm(x, [4], w), [(G, (3, 4)), (G, (4,))]),
    (
        "batch_norm",
        lambda f, x, w: f.batch_norm(x, None, None, w, training=True),
        [(G, (4, 3)), (G, (3,))],
    ),
    (
        "embedding padding scale",
        lambda f, w: (
            f.embedding(
                w.new_tensor([[0, 2, 2], [1, 2, 0]]).long(),
                w,
                padding_idx=0,
                scale_grad_by_freq=True,
            )
            ** 2
        ),
        [(G, (4, 3))],
    ),
    (
        "cross_entropy",
        lambda f, x: f.cross_entropy(x, (x[:, 0] > 0).long(), label_smoothing=0.1),
        [(G, (5, 3))],
    ),
    (
        "bce logits",
        lambda f, x, t, pw: f.binary_cross_entropy_with_logits(x, t, pos_weight=pw.abs()),
        [(G, (3, 4)), (P, (3, 4)), (C, (4,))],
    ),
    ("reflect", lambda f, x: f.pad(x, (2, 1), mode="reflect") ** 2, [(G, (2, 3, 4))]),
]


@pytest.mark.parametrize(
    ("name", "fn", "specs"), DOUBLE_BACKWARD, ids=[c[0] for c in DOUBLE_BACKWARD]
)
def test_double_backward_matches_torch(
    torch: Any, name: str, fn: Callable[..., Any], specs: list[Spec]
) -> None:
    """Gradients of ``sum(grad(loss) * v)``, which go through create_graph=True, match PyTorch."""
    rng = np.random.default_rng(7)
    arrays = [_make(s, rng) for s in specs]
    results = []
    for lib, functional in ((torch, torch.nn.functional), (gradviz, GF)):
        inputs = [
            lib.tensor(a, requires_grad=_wants_grad(s)) for a, s in zip(arrays, specs, strict=True)
        ]
        out = fn(functional, *inputs)
        upstream = lib.tensor(np.random.default_rng(8).standard_normal(tuple(out.shape)))
        wrt = [t for t in inputs if t.requires_grad]
        grads = lib.autograd.grad((out * upstream).sum(), wrt, create_graph=True)
        probe = sum(
            (g * lib.tensor(np.cos(np.arange(g.numel())).reshape(tuple(g.shape)))).sum()
            for g in grads
        )
        second = lib.autograd.grad(probe, wrt, allow_unused=True)
        results.append([None if s is None else s.detach().numpy() for s in second])
    for t, g in zip(*results, strict=True):
        if t is None:
            assert g is None or not np.any(g)
        else:
            np.testing.assert_allclose(g, t, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------------- random geometry

_geometry = st.fixed_dictionaries(
    {
        "size": st.tuples(st.integers(3, 7), st.integers(3, 7)),
        "kernel": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
        "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
    }
)


@settings(deadline=None)
@given(
    geometry=_geometry, groups=st.sampled_from([1, 2]), bias=st.booleans(), batch=st.integers(1, 2)
)
def test_conv2d_random_geometry_matches_torch(
    geometry: dict[str, Any], groups: int, bias: bool, batch: int
) -> None:
    torch = require_torch()
    size, kernel = geometry["size"], geometry["kernel"]
    padding, dilation = geometry["padding"], geometry["dilation"]
    assume(
        all(
            (k - 1) * d + 1 <= s + 2 * p
            for s, k, p, d in zip(size, kernel, padding, dilation, strict=True)
        )
    )
    specs: list[Spec] = [(G, (batch, 2 * groups) + size), (G, (2 * groups, 2) + kernel)]
    if bias:
        specs.append((G, (2 * groups,)))
    run_both(
        torch,
        lambda f, x, w, *b: f.conv2d(
            x, w, *b, stride=geometry["stride"], padding=padding, dilation=dilation, groups=groups
        ),
        specs,
    )


@settings(deadline=None)
@given(
    geometry=_geometry, ceil_mode=st.booleans(), include_pad=st.booleans(), use_max=st.booleans()
)
def test_pool2d_random_geometry_matches_torch(
    geometry: dict[str, Any], ceil_mode: bool, include_pad: bool, use_max: bool
) -> None:
    torch = require_torch()
    size, kernel, stride = geometry["size"], geometry["kernel"], geometry["stride"]
    dilation = geometry["dilation"] if use_max else (1, 1)
    padding = tuple(
        min(p, k // 2, ((k - 1) * d + 1) // 2)
        for p, k, d in zip(geometry["padding"], kernel, dilation, strict=True)
    )
    out = [
        _nn.pool_output_size(s, k, st_, p, d, ceil_mode)
        for s, k, st_, p, d in zip(size, kernel, stride, padding, dilation, strict=True)
    ]
    assume(min(out) >= 1)
    if use_max:
        fn = lambda f, x: f.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)  # noqa: E731
    else:
        fn = lambda f, x: f.avg_pool2d(x, kernel, stride, padding, ceil_mode, include_pad)  # noqa: E731
    run_both(torch, fn, [(G, (1, 2) + size)])
