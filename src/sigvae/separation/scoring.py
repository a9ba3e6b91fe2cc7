"""Scoring a separation against known sources: every metric the references allow.

Used by ``sigvae unmix`` (its ``metrics.json``) and by the ``unmix`` benchmark, so both
report the same numbers.
"""

from __future__ import annotations

import numpy as np


def score(sources: np.ndarray, estimate: np.ndarray, mixtures: np.ndarray, mixing: np.ndarray | None = None,
          unmixing: np.ndarray | None = None) -> dict:
    """Every separation metric that the references allow, as plain floats and lists.

    ``mcc`` always; with at least as many estimates as sources, SI-SDR (``si_sdr``), that of
    the input (``si_sdr_input``: each source against the mixture channel carrying the most of
    it) and the improvement ``si_sdri``, plus ``si_sdr_per_source``; with as many, BSS-eval
    ``sdr``/``sir``/``sar`` (means over sources); with a known mixing and a linear unmixing,
    the Amari index ``amari``.
    """
    from ..metrics import amari_index, bss_eval, correlation_matrix, mcc, si_sdr_improvement

    out: dict = {"mcc": mcc(sources, estimate)}
    if estimate.shape[0] >= sources.shape[0]:
        best_channel = correlation_matrix(sources, mixtures).argmax(axis=1)
        imp = si_sdr_improvement(sources, estimate, mixtures[best_channel])
        out.update({k: float(np.mean(v)) for k, v in imp.items()})
        out["si_sdr_per_source"] = imp["si_sdr"].tolist()
    if estimate.shape[0] == sources.shape[0]:
        ev = bss_eval(sources, estimate)
        out.update({k: float(np.mean(ev[k])) for k in ("sdr", "sir", "sar")})
    if mixing is not None and unmixing is not None and unmixing.shape[0] == mixing.shape[1]:
        out["amari"] = amari_index(mixing, unmixing)
    return out
