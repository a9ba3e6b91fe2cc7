"""Using a trained model: prepare inputs, reconstruct, sample, traverse latents.

All functions take a loaded :class:`~sigvae.models.SigModel` and NumPy arrays and
return NumPy arrays; waveforms are float32 [N, C, T] at the model's sample rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.signal import resample_poly

from .data import SignalSet, load_signals
from .errors import DataError
from .models import SigModel


def fit_to_model(signals: np.ndarray, sample_rate: int, model: SigModel) -> np.ndarray:
    """Make signals [N, C, T] match the model: resample, mix channels down, cut into clips.

    Each signal is resampled to the model's rate (polyphase), averaged to mono if the
    model is mono, and split into consecutive clips of the model's length (the last one
    zero-padded). Returns [M, C_model, length]; M ≥ N.
    """
    cfg = model.config
    x = np.asarray(signals, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, None, :]
    if sample_rate != cfg.sample_rate:
        g = np.gcd(int(sample_rate), int(cfg.sample_rate))
        x = resample_poly(x, cfg.sample_rate // g, sample_rate // g, axis=-1).astype(np.float32)
    if x.shape[1] != cfg.in_channels:
        if cfg.in_channels == 1:
            x = x.mean(axis=1, keepdims=True)
        else:
            raise DataError(f"input has {x.shape[1]} channels; the model expects {cfg.in_channels}")
    length = cfg.length
    n_clips = max(1, int(np.ceil(x.shape[-1] / length)))
    padded = np.zeros((x.shape[0], x.shape[1], n_clips * length), dtype=np.float32)
    padded[..., : x.shape[-1]] = x
    return padded.reshape(x.shape[0], x.shape[1], n_clips, length).transpose(0, 2, 1, 3).reshape(-1, x.shape[1], length)


def read_input(spec: str, model: SigModel, max_examples: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``spec`` (a built-in source, .npz, audio folder or single audio file) for ``model``.

    Returns (clips [M, C, length] at the model's rate, factors [M, K] or None).
    """
    path = Path(spec)
    if path.is_file() and path.suffix.lower() not in (".npz",):
        import soundfile as sf

        try:
            # Read only the frames the first ``max_examples`` clips use: embedding a few
            # clips of an hour-long recording should not load the hour.
            sr = sf.info(str(path)).samplerate
            # (+1024 frames so the resampling filter's edge falls in a clip that is dropped)
            frames = int(np.ceil(max_examples * model.config.length * sr / model.config.sample_rate)) + 1024
            audio, sr = sf.read(path, frames=frames, dtype="float32", always_2d=True)
        except Exception as e:
            raise DataError(f"{path}: cannot be read as audio ({str(e).strip().splitlines()[0]})") from None
        if audio.shape[0] == 0:
            raise DataError(f"{path}: audio file is empty (0 samples)")
        return fit_to_model(audio.T[None], sr, model)[:max_examples], None
    data: SignalSet
    data, _ = load_signals(spec, n=max_examples, seed=seed, options=_source_options(model, spec))
    data = data.subset(np.arange(min(len(data), max_examples)))
    clips = fit_to_model(data.signals, data.sample_rate, model)
    factors = data.factors if clips.shape[0] == len(data) else None
    return clips[:max_examples], factors


def _source_options(model: SigModel, spec: str) -> dict | None:
    meta = getattr(model, "metadata", {}) or {}
    return meta.get("data_options") if meta.get("data") == spec else None


@torch.no_grad()
def encode(model: SigModel, clips: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Representation (``model.embed``) of clips [N, C, T] → [N, D]."""
    model.eval()
    out = [model.embed(torch.from_numpy(clips[i : i + batch_size]).to(model.device)).cpu() for i in range(0, len(clips), batch_size)]
    return torch.cat(out).numpy()


@torch.no_grad()
def reconstruct(model: SigModel, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (input features, reconstructed features, reconstructed waveforms [N, C, T])."""
    model.eval()
    x = torch.from_numpy(clips).to(model.device)
    feats = model.features(x)
    rec = model.decode(model.encode(x).mean)
    return feats.cpu().numpy(), rec.cpu().numpy(), model.to_waveform(rec).cpu().numpy()


@torch.no_grad()
def sample(model: SigModel, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``n`` prior draws (seeded) → (features, waveforms [n, C, T])."""
    model.eval()
    torch.manual_seed(seed)
    feats = model.sample(n)
    return feats.cpu().numpy(), model.to_waveform(feats).cpu().numpy()


@torch.no_grad()
def traverse(model: SigModel, clip: np.ndarray, steps: int = 7, span: float = 2.5, dims: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vary one latent at a time around the posterior mean of ``clip`` [C, T].

    Returns (values [steps], features [D', steps, ...], waveforms [D', steps, C, T]) where
    latent d takes values ``mean_d + linspace(-span, span, steps)`` (prior units).
    """
    model.eval()
    x = torch.from_numpy(np.asarray(clip, dtype=np.float32)[None]).to(model.device)
    mean = model.encode(x).mean[0]
    dims = list(range(model.latent_dim)) if dims is None else dims
    values = np.linspace(-span, span, steps)
    feats, waves = [], []
    for d in dims:
        z = mean.repeat(steps, 1)
        z[:, d] = mean[d] + torch.as_tensor(values, dtype=z.dtype, device=z.device)
        f = model.decode(z)
        feats.append(f.cpu().numpy())
        waves.append(model.to_waveform(f).cpu().numpy())
    return values, np.stack(feats), np.stack(waves)
