"""Typed, validated configs: dataclasses in and out of plain dicts, YAML and JSON.

``from_dict(MyConfig, d)`` refuses unknown keys (naming the allowed ones), converts
values to the annotated types and names the offending key when that fails, so a typo
in a YAML file is a one-line error rather than a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import datetime
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
    if origin is dict or tp is dict:
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
        if out != out or out in (float("inf"), float("-inf")):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
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
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise ConfigError(f"{where}: key {bad_keys[0]!r} is not text; allowed keys: {', '.join(sorted(fields))}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(fields))}"
        )
    # A section given as null (``training:`` with nothing under it) counts as absent: its default.
    kwargs = {k: _convert(v, hints[k], f"{where}.{k}") for k, v in data.items() if not (v is None and _is_section(hints[k]))}
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
    return obj


def _is_section(tp: Any) -> bool:
    """True for a field holding a mapping of settings (a dict or a nested config dataclass), not Optional."""
    return tp is dict or get_origin(tp) is dict or (dataclasses.is_dataclass(tp) and isinstance(tp, type))


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


#: Bounds on a config file, checked before and while it is parsed: settings are small, and
#: a YAML file of nested aliases (a "billion laughs") or a deeply nested one must not be
#: able to exhaust memory or the stack.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_DEPTH = 32
MAX_CONFIG_ALIASES = 100
MAX_CONFIG_NODES = 100_000

#: The only value types a config holds (JSON's); YAML can also give dates, bytes and sets.
_PLAIN = (str, int, float, bool, type(None))


def load_config_file(path: str | Path) -> dict:
    """Read a YAML or JSON mapping from ``path``; raise ConfigError on a missing or bad file.

    Refused, naming the file (and the key where there is one): a file over
    :data:`MAX_CONFIG_BYTES`, text that is not UTF-8 (a byte-order mark is allowed), nesting
    deeper than :data:`MAX_CONFIG_DEPTH`, more than :data:`MAX_CONFIG_ALIASES` YAML aliases or
    aliases that would expand to more than :data:`MAX_CONFIG_NODES` values, a mapping key that
    is not text, and values that are not JSON types (YAML dates and timestamps, ``!!binary``,
    ``!!set``).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    where = f"config file {str(path)!r}"
    with open(path, "rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where} is larger than {MAX_CONFIG_BYTES >> 20} MiB; a config file holds settings, not data")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where} is not UTF-8 text (byte {raw[e.start:e.start + 1]!r} at offset {e.start}); "
                          "save it as UTF-8") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = _load_yaml(text, where)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        first = str(e).strip().splitlines()[0]
        raise ConfigError(f"config file {str(path)!r} cannot be parsed: {first}") from None
    except RecursionError:
        raise ConfigError(f"{where} is nested too deeply (more than {MAX_CONFIG_DEPTH} levels)") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}")
    _check_plain(data, where)
    return data


def _load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` with bounded nesting and alias expansion (ConfigError beyond them)."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self.depth = 0
            self.aliases = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_CONFIG_ALIASES:
                    raise ConfigError(f"{where}: more than {MAX_CONFIG_ALIASES} YAML aliases (*name); refusing to expand them")
                return super().compose_node(parent, index)
            self.depth += 1
            if self.depth > MAX_CONFIG_DEPTH:
                raise ConfigError(f"{where} is nested too deeply (more than {MAX_CONFIG_DEPTH} levels)")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, where)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: Any, where: str) -> None:
    """Refuse a YAML node graph whose aliases expand to more than MAX_CONFIG_NODES values, or refer to themselves."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()

    def children(node) -> list:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    def size(node) -> int:  # depth is bounded by the composer (MAX_CONFIG_DEPTH)
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(f"{where}: a YAML alias refers to a node that contains it (a recursive structure)")
        active.add(key)
        total = 1
        for child in children(node):
            total += size(child)
            if total > MAX_CONFIG_NODES:
                raise ConfigError(f"{where}: YAML aliases expand to more than {MAX_CONFIG_NODES:,} values; refusing to expand them")
        active.discard(key)
        sizes[key] = total
        return total

    size(root)


def _check_plain(data: Any, where: str) -> None:
    """Every key text, every value a JSON type, nesting within MAX_CONFIG_DEPTH (ConfigError naming the key)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, key, depth = stack.pop()
        at = f"{where}: {key}" if key else where
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"{where} is nested too deeply (more than {MAX_CONFIG_DEPTH} levels, at {key})")
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ConfigError(f"{at}: key {k!r} ({type(k).__name__}) must be text; quote it")
                stack.append((v, f"{key}.{k}" if key else k, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, f"{key}[{i}]", depth + 1) for i, v in enumerate(value))
        elif isinstance(value, (datetime.date, datetime.datetime)):
            raise ConfigError(f"{at}: dates are not settings (got {value.isoformat()}); quote it to pass text")
        elif not isinstance(value, _PLAIN):
            raise ConfigError(f"{at}: {type(value).__name__} values are not settings (got {value!r:.60}); "
                              "use text, numbers, true/false, lists and mappings")


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
