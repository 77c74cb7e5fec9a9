"""Rich terminal views of trace graphs, models and debugger stops.

Every view reads plain data: a graph in the trace schema (``gradviz.trace``), a model
description made of dicts and lists (:func:`describe_model`), or a few values the
debugger hands over. Nothing here imports the engine, and no view changes the graph it
is given.

Output is deterministic: nodes are visited in id order (``n0``, ``n1``, ... by number),
numbers are printed with four significant digits, labels are rich ``Text`` (never
markup, so a name like ``[n3]`` prints as written), and :func:`make_console` gives a
fixed width of 100 columns and no colour when the output is not a terminal (pipes,
files, golden tests). ``NO_COLOR`` turns colour off on a terminal too.

Legend (when colour is on): op nodes bold, leaves cyan, outputs green, non-finite
gradients red, warnings yellow.

Example:
    >>> import networkx as nx
    >>> g = nx.DiGraph(schema="gradviz.trace/1", roots=["n1"])
    >>> g.add_node("n0", kind="leaf", label="x", name="x", param=None, shape=(2,),
    ...            dtype="float32", device="cpu", module=None, requires_grad=True)
    >>> g.add_node("n1", kind="output", label="", name="", grad_fn=None, shape=(2,),
    ...            dtype="float32", device="cpu", module=None)
    >>> print(to_text(summary_panel(g), width=60).splitlines()[1].strip())
    │ nodes         2: 1 leaf, 1 output                        │
"""

from __future__ import annotations

import io
import math
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

__all__ = [
    "DEFAULT_WIDTH",
    "make_console",
    "to_text",
    "fmt_number",
    "fmt_shape",
    "fmt_bytes",
    "node_order",
    "node_title",
    "inputs_of",
    "consumers_of",
    "leaves_below",
    "summary_panel",
    "graph_tree",
    "grad_table",
    "params_table",
    "graph_warnings",
    "warnings_panel",
    "inspect_graph",
    "describe_model",
    "model_view",
    "inspect",
    "node_view",
    "neighbourhood_tree",
    "array_text",
]

DEFAULT_WIDTH = 100

# Thresholds of the inspector's warnings (gradient 2-norms).
VANISHING_NORM = 1e-7
EXPLODING_NORM = 1e4
_RELU_NAMES = ("ReluBackward0", "ReluBackward1", "ThresholdBackward0", "LeakyReluBackward0")


# ---------------------------------------------------------------------------- console


def make_console(
    file: Any = None, *, width: int | None = None, color: bool | None = None
) -> Console:
    """Return a Console: the terminal's width and colours on a tty, plain text elsewhere.

    Args:
        file: where to write (default ``sys.stdout``).
        width: fixed width in columns; default: the terminal's on a tty, else 100.
        color: force colour on or off; default: on for a tty unless ``NO_COLOR`` is set.

    Returns:
        A ``rich.console.Console``.
    """
    out = sys.stdout if file is None else file
    isatty = bool(getattr(out, "isatty", lambda: False)())
    if color is None:
        color = isatty and "NO_COLOR" not in os.environ
    if width is None and not isatty:
        width = DEFAULT_WIDTH
    return Console(
        file=out,
        width=width,
        color_system="auto" if color else None,
        force_terminal=isatty if color else False,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )


def to_text(*renderables: RenderableType, width: int = DEFAULT_WIDTH) -> str:
    """Render to plain text at a fixed width, without colour: the golden-file form.

    Args:
        renderables: rich renderables or strings.
        width: the width in columns.

    Returns:
        The text, each line stripped of trailing spaces, ending with a newline.
    """
    buffer = io.StringIO()
    console = make_console(buffer, width=width, color=False)
    for item in renderables:
        console.print(item)
    lines = buffer.getvalue().splitlines()
    return "".join(line.rstrip() + "\n" for line in lines)


# ---------------------------------------------------------------------------- formatting


