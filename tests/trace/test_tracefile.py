"""Trace files: save/load round trips, determinism, atomic writes and damaged files."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradviz as gv
from gradviz.errors import GradvizError, TraceFileError
from gradviz.trace import capture, load, record, save, schema, tracefile


def seed_graphs(values: bool = True) -> list[nx.DiGraph]:
    w = gv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = gv.tensor([4.0, 5.0, -6.0])
    b = gv.tensor([0.5, 0.5, 0.5], requires_grad=True)
    w.name, b.name = "w", "b"
    loss = (w * x + b).sum()
    captured = capture(loss, saved=True)
    with record(values=values) as rec:
        loss.backward()
    return [captured, *rec.graphs]


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(path: Path, entries: dict[str, bytes]) -> None:
    """Write a zip holding exactly ``entries``, in order."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def edit_header(path: Path, change: Any) -> None:
    entries = members(path)
    header = json.loads(entries["trace.json"])
    change(header)
    entries["trace.json"] = json.dumps(header).encode()
    rezip(path, entries)


# ------------------------------------------------------------------ round trips


def test_round_trip_of_captured_and_recorded_graphs(tmp_path: Path) -> None:
    graphs = seed_graphs(values=True)
    path = save(graphs, tmp_path / "t.gvz")
    assert path == tmp_path / "t.gvz"
    loaded = load(path)
    assert len(loaded) == 2
    for original, back in zip(graphs, loaded, strict=True):
        assert schema.graphs_equal(original, back)
        schema.validate(back)
    mul = loaded[1].nodes["n2"]
    assert isinstance(mul["grad_out_values"][0], np.ndarray)
    np.testing.assert_array_equal(mul["grad_out_values"][0], [4.0, 5.0, -6.0])
    assert loaded[1].nodes["n1"]["shape"] == (3,)
    assert loaded[1].nodes["n2"]["grad_in"][0]["shape"] == (3,)
    assert loaded[0].nodes["n2"]["saved"][0]["shape"] == (3,)


def test_single_graph_and_recorder_save(tmp_path: Path) -> None:
    w = gv.ones(2, requires_grad=True)
    with record() as rec:
        (w * 2).sum().backward()
    rec.save(tmp_path / "r.gvz")
    save(rec.graphs[0], tmp_path / "one.gvz")
    (back,) = load(tmp_path / "one.gvz")
    assert schema.graphs_equal(back, rec.graphs[0])
    assert schema.graphs_equal(load(tmp_path / "r.gvz")[0], back)
    save([], tmp_path / "empty.gvz")
    assert load(tmp_path / "empty.gvz") == []


def test_shared_gradient_arrays_are_stored_once(tmp_path: Path) -> None:
    graphs = seed_graphs(values=True)
    save(graphs[1], tmp_path / "t.gvz")
    arrays = [n for n in members(tmp_path / "t.gvz") if n.startswith("arrays/")]
    refs = 0
    for _, d in graphs[1].nodes(data=True):
        for key in ("grad_in_values", "grad_out_values"):
            refs += sum(v is not None for v in d.get(key, []))
        refs += d.get("grad_value") is not None
    assert 0 < len(arrays) < refs
    (back,) = load(tmp_path / "t.gvz")
    mul, acc = back.nodes["n2"], back.nodes["n0"]
    assert mul["grad_out_values"][0] is acc["grad_in_values"][0]


def test_same_graphs_give_the_same_bytes(tmp_path: Path) -> None:
    first = seed_graphs()
    second = seed_graphs()
    for g in (first[1], second[1]):  # times differ from run to run
        g.graph["backward"]["seconds"] = 0.0
        for d in g.nodes.values():
            if "seconds" in d:
                d["seconds"] = 0.0
    save(first, tmp_path / "a.gvz")
    save(second, tmp_path / "b.gvz")
    assert (tmp_path / "a.gvz").read_bytes() == (tmp_path / "b.gvz").read_bytes()


def test_file_layout(tmp_path: Path) -> None:
    save(seed_graphs(), tmp_path / "t.gvz")
    raw = (tmp_path / "t.gvz").read_bytes()
    assert raw[30:38] == b"mimetype"  # first entry, stored: the kind shows in the first bytes
    assert tracefile.MIMETYPE in raw[:100]
    with zipfile.ZipFile(tmp_path / "t.gvz") as zf:
        assert zf.namelist()[:2] == ["mimetype", "trace.json"]
        header = json.loads(zf.read("trace.json"))
    assert header["format"] == "gradviz.trace" and header["format_version"] == 1
    assert header["schema"] == "gradviz.trace/1"


