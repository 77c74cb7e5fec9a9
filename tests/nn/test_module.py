"""Module machinery: registration, iteration, modes, conversion, repr, module paths."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

import gradviz
import gradviz.nn as nn
from gradviz.engine import events

ROOT = Path(__file__).resolve().parents[2]


class MyModel(nn.Module):
    """The seed's model: a plain tensor attribute, a registered buffer and a Parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.my_tensor = gradviz.randn(1)
        self.register_buffer("my_buffer", gradviz.randn(1))
        self.my_param = nn.Parameter(gradviz.randn(1))

    def forward(self, x):
        """Scale and shift ``x``."""
        return x * self.my_param + self.my_buffer


# ---------------------------------------------------------------------------- the seeds


def test_seed_model_state_dict_holds_param_and_buffer_only() -> None:
    m = MyModel()
    assert list(m.state_dict()) == ["my_param", "my_buffer"]
    assert [p is m.my_param for p in m.parameters()] == [True]
    assert [name for name, _ in m.named_buffers()] == ["my_buffer"]
    assert "my_tensor" in m.__dict__ and "my_tensor" not in m.state_dict()
    assert list(m._parameters) == ["my_param"]
    assert list(m._buffers) == ["my_buffer"]


def test_seed_model_matches_torch(torch) -> None:
    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.my_tensor = torch.randn(1)
            self.register_buffer("my_buffer", torch.randn(1))
            self.my_param = torch.nn.Parameter(torch.randn(1))

    t, g = TorchModel(), MyModel()
    assert list(t.state_dict()) == list(g.state_dict())
    assert [n for n, _ in t.named_parameters()] == [n for n, _ in g.named_parameters()]
    assert [n for n, _ in t.named_buffers()] == [n for n, _ in g.named_buffers()]


def test_linear_parameters_three_ways() -> None:
    m = nn.Linear(2, 2)
    assert list(m._parameters) == ["weight", "bias"]
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    params = list(m.parameters())
    assert len(params) == 2 and params[0] is m.weight and params[1] is m.bias
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)


# ---------------------------------------------------------------------------- Parameter


def test_parameter_shares_data_and_repr() -> None:
    t = gradviz.ones(2)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf
    with gradviz.no_grad():
        p.mul_(3)
    assert t.tolist() == [3.0, 3.0]
    assert repr(nn.Parameter(gradviz.ones(2))) == (
        "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    )
    assert repr(nn.Parameter(gradviz.ones(2), requires_grad=False)) == (
        "Parameter containing:\ntensor([1., 1.])"
    )
    assert nn.Parameter().shape == (0,)
    assert nn.parameter.Parameter is nn.Parameter


def test_parameter_from_nonleaf_is_leaf() -> None:
    y = gradviz.ones(2, requires_grad=True) * 2
    p = nn.Parameter(y)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_parameter_rejects_non_tensor() -> None:
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        nn.Parameter([1.0, 2.0])


def test_parameter_repr_hides_module_name() -> None:
    m = nn.Linear(1, 1)
    m(gradviz.ones(1, 1))
    assert m.weight.name == "weight"
    assert "name=" not in repr(m.weight)


def test_parameter_deepcopy_stays_parameter() -> None:
    p = nn.Parameter(gradviz.ones(2))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q is not p and q.requires_grad
    with gradviz.no_grad():
        q.add_(1)
    assert p.tolist() == [1.0, 1.0]


# ---------------------------------------------------------------------------- errors (E18-E22)


def test_parameter_before_init_raises() -> None:
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gradviz.ones(2))
            super().__init__()

    with pytest.raises(AttributeError) as info:
        Bad()
    assert str(info.value) == "cannot assign parameters before Module.__init__() call"


def test_module_before_init_raises() -> None:
    class Bad(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(AttributeError) as info:
        Bad()
    assert str(info.value) == "cannot assign module before Module.__init__() call"


def test_buffer_before_init_raises() -> None:
    class Bad(nn.Module):
        def __init__(self):
            self.register_buffer("b", gradviz.ones(2))
            super().__init__()

    with pytest.raises(AttributeError) as info:
        Bad()
    assert str(info.value) == "cannot assign buffer before Module.__init__() call"


def test_plain_tensor_before_init_is_allowed() -> None:
    class Ok(nn.Module):
        def __init__(self):
            self.t = gradviz.ones(2)
            super().__init__()

    assert Ok().t.tolist() == [1.0, 1.0]


def test_assigning_tensor_to_parameter_name_raises() -> None:
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError) as info:
        m.weight = gradviz.ones(2, 2)
    assert str(info.value) == (
        "cannot assign 'torch.FloatTensor' as parameter 'weight' "
        "(torch.nn.Parameter or None expected)"
    )
    m.weight = None
    assert m.weight is None and [n for n, _ in m.named_parameters()] == ["bias"]


