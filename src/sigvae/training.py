"""One Lightning training path for every sigvae model.

:func:`fit` trains any :class:`~sigvae.models.SigModel` on torch datasets of dict
batches; :func:`train` adds data loading and model building for the CLI and the API.
Differences between models live in the model (``step``, ``optimizer_specs``), never
in a copied loop: every step back-propagates the sum of the model's losses once and
steps each of its optimisers (FactorVAE's discriminator has its own).

A run folder holds ``run.json`` (everything needed to resume, and what the run used:
the examples for training and validation, the sample rate, length and channels of the
data as loaded, the epochs completed; ``requested_num_examples`` is the setting asked
for, which applies to built-in sources only), ``checkpoints/``
(Lightning's ``last.ckpt`` and ``best.ckpt``, loaded with ``weights_only=True``),
``logs/`` (what the chosen loggers write: ``metrics.csv`` by default) and, once training ends, the model files
``config.json`` + ``model.safetensors`` + ``training.json`` with the best weights.

Reproducibility: the shuffling order is a function of (seed, epoch) and the noise of
each step a function of (seed, epoch, batch, rank), so a run resumed from its last
checkpoint (after kill -9, say) continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .config import check, from_dict, to_dict
from .errors import ConfigError, Interrupted, ModelFileError, TrainingDivergedError, first_line
from .io import is_global_zero, replace_dir, write_json
from .loggers import DEFAULT_LOGGERS, build_loggers, parse_loggers, remember_run_ids
from .models import MODELS, SigModel, build_config, build_model

# Known-noise warnings from Lightning that say nothing about the user's run; ignored only
# while fit() runs Lightning, so importing this module leaves the warning filters alone.
_LIGHTNING_NOISE = (".*no `val_dataloader`.*", ".*LeafSpec.*", ".*does not have many workers.*")

RUN_FILE = "run.json"
RUN_DIR_ENV = "SIGVAE_RUN_DIR"  # lets DDP worker processes find the folder rank 0 chose (ignored by rank 0)
#: Training settings a resumed run may change: where and how it runs, not what it learns.
_HARDWARE_KEYS = ("accelerator", "devices", "strategy", "num_nodes", "precision", "progress", "num_workers", "loggers")


@dataclass
class TrainConfig:
    """How to train: optimisation, data loading, and the hardware handed to Lightning."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    optimizer: Literal["adam", "adamw"] = "adam"
    scheduler: Literal["none", "cosine"] = "none"
    gradient_clip: float = 0.0
    val_fraction: float = 0.1
    seed: int = 0
    early_stopping_patience: int = 0
    num_workers: int = 0
    accelerator: str = "auto"
    devices: str = "1"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    progress: bool = True
    log_every_n_steps: int = 10
    #: Experiment loggers (``sigvae.loggers``): any of csv, tensorboard, mlflow, wandb.
    loggers: list[str] = field(default_factory=lambda: list(DEFAULT_LOGGERS))

    def validate(self) -> None:
        """Raise :class:`~sigvae.errors.ConfigError` for a value out of range or hardware
        settings Lightning would refuse (checked before anything is created); normalises
        ``loggers`` to a list of known logger names."""
        check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        check(0 < self.lr < float("inf"), f"lr must be a positive finite number, got {self.lr}")
        check(0.0 <= self.val_fraction < 1.0, f"val_fraction must be in [0, 1), got {self.val_fraction}")
        check(self.early_stopping_patience >= 0, "early_stopping_patience must be >= 0")
        check(self.num_workers >= 0, "num_workers must be >= 0")
        check(self.num_nodes >= 1, "num_nodes must be >= 1")
        check(self.gradient_clip >= 0, "gradient_clip must be >= 0")
        check(0 <= self.seed < 2**32, f"seed must be in [0, 2^32), got {self.seed}")
        check_hardware(self.accelerator, self.devices, self.strategy, self.precision)
        self.loggers = parse_loggers(self.loggers)

    @property
    def distributed(self) -> bool:
        """Whether training runs in several processes (several devices or nodes, or a
        ddp/fsdp/deepspeed strategy)."""
        d = str(self.devices)
        several = (d.isdigit() and int(d) > 1) or d == "-1" or "," in d
        return self.num_nodes > 1 or several or any(s in self.strategy for s in ("ddp", "fsdp", "deepspeed"))


def _precision_choices() -> list[str]:
    """The ``precision`` values Lightning's Trainer accepts, as text."""
    from typing import get_args

    try:
        from lightning.fabric.connector import _PRECISION_INPUT

        values: list = []
        for arg in get_args(_PRECISION_INPUT):
            values.extend(get_args(arg) or [arg])
        out = [str(v) for v in values if not isinstance(v, type)]
        if out:
            return list(dict.fromkeys(out))
    except ImportError:  # a Lightning without this private name: its documented values
        pass
    return ["transformer-engine", "transformer-engine-float16", "16-true", "16-mixed", "bf16-true", "bf16-mixed",
            "32-true", "64-true", "64", "32", "16", "bf16"]


