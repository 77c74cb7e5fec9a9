"""One table of op calls, shared by the gradient checks and the PyTorch comparisons.

Each :class:`Case` is a small program ``fn(lib, *inputs)`` written against a namespace ``lib``
that is either ``gradviz`` or (through :data:`TORCH_NAMES`) ``torch``, so the very same call
runs on both. Inputs are described by :class:`Arg` (shape, sampling domain, or fixed
values) and are drawn from a generator seeded by the case's id, so every run sees the
same numbers.

``OPS_WITHOUT_GRADIENT`` lists the registry names whose outputs never require grad
(comparisons, logical ops, argmax, ...). Every other name in the op registry (functions
and Tensor methods) must have at least one case: ``test_gradcheck_ops`` fails otherwise,
so a new op cannot skip the checks.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Arg",
    "Case",
    "CASES",
    "INPLACE_CASES",
    "OPS_WITHOUT_GRADIENT",
    "OPS_OUTSIDE_AUTOGRAD",
    "NON_DIFFERENTIABLE_CALLS",
    "make_inputs",
    "flat_outputs",
    "torch_namespace",
]


@dataclass(frozen=True)
class Arg:
    """One input of a case: a random tensor of ``shape`` in ``[lo, hi]``, or fixed ``values``.

    Attributes:
        shape: the tensor's shape (ignored when ``values`` is given).
        lo: lower end of the sampling interval.
        hi: upper end of the sampling interval.
        values: fixed values (nested lists), for edge points such as zeros in ``prod``.
        grad: whether the input requires grad.
    """

    shape: tuple[int, ...] = ()
    lo: float = -2.0
    hi: float = 2.0
    values: Any = None
    grad: bool = True


def A(*shape: int, lo: float = -2.0, hi: float = 2.0, grad: bool = True) -> Arg:  # noqa: N802 - table shorthand
    """Return a random input of ``shape`` sampled from ``[lo, hi]``."""
    return Arg(tuple(shape), lo, hi, None, grad)


def P(*shape: int, grad: bool = True) -> Arg:  # noqa: N802 - table shorthand
    """Return a random input of ``shape`` sampled from ``[0.5, 2]`` (log, sqrt, ...)."""
    return Arg(tuple(shape), 0.5, 2.0, None, grad)


def V(values: Any, grad: bool = True) -> Arg:  # noqa: N802 - table shorthand
    """Return an input holding exactly ``values``."""
    return Arg(np.asarray(values).shape, 0.0, 0.0, values, grad)


@dataclass(frozen=True)
class Case:
    """A call of one op, runnable on gradviz and on torch.

    Attributes:
        op: the registry name (function or Tensor method) that the case covers.
        fn: ``fn(lib, *inputs)`` returning a tensor or a tuple of tensors.
        args: the inputs.
        label: what is special about this call (part of the test id).
        gradgrad: also check second derivatives.
        torch: True to compare with torch; a string gives the reason not to.
        node: True to compare the output's node name with torch's; a string gives the
            reason not to.
        check: keyword arguments for gradcheck (looser tolerances for lossy casts).
    """

    op: str
    fn: Callable[..., Any]
    args: tuple[Arg, ...]
    label: str = ""
    gradgrad: bool = False
    torch: Any = True
    node: Any = True
    check: Any = None

    @property
    def id(self) -> str:
        """The test id: ``op`` plus the label."""
        return f"{self.op}-{self.label}" if self.label else self.op

    @property
    def seed(self) -> int:
        """A seed derived from the id, stable across runs and Python versions."""
        return zlib.crc32(self.id.encode())


def make_inputs(case: Case, seed_offset: int = 0) -> list[np.ndarray]:
    """Return the case's input values as float64 NumPy arrays."""
    rng = np.random.default_rng(case.seed + seed_offset)
    out = []
    for arg in case.args:
        if arg.values is not None:
            out.append(np.asarray(arg.values, dtype=np.float64))
        else:
            out.append(rng.uniform(arg.lo, arg.hi, arg.shape).astype(np.float64))
    return out


def flat_outputs(result: Any) -> list[Any]:
    """Return the tensors of a case's result as a flat list (tuples and named tuples)."""
    if isinstance(result, (tuple, list)):
        items: list[Any] = []
        for r in result:
            items.extend(flat_outputs(r))
        return items
    return [result]


class _TorchNames:
    """``torch`` plus the gradviz top-level names that torch keeps elsewhere."""

    def __init__(self, torch: Any) -> None:
        self._torch = torch
        functional = torch.nn.functional
        self._extra = {
            "elu": functional.elu,
            "gelu": functional.gelu,
            "leaky_relu": functional.leaky_relu,
            "silu": functional.silu,
            "softplus": functional.softplus,
            "expand": lambda x, *size: x.expand(*size),
            "view": lambda x, *size: x.view(*size),
            "rsub": torch.rsub,
        }

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__["_extra"]
        if name in extra:
            return extra[name]
        return getattr(self.__dict__["_torch"], name)


def torch_namespace(torch: Any) -> Any:
    """Return the namespace that runs the cases on torch."""
    return _TorchNames(torch)


def _idx(lib: Any, values: Any) -> Any:
    return lib.tensor(values, dtype=lib.int64)


def _mask(lib: Any, values: Any) -> Any:
    return lib.tensor(values, dtype=lib.bool)


# ---------------------------------------------------------------------------- the table

_UNARY_ANY = [
    "abs",
    "absolute",
    "neg",
    "negative",
    "exp",
    "expm1",
    "sin",
    "cos",
    "tan",
    "tanh",
    "atan",
    "sinh",
    "cosh",
    "sigmoid",
    "erf",
    "square",
    "relu",
    "sign",
    "floor",
    "ceil",
    "round",
    "trunc",
]
_UNARY_POSITIVE = ["log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal"]
_UNARY_UNIT = ["asin", "acos"]
_SECOND_ORDER_UNARY = {
    "exp",
    "sin",
    "tanh",
    "sigmoid",
    "erf",
    "log",
    "sqrt",
    "rsqrt",
    "abs",
    "atan",
}

CASES: list[Case] = []


def _add(*cases: Case) -> None:
    CASES.extend(cases)


