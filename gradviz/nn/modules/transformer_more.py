"""Transformer stacks (encoder, decoder layer, decoder, full model), as in PyTorch.

``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder`` and
``Transformer`` are built as PyTorch builds them: a stack holds ``num_layers`` deep copies of the
layer it is given in a ``ModuleList`` called ``layers`` (so every copy starts with the same
parameters), then an optional final ``norm``; parameter names and their order, so
``state_dict`` keys, and the reprs are PyTorch's. ``Transformer`` re-initialises every
parameter with more than one dimension with ``xavier_uniform_``, as PyTorch does.

PyTorch's "fast path" (nested tensors for padded batches and the fused
``_transformer_encoder_layer_fwd`` kernel, taken in eval mode without gradients) is an
optimisation that gives the same numbers as its ordinary path; gradviz always runs the
ordinary path, so every attention, linear map and norm is a node in the graph. The
attributes that choose the fast path (``enable_nested_tensor``, ``use_nested_tensor``,
``mask_check``) and the warning PyTorch gives when a layer rules nested tensors out are
kept, so code written for PyTorch behaves the same.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

from gradviz.engine.ops.reduction import all as all_
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn import init
from gradviz.nn.modules.container import ModuleList
from gradviz.nn.modules.dropout import Dropout
from gradviz.nn.modules.linear import Linear
from gradviz.nn.modules.module import Module
from gradviz.nn.modules.normalization import LayerNorm
from gradviz.nn.modules.transformer import (
    MultiheadAttention,
    TransformerEncoderLayer,
    _canonical_mask,
    _causal_mask,
    _get_activation_fn,
)

__all__ = ["TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]


def _get_seq_len(src: Tensor, batch_first: bool) -> int:
    """Return the sequence length of ``src``: ``(S, E)``, ``(S, N, E)`` or ``(N, S, E)``."""
    if src.dim() == 2:
        return int(src.shape[0])
    return int(src.shape[1 if batch_first else 0])


def _detect_is_causal_mask(mask: Tensor | None, is_causal: bool | None, size: int | None) -> bool:
    """Return ``is_causal`` when given, else whether ``mask`` equals the causal mask of ``size``."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        sz = size if size is not None else int(mask.shape[-2])
        causal = _causal_mask(sz, sz, device=mask.device, dtype=mask.dtype)
        if tuple(mask.shape) == tuple(causal.shape):
            make_causal = bool(all_(mask == causal))
        else:
            make_causal = False
    return make_causal


def _get_clones(module: Module, n: int) -> ModuleList:
    """Return a ``ModuleList`` of ``n`` independent deep copies of ``module``."""
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _why_not_nested(encoder_layer: Module) -> str:
    """Return why PyTorch would not use nested tensors for this layer ("" when it would)."""
    name = "encoder_layer"
    if not isinstance(encoder_layer, TransformerEncoderLayer):
        return f"{name} was not TransformerEncoderLayer"
    if encoder_layer.norm_first:
        return f"{name}.norm_first was True"
    attn = encoder_layer.self_attn
    if not attn.batch_first:
        return (
            f"{name}.self_attn.batch_first was not True"
            "(use batch_first for better inference performance)"
        )
    if not attn._qkv_same_embed_dim:
        return f"{name}.self_attn._qkv_same_embed_dim was not True"
    if attn.in_proj_bias is None:
        return f"{name}.self_attn was passed bias=False"
    if not encoder_layer.activation_relu_or_gelu:
        return f"{name}.activation_relu_or_gelu was not True"
    if encoder_layer.norm1.eps != encoder_layer.norm2.eps:
        return f"{name}.norm1.eps was not equal to {name}.norm2.eps"
    if attn.num_heads % 2 == 1:
        return f"{name}.self_attn.num_heads is odd"
    return ""


