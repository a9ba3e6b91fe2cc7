"""Streamed embedding of a long recording (issue 9): blockwise reads, same answer as in one go."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

import sigvae.inference as inference
from conftest import TINY_MODEL
from sigvae.cli import main
from sigvae.inference import embed_batches, fit_to_model, iter_audio_clips

LENGTH = 800  # samples per clip of the test models


def _noise_wav(path, seconds: float, rate: int, channels: int, subtype: str = "FLOAT", seed: int = 0):
    """Write ``seconds`` of band-limited-looking noise (a sine times noise) and return it as read back, [C, T]."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate) + 7  # not a whole number of clips: the last one is padded
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * 330 * t)[:, None] * (1 + 0.5 * rng.standard_normal((n, channels)))
    sf.write(path, np.clip(x, -1, 1).astype(np.float32), rate, subtype=subtype)
    y, _ = sf.read(path, dtype="float32", always_2d=True)
    return y.T


def _vae(rate: int, channels: int = 1):
    from sigvae.models import build_model

    torch.manual_seed(0)
    return build_model("vae", {**TINY_MODEL, "length": LENGTH, "sample_rate": rate, "in_channels": channels})


@pytest.mark.parametrize(("file_rate", "model_rate", "file_ch", "model_ch", "subtype"), [
    (8000, 8000, 1, 1, "FLOAT"),     # no resampling
    (16000, 8000, 2, 1, "FLOAT"),    # downsampling, stereo mixed down after resampling
    (44100, 16000, 1, 1, "PCM_16"),  # up = 160, down = 441: blocks start on multiples of 441
    (11025, 8000, 2, 2, "FLOAT"),    # stereo model
    (8000, 22050, 1, 1, "PCM_24"),   # upsampling
])
@pytest.mark.parametrize("block", [1000, 4410, 1 << 18])
def test_clips_cut_block_by_block_equal_fit_to_model_of_the_whole_file(tmp_path, file_rate, model_rate, file_ch,
                                                                       model_ch, subtype, block):
    """Bitwise: every block is resampled with margins wider than the filter, starting on a
    multiple of the polyphase ``down`` factor, so each output sample sums the same taps in the
    same order as resample_poly of the whole file."""
    wav = tmp_path / "x.wav"
    audio = _noise_wav(wav, 3.3, file_rate, file_ch, subtype)
    model = _vae(model_rate, model_ch)
    whole = fit_to_model(audio[None], file_rate, model)
    got = np.concatenate(list(iter_audio_clips(wav, model, batch=5, block=block)))
    assert got.dtype == np.float32 and got.shape == whole.shape
    assert np.array_equal(got, whole)
    first = np.concatenate(list(iter_audio_clips(wav, model, max_clips=7, batch=3, block=block)))
    assert np.array_equal(first, whole[:7])


def _record_reads(monkeypatch) -> list[tuple[int, int]]:
    """Wrap the block reader; returns the list it appends (start, frames) of every read to."""
    reads: list[tuple[int, int]] = []
    real = inference.read_audio_block

    def spy(f, start, frames):
        reads.append((start, frames))
        return real(f, start, frames)

    monkeypatch.setattr(inference, "read_audio_block", spy)
    return reads


