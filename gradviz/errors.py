"""gradviz's own exceptions.

Every gradviz error derives from :class:`GradvizError` *and* from the built-in exception a
PyTorch user would catch for the same mistake, so ``except RuntimeError`` keeps working.
Where PyTorch raises for a mistake, gradviz raises PyTorch's type with PyTorch's wording;
these classes are for the mistakes PyTorch has no message for.
"""

from __future__ import annotations

__all__ = [
    "GradvizError",
    "ShapeError",
    "DTypeError",
    "DeviceError",
    "GradcheckError",
    "TraceFileError",
    "RenderError",
    "SerializationError",
    "SchemaError",
    "DebuggerError",
]


class GradvizError(Exception):
    """Base class of every error gradviz raises on its own account."""


class ShapeError(GradvizError, RuntimeError):
    """Tensor shapes do not fit the operation (PyTorch raises ``RuntimeError`` here)."""


class DTypeError(GradvizError, RuntimeError):
    """A dtype is not supported by the operation (PyTorch raises ``RuntimeError`` here)."""


class DeviceError(GradvizError, RuntimeError):
    """A device is unavailable, or tensors on different devices were mixed."""


class GradcheckError(GradvizError, RuntimeError):
    """A numerical gradient check found a mismatch (``torch.autograd.GradcheckError``)."""


class TraceFileError(GradvizError, ValueError):
    """A trace file is damaged, truncated, of a foreign format or of an unknown version."""


class RenderError(GradvizError, RuntimeError):
    """A graph could not be rendered (for example, Graphviz's ``dot`` is missing)."""


class SerializationError(GradvizError, RuntimeError):
    """A file given to ``gradviz.load`` is damaged, truncated or not a gradviz file."""


class SchemaError(GradvizError, ValueError):
    """A graph does not follow the trace schema (the message lists every problem found)."""


class DebuggerError(GradvizError, ValueError):
    """A debugger command, breakpoint or replay target is wrong (the message says how)."""
