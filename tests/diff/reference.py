"""A plain reference of the differ's matching, to check the fast one against.

:func:`reference_diff` is the algorithm of :mod:`gradviz.trace.diff` written the
straightforward way, one pass per step over the graph through networkx's public API:
Kahn's algorithm for the topological order, identities interned in that order, ranks and
depths as full lists, every matcher step as a loop over all candidates, and every
matched pair compared attribute by attribute. It is slow, and meant to be obviously the
algorithm the module documents; ``test_diff_reference.py`` asserts that both give the
same diff, down to the order of every sequence.

Only the result types and the per-node helpers that the fast code shares unchanged
(labels, attribute comparison, gradient norms) come from the module.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import networkx as nx

from gradviz.trace.diff import GradChange, GraphDiff, NodeChange

# NOTE: the module, not gradviz.trace.diff the function, which gradviz.trace exports.
differ = importlib.import_module("gradviz.trace.diff")

_CONFLICT = -2
_CHECKED_INPUTS = 32
_NO_SEQ = 2**63

Entry = tuple[int, tuple[Any, ...], int]  # (slot key, signature, other end)


class Side:
    """One graph as lists indexed by insertion position."""

    def __init__(self, graph: nx.DiGraph, name: str) -> None:
        differ._check_graph(graph, name)
        self.name = name
        self.graph = graph
        self.ids = list(graph)
        self.index = {node: i for i, node in enumerate(self.ids)}
        self.data = [data for _, data in graph.nodes(data=True)]
        self.kind = [data.get("kind") for data in self.data]
        for node, kind in zip(self.ids, self.kind, strict=True):
            if not isinstance(kind, str) or kind not in differ._KINDS:
                raise ValueError(
                    f"diff: graph {name} is not a gradviz trace graph: node {node!r} has "
                    f"kind {kind!r}, expected one of {', '.join(sorted(differ._KINDS))}.\n"
                    "Fix: pass graphs made by gradviz.trace.capture/record or "
                    "gradviz.trace.load."
                )
        count = len(self.ids)
        self.preds: list[list[Entry]] = [[] for _ in range(count)]
        self.succs: list[list[Entry]] = [[] for _ in range(count)]
        self.saved_edges: dict[tuple[int, int], str] = {}
        self.saved_consumer: dict[int, tuple[int, str]] = {}
        for u, consumers in graph.adjacency():
            iu = self.index[u]
            for v, data in consumers.items():
                iv = self.index[v]
                if data.get("role", "data") == "saved":
                    slot_name = str(data.get("slot"))
                    self.saved_edges[iu, iv] = slot_name
                    if self.kind[iu] == "saved" and iu not in self.saved_consumer:
                        self.saved_consumer[iu] = (iv, slot_name)
                    continue
                slots = data.get("slots")
                signature = tuple(tuple(pair) for pair in slots) if slots else ()
                key = min(signature)[0] if signature else -1
                self.preds[iv].append((key, signature, iu))
                self.succs[iu].append((key, signature, iv))
        for entries in self.preds:
            entries.sort(key=lambda entry: (entry[0], entry[1]))  # stable: insertion order
        self.topo = self._topological_order()
        self.rank, self.order = self._ranks()
        self.depth = self._depths()
        self.ident = [0] * count
        self.loose = [0] * count

    def _topological_order(self) -> list[int]:
        indegree = [len(entries) for entries in self.preds]
        order = [i for i, n in enumerate(indegree) if n == 0]
        head = 0
        while head < len(order):
            node = order[head]
            head += 1
            for _, _, consumer in self.succs[node]:
                indegree[consumer] -= 1
                if indegree[consumer] == 0:
                    order.append(consumer)
        if len(order) != len(self.ids):
            stuck = sorted(self.ids[i] for i, n in enumerate(indegree) if n > 0)[:5]
            raise ValueError(
                f"diff: graph {self.name} has a cycle (it is not a DAG); nodes on or after "
                f"it include {', '.join(map(repr, stuck))}.\n"
                "Fix: trace graphs are DAGs; check how the graph was built."
            )
        return order

    def _depths(self) -> list[int]:
        depth = [0] * len(self.ids)
        for i in self.topo:
            depth[i] = max((depth[j] for _, _, j in self.preds[i]), default=-1) + 1
        for i, (consumer, _) in self.saved_consumer.items():
            depth[i] = depth[consumer] + 1
        return depth

    def _ranks(self) -> tuple[list[int], list[int]]:
        inf = math.inf
        base = [inf] * len(self.ids)
        for i, data in enumerate(self.data):
            seq = data.get("seq") if self.kind[i] == "op" else None
            if isinstance(seq, (int, float)) and not isinstance(seq, bool) and seq < _NO_SEQ:
                base[i] = float(seq)
        for i in reversed(self.topo):
            if base[i] == inf and self.succs[i]:
                consumer = min(base[j] for _, _, j in self.succs[i])
                if consumer != inf:
                    base[i] = consumer - (0.5 if self.kind[i] == "op" else 0.01)
        for i in self.topo:
            if base[i] == inf and self.preds[i]:
                producer = min(base[j] for _, _, j in self.preds[i])
                if producer != inf:
                    base[i] = producer + 0.5
        for i, (consumer, _) in self.saved_consumer.items():
            if base[i] == inf and base[consumer] != inf:
                base[i] = base[consumer] - 0.25
        order = sorted(range(len(base)), key=lambda i: base[i])
        rank = [0] * len(order)
        for position, i in enumerate(order):
            rank[i] = position
        return rank, order


def intern(sides: list[Side]) -> None:
    """Give every node its exact and loose identity, in tables shared by the sides."""
    exact: dict[tuple[Any, ...], int] = {}
    loose: dict[tuple[Any, ...], int] = {}
    labels: dict[tuple[Any, ...], int] = {}
    for side in sides:
        label = [0] * len(side.ids)
        for i, data in enumerate(side.data):
            kind = side.kind[i]
            label[i] = labels.setdefault(differ._exact_label(kind, data), len(labels))
            side.loose[i] = loose.setdefault(differ._loose_label(kind, data), len(loose))
        for i in side.topo:
            if side.kind[i] == "saved":
                continue
            key: tuple[Any, ...] = (label[i],)
            for _, signature, j in side.preds[i]:
                key += (side.ident[j], signature)
            side.ident[i] = exact.setdefault(key, len(exact))
        for i, kind in enumerate(side.kind):
            if kind != "saved":
                continue
            consumer = side.saved_consumer.get(i)
            if consumer is None:
                key = (label[i], "saved")
            else:
                key = (label[i], "saved", side.ident[consumer[0]], consumer[1])
            side.ident[i] = exact.setdefault(key, len(exact))


class Matcher:
    """The match between two sides, grown by symmetric steps."""

    def __init__(self, a: Side, b: Side) -> None:
        self.a = a
        self.b = b
        self.pa = [-1] * len(a.ids)
        self.pb = [-1] * len(b.ids)

    def accept(
        self, candidates: list[tuple[int, int]], check: bool = True
    ) -> list[tuple[int, int]]:
        """Match the candidates that are the only ones for both their ends."""
        want_a: dict[int, int] = {}
        want_b: dict[int, int] = {}
        for i, j in candidates:
            if self.pa[i] != -1 or self.pb[j] != -1:
                continue
            if check and not self.consistent(i, j):
                continue
            if want_a.get(i, j) != j:
                want_a[i] = _CONFLICT
            else:
                want_a[i] = j
            if want_b.get(j, i) != i:
                want_b[j] = _CONFLICT
            else:
                want_b[j] = i
        accepted = []
        for i, j in want_a.items():
            if j >= 0 and want_b.get(j) == i:
                self.pa[i] = j
                self.pb[j] = i
                accepted.append((i, j))
        return accepted

    def consistent(self, i: int, j: int) -> bool:
        """Return False when, in some input slot, both inputs are matched elsewhere."""
        preds_a = self.a.preds[i]
        preds_b = self.b.preds[j]
        if not preds_a or not preds_b:
            return True
        if len(preds_a) > _CHECKED_INPUTS or len(preds_b) > _CHECKED_INPUTS:
            return True
        if len(preds_a) == len(preds_b):  # the inputs side by side, up to a slot mismatch
            for (slot_a, _, u), (slot_b, _, v) in zip(preds_a, preds_b, strict=True):
                if slot_a != slot_b:
                    break
                if self.pa[u] not in (-1, v) and self.pb[v] != -1:
                    return False
            else:
                return True
        by_slot = {slot: v for slot, _, v in preds_b}
        for slot, _, u in preds_a:
            w = by_slot.get(slot)
            if w is not None and self.pa[u] not in (-1, w) and self.pb[w] != -1:
                return False
        return True

    def anchors(self) -> None:
        """Match the nodes whose exact identity occurs once in each graph."""
        seen_a: dict[int, int] = {}
        for i, h in enumerate(self.a.ident):
            seen_a[h] = _CONFLICT if h in seen_a else i
        seen_b: dict[int, int] = {}
        for j, h in enumerate(self.b.ident):
            seen_b[h] = _CONFLICT if h in seen_b else j
        candidates = [
            (i, seen_b[h]) for h, i in seen_a.items() if i >= 0 and seen_b.get(h, _CONFLICT) >= 0
        ]
        self.accept(candidates, check=False)

    def boundary(self) -> list[tuple[int, int]]:
        """Return the matched pairs next to an unmatched node."""
        pairs = set()
        for i, p in enumerate(self.pa):
            if p == -1:
                for _, _, x in self.a.preds[i] + self.a.succs[i]:
                    if self.pa[x] != -1:
                        pairs.add((x, self.pa[x]))
        for j, p in enumerate(self.pb):
            if p == -1:
                for _, _, x in self.b.preds[j] + self.b.succs[j]:
                    if self.pb[x] != -1:
                        pairs.add((self.pb[x], x))
        return sorted(pairs)

    def roots(self) -> list[tuple[int, int]]:
        """Match the outputs by their position in ``roots``."""
        candidates = [
            (i, j)
            for i, j in zip(self.root_list(self.a), self.root_list(self.b), strict=False)
            if self.a.kind[i] == self.b.kind[j] and self.a.loose[i] == self.b.loose[j]
        ]
        return self.accept(candidates)

    @staticmethod
    def root_list(side: Side) -> list[int]:
        """Return a side's outputs, from ``roots`` or else in creation order."""
        roots = side.graph.graph.get("roots")
        if roots:
            return [side.index[node] for node in roots if node in side.index]
        outputs = [i for i, kind in enumerate(side.kind) if kind == "output"]
        return sorted(outputs, key=lambda i: side.rank[i])

    def spread(self, frontier: list[tuple[int, int]], loose: bool) -> None:
        """Grow the match from ``frontier`` to inputs and consumers until it stops."""
        key_a = self.a.loose if loose else self.a.ident
        key_b = self.b.loose if loose else self.b.ident
        while frontier:
            candidates: list[tuple[int, int]] = []
            for i, j in frontier:
                by_slot = {slot: w for slot, _, w in self.b.preds[j]}
                for slot, _, u in self.a.preds[i]:
                    w = by_slot.get(slot)
                    if w is not None and self.free(u, w) and key_a[u] == key_b[w]:
                        candidates.append((u, w))
                groups_a: dict[tuple[int, int], list[int]] = {}
                for slot, _, c in self.a.succs[i]:
                    if self.pa[c] == -1:
                        groups_a.setdefault((key_a[c], slot), []).append(c)
                groups_b: dict[tuple[int, int], list[int]] = {}
                for slot, _, d in self.b.succs[j]:
                    if self.pb[d] == -1 and (key_b[d], slot) in groups_a:
                        groups_b.setdefault((key_b[d], slot), []).append(d)
                for group, members_b in groups_b.items():
                    members_a = groups_a[group]
                    if len(members_a) == 1 and len(members_b) == 1:
                        candidates.append((members_a[0], members_b[0]))
                    else:
                        self.by_inputs(members_a, members_b, candidates)
            frontier = self.accept(candidates)

    def free(self, i: int, j: int) -> bool:
        """Return True when neither ``i`` (in a) nor ``j`` (in b) is matched."""
        return self.pa[i] == -1 and self.pb[j] == -1

    def by_inputs(
        self, members_a: list[int], members_b: list[int], out: list[tuple[int, int]]
    ) -> None:
        """Propose twins whose inputs, read through the match, tell them apart."""
        sig_a: dict[tuple[Any, ...], int] = {}
        for c in members_a:
            key = tuple((slot, u) for slot, _, u in self.a.preds[c])
            sig_a[key] = _CONFLICT if key in sig_a else c
        sig_b: dict[tuple[Any, ...], int] = {}
        for d in members_b:
            inputs = self.b.preds[d]
            if any(self.pb[v] == -1 for _, _, v in inputs):
                continue
            key = tuple((slot, self.pb[v]) for slot, _, v in inputs)
            sig_b[key] = _CONFLICT if key in sig_b else d
        for key, d in sig_b.items():
            c = sig_a.get(key, _CONFLICT)
            if c >= 0 and d >= 0:
                out.append((c, d))

    def leftovers(self) -> None:
        """Match twins level by level: by their inputs, then in creation order."""
        groups_a: dict[int, list[int]] = {}
        for i in self.a.order:
            if self.pa[i] == -1:
                groups_a.setdefault(self.a.ident[i], []).append(i)
        groups_b: dict[int, list[int]] = {}
        for j in self.b.order:
            if self.pb[j] == -1 and self.b.ident[j] in groups_a:
                groups_b.setdefault(self.b.ident[j], []).append(j)
        levels: dict[int, list[int]] = {}
        for h in groups_b:
            levels.setdefault(self.a.depth[groups_a[h][0]], []).append(h)
        for level in sorted(levels):
            pending = []
            for h in levels[level]:
                members_a = [i for i in groups_a[h] if self.pa[i] == -1]
                members_b = [j for j in groups_b[h] if self.pb[j] == -1]
                if members_a and members_b:
                    pending.append((members_a, members_b))
            candidates: list[tuple[int, int]] = []
            for members_a, members_b in pending:
                self.by_inputs(members_a, members_b, candidates)
            self.spread(self.accept(candidates), loose=False)
            candidates = []
            for members_a, members_b in pending:
                members_a = [i for i in members_a if self.pa[i] == -1]
                members_b = [j for j in members_b if self.pb[j] == -1]
                candidates.extend(zip(members_a, members_b, strict=False))
            self.spread(self.accept(candidates), loose=False)


