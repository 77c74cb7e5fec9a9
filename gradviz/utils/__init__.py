"""Utilities with PyTorch's interface: ``gradviz.utils.data`` (datasets, samplers, loaders)."""

from __future__ import annotations

from gradviz.utils import data

__all__ = ["data"]
