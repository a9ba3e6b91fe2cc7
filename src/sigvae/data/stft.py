"""The short-time Fourier transform: the one STFT every part of sigvae uses.

Frames of ``n_fft`` samples every ``hop_length``, centred (reflect padding), under a
periodic Hann window (``"hann"``, the default) or a rectangular one (``"rect"``), so
``inverse(stft(x)) == x`` to float precision wherever the window overlap-adds to a
nonzero constant (Hann: hop <= n_fft // 2). Shapes: waveforms [..., T], spectra
[..., F, N] with F = n_fft // 2 + 1 and N = T // hop_length + 1.

Users: the front ends (:class:`~sigvae.data.transforms.Frontend`), the separator and its
mask baselines (:mod:`sigvae.separating`), and the VQ-VAE's real/imaginary channels
(:class:`~sigvae.models.vqvae.STFTChannels`). A module that keeps its window as a buffer
(so it follows ``.to(device)``) passes it as ``window=``; otherwise the window is made on
the input's device in its dtype and cached.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError

#: The windows :func:`stft_window` makes.
WINDOWS = ("hann", "rect")


def stft_window(kind: str, n_fft: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A window of ``n_fft`` samples: periodic Hann (``"hann"``) or all ones (``"rect"``)."""
    if kind == "hann":
        return torch.hann_window(n_fft, device=device, dtype=dtype)
    if kind == "rect":
        return torch.ones(n_fft, device=device, dtype=dtype)
    raise ConfigError(f"STFT window must be one of {', '.join(WINDOWS)}, got {kind!r}")


class STFT:
    """Forward and inverse STFT for one (n_fft, hop_length, window); accepts torch or NumPy input."""

    def __init__(self, n_fft: int = 512, hop_length: int = 128, window: str = "hann"):
        if window not in WINDOWS:
            raise ConfigError(f"STFT window must be one of {', '.join(WINDOWS)}, got {window!r}")
        self.n_fft, self.hop_length, self.window_kind = int(n_fft), int(hop_length), window
        self._windows: dict = {}

    def window(self, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The window on ``device`` in ``dtype`` (made there once, then cached)."""
        key = (str(device), dtype)
        if key not in self._windows:
            self._windows[key] = stft_window(self.window_kind, self.n_fft, device=device, dtype=dtype)
        return self._windows[key]

    @property
    def reference(self) -> float:
        """Magnitude of a full-scale sine's peak bin under a Hann window (its sum / 2): divides spectra to ≈ [0, 1]."""
        return self.n_fft / 4  # sum of a periodic Hann window is n_fft / 2

    def __call__(self, x: torch.Tensor | np.ndarray, window: torch.Tensor | None = None) -> torch.Tensor:
        """Waveforms [..., T] → complex spectra [..., F, N] (``window``: use this one instead)."""
        x = torch.as_tensor(x)
        x = x.float() if not x.is_floating_point() else x
        shape = x.shape
        w = self.window(x.device, x.dtype) if window is None else window
        spec = torch.stft(x.reshape(-1, shape[-1]), self.n_fft, self.hop_length, window=w, center=True, return_complex=True)
        return spec.reshape(*shape[:-1], *spec.shape[-2:])

    def inverse(self, spec: torch.Tensor, length: int, window: torch.Tensor | None = None) -> torch.Tensor:
        """Complex spectra [..., F, N] → waveforms [..., length] (``window``: use this one instead)."""
        shape = spec.shape
        w = self.window(spec.device, spec.real.dtype) if window is None else window
        wav = torch.istft(spec.reshape(-1, *shape[-2:]), self.n_fft, self.hop_length, window=w, center=True, length=length)
        return wav.reshape(*shape[:-2], length)


__all__ = ["STFT", "stft_window", "WINDOWS"]
