"""SynTone (seed 001): tones with known waveform, frequency and amplitude, generated on the fly.

Corrections to the original data set:
- waveforms are band-limited by additive synthesis, keeping only harmonics strictly
  below Nyquist, so nothing aliases (the original used naive sawtooth/square waves);
- the default top frequency is 0.95 × Nyquist (7,600 Hz at 16 kHz): the original's
  8,000 Hz sits at Nyquist where a sine degenerates to ``(-1)^n sin(phase)``.
  ``SynToneConfig(freq_max=8000)`` gives the paper's grid back;
- clips are rendered from a seed when asked for, never stored as a multi-GB file;
- amplitude is the clip's peak value, and sigvae's spectrogram front ends keep it
  observable (the original normalised each frame to its maximum, erasing it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import check
from ..limits import check_allocation, check_sample_rate
from .base import GroundTruthSource

WAVEFORMS = ("sine", "triangle", "sawtooth", "square")
_RENDER_BLOCK = 16  # clips rendered together (see sample_observations_from_factors)


@dataclass
class SynToneConfig:
    """Settings of the SynTone generator (defaults: the paper's grid, corrected top frequency)."""

    sample_rate: int = 16000
    duration: float = 1.0
    waveforms: tuple[str, ...] = WAVEFORMS
    freq_min: float = 440.0
    freq_max: float = 7600.0
    num_freqs: int = 400
    amp_min: float = 0.1
    amp_max: float = 1.0
    num_amps: int = 20
    random_phase: bool = True

    def validate(self) -> None:
        """Raise :class:`~sigvae.errors.ConfigError` for a rate, duration, waveform name or
        frequency/amplitude range that cannot be rendered."""
        check(self.sample_rate > 0, f"sample_rate must be positive, got {self.sample_rate}")
        check(0 < self.duration < float("inf"), f"duration must be positive and finite, got {self.duration}")
        check(len(self.waveforms) > 0, "waveforms must not be empty")
        for w in self.waveforms:
            check(w in WAVEFORMS, f"unknown waveform {w!r}; choose from {list(WAVEFORMS)}")
        check(0 < self.freq_min <= self.freq_max, "need 0 < freq_min <= freq_max")
        check(self.freq_max <= self.sample_rate / 2, f"freq_max {self.freq_max} is above Nyquist ({self.sample_rate / 2})")
        check(self.num_freqs >= 1 and self.num_amps >= 1, "num_freqs and num_amps must be >= 1")
        check(0 < self.amp_min <= self.amp_max, "need 0 < amp_min <= amp_max")


def _harmonic_amplitudes(waveform: str, k: np.ndarray) -> np.ndarray:
    """Fourier sine-series coefficients of a unit waveform for harmonic numbers ``k`` (≥ 1)."""
    k = k.astype(np.float64)
    if waveform == "sine":
        return (k == 1).astype(np.float64)
    if waveform == "sawtooth":
        return (2 / np.pi) * ((-1.0) ** (k + 1)) / k
    odd = (k % 2) == 1
    if waveform == "square":
        return np.where(odd, 4 / (np.pi * k), 0.0)
    if waveform == "triangle":
        sign = np.where(((k.astype(np.int64) - 1) // 2) % 2 == 0, 1.0, -1.0)
        return np.where(odd, (8 / np.pi**2) * sign / k**2, 0.0)
    raise ValueError(waveform)


class SynTone(GroundTruthSource):
    """Ground-truth tones: factors (waveform, frequency, amplitude); observations [n, 1, T]."""

    name = "syntone"

    def __init__(self, config: SynToneConfig | None = None):
        self.config = config or SynToneConfig()
        self.config.validate()
        c = self.config
        check_sample_rate(c.sample_rate, "syntone")
        check_allocation("syntone frequency and amplitude grids", (c.num_freqs + c.num_amps,))
        self.sample_rate = int(c.sample_rate)
        self.length = int(round(c.duration * c.sample_rate))
        self.channels = 1
        self.frequencies = np.linspace(c.freq_min, c.freq_max, c.num_freqs)
        self.amplitudes = np.linspace(c.amp_min, c.amp_max, c.num_amps)
        self.factor_names = ["waveform", "frequency", "amplitude"]
        self.factor_sizes = [len(c.waveforms), c.num_freqs, c.num_amps]

    def _plan(self, factors: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(f0 Hz [n], phase rad [n], harmonic coefficients [n, H], peak amplitudes [n]) of
        factor rows [n, 3]; draws the phases from ``rng`` (the only random numbers)."""
        factors = np.asarray(factors, dtype=np.int64).reshape(-1, 3)
        n = factors.shape[0]
        f0 = self.frequencies[factors[:, 1]]
        phase = rng.uniform(0, 2 * np.pi, size=n) if self.config.random_phase else np.zeros(n)
        nyquist = self.sample_rate / 2
        # Harmonics at exactly Nyquist alias onto DC-like patterns, so keep k·f0 strictly below.
        n_harm = np.maximum(1, np.floor((nyquist * (1 - 1e-9)) / f0)).astype(np.int64)
        names = [self.config.waveforms[i] for i in factors[:, 0]]
        check_allocation("syntone harmonics", (n, int(n_harm.max()) if n else 1))
        coef = np.zeros((n, int(n_harm.max()) if n else 1))
        for w in set(names):
            rows = np.array([nm == w for nm in names])
            ks = np.arange(1, coef.shape[1] + 1)
            coef[rows] = _harmonic_amplitudes(w, ks)[None, :]
        coef[np.arange(coef.shape[1])[None, :] >= n_harm[:, None]] = 0.0
        return f0, phase, coef, self.amplitudes[factors[:, 2]]

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Render factor rows [n, 3] (waveform, frequency, amplitude indices): float32 [n, 1, T],
        each clip's peak equal to its amplitude."""
        f0, phase, coef, amp = self._plan(factors, rng)
        n = f0.shape[0]
        t = np.arange(self.length) / self.sample_rate
        out = np.zeros((n, self.length), dtype=np.float64)
        # Blocks of a few clips keep the [block, T] temporaries in cache (1 s clips: 0.38
        # against 0.49 ms each for whole-array passes, benchmarks/syntone_render_speed.py).
        # Each row's arithmetic is unchanged, so the samples are bit-identical to rendering
        # all rows at once.
        for start in range(0, n, _RENDER_BLOCK):
            rows = slice(start, start + _RENDER_BLOCK)
            base = 2 * np.pi * f0[rows, None] * t[None, :] + phase[rows, None]
            block, c = out[rows], coef[rows]
            term = np.empty_like(base)
            for k in range(1, c.shape[1] + 1):
                active = np.nonzero(c[:, k - 1])[0]
                if active.size == 0:
                    continue
                if active.size == c.shape[0]:
                    np.multiply(k, base, out=term)
                    np.sin(term, out=term)
                    term *= c[:, k - 1, None]
                    block += term
                else:
                    block[active] += c[active, k - 1, None] * np.sin(k * base[active])
        peak = np.max(np.abs(out), axis=1, keepdims=True)
        out = out / np.where(peak > 0, peak, 1.0)
        out *= amp[:, None]
        return out[:, None, :].astype(np.float32)

    def render_tensor(self, factors: np.ndarray, rng: np.random.Generator, device) -> torch.Tensor:
        """The clips of :meth:`sample_observations_from_factors` (same phases from ``rng``) as a
        float32 tensor [n, 1, T] on ``device``, summed there in float64 when it is not the
        CPU (where the NumPy path is faster); values agree to float32 rounding."""
        device = torch.device(device)
        if device.type == "cpu":
            return super().render_tensor(factors, rng, device)
        return self._render_torch(factors, rng, device)

    def _render_torch(self, factors: np.ndarray, rng: np.random.Generator, device: torch.device) -> torch.Tensor:
        f0, phase, coef, amp = (torch.as_tensor(a, dtype=torch.float64, device=device) for a in self._plan(factors, rng))
        t = torch.arange(self.length, dtype=torch.float64, device=device) / self.sample_rate
        base = 2 * np.pi * f0[:, None] * t[None, :] + phase[:, None]
        out = torch.zeros_like(base)
        for k in range(1, coef.shape[1] + 1):  # inactive harmonics have coefficient 0
            out += coef[:, k - 1, None] * torch.sin(k * base)
        peak = out.abs().amax(dim=1, keepdim=True)
        out = out / torch.where(peak > 0, peak, torch.ones_like(peak)) * amp[:, None]
        return out[:, None, :].float()
