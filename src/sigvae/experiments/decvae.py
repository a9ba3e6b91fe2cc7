"""The DecVAE benchmark on SimVowels (``sigvae benchmark decvae``).

For each seed: pre-trains DecVAE (FD and EWT, β = 1), β-DecVAE (FD, β = 0.1) and DecAE
(FD, β = 0) on utterances of the *train* speakers through :func:`sigvae.training.fit`;
trains the β-VAE (``beta_vae`` preset, log-mel frame front end) on the same frames and
fits PCA on the same log-mel frame features, all at the same frame-level latent size
((C + 1)·z_dim). Everything is then evaluated zero-shot (frozen encoders) on utterances of
the *test* speakers, who were never seen in training:

- frame level, factors (vowel, speaker): DCI (GBT importances), modularity, explicitness,
  IRS, MIG (``sigvae.metrics``), on frame codes of one half of the test utterances (the
  predictors of DCI / explicitness are fitted on the other half); DCI also on each frame's
  code joined with its utterance's code (``dci_joint_*``: the model's whole representation);
- probes: standardised features → logistic regression, vowel per frame and speaker per
  utterance (utterance codes: DecVAE's sequence branch; the baselines' frame codes averaged);
- which subspace carries which factor: the same probes on each DecVAE subspace alone;
- an encoder-response figure: vary the vowel (speaker fixed) or the vocal-tract factor
  (vowel fixed), plot each subspace's mean along its first principal direction;
- optionally a self-supervised fine-tuning of DecVAE (FD) on unlabelled test-speaker
  utterances (same loss), evaluated again.

Writes report.html, results.json / results.csv (rows {dataset, model, seed, metric, value}),
settings.json and figures/*.png into ``--out`` (via a staged folder: nothing half-written).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import check, from_dict, load_config_file, to_dict
from .common import BenchmarkProgress, add_common_arguments, parse_list, parse_seeds

DESCRIPTION = "DecVAE on SimVowels: DecVAE (FD, EWT), β-DecVAE, DecAE, β-VAE, PCA; DCI, MIG, IRS, probes, subspaces"

DECVAE_MODELS = {
    "decvae_fd": ("decvae", {"decomposition": "fd"}),
    "decvae_ewt": ("decvae", {"decomposition": "ewt"}),
    "beta_decvae_fd": ("beta_decvae", {"decomposition": "fd"}),
    "decae_fd": ("decae", {"decomposition": "fd"}),
}
ALL_MODELS = (*DECVAE_MODELS, "beta_vae", "pca")

#: The paper's SimVowels table (DCI-D / DCI-I / modularity / explicitness / IRS / vowel acc / speaker acc).
PAPER = {
    "β-VAE": (0.062, 0.805, 0.563, 0.772, 0.552, 0.963, 0.732),
    "PCA": (0.230, 0.801, 0.645, 0.894, 0.477, 0.974, 0.741),
    "DecVAE + FD": (0.618, 0.761, 0.828, 0.921, 0.655, 0.916, 0.769),
    "β-DecVAE + EWT": (0.582, 0.742, 0.905, 0.915, 0.523, 0.977, 0.713),
}
PAPER_METRICS = ("dci_disentanglement", "dci_informativeness", "modularity", "explicitness", "irs", "vowel_acc", "speaker_acc")
HEADLINE = [
    ("dci_disentanglement", "DCI-D"), ("dci_completeness", "DCI-C"), ("dci_informativeness", "DCI-I"),
    ("modularity", "modularity"), ("explicitness", "explicitness"), ("irs", "IRS"), ("mig", "MIG"),
    ("vowel_acc", "vowel acc"), ("speaker_acc", "speaker acc"),
    ("dci_joint_disentanglement", "DCI-D, frame ‖ utterance codes"), ("train_seconds", "train s"),
]


@dataclass
class DecVAEBenchmarkConfig:
    """Every setting of the benchmark (a ``--config`` YAML/JSON may hold any of these keys)."""

    profile: str = "default"
    models: list[str] = field(default_factory=lambda: list(ALL_MODELS))
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    num_train: int = 240
    num_eval: int = 100
    vowels_per_utterance: int = 8
    train_speakers: int = 10
    test_speakers: int = 5
    n_components: int = 3
    z_dim: int = 8
    s_dim: int = 8
    epochs: int = 15
    batch_size: int = 16
    lr: float = 2e-3
    vae_epochs: int = 5
    vae_frames: int = 4000
    max_metric_frames: int = 600
    dci_estimator: str = "gbt"
    torch_threads: int = 1
    finetune_epochs: int = 2
    response_points: int = 7
    data_seed: int = 7

    def validate(self) -> None:
        for m in self.models:
            check(m in ALL_MODELS, f"unknown model {m!r}; choose from {', '.join(ALL_MODELS)}")
        check(len(self.seeds) >= 1 and min(self.seeds) >= 0 and max(self.seeds) < 2**32,
              "seeds must be a non-empty list of integers in [0, 2^32)")
        check(self.num_train >= 4 and self.num_eval >= 4, "num_train and num_eval must be >= 4")
        check(self.train_speakers >= 1 and self.test_speakers >= 2, "need >= 1 train and >= 2 test speakers")
        check(self.num_eval >= 2 * self.test_speakers, "num_eval must give every test speaker >= 2 utterances")
        check(self.epochs >= 1 and self.vae_epochs >= 1, "epochs must be >= 1")
        check(self.finetune_epochs >= 0, "finetune_epochs must be >= 0")
        check(self.torch_threads >= 0, "torch_threads must be >= 0 (0: leave torch's default)")
        from ..metrics import DCI_ESTIMATORS

        check(self.dci_estimator in DCI_ESTIMATORS, f"dci_estimator must be one of {list(DCI_ESTIMATORS)}, got {self.dci_estimator!r}")


PROFILES = {
    "default": {},
    "tiny": {"seeds": [0], "num_train": 16, "num_eval": 12, "vowels_per_utterance": 3, "test_speakers": 3,
             "epochs": 1, "vae_epochs": 1, "vae_frames": 300, "max_metric_frames": 200, "finetune_epochs": 1,
             "response_points": 3, "batch_size": 8,
             "dci_estimator": "l1_logistic"},
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, "runs/benchmark-decvae")
    p.add_argument("--profile", choices=sorted(PROFILES), default=None, help="default (≈ 20 min on 2 CPU cores) or tiny (seconds)")
    p.add_argument("--models", help=f"comma-separated subset of {', '.join(ALL_MODELS)}")
    p.add_argument("--epochs", type=int, help="DecVAE pre-training epochs")
    p.add_argument("--num-train", type=int, help="training utterances")


def resolve_settings(args: argparse.Namespace) -> DecVAEBenchmarkConfig:
    file = load_config_file(args.config) if getattr(args, "config", None) else {}
    profile = args.profile or file.get("profile", "default")
    base = {**PROFILES[profile], **file, "profile": profile}
    if args.seeds is not None:
        base["seeds"] = parse_seeds(args.seeds)
    if args.models:
        base["models"] = parse_list(args.models, list(ALL_MODELS), "model")
    if args.epochs is not None:
        base["epochs"] = args.epochs
    if args.num_train is not None:
        base["num_train"] = args.num_train
    return from_dict(DecVAEBenchmarkConfig, base, where=args.config or "benchmark settings")


def run(args: argparse.Namespace) -> int:
    cfg = resolve_settings(args)
    out = run_benchmark(cfg, args.out, progress=not args.no_progress)
    print(f"wrote {out / 'report.html'}, results.json and results.csv")
    return 0


# ------------------------------------------------------------------------------ data
@dataclass
class BenchData:
    train: object  # SignalSet, train speakers
    test: object  # SignalSet, unseen test speakers (evaluation)
    adapt: object  # SignalSet, further unlabelled test-speaker utterances (fine-tuning)
    test_source: object
    frame_vowels: np.ndarray  # [M, F]


def load_data(cfg: DecVAEBenchmarkConfig) -> BenchData:
    from ..data.simvowels import SimVowels, SimVowelsConfig

    common = {"vowels_per_utterance": cfg.vowels_per_utterance, "train_speakers": cfg.train_speakers,
              "val_speakers": 0, "test_speakers": cfg.test_speakers}
    train_src = SimVowels(SimVowelsConfig(split="train", **common))
    test_src = SimVowels(SimVowelsConfig(split="test", **common))
    train = train_src.signal_set(cfg.num_train, cfg.data_seed)
    # Balanced evaluation: every test speaker gets the same number of utterances.
    rng = np.random.default_rng(cfg.data_seed + 1)
    per = cfg.num_eval // cfg.test_speakers
    f = test_src.sample_factors(per * cfg.test_speakers, rng)
    f[:, 0] = np.repeat(np.arange(cfg.test_speakers), per)
    from ..data.base import SignalSet

    test = SignalSet(test_src.sample_observations_from_factors(f, rng), test_src.sample_rate, f,
                     list(test_src.factor_names), list(test_src.factor_sizes), "simvowels-test")
    adapt = test_src.signal_set(max(cfg.num_eval, 8), cfg.data_seed + 2)
    return BenchData(train, test, adapt, test_src, test_src.frame_vowels(f))


def _halves(speakers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split utterance indices into two halves with every speaker in both (alternating per speaker)."""
    a, b = [], []
    for s in np.unique(speakers):
        idx = np.nonzero(speakers == s)[0]
        a += list(idx[0::2])
        b += list(idx[1::2])
    return np.sort(np.array(a)), np.sort(np.array(b))


