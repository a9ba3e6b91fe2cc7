"""UCR/UEA time-series classification data: the sets aeon ships, and the UCR archive's folders.

Two sources, neither ever touches the network:

- the problems bundled inside the installed ``aeon`` package (:data:`SHIPPED`), read from
  its ``.ts`` files with ``aeon.datasets.load_from_ts_file`` (``load_classification`` is
  not used because it downloads what it cannot find locally);
- a copy of the UCR archive (2018 format): ``DATA_DIR/<Name>/<Name>_TRAIN.tsv`` and
  ``<Name>_TEST.tsv``, one series per line, the class label first, tab-separated values;
  shorter series in varying-length problems are padded with ``NaN`` at the end.

Every split comes back as a :class:`UCRSplit` with float32 arrays [N, C, T]:

- **unequal lengths** (JapaneseVowels, PickupGestureWiimoteZ, the archive's NaN-padded
  sets) are resampled by linear interpolation to one common length, the longest training
  series unless ``length`` is given; each series is stretched over its own support, so the
  whole shape is kept (padding with zeros would put a step at the end and move the series'
  mean). Interior ``NaN`` (missing values) are filled by linear interpolation first. The
  original lengths are kept in ``lengths_train`` / ``lengths_test``.
- **z-normalisation with training statistics**: one mean and one standard deviation per
  channel, computed over every value of the training split, applied to both splits (the
  test split never informs the scaling).
- **labels** become integers 0..K-1 in the sorted order of the training labels (numeric
  order when every label is a number); a test label absent from training is an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..extras import require
from .base import SignalSet

#: Classification problems bundled with aeon 1.6 that load with no network.
SHIPPED: tuple[str, ...] = (
    "GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "ACSF1", "BasicMotions",
    "JapaneseVowels", "PickupGestureWiimoteZ",
)


@dataclass
class UCRSplit:
    """A classification problem split into train and test.

    Attributes:
        name: the problem's name (``GunPoint``).
        x_train, x_test: float32 [N, C, T], z-normalised with the training statistics.
        y_train, y_test: int64 [N] class indices into ``classes``.
        classes: the original label strings, index = class id.
        lengths_train, lengths_test: int64 [N] lengths before resampling.
        mean, std: float64 [C], the training statistics used for the z-normalisation.
        source: where it was read from (a path).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    lengths_train: np.ndarray
    lengths_test: np.ndarray
    mean: np.ndarray = field(default_factory=lambda: np.zeros(1))
    std: np.ndarray = field(default_factory=lambda: np.ones(1))
    source: str = ""

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def length(self) -> int:
        return int(self.x_train.shape[2])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def equal_length(self) -> bool:
        return bool((np.concatenate([self.lengths_train, self.lengths_test]) == self.length).all())

    def signal_set(self, split: str = "train") -> SignalSet:
        """One split as a :class:`SignalSet` whose single factor is the class (sample rate 1)."""
        if split not in ("train", "test"):
            raise DataError(f"{self.name}: split must be 'train' or 'test', got {split!r}")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        return SignalSet(x, 1, y[:, None], ["class"], [self.n_classes], f"ucr:{self.name}:{split}")


def aeon_data_dir() -> Path:
    """The folder of data sets bundled inside the installed aeon package."""
    require("ucr", "the UCR data sets bundled with aeon")
    import aeon.datasets as ad

    return Path(os.path.dirname(ad.__file__)) / "data"


def _fill_nan(v: np.ndarray) -> np.ndarray:
    """Linear interpolation over interior NaN of a 1-D series (ends take the nearest value)."""
    bad = ~np.isfinite(v)
    if not bad.any():
        return v
    good = np.flatnonzero(~bad)
    if good.size == 0:
        return np.zeros_like(v)
    out = v.copy()
    out[bad] = np.interp(np.flatnonzero(bad), good, v[good])
    return out


def _resample(series: np.ndarray, length: int) -> np.ndarray:
    """[C, L] → [C, length] by linear interpolation over the series' own support."""
    c, n = series.shape
    if n == length:
        return series
    if n == 1:
        return np.repeat(series, length, axis=1)
    src = np.linspace(0.0, 1.0, n)
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, series[i]) for i in range(c)])


