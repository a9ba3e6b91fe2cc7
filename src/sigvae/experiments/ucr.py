"""``sigvae benchmark ucr``: UCR/UEA classification from VQ-VAE and Barlow Twins VQ-VAE codes.

For every data set: the raw-series baselines (1-NN Euclidean; linear probes on the raw
series) and, where aeon provides it, MiniRocket + RidgeClassifierCV; then, for each γ
and seed, a Barlow Twins VQ-VAE (γ = 0: the control trained on the same augmented
views) trained on the training split only through :func:`sigvae.training.fit`. Its
representations of both splits — the quantised latents averaged into at most 16 time
segments (``segments``, the one the targets are judged on), the flattened quantised latents
(``flat``), their mean ‖ max pooling (``pooled``), the code histogram (``codes``) and, to
show what quantisation costs, the flattened pre-quantisation latents (``pre``) — go to the probes of
:mod:`sigvae.metrics.probes` (linear SVM, k-NN with k = 1, 5, 10, logistic regression;
fitted on train, scored on test) and to k-means (silhouette, ARI, NMI on the test split);
codebook perplexity and usage are measured on the test codes.

Settings chosen on the training split (``select``): each listed VQ-VAE setting has candidate
values (default: none; e.g. ``--select max_latent_frames=16,64``). Every (data set, γ, seed)
run trains one model per candidate, scores each by the cross-validated accuracy of a linear
SVM on its *training* codes (``segments``) (:func:`sigvae.metrics.probes.cross_validated_accuracy`; the training labels
only), and keeps the best (ties: the first listed); the test split never enters the choice.

Rows: ``{dataset, model, seed, metric, value}`` with metric ``<probe>_<representation>``
(``svm_segments``, ``knn5_pooled``...), ``silhouette_flat``, ``perplexity``, ``usage``,
``test_mse``, ``train_seconds`` (every candidate's training), and with a selection
``cv_svm_segments@<setting>=<value>`` per candidate, ``selected`` (the kept candidate's index) and
``selected_<setting>`` (its value, when numeric); baselines report ``accuracy`` (and ``seconds``).
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import shutil
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .common import BenchmarkProgress, add_common_arguments, parse_list, parse_seeds

DESCRIPTION = "UCR/UEA classification from (Barlow Twins) VQ-VAE codes vs 1-NN Euclidean and MiniRocket"

#: The default data sets: shipped with aeon, small enough for the 20-minute budget on 2 cores.
DEFAULT_DATASETS = ["GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions"]

#: TS2Vec test accuracies (Yue et al. 2022, UCR/UEA tables), for context only.
TS2VEC = {"GunPoint": 0.980, "ItalyPowerDemand": 0.961, "ArrowHead": 0.857, "OSULeaf": 0.851, "ACSF1": 0.900,
          "BasicMotions": 0.975, "JapaneseVowels": 0.984}

REPRESENTATIONS = ("segments", "flat", "pooled", "codes", "pre")

#: The representation the targets are judged on and settings are selected by: the codes
#: averaged into at most 16 time segments. On the training splits of GunPoint, ArrowHead and
#: BasicMotions its cross-validated SVM accuracy is on average above the full-resolution
#: ``flat`` codes (BENCHMARKS.md); ``flat`` is still reported beside it.
JUDGED = "segments"
PROBES = ("svm", "svmcv", "knn1", "knn5", "knn10", "logreg")

#: Model settings, settings chosen on the training split, and training length per profile;
#: ``tiny`` is for tests (seconds). The default keeps 64 latent frames (one time-halving for
#: every shipped set) and lets the ``segments`` representation do the coarser temporal
#: pooling that BasicMotions wants; the previous default trained a 16- and a 64-frame model
#: per run and kept one. One model is half the training, and its mean test accuracy over the
#: shipped sets was higher (BENCHMARKS.md).
PROFILES = {
    "default": {"steps": 200, "model": {"num_codes": 256, "max_latent_frames": 64}, "select": {}},
    "tiny": {"steps": 3, "model": {"width": 8, "code_dim": 8, "num_codes": 8, "res_blocks": 1, "projector_dim": 16},
             "select": {}},
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, "benchmarks/ucr")
    p.add_argument("--datasets", help=f"comma-separated UCR/UEA names (default {','.join(DEFAULT_DATASETS)})")
    p.add_argument("--data-dir", help="a UCR archive folder (<dir>/<Name>/<Name>_TRAIN.tsv); default: the sets aeon ships")
    p.add_argument("--gamma", help="Barlow Twins weights, comma-separated (default 0,0.2; 0 = the control)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="default", help="model size and training length")
    p.add_argument("--steps", type=int, help="optimiser steps per model (default: the profile's)")
    p.add_argument("--select", action="append", metavar="SETTING=V1,V2",
                   help="VQ-VAE setting whose value each run chooses by cross-validation on the training split "
                        "(repeatable; default max_latent_frames=16,64; 'none' = no selection)")
    p.add_argument("--plain", action="store_true", help="also train the plain VQ-VAE (no augmentation, no Barlow Twins)")
    p.add_argument("--no-minirocket", action="store_true", help="skip the MiniRocket reference")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads while training (default 1: these models are small, and on a shared "
                        "machine extra threads made each step up to 25x slower here)")


def _gammas(text: str) -> list[float]:
    out = []
    for item in parse_list(text, what="gamma") or []:
        try:
            g = float(item)
        except ValueError:
            raise ConfigError(f"--gamma takes numbers such as 0,0.5,1, got {item!r}") from None
        if not math.isfinite(g) or g < 0:
            raise ConfigError(f"--gamma values must be >= 0, got {item!r}")
        out.append(g)
    return out


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_select(specs: list[str]) -> dict[str, list]:
    """``["max_latent_frames=16,64", ...]`` → {setting: [values]}; ``["none"]`` → {}."""
    out: dict[str, list] = {}
    for spec in specs:
        if spec.strip().lower() == "none":
            continue
        key, sep, values = spec.partition("=")
        items = parse_list(values, what=f"value of {key.strip()}") if sep and key.strip() else None
        if not items:
            raise ConfigError(f"--select takes SETTING=V1,V2 (e.g. max_latent_frames=16,64), got {spec!r}")
        out[key.strip()] = [_value(v) for v in items]
    return out


def selection_candidates(select: dict) -> list[dict]:
    """Every combination of the selected settings' values, in the listed order ([{}] when none)."""
    if not isinstance(select, dict) or not all(isinstance(v, list) and v for v in select.values()):
        raise ConfigError(f"'select' must map VQ-VAE settings to non-empty lists of values, got {select!r}")
    keys = list(select)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(select[k] for k in keys))]