numeric_dtypes = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
)
arrays = hnp.arrays(
    numeric_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
)
shapes = st.lists(st.integers(0, 2**40), max_size=4).map(tuple)
texts = st.text(max_size=12)


@st.composite
def summaries(draw: Any) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    s = {"shape": draw(shapes), "dtype": draw(texts), "device": draw(texts)}
    for k in ("norm", "min", "max", "mean"):
        s[k] = draw(st.floats())
    s["nan"] = draw(st.integers(0, 2**63))
    s["inf"] = draw(st.integers(0, 10))
    return s


@st.composite
def trace_graphs(draw: Any) -> nx.DiGraph:
    """Random graphs that follow the schema, with every kind of value it allows."""
    recorded = draw(st.booleans())
    values = recorded and draw(st.booleans())
    how = "record" if recorded else draw(st.sampled_from(["capture", "record"]))
    g = schema.new_graph([], schema.producer(how, draw(st.none() | st.integers(0, 10**6))))
    count = 0
    ops: list[tuple[str, int]] = []  # (id, n_outputs)
    leaves: list[str] = []

    def new_id() -> str:
        nonlocal count
        count += 1
        return schema.node_id(count - 1)

    def record_op(d: dict[str, Any]) -> None:
        if not recorded:
            return
        d["order"] = draw(st.none() | st.integers(0, 100))
        d["seconds"] = draw(st.floats(0, 10))
        d["grad_in"] = [draw(summaries()) for _ in range(d["n_outputs"])]
        d["grad_out"] = [draw(summaries()) for _ in range(d["n_inputs"])]
        if values:
            d["grad_in_values"] = [draw(st.none() | arrays) for _ in range(d["n_outputs"])]
            d["grad_out_values"] = [draw(st.none() | arrays) for _ in range(d["n_inputs"])]

    for _ in range(draw(st.integers(0, 3))):
        acc, leaf = new_id(), new_id()
        d = schema.op_node("AccumulateGrad", schema.ACCUMULATE_GRAD_SEQ, n_inputs=0, n_outputs=1)
        record_op(d)
        g.add_node(acc, **d)
        name = draw(texts)
        ld = schema.leaf_node(
            name, param=draw(st.none() | texts), shape=draw(shapes), dtype="float32"
        )
        if recorded:
            ld["grad"] = draw(summaries())
            if values:
                ld["grad_value"] = draw(st.none() | arrays)
        g.add_node(leaf, **ld)
        g.add_edge(leaf, acc, **schema.data_edge([[0, 0]]))
        ops.append((acc, 1))
        leaves.append(leaf)
    for seq in range(draw(st.integers(1, 5))):
        nid = new_id()
        n_outputs = draw(st.integers(1, 3))
        pairs: dict[str, list[list[int]]] = {}
        n_inputs = draw(st.integers(0, 3))
        for slot in range(n_inputs):
            if ops and draw(st.booleans()):
                src, outs = draw(st.sampled_from(ops))
                pairs.setdefault(src, []).append([slot, draw(st.integers(0, outs - 1))])
        saved = []
        for name in draw(st.lists(texts, max_size=2)):
            alias = draw(st.none() | st.sampled_from(leaves)) if leaves else None
            saved.append(schema.saved_entry(name, draw(shapes), "float64", 8, alias))
        d = schema.op_node(
            draw(texts),
            seq,
            attrs=draw(st.dictionaries(texts, texts, max_size=3)),
            saved=saved,
            saved_freed=draw(st.booleans()),
            n_inputs=n_inputs,
            n_outputs=n_outputs,
            shape=draw(st.none() | shapes),
            dtype=draw(st.none() | texts),
            module=draw(st.none() | texts),
        )
        d["extra"] = draw(st.dictionaries(texts, st.integers() | st.floats() | texts, max_size=2))
        record_op(d)
        g.add_node(nid, **d)
        for src, p in pairs.items():
            g.add_edge(src, nid, **schema.data_edge(p))
        for entry in saved:
            if entry["alias_of"] is not None:
                g.add_edge(entry["alias_of"], nid, **schema.saved_edge(entry["name"]))
        if draw(st.booleans()):
            sid = new_id()
            g.add_node(sid, **schema.saved_node("self", shape=(2,), dtype="float32", device="cpu"))
            g.add_edge(sid, nid, **schema.saved_edge("self"))
        ops.append((nid, n_outputs))
    for _ in range(draw(st.integers(0, 2))):
        src, _ = draw(st.sampled_from(ops))
        oid = new_id()
        g.add_node(oid, **schema.output_node(draw(texts), grad_fn=src, shape=draw(shapes)))
        g.add_edge(src, oid, **schema.data_edge([[0, 0]]))
        g.graph["roots"].append(oid)
    if recorded:
        g.graph["backward"] = {
            "order": draw(st.lists(st.sampled_from([n for n, _ in ops]), max_size=4)),
            "seconds": draw(st.floats(0, 1e3)),
            "retain_graph": draw(st.booleans()),
            "create_graph": draw(st.booleans()),
            "completed": draw(st.booleans()),
        }
    schema.validate(g)
    return g


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(trace_graphs(), max_size=3))
def test_round_trip_of_random_graphs(tmp_path: Path, graphs: list[nx.DiGraph]) -> None:
    path = tmp_path / "random.gvz"
    save(graphs, path)
    loaded = load(path)
    assert len(loaded) == len(graphs)
    for original, back in zip(graphs, loaded, strict=True):
        assert schema.graphs_equal(original, back)
    first = path.read_bytes()
    save(loaded, path)
    assert path.read_bytes() == first  # saving what was loaded gives the same bytes