def check_hardware(accelerator: str, devices: str, strategy: str, precision: str) -> None:
    """Refuse Lightning flags the Trainer would reject, before anything is loaded or created.

    ``accelerator`` must be one Lightning knows (``auto``, ``gpu`` or a registered name) and
    available on this machine; ``strategy`` ``auto`` or a registered one (FSDP needs a CUDA
    accelerator, DeepSpeed its package); ``precision`` one of Lightning's values; ``devices``
    what the accelerator parses (a count, ``auto``, or GPU ids), no more than this machine
    has (CPU: at most its cores, as processes). Raises ConfigError naming the flag.
    """
    import importlib.util

    from lightning.pytorch.accelerators import AcceleratorRegistry
    from lightning.pytorch.strategies import StrategyRegistry

    known = sorted(AcceleratorRegistry.available_accelerators())
    acc = str(accelerator).lower()
    check(acc in ("auto", "gpu", *known), f"accelerator: expected one of auto, gpu, {', '.join(known)}; got {accelerator!r}")
    available = [a for a in known if AcceleratorRegistry[a]["accelerator"].is_available()]
    if acc == "auto":
        try:
            from lightning.pytorch.trainer.connectors.accelerator_connector import (
                _select_auto_accelerator,
            )

            acc = _select_auto_accelerator()
        except ImportError:
            acc = "cuda" if "cuda" in available else "cpu"
    elif acc == "gpu":
        gpus = [a for a in ("mps", "cuda") if a in available]
        check(bool(gpus), f"accelerator: 'gpu' asked for, but this machine has none (available: {', '.join(available)})")
        acc = gpus[0]
    check(acc in available, f"accelerator: {accelerator!r} is not available on this machine (available: {', '.join(available)})")

    strategies = StrategyRegistry.available_strategies()
    strat = str(strategy).lower()
    common = [n for n in sorted(strategies) if "find_unused" not in n and "offload" not in n]
    check(strat == "auto" or strat in strategies,
          f"strategy: expected auto or a Lightning strategy ({', '.join(common)}, ...); got {strategy!r}")
    check("fsdp" not in strat or acc == "cuda", f"strategy: {strategy!r} needs a CUDA accelerator, got {acc!r}")
    check("deepspeed" not in strat or importlib.util.find_spec("deepspeed") is not None,
          f"strategy: {strategy!r} needs the deepspeed package, which is not installed")
    check(not (acc == "mps" and ("ddp" in strat or "deepspeed" in strat)),
          f"strategy: {strategy!r} does not run on the MPS accelerator (use accelerator 'cpu' or strategy 'auto')")

    choices = _precision_choices()
    check(str(precision) in choices, f"precision: expected one of {', '.join(choices)}; got {precision!r}")
    check(not str(precision).startswith("transformer-engine") or importlib.util.find_spec("transformer_engine") is not None,
          f"precision: {precision!r} needs the transformer_engine package, which is not installed")

    d = str(devices).strip()
    if d == "auto":
        return
    value: Any = int(d) if d.isdigit() else d
    check(value not in (0, ""), f"devices: expected at least one device, got {devices!r}")
    try:
        count = AcceleratorRegistry.get(acc).parse_devices(value)
    except Exception as e:  # Lightning raises MisconfigurationException, TypeError or ValueError
        raise ConfigError(f"devices: {devices!r} is not valid for the {acc} accelerator ({str(e).strip()})") from None
    if acc == "cpu":
        cores = os.cpu_count() or 1
        check(count <= cores, f"devices: {devices!r} asks for {count} CPU processes; this machine has {cores} CPU cores")


class EpochShuffleSampler(Sampler[int]):
    """A random order that depends only on (seed, epoch), so resumed runs replay it exactly."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` from now on (Lightning calls it before each epoch)."""
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


class SigLightningModule(L.LightningModule):
    """Wraps any SigModel: manual optimisation over the model's optimiser specs."""

    def __init__(self, model: SigModel, config: TrainConfig):
        super().__init__()
        self.model = model
        self.train_config = config
        self.automatic_optimization = False

    def configure_optimizers(self):
        c = self.train_config
        opt_cls = torch.optim.AdamW if c.optimizer == "adamw" else torch.optim.Adam
        optimizers = []
        for spec in self.model.optimizer_specs():
            optimizers.append(opt_cls(
                spec.params, lr=spec.lr or c.lr, betas=spec.betas or c.betas,
                weight_decay=c.weight_decay if spec.weight_decay is None else spec.weight_decay,
            ))
        if c.scheduler == "cosine":
            scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=c.epochs) for o in optimizers]
            return optimizers, scheds
        return optimizers

    def _check_finite(self, out, where: str) -> None:
        for name, value in out.losses.items():
            if not torch.isfinite(value.detach()):
                terms = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in out.logs.items())
                raise TrainingDivergedError(
                    f"training diverged: loss {name!r} is {float(value.detach())} at {where} ({terms}); "
                    "lower the learning rate or check the data for extreme values"
                )

    def training_step(self, batch: dict, batch_idx: int):
        c = self.train_config
        # Noise for this step depends only on (seed, epoch, batch, rank): exact resumes.
        torch.manual_seed((c.seed * 1_000_003 + self.current_epoch * 100_003 + batch_idx) * 64 + self.global_rank)
        opts = self.optimizers()
        opts = opts if isinstance(opts, list) else [opts]
        # Lightning counts one step per optimiser step (restored from checkpoints on resume).
        self.model.train_step = self.global_step // len(opts)
        out = self.model.step(batch, "train")
        self._check_finite(out, f"epoch {self.current_epoch}, batch {batch_idx}")
        for opt in opts:
            opt.zero_grad()
        self.manual_backward(sum(out.losses.values()))
        for opt in opts:
            if c.gradient_clip > 0:
                self.clip_gradients(opt, gradient_clip_val=c.gradient_clip, gradient_clip_algorithm="norm")
            opt.step()
        bs = _batch_size(batch)
        self.log("train/loss", next(iter(out.losses.values())), prog_bar=True, on_step=True, on_epoch=True, batch_size=bs)
        for k, v in out.logs.items():
            if k != "loss":
                self.log(f"train/{k}", v, on_step=False, on_epoch=True, batch_size=bs)

    def on_train_epoch_end(self) -> None:
        scheds = self.lr_schedulers()
        for s in (scheds if isinstance(scheds, list) else [scheds] if scheds else []):
            s.step()

    def validation_step(self, batch: dict, batch_idx: int):
        out = self.model.step(batch, "val")
        self._check_finite(out, f"validation after epoch {self.current_epoch}, batch {batch_idx}")
        bs = _batch_size(batch)
        self.log("val/loss", next(iter(out.losses.values())), prog_bar=True, on_epoch=True, sync_dist=True, batch_size=bs)
        for k, v in out.logs.items():
            if k != "loss":
                self.log(f"val/{k}", v, on_epoch=True, sync_dist=True, batch_size=bs)


