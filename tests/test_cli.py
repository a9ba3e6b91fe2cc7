import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import TINY_MODEL
from sigvae.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def cfg_file(tmp_path):
    p = tmp_path / "cfg.yaml"
    p.write_text(
        "data: syntone\nnum_examples: 48\ndata_options: {duration: 0.1, num_freqs: 20, num_amps: 5}\n"
        f"model_config: {json.dumps(TINY_MODEL)}\ntraining: {{epochs: 1, batch_size: 16, accelerator: cpu}}\n"
    )
    return p


@pytest.fixture
def run_dir(tmp_path, cfg_file):
    out = tmp_path / "run"
    assert main(["train", "beta_vae", "--config", str(cfg_file), "--out", str(out), "--no-progress"]) == 0
    return out


def test_models_lists_the_registry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("vae", "beta_vae", "factor_vae", "beta_tcvae"):
        assert f"\n{name} " in "\n" + out


def test_train_reconstruct_sample_traverse(run_dir, tmp_path, capsys):
    meta = json.loads((run_dir / "training.json").read_text())
    assert meta["model"] == "beta_vae" and meta["train_config"]["epochs"] == 1
    cfg = json.loads((run_dir / "config.json").read_text())["config"]
    assert cfg["beta"] == 4.0 and cfg["latent_dim"] == 3
    wav = tmp_path / "in.wav"
    sf.write(wav, 0.3 * np.sin(np.linspace(0, 900, 3200)), 8000)  # other rate and length: resampled, cut
    assert main(["reconstruct", str(run_dir), str(wav), "--out", str(tmp_path / "rec")]) == 0
    rec = sorted(p.name for p in (tmp_path / "rec").iterdir())
    # named after the input, with the clip's number: 0.4 s at the model's 16 kHz is 4 clips of 0.1 s
    assert {"in_000_original.wav", "in_003_reconstruction.wav", "figures"} <= set(rec) and len(rec) == 2 * 4 + 2
    assert main(["sample", str(run_dir), "--n", "2", "--out", str(tmp_path / "s")]) == 0
    assert len(list((tmp_path / "s").glob("sample_*.wav"))) == 2
    assert main(["traverse", str(run_dir), "--steps", "3", "--out", str(tmp_path / "t")]) == 0
    assert len(list((tmp_path / "t").glob("z*.wav"))) == 9 and (tmp_path / "t" / "figures" / "traversal.png").is_file()
    audio, sr = sf.read(tmp_path / "t" / "z0_00_-2.50.wav")
    assert sr == 16000 and np.isfinite(audio).all()


