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
from ..limits import check_allocation, check_bytes, check_sample_rate
from .audio import Conversion, audio_file_info, read_audio_file
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


def npz_headers(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype | None, int, int]]:
    """Name → (shape, dtype, bytes declared, bytes held) of every member of the ``.npz`` at
    ``path``, read from the ``.npy`` headers alone (nothing past them is decompressed,
    nothing is allocated). A member that is not ``.npy`` (``np.load`` hands it over as raw
    bytes) gets shape ``(size,)`` and dtype None. DataError for an unreadable header.
    """
    from numpy.lib import format as npformat

    path = Path(path)
    out: dict[str, tuple[tuple[int, ...], np.dtype | None, int, int]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    out[info.filename] = ((info.file_size,), None, info.file_size, info.file_size)
                    continue
                name = info.filename[:-4]
                with zf.open(info) as f:
                    version = npformat.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = npformat.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = npformat.read_array_header_2_0(f)
                    else:  # 3.0: only for UTF-8 field names of structured arrays, never signals
                        raise DataError(f"{path}: array {name!r} uses .npy format {version[0]}.{version[1]} "
                                        "(structured fields); sigvae reads numeric arrays only")
                    held = max(0, info.file_size - f.tell())
                shape = tuple(int(v) for v in shape)
                nbytes = int(np.prod([float(v) for v in shape])) * dtype.itemsize if shape else dtype.itemsize
                out[name] = (shape, dtype, nbytes, held)
    except DataError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    return out


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Open an ``.npz`` safely (no pickles) and return its arrays by name.

    The shapes its headers declare are checked before any array is read: against the
    memory budget (each array and one converted copy; :mod:`sigvae.limits`), and against
    the bytes each member holds.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file does not exist")
    # np.load falls back to unpickling anything that is not a zip or .npy (refused below
    # with a misleading message), so name a non-zip file for what it is first.
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (expected a zip archive of .npy arrays)")
    headers = npz_headers(path)
    for name, (shape, dtype, _, _) in headers.items():
        check_allocation(f"{path}: array {name!r}", shape, 2 * (dtype.itemsize if dtype is not None else 1))
    check_bytes(f"{path}: its {len(headers)} arrays", 2 * sum(h[2] for h in headers.values()))
    for name, (shape, dtype, nbytes, held) in headers.items():
        if dtype is not None and not dtype.hasobject and nbytes > held:
            raise DataError(f"{path}: array {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) "
                            f"but holds only {held} bytes")
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
    sr = check_sample_rate(sr, str(path))
    names = [str(x) for x in _vector(z, "factor_names", path)] if "factor_names" in z else []
    sizes = _factor_sizes(z, path) if "factor_sizes" in z else []
    try:
        return SignalSet(z["signals"], sr, z.get("factors"), names, sizes, name=path.name)
    except DataError as e:
        raise DataError(f"{path}: {str(e).split(': ', 1)[-1]}") from None


def _vector(z: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    """``z[key]`` if it is a 1-D array (one entry per factor column); else DataError."""
    a = np.asarray(z[key])
    if a.ndim != 1:
        raise DataError(f"{path}: {key!r} must be a 1-D array with one entry per factor, got shape {a.shape}")
    return a


def _factor_sizes(z: dict[str, np.ndarray], path: Path) -> list[int]:
    """``factor_sizes``: whole numbers >= 1, one per factor column, each above that column's largest index."""
    a = _vector(z, "factor_sizes", path)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise DataError(f"{path}: 'factor_sizes' must be whole numbers, got dtype {a.dtype}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(a.astype(np.float64)) | (a != np.round(a)) | (a < 1) | (a > 2**62)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{path}: 'factor_sizes' must be whole numbers >= 1 (NaN and inf are not), "
                        f"got {a[i]!r} for factor {i}")
    sizes = [int(x) for x in a]
    f = z.get("factors")
    if f is not None and np.asarray(f).ndim in (1, 2) and np.issubdtype(np.asarray(f).dtype, np.number):
        f = np.asarray(f).reshape(len(f), -1) if np.asarray(f).ndim == 1 else np.asarray(f)
        if f.shape[1] != len(sizes):
            raise DataError(f"{path}: {len(sizes)} factor_sizes for {f.shape[1]} factor columns")
        if f.size and np.all(np.isfinite(f)):
            top = f.max(axis=0)
            for i, (m, n) in enumerate(zip(top, sizes)):
                if m >= n:
                    raise DataError(f"{path}: 'factor_sizes' says factor column {i} has {n} values, "
                                    f"but 'factors' holds index {int(m)} there (indices run 0..size-1)")
    return sizes


def _read_factor_csv(path: Path, files: list[Path]) -> tuple[np.ndarray, list[str]]:
    """Read ``file,<factor>,...`` rows; string values are mapped to integer codes per column."""
    if not path.is_file():
        raise DataError(f"{path}: factor CSV does not exist")
    # utf-8-sig: spreadsheet programs start their UTF-8 CSVs with a byte-order mark.
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        try:
            if not reader.fieldnames or reader.fieldnames[0] != "file":
                raise DataError(f"{path}: first column must be 'file', got {reader.fieldnames}")
            names = reader.fieldnames[1:]
            if not names:
                raise DataError(f"{path}: no factor columns after 'file'")
            table: dict[str, dict] = {}
            for row in reader:
                if None in row or None in row.values():  # DictReader's marks of a long / short row
                    found = sum(row.get(k) is not None for k in reader.fieldnames) + len(row.get(None) or [])
                    raise DataError(f"{path}: line {reader.line_num} has {found} values; the header has "
                                    f"{len(reader.fieldnames)} ({', '.join(reader.fieldnames)})")
                key = plain_name(row["file"] or "", f"{path}: line {reader.line_num}, column 'file'")
                if key in table:
                    raise DataError(f"{path}: line {reader.line_num}: a second row for {key!r}")
                table[key] = row
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text (byte {e.object[e.start:e.start + 1]!r}); "
                            "save the CSV as UTF-8") from None
        except csv.Error as e:  # a field over the csv module's limit (128 KiB), a NUL byte, ...
            raise DataError(f"{path}: line {reader.line_num}: not a readable CSV ({e})") from None
    cols = []
    for name in names:
        raw = []
        for fp in files:
            row = table.get(fp.name) or table.get(fp.stem)
            if row is None:
                raise DataError(f"{path}: no row for audio file {fp.name!r}")
            raw.append(row[name])
        try:
            vals = np.array([int(v) for v in raw], dtype=np.int64)
        except ValueError:
            levels = sorted(set(raw))
            vals = np.array([levels.index(v) for v in raw])
        except OverflowError:
            raise DataError(f"{path}: column {name!r} holds an integer too large for a factor index") from None
        if vals.min() < 0:
            raise DataError(f"{path}: column {name!r} has negative values")
        cols.append(vals)
    return np.stack(cols, axis=1), list(names)


def audio_folder_files(folder: str | Path) -> tuple[list[Path], list]:
    """The audio files directly in ``folder`` (sorted by name) and their headers.

    DataError if the folder does not exist, holds no audio file, an entry links outside it,
    a file cannot be read as audio (or is empty, or cut short), or the files disagree on
    their sample rate or channel count. Nothing but the headers is read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder does not exist")
    files = sorted(contained(p, folder, "audio file") for p in folder.iterdir()
                   if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found")
    infos = [audio_file_info(fp) for fp in files]  # DataError for an unreadable, empty or cut file
    for fp, info in zip(files, infos):
        if info.samplerate != infos[0].samplerate:
            raise DataError(f"{fp}: sample rate {info.samplerate} Hz differs from {infos[0].samplerate} Hz of {files[0].name}")
        if info.channels != infos[0].channels:
            raise DataError(f"{fp}: {info.channels} channels, but {files[0].name} has {infos[0].channels}")
    return files, infos


def audio_folder_conversion(folder: str | Path, sample_rate: int | None = None,
                            channels: int | None = None) -> Conversion:
    """What fitting the audio files of ``folder`` to ``sample_rate`` Hz and ``channels``
    channels resamples and mixes down, counted from the headers (:class:`Conversion`;
    ``describe()`` gives the line a command prints). None: the folder's own rate or channel
    count, i.e. nothing to change, which is what training on a folder does today (the model
    takes the folder's rate and channel count; files that disagree are refused).
    """
    _, infos = audio_folder_files(folder)
    out = Conversion(int(sample_rate or infos[0].samplerate), int(channels or infos[0].channels))
    for info in infos:
        out.add(info.samplerate, info.channels)
    return out


def folder_factors(folder: str | Path, files: list[Path],
                   factors_csv: str | Path | None = None) -> tuple[np.ndarray | None, list[str]]:
    """Factors [len(files), K] and their names from ``factors_csv`` (default ``folder/factors.csv``
    if it exists; it must lie inside the folder), or (None, []) when there is no CSV."""
    folder = Path(folder)
    csv_path = Path(factors_csv) if factors_csv else folder / "factors.csv"
    if not factors_csv and csv_path.is_file():  # an explicitly named CSV may live anywhere
        contained(csv_path, folder, "factor CSV")
    if factors_csv or csv_path.is_file():
        return _read_factor_csv(csv_path, files)
    return None, []


def npz_names(path: str | Path, count: int) -> list[str] | None:
    """The ``names`` member of the ``.npz`` at ``path`` (one text per signal), or None if it has none.

    DataError if ``names`` is not a 1-D array of text with ``count`` entries. Only that
    member is read (its header is checked against the memory budget first).
    """
    path = Path(path)
    header = npz_headers(path).get("names")
    if header is None:
        return None
    shape, dtype, _, _ = header
    if dtype is None or dtype.kind not in "US" or len(shape) != 1 or shape[0] != int(count):
        raise DataError(f"{path}: 'names' must be a 1-D array of text with one entry per signal ({int(count)}), "
                        f"got shape {shape} of {dtype if dtype is not None else 'raw bytes'}")
    check_allocation(f"{path}: array 'names'", shape, 2 * dtype.itemsize)
    try:
        with np.load(path, allow_pickle=False) as z:
            values = z["names"]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values.tolist()]


def load_audio_folder(folder: str | Path, factors_csv: str | Path | None = None) -> SignalSet:
    """Read every audio file in ``folder`` (sorted by name) into one SignalSet.

    Clips shorter than the longest are zero-padded at the end; all files must share one
    sample rate and channel count. ``factors_csv`` (default ``folder/factors.csv`` if it
    exists) has a ``file`` column and one column per factor.
    """
    folder = Path(folder)
    # Headers first: the rates and channel counts must agree, and the clips as read plus
    # the array zero-padded to the longest (float32) must fit the memory budget.
    files, infos = audio_folder_files(folder)
    longest = max(info.frames for info in infos)
    check_bytes(f"{folder}: {len(files)} clips of {infos[0].channels} channel(s) zero-padded to the longest "
                f"({longest} frames)", 4 * infos[0].channels * (sum(info.frames for info in infos) + len(files) * longest))
    # Rates and channel counts were compared on the headers above; each read holds exactly
    # the frames its header declares (read_audio_file refuses anything else).
    rate, chans = int(infos[0].samplerate), int(infos[0].channels)
    clips = [read_audio_file(fp, "float32")[0].T for fp in files]
    length = max(c.shape[1] for c in clips)
    signals = np.zeros((len(clips), chans, length), dtype=np.float32)
    for i, c in enumerate(clips):
        signals[i, :, : c.shape[1]] = c
    factors, names = folder_factors(folder, files, factors_csv)
    return SignalSet(signals, rate, factors, names, name=folder.name)
