"""The output-side guarantees (issue 21), each enforced once at its boundary:

- names read from files reach file names only through ``sigvae.io.safe_name``, and every
  write through ``sigvae.io`` inside an output folder must land inside it;
- text reaches HTML only through ``sigvae.report.html.Report``'s escaping;
- a model folder never names a file sigvae opens;
- one lock per output (a second writer is refused with exit 2);
- an output that already holds the user's files is not written into without ``--overwrite``,
  a model folder is replaced whole, and a failed command leaves nothing behind;
- SIGINT/SIGTERM end every command with 130/143 and one line;
- nothing non-finite is ever saved as a model.

CLI cases run ``sigvae.cli.main`` in-process; signal cases run a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import TINY_MODEL, write_tiny_model_folders
from sigvae.cli import main
from sigvae.errors import ConfigError, DataError, TrainingDivergedError

SR = 8000


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("sigvae") and "error:" in err and "Traceback" not in err, err
    return err


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    folders = write_tiny_model_folders(tmp_path_factory.mktemp("outputs"), SR, vae_metadata={"data": "/etc/passwd"})
    wav = folders["root"] / "song.wav"
    sf.write(wav, 0.1 * np.sin(np.arange(SR) * 0.05), SR)
    return {**folders, "wav": wav}


# ------------------------------------------------------------------------------------
# Names from files → paths


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_safe_name_is_one_plain_path_component_or_refused(text):
    from sigvae.io import safe_name

    try:
        name = safe_name(text)
    except DataError:
        return
    assert name and Path(name).name == name and name not in (".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name and not name.startswith(".")
    assert len(name) <= 96 and name == name.strip()


def test_safe_names_refuses_two_names_that_collide():
    from sigvae.io import safe_names

    assert safe_names(["vocals", "drums"]) == ["vocals", "drums"]
    with pytest.raises(DataError, match="same file name"):
        safe_names(["a/b", "a_b"])


def test_writes_inside_a_confined_folder_cannot_leave_it(tmp_path):
    from sigvae.io import confined_to, write_text

    (tmp_path / "out").mkdir()
    os.symlink(tmp_path, tmp_path / "out" / "link")
    with confined_to(tmp_path / "out"):
        write_text(tmp_path / "out" / "ok.txt", "fine")
        for bad in ("../escape.txt", "link/escape.txt", "sub/../../escape.txt"):
            with pytest.raises(DataError, match="outside"):
                write_text(tmp_path / "out" / bad, "no")
    assert not (tmp_path / "escape.txt").exists() and (tmp_path / "out" / "ok.txt").is_file()


def test_separator_folder_with_hostile_source_names_is_refused_and_writes_nothing(folders, tmp_path, capsys):
    import shutil

    model = tmp_path / "evil"
    shutil.copytree(folders["separator"], model)
    cfg = json.loads((model / "config.json").read_text())
    cfg["config"]["source_names"] = ["/../../../../elsewhere/PWNED", "../vocals"]
    (model / "config.json").write_text(json.dumps(cfg))
    canary = tmp_path / "canary"
    canary.mkdir()
    before = _tree(tmp_path)
    assert main(["separate", str(model), str(folders["wav"]), "--out", str(canary / "o")]) == 2
    assert "source name" in _one_error_line(capsys)
    assert _tree(tmp_path) == before and not list(Path("/").glob("elsewhere*"))


def test_separate_writes_source_names_through_safe_name(folders, tmp_path):
    from sigvae.modelfile import load
    from sigvae.models.separator import SeparatorConfig

    model = load(folders["separator"])
    with pytest.raises(ConfigError, match="plain file name"):
        SeparatorConfig(**{**model.config.__dict__, "source_names": ["a/b", "c"]}).validate()
    assert main(["separate", str(folders["separator"]), str(folders["wav"]), "--out", str(tmp_path / "o")]) == 0
    assert {p.name for p in (tmp_path / "o").glob("*.wav")} == {f"{n}.wav" for n in model.config.names}


def test_benchmark_factor_names_are_escaped_in_html_and_safe_in_file_names(tmp_path):
    """Factor names of a --data file: '<script>' never reaches report.html as markup, '../' never a path."""
    rng = np.random.default_rng(0)
    n, t = 48, 2000
    factors = np.stack([np.arange(n) % 2, (np.arange(n) // 2) % 3], 1)
    signals = (0.1 * np.sin(np.outer(1 + factors[:, 0] + factors[:, 1], np.arange(t)) * 0.02)
               + 0.01 * rng.standard_normal((n, t))).astype(np.float32)
    data = tmp_path / "evil.npz"
    np.savez(data, signals=signals, sample_rate=np.int64(SR), factors=factors,
             factor_names=np.array(["<script>alert(1)</script>", "../../../PWNED"]))
    out = tmp_path / "work" / "bench"
    assert main(["benchmark", "--profile", "tiny", "--data", str(data), "--out", str(out), "--no-progress",
                 "--models", "vae", "--seeds", "0,"]) == 0
    page = (out / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p == data or p.is_relative_to(out) for p in written), [str(p) for p in written]
    assert not list(tmp_path.rglob("*PWNED*.wav")) or all(p.parent == out / "audio" for p in tmp_path.rglob("*PWNED*"))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_report_text_never_becomes_markup(text):
    from sigvae.report.html import Bold, Report

    rep = Report(text, "/nonexistent")
    rep.heading(text)
    rep.text(text)
    rep.paragraph(text, Bold(text))
    rep.bullets([text])
    rep.table([text], [[text]], caption=text)
    rep.code(text)
    body = "".join(rep.parts)
    assert "<script" not in body.lower().replace("&lt;script", "") and "<img" not in body.lower().replace("&lt;img", "")
    assert not hasattr(rep, "raw")  # no door for unescaped HTML


def test_traverse_never_opens_a_file_named_by_the_model_folder(folders, tmp_path, capsys, monkeypatch):
    # training.json says the model was trained on /etc/passwd: without --input, sigvae starts
    # from the prior mean and says how to give a clip; it never opens the named file.
    import sigvae.inference

    opened = []
    real = sigvae.inference.open_input
    monkeypatch.setattr(sigvae.inference, "open_input", lambda spec, *a, **k: opened.append(spec) or real(spec, *a, **k))
    assert main(["traverse", str(folders["vae"]), "--steps", "3", "--out", str(tmp_path / "t0")]) == 0
    assert opened == [] and "--input" in capsys.readouterr().out
    wav = tmp_path / "clip.wav"
    sf.write(wav, 0.1 * np.sin(np.arange(800) * 0.05), SR)
    assert main(["traverse", str(folders["vae"]), "--input", str(wav), "--steps", "3", "--out", str(tmp_path / "t")]) == 0
    assert opened == [str(wav)]


# ------------------------------------------------------------------------------------
# Output folders: lock, overwrite, staging, --out "", SIGVAE_RUN_DIR


def test_a_second_writer_of_the_same_out_is_refused(folders, tmp_path, capsys):
    from sigvae.io import output_lock

    out = tmp_path / "samples"
    with output_lock(out):
        assert main(["sample", str(folders["vae"]), "--n", "2", "--out", str(out)]) == 2
        assert "another sigvae process" in _one_error_line(capsys)
        assert main(["embed", str(folders["vae"]), str(folders["wav"]), "--out", str(tmp_path / "samples")]) == 2
        capsys.readouterr()
    assert not out.exists()
    assert main(["sample", str(folders["vae"]), "--n", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples"]  # the lock file went with the lock


def test_a_lock_held_by_another_process_refuses_and_dies_with_it(folders, tmp_path, capsys):
    out = tmp_path / "o"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from sigvae.io import output_lock\n"
        f"with output_lock({str(out)!r}):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["sample", str(folders["vae"]), "--n", "1", "--out", str(out)]) == 2
        _one_error_line(capsys)
    finally:
        holder.kill()
        holder.wait()
    assert main(["sample", str(folders["vae"]), "--n", "1", "--out", str(out)]) == 0


def test_out_holding_user_files_needs_overwrite_and_reruns_replace_only_their_own(folders, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert main(["sample", str(folders["vae"]), "--n", "2", "--out", str(out)]) == 2
    assert "--overwrite" in _one_error_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert main(["sample", str(folders["vae"]), "--n", "2", "--out", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "my notes" and (out / "sample_001.wav").is_file()
    fresh = tmp_path / "fresh"
    for _ in range(2):  # the same command again into its own output: allowed, files replaced
        assert main(["sample", str(folders["vae"]), "--n", "2", "--out", str(fresh)]) == 0
    # another command's output folder is not this command's to write into
    assert main(["reconstruct", str(folders["vae"]), str(folders["wav"]), "--out", str(fresh)]) == 2
    assert "sigvae sample" in _one_error_line(capsys)


def test_separate_cannot_overwrite_the_reference_stems_of_a_track_folder(folders, tmp_path, capsys):
    track = tmp_path / "track"
    track.mkdir()
    for name in ("mixture", "source0", "source1"):
        sf.write(track / f"{name}.wav", 0.05 * np.ones(SR // 2), SR)
    before = _tree(track)
    assert main(["separate", str(folders["separator"]), str(track / "mixture.wav"), "--out", str(track)]) == 2
    _one_error_line(capsys)
    assert _tree(track) == before


def test_existing_output_file_needs_overwrite(folders, tmp_path, capsys):
    z = tmp_path / "z.npz"
    assert main(["embed", str(folders["vae"]), str(folders["wav"]), "--out", str(z)]) == 0
    stamp = z.stat().st_mtime_ns
    assert main(["embed", str(folders["vae"]), str(folders["wav"]), "--out", str(z)]) == 2
    assert "--overwrite" in _one_error_line(capsys) and z.stat().st_mtime_ns == stamp
    assert main(["embed", str(folders["vae"]), str(folders["wav"]), "--out", str(z), "--overwrite"]) == 0


@pytest.mark.parametrize("argv", [
    ["sample", "{vae}", "--out", ""],
    ["train", "vae", "--data", "", "--out", "{tmp}/r"],
    ["embed", "{vae}", "", "--out", "{tmp}/z.npz"],
    ["unmix", "periodic", "--out", ""],
], ids=["sample-out", "train-data", "embed-input", "unmix-out"])
def test_empty_values_are_refused(folders, tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(vae=folders["vae"], tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    assert "is empty" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------
# Training: nothing half-made, no silent overwrite, nothing non-finite, the env var


def _train(tmp_path, out, *extra):
    try:
        return _train_argv(out, *extra)
    except SystemExit as e:  # argparse refuses a flag's value before any command runs
        return e.code


def _train_argv(out, *extra):
    return main(["train", "vae", "--data", "syntone", "--num-examples", "16", "--duration", "0.1", "--epochs", "1",
                 "--batch-size", "8", "--latent-dim", "2", "--no-progress", "--out", str(out), *extra])


@pytest.mark.parametrize("flags,words", [
    (["--lr", "inf"], "lr"),
    (["--lr", "1e30"], "diverged"),
    (["--accelerator", "nonsense"], "accelerator"),
    (["--devices", "0"], "devices"),  # not a large count: were the check gone, Lightning would start copies of pytest
    (["--precision", "7-bits"], "precision"),
], ids=["lr-inf", "lr-diverges", "accelerator", "devices", "precision"])
def test_failed_training_leaves_nothing(tmp_path, capsys, flags, words):
    assert _train(tmp_path, tmp_path / "run", *flags) == 2
    assert words in _one_error_line(capsys).lower()
    assert list(tmp_path.iterdir()) == []


def test_non_finite_weights_are_never_saved(tmp_path):
    import torch

    from sigvae.modelfile import save_model
    from sigvae.models import build_model

    model = build_model("vae", {**TINY_MODEL, "length": 800, "sample_rate": SR})
    with torch.no_grad():
        next(iter(model.parameters()))[0] = float("nan")
    with pytest.raises(TrainingDivergedError, match="not finite"):
        save_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_model_folder_is_replaced_whole_and_only_with_overwrite(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert _train(tmp_path, out) == 0
    weights = (out / "model.safetensors").read_bytes()
    assert _train(tmp_path, out) == 2
    assert "--overwrite" in _one_error_line(capsys)
    # A retraining that fails half-way leaves the old model folder exactly as it was.
    import sigvae.training as training

    def boom(*a, **k):
        raise TrainingDivergedError("training diverged: simulated")

    monkeypatch.setattr(training, "fit", boom)
    assert _train(tmp_path, out, "--overwrite", "--seed", "1") == 2
    capsys.readouterr()
    assert (out / "model.safetensors").read_bytes() == weights
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    monkeypatch.undo()
    assert _train(tmp_path, out, "--overwrite", "--seed", "1") == 0
    assert (out / "model.safetensors").read_bytes() != weights
    assert json.loads((out / "run.json").read_text())["train_config"]["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_resume_refuses_settings_it_would_ignore(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(tmp_path, out) == 0
    for flags in (["--lr", "0.5"], ["--latent-dim", "5"], ["--data", "simvowels"]):
        assert main(["train", "--out", str(out), "--resume", "--epochs", "2", *flags]) == 2
        assert "differs" in _one_error_line(capsys)
    assert main(["train", "factor_vae", "--out", str(out), "--resume", "--epochs", "2"]) == 2
    assert "model" in _one_error_line(capsys)
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 0


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_run_saved_on_a_gpu_resumes_on_the_cpu_when_asked(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(tmp_path, out) == 0
    saved = json.loads((out / "run.json").read_text())
    saved["train_config"]["accelerator"] = "cuda"
    (out / "run.json").write_text(json.dumps(saved))
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 2
    assert "accelerator" in _one_error_line(capsys)
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress", "--accelerator", "cpu"]) == 0


def test_damaged_run_json_on_resume_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(tmp_path, out) == 0
    for text in ("{not json", '{"model": 3}', "\xff\xfe".encode("latin-1").decode("latin-1"), "[" * 100_000):
        (out / "run.json").write_text(text, encoding="latin-1")
        assert main(["train", "--out", str(out), "--resume", "--epochs", "2"]) == 2
        assert "run.json" in _one_error_line(capsys)


def test_run_dir_env_var_does_not_override_out(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGVAE_RUN_DIR", str(tmp_path / "elsewhere"))
    assert _train(tmp_path, tmp_path / "run") == 0
    assert (tmp_path / "run" / "model.safetensors").is_file() and not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("where", ["scoring", "report"])
def test_failed_benchmark_leaves_nothing(tmp_path, capsys, monkeypatch, where):
    from sigvae.experiments.syntone import report, scoring

    def boom(*a, **k):
        raise DataError(f"{where} failed (simulated)")

    if where == "scoring":
        monkeypatch.setattr(scoring, "score_codes", boom)
    else:  # after every run finished: the runs it added go too
        monkeypatch.setattr(report, "paper_section", boom)
    out = tmp_path / "bench"
    assert main(["benchmark", "--profile", "tiny", "--out", str(out), "--no-progress", "--models", "vae",
                 "--seeds", "0,"]) == 2
    _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------
# Signals


def _interrupt(argv: list[str], wait_for, sig: int, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the CLI, send ``sig`` once ``wait_for`` (a path, or a callable) exists, and collect the result."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sigvae.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if wait_for() if callable(wait_for) else wait_for.exists():
            break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def test_sigint_during_training_exits_130_with_one_line_and_the_run_resumes(tmp_path):
    run = tmp_path / "run"
    argv = ["train", "vae", "--data", "syntone", "--num-examples", "64", "--duration", "0.25", "--epochs", "200",
            "--batch-size", "8", "--no-progress", "--out", str(run)]
    done = _interrupt(argv, run / "checkpoints" / "last.ckpt", signal.SIGINT, tmp_path)
    assert done.returncode == 130, done.stderr[-2000:]
    assert done.stderr.strip() == "sigvae: interrupted"
    assert (run / "checkpoints" / "last.ckpt").is_file()  # the user's work stays, to be resumed


def test_sigterm_during_a_benchmark_exits_143_and_leaves_no_staging(tmp_path):
    out = tmp_path / "sep"
    done = _interrupt(["benchmark", "unmix", "--profile", "tiny", "--no-progress", "--out", str(out)],
                      lambda: any(tmp_path.glob(".sep.*")), signal.SIGTERM, tmp_path)
    if done.returncode == 0:
        pytest.skip("the benchmark finished before the signal arrived")
    assert done.returncode == 143, done.stderr[-2000:]
    assert done.stderr.strip() == "sigvae: terminated"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_signal_that_surfaces_as_another_error_still_exits_128_plus_signal(monkeypatch, capsys):
    """A SIGTERM raised inside a C extension's initialisation comes out as "ImportError:
    initialization failed" (seen when the signal hit while SciPy loaded): still one line and 143."""
    import os

    import sigvae.commands.train as train_command
    from sigvae.errors import Interrupted

    def terminated_mid_import(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises Interrupted here
        except Interrupted:
            raise ImportError("initialization failed") from None
        return 0

    monkeypatch.setattr(train_command, "run_models", terminated_mid_import)
    assert main(["models"]) == 143
    assert capsys.readouterr().err.strip() == "sigvae: terminated"
    # Without a signal, an error that is not bad input still propagates (a bug shows its traceback).
    monkeypatch.setattr(train_command, "run_models", lambda args: (_ for _ in ()).throw(ImportError("x")))
    with pytest.raises(ImportError):
        main(["models"])


def test_resuming_keeps_every_logged_epoch_once(tmp_path):
    """Lightning's CSVLogger deletes metrics.csv when it starts; a resumed run keeps the earlier epochs."""
    import csv

    out = tmp_path / "run"
    assert _train(tmp_path, out) == 0  # epoch 0
    for epochs in ("2", "3", "3"):  # two resumes that train, one on the finished run
        assert main(["train", "--out", str(out), "--resume", "--epochs", epochs, "--no-progress"]) == 0
    with open(out / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    epoch_rows = [r for r in rows if r.get("train/loss_epoch")]
    assert sorted(float(r["epoch"]) for r in epoch_rows) == [0.0, 1.0, 2.0]


def test_a_link_inside_an_existing_out_cannot_carry_files_out(folders, tmp_path, capsys):
    out = tmp_path / "samples"
    assert main(["sample", str(folders["vae"]), "--n", "1", "--out", str(out)]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    import shutil

    shutil.rmtree(out / "figures")
    os.symlink(elsewhere, out / "figures")  # someone swapped the figures folder for a link
    assert main(["sample", str(folders["vae"]), "--n", "1", "--out", str(out)]) == 2
    assert "outside" in _one_error_line(capsys)
    assert list(elsewhere.iterdir()) == []
