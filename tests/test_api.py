"""The top-level Python API: ``sigvae.encode/reconstruct/sample/traverse/separate/unmix``.

Each function takes a loaded model or a model folder, and arrays or paths; the results
equal the lower-level functions' (``sigvae.inference``, ``Separator.separate``,
``sigvae.unmixing.separate``) and the CLI's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

import sigvae
from conftest import write_tiny_model_folders
from sigvae.cli import main
from sigvae.errors import ConfigError, DataError, NotSupportedError

SR = 8000


def close(actual, desired):
    """Equal up to float32 rounding (a batch of another size may sum in another order)."""
    np.testing.assert_allclose(actual, desired, rtol=1e-5, atol=1e-6)

HEAVY = ("torch", "scipy", "lightning", "sklearn")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return write_tiny_model_folders(tmp_path_factory.mktemp("api"), sample_rate=SR)


def _imported_after(code: str) -> list[str]:
    """The heavy modules imported by running ``code`` in a fresh interpreter."""
    probe = code + f"\nimport sys; print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return [m for m in out.rpartition("HEAVY:")[2].strip().split(",") if m]


def test_import_sigvae_is_light_and_lists_its_api():
    assert _imported_after("import sigvae") == []
    assert {"encode", "reconstruct", "sample", "traverse", "separate", "unmix", "load", "train", "MODELS",
            "SOURCES"} <= set(sigvae.__all__)
    assert all(callable(getattr(sigvae, name)) for name in ("encode", "reconstruct", "sample", "traverse", "separate",
                                                             "unmix", "load", "train"))
    assert "separator" in sigvae.MODELS and "syntone" in sigvae.SOURCES


@pytest.mark.parametrize("command", ["unmix", "separate"])
def test_help_is_light_documented_and_has_examples(command, capsys):
    code = ("from sigvae.cli import build_parser\ntry:\n    build_parser().parse_args(["
            f"{command!r}, '--help'])\nexcept SystemExit:\n    pass")
    assert _imported_after(code) == []
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "issue" not in text.lower() and "seed 00" not in text
    for flag in ("--seed", "--no-progress", "--quiet") if command == "unmix" else ("--batch-size", "--no-progress", "--quiet"):
        assert flag in text
    from sigvae.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.choices and command in a.choices).choices[command]
    for action in sub._actions:
        if action.help and action.help != "==SUPPRESS==" and action.option_strings and action.dest != "help":
            documented = "default" in action.help or action.required or action.option_strings[0] in ("--no-progress", "--quiet")
            assert documented, f"{command} {action.option_strings[0]}: help states no default"


def test_mixture_conditions_listed_for_help_match_the_generator():
    from sigvae.commands.unmix import MIXTURE_CONDITIONS
    from sigvae.data.mixtures import CONDITIONS

    assert tuple(MIXTURE_CONDITIONS) == tuple(CONDITIONS)


def test_encode_and_reconstruct_take_arrays_paths_and_sources(folders, tmp_path):
    from sigvae.inference import encode, fit_to_model, read_input, reconstruct

    model = sigvae.load(folders["vae"])
    x = np.random.default_rng(0).standard_normal((3, 1, 1000)).astype(np.float32) * 0.1
    clips = fit_to_model(x, SR, model)  # 1000 samples → two clips of 800 each
    z = sigvae.encode(folders["vae"], x)
    assert z.shape == (6, 3) and z.dtype == np.float32
    close(z, encode(model, clips))
    close(sigvae.encode(model, x[:, 0]), z)  # [N, T]: mono signals
    close(sigvae.encode(SimpleNamespace(model=model), x, num_examples=2), z[:2])  # a train() result
    # at another rate: resampled for the model first
    close(sigvae.encode(model, x, 16000), encode(model, fit_to_model(x, 16000, model)))
    rec = sigvae.reconstruct(str(folders["vae"]), x)
    assert rec.shape == (6, 1, 800)
    np.testing.assert_allclose(rec, reconstruct(model, clips)[2], rtol=1e-6, atol=1e-7)
    # paths: an audio file (every clip), an .npz and a built-in source
    wav_clips, _ = read_input(str(folders["good_wav"]), model, max_examples=100)
    close(sigvae.encode(model, folders["good_wav"]), encode(model, wav_clips))
    np.savez(tmp_path / "x.npz", signals=x[:, 0], sample_rate=SR)
    close(sigvae.encode(model, tmp_path / "x.npz"), z)
    assert sigvae.encode(model, "syntone", num_examples=4).shape == (4, 3)
    assert sigvae.reconstruct(model, folders["good_wav"], num_examples=2).shape == (2, 1, 800)


def test_sample_and_traverse(folders):
    from sigvae.inference import fit_to_model, traverse

    model = sigvae.load(folders["vae"])
    a = sigvae.sample(folders["vae"], 3, seed=5)
    assert a.shape == (3, 1, 800) and a.dtype == np.float32
    close(a, sigvae.sample(model, 3, seed=5))
    assert not np.array_equal(a, sigvae.sample(model, 3, seed=6))
    clip = np.random.default_rng(1).standard_normal(800).astype(np.float32) * 0.1
    values, waves = sigvae.traverse(model, clip, steps=5, span=1.0)
    assert values.shape == (5,) and waves.shape == (3, 5, 1, 800)
    np.testing.assert_allclose(values, np.linspace(-1, 1, 5))
    close(waves, traverse(model, fit_to_model(clip[None, None], SR, model)[0], 5, 1.0)[2])
    close(sigvae.traverse(model, clip[None], steps=5, span=1.0)[1], waves)  # [C, T]
    assert sigvae.traverse(model, folders["good_wav"], steps=2, dims=[1])[1].shape == (1, 2, 1, 800)
    assert sigvae.traverse(folders["vae"], steps=3)[1].shape == (3, 3, 1, 800)  # from the prior mean


def _wav_int16(path) -> np.ndarray:
    return sf.read(path, dtype="int16", always_2d=True)[0].astype(int)


@pytest.mark.parametrize("rate,channels", [(SR, 1), (SR, 2), (16000, 2)])
def test_separate_matches_the_cli(folders, tmp_path, rate, channels):
    """The model-rate file is streamed by the CLI (equal to one 16-bit step), the other resampled in memory."""
    from sigvae.io import write_wav

    t = np.arange(int(1.3 * rate)) / rate
    audio = np.stack([0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * (700 + 200 * c) * t)
                      for c in range(channels)]).astype(np.float32)
    wav = tmp_path / "mix.wav"
    sf.write(wav, audio.T, rate, subtype="FLOAT")
    out = tmp_path / "cli"
    assert main(["separate", str(folders["separator"]), str(wav), "--out", str(out), "--chunk-seconds", "0.5",
                 "--overlap-seconds", "0.125", "--batch-size", "3", "--quiet"]) == 0
    est = sigvae.separate(folders["separator"], wav, chunk_seconds=0.5, overlap_seconds=0.125, batch_size=3)
    assert est.shape == (2, channels, len(t)) and est.dtype == np.float32
    from_array = sigvae.separate(sigvae.load(folders["separator"]), audio, rate, chunk_seconds=0.5,
                                 overlap_seconds=0.125, batch_size=3)
    np.testing.assert_array_equal(from_array, est)
    names = json.loads((out / "separation.json").read_text())["sources"]
    for k, name in enumerate(names):
        write_wav(tmp_path / f"api_{name}.wav", est[k], rate)
        got, want = _wav_int16(out / f"{name}.wav"), _wav_int16(tmp_path / f"api_{name}.wav")
        assert got.shape == want.shape == (len(t), channels)
        assert np.abs(got - want).max() <= 1
    if rate == SR:  # at the model's rate the estimates add up to the mixture
        np.testing.assert_allclose(est.sum(0), audio, atol=1e-4)


def test_separate_takes_mono_arrays_and_refuses_bad_input(folders):
    sep = sigvae.load(folders["separator"])
    wave = (0.2 * np.sin(np.arange(3000) * 0.03)).astype(np.float32)
    np.testing.assert_array_equal(sigvae.separate(sep, wave), sigvae.separate(sep, wave[None]))
    with pytest.raises(NotSupportedError, match="does not separate"):
        sigvae.separate(folders["vae"], wave)
    with pytest.raises(DataError, match="NaN"):
        sigvae.separate(sep, np.full(100, np.nan))
    with pytest.raises(ConfigError, match="sample_rate"):
        sigvae.separate(sep, folders["good_wav"], 16000)
    with pytest.raises(ConfigError, match="overlap_seconds"):
        sigvae.separate(sep, wave, overlap_seconds=3.0, chunk_seconds=1.0)
    with pytest.raises(ConfigError, match="loaded sigvae model"):
        sigvae.encode(42, wave)
    with pytest.raises(DataError, match="real numbers"):
        sigvae.encode(folders["vae"], np.array(["a", "b"]))


def _toy_mixture(length: int = 4000):
    t = np.arange(length) / 1000
    sources = np.stack([np.sin(2 * np.pi * 3 * t), np.sign(np.sin(2 * np.pi * 7 * t + 1)), ((5.3 * t) % 1) * 2 - 1])
    mixing = np.array([[1.0, 0.5, 0.3], [0.2, 1.0, 0.6], [0.4, 0.1, 1.0]])
    return sources, mixing, mixing @ sources


def test_unmix_fastica_recovers_sources(tmp_path):
    from sigvae.metrics import mcc
    from sigvae.unmixing import separate

    sources, mixing, x = _toy_mixture()
    result = sigvae.unmix(x, 3, method="fastica")
    assert result.sources.shape == (3, 4000) and result.unmixing.shape == (3, 3)
    assert mcc(sources, result.sources) > 0.9
    np.testing.assert_array_equal(result.sources, separate(x, "fastica", 3).sources)  # the same as the library's
    assert sigvae.unmix(x[:2], method="pca").sources.shape == (2, 4000)  # K defaults to the channels
    np.savez(tmp_path / "mix.npz", mixtures=x, sources=sources, sample_rate=1000)
    from_file = sigvae.unmix(tmp_path / "mix.npz", method="fastica")  # K from the file's sources
    np.testing.assert_array_equal(from_file.sources, result.sources)
    assert sigvae.unmix("periodic:sources=2,length=1000", method="sobi").sources.shape == (2, 1000)
    with pytest.raises(ConfigError, match="exceeds"):
        sigvae.unmix(x, 4)
    with pytest.raises(DataError, match="channels, samples"):
        sigvae.unmix(x[0])


def test_unmix_api_equals_the_cli(tmp_path):
    _, _, x = _toy_mixture(1500)
    np.savez(tmp_path / "mix.npz", mixtures=x, sample_rate=1000)
    assert main(["unmix", str(tmp_path / "mix.npz"), "--method", "sobi", "--seed", "3", "--quiet",
                 "--out", str(tmp_path / "out")]) == 0
    written = np.load(tmp_path / "out" / "sources.npz")["sources"]
    np.testing.assert_allclose(sigvae.unmix(x, method="sobi", seed=3).sources.astype(np.float32), written)


def test_quiet_and_old_batch_spelling(folders, tmp_path, capsys):
    assert main(["separate", str(folders["separator"]), str(folders["good_wav"]), "--out", str(tmp_path / "a"),
                 "--batch", "1"]) == 0
    assert "separated" in capsys.readouterr().out
    assert main(["separate", str(folders["separator"]), str(folders["good_wav"]), "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    assert main(["unmix", "periodic:length=500", "--quiet", "--out", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out == ""
    assert main(["unmix", "periodic", "--batch-size", "4", "--out", str(tmp_path / "d")]) == 2  # VAE methods only
    assert "--batch-size" in capsys.readouterr().err
