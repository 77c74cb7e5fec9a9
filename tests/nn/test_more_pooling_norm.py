"""New pooling, normalisation, upsampling and transposed-convolution layers vs PyTorch.

Covers 1-D and adaptive max pooling, group and instance norm, interpolation, pixel
shuffle and transposed convolution.

Each functional case runs the same call in both libraries on the same numbers and
compares outputs (and returned indices), input gradients and the output's node name;
every new op gets a float64 gradient check; module cases copy PyTorch's parameters into
gradviz and compare repr, outputs, gradients and state; error cases compare the exception
type and message.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
import gradviz.nn.functional_more as GF  # noqa: N812
from gradviz.autograd import gradcheck, gradgradcheck
from gradviz.nn.modules.conv import ConvTranspose1d, ConvTranspose2d
from gradviz.nn.modules.normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d
from gradviz.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle
from gradviz.nn.modules.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    MaxPool1d,
)
from gradviz.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

SEED = 20240613

# ---------------------------------------------------------------------------- functional cases

# (id, call(F, *inputs), input shapes, dtypes to run)
FUNCTIONAL: list[tuple[str, Callable[..., Any], tuple[tuple[int, ...], ...]]] = [
    ("max_pool1d", lambda f, x: f.max_pool1d(x, 3, 2, 1), ((2, 3, 9),)),
    (
        "max_pool1d-indices-unbatched",
        lambda f, x: f.max_pool1d(x, 2, 1, 1, 2, True, True),
        ((3, 8),),
    ),
    ("avg_pool1d", lambda f, x: f.avg_pool1d(x, 3, 2, 1, True, False), ((2, 3, 9),)),
    ("avg_pool1d-default", lambda f, x: f.avg_pool1d(x, 2), ((2, 3, 7),)),
    ("adaptive_avg_pool1d", lambda f, x: f.adaptive_avg_pool1d(x, 4), ((2, 3, 9),)),
    ("adaptive_avg_pool1d-1", lambda f, x: f.adaptive_avg_pool1d(x, 1), ((3, 9),)),
    (
        "adaptive_max_pool1d",
        lambda f, x: f.adaptive_max_pool1d(x, 4, return_indices=True),
        ((2, 3, 9),),
    ),
    (
        "adaptive_max_pool2d",
        lambda f, x: f.adaptive_max_pool2d(x, (3, 4), return_indices=True),
        ((2, 3, 7, 9),),
    ),
    ("adaptive_max_pool2d-none", lambda f, x: f.adaptive_max_pool2d(x, (None, 2)), ((3, 5, 7),)),
    ("adaptive_max_pool2d-grow", lambda f, x: f.adaptive_max_pool2d(x, 5), ((1, 2, 3, 4),)),
    ("group_norm", lambda f, x, w, b: f.group_norm(x, 2, w, b), ((3, 4, 5, 2), (4,), (4,))),
    ("group_norm-plain", lambda f, x: f.group_norm(x, 4, eps=1e-3), ((2, 4, 5),)),
    ("group_norm-2d", lambda f, x, w: f.group_norm(x, 3, w), ((5, 6), (6,))),
    ("instance_norm", lambda f, x: f.instance_norm(x), ((2, 3, 5),)),
    (
        "instance_norm-affine",
        lambda f, x, w, b: f.instance_norm(x, weight=w, bias=b, eps=1e-3),
        ((2, 3, 4, 5), (3,), (3,)),
    ),
    ("pixel_shuffle", lambda f, x: f.pixel_shuffle(x, 2), ((2, 8, 3, 4),)),
    ("pixel_shuffle-5d", lambda f, x: f.pixel_shuffle(x, 3), ((2, 1, 9, 2, 2),)),
    ("pixel_unshuffle", lambda f, x: f.pixel_unshuffle(x, 2), ((2, 2, 4, 6),)),
    ("pixel_unshuffle-3d", lambda f, x: f.pixel_unshuffle(x, 3), ((1, 3, 6),)),
    (
        "conv_transpose1d",
        lambda f, x, w, b: f.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
        ((2, 4, 5), (4, 3, 3), (3,)),
    ),
    (
        "conv_transpose1d-groups-dilation",
        lambda f, x, w: f.conv_transpose1d(x, w, groups=2, dilation=2, stride=3),
        ((2, 4, 5), (4, 3, 3)),
    ),
    (
        "conv_transpose1d-output-padding-over-stride",
        lambda f, x, w: f.conv_transpose1d(x, w, dilation=3, output_padding=2),
        ((2, 4, 5), (4, 3, 3)),
    ),
    (
        "conv_transpose2d",
        lambda f, x, w, b: f.conv_transpose2d(
            x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2)
        ),
        ((2, 4, 5, 4), (4, 3, 3, 2), (6,)),
    ),
    (
        "conv_transpose2d-unbatched",
        lambda f, x, w: f.conv_transpose2d(x, w, padding=1),
        ((4, 5, 4), (4, 3, 3, 2)),
    ),
]

# Interpolation: every mode with sizes and scale factors that hit the kernels' special
# cases (x2, equal size, shrinking, non-integer factors), in both precisions.
_INTERP_1D = [
    dict(scale_factor=2),
    dict(scale_factor=1.7),
    dict(scale_factor=0.6),
    dict(size=13),
    dict(size=7),
    dict(size=4),
    dict(scale_factor=2.3, recompute_scale_factor=True),
]
_INTERP_2D = [
    dict(scale_factor=2),
    dict(scale_factor=(1.3, 2.6)),
    dict(scale_factor=0.45),
    dict(size=(13, 5)),
    dict(size=1),
]
for _mode, _corners in (("nearest", None), ("linear", False), ("linear", True), ("area", None)):
    for _i, _kw in enumerate(_INTERP_1D):
        FUNCTIONAL.append(
            (
                f"interpolate1d-{_mode}-{_corners}-{_i}",
                lambda f, x, m=_mode, a=_corners, kw=_kw: f.interpolate(
                    x, mode=m, align_corners=a, **kw
                ),
                ((2, 3, 7),),
            )
        )
for _mode, _corners in (("nearest", None), ("bilinear", False), ("bilinear", True), ("area", None)):
    for _i, _kw in enumerate(_INTERP_2D):
        FUNCTIONAL.append(
            (
                f"interpolate2d-{_mode}-{_corners}-{_i}",
                lambda f, x, m=_mode, a=_corners, kw=_kw: f.interpolate(
                    x, mode=m, align_corners=a, **kw
                ),
                ((2, 3, 7, 6),),
            )
        )


def _arrays(shapes: tuple[tuple[int, ...], ...], dtype: str) -> list[np.ndarray]:
    rng = np.random.default_rng(SEED)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _run(lib: Any, ns: Any, call: Callable[..., Any], arrays: list[np.ndarray]) -> dict[str, Any]:
    inputs = [lib.tensor(a).requires_grad_(True) for a in arrays]
    out = call(ns, *inputs)
    indices = None
    if isinstance(out, tuple):
        out, indices = out
    upstream = np.random.default_rng(SEED + 1).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(upstream.astype(arrays[0].dtype)))
    return {
        "out": out.detach().numpy(),
        "indices": None if indices is None else indices.numpy(),
        "grads": [t.grad.numpy() for t in inputs],
        "name": out.grad_fn.name(),
    }


def _close(got: np.ndarray, want: np.ndarray, dtype: str, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    rtol, atol = (1e-10, 1e-12) if dtype == "float64" else (1e-5, 1e-5)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("call", "shapes"), [c[1:] for c in FUNCTIONAL], ids=[c[0] for c in FUNCTIONAL]
)
def test_functional_matches_torch(torch, call: Any, shapes: Any, dtype: str) -> None:
    arrays = _arrays(shapes, dtype)
    ref = _run(torch, torch.nn.functional, call, arrays)
    got = _run(gradviz, GF, call, arrays)
    assert got["name"] == ref["name"]
    _close(got["out"], ref["out"], dtype, "output")
    if ref["indices"] is not None:
        np.testing.assert_array_equal(got["indices"], ref["indices"])
        assert got["indices"].dtype == np.int64
    for i, (a, b) in enumerate(zip(got["grads"], ref["grads"], strict=True)):
        _close(a, b, dtype, f"grad of input {i}")


def test_nearest_index_rounding_follows_precision(torch) -> None:
    # NOTE: 1/0.7 rounds differently in float32 and float64, so the copied pixel differs.
    for dtype in ("float32", "float64"):
        x = np.arange(40, dtype=dtype).reshape(1, 1, 40)
        want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=0.7).numpy()
        got = GF.interpolate(gradviz.tensor(x), scale_factor=0.7).numpy()
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------- gradient checks


def _double(*shapes: tuple[int, ...]) -> list[gradviz.Tensor]:
    rng = np.random.default_rng(SEED)
    return [gradviz.tensor(rng.standard_normal(s)).requires_grad_(True) for s in shapes]


GRADCHECKS: list[tuple[str, Callable[..., Any], tuple[tuple[int, ...], ...]]] = [
    ("max_pool1d", lambda x: GF.max_pool1d(x, 3, 2, 1, ceil_mode=True), ((2, 2, 7),)),
    ("avg_pool1d", lambda x: GF.avg_pool1d(x, 3, 2, 1), ((2, 2, 7),)),
    ("adaptive_avg_pool1d", lambda x: GF.adaptive_avg_pool1d(x, 3), ((2, 2, 7),)),
    ("adaptive_max_pool1d", lambda x: GF.adaptive_max_pool1d(x, 3), ((2, 2, 7),)),
    ("adaptive_max_pool2d", lambda x: GF.adaptive_max_pool2d(x, (2, 3)), ((2, 2, 5, 4),)),
    ("group_norm", lambda x, w, b: GF.group_norm(x, 2, w, b), ((2, 4, 3), (4,), (4,))),
    (
        "instance_norm",
        lambda x, w, b: GF.instance_norm(x, weight=w, bias=b),
        ((2, 2, 4), (2,), (2,)),
    ),
    ("upsample_nearest1d", lambda x: GF.interpolate(x, scale_factor=1.5), ((1, 2, 4),)),
    ("upsample_nearest2d", lambda x: GF.interpolate(x, size=(3, 5)), ((1, 2, 2, 3),)),
    ("upsample_linear1d", lambda x: GF.interpolate(x, size=7, mode="linear"), ((1, 2, 4),)),
    (
        "upsample_bilinear2d",
        lambda x: GF.interpolate(x, scale_factor=1.5, mode="bilinear"),
        ((1, 2, 3, 3),),
    ),
    (
        "upsample_bilinear2d-align",
        lambda x: GF.interpolate(x, size=(4, 2), mode="bilinear", align_corners=True),
        ((1, 2, 3, 3),),
    ),
    ("pixel_shuffle", lambda x: GF.pixel_shuffle(x, 2), ((1, 4, 2, 3),)),
    ("pixel_unshuffle", lambda x: GF.pixel_unshuffle(x, 2), ((1, 1, 4, 2),)),
    (
        "conv_transpose1d",
        lambda x, w, b: GF.conv_transpose1d(x, w, b, stride=2, output_padding=1, groups=2),
        ((2, 4, 3), (4, 1, 2), (2,)),
    ),
    (
        "conv_transpose2d",
        lambda x, w, b: GF.conv_transpose2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1)),
        ((1, 2, 3, 3), (2, 2, 3, 2), (2,)),
    ),
]


@pytest.mark.parametrize(
    ("fn", "shapes"), [c[1:] for c in GRADCHECKS], ids=[c[0] for c in GRADCHECKS]
)
def test_gradcheck(fn: Any, shapes: Any) -> None:
    assert gradcheck(fn, tuple(_double(*shapes)))


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (lambda x, w, b: GF.group_norm(x, 2, w, b), ((2, 4, 3), (4,), (4,))),
        (lambda x, w: GF.conv_transpose1d(x, w, stride=2), ((1, 2, 3), (2, 2, 2))),
        (lambda x: GF.adaptive_max_pool2d(x, 2), ((1, 1, 3, 3),)),
        (lambda x: GF.interpolate(x, scale_factor=2, mode="bilinear"), ((1, 1, 2, 2),)),
    ],
    ids=["group_norm", "conv_transpose1d", "adaptive_max_pool2d", "bilinear"],
)
def test_gradgradcheck(fn: Any, shapes: Any) -> None:
    assert gradgradcheck(fn, tuple(_double(*shapes)))


@pytest.mark.parametrize(
    ("call", "shape"),
    [
        (lambda f, x: f.adaptive_max_pool2d(x, (2, 3)), (2, 4, 4, 6)),
        (lambda f, x: f.interpolate(x, scale_factor=2), (2, 4, 4, 6)),
        (lambda f, x: f.interpolate(x, size=(3, 7), mode="bilinear"), (2, 4, 4, 6)),
        (lambda f, x: f.interpolate(x, size=5, mode="linear", align_corners=True), (2, 4, 6)),
        (lambda f, x: f.pixel_shuffle(x, 2), (2, 4, 4, 6)),
        (lambda f, x: f.pixel_unshuffle(x, 2), (2, 4, 4, 6)),
    ],
    ids=["adaptive_max", "nearest2d", "bilinear2d", "linear1d", "shuffle", "unshuffle"],
)
def test_double_backward_matches_torch(torch, call: Any, shape: tuple[int, ...]) -> None:
    x_np = np.random.default_rng(SEED).standard_normal(shape)
    results = []
    for lib, ns in ((torch, torch.nn.functional), (gradviz, GF)):
        x = lib.tensor(x_np).requires_grad_(True)
        y = call(ns, x)
        u = lib.tensor(np.linspace(-1.0, 1.0, int(np.prod(tuple(y.shape)))).reshape(tuple(y.shape)))
        u.requires_grad_(True)
        (g,) = lib.autograd.grad(y, x, u, create_graph=True)
        (g * g).sum().backward()
        results.append((g.grad_fn.name(), g.detach().numpy(), u.grad.numpy()))
    (ref_name, ref_g, ref_ug), (name, got_g, got_ug) = results
    assert name == ref_name
    np.testing.assert_allclose(got_g, ref_g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_ug, ref_ug, rtol=1e-10, atol=1e-12)


def test_saved_attributes_match_torch(torch) -> None:
    x_np = np.random.default_rng(SEED).standard_normal((2, 4, 6, 5))
    w_np = np.random.default_rng(SEED + 2).standard_normal((4, 3, 3, 3))
    calls = {
        "_saved_output_size": lambda f, x, w: f.interpolate(x, scale_factor=2),
        "_saved_scales_h": lambda f, x, w: f.interpolate(x, scale_factor=(1.5, 2), mode="bilinear"),
        "_saved_align_corners": lambda f, x, w: f.interpolate(
            x, size=(3, 8), mode="bilinear", align_corners=True
        ),
        "_saved_upscale_factor": lambda f, x, w: f.pixel_shuffle(x, 2),
        "_saved_group": lambda f, x, w: f.group_norm(x, 2),
        "_saved_HxW": lambda f, x, w: f.group_norm(x, 2),
        "_saved_transposed": lambda f, x, w: f.conv_transpose2d(x, w, stride=2, output_padding=1),
        "_saved_output_padding": lambda f, x, w: f.conv_transpose2d(
            x, w, stride=2, output_padding=1
        ),
    }
    for attr, call in calls.items():
        x_ref = torch.tensor(x_np).requires_grad_(True)
        ref = getattr(call(torch.nn.functional, x_ref, torch.tensor(w_np)).grad_fn, attr)
        x = gradviz.tensor(x_np).requires_grad_(True)
        got = getattr(call(GF, x, gradviz.tensor(w_np)).grad_fn, attr)
        assert got == ref, attr


# ---------------------------------------------------------------------------- modules


class ModuleCase:
    """A module built the same way in both libraries, and the shape of its input."""

    def __init__(self, name: str, build: Callable[[Any], Any], shape: tuple[int, ...], **kw: Any):
        self.name, self.build, self.shape = name, build, shape
        self.train = kw.get("train", True)
        self.call = kw.get("call", lambda m, x: m(x))


GV_NN = {
    "MaxPool1d": MaxPool1d,
    "AvgPool1d": AvgPool1d,
    "AdaptiveAvgPool1d": AdaptiveAvgPool1d,
    "AdaptiveMaxPool1d": AdaptiveMaxPool1d,
    "AdaptiveMaxPool2d": AdaptiveMaxPool2d,
    "GroupNorm": GroupNorm,
    "InstanceNorm1d": InstanceNorm1d,
    "InstanceNorm2d": InstanceNorm2d,
    "Upsample": Upsample,
    "UpsamplingNearest2d": UpsamplingNearest2d,
    "UpsamplingBilinear2d": UpsamplingBilinear2d,
    "PixelShuffle": PixelShuffle,
    "PixelUnshuffle": PixelUnshuffle,
    "ConvTranspose1d": ConvTranspose1d,
    "ConvTranspose2d": ConvTranspose2d,
}


def _nn(lib: Any) -> Any:
    if lib is gradviz:
        return type("nn", (), GV_NN)
    return lib.nn


MODULES = [
    ModuleCase("MaxPool1d", lambda nn: nn.MaxPool1d(3, 2, 1, return_indices=False), (2, 3, 8)),
    ModuleCase("MaxPool1d-tuple", lambda nn: nn.MaxPool1d((2,), (1,), ceil_mode=True), (3, 8)),
    ModuleCase("AvgPool1d", lambda nn: nn.AvgPool1d(3, 2, 1, count_include_pad=False), (2, 3, 8)),
    ModuleCase("AdaptiveAvgPool1d", lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 8)),
    ModuleCase("AdaptiveMaxPool1d", lambda nn: nn.AdaptiveMaxPool1d(3), (2, 3, 8)),
    ModuleCase("AdaptiveMaxPool2d", lambda nn: nn.AdaptiveMaxPool2d((3, None)), (2, 3, 7, 5)),
    ModuleCase(
        "AdaptiveMaxPool2d-indices",
        lambda nn: nn.AdaptiveMaxPool2d(2, return_indices=True),
        (2, 3, 7, 5),
        call=lambda m, x: m(x)[0],
    ),
    ModuleCase("GroupNorm", lambda nn: nn.GroupNorm(2, 4), (3, 4, 5)),
    ModuleCase("GroupNorm-noaffine", lambda nn: nn.GroupNorm(1, 4, affine=False), (3, 4, 2, 2)),
    ModuleCase("GroupNorm-nobias", lambda nn: nn.GroupNorm(4, 4, eps=1e-3, bias=False), (3, 4, 5)),
    ModuleCase("InstanceNorm1d", lambda nn: nn.InstanceNorm1d(3), (2, 3, 5)),
    ModuleCase("InstanceNorm1d-unbatched", lambda nn: nn.InstanceNorm1d(3, affine=True), (3, 5)),
    ModuleCase(
        "InstanceNorm1d-running",
        lambda nn: nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.3),
        (2, 3, 5),
    ),
    ModuleCase(
        "InstanceNorm1d-running-eval",
        lambda nn: nn.InstanceNorm1d(3, track_running_stats=True),
        (2, 3, 5),
        train=False,
    ),
    ModuleCase("InstanceNorm2d", lambda nn: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 5)),
    ModuleCase(
        "InstanceNorm2d-running-cumulative",
        lambda nn: nn.InstanceNorm2d(3, track_running_stats=True, momentum=None),
        (2, 3, 4, 5),
    ),
    ModuleCase("Upsample", lambda nn: nn.Upsample(scale_factor=2), (2, 3, 4, 5)),
    ModuleCase(
        "Upsample-bilinear",
        lambda nn: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False),
        (2, 3, 4, 5),
    ),
    ModuleCase(
        "Upsample-linear", lambda nn: nn.Upsample(scale_factor=(1.5,), mode="linear"), (2, 3, 4)
    ),
    ModuleCase("UpsamplingNearest2d", lambda nn: nn.UpsamplingNearest2d(size=7), (1, 2, 3, 4)),
    ModuleCase(
        "UpsamplingBilinear2d", lambda nn: nn.UpsamplingBilinear2d(scale_factor=2), (1, 2, 3, 4)
    ),
    ModuleCase("PixelShuffle", lambda nn: nn.PixelShuffle(2), (2, 8, 3, 3)),
    ModuleCase("PixelUnshuffle", lambda nn: nn.PixelUnshuffle(2), (2, 2, 4, 6)),
    ModuleCase(
        "ConvTranspose1d",
        lambda nn: nn.ConvTranspose1d(4, 6, 3, stride=2, output_padding=1, groups=2),
        (2, 4, 5),
    ),
    ModuleCase(
        "ConvTranspose1d-output-size",
        lambda nn: nn.ConvTranspose1d(4, 6, 3, stride=3),
        (2, 4, 5),
        call=lambda m, x: m(x, output_size=[2, 6, 16]),
    ),
    ModuleCase(
        "ConvTranspose2d",
        lambda nn: nn.ConvTranspose2d(4, 2, (3, 2), padding=1, dilation=2, bias=False),
        (2, 4, 5, 4),
    ),
    ModuleCase(
        "ConvTranspose2d-output-size",
        lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2),
        (3, 4, 5),
        call=lambda m, x: m(x, output_size=(10, 11)),
    ),
]


def _run_module(lib: Any, case: ModuleCase, state: dict[str, np.ndarray] | None) -> dict[str, Any]:
    module = case.build(_nn(lib)).double()
    if state is not None:
        result = module.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        assert repr(result) == "<All keys matched successfully>"
    module.train(case.train)
    rng = np.random.default_rng(SEED)
    x = lib.tensor(rng.standard_normal(case.shape)).requires_grad_(True)
    out = case.call(module, x)
    out.backward(lib.tensor(rng.standard_normal(tuple(out.shape))))
    return {
        "module": module,
        "out": out.detach().numpy(),
        "name": out.grad_fn.name(),
        "grad": x.grad.numpy(),
        "param_grads": {n: p.grad.numpy() for n, p in module.named_parameters()},
        "state": {k: v.numpy() for k, v in module.state_dict().items()},
    }


@pytest.mark.parametrize("case", MODULES, ids=[c.name for c in MODULES])
def test_module_matches_torch(torch, case: ModuleCase) -> None:
    torch.manual_seed(0)
    initial = case.build(torch.nn).double()
    state = {k: v.numpy().copy() for k, v in initial.state_dict().items()}
    ref = _run_module(torch, case, state)
    got = _run_module(gradviz, case, state)
    assert repr(got["module"]) == repr(ref["module"])
    assert got["name"] == ref["name"]
    assert list(got["state"]) == list(ref["state"])
    _close(got["out"], ref["out"], "float64", "output")
    _close(got["grad"], ref["grad"], "float64", "input grad")
    assert list(got["param_grads"]) == list(ref["param_grads"])
    for name, want in ref["param_grads"].items():
        _close(got["param_grads"][name], want, "float64", f"grad of {name}")
    for name, want in ref["state"].items():
        if want.dtype.kind == "f":
            _close(got["state"][name], want, "float64", f"state {name}")
        else:
            np.testing.assert_array_equal(got["state"][name], want)


@pytest.mark.parametrize(
    "build",
    [
        lambda nn: nn.ConvTranspose2d(3, 8, 3),
        lambda nn: nn.ConvTranspose1d(4, 6, 2, groups=2, bias=False),
        lambda nn: nn.GroupNorm(3, 6),
        lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
        lambda nn: nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
        lambda nn: nn.Upsample(scale_factor=(2, 3)),
        lambda nn: nn.AvgPool1d((3,), 1, (1,)),
        lambda nn: nn.AdaptiveMaxPool1d(4, return_indices=True),
    ],
)
def test_module_repr_and_parameter_shapes(torch, build: Any) -> None:
    ref, got = build(torch.nn), build(_nn(gradviz))
    assert repr(got) == repr(ref)
    assert [(n, tuple(p.shape)) for n, p in got.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in ref.named_parameters()
    ]


def test_instance_norm_warns_on_channel_mismatch_without_affine(torch) -> None:
    x = np.random.default_rng(SEED).standard_normal((2, 3, 5))
    with pytest.warns(UserWarning, match=r"input's size at dim=1 does not match num_features"):
        got = InstanceNorm1d(4)(gradviz.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.nn.InstanceNorm1d(4)(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_instance_norm_rejects_old_running_stats(torch) -> None:
    state = {"running_mean": gradviz.zeros(3), "running_var": gradviz.ones(3)}
    with pytest.raises(RuntimeError, match=r'Unexpected running stats buffer\(s\) "running_mean"'):
        InstanceNorm1d(3).load_state_dict(state)


# ---------------------------------------------------------------------------- errors


def _t(lib: Any, *shape: int, dtype: str = "float64") -> Any:
    return lib.tensor(np.random.default_rng(SEED).standard_normal(shape).astype(dtype))


ERRORS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("max_pool1d-rank", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 4, 5), 2)),
    ("max_pool1d-kernel0", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 5), 0)),
    ("max_pool1d-stride0", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 5), 2, 0)),
    ("max_pool1d-pad", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 5), 2, padding=2)),
    ("max_pool1d-negpad", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 5), 2, padding=-1)),
    ("max_pool1d-dilation", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 5), 2, dilation=0)),
    ("max_pool1d-small", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 2), 3)),
    ("max_pool1d-ktuple", lambda f, lib: f.max_pool1d(_t(lib, 2, 3, 5), (2, 2))),
    ("avg_pool1d-rank", lambda f, lib: f.avg_pool1d(_t(lib, 5), 2)),
    ("avg_pool1d-ktuple", lambda f, lib: f.avg_pool1d(_t(lib, 2, 3, 5), (2, 2))),
    ("avg_pool1d-kernel0", lambda f, lib: f.avg_pool1d(_t(lib, 2, 3, 5), 0)),
    ("avg_pool1d-pad", lambda f, lib: f.avg_pool1d(_t(lib, 2, 3, 5), 2, padding=2)),
    ("avg_pool1d-small", lambda f, lib: f.avg_pool1d(_t(lib, 2, 3, 2), 3)),
    ("adaptive_avg_pool1d-rank", lambda f, lib: f.adaptive_avg_pool1d(_t(lib, 2, 3, 4, 5), 2)),
    ("adaptive_avg_pool1d-size", lambda f, lib: f.adaptive_avg_pool1d(_t(lib, 2, 3, 5), (2, 2))),
    ("adaptive_avg_pool1d-neg", lambda f, lib: f.adaptive_avg_pool1d(_t(lib, 2, 3, 5), -1)),
    ("adaptive_max_pool1d-rank", lambda f, lib: f.adaptive_max_pool1d(_t(lib, 2, 3, 4, 5), 2)),
    ("adaptive_max_pool1d-size", lambda f, lib: f.adaptive_max_pool1d(_t(lib, 2, 3, 5), (2, 2))),
    ("adaptive_max_pool2d-rank", lambda f, lib: f.adaptive_max_pool2d(_t(lib, 3, 5), 2)),
    (
        "adaptive_max_pool2d-size",
        lambda f, lib: f.adaptive_max_pool2d(_t(lib, 2, 3, 5, 5), (2, 2, 2)),
    ),
    ("adaptive_max_pool2d-empty", lambda f, lib: f.adaptive_max_pool2d(_t(lib, 2, 3, 0, 5), 2)),
    ("adaptive_max_pool2d-neg", lambda f, lib: f.adaptive_max_pool2d(_t(lib, 2, 3, 5, 5), (-1, 2))),
    ("group_norm-divisible", lambda f, lib: f.group_norm(_t(lib, 2, 4, 3), 3)),
    ("group_norm-weight", lambda f, lib: f.group_norm(_t(lib, 2, 4, 3), 2, _t(lib, 3))),
    ("group_norm-rank", lambda f, lib: f.group_norm(_t(lib, 4), 2)),
    ("group_norm-one-value", lambda f, lib: f.group_norm(_t(lib, 1, 2, 1), 2)),
    ("instance_norm-spatial", lambda f, lib: f.instance_norm(_t(lib, 2, 4, 1))),
    (
        "instance_norm-stats",
        lambda f, lib: f.instance_norm(_t(lib, 2, 4, 3), use_input_stats=False),
    ),
    ("instance_norm-weight", lambda f, lib: f.instance_norm(_t(lib, 2, 4, 3), weight=_t(lib, 3))),
    ("interpolate-both", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), size=3, scale_factor=2)),
    ("interpolate-neither", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4))),
    ("interpolate-corners", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), 3, align_corners=True)),
    ("interpolate-size-len", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), size=(3, 3))),
    ("interpolate-scale-len", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), scale_factor=(3, 3))),
    ("interpolate-bilinear-3d", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), 3, mode="bilinear")),
    ("interpolate-linear-4d", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4, 4), 3, mode="linear")),
    ("interpolate-2d", lambda f, lib: f.interpolate(_t(lib, 3, 4), size=3)),
    ("interpolate-mode", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), size=3, mode="foo")),
    ("interpolate-zero", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4, 4), size=(0, 3))),
    ("interpolate-zero-1d", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), size=0, mode="linear")),
    ("interpolate-float-size", lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), size=(2.5,))),
    (
        "interpolate-recompute",
        lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), size=3, recompute_scale_factor=True),
    ),
    (
        "interpolate-antialias",
        lambda f, lib: f.interpolate(_t(lib, 2, 3, 4), size=3, mode="linear", antialias=True),
    ),
    ("pixel_shuffle-channels", lambda f, lib: f.pixel_shuffle(_t(lib, 2, 3, 4, 4), 2)),
    ("pixel_shuffle-rank", lambda f, lib: f.pixel_shuffle(_t(lib, 4, 4), 2)),
    ("pixel_shuffle-factor", lambda f, lib: f.pixel_shuffle(_t(lib, 2, 4, 4, 4), 0)),
    ("pixel_unshuffle-height", lambda f, lib: f.pixel_unshuffle(_t(lib, 2, 3, 5, 4), 2)),
    ("pixel_unshuffle-width", lambda f, lib: f.pixel_unshuffle(_t(lib, 2, 3, 4, 5), 2)),
    ("pixel_unshuffle-rank", lambda f, lib: f.pixel_unshuffle(_t(lib, 4, 4), 2)),
    ("pixel_unshuffle-factor", lambda f, lib: f.pixel_unshuffle(_t(lib, 2, 4, 4, 4), 0)),
    (
        "conv_transpose1d-rank",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 3, 4, 4), _t(lib, 3, 2, 2)),
    ),
    (
        "conv_transpose1d-channels",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 3, 4), _t(lib, 4, 2, 2)),
    ),
    (
        "conv_transpose1d-output-padding",
        lambda f, lib: f.conv_transpose1d(
            _t(lib, 2, 3, 4), _t(lib, 3, 2, 2), stride=2, output_padding=2
        ),
    ),
    (
        "conv_transpose2d-output-padding",
        lambda f, lib: f.conv_transpose2d(
            _t(lib, 2, 3, 4, 4), _t(lib, 3, 2, 2, 2), stride=(2, 1), output_padding=(0, 1)
        ),
    ),
    (
        "conv_transpose1d-groups",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 4, 4), _t(lib, 4, 2, 2), groups=3),
    ),
    (
        "conv_transpose1d-bias",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 3, 4), _t(lib, 3, 2, 2), _t(lib, 3)),
    ),
    (
        "conv_transpose1d-stride",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 3, 4), _t(lib, 3, 2, 2), stride=0),
    ),
    (
        "conv_transpose1d-padding",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 3, 4), _t(lib, 3, 2, 2), padding=-1),
    ),
    (
        "conv_transpose1d-dtype",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 3, 4, dtype="float32"), _t(lib, 3, 2, 2)),
    ),
    (
        "conv_transpose1d-too-small",
        lambda f, lib: f.conv_transpose1d(_t(lib, 2, 3, 1), _t(lib, 3, 2, 1), padding=3),
    ),
    (
        "conv_transpose2d-too-small",
        lambda f, lib: f.conv_transpose2d(_t(lib, 2, 3, 1, 2), _t(lib, 3, 2, 1, 1), padding=(0, 3)),
    ),
    (
        "conv_transpose2d-weight-rank",
        lambda f, lib: f.conv_transpose2d(_t(lib, 2, 3, 4, 4), _t(lib, 3, 2, 2)),
    ),
    ("GroupNorm-divisible", lambda f, lib: _nn(lib).GroupNorm(3, 4)),
    ("InstanceNorm1d-rank", lambda f, lib: _nn(lib).InstanceNorm1d(4)(_t(lib, 2, 4, 3, 3))),
    ("InstanceNorm2d-rank", lambda f, lib: _nn(lib).InstanceNorm2d(4)(_t(lib, 2, 4))),
    (
        "InstanceNorm1d-features",
        lambda f, lib: _nn(lib).InstanceNorm1d(4, affine=True)(_t(lib, 2, 3, 3)),
    ),
    ("ConvTranspose1d-groups", lambda f, lib: _nn(lib).ConvTranspose1d(3, 4, 2, groups=2)),
    (
        "ConvTranspose1d-padding-mode",
        lambda f, lib: _nn(lib).ConvTranspose1d(3, 4, 2, padding_mode="reflect"),
    ),
    (
        "ConvTranspose1d-output-size",
        lambda f, lib: _nn(lib).ConvTranspose1d(3, 4, 2, stride=2)(
            _t(lib, 2, 3, 4), output_size=[20]
        ),
    ),
    (
        "ConvTranspose2d-output-size-len",
        lambda f, lib: _nn(lib).ConvTranspose2d(3, 4, 2)(
            _t(lib, 2, 3, 4, 4), output_size=[5, 5, 5]
        ),
    ),
]


@pytest.mark.parametrize("call", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_torch(torch, call: Any) -> None:
    with pytest.raises(Exception) as ref:
        call(torch.nn.functional, torch)
    with pytest.raises(type(ref.value)) as got:
        call(GF, gradviz)
    assert type(got.value) is type(ref.value)
    assert str(got.value) == str(ref.value)


def test_unsupported_interpolation_mode_says_so() -> None:
    with pytest.raises(
        NotImplementedError, match=r"mode 'bicubic' with 4D input .* not implemented"
    ):
        GF.interpolate(gradviz.zeros(1, 1, 2, 2), size=3, mode="bicubic", align_corners=False)


# ---------------------------------------------------------------------------- device independence

STRICT_CASES = {
    "adaptive_max_pool2d": (lambda x: GF.adaptive_max_pool2d(x, (2, 3)), (2, 3, 5, 7)),
    "max_pool1d": (lambda x: GF.max_pool1d(x, 2), (2, 3, 7)),
    "group_norm": (lambda x: GF.group_norm(x, 2), (2, 4, 3)),
    "instance_norm": (lambda x: GF.instance_norm(x), (2, 4, 3)),
    "nearest": (lambda x: GF.interpolate(x, scale_factor=1.5), (1, 2, 3, 4)),
    "bilinear": (lambda x: GF.interpolate(x, size=(5, 2), mode="bilinear"), (1, 2, 3, 4)),
    "pixel_shuffle": (lambda x: GF.pixel_shuffle(x, 2), (1, 4, 2, 3)),
    "conv_transpose2d": (lambda x: GF.conv_transpose2d(x, x[:2, :2], stride=2), (2, 2, 3, 3)),
}


@pytest.mark.parametrize(("fn", "shape"), STRICT_CASES.values(), ids=list(STRICT_CASES))
def test_runs_on_the_strict_device(fn: Any, shape: tuple[int, ...]) -> None:
    pytest.importorskip("array_api_strict")
    data = np.random.default_rng(SEED).standard_normal(shape)
    results = []
    for device in ("cpu", "strict:0"):
        x = gradviz.tensor(data, device=gradviz.device(device)).requires_grad_(True)
        y = fn(x)
        y.sum().backward()
        assert y.device == x.device
        results.append((y.detach().cpu().numpy(), x.grad.cpu().numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, atol=1e-12)


def test_new_layers_are_exported_like_torch(torch: Any) -> None:
    modules = [
        "ConvTranspose1d",
        "ConvTranspose2d",
        "GroupNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "PixelShuffle",
        "PixelUnshuffle",
        "MaxPool1d",
        "AvgPool1d",
        "AdaptiveAvgPool1d",
        "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d",
        "Upsample",
        "UpsamplingNearest2d",
        "UpsamplingBilinear2d",
    ]
    functions = [
        "adaptive_avg_pool1d",
        "adaptive_max_pool1d",
        "adaptive_max_pool2d",
        "avg_pool1d",
        "conv_transpose1d",
        "conv_transpose2d",
        "group_norm",
        "instance_norm",
        "interpolate",
        "max_pool1d",
        "pixel_shuffle",
        "pixel_unshuffle",
    ]
    for name in modules:
        assert hasattr(torch.nn, name)
        assert getattr(gradviz.nn, name).__name__ == name
    for name in functions:
        assert hasattr(torch.nn.functional, name)
        assert getattr(gradviz.nn.functional, name).__name__ == name
