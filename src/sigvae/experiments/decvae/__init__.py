"""The DecVAE benchmark on SimVowels (``sigvae benchmark decvae``).

For each seed: pre-trains DecVAE (FD and EWT, β = 1), β-DecVAE (FD, β = 0.1) and DecAE
(FD, β = 0) on utterances of the *train* speakers through :func:`sigvae.training.fit`;
trains the β-VAE (``beta_vae`` preset, log-mel frame front end) on the same frames and
fits PCA on the same log-mel frame features, all at the same frame-level latent size
((C + 1)·z_dim). Everything is then evaluated zero-shot (frozen encoders) on utterances of
the *test* speakers, who were never seen in training:

- frame level, factors (vowel, speaker): DCI, modularity, explicitness, IRS, MIG
  (``sigvae.metrics``), on frame codes of one half of the test utterances (the predictors
  of DCI / explicitness are fitted on the other half); DCI also on each frame's code joined
  with its utterance's code (``dci_joint_*``: the model's whole representation);
- probes: standardised features → logistic regression, vowel per frame and speaker per
  utterance (utterance codes: DecVAE's sequence branch; the baselines' frame codes averaged);
- which subspace carries which factor: the same probes on each DecVAE subspace alone;
- an encoder-response figure: vary the vowel (speaker fixed) or the vocal-tract factor
  (vowel fixed), plot each subspace's mean along its first principal direction;
- optionally a self-supervised fine-tuning of DecVAE (FD) on unlabelled test-speaker
  utterances (same loss), evaluated again (model ``decvae_fd+finetune``).

Modules: ``config`` (settings, the contenders as data, measures), ``data`` (SimVowels
splits), ``run`` (training and reading codes), ``scoring`` (measuring), ``report``.
"""

from __future__ import annotations

from ..task import Task, deferred
from .config import DESCRIPTION, HEADLINE, PROFILES, SECONDARY, DecVAEBenchmarkConfig, prepare

TASK = Task(
    name="decvae",
    description=DESCRIPTION,
    config_class=DecVAEBenchmarkConfig,
    profiles=PROFILES,
    run=deferred(__name__ + ".run", "run"),
    report=deferred(__name__ + ".report", "report"),
    headline=HEADLINE,
    secondary=SECONDARY,
    default_out="runs/benchmark-decvae",
    title="DecVAE on SimVowels",
    prepare=prepare,
)
