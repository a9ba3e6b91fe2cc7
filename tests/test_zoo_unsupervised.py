"""The unsupervised zoo: DIP-VAE-I, DIP-VAE-II and AnnealedVAE (their losses by hand, shapes, training)."""

import math

import pytest
import torch

import sigvae
from conftest import TINY_MODEL, TINY_SYNTONE
from sigvae.cli import main
from sigvae.errors import ConfigError
from sigvae.models import MODELS, Posterior, build_config, build_model
from sigvae.models.annealed import annealed_capacity
from sigvae.models.dipvae import batch_covariance, dip_covariance, dip_penalty

ZOO = ["dip_vae_i", "dip_vae_ii", "annealed_vae"]

# Three posterior means in two latents, centred: Cov[μ] = (1/3) Σ μμᵀ = [[8/3, 2/3], [2/3, 2/3]].
MEANS = torch.tensor([[2.0, 1.0], [0.0, -1.0], [-2.0, 0.0]], dtype=torch.float64)
# Variances whose batch means are [1, 0.5]: E[diag σ²] for DIP-VAE-II.
VARIANCES = torch.tensor([[0.5, 0.25], [1.0, 0.5], [1.5, 0.75]], dtype=torch.float64)


def _model(name, **kw):
    return build_model(name, {**TINY_MODEL, "in_channels": 1, "length": 1600, "sample_rate": 16000, **kw})


def test_batch_covariance_divides_by_the_batch_size():
    expected = torch.tensor([[8 / 3, 2 / 3], [2 / 3, 2 / 3]], dtype=torch.float64)
    assert torch.allclose(batch_covariance(MEANS), expected)
    assert torch.allclose(batch_covariance(MEANS + 5.0), expected)  # the batch mean is taken out


def test_dip_vae_i_penalty_by_hand():
    cov = dip_covariance(MEANS, VARIANCES.log(), "i")  # the variances play no part in DIP-VAE-I
    penalty, parts = dip_penalty(cov, lambda_od=10.0, lambda_d=100.0)
    off = 2 * (2 / 3) ** 2  # Σ_{i≠j} Cov_ij² = 8/9
    diag = (8 / 3 - 1) ** 2 + (2 / 3 - 1) ** 2  # Σ (Cov_ii − 1)² = 25/9 + 1/9 = 26/9
    assert float(parts["dip_offdiag"]) == pytest.approx(8 / 9) and off == pytest.approx(8 / 9)
    assert float(parts["dip_diag"]) == pytest.approx(26 / 9) and diag == pytest.approx(26 / 9)
    assert float(penalty) == pytest.approx(10 * 8 / 9 + 100 * 26 / 9)  # 2680/9


def test_dip_vae_ii_penalty_by_hand():
    cov = dip_covariance(MEANS, VARIANCES.log(), "ii")
    # Cov_q(z) = E[diag σ²] + Cov[μ] = [[11/3, 2/3], [2/3, 7/6]].
    assert torch.allclose(cov, torch.tensor([[11 / 3, 2 / 3], [2 / 3, 7 / 6]], dtype=torch.float64))
    penalty, parts = dip_penalty(cov, lambda_od=10.0, lambda_d=10.0)
    assert float(parts["dip_offdiag"]) == pytest.approx(8 / 9)
    assert float(parts["dip_diag"]) == pytest.approx((8 / 3) ** 2 + (1 / 6) ** 2)  # 257/36
    assert float(penalty) == pytest.approx(10 * 8 / 9 + 10 * 257 / 36)  # 1445/18


def test_the_identity_covariance_costs_nothing():
    penalty, _ = dip_penalty(torch.eye(4), 10.0, 100.0)
    assert float(penalty) == 0.0


@pytest.mark.parametrize("name, lambda_d", [("dip_vae_i", 100.0), ("dip_vae_ii", 10.0)])
def test_dip_vae_regulariser_is_kl_plus_the_penalty(name, lambda_d):
    m = _model(name)
    assert (m.config.lambda_od, m.config.lambda_d, m.config.beta) == (10.0, lambda_d, 1.0)
    post = Posterior(MEANS.float(), VARIANCES.log().float())
    reg, logs = m.regulariser(post.mean, post)
    kl = 0.5 * (MEANS.pow(2) + VARIANCES - 1 - VARIANCES.log()).sum(1).mean()
    variant = "i" if name == "dip_vae_i" else "ii"
    penalty = 10 * 8 / 9 + lambda_d * (26 / 9 if variant == "i" else 257 / 36)
    assert float(logs["kl"]) == pytest.approx(float(kl), rel=1e-5)
    assert float(logs["dip"]) == pytest.approx(penalty, rel=1e-5)
    assert float(reg) == pytest.approx(float(kl) + penalty, rel=1e-5)


def test_annealed_capacity_by_hand():
    assert annealed_capacity(0, 25.0, 200) == 0.0
    assert annealed_capacity(50, 25.0, 200) == pytest.approx(6.25)
    assert annealed_capacity(150, 25.0, 200) == pytest.approx(18.75)
    assert annealed_capacity(200, 25.0, 200) == 25.0
    assert annealed_capacity(100_000, 25.0, 200) == 25.0  # held at C_max after the threshold
    assert annealed_capacity(7, 10.0, 0) == 10.0  # no ramp: C_max from the start