def test_flags_override_config_and_resume(tmp_path, cfg_file):
    out = tmp_path / "r"
    assert main(["train", "vae", "--config", str(cfg_file), "--out", str(out), "--latent-dim", "2", "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["latent_dim"] == 2
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 0
    assert json.loads((out / "training.json").read_text())["epochs_completed"] == 2


def test_init_from_fine_tunes_a_trained_model(run_dir, tmp_path, capsys):
    import torch

    import sigvae

    start = sigvae.load(run_dir)
    ft = tmp_path / "ft"
    # New data (another seed), the same shape: the model name and config come from the folder.
    assert main(["train", "--init-from", str(run_dir), "--data", "syntone", "--num-examples", "32",
                 "--duration", "0.1", "--seed", "5", "--epochs", "1", "--batch-size", "16",
                 "--out", str(ft), "--no-progress"]) == 0
    tuned = sigvae.load(ft)
    assert tuned.registry_name == "beta_vae" and tuned.metadata["init_from"] == str(run_dir)
    assert to_dict_equal(tuned.config, start.config)
    # Training moved the weights away from the starting point, not from a fresh init.
    first = next(iter(start.state_dict()))
    assert not torch.equal(tuned.state_dict()[first], start.state_dict()[first])
    # A model of another kind, or data of another shape, is refused with one line.
    assert main(["train", "vae", "--init-from", str(run_dir), "--out", str(tmp_path / "x")]) == 2
    assert "holds a 'beta_vae' model" in capsys.readouterr().err
    assert main(["train", "--init-from", str(run_dir), "--duration", "0.2", "--num-examples", "32",
                 "--out", str(tmp_path / "y"), "--no-progress"]) == 2
    assert "has shape" in capsys.readouterr().err
    assert not (tmp_path / "y" / "model.safetensors").exists()


def to_dict_equal(a, b) -> bool:
    from sigvae.config import to_dict

    return to_dict(a) == to_dict(b)


def test_data_syntone_export(tmp_path):
    out = tmp_path / "s.npz"
    assert main(["data", "syntone", "--out", str(out), "--n", "5", "--duration", "0.05"]) == 0
    z = np.load(out)
    assert z["signals"].shape == (5, 1, 800) and z["factors"].shape == (5, 3) and int(z["sample_rate"]) == 16000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "nope"], "unknown model 'nope'"),
        (["train", "vae", "--data", "missing.npz"], "missing.npz: file does not exist"),
        (["train", "vae", "--config", "missing.yaml"], "does not exist"),
        (["reconstruct", "no-run", "x.wav", "--out", "o"], "model folder does not exist"),
        (["train", "vae", "--resume"], "--resume needs --out"),
        (["data", "syntone", "--out", "x.txt"], "must end in .npz"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sigvae: error:") and message in err and "\n" not in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "runs").exists()


def test_bad_config_key_and_type(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: {epochs: many}\n")
    assert main(["train", "vae", "--config", str(bad)]) == 2
    assert "training.epochs: expected an integer" in capsys.readouterr().err
    bad.write_text("trainig: {}\n")
    assert main(["train", "vae", "--config", str(bad)]) == 2
    assert "unknown key 'trainig'" in capsys.readouterr().err


def test_argparse_rejects_negative_sizes(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "vae", "--epochs", "-3"])
    assert e.value.code == 2


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(tmp_path, cfg_file):
    """The same command runs DDP over 2 processes (Lightning's subprocess launcher)."""
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "sigvae.cli", "train", "vae", "--config", str(cfg_file), "--out", str(out),
           "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp", "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((out / "training.json").read_text())
    assert meta["train_config"]["devices"] == "2" and meta["epochs_completed"] == 1
    assert proc.stdout.count("model folder:") == 1  # only rank 0 reports and writes


@pytest.mark.slow
def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path):
    """SIGKILL a training process at a random moment after its first checkpoint (mid-epoch,
    mid-checkpoint-write or between epochs); --resume reaches bitwise the same weights.

    The child must die of the SIGKILL (exit code -9): one that had already finished is
    rerun with a shorter delay, and the test fails if that keeps happening."""
    import random
    import shutil
    import signal
    import time

    import torch

    cfg = tmp_path / "k.yaml"
    cfg.write_text(
        "data: syntone\nnum_examples: 96\ndata_options: {duration: 0.1, num_freqs: 20, num_amps: 5}\n"
        f"model_config: {json.dumps(TINY_MODEL)}\ntraining: {{epochs: 6, batch_size: 16, accelerator: cpu}}\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    base = [sys.executable, "-m", "sigvae.cli", "train", "vae", "--config", str(cfg), "--no-progress"]
    killed = tmp_path / "killed"
    last = killed / "checkpoints" / "last.ckpt"

    def run_and_kill(delay: float) -> int:
        """Start a fresh run, SIGKILL it ``delay`` s after its first checkpoint; returns its exit code."""
        shutil.rmtree(killed, ignore_errors=True)
        with open(tmp_path / "child.err", "wb") as err:
            proc = subprocess.Popen(base + ["--out", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=err)
            deadline = time.time() + 240
            while not last.exists() and time.time() < deadline and proc.poll() is None:
                time.sleep(0.05)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)  # Popen sends nothing if the child has already exited
            proc.wait()
        return proc.returncode

    # The kill must land while the child runs, or the resume below tests nothing: a child
    # that finished first is rerun with a quarter of the delay, at most three times.
    delays = [random.uniform(0.0, 1.0)]  # printed on failure, so a failing point can be replayed
    while (code := run_and_kill(delays[-1])) != -signal.SIGKILL:
        assert code == 0, f"the training child failed on its own (exit {code}): {(tmp_path / 'child.err').read_text()[-2000:]}"
        assert len(delays) < 3, f"the child finished before the SIGKILL every time (delays {delays} s); nothing was killed"
        delays.append(delays[-1] / 4)
    delay = delays[-1]
    assert last.exists(), "no checkpoint was written before the deadline"
    done = subprocess.run(base + ["--out", str(killed), "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    straight = tmp_path / "straight"
    subprocess.run(base + ["--out", str(straight)], env=env, check=True, capture_output=True, timeout=300)
    a = torch.load(last, weights_only=True)["state_dict"]
    b = torch.load(straight / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a), f"killed {delay:.3f} s after the first checkpoint"
    assert json.loads((killed / "training.json").read_text())["epochs_completed"] == 6
