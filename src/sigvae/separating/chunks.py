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


#: Bytes per input sample of a chunk while a batch is separated: the float32 chunk and the
#: model's spectrograms, masks and per-source estimates (a generous bound for the separator).
CHUNK_BYTES_PER_SAMPLE = 64


def _check_chunk_memory(total: int, chunk: int, overlap: int, align: int, batch: int, channels: int | None) -> None:
    """Check one batch of chunks against the memory budget before any is built."""
    from ..limits import check_allocation

    step = max(1, (chunk - overlap) // max(1, align) * max(1, align))
    n_chunks = 1 if total <= chunk else 1 + -(-(total - chunk) // step)
    check_allocation(f"separating in chunks of {min(chunk, total)} samples, {min(batch, n_chunks)} at once",
                     (min(batch, n_chunks), channels or 1, min(chunk, total)), CHUNK_BYTES_PER_SAMPLE)


def _weight(i: int, starts: list[int], chunk: int, fade: int) -> np.ndarray:
    """Weights of chunk ``i`` over its own span [chunk]: 1 inside, complementary linear ramps at the joins."""
    s = starts[i]
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
    return w


def _weights(starts: list[int], chunk: int, total: int, fade: int) -> list[np.ndarray]:
    """Per-chunk weights for every chunk (see :func:`_weight`)."""
    return [_weight(i, starts, chunk, fade) for i in range(len(starts))]


def separate_in_chunks(fn: Callable[[torch.Tensor], torch.Tensor], wave: torch.Tensor, chunk: int, overlap: int,
                       fade: int | None = None, align: int = 1, batch: int = 4) -> torch.Tensor:
    """Apply ``fn`` (chunks [B, C, chunk] → estimates [B, K, C, chunk]) to ``wave`` [C, T] chunk by chunk.

    Returns estimates [K, C, T]. ``fade`` defaults to overlap / 4 and must fit in the overlap.
    """
    c, total = wave.shape
    fade = max(1, overlap // 4) if fade is None else int(fade)
    if fade > overlap:
        raise ConfigError(f"fade ({fade} samples) must not exceed the overlap ({overlap})")
    _check_chunk_memory(total, chunk, overlap, align, batch, c)
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


def separate_stream(fn: Callable[[torch.Tensor], torch.Tensor], read: Callable[[int, int], np.ndarray], total: int,
                    chunk: int, overlap: int, write: Callable[[torch.Tensor], None], fade: int | None = None,
                    align: int = 1, batch: int = 4) -> None:
    """:func:`separate_in_chunks` for a signal that never has to be in memory whole.

    ``read(start, stop)`` returns samples [C, stop − start] (float32) of a signal of
    ``total`` samples; ``fn`` maps chunks [B, C, chunk] → estimates [B, K, C, chunk];
    ``write(block)`` receives the finished estimates [K, C, n] in order, blocks summing to
    ``total`` samples. Chunks, weights and the order of the additions are those of
    :func:`separate_in_chunks`, so the concatenated blocks equal its result bit for bit,
    while memory holds about ``batch`` chunks of input and output (not the whole signal).
    """
    fade = max(1, overlap // 4) if fade is None else int(fade)
    if fade > overlap:
        raise ConfigError(f"fade ({fade} samples) must not exceed the overlap ({overlap})")
    _check_chunk_memory(total, chunk, overlap, align, batch, None)
    if total <= chunk:
        x = torch.from_numpy(np.ascontiguousarray(read(0, total), dtype=np.float32))
        write(fn(x[None])[0])
        return
    starts = chunk_plan(total, chunk, overlap, align)
    buf: torch.Tensor | None = None  # estimates for samples [done, done + buf.shape[-1])
    done = 0
    for b in range(0, len(starts), batch):
        group = starts[b:b + batch]
        first = torch.from_numpy(np.ascontiguousarray(read(group[0], min(total, group[0] + chunk)), dtype=np.float32))
        pieces = torch.zeros(len(group), first.shape[0], chunk, dtype=first.dtype)
        for i, s in enumerate(group):
            seg = first if i == 0 else torch.from_numpy(np.ascontiguousarray(read(s, min(total, s + chunk)), dtype=np.float32))
            pieces[i, :, : seg.shape[1]] = seg
        est = fn(pieces)
        end = min(total, group[-1] + chunk)
        if buf is None:
            buf = torch.zeros(est.shape[1], est.shape[2], end - done, dtype=est.dtype, device=est.device)
        elif done + buf.shape[-1] < end:
            grow = torch.zeros(*buf.shape[:2], end - done - buf.shape[-1], dtype=buf.dtype, device=buf.device)
            buf = torch.cat([buf, grow], dim=-1)
        for i, s in enumerate(group):
            n = min(chunk, total - s)
            w = torch.from_numpy(_weight(b + i, starts, chunk, fade)[:n]).to(est.device)
            buf[..., s - done:s - done + n] += est[i, ..., :n] * w
        # Samples before the next chunk's start get no more contributions: hand them on.
        final = starts[b + len(group)] if b + len(group) < len(starts) else total
        write(buf[..., :final - done])
        buf, done = buf[..., final - done:].clone(), final
