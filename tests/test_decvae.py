"""DecVAE (issue 5): decompositions, SimVowels, the decomposition loss, training, embed, benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sigvae.cli import main
from sigvae.data import make_source
from sigvae.data.simvowels import SimVowels, SimVowelsConfig
from sigvae.decompose import decompose, decompose_utterance, frame_signal, num_frames
from sigvae.errors import ConfigError, DataError
from sigvae.models import MODELS, build_config, build_model
from sigvae.models.decvae import decomposition_loss, jsd_bits

SR = 16000
T = np.arange(400) / SR


def tones(freqs, amps=None, n=8, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    amps = amps or [1.0] * len(freqs)
    x = sum(a * np.sin(2 * np.pi * f * T + rng.uniform(0, 6.28)) for f, a in zip(freqs, amps))
    return np.tile(x, (n, 1)) + noise * rng.standard_normal((n, 400))


def centroid(c):
    p = np.abs(np.fft.rfft(c, axis=-1)) ** 2
    f = np.fft.rfftfreq(c.shape[-1], 1 / SR)
    return (p * f).sum(-1) / np.maximum(p.sum(-1), 1e-30)


# ----------------------------------------------------------------------------- decomposition
@pytest.mark.parametrize("method", ["fd", "ewt"])
def test_filter_bank_components_sum_to_frame_and_are_frequency_ordered(method):
    x = tones([200, 300, 1500, 3000], [0.6, 1.0, 0.5, 0.3], noise=0.01)
    c = decompose(x, method, 3, SR)
    assert c.shape == (8, 3, 400) and c.dtype == np.float32
    # stated tolerance: partition-of-unity filter banks reconstruct to float32 precision
    assert np.max(np.abs(c.sum(1) - x)) <= 1e-5 * np.max(np.abs(x))
    cen = centroid(c)
    assert np.all(np.diff(cen, axis=1) > 0)


def test_fd_puts_each_tone_in_its_own_component():
    x = tones([300, 1500, 3000], [1.0, 0.5, 0.3], noise=0.01)
    cen = centroid(decompose(x, "fd", 3, SR))
    np.testing.assert_allclose(cen.mean(0), [300, 1500, 3000], rtol=0.08)


def test_vmd_modes_are_ordered_and_approximately_sum_to_frame():
    x = tones([300, 1500, 3000], [1.0, 0.5, 0.3], n=4, noise=0.01)
    c = decompose(x, "vmd", 3, SR, max_iter=60)
    cen = centroid(c).mean(0)
    np.testing.assert_allclose(cen, [300, 1500, 3000], rtol=0.08)
    rel_rms = np.sqrt(((c.sum(1) - x) ** 2).mean()) / np.sqrt((x**2).mean())
    assert rel_rms < 0.2  # VMD's data term is a penalty: the sum is approximate


def test_vmd_frame_result_does_not_depend_on_its_chunk():
    # Frames that converge at different iterations: each stops on its own test, so
    # decomposing in chunks of 1, 3 or all at once gives the same modes.
    x = np.concatenate([tones([300, 1500, 3000], n=3, noise=0.01, seed=1),
                        tones([500, 2200], n=3, noise=0.2, seed=2)])
    whole = decompose(x, "vmd", 3, SR)
    for chunk in (1, 3):
        part = decompose(x, "vmd", 3, SR, chunk=chunk)
        assert np.max(np.abs(part - whole)) <= 1e-5 * np.max(np.abs(x))
    with pytest.raises(ConfigError, match="max_iter"):
        decompose(x, "vmd", 3, SR, max_iter=0)

def test_too_few_peaks_gives_zero_components_and_silence_goes_to_component_0():
    one = tones([1000], n=2)
    c = decompose(one, "fd", 3, SR)
    assert np.all(c[:, 1:] == 0) and np.allclose(c[:, 0], one, atol=1e-5)
    silent = np.zeros((2, 400))
    assert np.all(decompose(silent, "fd", 3, SR) == 0)


def test_too_many_peaks_are_merged_into_c_components():
    x = tones([150, 400, 900, 1800, 3200, 5000])
    c = decompose(x, "fd", 3, SR)
    assert c.shape[1] == 3 and np.all(np.abs(c).max(-1) > 0)
    assert np.max(np.abs(c.sum(1) - x)) <= 1e-5 * np.max(np.abs(x))


def test_framing_and_utterance_decomposition():
    x = np.random.default_rng(0).standard_normal((2, 12800)).astype(np.float32)
    fr = frame_signal(x, 400, 320)
    assert fr.shape == (2, num_frames(12800, 400, 320), 400) == (2, 39, 400)
    np.testing.assert_array_equal(fr[1, 2], x[1, 640:1040])
    u = decompose_utterance(x, "fd", 3, SR)
    assert u.shape == (2, 3, 12800)
    assert np.max(np.abs(u.sum(1) - x)) < 1e-4


def test_decompose_rejects_bad_input():
    with pytest.raises(ConfigError, match="unknown decomposition"):
        decompose(np.zeros((1, 400)), "pca")
    with pytest.raises(DataError, match="NaN"):
        decompose(np.full((1, 400), np.nan))


# ----------------------------------------------------------------------------- SimVowels
def test_simvowels_splits_have_disjoint_random_speakers():
    tr = SimVowels(SimVowelsConfig(split="train"))
    te = SimVowels(SimVowelsConfig(split="test"))
    assert len(tr.speaker_vt) == 10 and len(te.speaker_vt) == 5
    assert not set(np.round(tr.speaker_vt, 9)) & set(np.round(te.speaker_vt, 9))
    assert np.std(tr.speaker_vt) > 0.03  # random, not a midpoint
    np.testing.assert_array_equal(tr.speaker_vt, SimVowels(SimVowelsConfig(split="train")).speaker_vt)


def test_simvowels_factors_are_recoverable():
    from sklearn.linear_model import LogisticRegression

    src = make_source("simvowels", {"vowels_per_utterance": 4, "train_speakers": 4})
    data = src.signal_set(48, 0)
    assert data.signals.shape == (48, 1, 4 * 1600) and data.factor_names[0] == "speaker"
    fr = frame_signal(data.signals[:, 0], 400, 320)
    spec = np.abs(np.fft.rfft(fr * np.hanning(400), axis=-1)[..., :200]) ** 2
    feats = np.log(spec.reshape(*spec.shape[:-1], 50, 4).mean(-1) + 1e-8)  # 50 bands of 160 Hz
    vow = src.frame_vowels(data.factors)
    a, b = slice(0, 32), slice(32, 48)
    acc = LogisticRegression(max_iter=2000).fit(feats[a].reshape(-1, 50), vow[a].ravel()).score(feats[b].reshape(-1, 50), vow[b].ravel())
    assert acc > 0.9
    spk = np.repeat(data.factors[:, :1], fr.shape[1], axis=1)
    acc_s = LogisticRegression(max_iter=2000).fit(feats[a].reshape(-1, 50), spk[a].ravel()).score(feats[b].reshape(-1, 50), spk[b].ravel())
    assert acc_s > 0.6  # 4 speakers: chance 0.25


def test_simvowels_bad_options():
    with pytest.raises(ConfigError):
        make_source("simvowels", {"split": "dev"})
    with pytest.raises(ConfigError):
        make_source("simvowels", {"nonsense": 1})


# ----------------------------------------------------------------------------- loss
def test_jsd_bits_bounds():
    p = torch.tensor([[0.5, 0.5, 0.0, 0.0]])
    q = torch.tensor([[0.0, 0.0, 0.5, 0.5]])
    assert float(jsd_bits(p, p)) == pytest.approx(0.0, abs=1e-6)
    assert float(jsd_bits(p, q)) == pytest.approx(1.0, abs=1e-6)


def test_decomposition_loss_optimum_on_hand_made_inputs():
    d = 6
    comps = torch.eye(d)[:3] * 0.999 + 0.001 / d  # disjoint components (almost one-hot)
    x_equal = comps.clone()
    # components disjoint → the component–component term is at its optimum (≈ 0)
    _, parts = decomposition_loss(torch.stack([comps.mean(0), *comps])[None], weight_x=0.3)
    assert float(parts["dec_comp"]) < 0.02
    # identical distributions everywhere → the X–component term is 0, the component term large
    same = torch.full((1, 4, d), 1.0 / d)
    _, parts_same = decomposition_loss(same)
    assert float(parts_same["dec_x"]) == pytest.approx(0.0, abs=1e-5)
    assert float(parts_same["dec_comp"]) > 5
    # a missing component is left out of both terms
    p = torch.stack([x_equal[0], *comps])[None]
    valid = torch.tensor([[True, False, False]])
    loss, parts = decomposition_loss(p, valid)
    assert float(parts["dec_x"]) < 1e-3 and float(parts["dec_comp"]) == 0.0 and float(loss) < 1e-3


# ----------------------------------------------------------------------------- model
def test_presets_and_config_errors():
    assert build_config("decae").beta == 0.0
    assert build_config("beta_decvae").beta == 0.1
    assert build_config("decvae").beta == 1.0
    assert "decvae_large" in MODELS
    with pytest.raises(ConfigError):
        build_config("decvae", {"decomposition": "wavelets"})
    with pytest.raises(ConfigError):
        build_config("decvae", {"in_channels": 2})


@pytest.mark.parametrize("preset", ["decvae", "decvae_large"])
def test_model_shapes_and_gradients(preset):
    over = {"length": 1600}
    if preset == "decvae_large":  # same architecture, narrower, to keep the test fast
        over.update(conv_channels=[8] * 7, proj_dim=16, z_dim=4, s_dim=2, dist_dim=8, seq_channels=12, n_components=3)
    net = build_model(preset, over)
    x = torch.from_numpy(make_source("simvowels", {"vowels_per_utterance": 1}).signal_set(2, 0).signals)
    out = net.step({"x": x}, "train")
    loss = out.losses["model"]
    loss.backward()
    assert torch.isfinite(loss)
    assert net.z_heads[0].weight.grad is not None and net.z_heads[0].weight.grad.abs().sum() > 0  # X head trained
    lat = net.latents(x)
    s = net.config.n_components + 1
    assert lat["z_mean"].shape == (2, 4, s, net.config.z_dim)
    assert lat["u_mean"].shape == (2, s, net.config.s_dim)
    assert net.embed(x).shape == (2, s * net.config.s_dim)


def test_train_embed_and_finetune_end_to_end(tmp_path):
    run = tmp_path / "run"
    opts = tmp_path / "cfg.yaml"
    opts.write_text("data_options: {vowels_per_utterance: 2}\nmodel_config: {hidden: [32], proj_dim: 16, seq_channels: 16}\n")
    rc = main(["train", "decvae", "--data", "simvowels", "--config", str(opts), "--num-examples", "12", "--epochs", "2",
               "--batch-size", "4", "--out", str(run), "--no-progress", "--accelerator", "cpu"])
    assert rc == 0 and (run / "model.safetensors").is_file()
    hist = json.loads((run / "training.json").read_text())["history"]
    assert len(hist) == 2 and all(np.isfinite(h["train/loss"]) for h in hist)
    out = tmp_path / "emb.npz"
    assert main(["embed", str(run), "simvowels", "--split", "test", "--max-examples", "5", "--out", str(out)]) == 0
    z = np.load(out)
    assert z["frame_mean"].shape == (5, 9, 4, 8) and z["utterance_mean"].shape == (5, 4, 8)
    assert list(z["subspaces"]) == ["X", "C1", "C2", "C3"] and z["frame_vowels"].shape == (5, 9)
    assert main(["embed", str(run), "simvowels", "--out", str(tmp_path / "x.txt")]) == 2
    wav = tmp_path / "rec.wav"
    import soundfile as sf

    sf.write(wav, np.zeros(16000, dtype=np.float32), 16000)
    assert main(["embed", str(run), str(wav), "--split", "test", "--out", str(tmp_path / "w.npz")]) == 2  # not silently ignored
    assert not (tmp_path / "w.npz").exists()

    from sigvae.data import SignalDataset
    from sigvae.modelfile import load
    from sigvae.training import TrainConfig, finetune

    model = load(run)
    new = make_source("simvowels", {"vowels_per_utterance": 2, "split": "test"}).signal_set(8, 1)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    res = finetune(model, SignalDataset(new), None, TrainConfig(epochs=1, batch_size=4, progress=False, accelerator="cpu"),
                   tmp_path / "ft", freeze_encoder=True, loggers=False)
    for k, v in res.model.encoder.state_dict().items():
        assert torch.equal(v, before[k])  # frozen encoder
    assert any(not torch.equal(a, b) for a, b in zip(res.model.z_heads.state_dict().values(), model.z_heads.state_dict().values()))


def test_benchmark_tiny_profile(tmp_path):
    out = tmp_path / "bench"
    rc = main(["benchmark", "decvae", "--profile", "tiny", "--models", "decvae_fd,pca", "--out", str(out), "--no-progress"])
    assert rc == 0
    rows = json.loads((out / "results.json").read_text())
    models = {r["model"] for r in rows}
    assert models == {"decvae_fd", "decvae_fd+finetune", "pca"}
    metrics = {r["metric"] for r in rows if r["model"] == "decvae_fd"}
    for m in ("dci_disentanglement", "dci_joint_disentanglement", "modularity", "explicitness", "irs", "mig", "vowel_acc", "speaker_acc", "subspace_C1_vowel_acc"):
        assert m in metrics
    vals = [r["value"] for r in rows if r["metric"] == "vowel_acc"]
    assert all(v is not None and 0.0 <= v <= 1.0 for v in vals)
    assert (out / "report.html").stat().st_size > 10_000 and (out / "figures" / "encoder_response.png").is_file()
    assert (out / "results.csv").is_file() and (out / "figures" / "subspaces.png").is_file()
    html = (out / "report.html").read_text()
    assert html.index('id="summary"') < html.index('id="results"') < html.index('id="settings"')
    assert "DCI disentanglement" in html and "dci_disentanglement" not in html.split('id="settings"')[0]
    assert json.loads((out / "settings.json").read_text())["threads"] == 1


def _decvae_parser():
    import argparse

    from sigvae.commands.benchmark import add_task_arguments
    from sigvae.experiments.decvae import TASK

    p = argparse.ArgumentParser()
    add_task_arguments(p, TASK)
    return p


def test_benchmark_flags_are_generated_and_parse():
    from sigvae.experiments.decvae import TASK
    from sigvae.experiments.task import resolve_config

    args = _decvae_parser().parse_args(["--models", "decvae_fd,pca", "--epochs", "2", "--num-train", "20",
                                        "--seeds", "3", "--threads", "2", "--profile", "tiny", "--out", "o"])
    flags = {f.name: getattr(args, f.name) for f in TASK.flag_fields()}
    cfg = resolve_config(TASK, profile=args.profile, flags=flags)
    assert (cfg.models, cfg.epochs, cfg.num_train, cfg.seeds, cfg.threads) == (["decvae_fd", "pca"], 2, 20, [0, 1, 2], 2)
    assert cfg.vae_epochs == 1 and cfg.dci_estimator == "l1_logistic"  # the rest from the profile
    assert resolve_config(TASK, flags={"seeds": [0, 4, 7]}).seeds == [0, 4, 7]
    with pytest.raises(SystemExit) as e:
        _decvae_parser().parse_args(["--models", "magic"])
    assert e.value.code == 2


def test_benchmark_config_with_unknown_key_exits_2_with_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("bogus: 1\n")
    assert main(["benchmark", "decvae", "--config", str(cfg), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "unknown key 'bogus'" in err[0], err
    assert not (tmp_path / "o").exists()


def test_benchmark_reads_the_old_torch_threads_key(tmp_path):
    from sigvae.experiments.decvae import TASK
    from sigvae.experiments.task import resolve_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text("torch_threads: 3\nepochs: 4\n")
    assert resolve_config(TASK, config_file=str(cfg)).threads == 3
    assert resolve_config(TASK, config_file=str(cfg), flags={"threads": 2}).threads == 2  # the flag wins
    both = tmp_path / "both.yaml"
    both.write_text("torch_threads: 3\nthreads: 5\n")
    assert resolve_config(TASK, config_file=str(both)).threads == 5


def test_benchmark_contenders_are_data():
    """Every benchmarked model is a registered model with its overrides, of a kind with a fitter."""
    from sigvae.experiments.decvae.config import CONTENDERS, KINDS
    from sigvae.experiments.decvae.run import FITTERS

    assert set(KINDS) == set(FITTERS)
    for name, entry in CONTENDERS.items():
        assert entry.kind in FITTERS, name
        if entry.model is not None:
            assert entry.model in MODELS
            build_config(entry.model, entry.overrides)


def test_benchmark_warns_about_collapsed_posteriors():
    from sigvae.experiments.decvae.scoring import activity_warning

    rng = np.random.default_rng(0)
    assert "collapsed posterior" in activity_warning("m", 0, np.zeros((50, 4, 8)), "frame")
    half = np.concatenate([rng.standard_normal((200, 3)), np.zeros((200, 5))], axis=1)
    assert "only 3 of 8 frame latents" in activity_warning("m", 1, half, "frame")
    assert activity_warning("m", 0, rng.standard_normal((200, 8)), "frame") is None


def test_finetune_refuses_to_freeze_a_model_without_an_encoder_to_keep(tmp_path):
    from sigvae.errors import ConfigError
    from sigvae.models import build_model
    from sigvae.training import TrainConfig, finetune

    with pytest.raises(ConfigError, match="no encoder to keep fixed"):
        finetune(build_model("vae"), [], None, TrainConfig(epochs=1), tmp_path / "ft", freeze_encoder=True)
    assert not (tmp_path / "ft").exists()
