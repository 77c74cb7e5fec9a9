"""Reductions over nothing, and variances without degrees of freedom, behave as in PyTorch.

An empty batch is a real case (the last batch of a filtered dataset, a mask that selects
nothing): reductions with an identity give it (sum 0, mean NaN, logsumexp -inf); those
without one (max, argmax, median, ...) raise PyTorch's IndexError, never NumPy's ValueError;
var/std with ``n <= correction`` give PyTorch's UserWarning, not NumPy's RuntimeWarning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz

CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "max_dim": lambda m, x: x.max(-1).values,
    "min_dim": lambda m, x: x.min(1).values,
    "max_all": lambda m, x: x.max(),
    "amax_dims": lambda m, x: x.amax((0, 1)),
    "amax_all": lambda m, x: x.amax(),
    "amin_dim": lambda m, x: x.amin(1),
    "argmax_all": lambda m, x: x.argmax(),
    "argmax_dim": lambda m, x: x.argmax(0),
    "argmin_dim": lambda m, x: x.argmin(1),
    "aminmax_dim": lambda m, x: x.aminmax(dim=1).min,
    "median_dim": lambda m, x: x.median(1).values,
    "mode_dim": lambda m, x: x.mode(1).values,
    "kthvalue_dim": lambda m, x: x.kthvalue(1, 1).values,
    "logsumexp_0": lambda m, x: x.logsumexp(0),
    "logsumexp_1": lambda m, x: x.logsumexp(1),
    "mean_all": lambda m, x: x.mean(),
    "mean_0": lambda m, x: x.mean(0),
    "mean_1": lambda m, x: x.mean(1),
    "sum_1": lambda m, x: x.sum(1),
    "std_1": lambda m, x: x.std(1),
    "var_0": lambda m, x: x.var(0),
    "var_mean_1": lambda m, x: m.var_mean(x, 1)[0],
    "std_mean_all": lambda m, x: m.std_mean(x)[1],
    "prod_1": lambda m, x: x.prod(1),
    "norm_1": lambda m, x: x.norm(dim=1),
}


def _outcome(lib: Any, shape: tuple[int, ...], call: Callable[[Any, Any], Any]) -> Any:
    """Return what ``call`` gives: (value, gradient) or the error, and the warnings."""
    x = lib.zeros(shape, dtype=lib.float64, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y = call(lib, x)
            if y.requires_grad:
                y.sum().backward()
            grad = None if x.grad is None else x.grad.numpy()
            result: Any = (y.detach().numpy(), grad)
        except Exception as error:  # noqa: BLE001 - the error itself is what is compared
            result = (type(error).__name__, str(error))
    said = [(w.category.__name__, str(w.message).split(" (Triggered")[0]) for w in caught]
    return result, said


@pytest.mark.parametrize("shape", [(3, 0), (0, 5)], ids=["empty_cols", "empty_rows"])
@pytest.mark.parametrize("name", list(CALLS))
def test_reduction_of_an_empty_tensor_matches_pytorch(
    torch: Any, name: str, shape: tuple[int, ...]
) -> None:
    (got, got_said) = _outcome(gradviz, shape, CALLS[name])
    (ref, ref_said) = _outcome(torch, shape, CALLS[name])
    assert got_said == ref_said
    if isinstance(ref[0], str):
        assert got == ref
        return
    np.testing.assert_array_equal(got[0], ref[0])
    assert got[0].dtype == ref[0].dtype
    if ref[1] is None:
        assert got[1] is None
    else:
        np.testing.assert_array_equal(got[1], ref[1])


SPREADS: dict[str, Callable[[Any, Any], Any]] = {
    "var": lambda m, x: x.var(),
    "std": lambda m, x: m.std(x),
    "var_mean": lambda m, x: m.var_mean(x, 0)[0],
    "std_mean": lambda m, x: m.std_mean(x)[0],
    "var_biased": lambda m, x: x.var(unbiased=False),
    "std_correction_2": lambda m, x: x.std(correction=2),
}


@pytest.mark.parametrize("values", [[1.5], [1.0, 2.0]], ids=["n1", "n2"])
@pytest.mark.parametrize("name", list(SPREADS))
def test_no_degrees_of_freedom_warns_and_differentiates_as_pytorch(
    torch: Any, name: str, values: list[float]
) -> None:
    def run(lib: Any) -> Any:
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = SPREADS[name](lib, x)
            y.backward()
        said = [
            (w.category.__name__, str(w.message).split(" (Triggered")[0], w.filename)
            for w in caught
        ]
        return y.detach().numpy(), x.grad.numpy(), said

    got, ref = run(gradviz), run(torch)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    assert got[2] == ref[2]  # PyTorch's words, pointing at this file (the user's line)


def test_std_mean_saves_its_std_as_pytorch_does(torch: Any) -> None:
    data = np.random.default_rng(3).standard_normal((3, 4))
    for lib in (gradviz, torch):
        x = lib.tensor(data, requires_grad=True)
        std, _ = lib.std_mean(x, 1)
        np.testing.assert_array_equal(
            std.grad_fn._saved_result0.detach().numpy(), std.detach().numpy()
        )
        assert std.grad_fn._saved_self is x


CONSTANT_SPREADS: dict[str, Callable[[Any, Any], Any]] = {
    "std_biased": lambda m, x: x.std(correction=0),
    "std": lambda m, x: x.std(),
    "std_dim": lambda m, x: x.reshape(3, 2).std(1).sum(),
    "std_mean": lambda m, x: m.std_mean(x)[0],
    "std_mean_dim": lambda m, x: m.std_mean(x.reshape(2, 3), 0)[0].sum(),
}


@pytest.mark.parametrize("name", list(CONSTANT_SPREADS))
def test_std_of_a_constant_has_zero_gradient_as_in_pytorch(torch: Any, name: str) -> None:
    grads = []
    for lib in (gradviz, torch):
        x = lib.full((6,), 2.5, dtype=lib.float64, requires_grad=True)
        CONSTANT_SPREADS[name](lib, x).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert not np.isnan(grads[0]).any()


@pytest.mark.parametrize("values", [[1, 2, 3], [True, False]], ids=["int64", "bool"])
def test_logsumexp_of_integers_is_in_the_default_float_dtype(torch: Any, values: list[Any]) -> None:
    got = gradviz.logsumexp(gradviz.tensor(values), 0)
    ref = torch.logsumexp(torch.tensor(values), 0)
    assert str(got.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1] == "float32"
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6)
