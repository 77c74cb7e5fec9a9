"""Optimizers and learning-rate schedulers with PyTorch's interface (``torch.optim``).

Parameters are updated outside the graph, in place, with version counters bumped as an
in-place op would.
"""

from __future__ import annotations

from gradviz.optim import lr_scheduler
from gradviz.optim.adagrad import Adagrad
from gradviz.optim.adam import Adam, AdamW
from gradviz.optim.adaptive import Adadelta, Adamax, NAdam, RAdam
from gradviz.optim.optimizer import Optimizer
from gradviz.optim.rmsprop import RMSprop
from gradviz.optim.sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "lr_scheduler",
]
