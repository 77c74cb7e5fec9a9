"""Activation, padding, distance and channel-dropout layers, compared with PyTorch.

Every functional case runs the same call on the same inputs in gradviz and in torch and
compares values, input gradients, the output node's name and the node names of the
graph below it; ``gradcheck`` (and ``gradgradcheck`` for the smooth ones) checks the
gradients numerically in float64. Modules compare their reprs and outputs with torch's;
error cases compare exception type and message with torch's. Channel dropout cannot
match torch's random numbers, so it is checked by structure and statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
import gradviz.nn as nn
import gradviz.nn.functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.autograd import gradcheck, gradgradcheck

RNG_SEED = 20240613


class Case:
    """One functional call: ``fn(lib, *tensors)`` on inputs of ``shapes``."""

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        *shapes: tuple[int, ...],
        smooth: bool = False,
        scale: float = 2.0,
    ) -> None:
        self.name = name
        self.fn = fn
        self.shapes = shapes
        self.smooth = smooth
        self.scale = scale

    def arrays(self) -> list[np.ndarray]:
        """Return the case's inputs: seeded normal samples times ``scale``."""
        rng = np.random.default_rng(RNG_SEED)
        return [rng.standard_normal(shape) * self.scale for shape in self.shapes]


def _weight(value: float, n: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: np.full((n,), value)


CASES = [
    Case("relu6", lambda m, x: m.nn.functional.relu6(x * 4), (3, 5)),
    Case("hardtanh", lambda m, x: m.nn.functional.hardtanh(x, -0.5, 2.0), (3, 5)),
    Case("prelu_shared", lambda m, x, w: m.nn.functional.prelu(x, w), (2, 3, 4), (1,)),
    Case("prelu_channels", lambda m, x, w: m.nn.functional.prelu(x, w), (2, 3, 4), (3,)),
    Case("prelu_2d", lambda m, x, w: m.nn.functional.prelu(x, w), (4, 3), (3,)),
    Case("prelu_1d", lambda m, x, w: m.nn.functional.prelu(x, w), (5,), (1,)),
    Case("selu", lambda m, x: m.nn.functional.selu(x), (3, 5), smooth=True),
    Case("celu", lambda m, x: m.nn.functional.celu(x), (3, 5), smooth=True),
    Case("celu_alpha", lambda m, x: m.nn.functional.celu(x, 0.5), (3, 5), smooth=True),
    Case("mish", lambda m, x: m.nn.functional.mish(x), (3, 5), smooth=True, scale=5.0),
    Case("softsign", lambda m, x: m.nn.functional.softsign(x), (3, 5)),
    Case("hardswish", lambda m, x: m.nn.functional.hardswish(x), (4, 6), scale=4.0),
    Case("hardsigmoid", lambda m, x: m.nn.functional.hardsigmoid(x), (4, 6), scale=4.0),
    Case("threshold", lambda m, x: m.nn.functional.threshold(x, 0.1, 20.0), (3, 5)),
    Case("logsigmoid", lambda m, x: m.nn.functional.logsigmoid(x), (3, 5), smooth=True, scale=8),
    Case("glu_last", lambda m, x: m.nn.functional.glu(x), (3, 4), smooth=True),
    Case("glu_dim1", lambda m, x: m.nn.functional.glu(x, 1), (2, 6, 3), smooth=True),
    Case("glu_1d", lambda m, x: m.nn.functional.glu(x, 0), (6,), smooth=True),
    Case("softmin", lambda m, x: m.nn.functional.softmin(x, 1), (3, 5), smooth=True),
    Case("softmin_dtype", lambda m, x: m.nn.functional.softmin(x, 0, dtype=m.float64), (4,)),
    Case("tanhshrink", lambda m, x: m.nn.functional.tanhshrink(x), (3, 5), smooth=True),
    Case("softshrink", lambda m, x: m.nn.functional.softshrink(x), (3, 5)),
    Case("softshrink_l", lambda m, x: m.nn.functional.softshrink(x, 1.5), (3, 5)),
    Case("hardshrink", lambda m, x: m.nn.functional.hardshrink(x), (3, 5)),
    Case("hardshrink_l", lambda m, x: m.nn.functional.hardshrink(x, 1.5), (3, 5)),
    Case("pad_constant", lambda m, x: m.nn.functional.pad(x, (1, 2), value=1.5), (2, 3, 4)),
    Case("pad_reflect_1d", lambda m, x: m.nn.functional.pad(x, (2, 3), "reflect"), (2, 3, 5)),
    Case("pad_reflect_2d", lambda m, x: m.nn.functional.pad(x, (1, 2, 2, 1), "reflect"), (2, 4, 5)),
    Case("pad_replicate_1d", lambda m, x: m.nn.functional.pad(x, (3, 1), "replicate"), (2, 3)),
    Case(
        "pad_replicate_2d",
        lambda m, x: m.nn.functional.pad(x, (2, 1, 0, 3), "replicate"),
        (1, 2, 3, 4),
    ),
    Case(
        "cosine_similarity", lambda m, a, b: m.nn.functional.cosine_similarity(a, b), (3, 4), (3, 4)
    ),
    Case("pairwise", lambda m, a, b: m.nn.functional.pairwise_distance(a, b), (3, 4), (3, 4)),
    Case(
        "pairwise_p1_keepdim",
        lambda m, a, b: m.nn.functional.pairwise_distance(a, b, 1.0, 1e-3, True),
        (2, 3, 4),
        (2, 3, 4),
    ),
    Case(
        "pairwise_p3_broadcast",
        lambda m, a, b: m.nn.functional.pairwise_distance(a, b, 3.0),
        (5, 4),
        (4,),
    ),
    Case(
        "pairwise_inf",
        lambda m, a, b: m.nn.functional.pairwise_distance(a, b, math.inf),
        (3, 4),
        (3, 4),
    ),
    Case("pairwise_1d", lambda m, a, b: m.nn.functional.pairwise_distance(a, b), (4,), (4,)),
]

SMOOTH = [c for c in CASES if c.smooth]


def _graph_names(node: Any) -> list[Any]:
    """Nested names of the graph below ``node`` (AccumulateGrad under either library's name)."""
    out: list[Any] = []
    for child, _ in node.next_functions:
        if child is None:
            out.append(None)
            continue
        name = child.name().removeprefix("torch::autograd::")
        out.append((name, _graph_names(child)))
    return out


def _run(lib: Any, case: Case, dtype: str) -> tuple[Any, list[Any]]:
    xs = [lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True) for a in case.arrays()]
    out = case.fn(lib, *xs)
    return out, xs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_functional_matches_torch(case: Case, dtype: str, torch: Any) -> None:
    out, xs = _run(gradviz, case, dtype)
    ref, txs = _run(torch, case, dtype)
    assert tuple(out.shape) == tuple(ref.shape)
    assert out.dtype.name == str(ref.dtype).removeprefix("torch.")
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    assert out.grad_fn.name() == ref.grad_fn.name()
    assert _graph_names(out.grad_fn) == _graph_names(ref.grad_fn)
    rng = np.random.default_rng(7)
    g = rng.standard_normal(tuple(ref.shape))
    out.backward(gradviz.tensor(g, dtype=out.dtype))
    ref.backward(torch.tensor(g, dtype=ref.dtype))
    for x, tx in zip(xs, txs, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_functional_gradcheck(case: Case) -> None:
    xs = [gradviz.tensor(a, dtype=gradviz.float64, requires_grad=True) for a in case.arrays()]
    assert gradcheck(lambda *args: case.fn(gradviz, *args), tuple(xs))


@pytest.mark.parametrize("case", SMOOTH, ids=[c.name for c in SMOOTH])
def test_functional_gradgradcheck(case: Case) -> None:
    xs = [gradviz.tensor(a, dtype=gradviz.float64, requires_grad=True) for a in case.arrays()]
    assert gradgradcheck(lambda *args: case.fn(gradviz, *args), tuple(xs))


def test_kink_values_match_torch(torch: Any) -> None:
    """Exact kinks: PyTorch's one-sided choices at ±3, at the threshold and at ±lambd."""
    values = [-3.0, 3.0, -0.5, 0.5, 0.1, 0.0, -1.0, 1.0]
    calls = [
        lambda m, x: m.nn.functional.hardswish(x),
        lambda m, x: m.nn.functional.hardsigmoid(x),
        lambda m, x: m.nn.functional.softshrink(x),
        lambda m, x: m.nn.functional.hardshrink(x),
        lambda m, x: m.nn.functional.threshold(x, 0.1, 5.0),
        lambda m, x: m.nn.functional.relu6(x),
        lambda m, x: m.nn.functional.hardtanh(x),
        lambda m, x: m.nn.functional.selu(x),
        lambda m, x: m.nn.functional.celu(x),
    ]
    for call in calls:
        x = gradviz.tensor(values, dtype=gradviz.float64, requires_grad=True)
        tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        call(gradviz, x).sum().backward()
        call(torch, tx).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


INPLACE = [
    ("selu", lambda m, x: m.nn.functional.selu(x, inplace=True), True),
    ("celu", lambda m, x: m.nn.functional.celu(x, 2.0, inplace=True), True),
    ("threshold", lambda m, x: m.nn.functional.threshold(x, 0.1, -2.0, inplace=True), False),
    ("threshold_", lambda m, x: m.nn.functional.threshold_(x, 0.1, 0.0), False),
    ("hardswish", lambda m, x: m.nn.functional.hardswish(x, inplace=True), False),
    ("hardsigmoid", lambda m, x: m.nn.functional.hardsigmoid(x, inplace=True), False),
    ("mish", lambda m, x: m.nn.functional.mish(x, inplace=True), True),
    ("relu6", lambda m, x: m.nn.functional.relu6(x, inplace=True), False),
    ("hardtanh", lambda m, x: m.nn.functional.hardtanh(x, inplace=True), False),
]


@pytest.mark.parametrize(("name", "call", "smooth"), INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_matches_torch(name: str, call: Any, smooth: bool, torch: Any) -> None:
    data = np.random.default_rng(3).standard_normal((3, 4)) * 3
    x = gradviz.tensor(data, dtype=gradviz.float64, requires_grad=True)
    tx = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    y, z = x.clone(), tx.clone()
    out, ref = call(gradviz, y), call(torch, z)
    assert out is y
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    assert out.grad_fn.name() == ref.grad_fn.name()
    assert _graph_names(out.grad_fn) == _graph_names(ref.grad_fn)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda a: call(gradviz, a.clone()), (x.detach().requires_grad_(),))
    if smooth:
        assert gradgradcheck(lambda a: call(gradviz, a.clone()), (x.detach().requires_grad_(),))


def test_inplace_on_leaf_raises() -> None:
    x = gradviz.randn(3, requires_grad=True)
    for call in (
        lambda: F.selu(x, inplace=True),
        lambda: F.threshold(x, 0.0, 1.0, inplace=True),
        lambda: F.hardswish(x, inplace=True),
    ):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            call()


def test_saved_attributes_are_pytorchs() -> None:
    x = gradviz.randn(2, 4, requires_grad=True)
    assert F.threshold(x, 0.1, 2.0).grad_fn.attributes() == {"threshold": 0.1, "value": 2.0}
    assert F.softshrink(x, 0.25).grad_fn.attributes() == {"lambd": 0.25}
    assert F.glu(x).grad_fn.attributes() == {"dim": -1}
    assert F.celu(x, 2.0).grad_fn.attributes() == {"alpha": 2.0}
    selu = F.selu(x).grad_fn.attributes()
    assert selu["alpha"] == pytest.approx(1.6732632423543772)
    assert selu["scale"] == pytest.approx(1.0507009873554805)
    assert selu["input_scale"] == 1.0
    norm = F.pairwise_distance(x, x * 2).grad_fn.attributes()
    assert norm == {"p": 2.0, "dim": (1,), "keepdim": False}


# ---------------------------------------------------------------------------- modules


MODULES = [
    ("ReLU6", lambda m: m.nn.ReLU6()),
    ("ReLU6_inplace", lambda m: m.nn.ReLU6(True)),
    ("Hardtanh", lambda m: m.nn.Hardtanh()),
    ("Hardtanh_args", lambda m: m.nn.Hardtanh(-2, 3, True)),
    ("PReLU", lambda m: m.nn.PReLU()),
    ("PReLU_3", lambda m: m.nn.PReLU(3, 0.1)),
    ("SELU", lambda m: m.nn.SELU()),
    ("SELU_inplace", lambda m: m.nn.SELU(True)),
    ("CELU", lambda m: m.nn.CELU()),
    ("CELU_args", lambda m: m.nn.CELU(2.0, True)),
    ("Mish", lambda m: m.nn.Mish()),
    ("Mish_inplace", lambda m: m.nn.Mish(inplace=True)),
    ("Softsign", lambda m: m.nn.Softsign()),
    ("Hardswish", lambda m: m.nn.Hardswish(True)),
    ("Hardsigmoid", lambda m: m.nn.Hardsigmoid()),
    ("Threshold", lambda m: m.nn.Threshold(0.1, 20)),
    ("Threshold_inplace", lambda m: m.nn.Threshold(0.1, 20, True)),
    ("LogSigmoid", lambda m: m.nn.LogSigmoid()),
    ("GLU", lambda m: m.nn.GLU()),
    ("GLU_dim", lambda m: m.nn.GLU(2)),
    ("Softmin", lambda m: m.nn.Softmin(1)),
    ("Tanhshrink", lambda m: m.nn.Tanhshrink()),
    ("Softshrink", lambda m: m.nn.Softshrink()),
    ("Softshrink_1", lambda m: m.nn.Softshrink(1)),
    ("Hardshrink", lambda m: m.nn.Hardshrink(2)),
    ("ZeroPad1d", lambda m: m.nn.ZeroPad1d(2)),
    ("ZeroPad1d_tuple", lambda m: m.nn.ZeroPad1d((1, 2))),
    ("ZeroPad2d", lambda m: m.nn.ZeroPad2d(2)),
    ("ZeroPad2d_tuple", lambda m: m.nn.ZeroPad2d((1, 2, 0, 1))),
    ("ConstantPad1d", lambda m: m.nn.ConstantPad1d(2, 3.5)),
    ("ConstantPad2d", lambda m: m.nn.ConstantPad2d((1, 2, 1, 0), 1)),
    ("ConstantPad2d_crop", lambda m: m.nn.ConstantPad2d((-1, 2, 1, -1), 1)),
    ("ReflectionPad1d", lambda m: m.nn.ReflectionPad1d(2)),
    ("ReflectionPad2d", lambda m: m.nn.ReflectionPad2d((1, 2, 2, 1))),
    ("ReplicationPad1d", lambda m: m.nn.ReplicationPad1d(3)),
    ("ReplicationPad2d", lambda m: m.nn.ReplicationPad2d(1)),
]


@pytest.mark.parametrize(("name", "build"), MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(name: str, build: Any, torch: Any) -> None:
    module, ref = build(gradviz), build(torch)
    assert repr(module) == repr(ref)
    module.load_state_dict(
        {k: gradviz.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()}
    )
    assert list(module.state_dict()) == list(ref.state_dict())
    data = np.random.default_rng(5).standard_normal((2, 3, 4, 6)) * 2
    if name.startswith(("ReflectionPad1d", "ReplicationPad1d")):
        data = data[0]
    x = gradviz.tensor(data, dtype=gradviz.float32, requires_grad=True)
    tx = torch.tensor(data, dtype=torch.float32, requires_grad=True)
    out, expected = module(x.clone()), ref(tx.clone())
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6
    )
    assert out.grad_fn.name() == expected.grad_fn.name()
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (pname, p), (_, tp) in zip(module.named_parameters(), ref.named_parameters(), strict=True):
        assert pname == "weight"
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_prelu_parameter() -> None:
    m = nn.PReLU(4, init=0.1, dtype=gradviz.float64)
    assert [name for name, _ in m.named_parameters()] == ["weight"]
    assert m.weight.shape == (4,)
    assert m.weight.dtype == gradviz.float64
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.full(4, 0.1))
    out = m(gradviz.tensor([[-1.0, 1.0, -2.0, 2.0]], dtype=gradviz.float64))
    np.testing.assert_allclose(out.detach().numpy(), [[-0.1, 1.0, -0.2, 2.0]])