def edges_missing(mine: Side, other: Side, partner: list[int]) -> tuple[tuple[str, str], ...]:
    """Return the edges of ``mine`` that ``other`` lacks, by head then tail rank."""
    missing = []
    for v, entries in enumerate(mine.preds):
        for _, signature, u in entries:
            pu, pv = partner[u], partner[v]
            found = None
            if pu != -1 and pv != -1:
                found = {x: sig for _, sig, x in other.preds[pv]}.get(pu)
            if found != signature or pu == -1 or pv == -1:
                missing.append((mine.rank[v], mine.rank[u], u, v))
    for (u, v), slot in mine.saved_edges.items():
        pu, pv = partner[u], partner[v]
        if pu == -1 or pv == -1 or other.saved_edges.get((pu, pv)) != slot:
            missing.append((mine.rank[v], mine.rank[u], u, v))
    missing.sort()
    return tuple((mine.ids[u], mine.ids[v]) for _, _, u, v in missing)


def grad_changes(
    a: Side, b: Side, pairs: list[tuple[int, int]], top: int
) -> tuple[GradChange, ...]:
    """Return the ``top`` largest gradient-norm changes between matched nodes."""
    if top == 0 or "backward" not in a.graph.graph or "backward" not in b.graph.graph:
        return ()
    entries = []
    for i, j in pairs:
        if a.kind[i] == "op" and a.data[i].get("name") == "AccumulateGrad":
            continue
        before = differ._grad_norm(a.kind[i], a.data[i])
        after = differ._grad_norm(b.kind[j], b.data[j])
        if before is None or after is None:
            continue
        delta = abs(after - before)
        if math.isnan(delta):
            delta = math.inf if math.isnan(before) != math.isnan(after) else 0.0
        if delta != 0.0:
            entries.append((-delta, a.rank[i], i, j, before, after))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return tuple(
        GradChange(
            a=a.ids[i],
            b=b.ids[j],
            kind=b.kind[j],
            label=differ._short_label(b.graph, b.ids[j]),
            module=b.data[j].get("module"),
            before=before,
            after=after,
        )
        for _, _, i, j, before, after in entries[:top]
    )


