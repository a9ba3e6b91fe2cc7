"""Multitrack data for source separation: MUSDB-style folders of mixtures and stems.

A data folder holds one sub-folder per track; each track folder holds one audio file
per source (``vocals.wav``, ``accompaniment.wav``, ``drums.flac``, any names) and
optionally ``mixture.wav``. Without a mixture file the mixture is the sum of the stems.
A folder that itself holds audio files is read as a single track.

:func:`load_tracks` reads and checks them (one sample rate and channel layout after
resampling with ``scipy.signal.resample_poly`` and optional down-mixing to mono);
:class:`TrackCrops` serves fixed-length crops as training examples
``{"mix": [C, T], "stems": [K, C, T], "index"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import check
from ..errors import DataError
from .files import AUDIO_SUFFIXES, contained

MIXTURE = "mixture"


@dataclass
class Track:
    """One track: ``mixture`` [C, T] and ``stems`` [K, C, T] (float32) at ``sample_rate`` Hz."""

    name: str
    sample_rate: int
    mixture: np.ndarray
    stems: np.ndarray
    stem_names: list[str]

    @property
    def seconds(self) -> float:
        return self.mixture.shape[-1] / self.sample_rate


@dataclass
class TrackDataConfig:
    """``data_options`` of separation training (``sigvae train separator --data DIR``).

    ``duration``: crop length in seconds; ``sample_rate``: 0 keeps the first track's rate;
    ``mono``: average channels; ``stems``: the sources to separate (default every stem
    found); when it names a subset, the remainder (mixture − chosen stems) becomes one
    more source called ``rest_name``. ``tracks``/``track_seconds``: how many demo tracks
    ``--data demo-tracks`` generates in memory.
    """

    duration: float = 1.0
    sample_rate: int = 0
    mono: bool = True
    stems: list[str] = field(default_factory=list)
    rest_name: str = "rest"
    tracks: int = 16
    track_seconds: float = 8.0

    def validate(self) -> None:
        check(self.duration > 0, f"duration must be positive, got {self.duration}")
        check(self.sample_rate >= 0, f"sample_rate must be >= 0, got {self.sample_rate}")
        check(self.tracks >= 1, f"tracks must be >= 1, got {self.tracks}")
        check(self.track_seconds >= 0.5, f"track_seconds must be >= 0.5, got {self.track_seconds}")


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample ``x`` [..., T] from ``rate`` to ``target`` Hz (polyphase, along the last axis)."""
    from scipy.signal import resample_poly

    if rate == target:
        return np.asarray(x, dtype=np.float32)
    from ..limits import check_allocation, check_bytes, resample_filter_bytes, resampled_length

    x = np.asarray(x)
    check_bytes(f"resampling {rate} Hz → {target} Hz", resample_filter_bytes(rate, target))
    # resample_poly's float64 output and the float32 copy returned
    check_allocation(f"resampling {rate} Hz → {target} Hz", (*x.shape[:-1], resampled_length(x.shape[-1], rate, target)), 12)
    g = int(np.gcd(int(rate), int(target)))
    return resample_poly(x, target // g, rate // g, axis=-1).astype(np.float32)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Read an audio file → (float32 [C, T], sample rate); DataError if unreadable, empty or cut short."""
    from ..limits import check_allocation
    from .audio import audio_file_info, read_audio_file

    info = audio_file_info(path)  # a sane sample rate, not empty, and the size before reading
    check_allocation(str(path), (info.channels, info.frames), 8)  # float32 as read + the transposed copy
    audio, sr = read_audio_file(path, "float32")  # the frames its header declares, or DataError
    if not np.all(np.isfinite(audio)):
        raise DataError(f"{path}: contains NaN or inf samples")
    return np.ascontiguousarray(audio.T), int(sr)


def _audio_files(folder: Path) -> dict[str, Path]:
    files = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES:
            contained(p, folder, "stem file")
            if p.stem in files:
                raise DataError(f"{folder}: two audio files for source {p.stem!r} ({files[p.stem].name}, {p.name})")
            files[p.stem] = p
    return files


def track_folders(folder: str | Path) -> list[Path]:
    """The track folders under ``folder`` (sorted), or ``[folder]`` if it holds audio itself."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: track folder does not exist")
    subs = [contained(p, folder, "track folder") for p in sorted(folder.iterdir())
            if p.is_dir() and not p.name.startswith(".")]
    subs = [p for p in subs if _audio_files(p)]
    if subs:
        return subs
    if _audio_files(folder):
        return [folder]
    raise DataError(f"{folder}: no track folders (sub-folders with one audio file per stem, e.g. vocals.wav, accompaniment.wav)")


def _check_track_memory(folder: Path, paths: list[Path], arrays: int, sample_rate: int | None) -> None:
    """Check a track's working set against the memory budget from the files' headers alone.

    float32 [C, T]: every file as read, its layout copy, the stacked stems and the mixture
    (``arrays`` of them), and at ``sample_rate`` the resampled stems and mixture.
    """
    from ..limits import check_bytes, resampled_length
    from .audio import audio_file_info

    infos = [audio_file_info(p) for p in paths]
    chans, frames, rate = max(i.channels for i in infos), max(i.frames for i in infos), infos[0].samplerate
    out = resampled_length(frames, rate, sample_rate) if sample_rate else frames
    need = 4 * chans * (2 * len(infos) * frames + arrays * frames + 3 * arrays * out)
    check_bytes(f"{folder}: track of {len(infos)} files ({chans} channel(s), {frames} frames at {rate} Hz)", need)


def read_track(folder: str | Path, sample_rate: int | None = None, mono: bool = True,
               stems: list[str] | None = None, rest_name: str = "rest") -> Track:
    """Read one track folder; see the module docstring. Stems are sorted by name unless ``stems`` orders them."""
    folder = Path(folder)
    files = _audio_files(folder)
    mix_path = files.pop(MIXTURE, None)
    if not files:
        raise DataError(f"{folder}: no stem files besides the mixture; expected one audio file per source")
    names = list(stems) if stems else sorted(files)
    missing = [s for s in names if s not in files]
    if missing:
        raise DataError(f"{folder}: no file for stem {missing[0]!r}; found {', '.join(sorted(files))}")
    order = names + ([MIXTURE] if mix_path else []) + ([s for s in sorted(files) if s not in names] if stems else [])
    _check_track_memory(folder, [mix_path if name == MIXTURE else files[name] for name in order], len(names) + 2,
                        sample_rate)
    audio, rates = {}, {}
    for name in order:
        path = mix_path if name == MIXTURE else files[name]
        audio[name], rates[name] = read_audio(path)
    if len(set(rates.values())) > 1:
        raise DataError(f"{folder}: files have different sample rates ({', '.join(f'{k} {v} Hz' for k, v in rates.items())})")
    rate = next(iter(rates.values()))
    lengths = {k: a.shape[-1] for k, a in audio.items()}
    n = min(lengths.values())
    if max(lengths.values()) - n > max(1, rate // 100):
        raise DataError(f"{folder}: stems differ in length by more than 10 ms ({', '.join(f'{k} {v}' for k, v in lengths.items())} samples)")
    chans = max(a.shape[0] for a in audio.values())
    bad = [k for k, a in audio.items() if a.shape[0] not in (1, chans)]
    if bad:
        raise DataError(f"{folder}: {bad[0]} has {audio[bad[0]].shape[0]} channels, other files {chans}")
    audio = {k: np.broadcast_to(a[:, :n], (chans, n)).astype(np.float32) for k, a in audio.items()}
    stem_arr = np.stack([audio[s] for s in names])
    # Without mixture.wav the mixture is the sum of every stem file, chosen or not.
    mixture = audio[MIXTURE] if mix_path else np.sum([a for k, a in audio.items() if k != MIXTURE], axis=0)
    if stems and len(names) < len(files):  # the stems not chosen form one more source
        stem_arr = np.concatenate([stem_arr, (mixture - stem_arr.sum(0))[None]])
        names = names + [rest_name]
    if mono:
        stem_arr, mixture = stem_arr.mean(1, keepdims=True), mixture.mean(0, keepdims=True)
    if sample_rate and sample_rate != rate:
        stem_arr, mixture, rate = resample(stem_arr, rate, sample_rate), resample(mixture, rate, sample_rate), sample_rate
    return Track(folder.name, rate, mixture.astype(np.float32), stem_arr.astype(np.float32), names)


def load_tracks(folder: str | Path, sample_rate: int | None = None, mono: bool = True,
                stems: list[str] | None = None, rest_name: str = "rest") -> list[Track]:
    """Read every track under ``folder`` at one rate (default: the first track's) and layout.

    Every track must have the same stems and channel count; a DataError names the first
    track that differs.
    """
    from ..limits import check_bytes, resampled_length
    from .audio import audio_file_info

    folders = track_folders(folder)
    # Every track stays in memory (float32 stems + mixture): sum their sizes from the headers.
    total, target = 0, sample_rate
    for path in folders:
        infos = [audio_file_info(p) for p in _audio_files(path).values()]
        target = target or infos[0].samplerate
        total += 4 * max(i.channels for i in infos) * (len(infos) + 1) * max(
            resampled_length(i.frames, i.samplerate, target) for i in infos)
    check_bytes(f"{folder}: {len(folders)} track(s) held in memory", total)
    out: list[Track] = []
    for path in folders:
        tr = read_track(path, sample_rate or (out[0].sample_rate if out else None), mono, stems, rest_name)
        if out and tr.stem_names != out[0].stem_names:
            raise DataError(f"{path}: stems {tr.stem_names} differ from {out[0].stem_names} of {out[0].name}; "
                            "pass data_options stems: [...] to choose common ones")
        if out and tr.mixture.shape[0] != out[0].mixture.shape[0]:
            raise DataError(f"{path}: {tr.mixture.shape[0]} channels but {out[0].name} has {out[0].mixture.shape[0]} (use mono: true)")
        out.append(tr)
    return out


def demo_track_list(n: int, seed: int, seconds: float = 8.0, sample_rate: int = 16000, three_stems: bool = False) -> list[Track]:
    """``n`` generated demo tracks (see :mod:`sigvae.data.demo_tracks`) as :class:`Track` objects."""
    from ..limits import check_allocation
    from .demo_tracks import DemoTracksConfig, demo_track

    cfg = DemoTracksConfig(duration=seconds, sample_rate=sample_rate, three_stems=three_stems)
    cfg.validate()
    # float32 mixture + stems of every track, all kept
    check_allocation(f"{n} demo tracks of {seconds:g} s", (n, len(cfg.stem_names) + 1, round(seconds * sample_rate)), 4)
    tracks = []
    for i in range(n):
        t = demo_track(seed * 100_000 + i, cfg)
        stems = np.stack([t[s][None] for s in cfg.stem_names])
        tracks.append(Track(f"demo_{seed}_{i:03d}", sample_rate, t["mixture"][None], stems, cfg.stem_names))
    return tracks


class TrackCrops(Dataset):
    """Fixed-length crops of tracks: items ``{"mix": [C, T], "stems": [K, C, T], "index"}``.

    Crop ``i`` comes from track ``i mod n_tracks`` at an offset drawn from (seed, i), so
    the set of crops is fixed (the training sampler reshuffles it each epoch) and a
    resumed run sees the same data. Tracks shorter than a crop are zero-padded.
    """

    def __init__(self, tracks: list[Track], length: int, n_crops: int, seed: int = 0):
        if not tracks:
            raise DataError("no tracks to crop")
        self.tracks, self.length, self.n, self.seed = tracks, int(length), int(n_crops), int(seed)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        tr = self.tracks[i % len(self.tracks)]
        total = tr.mixture.shape[-1]
        start = int(np.random.default_rng([self.seed, i, 31]).integers(0, max(1, total - self.length + 1)))
        mix = np.zeros((tr.mixture.shape[0], self.length), np.float32)
        stems = np.zeros((tr.stems.shape[0], tr.stems.shape[1], self.length), np.float32)
        seg = slice(start, min(total, start + self.length))
        m = seg.stop - seg.start
        mix[:, :m] = tr.mixture[:, seg]
        stems[..., :m] = tr.stems[..., seg]
        return {"mix": torch.from_numpy(mix), "stems": torch.from_numpy(stems), "index": i}


def separation_datasets(spec: str, *, seed: int, val_fraction: float, num_examples: int,
                        options: dict | None = None) -> tuple[TrackCrops, TrackCrops | None, dict, dict]:
    """Resolve a separation data spec for training.

    ``spec``: a folder of track folders, or ``demo-tracks`` (generated in memory from
    ``seed``). Tracks are split into training and validation tracks (validation gets
    ``val_fraction`` of them, at least one when there are two or more); ``num_examples``
    crops are split the same way. Returns (train, val or None, model config overrides,
    metadata for ``training.json``).
    """
    from ..config import from_dict

    opts = from_dict(TrackDataConfig, options or {}, where="data_options")
    if str(spec).replace("_", "-") == "demo-tracks":
        tracks = demo_track_list(opts.tracks, seed, opts.track_seconds, opts.sample_rate or 16000)
        if opts.mono is False or opts.stems:
            raise DataError("data_options mono/stems do not apply to demo-tracks; write them with 'sigvae data demo-tracks' and select from the folder")
    else:
        path = Path(spec)
        if not path.is_dir():
            raise DataError(f"data {spec!r}: separation needs a folder of track folders (mixture.wav + one WAV per stem) or 'demo-tracks'")
        tracks = load_tracks(path, opts.sample_rate or None, opts.mono, opts.stems or None, opts.rest_name)
    sr = tracks[0].sample_rate
    length = max(1, int(round(opts.duration * sr)))
    order = np.random.default_rng([seed, 5]).permutation(len(tracks))
    n_val = 0 if len(tracks) < 2 or val_fraction <= 0 else min(len(tracks) - 1, max(1, int(round(len(tracks) * val_fraction))))
    val_tracks = [tracks[i] for i in sorted(order[:n_val])]
    train_tracks = [tracks[i] for i in sorted(order[n_val:])]
    n_val_crops = 0 if not n_val else max(len(val_tracks), int(round(num_examples * n_val / len(tracks))))
    train = TrackCrops(train_tracks, length, max(len(train_tracks), num_examples - n_val_crops), seed)
    val = TrackCrops(val_tracks, length, n_val_crops, seed + 1) if n_val else None
    overrides = {"in_channels": int(tracks[0].mixture.shape[0]), "length": length, "sample_rate": sr,
                 "num_sources": len(tracks[0].stem_names), "source_names": list(tracks[0].stem_names)}
    meta = {"tracks": len(tracks), "train_tracks": [t.name for t in train_tracks], "val_tracks": [t.name for t in val_tracks],
            "crops": len(train) + (len(val) if val else 0), "sample_rate": sr, "length": length,
            "channels": overrides["in_channels"], "stems": list(tracks[0].stem_names),
            "seconds_of_audio": round(sum(t.seconds for t in tracks), 3)}
    return train, val, overrides, meta
