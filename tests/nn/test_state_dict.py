"""state_dict and load_state_dict: order, contents, sharing, and PyTorch's exact errors."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradviz
import gradviz.nn as nn
from tests.helpers.oracle import require_torch


def _top(lib: Any) -> Any:
    """The model of the semantics reference (section 3.15)."""
    nn_ = lib.nn

    class Block(nn_.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("buf_first", lib.zeros(1))
            self.lin = nn_.Linear(2, 2)
            self.scale = nn_.Parameter(lib.ones(1))
            self.register_buffer("running", lib.zeros(2))
            self.register_buffer("tmp", lib.zeros(2), persistent=False)
            self.register_buffer("none_buf", None)
            self.register_parameter("none_param", None)
            self.bn = nn_.BatchNorm1d(2)
            self.plain = lib.ones(3)

    class Top(nn_.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn_.Sequential(nn_.Linear(2, 2), nn_.ReLU(), Block())
            self.head = nn_.Linear(2, 1)
            self.gain = nn_.Parameter(lib.ones(1))

    return Top()


TOP_KEYS = [
    "gain",
    "layer.0.weight",
    "layer.0.bias",
    "layer.2.scale",
    "layer.2.buf_first",
    "layer.2.running",
    "layer.2.lin.weight",
    "layer.2.lin.bias",
    "layer.2.bn.weight",
    "layer.2.bn.bias",
    "layer.2.bn.running_mean",
    "layer.2.bn.running_var",
    "layer.2.bn.num_batches_tracked",
    "head.weight",
    "head.bias",
]


def test_state_dict_order_is_pytorchs() -> None:
    top = _top(gradviz)
    sd = top.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == TOP_KEYS
    assert "layer.2.tmp" in dict(top.named_buffers())
    assert [n for n, _ in top.named_modules()] == [
        "",
        "layer",
        "layer.0",
        "layer.1",
        "layer.2",
        "layer.2.lin",
        "layer.2.bn",
        "head",
    ]


def test_state_dict_structure_matches_torch(torch) -> None:
    g, t = _top(gradviz), _top(torch)
    assert list(g.state_dict()) == list(t.state_dict())
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert dict(g.state_dict()._metadata) == dict(t.state_dict()._metadata)


def test_state_dict_values_are_detached_and_share_data() -> None:
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    w = sd["weight"]
    assert not isinstance(w, nn.Parameter) and not w.requires_grad and w.grad_fn is None
    with gradviz.no_grad():
        m.weight.fill_(3.0)
    assert w.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    kept = m.state_dict(keep_vars=True)
    assert kept["weight"] is m.weight and kept["bias"] is m.bias


def test_shared_submodule_twice_in_state_dict_once_in_parameters(torch) -> None:
    def keys(lib):
        m = lib.nn.Module()
        m.a = lib.nn.Linear(2, 2)
        m.b = m.a
        return list(m.state_dict()), [n for n, _ in m.named_parameters()]

    assert keys(gradviz) == (["a.weight", "a.bias", "b.weight", "b.bias"], ["a.weight", "a.bias"])
    assert keys(gradviz) == keys(torch)


def test_container_keys(torch) -> None:
    def keys(lib):
        m = lib.nn.ModuleDict(
            {"enc": lib.nn.ModuleList([lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)])}
        )
        return list(m.state_dict())

    assert keys(gradviz) == ["enc.0.weight", "enc.0.bias", "enc.1.weight", "enc.1.bias"]
    assert keys(gradviz) == keys(torch)


def test_state_dict_destination_prefix_and_positional_warning() -> None:
    m = nn.Linear(1, 1)
    dest: dict[str, Any] = {}
    assert m.state_dict(destination=dest, prefix="x.") is dest
    assert list(dest) == ["x.weight", "x.bias"]
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        out = m.state_dict(None, "p.")
    assert list(out) == ["p.weight", "p.bias"]


# ---------------------------------------------------------------------------- load_state_dict


def _load_error(lib: Any, case: str) -> tuple[str, str] | str:
    """Run one of the reference's load_state_dict cases (E23-E30) and return the outcome."""
    nn_ = lib.nn
    m = nn_.Linear(2, 2)
    try:
        if case == "missing":
            sd = m.state_dict()
            del sd["bias"]
            m.load_state_dict(sd)
        elif case == "unexpected":
            sd = m.state_dict()
            sd["extra"] = lib.ones(1)
            m.load_state_dict(sd)
        elif case == "missing_and_unexpected":
            sd = m.state_dict()
            del sd["bias"]
            sd["extra"] = lib.ones(1)
            sd["foo.bar"] = lib.ones(1)
            m.load_state_dict(sd)
        elif case == "shape":
            m.load_state_dict({"weight": lib.ones(3, 2), "bias": lib.ones(2)})
        elif case == "all_three":
            s = nn_.Sequential(nn_.Linear(2, 2), nn_.Linear(2, 1))
            sd = s.state_dict()
            sd["0.weight"] = lib.ones(5, 5)
            del sd["1.bias"]
            sd["2.weight"] = lib.ones(1)
            s.load_state_dict(sd)
        elif case == "non_strict":
            sd = m.state_dict()
            del sd["bias"]
            sd["extra"] = lib.ones(1)
            return repr(m.load_state_dict(sd, strict=False))
        elif case == "success":
            return repr(m.load_state_dict(m.state_dict()))
        elif case == "non_strict_shape":
            m.load_state_dict({"weight": lib.ones(3, 2)}, strict=False)
        elif case == "not_a_tensor":
            m.load_state_dict({"weight": [[1.0, 2.0], [3.0, 4.0]], "bias": lib.ones(2)})
    except Exception as err:  # noqa: BLE001 - the outcome is what we compare
        return type(err).__name__, str(err)
    return "no error"


