"""Bad input across every command (issue 9): one line on stderr, exit 2, nothing left behind.

Every CLI case runs ``sigvae.cli.main`` in-process and checks that

- the exit status is 2,
- stderr is exactly one line that starts with ``sigvae: error:`` and names the problem
  (the file or key, and what was expected where that applies),
- the ``--out`` location does not exist afterwards and no staging/temporary files were
  left beside it.

API cases check that the loaders raise a specific subclass of :class:`SigvaeError`.
Model folders are built with :func:`build_model` + :func:`save_model` (untrained: these
tests exercise input checks, not learning), so the whole file runs in seconds.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import save_npz as _write_npz
from conftest import small_signals as _signals
from conftest import write_tiny_model_folders
from sigvae.cli import main
from sigvae.errors import ConfigError, DataError, ModelFileError, SigvaeError, UnknownNameError

SR = 8000


# ------------------------------------------------------------------------------------
# Fixtures: tiny untrained model folders and a few files, written once per module.


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Model folders and input files shared by the CLI cases (read-only for them)."""
    return write_tiny_model_folders(tmp_path_factory.mktemp("hardening"), SR)


def _truncated_wav(path: Path) -> Path:
    """A WAV whose header promises more data than the file holds, cut inside the header."""
    buf = Path(str(path) + ".full.wav")
    sf.write(buf, np.zeros(4000, np.float32), SR)
    path.write_bytes(buf.read_bytes()[:30])
    buf.unlink()
    return path


def _corrupt_flac(path: Path) -> Path:
    path.write_bytes(b"fLaC" + bytes(range(256)) * 4)
    return path


def _empty_wav(path: Path) -> Path:
    sf.write(path, np.zeros((0, 1), np.float32), SR)
    return path


def _folder_with(tmp: Path, name: str, make) -> Path:
    folder = tmp / "audio"
    folder.mkdir()
    sf.write(folder / "a.wav", np.zeros(800, np.float32) + 0.1, SR)
    make(folder / name)
    return folder


def _yaml(tmp: Path, text: str) -> Path:
    p = tmp / "cfg.yaml"
    p.write_text(text)
    return p


def _model_copy(files, tmp: Path, which: str = "vae") -> Path:
    import shutil

    dst = tmp / f"{which}-copy"
    shutil.copytree(files[which], dst)
    return dst


def _edit_config(folder: Path, **changes) -> Path:
    doc = json.loads((folder / "config.json").read_text())
    doc.update(changes)
    (folder / "config.json").write_text(json.dumps(doc))
    return folder


# ------------------------------------------------------------------------------------
# CLI cases: (id, build(tmp, files) -> (argv, needles)). ``OUT`` in argv is replaced by
# the output location that must not exist afterwards.

# Few, short examples: cases that fail after the data is drawn stay fast.
TRAIN = ["train", "vae", "--no-progress", "--epochs", "1", "--num-examples", "8", "--duration", "0.05", "--out", "OUT"]


def _npz_case(**arrays):
    def build(tmp, files):
        return TRAIN + ["--data", str(_write_npz(tmp / "d.npz", **arrays))], ["d.npz"]
    return build


