"""One memory budget, checked before allocation, for every command (issue: resource bombs).

Unit tests of :mod:`sigvae.limits` (sizes, the budget's precedence, sample rates), then a
resource-bound test per command: each runs ``sigvae.cli.main`` in-process on a request
that would allocate far more than the budget and checks that it is refused before
anything is allocated:

- the exit status is 2 and stderr is exactly one ``sigvae: error:`` line (no traceback)
  naming the request and the budget (or the absurd sample rate),
- nothing was created at ``--out`` (nor a hidden staging sibling),
- the process's peak resident memory grew by less than 1 GiB and the call returned
  within a minute (the real arrays would take tens of GiB to TiB, or hours to fill).

Model folders are built untrained with :func:`build_model` + :func:`save_model`.
"""

from __future__ import annotations

import io
import json
import math
import resource
import shutil
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import TINY_MODEL
from sigvae.cli import main
from sigvae.errors import ConfigError, DataError, ModelFileError
from sigvae.limits import (
    ENV_VAR,
    MAX_SAMPLE_RATE,
    available_memory,
    check_allocation,
    check_bytes,
    check_sample_rate,
    memory_budget,
    parse_size,
    set_memory_budget,
    total_memory,
)

SR = 8000
GiB = 1 << 30


@pytest.fixture(autouse=True)
def _default_budget(monkeypatch):
    """Every test starts and ends with the default budget (no --max-memory, no env var)."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    set_memory_budget(None)
    yield
    set_memory_budget(None)


# ------------------------------------------------------------------------------------
# sigvae.limits


@pytest.mark.parametrize("text, expected", [
    ("4096", 4096), ("1", 1), ("1e9", 10**9), ("512M", 512 << 20), ("512m", 512 << 20), ("8G", 8 << 30),
    ("2GiB", 2 << 30), ("2gib", 2 << 30), ("1.5G", 3 << 29), ("3KB", 3000), ("3K", 3072), ("1 T", 1 << 40),
    ("100B", 100), ("2MB", 2 * 10**6), (" 64MiB ", 64 << 20), (123, 123),
])
def test_parse_size_accepts_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "G", "12X", "-5M", "0", "0.1", "nan", "inf", "1e999", "1,5G", "five", "8 G B", True])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(ConfigError, match="memory size"):
        parse_size(text)


def test_budget_precedence_set_then_env_then_default(monkeypatch):
    assert memory_budget() == total_memory() // 2  # the default: half this machine's memory
    assert 0 < available_memory() <= total_memory()
    monkeypatch.setenv(ENV_VAR, "3G")
    assert memory_budget() == 3 << 30
    set_memory_budget(5 << 20)
    assert memory_budget() == 5 << 20  # set_memory_budget (--max-memory) beats the env var
    set_memory_budget(None)
    assert memory_budget() == 3 << 30
    monkeypatch.setenv(ENV_VAR, "lots")
    with pytest.raises(ConfigError, match=f"{ENV_VAR}='lots'"):
        memory_budget()
    with pytest.raises(ConfigError):
        set_memory_budget(0)


def test_check_allocation_names_what_size_budget_and_remedy():
    set_memory_budget(1 << 20)
    check_allocation("small", (256, 512), 8)  # exactly 1 MiB fits
    with pytest.raises(DataError) as e:
        check_allocation("thing", (10**6, 10**6), 4)
    msg = str(e.value)
    assert "\n" not in msg
    for needle in ("thing", "1000000 × 1000000 values", "3.6 TiB", "1.0 MiB", "--max-memory", "--max-memory SIZE",
                   ENV_VAR, "too large"):
        assert needle in msg, msg
    with pytest.raises(DataError, match="need 2.0 MiB"):
        check_bytes("bytes", 2 << 20)
    with pytest.raises(DataError):  # the product cannot overflow
        check_allocation("huge", (2**62, 2**62, 2**62))


@pytest.mark.parametrize("value", [8000, 8000.0, np.int64(8000), np.float32(8000), np.array(8000), np.array([8000]),
                                   1, MAX_SAMPLE_RATE])
def test_sane_sample_rates(value):
    assert check_sample_rate(value, "x") == int(np.asarray(value).item())


@pytest.mark.parametrize("value, needle", [
    (0, "outside"), (-5, "outside"), (2**31 - 1, "2147483647"), (1e30, "1e+30"), (MAX_SAMPLE_RATE + 1, "outside"),
    (float("nan"), "nan"), (float("inf"), "inf"), (np.float64(8000.5), "8000.5"), (8000 + 1j, "complex"),
    (np.complex128(8000), "complex"), ("8000", "str"), (True, "bool"), (np.array([8000, 8000]), "one number"),
])
def test_absurd_sample_rates_are_refused(value, needle):
    with pytest.raises(DataError, match="sample_rate") as e:
        check_sample_rate(value, "file.wav")
    assert needle in str(e.value) and str(e.value).startswith("file.wav: ")


def test_every_registered_model_builds_on_the_meta_device():
    """``modelfile.load`` and ``train`` count parameters this way before building a model."""
    import torch

    from sigvae.models import MODELS, build_meta_model, build_model

    configs = [(entry.name, {}) for entry in MODELS] + [  # and settings that build other layers
        ("skr_vae", {"in_channels": 2, "latent_dim": 2, "length": 30, "demixing": "orthogonal", "source_net": 3}),
        ("vae", {"length": 16000, "sample_rate": 16000})]
    for name, config in configs:
        meta = build_meta_model(name, config)
        real = build_model(name, config)
        assert {k: v.shape for k, v in meta.state_dict().items()} == {k: v.shape for k, v in real.state_dict().items()}
        assert all(p.device == torch.device("meta") for p in meta.parameters()), name


# ------------------------------------------------------------------------------------
# Inputs: model folders and files, written once per module.


def _wav_claiming_rate(path: Path, rate: int) -> Path:
    """A valid 16-bit WAV whose header claims ``rate`` Hz."""
    sf.write(path, 0.1 * np.sin(np.arange(2 * SR) * 0.05), SR, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    raw[24:28] = struct.pack("<I", rate)
    path.write_bytes(bytes(raw))
    return path


def _silent_flac(path: Path, seconds: float, rate: int) -> Path:
    """``seconds`` of silence as FLAC (a few hundred KB per hour), written block by block."""
    block = np.zeros((1 << 20, 1), np.float32)
    left = int(seconds * rate)
    with sf.SoundFile(str(path), "w", rate, 1, format="FLAC", subtype="PCM_16") as f:
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return path


def npz_declaring(path: Path, name: str, shape: tuple[int, ...], dtype: str = "<f4", **arrays) -> Path:
    """An .npz whose member ``name`` has a header declaring ``shape`` but no data."""
    from numpy.lib import format as npformat

    head = io.BytesIO()
    npformat.write_array_header_1_0(head, {"descr": dtype, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}.npy", head.getvalue())
        for key, value in arrays.items():
            buf = io.BytesIO()
            np.save(buf, value)
            z.writestr(f"{key}.npy", buf.getvalue())
    return path


#: The one-hour silent FLAC: 16 kHz mono, 57.6 M frames (230 MB as float32 when read).
HOUR_RATE = 16000


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from sigvae.modelfile import save_model
    from sigvae.models import build_model

    root = tmp_path_factory.mktemp("limits")
    save_model(build_model("vae", {**TINY_MODEL, "length": 800, "sample_rate": SR}), root / "vae", {"model": "vae"})
    sep = build_model("separator", {"length": 4000, "sample_rate": SR, "channels": [4, 4], "latent_channels": 2,
                                     "dilations": [1], "n_fft": 128, "hop_length": 32})
    save_model(sep, root / "separator", {"model": "separator"})
    huge = root / "vae-huge"
    shutil.copytree(root / "vae", huge)
    doc = json.loads((huge / "config.json").read_text())
    doc["config"]["hidden_dim"] = 10**9  # a Linear layer of about 10^12 weights: terabytes
    (huge / "config.json").write_text(json.dumps(doc))
    hour = _silent_flac(root / "hour.flac", 3600, HOUR_RATE)
    hour_model_rate = _silent_flac(root / "hour8k.flac", 3600, SR)  # streamed by 'sigvae separate'
    # A folder with the hour-long clip and enough short ones that zero-padding every clip
    # to the longest needs twice the default budget (the 1.8 MB FLAC folder → 86 GiB case).
    row = 4 * 3600 * HOUR_RATE
    n_short = math.ceil(2 * memory_budget() / row)
    if n_short > 3000:
        pytest.skip(f"{memory_budget() / GiB:.0f} GiB budget: the padded-folder case would need {n_short} files")
    folder = root / "hour-folder"
    folder.mkdir()
    shutil.copy(hour, folder / "000_hour.flac")
    sf.write(folder / "short.wav", np.zeros(800, np.float32), HOUR_RATE)
    for i in range(n_short):
        (folder / f"{i + 1:04d}_short.wav").write_bytes((folder / "short.wav").read_bytes())
    return {"root": root, "vae": root / "vae", "separator": root / "separator", "vae_huge": huge,
            "hour": hour, "hour_model_rate": hour_model_rate, "hour_folder": folder,
            "wav_2g": _wav_claiming_rate(root / "rate.wav", 2**31 - 1)}


def _leftovers(out: Path) -> list[str]:
    found = [str(out)] if out.exists() else []
    return found + [p.name for p in out.parent.glob(f".{out.name}*")]


def run_refused(argv: list[str], tmp_path: Path, capsys, needles=("memory budget",)) -> str:
    """Run the CLI in-process; assert a one-line refusal (exit 2), no output, no big allocation."""
    out = tmp_path / "OUT"
    argv = [str(out) + a[3:] if a.startswith("OUT") else a for a in argv]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    start = time.monotonic()
    code = main(argv)
    elapsed = time.monotonic() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("sigvae: error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    for a in argv:
        if a.startswith(str(out)):
            assert not _leftovers(Path(a)), _leftovers(Path(a))
    assert grown < GiB, f"peak memory grew by {grown / GiB:.1f} GiB"
    assert elapsed < 60, f"took {elapsed:.0f} s"
    return lines[0]


# ------------------------------------------------------------------------------------
# A resource-bound test per command.

CASES = {
    # train: generated data sized by flags, files sized by headers, model sized by its config
    "train-num-examples": lambda f, t: (["train", "vae", "--num-examples", "100000000", "--duration", "1", "--no-progress",
                                         "--out", "OUT"], ["100000000 examples"]),
    "train-duration": lambda f, t: (["train", "vae", "--num-examples", "2000", "--duration", "100000", "--no-progress",
                                     "--out", "OUT"], ["2000 examples"]),
    "train-hour-flac-folder": lambda f, t: (["train", "vae", "--data", str(f["hour_folder"]), "--no-progress", "--out", "OUT"],
                                            ["hour-folder", "zero-padded to the longest (57600000 frames)"]),
    "train-npz-declares-huge-shape": lambda f, t: (
        ["train", "vae", "--data", str(npz_declaring(t / "d.npz", "signals", (10**6, 1, 10**7), sample_rate=np.int64(SR))),
         "--no-progress", "--out", "OUT"], ["d.npz", "array 'signals'", "1000000 × 1 × 10000000 values"]),
    "train-huge-latent-dim": lambda f, t: (["train", "vae", "--latent-dim", "1000000000", "--num-examples", "8",
                                            "--duration", "0.05", "--no-progress", "--out", "OUT"], ["training: model 'vae'"]),
    "train-ucr-length": lambda f, t: (
        ["train", "vae", "--config", str(_yaml(t, "data: ucr:GunPoint\ndata_options: {length: 1000000000000}\n")),
         "--no-progress", "--out", "OUT"], ["GunPoint", "resampled to length 1000000000000"]),
    # data: exports
    "data-syntone-n": lambda f, t: (["data", "syntone", "--n", "1000000000", "--out", "OUT.npz"], ["syntone"]),
    "data-simvowels-n": lambda f, t: (["data", "simvowels", "--n", "100000000", "--out", "OUT.npz"], ["simvowels"]),
    "data-mixture-length": lambda f, t: (["data", "mixture", "periodic", "--length", "1000000000", "--out", "OUT.npz"],
                                         ["periodic mixture"]),
    "data-demo-tracks-duration": lambda f, t: (["data", "demo-tracks", "--n", "1", "--duration", "10000000", "--out", "OUT"],
                                               ["demo track"]),
    # unmix
    "unmix-100000-sensors": lambda f, t: (["unmix", "periodic:sensors=100000,sources=3", "--out", "OUT"],
                                          ["separating 100000 channels × 4000 samples"]),
    "unmix-npz-declares-huge-shape": lambda f, t: (
        ["unmix", str(npz_declaring(t / "m.npz", "mixtures", (2, 10**13), "<f8")), "--out", "OUT"], ["m.npz", "'mixtures'"]),
    # sample, traverse: outputs sized by the request and the model
    "sample-n": lambda f, t: (["sample", str(f["vae"]), "--num-examples", "100000000", "--out", "OUT"],
                              ["sample --num-examples 100000000"]),
    "traverse-steps": lambda f, t: (["traverse", str(f["vae"]), "--steps", "100000000", "--out", "OUT"],
                                    ["traverse --steps 100000000"]),
    # a model folder whose config.json has huge dimensions, for every command that loads one
    "sample-huge-config": lambda f, t: (["sample", str(f["vae_huge"]), "--n", "1", "--out", "OUT"],
                                        ["config.json", "model 'vae'"]),
    "reconstruct-huge-config": lambda f, t: (["reconstruct", str(f["vae_huge"]), "syntone", "--out", "OUT"],
                                             ["config.json"]),
    "embed-huge-config": lambda f, t: (["embed", str(f["vae_huge"]), "syntone", "--out", "OUT.npz"], ["config.json"]),
    "separate-config-2**40-sources": lambda f, t: (
        ["separate", str(_edited(f["separator"], t, num_sources=2**40)), str(f["hour_model_rate"]), "--out", "OUT"],
        ["separator: 1099511627776 source decoders"]),
    # embed, reconstruct, separate: oversize inputs
    # (embed and reconstruct cut each file of a folder on its own, so nothing is padded to the
    # longest file: the folder costs its clips; embed streams them, reconstruct holds them all)
    "reconstruct-hour-flac-folder": lambda f, t: (
        ["--max-memory", "64M", "reconstruct", str(f["vae"]), str(f["hour_folder"]), "--out", "OUT"],
        ["hour-folder: ", " clips", "64.0 MiB"]),
    "embed-npz-declares-huge-shape": lambda f, t: (
        ["embed", str(f["vae"]), str(npz_declaring(t / "e.npz", "signals", (10**5, 1, 10**8), sample_rate=np.int64(SR))),
         "--out", "OUT.npz"], ["e.npz", "'signals'"]),
    "reconstruct-long-file-all-clips": lambda f, t: (
        ["--max-memory", "64M", "reconstruct", str(f["vae"]), str(f["hour"]), "--out", "OUT"],
        ["hour.flac: 36000 clips", "64.0 MiB"]),
    "reconstruct-num-examples": lambda f, t: (["reconstruct", str(f["vae"]), "syntone", "--num-examples", "1000000000",
                                               "--out", "OUT"], ["syntone"]),
    "separate-whole-file-over-budget": lambda f, t: (
        ["--max-memory", "256M", "separate", str(f["separator"]), str(f["hour"]), "--out", "OUT"],
        ["hour.flac", "separating 57600000 frames", "256.0 MiB", "set by --max-memory"]),
    "separate-huge-batch": lambda f, t: (
        ["separate", str(f["separator"]), str(f["hour_model_rate"]), "--chunk-seconds", "10", "--overlap-seconds", "9.9",
         "--batch", "1000000000", "--out", "OUT"], ["separating in chunks of 80000 samples"]),
    # benchmarks: size options
    "benchmark-syntone-num-train": lambda f, t: (["benchmark", "syntone", "--num-train", "100000000", "--no-progress",
                                                  "--out", "OUT"], ["syntone"]),
    "benchmark-syntone-latent-dim": lambda f, t: (["benchmark", "syntone", "--profile", "tiny", "--latent-dim", str(2**40),
                                                   "--no-progress", "--out", "OUT"], ["model 'vae'"]),
    "benchmark-decvae-num-train": lambda f, t: (["benchmark", "decvae", "--num-train", "100000000", "--no-progress",
                                                 "--out", "OUT"], ["simvowels"]),
    "benchmark-spectrogram-train-tracks": lambda f, t: (
        ["benchmark", "separate", "--train-tracks", "100000000", "--no-progress", "--out", "OUT"],
        ["demo tracks"]),
}


def _edited(model: Path, tmp: Path, **config) -> Path:
    """A copy of the model folder ``model`` with ``config`` merged into its config.json."""
    folder = tmp / f"{model.name}-edited"
    shutil.copytree(model, folder)
    doc = json.loads((folder / "config.json").read_text())
    doc["config"].update(config)
    (folder / "config.json").write_text(json.dumps(doc))
    return folder


def _yaml(tmp: Path, text: str) -> Path:
    p = tmp / "cfg.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("case", sorted(CASES))
def test_resource_bound(case, files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, needles = CASES[case](files, tmp_path)
    run_refused(argv, tmp_path, capsys, ["memory budget", *needles])
    assert not (tmp_path / "runs").exists()


# A WAV header claiming 2³¹−1 Hz: refused at load by every command that reads audio.
RATE_CASES = {
    "train-folder": lambda f, t: ["train", "vae", "--data", str(_folder_of(t, f["wav_2g"])), "--no-progress", "--out", "OUT"],
    "reconstruct": lambda f, t: ["reconstruct", str(f["vae"]), str(f["wav_2g"]), "--out", "OUT"],
    "embed": lambda f, t: ["embed", str(f["vae"]), str(f["wav_2g"]), "--out", "OUT.npz"],
    "traverse": lambda f, t: ["traverse", str(f["vae"]), "--input", str(f["wav_2g"]), "--out", "OUT"],
    "separate": lambda f, t: ["separate", str(f["separator"]), str(f["wav_2g"]), "--out", "OUT"],
    "unmix": lambda f, t: ["unmix", str(f["wav_2g"]), "--out", "OUT"],
}


def _folder_of(tmp: Path, wav: Path) -> Path:
    folder = tmp / "clips"
    folder.mkdir()
    shutil.copy(wav, folder / "rate.wav")
    return folder


@pytest.mark.parametrize("case", sorted(RATE_CASES))
def test_wav_claiming_2147483647_hz_is_refused(case, files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_refused(RATE_CASES[case](files, tmp_path), tmp_path, capsys, ["rate.wav", "sample_rate 2147483647 Hz", "outside"])


@pytest.mark.parametrize("rate, needle", [(1e30, "1e+30"), (np.nan, "nan"), (np.inf, "inf"), (8000 + 1j, "complex"),
                                          (0, "outside"), (-8000, "outside"), (8000.5, "8000.5")])
def test_npz_sample_rate_must_be_sane(rate, needle, tmp_path, capsys, monkeypatch):
    """``sample_rate=1e30`` used to train and then crash ``sample``: now refused at load."""
    monkeypatch.chdir(tmp_path)
    signals = np.random.default_rng(0).standard_normal((8, 800)).astype(np.float32)
    np.savez(tmp_path / "d.npz", signals=signals, sample_rate=np.asarray(rate))
    np.savez(tmp_path / "m.npz", mixtures=signals[:2] + signals[2:4], sample_rate=np.asarray(rate))
    run_refused(["train", "vae", "--data", str(tmp_path / "d.npz"), "--epochs", "1", "--no-progress", "--out", "OUT"],
                tmp_path, capsys, ["d.npz", "sample_rate", needle])
    run_refused(["unmix", str(tmp_path / "m.npz"), "--out", "OUT"], tmp_path, capsys, ["m.npz", "sample_rate", needle])


# ------------------------------------------------------------------------------------
# --max-memory and SIGVAE_MAX_MEMORY


def test_max_memory_flag_lowers_and_raises_the_budget(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small = ["data", "syntone", "--n", "64", "--duration", "0.1", "--out"]  # 64 × 1600 values: about 2 MB of work
    run_refused(["--max-memory", "1M", *small, "OUT.npz"], tmp_path, capsys, ["1.0 MiB", "set by --max-memory"])
    assert main(small + [str(tmp_path / "a.npz")]) == 0  # the default budget allows it
    assert (tmp_path / "a.npz").is_file()
    monkeypatch.setenv(ENV_VAR, "1M")  # the env var lowers it too ...
    run_refused([*small, "OUT.npz"], tmp_path, capsys, [f"set by {ENV_VAR}"])
    assert main(["--max-memory", "64M", *small, str(tmp_path / "b.npz")]) == 0  # ... and the flag raises it again
    assert (tmp_path / "b.npz").is_file()
    capsys.readouterr()


@pytest.mark.parametrize("size", ["12X", "0", "-1G", "lots"])
def test_bad_max_memory_is_one_line(size, tmp_path, capsys):
    code = main([f"--max-memory={size}", "data", "syntone", "--n", "4", "--duration", "0.05", "--out", str(tmp_path / "o.npz")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("sigvae: error: memory size"), err
    assert not (tmp_path / "o.npz").exists()


def test_bad_env_budget_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "much")
    run_refused(["data", "syntone", "--n", "4", "--duration", "0.05", "--out", "OUT.npz"], tmp_path, capsys,
                [f"{ENV_VAR}='much'"])


# ------------------------------------------------------------------------------------
# API: the loaders check before they allocate


def test_npz_headers_are_checked_before_numpy_allocates(tmp_path):
    from sigvae.data import load_npz
    from sigvae.data.files import npz_headers

    path = npz_declaring(tmp_path / "h.npz", "signals", (10**7, 1, 10**7), sample_rate=np.int64(SR))
    shape, dtype, nbytes, held = npz_headers(path)["signals"]
    assert shape == (10**7, 1, 10**7) and dtype == np.float32 and nbytes == 4 * 10**14 and held == 0
    with pytest.raises(DataError, match="memory budget"):
        load_npz(path)
    # A small declared shape with its data missing is refused too (not left to numpy).
    path = npz_declaring(tmp_path / "s.npz", "signals", (4, 800), sample_rate=np.int64(SR))
    with pytest.raises(DataError, match=r"declares shape \(4, 800\) of float32 \(12800 bytes\) but holds only 0 bytes"):
        load_npz(path)


def test_model_config_with_huge_dims_is_refused_before_building(files):
    from sigvae.modelfile import load

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with pytest.raises(DataError, match="config.json: model 'vae' with .* parameter and buffer values"):
        load(files["vae_huge"])
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before < GiB


def test_sizes_that_overflow_torch_are_one_line(tmp_path, capsys, monkeypatch):
    """A latent size whose weight count overflows PyTorch's own arithmetic, even on the meta device."""
    monkeypatch.chdir(tmp_path)
    run_refused(["train", "vae", "--latent-dim", str(2**53), "--num-examples", "8", "--duration", "0.05", "--no-progress",
                 "--out", "OUT"], tmp_path, capsys, ["model 'vae' cannot be built with these sizes", "overflow"])


