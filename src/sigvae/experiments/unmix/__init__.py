"""``sigvae benchmark unmix``: blind source separation, methods × conditions × seeds.

Conditions (three sources, three sensors, cond(A) ≤ 10, see ``sigvae.data.mixtures``):
``linear`` (periodic sources, no noise), ``noise10`` / ``noise30`` (10 % / 30 % observation
noise), ``gaussian`` (GP sources with different length scales), ``nonlinear`` (piecewise
Laplace sources, leaky-ReLU MLP mixing). Every condition trains the same VAEs (linear,
orthogonal demixing); ``nonlinear_mlp: true`` gives them MLP encoders and decoders on the
nonlinear condition instead. ``VAE@BASELINE`` methods (the default adds
``arflow_vae@fastica`` and ``arflow_vae@sobi``) keep the baseline's rotation and train only the
VAE's per-source denoising filters (``sigvae.unmixing.methods``).
Per run: MCC, Amari index (linear mixing), SI-SDR and its improvement, SDR/SIR/SAR, seconds
(:func:`sigvae.metrics.unmixing_scores`). The report gives the median and the worst case over seeds.
A second part times the SKR prior against the exact GP prior as the window grows, and trains
both at one long window.

Formerly ``benchmark separation`` (still accepted, with ``--task bss``, as an old name).
Roles: ``config.py`` (settings, profiles, measures), ``run.py``, ``scoring.py``, ``report.py``.
"""

from __future__ import annotations

from ..task import Task, deferred
from .config import HEADLINE, PROFILES, SECONDARY, UnmixConfig

TASK = Task(
    name="unmix",
    description="blind source separation: classical methods vs structured-prior VAEs on synthetic mixtures",
    config_class=UnmixConfig,
    profiles=PROFILES,
    run=deferred(__name__ + ".run", "run"),
    report=deferred(__name__ + ".report", "report"),
    headline=HEADLINE,
    secondary=SECONDARY,
    default_out="runs/benchmark-unmix",
    title="blind source separation",
)
