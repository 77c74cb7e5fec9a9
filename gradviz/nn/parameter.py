"""``Parameter``: a leaf tensor that a ``Module`` registers as trainable.

A ``Parameter`` is a :class:`~gradviz.engine.tensor.Tensor` subclass. Assigning one to a
module attribute registers it in the module's ``_parameters``, so it shows up in
``parameters()``, ``named_parameters()`` and ``state_dict()``, and optimizers train it.

Invariant: ``Parameter(t)`` shares ``t``'s data and version counter (no copy), as
PyTorch's ``Parameter`` does, and is always a leaf.
"""

from __future__ import annotations

from typing import Any

from gradviz.engine import backend
from gradviz.engine.backend import to_host
from gradviz.engine.creation import _check_grad_dtype, empty
from gradviz.engine.printing import tensor_repr
from gradviz.engine.tensor import Tensor, _init, _make

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A tensor that is a module parameter (``requires_grad=True`` unless told otherwise).

    Args:
        data: the tensor whose data the parameter shares; None gives an empty tensor.
        requires_grad: whether the parameter requires gradient.

    Raises:
        TypeError: ``data`` is not a Tensor.
        RuntimeError: ``requires_grad`` is True and ``data`` is not of a floating dtype.

    Example:
        >>> import gradviz
        >>> p = gradviz.nn.Parameter(gradviz.ones(2))
        >>> p
        Parameter containing:
        tensor([1., 1.], requires_grad=True)
        >>> p.is_leaf, p.requires_grad
        (True, True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        """Create the parameter, sharing ``data``'s array and version counter."""
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}. "
                "Fix: wrap the values in a tensor first, e.g. Parameter(gradviz.tensor(values))."
            )
        _check_grad_dtype(requires_grad, data._data.dtype)
        param = Tensor.__new__(cls)
        _init(param, data._data, False)
        # NOTE: share the version counter too, so an in-place change through either tensor
        # is seen by autograd's saved-tensor checks (PyTorch's _make_subclass does the same).
        if data._version_counter is None:
            data._version_counter = [0]
        param._version_counter = data._version_counter
        param.requires_grad_(requires_grad)
        return param

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        # Everything happens in __new__; this stops Tensor.__init__ from re-initialising.
        pass

    def __repr__(self) -> str:
        # The repr leaves out ``name`` (which modules set to the dotted parameter name) so it
        # reads exactly as PyTorch's: "Parameter containing:\ntensor(...)".
        alias = _make(self._data, self._requires_grad, None, 0)
        return "Parameter containing:\n" + tensor_repr(alias)

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(_make(backend.copy(self._data), False, None, 0), self._requires_grad)
        _copy_name(self, result)
        memo[id(self)] = result
        return result

    def __copy__(self) -> Parameter:
        result = type(self)(_make(self._data, False, None, 0), self._requires_grad)
        _copy_name(self, result)
        return result

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild_parameter, (to_host(self._data), self._requires_grad))


def _copy_name(src: Any, dst: Any) -> None:
    dst.name = src.name
    auto = src.__dict__.get("_auto_name")
    if auto is not None:
        dst.__dict__["_auto_name"] = auto


def _rebuild_parameter(host: Any, requires_grad: bool) -> Parameter:
    return Parameter(_make(host, False, None, 0), requires_grad)
