"""gradviz's benchmark suite: gradviz side by side with PyTorch and plain NumPy.

Run ``python -m benchmarks`` (``--quick`` for a short run, ``--only NAME`` for one case).
"""
