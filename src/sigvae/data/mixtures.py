"""Mixtures with ground truth for blind source separation, and users' multichannel recordings.

A :class:`Mixture` holds observed ``mixtures`` [C, T] and, where known, the ``sources``
[S, T] and the linear ``mixing`` [C, S] (``mixtures ≈ mixing @ sources + noise``).

Built-in conditions (all reproducible from one seed; every source has zero mean, unit variance):

- ``periodic``: sine, square, sawtooth, triangle, ... at distinct random frequencies and
  phases, linearly mixed;
- ``gaussian``: Gaussian processes with a squared-exponential covariance and a different
  length scale per source (white noise smoothed by a Gaussian filter); independent Gaussian
  sources defeat FastICA, but their different autocorrelations let second-order methods
  (AMUSE, SOBI) and temporal priors separate them;
- ``nonlinear``: piecewise-stationary Laplace sources (a new random scale per source in each
  segment) mixed by a random leaky-ReLU MLP, as in the iVAE benchmark (Khemakhem et al. 2020);
  the mixing is not linear, so ``mixing`` is None.

Linear mixing matrices are drawn with Gaussian entries and redrawn until their condition
number is at most ``max_condition``. Observation noise: each channel gets white Gaussian
noise with standard deviation ``noise`` × the standard deviation of its clean mixture.

A spec string names a condition with options: ``"periodic"``, ``"gaussian:noise=0.1,seed=3"``,
``"nonlinear:sources=4,sensors=6,length=8000"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal as sps

from ..config import check, from_dict
from ..errors import ConfigError, DataError

CONDITIONS = ("periodic", "gaussian", "nonlinear")
WAVEFORMS = ("sine", "square", "sawtooth", "triangle", "pulse", "sine_am")


@dataclass
class MixtureConfig:
    """How to generate one mixture.

    ``condition``: periodic, gaussian or nonlinear. ``sources`` S and ``sensors`` C ≥ S.
    ``length`` T samples at ``sample_rate`` Hz. ``noise``: observation-noise std relative to
    each clean channel's std. ``max_condition``: bound on cond(mixing) (linear conditions).
    ``seed``: everything (sources, mixing, noise) follows from it.
    """

    condition: str = "periodic"
    sources: int = 3
    sensors: int = 0  # 0: as many sensors as sources
    length: int = 4000
    sample_rate: int = 1000
    noise: float = 0.0
    max_condition: float = 10.0
    seed: int = 0
    length_scales: list[float] = field(default_factory=list)  # gaussian: samples; default geometric 2..40
    segment: int = 500  # nonlinear: samples per stationary segment
    mlp_layers: int = 2  # nonlinear: leaky-ReLU layers of the mixing MLP

    def validate(self) -> None:
        check(self.condition in CONDITIONS, f"condition must be one of {', '.join(CONDITIONS)}, got {self.condition!r}")
        check(self.sources >= 1, f"sources must be >= 1, got {self.sources}")
        check(self.sensors == 0 or self.sensors >= self.sources,
              f"sensors must be >= sources ({self.sources}), got {self.sensors}")
        check(self.length >= 16, f"length must be >= 16 samples, got {self.length}")
        check(self.sample_rate >= 1, f"sample_rate must be >= 1, got {self.sample_rate}")
        check(self.noise >= 0, f"noise must be >= 0, got {self.noise}")
        check(self.max_condition >= 1, f"max_condition must be >= 1, got {self.max_condition}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        check(all(v > 0 for v in self.length_scales), "length_scales must be positive")
        check(not self.length_scales or len(self.length_scales) == self.sources,
              f"length_scales needs one value per source ({self.sources}), got {len(self.length_scales)}")
        check(self.segment >= 8, f"segment must be >= 8 samples, got {self.segment}")
        check(self.mlp_layers >= 1, f"mlp_layers must be >= 1, got {self.mlp_layers}")

    @property
    def n_sensors(self) -> int:
        return self.sensors or self.sources


@dataclass
class Mixture:
    """Observed mixtures and, where known, the truth.

    ``mixtures`` float64 [C, T]; ``sources`` [S, T] or None; ``mixing`` [C, S] or None (None
    also for nonlinear mixing); ``clean`` [C, T] the noise-free mixtures or None;
    ``sample_rate`` in Hz; ``name`` a label for reports.
    """

    mixtures: np.ndarray
    sample_rate: int = 1000
    sources: np.ndarray | None = None
    mixing: np.ndarray | None = None
    clean: np.ndarray | None = None
    name: str = "mixture"
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("mixtures", "sources", "mixing", "clean"):
            value = getattr(self, key)
            if value is not None and np.iscomplexobj(value):  # float64 would silently drop the imaginary part
                raise DataError(f"{self.name}: {key} must be real numbers, got complex dtype {np.asarray(value).dtype}")
        x = np.asarray(self.mixtures, dtype=np.float64)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] < 16:
            raise DataError(f"{self.name}: mixtures must be [channels, samples] with >= 16 samples, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise DataError(f"{self.name}: mixtures contain NaN or inf")
        self.mixtures = x
        if self.sources is not None:
            s = np.asarray(self.sources, dtype=np.float64)
            s = s[None] if s.ndim == 1 else s
            if s.ndim != 2 or s.shape[1] != x.shape[1]:
                raise DataError(f"{self.name}: sources must be [S, {x.shape[1]}] to match the mixtures, got shape {s.shape}")
            if not np.all(np.isfinite(s)):
                raise DataError(f"{self.name}: sources contain NaN or inf")
            self.sources = s
        if self.mixing is not None:
            a = np.asarray(self.mixing, dtype=np.float64)
            s_count = None if self.sources is None else self.sources.shape[0]
            if a.ndim != 2 or a.shape[0] != x.shape[0] or (s_count is not None and a.shape[1] != s_count):
                want = f"[{x.shape[0]}, {s_count if s_count is not None else 'S'}]"
                raise DataError(f"{self.name}: mixing must be {want} (channels × sources), got shape {a.shape}")
            self.mixing = a
        from ..limits import check_sample_rate

        self.sample_rate = check_sample_rate(self.sample_rate, self.name)
        # Last, so shape errors are reported first. Whitening divides by each channel's variance.
        flat = np.flatnonzero(np.ptp(x, axis=1) == 0)
        if len(flat):
            which = "every mixture channel is" if len(flat) == x.shape[0] else f"mixture channel {int(flat[0])} is"
            raise DataError(f"{self.name}: {which} constant ({x[flat[0], 0]:g} throughout); "
                            "unmixing needs channels that vary (drop silent channels)")

    @property
    def channels(self) -> int:
        return int(self.mixtures.shape[0])

    @property
    def length(self) -> int:
        return int(self.mixtures.shape[1])


# --------------------------------------------------------------------------------------
# Sources


def _standardise(s: np.ndarray) -> np.ndarray:
    s = s - s.mean(axis=1, keepdims=True)
    return s / (s.std(axis=1, keepdims=True) + 1e-12)


#: The most sources :func:`periodic_sources` draws (their periods must differ by 15 %).
MAX_PERIODIC_SOURCES = 12


def periodic_sources(n: int, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` periodic waveforms (distinct shapes while they last) [n, length], standardised.

    Frequencies are drawn between 2 and 40 cycles per 1000 samples-at-1 kHz equivalents,
    at least 15 % apart so no two sources share a period.
    """
    t = np.arange(length) / sample_rate
    freqs: list[float] = []
    lo, hi = 2.0 * sample_rate / 1000, 40.0 * sample_rate / 1000
    # Frequencies 15 % apart fit about log(20)/log(1.15) ≈ 21 times into the band, and random
    # draws stall well before that: refuse more than fit easily instead of looping forever.
    if n > MAX_PERIODIC_SOURCES:
        raise DataError(f"periodic mixtures hold at most {MAX_PERIODIC_SOURCES} sources (distinct periods), got {n}")
    for _ in range(100_000):
        if len(freqs) == n:
            break
        f = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        if all(abs(f - g) / g > 0.15 for g in freqs):
            freqs.append(f)
    else:
        raise DataError(f"could not draw {n} periodic sources with distinct periods; ask for fewer sources")
    out = np.empty((n, length))
    shapes = [WAVEFORMS[i % len(WAVEFORMS)] for i in rng.permutation(max(n, len(WAVEFORMS)))[:n]] if n > 3 else list(WAVEFORMS[:n])
    for i, (f, shape) in enumerate(zip(freqs, shapes)):
        phase = rng.uniform(0, 2 * np.pi)
        arg = 2 * np.pi * f * t + phase
        if shape == "sine":
            out[i] = np.sin(arg)
        elif shape == "square":
            out[i] = np.sign(np.sin(arg))
        elif shape == "sawtooth":
            out[i] = sps.sawtooth(arg)
        elif shape == "triangle":
            out[i] = sps.sawtooth(arg, 0.5)
        elif shape == "pulse":
            out[i] = sps.square(arg, 0.2)
        else:  # amplitude-modulated sine
            out[i] = np.sin(arg) * (1.2 + np.sin(0.13 * arg + rng.uniform(0, 2 * np.pi)))
    return _standardise(out)


