"""Data: ground-truth generators, users' files, and signal representations.

``load_signals(spec)`` is the one entry point the CLI and the API use: ``spec`` is a
built-in source name (``syntone``), an ``.npz`` file, or a folder of audio files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DataError
from ..registry import Registry
from .base import GroundTruthSource, SignalDataset, SignalSet
from .files import load_audio_folder, load_npz, read_npz
from .syntone import SynTone, SynToneConfig
from .transforms import Frontend, FrontendConfig

#: Built-in ground-truth generators: name → callable(options dict) → GroundTruthSource.
SOURCES: Registry = Registry("data source")


def _syntone(options: dict) -> GroundTruthSource:
    from ..config import from_dict

    return SynTone(from_dict(SynToneConfig, options, where="syntone"))


SOURCES.register("syntone", _syntone, description="tones: waveform × frequency × amplitude")


def _simvowels(options: dict) -> GroundTruthSource:
    from ..config import from_dict
    from .simvowels import SimVowels, SimVowelsConfig

    return SimVowels(from_dict(SimVowelsConfig, options, where="simvowels"))


SOURCES.register("simvowels", _simvowels, description="vowel utterances: speaker × vowel per frame")


def make_source(name: str, options: dict | None = None) -> GroundTruthSource:
    """Build the registered ground-truth source ``name`` with ``options``."""
    return SOURCES.get(name).obj(dict(options or {}))


def load_signals(spec: str, n: int = 2000, seed: int = 0, options: dict | None = None) -> tuple[SignalSet, GroundTruthSource | None]:
    """Resolve a data spec to (signals, ground-truth source or None).

    ``spec``: a built-in source name (``n`` examples drawn from ``seed``), a ``.npz``
    file, a folder of audio files (with an optional ``factors.csv``), or ``ucr:NAME``
    (a UCR/UEA training split, the class as factor; see :mod:`sigvae.data.ucr`).
    """
    if not isinstance(spec, str) or not spec.strip():  # Path("") is the current folder
        raise DataError(f"data spec is empty ({spec!r}); name a built-in source, an .npz file or a folder of audio files")
    if spec.lower().startswith("ucr:"):
        from .ucr import load_ucr_signals

        return load_ucr_signals(spec, options), None
    if spec in SOURCES:
        source = make_source(spec, options)
        return source.signal_set(n, seed), source
    path = Path(spec)
    if path.is_dir():
        return _no_file_options(load_audio_folder(path), "a folder of audio files", spec, options), None
    if path.suffix.lower() == ".npz":
        return _no_file_options(load_npz(path), "an .npz file", spec, options), None
    if not path.exists():
        raise DataError(
            f"data {spec!r} is neither a built-in source ({', '.join(SOURCES.names())}) nor an existing file or folder"
        )
    raise DataError(f"{spec}: unsupported data file; give an .npz or a folder of audio files")


#: ``data_options`` that an ``.npz`` file or a folder of audio files takes: none (the
#: signals, their length and rate are the file's; ``duration`` and the other generator
#: settings, including the ``--duration`` flag, apply to built-in sources only).
FILE_DATA_OPTIONS: tuple[str, ...] = ()


def _no_file_options(data: SignalSet, kind: str, spec: str, options: Any) -> SignalSet:
    """Refuse ``data_options`` given for file data (checked once the file is read, so a
    file that cannot be read is reported first): ConfigError naming the key."""
    from ..errors import ConfigError

    if options is None:
        return data
    if not isinstance(options, dict):
        raise ConfigError(f"data_options for {spec}: expected a mapping, got {type(options).__name__}")
    unknown = sorted(str(k) for k in options if k not in FILE_DATA_OPTIONS)
    if unknown:
        raise ConfigError(f"data_options for {spec}: unknown key {unknown[0]!r}; {kind} takes no data_options "
                          f"(allowed keys: {', '.join(FILE_DATA_OPTIONS) or 'none'}; --duration and generator "
                          "settings apply to built-in sources)")
    return data


def data_spec_from_config(spec: Any, config_file: str | Path, key: str = "data", flag: str = "--data") -> str:
    """A data spec read from a config file, with any path in it checked by :func:`~sigvae.config.config_path`.

    Built-in source names and ``demo-tracks`` are not paths and pass unchanged; so does
    ``ucr:NAME``. The folder of ``ucr:DIR/NAME`` and any other spec (an .npz, a folder of
    audio or of tracks) must lie inside the config file's folder, and is returned joined
    onto it; otherwise ConfigError.
    """
    from ..config import config_path

    if isinstance(spec, str) and (spec in SOURCES or spec.replace("_", "-") == "demo-tracks"):
        return spec
    if isinstance(spec, str) and spec.lower().startswith("ucr:"):
        from .ucr import parse_ucr_spec

        name, folder = parse_ucr_spec(spec)
        if folder is None:
            return spec
        return f"ucr:{Path(config_path(folder, config_file, key, flag)) / name}"
    return config_path(spec, config_file, key, flag)


__all__ = [
    "GroundTruthSource", "SignalSet", "SignalDataset", "SynTone", "SynToneConfig",
    "Frontend", "FrontendConfig", "SOURCES", "make_source", "load_signals",
    "load_npz", "load_audio_folder", "read_npz", "data_spec_from_config",
]