# ------------------------------------------------------------------------------ encoders
def _logmel_frames(signals: np.ndarray, model_cfg) -> np.ndarray:
    """Log-mel frame features exactly as DecVAE's X input: [N, F, n_mels]."""
    import torch

    from ..decompose import frame_signal
    from ..models import build_model

    net = build_model("decae", model_cfg)
    frames = torch.from_numpy(frame_signal(signals[:, 0], net.config.frame_length, net.config.frame_stride))
    with torch.no_grad():
        return net._frame_inputs(frames).numpy()


def _decvae_codes(model, signals: np.ndarray, batch: int = 16) -> dict[str, np.ndarray]:
    import torch

    model.eval()
    parts: dict[str, list] = {}
    with torch.no_grad():
        for i in range(0, len(signals), batch):
            lat = model.latents(torch.from_numpy(signals[i : i + batch]))
            for k in ("z_mean", "u_mean"):
                parts.setdefault(k, []).append(lat[k].numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}  # z_mean [M, F, S, z], u_mean [M, S, s]


# ------------------------------------------------------------------------------ scoring
def _probe(x_tr, y_tr, x_te, y_te) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_tr)) < 2:
        return math.nan
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return float(clf.fit(x_tr, y_tr).score(x_te, y_te))


def score_representation(frame_codes: np.ndarray, utt_codes: np.ndarray, data: BenchData, cfg: DecVAEBenchmarkConfig, seed: int) -> dict[str, float]:
    """Metrics of one representation: frame codes [M, F, D] and utterance codes [M, D']."""
    from .. import metrics

    speakers = data.test.factors[:, 0]
    a, b = _halves(speakers)
    m, f, d = frame_codes.shape
    vowels = data.frame_vowels
    fac = np.stack([vowels, np.repeat(speakers[:, None], f, axis=1)], axis=-1)  # [M, F, 2]
    rng = np.random.default_rng(seed)

    # Each frame's utterance code beside its frame code: the model's whole representation.
    joint_codes = np.concatenate([frame_codes, np.repeat(utt_codes[:, None, :], f, axis=1)], axis=-1)

    def pick(idx):
        keep = rng.permutation(len(idx) * f)[: cfg.max_metric_frames]
        return frame_codes[idx].reshape(-1, d)[keep], fac[idx].reshape(-1, 2)[keep], joint_codes[idx].reshape(len(idx) * f, -1)[keep]

    ca, fa, ja = pick(a)
    cb, fb, jb = pick(b)
    out: dict[str, float] = {}
    dci = metrics.dci(ca, fa, cb, fb, estimator=cfg.dci_estimator, seed=seed)
    out["dci_disentanglement"] = dci["disentanglement"]
    out["dci_completeness"] = dci["completeness"]
    out["dci_informativeness"] = dci["informativeness_test"]
    joint = metrics.dci(ja, fa, jb, fb, estimator=cfg.dci_estimator, seed=seed)
    out["dci_joint_disentanglement"] = joint["disentanglement"]
    out["dci_joint_informativeness"] = joint["informativeness_test"]
    allc = np.concatenate([ca, cb])
    allf = np.concatenate([fa, fb])
    out["modularity"] = metrics.modularity(allc, allf)
    out["explicitness"] = metrics.explicitness(ca, fa, cb, fb)
    out["irs"] = metrics.irs(allc, allf)
    out["mig"] = metrics.mig(allc, allf)
    out["vowel_acc"] = _probe(frame_codes[a].reshape(-1, d), vowels[a].reshape(-1), frame_codes[b].reshape(-1, d), vowels[b].reshape(-1))
    out["speaker_acc"] = _probe(utt_codes[a], speakers[a], utt_codes[b], speakers[b])
    return out


