"""Bad arguments to ``gradviz.nn.functional`` raise PyTorch's exception type and message.

Each case is run against ``torch.nn.functional`` first (the oracle) and then against
gradviz; both must raise the same exception type with the same message. The last tests
cover errors that are gradviz's own.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import gradviz

GF = importlib.import_module("gradviz.nn.functional")


def _img(lib: Any) -> Any:
    return lib.ones(2, 3, 8, 8)


def _a(lib: Any) -> Any:
    return lib.ones(3, 4, requires_grad=True)


ERRORS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("dropout p > 1", lambda f, lib: f.dropout(_a(lib), 1.5)),
    ("dropout p < 0", lambda f, lib: f.dropout(_a(lib), -0.1)),
    ("linear shape", lambda f, lib: f.linear(_a(lib), lib.ones(5, 3))),
    ("linear shape with bias", lambda f, lib: f.linear(_a(lib), lib.ones(5, 3), lib.ones(5))),
    ("linear 3d shape", lambda f, lib: f.linear(lib.ones(2, 3, 4), lib.ones(5, 3), lib.ones(5))),
    ("linear bad bias", lambda f, lib: f.linear(_a(lib), lib.ones(5, 4), lib.ones(3))),
    ("linear 0d", lambda f, lib: f.linear(lib.tensor(1.0), lib.ones(2, 1))),
    ("linear non-tensor", lambda f, lib: f.linear([1.0], lib.ones(2, 1))),
    ("bilinear input1", lambda f, lib: f.bilinear(_a(lib), _a(lib), lib.ones(2, 3, 4))),
    (
        "bilinear input2",
        lambda f, lib: f.bilinear(lib.ones(3, 4), lib.ones(3, 5), lib.ones(2, 4, 6)),
    ),
    (
        "bilinear batch",
        lambda f, lib: f.bilinear(lib.ones(3, 4), lib.ones(2, 5), lib.ones(2, 4, 5)),
    ),
    (
        "bilinear dims",
        lambda f, lib: f.bilinear(lib.ones(3, 4), lib.ones(1, 3, 5), lib.ones(2, 4, 5)),
    ),
    (
        "bilinear bias",
        lambda f, lib: f.bilinear(lib.ones(3, 4), lib.ones(3, 5), lib.ones(2, 4, 5), lib.ones(3)),
    ),
    ("hardtanh range", lambda f, lib: f.hardtanh(lib.ones(3), 1.0, -1.0)),
    ("gelu approximate", lambda f, lib: f.gelu(_a(lib), approximate="foo")),
    ("softmax dim", lambda f, lib: f.softmax(_a(lib), dim=3)),
    ("relu inplace on leaf", lambda f, lib: f.relu(_a(lib), inplace=True)),
    ("leaky_relu inplace on leaf", lambda f, lib: f.leaky_relu(_a(lib), inplace=True)),
    ("conv2d channels", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 2, 3, 3))),
    ("conv2d unbatched channels", lambda f, lib: f.conv2d(lib.ones(3, 8, 8), lib.ones(4, 2, 3, 3))),
    ("conv2d input rank", lambda f, lib: f.conv2d(lib.ones(8, 8), lib.ones(4, 3, 3, 3))),
    ("conv1d input rank", lambda f, lib: f.conv1d(_img(lib), lib.ones(4, 3, 3))),
    ("conv2d weight rank", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3))),
    (
        "conv2d stride length",
        lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), stride=(1, 1, 1)),
    ),
    ("conv2d kernel too big", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 9, 9))),
    ("conv2d groups channels", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), groups=2)),
    (
        "conv2d groups weight",
        lambda f, lib: f.conv2d(lib.ones(2, 4, 8, 8), lib.ones(3, 2, 3, 3), groups=2),
    ),
    ("conv2d groups 0", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), groups=0)),
    ("conv2d stride 0", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), stride=0)),
    ("conv2d dilation 0", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), dilation=0)),
    (
        "conv2d negative padding",
        lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), padding=-1),
    ),
    (
        "conv2d same strided",
        lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), stride=2, padding="same"),
    ),
    (
        "conv2d padding string",
        lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), padding="foo"),
    ),
    ("conv2d bias size", lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), lib.ones(3))),
    (
        "conv2d weight dtype",
        lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3, dtype=lib.float64)),
    ),
    (
        "conv2d bias dtype",
        lambda f, lib: f.conv2d(_img(lib), lib.ones(4, 3, 3, 3), lib.ones(4, dtype=lib.float64)),
    ),
    ("conv2d non-tensor", lambda f, lib: f.conv2d([1.0], lib.ones(2, 1))),
    ("max_pool2d padding", lambda f, lib: f.max_pool2d(_img(lib), 2, padding=2)),
    (
        "max_pool2d asymmetric padding",
        lambda f, lib: f.max_pool2d(_img(lib), (4, 2), padding=(1, 2)),
    ),
    (
        "max_pool2d padding beyond the undilated kernel",
        lambda f, lib: f.max_pool2d(_img(lib), (1, 3), padding=(0, 2), dilation=(1, 2)),
    ),
    ("max_pool2d negative padding", lambda f, lib: f.max_pool2d(_img(lib), 2, padding=-1)),
    ("max_pool2d rank", lambda f, lib: f.max_pool2d(lib.ones(8, 8), 2)),
    ("max_pool2d rank 5", lambda f, lib: f.max_pool2d(lib.ones(1, 2, 3, 8, 8), 2)),
    ("max_pool2d output too small", lambda f, lib: f.max_pool2d(lib.ones(1, 1, 2, 2), 3)),
    ("max_pool2d stride 0", lambda f, lib: f.max_pool2d(_img(lib), 2, stride=0)),
    ("max_pool2d kernel 0", lambda f, lib: f.max_pool2d(_img(lib), 0)),
    ("max_pool2d kernel 0 with stride", lambda f, lib: f.max_pool2d(_img(lib), 0, stride=1)),
    ("max_pool2d negative stride", lambda f, lib: f.max_pool2d(_img(lib), 2, stride=-1)),
    ("max_pool2d dilation 0", lambda f, lib: f.max_pool2d(_img(lib), 2, dilation=0)),
    ("max_pool2d kernel length", lambda f, lib: f.max_pool2d(_img(lib), (2, 2, 2))),
    ("avg_pool2d padding", lambda f, lib: f.avg_pool2d(_img(lib), 2, padding=2)),
    ("avg_pool2d rank 2", lambda f, lib: f.avg_pool2d(lib.ones(8, 8), 2)),
    ("avg_pool2d rank 5", lambda f, lib: f.avg_pool2d(lib.ones(1, 2, 3, 8, 8), 2)),
    ("avg_pool2d output too small", lambda f, lib: f.avg_pool2d(lib.ones(1, 1, 2, 2), 3)),
    ("avg_pool2d stride 0", lambda f, lib: f.avg_pool2d(_img(lib), 2, stride=0)),
    ("avg_pool2d divisor 0", lambda f, lib: f.avg_pool2d(_img(lib), 2, divisor_override=0)),
    ("adaptive rank", lambda f, lib: f.adaptive_avg_pool2d(lib.ones(8, 8), 2)),
    (
        "adaptive output_size length",
        lambda f, lib: f.adaptive_avg_pool2d(lib.ones(1, 2, 4, 4), (1, 2, 3)),
    ),
    ("layer_norm shape", lambda f, lib: f.layer_norm(_a(lib), (3,))),
    ("layer_norm int shape", lambda f, lib: f.layer_norm(_a(lib), 4)),
    ("layer_norm weight", lambda f, lib: f.layer_norm(_a(lib), (4,), lib.ones(3))),
    ("layer_norm bias", lambda f, lib: f.layer_norm(_a(lib), (4,), None, lib.ones(3))),
    (
        "batch_norm one value",
        lambda f, lib: f.batch_norm(lib.ones(1, 4), lib.zeros(4), lib.ones(4), training=True),
    ),
    (
        "batch_norm one value 3d",
        lambda f, lib: f.batch_norm(lib.ones(1, 4, 1), None, None, training=True),
    ),
    ("batch_norm eval no mean", lambda f, lib: f.batch_norm(_a(lib), None, None, training=False)),
    (
        "batch_norm eval no var",
        lambda f, lib: f.batch_norm(_a(lib), lib.zeros(4), None, training=False),
    ),
    (
        "batch_norm running_mean size",
        lambda f, lib: f.batch_norm(_a(lib), lib.zeros(3), lib.ones(3), training=True),
    ),
    (
        "batch_norm running_var size",
        lambda f, lib: f.batch_norm(_a(lib), lib.zeros(4), lib.ones(3), training=True),
    ),
    (
        "batch_norm weight size",
        lambda f, lib: f.batch_norm(_a(lib), lib.zeros(4), lib.ones(4), lib.ones(3), training=True),
    ),
    (
        "batch_norm bias size",
        lambda f, lib: f.batch_norm(
            _a(lib), lib.zeros(4), lib.ones(4), None, lib.ones(3), training=True
        ),
    ),
    ("embedding out of range", lambda f, lib: f.embedding(lib.tensor([10]), lib.ones(5, 3))),
    ("embedding negative", lambda f, lib: f.embedding(lib.tensor([-1]), lib.ones(5, 3))),
    ("embedding float indices", lambda f, lib: f.embedding(lib.tensor([1.0]), lib.ones(5, 3))),
    (
        "embedding padding_idx",
        lambda f, lib: f.embedding(lib.tensor([1]), lib.ones(5, 3), padding_idx=7),
    ),
    (
        "embedding negative padding_idx",
        lambda f, lib: f.embedding(lib.tensor([1]), lib.ones(5, 3), padding_idx=-6),
    ),
    ("embedding 1d weight", lambda f, lib: f.embedding(lib.tensor([1]), lib.ones(5))),
    ("one_hot negative", lambda f, lib: f.one_hot(lib.tensor([-1, 2]))),
    ("one_hot too large", lambda f, lib: f.one_hot(lib.tensor([0, 5]), 3)),
    ("one_hot float", lambda f, lib: f.one_hot(lib.tensor([0.0]))),
    ("one_hot int32", lambda f, lib: f.one_hot(lib.tensor([1], dtype=lib.int32))),
    ("one_hot empty", lambda f, lib: f.one_hot(lib.zeros(0, dtype=lib.int64))),
    ("pad odd length", lambda f, lib: f.pad(_a(lib), (1,))),
    ("pad mode", lambda f, lib: f.pad(_a(lib), (1, 1), mode="foo")),
    ("pad too long", lambda f, lib: f.pad(_a(lib), (1, 1, 1, 1, 1, 1))),
    ("pad reflect too big", lambda f, lib: f.pad(lib.ones(2, 3, 5), (5, 1), mode="reflect")),
    (
        "pad reflect 2d height",
        lambda f, lib: f.pad(lib.ones(1, 2, 3, 8), (1, 1, 3, 1), mode="reflect"),
    ),
    (
        "pad reflect 3d depth",
        lambda f, lib: f.pad(lib.ones(1, 2, 3, 8, 8), (1, 1, 1, 1, 3, 1), mode="reflect"),
    ),
    ("pad reflect rank", lambda f, lib: f.pad(lib.ones(1, 2, 4, 5), (1, 2), mode="reflect")),
    ("pad replicate 1d input", lambda f, lib: f.pad(lib.ones(5), (1, 1), mode="replicate")),
    ("pad circular wraps twice", lambda f, lib: f.pad(lib.ones(2, 3, 5), (6, 1), mode="circular")),
    (
        "pad reflect value",
        lambda f, lib: f.pad(lib.ones(2, 3, 5), (1, 1), mode="reflect", value=1.0),
    ),
    ("normalize dim", lambda f, lib: f.normalize(_a(lib), dim=3)),
    ("cosine_similarity shapes", lambda f, lib: f.cosine_similarity(_a(lib), lib.ones(3, 5))),
    (
        "cross_entropy target out of range",
        lambda f, lib: f.cross_entropy(_a(lib), lib.tensor([0, 1, 4])),
    ),
    (
        "cross_entropy negative target",
        lambda f, lib: f.cross_entropy(_a(lib), lib.tensor([0, 1, -2])),
    ),
    ("cross_entropy batch", lambda f, lib: f.cross_entropy(_a(lib), lib.tensor([0, 1]))),
    ("cross_entropy multi-target", lambda f, lib: f.cross_entropy(_a(lib), lib.ones(3, 5))),
    (
        "cross_entropy int32 target",
        lambda f, lib: f.cross_entropy(_a(lib), lib.tensor([0, 1, 2], dtype=lib.int32)),
    ),
    (
        "cross_entropy label_smoothing",
        lambda f, lib: f.cross_entropy(_a(lib), lib.tensor([0, 1, 2]), label_smoothing=1.5),
    ),
    (
        "cross_entropy probs label_smoothing",
        lambda f, lib: f.cross_entropy(_a(lib), lib.ones(3, 4), label_smoothing=1.5),
    ),
    (
        "cross_entropy reduction",
        lambda f, lib: f.cross_entropy(_a(lib), lib.tensor([0, 1, 2]), reduction="avg"),
    ),
    (
        "cross_entropy weight",
        lambda f, lib: f.cross_entropy(_a(lib), lib.tensor([0, 1, 2]), weight=lib.ones(3)),
    ),
    (
        "cross_entropy probs weight",
        lambda f, lib: f.cross_entropy(_a(lib), lib.ones(3, 4), weight=lib.ones(3)),
    ),
    (
        "cross_entropy probs ignore_index",
        lambda f, lib: f.cross_entropy(_a(lib), lib.ones(3, 4), ignore_index=1),
    ),
    (
        "cross_entropy long probabilities",
        lambda f, lib: f.cross_entropy(_a(lib), lib.ones(3, 4, dtype=lib.int64)),
    ),
    ("cross_entropy non-tensor target", lambda f, lib: f.cross_entropy(_a(lib), [0, 1, 2])),
    ("nll_loss target rank", lambda f, lib: f.nll_loss(_a(lib), lib.tensor([[0, 1, 2]]))),
    (
        "nll_loss 4d target",
        lambda f, lib: f.nll_loss(lib.ones(2, 3, 4, 5), lib.zeros(2, 4, 6, dtype=lib.int64)),
    ),
    (
        "nll_loss 4d target rank",
        lambda f, lib: f.nll_loss(lib.ones(2, 3, 4, 5), lib.zeros(2, 20, dtype=lib.int64)),
    ),
    (
        "nll_loss 3d target",
        lambda f, lib: f.nll_loss(lib.ones(2, 3, 5), lib.zeros(2, 6, dtype=lib.int64)),
    ),
    ("nll_loss float target", lambda f, lib: f.nll_loss(_a(lib), lib.tensor([0.0, 1.0, 2.0]))),
    ("nll_loss 0d input", lambda f, lib: f.nll_loss(lib.tensor(1.0), lib.tensor(0))),
    ("nll_loss 0d target", lambda f, lib: f.nll_loss(lib.ones(2, 3), lib.tensor(1))),
    (
        "nll_loss 2d weight",
        lambda f, lib: f.nll_loss(lib.ones(2, 3), lib.tensor([0, 1]), weight=lib.ones(3, 1)),
    ),
    ("mse_loss reduction", lambda f, lib: f.mse_loss(_a(lib), _a(lib), reduction="foo")),
    ("mse_loss weight size", lambda f, lib: f.mse_loss(_a(lib), _a(lib), weight=lib.ones(4))),
    (
        "mse_loss weighted reduction",
        lambda f, lib: f.mse_loss(_a(lib), _a(lib), weight=lib.ones(3, 4), reduction="foo"),
    ),
    ("l1_loss weight size", lambda f, lib: f.l1_loss(_a(lib), _a(lib), weight=lib.ones(4))),
    (
        "bce input range",
        lambda f, lib: f.binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
    ),
    ("bce size", lambda f, lib: f.binary_cross_entropy(lib.ones(3, 1) / 2, lib.ones(3) / 2)),
    (
        "bce weight size",
        lambda f, lib: f.binary_cross_entropy(
            lib.ones(3, 4) / 2, lib.ones(3, 4) / 2, weight=lib.ones(5)
        ),
    ),
    (
        "bce with logits size",
        lambda f, lib: f.binary_cross_entropy_with_logits(lib.ones(3, 1), lib.ones(3)),
    ),
    (
        "bce with logits weight",
        lambda f, lib: f.binary_cross_entropy_with_logits(
            lib.ones(3, 4), lib.ones(3, 4), weight=lib.ones(5)
        ),
    ),
    (
        "bce with logits pos_weight",
        lambda f, lib: f.binary_cross_entropy_with_logits(
            lib.ones(3, 4), lib.ones(3, 4), pos_weight=lib.ones(5)
        ),
    ),
    ("smooth_l1 negative beta", lambda f, lib: f.smooth_l1_loss(_a(lib), _a(lib), beta=-1.0)),
    ("huber negative delta", lambda f, lib: f.huber_loss(_a(lib), _a(lib), delta=-1.0)),
    ("huber zero delta", lambda f, lib: f.huber_loss(_a(lib), _a(lib), delta=0.0)),
    ("kl_div reduction", lambda f, lib: f.kl_div(_a(lib), _a(lib), reduction="foo")),
    ("kl_div shapes", lambda f, lib: f.kl_div(lib.ones(3), lib.ones(4), reduction="sum")),
]


def _raised(fn: Callable[[], Any]) -> BaseException:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - the exception itself is under test
            return err
    raise AssertionError("no exception was raised")


@pytest.mark.parametrize(("name", "call"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_matches_torch(torch: Any, name: str, call: Callable[[Any, Any], Any]) -> None:
    expected = _raised(lambda: call(torch.nn.functional, torch))
    got = _raised(lambda: call(GF, gradviz))
    assert isinstance(got, type(expected)), f"{type(got).__name__}: {got}"
    assert str(got) == str(expected)


def test_sparse_embedding_is_refused() -> None:
    with pytest.raises(NotImplementedError, match=r"embedding\(sparse=True\) is not supported"):
        GF.embedding(gradviz.tensor([1]), gradviz.ones(3, 2), sparse=True)


def test_conv_non_tensor_names_the_signatures() -> None:
    with pytest.raises(
        TypeError,
        match=r"conv2d\(\) received an invalid combination of arguments - got \(list, Tensor\)",
    ):
        GF.conv2d([1.0], gradviz.ones(2, 1))


def test_legacy_flags_warn_with_the_reduction_to_use() -> None:
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        out = GF.l1_loss(gradviz.ones(2), gradviz.zeros(2), reduce=False)
    assert out.tolist() == [1.0, 1.0]
