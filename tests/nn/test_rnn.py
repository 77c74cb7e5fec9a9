"""Recurrent layers (RNN, LSTM, GRU and their cells), compared with PyTorch 2.13.

Each differential case builds the same module in torch and gradviz, copies torch's
``state_dict`` into gradviz, runs both on the same inputs and compares outputs, final
states and every gradient (input, initial states, parameters), then the graphs: the
output node's name, the multiset of node names and the whole structure (names, edge
order and input numbers). PyTorch's CPU ``nn.LSTM`` is one fused oneDNN node, so LSTM
graphs are compared with torch's own unfused graph (oneDNN disabled). ``gradcheck``
checks every module and cell numerically in float64; dropout between layers cannot match
torch's random numbers, so it is checked by what it must do.
"""

from __future__ import annotations

import collections
import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.autograd import gradcheck, gradgradcheck
from gradviz.nn.modules import rnn as R  # noqa: N812 - the namespace mirroring torch.nn

SEED = 20240717
INPUT, HIDDEN = 3, 4


# --------------------------------------------------------------------------- helpers


def _node_names(root: Any) -> collections.Counter[str]:
    """Count the node names of the graph below ``root`` (each node once)."""
    seen: set[int] = set()
    stack = [root]
    names: collections.Counter[str] = collections.Counter()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names[node.name()] += 1
        stack.extend(child for child, _ in node.next_functions)
    return names


def _structure(root: Any) -> int:
    """Hash the graph below ``root``: names, edge order and input numbers, bottom-up."""
    memo: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            children = tuple(
                (None if child is None else memo[id(child)], nr)
                for child, nr in node.next_functions
            )
            memo[id(node)] = hash((node.name(), children))
            continue
        if id(node) in memo:
            continue
        stack.append((node, True))
        stack.extend(
            (child, False)
            for child, _ in node.next_functions
            if child is not None and id(child) not in memo
        )
    return memo[id(root)]


@contextlib.contextmanager
def _torch_unfused(torch: ModuleType) -> Iterator[None]:
    """Run torch without oneDNN, so that its LSTM is built from ordinary ops."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a note about TF32 on Intel GPUs
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def _copy_weights(torch_module: Any, module: Any) -> None:
    module.load_state_dict(
        {k: gradviz.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()}
    )


def _pair(torch: ModuleType, cls: str, dtype: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Return (torch module, gradviz module) of class ``cls`` with the same weights."""
    torch.manual_seed(SEED)
    tm = getattr(torch.nn, cls)(*args, **kwargs).to(getattr(torch, dtype))
    gm = getattr(R, cls)(*args, **kwargs).to(getattr(gradviz, dtype))
    _copy_weights(tm, gm)
    return tm, gm


def _tensors(
    torch: ModuleType, arrays: list[np.ndarray], dtype: str
) -> tuple[list[Any], list[Any]]:
    ts = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    gs = [gradviz.tensor(a, dtype=getattr(gradviz, dtype), requires_grad=True) for a in arrays]
    return ts, gs


def _flat(result: Any) -> list[Any]:
    if isinstance(result, tuple):
        return [x for part in result for x in _flat(part)]
    return [result]


def _tolerances(dtype: str) -> dict[str, float]:
    return {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}