LOAD_CASES = [
    "missing",
    "unexpected",
    "missing_and_unexpected",
    "shape",
    "all_three",
    "non_strict",
    "success",
    "non_strict_shape",
    "not_a_tensor",
]

EXPECTED = {
    "missing": (
        "RuntimeError",
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". ',
    ),
    "unexpected": (
        "RuntimeError",
        'Error(s) in loading state_dict for Linear:\n\tUnexpected key(s) in state_dict: "extra". ',
    ),
    "missing_and_unexpected": (
        "RuntimeError",
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
        '\n\tUnexpected key(s) in state_dict: "extra", "foo.bar". ',
    ),
    "shape": (
        "RuntimeError",
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a param "
        "with shape torch.Size([3, 2]) from checkpoint, the shape in current model is "
        "torch.Size([2, 2]).",
    ),
    "all_three": (
        "RuntimeError",
        'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "1.bias". '
        '\n\tUnexpected key(s) in state_dict: "2.weight". \n\tsize mismatch for 0.weight: copying '
        "a param with shape torch.Size([5, 5]) from checkpoint, the shape in current model is "
        "torch.Size([2, 2]).",
    ),
    "non_strict": "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['extra'])",
    "success": "<All keys matched successfully>",
    "non_strict_shape": (
        "RuntimeError",
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a param "
        "with shape torch.Size([3, 2]) from checkpoint, the shape in current model is "
        "torch.Size([2, 2]).",
    ),
}


@pytest.mark.parametrize("case", [c for c in LOAD_CASES if c in EXPECTED])
def test_load_state_dict_messages_are_pytorchs(case: str) -> None:
    assert _load_error(gradviz, case) == EXPECTED[case]


@pytest.mark.parametrize("case", LOAD_CASES)
def test_load_state_dict_outcomes_match_torch(torch, case: str) -> None:
    assert _load_error(gradviz, case) == _load_error(torch, case)


def test_load_state_dict_copies_in_place_keeping_identity() -> None:
    src, dst = nn.Linear(3, 2), nn.Linear(3, 2)
    w = dst.weight
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst.weight is w
    np.testing.assert_array_equal(dst.weight.detach().numpy(), src.weight.detach().numpy())
    assert dst.weight.requires_grad


def test_load_state_dict_assign_replaces_tensors() -> None:
    dst = nn.Linear(2, 2)
    w = dst.weight
    dst.load_state_dict({"weight": gradviz.ones(2, 2), "bias": gradviz.zeros(2)}, assign=True)
    assert dst.weight is not w and isinstance(dst.weight, nn.Parameter)
    assert dst.weight.requires_grad and dst.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_load_state_dict_rejects_non_mapping() -> None:
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>."):
        nn.Linear(1, 1).load_state_dict([1, 2])


