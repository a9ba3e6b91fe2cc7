"""Running the SynTone benchmark: the data, every model × seed (trained or reused, each
claimed through a lock file so processes sharing ``--out`` split the runs), their scores,
and the tidy rows, what ran and what looked wrong."""

from __future__ import annotations

import copy
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import to_dict
from ...errors import DataError
from .. import runs
from ..common import BenchmarkProgress
from ..task import RunContext, TaskResults
from . import scoring
from .config import SynToneBenchmarkConfig

# ---------------------------------------------------------------------------------------
# data


@dataclass
class BenchData:
    """Training and evaluation signals, and the ground-truth source if there is one."""

    name: str
    train: object  # SignalSet
    eval: object  # SignalSet
    source: object | None  # GroundTruthSource


def load_data(cfg: SynToneBenchmarkConfig) -> BenchData:
    """SynTone clips as the settings say (or the user's .npz, split into train and eval)."""
    from ...data import load_npz, make_source

    if cfg.data != "syntone":
        path = Path(cfg.data)
        if path.suffix.lower() != ".npz":
            raise DataError(f"{path}: the benchmark reads an .npz with 'signals', 'sample_rate' and 'factors' (or the built-in 'syntone')")
        signals = load_npz(path)
        if signals.factors is None:
            raise DataError(
                f"{path}: has no 'factors' array; the benchmark needs integer ground-truth factors [N, K] "
                "to score disentanglement ('sigvae train' accepts data without factors)"
            )
        if len(signals) < 16:
            raise DataError(f"{path}: {len(signals)} clips are too few for a benchmark; need at least 16")
        train, held = signals.split(cfg.eval_fraction, cfg.data_seed)
        return BenchData(path.name, train, held, None)
    source = make_source("syntone", {"duration": cfg.duration, **cfg.syntone})
    train = _grid_set(source, cfg.data_seed) if cfg.grid else source.signal_set(cfg.num_train, cfg.data_seed)
    held = source.signal_set(cfg.num_eval, cfg.data_seed + 1)
    return BenchData("syntone", train, held, source)


def _grid_set(source, data_seed: int):
    """Every factor combination exactly once (the original's 32,000 clips)."""
    from ...data import SignalSet
    from ...limits import check_allocation

    check_allocation(f"syntone grid of {source.num_points} clips", (source.num_points, source.channels, source.length), 4)
    factors = source.index_to_factors(np.arange(source.num_points))
    rng = np.random.default_rng(data_seed)
    # Rendered in chunks into one array (the full grid is 2 GB; no second copy to join).
    signals = np.empty((len(factors), source.channels, source.length), dtype=np.float32)
    for i in range(0, len(factors), 2000):
        signals[i : i + 2000] = source.sample_observations_from_factors(factors[i : i + 2000], rng)
    return SignalSet(signals, source.sample_rate, factors, list(source.factor_names), list(source.factor_sizes), source.name)


# ---------------------------------------------------------------------------------------
# training, fitting and reuse of finished runs


def data_fingerprint(cfg: SynToneBenchmarkConfig, data: BenchData) -> dict:
    """The settings a run's training data depends on (part of its fingerprint)."""
    return {
        "data": cfg.data, "syntone": cfg.syntone, "duration": cfg.duration, "grid": cfg.grid,
        "num_train": len(data.train), "data_seed": cfg.data_seed, "val_fraction": cfg.val_fraction,
    }


def model_overrides(name: str, cfg: SynToneBenchmarkConfig, data: BenchData) -> dict:
    """Config overrides for model ``name``: latent size, data shape, ``features`` and its ``model_configs``."""
    own = dict(cfg.model_configs.get(name, {}))
    frontend = {**cfg.features, **own.pop("frontend", {})}
    return {
        "latent_dim": cfg.latent_dim, **own, **({"frontend": frontend} if frontend else {}),
        "in_channels": data.train.channels, "length": data.train.length, "sample_rate": data.train.sample_rate,
    }


