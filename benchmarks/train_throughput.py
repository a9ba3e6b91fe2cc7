"""Training throughput per model on SynTone, sigvae's Lightning path against a bare PyTorch loop.

Both run the same model, batch size, data (pre-generated SynTone clips in memory), sampler
and optimiser steps. Two numbers per path:

* **steady state**: samples/s over the optimiser steps after ``--warmup`` steps, timed from
  inside the loop (for Lightning, by a callback at the batch hooks). This is the per-step
  cost of the training path: logging, progress bookkeeping, per-step seeding.
* **end to end**: wall seconds of the whole call. For Lightning this adds the fixed costs
  paid once per run: building the Trainer and loggers, writing the ``best``/``last``
  checkpoints and the safetensors model folder.

The paths alternate ``--repeats`` times and the median is kept, so a change of machine load
affects both alike. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/train_throughput.py [--steps 60] [--warmup 10] [--batch-size 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import lightning as L
import torch

from sigvae.data import SignalDataset, SynTone, SynToneConfig
from sigvae.models import build_model
from sigvae.training import SigLightningModule, TrainConfig, _loader, fit

MODELS = ["vae", "beta_vae", "beta_tcvae", "factor_vae"]


def bare_loop(model, data: SignalDataset, cfg: TrainConfig, warmup: int) -> tuple[float, float]:
    """One epoch with a hand-written loop and the same step logic.

    Returns (seconds for the steps after ``warmup``, seconds for the whole epoch).
    """
    start = time.perf_counter()
    model.configure_for_data(len(data))
    module = SigLightningModule(model, cfg)
    opts = module.configure_optimizers()
    opts = opts if isinstance(opts, list) else [opts]
    model.train()
    t_warm = start
    for i, batch in enumerate(_loader(data, cfg, True)):
        if i == warmup:
            t_warm = time.perf_counter()
        out = model.step(batch, "train")
        for o in opts:
            o.zero_grad()
        sum(out.losses.values()).backward()
        for o in opts:
            o.step()
    end = time.perf_counter()
    return end - t_warm, end - start


class _StepClock(L.Callback):
    """Records the time at the start of batch ``warmup`` and at the end of the last batch."""

    def __init__(self, warmup: int):
        self.warmup, self.t_warm, self.t_end = warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            self.t_warm = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.t_end = time.perf_counter()


def lightning_path(model, data: SignalDataset, cfg: TrainConfig, warmup: int) -> tuple[float, float]:
    """One epoch through :func:`sigvae.training.fit` with its default loggers and checkpoints.

    Returns (seconds for the steps after ``warmup``, seconds for the whole ``fit`` call).
    """
    clock = _StepClock(warmup)
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        fit(model, data, None, cfg, d, callbacks=[clock])
        end = time.perf_counter()
    return clock.t_end - clock.t_warm, end - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    src = SynTone(SynToneConfig(duration=args.duration))
    data = SignalDataset(src.signal_set(args.steps * args.batch_size, seed=0))
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size, progress=False, accelerator="cpu", val_fraction=0.0)
    shape = dict(in_channels=1, length=src.length, sample_rate=src.sample_rate)
    timed = (args.steps - args.warmup) * args.batch_size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(
        f"SynTone clips of {args.duration} s, batch {args.batch_size}, {args.steps} steps per run "
        f"({args.warmup} warm-up), median of {args.repeats} alternating runs\n"
    )
    print("| model | parameters | bare loop (samples/s) | Lightning path (samples/s) | per-step overhead "
          "| end to end: bare / Lightning (s) | fixed cost per run (s) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        bare, light = [], []
        for _ in range(args.repeats):
            torch.manual_seed(0)
            bare.append(bare_loop(build_model(name, shape), data, cfg, args.warmup))
            torch.manual_seed(0)
            light.append(lightning_path(build_model(name, shape), data, cfg, args.warmup))
        b_steady, b_total = (statistics.median(x) for x in zip(*bare))
        l_steady, l_total = (statistics.median(x) for x in zip(*light))
        params = sum(p.numel() for p in build_model(name, shape).parameters())
        fixed = (l_total - l_steady * args.steps / (args.steps - args.warmup)) - (
            b_total - b_steady * args.steps / (args.steps - args.warmup))
        print(
            f"| {name} | {params / 1e6:.2f} M | {timed / b_steady:.0f} | {timed / l_steady:.0f} "
            f"| {100 * (l_steady / b_steady - 1):+.1f} % | {b_total:.1f} / {l_total:.1f} | {fixed:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
