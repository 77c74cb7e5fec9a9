"""More loss functions and ``rms_norm``, composed from gradviz's existing ops.

Every function follows PyTorch 2.13: the same arguments and defaults, values and gradients,
and the same exception type and wording for bad arguments. Where PyTorch itself composes
the loss from smaller ATen ops, the same ops are used here in the same order, so the traced
graph has PyTorch's node names (``ClampMinBackward0``, ``MeanBackward0``, ...). Three losses
have a fused kernel in PyTorch (``soft_margin_loss``, ``multi_margin_loss`` and
``multilabel_margin_loss``); here they are compositions, and their docstrings name the
output node that differs.

Preconditions: ``gradviz.nn.functional`` re-exports these functions from its last lines,
so this module must be imported through it (``gradviz.nn`` does): it uses
``gradviz.nn.functional`` (``_F``) only when its functions run, never at import time.
Values are checked on the host (bounds of class indices, negative variances), which moves
those arrays off the device, as PyTorch's checks synchronise with the GPU.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradviz.engine import backend
from gradviz.engine.function import infer_size
from gradviz.engine.grad_mode import no_grad
from gradviz.engine.ops import activation as _A  # noqa: N812
from gradviz.engine.ops import nn as _nn
from gradviz.engine.ops import pointwise as _P  # noqa: N812
from gradviz.engine.ops import reduction as _R  # noqa: N812
from gradviz.engine.ops import shape as _S  # noqa: N812
from gradviz.engine.ops._base import const as _const
from gradviz.engine.tensor import Tensor
from gradviz.nn import _reduction as _red
from gradviz.nn import functional as _F  # noqa: N812 - only used at call time (no cycle)

__all__ = [
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "triplet_margin_loss",
    "rms_norm",
]

# ATen's EPSILON in cosine_embedding_loss (Loss.cpp).
_COSINE_EPSILON = 1e-12

# ---------------------------------------------------------------------------- helpers


def _check_long(target: Tensor) -> None:
    if target.dtype.name != "int64":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.scalar_name}")


# ---------------------------------------------------------------------------- pair losses


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return ``max(0, -target * (input1 - input2) + margin)``, reduced.

    As ATen composes it: ``SubBackward0``, ``MulBackward0``, ``AddBackward1`` and
    ``ClampMinBackward0`` (the output node with ``reduction='none'``), then
    ``MeanBackward0``/``SumBackward0``.

    Args:
        input1: scores of the first items.
        input2: scores of the second items (broadcast with ``input1``).
        target: ``1`` where ``input1`` should rank higher, ``-1`` where lower.
        margin: the wanted gap between the two scores.
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        The loss (the broadcast shape with ``'none'``, else a scalar).

    Raises:
        ValueError: unknown reduction.
        RuntimeError: the inputs differ in number of dimensions, or do not broadcast.

    Example:
        >>> import gradviz
        >>> a, b = gradviz.tensor([1.0, 2.0]), gradviz.tensor([2.0, 0.0])
        >>> margin_ranking_loss(a, b, gradviz.tensor([1.0, 1.0]))
        tensor(0.5000)
    """
    red = _red.reduction_name(reduction, size_average, reduce, stacklevel=2)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {_F._torch_size(input1.shape)}, input2: {_F._torch_size(input2.shape)}, "
            f"target: {_F._torch_size(target.shape)} "
        )
    diff = input1 - input2
    return _red.apply(_nn.clamp_min(_A.add_scalar(-target * diff, margin), 0), red)


