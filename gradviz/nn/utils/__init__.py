"""Utilities for modules: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``)."""

from __future__ import annotations

from gradviz.nn.utils import clip_grad
from gradviz.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad", "clip_grad_norm_", "clip_grad_value_"]
