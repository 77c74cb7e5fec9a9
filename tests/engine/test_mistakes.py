"""Common mistakes raise PyTorch's exception type with PyTorch's words.

Each case runs on torch first (the oracle), then on gradviz. Found by trying, on both,
the mistakes users make most: a value that does not fit where it is written, ragged
nested lists, sizes that are not integers or are negative, integer parameters, empty
lists to cat/stack, index dtypes, detaching a view in place, mismatched norm sizes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import gradviz

CASES: dict[str, Callable[[Any], Any]] = {
    "setitem slice, value too long": lambda lib: lib.ones(3).__setitem__(slice(None), lib.ones(4)),
    "setitem row, value too long": lambda lib: lib.ones(2, 3).__setitem__(0, lib.ones(4)),
    "setitem index, value too long": lambda lib: lib.ones(3).__setitem__(
        lib.tensor([0, 1]), lib.ones(3)
    ),
    "setitem with grad": lambda lib: (lib.ones(2, 3, requires_grad=True) * 1).__setitem__(
        0, lib.ones(4)
    ),
    "ragged row": lambda lib: lib.tensor([[1, 2], [3, 4, 5]]),
    "ragged deep": lambda lib: lib.tensor([[[1, 2], [3, 4]], [[1, 2], [3]]]),
    "empty row": lambda lib: lib.tensor([[1], []]),
    "scalar among rows": lambda lib: lib.tensor([[1, 2], 3]),
    "zeros negative": lambda lib: lib.zeros(2, -3),
    "empty negative": lambda lib: lib.empty(-1),
    "ones negative, first named": lambda lib: lib.ones(2, -3, -1),
    "randn negative": lambda lib: lib.randn(-2),
    "full negative": lambda lib: lib.full((-1,), 1.0),
    "rand float size": lambda lib: lib.rand(2.5),
    "zeros float size": lambda lib: lib.zeros(2.5),
    "ones float in sizes": lambda lib: lib.ones(3, 2.5),
    "randn float in tuple": lambda lib: lib.randn((2, 2.5)),
    "ones str size": lambda lib: lib.ones("a"),
    "full float in size": lambda lib: lib.full((2.5,), 1),
    "full float size": lambda lib: lib.full(2.5, 1),
    "ones int requires grad": lambda lib: lib.ones(2, dtype=lib.int64, requires_grad=True),
    "Parameter of ints": lambda lib: lib.nn.Parameter(lib.ones(2, dtype=lib.int64)),
    "cat of nothing": lambda lib: lib.cat([]),
    "concat of nothing": lambda lib: lib.concat([]),
    "stack of nothing": lambda lib: lib.stack(()),
    "hstack of nothing": lambda lib: lib.hstack([]),
    "gather float index": lambda lib: lib.ones(3).gather(0, lib.tensor([0.0])),
    "scatter_add float index": lambda lib: lib.ones(3).scatter_add(
        0, lib.tensor([0.0]), lib.ones(1)
    ),
    "detach_ a view": lambda lib: lib.ones(2, 3)[0].detach_(),
    "detach_ a view with grad": lambda lib: lib.ones(2, 3, requires_grad=True).view(6).detach_(),
    "batch_norm running stats first": lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 5)),
    "batch_norm without stats": lambda lib: lib.nn.BatchNorm1d(3, track_running_stats=False)(
        lib.ones(4, 5)
    ),
    "batch_norm var before weight": lambda lib: lib.nn.functional.batch_norm(
        lib.ones(4, 5), lib.zeros(5), lib.ones(3), lib.ones(3), lib.zeros(5), training=True
    ),
}


def _error(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info, warnings.catch_warnings():  # type compared below
        warnings.simplefilter("ignore")
        call()
    return info.value


@pytest.mark.parametrize("name", sorted(CASES))
def test_mistake_raises_like_torch(name: str, torch: ModuleType) -> None:
    want = _error(lambda: CASES[name](torch))
    got = _error(lambda: CASES[name](gradviz))
    assert type(got).__name__ == type(want).__name__
    assert str(got) == str(want)
    assert got.__context__ is None or got.__suppress_context__  # no NumPy error under it


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_gather_and_scatter_add_take_int32_and_int64_indices(dtype: str, torch: ModuleType) -> None:
    results = []
    for lib in (gradviz, torch):
        x = lib.arange(6.0).reshape(2, 3).requires_grad_()
        index = lib.tensor([[2, 0], [1, 1]], dtype=getattr(lib, dtype))
        y = x.gather(1, index) + lib.zeros(2, 3).scatter_add(1, index, lib.ones(2, 2))[:, :2]
        y.sum().backward()
        results.append((y.tolist(), x.grad.tolist()))
    assert results[0] == results[1]


def test_diagonal_without_a_graph(torch: ModuleType) -> None:
    # Diagonal read its index back from ctx, which keeps nothing when no graph is recorded.
    for offset in (0, 1, -1):
        got = gradviz.diagonal(gradviz.arange(12.0).reshape(3, 4), offset)
        want = torch.diagonal(torch.arange(12.0).reshape(3, 4), offset)
        assert got.tolist() == want.tolist()
    with gradviz.no_grad():
        assert gradviz.ones(2, 2, requires_grad=True).diagonal().tolist() == [1.0, 1.0]


def test_gather_takes_an_index_smaller_than_the_input(torch: ModuleType) -> None:
    results = []
    for lib in (torch, gradviz):
        x = lib.arange(6.0).reshape(2, 3).requires_grad_()
        y = lib.gather(x, 0, lib.tensor([[1, 0]]))
        y.sum().backward()
        results.append((y.tolist(), x.grad.tolist()))
    assert results[0] == results[1]
    want = _error(lambda: torch.gather(torch.ones(2, 3), 0, torch.tensor([[1, 0, 1, 0]])))
    got = _error(lambda: gradviz.gather(gradviz.ones(2, 3), 0, gradviz.tensor([[1, 0, 1, 0]])))
    assert (type(got), str(got)) == (type(want), str(want))


def test_flip_returns_a_copy(torch: ModuleType) -> None:
    for lib in (torch, gradviz):
        a = lib.arange(3.0)
        b = a.flip(0)
        a.add_(10)
        assert b.tolist() == [2.0, 1.0, 0.0]
