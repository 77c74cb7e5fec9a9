"""Tests of gradviz.autograd: PyTorch's autograd semantics."""
