"""Data containers and the ground-truth source interface.

Shapes used throughout sigvae:
- a *signal set* holds ``signals`` float32 [N, C, T] (N examples, C channels, T samples),
  a sample rate in Hz, and optionally integer ``factors`` [N, K] with ``factor_names``;
- a *ground-truth source* (after disentanglement_lib's ``GroundTruthData``) can sample
  factor combinations and render observations for given factors, so interventional
  metrics can hold one factor fixed and vary the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from ..limits import available_memory, check_allocation, check_sample_rate  # noqa: F401  (re-exported)


@dataclass
class SignalSet:
    """Signals with optional ground-truth factors.

    Attributes:
        signals: float32 array [N, C, T].
        sample_rate: samples per second (Hz).
        factors: int64 array [N, K] of factor indices, or None.
        factor_names: K names, one per factor column.
        factor_sizes: K numbers of distinct values per factor (max index + 1 if unknown).
        name: a short label for reports (for example ``"syntone"`` or a file name).
    """

    signals: np.ndarray
    sample_rate: int
    factors: np.ndarray | None = None
    factor_names: list[str] = field(default_factory=list)
    factor_sizes: list[int] = field(default_factory=list)
    name: str = "signals"

    def __post_init__(self) -> None:
        s = np.asarray(self.signals)
        if s.ndim == 2:
            s = s[:, None, :]
        if s.ndim != 3:
            raise DataError(f"{self.name}: signals must be [N, T] or [N, C, T], got shape {s.shape}")
        if s.shape[0] == 0 or s.shape[-1] == 0:
            raise DataError(f"{self.name}: signals are empty (shape {s.shape})")
        if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
            raise DataError(f"{self.name}: signals must be real numbers, got dtype {s.dtype}")
        s = s.astype(np.float32, copy=False)
        if not np.all(np.isfinite(s)):
            bad = int(np.argwhere(~np.isfinite(s).all(axis=(1, 2)))[0, 0])
            raise DataError(f"{self.name}: signals contain NaN or inf (first in example {bad})")
        self.signals = s
        self.sample_rate = check_sample_rate(self.sample_rate, self.name)
        if self.factors is not None:
            f = np.asarray(self.factors)
            if f.ndim == 1:
                f = f[:, None]
            if f.ndim != 2:
                raise DataError(f"{self.name}: factors must be [N, K], got shape {f.shape}")
            if f.shape[1] == 0:
                raise DataError(f"{self.name}: factors have no columns (shape {f.shape}); leave 'factors' out instead")
            if f.shape[0] != s.shape[0]:
                raise DataError(
                    f"{self.name}: {f.shape[0]} factor rows for {s.shape[0]} signals; they must match"
                )
            if not np.issubdtype(f.dtype, np.integer):
                if np.issubdtype(f.dtype, np.floating) and np.all(np.isfinite(f)) and np.all(f == np.round(f)):
                    f = f.astype(np.int64)
                else:
                    raise DataError(f"{self.name}: factors must be integers, got dtype {f.dtype}")
            if f.min() < 0:
                raise DataError(f"{self.name}: factors must be non-negative indices")
            self.factors = f.astype(np.int64)
            k = f.shape[1]
            if not self.factor_names:
                self.factor_names = [f"factor_{i}" for i in range(k)]
            if len(self.factor_names) != k:
                raise DataError(f"{self.name}: {len(self.factor_names)} factor names for {k} factors")
            if not self.factor_sizes:
                self.factor_sizes = [int(c) + 1 for c in f.max(axis=0)]

    def __len__(self) -> int:
        return int(self.signals.shape[0])

    @property
    def channels(self) -> int:
        """Channels C of every signal (``signals`` is [N, C, T])."""
        return int(self.signals.shape[1])

    @property
    def length(self) -> int:
        """Samples T of every signal (``signals`` is [N, C, T])."""
        return int(self.signals.shape[2])

    def subset(self, index: np.ndarray) -> SignalSet:
        """Return the examples at ``index`` (a new SignalSet sharing names and sizes)."""
        return SignalSet(
            self.signals[index],
            self.sample_rate,
            None if self.factors is None else self.factors[index],
            list(self.factor_names),
            list(self.factor_sizes),
            self.name,
        )

    def split(self, val_fraction: float, seed: int) -> tuple[SignalSet, SignalSet]:
        """Shuffle with ``seed`` and split into (train, validation); validation gets ≥ 1 example."""
        n = len(self)
        if n < 2:
            raise DataError(f"{self.name}: need at least 2 examples to make a validation split, got {n}")
        perm = np.random.default_rng(seed).permutation(n)
        n_val = min(n - 1, max(1, int(round(n * val_fraction))))
        return self.subset(np.sort(perm[n_val:])), self.subset(np.sort(perm[:n_val]))


class SignalDataset(Dataset):
    """A torch Dataset over a SignalSet: items are ``{"x": [C, T], "factors": [K], "index"}``."""

    def __init__(self, data: SignalSet):
        self.data = data
        self._x = torch.from_numpy(data.signals)
        self._f = None if data.factors is None else torch.from_numpy(data.factors)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict:
        item = {"x": self._x[i], "index": i}
        if self._f is not None:
            item["factors"] = self._f[i]
        return item


class GroundTruthSource(ABC):
    """A generator whose every observation comes from known, discrete factors of variation.

    Subclasses set ``factor_names``, ``factor_sizes``, ``sample_rate``, ``channels`` and
    ``length`` and implement :meth:`sample_observations_from_factors`.
    """

    name: str = "source"
    factor_names: list[str]
    factor_sizes: list[int]
    sample_rate: int
    channels: int = 1
    length: int
    #: Bytes alive per rendered value while :meth:`sample` runs (float64 work arrays and the
    #: float32 result), checked against the memory budget before rendering.
    bytes_per_value: int = 20

    @property
    def num_factors(self) -> int:
        """Number K of factors of variation."""
        return len(self.factor_sizes)

    @property
    def num_points(self) -> int:
        """Number of distinct factor combinations."""
        return int(np.prod(self.factor_sizes, dtype=np.int64))

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Return n factor combinations drawn uniformly, int64 [n, K]."""
        return np.stack([rng.integers(0, s, size=n) for s in self.factor_sizes], axis=1).astype(np.int64)

    @abstractmethod
    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Render one observation per factor row: float32 [n, C, T]."""

    def render_tensor(self, factors: np.ndarray, rng: np.random.Generator, device: str | torch.device) -> torch.Tensor:
        """Like :meth:`sample_observations_from_factors`, as a float32 tensor [n, C, T] on
        ``device``. This default renders with NumPy and copies; a source that can render on
        an accelerator overrides it (drawing the same random numbers from ``rng``)."""
        return torch.from_numpy(np.ascontiguousarray(self.sample_observations_from_factors(factors, rng))).to(device)

    def on_device(self, device: str | torch.device) -> DeviceSource:
        """This source with observations rendered as tensors on ``device`` (see :class:`DeviceSource`)."""
        return DeviceSource(self, device)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return (factors [n, K], observations [n, C, T])."""
        check_allocation(f"{self.name}: {n} examples", (n, self.channels, self.length), self.bytes_per_value)
        f = self.sample_factors(n, rng)
        return f, self.sample_observations_from_factors(f, rng)

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        """Map factor rows [n, K] to flat indices [n] in C order (last factor fastest)."""
        factors = np.asarray(factors, dtype=np.int64)
        return np.ravel_multi_index(tuple(factors.T), tuple(self.factor_sizes))

    def index_to_factors(self, index: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`factors_to_index`: flat indices [n] → factor rows [n, K]."""
        return np.stack(np.unravel_index(np.asarray(index), tuple(self.factor_sizes)), axis=1).astype(np.int64)

    def signal_set(self, n: int, seed: int) -> SignalSet:
        """Draw ``n`` examples reproducibly from ``seed`` as a :class:`SignalSet`."""
        rng = np.random.default_rng(seed)
        f, x = self.sample(n, rng)
        return SignalSet(x, self.sample_rate, f, list(self.factor_names), list(self.factor_sizes), self.name)


class DeviceSource:
    """A ground-truth source whose observations are float32 tensors [n, C, T] on ``device``.

    For interventional metrics (``sigvae.metrics.beta_vae_score``, ...) with an encoder on
    an accelerator: they pass observations straight from the source to the encoder, so
    rendering on the encoder's device skips the copy and, for sources that override
    :meth:`GroundTruthSource.render_tensor`, the CPU work of rendering. Every other
    attribute is the wrapped source's.
    """

    def __init__(self, source: GroundTruthSource, device: str | torch.device):
        self.source = source
        self.device = torch.device(device)

    def __getattr__(self, name: str):
        if name == "source":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.source, name)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        return self.source.render_tensor(factors, rng, self.device)
