"""One interface for every separation method: ``separate(mixtures [C, T], method, k) → Separation``.

Methods: ``pca``, ``fastica``, ``amuse``, ``sobi`` (classical, :mod:`.baselines`) and the
sequence VAEs ``vae`` (N(0, I) prior), ``gp_vae``, ``skr_vae``, ``arflow_vae`` (structured
priors, :mod:`sigvae.models.bss_vae`), trained through :func:`sigvae.training.fit` on
overlapping windows of the whitened mixtures.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import check, from_dict
from ..errors import ConfigError, DataError
from ..registry import Registry
from .baselines import BASELINES, Separation, _check, whitener

#: Separation method name → ("baseline", function name) or ("vae", model registry name).
METHODS: Registry = Registry("separation method")
for _name, _desc in (("pca", "principal components, whitened (ignores independence)"),
                     ("fastica", "FastICA (scikit-learn, logcosh)"),
                     ("amuse", "AMUSE: one lagged covariance (second order)"),
                     ("sobi", "SOBI: joint diagonalisation of 20 lagged covariances")):
    METHODS.register(_name, ("baseline", _name), description=_desc)
for _name, _model, _desc in (("vae", "bss_vae", "sequence VAE, N(0, I) prior"),
                             ("gp_vae", "gp_vae", "sequence VAE, exact GP prior per source"),
                             ("skr_vae", "skr_vae", "SKR-VAE: kernel-regression prior per source"),
                             ("arflow_vae", "arflow_vae", "AR-Flow VAE: autoregressive flow prior per source")):
    METHODS.register(_name, ("vae", _model), description=_desc)


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
    """

    window: int = 250
    hop: int = 10
    epochs: int = 40
    batch_size: int = 16
    lr: float = 1e-2
    model: dict = field(default_factory=dict)
    demixing: str = "auto"
    progress: bool = False

    def validate(self) -> None:
        check(self.window >= 8, f"window must be >= 8 samples, got {self.window}")
        check(self.hop >= 1, f"hop must be >= 1, got {self.hop}")
        check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.demixing in ("auto", "free", "orthogonal"), f"demixing must be auto, free or orthogonal, got {self.demixing!r}")

    def model_overrides(self, model_name: str | None = None) -> dict:
        """The BSS VAE config overrides these settings imply for ``model_name``.

        ``demixing`` resolved; for ``arflow_vae`` the prior's scale also follows the last 50
        steps' energy (``ar_volatility_window``) unless ``model`` sets it.
        """
        linear = self.model.get("encoder", "linear") == "linear" and self.model.get("decoder", "linear") == "linear"
        demixing = self.demixing if self.demixing != "auto" else "orthogonal" if linear else "free"
        energy = {"ar_volatility_window": ARFLOW_ENERGY_WINDOW} if model_name == "arflow_vae" else {}
        return {"demixing": demixing, **energy, **self.model}


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
    temporary folder, deleted afterwards).
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
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, val_fraction=0.0,
                       progress=cfg.progress, accelerator="auto", gradient_clip=5.0)
    data = WindowDataset(z, window, cfg.hop)
    with tempfile.TemporaryDirectory(prefix="sigvae-unmix-") as tmp:
        out = Path(run_dir) if run_dir is not None else Path(tmp)
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
    return Separation(s, unmixing, {"train_seconds": result.seconds, "final_loss": history[-1].get("train/loss") if history else None})


def separate(x: np.ndarray, method: str, k: int, seed: int = 0, vae: VAESettings | dict | None = None,
             run_dir: str | Path | None = None, callbacks: list | None = None) -> Separation:
    """Separate mixtures ``x`` [C, T] into ``k`` sources with ``method`` (see :data:`METHODS`)."""
    entry = METHODS.get(method)
    kind, target = entry.obj
    if kind == "baseline":
        if vae:
            raise ConfigError(f"method {entry.name!r} takes no VAE settings")
        return BASELINES[target](x, k, seed=seed)
    return vae_separate(x, k, target, seed=seed, settings=vae, run_dir=run_dir, callbacks=callbacks)


__all__ = ["METHODS", "VAESettings", "WindowDataset", "separate", "vae_separate", "Separation"]
