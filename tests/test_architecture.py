"""Machine checks of DESIGN.md's architecture rules.

- The layer contracts in ``pyproject.toml`` hold (``lint-imports``).
- Nothing under ``gradviz/engine/ops/`` imports NumPy or CuPy: kernels use the array
  namespace ``xp`` of their inputs, so they run on every device.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPS_DIR = ROOT / "gradviz" / "engine" / "ops"
BANNED_MODULES = {"numpy", "cupy"}


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"


def _banned_imports(path: Path, root: Path = ROOT) -> list[str]:
    """List the NumPy/CuPy imports in one file as ``file:line: statement``, relative to root."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] in BANNED_MODULES for name in names):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_ops_do_not_import_array_libraries() -> None:
    assert OPS_DIR.is_dir(), f"{OPS_DIR} does not exist; the op kernels belong there"
    files = sorted(OPS_DIR.rglob("*.py"))
    assert files, f"no Python files under {OPS_DIR}"
    found = [line for path in files for line in _banned_imports(path)]
    assert not found, (
        "op kernels must use the array namespace `xp`, not import NumPy/CuPy "
        "(backend-specific kernels belong in gradviz/engine/backend.py):\n" + "\n".join(found)
    )


def test_scanner_finds_banned_imports(tmp_path: Path) -> None:
    source = tmp_path / "kernel.py"
    source.write_text(
        "import numpy as np\nfrom cupy.linalg import norm\nimport math\nfrom . import numpy\n"
    )
    found = _banned_imports(source, tmp_path)
    assert found == [
        "kernel.py:1: import numpy as np",
        "kernel.py:2: from cupy.linalg import norm",
    ]
