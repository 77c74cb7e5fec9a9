"""Shared test helpers: golden files, the PyTorch oracle, and their own tests."""
