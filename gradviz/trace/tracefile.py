"""Trace files (``*.gvz``): graphs, and their gradient arrays, on disk.

Format (version :data:`FORMAT_VERSION`): a zip archive with, in this order,

- ``mimetype``: stored uncompressed, exactly :data:`MIMETYPE`, so the kind of file can be
  told from its first bytes;
- ``trace.json``: UTF-8 JSON, ``{"format": "gradviz.trace", "format_version": 1,
  "graphs": [{"graph": {...}, "nodes": [[id, data], ...], "edges": [[u, v, data], ...]}],
  "arrays": [{"path": "arrays/0.npy", "shape": [...], "dtype": "float32"}, ...]}``.
  An array inside node data is written as ``{"$array": k}``, the index of its entry in
  ``arrays``; NaN and infinities use Python's JSON spelling (``NaN``, ``Infinity``);
- ``arrays/<k>.npy``: one NumPy ``.npy`` file per distinct array (an array referenced
  twice, such as a gradient passed from one node to the next, is stored once).

Every member is covered by the zip's CRC-32, so damage is detected on load. Loading never
executes code: JSON and ``.npy`` data only, object arrays refused (no pickle). Anything
wrong with a file (not a zip, truncated, damaged, a zip of another kind, a newer format
version, a graph that breaks :mod:`gradviz.trace.schema`) raises
:class:`gradviz.errors.TraceFileError` naming the file and the problem. Writes go to a
temporary file in the same folder, then ``os.replace``, so a crash never leaves half a
file, and the same graphs always give the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from gradviz._fileio import atomic_writer
from gradviz.errors import TraceFileError
from gradviz.trace import schema

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION", "MIMETYPE", "SUFFIX"]

FORMAT = "gradviz.trace"
FORMAT_VERSION = 1
MIMETYPE = b"application/vnd.gradviz.trace"
SUFFIX = ".gvz"
_HEADER = "trace.json"
_ARRAY_KEY = "$array"
_DATE = (1980, 1, 1, 0, 0, 0)
_MAX_LISTED = 10


# ---------------------------------------------------------------- saving


def save(graphs: nx.DiGraph | Iterable[nx.DiGraph], path: str | os.PathLike[str]) -> Path:
    """Write one or more trace graphs (and their gradient arrays) to a trace file.

    Args:
        graphs: a trace graph or an iterable of them (``rec.graphs``).
        path: where to write (``.gvz`` by convention); an existing file is replaced
            atomically.

    Returns:
        The path written.

    Raises:
        TypeError: ``graphs`` holds something other than a networkx DiGraph, or a node
            attribute that JSON cannot hold.
        gradviz.trace.schema.SchemaError: a graph breaks the schema (nothing is written).
        OSError: the folder does not exist or is not writable.

    Example:
        >>> import gradviz, tempfile, os
        >>> from gradviz.trace import capture, load
        >>> g = capture(gradviz.ones(2, requires_grad=True) * 3)
        >>> path = save(g, os.path.join(tempfile.mkdtemp(), "t.gvz"))
        >>> schema.graphs_equal(load(path)[0], g)
        True
    """
    items = (
        [graphs] if isinstance(graphs, nx.Graph) else list(graphs) if _iterable(graphs) else None
    )
    if items is None or not all(isinstance(g, nx.DiGraph) for g in items):
        kinds = (
            type(graphs).__name__
            if items is None
            else ", ".join(
                sorted({type(g).__name__ for g in items if not isinstance(g, nx.DiGraph)})
            )
        )
        raise TypeError(f"save() expects a trace graph or a list of them (rec.graphs); got {kinds}")
    for i, g in enumerate(items):
        try:
            schema.validate(g)
        except schema.SchemaError as err:
            raise schema.SchemaError(f"cannot save graph {i}: {err}") from err
    payload = _encode(items)
    target = Path(path)
    _write_atomic(target, payload)
    return target


def _iterable(x: Any) -> bool:
    return isinstance(x, Iterable) and not isinstance(x, (str, bytes))


class _Arrays:
    """Collects the arrays found in graph data and numbers them (shared ones once)."""

    def __init__(self) -> None:
        self.by_id: dict[int, int] = {}
        self.arrays: list[np.ndarray] = []

    def ref(self, array: np.ndarray) -> dict[str, int]:
        k = self.by_id.get(id(array))
        if k is None:
            if array.dtype.hasobject:
                raise TypeError(
                    "trace files hold numeric arrays only; an object array cannot be saved "
                    "without pickle"
                )
            k = self.by_id[id(array)] = len(self.arrays)
            self.arrays.append(array)
        return {_ARRAY_KEY: k}


def _jsonable(value: Any, arrays: _Arrays, where: str) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, arrays, where) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict keys must be str to be saved, got {k!r}")
            out[k] = _jsonable(v, arrays, where)
        return out
    if isinstance(value, np.ndarray):
        return arrays.ref(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item(), arrays, where)
    raise TypeError(
        f"{where}: a {type(value).__name__} cannot be saved in a trace file; graph data must "
        "be str, int, float, bool, None, lists, tuples, dicts or NumPy arrays"
    )


def _encode(graphs: list[nx.DiGraph]) -> dict[str, bytes]:
    arrays = _Arrays()
    encoded = []
    for i, g in enumerate(graphs):
        nodes = sorted(g.nodes(data=True), key=lambda item: schema.id_number(item[0]))
        edges = sorted(
            g.edges(data=True), key=lambda e: (schema.id_number(e[0]), schema.id_number(e[1]))
        )
        encoded.append(
            {
                "graph": _jsonable(g.graph, arrays, f"graph {i}"),
                "nodes": [[n, _jsonable(d, arrays, f"graph {i} node {n}")] for n, d in nodes],
                "edges": [
                    [u, v, _jsonable(d, arrays, f"graph {i} edge {u} -> {v}")] for u, v, d in edges
                ],
            }
        )
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema": schema.SCHEMA_VERSION,
        "graphs": encoded,
        "arrays": [
            {"path": f"arrays/{k}.npy", "shape": list(a.shape), "dtype": a.dtype.str}
            for k, a in enumerate(arrays.arrays)
        ],
    }
    members = {_HEADER: json.dumps(header, sort_keys=True, separators=(",", ":")).encode()}
    for k, a in enumerate(arrays.arrays):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a, allow_pickle=False)
        members[f"arrays/{k}.npy"] = buf.getvalue()
    return members


def _zip_info(name: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    info.create_system = 3
    return info


def _write_atomic(target: Path, members: dict[str, bytes]) -> None:
    with atomic_writer(target) as fh, zipfile.ZipFile(fh, "w") as zf:
        zf.writestr(_zip_info("mimetype", zipfile.ZIP_STORED), MIMETYPE)
        for name, data in members.items():
            compress = zipfile.ZIP_DEFLATED if name == _HEADER else zipfile.ZIP_STORED
            zf.writestr(_zip_info(name, compress), data)


# ---------------------------------------------------------------- loading


def load(path: str | os.PathLike[str]) -> list[nx.DiGraph]:
    """Read the graphs of a trace file written by :func:`save` (or ``gradviz run``).

    Never executes code: the file holds JSON and ``.npy`` arrays only.

    Args:
        path: the trace file.

    Returns:
        The graphs, in the order they were saved (always a list, even of one).

    Raises:
        FileNotFoundError: there is no file at ``path``.
        TraceFileError: the file is not a trace file, is truncated or damaged, was written
            by a newer gradviz, or holds a graph that breaks the schema.
    """
    name = os.fspath(path)
    with open(name, "rb") as fh:
        raw = fh.read()
    try:
        return _decode(name, raw)
    except TraceFileError:
        raise
    except Exception as err:  # zipfile, zlib and json raise many types on damaged input
        raise TraceFileError(
            f"cannot load trace file '{name}': the file is damaged or truncated "
            f"({type(err).__name__}: {err}). Re-create it with gradviz.trace.save() or "
            "`gradviz run -o`."
        ) from err


def _fail(name: str, what: str) -> TraceFileError:
    return TraceFileError(f"cannot load trace file '{name}': {what}")


def _decode(name: str, raw: bytes) -> list[nx.DiGraph]:
    if not raw.startswith(b"PK"):
        raise _fail(
            name,
            "not a gradviz trace file (it is not a zip archive; a .gvz file "
            "is written by gradviz.trace.save() or `gradviz run -o`)",
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as err:
        raise _fail(name, f"the file is truncated or damaged ({err})") from err
    with zf:
        names = zf.namelist()
        if "mimetype" not in names or _HEADER not in names:
            raise _fail(
                name,
                "not a gradviz trace file (a zip archive without gradviz's "
                "'mimetype' and 'trace.json' entries)",
            )
        if zf.read("mimetype") != MIMETYPE:
            raise _fail(
                name,
                f"not a gradviz trace file (its 'mimetype' entry is not {MIMETYPE.decode()!r})",
            )
        try:
            header = json.loads(zf.read(_HEADER).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _fail(name, f"its header 'trace.json' is not valid JSON ({err})") from err
        _check_header(name, header)
        arrays = [_read_array(name, zf, k, entry) for k, entry in enumerate(header["arrays"])]
    graphs = [_decode_graph(name, i, item, arrays) for i, item in enumerate(header["graphs"])]
    return graphs


def _check_header(name: str, header: Any) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _fail(name, f"not a gradviz trace file (its header's format is not {FORMAT!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(name, f"its format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise _fail(
            name,
            f"it was written by a newer gradviz (trace format version {version}; this gradviz "
            f"reads version {FORMAT_VERSION}). Upgrade gradviz to read it.",
        )
    if not isinstance(header.get("graphs"), list) or not isinstance(header.get("arrays"), list):
        raise _fail(name, "its header lacks the 'graphs' and 'arrays' lists")


def _read_array(name: str, zf: zipfile.ZipFile, k: int, entry: Any) -> np.ndarray:
    member = f"arrays/{k}.npy"
    if not isinstance(entry, dict) or entry.get("path") != member:
        raise _fail(name, f"its header's array entry {k} is malformed")
    try:
        raw = zf.read(member)
    except KeyError as err:
        raise _fail(name, f"the array '{member}' named in its header is missing") from err
    buf = io.BytesIO(raw)
    try:
        major, _minor = np.lib.format.read_magic(buf)
        if major == 1:
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        elif major == 2:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buf)
        else:
            raise ValueError(f"unsupported .npy version {major}")
    except ValueError as err:
        raise _fail(name, f"the array '{member}' is not a valid .npy file ({err})") from err
    if dtype.hasobject:
        raise _fail(
            name, f"the array '{member}' holds Python objects, which would need pickle; refused"
        )
    count = 1
    for s in shape:
        count *= s
    body = raw[buf.tell() :]
    if len(body) != count * dtype.itemsize:
        raise _fail(
            name,
            f"the array '{member}' has {len(body)} bytes of data where its "
            f"header {tuple(shape)} {dtype} needs {count * dtype.itemsize}",
        )
    if list(shape) != entry.get("shape") or dtype.str != entry.get("dtype"):
        raise _fail(name, f"the array '{member}' does not match its description in the header")
    array = np.frombuffer(bytearray(body), dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def _restore(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _ARRAY_KEY in value:
            k = value[_ARRAY_KEY]
            if not isinstance(k, int) or not 0 <= k < len(arrays):
                raise ValueError(f"array reference {k!r} names no stored array")
            return arrays[k]
        return {key: _restore(v, arrays) for key, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, arrays) for v in value]
    return value


def _shape(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _fix_summary(s: Any) -> None:
    if isinstance(s, dict) and "shape" in s:
        s["shape"] = _shape(s["shape"])


def _fix_node(d: dict[str, Any]) -> None:
    """Turn the JSON lists that the schema defines as tuples (shapes) back into tuples."""
    if "shape" in d:
        d["shape"] = _shape(d["shape"])
    for entry in d.get("saved") or ():
        if isinstance(entry, dict) and "shape" in entry:
            entry["shape"] = _shape(entry["shape"])
    for key in ("grad_in", "grad_out"):
        if isinstance(d.get(key), list):
            for s in d[key]:
                _fix_summary(s)
    _fix_summary(d.get("grad"))


def _decode_graph(name: str, i: int, item: Any, arrays: list[np.ndarray]) -> nx.DiGraph:
    if not isinstance(item, dict) or not all(k in item for k in ("graph", "nodes", "edges")):
        raise _fail(name, f"graph {i} in its header is malformed")
    try:
        g = nx.DiGraph()
        g.graph.update(_restore(item["graph"], arrays))
        for nid, data in item["nodes"]:
            d = _restore(data, arrays)
            _fix_node(d)
            g.add_node(nid, **d)
        for u, v, data in item["edges"]:
            if u not in g or v not in g:
                raise ValueError(f"edge {u!r} -> {v!r} names a node that is not in the graph")
            g.add_edge(u, v, **_restore(data, arrays))
    except (TypeError, ValueError, AttributeError) as err:
        raise _fail(name, f"graph {i} in its header is malformed ({err})") from err
    found = schema.problems(g)
    if found:
        listed = "; ".join(found[:_MAX_LISTED])
        more = f"; and {len(found) - _MAX_LISTED} more" if len(found) > _MAX_LISTED else ""
        raise _fail(name, f"graph {i} does not follow the trace schema: {listed}{more}")
    return g
