"""``sigvae benchmark [TASK]``: run a registered benchmark (default: the first task, SynTone).

Some tasks are also reachable as a ``--task`` of another (:data:`SUBTASKS`):
``sigvae benchmark separation --task spectrogram`` runs ``separation-spectrogram`` with
that task's own options; ``--task bss`` (the default) runs the blind-source benchmark.
"""

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


#: (task, --task value) → the registered task that runs it. The task's own parser keeps
#: ``--task`` (so ``--help`` lists it) for the value that stays with it.
SUBTASKS: dict[tuple[str, str], str] = {("separation", "spectrogram"): "separation-spectrogram"}


#: Options of ``sigvae`` itself (before the command) that take a value: skipped when
#: looking for the command's position.
TOP_LEVEL_VALUE_OPTIONS = ("--max-memory",)


def _command_index(argv: list[str]) -> int | None:
    """The position of the command (``train``, ``benchmark``, ...) in ``argv``: the first
    argument that is neither an option of ``sigvae`` itself nor that option's value."""
    skip = False
    for i, a in enumerate(argv):
        if skip:
            skip = False
        elif a.startswith("-"):
            skip = a in TOP_LEVEL_VALUE_OPTIONS
        else:
            return i
    return None


def default_task_argv(argv: list[str]) -> list[str]:
    """Rewrite ``benchmark`` arguments before parsing; returns the new argv.

    Inserts the default task when none is named (``sigvae benchmark --out X``) and maps
    ``benchmark TASK --task SUB`` (or ``--task=SUB``) to the task :data:`SUBTASKS` names,
    dropping the ``--task`` pair: ``benchmark separation --task spectrogram --profile tiny``
    → ``benchmark separation-spectrogram --profile tiny``.
    """
    from ..experiments import TASKS

    i = _command_index(argv)
    if not TASKS or i is None or argv[i] != "benchmark":
        return argv  # 'benchmark' elsewhere (``train vae --out benchmark``) is just a value
    rest = argv[i + 1 :]
    if not rest or rest[0] not in TASKS and rest[0] not in ("-h", "--help"):
        return argv[: i + 1] + [next(iter(TASKS))] + rest
    for j, a in enumerate(rest[1:], 1):
        if a == "--task" and j + 1 < len(rest):
            value, drop = rest[j + 1], 2
        elif a.startswith("--task="):
            value, drop = a.split("=", 1)[1], 1
        else:
            continue
        target = SUBTASKS.get((rest[0], value))
        if target:
            return argv[: i + 1] + [target] + rest[1:j] + rest[j + drop :]
        break
    return argv