def test_weights_file_header_is_compared_before_building(files, tmp_path):
    """A config whose shapes differ from the weights' declared shapes is refused from the headers."""
    from sigvae.modelfile import load

    folder = tmp_path / "m"
    shutil.copytree(files["vae"], folder)
    doc = json.loads((folder / "config.json").read_text())
    doc["config"]["hidden_dim"] = 48
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="model.safetensors: tensor .* has shape"):
        load(folder)
    doc["config"]["sample_rate"] = 2**31 - 1
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="config.json: config: sample_rate 2147483647 Hz is outside"):
        load(folder)


def test_data_options_for_files_are_validated(tmp_path, capsys, monkeypatch):
    from sigvae.data import load_signals

    np.savez(tmp_path / "d.npz", signals=np.zeros((4, 800), np.float32) + 0.1, sample_rate=np.int64(SR))
    folder = tmp_path / "clips"
    folder.mkdir()
    sf.write(folder / "a.wav", np.zeros(800, np.float32) + 0.1, SR)
    for spec in (str(tmp_path / "d.npz"), str(folder)):
        assert len(load_signals(spec, options={})[0]) in (1, 4)
        with pytest.raises(ConfigError, match="unknown key 'durration'; .* takes no data_options") as e:
            load_signals(spec, options={"durration": 0.1})
        assert spec in str(e.value) and "allowed keys: none" in str(e.value)
        with pytest.raises(ConfigError, match="expected a mapping"):
            load_signals(spec, options=["duration"])
    # Through the CLI: a config file's data_options for an .npz, one line, exit 2.
    monkeypatch.chdir(tmp_path)
    cfg = _yaml(tmp_path, "data: d.npz\ndata_options: {num_freqs: 5}\n")
    run_refused(["train", "vae", "--config", str(cfg), "--no-progress", "--out", "OUT"], tmp_path, capsys,
                ["d.npz", "unknown key 'num_freqs'", "allowed keys: none"])


