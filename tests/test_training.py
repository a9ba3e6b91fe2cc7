import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY_MODEL, TINY_SYNTONE
from sigvae.errors import ConfigError, TrainingDivergedError
from sigvae.modelfile import load
from sigvae.models.base import ModelConfig, SigModel, StepOutput
from sigvae.training import TrainConfig, TrainingProgress, fit, train

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _train(out, epochs, resume=False, model="vae"):
    return train(
        model, "syntone", out=out, num_examples=48, data_options=TINY_SYNTONE, model_config=TINY_MODEL,
        train_config={"epochs": epochs, "batch_size": 16, "progress": False, "accelerator": "cpu"}, resume=resume,
    )


def _last_weights(run):
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def test_tiny_end_to_end_training_writes_a_loadable_model(tmp_path):
    r = _train(tmp_path / "run", 2, model="factor_vae")
    files = {p.name for p in r.run_dir.iterdir()}
    assert {"config.json", "model.safetensors", "training.json", "run.json", "checkpoints", "logs"} <= files
    assert (r.run_dir / "logs" / "metrics.csv").is_file()
    assert len(r.history) == 2 and all("val/loss" in h and "train/loss" in h for h in r.history)
    m = load(r.run_dir)
    assert m.metadata["seed"] == 0 and m.metadata["factor_names"] == ["waveform", "frequency", "amplitude"]
    assert m.metadata["best_val_loss"] == pytest.approx(min(h["val/loss"] for h in r.history))


def test_resume_continues_the_same_run_exactly(tmp_path):
    straight = _train(tmp_path / "a", 3)
    first = _train(tmp_path / "b", 2)
    states = torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]
    (before,) = [v["seconds"] for k, v in states.items() if "HistoryCallback" in k]
    assert 0 < before <= first.seconds
    resumed = _train(tmp_path / "b", 3, resume=True)
    # The training time counts both pieces (up to the first piece's last checkpoint).
    assert resumed.seconds > before
    assert load(resumed.run_dir).metadata["train_seconds"] == pytest.approx(resumed.seconds, abs=1e-3)
    a, b = _last_weights(straight.run_dir), _last_weights(resumed.run_dir)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2]
    assert resumed.epochs_completed == 3
    assert json.loads((resumed.run_dir / "run.json").read_text())["epochs_completed"] == 3


def test_same_seed_same_weights(tmp_path):
    a, b = _train(tmp_path / "a", 1), _train(tmp_path / "b", 1)
    wa, wb = _last_weights(a.run_dir), _last_weights(b.run_dir)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_existing_run_is_not_overwritten_and_resume_needs_a_run(tmp_path):
    _train(tmp_path / "a", 1)
    with pytest.raises(ConfigError, match="already holds a run"):
        _train(tmp_path / "a", 1)
    with pytest.raises(ConfigError, match="cannot resume"):
        _train(tmp_path / "nothing", 1, resume=True)


class _Diverging(SigModel):
    def __init__(self):
        super().__init__(ModelConfig())
        self.w = torch.nn.Parameter(torch.ones(1))

    def step(self, batch, stage):
        loss = self.w * batch["x"].mean() * (float("nan") if stage == "train" else 1.0)
        return StepOutput({"model": loss.squeeze()}, {"loss": loss.squeeze()})


class _Flat(SigModel):
    """A model whose loss is the same every epoch: the monitored loss never improves after epoch 0."""

    def __init__(self):
        super().__init__(ModelConfig())
        self.w = torch.nn.Parameter(torch.ones(1))

    def step(self, batch, stage):
        loss = 0.0 * self.w.sum() + 1.0
        return StepOutput({"model": loss}, {"loss": loss.detach()})


def test_last_checkpoint_is_the_last_epoch_even_without_improvement(tmp_path):
    ds = [{"x": torch.ones(1, 4)} for _ in range(8)]
    cfg = TrainConfig(epochs=3, batch_size=4, progress=False, accelerator="cpu", val_fraction=0.0)
    fit(_Flat(), ds, None, cfg, tmp_path / "r", loggers=False)
    ckpts = tmp_path / "r" / "checkpoints"
    last = torch.load(ckpts / "last.ckpt", weights_only=True)
    best = torch.load(ckpts / "best.ckpt", weights_only=True)
    # resume starts from here: it must be the end of epoch 2 (6 steps), not the best epoch 0
    assert (last["epoch"], last["global_step"]) == (2, 6)
    assert best["epoch"] == 0
    assert sorted(p.name for p in ckpts.iterdir()) == ["best.ckpt", "last.ckpt"]


