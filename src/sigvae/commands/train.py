"""``sigvae train`` and ``sigvae models``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .common import (
    add_trainer_args,
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_int,
    seed_int,
    trainer_overrides,
)


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
    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(func=run_models)

    p = sub.add_parser(
        "train", help="train a model and save its folder",
        description="Train a registered model. Settings come from --config (YAML/JSON), then the flags.",
    )
    p.add_argument("model", nargs="?", help="registered model name (see 'sigvae models')")
    p.add_argument("--data", help="built-in source (syntone), an .npz file, or a folder of audio files (default syntone)")
    p.add_argument("--num-examples", type=positive_int, help="clips drawn from a built-in source (default 2000)")
    p.add_argument("--duration", type=non_negative_float, help="clip length in seconds for built-in sources")
    p.add_argument("--config", help="YAML or JSON file with model, data, model_config, training")
    p.add_argument("--out", help="run folder (default runs/<model>-seed<seed>)")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=finite_float)
    p.add_argument("--latent-dim", type=positive_int)
    p.add_argument("--beta", type=non_negative_float, help="weight of the KL (or TC for β-TCVAE) term")
    p.add_argument("--seed", type=seed_int)
    p.add_argument("--val-fraction", type=finite_float)
    p.add_argument("--early-stopping", type=non_negative_int, metavar="PATIENCE", help="stop after PATIENCE epochs without improvement")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--init-from", metavar="RUN", help="fine-tune: start from the config and weights of this trained model folder")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_trainer_args(p)
    p.set_defaults(func=run_train)


def run_models(args: argparse.Namespace) -> int:
    from ..models import MODELS

    width = max(len(e.name) for e in MODELS)
    for e in MODELS:
        print(f"{e.name:<{width}}  {e.description}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from ..config import config_path, from_dict, load_config_file
    from ..data import data_spec_from_config
    from ..errors import ConfigError
    from ..training import is_global_zero, train

    file = from_dict(TrainFile, load_config_file(args.config), where=args.config) if args.config else TrainFile()
    model = args.model or file.model
    if not model and not args.resume and not args.init_from:
        raise ConfigError("name a model: 'sigvae train MODEL' (see 'sigvae models') or 'model:' in --config")
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
    if args.no_progress:
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
    num_examples = args.num_examples or file.num_examples or (None if args.resume else 2000)
    result = train(
        model or "", data, out=args.out, model_config=model_cfg,
        train_config=training, num_examples=num_examples,
        data_options=data_options or None, resume=args.resume, init_from=args.init_from,
        overwrite=bool(getattr(args, "overwrite", False)),
    )
    if is_global_zero():
        best = "n/a" if result.best_val_loss is None else f"{result.best_val_loss:.4g}"
        print(f"trained {result.model.registry_name} in {result.seconds:.1f} s; best validation loss {best}")
        print(f"model folder: {result.run_dir}")
    return 0
