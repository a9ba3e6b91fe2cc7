"""The package's layers hold: imports only go down, no import cycles, argparse only in the
CLI, and no function grows past a screenful or two.

Everything here reads the source with :mod:`ast`; nothing under ``src/sigvae`` is imported
(except the package itself, to find its folder), so the checks are fast and see imports
inside functions as well as at module level.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sigvae

ROOT = Path(sigvae.__file__).resolve().parent

#: Each module's layer: a module may import modules of its own layer or of a lower one,
#: never of a higher one. A module takes the layer of the longest key that is its name or
#: a package above it (``sigvae`` itself matches only the top package, not every module).
LAYERS: dict[str, int] = {
    # 0 foundation: errors, settings, registries, file writing and resource limits;
    #   what every layer may use, and which uses nothing of sigvae but itself.
    "sigvae.errors": 0,
    "sigvae.config": 0,
    "sigvae.registry": 0,
    "sigvae.io": 0,
    "sigvae.limits": 0,
    "sigvae.extras": 0,  # optional dependencies: which extra provides what, one-line errors
    "sigvae.version": 0,
    # 1 data: data sources and readers, transforms, signal decompositions, the STFT and the
    #   chunking that models and evaluation share.
    "sigvae.data": 1,  # sigvae.data.stft: the one STFT
    "sigvae.decompose": 1,
    "sigvae.separating.chunks": 1,
    # 2 models: networks, priors and losses, with no knowledge of how they are trained.
    "sigvae.models": 2,
    "sigvae.nn": 2,
    "sigvae.priors": 2,
    "sigvae.losses": 2,
    # 3 training: fitting models, their saved folders, and running trained models on data.
    "sigvae.training": 3,
    "sigvae.loggers": 3,
    "sigvae.modelfile": 3,
    "sigvae.inference": 3,
    # 4 evaluation: metrics, non-neural reference representations and separation methods
    #   that score or compete with trained models (``sigvae.separating`` re-exports its
    #   mask methods).
    "sigvae.metrics": 4,
    "sigvae.linear_codes": 4,
    "sigvae.unmixing": 4,
    "sigvae.separating.masks": 4,
    "sigvae.separating": 4,
    "sigvae.estimators": 4,  # scikit-learn wrappers of unmixing and trained encoders
    # 5 report: figures, HTML pages, result tables and findings.
    "sigvae.report": 5,
    # 6 experiments: the benchmark tasks, each an end-to-end run that writes a report.
    "sigvae.experiments": 6,
    # 7 commands: one module per ``sigvae`` subcommand (argparse lives here and in cli).
    "sigvae.commands": 7,
    # 8 entry points: the CLI, ``python -m sigvae`` and the top package's public API.
    "sigvae.cli": 8,
    "sigvae.__main__": 8,
    "sigvae": 8,
}

#: Where argparse may be imported and parsers built: the CLI and its subcommands.
ARGPARSE_ALLOWED = ("sigvae.cli", "sigvae.commands")

#: Longest a function may be (from its ``def`` line to its last line, docstring included).
MAX_FUNCTION_LINES = 100
#: ... and in these packages, whose functions are orchestration that should read at a glance.
MAX_FUNCTION_LINES_IN = {"sigvae.experiments": 80, "sigvae.report": 80}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    in_function: bool

    def where(self) -> str:
        return f"{_path(self.source)}:{self.line}"


def _module_name(path: Path) -> str:
    parts = ["sigvae", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _files() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


FILES = _files()
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for name, path in FILES.items()}


def _path(module: str) -> str:
    return str(FILES[module].relative_to(ROOT.parent))


def _within(module: str, key: str) -> bool:
    return module == key or (key != "sigvae" and module.startswith(key + "."))


def layer_of(module: str) -> int | None:
    keys = [k for k in LAYERS if _within(module, k)]
    return LAYERS[max(keys, key=len)] if keys else None


def _nodes(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node with whether it sits inside a function (where it runs on call, not on import)."""
    for child in ast.iter_child_nodes(tree):
        yield child, in_function
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield from _nodes(child, inner)


def _resolve(module: str, base: str, names: list[str]) -> list[str]:
    """Modules named by ``from base import names``: ``base.name`` where that is a module
    (``from .. import metrics``), else ``base`` (or the nearest package above it that exists)."""
    out = [f"{base}.{n}" for n in names if f"{base}.{n}" in FILES]
    if len(out) < len(names):
        while base not in FILES and "." in base:
            base = base.rsplit(".", 1)[0]
        out.append(base)
    return out


