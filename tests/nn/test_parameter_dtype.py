"""``Parameter`` refuses ``requires_grad`` for integer data, as ``gradviz.tensor`` does."""

from __future__ import annotations

from types import ModuleType

import pytest

import gradviz

MESSAGE = "^Only Tensors of floating point and complex dtype can require gradients$"


@pytest.mark.parametrize("lib_name", ["gradviz", "torch"])
def test_integer_parameter_needs_requires_grad_false(lib_name: str, torch: ModuleType) -> None:
    lib = gradviz if lib_name == "gradviz" else torch
    with pytest.raises(RuntimeError, match=MESSAGE):
        lib.nn.Parameter(lib.arange(3))
    with pytest.raises(RuntimeError, match=MESSAGE):
        lib.tensor([1, 2], requires_grad=True)
    p = lib.nn.Parameter(lib.arange(3), requires_grad=False)
    assert p.tolist() == [0, 1, 2]
    assert not p.requires_grad
    assert lib.nn.Parameter(lib.ones(2, dtype=lib.float16)).requires_grad
