"""Name → object registries (models, data sources, benchmarks, separation methods).

A new model is one file that calls ``MODELS.register(...)`` and one import line in
``sigvae/models/__init__.py``; nothing downstream switches on a model's name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: the object, a one-line description and default settings."""

    name: str
    obj: T
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """A case-insensitive mapping from names to entries, with helpful errors."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, obj: T | None = None, *, description: str = "", defaults: dict | None = None
    ) -> Any:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted."""

        def add(o: T) -> T:
            key = name.lower().replace("-", "_")
            if key in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            doc = description or (o.__doc__ or "").strip().splitlines()[0:1]
            text = doc if isinstance(doc, str) else (doc[0] if doc else "")
            self._entries[key] = Entry(key, o, text, dict(defaults or {}))
            return o

        return add if obj is None else add(obj)

    def get(self, name: str) -> Entry[T]:
        """Return the entry for ``name`` or raise :class:`UnknownNameError` listing the choices."""
        key = str(name).lower().replace("-", "_")
        if key not in self._entries:
            choices = ", ".join(sorted(self._entries)) or "none registered"
            close = difflib.get_close_matches(key, list(self._entries), n=3, cutoff=0.6)
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "? " if close else ""
            raise UnknownNameError(f"unknown {self.kind} {name!r}; {hint}choose one of: {choices}")
        return self._entries[key]

    def __contains__(self, name: object) -> bool:
        return str(name).lower().replace("-", "_") in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def names(self) -> list[str]:
        return sorted(self._entries)

