"""Where do NaN and Inf gradients come from? Classify backward nodes as they run.

A backward node *originates* non-finite gradients when the gradients it produces (its
``grad_out``, one per input) contain NaN or Inf although the gradients it received (its
``grad_in``, one per output) are all finite: ``SqrtBackward0`` at 0, ``LogBackward0`` at 0,
``DivBackward0`` by 0. Every node downstream that receives them and sends them on only
*passes them on*. Two rarer origins are recognised too: a node that turns Inf into NaN
(``inf * 0``), and a node whose incoming gradient is already NaN/Inf although no node
produced one, because the engine summed the contributions of its consumers
(``inf + -inf``) or because the gradient given to ``backward()`` was not finite.

Everything here reads gradient *summaries* (``{"nan": int, "inf": int, "norm": float,
...}``, the trace schema's summary dict), so the same code classifies a live backward
and a recorded one. ``AccumulateGrad`` produces no ``grad_out``: what it writes into
``.grad`` is its input, so it passes on what it receives.

Invariant: nodes must be fed in backward execution order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Finding",
    "NanTracker",
    "find_nan_origin",
    "is_finite",
]

Summary = dict[str, Any]


def is_finite(summaries: Iterable[Summary | None]) -> bool:
    """Return True when no summary counts a NaN or an Inf (None entries are finite).

    Example:
        >>> is_finite([None, {"nan": 0, "inf": 0}])
        True
    """
    return all(s is None or (not s.get("nan") and not s.get("inf")) for s in summaries)


def _counts(summaries: Iterable[Summary | None]) -> tuple[int, int]:
    nan = inf = 0
    for s in summaries:
        if s is not None:
            nan += int(s.get("nan") or 0)
            inf += int(s.get("inf") or 0)
    return nan, inf


def _what(nan: int, inf: int) -> str:
    if nan and inf:
        return "NaN and Inf"
    return "NaN" if nan else "Inf"


def _slots(summaries: Sequence[Summary | None], prefix: str) -> str:
    parts = []
    for i, s in enumerate(summaries):
        if s is None:
            continue
        bad = []
        if s.get("nan"):
            bad.append(f"{s['nan']} NaN")
        if s.get("inf"):
            bad.append(f"{s['inf']} Inf")
        if bad:
            parts.append(f"{prefix}[{i}] has {' and '.join(bad)}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Finding:
    """What one backward node did with non-finite gradients.

    Attributes:
        node: the node id (``"n3"``).
        name: the node name (``"SqrtBackward0"``).
        kind: ``"origin"`` (non-finite values start here), ``"passed"`` (received them
            and sent them on) or ``"absorbed"`` (received them, produced finite ones).
        what: ``"NaN"``, ``"Inf"`` or ``"NaN and Inf"``: the non-finite values concerned.
        reason: one sentence saying why the node was classified so.
        creates_nan: True for an origin that creates NaN.
        creates_inf: True for an origin that creates Inf. ``b nan`` stops at every
            origin (an origin of Inf is where later NaNs usually come from), ``b inf``
            only at origins of Inf.
    """

    node: str
    name: str
    kind: str
    what: str
    reason: str
    creates_nan: bool = False
    creates_inf: bool = False

    def line(self) -> str:
        """Return the finding as one line of text.

        Example:
            >>> Finding("n1", "SqrtBackward0", "origin", "Inf", "made Inf.").line()
            'SqrtBackward0 [n1]: made Inf.'
        """
        return f"{self.name} [{self.node}]: {self.reason}"


@dataclass
class NanTracker:
    """Classify backward nodes one by one, in execution order, and remember the findings.

    Example:
        >>> tracker = NanTracker()
        >>> fine = {"nan": 0, "inf": 0}
        >>> bad = {"nan": 0, "inf": 2}
        >>> tracker.observe("n2", "SumBackward0", [fine], [fine]) is None
        True
        >>> tracker.observe("n1", "SqrtBackward0", [fine], [bad]).kind
        'origin'
        >>> tracker.observe("n0", "torch::autograd::AccumulateGrad", [bad], []).kind
        'passed'
    """

    findings: list[Finding] = field(default_factory=list)
    _nan_seen: bool = False
    _inf_seen: bool = False
    _first: bool = True

    @property
    def origins(self) -> list[Finding]:
        """The findings where non-finite gradients started."""
        return [f for f in self.findings if f.kind == "origin"]

    @property
    def passed(self) -> list[Finding]:
        """The findings of nodes that only passed non-finite gradients on."""
        return [f for f in self.findings if f.kind == "passed"]

    def observe(
        self,
        node: str,
        name: str,
        grad_in: Sequence[Summary | None],
        grad_out: Sequence[Summary | None],
        *,
        accumulates: bool = False,
    ) -> Finding | None:
        """Classify one executed node and remember the finding.

        Args:
            node: the node id.
            name: the node name.
            grad_in: summaries of the gradients the node received (one per output).
            grad_out: summaries of the gradients it produced (one per input).
            accumulates: True for ``AccumulateGrad`` (it writes its input into ``.grad``);
                also assumed when ``name`` says AccumulateGrad.

        Returns:
            The finding, or None when every gradient in and out was finite.
        """
        first = self._first
        self._first = False
        in_nan, in_inf = _counts(grad_in)
        if accumulates or name.endswith("AccumulateGrad"):
            out_nan, out_inf = in_nan, in_inf
            grad_out = ()
        else:
            out_nan, out_inf = _counts(grad_out)
        finding = self._classify(
            node, name, first, (in_nan, in_inf), (out_nan, out_inf), grad_in, grad_out
        )
        self._nan_seen = self._nan_seen or bool(in_nan or out_nan)
        self._inf_seen = self._inf_seen or bool(in_inf or out_inf)
        if finding is not None:
            self.findings.append(finding)
        return finding

    def _classify(
        self,
        node: str,
        name: str,
        first: bool,
        counts_in: tuple[int, int],
        counts_out: tuple[int, int],
        grad_in: Sequence[Summary | None],
        grad_out: Sequence[Summary | None],
    ) -> Finding | None:
        in_nan, in_inf = counts_in
        out_nan, out_inf = counts_out
        incoming = _slots(grad_in, "grad_in")
        produced = _slots(grad_out, "grad_out")
        if not in_nan and not in_inf:
            if not out_nan and not out_inf:
                return None
            what = _what(out_nan, out_inf)
            return Finding(
                node,
                name,
                "origin",
                what,
                f"produced {what} from finite incoming gradients ({produced}): "
                "the non-finite gradients start here.",
                creates_nan=bool(out_nan),
                creates_inf=bool(out_inf),
            )
        new_nan = bool(in_nan) and not self._nan_seen
        new_inf = bool(in_inf) and not self._inf_seen
        if new_nan or new_inf:
            what = _what(in_nan if new_nan else 0, in_inf if new_inf else 0)
            if first:
                cause = "the gradient given to backward() is not finite"
            elif new_nan and self._inf_seen:
                cause = (
                    "it arose when the engine summed the gradients of this node's consumers "
                    "(Inf + -Inf is NaN)"
                )
            else:
                cause = (
                    "it arose when the engine summed the gradients of this node's consumers "
                    "(the sum overflowed)"
                )
            return Finding(
                node,
                name,
                "origin",
                what,
                f"its incoming gradient is already {what} ({incoming}) although no node "
                f"produced any: {cause}.",
                creates_nan=new_nan,
                creates_inf=new_inf,
            )
        if out_nan and not in_nan:
            return Finding(
                node,
                name,
                "origin",
                "NaN",
                f"turned Inf into NaN ({incoming}; {produced}), as Inf * 0 or Inf - Inf do.",
                creates_nan=True,
            )
        what = _what(in_nan, in_inf)
        if out_nan or out_inf or not grad_out:
            target = f"({produced})" if grad_out else "into the leaf's .grad"
            return Finding(
                node,
                name,
                "passed",
                what,
                f"only passed {what} on: received {incoming}, sent it on {target}.",
            )
        return Finding(
            node,
            name,
            "absorbed",
            what,
            f"received {what} ({incoming}) but produced finite gradients.",
        )

    def report(self) -> list[str]:
        """Return a few lines that name the origin(s) and every node that passed it on.

        Returns:
            An empty list when every gradient was finite.
        """
        if not self.findings:
            return []
        lines = []
        for f in self.origins:
            lines.append(f"{f.what} origin: {f.line()}")
        passed = self.passed
        if passed:
            names = ", ".join(f"{f.name} [{f.node}]" for f in passed)
            lines.append(f"passed non-finite gradients on ({len(passed)}): {names}")
        absorbed = [f for f in self.findings if f.kind == "absorbed"]
        if absorbed:
            names = ", ".join(f"{f.name} [{f.node}]" for f in absorbed)
            lines.append(f"received non-finite gradients but produced finite ones: {names}")
        return lines


def find_nan_origin(graph: Any) -> NanTracker:
    """Classify every node of a recorded backward (a trace schema graph) in execution order.

    Args:
        graph: a ``networkx.DiGraph`` in the trace schema, with a recorded backward.

    Returns:
        A tracker holding the findings (empty when all gradients were finite, or when the
        graph has no recorded backward).
    """
    tracker = NanTracker()
    backward = graph.graph.get("backward")
    if not backward:
        return tracker
    for node_id in backward.get("order", ()):
        data = graph.nodes[node_id]
        grad_in = data.get("grad_in") or []
        grad_out = data.get("grad_out") or []
        tracker.observe(node_id, data.get("name") or data.get("label", ""), grad_in, grad_out)
    return tracker
