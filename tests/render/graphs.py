"""Hand-built trace graphs for renderer tests, made with the schema's own constructors.

:class:`Builder` numbers nodes the way the schema does (an ``AccumulateGrad`` just before
its leaf, ops in creation order, outputs last when added last), so a hand-built graph of
a program has the ids ``gradviz.trace.capture`` gives it. Every graph it returns is
checked with ``schema.validate``.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from gradviz.trace import schema


def summary(
    norm: float, *, shape: tuple[int, ...] = (), nan: int = 0, inf: int = 0
) -> dict[str, Any]:
    """Return a gradient summary dict with the given norm and NaN/Inf counts."""
    return {
        "shape": shape,
        "dtype": "float32",
        "device": "cpu",
        "norm": float(norm),
        "min": -float(norm),
        "max": float(norm),
        "mean": 0.0,
        "nan": nan,
        "inf": inf,
    }


class Builder:
    """Build a schema graph node by node."""

    def __init__(self, how: str = "capture") -> None:
        self.graph = schema.new_graph([], schema.producer(how, 0 if how == "record" else None))
        self._count = 0
        self._seq = 0
        self.leaf_of: dict[str, str] = {}

    def _next(self) -> str:
        nid = schema.node_id(self._count)
        self._count += 1
        return nid

    def param(
        self,
        name: str,
        shape: tuple[int, ...],
        *,
        param: str | None = None,
        dtype: str = "float32",
        device: str = "cpu",
        requires_grad: bool = True,
    ) -> str:
        """Add a leaf and its AccumulateGrad; return the AccumulateGrad's id."""
        acc = self._next()
        leaf = self._next()
        self.graph.add_node(
            acc,
            **schema.op_node(
                schema.ACCUMULATE_GRAD,
                schema.ACCUMULATE_GRAD_SEQ,
                n_inputs=0,
                shape=shape,
                dtype=dtype,
                device=device,
            ),
        )
        self.graph.add_node(
            leaf,
            **schema.leaf_node(
                name,
                param=param,
                requires_grad=requires_grad,
                shape=shape,
                dtype=dtype,
                device=device,
            ),
        )
        self.graph.add_edge(leaf, acc, **schema.data_edge([[0, 0]]))
        self.leaf_of[acc] = leaf
        return acc

    def op(
        self,
        name: str,
        inputs: list[str | None],
        shape: tuple[int, ...] | None,
        *,
        attrs: dict[str, str] | None = None,
        module: str | None = None,
        dtype: str = "float32",
        n_outputs: int = 1,
    ) -> str:
        """Add an op fed by ``inputs`` (ids, None for a slot without gradient)."""
        nid = self._next()
        self.graph.add_node(
            nid,
            **schema.op_node(
                name,
                self._seq,
                attrs=attrs,
                n_inputs=len(inputs),
                n_outputs=n_outputs,
                shape=shape,
                dtype=dtype if shape is not None else None,
                module=module,
            ),
        )
        self._seq += 1
        slots: dict[str, list[list[int]]] = {}
        for i, source in enumerate(inputs):
            if source is not None:
                slots.setdefault(source, []).append([i, 0])
        for source, pairs in slots.items():
            self.graph.add_edge(source, nid, **schema.data_edge(pairs))
        return nid

    def save_leaf(self, op: str, acc: str, slot: str) -> None:
        """Record that ``op`` saved the leaf behind ``acc`` in ``slot`` (an alias edge)."""
        leaf = self.leaf_of[acc]
        data = self.graph.nodes[leaf]
        self.graph.nodes[op]["saved"].append(
            schema.saved_entry(slot, data["shape"], data["dtype"], 4, alias_of=leaf)
        )
        if self.graph.has_edge(leaf, op):
            edge = self.graph.edges[leaf, op]
            edge["slot"] = f"{edge['slot']}, {slot}"
        else:
            self.graph.add_edge(leaf, op, **schema.saved_edge(slot))

    def save_tensor(self, op: str, slot: str, shape: tuple[int, ...], node: bool = True) -> None:
        """Record a saved non-leaf tensor (and, with ``node``, its saved node)."""
        self.graph.nodes[op]["saved"].append(schema.saved_entry(slot, shape, "float32", 4))
        if node:
            nid = self._next()
            module = self.graph.nodes[op]["module"]
            self.graph.add_node(
                nid,
                **schema.saved_node(
                    slot, shape=shape, dtype="float32", device="cpu", module=module
                ),
            )
            self.graph.add_edge(nid, op, **schema.saved_edge(slot))

    def output(self, op: str, shape: tuple[int, ...], name: str = "") -> str:
        """Add an output produced by ``op`` and make it a root."""
        nid = self._next()
        self.graph.add_node(
            nid,
            **schema.output_node(name, grad_fn=op, shape=shape, dtype="float32", device="cpu"),
        )
        self.graph.add_edge(op, nid, **schema.data_edge([[0, 0]]))
        self.graph.graph["roots"].append(nid)
        return nid

    def backward(
        self,
        order: list[str],
        grads: dict[str, dict[str, Any]] | None = None,
        *,
        completed: bool = True,
    ) -> None:
        """Add recorded-backward data: ``order`` of op ids; ``grads`` node id -> summary."""
        grads = grads or {}
        g = self.graph
        g.graph["backward"] = {
            "order": list(order),
            "seconds": 0.001,
            "retain_graph": False,
            "create_graph": False,
            "completed": completed,
        }
        for nid, data in g.nodes(data=True):
            if data["kind"] == "op":
                data["order"] = order.index(nid) if nid in order else None
                data["seconds"] = 0.0
                data["grad_in"] = [grads.get(nid)] * data["n_outputs"]
                data["grad_out"] = [None] * data["n_inputs"]
            elif data["kind"] == "leaf":
                data["grad"] = grads.get(nid)

    def done(self) -> nx.DiGraph:
        """Return the graph after checking it against the schema."""
        schema.validate(self.graph)
        return self.graph


