"""The experiment loggers a training run writes to, chosen by name: Lightning's own.

``--logger csv,tensorboard,mlflow,wandb`` (several at once) on ``sigvae train`` and the
benchmarks, ``loggers: [csv, mlflow]`` in a training config. Each name is one of
Lightning's loggers, set up to keep a run's records inside its run folder:

- ``csv`` (the default): ``<run>/logs/metrics.csv`` and ``hparams.yaml``; a resumed run
  keeps the rows of the epochs it had finished (Lightning's CSVLogger would delete them).
- ``tensorboard`` (extra ``tensorboard``): event files in ``<run>/logs/``;
  ``tensorboard --logdir <run>/logs``.
- ``mlflow`` (extra ``mlflow``): the tracking server or store named by
  ``MLFLOW_TRACKING_URI`` where it is set, otherwise an SQLite store in
  ``<run>/logs/mlflow.db`` (``mlflow ui --backend-store-uri sqlite:///<run>/logs/mlflow.db``;
  MLflow 3 refuses new file stores); experiment ``sigvae`` (``MLFLOW_EXPERIMENT_NAME``
  overrides), run name the run folder's name.
- ``wandb`` (extra ``wandb``): project ``sigvae`` (``WANDB_PROJECT`` overrides), files in
  ``<run>/logs/wandb``. Online only where wandb can authenticate (``WANDB_API_KEY`` set,
  or a ``wandb login`` in ``~/.netrc``) or ``WANDB_MODE`` says how; otherwise offline, said
  in one line (``wandb sync`` uploads later) — no run waits on a login prompt or a network.

MLflow's and W&B's run ids are kept in ``<run>/logs/logger_ids.json``, so ``--resume``
continues the same MLflow/W&B run instead of starting a second one.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .extras import require
from .io import is_global_zero

#: The logger names, in the order the help lists them.
LOGGER_NAMES = ("csv", "tensorboard", "mlflow", "wandb")
#: The loggers a training run writes when nothing is chosen.
DEFAULT_LOGGERS = ("csv",)
_IDS_FILE = "logger_ids.json"


def parse_loggers(value: str | Sequence[str]) -> list[str]:
    """Logger names from ``"csv,tensorboard"`` or a list: deduplicated, in the order given;
    ``"none"`` (or an empty value) means no logger. Raises :class:`ConfigError` on an
    unknown name, with the names that exist."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    names = [str(p).strip().lower() for p in parts if str(p).strip()]
    if names == ["none"]:
        return []
    unknown = [n for n in names if n not in LOGGER_NAMES]
    if unknown:
        raise ConfigError(f"unknown logger {unknown[0]!r}; choose from {', '.join(LOGGER_NAMES)} "
                          "(several separated by commas), or none")
    return list(dict.fromkeys(names))


def check_loggers(names: Sequence[str]) -> None:
    """Refuse, before any training, names that do not exist or whose extra is missing
    (:class:`~sigvae.extras.MissingExtraError`, one line naming the extra)."""
    for name in parse_loggers(names):
        if name != "csv":
            require(name, f"--logger {name}")


#: What an MLflow or W&B run id looks like; anything else in a run folder's file is ignored.
_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _saved_ids(logs: Path) -> dict[str, str]:
    """The run ids kept in ``logs/logger_ids.json``: only well-formed ids of known loggers (the
    folder may be someone else's; a damaged or odd file starts new tracked runs instead)."""
    try:
        ids = json.loads((logs / _IDS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(ids, dict):
        return {}
    return {k: v for k, v in ids.items() if k in LOGGER_NAMES and isinstance(v, str) and _RUN_ID.fullmatch(v)}


def _save_id(logs: Path, name: str, run_id: Any) -> None:
    if not isinstance(run_id, str) or not run_id:
        return
    ids = _saved_ids(logs)
    if ids.get(name) != run_id:
        logs.mkdir(parents=True, exist_ok=True)
        (logs / _IDS_FILE).write_text(json.dumps({**ids, name: run_id}, indent=1) + "\n")


def _csv(run_dir: Path, resume: bool, keep_epochs: Callable | None):
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(run_dir, name="logs", version="")
    if resume and keep_epochs is not None:
        keep_epochs(logger)
    return logger


def _tensorboard(run_dir: Path, resume: bool, keep_epochs: Callable | None):
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(run_dir, name="logs", version="", default_hp_metric=False)


def _mlflow(run_dir: Path, resume: bool, keep_epochs: Callable | None):
    from lightning.pytorch.loggers import MLFlowLogger

    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(logs / 'mlflow.db').resolve()}"
    run_id = _saved_ids(logs).get("mlflow") if resume else None
    return MLFlowLogger(experiment_name=os.environ.get("MLFLOW_EXPERIMENT_NAME", "sigvae"),
                        run_name=run_dir.resolve().name, tracking_uri=uri, run_id=run_id)


def wandb_mode() -> str | None:
    """The W&B mode a run uses: ``WANDB_MODE`` where set, ``None`` (wandb decides: online)
    where wandb can authenticate, else ``"offline"``."""
    if os.environ.get("WANDB_MODE"):
        return None
    if os.environ.get("WANDB_API_KEY"):
        return None
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        if "api.wandb.ai" in netrc.read_text():
            return None
    except OSError:
        pass
    return "offline"


def _wandb(run_dir: Path, resume: bool, keep_epochs: Callable | None):
    from lightning.pytorch.loggers import WandbLogger

    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    mode = wandb_mode()
    if mode == "offline" and is_global_zero():  # one line per run, not one per DDP process
        print(f"wandb: no API key and no WANDB_MODE; logging offline into {logs / 'wandb'} "
              "(wandb sync uploads it later)", file=sys.stderr, flush=True)
    run_id = _saved_ids(logs).get("wandb") if resume else None
    return WandbLogger(project=os.environ.get("WANDB_PROJECT", "sigvae"), name=run_dir.resolve().name,
                       save_dir=str(logs), id=run_id, resume="allow" if run_id else None,
                       **({"mode": mode} if mode else {}))


_BUILDERS: dict[str, Callable] = {"csv": _csv, "tensorboard": _tensorboard, "mlflow": _mlflow, "wandb": _wandb}


def build_loggers(names: Sequence[str], run_dir: str | os.PathLike, *, resume: bool = False,
                  keep_epochs: Callable | None = None) -> list:
    """Lightning logger objects for ``names`` writing under ``run_dir`` (see the module
    docstring for where each writes). ``keep_epochs(csv_logger)`` runs on a resumed run's
    CSV logger before training (to keep the rows of the finished epochs)."""
    run_dir = Path(run_dir)
    check_loggers(names)
    return [_BUILDERS[name](run_dir, resume, keep_epochs) for name in parse_loggers(names)]


def remember_run_ids(loggers: Sequence, run_dir: str | os.PathLike) -> None:
    """Keep the MLflow/W&B run ids of ``loggers`` in ``<run>/logs/logger_ids.json`` (on the
    process that logs), so a resumed run continues the same tracked run."""
    logs = Path(run_dir) / "logs"
    for logger in loggers:
        kind = type(logger).__name__
        if kind == "MLFlowLogger":
            _save_id(logs, "mlflow", getattr(logger, "run_id", None))
        elif kind == "WandbLogger":
            experiment = getattr(logger, "_experiment", None)
            _save_id(logs, "wandb", getattr(experiment, "id", None))


__all__ = ["LOGGER_NAMES", "DEFAULT_LOGGERS", "parse_loggers", "check_loggers", "build_loggers",
           "remember_run_ids", "wandb_mode"]
