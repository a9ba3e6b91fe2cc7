"""Supervised disentanglement metrics from information theory, as the literature defines them.

Conventions (after google-research/disentanglement_lib, Locatello et al., ICML 2019):

- ``codes`` is a float array [N, D] (one row per example, one column per latent);
  ``factors`` is an integer array [N, K] of ground-truth factor values. Any integers
  work; values are relabelled internally. Float factors whose values are all whole
  numbers are accepted.
- A latent is discretised into ``num_bins`` (default 20) equal-width bins over its
  observed range, exactly as ``np.histogram`` places them (``_histogram_discretize`` in
  the reference). Factors are used as given: each distinct value is one symbol.
- Mutual information is the plug-in estimate from the contingency table, in nats,
  the number ``sklearn.metrics.mutual_info_score`` returns. Entropy H(factor) is the
  plug-in entropy of the factor's empirical distribution.

Factors with many values (SynTone's 400 frequencies) are used as given, one symbol per
value. The plug-in MI is then biased upwards by roughly (bins - 1)(values - 1) / (2N)
nats for every latent, which MIG's top-two gap largely cancels but modularity and InfoM
do not; use N well above bins x values (10,000 rows for 20 x 400 is marginal). For
continuous factors, discretise them first with :func:`discretize`; SAP
(``continuous_factors=True``) and DCI (``estimator="lasso"``) also have the regression
variants the literature defines.

The classifier-based metrics (SAP, DCI, explicitness) live in
:mod:`sigvae.metrics.classifier` and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ._checks import check_codes, check_factors, check_pair, encode_labels
from .classifier import _infoe, dci, explicitness, sap

__all__ = [
    "discretize", "mutual_info_matrix", "factor_entropies", "mig", "modularity", "irs",
    "infomec", "gaussian_total_correlation", "sap", "dci", "explicitness",
]

# Above this many cells, contingency tables are built a few latents at a time.
_MAX_TABLE_CELLS = 1 << 24


def _histogram_bins(values: np.ndarray, num_bins: int) -> np.ndarray:
    """Bin each column of [N, D] into 0..num_bins-1 with np.histogram's equal-width edges."""
    out = np.empty(values.shape, dtype=np.int64)
    for d in range(values.shape[1]):
        column = values[:, d]
        edges = np.histogram_bin_edges(column, bins=num_bins)
        # The reference digitises against every edge but the last, so the column maximum
        # lands in the top bin rather than in a bin of its own.
        out[:, d] = np.digitize(column, edges[:-1]) - 1
    return out


def _check_bins(num_bins: int) -> int:
    if int(num_bins) != num_bins or num_bins < 2:
        raise DataError(f"num_bins must be an integer of at least 2, got {num_bins!r}")
    return int(num_bins)


