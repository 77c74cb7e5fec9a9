"""Access to PyTorch, the reference ("oracle") for differential tests.

Oracle tests skip where torch is not installed, except when the environment sets
``GRADVIZ_REQUIRE_TORCH=1`` (CI does): then a missing torch is a failure, so the
oracle tests can never be skipped silently there. The variable is read once, when
this module is imported.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

TORCH_VERSION = "2.13"
torch_required = os.environ.get("GRADVIZ_REQUIRE_TORCH") == "1"


def require_torch() -> ModuleType:
    """Import and return torch for an oracle test.

    Returns:
        The ``torch`` module.

    Raises:
        pytest.skip.Exception: torch is missing and GRADVIZ_REQUIRE_TORCH is not ``1``.
        pytest.fail.Exception: torch is missing, or not version 2.13, while
            GRADVIZ_REQUIRE_TORCH is ``1``.
    """
    fix = f"Fix: pip install torch=={TORCH_VERSION}.0 (`make venv` installs it)."
    try:
        torch = importlib.import_module("torch")
    except ImportError as err:
        if torch_required:
            pytest.fail(
                f"GRADVIZ_REQUIRE_TORCH=1 but torch cannot be imported ({err}).\n{fix}",
                pytrace=False,
            )
        pytest.skip(f"torch is not installed. {fix}")
    version = torch.__version__.split("+")[0]
    if torch_required and not version.startswith(TORCH_VERSION + "."):
        pytest.fail(
            f"GRADVIZ_REQUIRE_TORCH=1 but torch is {torch.__version__}, "
            f"and the oracle tests are written against {TORCH_VERSION}.\n{fix}",
            pytrace=False,
        )
    return torch
