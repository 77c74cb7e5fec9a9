"""Golden-file comparison for rendered DOT and console output.

Expected outputs live in ``tests/golden/<name>`` and are compared byte for byte.
``pytest --update-golden`` rewrites them; review the diff before committing. A
missing file is written on a developer's machine but is a failure in CI
(``CI=true``), so CI never passes by creating its own expectations.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"

# Set by tests/conftest.py from the --update-golden option.
update_golden = False


def assert_golden(name: str, text: str) -> None:
    """Assert that ``text`` equals the golden file ``name``.

    Args:
        name: Path of the golden file relative to ``tests/golden/``, e.g. ``"add.dot"``.
        text: The output under test.

    Raises:
        pytest.fail.Exception: The file differs from ``text`` (the message holds a
            unified diff), or it is missing while running in CI.
    """
    path = GOLDEN_DIR / name
    in_ci = os.environ.get("CI", "").lower() == "true"
    if update_golden or (not path.exists() and not in_ci):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(
            f"golden file {path} is missing.\n"
            "Fix: run `pytest --update-golden` locally, review the new file and commit it.",
            pytrace=False,
        )
    expected = path.read_bytes().decode("utf-8")
    if expected == text:
        return
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(),
            text.splitlines(),
            fromfile=f"golden/{name}",
            tofile="actual",
            lineterm="",
        )
    )
    if not diff:
        diff = f"(only line endings differ)\nexpected: {expected!r}\nactual:   {text!r}"
    pytest.fail(
        f"output differs from golden file {path}:\n{diff}\n"
        "Fix: if the change is intended, run `pytest --update-golden` and review the diff.",
        pytrace=False,
    )
