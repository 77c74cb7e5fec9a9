"""Draw trace graphs with Graphviz: DOT source, PDF, SVG, PNG, and node-link JSON.

The input is a graph in ``gradviz.trace``'s schema (a ``networkx.DiGraph`` whose edges run
forward, from what feeds a node to the node). The renderer reads it and never changes it.

Visual legend (torchviz's conventions, so a picture reads the same as before):

- grey box: a backward node (``MulBackward0``, ``AccumulateGrad``), named by its class;
  with ``show_attrs`` its parameters follow in a ``name: value`` table.
- light-blue box: a leaf tensor that requires grad, ``name`` over ``(shape)``; the name
  is the parameter's dotted name in its model, else the tensor's ``name``.
- white box: a tensor that feeds an op without needing a gradient (a batch of data, a
  mask), drawn only with ``show_inputs``.
- green box (``darkolivegreen1``): an output tensor, the graph's roots.
- orange box: a tensor saved for backward (``show_saved``). A saved tensor that *is* a
  leaf is not drawn again: a dashed edge from the leaf, labelled with the slot name,
  shows it. A saved tensor released by a backward pass reads ``freed``.
- dashed cluster: the nodes made inside one module's ``forward``, labelled with the
  module's dotted path (``encoder.layers.0``); clusters nest like the modules.
- 3-D box: a module folded into one box (deeper than ``max_depth``, or to keep the
  drawing under ``max_nodes``), with how many ops and leaves it holds.
- a cluster (or 3-D box) labelled ``layers.0–11 (×12)``: twelve identical blocks drawn
  once, as the first (``fold_repeats``, and first of all to fit ``max_nodes``); its
  nodes, names and gradients are those of ``layers.0``.
- after a recorded backward: the gradient's norm on each node; red nodes received or
  produced a gradient with NaN or Inf; a dashed border marks a node that did not run.
- thick red border: a node passed in ``highlight``.

Output is deterministic: DOT node names are the schema's node ids, nodes are emitted in
id order and edges in (target, input slot) order, so the same program gives the same
DOT bytes on every run and machine, and a graph the same bytes whatever order its nodes
and edges were added in. Dtype and device are shown only where they differ
from ``float32`` and ``cpu``. Tensor shapes print as torchviz prints them: ``(3, 4)``,
``(3)`` and ``()``.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import os
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import graphviz
import networkx as nx

from gradviz._fileio import write_atomic
from gradviz.errors import RenderError
from gradviz.trace.schema import ACCUMULATE_GRAD, SCHEMA_PREFIX, SCHEMA_VERSION

__all__ = [
    "DEFAULT_MAX_NODES",
    "FORMATS",
    "make_dot",
    "render",
    "render_dot",
    "run_dot",
    "to_dot",
    "to_json",
]


#: Formats :func:`render` writes, by file suffix.
FORMATS = {
    ".pdf": "pdf",
    ".svg": "svg",
    ".png": "png",
    ".dot": "dot",
    ".gv": "dot",
    ".json": "json",
}
_DOT_FORMATS = ("pdf", "svg", "png")

#: Above this many drawn nodes, modules are folded until the drawing fits (``dot`` needs
#: about 10 s for 8,000 nodes, and a picture of thousands of boxes is unreadable anyway).
DEFAULT_MAX_NODES = 2000

# torchviz's node style, kept attribute for attribute so pictures look the same.
# NOTE: `ranksep` and `align` are not node attributes in Graphviz (dot ignores them);
# torchviz sets them there, and we keep them so the DOT reads like torchviz's.
NODE_ATTR = {
    "style": "filled",
    "shape": "box",
    "align": "left",
    "fontsize": "10",
    "ranksep": "0.1",
    "height": "0.2",
    "fontname": "monospace",
}
LEAF_COLOR = "lightblue"
INPUT_COLOR = "white"
OUTPUT_COLOR = "darkolivegreen1"
SAVED_COLOR = "orange"
NONFINITE_COLOR = "red"
MODULE_COLOR = "lightgoldenrod1"
HIGHLIGHT_COLOR = "red"
DEFAULT_DTYPE = "float32"
DEFAULT_DEVICE = "cpu"

_MODULE_PREFIX = "module_"
# Edge attributes shared by many edges; read-only, since every edge holds the same mapping.
_NO_ATTR: Mapping[str, str] = MappingProxyType({})
_SAVED_EDGE_ATTR: Mapping[str, str] = MappingProxyType({"style": "dashed", "dir": "none"})
_ONE_SLOT = ((0, 0),)  # the slots of an edge that names none
_first = operator.itemgetter(0)
_ID_RE = re.compile(r"^(\D*)(\d+)$")


def _id_key(node_id: Any) -> tuple[str, int, str]:
    """Sort key for node ids: ``n2`` before ``n10``; other ids by their text."""
    text = str(node_id)
    # NOTE: the schema's ids (one letter, then digits) skip the regex, which costs more per
    # node than the rest of this key. `isdecimal` is exactly the regex's `\d` (category Nd).
    digits = text[1:]
    if digits.isdecimal() and not text[0].isdecimal():
        return (text[0], int(digits), "")
    match = _ID_RE.match(text)
    if match:
        head, digits = match.groups()
        return (head, int(digits), "")
    return (text, -1, text)


def _escape(text: str) -> str:
    r"""Escape backslashes so DOT does not read ``\l``/``\N`` in names as commands."""
    return text.replace("\\", "\\\\")


_PLAIN_ID = re.compile(r"(?:[a-zA-Z_][a-zA-Z0-9_]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))\Z")
_DOT_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})
_CLUSTER_ATTR = {
    "style": "rounded,dashed",
    "color": "grey40",
    "fontname": "monospace",
    "fontsize": "10",
}


def _quote(text: str) -> str:
    r"""Quote a DOT id or attribute value when it needs it, as the graphviz package does.

    Backslashes are doubled, so names never act as DOT escapes (``\l``, ``\N``), and a
    ``<...>`` text stays text, never an HTML-like label.
    """
    # NOTE: an ASCII identifier is the regex's first alternative, checked without the regex
    # (most names are identifiers, and the regex costs more than the rest of this function).
    plain = text.isidentifier() if text.isascii() else False
    if (plain or _PLAIN_ID.match(text)) and text.lower() not in _DOT_KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Quoted(dict[str, str]):
    """Text -> its DOT form (:func:`_quote`), remembered: one per drawing.

    Every node id is written about three times (its box, and the edges in and out), and
    labels and colours repeat from node to node, so most look-ups are plain dict hits.
    A miss costs more than :func:`_quote` itself (``__missing__`` is a Python call).
    """

    def __missing__(self, text: str) -> str:
        quoted = self[text] = _quote(text)
        return quoted


def _attr_text(label: str | None, attrs: Mapping[str, str], quoted: _Quoted) -> str:
    """``label=... k=v ...``: ``label`` first (when given), then the attributes by name."""
    if not attrs:
        return "" if label is None else f"label={quoted[label]}"
    parts = [] if label is None else [f"label={quoted[label]}"]
    parts.extend(
        f"{k}={quoted[v]}" for k, v in sorted(attrs.items()) if label is None or k != "label"
    )
    return " ".join(parts)


def _node_line(
    module: str | None, name: str, label: str, attrs: Mapping[str, str], quoted: _Quoted
) -> str:
    """Return box ``name``'s line, indented for its place in the cluster of ``module``."""
    text = quoted[name]
    indent = "\t" if module is None else "\t" * (_module_depth(module) + 1)
    if not attrs:  # most boxes (every op, without options): what _attr_text would write
        return f"{indent}{text} [label={quoted[label]}]\n"
    return f"{indent}{text} [{_attr_text(label, attrs, quoted)}]\n"


