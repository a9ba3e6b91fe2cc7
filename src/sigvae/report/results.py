"""Tidy result rows: ``{"dataset", "model", "seed", "metric", "value"}`` plus optional extras."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..io import write_csv, write_json

KEYS = ["dataset", "model", "seed", "metric", "value"]
#: Interval columns, written right after ``value`` in this order (low, then high).
INTERVAL_KEYS = ["ci_low", "ci_high"]


def row(dataset: str, model: str, seed: int | None, metric: str, value: float, **extra) -> dict:
    """One tidy row; ``value`` is stored as a float (NaN for a failed measurement)."""
    v = float(value) if value is not None else math.nan
    return {"dataset": dataset, "model": model, "seed": seed, "metric": metric, "value": v, **extra}


def write_results(rows: list[dict], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.csv`` atomically into ``out_dir``."""
    out_dir = Path(out_dir)
    extra = {k for r in rows for k in r} - set(KEYS)
    cols = KEYS + [k for k in INTERVAL_KEYS if k in extra] + sorted(extra - set(INTERVAL_KEYS))
    clean = [{k: (None if isinstance(r.get(k), float) and not math.isfinite(r[k]) else r.get(k)) for k in cols} for r in rows]
    return write_json(out_dir / "results.json", clean), write_csv(out_dir / "results.csv", clean, cols)


def read_results(path: str | Path) -> list[dict]:
    """Read rows from a ``results.json`` (None values come back as NaN)."""
    rows = json.loads(Path(path).read_text())
    for r in rows:
        if r.get("value") is None:
            r["value"] = math.nan
    return rows


def summarise(rows: list[dict], by: tuple[str, ...] = ("dataset", "model", "metric")) -> list[dict]:
    """Group rows and return mean, std (ddof 1 where n > 1), median, min, max and n per group."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        groups[tuple(r.get(k) for k in by)].append(float(r["value"]))
    out = []
    for key, vals in groups.items():
        a = np.asarray([v for v in vals if math.isfinite(v)])
        stats = {
            "mean": float(a.mean()) if a.size else math.nan,
            "std": float(a.std(ddof=1)) if a.size > 1 else 0.0 if a.size else math.nan,
            "median": float(np.median(a)) if a.size else math.nan,
            "min": float(a.min()) if a.size else math.nan,
            "max": float(a.max()) if a.size else math.nan,
            "n": int(a.size),
        }
        out.append({**dict(zip(by, key)), **stats})
    return out


def pivot(summary: list[dict], row_key: str = "model", col_key: str = "metric", fmt: str = "{mean:.3f} ± {std:.3f}") -> tuple[list[str], list[str], dict]:
    """Arrange a summary as a table: (row labels, column labels, {(row, col): text})."""
    rows_, cols_ = [], []
    cells = {}
    for s in summary:
        r, c = s[row_key], s[col_key]
        if r not in rows_:
            rows_.append(r)
        if c not in cols_:
            cols_.append(c)
        cells[(r, c)] = fmt.format(**s) if math.isfinite(s["mean"]) else "n/a"
    return rows_, cols_, cells