def discretize(values: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Discretise continuous values into equal-width bins over each column's range.

    The bins are those of ``np.histogram(column, num_bins)``: equal width between the
    column's minimum and maximum (a constant column is one bin), the maximum in the top
    bin. Use it to turn continuous factors into the integer factors the metrics take.

    Args:
        values: real array [N] or [N, K].
        num_bins: number of bins (at least 2).

    Returns:
        int64 array of the same shape with values in 0..num_bins-1.
    """
    num_bins = _check_bins(num_bins)
    a = np.asarray(values)
    one_d = a.ndim == 1
    a2 = check_codes(a[:, None] if one_d else a, name="values", min_samples=1)
    bins = _histogram_bins(a2, num_bins)
    return bins[:, 0] if one_d else bins


def _entropy(labels: np.ndarray, size: int) -> float:
    counts = np.bincount(labels, minlength=size)
    p = counts[counts > 0] / labels.shape[0]
    return float(-np.sum(p * np.log(p)))


def _mi_columns(x: np.ndarray, x_size: int, y: np.ndarray, y_size: int) -> np.ndarray:
    """Plug-in MI (nats) between every column of labels x [N, D] and labels y [N]: [D].

    One bincount builds all D contingency tables [D, x_size, y_size] at once.
    """
    n, num = x.shape
    y_counts = np.bincount(y, minlength=y_size).astype(np.float64)
    cells = x_size * y_size
    step = max(1, _MAX_TABLE_CELLS // max(cells, 1))
    out = np.zeros(num)
    for start in range(0, num, step):
        block = x[:, start : start + step]
        width = block.shape[1]
        flat = (np.arange(width) * cells)[None, :] + block * y_size + y[:, None]
        table = np.bincount(flat.ravel(), minlength=width * cells).reshape(width, x_size, y_size)
        x_counts = table.sum(axis=2).astype(np.float64)
        d, i, j = np.nonzero(table)
        c = table[d, i, j].astype(np.float64)
        # c/n * log(c n / (a b)): the same plug-in terms sklearn's mutual_info_score sums.
        terms = c / n * (np.log(c) + np.log(n) - np.log(x_counts[d, i]) - np.log(y_counts[j]))
        out[start : start + width] = np.bincount(d, weights=terms, minlength=width)
    # Rounding can leave -1e-17 for independent columns; the reference clips at zero too.
    return np.clip(out, 0.0, None)


def _mi_from_labels(x: np.ndarray, x_sizes: int, y: np.ndarray, y_sizes: list[int]) -> np.ndarray:
    m = np.empty((x.shape[1], y.shape[1]))
    for k in range(y.shape[1]):
        m[:, k] = _mi_columns(x, x_sizes, y[:, k], y_sizes[k])
    return m


def mutual_info_matrix(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Plug-in mutual information between each discretised latent and each factor.

    Each latent is cut into ``num_bins`` equal-width bins over its observed range (as
    ``np.histogram``); MI is the plug-in estimate in nats (the value of
    ``sklearn.metrics.mutual_info_score``), as in disentanglement_lib's
    ``discrete_mutual_info``. Computed with one bincount per factor.

    Args:
        codes: float [N, D]. factors: int [N, K]. num_bins: bins per latent.

    Returns:
        float64 array [D, K]: entry (d, k) is I(z_d; v_k) in nats.
    """
    num_bins = _check_bins(num_bins)
    codes, factors = check_pair(codes, factors)
    labels, sizes = encode_labels(factors)
    return _mi_from_labels(_histogram_bins(codes, num_bins), num_bins, labels, sizes)


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    """Plug-in entropy (nats) of each factor's empirical distribution: float64 [K]."""
    labels, sizes = encode_labels(check_factors(factors))
    return np.array([_entropy(labels[:, k], sizes[k]) for k in range(labels.shape[1])])


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> float:
    """Mutual Information Gap (Chen et al., "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018).

    MIG = mean over factors k of (I(z_(1); v_k) - I(z_(2); v_k)) / H(v_k), where z_(1) and
    z_(2) are the latents with the largest and second-largest MI with factor k, MI from
    :func:`mutual_info_matrix` (20 equal-width bins) and H the plug-in factor entropy, as in
    disentanglement_lib's ``compute_mig``. A factor that takes a single value has
    H = 0 and no gap to measure; it is left out of the mean (the reference would divide
    by zero).

    Invariant to permuting latents and to affine rescaling (a*z + b, a != 0) of a latent;
    not to nonlinear monotonic maps, which move the equal-width bin edges.

    Returns:
        float in [0, 1]: 1 when each factor is captured by one latent alone.
    """
    num_bins = _check_bins(num_bins)
    codes, factors = check_pair(codes, factors)
    if codes.shape[1] < 2:
        raise DataError(f"mig needs at least 2 latents to take a gap, got {codes.shape[1]}")
    labels, sizes = encode_labels(factors)
    m = _mi_from_labels(_histogram_bins(codes, num_bins), num_bins, labels, sizes)
    h = np.array([_entropy(labels[:, k], sizes[k]) for k in range(labels.shape[1])])
    keep = h > 0
    if not keep.any():
        raise DataError("mig: every factor takes a single value; expected at least one that varies")
    top2 = -np.sort(-m[:, keep], axis=0)[:2]
    return float(np.mean((top2[0] - top2[1]) / h[keep]))


def _modularity_from_mi(m: np.ndarray) -> float:
    squared = np.square(m)
    top = squared.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - top) / (top * (squared.shape[1] - 1.0))
    score = 1.0 - delta
    # Latents with no information about any factor score 0, as in the reference.
    score[top == 0.0] = 0.0
    return float(np.mean(score))


