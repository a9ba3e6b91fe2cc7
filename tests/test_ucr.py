"""Issue 8: the vector quantiser, the STFT VQ-VAE, Barlow Twins, UCR data and the benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sigvae.errors import ConfigError, DataError


# --- vector quantiser ---------------------------------------------------------------------
def test_quantizer_returns_nearest_code_and_passes_gradients():
    from sigvae.nn.quantize import VectorQuantizer

    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=6, dim=3, dead_threshold=0.0)
    codes = torch.randn(6, 3)
    vq.codebook.copy_(codes)
    z = torch.randn(4, 3, 5, requires_grad=True)  # [B, D, T]
    out = vq(z)
    flat = z.detach().movedim(1, -1).reshape(-1, 3)
    brute = torch.cdist(flat, codes).argmin(1).reshape(4, 5)
    assert torch.equal(out.indices, brute)
    assert torch.allclose(out.quantized.detach(), codes[brute].movedim(-1, 1), atol=1e-6)
    # Straight-through: d(sum(w * q)) / dz = w, exactly.
    w = torch.randn_like(z)
    (w * out.quantized).sum().backward()
    assert torch.allclose(z.grad, w)
    # Commitment pulls the encoder towards its codes.
    z2 = z.detach().clone().requires_grad_(True)
    vq(z2).commitment.backward()
    expected = 2 * (z2.detach() - codes[brute].movedim(-1, 1)) / z2.numel()
    assert torch.allclose(z2.grad, expected, atol=1e-6)
    assert 1.0 <= float(out.perplexity) <= 6.0


def test_quantizer_ema_update_moves_codes_and_restarts_dead_ones():
    from sigvae.nn.quantize import VectorQuantizer

    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=4, dim=2, decay=0.5, dead_threshold=0.5)
    vq.codebook.copy_(torch.tensor([[0.0, 0.0], [10.0, 10.0], [50.0, 50.0], [-50.0, 50.0]]))
    vq.ema_sum.copy_(vq.codebook)
    vq.initialised.fill_(True)
    z = torch.tensor([[1.0, 1.0], [1.0, 1.0], [9.0, 9.0]]).t()[None]  # [1, 2, 3]
    before = vq.codebook.clone()
    vq(z, update=False)
    assert torch.equal(vq.codebook, before)  # no update unless asked
    out = vq(z, update=True)
    # Code 0 saw two vectors at (1, 1): EMA sum 0.5*0 + 0.5*(2, 2); count 0.5*1 + 0.5*2 = 1.5.
    assert vq.ema_count[0] == pytest.approx(1.5)
    assert torch.allclose(vq.ema_sum[0], torch.tensor([1.0, 1.0]))
    # Codes 2 and 3 were unused: count 0.5 * 1 = 0.5 is not below 0.5; after a second update they are.
    out = vq(z, update=True)
    assert float(out.restarts) == 2.0
    restarted = vq.codebook[2:]
    assert all(any(torch.allclose(r, v) for v in z[0].t()) for r in restarted)


def test_quantizer_update_is_reproducible_under_seeding():
    from sigvae.nn.quantize import VectorQuantizer

    results = []
    for _ in range(2):
        torch.manual_seed(3)
        vq = VectorQuantizer(8, 4, dead_threshold=0.5)
        for s in range(3):
            torch.manual_seed(100 + s)
            vq(torch.randn(2, 4, 7), update=True)
        results.append(vq.codebook.clone())
    assert torch.equal(results[0], results[1])


# --- STFT and the model ---------------------------------------------------------------------
@pytest.mark.parametrize("window,n_fft,hop", [("rect", 8, 2), ("hann", 16, 4), ("rect", 6, 3)])
def test_stft_inverse_round_trip(window, n_fft, hop):
    from sigvae.models.vqvae import STFTChannels

    torch.manual_seed(0)
    x = torch.randn(3, 2, 101)
    st = STFTChannels(n_fft, hop, window, 101)
    u = st(x)
    assert u.shape[:3] == (3, 4, n_fft // 2 + 1)
    assert torch.allclose(st.inverse(u), x, atol=1e-5)


def test_barlow_twins_loss_zero_for_identical_whitened_views_positive_otherwise():
    from sigvae.models.vqvae import barlow_twins_loss

    torch.manual_seed(0)
    b, p = 64, 8
    a = torch.randn(b, p, dtype=torch.float64)
    a = a - a.mean(0)
    q, _ = torch.linalg.qr(a)  # orthonormal, zero-mean columns
    white = q * b**0.5  # covariance exactly I
    assert float(barlow_twins_loss(white, white)) == pytest.approx(0.0, abs=1e-10)
    assert float(barlow_twins_loss(white, white.clone() * 3 + 1)) == pytest.approx(0.0, abs=1e-10)  # batch-standardised
    noisy = white + 0.5 * torch.randn(b, p, dtype=torch.float64)
    assert float(barlow_twins_loss(white, noisy)) > 0.01
    correlated = torch.randn(b, p, dtype=torch.float64)
    correlated[:, 1] = correlated[:, 0]  # identical views but not decorrelated: off-diagonal term
    assert float(barlow_twins_loss(correlated, correlated)) > 0.0


def _tiny_cfg(**kw):
    base = {"length": 40, "in_channels": 1, "sample_rate": 1, "width": 8, "code_dim": 4, "num_codes": 8,
            "res_blocks": 1, "projector_dim": 8}
    return {**base, **kw}


def test_model_step_shapes_projector_trained_and_reconstruct():
    from sigvae.models import build_model

    torch.manual_seed(0)
    m = build_model("barlow_vqvae", _tiny_cfg())
    assert m.config.gamma > 0 and m.config.augment
    x = torch.randn(6, 1, 40)
    out = m.step({"x": x}, "train")
    assert set(out.losses) == {"model"}
    for k in ("time_mse", "stft_mse", "commitment", "perplexity", "usage", "barlow_twins", "restarts"):
        assert k in out.logs
    out.losses["model"].backward()
    spec_params = {id(p) for s in m.optimizer_specs() for p in s.params}
    proj = list(m.projector.parameters())
    assert all(id(p) in spec_params for p in proj)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in proj)
    assert m.encoder[0].weight.grad.abs().sum() > 0  # gradients reach the encoder through the quantiser
    assert all(id(b) not in spec_params for b in m.buffers())  # codebook is EMA-only
    m.eval()
    with torch.no_grad():
        assert m.reconstruct(x).shape == x.shape
        reps = m.representations(x)
    d, f, n = m.latent_shape
    assert reps["flat"].shape == (6, d * f * n) and reps["pooled"].shape == (6, 2 * d) and reps["codes"].shape == (6, 8)
    assert torch.allclose(reps["codes"].sum(1), torch.ones(6))
    assert torch.allclose(reps["segments"], reps["flat"])  # N' <= 16: nothing to average
    assert torch.allclose(m.quantizer(reps["pre"].view(6, d, f, n)).quantized.flatten(1), reps["flat"])
    # The γ = 0 control has no projector and no Barlow Twins term, but the same augmented views.
    ctrl = build_model("barlow_vqvae", _tiny_cfg(gamma=0.0))
    assert ctrl.projector is None and "barlow_twins" not in ctrl.step({"x": x}, "train").logs


def test_segments_representation_averages_equal_stretches_of_latent_frames():
    from sigvae.models import build_model

    m = build_model("vqvae", _tiny_cfg(length=126, max_latent_frames=32))
    m.eval()
    x = torch.randn(3, 1, 126)
    with torch.no_grad():
        reps = m.representations(x)
        zq = m.quantize(x).quantized
    d, f, n = m.latent_shape
    assert n == 32 and zq.shape == (3, d, f, n)
    expected = zq.view(3, d, f, 16, 2).mean(-1)  # 16 segments of 2 latent frames each
    assert reps["segments"].shape == (3, d * f * 16)
    assert torch.allclose(reps["segments"], expected.flatten(1), atol=1e-6)


def test_barlow_twins_on_latent_cells_shares_the_time_flip_between_views():
    from sigvae.models import build_model

    torch.manual_seed(0)
    m = build_model("barlow_vqvae", _tiny_cfg(bt_features="cells", aug_flip=1.0, aug_scale=0.0, aug_slope=0.0, aug_jitter=0.0))
    x = torch.randn(4, 1, 40)
    # With every random part off but the flip, both views are the same reversed series.
    flip = torch.rand(4, 1, 1) < 1.0
    assert torch.equal(m.augment(x, flip), m.augment(x, flip)) and torch.equal(m.augment(x, flip), x.flip(-1))
    out = m.step({"x": x}, "train")
    assert torch.isfinite(out.logs["barlow_twins"]) and out.logs["barlow_twins"] >= 0
    out.losses["model"].backward()
    assert m.projector[0].weight.shape[1] == m.config.code_dim and m.projector[0].weight.grad.abs().sum() > 0
    with pytest.raises(Exception, match="bt_features"):
        build_model("barlow_vqvae", _tiny_cfg(bt_features="grid"))


# --- UCR data --------------------------------------------------------------------------------
def _write_tsv(folder, name, rows_train, rows_test):
    d = folder / name
    d.mkdir(parents=True)
    for split, rows in (("TRAIN", rows_train), ("TEST", rows_test)):
        (d / f"{name}_{split}.tsv").write_text("\n".join("\t".join(str(v) for v in r) for r in rows) + "\n")
    return folder


def test_ucr_tsv_parsing_normalisation_and_unequal_lengths(tmp_path):
    from sigvae.data.ucr import load_ucr, read_ucr_tsv

    train = [[2, 1.0, 2.0, 3.0, 4.0], [1, 0.0, 0.0, 1.0, "NaN"], [2, 4.0, 3.0, 2.0, 1.0]]
    test = [["1.0", 1.0, 1.0, 1.0, 1.0], [2, 0.0, 2.0, "NaN", "NaN"]]
    folder = _write_tsv(tmp_path, "Toy", train, test)
    series, labels = read_ucr_tsv(folder / "Toy" / "Toy_TRAIN.tsv")
    assert [s.shape for s in series] == [(1, 4), (1, 3), (1, 4)]  # trailing NaN padding dropped
    assert labels.tolist() == ["2", "1", "2"]
    d = load_ucr("Toy", folder)
    assert d.classes == ["1", "2"] and d.y_train.tolist() == [1, 0, 1] and d.y_test.tolist() == [0, 1]
    assert d.x_train.shape == (3, 1, 4) and d.x_test.shape == (2, 1, 4)
    assert d.lengths_train.tolist() == [4, 3, 4] and d.lengths_test.tolist() == [4, 2]
    # The 3-sample series [0, 0, 1] is stretched to 4 samples over its own support.
    raw_short = np.interp(np.linspace(0, 1, 4), np.linspace(0, 1, 3), [0.0, 0.0, 1.0])
    raw_train = np.array([[1, 2, 3, 4], raw_short, [4, 3, 2, 1]])
    mu, sd = raw_train.mean(), raw_train.std()
    assert np.allclose(d.x_train[:, 0], (raw_train - mu) / sd, atol=1e-6)
    assert np.allclose(d.x_test[0, 0], (1.0 - mu) / sd, atol=1e-6)  # training statistics on test
    assert np.allclose(d.x_test[1, 0], (np.array([0.0, 2 / 3, 4 / 3, 2.0]) - mu) / sd, atol=1e-6)
    s = d.signal_set("test")
    assert s.factor_names == ["class"] and s.factors[:, 0].tolist() == [0, 1]


def test_ucr_errors(tmp_path):
    from sigvae.data.ucr import load_ucr, read_ucr_tsv

    with pytest.raises(DataError, match="does not ship with aeon"):
        load_ucr("NoSuchSet")
    with pytest.raises(DataError, match="UCR archive layout"):
        load_ucr("Toy", tmp_path)
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\tx\t2\n")
    with pytest.raises(DataError, match="bad.tsv:1"):
        read_ucr_tsv(bad)
    folder = _write_tsv(tmp_path / "u", "Toy", [[1, 1, 2], [2, 2, 1]], [[3, 1, 1]])
    with pytest.raises(DataError, match="never occurs"):
        load_ucr("Toy", folder)


def test_shipped_gunpoint_loads_offline():
    from sigvae.data import load_signals
    from sigvae.data.ucr import load_ucr

    d = load_ucr("gunpoint")
    assert d.name == "GunPoint" and d.x_train.shape == (50, 1, 150) and d.x_test.shape == (150, 1, 150)
    assert abs(float(d.x_train.mean())) < 1e-5 and abs(float(d.x_train.std()) - 1) < 1e-4
    s, src = load_signals("ucr:GunPoint", options={"split": "test"})
    assert src is None and len(s) == 150 and s.factor_sizes == [2]


def test_probes_on_separable_data():
    from sigvae.metrics import kmeans_scores, nearest_neighbour_accuracy, probe_accuracies

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    centres = rng.normal(size=(3, 5)) * 10
    x = centres[y] + rng.normal(size=(60, 5))
    acc = probe_accuracies(x[::2], y[::2], x[1::2], y[1::2])
    assert set(acc) == {"svm", "svmcv", "knn1", "knn5", "knn10", "logreg"}
    assert min(acc.values()) == 1.0
    assert nearest_neighbour_accuracy(x[::2], y[::2], x[1::2], y[1::2]) == 1.0
    km = kmeans_scores(x, y)
    assert km["ari"] == pytest.approx(1.0) and km["silhouette"] > 0.5
    shuffled = probe_accuracies(x[::2], rng.permutation(y[::2]), x[1::2], y[1::2])
    assert shuffled["svm"] < 0.9
    with pytest.raises(DataError):
        probe_accuracies(x[:4], y[:3], x, y)


def test_cross_validated_svm_chooses_c_on_training_data_only():
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.svm import SVC

    from sigvae.metrics.probes import SVM_C_GRID, linear_svm_cv

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    x = rng.normal(size=(60, 5)) + 1.0 * y[:, None]  # overlapping classes, so C matters
    model = linear_svm_cv(x, y, seed=3)
    folds = StratifiedKFold(5, shuffle=True, random_state=3)
    scores = [cross_val_score(SVC(kernel="linear", C=c), x, y, cv=folds).mean() for c in SVM_C_GRID]
    assert np.argmax(scores) > 0 and scores[0] < max(scores) - 0.05  # the data make the choice non-trivial
    assert model.C == SVM_C_GRID[int(np.argmax(scores))]  # the first (smallest) C with the best CV accuracy
    assert model.n_features_in_ == 5 and len(model.support_) > 0  # refitted on all the training data
    tiny = linear_svm_cv(x[[0, 1, 30]], y[[0, 1, 30]])  # a class with one example: nothing to validate
    assert tiny.C == 1.0


def test_cross_validated_accuracy_known_answers():
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from sigvae.metrics import cross_validated_accuracy

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    separable = rng.normal(size=(3, 6))[y] * 10 + rng.normal(size=(60, 6))
    assert cross_validated_accuracy(separable, y) == 1.0
    noise = rng.normal(size=(60, 6))
    assert cross_validated_accuracy(noise, y) < 0.6  # chance is 1/3
    # The same number as scikit-learn's own cross-validation of the pipeline it describes.
    overlap = rng.normal(size=(60, 6)) + 0.7 * y[:, None]
    ref = cross_val_score(make_pipeline(StandardScaler(), SVC(kernel="linear", C=1.0)), overlap, y,
                          cv=StratifiedKFold(5, shuffle=True, random_state=4)).mean()
    assert cross_validated_accuracy(overlap, y, seed=4) == pytest.approx(ref)
    # Three examples of the rarest class: three folds; one example: nothing to validate.
    assert np.isfinite(cross_validated_accuracy(separable[:43], y[:43]))
    assert np.isnan(cross_validated_accuracy(separable[:41], y[:41]))
    with pytest.raises(ValueError):
        cross_validated_accuracy(separable[:10], y[:9])


def test_selection_spec_parsing():
    from sigvae.experiments.ucr.config import parse_select, selection_candidates

    assert parse_select(["max_latent_frames=16,64", "window=rect,hann"]) == {
        "max_latent_frames": [16, 64], "window": ["rect", "hann"]}
    assert parse_select(["none"]) == {}
    cands = selection_candidates({"max_latent_frames": [16, 64], "aug_scale": [0.1, 0.2]})
    assert cands[0] == {"max_latent_frames": 16, "aug_scale": 0.1} and len(cands) == 4
    assert selection_candidates({}) == [{}]
    for bad in (["max_latent_frames"], ["=16"], ["max_latent_frames="]):
        with pytest.raises(ConfigError):
            parse_select(bad)
    with pytest.raises(ConfigError):
        selection_candidates({"max_latent_frames": 16})


# --- settings and flags ----------------------------------------------------------------------
def _ucr_flags(argv: list[str]):
    """Parse ``sigvae benchmark ucr`` flags and resolve them as the command does."""
    import argparse

    from sigvae.commands.benchmark import add_task_arguments
    from sigvae.experiments.task import parse_flag, resolve_config
    from sigvae.experiments.ucr import TASK

    p = argparse.ArgumentParser()
    add_task_arguments(p, TASK)
    args = p.parse_args(argv)
    flags = {f.name: getattr(args, f.name) for f in TASK.flag_fields()}
    if flags["select"] is not None:
        flags["select"] = parse_flag(next(f for f in TASK.flag_fields() if f.name == "select"), flags["select"])
    return resolve_config(TASK, profile=args.profile, config_file=args.config, flags=flags)


def test_ucr_flags_parse_into_the_typed_config():
    cfg = _ucr_flags([])
    assert (cfg.profile, cfg.seeds, cfg.threads, cfg.gamma, cfg.steps, cfg.plain, cfg.minirocket, cfg.select) == (
        "default", [0, 1], 1, [0.0, 0.2], 200, False, True, {})
    assert cfg.datasets == ["GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions"] and cfg.data_dir is None
    assert cfg.model == {"num_codes": 256, "max_latent_frames": 64}
    cfg = _ucr_flags(["--profile", "tiny", "--datasets", "GunPoint,ArrowHead", "--data-dir", "arch", "--gamma", "0,1",
                      "--seeds", "0,4", "--threads", "2", "--steps", "5", "--plain", "--no-minirocket",
                      "--select", "max_latent_frames=2,4", "--select", "window=rect,hann"])
    assert (cfg.datasets, cfg.data_dir, cfg.gamma, cfg.seeds, cfg.threads, cfg.steps) == (
        ["GunPoint", "ArrowHead"], "arch", [0.0, 1.0], [0, 4], 2, 5)
    assert cfg.plain and not cfg.minirocket and cfg.gammas() == [None, 0.0, 1.0]
    assert cfg.select == {"max_latent_frames": [2, 4], "window": ["rect", "hann"]}
    assert cfg.model["num_codes"] == 8  # the tiny profile's model
    assert _ucr_flags(["--seeds", "3"]).seeds == [0, 1, 2]
    assert _ucr_flags(["--select", "none"]).select == {}
    for bad in (["--steps", "0"], ["--threads", "-1"]):
        with pytest.raises(ConfigError):
            _ucr_flags(bad)
    with pytest.raises(SystemExit):
        _ucr_flags(["--gamma", "nan"])


def test_ucr_config_file_merges_model_and_reads_older_spellings(tmp_path):
    from sigvae.experiments.task import resolve_config
    from sigvae.experiments.ucr import PROFILES, TASK

    f = tmp_path / "c.yaml"
    f.write_text("model: {bt_features: cells}\ngamma: '0,0.5'\nseeds: 3\ndatasets: GunPoint\nplain: true\n")
    cfg = resolve_config(TASK, config_file=str(f))
    assert cfg.model == {**PROFILES["default"]["model"], "bt_features": "cells"}
    assert (cfg.gamma, cfg.seeds, cfg.datasets, cfg.plain) == ([0.0, 0.5], [0, 1, 2], ["GunPoint"], True)
    f.write_text("gamma: [0, 1]\ndatasets: [GunPoint, ArrowHead]\nselect: {max_latent_frames: [16, 64]}\n")
    cfg = resolve_config(TASK, config_file=str(f), flags={"gamma": [2.0]})
    assert (cfg.gamma, cfg.datasets, cfg.select) == ([2.0], ["GunPoint", "ArrowHead"], {"max_latent_frames": [16, 64]})
    f.write_text("select: {max_latent_frames: 16}\n")
    with pytest.raises(ConfigError, match="select"):
        resolve_config(TASK, config_file=str(f))


def test_ucr_profile_selection_drops_settings_fixed_under_model(tmp_path, monkeypatch):
    """The profile's selection applies unless one is given; a setting fixed under ``model`` leaves it."""
    from sigvae.experiments.task import resolve_config
    from sigvae.experiments.ucr import PROFILES, TASK

    monkeypatch.setitem(PROFILES, "default", {**PROFILES["default"],
                                              "select": {"max_latent_frames": [16, 64], "window": ["rect", "hann"]}})
    assert resolve_config(TASK).select == {"max_latent_frames": [16, 64], "window": ["rect", "hann"]}
    f = tmp_path / "c.yaml"
    f.write_text("model: {max_latent_frames: 32}\n")
    cfg = resolve_config(TASK, config_file=str(f))
    assert cfg.select == {"window": ["rect", "hann"]} and cfg.model["max_latent_frames"] == 32
    assert resolve_config(TASK, config_file=str(f), flags={"select": {}}).select == {}  # --select none
    f.write_text("select: null\n")
    assert resolve_config(TASK, config_file=str(f)).select == {}


