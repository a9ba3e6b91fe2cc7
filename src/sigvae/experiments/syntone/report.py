"""The SynTone benchmark's own report sections: results first (tables, ranking, figures),
the latent × factor mutual information, loss curves, reconstructions, samples and
traversals with audio, the comparison with the original paper, and the models'
hyper-parameters and time taken near the end. The summary before them and the settings
after them are written by :func:`sigvae.experiments.task.run_task`."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ...report import figures
from ...report.html import Bold
from ...report.results import summarise
from ..task import TaskResults
from .config import COST, HEADLINE, SECONDARY, SynToneBenchmarkConfig
from .scoring import torch_batches

#: The original SynTone paper's MIG / SAP / modularity (not reproducible; context only).
PUBLISHED = {
    "vae": (0.280, 0.045, 0.651),
    "beta_vae": (0.184, 0.035, 0.750),
    "factor_vae": (0.118, 0.035, 0.762),
    "beta_tcvae": (0.166, 0.023, 0.747),
}


def report(cfg: SynToneBenchmarkConfig, results: TaskResults, rep, folder: Path) -> None:
    """Add the benchmark's sections to ``rep`` and write its figures and clips into ``folder``."""
    ex = results.extras
    keep = ex["keep"]
    neural = [m for m in cfg.models if m in keep and not _is_baseline(keep[m]["model"])]
    summary = summarise(results.rows)
    results_section(rep, cfg, results.rows, summary)
    mutual_information_section(rep, cfg, ex["data"], keep)
    loss_section(rep, neural, ex["histories"])
    media = Media(cfg, ex["data"], keep, ex["frontend"], folder / "audio")
    media.reconstructions(rep)
    if neural:
        media.samples(rep, neural)
        media.traversals(rep, neural)
    if ex["data"].name == "syntone":
        paper_section(rep, cfg, ex["data"], summary)
    models_section(rep, cfg, ex["data"], keep, ex["frontend"], ex["eval_feats"])
    time_section(rep, ex["timings"], ex["t0"])
    files_section(rep)


def _is_baseline(model) -> bool:
    from ...linear_codes import Baseline

    return isinstance(model, Baseline)


def fmt_ms(s: dict | None) -> str:
    """'mean ± std' over seeds (the mean alone for one seed; 'n/a' when not measured)."""
    if not s or not math.isfinite(s.get("mean", math.nan)):
        return "n/a"
    return f"{s['mean']:.3f} ± {s['std']:.3f}" if s["n"] > 1 else f"{s['mean']:.3f}"


def ranking_text(summary: list[dict], models: list[str], metric: str, label: str) -> str:
    """One sentence ordering models by mean ``metric``, marking gaps larger than both stds."""
    look = {s["model"]: s for s in summary if s["metric"] == metric and math.isfinite(s["mean"])}
    order = sorted((m for m in models if m in look), key=lambda m: -look[m]["mean"])
    if not order:
        return f"{label}: not measured."
    parts = [f"{order[0]} ({look[order[0]]['mean']:.3f})"]
    for a, b in zip(order, order[1:]):
        gap = look[a]["mean"] - look[b]["mean"]
        sep = " > " if gap > look[a]["std"] + look[b]["std"] else " ≈ "
        parts.append(f"{sep}{b} ({look[b]['mean']:.3f})")
    return f"{label}: " + "".join(parts)


def _interval(r: dict | None) -> str:
    if r is None or not math.isfinite(r["value"]):
        return "n/a"
    if math.isfinite(r.get("ci_low", math.nan)):
        return f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
    return f"{r['value']:.3f}"


