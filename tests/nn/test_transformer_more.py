"""``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder``, ``Transformer``.

Each case builds the same model in both libraries (d_model 8, nhead 2, dim_feedforward 16),
copies PyTorch's ``state_dict`` into gradviz, runs both in ``eval()`` mode (dropout off) in
float64, and compares the output, the gradients of the inputs and of every parameter (by
name), the ``state_dict`` keys and the repr.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.autograd import gradcheck
from gradviz.nn.modules.transformer_more import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
)

D, H, FF = 8, 2, 16
N, S, T = 3, 5, 4  # batch, source length, target length


def _nn(lib: Any) -> Any:
    """Return the namespace that holds the classes under test for ``lib``."""
    if lib is gradviz:
        return SimpleNamespace(
            TransformerEncoderLayer=gradviz.nn.TransformerEncoderLayer,
            TransformerEncoder=TransformerEncoder,
            TransformerDecoderLayer=TransformerDecoderLayer,
            TransformerDecoder=TransformerDecoder,
            Transformer=Transformer,
            LayerNorm=gradviz.nn.LayerNorm,
        )
    return lib.nn


def _enc_layer(nn: Any, **kw: Any) -> Any:
    return nn.TransformerEncoderLayer(D, H, FF, **kw)


def _dec_layer(nn: Any, **kw: Any) -> Any:
    return nn.TransformerDecoderLayer(D, H, FF, **kw)


def _causal_float(lib: Any, size: int) -> Any:
    return _nn(lib).Transformer.generate_square_subsequent_mask(size, dtype=lib.float64)


def _causal_bool(lib: Any, size: int) -> Any:
    return lib.tensor(np.triu(np.ones((size, size), dtype=bool), 1))


def _padding(lib: Any, length: int) -> Any:
    """Return an ``(N, length)`` bool mask that hides the last key of batch entries 0 and 2."""
    mask = np.zeros((N, length), dtype=bool)
    mask[0, -1] = True
    mask[2, -2:] = True
    return lib.tensor(mask)


class Case:
    """One model: how to build it, which sequences it takes, which masks it gets."""

    def __init__(
        self,
        build: Callable[[Any], Any],
        kind: str,
        *,
        batch_first: bool = False,
        masks: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        self.build = build
        self.kind = kind  # "encoder", "decoder" or "transformer"
        self.batch_first = batch_first
        self.masks = masks or (lambda lib: {})


CASES = {
    "encoder-no-norm-causal-float": Case(
        lambda nn: nn.TransformerEncoder(_enc_layer(nn), 2, enable_nested_tensor=False),
        "encoder",
        masks=lambda lib: {"mask": _causal_float(lib, S)},
    ),
    "encoder-norm-batch-first-bool-masks": Case(
        lambda nn: nn.TransformerEncoder(
            _enc_layer(nn, batch_first=True), 2, nn.LayerNorm(D), enable_nested_tensor=False
        ),
        "encoder",
        batch_first=True,
        masks=lambda lib: {"mask": _causal_bool(lib, S), "src_key_padding_mask": _padding(lib, S)},
    ),
    "encoder-norm-first-gelu-padding": Case(
        lambda nn: nn.TransformerEncoder(
            _enc_layer(nn, norm_first=True, activation="gelu"),
            3,
            nn.LayerNorm(D),
            enable_nested_tensor=False,
        ),
        "encoder",
        masks=lambda lib: {"src_key_padding_mask": _padding(lib, S)},
    ),
    "encoder-is-causal-hint": Case(
        lambda nn: nn.TransformerEncoder(_enc_layer(nn), 2, enable_nested_tensor=False),
        "encoder",
        masks=lambda lib: {"mask": _causal_float(lib, S), "is_causal": True},
    ),
    "decoder-layer": Case(
        lambda nn: _dec_layer(nn),
        "decoder",
        masks=lambda lib: {"tgt_mask": _causal_float(lib, T), "tgt_is_causal": True},
    ),
    "decoder-layer-norm-first-bool-masks": Case(
        lambda nn: _dec_layer(nn, norm_first=True, batch_first=True, activation="gelu"),
        "decoder",
        batch_first=True,
        masks=lambda lib: {
            "tgt_mask": _causal_bool(lib, T),
            "tgt_key_padding_mask": _padding(lib, T),
            "memory_key_padding_mask": _padding(lib, S),
        },
    ),
    "decoder-no-norm-causal": Case(
        lambda nn: nn.TransformerDecoder(_dec_layer(nn), 2),
        "decoder",
        masks=lambda lib: {"tgt_mask": _causal_float(lib, T)},
    ),
    "decoder-norm-batch-first-all-masks": Case(
        lambda nn: nn.TransformerDecoder(_dec_layer(nn, batch_first=True), 2, nn.LayerNorm(D)),
        "decoder",
        batch_first=True,
        masks=lambda lib: {
            "tgt_mask": _causal_bool(lib, T),
            "memory_mask": lib.tensor(np.eye(T, S, 1, dtype=bool)),
            "tgt_key_padding_mask": _padding(lib, T),
            "memory_key_padding_mask": _padding(lib, S),
        },
    ),
    "decoder-norm-first-float-mask": Case(
        lambda nn: nn.TransformerDecoder(_dec_layer(nn, norm_first=True), 2, nn.LayerNorm(D)),
        "decoder",
        masks=lambda lib: {
            "tgt_mask": lib.tensor(np.random.default_rng(9).standard_normal((N * H, T, T)))
        },
    ),
    "transformer-seq-first-masks": Case(
        lambda nn: nn.Transformer(D, H, 2, 2, FF),
        "transformer",
        masks=lambda lib: {
            "src_mask": _causal_float(lib, S),
            "tgt_mask": _causal_bool(lib, T),
            "src_key_padding_mask": _padding(lib, S).double() * -1e9,
            "memory_key_padding_mask": _padding(lib, S),
            "tgt_key_padding_mask": _padding(lib, T),
        },
    ),
    "transformer-batch-first-norm-first": Case(
        lambda nn: nn.Transformer(D, H, 1, 2, FF, batch_first=True, norm_first=True),
        "transformer",
        batch_first=True,
        masks=lambda lib: {"tgt_mask": _causal_float(lib, T), "tgt_is_causal": True},
    ),
}


def _build(lib: Any, case: Case) -> Any:
    # NOTE: PyTorch's encoder warns that nested tensors are off whenever batch_first is
    # False; that warning is tested on its own below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return case.build(_nn(lib))


def _sequence(rng: np.random.Generator, length: int, batch_first: bool) -> np.ndarray:
    return rng.standard_normal((N, length, D) if batch_first else (length, N, D))


def _run(lib: Any, case: Case, state: dict[str, np.ndarray]) -> dict[str, Any]:
    model = _build(lib, case).double()
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    model.eval()
    rng = np.random.default_rng(7)
    inputs = []
    if case.kind in ("encoder", "transformer"):
        inputs.append(_sequence(rng, S, case.batch_first))
    if case.kind in ("decoder", "transformer"):
        inputs.append(_sequence(rng, T, case.batch_first))
    if case.kind == "decoder":
        inputs.append(_sequence(rng, S, case.batch_first))
    tensors = [lib.tensor(x).requires_grad_(True) for x in inputs]
    out = model(*tensors, **case.masks(lib))
    weight = lib.tensor(rng.standard_normal(tuple(out.shape)))
    (out * weight).sum().backward()
    return {
        "model": model,
        "out": out.detach().numpy(),
        "input_grads": [t.grad.numpy() for t in tensors],
        "param_grads": {n: p.grad.numpy() for n, p in model.named_parameters()},
    }


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(torch, name: str) -> None:
    case = CASES[name]
    torch.manual_seed(0)
    template = _build(torch, case).double()
    state = {k: v.numpy().copy() for k, v in template.state_dict().items()}
    ref, got = _run(torch, case, state), _run(gradviz, case, state)
    assert repr(got["model"]) == repr(ref["model"])
    assert list(got["model"].state_dict()) == list(ref["model"].state_dict())
    assert got["out"].shape == ref["out"].shape
    np.testing.assert_allclose(got["out"], ref["out"], rtol=1e-9, atol=1e-12)
    for a, b in zip(got["input_grads"], ref["input_grads"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert list(got["param_grads"]) == list(ref["param_grads"])
    for key, b in ref["param_grads"].items():
        np.testing.assert_allclose(got["param_grads"][key], b, rtol=1e-9, atol=1e-12, err_msg=key)


def test_unbatched_transformer_matches_torch(torch) -> None:
    def run(lib, state):
        model = _build(lib, CASES["transformer-seq-first-masks"]).double()
        if state is not None:
            model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        model.eval()
        rng = np.random.default_rng(2)
        src = lib.tensor(rng.standard_normal((S, D))).requires_grad_(True)
        tgt = lib.tensor(rng.standard_normal((T, D))).requires_grad_(True)
        out = model(src, tgt, tgt_mask=_causal_float(lib, T))
        out.pow(3).sum().backward()
        return out.detach().numpy(), src.grad.numpy(), tgt.grad.numpy()

    torch.manual_seed(1)
    template = _build(torch, CASES["transformer-seq-first-masks"]).double()
    state = {k: v.numpy().copy() for k, v in template.state_dict().items()}
    for a, b in zip(run(gradviz, state), run(torch, state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_default_transformer_structure_matches_torch(torch) -> None:
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        got = Transformer(num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=32)
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        ref = torch.nn.Transformer(num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=32)
    assert repr(got) == repr(ref)
    assert list(got.state_dict()) == list(ref.state_dict())
    assert [tuple(p.shape) for p in got.parameters()] == [tuple(p.shape) for p in ref.parameters()]
    assert (got.d_model, got.nhead, got.batch_first) == (512, 8, False)
    assert list(got.state_dict())[:3] == [
        "encoder.layers.0.self_attn.in_proj_weight",
        "encoder.layers.0.self_attn.in_proj_bias",
        "encoder.layers.0.self_attn.out_proj.weight",
    ]


def test_transformer_reinitialises_matrices_with_xavier() -> None:
    gradviz.manual_seed(0)
    model = Transformer(D, H, 1, 1, FF, batch_first=True)
    for name, p in model.named_parameters():
        values = p.detach().numpy()
        if p.dim() > 1:
            bound = np.sqrt(6.0 / (p.shape[0] + p.shape[1]))
            assert np.abs(values).max() <= bound, name
            assert np.abs(values).max() > 0.5 * bound, name
        elif name.endswith("in_proj_bias") or name.endswith("out_proj.bias"):
            assert not values.any(), name


def test_layers_are_independent_deep_copies() -> None:
    layer = TransformerDecoderLayer(D, H, FF)
    decoder = TransformerDecoder(layer, 3)
    first, second = decoder.layers[0], decoder.layers[1]
    assert first is not layer and first is not second
    assert first.linear1.weight is not second.linear1.weight
    for copy in decoder.layers:
        np.testing.assert_array_equal(
            copy.linear1.weight.detach().numpy(), layer.linear1.weight.detach().numpy()
        )
    with gradviz.no_grad():
        first.linear1.weight.fill_(0.0)
    assert not first.linear1.weight.detach().numpy().any()
    assert second.linear1.weight.detach().numpy().all()
    assert layer.linear1.weight.detach().numpy().all()
    assert len(list(decoder.parameters())) == 3 * len(list(layer.parameters()))
    assert decoder.num_layers == 3 and decoder.norm is None


def test_square_subsequent_mask_matches_torch(torch) -> None:
    got = Transformer.generate_square_subsequent_mask(4)
    ref = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert str(got.dtype) == str(ref.dtype).replace("torch", "gradviz")
    np.testing.assert_array_equal(got.numpy(), ref.numpy())
    assert Transformer.generate_square_subsequent_mask(2, dtype=gradviz.float64).dtype == (
        gradviz.float64
    )


@pytest.mark.parametrize(
    "layer_options",
    [
        {},
        {"batch_first": True, "norm_first": True},
        {"batch_first": True, "bias": False},
        {"batch_first": True, "activation": gradviz.tanh},
        {"batch_first": True, "layer_norm_eps": 1e-3},
        {"batch_first": True, "nhead": 1},
        {"batch_first": True},
    ],
)
def test_nested_tensor_warning_matches_torch(torch, layer_options: dict[str, Any]) -> None:
    def attempt(lib, activation):
        options = dict(layer_options)
        nhead = options.pop("nhead", H)
        if "activation" in options:
            options["activation"] = activation
        layer = _nn(lib).TransformerEncoderLayer(D, nhead, FF, **options)
        if "layer_norm_eps" in options:
            layer.norm2.eps = 1e-5  # only norm1 keeps the custom eps: they differ
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            encoder = _nn(lib).TransformerEncoder(layer, 1)
        return [str(w.message) for w in caught], encoder.use_nested_tensor

    got = attempt(gradviz, gradviz.tanh)
    ref = attempt(torch, torch.tanh)
    assert got == ref
    if layer_options == {"batch_first": True}:
        assert got == ([], True)
    else:
        assert got[1] is False and len(got[0]) == 1


def test_mismatched_mask_types_warn_as_torch(torch) -> None:
    def attempt(lib):
        encoder = _build(lib, CASES["encoder-no-norm-causal-float"])
        x = lib.tensor(np.ones((S, N, D), dtype=np.float32))
        with pytest.warns(UserWarning) as caught:
            encoder(x, mask=_causal_float(lib, S).float(), src_key_padding_mask=_padding(lib, S))
        return [str(w.message) for w in caught if "mismatched" in str(w.message)][:1]

    assert (
        attempt(gradviz)
        == attempt(torch)
        == [
            "Support for mismatched src_key_padding_mask and mask is deprecated. "
            "Use same type for both instead."
        ]
    )


def test_errors_match_torch(torch) -> None:
    def errors(lib):
        nn = _nn(lib)
        found = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = nn.Transformer(D, H, 1, 1, FF)
            encoder = nn.TransformerEncoder(_enc_layer(nn), 1, enable_nested_tensor=False)
        for attempt in (
            lambda: nn.TransformerDecoderLayer(D, H, FF, activation="tanh"),
            lambda: nn.Transformer(D, H, 1, 1, FF, activation="swish", batch_first=True),
            lambda: model(lib.ones(S, 2, D), lib.ones(T, 3, D)),
            lambda: model(lib.ones(S, N, D), lib.ones(T, N, D + 1)),
            lambda: model(lib.ones(S, N, D + 1), lib.ones(T, N, D)),
            lambda: encoder(lib.ones(S, N, D), mask=lib.zeros(S, S, dtype=lib.int64)),
            lambda: encoder(
                lib.ones(S, N, D), src_key_padding_mask=lib.zeros(N, S, dtype=lib.int64)
            ),
        ):
            try:
                attempt()
                found.append(None)
            except Exception as err:  # noqa: BLE001 - we compare every error
                found.append((type(err).__name__, str(err)))
        return found

    got = errors(gradviz)
    assert got == errors(torch)
    assert None not in got


def test_transformer_errors_have_pytorch_wording() -> None:
    model = Transformer(D, H, 1, 1, FF, batch_first=True)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(gradviz.ones(2, S, D), gradviz.ones(3, T, D))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_mo"):
        model(gradviz.ones(2, S, D), gradviz.ones(2, T, 4))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        TransformerDecoderLayer(D, H, FF, activation="tanh")
    encoder = TransformerEncoder(_enc_layer(gradviz.nn), 1, enable_nested_tensor=False)
    with pytest.raises(AssertionError, match="only bool and floating types of mask"):
        encoder(gradviz.ones(S, N, D), mask=gradviz.zeros(S, S, dtype=gradviz.int64))


def test_decoder_layer_gradcheck() -> None:
    gradviz.manual_seed(0)
    layer = TransformerDecoderLayer(4, 2, 6, dropout=0.0, activation="gelu").double()
    rng = np.random.default_rng(4)
    tgt = gradviz.tensor(rng.standard_normal((3, 2, 4))).requires_grad_(True)
    memory = gradviz.tensor(rng.standard_normal((2, 2, 4))).requires_grad_(True)
    tgt_mask = Transformer.generate_square_subsequent_mask(3, dtype=gradviz.float64)
    kpm = gradviz.tensor(np.array([[False, True], [False, False]]))

    def func(a, b):
        return layer(a, b, tgt_mask=tgt_mask, memory_key_padding_mask=kpm)

    assert gradcheck(func, (tgt, memory))


def test_causal_mask_detection_matches_torch(torch) -> None:
    from torch.nn.modules.transformer import _detect_is_causal_mask as torch_detect

    from gradviz.nn.modules.transformer_more import _detect_is_causal_mask as detect

    def masks(lib):
        causal = _causal_float(lib, 4)
        return [
            (None, None, 4),
            (None, True, 4),
            (causal, None, 4),
            (causal, None, None),
            (causal, None, 5),
            (causal, False, 4),
            (_causal_bool(lib, 4), None, 4),
            (lib.zeros(4, 4, dtype=lib.float64), None, 4),
            (lib.zeros(4, 4, dtype=lib.float64), True, 4),
        ]

    got = [detect(*args) for args in masks(gradviz)]
    assert got == [torch_detect(*args) for args in masks(torch)]
    assert got == [False, True, True, True, False, False, True, False, True]
