"""Differential tests against PyTorch 2.13: the same programs give the same results.

For every case of ``op_cases.py`` (every op in the registry), in float64 and float32:
output shapes, dtypes, values, ``requires_grad`` and node names, then the input
gradients for the same upstream gradient. Then dtype promotion (int with float,
float32 with float64, 0-d tensors, Python scalars) for the binary ops and the dtype rules
of the unary ops, and hypothesis-generated shapes and values for the elementwise and
reduction families, broadcasting included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz
from tests.engine.op_cases import (
    CASES,
    INPLACE_CASES,
    Case,
    flat_outputs,
    make_inputs,
    torch_namespace,
)

TORCH_CASES = [c for c in CASES + INPLACE_CASES if c.torch is True]
TOL = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5)}


def _node_name(t: Any) -> str | None:
    fn = t.grad_fn
    return None if fn is None else fn.name().rsplit("::", 1)[-1]


def graph_string(fn: Any) -> str:
    """Return ``Name#nr(child, ...)`` for the graph below ``fn`` (names and input slots)."""
    if fn is None:
        return "None"
    children = [
        f"{graph_string(f)}#{nr}" if f is not None else "None" for f, nr in fn.next_functions
    ]
    name = fn.name().rsplit("::", 1)[-1]
    return f"{name}({', '.join(children)})" if children else name


def _to_numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy() if hasattr(t, "cpu") else t.detach().numpy())


def assert_same_tensor(ours: Any, theirs: Any, dtype: str, what: str) -> None:
    """Compare shape, then dtype, then values (NaN equal to NaN)."""
    assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape"
    assert "torch." + ours.dtype.name == str(theirs.dtype), f"{what}: dtype"
    rtol, atol = TOL.get(dtype, (1e-4, 1e-5))
    np.testing.assert_allclose(
        _to_numpy(ours).astype(np.float64),
        _to_numpy(theirs).astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
        err_msg=what,
    )


def _run_case(case: Case, torch: Any, dtype: str) -> None:
    values = make_inputs(case)
    tdt = getattr(torch, dtype)
    gdt = getattr(gradviz, dtype)
    ours_in = [
        gradviz.tensor(v, dtype=gdt, requires_grad=a.grad)
        for v, a in zip(values, case.args, strict=False)
    ]
    theirs_in = [
        torch.tensor(v, dtype=tdt, requires_grad=a.grad)
        for v, a in zip(values, case.args, strict=False)
    ]
    ours = flat_outputs(case.fn(gradviz, *ours_in))
    theirs = flat_outputs(case.fn(torch_namespace(torch), *theirs_in))
    assert len(ours) == len(theirs), "number of outputs"
    for k, (o, t) in enumerate(zip(ours, theirs, strict=False)):
        assert_same_tensor(o, t, dtype, f"output {k}")
        assert o.requires_grad == t.requires_grad, f"output {k}: requires_grad"
        if case.node is True:
            assert graph_string(o.grad_fn) == graph_string(t.grad_fn), f"output {k}: graph"
    pairs = [(o, t) for o, t in zip(ours, theirs, strict=False) if t.requires_grad]
    wrt = [(o, t) for o, t in zip(ours_in, theirs_in, strict=False) if t.requires_grad]
    if not pairs or not wrt:
        return
    rng = np.random.default_rng(case.seed + 1)
    seeds = [rng.uniform(-1, 1, tuple(t.shape)) for _, t in pairs]
    ours_g = gradviz.autograd.grad(
        [o for o, _ in pairs],
        [o for o, _ in wrt],
        [gradviz.tensor(s, dtype=o.dtype) for s, (o, _) in zip(seeds, pairs, strict=False)],
        allow_unused=True,
    )
    theirs_g = torch.autograd.grad(
        [t for _, t in pairs],
        [t for _, t in wrt],
        [torch.tensor(s, dtype=t.dtype) for s, (_, t) in zip(seeds, pairs, strict=False)],
        allow_unused=True,
    )
    for k, (og, tg) in enumerate(zip(ours_g, theirs_g, strict=False)):
        if tg is None:
            assert og is None or not np.any(_to_numpy(og)), f"grad {k}: torch has None"
            continue
        assert og is not None, f"grad {k}: gradviz returned None"
        assert_same_tensor(og, tg, dtype, f"grad of input {k}")


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.id for c in TORCH_CASES])
def test_case_matches_torch(case: Case, torch: Any) -> None:
    for dtype in ("float64", "float32"):
        try:
            _run_case(case, torch, dtype)
        except AssertionError as err:
            raise AssertionError(f"[{dtype}] {err}") from err