def train_neural(name: str, seed: int, cfg: SynToneBenchmarkConfig, data: BenchData, folder: Path,
                 progress: BenchmarkProgress, fresh: bool):
    """Train (or reuse) one neural model; returns (model, history, train seconds, reused?)."""
    import torch

    from ...data import SignalDataset
    from ...modelfile import load
    from ...models import build_config, build_model
    from ...training import TrainConfig, fit

    mcfg = build_config(name, model_overrides(name, cfg, data))
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed,
                       val_fraction=cfg.val_fraction, progress=False)
    key = runs.fingerprint({"model": name, "config": to_dict(mcfg), "train": to_dict(tcfg), "data": data_fingerprint(cfg, data)})
    meta = None if fresh else runs.finished_run(folder / "training.json", folder / "model.safetensors", key)
    if meta is not None:
        progress.advance(cfg.epochs)
        return load(folder), meta.get("history", []), runs.stored_seconds(meta, "train_seconds"), True
    resume = _start_run(folder, key, fresh)
    train_set, val_set = data.train.split(cfg.val_fraction, cfg.data_seed)
    torch.manual_seed(seed)  # initial weights come from the seed too
    net = build_model(name, mcfg)
    if resume:  # count the epochs already done so the bar's estimate stays right
        progress.advance(runs.epochs_done(folder))
    if net.needs_pairs:  # weakly supervised: pairs sharing all but k factors, drawn from the data seed
        from ...data.pairs import pair_dataset

        k = getattr(mcfg, "pair_k", 0) or None
        train_ds = pair_dataset(train_set, data.source, cfg.data_seed, k)
        try:
            val_ds = pair_dataset(val_set, data.source, cfg.data_seed + 1, k)
        except DataError:  # a file's small validation split may hold no pairs: train without one
            val_ds = None
    else:
        train_ds, val_ds = SignalDataset(train_set), SignalDataset(val_set)
    result = fit(
        net, train_ds, val_ds, tcfg, folder, resume=resume,
        callbacks=[progress], loggers=cfg.logger,
        metadata={
            "model": net.registry_name, "data": data.name, "num_examples": len(data.train), "seed": seed,
            "sample_rate": data.train.sample_rate, "length": data.train.length, "channels": data.train.channels,
            "factor_names": data.train.factor_names, "factor_sizes": data.train.factor_sizes,
            "benchmark_key": key,
        },
    )
    # The model folder holds the best weights; the Lightning checkpoints were only needed
    # to resume an interrupted run and are large (optimiser state), so they go.
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    (folder / "benchmark_run.json").unlink(missing_ok=True)
    return result.model, result.history, result.seconds, False


def _start_run(folder: Path, key: str, fresh: bool) -> bool:
    """Prepare ``folder`` for training the run fingerprinted ``key``; True when an
    interrupted run of the same settings is there to resume from its last checkpoint."""
    from ...io import write_json

    run_file = folder / "benchmark_run.json"
    resume = (not fresh and (folder / "checkpoints" / "last.ckpt").is_file() and run_file.is_file()
              and json.loads(run_file.read_text()).get("benchmark_key") == key)
    if not resume:
        if folder.exists():
            shutil.rmtree(folder)
        write_json(run_file, {"benchmark_key": key})
    return resume


def fit_baseline(name: str, seed: int, cfg: SynToneBenchmarkConfig, data: BenchData, folder: Path,
                 frontend, features, fresh: bool):
    """Fit (or reuse) one PCA/FastICA run on the training features; returns (baseline,
    fit seconds). A folder whose ``baseline.json`` matches this run's settings is loaded
    from its ``baseline.npz`` instead of refitted (a full-profile FastICA fit takes 2 minutes).
    ``features(split)`` gives the flattened features of ``"train"`` or ``"eval"``."""
    import torch

    from ...data.files import read_npz
    from ...io import write_json, write_npz
    from ...linear_codes import load_baseline, make_baseline

    key = runs.fingerprint({"baseline": name, "n_components": cfg.latent_dim, "seed": seed,
                            "features": to_dict(frontend.config), "data": data_fingerprint(cfg, data),
                            "feature_device": next(frontend.buffers(), torch.empty(0)).device.type})
    meta_file = folder / "baseline.json"
    meta = None if fresh else runs.finished_run(meta_file, folder / "baseline.npz", key)
    if meta is not None:
        try:
            base = load_baseline(name, cfg.latent_dim, seed, read_npz(folder / "baseline.npz"))
            return base, runs.stored_seconds(meta, "fit_seconds")
        except (DataError, TypeError, ValueError):
            pass  # damaged arrays or metadata: fit again
    t = time.time()
    base = make_baseline(name, cfg.latent_dim, seed).fit(features("train"))
    seconds = time.time() - t
    write_npz(folder / "baseline.npz", **base.state())
    write_json(meta_file, {"baseline": name, "n_components": cfg.latent_dim, "seed": seed,
                           "features": to_dict(frontend.config), "fit_seconds": seconds, "benchmark_key": key})
    return base, seconds


