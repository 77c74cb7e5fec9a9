"""11 A small CNN: Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear, in module clusters.

``SmallCNN`` classifies 8x8 one-channel images into 10 classes: ``features`` (a
``Sequential`` of convolution, batch norm, ReLU and max pooling) then ``classifier``
(flatten and a linear layer), with PyTorch's cross-entropy loss. Clusters nest like the
modules (``features`` holds ``features.0`` ... ``features.3``), and the node names are
PyTorch's: ``ConvolutionBackward0``, ``NativeBatchNormBackward0``,
``MaxPool2DWithIndicesBackward0``, ``ViewBackward0`` (flatten), and for
``cross_entropy`` no node of its own but ``LogSoftmaxBackward0`` then
``NllLossBackward0``.

BatchNorm's running statistics are buffers: updated in the forward pass, absent from
the graph.

Picture: ``11_small_cnn``.

Run: ``python samples/11_small_cnn.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz import nn
from gradviz.engine.tensor import Tensor


class SmallCNN(nn.Module):
    """Conv(1->4, 3x3) -> BatchNorm -> ReLU -> MaxPool(2) -> Flatten -> Linear(64, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 10))

    def forward(self, x: Tensor) -> Tensor:
        """Return class scores for a batch of ``(N, 1, 8, 8)`` images."""
        return self.classifier(self.features(x))


def build(batch: int = 2) -> tuple[SmallCNN, Tensor, Tensor, Tensor]:
    """Return a seeded CNN, a batch of images and labels, and the cross-entropy loss."""
    torch.manual_seed(0)
    model = SmallCNN()
    images = torch.randn(batch, 1, 8, 8)
    labels = torch.randint(0, 10, (batch,))
    loss = nn.functional.cross_entropy(model(images), labels)
    loss.name = "loss"
    return model, images, labels, loss


def train(steps: int, batch: int = 32) -> list[float]:
    """Train a fresh CNN on synthetic data and return the loss of every step.

    The task is learnable: an image's label is the quadrant holding a bright square, so
    the loss must go down.
    """
    torch.manual_seed(1)
    model = SmallCNN()
    labels = torch.randint(0, 4, (batch,))
    images = torch.randn(batch, 1, 8, 8) * 0.1
    for i, label in enumerate(labels.tolist()):
        row, col = divmod(label, 2)
        images[i, 0, row * 4 : row * 4 + 4, col * 4 : col * 4 + 4] += 1.0
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    _, _, _, loss = build()
    return [
        Figure(
            "11_small_cnn",
            torch.trace.capture(loss),
            {"title": "SmallCNN: features (conv, batch norm, relu, pool) -> classifier"},
        )
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one training step of the CNN and describe its graph."""
    args = parse_args(argv, __doc__)
    model, images, labels, loss = build(batch=2 if args.fast else 16)

    section("the model")
    print(model)
    total = sum(p.numel() for p in model.parameters())
    print(f"{total} parameters; buffers: {[name for name, _ in model.named_buffers()]}")

    section("one training step")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    graph = torch.trace.capture(loss)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"images {tuple(images.shape)}, labels {labels.tolist()}, loss = {loss.item():.4f}")
    print(f"conv weight grad: {tuple(model.features[0].weight.grad.shape)}")
    print(f"running_mean after the step: {model.features[1].running_mean}")

    section("training on synthetic data (label = the bright quadrant)")
    losses = train(15 if args.fast else 60)
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} in {len(losses)} Adam steps")
    print(f"loss went down: {losses[-1] < losses[0] / 2}")

    section("the graph")
    ops = sorted({d["label"] for _, d in graph.nodes(data=True) if d["kind"] == "op"})
    print(f"{graph.number_of_nodes()} nodes; ops: {', '.join(ops)}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
