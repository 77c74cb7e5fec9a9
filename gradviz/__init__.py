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

import builtins
import importlib
from typing import Any

from gradviz import autograd
from gradviz.engine import ops as _ops
from gradviz.engine.backend import (
    Device,
    default_device,
    device,
    get_default_device,
    set_default_device,
)
from gradviz.engine.creation import (
    Generator,
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
from gradviz.engine.printing import set_printoptions
from gradviz.engine.tensor import Size, Tensor, contiguous_format, preserve_format
from gradviz.errors import GradvizError

__version__ = "0.1.0"

_PUBLIC_OPS = {name: fn for name, fn in _ops.REGISTRY.items() if not name.startswith("_")}
globals().update(_PUBLIC_OPS)


def is_tensor(obj: Any) -> builtins.bool:
    """Return True when ``obj`` is a gradviz Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> builtins.bool:  # noqa: A002
    """Return True when ``input`` has a floating-point dtype."""
    return input.dtype.is_floating_point


def numel(input: Tensor) -> builtins.int:  # noqa: A002
    """Return the number of elements of ``input``."""
    return input.numel()


_LAZY_MODULES = ("nn", "optim", "utils", "trace", "renderers", "debugger", "cli", "cuda")
_LAZY_NAMES = {
    "make_dot": "gradviz.renderers.graphviz",
    "render": "gradviz.renderers.graphviz",
    "capture": "gradviz.trace",
    "record": "gradviz.trace",
    "save": "gradviz.serialization",
    "load": "gradviz.serialization",
    "inspect": "gradviz.renderers.console",
}


# The public names above; the op functions of the registry are added to ``__all__`` below.
__all__ = [
    "Device",
    "GradvizError",
    "Size",
    "Tensor",
    "__version__",
    "arange",
    "as_tensor",
    "autograd",
    "bool",
    "contiguous_format",
    "default_device",
    "get_default_device",
    "device",
    "double",
    "dtype",
    "empty",
    "empty_like",
    "enable_grad",
    "eye",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_default_dtype",
    "get_rng_state",
    "half",
    "inference_mode",
    "initial_seed",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_floating_point",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_tensor",
    "linspace",
    "long",
    "manual_seed",
    "Generator",
    "no_grad",
    "numel",
    "ones",
    "ones_like",
    "preserve_format",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "seed",
    "set_default_device",
    "set_default_dtype",
    "set_grad_enabled",
    "set_printoptions",
    "set_rng_state",
    "short",
    "tensor",
    "uint8",
    "zeros",
    "zeros_like",
]
__all__ += sorted(set(_PUBLIC_OPS) - set(__all__))


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
