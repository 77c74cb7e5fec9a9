"""12 A small transformer block: TransformerEncoderLayer, in module clusters and folded.

One ``nn.TransformerEncoderLayer`` (model width 8, two attention heads, feed-forward
width 16, no dropout) on a batch of two sequences of five tokens. The graph shows
self-attention as PyTorch computes it: one packed input projection (``in_proj_weight``
sliced into query, key and value), the heads as views and transposes, two batched
matmuls (``BmmBackward0``) around the softmax, then the output projection; then the
residual additions, the two layer norms and the feed-forward block.

The second picture draws the same graph with ``max_depth=0``: every top-level module is
folded into one 3-D box that says how many ops and leaves it holds, the way to look at a
big model from afar.

Pictures: ``12_transformer_block`` and ``12_transformer_block_folded``.

Run: ``python samples/12_transformer_block.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz import nn
from gradviz.engine.tensor import Tensor


def build(batch: int = 2, tokens: int = 5) -> tuple[nn.TransformerEncoderLayer, Tensor, Tensor]:
    """Return a seeded encoder layer, its output on a random batch, and the MSE to a target.

    Args:
        batch: sequences per batch.
        tokens: tokens per sequence.
    """
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True
    )
    src, target = torch.randn(batch, tokens, 8), torch.randn(batch, tokens, 8)
    out = layer(src)
    loss = nn.functional.mse_loss(out, target)
    loss.name = "loss"
    return layer, out, loss


def train(steps: int, batch: int = 8, tokens: int = 5) -> list[float]:
    """Train a fresh block on synthetic data (copy each token's reversed features).

    Returns:
        The loss of every step; it must go down.
    """
    torch.manual_seed(1)
    layer = nn.TransformerEncoderLayer(
        d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True
    )
    src = torch.randn(batch, tokens, 8)
    target = src.flip(-1)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(layer(src), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    _, _, loss = build()
    graph = torch.trace.capture(loss)
    return [
        Figure(
            "12_transformer_block",
            graph,
            {"title": "TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)"},
        ),
        Figure(
            "12_transformer_block_folded",
            graph,
            {"max_depth": 0, "title": "the same graph, modules folded (max_depth=0)"},
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the block forward and backward and describe its graph by module."""
    args = parse_args(argv, __doc__)
    layer, out, loss = build(tokens=3 if args.fast else 5)

    section("the block")
    print(layer)
    print(f"output {tuple(out.shape)}, loss = {loss.item():.4f}")

    section("the graph: ops by the module that made them")
    graph = torch.trace.capture(loss)
    counts: dict[str, int] = {}
    for _, data in graph.nodes(data=True):
        if data["kind"] == "op" and data["label"] != "AccumulateGrad":
            module = data.get("module") or "(the layer itself)"
            counts[module] = counts.get(module, 0) + 1
    for module in sorted(counts):
        print(f"{module:28s} {counts[module]:3d}")

    section("backward")
    loss.backward()
    for name, param in layer.named_parameters():
        print(f"{name:28s} grad {tuple(param.grad.shape)}")

    section("training on synthetic data (target: each token's features reversed)")
    losses = train(15 if args.fast else 60)
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} in {len(losses)} Adam steps")
    print(f"loss went down: {losses[-1] < losses[0] / 2}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
