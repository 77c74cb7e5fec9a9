"""Matrix products: matmul (dispatching like PyTorch), mm, mv, bmm, dot, addmm, outer."""

from __future__ import annotations

from typing import Any

from gradviz.engine import backend
from gradviz.engine.function import infer_size
from gradviz.engine.grad_mode import _grad_enabled
from gradviz.engine.ops import shape as S  # noqa: N812 - short module aliases
from gradviz.engine.ops._base import Op, Tensor, const, register

__all__ = [
    "addmm",
    "bmm",
    "dot",
    "inner",
    "matmul",
    "mm",
    "mv",
    "outer",
]


def _mm_kernel(a: Any, b: Any) -> Any:
    return backend.namespace(a).matmul(a, b)


class Mm(Op):
    node = "MmBackward0"
    inputs = ("self", "mat2")
    saves = ("self", "mat2")
    needs = {"self": (1,), "mat2": (0,)}
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return _mm_kernel(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (mm(g, S.t(b)) if need[0] else None), (_grad_mat2(a, g) if need[1] else None)


class Bmm(Op):
    node = "BmmBackward0"
    inputs = ("self", "mat2")
    saves = ("self", "mat2")
    needs = {"self": (1,), "mat2": (0,)}
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return _mm_kernel(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = bmm(g, S.transpose(b, 1, 2)) if need[0] else None
        gb = bmm(S.transpose(a, 1, 2), g) if need[1] else None
        return ga, gb


class Mv(Op):
    node = "MvBackward0"
    inputs = ("self", "vec")
    saves = ("self", "vec")
    needs = {"self": (1,), "vec": (0,)}
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, v: Any) -> Any:
        return _mm_kernel(a, v)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, v = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = S.unsqueeze(g, 1) * S.unsqueeze(v, 0) if need[0] else None
        gv = mv(S.t(a), g) if need[1] else None
        return ga, gv


class Dot(Op):
    node = "DotBackward0"
    inputs = ("self", "tensor")
    saves = ("self", "tensor")
    needs = {"self": (1,), "tensor": (0,)}
    promotes = True

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Any:
        return backend.namespace(a).vecdot(a, b)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (g * b if need[0] else None), (g * a if need[1] else None)


class Addmm(Op):
    node = "AddmmBackward0"
    inputs = ("self", "mat1", "mat2")
    saves = ("mat1", "mat2")
    needs = {"mat1": (2,), "mat2": (1,)}
    attrs = ("alpha", "beta")
    promotes = True

    @staticmethod
    def forward(ctx: Any, bias: Any, a: Any, b: Any, alpha: Any = 1, beta: Any = 1) -> Any:
        ctx.alpha = alpha
        ctx.beta = beta
        out = _mm_kernel(a, b)
        if alpha != 1 or beta != 1:
            return (out * alpha if alpha != 1 else out) + (bias * beta if beta != 1 else bias)
        out += bias  # the product is a fresh array of the result's shape and dtype
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Any, Any, Any]:
        need = ctx.needs_input_grad
        ga_scale = g if ctx.alpha == 1 else g * ctx.alpha
        gbias = (g if ctx.beta == 1 else g * ctx.beta) if need[0] else None
        if not _grad_enabled[0]:
            # A plain backward: the products on the arrays (addmm refuses mixed dtypes).
            gd = ga_scale._data
            ga = gb = None
            if need[1]:
                ga = const(_mm_kernel(gd, backend.transposed(ctx._unpack_array("mat2"))))
            if need[2]:
                gb = const(_grad_mat2_array(ctx._unpack_array("mat1"), gd))
            return gbias, ga, gb
        a, b = ctx.saved_tensors
        ga = mm(ga_scale, S.t(b)) if need[1] else None
        gb = _grad_mat2(a, ga_scale) if need[2] else None
        return gbias, ga, gb


def _grad_mat2(a: Tensor, g: Tensor) -> Tensor:
    """Return ``a.T @ g``, the gradient of ``a @ mat2`` with respect to ``mat2``.

    In a plain backward it is computed as ``(g.T @ a).T``: the same numbers, laid out so
    that when ``mat2`` is a weight's transpose (``nn.Linear``'s ``TBackward0``) the weight
    receives a row-major gradient, which later updates read at full speed.
    """
    if _grad_enabled[0]:
        return mm(S.t(a), g)
    return const(_grad_mat2_array(a._data, g._data))


def _grad_mat2_array(a: Any, g: Any) -> Any:
    """``a.T @ g`` on arrays, computed as ``(g.T @ a).T`` (see :func:`_grad_mat2`)."""
    return backend.transposed(_mm_kernel(backend.transposed(g), a))


