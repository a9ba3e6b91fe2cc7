"""The command-line reference (``docs/cli.md``), generated from the parsers themselves.

Regenerate after changing any command's flags or help::

    .venv/bin/python -m sigvae.commands.reference > docs/cli.md

``tests/test_cli_surface.py`` fails while the file differs from what this prints. The
page does not depend on the terminal: options are laid out as tables, not as argparse's
wrapped ``--help`` text. Help text is escaped for Markdown (:func:`_prose`), so the page
reads the same on GitHub and in the documentation site (``mkdocs build``).
"""

from __future__ import annotations

import argparse
import re

from . import build_parser, walk_parsers

HEADER = """# Command-line reference

Every `sigvae` command, its options and their defaults. This page is generated from the
parsers: do not edit it by hand, run
`.venv/bin/python -m sigvae.commands.reference > docs/cli.md` after changing a command.
`sigvae COMMAND --help` prints the same text.

The same idea has the same flag everywhere: `--out` (where a command writes),
`--num-examples` (how many examples), `--batch-size`, `--seed` (one run's seed;
benchmarks take `--seeds`), `--threads` (CPU threads, 0 = all cores), `--no-progress`
(no progress bar) and `--quiet` (nothing printed but errors). Older spellings
(`--n`, `--max-examples`, `--batch`) still work but are not listed.
"""


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _prose(text: str) -> str:
    """Help text as Markdown that shows it literally: ``<name>`` is not an HTML tag, and
    ``*`` or an ``_`` at a word's edge (``<name>_original.wav``) starts no emphasis."""
    text = re.sub(r"&(?=#?\w+;)", "&amp;", text).replace("<", "&lt;").replace("*", "\\*")
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """An action's help as ``--help`` shows it (``%(default)s`` and ``%%`` expanded)."""
    text = action.help or ""
    if "%" in text:
        params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
        if params.get("choices") is not None:
            params["choices"] = ", ".join(map(str, params["choices"]))
        text = text % dict(params, prog=parser.prog)
    return text


def _invocation(action: argparse.Action) -> str:
    """``--num-examples N``, ``--split {train,test}``, ``MODEL``: how the option is written."""
    if action.metavar is not None:
        meta = action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    elif action.choices is not None:
        meta = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        meta = action.dest.upper()
    if not action.option_strings:
        return meta
    names = ", ".join(action.option_strings)
    return names if action.nargs == 0 else f"{names} {meta}"


def _default(action: argparse.Action, help_text: str) -> str:
    """A default the help text does not already state (empty when it does, or when there is none)."""
    value = action.default
    if "default" in help_text or value in (None, False, argparse.SUPPRESS) or action.nargs == 0:
        return ""
    return f" (default: {value})"


def _commands(action: argparse._SubParsersAction, path: tuple[str, ...]) -> list[str]:
    rows = ["| Command | What it does |", "| --- | --- |"]
    for choice in action._choices_actions:
        rows.append(f"| [`{' '.join(('sigvae', *path, choice.dest))}`](#{_anchor((*path, choice.dest))}) "
                    f"| {_cell(_prose(choice.help or ''))} |")
    return rows


def _anchor(path: tuple[str, ...]) -> str:
    """GitHub's anchor for the heading ``sigvae PATH``."""
    return "-".join(("sigvae", *path)).lower()


def _section(path: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    level = "#" * (2 + max(0, len(path) - 1))  # commands ##, their subcommands ###
    lines = [f"{level} {' '.join(('sigvae', *path))}", ""]
    lines += _text(parser.description or "")
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            lines += _commands(action, path) + [""]
        elif action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction):
            text = _help(parser, action)
            rows.append(f"| `{_cell(_invocation(action))}` | {_cell(_prose(text + _default(action, text)))} |")
    if rows:
        lines += ["| Option | Meaning |", "| --- | --- |", *rows, ""]
    return lines + _text(parser.epilog or "")


def _text(text: str) -> list[str]:
    """A description or epilog: plain paragraphs joined into one line each, indented ones as code."""
    lines = []
    for block in text.strip("\n").split("\n\n"):
        if any(line.startswith(" ") for line in block.splitlines()):
            lines += ["```", block.rstrip(), "```", ""]
        elif block.strip():
            lines += [_prose(" ".join(block.split())), ""]
    return lines


def render(parser: argparse.ArgumentParser | None = None) -> str:
    """The Markdown reference of ``parser`` (default: the ``sigvae`` parser)."""
    parser = parser or build_parser()
    lines = [HEADER]
    for path, sub in walk_parsers(parser, old_names=False):
        lines += _section(path, sub)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.buffer.write(render().encode("utf-8"))