def _edge_line(tail: str, head: str, attrs: Mapping[str, str], quoted: _Quoted) -> str:
    if not attrs:
        return f"\t{quoted[tail]} -> {quoted[head]}\n"
    return f"\t{quoted[tail]} -> {quoted[head]} [{_attr_text(attrs.get('label'), attrs, quoted)}]\n"


def _label(text: str) -> str:
    """Return a DOT label for ``text`` that is never taken for an HTML-like label."""
    return graphviz.nohtml(_escape(text))


def _shape_str(shape: Any) -> str:
    """Format a shape as torchviz does: ``(3, 4)``, ``(3)``, ``()``."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _fmt_float(value: Any) -> str:
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def _module_depth(path: str) -> int:
    return path.count(".") + 1


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key for module paths: ``layers.2`` before ``layers.10``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split("."))


def _module_prefix(path: str, depth: int) -> str:
    return ".".join(path.split(".")[:depth])


def _check_graph(graph: Any) -> None:
    """Raise when ``graph`` is not a trace graph this renderer understands."""
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise TypeError(
            f"expected a trace graph (networkx.DiGraph from gradviz.trace.capture/record/load), "
            f"got {type(graph).__name__}. "
            "Fix: pass gradviz.trace.capture(tensor), or call render()/make_dot() on the tensor."
        )
    schema = graph.graph.get("schema")
    if schema != SCHEMA_VERSION:
        if isinstance(schema, str) and schema.startswith(SCHEMA_PREFIX):
            raise ValueError(
                f"trace graph schema {schema!r} is not supported by this gradviz "
                f"(it reads {SCHEMA_VERSION!r}). Fix: upgrade gradviz, or re-record the graph."
            )
        raise ValueError(
            f"the graph has no gradviz trace schema (graph['schema'] is {schema!r}, expected "
            f"{SCHEMA_VERSION!r}). Fix: build graphs with gradviz.trace.capture/record/load."
        )


def _has_nonfinite(summary: Any) -> bool:
    return isinstance(summary, Mapping) and bool(summary.get("nan") or summary.get("inf"))


def _summaries(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return every gradient summary a node carries (op: grad_in/grad_out; leaf: grad)."""
    found: list[Mapping[str, Any]] = []
    for key in ("grad_in", "grad_out"):
        for summary in data.get(key) or ():
            if isinstance(summary, Mapping):
                found.append(summary)
    grad = data.get("grad")
    if isinstance(grad, Mapping):
        found.append(grad)
    return found


def _grad_line(data: Mapping[str, Any]) -> str | None:
    """Describe the gradient that reached a node: its norm, and NaN/Inf counts."""
    if data.get("kind") == "leaf":
        summary = data.get("grad")
    else:
        summary = next((s for s in data.get("grad_in") or () if isinstance(s, Mapping)), None)
    if not isinstance(summary, Mapping):
        return None
    line = f"grad norm {_fmt_float(summary.get('norm', float('nan')))}"
    bad = []
    if summary.get("nan"):
        bad.append(f"{int(summary['nan'])} NaN")
    if summary.get("inf"):
        bad.append(f"{int(summary['inf'])} Inf")
    return line + (" (" + ", ".join(bad) + ")" if bad else "")


def _dtype_device_line(data: Mapping[str, Any]) -> str | None:
    parts = []
    dtype = data.get("dtype")
    device = data.get("device")
    if dtype not in (None, DEFAULT_DTYPE):
        parts.append(str(dtype))
    if device not in (None, DEFAULT_DEVICE):
        parts.append(str(device))
    return " ".join(parts) if parts else None


def _attr_table(name: str, attrs: Mapping[str, str], max_attr_chars: int) -> str:
    """Lay out ``name`` over a ``key: value`` table, as torchviz's ``show_attrs`` does."""
    if not attrs:
        return name
    max_attr_chars = max(max_attr_chars, 3)
    col1 = max(len(k) for k in attrs)
    col2 = min(max(len(v) for v in attrs.values()), max_attr_chars)

    def truncate(value: str) -> str:
        return value[: col2 - 3] + "..." if len(value) > col2 else value

    sep = "-" * max(col1 + col2 + 2, len(name))
    rows = [f"{k:<{col1}}: {truncate(v):>{col2}}" for k, v in attrs.items()]
    return name + "\n" + sep + "\n" + "\n".join(rows)


@dataclass
class _Repeat:
    """A run of sibling modules ``prefix.K`` ... ``prefix.L`` with the same contents.

    Attributes:
        blocks: the modules' dotted paths, in index order (``layers.0``, ``layers.1``...).
        label: what the first block's cluster or box is labelled (``layers.0–11 (×12)``).
        block_of: node id -> index in ``blocks`` of the block holding it.
        same_as: node id in a later block -> the node id at its place in the first block.
    """

    blocks: tuple[str, ...]
    label: str
    block_of: dict[Any, int]
    same_as: dict[Any, Any]

    @property
    def depth(self) -> int:
        return _module_depth(self.blocks[0])