DISTANCE = [
    ("CosineSimilarity", lambda m: m.nn.CosineSimilarity(), (3, 4), (3, 4)),
    ("CosineSimilarity_dim0", lambda m: m.nn.CosineSimilarity(0, 1e-3), (3, 4), (3, 1)),
    ("PairwiseDistance", lambda m: m.nn.PairwiseDistance(), (3, 4), (3, 4)),
    ("PairwiseDistance_args", lambda m: m.nn.PairwiseDistance(1, 1e-3, True), (2, 3), (3,)),
]


@pytest.mark.parametrize(("name", "build", "s1", "s2"), DISTANCE, ids=[d[0] for d in DISTANCE])
def test_distance_module_matches_torch(name: str, build: Any, s1: Any, s2: Any, torch: Any) -> None:
    module, ref = build(gradviz), build(torch)
    assert repr(module) == repr(ref)
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal(s1), rng.standard_normal(s2)
    xs = [gradviz.tensor(v, requires_grad=True) for v in (a, b)]
    txs = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in (a, b)]
    out, expected = module(*xs), ref(*txs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5)
    assert _graph_names(out.grad_fn) == _graph_names(expected.grad_fn)
    out.sum().backward()
    expected.sum().backward()
    for x, tx in zip(xs, txs, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_pairwise_distance_of_integers_is_float(torch: Any) -> None:
    a, b = [[1, 2, 3], [4, 5, 6]], [[0, 0, 0], [1, 1, 1]]
    out = F.pairwise_distance(gradviz.tensor(a), gradviz.tensor(b))
    ref = torch.nn.functional.pairwise_distance(torch.tensor(a), torch.tensor(b))
    assert out.dtype == gradviz.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


def test_unbatched_padding_matches_torch(torch: Any) -> None:
    data = np.arange(24.0).reshape(2, 3, 4)
    for build, x in (
        (lambda m: m.nn.ReflectionPad1d((2, 1)), data[0]),
        (lambda m: m.nn.ReplicationPad1d(2), data[0]),
        (lambda m: m.nn.ZeroPad1d(1), data[0, 0]),
        (lambda m: m.nn.ReflectionPad2d(1), data),
        (lambda m: m.nn.ReplicationPad2d((0, 1, 2, 0)), data),
        (lambda m: m.nn.ConstantPad2d(1, -1.0), data[0]),
    ):
        out = build(gradviz)(gradviz.tensor(x))
        ref = build(torch)(torch.tensor(x))
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


# ---------------------------------------------------------------------------- errors


ERRORS = [
    ("glu_odd", lambda m: m.nn.functional.glu(m.ones(4, 5), 1)),
    ("glu_odd_last", lambda m: m.nn.functional.glu(m.ones(4, 5))),
    ("glu_dim", lambda m: m.nn.functional.glu(m.ones(4, 6), 2)),
    ("glu_scalar", lambda m: m.nn.functional.glu(m.tensor(1.0))),
    ("glu_int", lambda m: m.nn.functional.glu(m.ones(4, dtype=m.int64))),
    ("GLU_module", lambda m: m.nn.GLU()(m.ones(3))),
    ("prelu_count", lambda m: m.nn.functional.prelu(m.ones(4, 5), m.ones(3))),
    ("prelu_2d_weight", lambda m: m.nn.functional.prelu(m.ones(4, 5), m.ones(5, 1))),
    ("prelu_scalar_input", lambda m: m.nn.functional.prelu(m.tensor(1.0), m.ones(3))),
    ("prelu_1d_input", lambda m: m.nn.functional.prelu(m.ones(3), m.ones(3))),
    ("prelu_float_weight", lambda m: m.nn.functional.prelu(m.ones(3), 0.25)),
    ("prelu_int", lambda m: m.nn.functional.prelu(m.ones(3, dtype=m.int64), m.ones(1).long())),
    ("prelu_dtypes", lambda m: m.nn.functional.prelu(m.ones(3, 4), m.ones(3).double())),
    ("PReLU_module", lambda m: m.nn.PReLU(3)(m.ones(2, 4))),
    ("softshrink_negative", lambda m: m.nn.functional.softshrink(m.ones(3), -1)),
    ("softshrink_negative_f64", lambda m: m.nn.functional.softshrink(m.ones(3).double(), -0.5)),
    ("softshrink_int", lambda m: m.nn.functional.softshrink(m.ones(3, dtype=m.int64))),
    ("hardshrink_int", lambda m: m.nn.functional.hardshrink(m.ones(3, dtype=m.int64))),
    ("celu_zero", lambda m: m.nn.functional.celu(m.ones(3), 0.0)),
    ("selu_int", lambda m: m.nn.functional.selu(m.ones(3, dtype=m.int64))),
    ("celu_int", lambda m: m.nn.functional.celu(m.ones(3, dtype=m.int64))),
    ("mish_int", lambda m: m.nn.functional.mish(m.ones(3, dtype=m.int64))),
    ("hardswish_int", lambda m: m.nn.functional.hardswish(m.ones(3, dtype=m.int64))),
    ("hardsigmoid_int", lambda m: m.nn.functional.hardsigmoid(m.ones(3, dtype=m.int64))),
    ("logsigmoid_int", lambda m: m.nn.functional.logsigmoid(m.ones(3, dtype=m.int64))),
    ("Hardtanh_range", lambda m: m.nn.Hardtanh(2, 1)),
    ("hardtanh_range", lambda m: m.nn.functional.hardtanh(m.ones(3), 2, 1)),
    ("Threshold_args", lambda m: m.nn.Threshold()),
    ("reflect_too_big", lambda m: m.nn.ReflectionPad1d(5)(m.ones(1, 2, 3))),
    ("reflect2d_too_big", lambda m: m.nn.ReflectionPad2d(3)(m.ones(1, 2, 3, 3))),
    ("reflect1d_4d", lambda m: m.nn.ReflectionPad1d(1)(m.ones(1, 2, 3, 3))),
    ("replicate1d_1d", lambda m: m.nn.ReplicationPad1d(1)(m.ones(3))),
    ("replicate2d_5d", lambda m: m.nn.ReplicationPad2d(1)(m.ones(1, 1, 2, 3, 3))),
    ("zeropad2d_1d", lambda m: m.nn.ZeroPad2d(1)(m.ones(3))),
    ("zeropad2d_odd", lambda m: m.nn.ZeroPad2d((1, 2, 3))(m.ones(3, 4, 4))),
    ("pairwise_shapes", lambda m: m.nn.functional.pairwise_distance(m.ones(4, 5), m.ones(3, 5))),
    ("dropout1d_4d", lambda m: m.nn.functional.dropout1d(m.ones(1, 2, 3, 4))),
    ("dropout1d_1d", lambda m: m.nn.functional.dropout1d(m.ones(3))),
    ("dropout1d_p", lambda m: m.nn.functional.dropout1d(m.ones(2, 3), 1.5)),
    ("dropout2d_p", lambda m: m.nn.functional.dropout2d(m.ones(2, 3, 4, 4), -0.1)),
    ("Dropout1d_p", lambda m: m.nn.Dropout1d(2.0)),
    ("Dropout2d_p", lambda m: m.nn.Dropout2d(-1)),
]


@pytest.mark.parametrize(("name", "call"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name: str, call: Any, torch: Any) -> None:
    with pytest.raises(Exception) as expected:  # any type: torch's is the oracle
        call(torch)
    with pytest.raises(type(expected.value)) as got:
        call(gradviz)
    message = str(expected.value)
    if isinstance(expected.value, TypeError) and "__init__()" in message:
        message = message.split("__init__()", 1)[1]  # the class's qualified name differs
        assert str(got.value).endswith(message)
    else:
        assert str(got.value) == message


def test_softmin_without_dim_warns_like_softmax() -> None:
    x = gradviz.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        out = F.softmin(x)
    np.testing.assert_allclose(out.sum(1).numpy(), np.ones(2), rtol=1e-6)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        nn.Softmin()(x)


# ---------------------------------------------------------------------------- channel dropout


@pytest.mark.parametrize(
    ("layer", "shape"),
    [("Dropout1d", (2, 3, 5)), ("Dropout1d", (3, 5)), ("Dropout2d", (2, 3, 4, 5))],
)
def test_channel_dropout_is_identity_in_eval(
    layer: str, shape: tuple[int, ...], torch: Any
) -> None:
    data = np.random.default_rng(6).standard_normal(shape)
    x = gradviz.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    for build in (
        lambda m: getattr(m.nn, layer)(0.5).eval(),
        lambda m: getattr(m.nn, layer)(0.0),  # p == 0 in training: nothing to drop
    ):
        out, ref = build(gradviz)(x), build(torch)(tx)
        # Batched input comes back as is; unbatched goes through unsqueeze/squeeze (torch).
        assert (out is x) == (ref is tx)
        np.testing.assert_array_equal(out.detach().numpy(), data)
        if ref is not tx:
            assert _graph_names(out.grad_fn) == _graph_names(ref.grad_fn)


def _check_channels(out: np.ndarray, x: np.ndarray, p: float, channel_axes: int) -> np.ndarray:
    """Each channel is all zero or exactly ``x / (1 - p)``; return the kept-channel mask."""
    lead = out.shape[:channel_axes]
    flat_out = out.reshape(*lead, -1)
    flat_x = x.reshape(*lead, -1)
    zero = np.all(flat_out == 0, axis=-1)
    kept = np.all(np.isclose(flat_out, flat_x / (1 - p), rtol=1e-6), axis=-1)
    assert np.all(zero ^ kept), "a channel is neither dropped nor scaled by 1/(1-p)"
    return kept


def test_dropout2d_drops_whole_channels_at_rate_p() -> None:
    gradviz.manual_seed(0)
    p = 0.3
    data = np.random.default_rng(1).uniform(0.5, 1.5, (40, 100, 2, 3))
    x = gradviz.tensor(data, requires_grad=True)
    out = F.dropout2d(x, p)
    assert out.grad_fn.name() == "MulBackward0"
    kept = _check_channels(out.detach().numpy(), data, p, 2)
    assert abs((1 - kept.mean()) - p) < 0.03  # 4000 channels: std of the rate is 0.007
    out.sum().backward()
    grad = x.grad.numpy().reshape(40, 100, -1)
    np.testing.assert_allclose(grad, np.where(kept, 1 / (1 - p), 0.0)[..., None] * np.ones(6))


def test_dropout1d_batched_and_unbatched(torch: Any) -> None:
    gradviz.manual_seed(1)
    p = 0.5
    data = np.random.default_rng(2).uniform(0.5, 1.5, (50, 80, 4))
    out = nn.Dropout1d(p)(gradviz.tensor(data))
    kept = _check_channels(out.numpy(), data, p, 2)
    assert abs((1 - kept.mean()) - p) < 0.03
    x = gradviz.tensor(data[0], requires_grad=True)
    tx = torch.tensor(data[0], requires_grad=True)
    out = F.dropout1d(x, p)
    ref = torch.nn.functional.dropout1d(tx, p)
    assert _graph_names(out.grad_fn) == _graph_names(ref.grad_fn)
    assert out.grad_fn.name() == ref.grad_fn.name() == "SqueezeBackward1"
    _check_channels(out.detach().numpy(), data[0], p, 1)


def test_channel_dropout_p1_zeroes_and_inplace() -> None:
    x = gradviz.ones(2, 3, 4, requires_grad=True)
    out = F.dropout1d(x, 1.0)
    assert out.grad_fn.name() == "MulBackward0"
    assert not out.detach().numpy().any()
    gradviz.manual_seed(3)
    y = gradviz.tensor(np.random.default_rng(4).uniform(1, 2, (30, 40, 2, 2)))
    before = y.numpy().copy()
    res = nn.Dropout2d(0.25, inplace=True)(y)
    assert res is y
    _check_channels(y.numpy(), before, 0.25, 2)
    z = gradviz.tensor(np.random.default_rng(5).uniform(1, 2, (40, 6)))
    before = z.numpy().copy()
    F.dropout1d(z, 0.5, inplace=True)
    _check_channels(z.numpy(), before, 0.5, 1)


def test_dropout2d_warnings() -> None:
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(gradviz.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 5-D input to dropout2d"):
        F.dropout2d(gradviz.ones(1, 2, 3, 4, 5))


def test_channel_dropout_reprs(torch: Any) -> None:
    for build in (
        lambda m: m.nn.Dropout1d(),
        lambda m: m.nn.Dropout2d(0.3, True),
    ):
        assert repr(build(gradviz)) == repr(build(torch))


ELU_FAMILY = [
    ("elu", lambda f, x: f.elu(x)),
    ("elu_alpha", lambda f, x: f.elu(x, alpha=0.5)),
    ("elu_inplace", lambda f, x: f.elu(x.clone(), alpha=0.5, inplace=True)),
    ("selu", lambda f, x: f.selu(x)),
    ("selu_inplace", lambda f, x: f.selu(x.clone(), inplace=True)),
    ("celu", lambda f, x: f.celu(x, 2.0)),
    ("celu_inplace", lambda f, x: f.celu(x.clone(), 2.0, inplace=True)),
]


@pytest.mark.parametrize(("label", "call"), ELU_FAMILY, ids=[c[0] for c in ELU_FAMILY])
def test_elu_family_saves_what_pytorch_saves(torch, label: str, call) -> None:
    x_np = np.random.default_rng(7).standard_normal((3, 4))

    def saved(lib, f):
        x = lib.tensor(x_np, requires_grad=True)
        fn = call(f, x).grad_fn
        names = sorted(a for a in ("alpha", "scale", "input_scale") if hasattr(fn, "_saved_" + a))
        values = {a: getattr(fn, "_saved_" + a) for a in names}
        kind = "self" if hasattr(fn, "_saved_self") and fn._saved_self is x else "result"
        tensor = fn._saved_self if kind == "self" else fn._saved_result
        return fn.name(), values, kind, tensor.detach().numpy()

    ref = saved(torch, torch.nn.functional)
    got = saved(gradviz, F)
    assert got[:3] == ref[:3]
    np.testing.assert_allclose(got[3], ref[3], rtol=1e-15, atol=0)  # expm1 may differ by 1 ulp


@pytest.mark.parametrize("inplace", [False, True])
def test_elu_of_an_integer_tensor_is_refused_as_in_pytorch(torch, inplace: bool) -> None:
    with pytest.raises(NotImplementedError) as ref:
        torch.nn.functional.elu(torch.arange(3), inplace=inplace)
    with pytest.raises(NotImplementedError) as got:
        F.elu(gradviz.arange(3), inplace=inplace)
    assert str(got.value) == str(ref.value)
