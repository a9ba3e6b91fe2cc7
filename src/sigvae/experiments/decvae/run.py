"""The run step: for each seed, train or fit every chosen contender, read its codes of the
unseen test speakers and score them (zero-shot: frozen encoders).

Each contender is handled by the fitter of its ``kind`` (:data:`FITTERS`); what differs
between contenders of one kind is data (:data:`~.config.CONTENDERS`), and the rest is asked
of the model itself (``latents``, ``embed``, ``subspace_names``, its config's ``beta``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..common import BenchmarkProgress
from ..task import RunContext, TaskResults
from .config import CONTENDERS, FINETUNED, FRONT_END, Contender, DecVAEBenchmarkConfig
from .data import BenchData, load_data
from .scoring import (
    activity_warning,
    encoder_response,
    score_representation,
    subspace_probes,
    utterance_latents,
)

DATASET = "simvowels"


@dataclass
class Fitted:
    """A trained (or fitted) contender and its codes of the evaluation utterances."""

    frame_codes: np.ndarray  # [M, F, D]
    utt_codes: np.ndarray  # [M, D']
    seconds: float  # training (fitting) time
    model: object = None  # the network (None for PCA)
    latents: dict | None = None  # models trained on utterances: z_mean [M, F, S, z], u_mean [M, S, s]
    history: list | None = None


class Bench:
    """What every fit of one run shares: settings, data, progress bar, and what it found."""

    def __init__(self, cfg: DecVAEBenchmarkConfig, data: BenchData, bar: BenchmarkProgress, models_dir):
        self.cfg, self.data, self.bar, self.models_dir = cfg, data, bar, models_dir
        self.sizes = {"n_components": cfg.n_components, "z_dim": cfg.z_dim, "s_dim": cfg.s_dim,
                      "length": data.train.length, "sample_rate": data.train.sample_rate}
        self.latent = (cfg.n_components + 1) * cfg.z_dim  # frame-level latent size of every contender
        self.rows: list[dict] = []
        self.warnings: list[str] = []
        self.extras: dict = {"histories": {}, "subspaces": {}, "subspace_names": {}, "response": None}
        self._features = None

    def train_config(self, seed: int, **changes):
        import torch

        from ...training import TrainConfig

        base = {"epochs": self.cfg.epochs, "batch_size": self.cfg.batch_size, "lr": self.cfg.lr, "seed": seed,
                "progress": False, "val_fraction": 0.1, "accelerator": "cpu" if not torch.cuda.is_available() else "auto"}
        return TrainConfig(**{**base, **changes})

    def front_end(self):
        """The config of the front end: its ``frame_length``, ``frame_stride``, log-mel X input."""
        from ...models import build_config

        return build_config(FRONT_END, self.sizes)

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """The front end's log-mel frame features of the train and test utterances, [N, F, n_mels]
        (computed once, at the first frame-level contender: building the front end draws from
        torch's random generator, so where it happens is part of the results)."""
        if self._features is None:
            self._features = (_logmel_frames(self.data.train.signals, self.sizes),
                              _logmel_frames(self.data.test.signals, self.sizes))
        return self._features

    def add(self, model: str, seed: int, scores: dict[str, float]) -> None:
        from ...report.results import row

        self.rows.extend(row(DATASET, model, seed, k, v) for k, v in scores.items())


def _logmel_frames(signals: np.ndarray, sizes: dict) -> np.ndarray:
    """Log-mel frame features exactly as the front end's X input: [N, F, n_mels]."""
    import torch

    from ...decompose import frame_signal
    from ...models import build_model

    net = build_model(FRONT_END, sizes)
    frames = torch.from_numpy(frame_signal(signals[:, 0], net.config.frame_length, net.config.frame_stride))
    with torch.no_grad():
        return net._frame_inputs(frames).numpy()


# ------------------------------------------------------------------------------ fitters
def _read_utterance_model(model, data: BenchData, seconds: float, history=None) -> Fitted:
    codes = utterance_latents(model, data.test.signals)
    z, u = codes["z_mean"], codes["u_mean"]
    return Fitted(z.reshape(*z.shape[:2], -1), u.reshape(len(data.test), -1), seconds, model, codes, history)


def fit_utterance_model(bench: Bench, name: str, entry: Contender, seed: int) -> Fitted:
    """Train a model on whole utterances of the train speakers (DecVAE and its presets)."""
    from ...data.base import SignalDataset
    from ...models import build_config, build_model
    from ...training import fit

    net = build_model(entry.model, build_config(entry.model, {**bench.sizes, **entry.overrides}))
    tr, va = bench.data.train.split(0.1, seed)
    res = fit(net, SignalDataset(tr), SignalDataset(va), bench.train_config(seed), bench.models_dir / f"{name}-seed{seed}",
              callbacks=[bench.bar], loggers=bench.cfg.logger, metadata={"model": entry.model, "data": DATASET, "seed": seed})
    return _read_utterance_model(res.model, bench.data, res.seconds, res.history)


def fit_frame_model(bench: Bench, name: str, entry: Contender, seed: int) -> Fitted:
    """Train a model on single frames of the front end, drawn from the training utterances."""
    import torch

    from ...data.base import SignalDataset, SignalSet
    from ...decompose import frame_signal
    from ...models import build_config, build_model
    from ...training import fit

    bench.features()  # where the benchmark has always computed them (see Bench.features)
    cfg, data, fe = bench.cfg, bench.data, bench.front_end()
    length, stride, rate = fe.frame_length, fe.frame_stride, data.train.sample_rate
    frames = frame_signal(data.train.signals[:, 0], length, stride).reshape(-1, length)
    pick = np.random.default_rng(seed).permutation(len(frames))[: cfg.vae_frames]
    tr, va = SignalSet(frames[pick][:, None], rate, name=f"{DATASET}-frames").split(0.1, seed)
    net = build_model(entry.model, build_config(entry.model, {"latent_dim": bench.latent, "length": length,
                                                              "sample_rate": rate, **entry.overrides}))
    res = fit(net, SignalDataset(tr), SignalDataset(va), bench.train_config(seed, epochs=cfg.vae_epochs, batch_size=64),
              bench.models_dir / f"{name}-seed{seed}", callbacks=[bench.bar], loggers=bench.cfg.logger,
              metadata={"model": entry.model, "data": f"{DATASET} frames", "seed": seed})
    test_frames = frame_signal(data.test.signals[:, 0], length, stride)
    with torch.no_grad():
        z = res.model.embed(torch.from_numpy(test_frames.reshape(-1, 1, length))).numpy()
    fc = z.reshape(len(data.test), test_frames.shape[1], -1)
    return Fitted(fc, fc.mean(1), res.seconds, res.model, None, res.history)


def fit_pca(bench: Bench, name: str, entry: Contender, seed: int) -> Fitted:
    """PCA on the front end's log-mel frame features, as many components as the others' latents."""
    from sklearn.decomposition import PCA

    t0 = time.time()
    feats_train, feats_test = bench.features()
    flat = feats_train.reshape(-1, feats_train.shape[-1])
    pca = PCA(n_components=min(bench.latent, flat.shape[1]), random_state=seed).fit(flat)
    fc = pca.transform(feats_test.reshape(-1, feats_test.shape[-1])).reshape(len(bench.data.test), -1, pca.n_components_)
    return Fitted(fc, fc.mean(1), time.time() - t0)


#: Contender kind → the function that trains (fits) it and reads its codes.
FITTERS = {"utterance": fit_utterance_model, "frame": fit_frame_model, "pca": fit_pca}


# ------------------------------------------------------------------------------ one contender
def _check_activity(bench: Bench, name: str, seed: int, got: Fitted) -> None:
    """Warn about collapsed posteriors of a VAE-like model (one whose config has a prior
    term, ``beta`` > 0): its frame codes and, where it has them, its utterance codes."""
    if got.model is None or not getattr(got.model.config, "beta", 0) > 0:
        return
    codes = {"frame": got.frame_codes, **({"utterance": got.latents["u_mean"]} if got.latents else {})}
    for what, c in codes.items():
        line = activity_warning(name, seed, c, what)
        if line:
            bench.warnings.append(line)


def _subspaces(bench: Bench, name: str, seed: int, got: Fitted) -> None:
    """Probe each subspace of a model trained on utterances alone."""
    sub = subspace_probes(got.latents, bench.data)
    names = got.model.subspace_names()
    bench.extras["subspaces"].setdefault(name, []).append(sub)
    bench.extras["subspace_names"][name] = names
    for s, sname in enumerate(names):
        bench.add(name, seed, {f"subspace_{sname}_vowel_acc": sub[s, 0], f"subspace_{sname}_speaker_acc": sub[s, 1]})


def _finetuned(bench: Bench, name: str, seed: int, got: Fitted) -> None:
    """Fine-tune a copy on unlabelled test-speaker utterances (same loss) and score it."""
    from ...data.base import SignalDataset
    from ...training import finetune

    cfg = bench.cfg
    ft = finetune(got.model, SignalDataset(bench.data.adapt), None,
                  bench.train_config(seed, epochs=cfg.finetune_epochs, lr=cfg.lr * 0.3),
                  bench.models_dir / f"{name}-finetuned-seed{seed}", callbacks=[bench.bar], loggers=bench.cfg.logger)
    tuned = _read_utterance_model(ft.model, bench.data, ft.seconds)
    _check_activity(bench, name + FINETUNED, seed, tuned)
    scores = score_representation(tuned.frame_codes, tuned.utt_codes, bench.data, cfg, seed)
    bench.add(name + FINETUNED, seed, {**scores, "train_seconds": ft.seconds})


def run_one(bench: Bench, name: str, seed: int) -> None:
    """Train (fit) contender ``name`` with ``seed``, score it and anything derived from it."""
    import lightning as L

    entry, cfg = CONTENDERS[name], bench.cfg
    bench.bar.set_label(f"{name} seed {seed}")
    L.seed_everything(seed, verbose=False)
    got = FITTERS[entry.kind](bench, name, entry, seed)
    if got.history is not None:
        bench.extras["histories"][f"{name} s{seed}"] = got.history
    if got.latents is not None:
        _subspaces(bench, name, seed, got)
    if entry.response and seed == cfg.seeds[0]:
        bench.extras["response"] = (name, encoder_response(got.model, bench.data, cfg), got.model.subspace_names())
    if entry.finetune and cfg.finetune_epochs > 0:
        _finetuned(bench, name, seed, got)
    _check_activity(bench, name, seed, got)
    scores = score_representation(got.frame_codes, got.utt_codes, bench.data, cfg, seed)
    bench.add(name, seed, {**scores, "train_seconds": got.seconds})
    bench.bar.advance(1)


# ------------------------------------------------------------------------------ the run step
def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _ran(cfg: DecVAEBenchmarkConfig, data: BenchData, latent: int) -> list[str]:
    tuned = [m for m in cfg.models if CONTENDERS[m].finetune and cfg.finetune_epochs > 0]
    kinds = {CONTENDERS[m].kind for m in cfg.models}
    budget = [f"{_n(cfg.epochs, 'epoch')} on utterances (batch {cfg.batch_size}, lr {cfg.lr:g})" if "utterance" in kinds else "",
              f"{_n(cfg.vae_epochs, 'epoch')} on up to {cfg.vae_frames} frames" if "frame" in kinds else "",
              f"{_n(cfg.finetune_epochs, 'fine-tuning epoch')} on {len(data.adapt)} unlabelled test-speaker utterances "
              f"({', '.join(tuned)})" if tuned else ""]
    return [
        f"SimVowels: pre-training on {len(data.train)} utterances of {cfg.train_speakers} train speakers; zero-shot "
        f"evaluation (frozen encoders) on {len(data.test)} utterances of {cfg.test_speakers} unseen test speakers, "
        f"{cfg.vowels_per_utterance} vowels of 100 ms each per utterance.",
        f"Models: {', '.join(cfg.models)}; frame-level latent size {latent} for every one.",
        f"Seeds {', '.join(map(str, cfg.seeds))}; budget: {'; '.join(b for b in budget if b)}.",
        f"DCI estimator {cfg.dci_estimator!r}; metrics on up to {cfg.max_metric_frames} frames per half of the test set.",
    ]


def run(cfg: DecVAEBenchmarkConfig, ctx: RunContext) -> TaskResults:
    """Every chosen contender for every seed; tidy rows, what ran, and what looked wrong."""
    data = load_data(cfg)
    units = {"utterance": cfg.epochs, "frame": cfg.vae_epochs, "pca": 0}
    chosen = [CONTENDERS[m] for m in cfg.models]
    total = len(cfg.seeds) * sum(units[e.kind] + (cfg.finetune_epochs if e.finetune else 0) + 1 for e in chosen)
    bar = BenchmarkProgress(total, "benchmark decvae", enabled=ctx.progress)
    bench = Bench(cfg, data, bar, ctx.stage / "models")
    for seed in cfg.seeds:
        for name in cfg.models:
            run_one(bench, name, seed)
    bar.close()
    bench.extras["listen"] = (data.test.signals[0, 0], data.test.sample_rate)
    return TaskResults(bench.rows, ran=_ran(cfg, data, bench.latent), warnings=bench.warnings, extras=bench.extras,
                       dataset="SimVowels")
