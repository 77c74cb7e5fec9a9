"""Explain a missing gradient: why did ``param.grad`` stay None?

:func:`why_no_grad` walks the backward graph from the loss and examines the parameter.
It decides, in this order:

1. ``integer_dtype``: the parameter is an integer (or bool) tensor, which cannot require
   grad.
2. ``requires_grad_false``: the parameter has ``requires_grad=False`` (a frozen layer).
3. ``loss_has_no_graph``: the loss itself has no ``grad_fn``: it was computed under
   ``no_grad()``, from detached tensors, or only from tensors without grad.
4. ``reachable`` / ``non_leaf``: the parameter *is* on a path to the loss. Then it gets a
   gradient from ``backward()`` (``.grad`` is None only because backward has not run on
   this loss, or ``.grad`` was reset), unless it is not a leaf (``non_leaf``: only leaves
   keep ``.grad``, or tensors that called ``retain_grad()``).
5. The parameter is not on any path. The tensors the graph saved for backward are
   examined for what cut it off:

   - ``detached``: a saved tensor shares the parameter's data (``param.detach()``,
     ``param.data``);
   - ``integer_cast``: a saved tensor holds the parameter's values cast to integers
     (``param.long()``, ``param.round().int()``, also cast back to float);
   - ``no_grad_copy``: a saved tensor holds exactly the parameter's values in new memory
     without a graph (made under ``no_grad()``, or copied from a detached tensor);
   - ``other_graph``: the parameter was used by a recorded op, whose result does not
     reach the loss;
   - ``not_on_path``: nothing in the graph leads to the parameter: it is not used to
     compute the loss, or only in code run under ``no_grad()`` (which records nothing).

Only what the graph still holds can be examined: after ``backward()`` without
``retain_graph=True`` the saved tensors are freed, and the verdict says so.

Invariant: examining changes nothing (no ``grad_accumulator`` is created, nothing is
unpacked through version checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradviz.engine import backend
from gradviz.engine.function import AccumulateGrad, Node
from gradviz.engine.tensor import Tensor

__all__ = ["CAUSES", "WhyNoGrad", "why_no_grad"]

#: Every cause :func:`why_no_grad` can report.
CAUSES = (
    "integer_dtype",
    "requires_grad_false",
    "loss_has_no_graph",
    "reachable",
    "non_leaf",
    "detached",
    "integer_cast",
    "no_grad_copy",
    "other_graph",
    "not_on_path",
)


@dataclass(frozen=True)
class WhyNoGrad:
    """The verdict of :func:`why_no_grad`.

    Attributes:
        cause: one of :data:`CAUSES`.
        message: what happened and the fix, in a few sentences.
        evidence: lines naming what in the graph shows it (nodes, saved slots).
        path: for ``reachable``/``non_leaf``: the node names from the loss to the
            parameter.
    """

    cause: str
    message: str
    evidence: tuple[str, ...] = field(default=())
    path: tuple[str, ...] = field(default=())

    @property
    def gets_grad(self) -> bool:
        """True when ``backward()`` on the loss gives the parameter a ``.grad``."""
        return self.cause == "reachable"

    def __str__(self) -> str:
        lines = [self.message]
        lines.extend(f"  {line}" for line in self.evidence)
        return "\n".join(lines)


def _display(param: Tensor, name: str | None) -> str:
    if name:
        return name
    if getattr(param, "name", None):
        return str(param.name)
    return f"the tensor of shape {tuple(param.shape)}"


def _walk(root: Node) -> tuple[list[Node], dict[Node, Node | None]]:
    """Every node reachable from ``root`` (breadth first) and each one's parent."""
    parents: dict[Node, Node | None] = {root: None}
    order = [root]
    i = 0
    while i < len(order):
        node = order[i]
        i += 1
        for fn, _ in node.next_functions:
            if fn is not None and fn not in parents:
                parents[fn] = node
                order.append(fn)
    return order, parents


def _path(target: Node, parents: dict[Node, Node | None]) -> tuple[str, ...]:
    names = []
    node: Node | None = target
    while node is not None:
        names.append(_name(node))
        node = parents[node]
    return tuple(reversed(names))


def _name(node: Node) -> str:
    return "AccumulateGrad" if isinstance(node, AccumulateGrad) else node.name()


def _host(data: Any) -> np.ndarray:
    return np.asarray(backend.to_host(data))


def _shares_data(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.may_share_memory(a, b))
    return False


