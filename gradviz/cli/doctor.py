"""``gradviz doctor``: what is installed and usable, and what to fix.

Required: Python 3.10+, numpy, networkx, graphviz (the Python package), rich, click, and
Graphviz's ``dot`` program on PATH. Optional: CuPy and a CUDA GPU (``device="cuda"``),
and torch (only the test suite uses it, as its reference). The exit status is 0 when
everything required is present and 1 otherwise.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click

__all__ = ["doctor", "Check", "run_checks"]

_REQUIRED_PACKAGES = ("numpy", "networkx", "graphviz", "rich", "click")
_GRAPHVIZ_FIX = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install "
    "graphviz; conda: conda install graphviz; others: https://graphviz.org/download/)"
)


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, whether it is fine."""

    name: str
    found: str
    ok: bool
    required: bool
    fix: str | None = None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package(name: str) -> Check:
    version = _version(name)
    if version is None and importlib.util.find_spec(name) is not None:
        version = "installed (version unknown)"
    if version is None:
        return Check(name, "missing", False, True, f"pip install {name}")
    return Check(name, version, True, True)


def _dot() -> Check:
    exe = shutil.which("dot")
    if exe is None:
        return Check("dot", "not on PATH", False, True, _GRAPHVIZ_FIX)
    try:
        result = subprocess.run(
            [exe, "-V"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return Check("dot", f"{exe} does not run ({err})", False, True, _GRAPHVIZ_FIX)
    text = (result.stderr or result.stdout).strip()
    match = re.search(r"version\s+(\S+)", text)
    if result.returncode != 0 or match is None:
        return Check(
            "dot", f"{exe} does not run ({text or 'no output'})", False, True, _GRAPHVIZ_FIX
        )
    return Check("dot", f"{match.group(1)} ({exe})", True, True)


def _cuda() -> list[Check]:
    version = _version("cupy") or next(
        (v for v in (_version("cupy-cuda12x"), _version("cupy-cuda13x")) if v), None
    )
    if version is None and importlib.util.find_spec("cupy") is None:
        return [
            Check(
                "cupy",
                "not installed (optional, for NVIDIA GPUs: pip install 'gradviz[cuda]')",
                True,
                False,
            ),
            Check("gpu", "not usable without CuPy", True, False),
        ]
    from gradviz.cuda import device_count, why_unavailable  # noqa: PLC0415 - imports CuPy

    cupy = Check("cupy", version or "installed", True, False)
    problem = why_unavailable()
    if problem is not None:
        return [cupy, Check("gpu", f"not usable: {problem}", True, False)]
    count = device_count()
    return [
        cupy,
        Check("gpu", f"{count} CUDA device{'s' if count != 1 else ''} usable", True, False),
    ]


def _torch() -> Check:
    version = _version("torch")
    if version is None:
        return Check(
            "torch",
            "not installed (optional: the test suite's reference, pip install 'gradviz[test]')",
            True,
            False,
        )
    return Check("torch", f"{version} (optional: the test suite's reference)", True, False)


def run_checks() -> list[Check]:
    """Run every check, required ones first."""
    python_ok = sys.version_info >= (3, 10)
    checks = [
        Check(
            "python",
            f"{platform.python_version()} ({sys.executable})",
            python_ok,
            True,
            None if python_ok else "use Python 3.10 or newer",
        ),
        Check("gradviz", _version("gradviz") or _gradviz_version(), True, True),
    ]
    checks += [_package(name) for name in _REQUIRED_PACKAGES]
    checks.append(_dot())
    checks += _cuda()
    checks.append(_torch())
    return checks


def _gradviz_version() -> str:
    from gradviz import __version__  # noqa: PLC0415 - the package is already loaded

    return f"{__version__} (not pip-installed; running from {Path(__file__).resolve().parents[2]})"


@click.command("doctor")
def doctor() -> None:
    """Check Graphviz, CuPy/GPU and the versions gradviz needs, and say what to fix."""
    checks = run_checks()
    width = max(len(c.name) for c in checks)
    for check in checks:
        mark = "ok " if check.ok else "!! "
        line = f"{mark} {check.name:<{width}}  {check.found}"
        if check.fix and not check.ok:
            line += f"  -> fix: {check.fix}"
        click.echo(line)
    missing = [c for c in checks if c.required and not c.ok]
    if missing:
        names = ", ".join(c.name for c in missing)
        raise click.ClickException(
            f"{len(missing)} required piece{'s are' if len(missing) != 1 else ' is'} missing "
            f"or broken: {names}. Fix them as shown above."
        )
    click.echo("everything gradviz needs is present.")
