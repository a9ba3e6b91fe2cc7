"""End-to-end test of ``sigvae benchmark`` (task syntone) on the tiny profile, plus its pieces."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sigvae.cli import main


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "run"
    status = main(["benchmark", "--profile", "tiny", "--out", str(out), "--no-progress"])
    return status, out


@pytest.mark.slow
def test_tiny_benchmark_writes_every_file_and_row(tiny_run):
    from sigvae.experiments.syntone import NEURAL, PROFILES
    from sigvae.experiments.syntone.config import DEFAULT_MODELS

    status, out = tiny_run
    assert status == 0
    for name in ("report.html", "results.json", "results.csv", "settings.json"):
        assert (out / name).is_file(), name
    rows = json.loads((out / "results.json").read_text())
    assert rows and set(rows[0]) >= {"dataset", "model", "seed", "metric", "value"}
    # The default models (the tiny profile's too): the unsupervised four, Ada-GVAE, PCA and FastICA.
    models = list(DEFAULT_MODELS)
    assert models == [*NEURAL, "ada_gvae", "pca", "fastica"]
    assert "models" not in PROFILES["tiny"] and PROFILES["full"]["models"] == [*NEURAL, "pca", "fastica"]
    seeds = PROFILES["tiny"]["seeds"]
    metrics = {r["metric"] for r in rows}
    # The suite of sigvae.metrics, the interventional scores and the run's own measurements.
    expected = {"mig", "sap", "modularity", "explicitness", "dci_disentanglement", "dci_completeness",
                "dci_informativeness_test", "irs", "infomec_infom", "infomec_infoc", "infomec_infoe",
                "gaussian_total_correlation", "beta_vae_score", "factor_vae_score", "recon_error", "train_seconds"}
    assert metrics == expected
    table = {(r["model"], r["seed"], r["metric"]): r["value"] for r in rows}
    assert len(table) == len(rows) == len(models) * len(seeds) * len(expected)
    for m in models:
        for s in seeds:
            for k in expected:
                v = table[(m, s, k)]
                assert v is not None and math.isfinite(v), (m, s, k, v)
    assert all(r["dataset"] == "syntone" for r in rows)
    csv_lines = (out / "results.csv").read_text().strip().splitlines()
    assert csv_lines[0].startswith("dataset,model,seed,metric,value") and len(csv_lines) == len(rows) + 1
    # Trained model folders load; baselines are saved as arrays.
    import sigvae

    for m in [*NEURAL, "ada_gvae"]:
        for s in seeds:
            folder = out / "models" / f"{m}-seed{s}"
            assert (folder / "model.safetensors").is_file() and not (folder / "checkpoints").exists()
        assert sigvae.load(out / "models" / f"{m}-seed{seeds[0]}").latent_dim == PROFILES["tiny"]["latent_dim"]
    assert (out / "models" / "pca-seed0" / "baseline.npz").is_file()
    figs = {p.stem for p in (out / "figures").glob("*.png")}
    for m in NEURAL:
        assert {f"loss_{m}", f"samples_{m}", f"traversal_{m}"} <= figs
    # Every model's latent × factor MI in one grid on one colour scale.
    assert {"reconstructions", "metrics_disentanglement", "metrics_informativeness", "mutual_information"} <= figs
    assert any((out / "audio").glob("*.wav"))
    html = (out / "report.html").read_text()
    # Self-contained: figures and audio embedded, no links to files beside it.
    assert html.count("data:image/png;base64,") >= len(figs)
    assert "data:audio/wav;base64," in html and 'src="figures/' not in html
    for text in ("Settings", "Time taken", "mean ± std", "Comparison with the original SynTone paper", ".280", "Ranking",
                 "DCI disentanglement", "Reconstruction error"):
        assert text in html, text
    # The summary comes first, the results next; hyper-parameters and time near the end, settings last.
    order = [html.index(t) for t in ('id="summary"', 'id="results"', "Data and models", "Time taken", 'id="settings"')]
    assert order == sorted(order)
    assert "dci_disentanglement</th>" not in html  # tables show readable labels, not row keys


@pytest.mark.slow
def test_rerun_reuses_finished_models(tiny_run, tmp_path):
    """A second run into the same folder reuses the trained models and gives the same codes."""
    status, out = tiny_run
    before = {r["model"] + str(r["seed"]) + r["metric"]: r["value"] for r in json.loads((out / "results.json").read_text())}
    stamp = (out / "models" / "vae-seed0" / "model.safetensors").stat().st_mtime_ns
    # The scores are stored beside the model and reused too: a marked stored value comes back.
    scores_file = out / "models" / "vae-seed0" / "scores.json"
    stored = json.loads(scores_file.read_text())
    assert stored["scores"]["mig"][0] == pytest.approx(before["vae0mig"])
    stored["scores"]["sap"][0] = 0.123456
    scores_file.write_text(json.dumps(stored))
    assert main(["benchmark", "--profile", "tiny", "--out", str(out), "--no-progress", "--models", "vae", "--seeds", "0,"]) == 0
    assert (out / "models" / "vae-seed0" / "model.safetensors").stat().st_mtime_ns == stamp
    after = {r["model"] + str(r["seed"]) + r["metric"]: r["value"] for r in json.loads((out / "results.json").read_text())}
    assert after["vae0mig"] == pytest.approx(before["vae0mig"])
    assert after["vae0sap"] == pytest.approx(0.123456)
    assert not (out / "figures" / "loss_beta_vae.png").exists()  # stale figures of the earlier report are gone
    assert not (out / "audio" / "beta_vae_sample0.wav").exists()  # and its clips
    assert (out / "figures" / "loss_vae.png").is_file()


def test_stored_scores_are_keyed_on_codes_and_settings(tmp_path):
    from sigvae.experiments.runs import cached_scores as _cached_scores
    from sigvae.experiments.syntone import SynToneBenchmarkConfig
    from sigvae.experiments.syntone.scoring import score_key as _score_key

    cfg = SynToneBenchmarkConfig()
    rng = np.random.default_rng(0)
    codes, factors = rng.normal(size=(20, 3)), rng.integers(0, 4, size=(20, 2))
    key = _score_key(cfg, 0, codes, factors)
    assert key == _score_key(cfg, 0, codes.copy(), factors.copy())
    codes2 = codes.copy()
    codes2[3, 1] += 1e-9
    others = {_score_key(cfg, 0, codes2, factors), _score_key(cfg, 1, codes, factors),
              _score_key(SynToneBenchmarkConfig(num_bins=10), 0, codes, factors)}
    assert key not in others and len(others) == 3
    # The report's settings do not touch the scores.
    assert _score_key(SynToneBenchmarkConfig(report_examples=2, threads=2), 0, codes, factors) == key
    (tmp_path / "scores.json").write_text(json.dumps({"key": key, "seconds": 2.5, "scores": {"mig": [0.5, 0.4, float("nan")]}}))
    scores, seconds = _cached_scores(tmp_path, key)
    assert scores["mig"][:2] == (0.5, 0.4) and math.isnan(scores["mig"][2]) and seconds == 2.5
    assert _cached_scores(tmp_path, "another key") is None
    (tmp_path / "scores.json").write_text("{damaged")
    assert _cached_scores(tmp_path, key) is None
    assert _cached_scores(tmp_path / "missing", key) is None


def _settings(argv: list[str], monkeypatch):
    """The settings ``sigvae benchmark syntone ARGV`` would run with (the task is not run)."""
    import argparse

    import sigvae.experiments.task as task_module
    from sigvae.commands.benchmark import add_task_arguments, run_task_command
    from sigvae.experiments.syntone import TASK

    seen = []
    monkeypatch.setattr(task_module, "run_task", lambda task, cfg, out, **kw: seen.append(cfg))
    p = argparse.ArgumentParser()
    add_task_arguments(p, TASK)
    assert run_task_command(TASK, p.parse_args(argv)) == 0
    return seen[0]


def test_settings_resolution(tmp_path, monkeypatch):
    cfg = _settings([], monkeypatch)
    assert cfg.profile == "default" and cfg.latent_dim == 8 and len(cfg.seeds) == 3
    full = _settings(["--full"], monkeypatch)
    assert (full.num_train, full.latent_dim, len(full.seeds), full.grid, full.duration) == (32000, 8, 5, True, 1.0)
    assert _settings(["--profile", "full"], monkeypatch) == full
    conf = tmp_path / "b.yaml"
    conf.write_text("profile: tiny\nepochs: 3\nmodel_configs: {beta_vae: {beta: 8}}\n")
    cfg = _settings(["--config", str(conf), "--epochs", "2", "--models", "vae,beta_vae,pca",
                     "--seeds", "0,5", "--latent-dim", "3"], monkeypatch)
    assert (cfg.profile, cfg.epochs, cfg.models, cfg.seeds, cfg.latent_dim) == ("tiny", 2, ["vae", "beta_vae", "pca"], [0, 5], 3)
    assert cfg.model_configs == {"beta_vae": {"beta": 8}}
    # --seeds is a count or a list; the other flags keep their meaning.
    cfg = _settings(["--seeds", "2", "--num-train", "50", "--num-eval", "40", "--duration", "0.5", "--threads", "0"], monkeypatch)
    assert (cfg.seeds, cfg.num_train, cfg.num_eval, cfg.duration, cfg.threads) == ([0, 1], 50, 40, 0.5, 0)


def test_generated_flags_parse_and_bad_config_keys_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: tiny\nlatent_dimm: 3\n")
    assert main(["benchmark", "syntone", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "latent_dimm" in err and err.count("\n") == 1
    assert main(["benchmark", "syntone", "--full", "--profile", "tiny", "--out", str(tmp_path / "o")]) == 2
    assert "--full" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["benchmark", "syntone", "--epochs", "many", "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert not (tmp_path / "o").exists()


def test_config_file_data_paths(tmp_path, monkeypatch):
    """'syntone' in a config file stays the built-in data; a path is relative to the file and
    may not leave its folder, unless --data (which wins) is given."""
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"data": "syntone", "profile": "tiny"}))
    assert _settings(["--config", str(settings)], monkeypatch).data == "syntone"
    settings.write_text(json.dumps({"data": "mine.npz"}))
    assert _settings(["--config", str(settings)], monkeypatch).data == str(tmp_path / "mine.npz")
    settings.write_text(json.dumps({"data": "/elsewhere/mine.npz"}))
    from sigvae.errors import ConfigError

    with pytest.raises(ConfigError, match="--data"):
        _settings(["--config", str(settings)], monkeypatch)
    assert _settings(["--config", str(settings), "--data", "/elsewhere/mine.npz"], monkeypatch).data == "/elsewhere/mine.npz"


def test_collapsed_posteriors_are_flagged():
    from sigvae.experiments.syntone.scoring import active_latents, collapse_warnings

    rng = np.random.default_rng(0)
    alive, dead = rng.normal(size=(50, 4)), rng.normal(size=(50, 4)) * 1e-3
    partly = np.concatenate([alive[:, :1], dead[:, 1:]], axis=1)
    assert active_latents(alive) == (4, 4) and active_latents(dead) == (0, 4) and active_latents(partly) == (1, 4)
    lines = collapse_warnings({("vae", 0): (4, 4), ("beta_vae", 0): (0, 4), ("beta_vae", 1): (0, 4),
                               ("factor_vae", 3): (1, 4)}, num_factors=3)
    assert len(lines) == 2
    assert lines[0].startswith("beta_vae: collapsed posterior in seeds 0, 1")
    assert lines[1].startswith("factor_vae: fewer than half") and "seed 3: 1 of 4" in lines[1]


def test_default_profile_settings_reach_the_models(monkeypatch):
    """features apply to every model (a model's own frontend wins); profile model_configs follow --models."""
    from types import SimpleNamespace

    from sigvae.experiments.syntone.run import model_overrides

    cfg = _settings([], monkeypatch)
    assert cfg.features == {"n_mels": 32} and cfg.syntone == {"num_freqs": 40, "num_amps": 10}
    assert cfg.model_configs == {"factor_vae": {"disc_hidden": 256}}
    assert _settings(["--models", "vae,pca"], monkeypatch).model_configs == {}
    full = _settings(["--full"], monkeypatch)
    assert (full.features, full.syntone, full.model_configs, full.lr) == ({}, {}, {}, 1e-3)
    data = SimpleNamespace(train=SimpleNamespace(channels=1, length=4000, sample_rate=16000))
    o = model_overrides("factor_vae", cfg, data)
    assert o["frontend"] == {"n_mels": 32} and o["disc_hidden"] == 256 and o["latent_dim"] == 8
    cfg.model_configs = {"vae": {"frontend": {"n_mels": 16, "hop_length": 128}}}
    assert model_overrides("vae", cfg, data)["frontend"] == {"n_mels": 16, "hop_length": 128}
    assert "frontend" not in model_overrides("vae", full, data)


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 3\n")
    assert main(["benchmark", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "epochz" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # a bad flag value is a usage error (exit 2)
        main(["benchmark", "--models", "vae,nope", "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert "nope" in capsys.readouterr().err
    nofac = tmp_path / "nofactors.npz"
    np.savez(nofac, signals=np.zeros((20, 4000), np.float32), sample_rate=16000)
    assert main(["benchmark", "--data", str(nofac), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "factors" in err and "nofactors.npz" in err and err.count("\n") == 1
    assert not (tmp_path / "o" / "report.html").exists()


@pytest.mark.slow
def test_user_npz_with_factors(tmp_path):
    """--data FILE.npz: the same benchmark on a user's signals (here: two models, one seed)."""
    from sigvae.data import SynTone, SynToneConfig

    src = SynTone(SynToneConfig(duration=0.25, num_freqs=6, num_amps=3))
    f, x = src.sample(80, np.random.default_rng(0))
    path = tmp_path / "mine.npz"
    np.savez(path, signals=x, sample_rate=16000, factors=f, factor_names=np.array(["shape", "pitch", "level"]))
    out = tmp_path / "run"
    assert main(["benchmark", "--profile", "tiny", "--data", str(path), "--models", "vae,pca", "--seeds", "1",
                 "--out", str(out), "--no-progress"]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert {r["dataset"] for r in rows} == {"mine.npz"} and {r["model"] for r in rows} == {"vae", "pca"}
    assert "beta_vae_score" not in {r["metric"] for r in rows}  # no generator to intervene on
    assert all(math.isfinite(r["value"]) for r in rows)
    html = (out / "report.html").read_text()
    assert "pitch" in html and "Comparison with the original" not in html
    # settings.json's data path would be read relative to settings.json: the rerun line names it as a flag
    assert f"sigvae benchmark syntone --config settings.json --data {path} --out DIR" in html
    assert json.loads((out / "settings.json").read_text())["data"] == str(path)


def test_baselines_interface():
    from sigvae.errors import DataError
    from sigvae.linear_codes import BASELINES, make_baseline

    rng = np.random.default_rng(0)
    s = rng.laplace(size=(500, 3))
    x = s @ rng.normal(size=(3, 12))
    for name in BASELINES.names():
        b = make_baseline(name, 3, seed=0).fit(x)
        z = b.embed(x)
        assert z.shape == (500, 3) and np.isfinite(z).all()
        assert np.allclose(b.inverse(z), x, atol=1e-3)  # rank-3 data: exact linear reconstruction
        assert b.state()
    # FastICA recovers independent Laplace sources up to order and sign.
    z = make_baseline("fastica", 3, seed=0).fit(x).embed(x)
    corr = np.abs(np.corrcoef(z.T, s.T)[:3, 3:])
    assert corr.max(axis=1).min() > 0.95
    with pytest.raises(DataError):
        make_baseline("pca", 2).embed(x)
    with pytest.raises(DataError):
        make_baseline("pca", 2).fit(x).embed(x[:, :5])


def test_baselines_load_from_their_state_with_identical_codes():
    from sigvae.errors import DataError
    from sigvae.linear_codes import BASELINES, load_baseline, make_baseline

    rng = np.random.default_rng(1)
    x = rng.laplace(size=(300, 4)) @ rng.normal(size=(4, 9)) + rng.normal(size=9)
    for name in BASELINES.names():
        b = make_baseline(name, 3, seed=0).fit(x)
        # The linear maps are scikit-learn's transform / inverse_transform.
        assert np.allclose(b.embed(x), b.model.transform(x), atol=1e-5)
        assert np.allclose(b.inverse(b.embed(x)), b.model.inverse_transform(b.model.transform(x)), atol=1e-4)
        loaded = load_baseline(name, 3, 0, b.state())
        assert np.array_equal(loaded.embed(x), b.embed(x))
        assert np.array_equal(loaded.inverse(b.embed(x)), b.inverse(b.embed(x)))
        broken = {**b.state(), "decoder": np.zeros((2, 9))}
        with pytest.raises(DataError, match="do not fit together"):
            load_baseline(name, 3, 0, broken)
        with pytest.raises(DataError, match="lacks 'mean'"):
            load_baseline(name, 3, 0, {k: v for k, v in b.state().items() if k != "mean"})


@pytest.mark.slow
def test_rerun_reuses_fitted_baselines(tmp_path, monkeypatch):
    """A finished PCA/FastICA run is loaded from its arrays, not refitted, and scores the same."""
    import sigvae.linear_codes as linear_codes

    out = tmp_path / "run"
    args = ["benchmark", "--profile", "tiny", "--out", str(out), "--no-progress", "--models", "pca,fastica", "--seeds", "0,"]
    assert main(args) == 0
    before = json.loads((out / "results.json").read_text())

    def no_fit(self, features):
        raise AssertionError("refitted a finished baseline")

    monkeypatch.setattr(linear_codes.Baseline, "fit", no_fit)
    assert main(args) == 0
    after = json.loads((out / "results.json").read_text())
    assert [(r["model"], r["metric"], r["value"]) for r in after] == [(r["model"], r["metric"], r["value"]) for r in before]
    # Other settings (here the number of components) fit again.
    with pytest.raises(AssertionError, match="refitted"):
        main(args + ["--latent-dim", "3"])
    # So do damaged arrays, to the same result.
    monkeypatch.undo()
    (out / "models" / "pca-seed0" / "baseline.npz").write_bytes(b"not a zip")
    assert main(args) == 0
    again = json.loads((out / "results.json").read_text())
    assert [(r["model"], r["metric"], r["value"]) for r in again if r["metric"] != "train_seconds"] == \
        [(r["model"], r["metric"], r["value"]) for r in before if r["metric"] != "train_seconds"]


@pytest.mark.slow
def test_processes_sharing_an_out_folder_split_the_runs(tmp_path):
    """A run claimed by another process is skipped, waited for at the end, and then reused."""
    import threading
    import time

    from sigvae.io import claim

    out = tmp_path / "run"
    lock = out / "models" / ".vae-seed0.lock"
    status = []
    args = ["benchmark", "--profile", "tiny", "--models", "vae", "--seeds", "0,1", "--out", str(out), "--no-progress"]
    with claim(lock) as held:  # "another process" holds vae seed 0
        assert held
        t = threading.Thread(target=lambda: status.append(main(args)))
        t.start()
        deadline = time.time() + 120
        while not (out / "models" / "vae-seed1" / "scores.json").is_file() and time.time() < deadline and t.is_alive():
            time.sleep(0.2)
        # Seed 1 was done first; seed 0 is untouched while claimed.
        assert (out / "models" / "vae-seed1" / "scores.json").is_file()
        time.sleep(0.5)
        assert not (out / "models" / "vae-seed0").exists() and t.is_alive()
    t.join(120)
    assert status == [0]
    assert (out / "models" / "vae-seed0" / "scores.json").stat().st_mtime > (out / "models" / "vae-seed1" / "scores.json").stat().st_mtime
    rows = json.loads((out / "results.json").read_text())
    assert {(r["seed"], r["metric"]) for r in rows} >= {(0, "mig"), (1, "mig")}


@pytest.mark.slow
def test_two_processes_on_one_out_folder(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "sigvae", "benchmark", "--profile", "tiny", "--models", "vae,pca", "--seeds", "0,1",
           "--out", str(out), "--no-progress"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    rows = json.loads((out / "results.json").read_text())
    assert {(r["model"], r["seed"]) for r in rows} == {(m, s) for m in ("vae", "pca") for s in (0, 1)}
    assert all(math.isfinite(r["value"]) for r in rows if r["metric"] in ("mig", "sap", "recon_error"))
    assert not list(out.glob(".*staging"))
