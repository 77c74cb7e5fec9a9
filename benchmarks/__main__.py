"""Entry point: pin thread counts before NumPy/PyTorch load, then run the suite."""

from __future__ import annotations

import os
import sys

THREADS = os.environ.get("GRADVIZ_BENCH_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS

from benchmarks.suite import main  # noqa: E402 - the thread variables must be set first

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
