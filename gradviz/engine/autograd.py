"""The backward engine: ``backward()`` and ``grad()``.

The traversal is PyTorch's: count each node's consumers among the nodes reachable from
the roots; a node is ready once all its consumers have run (its output gradients are then
summed); among ready nodes the most recently created (highest sequence number) runs
first, and ``AccumulateGrad`` (sequence 2**64-1) runs as soon as it is ready. Traversal
is iterative, so graph depth is not limited by Python's recursion limit.

In a plain backward grad mode is off while formulas run, so no graph is built; with
``create_graph=True`` it is on and the gradients carry their own graph.
"""

from __future__ import annotations

import heapq
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gradviz.engine import backend, events, function
from gradviz.engine.backend import loud, namespace, quiet
from gradviz.engine.dtypes import is_floating
from gradviz.engine.function import AccumulateGrad, Node
from gradviz.engine.grad_mode import _grad_enabled
from gradviz.engine.tensor import Tensor, _make

__all__ = ["backward", "grad", "BackwardAborted"]

_CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak."
)


class BackwardAborted(Exception):  # noqa: N818 - a signal to stop, not an error
    """Raised by a listener (the debugger's quit) to stop a backward pass.

    The engine restores every ``.grad`` it had already written, then re-raises.
    """


def _as_tuple(x: Any) -> tuple[Any, ...]:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _inputs_tuple(inputs: Any, caller: str) -> tuple[Any, ...]:
    """Return ``inputs`` as PyTorch reads them: a tensor, a sequence, or a dict's values.

    Raises:
        TypeError: a Mapping other than a dict.
        RuntimeError: no inputs at all.
    """
    if isinstance(inputs, Tensor):
        return (inputs,)
    if type(inputs) is dict:
        out = tuple(inputs.values())
    elif isinstance(inputs, Mapping):
        raise TypeError(
            f"`inputs` argument to `{caller}()` must be a dict, not {type(inputs).__name__}. "
            "Other Mapping types are not supported."
        )
    else:
        out = tuple(inputs)
    if not out:
        raise RuntimeError(f"`inputs` argument to `{caller}()` cannot be empty.")
    return out


def _size(shape: Sequence[int]) -> str:
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def _make_grads(outputs: tuple[Tensor, ...], grads: tuple[Any, ...]) -> list[Tensor]:
    result = []
    for i, out in enumerate(outputs):
        g = grads[i] if i < len(grads) else None
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            data = out._data
            ones = namespace(data).ones_like(data)  # not data * 0 + 1: the output may be NaN
            result.append(_make(ones, False, None, 0))
            continue
        if not isinstance(g, Tensor):
            from gradviz.engine.creation import tensor as _tensor  # noqa: PLC0415

            g = _tensor(g, dtype=out.dtype)
        if g.device != out.device:
            raise RuntimeError(
                f"invalid gradient at index {i} - expected device {out.device} but got {g.device}"
            )
        if g._data.shape != out._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {_size(g._data.shape)} and "
                f"output[{i}] has a shape of {_size(out._data.shape)}."
            )
        if g._data.dtype != out._data.dtype:
            g = _make(_astype(g._data, out._data.dtype), g._requires_grad, None, 0)
        result.append(g)
    return result


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate into ``.grad`` the gradients of ``tensors`` with respect to the leaves.

    Args:
        tensors: the tensors to differentiate (usually one scalar loss).
        grad_tensors: gradients with respect to each tensor (None for scalars).
        retain_graph: keep saved tensors for another backward (default: create_graph).
        create_graph: record the backward itself so it can be differentiated.
        inputs: accumulate only into these tensors.

    Raises:
        RuntimeError: as PyTorch does for a tensor without grad_fn, a non-scalar root
            without a gradient, a gradient of the wrong shape, freed saved tensors or a
            saved tensor modified in place.
    """
    roots = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) if not isinstance(grad_tensors, Tensor) else (grad_tensors,)
    targets = _inputs_tuple(inputs, "backward") if inputs is not None else None
    engine = _Engine(roots, grads, retain_graph, create_graph, targets, accumulate=True)
    if create_graph:  # after the checks of the roots and gradients, as in PyTorch
        warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    engine.run()


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Args:
        outputs: tensors to differentiate; several are summed.
        inputs: tensors to differentiate with respect to.
        grad_outputs: gradients with respect to each output (None for scalars).
        retain_graph: keep saved tensors for another backward (default: create_graph).
        create_graph: record the backward so the result can be differentiated again.
        allow_unused: return None instead of raising for inputs not in the graph.
        is_grads_batched: unsupported; must be False.
        materialize_grads: return zeros instead of None for unused inputs.

    Returns:
        One gradient per input, as a tuple.

    Raises:
        RuntimeError: an input does not require grad, or is unused and allow_unused is
            False, and the errors of ``backward``.
    """
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    if is_grads_batched:
        raise NotImplementedError("gradviz.autograd.grad does not support is_grads_batched=True")
    roots = _as_tuple(outputs)
    targets = _inputs_tuple(inputs, "grad")
    grads = _as_tuple(grad_outputs) if not isinstance(grad_outputs, Tensor) else (grad_outputs,)
    for t in targets:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if materialize_grads:
        allow_unused = True
    engine = _Engine(roots, grads, retain_graph, create_graph, targets, accumulate=False)
    captured = engine.run()
    result = []
    for i, t in enumerate(targets):
        g = captured.get(i)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                g = _make(namespace(t._data).zeros_like(t._data), create_graph, None, 0)
        result.append(g)
    if type(inputs) is dict:
        return dict(zip(inputs.keys(), result, strict=True))  # type: ignore[return-value]
    return tuple(result)