class TransformerEncoder(Module):
    """Run a sequence through ``num_layers`` copies of an encoder layer, then an optional norm.

    Every layer starts as a deep copy of ``encoder_layer`` (so with the same parameters);
    re-initialise them if they should differ. gradviz always runs PyTorch's ordinary path:
    ``enable_nested_tensor`` and ``mask_check`` are kept for compatibility and change no
    numbers.

    Args:
        encoder_layer: the layer to copy (usually a ``TransformerEncoderLayer``).
        num_layers: how many copies to stack.
        norm: a module applied to the output of the last layer, or None.
        enable_nested_tensor: PyTorch's switch for its nested-tensor fast path; when the
            layer rules that path out, PyTorch's warning is given and ``use_nested_tensor``
            is set to False, as in PyTorch.
        mask_check: PyTorch's switch for checking that padding masks are left aligned.

    Example:
        >>> import gradviz
        >>> from gradviz.nn.modules.transformer_more import TransformerEncoder
        >>> layer = gradviz.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        >>> encoder = TransformerEncoder(layer, 2, enable_nested_tensor=False)
        >>> tuple(encoder(gradviz.randn(3, 5, 8)).shape)
        (3, 5, 8)
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = _why_not_nested(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(
                "enable_nested_tensor is True, but self.use_nested_tensor is False because "
                f"{why_not}",
                stacklevel=2,
            )
            self.use_nested_tensor = False

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        """Return the encoded sequence (same shape as ``src``).

        Args:
            src: ``(S, N, E)`` (``(N, S, E)`` with batch_first), or ``(S, E)`` unbatched.
            mask: the attention mask, ``(S, S)`` or ``(N * nhead, S, S)``; True (or -inf)
                blocks a pair, float values are added to the scores.
            src_key_padding_mask: ``(N, S)``; True (or -inf) marks keys to ignore.
            is_causal: the hint that ``mask`` is causal; None detects it by comparing
                ``mask`` with ``Transformer.generate_square_subsequent_mask``.

        Raises:
            AssertionError: a mask is neither bool nor floating point (PyTorch's type).
        """
        if (
            src_key_padding_mask is not None
            and mask is not None
            and src_key_padding_mask.dtype != mask.dtype
        ):
            warnings.warn(
                "Support for mismatched src_key_padding_mask and mask is deprecated. "
                "Use same type for both instead.",
                stacklevel=2,
            )
        src_key_padding_mask = _canonical_mask(
            src_key_padding_mask, "src_key_padding_mask", src.dtype
        )
        mask = _canonical_mask(mask, "mask", src.dtype)
        first_layer = self.layers[0]
        batch_first = first_layer.self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _get_seq_len(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(
                output,
                src_mask=mask,
                is_causal=is_causal,
                src_key_padding_mask=src_key_padding_mask,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoderLayer(Module):
    """Self-attention, attention to the encoder's output, then a feed-forward network.

    Each of the three blocks has a residual connection and a LayerNorm (applied after the
    block, or before it with ``norm_first``).

    Args:
        d_model: the model dimension.
        nhead: the number of attention heads.
        dim_feedforward: the hidden size of the feed-forward network.
        dropout: the dropout probability.
        activation: ``"relu"``, ``"gelu"``, or a callable (a module is registered).
        layer_norm_eps: the LayerNorms' eps.
        batch_first: inputs and outputs are ``(N, T, E)`` rather than ``(T, N, E)``.
        norm_first: apply the LayerNorms before (not after) each block.
        bias: learn biases in the linear maps and LayerNorms.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        RuntimeError: ``activation`` is an unknown string (PyTorch's type and wording).

    Example:
        >>> import gradviz
        >>> from gradviz.nn.modules.transformer_more import TransformerDecoderLayer
        >>> layer = TransformerDecoderLayer(8, 2, 16)
        >>> tuple(layer(gradviz.randn(4, 3, 8), gradviz.randn(6, 3, 8)).shape)
        (4, 3, 8)
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
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        if isinstance(activation, str):
            self.activation = _get_activation_fn(activation)
        else:
            self.activation = activation

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """Return the decoded sequence (same shape as ``tgt``).

        Args:
            tgt: ``(T, N, E)`` (``(N, T, E)`` with batch_first), or ``(T, E)`` unbatched.
            memory: the encoder's output, ``(S, N, E)`` likewise.
            tgt_mask: the self-attention mask, ``(T, T)`` or ``(N * nhead, T, T)``.
            memory_mask: the mask of attention to the memory, ``(T, S)``.
            tgt_key_padding_mask: ``(N, T)``; True (or -inf) marks target keys to ignore.
            memory_key_padding_mask: ``(N, S)``; True (or -inf) marks memory keys to ignore.
            tgt_is_causal: the hint that ``tgt_mask`` is causal.
            memory_is_causal: the hint that ``memory_mask`` is causal.
        """
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            cross = self._mha_block(
                x, memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = self.norm2(x + cross)
            x = self.norm3(x + self._ff_block(x))
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
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout1(out)

    def _mha_block(
        self,
        x: Tensor,
        mem: Tensor,
        attn_mask: Tensor | None,
        key_padding_mask: Tensor | None,
        is_causal: bool,
    ) -> Tensor:
        out = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


class TransformerDecoder(Module):
    """Run a target through ``num_layers`` copies of a decoder layer, then an optional norm.

    Every layer starts as a deep copy of ``decoder_layer`` (so with the same parameters);
    each attends to the same ``memory``.

    Args:
        decoder_layer: the layer to copy (usually a ``TransformerDecoderLayer``).
        num_layers: how many copies to stack.
        norm: a module applied to the output of the last layer, or None.

    Example:
        >>> import gradviz
        >>> from gradviz.nn.modules.transformer_more import (
        ...     TransformerDecoder, TransformerDecoderLayer)
        >>> decoder = TransformerDecoder(TransformerDecoderLayer(8, 2, 16), 2)
        >>> tuple(decoder(gradviz.randn(4, 3, 8), gradviz.randn(6, 3, 8)).shape)
        (4, 3, 8)
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """Return the decoded sequence (same shape as ``tgt``).

        Args:
            tgt: ``(T, N, E)`` (``(N, T, E)`` with batch_first), or ``(T, E)`` unbatched.
            memory: the encoder's output, ``(S, N, E)`` likewise.
            tgt_mask: the self-attention mask, ``(T, T)`` or ``(N * nhead, T, T)``.
            memory_mask: the mask of attention to the memory, ``(T, S)``.
            tgt_key_padding_mask: ``(N, T)``; True (or -inf) marks target keys to ignore.
            memory_key_padding_mask: ``(N, S)``; True (or -inf) marks memory keys to ignore.
            tgt_is_causal: the hint that ``tgt_mask`` is causal; None detects it by
                comparing ``tgt_mask`` with ``Transformer.generate_square_subsequent_mask``.
            memory_is_causal: the hint that ``memory_mask`` is causal.
        """
        seq_len = _get_seq_len(tgt, self.layers[0].self_attn.batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """An encoder-decoder transformer ("Attention Is All You Need"), as PyTorch builds it.

    The encoder is a ``TransformerEncoder`` of ``num_encoder_layers`` layers with a final
    LayerNorm, the decoder a ``TransformerDecoder`` of ``num_decoder_layers`` layers with a
    final LayerNorm; then every parameter with more than one dimension is re-initialised with
    ``xavier_uniform_``. As in PyTorch, the encoder is built with nested tensors enabled, so
    ``batch_first=False`` (the default) gives PyTorch's warning that they are not used.

    Args:
        d_model: the model dimension.
        nhead: the number of attention heads.
        num_encoder_layers: the number of encoder layers.
        num_decoder_layers: the number of decoder layers.
        dim_feedforward: the hidden size of the feed-forward networks.
        dropout: the dropout probability.
        activation: ``"relu"``, ``"gelu"``, or a callable.
        custom_encoder: a module to use as the encoder instead.
        custom_decoder: a module to use as the decoder instead.
        layer_norm_eps: the LayerNorms' eps.
        batch_first: inputs and outputs are ``(N, L, E)`` rather than ``(L, N, E)``.
        norm_first: apply the LayerNorms before (not after) each block.
        bias: learn biases in the linear maps and LayerNorms.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        RuntimeError: ``activation`` is an unknown string (PyTorch's type and wording).

    Example:
        >>> import gradviz
        >>> from gradviz.nn.modules.transformer_more import Transformer
        >>> model = Transformer(8, 2, 1, 1, 16, batch_first=True)
        >>> tuple(model(gradviz.randn(3, 6, 8), gradviz.randn(3, 4, 8)).shape)
        (3, 4, 8)
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        custom_encoder: Any | None = None,
        custom_decoder: Any | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(
                d_model,
                nhead,
                dim_feedforward,
                dropout,
                activation,
                layer_norm_eps,
                batch_first,
                norm_first,
                bias,
                **kw,
            )
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(
                d_model,
                nhead,
                dim_feedforward,
                dropout,
                activation,
                layer_norm_eps,
                batch_first,
                norm_first,
                bias,
                **kw,
            )
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """Encode ``src``, then decode ``tgt`` attending to the encoding.

        Args:
            src: ``(S, N, E)`` (``(N, S, E)`` with batch_first), or ``(S, E)`` unbatched.
            tgt: ``(T, N, E)`` likewise.
            src_mask: the encoder's attention mask, ``(S, S)`` or ``(N * nhead, S, S)``.
            tgt_mask: the decoder's self-attention mask, ``(T, T)`` or ``(N * nhead, T, T)``.
            memory_mask: the mask of attention to the encoding, ``(T, S)``.
            src_key_padding_mask: ``(N, S)``; True (or -inf) marks source keys to ignore.
            tgt_key_padding_mask: ``(N, T)``; True (or -inf) marks target keys to ignore.
            memory_key_padding_mask: ``(N, S)``; True (or -inf) marks memory keys to ignore.
            src_is_causal: the hint that ``src_mask`` is causal (None: detect it).
            tgt_is_causal: the hint that ``tgt_mask`` is causal (None: detect it).
            memory_is_causal: the hint that ``memory_mask`` is causal.

        Returns:
            The decoder's output, shaped like ``tgt``.

        Raises:
            RuntimeError: ``src`` and ``tgt`` have different batch sizes, or a feature size
                other than ``d_model`` (PyTorch's type and wording).
        """
        is_batched = src.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if is_batched and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """Return the ``(sz, sz)`` causal mask: ``-inf`` above the diagonal, 0 elsewhere.

        Args:
            sz: the sequence length.
            device: where to create the mask.
            dtype: the mask's dtype (default: the default float dtype).

        Example:
            >>> from gradviz.nn.modules.transformer_more import Transformer
            >>> Transformer.generate_square_subsequent_mask(3)
            tensor([[0., -inf, -inf],
                    [0., 0., -inf],
                    [0., 0., 0.]])
        """
        return _causal_mask(sz, sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
