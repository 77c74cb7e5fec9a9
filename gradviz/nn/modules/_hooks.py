"""Hook plumbing for modules: removable handles and full backward hooks.

Full backward hooks work as in PyTorch (``torch.utils.hooks.BackwardHook``): the tensor
inputs and the tensor outputs of a module call are each passed through an identity
:class:`BackwardHookFunction`, so the graph gains ``BackwardHookFunctionBackward`` nodes.
A pre-hook on the output node sees the gradients with respect to the outputs (and calls
the module's backward pre-hooks); a post-hook on the input node sees the gradients with
respect to the inputs (and calls the module's backward hooks). Both may replace them.
"""

from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from gradviz.engine.backend import zeros as _zeros
from gradviz.engine.function import Function
from gradviz.engine.grad_mode import _grad_enabled
from gradviz.engine.tensor import Tensor, _make

__all__ = ["RemovableHandle", "BackwardHookFunction", "BackwardHook"]

_NO_INPUT_GRAD_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See "
    "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
    "#torch.nn.Module.register_full_backward_hook for more details."
)


class RemovableHandle:
    """A handle that removes a hook from the dict(s) it was registered in.

    Works as a context manager too: the hook is removed on exit.

    Args:
        hooks_dict: the dict holding the hook under this handle's ``id``.
        extra_dict: dicts that hold flags under the same id (``with_kwargs``, ...).

    Attributes:
        id: the key of the hook in ``hooks_dict``.
    """

    _ids = itertools.count()

    def __init__(
        self,
        hooks_dict: dict[int, Any],
        *,
        extra_dict: dict[int, Any] | list[dict[int, Any]] | None = None,
    ) -> None:
        self.hooks_dict = hooks_dict
        self.id = next(RemovableHandle._ids)
        if extra_dict is None:
            self.extra_dicts: list[dict[int, Any]] = []
        elif isinstance(extra_dict, list):
            self.extra_dicts = extra_dict
        else:
            self.extra_dicts = [extra_dict]

    def remove(self) -> None:
        """Remove the hook; removing twice is harmless."""
        self.hooks_dict.pop(self.id, None)
        for d in self.extra_dicts:
            d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def add_hook(
    hooks: OrderedDict[int, Any], hook: Any, prepend: bool, extra: Any = None
) -> RemovableHandle:
    """Store ``hook`` in ``hooks`` under a fresh id and return its handle."""
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class BackwardHookFunction(Function):
    """Identity on its tensor arguments; its node (``BackwardHookFunctionBackward``) carries hooks.

    d/dx_i = g_i.
    """

    @staticmethod
    def forward(ctx: Any, *args: Tensor) -> tuple[Tensor, ...]:
        """Return the arguments unchanged (outputs of non-grad inputs are non-differentiable)."""
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        return args

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor, ...]:
        """Pass every gradient through unchanged."""
        return grads


def _wrap(tensors: list[Any]) -> tuple[Any, ...]:
    """Apply BackwardHookFunction and make each output a view of its input."""
    outs = BackwardHookFunction.apply(*tensors)
    for src, out in zip(tensors, outs, strict=True):
        # NOTE: outputs of inputs that need no grad stay out of the graph, as PyTorch's
        # mark_non_differentiable does (gradviz's Function.apply re-wraps an input returned
        # as-is before it checks the non-differentiable set, so it is enforced here).
        if not src._requires_grad:
            out._requires_grad = False
            out._grad_fn = None
            out._output_nr = 0
        # The output is a view of the input (same data and version counter), so an
        # in-place change of a hooked module's input or output is refused as in PyTorch.
        if src._version_counter is None:
            src._version_counter = [0]
        out._version_counter = src._version_counter
        out._base = src._base if src._base is not None else src
    return outs


