"""Model folders: ``config.json`` + ``model.safetensors`` + ``training.json``.

Loading never unpickles anything: weights are safetensors, settings are JSON, and the
model class is looked up by name in sigvae's registry (an unknown name is refused).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .config import to_dict
from .errors import ConfigError, ModelFileError
from .io import _umask, atomic_path, write_json
from .models import MODELS, SigModel, build_model

FORMAT = "sigvae-model"
FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, META_FILE = "config.json", "model.safetensors", "training.json"


def environment() -> dict[str, str]:
    """Versions worth recording beside a trained model."""
    import lightning
    import numpy

    return {
        "sigvae": __version__, "torch": torch.__version__, "lightning": lightning.__version__,
        "numpy": numpy.__version__, "python": platform.python_version(),
    }


def save_model(model: SigModel, folder: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``folder`` (created if needed); each file is replaced atomically."""
    from safetensors.torch import save_model as st_save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        st_save(model, str(tmp), metadata={"format": FORMAT})
    if metadata is not None:
        write_json(folder / META_FILE, {**metadata, "environment": environment()})
    # config.json goes last: a new folder without it is "not a sigvae model folder", so a
    # run killed between the files never leaves a folder that loads with missing parts.
    write_json(folder / CONFIG_FILE, {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "model": model.registry_name, "config": to_dict(model.config),
    })
    return folder


def read_model_config(folder: str | os.PathLike) -> dict:
    """Return the parsed, checked ``config.json`` of a model folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: model folder does not exist")
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ModelFileError(f"{folder}: not a sigvae model folder (no {CONFIG_FILE})")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a sigvae model config (format must be {FORMAT!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: format_version {doc.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
    name = doc.get("model")
    if not isinstance(name, str) or name not in MODELS:
        raise ModelFileError(f"{path}: unknown model {name!r}; known: {', '.join(MODELS.names())}")
    if not isinstance(doc.get("config"), dict):
        raise ModelFileError(f"{path}: 'config' must be a mapping")
    return doc


def load(folder: str | os.PathLike, map_location: str | torch.device = "cpu") -> SigModel:
    """Rebuild a trained model from its folder, in eval mode.

    Returns the :class:`SigModel`; its ``metadata`` attribute holds ``training.json``
    (empty if absent). Raises :class:`ModelFileError` for anything missing, unsafe or
    inconsistent; never runs code from the files.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    doc = read_model_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelFileError(f"{folder}: missing {WEIGHTS_FILE}")
    with open(weights, "rb") as f:
        head = f.read(2)
    if head[:1] == b"\x80" or head == b"PK":
        raise ModelFileError(f"{weights}: is a pickle/zip payload, not safetensors; refusing to load it")
    try:
        model = build_model(doc["model"], {k: v for k, v in doc["config"].items()})
    except ConfigError as e:
        raise ModelFileError(f"{folder / CONFIG_FILE}: {e}") from None
    try:
        state = load_file(str(weights), device=str(map_location))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelFileError(f"{weights}: not a readable safetensors file ({e})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelFileError(f"{weights}: weights do not match model {doc['model']!r} (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, v in state.items():
        if v.shape != expected[k].shape:
            raise ModelFileError(f"{weights}: tensor {k!r} has shape {tuple(v.shape)}, model expects {tuple(expected[k].shape)}")
    model.load_state_dict(state, strict=True)
    model.to(map_location).eval()
    meta_path = folder / META_FILE
    model.metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return model


def new_run_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """Create and return a fresh, uniquely named folder under ``parent``."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))
    os.chmod(run, 0o777 & ~_umask())  # mkdtemp's 0700 would hide results from colleagues
    return run
