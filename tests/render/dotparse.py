"""A small reader of the DOT text the ``graphviz`` package writes, for tests.

It understands what ``graphviz.Digraph.source`` emits (gradviz's and torchviz's output):
one statement per line, quoted strings that may span lines, ``[k=v ...]`` attribute lists,
nested ``subgraph cluster_x { ... }`` blocks and ``graph``/``node``/``edge`` defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import networkx as nx

_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"'  # quoted string (may hold newlines)
    r"|->"
    r"|[\[\]{}=;]"
    r"|\n"
    r"|[^\s\[\]{}=;\"]+",
    re.DOTALL,
)


def _unquote(token: str) -> str:
    if token.startswith('"') and token.endswith('"'):
        body = token[1:-1]
        return re.sub(r'\\(["\\])', r"\1", body)
    return token


@dataclass
class Dot:
    """The parsed statements of one DOT graph."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    parent: dict[str, str | None] = field(default_factory=dict)  # cluster -> parent cluster
    member: dict[str, str | None] = field(default_factory=dict)  # node -> innermost cluster
    graph_attrs: dict[str, str] = field(default_factory=dict)
    node_defaults: dict[str, str] = field(default_factory=dict)

    def label(self, node: str) -> str:
        """Return a node's label (its id when it has none)."""
        return self.nodes[node].get("label", node)

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return the nodes (with their labels) and edges as a MultiDiGraph."""
        g = nx.MultiDiGraph()
        for node, attrs in self.nodes.items():
            g.add_node(node, **attrs)
        for a, b, attrs in self.edges:
            g.add_edge(a, b, **attrs)
        return g


def _attrs(tokens: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        if i + 2 < len(tokens) and tokens[i + 1] == "=":
            out[_unquote(tokens[i])] = _unquote(tokens[i + 2])
            i += 3
        else:
            i += 1
    return out


def parse(source: str) -> Dot:
    """Parse DOT ``source`` as the ``graphviz`` package writes it."""
    tokens = _TOKEN.findall(source)
    dot = Dot()
    stack: list[str | None] = []
    statement: list[str] = []

    def flush() -> None:
        if not statement:
            return
        words = list(statement)
        statement.clear()
        bracket = words.index("[") if "[" in words else len(words)
        head = words[:bracket]
        attrs = _attrs(words[bracket + 1 : -1]) if bracket < len(words) else {}
        current = stack[-1] if stack else None
        if head and head[0] in ("graph", "node", "edge") and len(head) == 1:
            target = {"graph": dot.graph_attrs, "node": dot.node_defaults}.get(head[0])
            if head[0] == "graph" and current is not None:
                dot.clusters[current].update(attrs)
            elif target is not None:
                target.update(attrs)
            return
        if len(head) >= 3 and len(head) % 3 == 0 and all(w == "=" for w in head[1::3]):
            target = dot.clusters[current] if current is not None else dot.graph_attrs
            target.update(_attrs(head))
            return
        if len(head) == 3 and head[1] == "->":
            dot.edges.append((_unquote(head[0]), _unquote(head[2]), attrs))
            for end in (_unquote(head[0]), _unquote(head[2])):
                dot.nodes.setdefault(end, {})
            return
        if len(head) == 1:
            name = _unquote(head[0])
            dot.nodes.setdefault(name, {}).update(attrs)
            if current is not None or name not in dot.member:
                dot.member[name] = current
            return
        raise ValueError(f"cannot parse DOT statement {words!r}")

    for token in tokens:
        if token == "\n" or token == ";":
            flush()
        elif token == "{":
            words = list(statement)
            statement.clear()
            if words and words[0] == "subgraph":
                name = _unquote(words[1]) if len(words) > 1 else f"anonymous{len(dot.clusters)}"
                dot.clusters[name] = {}
                dot.parent[name] = stack[-1] if stack else None
                stack.append(name)
            else:  # the `digraph {` itself
                stack.append(None)
        elif token == "}":
            flush()
            if stack:
                stack.pop()
        else:
            statement.append(token)
    flush()
    return dot
