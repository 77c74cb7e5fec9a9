"""PyTorch's "Learning PyTorch with Examples" programs run unchanged on gradviz.

Each script in ``scripts/`` is PyTorch tutorial code. It runs twice, once with ``torch``
bound to PyTorch and once to gradviz, from the same initial weights (``INIT``), and must
print the same lines: the same losses to float32 precision.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradviz

SCRIPTS = Path(__file__).parent / "scripts"
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


def _init(name: str) -> dict[str, Any]:
    rng = np.random.default_rng(sum(map(ord, name)))
    scalars = {k: float(rng.standard_normal()) for k in "abcde"}
    if name == "custom_function":
        scalars = {"a": 0.0, "b": -1.0, "c": 0.0, "d": 0.3}
    if name == "dynamic_net":  # x**6 reaches ~1000: start small, as a trained net would
        scalars = {k: v * 0.01 for k, v in scalars.items()}
    return {
        **{k: np.float32(v) for k, v in scalars.items()},
        "w": rng.standard_normal((1, 3)).astype(np.float32) * 0.1,
        "bias": rng.standard_normal(1).astype(np.float32) * 0.1,
    }


def _run(module: Any, name: str) -> str:
    init = _init(name)
    if name != "custom_function":
        init = {k: (float(v) if np.ndim(v) == 0 else v) for k, v in init.items()}
    scope = {"torch": module, "INIT": init, "SCHEDULE": [0, 1, 3, 2, 0, 1], "__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile((SCRIPTS / f"{name}.py").read_text(), name, "exec"), scope)
    return out.getvalue()


def _numbers(text: str) -> list[float]:
    return [float(m) for m in NUMBER.findall(text)]


@pytest.mark.parametrize("name", sorted(p.stem for p in SCRIPTS.glob("*.py")))
def test_tutorial_prints_the_same_losses(torch: Any, name: str) -> None:
    torch.manual_seed(0)
    expected = _run(torch, name)
    got = _run(gradviz, name)
    assert NUMBER.sub("#", got) == NUMBER.sub("#", expected)  # same lines, same words
    want, have = _numbers(expected), _numbers(got)
    assert len(want) == len(have) > 0
    np.testing.assert_allclose(have, want, rtol=2e-4, atol=2e-4)
