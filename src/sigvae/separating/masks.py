"""Mask-based separation without a trained network: soft masks on the mixture STFT.

- :func:`apply_masks`: estimates from a mixture and masks (real or complex), the step every
  method here ends with;
- :class:`SupervisedNMF`: one spectral dictionary per source learnt with scikit-learn's
  NMF (Kullback–Leibler divergence, multiplicative updates) from that source's training
  stems, so the components are grouped per source by construction; on a mixture the
  concatenated dictionaries are held fixed, the activations are fitted, and source k
  gets the Wiener-like mask W_k H_k / Σ_j W_j H_j (Smaragdis et al. 2007).
- :class:`HPSS`: harmonic–percussive separation by median filtering (Fitzgerald 2010):
  the power spectrogram median-filtered along time (harmonic) and along frequency
  (percussive), soft masks H^p / (H^p + P^p). Unsupervised: its two outputs are
  assigned to the references by the metrics' best permutation.
- :class:`IdealRatioMask`: the oracle |S_k|^p / Σ_j |S_j|^p computed from the true
  stems: an upper bound for any real-valued mask that keeps the mixture phase.

Each method has ``fit(tracks)`` (a no-op where nothing is learnt) and
``separate(mixture [C, T], stems=None) → estimates [K, C, T]`` (NumPy, float32).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy.ndimage import median_filter
from sklearn.exceptions import ConvergenceWarning

from ..data.stft import STFT
from ..errors import ConfigError, DataError

EPS = 1e-10


def apply_masks(mixture: torch.Tensor | np.ndarray, masks: torch.Tensor | np.ndarray, stft: STFT) -> torch.Tensor:
    """Estimates [..., K, C, T] from a mixture [..., C, T] and masks [..., K, C, F, N].

    Real masks keep the mixture's phase; complex masks (e.g. the ideal complex ratio
    S_k / X) rotate it too, so the ideal complex mask returns the stems exactly.
    """
    mix = torch.as_tensor(mixture).float()
    spec = stft(mix).unsqueeze(-4)  # [..., 1, C, F, N]
    m = torch.as_tensor(masks).to(mix.device)
    return stft.inverse(spec * m, mix.shape[-1])


def _masks_to_estimates(mixture: np.ndarray, masks: np.ndarray, stft: STFT) -> np.ndarray:
    return apply_masks(torch.from_numpy(np.asarray(mixture, np.float32)), torch.from_numpy(masks.astype(np.float32)), stft).numpy()


class SupervisedNMF:
    """NMF dictionaries per source (``components`` each), learnt from training stems."""

    name = "nmf"
    needs_training = True

    def __init__(self, n_fft: int = 512, hop_length: int = 128, components: int = 24, max_frames: int = 4000,
                 max_iter: int = 200, seed: int = 0):
        self.stft = STFT(n_fft, hop_length)
        self.components, self.max_frames, self.max_iter, self.seed = components, max_frames, max_iter, seed
        self.dictionary: np.ndarray | None = None  # [K * components, F]

    def _mag(self, x: np.ndarray) -> np.ndarray:
        """Magnitudes [frames, F] of all channels of x [C, T], stacked along frames."""
        m = self.stft(torch.from_numpy(np.asarray(x, np.float32))).abs().numpy()  # [C, F, N]
        return np.concatenate(list(m), axis=1).T.astype(np.float64)

    def fit(self, tracks) -> SupervisedNMF:
        """Learn one dictionary per stem from ``tracks`` (a list of :class:`~sigvae.data.tracks.Track`)."""
        from sklearn.decomposition import NMF

        if not tracks:
            raise DataError("NMF needs training tracks to learn its per-source dictionaries")
        rng = np.random.default_rng(self.seed)
        dicts = []
        for k in range(tracks[0].stems.shape[0]):
            frames = np.concatenate([self._mag(t.stems[k]) for t in tracks])
            frames = frames[frames.sum(1) > 1e-6]  # silent frames carry no spectral shape
            if len(frames) > self.max_frames:
                frames = frames[rng.choice(len(frames), self.max_frames, replace=False)]
            nmf = NMF(self.components, init="nndsvda", solver="mu", beta_loss="kullback-leibler",
                      max_iter=self.max_iter, random_state=self.seed, tol=1e-4)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                nmf.fit(frames + EPS)
            dicts.append(nmf.components_)
        self.dictionary = np.concatenate(dicts)
        return self

    def masks(self, mixture: np.ndarray) -> np.ndarray:
        """Soft masks [K, C, F, N] for mixture [C, T]."""
        from sklearn.decomposition import non_negative_factorization

        if self.dictionary is None:
            raise ConfigError("call fit(tracks) before separating with NMF")
        spec = self.stft(torch.from_numpy(np.asarray(mixture, np.float32))).abs().numpy()  # [C, F, N]
        k = self.dictionary.shape[0] // self.components
        out = np.zeros((k, *spec.shape), np.float32)
        for c in range(spec.shape[0]):
            v = spec[c].T.astype(np.float64) + EPS  # [N, F]
            with warnings.catch_warnings():  # a capped iteration count is a setting, not a failure
                warnings.simplefilter("ignore", ConvergenceWarning)
                w, _, _ = non_negative_factorization(
                    v, H=self.dictionary, n_components=self.dictionary.shape[0], update_H=False,
                    solver="mu", beta_loss="kullback-leibler", max_iter=self.max_iter, tol=1e-4,
                )
            parts = np.stack([w[:, j * self.components:(j + 1) * self.components] @ self.dictionary[j * self.components:(j + 1) * self.components]
                              for j in range(k)])  # [K, N, F]
            out[:, c] = (parts / (parts.sum(0, keepdims=True) + EPS)).transpose(0, 2, 1)
        return out

    def separate(self, mixture: np.ndarray, stems: np.ndarray | None = None) -> np.ndarray:
        """A mixture [C, T] → estimates [K, C, T], one per stem (``stems`` is not used)."""
        return _masks_to_estimates(mixture, self.masks(mixture), self.stft)


class HPSS:
    """Median-filtering harmonic–percussive separation → two sources (harmonic, percussive)."""

    name = "hpss"
    needs_training = False

    def __init__(self, n_fft: int = 512, hop_length: int = 128, time_frames: int = 17, freq_bins: int = 17, power: float = 2.0):
        self.stft = STFT(n_fft, hop_length)
        self.time_frames, self.freq_bins, self.power = time_frames, freq_bins, power

    def fit(self, tracks) -> HPSS:
        """Nothing to learn: returns ``self``."""
        return self

    def masks(self, mixture: np.ndarray) -> np.ndarray:
        """Masks [2, C, F, N]: harmonic then percussive."""
        mag = self.stft(torch.from_numpy(np.asarray(mixture, np.float32))).abs().numpy()  # [C, F, N]
        harm = median_filter(mag, size=(1, 1, self.time_frames), mode="reflect")
        perc = median_filter(mag, size=(1, self.freq_bins, 1), mode="reflect")
        hp, pp = harm ** self.power, perc ** self.power
        mh = hp / (hp + pp + EPS)
        return np.stack([mh, 1.0 - mh]).astype(np.float32)

    def separate(self, mixture: np.ndarray, stems: np.ndarray | None = None) -> np.ndarray:
        """A mixture [C, T] → estimates [2, C, T]: harmonic, then percussive (``stems`` is not used)."""
        return _masks_to_estimates(mixture, self.masks(mixture), self.stft)


class IdealRatioMask:
    """Oracle masks |S_k|^p / Σ_j |S_j|^p from the true stems (p = 2: the ideal Wiener mask)."""

    name = "irm"
    needs_training = False

    def __init__(self, n_fft: int = 512, hop_length: int = 128, power: float = 2.0):
        self.stft = STFT(n_fft, hop_length)
        self.power = power

    def fit(self, tracks) -> IdealRatioMask:
        """Nothing to learn: returns ``self``."""
        return self

    def masks(self, stems: np.ndarray) -> np.ndarray:
        """Masks [K, C, F, N] from stems [K, C, T]."""
        mag = self.stft(torch.from_numpy(np.asarray(stems, np.float32))).abs().numpy() ** self.power
        return (mag / (mag.sum(0, keepdims=True) + EPS)).astype(np.float32)

    def separate(self, mixture: np.ndarray, stems: np.ndarray | None = None) -> np.ndarray:
        """A mixture [C, T] and its true stems [K, C, T] → estimates [K, C, T]; the stems are
        required (an oracle), without them :class:`~sigvae.errors.DataError`."""
        if stems is None:
            raise DataError("the ideal ratio mask is an oracle: it needs the true stems")
        return _masks_to_estimates(mixture, self.masks(stems), self.stft)


#: Baseline name → class (constructor takes n_fft, hop_length and its own options).
BASELINES = {"nmf": SupervisedNMF, "hpss": HPSS, "irm": IdealRatioMask}
