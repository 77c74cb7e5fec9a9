"""Show a graph diff: one picture of the union graph, and a console report.

The input is a :class:`gradviz.trace.diff.GraphDiff` (made by ``gradviz.trace.diff(a, b)``
or ``rec.diff(i, j)``); nothing here changes it or its graphs, and nothing here imports
the engine.

Picture legend (:func:`to_dot`, :func:`render`), one drawing of both graphs together:

- grey box: a node in both graphs, unchanged;
- green box, bold border: a node only the second graph (``b``) has (added);
- red box, dashed border: a node only the first graph (``a``) has (removed);
- orange box: a node in the same place in both, with another shape, dtype, device,
  module or attributes (changed); what changed is listed under its name, ``before ->
  after``;
- node shapes tell kinds apart: ops are plain boxes (named by PyTorch's node name),
  leaves rounded boxes (``name`` over ``(shape)``), outputs double-bordered boxes, saved
  tensors notes; shapes are written as the graph picture (``renderers.graphviz``, in
  torchviz's style) writes them: ``(3, 4)``, ``(6)``, ``()``;
- edges: grey in both graphs, green and bold when added, red and dashed when removed;
  edges of saved tensors are dotted;
- a legend box shows the four colours; the title is the diff's one-line summary.

Above ``max_nodes`` nodes (``dot`` is slow and the picture unreadable beyond a few
thousand), only the changes and their direct neighbours are drawn, and the title says
so.

The console report (:func:`report`, :func:`report_text`, :func:`print_report`) is a
summary panel, counts by op, then the changes grouped by module (added ``+`` green,
removed ``-`` red, changed ``~`` orange), the edges added and removed, and the largest
gradient-norm changes when the graphs carry gradients. Its shapes are written as the other
console views write them (``(6,)``).

Output is deterministic: nodes are drawn in id order (``n0``, ``n1``, ... by number; the
ids of graph ``b`` first, then the removed nodes of ``a``), edges in (target, source)
order, and :func:`report_text` renders at a fixed width without colour.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import graphviz
from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from gradviz._fileio import write_atomic
from gradviz.renderers.console import fmt_shape, make_console, to_text
from gradviz.renderers.graphviz import NODE_ATTR, _shape_str, run_dot
from gradviz.trace.diff import GraphDiff, NodeChange

__all__ = [
    "UNCHANGED_COLOR",
    "ADDED_COLOR",
    "REMOVED_COLOR",
    "CHANGED_COLOR",
    "DEFAULT_MAX_NODES",
    "FORMATS",
    "to_dot",
    "render_dot",
    "render",
    "report",
    "report_text",
    "print_report",
]

UNCHANGED_COLOR = "lightgrey"
ADDED_COLOR = "palegreen"
REMOVED_COLOR = "lightpink"
CHANGED_COLOR = "orange"
_ADDED_LINE = "darkgreen"
_REMOVED_LINE = "red"
_CHANGED_LINE = "darkorange3"
_UNCHANGED_LINE = "grey40"

#: Above this many nodes in the union, only the changes and their neighbours are drawn.
DEFAULT_MAX_NODES = 2000

#: File formats :func:`render` writes, by suffix.
FORMATS = {
    ".pdf": "pdf",
    ".svg": "svg",
    ".png": "png",
    ".dot": "dot",
    ".gv": "dot",
    ".json": "json",
    ".txt": "text",
}
_FORMAT_NAMES = ("pdf", "svg", "png", "dot", "json", "text")

# Console styles (used only when colour is on).
_STYLES = {"+": "green", "-": "red", "~": "orange3"}
_NO_MODULE = "(top level)"
_ID_RE = re.compile(r"^(\D*)(\d+)$")


# ------------------------------------------------------------------------- helpers


def _check_diff(value: Any) -> GraphDiff:
    if not isinstance(value, GraphDiff):
        raise TypeError(
            f"expected a GraphDiff (from gradviz.trace.diff(a, b)), got {type(value).__name__}. "
            "Fix: diff two graphs first: gradviz.trace.diff(a, b) or rec.diff(i, j)."
        )
    return value


def _id_key(node: Any) -> tuple[str, int, str]:
    match = _ID_RE.match(str(node))
    if match:
        return (match.group(1), int(match.group(2)), "")
    return (str(node), -1, str(node))


def _dot_value(value: Any) -> str:
    """Format a changed field's value for the picture: shapes as the graph picture has them."""
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return _shape_str(value)
    return str(value)


def _text_value(value: Any) -> str:
    """Format a changed field's value for the report: shapes as the console views have them."""
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return fmt_shape(value)
    return str(value)


