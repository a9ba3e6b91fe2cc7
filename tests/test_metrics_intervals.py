"""Intervals of the metric suite (issue 22, item 6): centred half-sample intervals that
contain their value, cover a known MIG, and CSV columns in the order ci_low, ci_high."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from sigvae.metrics import evaluate_representation
from sigvae.report.results import row, write_results

K = 4  # values per factor


def _noisy_copy(v: np.ndarray, keep: float, rng: np.random.Generator) -> np.ndarray:
    """The factor ``v`` itself with probability ``keep``, else a uniform draw of 0..K-1."""
    return np.where(rng.random(v.shape) < keep, v, rng.integers(0, K, v.shape))


def _true_mig(keeps: tuple[float, float]) -> float:
    """MIG of the code [noisy v0, noisy v1] for independent uniform factors v0, v1.

    z_k equals v_k with probability keep + (1 - keep)/K and each other value with
    (1 - keep)/K, and is uniform: I(z_k; v_k) = log K - H(that row); z_j (j != k) is
    independent of v_k. So each factor's gap is I(z_k; v_k) / log K.
    """
    gaps = []
    for keep in keeps:
        p = np.array([keep + (1 - keep) / K] + [(1 - keep) / K] * (K - 1))
        gaps.append((math.log(K) + float(np.sum(p * np.log(p)))) / math.log(K))
    return float(np.mean(gaps))


def test_95_percent_intervals_cover_a_known_mig_at_least_90_percent_of_the_time():
    keeps = (0.8, 0.6)
    truth = _true_mig(keeps)
    rng = np.random.default_rng(0)
    covered, trials = 0, 120
    for t in range(trials):
        factors = rng.integers(0, K, (1500, 2))
        codes = np.stack([_noisy_copy(factors[:, k], keeps[k], rng) for k in range(2)], 1).astype(float)
        r = evaluate_representation(codes, factors, metrics=("mig",), num_bins=K, num_bootstrap=30, seed=t)["mig"]
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
        covered += r["ci_low"] <= truth <= r["ci_high"]
    assert covered / trials >= 0.90, f"covered {covered} of {trials} (true MIG {truth:.4f})"


@pytest.mark.parametrize("seed", range(4))
def test_every_interval_contains_its_value(seed):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 3, (120, 2))
    codes = np.concatenate([factors + 0.3 * rng.standard_normal(factors.shape), rng.standard_normal((120, 2))], 1)
    report = evaluate_representation(codes, factors, num_bootstrap=6, seed=seed, dci_estimator="random_forest",
                                     infomec_mi="histogram")
    for name, r in report.items():
        if math.isfinite(r["ci_low"]):
            assert r["ci_low"] <= r["value"] <= r["ci_high"], (name, r)


def test_results_csv_puts_ci_low_before_ci_high(tmp_path):
    write_results([row("d", "m", 0, "mig", 0.5, ci_high=0.6, ci_low=0.4)], tmp_path)
    with open(tmp_path / "results.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["dataset", "model", "seed", "metric", "value", "ci_low", "ci_high"]
