"""Spectrogram separation benchmark on generated demo tracks (task ``separation-spectrogram``).

For every seed: generate training and test demo tracks (singing voice over harmonic
notes and drums, :mod:`sigvae.data.demo_tracks`; test tracks from other seeds), train
the multi-decoder separation VAE (``separator``) through :func:`sigvae.training.fit`,
fit supervised NMF on the same training stems, and separate every test track with the
separator, NMF, HPSS and the ideal ratio mask (oracle). Scores per method, as Asteroid
reports them: SI-SDR of the mixture (input) and of the estimate, SI-SDR improvement,
and BSS-eval SDR/SIR/SAR of the input and the estimate; plus separation speed in
seconds of audio per second.

Output folder (``--out``)::

    report.html           tables, spectrograms, loss curves, audio players (self-contained)
    results.json / .csv   rows {dataset, model, seed, metric, value[, source]}
    settings.json         the resolved settings (``--config settings.json`` reruns them)
    figures/*.png         every figure of the report
    models/separator-seed<s>/  the trained separators (``sigvae separate`` takes them)
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..config import check, from_dict, load_config_file, to_dict
from .common import BenchmarkProgress, add_common_arguments, parse_list, parse_seeds

DESCRIPTION = ("spectrogram separation on demo tracks: the multi-decoder separation VAE vs supervised NMF, "
               "HPSS and the ideal ratio mask (SI-SDR, SI-SDRi, SDR/SIR/SAR, speed)")
METHODS = ["separator", "nmf", "hpss", "irm"]
LABELS = {"separator": "separator VAE", "nmf": "NMF (supervised)", "hpss": "HPSS", "irm": "IRM (oracle)"}
#: (metric key, column label) of the headline table.
HEADLINE = [("si_sdr_input", "SI-SDR in"), ("si_sdr", "SI-SDR out"), ("si_sdri", "SI-SDRi"),
            ("sdr_input", "SDR in"), ("sdr", "SDR out"), ("sdri", "SDRi"), ("sir", "SIR"), ("sar", "SAR"),
            ("speed", "speed (× real time)")]


@dataclass
class SpectrogramSeparationConfig:
    """Every setting of the benchmark (``--config FILE`` may hold any of these keys)."""

    seeds: list[int] = field(default_factory=lambda: [0, 1])
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    sample_rate: int = 8000
    train_tracks: int = 16
    val_tracks: int = 2
    test_tracks: int = 16  # 4 per seed moved the margin over NMF by up to 3 dB (BENCHMARKS.md)
    track_seconds: float = 6.0
    crop_seconds: float = 0.5
    crops: int = 640
    epochs: int = 12  # 6 left the training loss falling and seed 3 within 0.4 dB of NMF (BENCHMARKS.md)
    batch_size: int = 16
    lr: float = 3e-3
    scheduler: Literal["none", "cosine"] = "cosine"
    model: dict = field(default_factory=lambda: {"n_fft": 256, "hop_length": 64})
    nmf_components: list[int] = field(default_factory=lambda: [4, 8, 16])
    nmf_iter: int = 150
    hpss_kernel: int = 17

    def validate(self) -> None:
        check(bool(self.seeds) and min(self.seeds) >= 0 and max(self.seeds) < 2**32,
              "seeds must be a non-empty list of integers in [0, 2^32)")
        bad = [m for m in self.methods if m not in METHODS]
        check(not bad, f"unknown method {bad[0] if bad else ''!r}; choose from {', '.join(METHODS)}")
        check(self.sample_rate >= 8000, f"sample_rate must be >= 8000, got {self.sample_rate}")
        check(self.train_tracks >= 1 and self.test_tracks >= 1 and self.val_tracks >= 0, "need >= 1 train and test track")
        check(self.track_seconds >= max(0.5, self.crop_seconds), "track_seconds must be >= crop_seconds and >= 0.5")
        check(self.crops >= 1 and self.epochs >= 1 and self.batch_size >= 1, "crops, epochs and batch_size must be >= 1")
        check(bool(self.nmf_components) and min(self.nmf_components) >= 1, "nmf_components must list positive counts")


PROFILES = {
    "tiny": {"seeds": [0], "train_tracks": 2, "val_tracks": 1, "test_tracks": 1, "track_seconds": 1.5,
             "crop_seconds": 0.5, "crops": 8, "epochs": 1, "batch_size": 4,
             "model": {"n_fft": 256, "hop_length": 64, "channels": [4, 8], "latent_channels": 2, "dilations": [1, 2]},
             "nmf_components": [3], "nmf_iter": 20},
    "default": {},
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, "runs/benchmark-separation-spectrogram")
    p.add_argument("--profile", choices=sorted(PROFILES), default="default", help="tiny: seconds, for tests")
    p.add_argument("--methods", help=f"comma-separated subset of {','.join(METHODS)}")
    p.add_argument("--epochs", type=int, help="separator training epochs")
    p.add_argument("--crops", type=int, help="training crops per epoch")
    p.add_argument("--train-tracks", type=int)
    p.add_argument("--test-tracks", type=int)


def resolve(args: argparse.Namespace) -> SpectrogramSeparationConfig:
    opts: dict = dict(PROFILES[args.profile])
    if args.config:
        opts.update(load_config_file(args.config))
    if args.seeds is not None:
        opts["seeds"] = parse_seeds(args.seeds)
    if args.methods:
        opts["methods"] = parse_list(args.methods, METHODS, "method")
    for flag, key in (("epochs", "epochs"), ("crops", "crops"), ("train_tracks", "train_tracks"), ("test_tracks", "test_tracks")):
        if getattr(args, flag, None) is not None:
            opts[key] = getattr(args, flag)
    return from_dict(SpectrogramSeparationConfig, opts, where="benchmark separation-spectrogram")


def score(reference: np.ndarray, estimate: np.ndarray, mixture: np.ndarray) -> dict[str, np.ndarray]:
    """Asteroid-style metrics per source for one track: references/estimates [K, T], mixture [T].

    Returns arrays [K] for si_sdr_input, si_sdr, si_sdri and BSS-eval sdr/sir/sar of the
    input (the mixture as every source's estimate) and of the output, plus sdri.
    """
    from ..metrics.separation import bss_eval, si_sdr_improvement

    out = dict(si_sdr_improvement(reference, estimate, mixture))
    ev = bss_eval(reference, estimate)
    ev_in = bss_eval(reference, np.repeat(np.asarray(mixture)[None], reference.shape[0], axis=0))
    for k in ("sdr", "sir", "sar"):
        out[k] = ev[k]
        out[f"{k}_input"] = ev_in[k]
    out["sdri"] = out["sdr"] - out["sdr_input"]
    return out


def _fit_nmf(cfg: SpectrogramSeparationConfig, train: list, n_fft: int, hop: int, seed: int):
    """Supervised NMF with its number of components per source chosen on the validation tracks."""
    from ..spectral.baselines import SupervisedNMF

    fit_on, val = train[: cfg.train_tracks], train[cfg.train_tracks:]
    best, best_score = None, -np.inf
    for comps in cfg.nmf_components:
        nmf = SupervisedNMF(n_fft, hop, comps, max_iter=cfg.nmf_iter, seed=seed).fit(fit_on)
        if len(cfg.nmf_components) == 1 or not val:
            return nmf
        s = np.mean([score(t.stems[:, 0], nmf.separate(t.mixture)[:, 0], t.mixture[0])["si_sdri"].mean() for t in val])
        if s > best_score:
            best, best_score = nmf, s
    return best


def _spectrogram_figure(mixture, refs, ests: dict, names, sr, n_fft):
    import matplotlib.pyplot as plt

    from ..spectral.stft import STFT

    stft = STFT(n_fft, n_fft // 4)
    rows = [("mixture", [mixture] * len(names))] + [("reference", list(refs))] + [(LABELS.get(m, m), list(e)) for m, e in ests.items()]
    fig, axes = plt.subplots(len(rows), len(names), figsize=(3.2 * len(names), 1.5 * len(rows) + 0.5), squeeze=False)
    for i, (label, waves) in enumerate(rows):
        for k, w in enumerate(waves):
            mag = stft(np.asarray(w, np.float32)).abs().numpy()
            db = 20 * np.log10(mag / stft.reference + 1e-8)
            ax = axes[i, k]
            ax.imshow(np.clip(db, -70, 0), origin="lower", aspect="auto", cmap="magma",
                      extent=(0, len(w) / sr, 0, sr / 2000))
            ax.set_xticks([]) if i < len(rows) - 1 else ax.set_xlabel("s", fontsize=7)
            if k == 0:
                ax.set_ylabel(f"{label}\nkHz", fontsize=7)
            if i == 0 or (i == 1):
                ax.set_title(f"{label} · {names[k]}" if i else "mixture", fontsize=8)
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data.tracks import TrackCrops, demo_track_list
    from ..io import staged_dir, write_json
    from ..models import build_model
    from ..report.figures import loss_curves, metric_bars
    from ..report.html import Report
    from ..report.results import pivot, row, summarise, write_results
    from ..spectral.baselines import HPSS, IdealRatioMask
    from ..training import TrainConfig, fit

    cfg = resolve(args)
    dataset = "demo-tracks"
    n_units = len(cfg.seeds) * (("separator" in cfg.methods) * cfg.epochs + len(cfg.methods) * cfg.test_tracks)
    progress = BenchmarkProgress(n_units, "separation-spectrogram", enabled=not args.no_progress)
    rows: list[dict] = []
    histories: dict[str, list[dict]] = {}
    example: dict = {}
    with staged_dir(args.out) as out:
        for seed in cfg.seeds:
            progress.set_label(f"seed {seed}: data")
            train = demo_track_list(cfg.train_tracks + cfg.val_tracks, 1000 + seed, cfg.track_seconds, cfg.sample_rate)
            test = demo_track_list(cfg.test_tracks, 2000 + seed, cfg.track_seconds, cfg.sample_rate)
            names = train[0].stem_names
            methods: dict = {}
            fit_seconds: dict[str, float] = {}
            n_fft, hop = int(cfg.model.get("n_fft", 256)), int(cfg.model.get("hop_length", 64))
            if "separator" in cfg.methods:
                progress.set_label(f"seed {seed}: training the separator")
                length = int(round(cfg.crop_seconds * cfg.sample_rate))
                torch.manual_seed(seed)  # initial weights come from the seed
                model = build_model("separator", {**cfg.model, "length": length, "sample_rate": cfg.sample_rate,
                                                  "num_sources": len(names), "source_names": names})
                tr, va = train[: cfg.train_tracks], train[cfg.train_tracks:]
                tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, progress=False,
                                   scheduler="cosine" if cfg.scheduler == "cosine" else "none",
                                   accelerator="cpu" if not torch.cuda.is_available() else "auto")
                result = fit(model, TrackCrops(tr, length, cfg.crops, seed),
                             TrackCrops(va, length, max(len(va), cfg.crops // 8), seed + 1) if va else None,
                             tcfg, out / "models" / f"separator-seed{seed}", callbacks=[progress], loggers=False,
                             metadata={"model": "separator", "data": dataset, "seed": seed, "benchmark": "separation-spectrogram",
                                       "sample_rate": cfg.sample_rate, "length": length, "stems": names})
                histories[f"seed {seed}"] = result.history
                fit_seconds["separator"] = result.seconds
                methods["separator"] = lambda mix, stems, m=result.model: m.separate(mix)
            if "nmf" in cfg.methods:
                progress.set_label(f"seed {seed}: fitting NMF")
                t0 = time.time()
                nmf = _fit_nmf(cfg, train, n_fft, hop, seed)
                fit_seconds["nmf"] = time.time() - t0
                rows.append(row(dataset, "nmf", seed, "components", nmf.components))
                methods["nmf"] = lambda mix, stems, m=nmf: m.separate(mix)
            if "hpss" in cfg.methods:
                methods["hpss"] = lambda mix, stems, m=HPSS(n_fft, hop, cfg.hpss_kernel, cfg.hpss_kernel): m.separate(mix)
            if "irm" in cfg.methods:
                methods["irm"] = lambda mix, stems, m=IdealRatioMask(n_fft, hop): m.separate(mix, stems)
            for name, fn in methods.items():
                progress.set_label(f"seed {seed}: separating with {name}")
                per_track: dict[str, list[np.ndarray]] = {}
                seconds, audio = 0.0, 0.0
                for ti, track in enumerate(test):
                    t0 = time.time()
                    est = fn(track.mixture, track.stems)
                    seconds += time.time() - t0
                    audio += track.seconds
                    ref, e, mix = track.stems[:, 0], est[:, 0], track.mixture[0]
                    s = score(ref, e, mix)
                    for k, v in s.items():
                        per_track.setdefault(k, []).append(v)
                    if seed == cfg.seeds[0] and ti == 0:
                        example.setdefault("track", track)
                        # order the estimates like the references (HPSS has no fixed order)
                        from ..metrics.separation import match_sources

                        example.setdefault("est", {})[name] = e[match_sources(ref, e)] if name == "hpss" else e
                    progress.advance()
                for k, vals in per_track.items():
                    arr = np.stack(vals)  # [tracks, K]
                    rows.append(row(dataset, name, seed, k, float(arr.mean())))
                    for j, src in enumerate(names):
                        rows.append(row(dataset, name, seed, f"{k}[{src}]", float(arr[:, j].mean()), source=src))
                rows.append(row(dataset, name, seed, "speed", audio / max(seconds, 1e-9)))
                if name in fit_seconds:
                    rows.append(row(dataset, name, seed, "fit_seconds", fit_seconds[name]))
        total = progress.close()
        write_results(rows, out)
        write_json(out / "settings.json", to_dict(cfg))
        summary = summarise(rows)
        _report(out, cfg, rows, summary, histories, example, total, loss_curves, metric_bars, Report, pivot)
    _print_summary(summary, cfg)
    print(f"wrote {args.out}/report.html, results.json and results.csv ({total:.0f} s)")
    return 0


def _report(out, cfg, rows, summary, histories, example, total, loss_curves, metric_bars, Report, pivot) -> None:
    rep = Report("Spectrogram separation on demo tracks", out)
    rep.text(DESCRIPTION)
    rep.text(f"{len(cfg.seeds)} seed(s) {cfg.seeds}; {cfg.train_tracks} training + {cfg.val_tracks} validation tracks and "
             f"{cfg.test_tracks} test tracks of {cfg.track_seconds:g} s at {cfg.sample_rate} Hz per seed; separator: "
             f"{cfg.epochs} epochs × {cfg.crops} crops of {cfg.crop_seconds:g} s. Total {total:.0f} s on "
             f"{platform.machine()} ({platform.processor() or 'cpu'}).", note=True)
    methods = [m for m in cfg.methods]
    rows_, _cols, cells = pivot([s for s in summary if s["metric"] in dict(HEADLINE)], fmt="{mean:.2f} ± {std:.2f}")
    header = ["method"] + [label for _, label in HEADLINE]
    rep.heading("Mean over sources and test tracks (± std over seeds)")
    rep.table(header, [[LABELS.get(m, m)] + [cells.get((m, k), "n/a") for k, _ in HEADLINE] for m in methods if m in rows_])
    rep.text("SI-SDR/SDR 'in' score the mixture itself as every source's estimate; SI-SDRi = out − in. "
             "Speed: seconds of audio separated per second of wall-clock time (training excluded). "
             "IRM is an oracle (it uses the true stems).", note=True)
    names = example["track"].stem_names if example else []
    if names:
        rep.heading("Per source: SI-SDRi (dB)")
        per = {(s["model"], s["metric"]): s for s in summary}
        rep.table(["method"] + names, [[LABELS.get(m, m)] + [
            f"{per[(m, f'si_sdri[{n}]')]['mean']:.2f} ± {per[(m, f'si_sdri[{n}]')]['std']:.2f}" if (m, f"si_sdri[{n}]") in per else "n/a"
            for n in names] for m in methods])
    rep.figure(metric_bars(summary, ["si_sdr", "si_sdri", "sdr", "sir", "sar"], methods, "separation quality (dB)"), "metrics")
    if histories:
        rep.heading("Separator training")
        rep.figure(loss_curves(histories, title="separator loss"), "loss_curves")
    if example:
        tr = example["track"]
        rep.heading(f"Example: test track {tr.name}")
        rep.figure(_spectrogram_figure(tr.mixture[0], tr.stems[:, 0], example["est"], names, tr.sample_rate,
                                       int(cfg.model.get("n_fft", 256))), "spectrograms")
        rep.audio(tr.mixture[0], tr.sample_rate, "mixture")
        for k, n in enumerate(names):
            rep.audio(tr.stems[k, 0], tr.sample_rate, f"reference {n}")
        for m, est in example["est"].items():
            rep.line_break()
            for k, n in enumerate(names):
                rep.audio(est[k], tr.sample_rate, f"{LABELS.get(m, m)}: {n}")
    rep.heading("Settings")
    rep.code(json.dumps(to_dict(cfg), indent=1))
    rep.write()


def _print_summary(summary: list[dict], cfg: SpectrogramSeparationConfig) -> None:
    look = {(s["model"], s["metric"]): s for s in summary}
    print(f"{'method':<18}" + "".join(f"{label:>12}" for _, label in HEADLINE[:8]) + f"{'speed':>10}")
    for m in cfg.methods:
        cells = "".join(f"{look[(m, k)]['mean']:>12.2f}" if (m, k) in look else f"{'n/a':>12}" for k, _ in HEADLINE[:8])
        sp = look.get((m, "speed"), {}).get("mean", float("nan"))
        print(f"{LABELS.get(m, m):<18}{cells}{sp:>10.1f}")
