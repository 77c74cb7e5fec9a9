"""``DataLoader`` and the default collation, as in ``torch.utils.data``.

gradviz loads every batch in the calling process: ``num_workers`` is accepted (it changes
how PyTorch loads, not what it loads) and warned about once; ``pin_memory`` is accepted and
ignored (there is no pinned host memory here).
"""

from __future__ import annotations

import collections.abc
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from gradviz.engine.creation import as_tensor, tensor
from gradviz.engine.dtypes import float64
from gradviz.engine.ops.shape import stack
from gradviz.engine.tensor import Tensor
from gradviz.utils.data.dataset import IterableDataset, _fetch
from gradviz.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]


def get_worker_info() -> None:
    """Return None: gradviz loads in the calling process, never in a worker."""
    return None


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars into tensors, inside lists, tuples and dicts too."""
    if isinstance(data, np.ndarray | np.generic) and data.dtype.kind in "biuf":
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})  # type: ignore[call-arg]
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, as PyTorch's ``default_collate`` does.

    Tensors and NumPy arrays are stacked along a new first dimension; Python floats become a
    float64 tensor, ints an int64 one, bools a bool one; strings stay a sequence; dicts,
    namedtuples and sequences are collated field by field (sequences become lists).

    Raises:
        RuntimeError: tensors of different shapes, or sequences of different lengths.
        TypeError: an element of another kind (PyTorch's message).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray) and elem.dtype.kind in "biuf":
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, np.generic) and elem.dtype.kind in "biuf":
        return as_tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:  # a mapping that cannot be built from a dict
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(samples) for samples in zip(*batch, strict=True)]
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem)}"
    )


class DataLoader:
    """Iterate over a dataset in batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``) or an
            :class:`IterableDataset`.
        batch_size: samples per batch; None turns batching off (samples are converted,
            not collated).
        shuffle: visit a map-style dataset in a new random order each epoch.
        sampler: the order of the indices (instead of ``shuffle``).
        batch_sampler: yields lists of indices (instead of ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``).
        num_workers: accepted; gradviz loads in the calling process.
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted and ignored.
        drop_last: leave out a last, incomplete batch.
        timeout: accepted (no workers to wait for).
        worker_init_fn: accepted (no workers to start).
        multiprocessing_context: accepted (no workers).
        generator: a ``gradviz.Generator`` for the shuffle.
        prefetch_factor: must be None (it needs workers).
        persistent_workers: must be False (it needs workers).
        pin_memory_device: accepted and ignored.
        in_order: accepted (batches always come in order).

    Raises:
        ValueError: conflicting or invalid options (PyTorch's messages).
    """

    _warned_workers = False

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if num_workers > 0 and not DataLoader._warned_workers:
            DataLoader._warned_workers = True
            warnings.warn(
                f"DataLoader(num_workers={num_workers}): gradviz loads batches in the calling "
                "process; the batches are the same.",
                UserWarning,
                stacklevel=2,
            )
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, but "
                    f"got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, but "
                    f"got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        # What __iter__ of a stream collates item by item: the samples themselves, or
        # (batching on) the lists a BatchSampler groups them into as they come.
        self._stream: Any = dataset
        if batch_size is not None and self._iterable:
            self._stream = BatchSampler(dataset, batch_size, drop_last)
        elif batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler: Sampler | Any = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            for item in self._stream:
                yield self.collate_fn(item)
            return
        if self.batch_sampler is None:  # batching off: one converted sample at a time
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        for indices in self.batch_sampler:
            yield self.collate_fn(_fetch(self.dataset, indices))

    def __len__(self) -> int:
        if self._iterable:
            return len(self._stream)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)  # type: ignore[arg-type]
