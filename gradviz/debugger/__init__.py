"""Step through a backward pass node by node, as pdb steps through code.

- :class:`Debugger`: live, around code that calls ``backward()`` (a ``with`` block).
- :func:`step`: run a script under the live debugger (``gradviz step script.py``).
- :func:`replay`: step through a recorded backward (``gradviz step train.gvz:3``).
- :func:`why_no_grad`: why a parameter gets no gradient (also the ``why`` command).
- :class:`NanTracker` / :func:`find_nan_origin`: where NaN/Inf gradients start.

Example:
    >>> import io, gradviz
    >>> from gradviz.debugger import Debugger
    >>> from gradviz.renderers.console import make_console
    >>> x = gradviz.tensor([4.0, 0.0], requires_grad=True)
    >>> out = io.StringIO()
    >>> with Debugger(commands="b nan;c;q", console=make_console(out)):
    ...     x.sqrt().sum().backward()
    >>> print(next(line for line in out.getvalue().splitlines() if line.startswith("quit")))
    quit: the backward was stopped; every .grad is as it was before it
    >>> x.grad is None
    True
"""

from __future__ import annotations

from gradviz.debugger.nan import Finding, NanTracker, find_nan_origin
from gradviz.debugger.session import (
    HELP,
    Breakpoint,
    Debugger,
    DebuggerError,
    parse_breakpoint,
    replay,
    step,
)
from gradviz.debugger.why import CAUSES, WhyNoGrad, why_no_grad

__all__ = [
    "CAUSES",
    "HELP",
    "Breakpoint",
    "Debugger",
    "DebuggerError",
    "Finding",
    "NanTracker",
    "WhyNoGrad",
    "find_nan_origin",
    "parse_breakpoint",
    "replay",
    "step",
    "why_no_grad",
]
