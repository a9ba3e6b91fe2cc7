"""Supervised disentanglement metrics: the published definitions, vectorised, with intervals.

Every metric is a pure function of NumPy arrays: ``codes`` float [N, D] and integer
``factors`` [N, K] (plus a test set where the metric fits a predictor). Definitions follow
google-research/disentanglement_lib where it has them; each docstring names its paper.

- information: :func:`mutual_info_matrix`, :func:`mig`, :func:`modularity`, :func:`irs`,
  :func:`infomec`, :func:`gaussian_total_correlation`, :func:`discretize`;
- predictors: :func:`sap`, :func:`explicitness`, :func:`dci`;
- interventional (a ground-truth source and an encoder): :func:`beta_vae_score`,
  :func:`factor_vae_score`;
- the suite with bootstrap intervals: :func:`evaluate_representation`;
- source separation (``separation``): :func:`separation_scores` (input, output and improvement
  of SI-SDR and SDR/SIR/SAR), :func:`unmixing_scores` (blind source separation: MCC, SI-SDR,
  BSS-eval, Amari index), :func:`si_sdr`, :func:`bss_eval`, :func:`mcc`, ...
- class probes (``probes``): :func:`probe_accuracies`, :func:`nearest_neighbour_accuracy`,
  :func:`cross_validated_accuracy`, :func:`kmeans_scores`.
"""

from __future__ import annotations

from .activity import ACTIVE_VARIANCE, active_units
from .classifier import DCI_ESTIMATORS, dci, explicitness, sap
from .disentanglement import (
    discretize,
    factor_entropies,
    gaussian_total_correlation,
    infomec,
    irs,
    mig,
    modularity,
    mutual_info_matrix,
)
from .interventional import beta_vae_score, factor_vae_score
from .probes import (
    cross_validated_accuracy,
    kmeans_scores,
    nearest_neighbour_accuracy,
    probe_accuracies,
)
from .separation import (
    SEPARATION_METRICS,
    amari_index,
    bss_eval,
    correlation_matrix,
    match_sources,
    mcc,
    separation_scores,
    si_sdr,
    si_sdr_improvement,
    si_sdr_matched,
    unmixing_scores,
)
from .suite import SUITE_METRICS, evaluate_representation

__all__ = [
    "mig", "modularity", "explicitness", "sap", "dci", "irs", "infomec", "active_units", "ACTIVE_VARIANCE",
    "gaussian_total_correlation", "mutual_info_matrix", "factor_entropies", "discretize",
    "beta_vae_score", "factor_vae_score", "evaluate_representation",
    "DCI_ESTIMATORS", "SUITE_METRICS",
    "kmeans_scores", "nearest_neighbour_accuracy", "probe_accuracies", "cross_validated_accuracy",
    "amari_index", "bss_eval", "correlation_matrix", "match_sources", "mcc",
    "si_sdr", "si_sdr_improvement", "si_sdr_matched", "separation_scores", "SEPARATION_METRICS", "unmixing_scores",
]
