"""08 A dynamic graph: DynamicNet, and the diff between two iterations.

From PyTorch's tutorial "Learning PyTorch with Examples": the middle layer runs 0 to 3
times per forward pass, chosen at random, reusing the same weights each time. Autograd
records the graph while the code runs, so every iteration has the graph of the code that
actually ran. ``gradviz.trace.record()`` keeps one graph per ``backward()``, and
``gradviz.trace.diff`` (or ``rec.diff(i, j)``) compares two of them by structure: what
was added, removed or changed, with gradient values left out.

Pictures: ``08_dynamic_net`` (an iteration that ran the middle layer twice: its weights
feed two ``TBackward0`` nodes, one per use) and ``08_dynamic_diff`` (depth 1 against
depth 2: the second use of the middle layer is added, in green).

Run: ``python samples/08_dynamic_net_diff.py [--out DIR] [--fast]``
"""


from __future__ import annotations

import random
from collections.abc import Sequence

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz.engine.tensor import Tensor
from gradviz.trace import Recorder

D_IN, HIDDEN, D_OUT = 4, 6, 2


class DynamicNet(torch.nn.Module):
    """The tutorial's net: input layer, 0-3 uses of one middle layer, output layer.

    Args:
        seed: seeds the random depth of each forward pass.
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.input_linear = torch.nn.Linear(D_IN, HIDDEN)
        self.middle_linear = torch.nn.Linear(HIDDEN, HIDDEN)
        self.output_linear = torch.nn.Linear(HIDDEN, D_OUT)
        self.rng = random.Random(seed)
        self.depth: int | None = None  # None: random, as in the tutorial
        self.last_depth = 0

    def forward(self, x: Tensor) -> Tensor:
        """Apply the input layer, the middle layer 0-3 times, then the output layer."""
        depth = self.rng.randint(0, 3) if self.depth is None else self.depth
        self.last_depth = depth
        h_relu = self.input_linear(x).clamp(min=0)
        for _ in range(depth):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        return self.output_linear(h_relu)


def train(depths: Sequence[int | None], batch: int = 8) -> tuple[Recorder, list[int]]:
    """Train a seeded DynamicNet one step per entry of ``depths`` while recording.

    Args:
        depths: the middle layer's uses per step; None picks it at random.
        batch: the batch size.

    Returns:
        The recorder (one graph per step) and the depth each step used.
    """
    torch.manual_seed(0)
    model = DynamicNet()
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    x, y = torch.randn(batch, D_IN), torch.randn(batch, D_OUT)
    used = []
    with torch.trace.record() as rec:
        for depth in depths:
            model.depth = depth
            y_pred = model(x)
            used.append(model.last_depth)
            loss = loss_fn(y_pred, y)
            loss.name = "loss"
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return rec, used


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    rec, _ = train([1, 2])
    return [
        Figure(
            "08_dynamic_net",
            rec.graphs[1],
            {"grads": False, "title": "DynamicNet, an iteration with the middle layer twice"},
        ),
        Figure("08_dynamic_diff", rec.diff(0, 1), {}),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Train with random depths, then compare the graphs of the iterations."""
    args = parse_args(argv, __doc__)
    steps = 4 if args.fast else 10

    section(f"{steps} training steps, the depth drawn at random each time")
    rec, depths = train([None] * steps)
    print(f"depths: {depths}")
    print(f"graphs recorded: {len(rec.graphs)}")
    sizes = [graph.number_of_nodes() for graph in rec.graphs]
    print(f"nodes per graph: {sizes}")

    section("each iteration against the first")
    for k in range(1, steps):
        result = rec.diff(0, k)
        print(f"iteration 0 (depth {depths[0]}) vs {k} (depth {depths[k]}): {result.summary()}")

    section("depth 1 against depth 2 (the picture)")
    fixed, _ = train([1, 2])
    result = fixed.diff(0, 1)
    print(result.summary())
    for op, row in result.counts.items():
        print(f"  {op:16s} +{row['added']} -{row['removed']} ~{row['changed']}")
    print("gradient values differ from one iteration to the next; the diff ignores them")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
