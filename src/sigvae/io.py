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
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, DataError

#: A small JSON file in every output folder sigvae made: which command wrote it and the
#: files it wrote. A rerun of the same command may replace those files; anything else in
#: an existing folder is the user's and is never overwritten without ``--overwrite``.
MANIFEST = ".sigvae-output.json"

#: Set by the CLI for the command being run (``set_output_policy``): its name, written into
#: manifests, and whether ``--overwrite`` was given.
_POLICY: dict[str, Any] = {"command": "python", "overwrite": False}

#: While set, every file written through this module must land inside this folder.
_CONFINED_TO: ContextVar[Path | None] = ContextVar("sigvae_confined_to", default=None)


def is_global_zero() -> bool:
    """True in the process that should write files and speak (rank 0 of node 0, or no DDP):
    Lightning's DDP workers carry their ``LOCAL_RANK`` and ``NODE_RANK`` in the environment."""
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def set_output_policy(command: str, overwrite: bool = False) -> None:
    """Record the running command's name and its ``--overwrite`` flag (the CLI calls this once)."""
    _POLICY["command"] = str(command)
    _POLICY["overwrite"] = bool(overwrite)


# ---------------------------------------------------------------------------------------
# Names from files become path components only through safe_name.

_UNSAFE_CHARS = re.compile(r"[^\w .+=@,-]+")
MAX_NAME_LENGTH = 96


def safe_name(name: object, what: str = "name") -> str:
    """Map untrusted text (a source or factor name read from a file) to one safe path component.

    Returns a non-empty name of letters, digits, spaces and ``._-+=@,`` only — no separator, no
    ``..``, no leading dot (hidden file), at most :data:`MAX_NAME_LENGTH` characters — made
    by replacing every other run of characters with ``_``. Raises :class:`DataError` if
    nothing usable is left (an empty name, or one made only of dots and separators).
    """
    text = unicodedata.normalize("NFKC", str(name))
    out = " ".join(_UNSAFE_CHARS.sub("_", text).split()).strip("._ ")  # no tabs, newlines or runs of spaces
    out = out[:MAX_NAME_LENGTH].rstrip("._ ")
    if not out or not any(c.isalnum() for c in out):
        raise DataError(f"{what} {str(name)[:60]!r} cannot be used in a file name")
    return out


def safe_names(names: Iterable[object], what: str = "name") -> list[str]:
    """:func:`safe_name` of each name; DataError if two names map to the same file name."""
    out = [safe_name(n, what) for n in names]
    seen: dict[str, object] = {}
    for raw, safe in zip(names, out):
        key = safe.casefold()  # case-insensitive file systems would merge these too
        if key in seen and seen[key] != raw:
            raise DataError(f"{what}s {str(seen[key])[:40]!r} and {str(raw)[:40]!r} map to the same file name {safe!r}")
        seen[key] = raw
    return out


def check_inside(path: str | os.PathLike, root: str | os.PathLike) -> Path:
    """Return ``path`` if it resolves (symlinks followed) inside folder ``root``; else DataError."""
    path = Path(path)
    real_root = Path(root).resolve()
    real = path.parent.resolve() / path.name
    if path.name in ("", ".", "..") or not real.is_relative_to(real_root):
        raise DataError(f"refusing to write {str(path)!r}: it lies outside the output folder {str(root)!r}")
    if real.is_symlink() and not real.resolve().is_relative_to(real_root):
        raise DataError(f"refusing to write {str(path)!r}: it is a link leading outside {str(root)!r}")
    return path


@contextlib.contextmanager
def confined_to(root: str | os.PathLike) -> Iterator[Path]:
    """Within the block, every file written through this module must land inside ``root``."""
    token = _CONFINED_TO.set(Path(root))
    try:
        yield Path(root)
    finally:
        _CONFINED_TO.reset(token)


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
    root = _CONFINED_TO.get()
    if root is not None:
        check_inside(path, root)
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


def check_out_path(out: str | os.PathLike, flag: str = "--out") -> Path:
    """``out`` as a Path; ConfigError for an empty value (which would mean the current folder)."""
    if out is None or str(out).strip() == "":
        raise ConfigError(f"{flag} is empty; name the output to write")
    return Path(out)


def _lock_file(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def output_lock(target: str | os.PathLike, wait: bool = False) -> Iterator[Path]:
    """Hold the one lock of an output (folder or file) for the block; ConfigError if it is held.

    Two sigvae processes writing the same ``--out`` would mix or corrupt each other's
    files, so every command holds this lock while it writes. The lock is an advisory
    ``flock`` on ``.NAME.lock`` beside the output; the file is removed when the lock is
    released (a process that opened the file just before it was removed notices, because
    the path no longer names the file it locked, and tries again), so nothing is left
    beside the output. A holder that is killed releases the lock with its death; its lock
    file stays and is reused. With ``wait`` the block waits for the holder instead.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on Windows: one process per output
        yield Path(target)
        return
    target = Path(target)
    made = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    path = _lock_file(target)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, _default_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(f"{target} is being written by another sigvae process; "
                              "wait for it to finish or choose another output") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder removed the file we opened: lock the new one
    try:
        yield target
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)
        for folder in made:  # parents made only for the lock go again if nothing was written
            try:
                folder.rmdir()
            except OSError:
                break


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The :data:`MANIFEST` of an output folder, or None if absent or unreadable."""
    try:
        doc = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("command"), str) or not isinstance(doc.get("files", []), list):
        return None
    return doc