def _examine_saved(
    nodes: list[Node], param: Tensor, label: str
) -> tuple[str | None, list[str], int]:
    """Look through saved tensors for what cut ``param`` off: (cause, evidence, freed)."""
    pdata = param._data
    host_param: np.ndarray | None = None
    found: dict[str, list[str]] = {"detached": [], "integer_cast": [], "no_grad_copy": []}
    hints: list[str] = []
    freed = 0
    for node in nodes:
        if isinstance(node, AccumulateGrad):
            continue
        try:
            items = node.saved_items()
        except RuntimeError:
            freed += 1
            continue
        for slot, value in items:
            if value is None:
                continue
            tensor = value if isinstance(value, Tensor) else None
            data = tensor._data if tensor is not None else value
            if not hasattr(data, "shape") or tensor is param:
                continue
            where = f"{node.name()} saved '{slot}'"
            if tensor is not None and tensor._requires_grad:
                continue
            counter = param._version_counter
            same_counter = (
                tensor is not None and counter is not None and tensor._version_counter is counter
            )
            if same_counter or _shares_data(data, pdata):
                found["detached"].append(
                    f"{where}: a tensor sharing {label}'s data that does not require grad "
                    "(made by .detach() or .data)"
                )
                continue
            if tuple(data.shape) != tuple(pdata.shape):
                if getattr(data.dtype, "kind", "f") in "biu":
                    hints.append(
                        f"{where}: an integer tensor {tuple(data.shape)}; an integer cast cuts "
                        f"gradients; if it was computed from {label}, that is where {label}'s "
                        "gradient stops"
                    )
                continue
            if host_param is None:
                host_param = _host(pdata)
            values = _host(data)
            kind = values.dtype.kind
            if kind in "biu" or (kind == "f" and _integral(values)):
                if host_param.dtype.kind in "fc" and _equal(values, np.trunc(host_param)):
                    if kind in "biu" or not _equal(values, host_param):
                        found["integer_cast"].append(
                            f"{where}: {label}'s values cast to integers "
                            f"({values.dtype}), which carry no gradient"
                        )
                        continue
                if (
                    kind in "biu"
                    and host_param.dtype.kind in "fc"
                    and _equal(values, np.round(host_param))
                ):
                    found["integer_cast"].append(
                        f"{where}: {label}'s values rounded to integers ({values.dtype}), "
                        "which carry no gradient"
                    )
                    continue
            if kind in "fc" and _equal(values, host_param):
                found["no_grad_copy"].append(
                    f"{where}: a copy of {label}'s values without a graph (made under "
                    "no_grad(), or copied from a detached tensor)"
                )
    for cause in ("detached", "integer_cast", "no_grad_copy"):
        if found[cause]:
            return cause, found[cause], freed
    return None, hints, freed


def _integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)] if values.size else values
    return bool(values.size) and bool(np.all(finite == np.trunc(finite)))


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    try:
        return bool(np.array_equal(a.astype(np.float64), b.astype(np.float64)))
    except (TypeError, ValueError):
        return False


