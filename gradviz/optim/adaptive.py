"""Adamax, NAdam, RAdam and Adadelta, as PyTorch's single-tensor implementations compute them.

Each step follows the order of operations of ``torch.optim``'s CPU code, so that float32
parameters follow PyTorch's trajectory to rounding; step counters (and NAdam's
``mu_product``) are 0-d state tensors as in PyTorch, so ``state_dict()`` has the same
entries.
"""

from __future__ import annotations

import math
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

__all__ = ["Adadelta", "Adamax", "NAdam", "RAdam"]


def _unsupported(capturable: bool, differentiable: bool) -> None:
    _refuse("capturable", capturable)
    _refuse("differentiable", differentiable)


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), as ``torch.optim.Adamax``.

    Per step ``t``, with ``g`` the gradient (plus ``weight_decay * p``)::

        m = lerp(m, g, 1 - beta1);  u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1**t) * m / u

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first moment and of the infinity norm.
        eps: added to ``|g|``.
        weight_decay: L2 penalty.
        foreach: accepted for compatibility.
        maximize: ascend the objective instead of descending it.
        differentiable: not supported (must be False).
        capturable: not supported (must be False).

    Raises:
        ValueError: an invalid lr, eps, beta or weight decay (PyTorch's messages).
        NotImplementedError: ``capturable`` or ``differentiable``.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_eps_betas_decay(eps, betas, weight_decay)
        _unsupported(capturable, differentiable)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, wd = group["eps"], group["weight_decay"]
            for p, g in _params_with_grad(group):
                xp = backend.namespace(g)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _state_like(p)
                    state["exp_inf"] = _state_like(p)
                if group["maximize"]:
                    g = -g
                step = _tick(state)
                if wd != 0:
                    g = g + wd * p._data
                exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
                _write(exp_avg, _lerp(exp_avg._data, g, 1 - beta1))
                _write(exp_inf, xp.maximum(exp_inf._data * beta2, xp.abs(g) + eps))
                clr = lr / (1 - beta1**step)
                _write(p, p._data + (-clr) * (exp_avg._data / exp_inf._data))
        return loss


class NAdam(Optimizer):
    """NAdam (Adam with Nesterov momentum), as ``torch.optim.NAdam``.

    Per step ``t``, with momentum schedule ``mu_t = beta1 * (1 - 0.5 * 0.96**(t * psi))``
    (``psi`` the momentum decay) and ``P_t`` the product of ``mu_1 ... mu_t``::

        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - P_t) * g / d - lr * mu_{t+1} / (1 - P_{t+1}) * m / d

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moments.
        eps: added to the denominator.
        weight_decay: L2 penalty (or decoupled decay ``p *= 1 - lr * weight_decay``).
        momentum_decay: ``psi`` above.
        decoupled_weight_decay: AdamW-style weight decay.
        foreach: accepted for compatibility.
        maximize: ascend the objective instead of descending it.
        capturable: not supported (must be False).
        differentiable: not supported (must be False).

    Raises:
        ValueError: an invalid lr, eps, beta, weight decay or momentum decay.
        NotImplementedError: ``capturable`` or ``differentiable``.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_eps_betas_decay(eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        _unsupported(capturable, differentiable)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, wd, decay = group["eps"], group["weight_decay"], group["momentum_decay"]
            for p, g in _params_with_grad(group):
                xp = backend.namespace(g)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    product = _step_tensor()
                    _write(product, product._data + 1)
                    state["mu_product"] = product
                    state["exp_avg"] = _state_like(p)
                    state["exp_avg_sq"] = _state_like(p)
                if group["maximize"]:
                    g = -g
                step = _tick(state)
                bias_correction2 = 1 - beta2**step
                g = _weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
                product = state["mu_product"]
                _write(product, product._data * mu)  # a float32 product, as in PyTorch
                mu_product = float(product.item())
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                _write(exp_avg, _lerp(exp_avg._data, g, 1 - beta1))
                _write(exp_avg_sq, exp_avg_sq._data * beta2 + (1 - beta2) * g * g)
                denom = xp.sqrt(exp_avg_sq._data / bias_correction2) + eps
                _write(p, p._data + (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom))
                mu_product_next = mu_product * mu_next
                scale = -lr * mu_next / (1.0 - mu_product_next)
                _write(p, p._data + scale * (exp_avg._data / denom))
        return loss


class RAdam(Optimizer):
    """RAdam (rectified Adam), as ``torch.optim.RAdam``.

    Adam whose adaptive step is switched on, and rectified, once the variance of the
    adaptive learning rate is tractable (``rho_t > 5``); before that a plain momentum step
    ``p = p - lr * m / (1 - beta1**t)``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moments.
        eps: added to the denominator.
        weight_decay: L2 penalty (or decoupled decay ``p *= 1 - lr * weight_decay``).
        decoupled_weight_decay: AdamW-style weight decay.
        foreach: accepted for compatibility.
        maximize: ascend the objective instead of descending it.
        capturable: not supported (must be False).
        differentiable: not supported (must be False).

    Raises:
        ValueError: an invalid lr, eps, beta or weight decay (PyTorch's messages).
        NotImplementedError: ``capturable`` or ``differentiable``.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_eps_betas_decay(eps, betas, weight_decay)
        _unsupported(capturable, differentiable)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, wd = group["eps"], group["weight_decay"]
            rho_inf = 2 / (1 - beta2) - 1
            for p, g in _params_with_grad(group):
                xp = backend.namespace(g)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _state_like(p)
                    state["exp_avg_sq"] = _state_like(p)
                if group["maximize"]:
                    g = -g
                step = _tick(state)
                g = _weight_decay(p, g, lr, wd, group["decoupled_weight_decay"])
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                _write(exp_avg, _lerp(exp_avg._data, g, 1 - beta1))
                _write(exp_avg_sq, exp_avg_sq._data * beta2 + (1 - beta2) * g * g)
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                corrected = exp_avg._data / bias_correction1
                rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
                if rho_t > 5.0:
                    rect = math.sqrt(
                        (rho_t - 4)
                        * (rho_t - 2)
                        * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    )
                    adaptive = (bias_correction2**0.5) / (xp.sqrt(exp_avg_sq._data) + eps)
                    _write(p, p._data - corrected * lr * adaptive * rect)
                else:
                    _write(p, p._data - corrected * lr)
        return loss


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    Per step, with ``g`` the gradient (plus ``weight_decay * p``)::

        v = rho * v + (1 - rho) * g * g
        d = sqrt(u + eps) / sqrt(v + eps) * g;  u = rho * u + (1 - rho) * d * d
        p = p - lr * d

    Args:
        params: tensors or parameter groups to optimize.
        lr: scales the update.
        rho: decay rate of the running averages.
        eps: added inside the square roots.
        weight_decay: L2 penalty.
        foreach: accepted for compatibility.
        capturable: not supported (must be False).
        maximize: ascend the objective instead of descending it.
        differentiable: not supported (must be False).

    Raises:
        ValueError: an invalid lr, rho, eps or weight decay (PyTorch's messages).
        NotImplementedError: ``capturable`` or ``differentiable``.
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_eps_betas_decay(eps, None, weight_decay)
        _unsupported(capturable, differentiable)
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            rho, eps, wd = group["rho"], group["eps"], group["weight_decay"]
            for p, g in _params_with_grad(group):
                xp = backend.namespace(g)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _state_like(p)
                    state["acc_delta"] = _state_like(p)
                _tick(state)
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    g = g + wd * p._data
                square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                _write(square_avg, square_avg._data * rho + (1 - rho) * g * g)
                std = xp.sqrt(square_avg._data + eps)
                delta = xp.sqrt(acc_delta._data + eps) / std * g
                _write(acc_delta, acc_delta._data * rho + (1 - rho) * delta * delta)
                _write(p, p._data + (-lr) * delta)
        return loss
