"""``sigvae benchmark ucr``: UCR/UEA classification from VQ-VAE and Barlow Twins VQ-VAE codes.

For every data set: the raw-series baselines (1-NN Euclidean; linear probes on the raw
series) and, where aeon provides it, MiniRocket + RidgeClassifierCV; then, for each γ
and seed, a Barlow Twins VQ-VAE (γ = 0: the control trained on the same augmented
views) trained on the training split only through :func:`sigvae.training.fit`. Its
representations of both splits — the quantised latents averaged into at most 16 time
segments (``segments``, the one the targets are judged on), the flattened quantised latents
(``flat``), their mean ‖ max pooling (``pooled``), the code histogram (``codes``) and, to
show what quantisation costs, the flattened pre-quantisation latents (``pre``) — go to the probes of
:mod:`sigvae.metrics.probes` (linear SVM, k-NN with k = 1, 5, 10, logistic regression;
fitted on train, scored on test) and to k-means (silhouette, ARI, NMI on the test split);
codebook perplexity and usage are measured on the test codes.

Settings chosen on the training split (``select``): each listed VQ-VAE setting has candidate
values (default: none; e.g. ``--select max_latent_frames=16,64``). Every (data set, γ, seed)
run trains one model per candidate, scores each by the cross-validated accuracy of a linear
SVM on its *training* codes (``segments``) (:func:`sigvae.metrics.probes.cross_validated_accuracy`; the training labels
only), and keeps the best (ties: the first listed); the test split never enters the choice.

Rows: ``{dataset, model, seed, metric, value}`` with metric ``<probe>_<representation>``
(``svm_segments``, ``knn5_pooled``...), ``silhouette_flat``, ``perplexity``, ``usage``,
``test_mse``, ``train_seconds`` (every candidate's training), and with a selection
``cv_svm_segments@<setting>=<value>`` per candidate, ``selected`` (the kept candidate's index) and
``selected_<setting>`` (its value, when numeric); baselines report ``accuracy`` (and ``seconds``).

Modules: :mod:`.config` (settings, profiles, readable names), :mod:`.run` (the run step),
:mod:`.scoring` (training and measuring), :mod:`.report` (the report's sections).
"""

from __future__ import annotations

from ..task import Task, deferred
from .config import HEADLINE, PROFILES, UCRConfig, prepare

DESCRIPTION = "UCR/UEA classification from (Barlow Twins) VQ-VAE codes vs 1-NN Euclidean and MiniRocket"


TASK = Task(
    name="ucr",
    description=DESCRIPTION,
    config_class=UCRConfig,
    profiles=PROFILES,
    run=deferred(__name__ + ".run", "run"),
    report=deferred(__name__ + ".report", "report"),
    headline=HEADLINE,
    default_out="benchmarks/ucr",
    title="UCR/UEA classification from VQ-VAE codes",
    prepare=prepare,
)

__all__ = ["TASK", "DESCRIPTION", "UCRConfig"]
