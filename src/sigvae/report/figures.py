"""Figures as matplotlib ``Figure`` objects, made without pyplot.

Nothing here touches pyplot or the process's matplotlib backend: a ``Figure`` made
directly draws through its own canvas when saved, is never shown on screen and needs no
closing (it is freed with its last reference). So importing this module in a notebook
keeps the notebook's backend (inline plots) as it was.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs):
    """``pyplot.subplots`` without pyplot: ``(fig, axes)`` for a new, unmanaged ``Figure``."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _show(ax, feat: np.ndarray, title: str | None = None) -> None:
    f = np.asarray(feat)
    f = f[0] if f.ndim == 3 else f  # first channel
    if f.ndim == 2:
        # One colour scale for every panel (features: 0 = floor, 1 = full scale) so panels compare.
        ax.imshow(f, origin="lower", aspect="auto", cmap="magma", vmin=0.0, vmax=max(1.0, float(np.max(f))))
    else:
        ax.plot(np.asarray(f).ravel(), lw=0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def feature_grid(rows: list[np.ndarray], row_labels: list[str], col_labels: list[str] | None = None, title: str = ""):
    """A grid of spectrograms or waveforms: ``rows[i]`` is [N, ...] features for row i."""
    n_rows, n_cols = len(rows), len(rows[0])
    fig, axes = subplots(n_rows, n_cols, figsize=(1.6 * n_cols + 0.6, 1.4 * n_rows + 0.4), squeeze=False)
    for i, feats in enumerate(rows):
        for j in range(n_cols):
            _show(axes[i, j], feats[j], col_labels[j] if (col_labels and i == 0) else None)
        axes[i, 0].set_ylabel(row_labels[i], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def traversal_grid(values: np.ndarray, feats: np.ndarray, title: str = ""):
    """Latent traversal: ``feats`` [D, steps, ...]; row d varies latent d over ``values``."""
    d, steps = feats.shape[:2]
    return feature_grid([feats[i] for i in range(d)], [f"z{i}" for i in range(d)], [f"{v:+.1f}" for v in values], title)


def loss_curves(histories: dict[str, list[dict]], keys: tuple[str, ...] = ("train/loss", "val/loss"), title: str = "Loss"):
    """One line per (run, key) over epochs; ``histories`` maps a label to a training history."""
    fig, ax = subplots(figsize=(6, 3.5))
    for label, hist in histories.items():
        for k in keys:
            ep = [h["epoch"] for h in hist if k in h]
            if ep:
                ax.plot(ep, [h[k] for h in hist if k in h], marker=".", label=f"{label} {k.split('/')[0]}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def metric_bars(summary: list[dict], metrics: list[str], models: list[str], title: str = ""):
    """Grouped bars: mean ± std per model for each metric (``summary`` from report.summarise)."""
    fig, ax = subplots(figsize=(max(6, 1.1 * len(metrics) * len(models) / 3), 3.6))
    width = 0.8 / max(1, len(models))
    look = {(s["model"], s["metric"]): s for s in summary}
    for i, m in enumerate(models):
        means = [look.get((m, k), {}).get("mean", np.nan) for k in metrics]
        stds = [look.get((m, k), {}).get("std", 0.0) for k in metrics]
        ax.bar(np.arange(len(metrics)) + i * width, means, width, yerr=stds, label=m, capsize=2)
    ax.set_xticks(np.arange(len(metrics)) + width * (len(models) - 1) / 2)
    ax.set_xticklabels(metrics, rotation=20, fontsize=8)
    ax.legend(fontsize=7, ncol=3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def heatmap(matrix: np.ndarray, row_labels: list[str], col_labels: list[str], title: str = "", cmap: str = "viridis"):
    """An annotated heat map, e.g. mutual information latent × factor."""
    m = np.asarray(matrix)
    fig, ax = subplots(figsize=(1.0 + 0.9 * m.shape[1], 0.8 + 0.35 * m.shape[0]))
    im = ax.imshow(m, cmap=cmap, aspect="auto")
    ax.set_xticks(range(m.shape[1]))
    ax.set_xticklabels(col_labels, fontsize=8)
    ax.set_yticks(range(m.shape[0]))
    ax.set_yticklabels(row_labels, fontsize=8)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w" if m[i, j] < m.max() / 2 else "k")
    fig.colorbar(im, ax=ax)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


#: Figures meant to fill the report's width are drawn this wide: 10 inches at the report's
#: 110 dpi is its 1,100 px page, so a 9-point label stays about 14 px tall on screen.
PAGE_WIDTH_INCHES = 10.0


def metric_panels(summary: list[dict], metrics: list, models: list[str], title: str = "", per_row: int = 4):
    """Small multiples: one panel per metric, each with its own axis, a horizontal bar per
    model (mean over seeds) and its seed standard deviation as an error bar.

    ``metrics``: objects with ``key`` and ``label`` (:class:`sigvae.experiments.task.Metric`)
    or ``(key, label)`` pairs; the panels are titled with the labels the tables use.
    ``summary``: rows of :func:`sigvae.report.results.summarise`. Returns the Figure.
    """
    pairs = [(m.key, m.label) if hasattr(m, "key") else tuple(m) for m in metrics]
    look = {(s["model"], s["metric"]): s for s in summary}
    cols = min(per_row, max(1, len(pairs)))
    rows = -(-len(pairs) // cols)
    height = 0.45 + 0.28 * len(models)
    fig, axes = subplots(rows, cols, figsize=(PAGE_WIDTH_INCHES, rows * height + 0.6), squeeze=False)
    y = np.arange(len(models))
    for n, (key, label) in enumerate(pairs):
        ax = axes[n // cols, n % cols]
        means = np.array([look.get((m, key), {}).get("mean", np.nan) for m in models], dtype=float)
        stds = np.array([look.get((m, key), {}).get("std", 0.0) for m in models], dtype=float)
        ax.barh(y, np.nan_to_num(means), xerr=np.nan_to_num(stds), color=[f"C{i}" for i in range(len(models))], capsize=2)
        ax.set_yticks(y)
        ax.set_yticklabels(models if n % cols == 0 else [], fontsize=9)
        ax.invert_yaxis()
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    for n in range(len(pairs), rows * cols):
        axes[n // cols, n % cols].axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def heatmap_grid(matrices: dict[str, np.ndarray], row_labels: list[str], col_labels: list[str], title: str = "",
                 vmin: float | None = None, vmax: float | None = None, per_row: int = 3, cmap: str = "viridis"):
    """Annotated heat maps side by side on one colour scale, with one shared colour bar.

    ``matrices``: panel title → [R, C] array (every one the same shape, e.g. latent × factor
    mutual information). ``vmin``/``vmax`` default to the smallest and largest value over
    all panels, so equal colours mean equal values across panels. Returns the Figure.
    """
    arrays = {k: np.asarray(v, dtype=float) for k, v in matrices.items()}
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays.values()] or [np.zeros(1)])
    lo = float(finite.min()) if vmin is None and finite.size else (vmin if vmin is not None else 0.0)
    hi = float(finite.max()) if vmax is None and finite.size else (vmax if vmax is not None else 1.0)
    hi = hi if hi > lo else lo + 1.0
    cols = min(per_row, max(1, len(arrays)))
    rows = -(-len(arrays) // cols)
    shape = next(iter(arrays.values())).shape if arrays else (1, 1)
    height = 0.9 + 0.3 * shape[0]
    fig, axes = subplots(rows, cols, figsize=(PAGE_WIDTH_INCHES, rows * height + 0.5), squeeze=False)
    im = None
    for n, (name, m) in enumerate(arrays.items()):
        ax = axes[n // cols, n % cols]
        im = ax.imshow(m, cmap=cmap, aspect="auto", vmin=lo, vmax=hi)
        ax.set_xticks(range(m.shape[1]))
        ax.set_xticklabels(col_labels, fontsize=8)
        ax.set_yticks(range(m.shape[0]))
        ax.set_yticklabels(row_labels if n % cols == 0 else [], fontsize=8)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="w" if m[i, j] < (lo + hi) / 2 else "k")
        ax.set_title(name, fontsize=10)
    for n in range(len(arrays), rows * cols):
        axes[n // cols, n % cols].axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8)
    return fig


def unmix_figure(mixtures: np.ndarray, estimate: np.ndarray, sources: np.ndarray | None, sample_rate: int,
                 max_samples: int = 2000):
    """Blind source separation at a glance: three panels of stacked traces, the mixtures,
    the references (if known) and the estimates (matched to the references' order and sign)."""
    from ..metrics import match_sources

    n = min(max_samples, mixtures.shape[1])
    t = np.arange(n) / sample_rate
    est = estimate
    if sources is not None and estimate.shape[0] >= sources.shape[0]:
        perm = match_sources(sources, estimate)
        sign = np.sign([np.corrcoef(sources[i], estimate[j])[0, 1] or 1.0 for i, j in enumerate(perm)])
        rest = [j for j in range(estimate.shape[0]) if j not in set(perm.tolist())]
        est = np.concatenate([estimate[perm] * sign[:, None], estimate[rest]])
    panels = [("mixtures", mixtures)] + ([("references", sources)] if sources is not None else []) + [("estimates", est)]
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 0.5 + 0.9 * max(p[1].shape[0] for p in panels)),
                             squeeze=False)
    for ax, (title, sig) in zip(axes[0], panels):
        for i, trace in enumerate(sig):
            r = trace[:n] - trace[:n].mean()
            ax.plot(t, r / (np.abs(r).max() + 1e-12) * 0.45 - i, lw=0.6)
        ax.set_yticks(-np.arange(sig.shape[0]))
        ax.set_yticklabels([f"{title[0]}{i}" for i in range(sig.shape[0])], fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("seconds", fontsize=8)
    fig.tight_layout()
    return fig
