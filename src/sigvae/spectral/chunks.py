"""Separating audio of any length in bounded memory: overlapping chunks, cross-faded.

The file is cut into chunks of ``chunk`` samples whose starts are ``chunk − overlap``
apart, all multiples of ``align`` (the separator's frame stride, so every chunk sees the
same STFT frame grid and conv strides as the whole file would). Each chunk is separated
on its own; consecutive chunks are joined at the middle of their overlap with a linear
cross-fade of ``fade`` samples (weights summing to one). A separator whose output at a
sample depends only on input within ± ``overlap/2 − fade/2`` samples (its receptive
field) therefore gives exactly the whole-file result everywhere except near the file's
own ends; only ``batch`` chunks are in memory at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..errors import ConfigError


def chunk_plan(total: int, chunk: int, overlap: int, align: int = 1) -> list[int]:
    """Start sample of every chunk for a signal of ``total`` samples (the last one may run past the end)."""
    if chunk < 1 or overlap < 0 or overlap >= chunk:
        raise ConfigError(f"need 0 <= overlap < chunk, got chunk {chunk} and overlap {overlap} samples")
    step = (chunk - overlap) // align * align
    if step < 1:
        raise ConfigError(f"chunk − overlap ({chunk - overlap} samples) must be at least the frame stride {align}")
    starts = [0]
    while starts[-1] + chunk < total:
        starts.append(starts[-1] + step)
    return starts


def _weights(starts: list[int], chunk: int, total: int, fade: int) -> list[np.ndarray]:
    """Per-chunk weights over its own span: 1 inside, complementary linear ramps at the joins."""
    out = []
    for i, s in enumerate(starts):
        w = np.ones(chunk, np.float32)
        for j, side in ((i - 1, "in"), (i + 1, "out")):
            if not 0 <= j < len(starts):
                continue
            a, b = (starts[j], s) if side == "in" else (s, starts[j])
            join = (b + a + chunk) // 2  # middle of the overlap [b, a + chunk)
            lo, hi = join - fade // 2, join - fade // 2 + fade
            t = np.arange(s, s + chunk)
            ramp = np.clip((t - lo + 0.5) / max(1, hi - lo), 0.0, 1.0).astype(np.float32)
            w *= ramp if side == "in" else 1.0 - ramp
        out.append(w)
    return out


def separate_in_chunks(fn: Callable[[torch.Tensor], torch.Tensor], wave: torch.Tensor, chunk: int, overlap: int,
                       fade: int | None = None, align: int = 1, batch: int = 4) -> torch.Tensor:
    """Apply ``fn`` (chunks [B, C, chunk] → estimates [B, K, C, chunk]) to ``wave`` [C, T] chunk by chunk.

    Returns estimates [K, C, T]. ``fade`` defaults to overlap / 4 and must fit in the overlap.
    """
    c, total = wave.shape
    fade = max(1, overlap // 4) if fade is None else int(fade)
    if fade > overlap:
        raise ConfigError(f"fade ({fade} samples) must not exceed the overlap ({overlap})")
    if total <= chunk:
        return fn(wave[None])[0]
    starts = chunk_plan(total, chunk, overlap, align)
    weights = _weights(starts, chunk, total, fade)
    out = None
    for b in range(0, len(starts), batch):
        group = starts[b:b + batch]
        pieces = torch.zeros(len(group), c, chunk, dtype=wave.dtype, device=wave.device)
        for i, s in enumerate(group):
            seg = wave[:, s:min(total, s + chunk)]
            pieces[i, :, : seg.shape[1]] = seg
        est = fn(pieces)
        if out is None:
            out = torch.zeros(est.shape[1], c, total, dtype=est.dtype, device=est.device)
        for i, s in enumerate(group):
            n = min(chunk, total - s)
            w = torch.from_numpy(weights[b + i][:n]).to(est.device)
            out[..., s:s + n] += est[i, ..., :n] * w
    return out
