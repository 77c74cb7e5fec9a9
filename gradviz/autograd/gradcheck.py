"""Finite-difference checks of analytical gradients, as ``torch.autograd.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradviz.engine import backend
from gradviz.engine.autograd import grad
from gradviz.engine.tensor import Tensor, _make
from gradviz.errors import GradcheckError

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn: Callable[..., Any], inputs: tuple[Any, ...]) -> tuple[Tensor, ...]:
    return tuple(o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor))


def _numerical(
    fn: Callable[..., Any], inputs: tuple[Any, ...], i: int, eps: float
) -> list[np.ndarray]:
    """Return, per output, d(output)/d(inputs[i]) as (out.numel, in.numel) by central differences.

    The probe keeps ``requires_grad`` and grad mode stays on, because ``fn`` may differentiate
    internally (gradgradcheck's function calls ``autograd.grad``).
    """
    x = inputs[i]
    dtype = backend.to_host(x._data).dtype
    host = backend.to_host(x._data).astype(np.float64).ravel()
    cols: list[list[np.ndarray]] = []
    for k in range(host.size):
        plus = host.copy()
        minus = host.copy()
        plus[k] += eps
        minus[k] -= eps
        vals = []
        for arr in (plus, minus):
            moved = backend.transfer(arr.reshape(tuple(x.shape)).astype(dtype), x.device)
            probe = list(inputs)
            # NOTE: the probe keeps requires_grad and grad mode stays on, because ``fn`` may
            # differentiate internally (gradgradcheck's function calls autograd.grad).
            probe[i] = _make(moved, x.requires_grad, None, 0)
            outs = _outputs(fn, tuple(probe))
            vals.append([backend.to_host(o._data).astype(np.float64).ravel() for o in outs])
        cols.append([(p - m) / (2 * eps) for p, m in zip(vals[0], vals[1], strict=False)])
    n_out = len(cols[0]) if cols else 0
    return [
        np.stack([c[j] for c in cols], axis=1) if cols else np.zeros((0, 0)) for j in range(n_out)
    ]


def _analytical(outputs: tuple[Tensor, ...], inputs: tuple[Any, ...], i: int) -> list[np.ndarray]:
    x = inputs[i]
    result = []
    for out in outputs:
        rows = []
        n = out.numel()
        for k in range(n):
            seed = np.zeros(n, dtype=backend.to_host(out._data).dtype)
            seed[k] = 1
            go = _make(backend.transfer(seed.reshape(tuple(out.shape)), out.device), False, None, 0)
            if not out.requires_grad:
                rows.append(np.zeros(x.numel()))
                continue
            (g,) = grad(out, x, go, retain_graph=True, allow_unused=True)
            rows.append(
                np.zeros(x.numel())
                if g is None
                else backend.to_host(g._data).astype(np.float64).ravel()
            )
        result.append(np.stack(rows) if rows else np.zeros((0, x.numel())))
    return result


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_ignored: Any,
) -> bool:
    """Check ``func``'s analytical gradients against central finite differences.

    Use float64 inputs that require grad. Returns True when every Jacobian matches.

    Raises:
        GradcheckError: a Jacobian differs (when ``raise_exception``), naming the output,
            the input and both matrices.

    Example:
        >>> import gradviz
        >>> x = gradviz.randn(3, dtype=gradviz.float64, requires_grad=True)
        >>> gradviz.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
        True
    """
    ins = _as_tuple(inputs)
    outputs = _outputs(func, ins)
    for i, x in enumerate(ins):
        if not isinstance(x, Tensor) or not x.requires_grad:
            continue
        if x.dtype.name != "float64":
            import warnings  # noqa: PLC0415

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point. ",
                UserWarning,
                stacklevel=2,
            )
        numerical = _numerical(func, ins, i, eps)
        analytical = _analytical(outputs, ins, i)
        for j, (num, ana) in enumerate(zip(numerical, analytical, strict=False)):
            if not np.allclose(ana, num, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {i},\n"
                    f"numerical:{_fmt(num)}\nanalytical:{_fmt(ana)}\n"
                )
    return True


def _fmt(m: np.ndarray) -> str:
    return "tensor(" + np.array2string(m, precision=4, separator=", ") + ", dtype=gradviz.float64)"


def gradgradcheck(
    func: Callable[..., Any],
    inputs: Any,
    grad_outputs: Sequence[Tensor] | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_ignored: Any,
) -> bool:
    """Check second derivatives: gradcheck of the function ``inputs -> grad(func(inputs))``."""
    ins = _as_tuple(inputs)
    outs = _outputs(func, ins)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            _make(
                backend.transfer(
                    rng.standard_normal(tuple(o.shape)).astype(backend.to_host(o._data).dtype),
                    o.device,
                ),
                True,
                None,
                0,
            )
            for o in outs
        )
    gos = tuple(grad_outputs)
    diff = [x for x in ins if isinstance(x, Tensor) and x.requires_grad]

    def first_grads(*args: Any) -> tuple[Tensor, ...]:
        n = len(ins)
        xs, go = args[:n], args[n:]
        wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        outputs = _outputs(func, xs)
        gs = grad(outputs, wrt, go, create_graph=True, allow_unused=True, materialize_grads=True)
        return tuple(g for g in gs if g is not None)

    del diff
    return gradcheck(
        first_grads, ins + gos, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception
    )
