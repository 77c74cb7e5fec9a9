"""Every engine case of ``pytorch-errors.json`` behaves in gradviz exactly as in PyTorch 2.13.

Each case's ``code`` runs with ``torch`` bound to gradviz. A case that raised in PyTorch must
raise the same exception type with the same message; a case that warned must give the
same warning text (PyTorch's ``(Triggered internally at ...)`` suffix names its C++ source
and is dropped); a case with a ``result`` must produce a value whose repr is PyTorch's with
``torch.`` replaced by ``gradviz.``.

Cases that need ``torch.nn`` or ``torch.optim`` belong to those packages' tests and are
skipped here with the missing piece named.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

import gradviz

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "pytorch-errors.json"
CASES: list[dict[str, Any]] = json.loads(REFERENCE.read_text())

_TRIGGERED = re.compile(r" \(Triggered internally at [^)]*\.\)$")


def _needs(code: str) -> str | None:
    """Return the PyTorch piece outside the engine that ``code`` uses, or None."""
    if "torch.optim" in code:
        return "torch.optim (optimizers): covered by the optim tests"
    if "register_full_backward_hook" in code:
        return (
            "nn.Module.register_full_backward_hook (BackwardHookFunction): covered by the nn tests"
        )
    if "load_state_dict" in code or "state_dict()" in code:
        return "nn.Module.state_dict/load_state_dict: covered by the nn tests"
    if "nn.Parameter" in code:
        return "nn.Parameter and nn.Module attribute registration: covered by the nn tests"
    if "nn.Linear" in code or "nn.Module" in code or "nn.Sequential" in code:
        return "nn.Module and nn.Linear: covered by the nn tests"
    return None


ENGINE_CASES = [c for c in CASES if _needs(c["code"]) is None]
SKIPPED = {c["case"]: _needs(c["code"]) for c in CASES if _needs(c["code"]) is not None}


def _run(code: str) -> tuple[dict[str, Any], BaseException | None, list[warnings.WarningMessage]]:
    ns: dict[str, Any] = {"torch": gradviz}
    error: BaseException | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exec(compile(code, "<reference case>", "exec"), ns)
        except Exception as err:  # noqa: BLE001 - the exception is what the test compares
            error = err
    return ns, error, list(caught)


def _builtin(qualified: str) -> type[BaseException]:
    module, _, name = qualified.rpartition(".")
    assert module == "builtins", f"reference raised a non-builtin exception: {qualified}"
    return getattr(__import__("builtins"), name)


@pytest.mark.parametrize("case", ENGINE_CASES, ids=[c["case"] for c in ENGINE_CASES])
def test_engine_case_matches_pytorch(case: dict[str, Any]) -> None:
    ns, error, caught = _run(case["code"])
    raised = case.get("raised")
    if raised:
        expected = _builtin(raised)
        assert error is not None, f"expected {raised}: {case['message']!r}; nothing was raised"
        assert isinstance(error, expected), f"raised {type(error).__name__}: {error}"
        assert str(error) == case["message"]
    else:
        assert error is None, f"raised {type(error).__name__}: {error}"
    for want in case.get("warnings") or []:
        text = _TRIGGERED.sub("", want["message"])
        got = [str(w.message) for w in caught if w.category.__name__ == want["category"]]
        assert text in got, f"missing warning {text!r}; got {got!r}"
    if "result" in case and not raised:
        assert repr(ns["result"]) == case["result"].replace("torch.", "gradviz.")


def test_every_reference_case_is_either_run_or_skipped_for_a_named_reason() -> None:
    assert len(ENGINE_CASES) + len(SKIPPED) == len(CASES)
    assert all(reason for reason in SKIPPED.values())
    # The engine must own the large majority of the reference's error cases.
    assert len(ENGINE_CASES) >= 45


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_cases_outside_the_engine_are_skipped(name: str) -> None:
    pytest.skip(f"needs {SKIPPED[name]}")