CLI_CASES = {
    # ---- audio files and folders
    "train-folder-truncated-wav": lambda tmp, f: (
        TRAIN + ["--data", str(_folder_with(tmp, "b.wav", _truncated_wav))], ["b.wav", "cannot be read as audio"]),
    "train-folder-corrupt-flac": lambda tmp, f: (
        TRAIN + ["--data", str(_folder_with(tmp, "b.flac", _corrupt_flac))], ["b.flac", "cannot be read as audio"]),
    "train-folder-zero-length-wav": lambda tmp, f: (
        TRAIN + ["--data", str(_folder_with(tmp, "b.wav", _empty_wav))], ["b.wav", "empty"]),
    "train-folder-zero-byte-file": lambda tmp, f: (
        TRAIN + ["--data", str(_folder_with(tmp, "b.wav", lambda p: p.write_bytes(b"")))], ["b.wav"]),
    "train-empty-folder": lambda tmp, f: (
        TRAIN + ["--data", str((tmp / "none").mkdir() or tmp / "none")], ["none", "no audio files"]),
    "train-factor-csv-missing-row": lambda tmp, f: (
        TRAIN + ["--data", str(_folder_with(tmp, "factors.csv", lambda p: p.write_text("file,pitch\nzzz.wav,1\n")))],
        ["factors.csv", "no row", "a.wav"]),
    "train-factor-csv-bad-header": lambda tmp, f: (
        TRAIN + ["--data", str(_folder_with(tmp, "factors.csv", lambda p: p.write_text("name,pitch\na.wav,1\n")))],
        ["factors.csv", "first column must be 'file'"]),
    # ---- .npz signal files
    "train-npz-missing-signals": _npz_case(x=np.zeros(3), sample_rate=np.int64(SR)),
    "train-npz-missing-sample-rate": _npz_case(signals=_signals()),
    "train-npz-string-signals": _npz_case(signals=np.array([["a", "b"]]), sample_rate=np.int64(SR)),
    "train-npz-complex-signals": _npz_case(signals=_signals().astype(np.complex64), sample_rate=np.int64(SR)),
    "train-npz-rank-4": _npz_case(signals=np.zeros((2, 1, 1, 800), np.float32), sample_rate=np.int64(SR)),
    "train-npz-rank-1": _npz_case(signals=np.zeros(800, np.float32), sample_rate=np.int64(SR)),
    "train-npz-nan": _npz_case(signals=np.where(np.arange(800) == 5, np.nan, 0.0)[None].repeat(3, 0), sample_rate=np.int64(SR)),
    "train-npz-inf": _npz_case(signals=np.where(np.arange(800) == 5, np.inf, 0.0)[None].repeat(3, 0), sample_rate=np.int64(SR)),
    "train-npz-zero-length": _npz_case(signals=np.zeros((3, 0), np.float32), sample_rate=np.int64(SR)),
    "train-npz-no-examples": _npz_case(signals=np.zeros((0, 800), np.float32), sample_rate=np.int64(SR)),
    "train-npz-factor-rows-mismatch": _npz_case(signals=_signals(4), sample_rate=np.int64(SR), factors=np.zeros((3, 2), np.int64)),
    "train-npz-fractional-factors": _npz_case(signals=_signals(4), sample_rate=np.int64(SR), factors=np.full((4, 1), 0.5)),
    "train-npz-negative-factors": _npz_case(signals=_signals(4), sample_rate=np.int64(SR), factors=-np.ones((4, 1), np.int64)),
    "train-npz-zero-sample-rate": _npz_case(signals=_signals(), sample_rate=np.int64(0)),
    "train-npz-sample-rate-array": _npz_case(signals=_signals(), sample_rate=np.array([SR, SR])),
    "train-npz-pickled-object": _npz_case(signals=np.array([{"a": 1}], dtype=object), sample_rate=np.int64(SR)),
    "train-npz-not-a-zip": lambda tmp, f: (
        TRAIN + ["--data", str((tmp / "d.npz").write_bytes(b"not a zip at all") and tmp / "d.npz")], ["d.npz", "not a readable .npz"]),
    # ---- names, sizes and configs
    "train-unknown-model": lambda tmp, f: (["train", "no_such_model", "--out", "OUT"], ["unknown model 'no_such_model'"]),
    "train-unknown-data-source": lambda tmp, f: (TRAIN + ["--data", "nosuchsource"], ["nosuchsource", "neither a built-in source"]),
    "train-absurd-num-examples": lambda tmp, f: (
        TRAIN + ["--num-examples", "1000000000"], ["1000000000", "too large"]),
    "train-yaml-wrong-type": lambda tmp, f: (
        TRAIN + ["--config", str(_yaml(tmp, "model_config: {latent_dim: three}\n"))], ["latent_dim", "expected an integer", "three"]),
    "train-yaml-unknown-key": lambda tmp, f: (
        TRAIN + ["--config", str(_yaml(tmp, "model_config: {latnt_dim: 3}\n"))], ["latnt_dim", "unknown key"]),
    "train-yaml-negative-batch": lambda tmp, f: (
        TRAIN + ["--config", str(_yaml(tmp, "training: {batch_size: -4}\n"))], ["batch_size", "-4"]),
    "train-yaml-not-a-mapping": lambda tmp, f: (
        TRAIN + ["--config", str(_yaml(tmp, "- a\n- b\n"))], ["cfg.yaml", "must hold a mapping", "list"]),
    "train-yaml-unparsable": lambda tmp, f: (
        TRAIN + ["--config", str(_yaml(tmp, "training: {epochs: [1\n"))], ["cfg.yaml", "cannot be parsed"]),
    "train-yaml-unknown-data-option": lambda tmp, f: (
        TRAIN + ["--config", str(_yaml(tmp, "data: syntone\ndata_options: {durration: 0.1}\n"))], ["durration", "unknown key"]),
    "train-out-under-a-file": lambda tmp, f: (
        TRAIN[:-1] + [str((tmp / "afile").write_text("x") and tmp / "afile" / "run")], ["afile"]),
    # ---- model folders (security included)
    "reconstruct-model-folder-missing": lambda tmp, f: (
        ["reconstruct", str(tmp / "nomodel"), str(f["good_wav"]), "--out", "OUT"], ["nomodel", "does not exist"]),
    "reconstruct-config-not-json": lambda tmp, f: (
        ["reconstruct", str(_bad_json(f, tmp)), str(f["good_wav"]), "--out", "OUT"], ["config.json", "not valid JSON"]),
    "reconstruct-unknown-model-class": lambda tmp, f: (
        ["reconstruct", str(_edit_config(_model_copy(f, tmp), model="os.system")), str(f["good_wav"]), "--out", "OUT"],
        ["config.json", "unknown model 'os.system'"]),
    "reconstruct-weights-missing": lambda tmp, f: (
        ["reconstruct", str(_drop_weights(f, tmp)), str(f["good_wav"]), "--out", "OUT"], ["missing model.safetensors"]),
    "reconstruct-weights-wrong-shape": lambda tmp, f: (
        ["reconstruct", str(_edit_config(_model_copy(f, tmp), config={**_config(f), "latent_dim": 5})), str(f["good_wav"]), "--out", "OUT"],
        ["model.safetensors", "shape"]),
    "reconstruct-model-config-bad-value": lambda tmp, f: (
        ["reconstruct", str(_edit_config(_model_copy(f, tmp), config={**_config(f), "latent_dim": "x"})), str(f["good_wav"]), "--out", "OUT"],
        ["config.json", "latent_dim"]),
    "reconstruct-truncated-wav": lambda tmp, f: (
        ["reconstruct", str(f["vae"]), str(_truncated_wav(tmp / "t.wav")), "--out", "OUT"], ["t.wav", "cannot be read as audio"]),
    "reconstruct-empty-wav": lambda tmp, f: (
        ["reconstruct", str(f["vae"]), str(_empty_wav(tmp / "e.wav")), "--out", "OUT"], ["e.wav", "empty"]),
    "sample-zero-n": lambda tmp, f: (["sample", str(f["vae"]), "--n", "0", "--out", "OUT"], ["--n", "positive integer", "0"]),
    "traverse-negative-steps": lambda tmp, f: (["traverse", str(f["vae"]), "--steps", "-2", "--out", "OUT"], ["--steps", "-2"]),
    # ---- embed
    "embed-out-not-npz": lambda tmp, f: (["embed", str(f["vae"]), str(f["good_wav"]), "--out", "OUT.txt"], ["must end in .npz"]),
    "embed-npz-nan": lambda tmp, f: (
        ["embed", str(f["vae"]), str(_write_npz(tmp / "n.npz", signals=np.full((2, 800), np.nan), sample_rate=np.int64(SR))),
         "--out", "OUT.npz"], ["n.npz", "NaN"]),
    # ---- unmix
    "unmix-unknown-method": lambda tmp, f: (["unmix", "periodic", "--method", "magic", "--out", "OUT"], ["magic", "unknown"]),
    "unmix-npz-missing-mixtures": lambda tmp, f: (
        ["unmix", str(_write_npz(tmp / "m.npz", x=np.zeros((2, 100)))), "--out", "OUT"], ["m.npz", "missing key 'mixtures'"]),
    "unmix-mixtures-nan": lambda tmp, f: (
        ["unmix", str(_write_npz(tmp / "m.npz", mixtures=np.full((2, 100), np.nan))), "--out", "OUT"], ["m.npz", "NaN"]),
    "unmix-too-many-sources": lambda tmp, f: (
        ["unmix", "periodic:sources=2", "--n-sources", "3", "--out", "OUT"], ["--n-sources 3", "2 mixture channels"]),
    "unmix-reference-wrong-length": lambda tmp, f: (
        ["unmix", "periodic:sources=2", "--reference", str(_write_npz(tmp / "r.npz", sources=np.ones((2, 7)))), "--out", "OUT"],
        ["r.npz", "'sources' must be [S, 4000]", "(2, 7)"]),
    "unmix-silent-reference": lambda tmp, f: (
        ["unmix", "periodic:sources=2", "--reference", str(_write_npz(tmp / "r.npz", sources=np.zeros((2, 4000)))), "--out", "OUT"],
        ["r.npz", "silent"]),
    "unmix-bad-spec-option": lambda tmp, f: (["unmix", "periodic:sources=-1", "--out", "OUT"], ["sources", "-1"]),
    # ---- separate
    "separate-not-a-separator": lambda tmp, f: (
        ["separate", str(f["vae"]), str(f["good_wav"]), "--out", "OUT"], ["'vae' does not separate"]),
    "separate-missing-input": lambda tmp, f: (
        ["separate", str(f["separator"]), str(tmp / "gone.wav"), "--out", "OUT"], ["gone.wav", "does not exist"]),
    "separate-truncated-input": lambda tmp, f: (
        ["separate", str(f["separator"]), str(_truncated_wav(tmp / "t.wav")), "--out", "OUT"], ["t.wav", "cannot be read as audio"]),
    "separate-overlap-exceeds-chunk": lambda tmp, f: (
        ["separate", str(f["separator"]), str(f["good_wav"]), "--chunk-seconds", "0.5", "--overlap-seconds", "0.6",
         "--out", "OUT"], ["overlap", "chunk"]),
    "separate-zero-chunk": lambda tmp, f: (
        ["separate", str(f["separator"]), str(f["good_wav"]), "--chunk-seconds", "0", "--out", "OUT"], ["chunk"]),
    # ---- data export
    "data-mixture-fewer-sensors": lambda tmp, f: (
        ["data", "mixture", "periodic", "--sources", "3", "--sensors", "2", "--out", "OUT.npz"], ["sensors", "3"]),
    "unmix-absurd-length": lambda tmp, f: (["unmix", "periodic:length=100000000000", "--out", "OUT"], ["too large"]),
    "data-ucr-unknown-dataset": lambda tmp, f: (["data", "ucr", "NoSuchSet", "--out", "OUT.npz"], ["NoSuchSet", "does not ship"]),
    "data-simvowels-zero-n": lambda tmp, f: (["data", "simvowels", "--n", "0", "--out", "OUT.npz"], ["--n", "0"]),
    "data-demo-tracks-unknown-flag": lambda tmp, f: (["data", "demo-tracks", "--tracks", "0", "--out", "OUT"],
                                                     ["unrecognized arguments", "--tracks"]),
    # ---- benchmarks (names and settings are checked before any training)
    "benchmark-unmix-unknown-method": lambda tmp, f: (
        ["benchmark", "unmix", "--methods", "magic", "--out", "OUT"], ["unknown method 'magic'", "fastica"]),
    "benchmark-unmix-unknown-condition": lambda tmp, f: (
        ["benchmark", "unmix", "--conditions", "nope", "--out", "OUT"], ["unknown condition 'nope'"]),
    "benchmark-syntone-config-unknown-key": lambda tmp, f: (
        ["benchmark", "syntone", "--config", str(_yaml(tmp, "modls: [vae]\n")), "--out", "OUT"], ["cfg.yaml", "unknown key 'modls'"]),
    "benchmark-ucr-unknown-dataset": lambda tmp, f: (
        ["benchmark", "ucr", "--datasets", "NoSuchSet", "--out", "OUT"], ["NoSuchSet"]),
    "benchmark-decvae-bad-profile": lambda tmp, f: (
        ["benchmark", "decvae", "--profile", "nope", "--out", "OUT"], ["--profile", "invalid choice: 'nope'"]),
    "benchmark-spectrogram-unknown-method": lambda tmp, f: (
        ["benchmark", "separate", "--methods", "magic", "--out", "OUT"], ["unknown method 'magic'"]),
    "data-syntone-absurd-duration": lambda tmp, f: (
        ["data", "syntone", "--n", "100000", "--duration", "100000", "--out", "OUT.npz"], ["too large"]),
}