@dataclass
class _Layout:
    """Which drawn box stands for each schema node, and the module of each box.

    Attributes:
        visible: the drawn schema nodes, in id order.
        rep: drawn node -> the box that stands for it: its own (``str`` of its id), a
            folded module's, or, in a folded repeated block, the first block's.
        own: ``(node, box, module)`` for each node drawn as its own box, in id order, with
            the module whose cluster holds it (None: outside every cluster).
        module_of: folded module's box -> the module whose cluster holds it.
        folded: folded module -> how many ops, leaves and saved tensors it holds.
        depth_limit: the depth below which modules are folded (None: none are).
        repeats: the runs of repeated blocks folded into their first block.
        labels: cluster or box labels that are not the module's path.
    """

    visible: list[Any]
    rep: dict[Any, str] = field(default_factory=dict)
    own: list[tuple[Any, str, str | None]] = field(default_factory=list)
    module_of: dict[str, str | None] = field(default_factory=dict)
    folded: dict[str, dict[str, int]] = field(default_factory=dict)
    depth_limit: int | None = None
    repeats: list[_Repeat] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def box_count(self) -> int:
        return len(set(self.rep.values()))  # `rep` holds exactly the visible nodes


def _within_repeats(tail: Any, head: Any, repeats: list[_Repeat]) -> bool:
    """Return True for an edge that folding repeated blocks removes.

    That is an edge between two blocks of a run (``layers.0`` -> ``layers.1``), or one
    inside a block other than the first (the first block's copy of it is drawn).
    """
    for repeat in repeats:
        where = repeat.block_of
        block = where.get(tail)
        if block is not None:
            other = where.get(head)
            if other is not None and (block != other or block != 0):
                return True
    return False