class _Engine:
    """One backward pass (an object so its state does not leak between passes)."""

    def __init__(
        self,
        roots: tuple[Tensor, ...],
        grads: tuple[Any, ...],
        retain_graph: bool | None,
        create_graph: bool,
        targets: tuple[Tensor, ...] | None,
        accumulate: bool,
    ) -> None:
        self.roots = roots
        self.retain_graph = create_graph if retain_graph is None else retain_graph
        self.create_graph = create_graph
        self.accumulate = accumulate
        self.targets = targets
        for i, t in enumerate(roots):
            if t._base is not None and t._view_epoch is not t._base._grad_fn:
                function._refresh_view(t)
            if not t._requires_grad:
                raise RuntimeError(
                    f"element {i} of tensors does not require grad and does not have a grad_fn"
                )
        self.root_grads = _make_grads(roots, grads)
        self.captured: dict[int, Tensor] = {}
        # (node, output_nr) -> target index, for grad() of non-leaves and inputs= of non-leaves
        self.capture_at: dict[tuple[Node, int], int] = {}
        self.capture_leaf: dict[Node, int] = {}
        if targets is not None:
            for i, t in enumerate(targets):
                if t._grad_fn is None:
                    self.capture_leaf[t._grad_accumulator()] = i
                else:
                    self.capture_at[(t._grad_fn, t._output_nr)] = i
        self.undo: list[tuple[Tensor, Any, Any]] | None = None

    def run(self) -> dict[int, Tensor]:
        listening = bool(events.bus.listeners)
        start = time.perf_counter()
        if listening:
            self.undo = []
        completed = False
        token = quiet()  # NaN and inf are values here, as in PyTorch (anomaly mode reports them)
        try:
            self._run(listening)
            completed = True
        except BaseException:
            if self.undo:
                for t, old, old_data in reversed(self.undo):
                    if old is not None and old_data is not None:
                        old._data[...] = old_data
                    t._grad = old
            raise
        finally:
            loud(token)
            if listening:
                events.bus.emit(
                    events.BackwardFinished(self.roots, time.perf_counter() - start, completed)
                )
        return self.captured

    def _run(self, listening: bool) -> None:
        root_nodes: list[tuple[Node, int, Tensor]] = []
        for t, g in zip(self.roots, self.root_grads, strict=False):
            node = t._grad_fn
            root_nodes.append(
                (node, t._output_nr, g) if node is not None else (t._grad_accumulator(), 0, g)
            )

        # Count dependencies over everything reachable from the roots.
        deps: dict[Node, int] = {}
        seen = {n for n, _, _ in root_nodes}
        stack = list(seen)
        order: list[Node] = []
        while stack:
            node = stack.pop()
            order.append(node)
            for fn, _ in node.next_functions:
                if fn is None:
                    continue
                deps[fn] = deps.get(fn, 0) + 1
                if fn not in seen:
                    seen.add(fn)
                    stack.append(fn)
        needed = self._needed(order) if self.targets is not None else None

        buffers: dict[Node, list[Any]] = {}
        for node, nr, g in root_nodes:
            buf = buffers.get(node)
            if buf is None:
                buf = buffers[node] = [None] * node._n_out
            buf[nr] = g if buf[nr] is None else _add(buf[nr], g)
        if listening:
            events.bus.emit(
                events.BackwardStarted(
                    self.roots,
                    tuple(self.root_grads),
                    tuple(n for n in seen if needed is None or n in needed),
                    self.create_graph,
                    self.retain_graph,
                    self.accumulate,
                )
            )

        heap: list[tuple[int, int, Node]] = []
        tie = 0
        for node in buffers:
            if deps.get(node, 0) == 0:
                heapq.heappush(heap, (-node._seq, tie, node))
                tie += 1
        prev_mode = _grad_enabled[0]
        _grad_enabled[0] = self.create_graph
        index = 0
        # Nodes with one output, no hooks and no captures, in a pass nobody watches, take
        # the short way (what ``_execute`` does, less what cannot apply).
        quick = not (listening or self.capture_at or function._anomaly["enabled"])
        release = not self.retain_graph
        heappop, heappush = heapq.heappop, heapq.heappush
        # The next node to run when it precedes everything in the heap (a chain's usual
        # case): it skips the push and pop. ``ahead`` is its (-seq, tie) heap key.
        nxt: Node | None = None
        ahead: tuple[int, int] = (0, 0)
        try:
            while True:
                if nxt is not None:
                    node, nxt = nxt, None
                elif heap:
                    node = heappop(heap)[2]
                else:
                    break
                grads = buffers.pop(node, None)
                if needed is not None and node not in needed:
                    continue
                if grads is None:
                    out = None
                elif quick and len(grads) == 1 and grads[0] is not None and not node._slow:
                    node._last_use = release
                    op = node._op
                    if op is not None:  # a built-in op: its backward directly
                        out = op.backward(node, grads[0])
                        if type(out) is not tuple:
                            out = (out,)
                    else:
                        out = node._apply_backward((grads[0],))  # type: ignore[attr-defined]
                    out = check_outputs(node, out)
                    if release:
                        node._release()
                    index += 1
                elif grads[0] is None if len(grads) == 1 else all(g is None for g in grads):
                    out = None
                else:
                    out = self._execute(node, grads, listening, index)
                    index += 1
                grads = None
                for k, (fn, nr) in enumerate(node.next_functions):
                    if fn is None:
                        continue
                    sent = out[k] if out is not None else None
                    if sent is not None:
                        buf = buffers.get(fn)
                        if buf is None:
                            buf = buffers[fn] = [None] * fn._n_out
                        buf[nr] = sent if buf[nr] is None else _add(buf[nr], sent)
                    remaining = deps[fn] - 1
                    deps[fn] = remaining
                    if remaining == 0:
                        key = (-fn._seq, tie)
                        tie += 1
                        if nxt is None:
                            nxt, ahead = fn, key
                        elif key < ahead:
                            heappush(heap, (*ahead, nxt))
                            nxt, ahead = fn, key
                        else:
                            heappush(heap, (*key, fn))
                if nxt is not None and heap and heap[0] < ahead:
                    heappush(heap, (*ahead, nxt))
                    nxt = None
                out = sent = None  # the buffers hold the gradients now (see _can_steal)
        finally:
            _grad_enabled[0] = prev_mode

    def _needed(self, order: list[Node]) -> set[Node]:
        """Return the nodes from which a capture target can be reached."""
        goal = set(self.capture_leaf) | {n for n, _ in self.capture_at}
        needed: set[Node] = set()
        # ``order`` is a DFS pre-order from the roots; iterate to a fixed point, which for a
        # DAG visited in reverse pre-order converges in a few sweeps.
        changed = True
        while changed:
            changed = False
            for node in reversed(order):
                if node in needed:
                    continue
                if node in goal or any(
                    fn in needed for fn, _ in node.next_functions if fn is not None
                ):
                    needed.add(node)
                    changed = True
        return needed

    def _execute(
        self, node: Node, grads: list[Any], listening: bool, index: int
    ) -> tuple[Any, ...] | None:
        if node._tensor_hooks:
            for nr, hooks in node._tensor_hooks.items():
                if grads[nr] is not None:
                    for hook in tuple(hooks.values()):
                        grads[nr] = _call_tensor_hook(hook, grads[nr])
        if node._retained:
            for nr, ref in node._retained.items():
                t = ref()
                if t is not None and grads[nr] is not None:
                    g = grads[nr] if self.create_graph else _make(grads[nr]._data, False, None, 0)
                    t._grad = g if t._grad is None else _add(t._grad, g)
        if self.capture_at:
            for nr in range(len(grads)):
                i = self.capture_at.get((node, nr))
                if i is not None and grads[nr] is not None:
                    self._capture(i, grads[nr])
        if type(node) is AccumulateGrad:
            self._accumulate(node, grads[0], listening, index)
            return None
        if node._pre_hooks:
            for hook in tuple(node._pre_hooks.values()):
                replaced = hook(tuple(grads))
                if replaced is not None:
                    grads = list(replaced)
        if node._freed:
            raise RuntimeError(function.FREED_MESSAGE)
        out_meta = node._out_meta
        if node._materialize:
            for i, g in enumerate(grads):
                if g is None:
                    shape, dtype = out_meta[i]
                    grads[i] = _zeros_like_meta(grads, shape, dtype)
        grads_in = tuple(grads)
        if listening:
            events.bus.emit(events.NodeWillRun(node, grads_in, index))
            start = time.perf_counter()
        node._last_use = not self.retain_graph
        out = check_outputs(node, node._apply_backward(grads_in))  # type: ignore[attr-defined]
        if function._anomaly["enabled"] and function._anomaly["check_nan"]:
            _check_nan(node, out)
        if node._post_hooks:
            for hook in tuple(node._post_hooks.values()):
                replaced = hook(out, grads_in)
                if replaced is not None:
                    out = tuple(replaced)
        if listening:
            events.bus.emit(
                events.NodeExecuted(node, grads_in, out, index, time.perf_counter() - start)
            )
        if not self.retain_graph:
            node._release()
        return out

    def _capture(self, i: int, g: Tensor) -> None:
        prev = self.captured.get(i)
        self.captured[i] = g if prev is None else _add(prev, g)

    def _accumulate(self, node: AccumulateGrad, g: Tensor, listening: bool, index: int) -> None:
        var = node.variable
        if var._hooks:
            for hook in tuple(var._hooks.values()):
                g = _call_tensor_hook(hook, g)
        if node._pre_hooks:
            for hook in tuple(node._pre_hooks.values()):
                replaced = hook((g,))
                if replaced is not None:
                    g = replaced[0]
        if listening:
            events.bus.emit(events.NodeWillRun(node, (g,), index))
            start = time.perf_counter()
        i = self.capture_leaf.get(node)
        if i is not None:
            self._capture(i, g)
        if self.accumulate and (self.targets is None or i is not None):
            if self.undo is not None:
                old = var._grad
                self.undo.append((var, old, backend.copy(old._data) if old is not None else None))
            if g._data.dtype != var._data.dtype:
                g = _make(
                    _astype(g._data, var._data.dtype), g._requires_grad, g._grad_fn, g._output_nr
                )
            if var._grad is None:
                if self.create_graph and g._requires_grad:
                    # PyTorch copies the gradient into a new tensor: CopyBackwards(None, g).
                    from gradviz.engine import ops  # noqa: PLC0415

                    var._grad = ops._copy(
                        _make(backend.zeros(g._data, g._data.shape), False, None, 0), g
                    )
                elif _can_steal(g):
                    var._grad = _make(g._data, False, None, 0)
                else:
                    var._grad = _make(backend.copy(g._data, contiguous=True), False, None, 0)
            elif self.create_graph or var._grad._requires_grad:
                var._grad = var._grad + g
            else:
                var._grad._data += g._data
            if var._post_accumulate_hooks:
                for hook in tuple(var._post_accumulate_hooks.values()):
                    hook(var)
            if listening:
                events.bus.emit(events.GradAccumulated(var, g, node))
        if node._post_hooks:
            for hook in tuple(node._post_hooks.values()):
                hook((), (g,))
        if listening:
            events.bus.emit(events.NodeExecuted(node, (g,), (), index, time.perf_counter() - start))


