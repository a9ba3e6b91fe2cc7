"""The ``separate`` benchmark's own report sections: the results tables (readable labels),
the measures side by side, the separator's training curves, and an example track's
spectrograms and audio."""

from __future__ import annotations

import numpy as np

from ...report.results import summarise
from ..task import TaskResults
from .config import LABELS, TABLE, SeparateConfig

#: The measures drawn side by side (one panel each): the improvements first.
PANELS = [next(m for m in TABLE if m.key == k) for k in ("si_sdri", "sdri", "si_sdr", "sdr", "sir", "sar")]


def _cell(stats: dict | None) -> str:
    if stats is None or not np.isfinite(stats["mean"]):
        return "n/a"
    return f"{stats['mean']:.2f} ± {stats['std']:.2f}" if stats["n"] > 1 else f"{stats['mean']:.2f}"


def report(cfg: SeparateConfig, results: TaskResults, report, folder) -> None:
    """Tables, figures and audio of the run (the summary and settings come from ``run_task``)."""
    from ...report.figures import loss_curves, metric_panels

    summary = summarise(results.rows)
    look = {(s["model"], s["metric"]): s for s in summary}
    methods = [m for m in cfg.methods if any(s["model"] == m for s in summary)]
    spread = "± std over seeds" if len(cfg.seeds) > 1 else "one seed"
    report.heading("Results", anchor="results")
    report.table(["method", *(m.label for m in TABLE)],
                 [[LABELS[m], *(_cell(look.get((m, k.key))) for k in TABLE)] for m in methods],
                 caption=f"Mean over sources and test tracks ({spread}).")
    report.text("'in' scores the mixture itself as every source's estimate; SI-SDRi = out − in, SDRi likewise. "
                "Speed: seconds of audio separated per second of wall-clock time (training excluded). "
                "IRM is an oracle (it uses the true stems).", note=True)
    example = results.extras.get("example") or {}
    names = example["track"].stem_names if example else []
    if names:
        report.heading("SI-SDRi per source (dB)", level=3)
        report.table(["method", *names], [[LABELS[m], *(_cell(look.get((m, f"si_sdri[{n}]"))) for n in names)]
                                          for m in methods])
    labelled = [{**s, "model": LABELS.get(s["model"], s["model"])} for s in summary]
    report.figure(metric_panels(labelled, PANELS, [LABELS[m] for m in methods], "separation quality", per_row=3),
                  "metrics", caption="Mean over sources and test tracks; error bars: std over seeds.")
    if results.extras.get("histories"):
        report.heading("Separator training")
        report.figure(loss_curves(results.extras["histories"], title="separator loss"), "loss_curves")
    if example:
        _example(cfg, example, report)


def _example(cfg: SeparateConfig, example: dict, report) -> None:
    """The first test track of the first seed: spectrograms and players of every estimate."""
    track = example["track"]
    names = track.stem_names
    report.heading(f"Example: test track {track.name}")
    report.figure(_spectrograms(track.mixture[0], track.stems[:, 0], example["est"], names, track.sample_rate,
                                cfg.n_fft), "spectrograms")
    report.audio(track.mixture[0], track.sample_rate, "mixture")
    for k, n in enumerate(names):
        report.audio(track.stems[k, 0], track.sample_rate, f"reference {n}")
    for m, est in example["est"].items():
        report.line_break()
        for k, n in enumerate(names):
            report.audio(est[k], track.sample_rate, f"{LABELS.get(m, m)}: {n}")


def _spectrograms(mixture, refs, ests: dict, names: list[str], sr: int, n_fft: int):
    """Rows: mixture, references, each method's estimates; one column per source (dB, magma)."""
    from ...data.stft import STFT
    from ...report.figures import subplots

    stft = STFT(n_fft, n_fft // 4)
    rows = [("mixture", [mixture] * len(names)), ("reference", list(refs))]
    rows += [(LABELS.get(m, m), list(e)) for m, e in ests.items()]
    fig, axes = subplots(len(rows), len(names), figsize=(3.2 * len(names), 1.5 * len(rows) + 0.5), squeeze=False)
    for i, (label, waves) in enumerate(rows):
        for k, w in enumerate(waves):
            mag = stft(np.asarray(w, np.float32)).abs().numpy()
            db = 20 * np.log10(mag / stft.reference + 1e-8)
            ax = axes[i, k]
            ax.imshow(np.clip(db, -70, 0), origin="lower", aspect="auto", cmap="magma",
                      extent=(0, len(w) / sr, 0, sr / 2000))
            if i < len(rows) - 1:
                ax.set_xticks([])
            else:
                ax.set_xlabel("s", fontsize=7)
            if k == 0:
                ax.set_ylabel(f"{label}\nkHz", fontsize=7)
            if i < 2:
                ax.set_title(f"{label} · {names[k]}" if i else "mixture", fontsize=8)
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig
