"""What a benchmark found, read from its tidy rows: the best model on each headline
measure and whether its lead exceeds the seed spread, and the warnings a reader needs
(a measure that separates no two models, a model that reconstructs worse than a reference).

Used by every task for the report's first screen (``#summary``) and the table printed on
the terminal, so both say the same thing.

The rule ("distinguishable"): model A is ahead of model B on a measure when the gap between
their means over seeds is larger than the sum of their standard deviations over seeds
(ddof 1). With one seed there is no spread and nothing is called distinguishable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .results import summarise


@dataclass
class Standing:
    """One measure (on one data set): the models in order, best first, and the verdict.

    ``order``: [(model, mean, std, n)], best first. ``leader_clear``: the best model's lead
    over the runner-up exceeds the seed spread. ``tied``: the models whose gap to the best
    is within the spread (the best included). ``separates``: some pair of models is
    distinguishable.
    """

    metric: str
    label: str
    dataset: str
    order: list[tuple[str, float, float, int]]
    leader_clear: bool
    tied: list[str]
    separates: bool
    seeds: int

    def verdict(self) -> str:
        """One phrase: who is best and whether that exceeds the seed spread."""
        if not self.order:
            return "not measured"
        if len(self.order) == 1:
            return f"only {self.order[0][0]} measured"
        if self.seeds < 2:
            return "one seed: no spread to judge the gaps by"
        if self.leader_clear:
            return f"{self.order[0][0]} best; its lead exceeds the seed spread"
        return "no model distinguishable from the best: " + ", ".join(self.tied)


def _apart(a: tuple, b: tuple) -> bool:
    """True when the means of a and b differ by more than the sum of their seed spreads."""
    if a[3] < 2 or b[3] < 2:
        return False
    return abs(a[1] - b[1]) > a[2] + b[2]


def standings(rows: list[dict], metrics: list) -> list[Standing]:
    """A :class:`Standing` per measure in ``metrics`` (objects with ``key``, ``label``,
    ``higher_is_better``) and data set, for the measures the rows hold."""
    summary = summarise(rows)
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    out = []
    for ds in datasets:
        for m in metrics:
            stats = [(s["model"], s["mean"], s["std"], s["n"]) for s in summary
                     if s["dataset"] == ds and s["metric"] == m.key and math.isfinite(s["mean"])]
            if not stats:
                continue
            stats.sort(key=lambda t: -t[1] if m.higher_is_better else t[1])
            seeds = min(t[3] for t in stats)
            clear = len(stats) > 1 and _apart(stats[0], stats[1])
            tied = [t[0] for t in stats if not _apart(stats[0], t)] if seeds >= 2 else [t[0] for t in stats]
            separates = any(_apart(a, b) for i, a in enumerate(stats) for b in stats[i + 1 :])
            out.append(Standing(m.key, m.label, ds, stats, clear, tied, separates, seeds))
    return out


def detected_warnings(rows: list[dict], metrics: list, reference: str | None = None,
                      recon_metric: str = "recon_error") -> list[str]:
    """Warnings read from the rows alone: measures that separate no two models (with at
    least two seeds and two models), and models whose mean ``recon_metric`` is worse
    (higher) than the ``reference`` model's beyond the seed spread."""
    found = []
    for s in standings(rows, metrics):
        if len(s.order) > 1 and s.seeds >= 2 and not s.separates:
            where = f" on {s.dataset}" if len({r['dataset'] for r in rows}) > 1 else ""
            found.append(f"{s.label}{where} separates no two models: every gap is within the seed spread.")
    if reference:
        from types import SimpleNamespace

        for s in standings(rows, [SimpleNamespace(key=recon_metric, label="recon. error", higher_is_better=False)]):
            ref = next((t for t in s.order if t[0] == reference), None)
            if ref is None:
                continue
            for t in s.order:
                if t[0] != reference and t[1] > ref[1] and (_apart(t, ref) or min(t[3], ref[3]) < 2):
                    found.append(f"{t[0]} reconstructs worse than {reference} "
                                 f"(reconstruction error {t[1]:.3g} against {ref[1]:.3g}).")
    return found


