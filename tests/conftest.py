"""Shared fixtures: small, fast data and tiny models."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

TINY_MODEL = {"channels": [8, 8], "hidden_dim": 32, "latent_dim": 3}
TINY_SYNTONE = {"duration": 0.1, "num_freqs": 20, "num_amps": 5}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def tiny_train_config() -> dict:
    return {"epochs": 2, "batch_size": 16, "progress": False, "accelerator": "cpu"}