def _trim_padding(series: np.ndarray) -> np.ndarray:
    """Drop trailing time steps where every channel is NaN (the archive's length padding)."""
    finite = np.isfinite(series).any(axis=0)
    if not finite.any():
        return series[:, :0]
    last = int(np.flatnonzero(finite)[-1]) + 1
    return series[:, :last]


def _to_array(series: list[np.ndarray], length: int) -> np.ndarray:
    out = np.empty((len(series), series[0].shape[0], length), dtype=np.float64)
    for i, s in enumerate(series):
        s = np.stack([_fill_nan(ch) for ch in s])
        out[i] = _resample(s, length)
    return out


def read_ucr_tsv(path: str | os.PathLike) -> tuple[list[np.ndarray], np.ndarray]:
    """Read one UCR-archive ``.tsv`` (label first, then the values, tab- or comma-separated).

    Returns (series, labels): a list of float64 [1, L_i] arrays with trailing ``NaN``
    padding removed, and the labels as strings [N].
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such UCR file")
    series: list[np.ndarray] = []
    labels: list[str] = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split("\t") if "\t" in line else line.split(",")
        if len(parts) < 2:
            raise DataError(f"{path}:{lineno}: expected a label and at least one value, got {len(parts)} field(s)")
        label = parts[0].strip()
        try:
            values = np.array([float(p) if p.strip() else np.nan for p in parts[1:]], dtype=np.float64)
        except ValueError:
            raise DataError(f"{path}:{lineno}: values must be numbers (label first, then the series)") from None
        s = _trim_padding(values[None, :])
        if s.shape[1] == 0:
            raise DataError(f"{path}:{lineno}: the series has no finite values")
        # Labels such as "1.0" and "1" are the same class.
        try:
            f = float(label)
            label = str(int(f)) if f == int(f) else str(f)
        except ValueError:
            pass
        series.append(s)
        labels.append(label)
    if not series:
        raise DataError(f"{path}: no series found")
    return series, np.asarray(labels)


def _read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    require("ucr", f"{path}: reading a .ts file")
    from aeon.datasets import load_from_ts_file

    try:
        x, y = load_from_ts_file(str(path))
    except Exception as e:  # aeon raises several types for malformed files
        raise DataError(f"{path}: could not read the .ts file ({e})") from None
    series = [_trim_padding(np.asarray(s, dtype=np.float64)) for s in x]
    return series, np.asarray([str(v) for v in y])


def _label_order(labels: np.ndarray) -> list[str]:
    uniq = sorted(set(labels.tolist()))
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq


def _find_files(name: str, data_dir: str | os.PathLike | None) -> tuple[Path, Path, str]:
    if data_dir is not None:
        from .files import plain_name

        plain_name(name, "UCR data set name")  # it becomes a path under data_dir: keep it there
        d = Path(data_dir)
        if not d.is_dir():
            raise DataError(f"--data-dir {d}: no such folder")
        for folder in (d / name, d):
            for ext in ("tsv", "ts"):
                tr, te = folder / f"{name}_TRAIN.{ext}", folder / f"{name}_TEST.{ext}"
                if tr.is_file() and te.is_file():
                    return tr, te, ext
        raise DataError(
            f"{d}: no {name}/{name}_TRAIN.tsv and {name}_TEST.tsv (UCR archive layout) for data set {name!r}"
        )
    match = {s.lower(): s for s in SHIPPED}.get(name.lower())
    if match is None:
        raise DataError(
            f"UCR data set {name!r} does not ship with aeon; shipped: {', '.join(SHIPPED)} "
            "(give --data-dir pointing at a copy of the UCR archive for others)"
        )
    folder = aeon_data_dir() / match
    tr, te = folder / f"{match}_TRAIN.ts", folder / f"{match}_TEST.ts"
    if not (tr.is_file() and te.is_file()):
        raise DataError(f"{folder}: the installed aeon does not hold {match}_TRAIN.ts/_TEST.ts")
    return tr, te, "ts"


def load_ucr(
    name: str, data_dir: str | os.PathLike | None = None, *, length: int | None = None, normalise: bool = True,
) -> UCRSplit:
    """Load classification problem ``name`` (see the module docstring for every step).

    ``data_dir``: a UCR-archive folder (``<dir>/<name>/<name>_TRAIN.tsv``); None reads the
    copy bundled with aeon. ``length``: common length after resampling (default: the
    longest training series). Returns a :class:`UCRSplit`.
    """
    tr_path, te_path, ext = _find_files(name, data_dir)
    from ..limits import check_bytes

    # Parsing holds the text, its lines and the float64 values: a few times the file size.
    check_bytes(f"{name}: reading {tr_path.name} and {te_path.name}", 8 * (tr_path.stat().st_size + te_path.stat().st_size))
    read = read_ucr_tsv if ext == "tsv" else _read_ts
    s_tr, l_tr = read(tr_path)
    s_te, l_te = read(te_path)
    chans = {s.shape[0] for s in s_tr + s_te}
    if len(chans) != 1:
        raise DataError(f"{tr_path}: series have different numbers of channels {sorted(chans)}")
    len_tr = np.array([s.shape[1] for s in s_tr], dtype=np.int64)
    len_te = np.array([s.shape[1] for s in s_te], dtype=np.int64)
    if length is not None and length < 2:
        raise DataError(f"{name}: length must be >= 2, got {length}")
    target = int(length or len_tr.max())
    from ..limits import check_allocation

    # float64 arrays, their normalised copies and the float32 results
    check_allocation(f"{name}: {len(s_tr) + len(s_te)} series resampled to length {target}",
                     (len(s_tr) + len(s_te), next(iter(chans)), target), 20)
    x_tr, x_te = _to_array(s_tr, target), _to_array(s_te, target)
    classes = _label_order(l_tr)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(l_te.tolist()) - set(classes))
    if unknown:
        raise DataError(f"{te_path}: test label {unknown[0]!r} never occurs in the training split")
    y_tr = np.array([index[v] for v in l_tr], dtype=np.int64)
    y_te = np.array([index[v] for v in l_te], dtype=np.int64)
    c = x_tr.shape[1]
    mean, std = np.zeros(c), np.ones(c)
    if normalise:
        mean = x_tr.mean(axis=(0, 2))
        std = x_tr.std(axis=(0, 2))
        std = np.where(std > 1e-12, std, 1.0)
        x_tr = (x_tr - mean[None, :, None]) / std[None, :, None]
        x_te = (x_te - mean[None, :, None]) / std[None, :, None]
    display = tr_path.name.rsplit("_TRAIN", 1)[0]
    return UCRSplit(
        display, x_tr.astype(np.float32), y_tr, x_te.astype(np.float32), y_te, classes, len_tr, len_te,
        mean, std, str(tr_path.parent),
    )


def parse_ucr_spec(spec: str) -> tuple[str, str | None]:
    """``ucr:GunPoint`` → ("GunPoint", None); ``ucr:/data/UCR/Wine`` → ("Wine", "/data/UCR")."""
    rest = spec.split(":", 1)[1].strip() if ":" in spec else spec
    if not rest:
        raise DataError(f"data {spec!r}: name a UCR data set, e.g. ucr:GunPoint")
    if "/" in rest or os.sep in rest:
        p = Path(rest)
        return p.name, str(p.parent)
    return rest, None


def load_ucr_signals(spec: str, options: dict | None = None) -> SignalSet:
    """A ``ucr:NAME`` data spec → one split as a SignalSet with the class as its factor.

    ``options``: ``split`` (``train``, default, or ``test``), ``data_dir`` (UCR archive
    folder), ``length`` (common length for unequal-length problems).
    """
    opts = dict(options or {})
    allowed = {"split", "data_dir", "length"}
    extra = sorted(set(opts) - allowed)
    if extra:
        raise DataError(f"data_options for {spec}: unknown key {extra[0]!r}; allowed: {', '.join(sorted(allowed))}")
    name, folder = parse_ucr_spec(spec)
    data = load_ucr(name, opts.get("data_dir") or folder, length=opts.get("length"))
    return data.signal_set(str(opts.get("split", "train")))


__all__ = ["SHIPPED", "UCRSplit", "load_ucr", "read_ucr_tsv", "load_ucr_signals", "parse_ucr_spec", "aeon_data_dir"]
