"""Bad input at the boundaries where data enters sigvae (issue 9, second review).

Each CLI case runs ``sigvae.cli.main`` in-process and checks what
``tests/test_hardening_inputs.py`` checks: exit status 2, exactly one stderr line starting
with ``sigvae: error:`` (or argparse's ``sigvae CMD: error:``) that names the problem, no
traceback, and nothing created at ``--out``. The checks live in the loaders and parsers
(``load_config_file``, ``load_npz``, ``read_audio``/``open_audio``, ``read_model_config``,
``TrainConfig.validate``, the argparse types), so every command gets them.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import save_npz as _npz
from conftest import small_signals as _signals
from conftest import write_tiny_model_folders
from sigvae.cli import main
from sigvae.errors import ConfigError, DataError, ModelFileError

SR = 8000


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Untrained model folders and a good WAV, shared read-only by the CLI cases."""
    return write_tiny_model_folders(tmp_path_factory.mktemp("boundaries"), SR)


# ------------------------------------------------------------------------------------
# Builders of bad inputs.


def _short_wav(path: Path, declared: int = 8000, present: int = 3989) -> Path:
    """A 16-bit WAV whose header declares ``declared`` frames but holds only ``present``."""
    full = path.with_name(path.name + ".full.wav")
    sf.write(full, 0.1 * np.sin(np.arange(declared) * 0.05), SR, subtype="PCM_16")
    path.write_bytes(full.read_bytes()[: 44 + 2 * present])
    full.unlink()
    return path


def _audio_folder(tmp: Path, extra=None) -> Path:
    folder = tmp / "audio"
    folder.mkdir(exist_ok=True)
    for i, name in enumerate(("a.wav", "b.wav")):
        sf.write(folder / name, 0.1 * np.sin(np.arange(800) * 0.01 * (i + 1)), SR)
    if extra:
        extra(folder)
    return folder


def _csv(content: bytes):
    def make(folder: Path) -> None:
        (folder / "factors.csv").write_bytes(content)
    return make


def _text(tmp: Path, name: str, content: str | bytes) -> Path:
    p = tmp / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def _model_copy(files, tmp: Path, which: str = "vae") -> Path:
    dst = tmp / f"{which}-copy"
    shutil.copytree(files[which], dst)
    return dst


def _model_with(files, tmp: Path, name: str, content: str | bytes) -> Path:
    folder = _model_copy(files, tmp)
    _text(folder, name, content)
    return folder


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def _yaml_bomb() -> str:
    """A "billion laughs" YAML: 418 bytes that expand to ~10^9 nodes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


class _Payload:
    """Unpickling this creates the marker file: a checkpoint that runs code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _resume_run(tmp: Path, out: Path, checkpoint: bytes, run_json: str | None = None) -> Path:
    """A run folder at ``out`` whose ``checkpoints/last.ckpt`` holds ``checkpoint``."""
    (out / "checkpoints").mkdir(parents=True)
    (out / "run.json").write_text(run_json if run_json is not None else json.dumps({
        "model": "vae", "data": "syntone", "num_examples": 8, "data_options": {"duration": 0.05},
        "model_config": {}, "train_config": {"epochs": 1, "progress": False}, "init_from": None}))
    (out / "checkpoints" / "last.ckpt").write_bytes(checkpoint)
    return out


# ------------------------------------------------------------------------------------
# CLI cases: (id, build(tmp, files) -> (argv, needles)). ``OUT`` in argv is replaced by
# the output location that must not exist afterwards.

TRAIN = ["train", "vae", "--no-progress", "--epochs", "1", "--num-examples", "8", "--duration", "0.05", "--out", "OUT"]
#: For data from files (which take no --duration or --num-examples).
TRAIN_FILES = ["train", "vae", "--no-progress", "--epochs", "1", "--out", "OUT"]


def _npz_case(*needles, **arrays):
    def build(tmp, files):
        return TRAIN_FILES + ["--data", str(_npz(tmp / "d.npz", **arrays))], ["d.npz", *needles]
    return build


def _train_config(name: str, content: str | bytes, *needles):
    def build(tmp, files):
        return TRAIN + ["--config", str(_text(tmp, name, content))], [name, *needles]
    return build


