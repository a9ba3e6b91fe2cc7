"""Why the orthogonal BSS VAEs lose to FastICA on noisy mixtures: the objective or the search?

For each seed of the ``periodic`` condition with observation noise (default 30 %), train the
orthogonal-demixing VAE (``--method``, default ``gp_vae``; ``--taps`` source-filter taps,
default 31) three ways, everything else as in ``sigvae benchmark unmix``:

- ``random``: from its seeded random rotation (what ``sigvae unmix`` does);
- ``true-start``: from the true rotation (the orthogonal polar factor of (W A)⁻¹, W the
  whitener and A the known mixing), then trained freely;
- ``true-fixed``: from the true rotation and kept there; only the source filters, gains,
  posterior variances, noise and prior are trained.

and report MCC, the Amari index of Q·W and the final training loss (lower = preferred by
the ELBO). If ``true-start`` drifts to a worse Amari index at a lower loss than
``true-fixed``, the ELBO itself prefers a wrong rotation. The last column is the variance of the observation
noise that reaches each latent through Q·W: a rotation that gathers most of it in one latent
(a "noise sink") and leaves the others clean but mixed shows up there. ``--exact-gp`` adds the exact GP
marginal likelihood, Σ_k log N(q_kᵀ z; 0, (1 − σ_k²) K_k + σ_k² I) over windows, maximised
over the rotation and the noise variances (kernels as the ``gp`` prior's: Cauchy, length
scales 1–30), i.e. the same model with the posterior in closed form, from a random rotation.
FastICA and the oracle (true unmixing applied to the noisy mixtures) are printed for
reference. Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bss_noise_diagnosis.py --seeds 0,1,2 --exact-gp
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def rotation_from_truth(w: np.ndarray, mixing: np.ndarray) -> np.ndarray:
    """The orthogonal matrix nearest to the true unmixing of the whitened mixtures [K, K]."""
    u, _, vt = np.linalg.svd(np.linalg.inv(w @ mixing))
    return u @ vt


def train_vae(z: np.ndarray, method: str, taps: int, seed: int, epochs: int, start: np.ndarray | None, fixed: bool,
              overrides: dict | None = None):
    """Train the orthogonal VAE on whitened z [K, T] → (model, final training loss as 'loss = nll + kl')."""
    from sigvae.models import build_model
    from sigvae.training import TrainConfig, fit
    from sigvae.unmixing import VAESettings, WindowDataset

    k = z.shape[0]
    settings = VAESettings()
    torch.manual_seed(seed)
    model = build_model(method, {"latent_dim": k, **settings.model_overrides(method), "encoder_kernel": taps, **(overrides or {}),
                                 "in_channels": k, "length": settings.window})
    if start is not None:
        model.set_rotation(start, trainable=not fixed)
    tcfg = TrainConfig(epochs=epochs, batch_size=settings.batch_size, lr=settings.lr, seed=seed, val_fraction=0.0,
                       progress=False, accelerator="cpu", gradient_clip=5.0)
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(model, WindowDataset(z, settings.window, settings.hop), None, tcfg, Path(tmp), loggers=False)
    last = result.history[-1]
    return result.model.eval(), f"{last['train/loss']:.3f} = {last['train/nll']:.3f} + {last['train/kl']:.3f}"


def exact_gp_rotation(z: np.ndarray, seed: int, steps: int, window: int = 250) -> np.ndarray:
    """Maximise the exact GP marginal likelihood over an orthogonal rotation → Q [K, K]."""
    from sigvae.priors import kernel_fn, length_scales

    k = z.shape[0]
    zt = torch.as_tensor(z, dtype=torch.float64)
    starts = range(0, z.shape[1] - window + 1, 10)
    windows = torch.stack([zt[:, s : s + window] for s in starts])
    gen = torch.Generator().manual_seed(seed)
    skew = torch.nn.Parameter(0.5 * torch.randn(k, k, generator=gen, dtype=torch.float64))
    log_sigma = torch.nn.Parameter(torch.full((k,), -2.0, dtype=torch.float64))
    tau = (torch.arange(window)[:, None] - torch.arange(window)[None]).abs().double()
    kern = kernel_fn("cauchy", tau[None], length_scales(k, 1.0, 30.0).double()[:, None, None])
    opt = torch.optim.Adam([skew, log_sigma], lr=2e-2)
    for _ in range(steps):
        q = torch.matrix_exp(skew - skew.T)
        y = torch.einsum("kc,bcl->bkl", q, windows[torch.randint(0, len(windows), (16,), generator=gen)])
        s2 = torch.exp(2 * log_sigma).clamp(1e-4, 0.99)[:, None, None]
        chol = torch.linalg.cholesky((1 - s2) * kern + s2 * torch.eye(window, dtype=torch.float64))
        sol = torch.linalg.solve_triangular(chol, y.permute(1, 2, 0), upper=False)
        nll = 0.5 * (sol**2).sum() / 16 + torch.diagonal(chol, dim1=1, dim2=2).log().sum()
        opt.zero_grad()
        (nll / window).backward()
        opt.step()
    return torch.matrix_exp(skew - skew.T).detach().numpy()


def main() -> None:
    from sigvae.data.mixtures import MixtureConfig, make_mixture
    from sigvae.metrics.separation import amari_index, mcc
    from sigvae.unmixing import separate
    from sigvae.unmixing.classical import whitener

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--noise", type=float, default=0.3)
    p.add_argument("--method", default="gp_vae", choices=["vae", "gp_vae", "skr_vae", "arflow_vae"])
    p.add_argument("--taps", type=int, default=31, help="source-filter taps (odd)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--exact-gp", action="store_true", help="also fit the exact GP marginal likelihood (300 Adam steps)")
    p.add_argument("--model", default="{}", help="JSON overrides of the model config, e.g. '{\"noise\": \"full\"}'")
    args = p.parse_args()
    overrides = json.loads(args.model)
    torch.set_num_threads(1)
    print(f"| seed | variant | MCC | Amari (Q·W) | final loss = NLL + KL | noise variance per latent | seconds |  "
          f"({args.method}, {args.taps} taps, noise {args.noise})")
    print("|---|---|---:|---:|---:|---|---:|")
    for seed in [int(s) for s in args.seeds.split(",")]:
        mix = make_mixture(MixtureConfig(condition="periodic", noise=args.noise, sources=3, length=4000, seed=seed))
        w, z = whitener(mix.mixtures, 3)
        xc = mix.mixtures - mix.mixtures.mean(1, keepdims=True)
        oracle = np.linalg.pinv(mix.mixing) @ xc
        noise = mix.mixtures - mix.clean
        noise = noise - noise.mean(1, keepdims=True)
        ica = separate(mix.mixtures, "fastica", 3, seed=seed)
        print(f"| {seed} | oracle unmixing | {mcc(mix.sources, oracle):.3f} | 0 | | | |")
        print(f"| {seed} | FastICA | {mcc(mix.sources, ica.sources):.3f} | {amari_index(mix.mixing, ica.unmixing):.3f} | | | |")
        truth = rotation_from_truth(w, mix.mixing)
        for variant, start, fixed in (("random", None, False), ("true-start", truth, False), ("true-fixed", truth, True)):
            t0 = time.perf_counter()
            model, loss = train_vae(z, args.method, args.taps, seed, args.epochs, start, fixed, overrides)
            with torch.no_grad():
                est = model.encode_sequence(torch.as_tensor(z, dtype=torch.float32)[None]).mean[0].double().numpy()
                q = model.rotation.weight.double().numpy()
            spread = " / ".join(f"{v:.2f}" for v in (q @ w @ noise).var(1))
            print(f"| {seed} | VAE {variant} | {mcc(mix.sources, est):.3f} | {amari_index(mix.mixing, q @ w):.3f} | {loss} "
                  f"| {spread} | {time.perf_counter() - t0:.0f} |", flush=True)
        if args.exact_gp:
            t0 = time.perf_counter()
            q = exact_gp_rotation(z, seed, 300)
            print(f"| {seed} | exact GP likelihood, random start | {mcc(mix.sources, q @ z):.3f} | {amari_index(mix.mixing, q @ w):.3f} "
                  f"| | {' / '.join(f'{v:.2f}' for v in (q @ w @ noise).var(1))} | {time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
