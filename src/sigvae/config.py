"""Typed, validated configs: dataclasses in and out of plain dicts, YAML and JSON.

``from_dict(MyConfig, d)`` refuses unknown keys (naming the allowed ones), converts
values to the annotated types and names the offending key when that fails, so a typo
in a YAML file is a one-line error rather than a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from .errors import ConfigError

C = TypeVar("C")


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"{where}: expected one of {list(choices)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            items = [_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        else:
            inner = args[0] if args else Any
            items = [_convert(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(tp, value, where=where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if out != out:
            raise ConfigError(f"{where}: NaN is not allowed")
        return out
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


def from_dict(cls: type[C], data: dict | None, where: str = "config") -> C:
    """Build dataclass ``cls`` from ``data``, validating keys and types.

    Nested dataclass fields accept nested mappings. Raises :class:`ConfigError` naming
    the key for an unknown key, a wrong type, or a value its ``validate()`` rejects.
    """
    data = dict(data or {})
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(fields))}"
        )
    kwargs = {k: _convert(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
    return obj


def to_dict(obj: Any) -> dict:
    """Turn a (nested) config dataclass into JSON-ready plain types (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return plain(obj)


def replace(obj: C, overrides: dict | None, where: str = "config") -> C:
    """Return a copy of config ``obj`` with ``overrides`` merged in (validated like from_dict).

    Nested dataclass fields are merged key by key rather than replaced whole.
    """
    base = to_dict(obj)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged = dict(base[key])
            merged.update(value)
            base[key] = merged
        else:
            base[key] = value
    return from_dict(type(obj), base, where=where)


def load_config_file(path: str | Path) -> dict:
    """Read a YAML or JSON mapping from ``path``; raise ConfigError on a missing or bad file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        first = str(e).strip().splitlines()[0]
        raise ConfigError(f"config file {str(path)!r} cannot be parsed: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}")
    return data


def config_path(value: Any, config_file: str | Path, key: str, flag: str) -> str:
    """A path read from the config file ``config_file`` under ``key``, made relative to the file's folder.

    A config file is something users share and download, so a path in it must not reach
    beyond the folder it sits in: absolute paths, and relative ones that lead outside that
    folder through ``..`` or a symlink, are refused with a ConfigError telling the user to
    pass the path as ``flag`` on the command line (where they see what they type).
    Returns the path joined onto the config file's folder (as text; not resolved, so the
    message and metadata show what the file said).
    """
    where = f"config file {str(config_file)!r}: {key}"
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a path relative to the config file, got {value!r}")
    hint = f"paths in a config file must stay inside its folder; pass this one on the command line as {flag}"
    if Path(value).is_absolute():
        raise ConfigError(f"{where}: absolute path {value!r} refused; {hint}")
    folder = Path(config_file).parent
    joined = folder / value
    real = joined.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise ConfigError(f"{where}: {value!r} leads outside the config file's folder (to {real}); {hint}")
    return str(joined)


def check(cond: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``cond`` (for ``validate`` methods)."""
    if not cond:
        raise ConfigError(message)


__all__ = ["from_dict", "to_dict", "replace", "load_config_file", "config_path", "check"]
