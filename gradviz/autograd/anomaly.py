"""Anomaly mode: remember each node's forward stack and name the node that made NaN."""

from __future__ import annotations

import warnings
from typing import Any

from gradviz.engine.function import _anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]

_ENABLED_WARNING = (
    "Anomaly Detection has been enabled. This mode will increase the runtime and should only "
    "be enabled for debugging."
)


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) that turns anomaly detection on.

    While on, every node records the forward stack that made it
    (``grad_fn.metadata['traceback_']``), and a backward node that returns NaN raises
    ``RuntimeError: Function 'X' returned nan values in its 0th output.`` after a warning
    showing that stack.

    Args:
        check_nan: raise on NaN gradients (default True).
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._prev: dict[str, Any] = {}
        warnings.warn(_ENABLED_WARNING, UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self._prev = dict(_anomaly)
        _anomaly["enabled"] = True
        _anomaly["check_nan"] = self.check_nan

    def __exit__(self, *exc: object) -> None:
        _anomaly.update(self._prev)

    def __call__(self, fn: Any) -> Any:
        """Wrap ``fn`` so that it runs with anomaly detection on."""
        import functools  # noqa: PLC0415 - decorator use is rare

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off; works as a plain call or a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = dict(_anomaly)
        _anomaly["enabled"] = bool(mode)
        _anomaly["check_nan"] = check_nan

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _anomaly.update(self._prev)


def is_anomaly_enabled() -> bool:
    """Return whether anomaly detection is on."""
    return bool(_anomaly["enabled"])
