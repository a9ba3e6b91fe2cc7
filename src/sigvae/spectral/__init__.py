"""Spectrogram-domain source separation: STFT masking, chunked overlap-add, baselines.

- :mod:`.stft`: the STFT every method here shares, and applying masks to a mixture;
- :mod:`.chunks`: run any separator over arbitrarily long audio in overlapping chunks;
- :mod:`.baselines`: supervised NMF, harmonic–percussive separation, ideal ratio mask.
"""

from .baselines import BASELINES, HPSS, IdealRatioMask, SupervisedNMF
from .chunks import chunk_plan, separate_in_chunks
from .stft import STFT, apply_masks

__all__ = ["STFT", "apply_masks", "chunk_plan", "separate_in_chunks", "BASELINES", "SupervisedNMF", "HPSS", "IdealRatioMask"]
