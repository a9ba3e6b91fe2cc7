"""The documentation site documents every public name, and builds without a warning.

The API pages (``docs/api/*.md``) are ``::: identifier`` directives that mkdocstrings expands
from the docstrings; it leaves out, silently, whatever has no docstring (``show_if_no_docstring:
false`` in mkdocs.yml). So:

- every public name those pages document — a module's ``__all__`` (or its public functions
  and classes when it has none, or the ``members:`` a directive lists), and the public
  methods and properties of those classes — has a docstring (an override of a documented
  method may rely on the base's);
- ``mkdocs build --strict`` passes (a broken link, anchor or cross-reference, or a docstring
  section naming a parameter the function does not have, is a warning and so fails), and
  every one of those names, constants included, appears on a page: a name that mkdocstrings
  could not find or render is missing from the HTML;
- the Griffe extension the API pages are read through (docs/griffe_sphinx.py) turns ``#:``
  comments into docstrings and Sphinx roles into links, and warns on a role naming nothing.

The last two need the ``docs`` extra (``pip install -e '.[docs]'``) and are skipped without
it; the build takes about five seconds.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"


def directives() -> list[tuple[str, str, list[str] | None]]:
    """(page, identifier, members) for every ``::: identifier`` of the API pages; members is
    the directive's ``members: [...]`` option (None when it has none, [] for ``false``)."""
    found = []
    for page in sorted(API.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"^::: *(\S+)[ \t]*\n((?:[ \t]+\S.*\n|[ \t]*\n)*)", text, flags=re.M):
            option = re.search(r"^\s+members:\s*(.+)$", m[2], flags=re.M)
            members = None
            if option:
                value = option[1].strip()
                members = [] if value in ("false", "[]") else [v.strip() for v in value.strip("[]").split(",")]
            found.append((page.name, m[1], members))
    return found


def resolve(identifier: str):
    """The object a dotted path names (a module, or an attribute of one)."""
    parts = identifier.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(identifier)


def public_names(module, members: list[str] | None) -> list[str]:
    """The names a module directive documents."""
    if members is not None:
        return members
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if not n.startswith("__")]
    return [n for n, v in vars(module).items()
            if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == module.__name__]


def documented() -> dict[str, object]:
    """Documented path (as the page shows it) → object, for every name of the API pages."""
    names: dict[str, object] = {}
    for _, identifier, members in directives():
        obj = resolve(identifier)
        names[identifier] = obj
        if inspect.ismodule(obj):
            for name in public_names(obj, members):
                names[f"{identifier}.{name}"] = getattr(obj, name)
    for path, obj in list(names.items()):
        if inspect.isclass(obj):
            for name, member in own_members(obj):
                names[f"{path}.{name}"] = member
    return names


def own_members(cls) -> list[tuple[str, object]]:
    """Public methods and properties defined in ``cls`` itself (not inherited)."""
    out = []
    for name, value in vars(cls).items():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property)):
            out.append((name, value))
    return out


def _documented_in_a_base(path: str, obj) -> bool:
    owner, name = path.rsplit(".", 1)
    try:
        cls = resolve(owner)
    except (ImportError, AttributeError):
        return False
    return inspect.isclass(cls) and any(getattr(base.__dict__.get(name), "__doc__", None) for base in cls.__mro__[1:])


def needs_docstring(obj) -> bool:
    return inspect.ismodule(obj) or inspect.isfunction(obj) or inspect.isclass(obj) or isinstance(obj, property)


def test_every_documented_public_name_has_a_docstring():
    names = documented()
    assert len(names) > 200, len(names)
    missing = []
    for path, obj in names.items():
        if not needs_docstring(obj):
            continue  # constants: their docstrings are checked on the built site below
        doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
        if not (doc or "").strip() and not _documented_in_a_base(path, obj):
            missing.append(path)
    assert not missing, "public names without a docstring (the API pages would leave them out):\n" + "\n".join(missing)


def _canonical(obj) -> str | None:
    if inspect.isfunction(obj) or inspect.isclass(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, property) and obj.fget is not None:
        return f"{obj.fget.__module__}.{obj.fget.__qualname__}"
    return None


@pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
                    reason="needs the docs extra: pip install -e '.[docs]'")
def test_the_site_builds_strictly_and_shows_every_documented_name(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    warnings = [line for line in done.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0 and not warnings, done.stderr[-3000:]
    ids = set()
    for page in (tmp_path / "site" / "api").rglob("*.html"):
        ids.update(re.findall(r'id="(sigvae[\w.]*)"', page.read_text(encoding="utf-8")))
    absent = []
    for path, obj in documented().items():
        if path in ids or _canonical(obj) in ids:
            continue
        if not needs_docstring(obj) and any(i.rsplit(".", 1)[-1] == path.rsplit(".", 1)[-1] for i in ids):
            continue  # a constant, shown where it is defined
        if _documented_in_a_base(path, obj):
            continue  # an override without its own docstring: the base's entry documents it
        absent.append(path)
    assert not absent, "documented names missing from the built API pages (no docstring, or not found):\n" + "\n".join(absent)
    import sigvae

    shown = {i.rsplit(".", 1)[-1] for i in ids}
    assert not [n for n in sigvae.__all__ if n != "__version__" and n not in shown], "a name of sigvae.__all__ is on no API page"


def test_a_reference_to_nothing_is_a_warning_and_a_sphinx_comment_a_docstring(tmp_path, caplog):
    """docs/griffe_sphinx.py, which the site's API pages are read through: ``#:`` comments
    document constants, roles become links, and a role naming nothing warns (so --strict fails)."""
    griffe = pytest.importorskip("griffe", reason="needs the docs extra: pip install -e '.[docs]'")
    package = tmp_path / "fakepkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A package."""\n\n#: The answer.\nANSWER = 42\n\n\n'
        'def good():\n    """Returns :data:`ANSWER`; see :func:`~fakepkg.bad`."""\n\n\n'
        'def bad():\n    """Calls :func:`missing_function`."""\n', encoding="utf-8")
    extensions = griffe.load_extensions(f"{ROOT / 'docs' / 'griffe_sphinx.py'}:SphinxConventions")
    with caplog.at_level("WARNING", logger="griffe"):
        loaded = griffe.load("fakepkg", search_paths=[str(tmp_path)], extensions=extensions)
    assert loaded["ANSWER"].docstring.value == "The answer."
    assert '<autoref identifier="fakepkg.ANSWER" optional><code>ANSWER</code></autoref>' in loaded["good"].docstring.value
    assert '<autoref identifier="fakepkg.bad" optional><code>bad()</code></autoref>' in loaded["good"].docstring.value
    assert [r.getMessage() for r in caplog.records if "missing_function" in r.getMessage()], caplog.text
