"""``sigvae reconstruct``, ``sample`` and ``traverse``: every input by default, outputs named
after the inputs, the shared flags (old spellings hidden), and one line on resampling."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import TINY_MODEL
from sigvae.cli import main

LENGTH, RATE = 800, 8000


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from sigvae.modelfile import save_model
    from sigvae.models import build_model

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("generate")
    save_model(build_model("vae", {**TINY_MODEL, "length": LENGTH, "sample_rate": RATE}), root / "run", {"model": "vae"})
    return root / "run"


def _wav(path, frames: int, rate: int = RATE, channels: int = 1):
    x = 0.1 * np.sin(np.arange(frames) * 0.05)
    sf.write(path, np.stack([x] * channels, 1) if channels > 1 else x, rate)
    return path


def _wavs(out) -> list[str]:
    return sorted(p.name for p in out.glob("*.wav"))


def test_reconstruct_writes_every_clip_named_after_its_file(run, tmp_path, capsys):
    """12 one-clip files → 12 pairs (no hidden cap of 8), each named after its file."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(12):
        _wav(folder / f"take {i:02d}.wav", LENGTH)
    assert main(["reconstruct", str(run), str(folder), "--out", str(tmp_path / "rec")]) == 0
    names = _wavs(tmp_path / "rec")
    assert len(names) == 24 and "take 00_original.wav" in names and "take 11_reconstruction.wav" in names
    assert "of 12 clips" in capsys.readouterr().out
    # --num-examples caps the clips; --max-examples is its old spelling.
    for flag in ("--num-examples", "--max-examples"):
        out = tmp_path / f"rec{flag}"
        assert main(["reconstruct", str(run), str(folder), flag, "3", "--out", str(out), "--quiet"]) == 0
        assert _wavs(out) == [f"take {i:02d}_{kind}.wav" for i in range(3) for kind in ("original", "reconstruction")]
    assert capsys.readouterr().out == ""


def test_reconstruct_names_several_clips_and_disambiguates(run, tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    _wav(folder / "a.wav", 2 * LENGTH + 10)  # 3 clips
    _wav(folder / "b.flac", LENGTH)
    _wav(folder / "B.wav", LENGTH)  # the same stem as b.flac on a case-insensitive disk
    assert main(["reconstruct", str(run), str(folder), "--out", str(tmp_path / "rec")]) == 0
    stems = sorted({n.rsplit("_", 1)[0] for n in _wavs(tmp_path / "rec")})
    assert stems == ["B", "a_000", "a_001", "a_002", "b_2"]  # files sorted by name: B.wav, a.wav, b.flac


def test_reconstruct_of_an_npz_uses_its_names_or_the_index(run, tmp_path):
    npz = tmp_path / "sig.npz"
    np.savez(npz, signals=np.zeros((3, LENGTH), np.float32) + 0.1, sample_rate=np.int64(RATE))
    assert main(["reconstruct", str(run), str(npz), "--out", str(tmp_path / "a")]) == 0
    assert _wavs(tmp_path / "a")[::2] == ["000_original.wav", "001_original.wav", "002_original.wav"]
    np.savez(npz, signals=np.zeros((3, LENGTH), np.float32), sample_rate=np.int64(RATE),
             names=np.array(["../../up", "x/y", "..."]))
    assert main(["reconstruct", str(run), str(npz), "--out", str(tmp_path / "b")]) == 0
    # Made safe by sigvae.io.safe_name; a name with nothing usable keeps its index.
    assert _wavs(tmp_path / "b")[::2] == ["002_original.wav", "up_original.wav", "x_y_original.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "sig.npz"]


def test_reconstruct_says_once_what_was_resampled(run, tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(4):
        _wav(folder / f"{i}.wav", 1600, rate=16000, channels=2)
    assert main(["reconstruct", str(run), str(folder), "--out", str(tmp_path / "rec")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sigvae: 4 files at 16000 Hz resampled to 8000 Hz; 4 stereo files mixed down to mono"
    assert sum("resampled" in line for line in out) == 1


@pytest.mark.parametrize("argv", [
    ["sample", "RUN", "--num-examples", "2", "--seed", "1"],
    ["sample", "RUN", "--n", "2", "--seed", "1"],
    ["traverse", "RUN", "--steps", "2", "--seed", "1"],
    ["reconstruct", "RUN", "syntone", "--num-examples", "2", "--batch-size", "1", "--seed", "1"],
    ["embed", "RUN", "syntone", "--num-examples", "2", "--batch", "1"],
])
@pytest.mark.parametrize("flag", ["--no-progress", "--quiet"])
def test_every_command_takes_the_progress_flags(run, tmp_path, capsys, argv, flag):
    out = tmp_path / ("o.npz" if argv[0] == "embed" else "o")
    assert main([str(run) if a == "RUN" else a for a in argv] + [flag, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (printed == "") == (flag == "--quiet"), printed


def test_sample_old_and_new_spellings_agree(run, tmp_path):
    assert main(["sample", str(run), "--n", "3", "--seed", "4", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["sample", str(run), "--num-examples", "3", "--seed", "4", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    for name in ("sample_000.wav", "sample_002.wav"):
        assert np.array_equal(sf.read(tmp_path / "a" / name)[0], sf.read(tmp_path / "b" / name)[0])


def test_help_lists_every_option_with_a_default_and_examples(capsys):
    for command in ("reconstruct", "sample", "traverse", "embed"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text and f"sigvae {command} " in text.split("examples:")[1]
        assert "--max-examples" not in text and "--n " not in text and "--batch " not in text
        options = text.split("options:")[1].split("examples:")[0]
        for flag in ("--num-examples", "--batch-size", "--seed", "--steps", "--span"):
            if flag in options:
                assert "default" in options.split(flag, 1)[1].split("\n  -")[0], (command, flag)
