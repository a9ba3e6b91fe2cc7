"""Spectrogram separation (issue 7): masks, chunked inference, data, baselines, CLI, benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from sigvae.cli import main
from sigvae.data.demo_tracks import DemoTracksConfig, demo_track, write_demo_tracks
from sigvae.data.stft import STFT
from sigvae.data.tracks import (
    TrackCrops,
    demo_track_list,
    load_tracks,
    read_track,
    separation_datasets,
)
from sigvae.errors import ConfigError, DataError
from sigvae.metrics.separation import si_sdr
from sigvae.models import build_model
from sigvae.separating import HPSS, IdealRatioMask, SupervisedNMF, apply_masks, chunk_plan
from sigvae.separating.chunks import _weights, separate_in_chunks

SR = 8000
SMALL = {"n_fft": 256, "hop_length": 64, "channels": [4, 8], "latent_channels": 2, "dilations": [1, 2]}


@pytest.fixture(scope="module")
def tracks():
    return demo_track_list(3, 0, 1.5, SR)


def small_model(**kw):
    torch.manual_seed(0)
    return build_model("separator", {**SMALL, "length": SR // 2, "sample_rate": SR, **kw})


def test_masks_sum_to_one_for_any_input():
    model = small_model(num_sources=3)
    x = torch.randn(2, 1, SR // 2) * torch.tensor([0.01, 1.0])[:, None, None]
    m = model.masks(x)
    assert m.shape[:3] == (2, 3, 1)
    assert torch.all(m >= 0)
    torch.testing.assert_close(m.sum(1), torch.ones_like(m[:, 0]), atol=1e-6, rtol=0)


def test_estimates_add_up_to_the_mixture(tracks):
    est = small_model().separate(tracks[0].mixture)
    np.testing.assert_allclose(est.sum(0), tracks[0].mixture, atol=1e-4)


def test_perfect_mask_returns_the_stems(tracks):
    stft = STFT(256, 64)
    tr = tracks[0]
    spec = stft(torch.from_numpy(tr.stems))  # [K, C, F, N]
    ideal = spec / (spec.sum(0, keepdim=True) + 1e-12)  # the ideal complex ratio mask S_k / X
    est = apply_masks(torch.from_numpy(tr.mixture), ideal, stft).numpy()
    np.testing.assert_allclose(est, tr.stems, atol=1e-4)
    # a one-hot real mask gives the mixture back in the first source and silence in the other
    onehot = torch.zeros(2, *spec.shape[1:])
    onehot[0] = 1
    est = apply_masks(torch.from_numpy(tr.mixture), onehot, stft).numpy()
    np.testing.assert_allclose(est[0], tr.mixture, atol=1e-5)
    assert np.abs(est[1]).max() < 1e-6
    # the ideal ratio mask (real, mixture phase) is an oracle: far better than the mixture
    irm = IdealRatioMask(256, 64).separate(tr.mixture, tr.stems)
    assert np.all(si_sdr(tr.stems[:, 0], irm[:, 0]) > si_sdr(tr.stems[:, 0], np.repeat(tr.mixture, 2, 0)) + 8)


def test_chunked_separation_equals_whole_file_away_from_edges():
    model = small_model(dilations=[1, 2, 4, 8])
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((1, 6 * SR)) * np.linspace(0.2, 1.0, 6 * SR)).astype(np.float32)
    whole = model.separate(x, chunk_seconds=60)
    chunked = model.separate(x, chunk_seconds=1.5, overlap_seconds=1.0, batch_size=3)
    assert len(chunk_plan(x.shape[1], int(1.5 * SR), SR, model.align)) > 3
    # identical except in the last chunk's tail, which is zero-padded instead of reflected
    end = x.shape[1] - SR // 2
    np.testing.assert_allclose(chunked[..., :end], whole[..., :end], atol=2e-5)
    assert np.abs(chunked - whole).max() < 0.5  # and close everywhere


def test_chunk_weights_sum_to_one_and_constant_fn_round_trips():
    starts = chunk_plan(10_000, 3000, 1000, 64)
    assert all(s % 64 == 0 for s in starts) and starts[-1] + 3000 >= 10_000
    total = np.zeros(10_000 + 3000)
    for s, w in zip(starts, _weights(starts, 3000, 10_000, 300)):
        total[s:s + 3000] += w
    np.testing.assert_allclose(total[:10_000], 1.0, atol=1e-6)
    wave = torch.randn(2, 10_000)
    out = separate_in_chunks(lambda b: torch.stack([b, 2 * b], 1), wave, 3000, 1000, align=64)
    torch.testing.assert_close(out, torch.stack([wave, 2 * wave]), atol=1e-5, rtol=0)
    with pytest.raises(ConfigError):
        chunk_plan(100, 50, 60)


def test_demo_tracks_are_reproducible_and_sum_to_the_mixture():
    cfg = DemoTracksConfig(duration=1.0, sample_rate=SR)
    a, b, c = demo_track(3, cfg), demo_track(3, cfg), demo_track(4, cfg)
    np.testing.assert_array_equal(a["vocals"], b["vocals"])
    assert not np.allclose(a["vocals"], c["vocals"])
    np.testing.assert_allclose(a["vocals"] + a["accompaniment"], a["mixture"], atol=1e-6)
    assert max(np.abs(v).max() for v in a.values()) <= 0.9 + 1e-6
    three = demo_track(3, DemoTracksConfig(duration=1.0, sample_rate=SR, three_stems=True))
    assert set(three) == {"vocals", "harmonic", "drums", "mixture"}


def test_track_folders_resampling_missing_mixture_and_stem_subsets(tmp_path):
    write_demo_tracks(tmp_path / "t", 2, 0, DemoTracksConfig(duration=1.0, sample_rate=SR))
    folder = tmp_path / "t" / "track_000"
    tr = read_track(folder)
    assert tr.stem_names == ["accompaniment", "vocals"] and tr.mixture.shape == (1, SR)
    (folder / "mixture.wav").unlink()  # the mixture is then the sum of the stems
    np.testing.assert_allclose(read_track(folder).mixture, tr.stems.sum(0), atol=1e-6)
    up = read_track(folder, sample_rate=16000, mono=True)
    assert up.sample_rate == 16000 and up.mixture.shape == (1, 2 * SR)
    sub = read_track(folder, stems=["vocals"], rest_name="rest")
    assert sub.stem_names == ["vocals", "rest"]
    np.testing.assert_allclose(sub.stems[1], tr.stems[0], atol=1e-4)
    assert len(load_tracks(tmp_path / "t")) == 2
    (tmp_path / "t" / "track_001" / "vocals.wav").rename(tmp_path / "t" / "track_001" / "voice.wav")
    with pytest.raises(DataError, match="stems"):
        load_tracks(tmp_path / "t")
    with pytest.raises(DataError, match="sample rates"):
        sf.write(folder / "vocals.wav", np.zeros(16000, np.float32), 16000)
        read_track(folder)


def test_crops_and_dataset_builder(tracks):
    ds = TrackCrops(tracks, 3000, 7, seed=1)
    item = ds[5]
    assert item["mix"].shape == (1, 3000) and item["stems"].shape == (2, 1, 3000)
    torch.testing.assert_close(ds[5]["mix"], item["mix"])
    train, val, over, meta = separation_datasets("demo-tracks", seed=0, val_fraction=0.3, num_examples=10,
                                                 options={"tracks": 3, "track_seconds": 1.0, "duration": 0.25})
    assert over["num_sources"] == 2 and over["length"] == 4000 and val is not None and len(train) + len(val) == 10
    with pytest.raises(DataError, match="folder of track folders"):
        separation_datasets("syntone", seed=0, val_fraction=0.1, num_examples=4)


def test_baselines_give_masks_that_sum_to_one(tracks):
    hp = HPSS(256, 64).masks(tracks[0].mixture)
    np.testing.assert_allclose(hp.sum(0), 1.0, atol=1e-5)
    nmf = SupervisedNMF(256, 64, components=3, max_iter=20).fit(tracks[:2])
    m = nmf.masks(tracks[2].mixture)
    assert m.shape[0] == 2
    np.testing.assert_allclose(m.sum(0), 1.0, atol=1e-4)
    with pytest.raises(DataError):
        IdealRatioMask().separate(tracks[0].mixture)


@pytest.mark.slow
def test_cli_train_and_separate_end_to_end(tmp_path, capsys):
    data, run, cfg = tmp_path / "tracks", tmp_path / "run", tmp_path / "cfg.yaml"
    assert main(["data", "demo-tracks", "--out", str(data), "--n", "3", "--duration", "1", "--sample-rate", str(SR)]) == 0
    cfg.write_text("model_config: " + json.dumps(SMALL) + "\n")
    assert main(["train", "separator", "--data", str(data), "--config", str(cfg), "--epochs", "1", "--num-examples", "8",
                 "--batch-size", "4", "--duration", "0.5", "--out", str(run), "--no-progress", "--accelerator", "cpu"]) == 0
    meta = json.loads((run / "training.json").read_text())
    assert meta["stems"] == ["accompaniment", "vocals"] and meta["history"]
    # the run resumes through the same path (the data builder is called again from run.json)
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--no-progress"]) == 0
    assert len(json.loads((run / "training.json").read_text())["history"]) == 2
    mix_path = data / "track_000" / "mixture.wav"
    mix, _ = sf.read(mix_path, dtype="float32")
    assert main(["separate", str(run), str(mix_path), "--out", str(tmp_path / "sep"), "--chunk-seconds", "0.5",
                 "--overlap-seconds", "0.25"]) == 0
    parts = [sf.read(tmp_path / "sep" / f"{n}.wav", dtype="float32") for n in ("accompaniment", "vocals")]
    assert all(sr == SR and len(w) == len(mix) for w, sr in parts)
    np.testing.assert_allclose(parts[0][0] + parts[1][0], mix, atol=2e-3)
    assert json.loads((tmp_path / "sep" / "separation.json").read_text())["speed_x_realtime"] > 0
    # stereo at another rate: resampled for the model, each channel separated, written back at 16 kHz
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([mix, 0.5 * mix], 1).repeat(2, 0), 2 * SR)
    assert main(["separate", str(run), str(stereo), "--out", str(tmp_path / "sep2")]) == 0
    w, sr = sf.read(tmp_path / "sep2" / "vocals.wav")
    assert sr == 2 * SR and w.shape == (2 * len(mix), 2)
    capsys.readouterr()
    assert main(["separate", str(run), str(stereo), "--out", str(tmp_path / "sep3"), "--no-resample"]) == 2
    assert "16000 Hz" in capsys.readouterr().err
    assert main(["train", "separator", "--data", "syntone", "--out", str(tmp_path / "bad"), "--no-progress"]) == 2


@pytest.mark.slow
def test_benchmark_tiny_profile(tmp_path):
    out = tmp_path / "bench"
    assert main(["benchmark", "separate", "--profile", "tiny", "--out", str(out), "--no-progress"]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert {r["model"] for r in rows} == {"separator", "nmf", "hpss", "irm"}
    metrics = {r["metric"] for r in rows}
    assert {"si_sdr_input", "si_sdr", "si_sdri", "sdr", "sir", "sar", "sdr_input", "speed", "active_units"} <= metrics
    irm = [r["value"] for r in rows if r["model"] == "irm" and r["metric"] == "si_sdri"]
    assert irm[0] > 5
    html = (out / "report.html").read_text()
    assert html.count("<audio") >= 3 + 2 * 4 and (out / "figures" / "spectrograms.png").is_file()
    assert (out / "figures" / "metrics.png").is_file() and (out / "settings.json").is_file()
    assert (out / "results.csv").is_file() and (out / "models" / "separator-seed0" / "model.safetensors").is_file()
    # summary first, the results next, the settings last; readable labels, never the row keys
    assert html.index('id="summary"') < html.index('id="results"') < html.index('id="settings"')
    assert "SI-SDRi (dB)" in html and "separator VAE" in html and "IRM (oracle)" in html
    assert not any(f">{key}<" in html for key in ("si_sdri", "si_sdr_input", "sdri", "sar", "speed"))
    # one training epoch: the separator's latents carry nothing yet, and the summary says so
    assert "latent units active" in html


def test_benchmark_separate_flags_parse_into_the_config():
    """Every flag of the old separation-spectrogram task reaches the config with its meaning."""
    import argparse

    from sigvae.commands.benchmark import add_task_arguments
    from sigvae.experiments.separate import TASK
    from sigvae.experiments.task import resolve_config

    p = argparse.ArgumentParser()
    add_task_arguments(p, TASK)
    args = p.parse_args(["--profile", "tiny", "--seeds", "0,3", "--threads", "1", "--methods", "nmf,irm", "--epochs", "2",
                         "--crops", "5", "--train-tracks", "3", "--test-tracks", "2"])
    cfg = resolve_config(TASK, profile=args.profile, flags={f.name: getattr(args, f.name) for f in TASK.flag_fields()})
    assert cfg.seeds == [0, 3] and cfg.threads == 1 and cfg.methods == ["nmf", "irm"] and cfg.epochs == 2
    assert (cfg.crops, cfg.train_tracks, cfg.test_tracks, cfg.nmf_iter) == (5, 3, 2, 20)  # the rest from the profile
    assert resolve_config(TASK, flags={"seeds": [2]}).seeds == [2] and resolve_config(TASK).seeds == [0, 1]
    assert resolve_config(TASK).threads == 0  # all cores by default, as before the task interface
    with pytest.raises(SystemExit):
        p.parse_args(["--methods", "magic"])
    with pytest.raises(ConfigError, match="crops, epochs and batch_size"):
        resolve_config(TASK, flags={"epochs": 0})


@pytest.mark.parametrize("content", ["bogus: 1\n", "methods: [magic]\n", "epochs: many\n"])
def test_benchmark_separate_config_file_errors_are_one_line(tmp_path, capsys, content):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(content)
    out = tmp_path / "o"
    assert main(["benchmark", "separate", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sigvae") and "error:" in err[0], err
    assert ("unknown key 'bogus'" in err[0]) == content.startswith("bogus")
    assert not out.exists()


def test_old_benchmark_name_runs_separate_with_a_notice(tmp_path, capsys):
    out = tmp_path / "old"
    assert main(["benchmark", "separation-spectrogram", "--profile", "tiny", "--methods", "irm", "--out", str(out),
                 "--no-progress"]) == 0
    assert "'benchmark separation-spectrogram' is now 'benchmark separate'" in capsys.readouterr().err
    assert {r["model"] for r in json.loads((out / "results.json").read_text())} == {"irm"}


def test_benchmark_separation_task_flag_dispatches(tmp_path, capsys):
    from sigvae.commands.benchmark import default_task_argv

    assert default_task_argv(["benchmark", "separation", "--task", "spectrogram", "--profile", "tiny"]) == \
        ["benchmark", "separate", "--profile", "tiny"]
    assert default_task_argv(["benchmark", "separation", "--profile", "tiny", "--task=spectrogram"]) == \
        ["benchmark", "separate", "--profile", "tiny"]
    # --task bss: tests/test_separation.py
    for argv in (["benchmark", "separate", "--out", "x"], ["benchmark", "separation-spectrogram", "--out", "x"]):
        assert default_task_argv(argv) == argv
    # the flag really runs the spectrogram benchmark (tiny profile, the training-free methods)
    out = tmp_path / "bench"
    assert main(["benchmark", "separation", "--task", "spectrogram", "--profile", "tiny", "--methods", "hpss,irm",
                 "--out", str(out), "--no-progress"]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert {r["model"] for r in rows} == {"hpss", "irm"} and {r["dataset"] for r in rows} == {"demo-tracks"}
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # argparse refuses an unknown --task
        main(["benchmark", "separation", "--task", "nope", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "spectrogram" in capsys.readouterr().err