def _title(data: Mapping[str, Any]) -> str:
    """Return the name a node is known by: op name, leaf name, output name."""
    kind = data.get("kind")
    if kind == "op":
        return str(data.get("label") or data.get("name") or "?")
    name = data.get("param") or data.get("label") or data.get("name") or ""
    if kind == "leaf":
        return str(name) or "leaf"
    if kind == "output":
        return f"output {name}" if name else "output"
    return f"saved {name}" if name else "saved"


def _module_of(g: Any, node: str) -> str:
    """Return the module a node belongs to, for grouping.

    A leaf and its ``AccumulateGrad`` have no module in the schema; they are grouped with
    the module that owns the parameter (``layers.0`` for ``layers.0.weight``).
    """
    data = g.nodes[node]
    module = data.get("module")
    if module:
        return str(module)
    kind = data.get("kind")
    param = data.get("param")
    if kind == "op" and data.get("name") == "AccumulateGrad":
        for source in g.predecessors(node):
            if g.nodes[source].get("kind") == "leaf":
                param = g.nodes[source].get("param")
                kind = "leaf"
                break
    if kind == "leaf" and isinstance(param, str) and "." in param:
        return param.rsplit(".", 1)[0]
    return _NO_MODULE


def _module_key(module: str) -> tuple[int, tuple[tuple[int, int, str], ...]]:
    if module == _NO_MODULE:
        return (1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in module.split("."))
    return (0, parts)