# References to a gradient Tensor held by the engine itself when ``_can_steal`` asks: the
# grads list of ``_execute``, ``_accumulate``'s argument, ``_can_steal``'s, getrefcount's own.
# (``_run`` drops its references to what a node returned once it has handed them on.)
_ENGINE_REFS = 4


def _can_steal(g: Tensor) -> bool:
    """Whether ``.grad`` may take over ``g``'s buffer instead of a copy, as PyTorch does.

    Only when nothing else can see the memory (no other Tensor, view or user reference)
    and ``g`` is an ordinary row-major NumPy array: one that owns its memory, or a view
    that is the only way to its owner's memory and covers all of it (``w.t().t()``, the
    reshape of a reduction's result).
    """
    data = g._data
    if type(data) is not np.ndarray or not data.flags.c_contiguous:
        return False
    # References to the array: ``g``'s, this local, getrefcount's argument.
    if sys.getrefcount(g) > _ENGINE_REFS or sys.getrefcount(data) != 3:
        return False
    base = data.base
    # A row-major view lies inside its owner's memory; of the owner's size it is all of it.
    # References to the owner: the view's, this local, getrefcount's argument.
    return base is None or (
        type(base) is np.ndarray
        and base.base is None
        and base.nbytes == data.nbytes
        and sys.getrefcount(base) == 3
    )


