"""The sample programs ``gradviz demo`` draws, written the way a PyTorch user writes them.

- :func:`seed_example`: ``h = w*x + b`` with 1-element tensors (the graph in the article
  gradviz starts from: ``AddBackward0 -> [MulBackward0, AccumulateGrad(b)]``).
- :func:`tutorial_example`: PyTorch's autograd tutorial, ``y = x + 2; z = y*y*3;
  out = z.mean()``; ``y*y`` feeds both slots of one ``MulBackward0``.
- :class:`TinyMLP` and :func:`mlp_training_step`: ``Linear(4, 8) -> ReLU -> Linear(8, 3)``
  and a mean-squared-error SGD step. Each layer runs inside ``module_scope`` with the
  path ``nn.Sequential`` would give it (``layers.0``, ``layers.1``, ``layers.2``), and the
  parameters are named ``layers.0.weight`` and so on, so pictures show module clusters
  and parameter names. A linear layer is ``addmm(bias, x, weight.t())``, which gives
  PyTorch's ``nn.Linear`` graph (``AddmmBackward0`` over ``TBackward0``).

Every leaf gets a ``name``, so graphs show names without ``params=``. Nothing here
touches global state: the MLP's weights come from a seeded NumPy generator.

Run ``python -m gradviz.examples.seed`` to run all three with their backward passes.

Example:
    >>> h, params = seed_example()
    >>> h.grad_fn.name(), [f.name() for f, _ in h.grad_fn.next_functions]
    ('AddBackward0', ['MulBackward0', 'torch::autograd::AccumulateGrad'])
"""

from __future__ import annotations

import numpy as np

import gradviz
from gradviz.engine.events import module_scope
from gradviz.engine.tensor import Tensor

__all__ = ["seed_example", "tutorial_example", "TinyMLP", "mlp_training_step", "main"]


def _leaf(values: object, name: str) -> Tensor:
    t = gradviz.tensor(values, requires_grad=True)
    t.name = name
    return t


def seed_example() -> tuple[Tensor, dict[str, Tensor]]:
    """Build ``h = w*x + b`` with ``w = [2.]``, ``x = [3.]``, ``b = [1.]``.

    Returns:
        ``h`` and its leaves by name (``params=`` for ``make_dot``).
    """
    w = _leaf([2.0], "w")
    x = _leaf([3.0], "x")
    b = _leaf([1.0], "b")
    h = w * x + b
    return h, {"w": w, "x": x, "b": b}


def tutorial_example() -> tuple[Tensor, dict[str, Tensor]]:
    """Build PyTorch's tutorial graph: ``y = x + 2; z = y*y*3; out = z.mean()``.

    Returns:
        ``out`` and its leaf by name.
    """
    x = gradviz.ones(2, 2, requires_grad=True)
    x.name = "x"
    y = x + 2
    z = y * y * 3
    out = z.mean()
    return out, {"x": x}


class TinyMLP:
    """``Linear(4, 8) -> ReLU -> Linear(8, 3)`` with ``nn.Sequential``'s module paths.

    Args:
        seed: Seed of the NumPy generator the weights are drawn from.
        sizes: Widths of the input, hidden and output layers.
    """

    def __init__(self, seed: int = 0, sizes: tuple[int, int, int] = (4, 8, 3)) -> None:
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.params: dict[str, Tensor] = {}
        for index, (fan_in, fan_out) in ((0, sizes[:2]), (2, sizes[1:])):
            bound = 1.0 / np.sqrt(fan_in)
            weight = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
            bias = rng.uniform(-bound, bound, size=(fan_out,)).astype(np.float32)
            self.params[f"layers.{index}.weight"] = _leaf(weight, f"layers.{index}.weight")
            self.params[f"layers.{index}.bias"] = _leaf(bias, f"layers.{index}.bias")

    def _linear(self, index: int, x: Tensor) -> Tensor:
        with module_scope(f"layers.{index}"):
            weight = self.params[f"layers.{index}.weight"]
            bias = self.params[f"layers.{index}.bias"]
            return gradviz.addmm(bias, x, weight.t())

    def __call__(self, x: Tensor) -> Tensor:
        """Run the forward pass on a batch ``x`` of shape ``(batch, sizes[0])``."""
        h = self._linear(0, x)
        with module_scope("layers.1"):
            h = gradviz.relu(h)
        return self._linear(2, h)

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """Return ``(name, parameter)`` pairs, as ``nn.Module.named_parameters`` does."""
        return list(self.params.items())


def mlp_training_step(model: TinyMLP, x: Tensor, target: Tensor, *, lr: float = 0.1) -> Tensor:
    """Run one SGD step on the mean squared error; return the loss (before the update).

    Args:
        model: The MLP to train.
        x: Inputs, ``(batch, model.sizes[0])``.
        target: Targets, ``(batch, model.sizes[2])``.
        lr: Learning rate.

    Returns:
        The loss tensor; its graph's saved tensors were freed by ``backward()``.
    """
    loss = ((model(x) - target) ** 2).mean()
    loss.backward()
    with gradviz.no_grad():
        for _, p in model.named_parameters():
            if p.grad is None:
                continue
            p -= lr * p.grad
            p.grad = None
    return loss


def mlp_batch(seed: int = 1, batch: int = 5) -> tuple[Tensor, Tensor]:
    """Return a fixed batch ``(x, target)`` for :class:`TinyMLP` with default sizes."""
    rng = np.random.default_rng(seed)
    x = gradviz.tensor(rng.standard_normal((batch, 4)).astype(np.float32))
    target = gradviz.tensor(rng.standard_normal((batch, 3)).astype(np.float32))
    return x, target


def main(steps: int = 2) -> None:
    """Run the seed and tutorial backward passes, then ``steps`` MLP training steps."""
    h, params = seed_example()
    h.backward()
    print(f"seed:     h = {h.item():.1f}, w.grad = {params['w'].grad}")
    out, leaves = tutorial_example()
    out.backward()
    print(f"tutorial: out = {out.item():.1f}, x.grad = {leaves['x'].grad}")
    model = TinyMLP()
    x, target = mlp_batch()
    for step in range(steps):
        loss = mlp_training_step(model, x, target)
        print(f"mlp:      step {step}, loss = {loss.item():.4f}")


if __name__ == "__main__":
    main()
