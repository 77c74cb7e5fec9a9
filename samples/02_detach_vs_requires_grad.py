"""02 x.requires_grad=False versus x.detach(): two ways to keep x out of the graph.

The same ``h = w*x + b`` as in sample 01, three ways:

1. ``x`` is a leaf created with ``requires_grad=False``. Autograd does not track it: there
   is no ``AccumulateGrad`` for ``x`` and ``MulBackward0``'s second input slot is empty
   (``None``). ``MulBackward0`` still *saves* ``x``'s value (the orange box), because
   ``dh/dw = x``.
2. ``x`` is computed (``x = u * 3`` from a leaf ``u``). Then ``requires_grad`` cannot be
   switched off (PyTorch's error says so and points to ``detach()``), and the whole branch
   ``u -> AccumulateGrad -> MulBackward0`` is part of the graph.
3. ``h = w * x.detach() + b``. ``detach()`` returns a new tensor that shares ``x``'s data
   but has no history, so everything upstream of ``x`` (``u``'s branch) is cut off: the
   picture is the one of case 1, and ``u.grad`` stays None. ``why_no_grad`` explains it.

Pictures: ``02_requires_grad_false``, ``02_x_computed``, ``02_detach``.

Run: ``python samples/02_detach_vs_requires_grad.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, node_names, parse_args, save_figures, section

import gradviz as torch
from gradviz.debugger import why_no_grad
from gradviz.engine.tensor import Tensor

_SAVED = {"show_saved": True}


def _leaf(value: float, name: str, requires_grad: bool = True) -> Tensor:
    t = torch.tensor([value], requires_grad=requires_grad)
    t.name = name
    return t


def constant_x() -> dict[str, Tensor]:
    """Case 1: ``x`` is a leaf with ``requires_grad=False``."""
    w, b = _leaf(2.0, "w"), _leaf(1.0, "b")
    x = _leaf(3.0, "x", requires_grad=False)
    h = w * x + b
    h.name = "h"
    return {"w": w, "x": x, "b": b, "h": h}


def computed_x(detach: bool) -> dict[str, Tensor]:
    """Cases 2 and 3: ``x = u * 3`` from a leaf ``u``, used as is or detached."""
    w, b, u = _leaf(2.0, "w"), _leaf(1.0, "b"), _leaf(1.0, "u")
    x = u * 3
    h = w * (x.detach() if detach else x) + b
    h.name = "h"
    return {"w": w, "u": u, "x": x, "b": b, "h": h}


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    capture = torch.trace.capture
    return [
        Figure(
            "02_requires_grad_false",
            capture(constant_x()["h"], saved=True),
            {**_SAVED, "title": "x.requires_grad = False"},
        ),
        Figure(
            "02_x_computed",
            capture(computed_x(detach=False)["h"], saved=True),
            {**_SAVED, "title": "x = u * 3 (x is not a leaf)"},
        ),
        Figure(
            "02_detach",
            capture(computed_x(detach=True)["h"], saved=True),
            {**_SAVED, "title": "h = w * x.detach() + b"},
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Build the three variants, show what each graph holds and who gets a gradient."""
    args = parse_args(argv, __doc__)

    section("1. x is a leaf with requires_grad=False")
    t = constant_x()
    print(f"x.requires_grad={t['x'].requires_grad}, x.is_leaf={t['x'].is_leaf}")
    mul = t["h"].grad_fn.next_functions[0][0]
    print(f"MulBackward0.next_functions -> {node_names(mul)}   (no slot for x)")
    t["h"].backward()
    print(f"after backward: w.grad = {t['w'].grad}, x.grad = {t['x'].grad}")

    section("2. x = u * 3 is computed: requires_grad cannot be switched off")
    t = computed_x(detach=False)
    try:
        t["x"].requires_grad = False
    except RuntimeError as err:
        print(f"x.requires_grad = False -> RuntimeError: {err}")
    t["h"].backward()
    print(f"after backward: u.grad = {t['u'].grad}   (the gradient flows through x to u)")

    section("3. h = w * x.detach() + b")
    t = computed_x(detach=True)
    detached = t["x"].detach()
    print(
        f"x.detach(): requires_grad={detached.requires_grad}, is_leaf={detached.is_leaf}, "
        f"grad_fn={detached.grad_fn}, same values as x: {bool((detached == t['x']).all())}"
    )
    verdict = why_no_grad(t["h"], t["u"], name="u")
    print(f"why_no_grad(h, u) -> {verdict.cause}: {verdict.message}")
    t["h"].backward()
    print(f"after backward: w.grad = {t['w'].grad}, u.grad = {t['u'].grad}")

    section("a leaf that requires grad, used through detach()")
    x = _leaf(3.0, "x")
    w, b = _leaf(2.0, "w"), _leaf(1.0, "b")
    h = w * x.detach() + b
    verdict = why_no_grad(h, x, name="x")
    print(f"why_no_grad(h, x) -> {verdict.cause}")
    for line in verdict.evidence:
        print(f"  {line}")
    h.backward()
    print(f"x.requires_grad={x.requires_grad}, but after backward x.grad = {x.grad}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
