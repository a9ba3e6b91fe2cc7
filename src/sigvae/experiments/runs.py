"""Reusing a benchmark's finished runs and stored scores, for any task that keeps its runs
in its output folder (``--out/models/<model>-seed<s>/``).

A run is recognised by a *fingerprint* of everything it depends on (:func:`fingerprint`):
the run writes it into its metadata file when it finishes, and a later invocation with the
same settings finds it there (:func:`finished_run`) and loads the run instead of redoing
it. Scores are stored beside the run (``scores.json``, :func:`store_scores`) under a key
made from the run's codes, the scoring settings and the source of the scoring code
(:func:`score_key`), so a change of any of them measures again (:func:`cached_scores`).

Several processes may share one output folder: each run is claimed through a lock file
(:func:`sigvae.io.claim`), and after a failure a process removes only the run folders it
added and can claim (:func:`remove_failed_runs`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

#: The file in a run's folder holding its stored scores.
SCORES_FILE = "scores.json"


def fingerprint(obj) -> str:
    """A short hash of ``obj`` (anything JSON can write; other objects by their ``str``),
    independent of the order of dictionary keys."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def array_digest(a: np.ndarray, dtype=np.float64) -> str:
    """The hash of an array's values (as ``dtype``, C order): equal values, equal digest."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype=dtype).tobytes()).hexdigest()


def finished_run(meta_file: Path, weights_file: Path, key: str, key_name: str = "benchmark_key") -> dict | None:
    """The metadata a finished run left in ``meta_file`` when it was made with the settings
    fingerprinted as ``key`` (stored under ``key_name``) and its ``weights_file`` is there;
    else None (not run, other settings, or a damaged file: the run is redone)."""
    if not (meta_file.is_file() and weights_file.is_file()):
        return None
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get(key_name) == key else None


def code_digest(functions: Iterable[Callable] = (), files: Iterable[Path] = ()) -> str:
    """The hash of the source of ``functions`` and the bytes of ``files``: scores stored
    under a key that includes it are measured again when the measuring code changes."""
    code = hashlib.sha256()
    for fn in functions:
        code.update(inspect.getsource(fn).encode())
    for f in files:
        code.update(Path(f).read_bytes())
    return code.hexdigest()


def score_key(settings: dict, seed: int, codes: np.ndarray, factors: np.ndarray, code: str,
              render_device: str = "cpu") -> str:
    """What a run's scores depend on, hashed: the scoring ``settings``, the ``seed``, its
    evaluation ``codes`` and ``factors``, the device kind any clips the scores render are
    made on, and ``code`` (a :func:`code_digest` of the measuring code). The codes stand in
    for the model: the same weights give the same codes, and any change of model, data or
    training changes them."""
    return fingerprint({
        "settings": settings, "seed": seed, "render_device": render_device,
        "codes": array_digest(codes, np.float64), "factors": array_digest(factors, np.int64), "code": code,
    })


def cached_scores(folder: Path, key: str) -> tuple[dict[str, tuple[float, float, float]], float] | None:
    """(scores, seconds the scoring took) that an earlier run stored in ``folder/scores.json``
    under ``key``: metric → (value, ci_low, ci_high); None when none are stored, under
    another key, or the file is damaged."""
    try:
        stored = json.loads((Path(folder) / SCORES_FILE).read_text())
        if stored.get("key") != key:
            return None
        scores = {k: (float(v[0]), float(v[1]), float(v[2])) for k, v in stored["scores"].items()}
        return scores, float(stored["seconds"])
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def store_scores(folder: Path, key: str, scores: dict[str, tuple[float, float, float]], seconds: float) -> Path:
    """Store a run's scores (metric → (value, ci_low, ci_high)) and the seconds they took
    in ``folder/scores.json`` under ``key``, for :func:`cached_scores`."""
    from ..io import write_json

    return write_json(Path(folder) / SCORES_FILE, {"key": key, "seconds": seconds,
                                                   "scores": {k: list(v) for k, v in scores.items()}})


def stored_seconds(meta: dict, key: str) -> float:
    """A duration stored in a run's metadata (NaN when missing or not a number)."""
    try:
        return float(meta.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan


def epochs_done(folder: Path) -> int:
    """The epochs an interrupted training run in ``folder`` finished (its last Lightning
    checkpoint, ``checkpoints/last.ckpt``); 0 when there is none or it cannot be read."""
    import torch

    try:
        ckpt = torch.load(folder / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
        return int(ckpt.get("epoch", -1)) + 1
    except Exception:  # a damaged checkpoint only costs an estimate; training reports the real problem
        return 0


def run_folders(models: Path) -> set[Path]:
    """The run folders under ``models`` now (to tell, after a failure, which ones a process added)."""
    return set(models.iterdir()) if models.is_dir() else set()


def remove_failed_runs(out: Path, before_runs: set[Path], created: bool) -> None:
    """After a failure, remove the run folders under ``out/models`` that are not in
    ``before_runs`` (not those another process sharing ``out`` is still working on: each is
    removed only while its lock can be claimed), and ``out`` itself if this process
    ``created`` it and it is left empty: a failed benchmark leaves nothing half-made."""
    import shutil

    from ..io import MANIFEST, claim, holds_files

    models = out / "models"
    for folder in run_folders(models) - before_runs:
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        with claim(models / f".{folder.name}.lock") as free:
            if free:
                shutil.rmtree(folder, ignore_errors=True)
    if created and out.is_dir():
        if models.is_dir() and not holds_files(models):  # only the runs' lock files are left
            shutil.rmtree(models, ignore_errors=True)
        if all(p.name == MANIFEST for p in out.iterdir()):
            shutil.rmtree(out, ignore_errors=True)


__all__ = ["fingerprint", "array_digest", "finished_run", "code_digest", "score_key", "cached_scores",
           "store_scores", "stored_seconds", "epochs_done", "run_folders", "remove_failed_runs", "SCORES_FILE"]
