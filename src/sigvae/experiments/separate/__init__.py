"""Spectrogram separation benchmark on generated demo tracks (task ``separate``; old name
``separation-spectrogram``, also ``benchmark separation --task spectrogram``).

For every seed: generate training and test demo tracks (singing voice over harmonic
notes and drums, :mod:`sigvae.data.demo_tracks`; test tracks from other seeds), train
the multi-decoder separation VAE (``separator``) through :func:`sigvae.training.fit`,
fit supervised NMF on the same training stems, and separate every test track with the
separator, NMF, HPSS and the ideal ratio mask (oracle). Scores per method, as Asteroid
reports them (:func:`sigvae.metrics.separation_scores`): SI-SDR of the mixture (input) and
of the estimate, SI-SDR improvement, and BSS-eval SDR/SIR/SAR of the input and the
estimate, SDR improvement; plus separation speed in seconds of audio per second, and the
separator's active latent units.

Output folder (``--out``)::

    report.html           summary, tables, spectrograms, loss curves, audio players, settings
    results.json / .csv   rows {dataset, model, seed, metric, value[, source]}
    settings.json         the resolved settings (``--config settings.json`` reruns them)
    figures/*.png         every figure of the report
    models/separator-seed<s>/  the trained separators (``sigvae separate`` takes them)

Modules: ``config`` (settings, profiles, measures), ``run`` (the run step), ``scoring``
(the scores of one track, NMF's choice, active units), ``report`` (the report sections).
"""

from __future__ import annotations

from ..task import Task, deferred
from .config import HEADLINE, PROFILES, SECONDARY, SeparateConfig

DESCRIPTION = ("spectrogram separation on demo tracks: the multi-decoder separation VAE vs supervised NMF, "
               "HPSS and the ideal ratio mask (SI-SDR, SI-SDRi, SDR/SIR/SAR, speed)")


TASK = Task(
    name="separate",
    description=DESCRIPTION,
    config_class=SeparateConfig,
    profiles=PROFILES,
    run=deferred(__name__ + ".run", "run"),
    report=deferred(__name__ + ".report", "report"),
    headline=HEADLINE,
    secondary=SECONDARY,
    default_out="runs/benchmark-separate",
    title="spectrogram separation on demo tracks",
)
