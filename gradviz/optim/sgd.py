"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradviz.engine import backend
from gradviz.engine.tensor import Tensor, _make
from gradviz.optim.optimizer import (
    Optimizer,
    _check_lr,
    _params_with_grad,
    _refuse,
    _scalar,
    _write,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    Per step, with ``g`` the gradient (negated when ``maximize``)::

        g = g + weight_decay * p
        b = g (first step)  or  b = momentum * b + (1 - dampening) * g
        g = g + momentum * b (nesterov)  or  g = b
        p = p - lr * g

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        momentum: momentum factor.
        dampening: dampening of the momentum.
        weight_decay: L2 penalty.
        nesterov: use Nesterov momentum (needs momentum > 0 and no dampening).
        maximize: ascend the objective instead of descending it.
        foreach: accepted for compatibility; gradviz has one implementation.
        differentiable: not supported (must be False).
        fused: not supported (must be False or None).

    Raises:
        ValueError: a negative lr, momentum or weight decay, or Nesterov without momentum
            or with dampening (PyTorch's messages).
        NotImplementedError: ``differentiable`` or ``fused``.

    Example:
        >>> import gradviz
        >>> p = gradviz.ones(2, requires_grad=True)
        >>> opt = SGD([p], lr=0.5)
        >>> (p * p).sum().backward()
        >>> opt.step()
        >>> p.tolist()
        [0.0, 0.0]
    """

    def __init__(
        self,
        params: Any,
        lr: Any = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _refuse("differentiable", differentiable)
        _refuse("fused", fused)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if given.

        Args:
            closure: re-evaluates the model and returns the loss (run with grad enabled).
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            wd, momentum = group["weight_decay"], group["momentum"]
            dampening, nesterov = group["dampening"], group["nesterov"]
            for p, g in _params_with_grad(group):
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    g = g + wd * p._data
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = _make(backend.namespace(g).asarray(g, copy=True), False, None, 0)
                        state["momentum_buffer"] = buf
                    else:
                        _write(buf, buf._data * momentum + (1 - dampening) * g)
                    g = g + momentum * buf._data if nesterov else buf._data
                _sub_inplace(p, lr * g)
        return loss


def _sub_inplace(p: Tensor, delta: Any) -> None:
    """``p -= delta`` in the parameter's own buffer (one pass), bumping its version."""
    data = p._data
    if delta.dtype != data.dtype:
        delta = backend.namespace(data).astype(delta, data.dtype)
    data -= delta
    counter = p._version_counter
    if counter is None:
        counter = p._version_counter = [0]
    counter[0] += 1
