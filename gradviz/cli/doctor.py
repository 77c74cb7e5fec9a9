"""``gradviz doctor``: what is installed and usable, and what to fix.

Required: Python 3.10+, numpy, networkx, graphviz (the Python package), rich, click, and
Graphviz's ``dot`` program on PATH. Optional: CuPy and a CUDA GPU (``device="cuda"``;
``pip install 'gradviz[cuda]'`` for CUDA 12, ``pip install cupy-cuda13x`` for CUDA 13),
and torch (only the test suite uses it, as its reference). The ``cupy`` and ``gpu`` lines
say which piece of CUDA support is missing (CuPy, a working CuPy install, a GPU or its
driver) and how to fix it. The exit status is 0 when everything required is present and
1 otherwise; CUDA never changes it.
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


def _cupy_version() -> str | None:
    for distribution in ("cupy-cuda12x", "cupy-cuda13x", "cupy", "cupy-cuda11x"):
        version = _version(distribution)
        if version is not None:
            return f"{version} ({distribution})"
    return None


def _cuda() -> list[Check]:
    """Two lines: is CuPy importable, and is a CUDA GPU usable (both optional).

    Each line that reports a problem says which piece is missing (CuPy, a working CuPy
    install, a GPU or its driver) and how to fix it; the CPU works either way.
    """
    from gradviz.engine.backend import cuda_probe  # noqa: PLC0415 - may import CuPy

    probe = cuda_probe()
    if probe.cupy is None:
        missing = isinstance(probe.cause, ModuleNotFoundError) and probe.cause.name == "cupy"
        if missing:
            found = (
                "not installed (optional, for NVIDIA GPUs: pip install 'gradviz[cuda]' for "
                "CUDA 12, pip install cupy-cuda13x for CUDA 13)"
            )
            fix = None
        else:
            what, _, fix = (probe.problem or "CuPy cannot be imported").partition("\nFix: ")
            found = f"broken: {what}  -> fix: {fix}"
        return [
            Check("cupy", found, True, False, fix or None),
            Check(
                "gpu", "none usable without CuPy (device='cuda' raises; the CPU works)", True, False
            ),
        ]
    version = _cupy_version() or str(getattr(probe.cupy, "__version__", "installed"))
    cupy = Check("cupy", version, True, False)
    if probe.problem is not None:
        what, _, fix = probe.problem.partition("\nFix: ")
        return [
            cupy,
            Check("gpu", f"none usable: {what}  -> fix: {fix}", True, False, fix or None),
        ]
    return [cupy, Check("gpu", _describe_gpus(probe.cupy, probe.gpus), True, False)]


def _describe_gpus(cupy: object, count: int) -> str:
    """``"1 CUDA device usable: cuda:0 NVIDIA H100 (compute 9.0); CUDA runtime 12.8"``."""
    from gradviz import cuda  # noqa: PLC0415 - imported with CuPy only

    names = []
    for i in range(count):
        try:
            major, minor = cuda.get_device_capability(i)
            names.append(f"cuda:{i} {cuda.get_device_name(i)} (compute {major}.{minor})")
        except Exception as err:  # noqa: BLE001 - a query failing is itself the report
            names.append(f"cuda:{i} (properties unreadable: {err})")
    runtime = getattr(getattr(cupy, "cuda", None), "runtime", None)
    versions = []
    for label, query in (("CUDA runtime", "runtimeGetVersion"), ("driver", "driverGetVersion")):
        try:
            number = int(getattr(runtime, query)())
        except Exception:  # noqa: BLE001 - versions are extra information only
            continue
        versions.append(f"{label} {number // 1000}.{number % 1000 // 10}")
    plural = "s" if count != 1 else ""
    text = f"{count} CUDA device{plural} usable: " + ", ".join(names)
    return text + (f"; {', '.join(versions)}" if versions else "")


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