def subspace_probes(codes: dict[str, np.ndarray], data: BenchData) -> np.ndarray:
    """Probe accuracy of each DecVAE subspace alone: [S, 2] (vowel per frame, speaker per utterance)."""
    speakers = data.test.factors[:, 0]
    a, b = _halves(speakers)
    z, u = codes["z_mean"], codes["u_mean"]
    res = np.zeros((z.shape[2], 2))
    for s in range(z.shape[2]):
        zs = z[:, :, s]
        res[s, 0] = _probe(zs[a].reshape(-1, zs.shape[-1]), data.frame_vowels[a].reshape(-1), zs[b].reshape(-1, zs.shape[-1]), data.frame_vowels[b].reshape(-1))
        res[s, 1] = _probe(u[a, s], speakers[a], u[b, s], speakers[b])
    return res


def encoder_response(model, data: BenchData, cfg: DecVAEBenchmarkConfig):
    """Vary one factor with the others fixed; returns ({factor: (values, [S, n] means, [S, n] stds)}, names)."""
    import copy

    src = copy.copy(data.test_source)
    c = src.config
    rng = np.random.default_rng(123)
    v = c.vowels_per_utterance
    resp = {}
    ref = _decvae_codes(model, data.test.signals)["z_mean"]  # directions fitted on the evaluation set
    dirs = []
    for s in range(ref.shape[2]):
        zs = ref[:, :, s].reshape(-1, ref.shape[-1])
        _, _, vt = np.linalg.svd(zs - zs.mean(0), full_matrices=False)
        dirs.append((zs.mean(0), vt[0]))
    vts = np.exp(np.linspace(np.log(c.vt_min), np.log(c.vt_max), cfg.response_points))
    src.speaker_vt = np.concatenate([vts, [1.0]])
    # vowel sweep: speaker with vt = 1, every utterance one vowel; vt sweep: vowel "a".
    fv = np.array([[len(vts)] + [k] * v for k in range(5)])
    fs = np.array([[i] + [0] * v for i in range(len(vts))])
    for name, facs, values in (("vowel", fv, np.arange(5)), ("vocal-tract factor", fs, vts)):
        sig = src.sample_observations_from_factors(facs, rng)
        z = _decvae_codes(model, sig)["z_mean"]  # [n, F, S, z]
        proj = np.stack([((z[:, :, s] - mu) @ d) for s, (mu, d) in enumerate(dirs)])  # [S, n, F]
        resp[name] = (values, proj.mean(-1), proj.std(-1))
    return resp


