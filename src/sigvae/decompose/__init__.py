"""Signal decomposition into C frequency-ordered components (DecVAE's structural prior).

``decompose(frames, method, n_components, sample_rate)`` splits every row of ``frames``
[N, L] into components [N, C, L], ordered from low to high frequency:

- ``fd``  — DecVAE's default filter-bank decomposition: Welch PSD, peak picking in
  power-law-spaced bands, one band-pass filter per kept peak (:func:`fd_decompose`);
- ``ewt`` — the empirical wavelet transform of Gilles (2013) (:func:`ewt_decompose`);
- ``vmd`` — variational mode decomposition of Dragomiretskiy & Zosso (2014) (:func:`vmd_decompose`).

FD and EWT use filter banks that form a partition of unity in frequency, so their
components sum back to the frame to float precision; VMD's modes sum to the frame only
approximately (its fidelity term is a penalty). Everything is vectorised over frames.
``frame_signal`` cuts utterances into frames; ``decompose_utterance`` runs the same
decomposition over whole utterances (DecVAE's sequence branch).
"""

from __future__ import annotations

from .core import (
    METHODS,
    decompose,
    decompose_utterance,
    ewt_decompose,
    fd_decompose,
    frame_signal,
    num_frames,
    vmd_decompose,
    welch_psd,
)

__all__ = [
    "METHODS", "decompose", "decompose_utterance", "fd_decompose", "ewt_decompose", "vmd_decompose",
    "frame_signal", "num_frames", "welch_psd",
]