def import_edges(module: str) -> list[Edge]:
    """Imports of ``sigvae`` modules in ``module``, relative and absolute, at any depth."""
    package = module if FILES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    edges = []
    for node, in_function in _nodes(TREES[module]):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name == "sigvae" or a.name.startswith("sigvae.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base == "sigvae" or base.startswith("sigvae."):
                targets = _resolve(module, base, [a.name for a in node.names])
        edges += [Edge(module, t, node.lineno, in_function) for t in targets if t != module]
    return edges


EDGES = [e for m in FILES for e in import_edges(m)]


def test_the_graph_sees_imports():
    """The checks below mean something only if the graph holds the imports it should."""
    pairs = {(e.source, e.target) for e in EDGES}
    assert ("sigvae.training", "sigvae.models") in pairs  # from .models import ...
    assert ("sigvae.models", "sigvae.models.vae") in pairs  # from . import vae
    assert ("sigvae.models.vae", "sigvae.models.base") in pairs  # from .base import ...
    assert any(e.source == "sigvae" and e.target == "sigvae.training" and e.in_function for e in EDGES)
    assert layer_of("sigvae.data.stft") == 1 and layer_of("sigvae.separating.chunks") == 1
    assert layer_of("sigvae.separating") == 4 and layer_of("sigvae.separating.masks") == 4
    assert layer_of("sigvae.metrics.suite") == 4 and layer_of("sigvae") == 8 and layer_of("sigvae.nowhere") is None


def test_every_module_has_a_layer():
    missing = [_path(m) for m in FILES if layer_of(m) is None]
    assert not missing, f"modules with no layer in LAYERS (add them): {missing}"


def test_imports_only_go_down():
    up = [
        f"{e.where()}: {e.source} (layer {layer_of(e.source)}) imports {e.target} (layer {layer_of(e.target)})"
        + (" inside a function" if e.in_function else "")
        for e in EDGES
        if layer_of(e.source) is not None and layer_of(e.target) is not None and layer_of(e.target) > layer_of(e.source)
    ]
    assert not up, "imports that go up the layers:\n" + "\n".join(up)


def _cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {m: set() for m in FILES}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("with_function_imports", [False, True], ids=["module-level", "all"])
def test_no_import_cycles(with_function_imports):
    """No group of modules imports itself round, counting module-level imports, and then
    also the imports inside functions (a lazy import that closes a cycle is still a cycle
    between the layers' pieces, just one that has not bitten yet)."""
    edges = [e for e in EDGES if with_function_imports or not e.in_function]
    cycles = _cycles(edges)
    lines = []
    for group in cycles:
        inside = [e for e in edges if e.source in group and e.target in group]
        lines.append(" <-> ".join(group) + "\n    " + "\n    ".join(f"{e.where()}: imports {e.target}" for e in inside))
    assert not cycles, "import cycles:\n" + "\n".join(lines)


def _builds_parsers(tree: ast.AST) -> list[int]:
    """Lines that import argparse or call argparse's parser-building methods on anything."""
    hits = []
    for node, _ in _nodes(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "argparse" for a in node.names):
            hits.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "argparse":
            hits.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in {"add_parser", "add_subparsers", "add_argument", "add_argument_group"}):
            hits.append(node.lineno)
    return hits


def test_argparse_only_in_the_cli():
    bad = [
        f"{_path(m)}:{line}"
        for m, tree in TREES.items()
        if not any(_within(m, k) for k in ARGPARSE_ALLOWED)
        for line in _builds_parsers(tree)
    ]
    assert not bad, "argparse outside cli.py and commands/ (move the parser into sigvae.commands):\n" + "\n".join(bad)


def _limit(module: str) -> int:
    return next((n for k, n in MAX_FUNCTION_LINES_IN.items() if _within(module, k)), MAX_FUNCTION_LINES)


def test_functions_are_short():
    long = [
        f"{_path(m)}:{node.lineno}: {node.name} is {node.end_lineno - node.lineno + 1} lines (at most {_limit(m)})"
        for m, tree in TREES.items()
        for node, _ in _nodes(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > _limit(m)
    ]
    assert not long, "functions to split:\n" + "\n".join(long)
