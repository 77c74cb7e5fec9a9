"""Layers, losses, init and gradient clipping, compared with PyTorch.

Each layer case builds the same layer in both libraries, copies PyTorch's weights into
gradviz through ``load_state_dict``, runs forward and backward, and compares outputs,
input gradients, parameter gradients and buffers (float64 unless the case says float32),
plus the repr and the ``state_dict`` keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
import gradviz.nn as nn
import gradviz.nn.functional as F  # noqa: N812 - PyTorch's conventional name

RNG_SEED = 1234


def _randn(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.standard_normal(shape)


def _ints(high: int, *shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.integers(0, high, size=shape)


def _probs(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.uniform(0.05, 0.95, size=shape)


class Case:
    """One layer configuration: how to build it and what to feed it."""

    def __init__(
        self,
        name: str,
        build: Callable[[Any], Any],
        inputs: list[Callable[[np.random.Generator], np.ndarray]],
        grad: tuple[bool, ...] | None = None,
        train: bool = True,
        dtype: str = "float64",
    ) -> None:
        self.name = name
        self.build = build
        self.inputs = inputs
        self.grad = grad if grad is not None else (True,) * len(inputs)
        self.train = train
        self.dtype = dtype


CASES = [
    Case("Identity", lambda m: m.nn.Identity(3, x=1), [_randn(2, 3)]),
    Case("Linear", lambda m: m.nn.Linear(4, 3), [_randn(5, 4)]),
    Case("Linear-3d", lambda m: m.nn.Linear(4, 3), [_randn(2, 5, 4)]),
    Case("Linear-nobias", lambda m: m.nn.Linear(4, 3, bias=False), [_randn(5, 4)]),
    Case("Linear-float32", lambda m: m.nn.Linear(6, 2), [_randn(3, 6)], dtype="float32"),
    Case("Bilinear", lambda m: m.nn.Bilinear(3, 4, 2), [_randn(5, 3), _randn(5, 4)]),
    Case("ReLU", lambda m: m.nn.ReLU(), [_randn(3, 4)]),
    Case("LeakyReLU", lambda m: m.nn.LeakyReLU(0.2), [_randn(3, 4)]),
    Case("Sigmoid", lambda m: m.nn.Sigmoid(), [_randn(3, 4)]),
    Case("Tanh", lambda m: m.nn.Tanh(), [_randn(3, 4)]),
    Case("GELU", lambda m: m.nn.GELU(), [_randn(3, 4)]),
    Case("GELU-tanh", lambda m: m.nn.GELU(approximate="tanh"), [_randn(3, 4)]),
    Case("SiLU", lambda m: m.nn.SiLU(), [_randn(3, 4)]),
    Case("ELU", lambda m: m.nn.ELU(alpha=0.5), [_randn(3, 4)]),
    Case("Softplus", lambda m: m.nn.Softplus(beta=2.0, threshold=5.0), [_randn(3, 4)]),
    Case("Softmax", lambda m: m.nn.Softmax(dim=1), [_randn(3, 4)]),
    Case("LogSoftmax", lambda m: m.nn.LogSoftmax(dim=-1), [_randn(3, 4)]),
    Case("Conv1d", lambda m: m.nn.Conv1d(2, 3, 3, stride=2, padding=1), [_randn(2, 2, 9)]),
    Case(
        "Conv1d-same", lambda m: m.nn.Conv1d(2, 4, 3, padding="same", bias=False), [_randn(1, 2, 7)]
    ),
    Case("Conv2d", lambda m: m.nn.Conv2d(3, 4, 3, padding=1), [_randn(2, 3, 6, 6)]),
    Case(
        "Conv2d-strided-groups",
        lambda m: m.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), dilation=(1, 2), groups=2),
        [_randn(2, 4, 7, 8)],
    ),
    Case(
        "Conv2d-reflect",
        lambda m: m.nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"),
        [_randn(1, 2, 5, 5)],
    ),
    Case(
        "Conv2d-circular",
        lambda m: m.nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode="circular"),
        [_randn(1, 2, 5, 5)],
    ),
    Case("MaxPool2d", lambda m: m.nn.MaxPool2d(2), [_randn(2, 3, 6, 6)]),
    Case(
        "MaxPool2d-options",
        lambda m: m.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        [_randn(1, 2, 7, 7)],
    ),
    Case("AvgPool2d", lambda m: m.nn.AvgPool2d(2, stride=1), [_randn(2, 3, 5, 5)]),
    Case(
        "AvgPool2d-pad",
        lambda m: m.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        [_randn(1, 2, 6, 6)],
    ),
    Case("AdaptiveAvgPool2d-1", lambda m: m.nn.AdaptiveAvgPool2d(1), [_randn(2, 3, 5, 5)]),
    Case("AdaptiveAvgPool2d-3", lambda m: m.nn.AdaptiveAvgPool2d((3, 2)), [_randn(2, 3, 7, 5)]),
    Case("LayerNorm", lambda m: m.nn.LayerNorm(4), [_randn(3, 4)]),
    Case(
        "LayerNorm-2d",
        lambda m: m.nn.LayerNorm((3, 4), elementwise_affine=False),
        [_randn(2, 3, 4)],
    ),
    Case("BatchNorm1d", lambda m: m.nn.BatchNorm1d(4), [_randn(6, 4)]),
    Case("BatchNorm1d-3d", lambda m: m.nn.BatchNorm1d(3, momentum=None), [_randn(4, 3, 5)]),
    Case("BatchNorm1d-eval", lambda m: m.nn.BatchNorm1d(4), [_randn(6, 4)], train=False),
    Case("BatchNorm2d", lambda m: m.nn.BatchNorm2d(3), [_randn(2, 3, 4, 4)]),
    Case(
        "BatchNorm2d-noaffine",
        lambda m: m.nn.BatchNorm2d(3, affine=False, track_running_stats=False),
        [_randn(2, 3, 4, 4)],
    ),
    Case("Dropout-eval", lambda m: m.nn.Dropout(0.3), [_randn(3, 4)], train=False),
    Case("Dropout-p0", lambda m: m.nn.Dropout(0.0), [_randn(3, 4)]),
    Case("Embedding", lambda m: m.nn.Embedding(10, 3), [_ints(10, 2, 5)], grad=(False,)),
    Case(
        "Embedding-padding",
        lambda m: m.nn.Embedding(6, 2, padding_idx=-1),
        [lambda rng: np.array([[0, 5, 5, 2]])],
        grad=(False,),
    ),
    Case("Flatten", lambda m: m.nn.Flatten(), [_randn(2, 3, 4)]),
    Case("Flatten-range", lambda m: m.nn.Flatten(0, 1), [_randn(2, 3, 4)]),
    Case("Unflatten", lambda m: m.nn.Unflatten(1, (2, 3)), [_randn(4, 6)]),
    Case("MSELoss", lambda m: m.nn.MSELoss(), [_randn(3, 4), _randn(3, 4)]),
    Case("MSELoss-sum", lambda m: m.nn.MSELoss(reduction="sum"), [_randn(3, 4), _randn(3, 4)]),
    Case("L1Loss-none", lambda m: m.nn.L1Loss(reduction="none"), [_randn(3, 4), _randn(3, 4)]),
    Case(
        "CrossEntropyLoss",
        lambda m: m.nn.CrossEntropyLoss(),
        [_randn(5, 4), _ints(4, 5)],
        grad=(True, False),
    ),
    Case(
        "CrossEntropyLoss-options",
        lambda m: m.nn.CrossEntropyLoss(
            weight=m.tensor([1.0, 2.0, 0.5, 1.0], dtype=m.float64),
            ignore_index=1,
            label_smoothing=0.1,
        ),
        [_randn(6, 4), _ints(4, 6)],
        grad=(True, False),
    ),
    Case(
        "CrossEntropyLoss-probs",
        lambda m: m.nn.CrossEntropyLoss(reduction="sum"),
        [_randn(3, 4), lambda rng: rng.dirichlet(np.ones(4), size=3)],
        grad=(True, False),
    ),
    Case("NLLLoss", lambda m: m.nn.NLLLoss(), [_randn(5, 3), _ints(3, 5)], grad=(True, False)),
    Case("BCELoss", lambda m: m.nn.BCELoss(), [_probs(3, 4), _probs(3, 4)], grad=(True, False)),
    Case(
        "BCEWithLogitsLoss",
        lambda m: m.nn.BCEWithLogitsLoss(
            pos_weight=m.tensor([1.0, 2.0, 3.0, 0.5], dtype=m.float64)
        ),
        [_randn(3, 4), _probs(3, 4)],
        grad=(True, False),
    ),
    Case("SmoothL1Loss", lambda m: m.nn.SmoothL1Loss(beta=0.5), [_randn(3, 4), _randn(3, 4)]),
    Case("HuberLoss", lambda m: m.nn.HuberLoss(delta=0.7), [_randn(3, 4), _randn(3, 4)]),
    Case(
        "KLDivLoss",
        lambda m: m.nn.KLDivLoss(reduction="batchmean"),
        [_randn(3, 4), _probs(3, 4)],
        grad=(True, False),
    ),
]


def _to_lib(lib: Any, arr: np.ndarray, dtype: str, requires_grad: bool) -> Any:
    if arr.dtype.kind == "f":
        arr = arr.astype(dtype)
    t = lib.tensor(arr)
    return t.requires_grad_(True) if requires_grad and arr.dtype.kind == "f" else t


def _run(lib: Any, case: Case, state: dict[str, np.ndarray] | None) -> dict[str, Any]:
    module = case.build(lib)
    if case.dtype == "float64":
        module = module.double()
    if state is not None:
        result = module.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        assert repr(result) == "<All keys matched successfully>"
    module.train(case.train)
    rng = np.random.default_rng(RNG_SEED)
    arrays = [make(rng) for make in case.inputs]
    inputs = [_to_lib(lib, a, case.dtype, g) for a, g in zip(arrays, case.grad, strict=True)]
    out = module(*inputs)
    upstream = rng.standard_normal(tuple(out.shape)).astype(case.dtype)
    if out.requires_grad:
        out.backward(lib.tensor(upstream))
    return {
        "module": module,
        "out": out.detach().numpy(),
        "input_grads": [
            None if t.grad is None else t.grad.numpy() for t in inputs if t.requires_grad
        ],
        "param_grads": {
            n: (None if p.grad is None else p.grad.numpy()) for n, p in module.named_parameters()
        },
        "state": {k: v.numpy() for k, v in module.state_dict().items()},
    }


def _close(a: Any, b: Any, dtype: str, what: str) -> None:
    if a is None or b is None:
        assert a is None and b is None, what
        return
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    rtol, atol = (1e-10, 1e-12) if dtype == "float64" else (1e-5, 1e-6)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_layer_matches_torch(torch, case: Case) -> None:
    torch.manual_seed(0)
    initial = case.build(torch)
    if case.dtype == "float64":
        initial = initial.double()
    torch_state = {k: v.numpy().copy() for k, v in initial.state_dict().items()}
    ref = _run(torch, case, torch_state)
    got = _run(gradviz, case, torch_state)
    assert repr(got["module"]) == repr(ref["module"])
    assert list(got["state"]) == list(ref["state"])
    _close(got["out"], ref["out"], case.dtype, "output")
    assert len(got["input_grads"]) == len(ref["input_grads"])
    for i, (a, b) in enumerate(zip(got["input_grads"], ref["input_grads"], strict=True)):
        _close(a, b, case.dtype, f"grad of input {i}")
    assert list(got["param_grads"]) == list(ref["param_grads"])
    for name in ref["param_grads"]:
        _close(got["param_grads"][name], ref["param_grads"][name], case.dtype, f"grad of {name}")
    for name in ref["state"]:
        a, b = got["state"][name], ref["state"][name]
        if b.dtype.kind == "f":
            _close(a, b, case.dtype, f"state {name}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"state {name}")


# ---------------------------------------------------------------------------- node names


def test_linear_graph_names() -> None:
    out = nn.Linear(3, 2)(gradviz.randn(4, 3))
    assert out.grad_fn.name() == "AddmmBackward0"
    names = [fn.name() if fn else None for fn, _ in out.grad_fn.next_functions]
    assert names == ["torch::autograd::AccumulateGrad", None, "TBackward0"]


def test_cross_entropy_graph_names() -> None:
    logits = nn.Linear(3, 4)(gradviz.randn(2, 3))
    loss = nn.CrossEntropyLoss()(logits, gradviz.tensor([0, 3]))
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"


# ---------------------------------------------------------------------------- behaviour


def test_dropout_training_scales_kept_elements() -> None:
    gradviz.manual_seed(0)
    x = gradviz.ones(1000, requires_grad=True)
    y = nn.Dropout(0.25)(x)
    y.sum().backward()
    grad = x.grad.numpy()
    assert np.all((grad == 0) | np.isclose(grad, 1 / 0.75))
    kept = float((x.grad.numpy() != 0).mean())
    assert 0.65 < kept < 0.85


def test_batchnorm_running_stats_and_counter() -> None:
    bn = nn.BatchNorm1d(2, momentum=0.5)
    x = gradviz.tensor([[1.0, 2.0], [3.0, 6.0]])
    bn(x)
    bn(x)
    assert bn.num_batches_tracked.item() == 2
    np.testing.assert_allclose(bn.running_mean.numpy(), [1.5, 3.0])
    bn.eval()
    out = bn(x)
    assert bn.num_batches_tracked.item() == 2
    assert out.shape == (2, 2)
    bn.reset_running_stats()
    assert bn.running_mean.tolist() == [0.0, 0.0] and bn.num_batches_tracked.item() == 0


def _sorted_sets(text: str) -> str:
    """Sort the items of set literals in ``text`` (PyTorch prints sets in hash order)."""
    return re.sub(
        r"\{('[^{}]*')\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text
    )


def test_layer_argument_errors_match_torch(torch) -> None:
    def errors(lib):
        nn_ = lib.nn
        attempts = [
            lambda: nn_.Conv2d(3, 4, 3, groups=2),
            lambda: nn_.Conv2d(4, 3, 3, groups=2),
            lambda: nn_.Conv2d(2, 2, 3, padding="full"),
            lambda: nn_.Conv2d(2, 2, 3, padding="same", stride=2),
            lambda: nn_.Conv2d(2, 2, 3, padding_mode="mirror"),
            lambda: nn_.Dropout(1.5),
            lambda: nn_.Embedding(5, 2, padding_idx=5),
            lambda: nn_.Embedding(5, 2, padding_idx=-6),
            lambda: nn_.Unflatten(1, 6),
            lambda: nn_.Unflatten(1, (2, "3")),
            lambda: nn_.BatchNorm2d(3)(lib.ones(2, 3)),
            lambda: nn_.BatchNorm1d(3)(lib.ones(2, 3, 4, 5)),
            lambda: nn_.ParameterList()(1),
            lambda: nn_.ParameterDict()(1),
        ]
        out = []
        for attempt in attempts:
            try:
                attempt()
                out.append(None)
            except Exception as err:  # noqa: BLE001 - we compare every error
                out.append((type(err).__name__, _sorted_sets(str(err))))
        return out

    assert errors(gradviz) == errors(torch)


def test_embedding_from_pretrained_and_padding_row() -> None:
    weights = gradviz.tensor([[1.0, 2.0], [3.0, 4.0]])
    emb = nn.Embedding.from_pretrained(weights)
    assert not emb.weight.requires_grad
    assert emb(gradviz.tensor([1])).tolist() == [[3.0, 4.0]]
    padded = nn.Embedding(4, 3, padding_idx=2)
    assert padded.weight[2].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(
        AssertionError, match="Embeddings parameter is expected to be 2-dimensional"
    ):
        nn.Embedding.from_pretrained(gradviz.ones(3))


def test_layer_reprs_match_torch(torch) -> None:
    def reprs(lib):
        nn_ = lib.nn
        return [
            repr(m)
            for m in (
                nn_.Conv1d(2, 3, 5, stride=2, padding=2, dilation=1, groups=1, bias=False),
                nn_.Conv2d(
                    4, 4, (3, 1), padding="same", dilation=2, groups=4, padding_mode="reflect"
                ),
                nn_.AvgPool2d(3, stride=2, padding=1),
                nn_.AdaptiveAvgPool2d((None, 7)),
                nn_.Embedding(10, 3, padding_idx=0, max_norm=1.0, norm_type=1.0),
                nn_.LayerNorm([2, 3], eps=1e-6, bias=False),
                nn_.BatchNorm2d(8, momentum=None, affine=False),
                nn_.Softmax(),
                nn_.ELU(inplace=True),
                nn_.LeakyReLU(inplace=True),
                nn_.SiLU(inplace=True),
                nn_.Bilinear(2, 3, 4, bias=False),
                nn_.CrossEntropyLoss(label_smoothing=0.1),
                nn_.BCEWithLogitsLoss(),
                nn_.HuberLoss(),
            )
        ]

    assert reprs(gradviz) == reprs(torch)


def test_parameter_containers_repr_and_state(torch) -> None:
    def build(lib):
        pl = lib.nn.ParameterList([lib.ones(2), lib.nn.Parameter(lib.zeros(3, 4))])
        pl.append(lib.ones(1))
        pd = lib.nn.ParameterDict({"b": lib.ones(2), "a": lib.nn.Parameter(lib.zeros(1))})
        pd["c"] = lib.ones(3)
        holder = lib.nn.Module()
        holder.pl = pl
        holder.pd = pd
        return holder, pl, pd

    (g, gpl, gpd), (t, tpl, tpd) = build(gradviz), build(torch)
    assert list(g.state_dict()) == list(t.state_dict())
    assert repr(g).replace("gradviz.", "torch.") == repr(t)
    assert len(gpl) == len(tpl) == 3 and all(isinstance(p, nn.Parameter) for p in gpl)
    assert len(gpl[1:]) == 2 and list(gpd.keys()) == list(tpd.keys())
    assert gpd.pop("c").shape == (3,) and "c" not in gpd
    assert gpd.get("zzz") is None and gpd.setdefault("z", gradviz.ones(1)).shape == (1,)


# ---------------------------------------------------------------------------- containers


def test_sequential_indexing_and_editing(torch) -> None:
    def probe(lib):
        nn_ = lib.nn
        a, b, c = nn_.Linear(1, 2), nn_.ReLU(), nn_.Linear(2, 1)
        s = nn_.Sequential(a, b)
        s.append(c)
        found = [len(s), s[0] is a, s[-1] is c, type(s[1:]).__name__, len(s[1:]), s[1:][0] is b]
        found.append([type(m).__name__ for m in s])
        s.insert(1, nn_.Tanh())
        found.append([type(m).__name__ for m in s])
        del s[1]
        found.append(list(s._modules))
        found.append(type(s.pop(0)).__name__)
        found.append(list(s._modules))
        s.extend([nn_.Sigmoid()])
        found.append(len(s + nn_.Sequential(nn_.ReLU())))
        found.append(len(s * 2))
        s[0] = nn_.GELU()
        found.append(repr(s))
        for bad in (lambda: s[10], lambda: s + [1], lambda: s * 0):
            with pytest.raises((IndexError, ValueError)) as info:
                bad()
            found.append((type(info.value).__name__, str(info.value).replace("gradviz", "torch")))
        return found

    assert probe(gradviz) == probe(torch)


def test_modulelist_and_moduledict(torch) -> None:
    def probe(lib):
        nn_ = lib.nn
        ml = nn_.ModuleList([nn_.ReLU(), nn_.Tanh()])
        ml.append(nn_.Sigmoid())
        ml.extend([nn_.ReLU()])
        ml.insert(0, nn_.GELU())
        found = [len(ml), [type(m).__name__ for m in ml], type(ml[1:3]).__name__, len(ml[1:3])]
        del ml[0]
        found.append(list(ml._modules))
        found.append(repr(ml + nn_.ModuleList([nn_.Tanh()])))
        md = nn_.ModuleDict([("x", nn_.ReLU()), ("y", nn_.Tanh())])
        md["z"] = nn_.Sigmoid()
        found += [list(md), list(md.keys()), "x" in md, type(md.pop("y")).__name__, len(md)]
        md.update({"w": nn_.ReLU()})
        found.append(list(md.keys()))
        found.append(repr(md))
        md.clear()
        found.append(len(md))
        for bad in (lambda: ml[7], lambda: ml.extend(3), lambda: md.update(3)):
            with pytest.raises((IndexError, TypeError)) as info:
                bad()
            found.append((type(info.value).__name__, str(info.value)))
        return found

    assert probe(gradviz) == probe(torch)


def test_modulelist_cannot_be_called() -> None:
    with pytest.raises(NotImplementedError, match="ModuleList"):
        nn.ModuleList([nn.ReLU()])(gradviz.ones(1))


# ---------------------------------------------------------------------------- init


def test_calculate_gain_matches_torch(torch) -> None:
    cases = [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ]
    for name, param in cases:
        assert nn.init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    for bad in (("softsign", None), ("leaky_relu", "x")):
        with pytest.raises(ValueError) as g_err:
            nn.init.calculate_gain(*bad)
        with pytest.raises(ValueError) as t_err:
            torch.nn.init.calculate_gain(*bad)
        assert str(g_err.value) == str(t_err.value)


def test_fan_in_and_out(torch) -> None:
    for shape in [(3, 4), (8, 3, 5, 5), (2, 6, 7)]:
        got = nn.init._calculate_fan_in_and_fan_out(gradviz.zeros(*shape))
        assert got == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        nn.init._calculate_fan_in_and_fan_out(gradviz.zeros(3))


def test_init_functions_fill_within_bounds() -> None:
    gradviz.manual_seed(0)
    w = gradviz.empty(200, 50)
    assert nn.init.uniform_(w, -0.5, 0.5) is w
    assert -0.5 <= w.min().item() and w.max().item() <= 0.5
    nn.init.constant_(w, 0.25)
    assert set(np.unique(w.numpy()).tolist()) == {0.25}
    nn.init.zeros_(w)
    assert w.abs().sum().item() == 0
    nn.init.ones_(w)
    assert w.sum().item() == 200 * 50
    a = math.sqrt(6 / 250)
    nn.init.xavier_uniform_(w)
    assert w.abs().max().item() <= a and w.abs().max().item() > 0.9 * a
    nn.init.xavier_normal_(w)
    assert abs(float(w.numpy().std()) - math.sqrt(2 / 250)) < 0.01
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(float(w.numpy().std()) - math.sqrt(2 / 200)) < 0.01
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = math.sqrt(3) * math.sqrt(2 / 6) / math.sqrt(50)
    assert w.abs().max().item() <= bound + 1e-7
    nn.init.normal_(w, 2.0, 0.1)
    assert abs(float(w.numpy().mean()) - 2.0) < 0.01
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_uniform_(w, mode="fan_avg")
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        nn.init.kaiming_uniform_(gradviz.empty(0, 3))


def test_init_on_parameter_keeps_it_a_leaf() -> None:
    p = nn.Parameter(gradviz.empty(3, 3))
    nn.init.kaiming_uniform_(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_default_init_bounds() -> None:
    gradviz.manual_seed(0)
    lin = nn.Linear(16, 300)
    bound = 1 / math.sqrt(16)
    assert lin.weight.abs().max().item() <= bound and lin.weight.abs().max().item() > 0.9 * bound
    assert lin.bias.abs().max().item() <= bound and lin.bias.abs().max().item() > 0.9 * bound
    conv = nn.Conv2d(3, 64, 3)
    cbound = 1 / math.sqrt(27)
    assert conv.weight.abs().max().item() <= cbound
    assert conv.bias.abs().max().item() <= cbound


# ---------------------------------------------------------------------------- clip_grad


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
def test_clip_grad_norm_matches_torch(torch, norm_type: float) -> None:
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,), (2, 2)]]

    def run(lib):
        params = [lib.nn.Parameter(lib.zeros(*g.shape)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = lib.tensor(g)
        params.append(lib.nn.Parameter(lib.zeros(2)))  # no grad: skipped
        total = lib.nn.utils.clip_grad_norm_(params, 0.5, norm_type=norm_type)
        return total.item(), [p.grad.numpy() for p in params[:-1]]

    (g_total, g_grads), (t_total, t_grads) = run(gradviz), run(torch)
    assert g_total == pytest.approx(t_total, rel=1e-5)
    for a, b in zip(g_grads, t_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_edge_cases() -> None:
    p = nn.Parameter(gradviz.zeros(2))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0
    p.grad = gradviz.tensor([0.3, 0.4])
    assert nn.utils.clip_grad_norm_(p, 10.0).item() == pytest.approx(0.5)
    assert p.grad.tolist() == pytest.approx([0.3, 0.4])  # below max_norm: unchanged
    p.grad = gradviz.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        nn.utils.clip_grad_norm_((q for q in []), 1.0)


def test_clip_grad_value_matches_torch(torch) -> None:
    values = np.array([[-3.0, 0.5], [2.0, -0.1]], dtype=np.float32)

    def run(lib):
        p = lib.nn.Parameter(lib.zeros(2, 2))
        p.grad = lib.tensor(values)
        lib.nn.utils.clip_grad_value_([p], 1.0)
        return p.grad.numpy()

    np.testing.assert_array_equal(run(gradviz), run(torch))


# ---------------------------------------------------------------------------- training


def test_training_matches_torch(torch) -> None:
    def losses(lib, state):
        nn_ = lib.nn
        model = nn_.Sequential(
            nn_.Conv2d(1, 4, 3, padding=1),
            nn_.BatchNorm2d(4),
            nn_.ReLU(),
            nn_.MaxPool2d(2),
            nn_.Flatten(),
            nn_.Linear(4 * 4 * 4, 3),
        )
        if state is not None:
            model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        rng = np.random.default_rng(7)
        x = lib.tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32))
        y = lib.tensor(rng.integers(0, 3, size=8))
        loss_fn = nn_.CrossEntropyLoss()
        out = []
        for _ in range(5):
            model.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            with lib.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
            out.append(loss.item())
        return out, model

    torch.manual_seed(0)
    _, tmodel = losses(torch, None)
    torch.manual_seed(0)
    fresh = losses.__code__  # keep flake8 quiet about unused names in this closure-heavy test
    assert fresh is not None
    start = {
        k: v.numpy()
        for k, v in torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1),
            torch.nn.BatchNorm2d(4),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(64, 3),
        )
        .state_dict()
        .items()
    }
    t_losses, tmodel = losses(torch, start)
    g_losses, gmodel = losses(gradviz, start)
    np.testing.assert_allclose(g_losses, t_losses, rtol=2e-4, atol=1e-5)
    assert g_losses[-1] < g_losses[0]
    for (name, a), (_, b) in zip(
        gmodel.state_dict().items(), tmodel.state_dict().items(), strict=True
    ):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)


def test_functional_is_exported() -> None:
    assert nn.functional is F
    assert nn.modules.Linear is nn.Linear
    assert nn.parameter.Parameter is nn.Parameter


def test_conv_option_errors_are_deterministic() -> None:
    with pytest.raises(ValueError) as info:
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    assert str(info.value) == (
        "padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, "
        "but got padding_mode='mirror'"
    )
    with pytest.raises(ValueError) as info:
        nn.Conv1d(2, 2, 3, padding="full")
    assert str(info.value) == "Invalid padding string 'full', should be one of {'same', 'valid'}"


# ---------------------------------------------------------------------------- attention


def _mha_inputs(rng: np.random.Generator, case: dict[str, Any]) -> dict[str, Any]:
    shape_q = case.get("q", (4, 3, 8))
    shape_kv = case.get("kv", shape_q)
    kdim = case.get("module", {}).get("kdim", shape_q[-1])
    vdim = case.get("module", {}).get("vdim", shape_q[-1])
    return {
        "q": rng.standard_normal(shape_q),
        "k": rng.standard_normal(shape_kv[:-1] + (kdim,)),
        "v": rng.standard_normal(shape_kv[:-1] + (vdim,)),
    }


MHA_CASES = {
    "plain": {},
    "no-weights-avg": {"call": {"average_attn_weights": False}},
    "need-weights-false": {"call": {"need_weights": False}},
    "batch-first": {"module": {"batch_first": True}, "q": (3, 4, 8)},
    "cross-kdim-vdim": {"module": {"kdim": 5, "vdim": 6}, "kv": (6, 3, 8)},
    "bias-kv-zero-attn": {"module": {"add_bias_kv": True, "add_zero_attn": True}},
    "no-bias": {"module": {"bias": False}},
    "bool-mask": {"mask": "causal-bool"},
    "float-mask-3d": {"mask": "float3d"},
    "key-padding": {"kpm": True},
    "key-padding-and-mask": {"kpm": True, "mask": "causal-bool", "module": {"add_zero_attn": True}},
    "is-causal": {"mask": "causal-bool", "call": {"is_causal": True, "need_weights": False}},
    "unbatched": {"q": (4, 8)},
}


def _run_mha(lib: Any, state: dict[str, np.ndarray], case: dict[str, Any]) -> list[Any]:
    module = lib.nn.MultiheadAttention(8, 2, **case.get("module", {})).double()
    module.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    rng = np.random.default_rng(3)
    arrays = _mha_inputs(rng, case)
    q, k, v = (lib.tensor(arrays[n]).requires_grad_(True) for n in ("q", "k", "v"))
    call = dict(case.get("call", {}))
    batch_first = case.get("module", {}).get("batch_first", False)
    L = arrays["q"].shape[1 if batch_first else 0]  # noqa: N806
    S = arrays["k"].shape[1 if batch_first else 0] if q.dim() == 3 else arrays["k"].shape[0]  # noqa: N806
    n = arrays["q"].shape[0 if batch_first else 1] if q.dim() == 3 else 1
    if case.get("mask") == "causal-bool":
        call["attn_mask"] = lib.tensor(np.triu(np.ones((L, S), dtype=bool), 1))
    elif case.get("mask") == "float3d":
        call["attn_mask"] = lib.tensor(rng.standard_normal((n * 2, L, S)))
    if case.get("kpm"):
        kpm = np.zeros((n, S), dtype=bool)
        kpm[:, -1] = True
        call["key_padding_mask"] = lib.tensor(kpm)
    out, weights = module(q, k, v, **call)
    total = out.sum() if weights is None else out.sum() + (weights * weights).sum()
    total.backward()
    grads = [t.grad.numpy() for t in (q, k, v)]
    pgrads = [p.grad.numpy() for p in module.parameters()]
    return (
        [out.detach().numpy(), None if weights is None else weights.detach().numpy()]
        + grads
        + pgrads
    )


@pytest.mark.parametrize("name", list(MHA_CASES))
def test_multihead_attention_matches_torch(torch, name: str) -> None:
    case = MHA_CASES[name]
    torch.manual_seed(0)
    ref_module = torch.nn.MultiheadAttention(8, 2, **case.get("module", {})).double()
    state = {k: v.numpy().copy() for k, v in ref_module.state_dict().items()}
    ref, got = _run_mha(torch, state, case), _run_mha(gradviz, state, case)
    assert len(ref) == len(got)
    for i, (a, b) in enumerate(zip(got, ref, strict=True)):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10, err_msg=f"result {i}")


def test_multihead_attention_structure_matches_torch(torch) -> None:
    for kwargs in ({}, {"kdim": 3, "vdim": 5, "bias": False}, {"add_bias_kv": True}):
        g = nn.MultiheadAttention(8, 4, **kwargs)
        t = torch.nn.MultiheadAttention(8, 4, **kwargs)
        assert repr(g) == repr(t)
        assert list(g.state_dict()) == list(t.state_dict())
        assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]


def test_multihead_attention_errors_match_torch(torch) -> None:
    def errors(lib):
        found = []
        for attempt in (
            lambda: lib.nn.MultiheadAttention(8, 3),
            lambda: lib.nn.MultiheadAttention(0, 2),
            lambda: lib.nn.MultiheadAttention(8, 2)(*(3 * [lib.ones(2, 1, 6)])),
            lambda: lib.nn.MultiheadAttention(8, 2)(
                *(3 * [lib.ones(2, 1, 8)]), attn_mask=lib.ones(3, 3)
            ),
            lambda: lib.nn.MultiheadAttention(8, 2)(*(3 * [lib.ones(2, 1, 8)]), is_causal=True),
        ):
            try:
                attempt()
                found.append(None)
            except Exception as err:  # noqa: BLE001 - we compare every error
                found.append((type(err).__name__, str(err)))
        return found

    assert errors(gradviz) == errors(torch)


@pytest.mark.parametrize(
    "options",
    [{}, {"norm_first": True, "activation": "gelu"}, {"batch_first": True, "bias": False}],
)
def test_transformer_encoder_layer_matches_torch(torch, options: dict[str, Any]) -> None:
    def run(lib, state):
        layer = lib.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **options)
        layer = layer.double()
        if state is not None:
            layer.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        x = lib.tensor(np.random.default_rng(5).standard_normal((4, 3, 8))).requires_grad_(True)
        mask = lib.tensor(np.triu(np.ones((4, 4), dtype=bool), 1)) if not options else None
        out = layer(x, src_mask=mask)
        (out * out).sum().backward()
        return (
            layer,
            out.detach().numpy(),
            x.grad.numpy(),
            [p.grad.numpy() for p in layer.parameters()],
        )

    torch.manual_seed(0)
    template = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **options)
    state = {k: v.double().numpy().copy() for k, v in template.state_dict().items()}
    t_layer, *ref = run(torch, state)
    g_layer, *got = run(gradviz, state)
    assert repr(g_layer) == repr(t_layer)
    assert list(g_layer.state_dict()) == list(t_layer.state_dict())
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-8, atol=1e-10)
    for a, b in zip(got[2], ref[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_transformer_block_trains() -> None:
    gradviz.manual_seed(0)
    model = nn.Sequential(
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
        nn.Flatten(),
        nn.Linear(5 * 8, 2),
    )
    x = gradviz.randn(16, 5, 8)
    y = (x.sum((1, 2)) > 0).long()
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(30):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with gradviz.no_grad():
            for p in model.parameters():
                p -= 0.05 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    out = model(x)
    assert out.grad_fn.module == "2"
