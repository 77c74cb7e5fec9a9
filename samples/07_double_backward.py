"""07 Double backward: the gradient is a tensor with a graph of its own.

``torch.autograd.grad(y, x, create_graph=True)`` runs the backward pass *with grad mode
on*: the backward formulas are ordinary tensor operations, so they record a graph, and
the gradient can be differentiated again. For ``y = x**3`` at ``x = 2``: ``dy/dx =
3x**2 = 12`` and ``d2y/dx2 = 6x = 12``.

The first picture draws ``y`` and ``dy/dx`` together: they share ``x``'s
``AccumulateGrad``; ``y``'s branch is the forward op (``PowBackward0``), ``dy/dx``'s is
the backward formula ``grad * 3 * x**2`` made of ordinary nodes. (PyTorch fuses some
backward formulas into nodes of their own, ``TanhBackwardBackward0`` say; gradviz writes
every backward formula with ordinary ops, so its second-order graphs show those ops.)

``loss.backward(create_graph=True)`` does the same into ``.grad``: the second picture is
the graph of ``x.grad`` for ``loss = x.tanh()``, ending in ``CopyBackwards``, the node
that wrote it into ``.grad``.

Pictures: ``07_double_backward`` and ``07_grad_has_a_graph``.

Run: ``python samples/07_double_backward.py [--out DIR] [--fast]``
"""


from __future__ import annotations

import warnings
from collections.abc import Sequence

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz.engine.tensor import Tensor


def cube() -> dict[str, Tensor]:
    """Return ``x = 2``, ``y = x**3`` and ``dy/dx`` computed with ``create_graph=True``."""
    x = torch.tensor(2.0, requires_grad=True)
    x.name = "x"
    y = x**3
    (dydx,) = torch.autograd.grad(y, x, create_graph=True)
    return {"x": x, "y": y, "dy/dx": dydx}


def tanh_grad() -> Tensor:
    """Return ``x`` after ``x.tanh().backward(create_graph=True)``: ``x.grad`` has a graph."""
    x = torch.tensor(0.5, requires_grad=True)
    x.name = "x"
    with warnings.catch_warnings():
        # backward(create_graph=True) warns about the reference cycle it makes between a
        # parameter and its gradient, as PyTorch does; the sample breaks it below.
        warnings.simplefilter("ignore", UserWarning)
        x.tanh().backward(create_graph=True)
    return x


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    t = cube()
    x = tanh_grad()
    grad_graph = torch.trace.capture({"x.grad": x.grad})
    x.grad = None  # break the parameter <-> gradient cycle
    return [
        Figure(
            "07_double_backward",
            torch.trace.capture({"y": t["y"], "dy/dx": t["dy/dx"]}),
            {"title": "y = x**3 and dy/dx = 3 * x**2 (create_graph=True)"},
        ),
        Figure(
            "07_grad_has_a_graph",
            grad_graph,
            {"title": "x.tanh().backward(create_graph=True): the graph of x.grad"},
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Differentiate twice, and show the graph that create_graph=True records."""
    args = parse_args(argv, __doc__)

    section("y = x**3 at x = 2")
    t = cube()
    x, y, dydx = t["x"], t["y"], t["dy/dx"]
    print(f"y = {y}")
    print(f"dy/dx = {dydx}   (3 * x**2; it has a grad_fn: it can be differentiated)")
    (d2ydx2,) = torch.autograd.grad(dydx, x)
    print(f"d2y/dx2 = {d2ydx2}   (6 * x)")

    section("without create_graph")
    (plain,) = torch.autograd.grad(x**3, x)
    print(f"dy/dx = {plain}, requires_grad={plain.requires_grad}: a constant")

    section("backward(create_graph=True) writes a .grad with a graph")
    x = tanh_grad()
    print(f"x.grad = {x.grad}")
    print(f"x.grad.grad_fn = {type(x.grad.grad_fn).__name__}")
    x.grad = None

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
