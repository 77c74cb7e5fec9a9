"""The module classes of ``gradviz.nn``: ``Module``, containers, layers and losses."""

from __future__ import annotations

from gradviz.nn.modules.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from gradviz.nn.modules.container import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from gradviz.nn.modules.conv import Conv1d, Conv2d
from gradviz.nn.modules.dropout import Dropout
from gradviz.nn.modules.flatten import Flatten, Unflatten
from gradviz.nn.modules.linear import Bilinear, Identity, Linear
from gradviz.nn.modules.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from gradviz.nn.modules.module import Module
from gradviz.nn.modules.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from gradviz.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from gradviz.nn.modules.sparse import Embedding
from gradviz.nn.modules.transformer import MultiheadAttention, TransformerEncoderLayer

__all__ = [
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
    "Identity",
    "Linear",
    "Bilinear",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "SiLU",
    "ELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "Conv1d",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "LayerNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "Unflatten",
    "L1Loss",
    "MSELoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "SmoothL1Loss",
    "HuberLoss",
    "KLDivLoss",
    "MultiheadAttention",
    "TransformerEncoderLayer",
]
