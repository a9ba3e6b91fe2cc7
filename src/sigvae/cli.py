"""The ``sigvae`` command: a thin shell over the Python API.

Each subcommand lives in ``sigvae/commands/<name>.py`` with ``add_parser(subparsers)``
that sets ``func``; the parser tree is built in :mod:`sigvae.commands` (add a new module
to its ``COMMAND_MODULES``). Errors caused by the user's input
(:class:`~sigvae.errors.SigvaeError`, missing or unwritable files) become one line on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import warnings

from .commands import COMMAND_MODULES, OneLineErrorParser, build_parser

__all__ = ["COMMAND_MODULES", "OneLineErrorParser", "build_parser", "main"]

def _bad_value(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """What is wrong with an argument no command can use, or None.

    An empty value (``--out ""`` would silently mean the current folder or a default) and
    a NUL character (no file name can hold one) are refused here, once for every command.
    """
    for key, value in vars(args).items():
        if isinstance(value, str) and not value.strip():
            return f"{_flag_name(parser, key)} is empty; give a value or leave it out"
        if isinstance(value, str) and "\x00" in value:
            return f"{_flag_name(parser, key)} holds a NUL character"
    return None


def _flag_name(parser: argparse.ArgumentParser, dest: str) -> str:
    """How the user wrote the argument stored under ``dest`` (``--out``, or the positional's name)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                name = _flag_name(child, dest)
                if name != dest:
                    return name
        elif action.dest == dest and action.option_strings:
            return action.option_strings[-1]
    return dest


def _one_line(message: object) -> str:
    """The error text on one line (file contents in a message may hold newlines), at most 400 characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= 400 else text[:397] + "..."


#: Signals that arrived during the running command (reset by :func:`main`).
_signals_received: list[int] = []


def _raise_interrupted(signum, frame):  # noqa: ARG001 - signal handler signature
    from .errors import Interrupted

    _signals_received.append(signum)
    raise Interrupted(signum)


def _interrupted(signum: int) -> int:
    """One line for an interrupted command; its exit status, 128 + the signal."""
    print("sigvae: interrupted" if signum == signal.SIGINT else "sigvae: terminated", file=sys.stderr)
    return 128 + int(signum)


def _set_memory_budget(size: str | None) -> None:
    """``--max-memory SIZE`` for this run (None: SIGVAE_MAX_MEMORY or the default; see :mod:`sigvae.limits`)."""
    from .limits import parse_size, set_memory_budget

    set_memory_budget(None if size is None else parse_size(size))


def _quiet() -> None:
    """Keep the terminal to sigvae's own output and progress bars."""
    warnings.filterwarnings("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # DDP worker processes inherit this
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 success, 2 bad input, 1 other failure)."""
    from .commands.benchmark import default_task_argv

    parser = build_parser()
    args = parser.parse_args(default_task_argv(list(sys.argv[1:] if argv is None else argv)))
    if getattr(args, "func", None) is None:
        parser.parse_args([args.command, "--help"])
    bad = _bad_value(parser, args)
    if bad:
        print(f"sigvae: error: {bad}", file=sys.stderr)
        return 2
    if not args.verbose:
        _quiet()
    from .errors import Interrupted, SigvaeError
    from .io import set_output_policy

    command = " ".join(str(v) for v in (args.command, getattr(args, "task", None)) if v)
    set_output_policy(command, overwrite=bool(getattr(args, "overwrite", False)))
    # One handler for every command: SIGINT and SIGTERM unwind the command (staged output
    # is removed on the way) and end with status 128 + signal and one line.
    handlers = {}
    _signals_received.clear()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, _raise_interrupted)
    try:
        _set_memory_budget(args.max_memory)
        result = args.func(args)
        return int(result or 0)
    except SigvaeError as e:
        print(f"sigvae: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as e:
        print(f"sigvae: error: {_one_line(f'{e.strerror or e}: {e.filename}')}", file=sys.stderr)
        return 2
    except OSError as e:
        if args.verbose:
            raise
        print(f"sigvae: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted) as e:
        return _interrupted(getattr(e, "signum", signal.SIGINT))
    except Exception:
        # The signal's exception can come out as another one: raised inside a C extension's
        # module initialisation it becomes "ImportError: initialization failed". It is still
        # the interruption, not a bug.
        if _signals_received:
            return _interrupted(_signals_received[-1])
        raise
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
