"""The ``separate`` benchmark's run step: for every seed, generate demo tracks, train the
separator and fit NMF on the training tracks, and separate every test track with each method."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...report.results import row
from ..common import BenchmarkProgress
from ..task import RunContext, TaskResults
from .config import LABELS, SeparateConfig
from .scoring import fit_nmf, score_track, separator_active_units

DATASET = "demo-tracks"


@dataclass
class _Found:
    """What the seeds add up to: rows, separator loss histories, warnings, the example track."""

    rows: list[dict] = field(default_factory=list)
    histories: dict[str, list[dict]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    example: dict = field(default_factory=dict)


def run(cfg: SeparateConfig, ctx: RunContext) -> TaskResults:
    """Every seed: data, training and fitting, then each method on every test track."""
    units = len(cfg.seeds) * (("separator" in cfg.methods) * cfg.epochs + len(cfg.methods) * cfg.test_tracks)
    progress = BenchmarkProgress(units, "separate", enabled=ctx.progress)
    found = _Found()
    for seed in cfg.seeds:
        _run_seed(cfg, seed, ctx.stage or ctx.out, progress, found)
    progress.close()
    found.warnings += _worse_than_mixture(found.rows)
    return TaskResults(found.rows, ran=_ran(cfg), warnings=found.warnings, dataset=DATASET,
                       extras={"histories": found.histories, "example": found.example})


def _run_seed(cfg: SeparateConfig, seed: int, folder: Path, progress: BenchmarkProgress, found: _Found) -> None:
    from ...data.tracks import demo_track_list

    progress.set_label(f"seed {seed}: data")
    train = demo_track_list(cfg.train_tracks + cfg.val_tracks, 1000 + seed, cfg.track_seconds, cfg.sample_rate)
    test = demo_track_list(cfg.test_tracks, 2000 + seed, cfg.track_seconds, cfg.sample_rate)
    methods, fit_seconds = _fit_methods(cfg, seed, train, test, folder, progress, found)
    for name, separate in methods.items():
        progress.set_label(f"seed {seed}: separating with {name}")
        _evaluate(name, separate, test, seed, seed == cfg.seeds[0], progress, found)
        if name in fit_seconds:
            found.rows.append(row(DATASET, name, seed, "fit_seconds", fit_seconds[name]))


def _fit_methods(cfg: SeparateConfig, seed: int, train: list, test: list, folder: Path,
                 progress: BenchmarkProgress, found: _Found) -> tuple[dict, dict[str, float]]:
    """Train or set up each method; returns {method: separate(mixture, stems)} and fit seconds."""
    from ...separating.masks import HPSS, IdealRatioMask

    methods: dict = {}
    fit_seconds: dict[str, float] = {}
    if "separator" in cfg.methods:
        progress.set_label(f"seed {seed}: training the separator")
        result = _train_separator(cfg, seed, train, folder / "models" / f"separator-seed{seed}", progress)
        found.histories[f"seed {seed}"] = result.history
        fit_seconds["separator"] = result.seconds
        methods["separator"] = lambda mix, stems, m=result.model: m.separate(mix)
        found.warnings += _collapse_warning(result.model, test, seed, found)
    if "nmf" in cfg.methods:
        progress.set_label(f"seed {seed}: fitting NMF")
        t0 = time.time()
        nmf = fit_nmf(cfg, train, seed)
        fit_seconds["nmf"] = time.time() - t0
        found.rows.append(row(DATASET, "nmf", seed, "components", nmf.components))
        methods["nmf"] = lambda mix, stems, m=nmf: m.separate(mix)
    if "hpss" in cfg.methods:
        methods["hpss"] = lambda mix, stems, m=HPSS(cfg.n_fft, cfg.hop, cfg.hpss_kernel, cfg.hpss_kernel): m.separate(mix)
    if "irm" in cfg.methods:
        methods["irm"] = lambda mix, stems, m=IdealRatioMask(cfg.n_fft, cfg.hop): m.separate(mix, stems)
    return methods, fit_seconds


def _train_separator(cfg: SeparateConfig, seed: int, train: list, folder: Path, progress: BenchmarkProgress):
    """The multi-decoder separation VAE, trained on crops of the training tracks (model folder ``folder``)."""
    import torch

    from ...data.tracks import TrackCrops
    from ...models import build_model
    from ...training import TrainConfig, fit

    names = train[0].stem_names
    length = int(round(cfg.crop_seconds * cfg.sample_rate))
    torch.manual_seed(seed)  # initial weights come from the seed
    model = build_model("separator", {**cfg.model, "length": length, "sample_rate": cfg.sample_rate,
                                      "num_sources": len(names), "source_names": names})
    tr, va = train[: cfg.train_tracks], train[cfg.train_tracks:]
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, progress=False,
                       scheduler="cosine" if cfg.scheduler == "cosine" else "none",
                       accelerator="cpu" if not torch.cuda.is_available() else "auto")
    return fit(model, TrackCrops(tr, length, cfg.crops, seed),
               TrackCrops(va, length, max(len(va), cfg.crops // 8), seed + 1) if va else None,
               tcfg, folder, callbacks=[progress], loggers=cfg.logger,
               metadata={"model": "separator", "data": DATASET, "seed": seed, "benchmark": "separate",
                         "sample_rate": cfg.sample_rate, "length": length, "stems": names})


def _evaluate(name: str, separate, test: list, seed: int, keep_example: bool, progress: BenchmarkProgress,
              found: _Found) -> None:
    """Separate every test track with one method; rows of the mean scores (overall and per
    source) and the speed; the first seed's first track is kept as the report's example."""
    from ...metrics.separation import match_sources

    per_track: dict[str, list[np.ndarray]] = {}
    seconds, audio = 0.0, 0.0
    for ti, track in enumerate(test):
        t0 = time.time()
        est = separate(track.mixture, track.stems)
        seconds += time.time() - t0
        audio += track.seconds
        for k, v in score_track(track, est).items():
            per_track.setdefault(k, []).append(v)
        if keep_example and ti == 0:
            e = est[:, 0]
            found.example.setdefault("track", track)
            # order the estimates like the references (HPSS has no fixed order)
            found.example.setdefault("est", {})[name] = e[match_sources(track.stems[:, 0], e)] if name == "hpss" else e
        progress.advance()
    names = test[0].stem_names
    for k, vals in per_track.items():
        arr = np.stack(vals)  # [tracks, K]
        found.rows.append(row(DATASET, name, seed, k, float(arr.mean())))
        for j, src in enumerate(names):
            found.rows.append(row(DATASET, name, seed, f"{k}[{src}]", float(arr[:, j].mean()), source=src))
    found.rows.append(row(DATASET, name, seed, "speed", audio / max(seconds, 1e-9)))


def _collapse_warning(model, test: list, seed: int, found: _Found) -> list[str]:
    """A row of the separator's active latent units, and a warning when fewer than half are."""
    active, total = separator_active_units(model, test)
    found.rows.append(row(DATASET, "separator", seed, "active_units", active))
    if active == 0:
        return [f"separator, seed {seed}: 0 of {total} latent units active on the test tracks: the posterior has "
                "collapsed (the decoders ignore the latents)."]
    if active < total / 2:
        return [f"separator, seed {seed}: only {active} of {total} latent units active on the test tracks "
                "(fewer than half)."]
    return []