def test_registration_errors_match_torch(torch) -> None:
    def messages(lib):
        out = []
        m = lib.nn.Linear(2, 2)
        attempts = [
            lambda: m.register_parameter("a.b", lib.nn.Parameter(lib.ones(1))),
            lambda: m.register_parameter("", lib.nn.Parameter(lib.ones(1))),
            lambda: m.register_parameter("forward", lib.nn.Parameter(lib.ones(1))),
            lambda: m.register_parameter("p", lib.ones(1)),
            lambda: m.register_parameter(
                "q", lib.nn.Parameter(lib.ones(1, requires_grad=True) * 2, requires_grad=True)
            ),
            lambda: m.register_parameter(3, None),
            lambda: m.register_buffer("a.b", lib.ones(1)),
            lambda: m.register_buffer("", lib.ones(1)),
            lambda: m.register_buffer("weight", lib.ones(1)),
            lambda: m.register_buffer("b", [1.0]),
            lambda: m.add_module("x", 3),
            lambda: m.add_module("a.b", lib.nn.ReLU()),
            lambda: m.add_module("", lib.nn.ReLU()),
            lambda: m.add_module("weight", lib.nn.ReLU()),
            lambda: setattr(m, "bias", 3),
            lambda: m.nope,
        ]
        for attempt in attempts:
            try:
                attempt()
                out.append(None)
            except Exception as err:  # noqa: BLE001 - we compare every error
                out.append((type(err).__name__, str(err)))
        return out

    # q is a leaf Parameter in both (Parameter() detaches), so it registers.
    assert messages(gradviz) == messages(torch)


def test_nonleaf_parameter_registration_raises() -> None:
    m = nn.Module()
    p = nn.Parameter(gradviz.ones(1))
    object.__setattr__(p, "_grad_fn", (gradviz.ones(1, requires_grad=True) * 2).grad_fn)
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'p'"):
        m.register_parameter("p", p)


def test_forward_missing_raises() -> None:
    with pytest.raises(NotImplementedError, match=r"Module \[Module\] is missing the required"):
        nn.Module()(gradviz.ones(1))


def test_init_rejects_arguments() -> None:
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'x'"):
        nn.Module(x=1)
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        nn.Module(1)


# ---------------------------------------------------------------------------- attributes


def test_setattr_moves_between_kinds_and_delattr() -> None:
    m = nn.Module()
    m.register_buffer("x", gradviz.ones(1))
    m.x = nn.Parameter(gradviz.ones(1))
    assert "x" in m._parameters and "x" not in m._buffers
    m.register_buffer("b", gradviz.ones(1), persistent=False)
    m.b = gradviz.zeros(1)  # assigning a tensor to a buffer name keeps it a buffer
    assert m._buffers["b"].tolist() == [0.0] and "b" in m._non_persistent_buffers_set
    m.c = nn.ReLU()
    del m.x, m.b, m.c
    assert not m._parameters and not m._buffers and not m._modules
    m.plain = 3
    del m.plain
    with pytest.raises(AttributeError):
        del m.plain
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'd'"):
        m.d = nn.ReLU()
        m.d = 3
    with pytest.raises(TypeError, match="cannot assign 'str' as buffer 'e'"):
        m.register_buffer("e", None)
        m.e = "x"


def test_dir_lists_members() -> None:
    m = nn.Sequential(nn.Linear(1, 1))
    assert "0" not in dir(m)
    names = dir(m[0])
    assert "weight" in names and "bias" in names and "forward" in names


