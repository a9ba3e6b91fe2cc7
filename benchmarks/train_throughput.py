"""Training throughput per model on SynTone, sigvae's Lightning path against a bare PyTorch loop.

Both run the same model, batch size, data (pre-generated SynTone clips in memory) and
optimiser steps; the Lightning path is sigvae.training.fit with its default loggers and
checkpointing, without a validation set. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/train_throughput.py [--steps 40] [--batch-size 64] [--duration 1.0]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import torch

from sigvae.data import SignalDataset, SynTone, SynToneConfig
from sigvae.models import build_model
from sigvae.training import SigLightningModule, TrainConfig, fit

MODELS = ["vae", "beta_vae", "beta_tcvae", "factor_vae"]


def bare_loop(model, data: SignalDataset, cfg: TrainConfig, steps: int) -> float:
    """Seconds for ``steps`` optimiser steps with a hand-written loop (same step logic)."""
    module = SigLightningModule(model, cfg)
    opts = module.configure_optimizers()
    loader = torch.utils.data.DataLoader(data, batch_size=cfg.batch_size, shuffle=True, drop_last=True)
    model.train()
    it = iter(loader)
    start = time.perf_counter()
    for _ in range(steps):
        batch = next(it)
        out = model.step(batch, "train")
        for o in opts:
            o.zero_grad()
        sum(out.losses.values()).backward()
        for o in opts:
            o.step()
    return time.perf_counter() - start


def lightning_path(model, data: SignalDataset, cfg: TrainConfig) -> float:
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        fit(model, data, None, cfg, d)
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    src = SynTone(SynToneConfig(duration=args.duration))
    data = SignalDataset(src.signal_set(args.steps * args.batch_size, seed=0))
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size, progress=False, accelerator="cpu", val_fraction=0.0)
    shape = dict(in_channels=1, length=src.length, sample_rate=src.sample_rate)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"SynTone clips of {args.duration} s, batch {args.batch_size}, {args.steps} steps per measurement\n")
    print("| model | parameters | bare loop (samples/s) | Lightning path (samples/s) | overhead |")
    print("|---|---|---|---|---|")
    for name in args.models.split(","):
        torch.manual_seed(0)
        m = build_model(name, shape)
        bare_loop(m, data, cfg, 3)  # warm-up: allocator, kernels
        torch.manual_seed(0)
        t_bare = bare_loop(build_model(name, shape), data, cfg, args.steps)
        torch.manual_seed(0)
        t_light = lightning_path(build_model(name, shape), data, cfg)
        n = args.steps * args.batch_size
        params = sum(p.numel() for p in m.parameters())
        print(f"| {name} | {params / 1e6:.2f} M | {n / t_bare:.0f} | {n / t_light:.0f} | {100 * (t_light / t_bare - 1):+.1f} % |")


if __name__ == "__main__":
    main()