def test_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(seed_graphs(values=True), tmp_path / "t.gvz")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pickle used while loading a trace file")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    assert len(load(tmp_path / "t.gvz")) == 2


# ------------------------------------------------------------------ writing safely


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.gvz"
    save(seed_graphs(), path)
    before = path.read_bytes()
    calls = []

    def crash(self: zipfile.ZipFile, info: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(info)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies half-way through the archive
        original(self, info, data, *args, **kwargs)

    original = zipfile.ZipFile.writestr
    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash)
    with pytest.raises(KeyboardInterrupt):
        save(seed_graphs(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.gvz"]  # no temp file left


def test_save_rejects_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "t.gvz"
    with pytest.raises(TypeError, match="save\\(\\) expects a trace graph or a list of them"):
        save("graph", path)
    with pytest.raises(TypeError, match="got Graph"):
        save([nx.DiGraph(), nx.Graph()], path)
    broken = seed_graphs()[0]
    broken.nodes["n0"]["kind"] = "tensor"
    with pytest.raises(schema.SchemaError, match="(?s)cannot save graph 0: .*kind must be one of"):
        save(broken, path)
    odd = seed_graphs()[0]
    odd.nodes["n0"]["extra"] = {1, 2}
    with pytest.raises(TypeError, match="graph 0 node n0: a set cannot be saved"):
        save(odd, path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        save(seed_graphs()[0], tmp_path / "missing" / "t.gvz")


# ------------------------------------------------------------------ damaged and foreign files


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.gvz")


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "notes.gvz"
    path.write_text("hello")
    with pytest.raises(
        TraceFileError, match=r"notes.gvz': not a gradviz trace file \(it is not a zip"
    ):
        load(path)
    error = pytest.raises(TraceFileError, load, path).value
    assert isinstance(error, ValueError) and isinstance(error, GradvizError)


def test_foreign_zip(tmp_path: Path) -> None:
    path = tmp_path / "foreign.gvz"
    rezip(path, {"README.txt": b"not a trace"})
    with pytest.raises(
        TraceFileError, match="foreign.gvz': not a gradviz trace file \\(a zip archive"
    ):
        load(path)
    rezip(path, {"mimetype": b"application/zip", "trace.json": b"{}"})
    with pytest.raises(TraceFileError, match="its 'mimetype' entry is not"):
        load(path)


def test_newer_format_version(tmp_path: Path) -> None:
    path = tmp_path / "new.gvz"
    save(seed_graphs(), path)
    edit_header(path, lambda h: h.update(format_version=2))
    with pytest.raises(
        TraceFileError, match="written by a newer gradviz \\(trace format version 2"
    ):
        load(path)


def test_newer_graph_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.gvz"
    save(seed_graphs(), path)
    edit_header(path, lambda h: h["graphs"][0]["graph"].update(schema="gradviz.trace/2"))
    with pytest.raises(TraceFileError, match="graph 0 does not follow .*upgrade gradviz"):
        load(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda h: h.update(format="other"), "its header's format is not 'gradviz.trace'"),
        (lambda h: h.update(format_version="1"), "format version '1' is not a positive integer"),
        (lambda h: h.pop("graphs"), "lacks the 'graphs' and 'arrays' lists"),
        (lambda h: h["graphs"].append([1, 2]), "graph 2 in its header is malformed"),
        (lambda h: h["graphs"][0]["edges"].append(["n0", "n99", {}]), "names a node that is not"),
        (lambda h: h["graphs"][1]["nodes"][2][1].update(kind="op?"), "graph 1 does not follow"),
        (lambda h: h["arrays"].append({"path": "arrays/99.npy"}), "array entry \\d+ is malformed"),
        (
            lambda h: h["arrays"].append({"path": f"arrays/{len(h['arrays'])}.npy"}),
            "named in its header is missing",
        ),
        (lambda h: h["arrays"][0].update(shape=[7]), "does not match its description"),
    ],
)
def test_malformed_header(tmp_path: Path, change: Any, match: str) -> None:
    path = tmp_path / "bad.gvz"
    save(seed_graphs(values=True), path)
    edit_header(path, change)
    with pytest.raises(TraceFileError, match=match):
        load(path)


def test_header_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.gvz"
    save(seed_graphs(), path)
    entries = members(path)
    entries["trace.json"] = b"{not json"
    rezip(path, entries)
    with pytest.raises(TraceFileError, match="'trace.json' is not valid JSON"):
        load(path)


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.gvz"
    save(seed_graphs(values=True), path)
    entries = members(path)
    entries["arrays/0.npy"] = _npy(np.array([os.system], dtype=object), allow_pickle=True)
    rezip(path, entries)
    with pytest.raises(TraceFileError, match="holds Python objects, which would need pickle"):
        load(path)
    with pytest.raises(TypeError, match="an object array cannot be saved without pickle"):
        g = seed_graphs()[0]
        g.nodes["n1"]["extra"] = np.array([None], dtype=object)
        save(g, tmp_path / "x.gvz")


def test_array_with_wrong_length(tmp_path: Path) -> None:
    path = tmp_path / "short.gvz"
    save(seed_graphs(values=True), path)
    entries = members(path)
    entries["arrays/0.npy"] = entries["arrays/0.npy"][:-4]
    rezip(path, entries)
    with pytest.raises(TraceFileError, match="arrays/0.npy' has 8 bytes of data where"):
        load(path)
    entries["arrays/0.npy"] = b"\x93NUMPY\x09\x00junk"
    rezip(path, entries)
    with pytest.raises(TraceFileError, match="arrays/0.npy' is not a valid .npy file"):
        load(path)


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[nx.DiGraph]]:
    path = tmp_path_factory.mktemp("trace") / "small.gvz"
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    with record(values=True) as rec:
        (w * w).sum().backward()
    save(rec.graphs, path)
    return path.read_bytes(), load(path)