def test_load_scalar_parameter_from_one_element() -> None:
    m = nn.Module()
    m.p = nn.Parameter(gradviz.tensor(0.0))
    m.load_state_dict({"p": gradviz.tensor([5.0])})
    assert m.p.item() == 5.0


def test_batchnorm_loads_plain_dict_without_num_batches_tracked(torch) -> None:
    def run(lib):
        bn = lib.nn.BatchNorm1d(3)
        sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
        plain = bn.load_state_dict(sd)  # no _metadata: treated as an old checkpoint
        ordered = lib.nn.BatchNorm1d(3).state_dict()
        del ordered["num_batches_tracked"]
        try:
            lib.nn.BatchNorm1d(3).load_state_dict(ordered)  # version 2 metadata: missing key
            second = "no error"
        except RuntimeError as err:
            second = str(err)
        return repr(plain), second

    assert run(gradviz) == run(torch)
    assert "num_batches_tracked" in run(gradviz)[1]


def test_non_persistent_buffer_is_not_loaded_or_expected() -> None:
    m = nn.Module()
    m.register_buffer("tmp", gradviz.zeros(2), persistent=False)
    assert list(m.state_dict()) == []
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "tmp"'):
        m.load_state_dict({"tmp": gradviz.ones(2)})


def test_torch_weights_load_and_give_torch_outputs(torch) -> None:
    torch.manual_seed(0)
    t = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    )
    g = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
    t.train()
    t(torch.randn(16, 4))  # move the running statistics away from their defaults
    t.eval()
    g.eval()
    result = g.load_state_dict({k: gradviz.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    assert g[1].num_batches_tracked.item() == 1
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    expected = t(torch.tensor(x)).detach().numpy()
    got = g(gradviz.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    back = {k: torch.tensor(v.numpy()) for k, v in g.state_dict().items()}
    assert repr(t.load_state_dict(back)) == "<All keys matched successfully>"


# ---------------------------------------------------------------------------- property


_LEAVES = st.sampled_from(["linear", "bn", "relu", "buffer", "param", "nonpersistent"])
_TREES = st.recursive(
    _LEAVES,
    lambda children: st.tuples(
        st.sampled_from(["seq", "list", "dict", "custom"]), st.lists(children, max_size=3)
    ),
    max_leaves=8,
)


def _build_tree(lib: Any, spec: Any) -> Any:
    nn_ = lib.nn
    if spec == "linear":
        return nn_.Linear(2, 2)
    if spec == "bn":
        return nn_.BatchNorm1d(2)
    if spec == "relu":
        return nn_.ReLU()
    if spec in ("buffer", "param", "nonpersistent"):
        m = nn_.Module()
        if spec == "buffer":
            m.register_buffer("b", lib.zeros(1))
        elif spec == "param":
            m.p = nn_.Parameter(lib.zeros(1))
        else:
            m.register_buffer("tmp", lib.zeros(1), persistent=False)
        return m
    kind, children = spec
    built = [_build_tree(lib, c) for c in children]
    if kind == "seq":
        return nn_.Sequential(*built)
    if kind == "list":
        return nn_.ModuleList(built)
    if kind == "dict":
        return nn_.ModuleDict({f"k{i}": c for i, c in enumerate(built)})
    m = nn_.Module()
    m.own = nn_.Parameter(lib.ones(1))
    for i, c in enumerate(built):
        setattr(m, f"c{i}", c)
    m.register_buffer("late", lib.ones(1))
    return m


@settings(deadline=None)
@given(spec=_TREES)
def test_random_trees_match_torch(spec: Any) -> None:
    torch = require_torch()
    g, t = _build_tree(gradviz, spec), _build_tree(torch, spec)
    assert list(g.state_dict()) == list(t.state_dict())
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert repr(g) == repr(t)
    copy = _build_tree(gradviz, spec)
    assert repr(copy.load_state_dict(g.state_dict())) == "<All keys matched successfully>"
