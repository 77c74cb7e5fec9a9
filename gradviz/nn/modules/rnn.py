"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and ``RNNCell``, ``LSTMCell``, ``GRUCell``.

The parameters (names, shapes, registration order, so ``state_dict`` keys), their
initialisation U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), the reprs, the argument
checks and the error messages are PyTorch's.

The forward is the composition PyTorch's CPU kernels use (``aten/src/ATen/native/RNN.cpp``),
built from gradviz ops so that every step is a node of the graph, with PyTorch's node names:
per layer and direction, the input projection ``W_ih x + b_ih`` of the whole sequence at once
(``AddmmBackward0`` between two ``ViewBackward0``), ``unbind`` over time (``UnbindBackward0``),
one cell step per time step (``AddmmBackward0`` for ``W_hh h + b_hh``, ``AddBackward0``,
``TanhBackward0``/``ReluBackward0``; GRU and LSTM split their gates with
``UnsafeSplitBackward0``), ``stack`` over time (``StackBackward0``), ``cat`` of the two
directions (``CatBackward0``) and ``stack`` of the final states (``StackBackward0``);
``batch_first`` transposes the input (``TransposeBackward0``) and, for RNN and GRU, the
output (``TransposeBackward1``, PyTorch's in-place ``transpose_``).

``nn.LSTM`` on PyTorch's CPU is one fused oneDNN node (``MkldnnRnnLayerBackward0``) that
gradviz cannot imitate; gradviz builds it from ordinary ops, exactly as PyTorch does when
oneDNN is disabled (``torch.backends.mkldnn.flags(enabled=False)``), so its steps look like
``LSTMCell``'s graph (``MulBackward0`` over ``SigmoidBackward0`` and ``TanhBackward0``).

Packed sequences (``PackedSequence``) are not supported.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from gradviz.engine.creation import empty, zeros
from gradviz.engine.ops.linalg import matmul
from gradviz.engine.ops.pointwise import relu, sigmoid, tanh
from gradviz.engine.ops.shape import Split, Transpose, cat, stack, t, transpose, unbind
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn import init
from gradviz.nn.modules.module import Module
from gradviz.nn.parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


# NOTE: the two ops below exist for PyTorch's node names only. They belong with their
# siblings in gradviz/engine/ops/shape.py (as ``unsafe_split``/``unsafe_chunk`` and
# ``Tensor.transpose_``); they are private here until they move there.
class _UnsafeSplit(Split):
    """Split without view tracking (``unsafe_chunk``). d/da = cat(grads, dim)."""

    node = "UnsafeSplitBackward0"
    view = False


class _TransposeOut(Transpose):
    """PyTorch's in-place ``transpose_`` of an RNN's fresh output. d/da = g.transpose(d0, d1).

    The output it replaces is internal to the layer, so an out-of-place transpose with
    ``transpose_``'s node name is indistinguishable from it.
    """

    node = "TransposeBackward1"
    view = False


def _unsafe_chunk(x: Tensor, chunks: int) -> tuple[Tensor, ...]:
    """Split the gates ``(N, chunks * H)`` into ``chunks`` tensors ``(N, H)``."""
    size = x.shape[1] // chunks
    parts: tuple[Tensor, ...] = _UnsafeSplit.apply(
        x, sizes=(size,) * chunks, dim=1, split_size=size
    )
    return parts


def _check_type(name: str, value: Any, kind: type) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")


class RNNBase(Module):
    """The base of ``RNN``, ``LSTM`` and ``GRU``: their parameters, checks and recurrence.

    Args:
        mode: ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        num_layers: the number of stacked recurrent layers.
        bias: learn the biases ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(N, L, H)`` rather than ``(L, N, H)``.
        dropout: dropout probability on the outputs of each layer but the last (training
            mode only).
        bidirectional: also run each layer backwards in time and concatenate the features.
        proj_size: LSTM only: project the hidden state to this size (0: no projection).
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Raises:
        ValueError: ``dropout`` is not a number in [0, 1], a size is not positive,
            ``proj_size`` is negative or not smaller than ``hidden_size``, or ``mode`` is
            unknown.
        TypeError: ``bias`` or ``batch_first`` is not a bool, or a size is not an int.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1  # type: ignore[operator]
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of "
                "an element being zeroed"
            )
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=3 if type(self) is not RNNBase else 2,
            )
        _check_type("bias", bias, bool)
        _check_type("batch_first", batch_first, bool)
        _check_type("input_size", input_size, int)
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        _check_type("hidden_size", hidden_size, int)
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}.get(mode)
        if gates is None:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = gates * hidden_size
        num_directions = 2 if bidirectional else 1
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params: list[tuple[str, tuple[int, ...]]] = [
                    (f"weight_ih_l{layer}{suffix}", (gate_size, layer_input_size)),
                    (f"weight_hh_l{layer}{suffix}", (gate_size, real_hidden_size)),
                ]
                if bias:
                    params.append((f"bias_ih_l{layer}{suffix}", (gate_size,)))
                    params.append((f"bias_hh_l{layer}{suffix}", (gate_size,)))
                if proj_size > 0:
                    params.append((f"weight_hr_l{layer}{suffix}", (proj_size, hidden_size)))
                for name, shape in params:
                    setattr(self, name, Parameter(empty(*shape, **kw)))
                names = [name for name, _ in params]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list[Parameter]:
        """The parameters in PyTorch's flat order (layer, direction, ih/hh/biases/hr)."""
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters grouped per layer and direction, as PyTorch lists them."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Do nothing: a cuDNN memory layout optimisation in PyTorch (kept for its API)."""

    def extra_repr(self) -> str:
        """Return the sizes and each argument that differs from its default."""
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ checks

    def check_input(self, input: Tensor, batch_sizes: Any = None) -> None:  # noqa: A002
        """Raise PyTorch's error for input of the wrong dtype, rank or feature size.

        Raises:
            ValueError: the input's dtype is not the weights' dtype.
            RuntimeError: the input is not 3-D, or its last size is not ``input_size``.
        """
        weight_dtype = getattr(self, self._flat_weights_names[0]).dtype
        if input.dtype != weight_dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype "
                f"({weight_dtype}). Convert input: input.to({weight_dtype}), or convert "
                f"model: model.to({input.dtype})"
            )
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(
                f"input must have {expected_input_dim} dimensions, got {input.dim()}"
            )
        if self.input_size != input.size(-1):
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {input.size(-1)}"
            )

    def get_expected_hidden_size(
        self,
        input: Tensor,  # noqa: A002
        batch_sizes: Any = None,
    ) -> tuple[int, int, int]:
        """Return ``(num_layers * num_directions, batch, proj_size or hidden_size)``."""
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def check_hidden_size(
        self,
        hx: Tensor,
        expected_hidden_size: tuple[int, int, int],
        msg: str = "Expected hidden size {}, got {}",
    ) -> None:
        """Raise PyTorch's error when ``hx`` is not of ``expected_hidden_size``.

        Raises:
            RuntimeError: the shapes differ.
        """
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.shape)))

    def check_forward_args(self, input: Tensor, hidden: Any, batch_sizes: Any = None) -> None:  # noqa: A002
        """Check the input and the initial hidden state (PyTorch's messages).

        Raises:
            ValueError: the input's dtype is not the weights' dtype.
            RuntimeError: the input or the hidden state has the wrong shape.
        """
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    # ------------------------------------------------------------------ recurrence

    def _layer_params(self, layer: int, direction: int) -> list[Parameter]:
        names = self._all_weights[layer * (2 if self.bidirectional else 1) + direction]
        return [getattr(self, name) for name in names]

    def _cell(self, xw: Tensor, hidden: Any, params: list[Parameter]) -> Any:
        """One time step from the projected input ``xw = W_ih x + b_ih``: the next hidden."""
        w_hh = params[1]
        b_hh = params[3] if self.bias else None
        if self.mode == "GRU":
            return _gru_step(_unsafe_chunk(xw, 3), hidden, w_hh, b_hh)
        if self.mode == "LSTM":
            w_hr = params[-1] if self.proj_size > 0 else None
            return _lstm_step(xw, hidden, w_hh, b_hh, w_hr)
        act = tanh if self.mode == "RNN_TANH" else relu
        return act(F.linear(hidden, w_hh, b_hh) + xw)

    def _direction(
        self, x: Tensor, hidden: Any, params: list[Parameter], reverse: bool
    ) -> tuple[Tensor, Any]:
        """Run one layer in one direction over ``x`` ``(L, N, H_in)``: (outputs, last hidden)."""
        w_ih = params[0]
        b_ih = params[2] if self.bias else None
        steps = list(unbind(F.linear(x, w_ih, b_ih), 0))
        if not steps:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if reverse:
            steps.reverse()
        outputs = []
        for xw in steps:
            hidden = self._cell(xw, hidden, params)
            outputs.append(hidden[0] if self.mode == "LSTM" else hidden)
        if reverse:
            outputs.reverse()
        return stack(outputs, 0), hidden

    def _recur(self, input: Tensor, hiddens: list[Any]) -> tuple[Tensor, list[Any]]:  # noqa: A002
        """Run all layers; ``hiddens`` holds one initial state per layer and direction."""
        x = transpose(input, 0, 1) if self.batch_first else input
        finals: list[Any] = []
        num_directions = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                out, last = self._direction(
                    x,
                    hiddens[layer * num_directions + direction],
                    self._layer_params(layer, direction),
                    reverse=direction == 1,
                )
                outs.append(out)
                finals.append(last)
            x = outs[0] if num_directions == 1 else cat(outs, outs[0].dim() - 1)
            if self.dropout != 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, finals

    def _prepare(self, input: Tensor, kind: str) -> tuple[Tensor, bool, int]:  # noqa: A002
        if input.dim() not in (2, 3):
            tail = " tensor instead" if kind == "RNN" else " instead"
            raise ValueError(f"{kind}: Expected input to be 2D or 3D, got {input.dim()}D{tail}")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        x = input if is_batched else input.unsqueeze(batch_dim)
        return x, is_batched, batch_dim

    def _forward_one_state(
        self,
        kind: str,
        input: Tensor,  # noqa: A002
        hx: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        """The forward of RNN and GRU (one state tensor)."""
        x, is_batched, batch_dim = self._prepare(input, kind)
        if hx is not None:
            if not is_batched:
                if hx.dim() != 2:
                    raise RuntimeError(
                        "For unbatched 2-D input, hx should also be 2-D but got "
                        f"{hx.dim()}-D tensor"
                    )
                hx = hx.unsqueeze(1)
            elif hx.dim() != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor"
                )
        else:
            hx = zeros(*self.get_expected_hidden_size(x), dtype=x.dtype, device=x.device)
        self.check_forward_args(x, hx)
        output, finals = self._recur(x, list(unbind(hx, 0)))
        if self.batch_first:
            output = _TransposeOut.apply(output, dim0=0, dim1=1)
        hidden = stack(finals, 0)
        if not is_batched:
            output = output.squeeze(batch_dim)
            hidden = hidden.squeeze(1)
        return output, hidden


