"""Measuring for ``sigvae benchmark ucr``: the baselines, one VQ-VAE's training (with the
settings chosen on the training split), its representations, and their probe, clustering and
codebook scores; and the issue's two targets read from the summary.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from pathlib import Path

import numpy as np

from ...extras import require
from .config import CLUSTERED, JUDGED, REPRESENTATIONS, candidate_label, model_label


def minirocket_accuracy(x_train, y_train, x_test, y_test, seed: int = 0) -> tuple[float, float]:
    """MiniRocket features (aeon) + RidgeClassifierCV on standardised features → (accuracy, seconds).

    Without aeon, stops with the one-line :class:`~sigvae.extras.MissingExtraError`
    (``--no-minirocket`` skips the reference).
    """
    require("ucr", "the MiniRocket reference (--no-minirocket skips it)")
    import torch
    from aeon.transformations.collection.convolution_based import MiniRocket
    from sklearn.linear_model import RidgeClassifierCV

    from ...metrics.probes import standardise

    start = time.time()
    threads = torch.get_num_threads()
    try:
        mr = MiniRocket(random_state=seed, n_jobs=1)
        f_tr = mr.fit_transform(np.asarray(x_train, dtype=np.float64))
        f_te = mr.transform(np.asarray(x_test, dtype=np.float64))
    finally:
        # aeon resets torch's thread count to the core count; the models trained after it
        # must keep the benchmark's --threads, or their results depend on --no-minirocket.
        torch.set_num_threads(threads)
    f_tr, f_te = standardise(f_tr, f_te)
    clf = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(f_tr, y_train)
    return float((clf.predict(f_te) == y_test).mean()), time.time() - start


def baseline_rows(d, minirocket: bool, progress) -> list[dict]:
    """1-NN Euclidean and the linear probes on the raw series; MiniRocket unless switched off."""
    from ...metrics.probes import nearest_neighbour_accuracy, probe_accuracies
    from ...report.results import row

    progress.set_label(f"{d.name} baselines")
    xtr, xte = d.x_train.reshape(len(d.x_train), -1), d.x_test.reshape(len(d.x_test), -1)
    rows = [row(d.name, "1nn_euclidean", None, "accuracy", nearest_neighbour_accuracy(xtr, d.y_train, xte, d.y_test))]
    for k, v in probe_accuracies(xtr, d.y_train, xte, d.y_test).items():
        rows.append(row(d.name, "raw_series", None, f"{k}_flat", v))
    progress.advance()
    if minirocket:
        progress.set_label(f"{d.name} MiniRocket")
        acc, secs = minirocket_accuracy(d.x_train, d.y_train, d.x_test, d.y_test)
        if math.isfinite(acc):
            rows.append(row(d.name, "minirocket", 0, "accuracy", acc))
            rows.append(row(d.name, "minirocket", 0, "seconds", secs))
    progress.advance()
    return rows


def training_plan(n: int, steps: int) -> tuple[int, int]:
    """(batch size, epochs) for ``steps`` optimiser steps on ``n`` training series."""
    batch = min(64, max(8, n // 2))
    per_epoch = max(1, n // batch) if n > batch else 1
    return batch, max(1, math.ceil(steps / per_epoch))


def represent(model, x: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
    """The model's representations of series ``x`` [N, C, L] (:data:`REPRESENTATIONS`), with
    ``_indices`` (every latent's code) and ``_mse`` (summed per-batch reconstruction MSE)."""
    import torch

    parts: dict[str, list[np.ndarray]] = {}
    model.eval()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch]).to(model.device)
            for k, v in model.representations(xb).items():
                parts.setdefault(k, []).append(v.cpu().numpy())
            idx = model.code_indices(xb).flatten().cpu().numpy()
            parts.setdefault("_indices", []).append(idx)
            parts.setdefault("_mse", []).append(np.array([float(((model.reconstruct(xb) - xb) ** 2).mean()) * len(xb)]))
    return {k: np.concatenate(v) for k, v in parts.items()}


def train_one(data, gamma, seed, steps, profile_model, run_dir, progress, loggers=()):
    """Train one (Barlow Twins) VQ-VAE on ``data``'s training split into ``run_dir``;
    returns (the training result, its epochs). ``gamma`` None: the plain VQ-VAE. ``loggers``:
    experiment logger names (``sigvae.loggers``) written into ``run_dir/logs``."""
    import torch

    from ...data import SignalDataset
    from ...models import build_model
    from ...training import TrainConfig, fit

    batch, epochs = training_plan(len(data.x_train), steps)
    overrides = {"in_channels": data.channels, "length": data.length, "sample_rate": 1, **profile_model}
    if gamma is None:
        name = "vqvae"
    else:
        name = "barlow_vqvae"
        overrides["gamma"] = gamma
    torch.manual_seed(seed)  # initial weights depend on the seed only
    model = build_model(name, overrides)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, lr=1e-3, optimizer="adamw", weight_decay=1e-3,
                      scheduler="cosine", val_fraction=0.0, seed=seed, progress=False)
    result = fit(model, SignalDataset(data.signal_set("train")), None, cfg, run_dir, loggers=list(loggers),
                 callbacks=[progress], metadata={"model": name, "data": f"ucr:{data.name}", "seed": seed, "gamma": gamma})
    # The model folder (config + safetensors + training.json) is what a report needs;
    # the Lightning checkpoints would double the output for nothing.
    shutil.rmtree(Path(run_dir) / "checkpoints", ignore_errors=True)
    return result, epochs


