"""Pairs of observations that share all but ``k`` factors, for weakly supervised models
(Locatello et al., ICML 2020, "Weakly-Supervised Disentanglement Without Compromises").

A pair is (x1, x2) whose factor rows v1, v2 differ in exactly ``k`` factors, with ``k``
drawn uniformly from 1..K−1 by default (at least one factor is always shared, as in the
paper) or fixed. Which factors differ is not given to the model.

Two ways to get the second observation:

- from a :class:`~sigvae.data.base.GroundTruthSource` (SynTone, SimVowels): choose the
  ``k`` factors to change, draw new values for exactly those (each different from v1's
  value) and render x2 (:func:`pairs_from_source`);
- from a users' data set with a factor table (a :class:`~sigvae.data.base.SignalSet` with
  ``factors``, from an .npz or an audio folder with factors.csv): for each row, a partner
  row that differs from it in exactly the chosen factors (:func:`pairs_from_table`); a
  table with no such rows at all is refused with a :class:`~sigvae.errors.DataError`.

Both give a :class:`PairDataset` yielding ``{"x": [C, T], "x2": [C, T], "factors": [K],
"factors2": [K], "k": int, "index": int}``; the pairs are fixed at construction, drawn
from ``seed`` (the same seed gives the same pairs).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .base import GroundTruthSource, SignalSet


class PairDataset(Dataset):
    """Pairs of rows of ``data``: items ``{"x", "x2", "factors", "factors2", "k", "index"}``.

    ``first``/``second``: row indices [P] of the two observations of each pair; ``k``: the
    number of factors in which they differ [P]. ``index`` is the pair's position.
    """

    def __init__(self, data: SignalSet, first: np.ndarray, second: np.ndarray, k: np.ndarray):
        if data.factors is None:
            raise DataError(f"{data.name}: pairs need factors")
        self.data = data
        self.first, self.second = np.asarray(first, np.int64), np.asarray(second, np.int64)
        self.k = np.asarray(k, np.int64)
        self._x = torch.from_numpy(data.signals)
        self._f = torch.from_numpy(data.factors)

    def __len__(self) -> int:
        return int(len(self.first))

    def __getitem__(self, i: int) -> dict:
        a, b = int(self.first[i]), int(self.second[i])
        return {"x": self._x[a], "x2": self._x[b], "factors": self._f[a], "factors2": self._f[b],
                "k": int(self.k[i]), "index": i}


def _check_k(k: int | None, num_factors: int, what: str) -> None:
    if num_factors < 2:
        raise DataError(f"{what}: pairs sharing all but k factors need at least 2 factors, got {num_factors}")
    if k is not None and not 1 <= k <= num_factors - 1:
        raise DataError(f"{what}: k (factors changed per pair) must be in 1..{num_factors - 1}, got {k}")


def change_factors(factors: np.ndarray, sizes: list[int], rng: np.random.Generator,
                   k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each factor row v1 [n, K], a row v2 differing in exactly ``k`` factors.

    ``k`` None: drawn per row from 1..K−1, so at least one factor is shared. Only factors
    with more than one value can change: with K' of them, ``k`` ≤ K' (a constant factor is
    shared anyway). The changed factors are chosen uniformly,
    each new value uniformly among the factor's other values. Returns (v2 [n, K] int64, k [n]).
    """
    f1 = np.asarray(factors, dtype=np.int64)
    n, num = f1.shape
    sizes = np.asarray(sizes, dtype=np.int64)
    _check_k(k, num, "pairs")
    changeable = np.flatnonzero(sizes > 1)
    # With a constant factor, changing every other one still keeps a factor shared.
    top = len(changeable) if len(changeable) < num else num - 1
    if top < 1 or (k is not None and k > top):
        raise DataError(f"pairs: cannot change {k or 1} factors; only {len(changeable)} of {num} take more than one value")
    f2 = f1.copy()
    ks = np.full(n, k, dtype=np.int64) if k is not None else rng.integers(1, top + 1, size=n)
    for i in range(n):
        chosen = rng.choice(changeable, size=int(ks[i]), replace=False)
        # An offset in 1..size−1 modulo the size: a different value, uniform among the others.
        f2[i, chosen] = (f1[i, chosen] + rng.integers(1, sizes[chosen])) % sizes[chosen]
    return f2, ks