def test_annealed_kl_gap_by_hand():
    m = _model("annealed_vae", gamma=4.0, c_max=1.0, capacity_steps=200)
    # KL per example: ½ μ² with unit variances → [0.5, 0]; batch mean 0.25 nats.
    post = Posterior(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), torch.zeros(2, 3))
    m.train_step = 100  # C = 0.5 → |0.25 − 0.5| = 0.25, times γ = 4 → 1
    reg, logs = m.regulariser(post.mean, post)
    assert float(logs["capacity"]) == pytest.approx(0.5) and float(logs["kl"]) == pytest.approx(0.25)
    assert float(logs["kl_gap"]) == pytest.approx(0.25) and float(reg) == pytest.approx(1.0)
    m.train_step = 1000  # past the threshold: C = C_max = 1 → |0.25 − 1| · 4 = 3
    reg, logs = m.regulariser(post.mean, post)
    assert float(logs["capacity"]) == 1.0 and float(reg) == pytest.approx(3.0)


def test_annealed_preset_and_checks():
    c = build_config("annealed_vae")
    assert (c.gamma, c.c_max, c.capacity_steps, c.beta) == (1000.0, 25.0, 200, 1.0)
    with pytest.raises(ConfigError, match="no β"):
        build_config("annealed_vae", {"beta": 4.0})
    for key, bad in (("gamma", -1.0), ("c_max", -1.0), ("capacity_steps", -1)):
        with pytest.raises(ConfigError, match=key):
            build_config("annealed_vae", {key: bad})
    for name in ("dip_vae_i", "dip_vae_ii"):
        for key in ("lambda_od", "lambda_d"):
            with pytest.raises(ConfigError, match=key):
                build_config(name, {key: -1.0})


@pytest.mark.parametrize("name", ZOO)
def test_shapes_and_step(name):
    torch.manual_seed(0)
    m = _model(name)
    x = torch.randn(6, 1, 1600) * 0.3
    post = m.encode(x)
    assert post.mean.shape == (6, 3) and post.logvar.shape == (6, 3)
    feats = m.features(x)
    assert m.decode(post.mean).shape == feats.shape and m.embed(x).shape == (6, 3)
    assert m.sample(2).shape == (2, *feats.shape[1:])
    out = m.step({"x": x}, "train")
    assert list(out.losses) == ["model"] and torch.isfinite(out.losses["model"])
    terms = {"dip", "dip_offdiag", "dip_diag"} if name.startswith("dip") else {"capacity", "kl_gap"}
    assert {"loss", "recon", "kl"} | terms <= set(out.logs)
    # The objective is reconstruction + the regulariser, on the posterior mean in eval mode.
    m.eval()
    with torch.no_grad():
        out = m.step({"x": x}, "val")
        recon = (m.decode(post.mean) - feats).pow(2).flatten(1).sum(1).mean()
        reg, _ = m.regulariser(post.mean, post)
    assert float(out.losses["model"]) == pytest.approx(float(recon + reg), rel=1e-5)


def _train(out, name, epochs, resume=False, **model_config):
    return sigvae.train(
        name, "syntone", out=out, num_examples=48, data_options=TINY_SYNTONE, model_config={**TINY_MODEL, **model_config},
        train_config={"epochs": epochs, "batch_size": 16, "progress": False, "accelerator": "cpu"}, resume=resume,
    )


@pytest.mark.parametrize("name", ["dip_vae_i", "dip_vae_ii"])
def test_dip_vae_trains_one_epoch(tmp_path, name):
    r = _train(tmp_path / "run", name, 1)
    (row,) = r.history
    assert {"train/dip", "train/dip_offdiag", "train/dip_diag", "val/dip"} <= set(row)
    assert all(math.isfinite(v) for v in row.values())
    assert sigvae.load(r.run_dir).config.lambda_od == 10.0


def test_annealed_vae_capacity_follows_the_step_counter_across_a_resume(tmp_path):
    """43 training clips in batches of 16 (the last dropped): 2 steps an epoch, C = step."""
    ramp = {"c_max": 1000.0, "capacity_steps": 1000}
    first = _train(tmp_path / "run", "annealed_vae", 1, **ramp)
    assert [h["train/capacity"] for h in first.history] == [0.5]  # steps 0 and 1
    resumed = _train(tmp_path / "run", "annealed_vae", 2, resume=True, **ramp)
    assert [h["train/capacity"] for h in resumed.history] == [0.5, 2.5]  # then steps 2 and 3
    assert resumed.model.train_step == 3
    assert all(math.isfinite(v) for h in resumed.history for v in h.values())


def test_annealed_vae_keeps_the_last_epoch_not_the_lowest_validation_loss(tmp_path):
    """Its loss changes with C, so the lowest validation loss is not the best model: training
    keeps the last epoch's weights (and says so), while a VAE keeps its best epoch's."""
    import json

    r = _train(tmp_path / "ann", "annealed_vae", 3, capacity_steps=4)
    last = torch.load(r.run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    kept = r.model.state_dict()
    assert all(torch.equal(kept[k.removeprefix("model.")], v) for k, v in last.items() if k.startswith("model."))
    info = json.loads((r.run_dir / "training.json").read_text())
    assert info["weights"] == "last" and r.best_val_loss == r.history[-1]["val/loss"]
    v = _train(tmp_path / "vae", "vae", 2)
    assert json.loads((v.run_dir / "training.json").read_text())["weights"] == "best"
    assert v.best_val_loss == min(h["val/loss"] for h in v.history)


def test_models_lists_the_zoo(capsys):
    assert set(ZOO) <= set(MODELS.names())
    assert main(["models"]) == 0
    out = "\n" + capsys.readouterr().out
    for name in ZOO:
        assert f"\n{name} " in out
