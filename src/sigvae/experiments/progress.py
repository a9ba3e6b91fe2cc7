"""The benchmark progress bar: one bar over every epoch of every run, with time left."""

from __future__ import annotations

import time

import lightning as L
from tqdm.auto import tqdm


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
