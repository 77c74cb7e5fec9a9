"""Cases for the math ops added after op_cases.py (merged into its tables at its end).

Same conventions as ``op_cases.py``: ``CASES`` are gradient-checked in float64 and compared
with torch; ``OPS_WITHOUT_GRADIENT`` names registry ops whose outputs never require grad,
each with a call in ``NON_DIFFERENTIABLE_CALLS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.engine.op_cases import A, Case, P, V  # noqa: F401 - shorthands for the tables

CASES: list[Case] = []

OPS_WITHOUT_GRADIENT: set[str] = set()

NON_DIFFERENTIABLE_CALLS: dict[str, Callable[[Any, Any], Any]] = {}