def _batch_size(batch: Any) -> int:
    if isinstance(batch, dict):
        for v in batch.values():
            if torch.is_tensor(v) and v.ndim > 0:
                return int(v.shape[0])
    return 1


class HistoryCallback(L.Callback):
    """Keeps one row of epoch-level metrics per epoch (for training.json and loss curves),
    and the training time of a run that was resumed, across its pieces.

    Both travel in the checkpoints: ``seconds_before`` is the wall time the run had spent
    up to the checkpoint it resumed from (time after a piece's last checkpoint is lost
    with its unfinished epoch and not counted).
    """

    def __init__(self, history: list[dict] | None = None):
        self.history: list[dict] = list(history or [])
        self.seconds_before = 0.0
        self._started = time.time()

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.time()

    def elapsed(self) -> float:
        """Training seconds of the whole run so far (earlier pieces included)."""
        return self.seconds_before + (time.time() - self._started)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        row: dict[str, Any] = {"epoch": trainer.current_epoch}
        for k, v in trainer.callback_metrics.items():
            if k.endswith("_step"):
                continue
            row[k.replace("_epoch", "")] = float(v)
        self.history = [h for h in self.history if h["epoch"] != row["epoch"]] + [row]

    def state_dict(self) -> dict:
        return {"history": json.dumps(self.history), "seconds": self.elapsed()}

    def load_state_dict(self, state: dict) -> None:
        self.history = json.loads(state.get("history", "[]"))
        self.seconds_before = float(state.get("seconds", 0.0))  # checkpoints from before this key: 0


def _clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    m, s = divmod(int(round(max(0.0, seconds))), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class TrainingProgress(L.Callback):
    """The progress of one training run: one bar on a terminal, one plain line per epoch otherwise.

    The bar counts the run's steps over all its epochs (a resumed run starts where its
    checkpoint ended) and shows the epoch, the latest training loss, the last validation
    loss and the time left. Where the output is not a terminal (a log file, a pipe) nothing
    is redrawn: each finished epoch prints one line,
    ``epoch 3/10: loss 0.1234, val loss 0.2345, elapsed 0:12, left 0:28``.
    Only the process of rank 0 writes. ``stream``: where to write (default ``sys.stderr``,
    looked up when training starts); ``interactive``: force the bar (True) or the lines (False).
    """

    def __init__(self, description: str = "train", stream: Any = None, interactive: bool | None = None):
        self.description = description
        self.stream = stream
        self.interactive = interactive
        self.bar: Any = None
        self._active = False
        self._start = time.time()
        self._first_epoch = 0

    def _out(self) -> Any:
        import sys

        return self.stream if self.stream is not None else sys.stderr

    @staticmethod
    def _metric(trainer: L.Trainer, *names: str) -> float | None:
        for name in names:
            value = trainer.callback_metrics.get(name)
            if value is not None:
                return float(value)
        return None

    def _status(self, trainer: L.Trainer, loss_names: tuple[str, ...]) -> str:
        parts = [f"epoch {min(trainer.current_epoch + 1, trainer.max_epochs)}/{trainer.max_epochs}"]
        loss, val = self._metric(trainer, *loss_names), self._metric(trainer, "val/loss")
        if loss is not None:
            parts.append(f"loss {loss:.4g}")
        if val is not None:
            parts.append(f"val loss {val:.4g}")
        return ", ".join(parts)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._active = trainer.is_global_zero
        self._start, self._first_epoch = time.time(), trainer.current_epoch
        out = self._out()
        if not self._active or not (self.interactive if self.interactive is not None else _is_terminal(out)):
            return
        from tqdm.std import tqdm

        per_epoch = trainer.num_training_batches
        known = isinstance(per_epoch, int) or float(per_epoch).is_integer()
        self.bar = tqdm(
            total=int(per_epoch) * trainer.max_epochs if known else None,
            initial=int(per_epoch) * trainer.current_epoch if known else 0,
            desc=self.description, unit="step", file=out, dynamic_ncols=True, leave=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} steps [{elapsed}<{remaining}{postfix}]",
        )
        self.bar.set_postfix_str(self._status(trainer, ("train/loss_epoch",)))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(self._status(trainer, ("train/loss_step", "train/loss")), refresh=False)
            self.bar.update(1)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._active:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(self._status(trainer, ("train/loss_epoch", "train/loss")))
            return
        elapsed = time.time() - self._start
        done = trainer.current_epoch + 1 - self._first_epoch
        left = elapsed / max(1, done) * max(0, trainer.max_epochs - trainer.current_epoch - 1)
        line = f"{self._status(trainer, ('train/loss_epoch', 'train/loss'))}, elapsed {_clock(elapsed)}"
        print(line + (f", left {_clock(left)}" if trainer.current_epoch + 1 < trainer.max_epochs else ""),
              file=self._out(), flush=True)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._close()