# ---------------------------------------------------------------------------------------
# one invocation's runs


class Benchmark:
    """The runs of one invocation into ``out``: each model × seed trained or reused, encoded
    and scored (stored scores reused), claimed through a lock file per run."""

    def __init__(self, cfg: SynToneBenchmarkConfig, out: Path, data: BenchData, device, bar: BenchmarkProgress):
        from ...data.transforms import Frontend
        from ...models import build_config

        self.cfg, self.out, self.data, self.device, self.bar = cfg, out, data, device, bar
        neural = [m for m in cfg.models if not self.is_baseline(m)]
        first = neural[0] if neural else "vae"
        # The baselines see exactly the features the neural models reconstruct.
        self.frontend = Frontend(build_config(first, model_overrides(first, cfg, data)).frontend,
                                 data.train.sample_rate, data.train.length)
        # Features for PCA/FastICA are computed where the models run, and only by a process
        # that has a baseline to fit or score (processes sharing ``out`` may never need them).
        self.feature_frontend = copy.deepcopy(self.frontend).to(device)
        self._feats: dict[str, np.ndarray] = {}

    @staticmethod
    def is_baseline(name: str) -> bool:
        from ...linear_codes import BASELINES

        return name in BASELINES

    def features(self, split: str) -> np.ndarray:
        """The flattened input features of the ``"train"`` or ``"eval"`` clips (computed once)."""
        from ...linear_codes import input_features

        if split not in self._feats:
            self._feats[split] = input_features(self.feature_frontend, getattr(self.data, split).signals)
        return self._feats[split]

    def _baseline(self, name: str, seed: int, folder: Path, fresh: bool):
        from ...linear_codes import input_features

        base, seconds = fit_baseline(name, seed, self.cfg, self.data, folder, self.feature_frontend, self.features, fresh)
        eval_feats = self.features("eval")
        codes = base.embed(eval_feats)
        recon = float(((base.inverse(codes) - eval_feats) ** 2).sum(1).mean())

        def encode_fn(obs, base=base):
            return base.embed(input_features(self.feature_frontend, obs))

        return base, [], seconds, False, codes, recon, encode_fn

    def _neural(self, name: str, seed: int, folder: Path, fresh: bool):
        from ...inference import encode as encode_clips

        model, history, seconds, reused = train_neural(name, seed, self.cfg, self.data, folder, self.bar, fresh)
        model.to(self.device)
        codes = encode_clips(model, self.data.eval.signals)
        recon = scoring.neural_recon_error(model, self.data.eval.signals)

        def encode_fn(obs, model=model):
            return encode_clips(model, obs)

        return model, history, seconds, reused, codes, recon, encode_fn

    def one_run(self, name: str, seed: int, fresh: bool) -> dict:
        """Train (or reuse) and score one model × seed; what the rows and the report need."""
        folder = self.out / "models" / f"{name}-seed{seed}"
        baseline = self.is_baseline(name)
        model, history, seconds, reused, codes, recon, encode_fn = (self._baseline if baseline else self._neural)(
            name, seed, folder, fresh)
        scores, eval_seconds = self._scores(folder, seed, codes, encode_fn, fresh)
        scores = {**scores, "recon_error": (recon, math.nan, math.nan), "train_seconds": (seconds, math.nan, math.nan)}
        first = seed == self.cfg.seeds[0]  # the report's figures show each model's first seed
        return {"scores": scores, "train": seconds, "evaluate": eval_seconds, "history": history, "reused": reused,
                "active": None if baseline else scoring.active_latents(codes),
                "model": model if first else None, "codes": codes if first else None}

    def _scores(self, folder: Path, seed: int, codes: np.ndarray, encode_fn, fresh: bool):
        """The run's scores (stored ones reused when their key matches) and their seconds."""
        t_eval = time.time()
        data, device = self.data, self.device
        # The interventional scores render their clips where the encoder runs (the model, or
        # a baseline's feature front end, on an accelerator); rendering there rounds
        # differently, hence the key.
        on_device = device.type != "cpu" and data.source is not None
        source = data.source.on_device(device) if on_device else data.source
        key = scoring.score_key(self.cfg, seed, codes, data.eval.factors, device.type if on_device else "cpu")
        cached = None if fresh else runs.cached_scores(folder, key)
        if cached is not None:
            return cached
        scores = scoring.score_codes(codes, data.eval.factors, self.cfg, seed, source, encode_fn)
        seconds = time.time() - t_eval
        runs.store_scores(folder, key, scores, seconds)
        return scores, seconds

    def run_all(self, fresh: bool) -> dict[tuple[str, int], dict]:
        """Every model × seed. Several processes may share one ``--out`` (on one machine or,
        through a shared file system, several): each run is claimed through a lock file, so
        they split the runs between them. Runs that another process holds are waited for at
        the end, and then reused from its model folder and stored scores."""
        from ...io import claim

        done: dict[tuple[str, int], dict] = {}
        pairs = [(name, seed) for name in self.cfg.models for seed in self.cfg.seeds]
        for wait in (False, True):
            for name, seed in pairs:
                if (name, seed) in done:
                    continue
                self.bar.set_label(f"{name} seed {seed}" + (" (waiting for another process)" if wait else ""))
                with claim(self.out / "models" / f".{name}-seed{seed}.lock", wait=wait) as held:
                    if held:
                        if wait:
                            self.bar.set_label(f"{name} seed {seed}")
                        # A run waited for was finished by another process after this one
                        # started, so even with --fresh it is reused rather than redone.
                        done[(name, seed)] = self.one_run(name, seed, fresh and not wait)
                        self.bar.advance()
        return {pair: done[pair] for pair in pairs}