def _unary(name: str, arg: Arg) -> None:
    def call(lib: Any, x: Any) -> Any:
        return getattr(lib, name)(x)

    def method(lib: Any, x: Any) -> Any:
        return getattr(x, name)()

    gg = name in _SECOND_ORDER_UNARY
    _add(
        Case(name, call, (arg,), "2x3", gradgrad=gg),
        Case(name, call, (Arg((), arg.lo, arg.hi),), "0d"),
        Case(name, method, (Arg((4,), arg.lo, arg.hi),), "method"),
    )


for _name in _UNARY_ANY:
    _unary(_name, A(2, 3))
for _name in _UNARY_POSITIVE:
    _unary(_name, P(2, 3))
for _name in _UNARY_UNIT:
    _unary(_name, A(2, 3, lo=-0.9, hi=0.9))

# Binary arithmetic: tensors on both sides, broadcasting, 0-d, Python scalars, reflected.
_add(
    Case("add", lambda lib, a, b: lib.add(a, b), (A(2, 3), A(3)), "broadcast", gradgrad=True),
    Case("add", lambda lib, a, b: lib.add(a, b, alpha=2.5), (A(2, 3), A(2, 1)), "alpha"),
    Case("add", lambda lib, a: lib.add(a, 2), (A(3),), "scalar"),
    Case("add", lambda lib, a: 2.5 + a, (A(3),), "radd"),
    Case("add", lambda lib, a, b: a + b, (A(), A(2, 2)), "0d-plus-2d"),
    Case("add", lambda lib, a, b: a + b, (A(4, 1, 3), A(2, 1)), "both-broadcast"),
    Case("sub", lambda lib, a, b: lib.sub(a, b), (A(2, 3), A(3)), "broadcast", gradgrad=True),
    Case("sub", lambda lib, a, b: lib.sub(a, b, alpha=3), (A(3), A(3)), "alpha"),
    Case("sub", lambda lib, a: a - 1.5, (A(3),), "scalar"),
    Case("subtract", lambda lib, a, b: lib.subtract(a, b), (A(3), A(3))),
    Case("rsub", lambda lib, a: 2 - a, (A(3),), "reflected"),
    Case("rsub", lambda lib, a, b: lib.rsub(a, b), (A(2, 3), A(3)), "tensor"),
    Case("rsub", lambda lib, a: lib.rsub(a, 2.0, alpha=2), (A(3),), "alpha"),
    Case("mul", lambda lib, a, b: lib.mul(a, b), (A(2, 3), A(3)), "broadcast", gradgrad=True),
    Case("mul", lambda lib, a: a * 3, (A(2, 2),), "scalar"),
    Case("mul", lambda lib, a: 3 * a, (A(2, 2),), "rmul"),
    Case("mul", lambda lib, a: a * a, (A(3),), "same-input", gradgrad=True),
    Case("mul", lambda lib, a, b: a * b, (A(3), A(3, grad=False)), "one-constant"),
    Case("multiply", lambda lib, a, b: lib.multiply(a, b), (A(3), A(3))),
    Case("div", lambda lib, a, b: lib.div(a, b), (A(2, 3), P(3)), "broadcast", gradgrad=True),
    Case("div", lambda lib, a: a / 4, (A(3),), "scalar"),
    Case("div", lambda lib, a: 3 / a, (P(3),), "reflected"),
    Case("div", lambda lib, a, b: lib.div(a, b, rounding_mode="floor"), (A(3), P(3)), "floor"),
    Case("div", lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"), (A(3), P(3)), "trunc"),
    Case("divide", lambda lib, a, b: lib.divide(a, b), (A(3), P(3))),
    Case("true_divide", lambda lib, a, b: lib.true_divide(a, b), (A(3), P(3))),
    Case(
        "floor_divide",
        lambda lib, a, b: lib.floor_divide(a, b),
        (A(3), P(3)),
        torch="torch does not implement floor_divide's derivative",
    ),
    Case("remainder", lambda lib, a, b: lib.remainder(a, b), (A(2, 3), P(3)), "tensor"),
    Case("remainder", lambda lib, a: lib.remainder(a, 1.5), (A(4),), "scalar"),
    Case("remainder", lambda lib, a: a % 0.7, (A(4),), "operator"),
    Case("fmod", lambda lib, a, b: lib.fmod(a, b), (A(2, 3), P(3)), "tensor"),
    Case("fmod", lambda lib, a: lib.fmod(a, 1.5), (A(4),), "scalar"),
    Case("pow", lambda lib, a: lib.pow(a, 2), (A(3),), "square", gradgrad=True),
    Case("pow", lambda lib, a: a**3, (A(3),), "cube", gradgrad=True),
    Case("pow", lambda lib, a: a**0.5, (P(3),), "sqrt"),
    Case("pow", lambda lib, a: a**-1.5, (P(3),), "negative"),
    Case("pow", lambda lib, a: a**0, (A(3),), "zero"),
    Case("pow", lambda lib, a, b: lib.pow(a, b), (P(2, 3), A(3)), "tensor", gradgrad=True),
    Case("pow", lambda lib, a: 2**a, (A(3),), "scalar-base", gradgrad=True),
    Case("pow", lambda lib, a: lib.pow(1.5, a), (A(3),), "function-scalar-base"),
    Case("maximum", lambda lib, a, b: lib.maximum(a, b), (A(2, 3), A(3)), gradgrad=True),
    Case("minimum", lambda lib, a, b: lib.minimum(a, b), (A(2, 3), A(3))),
    Case("max", lambda lib, a, b: lib.max(a, b), (A(3), A(3)), "binary"),
    Case("min", lambda lib, a, b: lib.min(a, b), (A(3), A(3)), "binary"),
    Case("matmul", lambda lib, a, b: a @ b, (A(2, 3), A(3, 4)), "operator", gradgrad=True),
)

# Activations and friends.
_add(
    Case("relu", lambda lib, a: lib.relu(a), (A(5),), "1d", gradgrad=True),
    Case("leaky_relu", lambda lib, a: lib.leaky_relu(a), (A(2, 3),)),
    Case("leaky_relu", lambda lib, a: lib.leaky_relu(a, 0.2), (A(4),), "slope", gradgrad=True),
    Case("elu", lambda lib, a: lib.elu(a), (A(2, 3),), gradgrad=True),
    Case("elu", lambda lib, a: lib.elu(a, alpha=0.5), (A(4),), "alpha"),
    Case("gelu", lambda lib, a: lib.gelu(a), (A(2, 3),), gradgrad=True),
    Case("gelu", lambda lib, a: lib.gelu(a, approximate="tanh"), (A(4),), "tanh", gradgrad=True),
    Case("silu", lambda lib, a: lib.silu(a), (A(2, 3),), gradgrad=True),
    Case("softplus", lambda lib, a: lib.softplus(a), (A(2, 3),), gradgrad=True),
    Case("softplus", lambda lib, a: lib.softplus(a, beta=2.0, threshold=1.0), (A(6),), "threshold"),
)

# clamp / where / masks.
_add(
    Case("clamp", lambda lib, a: lib.clamp(a, min=-0.5), (A(6),), "min"),
    Case("clamp", lambda lib, a: lib.clamp(a, max=0.5), (A(6),), "max"),
    Case("clamp", lambda lib, a: lib.clamp(a, -0.5, 0.5), (A(2, 3),), "both", gradgrad=True),
    Case("clamp", lambda lib, a, lo: lib.clamp(a, min=lo), (A(2, 3), A(3)), "tensor-min"),
    Case(
        "clamp",
        lambda lib, a, lo, hi: lib.clamp(a, lo, hi),
        (A(2, 3), A(3, hi=0.0), A(3, lo=0.0)),
        "tensors",
    ),
    Case("clamp", lambda lib, a: a.clamp(min=0.1), (A(4),), "method"),
    Case("clip", lambda lib, a: lib.clip(a, -1, 1), (A(4),)),
    Case("clamp_min", lambda lib, a: lib.clamp_min(a, 0.25), (A(2, 3),), gradgrad=True),
    Case("xlogy", lambda lib, a, b: lib.xlogy(a, b), (A(2, 3), P(3)), gradgrad=True),
    Case("xlogy", lambda lib, a: lib.xlogy(a, 3.0), (A(2, 3),), "number_other", gradgrad=True),
    Case("xlogy", lambda lib, b: lib.xlogy(2.0, b), (P(3),), "number_self", gradgrad=True),
    Case("xlogy", lambda lib, b: lib.xlogy(0.0, b), (P(3),), "zero_self"),
    Case("where", lambda lib, a, b: lib.where(a > 0, a, b), (A(2, 3), A(3)), gradgrad=True),
    Case("where", lambda lib, a: lib.where(a > 0, a, 0.0), (A(4),), "scalar"),
    Case("where", lambda lib, a, b: a.where(b > 0, b), (A(2, 3), A(2, 3)), "method"),
    Case("masked_fill", lambda lib, a: lib.masked_fill(a, a > 0, 0.5), (A(2, 3),), gradgrad=True),
    Case(
        "masked_fill",
        lambda lib, a, v: a.masked_fill(_mask(lib, [True, False, True]), v),
        (A(2, 3), A()),
        "tensor-value",
    ),
)

# Reductions.
_add(
    Case("sum", lambda lib, a: lib.sum(a), (A(2, 3),), "all", gradgrad=True),
    Case("sum", lambda lib, a: a.sum(1), (A(2, 3),), "dim"),
    Case(
        "sum",
        lambda lib, a: a.sum((0, 2), keepdim=True),
        (A(2, 3, 2),),
        "dims-keepdim",
        gradgrad=True,
    ),
    Case("sum", lambda lib, a: a.sum(-1), (A(3),), "negative-dim"),
    Case("sum", lambda lib, a: a.sum(), (A(),), "0d"),
    Case("sum_to_size", lambda lib, a: a.sum_to_size(3, 1), (A(2, 3, 4),)),
    Case("mean", lambda lib, a: lib.mean(a), (A(2, 3),), "all", gradgrad=True),
    Case("mean", lambda lib, a: a.mean(0, keepdim=True), (A(2, 3),), "dim-keepdim"),
    Case("mean", lambda lib, a: a.mean((0, 1)), (A(2, 3, 2),), "dims"),
    Case("prod", lambda lib, a: lib.prod(a), (A(2, 3, lo=0.5, hi=1.5),), "all", gradgrad=True),
    Case("prod", lambda lib, a: lib.prod(a), (V([[1.5, 0.0], [2.0, -1.0]]),), "one-zero"),
    Case("prod", lambda lib, a: lib.prod(a), (V([0.0, 2.0, 0.0]),), "two-zeros"),
    Case("prod", lambda lib, a: a.prod(1), (A(2, 3),), "dim", gradgrad=True),
    Case(
        "prod",
        lambda lib, a: a.prod(1),
        (V([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, 0.5]]),),
        "dim-zeros",
    ),
    Case(
        "prod",
        lambda lib, a: lib.prod(a),
        (V([[1.5, 0.0], [2.0, -1.0]]),),
        "one-zero-gg",
        gradgrad=True,
    ),
    Case("prod", lambda lib, a: a.prod(0, keepdim=True), (A(3, 2),), "dim-keepdim"),
    Case("max", lambda lib, a: lib.max(a), (A(2, 3),), "all", gradgrad=True),
    Case("max", lambda lib, a: lib.max(a), (V([1.0, 3.0, 3.0]),), "ties"),
    Case("max", lambda lib, a: lib.max(a, 1), (A(2, 3),), "dim", gradgrad=True),
    Case("max", lambda lib, a: a.max(0, keepdim=True), (A(3, 2),), "dim-keepdim"),
    Case("min", lambda lib, a: lib.min(a), (A(2, 3),), "all"),
    Case("min", lambda lib, a: lib.min(a, dim=-1), (A(2, 3),), "dim"),
    Case("amax", lambda lib, a: lib.amax(a, 1), (A(2, 3),), "dim", gradgrad=True),
    Case("amax", lambda lib, a: lib.amax(a, (0, 1)), (A(2, 3, 2),), "dims"),
    Case("amax", lambda lib, a: a.amax(0), (V([[1.0, 2.0], [1.0, 0.5]]),), "ties"),
    Case("amin", lambda lib, a: lib.amin(a, 0, keepdim=True), (A(2, 3),), "dim"),
    Case("var", lambda lib, a: lib.var(a), (A(2, 3),), "all", gradgrad=True),
    Case("var", lambda lib, a: a.var(1, keepdim=True), (A(2, 3),), "dim"),
    Case("var", lambda lib, a: a.var(0, correction=0), (A(3, 2),), "correction"),
    Case("var", lambda lib, a: a.var(0, unbiased=False), (A(3, 2),), "unbiased"),
    Case("std", lambda lib, a: lib.std(a), (A(2, 3),), "all", gradgrad=True),
    Case("std", lambda lib, a: a.std((0, 1)), (A(2, 3, 2),), "dims"),
    Case("std", lambda lib, a: a.std(1, correction=0, keepdim=True), (A(2, 3),), "correction"),
    Case("norm", lambda lib, a: lib.norm(a), (A(2, 3),), "fro", gradgrad=True),
    Case("norm", lambda lib, a: a.norm(1), (A(4),), "p1"),
    Case("norm", lambda lib, a: a.norm(3, dim=1), (A(2, 3),), "p3-dim", gradgrad=True),
    Case("norm", lambda lib, a: a.norm(float("inf")), (A(4),), "inf"),
    Case("norm", lambda lib, a: a.norm(dim=0, keepdim=True), (A(3, 2),), "dim-keepdim"),
    Case("logsumexp", lambda lib, a: lib.logsumexp(a, 1), (A(2, 3),), gradgrad=True),
    Case("logsumexp", lambda lib, a: a.logsumexp((0, 1), keepdim=True), (A(2, 3),), "dims"),
    Case("softmax", lambda lib, a: lib.softmax(a, 1), (A(2, 3),), gradgrad=True),
    Case("softmax", lambda lib, a: a.softmax(0), (A(4),), "1d"),
    Case("log_softmax", lambda lib, a: lib.log_softmax(a, -1), (A(2, 3),), gradgrad=True),
    Case("log_softmax", lambda lib, a: a.log_softmax(0), (A(3, 2),), "dim0"),
    Case("cumsum", lambda lib, a: lib.cumsum(a, 1), (A(2, 3),), gradgrad=True),
    Case("cumsum", lambda lib, a: a.cumsum(0), (A(4),), "1d"),
)