def check_output_dir(final_dir: str | os.PathLike, command: str | None = None, overwrite: bool | None = None) -> Path:
    """Refuse an output folder that holds what the user made (ConfigError), before any work.

    ``final_dir`` may be missing or empty, or hold the output of an earlier run of the same
    ``command`` (its manifest says so); anything else needs ``--overwrite``. A path that
    exists and is not a folder is refused.
    """
    final = check_out_path(final_dir)
    command = command or _POLICY["command"]
    overwrite = _POLICY["overwrite"] if overwrite is None else overwrite
    if final.exists() and not final.is_dir():
        raise ConfigError(f"--out {final} exists and is not a folder")
    if overwrite or not final.is_dir() or not holds_files(final):
        return final
    manifest = read_manifest(final)
    # "python": written through the Python API, which names no command; either way round it
    # is the same library writing its own files.
    if manifest is None or (manifest["command"] != command and "python" not in (manifest["command"], command)):
        made = f"written by 'sigvae {manifest['command']}'" if manifest else f"not an output of 'sigvae {command}'"
        raise ConfigError(f"--out {final} already holds files ({made}); choose another folder, "
                          "or pass --overwrite to write into it")
    return final


def holds_files(folder: Path) -> bool:
    """True if ``folder`` holds anything but empty folders and lock files (``.NAME.lock``).

    Locks are what a sigvae process sharing the folder creates first (the SynTone
    benchmark's per-run claims), so a folder holding only those is nobody's work yet.
    """
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_dir() and not (path.name.startswith(".") and path.name.endswith(".lock")):
            return True
    return False


def _manifest_files(folder: Path) -> set[str]:
    manifest = read_manifest(folder)
    return set(map(str, manifest.get("files", []))) if manifest else set()


def write_manifest(folder: str | os.PathLike, files: Iterable[str], command: str | None = None) -> Path:
    """Record in ``folder`` which command wrote it and which files (relative paths, merged with earlier ones)."""
    folder = Path(folder)
    listed = sorted(_manifest_files(folder) | {str(f) for f in files} - {MANIFEST})
    return write_json(folder / MANIFEST, {"command": command or _POLICY["command"], "files": listed})


@contextlib.contextmanager
def staged_dir(final_dir: str | os.PathLike, *, wait: bool = False, command: str | None = None,
               overwrite: bool | None = None) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``final_dir``, else delete it.

    A command that fails half-way therefore leaves ``final_dir`` as it was. While the block
    runs the output's lock is held (:func:`output_lock`; ``wait`` waits for another holder
    instead of refusing) and every write must land inside the staging folder. An existing
    ``final_dir`` is refused unless an earlier run of the same command wrote it or
    ``--overwrite`` was given (:func:`check_output_dir`); even then a file sigvae did not
    write is only replaced with ``--overwrite``.
    """
    command = command or _POLICY["command"]
    overwrite = _POLICY["overwrite"] if overwrite is None else overwrite
    final_dir = check_out_path(final_dir)
    with output_lock(final_dir, wait=wait):
        check_output_dir(final_dir, command, overwrite)
        stage = Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.", suffix=".staging", dir=final_dir.parent))
        try:
            os.chmod(stage, _default_mode(directory=True))  # mkdtemp makes it 0700; it may become final_dir
            with confined_to(stage):
                yield stage
            written = [str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file() or p.is_symlink()]
            if not final_dir.exists():
                write_manifest(stage, written, command)
                os.replace(stage, final_dir)
                return
            ours = _manifest_files(final_dir)
            clash = [f for f in written if (final_dir / f).exists() and f not in ours]
            if clash and not overwrite:
                raise ConfigError(f"{final_dir / clash[0]} exists and was not written by sigvae; "
                                  "choose another --out, or pass --overwrite to replace it")
            for rel in written:  # a link inside an existing --out must not carry a file out of it
                check_inside(final_dir / rel, final_dir)
            for rel in written:
                (final_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / rel, final_dir / rel)
            shutil.rmtree(stage, ignore_errors=True)
            write_manifest(final_dir, written, command)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise


@contextlib.contextmanager
def output_file(path: str | os.PathLike, flag: str = "--out") -> Iterator[Path]:
    """Check and lock an output *file* for the block: refuse an existing one unless ``--overwrite``.

    The writers themselves are atomic; this adds the lock (a second process writing the
    same file is refused) and keeps a file the user already has from being replaced
    silently.
    """
    path = check_out_path(path, flag)
    with output_lock(path):
        if path.is_dir():
            raise ConfigError(f"{flag} {path} is a folder; name a file")
        if path.exists() and not _POLICY["overwrite"]:
            raise ConfigError(f"{flag} {path} already exists; choose another name, or pass --overwrite to replace it")
        with confined_to(path.parent):
            yield path


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