def modularity(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> float:
    """Modularity (Ridgeway & Mozer, "Learning Deep Disentangled Embeddings with the F-Statistic Loss", NeurIPS 2018).

    As disentanglement_lib implements it: with m the [D, K] MI matrix of
    :func:`mutual_info_matrix`, each latent d scores
    1 - (sum_k m_dk^2 - max_k m_dk^2) / (max_k m_dk^2 * (K - 1)), and 0 when it has zero MI
    with every factor; modularity is the mean over latents.

    Noise latents do not score 0 on finite data. Only MI exactly 0 does; a latent
    independent of the factors has small positive plug-in MI with each of them (2N times
    it is the G statistic, roughly chi-square with (bins - 1)(values - 1) degrees of
    freedom), and the formula scores how that MI is spread over factors, not its size.
    Such a latent scores about 0.56 for factors with 5, 6 and 8 values, 0.34 for three
    4-valued factors (20 bins), and nearly 1 when one factor has far more values than the
    others (4, 8 and 400: that factor's MI bias dominates). So a code of pure noise scores
    well above 0, and noise latents beside a perfect code pull its modularity below 1
    (each informative latent still scores 1) unless one factor has many values.

    Invariant to permuting latents and to affine rescaling of a latent.

    Returns:
        float in [0, 1]: 1 when every latent informs about exactly one factor.
    """
    num_bins = _check_bins(num_bins)
    codes, factors = check_pair(codes, factors)
    if factors.shape[1] < 2:
        raise DataError(f"modularity needs at least 2 factors, got {factors.shape[1]}")
    labels, sizes = encode_labels(factors)
    return _modularity_from_mi(_mi_from_labels(_histogram_bins(codes, num_bins), num_bins, labels, sizes))


def irs(codes: np.ndarray, factors: np.ndarray, diff_quantile: float = 0.99, num_bins: int = 20) -> float:
    """Interventional Robustness Score (Suter et al., "Robustly Disentangled Causal Mechanisms", ICML 2019).

    As disentanglement_lib's ``compute_irs`` / ``scalable_disentanglement_score``:

    1. factors are discretised like latents (``num_bins`` equal-width bins over their
       range, so a factor with at most ``num_bins`` evenly spaced values is unchanged);
    2. latents with zero variance are dropped (no active latent: score 0);
    3. for latent d and factor k, with z_d centred on its mean E[z_d | v_k] within each
       value of v_k, take the ``diff_quantile`` quantile of |z_d - E[z_d | v_k]| inside each
       value, average over values, and divide by max_n |z_d - mean(z_d)|; IRS(d, k) is
       1 minus that;
    4. each latent scores max_k IRS(d, k); the result is their average weighted by
       max_n |z_d - mean(z_d)|.

    Factors are binned, so there are at most ``num_bins`` groups per factor; each group's
    quantiles are taken for all latents in one call.
    Invariant to permuting latents, to shifting a latent and to scaling all latents by
    one factor; scaling one latent changes its weight, so not to that.

    Returns:
        float, at most 1 (1 when each latent is constant given some factor).
    """
    num_bins = _check_bins(num_bins)
    if not 0.0 <= diff_quantile <= 1.0:
        raise DataError(f"irs: diff_quantile must be in [0, 1], got {diff_quantile}")
    codes, factors = check_pair(codes, factors)
    active = codes[:, codes.var(axis=0) > 0.0].astype(np.float64)
    if active.shape[1] == 0:
        return 0.0
    binned, sizes = encode_labels(_histogram_bins(factors.astype(np.float64), num_bins))
    max_dev = np.max(np.abs(active - active.mean(axis=0)), axis=0)
    cum = np.zeros((active.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        order = np.argsort(binned[:, k], kind="stable")
        bounds = np.cumsum(np.bincount(binned[:, k], minlength=sizes[k]))[:-1]
        for group in np.split(active[order], bounds):
            cum[:, k] += np.quantile(np.abs(group - group.mean(axis=0)), diff_quantile, axis=0)
        cum[:, k] /= sizes[k]
    irs_matrix = 1.0 - cum / max_dev[:, None]
    return float(np.average(irs_matrix.max(axis=1), weights=max_dev))


def _ksg_mi(latents: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.feature_selection import mutual_info_classif

    std = latents.std(axis=0)
    scaled = (latents - latents.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return mutual_info_classif(scaled, labels, discrete_features=False, n_neighbors=10, random_state=seed)


def infomec(
    codes: np.ndarray,
    factors: np.ndarray,
    discrete_latents: bool = False,
    mi_estimator: str = "ksg",
    num_bins: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """InfoM, InfoC and InfoE (Hsu et al., "Disentanglement via Latent Quantization", NeurIPS 2023).

    As the authors' ``infomec.py``:

    - NMI[k, d] = I(v_k; z_d) / H(v_k). For continuous latents (the default) each latent
      is standardised and MI estimated with the KSG estimator
      (``sklearn.feature_selection.mutual_info_classif``, 10 neighbours, ``seed`` for its
      jitter); ``mi_estimator="histogram"`` uses the plug-in MI on ``num_bins``
      equal-width bins instead (much faster, also consistent, biased upwards on small N).
      With ``discrete_latents=True`` each distinct latent value is a symbol and MI is
      plug-in.
    - Active latents: range > (largest latent range) / 20; with discrete latents,
      range > 0. Only active latents enter InfoM and InfoC.
    - InfoM = (mean over active d of max_k NMI / sum_k NMI - 1/K) / (1 - 1/K);
      InfoC = (mean over k of max_d NMI / sum_d NMI - 1/D_active) / (1 - 1/D_active).
      A latent (or factor) whose NMI row is all zero counts as spread evenly (the
      reference divides 0 by 0); with one active latent InfoC is NaN.
    - InfoE = mean over factors of (H_null - CE) / H_null, where CE is the training
      log loss of an unregularised multinomial logistic regression
      (lbfgs, 100 iterations, balanced class weights) from all standardised (or one-hot,
      if discrete) latents, and H_null = log(number of values) is the log loss of the
      same model without inputs, which balanced weights make uniform.

    Invariant to permuting latents and to shifting latents or scaling them all by one
    factor. Rescaling one latent leaves its NMI and InfoE unchanged but can move it
    across the activity threshold, which changes InfoM and InfoC.

    Returns:
        {"infom", "infoc", "infoe"}: floats, each at most 1.
    """
    num_bins = _check_bins(num_bins)
    if mi_estimator not in ("ksg", "histogram"):
        raise DataError(f"infomec: mi_estimator must be 'ksg' or 'histogram', got {mi_estimator!r}")
    codes, factors = check_pair(codes, factors)
    labels, sizes = encode_labels(factors)
    num_factors = labels.shape[1]
    if num_factors < 2:
        raise DataError(f"infomec needs at least 2 factors, got {num_factors}")
    if min(sizes) < 2:
        raise DataError(f"infomec: factor {int(np.argmin(sizes))} takes a single value; every factor must vary")
    h = np.array([_entropy(labels[:, k], sizes[k]) for k in range(num_factors)])

    if discrete_latents:
        latent_labels, latent_sizes = encode_labels(codes)
        nmi = np.stack(
            [_mi_columns(latent_labels[:, [d]], latent_sizes[d], labels[:, k], sizes[k])[0]
             for k in range(num_factors) for d in range(codes.shape[1])]
        ).reshape(num_factors, codes.shape[1])
    elif mi_estimator == "ksg":
        nmi = np.stack([_ksg_mi(codes.astype(np.float64), labels[:, k], seed) for k in range(num_factors)])
    else:
        nmi = _mi_from_labels(_histogram_bins(codes, num_bins), num_bins, labels, sizes).T
    nmi = nmi / h[:, None]

    ranges = codes.max(axis=0) - codes.min(axis=0)
    active = ranges > 0 if discrete_latents else ranges > ranges.max() / 20
    pruned = nmi[:, active]
    num_active = pruned.shape[1]

    def _concentration(rows: np.ndarray, n: int) -> np.ndarray:
        total = rows.sum(axis=1)
        safe = np.where(total > 0, total, 1.0)
        return np.where(total > 0, rows.max(axis=1) / safe, 1.0 / n)

    infom = (np.mean(_concentration(pruned.T, num_factors)) - 1 / num_factors) / (1 - 1 / num_factors)
    if num_active >= 2:
        infoc = (np.mean(_concentration(pruned, num_active)) - 1 / num_active) / (1 - 1 / num_active)
    else:
        infoc = float("nan")
    infoe = _infoe(codes, labels, sizes, discrete_latents)
    return {"infom": float(infom), "infoc": float(infoc), "infoe": float(infoe)}


def gaussian_total_correlation(codes: np.ndarray) -> float:
    """Total correlation of a Gaussian with the codes' covariance (nats).

    TC = 0.5 * (sum_d log Sigma_dd - log det Sigma), Sigma the sample covariance
    (ddof 1), as disentanglement_lib's ``gaussian_total_correlation`` (used by its
    unsupervised scores; see Locatello et al., ICML 2019). 0 for uncorrelated latents.

    Invariant to permuting latents and to affine rescaling of a latent.

    Returns:
        float >= 0 (up to rounding).
    """
    codes = check_codes(codes, min_samples=3).astype(np.float64)
    cov = np.atleast_2d(np.cov(codes, rowvar=False))
    var = np.diag(cov)
    if np.any(var <= 0):
        raise DataError(f"gaussian_total_correlation: latent {int(np.argmin(var))} is constant; expected every latent to vary")
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise DataError("gaussian_total_correlation: the codes' covariance is singular (linearly dependent latents)")
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))
