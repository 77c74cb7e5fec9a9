"""Hand-built trace graphs for debugger and console tests (the schema's own constructors).

:class:`GraphBuilder` numbers nodes as the schema does (an ``AccumulateGrad`` just before
its leaf, ops in creation order, outputs last) and records a backward from arrays, so
each node's summaries are made by ``gradviz.trace.summarize`` as a recording makes them.
Every graph it returns passes ``schema.validate``.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from gradviz.trace import schema
from gradviz.trace.summary import summarize


def _summary(value: np.ndarray | None) -> dict[str, Any] | None:
    return None if value is None else summarize(np.asarray(value))


class GraphBuilder:
    """Build a schema graph node by node, then record a backward over it."""

    def __init__(self, *, how: str = "record", iteration: int | None = 0) -> None:
        self.graph = schema.new_graph([], schema.producer(how, iteration))
        self._count = 0
        self._seq = 0

    def _next(self) -> str:
        nid = schema.node_id(self._count)
        self._count += 1
        return nid

    def param(self, name: str, shape: tuple[int, ...], *, param: str | None = None) -> str:
        """Add an AccumulateGrad and its leaf; return the AccumulateGrad's id."""
        acc = self._next()
        leaf = self._next()
        self.graph.add_node(
            acc,
            **schema.op_node(
                schema.ACCUMULATE_GRAD,
                schema.ACCUMULATE_GRAD_SEQ,
                n_inputs=0,
                n_outputs=1,
                shape=shape,
                dtype="float32",
                device="cpu",
            ),
        )
        self.graph.add_node(
            leaf,
            **schema.leaf_node(name, param=param, shape=shape, dtype="float32", device="cpu"),
        )
        self.graph.add_edge(leaf, acc, **schema.data_edge([[0, 0]]))
        return acc

    def op(
        self,
        name: str,
        inputs: list[str | None],
        shape: tuple[int, ...],
        *,
        module: str | None = None,
        attrs: dict[str, str] | None = None,
        saved: list[dict[str, Any]] | None = None,
    ) -> str:
        """Add an op fed by ``inputs`` (producer ids, output 0; None: no gradient)."""
        nid = self._next()
        self.graph.add_node(
            nid,
            **schema.op_node(
                name,
                self._seq,
                attrs=attrs,
                saved=saved,
                n_inputs=len(inputs),
                n_outputs=1,
                shape=shape,
                dtype="float32",
                module=module,
            ),
        )
        self._seq += 1
        slots: dict[str, list[list[int]]] = {}
        for k, src in enumerate(inputs):
            if src is not None:
                slots.setdefault(src, []).append([k, 0])
        for src, pairs in slots.items():
            self.graph.add_edge(src, nid, **schema.data_edge(pairs))
        for item in saved or []:
            if item.get("alias_of"):
                self.graph.add_edge(item["alias_of"], nid, **schema.saved_edge(item["name"]))
        return nid

    def output(self, src: str, shape: tuple[int, ...] = (), name: str = "") -> str:
        """Add an output fed by op ``src``."""
        nid = self._next()
        self.graph.add_node(
            nid, **schema.output_node(name, grad_fn=src, shape=shape, dtype="float32", device="cpu")
        )
        self.graph.add_edge(src, nid, **schema.data_edge([[0, 0]]))
        self.graph.graph["roots"].append(nid)
        return nid

    def record(
        self,
        steps: list[tuple[str, list[Any], list[Any]]],
        *,
        values: bool = True,
        seconds: float = 0.00125,
        completed: bool = True,
    ) -> nx.DiGraph:
        """Record a backward: ``(node id, grads in, grads out)`` in execution order.

        An ``AccumulateGrad`` step writes its gradient into its leaf's ``grad``.
        """
        g = self.graph
        for _, data in g.nodes(data=True):
            if data["kind"] == schema.OP:
                n_in, n_out = data["n_inputs"], data["n_outputs"]
                data.update(order=None, seconds=0.0, grad_in=[None] * n_out, grad_out=[None] * n_in)
                if values:
                    data.update(grad_in_values=[None] * n_out, grad_out_values=[None] * n_in)
            elif data["kind"] == schema.LEAF:
                data["grad"] = None
                if values:
                    data["grad_value"] = None
        order = []
        for position, (nid, grads_in, grads_out) in enumerate(steps):
            arrays_in = [None if a is None else np.asarray(a, np.float32) for a in grads_in]
            arrays_out = [None if a is None else np.asarray(a, np.float32) for a in grads_out]
            data = g.nodes[nid]
            data.update(
                order=position,
                seconds=0.0001,
                grad_in=[_summary(a) for a in arrays_in],
                grad_out=[_summary(a) for a in arrays_out],
            )
            if values:
                data.update(grad_in_values=arrays_in, grad_out_values=arrays_out)
            if data["label"] == schema.ACCUMULATE_GRAD:
                leaf = next(iter(g.predecessors(nid)))
                g.nodes[leaf]["grad"] = _summary(arrays_in[0])
                if values:
                    g.nodes[leaf]["grad_value"] = arrays_in[0]
            order.append(nid)
        g.graph["backward"] = {
            "order": order,
            "seconds": seconds,
            "retain_graph": False,
            "create_graph": False,
            "completed": completed,
        }
        schema.validate(g)
        return g

    def build(self) -> nx.DiGraph:
        """Return the graph without a backward."""
        schema.validate(self.graph)
        return self.graph


