"""Pieces every benchmark shares: seeds, a whole-benchmark progress bar, output writing."""

from __future__ import annotations

import argparse
import time

import lightning as L
from tqdm.auto import tqdm

from ..errors import ConfigError

#: More seeds than this in ``--seeds N`` is a typo, not a plan (each seed is a run of every model).
MAX_SEEDS = 10_000


def parse_seeds(text: str | int) -> list[int]:
    """``"3"`` → [0, 1, 2]; ``"0,4,7"`` → [0, 4, 7]."""
    s = str(text).strip()
    try:
        if "," in s:
            seeds = [int(x) for x in s.split(",") if x.strip()]
        else:
            count = int(s)
            if count > MAX_SEEDS:
                raise ConfigError(f"--seeds {count}: at most {MAX_SEEDS} seeds, each a run of every model")
            seeds = list(range(count))
    except ValueError:
        raise ConfigError(f"--seeds takes a count (3) or a list (0,4,7), got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds must name at least one seed >= 0, got {text!r}")
    if max(seeds) >= 2**32:
        raise ConfigError(f"--seeds: seeds must be below 2^32 (4294967296), got {max(seeds)}")
    return seeds


def parse_list(text: str | None, allowed: list[str] | None = None, what: str = "value") -> list[str] | None:
    """Comma-separated names, checked against ``allowed`` (None passes through)."""
    if text is None:
        return None
    items = [x.strip() for x in str(text).split(",") if x.strip()]
    if not items:
        raise ConfigError(f"empty list of {what}s")
    if allowed is not None:
        bad = [x for x in items if x not in allowed]
        if bad:
            raise ConfigError(f"unknown {what} {bad[0]!r}; choose from {', '.join(allowed)}")
    return items


class BenchmarkProgress(L.Callback):
    """One progress bar over every epoch of every run in a benchmark, with time left.

    Create it with the total number of epochs (models × seeds × epochs, plus any extra
    units), pass it to each ``fit`` as a callback, and call :meth:`advance` for work
    that is not training (fitting PCA, computing metrics).
    """

    def __init__(self, total_units: int, description: str = "benchmark", enabled: bool = True):
        self.bar = tqdm(total=total_units, desc=description, unit="epoch", disable=not enabled, dynamic_ncols=True)
        self.label = ""
        self.start = time.time()

    def set_label(self, label: str) -> None:
        self.label = label
        self.bar.set_postfix_str(label)

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.bar.update(1)

    def close(self) -> float:
        """Close the bar; returns the seconds since it was created."""
        self.bar.close()
        return time.time() - self.start


def add_common_arguments(p: argparse.ArgumentParser, default_out: str) -> None:
    p.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    p.add_argument("--seeds", default=None, help="a count (3) or a list (0,4,7)")
    p.add_argument("--config", help="YAML/JSON file of benchmark settings; flags win")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def machine_description() -> str:
    """One line naming the machine a benchmark ran on: OS, CPU cores, Python, torch, GPU."""
    import os
    import platform

    import torch

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}"
            + (f", CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
