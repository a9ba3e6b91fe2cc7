"""The ``sigvae`` command: a thin shell over the Python API.

Each subcommand lives in ``sigvae/commands/<name>.py`` with ``add_parser(subparsers)``
that sets ``func``; add a new module to :data:`COMMAND_MODULES`. Errors caused by the
user's input (:class:`~sigvae.errors.SigvaeError`, missing or unwritable files) become
one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

from . import __version__

COMMAND_MODULES = [
    "sigvae.commands.train",
    "sigvae.commands.generate",
    "sigvae.commands.data",
    "sigvae.commands.benchmark",
    "sigvae.commands.embed",
    "sigvae.commands.unmix",
    "sigvae.commands.separate",
]


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit 2), like sigvae's own.

    argparse prints the whole usage block before the error; scripts and log scrapers
    then see several lines for one problem, so the usage is replaced by a pointer to --help.
    """

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="sigvae",
        description="Variational decomposition of signals: train, evaluate and use disentangling VAEs.",
    )
    parser.add_argument("--version", action="version", version=f"sigvae {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show library warnings and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def _quiet() -> None:
    """Keep the terminal to sigvae's own output and progress bars."""
    warnings.filterwarnings("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # DDP worker processes inherit this
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 success, 2 bad input, 1 other failure)."""
    from .commands.benchmark import default_task_argv

    parser = build_parser()
    args = parser.parse_args(default_task_argv(list(sys.argv[1:] if argv is None else argv)))
    if getattr(args, "func", None) is None:
        parser.parse_args([args.command, "--help"])
    if not args.verbose:
        _quiet()
    from .errors import SigvaeError

    try:
        result = args.func(args)
        return int(result or 0)
    except SigvaeError as e:
        print(f"sigvae: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as e:
        print(f"sigvae: error: {e.strerror or e}: {e.filename}", file=sys.stderr)
        return 2
    except OSError as e:
        if args.verbose:
            raise
        print(f"sigvae: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sigvae: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