def response_figure(resp: dict, names: list[str], title: str):
    import matplotlib.pyplot as plt

    from ..data.simvowels import VOWELS

    fig, axes = plt.subplots(1, len(resp), figsize=(5 * len(resp), 3.4))
    for ax, (factor, (values, mean, std)) in zip(np.atleast_1d(axes), resp.items()):
        x = np.arange(len(values)) if factor == "vowel" else values
        for s, name in enumerate(names):
            ax.errorbar(x, mean[s], yerr=std[s], marker="o", capsize=2, label=name)
        if factor == "vowel":
            ax.set_xticks(x)
            ax.set_xticklabels(VOWELS)
        ax.set_xlabel(factor)
        ax.set_ylabel("subspace mean along its 1st principal direction")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ main loop
def run_benchmark(cfg: DecVAEBenchmarkConfig, out: str | os.PathLike, progress: bool = True) -> Path:
    """Run every model and seed in ``cfg``; write the report folder ``out``; returns its path."""
    import lightning as L
    import torch

    from ..data.base import SignalDataset, SignalSet
    from ..decompose import frame_signal
    from ..io import staged_dir, write_json
    from ..models import build_config, build_model
    from ..report.results import row, summarise, write_results
    from ..training import TrainConfig, fit

    cfg.validate()
    if cfg.torch_threads > 0:
        # On a shared CPU, torch's intra-op threads oversubscribe the cores: one thread was
        # 9x faster per DecVAE step than two on this 2-core machine under load.
        torch.set_num_threads(cfg.torch_threads)
    data = load_data(cfg)
    neural = [m for m in cfg.models if m in DECVAE_MODELS or m == "beta_vae"]
    total = len(cfg.seeds) * (sum(cfg.epochs for m in neural if m != "beta_vae") + (cfg.vae_epochs if "beta_vae" in neural else 0)
                              + (cfg.finetune_epochs if "decvae_fd" in cfg.models else 0) + len(cfg.models))
    bar = BenchmarkProgress(total, "benchmark decvae", enabled=progress)
    sizes = {"n_components": cfg.n_components, "z_dim": cfg.z_dim, "s_dim": cfg.s_dim,
             "length": data.train.length, "sample_rate": data.train.sample_rate}
    latent = (cfg.n_components + 1) * cfg.z_dim
    rows: list[dict] = []
    extras: dict = {"histories": {}, "subspaces": {}, "response": None}
    with staged_dir(out) as stage:
        models_dir = stage / "models"
        feats_train = feats_test = None
        for seed in cfg.seeds:
            tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, progress=False,
                               val_fraction=0.1, accelerator="cpu" if not torch.cuda.is_available() else "auto")
            for name in cfg.models:
                bar.set_label(f"{name} seed {seed}")
                L.seed_everything(seed, verbose=False)
                t0 = time.time()
                if name in DECVAE_MODELS:
                    reg, over = DECVAE_MODELS[name]
                    net = build_model(reg, build_config(reg, {**sizes, **over}))
                    tr, va = data.train.split(0.1, seed)
                    res = fit(net, SignalDataset(tr), SignalDataset(va), tcfg, models_dir / f"{name}-seed{seed}",
                              callbacks=[bar], loggers=False, metadata={"model": reg, "data": "simvowels", "seed": seed})
                    extras["histories"][f"{name} s{seed}"] = res.history
                    codes = _decvae_codes(res.model, data.test.signals)
                    fc, uc = codes["z_mean"].reshape(*codes["z_mean"].shape[:2], -1), codes["u_mean"].reshape(len(data.test), -1)
                    sub = subspace_probes(codes, data)
                    extras["subspaces"].setdefault(name, []).append(sub)
                    for s, sname in enumerate(res.model.subspace_names()):
                        rows.append(row("simvowels", name, seed, f"subspace_{sname}_vowel_acc", sub[s, 0]))
                        rows.append(row("simvowels", name, seed, f"subspace_{sname}_speaker_acc", sub[s, 1]))
                    if name == "decvae_fd" and seed == cfg.seeds[0]:
                        extras["response"] = encoder_response(res.model, data, cfg)
                        extras["subspace_names"] = res.model.subspace_names()
                    train_s = res.seconds
                    if name == "decvae_fd" and cfg.finetune_epochs > 0:
                        from ..models.decvae import finetune

                        ft_cfg = TrainConfig(**{**to_dict(tcfg), "epochs": cfg.finetune_epochs, "lr": cfg.lr * 0.3})
                        ft = finetune(res.model, SignalDataset(data.adapt), None, ft_cfg, models_dir / f"{name}-finetuned-seed{seed}",
                                      callbacks=[bar], loggers=False)
                        fcodes = _decvae_codes(ft.model, data.test.signals)
                        scores = score_representation(fcodes["z_mean"].reshape(*fcodes["z_mean"].shape[:2], -1),
                                                      fcodes["u_mean"].reshape(len(data.test), -1), data, cfg, seed)
                        for k, v in scores.items():
                            rows.append(row("simvowels", "decvae_fd+finetune", seed, k, v))
                        rows.append(row("simvowels", "decvae_fd+finetune", seed, "train_seconds", ft.seconds))
                else:
                    if feats_train is None:
                        feats_train = _logmel_frames(data.train.signals, sizes)  # [N, F, n_mels]
                        feats_test = _logmel_frames(data.test.signals, sizes)
                    if name == "pca":
                        from sklearn.decomposition import PCA

                        flat = feats_train.reshape(-1, feats_train.shape[-1])
                        pca = PCA(n_components=min(latent, flat.shape[1]), random_state=seed).fit(flat)
                        fc = pca.transform(feats_test.reshape(-1, feats_test.shape[-1])).reshape(len(data.test), -1, pca.n_components_)
                        train_s = time.time() - t0
                    else:  # β-VAE on single frames, same log-mel front end as DecVAE's X input
                        frames = frame_signal(data.train.signals[:, 0], 400, 320).reshape(-1, 400)
                        pick = np.random.default_rng(seed).permutation(len(frames))[: cfg.vae_frames]
                        fset = SignalSet(frames[pick][:, None], data.train.sample_rate, name="simvowels-frames")
                        tr, va = fset.split(0.1, seed)
                        vcfg = build_config("beta_vae", {"latent_dim": latent, "length": 400, "sample_rate": data.train.sample_rate,
                                                         "frontend": {"kind": "logmel", "n_fft": 256, "hop_length": 80, "n_mels": 40},
                                                         "channels": [32, 64], "hidden_dim": 128})
                        net = build_model("beta_vae", vcfg)
                        res = fit(net, SignalDataset(tr), SignalDataset(va),
                                  TrainConfig(**{**to_dict(tcfg), "epochs": cfg.vae_epochs, "batch_size": 64}),
                                  models_dir / f"{name}-seed{seed}", callbacks=[bar], loggers=False,
                                  metadata={"model": "beta_vae", "data": "simvowels frames", "seed": seed})
                        extras["histories"][f"{name} s{seed}"] = res.history
                        test_frames = frame_signal(data.test.signals[:, 0], 400, 320)
                        with torch.no_grad():
                            z = res.model.embed(torch.from_numpy(test_frames.reshape(-1, 1, 400))).numpy()
                        fc = z.reshape(len(data.test), test_frames.shape[1], -1)
                        train_s = res.seconds
                    uc = fc.mean(1)
                scores = score_representation(fc, uc, data, cfg, seed)
                for k, v in scores.items():
                    rows.append(row("simvowels", name, seed, k, v))
                rows.append(row("simvowels", name, seed, "train_seconds", train_s))
                bar.advance(1)
        seconds = bar.close()
        summary = summarise(rows)
        write_results(rows, stage)
        write_json(stage / "settings.json", to_dict(cfg))
        write_report(stage, cfg, data, rows, summary, extras, seconds)
    return Path(out)


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU threads visible, {platform.system()} {platform.release()}"


