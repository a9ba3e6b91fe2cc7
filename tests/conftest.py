"""Shared fixtures: small, fast data and tiny models."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import settings

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

# Property tests draw the same examples on every run, so CI's verdict does not depend on
# luck; HYPOTHESIS_PROFILE=explore draws new ones (to look for bugs, not to gate a merge).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

TINY_MODEL = {"channels": [8, 8], "hidden_dim": 32, "latent_dim": 3}
TINY_SYNTONE = {"duration": 0.1, "num_freqs": 20, "num_amps": 5}


def small_signals(n: int = 4, t: int = 800) -> np.ndarray:
    """``n`` seeded noise clips [n, 1, t], float32, 0.1 standard deviation: valid signals for input tests."""
    return np.random.default_rng(0).standard_normal((n, 1, t)).astype(np.float32) * 0.1


def save_npz(path, **arrays):
    """``np.savez(path, **arrays)``; returns ``path`` (for building test inputs inline)."""
    np.savez(path, **arrays)
    return path


def write_tiny_model_folders(root, sample_rate: int = 8000, vae_metadata: dict | None = None) -> dict:
    """Untrained tiny VAE and separator folders and a half-second WAV under ``root``.

    For tests of input checks, not of learning: built and saved in well under a second.
    Returns {"root", "vae", "separator", "good_wav"} paths.
    """
    import soundfile as sf

    from sigvae.modelfile import save_model
    from sigvae.models import build_model

    vae = build_model("vae", {**TINY_MODEL, "length": 800, "sample_rate": sample_rate})
    save_model(vae, root / "vae", {"model": "vae", **(vae_metadata or {})})
    sep = build_model("separator", {"length": 4000, "sample_rate": sample_rate, "channels": [4, 4],
                                     "latent_channels": 2, "dilations": [1], "n_fft": 128, "hop_length": 32})
    save_model(sep, root / "separator", {"model": "separator"})
    good = root / "good.wav"
    sf.write(good, 0.1 * np.sin(np.arange(sample_rate // 2) * 0.05), sample_rate)
    return {"root": root, "vae": root / "vae", "separator": root / "separator", "good_wav": good}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def tiny_train_config() -> dict:
    return {"epochs": 2, "batch_size": 16, "progress": False, "accelerator": "cpu"}