def _refuse_bool(kernel: str, x: Tensor) -> None:
    """Raise PyTorch's NotImplementedError: its CPU product kernels have no bool version."""
    if x.dtype.name == "bool":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _check_2d(fn: str, name: str, x: Tensor) -> None:
    """Raise PyTorch's error when ``x`` is not a matrix (addmm also names the rank)."""
    if x._data.ndim != 2:
        got = f", got {x._data.ndim}-D tensor" if fn == "addmm" else ""
        raise RuntimeError(f"{name} must be a matrix{got}")


@register("mm")
def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Return the matrix product of two 2-D tensors (``MmBackward0``)."""
    _check_2d("mm", "self", input)
    _check_2d("mm", "mat2", mat2)
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
            f"{mat2.shape[0]}x{mat2.shape[1]})"
        )
    _same_dtype(input, mat2)
    _refuse_bool("addmm_impl_cpu_", input)
    return Mm.apply(input, mat2)


def _same_dtype(a: Tensor, b: Tensor) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.c_name} != "
            f"{b.dtype.c_name}"
        )


def _addmm_dtypes(bias: Any, mat1: Tensor, mat2: Tensor) -> None:
    """Refuse mixed dtypes as PyTorch's addmm does: the bias first, then the matrices."""
    for name, x in (("self", bias), ("mat1", mat1)):
        if isinstance(x, Tensor) and x.dtype is not mat2.dtype:
            raise RuntimeError(
                f"{name} and mat2 must have the same dtype, but got {x.dtype.scalar_name} and "
                f"{mat2.dtype.scalar_name}"
            )


@register("bmm")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Return the batched matrix product of two 3-D tensors (``BmmBackward0``)."""
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    if input.dtype is not mat2.dtype:
        raise RuntimeError(
            f"expected scalar type {input.dtype.scalar_name} but found {mat2.dtype.scalar_name}"
        )
    _refuse_bool("bmm", input)
    return Bmm.apply(input, mat2)


@register("mv")
def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    """Return the product of a matrix and a vector (``MvBackward0``)."""
    # NOTE: ATen's order: the result is sized by input.size(0) first (IndexError for a 0-d
    # input), then addmv checks the ranks, then the sizes.
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    rows, cols = input.shape
    if cols != vec.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({rows}), mat ({rows}x{cols}), vec ({vec.shape[0]})"
        )
    if input.dtype is not vec.dtype:
        v, m = vec.dtype.scalar_name, input.dtype.scalar_name
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {v}, {m}, and {v}"
        )
    _refuse_bool("addmv_impl_cpu", input)
    return Mv.apply(input, vec)


@register("dot")
def dot(input: Tensor, tensor: Tensor) -> Tensor:  # noqa: A002
    """Return the dot product of two 1-D tensors (``DotBackward0``)."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
            f"[{tensor.shape[0]}] to have the same number of elements, but got "
            f"{input.shape[0]} and {tensor.shape[0]} elements respectively"
        )
    if input.dtype is not tensor.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{input.dtype.scalar_name} and {tensor.dtype.scalar_name}"
        )
    _refuse_bool("dot", input)
    return Dot.apply(input, tensor)


@register("addmm")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """Return ``beta * input + alpha * (mat1 @ mat2)`` (``AddmmBackward0``)."""
    _check_2d("addmm", "mat1", mat1)
    _check_2d("addmm", "mat2", mat2)
    m1, m2 = mat1._data, mat2._data
    if m1.shape[1] != m2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({m1.shape[0]}x{m1.shape[1]} and "
            f"{m2.shape[0]}x{m2.shape[1]})"
        )
    dt = m2.dtype
    if m1.dtype is not dt or (isinstance(input, Tensor) and input._data.dtype is not dt):
        _addmm_dtypes(input, mat1, mat2)  # NOTE: equal dtypes are usually the same object
    _refuse_bool("addmm_impl_cpu_", mat2)
    if isinstance(input, Tensor):
        size = (m1.shape[0], m2.shape[1])
        have = input._data.shape
        if have != size[-len(have) :] and have != size:
            S.expand(input.detach(), size)  # raises PyTorch's error when it does not fit
    if alpha == 1 and beta == 1:
        return Addmm.apply(input, mat1, mat2)
    return Addmm.apply(input, mat1, mat2, alpha=alpha, beta=beta)


@register("outer", "ger")
def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """Return the outer product of two 1-D tensors (``input.reshape(-1, 1) * vec2``)."""
    for name, x in (("self", input), ("vec2", vec2)):
        if x.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x.ndim}-D")
    return S.reshape(input, (-1, 1)) * vec2


