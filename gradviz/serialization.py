"""``gradviz.save`` / ``gradviz.load``: tensors and state dicts on disk, without pickle.

A file is a zip archive holding ``manifest.json`` (the structure of the saved object,
with a format name and version) and one ``.npy`` entry per distinct tensor or array.
Loading never executes code: the manifest is JSON, and arrays are read with
``allow_pickle=False``. Objects that can be saved (nested freely):

* ``Tensor`` and ``nn.Parameter`` (data, dtype, device, ``requires_grad``, ``name``);
  a tensor that appears several times is stored once and loads as one object;
* NumPy arrays;
* ``dict`` and ``OrderedDict`` (keys: str, int, float, bool or None), including a
  state dict's ``_metadata``; ``list`` and ``tuple``;
* ``None``, ``bool``, ``int``, ``float``, ``str`` (and NumPy scalars, saved as numbers).

Writes are atomic: the archive is written to a temporary file in the same folder and
moved over the target, so a crash never leaves a half-written file under the real name.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections import OrderedDict
from typing import IO, Any, Union

import numpy as np

from gradviz._fileio import atomic_writer
from gradviz.engine import backend
from gradviz.engine.tensor import Tensor, _make
from gradviz.errors import SerializationError

__all__ = ["save", "load", "SerializationError"]

FORMAT = "gradviz.save"
VERSION = 1
_MANIFEST = "manifest.json"

PathLike = Union[str, "os.PathLike[str]"]


# ---------------------------------------------------------------------------- encoding


class _Writer:
    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.seen: dict[int, int] = {}
        self.keep: list[Any] = []  # holds saved objects so their ids stay unique

    def array(self, obj: Any, host: np.ndarray) -> int:
        index = self.seen.get(id(obj))
        if index is None:
            index = len(self.arrays)
            # NOTE: not np.ascontiguousarray, which turns 0-d arrays into 1-d ones.
            self.arrays.append(host if host.flags.c_contiguous else host.copy(order="C"))
            self.seen[id(obj)] = index
            self.keep.append(obj)
        return index

    def encode(self, obj: Any, where: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return {"int": str(obj)} if abs(obj) >= 2**53 else obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, np.generic):
            return self.encode(obj.item(), where)
        if isinstance(obj, Tensor):
            from gradviz.nn.parameter import Parameter  # noqa: PLC0415 - nn imports late

            host = backend.to_host(obj._data)
            return {
                "tensor": self.array(obj, host),
                "parameter": isinstance(obj, Parameter),
                "requires_grad": bool(obj.requires_grad),
                "device": str(obj.device),
                "name": getattr(obj, "name", None),
            }
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise TypeError(
                    f"gradviz.save: cannot save the object array at {where}: only numeric "
                    "and bool arrays can be saved without pickle."
                )
            return {"ndarray": self.array(obj, obj)}
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if key is not None and not isinstance(key, (str, int, float, bool)):
                    raise TypeError(
                        f"gradviz.save: cannot save the dict key {key!r} "
                        f"({type(key).__name__}) at {where}: keys must be str, int, float, "
                        "bool or None."
                    )
                items.append([self.encode(key, where), self.encode(value, f"{where}[{key!r}]")])
            out: dict[str, Any] = {"odict" if isinstance(obj, OrderedDict) else "dict": items}
            metadata = getattr(obj, "_metadata", None)
            if metadata is not None:
                out["metadata"] = self.encode(metadata, f"{where}._metadata")
            return out
        if isinstance(obj, (list, tuple)):
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {kind: [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(
            f"gradviz.save: cannot save {type(obj).__module__}.{type(obj).__qualname__} at "
            f"{where}.\nIt saves tensors, NumPy arrays, numbers, strings, None and dicts, "
            "lists and tuples of those (no pickle). Fix: save model.state_dict() rather than "
            "the model, and convert other objects to those types."
        )


def save(obj: Any, f: PathLike | IO[bytes]) -> None:
    """Save ``obj`` (a tensor, a state dict, nested containers of tensors) to ``f``.

    Args:
        obj: what to save (see the module docstring for the supported types).
        f: a path, or a binary file object open for writing.

    Raises:
        TypeError: ``obj`` holds something that cannot be saved without pickle; the
            message says where.

    Example:
        >>> import gradviz, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "weights.gvt")
        >>> gradviz.save({"w": gradviz.ones(2)}, path)
        >>> gradviz.load(path)
        {'w': tensor([1., 1.])}
    """
    writer = _Writer()
    root = writer.encode(obj, "the saved object")
    manifest = {"format": FORMAT, "version": VERSION, "root": root}
    if hasattr(f, "write"):
        _write_zip(f, manifest, writer.arrays)  # type: ignore[arg-type]
        return
    with atomic_writer(os.fspath(f)) as out:
        _write_zip(out, manifest, writer.arrays)


def _write_zip(out: IO[bytes], manifest: dict[str, Any], arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        # Fixed timestamps keep the bytes of a file the same for the same object.
        info = zipfile.ZipInfo(_MANIFEST, date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, json.dumps(manifest, sort_keys=True, allow_nan=False))
        for i, arr in enumerate(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"arrays/{i}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, buf.getvalue())


# ---------------------------------------------------------------------------- decoding


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, source: str, map_location: Any) -> None:
        self.archive = archive
        self.source = source
        self.map_location = map_location
        self.tensors: dict[int, Any] = {}
        self.ndarrays: dict[int, np.ndarray] = {}

    def fail(self, what: str) -> SerializationError:
        return SerializationError(f"gradviz.load: {self.source} is damaged: {what}.")

    def array(self, index: Any) -> np.ndarray:
        if not isinstance(index, int) or isinstance(index, bool):
            raise self.fail(f"bad array reference {index!r}")
        try:
            with self.archive.open(f"arrays/{index}.npy") as fh:
                return np.lib.format.read_array(io.BytesIO(fh.read()), allow_pickle=False)
        except KeyError as err:
            raise self.fail(f"array {index} is missing") from err
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
            raise self.fail(f"array {index} cannot be read ({err})") from err

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            raise self.fail("a bare list in the manifest")
        if not isinstance(node, dict) or not node:
            raise self.fail(f"unexpected manifest entry {node!r:.60}")
        if "tensor" in node:
            return self.tensor(node)
        if "ndarray" in node:
            index = node["ndarray"]
            if index not in self.ndarrays:
                self.ndarrays[index] = self.array(index)
            return self.ndarrays[index]
        if "int" in node:
            return int(node["int"])
        if "float" in node:
            return float(node["float"])
        if "list" in node:
            return [self.decode(v) for v in self.items(node["list"])]
        if "tuple" in node:
            return tuple(self.decode(v) for v in self.items(node["tuple"]))
        if "dict" in node or "odict" in node:
            out: dict[Any, Any] = OrderedDict() if "odict" in node else {}
            for pair in self.items(node.get("odict", node.get("dict"))):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.fail("a dict entry is not a [key, value] pair")
                out[self.decode(pair[0])] = self.decode(pair[1])
            if "metadata" in node:
                out._metadata = self.decode(node["metadata"])  # type: ignore[attr-defined]
            return out
        raise self.fail(f"unknown manifest entry with keys {sorted(node)}")

    def items(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail("a container entry is not a list")
        return value

    def tensor(self, node: dict[str, Any]) -> Tensor:
        index = node["tensor"]
        cached = self.tensors.get(index) if isinstance(index, int) else None
        if cached is not None:
            return cached
        host = self.array(index)
        device = self.map_location if self.map_location is not None else node.get("device", "cpu")
        dev = backend.device(device)
        data = host if dev.type == "cpu" else backend.transfer(host, dev)
        t = _make(data, False, None, 0)
        requires_grad = bool(node.get("requires_grad", False))
        if node.get("parameter"):
            from gradviz.nn.parameter import Parameter  # noqa: PLC0415 - nn imports late

            t = Parameter(t, requires_grad=requires_grad)
        elif requires_grad:
            t.requires_grad_(True)
        name = node.get("name")
        if isinstance(name, str):
            setattr(t, "name", name)  # noqa: B010 - Tensor's name slot is not annotated
        self.tensors[index] = t
        return t


def load(f: PathLike | IO[bytes], map_location: Any = None, weights_only: bool = True) -> Any:
    """Load an object saved with :func:`save`.

    Args:
        f: a path, or a binary file object open for reading.
        map_location: put every tensor on this device (default: the device it was saved
            from).
        weights_only: accepted for PyTorch compatibility; gradviz files never hold code.

    Returns:
        The saved object, with tensors as gradviz tensors (Parameters stay Parameters).

    Raises:
        FileNotFoundError: there is no file at ``f``.
        SerializationError: the file is not a gradviz file, is damaged, or is of a newer
            format version.
    """
    source = repr(os.fspath(f)) if not hasattr(f, "read") else "the file object"
    try:
        archive = zipfile.ZipFile(f if hasattr(f, "read") else os.fspath(f))  # type: ignore[arg-type]
    except zipfile.BadZipFile as err:
        raise SerializationError(
            f"gradviz.load: {source} is not a gradviz file (not a zip archive: {err}). "
            "Files written by gradviz.save are zip archives with a manifest.json."
        ) from err
    with archive:
        names = set(archive.namelist())
        if _MANIFEST not in names:
            hint = ""
            if any(n.endswith("data.pkl") for n in names):
                hint = (
                    " It looks like a PyTorch checkpoint (torch.save): load it with torch.load "
                    "and convert each tensor with gradviz.tensor(t.numpy())."
                )
            raise SerializationError(
                f"gradviz.load: {source} is not a gradviz file (it has no {_MANIFEST}).{hint}"
            )
        try:
            manifest = json.loads(archive.read(_MANIFEST).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as err:
            raise SerializationError(
                f"gradviz.load: {source} is damaged: {_MANIFEST} cannot be read ({err})."
            ) from err
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise SerializationError(
                f"gradviz.load: {source} is not a gradviz file (its manifest does not say "
                f"format {FORMAT!r})."
            )
        version = manifest.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise SerializationError(
                f"gradviz.load: {source} has format version {version!r}; this gradviz reads "
                f"versions up to {VERSION}. Fix: upgrade gradviz."
            )
        if "root" not in manifest:
            raise SerializationError(
                f"gradviz.load: {source} is damaged: the manifest has no root."
            )
        reader = _Reader(archive, source, map_location)
        try:
            return reader.decode(manifest["root"])
        except (KeyError, TypeError) as err:
            raise reader.fail(f"malformed manifest ({err!r})") from err