def _fmt(mean: float, std: float, n: int) -> str:
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def group_verdicts(rows: list[dict], metrics: list, group, name: str = "Weak supervision",
                   others: str = "unsupervised") -> list[str]:
    """One line per model of ``group`` found in the rows: whether it separates from every
    model outside the group on each measure of ``metrics``, i.e. is ahead of each of them by
    more than the sum of the two seed standard deviations (this module's rule), with its
    mean ± std and the best outside model's. No line where the rows hold no model of the
    group or none outside it; with fewer than two seeds the line says there is no spread.

    ``name``: what the group stands for ("Weak supervision"); ``others``: the adjective
    for the models outside it ("unsupervised").
    """
    group = set(group)
    found: dict[str, list[tuple[str, bool, tuple, tuple]]] = {}  # model → [(label, ahead, mine, best other)]
    seeds = {}
    multi = len({r["dataset"] for r in rows}) > 1
    for s in standings(rows, metrics):
        rest = [t for t in s.order if t[0] not in group]
        label = f"{s.label} ({s.dataset})" if multi else s.label
        for i, t in enumerate(s.order):
            if t[0] not in group or not rest:
                continue
            # Ahead of every outside model: before each in the order, and apart from each.
            ahead = all(s.order.index(r) > i and _apart(t, r) for r in rest)
            found.setdefault(t[0], []).append((label, ahead, t, rest[0]))
            seeds[t[0]] = min(seeds.get(t[0], s.seeds), s.seeds)
    lines = []
    for model, items in found.items():
        if seeds[model] < 2:
            lines.append(f"{name}: one seed, so no spread to judge {model} against the {others} models by.")
            continue
        parts = [f"{label} ({_fmt(*mine[1:])}; best {others}: {best[0]} {_fmt(*best[1:])})"
                 for label, _, mine, best in items]
        yes = [p for p, it in zip(parts, items) if it[1]]
        no = [p for p, it in zip(parts, items) if not it[1]]
        if not no:
            lines.append(f"{name} separates from the {others} models: {model} is ahead of every one of them "
                         f"beyond the seed spread on {' and '.join(yes)}.")
        elif not yes:
            lines.append(f"{name} does not separate from the {others} models: {model} is not ahead of every one "
                         f"of them beyond the seed spread on {' nor on '.join(no)}.")
        else:
            lines.append(f"{name} separates from the {others} models on some measures only: {model} is ahead of "
                         f"every one of them beyond the seed spread on {' and '.join(yes)}, but not on {' nor on '.join(no)}.")
    return lines


def summary_rows(rows: list[dict], headline: list) -> list[list[str]]:
    """Table rows [measure, best model, its mean ± std, runner-up, verdict] for ``headline``."""
    table = []
    multi = len({r["dataset"] for r in rows}) > 1
    for s in standings(rows, headline):
        best = s.order[0]
        second = s.order[1] if len(s.order) > 1 else None
        label = f"{s.label} ({s.dataset})" if multi else s.label
        table.append([label, best[0], _fmt(best[1], best[2], best[3]),
                      f"{second[0]} {_fmt(second[1], second[2], second[3])}" if second else "—", s.verdict()])
    return table


SUMMARY_HEADER = ["measure", "best", "mean ± std over seeds", "runner-up", "verdict"]


def write_summary(report, rows: list[dict], headline: list, secondary: list | None = None, *,
                  ran: list[str] | None = None, warnings: list[str] | None = None,
                  seconds: float | None = None, reference: str | None = None,
                  findings: list[str] | None = None) -> list[str]:
    """Add the summary section (anchor ``summary``) to ``report``; returns the warnings shown.

    ``ran``: lines saying what ran; ``findings``: the task's conclusions beyond the table
    (:func:`group_verdicts`, say), shown under it; ``warnings``: the task's own (a collapsed
    posterior...), to which the row-based ones of :func:`detected_warnings` are added.
    """
    report.heading("Summary", anchor="summary")
    lines = list(ran or [])
    if seconds is not None:
        lines.append(f"Wall time: {seconds:.0f} s.")
    if lines:
        report.bullets(lines)
    report.table(SUMMARY_HEADER, summary_rows(rows, headline),
                 caption="Best model per headline measure. A lead counts when the gap between two means "
                         "exceeds the sum of their standard deviations over seeds.")
    if findings:
        report.bullets(list(findings))
    shown = list(warnings or []) + detected_warnings(rows, [*headline, *(secondary or [])], reference)
    report.heading("What looked wrong", level=3)
    report.bullets(shown or ["None of the checks fired: no collapsed posterior, no model reconstructing worse than "
                             "the reference, no headline measure that separates no two models (with two or more seeds)."])
    return shown


def summary_table(rows: list[dict], headline: list, title: str = "") -> str:
    """The summary as plain text for the terminal: the same rows as the report's table."""
    table = [SUMMARY_HEADER, *summary_rows(rows, headline)]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(SUMMARY_HEADER))]
    lines = [title] if title else []
    for j, r in enumerate(table):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