def _folder_csv(content: bytes, *needles):
    def build(tmp, files):
        return TRAIN_FILES + ["--data", str(_audio_folder(tmp, _csv(content)))], ["factors.csv", *needles]
    return build


CLI_CASES = {
    # ---- .npz: sample_rate, factors, factor_names, factor_sizes (sigvae.data.files.load_npz)
    "npz-sample-rate-nan": _npz_case("sample_rate", "nan", signals=_signals(), sample_rate=np.float64(np.nan)),
    "npz-sample-rate-inf": _npz_case("sample_rate", "inf", signals=_signals(), sample_rate=np.float64(np.inf)),
    "npz-sample-rate-complex": _npz_case("sample_rate", "complex", signals=_signals(), sample_rate=np.complex128(8000 + 1j)),
    "npz-sample-rate-fractional": _npz_case("sample_rate", "8000.5", signals=_signals(), sample_rate=np.float64(8000.5)),
    "npz-factors-no-columns": _npz_case("factors", "no columns", signals=_signals(4), sample_rate=np.int64(SR),
                                        factors=np.zeros((4, 0), np.int64)),
    "npz-factor-names-0d": _npz_case("factor_names", "1-D", signals=_signals(4), sample_rate=np.int64(SR),
                                     factors=np.zeros((4, 1), np.int64), factor_names=np.array("pitch")),
    "npz-factor-sizes-nan": _npz_case("factor_sizes", "NaN", signals=_signals(4), sample_rate=np.int64(SR),
                                      factors=np.zeros((4, 1), np.int64), factor_sizes=np.array([np.nan])),
    "npz-factor-sizes-too-small": _npz_case("factor_sizes", "column 0", signals=_signals(4), sample_rate=np.int64(SR),
                                            factors=np.full((4, 1), 3, np.int64), factor_sizes=np.array([2])),
    # ---- factors.csv (sigvae.data.files._read_factor_csv)
    "csv-short-row": _folder_csv(b"file,pitch,loud\na.wav,1,2\nb.wav,1\n", "line 3", "2 values", "3"),
    "csv-latin-1": _folder_csv("file,pitch\na.wav,h\xf6ch\nb.wav,tief\n".encode("latin-1"), "UTF-8"),
    "csv-huge-field": _folder_csv(b"file,pitch\na.wav," + b"x" * (129 * 1024) + b"\nb.wav,1\n", "field"),
    # ---- config files (sigvae.config.load_config_file)
    "config-not-utf8": _train_config("cfg.yaml", b"model: vae\ndata: syntone\n# caf\xe9\n", "UTF-8"),
    "config-json-not-utf8": _train_config("cfg.json", b'{"model": "caf\xe9"}', "UTF-8"),
    "config-yaml-deep": _train_config("cfg.yaml", "training: " + _deep_json(5000) + "\n", "nested"),
    "config-json-deep": _train_config("cfg.json", '{"training": ' + _deep_json(100_000) + "}", "nested"),
    "config-json-moderately-deep": _train_config("cfg.json", '{"model_config": ' + "{\"a\": " * 40 + "1" + "}" * 41,
                                                 "nested"),
    "config-yaml-bomb": _train_config("cfg.yaml", _yaml_bomb(), "alias"),
    "config-too-large": _train_config("cfg.yaml", "# " + "x" * (1 << 20) + "\n", "MiB"),
    "config-mixed-key-types": _train_config("cfg.yaml", "model: vae\n1: x\n", "key 1", "text"),
    "config-nested-int-key": _train_config("cfg.yaml", "training: {epochs: 1, 2: 3}\n", "training", "key 2"),
    "config-yaml-bool-key": _train_config("cfg.yaml", "training: {on: 1}\n", "training", "key True"),
    "config-date-value": _train_config("cfg.yaml", "model_config: {beta: 2024-01-02}\n", "model_config.beta", "date"),
    "config-datetime-value": _train_config("cfg.yaml", "training: {seed: 2024-01-02 10:00:00}\n", "training.seed", "date"),
    "config-binary-value": _train_config("cfg.yaml", "data: !!binary aGVsbG8=\n", "data", "bytes"),
    "config-section-a-list": _train_config("cfg.yaml", "training: [1, 2]\n", "training", "expected a mapping"),
    "config-seed-too-large": lambda tmp, f: (
        TRAIN + ["--config", str(_text(tmp, "cfg.yaml", "training: {seed: 4294967296}\n"))], ["training", "seed", "4294967296"]),
    # ---- flags
    "seed-too-large": lambda tmp, f: (TRAIN + ["--seed", str(2**32)], ["--seed", "4294967296", "2^32"]),
    "embed-seed-too-large": lambda tmp, f: (
        ["embed", str(f["vae"]), "syntone", "--seed", str(2**40), "--out", "OUT.npz"], ["--seed"]),
    "benchmark-seeds-too-large": lambda tmp, f: (
        ["benchmark", "unmix", "--seeds", f"0,{2**32}", "--out", "OUT"], ["--seeds", "4294967296"]),
    "devices-word": lambda tmp, f: (TRAIN + ["--accelerator", "cpu", "--devices", "many"], ["devices", "many"]),
    "devices-zero": lambda tmp, f: (TRAIN + ["--accelerator", "cpu", "--devices", "0"], ["devices", "0"]),
    # "More devices than cores" is checked through TrainConfig only (test below): through the
    # CLI, a regression would let Lightning start that many copies of pytest.
    "accelerator-unknown": lambda tmp, f: (TRAIN + ["--accelerator", "quantum"], ["accelerator", "quantum", "cpu"]),
    "precision-unknown": lambda tmp, f: (TRAIN + ["--precision", "17"], ["precision", "17", "32-true"]),
    "strategy-unknown": lambda tmp, f: (TRAIN + ["--strategy", "telepathy"], ["strategy", "telepathy", "ddp"]),
    # ---- empty paths (argparse types in sigvae.commands.common)
    "train-data-empty": lambda tmp, f: (TRAIN + ["--data", ""], ["--data", "empty"]),
    "train-config-empty": lambda tmp, f: (TRAIN + ["--config", ""], ["--config", "empty"]),
    "train-init-from-empty": lambda tmp, f: (TRAIN + ["--init-from", ""], ["--init-from", "empty"]),
    "reconstruct-run-empty": lambda tmp, f: (["reconstruct", "", str(f["good_wav"]), "--out", "OUT"], ["run", "empty"]),
    "reconstruct-input-empty": lambda tmp, f: (["reconstruct", str(f["vae"]), "", "--out", "OUT"], ["input", "empty"]),
    "embed-input-empty": lambda tmp, f: (["embed", str(f["vae"]), "", "--out", "OUT.npz"], ["input", "empty"]),
    "separate-input-empty": lambda tmp, f: (["separate", str(f["separator"]), "", "--out", "OUT"], ["input", "empty"]),
    "unmix-input-empty": lambda tmp, f: (["unmix", "", "--out", "OUT"], ["input", "empty"]),
    "unmix-reference-empty": lambda tmp, f: (["unmix", "periodic", "--reference", "", "--out", "OUT"], ["--reference", "empty"]),
    "traverse-input-empty": lambda tmp, f: (["traverse", str(f["vae"]), "--input", "", "--out", "OUT"], ["--input", "empty"]),
    "benchmark-data-empty": lambda tmp, f: (["benchmark", "syntone", "--data", "", "--out", "OUT"], ["--data", "empty"]),
    "benchmark-config-empty": lambda tmp, f: (["benchmark", "unmix", "--config", "", "--out", "OUT"], ["--config", "empty"]),
    # ---- an argument equal to 'benchmark' is not the benchmark command
    "out-named-benchmark": lambda tmp, f: (
        ["train", "vae", "--data", "nosuchsource", "--out", "benchmark"], ["nosuchsource", "neither a built-in source"]),
    # ---- model folders (sigvae.modelfile.read_model_config / load)
    "model-training-json-corrupt": lambda tmp, f: (
        ["reconstruct", str(_model_with(f, tmp, "training.json", "{oops")), str(f["good_wav"]), "--out", "OUT"],
        ["training.json", "not valid JSON"]),
    "model-training-json-not-utf8": lambda tmp, f: (
        ["reconstruct", str(_model_with(f, tmp, "training.json", b'{"model": "caf\xe9"}')), str(f["good_wav"]),
         "--out", "OUT"], ["training.json", "UTF-8"]),
    "model-training-json-a-list": lambda tmp, f: (
        ["reconstruct", str(_model_with(f, tmp, "training.json", "[1, 2]")), str(f["good_wav"]), "--out", "OUT"],
        ["training.json", "mapping", "list"]),
    "model-training-json-bad-data-options": lambda tmp, f: (
        ["reconstruct", str(_model_with(f, tmp, "training.json", '{"data": "syntone", "data_options": "loud"}')),
         "syntone", "--out", "OUT"], ["training.json", "data_options", "mapping"]),
    "model-config-json-deep": lambda tmp, f: (
        ["reconstruct", str(_model_with(f, tmp, "config.json", _deep_json(100_000))), str(f["good_wav"]), "--out", "OUT"],
        ["config.json", "nested"]),
    "model-config-json-not-utf8": lambda tmp, f: (
        ["reconstruct", str(_model_with(f, tmp, "config.json", b'{"format": "caf\xe9"}')), str(f["good_wav"]),
         "--out", "OUT"], ["config.json", "UTF-8"]),
    "init-from-training-json-corrupt": lambda tmp, f: (
        TRAIN + ["--init-from", str(_model_with(f, tmp, "training.json", "{oops"))], ["training.json", "not valid JSON"]),
    # ---- truncated audio (sigvae.data.audio: one reader for every command)
    "train-folder-short-wav": lambda tmp, f: (
        TRAIN_FILES + ["--data", str(_audio_folder(tmp, lambda d: _short_wav(d / "c.wav")))],
        ["c.wav", "8000 frames", "3989"]),
    "reconstruct-short-wav": lambda tmp, f: (
        ["reconstruct", str(f["vae"]), str(_short_wav(tmp / "s.wav")), "--out", "OUT"], ["s.wav", "8000 frames", "3989"]),
    "embed-short-wav": lambda tmp, f: (
        ["embed", str(f["vae"]), str(_short_wav(tmp / "s.wav")), "--out", "OUT.npz"], ["s.wav", "8000 frames", "3989"]),
    "separate-short-wav": lambda tmp, f: (
        ["separate", str(f["separator"]), str(_short_wav(tmp / "s.wav")), "--out", "OUT"], ["s.wav", "8000 frames", "3989"]),
    "separate-short-wav-resampled": lambda tmp, f: (
        ["separate", str(f["separator"]), str(_resampled_short_wav(tmp / "s.wav")), "--out", "OUT"],
        ["s.wav", "16000 frames"]),
    "unmix-short-wav": lambda tmp, f: (
        ["unmix", str(_short_wav(tmp / "s.wav")), "--n-sources", "1", "--out", "OUT"], ["s.wav", "8000 frames", "3989"]),
    # ---- unmix mixtures (sigvae.data.mixtures.Mixture)
    "unmix-constant-mixtures": lambda tmp, f: (
        ["unmix", str(_npz(tmp / "m.npz", mixtures=np.ones((2, 4000)))), "--out", "OUT"], ["m.npz", "constant"]),
    "unmix-one-constant-channel": lambda tmp, f: (
        ["unmix", str(_npz(tmp / "m.npz", mixtures=np.stack([np.sin(np.arange(4000) * 0.1), np.zeros(4000)]))),
         "--out", "OUT"], ["m.npz", "channel 1", "constant"]),
    "unmix-complex-mixtures": lambda tmp, f: (
        ["unmix", str(_npz(tmp / "m.npz", mixtures=np.exp(1j * np.arange(8000).reshape(2, 4000) * 0.1))),
         "--out", "OUT"], ["m.npz", "complex"]),
    "unmix-sample-rate-nan": lambda tmp, f: (
        ["unmix", str(_npz(tmp / "m.npz", mixtures=np.random.default_rng(0).standard_normal((2, 4000)),
                           sample_rate=np.float64(np.nan))), "--out", "OUT"], ["m.npz", "sample_rate"]),
}