class RNN(RNNBase):
    """An Elman RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)`` for each layer.

    With ``nonlinearity="relu"``, ReLU replaces tanh. Layer ``k > 0`` takes the outputs of
    layer ``k - 1`` (times a dropout mask while training, when ``dropout > 0``).

    Args:
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        num_layers: the number of stacked recurrent layers.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: learn the biases ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(N, L, H)`` rather than ``(L, N, H)``.
        dropout: dropout probability on the outputs of each layer but the last.
        bidirectional: also run each layer backwards in time and concatenate the features.
        device: where to create the parameters.
        dtype: the parameters' dtype.
        **kwargs: only to reject ``proj_size`` with PyTorch's error.

    Attributes:
        weight_ih_l[k]: ``(hidden_size, input_size)`` for ``k = 0``, else
            ``(hidden_size, num_directions * hidden_size)``.
        weight_hh_l[k]: ``(hidden_size, hidden_size)``.
        bias_ih_l[k], bias_hh_l[k]: ``(hidden_size,)``.
        The backward direction's parameters end in ``_reverse``.

    Raises:
        ValueError: ``nonlinearity`` is neither ``"tanh"`` nor ``"relu"``, ``proj_size`` is
            given, or an argument is out of range (see ``RNNBase``).
        TypeError: an unknown keyword argument, or an argument of the wrong type.

    Example:
        >>> import gradviz
        >>> rnn = gradviz.nn.modules.rnn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(gradviz.randn(5, 3, 10))
        >>> tuple(output.shape), tuple(h_n.shape), output.grad_fn.name()
        ((5, 3, 20), (2, 3, 20), 'StackBackward0')
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        _reject_kwargs("RNN", kwargs)
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        """Return ``(output, h_n)``.

        Args:
            input: ``(L, N, input_size)``, ``(N, L, input_size)`` with batch_first, or
                ``(L, input_size)`` unbatched.
            hx: the initial hidden state ``(num_layers * num_directions, N, hidden_size)``,
                or ``(num_layers * num_directions, hidden_size)`` unbatched; zeros if None.

        Returns:
            ``output`` ``(L, N, num_directions * hidden_size)`` (batch first with
            batch_first, no batch unbatched): the last layer's hidden state at each step;
            ``h_n``, the final hidden state of each layer and direction, shaped as ``hx``.

        Raises:
            ValueError: the input is not 2-D or 3-D, or its dtype is not the weights'.
            RuntimeError: the input's feature size, or the hidden state's rank or shape, is
                wrong, or the sequence is empty.
        """
        return self._forward_one_state("RNN", input, hx)


class GRU(RNNBase):
    """A gated recurrent unit (GRU) RNN.

    Each layer computes, for each time step::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Args:
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        num_layers: the number of stacked recurrent layers.
        bias: learn the biases ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(N, L, H)`` rather than ``(L, N, H)``.
        dropout: dropout probability on the outputs of each layer but the last.
        bidirectional: also run each layer backwards in time and concatenate the features.
        device: where to create the parameters.
        dtype: the parameters' dtype.
        **kwargs: only to reject ``proj_size`` with PyTorch's error.

    Attributes:
        weight_ih_l[k]: ``(3 * hidden_size, layer input size)``, gates r, z, n stacked.
        weight_hh_l[k]: ``(3 * hidden_size, hidden_size)``.
        bias_ih_l[k], bias_hh_l[k]: ``(3 * hidden_size,)``.
        The backward direction's parameters end in ``_reverse``.

    Raises:
        ValueError: ``proj_size`` is given, or an argument is out of range.
        TypeError: an unknown keyword argument, or an argument of the wrong type.

    Example:
        >>> import gradviz
        >>> gru = gradviz.nn.modules.rnn.GRU(4, 3, batch_first=True)
        >>> output, h_n = gru(gradviz.randn(2, 5, 4))
        >>> tuple(output.shape), tuple(h_n.shape), output.grad_fn.name()
        ((2, 5, 3), (1, 2, 3), 'TransposeBackward1')
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        _reject_kwargs("GRU", kwargs)
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        """Return ``(output, h_n)`` (shapes as for ``RNN``).

        Args:
            input: ``(L, N, input_size)``, ``(N, L, input_size)`` with batch_first, or
                ``(L, input_size)`` unbatched.
            hx: the initial hidden state ``(num_layers * num_directions, N, hidden_size)``,
                or without the batch dimension unbatched; zeros if None.

        Raises:
            ValueError: the input is not 2-D or 3-D, or its dtype is not the weights'.
            RuntimeError: the input's feature size, or the hidden state's rank or shape, is
                wrong, or the sequence is empty.
        """
        return self._forward_one_state("GRU", input, hx)


