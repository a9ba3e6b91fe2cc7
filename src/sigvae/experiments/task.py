"""The one benchmark-task interface: a typed config with named profiles, a run step that
returns tidy results, and a report step, run the same way for every task.

A task package (``experiments/<task>/``) builds one :class:`Task` and exposes it as
``TASK``. Everything a task would otherwise write for itself lives here, once:

- settings: :func:`resolve_config` applies profile → ``--config`` file → flags (later wins),
  refuses unknown keys and wrong types (:func:`sigvae.config.from_dict`) and validates;
- flags: fields declared with :func:`setting` (``flag=True``) become command-line flags;
  ``sigvae.commands.benchmark`` generates them from the field's type, help text and default
  (argparse lives only in the command layer);
- the meaning of ``seeds`` (a count ``3`` = seeds 0, 1, 2, or a list ``0,4,7``) and of
  ``threads`` (CPU threads for torch and BLAS; 0 = the libraries' default);
- :func:`run_task`: the output-folder check, thread limits, staged output (nothing
  half-written), the report frame — a summary first (``#summary``), the task's own
  sections, the settings and machine last — ``results.json``/``.csv``, ``settings.json``,
  and the summary table printed on the terminal.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import check, from_dict, load_config_file, to_dict
from ..errors import ConfigError
from ..limits import thread_limit
from ..loggers import check_loggers, parse_loggers
from .common import machine_description, parse_list, parse_seeds

# ---------------------------------------------------------------------------------------
# settings


def setting(default: Any = dataclasses.MISSING, *, help: str, flag: bool | str = False,
            parse: Callable[[Any], Any] | None = None, repeat: bool = False, choices: Callable[[], list[str]] | list[str] | None = None,
            path: bool | Callable[[str, str, str, str], str] = False, metavar: str | None = None, default_factory: Callable[[], Any] | None = None) -> Any:
    """A config field with its help text, and, with ``flag``, a command-line flag.

    ``flag=True`` makes ``--field-name`` (``flag="--name"`` picks another spelling).
    ``parse`` turns the flag's text into the value (lists default to comma-separated
    items); ``choices`` (a list, or a function returning one, called when checked) limits
    a list's items; ``repeat`` makes a flag given several times (``parse`` then receives
    the list of texts); ``path`` marks a file or folder that a ``--config`` file gives relative
    to itself (and may not lead outside its folder); a function there resolves the file's
    value itself: ``path(value, config_file, key, flag)`` (a data spec that may also name a
    built-in source, say).
    """
    meta = {"help": help, "flag": flag, "parse": parse, "choices": choices, "path": path, "metavar": metavar,
            "repeat": repeat}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    if isinstance(default, (list, dict)):
        frozen = default
        return field(default_factory=lambda: _copy(frozen), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value):
    import copy

    return copy.deepcopy(value)


def seeds_setting(default: list[int]) -> Any:
    """The ``seeds`` field with a task's own default (the meaning is the same everywhere)."""
    return setting(default, flag=True, parse=parse_seeds, metavar="N|LIST",
                   help="a count (3 = seeds 0, 1, 2) or a list (0,4,7); each seed is a run of every model")


def threads_setting(default: int = 1) -> Any:
    """The ``threads`` field with a task's own default."""
    return setting(default, flag=True, help="CPU threads for torch and BLAS (0 = the libraries' default, all "
                                            "cores); these models are small, and extra threads on a shared machine slow them")


def loggers_setting() -> Any:
    """The ``logger`` field of tasks that keep each training run's folder: the experiment
    loggers (``sigvae.loggers``) each run writes into its folder's ``logs/``; none by default
    (the report and results files hold what the benchmark measured)."""
    from ..loggers import LOGGER_NAMES

    return setting([], flag=True, parse=parse_loggers, metavar="NAMES",
                   help="experiment loggers for every training run, written into the run's folder (logs/): "
                        f"{', '.join(LOGGER_NAMES)} (several separated by commas)")