def test_get_submodule_parameter_buffer(torch) -> None:
    def probe(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        found = [
            type(net.get_submodule("0")).__name__,
            tuple(net.get_parameter("0.weight").shape),
            tuple(net.get_buffer("1.running_mean").shape),
            net.get_submodule("") is net,
        ]
        for call in (
            lambda: net.get_submodule("5"),
            lambda: net.get_submodule("0.weight"),
            lambda: net.get_parameter("0.nope"),
            lambda: net.get_parameter("1.running_mean"),
            lambda: net.get_buffer("1.weight"),
        ):
            with pytest.raises(AttributeError) as info:
                call()
            found.append(str(info.value))
        return found

    assert probe(gradviz) == probe(torch)


# ---------------------------------------------------------------------------- iteration


def _tree(lib):
    nn_ = lib.nn
    shared = nn_.Linear(2, 2)
    top = nn_.Module()
    top.a = shared
    top.seq = nn_.Sequential(nn_.ReLU(), shared, nn_.Sequential(nn_.Tanh()))
    top.b = shared
    return top


def test_named_modules_children_and_dedup_match_torch(torch) -> None:
    def names(lib):
        top = _tree(lib)
        return {
            "modules": [n for n, _ in top.named_modules()],
            "all": [n for n, _ in top.named_modules(remove_duplicate=False)],
            "prefix": [n for n, _ in top.named_modules(prefix="m")],
            "children": [n for n, _ in top.named_children()],
            "n_modules": len(list(top.modules())),
            "params": [n for n, _ in top.named_parameters()],
            "params_all": [n for n, _ in top.named_parameters(remove_duplicate=False)],
            "params_prefix": [n for n, _ in top.named_parameters(prefix="x", recurse=True)],
            "params_local": [n for n, _ in top.seq.named_parameters(recurse=False)],
            "state": list(top.state_dict()),
        }

    assert names(gradviz) == names(torch)


def test_train_eval_propagate() -> None:
    net = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.Dropout()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train(1)


def test_zero_grad() -> None:
    m = nn.Linear(2, 1)
    m(gradviz.ones(1, 2)).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and grad.tolist() == [[0.0, 0.0]]
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_apply_visits_children_first(torch) -> None:
    def order(lib):
        seen = []
        net = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.Sequential(lib.nn.ReLU()))
        assert net.apply(lambda m: seen.append(type(m).__name__)) is net
        return seen

    assert order(gradviz) == order(torch)


def test_requires_grad_() -> None:
    m = nn.Linear(2, 2)
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_to_double_keeps_parameter_identity() -> None:
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    m(gradviz.randn(3, 2)).sum().backward()
    assert m.double() is m
    assert m[0].weight is w and w.dtype is gradviz.float64 and w.grad.dtype is gradviz.float64
    assert m[1].running_mean.dtype is gradviz.float64
    assert m[1].num_batches_tracked.dtype is gradviz.int64
    m.to(gradviz.float32)
    assert w.dtype is gradviz.float32
    m.half().float()
    assert w.dtype is gradviz.float32
    m.to("cpu").cpu()
    assert w.device == gradviz.device("cpu")
    out = m(gradviz.randn(3, 2))
    assert out.dtype is gradviz.float32
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        m.to(gradviz.int64)


_STRICT_SCRIPT = """
import warnings
warnings.simplefilter("error")
import numpy as np
import gradviz
import gradviz.nn as nn
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
x = gradviz.randn(5, 3)
ref = model(x)
ref.sum().backward()
ref_grad = model[0].weight.grad.numpy().copy()
model.zero_grad()
w = model[0].weight
assert model.to("strict:0") is model and model[0].weight is w
assert w.device == gradviz.device("strict:0"), w.device
out = model(x.to("strict:0"))
assert out.device == gradviz.device("strict:0")
out.sum().backward()
assert w.grad.device == gradviz.device("strict:0")
model.to("cpu")
np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-5)
np.testing.assert_allclose(w.grad.numpy(), ref_grad, rtol=1e-5)
print("ok")
"""


def test_to_strict_device_and_back() -> None:
    # A subprocess, because the strict stand-in device changes process-wide dtype tables.
    pytest.importorskip("array_api_strict")
    probe = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import gradviz; gradviz.ones(1).to('strict:0')"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if probe.returncode != 0:
        pytest.skip("the engine's strict device does not work yet: " + probe.stderr[-300:])
    result = subprocess.run(
        [sys.executable, "-c", _STRICT_SCRIPT],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_deepcopy_model_is_independent() -> None:
    m = nn.Sequential(nn.Linear(2, 2))
    m(gradviz.ones(1, 2))
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter)
    assert c[0].weight is not m[0].weight
    with gradviz.no_grad():
        c[0].weight.zero_()
    assert m[0].weight.abs().sum().item() > 0
    out = c(gradviz.ones(1, 2))
    assert out.grad_fn.module == "0"


