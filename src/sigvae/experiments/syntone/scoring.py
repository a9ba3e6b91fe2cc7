"""Measuring one SynTone run: the ``sigvae.metrics`` suite on its evaluation codes, the
interventional scores, reconstruction error, latent × factor mutual information, and the
key its stored scores are filed under."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from .. import runs
from .config import SynToneBenchmarkConfig

Scores = dict[str, tuple[float, float, float]]


def score_codes(codes: np.ndarray, factors: np.ndarray, cfg: SynToneBenchmarkConfig, seed: int,
                source=None, encode=None) -> Scores:
    """Every metric of the suite on eval codes: name → (value, ci_low, ci_high)."""
    from ... import metrics as M

    n = codes.shape[0]
    perm = np.random.default_rng(cfg.data_seed).permutation(n)
    fit_idx, test_idx = np.sort(perm[: n // 2]), np.sort(perm[n // 2 :])
    out: Scores = {}
    # MI-based metrics use every evaluation clip; SAP, explicitness and DCI fit predictors on
    # one half and score on the other (evaluate_representation's train/test convention).
    # Half-sample intervals cost (replicates + 1) evaluations, so the cheap histogram metrics
    # get ``bootstrap`` replicates and the predictor-fitting ones ``bootstrap_fitted``.
    common = dict(seed=seed, num_bins=cfg.num_bins, infomec_mi=cfg.infomec_mi, dci_estimator=cfg.dci_estimator)
    with warnings.catch_warnings():
        # sklearn warns that SynTone's 400-valued frequency "could be a regression target".
        warnings.simplefilter("ignore")
        single = M.evaluate_representation(
            codes, factors, metrics=["mig", "modularity", "irs", "gaussian_total_correlation"],
            num_bootstrap=cfg.bootstrap, **common,
        )
        single.update(M.evaluate_representation(codes, factors, metrics=["infomec"], num_bootstrap=cfg.bootstrap_fitted, **common))
        fitted = M.evaluate_representation(
            codes[fit_idx], factors[fit_idx], codes[test_idx], factors[test_idx],
            metrics=["sap", "explicitness", "dci"], num_bootstrap=cfg.bootstrap_fitted, **common,
        )
    for key, v in {**single, **fitted}.items():
        name = key.replace(".", "_")
        if name == "dci_informativeness_train":
            continue
        out[name] = (v["value"], v["ci_low"], v["ci_high"])
    if cfg.interventional and source is not None and encode is not None:
        out.update(interventional_scores(source, encode, cfg, seed))
    return out


def interventional_scores(source, encode, cfg: SynToneBenchmarkConfig, seed: int) -> Scores:
    """The β-VAE and FactorVAE scores: classifiers on codes of newly rendered clips that
    share one factor (no intervals)."""
    from ... import metrics as M

    kw = dict(seed=seed, batch_size=cfg.interventional_batch, num_train=cfg.interventional_train,
              num_eval=cfg.interventional_eval, encode_batch_size=256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = M.beta_vae_score(source, encode, **kw)
        f = M.factor_vae_score(source, encode, num_variance_estimate=cfg.interventional_variance, **kw)
    return {"beta_vae_score": (b["eval_accuracy"], math.nan, math.nan),
            "factor_vae_score": (f["eval_accuracy"], math.nan, math.nan)}


#: Fields of the benchmark settings that the scores of one run depend on (besides its codes).
SCORE_SETTINGS = (
    "data", "syntone", "duration", "num_eval", "eval_fraction", "data_seed", "num_bins", "dci_estimator",
    "infomec_mi", "bootstrap", "bootstrap_fitted", "interventional", "interventional_batch",
    "interventional_train", "interventional_eval", "interventional_variance",
)


def score_key(cfg: SynToneBenchmarkConfig, seed: int, codes: np.ndarray, factors: np.ndarray,
              render_device: str = "cpu") -> str:
    """What a run's scores depend on, hashed (:func:`sigvae.experiments.runs.score_key`):
    its evaluation codes and factors, the scoring settings, the kind of device the
    interventional clips are rendered on, and the source of the metrics, of the scoring
    functions here and of the SynTone renderer (the interventional scores render new clips)."""
    from ... import metrics
    from ...data import syntone as syntone_data

    files = sorted(Path(metrics.__file__).parent.glob("*.py")) + [Path(syntone_data.__file__)]
    code = runs.code_digest([score_codes, interventional_scores], files)
    return runs.score_key({k: getattr(cfg, k) for k in SCORE_SETTINGS}, seed, codes, factors, code, render_device)


def normalised_mi(codes: np.ndarray, factors: np.ndarray, num_bins: int) -> np.ndarray:
    """MI(latent; factor) / H(factor), [D, K] (plug-in, as MIG uses)."""
    from ... import metrics as M

    mi = M.mutual_info_matrix(codes, factors, num_bins=num_bins)
    h = M.factor_entropies(factors)
    return mi / np.where(h > 0, h, 1.0)[None, :]


def torch_batches(fn, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """``fn`` (tensor → tensor) over ``x`` in batches, without gradients, as one array."""
    import torch

    with torch.no_grad():
        return np.concatenate([fn(torch.from_numpy(np.ascontiguousarray(x[i : i + batch]))).cpu().numpy()
                               for i in range(0, len(x), batch)])


def neural_recon_error(model, signals: np.ndarray) -> float:
    """Mean over clips of Σ_features (x − decode(posterior mean))², the models' reconstruction term."""
    def err(x):
        x = x.to(model.device)
        f = model.features(x)
        return (model.decode(model.encode(x).mean) - f).pow(2).flatten(1).sum(1)

    model.eval()
    return float(torch_batches(err, signals).mean())


def active_latents(codes: np.ndarray) -> tuple[int, int]:
    """(active units, latent units) of posterior-mean ``codes`` (:func:`sigvae.metrics.active_units`)."""
    from ...metrics import active_units

    return active_units(codes), codes.shape[1]


def collapse_warnings(active: dict[tuple[str, int], tuple[int, int]], num_factors: int) -> list[str]:
    """Warning lines, one per model, for the seeds whose posterior collapsed (no active
    latent unit) or kept fewer than half of its latent units active. ``active``:
    (model, seed) → (active units, latent units) of its posterior means; ``num_factors``:
    the data's ground-truth factors (fewer units than those cannot hold them apart)."""
    from ...metrics import ACTIVE_VARIANCE

    by_model: dict[str, list[tuple[int, int, int]]] = {}
    for (name, seed), (n, total) in active.items():
        by_model.setdefault(name, []).append((seed, n, total))
    lines = []
    for name, items in by_model.items():
        dead = [f"{s}" for s, n, _ in items if n == 0]
        few = [f"seed {s}: {n} of {t}" for s, n, t in items if 0 < n < t / 2]
        if dead:
            lines.append(f"{name}: collapsed posterior in seed{'s' if len(dead) > 1 else ''} {', '.join(dead)} "
                         f"(of {len(items)}): no latent unit is active (its posterior means vary less than "
                         f"{ACTIVE_VARIANCE} across evaluation clips).")
        if few:
            lines.append(f"{name}: fewer than half of its latent units active ({'; '.join(few)}; the data have "
                         f"{num_factors} factors): a partly collapsed posterior.")
    return lines
