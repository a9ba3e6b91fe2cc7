import pytest
import torch

from conftest import TINY_MODEL
from sigvae.errors import ConfigError, NotSupportedError, UnknownNameError
from sigvae.models import MODELS, build_config, build_model

CLASSIC = ["vae", "beta_vae", "beta_tcvae", "factor_vae"]


def _model(name, **kw):
    cfg = {**TINY_MODEL, "in_channels": 1, "length": 1600, "sample_rate": 16000, **kw}
    if name == "factor_vae":
        cfg.update(disc_hidden=16, disc_layers=3)
    return build_model(name, cfg)


@pytest.mark.parametrize("name", CLASSIC)
def test_shapes_and_losses(name):
    torch.manual_seed(0)
    m = _model(name)
    x = torch.randn(6, 1, 1600) * 0.3
    post = m.encode(x)
    assert post.mean.shape == (6, 3) and post.logvar.shape == (6, 3)
    feats = m.features(x)
    assert m.decode(post.mean).shape == feats.shape
    assert m.sample(2).shape == (2, *feats.shape[1:])
    assert m.embed(x).shape == (6, 3)
    out = m.step({"x": x}, "train")
    assert list(out.losses) == [s.name for s in m.optimizer_specs()]
    assert all(torch.isfinite(v) for v in out.losses.values())
    assert m.to_waveform(feats[:1]).shape == (1, 1, 1600)


def test_waveform_front_end_for_short_series():
    m = build_model("vae", {**TINY_MODEL, "in_channels": 2, "length": 150, "sample_rate": 100})
    x = torch.randn(4, 2, 150)
    assert m.frontend.kind == "waveform"
    assert m.decode(m.encode(x).mean).shape == (4, 2, 150)


def test_presets_and_registry():
    assert build_config("beta_vae").beta == 4.0
    assert build_config("vae").beta == 1.0
    assert build_config("beta-vae", {"beta": 2}).beta == 2.0
    assert set(CLASSIC) <= set(MODELS.names())
    with pytest.raises(UnknownNameError, match="choose one of"):
        build_config("nope")
    with pytest.raises(ConfigError, match="unknown key 'latnt_dim'"):
        build_config("vae", {"latnt_dim": 3})
    with pytest.raises(ConfigError, match="latent_dim"):
        build_config("vae", {"latent_dim": 0})
    with pytest.raises(ConfigError, match="expected a number"):
        build_config("vae", {"beta": "big"})


def test_recon_and_kl_on_the_same_per_example_scale():
    """Doubling the batch with copies must not change the loss (no batch-size-dependent β)."""
    m = _model("beta_vae").eval()
    x = torch.randn(4, 1, 1600) * 0.3
    a = m.step({"x": x}, "val").logs
    b = m.step({"x": torch.cat([x, x])}, "val").logs
    for k in ("recon", "kl", "loss"):
        assert torch.allclose(a[k], b[k], rtol=1e-5)


def test_factor_vae_gradients_stay_with_their_optimiser():
    torch.manual_seed(0)
    m = _model("factor_vae")
    out = m.step({"x": torch.randn(8, 1, 1600) * 0.3}, "train")
    disc = set(id(p) for p in m.discriminator.parameters())
    out.losses["discriminator"].backward(retain_graph=True)
    for name, p in m.named_parameters():
        if id(p) not in disc:
            assert p.grad is None, f"discriminator loss reached {name}"
    m.zero_grad(set_to_none=True)
    out.losses["model"].backward()
    assert all(p.grad is None for p in m.discriminator.parameters()), "VAE loss reached the discriminator"
    assert m.encoder.head[-1].weight.grad is not None


def test_factor_vae_weights_its_kl_by_beta():
    """``--beta`` reaches FactorVAE: the same weights at β = 50 and β = 1 differ by exactly 49 · KL."""
    torch.manual_seed(0)
    one = _model("factor_vae").eval()
    fifty = _model("factor_vae", beta=50.0).eval()
    fifty.load_state_dict(one.state_dict())
    x = torch.randn(4, 1, 1600) * 0.3
    a, b = one.step({"x": x}, "val").logs, fifty.step({"x": x}, "val").logs
    # eval mode encodes to the posterior mean, so recon, KL and TC are the same in both runs
    for k in ("recon", "kl", "tc"):
        assert torch.equal(a[k], b[k])
    assert a["kl"] > 0
    assert torch.allclose(b["loss"] - a["loss"], 49 * a["kl"], rtol=1e-5)
    assert torch.allclose(a["loss"], a["recon"] + a["kl"] + one.config.gamma * a["tc"], rtol=1e-6)


def test_beta_tcvae_uses_dataset_size():
    m = _model("beta_tcvae")
    m.configure_for_data(5000)
    assert m.config.dataset_size == 5000
    out = m.step({"x": torch.randn(8, 1, 1600) * 0.3}, "train")
    assert {"mi", "tc", "dwkl"} <= set(out.logs)


def test_base_capabilities_raise_clearly():
    from sigvae.models.base import ModelConfig, SigModel

    m = SigModel(ModelConfig())
    with pytest.raises(NotSupportedError, match="cannot decode"):
        m.decode(torch.zeros(1, 1))
