"""The short-time Fourier transform shared by the separator and the baselines.

A Hann window of ``n_fft`` samples, hop ``hop_length``, centred frames (reflect
padding), so ``istft(stft(x)) == x`` to float precision. Shapes: waveforms [..., T],
spectra [..., F, N] with F = n_fft // 2 + 1 and N = T // hop_length + 1.
"""

from __future__ import annotations

import numpy as np
import torch


class STFT:
    """Forward and inverse STFT for one (n_fft, hop_length); accepts torch or NumPy input."""

    def __init__(self, n_fft: int = 512, hop_length: int = 128):
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        self._windows: dict = {}

    def window(self, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        key = (str(device), dtype)
        if key not in self._windows:
            self._windows[key] = torch.hann_window(self.n_fft, device=device, dtype=dtype)
        return self._windows[key]

    @property
    def reference(self) -> float:
        """Magnitude of a full-scale sine's peak bin (window sum / 2): divides spectra to ≈ [0, 1]."""
        return self.n_fft / 4  # sum of a periodic Hann window is n_fft / 2

    def __call__(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Waveforms [..., T] → complex spectra [..., F, N]."""
        x = torch.as_tensor(x)
        x = x.float() if not x.is_floating_point() else x
        shape = x.shape
        spec = torch.stft(x.reshape(-1, shape[-1]), self.n_fft, self.hop_length, window=self.window(x.device, x.dtype),
                          center=True, return_complex=True)
        return spec.reshape(*shape[:-1], *spec.shape[-2:])

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Complex spectra [..., F, N] → waveforms [..., length]."""
        shape = spec.shape
        real_dtype = spec.real.dtype
        wav = torch.istft(spec.reshape(-1, *shape[-2:]), self.n_fft, self.hop_length,
                          window=self.window(spec.device, real_dtype), center=True, length=length)
        return wav.reshape(*shape[:-2], length)


def apply_masks(mixture: torch.Tensor | np.ndarray, masks: torch.Tensor | np.ndarray, stft: STFT) -> torch.Tensor:
    """Estimates [..., K, C, T] from a mixture [..., C, T] and masks [..., K, C, F, N].

    Real masks keep the mixture's phase; complex masks (e.g. the ideal complex ratio
    S_k / X) rotate it too, so the ideal complex mask returns the stems exactly.
    """
    mix = torch.as_tensor(mixture).float()
    spec = stft(mix).unsqueeze(-4)  # [..., 1, C, F, N]
    m = torch.as_tensor(masks).to(mix.device)
    return stft.inverse(spec * m, mix.shape[-1])
