"""``gradviz.utils.data`` against ``torch.utils.data``: batches, collation, splits, errors."""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.utils import data as gdata


def _plain(value: Any) -> Any:
    """A comparable form of a batch: tensors as (dtype name, nested list)."""
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return (str(value.dtype).split(".")[-1], value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, [_plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v) for v in value])
    return value


def _both(torch: ModuleType) -> list[tuple[ModuleType, Any]]:
    return [(torch, torch.utils.data), (gradviz, gdata)]


@pytest.mark.parametrize(
    ("batch_size", "drop_last"), [(1, False), (2, False), (3, True), (7, False)]
)
def test_sequential_batches_match_torch(
    torch: ModuleType, batch_size: int, drop_last: bool
) -> None:
    runs = []
    for lib, data in _both(torch):
        ds = data.TensorDataset(lib.arange(10.0).reshape(5, 2), lib.arange(5))
        loader = data.DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
        runs.append((len(loader), [_plain(b) for b in loader]))
    assert runs[0] == runs[1]


SAMPLES: dict[str, Callable[[ModuleType], list[Any]]] = {
    "ints": lambda lib: [1, 2, 3],
    "floats": lambda lib: [1.0, 2.5],
    "bools": lambda lib: [True, False],
    "tensors": lambda lib: [lib.ones(2, 3), lib.zeros(2, 3)],
    "numpy arrays": lambda lib: [np.arange(3), np.arange(3, 6)],
    "numpy scalars": lambda lib: [np.float32(1.5), np.float32(2.0)],
    "strings": lambda lib: ["a", "b"],
    "tuples": lambda lib: [(1, "a", lib.ones(2)), (2, "b", lib.zeros(2))],
    "lists": lambda lib: [[1, 2.0], [3, 4.0]],
    "dicts": lambda lib: [{"x": lib.ones(1), "y": 1}, {"x": lib.zeros(1), "y": 2}],
    "namedtuples": lambda lib: [
        collections.namedtuple("Pair", "a b")(1, lib.ones(2)),
        collections.namedtuple("Pair", "a b")(2, lib.zeros(2)),
    ],
    "nested": lambda lib: [{"p": [(1, 2.0)]}, {"p": [(3, 4.0)]}],
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_default_collate_matches_torch(torch: ModuleType, name: str) -> None:
    got = _plain(gdata.default_collate(SAMPLES[name](gradviz)))
    want = _plain(torch.utils.data.default_collate(SAMPLES[name](torch)))
    assert got == want


ERRORS: dict[str, Callable[[ModuleType, Any], Any]] = {
    "unequal tensors": lambda lib, d: d.default_collate([lib.ones(3), lib.ones(2)]),
    "unequal lists": lambda lib, d: d.default_collate([[1, 2], [3]]),
    "unknown element": lambda lib, d: d.default_collate([object()]),
    "shuffle and sampler": lambda lib, d: d.DataLoader([1, 2], shuffle=True, sampler=[0, 1]),
    "batch_sampler and batch_size": lambda lib, d: d.DataLoader(
        [1, 2], batch_sampler=[[0]], batch_size=2
    ),
    "negative workers": lambda lib, d: d.DataLoader([1, 2], num_workers=-1),
    "zero batch": lambda lib, d: d.DataLoader([1, 2], batch_size=0),
    "prefetch without workers": lambda lib, d: d.DataLoader([1, 2], prefetch_factor=2),
    "persistent without workers": lambda lib, d: d.DataLoader([1, 2], persistent_workers=True),
    "no batching with drop_last": lambda lib, d: d.DataLoader([1], batch_size=None, drop_last=True),
    "tensor sizes": lambda lib, d: d.TensorDataset(lib.ones(3), lib.ones(2)),
    "split sum": lambda lib, d: d.random_split(range(5), [3, 3]),
    "split fraction": lambda lib, d: d.random_split(range(5), [1.5, -0.5]),
    "sampler replacement": lambda lib, d: d.RandomSampler(range(3), replacement=1),
    "sampler num_samples": lambda lib, d: d.RandomSampler(range(3), num_samples=0),
    "batch sampler size": lambda lib, d: d.BatchSampler(range(3), 0, False),
    "batch sampler drop_last": lambda lib, d: d.BatchSampler(range(3), 2, 1),
    "concat nothing": lambda lib, d: d.ConcatDataset([]),
}


def _error(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info, warnings.catch_warnings():  # type compared below
        warnings.simplefilter("ignore")
        call()
    return info.value


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(torch: ModuleType, name: str) -> None:
    want = _error(lambda: ERRORS[name](torch, torch.utils.data))
    got = _error(lambda: ERRORS[name](gradviz, gdata))
    assert type(got).__name__ == type(want).__name__
    assert str(got) == str(want)


def test_shuffle_visits_every_sample_once_per_epoch_in_new_orders() -> None:
    gradviz.manual_seed(0)
    loader = gdata.DataLoader(list(range(20)), batch_size=6, shuffle=True)
    epochs = [[int(x) for batch in loader for x in batch.tolist()] for _ in range(3)]
    assert all(sorted(e) == list(range(20)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    assert [len(b) for b in loader] == [6, 6, 6, 2]


def test_shuffle_repeats_with_a_seed_or_a_generator() -> None:
    def order(**kwargs: Any) -> list[int]:
        loader = gdata.DataLoader(list(range(10)), batch_size=None, shuffle=True, **kwargs)
        return [int(x) for x in loader]

    gradviz.manual_seed(3)
    first = order()
    gradviz.manual_seed(3)
    assert order() == first
    mine = order(generator=gradviz.Generator().manual_seed(7))
    gradviz.rand(5)  # other draws do not move a generator of its own
    assert order(generator=gradviz.Generator().manual_seed(7)) == mine


def test_random_split_lengths_match_torch_and_cover_the_dataset(torch: ModuleType) -> None:
    for lengths in ([3, 2], [0.6, 0.4], [0.34, 0.33, 0.33], [5, 0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = [len(s) for s in torch.utils.data.random_split(range(5), lengths)]
            parts = gdata.random_split(range(5), lengths, gradviz.Generator().manual_seed(1))
        assert [len(s) for s in parts] == want
        assert sorted(i for part in parts for i in part) == list(range(5))
    again = gdata.random_split(range(5), [3, 2], gradviz.Generator().manual_seed(1))
    first = gdata.random_split(range(5), [3, 2], gradviz.Generator().manual_seed(1))
    assert [list(p) for p in again] == [list(p) for p in first]


def test_concat_and_subset_index_like_torch(torch: ModuleType) -> None:
    runs = []
    for lib, data in _both(torch):
        a = data.TensorDataset(lib.arange(3))
        b = data.TensorDataset(lib.arange(10, 14))
        both = a + b
        sub = data.Subset(both, [6, 0, 3])
        runs.append(
            (
                len(both),
                [_plain(both[i]) for i in (0, 2, 3, 6, -1, -7)],
                [_plain(x) for x in sub],
                [_plain(x) for x in data.DataLoader(sub, batch_size=2)],
            )
        )
    assert runs[0] == runs[1]


def test_iterable_dataset_batches_like_torch(torch: ModuleType) -> None:
    runs = []
    for _, data in _both(torch):

        class Stream(data.IterableDataset):  # type: ignore[name-defined,misc]
            def __iter__(self) -> Any:
                return iter(range(5))

        runs.append(
            (
                [_plain(b) for b in data.DataLoader(Stream(), batch_size=2)],
                [_plain(b) for b in data.DataLoader(Stream(), batch_size=2, drop_last=True)],
                [_plain(b) for b in data.DataLoader(Stream(), batch_size=None)],
            )
        )
    assert runs[0] == runs[1]


@pytest.mark.parametrize("batch_size", [None, 1, 2, 3, 5, 6])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sized_stream_lengths_and_batches_like_torch(
    torch: ModuleType, batch_size: int | None, drop_last: bool
) -> None:
    if batch_size is None and drop_last:
        return  # refused by both (see ERRORS)
    runs = []
    for _, data in _both(torch):

        class Stream(data.IterableDataset):  # type: ignore[name-defined,misc]
            def __iter__(self) -> Any:
                return iter([[k, 2.0 * k] for k in range(5)])

            def __len__(self) -> int:
                return 5

        loader = data.DataLoader(Stream(), batch_size=batch_size, drop_last=drop_last)
        runs.append((len(loader), [_plain(b) for b in loader], [_plain(b) for b in loader]))
    assert runs[0] == runs[1]


def test_unsized_stream_has_no_length_as_in_torch(torch: ModuleType) -> None:
    for _, data in _both(torch):

        class Stream(data.IterableDataset):  # type: ignore[name-defined,misc]
            def __iter__(self) -> Any:
                return iter(range(3))

        for batch_size in (None, 2):
            with pytest.raises(TypeError, match=r"^object of type 'Stream' has no len\(\)$"):
                len(data.DataLoader(Stream(), batch_size=batch_size))


def _batched_dataset(lib: ModuleType, data: Any, calls: list[list[int]]) -> Any:
    """A dataset whose ``__getitems__`` records its calls and tags what it fetches (x10)."""

    class Batched(data.Dataset):  # type: ignore[name-defined,misc]
        def __getitem__(self, index: int) -> Any:
            return lib.tensor([float(index)])

        def __getitems__(self, indices: list[int]) -> list[Any]:
            calls.append(list(indices))
            return [lib.tensor([10.0 * i]) for i in indices]

        def __len__(self) -> int:
            return 5

    return Batched()


def test_getitems_fetches_whole_batches_like_torch(torch: ModuleType) -> None:
    runs = []
    for lib, data in _both(torch):
        calls: list[list[int]] = []
        whole = [_plain(b) for b in data.DataLoader(_batched_dataset(lib, data, calls), 2)]
        sub = data.Subset(_batched_dataset(lib, data, calls), [4, 0, 3])
        through_subset = [_plain(b) for b in data.DataLoader(sub, batch_size=2)]
        loader = data.DataLoader(_batched_dataset(lib, data, calls), batch_size=None)
        one_by_one = [_plain(b) for b in loader]
        runs.append((whole, through_subset, one_by_one, calls))
    assert runs[0] == runs[1]
    assert runs[1][3] == [[0, 1], [2, 3], [4], [4, 0], [3]]


def test_batching_off_converts_samples_like_torch(torch: ModuleType) -> None:
    samples = [np.arange(2), (np.float64(1.0), "a")]
    got = [_plain(x) for x in gdata.DataLoader(samples, batch_size=None)]
    want = [_plain(x) for x in torch.utils.data.DataLoader(samples, batch_size=None)]
    assert got == want


def test_workers_are_accepted_with_one_warning_and_the_same_batches() -> None:
    gdata.DataLoader._warned_workers = False
    with pytest.warns(UserWarning, match="loads batches in the calling process"):
        loader = gdata.DataLoader(list(range(5)), batch_size=2, num_workers=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gdata.DataLoader(list(range(5)), num_workers=2)  # warned once per process


def test_a_training_loop_over_a_loader_follows_torch(torch: ModuleType) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 3)).astype(np.float32), rng.integers(0, 2, 12)
    w0 = rng.standard_normal((2, 3)).astype(np.float32)
    losses = []
    for lib, data in _both(torch):
        model = lib.nn.Linear(3, 2)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(w0))
            model.bias.zero_()
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        loader = data.DataLoader(data.TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=5)
        run = []
        for _ in range(2):
            for xb, yb in loader:
                opt.zero_grad()
                loss = lib.nn.functional.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