def results_section(rep, cfg: SynToneBenchmarkConfig, rows: list[dict], summary: list[dict]) -> None:
    """Mean ± std tables (readable labels), the ranking, the first seed's intervals, and the
    small-multiples charts of the same measures."""
    models = list(cfg.models)
    look = {(s["model"], s["metric"]): s for s in summary}
    rep.heading("Results: mean ± std over seeds", anchor="results")
    def present(metrics):
        return [m for m in metrics if any((name, m.key) in look for name in models)]

    for metrics, caption in ((HEADLINE, "Disentanglement (the summary's headline measures)"),
                             (SECONDARY + COST, "Informativeness, interventional scores, reconstruction and cost")):
        rep.table(["model"] + [m.label for m in present(metrics)],
                  [[name] + [fmt_ms(look.get((name, m.key))) for m in present(metrics)] for name in models], caption=caption)
    rep.text(
        "MIG, modularity, IRS and InfoM/InfoC use every evaluation clip; SAP, explicitness and DCI fit their "
        f"predictors on one half and score on the other (DCI estimator: {cfg.dci_estimator}; InfoMEC MI: {cfg.infomec_mi}). "
        "Reconstruction error is Σ over features of the squared error of the reconstruction from the posterior mean "
        "(for PCA/FastICA their linear inverse), averaged over evaluation clips. Interventional scores render new clips "
        f"({cfg.interventional_train} training and {cfg.interventional_eval} evaluation points of batch {cfg.interventional_batch}).",
        note=True,
    )
    rep.heading("Ranking", level=3)
    for m in HEADLINE[:4]:
        rep.text(ranking_text(summary, models, m.key, m.label))
    rep.text("'>' marks a gap between neighbours larger than the sum of their standard deviations over seeds; '≈' one that is not.", note=True)
    first = cfg.seeds[0]
    by_key = {(r["model"], r["metric"]): r for r in rows if r["seed"] == first}
    rep.table(["model"] + [m.label for m in HEADLINE], [[name] + [_interval(by_key.get((name, m.key))) for m in HEADLINE]
                                                         for name in models],
              caption=f"Seed {first}: value and 95% interval over evaluation clips (value ± 1.96 half-sample "
                      f"standard errors, {cfg.bootstrap} replicates)")
    rep.figure(figures.metric_panels(summary, present(HEADLINE), models, "Disentanglement (mean ± std over seeds)"),
               "metrics_disentanglement")
    if present(SECONDARY[:5]):
        rep.figure(figures.metric_panels(summary, present(SECONDARY[:5]), models,
                                         "Informativeness and interventional scores (mean ± std over seeds)"),
                   "metrics_informativeness")


def mutual_information_section(rep, cfg: SynToneBenchmarkConfig, data, keep: dict) -> None:
    """Every model's normalised MI matrix in one grid on one colour scale."""
    mats = {m: keep[m]["mi"] for m in cfg.models if m in keep}
    if not mats:
        return
    rep.heading("Latent × factor mutual information")
    first = cfg.seeds[0]
    rep.text(f"Normalised mutual information MI(z_d; v_k) / H(v_k) on the evaluation clips (seed {first}; "
             f"codes discretised into {cfg.num_bins} bins, as MIG uses). A disentangled code has one bright cell "
             "per column. Every panel shares one colour scale.", note=True)
    hi = max(float(np.nanmax(m)) if np.isfinite(m).any() else 0.0 for m in mats.values())
    shapes = list(dict.fromkeys(m.shape for m in mats.values()))  # a model_configs latent_dim may differ
    for i, shape in enumerate(shapes):
        group = {name: m for name, m in mats.items() if m.shape == shape}
        rep.figure(figures.heatmap_grid(group, [f"z{d}" for d in range(shape[0])], list(data.train.factor_names),
                                        "MI / H(factor)", vmin=0.0, vmax=max(hi, 1e-9)),
                   "mutual_information" + (f"_{i + 1}" if len(shapes) > 1 else ""))


def loss_section(rep, neural: list[str], histories: dict) -> None:
    """Training and validation loss of every seed, one chart per model."""
    if not neural:
        return
    rep.heading("Loss curves")
    for m in neural:
        hist = {f"seed {s}": h for s, h in histories.get(m, {}).items() if h}
        if hist:
            rep.figure(figures.loss_curves(hist, title=f"{m}: training and validation loss"), f"loss_{m}")


