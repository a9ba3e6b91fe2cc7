"""The CUDA path: skipped on machines without a GPU (CI), run as-is where there is one.

These check what the CPU tests cannot: that rendering, encoding and the SynTone benchmark
work with models and clips on a GPU and agree with the CPU within float32 rounding.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_syntone_renders_on_the_gpu_like_numpy():
    from sigvae.data import SynTone, SynToneConfig

    src = SynTone(SynToneConfig(duration=0.5))
    f = src.sample_factors(300, np.random.default_rng(0))
    ref = src.sample_observations_from_factors(f, np.random.default_rng(1))
    got = src.render_tensor(f, np.random.default_rng(1), "cuda")
    assert got.is_cuda and got.dtype == torch.float32 and got.shape == ref.shape
    np.testing.assert_allclose(got.cpu().numpy(), ref, atol=1e-6)


def test_encode_on_the_gpu_matches_the_cpu():
    from conftest import TINY_MODEL
    from sigvae.inference import encode
    from sigvae.models import build_model

    torch.manual_seed(0)
    model = build_model("vae", {**TINY_MODEL, "length": 800, "sample_rate": 8000})
    x = np.random.default_rng(0).standard_normal((7, 1, 800)).astype(np.float32)
    cpu = encode(model, x)
    model.to("cuda")
    assert np.allclose(encode(model, x), cpu, atol=1e-4)
    assert np.allclose(encode(model, torch.from_numpy(x).cuda()), cpu, atol=1e-4)


@pytest.mark.slow
def test_tiny_benchmark_trains_and_evaluates_on_the_gpu(tmp_path):
    from sigvae.cli import main

    out = tmp_path / "run"
    assert main(["benchmark", "--profile", "tiny", "--out", str(out), "--no-progress"]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert rows and all(math.isfinite(r["value"]) for r in rows if r["metric"] != "infomec_infoc")
    assert {r["metric"] for r in rows} >= {"beta_vae_score", "factor_vae_score", "mig"}
    assert "CUDA" in (out / "report.html").read_text()  # the machine line names the GPU