# Linear algebra.
_add(
    Case("mm", lambda lib, a, b: lib.mm(a, b), (A(2, 3), A(3, 4)), gradgrad=True),
    Case("bmm", lambda lib, a, b: lib.bmm(a, b), (A(2, 2, 3), A(2, 3, 2)), gradgrad=True),
    Case("mv", lambda lib, a, b: lib.mv(a, b), (A(2, 3), A(3)), gradgrad=True),
    Case("dot", lambda lib, a, b: lib.dot(a, b), (A(3), A(3)), gradgrad=True),
    Case(
        "inner",
        lambda lib, a, b: lib.inner(a, b),
        (A(3), A(3)),
        node="torch.inner is a view of a mm",
    ),
    Case("outer", lambda lib, a, b: lib.outer(a, b), (A(3), A(2)), gradgrad=True),
    Case("ger", lambda lib, a, b: lib.ger(a, b), (A(3), A(2))),
    Case(
        "addmm",
        lambda lib, c, a, b: lib.addmm(c, a, b),
        (A(3), A(2, 3), A(3, 3)),
        "bias-1d",
        gradgrad=True,
    ),
    Case(
        "addmm",
        lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0),
        (A(2, 3), A(2, 2), A(2, 3)),
        "alpha-beta",
    ),
    Case("matmul", lambda lib, a, b: lib.matmul(a, b), (A(3), A(3)), "1d-1d"),
    Case("matmul", lambda lib, a, b: lib.matmul(a, b), (A(2, 3), A(3)), "2d-1d"),
    Case("matmul", lambda lib, a, b: lib.matmul(a, b), (A(3), A(3, 2)), "1d-2d", gradgrad=True),
    Case("matmul", lambda lib, a, b: lib.matmul(a, b), (A(2, 3), A(3, 2)), "2d-2d"),
    Case(
        "matmul",
        lambda lib, a, b: lib.matmul(a, b),
        (A(2, 2, 3), A(2, 3, 2)),
        "3d-3d",
        gradgrad=True,
    ),
    Case(
        "matmul", lambda lib, a, b: lib.matmul(a, b), (A(2, 2, 3), A(3, 2)), "3d-2d", gradgrad=True
    ),
    Case("matmul", lambda lib, a, b: lib.matmul(a, b), (A(2, 2, 3), A(3)), "3d-1d"),
    Case("matmul", lambda lib, a, b: lib.matmul(a, b), (A(3), A(2, 3, 2)), "1d-3d"),
    Case("matmul", lambda lib, a, b: lib.matmul(a, b), (A(2, 3), A(2, 3, 2)), "2d-3d"),
    Case(
        "matmul", lambda lib, a, b: lib.matmul(a, b), (A(2, 1, 2, 3), A(3, 3, 2)), "broadcast-batch"
    ),
    Case(
        "matmul",
        lambda lib, a, v: a.transpose(1, 2) @ v,
        (A(2, 4, 3), A(4, grad=False)),
        "strided-3d-1d",
    ),
    Case(
        "matmul", lambda lib, a, v: a.transpose(1, 2) @ v, (A(2, 4, 3), A(4)), "strided-3d-1d-grad"
    ),
    Case("matmul", lambda lib, w, b: w @ b, (A(3, grad=False), A(2, 3, 4)), "const-1d-3d"),
    Case("matmul", lambda lib, w, b: w @ b, (A(3), A(2, 3, 4, grad=False)), "1d-const-3d"),
    Case("matmul", lambda lib, a, b: a @ b, (A(2, 3, grad=False), A(5, 3, 4)), "const-2d-3d"),
    Case("matmul", lambda lib, a, b: a @ b, (A(5, 2, 3), A(3, 4, grad=False)), "3d-const-2d"),
    Case(
        "matmul",
        lambda lib, a, b: a.transpose(0, 1) @ b,
        (A(5, 2, 3), A(3, 4, grad=False)),
        "strided-3d-2d",
    ),
    Case("matmul", lambda lib, a, b: a @ b, (A(1, 2, 3), A(4, 3, 2)), "batch-of-one"),
    Case(
        "matmul", lambda lib, a, b: a @ b, (A(4, 2, 3, grad=False), A(1, 3, 2)), "batch-of-one-rhs"
    ),
    Case("matmul", lambda lib, a, b: a @ b, (A(2, 2, 2, 3), A(2, 2, 3, 2)), "4d-4d"),
    Case("matmul", lambda lib, a, b: a @ b, (A(3), A(2, 2, 3, 2)), "1d-4d"),
)

