"""The report step: the results table and figures, the models compared, which subspace
carries which factor, the encoder response, loss curves, the paper's table and audio."""

from __future__ import annotations

import numpy as np

from ..task import TaskResults
from .config import (
    CONTENDERS,
    FINETUNED,
    HEADLINE,
    KINDS,
    PAPER,
    PAPER_METRICS,
    TABLE,
    DecVAEBenchmarkConfig,
)

NOTE = (
    "DCI uses the {estimator!r} estimator of sigvae.metrics.dci (gbt = disentanglement_lib's) on frame codes with "
    "factors (vowel, speaker); DCI informativeness is its test accuracy. 'DCI disentanglement, frame ‖ utterance "
    "codes' repeats DCI with each frame's utterance code appended (DecVAE's sequence branch S; for β-VAE and PCA the "
    "mean of the utterance's frame codes): a speaker code that is constant over the utterance raises it for every "
    "model that has one, so read it beside the frame-level DCI disentanglement, not instead of it. Probes: "
    "standardised codes → logistic regression; vowel per frame, speaker per utterance, trained on half of each test "
    "speaker's utterances and scored on the other half."
)


def _models(cfg: DecVAEBenchmarkConfig, rows: list[dict]) -> list[str]:
    """The models in the rows, in the settings' order, each fine-tuned one after its original."""
    order = [x for m in cfg.models for x in (m, m + FINETUNED)]
    return [m for m in order if any(r["model"] == m for r in rows)]


def results_section(cfg: DecVAEBenchmarkConfig, results: TaskResults, report) -> None:
    from ...report.figures import metric_panels
    from ...report.results import pivot, summarise

    summary = summarise(results.rows)
    models = _models(cfg, results.rows)
    fmt = "{mean:.3f} ± {std:.3f}" if len(cfg.seeds) > 1 else "{mean:.3f}"  # one seed: no spread to show
    _, _, cells = pivot(summary, fmt=fmt)
    report.heading("Results" + (" (mean ± std over seeds)" if len(cfg.seeds) > 1 else " (one seed)"), anchor="results")
    shown = [m for m in TABLE if any((mod, m.key) in cells for mod in models)]
    report.table(["model", *[m.label for m in shown]], [[mod, *[cells.get((mod, m.key), "n/a") for m in shown]]
                                                       for mod in models])
    report.text(NOTE.format(estimator=cfg.dci_estimator), note=True)
    report.figure(metric_panels(summary, HEADLINE, models, "SimVowels, unseen test speakers"), "metrics",
                  "Each measure on its own axis: mean over seeds, bars ± one standard deviation.")


def models_section(cfg: DecVAEBenchmarkConfig, results: TaskResults, report) -> None:
    rows = []
    for name in _models(cfg, results.rows):
        base = name.removesuffix(FINETUNED)
        entry = CONTENDERS[base]
        what = entry.about + (" — then fine-tuned (same loss) on unlabelled test-speaker utterances"
                              if name != base else "")
        rows.append([name, entry.model or "—", what, KINDS[entry.kind]])
    report.heading("Models compared", level=3)
    report.table(["model", "registered model", "what", "trained and read"], rows,
                 caption="Every model has the same frame-level latent size, (components + 1) × z_dim "
                         f"= {(cfg.n_components + 1) * cfg.z_dim}.")


def subspace_section(cfg: DecVAEBenchmarkConfig, results: TaskResults, report) -> None:
    from ...report.figures import heatmap_grid

    subs = results.extras.get("subspaces") or {}
    if not subs:
        return
    names = results.extras["subspace_names"]
    first = next(iter(subs))
    matrices = {name: np.mean(s, axis=0) for name, s in subs.items() if names[name] == names[first]}
    report.figure(heatmap_grid(matrices, names[first], ["vowel (frame Z)", "speaker (utterance S)"],
                               "Probe accuracy of each subspace alone", vmin=0.0, vmax=1.0, per_row=4),
                  "subspaces", "Which subspace carries which factor: a probe on each subspace alone, mean over "
                  f"seeds (chance: vowel 0.2, speaker {1 / cfg.test_speakers:.2f}).")


def response_figure(resp: dict, names: list[str], title: str):
    from ...data.simvowels import VOWELS
    from ...report.figures import subplots

    fig, axes = subplots(1, len(resp), figsize=(5 * len(resp), 3.4))
    for ax, (factor, (values, mean, std)) in zip(np.atleast_1d(axes), resp.items()):
        x = np.arange(len(values)) if factor == "vowel" else values
        for s, name in enumerate(names):
            ax.errorbar(x, mean[s], yerr=std[s], marker="o", capsize=2, label=name)
        if factor == "vowel":
            ax.set_xticks(x)
            ax.set_xticklabels(VOWELS)
        ax.set_xlabel(factor)
        ax.set_ylabel("subspace mean along its 1st principal direction")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def response_section(results: TaskResults, report) -> None:
    if not results.extras.get("response"):
        return
    name, resp, names = results.extras["response"]
    report.figure(response_figure(resp, names, f"{name}, first seed — encoder response"), "encoder_response",
                  "Vary one factor, others fixed; each subspace's frame-level mean projected on its first principal "
                  "direction (fitted on the evaluation set); bars: std over frames.")


def paper_section(report) -> None:
    labels = {m.key: m.label for m in TABLE}
    report.heading("The paper's SimVowels table (context)", level=3)
    report.table(["model", *[labels[k] for k in PAPER_METRICS]], [[k, *v] for k, v in PAPER.items()])


def listen_section(cfg: DecVAEBenchmarkConfig, results: TaskResults, report) -> None:
    from ...decompose import decompose_utterance

    x, rate = results.extras["listen"]
    report.heading("Listen: one test utterance and its utterance-level FD components", level=3)
    comps = decompose_utterance(x[None], "fd", cfg.n_components, rate)[0]
    report.audio(x, rate, "utterance")
    for i, c in enumerate(comps):
        report.audio(c, rate, f"component C{i + 1}")


def report(cfg: DecVAEBenchmarkConfig, results: TaskResults, report, folder) -> None:
    """The task's own sections (the summary comes before them, the settings after)."""
    from ...report.figures import loss_curves

    results_section(cfg, results, report)
    models_section(cfg, results, report)
    subspace_section(cfg, results, report)
    response_section(results, report)
    if results.extras.get("histories"):
        report.figure(loss_curves(results.extras["histories"]), "loss_curves", "Training and validation loss per epoch.")
    paper_section(report)
    if results.extras.get("listen") is not None:
        listen_section(cfg, results, report)
