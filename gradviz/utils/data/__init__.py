"""Datasets, samplers and ``DataLoader`` with PyTorch's interface (``torch.utils.data``).

Example:
    >>> import gradviz
    >>> from gradviz.utils.data import DataLoader, TensorDataset
    >>> data = TensorDataset(gradviz.arange(5.0), gradviz.arange(5))
    >>> [tuple(y.tolist()) for _, y in DataLoader(data, batch_size=2)]
    [(0, 1), (2, 3), (4,)]
"""

from __future__ import annotations

from gradviz.utils.data.dataloader import (
    DataLoader,
    default_collate,
    default_convert,
    get_worker_info,
)
from gradviz.utils.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from gradviz.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "ConcatDataset",
    "Subset",
    "random_split",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
]