# Shapes and views.
_add(
    Case("reshape", lambda lib, a: lib.reshape(a, (3, 2)), (A(2, 3),), gradgrad=True),
    Case("reshape", lambda lib, a: a.reshape(-1), (A(2, 3),), "infer"),
    Case("reshape", lambda lib, a: a.t().reshape(6), (A(2, 3),), "copy"),
    Case("reshape", lambda lib, a: a.reshape(()), (A(1),), "to-0d"),
    Case("reshape_as", lambda lib, a, b: a.reshape_as(b), (A(2, 3), A(3, 2, grad=False))),
    Case("view", lambda lib, a: lib.view(a, 3, 2), (A(2, 3),)),
    Case("view", lambda lib, a: a.view(-1, 2), (A(2, 3),), "method"),
    Case("view_as", lambda lib, a, b: a.view_as(b), (A(2, 3), A(6, grad=False))),
    Case("flatten", lambda lib, a: lib.flatten(a), (A(2, 3, 2),), gradgrad=True),
    Case("flatten", lambda lib, a: a.flatten(1), (A(2, 3, 2),), "start"),
    Case("unflatten", lambda lib, a: lib.unflatten(a, 1, (2, 3)), (A(2, 6),)),
    Case("permute", lambda lib, a: lib.permute(a, (2, 0, 1)), (A(2, 3, 4),), gradgrad=True),
    Case("permute", lambda lib, a: a.permute(1, 0), (A(2, 3),), "varargs"),
    Case("transpose", lambda lib, a: lib.transpose(a, 0, 2), (A(2, 3, 4),), gradgrad=True),
    Case("transpose", lambda lib, a: a.transpose(-1, -2), (A(2, 3),), "negative"),
    Case("swapaxes", lambda lib, a: lib.swapaxes(a, 0, 1), (A(2, 3),)),
    Case("swapdims", lambda lib, a: lib.swapdims(a, 0, 1), (A(2, 3),)),
    Case("t", lambda lib, a: lib.t(a), (A(2, 3),), gradgrad=True),
    Case("t", lambda lib, a: a.t(), (A(3),), "1d"),
    Case("squeeze", lambda lib, a: lib.squeeze(a), (A(2, 1, 3, 1),), "all"),
    Case("squeeze", lambda lib, a: a.squeeze(1), (A(2, 1, 3),), "dim"),
    Case("squeeze", lambda lib, a: a.squeeze(0), (A(2, 3),), "dim-not-1"),
    Case("squeeze", lambda lib, a: a.squeeze((1, 3)), (A(2, 1, 3, 1),), "dims"),
    Case("unsqueeze", lambda lib, a: lib.unsqueeze(a, 1), (A(2, 3),), gradgrad=True),
    Case("unsqueeze", lambda lib, a: a.unsqueeze(-1), (A(3),), "negative"),
    Case("unsqueeze", lambda lib, a: a.unsqueeze(0), (A(),), "0d"),
    Case("expand", lambda lib, a: lib.expand(a, 2, 3), (A(3),), gradgrad=True),
    Case("expand", lambda lib, a: a.expand(2, -1, 3), (A(4, 1),), "minus-one"),
    Case("expand_as", lambda lib, a, b: a.expand_as(b), (A(3, 1), A(3, 4, grad=False))),
    Case("broadcast_to", lambda lib, a: lib.broadcast_to(a, (2, 3)), (A(1, 3),)),
    Case("repeat", lambda lib, a: a.repeat(2, 3), (A(2, 3),), gradgrad=True),
    Case("repeat", lambda lib, a: a.repeat(2, 1, 2), (A(3),), "more-dims"),
    Case("clone", lambda lib, a: lib.clone(a), (A(2, 3),), gradgrad=True),
    Case("flip", lambda lib, a: lib.flip(a, (0,)), (A(2, 3),)),
    Case("flip", lambda lib, a: a.flip((0, 1)), (A(2, 3),), "dims"),
    Case("roll", lambda lib, a: lib.roll(a, 1, 0), (A(3, 2),)),
    Case("roll", lambda lib, a: lib.roll(a, 2), (A(2, 3),), "flat"),
    Case("roll", lambda lib, a: a.roll((1, -1), (0, 1)), (A(2, 3),), "dims"),
    Case("tril", lambda lib, a: lib.tril(a), (A(3, 3),)),
    Case("tril", lambda lib, a: a.tril(-1), (A(3, 4),), "diagonal"),
    Case("triu", lambda lib, a: lib.triu(a, 1), (A(3, 3),)),
    Case("diagonal", lambda lib, a: lib.diagonal(a), (A(3, 3),), gradgrad=True),
    Case("diagonal", lambda lib, a: a.diagonal(1), (A(3, 4),), "offset"),
    Case("diagonal", lambda lib, a: a.diagonal(-1, 1, 2), (A(2, 3, 3),), "dims"),
)

