"""The trace graph schema: the one contract between trace, renderers, debugger and differ.

A trace graph is a :class:`networkx.DiGraph`. This module defines it (the constants below,
constructors for node and edge data, :func:`validate`) and is the only place that does.
Renderers, the debugger and the differ rely on nothing else; :func:`gradviz.trace.capture`
and :func:`gradviz.trace.record` produce it; :func:`gradviz.trace.save` and
:func:`gradviz.trace.load` store it.

Direction
---------
Edges run in the FORWARD direction, from what feeds a node to the node, as torchviz draws
them::

    leaf -> AccumulateGrad -> MulBackward0 -> ... -> output

Graph attributes (``g.graph``)
------------------------------
- ``schema``: :data:`SCHEMA_VERSION`, ``"gradviz.trace/1"``.
- ``roots``: list of the node ids of the ``output`` nodes, in the order the tensors were
  given (one output node per tensor given, even when a tensor is given twice).
- ``producer``: ``{"tool": "gradviz", "version": str, "how": "capture" | "record",
  "iteration": int | None}``. ``iteration`` is the 0-based index of the backward call
  within a recording (``rec.graphs[k]`` has ``iteration == k``), None for ``capture``.
- ``backward``: present only after a recorded backward: ``{"order": [node ids in execution
  order], "seconds": float, "retain_graph": bool, "create_graph": bool, "completed":
  bool}``. ``completed`` is False when the backward raised (or was aborted by the
  debugger); ``order`` then ends with the node that was running.

Node ids
--------
Strings ``"n0"``, ``"n1"``, ... (:func:`node_id`), assigned deterministically, never from
``id()``, so the same program gives the same graph, ids included, on every run:

1. Op nodes are taken in creation order (the engine's ``node._seq``). Just before an op,
   each ``AccumulateGrad`` among its inputs (``next_functions``, in slot order) that has
   no id yet gets the next id, and its leaf the id right after it. Then the op gets its id.
   So ids follow the forward direction (a node's id is larger than those of the nodes
   feeding it), except that a leaf comes right after the ``AccumulateGrad`` it feeds and
   saved nodes come after all ops (rule 3):
   ``h = w*x + b`` gives
   ``n0 AccumulateGrad, n1 w, n2 MulBackward0, n3 AccumulateGrad, n4 b, n5 AddBackward0,
   n6 output``.
2. An ``AccumulateGrad`` that is itself a root (``backward()`` on a leaf) comes next,
   with its leaf.
3. Then the ``saved`` nodes (only with ``saved=True``), op by op in id order, slot by slot
   in the op's save order, so op and leaf ids do not depend on ``saved``.
4. Then the outputs, in root order.
5. Input nodes last (only with ``inputs=True``): op by op in id order, slot by slot; a
   tensor feeding several slots or ops is one node, numbered at its first use. So no
   other id depends on which inputs are known (see ``leaf`` nodes below).

Node attributes
---------------
Every node has:

- ``kind``: ``"op"`` | ``"leaf"`` | ``"output"`` | ``"saved"`` (:data:`KINDS`).
- ``label``: what a renderer prints first. op: the PyTorch node name (``"MulBackward0"``,
  ``"AccumulateGrad"``, ``"LinearFunctionBackward"``); leaf: its display name (parameter
  name, else ``tensor.name``, else ``""``); output: the output's name or ``""``; saved: the
  saved slot name (``"self"``, ``"other"``, ``"result"``; ``"0"``, ``"1"``... for the
  tensors a user Function saved, ``"result0"`` when it saved its own output).
- ``shape``: tuple of ints or None; ``dtype``: str like ``"float32"`` or None; ``device``:
  str like ``"cpu"``, ``"cuda:0"`` or None.
- ``module``: dotted path (``"layers.0"``) of the nn.Module whose forward made the node,
  or None. Leaves and outputs have None; a saved node has its op's module.

``op`` nodes (backward nodes) also have:

- ``name``: the PyTorch node name (same as ``label``).
- ``seq``: int, the op's creation rank among the graph's ops (0 for the oldest; relative,
  so it does not depend on what ran before), and :data:`ACCUMULATE_GRAD_SEQ`
  (``2**64 - 1``, PyTorch's value) for ``AccumulateGrad``, which runs as soon as it is ready.
- ``attrs``: ``dict[str, str]``, the op's parameters with readable values
  (``{"dim": "1", "keepdim": "False"}``, ``{"reduction": "mean"}``).
- ``saved``: list of dicts ``{"name": "self", "shape": (3, 4), "dtype": "float32",
  "bytes": 48, "alias_of": <node id of the leaf it is> | None}``, one per saved tensor or
  array, in save order (saved Python scalars are not listed). ``alias_of`` names the
  ``leaf`` node when the saved tensor is that leaf itself.
- ``saved_freed``: bool. True when the saved tensors had already been freed by a backward
  pass when the graph was taken (``capture`` after ``backward()`` without
  ``retain_graph``); ``saved`` is then ``[]`` and there are no saved edges for the node,
  because what was saved can no longer be known.
- ``n_inputs``: number of input slots (``len(next_functions)``; 0 for ``AccumulateGrad``);
  ``n_outputs``: number of outputs (1 for ``AccumulateGrad``).
- ``shape``/``dtype``: those of the op's output when it has exactly one, else None
  (``AccumulateGrad``: those of its leaf). ``device``: None, except for
  ``AccumulateGrad``, which has its leaf's device.
- After a recorded backward: ``order`` (int, 0-based position in the backward execution,
  or None if it did not run), ``seconds`` (float; 0.0 if it did not run), ``grad_in`` (list,
  one per output slot, of a summary dict or None: the gradients flowing into the backward
  node), ``grad_out`` (list, one per input slot, of a summary dict or None: the gradients
  it sends on). With ``values=True`` also ``grad_in_values`` / ``grad_out_values``: lists of
  host NumPy arrays or None, slot for slot.

Summary dict (:data:`SUMMARY_KEYS`, made by :func:`gradviz.trace.summarize`)::

    {"shape": tuple, "dtype": str, "device": str, "norm": float, "min": float,
     "max": float, "mean": float, "nan": int, "inf": int}

``norm`` (L2), ``min``, ``max`` and ``mean`` are over the finite elements; ``nan`` and
``inf`` count the others. With no finite element ``norm`` is 0.0 and the other three NaN.

``leaf`` nodes are leaf tensors. One that requires grad has an ``AccumulateGrad`` (one
leaf per ``AccumulateGrad``, ``requires_grad=True``). With ``inputs=True`` a graph also
holds *input* nodes: ``leaf`` nodes with ``requires_grad=False`` for the tensors that feed
an op without needing a gradient (a batch of data, a mask, ``x`` in ``w * x``), each with
a data edge to every op it feeds. ``record(inputs=True)`` knows every such tensor of the
ops created while it records; ``capture`` (and ``record`` for ops created before it
started) only those the op saved for its backward, until a backward frees them. Every
leaf has ``param`` (dotted parameter name: the key in ``params=``, else ``tensor.name``
when set, which nn sets to the parameter's dotted name; else None), ``name`` (str, the
display name, ``""`` when none), ``requires_grad`` (bool), and after a recorded backward
``grad`` (summary of ``tensor.grad`` once this backward accumulated into it, or None when
it did not, e.g. for ``autograd.grad``, and always None for an input) and, with
``values=True``, ``grad_value`` (NumPy array or None).

``output`` nodes also have ``name`` (str) and ``grad_fn`` (node id of the op that produced
the tensor, or None for a leaf or a tensor that does not require grad).

``saved`` nodes (only when asked: ``saved=True``) also have ``name`` (the slot name). There
is one per saved tensor or array that is not a leaf of the graph, per op and slot. A saved
tensor that IS a leaf of the graph (``w * x`` saves ``w`` as ``self``) is never a node of its
own: it is an edge leaf -> op with ``role="saved"``, present whether or not ``saved=True``.

Edge attributes
---------------
- ``role``: ``"data"`` (gradient flows along it) or ``"saved"`` (:data:`ROLES`).
- data edges: ``slots``, a list of ``[input_nr, output_nr]`` lists (input slot of the
  consumer, output index of the producer), sorted; a list because ``a + a`` feeds both
  slots of one node through one edge: ``[[0, 0], [1, 0]]``. A leaf -> ``AccumulateGrad``
  edge and an op -> output edge have ``[[0, output_nr]]``; an input -> op edge has
  ``[[input_nr, 0]]`` per slot the input fills.
- saved edges: ``slot``, the slot name (``"self"``); when one leaf fills several saved
  slots of one op (``w * w``) the names are joined with ``", "`` (``"self, other"``).

Data edges go op/leaf -> op and op -> output (``AccumulateGrad`` -> output when the output
is a leaf): a leaf that requires grad feeds only its ``AccumulateGrad``, an input feeds
ops other than ``AccumulateGrad``. Saved edges go saved/leaf -> op. The graph is always a
DAG.

Types and storage
-----------------
Everything is plain data (str, int, float, bool, None, tuple, list, dict with str keys,
and NumPy arrays only under the ``*_values``/``grad_value`` keys): no references to
tensors or engine nodes, so a graph can be kept, copied and saved. Tuples appear only as
``shape`` values; all other sequences are lists. Extra keys are allowed (tools may
annotate graphs); readers ignore keys they do not know. :func:`graphs_equal` compares
graphs with NaN equal to NaN and arrays by value; :func:`static_view` drops what a
backward added, so a recorded graph can be compared with a captured one.

Example:
    >>> import gradviz
    >>> from gradviz.trace import capture, schema
    >>> w = gradviz.ones(2, requires_grad=True)
    >>> w.name = "w"
    >>> g = capture((w * 2).sum())
    >>> [g.nodes[n]["label"] for n in g]
    ['AccumulateGrad', 'w', 'MulBackward0', 'SumBackward0', '']
    >>> schema.validate(g)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from gradviz.errors import SchemaError

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_PREFIX",
    "KINDS",
    "OP",
    "LEAF",
    "OUTPUT",
    "SAVED",
    "ROLES",
    "DATA",
    "SAVED_ROLE",
    "ACCUMULATE_GRAD",
    "ACCUMULATE_GRAD_SEQ",
    "SUMMARY_KEYS",
    "SAVED_KEYS",
    "PRODUCER_KEYS",
    "BACKWARD_KEYS",
    "OP_BACKWARD_KEYS",
    "LEAF_BACKWARD_KEYS",
    "SchemaError",
    "node_id",
    "id_number",
    "new_graph",
    "producer",
    "op_node",
    "leaf_node",
    "output_node",
    "saved_node",
    "saved_entry",
    "data_edge",
    "saved_edge",
    "problems",
    "validate",
    "static_view",
    "graphs_equal",
]

SCHEMA_PREFIX = "gradviz.trace/"
SCHEMA_VERSION = "gradviz.trace/1"

OP = "op"
LEAF = "leaf"
OUTPUT = "output"
SAVED = "saved"
KINDS = (OP, LEAF, OUTPUT, SAVED)

DATA = "data"
SAVED_ROLE = "saved"
ROLES = (DATA, SAVED_ROLE)

ACCUMULATE_GRAD = "AccumulateGrad"
ACCUMULATE_GRAD_SEQ = 2**64 - 1

SUMMARY_KEYS = ("shape", "dtype", "device", "norm", "min", "max", "mean", "nan", "inf")
SAVED_KEYS = ("name", "shape", "dtype", "bytes", "alias_of")
PRODUCER_KEYS = ("tool", "version", "how", "iteration")
BACKWARD_KEYS = ("order", "seconds", "retain_graph", "create_graph", "completed")
OP_BACKWARD_KEYS = ("order", "seconds", "grad_in", "grad_out", "grad_in_values", "grad_out_values")
LEAF_BACKWARD_KEYS = ("grad", "grad_value")

_COMMON_KEYS = ("kind", "label", "shape", "dtype", "device", "module")
_ID = re.compile(r"n(0|[1-9][0-9]*)\Z")
_MAX_LISTED = 20


# ---------------------------------------------------------------- ids and constructors


def node_id(number: int) -> str:
    """Return the node id for a number: ``node_id(3) == "n3"``."""
    return f"n{number}"


def id_number(nid: str) -> int:
    """Return the number of a node id: ``id_number("n3") == 3`` (for sorting ids).

    Raises:
        SchemaError: ``nid`` is not of the form ``"n<digits>"``.
    """
    if not isinstance(nid, str) or _ID.match(nid) is None:
        raise SchemaError(f"node id {nid!r} is not of the form 'n<number>' (like 'n0', 'n12')")
    return int(nid[1:])


def producer(how: str, iteration: int | None = None) -> dict[str, Any]:
    """Return the ``producer`` graph attribute for a graph made now by ``how``.

    Args:
        how: ``"capture"`` or ``"record"``.
        iteration: the backward call's index within a recording (None for capture).
    """
    from gradviz import __version__  # noqa: PLC0415 - the package is loaded before trace

    return {"tool": "gradviz", "version": __version__, "how": how, "iteration": iteration}


def new_graph(roots: list[str], made_by: dict[str, Any]) -> nx.DiGraph:
    """Return an empty trace graph with its graph attributes set.

    Args:
        roots: ids of the output nodes, in root order.
        made_by: the ``producer`` dict (see :func:`producer`).
    """
    g = nx.DiGraph()
    g.graph["schema"] = SCHEMA_VERSION
    g.graph["roots"] = list(roots)
    g.graph["producer"] = dict(made_by)
    return g


def op_node(
    name: str,
    seq: int,
    *,
    attrs: Mapping[str, str] | None = None,
    saved: list[dict[str, Any]] | None = None,
    saved_freed: bool = False,
    n_inputs: int = 0,
    n_outputs: int = 1,
    shape: tuple[int, ...] | None = None,
    dtype: str | None = None,
    device: str | None = None,
    module: str | None = None,
) -> dict[str, Any]:
    """Return the data of an ``op`` node (see the module docstring for each field)."""
    return {
        "kind": OP,
        "label": name,
        "name": name,
        "seq": seq,
        "shape": shape,
        "dtype": dtype,
        "device": device,
        "module": module,
        "attrs": dict(attrs or {}),
        "saved": list(saved or []),
        "saved_freed": saved_freed,
        "n_inputs": n_inputs,
        "n_outputs": n_outputs,
    }


def leaf_node(
    name: str,
    *,
    param: str | None = None,
    requires_grad: bool = True,
    shape: tuple[int, ...] | None = None,
    dtype: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Return the data of a ``leaf`` node (``name`` is the display name, ``""`` if none)."""
    return {
        "kind": LEAF,
        "label": name,
        "name": name,
        "param": param,
        "requires_grad": requires_grad,
        "shape": shape,
        "dtype": dtype,
        "device": device,
        "module": None,
    }


