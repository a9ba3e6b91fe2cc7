"""``sigvae benchmark separation``: blind source separation, methods × conditions × seeds.

Conditions (three sources, three sensors, cond(A) ≤ 10, see ``sigvae.data.mixtures``):
``linear`` (periodic sources, no noise), ``noise10`` / ``noise30`` (10 % / 30 % observation
noise), ``gaussian`` (GP sources with different length scales), ``nonlinear`` (piecewise
Laplace sources, leaky-ReLU MLP mixing). Every condition trains the same VAEs (linear,
orthogonal demixing); ``nonlinear_mlp: true`` gives them MLP encoders and decoders on the
nonlinear condition instead. ``VAE@BASELINE`` methods (the default adds
``arflow_vae@fastica`` and ``arflow_vae@sobi``) keep the baseline's rotation and train only the
VAE's per-source denoising filters (``sigvae.separation.methods``).
Per run: MCC, Amari index (linear mixing), SI-SDR and its improvement, SDR/SIR/SAR, seconds.
The report gives the median and the worst case over seeds. A second part times the SKR prior
against the exact GP prior as the window grows, and trains both at one long window.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..config import check, from_dict, load_config_file
from .common import BenchmarkProgress, add_common_arguments, parse_list, parse_seeds

DESCRIPTION = "blind source separation: classical methods vs structured-prior VAEs (issue 6)"
#: ``--task`` values: bss runs here; spectrogram is rewritten to the ``separation-spectrogram``
#: task before parsing (:func:`sigvae.commands.benchmark.default_task_argv`).
TASKS_HERE = ("bss", "spectrogram")
CONDITIONS = {
    "linear": {"condition": "periodic", "noise": 0.0},
    "noise10": {"condition": "periodic", "noise": 0.1},
    "noise30": {"condition": "periodic", "noise": 0.3},
    "gaussian": {"condition": "gaussian", "noise": 0.0},
    "nonlinear": {"condition": "nonlinear", "noise": 0.0},
}
CLASSICAL = ["pca", "fastica", "amuse", "sobi"]
VAE_NAMES = ["vae", "gp_vae", "skr_vae", "arflow_vae"]
METHOD_NAMES = CLASSICAL + VAE_NAMES
#: Default methods: every method, plus the AR-flow VAE refining FastICA (noisy conditions) and
#: SOBI (Gaussian sources, where FastICA fails).
DEFAULT_METHODS = METHOD_NAMES + ["arflow_vae@fastica", "arflow_vae@sobi"]
#: Every name the benchmark accepts: the methods and each VAE@BASELINE pair.
ALL_METHODS = METHOD_NAMES + [f"{v}@{c}" for v in VAE_NAMES for c in CLASSICAL]


@dataclass
class SeparationBenchConfig:
    """Benchmark settings (a ``--config`` file may hold any of these; flags win)."""

    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    conditions: list[str] = field(default_factory=lambda: list(CONDITIONS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    length: int = 4000
    sources: int = 3
    vae: dict = field(default_factory=lambda: {"window": 250, "hop": 10, "epochs": 8, "batch_size": 16, "lr": 1e-2})
    cost_lengths: list[int] = field(default_factory=lambda: [250, 500, 1000, 2000, 4000])
    cost_batch: int = 4
    cost_repeats: int = 1
    long_window: int = 2000  # SKR vs GP trained at this window length (0: skip)
    long_epochs: int = 40
    nonlinear_mlp: bool = False  # MLP encoder/decoder for the nonlinear condition (else the same linear VAE everywhere)

    def validate(self) -> None:
        check(bool(self.methods) and all(m in ALL_METHODS for m in self.methods), f"methods must be among {METHOD_NAMES} or VAE@BASELINE (e.g. arflow_vae@fastica)")
        check(bool(self.conditions) and all(c in CONDITIONS for c in self.conditions), f"conditions must be among {list(CONDITIONS)}")
        check(bool(self.seeds) and min(self.seeds) >= 0 and max(self.seeds) < 2**32,
              "seeds must be a non-empty list of integers in [0, 2^32)")
        check(self.length >= 200, f"length must be >= 200, got {self.length}")
        check(all(v >= 16 for v in self.cost_lengths), "cost_lengths must be >= 16")
        check(self.long_window == 0 or self.long_window <= self.length, "long_window must be 0 or <= length")


PROFILES = {
    "default": {},
    "tiny": {"methods": ["pca", "fastica", "amuse", "sobi", "vae", "skr_vae", "gp_vae", "arflow_vae", "arflow_vae@fastica"],
             "conditions": ["linear", "nonlinear"], "seeds": [0], "length": 600,
             "vae": {"window": 100, "hop": 50, "epochs": 1, "batch_size": 16},
             "cost_lengths": [32, 64], "cost_batch": 2, "cost_repeats": 1, "long_window": 200, "long_epochs": 1},
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, "runs/benchmark-separation")
    p.add_argument("--task", choices=TASKS_HERE, default="bss", help="bss: multichannel blind source separation (default); spectrogram: single-channel "
                   "separation on demo tracks (the separation-spectrogram task and its options)")
    p.add_argument("--profile", choices=list(PROFILES), default="default", help="default (about 20 min on 2 CPU cores) or tiny (seconds)")
    p.add_argument("--methods", help=f"comma-separated subset of {','.join(METHOD_NAMES)}, or VAE@BASELINE (e.g. arflow_vae@fastica)")
    p.add_argument("--conditions", help=f"comma-separated subset of {','.join(CONDITIONS)}")
    p.add_argument("--epochs", type=int, help="VAE training epochs per run")


def _settings(args: argparse.Namespace) -> SeparationBenchConfig:
    values: dict = dict(PROFILES[args.profile])
    if args.config:
        values.update(load_config_file(args.config))
    if args.seeds is not None:
        values["seeds"] = parse_seeds(args.seeds)
    if args.methods:
        values["methods"] = parse_list(args.methods, ALL_METHODS, "method")
    if args.conditions:
        values["conditions"] = parse_list(args.conditions, list(CONDITIONS), "condition")
    cfg = from_dict(SeparationBenchConfig, values, where=args.config or "separation benchmark")
    if args.epochs is not None:
        if args.epochs < 1:
            from ..errors import ConfigError

            raise ConfigError(f"--epochs must be >= 1, got {args.epochs}")
        cfg.vae = {**cfg.vae, "epochs": args.epochs}
    return cfg


def time_prior(prior, length: int, batch: int, repeats: int, generator) -> float:
    """Median seconds of one E_q[log p(z)] evaluation plus its backward pass on [batch, D, length]."""
    import torch

    times = []
    for _ in range(repeats):
        mean = torch.randn(batch, prior.dim, length, generator=generator).requires_grad_(True)
        logvar = torch.full((batch, prior.dim, length), -4.0, requires_grad=True)
        start = time.perf_counter()
        prior.expected_log_prob(mean, logvar).sum().backward()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run(args: argparse.Namespace) -> int:
    import torch

    if getattr(args, "task", "bss") != "bss":
        from ..errors import ConfigError

        raise ConfigError(f"--task {args.task} is run through the CLI as 'sigvae benchmark separation-{args.task}'")
    cfg = _settings(args)
    # Tiny models: one thread avoids oversubscribing a shared CPU (several times faster here).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(args, cfg)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace, cfg: SeparationBenchConfig) -> int:
    import torch

    from ..commands.unmix import score, unmix_figure
    from ..data.mixtures import MixtureConfig, make_mixture
    from ..io import staged_dir
    from ..priors import GPPrior, SKRPrior
    from ..report.figures import heatmap
    from ..report.html import Report
    from ..report.results import row, summarise, write_results
    from ..separation import VAESettings, separate

    vae_methods = [m for m in cfg.methods if m.partition("@")[0] in VAE_NAMES]
    runs = len(cfg.conditions) * len(cfg.seeds)
    units = runs * (len(cfg.methods) - len(vae_methods)) + runs * len(vae_methods) * int(cfg.vae.get("epochs", 15))
    units += len(cfg.cost_lengths) * 2 + (2 * cfg.long_epochs if cfg.long_window else 0)
    progress = BenchmarkProgress(units, "separation", enabled=not args.no_progress)
    rows: list[dict] = []
    examples = {}
    with staged_dir(args.out) as out:
        for cond in cfg.conditions:
            for seed in cfg.seeds:
                mix = make_mixture(MixtureConfig(**CONDITIONS[cond], sources=cfg.sources, length=cfg.length, seed=seed))
                for method in cfg.methods:
                    progress.set_label(f"{cond} seed {seed} {method}")
                    is_vae = method in vae_methods
                    vae = None
                    if is_vae:
                        model = {"encoder": "mlp", "decoder": "mlp"} if cond == "nonlinear" and cfg.nonlinear_mlp else {}
                        vae = VAESettings(**{**cfg.vae, "model": {**model, **cfg.vae.get("model", {})}})
                    start = time.perf_counter()
                    res = separate(mix.mixtures, method, cfg.sources, seed=seed, vae=vae, callbacks=[progress] if is_vae else None)
                    seconds = time.perf_counter() - start
                    if not is_vae:
                        progress.advance()
                    for metric, value in score(mix.sources, res.sources, mix.mixtures, mix.mixing, res.unmixing).items():
                        if isinstance(value, float):
                            rows.append(row(cond, method, seed, metric, value))
                    rows.append(row(cond, method, seed, "seconds", seconds))
                    if seed == cfg.seeds[0]:
                        examples.setdefault(cond, {})[method] = (mix, res.sources)
        # --- cost of the priors as the window grows ---------------------------------
        gen = torch.Generator().manual_seed(0)
        gp, skr = GPPrior(cfg.sources), SKRPrior(cfg.sources)
        for length in cfg.cost_lengths:
            for name, prior in (("skr_prior", skr), ("gp_prior", gp)):
                progress.set_label(f"cost {name} L={length}")
                rows.append(row("cost", name, None, "seconds_per_eval", time_prior(prior, length, cfg.cost_batch, cfg.cost_repeats, gen), length=length))
                progress.advance()
        # --- SKR vs GP trained at one long window -----------------------------------
        if cfg.long_window:
            mix = make_mixture(MixtureConfig(condition="gaussian", sources=cfg.sources, length=cfg.length, seed=cfg.seeds[0]))
            for method in ("skr_vae", "gp_vae"):
                progress.set_label(f"long window {method}")
                vae = VAESettings(window=cfg.long_window, hop=max(1, cfg.long_window // 10), epochs=cfg.long_epochs,
                                  batch_size=4, lr=cfg.vae.get("lr", 1e-2))
                res = separate(mix.mixtures, method, cfg.sources, seed=cfg.seeds[0], vae=vae, callbacks=[progress])
                rows.append(row(f"gaussian_L{cfg.long_window}", method, cfg.seeds[0], "mcc", score(mix.sources, res.sources, mix.mixtures)["mcc"]))
                rows.append(row(f"gaussian_L{cfg.long_window}", method, cfg.seeds[0], "train_seconds", res.info["train_seconds"]))
        total = progress.close()
        write_results(rows, out)
        summary = summarise([r for r in rows if r["dataset"] != "cost"])
        look = {(s["dataset"], s["model"], s["metric"]): s for s in summary}
        rep = Report("Blind source separation benchmark", out)
        rep.text(f"{len(cfg.seeds)} seeds × {len(cfg.conditions)} conditions × {len(cfg.methods)} methods; "
                 f"{cfg.sources} sources, {cfg.length} samples; VAE settings {cfg.vae}. Total {total:.0f} s (shared CPU).", note=True)
        if any("@" in m for m in cfg.methods):
            rep.text("VAE@BASELINE: the baseline separates; the VAE keeps that rotation and learns a denoising filter per "
                     "source under its prior (31 taps and a 16-channel nonlinear branch). Its gain over the baseline is "
                     "denoising, not separation.", note=True)
        rep.heading("MCC: median (worst) over seeds")
        rep.table(["method"] + cfg.conditions, [
            [m] + [_cell(look.get((c, m, "mcc"))) for c in cfg.conditions] for m in cfg.methods
        ])
        for metric, label in (("amari", "Amari index (lower is better): median (worst)"), ("si_sdr", "SI-SDR dB: median (worst)"),
                              ("sir", "SIR dB: median (worst)"), ("seconds", "seconds per run: median (max)")):
            if any((c, m, metric) in look for c in cfg.conditions for m in cfg.methods):
                rep.heading(label)
                worst_high = metric in ("amari", "seconds")
                rep.table(["method"] + cfg.conditions, [
                    [m] + [_cell(look.get((c, m, metric)), worst_high) for c in cfg.conditions] for m in cfg.methods
                ])
        med = np.array([[look.get((c, m, "mcc"), {}).get("median", math.nan) for c in cfg.conditions] for m in cfg.methods])
        rep.figure(heatmap(med, cfg.methods, cfg.conditions, "median MCC"), "mcc_median")
        cost = [r for r in rows if r["dataset"] == "cost"]
        if cost:
            rep.heading("Prior cost: E_q[log p(z)] + backward, seconds per evaluation")
            table = []
            for length in cfg.cost_lengths:
                g = next(r["value"] for r in cost if r["model"] == "gp_prior" and r["length"] == length)
                s = next(r["value"] for r in cost if r["model"] == "skr_prior" and r["length"] == length)
                table.append([length, g, s, g / max(s, 1e-12)])
            rep.table(["L", "exact GP (s)", "SKR (s)", "GP / SKR"], table)
            rep.figure(_cost_figure(table), "prior_cost")
        long_rows = [r for r in rows if r["dataset"].startswith("gaussian_L")]
        if long_rows:
            rep.heading(f"SKR vs exact GP trained at window L = {cfg.long_window} (gaussian condition)")
            rep.table(["method", "metric", "value"], [[r["model"], r["metric"], r["value"]] for r in long_rows])
        for cond, per_method in examples.items():
            best = max(per_method, key=lambda m: look.get((cond, m, "mcc"), {}).get("median", -1))
            mix, est = per_method[best]
            rep.figure(unmix_figure(mix.mixtures, est, mix.sources, mix.sample_rate), f"example_{cond}",
                       f"{cond}, seed {cfg.seeds[0]}: {best} (best median MCC)")
        rep.write()
    print(f"separation benchmark: {len(rows)} rows in {total:.0f} s; wrote {args.out}/report.html, results.json, results.csv")
    return 0


def _cell(s: dict | None, worst_high: bool = False) -> str:
    if not s or not math.isfinite(s["median"]):
        return "n/a"
    worst = s["max"] if worst_high else s["min"]
    return f"{s['median']:.3f} ({worst:.3f})"


def _cost_figure(table: list[list]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    lengths = [r[0] for r in table]
    ax.loglog(lengths, [r[1] for r in table], "o-", label="exact GP prior")
    ax.loglog(lengths, [r[2] for r in table], "s-", label="SKR prior")
    ax.set_xlabel("sequence length L")
    ax.set_ylabel("seconds per evaluation (+ backward)")
    ax.legend()
    fig.tight_layout()
    return fig
