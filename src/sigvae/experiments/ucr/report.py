"""The report step of ``sigvae benchmark ucr``: test accuracies beside the baselines first,
then the targets, the settings chosen on the training split, every probe and representation,
and the figures (reconstructions, codebook usage, training loss).

Measures carry their readable names (:func:`.config.metric_label`) in every table and chart;
models keep the names of the rows and the summary (``bt_vqvae_g0.2``, ``1nn_euclidean``).
"""

from __future__ import annotations

import math

import numpy as np

from ..task import TaskResults
from .config import (
    CLUSTERED,
    JUDGED,
    PROBES,
    REPRESENTATIONS,
    TS2VEC,
    UCRConfig,
    candidate_label,
    metric_label,
)
from .scoring import mean_of, target_checks

BASELINES = ["1nn_euclidean", "minirocket"]


def report(cfg: UCRConfig, results: TaskResults, report, folder) -> None:
    """Add the UCR benchmark's sections to ``report``."""
    from ...report.figures import loss_curves
    from ...report.results import summarise

    summary = summarise(results.rows)
    extras = results.extras
    names, labels = extras["datasets"], extras["models"]
    _accuracy_tables(report, summary, names, labels)
    _accuracy_panels(report, summary, names, labels)
    report.heading("Targets")
    report.table(["target", "data set", "sigvae", "reference", "met"], target_checks(summary, names, cfg.gammas()),
                 caption=f"the judged measure is {metric_label(f'svm_{JUDGED}')}; means over seeds")
    _selection(report, results.rows, summary, names, labels, extras.get("candidates") or [{}])
    _every_probe(report, summary, names, labels)
    if extras["recon"] is not None:
        _reconstructions(report, extras["recon"])
    if extras["usage"]:
        _codebook_usage(report, extras["usage"])
    if extras["histories"]:
        report.figure(loss_curves(extras["histories"], keys=("train/loss",)), "loss", "Training loss per run")


def _accuracy_tables(report, summary: list[dict], names: list[str], labels: list[str]) -> None:
    """Test accuracy per data set: the baselines, TS2Vec's published number and every model,
    for the judged codes first, then the flat codes and the pre-quantisation latents."""
    from ...models.vqvae import STFTVQVAE

    segments = STFTVQVAE.REPRESENTATION_SEGMENTS
    what = {"segments": f"the quantised codes averaged into at most {segments} time segments",
            "flat": "the flattened quantised codes", "pre": "the flattened pre-quantisation latents"}
    for rep in ("segments", "flat", "pre"):
        metric = f"svm_{rep}"
        title = metric_label(metric)
        report.heading(title[0].upper() + title[1:] + (" (judged)" if rep == JUDGED else ""))
        header = ["data set", *BASELINES, "TS2Vec (published)", *labels]
        table = []
        for n in names:
            table.append([n, *(mean_of(summary, n, b, "accuracy") for b in BASELINES), TS2VEC.get(n, math.nan),
                          *(mean_of(summary, n, m, metric) for m in labels)])
        report.table(header, table, caption=f"a linear SVM on {what[rep]}, fitted on the training split; the "
                                            "baselines with their own classifier; means over seeds; TS2Vec numbers "
                                            "are quoted from its paper, not rerun here")


def _accuracy_panels(report, summary: list[dict], names: list[str], labels: list[str]) -> None:
    """One panel per data set: the judged test accuracy of every model beside the baselines'."""
    from ...report.figures import metric_panels

    judged = f"svm_{JUDGED}"
    cells = [{**s, "metric": s["dataset"]} for s in summary
             if (s["metric"] == judged and s["model"] in labels) or (s["metric"] == "accuracy" and s["model"] in BASELINES)]
    models = [m for m in [*labels, *BASELINES] if any(c["model"] == m for c in cells)]
    fig = metric_panels(cells, [(n, n) for n in names], models,
                        f"Test {metric_label(judged)} (baselines: their own classifier)")
    report.figure(fig, "accuracy", "Test accuracy per data set, mean and seed standard deviation")


def _selection(report, rows: list[dict], summary: list[dict], names: list[str], labels: list[str],
               candidates: list[dict]) -> None:
    """The candidates' cross-validated accuracy on the training split and how often each was kept."""
    if len(candidates) <= 1:
        return
    report.heading("Settings chosen on the training split")
    cl = [candidate_label(c) for c in candidates]
    table = []
    for n in names:
        for m in labels:
            picks = [int(r["value"]) for r in rows if r["dataset"] == n and r["model"] == m and r["metric"] == "selected"]
            table.append([n, m, *(mean_of(summary, n, m, f"cv_svm_{JUDGED}@{c}") for c in cl),
                          " ".join(f"{picks.count(i)}×{c}" for i, c in enumerate(cl) if picks.count(i))])
    report.table(["data set", "model", *(metric_label(f"cv_svm_{JUDGED}@{c}") for c in cl), "kept (runs)"], table,
                 caption="each run trains one model per candidate and keeps the one whose training codes give the best "
                         "cross-validated linear-SVM accuracy on the training split (mean over seeds shown); the test "
                         "split never enters the choice; every other number in this report is the kept model's")


def _every_probe(report, summary: list[dict], names: list[str], labels: list[str]) -> None:
    """Per data set: every probe on every representation, clustering and codebook measures."""
    from ...report.results import pivot

    report.heading("Every probe and representation")
    metrics = [f"{p}_{r}" for r in REPRESENTATIONS for p in PROBES]
    metrics += [f"{k}_{r}" for r in CLUSTERED for k in ("silhouette", "ari", "nmi")]
    metrics += ["perplexity", "usage", "test_mse", "train_seconds"]
    for n in names:
        sub = [s for s in summary if s["dataset"] == n and s["model"] in [*labels, "raw_series"] and s["metric"] in metrics]
        models, _cols, cells = pivot(sub, fmt="{mean:.3f} ± {std:.3f}")
        report.table(["measure", *models], [[metric_label(m), *(cells.get((r, m), "") for r in models)] for m in metrics],
                     caption=f"{n}: mean ± standard deviation over seeds; accuracies and clustering on the test split; "
                             "raw_series: the probes on the raw series (under flat)")


def _reconstructions(report, recon) -> None:
    from ...report.figures import subplots

    name, label, x, xh = recon
    fig, axes = subplots(1, len(x), figsize=(3 * len(x), 2.4), squeeze=False)
    for i in range(len(x)):
        axes[0, i].plot(x[i, 0], lw=1, label="input")
        axes[0, i].plot(xh[i, 0], lw=1, label="reconstruction")
        axes[0, i].set_xticks([])
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{name}, {label}: test series and reconstructions (channel 0)", fontsize=9)
    fig.tight_layout()
    report.figure(fig, "reconstructions", "Reconstructions through the quantised codes")


def _codebook_usage(report, usage: dict) -> None:
    from ...report.figures import subplots

    fig, ax = subplots(figsize=(7, 3))
    for (n, m, s), counts in usage.items():
        ax.plot(np.sort(counts)[::-1] / counts.sum(), marker=".", lw=0.8, label=f"{n} {m} s{s}")
    ax.set_xlabel("code rank")
    ax.set_ylabel("share of test latents")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    report.figure(fig, "codebook_usage", "Codebook usage on the test split, codes sorted by frequency")
