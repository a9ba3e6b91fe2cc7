"""Classical blind source separation: PCA, FastICA (scikit-learn), AMUSE and SOBI.

Each takes mixtures ``x`` [C, T] and returns a :class:`Separation` with ``sources`` [K, T]
(zero mean, unit variance) and a linear ``unmixing`` [K, C] with
``sources = unmixing @ (x - x.mean(1))``.

Second-order methods (written here):

- AMUSE (Tong et al. 1991): whiten, ``z = W x``; eigenvectors ``U`` of the symmetrised lag-τ
  covariance ``C_τ = ½(E[z_t z_{t+τ}ᵀ] + E[z_{t+τ} z_tᵀ])``; ``sources = Uᵀ z``. Separates
  sources whose lag-τ autocorrelations differ.
- SOBI (Belouchrani et al. 1997): the same, but ``U`` jointly diagonalises several lagged
  covariances by Jacobi (Givens) rotations (Cardoso & Souloumiac 1996), which is robust to
  any one lag where two autocorrelations coincide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError


@dataclass
class Separation:
    """Estimated ``sources`` [K, T]; ``unmixing`` [K, C] when the method is linear, else None."""

    sources: np.ndarray
    unmixing: np.ndarray | None = None
    info: dict | None = None


def _check(x: np.ndarray, k: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise DataError(f"mixtures must be [channels, samples], got shape {x.shape}")
    if not 1 <= k <= x.shape[0]:
        raise ConfigError(f"n_sources must be between 1 and the number of channels ({x.shape[0]}), got {k}")
    if x.shape[1] < 4 * k:
        raise DataError(f"mixtures have {x.shape[1]} samples; too few for {k} sources")
    return x


def whitener(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA whitening to ``k`` dims: returns (W [k, C], z = W (x − mean) [k, T]) with cov(z) = I."""
    xc = x - x.mean(axis=1, keepdims=True)
    cov = xc @ xc.T / xc.shape[1]
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:k]
    vals, vecs = vals[order], vecs[:, order]
    if vals[-1] <= 1e-12 * max(vals[0], 1e-300):
        raise DataError(f"mixtures have rank < {k}: cannot extract {k} sources (channels are linearly dependent or silent)")
    w = (vecs / np.sqrt(vals)).T
    return w, w @ xc


def lagged_covariance(z: np.ndarray, lag: int) -> np.ndarray:
    """Symmetrised lag covariance ½(E[z_t z_{t+τ}ᵀ] + transpose) of z [k, T] → [k, k]."""
    t = z.shape[1]
    c = z[:, : t - lag] @ z[:, lag:].T / (t - lag)
    return 0.5 * (c + c.T)


def _finish(w: np.ndarray, x: np.ndarray, info: dict | None = None) -> Separation:
    s = w @ (x - x.mean(axis=1, keepdims=True))
    scale = s.std(axis=1, keepdims=True) + 1e-12
    return Separation(s / scale, w / scale, info)


def pca(x: np.ndarray, k: int, seed: int = 0) -> Separation:
    """The ``k`` leading principal components, whitened (a baseline that ignores independence)."""
    x = _check(x, k)
    w, _ = whitener(x, k)
    return _finish(w, x)


def fastica(x: np.ndarray, k: int, seed: int = 0, max_iter: int = 1000) -> Separation:
    """scikit-learn's FastICA (logcosh contrast, parallel), seeded by ``seed``."""
    import warnings

    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    x = _check(x, k)
    ica = FastICA(n_components=k, whiten="unit-variance", random_state=seed, max_iter=max_iter, tol=1e-5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ica.fit(x.T)
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    return _finish(ica.components_, x, {"converged": converged, "iterations": int(ica.n_iter_)})


def amuse(x: np.ndarray, k: int, seed: int = 0, lag: int = 1) -> Separation:
    """AMUSE: eigenvectors of one symmetrised lagged covariance of the whitened mixtures."""
    x = _check(x, k)
    if not 1 <= lag < x.shape[1] // 2:
        raise ConfigError(f"lag must be between 1 and {x.shape[1] // 2 - 1}, got {lag}")
    w, z = whitener(x, k)
    _, u = np.linalg.eigh(lagged_covariance(z, lag))
    return _finish(u[:, ::-1].T @ w, x, {"lag": lag})


def joint_diagonalise(mats: np.ndarray, tol: float = 1e-8, max_sweeps: int = 100) -> tuple[np.ndarray, int]:
    """Orthogonal V jointly diagonalising symmetric matrices ``mats`` [M, k, k] (Jacobi angles).

    Minimises Σ_m off(Vᵀ M_m V) by Givens rotations; returns (V [k, k], sweeps used).
    """
    a = np.array(mats, dtype=np.float64)
    k = a.shape[1]
    v = np.eye(k)
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):  # noqa: B007 - the count is returned
        rotated = False
        for p in range(k - 1):
            for q in range(p + 1, k):
                g = np.stack([a[:, p, p] - a[:, q, q], a[:, p, q] + a[:, q, p]])  # [2, M]
                gg = g @ g.T
                ton, toff = gg[0, 0] - gg[1, 1], gg[0, 1] + gg[1, 0]
                theta = 0.5 * np.arctan2(toff, ton + np.sqrt(ton * ton + toff * toff))
                c, s = np.cos(theta), np.sin(theta)
                if abs(s) > tol:
                    rotated = True
                    rot = np.array([[c, -s], [s, c]])
                    idx = [p, q]
                    a[:, :, idx] = a[:, :, idx] @ rot
                    a[:, idx, :] = np.einsum("ji,mjk->mik", rot, a[:, idx, :])
                    v[:, idx] = v[:, idx] @ rot
        if not rotated:
            break
    return v, sweeps


def sobi(x: np.ndarray, k: int, seed: int = 0, lags: int | list[int] = 20) -> Separation:
    """SOBI: joint diagonalisation of lagged covariances at lags 1..``lags`` (or the given list)."""
    x = _check(x, k)
    lag_list = list(range(1, int(lags) + 1)) if isinstance(lags, int) else [int(v) for v in lags]
    if not lag_list or min(lag_list) < 1 or max(lag_list) >= x.shape[1] // 2:
        raise ConfigError(f"SOBI lags must lie in 1..{x.shape[1] // 2 - 1}, got {lags}")
    w, z = whitener(x, k)
    mats = np.stack([lagged_covariance(z, lag) for lag in lag_list])
    v, sweeps = joint_diagonalise(mats)
    return _finish(v.T @ w, x, {"lags": len(lag_list), "sweeps": sweeps})


BASELINES = {"pca": pca, "fastica": fastica, "amuse": amuse, "sobi": sobi}

__all__ = ["Separation", "pca", "fastica", "amuse", "sobi", "whitener", "lagged_covariance", "joint_diagonalise", "BASELINES"]
