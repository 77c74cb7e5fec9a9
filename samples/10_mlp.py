"""10 A small MLP built with gradviz.nn: module clusters and parameter names.

``MLP`` is ``fc1 -> ReLU -> fc2`` trained with a mean-squared-error loss. Calling a
module tells the engine which module is running, so every node knows the module that
made it (``fc1``, ``act``, ``fc2``) and the picture groups nodes in dashed clusters
named by module path. Parameters are named by their path in the model (``fc1.weight``)
without ``params=``. A 2-D ``nn.Linear`` is PyTorch's ``AddmmBackward0`` with the bias
first and the weight through ``TBackward0`` (``weight.t()``).

Picture: ``mlp`` (the README's picture).

Run: ``python samples/10_mlp.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz import nn
from gradviz.engine.tensor import Tensor


class MLP(nn.Module):
    """``Linear(4, 8) -> ReLU -> Linear(8, 3)``, each layer a named submodule."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x: Tensor) -> Tensor:
        """Apply ``fc1``, ``act`` and ``fc2``."""
        return self.fc2(self.act(self.fc1(x)))


def build(batch: int = 5) -> tuple[MLP, Tensor, Tensor, Tensor]:
    """Return a seeded MLP, a batch ``(x, target)`` and the MSE loss of the batch."""
    torch.manual_seed(0)
    model = MLP()
    x, target = torch.randn(batch, 4), torch.randn(batch, 3)
    loss = nn.functional.mse_loss(model(x), target)
    loss.name = "loss"
    return model, x, target, loss


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    _, _, _, loss = build()
    return [
        Figure(
            "mlp",
            torch.trace.capture(loss),
            {"title": "MLP: fc1 -> ReLU -> fc2, mean squared error"},
        )
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Describe the model, train it a few steps, draw its graph."""
    args = parse_args(argv, __doc__)
    model, x, target, loss = build()

    section("the model")
    print(model)
    for name, param in model.named_parameters():
        print(f"{name:10s} {tuple(param.shape)}")

    section("training")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = 3 if args.fast else 20
    for step in range(steps):
        loss = nn.functional.mse_loss(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step in (0, steps - 1):
            print(f"step {step:2d}: loss = {loss.item():.4f}")

    section("the graph")
    graph = torch.trace.capture(loss)
    modules = sorted({d["module"] for _, d in graph.nodes(data=True) if d.get("module")})
    leaves = [d["label"] for _, d in graph.nodes(data=True) if d["kind"] == "leaf"]
    print(f"{graph.number_of_nodes()} nodes; modules: {modules}")
    print(f"leaves: {leaves}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