def _astype(data: Any, dtype: Any) -> Any:
    return namespace(data).astype(data, dtype)


def check_outputs(node: Node, out: tuple[Any, ...]) -> tuple[Any, ...]:
    """Validate what ``node``'s backward returned: count, types, shapes (broadcast undone), dtypes.

    Raises:
        RuntimeError: the wrong number of gradients, or a gradient of the wrong shape.
        TypeError: a gradient that is not a Tensor.
    """
    meta = node._in_meta
    n = len(meta)
    if len(out) != n:
        if len(out) > n and all(g is None for g in out[n:]):
            out = out[:n]
        else:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {n}, got {len(out)})"
            )
    fixed = None
    i = -1
    for g, m in zip(out, meta, strict=False):  # equal lengths here; NOTE: hot, kept lean
        i += 1
        if g is None:
            continue
        if m is None:  # a gradient for an input that needs none: dropped
            if fixed is None:
                fixed = list(out)
            fixed[i] = None
            continue
        if g.__class__ is not Tensor and not isinstance(g, Tensor):
            raise TypeError(
                f"function {node.name()} returned a {type(g).__name__} as gradient {i}; "
                "backward must return Tensors or None"
            )
        data = g._data
        dtype = m[1]
        if data.shape != m[0] or (data.dtype is not dtype and data.dtype != dtype):
            if fixed is None:
                fixed = list(out)
            fixed[i] = _conform(node, i, g, m[0], dtype)
    return tuple(fixed) if fixed is not None else out