def test_generators_check_before_rendering():
    from sigvae.data import load_signals, make_source
    from sigvae.data.demo_tracks import DemoTracksConfig, demo_track
    from sigvae.data.mixtures import make_mixture
    from sigvae.data.tracks import demo_track_list

    set_memory_budget(64 << 20)
    with pytest.raises(DataError, match="syntone: 100000 examples"):
        load_signals("syntone", n=100_000)
    with pytest.raises(DataError, match="syntone harmonics"):  # a tiny freq_min means millions of harmonics
        make_source("syntone", {"freq_min": 0.001, "num_freqs": 2, "duration": 0.01}).signal_set(100, 0)
    with pytest.raises(DataError, match="simvowels"):
        load_signals("simvowels", n=10_000)
    with pytest.raises(DataError, match="periodic mixture of 3 sources on 1000 sensors"):
        make_mixture({"sources": 3, "sensors": 1000, "length": 10_000})
    with pytest.raises(DataError, match="demo track"):
        demo_track(0, DemoTracksConfig(duration=1000))
    with pytest.raises(DataError, match="1000 demo tracks"):
        demo_track_list(1000, 0, seconds=8)
    with pytest.raises(DataError, match="sample_rate"):
        make_source("syntone", {"sample_rate": 10**8, "freq_max": 1000})
