"""Signal representations as torch modules, each with an inverse back to audio.

A :class:`Frontend` maps waveforms [B, C, T] to model features and back:
- ``waveform``: identity, features [B, C, T];
- ``stft``: magnitude in dB, features [B, C, F, frames], F = n_fft // 2 + 1;
- ``logmel``: log-mel magnitude in dB, features [B, C, n_mels, frames].
Spectrogram features are ``(clamp(dB, -top_db, ∞) + top_db) / top_db`` with 0 dB = a
full-scale sine, so silence is 0, full scale is about 1, and a gain change is an
additive shift: amplitude stays observable (no per-frame normalisation).
The inverse uses the kept phase when given, else Griffin-Lim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..config import check
from .stft import STFT, stft_window


@dataclass
class FrontendConfig:
    """Which representation a model sees; ``auto`` picks logmel for audio, waveform otherwise."""

    kind: Literal["auto", "waveform", "stft", "logmel"] = "auto"
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 64
    top_db: float = 80.0
    griffin_lim_iters: int = 32

    def validate(self) -> None:
        """Raise :class:`~sigvae.errors.ConfigError` for an STFT or mel setting out of range."""
        check(self.n_fft >= 4, f"n_fft must be >= 4, got {self.n_fft}")
        check(0 < self.hop_length <= self.n_fft, "hop_length must be in 1..n_fft")
        check(self.n_mels >= 1, "n_mels must be >= 1")
        check(self.top_db > 0, "top_db must be positive")

    def resolved(self, sample_rate: int, length: int) -> FrontendConfig:
        """Return a copy with ``auto`` replaced: logmel for audio-rate clips ≥ n_fft, else waveform."""
        if self.kind != "auto":
            return self
        kind = "logmel" if sample_rate >= 8000 and length >= 4 * self.n_fft else "waveform"
        return FrontendConfig(kind, self.n_fft, self.hop_length, self.n_mels, self.top_db, self.griffin_lim_iters)


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular, area-normalised (Slaney-style) HTK-mel filters, [n_mels, n_fft // 2 + 1]."""
    fmax = sample_rate / 2 if fmax is None else fmax
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - freqs[None, :]) / np.maximum(hi - mid, 1e-9)
    fb = np.maximum(0.0, np.minimum(up, down))
    fb *= (2.0 / np.maximum(hi - lo, 1e-9))
    return fb.astype(np.float32)


class Frontend(nn.Module):
    """Waveform ↔ features for one :class:`FrontendConfig` at one sample rate and clip length."""

    def __init__(self, config: FrontendConfig, sample_rate: int, length: int):
        super().__init__()
        self.config = config.resolved(sample_rate, length)
        self.sample_rate = int(sample_rate)
        self.length = int(length)
        c = self.config
        from ..limits import check_allocation

        # Built on the CPU even when the model is built on the "meta" device: check first.
        # The mel filterbank's float64 temporaries, float32 copies and its pseudo-inverse.
        check_allocation("frontend window and mel filterbank", (c.n_mels + 1 if c.kind == "logmel" else 1, c.n_fft // 2 + 1), 64)
        self.stft = STFT(c.n_fft, c.hop_length)
        # A buffer, so it follows the module's device and dtype; the STFT is given it per call.
        self.register_buffer("window", stft_window("hann", c.n_fft), persistent=False)
        # Reference so that a full-scale sine reads about 0 dB in every representation.
        # (summed on the CPU: the same value, and a model built on the "meta" device to count
        # its parameters before allocating them gets it too)
        self._ref = float(torch.hann_window(c.n_fft, device="cpu").sum()) / 2
        if c.kind == "logmel":
            fb = torch.from_numpy(mel_filterbank(sample_rate, c.n_fft, c.n_mels))
            # Rescale so a full-scale sine in a filter's centre reads about 0 dB too.
            fb = fb / fb.max(dim=1, keepdim=True).values.clamp_min(1e-12)
            self.register_buffer("mel_fb", fb, persistent=False)
            self.register_buffer("mel_pinv", torch.linalg.pinv(fb), persistent=False)

    @property
    def kind(self) -> str:
        """The representation in use: ``"waveform"``, ``"stft"`` or ``"logmel"``."""
        return self.config.kind

    def _stft(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms [B, C, T] → complex spectra [B, C, F, frames]."""
        return self.stft(x, window=self.window)

    def _istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Complex spectra [B, C, F, frames] → waveforms [B, C, length]."""
        return self.stft.inverse(spec, length, window=self.window)

    def _to_db(self, mag: torch.Tensor) -> torch.Tensor:
        db = 20 * torch.log10(mag.clamp_min(1e-10) / self._ref)
        top = self.config.top_db
        return (db.clamp_min(-top) + top) / top

    def _from_db(self, feats: torch.Tensor) -> torch.Tensor:
        top = self.config.top_db
        return self._ref * 10 ** ((feats * top - top) / 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms [B, C, T] → features ([B, C, T] or [B, C, F, frames])."""
        if self.kind == "waveform":
            return x
        mag = self._stft(x).abs()
        if self.kind == "logmel":
            mag = torch.einsum("mf,bcfn->bcmn", self.mel_fb, mag)
        return self._to_db(mag)

    def magnitude(self, feats: torch.Tensor) -> torch.Tensor:
        """Features → linear STFT magnitude [B, C, F, frames] (mel inverted by pseudo-inverse)."""
        mag = self._from_db(feats)
        if self.kind == "logmel":
            mag = torch.einsum("fm,bcmn->bcfn", self.mel_pinv, mag).clamp_min(0.0)
        return mag

    def inverse(self, feats: torch.Tensor, phase: torch.Tensor | None = None, length: int | None = None) -> torch.Tensor:
        """Features → waveforms [B, C, T]: kept ``phase`` (radians, STFT-shaped) or Griffin-Lim."""
        length = self.length if length is None else length
        if self.kind == "waveform":
            return feats
        mag = self.magnitude(feats)
        if phase is not None:
            return self._istft(torch.polar(mag, phase), length)
        return self.griffin_lim(mag, length)

    def griffin_lim(self, mag: torch.Tensor, length: int) -> torch.Tensor:
        """Fast Griffin-Lim (momentum 0.99) from magnitude [B, C, F, frames] to [B, C, T]."""
        gen = torch.Generator(device="cpu").manual_seed(0)
        angles = torch.exp(2j * math.pi * torch.rand(mag.shape, generator=gen)).to(mag.device)
        prev = torch.zeros_like(angles)
        for _ in range(self.config.griffin_lim_iters):
            wav = self._istft(mag * angles, length)
            rebuilt = self._stft(wav)
            new = rebuilt - 0.99 / 1.99 * prev
            angles = new / new.abs().clamp_min(1e-8)
            prev = rebuilt
        return self._istft(mag * angles, length)