class LSTM(RNNBase):
    """A long short-term memory (LSTM) RNN.

    Each layer computes, for each time step::

        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)
        f = sigmoid(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)
        o = sigmoid(W_io x + b_io + W_ho h + b_ho)
        c' = f * c + i * g
        h' = o * tanh(c')            (then h' = W_hr h' with proj_size > 0)

    NOTE: PyTorch's CPU ``nn.LSTM`` records one fused oneDNN node
    (``MkldnnRnnLayerBackward0``); gradviz cannot imitate it and records the ordinary ops
    PyTorch records with oneDNN disabled (``LSTMCell``'s graph for each step), with the
    same numbers.

    Args:
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        num_layers: the number of stacked recurrent layers.
        bias: learn the biases ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(N, L, H)`` rather than ``(L, N, H)``.
        dropout: dropout probability on the outputs of each layer but the last.
        bidirectional: also run each layer backwards in time and concatenate the features.
        proj_size: project each hidden state to this size with ``weight_hr_l[k]`` (0: none).
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Attributes:
        weight_ih_l[k]: ``(4 * hidden_size, layer input size)``, gates i, f, g, o stacked.
        weight_hh_l[k]: ``(4 * hidden_size, proj_size or hidden_size)``.
        bias_ih_l[k], bias_hh_l[k]: ``(4 * hidden_size,)``.
        weight_hr_l[k]: ``(proj_size, hidden_size)``, with ``proj_size > 0`` only.
        The backward direction's parameters end in ``_reverse``.

    Raises:
        ValueError: an argument is out of range (see ``RNNBase``).
        TypeError: an argument of the wrong type.

    Example:
        >>> import gradviz
        >>> lstm = gradviz.nn.modules.rnn.LSTM(4, 3, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(gradviz.randn(5, 2, 4))
        >>> tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape)
        ((5, 2, 6), (2, 2, 3), (2, 2, 3))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )

    def get_expected_cell_size(
        self,
        input: Tensor,  # noqa: A002
        batch_sizes: Any = None,
    ) -> tuple[int, int, int]:
        """Return ``(num_layers * num_directions, batch, hidden_size)``."""
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden: Any, batch_sizes: Any = None) -> None:  # noqa: A002
        """Check the input and the initial ``(h_0, c_0)`` (PyTorch's messages).

        Raises:
            ValueError: the input's dtype is not the weights' dtype.
            RuntimeError: the input, ``h_0`` or ``c_0`` has the wrong shape.
        """
        self.check_input(input, batch_sizes)
        self.check_hidden_size(
            hidden[0],
            self.get_expected_hidden_size(input, batch_sizes),
            "Expected hidden[0] size {}, got {}",
        )
        self.check_hidden_size(
            hidden[1],
            self.get_expected_cell_size(input, batch_sizes),
            "Expected hidden[1] size {}, got {}",
        )

    def forward(
        self,
        input: Tensor,  # noqa: A002
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Return ``(output, (h_n, c_n))``.

        Args:
            input: ``(L, N, input_size)``, ``(N, L, input_size)`` with batch_first, or
                ``(L, input_size)`` unbatched.
            hx: ``(h_0, c_0)``: ``(num_layers * num_directions, N, proj_size or
                hidden_size)`` and ``(num_layers * num_directions, N, hidden_size)``, without
                the batch dimension unbatched; zeros if None.

        Returns:
            ``output`` ``(L, N, num_directions * (proj_size or hidden_size))`` (batch first
            with batch_first, no batch unbatched) and the final ``(h_n, c_n)`` of each layer
            and direction, shaped as ``hx``.

        Raises:
            ValueError: the input is not 2-D or 3-D, or its dtype is not the weights'.
            RuntimeError: the input's feature size, or the states' ranks or shapes, are
                wrong, or the sequence is empty.
        """
        x, is_batched, batch_dim = self._prepare(input, "LSTM")
        if hx is None:
            h0 = zeros(*self.get_expected_hidden_size(x), dtype=x.dtype, device=x.device)
            c0 = zeros(*self.get_expected_cell_size(x), dtype=x.dtype, device=x.device)
        else:
            h0, c0 = hx
            if is_batched:
                if h0.dim() != 3 or c0.dim() != 3:
                    raise RuntimeError(
                        "For batched 3-D input, hx and cx should also be 3-D but got "
                        f"({h0.dim()}-D, {c0.dim()}-D) tensors"
                    )
            else:
                if h0.dim() != 2 or c0.dim() != 2:
                    raise RuntimeError(
                        "For unbatched 2-D input, hx and cx should also be 2-D but got "
                        f"({h0.dim()}-D, {c0.dim()}-D) tensors"
                    )
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
        self.check_forward_args(x, (h0, c0))
        hiddens = list(zip(unbind(h0, 0), unbind(c0, 0), strict=True))
        output, finals = self._recur(x, hiddens)
        if self.batch_first:
            output = transpose(output, 0, 1)  # PyTorch's LSTM transposes out of place
        h_n = stack([h for h, _ in finals], 0)
        c_n = stack([c for _, c in finals], 0)
        if not is_batched:
            output = output.squeeze(batch_dim)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)


