"""Normalisation layers: ``LayerNorm``, ``GroupNorm``, batch and instance norm.

BatchNorm keeps its running statistics as buffers, registered in PyTorch's order
(``running_mean``, ``running_var``, ``num_batches_tracked``), so ``state_dict()`` keys
match PyTorch's. Its ``_version`` is 2: a state dict without ``num_batches_tracked``
(older PyTorch checkpoints, or a plain dict without ``_metadata``) loads with the
module's current count instead of failing as a missing key.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

from gradviz.engine import dtypes as _dt
from gradviz.engine.creation import empty, ones, tensor, zeros
from gradviz.engine.tensor import Tensor
from gradviz.nn import functional as F  # noqa: N812 - PyTorch's conventional name
from gradviz.nn import init
from gradviz.nn.modules.module import Module
from gradviz.nn.parameter import Parameter

__all__ = [
    "LayerNorm",
    "GroupNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "InstanceNorm1d",
    "InstanceNorm2d",
]


def _affine_parameters(
    module: Module, shape: tuple[int, ...], enabled: bool, bias: bool, device: Any, dtype: Any
) -> None:
    """Register a norm layer's ``weight`` and ``bias`` of ``shape`` (None where not wanted).

    In PyTorch's order, so ``state_dict()`` keys and ``named_parameters()`` match.
    """
    if enabled:
        module.weight = Parameter(empty(*shape, device=device, dtype=dtype))
        if bias:
            module.bias = Parameter(empty(*shape, device=device, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module, enabled: bool) -> None:
    """Set a norm layer's ``weight`` to ones and its ``bias`` (if any) to zeros."""
    if enabled:
        init.ones_(module.weight)
        if module.bias is not None:
            init.zeros_(module.bias)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift.

    Args:
        normalized_shape: the trailing shape to normalise over (an int or a sequence).
        eps: added to the variance for stability.
        elementwise_affine: learn a per-element ``weight`` (ones) and ``bias`` (zeros).
        bias: learn the ``bias`` (when ``elementwise_affine``).
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Example:
        >>> import gradviz.nn as nn
        >>> nn.LayerNorm(8)
        LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set ``weight`` to ones and ``bias`` to zeros."""
        _reset_affine(self, self.elementwise_affine)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the normalised, scaled and shifted input."""
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """Return ``normalized_shape, eps=..., elementwise_affine=..., bias=...``."""
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class _BatchNorm(Module):
    """Shared code of ``BatchNorm1d`` and ``BatchNorm2d``."""

    _version = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, (num_features,), affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dt.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Set the running mean to 0, the running variance to 1 and the batch count to 0."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Reset the running statistics, ``weight`` to ones and ``bias`` to zeros."""
        self.reset_running_stats()
        _reset_affine(self, self.affine)

    def _check_input_dim(self, input: Tensor) -> None:  # noqa: A002
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Normalise each channel with batch statistics (training) or running ones (eval)."""
        self._check_input_dim(input)
        exponential_average_factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average
                exponential_average_factor = 1.0 / float(self.num_batches_tracked)
            else:
                exponential_average_factor = self.momentum
        if self.training:
            bn_training = True
        else:
            bn_training = (self.running_mean is None) and (self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if use_running else None,
            self.running_var if use_running else None,
            self.weight,
            self.bias,
            bn_training,
            exponential_average_factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        """Return ``num_features, eps=, momentum=, affine=, bias=, track_running_stats=``."""
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

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
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            # Version 2 added num_batches_tracked; older state dicts keep the current count.
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = (
                    self.num_batches_tracked
                    if self.num_batches_tracked is not None
                    else tensor(0, dtype=_dt.int64)
                )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over ``(N, C)`` or ``(N, C, L)`` input.

    Args:
        num_features: the number of channels ``C``.
        eps: added to the variance for stability.
        momentum: weight of the new batch in the running statistics (None: cumulative
            average).
        affine: learn a per-channel ``weight`` and ``bias``.
        track_running_stats: keep running statistics (buffers) for evaluation mode.
        device: where to create the parameters and buffers.
        dtype: their dtype.
        bias: learn the ``bias`` (when ``affine``; keyword only).

    Raises:
        ValueError: (when called) the input is not 2-D or 3-D.

    Example:
        >>> import gradviz.nn as nn
        >>> [name for name, _ in nn.BatchNorm1d(4).named_buffers()]
        ['running_mean', 'running_var', 'num_batches_tracked']
    """

    def _check_input_dim(self, input: Tensor) -> None:  # noqa: A002
        if input.dim() != 2 and input.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over ``(N, C, H, W)`` input.

    Args:
        num_features: the number of channels ``C``.
        eps: added to the variance for stability.
        momentum: weight of the new batch in the running statistics (None: cumulative
            average).
        affine: learn a per-channel ``weight`` and ``bias``.
        track_running_stats: keep running statistics (buffers) for evaluation mode.
        device: where to create the parameters and buffers.
        dtype: their dtype.
        bias: learn the ``bias`` (when ``affine``; keyword only).

    Raises:
        ValueError: (when called) the input is not 4-D.
    """

    def _check_input_dim(self, input: Tensor) -> None:  # noqa: A002
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class GroupNorm(Module):
    """Normalise each sample's channels in ``num_groups`` groups, then scale and shift per channel.

    Args:
        num_groups: how many groups to split the channels into.
        num_channels: the number of channels ``C`` of the ``(N, C, *)`` input.
        eps: added to the variance for stability.
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
        device: where to create the parameters.
        dtype: the parameters' dtype.
        bias: learn the ``bias`` (when ``affine``; keyword only).

    Raises:
        ValueError: ``num_channels`` is not divisible by ``num_groups``.

    Example:
        >>> from gradviz.nn.modules.normalization import GroupNorm
        >>> GroupNorm(2, 4)
        GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(
                f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set ``weight`` to ones and ``bias`` to zeros."""
        _reset_affine(self, self.affine)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Return the group-normalised, scaled and shifted input."""
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """Return ``num_groups, num_channels, eps=..., affine=..., bias=...``."""
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class _InstanceNorm(_BatchNorm):
    """Shared code of ``InstanceNorm1d`` and ``InstanceNorm2d``.

    The parameters and buffers are batch norm's (same names, same ``state_dict``), with
    PyTorch's instance-norm defaults: no affine parameters, no running statistics.
    """

    _no_batch_dim = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def _check_input_dim(self, input: Tensor) -> None:  # noqa: A002
        n = self._no_batch_dim
        if input.dim() not in (n, n + 1):
            raise ValueError(f"expected {n}D or {n + 1}D input (got {input.dim()}D input)")

    def _apply_instance_norm(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        """Normalise each channel of each sample over its spatial dims.

        Raises:
            ValueError: a wrong input rank, or (with ``affine``) a channel count that is
                not ``num_features``.
        """
        self._check_input_dim(input)
        feature_dim = input.dim() - self._no_batch_dim
        if input.size(feature_dim) != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features"
                    f" ({self.num_features}), but got: {input.size(feature_dim)}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. "
                "You can silence this warning by not passing in num_features, "
                "which is not used because affine=False",
                stacklevel=2,
            )
        if input.dim() == self._no_batch_dim:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)

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
        version = local_metadata.get("version", None)
        # Version 1 dropped the running statistics when track_running_stats=False.
        if version is None and not self.track_running_stats:
            keys = [prefix + n for n in ("running_mean", "running_var") if prefix + n in state_dict]
            if keys:
                klass = type(self).__name__
                names = " and ".join(f'"{k}"' for k in keys)
                error_msgs.append(
                    f"Unexpected running stats buffer(s) {names} for {klass} "
                    "with track_running_stats=False. If state_dict is a "
                    "checkpoint saved before 0.4.0, this may be expected "
                    f"because {klass} does not track running stats by default "
                    "since 0.4.0. Please remove these keys from state_dict. If "
                    "the running stats are actually needed, instead set "
                    f"track_running_stats=True in {klass} to enable them. See "
                    f"the documentation of {klass} for details."
                )
                for key in keys:
                    state_dict.pop(key)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation over ``(N, C, L)`` or ``(C, L)`` input.

    Args:
        num_features: the number of channels ``C``.
        eps: added to the variance for stability.
        momentum: weight of the new statistics in the running ones (None: 0).
        affine: learn a per-channel ``weight`` and ``bias``.
        track_running_stats: keep running statistics (buffers) for evaluation mode.
        device: where to create the parameters and buffers.
        dtype: their dtype.
        bias: learn the ``bias`` (when ``affine``; keyword only).

    Example:
        >>> from gradviz.nn.modules.normalization import InstanceNorm1d
        >>> [name for name, _ in InstanceNorm1d(4, affine=True).named_parameters()]
        ['weight', 'bias']
    """

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over ``(N, C, H, W)`` or ``(C, H, W)`` input.

    Args:
        num_features: the number of channels ``C``.
        eps: added to the variance for stability.
        momentum: weight of the new statistics in the running ones (None: 0).
        affine: learn a per-channel ``weight`` and ``bias``.
        track_running_stats: keep running statistics (buffers) for evaluation mode.
        device: where to create the parameters and buffers.
        dtype: their dtype.
        bias: learn the ``bias`` (when ``affine``; keyword only).
    """

    _no_batch_dim = 3