# ---------------------------------------------------------------------------- dtypes

# Operands: (description, builder(lib) -> value). Builders make the same thing in both libraries.
OPERANDS: dict[str, Callable[[Any], Any]] = {
    "f32": lambda lib: lib.tensor([1.5, -2.0, 3.0], dtype=lib.float32),
    "f64": lambda lib: lib.tensor([0.5, 2.0, -1.0], dtype=lib.float64),
    "f16": lambda lib: lib.tensor([1.0, 2.0, 0.5], dtype=lib.float16),
    "i64": lambda lib: lib.tensor([3, -1, 2], dtype=lib.int64),
    "i32": lambda lib: lib.tensor([2, 5, -3], dtype=lib.int32),
    "u8": lambda lib: lib.tensor([1, 2, 3], dtype=lib.uint8),
    "bool": lambda lib: lib.tensor([True, False, True]),
    "f64-0d": lambda lib: lib.tensor(2.5, dtype=lib.float64),
    "f32-0d": lambda lib: lib.tensor(1.5, dtype=lib.float32),
    "i64-0d": lambda lib: lib.tensor(4, dtype=lib.int64),
    "int": lambda lib: 3,
    "float": lambda lib: 2.5,
    "bool-scalar": lambda lib: True,
}
TENSOR_OPERANDS = [k for k in OPERANDS if k not in ("int", "float", "bool-scalar")]
BINARY: dict[str, Callable[[Any, Any, Any], Any]] = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "truediv": lambda lib, a, b: a / b,
    "floordiv": lambda lib, a, b: a // b,
    "pow": lambda lib, a, b: a**b,
    "mod": lambda lib, a, b: a % b,
    "eq": lambda lib, a, b: a == b,
    "lt": lambda lib, a, b: a < b,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "where": lambda lib, a, b: lib.where(lib.tensor([True, False, True]), a, b),
}
PAIRS = [(a, b) for a in TENSOR_OPERANDS for b in OPERANDS]


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as err:  # noqa: BLE001 - the exception type is what we compare
        return "raised", err


def _compare_outcomes(ours: tuple[str, Any], theirs: tuple[str, Any]) -> None:
    if theirs[0] == "raised":
        assert ours[0] == "raised", f"torch raised {theirs[1]!r}; gradviz returned {ours[1]!r}"
        assert (
            isinstance(ours[1], type(theirs[1]))
            or type(theirs[1]).__name__ == type(ours[1]).__name__
        )
        return
    assert ours[0] == "ok", f"gradviz raised {ours[1]!r}; torch returned {theirs[1]!r}"
    assert_same_tensor(ours[1], theirs[1], "mixed", "result")


def _compare_binary(a: str, b: str, torch: Any, ops: list[str]) -> None:
    tns = torch_namespace(torch)
    for op in ops:
        fn = BINARY[op]
        ours = _outcome(lambda fn=fn: fn(gradviz, OPERANDS[a](gradviz), OPERANDS[b](gradviz)))
        theirs = _outcome(lambda fn=fn: fn(tns, OPERANDS[a](tns), OPERANDS[b](tns)))
        try:
            _compare_outcomes(ours, theirs)
        except AssertionError as err:
            raise AssertionError(f"{a} {op} {b}: {err}") from err


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_binary_dtype_promotion(a: str, b: str, torch: Any) -> None:
    _compare_binary(a, b, torch, sorted(BINARY))


@pytest.mark.parametrize("a", ["int", "float", "bool-scalar"])
@pytest.mark.parametrize("b", ["f32", "i64", "bool", "f64-0d"])
def test_reflected_scalar_dtype(a: str, b: str, torch: Any) -> None:
    _compare_binary(a, b, torch, [op for op in sorted(BINARY) if op != "maximum"])


