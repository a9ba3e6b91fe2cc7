"""Input checks shared by every metric: shapes, dtypes, NaN, and the swapped-argument trap.

Each check raises :class:`sigvae.errors.DataError` with one line that says what is wrong,
what was expected and what was given.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a Generator: ``seed`` itself if it is one, else ``default_rng(seed)``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _is_integral(a: np.ndarray) -> bool:
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        return True
    if np.issubdtype(a.dtype, np.floating):
        return bool(np.all(np.isfinite(a)) and np.all(a == np.round(a)))
    return False


def check_codes(codes: object, name: str = "codes", min_samples: int = 2) -> np.ndarray:
    """Return ``codes`` as a finite real float array [N, D] (float32 stays float32).

    Keeping float32 matters: the histogram edges of a float32 latent are float32, and the
    reference computes them on the array as given.
    """
    a = np.asarray(codes)
    if a.ndim != 2:
        raise DataError(f"{name} must be a 2-D array [N, D], got shape {a.shape}")
    if a.dtype == bool or not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise DataError(f"{name} must be real numbers, got dtype {a.dtype}")
    if not np.issubdtype(a.dtype, np.floating) or a.dtype == np.float16:
        a = a.astype(np.float64)
    if a.shape[0] < min_samples:
        raise DataError(f"{name}: need at least {min_samples} samples, got {a.shape[0]}")
    if a.shape[1] == 0:
        raise DataError(f"{name} has no latent dimensions (shape {a.shape})")
    finite = np.isfinite(a)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise DataError(f"{name} contain NaN or inf (first at row {row}, latent {col}); expected finite values")
    return a


def check_factors(
    factors: object, name: str = "factors", codes_name: str = "codes", codes: np.ndarray | None = None
) -> np.ndarray:
    """Return ``factors`` as int64 [N, K]; a 1-D array is one factor.

    Float factors are accepted when every value is a whole number. Float factors with
    fractions are rejected, and when ``codes`` are whole numbers at the same time the
    message says the two arguments were probably passed in swapped order.
    """
    f = np.asarray(factors)
    if f.ndim == 1:
        f = f[:, None]
    if f.ndim != 2:
        raise DataError(f"{name} must be a 2-D array [N, K] of integers, got shape {f.shape}")
    if f.shape[1] == 0:
        raise DataError(f"{name} has no factor columns (shape {f.shape})")
    if not np.issubdtype(f.dtype, np.number) and f.dtype != bool:
        raise DataError(f"{name} must be integers, got dtype {f.dtype}")
    if np.issubdtype(f.dtype, np.floating) and not np.all(np.isfinite(f)):
        raise DataError(f"{name} contain NaN or inf; expected integer factor values")
    if not _is_integral(f):
        if codes is not None and _is_integral(codes):
            raise DataError(
                f"{name} are not integers but {codes_name} are: the arguments look swapped; "
                f"call with ({codes_name}, {name}), codes first"
            )
        raise DataError(
            f"{name} must be integers (or whole-valued floats), got non-integral {f.dtype} values; "
            "use sigvae.metrics.discretize for continuous factors"
        )
    return f.astype(np.int64)


def check_pair(
    codes: object,
    factors: object,
    codes_name: str = "codes",
    factors_name: str = "factors",
    min_samples: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Check ``codes`` [N, D] against ``factors`` [N, K]; return (codes, int64 factors)."""
    c = check_codes(codes, codes_name, min_samples)
    f = check_factors(factors, factors_name, codes_name, c)
    if f.shape[0] != c.shape[0]:
        raise DataError(
            f"{codes_name} have {c.shape[0]} rows but {factors_name} have {f.shape[0]}; they must match"
        )
    return c, f


def check_real_pair(
    codes: object, targets: object, codes_name: str = "codes", targets_name: str = "factors", min_samples: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`check_pair` for continuous targets: returns (codes, float64 targets [N, K])."""
    c = check_codes(codes, codes_name, min_samples)
    t = np.asarray(targets)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or not np.issubdtype(t.dtype, np.number) or np.issubdtype(t.dtype, np.complexfloating):
        raise DataError(f"{targets_name} must be a real 2-D array [N, K], got shape {t.shape} dtype {t.dtype}")
    t = t.astype(np.float64)
    if not np.all(np.isfinite(t)):
        raise DataError(f"{targets_name} contain NaN or inf; expected finite values")
    if t.shape[0] != c.shape[0]:
        raise DataError(f"{codes_name} have {c.shape[0]} rows but {targets_name} have {t.shape[0]}; they must match")
    return c, t


def check_same_width(train: np.ndarray, test: np.ndarray, what: str) -> None:
    """Train and test arrays must have the same number of columns."""
    if train.shape[1] != test.shape[1]:
        raise DataError(f"test {what} have {test.shape[1]} columns but train {what} have {train.shape[1]}; they must match")


def encode_labels(factors: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Relabel each factor column to 0..V_k-1 (order kept); return (labels [N, K], [V_k])."""
    labels = np.empty(factors.shape, dtype=np.int64)
    sizes = []
    for k in range(factors.shape[1]):
        values, inverse = np.unique(factors[:, k], return_inverse=True)
        labels[:, k] = inverse.reshape(-1)
        sizes.append(int(values.size))
    return labels, sizes
