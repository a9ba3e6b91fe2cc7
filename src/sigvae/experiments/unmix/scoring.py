"""Measuring for the ``unmix`` benchmark: one separation's scores as tidy rows, a collapsed
estimate, and the cost of a prior as the window grows."""

from __future__ import annotations

import time

import numpy as np

from ...report.results import row


def run_rows(condition: str, method: str, seed: int, mix, result, seconds: float) -> list[dict]:
    """The rows of one separation of ``mix``: every float that
    :func:`sigvae.metrics.unmixing_scores` gives (MCC, SI-SDR, BSS-eval, Amari index), then ``seconds``."""
    from ...metrics import unmixing_scores

    rows = [row(condition, method, seed, metric, value)
            for metric, value in unmixing_scores(mix.sources, result.sources, mix.mixtures, mix.mixing, result.unmixing).items()
            if isinstance(value, float)]
    rows.append(row(condition, method, seed, "seconds", seconds))
    return rows


def score_long_window(dataset: str, method: str, seed: int, mix, result) -> list[dict]:
    """The rows of a long-window run: its MCC and its training seconds."""
    from ...metrics import unmixing_scores

    return [row(dataset, method, seed, "mcc", unmixing_scores(mix.sources, result.sources, mix.mixtures)["mcc"]),
            row(dataset, method, seed, "train_seconds", result.info["train_seconds"])]


def collapse_warning(condition: str, method: str, seed: int, estimate: np.ndarray) -> str | None:
    """A warning line when a VAE's posterior-mean sources [K, T] have fewer than half their
    units active (:func:`sigvae.metrics.active_units` over time); None when all is well."""
    from ...metrics import active_units

    k = estimate.shape[0]
    active = active_units(np.asarray(estimate, dtype=np.float64).T)
    if active == 0:
        return f"{method} on {condition} (seed {seed}): collapsed posterior, no active source (0 of {k})."
    if active < k / 2:
        return f"{method} on {condition} (seed {seed}): only {active} of {k} estimated sources are active."
    return None


def time_prior(prior, length: int, batch: int, repeats: int, generator) -> float:
    """Median seconds of one E_q[log p(z)] evaluation plus its backward pass on [batch, D, length]."""
    import torch

    times = []
    for _ in range(repeats):
        mean = torch.randn(batch, prior.dim, length, generator=generator).requires_grad_(True)
        logvar = torch.full((batch, prior.dim, length), -4.0, requires_grad=True)
        start = time.perf_counter()
        prior.expected_log_prob(mean, logvar).sum().backward()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