def reference_diff(a: nx.DiGraph, b: nx.DiGraph, *, grad_top: int = 10) -> GraphDiff:
    """Diff two trace graphs the plain way; see :func:`gradviz.trace.diff.diff`."""
    if grad_top < 0:
        raise ValueError(f"diff: grad_top must be >= 0, got {grad_top}.")
    side_a = Side(a, "a")
    side_b = Side(b, "b")
    intern([side_a, side_b])
    m = Matcher(side_a, side_b)
    m.anchors()
    m.spread(m.boundary(), loose=False)
    m.spread(m.roots(), loose=False)
    m.spread(m.boundary(), loose=True)
    m.leftovers()
    m.spread(m.boundary(), loose=True)
    pairs = [(i, m.pa[i]) for i in side_a.order if m.pa[i] != -1]
    changed = []
    for i, j in pairs:
        fields = differ._compare(side_a.data[i], side_b.data[j], side_a.kind[i])
        if fields:
            after = side_b.data[j]
            changed.append(
                NodeChange(
                    a=side_a.ids[i],
                    b=side_b.ids[j],
                    kind=side_b.kind[j],
                    label=str(after.get("label") or after.get("name") or ""),
                    module=after.get("module") or side_a.data[i].get("module"),
                    fields=fields,
                )
            )
    return GraphDiff(
        a=a,
        b=b,
        matches={side_a.ids[i]: side_b.ids[j] for i, j in pairs},
        added=tuple(side_b.ids[j] for j in side_b.order if m.pb[j] == -1),
        removed=tuple(side_a.ids[i] for i in side_a.order if m.pa[i] == -1),
        changed=tuple(changed),
        added_edges=edges_missing(side_b, side_a, m.pb),
        removed_edges=edges_missing(side_a, side_b, m.pa),
        grad_changes=grad_changes(side_a, side_b, pairs, grad_top),
    )