# Joining and splitting.
_add(
    Case("cat", lambda lib, a, b: lib.cat([a, b]), (A(2, 3), A(1, 3)), gradgrad=True),
    Case(
        "cat",
        lambda lib, a, b, c: lib.cat([a, b, c], 1),
        (A(2, 1), A(2, 2, grad=False), A(2, 3)),
        "dim1",
    ),
    Case("concat", lambda lib, a, b: lib.concat([a, b], -1), (A(2), A(3))),
    Case("concatenate", lambda lib, a, b: lib.concatenate((a, b)), (A(2), A(3))),
    Case("stack", lambda lib, a, b: lib.stack([a, b]), (A(2, 3), A(2, 3)), gradgrad=True),
    Case("stack", lambda lib, a, b: lib.stack([a, b], -1), (A(3), A(3)), "last"),
    Case("hstack", lambda lib, a, b: lib.hstack([a, b]), (A(2, 3), A(2, 1))),
    Case("hstack", lambda lib, a, b: lib.hstack([a, b]), (A(2), A(3)), "1d"),
    Case("vstack", lambda lib, a, b: lib.vstack([a, b]), (A(3), A(2, 3))),
    Case("split", lambda lib, a: lib.split(a, 2), (A(5, 2),), "size", gradgrad=True),
    Case("split", lambda lib, a: a.split([1, 2], 1), (A(2, 3),), "sections"),
    Case("split", lambda lib, a: a.split(2)[1], (A(5),), "one-part"),
    Case("chunk", lambda lib, a: lib.chunk(a, 2, 1), (A(2, 5),)),
    Case("chunk", lambda lib, a: a.chunk(3), (A(6),), "even"),
    Case("unbind", lambda lib, a: lib.unbind(a), (A(3, 2),), gradgrad=True),
    Case("unbind", lambda lib, a: a.unbind(1)[0], (A(3, 2),), "one-part"),
)