@register("inner")
def inner(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return the sum of products over the last dimension of both inputs.

    As PyTorch: a product when either input is 0-d, else ``tensordot`` over the last
    dimensions (a permute, then a dot for two vectors or an mm of the folded inputs, then a
    view to ``input.shape[:-1] + other.shape[:-1]``).

    Raises:
        RuntimeError: the last dimensions differ, or the dtypes do.
    """
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    k = input.shape[-1]
    if other.shape[-1] != k:
        raise RuntimeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    if input.dtype is not other.dtype:
        raise RuntimeError("both inputs should have same dtype")
    a = S.permute(input, tuple(range(input.ndim)))
    b = S.permute(other, (other.ndim - 1,) + tuple(range(other.ndim - 1)))
    if input.ndim == 1 and other.ndim == 1:
        return S.view(dot(a, b), ())
    out = mm(S.reshape(a, (-1, k)), S.reshape(b, (k, -1)))
    return S.view(out, tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


@register("matmul")
def matmul(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Return the matrix product with PyTorch's dispatch (dot, mv, mm, folded mm, bmm).

    The graph is PyTorch's node for node: which path runs depends on the ranks, on which
    input requires grad and on whether the larger input can be folded into a matrix
    without a copy (ATen's ``_matmul_impl``).
    """
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        bad = input if not isinstance(input, Tensor) else other
        raise TypeError(
            f"matmul(): argument 'other' (position 2) must be Tensor, not {type(bad).__name__}"
        )
    da, db = input.ndim, other.ndim
    if da == 0 or db == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D"
        )
    # NOTE: inner sizes that differ are refused by the path taken (dot, mv, mm or bmm, on
    # folded or expanded operands), each with its own message, as in ATen.
    if da == 1 and db == 1:
        return dot(input, other)
    if da == 2 and db == 1:
        return mv(input, other)
    if da == 1 and db == 2:
        return S.SqueezeDimsInplace.apply(mm(S.unsqueeze(input, 0), other), dim=(0,))
    if da == 2 and db == 2:
        return mm(input, other)
    if _should_fold(input, other):
        return _folded(input, other)
    return _batched(input, other)


def _should_fold(a: Tensor, b: Tensor) -> bool:
    """Whether to fold the batch of the larger input into mm/mv rows (ATen's should_fold)."""
    a_larger = a.ndim >= b.ndim
    dim_t1, dim_t2 = (a.ndim, b.ndim) if a_larger else (b.ndim, a.ndim)
    if not (dim_t1 >= 3 and dim_t2 <= 2):
        return False
    if (b if a_larger else a)._requires_grad:
        return True
    if a.ndim == 2:
        return False
    t1 = a._data if a_larger else backend.namespace(b._data).matrix_transpose(b._data)
    if t1.size == 0:
        return True
    return backend.can_view(t1, (-1, t1.shape[-1]))


def _folded(a: Tensor, b: Tensor) -> Tensor:
    transpose = b.ndim > a.ndim
    t1 = S.transpose(b, -2, -1) if transpose else a
    t2 = (S.t(a) if a.ndim == 2 else a) if transpose else b
    sizes = tuple(t1.shape)
    output_shape = sizes[:-1]
    rows = 1
    for s in output_shape:
        rows *= s
    folded = S.reshape(t1, (rows, sizes[-1]))
    if t2.ndim == 2:
        output = S.UnsafeView.apply(mm(folded, t2), shape=output_shape + (t2.shape[1],))
        return S.transpose(output, -2, -1).contiguous() if transpose else output
    return S.UnsafeView.apply(mv(folded, t2), shape=output_shape)


def _batched(a: Tensor, b: Tensor) -> Tensor:
    da, db = a.ndim, b.ndim
    n = a.shape[-2] if da > 1 else 1
    m1 = a.shape[-1]
    batch_a = tuple(a.shape[: max(da - 2, 0)])
    m2 = b.shape[-2] if db > 1 else b.shape[0]
    p = b.shape[-1] if db > 1 else 1
    batch_b = tuple(b.shape[: max(db - 2, 0)])
    if da == 3 and db == 3 and batch_a[0] != batch_b[0]:
        if batch_a[0] == 1 and a._requires_grad:
            return matmul(S.squeeze(a, 0), b)
        if batch_b[0] == 1 and b._requires_grad:
            return matmul(a, S.squeeze(b, 0))
    if a.dtype is not b.dtype:  # the batched product (bmm) refuses mixed dtypes
        raise RuntimeError(
            f"expected scalar type {a.dtype.scalar_name} but found {b.dtype.scalar_name}"
        )
    output_shape = infer_size(batch_a, batch_b)
    batch = 1
    for s in output_shape:
        batch *= s
    a3 = S.reshape(S.Expand.apply(a, shape=output_shape + (n, m1)), (batch, n, m1))
    vector_rhs = db == 1
    if vector_rhs:
        b3 = S.unsqueeze(S.reshape(S.Expand.apply(b, shape=output_shape + (m2,)), (batch, m2)), 2)
    else:
        b3 = S.reshape(S.Expand.apply(b, shape=output_shape + (m2, p)), (batch, m2, p))
    if da > 1:
        output_shape += (n,)
    if db > 1:
        output_shape += (p,)
    out = bmm(a3, b3)  # its checks give PyTorch's message for inner sizes that differ
    if vector_rhs:
        out = S.squeeze(out, -1)
    return S.UnsafeView.apply(out, shape=output_shape)