def train_selected(data, gamma, seed, steps, profile_model, candidates, folder, label, progress, rows, loggers=()):
    """Train one model per candidate setting and keep the one whose training codes classify best.

    Each candidate is scored by :func:`~sigvae.metrics.probes.cross_validated_accuracy` of a
    linear SVM on its training codes (the :data:`JUDGED` representation) with the training labels; the highest wins
    (ties: the first candidate). Appends the selection rows to ``rows``. Returns (the kept
    candidate's training result, its epochs, its training representations, seconds spent
    training every candidate). With one candidate nothing is scored. ``loggers`` as for
    :func:`train_one`.
    """
    from ...metrics.probes import cross_validated_accuracy
    from ...report.results import row

    best = None
    seconds = 0.0
    for i, cand in enumerate(candidates):
        # Values become part of a folder name: anything but [A-Za-z0-9._=-] is replaced, so no
        # value can add a path separator or climb out of the run folder.
        tag = re.sub(r"[^A-Za-z0-9._=-]", "_", candidate_label(cand).replace(",", "-")).lstrip(".")
        sub = f"{label}-seed{seed}" + ("" if len(candidates) == 1 else f"-{tag}")
        result, epochs = train_one(data, gamma, seed, steps, {**profile_model, **cand}, folder / sub, progress,
                                   loggers)
        seconds += result.seconds
        rep_tr = represent(result.model, data.x_train)
        cv = math.nan
        if len(candidates) > 1:
            cv = cross_validated_accuracy(rep_tr[JUDGED], data.y_train, seed)
            rows.append(row(data.name, label, seed, f"cv_svm_{JUDGED}@{candidate_label(cand)}", cv))
        score = cv if math.isfinite(cv) else -math.inf
        if best is None or score > best[0]:
            best = (score, i, result, epochs, rep_tr)
    _, index, result, epochs, rep_tr = best
    if len(candidates) > 1:
        rows.append(row(data.name, label, seed, "selected", float(index)))
        for key, value in candidates[index].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append(row(data.name, label, seed, f"selected_{key}", float(value)))
    return result, epochs, rep_tr, seconds


def model_rows(d, label: str, seed: int, rep_tr: dict, rep_te: dict, num_codes: int) -> tuple[list[dict], np.ndarray]:
    """Probe accuracies per representation, k-means scores, codebook perplexity and usage, and
    test MSE of one trained model; returns (rows, the test split's code counts)."""
    from ...metrics.probes import kmeans_scores, probe_accuracies
    from ...report.results import row

    rows = []
    for rep in REPRESENTATIONS:
        for k, v in probe_accuracies(rep_tr[rep], d.y_train, rep_te[rep], d.y_test, seed=seed).items():
            rows.append(row(d.name, label, seed, f"{k}_{rep}", v))
        if rep in CLUSTERED:
            try:
                km = kmeans_scores(rep_te[rep], d.y_test, seed=seed)
            except Exception:  # degenerate features (every code equal): record a miss
                km = {"silhouette": math.nan, "ari": math.nan, "nmi": math.nan}
            for k, v in km.items():
                rows.append(row(d.name, label, seed, f"{k}_{rep}", v))
    counts = np.bincount(rep_te["_indices"], minlength=num_codes).astype(float)
    p = counts / counts.sum()
    nz = p[p > 0]
    rows.append(row(d.name, label, seed, "perplexity", float(np.exp(-(nz * np.log(nz)).sum()))))
    rows.append(row(d.name, label, seed, "usage", float((counts > 0).mean())))
    rows.append(row(d.name, label, seed, "test_mse", float(rep_te["_mse"].sum() / len(d.x_test))))
    return rows, counts


def mean_of(summary: list[dict], dataset: str, model: str, metric: str) -> float:
    """The mean over seeds of one (data set, model, metric) in ``summary`` (NaN if absent)."""
    for s in summary:
        if s["dataset"] == dataset and s["model"] == model and s["metric"] == metric:
            return s["mean"]
    return math.nan


def target_checks(summary: list[dict], datasets: list[str], gammas: list[float | None]) -> list[list]:
    """Rows [target, data set, ours, reference, met?] for the issue's two targets."""
    out = []
    labels = [model_label(g) for g in gammas]
    metric = f"svm_{JUDGED}"
    for name in datasets:
        ref = mean_of(summary, name, "1nn_euclidean", "accuracy")
        best = max(labels, key=lambda m: mean_of(summary, name, m, metric) if math.isfinite(mean_of(summary, name, m, metric)) else -1)
        ours = mean_of(summary, name, best, metric)
        out.append([f"best SVM ({JUDGED}) >= 1-NN Euclidean [{best}]", name, ours, ref, "yes" if ours >= ref else "MISS"])
    bt = [model_label(g) for g in gammas if g is not None and g > 0]
    if 0.0 in gammas and bt:
        ctrl = np.nanmean([mean_of(summary, n, model_label(0.0), metric) for n in datasets])
        for m in bt:
            v = np.nanmean([mean_of(summary, n, m, metric) for n in datasets])
            out.append([f"{m} above the γ = 0 control (mean SVM, {JUDGED})", "all", float(v), float(ctrl), "yes" if v > ctrl else "MISS"])
    return out