def atomic_checkpoint_io():
    """A Lightning CheckpointIO that writes each checkpoint with :func:`sigvae.io.atomic_path`.

    Lightning serialises to memory and then writes the file; writing it to a temporary
    file that is fsynced and renamed means a SIGKILL or a full disk mid-write leaves the
    previous ``last.ckpt`` intact instead of a truncated one that ``--resume`` cannot read.
    """
    from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

    from .io import atomic_path

    class AtomicCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
            if storage_options is not None or "://" in str(path):  # remote storage: Lightning's own writer
                return super().save_checkpoint(checkpoint, path, storage_options)
            buf = io.BytesIO()
            torch.save(checkpoint, buf)
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as f:
                    f.write(buf.getbuffer())
                    f.flush()
                    os.fsync(f.fileno())

    return AtomicCheckpointIO()


def check_checkpoint(path: str | os.PathLike) -> int:
    """Refuse a checkpoint that ``torch.load(weights_only=True)`` cannot read, before Lightning loads it.

    A ``last.ckpt`` that is damaged, or a pickle that would run code (refused by
    ``weights_only``, so nothing in it runs), becomes a :class:`ModelFileError` naming the
    file instead of an ``UnpicklingError`` traceback from inside Lightning. The check maps
    the file (``mmap``) rather than reading every tensor. Returns the epoch the checkpoint
    completed (-1 if it does not say).
    """
    import pickle
    import zipfile

    path = Path(path)
    try:
        with open(path, "rb") as f:
            zipped = f.read(4) == b"PK\x03\x04"
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError, KeyError,
            IndexError, zipfile.BadZipFile, OSError) as e:
        raise ModelFileError(f"{path}: not a checkpoint sigvae can load safely; refusing to resume from it "
                             f"({first_line(e)[:200]})") from None
    epoch = checkpoint.get("epoch", -1) if isinstance(checkpoint, dict) else -1
    return int(epoch) if isinstance(epoch, int) else -1


def _keep_logged_epochs(csv_logger, done: int) -> None:
    """Keep a resumed run's earlier rows of ``logs/metrics.csv``, which Lightning's CSVLogger deletes.

    The logger removes an existing ``metrics.csv`` when it starts; the rows of the epochs
    the checkpoint completed (up to ``done``, from :func:`check_checkpoint`) are written back
    before training continues (rows of an epoch the run was killed in are dropped: that
    epoch is trained and logged again), so the file ends with every epoch once however
    often the run was resumed.
    """
    import csv

    path = Path(csv_logger.log_dir) / "metrics.csv"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            keys, rows = list(reader.fieldnames or []), list(reader)
    except (OSError, UnicodeDecodeError, csv.Error):
        return  # nothing (readable) to keep

    def epoch_of(r: dict) -> float:
        try:
            return float(r.get("epoch") or "nan")
        except ValueError:
            return float("nan")

    rows = [r for r in rows if epoch_of(r) <= done]
    writer = csv_logger.experiment  # created now: this is when Lightning deletes the old file
    if rows and keys:
        keys = sorted(keys)  # Lightning's own column order, so its appended rows line up
        with open(path, "w", newline="", encoding="utf-8") as f:
            out = csv.DictWriter(f, fieldnames=keys)
            out.writeheader()
            out.writerows(rows)
        writer.metrics_keys = keys


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model (best weights, or the last epoch's for a
    model with ``keep_best_epoch`` False), its folder and its history."""

    run_dir: Path
    model: SigModel
    history: list[dict] = field(default_factory=list)
    #: The monitored loss of the weights kept (the lowest, or the last epoch's; see above).
    best_val_loss: float | None = None
    seconds: float = 0.0  # training wall time; a resumed run's pieces summed
    is_global_zero: bool = True
    epochs_completed: int = 0  # a resumed run's earlier epochs included


def _loader(ds: Dataset, cfg: TrainConfig, train: bool) -> DataLoader:
    sampler = None
    shuffle = False
    if train:
        if cfg.distributed:
            shuffle = True  # Lightning swaps in a DistributedSampler seeded from the run's seed
        else:
            sampler = EpochShuffleSampler(len(ds), cfg.seed)
    return DataLoader(
        ds, batch_size=cfg.batch_size, sampler=sampler, shuffle=shuffle, num_workers=cfg.num_workers,
        persistent_workers=cfg.num_workers > 0, drop_last=train and len(ds) > cfg.batch_size,
    )


def _callbacks(model: SigModel, config: TrainConfig, ckpt_dir: Path, monitor: str, history: HistoryCallback,
               extra: list[L.Callback] | None) -> list[L.Callback]:
    """The callbacks of every fit: best and last checkpoints, history, early stopping, progress."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    cbs: list[L.Callback] = [
        ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode="min", save_top_k=1, enable_version_counter=False),
        # Not save_last=True on the one above: Lightning (2.6) rewrites that copy only on epochs
        # that improved the monitored loss, so last.ckpt held the best epoch and --resume went
        # back to it and repeated every epoch since. An unmonitored checkpoint is rewritten
        # at the end of every epoch.
        ModelCheckpoint(dirpath=ckpt_dir, filename="last", save_top_k=1, enable_version_counter=False),
        history,
    ]
    if config.early_stopping_patience > 0:
        cbs.append(EarlyStopping(monitor=monitor, patience=config.early_stopping_patience, mode="min"))
    if config.progress:
        cbs.append(TrainingProgress(f"train {getattr(model, 'registry_name', '') or type(model).__name__}"))
    return cbs + list(extra or [])