# ---------------------------------------------------------------------------------------
# the run step


def run(cfg: SynToneBenchmarkConfig, ctx: RunContext) -> TaskResults:
    """Every model × seed into ``ctx.out/models`` (see the package docstring); the rows,
    what ran, warnings, and what the report needs in ``extras``. After a failure the run
    folders this invocation added are removed (:func:`sigvae.experiments.runs.remove_failed_runs`);
    an interrupted one keeps its finished runs, which a rerun reuses."""
    from ...errors import Interrupted

    out = Path(ctx.out)
    created = not out.exists()
    before_runs = runs.run_folders(out / "models")
    try:
        results = _run(cfg, ctx)
    except (Interrupted, KeyboardInterrupt):
        raise  # finished runs stay: rerunning the command reuses them
    except BaseException:
        runs.remove_failed_runs(out, before_runs, created)
        raise
    results.extras["cleanup"] = (out, before_runs, created)
    return results


def clean_up_failed(results: TaskResults) -> None:
    """After the report failed: remove the run folders :func:`run` added, as a failed run does."""
    if "cleanup" in results.extras:
        runs.remove_failed_runs(*results.extras["cleanup"])


def _run(cfg: SynToneBenchmarkConfig, ctx: RunContext) -> TaskResults:
    import torch

    from ...io import write_manifest

    t0 = time.time()
    out = Path(ctx.out)
    # Training picks an accelerator when there is one (TrainConfig's "auto"); the trained
    # models are evaluated there too.
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = load_data(cfg)
    timings = {"data": time.time() - t0}
    n_neural = sum(not Benchmark.is_baseline(m) for m in cfg.models)
    bar = BenchmarkProgress((n_neural * cfg.epochs + len(cfg.models)) * len(cfg.seeds), "sigvae benchmark",
                            enabled=ctx.progress)
    (out / "models").mkdir(parents=True, exist_ok=True)
    write_manifest(out, [])  # the folder is this benchmark's: a rerun (or a process sharing it) may write into it
    bench = Benchmark(cfg, out, data, device, bar)
    done = bench.run_all(ctx.fresh)
    results = collect(cfg, data, done, timings)
    linear = [m for m in cfg.models if Benchmark.is_baseline(m)]
    results.extras.update(frontend=bench.frontend, eval_feats=bench.features("eval") if linear else None, t0=t0)
    bar.close()
    return results


