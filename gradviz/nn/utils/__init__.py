"""Utilities for modules: gradient clipping and parameters as one vector."""

from __future__ import annotations

from gradviz.nn.utils import clip_grad
from gradviz.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_
from gradviz.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = [
    "clip_grad",
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
]
