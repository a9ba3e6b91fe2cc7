"""Settings of the DecVAE benchmark, the models it compares (as data), and its measures.

No torch, lightning, scipy or sklearn here: ``sigvae --help`` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import check
from ..task import Metric, TaskConfig, loggers_setting, seeds_setting, setting

#: The registered model whose frames (length, stride) and log-mel X input the frame-level
#: baselines share: the β-VAE is trained on its frames, PCA is fitted on its features.
FRONT_END = "decae"

#: How each kind of model is trained and read (the run step has one fitter per kind).
KINDS = {
    "utterance": "trained on whole utterances; frame codes Z and utterance codes S read through model.latents",
    "frame": "trained on single frames of the front end; frame codes through model.embed, utterance code = their mean",
    "pca": "PCA fitted on the front end's log-mel frame features; utterance code = the mean of its frame codes",
}


@dataclass(frozen=True)
class Contender:
    """One benchmarked model, described by data rather than by branches on its name.

    ``model``: the registered model or preset (None for PCA); ``overrides``: its config
    beyond the sizes every model of its ``kind`` shares; ``finetune``: also fine-tuned
    (self-supervised) on unlabelled test-speaker utterances; ``response``: its first seed
    draws the encoder-response figure.
    """

    model: str | None
    kind: str
    about: str
    overrides: dict = field(default_factory=dict)
    finetune: bool = False
    response: bool = False


#: Benchmarked model name → what it is. The names are the rows' ``model`` column.
CONTENDERS: dict[str, Contender] = {
    "decvae_fd": Contender("decvae", "utterance", "DecVAE, FD components, β = 1", {"decomposition": "fd"},
                           finetune=True, response=True),
    "decvae_ewt": Contender("decvae", "utterance", "DecVAE, EWT components, β = 1", {"decomposition": "ewt"}),
    "beta_decvae_fd": Contender("beta_decvae", "utterance", "β-DecVAE, FD components, β = 0.1", {"decomposition": "fd"}),
    "decae_fd": Contender("decae", "utterance", "DecAE, FD components, β = 0 (no prior term)", {"decomposition": "fd"}),
    "beta_vae": Contender("beta_vae", "frame", "β-VAE preset (β = 4) on single frames, log-mel front end",
                          {"frontend": {"kind": "logmel", "n_fft": 256, "hop_length": 80, "n_mels": 40},
                           "channels": [32, 64], "hidden_dim": 128}),
    "pca": Contender(None, "pca", "PCA on the front end's log-mel frame features"),
}

#: Suffix of the rows of a fine-tuned contender (``decvae_fd+finetune``).
FINETUNED = "+finetune"

DESCRIPTION = "DecVAE on SimVowels: DecVAE (FD, EWT), β-DecVAE, DecAE, β-VAE, PCA; DCI, MIG, IRS, probes, subspaces"

#: The measures the summary ranks the models on (the paper's SimVowels columns and MIG).
HEADLINE = [
    Metric("dci_disentanglement", "DCI disentanglement"),
    Metric("dci_informativeness", "DCI informativeness"),
    Metric("modularity", "modularity"),
    Metric("explicitness", "explicitness"),
    Metric("irs", "IRS"),
    Metric("mig", "MIG"),
    Metric("vowel_acc", "vowel probe accuracy"),
    Metric("speaker_acc", "speaker probe accuracy"),
]
#: Measures shown and checked for separation, not ranked.
SECONDARY = [
    Metric("dci_completeness", "DCI completeness"),
    Metric("dci_joint_disentanglement", "DCI disentanglement, frame ‖ utterance codes"),
]
#: Every measure of the results table, in its column order (training time last).
TABLE = [*HEADLINE[:1], SECONDARY[0], *HEADLINE[1:], SECONDARY[1], Metric("train_seconds", "training time (s)", False)]

#: The paper's SimVowels table (Table 1), columns as in :data:`PAPER_METRICS`.
PAPER = {
    "β-VAE": (0.062, 0.805, 0.563, 0.772, 0.552, 0.963, 0.732),
    "PCA": (0.230, 0.801, 0.645, 0.894, 0.477, 0.974, 0.741),
    "DecVAE + FD": (0.618, 0.761, 0.828, 0.921, 0.655, 0.916, 0.769),
    "β-DecVAE + EWT": (0.582, 0.742, 0.905, 0.915, 0.523, 0.977, 0.713),
}
PAPER_METRICS = ("dci_disentanglement", "dci_informativeness", "modularity", "explicitness", "irs", "vowel_acc", "speaker_acc")


def _model_names() -> list[str]:
    return list(CONTENDERS)


@dataclass
class DecVAEBenchmarkConfig(TaskConfig):
    """Every setting of the benchmark (a ``--config`` YAML/JSON may hold any of these keys;
    ``torch_threads``, the old name of ``threads``, is still read)."""

    seeds: list[int] = seeds_setting([0, 1])
    logger: list[str] = loggers_setting()
    models: list[str] = setting(_model_names(), flag=True, choices=_model_names,
                                help="comma-separated subset of " + ", ".join(CONTENDERS))
    num_train: int = setting(240, flag=True, help="training utterances")
    num_eval: int = setting(100, help="evaluation utterances of the unseen test speakers (balanced per speaker)")
    vowels_per_utterance: int = setting(8, help="vowels of 100 ms each per utterance")
    train_speakers: int = setting(10, help="speakers of the training utterances")
    test_speakers: int = setting(5, help="unseen speakers of the evaluation utterances")
    n_components: int = setting(3, help="components C of each decomposition (frame-level latent size (C + 1)·z_dim)")
    z_dim: int = setting(8, help="latent size of each frame-level subspace")
    s_dim: int = setting(8, help="latent size of each utterance-level (sequence-branch) subspace")
    epochs: int = setting(15, flag=True, help="DecVAE pre-training epochs")
    batch_size: int = setting(16, help="utterances per DecVAE training batch")
    lr: float = setting(2e-3, help="learning rate (fine-tuning: 0.3 × this)")
    vae_epochs: int = setting(5, help="β-VAE training epochs")
    vae_frames: int = setting(4000, help="training frames of the β-VAE (drawn from the training utterances)")
    max_metric_frames: int = setting(600, help="frames per half of the test set that DCI, MIG, IRS etc. use")
    dci_estimator: str = setting("gbt", help="DCI's importance estimator (gbt = disentanglement_lib's; l1_logistic is fast)")
    finetune_epochs: int = setting(2, help="self-supervised fine-tuning epochs on test-speaker utterances (0: none)")
    response_points: int = setting(7, help="vocal-tract factor values of the encoder-response figure")
    data_seed: int = setting(7, help="seed of the SimVowels utterances (training, evaluation, fine-tuning)")

    def validate(self) -> None:
        super().validate()
        for m in self.models:
            check(m in CONTENDERS, f"unknown model {m!r}; choose from {', '.join(CONTENDERS)}")
        check(self.num_train >= 4 and self.num_eval >= 4, "num_train and num_eval must be >= 4")
        check(self.train_speakers >= 1 and self.test_speakers >= 2, "need >= 1 train and >= 2 test speakers")
        check(self.num_eval >= 2 * self.test_speakers, "num_eval must give every test speaker >= 2 utterances")
        check(self.epochs >= 1 and self.vae_epochs >= 1, "epochs must be >= 1")
        check(self.finetune_epochs >= 0, "finetune_epochs must be >= 0")
        from ...metrics import DCI_ESTIMATORS

        check(self.dci_estimator in DCI_ESTIMATORS,
              f"dci_estimator must be one of {list(DCI_ESTIMATORS)}, got {self.dci_estimator!r}")


PROFILES = {
    "default": {},
    "tiny": {"seeds": [0], "num_train": 16, "num_eval": 12, "vowels_per_utterance": 3, "test_speakers": 3,
             "epochs": 1, "vae_epochs": 1, "vae_frames": 300, "max_metric_frames": 200, "finetune_epochs": 1,
             "response_points": 3, "batch_size": 8, "dci_estimator": "l1_logistic"},
}


def prepare(values: dict, given: set[str]) -> dict:
    """Read the old key ``torch_threads`` as ``threads`` (an explicit ``threads`` wins)."""
    values = dict(values)
    if "torch_threads" in values:
        old = values.pop("torch_threads")
        if "threads" not in given:
            values["threads"] = old
    return values