# ---------------------------------------------------------------------------- repr


def test_nested_repr_matches_torch(torch) -> None:
    def build(lib):
        nn_ = lib.nn
        net = nn_.Sequential(
            nn_.Conv2d(3, 8, 3, padding=1, bias=False),
            nn_.BatchNorm2d(8),
            nn_.ReLU(inplace=True),
            nn_.MaxPool2d(2),
            nn_.Flatten(),
            nn_.ModuleList([nn_.Linear(4, 4) for _ in range(3)] + [nn_.Tanh()]),
            nn_.ModuleDict({"head": nn_.Linear(4, 2), "act": nn_.LogSoftmax(dim=1)}),
        )
        net.append(nn_.Dropout(0.2))
        return net

    assert repr(build(gradviz)) == repr(build(torch))


def test_empty_containers_repr(torch) -> None:
    for name in ("Sequential", "ModuleList", "ModuleDict", "Module"):
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())


# ---------------------------------------------------------------------------- module paths


class Block(nn.Module):
    """Linear, ReLU, Linear, then a scale: nodes in the root and in three submodules."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        """Run the block."""
        return self.fc2(self.act(self.fc1(x))) * 2


def _graph_modules(out) -> dict[str, str | None]:
    seen = {}
    stack = [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node.name() in seen:
            continue
        seen[node.name()] = node.module
        stack.extend(fn for fn, _ in node.next_functions)
    return seen


def test_nodes_carry_module_paths() -> None:
    model = nn.Sequential(Block(), nn.Sigmoid())
    out = model(gradviz.randn(5, 3))
    assert out.grad_fn.module == "1"
    mods = _graph_modules(out)
    assert mods["MulBackward0"] == "0"
    assert mods["ReluBackward0"] == "0.act"
    assert mods["AddmmBackward0"] in ("0.fc1", "0.fc2")
    assert mods["TBackward0"] in ("0.fc1", "0.fc2")
    assert events.current_module() is None


def test_every_node_is_labelled_with_its_module() -> None:
    model = Block()
    created = []
    with events.subscribe(
        lambda e: created.append(e) if isinstance(e, events.NodeCreated) else None
    ):
        model(gradviz.randn(2, 3))
    assert [e.module for e in created] == ["fc1", "fc1", "act", "fc2", "fc2", ""]
    assert [e.node.module for e in created] == [e.module for e in created]


def test_root_and_standalone_paths_and_parameter_names() -> None:
    model = Block()
    out = model(gradviz.randn(2, 3))
    assert out.grad_fn.module == ""
    assert [p.name for p in model.parameters()] == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    # A submodule called on its own is the root: path "" and names relative to it.
    out = model.fc1(gradviz.randn(2, 3))
    assert out.grad_fn.module == ""
    assert model.fc1.weight.name == "weight"
    model(gradviz.randn(2, 3))
    assert model.fc1.weight.name == "fc1.weight"


def test_user_given_parameter_name_is_kept() -> None:
    model = Block()
    model.fc2.weight.name = "W2"
    model(gradviz.randn(2, 3))
    assert model.fc2.weight.name == "W2" and model.fc1.weight.name == "fc1.weight"


def test_paths_follow_structure_changes() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    model(gradviz.randn(1, 2))
    model.append(nn.Linear(2, 2))
    model[0] = nn.Linear(2, 2)
    out = model(gradviz.randn(1, 2))
    assert out.grad_fn.module == "1"
    assert [p.name for p in model.parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_unregistered_module_inherits_caller_path() -> None:
    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(2, 2)
            self.hidden = [nn.Tanh()]  # a plain list: not registered

        def forward(self, x):
            return self.hidden[0](self.inner(x))

    model = Outer()
    out = model(gradviz.randn(1, 2))
    assert out.grad_fn.name() == "TanhBackward0" and out.grad_fn.module == ""


def test_shared_module_gets_first_path() -> None:
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    out = model(gradviz.randn(1, 2))
    assert out.grad_fn.module == "0"


def test_module_stack_is_clean_after_forward_raises() -> None:
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    model = nn.Sequential(nn.Linear(2, 2), Boom())
    with pytest.raises(ValueError, match="boom"):
        model(gradviz.randn(1, 2))
    assert events.current_module() is None
    out = model[0](gradviz.randn(1, 2))
    assert out.grad_fn.module == ""
