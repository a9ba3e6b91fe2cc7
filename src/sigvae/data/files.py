"""Reading users' own signals: ``.npz`` arrays and folders of WAV/FLAC files.

Every problem is raised as :class:`~sigvae.errors.DataError` naming the file and what
was expected, so the CLI can print one line and exit 2.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import SignalSet

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def contained(path: str | Path, folder: str | Path, what: str = "file") -> Path:
    """Return ``path`` if it resolves (symlinks followed) inside ``folder``; else raise DataError.

    A data folder is the unit a user hands over; a symlink or a ``../`` entry inside it
    that points elsewhere would make sigvae read files the user never named.
    """
    path, folder = Path(path), Path(folder)
    real, root = path.resolve(), folder.resolve()
    if not real.is_relative_to(root):
        raise DataError(f"{path}: {what} points outside {folder} (to {real}); refusing to follow it")
    return path


def plain_name(name: str, where: str) -> str:
    """Return ``name`` if it names an entry directly inside a folder (no separators, no '..')."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or Path(name).is_absolute():
        raise DataError(f"{where}: {name!r} must be a plain file name inside the folder (no '/', '..' or absolute paths)")
    return name


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Open an ``.npz`` safely (no pickles) and return its arrays by name."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file does not exist")
    # np.load falls back to unpickling anything that is not a zip or .npy (refused below
    # with a misleading message), so name a non-zip file for what it is first.
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (expected a zip archive of .npy arrays)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DataError(f"{path}: holds an object (pickled) array; sigvae only reads numeric arrays") from None
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None


def load_npz(path: str | Path) -> SignalSet:
    """Load ``signals`` [N, T] or [N, C, T], ``sample_rate`` and optional ``factors``/``factor_names``."""
    path = Path(path)
    z = read_npz(path)
    if "signals" not in z:
        raise DataError(f"{path}: missing key 'signals' (found: {', '.join(sorted(z)) or 'nothing'})")
    if "sample_rate" not in z:
        raise DataError(f"{path}: missing key 'sample_rate' (the sampling rate in Hz)")
    sr = np.asarray(z["sample_rate"])
    if sr.size != 1 or not np.issubdtype(sr.dtype, np.number):
        raise DataError(f"{path}: 'sample_rate' must be one number, got shape {sr.shape} dtype {sr.dtype}")
    names = [str(x) for x in z["factor_names"].tolist()] if "factor_names" in z else []
    sizes = [int(x) for x in z["factor_sizes"].tolist()] if "factor_sizes" in z else []
    try:
        return SignalSet(z["signals"], int(sr.item()), z.get("factors"), names, sizes, name=path.name)
    except DataError as e:
        raise DataError(f"{path}: {str(e).split(': ', 1)[-1]}") from None


def _read_factor_csv(path: Path, files: list[Path]) -> tuple[np.ndarray, list[str]]:
    """Read ``file,<factor>,...`` rows; string values are mapped to integer codes per column."""
    if not path.is_file():
        raise DataError(f"{path}: factor CSV does not exist")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or reader.fieldnames[0] != "file":
            raise DataError(f"{path}: first column must be 'file', got {reader.fieldnames}")
        names = reader.fieldnames[1:]
        if not names:
            raise DataError(f"{path}: no factor columns after 'file'")
        table = {plain_name(row["file"] or "", f"{path}: column 'file'"): row for row in reader}
    cols = []
    for name in names:
        raw = []
        for fp in files:
            row = table.get(fp.name) or table.get(fp.stem)
            if row is None:
                raise DataError(f"{path}: no row for audio file {fp.name!r}")
            raw.append(row[name])
        try:
            vals = np.array([int(v) for v in raw])
        except ValueError:
            levels = sorted(set(raw))
            vals = np.array([levels.index(v) for v in raw])
        if vals.min() < 0:
            raise DataError(f"{path}: column {name!r} has negative values")
        cols.append(vals)
    return np.stack(cols, axis=1), list(names)


def load_audio_folder(folder: str | Path, factors_csv: str | Path | None = None) -> SignalSet:
    """Read every audio file in ``folder`` (sorted by name) into one SignalSet.

    Clips shorter than the longest are zero-padded at the end; all files must share one
    sample rate and channel count. ``factors_csv`` (default ``folder/factors.csv`` if it
    exists) has a ``file`` column and one column per factor.
    """
    import soundfile as sf

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder does not exist")
    files = sorted(contained(p, folder, "audio file") for p in folder.iterdir()
                   if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found")
    clips, rate, chans = [], None, None
    for fp in files:
        try:
            audio, sr = sf.read(fp, dtype="float32", always_2d=True)
        except Exception as e:  # soundfile raises several types for corrupt files
            raise DataError(f"{fp}: cannot be read as audio ({str(e).strip().splitlines()[0]})") from None
        if audio.shape[0] == 0:
            raise DataError(f"{fp}: audio file is empty (0 samples)")
        if rate is None:
            rate, chans = sr, audio.shape[1]
        if sr != rate:
            raise DataError(f"{fp}: sample rate {sr} Hz differs from {rate} Hz of {files[0].name}")
        if audio.shape[1] != chans:
            raise DataError(f"{fp}: {audio.shape[1]} channels, but {files[0].name} has {chans}")
        clips.append(audio.T)
    length = max(c.shape[1] for c in clips)
    signals = np.zeros((len(clips), chans, length), dtype=np.float32)
    for i, c in enumerate(clips):
        signals[i, :, : c.shape[1]] = c
    factors, names = None, []
    csv_path = Path(factors_csv) if factors_csv else folder / "factors.csv"
    if not factors_csv and csv_path.is_file():  # an explicitly named CSV may live anywhere
        contained(csv_path, folder, "factor CSV")
    if factors_csv or csv_path.is_file():
        factors, names = _read_factor_csv(csv_path, files)
    return SignalSet(signals, rate, factors, names, name=folder.name)