def test_nan_loss_stops_with_a_message(tmp_path):
    ds = [{"x": torch.ones(1, 4)} for _ in range(8)]
    with pytest.raises(TrainingDivergedError, match=r"loss 'model' is nan at epoch 0, batch 0"):
        fit(_Diverging(), ds, None, TrainConfig(epochs=1, batch_size=4, progress=False, accelerator="cpu"), tmp_path / "r", loggers=False)


# ---- progress: one display per run, plain lines where the output is not a terminal.


def test_progress_off_writes_nothing_to_the_terminal(tmp_path, capfd):
    _train(tmp_path / "run", 1)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_redirected_output_gets_one_plain_line_per_epoch(tmp_path):
    """The CLI with stderr a pipe: no bar redrawn, no escape codes, no Lightning noise; one line per epoch."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("SIGVAE_RUN_DIR", None)
    cmd = [sys.executable, "-m", "sigvae", "train", "vae", "--num-examples", "24", "--duration", "0.05", "--epochs", "2",
           "--batch-size", "8", "--latent-dim", "2", "--accelerator", "cpu", "--out", str(tmp_path / "run")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    line = r"epoch {}/2, loss [-0-9.e+]+, val loss [-0-9.e+]+, elapsed \d+:\d\d"
    assert re.fullmatch(line.format(1) + r", left \d+:\d\d", lines[0]), lines[0]
    assert re.fullmatch(line.format(2), lines[1]), lines[1]
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    assert proc.stdout.startswith("trained vae in ")


def test_the_bar_counts_steps_and_a_resumed_run_starts_where_it_stopped(tmp_path):
    ds = [{"x": torch.ones(1, 4)} for _ in range(8)]
    cfg = TrainConfig(epochs=2, batch_size=4, progress=False, accelerator="cpu", val_fraction=0.0)
    fit(_Flat(), ds, None, cfg, tmp_path / "r", loggers=False)
    buf = io.StringIO()
    cfg.epochs = 3
    fit(_Flat(), ds, None, cfg, tmp_path / "r", loggers=False, resume=True,
        callbacks=[TrainingProgress("train flat", stream=buf, interactive=True)])
    text = buf.getvalue()
    assert "train flat" in text and "4/6 steps" in text and "6/6 steps" in text
    assert "epoch 3/3, loss 1" in text


# ---- run.json: what the run actually used.


def _wav_folder(folder: Path, n: int, rate: int = 8000, frames: int = 800) -> Path:
    import soundfile as sf

    folder.mkdir()
    t = np.arange(frames) / rate
    for i in range(n):
        sf.write(folder / f"clip{i:02d}.wav", 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t), rate)
    return folder


def test_run_json_records_the_examples_and_signals_used(tmp_path):
    data = _wav_folder(tmp_path / "wavs", 12)
    tcfg = {"epochs": 1, "batch_size": 4, "progress": False, "accelerator": "cpu", "val_fraction": 0.25}
    r = train("vae", str(data), out=tmp_path / "run", model_config=TINY_MODEL, train_config=tcfg)  # num_examples default
    saved = json.loads((r.run_dir / "run.json").read_text())
    assert saved["num_examples"] == 12  # not the default 2000, which applies to built-in sources only
    assert (saved["train_examples"], saved["val_examples"]) == (9, 3)
    assert (saved["sample_rate"], saved["length"], saved["channels"]) == (8000, 800, 1)
    assert saved["epochs_completed"] == 1
    # Resuming draws the data with the saved setting; the setting or the count given again is the same run.
    resumed = train("", str(data), out=tmp_path / "run", num_examples=12, resume=True,
                    train_config={"epochs": 2, "progress": False, "accelerator": "cpu"})
    saved = json.loads((resumed.run_dir / "run.json").read_text())
    assert (saved["num_examples"], saved["epochs_completed"]) == (12, 2)
    with pytest.raises(ConfigError, match="number of examples"):
        train("", str(data), out=tmp_path / "run", num_examples=5, resume=True, train_config={"epochs": 3})
    # Data that changed since (a file added) is not resumed on.
    _wav_folder(tmp_path / "more", 1)
    (tmp_path / "more" / "clip00.wav").rename(data / "clip12.wav")
    with pytest.raises(ConfigError, match=r"not what the run was trained on \(examples: 13 now, 12 then\)"):
        train("", str(data), out=tmp_path / "run", resume=True, train_config={"epochs": 3})