def _resampled_short_wav(path: Path) -> Path:
    """A truncated WAV at 16 kHz (not the model's 8 kHz): the whole-file (non-streamed) path."""
    full = path.with_name(path.name + ".full.wav")
    sf.write(full, 0.1 * np.sin(np.arange(16000) * 0.05), 2 * SR, subtype="PCM_16")
    path.write_bytes(full.read_bytes()[: 44 + 2 * 7000])
    full.unlink()
    return path


def _leftovers(out: Path) -> list[str]:
    found = [str(out)] if out.exists() else []
    found += [p.name for p in out.parent.glob(f".{out.name}*")]
    return found


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse rejects the flag before any command runs
        code = e.code
    return code, capsys.readouterr().err


def _assert_one_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("sigvae: error:") or (lines[0].startswith("sigvae ") and ": error:" in lines[0]), err
    return lines[0]


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_boundary_bad_input(case, files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "in"
    work.mkdir()
    argv, needles = CLI_CASES[case](work, files)
    outs = [a.replace("OUT", str(tmp_path / "OUT")) if a.startswith("OUT") else a for a in argv]
    code, err = _run(outs, capsys)
    line = _assert_one_line(code, err)
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    for a in outs:
        if a.startswith(str(tmp_path / "OUT")):
            assert not _leftovers(Path(a)), _leftovers(Path(a))
    assert not (tmp_path / "runs").exists()
    assert not (tmp_path / "benchmark").exists()


def test_resume_with_a_malicious_checkpoint_is_one_line_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    out = _resume_run(tmp_path, tmp_path / "run", pickle.dumps(_Payload(marker), protocol=2))
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    code, err = _run(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    line = _assert_one_line(code, err)
    assert "last.ckpt" in line and "checkpoint" in line, line
    assert not marker.exists()
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


@pytest.mark.parametrize("run_json", ["{oops", "[1]", '{"model": "vae"}'])
def test_resume_with_a_corrupt_run_json_is_one_line(tmp_path, capsys, run_json):
    out = _resume_run(tmp_path, tmp_path / "run", b"", run_json=run_json)
    code, err = _run(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    line = _assert_one_line(code, err)
    assert "run.json" in line, line


# ------------------------------------------------------------------------------------
# Accepted inputs and API-level checks.


def test_factor_csv_with_a_byte_order_mark_is_read(tmp_path):
    from sigvae.data import load_audio_folder

    folder = _audio_folder(tmp_path, _csv("file,pitch,vowel\na.wav,3,a\nb.wav,1,e\n".encode("utf-8-sig")))
    assert (folder / "factors.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    data = load_audio_folder(folder)
    assert data.factor_names == ["pitch", "vowel"]
    assert data.factors.tolist() == [[3, 0], [1, 1]]


def test_short_wav_is_refused_by_every_reader(tmp_path, files):
    """The one reader (``sigvae.data.audio``) checks the frames read against the header."""
    from sigvae.data.audio import open_audio, read_audio_file
    from sigvae.data.mixtures import load_mixture_audio
    from sigvae.data.tracks import read_audio as read_track_audio
    from sigvae.inference import iter_audio_clips
    from sigvae.modelfile import load

    path = _short_wav(tmp_path / "s.wav")
    for fn in (read_audio_file, read_track_audio, load_mixture_audio, lambda p: open_audio(p).close(),
               lambda p: list(iter_audio_clips(p, load(files["vae"])))):
        with pytest.raises(DataError, match="8000 frames"):
            fn(path)
    good = tmp_path / "g.wav"
    sf.write(good, np.zeros(1234, np.float32) + 0.1, SR, subtype="PCM_16")
    audio, sr = read_audio_file(good)
    assert audio.shape == (1234, 1) and sr == SR


def test_empty_aiff_and_flac_headers_are_checked_too(tmp_path):
    from sigvae.data.audio import read_audio_file as read_audio

    full = tmp_path / "full.aiff"
    sf.write(full, 0.1 * np.sin(np.arange(8000) * 0.05), SR, subtype="PCM_16")
    cut = tmp_path / "cut.aiff"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    with pytest.raises(DataError, match="8000 frames"):
        read_audio(cut)
    flac = tmp_path / "full.flac"
    sf.write(flac, np.random.default_rng(0).standard_normal(8000) * 0.1, SR)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(flac.read_bytes()[: len(flac.read_bytes()) // 2])
    with pytest.raises(DataError, match="cut.flac"):
        read_audio(cut)


@pytest.mark.parametrize("section", ["training", "model_config", "data_options"])
def test_a_null_section_is_treated_as_absent(tmp_path, section):
    from sigvae.commands.train import TrainFile
    from sigvae.config import from_dict, load_config_file

    cfg = _text(tmp_path, "cfg.yaml", f"model: vae\n{section}:\n")
    file = from_dict(TrainFile, load_config_file(cfg), where=str(cfg))
    assert getattr(file, section) == {}


def test_a_null_nested_config_section_is_treated_as_absent():
    from sigvae.config import from_dict
    from sigvae.experiments.syntone import SynToneBenchmarkConfig

    default = SynToneBenchmarkConfig()
    fields = [k for k, v in vars(default).items() if isinstance(v, dict)]
    assert fields, "SynToneBenchmarkConfig has no mapping-typed section to test"
    for key in fields:
        assert getattr(from_dict(SynToneBenchmarkConfig, {key: None}), key) == getattr(default, key)


def test_yaml_aliases_within_bounds_still_work(tmp_path):
    from sigvae.config import load_config_file

    cfg = _text(tmp_path, "cfg.yaml", "base: &b {epochs: 2, batch_size: 8}\ntraining: *b\nother: *b\n")
    data = load_config_file(cfg)
    assert data["training"] == {"epochs": 2, "batch_size": 8}


def test_config_errors_are_config_errors(tmp_path):
    from sigvae.config import load_config_file

    for name, content in [("a.yaml", b"x: \xff"), ("b.yaml", _yaml_bomb()), ("c.json", _deep_json(50_000)),
                          ("d.yaml", "1: 2\n"), ("e.yaml", "a: 2024-01-01\n"), ("f.yaml", "a: {b: !!set {x}}\n")]:
        with pytest.raises(ConfigError, match=name):
            load_config_file(_text(tmp_path, name, content))


def test_training_config_checks_lightning_flags_before_anything_runs():
    from sigvae.config import from_dict
    from sigvae.training import TrainConfig

    for bad in [{"accelerator": "quantum"}, {"devices": "x"}, {"devices": "0"}, {"precision": "17"},
                {"strategy": "telepathy"}, {"seed": 2**32}, {"devices": "100000", "accelerator": "cpu"}]:
        with pytest.raises(ConfigError):
            from_dict(TrainConfig, bad)
    for good in [{}, {"accelerator": "cpu", "devices": "1"}, {"precision": "bf16-mixed"}, {"precision": "32"},
                 {"strategy": "ddp", "devices": "1", "accelerator": "cpu"}, {"devices": "auto"}, {"seed": 2**32 - 1}]:
        from_dict(TrainConfig, good)


def test_model_metadata_errors_are_model_file_errors(tmp_path, files):
    from sigvae.modelfile import load

    for content in ("{oops", b"\xff\xfe", "[1]", _deep_json(100_000)):
        folder = _model_with(files, tmp_path, "training.json", content)
        with pytest.raises(ModelFileError, match="training.json"):
            load(folder)
        shutil.rmtree(folder)


def test_default_task_argv_only_rewrites_the_benchmark_command():
    from sigvae.commands.benchmark import default_task_argv
    from sigvae.experiments import TASKS

    first = next(iter(TASKS))
    assert default_task_argv(["benchmark", "--out", "x"]) == ["benchmark", first, "--out", "x"]
    assert default_task_argv(["-v", "benchmark"]) == ["-v", "benchmark", first]
    for argv in (["train", "vae", "--out", "benchmark"], ["train", "benchmark"], ["embed", "run", "benchmark", "--out", "x.npz"]):
        assert default_task_argv(list(argv)) == argv
