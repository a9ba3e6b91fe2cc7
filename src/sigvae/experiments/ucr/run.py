"""The run step of ``sigvae benchmark ucr``: per data set the baselines, then per γ and seed
a (Barlow Twins) VQ-VAE trained on the training split (one per candidate setting, the best
kept), its representations of both splits measured by :mod:`.scoring`."""

from __future__ import annotations

import math
from pathlib import Path

from ..common import BenchmarkProgress
from ..task import RunContext, TaskResults
from .config import UCRConfig, candidate_label, model_label, selection_candidates
from .scoring import baseline_rows, model_rows, represent, train_selected, training_plan


def load_checked(cfg: UCRConfig, candidates: list[dict]) -> list:
    """Load every data set and build the model settings for each, before training anything:
    a bad name or setting is refused before any time is spent."""
    from ...data.ucr import load_ucr
    from ...extras import require
    from ...models import build_config

    if cfg.minirocket:
        require("ucr", "the MiniRocket reference (--no-minirocket skips it)")
    datasets = [load_ucr(n, cfg.data_dir) for n in cfg.datasets]
    for d in datasets:
        for cand in candidates:
            build_config("barlow_vqvae", {"in_channels": d.channels, "length": d.length, "sample_rate": 1,
                                          **cfg.model, **cand})
    return datasets


def run(cfg: UCRConfig, ctx: RunContext) -> TaskResults:
    """Run the benchmark described by ``cfg`` into ``ctx.stage``; returns its tidy rows."""
    candidates = selection_candidates(cfg.select)
    datasets = load_checked(cfg, candidates)
    gammas = cfg.gammas()
    runs = len(datasets) * len(gammas) * len(cfg.seeds)
    epochs = sum(training_plan(len(d.x_train), cfg.steps)[1] for d in datasets) * len(gammas) * len(cfg.seeds)
    progress = BenchmarkProgress(epochs * len(candidates) + runs + 2 * len(datasets), "ucr", enabled=ctx.progress)
    rows: list[dict] = []
    extras: dict = {"histories": {}, "recon": None, "usage": {}, "candidates": candidates,
                    "datasets": [d.name for d in datasets], "models": [model_label(g) for g in gammas]}
    for d in datasets:
        rows += baseline_rows(d, cfg.minirocket, progress)
        for gamma in gammas:
            for seed in cfg.seeds:
                first = d.name == datasets[0].name and seed == cfg.seeds[0]
                rows += _model_run(cfg, d, gamma, seed, candidates, Path(ctx.stage) / "runs" / d.name, progress,
                                   extras, first)
                progress.advance()
    progress.close()
    return TaskResults(rows, ran=_ran(cfg, extras, runs), warnings=_warnings(rows, extras),
                       extras=extras, dataset=", ".join(extras["datasets"]))


def _model_run(cfg: UCRConfig, d, gamma, seed: int, candidates: list[dict], folder: Path, progress, extras: dict,
               first: bool) -> list[dict]:
    """Train (and select) one model, measure it; returns its rows and fills ``extras``."""
    from ...report.results import row

    label = model_label(gamma)
    progress.set_label(f"{d.name} {label} seed {seed}")
    rows: list[dict] = []
    result, epochs, rep_tr, train_secs = train_selected(d, gamma, seed, cfg.steps, cfg.model, candidates, folder,
                                                        label, progress, rows, cfg.logger)
    model = result.model
    rep_te = represent(model, d.x_test)
    measured, counts = model_rows(d, label, seed, rep_tr, rep_te, model.config.num_codes)
    rows += measured
    rows.append(row(d.name, label, seed, "train_seconds", train_secs))
    rows.append(row(d.name, label, seed, "epochs", float(epochs)))
    extras["histories"][f"{d.name} {label} s{seed}"] = result.history
    extras["usage"][(d.name, label, seed)] = counts
    if extras["recon"] is None or first:
        import torch

        with torch.no_grad():
            xs = torch.from_numpy(d.x_test[:4])
            extras["recon"] = (d.name, label, d.x_test[:4], model.reconstruct(xs).numpy())
    return rows


def _ran(cfg: UCRConfig, extras: dict, runs: int) -> list[str]:
    """What ran, one line each: data, models and baselines, seeds and budget, selection."""
    source = f"from {cfg.data_dir}" if cfg.data_dir else "the copies aeon ships"
    baselines = "1-NN Euclidean, linear probes on the raw series" + (", MiniRocket" if cfg.minirocket else "")
    lines = [f"Data: {', '.join(extras['datasets'])} (UCR/UEA, {source}); models trained on the training split only, "
             "probes fitted on it and scored on the test split.",
             f"Models: {', '.join(extras['models'])} (bt_vqvae_gγ: Barlow Twins VQ-VAE with loss weight γ; γ = 0 is the "
             "control trained on the same augmented views; vqvae_plain: no augmentation). Baselines: " + baselines + ".",
             f"Seeds {', '.join(map(str, cfg.seeds))}: {runs} model runs of {cfg.steps} optimiser steps each."]
    candidates = extras["candidates"]
    if len(candidates) > 1:
        lines.append(f"Each run trained {len(candidates)} candidates ({'; '.join(candidate_label(c) for c in candidates)}) "
                     "and kept the one with the best cross-validated SVM accuracy on its training codes.")
    return lines


def _warnings(rows: list[dict], extras: dict) -> list[str]:
    """A collapsed codebook (every test latent on one code), or a run that diverged."""
    out = []
    for (name, label, seed), counts in extras["usage"].items():
        used = int((counts > 0).sum())
        if used <= 1:
            out.append(f"{label} on {name}, seed {seed}: the codebook collapsed — every test latent uses one of "
                       f"{len(counts)} codes, so its codes say nothing about the series.")
    for r in rows:
        if r["metric"] == "test_mse" and not math.isfinite(r["value"]):
            out.append(f"{r['model']} on {r['dataset']}, seed {r['seed']}: test reconstruction error is not finite "
                       "(training diverged).")
    return out