def test_truncated_files(tmp_path: Path, small_trace: tuple[bytes, Any]) -> None:
    raw, _ = small_trace
    path = tmp_path / "cut.gvz"
    # every 5th offset, and every offset in the zip's central directory at the end
    for end in sorted(set(range(0, len(raw), 5)) | set(range(len(raw) - 250, len(raw)))):
        path.write_bytes(raw[:end])
        with pytest.raises(TraceFileError, match="cut.gvz"):
            load(path)


def test_flipped_bytes_are_caught_or_harmless(
    tmp_path: Path, small_trace: tuple[bytes, Any]
) -> None:
    raw, original = small_trace
    path = tmp_path / "flip.gvz"
    caught = 0
    positions = sorted(set(range(0, len(raw), 4)) | set(range(len(raw) - 250, len(raw))))
    for i in positions:
        for mask in (0x01, 0xFF) if i % 8 == 0 else (0xFF,):
            damaged = bytearray(raw)
            damaged[i] ^= mask
            path.write_bytes(bytes(damaged))
            try:
                loaded = load(path)
            except TraceFileError as err:
                assert "flip.gvz" in str(err)
                caught += 1
                continue
            # only bytes no reader uses (timestamps, attributes in zip headers) may change
            # without an error, and then the graphs are intact
            assert len(loaded) == len(original)
            assert all(schema.graphs_equal(a, b) for a, b in zip(loaded, original, strict=True)), i
    assert caught > len(positions)  # most positions matter


@settings(deadline=None)
@given(st.data())
def test_random_damage_never_escapes_as_another_error(
    tmp_path_factory: pytest.TempPathFactory, small_trace: tuple[bytes, Any], data: Any
) -> None:
    raw, original = small_trace
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        damaged[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    path = tmp_path_factory.mktemp("damage") / "d.gvz"
    path.write_bytes(bytes(damaged[:cut]) if data.draw(st.booleans()) else bytes(damaged))
    try:
        loaded = load(path)
    except TraceFileError:
        return
    assert all(schema.graphs_equal(a, b) for a, b in zip(loaded, original, strict=True))