def gaussian_sources(n: int, length: int, rng: np.random.Generator, length_scales: list[float] | None = None) -> np.ndarray:
    """Independent stationary Gaussian processes [n, length], squared-exponential covariance.

    Source i has length scale ℓ_i samples (default geometric from 2 to 40): white noise
    convolved with a Gaussian of standard deviation ℓ_i / √2 has covariance ∝ exp(−τ² / (2ℓ_i²)).
    """
    scales = list(length_scales) if length_scales else list(np.geomspace(2.0, 40.0, n)) if n > 1 else [10.0]
    out = np.empty((n, length))
    for i, ell in enumerate(scales):
        sd = ell / np.sqrt(2.0)
        half = int(np.ceil(4 * sd))
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / sd) ** 2)
        w = rng.standard_normal(length + 2 * half)
        out[i] = np.convolve(w, k / np.linalg.norm(k), mode="valid")
    return _standardise(out)


def piecewise_laplace_sources(n: int, length: int, segment: int, rng: np.random.Generator) -> np.ndarray:
    """Piecewise-stationary Laplace sources [n, length]: a random scale per source and segment."""
    n_seg = int(np.ceil(length / segment))
    scales = rng.uniform(0.2, 2.0, size=(n, n_seg))
    s = rng.laplace(size=(n, n_seg * segment)) * np.repeat(scales, segment, axis=1)
    return _standardise(s[:, :length])


