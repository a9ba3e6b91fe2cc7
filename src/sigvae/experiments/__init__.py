"""Benchmarks: one module per task, each returning tidy rows and writing a report.

A task module defines ``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``;
register it in :data:`TASKS` (name → module path). ``sigvae benchmark TASK`` runs it;
``sigvae benchmark`` alone runs the first entry (SynTone).
"""

from __future__ import annotations

#: Benchmark task name → module implementing it (imported only when that task runs).
TASKS: dict[str, str] = {
    "syntone": "sigvae.experiments.syntone",
    "decvae": "sigvae.experiments.decvae",
    "separation": "sigvae.experiments.separation",
    "separation-spectrogram": "sigvae.experiments.spectrogram_separation",
    "ucr": "sigvae.experiments.ucr",
}