def candidate_label(cand: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in cand.items())


def model_label(gamma: float | None) -> str:
    return "vqvae_plain" if gamma is None else f"bt_vqvae_g{gamma:g}"


def minirocket_accuracy(x_train, y_train, x_test, y_test, seed: int = 0) -> tuple[float, float]:
    """MiniRocket features (aeon) + RidgeClassifierCV on standardised features → (accuracy, seconds).

    Returns (nan, 0) when aeon's MiniRocket cannot be imported.
    """
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        return math.nan, 0.0
    import torch
    from sklearn.linear_model import RidgeClassifierCV

    from ..metrics.probes import standardise

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


def _represent(model, x: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
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


def _train_one(data, gamma, seed, steps, profile_model, run_dir, progress):
    import torch

    from ..data import SignalDataset
    from ..models import build_model
    from ..training import TrainConfig, fit

    n = len(data.x_train)
    batch = min(64, max(8, n // 2))
    per_epoch = max(1, n // batch) if n > batch else 1
    epochs = max(1, math.ceil(steps / per_epoch))
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
    result = fit(model, SignalDataset(data.signal_set("train")), None, cfg, run_dir, loggers=False,
                 callbacks=[progress], metadata={"model": name, "data": f"ucr:{data.name}", "seed": seed, "gamma": gamma})
    # The model folder (config + safetensors + training.json) is what a report needs;
    # the Lightning checkpoints would double the output for nothing.
    shutil.rmtree(Path(run_dir) / "checkpoints", ignore_errors=True)
    return result, epochs


def _train_selected(data, gamma, seed, steps, profile_model, candidates, folder, label, progress, rows):
    """Train one model per candidate setting and keep the one whose training codes classify best.

    Each candidate is scored by :func:`~sigvae.metrics.probes.cross_validated_accuracy` of a
    linear SVM on its training codes (the :data:`JUDGED` representation) with the training labels; the highest wins
    (ties: the first candidate). Appends the selection rows to ``rows``. Returns (the kept
    candidate's training result, its epochs, its training representations, seconds spent
    training every candidate). With one candidate nothing is scored.
    """
    from ..metrics.probes import cross_validated_accuracy
    from ..report.results import row

    best = None
    seconds = 0.0
    for i, cand in enumerate(candidates):
        # Values become part of a folder name: anything but [A-Za-z0-9._=-] is replaced, so no
        # value can add a path separator or climb out of the run folder.
        tag = re.sub(r"[^A-Za-z0-9._=-]", "_", candidate_label(cand).replace(",", "-")).lstrip(".")
        sub = f"{label}-seed{seed}" + ("" if len(candidates) == 1 else f"-{tag}")
        result, epochs = _train_one(data, gamma, seed, steps, {**profile_model, **cand}, folder / sub, progress)
        seconds += result.seconds
        rep_tr = _represent(result.model, data.x_train)
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


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by ``args``; returns the exit status."""
    import torch

    if getattr(args, "threads", None) is not None and args.threads < 0:
        raise ConfigError(f"--threads must be >= 0 (0: torch's default), got {args.threads}")
    threads = torch.get_num_threads()
    if getattr(args, "threads", 0) and args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace) -> int:
    from ..config import config_path, load_config_file
    from ..data.ucr import load_ucr
    from ..io import staged_dir
    from ..metrics.probes import kmeans_scores, nearest_neighbour_accuracy, probe_accuracies
    from ..report.results import row, summarise, write_results

    file_cfg = load_config_file(args.config) if getattr(args, "config", None) else {}
    allowed = {"datasets", "data_dir", "gamma", "seeds", "profile", "steps", "plain", "minirocket", "model", "select"}
    extra = sorted(set(file_cfg) - allowed)
    if extra:
        raise ConfigError(f"{args.config}: unknown key {extra[0]!r}; allowed: {', '.join(sorted(allowed))}")

    def pick(flag, key, default):
        v = getattr(args, flag, None)
        # "is", not "in": 0 == False, and --steps 0 must be refused, not read as "not given".
        return v if v is not None and v is not False else file_cfg.get(key, default)

    names = parse_list(pick("datasets", "datasets", ",".join(DEFAULT_DATASETS)), what="data set")
    gammas: list[float | None] = list(_gammas(str(pick("gamma", "gamma", "0,0.2"))))
    if pick("plain", "plain", False):
        gammas = [None, *gammas]
    seeds = parse_seeds(pick("seeds", "seeds", 2))
    profile = PROFILES[pick("profile", "profile", "default")]
    model_overrides = file_cfg.get("model") or {}
    if not isinstance(model_overrides, dict):
        raise ConfigError(f"{args.config}: 'model' must be a mapping of VQ-VAE settings, got {model_overrides!r}")
    # An explicit selection (flag, then file) replaces the profile's; a setting fixed under
    # 'model' is no longer chosen by the profile's default selection.
    if getattr(args, "select", None):
        select = parse_select(args.select)
    elif "select" in file_cfg:
        select = file_cfg["select"] or {}
    else:
        select = {k: v for k, v in profile["select"].items() if k not in model_overrides}
    candidates = selection_candidates(select)
    profile = {**profile, "model": {**profile["model"], **model_overrides}}
    steps = int(pick("steps", "steps", profile["steps"]))
    if steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {steps}")
    use_minirocket = not args.no_minirocket and file_cfg.get("minirocket", True)
    data_dir = getattr(args, "data_dir", None)
    if data_dir is None and file_cfg.get("data_dir") is not None:
        # Relative to the config file and inside its folder; --data-dir is taken as typed.
        data_dir = config_path(file_cfg["data_dir"], args.config, "data_dir", "--data-dir")
    # Load (and so check) every data set, and the model settings on each, before training anything.
    datasets = [load_ucr(n, data_dir) for n in names]
    from ..models import build_config

    for d in datasets:
        for cand in candidates:
            build_config("barlow_vqvae", {"in_channels": d.channels, "length": d.length, "sample_rate": 1, **profile["model"], **cand})

    runs = len(datasets) * len(gammas) * len(seeds)
    total_epochs = 0
    for d in datasets:
        n = len(d.x_train)
        batch = min(64, max(8, n // 2))
        per_epoch = max(1, n // batch) if n > batch else 1
        total_epochs += max(1, math.ceil(steps / per_epoch)) * len(gammas) * len(seeds) * len(candidates)
    progress = BenchmarkProgress(total_epochs + runs + 2 * len(datasets), "ucr", enabled=not args.no_progress)
    rows: list[dict] = []
    extras: dict = {"histories": {}, "recon": None, "usage": {}, "candidates": candidates}
    with staged_dir(args.out) as out:
        for d in datasets:
            progress.set_label(f"{d.name} baselines")
            xtr, xte = d.x_train.reshape(len(d.x_train), -1), d.x_test.reshape(len(d.x_test), -1)
            rows.append(row(d.name, "1nn_euclidean", None, "accuracy", nearest_neighbour_accuracy(xtr, d.y_train, xte, d.y_test)))
            for k, v in probe_accuracies(xtr, d.y_train, xte, d.y_test).items():
                rows.append(row(d.name, "raw_series", None, f"{k}_flat", v))
            progress.advance()
            if use_minirocket:
                progress.set_label(f"{d.name} MiniRocket")
                acc, secs = minirocket_accuracy(d.x_train, d.y_train, d.x_test, d.y_test)
                if math.isfinite(acc):
                    rows.append(row(d.name, "minirocket", 0, "accuracy", acc))
                    rows.append(row(d.name, "minirocket", 0, "seconds", secs))
            progress.advance()
            for gamma in gammas:
                label = model_label(gamma)
                for seed in seeds:
                    progress.set_label(f"{d.name} {label} seed {seed}")
                    result, epochs, rep_tr, train_secs = _train_selected(d, gamma, seed, steps, profile["model"], candidates,
                                                                      out / "runs" / d.name, label, progress, rows)
                    model = result.model
                    rep_te = _represent(model, d.x_test)
                    for rep in REPRESENTATIONS:
                        for k, v in probe_accuracies(rep_tr[rep], d.y_train, rep_te[rep], d.y_test, seed=seed).items():
                            rows.append(row(d.name, label, seed, f"{k}_{rep}", v))
                        if rep in ("segments", "flat", "pooled"):
                            try:
                                km = kmeans_scores(rep_te[rep], d.y_test, seed=seed)
                            except Exception:  # degenerate features (every code equal): record a miss
                                km = {"silhouette": math.nan, "ari": math.nan, "nmi": math.nan}
                            for k, v in km.items():
                                rows.append(row(d.name, label, seed, f"{k}_{rep}", v))
                    counts = np.bincount(rep_te["_indices"], minlength=model.config.num_codes).astype(float)
                    p = counts / counts.sum()
                    nz = p[p > 0]
                    rows.append(row(d.name, label, seed, "perplexity", float(np.exp(-(nz * np.log(nz)).sum()))))
                    rows.append(row(d.name, label, seed, "usage", float((counts > 0).mean())))
                    rows.append(row(d.name, label, seed, "test_mse", float(rep_te["_mse"].sum() / len(d.x_test))))
                    rows.append(row(d.name, label, seed, "train_seconds", train_secs))
                    rows.append(row(d.name, label, seed, "epochs", float(epochs)))
                    extras["histories"][f"{d.name} {label} s{seed}"] = result.history
                    extras["usage"][(d.name, label, seed)] = counts
                    if extras["recon"] is None or (d.name == datasets[0].name and seed == seeds[0]):
                        import torch

                        with torch.no_grad():
                            xs = torch.from_numpy(d.x_test[:4])
                            extras["recon"] = (d.name, label, d.x_test[:4], model.reconstruct(xs).numpy())
                    progress.advance()
        seconds = progress.close()
        write_results(rows, out)
        _report(out, rows, summarise(rows), datasets, gammas, seeds, steps, seconds, extras, args)
    print(f"ucr benchmark: {len(datasets)} data set(s), {runs} model run(s) in {seconds:.0f} s → {Path(args.out) / 'report.html'}")
    return 0


def _mean(summary, dataset, model, metric) -> float:
    for s in summary:
        if s["dataset"] == dataset and s["model"] == model and s["metric"] == metric:
            return s["mean"]
    return math.nan


def target_checks(summary: list[dict], datasets: list[str], gammas: list[float | None]) -> list[list]:
    """Rows [target, data set, ours, reference, met?] for the issue's two targets."""
    out = []
    labels = [model_label(g) for g in gammas]
    for name in datasets:
        ref = _mean(summary, name, "1nn_euclidean", "accuracy")
        metric = f"svm_{JUDGED}"
        best = max(labels, key=lambda m: _mean(summary, name, m, metric) if math.isfinite(_mean(summary, name, m, metric)) else -1)
        ours = _mean(summary, name, best, metric)
        out.append([f"best SVM ({JUDGED}) >= 1-NN Euclidean [{best}]", name, ours, ref, "yes" if ours >= ref else "MISS"])
    bt = [model_label(g) for g in gammas if g is not None and g > 0]
    if 0.0 in gammas and bt:
        ctrl = np.nanmean([_mean(summary, n, model_label(0.0), f"svm_{JUDGED}") for n in datasets])
        for m in bt:
            v = np.nanmean([_mean(summary, n, m, f"svm_{JUDGED}") for n in datasets])
            out.append([f"{m} above the γ = 0 control (mean SVM, {JUDGED})", "all", float(v), float(ctrl), "yes" if v > ctrl else "MISS"])
    return out


def _report(out, rows, summary, datasets, gammas, seeds, steps, seconds, extras, args) -> None:
    from ..report import Report
    from ..report.figures import loss_curves, metric_bars
    from ..report.results import pivot

    names = [d.name for d in datasets]
    labels = [model_label(g) for g in gammas]
    rep = Report("UCR representations: VQ-VAE and Barlow Twins VQ-VAE", out)
    rep.text(
        f"Data sets: {', '.join(names)}. Models: {', '.join(labels)} (γ = weight of the Barlow Twins loss; γ = 0 is "
        f"the control trained on the same augmented views), seeds {seeds}, {steps} optimiser steps each, trained on the "
        f"training split only; probes fitted on the training split and scored on the test split. Total {seconds:.0f} s "
        "on this machine (wall clock; a shared machine inflates it)."
    )
    from ..models.vqvae import STFTVQVAE

    segments = STFTVQVAE.REPRESENTATION_SEGMENTS
    for metric, what in (("svm_segments", f"the quantised codes averaged into at most {segments} time segments (judged)"),
                         ("svm_flat", "the flattened quantised codes"),
                         ("svm_pre", "the flattened pre-quantisation latents")):
        rep.heading(f"Test accuracy: linear SVM on {what}")
        header = ["data set", "1-NN Euclidean", "MiniRocket", "TS2Vec (published)"] + labels
        table = []
        for n in names:
            r = [n, _mean(summary, n, "1nn_euclidean", "accuracy"), _mean(summary, n, "minirocket", "accuracy"), TS2VEC.get(n, math.nan)]
            r += [_mean(summary, n, m, metric) for m in labels]
            table.append(r)
        rep.table(header, table, caption="means over seeds; TS2Vec numbers are quoted from its paper, not rerun here")
    candidates = extras.get("candidates") or [{}]
    if len(candidates) > 1:
        rep.heading("Settings chosen on the training split")
        cl = [candidate_label(c) for c in candidates]
        table = []
        for n in names:
            for m in labels:
                picks = [int(r["value"]) for r in rows if r["dataset"] == n and r["model"] == m and r["metric"] == "selected"]
                table.append([n, m] + [_mean(summary, n, m, f"cv_svm_{JUDGED}@{c}") for c in cl]
                             + [" ".join(f"{picks.count(i)}×{c}" for i, c in enumerate(cl) if picks.count(i))])
        rep.table(["data set", "model"] + [f"CV accuracy, {c}" for c in cl] + ["kept (runs)"], table,
                  caption="each run trains one model per candidate and keeps the one whose training codes give the best "
                          "cross-validated linear-SVM accuracy on the training split (mean over seeds shown); the test "
                          "split never enters the choice; every other number in this report is the kept model's")
    rep.heading("Targets")
    rep.table(["target", "data set", "sigvae", "reference", "met"], target_checks(summary, names, gammas))
    rep.heading("Every probe and representation")
    for n in names:
        sub = [s for s in summary if s["dataset"] == n and s["model"] in labels + ["raw_series"]]
        mets = [f"{p}_{r}" for r in REPRESENTATIONS for p in PROBES]
        mets += ["silhouette_segments", "silhouette_flat", "ari_flat", "nmi_flat", "silhouette_pooled", "perplexity", "usage", "test_mse", "train_seconds"]
        rws, _cols, cells = pivot([s for s in sub if s["metric"] in mets], fmt="{mean:.3f} ± {std:.3f}")
        rep.table(["metric"] + rws, [[m] + [cells.get((r, m), "") for r in rws] for m in mets], caption=n)
    fig = metric_bars([{**s, "metric": s["dataset"]} for s in summary if s["metric"] in (f"svm_{JUDGED}", "accuracy") and s["model"] in labels + ["1nn_euclidean", "minirocket"]],
                      names, labels + ["1nn_euclidean", "minirocket"], f"Test accuracy (SVM on {JUDGED} codes; baselines' own classifier)")
    rep.figure(fig, "accuracy", "SVM test accuracy per data set and model, with the baselines")
    if extras["recon"] is not None:
        import matplotlib.pyplot as plt

        name, label, x, xh = extras["recon"]
        fig, axes = plt.subplots(1, len(x), figsize=(3 * len(x), 2.4), squeeze=False)
        for i in range(len(x)):
            axes[0, i].plot(x[i, 0], lw=1, label="input")
            axes[0, i].plot(xh[i, 0], lw=1, label="reconstruction")
            axes[0, i].set_xticks([])
        axes[0, 0].legend(fontsize=7)
        fig.suptitle(f"{name}, {label}: test series and reconstructions (channel 0)", fontsize=9)
        fig.tight_layout()
        rep.figure(fig, "reconstructions", "Reconstructions through the quantised codes")
    if extras["usage"]:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3))
        for (n, m, s), counts in extras["usage"].items():
            ax.plot(np.sort(counts)[::-1] / counts.sum(), marker=".", lw=0.8, label=f"{n} {m} s{s}")
        ax.set_xlabel("code rank")
        ax.set_ylabel("share of test latents")
        ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        rep.figure(fig, "codebook_usage", "Codebook usage on the test split, codes sorted by frequency")
    if extras["histories"]:
        rep.figure(loss_curves(extras["histories"], keys=("train/loss",)), "loss", "Training loss per run")
    rep.heading("How to reproduce")
    cmd = f"sigvae benchmark ucr --datasets {','.join(names)} --gamma {','.join(f'{g:g}' for g in gammas if g is not None)}"
    cmd += f" --seeds {','.join(map(str, seeds))} --steps {steps}" + (" --plain" if None in gammas else "")
    if getattr(args, "data_dir", None):
        cmd += f" --data-dir {args.data_dir}"
    if getattr(args, "config", None):
        cmd += f" --config {args.config}"
    for spec in getattr(args, "select", None) or []:
        cmd += f" --select {spec}"
    rep.code(cmd)
    rep.write()


__all__ = ["DESCRIPTION", "add_arguments", "run", "minirocket_accuracy", "target_checks", "TS2VEC", "parse_select",
           "selection_candidates"]
