"""Settings of ``sigvae benchmark ucr``: the config dataclass, its profiles, the measures the
summary ranks on, and the readable names of every measure the report shows.

No torch, lightning or scikit-learn here: ``sigvae --help`` imports this module.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from ...config import check
from ...errors import ConfigError
from ..common import parse_list, parse_seeds
from ..task import Metric, TaskConfig, loggers_setting, seeds_setting, setting, threads_setting

#: The default data sets: shipped with aeon, small enough for the 20-minute budget on 2 cores.
DEFAULT_DATASETS = ["GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions"]

#: TS2Vec test accuracies (Yue et al. 2022, UCR/UEA tables), for context only.
TS2VEC = {"GunPoint": 0.980, "ItalyPowerDemand": 0.961, "ArrowHead": 0.857, "OSULeaf": 0.851, "ACSF1": 0.900,
          "BasicMotions": 0.975, "JapaneseVowels": 0.984}

REPRESENTATIONS = ("segments", "flat", "pooled", "codes", "pre")

#: The representation the targets are judged on and settings are selected by: the codes
#: averaged into at most 16 time segments. On the training splits of GunPoint, ArrowHead and
#: BasicMotions its cross-validated SVM accuracy is on average above the full-resolution
#: ``flat`` codes (BENCHMARKS.md); ``flat`` is still reported beside it.
JUDGED = "segments"
PROBES = ("svm", "svmcv", "knn1", "knn5", "knn10", "logreg")
#: The representations k-means is scored on (silhouette, ARI, NMI on the test split).
CLUSTERED = ("segments", "flat", "pooled")

#: Model settings, settings chosen on the training split, and training length per profile;
#: ``tiny`` is for tests (seconds). The default keeps 64 latent frames (one time-halving for
#: every shipped set) and lets the ``segments`` representation do the coarser temporal
#: pooling that BasicMotions wants; the previous default trained a 16- and a 64-frame model
#: per run and kept one. One model is half the training, and its mean test accuracy over the
#: shipped sets was higher (BENCHMARKS.md).
PROFILES = {
    "default": {"steps": 200, "model": {"num_codes": 256, "max_latent_frames": 64}, "select": {}},
    "tiny": {"steps": 3, "model": {"width": 8, "code_dim": 8, "num_codes": 8, "res_blocks": 1, "projector_dim": 16},
             "select": {}},
}

# ---------------------------------------------------------------------------------------
# readable names: the same in the summary, the tables and the charts

PROBE_LABELS = {"svm": "linear SVM", "svmcv": "linear SVM (C by CV)", "knn1": "1-NN", "knn5": "5-NN",
                "knn10": "10-NN", "logreg": "logistic regression"}
REPRESENTATION_LABELS = {"segments": "segment codes", "flat": "flat codes", "pooled": "pooled codes",
                         "codes": "code histogram", "pre": "pre-quantisation latents"}
CLUSTER_LABELS = {"silhouette": "k-means silhouette", "ari": "k-means ARI", "nmi": "k-means NMI"}
OTHER_LABELS = {"accuracy": "test accuracy", "perplexity": "codebook perplexity", "usage": "codebook usage",
                "test_mse": "test reconstruction MSE", "train_seconds": "training seconds", "epochs": "epochs",
                "seconds": "seconds", "selected": "kept candidate"}


def metric_label(key: str) -> str:
    """The readable name of a row's metric (``svm_segments`` → "linear SVM accuracy, segment codes")."""
    if key in OTHER_LABELS:
        return OTHER_LABELS[key]
    head, _, rep = key.rpartition("_")
    if rep in REPRESENTATION_LABELS and head in PROBE_LABELS:
        return f"{PROBE_LABELS[head]} accuracy, {REPRESENTATION_LABELS[rep]}"
    if rep in REPRESENTATION_LABELS and head in CLUSTER_LABELS:
        return f"{CLUSTER_LABELS[head]}, {REPRESENTATION_LABELS[rep]}"
    if key.startswith(f"cv_svm_{JUDGED}@"):
        return f"CV accuracy, {key.split('@', 1)[1]}"
    if key.startswith("selected_"):
        return f"kept {key[len('selected_'):]}"
    return key


#: The measures the summary ranks the models on: test accuracy of a linear SVM and of 1-NN on
#: the judged codes (measures of the trained models only, so each has a seed spread; the
#: baselines are set against them in the report's tables).
HEADLINE = [Metric(f"{probe}_{JUDGED}", metric_label(f"{probe}_{JUDGED}")) for probe in ("svm", "knn1")]

# ---------------------------------------------------------------------------------------
# parsing and checking


