"""``repr(tensor)`` in PyTorch's format: ``tensor([1., 2.], requires_grad=True)``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.engine import backend
from gradviz.engine import dtypes as _dt

__all__ = ["tensor_repr", "set_printoptions"]

_options: dict[str, Any] = {
    "precision": 4,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 80,
    "sci_mode": None,
}


def set_printoptions(
    precision: int | None = None,
    threshold: int | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print, as ``torch.set_printoptions``."""
    for key, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            _options[key] = value
    _options["sci_mode"] = sci_mode


class _Formatter:
    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        prec = _options["precision"]
        if not self.floating:
            texts = [str(v) for v in values.ravel().tolist()]
            if values.dtype.kind == "b":
                texts = [str(bool(v)) for v in values.ravel().tolist()]
            self.width = max((len(s) for s in texts), default=1)
            return
        finite = values[np.isfinite(values)].astype(np.float64)
        if finite.size == 0:
            self.width = max((len(self._plain(v)) for v in values.ravel().tolist()), default=1)
            return
        nonzero = np.abs(finite[finite != 0])
        self.int_mode = bool(np.all(np.ceil(nonzero) == nonzero))
        big = float(nonzero.max()) if nonzero.size else 0.0
        small = float(nonzero.min()) if nonzero.size else 0.0
        if nonzero.size:
            # NOTE: PyTorch's rule, integers included: a wide range or big values go to sci mode.
            self.sci_mode = big / small > 1000.0 or big > 1e8
            if not self.int_mode:
                self.sci_mode = self.sci_mode or small < 1e-4
        if _options["sci_mode"] is not None:
            self.sci_mode = bool(_options["sci_mode"])
        self.prec = prec
        # The column width comes from the non-zero finite values only (as in PyTorch), so
        # nan, inf and -0. may stick out.
        shown = finite[finite != 0].tolist()
        self.width = max((len(self._plain(v)) for v in shown), default=1)

    def _plain(self, v: Any) -> str:
        if not self.floating:
            return str(bool(v)) if isinstance(v, bool) else str(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if self.sci_mode:
            return f"{v:.{self.prec}e}"
        if self.int_mode:
            return f"{v:.0f}."
        return f"{v:.{self.prec}f}"

    def format(self, v: Any) -> str:
        return self._plain(v).rjust(self.width)


def _summarize(a: np.ndarray) -> bool:
    return a.size > _options["threshold"]


def _edge(a: np.ndarray, summarize: bool) -> np.ndarray:
    if not summarize or a.ndim == 0:
        return a
    e = _options["edgeitems"]
    out = a
    for d in range(a.ndim):
        if out.shape[d] > 2 * e:
            out = np.concatenate(
                [
                    np.take(out, range(e), axis=d),
                    np.take(out, range(out.shape[d] - e, out.shape[d]), axis=d),
                ],
                axis=d,
            )
    return out


def _render(a: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    e = _options["edgeitems"]
    if a.ndim == 1:
        items = [fmt.format(v) for v in a.tolist()]
        if summarize and len(items) > 2 * e:
            items = items[:e] + [" ..."] + items[-e:]
        per_line = max(1, (_options["linewidth"] - indent) // (fmt.width + 2))
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = [_render(a[i], fmt, indent + 1, summarize) for i in range(a.shape[0])]
    if summarize and len(rows) > 2 * e:
        rows = rows[:e] + ["..."] + rows[-e:]
    sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(rows) + "]"


def tensor_repr(t: Any, prefix: str = "tensor(") -> str:
    """Return PyTorch's repr of tensor ``t`` (values, dtype, device, grad info)."""
    data = backend.to_host(t._data)
    suffixes = []
    summarize = _summarize(data)
    if data.size == 0 and data.ndim != 1:
        body = "[]"
        suffixes.append(f"size={tuple(data.shape)}")
    else:
        shown = _edge(data, summarize)
        fmt = _Formatter(shown if shown.size else data)
        body = _render(data, fmt, len(prefix), summarize)
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    dt = t.dtype
    if dt not in (_dt.get_default_dtype(), _dt.int64, _dt.bool):
        suffixes.append(f"dtype=gradviz.{dt.name}")
    fn = t._grad_fn
    if fn is not None:
        suffixes.append(f"grad_fn=<{fn.name().rsplit('::', 1)[-1]}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    if getattr(t, "name", None):
        suffixes.append(f"name={t.name!r}")
    tail = "".join(", " + s for s in suffixes)
    return prefix + body + tail + ")"
