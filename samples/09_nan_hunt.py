"""09 A NaN hunt: where do the NaN gradients come from?

A loss that is perfectly finite can still give NaN gradients. Here the loss is the mean
distance from three points to three anchors, ``sqrt(sum((points - anchors)**2))``, and
the first point sits exactly on its anchor: its distance is 0, which is fine, but the
derivative of ``sqrt`` at 0 is infinite. ``SqrtBackward0`` turns a finite gradient into
Inf, then ``PowBackward0`` multiplies that Inf by ``2 * (points - anchors) = 0`` and
makes NaN, which reaches ``points.grad``.

``gradviz.trace.record()`` keeps the gradient summaries of every node, and
``gradviz.debugger.find_nan_origin`` reads them in execution order and names the node
where non-finite values *start*. The picture colours every node that saw NaN or Inf red
and circles the two origins in blue. To stop there interactively, run the sample under
the debugger: ``gradviz step samples/09_nan_hunt.py -c "b nan;c;p grad_out;c"``.

The fix is the usual one: keep ``sqrt`` away from 0 (``(squared + 1e-12).sqrt()``).

Picture: ``09_nan_hunt``.

Run: ``python samples/09_nan_hunt.py [--out DIR] [--fast]``
"""


from __future__ import annotations

from collections.abc import Sequence

from _tour import Figure, parse_args, save_figures, section

import gradviz as torch
from gradviz.debugger import find_nan_origin
from gradviz.engine.tensor import Tensor

# NOTE: the values are small dyadic numbers on purpose: every gradient in the picture
# (1/3, 1/6, ...) is then computed exactly the same way on every machine.
ANCHORS = [[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]
POINTS = [[0.0, 0.0], [1.0, 2.0], [2.0, 1.0]]


def distance_loss(eps: float = 0.0) -> tuple[Tensor, Tensor]:
    """Return ``points`` and the mean distance from each point to its anchor.

    Args:
        eps: added under the square root; 0 reproduces the NaN.
    """
    anchors = torch.tensor(ANCHORS)
    points = torch.tensor(POINTS, requires_grad=True)
    points.name = "points"
    squared = (points - anchors).pow(2).sum(dim=1)
    distance = (squared + eps).sqrt() if eps else squared.sqrt()
    loss = distance.mean()
    loss.name = "loss"
    return points, loss


def recorded() -> tuple[Tensor, object]:
    """Run the NaN-making backward under ``record()``; return ``points`` and its graph."""
    points, loss = distance_loss()
    with torch.trace.record() as rec:
        loss.backward()
    return points, rec.graphs[0]


def figures(fast: bool = False) -> list[Figure]:
    """Return the pictures of this sample (``fast`` changes nothing here)."""
    _, graph = recorded()
    origins = {finding.node: "blue" for finding in find_nan_origin(graph).origins}
    return [
        Figure(
            "09_nan_hunt",
            graph,
            {
                "grads": True,
                "highlight": origins,
                "title": "mean distance to the anchors: red nodes saw NaN/Inf, blue = origin",
            },
        )
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Make the NaN, find where it starts, then fix it."""
    args = parse_args(argv, __doc__)

    section("the loss is finite, its gradient is not")
    points, graph = recorded()
    print(f"distances: {(points.detach() - torch.tensor(ANCHORS)).pow(2).sum(dim=1).sqrt()}")
    print(f"points.grad =\n{points.grad}")

    section("where the non-finite gradients start")
    for line in find_nan_origin(graph).report():
        print(line)

    section("the fix: sqrt(squared + 1e-12)")
    points, loss = distance_loss(eps=1e-12)
    loss.backward()
    print(f"points.grad =\n{points.grad}")
    print(f"finite: {bool(points.grad.isfinite().all())}")

    save_figures(figures(args.fast), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