def nan_graph(*, values: bool = True) -> nx.DiGraph:
    """``loss = (x.sqrt() * w).sum()`` with ``x = [1, 4, 0]``: sqrt's gradient is Inf at 0.

    ids: n0 AccumulateGrad, n1 x, n2 SqrtBackward0, n3 AccumulateGrad, n4 w,
    n5 MulBackward0, n6 SumBackward0, n7 output 'loss'.
    """
    b = GraphBuilder()
    acc_x = b.param("x", (3,))
    sqrt = b.op(
        "SqrtBackward0", [acc_x], (3,), saved=[schema.saved_entry("result", (3,), "float32", 12)]
    )
    acc_w = b.param("w", (3,))
    mul = b.op(
        "MulBackward0",
        [sqrt, acc_w],
        (3,),
        saved=[
            schema.saved_entry("self", (3,), "float32", 12),
            schema.saved_entry("other", (3,), "float32", 12, "n4"),
        ],
    )
    total = b.op("SumBackward0", [mul], ())
    b.output(total, (), "loss")
    w = np.array([2.0, 3.0, 1.0])
    ones = np.ones(3)
    sqrt_x = np.array([1.0, 2.0, 0.0])
    with np.errstate(divide="ignore"):
        dx = w / (2 * sqrt_x)
    return b.record(
        [
            (total, [np.float32(1.0)], [ones]),
            (mul, [ones], [w, sqrt_x]),
            (acc_w, [sqrt_x], []),
            (sqrt, [w], [dx]),
            (acc_x, [dx], []),
        ],
        values=values,
    )


def mlp_graph(*, values: bool = True) -> nx.DiGraph:
    """A two-layer MLP whose ReLU is dead: fc1 gets zero gradients.

    ``loss = (relu(x @ fc1.weight.T + fc1.bias) @ fc2.weight.T).mean()``, batch 2.
    """
    b = GraphBuilder(iteration=3)
    w1 = b.param("fc1.weight", (4, 3), param="fc1.weight")
    t1 = b.op("TBackward0", [w1], (3, 4), module="fc1")
    b1 = b.param("fc1.bias", (4,), param="fc1.bias")
    addmm = b.op(
        "AddmmBackward0",
        [b1, None, t1],
        (2, 4),
        module="fc1",
        attrs={"alpha": "1", "beta": "1"},
        saved=[
            schema.saved_entry("mat1", (2, 3), "float32", 24),
            schema.saved_entry("mat2", (3, 4), "float32", 48),
        ],
    )
    relu = b.op(
        "ReluBackward0",
        [addmm],
        (2, 4),
        module="act",
        saved=[schema.saved_entry("result", (2, 4), "float32", 32)],
    )
    w2 = b.param("fc2.weight", (1, 4), param="fc2.weight")
    t2 = b.op("TBackward0", [w2], (4, 1), module="fc2")
    mm = b.op(
        "MmBackward0",
        [relu, t2],
        (2, 1),
        module="fc2",
        saved=[
            schema.saved_entry("self", (2, 4), "float32", 32),
            schema.saved_entry("mat2", (4, 1), "float32", 16),
        ],
    )
    mean = b.op("MeanBackward0", [mm], ())
    b.output(mean, (), "loss")
    g_mean = np.full((2, 1), 0.5)
    g_relu = np.full((2, 4), 0.25)
    zero_fc1 = np.zeros((2, 4))
    return b.record(
        [
            (mean, [np.float32(1.0)], [g_mean]),
            (mm, [g_mean], [g_relu, np.full((4, 1), 0.5)]),
            (t2, [np.full((4, 1), 0.5)], [np.full((1, 4), 0.5)]),
            (w2, [np.full((1, 4), 0.5)], []),
            (relu, [g_relu], [zero_fc1]),
            (addmm, [zero_fc1], [np.zeros(4), None, np.zeros((3, 4))]),
            (b1, [np.zeros(4)], []),
            (t1, [np.zeros((3, 4))], [np.zeros((4, 3))]),
            (w1, [np.zeros((4, 3))], []),
        ],
        values=values,
    )
