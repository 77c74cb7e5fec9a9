"""Loss reductions as PyTorch reads them (``torch.nn._reduction``), shared by the losses.

``reduction`` is ``"none"``, ``"mean"`` or ``"sum"``; the deprecated ``size_average`` and
``reduce`` flags, when given, decide instead, with PyTorch's warning. ``stacklevel`` is
what the caller would pass to ``warnings.warn`` itself (2: the caller's caller), so the
warning points at the user's line.
"""

from __future__ import annotations

import warnings
from typing import Any

from gradviz.engine.ops import nn as _nn
from gradviz.engine.ops import reduction as _R  # noqa: N812
from gradviz.engine.tensor import Tensor

__all__ = ["legacy_string", "reduction_name", "reduction_enum", "apply"]


def legacy_string(size_average: Any, reduce: Any, stacklevel: int) -> str:
    """Translate the deprecated flags into a reduction name, with PyTorch's warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    name = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{name}' instead.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
    return name


def reduction_name(reduction: str, size_average: Any, reduce: Any, stacklevel: int) -> str:
    """Return the reduction's name, honouring the legacy flags.

    Raises:
        ValueError: an unknown reduction (PyTorch's ``get_enum`` message).
    """
    if size_average is not None or reduce is not None:
        return legacy_string(size_average, reduce, stacklevel + 1)
    if reduction not in _nn.REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduction_enum(reduction: str, size_average: Any, reduce: Any, stacklevel: int) -> int:
    """Return PyTorch's reduction enum (0 none, 1 mean, 2 sum), honouring the legacy flags."""
    return _nn.REDUCTIONS[reduction_name(reduction, size_average, reduce, stacklevel + 1)]


def apply(loss: Tensor, reduction: int | str) -> Tensor:
    """ATen's ``apply_loss_reduction``: ``MeanBackward0``, ``SumBackward0`` or the loss itself."""
    if reduction in (1, "mean"):
        return _R.mean(loss)
    if reduction in (2, "sum"):
        return _R.sum(loss)
    return loss
