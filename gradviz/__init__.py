"""gradviz: see the graph behind ``loss.backward()`` and step through it.

gradviz is an autograd engine with PyTorch's API on NumPy (CPU) and CuPy (GPU), plus
tools to trace, render, debug and diff its graphs. ``import gradviz as torch`` runs
PyTorch beginner code::

    >>> import gradviz as torch
    >>> x = torch.ones(2, 2, requires_grad=True)
    >>> y = (x + 2) * (x + 2) * 3
    >>> y.mean().backward()
    >>> x.grad
    tensor([[4.5000, 4.5000],
            [4.5000, 4.5000]])

The heavy parts (nn, optim, the tracer, renderers, networkx, graphviz, rich, click) load
on first use, so ``import gradviz`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from gradviz import autograd
from gradviz.engine import ops as _ops
from gradviz.engine.backend import Device, default_device, device, set_default_device
from gradviz.engine.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_rng_state,
    initial_seed,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from gradviz.engine.dtypes import (
    bool,  # noqa: A004
    double,
    dtype,
    float,  # noqa: A004
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,  # noqa: A004
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from gradviz.engine.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from gradviz.engine.ops.shape import pad as _pad  # noqa: F401
from gradviz.engine.printing import set_printoptions
from gradviz.engine.tensor import Size, Tensor
from gradviz.errors import GradvizError

__version__ = "0.1.0"

globals().update({name: fn for name, fn in _ops.REGISTRY.items() if not name.startswith("_")})


def is_tensor(obj: Any) -> bool:
    """Return True when ``obj`` is a gradviz Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:  # noqa: A002
    """Return True when ``input`` has a floating-point dtype."""
    return input.dtype.is_floating_point


def numel(input: Tensor) -> int:  # noqa: A002
    """Return the number of elements of ``input``."""
    return input.numel()


_LAZY_MODULES = ("nn", "optim", "trace", "renderers", "debugger", "cli", "cuda", "utils")
_LAZY_NAMES = {
    "make_dot": "gradviz.renderers.graphviz",
    "render": "gradviz.renderers.graphviz",
    "capture": "gradviz.trace",
    "record": "gradviz.trace",
    "save": "gradviz.serialization",
    "load": "gradviz.serialization",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        module = importlib.import_module(f"gradviz.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradviz' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))
