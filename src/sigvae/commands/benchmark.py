"""``sigvae benchmark [TASK]``: run a registered benchmark (default: the first task, SynTone)."""

from __future__ import annotations

import importlib


def add_parser(sub) -> None:
    from ..experiments import TASKS

    p = sub.add_parser("benchmark", help="train, measure and report: " + ", ".join(TASKS) if TASKS else "run a benchmark")
    tasks = p.add_subparsers(dest="task", metavar="TASK")
    for name, module in TASKS.items():
        mod = importlib.import_module(module)
        t = tasks.add_parser(name, help=mod.DESCRIPTION, description=mod.DESCRIPTION)
        mod.add_arguments(t)
        t.set_defaults(func=mod.run)


def default_task_argv(argv: list[str]) -> list[str]:
    """Insert the default task after ``benchmark`` when none is named (``sigvae benchmark --out X``)."""
    from ..experiments import TASKS

    if not TASKS or "benchmark" not in argv:
        return argv
    i = argv.index("benchmark")
    rest = argv[i + 1 :]
    if rest and (rest[0] in TASKS or rest[0] in ("-h", "--help")):
        return argv
    return argv[: i + 1] + [next(iter(TASKS))] + rest
