"""One interface for every separation method: ``separate(mixtures [C, T], method, k) → Separation``.

Methods: ``pca``, ``fastica``, ``amuse``, ``sobi`` (classical, :mod:`.classical`) and the
sequence VAEs ``vae`` (N(0, I) prior), ``gp_vae``, ``skr_vae``, ``arflow_vae`` (structured
priors, :mod:`sigvae.models.bss_vae`), trained through :func:`sigvae.training.fit` on
overlapping windows of the whitened mixtures.

``VAE@BASELINE`` (e.g. ``arflow_vae@fastica``) refines a classical separation: the baseline
chooses the rotation, the VAE keeps it and learns a denoising filter per source under its
temporal prior (settings ``init: BASELINE``, ``train_rotation: false``). It exists because
with observation noise the VAEs' own objective prefers a wrong rotation (BENCHMARKS.md)
while, given the rotation, their posterior means denoise better than the baseline.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import check, from_dict
from ..errors import ConfigError, DataError
from ..io import confined_to
from .catalog import METHODS, parse_method
from .classical import BASELINES, Separation, _check, whitener

#: Steps of past energy the AR-flow prior's scale follows in the separation methods.
ARFLOW_ENERGY_WINDOW = 50


@dataclass
class VAESettings:
    """How a VAE method is trained on one recording.

    ``window``/``hop``: samples per training window and between window starts;
    ``model``: overrides of :class:`~sigvae.models.bss_vae.BSSVAEConfig` (e.g. ``encoder: mlp``);
    ``demixing``: ``orthogonal`` (a rotation of the whitened mixtures, then a filter per
    source; see :class:`~sigvae.models.bss_vae.BSSVAEConfig`), ``free`` (an unconstrained
    linear or MLP encoder and decoder) or ``auto`` (orthogonal unless ``model`` asks for an
    MLP encoder or decoder).
    ``init``: ``random`` (seeded) or a classical method (``pca``, ``fastica``, ``amuse``,
    ``sobi``) whose separation gives the starting rotation; ``train_rotation: false`` keeps it
    (needs an ``init``) and, unless ``model`` says otherwise, gives the source filters 31 taps
    and a 16-channel nonlinear branch, since only they are left to learn.
    """

    window: int = 250
    hop: int = 10
    epochs: int = 40
    batch_size: int = 16
    lr: float = 1e-2
    model: dict = field(default_factory=dict)
    demixing: str = "auto"
    init: str = "random"
    train_rotation: bool = True
    progress: bool = False

    def validate(self) -> None:
        """Raise :class:`~sigvae.errors.ConfigError` for a window, hop, epoch count, batch
        size, rate, demixing or initialisation that cannot be used."""
        check(self.window >= 8, f"window must be >= 8 samples, got {self.window}")
        check(self.hop >= 1, f"hop must be >= 1, got {self.hop}")
        check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.demixing in ("auto", "free", "orthogonal"), f"demixing must be auto, free or orthogonal, got {self.demixing!r}")
        check(self.init == "random" or self.init in BASELINES, f"init must be random or one of {', '.join(BASELINES)}, got {self.init!r}")
        check(self.train_rotation or self.init != "random", "train_rotation: false needs an init method (e.g. init: fastica)")
        if self.init != "random":
            check(self.model_overrides()["demixing"] == "orthogonal", "init needs demixing 'orthogonal' (linear encoder and decoder)")

    def model_overrides(self, model_name: str | None = None) -> dict:
        """The BSS VAE config overrides these settings imply for ``model_name``.

        ``demixing`` resolved; for ``arflow_vae`` the prior's scale also follows the last 50
        steps' energy (``ar_volatility_window``) unless ``model`` sets it.
        """
        linear = self.model.get("encoder", "linear") == "linear" and self.model.get("decoder", "linear") == "linear"
        demixing = self.demixing if self.demixing != "auto" else "orthogonal" if linear else "free"
        energy = {"ar_volatility_window": ARFLOW_ENERGY_WINDOW} if model_name == "arflow_vae" else {}
        denoiser = {} if self.train_rotation else {"encoder_kernel": 31, "source_net": 16}
        return {"demixing": demixing, **energy, **denoiser, **self.model}


class WindowDataset(Dataset):
    """Overlapping windows of a signal [C, T]: items ``{"x": [C, window], "index": i}``."""

    def __init__(self, x: np.ndarray, window: int, hop: int):
        self.x = torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)
        t = self.x.shape[-1]
        if t < window:
            raise DataError(f"signal has {t} samples, shorter than the window ({window}); lower 'window'")
        self.starts = list(range(0, t - window + 1, hop))
        if self.starts[-1] != t - window:
            self.starts.append(t - window)
        self.window = window

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> dict:
        s = self.starts[i]
        return {"x": self.x[:, s : s + self.window], "index": i}


def vae_separate(x: np.ndarray, k: int, model_name: str, seed: int = 0, settings: VAESettings | dict | None = None,
                 run_dir: str | Path | None = None, callbacks: list | None = None) -> Separation:
    """Train the BSS VAE ``model_name`` on mixtures [C, T] → sources [k, T] (posterior means).

    The mixtures are centred and PCA-whitened to ``k`` dimensions first (as for the classical
    methods). The returned ``unmixing`` [k, C] is the least-squares linear map from the centred
    mixtures to the estimates (exact for a linear one-tap encoder; an approximation otherwise).
    ``run_dir``: where :func:`~sigvae.training.fit` writes the model folder (default: a
    temporary folder, deleted afterwards). With ``init`` set, the baseline runs first (same
    seed) and the orthogonal factor of its unmixing in whitened coordinates is the start.
    """
    from ..models import build_model
    from ..training import TrainConfig, fit

    cfg = settings if isinstance(settings, VAESettings) else from_dict(VAESettings, settings or {}, where="vae settings")
    cfg.validate()
    x = _check(x, k)
    w, z = whitener(x, k)
    window = min(cfg.window, z.shape[1])
    overrides = {"latent_dim": k, **cfg.model_overrides(model_name), "in_channels": k, "length": window}
    torch.manual_seed(seed)  # the model's initial weights
    model = build_model(model_name, overrides)
    info: dict = {}
    if cfg.init != "random":
        start = BASELINES[cfg.init](x, k, seed=seed)
        # The baseline's unmixing acts on centred mixtures, i.e. U W⁺ on z; its rows are only
        # rescaled rotations of z, so the orthogonal polar factor is that rotation.
        u, _, vt = np.linalg.svd(start.unmixing @ np.linalg.pinv(w))
        model.set_rotation(u @ vt, trainable=cfg.train_rotation)
        info = {"init": cfg.init, "train_rotation": cfg.train_rotation}
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, val_fraction=0.0,
                       progress=cfg.progress, accelerator="auto", gradient_clip=5.0)
    data = WindowDataset(z, window, cfg.hop)
    with tempfile.TemporaryDirectory(prefix="sigvae-unmix-") as tmp:
        out = Path(run_dir) if run_dir is not None else Path(tmp)
        # The scratch folder is where this fit's checkpoints belong, even while a command's
        # output folder confines other writes.
        with confined_to(out):
            result = fit(model, data, None, tcfg, out, callbacks=callbacks, loggers=run_dir is not None,
                         metadata={"model": model.registry_name, "whitening": w.tolist(), "seed": seed})
    net = result.model.eval()
    with torch.no_grad():
        s = net.encode_sequence(torch.as_tensor(z, dtype=torch.float32)[None]).mean[0].double().numpy()
    s = s - s.mean(1, keepdims=True)
    s /= s.std(1, keepdims=True) + 1e-12
    xc = x - x.mean(1, keepdims=True)
    unmixing = s @ np.linalg.pinv(xc)
    history = result.history
    return Separation(s, unmixing, {**info, "train_seconds": result.seconds, "final_loss": history[-1].get("train/loss") if history else None})


def check_separation_memory(channels: int, length: int) -> None:
    """Refuse mixtures [channels, length] whose separation would exceed the memory budget.

    float64: the channel covariance [C, C] of the whitening, and about six arrays the
    size of the mixtures (centred copy, whitened signals, estimates, their scaled copy).
    """
    from ..limits import check_bytes

    check_bytes(f"separating {channels} channels × {length} samples", 8 * (channels * channels + 6 * channels * length))


def separate(x: np.ndarray, method: str, k: int, seed: int = 0, vae: VAESettings | dict | None = None,
             run_dir: str | Path | None = None, callbacks: list | None = None) -> Separation:
    """Separate mixtures ``x`` [C, T] into ``k`` sources with ``method`` (see :data:`METHODS`;
    ``VAE@BASELINE`` refines the baseline's separation, see the module docstring)."""
    name, init = parse_method(method)
    kind, target = METHODS.get(name).obj
    check_separation_memory(*np.shape(x)[-2:] if np.ndim(x) >= 2 else (1, np.size(x)))
    if kind == "baseline":
        if vae:
            raise ConfigError(f"method {name!r} takes no VAE settings")
        return BASELINES[target](x, k, seed=seed)
    if init:
        base = vae if isinstance(vae, VAESettings) else from_dict(VAESettings, vae or {}, where="vae settings")
        vae = replace(base, init=init, train_rotation=False)
    return vae_separate(x, k, target, seed=seed, settings=vae, run_dir=run_dir, callbacks=callbacks)


__all__ = ["METHODS", "VAESettings", "WindowDataset", "parse_method", "separate", "vae_separate", "Separation"]
