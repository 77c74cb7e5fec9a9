"""Every expression measured on PyTorch 2.13 builds the same graph, name for name, in gradviz.

The cases come from ``tests/reference/pytorch-grad-fn-names.json``: each ``source`` is
run with ``torch`` bound to gradviz, and the graph below ``y`` is compared with PyTorch's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import gradviz

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "pytorch-grad-fn-names.json"
CASES = json.loads(REFERENCE.read_text())

# Constructs that gradviz does not provide; each case still has to parse as PyTorch code.
UNSUPPORTED: dict[str, str] = {
    "einsum": "einsum is not implemented",
}
# The output shape depends on random values, and gradviz's random numbers are not PyTorch's.
DATA_DEPENDENT_SHAPE = {"boolean mask x[x > 0]", "masked_select"}


def graph_string(fn: Any) -> str:
    """Render a grad_fn chain as ``Name(child, None, ...)`` like the reference file."""
    if fn is None:
        return "None"
    name = fn.name()
    if name == "torch::autograd::AccumulateGrad":
        name = "AccumulateGrad"
    children = [graph_string(f) for f, _ in fn.next_functions]
    return f"{name}({', '.join(children)})" if children else name


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {"torch": gradviz}
    try:
        ns["nn"] = gradviz.nn
        ns["F"] = gradviz.nn.functional
    except (AttributeError, ImportError):  # pragma: no cover - only while nn is being built
        pass
    return ns


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
def test_graph_matches_pytorch(case: dict[str, Any]) -> None:
    if case["label"] in UNSUPPORTED:
        pytest.skip(UNSUPPORTED[case["label"]])
    ns = _namespace()
    gradviz.manual_seed(0)
    if "nn" not in ns and ("nn." in case["source"] or "F." in case["source"]):
        pytest.skip("gradviz.nn not built yet")
    exec(case["source"], ns)
    y = ns["y"]
    expected = case.get("graph")
    if expected is None:
        # Leaves (y is a or a.contiguous()): no grad_fn.
        assert y.grad_fn is None
        assert y.is_leaf
        return
    got = graph_string(y.grad_fn)
    assert got == expected
    if case["label"] not in DATA_DEPENDENT_SHAPE:
        assert list(y.shape) == case["out_shape"]
    assert "torch." + y.dtype.name == case["out_dtype"]
    assert y.requires_grad == case["requires_grad"]
    if case.get("next_functions_input_nr"):
        assert [nr for _, nr in y.grad_fn.next_functions] == case["next_functions_input_nr"]