def _config(files) -> dict:
    return json.loads((files["vae"] / "config.json").read_text())["config"]


def _bad_json(files, tmp: Path) -> Path:
    folder = _model_copy(files, tmp)
    (folder / "config.json").write_text("{not json")
    return folder


def _drop_weights(files, tmp: Path) -> Path:
    folder = _model_copy(files, tmp)
    (folder / "model.safetensors").unlink()
    return folder


def _leftovers(out: Path) -> list[str]:
    """Anything at ``out`` or a hidden staging/temporary sibling of it."""
    found = [str(out)] if out.exists() else []
    found += [p.name for p in out.parent.glob(f".{out.name}*")]
    return found


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_input(case, files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "in"
    work.mkdir()
    argv, needles = CLI_CASES[case](work, files)
    outs = [a.replace("OUT", str(tmp_path / "OUT")) if a.startswith("OUT") else a for a in argv]
    try:
        code = main(outs)
    except SystemExit as e:  # argparse rejects the flag before any command runs
        code = e.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("sigvae"), err
    assert "error" in lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    for a in outs:
        if a.startswith(str(tmp_path / "OUT")):
            assert not _leftovers(Path(a)), _leftovers(Path(a))
    assert not (tmp_path / "runs").exists()


def test_there_are_at_least_30_distinct_cli_cases():
    assert len(CLI_CASES) >= 30


# ------------------------------------------------------------------------------------
# API cases: each loader raises a specific SigvaeError subclass.


def test_api_errors_are_specific(tmp_path, files):
    from sigvae.config import from_dict, load_config_file
    from sigvae.data import load_npz, load_signals
    from sigvae.data.mixtures import load_mixture
    from sigvae.data.tracks import read_audio, read_track
    from sigvae.metrics import bss_eval
    from sigvae.modelfile import load
    from sigvae.models import MODELS
    from sigvae.training import TrainConfig

    with pytest.raises(DataError, match="missing key 'signals'"):
        load_npz(_write_npz(tmp_path / "a.npz", x=np.zeros(2)))
    with pytest.raises(DataError, match="cannot be read as audio"):
        read_audio(_truncated_wav(tmp_path / "t.wav"))
    with pytest.raises(DataError, match="neither a mixture spec"):
        load_mixture(str(tmp_path / "nothing"))
    with pytest.raises(DataError, match="no stem files"):
        (tmp_path / "track").mkdir()
        sf.write(tmp_path / "track" / "mixture.wav", np.zeros(100), SR)
        read_track(tmp_path / "track")
    with pytest.raises(DataError, match="silent"):
        bss_eval(np.zeros((2, 100)), np.ones((2, 100)))
    with pytest.raises(UnknownNameError, match="nope"):
        MODELS.get("nope")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match="epochs"):
        from_dict(TrainConfig, {"epochs": "many"})
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "no-model")
    with pytest.raises(DataError, match="too large"):
        load_signals("syntone", n=10**9)


