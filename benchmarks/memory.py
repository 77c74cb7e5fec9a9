"""Peak extra resident memory of one MLP step, measured in a child process.

Run as ``python -m benchmarks.memory IMPL BATCH`` (IMPL: gradviz, torch or numpy): it
builds the step, runs it twice to warm up, then resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``) and prints how far one more step raises the peak above the
resident size before it, in bytes. The parent sets ``MALLOC_MMAP_THRESHOLD_`` so that
large buffers are returned to the system when freed, which makes resident size track
live memory (otherwise the allocator keeps freed memory and the peak reads as zero).
"""

from __future__ import annotations

import gc
import sys


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def main(impl: str, batch: int) -> int:
    """Print the peak extra bytes of one step of ``impl`` at ``batch``."""
    from benchmarks.cases import _mlp_framework, _mlp_numpy

    if impl == "numpy":
        step = _mlp_numpy(batch)
    else:
        mod = __import__(impl)
        if impl == "torch":
            mod.set_num_threads(1)
        step = _mlp_framework(mod, batch)
    step()
    step()
    gc.collect()
    base = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    step()
    print(max(_status("VmHWM") - base, 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
