"""The whole supervised suite on one representation, each score with a resampling interval."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from statistics import NormalDist

import numpy as np

from ..errors import DataError, SigvaeError
from ._checks import as_rng, check_pair, check_same_width
from .classifier import dci, explicitness, sap
from .disentanglement import gaussian_total_correlation, infomec, irs, mig, modularity

__all__ = ["evaluate_representation", "SUITE_METRICS"]

#: Metric names ``evaluate_representation`` knows, in the order it reports them.
SUITE_METRICS = (
    "mig", "modularity", "sap", "explicitness", "dci", "irs", "infomec", "gaussian_total_correlation",
)
# Metrics fitted on a training set and scored on a test set.
_NEEDS_TEST = {"sap", "explicitness", "dci"}


def _metric_table(num_bins: int, dci_estimator: str, infomec_mi: str, seed: int) -> dict[str, Callable]:
    return {
        "mig": lambda c, f, ct, ft: mig(c, f, num_bins),
        "modularity": lambda c, f, ct, ft: modularity(c, f, num_bins),
        "sap": lambda c, f, ct, ft: sap(c, f, ct, ft),
        "explicitness": lambda c, f, ct, ft: explicitness(c, f, ct, ft),
        "dci": lambda c, f, ct, ft: dci(c, f, ct, ft, estimator=dci_estimator, seed=seed),
        "irs": lambda c, f, ct, ft: irs(c, f, num_bins=num_bins),
        "infomec": lambda c, f, ct, ft: infomec(c, f, mi_estimator=infomec_mi, num_bins=num_bins, seed=seed),
        "gaussian_total_correlation": lambda c, f, ct, ft: gaussian_total_correlation(c),
    }


def _flatten(name: str, value: float | dict[str, float]) -> dict[str, float]:
    if isinstance(value, dict):
        return {f"{name}.{key}": float(v) for key, v in value.items()}
    return {name: float(value)}


def evaluate_representation(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray | None = None,
    test_factors: np.ndarray | None = None,
    *,
    metrics: Sequence[str] = SUITE_METRICS,
    num_bootstrap: int = 100,
    confidence: float = 0.95,
    seed: int = 0,
    num_bins: int = 20,
    dci_estimator: str = "gbt",
    infomec_mi: str = "ksg",
    test_fraction: float = 0.2,
) -> dict[str, dict[str, float]]:
    """Run the supervised metrics on ``codes`` [N, D] and ``factors`` [N, K] with intervals.

    Single-set metrics (MIG, modularity, IRS, InfoMEC, Gaussian TC) use ``codes``;
    SAP, explicitness and DCI fit on ``codes`` and score on ``test_codes``. Without a
    test set, a ``test_fraction`` of the rows (drawn with ``seed``) is held out for those
    three, and the single-set metrics use every row.

    Confidence intervals come from half-samples (the delete-n/2 jackknife): each of
    ``num_bootstrap`` replicates draws half of the rows of each set *without*
    replacement (training and test sets independently) and recomputes every metric. The
    standard error is the replicates' standard deviation and the interval is
    ``value ± z · se`` (z the normal quantile of ``confidence``), clipped to the metric's
    range, so the value printed beside it always lies inside (see :func:`_intervals` for
    why, and where it errs wide). A replicate on which a metric is undefined counts as
    missing for that metric; ``num_valid`` says how many remain (fewer than two: no interval).
    Cost is (num_bootstrap + 1) times one evaluation: for large
    data choose ``dci_estimator="random_forest"`` and ``infomec_mi="histogram"``.

    Args:
        metrics: names from :data:`SUITE_METRICS`.
        num_bootstrap: half-sample replicates (0 or 1: no interval, ci_low = ci_high = NaN).
        dci_estimator: passed to :func:`dci`.
        infomec_mi: passed to :func:`infomec`.

    Returns:
        {metric name: {"value", "ci_low", "ci_high", "std", "num_valid"}}; dict-valued
        metrics appear once per key as "dci.disentanglement", "infomec.infom" and so on.
        "value" is the metric on the full data; "std" its half-sample standard error.
    """
    _check_options(metrics, confidence, num_bootstrap)
    codes, factors = check_pair(codes, factors)
    rng = as_rng(seed)
    sets = _split_sets(codes, factors, test_codes, test_factors, test_fraction, rng)
    table = _metric_table(num_bins, dci_estimator, infomec_mi, seed)
    values = _run_all(table, metrics, sets, strict=True)
    draws = _half_sample_draws(table, metrics, sets, values, int(num_bootstrap), rng)
    return _intervals(values, draws, confidence)


def _check_options(metrics: Sequence[str], confidence: float, num_bootstrap: int) -> None:
    unknown = [m for m in metrics if m not in SUITE_METRICS]
    if unknown or not metrics:
        raise DataError(f"unknown metric(s) {unknown or '(none given)'}; expected names from {', '.join(SUITE_METRICS)}")
    if not 0.0 < confidence < 1.0:
        raise DataError(f"confidence must be between 0 and 1, got {confidence}")
    if int(num_bootstrap) != num_bootstrap or num_bootstrap < 0:
        raise DataError(f"num_bootstrap must be a non-negative integer, got {num_bootstrap!r}")


_Set = tuple[np.ndarray, np.ndarray]


def _split_sets(codes: np.ndarray, factors: np.ndarray, test_codes, test_factors, test_fraction: float,
                rng: np.random.Generator) -> tuple[_Set, _Set, _Set]:
    """(single-set rows, training rows, test rows) as (codes, factors) pairs; draws the
    held-out rows from ``rng`` when no test set is given."""
    if (test_codes is None) != (test_factors is None):
        raise DataError("give both test_codes and test_factors, or neither")
    if test_codes is not None:
        test = check_pair(test_codes, test_factors, "test_codes", "test_factors", min_samples=1)
        check_same_width(codes, test[0], "codes")
        check_same_width(factors, test[1], "factors")
        return (codes, factors), (codes, factors), test
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    n = codes.shape[0]
    perm = rng.permutation(n)
    n_test = min(n - 2, max(1, int(round(n * test_fraction))))
    if n_test < 1:
        raise DataError(f"need at least 3 samples to hold out a test set, got {n}")
    train = (codes[perm[n_test:]], factors[perm[n_test:]])
    test = (codes[perm[:n_test]], factors[perm[:n_test]])
    return (codes, factors), train, test


def _run_all(table: dict[str, Callable], metrics: Sequence[str], sets: tuple[_Set, _Set, _Set],
             strict: bool) -> dict[str, float]:
    """Every metric on one (single, train, test) triple; ``strict=False`` skips a metric
    that is undefined there (a :class:`SigvaeError`) instead of raising."""
    single, train, test = sets
    out: dict[str, float] = {}
    for name in metrics:
        use = train if name in _NEEDS_TEST else single
        try:
            out.update(_flatten(name, table[name](use[0], use[1], test[0], test[1])))
        except SigvaeError:
            if strict:
                raise
    return out


def _half_sample_draws(table: dict[str, Callable], metrics: Sequence[str], sets: tuple[_Set, _Set, _Set],
                       values: dict[str, float], num_bootstrap: int, rng: np.random.Generator) -> dict[str, list[float]]:
    """Each metric key's value on ``num_bootstrap`` half-samples (NaN where undefined)."""
    draws: dict[str, list[float]] = {key: [] for key in values}
    for _ in range(num_bootstrap):
        pick = [rng.choice(part[0].shape[0], size=max(1, part[0].shape[0] // 2), replace=False) for part in sets]
        resampled = tuple((part[0][i], part[1][i]) for part, i in zip(sets, pick))
        got = _run_all(table, metrics, resampled, strict=False)
        for key in values:
            draws[key].append(got.get(key, np.nan))
    return draws


def _intervals(values: dict[str, float], draws: dict[str, list[float]], confidence: float) -> dict[str, dict[str, float]]:
    """``value ± z · se`` per metric key, se the half-sample replicates' standard deviation.

    For a half-sample, the variance of the replicate values is the delete-d jackknife
    estimate of the full-data estimator's variance (d = n/2, where its scale factor is 1);
    it errs wide for binned MI on few rows (MIG of a good 200-row code: 0.020 against a
    true 0.009), so the interval is conservative there. It is centred on the value, so the
    value always lies inside. Why not the percentile bootstrap used before: a bootstrap
    resample repeats rows, which biases plug-in mutual information and predictors fitted
    on it, and its intervals excluded their own value (modularity in every SynTone run).
    """
    z = NormalDist().inv_cdf((1.0 + confidence) / 2.0)
    report: dict[str, dict[str, float]] = {}
    for key, value in values.items():
        d = np.asarray(draws[key], dtype=np.float64)
        d = d[np.isfinite(d)]
        # The spread around the replicates' own mean: their mean sits below the full-data
        # value for plug-in MI on half the rows, and that bias is not the estimator's spread.
        se = float(d.std(ddof=1)) if d.size > 1 and np.isfinite(value) else float("nan")
        lo_bound, hi_bound = _RANGES.get(key.split(".")[0], (-np.inf, np.inf))
        report[key] = {
            "value": value,
            "ci_low": float(max(lo_bound, value - z * se)) if np.isfinite(se) else float("nan"),
            "ci_high": float(min(hi_bound, value + z * se)) if np.isfinite(se) else float("nan"),
            "std": se,
            "num_valid": float(d.size),
        }
    return report

#: Each metric's range, to which its interval is clipped (Gaussian total correlation: ≥ 0).
_RANGES = {name: (0.0, 1.0) for name in SUITE_METRICS} | {"gaussian_total_correlation": (0.0, np.inf)}
