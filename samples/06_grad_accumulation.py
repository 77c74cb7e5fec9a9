"""06 Gradients accumulate: two backward() calls, then zero_grad.

``backward()`` does not *set* ``.grad``, it *adds* to it: ``AccumulateGrad`` receives
the same gradient on every call, and the leaf's ``.grad`` grows. That is why training
loops call ``optimizer.zero_grad()`` (which sets ``.grad`` to None by default; with
``set_to_none=False`` it fills the same tensor with zeros) and why summing the gradients
of two half batches, each loss divided by two, gives the gradient of the whole batch.

Pictures: ``06_backward_1`` and ``06_backward_2``, the graph of ``loss = w * 3`` recorded
during each ``backward()``: ``AccumulateGrad`` gets 3 both times, ``w``'s ``.grad`` is 3,
then 6.

Run: ``python samples/06_grad_accumulation.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz import nn
from gradviz.engine.tensor import Tensor


def two_backwards() -> tuple[Tensor, list[Tensor | None], list[object]]:
    """Call ``(w * 3).backward()`` twice on a scalar leaf ``w = 2`` while recording.

    Returns:
        ``w``, a copy of ``w.grad`` after each call, and the two recorded graphs.
    """
    w = torch.tensor(2.0, requires_grad=True)
    w.name = "w"
    grads: list[Tensor | None] = []
    with torch.trace.record() as rec:
        for _ in range(2):
            loss = w * 3
            loss.name = "loss"
            loss.backward()
            grads.append(None if w.grad is None else w.grad.clone())
    return w, grads, list(rec.graphs)


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    _, _, graphs = two_backwards()
    return [
        Figure(
            f"06_backward_{k + 1}",
            graph,
            {"grads": True, "title": f"backward() #{k + 1}: w.grad = {3 * (k + 1)}"},
        )
        for k, graph in enumerate(graphs)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Show accumulation, zero_grad, and gradient accumulation over micro-batches."""
    args = parse_args(argv, __doc__)

    section("two backward() calls add up")
    w, grads, _ = two_backwards()
    for k, grad in enumerate(grads):
        print(f"after backward #{k + 1}: w.grad = {grad}")

    section("zero_grad")
    optimizer = torch.optim.SGD([w], lr=0.1)
    kept = w.grad
    optimizer.zero_grad(set_to_none=False)
    print(f"zero_grad(set_to_none=False): w.grad = {w.grad}, same tensor: {w.grad is kept}")
    optimizer.zero_grad()
    print(f"zero_grad():                  w.grad = {w.grad}")

    section("accumulating over two micro-batches")
    torch.manual_seed(0)
    batch = 4 if args.fast else 16
    model = nn.Linear(3, 1)
    x, y = torch.randn(batch, 3), torch.randn(batch, 1)
    loss_fn = nn.MSELoss()

    model.zero_grad()
    loss_fn(model(x), y).backward()
    full = model.weight.grad.clone()

    model.zero_grad()
    half = batch // 2
    for part in (slice(0, half), slice(half, batch)):
        (loss_fn(model(x[part]), y[part]) / 2).backward()
    accumulated = model.weight.grad
    gap = float((accumulated - full).abs().max())
    print(f"batch of {batch}: weight.grad of the whole batch = {full}")
    print(f"two halves, loss / 2 each:    accumulated grad = {accumulated}")
    print(f"the same up to rounding: {gap < 1e-6}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