def random_mixing(sensors: int, sources: int, max_condition: float, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian [sensors, sources] matrix with unit-norm columns and cond ≤ ``max_condition``."""
    for _ in range(10_000):
        a = rng.standard_normal((sensors, sources))
        a /= np.linalg.norm(a, axis=0, keepdims=True)
        if np.linalg.cond(a) <= max_condition:
            return a
    raise ConfigError(f"could not draw a {sensors}×{sources} mixing with condition number <= {max_condition}; raise max_condition")


def mlp_mixing(s: np.ndarray, sensors: int, layers: int, max_condition: float, rng: np.random.Generator) -> np.ndarray:
    """Leaky-ReLU MLP mixing (slope 0.2) of sources [S, T] → [sensors, T]; each layer well conditioned."""
    h = s
    for i in range(layers):
        a = random_mixing(sensors, h.shape[0], max_condition, rng)
        h = a @ h
        if i < layers - 1:
            h = np.where(h > 0, h, 0.2 * h)
            h = _standardise(h)
    return h


def make_mixture(config: MixtureConfig | dict | None = None) -> Mixture:
    """Generate the mixture that ``config`` describes (reproducible from ``config.seed``)."""
    cfg = config if isinstance(config, MixtureConfig) else from_dict(MixtureConfig, config or {}, where="mixture")
    cfg.validate()
    rng = np.random.default_rng([cfg.seed, CONDITIONS.index(cfg.condition)])
    c, n, t = cfg.n_sensors, cfg.sources, cfg.length
    from ..limits import check_allocation, check_sample_rate

    check_sample_rate(cfg.sample_rate, f"{cfg.condition} mixture")
    # float64, alive at once: the sources with their drawing temporaries (3 n rows) and
    # the clean mixtures, the noise draw, its scaled copy and the sum (4 c rows).
    check_allocation(f"{cfg.condition} mixture of {n} sources on {c} sensors", (3 * n + 4 * c, t))
    if cfg.condition == "periodic":
        s = periodic_sources(n, t, cfg.sample_rate, rng)
    elif cfg.condition == "gaussian":
        s = gaussian_sources(n, t, rng, cfg.length_scales or None)
    else:
        s = piecewise_laplace_sources(n, t, cfg.segment, rng)
    if cfg.condition == "nonlinear":
        a = None
        clean = mlp_mixing(s, c, cfg.mlp_layers, cfg.max_condition, rng)
    else:
        a = random_mixing(c, n, cfg.max_condition, rng)
        clean = a @ s
    noisy = clean + cfg.noise * clean.std(axis=1, keepdims=True) * rng.standard_normal(clean.shape)
    label = f"{cfg.condition}" + (f"+{round(100 * cfg.noise)}%noise" if cfg.noise else "") + f"/seed{cfg.seed}"
    return Mixture(noisy, cfg.sample_rate, s, a, clean, name=label, info={"config": cfg.__dict__.copy()})


# --------------------------------------------------------------------------------------
# Specs and files


_SPEC_KEYS = {"sources": int, "sensors": int, "length": int, "sample_rate": int, "noise": float,
              "max_condition": float, "seed": int, "segment": int, "mlp_layers": int}


def parse_mixture_spec(spec: str) -> MixtureConfig:
    """``"periodic"`` or ``"gaussian:noise=0.1,seed=3"`` → :class:`MixtureConfig`."""
    name, _, opts = str(spec).partition(":")
    name = name.strip().lower()
    if name not in CONDITIONS:
        raise ConfigError(f"unknown mixture condition {name!r}; choose one of: {', '.join(CONDITIONS)}")
    values: dict = {"condition": name}
    for part in filter(None, (p.strip() for p in opts.split(","))):
        key, eq, val = part.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or key not in _SPEC_KEYS:
            raise ConfigError(f"mixture spec {spec!r}: expected key=value with key in {', '.join(_SPEC_KEYS)}, got {part!r}")
        try:
            values[key] = _SPEC_KEYS[key](val)
        except ValueError:
            raise ConfigError(f"mixture spec {spec!r}: {key} must be a number, got {val!r}") from None
    return from_dict(MixtureConfig, values, where=f"mixture spec {spec!r}")


def is_mixture_spec(spec: str) -> bool:
    """True when ``spec`` names a built-in condition rather than a file."""
    return str(spec).partition(":")[0].strip().lower() in CONDITIONS and not Path(spec).exists()


def load_mixture_npz(path: str | Path) -> Mixture:
    """``.npz`` with ``mixtures`` [C, T], optional ``sources`` [S, T], ``mixing`` [C, S], ``sample_rate``."""
    from .files import read_npz

    path = Path(path)
    z = read_npz(path)
    if "mixtures" not in z:
        raise DataError(f"{path}: missing key 'mixtures' [channels, samples] (found: {', '.join(sorted(z)) or 'nothing'})")
    sr = 1000
    if "sample_rate" in z:
        from ..limits import check_sample_rate

        a = np.asarray(z["sample_rate"])
        if a.size != 1 or not np.issubdtype(a.dtype, np.number):
            raise DataError(f"{path}: 'sample_rate' must be one number, got shape {a.shape}")
        sr = check_sample_rate(a, str(path))
    for key in ("mixtures", "sources", "mixing"):
        if key in z and not np.issubdtype(z[key].dtype, np.number):
            raise DataError(f"{path}: {key!r} must be numeric, got dtype {z[key].dtype}")
    try:
        return Mixture(z["mixtures"], sr, z.get("sources"), z.get("mixing"), name=path.name)
    except DataError as e:
        raise DataError(f"{path}: {str(e).split(': ', 1)[-1]}") from None


def load_reference_npz(path: str | Path, length: int, channels: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """A ``--reference`` file: ``sources`` [S, T] (T must equal ``length``) and optional ``mixing``
    [C, S] (C must equal ``channels`` when given). DataError naming the key otherwise."""
    from .files import read_npz

    path = Path(path)
    z = read_npz(path)
    if "sources" not in z:
        raise DataError(f"{path}: missing key 'sources' [S, T] (found: {', '.join(sorted(z)) or 'nothing'})")
    s = _real_array(z["sources"], path, "sources")
    s = s[None] if s.ndim == 1 else s
    if s.ndim != 2 or s.shape[1] != length:
        raise DataError(f"{path}: 'sources' must be [S, {length}] to match the input, got shape {s.shape}")
    mixing = None
    if "mixing" in z:
        mixing = _real_array(z["mixing"], path, "mixing")
        want = (channels if channels is not None else mixing.shape[0] if mixing.ndim == 2 else "C", s.shape[0])
        if mixing.ndim != 2 or (channels is not None and mixing.shape[0] != channels) or mixing.shape[1] != s.shape[0]:
            raise DataError(f"{path}: 'mixing' must be [{want[0]}, {want[1]}] (channels × sources), got shape {mixing.shape}")
    return s, mixing


def _real_array(value: np.ndarray, path: Path, key: str) -> np.ndarray:
    """``value`` as float64 if it holds finite real numbers; DataError naming ``key`` otherwise."""
    arr = np.asarray(value)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise DataError(f"{path}: '{key}' must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{path}: '{key}' contain NaN or inf")
    return arr


def load_mixture_audio(path: str | Path) -> Mixture:
    """A multichannel audio file (WAV/FLAC/...) → mixtures [C, T] at the file's rate."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file does not exist")
    from .audio import audio_file_info

    info = audio_file_info(path)
    from ..limits import check_allocation

    check_allocation(str(path), (info.frames, info.channels), 16)  # float64 samples and the Mixture's checks
    from .audio import read_audio_file

    audio, sr = read_audio_file(path, "float64")  # the frames its header declares, or DataError
    if audio.shape[0] < 16:
        raise DataError(f"{path}: audio has {audio.shape[0]} samples; need at least 16")
    return Mixture(audio.T, int(sr), name=path.name, info={"audio": True})


def load_mixture(spec: str) -> Mixture:
    """A built-in spec (``"periodic:noise=0.3"``), an ``.npz`` or a multichannel audio file."""
    from .files import AUDIO_SUFFIXES

    if is_mixture_spec(spec):
        return make_mixture(parse_mixture_spec(spec))
    path = Path(spec)
    if path.suffix.lower() == ".npz":
        return load_mixture_npz(path)
    if path.suffix.lower() in AUDIO_SUFFIXES:
        return load_mixture_audio(path)
    if not path.exists():
        raise DataError(f"input {spec!r} is neither a mixture spec ({', '.join(CONDITIONS)}[:key=value,...]) nor an existing file")
    raise DataError(f"{path}: unsupported input; give an .npz with 'mixtures' [C, T] or a multichannel audio file")


__all__ = [
    "CONDITIONS", "MixtureConfig", "Mixture", "make_mixture", "parse_mixture_spec", "is_mixture_spec",
    "load_mixture", "load_mixture_npz", "load_mixture_audio", "load_reference_npz", "random_mixing",
    "periodic_sources", "gaussian_sources", "piecewise_laplace_sources", "mlp_mixing",
]