# ------------------------------------------------------------------------------------
# Property-based: arbitrary bytes and arrays never crash with anything but a SigvaeError.

_FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FAST
@given(data=st.binary(max_size=512), suffix=st.sampled_from([".wav", ".flac"]), riff=st.booleans())
def test_random_bytes_as_audio_raise_data_error(tmp_path, data, suffix, riff):
    from sigvae.data.tracks import read_audio

    path = tmp_path / f"x{suffix}"
    path.write_bytes((b"RIFF\x24\x00\x00\x00WAVEfmt " if riff else b"") + data)
    try:
        audio, sr = read_audio(path)
    except DataError:
        return
    assert audio.ndim == 2 and audio.shape[1] > 0 and sr > 0 and np.isfinite(audio).all()


@_FAST
@given(data=st.binary(max_size=512), zip_header=st.booleans())
def test_random_bytes_as_npz_raise_data_error(tmp_path, data, zip_header):
    from sigvae.data import load_npz

    path = tmp_path / "x.npz"
    path.write_bytes((b"PK\x03\x04" if zip_header else b"") + data)
    with pytest.raises(DataError):
        load_npz(path)


_dtypes = st.sampled_from(["float32", "float64", "int16", "int64", "bool", "complex64", "U3", "uint8"])


@_FAST
@given(
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=4),
    dtype=_dtypes,
    fill=st.sampled_from([0.0, 1.5, np.nan, np.inf, -3.0]),
    factor_shape=st.one_of(st.none(), st.lists(st.integers(0, 5), min_size=1, max_size=3)),
    factor_dtype=_dtypes,
    sample_rate=st.one_of(st.integers(-5, 50000), st.just("abc")),
)
def test_random_npz_contents_load_or_raise_data_error(tmp_path, shape, dtype, fill, factor_shape, factor_dtype, sample_rate):
    from sigvae.data import load_npz

    with np.errstate(invalid="ignore"):  # NaN/inf cast to integers on purpose
        arrays = {"signals": np.full(shape, fill).astype(dtype) if dtype != "U3" else np.full(shape, "a"),
                  "sample_rate": np.array(sample_rate)}
    if factor_shape is not None:
        arrays["factors"] = np.ones(factor_shape).astype(factor_dtype) if factor_dtype != "U3" else np.full(factor_shape, "b")
    path = _write_npz(tmp_path / "x.npz", **arrays)
    try:
        data = load_npz(path)
    except DataError:
        return
    assert data.signals.dtype == np.float32 and data.signals.ndim == 3 and np.isfinite(data.signals).all()
    assert data.sample_rate > 0
    assert data.factors is None or (data.factors.dtype == np.int64 and len(data.factors) == len(data))


@_FAST
@given(text=st.text(max_size=200))
def test_random_yaml_config_raises_only_config_error(tmp_path, text):
    from sigvae.commands.train import TrainFile
    from sigvae.config import from_dict, load_config_file

    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        from_dict(TrainFile, load_config_file(path), where=str(path))
    except ConfigError:
        pass


def test_npz_object_array_is_never_unpickled(tmp_path):
    """An .npz holding a pickle that would run code is refused before anything is unpickled."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    raw = pickle.dumps(Payload())
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as z:
        buf = Path(tmp_path / "sig.npy")
        np.save(buf, np.array([None], dtype=object), allow_pickle=True)
        z.writestr("signals.npy", buf.read_bytes()[:-len(pickle.dumps(None))] + raw)
    from sigvae.data import load_npz

    with pytest.raises(DataError, match="pickle"):
        load_npz(path)
    assert not marker.exists()
    assert issubclass(DataError, SigvaeError)