def collect(cfg: SynToneBenchmarkConfig, data: BenchData, done: dict[tuple[str, int], dict],
            timings: dict[str, float]) -> TaskResults:
    """The tidy rows, what ran, the warnings and the report's material from the runs."""
    from ...report.results import row

    rows: list[dict] = []
    keep: dict[str, dict] = {}  # first seed of each model: what the figures need
    histories: dict[str, dict[int, list[dict]]] = {}
    for (name, seed), result in done.items():
        for metric, (v, lo, hi) in result["scores"].items():
            rows.append(row(data.name, name, seed, metric, v, ci_low=lo, ci_high=hi))
        timings[f"{name}-seed{seed} train"] = result["train"]
        timings[f"{name}-seed{seed} evaluate"] = result["evaluate"]
        histories.setdefault(name, {})[seed] = result["history"]
        if result["model"] is not None:
            keep[name] = {"model": result["model"], "codes": result["codes"], "seed": seed,
                          "mi": scoring.normalised_mi(result["codes"], data.eval.factors, cfg.num_bins)}
    warnings = scoring.collapse_warnings({pair: r["active"] for pair, r in done.items() if r["active"] is not None},
                                         len(data.eval.factor_names))
    reused = sum(r["reused"] for r in done.values())
    return TaskResults(rows, ran=ran_lines(cfg, data, reused), warnings=warnings, findings=weak_supervision_lines(rows),
                       dataset=data.name,
                       extras={"data": data, "keep": keep, "histories": histories, "timings": timings})


def weak_supervision_lines(rows: list[dict]) -> list[str]:
    """The summary's verdict, one line per weakly supervised model that ran beside others:
    whether it is ahead of every other model (the unsupervised ones and PCA/FastICA) beyond
    the seed spread on MIG and DCI disentanglement (:func:`sigvae.report.findings.group_verdicts`)."""
    from ...report.findings import group_verdicts
    from .config import HEADLINE, WEAKLY_SUPERVISED

    return group_verdicts(rows, [m for m in HEADLINE if m.key in ("mig", "dci_disentanglement")], WEAKLY_SUPERVISED)


def ran_lines(cfg: SynToneBenchmarkConfig, data: BenchData, reused: int) -> list[str]:
    """What ran, one line each: data, models and seeds, budget."""
    tr = data.train
    factors = ", ".join(f"{n} ({s} values)" for n, s in zip(tr.factor_names, tr.factor_sizes))
    lines = [
        f"Data: {data.name}, {len(tr)} training clips ({cfg.val_fraction:.0%} of them for validation) and "
        f"{len(data.eval)} held-out evaluation clips of {tr.length / tr.sample_rate:g} s at {tr.sample_rate} Hz; "
        f"factors {factors}.",
        f"Models: {', '.join(cfg.models)}, each with seeds {', '.join(map(str, cfg.seeds))}; "
        f"{cfg.latent_dim} latent dimensions (PCA/FastICA: components); measured on posterior means.",
        f"Budget: profile '{cfg.profile}', {cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} of batch {cfg.batch_size} at learning rate {cfg.lr:g}.",
    ]
    if reused:
        lines.append(f"{reused} trained runs were reused from an earlier invocation into this folder (--fresh redoes them).")
    return lines
