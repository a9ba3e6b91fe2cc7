"""Settings of ``sigvae benchmark unmix``: methods, conditions, seeds, the VAE training budget
and the prior-cost study; the profiles and the measures the report names.

No torch here (imported by ``sigvae --help``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...config import check
from ..task import Metric, TaskConfig, seeds_setting, setting

#: Condition name → the mixture it generates (``sigvae.data.mixtures.MixtureConfig``).
CONDITIONS = {
    "linear": {"condition": "periodic", "noise": 0.0},
    "noise10": {"condition": "periodic", "noise": 0.1},
    "noise30": {"condition": "periodic", "noise": 0.3},
    "gaussian": {"condition": "gaussian", "noise": 0.0},
    "nonlinear": {"condition": "nonlinear", "noise": 0.0},
}
#: What each condition is, in words (the report's legend).
CONDITION_NOTES = {
    "linear": "periodic sources, linear mixing, no noise",
    "noise10": "as linear, with 10 % observation noise",
    "noise30": "as linear, with 30 % observation noise",
    "gaussian": "GP sources with different length scales, linear mixing",
    "nonlinear": "piecewise Laplace sources, leaky-ReLU MLP mixing",
}
CLASSICAL = ["pca", "fastica", "amuse", "sobi"]
VAE_NAMES = ["vae", "gp_vae", "skr_vae", "arflow_vae"]
METHOD_NAMES = CLASSICAL + VAE_NAMES
#: Default methods: every method, plus the AR-flow VAE refining FastICA (noisy conditions) and
#: SOBI (Gaussian sources, where FastICA fails).
DEFAULT_METHODS = METHOD_NAMES + ["arflow_vae@fastica", "arflow_vae@sobi"]
#: Every name the benchmark accepts: the methods and each VAE@BASELINE pair.
ALL_METHODS = METHOD_NAMES + [f"{v}@{c}" for v in VAE_NAMES for c in CLASSICAL]

#: Every measure the rows hold, with the name readers see (tables, charts, summary). MCC: mean
#: absolute correlation of matched source pairs (1 = every source recovered up to scale);
#: Amari index: distance of the unmixing × mixing product from a scaled permutation (0 = perfect).
MCC = Metric("mcc", "MCC")
SI_SDR = Metric("si_sdr", "SI-SDR [dB]")
AMARI = Metric("amari", "Amari index", higher_is_better=False)
SI_SDRI = Metric("si_sdri", "SI-SDR improvement [dB]")
SIR = Metric("sir", "SIR [dB]")
SDR = Metric("sdr", "SDR [dB]")
SAR = Metric("sar", "SAR [dB]")
SI_SDR_INPUT = Metric("si_sdr_input", "input SI-SDR [dB]")
SECONDS = Metric("seconds", "seconds per run", higher_is_better=False)
TRAIN_SECONDS = Metric("train_seconds", "training seconds", higher_is_better=False)
SECONDS_PER_EVAL = Metric("seconds_per_eval", "seconds per prior evaluation", higher_is_better=False)
HEADLINE = [MCC, SI_SDR, AMARI]
SECONDARY = [SI_SDRI, SIR, SDR]
LABELS = {m.key: m.label for m in [*HEADLINE, *SECONDARY, SAR, SI_SDR_INPUT, SECONDS, TRAIN_SECONDS, SECONDS_PER_EVAL]}


@dataclass
class UnmixConfig(TaskConfig):
    """Blind-source-separation benchmark settings (a ``--config`` file may hold any of these;
    flags win). The defaults are the ``default`` profile (about 20 min on 2 CPU cores)."""

    seeds: list[int] = seeds_setting([0, 1, 2])
    methods: list[str] = setting(DEFAULT_METHODS, flag=True, choices=ALL_METHODS,
                                 help=f"comma-separated subset of {','.join(METHOD_NAMES)}, or VAE@BASELINE "
                                      "(e.g. arflow_vae@fastica: the baseline separates, the VAE denoises)")
    conditions: list[str] = setting(list(CONDITIONS), flag=True, choices=list(CONDITIONS),
                                    help=f"comma-separated subset of {','.join(CONDITIONS)}")
    epochs: int | None = setting(None, flag=True,
                                 help="VAE training epochs per run (default: the setting vae.epochs, 8 in the default profile)")
    length: int = setting(4000, help="samples per mixture")
    sources: int = setting(3, help="sources (and sensors) per mixture")
    vae: dict = setting({"window": 250, "hop": 10, "epochs": 8, "batch_size": 16, "lr": 1e-2},
                        help="VAE training settings (sigvae.unmixing.VAESettings: window, hop, epochs, batch_size, "
                             "lr, model: {...})")
    nonlinear_mlp: bool = setting(False, help="MLP encoder and decoder on the nonlinear condition (else the same "
                                              "linear VAE everywhere)")
    cost_lengths: list[int] = setting([250, 500, 1000, 2000, 4000],
                                      help="sequence lengths at which the SKR and exact GP priors are timed")
    cost_batch: int = setting(4, help="batch size of the prior timing")
    cost_repeats: int = setting(1, help="timings per length (the median is kept)")
    long_window: int = setting(2000, help="SKR vs exact GP VAE trained at this window length on the gaussian "
                                          "condition (0: skip)")
    long_epochs: int = setting(40, help="training epochs of the long-window runs")

    def validate(self) -> None:
        super().validate()
        check(bool(self.methods) and all(m in ALL_METHODS for m in self.methods),
              f"methods must be among {METHOD_NAMES} or VAE@BASELINE (e.g. arflow_vae@fastica)")
        check(bool(self.conditions) and all(c in CONDITIONS for c in self.conditions),
              f"conditions must be among {list(CONDITIONS)}")
        check(self.epochs is None or self.epochs >= 1, f"epochs (--epochs) must be >= 1, got {self.epochs}")
        check(self.length >= 200, f"length must be >= 200, got {self.length}")
        check(all(v >= 16 for v in self.cost_lengths), "cost_lengths must be >= 16")
        check(self.long_window == 0 or self.long_window <= self.length, "long_window must be 0 or <= length")

    def vae_values(self) -> dict:
        """The VAE training settings with ``epochs`` applied."""
        return {**self.vae, "epochs": self.epochs} if self.epochs is not None else dict(self.vae)

    def vae_methods(self) -> list[str]:
        """The methods that train a VAE (plain or VAE@BASELINE)."""
        return [m for m in self.methods if m.partition("@")[0] in VAE_NAMES]


PROFILES = {
    "default": {},
    "tiny": {"methods": ["pca", "fastica", "amuse", "sobi", "vae", "skr_vae", "gp_vae", "arflow_vae", "arflow_vae@fastica"],
             "conditions": ["linear", "nonlinear"], "seeds": [0], "length": 600,
             "vae": {"window": 100, "hop": 50, "epochs": 1, "batch_size": 16},
             "cost_lengths": [32, 64], "cost_batch": 2, "cost_repeats": 1, "long_window": 200, "long_epochs": 1},
}
