"""Metrics as pure functions of NumPy arrays (no torch, no files, no global state)."""

from .probes import kmeans_scores, nearest_neighbour_accuracy, probe_accuracies
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
    "kmeans_scores", "nearest_neighbour_accuracy", "probe_accuracies",
    "amari_index", "bss_eval", "correlation_matrix", "match_sources", "mcc",
    "si_sdr", "si_sdr_improvement", "si_sdr_matched",
]
