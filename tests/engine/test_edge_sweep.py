"""Edge inputs of the engine's ops give what PyTorch 2.13 gives: a differential sweep.

Every case of ``op_cases.py`` whose op is in :data:`SWEPT_OPS` runs on gradviz and on torch
with edge variants derived from its ordinary inputs (:func:`variants`): a zero-size
dimension in each input and in all of them at once, all sizes 1, 0-d inputs, transposed
and stepped (non-contiguous) views, expanded (stride-0) views, integer and bool inputs,
and a NaN, +inf or -inf as the first element. Both sides are compared on the exception
(type and PyTorch's wording), else the outputs (shape, dtype, values, ``grad_fn`` name,
``requires_grad``), the gradients of ``sum(output * a fixed random weight)`` with respect
to every input that requires grad, and the warnings raised.

Disagreements that are PyTorch's own quirks, or that need a design decision, are listed in
:data:`KNOWN` with the reason; they are left out of the comparison, and the test checks
they still disagree, so a fix shows up.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import gradviz
from tests.engine.op_cases import CASES, INPLACE_CASES, Arg, Case, flat_outputs, torch_namespace

# Ops swept with every variant (registry names, as in op_cases).
SWEPT_OPS = {
    "mm",
    "bmm",
    "mv",
    "dot",
    "inner",
    "outer",
    "ger",
    "addmm",
    "matmul",
    "abs",
    "absolute",
    "sign",
    "floor",
    "ceil",
    "round",
    "trunc",
    "remainder",
    "fmod",
    "pow",
    "maximum",
    "minimum",
    "clamp",
    "clip",
    "elu",
    "elu_",
    "fill_",
    "zero_",
    "copy_",
    "copysign",
    "reshape",
    "view",
    "flatten",
    "permute",
    "transpose",
    "t",
    "squeeze",
    "unsqueeze",
    "expand",
    "expand_as",
    "repeat",
    "tile",
    "flip",
    "flipud",
    "fliplr",
    "rot90",
    "roll",
    "narrow",
    "select",
    "diagonal",
    "movedim",
    "moveaxis",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "split",
    "chunk",
    "unbind",
    "tensor_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "tril",
    "triu",
    "tril_",
    "triu_",
    "masked_select",
    "max",
    "min",
}

# (case id, variant, dtype) -> why gradviz does not follow PyTorch there.
KNOWN: dict[tuple[str, str, str], str] = {
    # torch keeps float scalars' type for integer addmm (beta=0.5 truncates to 0 but the
    # result stays int64); gradviz promotes to float64 as for any other int op with a float.
    ("addmm-alpha-beta", "base", "int64"): "torch's addmm keeps int64 with float alpha/beta",
    # x ** -0.5 and x ** 0.5: ATen computes the gradient with rsqrt, NaN at -inf; C's pow
    # (and gradviz) gives 0 there, the limit.
    ("pow-sqrt", "ninf", "float64"): "torch's rsqrt-based pow gradient is NaN at -inf",
    # x.expand(-1, 4) of a 0-d tensor: torch reports an integer overflow of its numel (the
    # -1 is never resolved); gradviz reports the negative size. Both refuse it.
    ("expand-minus-one", "0d", "float64"): "torch: 'numel: integer multiplication overflow'",
    ("expand-minus-one", "0d", "float32"): "torch: 'numel: integer multiplication overflow'",
}

Variant = tuple[str, list[tuple[np.ndarray, str]]]  # name, [(leaf values, view kind)]


def _random(shape: tuple[int, ...], arg: Arg, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(arg.lo, arg.hi, shape).astype(np.float64)


def variants(case: Case) -> Iterator[Variant]:
    """Yield the case's ordinary inputs, then its edge variants.

    Each input is ``(values, view)``: the leaf's values and how the op sees the leaf: as it
    is (``""``), transposed (``"T"``, the leaf holds the transposed values), every other
    element of the last dim (``"step"``) or expanded from a size-1 dim (``"expand"``).
    """
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    base = [
        np.asarray(a.values, dtype=np.float64) if a.values is not None else _random(a.shape, a, rng)
        for a in case.args
    ]
    shapes = [v.shape for v in base]
    yield "base", [(v, "") for v in base]
    candidates: list[tuple[str, list[tuple[int, ...]]]] = []
    for i, s in enumerate(shapes):
        for d in range(len(s)):
            changed = list(shapes)
            changed[i] = s[:d] + (0,) + s[d + 1 :]
            candidates.append((f"empty-a{i}d{d}", changed))
    for p in range(1, max([len(s) for s in shapes] + [0]) + 1):
        changed = [
            s[: len(s) - p] + (0,) + s[len(s) - p + 1 :] if len(s) >= p else s for s in shapes
        ]
        candidates.append((f"empty-r{p}", changed))
    candidates.append(("ones", [(1,) * len(s) for s in shapes]))
    candidates.append(("0d", [() for _ in shapes]))
    seen = {tuple(shapes)}
    for name, changed in candidates:
        if tuple(changed) in seen:
            continue
        seen.add(tuple(changed))
        yield name, [(_random(s, a, rng), "") for s, a in zip(changed, case.args, strict=True)]
    if any(v.ndim >= 2 for v in base):
        yield "T", [(v.transpose(), "T") if v.ndim >= 2 else (v, "") for v in base]
    if any(v.ndim >= 1 for v in base):
        stepped = []
        for v in base:
            if v.ndim:
                wide = np.repeat(v, 2, axis=-1)
                wide[..., 1::2] = 99.0  # skipped by the view: never seen by the op
                stepped.append((wide, "step"))
            else:
                stepped.append((v, ""))
        yield "step", stepped
    expanded = []
    for v in base:
        wide_dims = [d for d in range(v.ndim) if v.shape[d] > 1]
        expanded.append((np.take(v, [0], axis=wide_dims[0]), "expand") if wide_dims else (v, ""))
    if any(view for _, view in expanded):
        yield "expand", expanded
    for name, x in (("nan", np.nan), ("inf", np.inf), ("ninf", -np.inf)):
        marked = []
        for v in base:
            w = v.copy()
            if w.size:
                w.reshape(-1)[0] = x
            marked.append((w, ""))
        yield name, marked


def _dtypes(variant: str) -> tuple[str, ...]:
    if variant == "base":
        return ("float64", "float32", "int64", "bool")
    if variant.startswith("empty") or variant in ("0d", "ones"):
        return ("float64", "float32")
    return ("float64",)


def _input(lib: Any, values: np.ndarray, view: str, dtype: str, grad: bool, shape: Any) -> Any:
    if dtype == "bool":
        values = values > 0
    elif dtype == "int64":
        values = np.round(values * 2)
    leaf = lib.tensor(np.array(values, order="C"), dtype=getattr(lib, dtype))
    if grad and dtype.startswith("float"):
        leaf.requires_grad_(True)
    if view == "T":
        seen = leaf.permute(*reversed(range(leaf.ndim)))
    elif view == "step":
        seen = leaf[..., ::2]
    elif view == "expand":
        seen = leaf.expand(*shape)
    else:
        seen = leaf
    return leaf, seen


def _said(message: str) -> str:
    return message.split(" (Triggered internally")[0]


def outcome(lib: Any, case: Case, inputs: list[tuple[np.ndarray, str]], dtype: str) -> dict:
    """Run the case on ``lib`` (gradviz or torch): outputs, gradients, error, warnings."""
    ns = gradviz if lib is gradviz else torch_namespace(lib)
    result: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            made = []
            for (values, view), arg, (base, _) in zip(
                inputs, case.args, _BASE[case.id], strict=True
            ):
                made.append(_input(lib, values, view, dtype, arg.grad, base.shape))
            leaves = [leaf for leaf, _ in made]
            outs = flat_outputs(case.fn(ns, *[seen for _, seen in made]))
            result["outs"] = [_summary(o) for o in outs]
            wrt = [leaf for leaf in leaves if leaf.requires_grad]
            live = [o for o in outs if getattr(o, "requires_grad", False)]
            if wrt and live:
                rng = np.random.default_rng(zlib.crc32(case.id.encode()) + 1)
                loss = None
                for o in live:
                    weight = lib.tensor(rng.uniform(-1, 1, tuple(o.shape)), dtype=o.dtype)
                    term = (o * weight).sum()
                    loss = term if loss is None else loss + term
                try:
                    loss.backward()
                    result["grads"] = [
                        None if t.grad is None else t.grad.numpy().copy() for t in wrt
                    ]
                except Exception as err:  # noqa: BLE001 - the error is what is compared
                    result["backward"] = (type(err).__name__, _said(str(err)))
        except Exception as err:  # noqa: BLE001 - the error is what is compared
            result = {"error": (type(err).__name__, _said(str(err)))}
    result["warnings"] = [(w.category.__name__, _said(str(w.message))) for w in caught]
    return result


def _summary(o: Any) -> Any:
    if not hasattr(o, "detach"):
        return ("python", o)
    fn = o.grad_fn
    return (
        tuple(o.shape),
        str(o.dtype).rsplit(".", 1)[-1],
        o.detach().numpy().copy(),
        None if fn is None else fn.name().rsplit("::", 1)[-1],
        o.requires_grad,
    )


def _close(got: np.ndarray, want: np.ndarray, dtype: str, what: str) -> list[str]:
    if got.dtype == bool or want.dtype == bool or got.dtype.kind in "iu":
        same = np.array_equal(got, want)
        return [] if same else [f"{what}: {got!r} != {want!r}"]
    rtol, atol = (1e-12, 1e-15) if dtype == "float64" else (1e-6, 1e-7)
    try:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    except AssertionError as err:
        return [f"{what}: {err}"]
    return []


def differences(got: dict, want: dict, dtype: str) -> list[str]:
    """Return how gradviz's outcome differs from torch's (empty when they agree)."""
    problems = []
    if got["warnings"] != want["warnings"]:
        problems.append(f"warnings {got['warnings']} != {want['warnings']}")
    if "error" in got or "error" in want:
        if got.get("error") != want.get("error"):
            problems.append(f"error {got.get('error')} != {want.get('error')}")
        return problems
    if len(got["outs"]) != len(want["outs"]):
        return [*problems, f"{len(got['outs'])} outputs != {len(want['outs'])}"]
    for k, (a, b) in enumerate(zip(got["outs"], want["outs"], strict=True)):
        if a[0] == "python" or b[0] == "python":
            problems += [] if a == b else [f"output {k}: {a} != {b}"]
            continue
        if a[:2] != b[:2]:
            problems.append(f"output {k}: shape/dtype {a[:2]} != {b[:2]}")
            continue
        problems += _close(a[2], b[2], dtype, f"output {k}")
        if a[3:] != b[3:]:
            problems.append(f"output {k}: grad_fn/requires_grad {a[3:]} != {b[3:]}")
    if got.get("backward") != want.get("backward"):
        problems.append(f"backward error {got.get('backward')} != {want.get('backward')}")
    for k, (a, b) in enumerate(zip(got.get("grads", []), want.get("grads", []), strict=True)):
        if a is None or b is None:
            problems += [] if a is b else [f"grad {k}: {a} != {b}"]
        elif a.shape != b.shape:
            problems.append(f"grad {k}: shape {a.shape} != {b.shape}")
        else:
            problems += _close(a, b, dtype, f"grad {k}")
    return problems


_SWEPT = [c for c in CASES + INPLACE_CASES if c.op in SWEPT_OPS and c.torch is True]
_BASE = {c.id: next(variants(c))[1] for c in _SWEPT}


@pytest.mark.parametrize("case", _SWEPT, ids=[c.id for c in _SWEPT])
def test_edge_variants_match_pytorch(torch: Any, case: Case) -> None:
    problems = []
    still_known = []
    for name, inputs in variants(case):
        for dtype in _dtypes(name):
            diff = differences(
                outcome(gradviz, case, inputs, dtype), outcome(torch, case, inputs, dtype), dtype
            )
            if (case.id, name, dtype) in KNOWN:
                still_known.append(bool(diff))
            elif diff:
                problems.append(f"[{name} {dtype}] " + "; ".join(diff))
    assert not problems, "\n".join(problems)
    assert all(still_known), "a KNOWN disagreement is gone: remove it from KNOWN"


RESHAPES = [
    ((2, 0), (-1, 0)),
    ((2, 0), (0, -1)),
    ((0,), (0, -1, 3)),
    ((2, 0), (-1,)),
    ((2, 0), (3, -1)),
    ((0, 3), (-1, 2)),
    ((2, 0), (-1, -1)),
    ((0,), (-1, -1, -2)),
    ((0,), (-2, -1, -1)),
    ((2, 3), (-2, 3)),
    ((0, 3), (-1, -2)),
    ((6,), (-1, 0)),
    ((6,), (4, -1)),
    ((6,), (2, -1)),
    ((6,), (0, 2)),
    ((), (-1,)),
    ((1,), ()),
]


@pytest.mark.parametrize("method", ["reshape", "view"])
def test_reshape_infers_the_size_as_aten(torch: Any, method: str) -> None:
    # ATen's infer_size: one -1, no other negative size, and a -1 among 0 elements is
    # ambiguous (gradviz said "shape '[-1, 0]' is invalid for input of size 0").
    def run(lib: Any, shape: tuple[int, ...], target: tuple[int, ...]) -> Any:
        try:
            return tuple(getattr(lib.zeros(shape), method)(target).shape)
        except RuntimeError as error:
            return str(error)

    for shape, target in RESHAPES:
        assert run(gradviz, shape, target) == run(torch, shape, target), (shape, target)


MISMATCHED: dict[str, Any] = {
    "rsub": lambda lib, a, b: lib.rsub(a, b),
    "rsub-alpha": lambda lib, a, b: lib.rsub(a, b, alpha=2),
    "sub-alpha": lambda lib, a, b: lib.sub(a, b, alpha=2),
    "xlogy": lambda lib, a, b: lib.xlogy(a, b),
    "mul": lambda lib, a, b: a * b,
    "masked_fill-tensor": lambda lib, a, b: a.masked_fill(b > 0, lib.tensor(2.0)),
    "masked_fill-number": lambda lib, a, b: a.masked_fill(b > 0, 2.0),
    "where": lambda lib, a, b: lib.where(b > 0, a, 0.0),
}


@pytest.mark.parametrize("name", list(MISMATCHED))
def test_shapes_that_do_not_broadcast_give_pytorch_error(torch: Any, name: str) -> None:
    # The size mismatch is reported for the operands in the order ATen combines them
    # (rsub: other - self; masked_fill: the mask, then self), never NumPy's ValueError.
    def run(lib: Any, a: tuple[int, ...], b: tuple[int, ...], grad: bool) -> Any:
        x = lib.ones(a, requires_grad=grad)
        try:
            return tuple(MISMATCHED[name](lib, x, lib.ones(b)).shape)
        except Exception as error:  # noqa: BLE001 - the error itself is compared
            return type(error).__name__, str(error)

    for a, b in [((2, 3), (4, 1, 2)), ((4, 1, 2), (2, 3)), ((2, 3), (2, 4)), ((3,), (2, 2))]:
        for grad in (False, True):
            assert run(gradviz, a, b, grad) == run(torch, a, b, grad), (a, b, grad)


def _index(lib: Any, values: Any) -> Any:
    return lib.tensor(values, dtype=lib.int64)


INDEX_CASES: dict[str, Any] = {
    "gather-empty-input": lambda lib, x: lib.gather(x((0, 3)), 0, _index(lib, [[0, 1]])),
    "gather-empty-index": lambda lib, x: lib.gather(x((2, 3)), 1, _index(lib, [[], []])),
    "gather-empty-dim": lambda lib, x: lib.gather(x((2, 0)), 1, _index(lib, [[0], [0]])),
    "gather-high": lambda lib, x: lib.gather(x((2, 3)), 1, _index(lib, [[3], [0]])),
    "gather-negative": lambda lib, x: lib.gather(x((2, 3)), 1, _index(lib, [[-1], [0]])),
    "gather-first-bad": lambda lib, x: lib.gather(x((2, 3)), 0, _index(lib, [[0, 4], [-1, 0]])),
    "gather-0d": lambda lib, x: lib.gather(x(()), 0, _index(lib, 0)),
    "gather-0d-1d-index": lambda lib, x: lib.gather(x(()), 0, _index(lib, [0, 0])),
    "gather-0d-high": lambda lib, x: lib.gather(x(()), 0, _index(lib, 1)),
    "gather-1d-0d-index": lambda lib, x: lib.gather(x((3,)), 0, _index(lib, 2)),
    "gather-size1": lambda lib, x: lib.gather(x((1,)), 0, _index(lib, [0, 0, 0])),
    "gather-ndim": lambda lib, x: lib.gather(x((2, 3)), 1, _index(lib, [0])),
    "scatter_add-empty-input": lambda lib, x: lib.scatter_add(
        x((0, 3)), 0, _index(lib, [[0]]), x((1, 1))
    ),
    "scatter_add-empty-index": lambda lib, x: lib.scatter_add(
        x((2, 3)), 1, _index(lib, [[], []]), x((2, 0))
    ),
    "scatter_add-high": lambda lib, x: lib.scatter_add(x((2, 3)), 1, _index(lib, [[3]]), x((1, 1))),
    "scatter_add-negative": lambda lib, x: lib.scatter_add(
        x((2, 3)), 1, _index(lib, [[-1]]), x((1, 1))
    ),
    "scatter_add-0d": lambda lib, x: lib.scatter_add(x(()), 0, _index(lib, 0), x(())),
    "scatter_add-0d-high": lambda lib, x: lib.scatter_add(x(()), 0, _index(lib, 1), x(())),
    "scatter_add-size1": lambda lib, x: lib.scatter_add(x((1,)), 0, _index(lib, [0, 0]), x((2,))),
    "scatter_add-small-src": lambda lib, x: lib.scatter_add(
        x((2, 3)), 1, _index(lib, [[0, 1]]), x((1, 1))
    ),
    "scatter-high": lambda lib, x: lib.scatter(
        x((2, 3)), 1, _index(lib, [[1, 4], [-1, 0]]), x((2, 2))
    ),
    "index_select-empty-input": lambda lib, x: lib.index_select(x((0, 3)), 0, _index(lib, [0])),
    "index_select-empty-input-dim1": lambda lib, x: lib.index_select(
        x((0, 3)), 1, _index(lib, [3])
    ),
    "index_select-empty-index": lambda lib, x: lib.index_select(x((2, 3)), 1, _index(lib, [])),
    "index_select-dim1-high": lambda lib, x: lib.index_select(x((2, 3)), 1, _index(lib, [0, 3])),
    "index_select-dim1-negative": lambda lib, x: lib.index_select(x((2, 3)), 1, _index(lib, [-1])),
    "index_select-dim0-high": lambda lib, x: lib.index_select(x((2, 3)), 0, _index(lib, [2])),
    "index_select-dim2-high": lambda lib, x: lib.index_select(x((2, 3, 4)), 2, _index(lib, [4])),
    "index_select-1d-high": lambda lib, x: lib.index_select(x((3,)), 0, _index(lib, [3])),
    "index_select-0d": lambda lib, x: lib.index_select(x(()), 0, _index(lib, [0])),
    "index_select-0d-0d-index": lambda lib, x: lib.index_select(x(()), 0, _index(lib, 0)),
    "index_select-0d-high": lambda lib, x: lib.index_select(x(()), 0, _index(lib, [1])),
    "index_select-0d-two": lambda lib, x: lib.index_select(x(()), 0, _index(lib, [0, 0])),
    "index_select-1d-0d-index": lambda lib, x: lib.index_select(x((3,)), 0, _index(lib, 1)),
    "index_select-size1-high": lambda lib, x: lib.index_select(x((2, 1)), 1, _index(lib, [1])),
    "index_select-float-index": lambda lib, x: lib.index_select(x((2, 3)), 1, lib.tensor([0.0])),
}


@pytest.mark.parametrize("name", list(INDEX_CASES))
def test_index_ops_on_edge_inputs_match_torch(torch: Any, name: str) -> None:
    # gather/scatter/index_select on empty, 0-d and size-1 dims: PyTorch's errors (not
    # NumPy's IndexError), 0-d operands counted as 1-D, and the gradient of the input.
    def run(lib: Any) -> Any:
        leaves: list[Any] = []

        def make(shape: tuple[int, ...]) -> Any:
            values = np.arange(1, math.prod(shape) + 1, dtype=np.float64).reshape(shape)
            leaves.append(lib.tensor(values, requires_grad=True))
            return leaves[-1]

        try:
            out = INDEX_CASES[name](lib, make)
        except Exception as error:  # noqa: BLE001 - the error itself is compared
            return type(error).__name__, str(error).split("\nException raised")[0]
        weight = lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)))
        (out * weight).sum().backward()
        grads = [None if t.grad is None else repr(t.grad.tolist()) for t in leaves]
        return tuple(out.shape), repr(out.tolist()), out.grad_fn.name(), grads

    assert run(gradviz) == run(torch)
