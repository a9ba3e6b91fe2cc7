"""Benchmarks: one package per task, each a :class:`sigvae.experiments.task.Task`.

A task package (``experiments/<name>/``: ``config.py``, ``run.py``, ``scoring.py``,
``report.py``) exposes ``TASK``; register it in :data:`TASKS` (name → package path).
``sigvae benchmark TASK`` runs it; ``sigvae benchmark`` alone runs the first entry (SynTone).
"""

from __future__ import annotations

#: Benchmark task name → module implementing it (imported only when that task runs).
TASKS: dict[str, str] = {
    "syntone": "sigvae.experiments.syntone",
    "decvae": "sigvae.experiments.decvae",
    "unmix": "sigvae.experiments.unmix",
    "separate": "sigvae.experiments.separate",
    "ucr": "sigvae.experiments.ucr",
}

#: Old task name → its current name; the old name still runs the task, with a notice.
ALIASES: dict[str, str] = {
    "separation": "unmix",
    "separation-spectrogram": "separate",
}
