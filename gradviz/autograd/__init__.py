"""PyTorch's ``torch.autograd`` surface: Function, grad, backward, gradcheck, anomaly mode.

Example:
    >>> import gradviz
    >>> x = gradviz.tensor([2.0], requires_grad=True)
    >>> gradviz.autograd.grad((x * x).sum(), x)
    (tensor([4.]),)
"""

from __future__ import annotations

from gradviz.autograd import graph
from gradviz.autograd.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from gradviz.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from gradviz.engine.autograd import backward, grad
from gradviz.engine.function import Function, FunctionCtx
from gradviz.engine.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from gradviz.engine.tensor import Tensor

Variable = Tensor  # PyTorch's old name, kept for code that still uses it

__all__ = [
    "Function",
    "FunctionCtx",
    "Variable",
    "backward",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "graph",
]