UNARY_DTYPE_OPS = [
    "abs",
    "neg",
    "exp",
    "log",
    "sqrt",
    "sin",
    "tanh",
    "sigmoid",
    "relu",
    "sign",
    "floor",
    "round",
    "reciprocal",
    "square",
    "sum",
    "prod",
    "mean",
    "cumsum",
    "amax",
    "max",
    "argmax",
    "clone",
    "flip",
    "t",
    "logical_not",
    "softmax",
]
UNARY_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "cumsum": lambda lib, x: lib.cumsum(x, 0),
    "amax": lambda lib, x: lib.amax(x, 0),
    "flip": lambda lib, x: lib.flip(x, (0,)),
    "softmax": lambda lib, x: lib.softmax(x, 0),
}


@pytest.mark.parametrize("op", UNARY_DTYPE_OPS)
def test_unary_dtype(op: str, torch: Any) -> None:
    tns = torch_namespace(torch)
    call = UNARY_CALLS.get(op, lambda lib, x: getattr(lib, op)(x))
    for operand in ["i64", "i32", "bool", "f32", "f64", "u8", "i64-0d"]:
        make = OPERANDS[operand]
        ours = _outcome(lambda make=make: call(gradviz, make(gradviz)))
        theirs = _outcome(lambda make=make: call(tns, make(tns)))
        try:
            _compare_outcomes(ours, theirs)
        except AssertionError as err:
            raise AssertionError(f"{op}({operand}): {err}") from err


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([1, 2]),
        lambda lib: lib.tensor([1.0, 2]),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.tensor([[1, 2], [3, 4]], dtype=lib.float64),
        lambda lib: lib.tensor(3.5),
        lambda lib: lib.tensor([True, 2]),
        lambda lib: lib.zeros(2, 3),
        lambda lib: lib.ones(2, dtype=lib.int32),
        lambda lib: lib.full((2,), 7),
        lambda lib: lib.full((2,), 7.0),
        lambda lib: lib.full((2,), True),
        lambda lib: lib.arange(5),
        lambda lib: lib.arange(0, 1, 0.25),
        lambda lib: lib.arange(1.0, 4.0),
        lambda lib: lib.linspace(0, 1, 5),
        lambda lib: lib.eye(3),
        lambda lib: lib.eye(2, 3, dtype=lib.int64),
        lambda lib: lib.zeros_like(lib.tensor([1, 2])),
        lambda lib: lib.ones_like(lib.tensor([1.0, 2.0], dtype=lib.float64)),
        lambda lib: lib.full_like(lib.tensor([1, 2]), 2.7),
        lambda lib: lib.tensor([1, 2]).new_ones(3),
        lambda lib: lib.tensor([1.0]).new_tensor([1, 2]),
    ],
)
def test_creation_matches_torch(make: Callable[[Any], Any], torch: Any) -> None:
    assert_same_tensor(make(gradviz), make(torch), "float64", "created tensor")


# ---------------------------------------------------------------------------- hypothesis

_ELEMENTWISE: dict[str, Callable[[Any, Any, Any], Any]] = {
    "div": lambda lib, a, b: a / (b * b + 0.5),
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "where": lambda lib, a, b: lib.where(a > b, a * 2, b),
    "pow": lambda lib, a, b: (a * a + 0.5) ** b,
    "mix": lambda lib, a, b: lib.tanh(a) * lib.sigmoid(b) + lib.exp(-b * b),
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
}

# The torch fixture only hands over the module, so sharing it between examples is safe.
# NOTE: no explain phase: on failure it imports libcst, whose DeprecationWarning (from
# mypy_extensions) the suite's filterwarnings=error turns into an INTERNALERROR.
torch_settings = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
# Zero, or magnitudes in [1e-6, 3]: squares of 1e-283 underflow differently per library.
_values = st.one_of(st.just(0.0), st.floats(1e-6, 3.0), st.floats(-3.0, -1e-6))