def _add(a: Tensor, b: Tensor) -> Tensor:
    if _grad_enabled[0] and (a._requires_grad or b._requires_grad):
        return a + b
    return _make(a._data + b._data, False, None, 0)


def _zeros_like_meta(grads: list[Any], shape: tuple[int, ...], dtype: Any) -> Tensor:
    ref = next(g for g in grads if g is not None)._data
    return _make(backend.zeros(ref, shape, dtype), False, None, 0)


def _call_tensor_hook(hook: Any, g: Tensor) -> Tensor:
    result = hook(g)
    if result is None:
        return g
    if result._data.shape != g._data.shape:
        name = getattr(hook, "__name__", repr(hook))
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    return result


def _expandable(shape: tuple[int, ...], to: tuple[int, ...]) -> bool:
    if len(shape) > len(to):
        return False
    for s, t in zip(reversed(shape), reversed(to), strict=False):
        if s != t and s != 1:
            return False
    return True


def _conform(node: Node, i: int, g: Tensor, shape: tuple[int, ...], dtype: Any) -> Tensor:
    """Sum a broadcast gradient back to its input's shape and cast it to its dtype."""
    if g._data.shape != shape:
        if not _expandable(shape, g._data.shape):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"{list(g._data.shape)} but expected shape compatible with {list(shape)}"
            )
        if g._requires_grad or _grad_enabled[0]:
            from gradviz.engine import ops  # noqa: PLC0415

            g = ops.sum_to_size(g, shape)
        else:  # a plain backward: one reduction on the array, no op
            g = _make(backend.sum_to_shape(g._data, shape), False, None, 0)
    if g._data.dtype != dtype:
        g = (
            g.to(function_dtype(dtype))
            if g._requires_grad
            else _make(_astype(g._data, dtype), False, None, 0)
        )
    return g


