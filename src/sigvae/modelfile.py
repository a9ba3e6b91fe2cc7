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

from .config import to_dict
from .errors import ConfigError, DataError, ModelFileError, SigvaeError
from .io import _umask, atomic_path, write_json
from .limits import check_sample_rate
from .models import MODELS, SigModel, build_meta_model, build_model
from .version import __version__

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

    from .errors import TrainingDivergedError

    # The last optimiser step can turn weights non-finite after the last loss was checked;
    # a model with NaN or infinite weights is never saved (it would load and output NaN).
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise TrainingDivergedError(f"training diverged: weight {name!r} is not finite; nothing was saved "
                                        "(lower the learning rate or check the data for extreme values)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # Replacing a model in place: take config.json away first, so that until the new one is
    # written the folder is "not a sigvae model folder" rather than new weights under an
    # old config that still loads.
    (folder / CONFIG_FILE).unlink(missing_ok=True)
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
    doc = read_json_file(path)
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


#: A model folder's JSON files are small (settings and a per-epoch history).
MAX_JSON_BYTES = 64 << 20


def read_json_file(path: Path) -> Any:
    """Parse the JSON file ``path`` of a model or run folder; ModelFileError naming it if that fails.

    Refused: a file over 64 MiB, text that is not UTF-8, invalid JSON, and nesting so deep
    that Python's parser runs out of recursion.
    """
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ModelFileError(f"{path}: larger than {MAX_JSON_BYTES >> 20} MiB; not a sigvae model file")
        raw = path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelFileError(f"{path}: not valid JSON (not UTF-8 text: byte {raw[e.start:e.start + 1]!r} at offset {e.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:  # Python's parser recurses once per level of [ or {
        raise ModelFileError(f"{path}: not a sigvae model file (JSON nested too deeply)") from None


def read_metadata(folder: str | os.PathLike) -> dict:
    """The checked ``training.json`` of a model folder ({} if absent); ModelFileError naming it if unusable."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return {}
    meta = read_json_file(path)
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: must hold a mapping (JSON object), got {type(meta).__name__}")
    for key, kinds, what in (("data", (str, type(None)), "text"), ("data_options", (dict, type(None)), "a mapping"),
                             ("history", (list, type(None)), "a list")):
        if not isinstance(meta.get(key), kinds):
            raise ModelFileError(f"{path}: {key!r} must be {what}, got {type(meta.get(key)).__name__}")
    return meta


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
    config = {k: v for k, v in doc["config"].items()}
    if "sample_rate" in config:
        try:
            check_sample_rate(config["sample_rate"], f"{folder / CONFIG_FILE}: config")
        except DataError as e:
            raise ModelFileError(str(e)) from None
    # Shapes first, on the "meta" device (nothing allocated): the model's size against the
    # memory budget (its weights and the loaded copy), then the tensor shapes the weights
    # file declares in its header; only then is the model built and the file read.
    try:
        meta = build_meta_model(doc["model"], config, what=str(folder / CONFIG_FILE), copies=2)
    except ConfigError as e:
        raise ModelFileError(f"{folder / CONFIG_FILE}: {e}") from None
    except SigvaeError:  # over the memory budget: the message names the config
        raise
    except (RuntimeError, ValueError, TypeError, OverflowError) as e:
        raise ModelFileError(f"{folder / CONFIG_FILE}: cannot build model {doc['model']!r} from this config ({e})") from None
    if meta is not None:  # None: a model the meta device cannot build (its shapes are compared below)
        _check_weight_shapes(weights, doc["model"], {k: tuple(v.shape) for k, v in meta.state_dict().items()})
    del meta
    try:
        model = build_model(doc["model"], config, counted=True)  # counted above, twice over
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
    model.metadata = read_metadata(folder)
    return model


def safetensors_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """Tensor name → shape declared in the header of the safetensors file ``path`` (no tensor is read)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 2 <= n <= min(size - 8, 100 << 20):  # safetensors' own limit on the header is 100 MB
            raise ModelFileError(f"{path}: not a readable safetensors file (bad header length)")
        raw = f.read(n)
    try:
        doc = json.loads(raw)
        shapes = {k: tuple(int(d) for d in v["shape"]) for k, v in doc.items() if k != "__metadata__"}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: not a readable safetensors file (header: {e})") from None
    return shapes


def _check_weight_shapes(weights: Path, name: str, expected: dict[str, tuple[int, ...]]) -> None:
    """The weights file's declared tensors must be the model's, shape for shape (ModelFileError)."""
    declared = safetensors_shapes(weights)
    missing = sorted(set(expected) - set(declared))
    extra = sorted(set(declared) - set(expected))
    if missing or extra:
        raise ModelFileError(f"{weights}: weights do not match model {name!r} (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, shape in declared.items():
        if shape != expected[k]:
            raise ModelFileError(f"{weights}: tensor {k!r} has shape {shape}, model expects {expected[k]}")


def new_run_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """Create and return a fresh, uniquely named folder under ``parent``."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))
    os.chmod(run, 0o777 & ~_umask())  # mkdtemp's 0700 would hide results from colleagues
    return run
