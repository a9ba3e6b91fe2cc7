"""The package a user installs can be trusted: every third-party module sigvae imports is a
declared dependency, the PEP 561 ``py.typed`` marker ships, the metadata has no placeholder,
and importing sigvae changes no process-wide state (matplotlib backend, warning filters,
torch threads).

The import scan reads the source with :mod:`ast` (imports inside functions count too); it
imports nothing under ``src/sigvae``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sigvae

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(sigvae.__file__).resolve().parent
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

#: Top-level module → the distribution that provides it, where the names differ.
MODULE_TO_DIST = {
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "fast_bss_eval": "fast-bss-eval",
}

#: Declared dependencies sigvae never imports itself, and why they are declared anyway.
DECLARED_NOT_IMPORTED = {
    "tensorboard": "Lightning's TensorBoardLogger (--logger tensorboard) needs it to write event files",
    "mlflow-skinny": "Lightning's MLFlowLogger (--logger mlflow) imports it as mlflow",
    "wandb": "Lightning's WandbLogger (--logger wandb) imports it",
    "sqlalchemy": "MLflow's SQLite store (--logger mlflow without a tracking server) needs it",
    "alembic": "MLflow's SQLite store creates its tables with it",
}

#: Extras that are tools around sigvae, not features of it: not checked against sigvae.extras.
TOOL_EXTRAS = {"dev", "docs", "all"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def _names(requirements: list[str]) -> set[str]:
    return {_normalise(re.match(r"[A-Za-z0-9._-]+", req).group(0)) for req in requirements}


def _feature_extras() -> dict[str, set[str]]:
    """Extra → the distributions it installs, for the extras that enable sigvae features."""
    optional = _project()["project"]["optional-dependencies"]
    return {name: _names(reqs) for name, reqs in optional.items() if name not in TOOL_EXTRAS}


def _declared() -> set[str]:
    """Every distribution sigvae's own code may need: the dependencies and the feature extras."""
    return _names(_project()["project"]["dependencies"]).union(*_feature_extras().values())


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level third-party module → the files (relative to the package) that import it."""
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "sigvae" and top not in sys.stdlib_module_names:
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_declared():
    imports = _third_party_imports()
    assert {"torch", "numpy", "tqdm"} <= set(imports), "the import scan found too little"
    declared = _declared()
    missing = {m: files[:3] for m, files in imports.items() if _normalise(MODULE_TO_DIST.get(m, m)) not in declared}
    assert not missing, f"imported but not in pyproject.toml's dependencies (add it, or to MODULE_TO_DIST): {missing}"


def test_every_declared_dependency_is_used():
    used = {_normalise(MODULE_TO_DIST.get(m, m)) for m in _third_party_imports()}
    unused = _declared() - used - {_normalise(d) for d in DECLARED_NOT_IMPORTED}
    assert not unused, f"declared but never imported (drop it, or say why in DECLARED_NOT_IMPORTED): {unused}"


def test_extras_agree_with_sigvae_extras():
    """The extras the one-line errors name are the extras pyproject.toml declares, and each
    installs the distribution the message names."""
    from sigvae.extras import EXTRAS

    extras = _feature_extras()
    assert set(EXTRAS) == set(extras)
    for extra, (_, dist) in EXTRAS.items():
        assert _normalise(dist) in extras[extra], (extra, dist)
    optional = _project()["project"]["optional-dependencies"]
    (everything,) = optional["all"]
    assert set(re.fullmatch(r"sigvae\[(.*)\]", everything).group(1).split(",")) == set(EXTRAS)
    assert any(r.startswith("sigvae[all]") for r in optional["dev"]), "the tests exercise every feature"
    # An extra's package is not a core dependency (or the extra would be pointless).
    core = _names(_project()["project"]["dependencies"])
    assert not core & set().union(*extras.values())


def test_an_extras_module_is_imported_only_behind_require():
    """Every file that imports an extra's module checks for it first with
    ``require("<extra>", ...)``, so a missing extra is a one-line error, not a traceback."""
    from sigvae.extras import EXTRAS

    imports = _third_party_imports()
    for extra, (module, _) in EXTRAS.items():
        for file in imports.get(module, []):
            assert f'require("{extra}"' in (ROOT / file).read_text(), f"{file} imports {module} without require({extra!r})"
    assert imports.get("aeon"), "the scan should see the UCR code's aeon imports"


_WITHOUT = r"""
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # as if not installed: find_spec gives None, import fails
from sigvae.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("hidden, argv, extra", [
    ("aeon", ["data", "ucr"], "ucr"),
    ("aeon", ["data", "ucr", "GunPoint", "--out", "{tmp}/g.npz"], "ucr"),
    ("aeon", ["benchmark", "ucr", "--profile", "tiny", "--out", "{tmp}/run"], "ucr"),  # MiniRocket, before any training
    ("mlflow", ["train", "vae", "--data", "syntone", "--num-examples", "16", "--epochs", "1",
                "--logger", "csv,mlflow", "--out", "{tmp}/run"], "mlflow"),
])
def test_a_missing_extra_is_one_line_and_status_2(tmp_path, hidden, argv, extra):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = subprocess.run([sys.executable, "-c", _WITHOUT, hidden, *argv], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'sigvae[{extra}]'" in lines[0], out.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "g.npz").exists(), "nothing is half-written"


def test_py_typed_ships():
    assert (ROOT / "py.typed").is_file()
    package_data = _project()["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["sigvae"]


def test_metadata_has_no_placeholders():
    project = _project()["project"]
    assert "example.invalid" not in PYPROJECT.read_text()
    assert "Development Status :: 3 - Alpha" in project["classifiers"]
    assert project["requires-python"] == ">=3.10"
    assert _project()["tool"]["ruff"]["target-version"] == "py310", "ruff must check the oldest Python we claim"


# Runs in a fresh interpreter: third-party libraries are imported (and allowed their own
# import-time changes) first, then every sigvae module; the state must not move after that.
_PROBE = r"""
import json, logging, pkgutil, importlib, os, sys, warnings
import numpy, torch, lightning, matplotlib, sklearn, scipy, soundfile, tqdm.auto, tqdm.std
import lightning.pytorch, safetensors, fast_bss_eval, threadpoolctl, yaml

def state():
    return {
        "backend": matplotlib.get_backend(),
        "filters": [repr(f) for f in warnings.filters],
        "threads": torch.get_num_threads(),
        "levels": {n: logging.getLogger(n).level for n in ("lightning", "lightning.pytorch", "lightning.fabric", "")},
        "pyplot": "matplotlib.pyplot" in sys.modules,
    }

before = state()
import sigvae
for info in pkgutil.walk_packages(sigvae.__path__, "sigvae."):
    if info.name != "sigvae.__main__":
        importlib.import_module(info.name)
after_import = state()

import numpy as np
from sigvae.report.figures import heatmap, feature_grid
from sigvae.report.html import Report
rep = Report("probe", sys.argv[1])
rep.figure(heatmap(np.eye(2), ["a", "b"], ["c", "d"], "t"), "heatmap")
rep.figure(feature_grid([np.random.default_rng(0).random((2, 8, 8))], ["row"]), "grid")
print(json.dumps({"before": before, "after_import": after_import, "after_figures": state(),
                  "png": sorted(os.listdir(rep.figures_dir))}))
"""


@pytest.mark.slow
def test_importing_sigvae_changes_no_global_state(tmp_path):
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["before"]["backend"] == "svg"
    assert got["after_import"] == got["before"], "importing a sigvae module changed process-wide state"
    # Making figures and writing them through Report.figure uses no pyplot and keeps the backend.
    assert got["after_figures"] == got["before"]
    assert got["png"] == ["grid.png", "heatmap.png"]
