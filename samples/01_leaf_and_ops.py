"""01 Leaves, ops and AccumulateGrad: the graph of h = w*x + b.

Three leaf tensors that require grad (``w``, ``x``, ``b``) and two ops. Each op makes a
backward node named as in PyTorch: ``w*x`` makes ``MulBackward0``, ``+ b`` makes
``AddBackward0``. Each leaf gets one ``AccumulateGrad`` node: the node that writes the
leaf's ``.grad`` during ``backward()``. The pictures run in the forward direction, leaf to
output, as torchviz draws them; ``backward()`` walks them from the bottom up.

Pictures: ``01_h_wx_b`` (the graph after the forward pass) and ``01_h_wx_b_backward``
(the same graph recorded during ``h.backward()``, with the norm of the gradient that
reached every node: the gradients are 3, 2 and 1, exact in floating point).

Run: ``python samples/01_leaf_and_ops.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, node_names, parse_args, save_figures, section

import gradviz as torch
from gradviz.engine.tensor import Tensor


def build() -> dict[str, Tensor]:
    """Run the forward pass ``h = w*x + b`` with ``w = 2``, ``x = 3``, ``b = 1``.

    Returns:
        ``w``, ``x``, ``b`` and ``h`` by name; the leaves carry their names.
    """
    w = torch.tensor([2.0], requires_grad=True)
    x = torch.tensor([3.0], requires_grad=True)
    b = torch.tensor([1.0], requires_grad=True)
    w.name, x.name, b.name = "w", "x", "b"
    h = w * x + b
    return {"w": w, "x": x, "b": b, "h": h}


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    t = build()
    forward = torch.trace.capture({"h": t["h"]})
    with torch.trace.record() as rec:
        t["h"].backward()
    return [
        Figure("01_h_wx_b", forward, {"title": "h = w*x + b"}),
        Figure(
            "01_h_wx_b_backward",
            rec.graphs[0],
            {"title": "h.backward(): the gradient that reached each node", "grads": True},
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the graph of ``h = w*x + b`` node by node, run backward, draw the pictures."""
    args = parse_args(argv, __doc__)
    t = build()
    w, x, b, h = t["w"], t["x"], t["b"], t["h"]

    section("forward: h = w*x + b")
    print(f"h = {h}")
    print(f"h.grad_fn = {type(h.grad_fn).__name__}")
    print(f"h.grad_fn.next_functions -> {node_names(h.grad_fn)}")
    mul = h.grad_fn.next_functions[0][0]
    print(f"{type(mul).__name__}.next_functions -> {node_names(mul)}")
    accumulate_w = mul.next_functions[0][0]
    print(f"the first AccumulateGrad holds w: {accumulate_w.variable is w}")

    section("leaves")
    for name, tensor in (("w", w), ("x", x), ("b", b), ("h", h)):
        print(
            f"{name}: is_leaf={tensor.is_leaf}, requires_grad={tensor.requires_grad}, "
            f"grad_fn={None if tensor.grad_fn is None else type(tensor.grad_fn).__name__}"
        )

    section("backward")
    h.backward()
    print("h.backward() walks AddBackward0 -> MulBackward0 -> AccumulateGrad (x3)")
    print(f"w.grad = {w.grad}    (dh/dw = x)")
    print(f"x.grad = {x.grad}    (dh/dx = w)")
    print(f"b.grad = {b.grad}    (dh/db = 1)")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
