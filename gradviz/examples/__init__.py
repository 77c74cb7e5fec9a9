"""Bundled sample programs: the graphs ``gradviz demo`` draws, importable and runnable.

- :mod:`gradviz.examples.seed`: the seed example ``h = w*x + b``, PyTorch's autograd
  tutorial ``y = x + 2; z = y*y*3; out = z.mean()``, and a small MLP's training step.

Each is also a script: ``python -m gradviz.examples.seed`` runs them all (and
``gradviz run``/``gradviz render`` accept its file as a TARGET).
"""
