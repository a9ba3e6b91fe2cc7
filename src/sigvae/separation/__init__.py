"""Blind source separation: classical baselines and structured-prior VAEs behind one interface.

``separate(mixtures [C, T], method, n_sources)`` → :class:`Separation` (``sources`` [K, T],
``unmixing`` [K, C] where linear). Methods: see :data:`METHODS` (``sigvae unmix --help``).
:func:`score` measures an estimate against known sources (MCC, SI-SDR, BSS-eval, Amari index).
"""

from .baselines import Separation, amuse, fastica, joint_diagonalise, pca, sobi, whitener
from .methods import METHODS, VAESettings, WindowDataset, parse_method, separate, vae_separate
from .scoring import score

__all__ = [
    "Separation", "METHODS", "VAESettings", "WindowDataset", "parse_method", "separate", "vae_separate", "score",
    "pca", "fastica", "amuse", "sobi", "whitener", "joint_diagonalise",
]