def why_no_grad(tensor: Tensor, param: Tensor, *, name: str | None = None) -> WhyNoGrad:
    """Say why ``param`` gets (or got) no gradient from ``tensor.backward()``.

    Args:
        tensor: the loss (the tensor ``backward()`` is called on).
        param: the tensor whose ``.grad`` is None.
        name: how to call ``param`` in the message (default: ``param.name``).

    Returns:
        A :class:`WhyNoGrad` verdict; ``str()`` of it is the explanation.

    Raises:
        TypeError: ``tensor`` or ``param`` is not a gradviz Tensor.

    Example:
        >>> import gradviz
        >>> w = gradviz.ones(3, requires_grad=True)
        >>> x = gradviz.ones(3)
        >>> loss = (w.detach() * x).sum() + x.sum()
        >>> why_no_grad(loss, w, name="w").cause
        'loss_has_no_graph'
    """
    for arg, what in ((tensor, "tensor"), (param, "param")):
        if not isinstance(arg, Tensor):
            raise TypeError(
                f"why_no_grad() expects Tensors, got {type(arg).__name__} for {what}. "
                "Fix: pass the loss and the parameter themselves: why_no_grad(loss, model.w)."
            )
    label = _display(param, name)
    if param._data.dtype.kind not in "fc":
        return WhyNoGrad(
            "integer_dtype",
            f"{label} has dtype {param.dtype.name}: only floating-point tensors can require "
            f"grad, so {label} never gets a gradient. Fix: make it a float tensor "
            f"({label}.float(), or create it with dtype=float32) and requires_grad=True.",
        )
    if not param._requires_grad:
        return WhyNoGrad(
            "requires_grad_false",
            f"{label} has requires_grad=False, so autograd does not track it (a frozen "
            f"parameter, or a tensor created without requires_grad). Fix: "
            f"{label}.requires_grad_(True) before the forward pass.",
        )
    root = tensor._grad_fn
    if root is None and tensor is not param:
        why = (
            "it was computed under no_grad() (or inference_mode()), from detached tensors, "
            "or only from tensors with requires_grad=False"
        )
        return WhyNoGrad(
            "loss_has_no_graph",
            f"the loss has no graph (grad_fn is None, requires_grad={tensor._requires_grad}): "
            f"{why}, so no parameter, {label} included, gets a gradient. Fix: compute the "
            "loss outside no_grad() and without .detach() on the way from the parameters.",
        )
    if tensor is param:
        return WhyNoGrad(
            "reachable",
            f"{label} is the tensor differentiated itself: backward() gives it a gradient of ones.",
            path=(label,),
        )
    nodes, parents = _walk(root)  # type: ignore[arg-type]
    target: Node | None = None
    if param._grad_fn is not None:
        target = param._grad_fn if param._grad_fn in parents else None
    else:
        for node in nodes:
            if isinstance(node, AccumulateGrad) and node.variable is param:
                target = node
                break
    if target is not None:
        path = _path(target, parents)
        route = " -> ".join(path)
        if param._grad_fn is not None and not param._retains_grad:
            return WhyNoGrad(
                "non_leaf",
                f"{label} is on a path to the loss ({route}) but it is not a leaf: it was "
                f"computed by {param._grad_fn.name()}, and only leaves keep .grad. Fix: "
                f"call {label}.retain_grad() before backward(), or look at the leaves it "
                "was computed from.",
                path=path,
            )
        now = (
            "it has a .grad now"
            if param._grad is not None
            else ".grad is None only because backward() has not run on this loss yet, or "
            ".grad was reset to None afterwards (zero_grad(set_to_none=True))"
        )
        return WhyNoGrad(
            "reachable",
            f"{label} is on a path to the loss ({route}), so backward() gives it a "
            f"gradient; {now}.",
            path=path,
        )
    cause, evidence, freed = _examine_saved(nodes, param, label)
    notes = []
    if freed:
        notes.append(
            f"{freed} node(s) had their saved tensors freed by backward(), so they could not "
            "be examined (call why_no_grad before backward(), or use retain_graph=True)"
        )
    if cause == "detached":
        return WhyNoGrad(
            "detached",
            f"{label} is cut from the graph by .detach() (or .data): the loss uses its data "
            "through a tensor that does not require grad. Fix: use the parameter itself "
            "where a gradient should flow.",
            tuple(evidence + notes),
        )
    if cause == "integer_cast":
        return WhyNoGrad(
            "integer_cast",
            f"{label} is cut from the graph by an integer cast (.long(), .int(), .round() "
            "then a cast, ...): integer tensors carry no gradient. Fix: keep the "
            "computation in floating point, or use a differentiable relaxation.",
            tuple(evidence + notes),
        )
    if cause == "no_grad_copy":
        return WhyNoGrad(
            "no_grad_copy",
            f"{label} is cut from the graph: the loss uses a copy of its values that was made "
            "without a graph (under no_grad(), or from a detached tensor). Fix: compute that "
            "copy outside no_grad(), from the parameter itself.",
            tuple(evidence + notes),
        )
    accumulator = param._accumulator() if param._accumulator is not None else None
    if accumulator is not None:
        return WhyNoGrad(
            "other_graph",
            f"{label} is not on any path to the loss: it is used by a recorded operation, "
            "but that result does not feed the loss (a branch whose output is dropped, or "
            "a different loss). Fix: check that the tensor computed from it is the one the "
            "loss uses.",
            tuple(evidence + notes),
        )
    return WhyNoGrad(
        "not_on_path",
        f"{label} is not on any path to the loss: no node of the loss's graph leads to it, "
        "and no recorded operation used it. Either the loss is not computed from it, or it "
        "is used only in code run under no_grad() (which records no graph). Fix: check "
        "that the forward pass uses it, outside no_grad().",
        tuple(evidence + notes),
    )
