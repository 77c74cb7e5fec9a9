"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``, as ``torch.nn.utils``.

Both modify ``.grad`` in place under ``no_grad`` and skip parameters without a gradient.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable
from typing import Any

from gradviz.engine.creation import tensor
from gradviz.engine.grad_mode import no_grad
from gradviz.engine.ops.pointwise import clamp
from gradviz.engine.ops.reduction import norm
from gradviz.engine.ops.shape import stack
from gradviz.engine.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = isinstance(parameters, types.GeneratorType)
    params = list(parameters)
    if is_generator and not params:
        warnings.warn(
            "`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3
        )
    return params


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Any = None,
) -> Tensor:
    """Scale the gradients so that their joint norm is at most ``max_norm``, in place.

    The norm is taken over all gradients together, as if concatenated into one vector.
    Gradients are multiplied by ``min(1, max_norm / (total_norm + 1e-6))``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` to clip.
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm (``float('inf')`` for the largest absolute value).
        error_if_nonfinite: raise when the total norm is NaN or infinite.
        foreach: accepted for PyTorch compatibility (gradviz has one implementation).

    Returns:
        The total norm of the gradients before clipping (a 0-dim tensor).

    Raises:
        RuntimeError: the total norm is not finite and ``error_if_nonfinite`` is True.

    Example:
        >>> import gradviz
        >>> p = gradviz.nn.Parameter(gradviz.zeros(2))
        >>> p.grad = gradviz.tensor([3.0, 4.0])
        >>> gradviz.nn.utils.clip_grad_norm_([p], 1.0)
        tensor(5.)
        >>> p.grad
        tensor([0.6000, 0.8000])
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    norm_type = float(norm_type)
    with no_grad():
        if not grads:
            return tensor(0.0)
        dtype = grads[0].dtype
        device = grads[0].device
        norms = [norm(g, norm_type).to(device).to(dtype) for g in grads]
        total_norm = norm(stack(norms), norm_type)
        if error_if_nonfinite and not math.isfinite(total_norm.item()):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is "
                "non-finite, so it cannot be clipped. To disable this error and scale the "
                "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
            )
        clip_coef = clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(clip_coef.to(g.device).to(g.dtype))
    return total_norm


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: Any = None
) -> None:
    """Clamp every gradient to ``[-clip_value, clip_value]``, in place.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` to clip.
        clip_value: the largest absolute value allowed.
        foreach: accepted for PyTorch compatibility (gradviz has one implementation).

    Example:
        >>> import gradviz
        >>> p = gradviz.nn.Parameter(gradviz.zeros(2))
        >>> p.grad = gradviz.tensor([-3.0, 0.5])
        >>> gradviz.nn.utils.clip_grad_value_(p, 1.0)
        >>> p.grad
        tensor([-1.0000,  0.5000])
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    value = float(clip_value)
    with no_grad():
        for p in params:
            if p.grad is not None:
                p.grad.clamp_(min=-value, max=value)
