"""How fast SynTone renders clips, by block size (the renderer's ``_RENDER_BLOCK``).

The interventional scores of the SynTone benchmark render new clips (about 290,000
one-second clips per run in the ``--full`` profile), so the renderer's speed is a large
part of the evaluation time. The renderer sums harmonics over blocks of clips; a block as
large as the batch is a whole-array pass. Also times the torch renderer that the benchmark
uses on a GPU (``SynTone.render_tensor``), on the CPU and on CUDA where there is one, and
the previous renderer (whole-array passes), checking that it gives the same samples.

    OMP_NUM_THREADS=1 python benchmarks/syntone_render_speed.py [--clips 512] [--repeats 3]

Prints ms per clip (best of the repeats) for 1 s and 0.25 s clips on the paper's grid.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import sigvae.data.syntone as syntone
from sigvae.data import SynTone, SynToneConfig


def previous_renderer(src: SynTone, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The renderer before 2026-12-04, for comparison: one whole-array pass per harmonic
    over the clips that have it (same arithmetic per clip, so the same samples)."""
    f0, phase, coef, amp = src._plan(factors, rng)
    t = np.arange(src.length) / src.sample_rate
    out = np.zeros((len(f0), src.length))
    for k in range(1, coef.shape[1] + 1):
        active = np.nonzero(coef[:, k - 1])[0]
        if active.size:
            out[active] += coef[active, k - 1, None] * np.sin(k * (2 * np.pi * f0[active, None] * t[None, :] + phase[active, None]))
    peak = np.max(np.abs(out), axis=1, keepdims=True)
    return ((out / np.where(peak > 0, peak, 1.0)) * amp[:, None])[:, None, :].astype(np.float32)


def best_ms_per_clip(fn, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) / n * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=512)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(1)
    default_block = syntone._RENDER_BLOCK
    print(f"{'clip length':>11} | {'renderer':<28} | ms per clip")
    for duration in (1.0, 0.25):
        src = SynTone(SynToneConfig(duration=duration))
        factors = src.sample_factors(args.clips, np.random.default_rng(0))
        for block in sorted({1, 4, 16, 64, args.clips}):
            syntone._RENDER_BLOCK = block
            label = f"NumPy, blocks of {block}" + (" (whole batch)" if block == args.clips else "")
            label += " *" if block == default_block else ""
            ms = best_ms_per_clip(lambda src=src, factors=factors: src.sample_observations_from_factors(factors, np.random.default_rng(1)),
                                  args.clips, args.repeats)
            print(f"{duration:>9} s | {label:<28} | {ms:.3f}")
        syntone._RENDER_BLOCK = default_block
        same = np.array_equal(previous_renderer(src, factors, np.random.default_rng(1)),
                              src.sample_observations_from_factors(factors, np.random.default_rng(1)))
        ms = best_ms_per_clip(lambda src=src, factors=factors: previous_renderer(src, factors, np.random.default_rng(1)),
                              args.clips, args.repeats)
        print(f"{duration:>9} s | {'previous renderer':<28} | {ms:.3f}  (same samples: {same})")
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for dev in devices:
            def render(dev=dev, src=src, factors=factors):
                x = src._render_torch(factors, np.random.default_rng(1), torch.device(dev))
                if dev == "cuda":
                    torch.cuda.synchronize()
                return x

            render()  # warm-up (CUDA context, kernels)
            print(f"{duration:>9} s | {'torch float64 on ' + dev:<28} | {best_ms_per_clip(render, args.clips, args.repeats):.3f}")
    print("* the default block size")


if __name__ == "__main__":
    main()
