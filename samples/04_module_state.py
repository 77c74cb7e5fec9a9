"""04 A module's state: a Parameter, a buffer and a plain tensor attribute.

``Affine`` keeps three tensors, registered three ways, and each lands somewhere else:

- ``weight = nn.Parameter(...)``: a parameter. It requires grad, ``parameters()`` lists it
  (so the optimizer updates it), ``state_dict()`` saves it, ``.double()`` converts it, and
  the graph shows it as a named leaf with its ``AccumulateGrad``.
- ``register_buffer("running_mean", ...)``: a buffer. No gradient and no optimizer, but
  ``state_dict()`` saves it and ``.double()`` converts it. The forward pass updates it
  under ``no_grad()``, so it leaves no trace in the graph.
- ``offset = torch.full(...)``: a plain attribute. The module does not know it: not in
  ``state_dict()``, not converted by ``.double()``; in the graph it is a constant (an
  empty input slot of ``AddBackward0``).

Picture: ``04_module_state`` (the graph of ``model(x).sum()``, with saved tensors).

Run: ``python samples/04_module_state.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, node_names, parse_args, save_figures, section

import gradviz as torch
from gradviz import nn
from gradviz.engine.tensor import Tensor


class Affine(nn.Module):
    """``(x - running_mean) * weight + offset``, with the mean tracked while training.

    Args:
        features: the size of the last dimension of the input.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(features))
        self.register_buffer("running_mean", torch.zeros(features))
        self.offset = torch.full((features,), 0.5)

    def forward(self, x: Tensor) -> Tensor:
        """Update the running mean (training only, without a graph), then scale and shift."""
        if self.training:
            with torch.no_grad():
                self.running_mean.mul_(0.9).add_(x.mean(0), alpha=0.1)
        return (x - self.running_mean) * self.weight + self.offset


def build() -> tuple[Affine, Tensor]:
    """Return a fresh ``Affine(3)`` and the loss ``model(x).sum()`` of a seeded batch."""
    torch.manual_seed(0)
    model = Affine(3)
    x = torch.randn(4, 3)
    loss = model(x).sum()
    loss.name = "loss"
    return model, loss


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    _, loss = build()
    return [
        Figure(
            "04_module_state",
            torch.trace.capture(loss, saved=True),
            {"show_saved": True, "title": "Affine: only the Parameter is a leaf of the graph"},
        )
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Show where the parameter, the buffer and the plain tensor go."""
    args = parse_args(argv, __doc__)
    model, loss = build()

    section("what the module registered")
    print(f"named_parameters(): {[name for name, _ in model.named_parameters()]}")
    print(f"named_buffers():    {[name for name, _ in model.named_buffers()]}")
    print(f"state_dict() keys:  {list(model.state_dict())}")
    print("offset is a plain attribute: in none of them")

    section("what the optimizer sees")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    params = optimizer.param_groups[0]["params"]
    same = params[0] is model.weight
    print(f"SGD param_groups[0]['params']: {len(params)} tensor, is weight: {same}")

    section("the graph of model(x).sum()")
    add = loss.grad_fn.next_functions[0][0]
    print(f"loss.grad_fn = {type(loss.grad_fn).__name__}")
    print(f"AddBackward0 (+ offset) -> {node_names(add)}   (offset is a constant)")
    mul = add.next_functions[0][0]
    print(f"MulBackward0 (* weight) -> {node_names(mul)}   (x - running_mean needs no grad)")

    section("one SGD step")
    before = {
        "weight": model.weight.detach().clone(),
        "running_mean": model.running_mean.clone(),
        "offset": model.offset.clone(),
    }
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"weight.grad = {model.weight.grad}")
    for name, old in before.items():
        changed = not bool((getattr(model, name) == old).all())
        print(f"{name:12s} changed by the step: {changed}")
    print("(running_mean changed in the forward pass, before the step)")

    section("model.double() converts parameters and buffers only")
    model.double()
    for name in ("weight", "running_mean", "offset"):
        print(f"{name:12s} dtype: {getattr(model, name).dtype}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