def _worse_than_mixture(rows: list[dict]) -> list[str]:
    """Methods whose mean SI-SDRi over seeds is below 0 dB: their estimates are worse than the mixture."""
    from ...report.results import summarise

    return [f"{LABELS.get(s['model'], s['model'])}: SI-SDRi {s['mean']:.2f} dB, below 0: its estimates are worse "
            "than the mixture itself." for s in summarise(rows) if s["metric"] == "si_sdri" and s["mean"] < 0]


def _ran(cfg: SeparateConfig) -> list[str]:
    """What ran: data, methods, seeds and the training budget."""
    lines = [f"Data: generated demo tracks (singing voice over harmonic notes and drums), {cfg.track_seconds:g} s at "
             f"{cfg.sample_rate} Hz; per seed {cfg.train_tracks} training + {cfg.val_tracks} validation tracks and "
             f"{cfg.test_tracks} test tracks (other seeds).",
             "Methods: " + ", ".join(LABELS[m] for m in cfg.methods)
             + ("; IRM uses the true stems: an upper bound, not a competitor." if "irm" in cfg.methods else "."),
             f"Seeds: {', '.join(map(str, cfg.seeds))}."]
    if "separator" in cfg.methods:
        lines.append(f"Separator: {cfg.epochs} epochs × {cfg.crops} crops of {cfg.crop_seconds:g} s, batch "
                     f"{cfg.batch_size}, lr {cfg.lr:g} ({cfg.scheduler} schedule).")
    if "nmf" in cfg.methods:
        lines.append(f"NMF: {', '.join(map(str, cfg.nmf_components))} components per source (chosen on the "
                     f"validation tracks), {cfg.nmf_iter} iterations.")
    return lines
