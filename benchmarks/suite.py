"""The benchmark cases and the harness that runs them side by side.

Every case runs its gradviz, PyTorch and NumPy implementations interleaved in one process
(round-robin, after a warm-up), reports the median and spread of each and the ratios
gradviz/PyTorch and gradviz/NumPy. Targets from issue 8 are printed next to the ratios;
they are goals to read, not assertions.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks import cases

__all__ = ["main", "measure", "Result"]


@dataclass
class Result:
    """Timings of one case: per implementation, a list of seconds per call."""

    case: str
    unit: str
    scale: float
    samples: dict[str, list[float]] = field(default_factory=dict)
    target: str = ""
    note: str = ""

    def median(self, impl: str) -> float:
        """Return the median of ``impl``'s samples in the case's unit."""
        return statistics.median(self.samples[impl]) * self.scale

    def spread(self, impl: str) -> str:
        """Return ``min–max`` of ``impl``'s samples in the case's unit."""
        xs = self.samples[impl]
        return f"{min(xs) * self.scale:.3g}–{max(xs) * self.scale:.3g}"


def measure(
    impls: dict[str, Callable[[], Any]], rounds: int, inner: int, warmup: int = 2
) -> dict[str, list[float]]:
    """Time each callable ``rounds`` times (``inner`` calls per sample), interleaved."""
    for fn in impls.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in impls}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        names = list(impls)
        for r in range(rounds):
            # Rotate the order each round: no implementation always runs first after gc.
            for name in names[r % len(names) :] + names[: r % len(names)]:
                fn = impls[name]
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn()
                samples[name].append((time.perf_counter() - t0) / inner)
            gc.collect()
    finally:
        if gc_was:
            gc.enable()
    return samples


def _wall(cmd: list[str], rounds: int, *, reported: bool = False) -> list[float]:
    """Run ``cmd`` in a new process ``rounds`` times; return the seconds of each run.

    With ``reported``, the seconds are what the process prints as its last line (the time
    of one statement inside it, without the interpreter's own start-up); else the wall
    time of the whole process.
    """
    # Bytecode caching on (a user's normal setting), and one untimed run to write the cache:
    # otherwise the figure is the compiler's time, not the import's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, check=True, capture_output=True, env=env, text=True)
        elapsed = time.perf_counter() - t0
        out.append(float(done.stdout.split()[-1]) if reported else elapsed)
    return out


# Rows printed for context, not as something gradviz is compared with.
_NO_RATIO = frozenset({"gradviz", "gradviz after numpy", "python -c pass"})


def _print(results: list[Result]) -> None:
    impl_order = [
        "gradviz",
        "torch",
        "numpy",
        "torchviz",
        "no listener",
        "record()",
        "gradviz after numpy",
        "python -c pass",
    ]
    print()
    header = f"{'case':<44} {'impl':<12} {'median':>12} {'spread':>20}   ratio"
    print(header)
    print("-" * len(header))
    for r in results:
        base = r.samples.get("gradviz")
        for impl in sorted(r.samples, key=lambda k: impl_order.index(k) if k in impl_order else 99):
            ratio = ""
            if base is not None and impl not in _NO_RATIO and r.median(impl) > 0:
                ratio = f"gradviz/{impl} = {r.median('gradviz') / r.median(impl):.2f}x"
            value = f"{r.median(impl):>9.3f} {r.unit:<3}{r.spread(impl):>19}"
            print(f"{r.case:<44} {impl:<12} {value}   {ratio}")
        if r.target:
            print(f"{'':<44} target: {r.target}")
        if r.note:
            print(f"{'':<44} note: {r.note}")
    print()


def main(argv: list[str]) -> int:
    """Run the suite and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="few rounds, small sizes where possible"
    )
    parser.add_argument(
        "--only", action="append", default=[], help="run only cases whose name contains this"
    )
    args = parser.parse_args(argv)
    import torch  # the oracle; benchmarks are the one place that imports it beside tests

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
        f"threads pinned to {threads} (GRADVIZ_BENCH_THREADS), quick={args.quick}"
    )
    selected = [c for c in cases.ALL if not args.only or any(s in c.__name__ for s in args.only)]
    results = []
    failed = []
    for case in selected:
        print(f"running {case.__name__} ...", flush=True)
        try:
            results.extend(case(quick=args.quick, measure=measure, wall=_wall, Result=Result))
        except Exception as err:  # noqa: BLE001 - report the case and go on with the others
            failed.append(case.__name__)
            print(f"  {case.__name__} failed: {type(err).__name__}: {err}", flush=True)
    _print(results)
    if failed:
        print("failed cases: " + ", ".join(failed))
    return 1 if failed else 0
