"""The run step of ``sigvae benchmark unmix``: every method on every condition and seed, then
the cost of the SKR and exact GP priors as the window grows, and both trained at one long
window. Returns tidy rows; the report step draws from them."""

from __future__ import annotations

import time

from ...data.mixtures import MixtureConfig, make_mixture
from ...report.results import row
from ...unmixing import VAESettings, separate
from ..common import BenchmarkProgress
from ..task import RunContext, TaskResults
from .config import CONDITIONS, UnmixConfig
from .scoring import collapse_warning, run_rows, score_long_window, time_prior


def run(cfg: UnmixConfig, ctx: RunContext) -> TaskResults:
    progress = BenchmarkProgress(_units(cfg), "unmix", enabled=ctx.progress)
    rows, warnings, examples = _separations(cfg, progress)
    rows += _prior_cost(cfg, progress)
    rows += _long_window(cfg, progress)
    total = progress.close()
    return TaskResults(rows, ran=_ran(cfg), warnings=warnings, extras={"examples": examples, "total": total},
                       dataset="blind source separation of synthetic mixtures")


def _units(cfg: UnmixConfig) -> int:
    """Progress units: one per classical run, one per VAE epoch, one per prior timing."""
    vae_methods = cfg.vae_methods()
    runs = len(cfg.conditions) * len(cfg.seeds)
    units = runs * (len(cfg.methods) - len(vae_methods)) + runs * len(vae_methods) * int(cfg.vae_values().get("epochs", 15))
    return units + len(cfg.cost_lengths) * 2 + (2 * cfg.long_epochs if cfg.long_window else 0)


def _vae_settings(cfg: UnmixConfig, condition: str) -> VAESettings:
    values = cfg.vae_values()
    model = {"encoder": "mlp", "decoder": "mlp"} if condition == "nonlinear" and cfg.nonlinear_mlp else {}
    return VAESettings(**{**values, "model": {**model, **values.get("model", {})}})


def _separations(cfg: UnmixConfig, progress: BenchmarkProgress) -> tuple[list[dict], list[str], dict]:
    """Every method × condition × seed: rows, warnings, and the first seed's estimates per
    condition and method (the report's example figures)."""
    rows: list[dict] = []
    warnings: list[str] = []
    examples: dict = {}
    vae_methods = set(cfg.vae_methods())
    for cond in cfg.conditions:
        for seed in cfg.seeds:
            mix = make_mixture(MixtureConfig(**CONDITIONS[cond], sources=cfg.sources, length=cfg.length, seed=seed))
            for method in cfg.methods:
                progress.set_label(f"{cond} seed {seed} {method}")
                is_vae = method in vae_methods
                vae = _vae_settings(cfg, cond) if is_vae else None
                start = time.perf_counter()
                res = separate(mix.mixtures, method, cfg.sources, seed=seed, vae=vae, callbacks=[progress] if is_vae else None)
                seconds = time.perf_counter() - start
                if not is_vae:
                    progress.advance()
                rows += run_rows(cond, method, seed, mix, res, seconds)
                warning = collapse_warning(cond, method, seed, res.sources) if is_vae else None
                warnings += [warning] if warning else []
                if seed == cfg.seeds[0]:
                    examples.setdefault(cond, {})[method] = (mix, res.sources)
    return rows, warnings, examples


def _prior_cost(cfg: UnmixConfig, progress: BenchmarkProgress) -> list[dict]:
    """Seconds per E_q[log p(z)] evaluation (+ backward) of the SKR and exact GP priors."""
    import torch

    from ...priors import GPPrior, SKRPrior

    rows = []
    gen = torch.Generator().manual_seed(0)
    gp, skr = GPPrior(cfg.sources), SKRPrior(cfg.sources)
    for length in cfg.cost_lengths:
        for name, prior in (("skr_prior", skr), ("gp_prior", gp)):
            progress.set_label(f"cost {name} L={length}")
            seconds = time_prior(prior, length, cfg.cost_batch, cfg.cost_repeats, gen)
            rows.append(row("cost", name, None, "seconds_per_eval", seconds, length=length))
            progress.advance()
    return rows


def _long_window(cfg: UnmixConfig, progress: BenchmarkProgress) -> list[dict]:
    """SKR and exact GP VAEs trained at window ``long_window`` on the gaussian condition."""
    if not cfg.long_window:
        return []
    seed = cfg.seeds[0]
    mix = make_mixture(MixtureConfig(condition="gaussian", sources=cfg.sources, length=cfg.length, seed=seed))
    rows = []
    for method in ("skr_vae", "gp_vae"):
        progress.set_label(f"long window {method}")
        vae = VAESettings(window=cfg.long_window, hop=max(1, cfg.long_window // 10), epochs=cfg.long_epochs,
                          batch_size=4, lr=cfg.vae.get("lr", 1e-2))
        res = separate(mix.mixtures, method, cfg.sources, seed=seed, vae=vae, callbacks=[progress])
        rows += score_long_window(f"gaussian_L{cfg.long_window}", method, seed, mix, res)
    return rows


def _ran(cfg: UnmixConfig) -> list[str]:
    """What ran, one line each (the summary's first lines)."""
    vae = cfg.vae_values()
    lines = [f"Data: {len(cfg.conditions)} conditions ({', '.join(cfg.conditions)}); {cfg.sources} sources, "
             f"{cfg.sources} sensors, {cfg.length} samples per mixture, a new mixture per seed.",
             f"Methods: {', '.join(cfg.methods)}; seeds {', '.join(map(str, cfg.seeds))}."]
    if cfg.vae_methods():
        lines.append(f"VAE budget: {_count(vae.get('epochs', 40), 'epoch')} per run, window {vae.get('window', 250)}, "
                     f"hop {vae.get('hop', 10)}, batch {vae.get('batch_size', 16)}"
                     + (" (MLP encoder and decoder on the nonlinear condition)." if cfg.nonlinear_mlp else "."))
    lines.append(f"Prior cost: SKR vs exact GP timed at L = {', '.join(map(str, cfg.cost_lengths))} "
                 f"(batch {cfg.cost_batch}, median of {cfg.cost_repeats}).")
    if cfg.long_window:
        lines.append(f"Long window: SKR and exact GP VAEs trained at L = {cfg.long_window} for "
                     f"{_count(cfg.long_epochs, 'epoch')} on the gaussian condition (seed {cfg.seeds[0]}).")
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
