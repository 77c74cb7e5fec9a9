"""Backward nodes and the one way to declare a differentiable op: ``Function``.

Every differentiable op is a ``Function`` with ``forward(ctx, ...)`` and
``backward(ctx, *grads)``. The ``ctx`` *is* the backward node (``grad_fn``), as in
PyTorch: its class name is the label users see (``MulBackward0``,
``LinearFunctionBackward``). There are two flavours of the same machinery:

* :class:`Function` is what users subclass. ``forward`` receives Tensors (grad mode is
  off inside it) and the node is named ``<ClassName>Backward``.
* :class:`Op` is how gradviz declares its built-in ops. ``forward`` receives the raw
  arrays of the inputs (the kernel), the node name is PyTorch's (``node = "MulBackward0"``),
  and the saved tensors are declared by name (``saves = ("self", "other")``) so they are
  exposed as ``_saved_self``, ``_saved_other``, ``_saved_result`` as in PyTorch.

Backward formulas are written with Tensor ops, so ``create_graph=True`` works for every
op. The engine (``autograd.py``) undoes broadcasting, validates what ``backward``
returns and names the node when it is wrong.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from gradviz.engine import events
from gradviz.engine.backend import device_of, namespace
from gradviz.engine.backend import loud as _loud
from gradviz.engine.backend import operand as _operand
from gradviz.engine.backend import quiet as _quiet
from gradviz.engine.dtypes import (
    FLOATING,
    from_numpy_dtype,
    get_default_dtype,
    is_bool,
    is_floating,
    native,
    result_type,
)
from gradviz.engine.events import Handle
from gradviz.engine.grad_mode import _grad_enabled, _inference, no_grad

__all__ = ["Node", "AccumulateGrad", "Function", "BackwardCFunction", "Op", "FunctionCtx"]

# Assigned by gradviz.engine.tensor once Tensor exists (the two modules need each other).
Tensor: Any = None
_make: Any = None

_sequence = itertools.count()
_anomaly = {"enabled": False, "check_nan": True}

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)

_INFERENCE_SAVE_MESSAGE = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead "
    "of `torch.inference_mode()`."
)


class Node:
    """A node of the backward graph (a ``grad_fn``).

    Attributes:
        next_functions: one ``(node, output_nr)`` pair per input slot; ``(None, 0)`` for an
            input that needs no gradient.
        metadata: a dict for the user; anomaly mode stores ``traceback_`` here.
        module: dotted path of the module whose forward created the node, or None.
    """

    next_functions: tuple[tuple[Node | None, int], ...] = ()
    module: str | None = None
    _saved: dict[str, Any] | None = None
    _freed = False
    # Set by the engine just before backward runs: True when the saved values are freed
    # right after (no retain_graph), so backward may reuse a saved buffer it alone holds.
    _last_use = False
    _pre_hooks: dict[int, Callable[..., Any]] | None = None
    _post_hooks: dict[int, Callable[..., Any]] | None = None
    _tensor_hooks: dict[int, dict[int, Callable[..., Any]]] | None = None
    _retained: dict[int, Any] | None = None
    _metadata: dict[str, Any] | None = None
    _seq = 0
    _n_out = 1  # gradient slots the engine keeps for the node (its outputs; at least one)
    _materialize = True
    _out_meta: tuple[Any, ...] = ()
    _in_meta: tuple[Any, ...] = ()
    _op: ClassVar[Any] = None  # a built-in op's class (OpNode): its backward is what runs
    # True once the engine must run the node the full way (``_Engine._execute``): it has
    # hooks or retained gradients (even if all were removed since), its saved values were
    # freed, or it is an AccumulateGrad. One flag, so the usual node costs one test.
    _slow = False
    attrs: ClassVar[tuple[str, ...]] = ()

    def name(self) -> str:
        """Return the node's name, as PyTorch's ``Node.name()`` does."""
        return type(self).__name__

    @property
    def metadata(self) -> dict[str, Any]:
        """A dict attached to the node (anomaly mode keeps the forward stack here)."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    @property
    def requires_grad(self) -> bool:
        """Always True for a node in a graph."""
        return True

    def _sequence_nr(self) -> int:
        return self._seq

    def register_prehook(self, fn: Callable[..., Any]) -> Handle:
        """Call ``fn(grad_outputs)`` before the node runs; it may return new grads.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        if self._pre_hooks is None:
            self._pre_hooks = {}
            self._slow = True
        key = next(_hook_ids)
        self._pre_hooks[key] = fn
        return Handle(self._pre_hooks, key)

    def register_hook(self, fn: Callable[..., Any]) -> Handle:
        """Call ``fn(grad_inputs, grad_outputs)`` after the node ran; it may return new grad_inputs.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        if self._post_hooks is None:
            self._post_hooks = {}
            self._slow = True
        key = next(_hook_ids)
        self._post_hooks[key] = fn
        return Handle(self._post_hooks, key)

    def attributes(self) -> dict[str, Any]:
        """Return the op's non-tensor arguments (``dim``, ``keepdim``, ...) by name."""
        return {name: getattr(self, name, None) for name in self.attrs}

    def saved_items(self) -> list[tuple[str, Any]]:
        """Return ``(name, value)`` for every saved tensor or array, without unpacking.

        Values are Tensors for saved inputs, and arrays for saved results and buffers.

        Raises:
            RuntimeError: the saved tensors were freed by a backward pass.
        """
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        if not self._saved:
            return []
        return [(name, slot[1]) for name, slot in self._saved.items() if slot[0] != "none"]

    def _unpack(self, name: str) -> Any:
        """Return a saved value, checking a saved tensor's version counter.

        Slots are ``(kind, value, version, counter)``: kind
        ``input`` (a Tensor; its live version counter is compared with the one at save
        time), ``result`` (an output array and its counter), ``array`` / ``scalar`` (a raw
        value for backward), ``none`` (not saved because no gradient needs it).
        """
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        slot = self._saved[name]  # type: ignore[index]
        kind = slot[0]
        value = slot[1]
        if kind == "input":
            counter = value._version_counter
        elif kind == "result":
            counter = slot[3]
        else:
            return value
        current = counter[0] if counter is not None else 0
        if slot[2] != current:
            _raise_version_error(self, name, slot, current)
        if kind == "result":
            return _make(value, True, self, slot_output_nr(name))
        return value

    def _unpack_array(self, name: str) -> Any:
        """Return a saved value as a raw array (or scalar), after the same version check.

        For backward formulas that run on arrays in a plain backward (grad mode off).
        """
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        slot = self._saved[name]  # type: ignore[index]
        kind = slot[0]
        if kind == "result":
            counter = slot[3]
            if slot[2] != counter[0]:
                _raise_version_error(self, name, slot, counter[0])
            return slot[1]
        value = self._unpack(name)
        return value._data if kind == "input" else value

    def _release(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._freed = True
            self._slow = True

    def __getattr__(self, name: str) -> Any:
        # NOTE: only reached for attributes not found normally: PyTorch's _saved_<name>.
        if name.startswith("_saved_"):
            key = name[7:]
            saved = self.__dict__.get("_saved")
            if saved is not None and key in saved:
                value = self._unpack(key)
                if saved[key][0] in ("array", "scalar") and value is not None:
                    # PyTorch shows saved buffers and wrapped Python scalars as tensors.
                    value = _make(value, False, None, 0)
                return value
            if self.__dict__.get("_freed") and key in _saved_names(self):
                raise RuntimeError(FREED_MESSAGE)
            if key in type(self).attrs:
                return self.__dict__.get(key)
            if key in self.__dict__ and key not in _NOT_SAVED_ATTRS and not key.startswith("_"):
                return self.__dict__[key]  # what forward kept on ctx (self_sym_sizes, ...)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"


_hook_ids = itertools.count()
# Node attributes that are engine state, not saved values (never shown as ``_saved_*``).
_NOT_SAVED_ATTRS = frozenset({"needs_input_grad", "next_functions", "module", "variable"})


def slot_output_nr(name: str) -> int:
    """Return the output index of a saved result slot named ``result`` or ``result<i>``."""
    return int(name[6:]) if len(name) > 6 else 0


def _saved_names(node: Node) -> tuple[str, ...]:
    op = getattr(type(node), "_op", None)
    return tuple(getattr(op, "saves", ())) if op is not None else ()


def _raise_version_error(node: Node, name: str, slot: tuple[Any, ...], current: int) -> None:
    value = slot[1]
    data = value._data if isinstance(value, Tensor) else value
    tname = _type_name(data)
    shape = ", ".join(str(s) for s in data.shape)
    if slot[0] == "result":
        origin = f", which is output {slot_output_nr(name)} of {_short_name(node.name())},"
    elif value._grad_fn is not None:
        # PyTorch names the tensor's producer now (after the in-place op), not at save time.
        origin = f", which is output {value._output_nr} of {_short_name(value._grad_fn.name())},"
    else:
        origin = ""  # a leaf: PyTorch names no producer
    hint = (
        "Hint: the backtrace further above shows the operation that failed to compute its "
        "gradient. The variable in question was changed in there or anywhere later. Good luck!"
        if _anomaly["enabled"]
        else "Hint: enable anomaly detection to find the operation that failed to compute its "
        "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{tname} [{shape}]]{origin} is at version "
        f"{current}; expected version {slot[2]} instead. {hint}"
    )


def _short_name(node_name: str) -> str:
    base = node_name.split("Backward")[0]
    return base or node_name


_TYPE_NAMES = {
    "float32": "torch.FloatTensor",
    "float64": "torch.DoubleTensor",
    "float16": "torch.HalfTensor",
    "int64": "torch.LongTensor",
    "int32": "torch.IntTensor",
    "bool": "torch.BoolTensor",
}


def _type_name(data: Any) -> str:
    """Return PyTorch's legacy type name of an array: ``torch.FloatTensor``, ``torch.cuda...``."""
    name = _TYPE_NAMES.get(from_numpy_dtype(data.dtype).name, "torch.Tensor")
    return name.replace("torch.", "torch.cuda.") if device_of(data).type == "cuda" else name


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf's ``.grad`` (one per leaf).

    Attributes:
        variable: the leaf tensor.
    """

    _slow = True  # it accumulates into .grad: the engine's full path

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self._seq = 2**64 - 1
        self.next_functions = ()

    def name(self) -> str:
        """Return PyTorch's C++ name, ``torch::autograd::AccumulateGrad``."""
        return "torch::autograd::AccumulateGrad"


class FunctionCtx:
    """The ``ctx`` API shared by user Functions and built-in ops."""

    needs_input_grad: tuple[bool, ...] = ()
    _materialize = True
    _non_differentiable: tuple[Any, ...] = ()
    _dirty: tuple[Any, ...] = ()
    _to_save: tuple[Any, ...] | None = None

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for backward; read them back with ``ctx.saved_tensors``."""
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The saved tensors, checked against in-place changes since they were saved.

        Raises:
            RuntimeError: they were freed by a backward pass, or one was modified in place.
        """
        saved = self.__dict__.get("_saved")
        if saved is None:
            if self.__dict__.get("_freed"):
                raise RuntimeError(FREED_MESSAGE)
            return ()
        return tuple(self._unpack(name) for name in saved if not name.startswith("_"))  # type: ignore[attr-defined]

    @property
    def saved_variables(self) -> tuple[Any, ...]:
        """Deprecated alias of ``saved_tensors``."""
        return self.saved_tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Declare outputs that have no gradient (integer indices, masks)."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors: Any) -> None:
        """Declare inputs that forward modified in place."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Choose whether missing output gradients reach ``backward`` as zeros (default) or None."""
        self._materialize = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """Base of the nodes of user-defined Functions (``<ClassName>Backward``)."""

    _function: ClassVar[type[Function]]
    _arg_is_tensor: tuple[bool, ...] = ()

    def _apply_backward(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        fn = self._function
        result = fn.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        expected = len(self._arg_is_tensor)
        name = type(self).__name__
        if len(result) < expected or any(g is not None for g in result[expected:]):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients "
                f"(expected {expected}, got {len(result)})"
            )
        out = []
        for i, is_tensor in enumerate(self._arg_is_tensor):
            g = result[i]
            if is_tensor:
                out.append(g)
            elif g is not None:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Variable"
                )
        return tuple(out)


