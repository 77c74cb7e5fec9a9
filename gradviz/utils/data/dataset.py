"""Datasets as in ``torch.utils.data``.

``Dataset``, ``IterableDataset``, ``TensorDataset``, ``ConcatDataset``, ``Subset`` and
``random_split``.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from gradviz.engine.creation import randperm
from gradviz.engine.tensor import Tensor

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "ConcatDataset",
    "Subset",
    "random_split",
]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``).

    ``a + b`` concatenates two datasets (a :class:`ConcatDataset`).
    """

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset of samples produced by ``__iter__`` (a stream), not fetched by index."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> Any:
        raise TypeError("ConcatDataset does not support IterableDataset")


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension.

    Args:
        *tensors: tensors with the same size in dimension 0.

    Raises:
        AssertionError: the first dimensions differ (PyTorch's message).
    """

    def __init__(self, *tensors: Tensor) -> None:
        assert all(tensors[0].size(0) == t.size(0) for t in tensors), (
            "Size mismatch between tensors"
        )
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].size(0))


class ConcatDataset(Dataset):
    """The samples of several map-style datasets, one after the other.

    Raises:
        AssertionError: no datasets, or an IterableDataset among them (PyTorch's messages).
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        assert len(self.datasets) > 0, "datasets should not be an empty iterable"
        for d in self.datasets:
            assert not isinstance(d, IterableDataset), (
                "ConcatDataset does not support IterableDataset"
            )
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence: Sequence[Any]) -> list[int]:
        """Return the running totals of the datasets' lengths."""
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index = len(self) + index
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        return _fetch(self.dataset, [self.indices[i] for i in indices])

    def __len__(self) -> int:
        return len(self.indices)


def _fetch(dataset: Any, indices: list[int]) -> list[Any]:
    """Return the samples of ``dataset`` at ``indices``.

    A dataset's ``__getitems__`` fetches them all at once when it has one (as in PyTorch);
    otherwise they are fetched one by one with ``__getitem__``.
    """
    fetch = getattr(dataset, "__getitems__", None)
    if callable(fetch):
        return fetch(indices)
    return [dataset[i] for i in indices]


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: Any = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    Args:
        dataset: a map-style dataset with a length.
        lengths: the subsets' lengths, or fractions that sum to 1 (the remainder of the
            rounding goes one sample each to the first subsets, as in PyTorch).
        generator: a ``gradviz.Generator`` for a split that repeats.

    Returns:
        One :class:`Subset` per length.

    Raises:
        ValueError: lengths that do not add up to the dataset's length, or fractions out of
            [0, 1] (PyTorch's messages).
    """
    total = len(dataset)  # type: ignore[arg-type]
    whole = sum(float(x) for x in lengths)
    counts: list[int]
    if math.isclose(whole, 1) and whole <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(total * frac)))
        remainder = total - sum(counts)
        for i in range(remainder):
            counts[i % len(counts)] += 1
        for i, size in enumerate(counts):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    else:
        if whole != total:
            raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
        counts = [int(n) for n in lengths]
        if any(n != c for n, c in zip(lengths, counts, strict=True)):
            raise TypeError(f"random_split() lengths must be integers or fractions, got {lengths}")
    if sum(counts) != total:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = randperm(total, generator=generator).tolist()
    out, offset = [], 0
    for n in counts:
        out.append(Subset(dataset, order[offset : offset + n]))
        offset += n
    return out