# Indexing.
_add(
    Case("__getitem__", lambda lib, a: a[1], (A(3, 2),), "int", gradgrad=True),
    Case("__getitem__", lambda lib, a: a[-1, 0], (A(3, 2),), "ints"),
    Case("__getitem__", lambda lib, a: a[1:3], (A(4, 2),), "slice"),
    Case("__getitem__", lambda lib, a: a[:, ::2], (A(2, 5),), "step"),
    Case("__getitem__", lambda lib, a: a[..., None], (A(2, 3),), "none"),
    Case("__getitem__", lambda lib, a: a[None, 0, ..., 1:], (A(2, 3, 2),), "mixed"),
    Case("__getitem__", lambda lib, a: a[:], (A(3),), "full-slice"),
    Case("__getitem__", lambda lib, a: a[:, :], (A(2, 3),), "full-slices"),
    Case("__getitem__", lambda lib, a: a[...], (A(2, 3),), "ellipsis"),
    Case("__getitem__", lambda lib, a: a[0:2], (A(2, 3),), "full-range"),
    Case("__getitem__", lambda lib, a: a[:, 0:3], (A(2, 3),), "full-range-in-tuple"),
    Case(
        "__getitem__",
        lambda lib, a: a[_idx(lib, [0, 2, 0])],
        (A(3, 2),),
        "int-tensor",
        gradgrad=True,
    ),
    Case("__getitem__", lambda lib, a: a[[0, 0, 2]], (A(3),), "list"),
    Case("__getitem__", lambda lib, a: a[:, _idx(lib, [1, 0])], (A(2, 3),), "slice-and-index"),
    Case("__getitem__", lambda lib, a: a[a > 0], (A(3, 2),), "mask"),
    Case("__getitem__", lambda lib, a: a[_mask(lib, [True, False, True])], (A(3, 2),), "row-mask"),
    Case("__getitem__", lambda lib, a: a[_idx(lib, [[0, 1], [2, 2]])], (A(3),), "2d-index"),
    Case(
        "gather",
        lambda lib, a: lib.gather(a, 1, _idx(lib, [[0, 0], [2, 1]])),
        (A(2, 3),),
        gradgrad=True,
    ),
    Case("gather", lambda lib, a: a.gather(0, _idx(lib, [[1, 0, 1]])), (A(2, 3),), "dim0"),
    Case(
        "index_select",
        lambda lib, a: lib.index_select(a, 0, _idx(lib, [2, 0, 2])),
        (A(3, 2),),
        gradgrad=True,
    ),
    Case("index_select", lambda lib, a: a.index_select(1, _idx(lib, [1])), (A(3, 2),), "dim1"),
    Case("masked_select", lambda lib, a: lib.masked_select(a, a > 0), (A(3, 2),)),
    Case(
        "masked_select",
        lambda lib, a: a.masked_select(_mask(lib, [True, False])),
        (A(3, 2),),
        "broadcast-mask",
    ),
    Case(
        "scatter_add",
        lambda lib, a, s: lib.scatter_add(a, 0, _idx(lib, [[0, 1, 0], [0, 0, 1]]), s),
        (A(2, 3), A(2, 3)),
        gradgrad=True,
    ),
    Case(
        "scatter_add",
        lambda lib, a, s: a.scatter_add(1, _idx(lib, [[2, 2]]), s),
        (A(2, 3), A(2, 3, grad=False)),
        "smaller-index",
    ),
)

