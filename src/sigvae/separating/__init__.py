"""Supervised, mask-based source separation (``sigvae separate``, benchmark ``separate``).

A mixture is separated into known kinds of source by soft masks on its STFT
(:class:`sigvae.data.stft.STFT`); the trained model is the registered ``separator``
(:mod:`sigvae.models.separator`). Blind source separation is :mod:`sigvae.unmixing`.

- :mod:`.masks`: applying masks to a mixture, and the non-neural mask methods: supervised
  NMF, harmonic–percussive separation, ideal ratio mask;
- :mod:`.chunks`: run any separator over arbitrarily long audio in overlapping chunks.
"""

from .chunks import chunk_plan, separate_in_chunks
from .masks import BASELINES, HPSS, IdealRatioMask, SupervisedNMF, apply_masks

__all__ = ["apply_masks", "chunk_plan", "separate_in_chunks", "BASELINES", "SupervisedNMF", "HPSS", "IdealRatioMask"]
