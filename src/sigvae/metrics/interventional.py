"""Interventional disentanglement scores: they choose factors, render data, and encode it.

Both scores take a ground-truth source (anything with ``factor_sizes``,
``sample_factors(n, rng)`` and ``sample_observations_from_factors(factors, rng)``, such as
:class:`sigvae.data.base.GroundTruthSource`) and ``encode(observations [n, C, T]) -> codes
[n, D]``. They are pure NumPy: the encoder may use torch, this module does not.

Unlike disentanglement_lib, which renders and encodes one small batch per training point,
all batches of a score are drawn first and rendered and encoded in large chunks of
``encode_batch_size`` observations; the sampling scheme, and so the score's distribution,
is the reference's, but a given seed gives other draws than the reference's random state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import DataError
from ._checks import as_rng

__all__ = ["beta_vae_score", "factor_vae_score"]

Encode = Callable[[np.ndarray], np.ndarray]


def _check_source(source: Any) -> list[int]:
    for attribute in ("factor_sizes", "sample_factors", "sample_observations_from_factors"):
        if not hasattr(source, attribute):
            raise DataError(f"source must be a ground-truth source; it has no {attribute!r}")
    sizes = [int(s) for s in source.factor_sizes]
    if not sizes or min(sizes) < 1:
        raise DataError(f"source.factor_sizes must be positive, got {sizes}")
    return sizes


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if int(value) != value or value < 1:
            raise DataError(f"{name} must be a positive integer, got {value!r}")


def _encode_factors(
    source: Any, encode: Encode, factors: np.ndarray, rng: np.random.Generator, encode_batch_size: int
) -> np.ndarray:
    """Render and encode factor rows [n, K] in chunks; return codes float64 [n, D]."""
    out = []
    for start in range(0, factors.shape[0], encode_batch_size):
        chunk = factors[start : start + encode_batch_size]
        codes = np.asarray(encode(source.sample_observations_from_factors(chunk, rng)))
        if codes.ndim != 2 or codes.shape[0] != chunk.shape[0]:
            raise DataError(
                f"encode must return codes [n, D] for n={chunk.shape[0]} observations, got shape {codes.shape}"
            )
        if not np.all(np.isfinite(codes)):
            raise DataError("encode returned NaN or inf codes; expected finite values")
        out.append(codes.astype(np.float64))
    return np.concatenate(out, axis=0)


def _beta_vae_points(
    source: Any, encode: Encode, sizes: list[int], num_points: int, batch_size: int,
    rng: np.random.Generator, encode_batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    num_factors = len(sizes)
    labels = rng.integers(num_factors, size=num_points)
    first = source.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, num_factors)
    second = source.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, num_factors)
    rows = np.arange(num_points)
    second[rows, :, labels] = first[rows, :, labels]
    pairs = np.concatenate([first, second], axis=1).reshape(-1, num_factors)
    codes = _encode_factors(source, encode, pairs, rng, encode_batch_size)
    codes = codes.reshape(num_points, 2, batch_size, -1)
    features = np.mean(np.abs(codes[:, 0] - codes[:, 1]), axis=1)
    return features, labels


def beta_vae_score(
    source: Any,
    encode: Encode,
    seed: int | np.random.Generator | None = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    encode_batch_size: int = 4096,
) -> dict[str, float]:
    """BetaVAE score (Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a
    Constrained Variational Framework", ICLR 2017), as disentanglement_lib's
    ``compute_beta_vae_sklearn``.

    One point: pick a factor k uniformly, draw two batches of ``batch_size`` factor rows
    that agree on factor k, encode both, and take the mean over the batch of
    |z(batch 1) - z(batch 2)| ([D]); its label is k. A default
    ``LogisticRegression`` is fitted on ``num_train`` points and scored on ``num_eval``
    fresh ones.

    Args:
        source: ground-truth source. encode: observations [n, C, T] -> codes [n, D].
        seed: int or Generator for every draw.

    Returns:
        {"train_accuracy", "eval_accuracy"}: classification accuracies in [0, 1].
    """
    from sklearn.linear_model import LogisticRegression

    sizes = _check_source(source)
    _check_counts(batch_size=batch_size, num_train=num_train, num_eval=num_eval, encode_batch_size=encode_batch_size)
    rng = as_rng(seed)
    train_x, train_y = _beta_vae_points(source, encode, sizes, num_train, batch_size, rng, encode_batch_size)
    eval_x, eval_y = _beta_vae_points(source, encode, sizes, num_eval, batch_size, rng, encode_batch_size)
    if np.unique(train_y).size < 2:
        raise DataError(f"beta_vae_score: num_train={num_train} drew a single factor; use more training points")
    model = LogisticRegression().fit(train_x, train_y)
    return {
        "train_accuracy": float(model.score(train_x, train_y)),
        "eval_accuracy": float(model.score(eval_x, eval_y)),
    }


def _factor_vae_votes(
    source: Any, encode: Encode, sizes: list[int], num_points: int, batch_size: int,
    rng: np.random.Generator, encode_batch_size: int, scale: np.ndarray, active: np.ndarray,
) -> np.ndarray:
    num_factors = len(sizes)
    fixed = rng.integers(num_factors, size=num_points)
    factors = source.sample_factors(num_points * batch_size, rng).reshape(num_points, batch_size, num_factors)
    rows = np.arange(num_points)
    factors[rows, :, fixed] = factors[rows, :1, fixed]
    codes = _encode_factors(source, encode, factors.reshape(-1, num_factors), rng, encode_batch_size)
    codes = codes.reshape(num_points, batch_size, -1)[:, :, active]
    local = codes.var(axis=1, ddof=1) / scale[active]
    chosen = np.flatnonzero(active)[np.argmin(local, axis=1)]
    votes = np.zeros((num_factors, active.shape[0]), dtype=np.int64)
    np.add.at(votes, (fixed, chosen), 1)
    return votes


def factor_vae_score(
    source: Any,
    encode: Encode,
    seed: int | np.random.Generator | None = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.0,
    encode_batch_size: int = 4096,
) -> dict[str, float]:
    """FactorVAE score (Kim & Mnih, "Disentangling by Factorising", ICML 2018), as
    disentanglement_lib's ``compute_factor_vae``.

    Each latent's variance is estimated on ``num_variance_estimate`` random
    observations. One point: pick a factor k uniformly, draw ``batch_size`` factor rows
    sharing factor k's value, encode them, divide each latent's batch variance (ddof 1)
    by its global variance, and vote (k, argmin latent). The majority-vote classifier
    (each latent predicts the factor it got most votes for) is built on ``num_train``
    points and its accuracy measured on ``num_train`` and on ``num_eval`` fresh points.

    Latents whose global standard deviation is below ``prune_threshold`` are left out
    (the reference's default 0.0 keeps them all; Kim & Mnih prune at 0.05). Latents with
    zero variance are always left out, where the reference would divide by zero. With no
    latent left, both accuracies are 0.

    Returns:
        {"train_accuracy", "eval_accuracy", "num_active_dims"}.
    """
    sizes = _check_source(source)
    _check_counts(
        batch_size=batch_size, num_train=num_train, num_eval=num_eval,
        num_variance_estimate=num_variance_estimate, encode_batch_size=encode_batch_size,
    )
    if batch_size < 2 or num_variance_estimate < 2:
        raise DataError("factor_vae_score: batch_size and num_variance_estimate must be at least 2 to take variances")
    rng = as_rng(seed)
    sample = source.sample_factors(num_variance_estimate, rng)
    global_var = _encode_factors(source, encode, sample, rng, encode_batch_size).var(axis=0, ddof=1)
    active = (np.sqrt(global_var) >= prune_threshold) & (global_var > 0)
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}
    train_votes = _factor_vae_votes(
        source, encode, sizes, num_train, batch_size, rng, encode_batch_size, global_var, active
    )
    eval_votes = _factor_vae_votes(
        source, encode, sizes, num_eval, batch_size, rng, encode_batch_size, global_var, active
    )
    classifier = np.argmax(train_votes, axis=0)
    latents = np.arange(train_votes.shape[1])
    return {
        "train_accuracy": float(train_votes[classifier, latents].sum() / train_votes.sum()),
        "eval_accuracy": float(eval_votes[classifier, latents].sum() / eval_votes.sum()),
        "num_active_dims": float(active.sum()),
    }