# Conversions (Tensor methods outside the registry, for completeness of the graph nodes).
_add(
    Case(
        "to",
        lambda lib, a: a.to(lib.float32).to(lib.float64),
        (A(3),),
        "dtype",
        check={"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3},
    ),
    Case("to", lambda lib, a: a.double() * 2, (A(3),), "same-dtype"),
    Case("T", lambda lib, a: a.T, (A(2, 3),), "property"),
    Case("mT", lambda lib, a: a.mT, (A(2, 2, 3),), "property"),
    Case("contiguous", lambda lib, a: a.t().contiguous(), (A(2, 3),)),
    Case("pad", lambda lib, a: lib.nn.functional.pad(a, (1, 2)), (A(2, 3),), gradgrad=True),
    Case(
        "pad",
        lambda lib, a: lib.nn.functional.pad(a, (0, 1, 2, 0), value=1.5),
        (A(2, 3),),
        "2d-value",
    ),
)


# Sorting, selection and the other ops of gradviz.engine.ops.extra.
_add(
    Case("sort", lambda lib, a: lib.sort(a, 1), (A(3, 4),), gradgrad=True),
    Case(
        "sort",
        lambda lib, a: a.sort(stable=True, dim=0, descending=True),
        (A(4, 2),),
        "stable-descending",
    ),
    Case("msort", lambda lib, a: lib.msort(a), (A(4, 3),)),
    Case("topk", lambda lib, a: lib.topk(a, 2), (A(3, 5),), gradgrad=True),
    Case("topk", lambda lib, a: a.topk(1, dim=0, largest=False), (A(4, 3),), "smallest-dim0"),
    Case("kthvalue", lambda lib, a: lib.kthvalue(a, 2, 0), (A(4, 3),)),
    Case("median", lambda lib, a: lib.median(a), (A(3, 3),), "all"),
    Case("median", lambda lib, a: a.median(1), (A(3, 4),), "dim"),
    Case("mode", lambda lib, a: lib.mode(a, 1), (A(3, 1),), "single"),
    Case(
        "addcmul",
        lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5),
        (A(3), A(2, 1), A(3)),
        gradgrad=True,
    ),
    Case("addcdiv", lambda lib, a, b, c: lib.addcdiv(a, b, c, value=2.0), (A(3), A(2, 3), P(3))),
    Case("lerp", lambda lib, a, b: lib.lerp(a, b, 0.3), (A(3), A(3)), "number-weight"),
    Case("lerp", lambda lib, a, b, w: a.lerp(b, w), (A(3), A(3), A(3)), "tensor-weight"),
    Case("diag", lambda lib, a: lib.diag(a), (A(3),), "vector"),
    Case("diag", lambda lib, a: lib.diag(a, 1), (A(3, 4),), "matrix-offset"),
    Case("trace", lambda lib, a: a.trace(), (A(3, 3),)),
    Case(
        "einsum",
        lambda lib, a, b: lib.einsum("ij,jk->ik", a, b),
        (A(2, 3), A(3, 4)),
        node="gradviz builds einsum from its own permute/reshape/bmm nodes",
    ),
    Case(
        "einsum",
        lambda lib, a, b: lib.einsum("bij,bkj->bik", a, b),
        (A(2, 2, 3), A(2, 4, 3)),
        "batched",
        node="gradviz builds einsum from its own permute/reshape/bmm nodes",
    ),
)


def _inplace(name: str, body: Callable[[Any, Any], Any], args: tuple[Arg, ...], **kw: Any) -> Case:
    return Case(name, body, args, "inplace", **kw)


# In-place Tensor methods, applied to a non-leaf copy so the leaf itself stays untouched.
INPLACE_CASES: list[Case] = [
    _inplace("add_", lambda lib, a, b: a.clone().add_(b, alpha=2), (A(2, 3), A(3)), gradgrad=True),
    _inplace("sub_", lambda lib, a, b: a.clone().sub_(b), (A(2, 3), A(3))),
    _inplace("mul_", lambda lib, a, b: a.clone().mul_(b), (A(2, 3), A(3)), gradgrad=True),
    _inplace("div_", lambda lib, a, b: a.clone().div_(b), (A(2, 3), P(3))),
    _inplace("pow_", lambda lib, a: a.clone().pow_(2), (A(3),)),
    _inplace("iadd", lambda lib, a: _iadd(a.clone(), 2.0), (A(3),)),
    _inplace("imul", lambda lib, a, b: _imul(a * 1, b), (A(3), A(3))),
    _inplace("clamp_", lambda lib, a: a.clone().clamp_(-0.5, 0.5), (A(6),)),
    _inplace("relu_", lambda lib, a: a.clone().relu_(), (A(6),)),
    _inplace(
        "elu_",
        lambda lib, a: lib.nn.functional.elu(a.clone(), 0.5, inplace=True),
        (A(6),),
        gradgrad=True,
    ),
    _inplace("sigmoid_", lambda lib, a: a.clone().sigmoid_(), (A(4),)),
    _inplace("tanh_", lambda lib, a: a.clone().tanh_(), (A(4),)),
    _inplace("exp_", lambda lib, a: a.clone().exp_(), (A(4),)),
    _inplace("neg_", lambda lib, a: a.clone().neg_(), (A(4),)),
    _inplace("masked_fill_", lambda lib, a: _masked_fill_(a.clone()), (A(2, 3),)),
    _inplace("fill_", lambda lib, a: a.clone().fill_(2.0) * a, (A(3),)),
    _inplace("zero_", lambda lib, a: a.clone().zero_() + a, (A(3),)),
    _inplace("copy_", lambda lib, a, b: a.clone().copy_(b) * a, (A(2, 3), A(3))),
    _inplace(
        "setitem", lambda lib, a, v: _setitem(a.clone(), 1, v), (A(3, 2), A(2)), gradgrad=True
    ),
    _inplace("setitem", lambda lib, a: _setitem(a * 1, slice(0, 2), 0.0), (A(3),), torch=True),
    _inplace(
        "setitem",
        lambda lib, a, v: _setitem(a.clone(), _idx(lib, [0, 2]), v),
        (A(3, 2), A(2, 2)),
        torch=True,
    ),
]

# In-place ops through views of non-leaf tensors: the root's node becomes CopySlices and the
# view's AsStridedBackward0, as in PyTorch.
INPLACE_CASES += [
    Case(
        "view-inplace",
        lambda lib, a: _through_view(a * 1, lambda v: v[0].mul_(2)),
        (A(3, 4),),
        "select-mul_",
        gradgrad=True,
    ),
    Case(
        "view-inplace",
        lambda lib, a: _through_view(a * 1, lambda v: v[:, 1:3].zero_()),
        (A(3, 4),),
        "slice-zero_",
    ),
    Case(
        "view-inplace",
        lambda lib, a, w: _through_view(a * 1, lambda v: v.t().add_(w)),
        (A(3, 4), A(4, 3)),
        "t-add_-tensor",
        gradgrad=True,
    ),
    Case(
        "view-inplace",
        lambda lib, a: _through_view(a * 1, lambda v: v[0][1:].exp_()),
        (A(3, 4),),
        "nested-exp_",
    ),
    Case(
        "view-inplace",
        lambda lib, a, w: _through_view(a.sin(), lambda v: v[1].mul_(w)),
        (A(3, 4), A(4)),
        "select-mul_-tensor",
        gradgrad=True,
    ),
    Case("view-inplace", lambda lib, a: _returned_view(a * 1), (A(3, 4),), "the-view"),
    Case("view-inplace", lambda lib, a: _stale_sibling(a * 1), (A(3, 4),), "sibling-view"),
    Case("view-inplace", lambda lib, w: _into_constant(lib, w), (A(2),), "constant-root"),
    Case(
        "view-inplace", lambda lib, a, w: _setitem_view(a * 1, w), (A(3, 4), A()), "setitem-in-view"
    ),
    Case(
        "view-inplace",
        lambda lib, a: _through_view(a * 1, lambda v: v.unsqueeze(0)[0, 2].fill_(3.0)),
        (A(3, 4),),
        "unsqueeze-fill_",
    ),
]