class Function:
    """Base class for differentiable operations written by users, as in PyTorch.

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    (or ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``), then call
    ``MyFunction.apply(...)``. The node in the graph is named ``MyFunctionBackward``.

    Example:
        >>> import gradviz
        >>> class Double(gradviz.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         return x * 2
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         return g * 2
        >>> y = Double.apply(gradviz.ones(2, requires_grad=True))
        >>> y.grad_fn.name()
        'DoubleBackward'
    """

    _node_cls: ClassVar[type[BackwardCFunction]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        op = globals().get("Op")
        if op is None:  # defining Op itself
            return
        if "_node_cls" not in cls.__dict__ and not issubclass(cls, op):
            cls._node_cls = type(
                f"{cls.__name__}Backward", (BackwardCFunction,), {"_function": cls}
            )

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Compute the outputs from the inputs (override this)."""
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        """Return one gradient per forward input, None where there is none (override this)."""
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    setup_context: Any = None

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` and, when grad mode is on and an input requires grad, record a node."""
        node = cls._node_cls.__new__(cls._node_cls)
        is_tensor = tuple(isinstance(a, Tensor) for a in args)
        needs = tuple(t and a._requires_grad for t, a in zip(is_tensor, args, strict=False))
        node.needs_input_grad = needs
        node._arg_is_tensor = is_tensor
        record = _grad_enabled[0] and any(needs)
        with no_grad():
            if cls.setup_context is not None and cls.setup_context is not Function.setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, output)
            else:
                output = cls.forward(node, *args, **kwargs)
        if not record:
            return output
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        tensor_inputs = tuple(a for a in args if isinstance(a, Tensor))
        # NOTE: the edges first: an input marked dirty is returned as an output, and its
        # grad_fn is about to become this node.
        edges = _edges(tensor_inputs)
        wrapped = []
        non_diff = {id(t) for t in node._non_differentiable}
        input_ids = {id(t) for t in tensor_inputs}
        for nr, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                wrapped.append(out)
                continue
            if id(out) in input_ids and id(out) not in {id(t) for t in node._dirty}:
                # An input returned as-is becomes a view of it (without a way to redo it, so
                # an in-place change of it is refused, as PyTorch does).
                source = out
                out = _make(out._data, False, None, 0)
                _share_view(out, source, None, None, None)
                out._view_fn = None
            if id(out) in non_diff or not out.dtype.is_floating_point:
                out._requires_grad = False
            else:
                out._requires_grad = True
                out._grad_fn = node
                out._output_nr = nr
            wrapped.append(out)
        _connect(node, tensor_inputs, tuple(w for w in wrapped if isinstance(w, Tensor)), edges)
        to_save = node._to_save
        if to_save:
            node._saved = {}
            out_ids = {id(w): i for i, w in enumerate(wrapped)}
            for k, t in enumerate(to_save):
                if t is None:
                    node._saved[f"{k}"] = ("array", None, 0, None)
                elif id(t) in out_ids:
                    node._saved[f"result{out_ids[id(t)]}"] = _save_result(t)
                else:
                    node._saved[f"{k}"] = _save_input(t)
            node._to_save = None
        return wrapped[0] if single else tuple(wrapped)


