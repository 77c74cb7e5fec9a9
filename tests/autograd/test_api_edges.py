"""The autograd API's edge cases behave as PyTorch 2.13's, checked side by side.

``inputs`` given as a dict or left empty, ``materialize_grads`` without ``allow_unused``,
``float()``/``int()`` of a tensor with several elements, and the order of the
``create_graph`` warning and the check of the roots.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz


def _outcome(lib: Any, call: Callable[[Any], Any]) -> Any:
    """Return what ``call(lib)`` gives (a normalized value, or the error) and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _plain(call(lib))
        except Exception as error:  # noqa: BLE001 - the error itself is what is compared
            result = (type(error).__name__, str(error))
    said = [(w.category.__name__, str(w.message).split(" (Triggered")[0]) for w in caught]
    return result, said


def _plain(value: Any) -> Any:
    """Return ``value`` with tensors as (values, requires_grad), containers kept."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_plain(v) for v in value)
    if hasattr(value, "detach"):
        return (value.detach().numpy().tolist(), value.requires_grad)
    return value


def _leaf(lib: Any) -> Any:
    return lib.tensor([1.0, 2.0], requires_grad=True)


def _backward_into(lib: Any, inputs: Any) -> Any:
    x = _leaf(lib)
    (x * x).sum().backward(inputs=inputs(x))
    return x.grad


def _grad_of(lib: Any, inputs: Any, **kw: Any) -> Any:
    x, unused = _leaf(lib), _leaf(lib)
    return lib.autograd.grad((x * x).sum(), inputs(x, unused), **kw)


class _Params(dict):  # type: ignore[type-arg]
    """A Mapping that is not exactly a dict (PyTorch refuses those)."""


CASES: dict[str, Callable[[Any], Any]] = {
    "backward_inputs_dict": lambda m: _backward_into(m, lambda x: {"x": x}),
    "backward_inputs_empty": lambda m: _backward_into(m, lambda x: []),
    "backward_inputs_mapping": lambda m: _backward_into(m, lambda x: _Params(x=x)),
    "grad_inputs_dict": lambda m: _grad_of(m, lambda x, u: {"x": x}),
    "grad_inputs_dict_unused": lambda m: _grad_of(
        m, lambda x, u: {"x": x, "u": u}, allow_unused=True
    ),
    "grad_inputs_empty": lambda m: _grad_of(m, lambda x, u: ()),
    "grad_inputs_mapping": lambda m: _grad_of(m, lambda x, u: _Params(x=x)),
    "materialize": lambda m: _grad_of(m, lambda x, u: [x, u], materialize_grads=True),
    "materialize_create_graph": lambda m: _grad_of(
        m, lambda x, u: [x, u], materialize_grads=True, create_graph=True
    ),
    "materialize_not_allow_unused": lambda m: _grad_of(
        m, lambda x, u: [x, u], materialize_grads=True, allow_unused=False
    ),
    "create_graph_on_a_constant": lambda m: m.ones(2).sum().backward(create_graph=True),
    "create_graph_warns": lambda m: (lambda x: (x * x).sum().backward(create_graph=True))(_leaf(m)),
    "float_of_two": lambda m: float(m.ones(2)),
    "int_of_two": lambda m: int(m.ones(2)),
    "complex_of_two": lambda m: complex(m.ones(2)),
    "item_of_two": lambda m: m.ones(2).item(),
    "T_of_2d": lambda m: m.ones(2, 3).T,
    "mT_of_1d": lambda m: m.ones(3).mT,
    "mT_of_3d": lambda m: m.ones(2, 3, 4).mT.grad_fn,
    "tensor_of_a_tensor": lambda m: m.tensor(m.ones(2)),
    "tensor_of_tensors": lambda m: m.tensor([m.tensor(1.0), m.tensor(2.0)]),
    "unflatten_product": lambda m: m.ones(3, 4).unflatten(1, (3, 2)),
    "unflatten_inferred": lambda m: m.ones(3, 4).unflatten(1, (-1, 3)),
    "unflatten_empty": lambda m: m.ones(3, 4).unflatten(1, ()),
    "unflatten_ok": lambda m: m.ones(3, 4).unflatten(-1, (2, -1)),
}

DEVICE_STRINGS = ["float32", "cuda:x", "cpu:-1", "cuda0", "CPU", "cuda:01", "", "cu da"]


@pytest.mark.parametrize("text", DEVICE_STRINGS)
def test_device_string_is_parsed_as_pytorch_does(torch: Any, text: str) -> None:
    got, _ = _outcome(gradviz, lambda m: str(m.device(text)))
    ref, _ = _outcome(torch, lambda m: str(m.device(text)))
    # PyTorch lists its 20 device types where gradviz lists its three.
    assert got == (ref[0], ref[1].replace(_TORCH_TYPES, "cpu, cuda, strict"))


_TORCH_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, "
    "vulkan, mps, meta, hpu, mtia, privateuseone"
)


@pytest.mark.parametrize("name", list(CASES))
def test_autograd_api_edge_matches_pytorch(torch: Any, name: str) -> None:
    got = _outcome(gradviz, CASES[name])
    ref = _outcome(torch, CASES[name])
    assert got == ref


def test_materialized_gradient_of_an_infinite_input_is_zero() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    unused = gradviz.tensor([np.inf, np.nan], requires_grad=True)
    _, g = gradviz.autograd.grad((x * x).sum(), [x, unused], materialize_grads=True)
    assert g.numpy().tolist() == [0.0, 0.0]


@pytest.mark.parametrize(("convert", "warns"), [(float, True), (complex, True), (int, False)])
def test_number_of_a_tensor_that_requires_grad_warns_as_pytorch(convert: Any, warns: bool) -> None:
    # PyTorch warns once per process (TORCH_WARN_ONCE), so its side cannot be compared
    # in a shared test process; the words are PyTorch's, and int() does not warn there.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert convert(gradviz.ones(1, requires_grad=True)) == 1
    said = [str(w.message) for w in caught if w.category is UserWarning]
    assert said == (
        [
            "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
            "behavior.\nConsider using tensor.detach() first."
        ]
        if warns
        else []
    )
    assert all(w.filename == __file__ for w in caught)


_T_0D = "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."
_MT_0D = "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases."
_T_ND = (
    "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
    "deprecated and it will throw an error in a future release. Consider `x.mT` to transpose "
    "batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the "
    "dimensions of a tensor."
)


@pytest.mark.parametrize(
    ("shape", "attr", "said", "grad_fn"),
    [
        ((), "T", _T_0D, "PermuteBackward0"),
        ((3,), "T", _T_ND, "PermuteBackward0"),
        ((2, 3, 4), "T", _T_ND, "PermuteBackward0"),
        ((2, 3), "T", None, "PermuteBackward0"),
        ((), "mT", _MT_0D, None),
    ],
)
def test_transposes_of_non_matrices_warn_as_pytorch(
    torch: Any, shape: tuple[int, ...], attr: str, said: str | None, grad_fn: str | None
) -> None:
    # PyTorch gives these warnings once per process (TORCH_WARN_ONCE), so only the values
    # are compared side by side; the words are PyTorch's.
    results = []
    for lib in (gradviz, torch):
        x = lib.ones(shape, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = getattr(x, attr)
        if lib is gradviz:
            assert [str(w.message) for w in caught] == ([said] if said else [])
        name = None if y.grad_fn is None else y.grad_fn.name()
        results.append((tuple(y.shape), name, y is x))
    assert results[0] == results[1]
    assert results[0][1] == grad_fn