def _grads_match(torch: Any, fn: Callable[..., Any], arrays: list[np.ndarray]) -> None:
    ours_in = [gradviz.tensor(a, requires_grad=True, dtype=gradviz.float64) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True, dtype=torch.float64) for a in arrays]
    ours = fn(gradviz, *ours_in)
    theirs = fn(torch_namespace(torch), *theirs_in)
    assert_same_tensor(ours, theirs, "float64", "forward")
    seed = np.linspace(-1, 1, max(ours.numel(), 1)).reshape(tuple(ours.shape))
    ours.backward(gradviz.tensor(seed, dtype=gradviz.float64))
    theirs.backward(torch.tensor(seed, dtype=torch.float64))
    for k, (o, t) in enumerate(zip(ours_in, theirs_in, strict=False)):
        assert o.grad is not None and t.grad is not None
        assert_same_tensor(o.grad, t.grad, "float64", f"grad {k}")


@torch_settings
@given(
    data=st.data(),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    op=st.sampled_from(sorted(_ELEMENTWISE)),
)
def test_elementwise_broadcasting_matches_torch(
    data: Any, shapes: Any, op: str, torch: Any
) -> None:
    a = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=_values))
    b = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=_values))
    _grads_match(torch, _ELEMENTWISE[op], [a, b])


_UNARY_FAMILY: dict[str, Callable[[Any, Any], Any]] = {
    "exp": lambda lib, a: lib.exp(a),
    "tanh": lambda lib, a: lib.tanh(a),
    "sigmoid": lambda lib, a: lib.sigmoid(a),
    "sin": lambda lib, a: lib.sin(a),
    "abs": lambda lib, a: lib.abs(a),
    "relu": lambda lib, a: lib.relu(a),
    "log": lambda lib, a: lib.log(a * a + 0.1),
    "sqrt": lambda lib, a: lib.sqrt(a * a + 0.1),
    "clamp": lambda lib, a: lib.clamp(a, -1.0, 1.0),
    "gelu": lambda lib, a: lib.gelu(a),
    "softplus": lambda lib, a: lib.softplus(a),
    "erf": lambda lib, a: lib.erf(a),
}


@torch_settings
@given(
    x=hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=_values
    ),
    op=st.sampled_from(sorted(_UNARY_FAMILY)),
)
def test_unary_family_matches_torch(x: np.ndarray, op: str, torch: Any) -> None:
    _grads_match(torch, _UNARY_FAMILY[op], [x])


@st.composite
def _reduction_call(draw: Any) -> tuple[np.ndarray, str, Any, bool]:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = draw(hnp.arrays(np.float64, shape, elements=_values, unique=True))
    op = draw(
        st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "std", "var", "norm", "prod"])
    )
    ndim = len(shape)
    dims = draw(
        st.lists(
            st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim, unique_by=lambda d: d % ndim
        )
    )
    keepdim = draw(st.booleans())
    return x, op, tuple(dims), keepdim


@torch_settings
@given(call=_reduction_call())
def test_reduction_family_matches_torch(
    call: tuple[np.ndarray, str, Any, bool], torch: Any
) -> None:
    x, op, dims, keepdim = call
    if op in ("std", "var") and int(np.prod([x.shape[d] for d in dims])) < 2:
        return  # torch gives NaN with a warning for one-element samples
    if op == "prod":
        dims = dims[:1]

    def fn(lib: Any, a: Any) -> Any:
        if op == "norm":
            return lib.norm(a, 2, dim=dims, keepdim=keepdim)
        if op == "prod":
            return lib.prod(a, dims[0], keepdim=keepdim)
        return getattr(lib, op)(a, dims, keepdim=keepdim)

    _grads_match(torch, fn, [x])


@torch_settings
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=_values,
        unique=True,
    ),
    data=st.data(),
)
def test_max_min_dim_match_torch(x: np.ndarray, data: Any, torch: Any) -> None:
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    kind = data.draw(st.sampled_from(["max", "min"]))
    ours = getattr(gradviz.tensor(x), kind)(dim, keepdim)
    theirs = getattr(torch.tensor(x), kind)(dim, keepdim)
    assert_same_tensor(ours.values, theirs.values, "float64", "values")
    assert_same_tensor(ours.indices, theirs.indices, "float64", "indices")
