"""``generator=`` in ``nn.init`` and ``Tensor.uniform_/normal_``: the values come from it.

gradviz's numbers are not PyTorch's, so the same program runs on both libraries and the
properties are compared: a generator seeded twice gives the same values twice, and drawing
from it leaves the process-wide stream where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import gradviz

FILLS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "Tensor.uniform_": lambda lib, t, g: t.uniform_(-2.0, 3.0, generator=g),
    "Tensor.normal_": lambda lib, t, g: t.normal_(1.0, 2.0, generator=g),
    "init.uniform_": lambda lib, t, g: lib.nn.init.uniform_(t, -1.0, 1.0, generator=g),
    "init.normal_": lambda lib, t, g: lib.nn.init.normal_(t, 0.5, 2.0, generator=g),
    "init.xavier_uniform_": lambda lib, t, g: lib.nn.init.xavier_uniform_(t, generator=g),
    "init.xavier_normal_": lambda lib, t, g: lib.nn.init.xavier_normal_(t, generator=g),
    "init.kaiming_uniform_": lambda lib, t, g: lib.nn.init.kaiming_uniform_(t, generator=g),
    "init.kaiming_normal_": lambda lib, t, g: lib.nn.init.kaiming_normal_(t, generator=g),
}


def _properties(lib: ModuleType, fill: Callable[[Any, Any, Any], Any]) -> dict[str, bool]:
    """Run ``fill`` with generators on ``lib`` and report what held."""
    lib.manual_seed(0)
    untouched = lib.rand(3).tolist()
    lib.manual_seed(0)
    g = lib.Generator().manual_seed(7)
    first = fill(lib, lib.zeros(4, 5), g).tolist()
    second = fill(lib, lib.zeros(4, 5), g).tolist()
    again = fill(lib, lib.zeros(4, 5), g.manual_seed(7)).tolist()
    other = fill(lib, lib.zeros(4, 5), lib.Generator().manual_seed(8)).tolist()
    return {
        "reseeded repeats": again == first,
        "stream moves on": second != first,
        "seeds differ": other != first,
        "global stream kept": lib.rand(3).tolist() == untouched,
    }


@pytest.mark.parametrize("name", sorted(FILLS))
def test_values_come_from_the_generator_as_in_torch(name: str, torch: ModuleType) -> None:
    got = _properties(gradviz, FILLS[name])
    assert got == _properties(torch, FILLS[name])
    assert all(got.values()), got


@pytest.mark.parametrize("name", sorted(FILLS))
def test_the_generator_decides_the_values(name: str) -> None:
    gradviz.manual_seed(1)
    a = FILLS[name](gradviz, gradviz.zeros(3, 4), gradviz.Generator().manual_seed(3)).tolist()
    gradviz.manual_seed(2)  # another process-wide stream: no change when a generator is given
    b = FILLS[name](gradviz, gradviz.zeros(3, 4), gradviz.Generator().manual_seed(3)).tolist()
    assert a == b


def test_without_a_generator_the_process_wide_stream_is_used() -> None:
    gradviz.manual_seed(5)
    a = gradviz.nn.init.normal_(gradviz.zeros(6)).tolist()
    gradviz.manual_seed(5)
    assert gradviz.nn.init.normal_(gradviz.zeros(6), generator=None).tolist() == a
    assert gradviz.zeros(6).normal_(generator=gradviz.manual_seed(5)).tolist() == a


def test_a_foreign_generator_is_refused() -> None:
    with pytest.raises(TypeError, match=r"generator must be a gradviz.Generator, not int"):
        gradviz.zeros(2).uniform_(generator=3)
    with pytest.raises(TypeError, match=r"generator must be a gradviz.Generator, not str"):
        gradviz.nn.init.kaiming_normal_(gradviz.zeros(2, 2), generator="g")
