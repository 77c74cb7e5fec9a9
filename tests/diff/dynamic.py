"""``DynamicNet`` from PyTorch's tutorial "Learning PyTorch with Examples", on gradviz.

The net applies its middle layer 0 to 3 times per forward pass (chosen at random), reusing
the same weights each time, so graphs differ from one iteration to the next. It is
written as the tutorial writes it, against ``import gradviz as torch``. For the tests it
can also take a fixed depth and an auxiliary loss branch that can be detached.
"""

from __future__ import annotations

import random
from typing import Any

import gradviz as torch

D_IN, HIDDEN, D_OUT = 10, 8, 3


class DynamicNet(torch.nn.Module):
    """The tutorial's dynamic net: input layer, 0-3 shared middle layers, output layer."""

    def __init__(self, D_in: int, H: int, D_out: int, seed: int = 0) -> None:  # noqa: N803
        super().__init__()
        self.input_linear = torch.nn.Linear(D_in, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_out)
        self.rng = random.Random(seed)
        self.depth: int | None = None  # None: random, as in the tutorial
        self.last_depth = 0

    def forward(self, x: Any) -> Any:
        """Run input layer, a random number (0-3) of middle layers, output layer."""
        depth = self.rng.randint(0, 3) if self.depth is None else self.depth
        self.last_depth = depth
        h_relu = self.input_linear(x).clamp(min=0)
        self.hidden = h_relu
        for _ in range(depth):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        return self.output_linear(h_relu)


def make(seed: int = 0) -> tuple[DynamicNet, Any, Any]:
    """Return a seeded DynamicNet, its loss function and its optimizer (the tutorial's)."""
    torch.manual_seed(seed)
    model = DynamicNet(D_IN, HIDDEN, D_OUT, seed=seed)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    return model, loss_fn, optimizer


def train(
    steps: int,
    *,
    depths: list[int] | None = None,
    batches: list[int] | None = None,
    aux: list[str] | None = None,
    seed: int = 0,
) -> tuple[Any, list[int]]:
    """Train a DynamicNet for ``steps`` steps while recording; return the recorder and depths.

    Args:
        steps: how many training steps (one backward each).
        depths: a fixed depth per step (default: random, as in the tutorial).
        batches: the batch size per step (default 16).
        aux: per step ``""`` (no auxiliary loss), ``"on"`` (an L2 penalty on the first
            hidden layer) or ``"detached"`` (the same penalty on ``hidden.detach()``).
        seed: seeds the weights, the data and the random depths.
    """
    model, loss_fn, optimizer = make(seed)
    used = []
    with torch.trace.record() as rec:
        for step in range(steps):
            model.depth = None if depths is None else depths[step]
            n = 16 if batches is None else batches[step]
            x = torch.randn(n, D_IN)
            y = torch.randn(n, D_OUT)
            y_pred = model(x)
            loss = loss_fn(y_pred, y)
            mode = "" if aux is None else aux[step]
            if mode:
                hidden = model.hidden if mode == "on" else model.hidden.detach()
                loss = loss + 0.01 * hidden.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            used.append(model.last_depth)
    return rec, used