def fmt_number(value: Any) -> str:
    """Format a number with four significant digits (``-`` for None).

    Example:
        >>> fmt_number(1234.5678), fmt_number(float("nan")), fmt_number(None)
        ('1235', 'nan', '-')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def fmt_shape(shape: Any) -> str:
    """Format a shape as a tuple (``(3, 4)``, ``(3,)``, ``()``; ``?`` when unknown).

    Example:
        >>> fmt_shape([3]), fmt_shape(()), fmt_shape(None)
        ('(3,)', '()', '?')
    """
    if shape is None:
        return "?"
    return str(tuple(int(s) for s in shape))


def fmt_bytes(n: Any) -> str:
    """Format a byte count (``48 B``, ``1.5 KiB``, ``2.0 MiB``).

    Example:
        >>> fmt_bytes(48), fmt_bytes(1536)
        ('48 B', '1.5 KiB')
    """
    n = int(n or 0)
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
    return f"{n} B"  # pragma: no cover - the loop always returns


def _fmt_seconds(seconds: Any) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _numel(shape: Any) -> int:
    n = 1
    for s in shape or ():
        n *= int(s)
    return n


# ---------------------------------------------------------------------------- graph reading


def _id_key(node_id: Any) -> tuple[int, str]:
    text = str(node_id)
    digits = text[1:]
    return (int(digits), text) if digits.isdigit() else (-1, text)


def node_order(graph: Any) -> list[str]:
    """Return the node ids sorted by number (``n2`` before ``n10``)."""
    return sorted(graph.nodes, key=_id_key)


def node_title(graph: Any, node_id: str) -> str:
    """Return a one-line name for a node: ``MulBackward0 [n2]``, ``leaf 'w' [n5]``.

    Example:
        >>> import networkx as nx
        >>> g = nx.DiGraph()
        >>> g.add_node("n5", kind="leaf", label="w")
        >>> node_title(g, "n5")
        "leaf 'w' [n5]"
    """
    data = graph.nodes[node_id]
    kind = data.get("kind")
    label = data.get("label") or ""
    if kind == "leaf":
        return f"leaf '{label}' [{node_id}]" if label else f"leaf [{node_id}]"
    if kind == "output":
        return f"output '{label}' [{node_id}]" if label else f"output [{node_id}]"
    if kind == "saved":
        return f"saved '{label}' [{node_id}]"
    return f"{label} [{node_id}]"


def _data_edges_in(graph: Any, node_id: str) -> list[tuple[int, str, int]]:
    """(input slot, producer id, producer output index) for each data edge into a node."""
    found = []
    for src, _, data in graph.in_edges(node_id, data=True):
        if data.get("role", "data") != "data":
            continue
        for slot in data.get("slots") or [[0, 0]]:
            found.append((int(slot[0]), src, int(slot[1])))
    found.sort(key=lambda t: (t[0], _id_key(t[1]), t[2]))
    return found


def inputs_of(graph: Any, node_id: str) -> list[tuple[int, str | None]]:
    """Return ``(slot, producer id or None)`` for every input slot of a node, in slot order.

    An ``op`` node has ``n_inputs`` slots; a slot that needs no gradient is ``None``.
    """
    data = graph.nodes[node_id]
    edges = _data_edges_in(graph, node_id)
    by_slot: dict[int, str] = {}
    for slot, src, _ in edges:
        by_slot.setdefault(slot, src)
    n = data.get("n_inputs")
    if n is None:
        n = (max(by_slot) + 1) if by_slot else 0
    return [(i, by_slot.get(i)) for i in range(int(n))]


def consumers_of(graph: Any, node_id: str) -> list[str]:
    """Return the nodes a node feeds in the forward direction (they send it gradient)."""
    found = {
        dst
        for _, dst, data in graph.out_edges(node_id, data=True)
        if data.get("role", "data") == "data"
    }
    return sorted(found, key=_id_key)


def _data_preds(graph: Any, node_id: str) -> list[str]:
    seen: list[str] = []
    for _, src, _ in _data_edges_in(graph, node_id):
        if src not in seen:
            seen.append(src)
    return seen


def leaves_below(graph: Any, node_id: str) -> list[str]:
    """Return the ids of the leaves whose gradient passes through a node, in id order."""
    found: set[str] = set()
    seen = {node_id}
    stack = [node_id]
    while stack:
        current = stack.pop()
        if graph.nodes[current].get("kind") == "leaf":
            found.add(current)
        for src in _data_preds(graph, current):
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return sorted(found, key=_id_key)


def _leaf_name(graph: Any, node_id: str) -> str:
    data = graph.nodes[node_id]
    return str(data.get("param") or data.get("label") or data.get("name") or f"leaf [{node_id}]")


def _grad_of(graph: Any, node_id: str) -> dict[str, Any] | None:
    """The gradient that reached a node: a leaf's ``grad``, an op's first ``grad_in``."""
    data = graph.nodes[node_id]
    if data.get("kind") == "leaf":
        return data.get("grad")
    grads = data.get("grad_in") or []
    for g in grads:
        if g is not None:
            return g
    return None


def _nonfinite(summary: dict[str, Any] | None) -> bool:
    return bool(summary) and bool(summary.get("nan") or summary.get("inf"))  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- inspector


def summary_panel(graph: Any, *, timings: bool = True) -> Panel:
    """Return a panel: nodes by kind, ops by count, parameters, saved bytes, backward time.

    Args:
        graph: a trace schema graph.
        timings: show how long the backward took (turn off for golden files).

    Returns:
        A ``rich.panel.Panel``.
    """
    kinds = Counter(data.get("kind") for _, data in graph.nodes(data=True))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    total = graph.number_of_nodes()
    parts = [f"{kinds[k]} {k}" for k in ("op", "leaf", "output", "saved") if kinds[k]]
    grid.add_row("nodes", f"{total}: {', '.join(parts)}" if parts else "0")

    ops = Counter(
        str(data.get("name") or data.get("label"))
        for _, data in graph.nodes(data=True)
        if data.get("kind") == "op"
    )
    if ops:
        ranked = sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))
        grid.add_row("ops", ", ".join(f"{name} x{count}" for name, count in ranked))

    leaves = [
        n
        for n in node_order(graph)
        if graph.nodes[n].get("kind") == "leaf" and graph.nodes[n].get("requires_grad") is not False
    ]
    params = [n for n in leaves if graph.nodes[n].get("param")]
    others = [n for n in leaves if not graph.nodes[n].get("param")]
    elements = sum(_numel(graph.nodes[n].get("shape")) for n in params)
    if params:
        grid.add_row("parameters", f"{len(params)} ({elements} elements)")
    if others:
        names = ", ".join(_leaf_name(graph, n) for n in others[:6])
        more = f", ... ({len(others) - 6} more)" if len(others) > 6 else ""
        grid.add_row("other leaves", f"{len(others)}: {names}{more}")

    n_saved = 0
    saved_bytes = 0
    aliases = 0
    for _, data in graph.nodes(data=True):
        for item in data.get("saved") or ():
            n_saved += 1
            if item.get("alias_of") is not None:
                aliases += 1
            else:
                saved_bytes += int(item.get("bytes") or 0)
    if n_saved:
        alias_text = f", {aliases} of them leaves (not counted)" if aliases else ""
        grid.add_row("saved", f"{n_saved} tensors, {fmt_bytes(saved_bytes)}{alias_text}")

    backward = graph.graph.get("backward")
    if backward:
        ran = len(backward.get("order") or ())
        ops_total = kinds["op"]
        text = f"{ran} of {ops_total} op nodes ran"
        if timings:
            text += f" in {_fmt_seconds(backward.get('seconds'))}"
        if not backward.get("completed", True):
            text += " (stopped before the end)"
        flags = [k for k in ("retain_graph", "create_graph") if backward.get(k)]
        if flags:
            text += f" [{', '.join(flags)}]"
        grid.add_row("backward", text)
    else:
        grid.add_row("backward", "not recorded")

    producer = graph.graph.get("producer") or {}
    title = "graph"
    if producer.get("iteration") is not None:
        title = f"graph (iteration {producer['iteration']})"
    return Panel(grid, title=Text(title), title_align="left", box=box.ROUNDED)


def _tree_label(graph: Any, node_id: str, *, show_module: bool = True) -> Text:
    data = graph.nodes[node_id]
    kind = data.get("kind")
    text = Text()
    style = {"op": "bold", "leaf": "cyan", "output": "green", "saved": "yellow"}.get(kind, "")
    text.append(node_title(graph, node_id), style=style)
    if data.get("shape") is not None:
        text.append(f"  {fmt_shape(data.get('shape'))}")
    if data.get("dtype"):
        text.append(f" {data['dtype']}")
    if show_module and data.get("module"):
        text.append(f"  @{data['module']}", style="dim")
    grad = _grad_of(graph, node_id) if kind in ("op", "leaf") else None
    if grad is not None:
        text.append(
            f"  grad {fmt_number(grad.get('norm'))}", style="red" if _nonfinite(grad) else ""
        )
    elif kind == "leaf" and graph.graph.get("backward"):
        text.append("  grad None", style="yellow")
    return text


def _module_matches(module: str | None, prefixes: Sequence[str]) -> str | None:
    if not module:
        return None
    for prefix in prefixes:
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return None


def graph_tree(
    graph: Any,
    *,
    max_depth: int | None = None,
    collapse: bool | Iterable[str] = False,
) -> Tree:
    """Return the graph as a tree from each output down to the leaves.

    A node reached a second time (the graph is a DAG, not a tree) is shown once, then
    referred to as ``(see above)``. ``max_depth`` cuts deeper levels to a count of what
    is hidden. ``collapse`` folds each module's nodes into one line: ``True`` folds every
    top-level module, or give module paths (``["encoder", "head.1"]``).

    Args:
        graph: a trace schema graph.
        max_depth: how many levels below the outputs to show (None: all).
        collapse: the modules to fold.

    Returns:
        A ``rich.tree.Tree``.
    """
    if collapse is True:
        modules = {
            str(data["module"]).split(".")[0]
            for _, data in graph.nodes(data=True)
            if data.get("module")
        }
        prefixes: list[str] = sorted(modules)
    elif collapse:
        prefixes = sorted(collapse)  # type: ignore[arg-type]
    else:
        prefixes = []
    roots = list(graph.graph.get("roots") or [])
    if not roots:
        roots = [n for n in node_order(graph) if graph.out_degree(n) == 0]
    tree = Tree(Text("graph"), guide_style="dim")
    shown: set[str] = set()
    # Iterative depth-first walk; each stack entry is (node id, parent tree, depth).
    stack: list[tuple[str, Tree, int]] = [(r, tree, 0) for r in reversed(roots)]
    while stack:
        node_id, parent, depth = stack.pop()
        if node_id in shown:
            label = Text(node_title(graph, node_id))
            label.append("  (see above)", style="dim")
            parent.add(label)
            continue
        shown.add(node_id)
        group = _module_matches(graph.nodes[node_id].get("module"), prefixes)
        if group is not None:
            region, children = _module_region(graph, node_id, group)
            shown.update(region)
            names = Counter(
                str(graph.nodes[n].get("label"))
                for n in region
                if graph.nodes[n].get("kind") == "op"
            )
            ops = ", ".join(f"{k} x{v}" for k, v in sorted(names.items()))
            params = [_leaf_name(graph, n) for n in region if graph.nodes[n].get("kind") == "leaf"]
            label = Text(f"module {group}", style="bold magenta")
            plural = "node" if len(region) == 1 else "nodes"
            label.append(f"  ({len(region)} {plural}: {ops})", style="dim")
            if params:
                label.append(f"  params {', '.join(params)}", style="cyan")
        else:
            label = _tree_label(graph, node_id)
            children = _data_preds(graph, node_id)
        branch = parent.add(label)
        if not children:
            continue
        if max_depth is not None and depth + 1 > max_depth:
            hidden = _count_below(graph, children, shown)
            branch.add(Text(f"... {hidden} more nodes below", style="dim"))
            continue
        for child in reversed(children):
            stack.append((child, branch, depth + 1))
    return tree


def _module_region(graph: Any, start: str, prefix: str) -> tuple[list[str], list[str]]:
    """The nodes of module ``prefix`` reachable from ``start``, and what feeds them.

    A parameter (an ``AccumulateGrad`` and its leaf, which belong to no module) joins
    the region when every node it feeds is in the region.
    """
    region = {start}
    stack = [start]
    while stack:
        current = stack.pop()
        for src in _data_preds(graph, current):
            if src not in region and _module_matches(graph.nodes[src].get("module"), [prefix]):
                region.add(src)
                stack.append(src)
    for node in sorted(region, key=_id_key):
        for src in _data_preds(graph, node):
            data = graph.nodes[src]
            if data.get("module") or not str(data.get("label", "")).endswith("AccumulateGrad"):
                continue
            if all(c in region for c in consumers_of(graph, src)):
                region.add(src)
                region.update(
                    s for s in _data_preds(graph, src) if graph.nodes[s].get("kind") == "leaf"
                )
    outside = {src for node in region for src in _data_preds(graph, node) if src not in region}
    return sorted(region, key=_id_key), sorted(outside, key=_id_key)


def _count_below(graph: Any, starts: Sequence[str], shown: set[str]) -> int:
    seen = set(starts) - shown
    stack = list(seen)
    while stack:
        current = stack.pop()
        for src in _data_preds(graph, current):
            if src not in seen and src not in shown:
                seen.add(src)
                stack.append(src)
    return len(seen)


def _norms(summaries: Sequence[dict[str, Any] | None] | None) -> str:
    if not summaries:
        return "-"
    return ", ".join(fmt_number(s.get("norm")) if s else "-" for s in summaries)


def grad_table(graph: Any) -> Table:
    """Return a table of gradient statistics per node, in backward execution order.

    Columns: execution position, node, module, norms of the gradients in (one per
    output) and out (one per input), min/max and NaN/Inf counts of the gradients out
    (for ``AccumulateGrad``: of the gradient it accumulates).

    Args:
        graph: a trace schema graph with a recorded backward.

    Returns:
        A ``rich.table.Table`` (one row saying so when no backward was recorded).
    """
    table = _titled_table("gradients by node")
    for name, justify in (
        ("#", "right"),
        ("node", "left"),
        ("module", "left"),
        ("grad in", "right"),
        ("grad out", "right"),
        ("min", "right"),
        ("max", "right"),
        ("NaN", "right"),
        ("Inf", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    backward = graph.graph.get("backward")
    if not backward:
        table.add_row("", "no backward recorded", "", "", "", "", "", "", "")
        return table
    for position, node_id in enumerate(backward.get("order") or ()):
        data = graph.nodes[node_id]
        grad_in = data.get("grad_in") or []
        grad_out = data.get("grad_out") or []
        measured = [s for s in (grad_out or grad_in) if s]
        if not grad_out:
            measured = [s for s in grad_in if s]
        low = min((s["min"] for s in measured), default=None)
        high = max((s["max"] for s in measured), default=None)
        nan = sum(int(s.get("nan") or 0) for s in measured)
        inf = sum(int(s.get("inf") or 0) for s in measured)
        style = "red" if nan or inf else ""
        table.add_row(
            str(position + 1),
            Text(node_title(graph, node_id), style=style),
            Text(str(data.get("module") or "")),
            _norms(grad_in),
            _norms(grad_out),
            fmt_number(low),
            fmt_number(high),
            str(nan),
            str(inf),
        )
    return table


def _zero_share(data: dict[str, Any]) -> str:
    value = data.get("grad_value")
    if value is not None:
        size = getattr(value, "size", 0)
        if size:
            zeros = int((value == 0).sum())
            return f"{100.0 * zeros / size:.1f}%"
    grad = data.get("grad")
    if grad and grad.get("min") == 0 and grad.get("max") == 0 and not _nonfinite(grad):
        return "100.0%"
    return "-"


def _ratio(data: dict[str, Any]) -> str:
    grad = data.get("grad")
    value = data.get("data") or data.get("value")
    if not grad or not isinstance(value, dict) or value.get("norm") in (None, 0):
        return "-"
    return fmt_number(float(grad["norm"]) / float(value["norm"]))


def params_table(graph: Any) -> Table:
    """Return a table of the leaves: name, shape, grad norm, grad/param, zero share, NaN/Inf.

    ``grad/param`` needs the parameter's own norm (a ``data`` summary on the leaf); the
    share of zero gradients needs the gradient values (``values=True``) unless the
    gradient is entirely zero. Unknown entries print as ``-``.

    Args:
        graph: a trace schema graph.

    Returns:
        A ``rich.table.Table``.
    """
    table = _titled_table("parameters")
    for name, justify in (
        ("name", "left"),
        ("shape", "left"),
        ("dtype", "left"),
        ("grad norm", "right"),
        ("grad/param", "right"),
        ("zero", "right"),
        ("NaN", "right"),
        ("Inf", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    recorded = bool(graph.graph.get("backward"))
    for node_id in node_order(graph):
        data = graph.nodes[node_id]
        if data.get("kind") != "leaf" or data.get("requires_grad") is False:
            continue  # inputs that need no grad are not parameters
        grad = data.get("grad")
        if grad is None:
            norm = "None" if recorded else "-"
            nan = inf = "-"
        else:
            norm = fmt_number(grad.get("norm"))
            nan, inf = str(grad.get("nan", 0)), str(grad.get("inf", 0))
        style = "red" if _nonfinite(grad) else ("yellow" if recorded and grad is None else "")
        table.add_row(
            Text(_leaf_name(graph, node_id), style=style),
            fmt_shape(data.get("shape")),
            str(data.get("dtype") or "?"),
            norm,
            _ratio(data),
            _zero_share(data),
            nan,
            inf,
        )
    return table


def graph_warnings(
    graph: Any,
    *,
    vanishing: float = VANISHING_NORM,
    exploding: float = EXPLODING_NORM,
) -> list[str]:
    """Return warnings about a recorded backward, one sentence each.

    Warns about non-finite gradients (naming where they started), leaves without a
    gradient, vanishing and exploding gradient norms, and dead ReLUs (a ReLU node that
    received gradient but passed none on, or passed none for most units when values
    were recorded).

    Args:
        graph: a trace schema graph.
        vanishing: a leaf gradient norm below this (but not zero) is vanishing.
        exploding: a leaf gradient norm above this is exploding.

    Returns:
        The warnings, in a deterministic order (empty when there is nothing to say).
    """
    found: list[str] = []
    backward = graph.graph.get("backward")
    if not backward:
        return found
    order = backward.get("order") or []
    found.extend(_nonfinite_warnings(graph, order))
    for node_id in node_order(graph):
        data = graph.nodes[node_id]
        if data.get("kind") != "leaf" or not data.get("requires_grad", True):
            continue
        name = _leaf_name(graph, node_id)
        grad = data.get("grad")
        if grad is None:
            found.append(
                f"{name}: no gradient: it is in the graph but no gradient reached it "
                "(its branch carried none, or backward(inputs=...) left it out)"
            )
            continue
        if _nonfinite(grad):
            continue
        norm = float(grad.get("norm") or 0.0)
        if norm == 0.0:
            found.append(f"{name}: gradient is exactly zero everywhere")
        elif norm < vanishing:
            found.append(f"{name}: vanishing gradient (norm {fmt_number(norm)} < {vanishing:g})")
        elif norm > exploding:
            found.append(f"{name}: exploding gradient (norm {fmt_number(norm)} > {exploding:g})")
    for node_id in order:
        data = graph.nodes[node_id]
        if str(data.get("name") or data.get("label")) not in _RELU_NAMES:
            continue
        found.extend(_relu_warning(graph, node_id, data))
    return found


def _nonfinite_warnings(graph: Any, order: Sequence[str]) -> list[str]:
    """Name the nodes that produced NaN/Inf from finite gradients, and count the rest.

    ``gradviz step TRACE`` with ``b nan`` tells the full story (``gradviz.debugger.nan``).
    """
    origins = []
    carriers = 0
    for node_id in order:
        data = graph.nodes[node_id]
        grad_in = data.get("grad_in") or []
        grad_out = data.get("grad_out") or []
        bad_in = any(_nonfinite(g) for g in grad_in)
        bad_out = any(_nonfinite(g) for g in grad_out)
        if bad_out and not bad_in:
            origins.append(node_title(graph, node_id))
        elif bad_in:
            carriers += 1
    if not origins and not carriers:
        return []
    if origins:
        text = (
            f"non-finite gradients start at {', '.join(origins)} (finite gradients in, NaN/Inf out)"
        )
    else:
        text = "non-finite gradients were given to backward() or arose when gradients were summed"
    return [
        f"{text}; {carriers} node(s) received them. Find the origin step by step: "
        "gradviz step TRACE, then `b nan` and `c`"
    ]


def _relu_warning(graph: Any, node_id: str, data: dict[str, Any]) -> list[str]:
    grad_in = [g for g in data.get("grad_in") or [] if g]
    grad_out = [g for g in data.get("grad_out") or [] if g]
    if not grad_in or not grad_out or any(_nonfinite(g) for g in grad_in + grad_out):
        return []
    where = f" in {data['module']}" if data.get("module") else ""
    title = node_title(graph, node_id)
    if float(grad_in[0].get("norm") or 0) > 0 and float(grad_out[0].get("norm") or 0) == 0:
        return [f"dead ReLU: {title}{where} passed no gradient: every unit is inactive"]
    values = data.get("grad_out_values")
    if values and values[0] is not None and getattr(values[0], "size", 0):
        share = float((values[0] == 0).sum()) / values[0].size
        if share >= 0.9:
            return [f"mostly dead ReLU: {title}{where}: {share:.0%} of units passed no gradient"]
    return []


def warnings_panel(graph: Any) -> Panel:
    """Return :func:`graph_warnings` as a panel (``no warnings`` when there are none)."""
    found = graph_warnings(graph)
    body = Text("\n".join(f"- {w}" for w in found) if found else "no warnings")
    return Panel(
        body,
        title=Text("warnings"),
        title_align="left",
        box=box.ROUNDED,
        border_style="yellow" if found else "",
    )


def inspect_graph(
    graph: Any,
    *,
    max_depth: int | None = None,
    collapse: bool | Iterable[str] = False,
    timings: bool = True,
) -> Group:
    """Return the whole inspector: summary, tree, parameters, gradients, warnings.

    Args:
        graph: a trace schema graph.
        max_depth: passed to :func:`graph_tree`.
        collapse: passed to :func:`graph_tree`.
        timings: show the backward's duration.

    Returns:
        A ``rich.console.Group``.
    """
    parts: list[RenderableType] = [
        summary_panel(graph, timings=timings),
        graph_tree(graph, max_depth=max_depth, collapse=collapse),
        params_table(graph),
    ]
    if graph.graph.get("backward"):
        parts.append(grad_table(graph))
    parts.append(warnings_panel(graph))
    return Group(*parts)


# ---------------------------------------------------------------------------- models


def _dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype))


def describe_model(model: Any) -> dict[str, Any]:
    """Describe an ``nn.Module`` as plain data: modules, parameters, buffers, state_dict keys.

    Reads the PyTorch-shaped Module API (``named_modules``, ``_parameters``,
    ``_buffers``, ``_non_persistent_buffers_set``, ``state_dict``) without importing it.

    Args:
        model: an ``nn.Module`` (gradviz's, or anything with the same API).

    Returns:
        ``{"type": str, "modules": [{"path", "type", "parameters": [...], "buffers":
        [...]}], "state_dict": [keys]}``; each parameter is ``{"name", "shape", "dtype",
        "trainable"}``, each buffer ``{"name", "shape", "dtype", "persistent"}``.

    Raises:
        TypeError: ``model`` does not have ``named_modules``.
    """
    if not hasattr(model, "named_modules"):
        raise TypeError(
            f"describe_model() needs an nn.Module, got {type(model).__name__}. "
            "Fix: pass the model itself (an object with named_modules())."
        )
    modules = []
    for path, module in model.named_modules():
        params = []
        for name, p in (getattr(module, "_parameters", None) or {}).items():
            if p is None:
                continue
            params.append(
                {
                    "name": name,
                    "shape": tuple(int(s) for s in p.shape),
                    "dtype": _dtype_name(p.dtype),
                    "trainable": bool(p.requires_grad),
                }
            )
        non_persistent = set(getattr(module, "_non_persistent_buffers_set", ()) or ())
        buffers = []
        for name, b in (getattr(module, "_buffers", None) or {}).items():
            if b is None:
                continue
            buffers.append(
                {
                    "name": name,
                    "shape": tuple(int(s) for s in b.shape),
                    "dtype": _dtype_name(b.dtype),
                    "persistent": name not in non_persistent,
                }
            )
        modules.append(
            {
                "path": path,
                "type": type(module).__name__,
                "parameters": params,
                "buffers": buffers,
            }
        )
    keys = list(model.state_dict().keys()) if hasattr(model, "state_dict") else []
    return {"type": type(model).__name__, "modules": modules, "state_dict": keys}


def model_view(info: dict[str, Any]) -> Group:
    """Return the module tree with parameters and buffers, then the state_dict keys.

    Args:
        info: what :func:`describe_model` returns.

    Returns:
        A ``rich.console.Group``.
    """
    modules = info.get("modules") or []
    root_label = Text(str(info.get("type", "model")), style="bold")
    tree = Tree(root_label, guide_style="dim")
    branches: dict[str, Tree] = {"": tree}
    n_params = n_trainable = 0
    for module in modules:
        path = module["path"]
        if path:
            parent_path = path.rpartition(".")[0]
            parent = branches.get(parent_path, tree)
            label = Text(path.rpartition(".")[2], style="bold")
            label.append(f" ({module['type']})", style="dim")
            branches[path] = parent.add(label)
        branch = branches[path]
        for p in module["parameters"]:
            numel = _numel(p["shape"])
            n_params += numel
            n_trainable += numel if p["trainable"] else 0
            line = Text(f"{p['name']}  {fmt_shape(p['shape'])} {p['dtype']}  ", style="cyan")
            line.append(
                "trainable" if p["trainable"] else "frozen (requires_grad=False)",
                style="" if p["trainable"] else "yellow",
            )
            branch.add(line)
        for b in module["buffers"]:
            line = Text(f"{b['name']}  {fmt_shape(b['shape'])} {b['dtype']}  buffer")
            if not b["persistent"]:
                line.append(", not persistent (not in state_dict)", style="dim")
            branch.add(line)
    totals = Text(f"{n_params} parameter elements, {n_trainable} trainable")
    keys = info.get("state_dict") or []
    title = f"state_dict: {len(keys)} key{'s' if len(keys) != 1 else ''}"
    if not keys:
        # NOTE: rich stretches a table without rows to the console's width: blank lines.
        return Group(tree, totals, Text(title))
    listing = _titled_table(title, show_header=False)
    listing.add_column("key")
    for key in keys:
        listing.add_row(Text(key))
    return Group(tree, totals, listing)


# ---------------------------------------------------------------------------- dispatch


def _is_graph(obj: Any) -> bool:
    graph_attrs = getattr(obj, "graph", None)
    return isinstance(graph_attrs, dict) and "schema" in graph_attrs


def inspect(obj: Any, *, console: Console | None = None, timings: bool = True) -> None:
    """Print a rich view of a model, a tensor's graph or a trace graph.

    - a graph in the trace schema (or a list of them: the last one): the inspector
      (summary, tree, parameters, gradients, warnings);
    - an ``nn.Module``: its module tree with parameters and buffers and its
      ``state_dict`` keys;
    - a tensor with a ``grad_fn``: its graph (captured with ``gradviz.trace.capture``)
      as a summary and a tree.

    Args:
        obj: what to show.
        console: where to print (default: :func:`make_console` on stdout).
        timings: show the backward's duration.

    Raises:
        TypeError: ``obj`` is none of the above, or a tensor without a graph.
    """
    console = console or make_console()
    if isinstance(obj, (list, tuple)) and obj and all(_is_graph(g) for g in obj):
        obj = obj[-1]
    if _is_graph(obj):
        console.print(inspect_graph(obj, timings=timings))
        return
    if hasattr(obj, "named_modules"):
        console.print(model_view(describe_model(obj)))
        return
    if hasattr(obj, "grad_fn") and hasattr(obj, "requires_grad"):
        if obj.grad_fn is None:
            raise TypeError(
                "inspect() got a tensor without a graph (grad_fn is None): "
                f"requires_grad={obj.requires_grad}. Fix: inspect a tensor computed from "
                "tensors with requires_grad=True, outside no_grad()."
            )
        from gradviz.trace import capture  # noqa: PLC0415 - only tensors need the tracer

        graph = capture(obj)
        console.print(Group(summary_panel(graph, timings=timings), graph_tree(graph)))
        return
    raise TypeError(
        f"inspect() cannot show a {type(obj).__name__}. Fix: pass an nn.Module, a tensor "
        "with a grad_fn, or a graph from gradviz.trace (capture, record or load)."
    )


# ---------------------------------------------------------------------------- debugger views


def _summary_row(slot: str, target: Text | str, s: dict[str, Any] | None) -> list[Any]:
    if s is None:
        return [slot, target, "None", "", "", "", "", "", "", ""]
    style = "red" if _nonfinite(s) else ""
    return [
        slot,
        target,
        fmt_shape(s.get("shape")),
        str(s.get("dtype", "")),
        Text(fmt_number(s.get("norm")), style=style),
        fmt_number(s.get("min")),
        fmt_number(s.get("max")),
        fmt_number(s.get("mean")),
        Text(str(s.get("nan", 0)), style=style),
        Text(str(s.get("inf", 0)), style=style),
    ]


def _titled_table(title: str, **options: Any) -> Table:
    """Return a ``SIMPLE_HEAD`` table whose left-aligned title stays on one line.

    rich wraps a table's title to the table's own width, so a narrow table (one short
    column: ``weight``, ``bias``) printed ``state_dict: 2`` and ``keys`` on two lines.
    ``min_width`` makes the table at least as wide as its title (up to the console's width).
    """
    return Table(
        title=Text(title),
        box=box.SIMPLE_HEAD,
        title_justify="left",
        min_width=cell_len(title),
        **options,
    )


def _grads_table(title: str, target_header: str) -> Table:
    table = _titled_table(title, show_edge=False)
    for name, justify in (
        ("slot", "right"),
        (target_header, "left"),
        ("shape", "left"),
        ("dtype", "left"),
        ("norm", "right"),
        ("min", "right"),
        ("max", "right"),
        ("mean", "right"),
        ("NaN", "right"),
        ("Inf", "right"),
    ):
        # NOTE: a long node name folds onto a second line rather than losing its end.
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    return table


def node_view(
    graph: Any,
    node_id: str,
    *,
    position: tuple[int, int] | None = None,
    phase: str = "replay",
    notes: Sequence[str] = (),
) -> Group:
    """Return what the debugger shows at a stop: a node and the gradients around it.

    Shows the node (name, id, module, position ``k/N``), the gradients it received
    (``grad_in``, one per output) and produced (``grad_out``, one per input), its saved
    tensors, its inputs and consumers, and the leaves its gradient reaches.

    Args:
        graph: a trace schema graph; the node's ``grad_in``/``grad_out`` are read from it.
        node_id: the node to show.
        position: ``(k, N)``: the node runs k-th of N.
        phase: ``"before"`` (live, the node has not run: no ``grad_out`` yet),
            ``"after"`` (live, it just ran) or ``"replay"``.
        notes: extra lines shown under the header (breakpoint hit, NaN origin, ...).

    Returns:
        A ``rich.console.Group``.
    """
    data = graph.nodes[node_id]
    header = Text()
    if position is not None:
        header.append(f"[{position[0]}/{position[1]}] ")
    header.append(node_title(graph, node_id), style="bold")
    if data.get("module"):
        header.append(f" in {data['module']}")
    if phase == "before":
        header.append(" (about to run)")
    elif phase == "after":
        header.append(" (just ran)")
    parts: list[RenderableType] = [Rule(header, align="left", characters="-")]
    for note in notes:
        parts.append(Text(note, style="bold yellow"))
    attrs = data.get("attrs") or {}
    if attrs:
        parts.append(Text("attrs: " + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs))))

    is_accumulate = str(data.get("label", "")).endswith("AccumulateGrad")
    grad_in = data.get("grad_in")
    grads = _grads_table("gradients in (one per output of the forward op)", "from")
    consumers = consumers_of(graph, node_id)
    if grad_in is None:
        grads.add_row(*_summary_row("-", "not recorded", None)[:2], *[""] * 8)
    else:
        for i, s in enumerate(grad_in):
            grads.add_row(*_summary_row(str(i), _slot_sources(graph, node_id, i, consumers), s))
    parts.append(grads)

    if is_accumulate:
        leaves = [
            src for src in _data_preds(graph, node_id) if graph.nodes[src].get("kind") == "leaf"
        ]
        for leaf in leaves:
            ld = graph.nodes[leaf]
            line = Text(
                f"accumulates into .grad of {node_title(graph, leaf)} "
                f"{fmt_shape(ld.get('shape'))} {ld.get('dtype') or ''}"
            )
            if ld.get("grad") is not None and phase != "before":
                line.append(f"; .grad norm now {fmt_number(ld['grad'].get('norm'))}")
            parts.append(line)
    else:
        grad_out = data.get("grad_out")
        if phase == "before":
            parts.append(Text("gradients out: not computed yet (s runs this node)", style="dim"))
        elif grad_out is None:
            parts.append(Text("gradients out: not recorded", style="dim"))
        else:
            out = _grads_table("gradients out (one per input of the forward op)", "to")
            targets = dict(inputs_of(graph, node_id))
            for i, s in enumerate(grad_out):
                src = targets.get(i)
                target = Text(node_title(graph, src)) if src else Text("(no grad needed)")
                out.add_row(*_summary_row(str(i), target, s))
            parts.append(out)

    saved = data.get("saved") or []
    if saved:
        items = []
        for item in saved:
            text = f"{item.get('name')} {fmt_shape(item.get('shape'))} {item.get('dtype') or ''}"
            if item.get("alias_of") is not None:
                text += f" = {node_title(graph, item['alias_of'])}"
            else:
                text += f" {fmt_bytes(item.get('bytes'))}"
            items.append(text)
        parts.append(Text("saved: " + "; ".join(items)))
    elif data.get("kind") == "op" and not is_accumulate:
        parts.append(Text("saved: nothing"))

    if not is_accumulate and data.get("kind") == "op":
        slots = inputs_of(graph, node_id)
        if slots:
            text = "; ".join(
                f"{slot}: {node_title(graph, src) if src else 'None'}" for slot, src in slots
            )
            parts.append(Text(f"inputs: {text}"))
    if consumers:
        parts.append(Text("consumers: " + "; ".join(node_title(graph, c) for c in consumers)))
    leaves = leaves_below(graph, node_id)
    if leaves:
        parts.append(Text("leads to leaves: " + ", ".join(_leaf_name(graph, n) for n in leaves)))
    return Group(*parts)


def _slot_sources(graph: Any, node_id: str, slot: int, consumers: Sequence[str]) -> Text:
    found = []
    for consumer in consumers:
        edge = graph.edges[node_id, consumer]
        if any(int(s[1]) == slot for s in edge.get("slots") or [[0, 0]]):
            found.append(node_title(graph, consumer))
    if not found:
        return Text("backward() seed" if not consumers else "-")
    return Text(", ".join(found))


def neighbourhood_tree(graph: Any, node_id: str, *, depth: int = 2) -> Tree:
    """Return a small tree around a node: who sends it gradient, and where it sends it.

    Args:
        graph: a trace schema graph.
        node_id: the node at the centre.
        depth: how many levels of inputs to show below it.

    Returns:
        A ``rich.tree.Tree`` rooted at the node.
    """
    root = Tree(
        _tree_label(graph, node_id).append("  <- here", style="bold yellow"), guide_style="dim"
    )
    consumers = consumers_of(graph, node_id)
    if consumers:
        up = root.add(Text("gets gradient from", style="dim"))
        for c in consumers:
            up.add(_tree_label(graph, c))
    inputs = [src for _, src in inputs_of(graph, node_id) if src is not None]
    if graph.nodes[node_id].get("kind") != "op":
        inputs = _data_preds(graph, node_id)
    if not inputs:
        return root
    down = root.add(Text("sends gradient to", style="dim"))
    stack: list[tuple[str, Tree, int]] = [(src, down, 1) for src in reversed(inputs)]
    while stack:
        current, parent, level = stack.pop()
        branch = parent.add(_tree_label(graph, current))
        if level >= depth:
            below = _data_preds(graph, current)
            if below:
                branch.add(Text(f"... {len(below)} more", style="dim"))
            continue
        for src in reversed(_data_preds(graph, current)):
            stack.append((src, branch, level + 1))
    return root


def array_text(title: str, array: Any, *, width: int = DEFAULT_WIDTH) -> Text:
    """Return an array printed with NumPy, truncated sensibly, under a one-line title.

    Arrays with more than 64 elements show their first and last 3 entries per
    dimension; numbers have 4 digits after the point.

    Args:
        title: the heading (``"grad_out[0]"``).
        array: a NumPy array, or None.
        width: the line width for NumPy's wrapping.

    Returns:
        A ``rich.text.Text``.
    """
    import numpy as np  # noqa: PLC0415 - only printing arrays needs it

    if array is None:
        return Text(f"{title}: None")
    data = np.asarray(array)
    body = np.array2string(
        data,
        threshold=64,
        edgeitems=3,
        precision=4,
        max_line_width=max(width - 4, 40),
        separator=", ",
    )
    head = f"{title}: {fmt_shape(data.shape)} {data.dtype}"
    return Text(head + "\n" + "\n".join("  " + line for line in body.splitlines()))
