"""``Module``: the base class of every layer and model, as in PyTorch.

A module keeps its parameters, buffers and submodules in three insertion-ordered dicts
(``_parameters``, ``_buffers``, ``_modules``); ``__setattr__`` files a ``Parameter`` or a
``Module`` assigned to an attribute into the right one. Calling a module runs the forward
pre-hooks, ``forward``, the forward hooks, and arranges the backward hooks, in PyTorch's
order.

Module paths and parameter names (what graphs show):

* A call is *outermost* when no module call is in progress. The module called that way
  is the *root*; its path is ``""``. Every module called while the root's forward runs
  gets its dotted name in ``root.named_modules()`` (``"0"``, ``"encoder.layers.1"``; a
  module registered under two names gets the first). A module that is not a registered
  descendant of the root (created inside ``forward``, or kept in a plain list) gets the
  path of the module that called it.
* ``__call__`` runs ``forward`` inside ``gradviz.engine.events.module_scope(path)``, so
  every graph node created during the call has ``node.module == path``.
* At the outermost call, every parameter of the root gets ``param.name`` set to its
  dotted name in ``root.named_parameters()`` (``"0.weight"``, ``"fc1.bias"``). A name the
  user gave a parameter is kept. Calling a submodule on its own makes it the root, so its
  parameters are then named relative to it (``"weight"``), until the whole model is called
  again.

The paths and names are computed once per root and reused until the module tree changes
through the Module API (registering or deleting parameters, buffers or submodules), so a
call without hooks costs little more than ``forward`` itself. Changes made by writing into
``_modules``/``_parameters`` directly are not noticed until the next change through the API.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from gradviz.engine import backend
from gradviz.engine import dtypes as _dt
from gradviz.engine.events import module_scope
from gradviz.engine.grad_mode import no_grad
from gradviz.engine.tensor import Tensor
from gradviz.nn.modules._hooks import BackwardHook, RemovableHandle, add_hook
from gradviz.nn.parameter import Parameter

__all__ = [
    "Module",
    "register_module_forward_pre_hook",
    "register_module_forward_hook",
]

_global_forward_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_forward_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_forward_hooks_always_called: OrderedDict[int, bool] = OrderedDict()

# Bumped by every change of a module tree made through the Module API; the cached paths
# and parameter names of a root are valid while it is unchanged.
_structure_version = [0]
# The path table of the root whose forward is running (None between outermost calls).
_active_paths: list[dict[int, str] | None] = [None]
# (root id, structure version) of the last root whose parameters were named.
_last_named: list[Any] = [None, -1]


def _bump() -> None:
    _structure_version[0] += 1


def _typename(obj: Any) -> str:
    """Return PyTorch's ``torch.typename(obj)``."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    if module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


def _size(shape: tuple[int, ...]) -> str:
    # NOTE: PyTorch's messages print shapes as torch.Size([...]); gradviz repeats them
    # verbatim (as the engine's autograd messages do), so code matching them keeps working.
    return f"torch.Size({list(shape)})"


def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