def hinge_embedding_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return ``input`` where ``target == 1`` and ``max(0, margin - input)`` where ``-1``.

    As ATen composes it: both branches go through ``WhereBackward0`` and are added
    (``AddBackward0``, the output node with ``reduction='none'``). An element whose target
    is neither ``1`` nor ``-1`` gets both terms, as in PyTorch.

    Args:
        input: distances (any shape).
        target: ``1`` or ``-1`` per element (broadcast with ``input``).
        margin: the hinge for dissimilar pairs.
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        The loss.

    Raises:
        ValueError: unknown reduction.
        RuntimeError: the shapes do not broadcast.

    Example:
        >>> import gradviz
        >>> hinge_embedding_loss(gradviz.tensor([0.5, 0.25]), gradviz.tensor([1.0, -1.0]))
        tensor(0.6250)
    """
    red = _red.reduction_name(reduction, size_average, reduce, stacklevel=2)
    zeros = _const(backend.namespace(input._data).zeros_like(input._data))
    margin_clamp = _nn.clamp_min(margin - input, 0)
    output_margin = _P.where(_P.ne(target, 1), margin_clamp, zeros)
    output_self = _P.where(_P.ne(target, -1), input, zeros)
    return _red.apply(output_margin + output_self, red)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return ``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos - margin)`` where ``-1``.

    As ATen composes it (the squared norms get ``1e-12`` added before the square root); the
    two branches go through ``WhereBackward0`` and are added (``AddBackward0``, the output
    node with ``reduction='none'``).

    Args:
        input1: ``(N, D)`` or ``(D,)``.
        input2: like ``input1``.
        target: ``(N,)`` or ``()`` of ``1``/``-1``.
        margin: the similarity below which dissimilar pairs cost nothing.
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        The loss.

    Raises:
        ValueError: unknown reduction.
        RuntimeError: ``target`` has more than one dimension, the inputs do not have one more
            dimension than ``target``, or the shapes do not broadcast (PyTorch's messages).

    Example:
        >>> import gradviz
        >>> x = gradviz.tensor([[1.0, 0.0]])
        >>> cosine_embedding_loss(x, x, gradviz.tensor([1.0]))
        tensor(0.)
    """
    red = _red.reduction_name(reduction, size_average, reduce, stacklevel=2)
    targ_dim = target.ndim
    if targ_dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = targ_dim + 1
    if input1.ndim != want or input2.ndim != want:
        raise RuntimeError(
            f"{targ_dim}D target tensor expects {want}D input tensors, but found inputs with "
            f"sizes {list(input1.shape)} and {list(input2.shape)}."
        )
    prod_sum = _R.sum(input1 * input2, targ_dim)
    mag_square1 = _A.add_scalar(_R.sum(input1 * input1, targ_dim), _COSINE_EPSILON)
    mag_square2 = _A.add_scalar(_R.sum(input2 * input2, targ_dim), _COSINE_EPSILON)
    denom = _P.sqrt(mag_square1 * mag_square2)
    cos = prod_sum / denom
    zeros = _const(backend.namespace(cos._data).zeros_like(cos._data))
    pos = _P.sub(_const(backend.namespace(cos._data).ones_like(cos._data)), cos)
    neg = _nn.clamp_min(cos - margin, 0)
    output_pos = _P.where(_P.eq(target, 1), pos, zeros)
    output_neg = _P.where(_P.eq(target, -1), neg, zeros)
    return _red.apply(output_pos + output_neg, red)


def soft_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return the two-class logistic loss ``log(1 + exp(-target * input))``, reduced.

    PyTorch computes this in one fused kernel (output node ``SoftMarginLossBackward0``);
    here it is ``log1p(exp(-target * input))``, so the output node is ``Log1PBackward0``
    with ``reduction='none'`` and ``MeanBackward0``/``SumBackward0`` otherwise. Values and
    gradients are PyTorch's.

    Args:
        input: scores (any shape).
        target: ``1`` or ``-1`` per element (broadcast with ``input``).
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        The loss.

    Raises:
        ValueError: unknown reduction.
        RuntimeError: the shapes do not broadcast.

    Example:
        >>> import gradviz
        >>> soft_margin_loss(gradviz.tensor([0.0]), gradviz.tensor([1.0]))
        tensor(0.6931)
    """
    red = _red.reduction_name(reduction, size_average, reduce, stacklevel=2)
    infer_size(tuple(input.shape), tuple(target.shape))
    return _red.apply(_P.log1p(_P.exp(-target * input)), red)


def multilabel_soft_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return the per-sample mean over classes of the binary logistic loss, reduced.

    ``-(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))``, times ``weight``,
    summed over the last dim and divided by the number of classes (``DivBackward0``, the
    output node with ``reduction='none'``), as PyTorch's Python composition does.

    Args:
        input: ``(N, C)`` or ``(C,)`` scores.
        target: ``0``/``1`` labels shaped like ``input``.
        weight: a weight per class (broadcast against the loss), or None.
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        ``(N,)`` losses with ``'none'``, else a scalar.

    Raises:
        ValueError: unknown reduction (raised after the loss is computed, as in PyTorch).
        RuntimeError: the shapes do not broadcast.

    Example:
        >>> import gradviz
        >>> multilabel_soft_margin_loss(gradviz.tensor([[0.0, 0.0]]), gradviz.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """
    if size_average is not None or reduce is not None:
        reduction = _red.legacy_string(size_average, reduce, stacklevel=2)
    loss = -(target * _A.log_sigmoid(input) + (1 - target) * _A.log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    classes = input.shape[class_dim] if input.ndim else 1
    loss = _R.sum(loss, class_dim) / classes
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")  # PyTorch's message (and TypeError)
    return _red.apply(loss, reduction)


def _check_margin_input(input: Tensor) -> tuple[int, int]:  # noqa: A002
    """Return ``(frames, classes)`` of a multi-class margin input, or raise ATen's error."""
    shape = tuple(input.shape)
    if shape and (len(shape) > 2 or shape[-1] == 0):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(shape)}"
        )
    if len(shape) == 2:
        return shape[0], shape[1]
    return 1, (shape[0] if shape else 1)