class _Drawer:
    """Builds one Digraph from one trace graph (the graph is only read)."""

    def __init__(
        self,
        graph: nx.DiGraph,
        *,
        show_attrs: bool,
        show_saved: bool,
        show_inputs: bool,
        clusters: bool,
        max_depth: int | None,
        max_nodes: int | None,
        fold_repeats: bool | None,
        grads: bool | None,
        edge_shapes: bool,
        legend: bool,
        highlight: Collection[Any] | Mapping[Any, str] | None,
        max_attr_chars: int,
        rankdir: str,
        title: str | None,
    ) -> None:
        self.graph = graph
        self.fold_repeats = fold_repeats
        self.show_attrs = show_attrs
        self.show_saved = show_saved
        self.show_inputs = show_inputs
        self.clusters = clusters
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.grads = ("backward" in graph.graph) if grads is None else bool(grads)
        self.edge_shapes = edge_shapes
        self.legend = legend
        self.max_attr_chars = max_attr_chars
        self.rankdir = rankdir
        self.title = title
        if highlight is None:
            self.highlight: dict[Any, str] = {}
        elif isinstance(highlight, Mapping):
            self.highlight = {k: str(v) for k, v in highlight.items()}
        elif isinstance(highlight, (str, bytes)):
            raise TypeError(
                f"highlight must be a collection of node ids or a dict of node id -> colour, "
                f"got the string {highlight!r}. Fix: pass [{highlight!r}]."
            )
        else:
            self.highlight = dict.fromkeys(highlight, HIGHLIGHT_COLOR)
        self.ran = self.grads and "backward" in graph.graph
        self._modules: dict[Any, str | None] = {}
        # Plain dicts: networkx's node views cost more per lookup than the rest of a lookup.
        self._data: dict[Any, dict[str, Any]] = dict(graph.nodes(data=True))
        ids = list(self._data)
        count = len(ids)
        # NOTE: graphs from capture, record and load hold n0, n1, ... in that order. Their
        # sort keys are known without parsing each id, and they need no quotes in DOT: both
        # would cost more per node than the rest of drawing it.
        self._numbered = ids == [f"n{k}" for k in range(count)]
        if self._numbered:
            keys = zip(itertools.repeat("n"), range(count), itertools.repeat(""))
            self._keys = dict(zip(ids, keys, strict=True))
        else:
            self._keys = dict(zip(ids, map(_id_key, ids), strict=True))

    # -- which nodes are drawn, and where ---------------------------------------------------

    def _is_drawn(self, node_id: Any) -> bool:
        data = self._data[node_id]
        kind = data.get("kind")
        if kind == "saved":
            return self.show_saved
        if kind == "leaf" and data.get("requires_grad") is False:
            return self.show_inputs
        return True

    def _own_module(self, node_id: Any) -> str | None:
        data = self._data[node_id]
        module = data.get("module") or None
        kind = data.get("kind")
        if module is None and kind == "leaf":
            param = data.get("param")
            if isinstance(param, str) and "." in param:
                module = param.rsplit(".", 1)[0]
        return module

    def _module(self, node_id: Any) -> str | None:
        """Return the module a node is drawn in (outputs stay outside every module)."""
        graph = self.graph
        data = self._data[node_id]
        kind = data.get("kind")
        if kind == "output":
            return None
        module = data.get("module")
        if module:
            return module  # as _own_module would, without a second look-up
        if kind == "leaf":
            return self._own_module(node_id)
        if kind == "op" and data.get("label") == ACCUMULATE_GRAD:
            # An AccumulateGrad belongs with its leaf, which belongs with its parameter.
            for pred in sorted(graph.predecessors(node_id), key=self._keys.__getitem__):
                if self._data[pred].get("kind") == "leaf":
                    return self._own_module(pred)
        if kind == "saved":
            for succ in sorted(graph.successors(node_id), key=self._keys.__getitem__):
                return self._module(succ)
        return None

    def _find_repeats(self, visible: list[Any]) -> list[_Repeat]:
        """Find runs of numbered sibling modules (``layers.0``, ``layers.1``...) drawn alike.

        Two blocks are alike when their drawn nodes, taken in id order, have the same kind,
        label (a parameter's name counted from its block), shape, dtype, device, module
        below the block, attributes, and edges between them, and the same edges from
        outside. Outer runs come first; a run inside a block that is folded away is not
        looked for.
        """
        if not any(self._modules.values()):
            return []  # no modules, so no blocks: skip the walk over every node
        members: dict[str, list[Any]] = {}
        for node_id in visible:
            module = self._modules[node_id]
            if module is None:
                continue
            parts = module.split(".")
            for i, part in enumerate(parts):
                if part.isdigit():
                    members.setdefault(".".join(parts[: i + 1]), []).append(node_id)
        siblings: dict[str, list[tuple[int, str]]] = {}
        for path in members:
            parent, _, number = path.rpartition(".")
            siblings.setdefault(parent, []).append((int(number), path))
        drawn = set(visible)
        repeats: list[_Repeat] = []
        gone: list[str] = []  # blocks folded into an earlier one, and everything inside
        for parent in sorted(siblings, key=lambda p: (p.count(".") if p else -1, _path_key(p))):
            if any(parent == g or parent.startswith(g + ".") for g in gone):
                continue
            blocks = sorted(siblings[parent])
            run: list[str] = []
            previous: tuple[int, Any] | None = None
            for index, path in [*blocks, (-2, "")]:
                signature = self._signature(path, members[path], drawn) if path else None
                if previous is not None and index == previous[0] + 1 and signature == previous[1]:
                    run.append(path)
                else:
                    if len(run) > 1:
                        repeats.append(self._repeat(parent, run, members))
                        gone.extend(run[1:])
                    run = [path]
                previous = (index, signature)
        return repeats

    def _signature(self, block: str, nodes: list[Any], drawn: set[Any]) -> tuple[Any, ...]:
        """Describe a block's drawn nodes and edges without its own name (see above)."""
        local = {node_id: i for i, node_id in enumerate(nodes)}
        cut = len(block)
        items = []
        for node_id in nodes:
            data = self._data[node_id]
            label = str(data.get("label", ""))
            if label.startswith(block + "."):
                label = label[cut:]
            module = self._modules[node_id] or ""
            attrs = data.get("attrs")
            edges = []
            for pred, edge in self.graph.pred[node_id].items():
                if pred in drawn:
                    slots = edge.get("slots")
                    edges.append(
                        (
                            local.get(pred, -1),
                            str(edge.get("role")),
                            str(edge.get("slot")),
                            tuple(tuple(p) for p in slots) if isinstance(slots, list) else (),
                        )
                    )
            items.append(
                (
                    data.get("kind"),
                    label,
                    repr(data.get("shape")),
                    data.get("dtype"),
                    data.get("device"),
                    module[cut:],
                    tuple(sorted(attrs.items())) if isinstance(attrs, Mapping) else (),
                    data.get("requires_grad"),
                    tuple(sorted(edges)),
                )
            )
        return tuple(items)

    def _repeat(self, parent: str, run: list[str], members: dict[str, list[Any]]) -> _Repeat:
        first, last = run[0].rpartition(".")[2], run[-1].rpartition(".")[2]
        head = f"{parent}." if parent else ""
        block_of: dict[Any, int] = {}
        same_as: dict[Any, Any] = {}
        base = members[run[0]]
        for k, path in enumerate(run):
            for i, node_id in enumerate(members[path]):
                block_of[node_id] = k
                if k:
                    same_as[node_id] = base[i]
        label = f"{head}{first}\u2013{last} (\u00d7{len(run)})"  # layers.0–11 (×12)
        return _Repeat(tuple(run), label, block_of, same_as)

    def _layout(
        self, visible: list[Any], limit: int | None, repeats: list[_Repeat] | None = None
    ) -> _Layout:
        layout = _Layout(visible=visible, depth_limit=limit)
        # A run is folded while its blocks are drawn: as clusters, or as boxes of their own
        # (not when a shallower module's box swallows them all).
        active = [r for r in repeats or () if limit is None or r.depth <= limit + 1]
        same_as: dict[Any, Any] = {}
        for repeat in active:
            same_as.update(repeat.same_as)
            layout.labels[repeat.blocks[0]] = repeat.label
        layout.repeats = active
        rep, module_of, modules = layout.rep, layout.module_of, self._modules
        if limit is None and not same_as:
            # Nothing folds: every node is its own box (the loop below, without its checks).
            boxes = visible if self._numbered else list(map(str, visible))  # str ids already
            rep.update(zip(visible, boxes, strict=True))
            layout.own = list(zip(visible, boxes, map(modules.__getitem__, visible), strict=True))
            return layout
        for node_id in visible:
            if node_id in same_as:
                continue
            module = modules[node_id]
            if limit is not None and module is not None and _module_depth(module) > limit:
                folded = _module_prefix(module, limit + 1)
                box = _MODULE_PREFIX + folded
                rep[node_id] = box
                counts = layout.folded.setdefault(folded, {"ops": 0, "leaves": 0, "saved": 0})
                data = self._data[node_id]
                kind = data.get("kind")
                if kind == "op" and data.get("label") != ACCUMULATE_GRAD:
                    counts["ops"] += 1
                elif kind in ("leaf", "saved"):
                    counts["leaves" if kind == "leaf" else "saved"] += 1
                parent = _module_prefix(folded, limit) if limit > 0 else None
                module_of[box] = parent
            else:
                box = str(node_id)
                rep[node_id] = box
                layout.own.append((node_id, box, module))
        for node_id, first in same_as.items():
            while first in same_as:  # a block inside a block that is itself folded
                first = same_as[first]
            rep[node_id] = rep[first]
        return layout

    def _fit(self, visible: list[Any]) -> tuple[_Layout, str | None]:
        """Fold repeated blocks when asked; to fit ``max_nodes``, fold them, then modules."""
        repeats = self._find_repeats(visible) if self.fold_repeats else []
        folding = bool(repeats)
        layout = self._layout(visible, self.max_depth, repeats)
        budget = self.max_nodes
        if budget is None or layout.box_count <= budget:
            return layout, self._repeat_note(layout)
        total = len(visible)
        if self.fold_repeats is None:
            repeats = self._find_repeats(visible)
            if repeats:
                folding = True
                layout = self._layout(visible, self.max_depth, repeats)
                if layout.box_count <= budget:
                    note = (
                        f"{total} nodes exceed the budget of {budget}: repeated blocks are "
                        f"folded ({layout.box_count} drawn)"
                    )
                    extra = self._repeat_note(layout)
                    return layout, f"{note}\n{extra}" if extra else note
        what = "repeated blocks and modules" if folding else "modules"
        depths = [_module_depth(m) for m in self._modules.values() if m is not None]
        limit = self.max_depth if self.max_depth is not None else max(depths, default=0)
        while layout.box_count > budget and limit > 0:
            limit = min(limit, max(depths, default=0)) - 1
            layout = self._layout(visible, max(limit, 0), repeats)
        if layout.box_count > budget:
            return layout, (
                f"{layout.box_count} nodes exceed the budget of {budget} and there are no "
                "more modules to fold; dot may be slow"
            )
        return layout, (
            f"{total} nodes exceed the budget of {budget}: {what} deeper than "
            f"{layout.depth_limit} are folded ({layout.box_count} drawn)"
        )

    def _repeat_note(self, layout: _Layout) -> str | None:
        """Without clusters no label tells that blocks were folded, so the caption does."""
        if self.clusters or not layout.repeats:
            return None
        shown = [r.label for r in layout.repeats if r.blocks[0] not in layout.folded]
        return "repeated blocks drawn once: " + ", ".join(shown) if shown else None

    # -- labels ---------------------------------------------------------------------------

    def _tensor_label(self, name: str, data: Mapping[str, Any]) -> str:
        lines = [name]
        shape = data.get("shape")
        if shape is not None:
            lines.append(_shape_str(shape))
        extra = _dtype_device_line(data)
        if extra:
            lines.append(extra)
        return "\n".join(lines)

    def _saved_value(self, entry: Mapping[str, Any]) -> str:
        alias = entry.get("alias_of")
        if alias is not None and alias in self.graph:
            leaf = self._data[alias]
            return f"leaf {leaf.get('label') or alias}"
        shape = entry.get("shape")
        text = _shape_str(shape) if shape is not None else "[saved tensor]"
        dtype = entry.get("dtype")
        if dtype not in (None, DEFAULT_DTYPE):
            text += f" {dtype}"
        return text

    def _op_label(self, data: Mapping[str, Any]) -> str:
        name = str(data.get("label", ""))
        if self.show_attrs:
            table: dict[str, str] = {
                str(k): str(v) for k, v in sorted((data.get("attrs") or {}).items())
            }
            for entry in data.get("saved") or ():
                table[str(entry.get("name", "?"))] = self._saved_value(entry)
            if data.get("saved_freed"):
                table["saved"] = "freed"
            name = _attr_table(name, dict(sorted(table.items())), self.max_attr_chars)
        elif self.show_saved and data.get("saved_freed"):
            name += "\nsaved: freed"
        return name

    def _node_attrs(self, node_id: Any) -> tuple[str, dict[str, str]]:
        data = self._data[node_id]
        kind = data.get("kind")
        attrs: dict[str, str] = {}
        if kind == "op":
            label = self._op_label(data)
        elif kind == "leaf":
            label = self._tensor_label(str(data.get("label", "")), data)
            attrs["fillcolor"] = LEAF_COLOR if data.get("requires_grad", True) else INPUT_COLOR
        elif kind == "output":
            label = self._tensor_label(str(data.get("label", "")), data)
            attrs["fillcolor"] = OUTPUT_COLOR
        elif kind == "saved":
            label = self._tensor_label(str(data.get("label", "")), data)
            attrs["fillcolor"] = SAVED_COLOR
        else:
            raise ValueError(
                f"node {node_id!r} has kind {kind!r}; a trace graph has only "
                "'op', 'leaf', 'output' and 'saved' nodes"
            )
        if self.grads:
            line = _grad_line(data)
            if line:
                label += "\n" + line
            if any(_has_nonfinite(s) for s in _summaries(data)):
                attrs["fillcolor"] = NONFINITE_COLOR
            if self.ran and kind == "op" and "order" in data and data["order"] is None:
                attrs["style"] = "filled,dashed"
        if node_id in self.highlight:
            attrs["color"] = self.highlight[node_id]
            attrs["penwidth"] = "3"
        return label, attrs

    def _folded_label(self, module: str, counts: Mapping[str, int], name: str) -> str:
        parts = [f"{counts['ops']} op" + ("" if counts["ops"] == 1 else "s")]
        if counts["leaves"]:
            parts.append(f"{counts['leaves']} lea" + ("f" if counts["leaves"] == 1 else "ves"))
        if counts["saved"]:
            parts.append(f"{counts['saved']} saved")
        return f"{name}\n" + ", ".join(parts)

    # -- the Digraph -----------------------------------------------------------------------

    def draw(self) -> graphviz.Digraph:
        visible = list(filter(self._is_drawn, self._data))
        if not self._numbered:  # numbered graphs are in id order already
            visible.sort(key=self._keys.__getitem__)
        self._modules = dict(zip(visible, map(self._module, visible), strict=True))
        layout, note = self._fit(visible)
        edges = self._edges(layout)

        n_boxes = layout.box_count
        size = max(12.0, (n_boxes + len(edges)) * 0.15)
        size_text = f"{size:g},{size:g}"
        graph_attr = {"size": size_text}
        if self.rankdir != "TB":
            graph_attr["rankdir"] = self.rankdir
        caption = "\n".join(part for part in (self.title, note) if part)
        if caption:
            graph_attr.update(label=_label(caption), labelloc="t", fontname="monospace")
        dot = graphviz.Digraph(node_attr=dict(NODE_ATTR), graph_attr=graph_attr)

        # NOTE: lines are written into dot.body directly: going through Digraph.node()/
        # .edge() per element costs more than everything else the renderer does.
        # Numbered ids need no quotes (see __init__).
        quoted = _Quoted(zip(self._data, self._data, strict=True)) if self._numbered else _Quoted()
        # Box lines by the module they are drawn in (None: outside every module), indented
        # for their place in the nested clusters.
        members: defaultdict[str | None, list[str]] = defaultdict(list)
        clusters = self.clusters
        for node_id, box, module in layout.own:
            label, attrs = self._node_attrs(node_id)
            if not clusters:
                module = None
            members[module].append(_node_line(module, box, label, attrs, quoted))
        for folded in sorted(layout.folded, key=_path_key):
            box = _MODULE_PREFIX + folded
            attrs = {"shape": "box3d", "fillcolor": MODULE_COLOR}
            label = self._folded_label(
                folded, layout.folded[folded], layout.labels.get(folded, folded)
            )
            module = layout.module_of[box] if clusters else None
            members[module].append(_node_line(module, box, label, attrs, quoted))

        body = dot.body
        body.extend(members.pop(None, ()))
        if members:
            body.extend(self._cluster_lines(members, layout.labels, quoted))
        body.extend([_edge_line(tail, head, attrs, quoted) for _, tail, head, attrs in edges])
        if self.legend:
            self._add_legend(dot)
        return dot

    def _cluster_lines(
        self,
        members: Mapping[str | None, list[str]],
        labels: Mapping[str, str],
        quoted: _Quoted,
    ) -> list[str]:
        """Return the lines of one nested ``cluster_<path>`` subgraph per module.

        ``members`` holds each module's box lines, already indented (:func:`_node_line`).
        """
        paths: set[str] = set()
        for module in members:
            if module is not None:
                parts = module.split(".")
                paths.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        children: dict[str | None, list[str]] = {}
        for path in sorted(paths, key=_path_key):
            parent = path.rsplit(".", 1)[0] if "." in path else None
            children.setdefault(parent, []).append(path)
        lines: list[str] = []
        # Iterative depth-first walk: ("open", path) emits a cluster's head and its boxes,
        # ("close", path) its closing brace after all nested clusters.
        stack = [("open", path) for path in reversed(children.get(None, []))]
        while stack:
            action, path = stack.pop()
            indent = "\t" * _module_depth(path)
            if action == "close":
                lines.append(f"{indent}}}\n")
                continue
            lines.append(f"{indent}subgraph {quoted['cluster_' + path]} {{\n")
            label = labels.get(path, path)
            cluster_attrs = {**_CLUSTER_ATTR, "label": label}
            lines.append(f"{indent}\t{_attr_text(None, cluster_attrs, quoted)}\n")
            lines.extend(members.get(path, ()))
            stack.append(("close", path))
            stack.extend(("open", child) for child in reversed(children.get(path, [])))
        return lines

    def _edges(self, layout: _Layout) -> list[tuple[tuple[Any, ...], str, str, Mapping[str, str]]]:
        """Return ``(sort key, tail box, head box, attributes)`` of each DOT edge, sorted."""
        keys = self._keys
        rep = layout.rep  # keyed by exactly the drawn nodes
        show_saved, edge_shapes = self.show_saved, self.edge_shapes
        edges: list[tuple[tuple[Any, ...], str, str, Mapping[str, str]]] = []
        # Edges into or out of a folded module: one per (tail box, head box, role), placed by
        # the graph edge first in id order, so that insertion order does not matter.
        folded_edges: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        boxes = {_MODULE_PREFIX + module for module in layout.folded}
        repeats = layout.repeats
        moved: list[tuple[Any, Any, dict[str, Any], str, str]] = []
        # NOTE: adjacency() hands out the graph's own dicts; graph.edges(data=True) costs a
        # generator step and a lambda call per edge on top.
        for tail, heads in self.graph.adjacency():
            a = rep.get(tail)
            if a is None:
                continue
            tail_key = keys[tail]
            for head, data in heads.items():
                b = rep.get(head)
                if b is None or a == b:
                    continue
                role = data.get("role", "data")
                if role == "saved" and not show_saved:
                    continue
                if repeats and _within_repeats(tail, head, repeats):
                    continue
                if boxes and (a in boxes or b in boxes):
                    first = (tail_key, keys[head])
                    seen = folded_edges.setdefault((a, b, role), first)
                    if first < seen:
                        folded_edges[a, b, role] = first
                    continue
                # Only folding repeated blocks draws a node in another node's box.
                if repeats and (a != str(tail) or b != str(head)):
                    moved.append((tail, head, data, a, b))  # now from or to a first block
                    continue
                if role == "saved" or edge_shapes:
                    self._plain_edges(edges, tail, data, a, b, keys[head], tail_key)
                    continue
                # An unstyled edge per slot, as _plain_edges draws it (the common case, inline).
                head_key = keys[head]
                for slot in data.get("slots") or _ONE_SLOT:
                    edges.append(((head_key, int(slot[0]), tail_key, role), a, b, _NO_ATTR))
        for (a, b, role), (tail_key, head_key) in folded_edges.items():
            attrs = _SAVED_EDGE_ATTR if role == "saved" else _NO_ATTR
            edges.append(((head_key, -1, tail_key, role), a, b, attrs))
        if moved:
            # An edge into (or out of) a later block is drawn at the same place of the first
            # block, unless the first block already has it (the graph edge first in id order
            # is drawn, whatever the insertion order).
            present = {(a, b, key[3]) for key, a, b, _ in edges}
            moved.sort(key=lambda edge: (keys[edge[0]], keys[edge[1]]))
            for tail, _, data, a, b in moved:
                role = data.get("role", "data")
                if (a, b, role) in present:
                    continue
                present.add((a, b, role))
                self._plain_edges(edges, tail, data, a, b, _id_key(b), _id_key(a))
        edges.sort(key=_first)
        return edges

    def _plain_edges(
        self,
        edges: list[tuple[tuple[Any, ...], str, str, Mapping[str, str]]],
        tail: Any,
        data: Mapping[str, Any],
        a: str,
        b: str,
        head_key: Any,
        tail_key: Any,
    ) -> None:
        """Add the DOT edges of one graph edge between two drawn nodes (one per slot)."""
        role = data.get("role", "data")
        if role == "saved":
            attrs: Mapping[str, str] = _SAVED_EDGE_ATTR
            if self._data[tail].get("kind") != "saved" and data.get("slot"):
                attrs = {**attrs, "label": str(data["slot"]), "fontsize": "8"}
            edges.append(((head_key, 1 << 30, tail_key, role), a, b, attrs))
            return
        attrs = _NO_ATTR
        if self.edge_shapes and self._data[tail].get("shape") is not None:
            attrs = {"label": _shape_str(self._data[tail]["shape"]), "fontsize": "8"}
        for slot in data.get("slots") or _ONE_SLOT:
            edges.append(((head_key, int(slot[0]), tail_key, role), a, b, attrs))

    def _add_legend(self, dot: graphviz.Digraph) -> None:
        with dot.subgraph(name="cluster_legend") as legend:
            legend.attr(label="legend", style="rounded", fontname="monospace", fontsize="10")
            entries = [
                ("legend_op", "backward node", {}),
                ("legend_leaf", "leaf tensor\n(requires grad)", {"fillcolor": LEAF_COLOR}),
                ("legend_output", "output tensor", {"fillcolor": OUTPUT_COLOR}),
            ]
            if self.show_inputs:
                entries.append(
                    ("legend_input", "input tensor\n(no grad)", {"fillcolor": INPUT_COLOR})
                )
            if self.show_saved:
                entries.append(("legend_saved", "saved tensor", {"fillcolor": SAVED_COLOR}))
            if self.grads:
                entries.append(
                    ("legend_nonfinite", "NaN/Inf gradient", {"fillcolor": NONFINITE_COLOR})
                )
            for name, text, attrs in entries:
                legend.node(name, _label(text), **attrs)
            for (a, _, _), (b, _, _) in zip(entries, entries[1:], strict=False):
                legend.edge(a, b, style="invis")


