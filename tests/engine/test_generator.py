"""``gradviz.Generator``: a random stream of its own, for ``generator=`` arguments."""

from __future__ import annotations

import pytest

import gradviz


def _draws(g: gradviz.Generator) -> list[list[float]]:
    return [
        gradviz.rand(3, generator=g).tolist(),
        gradviz.randn(2, generator=g).tolist(),
        gradviz.randint(0, 100, (3,), generator=g).tolist(),
        gradviz.randperm(6, generator=g).tolist(),
    ]


def test_a_seeded_generator_repeats_whatever_else_draws() -> None:
    g = gradviz.Generator()
    assert g.manual_seed(5) is g
    first = _draws(g)
    gradviz.rand(10)  # the process-wide stream moves; g does not
    assert _draws(g.manual_seed(5)) == first
    assert g.initial_seed() == 5
    assert _draws(gradviz.Generator().manual_seed(6)) != first


def test_state_round_trips() -> None:
    g = gradviz.Generator().manual_seed(1)
    state = g.get_state()
    first = _draws(g)
    assert _draws(g.set_state(state)) == first


def test_seed_draws_a_fresh_seed() -> None:
    g = gradviz.Generator()
    s = g.seed()
    assert g.initial_seed() == s
    assert isinstance(s, int)


def test_without_a_generator_manual_seed_still_rules() -> None:
    gradviz.manual_seed(9)
    a = gradviz.randperm(8).tolist()
    gradviz.manual_seed(9)
    assert gradviz.randperm(8).tolist() == a


def test_a_foreign_generator_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match=r"generator must be a gradviz.Generator, not int"):
        gradviz.rand(2, generator=3)


def test_manual_seed_returns_the_process_wide_generator() -> None:
    g = gradviz.manual_seed(4)
    assert isinstance(g, gradviz.Generator)
    assert gradviz.manual_seed(4) is g
    assert g.initial_seed() == gradviz.initial_seed() == 4
    a = gradviz.rand(3).tolist()
    g.manual_seed(4)  # seeding it seeds what functions without generator= draw from
    assert gradviz.rand(3).tolist() == a
    g.manual_seed(4)
    assert gradviz.rand(3, generator=g).tolist() == a
    assert g.get_state() == gradviz.get_rng_state()
