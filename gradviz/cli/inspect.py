"""``gradviz inspect``: a graph's summary, tree, parameters, gradients and warnings."""

from __future__ import annotations

import click

from gradviz.cli._common import (
    Loaded,
    load_target,
    pick_graph,
    run_script,
    split_target,
    user_errors,
)

__all__ = ["inspect"]


@click.command("inspect")
@click.argument("target", metavar="TARGET")
@click.option(
    "--iteration",
    type=int,
    default=None,
    metavar="K",
    help="Which backward pass (0-based; default: the last). Same as TARGET:K.",
)
@click.option(
    "--depth",
    "max_depth",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Show the tree N levels deep (default: all).",
)
@click.option(
    "--collapse",
    "collapse",
    multiple=True,
    metavar="MODULE",
    help="Fold a module's nodes into one line of the tree (repeatable; 'all' folds every "
    "top-level module).",
)
@click.option(
    "--timings/--no-timings",
    default=True,
    show_default=True,
    help="Show how long the backward took (off for output that must not change).",
)
@click.option(
    "--width",
    type=click.IntRange(min=40),
    default=None,
    metavar="COLUMNS",
    help="Width of the output (default: the terminal's, 100 in a pipe).",
)
@user_errors
def inspect(
    target: str,
    iteration: int | None,
    max_depth: int | None,
    collapse: tuple[str, ...],
    timings: bool,
    width: int | None,
) -> None:
    """Show a graph in the terminal: summary, tree, parameters, gradients, warnings.

    TARGET is a trace file (train.gvz, or train.gvz:3 for iteration 3) or a Python
    script, which is run (gradients recorded with their values) and whose last backward
    pass (or --iteration K) is shown. Without colour in a pipe or with NO_COLOR set.
    """
    from gradviz.renderers.console import inspect_graph, make_console  # noqa: PLC0415

    path, suffix = split_target(target)
    if path.suffix == ".py":
        if iteration is not None and suffix is not None and iteration != suffix:
            raise click.ClickException(
                f"TARGET {target!r} asks for iteration {suffix} but --iteration is "
                f"{iteration}. Give one of them."
            )
        wanted = iteration if iteration is not None else suffix
        chosen = Loaded(path, run_script(path, values=True), wanted, True)
    else:
        chosen = load_target(target, iteration=iteration)
    graph, _ = pick_graph(chosen)
    folded: bool | list[str] = True if "all" in collapse else list(collapse)
    console = make_console(width=width)
    console.print(inspect_graph(graph, max_depth=max_depth, collapse=folded, timings=timings))
