"""CLI subcommands, one module each, and the parser tree they make (``sigvae.cli`` runs it).

Each module has ``add_parser(subparsers)``, which adds its parser(s) and sets ``func``;
add a new module to :data:`COMMAND_MODULES`. Building the tree must stay light: no
module imported for it may import torch, scipy, Lightning or scikit-learn (the command
modules import those inside their run functions; ``tests/test_cli_surface.py`` checks).
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterator

from ..version import __version__

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
        self.exit(2, f"{self.prog}: error: {_suggest(message)} (see '{self.prog} --help')\n")


def _suggest(message: str) -> str:
    """argparse's "invalid choice: 'trian' (choose from ...)" with the closest names first."""
    match = re.search(r"invalid choice: '(.*?)' \(choose from (.*)\)$", message)
    if not match:
        return message
    import difflib

    choices = [c.strip().strip("'") for c in match.group(2).split(",")]
    close = difflib.get_close_matches(match.group(1), choices, n=3, cutoff=0.6)
    if not close:
        return message
    return message + "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def build_parser() -> argparse.ArgumentParser:
    from .common import HelpFormatter, examples

    parser = OneLineErrorParser(
        prog="sigvae",
        description="Variational decomposition of signals: train, evaluate and use disentangling VAEs. "
        "Each command's options and examples: 'sigvae COMMAND --help'.",
        epilog=examples("sigvae models", "sigvae train vae --epochs 5 --out runs/vae",
                        "sigvae benchmark --profile tiny --out runs/tiny"),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sigvae {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show library warnings and full tracebacks (default: off)")
    parser.add_argument("--max-memory", metavar="SIZE",
                        help="memory budget: refuse any request (data, model, outputs) whose arrays would exceed SIZE, "
                             "e.g. 512M, 8G, 2GiB (default: half this machine's memory; env SIGVAE_MAX_MEMORY)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    _add_overwrite_flags(parser)
    return parser


def _add_overwrite_flags(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command that writes an ``--out`` the same ``--overwrite`` flag."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                _add_overwrite_flags(child)
    if "--out" in parser._option_string_actions and "--overwrite" not in parser._option_string_actions:
        parser.add_argument("--overwrite", action="store_true",
                            help="write into an --out that already exists although it holds files sigvae did not "
                                 "write there for this command (default: refuse)")




def walk_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), old_names: bool = True,
                 ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree with its command words (``()``, ``("data",)``, ``("data", "syntone")``...).

    ``old_names=False`` leaves out the names a parser is reachable by but not listed under
    (old names kept working without help text).
    """
    yield path, parser
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        listed = {a.dest for a in action._choices_actions}
        seen: set[int] = set()
        for name, child in action.choices.items():
            if id(child) in seen or not (old_names or name in listed):
                continue
            seen.add(id(child))
            yield from walk_parsers(child, (*path, name), old_names)