def _check_logger_names(cfg: Any) -> None:
    """Validate a task config's ``logger`` names, and that their extras are installed, before
    anything runs."""
    cfg.logger = parse_loggers(cfg.logger)
    check_loggers(cfg.logger)


@dataclass
class TaskConfig:
    """Fields every benchmark config has; a task's config dataclass subclasses this.

    The field defaults are the task's ``default`` profile; other profiles override some.
    """

    profile: str = setting("default", help="settings preset")
    seeds: list[int] = seeds_setting([0])
    threads: int = threads_setting(1)

    def validate(self) -> None:
        """Raise :class:`~sigvae.errors.ConfigError` for empty, repeated or out-of-range seeds,
        a negative thread count or an unknown logger; a task's config checks its own fields
        after calling this."""
        check(len(self.seeds) > 0 and min(self.seeds) >= 0 and max(self.seeds) < 2**32,
              "seeds must be a non-empty list of integers in [0, 2^32)")
        check(len(set(self.seeds)) == len(self.seeds), f"seeds must be distinct, got {self.seeds}")
        check(self.threads >= 0, f"threads must be >= 0 (0 = all cores), got {self.threads}")
        if hasattr(self, "logger"):  # tasks that keep their runs' folders (loggers_setting)
            _check_logger_names(self)


@dataclass(frozen=True)
class Metric:
    """A measure the report and terminal name: ``key`` in the rows, ``label`` everywhere a
    reader sees it (table headers, chart axes), and which direction is better."""

    key: str
    label: str
    higher_is_better: bool = True


@dataclass
class TaskResults:
    """What a task's run step returns; the report step and the summary read only this.

    ``rows``: tidy rows ``{dataset, model, seed, metric, value[, ci_low, ci_high]}``.
    ``ran``: one line each of what ran (data, models, seeds, budget), for the summary.
    ``warnings``: what looked wrong (a collapsed posterior, a diverged run), one line each.
    ``findings``: what the task concludes beyond the table (whether a group of models
    separates from the rest, say), one line each: shown under the summary table and
    printed on the terminal after it.
    ``extras``: anything else the task's report step needs (models, codes, histories).
    ``dataset``: the data set's name (the report's title).
    """

    rows: list[dict]
    ran: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    extras: dict = field(default_factory=dict)
    dataset: str = ""
    seconds: float = 0.0


@dataclass
class RunContext:
    """Where and how a run step works.

    ``out``: the final output folder. ``stage``: the folder to write into (moved to ``out``
    when the run and report succeed); None for tasks with ``shared_output`` while they run
    (they write their runs into ``out`` themselves, each claimed through a lock).
    ``progress``: show the progress bar. ``fresh``: redo finished runs found in ``out``.
    """

    out: Path
    stage: Path | None
    progress: bool = True
    fresh: bool = False


@dataclass
class Task:
    """One benchmark: its settings, its run step and its report step.

    ``run(cfg, ctx) -> TaskResults``; ``report(cfg, results, report, folder)`` adds the task's
    own sections to ``report`` (an :class:`sigvae.report.html.Report`) and may write files
    into ``folder``; the summary before them and the settings after them are written here.
    ``headline``: the measures the summary ranks the models on. ``secondary``: measures the
    summary checks for separation but does not rank. ``reference``: a model others are
    compared with on ``recon_error`` (a model that reconstructs worse is flagged).
    ``shared_output``: several processes may run into one ``--out`` (their runs claimed by
    lock files); the output lock is then taken for the report only.
    ``reuses_runs``: finished runs found in ``--out`` are reused (the command offers ``--fresh``).
    ``prepare(values, given)``: adjusts the merged settings before they are checked
    (``given``: the keys a config file or a flag set explicitly).
    """

    name: str
    description: str
    config_class: type
    profiles: dict[str, dict]
    run: Callable[[Any, RunContext], TaskResults]
    report: Callable[..., None]
    headline: list[Metric]
    default_out: str
    title: str = ""
    secondary: list[Metric] = field(default_factory=list)
    reference: str | None = None
    shared_output: bool = False
    reuses_runs: bool = False
    #: Flags that take no value and set several settings: ``{"--full": (help, {"profile": "full"})}``.
    switches: dict[str, tuple[str, dict]] = field(default_factory=dict)
    prepare: Callable[[dict, set[str]], dict] | None = None

    def flag_fields(self) -> list[dataclasses.Field]:
        """The config fields that are command-line flags, in declaration order."""
        return [f for f in dataclasses.fields(self.config_class) if f.metadata.get("flag")]

    def labels(self) -> dict[str, str]:
        """Metric key → the label readers see."""
        return {m.key: m.label for m in [*self.headline, *self.secondary]}


