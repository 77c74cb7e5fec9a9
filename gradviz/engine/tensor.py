"""The Tensor: an array of its device's namespace plus autograd state.

Python operators and methods delegate to ops (``gradviz.engine.ops``); the methods that
mirror functions (``x.exp()``, ``x.sum(1)``) are attached from the op registry, so each
op is declared once. Tensors store their array in ``_data``; ``.data`` is PyTorch's
"same storage, detached, own version counter" view of it.
"""

from __future__ import annotations

import builtins
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.engine import backend, function
from gradviz.engine import dtypes as _dt
from gradviz.engine.events import Handle
from gradviz.engine.grad_mode import _grad_enabled, _inference

__all__ = ["Tensor", "Size"]

_NONLEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information."
)


# The C++ type names PyTorch prints for a gradient's dtype (``caffe2::TypeMeta`` names).
_CPP_TYPE_NAMES = {
    "float32": "float",
    "float64": "double",
    "float16": "c10::Half",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
}


class Size(tuple):
    """A tensor shape: a tuple that prints as ``gradviz.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"gradviz.Size({list(self)})"

    def numel(self) -> int:
        """Return the number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n


ops: Any = None  # gradviz.engine.ops, bound when it is imported (it needs Tensor first)


class _MemoryFormat:
    """A memory format (``gradviz.contiguous_format``, ``gradviz.preserve_format``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"gradviz.{self.name}"


contiguous_format = _MemoryFormat("contiguous_format")
preserve_format = _MemoryFormat("preserve_format")


class Tensor:
    """A multi-dimensional array that can record how it was computed.

    Create tensors with ``gradviz.tensor``, ``gradviz.randn`` and friends rather than
    calling this class.

    Attributes:
        name: an optional name that graphs and the debugger show.
    """

    __slots__ = (
        "_data",
        "_requires_grad",
        "_grad_fn",
        "_output_nr",
        "_grad",
        "_version_counter",
        "_base",
        "_hooks",
        "_accumulator",
        "_retains_grad",
        "_is_inference",
        "_post_accumulate_hooks",
        "_view_fn",
        "_view_epoch",
        "name",
        "__weakref__",
        "__dict__",
    )

    # The slots' types (annotations only: the values are set by _make and _init).
    _data: Any
    _requires_grad: builtins.bool
    _grad_fn: Any
    _output_nr: builtins.int
    _grad: Tensor | None
    _version_counter: list[builtins.int] | None
    _base: Tensor | None
    _hooks: dict[builtins.int, Callable[..., Any]] | None
    _accumulator: weakref.ReferenceType[Any] | None
    _retains_grad: builtins.bool
    _is_inference: builtins.bool
    _post_accumulate_hooks: dict[builtins.int, Callable[..., Any]] | None
    _view_fn: tuple[Any, Any, Any, builtins.int | None] | None
    _view_epoch: Any
    name: str | None

    if TYPE_CHECKING:
        # Methods that gradviz.engine.ops registers on the class at import (``register``),
        # declared for the type checker where gradviz itself calls them.
        def t(self) -> Tensor: ...  # noqa: D102
        def mean(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor: ...  # noqa: D102
        def tril(self, diagonal: builtins.int = 0) -> Tensor: ...  # noqa: D102
        def unsqueeze(self, dim: builtins.int) -> Tensor: ...  # noqa: D102
        def squeeze(self, dim: Any = None) -> Tensor: ...  # noqa: D102
        def expand(self, *sizes: Any) -> Tensor: ...  # noqa: D102
        def reshape(self, *shape: Any) -> Tensor: ...  # noqa: D102

    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        from gradviz.engine.creation import _to_array  # noqa: PLC0415

        _init(self, _to_array(data if data is not None else [], None, None), False)

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> Tensor:
        """The same data, detached from the graph, with its own version counter."""
        return _make(self._data, False, None, 0)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else value

    @property
    def requires_grad(self) -> bool:
        """Whether gradients are computed for this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    @property
    def grad_fn(self) -> function.Node | None:
        """The backward node that produced this tensor (None for leaves)."""
        base = self._base
        if base is not None and self._view_epoch is not base._grad_fn:
            function._refresh_view(self)  # the root was changed in place since
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self._grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward (leaves, and non-leaves that retain grad)."""
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(_NONLEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if value.shape != self.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor "
                    f"of size '{list(self.shape)}'. Please ensure that the gradient and the "
                    "tensor are the same size"
                )
            if value.dtype is not self.dtype:
                raise RuntimeError(
                    "attempting to assign a gradient with dtype "
                    f"'{_CPP_TYPE_NAMES[value.dtype.name]}' to a tensor with grad_dtype "
                    f"'{self.dtype.scalar_name}'. The gradient must match the tensor's grad_dtype "
                    "(defaults to the tensor's dtype). You can set the tensor's grad_dtype "
                    "attribute with a specific dtype, or None to allow any dtype. Set grad_dtype "
                    "with caution. Diverging the dtypes of a tensor and its gradient may break "
                    "downstream systems that assume they match."
                )
            if value.device != self.device:
                raise RuntimeError(
                    "assigned grad has data located on a different device: the tensor is on "
                    f"{self.device}, the gradient on {value.device}. Fix: move the gradient "
                    "with .to(tensor.device) first."
                )
        self._grad = value

    @property
    def shape(self) -> Size:
        """The tensor's shape."""
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        """Return the shape, or the length of dimension ``dim``."""
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    @property
    def dtype(self) -> _dt.dtype:
        """The element type."""
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> backend.Device:
        """The device the data lives on."""
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        """True for tensors on a CUDA device."""
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    def dim(self) -> int:
        """Return the number of dimensions."""
        return self._data.ndim

    def numel(self) -> int:
        """Return the number of elements."""
        return int(self._data.size)

    def element_size(self) -> int:
        """Return the size of one element in bytes."""
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """The size of the data in bytes."""
        return int(self._data.size) * self.dtype.itemsize

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The tensor with its dimensions reversed (``PermuteBackward0``).

        PyTorch has deprecated it for tensors that are not matrices, and warns as PyTorch does.
        """
        if self._data.ndim != 2:
            warnings.warn(
                "Tensor.T is deprecated on 0-D tensors. This function is the identity in these "
                "cases."
                if self._data.ndim == 0
                else "The use of `x.T` on tensors of dimension other than 2 to reverse their "
                "shape is deprecated and it will throw an error in a future release. Consider "
                "`x.mT` to transpose batches of matrices or "
                "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                "tensor.",
                UserWarning,
                stacklevel=2,
            )
        return ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The tensor with its last two dimensions swapped (``TransposeBackward0``).

        Raises:
            RuntimeError: a 1-D tensor (PyTorch's message); a 0-d one is returned itself,
                with PyTorch's deprecation warning.
        """
        if self._data.ndim < 2:
            if self._data.ndim == 1:
                raise RuntimeError(
                    "tensor.mT is only supported on matrices or batches of matrices. "
                    "Got 1-D tensor."
                )
            warnings.warn(
                "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these "
                "cases.",
                UserWarning,
                stacklevel=2,
            )
            return self
        return ops.transpose(self, -2, -1)

    @property
    def _version(self) -> int:
        return self._version_counter[0] if self._version_counter is not None else 0

    def is_inference(self) -> bool:
        """Return True for tensors created in ``inference_mode``."""
        return self._is_inference

    def is_floating_point(self) -> bool:
        """Return True for float16/32/64 tensors."""
        return _dt.is_floating(self._data.dtype)

    def is_contiguous(self) -> bool:
        """Return True when the data is laid out in row-major order."""
        return backend.is_contiguous(self._data)

    # ------------------------------------------------------------------ host access
    def item(self) -> Any:
        """Return the value of a one-element tensor as a Python number.

        Raises:
            RuntimeError: the tensor has more than one element.
        """
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return backend.to_host(self._data).reshape(()).item()

    def tolist(self) -> Any:
        """Return the data as (nested) Python lists."""
        return backend.to_host(self._data).tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """Return the data as a NumPy array (shared on the CPU).

        Raises:
            RuntimeError: the tensor requires grad (call ``.detach().numpy()``).
        """
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        if self.device.type != "cpu":
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                "copy the tensor to host memory first."
            )
        return backend.to_host(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def _python_number(self, warn: bool = True) -> Any:
        """Return the value for ``float()``, ``int()`` and ``complex()``, as PyTorch checks it.

        PyTorch warns about a tensor that requires grad for float and complex, not int.
        """
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if warn and self._requires_grad:
            warnings.warn(
                "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                "behavior.\nConsider using tensor.detach() first.",
                UserWarning,
                stacklevel=3,
            )
        return self.item()

    def __float__(self) -> float:
        return float(self._python_number())

    def __int__(self) -> int:
        return int(self._python_number(warn=False))

    def __complex__(self) -> complex:
        return complex(self._python_number())

    def __index__(self) -> int:
        if _dt.is_floating(self._data.dtype) or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(ops.unbind(self, 0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from gradviz.engine.printing import tensor_repr  # noqa: PLC0415 - cold path

        return tensor_repr(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild, (backend.to_host(self._data), self._requires_grad))

    # ------------------------------------------------------------------ autograd state
    def detach(self) -> Tensor:
        """Return a tensor sharing data and version counter, cut from the graph."""
        out = _make(self._data, False, None, 0)
        if self._version_counter is None:
            self._version_counter = [0]
        out._version_counter = self._version_counter
        return out

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place: it becomes a leaf without grad.

        Raises:
            RuntimeError: the tensor is a view (use ``detach()``), as in PyTorch.
        """
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                "called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
            )
        self._grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf in place and return it.

        Raises:
            RuntimeError: the tensor is not a leaf, or not of a floating dtype.
        """
        if self._grad_fn is not None:
            msg = "you can only change requires_grad flags of leaf variables."
            if not requires_grad:
                msg += (
                    " If you want to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach()."
                )
            raise RuntimeError(msg)
        if requires_grad and not _dt.is_floating(self._data.dtype):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if requires_grad and self._is_inference and not _inference[0]:
            raise RuntimeError(
                "Setting requires_grad=True on inference tensor outside InferenceMode is not "
                "allowed."
            )
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward.

        Raises:
            RuntimeError: the tensor does not require grad.
        """
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        node = self._grad_fn
        if node._retained is None:
            node._retained = {}
            node._slow = True
        node._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """True for non-leaf tensors on which ``retain_grad()`` was called."""
        return self._retains_grad

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Handle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Raises:
            RuntimeError: the tensor does not require grad.
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        key = next(function._hook_ids)
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            self._hooks[key] = hook
            return Handle(self._hooks, key)
        node = self._grad_fn
        if node._tensor_hooks is None:
            node._tensor_hooks = {}
            node._slow = True
        hooks = node._tensor_hooks.setdefault(self._output_nr, {})
        hooks[key] = hook
        return Handle(hooks, key)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> Handle:
        """Call ``hook(tensor)`` after backward has updated this leaf's ``.grad``.

        Raises:
            RuntimeError: the tensor is not a leaf.
        """
        if self._grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        key = next(function._hook_ids)
        self._post_accumulate_hooks[key] = hook
        return Handle(self._post_accumulate_hooks, key)

    def _grad_accumulator(self) -> function.AccumulateGrad:
        ref = self._accumulator
        node = ref() if ref is not None else None
        if node is None:
            node = function.AccumulateGrad(self)
            self._accumulator = weakref.ref(node)
        return node

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Compute the gradient of this tensor with respect to the graph's leaves.

        Args:
            gradient: the gradient of some scalar with respect to this tensor; may be
                omitted for one-element tensors.
            retain_graph: keep saved tensors for another backward (default: create_graph).
            create_graph: record the backward itself, for higher-order derivatives.
            inputs: accumulate only into these tensors.
        """
        from gradviz.engine.autograd import backward  # noqa: PLC0415

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ------------------------------------------------------------------ in-place plumbing
    def _check_inplace(self, setitem: bool = False) -> None:
        if self._is_inference and not _inference[0]:
            raise RuntimeError(
                "Inplace update to inference tensor outside InferenceMode is not allowed."
                "You can make a clone to get a normal tensor before doing inplace update."
                "See https://github.com/pytorch/rfcs/pull/17 for more details."
            )
        if not _grad_enabled[0]:
            return
        base = self._base
        if base is None:
            if self._requires_grad and self._grad_fn is None:
                if setitem:
                    raise RuntimeError(
                        "a view of a leaf Variable that requires grad is being used in an "
                        "in-place operation."
                    )
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            return
        if self._requires_grad and self._grad_fn is None:
            raise RuntimeError(
                "A view was created in no_grad mode and is being modified inplace with grad mode "
                "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
                "You can clarify your code by moving both the view and the inplace either both "
                "inside the no_grad block (if you don't want the inplace to be tracked) or both "
                "outside (if you want the inplace to be tracked)."
            )
        if base._requires_grad and base._grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )
        view_fn = self._view_fn
        if view_fn is None and self._requires_grad and self._grad_fn is not None:
            # A view made by a custom Function (or an input it returned as-is).
            fn_name = type(self._grad_fn).__name__.removesuffix("Backward")
            raise RuntimeError(
                f"Output {self._output_nr} of {fn_name} is a view and is being modified "
                "inplace. This view was created inside a custom Function (or because an input "
                "was returned as-is) and the autograd logic to handle view+inplace would "
                "override the custom backward associated with the custom Function, leading to "
                "incorrect gradients. This behavior is forbidden. You can fix this by cloning "
                "the output of the custom Function."
            )
        if view_fn is not None and view_fn[3] is not None and base._requires_grad:
            name = view_fn[1].node.removesuffix("Backward0")
            raise RuntimeError(
                f"Output {view_fn[3]} of {name} is a view and is being modified inplace. This "
                "view is the output of a function that returns multiple views. Such functions "
                "do not allow the output views to be modified inplace. You should replace the "
                "inplace operation by an out-of-place one."
            )

    def _write_inplace(self, result: Tensor) -> Tensor:
        """Copy ``result`` (computed out of place from ``self``) into ``self``'s storage."""
        data = result._data
        own = self._data
        if data.shape != own.shape:
            raise RuntimeError(
                f"output with shape {list(own.shape)} doesn't match the broadcast shape "
                f"{list(data.shape)}"
            )
        if data.dtype != own.dtype:
            want = _dt.from_numpy_dtype(own.dtype)
            got = _dt.from_numpy_dtype(data.dtype)
            if got.category > want.category:
                raise RuntimeError(
                    f"result type {got.scalar_name} can't be cast to the desired output type "
                    f"{want.scalar_name}"
                )
            data = backend.namespace(data).astype(data, own.dtype)
        node = result._grad_fn
        if node is not None and node._saved:
            for name, slot in list(node._saved.items()):
                if slot[0] == "input" and slot[1] is self:
                    # The op's backward needs the value from before the write: keep a copy.
                    copy = backend.copy(own)
                    snapshot = _make(copy, self._requires_grad, self._grad_fn, self._output_nr)
                    node._saved[name] = function._save_input(snapshot)
        own[...] = data
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = [0]
        counter[0] += 1
        if node is not None and node._saved:
            for name, slot in list(node._saved.items()):
                if slot[0] == "result":
                    node._saved[name] = ("result", own, counter[0], counter)
        base = self._base
        if self._view_fn is not None and base is not None and _grad_enabled[0]:
            if node is not None or base._requires_grad:
                # Written through a view: the root's graph must change (PyTorch's CopySlices).
                from gradviz.engine.autograd import rebase_history  # noqa: PLC0415 - rare path

                rebase_history(self, node)
                return self
        if node is not None:
            self._grad_fn = node
            self._output_nr = result._output_nr
            self._requires_grad = True
        return self

    def _inplace(self, fn: Callable[..., Tensor], *args: Any, **kwargs: Any) -> Tensor:
        self._check_inplace()
        return self._write_inplace(fn(self, *args, **kwargs))

    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """In-place ``self += alpha * other``."""
        return self._inplace(ops.add, other, alpha=alpha)

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """In-place ``self -= alpha * other``."""
        return self._inplace(ops.sub, other, alpha=alpha)

    def mul_(self, other: Any) -> Tensor:
        """In-place ``self *= other``."""
        return self._inplace(ops.mul, other)

    def div_(self, other: Any) -> Tensor:
        """In-place ``self /= other``."""
        return self._inplace(ops.div, other)

    def pow_(self, exponent: Any) -> Tensor:
        """In-place ``self **= exponent``."""
        return self._inplace(ops.pow, exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """In-place ``clamp``."""
        return self._inplace(ops.clamp, min, max)

    clip_ = clamp_

    def relu_(self) -> Tensor:
        """In-place ``relu``."""
        return self._inplace(ops.relu)

    def sigmoid_(self) -> Tensor:
        """In-place ``sigmoid``."""
        return self._inplace(ops.sigmoid)

    def tanh_(self) -> Tensor:
        """In-place ``tanh``."""
        return self._inplace(ops.tanh)

    def exp_(self) -> Tensor:
        """In-place ``exp``."""
        return self._inplace(ops.exp)

    def neg_(self) -> Tensor:
        """In-place negation."""
        return self._inplace(ops.neg)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """In-place ``masked_fill``."""
        return self._inplace(ops.masked_fill, mask, value)

    def fill_(self, value: Any) -> Tensor:
        """Fill with ``value`` in place (``FillBackward``)."""
        return self._inplace(ops._fill, value)

    def zero_(self) -> Tensor:
        """Fill with zeros in place (``ZeroBackward0``)."""
        return self._inplace(ops._zero)

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast) into this tensor in place (``CopyBackwards``)."""
        return self._inplace(ops._copy, src)

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with samples of U(a, b) in place (not recorded in the graph).

        Args:
            a: the lower bound.
            b: the upper bound.
            generator: the :class:`~gradviz.Generator` to draw from (None: the
                process-wide one).

        Raises:
            TypeError: ``generator`` is not a gradviz Generator.
        """
        from gradviz.engine.creation import _rng_of  # noqa: PLC0415

        self._check_inplace()
        self._fill_raw(_rng_of(generator).uniform(a, b, self._data.shape))
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with samples of N(mean, std²) in place (not recorded in the graph).

        Args:
            mean: the mean.
            std: the standard deviation.
            generator: the :class:`~gradviz.Generator` to draw from (None: the
                process-wide one).

        Raises:
            TypeError: ``generator`` is not a gradviz Generator.
        """
        from gradviz.engine.creation import _rng_of  # noqa: PLC0415

        self._check_inplace()
        self._fill_raw(_rng_of(generator).normal(mean, std, self._data.shape))
        return self

    def _fill_raw(self, host: np.ndarray) -> None:
        self._data[...] = backend.from_host(host, self._data)
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = [0]
        counter[0] += 1

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_inplace(setitem=True)
        self._write_inplace(ops.index_put(self, key, value))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # ------------------------------------------------------------------ operators
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.rsub(self, other)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.mul(ops.reciprocal(self), other)

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.div(self, other, rounding_mode="floor")

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.div(other, self, rounding_mode="floor")

    def __mod__(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.remainder(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return ops.pow(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return ops._rpow(self, base)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __invert__(self) -> Tensor:
        return ops.bitwise_not(self)

    def __and__(self, other: Any) -> Tensor:
        return ops.bitwise_and(self, other)

    def __rand__(self, other: Any) -> Tensor:
        return ops.bitwise_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        return ops.bitwise_or(self, other)

    def __ror__(self, other: Any) -> Tensor:
        return ops.bitwise_or(self, other)

    def __xor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.ne(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return ops.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.ge(self, other)

    def __getitem__(self, key: Any) -> Tensor:
        return ops.getitem(self, key)

    # ------------------------------------------------------------------ conversions
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Return the tensor in another dtype and/or on another device.

        Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``
        and the keywords ``dtype=``, ``device=``. Returns ``self`` when nothing changes.
        """
        dtype = kwargs.get("dtype")
        dev = kwargs.get("device")
        for a in args:
            if isinstance(a, _dt.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
            elif isinstance(a, (str, backend.Device)) or type(a) is int:
                dev = a
        out = self
        if dev is not None and backend.device(dev) != self.device:
            out = ops.to_device(out, backend.device(dev))
        if dtype is not None and _dt.to_dtype(dtype) is not out.dtype:
            out = ops.to_dtype(out, _dt.to_dtype(dtype))
        return out

    def type(self, dtype: Any = None) -> Any:
        """Return the type name, or the tensor converted to ``dtype``."""
        if dtype is None:
            return function._type_name(self._data)
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        """Return the tensor converted to ``other``'s dtype."""
        return self.to(other.dtype)

    def float(self) -> Tensor:
        """Return the tensor as float32."""
        return self.to(_dt.float32)

    def double(self) -> Tensor:
        """Return the tensor as float64."""
        return self.to(_dt.float64)

    def half(self) -> Tensor:
        """Return the tensor as float16."""
        return self.to(_dt.float16)

    def long(self) -> Tensor:
        """Return the tensor as int64."""
        return self.to(_dt.int64)

    def int(self) -> Tensor:
        """Return the tensor as int32."""
        return self.to(_dt.int32)

    def bool(self) -> Tensor:
        """Return the tensor as bool."""
        return self.to(_dt.bool)

    def cpu(self) -> Tensor:
        """Return the tensor on the CPU."""
        return self.to("cpu")

    def cuda(self, device: Any = None) -> Tensor:
        """Return the tensor on a CUDA device."""
        return self.to(backend.device("cuda" if device is None else device))

    def contiguous(self) -> Tensor:
        """Return a row-major copy when the data is not, else ``self``."""
        if self.is_contiguous():
            return self
        return ops.clone(self, memory_format=contiguous_format)


def _init(t: Tensor, data: Any, requires_grad: bool) -> None:
    t._data = data
    t._requires_grad = requires_grad
    t._grad_fn = None
    t._output_nr = 0
    t._grad = None
    t._version_counter = None
    t._base = None
    t._hooks = None
    t._accumulator = None
    t._retains_grad = False
    t._is_inference = _inference[0]
    t._post_accumulate_hooks = None
    t._view_fn = None
    t._view_epoch = None
    t.name = None


_ndarray = np.ndarray
_asarray = np.asarray
_generic = np.generic


def _make(
    data: Any, requires_grad: bool = False, grad_fn: Any = None, output_nr: int = 0
) -> Tensor:
    """Wrap an array (or NumPy scalar) as a Tensor: the engine's one constructor."""
    if type(data) is not _ndarray and (
        isinstance(data, _generic) or not hasattr(data, "__array_namespace__")
    ):
        data = _asarray(data)  # NumPy scalars (results of full reductions) become 0-d arrays
    t = Tensor.__new__(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t._grad_fn = grad_fn
    t._output_nr = output_nr
    t._grad = None
    t._version_counter = None
    t._base = None
    t._hooks = None
    t._accumulator = None
    t._retains_grad = False
    t._is_inference = _inference[0]
    t._post_accumulate_hooks = None
    t._view_fn = None
    t._view_epoch = None
    t.name = None
    return t


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    return _make(data, requires_grad, None, 0)


function.Tensor = Tensor
function._make = _make