def test_cli_embed_reads_a_long_file_in_blocks_and_embeds_all_of_it(tmp_path, monkeypatch):
    """60 s at 16 kHz for an 8 kHz model, 4096-frame blocks: no read larger than a block plus
    its two resampling margins (2 × 22 frames here), the reads cover the file once (the
    margins aside), and every clip is embedded by default."""
    from sigvae.modelfile import save_model

    wav = tmp_path / "long.wav"
    audio = _noise_wav(wav, 60, 16000, 1, "PCM_16")
    model = _vae(8000)
    save_model(model, tmp_path / "run", {"model": "vae"})
    monkeypatch.setattr(inference, "BLOCK_FRAMES", 4096)
    reads = _record_reads(monkeypatch)
    out = tmp_path / "emb.npz"
    assert main(["embed", str(tmp_path / "run"), str(wav), "--out", str(out), "--batch-size", "16"]) == 0
    n_clips = -(-(audio.shape[1] // 2 + 1) // LENGTH)  # 8 kHz samples: ceil(T / 2), then ceil(/ 800)
    assert np.load(out)["embedding"].shape == (n_clips, 3) and n_clips == 601
    margin = 22  # (10 · max(up, down) // up + 2) rounded up to a multiple of down; up = 1, down = 2
    assert max(frames for _, frames in reads) == 4096 + 2 * margin
    assert len(reads) == -(-audio.shape[1] // 4096)
    starts = [s + (margin if s else 0) for s, _ in reads]
    assert starts == list(range(0, audio.shape[1], 4096))


def test_max_examples_stops_reading_after_its_clips(tmp_path, monkeypatch):
    """Three clips of a 60 s file (no resampling): one block read, not the file."""
    wav = tmp_path / "long.wav"
    _noise_wav(wav, 60, 8000, 1)
    reads = _record_reads(monkeypatch)
    clips = np.concatenate(list(iter_audio_clips(wav, _vae(8000), max_clips=3, block=4000)))
    assert clips.shape == (3, 1, LENGTH) and reads == [(0, 4000)]


def _separator(rate: int):
    from sigvae.models import build_model

    torch.manual_seed(0)
    return build_model("separator", {"length": LENGTH, "sample_rate": rate, "channels": [4, 4], "latent_channels": 2,
                                     "dilations": [1], "n_fft": 128, "hop_length": 32})


def _decvae(rate: int):
    from sigvae.models import build_model

    torch.manual_seed(0)
    return build_model("decvae", {"length": LENGTH, "sample_rate": rate, "hidden": [16], "proj_dim": 8, "seq_channels": 8,
                                  "n_mels": 16, "n_fft": 256, "z_dim": 2, "s_dim": 2, "dist_dim": 8})


@pytest.mark.parametrize("kind", ["vae", "decvae", "separator"])
def test_cli_embed_in_chunks_equals_embedding_in_one_go(tmp_path, monkeypatch, kind):
    """`sigvae embed` of a file (streamed: 3000-frame blocks, batches of 3 clips) against
    ``embed_batches`` on every clip of the whole file in a single batch.

    The clips are bitwise equal (first test); the latents must agree to 1e-5 relative,
    1e-6 absolute: a batch of 3 and a batch of all clips may take different kernel paths
    (summation order) in the convolutions and matrix products. Observed on CPU: 0 for the
    VAE and DecVAE, 7.5e-9 for the separator.
    """
    from sigvae.modelfile import load, save_model

    rate = 8000
    model = {"vae": _vae, "decvae": _decvae, "separator": _separator}[kind](rate)
    save_model(model, tmp_path / "run", {"model": kind})
    model = load(tmp_path / "run")
    wav = tmp_path / "rec.wav"
    audio = _noise_wav(wav, 2.1, 16000, 1)  # resampled 16 → 8 kHz: 16,804 samples, 22 clips
    monkeypatch.setattr(inference, "BLOCK_FRAMES", 3000)
    out = tmp_path / "emb.npz"
    assert main(["embed", str(tmp_path / "run"), str(wav), "--out", str(out), "--batch-size", "3"]) == 0
    got = dict(np.load(out))
    want = embed_batches(model, [fit_to_model(audio[None], 16000, model)])
    assert len(want["embedding"]) == 22
    if kind == "decvae":
        assert {"frame_mean", "frame_logvar", "frame_valid", "utterance_mean", "utterance_logvar"} <= set(want)
        assert list(got["subspaces"]) == ["X", "C1", "C2", "C3"]
    for key, value in want.items():
        assert got[key].shape == value.shape, key
        if value.dtype == bool:
            assert np.array_equal(got[key], value), key
        else:
            np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    assert int(got["sample_rate"]) == rate and not list(tmp_path.glob(".emb.npz*"))


def test_num_examples_limits_a_recording_and_defaults_to_every_clip_of_a_file(tmp_path):
    """--num-examples (old spelling --max-examples) caps the clips; by default every clip of
    an audio file or .npz is embedded, and 64 of a built-in source."""
    from sigvae.modelfile import save_model

    save_model(_vae(8000), tmp_path / "run", {"model": "vae"})
    wav = tmp_path / "rec.wav"
    _noise_wav(wav, 1.0, 8000, 1)  # 11 clips
    assert main(["embed", str(tmp_path / "run"), str(wav), "--out", str(tmp_path / "a.npz")]) == 0
    assert np.load(tmp_path / "a.npz")["embedding"].shape == (11, 3)
    for flag in ("--num-examples", "--max-examples"):
        assert main(["embed", str(tmp_path / "run"), str(wav), "--out", str(tmp_path / "b.npz"), flag, "4",
                     "--overwrite"]) == 0
        assert np.load(tmp_path / "b.npz")["embedding"].shape == (4, 3)
    npz = tmp_path / "sig.npz"
    np.savez(npz, signals=np.zeros((70, LENGTH), np.float32) + 0.1, sample_rate=np.int64(8000))
    assert main(["embed", str(tmp_path / "run"), str(npz), "--out", str(tmp_path / "c.npz")]) == 0
    assert np.load(tmp_path / "c.npz")["embedding"].shape == (70, 3)
    assert main(["embed", str(tmp_path / "run"), "syntone", "--out", str(tmp_path / "d.npz"), "--quiet"]) == 0
    assert np.load(tmp_path / "d.npz")["embedding"].shape == (64, 3)


def test_embed_stores_the_file_and_the_time_of_every_row(tmp_path, capsys):
    """A folder: each file is cut on its own (a short file gives only its own clips, none
    padded to the longest), and every row names its file and the seconds it covers."""
    from sigvae.modelfile import save_model

    save_model(_vae(8000), tmp_path / "run", {"model": "vae"})
    folder = tmp_path / "clips"
    folder.mkdir()
    _noise_wav(folder / "long.wav", 0.25, 8000, 1)  # 2007 samples: clips at 0, 0.1, 0.2 s
    _noise_wav(folder / "short.wav", 0.05, 8000, 1)  # 407 samples: one clip
    out = tmp_path / "e.npz"
    assert main(["embed", str(tmp_path / "run"), str(folder), "--out", str(out), "--batch-size", "2"]) == 0
    z = np.load(out)
    assert z["embedding"].shape == (4, 3)
    assert list(z["names"]) == ["long.wav", "long.wav", "long.wav", "short.wav"]
    np.testing.assert_allclose(z["start_seconds"], [0, 0.1, 0.2, 0])
    np.testing.assert_allclose(z["end_seconds"], [0.1, 0.2, 2007 / 8000, 407 / 8000])
    assert z["start_seconds"].dtype == np.float64
    # The same clips as each file embedded alone.
    alone = np.load(_embed_one(tmp_path, folder / "long.wav"))["embedding"]
    np.testing.assert_allclose(z["embedding"][:3], alone, rtol=1e-5, atol=1e-6)
    # An .npz: its own 'names' where it has them, else FILE.npz[i]; times within each signal.
    npz = tmp_path / "sig.npz"
    np.savez(npz, signals=np.zeros((2, 1000), np.float32) + 0.1, sample_rate=np.int64(8000))
    assert main(["embed", str(tmp_path / "run"), str(npz), "--out", str(tmp_path / "n.npz")]) == 0
    z = np.load(tmp_path / "n.npz")
    assert list(z["names"]) == ["sig.npz[0]", "sig.npz[0]", "sig.npz[1]", "sig.npz[1]"]
    np.testing.assert_allclose(z["end_seconds"], [0.1, 0.125, 0.1, 0.125])
    np.savez(npz, signals=np.zeros((2, 800), np.float32), sample_rate=np.int64(8000), names=np.array(["x", "y"]))
    assert main(["embed", str(tmp_path / "run"), str(npz), "--out", str(tmp_path / "m.npz")]) == 0
    assert list(np.load(tmp_path / "m.npz")["names"]) == ["x", "y"]
    # A built-in source has no files: no names or times.
    assert main(["embed", str(tmp_path / "run"), "syntone", "--num-examples", "2", "--out", str(tmp_path / "s.npz")]) == 0
    assert "names" not in np.load(tmp_path / "s.npz").files


def _embed_one(tmp_path, wav):
    out = tmp_path / f"one-{wav.stem}.npz"
    assert main(["embed", str(tmp_path / "run"), str(wav), "--out", str(out)]) == 0
    return out


def test_npz_names_of_the_wrong_shape_are_refused(tmp_path, capsys):
    from sigvae.modelfile import save_model

    save_model(_vae(8000), tmp_path / "run", {"model": "vae"})
    npz = tmp_path / "sig.npz"
    np.savez(npz, signals=np.zeros((2, 800), np.float32), sample_rate=np.int64(8000), names=np.array(["only one"]))
    assert main(["embed", str(tmp_path / "run"), str(npz), "--out", str(tmp_path / "e.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'names' must be a 1-D array of text with one entry per signal (2)" in err[0]
    assert not (tmp_path / "e.npz").exists()


def test_resampling_and_mixing_down_are_said_once(tmp_path, capsys):
    """One line for the whole folder, not one per file; --quiet silences it."""
    from sigvae.modelfile import save_model

    save_model(_vae(8000), tmp_path / "run", {"model": "vae"})
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(3):
        _noise_wav(folder / f"{i}.wav", 0.05, 16000, 2, seed=i)
    assert main(["embed", str(tmp_path / "run"), str(folder), "--out", str(tmp_path / "a.npz")]) == 0
    out = capsys.readouterr().out
    line = "sigvae: 3 files at 16000 Hz resampled to 8000 Hz; 3 stereo files mixed down to mono"
    assert out.count(line) == 1 and out.count("sigvae: ") == 1, out
    assert main(["embed", str(tmp_path / "run"), str(folder), "--out", str(tmp_path / "b.npz"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    # At the model's rate and channel count: nothing to say.
    wav = tmp_path / "ok.wav"
    _noise_wav(wav, 0.2, 8000, 1)
    assert main(["embed", str(tmp_path / "run"), str(wav), "--out", str(tmp_path / "c.npz")]) == 0
    assert "resampled" not in capsys.readouterr().out


def test_conversion_describes_counts():
    from sigvae.data.audio import Conversion

    c = Conversion(16000, 1)
    assert not c and c.describe() is None
    for rate, ch in [(44100, 2)] * 12 + [(22050, 1), (16000, 4)]:
        c.add(rate, ch)
    assert c.describe() == ("12 files at 44100 Hz and 1 at 22050 Hz resampled to 16000 Hz; "
                            "12 stereo files and 1 file of 4 channels mixed down to mono")
    s = Conversion(8000, 1, "signal")
    s.add(16000, 1, count=1)
    assert s.describe() == "1 signal at 16000 Hz resampled to 8000 Hz"


@pytest.mark.parametrize("block", [1 << 18, 1000])
def test_audio_cut_short_is_refused_with_one_line(tmp_path, capsys, monkeypatch, block):
    """A FLAC cut in half (its header still promises 10 s) exits 2 with one line naming the
    file — with the whole file in one block and with 1000-frame blocks, where the decoder
    fails after some blocks were read — and leaves no output. (A cut WAV is not such a
    case: libsndfile shortens its frame count to the data present.)"""
    from sigvae.modelfile import save_model

    save_model(_vae(8000), tmp_path / "run", {"model": "vae"})
    flac = tmp_path / "cut.flac"
    sf.write(flac, (0.3 * np.random.default_rng(0).standard_normal(80000)).astype(np.float32), 8000)
    data = flac.read_bytes()
    flac.write_bytes(data[: len(data) // 2])
    assert sf.info(str(flac)).frames == 80000
    monkeypatch.setattr(inference, "BLOCK_FRAMES", block)
    out = tmp_path / "e.npz"
    assert main(["embed", str(tmp_path / "run"), str(flac), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cut.flac: cannot be read as audio (Error : flac decoder lost sync.)" in err[0], err
    assert not out.exists() and not list(tmp_path.glob(".e.npz*"))


def test_block_reader_refuses_short_reads_and_nan():
    """Where a decoder returns fewer frames than its header promised (no error), or NaN/inf
    (a float WAV can hold them), the block reader raises DataError naming the file."""
    from sigvae.errors import DataError

    class Stub:  # the part of soundfile.SoundFile the reader uses
        name, frames = "stub.wav", 100

        def __init__(self, data):
            self.data, self.pos = data, 0

        def seek(self, pos):
            self.pos = pos

        def read(self, n, dtype, always_2d):
            return self.data[self.pos : self.pos + n]

    ok = np.zeros((60, 1), np.float32)
    assert inference.read_audio_block(Stub(ok), 10, 50).shape == (1, 50)
    with pytest.raises(DataError, match=r"stub.wav: audio data ends at frame 60, but the header promises 100 frames"):
        inference.read_audio_block(Stub(ok), 10, 80)
    bad = ok.copy()
    bad[30] = np.inf
    with pytest.raises(DataError, match="stub.wav: contains NaN or inf samples"):
        inference.read_audio_block(Stub(bad), 0, 60)


def test_encode_takes_arrays_and_tensors():
    # Interventional scores hand the encoder tensors rendered on its device, users arrays.
    model = _vae(8000)
    x = np.random.default_rng(0).standard_normal((5, 1, LENGTH)).astype(np.float32)
    a = inference.encode(model, x, batch_size=2)
    b = inference.encode(model, torch.from_numpy(x), batch_size=2)
    assert a.shape == (5, model.latent_dim) and a.dtype == np.float32
    assert np.array_equal(a, b)


def test_audio_folder_conversion_counts_from_the_headers(tmp_path):
    """The facts a command (train on a folder) can print: nothing for the folder's own rate."""
    from sigvae.data.files import audio_folder_conversion

    for i in range(3):
        _noise_wav(tmp_path / f"{i}.wav", 0.05, 44100, 2, seed=i)
    assert audio_folder_conversion(tmp_path).describe() is None
    assert audio_folder_conversion(tmp_path, 16000, 1).describe() == (
        "3 files at 44100 Hz resampled to 16000 Hz; 3 stereo files mixed down to mono")
