"""Suite-wide configuration: hypothesis profiles, options and state guards.

Hypothesis profiles: ``dev`` (default, quick), ``ci`` (reproducible) and ``intense``,
chosen with the ``HYPOTHESIS_PROFILE`` environment variable. ``--update-golden``
rewrites the golden files under ``tests/golden/`` (see ``tests/helpers/golden.py``).
After every test the engine must be back in its default state: no listener left on
the event bus, grad mode enabled, and the default dtype float32.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import settings

from tests.helpers import golden
from tests.helpers.oracle import require_torch

settings.register_profile("dev", max_examples=25)
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("intense", max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--update-golden``."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ files from the current output instead of comparing",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Hand ``--update-golden`` to the golden-file helper."""
    golden.update_golden = bool(config.getoption("--update-golden"))


@pytest.fixture
def torch() -> ModuleType:
    """Return the torch module; skip without it (fail when GRADVIZ_REQUIRE_TORCH=1)."""
    return require_torch()


@pytest.fixture(autouse=True)
def _engine_state_guard() -> Iterator[None]:
    """Fail a test that leaves a bus listener behind or grad mode disabled.

    The leaked state is repaired before failing, so one leak does not fail the tests
    that run after it.
    """
    yield
    import gradviz
    from gradviz.engine.events import bus

    problems = []
    if bus.listeners:
        problems.append(
            f"{len(bus.listeners)} listener(s) left on the event bus: {bus.listeners!r}. "
            "Fix: remove each subscription (use its handle's remove() or `with`)."
        )
        bus.listeners.clear()
    if not gradviz.is_grad_enabled():
        problems.append(
            "grad mode left disabled. Fix: use `with gradviz.no_grad():` "
            "instead of switching it off globally."
        )
        gradviz.set_grad_enabled(True)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _reset_default_dtype() -> Iterator[None]:
    """Restore the default dtype to float32 after each test."""
    yield
    import gradviz

    gradviz.set_default_dtype(gradviz.float32)
