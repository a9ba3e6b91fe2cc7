"""Convolutional encoders and decoders for 1-D (waveform) and 2-D (spectrogram) inputs.

Each conv layer downsamples every spatial axis that is at least ``stride`` long with
kernel ``2·stride`` and padding ``stride // 2``, which divides its size by ``stride``
(floor). An axis shorter than ``stride`` (a short clip's few spectrogram frames, say)
would make that kernel longer than the padded input, so the layer leaves it alone:
stride 1, kernel 3, padding 1, size unchanged. Short inputs therefore get fewer
downsampling stages on their short axes instead of a crash; any input of at least one
sample per axis works. The decoder mirrors the encoder with transposed convolutions
whose ``output_padding`` restores the exact sizes the encoder saw, so reconstructions
always have the input's shape.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError

MAX_FLAT = 8192  # keep adding layers until the flattened conv output is at most this


def axis_strides(size: tuple[int, ...], stride: int) -> tuple[int, ...]:
    """Stride per spatial axis for a layer whose input has spatial ``size``.

    ``stride`` on axes of at least ``stride`` elements, 1 (no downsampling) on shorter ones.
    """
    return tuple(stride if s >= stride else 1 for s in size)


def _kernel_and_padding(strides: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Kernel and padding per axis: (2·s, s // 2) downsamples by s; (3, 1) keeps the size."""
    kernel = tuple(2 * s if s > 1 else 3 for s in strides)
    padding = tuple(s // 2 if s > 1 else 1 for s in strides)
    return kernel, padding


def conv_plan(in_shape: tuple[int, ...], channels: tuple[int, ...], stride: int, max_layers: int = 12) -> tuple[list[int], list[tuple[int, ...]]]:
    """Plan the conv stack for an input of shape ``[C, *spatial]``.

    Returns (output channels per layer, spatial size before each layer plus the final one).
    Every entry of ``channels`` becomes a layer; further layers of the last width are
    appended while the flattened output exceeds ``MAX_FLAT`` and every axis can still be
    halved (or quartered). Layer ``i`` downsamples with :func:`axis_strides` of ``sizes[i]``.
    """
    if stride < 2:
        raise ConfigError(f"conv stride must be >= 2, got {stride}")
    spatial = tuple(int(s) for s in in_shape[1:])
    if not spatial or min(spatial) < 1:
        raise ConfigError(f"conv input needs at least one element per spatial axis, got shape {tuple(in_shape)}")
    chans = list(channels)
    sizes = [spatial]
    i = 0
    while True:
        if i >= len(chans):
            flat = chans[-1] * math.prod(sizes[-1])
            if flat <= MAX_FLAT or len(chans) >= max_layers or min(sizes[-1]) < 2 * stride:
                break
            chans.append(chans[-1])
        steps = axis_strides(sizes[-1], stride)
        sizes.append(tuple(s // st for s, st in zip(sizes[-1], steps)))
        i += 1
    return chans, sizes


class ConvEncoder(nn.Module):
    """x [B, C, *spatial] → vector [B, out_dim] through strided convs and an MLP head."""

    def __init__(self, in_shape: tuple[int, ...], out_dim: int, channels: tuple[int, ...] = (32, 32, 64, 64), hidden_dim: int = 256, stride: int = 2):
        super().__init__()
        dims = len(in_shape) - 1
        conv = {1: nn.Conv1d, 2: nn.Conv2d}[dims]
        self.channels, self.sizes = conv_plan(in_shape, channels, stride)
        layers: list[nn.Module] = []
        c_in = in_shape[0]
        for c_out, size in zip(self.channels, self.sizes):
            steps = axis_strides(size, stride)
            kernel, padding = _kernel_and_padding(steps)
            layers += [conv(c_in, c_out, kernel, steps, padding), nn.SiLU()]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        flat = c_in * math.prod(self.sizes[-1])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(x))


class ConvDecoder(nn.Module):
    """Vector [B, in_dim] → x [B, C, *spatial], the mirror of a :class:`ConvEncoder`."""

    def __init__(self, out_shape: tuple[int, ...], in_dim: int, channels: tuple[int, ...] = (32, 32, 64, 64), hidden_dim: int = 256, stride: int = 2):
        super().__init__()
        dims = len(out_shape) - 1
        tconv = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}[dims]
        chans, sizes = conv_plan(out_shape, channels, stride)
        self.start_shape = (chans[-1], *sizes[-1])
        self.head = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, math.prod(self.start_shape)))
        layers: list[nn.Module] = []
        outs = list(reversed([out_shape[0]] + chans[:-1]))
        ins = list(reversed(chans))
        for j, (c_in, c_out) in enumerate(zip(ins, outs)):
            small, target = sizes[len(chans) - j], sizes[len(chans) - j - 1]
            # The encoder layer that mapped ``target`` to ``small`` used these strides.
            steps = axis_strides(target, stride)
            kernel, padding = _kernel_and_padding(steps)
            pad = tuple(t - s * st for s, t, st in zip(small, target, steps))
            layers.append(tconv(c_in, c_out, kernel, steps, padding, output_padding=pad))
            if j < len(chans) - 1:
                layers.append(nn.SiLU())
        self.convs = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.convs(self.head(z).view(z.shape[0], *self.start_shape))
