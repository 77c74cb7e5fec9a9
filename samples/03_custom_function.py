"""03 A custom autograd Function: LinearFunction and its node LinearFunctionBackward.

PyTorch's documentation example, unchanged but for the import: ``forward`` computes
``input @ weight.T + bias`` and saves its three inputs with ``ctx.save_for_backward``;
``backward`` reads them back from ``ctx.saved_tensors`` and returns one gradient per input,
skipping those ``ctx.needs_input_grad`` says nobody needs.

The node a Function makes is named ``<ClassName>Backward`` (no digit, unlike built-in
nodes). With ``show_saved`` the picture shows what it saved: a saved tensor that *is* a
leaf is a dashed edge from that leaf, labelled with its slot (``0``, ``1``, ``2``); a saved
tensor that is not in the graph (an input that does not require grad) is an orange box.

Pictures: ``03_linear_function`` (all inputs require grad) and
``03_linear_function_const_input`` (the input is data that does not require grad).

Run: ``python samples/03_custom_function.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _tour import Figure, node_names, parse_args, save_figures, section

import gradviz as torch
from gradviz.autograd import Function
from gradviz.engine.tensor import Tensor


class LinearFunction(Function):
    """``input @ weight.T + bias`` with a hand-written backward (PyTorch's docs example)."""

    @staticmethod
    def forward(ctx: Any, input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
        """Compute the layer and save the inputs that backward needs."""
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        """Return d/dinput = g @ W, d/dweight = g.T @ input, d/dbias = sum of g over rows."""
        input, weight, bias = ctx.saved_tensors  # noqa: A001 - PyTorch's example names
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


def build(input_requires_grad: bool = True, dtype: Any = None) -> dict[str, Tensor]:
    """Apply ``LinearFunction`` to a (5, 4) input, a (3, 4) weight and a (3,) bias.

    Args:
        input_requires_grad: whether the input is a leaf that requires grad.
        dtype: the dtype of all three (default float32).

    Returns:
        ``input``, ``weight``, ``bias`` and ``out`` (the layer's output) by name.
    """
    torch.manual_seed(0)
    input = torch.randn(5, 4, dtype=dtype, requires_grad=input_requires_grad)  # noqa: A001
    weight = torch.randn(3, 4, dtype=dtype, requires_grad=True)
    bias = torch.randn(3, dtype=dtype, requires_grad=True)
    input.name, weight.name, bias.name = "input", "weight", "bias"
    out = LinearFunction.apply(input, weight, bias)
    out.name = "out"
    return {"input": input, "weight": weight, "bias": bias, "out": out}


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    options = {"show_saved": True, "show_attrs": True}
    return [
        Figure(
            "03_linear_function",
            torch.trace.capture(build()["out"], saved=True),
            {**options, "title": "LinearFunction.apply(input, weight, bias)"},
        ),
        Figure(
            "03_linear_function_const_input",
            torch.trace.capture(build(input_requires_grad=False)["out"], saved=True),
            {**options, "title": "the same, the input does not require grad"},
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Apply the Function, show its node and saved tensors, check its gradients."""
    args = parse_args(argv, __doc__)

    section("the node of a custom Function")
    t = build()
    node = t["out"].grad_fn
    print(f"out = LinearFunction.apply(input, weight, bias): shape {tuple(t['out'].shape)}")
    print(f"out.grad_fn = {type(node).__name__}, name() = {node.name()!r}")
    print(f"next_functions -> {node_names(node)}")
    print(f"needs_input_grad = {node.needs_input_grad}")
    shapes = [tuple(s.shape) for s in node.saved_tensors]
    print(f"saved_tensors: {len(shapes)} tensors, shapes {shapes}")

    section("the input does not require grad")
    t = build(input_requires_grad=False)
    node = t["out"].grad_fn
    print(f"next_functions -> {node_names(node)}")
    print(f"needs_input_grad = {node.needs_input_grad}   (backward skips grad_input)")

    section("gradcheck in float64")
    t = build(dtype=torch.float64)
    ok = torch.autograd.gradcheck(LinearFunction.apply, (t["input"], t["weight"], t["bias"]))
    print(f"gradcheck(LinearFunction.apply, (input, weight, bias)) -> {ok}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
