"""SynTone benchmark settings: the config dataclass, its profiles and the measures the
summary ranks on. Imports nothing heavy (``sigvae --help`` reads this)."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import check
from ..task import Metric, TaskConfig, loggers_setting, seeds_setting, setting, threads_setting

NEURAL = ("vae", "beta_vae", "factor_vae", "beta_tcvae")
BASELINE_NAMES = ("pca", "fastica")
#: Weakly supervised models: trained on pairs of clips sharing all but k factors, scored on single clips.
WEAKLY_SUPERVISED = ("ada_gvae", "ada_ml_vae")
#: The models of the default and tiny profiles (the full profile runs the original paper's
#: NEURAL + BASELINE_NAMES): why these, in docs/benchmark.md ("Models and their hyper-parameters").
DEFAULT_MODELS = NEURAL + ("ada_gvae",) + BASELINE_NAMES

#: The measures the summary ranks the models on (disentanglement), in table order.
HEADLINE = [
    Metric("mig", "MIG"), Metric("sap", "SAP"), Metric("modularity", "Modularity"),
    Metric("dci_disentanglement", "DCI disentanglement"), Metric("dci_completeness", "DCI completeness"),
    Metric("irs", "IRS"), Metric("infomec_infom", "InfoM"), Metric("infomec_infoc", "InfoC"),
]
#: Informativeness, the interventional scores and reconstruction: checked for separation, not ranked.
SECONDARY = [
    Metric("explicitness", "Explicitness"), Metric("dci_informativeness_test", "DCI informativeness (test)"),
    Metric("infomec_infoe", "InfoE"), Metric("beta_vae_score", "β-VAE score"),
    Metric("factor_vae_score", "FactorVAE score"),
    Metric("gaussian_total_correlation", "Gaussian total correlation", higher_is_better=False),
    Metric("recon_error", "Reconstruction error", higher_is_better=False),
]
#: Measured but neither ranked nor checked: wall-clock time depends on the machine.
COST = [Metric("train_seconds", "Training time (s)", higher_is_better=False)]


def all_models() -> list[str]:
    """What ``--models all`` runs: every disentanglement model the task knows (the
    unsupervised ones, the weakly supervised ones, the linear references)."""
    return list(NEURAL + WEAKLY_SUPERVISED + BASELINE_NAMES)


def _model_names() -> list[str]:
    from ...models import MODELS

    return ["all", *sorted(set(MODELS.names()) | set(BASELINE_NAMES))]


def _data_spec(value: str, config_file: str, key: str, flag: str) -> str:
    """``data`` in a config file: 'syntone' as it is, a path relative to the file."""
    from ...data import data_spec_from_config

    return data_spec_from_config(value, config_file, key, flag)


@dataclass
class SynToneBenchmarkConfig(TaskConfig):
    """Every setting of the benchmark (``--config FILE.yaml`` holds any of these keys).

    Data: ``num_train`` clips drawn from SynTone with ``data_seed`` (``grid``: every factor
    combination once instead), ``num_eval`` further clips for the metrics (half fit the
    predictors of SAP/DCI/explicitness, half score them; MI metrics use all). With
    ``data`` = an .npz file, ``eval_fraction`` of its clips are held out instead; in a
    config file that path is relative to the file and may not lead outside its folder.

    The field defaults are the ``default`` profile (≤ 15 minutes on two CPU cores; why each
    value was chosen is in docs/benchmark.md). ``features`` overrides the front end
    (``FrontendConfig`` keys) of every neural model and hence of PCA/FastICA, which see the
    same features; a model's own ``model_configs[name]["frontend"]`` wins over it.
    """

    seeds: list[int] = seeds_setting([0, 1, 2])
    logger: list[str] = loggers_setting()
    threads: int = threads_setting(1)
    data: str = setting("syntone", flag=True, path=_data_spec, metavar="DATA",
                        help="'syntone', or an .npz with 'signals', 'sample_rate' and integer 'factors' [N, K] "
                             "instead of SynTone")
    # A 4 × 40 × 10 grid over the paper's ranges: with 1,000 evaluation clips the plug-in
    # MI of a 20-bin code with a 400-valued factor is mostly estimator bias (~(20−1)(400−1)/2N
    # nats ≈ 3.8 nats), which would drown every MI-based score.
    syntone: dict = setting({"num_freqs": 40, "num_amps": 10}, help="SynToneConfig options (the factor grid)")
    duration: float = setting(0.25, flag=True, help="SynTone clip length in seconds")
    features: dict = setting({"n_mels": 32}, help="FrontendConfig overrides for every model (and PCA/FastICA)")
    grid: bool = setting(False, help="every factor combination once instead of num_train random clips")
    num_train: int = setting(2000, flag=True, help="training clips drawn from SynTone")
    num_eval: int = setting(1000, flag=True, help="held-out clips the metrics are computed on")
    eval_fraction: float = setting(0.25, help="share of an .npz's clips held out for the metrics")
    data_seed: int = setting(1234, help="seed of the clips drawn (evaluation clips: data_seed + 1)")
    models: list[str] = setting(list(DEFAULT_MODELS), flag=True, choices=_model_names,
                                help=f"comma-separated subset of {','.join(NEURAL + WEAKLY_SUPERVISED + BASELINE_NAMES)} "
                                     "(any registered model works), or 'all' for every one of those")
    latent_dim: int = setting(8, flag=True, help="latent dimensions (and PCA/FastICA components)")
    epochs: int = setting(10, flag=True, help="training epochs per run")
    batch_size: int = setting(32, help="training batch size")
    lr: float = setting(3e-3, help="Adam learning rate")
    val_fraction: float = setting(0.1, help="share of the training clips used for validation")
    # FactorVAE's discriminator: Kim & Mnih's 6 layers, but 256 instead of 1,000 units (its
    # input is 8-D; at 1,000 units it cost 2.4× a VAE step on the CPU).
    model_configs: dict = setting({"factor_vae": {"disc_hidden": 256}},
                                  help="per-model config overrides (model name → keys of its config)")
    num_bins: int = setting(20, help="bins codes are discretised into for the MI-based metrics")
    dci_estimator: str = setting("random_forest", help="DCI's importance estimator")
    infomec_mi: str = setting("histogram", help="InfoMEC's mutual-information estimator")
    bootstrap: int = setting(20, help="half-sample replicates for the intervals of the histogram metrics")
    bootstrap_fitted: int = setting(0, help="half-sample replicates for the predictor-fitting metrics")
    interventional: bool = setting(True, help="compute the β-VAE and FactorVAE scores (render new clips)")
    interventional_batch: int = setting(16, help="clips per point of the interventional scores")
    interventional_train: int = setting(100, help="training points of the interventional scores")
    interventional_eval: int = setting(50, help="evaluation points of the interventional scores")
    interventional_variance: int = setting(500, help="clips for FactorVAE-score's latent variance estimate")
    report_examples: int = setting(6, help="evaluation clips shown in the report")
    traversal_steps: int = setting(7, help="steps of each latent traversal")
    traversal_span: float = setting(2.5, help="traversal range in prior standard deviations")
    audio_clips: int = setting(2, help="clips the report plays")

    def validate(self) -> None:
        super().validate()
        check(self.duration > 0, f"duration must be positive, got {self.duration}")
        check(self.num_train >= 8, f"num_train must be >= 8, got {self.num_train}")
        check(self.num_eval >= 8, f"num_eval must be >= 8, got {self.num_eval}")
        check(0 < self.eval_fraction < 1, f"eval_fraction must be in (0, 1), got {self.eval_fraction}")
        check(len(self.models) > 0, "models must name at least one model")
        check(self.latent_dim >= 1, f"latent_dim must be >= 1, got {self.latent_dim}")
        check(self.epochs >= 1 and self.batch_size >= 2, "epochs must be >= 1 and batch_size >= 2")
        check(self.bootstrap >= 0 and self.bootstrap_fitted >= 0, "bootstrap and bootstrap_fitted must be >= 0")
        check(self.traversal_steps >= 2 and self.report_examples >= 1, "traversal_steps >= 2, report_examples >= 1")
        from ...linear_codes import BASELINES
        from ...models import MODELS

        for m in self.models:
            check(m in BASELINES or m in MODELS, f"unknown model {m!r}; choose from {', '.join(NEURAL + BASELINE_NAMES)}")
        # Entries for registered models that are not run are unused (the default profile's
        # FactorVAE discriminator setting with --models vae, say); unknown names are typos.
        for name in self.model_configs:
            check(name in self.models or name in MODELS,
                  f"model_configs: {name!r} is neither one of the benchmark's models {self.models} nor a registered model")


#: Profiles: settings over the dataclass defaults (the default profile is the defaults).
PROFILES: dict[str, dict] = {
    "tiny": {
        "duration": 0.25, "num_train": 96, "num_eval": 64, "seeds": [0, 1], "latent_dim": 4,
        "epochs": 1, "batch_size": 32, "bootstrap": 2, "bootstrap_fitted": 0, "dci_estimator": "l1_logistic",
        "syntone": {"num_freqs": 8, "num_amps": 4},
        "model_configs": {"factor_vae": {"disc_layers": 3, "disc_hidden": 64}},
        "interventional_batch": 4, "interventional_train": 12, "interventional_eval": 8,
        "interventional_variance": 32, "report_examples": 3, "traversal_steps": 3, "audio_clips": 1,
    },
    "default": {},
    # The original paper's setting: the full 4 × 400 × 20 grid (32,000 one-second clips),
    # 8 latents, 5 seeds, 20 epochs of batch 64 at Adam 1e-3, the library's 64-mel front end
    # and the registered presets unchanged (FactorVAE's discriminator 6 × 1,000).
    "full": {
        "duration": 1.0, "grid": True, "syntone": {}, "features": {}, "model_configs": {}, "lr": 1e-3,
        "num_train": 32000, "num_eval": 5000, "seeds": [0, 1, 2, 3, 4], "epochs": 20, "batch_size": 64,
        "bootstrap": 100, "bootstrap_fitted": 20, "interventional_batch": 64, "interventional_train": 1000,
        "interventional_eval": 500, "interventional_variance": 5000, "threads": 0,
        # The original paper's models (a weakly supervised run would render a second 32,000-clip
        # set for its pairs and copy both into one array, several GB more per process): add
        # ada_gvae with --models.
        "models": list(NEURAL + BASELINE_NAMES),
    },
}


def prepare(values: dict, given: set[str]) -> dict:
    """On ``--data FILE`` without ``--models``, the default models less the weakly supervised
    ones. The profile's per-model settings only concern the models that run; a config file's
    or flag's ``model_configs`` are kept as written (a name that is neither run nor
    registered is then refused as a typo), but narrowed to the models when those are given too."""
    values = dict(values)
    models = values.get("models", list(DEFAULT_MODELS))
    if "models" not in given and values.get("data", "syntone") != "syntone" and isinstance(models, list):
        # A file's factor table may hold no pairs (one factor, or no two rows sharing a value),
        # so on --data FILE the default list leaves the weakly supervised models to --models.
        models = values["models"] = [m for m in models if m not in WEAKLY_SUPERVISED]
    if not isinstance(models, list):
        return values  # refused as a wrong type when the settings are read
    if "all" in models:  # 'all' among other names adds nothing: it already names every model
        models = values["models"] = all_models()
    if "model_configs" not in given:
        profile_mc = values.get("model_configs", SynToneBenchmarkConfig().model_configs)
        values["model_configs"] = {k: v for k, v in profile_mc.items() if k in models}
    elif "models" in values and isinstance(values["model_configs"], dict):
        values["model_configs"] = {k: v for k, v in values["model_configs"].items() if k in models}
    return values
