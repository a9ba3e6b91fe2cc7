"""Blind source separation (``sigvae unmix``, benchmark ``unmix``): classical methods and
structured-prior VAEs behind one interface.

``separate(mixtures [C, T], method, n_sources)`` → :class:`Separation` (``sources`` [K, T],
``unmixing`` [K, C] where linear). Methods: see :data:`METHODS` (``sigvae unmix --help``);
the classical ones (PCA, FastICA, AMUSE, SOBI) are in :mod:`.classical`.
:func:`sigvae.metrics.unmixing_scores` measures an estimate against known sources (MCC,
SI-SDR, BSS-eval, Amari index). Supervised separation with a trained model is
:mod:`sigvae.separating`.

:data:`METHODS`, :func:`parse_method` and the classical methods import no torch; the
VAE side (:mod:`.methods`: ``separate``, ``vae_separate``, ``VAESettings``,
``WindowDataset``) is imported on first use.
"""

from .catalog import METHODS, parse_method
from .classical import Separation, amuse, fastica, joint_diagonalise, pca, sobi, whitener

#: Names served by :mod:`.methods`, which imports torch: loaded when first asked for.
_FROM_METHODS = ("VAESettings", "WindowDataset", "separate", "vae_separate", "check_separation_memory")


def __getattr__(name: str):
    if name in _FROM_METHODS:
        from . import methods

        return getattr(methods, name)
    raise AttributeError(f"module 'sigvae.unmixing' has no attribute {name!r}")


__all__ = [
    "Separation", "METHODS", "VAESettings", "WindowDataset", "parse_method", "separate", "vae_separate",
    "pca", "fastica", "amuse", "sobi", "whitener", "joint_diagonalise",
]