def function_dtype(np_dtype: Any) -> Any:
    from gradviz.engine.dtypes import from_numpy_dtype  # noqa: PLC0415

    return from_numpy_dtype(np_dtype)


def _check_nan(node: Node, out: tuple[Any, ...]) -> None:
    for i, g in enumerate(out):
        if g is None:
            continue
        data = g._data
        if not is_floating(data.dtype):
            continue
        xp = namespace(data)
        if bool(xp.any(xp.isnan(data))):
            name = node.name()
            stack = node.metadata.get("traceback_")
            if stack:
                warnings.warn(
                    f"Error detected in {name}. Traceback of forward call that caused the error:\n"
                    + "".join(stack),
                    UserWarning,
                    stacklevel=2,
                )
            raise RuntimeError(f"Function '{name}' returned nan values in its {i}th output.")


# ------------------------------------------------------------------------ in place through views
#
# An in-place op on a view changes its root: the root's grad_fn becomes a CopySlices node
# that wraps the op's node, and the view's grad_fn an AsStridedBackward0 node on the root, as
# in PyTorch. A view remembers how it was made (``_view_fn``: parent, op, parameters,
# output index), so the engine can redo the view on a gradient (``_replay``) and undo it
# (``_embed``: the adjoint, zeros outside the view).


def _view_chain(view: Tensor) -> list[tuple[Any, dict[str, Any], int | None]]:
    """Return the view ops from the root to ``view``: ``(op, params, output index)``."""
    chain = []
    t = view
    while t._view_fn is not None:
        parent, cls, params, index = t._view_fn
        chain.append((cls, params, index))
        t = parent
    chain.reverse()
    return chain


def _replay(chain: list[tuple[Any, dict[str, Any], int | None]], x: Tensor) -> Tensor:
    """Apply the view ops of ``chain`` to ``x`` (a root-shaped tensor, e.g. a gradient)."""
    for cls, params, index in chain:
        out = cls.apply(x, **params)
        x = out[index] if index is not None else out
    return x


