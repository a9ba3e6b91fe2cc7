"""Blind source separation (``sigvae unmix``, benchmark ``unmix``): classical methods and
structured-prior VAEs behind one interface.

``separate(mixtures [C, T], method, n_sources)`` → :class:`Separation` (``sources`` [K, T],
``unmixing`` [K, C] where linear). Methods: see :data:`METHODS` (``sigvae unmix --help``);
the classical ones (PCA, FastICA, AMUSE, SOBI) are in :mod:`.classical`.
:func:`sigvae.metrics.unmixing_scores` measures an estimate against known sources (MCC,
SI-SDR, BSS-eval, Amari index). Supervised separation with a trained model is
:mod:`sigvae.separating`.
"""

from .classical import Separation, amuse, fastica, joint_diagonalise, pca, sobi, whitener
from .methods import METHODS, VAESettings, WindowDataset, parse_method, separate, vae_separate

__all__ = [
    "Separation", "METHODS", "VAESettings", "WindowDataset", "parse_method", "separate", "vae_separate",
    "pca", "fastica", "amuse", "sobi", "whitener", "joint_diagonalise",
]
