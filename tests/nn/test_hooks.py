"""Module hooks: forward pre/post hooks, full backward (pre-)hooks, legacy backward hooks.

Call order, arguments and graph effects are compared with PyTorch where it is installed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import gradviz
import gradviz.nn as nn
from gradviz.nn.modules import module as module_mod


def _np(t: Any) -> Any:
    return None if t is None else np.asarray(t.detach().numpy()).tolist()


def _names(node: Any, depth: int = 3) -> Any:
    if node is None:
        return None
    if depth == 0:
        return type(node).__name__
    return (type(node).__name__, [_names(fn, depth - 1) for fn, _ in node.next_functions])


# ---------------------------------------------------------------------------- forward hooks


def test_forward_pre_hook_replaces_args_and_wraps_bare_value() -> None:
    m = nn.Identity()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append(args) or args[0] * 2)
    out = m(gradviz.ones(2))
    assert out.tolist() == [2.0, 2.0]
    assert isinstance(seen[0], tuple) and len(seen[0]) == 1


def test_forward_pre_hook_sees_positional_args_only() -> None:
    class Scale(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Scale()
    got = []
    m.register_forward_pre_hook(lambda mod, args: got.append(args))
    m.register_forward_pre_hook(
        lambda mod, args, kwargs: got.append(dict(kwargs)) or (args, {"scale": 5.0}),
        with_kwargs=True,
    )
    m.register_forward_hook(
        lambda mod, args, kwargs, out: got.append(("fwd", dict(kwargs))), with_kwargs=True
    )
    out = m(gradviz.ones(1), scale=3.0)
    assert out.tolist() == [5.0]
    assert len(got[0]) == 1 and got[1] == {"scale": 3.0} and got[2] == ("fwd", {"scale": 5.0})


def test_forward_pre_hook_with_kwargs_bad_return() -> None:
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, args, kwargs: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of "):
        m(gradviz.ones(1))


def test_forward_hook_replaces_output_and_sees_raw_output() -> None:
    m = nn.Linear(2, 2)
    seen = []

    def hook(mod, args, out):
        seen.append(out.grad_fn.name())
        return out + 100

    m.register_full_backward_hook(lambda mod, gi, go: None)
    m.register_forward_hook(hook)
    x = gradviz.ones(1, 2, requires_grad=True)
    out = m(x)
    assert seen == ["AddmmBackward0"]
    assert out.grad_fn.name() == "BackwardHookFunctionBackward"
    np.testing.assert_allclose(
        out.detach().numpy(), (m.weight.sum(1) + m.bias + 100).detach().numpy()[None], rtol=1e-6
    )


def test_handles_remove_and_context_manager_and_prepend() -> None:
    m = nn.Identity()
    log = []
    h1 = m.register_forward_hook(lambda *a: log.append(1))
    m.register_forward_hook(lambda *a: log.append(0), prepend=True)
    with m.register_forward_pre_hook(lambda *a: log.append("pre")):
        m(gradviz.ones(1))
    assert log == ["pre", 0, 1]
    h1.remove()
    h1.remove()  # twice is harmless
    log.clear()
    m(gradviz.ones(1))
    assert log == [0]
    assert not m._forward_pre_hooks


def test_always_call_hook_runs_when_forward_raises() -> None:
    class Boom(nn.Module):
        def forward(self, x):
            raise KeyError("boom")

    m = Boom()
    log = []
    m.register_forward_hook(lambda mod, args, out: log.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: log.append("normal"))
    with pytest.raises(KeyError):
        m(gradviz.ones(1))
    assert log == [("always", None)]


def test_global_forward_hooks_run_before_local_ones() -> None:
    m = nn.Identity()
    log = []
    m.register_forward_pre_hook(lambda *a: log.append("local pre"))
    m.register_forward_hook(lambda *a: log.append("local fwd"))
    with module_mod.register_module_forward_pre_hook(lambda *a: log.append("global pre")):
        with module_mod.register_module_forward_hook(lambda *a: log.append("global fwd")):
            m(gradviz.ones(1))
            nn.ReLU()(gradviz.ones(1))
    assert log == ["global pre", "local pre", "global fwd", "local fwd", "global pre", "global fwd"]
    assert not module_mod._global_forward_hooks and not module_mod._global_forward_pre_hooks


# ---------------------------------------------------------------------------- order (vs torch)


def _hook_order(lib: Any) -> list[str]:
    seq = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
    log: list[str] = []
    for name, m in seq.named_modules():
        tag = "seq" if name == "" else "seq." + name
        m.register_forward_pre_hook(lambda mod, a, tag=tag: log.append("pre " + tag))
        m.register_forward_hook(lambda mod, a, o, tag=tag: log.append("fwd " + tag))
        m.register_full_backward_pre_hook(lambda mod, go, tag=tag: log.append("bwd_pre " + tag))
        m.register_full_backward_hook(lambda mod, gi, go, tag=tag: log.append("bwd " + tag))
    out = seq(lib.ones(1, 2, requires_grad=True))
    out.sum().backward()
    return log


def test_nested_hook_order_is_pytorchs() -> None:
    assert _hook_order(gradviz) == [
        "pre seq",
        "pre seq.0",
        "fwd seq.0",
        "pre seq.1",
        "fwd seq.1",
        "fwd seq",
        "bwd_pre seq",
        "bwd_pre seq.1",
        "bwd seq.1",
        "bwd_pre seq.0",
        "bwd seq.0",
        "bwd seq",
    ]


def test_nested_hook_order_matches_torch(torch) -> None:
    assert _hook_order(gradviz) == _hook_order(torch)


# ---------------------------------------------------------------------------- full backward hooks


class TwoInputs:
    """``a * 2 + b * 3``: one module, two positional tensor inputs."""

    @staticmethod
    def build(lib: Any) -> Any:
        """Return the module, built with ``lib`` (gradviz or torch)."""

        class M(lib.nn.Module):
            def forward(self, a, b):
                return a * 2 + b * 3

        return M()


def _full_hook_record(lib: Any, case: str) -> dict[str, Any]:
    record: dict[str, Any] = {}

    def hook(mod, gi, go):
        record["gi"] = [_np(g) for g in gi]
        record["go"] = [_np(g) for g in go]

    def pre(mod, go):
        record["pre"] = [_np(g) for g in go]

    if case == "non_tensor_arg":

        class M(lib.nn.Module):
            def forward(self, a, k):
                return a * k

        m = M()
        m.register_full_backward_hook(hook)
        a = lib.ones(2, requires_grad=True)
        m(a, 5).sum().backward()
    elif case == "tensor_without_grad":
        m = TwoInputs.build(lib)
        m.register_full_backward_hook(hook)
        a = lib.ones(2, requires_grad=True)
        m(a, lib.ones(2)).sum().backward()
    elif case == "tuple_output":

        class M(lib.nn.Module):
            def forward(self, a):
                return a * 2, a * 3

        m = M()
        m.register_full_backward_hook(hook)
        m.register_full_backward_pre_hook(pre)
        a = lib.ones(2, requires_grad=True)
        m(a)[0].sum().backward()
    elif case == "replace_grad_input":
        m = lib.nn.Linear(2, 2)
        with lib.no_grad():
            m.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 7,))
        a = lib.ones(1, 2, requires_grad=True)
        m(a).sum().backward()
        record["a.grad"] = _np(a.grad)
        record["w.grad"] = _np(m.weight.grad)
    elif case == "replace_grad_output":
        m = lib.nn.Linear(2, 2)
        with lib.no_grad():
            m.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 10,))
        m.register_full_backward_hook(hook)
        a = lib.ones(1, 2, requires_grad=True)
        m(a).sum().backward()
        record["a.grad"] = _np(a.grad)
        record["w.grad"] = _np(m.weight.grad)
    return record


FULL_HOOK_CASES = [
    "non_tensor_arg",
    "tensor_without_grad",
    "tuple_output",
    "replace_grad_input",
    "replace_grad_output",
]


@pytest.mark.parametrize("case", FULL_HOOK_CASES)
def test_full_backward_hook_arguments_match_torch(torch, case: str) -> None:
    assert _full_hook_record(gradviz, case) == _full_hook_record(torch, case)


def test_full_backward_hook_arguments_values() -> None:
    assert _full_hook_record(gradviz, "non_tensor_arg")["gi"] == [[5.0, 5.0], None]
    assert _full_hook_record(gradviz, "tensor_without_grad")["gi"] == [[2.0, 2.0], [0.0, 0.0]]
    rec = _full_hook_record(gradviz, "tuple_output")
    assert rec["go"] == [[1.0, 1.0], None] and rec["pre"] == [[1.0, 1.0], None]
    rec = _full_hook_record(gradviz, "replace_grad_input")
    assert rec["a.grad"] == [[28.0, 42.0]] and rec["w.grad"] == [[1.0, 1.0], [1.0, 1.0]]


def test_full_backward_hook_when_no_input_requires_grad(torch) -> None:
    def run(lib):
        got = []
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: got.append((gi, len(go))))
        out = m(lib.ones(1, 2))
        with pytest.warns(UserWarning, match="Full backward hook is firing when gradients"):
            out.sum().backward()
        return got

    assert run(gradviz) == [((None,), 1)]
    assert run(gradviz) == run(torch)


def test_full_backward_hook_bad_return_length() -> None:
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    out = m(gradviz.ones(1, 2, requires_grad=True))
    with pytest.raises(
        RuntimeError,
        match="Backward hook returned an invalid number of grad_input, got 2, but expected 1",
    ):
        out.sum().backward()


def test_full_backward_pre_hook_bad_return_length() -> None:
    m = nn.Linear(2, 2)
    m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
    out = m(gradviz.ones(1, 2, requires_grad=True))
    with pytest.raises(
        RuntimeError,
        match="Backward pre hook returned an invalid number of grad_output, got 2, but expected 1",
    ):
        out.sum().backward()


def _hooked_graph(lib: Any) -> Any:
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x) * 2 + 1

    m = M()
    m.register_full_backward_hook(lambda mod, gi, go: None)
    out = m(lib.ones(1, 2, requires_grad=True))
    return _names(out.grad_fn, depth=5)


def test_backward_hook_graph_matches_torch(torch) -> None:
    assert _hooked_graph(gradviz) == _hooked_graph(torch)


def test_forward_hooks_alone_leave_graph_unchanged() -> None:
    m = nn.Linear(2, 2)
    m.register_forward_hook(lambda *a: None)
    m.register_forward_pre_hook(lambda *a: None)
    out = m(gradviz.ones(1, 2, requires_grad=True))
    assert out.grad_fn.name() == "AddmmBackward0"


def test_hooked_output_modified_in_place_raises() -> None:
    # PyTorch raises "Output 0 of BackwardHookFunction is a view and is being modified
    # inplace..." here; gradviz refuses the in-place change too (with its own message).
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    out = m(gradviz.ones(1, 2, requires_grad=True))
    with pytest.raises(RuntimeError):
        out.add_(1)


def test_no_wrapping_without_grad() -> None:
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    with gradviz.no_grad():
        out = m(gradviz.ones(1, 2))
    assert out.grad_fn is None and not out.requires_grad


def test_backward_hook_nodes_belong_to_the_module() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    model[0].register_full_backward_hook(lambda mod, gi, go: None)
    out = model(gradviz.ones(1, 2, requires_grad=True))
    assert out.grad_fn.name() == "BackwardHookFunctionBackward"
    assert out.grad_fn.module == "0"


# ---------------------------------------------------------------------------- legacy hooks


def _legacy(lib: Any) -> Any:
    got = []
    m = lib.nn.Linear(2, 2)
    m.register_backward_hook(lambda mod, gi, go: got.append(([_np(g) for g in gi], len(go))))
    with pytest.warns(FutureWarning, match="Using a non-full backward hook when the forward"):
        out = m(lib.ones(1, 2))
    out.sum().backward()
    return got


def test_legacy_backward_hook_warns_and_fires(torch) -> None:
    got = _legacy(gradviz)
    assert len(got) == 1 and got[0][1] == 1
    assert _legacy(gradviz) == _legacy(torch)


def test_legacy_and_full_hooks_do_not_mix() -> None:
    m = nn.Linear(2, 2)
    m.register_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
        m.register_full_backward_hook(lambda *a: None)
    m2 = nn.Linear(2, 2)
    m2.register_full_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
        m2.register_backward_hook(lambda *a: None)


def test_legacy_hook_without_warning_for_single_op_on_nonleaf_input() -> None:
    m = nn.ReLU()
    got = []
    m.register_backward_hook(lambda mod, gi, go: got.append(len(gi)))
    x = gradviz.ones(2, requires_grad=True) * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = m(x)
    out.sum().backward()
    assert got == [1]