class Media:
    """The report's examples: reconstructions, samples and traversals, with audio."""

    def __init__(self, cfg: SynToneBenchmarkConfig, data, keep: dict, frontend, audio_dir: Path):
        self.cfg, self.data, self.keep, self.frontend, self.audio_dir = cfg, data, keep, frontend, audio_dir
        self.sr = data.train.sample_rate
        self.k = min(cfg.report_examples, len(data.eval))
        self.clips = data.eval.signals[: self.k]
        self.n_audio = min(cfg.audio_clips, self.k)
        self.cols = [factor_label(data, i) for i in range(self.k)]

    def play(self, rep, wave: np.ndarray, label: str, file: str) -> None:
        from ...io import write_wav

        rep.audio(wave, self.sr, label)
        write_wav(self.audio_dir / file, wave, self.sr)

    def reconstructions(self, rep) -> None:
        from ...inference import reconstruct

        rep.heading("Reconstructions")
        orig_feats = torch_batches(self.frontend, self.clips)
        grid_rows, labels, recon_waves = [orig_feats], ["original"], {}
        for m in self.cfg.models:
            if m not in self.keep:
                continue
            mod = self.keep[m]["model"]
            if _is_baseline(mod):
                grid_rows.append(mod.inverse(mod.embed(orig_feats.reshape(self.k, -1))).reshape(orig_feats.shape))
            else:
                _, rec, waves = reconstruct(mod, self.clips)
                grid_rows.append(rec)
                recon_waves[m] = waves
            labels.append(m)
        rep.figure(figures.feature_grid(grid_rows, labels, self.cols, "Evaluation clips and their reconstructions"),
                   "reconstructions")
        for i in range(self.n_audio):
            rep.paragraph(Bold(self.cols[i]))
            self.play(rep, self.clips[i], "original", f"clip{i}_original.wav")
            for m, waves in recon_waves.items():
                self.play(rep, waves[i], f"{m} reconstruction", f"clip{i}_{m}_reconstruction.wav")
        if recon_waves:
            rep.text("Reconstructed audio is the decoded log-mel spectrogram turned back into sound by Griffin-Lim, "
                     "so phase artefacts are the inversion's, not the model's.", note=True)

    def samples(self, rep, neural: list[str]) -> None:
        from ...inference import sample

        rep.heading("Samples from the prior")
        for m in neural:
            try:
                feats, waves = sample(self.keep[m]["model"], self.k, seed=self.keep[m]["seed"])
            except Exception as e:  # a model without a decoder has no samples to show
                rep.text(f"{m}: no samples ({e})", note=True)
                continue
            rep.figure(figures.feature_grid([feats], [m], None, f"{m}: decoded draws z ~ N(0, I)"), f"samples_{m}")
            for i in range(self.n_audio):
                self.play(rep, waves[i], f"{m} sample {i}", f"{m}_sample{i}.wav")

    def traversals(self, rep, neural: list[str]) -> None:
        from ...inference import traverse
        from ...io import safe_name

        cfg = self.cfg
        rep.heading("Latent traversals")
        rep.text(f"Each row varies one latent by ±{cfg.traversal_span} prior standard deviations around the posterior mean of "
                 f"the first evaluation clip ({self.cols[0]}), the others fixed. Audio: the latent most informative about "
                 "each factor.", note=True)
        for m in neural:
            try:
                values, feats, waves = traverse(self.keep[m]["model"], self.clips[0], steps=cfg.traversal_steps,
                                                span=cfg.traversal_span)
            except Exception as e:
                rep.text(f"{m}: no traversal ({e})", note=True)
                continue
            rep.figure(figures.traversal_grid(values, feats, f"{m} (seed {self.keep[m]['seed']})"), f"traversal_{m}")
            mi = self.keep[m]["mi"]
            for j, fname in enumerate(self.data.train.factor_names):
                d = int(np.argmax(mi[:, j]))
                rep.paragraph(f"{m}: z{d}, most informative about ", Bold(fname), f" (normalised MI {mi[d, j]:.2f})")
                for s in (0, len(values) // 2, len(values) - 1):
                    # Factor names come from the user's --data file: one safe file-name component.
                    self.play(rep, waves[d, s], f"z{d} = mean {values[s]:+.1f}",
                              f"{m}_traverse_z{d}_{safe_name(fname, 'factor name')}_step{s}.wav")


def factor_label(data, i: int) -> str:
    """Evaluation clip ``i``'s factors in words (SynTone: waveform, frequency, amplitude)."""
    f = data.eval.factors[i]
    src = data.source
    if src is not None and getattr(src, "name", "") == "syntone":
        c = src.config
        return f"{c.waveforms[f[0]]} {src.frequencies[f[1]]:.0f} Hz a={src.amplitudes[f[2]]:.2f}"
    return ", ".join(f"{n}={v}" for n, v in zip(data.eval.factor_names, f))


def paper_section(rep, cfg: SynToneBenchmarkConfig, data, summary: list[dict]) -> None:
    """How this benchmark differs from the original SynTone paper, and its numbers beside ours."""
    look = {(s["model"], s["metric"]): s for s in summary}
    rep.heading("Comparison with the original SynTone paper (context, not a like-for-like claim)")
    rep.bullets([
        "Waveforms are band-limited (additive synthesis below Nyquist); the original's naive triangle, "
        "sawtooth and square waves alias.",
        "The default top frequency is 0.95 × Nyquist (7,600 Hz at 16 kHz); the original's 8,000 Hz sits at "
        "Nyquist, where a sine degenerates.",
        "Amplitude is observable: features are log-mel dB without per-frame normalisation; the original "
        "normalised every frame to its maximum, which removes the amplitude factor exactly.",
        "Metrics are called with codes and factors in the right order; the original's evaluator swaps them "
        "(a perfect code then scores 0.37 MIG).",
        "Losses average reconstruction and KL per example (the original summed one over the batch and "
        "averaged the other, dividing its β by 64); FactorVAE's discriminator gradient does not reach the encoder.",
        f"This run: profile '{cfg.profile}', {cfg.duration} s clips on a {' × '.join(map(str, data.train.factor_sizes))} "
        f"factor grid, {len(data.train)} training clips, "
        f"{cfg.epochs} epochs; the paper: 1 s clips on the 4 × 400 × 20 grid, all 32,000, 20–50 epochs (the 'full' profile).",
    ])
    comp = [[m] + [f"{PUBLISHED[m][i]:.3f}" for i in range(3)] + [fmt_ms(look.get((m, k))) for k in ("mig", "sap", "modularity")]
            for m in cfg.models if m in PUBLISHED]
    if comp:
        rep.table(["model", "paper MIG", "paper SAP", "paper Modularity", "sigvae MIG", "sigvae SAP", "sigvae Modularity"], comp,
                  caption="Published numbers (not reproducible from the original code) beside this run's")


def models_section(rep, cfg: SynToneBenchmarkConfig, data, keep: dict, frontend, eval_feats) -> None:
    """The data, the input features and every model's hyper-parameters."""
    import torch

    from ...config import to_dict

    fc = frontend.config
    shape = tuple(frontend(torch.zeros(1, data.train.channels, data.train.length)).shape[1:])
    rep.heading("Data and models")
    rep.table(["what", "details"], [
        ["data set", f"{data.name}: {len(data.train)} training clips ({cfg.val_fraction:.0%} of them for validation), "
                     f"{len(data.eval)} evaluation clips, {data.train.length} samples at {data.train.sample_rate} Hz"],
        ["factors", ", ".join(f"{n} ({s} values)" for n, s in zip(data.train.factor_names, data.train.factor_sizes))],
        ["input features", f"{fc.kind}: n_fft {fc.n_fft}, hop {fc.hop_length}, {fc.n_mels} mels, dB with top_db {fc.top_db} "
                           f"(shape {shape})"],
    ])
    hp = []
    for m in cfg.models:
        if m in keep and not _is_baseline(keep[m]["model"]):
            c = to_dict(keep[m]["model"].config)
            keys = [k for k in ("latent_dim", "beta", "alpha", "gamma", "disc_layers", "disc_hidden", "disc_lr", "disc_betas",
                                "channels", "hidden_dim") if k in c]
            hp.append([m, ", ".join(f"{k}={c[k]}" for k in keys)])
        elif m in keep:
            hp.append([m, f"n_components={cfg.latent_dim} on the flattened input features ({eval_feats.shape[1]} values per clip)"
                       + (", whiten=unit-variance, max_iter=500, random_state=seed" if m == "fastica" else "")])
    rep.table(["model", "hyper-parameters (from the registered preset; see docs/benchmark.md)"], hp)
    if cfg.data != "syntone":
        # A data path inside settings.json would be read relative to settings.json (and refused
        # if absolute), so the rerun command names it as a flag.
        rep.text(f"Rerun exactly with: sigvae benchmark syntone --config settings.json --data {cfg.data} --out DIR "
                 "(a data path in settings.json would be read relative to it).", note=True)


def time_section(rep, timings: dict, t0: float) -> None:
    """Wall-clock time of the data, the training and the evaluation."""
    train_total = sum(v for k, v in timings.items() if k.endswith(" train"))
    eval_total = sum(v for k, v in timings.items() if k.endswith(" evaluate"))
    rep.heading("Time taken")
    rep.table(["phase", "seconds"], [
        ["data generation", f"{timings['data']:.1f}"], ["training (all runs)", f"{train_total:.1f}"],
        ["evaluation (all runs)", f"{eval_total:.1f}"], ["total up to the report", f"{time.time() - t0:.1f}"],
    ], caption="Wall-clock time; on a shared machine these are inflated by other work. Runs reused from an "
               "earlier invocation into this folder count the training and evaluation time they took then; "
               "the total is this invocation's.")


def files_section(rep) -> None:
    rep.heading("Files")
    rep.code("report.html            this page\nresults.json, .csv     one row per model × seed × metric\n"
             "settings.json          the settings of this run\nfigures/*.png          the figures above\n"
             "audio/*.wav            the clips above\nmodels/<model>-seed<s>/ trained models (sigvae.load) and fitted baselines")
