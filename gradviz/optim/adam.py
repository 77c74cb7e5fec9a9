"""Adam and AdamW (decoupled weight decay), with AMSGrad."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradviz.engine import backend
from gradviz.optim.optimizer import (
    Optimizer,
    _check_eps_betas_decay,
    _check_lr,
    _lerp,
    _params_with_grad,
    _refuse,
    _scalar,
    _state_like,
    _step_tensor,
    _tick,
    _weight_decay,
    _write,
)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (``decoupled_weight_decay=True`` is AdamW).

    Per step ``t``, with ``g`` the gradient (plus ``weight_decay * p`` unless decoupled)::

        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_hat, v) (amsgrad)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v or v_hat) / sqrt(1 - beta2**t) + eps)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
        weight_decay: L2 penalty (or decoupled decay ``p *= 1 - lr * weight_decay``).
        amsgrad: use the maximum of past second moments.
        foreach: accepted for compatibility; gradviz has one implementation.
        maximize: ascend the objective instead of descending it.
        capturable: not supported (must be False).
        differentiable: not supported (must be False).
        fused: not supported (must be False or None).
        decoupled_weight_decay: AdamW's weight decay.

    Raises:
        ValueError: an invalid lr, eps, beta or weight decay (PyTorch's messages).
        NotImplementedError: ``capturable``, ``differentiable`` or ``fused``.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_eps_betas_decay(eps, betas, weight_decay)
        for name, value in (
            ("capturable", capturable),
            ("differentiable", differentiable),
            ("fused", fused),
        ):
            _refuse(name, value)
        defaults = {
            "lr": lr,
            "betas": (_scalar(betas[0]), _scalar(betas[1])),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
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
            beta1, beta2 = group["betas"]
            wd, eps, amsgrad = group["weight_decay"], group["eps"], group["amsgrad"]
            for p, g in _params_with_grad(group):
                xp = backend.namespace(g)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _state_like(p)
                    state["exp_avg_sq"] = _state_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = _state_like(p)
                if group["maximize"]:
                    g = -g
                step = _tick(state)
                g = _weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                _write(exp_avg, _lerp(exp_avg._data, g, 1 - beta1))
                _write(exp_avg_sq, exp_avg_sq._data * beta2 + (1 - beta2) * g * g)
                bias_correction1 = 1 - beta1**step
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                second = exp_avg_sq._data
                if amsgrad:
                    best = state["max_exp_avg_sq"]
                    _write(best, xp.maximum(best._data, second))
                    second = best._data
                denom = xp.sqrt(second) / bias_correction2_sqrt + eps
                _write(p, p._data + (-lr / bias_correction1) * exp_avg._data / denom)
        return loss


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay ``p *= 1 - lr * weight_decay``, as in PyTorch.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
        weight_decay: decoupled weight decay (default 1e-2).
        amsgrad: use the maximum of past second moments.
        maximize: ascend the objective instead of descending it.
        foreach: accepted for compatibility.
        capturable: not supported.
        differentiable: not supported.
        fused: not supported.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