def _save_plan(cls: type[Op]) -> tuple[tuple[str, int, tuple[int, ...] | None], ...]:
    """Return how ``_finish`` saves an op's ``saves``: ``(name, index, users)`` per slot.

    ``index`` is the input's position, or ``-1 - output_nr`` for a saved output;
    ``users`` the input indices whose gradient needs the value (None: always saved).
    """
    plan: list[tuple[str, int, tuple[int, ...] | None]] = []
    for name in cls.saves:
        if name.startswith("result"):
            plan.append((name, -1 - slot_output_nr(name), None))
        else:
            plan.append((name, cls.inputs.index(name), cls.needs.get(name)))
    return tuple(plan)


def _save_input(t: Any) -> tuple[Any, ...]:
    if t._is_inference and not _inference[0]:
        raise RuntimeError(_INFERENCE_SAVE_MESSAGE)
    counter = t._version_counter
    return ("input", t, counter[0] if counter is not None else 0, None)


_NOT_SAVED = ("none", None, 0, None)


def _save_result(t: Any) -> tuple[str, Any, int, Any]:
    counter = t._version_counter
    if counter is None:
        counter = t._version_counter = [0]
    return ("result", t._data, counter[0], counter)


_NO_EDGE = (None, 0)


def _edge(x: Any) -> tuple[Any, int]:
    """Return the ``(node, output_nr)`` a gradient for ``x`` (which requires grad) goes to."""
    base = x._base
    if base is not None and x._view_epoch is not base._grad_fn:
        _refresh_view(x)
    fn = x._grad_fn
    if fn is not None:
        return (fn, x._output_nr)
    if base is None or not base._requires_grad:
        # a leaf (a view of a tensor that needs no grad is a leaf of its own)
        return (x._grad_accumulator(), 0)
    return _NO_EDGE  # a view taken under no_grad: no path to its root, no .grad of its own