def multi_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return the multi-class hinge loss ``sum_j max(0, margin - x[y] + x[j])**p / C``.

    The sum runs over the classes ``j != y``; ``weight[y]`` scales each term. PyTorch has a
    fused kernel (output node ``MultiMarginLossBackward0``); here it is composed from
    ``GatherBackward0``, ``ClampMinBackward0`` and a masked sum, so the output node is
    ``DivBackward0`` with ``reduction='none'`` and ``MeanBackward0``/``SumBackward0``
    otherwise. ``weight`` gets no gradient, as in PyTorch.

    Args:
        input: ``(N, C)`` or ``(C,)`` scores.
        target: ``(N,)`` (or one) int64 class indices.
        p: ``1`` or ``2``.
        margin: the wanted gap between the right class and the others.
        weight: a one-dimensional weight per class, or None.
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        ``(N,)`` losses with ``'none'`` (shaped like ``target`` for a 1-D input), else a
        scalar.

    Raises:
        ValueError: ``p`` is not 1 or 2, ``weight`` is not one-dimensional, or unknown
            reduction.
        RuntimeError: bad input or target shape, a non-int64 target, a target out of range,
            or a ``weight`` of the wrong size (PyTorch's messages).

    Example:
        >>> import gradviz
        >>> x = gradviz.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> multi_margin_loss(x, gradviz.tensor([3]))
        tensor(0.3250)
    """
    red = _red.reduction_name(reduction, size_average, reduce, stacklevel=2)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    frames, classes = _check_margin_input(input)
    if target.ndim > 1 or target.numel() != frames:
        expected = [frames] if input.ndim == 2 else []
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size {expected}, but got "
            f"{list(target.shape)}. Input has shape {list(input.shape)}."
        )
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(
            f"inconsistent weight size, expected {classes} but got {list(weight.shape)}"
        )
    _check_long(target)
    # NOTE: a copy: the gather index made from it must not follow later in-place writes
    # to ``target`` (on the CPU the host array would be ``target``'s own memory).
    labels = backend.host_copy(target._data).reshape(frames)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise RuntimeError("target out of range")
    x = _S.reshape(input, (frames, classes))
    index = _const(backend.from_host(labels.reshape(frames, 1), target._data))
    chosen = _S.gather(x, 1, index)
    terms = _nn.clamp_min(_A.add_scalar(x - chosen, margin), 0)
    if p == 2:
        terms = terms * terms
    others = labels.reshape(frames, 1) != np.arange(classes).reshape(1, classes)
    scale = others.astype(np.float64)
    if weight is not None:
        scale = scale * backend.to_host(weight._data)[labels].reshape(frames, 1)
    loss = _R.sum(terms * _const(backend.from_host(scale, input._data)), 1)
    if input.ndim < 2:
        # NOTE: PyTorch shapes the unreduced loss of a single sample like its target.
        loss = _S.reshape(loss, tuple(target.shape))
    return _red.apply(loss / classes, red)


def multilabel_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return the multi-label hinge loss ``sum_{j, k} max(0, 1 - (x[y_j] - x[k])) / C``.

    ``y_j`` runs over the target's class indices up to its first ``-1``; ``k`` over the
    classes not among them. PyTorch has a fused kernel (output node
    ``MultilabelMarginLossBackward0``); here it is composed from ``GatherBackward0``,
    ``ClampMinBackward0`` and a masked sum, so the output node is ``DivBackward0`` with
    ``reduction='none'`` and ``MeanBackward0``/``SumBackward0`` otherwise.

    Args:
        input: ``(N, C)`` or ``(C,)`` scores.
        target: int64 class indices shaped like ``input``, padded with ``-1``.
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        ``(N,)`` losses with ``'none'`` (a scalar for a 1-D input), else a scalar.

    Raises:
        ValueError: unknown reduction.
        RuntimeError: bad input or target shape, a non-int64 target, or a class index out
            of range (PyTorch's messages).

    Example:
        >>> import gradviz
        >>> x = gradviz.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> multilabel_margin_loss(x, gradviz.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """
    red = _red.reduction_name(reduction, size_average, reduce, stacklevel=2)
    frames, classes = _check_margin_input(input)
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    _check_long(target)
    labels = backend.to_host(target._data).reshape(frames, classes)
    # NOTE: PyTorch checks every entry, also those after the first -1.
    if labels.size and (labels.min() < -1 or labels.max() >= classes):
        raise RuntimeError("argument #2 'target' is out of range")
    valid = np.cumprod(labels >= 0, axis=1).astype(bool)
    is_target = np.zeros((frames, classes), dtype=bool)
    is_target[np.nonzero(valid)[0], labels[valid]] = True
    x = _S.reshape(input, (frames, classes))
    index = _const(backend.from_host(np.where(valid, labels, 0), target._data))
    chosen = _S.gather(x, 1, index)
    # pairs[n, j, k] = 1 - x[n, y_j] + x[n, k]
    pairs = _A.add_scalar(_S.unsqueeze(x, 1) - _S.unsqueeze(chosen, 2), 1.0)
    mask = valid[:, :, None] & ~is_target[:, None, :]
    terms = _nn.clamp_min(pairs, 0) * _const(backend.from_host(mask, input._data))
    loss = _R.sum(terms, (1, 2))
    if input.ndim < 2:
        loss = _S.reshape(loss, ())
    return _red.apply(loss / classes, red)


def poisson_nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return the Poisson negative log likelihood of ``target`` given the rate ``input``.

    ``exp(input) - target * input`` with ``log_input``, else
    ``input - target * log(input + eps)``; ``full`` adds Stirling's approximation
    ``target * log(target) - target + 0.5 * log(2 * pi * target)`` where ``target > 1``.
    As ATen composes it (``SubBackward0`` is the output node with ``reduction='none'``
    and ``full=False``, ``AddBackward0`` with ``full=True``).

    Args:
        input: the expected counts (or their logs, with ``log_input``).
        target: observed counts (broadcast with ``input``).
        log_input: ``input`` holds log-rates.
        full: add the Stirling term.
        size_average: deprecated (use ``reduction``).
        eps: keeps ``log`` finite when ``log_input`` is False.
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        The loss.

    Raises:
        ValueError: unknown reduction.
        RuntimeError: the shapes do not broadcast.

    Example:
        >>> import gradviz
        >>> poisson_nll_loss(gradviz.tensor([0.0]), gradviz.tensor([2.0]))
        tensor(1.)
    """
    if size_average is not None or reduce is not None:
        reduction = _red.legacy_string(size_average, reduce, stacklevel=2)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = _P.exp(input) - target * input
    else:
        loss = input - target * _P.log(_A.add_scalar(input, eps))
    if full:
        stirling = target * _P.log(target) - target + 0.5 * _P.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _red.apply(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Return the Gaussian negative log likelihood ``0.5 * (log(var) + (input - target)**2 / var)``.

    ``var`` is clamped to at least ``eps`` without a gradient for the clamp (a
    ``CloneBackward0`` then an in-place clamp under ``no_grad``), as PyTorch's Python
    composition does; ``full`` adds ``0.5 * log(2 * pi)``. The output node is
    ``MulBackward0`` with ``reduction='none'`` (``AddBackward0`` with ``full``).

    Args:
        input: the predicted means.
        target: the observed values.
        var: the predicted variances: ``input``'s shape, one dim short of it, one
            broadcastable size-1 dim, or a float.
        full: add the constant term.
        eps: the smallest variance.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        The loss.

    Raises:
        ValueError: ``var`` has a negative entry, is of an incompatible size, or unknown
            reduction (PyTorch's messages).

    Example:
        >>> import gradviz
        >>> gaussian_nll_loss(gradviz.tensor([1.0]), gradviz.tensor([1.0]), 1.0)
        tensor(0.)
    """
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        xp = backend.namespace(input._data)
        var = _const(xp.full_like(input._data, var))
    elif var.numel() and bool(backend.to_host(var._data).min() < 0):
        raise ValueError("var has negative entry/entries")
    in_shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != in_shape:
        if in_shape[:-1] == var_shape:
            var = _S.unsqueeze(var, -1)
        elif input.ndim == var.ndim and (
            sum(v for i, v in zip(in_shape, var_shape, strict=True) if i != v) == 1
        ):
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = _S.clone(var)
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (_P.log(var) + (input - target) ** 2 / var)
    if full:
        # NOTE: PyTorch's in-place ``loss += c`` records AddBackward0, as ``loss + c`` does here.
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _red.apply(loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Return ``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the pairwise ``p``-distance.

    With ``swap``, ``d(a, n)`` is replaced by ``min(d(a, n), d(p, n))``. As ATen composes
    it: ``NormBackward1`` distances, ``AddBackward1``, ``SubBackward0`` and
    ``ClampMinBackward0`` (the output node with ``reduction='none'``).

    Args:
        anchor: ``(N, D)`` or ``(D,)``.
        positive: like ``anchor``.
        negative: like ``anchor``.
        margin: the wanted gap between the distances (positive).
        p: the norm's exponent.
        eps: added to the differences before the norm.
        swap: use the distance swap.
        size_average: deprecated (use ``reduction``).
        reduce: deprecated (use ``reduction``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        The loss.

    Raises:
        ValueError: ``margin <= 0`` or unknown reduction.
        RuntimeError: the inputs differ in number of dimensions, or do not broadcast.

    Example:
        >>> import gradviz
        >>> a = gradviz.tensor([[0.0, 0.0]])
        >>> triplet_margin_loss(a, a, gradviz.tensor([[3.0, 4.0]]))
        tensor(0.)
    """
    red = _red.reduction_name(reduction, size_average, reduce, stacklevel=2)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs"
        )
    dist_pos = _F.pairwise_distance(anchor, positive, p, eps)
    dist_neg = _F.pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = _P.minimum(dist_neg, _F.pairwise_distance(positive, negative, p, eps))
    return _red.apply(_nn.clamp_min(_A.add_scalar(dist_pos, margin) - dist_neg, 0), red)


# ---------------------------------------------------------------------------- rms_norm


def _normalized_shape(fn: str, normalized_shape: Any) -> tuple[int, ...]:
    if isinstance(normalized_shape, numbers.Integral) or not isinstance(normalized_shape, Sequence):
        raise TypeError(
            f"{fn}(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
            f"{type(normalized_shape).__name__}"
        )
    return tuple(operator.index(s) for s in normalized_shape)


def rms_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """Divide by the root mean square over the trailing ``normalized_shape`` dims, then scale.

    ``input * rsqrt(mean(input**2) + eps) * weight``, composed as ATen does (the output
    node is ``MulBackward0``). ``eps=None`` uses the machine epsilon of ``input``'s dtype.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: a sequence of the trailing sizes.
        weight: elementwise scale of shape ``normalized_shape``, or None.
        eps: added to the mean square, or None for ``finfo(input.dtype).eps``.

    Returns:
        A tensor of ``input``'s shape.

    Raises:
        TypeError: ``normalized_shape`` is not a sequence.
        RuntimeError: ``normalized_shape`` is empty, or the input or weight shape does not
            match (PyTorch's messages).

    Example:
        >>> import gradviz
        >>> rms_norm(gradviz.tensor([3.0, 4.0]), (2,), eps=0.0)
        tensor([0.8485, 1.1314])
    """
    shape = _normalized_shape("rms_norm", normalized_shape)
    n = len(shape)
    if n == 0:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    if input.ndim < n or tuple(input.shape[input.ndim - n :]) != shape:
        star = "*" + ", ".join(str(s) for s in shape)
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [{star}], but got "
            f"input of size{list(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            "Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(shape)}"
        )
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)
    dims = tuple(range(input.ndim - n, input.ndim))
    mean_square = _R.mean(_P.pow(input, 2), dims, keepdim=True)
    result = input * _P.rsqrt(_A.add_scalar(mean_square, eps))
    if weight is not None:
        result = result * weight
    return result