def _embed(
    chain: list[tuple[Any, dict[str, Any], int | None]], like: Any, shape: Any, x: Tensor
) -> Tensor:
    """Return the root-shaped tensor that is ``x`` inside the view and zero elsewhere.

    It is the adjoint of the view: each view op's backward formula, in reverse order, with
    the ``ctx`` its forward fills in (run on zeros of the root's shape). The formulas use
    Tensor ops, so the result is differentiable again.
    """
    data = backend.zeros(like, tuple(shape))
    steps = []
    for cls, params, index in chain:
        ctx = cls._node_cls.__new__(cls._node_cls)
        out = cls.forward(ctx, data, **params)
        steps.append((cls, ctx, index, out))
        data = out[index] if index is not None else out
    for cls, ctx, index, out in reversed(steps):
        if index is None:
            result = cls.backward(ctx, x)
        else:
            parts = [
                x if i == index else _make(backend.zeros(o, o.shape), False, None, 0)
                for i, o in enumerate(out)
            ]
            result = cls.backward(ctx, *parts)
        x = result[0] if isinstance(result, tuple) else result
    return x


class CopySlices(Node):
    """The root's node after an in-place op through one of its views.

    Backward: the gradient outside the view passes through unchanged; inside, it goes
    through the in-place op's own backward (``fn``), whose other inputs get their gradients.

    Attributes:
        fn: the node of the in-place op applied to the view (None when it recorded none).
    """

    def __init__(self, fn: Node | None, chain: Any, root: Tensor) -> None:
        self.fn = fn
        self._chain = chain
        self._like = root._data
        self._root_shape = tuple(root._data.shape)

    def _apply_backward(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        g = grads[0]
        g_view = _replay(self._chain, g)
        if self.fn is None:
            inside: Any = None
            rest: tuple[Any, ...] = ()
        else:
            out = check_outputs(self.fn, self.fn._apply_backward((g_view,)))  # type: ignore[attr-defined]
            inside, rest = out[0], tuple(out[1:])
        delta = -g_view if inside is None else inside - g_view
        return (g + _embed(self._chain, self._like, self._root_shape, delta), *rest)

    def _release(self) -> None:
        if self.fn is not None:
            self.fn._release()


class AsStridedBackward0(Node):
    """A view's node after its root changed in place: the gradient goes back into the root."""

    def __init__(self, chain: Any, root: Tensor) -> None:
        self._chain = chain
        self._like = root._data
        self._root_shape = tuple(root._data.shape)

    def _apply_backward(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        return (_embed(self._chain, self._like, self._root_shape, grads[0]),)


def _root_edge(root: Tensor) -> tuple[tuple[Any, int], Any]:
    if not root._requires_grad:
        return (None, 0), None
    fn = root._grad_fn
    edge = (fn, root._output_nr) if fn is not None else (root._grad_accumulator(), 0)
    return edge, (root._data.shape, root._data.dtype)


def rebase_history(view: Tensor, fn: Node | None) -> None:
    """Record that an in-place op (node ``fn``) wrote through ``view`` into its root.

    The root's grad_fn becomes ``CopySlices`` (wrapping ``fn``), and the view's an
    ``AsStridedBackward0`` on it.
    """
    root = view._base
    assert root is not None  # only called for views
    chain = _view_chain(view)
    node = CopySlices(fn, chain, root)
    edge, meta = _root_edge(root)
    edges = (edge, *(fn.next_functions[1:] if fn is not None else ()))
    metas = (meta, *(fn._in_meta[1:] if fn is not None else ()))
    function._connect(node, (root,), (root,), (edges, metas))
    root._grad_fn = node
    root._output_nr = 0
    root._requires_grad = True
    refresh_view(view)


def refresh_view(view: Tensor) -> None:
    """Give ``view`` a grad_fn on its root's current graph (after the root changed in place)."""
    root = view._base
    assert root is not None  # only called for views
    view._view_epoch = root._grad_fn
    if not root._requires_grad:
        return
    node = AsStridedBackward0(_view_chain(view), root)
    edge, meta = _root_edge(root)
    function._connect(node, (root,), (view,), ((edge,), (meta,)))
    view._grad_fn = node
    view._output_nr = 0
    view._requires_grad = True
