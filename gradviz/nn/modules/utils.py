"""Argument helpers shared by the layer modules."""

from __future__ import annotations

from typing import Any


def _ntuple(value: Any, n: int) -> tuple[Any, ...]:
    """Return ``value`` as a tuple: a list or tuple as given, anything else repeated ``n`` times.

    Only lists and tuples count as per-dimension values (PyTorch's ``_ntuple`` takes any
    iterable); the layers that call this have always accepted exactly these two.
    """
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n
