"""``gradviz demo``: draw the bundled sample programs, the README's first command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gradviz.cli._common import user_errors

__all__ = ["demo", "demo_graphs"]


def demo_graphs() -> list[tuple[str, str, Any, dict[str, Any]]]:
    """Build the demo's graphs: ``(file stem, caption, graph, render options)`` each.

    - ``seed``: ``h = w*x + b``, captured before backward, in torchviz's look;
    - ``tutorial``: PyTorch's tutorial graph with its saved tensors (``y*y`` saves ``y``
      twice; the dashed edges show what backward will read);
    - ``mlp``: one recorded SGD step of a 4-8-3 MLP, clustered by module, with the norm
      of the gradient at every node.
    """
    from gradviz.examples import seed as examples  # noqa: PLC0415 - keeps --help fast
    from gradviz.trace import capture, record  # noqa: PLC0415

    h, params = examples.seed_example()
    out, leaves = examples.tutorial_example()
    model = examples.TinyMLP()
    x, target = examples.mlp_batch()
    with record() as recorder:
        examples.mlp_training_step(model, x, target)
    return [
        ("seed", "h = w*x + b", capture(h, params=params), {}),
        (
            "tutorial",
            "y = x + 2; z = y*y*3; out = z.mean()",
            capture(out, params=leaves, saved=True),
            {"show_saved": True, "show_attrs": True},
        ),
        (
            "mlp",
            "one SGD step of Linear(4, 8) -> ReLU -> Linear(8, 3), with gradient norms",
            recorder.graphs[-1],
            {"legend": True},
        ),
    ]


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gradviz-demo"),
    show_default=True,
    help="Folder to write the pictures to (created when missing).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("pdf", "svg", "png", "dot")),
    default="pdf",
    show_default=True,
    help="Picture format.",
)
@user_errors
def demo(out_dir: Path, fmt: str) -> None:
    """Draw the bundled samples: h = w*x + b, PyTorch's tutorial graph and an MLP step.

    Prints the path of each picture it writes.
    """
    from gradviz.renderers.graphviz import render  # noqa: PLC0415 - keeps --help fast

    for stem, caption, graph, options in demo_graphs():
        path = render(graph, out_dir / f"{stem}.{fmt}", format=fmt, title=caption, **options)
        click.echo(f"{path}    {caption}")