def deferred(module: str, name: str) -> Callable[..., Any]:
    """A task step that imports ``module`` only when it is first called: a task package's
    ``__init__`` names its run and report steps this way, so importing it (``sigvae
    benchmark --help``) loads neither torch nor the task's heavy modules."""
    import importlib

    def step(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    step.__name__ = step.__qualname__ = f"{module}.{name}"
    return step


def flag_name(f: dataclasses.Field) -> str:
    """The command-line spelling of field ``f`` (``num_train`` → ``--num-train``)."""
    spelled = f.metadata.get("flag")
    return spelled if isinstance(spelled, str) else "--" + f.name.replace("_", "-")


def parse_flag(f: dataclasses.Field, text: str) -> Any:
    """Turn the text of field ``f``'s flag into its value (lists: comma-separated)."""
    parse = f.metadata.get("parse")
    if parse is not None:
        return parse(text)
    choices = f.metadata.get("choices")
    allowed = choices() if callable(choices) else choices
    origin = getattr(f.type, "__origin__", None) or (f.type if isinstance(f.type, type) else None)
    text_type = str(f.type)
    if origin is list or text_type.startswith("list"):
        items = parse_list(text, allowed, f.name.rstrip("s").replace("_", " "))
        if "float" in text_type:
            return [_number(x, float, f) for x in items]
        if "int" in text_type:
            return [_number(x, int, f) for x in items]
        return items
    if allowed is not None and text not in allowed:
        raise ConfigError(f"{flag_name(f)}: unknown value {text!r}; choose from {', '.join(allowed)}")
    return text


def _number(text: str, kind: type, f: dataclasses.Field):
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{flag_name(f)} takes {kind.__name__}s separated by commas, got {text!r}") from None


def resolve_config(task: Task, *, profile: str | None = None, config_file: str | None = None,
                   flags: dict[str, Any] | None = None):
    """The task's settings: the profile's values, then the ``--config`` file's, then flags.

    ``flags`` maps field names to values already parsed (None = not given). Unknown keys,
    wrong types and invalid values raise :class:`ConfigError` naming the key and where it
    came from. Returns an instance of ``task.config_class``.
    """
    file_values: dict = {}
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    if config_file:
        file_values = load_config_file(config_file)
        if not isinstance(file_values, dict):
            raise ConfigError(f"{config_file}: expected a mapping of benchmark settings")
        file_values = _file_paths(task, file_values, config_file, skip=set(given))
    chosen = profile or file_values.get("profile") or "default"
    if chosen not in task.profiles:
        raise ConfigError(f"unknown profile {chosen!r}; choose from {', '.join(task.profiles)}")
    values = {**_copy(task.profiles[chosen]), **file_values, **given, "profile": chosen}
    if task.prepare is not None:
        values = task.prepare(values, set(file_values) | set(given))
    return from_dict(task.config_class, values, where=config_file or "benchmark settings")


def _file_paths(task: Task, values: dict, config_file: str, skip: set[str] = frozenset()) -> dict:
    """Path settings of a config file, made relative to the file and kept inside its folder.

    A field whose ``path`` is a function resolves its value itself (called with the value,
    the config file, the key and the flag; e.g. a data spec that may be a built-in source
    name rather than a path). Keys in ``skip`` (given as flags, which win) are left as they are.
    """
    from ..config import config_path

    out = dict(values)
    for f in dataclasses.fields(task.config_class):
        resolve = f.metadata.get("path")
        if resolve and f.name not in skip and isinstance(out.get(f.name), str):
            resolve = resolve if callable(resolve) else config_path
            out[f.name] = resolve(out[f.name], config_file, f.name, flag_name(f))
    return out


# ---------------------------------------------------------------------------------------
# running


def run_task(task: Task, cfg, out: str | Path, *, progress: bool = True, fresh: bool = False,
             echo: Callable[[str], None] | None = print) -> TaskResults:
    """Run ``task`` with settings ``cfg`` into folder ``out``; returns its results.

    Writes ``report.html`` (summary first), ``results.json``/``.csv``, ``settings.json``
    and whatever the task adds; nothing is left half-written. ``echo`` prints the summary
    table at the end (None: print nothing).
    """
    from ..io import check_output_dir, staged_dir

    cfg.validate()
    out = check_output_dir(out)  # a folder the user made is refused before any work
    start = time.time()
    with thread_limit(cfg.threads):
        if task.shared_output:
            results = task.run(cfg, RunContext(out, None, progress, fresh))
            with staged_dir(out, wait=True) as stage:
                _write_outputs(task, cfg, results, stage, start)
                _remove_stale_media(out, stage)
        else:
            with staged_dir(out) as stage:
                results = task.run(cfg, RunContext(out, stage, progress, fresh))
                _write_outputs(task, cfg, results, stage, start)
                _remove_stale_media(out, stage)
    if echo is not None:
        from ..report.findings import summary_table

        echo(summary_table(results.rows, task.headline, title=f"{task.name}: {results.seconds:.0f} s"))
        for line in results.findings:
            echo(line)
        echo(f"report: {Path(out) / 'report.html'}#summary")
    return results


#: Folders of an output whose files belong to one report: figures and clips.
MEDIA_FOLDERS = ("figures", "audio")


def _remove_stale_media(out: Path, stage: Path) -> None:
    """Remove the figures and clips an earlier report left in ``out`` that this report (staged
    in ``stage``) did not write: they would sit beside the new report as if they belonged to
    it. Only files sigvae's manifest lists as its own are removed; called while the output's
    lock is held, so a process sharing ``out`` cannot be writing its report meanwhile."""
    from ..io import read_manifest

    written = {p.relative_to(stage) for p in stage.rglob("*") if p.is_file()}
    manifest = read_manifest(out)
    ours = set(map(str, manifest.get("files", []))) if manifest else set()
    for sub in MEDIA_FOLDERS:
        for p in (out / sub).glob("*") if (out / sub).is_dir() else []:
            rel = p.relative_to(out)
            if p.is_file() and not p.is_symlink() and rel not in written and str(rel) in ours:
                p.unlink()


def _write_outputs(task: Task, cfg, results: TaskResults, stage: Path, start: float) -> None:
    from ..io import write_json
    from ..report.findings import write_summary
    from ..report.html import Report
    from ..report.results import write_results

    results.seconds = time.time() - start
    report = Report(f"sigvae benchmark {task.name}: {results.dataset or task.title}", stage)
    write_summary(report, results.rows, task.headline, task.secondary, ran=results.ran,
                  warnings=results.warnings, seconds=results.seconds, reference=task.reference,
                  findings=results.findings)
    task.report(cfg, results, report, stage)
    settings_section(report, task, cfg)
    report.write()
    write_results(results.rows, stage)
    write_json(stage / "settings.json", to_dict(cfg))


def settings_section(report, task: Task, cfg) -> None:
    """The report's last section: every setting, how to rerun it, and the machine."""
    import json

    report.heading("Settings", anchor="settings")
    report.text(f"Profile '{cfg.profile}'. Rerun with: sigvae benchmark {task.name} --config settings.json "
                "--out DIR (settings.json is written beside this report).", note=True)
    items = [[k, json.dumps(v) if isinstance(v, (list, dict)) else str(v)] for k, v in to_dict(cfg).items()]
    items.append(["machine", machine_description()])
    report.table(["setting", "value"], items)
