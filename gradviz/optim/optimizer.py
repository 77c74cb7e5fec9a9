"""The ``Optimizer`` base class: parameter groups, per-parameter state, hooks, state dicts.

Subclasses implement ``step``. Updates run outside the graph: they compute on the
arrays of the parameters and their gradients and write the results back into the
existing storage with :func:`_write`, which bumps the tensor's version counter as an
in-place op would (so a graph that saved a parameter notices it changed). The update
formulas follow PyTorch 2.13's single-tensor (``foreach=False``) implementations.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

from gradviz.engine import backend
from gradviz.engine.creation import tensor as _tensor
from gradviz.engine.dtypes import float32, float64, get_default_dtype
from gradviz.engine.events import Handle
from gradviz.engine.grad_mode import enable_grad, no_grad
from gradviz.engine.tensor import Tensor, _make

__all__ = ["Optimizer", "required"]

_hook_ids = itertools.count()


class _RequiredParameter:
    """Marks a hyperparameter that every parameter group must give (PyTorch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _write(t: Tensor, value: Any) -> Tensor:
    """Write the array ``value`` into ``t``'s storage in place and bump its version counter."""
    data = t._data
    if value.dtype != data.dtype:
        value = backend.namespace(data).astype(value, data.dtype)
    data[...] = value
    counter = t._version_counter
    if counter is None:
        counter = t._version_counter = [0]
    counter[0] += 1
    return t


def _state_like(p: Tensor, fill: float = 0.0) -> Tensor:
    """Return a new state tensor shaped, typed and placed like parameter ``p``."""
    xp = backend.namespace(p._data)
    data = xp.zeros_like(p._data) if fill == 0 else xp.full_like(p._data, fill)
    return _make(data, False, None, 0)


def _step_tensor() -> Tensor:
    """Return a new 0-d step counter on the CPU, float64 if that is the default dtype."""
    return _tensor(0.0, dtype=float64 if get_default_dtype() is float64 else float32)


def _tick(state: dict[str, Any]) -> float:
    """Add one to the state's step counter (a 0-d tensor) and return the new count."""
    step_t = state["step"]
    _write(step_t, step_t._data + 1)
    return float(step_t.item())


def _lerp(start: Any, end: Any, weight: float) -> Any:
    """``start + weight * (end - start)``, evaluated as PyTorch's CPU ``lerp`` kernel does."""
    diff = end - start
    return start + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight)


def _weight_decay(p: Tensor, g: Any, lr: float, wd: float, decoupled: bool) -> Any:
    """Apply weight decay ``wd``; return the gradient array to use from here on.

    Decoupled (AdamW's): the parameter shrinks in place, ``p *= 1 - lr * wd``, and ``g`` is
    returned as it is. Otherwise (an L2 penalty) ``g + wd * p`` is returned.
    """
    if wd != 0:
        if decoupled:
            _write(p, p._data * (1 - lr * wd))
        else:
            g = g + wd * p._data
    return g


def _scalar(value: Any) -> float:
    """Return a hyperparameter (a number or a one-element tensor) as a Python float."""
    return float(value.item()) if isinstance(value, Tensor) else value


def _check_lr(lr: Any) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_eps_betas_decay(
    eps: float, betas: tuple[float, float] | None, weight_decay: float
) -> None:
    """Raise PyTorch's errors for an invalid epsilon, beta (None: none) or weight decay."""
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if betas is not None:
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _refuse(name: str, value: Any) -> None:
    if value:
        raise NotImplementedError(
            f"{name}=True is not supported: gradviz optimizers have one implementation, which "
            f"updates parameters outside the graph. Use {name}=False (or leave it unset)."
        )


class Optimizer:
    """Base class of the optimizers, with PyTorch's interface.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts that
            define parameter groups (``{"params": [...], "lr": ...}``).
        defaults: the default hyperparameters of every group.

    Raises:
        TypeError: ``params`` is a single tensor, or holds something that is not one.
        ValueError: ``params`` is empty, holds a non-leaf tensor, or a parameter appears
            in two groups.

    Attributes:
        param_groups: the groups: dicts holding ``params`` and their hyperparameters.
        state: per-parameter state (``momentum_buffer``, ``exp_avg``, ...), keyed by tensor.
        defaults: the default hyperparameters.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_gradviz_step", False):
            cls.step = _hooked_step(step)  # type: ignore[method-assign]

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + params.type()
            )
        self.state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_optimizer_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_optimizer_step_post_hooks", OrderedDict())

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group, filling unset hyperparameters from ``defaults``.

        Raises:
            TypeError: ``param_group`` is not a dict, its params are a set, or one is not
                a tensor.
            ValueError: a non-leaf tensor, a missing required hyperparameter, names given
                for only some parameters, or a parameter already in another group.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for p in param_group["params"]:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + _typename(p)
                )
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                UserWarning,
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {which} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                _write(grad, backend.namespace(grad._data).zeros_like(grad._data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters once (subclasses implement this).

        Raises:
            NotImplementedError: always, on the base class.
        """
        raise NotImplementedError

    def _closure_loss(self, closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> Handle:
        """Call ``hook(optimizer, args, kwargs)`` before each step; it may return new ones.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        key = next(_hook_ids)
        self._optimizer_step_pre_hooks[key] = hook
        return Handle(self._optimizer_step_pre_hooks, key)

    def register_step_post_hook(self, hook: Callable[..., Any]) -> Handle:
        """Call ``hook(optimizer, args, kwargs)`` after each step.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        key = next(_hook_ids)
        self._optimizer_step_post_hooks[key] = hook
        return Handle(self._optimizer_step_post_hooks, key)

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """Return ``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are replaced by their position across the groups, as in PyTorch; the
        state tensors are returned as they are (not copied).
        """
        mapping: dict[int, int] = {}
        start = 0

        def pack(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict made by :meth:`state_dict` of an optimizer with the same groups.

        Floating state tensors are converted to their parameter's dtype and device (the
        ``step`` counters are kept as they are).

        Raises:
            ValueError: the number of groups, or of parameters in a group, differs.
        """
        state_dict = state_dict.copy()
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(
            len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups, strict=True)
        ):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = dict(
            zip(
                itertools.chain.from_iterable(g["params"] for g in saved_groups),
                itertools.chain.from_iterable(g["params"] for g in groups),
                strict=False,
            )
        )

        def cast(param: Tensor, value: Any, key: Any = None) -> Any:
            if isinstance(value, Tensor):
                if key == "step":
                    return value
                if param.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device)
                return value.to(device=param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, key=k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups, strict=True):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})


def _typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", "__builtin__") else f"{module}.{name}"


def _hooked_step(step: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a subclass's ``step``: run the step hooks around it, with grad mode off."""

    @functools.wraps(step)
    def wrapper(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        for hook in tuple(self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{hook} must return None or a tuple of (new_args, new_kwargs), but got "
                        f"{result}."
                    )
                args, kwargs = result
        with no_grad():
            out = step(self, *args, **kwargs)
        for hook in tuple(self._optimizer_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._gradviz_step = True  # type: ignore[attr-defined]
    return wrapper


def _params_with_grad(group: dict[str, Any]) -> Iterable[tuple[Tensor, Any]]:
    """Yield ``(param, grad_array)`` for the parameters of a group that have a gradient."""
    for p in group["params"]:
        grad = p._grad
        if grad is not None:
            yield p, grad._data
