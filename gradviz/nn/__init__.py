"""Neural network building blocks with PyTorch's API: ``Module``, ``Parameter``, layers, losses.

``import gradviz.nn as nn`` gives what ``torch.nn`` gives for the layers gradviz has,
plus the submodules ``functional``, ``init``, ``parameter``, ``utils`` and ``modules``.
See :mod:`gradviz.nn.modules.module` for how module calls label graph nodes with their
module path and name parameters.
"""

from __future__ import annotations

from gradviz.nn import functional, init, modules, parameter, utils
from gradviz.nn.modules import *  # noqa: F403 - the layer classes, as torch.nn re-exports them
from gradviz.nn.modules import __all__ as _modules_all
from gradviz.nn.parameter import Parameter

__all__ = ["Parameter", "functional", "init", "modules", "parameter", "utils", *_modules_all]