def fit(
    model: SigModel,
    train_data: Dataset,
    val_data: Dataset | None,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    resume: bool = False,
    metadata: dict | None = None,
    callbacks: list[L.Callback] | None = None,
    loggers: bool | list[str] = True,
) -> FitResult:
    """Train ``model`` with Lightning and write its folder under ``run_dir``.

    Returns a :class:`FitResult` whose model holds the weights of the epoch with the lowest
    validation loss (lowest epoch-mean training loss when there is no validation set), or of
    the last epoch for a model whose objective changes during training
    (``model.keep_best_epoch`` False; ``training.json`` says which: ``weights``).
    ``checkpoints/last.ckpt`` is the end of the latest epoch and ``best.ckpt`` that best
    epoch; with ``resume``, training continues from ``last.ckpt``. With ``config.progress``
    a :class:`TrainingProgress` shows the run (a bar on a terminal, a line per epoch
    otherwise); Lightning's own progress bars and model summary are never shown.
    ``loggers``: True writes ``config.loggers`` (``sigvae.loggers``) under ``run_dir/logs``,
    False none, a list of names those.
    """
    from .modelfile import save_model

    # Lightning sets its own loggers to INFO on import; keep only warnings and errors.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    if resume and not last.is_file():
        raise ConfigError(f"{run_dir}: nothing to resume (no checkpoints/last.ckpt)")
    done_epoch = check_checkpoint(last) if resume else -1  # one line naming a bad file, not Lightning's traceback
    L.seed_everything(config.seed, workers=True, verbose=False)
    model.configure_for_data(len(train_data))
    module = SigLightningModule(model, config)
    history = HistoryCallback()
    has_val = val_data is not None and len(val_data) > 0
    monitor = "val/loss" if has_val else "train/loss_epoch"
    cbs = _callbacks(model, config, ckpt_dir, monitor, history, callbacks)
    names = config.loggers if loggers is True else (loggers or [])
    logger_list: list | bool = build_loggers(names, run_dir, resume=resume,
                                             keep_epochs=lambda csv: _keep_logged_epochs(csv, done_epoch)) or False
    with warnings.catch_warnings():
        for message in _LIGHTNING_NOISE:
            warnings.filterwarnings("ignore", message=message)
        trainer = L.Trainer(
            max_epochs=config.epochs, accelerator=config.accelerator,
            devices=int(config.devices) if str(config.devices).isdigit() else config.devices,
            strategy=config.strategy, num_nodes=config.num_nodes, precision=config.precision,
            # Lightning's own bars (nested, with a validation bar, redrawn into log files) stay
            # off: TrainingProgress is the one progress display of a run.
            callbacks=cbs, logger=logger_list, enable_progress_bar=False,
            enable_model_summary=False, log_every_n_steps=max(1, min(config.log_every_n_steps, len(train_data) // config.batch_size)),
            num_sanity_val_steps=0, default_root_dir=run_dir, plugins=[atomic_checkpoint_io()],
            **({} if has_val else {"limit_val_batches": 0}),
        )
        trainer.fit(
            module, _loader(train_data, config, True), _loader(val_data, config, False) if has_val else None,
            ckpt_path=str(last) if resume else None, weights_only=True,
        )
    if trainer.is_global_zero and logger_list:
        remember_run_ids(logger_list, run_dir)
    seconds = history.elapsed()
    ckpt_cb = cbs[0]
    best = getattr(ckpt_cb, "best_model_score", None)
    best_path = getattr(ckpt_cb, "best_model_path", "")
    keep_best = model.keep_best_epoch
    if keep_best and best_path and Path(best_path).is_file():
        state = torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"]
        model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
    elif not keep_best and history.history:
        best = history.history[-1].get(monitor, best)  # the loss of the weights kept: the last epoch's
    model.cpu().eval()
    result = FitResult(run_dir, model, history.history, None if best is None else float(best), seconds, trainer.is_global_zero,
                       trainer.current_epoch)
    if trainer.is_global_zero:
        save_model(model, run_dir, {
            **(metadata or {}),
            "train_config": to_dict(config),
            "epochs_completed": trainer.current_epoch,
            "best_val_loss": result.best_val_loss,
            "monitor": monitor,
            "weights": "best" if keep_best else "last",
            "train_seconds": round(seconds, 3),
            "history": history.history,
        })
    return result


# ------------------------------------------------------------------------------------
# train(): data spec → model → fit, as the CLI does it.


def finetune(model: SigModel, train_data: Dataset, val_data: Dataset | None, config: TrainConfig,
             run_dir: str | os.PathLike, *, freeze_encoder: bool = False, **kwargs) -> FitResult:
    """Self-supervised fine-tuning of a trained model on new data with the same loss.

    Returns :func:`fit`'s result for a copy of ``model`` (the original is untouched); ``kwargs``
    go to :func:`fit`. ``freeze_encoder`` keeps the model's shared encoder fixed and adapts
    the rest (for DecVAE: the frame encoder and H stay, the heads and the sequence branch learn);
    the model must then have a ``freeze_encoder()`` method.
    """
    import copy

    net = copy.deepcopy(model)
    net.train()
    if freeze_encoder:
        freeze = getattr(net, "freeze_encoder", None)
        if not callable(freeze):
            raise ConfigError(f"freeze_encoder: {type(model).__name__} has no encoder to keep fixed")
        freeze()
    return fit(net, train_data, val_data, config, run_dir, **kwargs)


def train(
    model: str,
    data: str | None = "syntone",
    *,
    out: str | os.PathLike | None = None,
    model_config: dict | None = None,
    train_config: TrainConfig | dict | None = None,
    num_examples: int | None = 2000,
    data_options: dict | None = None,
    resume: bool = False,
    callbacks: list[L.Callback] | None = None,
    init_from: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> FitResult:
    """Train registered model ``model`` on ``data`` and return the :class:`FitResult`.

    ``data``: a built-in source name (``num_examples`` clips drawn from the training
    seed), an ``.npz`` or a folder of audio files. ``out``: the run folder (default
    ``runs/<model>-seed<seed>``). With ``resume``, the settings saved in
    ``out/run.json`` are used: only ``train_config['epochs']`` and the hardware keys may
    change, and any other setting given (``data``, ``num_examples``, ``model_config``,
    ...; pass None to leave one out) must equal the saved one, else ConfigError; so must
    the data as loaded again (number of examples, sample rate, length, channels).
    ``train_config['progress']``: a bar on a terminal, a line per epoch otherwise, or
    (False) nothing.

    ``init_from``: a trained model folder to fine-tune. Its config and weights are the
    starting point (``model`` may be empty or must name the same model; ``model_config``
    may change only settings that keep the weights' shapes, such as ``beta``); the
    data's shape must match what the model was trained on.

    ``out`` must be missing or empty unless ``resume`` (continue the run in it) or
    ``overwrite`` (train in a fresh folder beside it, which replaces it only when training
    succeeded). The folder is locked while training (a second process is refused with a
    :class:`ConfigError`), created only after the data and settings were checked, and
    removed again if training fails; an interrupted new run stays, to be resumed.
    """
    from .io import check_out_path, confined_to, output_lock

    tcfg = train_config if isinstance(train_config, TrainConfig) else from_dict(TrainConfig, train_config or {}, where="training")
    run_dir = check_out_path(out if out is not None else f"runs/{model or 'model'}-seed{tcfg.seed}")
    if not is_global_zero():
        # A DDP worker: rank 0 checks, locks and creates the folder (maybe a staging one,
        # which it names in the environment of the workers Lightning starts); the worker
        # writes nothing there itself.
        return _train_in(Path(os.environ.get(RUN_DIR_ENV) or run_dir), model, data, model_config, train_config, tcfg,
                         num_examples, data_options, resume, callbacks, init_from)
    with output_lock(run_dir):
        if resume:
            return _train_in(run_dir, model, data, model_config, train_config, tcfg, num_examples,
                             data_options, resume, callbacks, init_from)
        holds_run = (run_dir / RUN_FILE).exists() or (run_dir / "checkpoints").exists()
        if run_dir.exists() and not run_dir.is_dir():
            raise ConfigError(f"--out {run_dir} exists and is not a folder")
        occupied = run_dir.is_dir() and any(run_dir.iterdir())
        if occupied and not overwrite:
            what = "a run; pass --resume to continue it," if holds_run else "files;"
            raise ConfigError(f"{run_dir} already holds {what} choose another --out, or pass --overwrite to replace it")
        # A new run is built in its own folder and only then takes the place of what --out
        # held, so a failed or killed retraining leaves the old model folder untouched.
        work = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", suffix=".partial", dir=run_dir.parent)) if occupied else run_dir
        created = occupied or not run_dir.exists()
        try:
            with confined_to(work):  # every file this run writes lands inside its folder
                result = _train_in(work, model, data, model_config, train_config, tcfg, num_examples,
                                   data_options, resume, callbacks, init_from, create=True)
        except (Interrupted, KeyboardInterrupt):
            if work != run_dir:
                shutil.rmtree(work, ignore_errors=True)
            raise  # a new run's folder stays: 'sigvae train --out RUN --resume' continues it
        except BaseException:
            # Nothing half-made stays behind: the folder of a run that failed is removed
            # (a folder that existed, empty, before stays, empty).
            if created:
                shutil.rmtree(work, ignore_errors=True)
            elif work.is_dir():
                for child in work.iterdir():
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            raise
        if work != run_dir:
            replace_dir(work, run_dir)
            result.run_dir = run_dir
        return result


def _train_in(run_dir: Path, model, data, model_config, train_config, tcfg, num_examples, data_options, resume,
              callbacks, init_from, create: bool = False) -> FitResult:
    """:func:`train` in the folder ``run_dir`` (the output lock is held by the caller)."""
    from .data import SignalDataset, load_signals

    if not resume:
        data = "syntone" if data is None else data
        num_examples = 2000 if num_examples is None else num_examples
    init_state = None
    if init_from is not None and not resume:
        model, model_config, init_state = _init_from(init_from, model, model_config)
    run_file = run_dir / RUN_FILE
    epochs_done = 0
    if resume:
        saved = _read_run_file(run_dir)
        last = run_dir / "checkpoints" / "last.ckpt"
        if not last.is_file():  # checked before run.json is rewritten below
            raise ConfigError(f"{run_dir}: nothing to resume (no checkpoints/last.ckpt)")
        epochs_done = check_checkpoint(last) + 1
        _check_resume_request(run_dir, saved, model, data, num_examples, data_options, model_config, train_config)
        # The data is drawn again with the setting asked for (run.json's num_examples is what it gave).
        model, data, num_examples = saved["model"], saved["data"], _requested_examples(saved)
        init_from = saved.get("init_from")  # the checkpoint, not the folder, restores the weights
        data_options, model_config = saved.get("data_options"), saved["model_config"]
        epochs = tcfg.epochs if isinstance(train_config, TrainConfig) or (train_config or {}).get("epochs") else None
        # Hardware may differ from the first piece's (another machine, more devices): merged
        # before the saved settings are checked, so a run saved on a GPU resumes on a CPU.
        hardware = {k: v for k, v in (train_config or {}).items() if k in _HARDWARE_KEYS} if isinstance(train_config, dict) else {}
        merged = {**saved["train_config"], **hardware, **({"epochs": epochs} if epochs else {})}
        tcfg = from_dict(TrainConfig, merged, where=f"{run_file}: train_config")
    # A model that trains on other data than a SignalSet (mixtures + stems, ...) provides
    # build_training_data(data, seed=, val_fraction=, num_examples=, options=) →
    # (train dataset, val dataset or None, config overrides, metadata); fit() is the same.
    builder = getattr(MODELS.get(model).obj.module, "build_training_data", None)
    if builder is not None:
        train_ds, val_ds, data_overrides, data_meta = builder(
            data, seed=tcfg.seed, val_fraction=tcfg.val_fraction, num_examples=num_examples, options=data_options)
        mcfg = build_config(model, {**(model_config or {}), **data_overrides})
        data_meta = {"num_examples": len(train_ds) + (len(val_ds) if val_ds is not None else 0), **data_meta}
    else:
        signals, source = load_signals(data, n=num_examples, seed=tcfg.seed, options=data_options)
        overrides = {**(model_config or {}), "in_channels": signals.channels, "length": signals.length, "sample_rate": signals.sample_rate}
        mcfg = build_config(model, overrides)
        if tcfg.val_fraction > 0 and len(signals) >= 2:
            train_set, val_set = signals.split(tcfg.val_fraction, tcfg.seed)
        else:
            train_set, val_set = signals, None
        if MODELS.get(model).obj.module.needs_pairs:
            train_ds, val_ds = _pair_datasets(train_set, val_set, source, tcfg.seed, getattr(mcfg, "pair_k", 0))
        else:
            train_ds, val_ds = SignalDataset(train_set), SignalDataset(val_set) if val_set is not None else None
        data_meta = {
            "num_examples": len(signals), "sample_rate": signals.sample_rate, "length": signals.length,
            "channels": signals.channels, "factor_names": signals.factor_names, "factor_sizes": signals.factor_sizes,
            "source": None if source is None else source.name,
        }
    used = _data_used(train_ds, val_ds, mcfg, data_meta)
    if resume:
        _check_same_data(run_dir, saved, used)
    L.seed_everything(tcfg.seed, workers=True, verbose=False)  # initial weights come from the seed too
    # Weights, gradients and the optimiser's two moments, counted on the meta device first.
    net = build_model(model, mcfg, copies=4, what="training")
    if init_state is not None:
        _load_init_weights(net, init_state, init_from)
    run_info = {
        "model": net.registry_name, "data": str(data), **used,
        "requested_num_examples": num_examples, "epochs_completed": epochs_done,
        "data_options": data_options, "model_config": to_dict(mcfg), "train_config": to_dict(tcfg),
        "init_from": None if init_from is None else str(init_from),
    }
    if is_global_zero():
        if create:
            run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_file, run_info)
    os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
    result = None
    try:
        result = fit(
            net, train_ds, val_ds, tcfg, run_dir, resume=resume, callbacks=callbacks,
            metadata={"model": net.registry_name, "data": str(data), "seed": tcfg.seed, **data_meta, "data_options": data_options,
                      "init_from": None if init_from is None else str(init_from)},
        )
        return result
    finally:
        if is_global_zero():
            os.environ.pop(RUN_DIR_ENV, None)
            _record_epochs(run_dir, run_info, result)


def _pair_datasets(train_set, val_set, source, seed: int, k: int) -> tuple[Dataset, Dataset | None]:
    """Pair datasets (``sigvae.data.pairs``) for a model with ``needs_pairs``: rendered by the
    source for a generator, found in the factor table for a users' data set. ``k`` 0: the
    number of changed factors is drawn per pair. A validation split without pairs is left out."""
    from .data.pairs import pair_dataset
    from .errors import DataError

    train_ds = pair_dataset(train_set, source, seed, k or None)
    val_ds = None
    if val_set is not None:
        try:
            val_ds = pair_dataset(val_set, source, seed + 1, k or None)
        except DataError:
            val_ds = None  # too few rows to pair in the validation split: train without one
    return train_ds, val_ds


def _data_used(train_ds: Dataset, val_ds: Dataset | None, mcfg: Any, data_meta: dict) -> dict:
    """What the run trains on, as loaded: example counts, and the sample rate, length and
    channels after any resampling or mix-down (not the settings that asked for them)."""
    n_train, n_val = len(train_ds), len(val_ds) if val_ds is not None else 0
    return {
        "num_examples": n_train + n_val, "train_examples": n_train, "val_examples": n_val,
        "sample_rate": data_meta.get("sample_rate", getattr(mcfg, "sample_rate", None)),
        "length": data_meta.get("length", getattr(mcfg, "length", None)),
        "channels": data_meta.get("channels", getattr(mcfg, "in_channels", None)),
    }


def _check_same_data(run_dir: Path, saved: dict, used: dict) -> None:
    """Refuse to resume on data that is not what the run was trained on (files added to a
    folder, another sample rate): ConfigError naming the first difference. Only run.json
    files that record the data used (with ``requested_num_examples``) are compared."""
    if "requested_num_examples" not in saved:
        return
    for key, what in (("num_examples", "examples"), ("sample_rate", "sample rate"), ("length", "length"),
                      ("channels", "channels")):
        if key in saved and saved[key] != used[key]:
            raise ConfigError(f"{run_dir}: cannot resume, the data {saved['data']!r} is not what the run was trained on "
                              f"({what}: {used[key]} now, {saved[key]} then); start a new run with another --out")


def _requested_examples(saved: dict) -> int:
    """The ``num_examples`` setting of a saved run (run.json files from before
    ``requested_num_examples`` hold it as ``num_examples``)."""
    requested = saved.get("requested_num_examples")
    return requested if isinstance(requested, int) else saved["num_examples"]


def _record_epochs(run_dir: Path, run_info: dict, result: FitResult | None) -> None:
    """Rewrite ``run.json`` with the epochs the run has completed: those of ``result``, or,
    when training stopped early (interrupted, failed), those of its last checkpoint."""
    done = run_info["epochs_completed"]
    if result is not None:
        done = result.epochs_completed
    else:
        try:
            done = max(done, check_checkpoint(run_dir / "checkpoints" / "last.ckpt") + 1)
        except ModelFileError:  # no (readable) checkpoint: nothing more was completed
            pass
    if done != run_info["epochs_completed"] and (run_dir / RUN_FILE).is_file():
        try:
            write_json(run_dir / RUN_FILE, {**run_info, "epochs_completed": done})
        except OSError:  # a full disk must not hide why training stopped
            pass


def _read_run_file(run_dir: Path) -> dict:
    """The checked ``run.json`` of a run to resume; ConfigError if it is missing or damaged."""
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: cannot resume, no {RUN_FILE} (was this folder made by 'sigvae train'?)")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelFileError(f"{path}: damaged, cannot resume ({first_line(e)})") from None
    expected = {"model": str, "data": str, "num_examples": int, "model_config": dict, "train_config": dict}
    if not isinstance(saved, dict):
        raise ModelFileError(f"{path}: damaged, cannot resume (expected a JSON object)")
    for key, kind in expected.items():
        if not isinstance(saved.get(key), kind) or isinstance(saved.get(key), bool):
            raise ModelFileError(f"{path}: damaged, cannot resume ({key!r} should be {kind.__name__})")
    if not isinstance(saved.get("data_options"), (dict, type(None))) or not isinstance(saved.get("init_from"), (str, type(None))):
        raise ModelFileError(f"{path}: damaged, cannot resume (data_options/init_from)")
    requested = saved.get("requested_num_examples")
    if requested is not None and (not isinstance(requested, int) or isinstance(requested, bool)):
        raise ModelFileError(f"{path}: damaged, cannot resume ('requested_num_examples' should be int)")
    if saved["model"] not in MODELS:
        raise ModelFileError(f"{path}: unknown model {saved['model']!r}")
    return saved


def _same_setting(a: Any, b: Any) -> bool:
    """Settings equal as JSON would hold them (4 == 4.0, a tuple == a list)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_setting(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_setting(a[k], b[k]) for k in a)
    return a == b


def _check_resume_request(run_dir: Path, saved: dict, model, data, num_examples, data_options, model_config,
                          train_config) -> None:
    """Refuse settings given with ``resume`` that differ from the run's saved ones (they would be ignored)."""
    differ = []
    if model and MODELS.get(model).name != saved["model"]:
        differ.append(f"the model ({model!r}; the run trains {saved['model']!r})")
    if data is not None and str(data) != saved["data"]:
        differ.append(f"the data ({str(data)!r}; the run uses {saved['data']!r})")
    # Either the setting the run was started with or the number of examples it gave is the same run.
    if num_examples is not None and num_examples not in (_requested_examples(saved), saved["num_examples"]):
        differ.append(f"the number of examples ({num_examples}; the run uses {_requested_examples(saved)})")
    for section, given, stored in (("data_options", data_options, saved.get("data_options") or {}),
                                   ("model_config", model_config, saved["model_config"])):
        for key, value in (given or {}).items():
            if key not in stored or not _same_setting(value, stored[key]):
                differ.append(f"{section}.{key} ({value!r}; the run uses {stored.get(key)!r})")
    if isinstance(train_config, dict):
        # The saved hardware is not compared (it may change), nor checked here against this machine.
        stored = from_dict(TrainConfig, {k: v for k, v in saved["train_config"].items() if k not in _HARDWARE_KEYS},
                           where=f"{run_dir / RUN_FILE}: train_config")
        given = from_dict(TrainConfig, {**to_dict(stored), **train_config}, where="training")
        for key in train_config:
            if key not in ("epochs", *_HARDWARE_KEYS) and not _same_setting(getattr(given, key), getattr(stored, key)):
                differ.append(f"training.{key} ({getattr(given, key)!r}; the run uses {getattr(stored, key)!r})")
    if differ:
        raise ConfigError(f"{run_dir}: --resume continues the run with its saved settings, but {differ[0]} differs; "
                          "only the epochs and the hardware may change (start a new run with another --out instead)")


def _init_from(folder, model: str, model_config: dict | None) -> tuple[str, dict, dict]:
    """(model name, model config, weights) of the trained model folder to fine-tune from."""
    from .modelfile import load

    trained = load(folder)
    name = trained.registry_name
    if model and MODELS.get(model).name != name:
        raise ConfigError(f"--init-from {folder} holds a {name!r} model, not {model!r}")
    return name, {**to_dict(trained.config), **(model_config or {})}, trained.state_dict()


def _load_init_weights(net: SigModel, state: dict, folder) -> None:
    """Copy fine-tuning start weights into ``net``; a shape change is a clear error."""
    own = net.state_dict()
    for k, v in state.items():
        if k in own and own[k].shape != v.shape:
            raise ConfigError(
                f"--init-from {folder}: weight {k!r} has shape {tuple(v.shape)} but the model for this data "
                f"needs {tuple(own[k].shape)} (the new data's length, channels or the changed settings differ)")
    net.load_state_dict(state, strict=True)


__all__ = ["TrainConfig", "fit", "train", "FitResult", "SigLightningModule", "EpochShuffleSampler", "TrainingProgress",
           "is_global_zero"]