def _edges(inputs: tuple[Any, ...]) -> tuple[tuple[tuple[Any, int], ...], tuple[Any, ...]]:
    """Return the ``next_functions`` and input metadata of a node over ``inputs``."""
    edges: list[tuple[Any, int]] = []
    meta: list[Any] = []
    for x in inputs:
        if isinstance(x, Tensor) and x._requires_grad:
            edges.append(_edge(x))
            meta.append((x._data.shape, x._data.dtype))
        else:
            edges.append(_NO_EDGE)
            meta.append(None)
    return tuple(edges), tuple(meta)


def _refresh_view(view: Any) -> None:
    """Give a view whose root was changed in place a grad_fn on the root's current graph."""
    from gradviz.engine.autograd import refresh_view  # noqa: PLC0415 - in-place through views

    refresh_view(view)


def _connect(
    node: Node, inputs: tuple[Any, ...], outputs: tuple[Any, ...], edges: Any = None
) -> None:
    """Fill a new node's edges and metadata and announce it."""
    node._seq = next(_sequence)
    node.next_functions, node._in_meta = edges if edges is not None else _edges(inputs)
    if len(outputs) == 1:
        data = outputs[0]._data
        node._out_meta = ((data.shape, data.dtype),)
    else:
        node._out_meta = tuple((o._data.shape, o._data.dtype) for o in outputs)
        node._n_out = max(len(outputs), 1)
    if events._module_stack:
        node.module = events._module_stack[-1]
    if _anomaly["enabled"]:
        node.metadata["traceback_"] = _forward_stack()
    if events.bus.listeners:
        events.bus.emit(events.NodeCreated(node, inputs, outputs, node.module))


