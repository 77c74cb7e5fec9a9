"""gradviz.save / gradviz.load: round trips, sharing, determinism, atomicity, bad files."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import gradviz
import gradviz.nn as nn
from gradviz.serialization import SerializationError


def _roundtrip(obj, tmp_path: Path):
    path = tmp_path / "obj.gvt"
    gradviz.save(obj, path)
    return gradviz.load(path)


def test_tensor_roundtrip_keeps_dtype_values_and_flags(tmp_path: Path) -> None:
    cases = [
        gradviz.randn(3, 4),
        gradviz.randn(2, dtype=gradviz.float64),
        gradviz.tensor([1, 2, 3]),
        gradviz.tensor([True, False]),
        gradviz.ones(2, dtype=gradviz.float16),
        gradviz.tensor(3.5),
        gradviz.zeros(0, 3),
    ]
    for t in cases:
        back = _roundtrip(t, tmp_path)
        assert type(back) is gradviz.Tensor
        assert back.dtype is t.dtype and back.shape == t.shape
        np.testing.assert_array_equal(back.numpy(), t.numpy())
    leaf = gradviz.ones(2, requires_grad=True)
    leaf.name = "w"
    back = _roundtrip(leaf, tmp_path)
    assert back.requires_grad and back.is_leaf and back.name == "w"


def test_parameter_roundtrip(tmp_path: Path) -> None:
    p = nn.Parameter(gradviz.randn(2, 2))
    back = _roundtrip(p, tmp_path)
    assert isinstance(back, nn.Parameter) and back.requires_grad
    np.testing.assert_array_equal(back.detach().numpy(), p.detach().numpy())


def test_state_dict_roundtrip_loads_into_model(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model(gradviz.randn(5, 3))
    sd = model.state_dict()
    back = _roundtrip(sd, tmp_path)
    assert isinstance(back, OrderedDict) and list(back) == list(sd)
    assert back._metadata == sd._metadata
    assert back["1.num_batches_tracked"].dtype is gradviz.int64
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    assert repr(fresh.load_state_dict(back)) == "<All keys matched successfully>"
    x = gradviz.randn(2, 3)
    model.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())


def test_nested_containers_and_scalars(tmp_path: Path) -> None:
    obj = {
        "state": {0: {"step": gradviz.tensor(3.0), "exp_avg": gradviz.zeros(2)}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False}],
        "big": 2**70,
        "neg": -(2**60),
        "specials": [float("nan"), float("inf"), -float("inf")],
        "none": None,
        "text": "héllo",
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "np_scalar": np.float32(1.5),
        1.5: "float key",
        None: "none key",
        True: "bool key",
    }
    back = _roundtrip(obj, tmp_path)
    assert type(back) is dict and list(back) == list(obj)
    assert back["state"][0]["step"].item() == 3.0
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["big"] == 2**70 and back["neg"] == -(2**60)
    assert np.isnan(back["specials"][0]) and back["specials"][1:] == [float("inf"), -float("inf")]
    assert back["none"] is None and back["text"] == "héllo"
    assert back["array"].dtype == np.int32 and back["array"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back["np_scalar"] == 1.5
    assert back[1.5] == "float key" and back[None] == "none key" and back[True] == "bool key"


def test_shared_tensors_stay_shared(tmp_path: Path) -> None:
    t = gradviz.randn(3)
    back = _roundtrip({"a": t, "b": t, "c": [t]}, tmp_path)
    assert back["a"] is back["b"] is back["c"][0]
    with zipfile.ZipFile(tmp_path / "obj.gvt") as archive:
        assert sum(name.endswith(".npy") for name in archive.namelist()) == 1


def test_same_object_gives_same_bytes(tmp_path: Path) -> None:
    sd = nn.Linear(4, 3).state_dict()
    gradviz.save(sd, tmp_path / "a.gvt")
    gradviz.save(sd, tmp_path / "b.gvt")
    assert (tmp_path / "a.gvt").read_bytes() == (tmp_path / "b.gvt").read_bytes()


def test_file_objects(tmp_path: Path) -> None:
    buf = io.BytesIO()
    gradviz.save([gradviz.ones(2)], buf)
    buf.seek(0)
    assert gradviz.load(buf)[0].tolist() == [1.0, 1.0]


def test_unsaveable_object_raises_and_leaves_old_file(tmp_path: Path) -> None:
    path = tmp_path / "keep.gvt"
    gradviz.save({"w": gradviz.ones(1)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"cannot save .*Linear at the saved object\['model'\]"):
        gradviz.save({"model": nn.Linear(1, 1)}, path)
    with pytest.raises(TypeError, match="cannot save the dict key"):
        gradviz.save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="cannot save the object array"):
        gradviz.save(np.array([object()]), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.gvt"]


def test_no_temp_files_left_after_save(tmp_path: Path) -> None:
    gradviz.save(gradviz.ones(3), tmp_path / "t.gvt")
    assert os.listdir(tmp_path) == ["t.gvt"]


def test_map_location(tmp_path: Path) -> None:
    back = gradviz.load(_save(tmp_path, gradviz.ones(2)), map_location="cpu")
    assert back.device == gradviz.device("cpu")


def _save(tmp_path: Path, obj) -> Path:
    path = tmp_path / "x.gvt"
    gradviz.save(obj, path)
    return path


# ---------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        gradviz.load(tmp_path / "nope.gvt")


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.gvt"
    path.write_bytes(b"this is not a zip file at all")
    with pytest.raises(SerializationError, match="is not a gradviz file \\(not a zip archive"):
        gradviz.load(path)
    assert issubclass(SerializationError, RuntimeError)
    assert issubclass(SerializationError, gradviz.GradvizError)


def test_truncated_file(tmp_path: Path) -> None:
    path = _save(tmp_path, {"w": gradviz.randn(100)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SerializationError, match="not a gradviz file|is damaged"):
        gradviz.load(path)


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_foreign_zip_and_torch_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(SerializationError, match="it has no manifest.json"):
        gradviz.load(_zip(tmp_path / "a.zip", {"other.txt": b"x"}))
    with pytest.raises(SerializationError, match="looks like a PyTorch checkpoint"):
        gradviz.load(_zip(tmp_path / "m.pt", {"archive/data.pkl": b"x"}))


def test_real_torch_checkpoint_is_refused(torch, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(SerializationError, match="looks like a PyTorch checkpoint"):
        gradviz.load(path)


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        (b"{not json", "manifest.json cannot be read"),
        (json.dumps({"format": "other", "version": 1, "root": None}).encode(), "does not say"),
        (
            json.dumps({"format": "gradviz.save", "version": 99, "root": None}).encode(),
            "version 99",
        ),
        (json.dumps({"format": "gradviz.save", "version": 1}).encode(), "has no root"),
        (
            json.dumps({"format": "gradviz.save", "version": 1, "root": {"tensor": 0}}).encode(),
            "array 0 is missing",
        ),
        (
            json.dumps({"format": "gradviz.save", "version": 1, "root": {"weird": 1}}).encode(),
            "unknown manifest entry",
        ),
        (
            json.dumps({"format": "gradviz.save", "version": 1, "root": {"dict": [[1]]}}).encode(),
            "not a \\[key, value\\] pair",
        ),
    ],
)
def test_damaged_manifest(tmp_path: Path, manifest: bytes, match: str) -> None:
    path = _zip(tmp_path / "bad.gvt", {"manifest.json": manifest})
    with pytest.raises(SerializationError, match=match):
        gradviz.load(path)


def test_pickled_array_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    manifest = json.dumps({"format": "gradviz.save", "version": 1, "root": {"ndarray": 0}})
    path = _zip(
        tmp_path / "pickle.gvt",
        {"manifest.json": manifest.encode(), "arrays/0.npy": buf.getvalue()},
    )
    with pytest.raises(SerializationError, match="array 0 cannot be read"):
        gradviz.load(path)