def pairs_from_source(source: GroundTruthSource, seed: int, anchors: SignalSet | None = None, n: int | None = None,
                      k: int | None = None) -> PairDataset:
    """Pairs whose second observation is rendered by ``source``.

    ``anchors``: the first observations (clips drawn from ``source``, with their factors);
    without them ``n`` are drawn from ``seed`` first. The second observations change exactly
    ``k`` factors of each anchor (:func:`change_factors`) and are rendered with a generator
    seeded from ``seed``. Returns a :class:`PairDataset` of ``len(anchors)`` pairs.
    """
    if anchors is None:
        if n is None or n < 1:
            raise DataError(f"{source.name}: pairs need n >= 1 anchors, got {n}")
        anchors = source.signal_set(n, seed)
    if anchors.factors is None or anchors.factors.shape[1] != source.num_factors:
        raise DataError(f"{source.name}: anchors must carry the source's {source.num_factors} factors")
    rng = np.random.default_rng([seed, 0x9A125])
    f2, ks = change_factors(anchors.factors, source.factor_sizes, rng, k)
    x2 = source.sample_observations_from_factors(f2, rng)
    m = len(anchors)
    both = SignalSet(np.concatenate([anchors.signals, x2]), anchors.sample_rate, np.concatenate([anchors.factors, f2]),
                     list(anchors.factor_names), list(anchors.factor_sizes), anchors.name)
    return PairDataset(both, np.arange(m), np.arange(m, 2 * m), ks)


def _partners(f: np.ndarray, groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]], a: int) -> np.ndarray:
    """Rows whose factors share at least one value with row ``a``'s but not all of them
    (``groups``: per factor, the row order sorting it and the sorted values)."""
    found = []
    for j, (order, values) in enumerate(groups):
        lo, hi = np.searchsorted(values, f[a, j], "left"), np.searchsorted(values, f[a, j], "right")
        found.append(order[lo:hi])
    rows = np.unique(np.concatenate(found))
    return rows[(f[rows] != f[a]).any(1)]


def pairs_from_table(data: SignalSet, seed: int, k: int | None = None) -> PairDataset:
    """One pair per row of ``data`` that has a partner: a row differing from it in exactly
    the chosen factors.

    Per row (drawn from ``seed``): ``k`` uniformly from 1..K−1 (or the given ``k``); the
    changed factors uniformly among the sets of ``k`` factors that some row realises; the
    partner uniformly among the rows differing in exactly those. Where no row differs in
    ``k`` factors, ``k`` is drawn among the numbers some partner has (with ``k`` given, the
    row is left out). The item's ``k`` is the number actually changed. DataError when no
    row has a partner (no two rows share some but not all factor values) or there are no factors.
    """
    if data.factors is None:
        raise DataError(f"{data.name}: weakly supervised training needs a factor table ('factors' in the .npz, "
                        "factors.csv beside the audio); this data has none")
    f = data.factors
    num = f.shape[1]
    _check_k(k, num, data.name)
    groups = []
    for j in range(num):
        order = np.argsort(f[:, j], kind="stable")
        groups.append((order, f[order, j]))
    rng = np.random.default_rng([seed, 0x7AB1E])
    first, second, ks = [], [], []
    for a in range(len(f)):
        rows = _partners(f, groups, a)
        want = int(rng.integers(1, num)) if k is None else k
        if len(rows) == 0:
            continue
        diff = f[rows] != f[a]
        dist = diff.sum(1)
        if not (dist == want).any():
            if k is not None:
                continue
            want = int(rng.choice(np.unique(dist)))
        rows, diff = rows[dist == want], diff[dist == want]
        masks, which = np.unique(diff, axis=0, return_inverse=True)
        chosen = int(rng.integers(len(masks)))
        pool = rows[np.asarray(which).reshape(-1) == chosen]
        first.append(a)
        second.append(int(pool[rng.integers(len(pool))]))
        ks.append(want)
    if not first:
        need = f"differ in exactly {k} factors" if k is not None else "share some factor values but not all"
        raise DataError(f"{data.name}: no two rows of the factor table {need}; weakly supervised pairs cannot be formed")
    return PairDataset(data, np.array(first), np.array(second), np.array(ks))


def pair_dataset(data: SignalSet, source: GroundTruthSource | None, seed: int, k: int | None = None) -> PairDataset:
    """Pairs for ``data``: rendered by ``source`` when there is one, else found in its factor table."""
    if source is not None:
        return pairs_from_source(source, seed, anchors=data, k=k)
    return pairs_from_table(data, seed, k=k)


__all__ = ["PairDataset", "change_factors", "pairs_from_source", "pairs_from_table", "pair_dataset"]