def write_report(out: Path, cfg: DecVAEBenchmarkConfig, data: BenchData, rows, summary, extras, seconds: float) -> None:
    from ..decompose import decompose_utterance
    from ..report.figures import heatmap, loss_curves, metric_bars
    from ..report.html import Report
    from ..report.results import pivot

    rep = Report("sigvae benchmark: DecVAE on SimVowels", out)
    rep.text(
        f"Pre-training on {len(data.train)} utterances of {cfg.train_speakers} train speakers; zero-shot evaluation "
        f"(frozen encoders) on {len(data.test)} utterances of {cfg.test_speakers} unseen test speakers, "
        f"{cfg.vowels_per_utterance} vowels of 100 ms each per utterance. Seeds {cfg.seeds}; frame-level latent size "
        f"{(cfg.n_components + 1) * cfg.z_dim} for every model. Profile {cfg.profile}; {seconds / 60:.1f} min on {_machine()}."
    )
    models = [m for m in [*cfg.models, "decvae_fd+finetune"] if any(r["model"] == m for r in rows)]
    head = [k for k, _ in HEADLINE]
    rlab, clab, cells = pivot([s for s in summary if s["metric"] in head])
    rep.heading("Results (mean ± std over seeds)")
    rep.table(["model", *[lbl for k, lbl in HEADLINE if k in clab]], [[m, *[cells.get((m, k), "n/a") for k, _ in HEADLINE if k in clab]] for m in models])
    rep.text(f"DCI uses the {cfg.dci_estimator!r} estimator of sigvae.metrics.dci (gbt = disentanglement_lib's) on frame codes with factors (vowel, speaker); "
             "DCI-I is its test accuracy. 'DCI-D, frame ‖ utterance codes' repeats DCI with each frame's utterance code "
             "appended (DecVAE's sequence branch S; for β-VAE and PCA the mean of the utterance's frame codes): a speaker "
             "code that is constant over the utterance raises DCI-D for every model that has one, so read it beside the "
             "frame-level DCI-D, not instead of it. Probes: standardised codes → logistic regression; vowel per frame, speaker per "
             "utterance, trained on half of each test speaker's utterances and scored on the other half.", note=True)
    rep.heading("The paper's SimVowels table (context)")
    rep.table(["model", "DCI-D", "DCI-I", "modularity", "explicitness", "IRS", "vowel acc", "speaker acc"],
              [[k, *v] for k, v in PAPER.items()])
    rep.figure(metric_bars(summary, ["dci_disentanglement", "modularity", "explicitness", "irs", "mig", "vowel_acc", "speaker_acc"], models,
                           "SimVowels, unseen speakers"), "metrics", "Mean ± std over seeds.")
    for name, subs in extras["subspaces"].items():
        mean = np.mean(subs, axis=0)
        labels = ["X"] + [f"C{i + 1}" for i in range(mean.shape[0] - 1)]
        rep.figure(heatmap(mean, labels, ["vowel (frame Z)", "speaker (utterance S)"], f"{name}: probe accuracy per subspace"),
                   f"subspaces_{name}", "Which subspace carries which factor: a probe on each subspace alone (chance: vowel 0.2, "
                   f"speaker {1 / cfg.test_speakers:.2f}).")
    if extras.get("response"):
        rep.figure(response_figure(extras["response"], extras["subspace_names"], "DecVAE (FD), first seed — encoder response"),
                   "encoder_response", "Vary one factor, others fixed; each subspace's frame-level mean projected on its first "
                   "principal direction (fitted on the evaluation set); bars: std over frames.")
    if extras["histories"]:
        rep.figure(loss_curves(extras["histories"]), "loss_curves", "Training and validation loss per epoch.")
    rep.heading("Listen: one test utterance and its utterance-level FD components")
    x = data.test.signals[0, 0]
    comps = decompose_utterance(x[None], "fd", cfg.n_components, data.test.sample_rate)[0]
    rep.audio(x, data.test.sample_rate, "utterance")
    for i, c in enumerate(comps):
        rep.audio(c, data.test.sample_rate, f"component C{i + 1}")
    rep.heading("Settings")
    import json

    rep.code(json.dumps(to_dict(cfg), indent=1))
    rep.write()
