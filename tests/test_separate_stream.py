"""Streaming separation (issue 9): bounded memory, same result as the in-memory path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from sigvae.cli import main
from sigvae.io import MANIFEST
from sigvae.separating.chunks import separate_in_chunks, separate_stream

SR = 8000


def test_separate_stream_equals_separate_in_chunks_bitwise():
    """Same chunks, weights and addition order: the streamed blocks are the in-memory result."""
    g = torch.Generator().manual_seed(0)
    wave = torch.randn(2, 5003, generator=g)
    kernel = torch.randn(3, 1, 9, generator=g)

    def fn(x):  # [B, C, n] → [B, 3, C, n]: a receptive field of ±4 samples
        b, c, n = x.shape
        y = torch.nn.functional.conv1d(x.reshape(b * c, 1, n), kernel, padding=4)
        return y.reshape(b, c, 3, n).transpose(1, 2)

    whole = separate_in_chunks(fn, wave, chunk=640, overlap=96, align=16, batch=3)
    blocks = []
    separate_stream(fn, lambda a, b: wave[:, a:b].numpy(), wave.shape[1], 640, 96, blocks.append, align=16, batch=3)
    streamed = torch.cat(blocks, dim=-1)
    assert streamed.shape == whole.shape and torch.equal(streamed, whole)


@pytest.fixture(scope="module")
def separator(tmp_path_factory):
    from sigvae.modelfile import save_model
    from sigvae.models import build_model

    folder = tmp_path_factory.mktemp("stream") / "separator"
    model = build_model("separator", {"length": 4000, "sample_rate": SR, "channels": [4, 4], "latent_channels": 2,
                                      "dilations": [1], "n_fft": 128, "hop_length": 32})
    save_model(model, folder, {"model": "separator"})
    return folder


@pytest.mark.parametrize("channels", [1, 2])
def test_cli_streaming_matches_in_memory_separation(channels, separator, tmp_path):
    """`sigvae separate` streams the file; its WAVs match Separator.separate on the whole file.

    Tolerance: one 16-bit step. The streamed RMS (which sets the model's input scale) is
    summed in float64 block by block, the in-memory one by torch in float32, so the scale
    may differ in its last bit.
    """
    from sigvae.io import write_wav
    from sigvae.modelfile import load

    t = np.arange(int(2.7 * SR)) / SR
    audio = np.stack([0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * (900 + 300 * c) * t)
                      for c in range(channels)], axis=1).astype(np.float32)
    wav = tmp_path / "mix.wav"
    sf.write(wav, audio, SR, subtype="FLOAT")
    out = tmp_path / "out"
    assert main(["separate", str(separator), str(wav), "--out", str(out), "--chunk-seconds", "1",
                 "--overlap-seconds", "0.25", "--batch", "2"]) == 0
    doc = json.loads((out / "separation.json").read_text())
    assert doc["streamed"] is True and doc["channels"] == channels
    # (the output's manifest, .sigvae-output.json, is the one hidden file meant to stay)
    assert not [p for p in out.glob(".*") if p.name != MANIFEST], "raw temporary files left in the output"
    model = load(separator)
    x, _ = sf.read(wav, dtype="float32", always_2d=True)
    ref = np.stack([model.separate(x.T[c:c + 1], chunk_seconds=1.0, overlap_seconds=0.25, batch_size=2)[:, 0] for c in range(channels)], axis=1)  # [K, C, T]
    for k, name in enumerate(model.config.names):
        write_wav(tmp_path / f"ref_{name}.wav", ref[k], SR)
        got, _ = sf.read(out / f"{name}.wav", dtype="int16", always_2d=True)
        want, _ = sf.read(tmp_path / f"ref_{name}.wav", dtype="int16", always_2d=True)
        assert got.shape == want.shape == (len(t), channels)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_read_input_reads_only_the_clips_it_returns(tmp_path):
    """reconstruct of a long file: the first clips equal those cut from the whole file, bitwise."""
    from conftest import TINY_MODEL
    from sigvae.inference import fit_to_model, read_input
    from sigvae.models import build_model

    model = build_model("vae", {**TINY_MODEL, "length": 800, "sample_rate": SR})
    t = np.arange(6 * 16000) / 16000  # 6 s at 16 kHz: resampled to the model's 8 kHz
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 0.5 * t)).astype(np.float32)
    wav = tmp_path / "long.wav"
    sf.write(wav, x, 16000, subtype="FLOAT")
    clips, _ = read_input(str(wav), model, max_examples=3)
    whole = fit_to_model(x[None, None], 16000, model)
    assert clips.shape == (3, 1, 800) and whole.shape[0] == 60
    assert np.array_equal(clips, whole[:3])  # bitwise: see tests/test_embed_stream.py