def _compare_run(
    torch: ModuleType,
    tm: Any,
    gm: Any,
    arrays: list[np.ndarray],
    call: Callable[[Any, list[Any]], Any],
    dtype: str,
    unfused: bool = False,
) -> tuple[list[Any], list[Any]]:
    """Run both modules, compare outputs and all gradients; return the flat outputs."""
    tin, gin = _tensors(torch, arrays, dtype)
    with _torch_unfused(torch) if unfused else contextlib.nullcontext():
        t_out = _flat(call(tm, tin))
    g_out = _flat(call(gm, gin))
    tol = _tolerances(dtype)
    assert len(t_out) == len(g_out)
    for a, b in zip(t_out, g_out, strict=True):
        assert tuple(b.shape) == tuple(a.shape)
        assert b.dtype == getattr(gradviz, dtype)
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), **tol)
    rng = np.random.default_rng(SEED + 1)
    upstream = [rng.standard_normal(tuple(a.shape)) for a in t_out]
    tdt, gdt = getattr(torch, dtype), getattr(gradviz, dtype)
    sum(
        (a * torch.tensor(u, dtype=tdt)).sum() for a, u in zip(t_out, upstream, strict=True)
    ).backward()
    sum(
        (b * gradviz.tensor(u, dtype=gdt)).sum() for b, u in zip(g_out, upstream, strict=True)
    ).backward()
    for a, b in zip(tin, gin, strict=True):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **tol)
    t_params = dict(tm.named_parameters())
    g_params = dict(gm.named_parameters())
    assert list(g_params) == list(t_params)
    for name, p in t_params.items():
        np.testing.assert_allclose(g_params[name].grad.numpy(), p.grad.numpy(), **tol)
    return t_out, g_out


def _assert_same_graph(t_out: list[Any], g_out: list[Any]) -> None:
    for a, b in zip(t_out, g_out, strict=True):
        assert b.grad_fn.name() == a.grad_fn.name()
        assert _node_names(b.grad_fn) == _node_names(a.grad_fn)
        assert _structure(b.grad_fn) == _structure(a.grad_fn)


# --------------------------------------------------------------------------- layers

# (class, constructor keywords, batched input, with initial state)
LAYER_CASES = [
    ("RNN", {}, True, False),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, True, True),
    ("RNN", {"batch_first": True, "bidirectional": True}, True, True),
    ("RNN", {"bias": False}, False, True),
    ("RNN", {"batch_first": True}, False, False),
    ("RNN", {"num_layers": 2, "dropout": 0.5}, True, True),  # compared in eval mode
    ("GRU", {}, True, True),
    ("GRU", {"num_layers": 2, "bidirectional": True}, True, False),
    ("GRU", {"bias": False, "batch_first": True}, True, True),
    ("GRU", {}, False, True),
    ("LSTM", {}, True, True),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}, True, True),
    ("LSTM", {"bias": False}, False, False),
    ("LSTM", {"proj_size": 2, "num_layers": 2}, True, True),
    ("LSTM", {"proj_size": 2, "bidirectional": True, "batch_first": True}, False, True),
]
SEQ, BATCH = 5, 2


def _layer_arrays(cls: str, kwargs: dict[str, Any], batched: bool, with_state: bool) -> list[Any]:
    rng = np.random.default_rng(SEED)
    batch_first = kwargs.get("batch_first", False)
    shape: tuple[int, ...] = (SEQ, INPUT)
    if batched:
        shape = (BATCH, SEQ, INPUT) if batch_first else (SEQ, BATCH, INPUT)
    arrays = [rng.standard_normal(shape)]
    if with_state:
        lead = (kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1),)
        lead += (BATCH,) if batched else ()
        arrays.append(rng.standard_normal((*lead, kwargs.get("proj_size", 0) or HIDDEN)))
        if cls == "LSTM":
            arrays.append(rng.standard_normal((*lead, HIDDEN)))
    return arrays


def _layer_call(cls: str) -> Callable[[Any, list[Any]], Any]:
    def call(module: Any, ins: list[Any]) -> Any:
        if len(ins) == 1:
            return module(ins[0])
        return module(ins[0], (ins[1], ins[2]) if cls == "LSTM" else ins[1])

    return call


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cls", "kwargs", "batched", "with_state"), LAYER_CASES)
def test_layer_matches_torch(
    torch: ModuleType,
    cls: str,
    kwargs: dict[str, Any],
    batched: bool,
    with_state: bool,
    dtype: str,
) -> None:
    tm, gm = _pair(torch, cls, dtype, INPUT, HIDDEN, **kwargs)
    if kwargs.get("dropout"):
        tm.eval()
        gm.eval()
    arrays = _layer_arrays(cls, kwargs, batched, with_state)
    t_out, g_out = _compare_run(
        torch, tm, gm, arrays, _layer_call(cls), dtype, unfused=cls == "LSTM"
    )
    _assert_same_graph(t_out, g_out)