class BackwardHook:
    """The backward hooks of one module call (PyTorch's ``torch.utils.hooks.BackwardHook``).

    Args:
        module: the module being called (passed to the user hooks).
        user_hooks: full backward hooks, ``hook(module, grad_input, grad_output)``.
        user_pre_hooks: backward pre-hooks, ``hook(module, grad_output)``.
    """

    def __init__(
        self,
        module: Any,
        user_hooks: list[Callable[..., Any]],
        user_pre_hooks: list[Callable[..., Any]],
    ) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple[Any, ...] | None = None
        self.n_outputs = -1
        self.output_tensors_index: list[int] | None = None
        self.n_inputs = -1
        self.input_tensors_index: list[int] | None = None
        self.input_meta: list[Any] = []

    @staticmethod
    def _pack_with_none(indices: list[int], values: tuple[Any, ...], size: int) -> tuple[Any, ...]:
        res: list[Any] = [None] * size
        for idx, val in zip(indices, values, strict=False):
            res[idx] = val
        return tuple(res)

    @staticmethod
    def _unpack_none(indices: list[int], values: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(values[idx] for idx in indices)

    def _apply_on_tensors(
        self, fn: Callable[[Any], None], args: tuple[Any, ...]
    ) -> tuple[tuple[Any, ...], list[int] | None]:
        tensors_idx = []
        tensors = []
        requires_grad = False
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                tensors_idx.append(i)
                tensors.append(arg)
                requires_grad = requires_grad or arg._requires_grad
        if not (requires_grad and _grad_enabled[0]):
            return args, None
        new_tensors = _wrap(tensors)
        grad_fns = [t._grad_fn for t in new_tensors if t._grad_fn is not None]
        fn(grad_fns[0])
        arg_list = list(args)
        for idx, val in zip(tensors_idx, new_tensors, strict=True):
            arg_list[idx] = val
        if type(args) is tuple:
            return tuple(arg_list), tensors_idx
        return type(args)(*arg_list), tensors_idx

    # ------------------------------------------------------------------ inputs
    def setup_input_hook(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Wrap the tensor inputs; their node's post-hook calls the module's backward hooks."""

        def fn(grad_fn: Any) -> None:
            grad_fn.register_hook(self._input_hook)

        res, input_idx = self._apply_on_tensors(fn, args)
        self.n_inputs = len(args)
        self.input_tensors_index = input_idx
        if input_idx is not None:
            self.input_meta = [(args[i]._data, tuple(args[i].shape)) for i in input_idx]
        return res

    def _input_hook(self, grad_input: tuple[Any, ...], _grad_output: Any) -> Any:
        if self.grad_outputs is None:
            # The gradient reached the inputs without passing through the module's outputs
            # (double backward, for instance): nothing to report.
            return None
        assert self.input_tensors_index is not None
        grads = list(grad_input)
        for k, g in enumerate(grads):
            if g is None:
                # PyTorch hands zeros (not None) for tensor inputs that got no gradient.
                like, shape = self.input_meta[k]
                grads[k] = _make(_zeros(like, shape), False, None, 0)
        res = self._pack_with_none(self.input_tensors_index, tuple(grads), self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(
                    "Backward hook returned an invalid number of grad_input, "
                    f"got {len(out)}, but expected {len(res)}"
                )
            res = out
        self.grad_outputs = None
        return self._unpack_none(self.input_tensors_index, res)

    # ------------------------------------------------------------------ outputs
    def setup_output_hook(self, args: Any) -> Any:
        """Wrap the tensor outputs; their node's pre-hook records the output gradients."""

        def fn(grad_fn: Any) -> None:
            grad_fn.register_prehook(self._output_hook)

        is_tuple = isinstance(args, tuple)
        if not is_tuple:
            args = (args,)
        res, output_idx = self._apply_on_tensors(fn, args)
        self.n_outputs = len(args)
        self.output_tensors_index = output_idx
        return res if is_tuple else res[0]

    def _output_hook(self, grad_output: tuple[Any, ...]) -> Any:
        assert self.output_tensors_index is not None
        self.grad_outputs = self._pack_with_none(
            self.output_tensors_index, grad_output, self.n_outputs
        )
        if self.user_pre_hooks:
            expected_len = len(self.grad_outputs)
            for user_pre_hook in self.user_pre_hooks:
                hook_grad_outputs = user_pre_hook(self.module, self.grad_outputs)
                if hook_grad_outputs is None:
                    continue
                actual_len = len(hook_grad_outputs)
                if actual_len != expected_len:
                    raise RuntimeError(
                        "Backward pre hook returned an invalid number of grad_output, "
                        f"got {actual_len}, but expected {expected_len}"
                    )
                self.grad_outputs = tuple(hook_grad_outputs)
        local_grad_outputs = self.grad_outputs
        if self.input_tensors_index is None:
            # No input requires grad: the input node does not exist, so call the hooks here.
            warnings.warn(_NO_INPUT_GRAD_WARNING, UserWarning, stacklevel=2)
            grad_inputs = self._pack_with_none([], (), self.n_inputs)
            for user_hook in self.user_hooks:
                res = user_hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (
                    isinstance(res, tuple) and all(el is None for el in res)
                ):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should "
                        "always return None or None for all gradients."
                    )
            self.grad_outputs = None
        if local_grad_outputs is not None:
            return tuple(local_grad_outputs[i] for i in self.output_tensors_index)
        return None
