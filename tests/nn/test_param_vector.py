"""``nn.utils.parameters_to_vector`` / ``vector_to_parameters`` against torch."""

from __future__ import annotations

from typing import Any

import pytest

import gradviz


def test_round_trip_matches_torch(torch: Any) -> None:
    results = []
    for lib in (torch, gradviz):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Linear(2, 1))
        vec = lib.nn.utils.parameters_to_vector(model.parameters())
        assert vec.grad_fn.name() == "CatBackward0"
        lib.nn.utils.vector_to_parameters(lib.arange(float(vec.numel())), model.parameters())
        results.append([p.tolist() for p in model.parameters()])
    assert results[0] == results[1]


def test_gradient_flows_through_the_vector() -> None:
    model = gradviz.nn.Linear(2, 2)
    (gradviz.nn.utils.parameters_to_vector(model.parameters()) * 2).sum().backward()
    assert model.weight.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_vector_must_be_a_tensor(torch: Any) -> None:
    with pytest.raises(TypeError) as want:
        torch.nn.utils.vector_to_parameters([1.0], [torch.ones(1)])
    with pytest.raises(TypeError) as got:
        gradviz.nn.utils.vector_to_parameters([1.0], [gradviz.ones(1)])
    assert str(got.value) == str(want.value)