@pytest.mark.parametrize(
    ("cls", "kwargs", "expected"),
    [
        ("RNN", {}, "StackBackward0"),
        ("RNN", {"batch_first": True}, "TransposeBackward1"),
        ("GRU", {"batch_first": True, "bidirectional": True}, "TransposeBackward1"),
        ("GRU", {"num_layers": 2, "bidirectional": True}, "CatBackward0"),
        ("LSTM", {"batch_first": True}, "TransposeBackward0"),
    ],
)
def test_output_node_names(cls: str, kwargs: dict[str, Any], expected: str) -> None:
    batched = (BATCH, SEQ, INPUT) if kwargs.get("batch_first") else (SEQ, BATCH, INPUT)
    out, state = getattr(R, cls)(INPUT, HIDDEN, **kwargs)(gradviz.randn(*batched))
    assert out.grad_fn.name() == expected
    for h in _flat(state):
        assert h.grad_fn.name() == "StackBackward0"


def test_lstm_graph_is_built_from_cell_ops(torch: ModuleType) -> None:
    # Each LSTM step is LSTMCell's graph: h' = o * tanh(c') over SigmoidBackward0/TanhBackward0.
    out, (h_n, _) = R.LSTM(INPUT, HIDDEN)(gradviz.randn(SEQ, BATCH, INPUT))
    last = h_n.grad_fn.next_functions[0][0]
    assert last.name() == "MulBackward0"
    assert [n.name() for n, _ in last.next_functions] == ["SigmoidBackward0", "TanhBackward0"]
    names = _node_names(out.grad_fn)
    assert names["UnsafeSplitBackward0"] == SEQ
    assert "MkldnnRnnLayerBackward0" not in names


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_shapes_match_torch(
    torch: ModuleType,
    cls: str,
    batched: bool,
    batch_first: bool,
    bidirectional: bool,
    num_layers: int,
) -> None:
    kwargs = {"num_layers": num_layers, "bidirectional": bidirectional, "batch_first": batch_first}
    shape = (BATCH, SEQ, INPUT) if batch_first else (SEQ, BATCH, INPUT)
    x = np.ones(shape if batched else (SEQ, INPUT))
    t_out = _flat(getattr(torch.nn, cls)(INPUT, HIDDEN, **kwargs)(torch.tensor(x).float()))
    g_out = _flat(getattr(R, cls)(INPUT, HIDDEN, **kwargs)(gradviz.tensor(x).float()))
    assert [tuple(b.shape) for b in g_out] == [tuple(a.shape) for a in t_out]


# --------------------------------------------------------------------------- cells

CELL_CASES = [
    ("RNNCell", {}, True, True),
    ("RNNCell", {"nonlinearity": "relu"}, True, False),
    ("RNNCell", {"bias": False}, False, True),
    ("GRUCell", {}, True, True),
    ("GRUCell", {"bias": False}, True, False),
    ("GRUCell", {}, False, True),
    ("LSTMCell", {}, True, True),
    ("LSTMCell", {}, True, False),
    ("LSTMCell", {"bias": False}, False, True),
]