def register_module_forward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register a forward pre-hook run for every module, before the module's own ones.

    Args:
        hook: ``hook(module, args)``; it may return new args (a bare value is wrapped in
            a 1-tuple).

    Returns:
        A handle whose ``remove()`` unregisters the hook.
    """
    return add_hook(_global_forward_pre_hooks, hook, False)


def register_module_forward_hook(
    hook: Callable[..., Any], *, always_call: bool = False
) -> RemovableHandle:
    """Register a forward hook run for every module, before the module's own ones.

    Args:
        hook: ``hook(module, args, output)``; it may return a replacement output.
        always_call: run the hook even when ``forward`` raises.

    Returns:
        A handle whose ``remove()`` unregisters the hook.
    """
    handle = add_hook(_global_forward_hooks, hook, False, extra=_global_forward_hooks_always_called)
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the keys it did not expect."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _WrappedHook:
    """A legacy backward hook bound to its module: ``hook(module, grad_input, grad_output)``."""

    def __init__(self, hook: Callable[..., Any], module: Module) -> None:
        self.hook = hook
        self.module = module
        functools.update_wrapper(self, hook)

    def __call__(self, *args: Any) -> Any:
        return self.hook(self.module, *args)


class Module:
    """Base class for all neural network modules; subclass it and define ``forward``.

    Assign parameters (``Parameter``), buffers (``register_buffer``) and submodules as
    attributes in ``__init__`` after calling ``super().__init__()``; they are then found
    by ``parameters()``, ``state_dict()``, ``to()`` and friends.

    Attributes:
        training: whether the module is in training mode (see ``train()``/``eval()``).

    Example:
        >>> import gradviz
        >>> class MyModel(gradviz.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.my_tensor = gradviz.randn(1)          # a plain attribute
        ...         self.register_buffer("my_buffer", gradviz.randn(1))
        ...         self.my_param = gradviz.nn.Parameter(gradviz.randn(1))
        ...     def forward(self, x):
        ...         return x
        >>> list(MyModel().state_dict())
        ['my_param', 'my_buffer']
    """

    _version: int = 1
    training: bool
    dump_patches: bool = False
    call_super_init: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(kwargs))}'"
            )
        if args:
            raise TypeError(
                f"{type(self).__name__}.__init__() takes 1 positional argument but "
                f"{len(args) + 1} were given"
            )
        # NOTE: object.__setattr__ bypasses Module.__setattr__ (and its registration logic).
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_backward_pre_hooks", OrderedDict())
        setattr_(self, "_backward_hooks", OrderedDict())
        setattr_(self, "_is_full_backward_hook", None)
        setattr_(self, "_forward_hooks", OrderedDict())
        setattr_(self, "_forward_hooks_with_kwargs", OrderedDict())
        setattr_(self, "_forward_hooks_always_called", OrderedDict())
        setattr_(self, "_forward_pre_hooks", OrderedDict())
        setattr_(self, "_forward_pre_hooks_with_kwargs", OrderedDict())
        setattr_(self, "_modules", {})
        setattr_(self, "_paths_cache", None)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output (every subclass defines this).

        Raises:
            NotImplementedError: the subclass did not define ``forward``.
        """
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # ------------------------------------------------------------------ registration
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state that is not trained, saved in ``state_dict`` when persistent.

        Args:
            name: the attribute name of the buffer.
            tensor: the buffer, or None (then it is left out of ``state_dict``).
            persistent: whether ``state_dict`` includes the buffer.

        Raises:
            AttributeError: called before ``Module.__init__()``.
            TypeError: ``name`` is not a string, or ``tensor`` is not a Tensor or None.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        _bump()

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter under ``name``.

        Args:
            name: the attribute name of the parameter.
            param: the Parameter, or None (then it is skipped by ``parameters()``).

        Raises:
            AttributeError: called before ``Module.__init__()``.
            TypeError: ``name`` is not a string, or ``param`` is not a Parameter or None.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
            ValueError: ``param`` is not a leaf.
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError('parameter name can\'t contain "."')
        if name == "":
            raise KeyError('parameter name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        elif param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                f"be created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        else:
            self._parameters[name] = param
        _bump()

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (also reachable as an attribute).

        Args:
            name: the attribute name of the child.
            module: the child module, or None.

        Raises:
            TypeError: ``module`` is not a Module, or ``name`` is not a string.
            KeyError: ``name`` is empty, contains ".", or is already another attribute.
        """
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module
        _bump()

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias of :meth:`add_module`."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """Return the submodule at dotted path ``target`` (``""`` is the module itself).

        Raises:
            AttributeError: a step of the path does not exist or is not a Module.
        """
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """Return the parameter at dotted path ``target`` (``"0.weight"``).

        Raises:
            AttributeError: the path does not exist or does not name a Parameter.
        """
        module_path, _, param_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, param_name):
            raise AttributeError(mod._get_name() + " has no attribute `" + param_name + "`")
        param = getattr(mod, param_name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + param_name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """Return the buffer at dotted path ``target`` (``"bn.running_mean"``).

        Raises:
            AttributeError: the path does not exist or does not name a buffer.
        """
        module_path, _, buffer_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, buffer_name):
            raise AttributeError(mod._get_name() + " has no attribute `" + buffer_name + "`")
        buffer = getattr(mod, buffer_name)
        if buffer_name not in mod._buffers:
            raise AttributeError("`" + buffer_name + "` is not a buffer")
        return buffer

    # ------------------------------------------------------------------ attributes
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d:
            params = d["_parameters"]
            if name in params:
                return params[name]
        if "_buffers" in d:
            buffers = d["_buffers"]
            if name in buffers:
                return buffers[name]
        if "_modules" in d:
            modules = d["_modules"]
            if name in modules:
                return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        def remove_from(*dicts_or_sets: Any) -> None:
            for d in dicts_or_sets:
                if name in d:
                    if isinstance(d, dict):
                        del d[name]
                    else:
                        d.discard(name)

        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(
                self.__dict__, self._buffers, self._modules, self._non_persistent_buffers_set
            )
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        else:
            modules = self.__dict__.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(
                    self.__dict__, self._parameters, self._buffers, self._non_persistent_buffers_set
                )
                modules[name] = value
                _bump()
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign '{_typename(value)}' as child module '{name}' "
                        "(torch.nn.Module or None expected)"
                    )
                modules[name] = value
                _bump()
            else:
                buffers = self.__dict__.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(
                            f"cannot assign '{_typename(value)}' as buffer '{name}' "
                            "(torch.nn.Buffer, torch.Tensor or None expected)"
                        )
                    self.register_buffer(name, value, name not in self._non_persistent_buffers_set)
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
            _bump()
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
            _bump()
        elif name in self._modules:
            del self._modules[name]
            _bump()
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = (
            dir(self.__class__)
            + list(self.__dict__)
            + list(self._parameters)
            + list(self._modules)
            + list(self._buffers)
        )
        return sorted(key for key in keys if not key[0].isdigit())

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # ------------------------------------------------------------------ iteration
    def _named_members(
        self,
        get_members_fn: Callable[[Module], Any],
        prefix: str = "",
        recurse: bool = True,
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Any]]:
        memo: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for k, v in get_members_fn(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield module_prefix + ("." if module_prefix else "") + k, v

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield the module's parameters (each once), in registration order.

        Args:
            recurse: include the parameters of all submodules.
        """
        for _name, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted name, parameter)`` pairs: own parameters first, then each child's.

        Args:
            prefix: prepended to every name.
            recurse: include the parameters of all submodules.
            remove_duplicate: yield a shared parameter only under its first name.
        """
        yield from self._named_members(
            lambda module: module._parameters.items(),
            prefix=prefix,
            recurse=recurse,
            remove_duplicate=remove_duplicate,
        )

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Yield the module's buffers (persistent or not), in registration order.

        Args:
            recurse: include the buffers of all submodules.
        """
        for _name, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted name, buffer)`` pairs.

        Args:
            prefix: prepended to every name.
            recurse: include the buffers of all submodules.
            remove_duplicate: yield a shared buffer only under its first name.
        """
        yield from self._named_members(
            lambda module: module._buffers.items(),
            prefix=prefix,
            recurse=recurse,
            remove_duplicate=remove_duplicate,
        )

    def children(self) -> Iterator[Module]:
        """Yield the immediate child modules (each once)."""
        for _name, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, child)`` for the immediate child modules (each once)."""
        memo: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """Yield this module and all its descendants, depth first.

        Args:
            remove_duplicate: yield a module reachable by two paths only once.
        """
        for _name, module in self.named_modules(remove_duplicate=remove_duplicate):
            yield module

    def named_modules(
        self,
        memo: set[Module] | None = None,
        prefix: str = "",
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted name, module)`` for this module (name ``prefix``) and its descendants.

        Args:
            memo: modules already yielded (used by the recursion).
            prefix: the name of this module.
            remove_duplicate: yield a module reachable by two paths only once.

        Example:
            >>> import gradviz.nn as nn
            >>> net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
            >>> [name for name, _ in net.named_modules()]
            ['', '0', '1', '1.0']
        """
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            submodule_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, submodule_prefix, remove_duplicate)

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and its children.

        Raises:
            ValueError: ``mode`` is not a bool.
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (same as ``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter, in place; return the module."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: set ``.grad`` to None (the default) instead of filling it with zeros.
        """
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module.

        Returns:
            The module itself.
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ conversion
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
        if recurse:
            for module in self.children():
                module._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            with no_grad():
                applied = fn(param)
            # Parameter identity is kept (optimizers hold references): only the data changes.
            param.data = applied
            grad = param._grad
            if grad is not None:
                with no_grad():
                    grad_applied = fn(grad)
                param._grad = grad_applied if grad_applied is not grad else grad
            self._parameters[key] = param
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        _bump()
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move and/or cast the parameters and buffers, in place; return the module.

        Accepts ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` and the
        keywords ``device=``, ``dtype=``. A dtype applies to floating-point tensors only.
        Parameters stay the same objects (an optimizer built before the move still holds
        them); their data and gradients move, and buffers are replaced by moved copies.

        Raises:
            TypeError: the dtype is not a floating-point dtype.
            RuntimeError: the device string is not a device.
            DeviceError: the device cannot be used here (no CuPy or no GPU for ``cuda``);
                nothing has been moved then.
        """
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        for a in args:
            if isinstance(a, _dt.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (str, backend.Device)) or (
                isinstance(a, int) and not isinstance(a, bool)
            ):
                device = a  # an int is a GPU ordinal, as in PyTorch
        if dtype is not None:
            dtype = _dt.to_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError(
                    "nn.Module.to only accepts floating point or complex dtypes, but got "
                    f"desired dtype={dtype}"
                )
        dev = backend.device(device) if device is not None else None
        if dev is not None:
            dev.xp  # noqa: B018 - raises here, before any tensor moved, when dev is unusable

        def convert(t: Tensor) -> Tensor:
            out = t
            if dev is not None:
                out = out.to(dev)
            if dtype is not None and out.is_floating_point():
                out = out.to(dtype)
            return out

        return self._apply(convert)

    def cuda(self, device: Any = None) -> Module:
        """Move all parameters and buffers to a CUDA device (``cuda:0`` by default).

        Args:
            device: an ordinal, ``"cuda:N"`` or a Device.

        Returns:
            The module itself.

        Raises:
            DeviceError: CUDA cannot be used here (the message says why and how to fix it).
        """
        return self.to(backend.device("cuda" if device is None else device))

    def cpu(self) -> Module:
        """Move all parameters and buffers to the CPU.

        Returns:
            The module itself.
        """
        return self.to(backend.cpu)

    def type(self, dst_type: Any) -> Module:
        """Cast all parameters and buffers to ``dst_type``."""
        return self._apply(lambda t: t.type(dst_type))

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64."""
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16."""
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    # ------------------------------------------------------------------ state_dict
    def _save_to_state_dict(
        self, destination: dict[str, Any], prefix: str, keep_vars: bool
    ) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()

    def state_dict(
        self,
        *args: Any,
        destination: Any = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> Any:
        """Return the module's state: parameters and persistent buffers by dotted name.

        The order is, for each module recursively: its own parameters, its own persistent
        buffers, then each child's state under the prefix ``"<child>."``. Values are
        detached tensors sharing data with the module's (the Parameters themselves with
        ``keep_vars=True``). None entries and non-persistent buffers are left out.

        Args:
            *args: deprecated positional ``destination``, ``prefix``, ``keep_vars``.
            destination: a dict to fill and return (default: a new ``OrderedDict``).
            prefix: prepended to every key.
            keep_vars: return the Parameters and buffers themselves instead of detaching.

        Returns:
            An ``OrderedDict`` with a ``_metadata`` attribute (each module's ``version``).
        """
        if args:
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead. Refer to "
                "https://pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.state_dict for details.",
                FutureWarning,
                stacklevel=2,
            )
            if destination is None and len(args) > 0:
                destination = args[0]
            if prefix == "" and len(args) > 1:
                prefix = args[1]
            if keep_vars is False and len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = {"version": self._version}
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars
                )
        return destination

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        persistent_buffers = {
            k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set
        }
        local_state = {
            k: v
            for k, v in itertools.chain(self._parameters.items(), persistent_buffers.items())
            if v is not None
        }
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            input_param = state_dict[key]
            if not isinstance(input_param, Tensor):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(input_param)}"
                )
                continue
            if param.ndim == 0 and input_param.ndim == 1 and input_param.shape[0] == 1:
                input_param = input_param[0]
            if tuple(input_param.shape) != tuple(param.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{_size(input_param.shape)} from checkpoint, the shape in current model "
                    f"is {_size(param.shape)}."
                )
                continue
            try:
                with no_grad():
                    if assign:
                        if isinstance(param, Parameter):
                            if not isinstance(input_param, Parameter):
                                input_param = Parameter(
                                    input_param, requires_grad=param.requires_grad
                                )
                            else:
                                input_param.requires_grad_(param.requires_grad)
                        setattr(self, name, input_param)
                    else:
                        src = input_param
                        if src.device != param.device:
                            src = src.to(param.device)
                        param.copy_(src)
            except Exception as ex:  # noqa: BLE001 - PyTorch collects any failure as a message
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the '
                    f"model are {_size(param.shape)} and whose dimensions in the checkpoint "
                    f"are {_size(input_param.shape)}, an exception occurred : {ex.args}."
                )
        if strict:
            for key in state_dict:
                if key.startswith(prefix):
                    input_name = key[len(prefix) :].split(".", 1)
                    if len(input_name) > 1:
                        if input_name[0] not in self._modules:
                            unexpected_keys.append(key)
                    elif input_name[0] not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module, in place.

        Every problem is collected first, then reported in one error, worded as PyTorch's.
        Size mismatches raise even with ``strict=False``.

        Args:
            state_dict: a mapping from dotted names to tensors (from ``state_dict()``).
            strict: require the keys to match this module's ``state_dict()`` keys exactly.
            assign: replace the module's tensors by those of ``state_dict`` instead of
                copying into them.

        Returns:
            ``_IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
            TypeError: ``state_dict`` is not a mapping.
            RuntimeError: keys are missing or unexpected (``strict=True``), or shapes differ.

        Example:
            >>> import gradviz.nn as nn
            >>> m = nn.Linear(2, 2)
            >>> m.load_state_dict(m.state_dict())
            <All keys matched successfully>
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys: list[str] = []
        unexpected_keys: list[str] = []
        error_msgs: list[str] = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)

        def load(module: Module, local_state_dict: dict[str, Any], prefix: str = "") -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(
                local_state_dict,
                prefix,
                local_metadata,
                True,
                missing_keys,
                unexpected_keys,
                error_msgs,
            )
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_state_dict = {
                        k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)
                    }
                    load(child, child_state_dict, child_prefix)

        load(self, state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(
                    0,
                    "Unexpected key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in unexpected_keys)
                    ),
                )
            if missing_keys:
                error_msgs.insert(
                    0,
                    "Missing key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in missing_keys)
                    ),
                )
        if error_msgs:
            raise RuntimeError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(
                    self.__class__.__name__, "\n\t".join(error_msgs)
                )
            )
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # ------------------------------------------------------------------ hooks
    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before ``forward``; it may return new args.

        A returned value that is not a tuple is wrapped in a 1-tuple. With
        ``with_kwargs=True`` the hook is ``hook(module, args, kwargs)`` and returns None or
        ``(new_args, new_kwargs)``.

        Args:
            hook: the hook.
            prepend: run it before the hooks already registered.
            with_kwargs: pass the keyword arguments too.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        handle = add_hook(
            self._forward_pre_hooks, hook, prepend, extra=self._forward_pre_hooks_with_kwargs
        )
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after ``forward``; it may return a new output.

        The hook sees the output of ``forward`` before any backward-hook wrapping. With
        ``with_kwargs=True`` it is ``hook(module, args, kwargs, output)``.

        Args:
            hook: the hook.
            prepend: run it before the hooks already registered.
            with_kwargs: pass the keyword arguments too.
            always_call: run it even when ``forward`` raises.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        handle = add_hook(
            self._forward_hooks,
            hook,
            prepend,
            extra=[self._forward_hooks_with_kwargs, self._forward_hooks_always_called],
        )
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of the outputs are known.

        It may return a tuple of replacement output gradients. Registering it wraps the
        module's inputs and outputs in ``BackwardHookFunctionBackward`` nodes.

        Args:
            hook: the hook.
            prepend: run it before the hooks already registered.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the input gradients are known.

        ``grad_input`` has one entry per positional argument of the call: None for a
        non-tensor, zeros for a tensor that got no gradient. The hook may return a tuple of
        replacement input gradients. Registering it wraps the module's inputs and outputs
        in ``BackwardHookFunctionBackward`` nodes.

        Args:
            hook: the hook.
            prepend: run it before the hooks already registered.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Raises:
            RuntimeError: a legacy ``register_backward_hook`` hook is already registered.
        """
        if self._is_full_backward_hook is False:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single "
                "Module. Please use only one of them."
            )
        object.__setattr__(self, "_is_full_backward_hook", True)
        return add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Deprecated: register a hook on the ``grad_fn`` of the module's first output.

        The hook is ``hook(module, grad_input, grad_output)`` with the gradients of that one
        node, which are the module's only when ``forward`` is a single op. Calling the module
        warns (``FutureWarning``) where PyTorch does. Use ``register_full_backward_hook``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Raises:
            RuntimeError: a full backward hook is already registered.
        """
        if self._is_full_backward_hook is True:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single "
                "Module. Please use only one of them."
            )
        object.__setattr__(self, "_is_full_backward_hook", False)
        return add_hook(self._backward_hooks, hook, False)

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` with the hooks, inside the module's scope (see the module docstring).

        Without hooks this is ``forward`` plus a path lookup and a scope push: the fast path.
        """
        paths = _active_paths[0]
        if paths is None:
            return self._call_outermost(args, kwargs)
        path = paths.get(id(self))
        if path is None:
            from gradviz.engine.events import current_module  # noqa: PLC0415 - rare path

            path = current_module() or ""
        d = self.__dict__
        with module_scope(path):
            if not (
                d["_forward_pre_hooks"]
                or d["_forward_hooks"]
                or d["_backward_hooks"]
                or d["_backward_pre_hooks"]
                or _global_forward_pre_hooks
                or _global_forward_hooks
            ):
                return self.forward(*args, **kwargs)
            return self._call_impl(args, kwargs)

    def _call_outermost(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        paths = self._module_paths()
        version = _structure_version[0]
        if (_last_named[0] != id(self) or _last_named[1] != version) and self._name_parameters():
            # (a tree without parameters, a loss module, names nothing and leaves this be)
            _last_named[0] = id(self)
            _last_named[1] = version
        _active_paths[0] = paths
        try:
            d = self.__dict__
            with module_scope(""):
                if not (
                    d["_forward_pre_hooks"]
                    or d["_forward_hooks"]
                    or d["_backward_hooks"]
                    or d["_backward_pre_hooks"]
                    or _global_forward_pre_hooks
                    or _global_forward_hooks
                ):
                    return self.forward(*args, **kwargs)
                return self._call_impl(args, kwargs)
        finally:
            _active_paths[0] = None

    def _module_paths(self) -> dict[int, str]:
        """Return {id(module): dotted path} for this module's tree (cached per tree version)."""
        cache = self.__dict__.get("_paths_cache")
        version = _structure_version[0]
        # NOTE: the owner's id is part of the key: a deep copy carries the cache of the
        # original, whose module ids are not the copy's.
        if cache is not None and cache[0] == version and cache[1] == id(self):
            return cache[2]
        paths = {id(m): name for name, m in self.named_modules()}
        object.__setattr__(self, "_paths_cache", (version, id(self), paths))
        return paths

    def _name_parameters(self) -> bool:
        """Name the tree's parameters by their dotted paths; return whether there were any."""
        param: Any  # NOTE: Any, because Tensor's ``name`` slot has no annotation for mypy
        named = False
        for name, param in self.named_parameters():
            named = True
            auto = param.__dict__.get("_auto_name")
            if param.name is None or param.name == auto:
                param.name = name
                param.__dict__["_auto_name"] = name
        return named

    def _call_impl(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        called_always: set[int] = set()
        result: Any = None
        try:
            full_backward_hooks: list[Callable[..., Any]] = []
            non_full_backward_hooks: list[Callable[..., Any]] = []
            backward_pre_hooks = list(self._backward_pre_hooks.values())
            if self._backward_hooks:
                if self._is_full_backward_hook:
                    full_backward_hooks = list(self._backward_hooks.values())
                else:
                    non_full_backward_hooks = list(self._backward_hooks.values())

            for hook_id, hook in (
                *_global_forward_pre_hooks.items(),
                *self._forward_pre_hooks.items(),
            ):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    args_kwargs_result = hook(self, args, kwargs)
                    if args_kwargs_result is not None:
                        if isinstance(args_kwargs_result, tuple) and len(args_kwargs_result) == 2:
                            args, kwargs = args_kwargs_result
                        else:
                            raise RuntimeError(
                                "forward pre-hook must return None or a tuple of "
                                f"(new_args, new_kwargs), but got {args_kwargs_result}."
                            )
                else:
                    args_result = hook(self, args)
                    if args_result is not None:
                        if not isinstance(args_result, tuple):
                            args_result = (args_result,)
                        args = args_result

            bw_hook = None
            if full_backward_hooks or backward_pre_hooks:
                bw_hook = BackwardHook(self, full_backward_hooks, backward_pre_hooks)
                args = bw_hook.setup_input_hook(args)

            result = self.forward(*args, **kwargs)

            for hook_id, hook in (
                *_global_forward_hooks.items(),
                *self._forward_hooks.items(),
            ):
                if (
                    hook_id in self._forward_hooks_always_called
                    or hook_id in _global_forward_hooks_always_called
                ):
                    called_always.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs:
                    hook_result = hook(self, args, kwargs, result)
                else:
                    hook_result = hook(self, args, result)
                if hook_result is not None:
                    result = hook_result

            if bw_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn(
                        "For backward hooks to be called, module output should be a Tensor or "
                        f"a tuple of Tensors but received {type(result)}",
                        stacklevel=3,
                    )
                result = bw_hook.setup_output_hook(result)

            if non_full_backward_hooks:
                var = result
                while not isinstance(var, Tensor):
                    if isinstance(var, dict):
                        var = next(v for v in var.values() if isinstance(v, Tensor))
                    else:
                        var = var[0]
                grad_fn = var.grad_fn
                if grad_fn is not None:
                    for hook in non_full_backward_hooks:
                        grad_fn.register_hook(_WrappedHook(hook, self))
                    self._maybe_warn_non_full_backward_hook(args, result, grad_fn)
            return result
        except Exception:
            self._run_always_called_hooks(args, kwargs, result, called_always)
            raise

    def _run_always_called_hooks(
        self, args: Any, kwargs: dict[str, Any], result: Any, called: set[int]
    ) -> None:
        for hook_id, hook in _global_forward_hooks.items():
            if hook_id in _global_forward_hooks_always_called and hook_id not in called:
                try:
                    hook_result = hook(self, args, result)
                    if hook_result is not None:
                        result = hook_result
                except Exception as e:  # noqa: BLE001 - PyTorch silences it with a warning
                    warnings.warn(
                        "global module forward hook with ``always_call=True`` raised an "
                        f"exception that was silenced as another error was raised in forward: "
                        f"{e}",
                        stacklevel=3,
                    )
        for hook_id, hook in self._forward_hooks.items():
            if hook_id in self._forward_hooks_always_called and hook_id not in called:
                try:
                    if hook_id in self._forward_hooks_with_kwargs:
                        hook_result = hook(self, args, kwargs, result)
                    else:
                        hook_result = hook(self, args, result)
                    if hook_result is not None:
                        result = hook_result
                except Exception as e:  # noqa: BLE001 - PyTorch silences it with a warning
                    warnings.warn(
                        "module forward hook with ``always_call=True`` raised an exception "
                        f"that was silenced as another error was raised in forward: {e}",
                        stacklevel=3,
                    )

    def _maybe_warn_non_full_backward_hook(self, inputs: Any, result: Any, grad_fn: Any) -> None:
        if not isinstance(result, Tensor):
            if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
                warnings.warn(
                    "Using non-full backward hooks on a Module that does not return a single "
                    "Tensor or a tuple of Tensors is deprecated and will be removed in future "
                    "versions. This hook will be missing some of the grad_output. Please use "
                    "register_full_backward_hook to get the documented behavior.",
                    FutureWarning,
                    stacklevel=4,
                )
                return
        else:
            result = (result,)
        if not isinstance(inputs, Tensor):
            if not (isinstance(inputs, tuple) and all(isinstance(i, Tensor) for i in inputs)):
                warnings.warn(
                    "Using non-full backward hooks on a Module that does not take as input a "
                    "single Tensor or a tuple of Tensors is deprecated and will be removed in "
                    "future versions. This hook will be missing some of the grad_input. Please "
                    "use register_full_backward_hook to get the documented behavior.",
                    FutureWarning,
                    stacklevel=4,
                )
                return
        else:
            inputs = (inputs,)
        out_grad_fn = {id(r.grad_fn) for r in result if r.grad_fn is not None}
        if not out_grad_fn or (len(out_grad_fn) == 1 and id(grad_fn) not in out_grad_fn):
            warnings.warn(
                "Using a non-full backward hook when outputs are nested in python data "
                "structure is deprecated and will be removed in future versions. This hook "
                "will be missing some grad_output.",
                FutureWarning,
                stacklevel=4,
            )
        elif len(out_grad_fn) > 1:
            warnings.warn(
                "Using a non-full backward hook when outputs are generated by different "
                "autograd Nodes is deprecated and will be removed in future versions. This "
                "hook will be missing some grad_output. Please use "
                "register_full_backward_hook to get the documented behavior.",
                FutureWarning,
                stacklevel=4,
            )
        else:
            inputs_grad_fn = {id(i.grad_fn) for i in inputs if i.grad_fn is not None}
            next_functions = {id(n[0]) for n in grad_fn.next_functions}
            if inputs_grad_fn != next_functions:
                warnings.warn(
                    "Using a non-full backward hook when the forward contains multiple "
                    "autograd Nodes is deprecated and will be removed in future versions. "
                    "This hook will be missing some grad_input. Please use "
                    "register_full_backward_hook to get the documented behavior.",
                    FutureWarning,
                    stacklevel=4,
                )

    # ------------------------------------------------------------------ repr
    def _get_name(self) -> str:
        return self.__class__.__name__

    def extra_repr(self) -> str:
        """Return the text shown inside the parentheses of the repr (override it)."""
        return ""

    def __repr__(self) -> str:
        extra_lines: list[str] = []
        extra_repr = self.extra_repr()
        if extra_repr:
            extra_lines = extra_repr.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            mod_str = _addindent(repr(module), 2)
            child_lines.append("(" + key + "): " + mod_str)
        lines = extra_lines + child_lines
        main_str = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main_str += extra_lines[0]
            else:
                main_str += "\n  " + "\n  ".join(lines) + "\n"
        return main_str + ")"
