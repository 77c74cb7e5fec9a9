"""Tests of require_torch: skip without torch, fail instead when CI requires it."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import oracle


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import torch`` raise ImportError."""
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.mark.usefixtures("no_torch")
def test_missing_torch_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oracle, "torch_required", False)
    with pytest.raises(pytest.skip.Exception, match="torch is not installed"):
        oracle.require_torch()


@pytest.mark.usefixtures("no_torch")
def test_missing_torch_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oracle, "torch_required", True)
    with pytest.raises(pytest.fail.Exception, match="GRADVIZ_REQUIRE_TORCH=1 but torch cannot"):
        oracle.require_torch()


@pytest.mark.torch
def test_returns_torch_module() -> None:
    torch = oracle.require_torch()
    assert torch.__name__ == "torch"
    assert hasattr(torch, "autograd")
