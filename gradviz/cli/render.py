"""``gradviz render`` (draw a graph) and ``gradviz run`` (record a script's graphs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gradviz.cli._common import (
    describe_graph,
    load_target,
    one_line,
    pick_graph,
    run_script,
    user_errors,
)

__all__ = ["render", "run"]

_FORMATS = ("pdf", "svg", "png", "dot", "json")
_SUFFIXES = {
    ".pdf": "pdf",
    ".svg": "svg",
    ".png": "png",
    ".dot": "dot",
    ".gv": "dot",
    ".json": "json",
}
# Above this many nodes a spinner shows while dot lays the graph out (on a terminal only).
_PROGRESS_NODES = 300
_SUMMARY_LINES = 10


def _output_format(output: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    found = _SUFFIXES.get(output.suffix.lower())
    if found is None:
        raise click.BadParameter(
            f"cannot tell the format from {str(output)!r}: end it in "
            ".pdf, .svg, .png, .dot or .json, or pass --format.",
            param_hint="'-o' / '--output'",
        )
    return found


@click.command("render")
@click.argument("target", metavar="TARGET")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write; its suffix picks the format (.pdf .svg .png .dot .json).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default=None,
    help="Format to write, whatever the suffix of OUTPUT.",
)
@click.option(
    "--iteration",
    type=int,
    default=None,
    metavar="K",
    help="Which backward pass (0-based; default: the last). Same as TARGET:K.",
)
@click.option("--show-attrs", is_flag=True, help="Show each op's parameters and saved tensors.")
@click.option("--show-saved", is_flag=True, help="Draw the tensors saved for backward.")
@click.option(
    "--show-inputs",
    is_flag=True,
    help="Draw the tensors that feed an op without requiring grad (data, masks).",
)
@click.option(
    "--grads/--no-grads",
    default=None,
    help="Annotate gradient norms and NaN/Inf (default: when the graph has a backward).",
)
@click.option(
    "--cluster-modules/--no-cluster-modules",
    default=True,
    show_default=True,
    help="Group each module's nodes in a cluster labelled with its dotted path.",
)
@click.option(
    "--depth",
    "--max-depth",
    "max_depth",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Fold modules nested deeper than N into one box each (0: fold top-level modules).",
)
@click.option(
    "--max-nodes",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    metavar="N",
    help="Fold repeated blocks, then modules, until at most N boxes are drawn (0: no limit).",
)
@click.option(
    "--fold-repeats/--no-fold-repeats",
    default=None,
    help="Draw identical numbered blocks (layers.0-11) once, as one cluster "
    "(default: only when over --max-nodes).",
)
@click.option("--edge-shapes", is_flag=True, help="Label edges with tensor shapes.")
@click.option("--legend", is_flag=True, help="Add a legend of the colours.")
@click.option(
    "--rankdir",
    type=click.Choice(("TB", "LR", "BT", "RL")),
    default="TB",
    show_default=True,
    help="Direction of the layout.",
)
@user_errors
def render(
    target: str,
    output: Path,
    fmt: str | None,
    iteration: int | None,
    show_attrs: bool,
    show_saved: bool,
    show_inputs: bool,
    grads: bool | None,
    cluster_modules: bool,
    max_depth: int | None,
    max_nodes: int,
    fold_repeats: bool | None,
    edge_shapes: bool,
    legend: bool,
    rankdir: str,
) -> None:
    """Draw a graph from TARGET to OUTPUT (PDF, SVG, PNG, DOT or JSON).

    TARGET is a trace file (train.gvz, or train.gvz:3 for iteration 3) or a Python
    script, which is run and whose last backward pass (or --iteration K) is drawn.
    """
    out_format = _output_format(output, fmt)
    loaded = load_target(target, iteration=iteration, saved=show_saved, inputs=show_inputs)
    graph, chosen = pick_graph(loaded)
    if show_inputs and not loaded.is_script and not _has_inputs(graph):
        click.echo(
            f"note: {loaded.path.name} holds no input nodes; record it with "
            "`gradviz run --inputs` to draw them.",
            err=True,
        )
    options: dict[str, Any] = {
        "show_attrs": show_attrs,
        "show_saved": show_saved,
        "show_inputs": show_inputs,
        "grads": grads,
        "clusters": cluster_modules,
        "max_depth": max_depth,
        "max_nodes": max_nodes or None,
        "fold_repeats": fold_repeats,
        "edge_shapes": edge_shapes,
        "legend": legend,
        "rankdir": rankdir,
    }
    _draw(graph, output, out_format, options)
    click.echo(
        f"wrote {output} ({out_format}): iteration {chosen} of {loaded.path.name}, "
        f"{describe_graph(graph)}"
    )


def _has_inputs(graph: Any) -> bool:
    """Whether a graph has input nodes (leaves that do not require grad)."""
    return any(
        d.get("kind") == "leaf" and d.get("requires_grad") is False
        for _, d in graph.nodes(data=True)
    )


def _draw(graph: Any, output: Path, out_format: str, options: dict[str, Any]) -> None:
    """Render with a spinner on a terminal for big graphs; library errors become one line."""
    from rich.console import Console  # noqa: PLC0415 - keeps `gradviz --help` fast

    from gradviz.renderers.graphviz import render as render_graph  # noqa: PLC0415

    console = Console(stderr=True)
    try:
        if console.is_terminal and graph.number_of_nodes() > _PROGRESS_NODES:
            message = f"drawing {graph.number_of_nodes()} nodes with Graphviz..."
            with console.status(message):
                render_graph(graph, output, format=out_format, **options)
        else:
            render_graph(graph, output, format=out_format, **options)
    except (ValueError, TypeError) as err:
        # The graph came from a file: a schema it does not follow is the file's problem.
        raise click.ClickException(one_line(err)) from err


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("script", type=click.Path(path_type=Path))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("trace.gvz"),
    show_default=True,
    help="Trace file to write.",
)
@click.option("--values", is_flag=True, help="Also keep the gradient arrays, not only summaries.")
@click.option("--saved", is_flag=True, help="Also record the tensors saved for backward.")
@click.option(
    "--inputs",
    is_flag=True,
    help="Also record the tensors that feed an op without requiring grad (data, masks).",
)
@click.option(
    "--max-graphs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Keep only the first N backward passes.",
)
@user_errors
def run(
    script: Path,
    args: tuple[str, ...],
    output: Path,
    values: bool,
    saved: bool,
    inputs: bool,
    max_graphs: int | None,
) -> None:
    """Run SCRIPT [ARGS...] and save the graph of every backward pass to a trace file.

    Options for gradviz go before SCRIPT; everything after it is passed to the script.
    """
    if not script.is_file():
        problem = "is a folder" if script.is_dir() else "does not exist"
        raise click.ClickException(f"SCRIPT {str(script)!r} {problem}. Give a Python script.")
    graphs = run_script(script, args, values=values, saved=saved, inputs=inputs)
    if not graphs:
        raise click.ClickException(
            f"{script.name} ran no backward pass, so there is nothing to save. "
            "Call .backward() (or gradviz.autograd.grad) in the script."
        )
    total = len(graphs)
    if max_graphs is not None:
        graphs = graphs[:max_graphs]
    from gradviz.trace import save  # noqa: PLC0415 - keeps `gradviz --help` fast

    save(graphs, output)
    kept = f" (kept the first {len(graphs)})" if len(graphs) < total else ""
    click.echo(f"recorded {total} backward pass{'es' if total != 1 else ''}{kept} from {script}")
    for index, graph in enumerate(graphs[:_SUMMARY_LINES]):
        iteration = (graph.graph.get("producer") or {}).get("iteration", index)
        click.echo(f"  iteration {iteration}: {describe_graph(graph)}")
    if len(graphs) > _SUMMARY_LINES:
        click.echo(f"  ... and {len(graphs) - _SUMMARY_LINES} more")
    click.echo(f"wrote {output}")
