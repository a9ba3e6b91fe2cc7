"""Convolutional encoders and decoders for 1-D (waveform) and 2-D (spectrogram) inputs.

Each conv layer uses kernel ``2·stride`` and padding ``stride // 2``, so it divides every
spatial size by ``stride`` (floor). The decoder mirrors the encoder with transposed
convolutions whose ``output_padding`` restores the exact sizes the encoder saw, so
reconstructions always have the input's shape.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MAX_FLAT = 8192  # keep adding layers until the flattened conv output is at most this


def conv_plan(in_shape: tuple[int, ...], channels: tuple[int, ...], stride: int, max_layers: int = 12) -> tuple[list[int], list[tuple[int, ...]]]:
    """Return (channels per layer, spatial size before each layer plus the final one)."""
    spatial = tuple(in_shape[1:])
    chans = list(channels)
    sizes = [spatial]
    i = 0
    while True:
        if i >= len(chans):
            flat = chans[-1] * math.prod(sizes[-1])
            if flat <= MAX_FLAT or len(chans) >= max_layers or min(sizes[-1]) < 2 * stride:
                break
            chans.append(chans[-1])
        nxt = tuple(max(1, s // stride) for s in sizes[-1])
        sizes.append(nxt)
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
        for c_out in self.channels:
            layers += [conv(c_in, c_out, 2 * stride, stride, stride // 2), nn.SiLU()]
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
            pad = tuple(t - s * stride for s, t in zip(small, target))
            layers.append(tconv(c_in, c_out, 2 * stride, stride, stride // 2, output_padding=pad if dims > 1 else pad[0]))
            if j < len(chans) - 1:
                layers.append(nn.SiLU())
        self.convs = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.convs(self.head(z).view(z.shape[0], *self.start_shape))