def seed_graph() -> nx.DiGraph:
    """``h = w*x + b`` with 1-element tensors, named w, x, b (seed example (d))."""
    b = Builder()
    w = b.param("w", (1,), param="w")
    x = b.param("x", (1,), param="x")
    mul = b.op("MulBackward0", [w, x], (1,))
    b.save_leaf(mul, w, "self")
    b.save_leaf(mul, x, "other")
    bias = b.param("b", (1,), param="b")
    add = b.op("AddBackward0", [mul, bias], (1,), attrs={"alpha": "1"})
    b.output(add, (1,))
    return b.done()


def tutorial_graph() -> nx.DiGraph:
    """``y = x + 2; z = y*y*3; out = z.mean()`` (the PyTorch tutorial)."""
    b = Builder()
    x = b.param("x", (2, 2), param="x")
    y = b.op("AddBackward0", [x, None], (2, 2), attrs={"alpha": "1"})
    yy = b.op("MulBackward0", [y, y], (2, 2))
    b.save_tensor(yy, "self", (2, 2))
    b.save_tensor(yy, "other", (2, 2))
    z = b.op("MulBackward0", [yy, None], (2, 2))
    out = b.op("MeanBackward0", [z], ())
    b.output(out, ())
    return b.done()


def mlp_graph(depth_names: tuple[str, ...] = ("layers.0", "layers.2")) -> nx.DiGraph:
    """A two-layer MLP ``relu(x W0^T + b0) W1^T + b1`` with module paths."""
    b = Builder()
    h = None
    for i, module in enumerate(depth_names):
        weight = b.param(f"{module}.weight", (4, 4), param=f"{module}.weight")
        t = b.op("TBackward0", [weight], (4, 4), module=module)
        bias = b.param(f"{module}.bias", (4,), param=f"{module}.bias")
        addmm = b.op(
            "AddmmBackward0", [bias, h, t], (2, 4), module=module, attrs={"alpha": "1", "beta": "1"}
        )
        h = addmm
        if i + 1 < len(depth_names):
            h = b.op("ReluBackward0", [h], (2, 4), module="layers.1")
    assert h is not None
    loss = b.op("MeanBackward0", [h], ())
    b.output(loss, (), name="loss")
    return b.done()


def chain_graph(n_modules: int, ops_per_module: int) -> nx.DiGraph:
    """A long chain: ``n_modules`` modules ``blocks.<i>.inner``, each with a few ops."""
    b = Builder()
    h = b.param("x", (3,), param="x")
    for i in range(n_modules):
        for _ in range(ops_per_module):
            h = b.op("TanhBackward0", [h], (3,), module=f"blocks.{i}.inner")
    out = b.op("SumBackward0", [h], ())
    b.output(out, ())
    return b.done()