def _cell_arrays(cls: str, batched: bool, with_state: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(SEED)
    lead = (BATCH,) if batched else ()
    arrays = [rng.standard_normal((*lead, INPUT))]
    if with_state:
        arrays += [
            rng.standard_normal((*lead, HIDDEN)) for _ in range(2 if cls == "LSTMCell" else 1)
        ]
    return arrays


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cls", "kwargs", "batched", "with_state"), CELL_CASES)
def test_cell_matches_torch(
    torch: ModuleType,
    cls: str,
    kwargs: dict[str, Any],
    batched: bool,
    with_state: bool,
    dtype: str,
) -> None:
    tm, gm = _pair(torch, cls, dtype, INPUT, HIDDEN, **kwargs)
    arrays = _cell_arrays(cls, batched, with_state)
    t_out, g_out = _compare_run(torch, tm, gm, arrays, _layer_call(cls[:4]), dtype)
    _assert_same_graph(t_out, g_out)


def test_cell_output_nodes() -> None:
    assert R.RNNCell(3, 4)(gradviz.randn(2, 3)).grad_fn.name() == "TanhBackward0"
    assert R.RNNCell(3, 4, nonlinearity="relu")(gradviz.randn(3)).grad_fn.name() == (
        "SqueezeBackward1"
    )
    assert R.GRUCell(3, 4)(gradviz.randn(2, 3)).grad_fn.name() == "AddBackward0"
    h, c = R.LSTMCell(3, 4)(gradviz.randn(2, 3))
    assert (h.grad_fn.name(), c.grad_fn.name()) == ("MulBackward0", "AddBackward0")
    assert [n.name() for n, _ in h.grad_fn.next_functions] == [
        "SigmoidBackward0",
        "TanhBackward0",
    ]


# --------------------------------------------------------------------------- gradcheck


def _f64(*shape: int) -> gradviz.Tensor:
    return gradviz.randn(*shape, dtype=gradviz.float64, requires_grad=True)


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        ("RNN", {"num_layers": 2, "bidirectional": True}),
        ("RNN", {"nonlinearity": "relu", "batch_first": True}),
        ("GRU", {"num_layers": 2, "bias": False}),
        ("GRU", {"bidirectional": True, "batch_first": True}),
        ("LSTM", {"num_layers": 2, "bidirectional": True}),
        ("LSTM", {"proj_size": 1, "batch_first": True}),
    ],
)
def test_layer_gradcheck(cls: str, kwargs: dict[str, Any]) -> None:
    gradviz.manual_seed(SEED)
    module = getattr(R, cls)(2, 2, dtype=gradviz.float64, **kwargs)
    directions = 2 if kwargs.get("bidirectional") else 1
    states = kwargs.get("num_layers", 1) * directions
    h_size = kwargs.get("proj_size", 0) or 2
    x = _f64(2, 3, 2)  # batch 2 and length 3, or the other way round
    h0 = _f64(states, 2 if kwargs.get("batch_first") else 3, h_size)
    if cls == "LSTM":
        c0 = _f64(*h0.shape[:2], 2)
        assert gradcheck(lambda x, h, c: _flat(module(x, (h, c))), (x, h0, c0))
    else:
        assert gradcheck(lambda x, h: _flat(module(x, h)), (x, h0))


@pytest.mark.parametrize("cls", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cell_gradcheck(cls: str) -> None:
    gradviz.manual_seed(SEED)
    cell = getattr(R, cls)(3, 2, dtype=gradviz.float64)
    x, h = _f64(2, 3), _f64(2, 2)
    if cls == "LSTMCell":
        assert gradcheck(lambda x, h, c: _flat(cell(x, (h, c))), (x, h, _f64(2, 2)))
    else:
        assert gradcheck(lambda x, h: cell(x, h), (x, h))


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [("GRU", {}), ("RNN", {"batch_first": True}), ("LSTM", {"proj_size": 1})],
)
def test_layer_gradgradcheck(cls: str, kwargs: dict[str, Any]) -> None:
    # Second derivatives through UnsafeSplitBackward0 and TransposeBackward1 too.
    gradviz.manual_seed(SEED)
    module = getattr(R, cls)(2, 2, dtype=gradviz.float64, **kwargs)
    x = _f64(2, 2, 2)
    assert gradgradcheck(lambda x: _flat(module(x)), (x,))


