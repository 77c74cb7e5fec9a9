"""Tests of the autograd engine: ops, backward, devices, PyTorch parity."""