def output_node(
    name: str,
    *,
    grad_fn: str | None = None,
    shape: tuple[int, ...] | None = None,
    dtype: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Return the data of an ``output`` node (``grad_fn``: id of the producing op or None)."""
    return {
        "kind": OUTPUT,
        "label": name,
        "name": name,
        "grad_fn": grad_fn,
        "shape": shape,
        "dtype": dtype,
        "device": device,
        "module": None,
    }


def saved_node(
    slot: str,
    *,
    shape: tuple[int, ...] | None = None,
    dtype: str | None = None,
    device: str | None = None,
    module: str | None = None,
) -> dict[str, Any]:
    """Return the data of a ``saved`` node (``slot``: the saved slot name, e.g. ``"self"``)."""
    return {
        "kind": SAVED,
        "label": slot,
        "name": slot,
        "shape": shape,
        "dtype": dtype,
        "device": device,
        "module": module,
    }


def saved_entry(
    name: str, shape: tuple[int, ...], dtype: str, nbytes: int, alias_of: str | None = None
) -> dict[str, Any]:
    """Return one entry of an op node's ``saved`` list."""
    return {"name": name, "shape": shape, "dtype": dtype, "bytes": nbytes, "alias_of": alias_of}


def data_edge(slots: Iterable[Iterable[int]]) -> dict[str, Any]:
    """Return the data of a ``data`` edge carrying ``[input_nr, output_nr]`` slot pairs."""
    return {"role": DATA, "slots": sorted([int(a), int(b)] for a, b in slots)}


def saved_edge(slot: str) -> dict[str, Any]:
    """Return the data of a ``saved`` edge for the saved slot named ``slot``."""
    return {"role": SAVED_ROLE, "slot": slot}


# ---------------------------------------------------------------- validation


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_float(x: Any) -> bool:
    return isinstance(x, float) or _is_int(x)


def _opt_str(x: Any) -> bool:
    return x is None or isinstance(x, str)


def _is_shape(x: Any) -> bool:
    return isinstance(x, tuple) and all(_is_int(s) and s >= 0 for s in x)


def _check_summary(where: str, s: Any, out: list[str]) -> None:
    if s is None:
        return
    if not isinstance(s, dict):
        out.append(f"{where}: a gradient summary must be a dict or None, got {type(s).__name__}")
        return
    missing = [k for k in SUMMARY_KEYS if k not in s]
    if missing:
        out.append(f"{where}: summary lacks {', '.join(missing)}")
        return
    if not _is_shape(s["shape"]):
        out.append(f"{where}: summary shape must be a tuple of ints, got {s['shape']!r}")
    if not isinstance(s["dtype"], str) or not isinstance(s["device"], str):
        out.append(f"{where}: summary dtype and device must be str")
    for k in ("norm", "min", "max", "mean"):
        if not _is_float(s[k]):
            out.append(f"{where}: summary {k} must be a float, got {s[k]!r}")
    for k in ("nan", "inf"):
        if not _is_int(s[k]) or s[k] < 0:
            out.append(f"{where}: summary {k} must be a count (int >= 0), got {s[k]!r}")


def _check_values(where: str, values: Any, n: int, out: list[str]) -> None:
    if not isinstance(values, list) or len(values) != n:
        out.append(f"{where}: must be a list of {n} arrays or None, got {values!r:.60}")
        return
    for v in values:
        if v is not None and not isinstance(v, np.ndarray):
            out.append(f"{where}: entries must be NumPy arrays or None, got {type(v).__name__}")


def _check_common(nid: str, d: dict[str, Any], out: list[str]) -> None:
    missing = [k for k in _COMMON_KEYS if k not in d]
    if missing:
        out.append(f"node {nid}: missing {', '.join(missing)}")
        return
    if not isinstance(d["label"], str):
        out.append(f"node {nid}: label must be a str, got {d['label']!r}")
    if d["shape"] is not None and not _is_shape(d["shape"]):
        out.append(f"node {nid}: shape must be a tuple of ints or None, got {d['shape']!r}")
    for k in ("dtype", "device", "module"):
        if not _opt_str(d[k]):
            out.append(f"node {nid}: {k} must be a str or None, got {d[k]!r}")


def _check_op(nid: str, d: dict[str, Any], g: nx.DiGraph, recorded: bool, out: list[str]) -> None:
    for k in ("name", "seq", "attrs", "saved", "n_inputs", "n_outputs"):
        if k not in d:
            out.append(f"node {nid} (op): missing {k}")
            return
    if d["name"] != d["label"] or not isinstance(d["name"], str):
        out.append(
            f"node {nid} (op): name {d['name']!r} must be a str equal to label {d['label']!r}"
        )
    if not _is_int(d["seq"]) or d["seq"] < 0:
        out.append(f"node {nid} (op): seq must be an int >= 0, got {d['seq']!r}")
    attrs = d["attrs"]
    if not isinstance(attrs, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()
    ):
        out.append(f"node {nid} (op): attrs must be a dict of str to str, got {attrs!r:.80}")
    if not isinstance(d.get("saved_freed", False), bool):
        out.append(f"node {nid} (op): saved_freed must be a bool")
    n_in, n_out = d["n_inputs"], d["n_outputs"]
    if not _is_int(n_in) or n_in < 0 or not _is_int(n_out) or n_out < 0:
        out.append(f"node {nid} (op): n_inputs and n_outputs must be ints >= 0")
        return
    saved = d["saved"]
    if not isinstance(saved, list):
        out.append(f"node {nid} (op): saved must be a list, got {type(saved).__name__}")
    else:
        for entry in saved:
            _check_saved_entry(nid, entry, g, out)
    if recorded:
        _check_op_backward(nid, d, n_in, n_out, out)


def _check_saved_entry(nid: str, entry: Any, g: nx.DiGraph, out: list[str]) -> None:
    if not isinstance(entry, dict) or any(k not in entry for k in SAVED_KEYS):
        out.append(f"node {nid} (op): saved entries must be dicts with {', '.join(SAVED_KEYS)}")
        return
    if not isinstance(entry["name"], str) or not _is_shape(entry["shape"]):
        out.append(f"node {nid} (op): saved entry {entry!r:.80} needs a str name and a shape tuple")
    if not isinstance(entry["dtype"], str) or not _is_int(entry["bytes"]):
        out.append(
            f"node {nid} (op): saved entry {entry['name']!r} needs a str dtype and int bytes"
        )
    alias = entry["alias_of"]
    if alias is not None and (alias not in g or g.nodes[alias].get("kind") != LEAF):
        out.append(
            f"node {nid} (op): saved {entry['name']!r} alias_of {alias!r} is not a leaf node"
        )


def _check_op_backward(nid: str, d: dict[str, Any], n_in: int, n_out: int, out: list[str]) -> None:
    for k in ("order", "seconds", "grad_in", "grad_out"):
        if k not in d:
            out.append(f"node {nid} (op): a recorded graph's ops need {k}")
            return
    if d["order"] is not None and (not _is_int(d["order"]) or d["order"] < 0):
        out.append(f"node {nid} (op): order must be an int >= 0 or None, got {d['order']!r}")
    if not _is_float(d["seconds"]):
        out.append(f"node {nid} (op): seconds must be a float, got {d['seconds']!r}")
    for key, n in (("grad_in", n_out), ("grad_out", n_in)):
        value = d[key]
        if not isinstance(value, list) or len(value) != n:
            out.append(f"node {nid} (op): {key} must be a list of {n} summaries or None")
            continue
        for i, s in enumerate(value):
            _check_summary(f"node {nid} (op) {key}[{i}]", s, out)
    for key, n in (("grad_in_values", n_out), ("grad_out_values", n_in)):
        if key in d:
            _check_values(f"node {nid} (op) {key}", d[key], n, out)


def _check_leaf(nid: str, d: dict[str, Any], recorded: bool, out: list[str]) -> None:
    for k in ("param", "name", "requires_grad"):
        if k not in d:
            out.append(f"node {nid} (leaf): missing {k}")
            return
    if not _opt_str(d["param"]) or not isinstance(d["name"], str):
        out.append(f"node {nid} (leaf): param must be a str or None and name a str")
    if not isinstance(d["requires_grad"], bool):
        out.append(f"node {nid} (leaf): requires_grad must be a bool")
    if recorded:
        if "grad" not in d:
            out.append(f"node {nid} (leaf): a recorded graph's leaves need grad")
        else:
            _check_summary(f"node {nid} (leaf) grad", d["grad"], out)
        if "grad_value" in d and d["grad_value"] is not None:
            if not isinstance(d["grad_value"], np.ndarray):
                out.append(f"node {nid} (leaf): grad_value must be a NumPy array or None")


def _check_output(nid: str, d: dict[str, Any], g: nx.DiGraph, out: list[str]) -> None:
    if "name" not in d or "grad_fn" not in d:
        out.append(f"node {nid} (output): missing name or grad_fn")
        return
    if not isinstance(d["name"], str):
        out.append(f"node {nid} (output): name must be a str")
    fn = d["grad_fn"]
    if fn is not None and (fn not in g or g.nodes[fn].get("kind") != OP):
        out.append(f"node {nid} (output): grad_fn {fn!r} is not an op node")


def _check_edge(u: str, v: str, d: dict[str, Any], g: nx.DiGraph, out: list[str]) -> None:
    role = d.get("role")
    ku, kv = g.nodes[u].get("kind"), g.nodes[v].get("kind")
    where = f"edge {u} -> {v}"
    if role == DATA:
        slots = d.get("slots")
        if (
            not isinstance(slots, list)
            or not slots
            or not all(
                isinstance(p, list) and len(p) == 2 and all(_is_int(i) and i >= 0 for i in p)
                for p in slots
            )
        ):
            out.append(
                f"{where}: a data edge needs slots, a non-empty list of [input_nr, output_nr]"
            )
        if ku not in (OP, LEAF) or kv not in (OP, OUTPUT):
            out.append(f"{where}: a data edge goes op/leaf -> op/output, not {ku} -> {kv}")
        elif (
            ku == LEAF
            and g.nodes[u].get("requires_grad") is False
            and (kv != OP or g.nodes[v].get("label") == ACCUMULATE_GRAD)
        ):
            out.append(
                f"{where}: an input (a leaf with requires_grad=False) feeds ops, "
                f"not {'an AccumulateGrad' if kv == OP else 'an ' + str(kv)}"
            )
    elif role == SAVED_ROLE:
        if not isinstance(d.get("slot"), str):
            out.append(f"{where}: a saved edge needs slot, the saved slot name")
        if ku not in (SAVED, LEAF) or kv != OP:
            out.append(f"{where}: a saved edge goes saved/leaf -> op, not {ku} -> {kv}")
    else:
        out.append(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")


def _check_graph_attrs(g: nx.DiGraph, out: list[str]) -> bool:
    schema = g.graph.get("schema")
    if schema != SCHEMA_VERSION:
        if isinstance(schema, str) and schema.startswith(SCHEMA_PREFIX):
            out.append(
                f"graph schema is {schema!r} but this gradviz understands {SCHEMA_VERSION!r}; "
                "a newer gradviz wrote it: upgrade gradviz"
            )
        else:
            out.append(f"graph attribute schema must be {SCHEMA_VERSION!r}, got {schema!r}")
    roots = g.graph.get("roots")
    if not isinstance(roots, list):
        out.append(f"graph attribute roots must be a list of output node ids, got {roots!r:.60}")
    else:
        for r in roots:
            if r not in g or g.nodes[r].get("kind") != OUTPUT:
                out.append(f"root {r!r} is not an output node of the graph")
    made_by = g.graph.get("producer")
    if not isinstance(made_by, dict) or any(k not in made_by for k in PRODUCER_KEYS):
        out.append(f"graph attribute producer must be a dict with {', '.join(PRODUCER_KEYS)}")
    elif made_by["how"] not in ("capture", "record") or not (
        made_by["iteration"] is None or _is_int(made_by["iteration"])
    ):
        out.append("producer how must be 'capture' or 'record' and iteration an int or None")
    bw = g.graph.get("backward")
    if bw is None:
        return False
    if not isinstance(bw, dict) or any(k not in bw for k in BACKWARD_KEYS):
        out.append(f"graph attribute backward must be a dict with {', '.join(BACKWARD_KEYS)}")
        return True
    if not isinstance(bw["order"], list) or any(n not in g for n in bw["order"]):
        out.append("backward order must be a list of node ids of the graph")
    if not _is_float(bw["seconds"]):
        out.append("backward seconds must be a float")
    for k in ("retain_graph", "create_graph", "completed"):
        if not isinstance(bw[k], bool):
            out.append(f"backward {k} must be a bool")
    return True


def problems(graph: Any) -> list[str]:
    """Return every way ``graph`` breaks the schema (an empty list for a valid graph).

    Args:
        graph: the graph to check.

    Returns:
        One readable line per problem, in a deterministic order.
    """
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        return [f"a trace graph is a networkx.DiGraph, got {type(graph).__name__}"]
    out: list[str] = []
    for nid in graph:
        if not isinstance(nid, str) or _ID.match(nid) is None:
            out.append(f"node id {nid!r} is not of the form 'n<number>'")
    recorded = _check_graph_attrs(graph, out)
    for nid, d in graph.nodes(data=True):
        kind = d.get("kind")
        if kind not in KINDS:
            out.append(f"node {nid}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
            continue
        _check_common(nid, d, out)
        if kind == OP:
            _check_op(nid, d, graph, recorded, out)
        elif kind == LEAF:
            _check_leaf(nid, d, recorded, out)
        elif kind == OUTPUT:
            _check_output(nid, d, graph, out)
        elif "name" in d and not isinstance(d["name"], str):
            out.append(f"node {nid} (saved): name must be a str")
    for u, v, d in graph.edges(data=True):
        _check_edge(u, v, d, graph, out)
    if not nx.is_directed_acyclic_graph(graph):
        out.append("the graph has a cycle; a trace graph is a DAG")
    return out


def validate(graph: Any) -> None:
    """Check that ``graph`` follows the schema; raise listing every problem if not.

    Args:
        graph: the graph to check.

    Raises:
        SchemaError: the graph breaks the schema (all problems are listed, up to 20).
    """
    found = problems(graph)
    if found:
        shown = found[:_MAX_LISTED]
        more = len(found) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise SchemaError(
            f"graph does not follow the trace schema {SCHEMA_VERSION} "
            f"({len(found)} problem{'s' if len(found) != 1 else ''}):\n  "
            + "\n  ".join(shown)
            + tail
        )


# ---------------------------------------------------------------- comparing


def static_view(graph: nx.DiGraph) -> nx.DiGraph:
    """Return a copy of ``graph`` without what a backward or the producer added.

    Drops the graph attributes ``producer`` and ``backward`` and the node keys of
    :data:`OP_BACKWARD_KEYS` and :data:`LEAF_BACKWARD_KEYS`, so that a recorded graph can be
    compared with a captured one (``graphs_equal(static_view(a), static_view(b))``).

    Args:
        graph: a trace graph (left unchanged).

    Returns:
        A new DiGraph (node and edge data are shallow copies).
    """
    drop = set(OP_BACKWARD_KEYS) | set(LEAF_BACKWARD_KEYS)
    g = nx.DiGraph()
    g.graph.update({k: v for k, v in graph.graph.items() if k not in ("producer", "backward")})
    g.add_nodes_from(
        (n, {k: v for k, v in d.items() if k not in drop}) for n, d in graph.nodes(data=True)
    )
    g.add_edges_from((u, v, dict(d)) for u, v, d in graph.edges(data=True))
    return g


def _same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN, tuples differ from lists, arrays compare by value."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def graphs_equal(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    """Return True when two trace graphs hold the same nodes, edges and data.

    Unlike ``networkx.utils.graphs_equal`` this works on graphs holding NumPy arrays and
    NaN summaries (NaN equals NaN here), and it also requires the same node order.

    Args:
        a: a trace graph.
        b: another trace graph.
    """
    if list(a.nodes) != list(b.nodes) or not _same(a.graph, b.graph):
        return False
    if not all(_same(a.nodes[n], b.nodes[n]) for n in a):
        return False
    edges_a = sorted(a.edges, key=lambda e: (_id_key(e[0]), _id_key(e[1])))
    edges_b = sorted(b.edges, key=lambda e: (_id_key(e[0]), _id_key(e[1])))
    if edges_a != edges_b:
        return False
    return all(_same(a.edges[e], b.edges[e]) for e in edges_a)


def _id_key(nid: Any) -> tuple[int, str]:
    """Return a sort key for node ids: numeric for ``"n<number>"``, after them otherwise."""
    if isinstance(nid, str) and _ID.match(nid) is not None:
        return (int(nid[1:]), "")
    return (2**63, str(nid))