def _reject_kwargs(kind: str, kwargs: dict[str, Any]) -> None:
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    for name in kwargs:
        raise TypeError(f"{kind}.__init__() got an unexpected keyword argument '{name}'")


def _gru_step(
    igates: tuple[Tensor, ...], hidden: Tensor, w_hh: Tensor, b_hh: Tensor | None
) -> Tensor:
    """One GRU step from the input gates ``W_i* x + b_i*`` (r, z, n), as PyTorch's GRUCell."""
    hgates = _unsafe_chunk(F.linear(hidden, w_hh, b_hh), 3)
    reset_gate = sigmoid(hgates[0] + igates[0])
    input_gate = sigmoid(hgates[1] + igates[1])
    new_gate = tanh(igates[2] + hgates[2] * reset_gate)
    return (hidden - new_gate) * input_gate + new_gate


def _lstm_step(
    xw: Tensor,
    hidden: tuple[Tensor, Tensor],
    w_hh: Tensor,
    b_hh: Tensor | None,
    w_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step from the projected input ``xw``: ``(h', c')``, as PyTorch's LSTMCell."""
    hx, cx = hidden
    hy, cy = _lstm_step_gates(F.linear(hx, w_hh, b_hh) + xw, cx)
    if w_hr is not None:
        hy = matmul(hy, t(w_hr))
    return hy, cy


# ---------------------------------------------------------------------------- cells


class RNNCellBase(Module):
    """The base of the cells: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.

    Args:
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        bias: learn the biases ``bias_ih`` and ``bias_hh``.
        num_chunks: the number of gates stacked in each weight (1, 3 or 4).
        device: where to create the parameters.
        dtype: the parameters' dtype.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        """Return the sizes, then ``bias`` and ``nonlinearity`` where not the default."""
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _prepare(
        self,
        kind: str,
        input: Tensor,  # noqa: A002
        hx: Tensor | None,
    ) -> tuple[Tensor, Tensor, bool]:
        """Check ranks, add the batch dimension to unbatched input, default ``hx`` to zeros.

        For the one-state cells (RNNCell, GRUCell); LSTMCell checks its two states itself.
        """
        if input.dim() not in (1, 2):
            raise ValueError(f"{kind}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{kind}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        is_batched = input.dim() == 2
        x = input if is_batched else input.unsqueeze(0)
        if hx is None:
            hx = zeros(x.size(0), self.hidden_size, dtype=x.dtype, device=x.device)
        elif not is_batched:
            hx = hx.unsqueeze(0)
        return x, hx, is_batched

    def _check_input(self, input: Tensor) -> None:  # noqa: A002
        expected = self.weight_ih.size(1)
        if input.size(1) != expected:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.size(1)} expected {expected}"
            )

    def _check_hidden(self, input: Tensor, hx: Tensor, label: int) -> None:  # noqa: A002
        if input.size(0) != hx.size(0):
            raise RuntimeError(
                f"Input batch size {input.size(0)} doesn't match hidden{label} batch size "
                f"{hx.size(0)}"
            )
        expected = self.weight_hh.size(1)
        if hx.dim() < 2:
            raise IndexError(
                "Dimension out of range (expected to be in range of [-1, 0], but got 1)"
            )
        if hx.size(1) != expected:
            raise RuntimeError(
                f"hidden{label} has inconsistent hidden_size: got {hx.size(1)}, expected {expected}"
            )


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ReLU).

    Args:
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        bias: learn the biases ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"`` (another value fails when called, as in
            PyTorch).
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Attributes:
        weight_ih: ``(hidden_size, input_size)``.
        weight_hh: ``(hidden_size, hidden_size)``.
        bias_ih, bias_hh: ``(hidden_size,)``, or None.

    Example:
        >>> import gradviz
        >>> cell = gradviz.nn.modules.rnn.RNNCell(3, 4)
        >>> h = cell(gradviz.randn(2, 3))
        >>> tuple(h.shape), h.grad_fn.name()
        ((2, 4), 'TanhBackward0')
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        """Return the next hidden state ``(N, hidden_size)`` (``(hidden_size,)`` unbatched).

        Args:
            input: ``(N, input_size)`` or ``(input_size,)``.
            hx: ``(N, hidden_size)`` or ``(hidden_size,)``; zeros if None.

        Raises:
            ValueError: the input or ``hx`` is not 1-D or 2-D.
            RuntimeError: the nonlinearity is unknown, or a size does not fit.
            IndexError: ``hx`` is 1-D while the input is batched (PyTorch's error).
        """
        x, hx, is_batched = self._prepare("RNNCell", input, hx)
        if self.nonlinearity == "tanh":
            act = tanh
        elif self.nonlinearity == "relu":
            act = relu
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check_input(x)
        self._check_hidden(x, hx, 0)
        hy = F.linear(hx, self.weight_hh, self.bias_hh)
        ret = act(hy + F.linear(x, self.weight_ih, self.bias_ih))
        return ret if is_batched else ret.squeeze(0)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n; see ``GRU``).

    Args:
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        bias: learn the biases ``bias_ih`` and ``bias_hh``.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Attributes:
        weight_ih: ``(3 * hidden_size, input_size)``.
        weight_hh: ``(3 * hidden_size, hidden_size)``.
        bias_ih, bias_hh: ``(3 * hidden_size,)``, or None.

    Example:
        >>> import gradviz
        >>> cell = gradviz.nn.modules.rnn.GRUCell(3, 4)
        >>> h = cell(gradviz.randn(3), gradviz.zeros(4))
        >>> tuple(h.shape)
        (4,)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        """Return the next hidden state ``(N, hidden_size)`` (``(hidden_size,)`` unbatched).

        Args:
            input: ``(N, input_size)`` or ``(input_size,)``.
            hx: ``(N, hidden_size)`` or ``(hidden_size,)``; zeros if None.

        Raises:
            ValueError: the input or ``hx`` is not 1-D or 2-D.
            RuntimeError: a size does not fit.
            IndexError: ``hx`` is 1-D while the input is batched (PyTorch's error).
        """
        x, hx, is_batched = self._prepare("GRUCell", input, hx)
        self._check_input(x)
        self._check_hidden(x, hx, 0)
        igates = _unsafe_chunk(F.linear(x, self.weight_ih, self.bias_ih), 3)
        ret = _gru_step(igates, hx, self.weight_hh, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o; see ``LSTM``): returns ``(h', c')``.

    Its graph is PyTorch's: ``h'`` is a ``MulBackward0`` over ``SigmoidBackward0`` (the
    output gate) and ``TanhBackward0`` (of ``c'``).

    Args:
        input_size: the number of features of the input ``x``.
        hidden_size: the number of features of the hidden state ``h``.
        bias: learn the biases ``bias_ih`` and ``bias_hh``.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Attributes:
        weight_ih: ``(4 * hidden_size, input_size)``.
        weight_hh: ``(4 * hidden_size, hidden_size)``.
        bias_ih, bias_hh: ``(4 * hidden_size,)``, or None.

    Example:
        >>> import gradviz
        >>> cell = gradviz.nn.modules.rnn.LSTMCell(3, 4)
        >>> h, c = cell(gradviz.randn(2, 3))
        >>> tuple(h.shape), tuple(c.shape), h.grad_fn.name()
        ((2, 4), (2, 4), 'MulBackward0')
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(
        self,
        input: Tensor,  # noqa: A002
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Return ``(h', c')``, each ``(N, hidden_size)`` (``(hidden_size,)`` unbatched).

        Args:
            input: ``(N, input_size)`` or ``(input_size,)``.
            hx: ``(h, c)``, each ``(N, hidden_size)`` or ``(hidden_size,)``; zeros if None.

        Raises:
            ValueError: the input, ``h`` or ``c`` is not 1-D or 2-D.
            RuntimeError: a size does not fit.
            IndexError: ``h`` or ``c`` is 1-D while the input is batched (PyTorch's error).
        """
        if input.dim() not in (1, 2):
            raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D instead"
                    )
        is_batched = input.dim() == 2
        x = input if is_batched else input.unsqueeze(0)
        if hx is None:
            h0 = zeros(x.size(0), self.hidden_size, dtype=x.dtype, device=x.device)
            c0 = h0
        else:
            h0, c0 = hx
            if not is_batched:
                h0, c0 = h0.unsqueeze(0), c0.unsqueeze(0)
        self._check_input(x)
        self._check_hidden(x, h0, 0)
        self._check_hidden(x, c0, 1)
        gates_hh = F.linear(h0, self.weight_hh, self.bias_hh)
        xw = F.linear(x, self.weight_ih, self.bias_ih)
        hy, cy = _lstm_step_gates(gates_hh + xw, c0)
        if not is_batched:
            return hy.squeeze(0), cy.squeeze(0)
        return hy, cy


def _lstm_step_gates(gates: Tensor, cx: Tensor) -> tuple[Tensor, Tensor]:
    """Return ``(h', c')`` from the summed gates ``(N, 4H)`` and the cell state."""
    chunked = _unsafe_chunk(gates, 4)
    ingate = sigmoid(chunked[0])
    forgetgate = sigmoid(chunked[1])
    cellgate = tanh(chunked[2])
    outgate = sigmoid(chunked[3])
    cy = forgetgate * cx + ingate * cellgate
    hy = outgate * tanh(cy)
    return hy, cy
