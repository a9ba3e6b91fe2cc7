"""Blind source separation (issue 6): metrics, mixtures, baselines, priors, VAE, CLI, benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from sigvae.cli import main
from sigvae.data.mixtures import (
    MixtureConfig,
    load_mixture,
    make_mixture,
    parse_mixture_spec,
)
from sigvae.errors import ConfigError, DataError
from sigvae.metrics import (
    amari_index,
    bss_eval,
    correlation_matrix,
    match_sources,
    mcc,
    si_sdr,
    si_sdr_improvement,
    si_sdr_matched,
)
from sigvae.priors import ARFlowPrior, GPPrior, NormalPrior, SKRPrior, kernel_fn
from sigvae.unmixing import amuse, fastica, joint_diagonalise, pca, separate, sobi

# ----------------------------------------------------------------------------- metrics


def _sources(seed=0, n=3, t=2000):
    return make_mixture(MixtureConfig(condition="periodic", sources=n, length=t, seed=seed)).sources


def test_permuted_rescaled_flipped_copy_scores_perfectly():
    s = _sources()
    perm, gains = np.array([2, 0, 1]), np.array([-3.0, 0.5, 7.0])
    est = gains[:, None] * s[perm] + 4.0  # permuted, rescaled, sign-flipped, offset
    assert mcc(s, est) == pytest.approx(1.0, abs=1e-9)
    assert np.all(si_sdr_matched(s, est) > 100)
    np.testing.assert_allclose(est[match_sources(s, est)] - 4.0, gains[match_sources(s, est)][:, None] * s)
    a = make_mixture(MixtureConfig(condition="periodic", seed=1)).mixing
    unmixing = np.diag(gains) @ np.eye(3)[perm] @ np.linalg.inv(a)
    assert amari_index(a, unmixing) == pytest.approx(0.0, abs=1e-12)
    assert bss_eval(s, est)["sir"].min() > 60


def test_metrics_on_known_imperfect_cases():
    s = _sources()
    # Amari of the identity mixing against a full-mixing unmixing is maximal (1 for all-equal P).
    assert amari_index(np.eye(3), np.ones((3, 3))) == pytest.approx(1.0)
    # SI-SDR of a source plus orthogonal noise at known power: 10 log10(1 / 0.1) = 10 dB.
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(s.shape)
    noise -= (noise * s).sum(1, keepdims=True) / (s * s).sum(1, keepdims=True) * s  # orthogonal to s
    noise = noise - noise.mean(1, keepdims=True)
    noise *= np.sqrt(0.1 * (s**2).sum(1, keepdims=True) / (noise**2).sum(1, keepdims=True))
    np.testing.assert_allclose(si_sdr(s, s + noise, zero_mean=False), 10.0, atol=1e-6)
    # Identical estimate vs mixture-as-input: improvement = output − input.
    imp = si_sdr_improvement(s, s + noise, s.sum(0))
    np.testing.assert_allclose(imp["si_sdri"], imp["si_sdr"] - imp["si_sdr_input"])
    # Correlation matrix of independent sources is near diagonal after matching.
    c = correlation_matrix(s, s)
    np.testing.assert_allclose(np.diag(c), 1.0)
    assert mcc(s, rng.standard_normal(s.shape)) < 0.1


def test_silent_reference_is_refused():
    s = _sources()
    s[1] = 0.0
    for fn in (mcc, si_sdr_matched, bss_eval):
        with pytest.raises(DataError, match="silent"):
            fn(s, _sources(1))


# ----------------------------------------------------------------------------- mixtures


def test_mixtures_are_reproducible_and_well_conditioned():
    cfg = MixtureConfig(condition="periodic", sources=3, sensors=5, noise=0.3, max_condition=4.0, seed=7)
    a, b = make_mixture(cfg), make_mixture(cfg)
    np.testing.assert_array_equal(a.mixtures, b.mixtures)
    assert a.mixtures.shape == (5, 4000) and a.sources.shape == (3, 4000) and a.mixing.shape == (5, 3)
    assert np.linalg.cond(a.mixing) <= 4.0
    # noise std is 30 % of each clean channel's std
    np.testing.assert_allclose((a.mixtures - a.clean).std(1) / a.clean.std(1), 0.3, rtol=0.1)
    np.testing.assert_allclose(a.sources.std(1), 1.0)
    assert not np.allclose(make_mixture(MixtureConfig(seed=8)).mixtures, make_mixture(MixtureConfig(seed=9)).mixtures)
    nl = make_mixture(MixtureConfig(condition="nonlinear", seed=0))
    assert nl.mixing is None and nl.sources.shape == (3, 4000)
    with pytest.raises(ConfigError, match="sensors"):
        make_mixture({"sources": 3, "sensors": 2})


def test_gaussian_sources_have_their_length_scales():
    m = make_mixture(MixtureConfig(condition="gaussian", sources=3, length=20000, seed=0))
    lag1 = [np.corrcoef(s[:-1], s[1:])[0, 1] for s in m.sources]
    expected = np.exp(-0.5 / np.geomspace(2, 40, 3) ** 2)  # SE kernel at lag 1
    np.testing.assert_allclose(lag1, expected, atol=0.03)


def test_mixture_specs_and_files(tmp_path):
    cfg = parse_mixture_spec("gaussian:noise=0.1,seed=3,sensors=4")
    assert (cfg.condition, cfg.noise, cfg.seed, cfg.n_sensors) == ("gaussian", 0.1, 3, 4)
    with pytest.raises(ConfigError, match="unknown mixture condition"):
        parse_mixture_spec("chirps")
    with pytest.raises(ConfigError, match="key=value"):
        parse_mixture_spec("periodic:colour=blue")
    np.savez(tmp_path / "m.npz", mixtures=np.random.default_rng(0).standard_normal((2, 100)), sample_rate=8000)
    m = load_mixture(str(tmp_path / "m.npz"))
    assert m.channels == 2 and m.sample_rate == 8000 and m.sources is None
    np.savez(tmp_path / "bad.npz", signals=np.zeros((2, 100)))
    with pytest.raises(DataError, match="missing key 'mixtures'"):
        load_mixture(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "bad2.npz", mixtures=np.zeros((2, 100)), sources=np.zeros((2, 99)))
    with pytest.raises(DataError, match="sources must be"):
        load_mixture(str(tmp_path / "bad2.npz"))
    import soundfile as sf

    sf.write(tmp_path / "st.wav", np.random.default_rng(0).uniform(-0.5, 0.5, (400, 2)), 16000)
    w = load_mixture(str(tmp_path / "st.wav"))
    assert w.mixtures.shape == (2, 400) and w.sample_rate == 16000 and w.info["audio"]
    with pytest.raises(DataError, match="neither"):
        load_mixture(str(tmp_path / "missing.npz.txt"))


# ----------------------------------------------------------------------------- baselines


def test_second_order_methods_separate_gaussian_sources_fastica_periodic():
    g = make_mixture(MixtureConfig(condition="gaussian", seed=0))
    for method in (amuse, sobi):
        res = method(g.mixtures, 3)
        assert mcc(g.sources, res.sources) > 0.98
        assert amari_index(g.mixing, res.unmixing) < 0.05
        np.testing.assert_allclose(res.unmixing @ (g.mixtures - g.mixtures.mean(1, keepdims=True)), res.sources, atol=1e-8)
    p = make_mixture(MixtureConfig(condition="periodic", seed=1))
    assert mcc(p.sources, fastica(p.mixtures, 3, seed=0).sources) > 0.97
    assert pca(p.mixtures, 2).sources.shape == (2, 4000)
    with pytest.raises(ConfigError, match="n_sources"):
        pca(p.mixtures, 4)


def test_joint_diagonalisation_recovers_a_known_rotation():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    mats = np.stack([q @ np.diag(rng.standard_normal(4)) @ q.T for _ in range(5)])
    v, _ = joint_diagonalise(mats)
    for m in mats:
        d = v.T @ m @ v
        assert np.abs(d - np.diag(np.diag(d))).max() < 1e-8
    assert np.abs(np.abs(v.T @ q).max(axis=1) - 1).max() < 1e-8  # V = Q up to order and sign


# ----------------------------------------------------------------------------- priors


def test_arflow_order1_equals_gaussian_ar1():
    phi, sigma, n = 0.7, 0.5, 25
    prior = ARFlowPrior(1, order=1, hidden=0).double()
    with torch.no_grad():
        prior.coef.fill_(phi)
        prior.log_scale.fill_(np.log(sigma))
    z = torch.randn(4, 1, n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    # z_0 = σ ε_0, z_t = φ z_{t-1} + σ ε_t  ⇒  z = σ B⁻¹ ε with B lower bidiagonal (1, −φ).
    binv = np.linalg.inv(np.eye(n) - phi * np.eye(n, k=-1))
    cov = sigma**2 * binv @ binv.T
    np.testing.assert_allclose(prior.log_prob(z).detach().numpy(), multivariate_normal(np.zeros(n), cov).logpdf(z[:, 0].numpy()), rtol=1e-10)


@pytest.mark.parametrize("window", [0, 4])
def test_arflow_adaptive_flow_density_integrates_change_of_variables(window):
    prior = ARFlowPrior(2, order=3, hidden=8, volatility_window=window).double()
    with torch.no_grad():
        prior.w_out.normal_(0, 0.3)
        if window:
            prior.vol_gain.copy_(torch.tensor([0.7, -0.4]))
    z = prior.sample(3, 12, generator=torch.Generator().manual_seed(1)).double()
    mean, log_std = prior.conditionals(z)
    if window:  # the energy term by a literal loop over steps: mean of the squares of the `window` values before t
        plain = ARFlowPrior(2, order=3, hidden=8).double()
        plain.load_state_dict({k: v for k, v in prior.state_dict().items() if k != "vol_gain"})
        expected = plain.conditionals(z)[1].clone()
        for t in range(12):
            past = torch.cat([torch.zeros(3, 2, window, dtype=z.dtype), z], -1)[..., t : t + window]
            expected[..., t] += torch.tensor([0.7, -0.4], dtype=z.dtype) * 0.5 * torch.log(0.01 + (past**2).mean(-1))
        torch.testing.assert_close(log_std, expected)
    eps = (z - mean) / log_std.exp()
    manual = (-0.5 * eps**2 - 0.5 * np.log(2 * np.pi) - log_std).sum((1, 2))
    torch.testing.assert_close(prior.log_prob(z), manual)
    # the Jacobian dε/dz is lower-triangular with diagonal 1/σ (autoregressive)
    jac = torch.autograd.functional.jacobian(lambda x: ((x - prior.conditionals(x[None])[0][0]) / prior.conditionals(x[None])[1][0].exp()).flatten(), z[0])
    jac = jac.reshape(2 * 12, 2 * 12)
    for d in range(2):
        block = jac[d * 12 : (d + 1) * 12, d * 12 : (d + 1) * 12]
        assert torch.allclose(block.triu(1), torch.zeros_like(block))
        torch.testing.assert_close(block.diagonal(), (-log_std[0, d]).exp())


def test_gp_prior_matches_scipy():
    prior = GPPrior(2, kernel="rbf", scale_low=2.0, scale_high=6.0).double()
    z = torch.randn(3, 2, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    k = prior.covariance(30, dtype=torch.float64).numpy()
    expected = sum(multivariate_normal(np.zeros(30), k[d]).logpdf(z[:, d].numpy()) for d in range(2))
    np.testing.assert_allclose(prior.log_prob(z).detach().numpy(), expected, rtol=1e-9)
    assert prior.scales.tolist() == pytest.approx([2.0, 6.0])


def test_skr_prior_known_case():
    prior = SKRPrior(1, kernel="cauchy", scale_low=2.0, scale_high=2.0, window=2).double()
    z = torch.tensor([[[1.0, 2.0, 4.0, 0.0, -1.0]]], dtype=torch.float64)
    k1, k2 = 1 / (1 + 1 / 4), 1 / (1 + 4 / 4)  # Cauchy kernel at lags 1 and 2, ℓ = 2
    rho, var = k1, 1 - k1**2
    mean, log_std = prior.conditionals(z)
    # t = 2: neighbours at ±1 (2, 0) and ±2 (1, −1); t = 0: neighbours at +1, +2 only
    assert float(mean[0, 0, 2]) == pytest.approx(rho * (k1 * (2 + 0) + k2 * (1 - 1)) / (2 * k1 + 2 * k2))
    assert float(mean[0, 0, 0]) == pytest.approx(rho * (k1 * 2 + k2 * 4) / (k1 + k2))
    expected = sum(-0.5 * (float(z[0, 0, t]) - float(mean[0, 0, t])) ** 2 / var - 0.5 * np.log(2 * np.pi * var) for t in range(5))
    assert float(prior.log_prob(z)) == pytest.approx(expected)
    causal = SKRPrior(1, scale_low=2.0, scale_high=2.0, window=2, causal=True).double()
    cm, cls = causal.conditionals(z)
    assert float(cm[0, 0, 0]) == 0 and float(cls[0, 0, 0]) == 0  # first step N(0, 1)
    assert float(cm[0, 0, 3]) == pytest.approx(rho * (k1 * 4 + k2 * 2) / (k1 + k2))


@pytest.mark.parametrize("prior", [NormalPrior(3), GPPrior(3, scale_high=5.0), SKRPrior(3, window=4), SKRPrior(3, window=4, causal=True)])
def test_expected_log_prob_matches_monte_carlo(prior):
    prior = prior.double()
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(2, 3, 15, dtype=torch.float64, generator=g)
    logvar = torch.randn(2, 3, 15, dtype=torch.float64, generator=g) - 3
    exact = prior.expected_log_prob(mean, logvar)
    draws = mean + (0.5 * logvar).exp() * torch.randn(20000, *mean.shape, dtype=torch.float64, generator=g)
    mc = prior.log_prob(draws.reshape(-1, 3, 15)).reshape(20000, 2).mean(0)
    torch.testing.assert_close(exact, mc, rtol=5e-3, atol=0.5)
    torch.testing.assert_close(prior.expected_log_prob(mean, torch.full_like(mean, -60.0)), prior.log_prob(mean))


def test_kernels():
    tau = torch.tensor([0.0, 1.0, 2.0])
    torch.testing.assert_close(kernel_fn("rbf", tau, torch.tensor(1.0)), torch.exp(-0.5 * tau**2))
    torch.testing.assert_close(kernel_fn("matern12", tau, torch.tensor(2.0)), torch.exp(-tau / 2))
    with pytest.raises(ConfigError, match="unknown kernel"):
        kernel_fn("periodic", tau, torch.tensor(1.0))


# ----------------------------------------------------------------------------- VAE + CLI


@pytest.mark.parametrize("name", ["bss_vae", "gp_vae", "skr_vae", "arflow_vae"])
def test_bss_vae_step_is_finite_and_trains_every_part(name):
    from sigvae.models import build_model

    model = build_model(name, {"in_channels": 3, "latent_dim": 2, "length": 40, "encoder": "mlp", "learn_scales": name != "bss_vae"})
    out = model.step({"x": torch.randn(4, 3, 40)}, "train")
    loss = out.losses["model"]
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if not n.startswith("prior.w_in") and not n.startswith("prior.b_in"))
    assert model.encode_sequence(torch.randn(1, 3, 123)).mean.shape == (1, 2, 123)


@pytest.mark.parametrize("taps", [1, 7])
def test_orthogonal_demixing_starts_as_identity_and_stays_a_rotation(taps):
    from sigvae.models import build_model

    model = build_model("arflow_vae", {"in_channels": 3, "latent_dim": 3, "length": 50, "demixing": "orthogonal", "encoder_kernel": taps})
    q = model.rotation.weight.detach()
    assert torch.allclose(q @ q.T, torch.eye(3), atol=1e-5)
    x = torch.randn(2, 3, 50)
    with torch.no_grad():  # identity filter and unit gains: decoding the posterior mean gives the input back
        assert torch.allclose(model.decode(model.encode_sequence(x).mean), x, atol=1e-5)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        model.step({"x": x}, "train").losses["model"].backward()
        opt.step()
    q2 = model.rotation.weight.detach()
    assert not torch.allclose(q2, q, atol=1e-3)  # it moved ...
    assert torch.allclose(q2 @ q2.T, torch.eye(3), atol=1e-5)  # ... and is still orthogonal
    with pytest.raises(ConfigError, match="orthogonal"):
        build_model("gp_vae", {"in_channels": 3, "latent_dim": 3, "demixing": "orthogonal", "encoder": "mlp"})
    with pytest.raises(ConfigError, match="orthogonal"):
        build_model("gp_vae", {"in_channels": 4, "latent_dim": 3, "demixing": "orthogonal"})


def test_orthogonal_model_round_trips_through_its_model_file(tmp_path):
    from sigvae.modelfile import load, save_model
    from sigvae.models import build_model

    torch.manual_seed(3)
    model = build_model("skr_vae", {"in_channels": 2, "latent_dim": 2, "length": 30, "demixing": "orthogonal", "encoder_kernel": 5,
                                    "source_net": 3})
    with torch.no_grad():
        model.source_filter.weight.normal_()
        model.source_out.weight.normal_()
    save_model(model, tmp_path / "m")
    back = load(tmp_path / "m")
    x = torch.randn(1, 2, 64)
    with torch.no_grad():
        assert torch.equal(back.encode_sequence(x).mean, model.encode_sequence(x).mean)


def test_arflow_model_file_from_before_the_new_options_still_loads(tmp_path):
    from sigvae.modelfile import CONFIG_FILE, load, save_model
    from sigvae.models import build_model

    torch.manual_seed(0)
    model = build_model("arflow_vae", {"in_channels": 2, "latent_dim": 2, "length": 20})
    save_model(model, tmp_path / "m")
    doc = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    for key in ("demixing", "ar_volatility_window"):  # what a file written before these options lacks
        del doc["config"][key]
    (tmp_path / "m" / CONFIG_FILE).write_text(json.dumps(doc))
    back = load(tmp_path / "m")
    x = torch.randn(1, 2, 30)
    with torch.no_grad():
        assert torch.equal(back.encode_sequence(x).mean, model.encode_sequence(x).mean)


def test_vae_settings_choose_orthogonal_demixing_for_linear_models():
    from sigvae.unmixing import VAESettings

    assert VAESettings().model_overrides()["demixing"] == "orthogonal"
    assert VAESettings(model={"encoder": "mlp", "decoder": "mlp"}).model_overrides()["demixing"] == "free"
    assert VAESettings(demixing="free").model_overrides()["demixing"] == "free"
    assert VAESettings().model_overrides("arflow_vae")["ar_volatility_window"] == 50
    assert "ar_volatility_window" not in VAESettings().model_overrides("gp_vae")
    assert VAESettings(model={"ar_volatility_window": 0}).model_overrides("arflow_vae")["ar_volatility_window"] == 0
    with pytest.raises(ConfigError, match="demixing"):
        VAESettings(demixing="rotation").validate()


@pytest.mark.slow
def test_orthogonal_arflow_vae_separates_gaussian_sources():
    """Two GP sources with different length scales: a case where FastICA fails and second-order structure works."""
    mix = make_mixture(MixtureConfig(condition="gaussian", sources=2, length=2000, seed=1))
    res = separate(mix.mixtures, "arflow_vae", 2, seed=0, vae={"window": 200, "hop": 10, "epochs": 12})
    assert mcc(mix.sources, res.sources) > 0.99
    assert mcc(mix.sources, separate(mix.mixtures, "fastica", 2).sources) < 0.9  # the case is not one FastICA solves


def test_set_rotation_starts_there_and_can_be_kept_while_the_rest_trains():
    from sigvae.models import build_model

    model = build_model("arflow_vae", {"in_channels": 3, "latent_dim": 3, "length": 40, "demixing": "orthogonal",
                                       "encoder_kernel": 5, "source_net": 4})
    q0 = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1)))[0]
    model.set_rotation(q0, trainable=False)
    assert torch.allclose(model.rotation.weight, q0, atol=1e-5)
    x = torch.randn(2, 3, 40)
    with torch.no_grad():  # the nonlinear branch starts switched off: still the plain identity filter
        assert torch.allclose(model.encode_sequence(x).mean, torch.einsum("kc,bct->bkt", q0, x), atol=1e-5)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    branch = model.source_out.weight.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        model.step({"x": x}, "train").losses["model"].backward()
        opt.step()
    assert torch.allclose(model.rotation.weight, q0, atol=1e-5)  # kept ...
    assert not torch.equal(model.source_out.weight.detach(), branch)  # ... while the source branch learned
    with pytest.raises(ConfigError, match="orthogonal 3x3"):
        model.set_rotation(2 * torch.eye(3))
    with pytest.raises(ConfigError, match="source_net"):
        build_model("gp_vae", {"in_channels": 3, "latent_dim": 3, "demixing": "free", "source_net": 4})


def test_vae_at_baseline_refines_the_baselines_rotation():
    from sigvae.unmixing import VAESettings, parse_method

    assert parse_method("arflow_vae@fastica") == ("arflow_vae", "fastica") and parse_method("sobi") == ("sobi", None)
    for bad in ("fastica@sobi", "arflow_vae@jade", "gp_vae@"):
        with pytest.raises(ConfigError, match="VAE@BASELINE"):
            parse_method(bad)
    with pytest.raises(ConfigError, match="needs an init"):
        VAESettings(train_rotation=False).validate()
    with pytest.raises(ConfigError, match="init must be"):
        VAESettings(init="jade").validate()
    with pytest.raises(ConfigError, match="init needs demixing"):
        VAESettings(init="sobi", demixing="free").validate()
    kept = VAESettings(init="sobi", train_rotation=False)
    assert kept.model_overrides()["encoder_kernel"] == 31 and kept.model_overrides()["source_net"] == 16
    assert VAESettings(init="sobi", train_rotation=False, model={"source_net": 0}).model_overrides()["source_net"] == 0
    mix = make_mixture(MixtureConfig(condition="periodic", length=1500, noise=0.3, seed=0))
    ica = separate(mix.mixtures, "fastica", 3, seed=0)
    res = separate(mix.mixtures, "arflow_vae@fastica", 3, seed=0, vae={"window": 150, "hop": 15, "epochs": 2})
    assert res.info["init"] == "fastica" and res.info["train_rotation"] is False
    # The rotation is FastICA's, so the sources match FastICA's up to each source's filter.
    assert np.abs(correlation_matrix(ica.sources, res.sources)).max(axis=1).min() > 0.8


def test_separate_rejects_bad_requests():
    x = make_mixture(MixtureConfig(length=200)).mixtures
    with pytest.raises(ConfigError, match="unknown separation method"):
        separate(x, "jade", 3)
    with pytest.raises(ConfigError, match="no VAE settings"):
        separate(x, "sobi", 3, vae={"epochs": 1})


def test_unmix_cli_baseline_with_reference(tmp_path, capsys):
    mix = make_mixture(MixtureConfig(condition="gaussian", length=1500, seed=2))
    np.savez(tmp_path / "in.npz", mixtures=mix.mixtures, sample_rate=500)
    np.savez(tmp_path / "ref.npz", sources=mix.sources, mixing=mix.mixing)
    out = tmp_path / "sobi"
    assert main(["unmix", str(tmp_path / "in.npz"), "--method", "sobi", "--out", str(out), "--reference", str(tmp_path / "ref.npz")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mcc"] > 0.97 and metrics["amari"] < 0.1 and metrics["si_sdri"] > 0
    z = np.load(out / "sources.npz")
    assert z["sources"].shape == (3, 1500) and int(z["sample_rate"]) == 500
    assert (out / "figures" / "unmix.png").is_file() and (out / "report.html").is_file()
    assert "MCC" in capsys.readouterr().out
    silent = np.array(mix.sources)
    silent[0] = 0
    np.savez(tmp_path / "silent.npz", sources=silent)
    assert main(["unmix", str(tmp_path / "in.npz"), "--method", "pca", "--out", str(tmp_path / "x"), "--reference", str(tmp_path / "silent.npz")]) == 2
    assert "silent" in capsys.readouterr().err
    assert main(["unmix", "periodic", "--method", "nmf", "--out", str(tmp_path / "y")]) == 2
    assert main(["unmix", "periodic", "--method", "sobi@fastica", "--out", str(tmp_path / "y")]) == 2
    assert "VAE@BASELINE" in capsys.readouterr().err
    assert main(["unmix", "periodic", "--n-sources", "4", "--out", str(tmp_path / "y")]) == 2
    assert main(["unmix", "periodic", "--method", "sobi", "--demixing", "free", "--out", str(tmp_path / "y")]) == 2
    assert main(["unmix", "periodic", "--method", "vae", "--nonlinear", "--demixing", "orthogonal", "--out", str(tmp_path / "y")]) == 2
    assert "orthogonal" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.slow
def test_unmix_cli_vae_end_to_end_on_generated_audio(tmp_path):
    import soundfile as sf

    mix = make_mixture(MixtureConfig(condition="periodic", length=800, sample_rate=8000, seed=0))
    sf.write(tmp_path / "mix.wav", (0.2 * mix.mixtures.T).astype(np.float32), 8000)
    out = tmp_path / "skr"
    argv = ["unmix", str(tmp_path / "mix.wav"), "--method", "skr_vae@sobi", "--n-sources", "3", "--epochs", "1",
            "--window", "100", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.glob("source_*.wav")) == ["source_00.wav", "source_01.wav", "source_02.wav"]
    assert (out / "model" / "model.safetensors").is_file() and not (out / "metrics.json").exists()
    assert np.load(out / "sources.npz")["sources"].shape == (3, 800)


@pytest.mark.slow
def test_unmix_benchmark_tiny(tmp_path):
    out = tmp_path / "bench"
    argv = ["benchmark", "unmix", "--profile", "tiny", "--methods", "amuse,skr_vae,arflow_vae@fastica", "--conditions", "linear",
            "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    rows = json.loads((out / "results.json").read_text())
    metrics = {(r["dataset"], r["model"], r["metric"]) for r in rows}
    assert ("linear", "amuse", "mcc") in metrics and ("linear", "skr_vae", "amari") in metrics
    assert ("linear", "arflow_vae@fastica", "mcc") in metrics
    assert {r["model"] for r in rows if r["dataset"] == "cost"} == {"gp_prior", "skr_prior"}
    assert ("gaussian_L200", "gp_vae", "mcc") in metrics
    assert (out / "results.csv").is_file() and (out / "figures" / "prior_cost.png").is_file()
    assert (out / "figures" / "mcc.png").is_file() and (out / "settings.json").is_file()
    html = (out / "report.html").read_text()
    assert "median (worst)" in html and html.index('id="summary"') < html.index('id="quality"') < html.index('id="settings"')
    assert "<h3>MCC: median (worst)" in html and "SI-SDR [dB]" in html  # readable labels, never the row keys
    assert not any(f">{key}<" in html for key in ("si_sdr", "amari", "train_seconds", "seconds_per_eval"))


def test_unmix_benchmark_flags_parse_into_the_config(tmp_path):
    """Every generated flag reaches the config with its old meaning (--epochs sets the VAE's epochs)."""
    import argparse

    from sigvae.commands.benchmark import add_task_arguments
    from sigvae.experiments.task import resolve_config
    from sigvae.experiments.unmix import TASK

    p = argparse.ArgumentParser()
    add_task_arguments(p, TASK)
    args = p.parse_args(["--profile", "tiny", "--seeds", "2", "--threads", "2", "--methods", "fastica,skr_vae@sobi",
                         "--conditions", "noise10,gaussian", "--epochs", "3"])
    flags = {f.name: getattr(args, f.name) for f in TASK.flag_fields()}
    cfg = resolve_config(TASK, profile=args.profile, flags=flags)
    assert cfg.seeds == [0, 1] and cfg.threads == 2 and cfg.methods == ["fastica", "skr_vae@sobi"]
    assert cfg.conditions == ["noise10", "gaussian"] and cfg.vae_values()["epochs"] == 3 and cfg.length == 600
    assert cfg.vae_methods() == ["skr_vae@sobi"]
    assert resolve_config(TASK, flags={"seeds": [4, 7]}).seeds == [4, 7]
    assert resolve_config(TASK).vae_values()["epochs"] == 8  # the default profile's vae.epochs without --epochs
    for bad in (["--methods", "magic"], ["--conditions", "nope"], ["--epochs", "x"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
    with pytest.raises(ConfigError, match="epochs"):
        resolve_config(TASK, flags={"epochs": 0})


@pytest.mark.parametrize("content", ["bogus: 1\n", "task: bss\n", "methods: [magic]\n"])
def test_unmix_benchmark_config_file_errors_are_one_line(tmp_path, capsys, content):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(content)
    out = tmp_path / "o"
    assert main(["benchmark", "unmix", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sigvae") and "error:" in err[0], err
    assert ("unknown key" in err[0]) == (not content.startswith("methods"))
    assert not out.exists()


def test_old_benchmark_name_and_task_bss_run_unmix(tmp_path, capsys):
    """``benchmark separation`` (with or without ``--task bss``) is the unmix task, with a notice."""
    from sigvae.commands.benchmark import default_task_argv

    assert default_task_argv(["benchmark", "separation", "--task", "bss", "--profile", "tiny"]) == \
        ["benchmark", "separation", "--profile", "tiny"]
    assert default_task_argv(["benchmark", "separation", "--profile", "tiny", "--task=bss"]) == \
        ["benchmark", "separation", "--profile", "tiny"]
    argv = ["--methods", "pca", "--conditions", "linear", "--seeds", "1", "--profile", "tiny", "--no-progress"]
    for name, extra in (("a", ["--task", "bss"]), ("b", ["--task=bss"]), ("c", [])):
        assert main(["benchmark", "separation", *extra, *argv, "--out", str(tmp_path / name)]) == 0
        err = capsys.readouterr().err
        assert "'benchmark separation' is now 'benchmark unmix'" in err
        assert json.loads((tmp_path / name / "settings.json").read_text())["methods"] == ["pca"]
    rows = [json.loads((tmp_path / n / "results.json").read_text()) for n in "abc"]
    strip = [[r for r in rs if "seconds" not in r["metric"]] for rs in rows]
    assert strip[0] == strip[1] == strip[2] and strip[0]
    with pytest.raises(SystemExit) as exc:  # an unknown --task is refused, naming the choices
        main(["benchmark", "separation", "--task", "nope", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "bss" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_data_mixture_export_round_trips_into_unmix(tmp_path):
    path = tmp_path / "mix.npz"
    assert main(["data", "mixture", "gaussian", "--sensors", "4", "--noise", "0.1", "--seed", "3", "--out", str(path)]) == 0
    z = np.load(path)
    assert z["mixtures"].shape == (4, 4000) and z["sources"].shape == (3, 4000) and z["mixing"].shape == (4, 3)
    np.testing.assert_allclose(z["mixtures"], make_mixture(parse_mixture_spec("gaussian:sensors=4,noise=0.1,seed=3")).mixtures)
    out = tmp_path / "amuse"
    assert main(["unmix", str(path), "--method", "amuse", "--out", str(out)]) == 0  # truth read from the .npz itself
    assert json.loads((out / "metrics.json").read_text())["n_sources"] == 3
    assert main(["data", "mixture", "periodic", "--sources", "3", "--sensors", "2", "--out", str(path)]) == 2
