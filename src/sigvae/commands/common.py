"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse
import math

TRAINER_FLAGS = ("accelerator", "devices", "strategy", "num_nodes", "precision")


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {v}")
    return v


#: Seeds go to NumPy, torch and Lightning's ``seed_everything``, which takes 32-bit unsigned seeds.
SEED_LIMIT = 2**32


def seed_int(text: str) -> int:
    """A ``--seed``: an integer in [0, 2^32)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed in [0, 2^32), got {text!r}") from None
    if not 0 <= v < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected an integer seed in [0, 2^32), got {v}")
    return v


def finite_float(text: str) -> float:
    """A finite number (``inf`` and ``nan`` are refused: no setting of sigvae means them)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return v


def non_negative_float(text: str) -> float:
    v = finite_float(text)
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return v


def add_trainer_args(p: argparse.ArgumentParser) -> None:
    """Hardware flags passed straight to Lightning's Trainer."""
    g = p.add_argument_group("hardware (handed to Lightning)")
    g.add_argument("--accelerator", metavar="KIND", help="cpu, gpu, mps or auto (default: auto)")
    g.add_argument("--devices", metavar="N", help="number of devices/processes, e.g. 2 (default: 1)")
    g.add_argument("--strategy", metavar="NAME", help="e.g. ddp, ddp_spawn, fsdp (default: auto)")
    g.add_argument("--num-nodes", type=positive_int, metavar="N", help="machines taking part (default: 1)")
    g.add_argument("--precision", metavar="P", help="32-true, bf16-mixed or 16-mixed (default: 32-true)")


def logger_names(text: str) -> list[str]:
    """argparse ``type`` of ``--logger``: names separated by commas (``none``: no logger)."""
    from ..errors import ConfigError
    from ..loggers import parse_loggers

    try:
        return parse_loggers(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_logger(p: argparse.ArgumentParser) -> None:
    """``--logger NAMES``: the experiment loggers of a training run (``sigvae.loggers``)."""
    from ..loggers import DEFAULT_LOGGERS, LOGGER_NAMES

    p.add_argument("--logger", type=logger_names, metavar="NAMES",
                   help=f"experiment loggers, several separated by commas: {', '.join(LOGGER_NAMES)}, or none; "
                        "each writes into the run folder's logs/ (tensorboard, mlflow and wandb need the extra "
                        f"of that name: pip install 'sigvae[mlflow]') (default: {','.join(DEFAULT_LOGGERS)}, "
                        "or training.loggers in --config)")


def trainer_overrides(args: argparse.Namespace) -> dict:
    out = {}
    for k in TRAINER_FLAGS:
        v = getattr(args, k, None)
        if v is not None:
            out[k] = str(v) if k == "devices" else v
    return out


# ---------------------------------------------------------------------------------------
# The one vocabulary (docs/cli.md): the same flag for the same idea in every command.
#
#   --out PATH             where the command writes (a folder, or one file where it says so)
#   --num-examples N       how many examples to draw or process (old: --n, --max-examples)
#   --batch-size N         examples per batch (old: --batch)
#   --seed S               the one seed of a single run; benchmarks take --seeds N|LIST
#                          (a count N = seeds 0..N-1, or a comma-separated list)
#   --threads N            CPU threads for torch and BLAS (0 = the libraries' default)
#   --accelerator, --devices   where to run (Lightning's words: cpu, gpu, mps, auto)
#   --logger NAMES         experiment loggers of training runs: csv,tensorboard,mlflow,wandb
#   --no-progress          no progress bar; --quiet: no progress bar and no messages
#                          (errors are still printed)


#: Help of the model-folder argument of the commands that use a trained model.
RUN_HELP = "model folder written by 'sigvae train'"
#: Help of the input argument of the commands that read signals for a trained model.
INPUT_HELP = ("audio file, folder of audio files, .npz (with 'signals' and 'sample_rate'), "
              "or a built-in source name (syntone, simvowels)")


def hidden_alias(p: argparse.ArgumentParser, old: str, dest: str, **kwargs) -> None:
    """An old spelling of a flag that still works but is not listed in ``--help``."""
    p.add_argument(old, dest=dest, help=argparse.SUPPRESS, **kwargs)


def add_num_examples(p: argparse.ArgumentParser, default: int | None, what: str,
                     old: tuple[str, ...] = (), shown: str | None = None) -> None:
    """``--num-examples N`` (how many examples ``what`` describes); ``default`` None = all.
    ``old``: earlier spellings kept as hidden aliases. ``shown``: the default as the help
    states it, where the parser's default is not the value used (None: from ``default``)."""
    shown = shown or ("all" if default is None else default)
    p.add_argument("--num-examples", type=positive_int, default=default, metavar="N",
                   help=f"{what} (default: {shown})")
    for spelling in old:
        hidden_alias(p, spelling, "num_examples", type=positive_int)


def add_batch_size(p: argparse.ArgumentParser, default: int | None, what: str = "examples per batch",
                   shown: str | None = None) -> None:
    """``--batch-size N`` (old spelling ``--batch`` kept hidden); ``shown`` as in :func:`add_num_examples`."""
    shown = shown or (default if default is not None else "the config value")
    p.add_argument("--batch-size", type=positive_int, default=default, metavar="N", help=f"{what} (default: {shown})")
    hidden_alias(p, "--batch", "batch_size", type=positive_int)


def add_seed(p: argparse.ArgumentParser, default: int | None = 0, what: str = "random seed",
             shown: str | None = None) -> None:
    """``--seed S``: the one seed of a single run; ``shown`` as in :func:`add_num_examples`."""
    shown = shown or (default if default is not None else "the config value")
    p.add_argument("--seed", type=seed_int, default=default, metavar="S", help=f"{what} (default: {shown})")


def add_threads(p: argparse.ArgumentParser, default: int = 0) -> None:
    """``--threads N``: CPU threads for torch and BLAS; 0 = the libraries' default."""
    p.add_argument("--threads", type=non_negative_int, default=default, metavar="N",
                   help=f"CPU threads for torch and BLAS, 0 = all cores (default: {default})")


def add_progress_options(p: argparse.ArgumentParser) -> None:
    """``--no-progress`` (no bar) and ``--quiet`` (no bar, no messages; errors still shown)."""
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (implies --no-progress)")


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw a progress bar: not with --no-progress or --quiet."""
    return not (getattr(args, "no_progress", False) or getattr(args, "quiet", False))


def say(args: argparse.Namespace, message: str) -> None:
    """Print a message unless --quiet was given."""
    if not getattr(args, "quiet", False):
        print(message)


# ---------------------------------------------------------------------------------------
# Help pages: each command ends its --help with a few examples.


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions wrap to the terminal as usual; indented lines (the examples) are kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        out = []
        for block in text.split("\n\n"):
            lines = block.splitlines()
            if any(line.startswith(" ") for line in lines) or block.rstrip().endswith(":"):
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(textwrap.fill(" ".join(block.split()), width, initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(out)


def examples(*commands: str) -> str:
    """An ``epilog`` listing example command lines."""
    return "examples:\n" + "\n".join(f"  {c}" for c in commands)


def add_command(sub, name: str, help: str, description: str | None = None, example: tuple[str, ...] = (),
                **kwargs) -> argparse.ArgumentParser:
    """``sub.add_parser`` with the shared help layout: ``description`` (default: ``help``) and examples."""
    return sub.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                          epilog=examples(*example) if example else None, formatter_class=HelpFormatter, **kwargs)
