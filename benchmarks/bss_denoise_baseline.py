"""How much of ``arflow_vae@fastica``'s gain over FastICA a classical denoiser gives too.

``VAE@BASELINE`` keeps the baseline's rotation and lets the VAE learn one denoising filter per
source. The fair classical counterpart is the baseline followed by a fixed denoiser, so this
script scores FastICA alone and FastICA followed by SciPy's adaptive Wiener filter
(``scipy.signal.wiener``, local mean and variance over ``k`` samples) and by a moving average,
for several window sizes, on the benchmark's noisy conditions (``periodic`` sources, 3 × 3,
4,000 samples, same seeds). The window is a free choice a user would have to make without the
ground truth; the VAE learns its filters from the mixture alone. Run from the repository root::

    PYTHONPATH=src python benchmarks/bss_denoise_baseline.py --seeds 0,1,2

Prints MCC median (worst) over the seeds per condition and denoiser.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.signal import wiener


def main() -> None:
    from sigvae.data.mixtures import MixtureConfig, make_mixture
    from sigvae.metrics.separation import mcc
    from sigvae.unmixing import fastica

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--noise", default="0.1,0.3", help="observation-noise levels (the benchmark's noise10, noise30)")
    p.add_argument("--windows", default="5,11,21,31", help="denoiser window sizes in samples")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    windows = [int(k) for k in args.windows.split(",")]
    variants = ["fastica"] + [f"{name} {k}" for name in ("wiener", "moving average") for k in windows]
    print("| denoiser after FastICA | " + " | ".join(f"noise {float(n):.0%}" for n in args.noise.split(",")) + " |")
    print("|---|" + "---:|" * len(args.noise.split(",")))
    table: dict[str, list[str]] = {v: [] for v in variants}
    for level in (float(n) for n in args.noise.split(",")):
        scores: dict[str, list[float]] = {v: [] for v in variants}
        for seed in seeds:
            mix = make_mixture(MixtureConfig(condition="periodic", noise=level, sources=3, length=4000, seed=seed))
            est = fastica(mix.mixtures, 3, seed=seed).sources
            scores["fastica"].append(mcc(mix.sources, est))
            for k in windows:
                scores[f"wiener {k}"].append(mcc(mix.sources, np.stack([wiener(s, k) for s in est])))
                box = np.ones(k) / k
                scores[f"moving average {k}"].append(mcc(mix.sources, np.stack([np.convolve(s, box, "same") for s in est])))
        for v in variants:
            table[v].append(f"{np.median(scores[v]):.3f} ({min(scores[v]):.3f})")
    for v in variants:
        print(f"| {v} | " + " | ".join(table[v]) + " |")


if __name__ == "__main__":
    main()
