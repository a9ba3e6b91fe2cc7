"""Metrics as pure functions of NumPy arrays (no torch, no files, no global state)."""

from .separation import (
    amari_index,
    bss_eval,
    correlation_matrix,
    match_sources,
    mcc,
    si_sdr,
    si_sdr_improvement,
    si_sdr_matched,
)

__all__ = [
    "amari_index", "bss_eval", "correlation_matrix", "match_sources", "mcc",
    "si_sdr", "si_sdr_improvement", "si_sdr_matched",
]
