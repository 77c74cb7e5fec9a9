"""Adagrad, with learning-rate decay and an initial accumulator value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradviz.engine import backend
from gradviz.optim.optimizer import (
    Optimizer,
    _check_lr,
    _params_with_grad,
    _refuse,
    _scalar,
    _state_like,
    _step_tensor,
    _tick,
    _write,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Per step ``t``, with ``g`` the gradient (plus ``weight_decay * p``)::

        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    The state (``step`` and ``sum``) of every parameter is created at construction.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        lr_decay: learning-rate decay per step.
        weight_decay: L2 penalty.
        initial_accumulator_value: the starting value of ``sum``.
        eps: added to the denominator.
        foreach: accepted for compatibility.
        maximize: ascend the objective instead of descending it.
        differentiable: not supported (must be False).
        fused: not supported (must be False or None).

    Raises:
        ValueError: an invalid lr, lr_decay, weight decay, initial accumulator value or
            eps (PyTorch's messages).
        NotImplementedError: ``differentiable`` or ``fused``.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _refuse("differentiable", differentiable)
        _refuse("fused", fused)
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p: Any) -> None:
        state = self.state[p]
        state["step"] = _step_tensor()
        state["sum"] = _state_like(p, self.defaults["initial_accumulator_value"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given.

        Args:
            closure: re-evaluates the model and returns the loss (run with grad enabled).
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            wd, lr_decay, eps = group["weight_decay"], group["lr_decay"], group["eps"]
            for p, g in _params_with_grad(group):
                xp = backend.namespace(g)
                state = self.state[p]
                if len(state) == 0:
                    self._init_state(p)
                step = _tick(state)
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    g = g + wd * p._data
                clr = lr / (1 + (step - 1) * lr_decay)
                total = state["sum"]
                _write(total, total._data + g * g)
                std = xp.sqrt(total._data) + eps
                _write(p, p._data + (-clr) * g / std)
        return loss