def parse_gammas(text: str) -> list[float]:
    """``"0,0.2"`` → [0.0, 0.2]: Barlow Twins weights, each finite and >= 0."""
    out = []
    for item in parse_list(text, what="gamma") or []:
        try:
            g = float(item)
        except ValueError:
            raise ConfigError(f"--gamma takes numbers such as 0,0.5,1, got {item!r}") from None
        if not math.isfinite(g) or g < 0:
            raise ConfigError(f"--gamma values must be >= 0, got {item!r}")
        out.append(g)
    return out


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_select(specs: list[str]) -> dict[str, list]:
    """``["max_latent_frames=16,64", ...]`` → {setting: [values]}; ``["none"]`` → {}."""
    out: dict[str, list] = {}
    for spec in specs:
        if spec.strip().lower() == "none":
            continue
        key, sep, values = spec.partition("=")
        items = parse_list(values, what=f"value of {key.strip()}") if sep and key.strip() else None
        if not items:
            raise ConfigError(f"--select takes SETTING=V1,V2 (e.g. max_latent_frames=16,64), got {spec!r}")
        out[key.strip()] = [_value(v) for v in items]
    return out


def selection_candidates(select: dict) -> list[dict]:
    """Every combination of the selected settings' values, in the listed order ([{}] when none)."""
    if not isinstance(select, dict) or not all(isinstance(v, list) and v for v in select.values()):
        raise ConfigError(f"'select' must map VQ-VAE settings to non-empty lists of values, got {select!r}")
    keys = list(select)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(select[k] for k in keys))]


def candidate_label(cand: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in cand.items())


def model_label(gamma: float | None) -> str:
    """The model's name in the rows: ``bt_vqvae_g0.2`` (γ = 0.2), ``vqvae_plain`` (None)."""
    return "vqvae_plain" if gamma is None else f"bt_vqvae_g{gamma:g}"


# ---------------------------------------------------------------------------------------
# the config


@dataclass
class UCRConfig(TaskConfig):
    """Settings of the UCR benchmark; the defaults are the ``default`` profile."""

    seeds: list[int] = seeds_setting([0, 1])
    logger: list[str] = loggers_setting()
    threads: int = threads_setting(1)
    datasets: list[str] = setting(DEFAULT_DATASETS, flag=True, metavar="NAMES",
                                  help="comma-separated UCR/UEA names")
    data_dir: str | None = setting(None, flag=True, path=True, metavar="DIR",
                                   help="a UCR archive folder (<dir>/<Name>/<Name>_TRAIN.tsv); default: the sets "
                                        "aeon ships (in a --config file: relative to the file, inside its folder)")
    gamma: list[float] = setting([0.0, 0.2], flag="--gamma", parse=parse_gammas, metavar="LIST",
                                 help="Barlow Twins weights, comma-separated (0 = the control trained on the same "
                                      "augmented views)")
    steps: int = setting(200, flag=True, help="optimiser steps per model (epochs = steps / batches per epoch; the tiny profile: 3)")
    select: dict = setting({}, flag=True, repeat=True, parse=parse_select, metavar="SETTING=V1,V2",
                           help="a VQ-VAE setting whose value each run chooses by cross-validation on the training "
                                "split, e.g. max_latent_frames=16,64; 'none' = no selection; in a --config file "
                                "a mapping {setting: [values]}")
    plain: bool = setting(False, flag=True, help="also train the plain VQ-VAE (no augmentation, no Barlow Twins)")
    minirocket: bool = setting(True, flag=True, help="fit the MiniRocket reference (aeon); --no-minirocket skips it")
    model: dict = setting(PROFILES["default"]["model"],
                          help="VQ-VAE settings over the profile's (--config only), e.g. {bt_features: cells}")

    def validate(self) -> None:
        super().validate()
        check(len(self.datasets) > 0, "datasets: name at least one UCR/UEA data set")
        check(len(self.gamma) > 0, "gamma: give at least one Barlow Twins weight")
        check(all(math.isfinite(g) and g >= 0 for g in self.gamma), f"gamma values must be >= 0, got {self.gamma}")
        check(self.steps >= 1, f"--steps must be >= 1, got {self.steps}")
        selection_candidates(self.select)

    def gammas(self) -> list[float | None]:
        """The trained models' Barlow Twins weights; None is the plain VQ-VAE (``plain``)."""
        return [None, *self.gamma] if self.plain else list(self.gamma)


def prepare(values: dict, given: set[str]) -> dict:
    """Merge ``model`` over the profile's, settle ``select``, and read older config spellings.

    ``model`` from a config file adds to the profile's VQ-VAE settings. A selection given
    explicitly (flag or file; ``none``/null = none) replaces the profile's; otherwise the
    profile's selection applies, less the settings fixed under ``model``. ``datasets`` and
    ``gamma`` may be comma-separated text (or one number), and ``seeds`` a count or text,
    as config files have always written them.
    """
    out = dict(values)
    profile = PROFILES[out["profile"]]
    overrides = out.get("model") if "model" in given else {}
    if overrides is None:
        overrides = {}
    if isinstance(overrides, dict):
        out["model"] = {**profile["model"], **overrides}
        if "select" not in given:
            out["select"] = {k: v for k, v in profile["select"].items() if k not in overrides}
    if "select" in given and out.get("select") is None:
        out["select"] = {}
    readers = {"datasets": lambda v: parse_list(v, what="data set"), "gamma": parse_gammas, "seeds": parse_seeds}
    for key, read in readers.items():
        if isinstance(out.get(key), (str, int, float)) and not isinstance(out[key], bool):
            out[key] = read(str(out[key]))
    return out
