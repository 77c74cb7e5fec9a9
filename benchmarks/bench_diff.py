"""Benchmark of ``gradviz.trace.diff`` on two graphs of about 100,000 nodes.

The graphs are built directly in the trace schema (no engine run, so only the differ is
timed): a deep MLP-like stack of blocks ``Addmm(bias, h, weight.t()) -> Relu``, with a
``Sum`` of every tenth block's output added into the loss (so the graph is not a chain).
The second graph differs slightly, the way two training iterations do: one extra block
in the middle that reuses the previous block's weights, one block with a wider output
(changed shapes), and one side branch dropped (as if it was detached).

Target (issue 6): about one second for the full size on a developer machine. This is
not a test: nothing here asserts a time.

Run alone: ``python -m benchmarks.bench_diff [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

import networkx as nx

__all__ = ["build_graph", "run"]

NODES_PER_BLOCK = 7  # weight leaf + AccumulateGrad + TBackward0, bias leaf + AccumulateGrad,
#                      AddmmBackward0, ReluBackward0
FULL_BLOCKS = 14_000  # about 100,000 nodes with the side branches
QUICK_BLOCKS = 1_400
BATCH = 32
WIDTH = 64


class _Builder:
    """Append schema nodes with ids n0, n1, ... and op ``seq`` in creation order."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, dict[str, Any]]] = []
        self.edges: list[tuple[str, str, dict[str, Any]]] = []
        self.seq = 0

    def _add(self, data: dict[str, Any]) -> str:
        node = f"n{len(self.nodes)}"
        self.nodes.append((node, data))
        return node

    def leaf(self, param: str, shape: tuple[int, ...]) -> str:
        accumulate = self._add(
            {
                "kind": "op",
                "label": "AccumulateGrad",
                "name": "AccumulateGrad",
                "seq": 2**64 - 1,
                "attrs": {},
                "saved": [],
                "n_inputs": 0,
                "n_outputs": 1,
                "shape": shape,
                "dtype": "float32",
                "device": "cpu",
                "module": None,
            }
        )
        leaf = self._add(
            {
                "kind": "leaf",
                "label": param,
                "name": param,
                "param": param,
                "requires_grad": True,
                "shape": shape,
                "dtype": "float32",
                "device": "cpu",
                "module": None,
            }
        )
        self.edges.append((leaf, accumulate, {"role": "data", "slots": [[0, 0]]}))
        return accumulate

    def op(
        self,
        name: str,
        inputs: list[str | None],
        shape: tuple[int, ...] | None,
        module: str | None = None,
        attrs: dict[str, str] | None = None,
    ) -> str:
        node = self._add(
            {
                "kind": "op",
                "label": name,
                "name": name,
                "seq": self.seq,
                "attrs": dict(attrs or {}),
                "saved": [],
                "n_inputs": len(inputs),
                "n_outputs": 1,
                "shape": shape,
                "dtype": "float32",
                "device": None,
                "module": module,
            }
        )
        self.seq += 1
        for slot, source in enumerate(inputs):
            if source is not None:
                self.edges.append((source, node, {"role": "data", "slots": [[slot, 0]]}))
        return node

    def graph(self, root: str) -> nx.DiGraph:
        output = self._add(
            {
                "kind": "output",
                "label": "",
                "name": "",
                "grad_fn": root,
                "shape": (),
                "dtype": "float32",
                "device": "cpu",
                "module": None,
            }
        )
        self.edges.append((root, output, {"role": "data", "slots": [[0, 0]]}))
        g = nx.DiGraph(
            schema="gradviz.trace/1",
            roots=[output],
            producer={"tool": "gradviz", "version": "bench", "how": "capture", "iteration": None},
        )
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.edges)
        return g


def build_graph(
    blocks: int,
    *,
    extra_at: int | None = None,
    wide_at: int | None = None,
    drop_branch_at: int | None = None,
) -> nx.DiGraph:
    """Build a trace graph of ``blocks`` blocks (about ``7 * blocks`` nodes).

    Args:
        blocks: How many ``Addmm -> Relu`` blocks.
        extra_at: Apply block ``extra_at`` twice (the second time with the same weights).
        wide_at: Give block ``wide_at`` twice the width (its shapes change).
        drop_branch_at: Leave out the side branch of block ``drop_branch_at`` (a multiple
            of 10).

    Returns:
        The graph, in the ``gradviz.trace/1`` schema.
    """
    builder = _Builder()
    h: str | None = None  # the input does not require grad: no node
    width_in = WIDTH
    loss: str | None = None
    for k in range(blocks):
        width = 2 * WIDTH if k == wide_at else WIDTH
        module = f"blocks.{k}"
        weight = builder.leaf(f"{module}.weight", (width, width_in))
        bias = builder.leaf(f"{module}.bias", (width,))
        repeats = 2 if k == extra_at else 1
        for _ in range(repeats):
            t = builder.op("TBackward0", [weight], (width_in, width), module)
            a = builder.op("AddmmBackward0", [bias, h, t], (BATCH, width), module)
            h = builder.op("ReluBackward0", [a], (BATCH, width), module)
            width_in = width
        if k % 10 == 0 and k != drop_branch_at:
            s = builder.op("SumBackward0", [h], ())
            loss = s if loss is None else builder.op("AddBackward0", [loss, s], ())
    assert h is not None  # blocks >= 1: internal invariant of this benchmark
    final = builder.op("SumBackward0", [h], ())
    root = final if loss is None else builder.op("AddBackward0", [loss, final], ())
    return builder.graph(root)


def run(quick: bool) -> dict[str, Any]:
    """Time ``diff`` on two graphs of about 100,000 nodes (10,000 when ``quick``).

    Args:
        quick: Use graphs a tenth of the size and fewer rounds.

    Returns:
        ``{"nodes": nodes of the first graph, "edges": its edges, "seconds": [one time
        per round], "build_seconds": time to build both graphs, "added": n, "removed": n,
        "changed": n, "identical": bool}``.
    """
    from gradviz.trace.diff import diff

    blocks = QUICK_BLOCKS if quick else FULL_BLOCKS
    rounds = 2 if quick else 5
    t0 = time.perf_counter()
    a = build_graph(blocks)
    b = build_graph(
        blocks, extra_at=blocks // 2, wide_at=blocks // 4, drop_branch_at=(3 * blocks // 40) * 10
    )
    build_seconds = time.perf_counter() - t0
    diff(a, b)  # warm-up
    seconds = []
    result = None
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            result = diff(a, b)
            seconds.append(time.perf_counter() - t0)
            gc.collect()
    finally:
        if gc_was:
            gc.enable()
    assert result is not None
    return {
        "nodes": a.number_of_nodes(),
        "edges": a.number_of_edges(),
        "seconds": seconds,
        "build_seconds": build_seconds,
        "added": len(result.added),
        "removed": len(result.removed),
        "changed": len(result.changed),
        "identical": result.identical,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    args = parser.parse_args(argv)
    info = run(args.quick)
    best = min(info["seconds"])
    median = sorted(info["seconds"])[len(info["seconds"]) // 2]
    print(
        f"diff of two {info['nodes']:,}-node graphs ({info['edges']:,} edges): "
        f"median {median:.3f} s, best {best:.3f} s (target: about 1 s); "
        f"{info['added']} added, {info['removed']} removed, {info['changed']} changed"
    )


if __name__ == "__main__":
    main()