def to_dot(
    graph: nx.DiGraph,
    *,
    show_attrs: bool = False,
    show_saved: bool = False,
    show_inputs: bool = False,
    clusters: bool = True,
    max_depth: int | None = None,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    fold_repeats: bool | None = None,
    grads: bool | None = None,
    edge_shapes: bool = False,
    legend: bool = False,
    highlight: Collection[Any] | Mapping[Any, str] | None = None,
    max_attr_chars: int = 50,
    rankdir: str = "TB",
    title: str | None = None,
) -> graphviz.Digraph:
    """Draw a trace graph as a ``graphviz.Digraph`` (see the module docstring's legend).

    Args:
        graph: A graph in ``gradviz.trace``'s schema; it is read, never changed.
        show_attrs: Show each op's parameters (``dim: 1``) and saved tensors under its name.
        show_saved: Draw saved tensors: orange boxes, or dashed edges from the leaves
            they alias. Saved-tensor nodes exist only in graphs captured with ``saved=True``.
        show_inputs: Draw leaf nodes that do not require grad (hidden by default).
        clusters: Group the nodes of each module in a cluster labelled with its path.
        max_depth: Fold each module nested deeper than this into one box (0 folds the
            top-level modules); None folds nothing.
        max_nodes: Fold modules, deepest first, until at most this many boxes are drawn,
            and say so in the graph's caption; None draws everything. Repeated blocks are
            folded first (see ``fold_repeats``).
        fold_repeats: Draw a run of identical numbered sibling modules (``layers.0`` to
            ``layers.11`` of the same block) once, as the first block's cluster labelled
            ``layers.0–11 (×12)``; its nodes show the first block's values. True always,
            False never, None (the default) only when the graph is over ``max_nodes``.
        grads: Annotate gradient norms and colour NaN/Inf nodes; None does so when the
            graph holds a recorded backward pass.
        edge_shapes: Label each edge with the shape of the tensor flowing along it.
        legend: Add a legend cluster explaining the colours.
        highlight: Node ids drawn with a thick red border, or a dict of node id -> colour.
        max_attr_chars: Longest attribute value shown with ``show_attrs`` (longer ones end
            in ``...``), as in torchviz.
        rankdir: Graphviz ``rankdir``: ``"TB"`` (top to bottom, the default) or ``"LR"``,
            ``"BT"``, ``"RL"``.
        title: A caption above the drawing.

    Returns:
        The drawing; ``.source`` is its DOT text, ``.render()`` writes a file, and
        Jupyter displays it.

    Raises:
        TypeError: ``graph`` is not a ``networkx.DiGraph``, or ``highlight`` is a string.
        ValueError: the graph is not in a schema this version reads, a node has an
            unknown kind, ``rankdir`` is not one of Graphviz's four, ``max_depth``/
            ``max_nodes`` is negative, or ``fold_repeats`` is not True, False or None.

    Example:
        >>> import networkx as nx
        >>> g = nx.DiGraph(schema="gradviz.trace/1", roots=["n2"])
        >>> g.add_node("n0", kind="op", label="AccumulateGrad", shape=(3,), module=None)
        >>> g.add_node("n1", kind="leaf", label="x", shape=(3,), module=None)
        >>> g.add_node("n2", kind="output", label="", shape=(3,), module=None)
        >>> g.add_edge("n1", "n0", role="data", slots=[[0, 0]])
        >>> g.add_edge("n0", "n2", role="data", slots=[[0, 0]])
        >>> print(to_dot(g).source)  # doctest: +NORMALIZE_WHITESPACE
        digraph {
            graph [size="12,12"]
            node [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1
                  shape=box style=filled]
            n0 [label=AccumulateGrad]
            n1 [label="x
        (3)" fillcolor=lightblue]
            n2 [label="
        (3)" fillcolor=darkolivegreen1]
            n1 -> n0
            n0 -> n2
        }
    """
    _check_graph(graph)
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    for name, value in (("max_depth", max_depth), ("max_nodes", max_nodes)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"{name} must be a non-negative int or None, got {value!r}")
    if fold_repeats not in (None, True, False):
        raise ValueError(f"fold_repeats must be True, False or None, got {fold_repeats!r}")
    drawer = _Drawer(
        graph,
        show_attrs=show_attrs,
        show_saved=show_saved,
        show_inputs=show_inputs,
        clusters=clusters,
        max_depth=max_depth,
        max_nodes=max_nodes,
        fold_repeats=fold_repeats,
        grads=grads,
        edge_shapes=edge_shapes,
        legend=legend,
        highlight=highlight,
        max_attr_chars=max_attr_chars,
        rankdir=rankdir,
        title=title,
    )
    return drawer.draw()


