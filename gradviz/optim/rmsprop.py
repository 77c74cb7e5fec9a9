"""RMSprop, with momentum and the centered variant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradviz.engine import backend
from gradviz.optim.optimizer import (
    Optimizer,
    _check_lr,
    _lerp,
    _params_with_grad,
    _refuse,
    _scalar,
    _state_like,
    _step_tensor,
    _tick,
    _write,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Per step, with ``g`` the gradient (plus ``weight_decay * p``)::

        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v - ga * ga) with ga = lerp(ga, g, 1 - alpha) (centered)  or  sqrt(v)
        b = momentum * b + g / (avg + eps);  p = p - lr * b   (momentum > 0)
        p = p - lr * g / (avg + eps)                          (otherwise)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        alpha: smoothing constant.
        eps: added to the denominator.
        weight_decay: L2 penalty.
        momentum: momentum factor.
        centered: normalise by an estimate of the gradient's variance.
        capturable: not supported (must be False).
        foreach: accepted for compatibility.
        maximize: ascend the objective instead of descending it.
        differentiable: not supported (must be False).

    Raises:
        ValueError: an invalid lr, eps, momentum, weight decay or alpha (PyTorch's messages).
        NotImplementedError: ``capturable`` or ``differentiable``.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _refuse("capturable", capturable)
        _refuse("differentiable", differentiable)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given.

        Args:
            closure: re-evaluates the model and returns the loss (run with grad enabled).
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            alpha, eps, wd = group["alpha"], group["eps"], group["weight_decay"]
            momentum, centered = group["momentum"], group["centered"]
            for p, g in _params_with_grad(group):
                xp = backend.namespace(g)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _state_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _state_like(p)
                    if centered:
                        state["grad_avg"] = _state_like(p)
                if group["maximize"]:
                    g = -g
                _tick(state)
                if wd != 0:
                    g = g + wd * p._data
                square_avg = state["square_avg"]
                _write(square_avg, square_avg._data * alpha + (1 - alpha) * g * g)
                if centered:
                    grad_avg = state["grad_avg"]
                    _write(grad_avg, _lerp(grad_avg._data, g, 1 - alpha))
                    avg = xp.sqrt(square_avg._data - grad_avg._data * grad_avg._data)
                else:
                    avg = xp.sqrt(square_avg._data)
                avg = avg + eps
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    _write(buf, buf._data * momentum + g / avg)
                    _write(p, p._data + (-lr) * buf._data)
                else:
                    _write(p, p._data + (-lr) * g / avg)
        return loss
