"""``sigvae train`` and ``sigvae models``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .common import (
    add_command,
    add_logger,
    add_progress_options,
    add_seed,
    add_threads,
    add_trainer_args,
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_int,
    say,
    trainer_overrides,
)

#: The registered models, known without importing them (and torch) for ``--help``;
#: tests/test_cli_surface.py checks this against :data:`sigvae.models.MODELS`.
MODEL_NAMES = (
    "ada_gvae", "ada_ml_vae", "annealed_vae", "arflow_vae", "barlow_vqvae", "beta_decvae", "beta_tcvae", "beta_vae", "bss_vae",
    "decae", "decvae", "decvae_large", "dip_vae_i", "dip_vae_ii", "factor_vae", "gp_vae", "separator",
    "skr_vae", "vae", "vqvae",
)

#: The built-in data sources (checked against :data:`sigvae.data.SOURCES` the same way).
SOURCE_NAMES = ("simvowels", "syntone")

#: What ``sigvae train`` uses when neither a flag nor ``--config`` sets it: the defaults of
#: :class:`sigvae.training.TrainConfig` (checked by a test), stated in ``--help``.
TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 64, "lr": 0.001, "val_fraction": 0.1, "seed": 0}

#: Examples drawn from a built-in source when neither --num-examples nor --config says.
DEFAULT_NUM_EXAMPLES = 2000


@dataclass
class TrainFile:
    """The keys a ``--config`` YAML/JSON file may hold (flags on the command line win).

    ``data`` (unless a built-in name) and ``data_options.data_dir`` are paths relative to
    the config file's folder and may not lead outside it. There is no output key: the run
    folder comes from ``--out`` only.
    """

    model: str = ""
    data: str = ""
    num_examples: int = 0
    data_options: dict = field(default_factory=dict)
    model_config: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)


def add_parser(sub) -> None:
    p = add_command(sub, "models", "list the registered models with a line on each",
                    example=("sigvae models", "sigvae train beta_vae --out runs/beta"))
    p.set_defaults(func=run_models)

    p = add_command(
        sub, "train", "train a model and save its folder",
        description="Train a registered model and save it as a folder (weights, settings, logs) that the other "
        "commands read. Settings come from --config (YAML/JSON) first, then from the flags; what neither sets "
        "is the model's or the trainer's default, stated below.",
        example=("sigvae train vae --epochs 5 --out runs/vae",
                 "sigvae train beta_vae --data clips.npz --latent-dim 4 --out runs/beta",
                 "sigvae train --resume --out runs/vae --epochs 20"),
    )
    _add_train_arguments(p)
    p.set_defaults(func=run_train)


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    d = TRAIN_DEFAULTS
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="the model to train: " + ", ".join(MODEL_NAMES) + " (one line on each: 'sigvae models')")
    p.add_argument("--data", help=f"what to train on: a built-in source ({', '.join(SOURCE_NAMES)}), an .npz file "
                   "with 'signals' and 'sample_rate', a folder of audio files, or ucr:NAME (default: syntone)")
    p.add_argument("--num-examples", type=positive_int, metavar="N",
                   help=f"examples drawn from a built-in source; files are used whole "
                        f"(default: {DEFAULT_NUM_EXAMPLES}, or num_examples in --config)")
    p.add_argument("--duration", type=non_negative_float, metavar="SECONDS",
                   help="clip length in seconds of a built-in source that has one (default: syntone's, 1.0)")
    p.add_argument("--config", metavar="FILE",
                   help="YAML or JSON file with model, data, num_examples, data_options, model_config and training "
                        "(default: none; the flags win over it)")
    p.add_argument("--out", metavar="DIR", help="the model folder to write (default: runs/MODEL-seedSEED)")
    p.add_argument("--epochs", type=positive_int, metavar="N",
                   help=f"passes over the training examples (default: {d['epochs']}, or training.epochs in --config)")
    p.add_argument("--batch-size", type=positive_int, metavar="N",
                   help=f"examples per optimiser step (default: {d['batch_size']}, or training.batch_size in --config)")
    p.add_argument("--lr", type=finite_float, metavar="RATE",
                   help=f"learning rate of the optimiser (default: {d['lr']:g}, or training.lr in --config)")
    p.add_argument("--latent-dim", type=positive_int, metavar="N",
                   help="size of the latent code, for models with a latent_dim setting (default: the model's "
                        "config, e.g. 8 for vae and its presets, 3 for bss_vae and its presets)")
    p.add_argument("--beta", type=non_negative_float,
                   help="weight of the KL term (of the total-correlation term for beta_tcvae) "
                        "(default: the model's config, e.g. 1 for vae, 4 for beta_vae)")
    add_seed(p, None, "seed for drawing the examples, the initial weights and the batch order",
             shown=f"{d['seed']}, or training.seed in --config")
    p.add_argument("--val-fraction", type=finite_float, metavar="F",
                   help="share of the examples held out to measure the validation loss, in [0, 1) "
                        f"(default: {d['val_fraction']:g}, or training.val_fraction in --config)")
    p.add_argument("--early-stopping", type=non_negative_int, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation loss (default: 0, never stop early)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint, with its saved settings (default: off)")
    p.add_argument("--init-from", metavar="RUN",
                   help="fine-tune: start from the settings and weights of this model folder (default: none)")
    add_logger(p)
    add_threads(p)
    add_progress_options(p)
    add_trainer_args(p)


def run_models(args: argparse.Namespace) -> int:
    from ..models import MODELS

    width = max(len(e.name) for e in MODELS)
    for e in MODELS:
        print(f"{e.name:<{width}}  {e.description}")
    return 0


def _check_data_name(spec: str) -> None:
    """Refuse a --data that is no file and only a misspelling of a built-in source, naming the closest ones."""
    import difflib
    from pathlib import Path

    from ..errors import DataError

    if spec.lower() in SOURCE_NAMES or ":" in spec or Path(spec).exists():
        return
    close = difflib.get_close_matches(spec.lower(), SOURCE_NAMES, n=2, cutoff=0.6)
    if close:
        raise DataError(f"data {spec!r} is neither a built-in source nor an existing file or folder; did you mean "
                        + " or ".join(repr(c) for c in close) + "?")


def run_train(args: argparse.Namespace) -> int:
    from ..config import config_path, from_dict, load_config_file
    from ..data import data_spec_from_config
    from ..errors import ConfigError
    from ..limits import thread_limit
    from ..models import MODELS
    from ..training import is_global_zero, train

    file = from_dict(TrainFile, load_config_file(args.config), where=args.config) if args.config else TrainFile()
    model = args.model or file.model
    if not model and not args.resume and not args.init_from:
        raise ConfigError("name a model: 'sigvae train MODEL' (see 'sigvae models') or 'model:' in --config")
    if model:
        MODELS.get(model)  # an unknown name is refused (with the closest names) before any data is read
    if args.data:
        _check_data_name(args.data)
    if args.init_from and args.resume:
        raise ConfigError("--init-from starts a new run; --resume continues one: pass only one of them")
    model_cfg = dict(file.model_config)
    for flag, key in (("latent_dim", "latent_dim"), ("beta", "beta")):
        if getattr(args, flag) is not None:
            model_cfg[key] = getattr(args, flag)
    training = dict(file.training)
    for flag, key in (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"), ("seed", "seed"),
                      ("val_fraction", "val_fraction"), ("early_stopping", "early_stopping_patience")):
        if getattr(args, flag) is not None:
            training[key] = getattr(args, flag)
    training.update(trainer_overrides(args))
    if args.logger is not None:
        training["loggers"] = args.logger
    if args.no_progress or args.quiet:
        training["progress"] = False
    data_options = dict(file.data_options)
    # Paths from the file are relative to it and may not leave its folder; the flags the
    # user types are taken as given.
    # With --resume, only what was given is passed on: training checks it against the run's
    # saved settings and refuses a difference instead of ignoring it.
    data = args.data or (data_spec_from_config(file.data, args.config) if file.data else None if args.resume else "syntone")
    if "data_dir" in data_options:
        data_options["data_dir"] = config_path(data_options["data_dir"], args.config, "data_options.data_dir",
                                               "--data ucr:DIR/NAME")
    if args.duration is not None:
        data_options["duration"] = args.duration
    if args.resume and not args.out:
        raise ConfigError("--resume needs --out RUN_DIR (the folder of the run to continue)")
    if args.resume and getattr(args, "overwrite", False):
        raise ConfigError("--resume continues the run in --out; --overwrite replaces it: pass only one of them")
    num_examples = args.num_examples or file.num_examples or (None if args.resume else DEFAULT_NUM_EXAMPLES)
    with thread_limit(args.threads):
        result = train(
            model or "", data, out=args.out, model_config=model_cfg,
            train_config=training, num_examples=num_examples,
            data_options=data_options or None, resume=args.resume, init_from=args.init_from,
            overwrite=bool(getattr(args, "overwrite", False)),
        )
    if is_global_zero():
        best = "n/a" if result.best_val_loss is None else f"{result.best_val_loss:.4g}"
        kept = "best validation loss" if result.model.keep_best_epoch else "last epoch's validation loss (weights kept)"
        say(args, f"trained {result.model.registry_name} in {result.seconds:.1f} s; {kept} {best}")
        say(args, f"model folder: {result.run_dir}")
    return 0
