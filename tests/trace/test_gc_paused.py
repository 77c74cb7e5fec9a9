"""``gc_paused``: the collector is off inside, and as it was after (errors included)."""

from __future__ import annotations

import gc

import pytest

from gradviz.trace.capture import gc_paused


@gc_paused
def _state(fail: bool = False) -> bool:
    if fail:
        raise ValueError("boom")
    return gc.isenabled()


def test_the_collector_is_paused_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    assert _state() is False
    assert gc.isenabled()


def test_the_collector_is_back_on_after_an_error() -> None:
    with pytest.raises(ValueError, match="boom"):
        _state(fail=True)
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        assert _state() is False
        assert not gc.isenabled()
    finally:
        gc.enable()