# --------------------------------------------------------------------------- parameters

PARAM_CASES = [
    ("RNN", {}),
    ("RNN", {"num_layers": 2, "bidirectional": True, "bias": False}),
    ("GRU", {"num_layers": 3}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
    ("LSTM", {"bias": False, "proj_size": 3}),
    ("RNNCell", {"bias": False}),
    ("GRUCell", {}),
    ("LSTMCell", {}),
]


@pytest.mark.parametrize(("cls", "kwargs"), PARAM_CASES)
def test_parameters_match_torch(torch: ModuleType, cls: str, kwargs: dict[str, Any]) -> None:
    tm = getattr(torch.nn, cls)(INPUT, HIDDEN, **kwargs)
    gm = getattr(R, cls)(INPUT, HIDDEN, **kwargs)
    expected = [(k, tuple(v.shape)) for k, v in tm.named_parameters()]
    assert [(k, tuple(v.shape)) for k, v in gm.named_parameters()] == expected
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert repr(gm) == repr(tm)
    if hasattr(tm, "all_weights"):
        shapes = [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
        assert [[tuple(w.shape) for w in ws] for ws in gm.all_weights] == shapes
        assert gm._flat_weights == [getattr(gm, n) for n in tm._flat_weights_names]


@pytest.mark.parametrize(
    "build",
    [
        lambda nn: nn.RNN(3, 4, num_layers=2, bias=False, batch_first=True, bidirectional=True),
        lambda nn: nn.RNN(3, 4, nonlinearity="relu"),
        lambda nn: nn.RNN(3, 4, 2, "relu", dropout=0.25),
        lambda nn: nn.LSTM(3, 4, proj_size=2),
        lambda nn: nn.GRU(3, 4),
        lambda nn: nn.RNNCell(3, 4, bias=False, nonlinearity="relu"),
        lambda nn: nn.LSTMCell(3, 4),
        lambda nn: nn.GRUCell(3, 4, bias=False),
    ],
)
def test_repr_matches_torch(torch: ModuleType, build: Callable[[Any], Any]) -> None:
    assert repr(build(R)) == repr(build(torch.nn))


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_initialisation_is_uniform_within_bound(cls: str) -> None:
    gradviz.manual_seed(SEED)
    module = getattr(R, cls)(5, 16)
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.8 * bound and values.max() > 0.8 * bound  # spread over the range
    assert all(p.dtype == gradviz.float32 for p in module.parameters())
    assert all(p.requires_grad for p in module.parameters())


def test_dtype_argument() -> None:
    module = R.GRU(3, 4, dtype=gradviz.float64)
    assert {p.dtype for p in module.parameters()} == {gradviz.float64}
    out, h = module(gradviz.randn(2, 1, 3, dtype=gradviz.float64))
    assert out.dtype == h.dtype == gradviz.float64


# --------------------------------------------------------------------------- errors

ERROR_CASES: list[tuple[str, Callable[[Any, Callable[..., Any]], Any]]] = [
    ("input size", lambda nn, make: nn.RNN(3, 4)(make(5, 2, 4))),
    ("input 4-D", lambda nn, make: nn.RNN(3, 4)(make(5, 2, 3, 1))),
    ("input 1-D", lambda nn, make: nn.RNN(3, 4)(make(3))),
    ("GRU input 4-D", lambda nn, make: nn.GRU(3, 4)(make(5, 2, 3, 1))),
    ("LSTM input 4-D", lambda nn, make: nn.LSTM(3, 4)(make(5, 2, 3, 1))),
    ("hidden shape", lambda nn, make: nn.RNN(3, 4)(make(5, 2, 3), make(1, 3, 4))),
    (
        "hidden shape bidir",
        lambda nn, make: nn.GRU(3, 4, bidirectional=True)(make(5, 2, 3), make(1, 2, 4)),
    ),
    ("hidden 2-D batched", lambda nn, make: nn.RNN(3, 4)(make(5, 2, 3), make(1, 4))),
    ("hidden 3-D unbatched", lambda nn, make: nn.GRU(3, 4)(make(5, 3), make(1, 1, 4))),
    ("hidden unbatched shape", lambda nn, make: nn.RNN(3, 4)(make(5, 3), make(2, 4))),
    ("lstm h shape", lambda nn, make: nn.LSTM(3, 4)(make(5, 2, 3), (make(1, 3, 4), make(1, 2, 4)))),
    ("lstm c shape", lambda nn, make: nn.LSTM(3, 4)(make(5, 2, 3), (make(1, 2, 4), make(1, 3, 4)))),
    (
        "lstm proj h",
        lambda nn, make: nn.LSTM(3, 4, proj_size=2)(make(5, 2, 3), (make(1, 2, 4), make(1, 2, 4))),
    ),
    (
        "lstm 2-D batched",
        lambda nn, make: nn.LSTM(3, 4)(make(5, 2, 3), (make(2, 4), make(1, 2, 4))),
    ),
    (
        "lstm 3-D unbatched",
        lambda nn, make: nn.LSTM(3, 4)(make(5, 3), (make(1, 2, 4), make(1, 2, 4))),
    ),
    ("empty sequence", lambda nn, make: nn.RNN(3, 4)(make(0, 2, 3))),
    ("nonlinearity", lambda nn, make: nn.RNN(3, 4, nonlinearity="sigmoid")),
    ("dropout range", lambda nn, make: nn.RNN(3, 4, num_layers=2, dropout=1.5)),
    ("dropout bool", lambda nn, make: nn.LSTM(3, 4, dropout=True)),
    ("proj_size on GRU", lambda nn, make: nn.GRU(3, 4, proj_size=2)),
    ("proj_size on RNN", lambda nn, make: nn.RNN(3, 4, proj_size=2)),
    ("proj_size too big", lambda nn, make: nn.LSTM(3, 4, proj_size=4)),
    ("proj_size negative", lambda nn, make: nn.LSTM(3, 4, proj_size=-1)),
    ("hidden_size zero", lambda nn, make: nn.RNN(3, 0)),
    ("input_size zero", lambda nn, make: nn.GRU(0, 3)),
    ("num_layers zero", lambda nn, make: nn.RNN(3, 3, num_layers=0)),
    ("input_size float", lambda nn, make: nn.RNN(3.0, 3)),
    ("hidden_size float", lambda nn, make: nn.RNN(3, 3.0)),
    ("bias int", lambda nn, make: nn.RNN(3, 3, bias=1)),
    ("batch_first int", lambda nn, make: nn.LSTM(3, 3, batch_first=1)),
    ("cell input size", lambda nn, make: nn.RNNCell(3, 4)(make(2, 4))),
    ("cell input 3-D", lambda nn, make: nn.RNNCell(3, 4)(make(2, 3, 1))),
    ("cell hidden 3-D", lambda nn, make: nn.GRUCell(3, 4)(make(2, 3), make(2, 4, 1))),
    ("cell batch", lambda nn, make: nn.GRUCell(3, 4)(make(2, 3), make(3, 4))),
    ("cell hidden size", lambda nn, make: nn.RNNCell(3, 4)(make(2, 3), make(2, 5))),
    ("cell unbatched hidden", lambda nn, make: nn.GRUCell(3, 4)(make(3), make(2, 4))),
    ("cell 1-D hidden", lambda nn, make: nn.RNNCell(3, 4)(make(2, 3), make(4))),
    ("cell 1-D hidden index", lambda nn, make: nn.RNNCell(3, 4)(make(4, 3), make(4))),
    ("cell nonlinearity", lambda nn, make: nn.RNNCell(3, 4, nonlinearity="x")(make(2, 3))),
    ("cell dtype", lambda nn, make: nn.GRUCell(3, 4)(make(2, 3).double())),
    ("lstmcell input 3-D", lambda nn, make: nn.LSTMCell(3, 4)(make(2, 3, 1))),
    (
        "lstmcell hx 3-D",
        lambda nn, make: nn.LSTMCell(3, 4)(make(2, 3), (make(2, 4), make(2, 4, 1))),
    ),
    ("lstmcell c batch", lambda nn, make: nn.LSTMCell(3, 4)(make(2, 3), (make(2, 4), make(3, 4)))),
    ("lstmcell c size", lambda nn, make: nn.LSTMCell(3, 4)(make(2, 3), (make(2, 4), make(2, 5)))),
]


@pytest.mark.parametrize(
    "call", [case for _, case in ERROR_CASES], ids=[name for name, _ in ERROR_CASES]
)
def test_errors_match_torch(torch: ModuleType, call: Callable[..., Any]) -> None:
    # The type is torch's, whatever it is; gradviz must raise the same.
    with pytest.raises(Exception) as expected:
        call(torch.nn, lambda *shape: torch.ones(*shape))
    with pytest.raises(expected.type) as got:
        call(R, lambda *shape: gradviz.ones(*shape))
    assert str(got.value) == str(expected.value)


def test_dtype_mismatch_error_names_gradviz_dtypes(torch: ModuleType) -> None:
    with pytest.raises(ValueError) as expected:
        torch.nn.LSTM(3, 4)(torch.ones(5, 2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"^RNN input dtype \(gradviz\.float64\)") as got:
        R.LSTM(3, 4)(gradviz.ones(5, 2, 3, dtype=gradviz.float64))
    assert str(got.value) == str(expected.value).replace("torch.", "gradviz.")


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"RNN.__init__\(\) got an unexpected keyword argument"):
        R.RNN(3, 4, hidden=3)


def test_dropout_warning_matches_torch(torch: ModuleType) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.nn.RNN(3, 4, dropout=0.5)
    with pytest.warns(UserWarning) as got:
        R.GRU(3, 4, dropout=0.5)
    assert [str(w.message) for w in got] == [str(w.message) for w in caught]
    assert got[0].filename == __file__  # points at the caller, as torch's does


# --------------------------------------------------------------------------- dropout


def test_dropout_applies_between_layers_in_training_only() -> None:
    gradviz.manual_seed(SEED)
    model = R.RNN(3, 4, num_layers=2, dropout=1.0)
    x = gradviz.randn(SEQ, BATCH, 3)
    h0 = gradviz.randn(2, BATCH, 4)
    out_train, h_train = model(x, h0)
    model.eval()
    out_eval, h_eval = model(x, h0)
    # The first layer is untouched by dropout ...
    np.testing.assert_allclose(h_train.detach().numpy()[0], h_eval.detach().numpy()[0], rtol=1e-6)
    # ... and with p = 1 the second layer sees zeros: it equals a one-layer RNN on zeros.
    second = R.RNN(4, 4)
    second.load_state_dict(
        {k.replace("l1", "l0"): v for k, v in model.state_dict().items() if k.endswith("l1")}
    )
    out_zero, h_zero = second(gradviz.zeros(SEQ, BATCH, 4), h0[1:])
    np.testing.assert_allclose(out_train.detach().numpy(), out_zero.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(h_train.detach().numpy()[1], h_zero.detach().numpy()[0], rtol=1e-6)
    assert not np.allclose(out_train.detach().numpy(), out_eval.detach().numpy())


def test_dropout_is_random_and_scaled() -> None:
    gradviz.manual_seed(SEED)
    model = R.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = gradviz.randn(SEQ, BATCH, 3)
    first, _ = model(x)
    second, _ = model(x)
    assert not np.allclose(first.detach().numpy(), second.detach().numpy())
    model.eval()
    a, _ = model(x)
    b, _ = model(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # The dropout node (a MulBackward0 by the mask) sits between the layers while training.
    model.train()
    out, _ = model(x)
    names = _node_names(out.grad_fn)
    model.eval()
    out_eval, _ = model(x)
    assert sum(names.values()) > sum(_node_names(out_eval.grad_fn).values())


# --------------------------------------------------------------------------- Module plumbing


def test_state_dict_round_trip_with_torch_keys(torch: ModuleType) -> None:
    torch.manual_seed(SEED)
    tm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    gm = R.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    result = gm.load_state_dict(
        {k: gradviz.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    )
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    assert list(gm.state_dict()) == list(tm.state_dict())
    copy = R.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    copy.load_state_dict(gm.state_dict())
    x = np.random.default_rng(SEED).standard_normal((SEQ, BATCH, 3))
    expected = tm(torch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(copy(gradviz.tensor(x))[0].detach().numpy(), expected, rtol=1e-10)
    # and back into torch
    back = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    back.load_state_dict(
        {k: torch.tensor(v.detach().numpy()) for k, v in copy.state_dict().items()}
    )
    np.testing.assert_allclose(back(torch.tensor(x))[0].detach().numpy(), expected, rtol=1e-10)


def test_double_and_to_keep_parameters() -> None:
    model = R.GRU(3, 4, num_layers=2)
    params = list(model.parameters())
    assert model.double() is model
    assert [p is q for p, q in zip(params, model.parameters(), strict=True)] == [True] * 8
    assert model.weight_ih_l1.dtype == gradviz.float64
    assert model(gradviz.randn(2, 1, 3, dtype=gradviz.float64))[0].dtype == gradviz.float64
    model.to(gradviz.float32)
    assert all(p.dtype == gradviz.float32 for p in model.all_weights[1])


def test_forward_hooks_and_train_eval() -> None:
    model = R.RNN(3, 4)
    seen: list[Any] = []
    handle = model.register_forward_hook(lambda m, args, out: seen.append((args, out)))
    x = gradviz.randn(SEQ, 3)
    out, h = model(x)
    handle.remove()
    assert len(seen) == 1 and seen[0][0][0] is x
    assert seen[0][1][0] is out and seen[0][1][1] is h
    assert model.eval().training is False and model.train().training is True


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_full_backward_hook_matches_torch(torch: ModuleType, cls: str) -> None:
    def record(lib: Any, module: Any) -> list[Any]:
        seen: list[Any] = []
        module.register_full_backward_hook(
            lambda m, gi, go: seen.append(
                (
                    [None if g is None else tuple(g.shape) for g in gi],
                    [None if g is None else tuple(g.shape) for g in go],
                )
            )
        )
        out, _ = module(lib.ones(SEQ, BATCH, 3, requires_grad=True))
        out.sum().backward()
        return seen

    assert record(gradviz, getattr(R, cls)(3, 2)) == record(torch, getattr(torch.nn, cls)(3, 2))


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_runs_on_the_strict_device(cls: str) -> None:
    pytest.importorskip("array_api_strict")
    strict = gradviz.device("strict:0")
    gradviz.manual_seed(SEED)
    kwargs = {"batch_first": True, "bidirectional": True, "num_layers": 2}
    cpu_model = getattr(R, cls)(3, 2, **kwargs)
    model = getattr(R, cls)(3, 2, **kwargs)
    model.load_state_dict(cpu_model.state_dict())
    model.to(strict)
    x = gradviz.randn(BATCH, SEQ, 3)
    out, _ = model(x.to(strict))
    assert out.device == strict
    out.sum().backward()
    assert {p.grad.device for p in model.parameters()} == {strict}
    expected = cpu_model(x)[0].detach().numpy()
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_backward_reaches_every_parameter() -> None:
    model = R.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    out, (h, c) = model(gradviz.randn(BATCH, SEQ, 3))
    (out.sum() + h.sum() + c.sum()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.abs(p.grad.detach().numpy()).sum() > 0, name