def _forward_stack() -> list[str]:
    import traceback  # noqa: PLC0415 - anomaly mode only; keeps import gradviz lean

    frames = traceback.extract_stack()
    keep = [f for f in frames if "/gradviz/engine/" not in f.filename.replace("\\", "/")]
    return traceback.format_list(keep)


class _NullCtx(FunctionCtx):
    """The ctx that ops get when no graph is recorded: saving is a no-op."""

    def __setattr__(self, name: str, value: Any) -> None:
        pass

    def save_array(self, name: str, array: Any) -> None:
        pass


_NULL_CTX = _NullCtx()


class OpNode(Node, FunctionCtx):
    """Base of the nodes of built-in ops; the subclass name is PyTorch's node name."""

    _op: ClassVar[type[Op]]
    # Set on a LogSoftmaxBackward0 node by nll_loss's backward (cross-entropy): where the
    # few non-zero values of the gradient it is about to receive are (see ops/nn.py).
    _one_hot: Any

    def save_array(self, name: str, array: Any) -> None:
        """Keep an array computed in forward (a mask, indices) for backward, freed with the rest."""
        if self._saved is None:
            self._saved = {}
        self._saved[name] = ("array", array, 0, None)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The saved tensors in the op's ``saves`` order."""
        return tuple(self._unpack(name) for name in self._op.saves)

    def _apply_backward(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        result = self._op.backward(self, *grads)
        return result if isinstance(result, tuple) else (result,)


def _not_implemented_name(self: OpNode) -> str:
    """Return PyTorch's C++ name of a node without a derivative."""
    return "torch::autograd::NotImplemented"


class Op(Function):
    """Base of gradviz's built-in ops (see the module docstring).

    Class attributes:
        node: PyTorch's node name for this overload (``"MulBackward0"``).
        inputs: names of the positional inputs (``("self", "other")``).
        saves: which inputs (by name) or outputs (``"result"``, ``"result1"``) to save.
        attrs: names of ctx attributes that are the op's parameters, shown by renderers.
        needs: for saved inputs that only some gradients use, the input indices whose
            gradient needs them; the input is saved only when one of those requires grad,
            as PyTorch does (``x * 3`` saves ``other`` but not ``self``).
        promotes: cast the inputs to PyTorch's result dtype first (binary arithmetic);
            ``"float"`` also turns integer results into the default float dtype.
        view: the output shares its input's data and version counter.
        differentiable: False for ops without gradient (comparisons).
        non_differentiable_outputs: indices of outputs that never require grad.
        scalar_operands: a Python number after the first tensor input reaches the kernel
            as ``backend.operand`` makes it (a 0-d array: same result, less time); only for
            kernels that use it in plain arithmetic.
    """

    node: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ("self",)
    saves: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[dict[str, tuple[int, ...]]] = {}
    promotes: ClassVar[Any] = False
    view: ClassVar[bool] = False
    differentiable: ClassVar[bool] = True
    non_differentiable_outputs: ClassVar[tuple[int, ...]] = ()
    scalar_operands: ClassVar[bool] = False
    _node_cls: ClassVar[type[OpNode]]  # type: ignore[assignment]
    _save_plan: ClassVar[tuple[tuple[str, int, tuple[int, ...] | None], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._save_plan = _save_plan(cls)
        if cls.node:
            namespace: dict[str, Any] = {
                "_op": cls,
                "attrs": cls.__dict__.get("attrs", getattr(cls, "attrs", ())),
            }
            if cls.node == "NotImplemented":
                # PyTorch gives a node without a derivative its C++ name, as AccumulateGrad.
                namespace["name"] = _not_implemented_name
            node_cls = type(cls.node, (OpNode,), namespace)
            node_cls.__module__ = "gradviz.engine.nodes"
            cls._node_cls = node_cls  # type: ignore[assignment]

    attrs: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the kernel on the inputs' arrays and record a node when a graph is needed."""
        track = _grad_enabled[0] and cls.differentiable
        datas = []
        needs = []
        edges: list[tuple[Any, int]] = []  # the node's next_functions and input metadata,
        meta: list[Any] = []  # gathered in the same pass when a graph may be recorded
        requires = False
        first = None
        dt = None
        mixed = False
        for x in inputs:
            if isinstance(x, Tensor):
                data = x._data
                if first is None:
                    first = data
                    dt = data.dtype
                else:
                    if type(data) is not type(first) or (
                        type(data) is not _ndarray and data.device != first.device
                    ):
                        _raise_device_mismatch(cls, inputs)
                    if data.dtype is not dt and data.dtype != dt:
                        mixed = True
                datas.append(data)
                if x._requires_grad:
                    requires = True
                    needs.append(True)
                    if track:
                        fn = x._grad_fn
                        # A non-view with a grad_fn (the usual case) without _edge's checks.
                        edges.append(
                            (fn, x._output_nr) if fn is not None and x._base is None else _edge(x)
                        )
                        meta.append((data.shape, dt if data is first else data.dtype))
                    continue
            else:
                if cls.scalar_operands and first is not None:
                    x = _operand(x, first)
                datas.append(x)
            needs.append(False)
            if track:
                edges.append(_NO_EDGE)
                meta.append(None)
        if cls.promotes and (mixed or type(first) is not _ndarray or dt not in FLOATING):
            datas = _promote(cls, inputs, datas)
        token = _quiet()
        try:
            if requires and track:
                node = cls._node_cls.__new__(cls._node_cls)
                node.needs_input_grad = tuple(needs)
                out = cls.forward(node, *datas, **params)
                return _finish(cls, node, inputs, out, params, (tuple(edges), tuple(meta)))
            out = cls.forward(_NULL_CTX, *datas, **params)
        except ValueError as err:
            # Shapes that do not broadcast: PyTorch's RuntimeError, not NumPy's ValueError.
            if "broadcast" in str(err):
                try:
                    _raise_broadcast_error(inputs, str(err))
                except RuntimeError as mismatch:
                    raise mismatch from None  # NumPy's error says nothing more
            raise
        finally:
            _loud(token)
        if type(out) is tuple:
            parts = tuple(_make(o, False, None, 0) for o in out)
            if cls.view:
                keep = inputs[0]._requires_grad and not _inference[0]
                for i, part in enumerate(parts):
                    _share_view(part, inputs[0], cls, params, i)
                    part._requires_grad = keep
            return parts
        t = _make(out, False, None, 0)
        if cls.view and first is not None:
            source = inputs[0]
            _share_view(t, source, cls, params, None)
            if source._requires_grad and not _inference[0]:
                # A view taken under no_grad still requires grad, without a grad_fn (PyTorch).
                t._requires_grad = True
        return t


_ndarray = np.ndarray


def _promote(cls: type[Op], inputs: tuple[Any, ...], datas: list[Any]) -> list[Any]:
    """Cast the input arrays to PyTorch's result dtype before the kernel runs.

    Casting first (rather than fixing the result) gives PyTorch's dtype on every namespace,
    including those that refuse mixed-kind arithmetic (array_api_strict, as CuPy may).
    The common case, one dtype and Python scalars that cannot raise it, costs one pass.
    """
    dt = None
    for x in inputs:
        if isinstance(x, Tensor):
            d = x._data.dtype
            if dt is None:
                dt = d
            elif d is not dt and d != dt:
                return _cast_to_result(cls, inputs, datas)
    if dt is None or is_floating(dt):
        return datas  # floating tensors: no Python number can raise their dtype
    if cls.promotes == "float":
        return _cast_to_result(cls, inputs, datas)
    for x in inputs:
        if isinstance(x, float) or (isinstance(x, int) and x.__class__ is not bool and is_bool(dt)):
            return _cast_to_result(cls, inputs, datas)
    return datas


def _cast_to_result(cls: type[Op], inputs: tuple[Any, ...], datas: list[Any]) -> list[Any]:
    want = result_type(*inputs)
    if cls.promotes == "float" and not want.is_floating_point:
        want = get_default_dtype()
    out = list(datas)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            data = datas[i]
            xp = namespace(data)
            target = native(xp, want)
            if data.dtype != target:
                out[i] = xp.astype(data, target)
    return out


def infer_size(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """Return the shape that ``shapes`` broadcast to, or raise PyTorch's size-mismatch error.

    As PyTorch folds the operands of an elementwise op: the broadcast of the first two, then
    of that and the third, and so on; within a pair the mismatch reported is the last one
    (dimensions are compared from the right).

    Raises:
        RuntimeError: ``The size of tensor a (3) must match the size of tensor b (4) at
            non-singleton dimension 1``.
    """
    shape: tuple[int, ...] = ()
    for other in shapes:
        n = max(len(shape), len(other))
        a = (1,) * (n - len(shape)) + tuple(shape)
        b = (1,) * (n - len(other)) + tuple(other)
        for i in range(n - 1, -1, -1):
            p, q = a[i], b[i]
            if p != q and p != 1 and q != 1:
                raise RuntimeError(
                    f"The size of tensor a ({p}) must match the size of tensor b ({q}) at "
                    f"non-singleton dimension {i}"
                )
        shape = tuple(q if p == 1 else p for p, q in zip(a, b, strict=True))
    return shape


def _raise_broadcast_error(inputs: tuple[Any, ...], message: str) -> None:
    """Raise PyTorch's error when the tensor inputs of an op do not broadcast together.

    Called when a kernel raised the array library's broadcasting ValueError. It is PyTorch's
    size mismatch when that error names exactly the op's tensor inputs, or, for a broadcast
    of operands, names the shape of every tensor input in any order, maybe with a 0-d
    operand or a mask (``other - self`` for rsub, ``where(mask, value, self)`` for
    masked_fill); the shapes are then reported in the kernel's order, as ATen's
    ``infer_size`` does. Otherwise (an internal step such as a bias added to a product, an
    assignment to an indexing result) this returns and the caller re-raises the original.
    """
    import re  # noqa: PLC0415 - error path only

    shapes = [tuple(x._data.shape) for x in inputs if isinstance(x, Tensor)]
    named = [
        tuple(int(d) for d in found.split(",") if d.strip())
        for found in re.findall(r"\(([\d,\s]*)\)", message)
    ]
    operands = "operands could not be broadcast" in message or "to a single shape" in message
    if named == shapes or (operands and shapes and set(shapes) <= set(named)):
        infer_size(*named)


def _raise_device_mismatch(cls: type[Op], inputs: tuple[Any, ...]) -> None:
    from gradviz.errors import DeviceError  # noqa: PLC0415 - error path

    tensors = [x for x in inputs if isinstance(x, Tensor)]
    devices: list[str] = []
    for x in tensors:
        if str(x.device) not in devices:
            devices.append(str(x.device))
    name = cls.node or cls.__name__
    lines = [
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{devices[0]} and {devices[1]}! (in {name.replace('Backward', '').rstrip('0123456789')})"
    ]
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            lines.append(f"  input {i}  {tuple(x.shape)} {x.dtype.name} {x.device}")
    lines.append("Fix: move the tensors to one device with .to(device) before the op.")
    raise DeviceError("\n".join(lines))


def _share_view(out: Any, base: Any, cls: Any, params: Any, index: int | None) -> None:
    """Make ``out`` a view of ``base``: same version counter, and how to redo it from the root.

    ``_view_fn`` records the op that made the view, so an in-place change through the view
    can rebuild the root's graph (CopySlices) and replay the view on gradients.
    """
    counter = base._version_counter
    if counter is None:
        counter = base._version_counter = [0]
    out._version_counter = counter
    root = base._base if base._base is not None else base
    out._base = root
    out._view_fn = (base, cls, params, index)
    out._view_epoch = root._grad_fn


def _finish(
    cls: type[Op],
    node: OpNode,
    inputs: tuple[Any, ...],
    out: Any,
    params: dict[str, Any],
    edges: Any,
) -> Any:
    multi = type(out) is tuple
    if not multi and type(out) is _ndarray and out.dtype in FLOATING:
        tensors = [_make(out, True, node, 0)]  # the common case: one floating output
    else:
        outs = out if multi else (out,)
        nondiff = cls.non_differentiable_outputs
        tensors = []
        for nr, o in enumerate(outs):
            floating = o.dtype in FLOATING if type(o) is _ndarray else is_floating(o.dtype)
            if nr in nondiff or not floating:
                tensors.append(_make(o, False, None, 0))
            else:
                tensors.append(_make(o, True, node, nr))
    plan = cls._save_plan
    if plan:
        saved = node._saved
        if saved is None:
            saved = node._saved = {}
        for name, index, users in plan:
            if index < 0:  # an output: result, result1, ...
                saved[name] = _save_result(tensors[-1 - index])
                continue
            if users is not None:
                need = node.needs_input_grad
                for i in users:
                    if need[i]:
                        break
                else:  # no gradient that needs this input is wanted
                    saved[name] = _NOT_SAVED
                    continue
            x = inputs[index]
            saved[name] = _save_input(x) if isinstance(x, Tensor) else ("scalar", x, 0, None)
    if cls.view:
        if multi:
            for i, t in enumerate(tensors):
                _share_view(t, inputs[0], cls, params, i)
        else:
            _share_view(tensors[0], inputs[0], cls, params, None)
    _connect(node, inputs, tuple(tensors), edges)
    return tuple(tensors) if multi else tensors[0]
