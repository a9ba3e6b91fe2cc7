"""The SynTone disentanglement benchmark (``sigvae benchmark``, task ``syntone``).

Trains VAE, β-VAE, FactorVAE and β-TCVAE (each with the hyper-parameters of its
registered preset, see docs/benchmark.md) for several seeds through the one training
path :func:`sigvae.training.fit`, fits PCA and FastICA on the same input features as
non-neural references, encodes held-out clips (posterior means), runs the
``sigvae.metrics`` suite, and writes a self-contained HTML report plus tidy results.

Output folder (``--out``)::

    report.html            summary, results, figures and audio players, settings (self-contained)
    results.json / .csv    rows {dataset, model, seed, metric, value, ci_low, ci_high}
    settings.json          the resolved settings: ``sigvae benchmark --config settings.json``
                           reruns the same benchmark
    figures/*.png          every figure of the report
    audio/*.wav            the clips the report embeds
    models/<model>-seed<s>/  trained model folders (config.json + model.safetensors +
                           training.json); baselines as baseline.npz + baseline.json

Finished model folders whose settings match are reused when the command is run again
(PCA/FastICA loaded from their arrays, not refitted), and so are their scores
(``scores.json`` in the model folder, keyed on the run's codes, the scoring settings and
the metric code; see :mod:`sigvae.experiments.runs`); an interrupted training run
continues from its last checkpoint, so a killed benchmark resumes where it stopped. On a
machine with a GPU, training and evaluation (encoding, features, the interventional
scores' rendering) run there. Several processes started with the same ``--out`` split the
runs between them (a lock file per run, see :func:`sigvae.io.claim`) and each ends with
the complete report.

Modules: ``config`` (settings, profiles, measures), ``run`` (data, training, the runs),
``scoring`` (measuring one run), ``report`` (the report's sections).
"""

from __future__ import annotations

from ..task import Task, deferred
from .config import (
    BASELINE_NAMES,
    HEADLINE,
    NEURAL,
    PROFILES,
    SECONDARY,
    SynToneBenchmarkConfig,
    prepare,
)

DESCRIPTION = (
    "SynTone disentanglement benchmark: VAE, β-VAE, FactorVAE, β-TCVAE (+ PCA, FastICA) "
    "over seeds, the sigvae.metrics suite, and an HTML report"
)


def _report(cfg, results, report, folder):
    from ...errors import Interrupted
    from . import report as sections
    from .run import clean_up_failed

    try:
        sections.report(cfg, results, report, folder)
    except (Interrupted, KeyboardInterrupt):
        raise  # finished runs stay: rerunning the command reuses them
    except BaseException:
        clean_up_failed(results)  # as after a failed run: nothing half-made is left
        raise


TASK = Task(
    name="syntone",
    description=DESCRIPTION,
    config_class=SynToneBenchmarkConfig,
    profiles=PROFILES,
    run=deferred(__name__ + ".run", "run"),
    report=_report,
    headline=HEADLINE,
    secondary=SECONDARY,
    default_out="runs/benchmark",
    title="SynTone",
    reference="pca",
    shared_output=True,
    reuses_runs=True,
    switches={"--full": ("the paper's setting: 32,000 one-second clips, 8 latents, 5 seeds (hours on a CPU; "
                         "processes started with the same --out split the runs); the same as --profile full",
                         {"profile": "full"})},
    prepare=prepare,
)


def run_benchmark(cfg: SynToneBenchmarkConfig, out, progress: bool = True, fresh: bool = False):
    """Run the benchmark with settings ``cfg`` into folder ``out`` from Python; returns its
    :class:`~sigvae.experiments.task.TaskResults` (nothing is printed)."""
    from ..task import run_task

    return run_task(TASK, cfg, out, progress=progress, fresh=fresh, echo=None)


__all__ = ["TASK", "SynToneBenchmarkConfig", "PROFILES", "HEADLINE", "SECONDARY", "NEURAL", "BASELINE_NAMES",
           "DESCRIPTION", "run_benchmark"]