# Labels must be unique: number repeated names.
for _i, _case in enumerate(INPLACE_CASES):
    if _case.label == "inplace" and sum(1 for c in INPLACE_CASES if c.op == _case.op) > 1:
        INPLACE_CASES[_i] = Case(
            _case.op, _case.fn, _case.args, f"inplace{_i}", _case.gradgrad, _case.torch
        )


def _iadd(t: Any, v: Any) -> Any:
    t += v
    return t


def _imul(t: Any, v: Any) -> Any:
    t *= v
    return t


def _masked_fill_(t: Any) -> Any:
    return t.masked_fill_(t > 0, 0.25)


def _through_view(root: Any, write: Callable[[Any], Any]) -> Any:
    write(root)
    return root


def _returned_view(root: Any) -> Any:
    view = root[1]
    view.mul_(3)
    return view * 1, root


def _stale_sibling(root: Any) -> Any:
    first = root[0]
    second = root[0:2]  # made before the write through ``first``: its graph is stale
    first.mul_(2)
    return second * 1


def _into_constant(lib: Any, w: Any) -> Any:
    root = lib.zeros(4, dtype=w.dtype)
    root[1:3].add_(w)
    return root


def _setitem_view(root: Any, w: Any) -> Any:
    row = root[2]
    row[1] = w
    return root


def _setitem(t: Any, key: Any, value: Any) -> Any:
    t[key] = value
    return t


# Registry names whose outputs never require grad (no case needed, but checked).
OPS_WITHOUT_GRADIENT = {
    "all",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "bincount",
    "isclose",
    "nonzero",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "count_nonzero",
    "eq",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "less",
    "less_equal",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "not_equal",
    "new_empty",
    "new_full",
    "new_ones",
    "new_tensor",
    "new_zeros",
}

# One call per name in OPS_WITHOUT_GRADIENT, on an input that requires grad.
NON_DIFFERENTIABLE_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "all": lambda lib, x: lib.all(x > 0),
    "any": lambda lib, x: x.any(),
    "argmax": lambda lib, x: lib.argmax(x, 1),
    "argmin": lambda lib, x: x.argmin(),
    "argsort": lambda lib, x: lib.argsort(x, 1),
    "bincount": lambda lib, x: lib.bincount((x > 0).long().flatten()),
    "isclose": lambda lib, x: lib.isclose(x, x * 1.0),
    "nonzero": lambda lib, x: lib.nonzero(x),
    "bitwise_and": lambda lib, x: lib.bitwise_and(x > 0, x < 1),
    "bitwise_not": lambda lib, x: lib.bitwise_not(x > 0),
    "bitwise_or": lambda lib, x: lib.bitwise_or(x > 0, x < 1),
    "bitwise_xor": lambda lib, x: lib.bitwise_xor(x > 0, x < 1),
    "count_nonzero": lambda lib, x: lib.count_nonzero(x, 0),
    "eq": lambda lib, x: lib.eq(x, x),
    "ge": lambda lib, x: lib.ge(x, 0),
    "greater": lambda lib, x: lib.greater(x, 0),
    "greater_equal": lambda lib, x: lib.greater_equal(x, 0),
    "gt": lambda lib, x: x > 0,
    "isfinite": lambda lib, x: lib.isfinite(x),
    "isinf": lambda lib, x: lib.isinf(x),
    "isnan": lambda lib, x: lib.isnan(x),
    "le": lambda lib, x: lib.le(x, 0),
    "less": lambda lib, x: lib.less(x, 0),
    "less_equal": lambda lib, x: lib.less_equal(x, 0),
    "logical_and": lambda lib, x: lib.logical_and(x, x),
    "logical_not": lambda lib, x: lib.logical_not(x),
    "logical_or": lambda lib, x: lib.logical_or(x, x),
    "logical_xor": lambda lib, x: lib.logical_xor(x, x),
    "lt": lambda lib, x: lib.lt(x, 0),
    "ne": lambda lib, x: lib.ne(x, 0),
    "not_equal": lambda lib, x: lib.not_equal(x, 0),
    "new_empty": lambda lib, x: x.new_empty(2),
    "new_full": lambda lib, x: x.new_full((2,), 3.0),
    "new_ones": lambda lib, x: x.new_ones(2),
    "new_tensor": lambda lib, x: x.new_tensor([1.0, 2.0]),
    "new_zeros": lambda lib, x: x.new_zeros(2),
}


# Registry names outside autograd altogether, each with why (tested in test_gradcheck_ops).
OPS_OUTSIDE_AUTOGRAD = {
    "allclose": "returns a Python bool",
    "equal": "returns a Python bool",
    "unique": "its values require grad but, as in PyTorch, it has no backward",
    "heaviside": "no derivative in PyTorch: its node's backward raises (test_math_more)",
}


def _check_unique() -> None:
    seen: dict[str, int] = {}
    for c in CASES + INPLACE_CASES:
        seen[c.id] = seen.get(c.id, 0) + 1
    dups = [k for k, n in seen.items() if n > 1]
    if dups:
        raise ValueError(f"duplicate case ids in op_cases: {dups}")


# More cases, kept in files of their own by op family (they import the helpers above).
from tests.engine import op_cases_math, op_cases_shape  # noqa: E402

for _more in (op_cases_math, op_cases_shape):
    CASES.extend(_more.CASES)
    OPS_WITHOUT_GRADIENT |= _more.OPS_WITHOUT_GRADIENT
    NON_DIFFERENTIABLE_CALLS.update(_more.NON_DIFFERENTIABLE_CALLS)

_check_unique()
