"""A Griffe extension (mkdocs.yml, ``extensions:`` of mkdocstrings) that reads sigvae's
docstring conventions, which come from Sphinx:

- ``#:`` comments above a module or class constant are its docstring
  (``#: Built-in data sources.`` above ``SOURCES = ...``);
- roles such as ``:func:`fit```, ``:class:`~sigvae.errors.DataError``` and ``:mod:`.classical```
  become code that links to the object's entry where the site has one. The target is looked
  up as Python would from the docstring's place (the class, its module, the packages above,
  then as a full path); a target that names nothing in sigvae is a warning, so
  ``mkdocs build --strict`` fails on a broken reference. Names outside sigvae (``numpy...``)
  stay plain code;
- a paragraph ending in ``::`` (reStructuredText's "a literal block follows") ends in ``:``;
- a name of a module's ``__all__`` that the module provides lazily, through a module
  ``__getattr__`` that imports it on first use (``sigvae.train``, ``sigvae.unmixing.separate``),
  is found where that ``__getattr__`` imports it from, as Python would find it at run time.
"""

from __future__ import annotations

import ast
import html
import re

import griffe

_log = griffe.logger  # mkdocstrings shows griffe's warnings, and --strict fails on them
_ROLE = re.compile(r":(?:py:)?(?P<role>func|class|meth|mod|data|attr|exc|obj|const):`(?P<target>[^`]+)`")
_LITERAL_INTRO = re.compile(r"(\S)::(?=\n\s*\n)")


class SphinxConventions(griffe.Extension):
    """See the module docstring."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        for obj in _walk(pkg):
            if obj.is_attribute and obj.docstring is None:
                _comment_docstring(obj)
            if obj.is_module:
                _lazy_exports(obj, loader)
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _convert(obj.docstring.value, obj, loader)


def _walk(obj: griffe.Object):
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _comment_docstring(attr: griffe.Attribute) -> None:
    """The ``#:`` lines right above ``attr``'s assignment, as its docstring."""
    try:
        lines = attr.module.lines
    except Exception:  # no source (a compiled module)
        return
    i, comment = (attr.lineno or 0) - 2, []
    while 0 <= i < len(lines) and lines[i].strip().startswith("#:"):
        comment.insert(0, lines[i].strip()[2:].strip())
        i -= 1
    if comment:
        attr.docstring = griffe.Docstring(" ".join(comment), lineno=i + 2, parent=attr)


def _lazy_exports(module: griffe.Module, loader: griffe.GriffeLoader) -> None:
    """Aliases for the names of ``__all__`` that ``module.__getattr__`` imports when asked."""
    getattr_ = module.members.get("__getattr__")
    exports = module.members.get("__all__")
    if getattr_ is None or exports is None or not getattr_.is_function:
        return
    names = set(ast.literal_eval(str(exports.value))) - set(module.members)
    sources = []  # the modules __getattr__ imports names from
    for node in ast.walk(ast.parse("\n".join(getattr_.lines).strip())):
        if isinstance(node, ast.ImportFrom):
            base = module.path if module.is_init_module else module.parent.path
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            root = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            sources.append(root)
            sources += [f"{root}.{a.name}" for a in node.names]  # `from . import methods`
    for name in sorted(names):
        for source in sources:
            try:
                target = loader.modules_collection.get_member(f"{source}.{name}")
            except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
            if target is not None:
                module.set_member(name, griffe.Alias(name, target, parent=module))
                break


def _convert(text: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
    def role(match: re.Match) -> str:
        target = match["target"].strip()
        label = target
        if target.startswith("~"):
            target = target[1:]
            label = target.rsplit(".", 1)[-1]
        label = label.lstrip(".")
        if match["role"] in ("func", "meth"):
            label += "()"
        path = _resolve(target, obj, loader)
        code = f"<code>{html.escape(label)}</code>"
        if path is None:
            if target.startswith(".") or target.split(".")[0] in ("sigvae", *_local_names(obj)) or "." not in target:
                _log.warning("%s:%s: reference %s names nothing in sigvae",
                             obj.relative_filepath, obj.lineno, match[0])
            return f"`{label}`"
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    text = _ROLE.sub(role, text)
    return _LITERAL_INTRO.sub(r"\1:", text)


def _local_names(obj: griffe.Object) -> list[str]:
    return list(obj.module.members)


def _scopes(obj: griffe.Object):
    """Where a name in ``obj``'s docstring is looked up, innermost first."""
    current = obj
    while current is not None:
        if current.is_class or current.is_module:
            yield current
        current = current.parent


def _resolve(target: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str | None:
    """The path of the object ``target`` names, seen from ``obj``; None when it names none."""
    candidates = []
    if target.startswith("."):
        module = obj.module
        package = module if module.is_init_module else module.parent
        stripped = target.lstrip(".")
        for _ in range(len(target) - len(stripped) - 1):
            package = package.parent if package is not None else None
        if package is not None:
            candidates.append(f"{package.path}.{stripped}")
        for scope in _scopes(obj):  # Sphinx's ".name": any enclosing scope
            candidates.append(f"{scope.path}.{stripped}")
    else:
        candidates += [f"{scope.path}.{target}" for scope in _scopes(obj)]
        candidates.append(target)
    for path in candidates:
        try:
            found = loader.modules_collection.get_member(path)
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
        if found is not None:
            return path
    return None
