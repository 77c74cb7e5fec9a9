"""Attention: ``MultiheadAttention`` and ``TransformerEncoderLayer``, as in PyTorch.

The parameters, their registration order (so ``state_dict`` keys), their initialisation
and the reprs are PyTorch's. The forward is PyTorch's reference ("slow path") math:
in-projection, scaled dot-product attention per head with additive masks, softmax,
dropout, out-projection, composed of gradviz ops, so every step is a node in the graph.
The packed in-projection is computed as three linear maps of the slices of
``in_proj_weight`` (the same numbers as PyTorch's one packed matmul, up to rounding).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gradviz.engine.creation import empty, full, zeros
from gradviz.engine.ops.linalg import bmm
from gradviz.engine.ops.pointwise import masked_fill
from gradviz.engine.ops.reduction import mean, softmax
from gradviz.engine.ops.shape import cat, transpose, triu
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn import init
from gradviz.nn.modules.activation import GELU, ReLU
from gradviz.nn.modules.dropout import Dropout
from gradviz.nn.modules.linear import Linear
from gradviz.nn.modules.module import Module, _size
from gradviz.nn.modules.normalization import LayerNorm
from gradviz.nn.parameter import Parameter

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """The ``Linear`` that ``MultiheadAttention`` uses as ``out_proj`` (PyTorch's class name)."""


def _canonical_mask(mask: Tensor | None, name: str, dtype: Any) -> Tensor | None:
    """Return ``mask`` as an additive float mask (bool True becomes -inf).

    Raises:
        AssertionError: the mask is neither bool nor floating point (PyTorch's type).
    """
    if mask is None:
        return None
    if mask.dtype.is_floating_point:
        return mask
    if mask.dtype.name != "bool":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return masked_fill(zeros(*mask.shape, dtype=dtype, device=mask.device), mask, -math.inf)


def _causal_mask(tgt_len: int, src_len: int, device: Any = None, dtype: Any = None) -> Tensor:
    """Return the (L, S) additive mask that hides keys after each query (top-left aligned).

    ``-inf`` above the diagonal, 0 elsewhere; ``dtype`` None means the default float dtype.
    """
    return triu(full((tgt_len, src_len), -math.inf, dtype=dtype, device=device), 1)


def _get_activation_fn(activation: str) -> Callable[[Tensor], Tensor]:
    """Return ``F.relu`` or ``F.gelu`` for ``"relu"`` or ``"gelu"``.

    Raises:
        RuntimeError: ``activation`` is any other string (PyTorch's type and wording).
    """
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


class MultiheadAttention(Module):
    """Attend from queries to keys/values with ``num_heads`` parallel heads.

    Args:
        embed_dim: the model dimension ``E`` (split evenly among the heads).
        num_heads: the number of heads.
        dropout: dropout probability on the attention weights (training only).
        bias: learn input and output projection biases.
        add_bias_kv: learn a bias appended to the keys and values along the sequence.
        add_zero_attn: append a zero key and value along the sequence.
        kdim: the feature size of the keys (default ``embed_dim``).
        vdim: the feature size of the values (default ``embed_dim``).
        batch_first: inputs and outputs are ``(N, L, E)`` rather than ``(L, N, E)``.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        ValueError: ``embed_dim`` or ``num_heads`` is not positive.
        AssertionError: ``embed_dim`` is not divisible by ``num_heads`` (PyTorch's type).

    Example:
        >>> import gradviz
        >>> mha = gradviz.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> out, weights = mha(*(3 * [gradviz.randn(4, 5, 8)]))
        >>> tuple(out.shape), tuple(weights.shape)
        ((4, 5, 8), (4, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        kw = {"device": device, "dtype": dtype}
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        self.bias_k: Parameter | None
        self.bias_v: Parameter | None
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _in_projection(
        self, query: Tensor, key: Tensor, value: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Return ``(attn_output, attn_weights)`` (the weights are None without need_weights).

        Args:
            query: ``(L, N, E)`` (``(N, L, E)`` with batch_first), or ``(L, E)`` unbatched.
            key: ``(S, N, kdim)`` likewise.
            value: ``(S, N, vdim)`` likewise.
            key_padding_mask: ``(N, S)``; True (or -inf) marks keys to ignore.
            need_weights: also return the attention weights.
            attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``; True (or -inf) blocks a pair,
                float values are added to the scores.
            average_attn_weights: average the returned weights over the heads.
            is_causal: hide later keys (a hint that needs ``attn_mask``, as in PyTorch).

        Raises:
            RuntimeError: a mask of the wrong shape, or ``is_causal`` without ``attn_mask``.
            AssertionError: inputs of the wrong size (PyTorch's type).
        """
        batched = query.dim() == 3
        if self.batch_first and batched:
            query, key, value = (transpose(x, 1, 0) for x in (query, key, value))
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.shape[0]
        heads, head_dim = self.num_heads, self.head_dim
        if embed_dim != self.embed_dim:
            raise AssertionError(
                f"was expecting embedding dimension of {self.embed_dim}, but got {embed_dim}"
            )
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                "module method `generate_square_subsequent_mask` to create this mask."
            )
        if is_causal and key_padding_mask is None and not need_weights:
            attn_mask = _causal_mask(tgt_len, src_len, device=query.device, dtype=query.dtype)
        else:
            attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)

        q, k, v = self._in_projection(query, key, value)
        if attn_mask is not None:
            if attn_mask.dim() == 2:
                if tuple(attn_mask.shape) != (tgt_len, src_len):
                    raise RuntimeError(
                        f"The shape of the 2D attn_mask is {_size(attn_mask.shape)}, but should "
                        f"be {(tgt_len, src_len)}."
                    )
                attn_mask = attn_mask.unsqueeze(0)
            elif attn_mask.dim() == 3:
                expected = (bsz * heads, tgt_len, src_len)
                if tuple(attn_mask.shape) != expected:
                    raise RuntimeError(
                        f"The shape of the 3D attn_mask is {_size(attn_mask.shape)}, but should "
                        f"be {expected}."
                    )
            else:
                raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
        if self.bias_k is not None and self.bias_v is not None:
            k = cat([k, self.bias_k.expand(1, bsz, embed_dim)])
            v = cat([v, self.bias_v.expand(1, bsz, embed_dim)])
            if attn_mask is not None:
                attn_mask = F.pad(attn_mask, (0, 1))
            if key_padding_mask is not None:
                key_padding_mask = F.pad(key_padding_mask, (0, 1))
        q = transpose(q.reshape(tgt_len, bsz * heads, head_dim), 0, 1)
        k = transpose(k.reshape(k.shape[0], bsz * heads, head_dim), 0, 1)
        v = transpose(v.reshape(v.shape[0], bsz * heads, head_dim), 0, 1)
        if self.add_zero_attn:
            k = cat([k, zeros(bsz * heads, 1, head_dim, dtype=k.dtype, device=k.device)], 1)
            v = cat([v, zeros(bsz * heads, 1, head_dim, dtype=v.dtype, device=v.device)], 1)
            if attn_mask is not None:
                attn_mask = F.pad(attn_mask, (0, 1))
            if key_padding_mask is not None:
                key_padding_mask = F.pad(key_padding_mask, (0, 1))
        src_len = k.shape[1]
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (bsz, src_len):
                raise AssertionError(
                    f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                    f"{_size(key_padding_mask.shape)}"
                )
            kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, heads, 1, src_len)
            kpm = kpm.reshape(bsz * heads, 1, src_len)
            attn_mask = kpm if attn_mask is None else attn_mask + kpm

        scores = bmm(q * math.sqrt(1.0 / float(head_dim)), transpose(k, -2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, -1)
        if self.training and self.dropout > 0.0:
            weights = F.dropout(weights, p=self.dropout)
        out = transpose(bmm(weights, v), 0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias)
        out = out.reshape(tgt_len, bsz, embed_dim)
        result_weights = None
        if need_weights:
            result_weights = weights.reshape(bsz, heads, tgt_len, src_len)
            if average_attn_weights:
                result_weights = mean(result_weights, 1)
        if not batched:
            out = out.squeeze(1)
            if result_weights is not None:
                result_weights = result_weights.squeeze(0)
        elif self.batch_first:
            out = transpose(out, 1, 0)
        return out, result_weights


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each with a residual and a LayerNorm.

    Args:
        d_model: the model dimension.
        nhead: the number of attention heads.
        dim_feedforward: the hidden size of the feed-forward network.
        dropout: the dropout probability.
        activation: ``"relu"``, ``"gelu"``, or a callable (a module is registered).
        layer_norm_eps: the LayerNorms' eps.
        batch_first: inputs and outputs are ``(N, L, E)`` rather than ``(L, N, E)``.
        norm_first: apply the LayerNorms before (not after) each block.
        bias: learn biases in the linear maps and LayerNorms.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        RuntimeError: ``activation`` is an unknown string.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = activation

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """Return the encoded sequence (same shape as ``src``).

        Args:
            src: the input sequence.
            src_mask: the attention mask (see ``MultiheadAttention``).
            src_key_padding_mask: the key padding mask, ``(N, S)``.
            is_causal: the hint that ``src_mask`` is causal.
        """
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(
        self, x: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool
    ) -> Tensor:
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)
