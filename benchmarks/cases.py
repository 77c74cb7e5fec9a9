"""Benchmark cases. Each takes the harness pieces and returns a list of ``Result``."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

ROUNDS_FULL, ROUNDS_QUICK = 15, 4


def _rounds(quick: bool) -> int:
    return ROUNDS_QUICK if quick else ROUNDS_FULL


# ---------------------------------------------------------------------------- tiny op chain


def chain_200(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """200 tiny elementwise ops (mul, add, tanh, sub) forward, then backward."""
    import torch

    import gradviz as gv

    def make(mod: Any) -> Any:
        x = mod.ones(8, requires_grad=True)

        def run() -> None:
            y = x
            for _ in range(50):
                y = y * 1.001
                y = y + 0.1
                y = y.tanh()
                y = y - 0.05
            y.sum().backward()

        return run

    xn = np.ones(8, dtype=np.float32)

    def run_numpy() -> None:
        y = xn
        saved = []
        for _ in range(50):
            y = y * np.float32(1.001)
            y = y + np.float32(0.1)
            y = np.tanh(y)
            saved.append(y)
            y = y - np.float32(0.05)
        y.sum()
        g = np.ones_like(y)
        for t in reversed(saved):
            g = g * (1 - t * t)
            g = g * np.float32(1.001)

    inner = 5 if quick else 20
    samples = measure(
        {"gradviz": make(gv), "torch": make(torch), "numpy": run_numpy}, _rounds(quick), inner
    )
    return [
        Result(
            "chain of 200 tiny ops, fwd+bwd (per op)",
            "µs",
            1e6 / 201,
            samples,
            target="gradviz/torch <= 1.0x",
        )
    ]


# ---------------------------------------------------------------------------- MLP step


def _mlp_data(batch: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    sizes = [(512, 784), (256, 512), (10, 256)]
    params = []
    for out_f, in_f in sizes:
        bound = 1 / np.sqrt(in_f)
        params.append(rng.uniform(-bound, bound, (out_f, in_f)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, out_f).astype(np.float32))
    return x, y, params


def _mlp_framework(mod: Any, batch: int) -> Any:
    x, y, params = _mlp_data(batch)
    nn = mod.nn
    model = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    with mod.no_grad():
        for p, v in zip(model.parameters(), params, strict=True):
            p.copy_(mod.from_numpy(v.copy()))
    opt = mod.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    xt = mod.from_numpy(x)
    yt = mod.from_numpy(y.astype(np.int64))

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()

    return step


def _mlp_numpy(batch: int) -> Any:
    x, y, params = _mlp_data(batch)
    w1, b1, w2, b2, w3, b3 = params
    lr = np.float32(0.01)
    rows = np.arange(batch)

    def step() -> None:
        h1 = x @ w1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2.T + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ w3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        _loss = -np.log(p[rows, y]).mean()
        g = p
        g[rows, y] -= 1
        g /= batch
        gw3 = g.T @ a2
        gb3 = g.sum(0)
        g = g @ w3
        g *= h2 > 0
        gw2 = g.T @ a1
        gb2 = g.sum(0)
        g = g @ w2
        g *= h1 > 0
        gw1 = g.T @ x
        gb1 = g.sum(0)
        for p_, g_ in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2), (w3, gw3), (b3, gb3)):
            p_ -= lr * g_

    return step


def mlp_step(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """784-512-256-10 MLP, cross-entropy, one SGD step, batch 64 and 512."""
    import torch

    import gradviz as gv

    out = []
    for batch, target in ((64, "gradviz/numpy <= 1.1x"), (512, "gradviz/numpy <= 1.05x")):
        impls = {
            "gradviz": _mlp_framework(gv, batch),
            "torch": _mlp_framework(torch, batch),
            "numpy": _mlp_numpy(batch),
        }
        samples = measure(impls, _rounds(quick), 3 if quick else 10)
        out.append(Result(f"MLP SGD step, batch {batch}", "ms", 1e3, samples, target=target))
    return out


def record_overhead(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """The MLP step (batch 64) with nobody listening vs under ``gradviz.trace.record()``."""
    import gradviz as gv

    step = _mlp_framework(gv, 64)

    def recorded() -> None:
        with gv.trace.record():
            step()

    samples = measure(
        {"no listener": step, "record()": recorded}, _rounds(quick), 3 if quick else 10
    )
    samples["gradviz"] = samples.pop("record()")
    return [
        Result(
            "record() on the MLP step (gradviz = recorded)",
            "ms",
            1e3,
            samples,
            target="overhead < 10%",
        )
    ]


# ---------------------------------------------------------------------------- cross-entropy


def softmax_ce(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """Softmax cross-entropy over (4096, 1000) logits, forward and backward."""
    import torch

    import gradviz as gv

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4096, 1000)).astype(np.float32)
    target = rng.integers(0, 1000, 4096)

    def make(mod: Any) -> Any:
        x = mod.tensor(logits, requires_grad=True)
        t = mod.tensor(target)

        def run() -> None:
            x.grad = None
            mod.nn.functional.cross_entropy(x, t).backward()

        return run

    rows = np.arange(4096)

    def run_numpy() -> None:
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        _loss = (np.log(s[:, 0]) - z[rows, target]).mean()
        g = e / s
        g[rows, target] -= 1
        g /= 4096

    samples = measure(
        {"gradviz": make(gv), "torch": make(torch), "numpy": run_numpy},
        _rounds(quick),
        2 if quick else 5,
    )
    return [
        Result(
            "softmax cross-entropy (4096, 1000) fwd+bwd",
            "ms",
            1e3,
            samples,
            target="gradviz/numpy <= 1.0x",
        )
    ]


# ---------------------------------------------------------------------------- memory


def peak_memory(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """Peak extra resident memory of one MLP step at batch 512 (child processes, Linux)."""
    import os
    import subprocess

    if not sys.platform.startswith("linux"):
        return []
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    samples: dict[str, list[float]] = {"gradviz": [], "torch": [], "numpy": []}
    for _ in range(2 if quick else 5):
        for impl in samples:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.memory", impl, "512"],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            samples[impl].append(float(out.stdout.strip()))
    return [
        Result(
            "peak extra memory, MLP step batch 512",
            "MB",
            1e-6,
            samples,
            target="gradviz/numpy <= 1.1x",
        )
    ]


# ---------------------------------------------------------------------------- tools


def dot_per_node(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """Graph → DOT source per node: gradviz.make_dot vs torchviz.make_dot on the same chain."""
    import warnings

    import torch

    import gradviz as gv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torchviz

    n = 200 if quick else 1000

    def chain(mod: Any) -> Any:
        x = mod.ones(4, requires_grad=True)
        y = x
        for _ in range(n):
            y = (y * 1.01).tanh()
        return y.sum()

    gy, ty = chain(gv), chain(torch)
    nodes = 2 * n + 3

    def torchviz_dot() -> None:
        # torchviz recurses once per op: give it room for the full-size chain (gradviz
        # needs none; it walks the graph with its own stack).
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10 * nodes))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _ = torchviz.make_dot(ty).source
        finally:
            sys.setrecursionlimit(limit)

    samples = measure(
        {"gradviz": lambda: gv.make_dot(gy).source, "torchviz": torchviz_dot}, _rounds(quick), 1
    )
    return [
        Result(
            "graph → DOT source (per node)",
            "µs",
            1e6 / nodes,
            samples,
            target="gradviz/torchviz < 1.0x",
        )
    ]


def diff_100k(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """Diff of two graphs of about 100,000 nodes (see benchmarks/bench_diff.py)."""
    from benchmarks import bench_diff

    info = bench_diff.run(quick)
    samples = {"gradviz": list(info["seconds"])}
    return [
        Result(f"diff of two {info['nodes']:,}-node graphs", "s", 1.0, samples, target="about 1 s")
    ]


def startup(quick: bool, measure: Any, wall: Any, Result: Any) -> list[Any]:  # noqa: N803
    """Time of ``import gradviz`` (vs torch and numpy) in a new process, and ``gradviz --help``.

    The import is timed inside the new process, around the ``import`` statement alone, as
    ``python -X importtime`` counts it: how long a script waits for the import; "gradviz
    after numpy" is the same with NumPy already imported (gradviz's own share). The
    interpreter's own start-up is shown apart (``python -c pass``): it does not depend on
    gradviz, and on some machines (site hooks in ``.pth`` files) it is as long as the
    import itself. ``gradviz --help`` is timed as the user sees it: the whole process.
    """
    py = sys.executable
    rounds = 3 if quick else 7
    timed = "import time; t0 = time.perf_counter(); import {}; print(time.perf_counter() - t0)"
    samples = {
        name: wall([py, "-c", timed.format(name)], rounds, reported=True)
        for name in ("gradviz", "torch", "numpy")
    }
    # What gradviz itself adds: its import timed with NumPy already loaded.
    own = "import numpy; " + timed.format("gradviz")
    samples["gradviz after numpy"] = wall([py, "-c", own], rounds, reported=True)
    processes = {
        "gradviz": wall([py, "-c", "import gradviz"], rounds),
        "python -c pass": wall([py, "-c", "pass"], rounds),
    }
    helps = {"gradviz": wall([py, "-c", "from gradviz.cli import main; main(['--help'])"], rounds)}
    return [
        Result(
            "import statement (new process)", "ms", 1e3, samples, target="import gradviz < 150 ms"
        ),
        Result("python -c 'import gradviz' (process wall)", "ms", 1e3, processes),
        Result("gradviz --help (wall, new process)", "ms", 1e3, helps),
    ]


ALL = [
    chain_200,
    mlp_step,
    softmax_ce,
    peak_memory,
    record_overhead,
    dot_per_node,
    diff_100k,
    startup,
]
