"""Atomic file writing: a file sigvae writes is either complete or absent.

Each writer writes to a temporary file in the destination folder and renames it into
place (``os.replace`` is atomic on POSIX and Windows), so a killed run or a full disk
never leaves a half-written file that loads wrong.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _default_mode(directory: bool = False) -> int:
    """Permissions a plain ``open()``/``mkdir()`` would give: 0666 or 0777 minus the umask."""
    return (0o777 if directory else 0o666) & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as e:
            if e.filename is None and e.errno is not None:  # name the file the user will look for
                raise OSError(e.errno, e.strerror or str(e), str(path)) from e
            raise
        # mkstemp makes the file 0600 (private); a result file should get the usual
        # permissions, as if written with open(), so colleagues and tools can read it.
        os.chmod(tmp_path, _default_mode())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NumPy scalars and arrays allowed)."""
    return write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def write_csv(path: str | os.PathLike, rows: list[dict], fieldnames: list[str] | None = None) -> Path:
    """Write a list of dicts as CSV atomically; columns default to the keys in first-seen order."""
    if fieldnames is None:
        fieldnames = []
        for row in rows:
            fieldnames.extend(k for k in row if k not in fieldnames)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, buf.getvalue())


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Write arrays to an ``.npz`` atomically (never pickled: object arrays are refused)."""
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise TypeError(f"array {name!r} has dtype object; sigvae never writes pickles")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_bytes(path, buf.getvalue())


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write audio [T] or [C, T] (float, peak-safe) to a 16-bit WAV atomically."""
    import soundfile as sf

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.T  # soundfile wants [T, C]
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        audio = audio / peak
    buf = io.BytesIO()
    sf.write(buf, audio, int(sample_rate), format="WAV", subtype="PCM_16")
    return write_bytes(path, buf.getvalue())


def replace_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Move a fully written folder onto ``final_dir``, replacing an older one."""
    final_dir = Path(final_dir)
    if final_dir.exists():
        old = final_dir.with_name(f".{final_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final_dir, old)
        os.replace(tmp_dir, final_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp_dir, final_dir)


@contextlib.contextmanager
def staged_dir(final_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``final_dir``, else delete it.

    A command that fails half-way therefore leaves ``final_dir`` as it was.
    """
    final_dir = Path(final_dir)
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.", suffix=".staging", dir=final_dir.parent))
    try:
        os.chmod(stage, _default_mode(directory=True))  # mkdtemp makes it 0700; it may become final_dir
        yield stage
        if not final_dir.exists():
            os.replace(stage, final_dir)
            return
        for root, _dirs, files in os.walk(stage):
            rel = Path(root).relative_to(stage)
            (final_dir / rel).mkdir(parents=True, exist_ok=True)
            for name in files:
                os.replace(Path(root) / name, final_dir / rel / name)
        shutil.rmtree(stage, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


@contextlib.contextmanager
def claim(path: str | os.PathLike, wait: bool = False) -> Iterator[bool]:
    """Hold an exclusive claim on a piece of work shared through the file system.

    Yields True while this process holds the claim, False when another process holds it
    (with ``wait=True`` it blocks until the claim is free and always yields True). The
    claim is an advisory ``flock`` on the file ``path`` (created if missing, never
    deleted: removing a lock file while another process waits on it would let two hold
    "the" lock), so it ends with the ``with`` block or when the holder dies, killed or not,
    and on NFS (where Linux emulates ``flock`` with byte-range locks) it holds across
    machines. Where ``fcntl`` does not exist (Windows) every claim succeeds.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks here: one process per folder
        yield True
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
