"""05 Hooks: what fires, and in which order, during __call__ and backward().

``Block`` is ``Linear(3, 2)`` then ``ReLU``. Every module of it (``block``, ``fc``,
``act``) gets the four module hooks: forward pre-hook, forward hook, full backward
pre-hook and full backward hook. Tensor hooks go on the input ``x`` and on the output
``y``, a node pre-hook on the loss's ``SumBackward0``, and a post-accumulate-grad hook on
``fc.weight``. The sample prints the hooks in the order they fire; it is PyTorch's order:
forward hooks nest like the calls, backward hooks run in reverse, a tensor's hooks run
just before the node that consumes its gradient.

Full backward hooks change the graph: the module's inputs and outputs pass through
``BackwardHookFunctionBackward`` nodes (the picture shows one on each side of each
module); forward hooks alone change nothing.

Picture: ``05_hooks``.

Run: ``python samples/05_hooks.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz import nn
from gradviz.engine.tensor import Tensor


class Block(nn.Module):
    """``ReLU(Linear(3, 2)(x))`` as two named submodules, ``fc`` and ``act``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        """Apply ``fc`` then ``act``."""
        return self.act(self.fc(x))


def build() -> tuple[Block, Tensor, Tensor, list[str], list[Any]]:
    """Make a seeded ``Block``, register every hook, run the forward pass.

    Returns:
        The block, the input ``x``, the loss ``block(x).sum()``, the log the hooks append
        to (one line per hook call, in firing order) and the handles of every hook.
    """
    torch.manual_seed(0)
    block = Block()
    log: list[str] = []
    handles: list[Any] = []
    for path, module in block.named_modules():
        name = path or "block"
        handles += [
            module.register_forward_pre_hook(
                lambda m, args, n=name: log.append(f"forward pre-hook     {n}")
            ),
            module.register_forward_hook(
                lambda m, args, out, n=name: log.append(f"forward hook         {n}")
            ),
            module.register_full_backward_pre_hook(
                lambda m, grad_out, n=name: log.append(f"backward pre-hook    {n}")
            ),
            module.register_full_backward_hook(
                lambda m, grad_in, grad_out, n=name: log.append(f"backward hook        {n}")
            ),
        ]
    x = torch.randn(4, 3, requires_grad=True)
    x.name = "x"
    handles.append(x.register_hook(lambda g: log.append("tensor hook          x")))
    handles.append(
        block.fc.weight.register_post_accumulate_grad_hook(
            lambda p: log.append("post-accumulate hook fc.weight")
        )
    )
    log.append("-- block(x) --")
    y = block(x)
    handles.append(y.register_hook(lambda g: log.append("tensor hook          y")))
    loss = y.sum()
    loss.name = "loss"
    handles.append(
        loss.grad_fn.register_prehook(lambda grads: log.append("node pre-hook        SumBackward0"))
    )
    return block, x, loss, log, handles


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    _, _, loss, _, _ = build()
    return [
        Figure(
            "05_hooks",
            torch.trace.capture(loss),
            {"title": "full backward hooks wrap each module in BackwardHookFunctionBackward"},
        )
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run forward and backward with every kind of hook and print them as they fire."""
    args = parse_args(argv, __doc__)
    block, x, loss, log, handles = build()
    log.append("-- loss.backward() --")
    loss.backward()

    section("hooks, in the order they fired")
    for line in log:
        print(line)

    section("hooks are removable")
    for handle in handles:
        handle.remove()
    log.clear()
    block(x).sum().backward()
    print(f"after handle.remove() on all {len(handles)} handles: {len(log)} hook calls")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