def render_dot(graph: nx.DiGraph, **options: Any) -> str:
    """Return the DOT source of a trace graph; needs no Graphviz program.

    Args:
        graph: A graph in ``gradviz.trace``'s schema.
        **options: Keyword options of :func:`to_dot`.

    Returns:
        The DOT text; the same graph always gives the same text.

    Raises:
        TypeError: see :func:`to_dot`.
        ValueError: see :func:`to_dot`.
    """
    return str(to_dot(graph, **options).source)


def _json_value(value: Any) -> Any:
    """Convert one attribute value into plain JSON (arrays become nested lists)."""
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _json_value(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def to_json(graph: nx.DiGraph) -> str:
    """Return a trace graph as node-link JSON (networkx's format), one key order always.

    Tuples become lists, arrays nested lists, and non-finite floats the strings
    ``"nan"``, ``"inf"`` and ``"-inf"`` (JSON has no such numbers).

    Args:
        graph: A graph in ``gradviz.trace``'s schema.

    Returns:
        The JSON text, ending in a newline.

    Raises:
        TypeError: ``graph`` is not a ``networkx.DiGraph``.
        ValueError: the graph is not in a schema this version reads.
    """
    _check_graph(graph)
    nodes = [
        {"id": str(n), **{str(k): _json_value(v) for k, v in graph.nodes[n].items()}}
        for n in sorted(graph.nodes, key=_id_key)
    ]
    edges = [
        {"source": str(a), "target": str(b), **{str(k): _json_value(v) for k, v in d.items()}}
        for a, b, d in sorted(graph.edges(data=True), key=lambda e: (_id_key(e[1]), _id_key(e[0])))
    ]
    data = {
        "directed": True,
        "multigraph": False,
        "graph": _json_value(dict(graph.graph)),
        "nodes": nodes,
        "edges": edges,
    }
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def _format_for(path: Path, format: str | None) -> str:  # noqa: A002 - graphviz's name
    if format is not None:
        fmt = format.lower().lstrip(".")
        fmt = "dot" if fmt == "gv" else fmt
        if fmt not in FORMATS.values():
            raise ValueError(
                f"unknown format {format!r}; gradviz writes pdf, svg, png, dot and json"
            )
        return fmt
    fmt_from_suffix = FORMATS.get(path.suffix.lower())
    if fmt_from_suffix is None:
        raise ValueError(
            f"cannot tell the format from the file name {str(path)!r}. "
            "Fix: end it in .pdf, .svg, .png, .dot or .json, or pass format=."
        )
    return fmt_from_suffix


def _dot_executable(fmt: str) -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(
            f"rendering {fmt.upper()} needs the Graphviz 'dot' program, which is not on PATH. "
            "Fix: install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; "
            "macOS: brew install graphviz; conda: conda install graphviz; "
            "others: https://graphviz.org/download/), or write a .dot or .json file instead."
        )
    return exe


def run_dot(source: str, fmt: str) -> bytes:
    """Lay out DOT ``source`` with Graphviz's ``dot`` and return the ``fmt`` bytes.

    Args:
        source: DOT text.
        fmt: ``"pdf"``, ``"svg"`` or ``"png"``.

    Returns:
        The rendered file's bytes.

    Raises:
        ValueError: ``fmt`` is not one ``dot`` is asked to write here.
        RenderError: ``dot`` is not on PATH, or it failed (its message is included).
    """
    if fmt not in _DOT_FORMATS:
        raise ValueError(f"run_dot writes {', '.join(_DOT_FORMATS)}, not {fmt!r}")
    exe = _dot_executable(fmt)
    try:
        result = subprocess.run(
            [exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, check=False
        )
    except OSError as err:
        raise RenderError(f"could not run Graphviz's dot ({exe}): {err}") from err
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"Graphviz's dot failed (exit {result.returncode}) writing {fmt.upper()}: "
            + (message[0] if message else "no message")
        )
    return result.stdout


def _capture(outputs: Any, params: Any, saved: bool, inputs: bool) -> nx.DiGraph:
    """Capture the graph behind a tensor or a tuple/list/dict of tensors."""
    # NOTE: imported here so that drawing a stored graph never loads the tracer.
    from gradviz.trace import capture  # noqa: PLC0415

    return capture(outputs, params=params, saved=saved, inputs=inputs)


def render(
    graph_or_tensor: Any,
    path: str | os.PathLike[str],
    format: str | None = None,  # noqa: A002 - graphviz's and torchviz's name
    **options: Any,
) -> Path:
    """Write a graph, or the graph behind tensors, as PDF, SVG, PNG, DOT or JSON.

    The file is written atomically (a temporary file in the same folder, then renamed),
    so a failed render never leaves half a file behind.

    Args:
        graph_or_tensor: A trace graph, a tensor, or a tuple/list/dict of tensors (then
            captured with ``gradviz.trace.capture``, with ``saved=`` and ``inputs=`` as
            ``show_saved`` and ``show_inputs`` ask).
        path: Where to write; missing folders are created.
        format: ``"pdf"``, ``"svg"``, ``"png"``, ``"dot"`` or ``"json"``; None takes it
            from ``path``'s suffix.
        **options: Keyword options of :func:`to_dot` (ignored for JSON).

    Returns:
        The path written.

    Raises:
        ValueError: the format is unknown or cannot be told from the suffix; see also
            :func:`to_dot`.
        TypeError: see :func:`to_dot`.
        RenderError: PDF/SVG/PNG was asked for and Graphviz's ``dot`` is missing or failed.
    """
    target = Path(path)
    fmt = _format_for(target, format)
    if isinstance(graph_or_tensor, nx.DiGraph):
        graph = graph_or_tensor
    else:
        graph = _capture(
            graph_or_tensor,
            None,
            bool(options.get("show_saved", False)),
            bool(options.get("show_inputs", False)),
        )
    if fmt == "json":
        data = to_json(graph).encode("utf-8")
    else:
        source = render_dot(graph, **options)
        data = source.encode("utf-8") if fmt == "dot" else run_dot(source, fmt)
    write_atomic(target, data, parents=True)
    return target


def make_dot(
    var: Any,
    params: Mapping[str, Any] | None = None,
    show_attrs: bool = False,
    show_saved: bool = False,
    max_attr_chars: int = 50,
    *,
    show_inputs: bool = False,
) -> graphviz.Digraph:
    """Draw the graph behind ``var`` as torchviz's ``make_dot`` does, with gradviz's fixes.

    Same signature and result type as ``torchviz.make_dot``, so
    ``make_dot(h).render("graph", format="pdf")`` works unchanged. Unlike torchviz it
    works after ``backward()`` (freed saved tensors read ``freed``), names a model's
    parameters without ``params=``, draws a saved tensor that is a leaf as an edge to that
    leaf instead of merging the two, groups nodes by module, can show the inputs that need
    no gradient, and its DOT is the same on every run. Colours are torchviz's (see the
    module docstring).

    Args:
        var: An output tensor, or a tuple/list of them, or a dict of name -> tensor (the
            keys name the outputs).
        params: Names for tensors (``dict(model.named_parameters())``); overrides the
            names gradviz finds itself.
        show_attrs: Show each backward node's parameters under its name.
        show_saved: Show the tensors saved for backward.
        max_attr_chars: Longest attribute value shown with ``show_attrs``.
        show_inputs: Also draw the tensors that feed an op without needing a gradient
            (white boxes). Walking ``grad_fn`` sees those an op saved for its backward
            (``x`` in ``w * x`` or ``x @ w``), until a backward frees them; a graph
            recorded with ``gradviz.trace.record(inputs=True)`` has every one.

    Returns:
        A ``graphviz.Digraph``.

    Raises:
        TypeError: ``var`` holds no tensor, or ``params`` is not a dict of name -> tensor
            (both checked by ``gradviz.trace.capture``).
    """
    graph = _capture(var, params, show_saved, show_inputs)
    return to_dot(
        graph,
        show_attrs=show_attrs,
        show_saved=show_saved,
        show_inputs=show_inputs,
        max_attr_chars=max_attr_chars,
    )