def test_ucr_config_with_an_unknown_key_exits_2_with_one_line(tmp_path, capsys):
    from sigvae.cli import main

    f = tmp_path / "c.yaml"
    f.write_text("gammas: [0, 1]\n")
    assert main(["benchmark", "ucr", "--config", str(f), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown key 'gammas'" in err[0], err
    assert not (tmp_path / "o").exists()


# --- end to end ------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_cli_on_ucr_and_tiny_benchmark(tmp_path):
    from sigvae.cli import main
    from sigvae.modelfile import load

    run = tmp_path / "run"
    cfg = tmp_path / "small.yaml"
    cfg.write_text("model_config: {width: 8, code_dim: 8, num_codes: 8, res_blocks: 1}\n")
    assert main(["train", "vqvae", "--data", "ucr:ItalyPowerDemand", "--epochs", "1", "--batch-size", "16",
                 "--config", str(cfg), "--out", str(run), "--no-progress"]) == 0
    model = load(run)
    assert model.registry_name == "vqvae" and bool(model.quantizer.initialised)
    meta = json.loads((run / "training.json").read_text())
    assert meta["factor_names"] == ["class"]

    folder = _write_tsv(tmp_path / "archive", "Toy",
                        [[i % 2, *np.sin(np.arange(32) * (0.2 + 0.3 * (i % 2)) + i)] for i in range(12)],
                        [[i % 2, *np.sin(np.arange(32) * (0.2 + 0.3 * (i % 2)) + 0.5 * i)] for i in range(10)])
    out = tmp_path / "bench"
    assert main(["benchmark", "ucr", "--profile", "tiny", "--datasets", "Toy", "--data-dir", str(folder),
                 "--gamma", "0,1", "--seeds", "1", "--out", str(out), "--no-progress", "--no-minirocket"]) == 0
    rows = json.loads((out / "results.json").read_text())
    models = {r["model"] for r in rows}
    assert {"1nn_euclidean", "bt_vqvae_g0", "bt_vqvae_g1"} <= models
    metrics = {r["metric"] for r in rows if r["model"] == "bt_vqvae_g1"}
    assert {"svm_segments", "svm_flat", "knn1_flat", "logreg_pooled", "silhouette_flat", "silhouette_segments",
            "perplexity"} <= metrics
    assert all(0.0 <= r["value"] <= 1.0 for r in rows if r["metric"].startswith(("svm", "knn", "logreg")))
    assert (out / "report.html").is_file() and (out / "results.csv").is_file()
    assert any((out / "figures").glob("*.png"))
    assert main(["benchmark", "ucr", "--datasets", "Nope", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    # Settings chosen per run on the training split: one model per candidate, the best CV kept.
    out3 = tmp_path / "bench3"
    assert main(["benchmark", "ucr", "--profile", "tiny", "--datasets", "Toy", "--data-dir", str(folder), "--gamma", "1",
                 "--seeds", "0,1", "--select", "max_latent_frames=2,4", "--out", str(out3), "--no-progress", "--no-minirocket"]) == 0
    rows3 = json.loads((out3 / "results.json").read_text())
    for seed in (0, 1):
        mine = {r["metric"]: r["value"] for r in rows3 if r["model"] == "bt_vqvae_g1" and r["seed"] == seed}
        cvs = [mine["cv_svm_segments@max_latent_frames=2"], mine["cv_svm_segments@max_latent_frames=4"]]
        kept = int(mine["selected"])
        assert kept == int(np.argmax(cvs)) and mine["selected_max_latent_frames"] == (2, 4)[kept]
        for frames in (2, 4):
            assert (out3 / "runs" / "Toy" / f"bt_vqvae_g1-seed{seed}-max_latent_frames={frames}" / "model.safetensors").is_file()
    assert "Settings chosen on the training split" in (out3 / "report.html").read_text()
    for bad in ("max_latent_frames=0,4", "max_latent_frames", "no_such_setting=1,2"):
        assert main(["benchmark", "ucr", "--profile", "tiny", "--datasets", "Toy", "--data-dir", str(folder),
                     "--select", bad, "--out", str(tmp_path / "x3"), "--no-progress"]) == 2
        assert not (tmp_path / "x3").exists()
    # `model` in a --config file reaches every trained model; a bad value is refused before any training.
    cells = tmp_path / "cells.yaml"
    cells.write_text("model: {bt_features: cells}\n")
    out2 = tmp_path / "bench2"
    assert main(["benchmark", "ucr", "--profile", "tiny", "--datasets", "Toy", "--data-dir", str(folder), "--gamma", "1",
                 "--seeds", "1", "--config", str(cells), "--out", str(out2), "--no-progress", "--no-minirocket"]) == 0
    saved = json.loads(next((out2 / "runs" / "Toy").glob("*/config.json")).read_text())
    assert json.dumps(saved).count('"bt_features": "cells"') == 1
    cells.write_text("model: {bt_features: grid}\n")
    assert main(["benchmark", "ucr", "--profile", "tiny", "--datasets", "Toy", "--data-dir", str(folder),
                 "--config", str(cells), "--out", str(tmp_path / "x2"), "--no-progress"]) == 2
    assert not (tmp_path / "x2").exists()


def test_minirocket_leaves_torch_thread_count_alone():
    """aeon resets torch's threads; the models trained after MiniRocket must keep --threads."""
    import torch

    from sigvae.experiments.ucr.scoring import minirocket_accuracy

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        x = np.random.default_rng(0).normal(size=(20, 1, 40))
        y = np.arange(20) % 2
        acc, _ = minirocket_accuracy(x, y, x, y)
        assert np.isnan(acc) or 0 <= acc <= 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
