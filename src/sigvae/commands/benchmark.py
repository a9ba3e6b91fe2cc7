"""``sigvae benchmark [TASK]``: run a registered benchmark (default: the first task, SynTone).

Some tasks are also reachable as a ``--task`` of another (:data:`SUBTASKS`):
``sigvae benchmark separation --task spectrogram`` runs ``separate`` with
that task's own options; ``--task bss`` (the default) runs the blind-source benchmark ``unmix``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib

from .common import HelpFormatter, add_command, add_progress_options, examples, show_progress


def add_parser(sub) -> None:
    from ..experiments import ALIASES, TASKS

    p = add_command(sub, "benchmark", "train, measure and report: " + ", ".join(TASKS),
                    description="Run a benchmark TASK: train and score its models over seeds and write an HTML "
                    "report with the results' tables. Without TASK: " + next(iter(TASKS), "none") + ". "
                    "Each task's options: 'sigvae benchmark TASK --help'.",
                    example=("sigvae benchmark --profile tiny --out runs/tiny",
                             "sigvae benchmark unmix --seeds 3 --out runs/unmix",
                             "sigvae benchmark syntone --help"))
    tasks = p.add_subparsers(dest="task", metavar="TASK")
    for name, module in TASKS.items():
        mod = importlib.import_module(module)
        task = getattr(mod, "TASK", None)
        if task is None:  # a task module of the older kind: its own flags and run(args)
            t = tasks.add_parser(name, help=mod.DESCRIPTION, description=mod.DESCRIPTION)
            mod.add_arguments(t)
            t.set_defaults(func=mod.run)
            continue
        t = tasks.add_parser(name, help=task.description, description=_sentence(task.description),
                             epilog=_task_examples(name, task), formatter_class=HelpFormatter)
        add_task_arguments(t, task)
        add_subtask_argument(t, name)
        t.set_defaults(func=lambda args, task=task: run_task_command(task, args))
        for old in [old for old, new in ALIASES.items() if new == name]:  # old names keep working, with a notice
            # no help=: a parser added without one is left out of the TASK list (help=SUPPRESS prints "==SUPPRESS==")
            a = tasks.add_parser(old, description=f"Old name of '{name}': {task.description}.",
                                 formatter_class=HelpFormatter)
            add_task_arguments(a, task)
            add_subtask_argument(a, old)
            a.set_defaults(func=lambda args, task=task, old=old: run_task_command(task, args, old_name=old))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _task_examples(name: str, task) -> str:
    lines = [f"sigvae benchmark {name} --out {task.default_out}"]
    quick = "tiny" if "tiny" in task.profiles else None
    if quick:
        lines.append(f"sigvae benchmark {name} --profile {quick} --out runs/{name}-{quick}")
    lines.append(f"sigvae benchmark {name} --seeds 3 --threads 2 --no-progress")
    return examples(*lines)


def add_subtask_argument(p: argparse.ArgumentParser, name: str) -> None:
    """``--task`` for a task name that :data:`SUBTASKS` maps: the rewrite before parsing drops
    the known values, so this documents them (``--help``) and refuses any other (exit 2)."""
    from ..experiments import ALIASES

    targets = {value: ALIASES.get(target, target) for (task, value), target in SUBTASKS.items() if task == name}
    if targets:
        p.add_argument("--task", dest="subtask", choices=list(targets),
                       help="; ".join(f"{v}: benchmark {t}" for v, t in targets.items()))


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return ""
    if value is None:  # "not given": the help text says what happens then
        return ""
    if isinstance(value, (dict, list)) and not value:
        return " (default: none)"
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f" (default: {value})"


def add_task_arguments(p: argparse.ArgumentParser, task) -> None:
    """The flags of one benchmark task: the shared ones, then one per flagged config field
    (help text and default from the field; the default is the ``default`` profile's)."""
    from ..experiments.task import flag_name

    p.add_argument("--out", default=task.default_out, metavar="DIR",
                   help=f"output folder: report.html, results.json/.csv, settings.json (default: {task.default_out})")
    p.add_argument("--profile", choices=list(task.profiles),
                   help="settings preset: " + ", ".join(task.profiles) + " (default: default)")
    p.add_argument("--config", metavar="FILE",
                   help="YAML/JSON file of benchmark settings (any config key); flags win over it (default: none)")
    add_progress_options(p)
    if task.reuses_runs:
        p.add_argument("--fresh", action="store_true",
                       help="redo every run even if --out holds matching finished ones (default: reuse them)")
    for f in task.flag_fields():
        help_text = f.metadata["help"].replace("%", "%%") + _default_text(f)
        if f.type in (bool, "bool"):
            p.add_argument(flag_name(f), dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
            continue
        if f.metadata.get("repeat"):  # given several times; the field's parser reads the list
            p.add_argument(flag_name(f), dest=f.name, default=None, metavar=f.metadata.get("metavar"),
                           action="append", help=help_text + " (repeatable)")
            continue
        p.add_argument(flag_name(f), dest=f.name, default=None, metavar=f.metadata.get("metavar"),
                       type=lambda text, f=f: _typed(f, text), help=help_text)
    for switch, (help_text, _values) in task.switches.items():
        p.add_argument(switch, action="store_true", help=help_text)


def _typed(f: dataclasses.Field, text: str):
    """argparse ``type`` for a config field: its parser's errors become usage errors (exit 2)."""
    from ..errors import ConfigError
    from ..experiments.task import parse_flag

    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    kind = kind.replace(" | None", "").replace("None | ", "")
    try:
        if kind in ("int", "float"):
            return {"int": int, "float": float}[kind](text)
        return parse_flag(f, text)
    except (ValueError, ConfigError) as e:
        raise argparse.ArgumentTypeError(str(e) if isinstance(e, ConfigError) else f"expected {kind}, got {text!r}") from None


def run_task_command(task, args: argparse.Namespace, old_name: str | None = None) -> int:
    """``sigvae benchmark TASK ...``: resolve the settings and run the task."""
    import sys

    from ..errors import ConfigError
    from ..experiments.task import parse_flag, resolve_config, run_task

    flags = {f.name: getattr(args, f.name, None) for f in task.flag_fields()}
    for f in task.flag_fields():
        if f.metadata.get("repeat") and flags[f.name] is not None:
            flags[f.name] = parse_flag(f, flags[f.name])
    profile = args.profile
    for switch, (_help, values) in task.switches.items():
        if getattr(args, switch.lstrip("-").replace("-", "_"), False):
            values = dict(values)
            if "profile" in values:
                if profile not in (None, values["profile"]):
                    raise ConfigError(f"{switch} is --profile {values['profile']}; it cannot be combined with --profile {profile}")
                profile = values.pop("profile")
            flags.update(values)
    cfg = resolve_config(task, profile=profile, config_file=args.config, flags=flags)
    if old_name is not None and not args.quiet:  # after the settings are checked: a bad one is still a one-line error
        print(f"sigvae: 'benchmark {old_name}' is now 'benchmark {task.name}'; the old name still works",
              file=sys.stderr)
    run_task(task, cfg, args.out, progress=show_progress(args), fresh=getattr(args, "fresh", False),
             echo=None if args.quiet else print)
    return 0


#: (task, --task value) → the registered task (or old name) that runs it. Every value is
#: rewritten before parsing; the named task's parser lists them under ``--task`` and refuses others.
SUBTASKS: dict[tuple[str, str], str] = {("separation", "spectrogram"): "separate",
                                        ("separation", "bss"): "separation"}  # old name of unmix, with its notice


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
    → ``benchmark separate --profile tiny``.
    """
    from ..experiments import TASKS

    i = _command_index(argv)
    if not TASKS or i is None or argv[i] != "benchmark":
        return argv  # 'benchmark' elsewhere (``train vae --out benchmark``) is just a value
    rest = argv[i + 1 :]
    # Only options follow: the default task. A word that names no task is left for the
    # parser, which refuses it with the closest task names.
    if not rest or rest[0].startswith("-") and rest[0] not in ("-h", "--help"):
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
