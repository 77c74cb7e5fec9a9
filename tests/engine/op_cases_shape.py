"""Cases for the shape ops added after op_cases.py (merged into its tables at its end).

Same conventions as ``op_cases.py``: ``CASES`` are gradient-checked in float64 and compared
with torch; ``OPS_WITHOUT_GRADIENT`` names registry ops whose outputs never require grad,
each with a call in ``NON_DIFFERENTIABLE_CALLS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.engine.op_cases import A, Case, P, V  # noqa: F401 - shorthands for the tables


def _idx(lib: Any, values: Any) -> Any:
    return lib.tensor(values, dtype=lib.int64)


def _mask(lib: Any, values: Any) -> Any:
    return lib.tensor(values, dtype=lib.bool)


_SCATTER_INDEX = [[0, 1, 2, 0], [2, 1, 0, 0]]  # repeats: for the accumulating scatters
_SCATTER_UNIQUE = [[0, 1, 2, 0], [2, 0, 1, 1]]  # no repeats along dim 0: for plain scatter

CASES: list[Case] = [
    # Views.
    Case("narrow", lambda lib, a: lib.narrow(a, 1, 1, 2), (A(3, 4),), gradgrad=True),
    Case("narrow", lambda lib, a: a.narrow(0, -2, 2), (A(3, 4),), "negative-start"),
    Case("narrow", lambda lib, a: a.narrow(-1, _idx(lib, 1), 3), (A(2, 4),), "tensor-start"),
    Case("select", lambda lib, a: lib.select(a, 1, 2), (A(3, 4),), gradgrad=True),
    Case("select", lambda lib, a: a.select(-1, -1), (A(2, 3, 4),), "negative"),
    Case("movedim", lambda lib, a: lib.movedim(a, 0, 2), (A(2, 3, 4),), gradgrad=True),
    Case("movedim", lambda lib, a: a.movedim((0, 1), (2, 0)), (A(2, 3, 4),), "tuples"),
    Case("movedim", lambda lib, a: a.movedim(-1, -1), (A(2, 3),), "same-place"),
    Case("moveaxis", lambda lib, a: lib.moveaxis(a, 1, 0), (A(2, 3),)),
    Case("tensor_split", lambda lib, a: lib.tensor_split(a, 3, dim=1), (A(2, 7),), gradgrad=True),
    Case("tensor_split", lambda lib, a: a.tensor_split([1, 3]), (A(5, 2),), "indices"),
    Case(
        "tensor_split",
        lambda lib, a: a.tensor_split(_idx(lib, [-1, 1, 9])),
        (A(4),),
        "tensor-indices",
    ),
    Case("tensor_split", lambda lib, a: a.tensor_split(_idx(lib, 2), 1), (A(2, 3),), "tensor-n"),
    Case("hsplit", lambda lib, a: lib.hsplit(a, 2), (A(3, 4),)),
    Case("hsplit", lambda lib, a: a.hsplit([1]), (A(4),), "1d-indices"),
    Case("vsplit", lambda lib, a: lib.vsplit(a, 3), (A(3, 4),)),
    Case("dsplit", lambda lib, a: lib.dsplit(a, [1]), (A(2, 2, 3),)),
    Case("atleast_1d", lambda lib, a: lib.atleast_1d(a), (A(),), "0d"),
    Case("atleast_1d", lambda lib, a, b: lib.atleast_1d(a, b), (A(), A(2, 3)), "several"),
    Case("atleast_2d", lambda lib, a: lib.atleast_2d(a), (A(4),), "1d"),
    Case("atleast_2d", lambda lib, a, b: lib.atleast_2d([a, b]), (A(), A(2, 3)), "list"),
    Case("atleast_3d", lambda lib, a: lib.atleast_3d(a), (A(4),), "1d"),
    Case("atleast_3d", lambda lib, a, b: lib.atleast_3d(a, b), (A(), A(2, 3)), "0d-2d"),
    Case("atleast_3d", lambda lib, a: lib.atleast_3d(a), (A(1, 2, 3, 1),), "4d"),
    Case("meshgrid", lambda lib, a, b: lib.meshgrid(a, b, indexing="ij"), (A(3), A(2))),
    Case(
        "meshgrid",
        lambda lib, a, b, c: lib.meshgrid([a, b, c], indexing="xy"),
        (A(3), A(2), A()),
        "xy",
    ),
    Case("broadcast_tensors", lambda lib, a, b: lib.broadcast_tensors(a, b), (A(2, 3), A(3))),
    Case(
        "broadcast_tensors",
        lambda lib, a, b, c: lib.broadcast_tensors(a, b, c),
        (A(2, 1), A(3), A(2, 3)),
        "three",
    ),
    # Copies composed of other ops.
    Case("tile", lambda lib, a: lib.tile(a, (2, 1)), (A(2, 3),), gradgrad=True),
    Case("tile", lambda lib, a: a.tile((2,)), (A(2, 3),), "short-dims"),
    Case("tile", lambda lib, a: a.tile((2, 1, 2)), (A(3),), "long-dims"),
    Case("repeat_interleave", lambda lib, a: lib.repeat_interleave(a, 2), (A(2, 3),), "flat"),
    Case(
        "repeat_interleave",
        lambda lib, a: a.repeat_interleave(3, dim=1),
        (A(2, 2),),
        "dim",
        gradgrad=True,
    ),
    Case("repeat_interleave", lambda lib, a: a.repeat_interleave(2), (A(3),), "1d"),
    Case("repeat_interleave", lambda lib, a: a.repeat_interleave(2), (A(),), "0d"),
    Case(
        "repeat_interleave",
        lambda lib, a: lib.repeat_interleave(a, _idx(lib, [1, 0, 2]), dim=0),
        (A(3, 2),),
        "tensor",
        gradgrad=True,
    ),
    Case(
        "repeat_interleave",
        lambda lib, a: a.repeat_interleave(_idx(lib, [2]), dim=-1),
        (A(2, 3),),
        "one-count",
    ),
    Case(
        "take_along_dim",
        lambda lib, a: lib.take_along_dim(a, _idx(lib, [[0], [2]]), 1),
        (A(2, 3),),
        gradgrad=True,
    ),
    Case(
        "take_along_dim",
        lambda lib, a: a.take_along_dim(_idx(lib, [[1, 0, -1]]), dim=1),
        (A(2, 3),),
        "broadcast",
    ),
    Case(
        "take_along_dim",
        lambda lib, a: lib.take_along_dim(a, _idx(lib, [5, 0])),
        (A(2, 3),),
        "flat",
    ),
    Case("kron", lambda lib, a, b: lib.kron(a, b), (A(2, 3), A(2, 2)), gradgrad=True),
    Case("kron", lambda lib, a, b: a.kron(b), (A(3), A(2, 2)), "1d-2d"),
    Case("kron", lambda lib, a, b: lib.kron(a, b), (A(), A(3)), "0d"),
    Case("diff", lambda lib, a: lib.diff(a), (A(3, 4),), gradgrad=True),
    Case("diff", lambda lib, a: a.diff(n=2, dim=0), (A(4, 2),), "n2"),
    Case(
        "diff",
        lambda lib, a, p, q: lib.diff(a, dim=1, prepend=p, append=q),
        (A(3, 4), A(3, 1), A(3, 2)),
        "prepend-append",
    ),
    Case("diff", lambda lib, a: a.diff(n=5), (A(2, 3),), "n-too-big"),
    Case("diff", lambda lib, a: lib.diff(a, n=0), (A(3),), "n0"),
    Case("flipud", lambda lib, a: lib.flipud(a), (A(3, 2),)),
    Case("fliplr", lambda lib, a: a.fliplr(), (A(3, 2),)),
    Case("column_stack", lambda lib, a, b, c: lib.column_stack([a, b, c]), (A(3), A(3, 2), A(3))),
    Case("column_stack", lambda lib, a, b: lib.column_stack((a, b)), (A(), A()), "0d"),
    Case("dstack", lambda lib, a, b: lib.dstack([a, b]), (A(2, 3), A(2, 3))),
    Case("dstack", lambda lib, a, b: lib.dstack([a, b]), (A(3), A(1, 3, 2)), "mixed"),
    Case("cartesian_prod", lambda lib, a, b: lib.cartesian_prod(a, b), (A(3), A(2))),
    Case("cartesian_prod", lambda lib, a: lib.cartesian_prod(a) * 1, (A(3),), "one"),
    Case("combinations", lambda lib, a: lib.combinations(a), (A(4),)),
    Case(
        "combinations",
        lambda lib, a: lib.combinations(a, 3, with_replacement=True),
        (A(3),),
        "with-replacement",
    ),
    # Ops with their own node.
    Case(
        "take", lambda lib, a: lib.take(a, _idx(lib, [[0, 5], [-1, 0]])), (A(2, 3),), gradgrad=True
    ),
    Case("rot90", lambda lib, a: lib.rot90(a), (A(2, 3),), gradgrad=True),
    Case("rot90", lambda lib, a: a.rot90(2, (1, 2)), (A(2, 3, 2),), "k2"),
    Case("rot90", lambda lib, a: a.rot90(-1, [0, -1]), (A(2, 3),), "k-1"),
    Case("rot90", lambda lib, a: a.rot90(4), (A(2, 3),), "k4"),
    Case("cross", lambda lib, a, b: lib.cross(a, b, dim=1), (A(2, 3), A(2, 3)), gradgrad=True),
    Case("cross", lambda lib, a, b: a.cross(b, dim=0), (A(3, 2), A(3, 1)), "broadcast"),
    Case("cdist", lambda lib, a, b: lib.cdist(a, b), (A(3, 4), A(2, 4)), gradgrad=True),
    Case("cdist", lambda lib, a, b: lib.cdist(a, b, p=1), (A(2, 3, 2), A(1, 4, 2)), "p1-batch"),
    Case("cdist", lambda lib, a, b: lib.cdist(a, b, p=3), (A(3, 2), A(2, 2)), "p3"),
    Case("cdist", lambda lib, a, b: lib.cdist(a, b, p=float("inf")), (A(3, 2), A(2, 2)), "inf"),
    Case("block_diag", lambda lib, a, b, c: lib.block_diag(a, b, c), (A(2, 3), A(2), A())),
    Case(
        "index_add",
        lambda lib, a, s: lib.index_add(a, 0, _idx(lib, [0, 2, 0]), s),
        (A(3, 4), A(3, 4)),
        gradgrad=True,
    ),
    Case(
        "index_add",
        lambda lib, a, s: a.index_add(1, _idx(lib, [1, 2]), s, alpha=2.5),
        (A(2, 3), A(2, 2)),
        "alpha",
    ),
    Case(
        "index_add_",
        lambda lib, a, s: a.clone().index_add_(0, _idx(lib, [1]), s),
        (A(3, 2), A(1, 2)),
        "inplace",
    ),
    Case(
        "index_fill",
        lambda lib, a: lib.index_fill(a, 1, _idx(lib, [0, 2]), -1.5),
        (A(2, 3),),
        gradgrad=True,
    ),
    Case(
        "index_fill",
        lambda lib, a, v: a.index_fill(0, _idx(lib, [1]), v),
        (A(2, 3), A()),
        "tensor-value",
        gradgrad=True,
    ),
    Case(
        "index_fill_",
        lambda lib, a: a.clone().index_fill_(0, _idx(lib, [0]), 2.0),
        (A(2, 3),),
        "inplace",
    ),
    Case(
        "index_copy",
        lambda lib, a, s: lib.index_copy(a, 0, _idx(lib, [2, 0]), s),
        (A(3, 2), A(2, 2)),
        gradgrad=True,
    ),
    Case(
        "index_copy_",
        lambda lib, a, s: a.clone().index_copy_(1, _idx(lib, [1]), s),
        (A(2, 3), A(2, 1)),
        "inplace",
    ),
    Case(
        "scatter",
        lambda lib, a, s: lib.scatter(a, 0, _idx(lib, _SCATTER_UNIQUE), s),
        (A(3, 4), A(2, 4)),
        gradgrad=True,
    ),
    Case(
        "scatter",
        lambda lib, a: a.scatter(1, _idx(lib, [[2], [0]]), 0.5),
        (A(2, 3),),
        "value",
        gradgrad=True,
    ),
    Case(
        "scatter",
        lambda lib, a: lib.scatter(a, 1, _idx(lib, [[1, 0]]), value=2.0),
        (A(2, 3),),
        "value-keyword",
    ),
    Case(
        "scatter_",
        lambda lib, a, s: a.clone().scatter_(0, _idx(lib, _SCATTER_UNIQUE), s),
        (A(3, 4), A(2, 4)),
        "inplace",
    ),
    Case(
        "scatter_add_",
        lambda lib, a, s: a.clone().scatter_add_(0, _idx(lib, _SCATTER_INDEX), s),
        (A(3, 4), A(2, 4)),
        "inplace",
    ),
    Case(
        "masked_scatter",
        lambda lib, a, s: lib.masked_scatter(a, a > 0, s),
        (A(3, 4), A(3, 5)),
        gradgrad=True,
    ),
    Case(
        "masked_scatter",
        lambda lib, a, s: a.masked_scatter(_mask(lib, [[True], [False]]), s),
        (A(3), A(4)),
        "broadcast",
    ),
    Case(
        "masked_scatter_",
        lambda lib, a, s: a.clone().masked_scatter_(_mask(lib, [True, False, True]), s),
        (A(2, 3), A(5)),
        "inplace",
    ),
    Case("triu_", lambda lib, a: a.clone().triu_(1), (A(3, 4),), "inplace"),
    Case("tril_", lambda lib, a: a.clone().tril_(-1), (A(2, 3, 3),), "inplace"),
]

# scatter_reduce: every reduction, with and without the input's own values. The index
# sends two values to some places and none to others, so both paths are exercised.
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _include in (True, False):
        CASES.append(
            Case(
                "scatter_reduce",
                lambda lib, a, s, r=_reduce, inc=_include: lib.scatter_reduce(
                    a, 0, _idx(lib, _SCATTER_INDEX), s, r, include_self=inc
                ),
                (A(3, 4), A(2, 4)),
                f"{_reduce}-{'self' if _include else 'noself'}",
                gradgrad=_reduce in ("sum", "mean"),
            )
        )
CASES += [
    Case(
        "scatter_reduce",
        lambda lib, a, s: a.scatter_reduce(1, _idx(lib, [[0, 0], [1, 1]]), s, "prod"),
        (A(2, 2), V([[0.0, 2.0], [0.0, 0.0]])),
        "prod-zeros",
    ),
    Case(
        "scatter_reduce_",
        lambda lib, a, s: a.clone().scatter_reduce_(0, _idx(lib, _SCATTER_INDEX), s, "amin"),
        (A(3, 4), A(2, 4)),
        "inplace",
    ),
]

OPS_WITHOUT_GRADIENT: set[str] = set()

NON_DIFFERENTIABLE_CALLS: dict[str, Callable[[Any, Any], Any]] = {}