def _quote(text: str) -> str:
    """Escape text for a Graphviz double-quoted label (newlines become left-justified)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return escaped.replace("\n", "\\l") + "\\l"


# --------------------------------------------------------------------- the picture


def _union(d: GraphDiff) -> tuple[dict[str, tuple[str, str, str]], list[tuple[str, str, str, str]]]:
    """Return the union graph's nodes and edges.

    Nodes are ``{uid: (status, graph, id)}``, edges ``(u, v, status, role)``; a status is
    ``same``, ``added``, ``removed`` or ``changed``.
    """
    changed_b = {change.b for change in d.changed}
    added = set(d.added)
    nodes: dict[str, tuple[str, str, str]] = {}
    for node in sorted(d.b.nodes, key=_id_key):
        if node in added:
            status = "added"
        elif node in changed_b:
            status = "changed"
        else:
            status = "same"
        nodes[f"b_{node}"] = (status, "b", node)
    for node in sorted(d.removed, key=_id_key):
        nodes[f"a_{node}"] = ("removed", "a", node)

    def uid_a(node: str) -> str:
        partner = d.matches.get(node)
        return f"b_{partner}" if partner is not None else f"a_{node}"

    added_edges = set(d.added_edges)
    edges: list[tuple[str, str, str, str]] = []
    for u, v, data in d.b.edges(data=True):
        status = "added" if (u, v) in added_edges else "same"
        edges.append((f"b_{u}", f"b_{v}", status, str(data.get("role", "data"))))
    for u, v in d.removed_edges:
        role = str(d.a.edges[u, v].get("role", "data"))
        edges.append((uid_a(u), uid_a(v), "removed", role))
    edges.sort(key=lambda e: (_uid_key(e[1]), _uid_key(e[0]), e[2]))
    return nodes, edges


def _uid_key(uid: str) -> tuple[str, tuple[str, int, str]]:
    side, _, node = uid.partition("_")
    return (side, _id_key(node))


def _node_label(
    d: GraphDiff, status: str, graph: str, node: str, changes: Mapping[str, NodeChange]
) -> str:
    g = d.b if graph == "b" else d.a
    data = g.nodes[node]
    lines = [_title(data)]
    shape = data.get("shape")
    # NOTE: the graph picture's shape formatter (torchviz's ``(6)``), so a diff picture
    # and a graph picture of the same model label the same tensor alike.
    if shape is not None and (data.get("kind") != "op" or status in ("removed", "added")):
        lines.append(_shape_str(shape))
    if status == "changed":
        for name, before, after in changes[node].fields:
            lines.append(f"{name}: {_dot_value(before)} -> {_dot_value(after)}")
    return "\n".join(lines)


def _node_style(kind: str, status: str) -> dict[str, str]:
    fill = {
        "same": UNCHANGED_COLOR,
        "added": ADDED_COLOR,
        "removed": REMOVED_COLOR,
        "changed": CHANGED_COLOR,
    }[status]
    line = {
        "same": _UNCHANGED_LINE,
        "added": _ADDED_LINE,
        "removed": _REMOVED_LINE,
        "changed": _CHANGED_LINE,
    }[status]
    styles = ["filled"]
    if kind == "leaf":
        styles.append("rounded")
    if status == "removed":
        styles.append("dashed")
    if status == "added":
        styles.append("bold")
    attrs = {"fillcolor": fill, "color": line, "style": ",".join(styles)}
    if kind == "output":
        attrs["peripheries"] = "2"
    elif kind == "saved":
        attrs["shape"] = "note"
    return attrs


def _edge_style(status: str, role: str) -> dict[str, str]:
    styles = []
    attrs: dict[str, str] = {}
    if status == "added":
        attrs["color"] = _ADDED_LINE
        styles.append("bold")
    elif status == "removed":
        attrs["color"] = _REMOVED_LINE
        styles.append("dashed")
    else:
        attrs["color"] = _UNCHANGED_LINE
    if role == "saved":
        styles.append("dotted")
    if styles:
        attrs["style"] = ",".join(styles)
    return attrs


def _keep(
    nodes: Mapping[str, tuple[str, str, str]],
    edges: Sequence[tuple[str, str, str, str]],
    max_nodes: int,
) -> tuple[set[str] | None, str]:
    """Pick the nodes to draw when the union is too big; None keeps all."""
    if len(nodes) <= max_nodes:
        return None, ""
    focus = [uid for uid, (status, _, _) in nodes.items() if status != "same"]
    keep = set(focus[:max_nodes])
    changed = set(focus)
    for u, v, status, _ in edges:  # the direct neighbours of the changes, in edge order
        if len(keep) >= max_nodes:
            break
        if u in changed or v in changed or status != "same":
            keep.add(u)
            if len(keep) < max_nodes:
                keep.add(v)
    return keep, (
        f"showing {len(keep)} of {len(nodes)} nodes: the changes and their neighbours "
        f"(max_nodes={max_nodes})"
    )


def to_dot(
    diff: GraphDiff,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    legend: bool = True,
    rankdir: str = "TB",
) -> graphviz.Digraph:
    """Draw both graphs of a diff as one graph, coloured by what changed.

    Args:
        diff: the diff to draw.
        max_nodes: above this many nodes, draw only the changes and their neighbours.
        legend: draw the colour legend.
        rankdir: Graphviz's direction, ``"TB"`` (top to bottom, torchviz's) or ``"LR"``.

    Returns:
        A ``graphviz.Digraph`` (see the module docstring for the legend).

    Raises:
        TypeError: ``diff`` is not a GraphDiff.
        ValueError: ``max_nodes`` is below 1 or ``rankdir`` is not TB, LR, BT or RL.

    Example:
        >>> import networkx as nx
        >>> from gradviz.trace.diff import diff
        >>> g = nx.DiGraph(schema="gradviz.trace/1", roots=["n1"])
        >>> g.add_node("n0", kind="op", label="AccumulateGrad", name="AccumulateGrad", seq=0)
        >>> g.add_node("n1", kind="output", label="", name="", shape=())
        >>> g.add_edge("n0", "n1", role="data", slots=[[0, 0]])
        >>> "lightgrey" in to_dot(diff(g, g)).source
        True
    """
    d = _check_diff(diff)
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}.")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be one of TB, LR, BT, RL, got {rankdir!r}.")
    nodes, edges = _union(d)
    keep, note = _keep(nodes, edges, max_nodes)
    title = d.summary() + (f"\n{note}" if note else "")
    dot = graphviz.Digraph(
        "gradviz_diff",
        node_attr=dict(NODE_ATTR),
        graph_attr={
            "size": "12,12",
            "rankdir": rankdir,
            "label": title,
            "labelloc": "t",
            "fontname": "monospace",
            "fontsize": "12",
        },
    )
    changes = {change.b: change for change in d.changed}
    for uid, (status, graph, node) in nodes.items():
        if keep is not None and uid not in keep:
            continue
        kind = str((d.b if graph == "b" else d.a).nodes[node].get("kind"))
        label = _quote(_node_label(d, status, graph, node, changes))
        dot.node(uid, label=label, **_node_style(kind, status))
    for u, v, status, role in edges:
        if keep is not None and (u not in keep or v not in keep):
            continue
        dot.edge(u, v, **_edge_style(status, role))
    if legend:
        with dot.subgraph(name="cluster_legend") as box_:
            box_.attr(label="legend", style="dashed", color="grey60", fontname="monospace")
            names = []
            for status, text in (
                ("same", "unchanged"),
                ("added", "added (b only)"),
                ("removed", "removed (a only)"),
                ("changed", "changed"),
            ):
                name = f"legend_{status}"
                names.append(name)
                box_.node(name, label=_quote(text), **_node_style("op", status))
            for first, second in zip(names, names[1:], strict=False):
                box_.edge(first, second, style="invis")
    return dot


def render_dot(diff: GraphDiff, **options: Any) -> str:
    """Return the DOT source of :func:`to_dot` (same options).

    Raises:
        TypeError: ``diff`` is not a GraphDiff.
        ValueError: an option has a bad value (see :func:`to_dot`).
    """
    return to_dot(diff, **options).source


def _format_for(path: Path, format: str | None) -> str:  # noqa: A002 - graphviz's name
    if format is not None:
        fmt = format.lower().lstrip(".")
        fmt = {"gv": "dot", "txt": "text"}.get(fmt, fmt)
        if fmt not in _FORMAT_NAMES:
            raise ValueError(
                f"unknown format {format!r}; a diff is written as {', '.join(_FORMAT_NAMES)}."
            )
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValueError(
            f"cannot tell the format from the file name {str(path)!r}. "
            "Fix: end it in .pdf, .svg, .png, .dot, .json or .txt, or pass format=."
        )
    return found


def render(
    diff: GraphDiff,
    path: str | os.PathLike[str],
    format: str | None = None,  # noqa: A002 - graphviz's name
    **options: Any,
) -> Path:
    """Write a diff as a picture (PDF, SVG, PNG), DOT source, JSON or plain text.

    The format comes from ``format`` or else from the suffix of ``path`` (``.pdf``,
    ``.svg``, ``.png``, ``.dot``/``.gv``, ``.json``, ``.txt``). The file is written
    atomically.

    Args:
        diff: the diff to write.
        path: the file to write.
        format: ``"pdf"``, ``"svg"``, ``"png"``, ``"dot"``, ``"json"`` or ``"text"``.
        options: passed to :func:`to_dot` (pictures and DOT only).

    Returns:
        The path written.

    Raises:
        TypeError: ``diff`` is not a GraphDiff.
        ValueError: the format is unknown or cannot be told from the suffix.
        gradviz.errors.RenderError: a picture was asked for and Graphviz's ``dot`` is
            missing or failed.
    """
    d = _check_diff(diff)
    target = Path(path)
    fmt = _format_for(target, format)
    if fmt == "json":
        data = (json.dumps(d.to_dict(), indent=1, sort_keys=True) + "\n").encode("utf-8")
    elif fmt == "text":
        data = d.text().encode("utf-8")
    else:
        source = render_dot(d, **options)
        data = source.encode("utf-8") if fmt == "dot" else run_dot(source, fmt)
    write_atomic(target, data, parents=True)
    return target


# ----------------------------------------------------------------------- the report


def _line(marker: str, text: str, color: bool) -> Text:
    return Text(f"{marker} {text}", style=_STYLES.get(marker, "") if color else "")


def _node_text(g: Any, node: str, *, with_module: bool = False) -> str:
    data = g.nodes[node]
    parts = [node, _title(data)]
    if with_module and data.get("module"):
        parts.append(f"@{data['module']}")
    if data.get("shape") is not None:
        parts.append(fmt_shape(data["shape"]))
    if data.get("dtype"):
        parts.append(str(data["dtype"]))
    return " ".join(parts)


def _limited(items: list[Text], limit: int | None) -> list[Text]:
    if limit is None or len(items) <= limit:
        return items
    return [*items[:limit], Text(f"... and {len(items) - limit} more", style="dim")]


def _grouped_changes(d: GraphDiff, color: bool, limit: int | None) -> list[RenderableType]:
    groups: dict[str, list[tuple[int, Text]]] = {}

    def put(module: str, order: int, text: Text) -> None:
        groups.setdefault(module, []).append((order, text))

    for node in d.added:
        put(_module_of(d.b, node), 0, _line("+", _node_text(d.b, node), color))
    for node in d.removed:
        put(_module_of(d.a, node), 1, _line("-", _node_text(d.a, node), color))
    for change in d.changed:
        data = d.b.nodes[change.b]
        head = f"{change.b} {_title(data)}"
        if change.a != change.b:
            head = f"{change.a} -> {head}"
        fields = "; ".join(
            f"{name} {_text_value(before)} -> {_text_value(after)}"
            for name, before, after in change.fields
        )
        put(_module_of(d.b, change.b), 2, _line("~", f"{head}: {fields}", color))
    out: list[RenderableType] = []
    for module in sorted(groups, key=_module_key):
        entries = [text for _, text in sorted(groups[module], key=lambda e: e[0])]
        tree = Tree(Text(module, style="bold" if color else ""), guide_style="dim")
        for text in _limited(entries, limit):
            tree.add(text)
        out.append(tree)
    return out


def _counts_table(d: GraphDiff) -> Table:
    table = Table(title="by op", box=box.SIMPLE, title_justify="left", pad_edge=False)
    table.add_column("op")
    table.add_column("added", justify="right")
    table.add_column("removed", justify="right")
    table.add_column("changed", justify="right")
    for key, row in d.counts.items():
        table.add_row(
            key,
            str(row["added"]) if row["added"] else "",
            str(row["removed"]) if row["removed"] else "",
            str(row["changed"]) if row["changed"] else "",
        )
    return table


def _edge_text(g: Any, u: str, v: str) -> str:
    data = g.edges[u, v]
    extra = f" [saved {data.get('slot')}]" if data.get("role") == "saved" else ""
    return f"{u} {_title(g.nodes[u])} -> {v} {_title(g.nodes[v])}{extra}"


def _grads_table(d: GraphDiff) -> Table:
    table = Table(
        title="gradient norms, largest changes",
        box=box.SIMPLE,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column("node")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("change", justify="right")
    for change in d.grad_changes:
        where = change.b if change.a == change.b else f"{change.a} -> {change.b}"
        module = f" @{change.module}" if change.module else ""
        table.add_row(
            f"{where} {change.label}{module}",
            f"{change.before:.4g}",
            f"{change.after:.4g}",
            f"{change.delta:+.4g}",
        )
    return table


def report(diff: GraphDiff, *, limit: int | None = 50, color: bool = True) -> Group:
    """Return the console report of a diff as a rich renderable.

    Args:
        diff: the diff to report.
        limit: at most this many lines per module and per edge list (None: all).
        color: style added lines green, removed red and changed orange (the console
            decides whether colour is shown at all).

    Returns:
        A ``rich.console.Group``: summary panel, counts by op, changes grouped by module,
        edges added and removed, and the largest gradient-norm changes.

    Raises:
        TypeError: ``diff`` is not a GraphDiff.
        ValueError: ``limit`` is negative.
    """
    d = _check_diff(diff)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, got {limit}.")
    a, b = d.a, d.b
    head = Text(d.summary(), style=("bold green" if d.identical else "bold") if color else "")
    sizes = Text(
        f"a: {a.number_of_nodes()} nodes, {a.number_of_edges()} edges\n"
        f"b: {b.number_of_nodes()} nodes, {b.number_of_edges()} edges"
    )
    parts: list[RenderableType] = [
        Panel(Group(head, sizes), title="gradviz diff", title_align="left", box=box.SQUARE)
    ]
    if d.counts:
        parts.append(_counts_table(d))
    if d.added or d.removed or d.changed:
        parts.append(Text("changes by module", style="bold" if color else ""))
        parts.extend(_grouped_changes(d, color, limit))
    if d.added_edges or d.removed_edges:
        edges = [_line("+", _edge_text(b, u, v), color) for u, v in d.added_edges]
        edges += [_line("-", _edge_text(a, u, v), color) for u, v in d.removed_edges]
        tree = Tree(Text("edges", style="bold" if color else ""), guide_style="dim")
        for text in _limited(edges, limit):
            tree.add(text)
        parts.append(tree)
    if d.grad_changes:
        parts.append(_grads_table(d))
    return Group(*parts)


def report_text(diff: GraphDiff, *, width: int = 80, limit: int | None = 50) -> str:
    """Return the console report as plain text at a fixed width (for logs and golden files).

    Args:
        diff: the diff to report.
        width: the width in columns.
        limit: at most this many lines per module and per edge list (None: all).

    Returns:
        The text, without colour, each line stripped of trailing spaces.

    Raises:
        TypeError: ``diff`` is not a GraphDiff.
        ValueError: ``limit`` is negative.
    """
    return to_text(report(diff, limit=limit, color=False), width=width)


def print_report(
    diff: GraphDiff, *, console: Console | None = None, limit: int | None = 50
) -> None:
    """Print the console report (colour on a terminal, plain text elsewhere).

    Args:
        diff: the diff to report.
        console: where to print; default: standard output (see
            :func:`gradviz.renderers.console.make_console`).
        limit: at most this many lines per module and per edge list (None: all).

    Raises:
        TypeError: ``diff`` is not a GraphDiff.
        ValueError: ``limit`` is negative.
    """
    target = console if console is not None else make_console()
    target.print(report(diff, limit=limit))
