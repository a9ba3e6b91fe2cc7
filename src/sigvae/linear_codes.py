"""Non-neural reference representations: PCA and FastICA on a model's input features.

A benchmark compares learned codes with what a linear method finds in the *same*
features the neural models see (for audio, the log-mel spectrogram of the model's
front end, flattened to one vector per clip). Every baseline has one interface:

    b = make_baseline("pca", n_components=8, seed=0)
    b.fit(train_features)          # [N, F] float
    codes = b.embed(test_features) # [M, n_components]
    approx = b.inverse(codes)      # [M, F], the linear reconstruction

and can be saved as NumPy arrays (``state()`` → dict of arrays, never a pickle) and
loaded back (``load_baseline``). Both are linear maps, ``codes = (x − mean) @ components.T``
and ``approx = codes @ decoder + mean``, applied from the fitted arrays alone, so a loaded
baseline gives bit-identical codes.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod

import numpy as np
import torch

from .errors import ConfigError, DataError
from .registry import Registry


class Baseline(ABC):
    """A linear representation fitted on training features [N, F]."""

    name: str = ""

    def __init__(self, n_components: int, seed: int = 0):
        if int(n_components) < 1:
            raise ConfigError(f"baseline {self.name}: n_components must be >= 1, got {n_components}")
        self.n_components = int(n_components)
        self.seed = int(seed)
        self.fitted = False

    def _check(self, features: np.ndarray, fitting: bool) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise DataError(f"baseline {self.name}: features must be [N, F], got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise DataError(f"baseline {self.name}: features contain NaN or inf")
        if fitting and x.shape[0] < 2:
            raise DataError(f"baseline {self.name}: need at least 2 training examples, got {x.shape[0]}")
        if not fitting:
            if not self.fitted:
                raise DataError(f"baseline {self.name}: call fit() before embed()/inverse()")
            if x.shape[1] != self.n_features:
                raise DataError(f"baseline {self.name}: fitted on {self.n_features} features, got {x.shape[1]}")
        return x

    def fit(self, features: np.ndarray) -> Baseline:
        """Fit on training features [N, F]; returns ``self``."""
        x = self._check(features, fitting=True)
        k = min(self.n_components, x.shape[0], x.shape[1])
        self.n_features = x.shape[1]
        with warnings.catch_warnings():
            # FastICA warns when it stops at max_iter; the benchmark reports what it gets.
            warnings.simplefilter("ignore")
            self._fit(x, k)
        self.mean, self.components, self.decoder = (np.asarray(a, dtype=np.float64) for a in self._maps())
        self.fitted = True
        return self

    @abstractmethod
    def _fit(self, x: np.ndarray, k: int) -> None:
        """Fit ``self.model`` (a scikit-learn estimator) with ``k`` components on ``x``."""

    @abstractmethod
    def _maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean [F], components [k, F], decoder [k, F]) of the fitted ``self.model``."""

    def embed(self, features: np.ndarray) -> np.ndarray:
        """Codes [M, n_components] for features [M, F] (zero columns if fewer could be fitted)."""
        x = self._check(features, fitting=False)
        z = (x - self.mean) @ self.components.T
        if z.shape[1] < self.n_components:  # more components asked for than data allow
            z = np.concatenate([z, np.zeros((z.shape[0], self.n_components - z.shape[1]))], axis=1)
        return z.astype(np.float32)

    def inverse(self, codes: np.ndarray) -> np.ndarray:
        """Linear reconstruction [M, F] of codes [M, n_components]."""
        if not self.fitted:
            raise DataError(f"baseline {self.name}: call fit() before embed()/inverse()")
        z = np.asarray(codes, dtype=np.float64)[:, : self.components.shape[0]]
        return (z @ self.decoder + self.mean).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        """The fitted arrays to save with ``sigvae.io.write_npz``: ``mean``, ``components``
        and ``decoder`` (what :func:`load_baseline` needs) and, after a fit, the estimator's
        other arrays (mixing, explained variance ratio, whitening) for inspection."""
        if not self.fitted:
            raise DataError(f"baseline {self.name}: call fit() before state()")
        out = {"mean": self.mean, "components": self.components, "decoder": self.decoder}
        for attr in ("mixing_", "explained_variance_ratio_", "whitening_"):
            v = getattr(getattr(self, "model", None), attr, None)
            if isinstance(v, np.ndarray):
                out[attr.rstrip("_")] = v
        return out


class PCABaseline(Baseline):
    """Principal component analysis: the top-variance orthogonal directions (deterministic)."""

    name = "pca"

    def _fit(self, x: np.ndarray, k: int) -> None:
        import inspect

        from sklearn.decomposition import PCA

        # With N ≫ F, the F × F covariance eigendecomposition (scikit-learn ≥ 1.5) is much
        # faster than an SVD of the data and just as exact; older versions get the full SVD.
        doc = inspect.getdoc(PCA) or ""
        solver = "covariance_eigh" if "covariance_eigh" in doc and x.shape[0] >= x.shape[1] else "full"
        self.model = PCA(n_components=k, svd_solver=solver).fit(x)

    def _maps(self):
        return self.model.mean_, self.model.components_, self.model.components_


class FastICABaseline(Baseline):
    """FastICA (Hyvärinen 1999): PCA whitening to k dims, then maximally non-Gaussian directions."""

    name = "fastica"

    def _fit(self, x: np.ndarray, k: int) -> None:
        from sklearn.decomposition import FastICA

        self.model = FastICA(
            n_components=k, whiten="unit-variance", max_iter=500, tol=1e-4, random_state=self.seed
        ).fit(x)

    def _maps(self):
        return self.model.mean_, self.model.components_, self.model.mixing_.T


#: Baseline name → class.
BASELINES: Registry[type[Baseline]] = Registry("baseline")
BASELINES.register("pca", PCABaseline, description="PCA on the flattened model input features")
BASELINES.register("fastica", FastICABaseline, description="FastICA on the flattened model input features")


def make_baseline(name: str, n_components: int, seed: int = 0) -> Baseline:
    """Instantiate the registered baseline ``name``."""
    return BASELINES.get(name).obj(n_components, seed)


def load_baseline(name: str, n_components: int, seed: int, state: dict[str, np.ndarray]) -> Baseline:
    """A fitted baseline from the arrays of its :meth:`Baseline.state` (no refit, no pickle)."""
    b = make_baseline(name, n_components, seed)
    try:
        mean, comps, dec = (np.asarray(state[k], dtype=np.float64) for k in ("mean", "components", "decoder"))
    except KeyError as e:
        raise DataError(f"baseline {name}: saved state lacks {e.args[0]!r}") from None
    k = comps.shape[0] if comps.ndim == 2 else -1
    if comps.ndim != 2 or mean.shape != (comps.shape[1],) or dec.shape != comps.shape or not 1 <= k <= b.n_components:
        raise DataError(f"baseline {name}: saved arrays do not fit together (mean {mean.shape}, "
                        f"components {comps.shape}, decoder {dec.shape}, n_components {n_components})")
    b.mean, b.components, b.decoder = mean, comps, dec
    b.n_features, b.fitted = comps.shape[1], True
    return b


@torch.no_grad()
def input_features(frontend: torch.nn.Module, signals: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Run waveforms [N, C, T] (an array, or a tensor on any device) through a model front
    end, on the device its buffers are on; return flattened features float32 [N, F]."""
    out = []
    frontend = frontend.eval()
    device = next(frontend.buffers(), torch.empty(0)).device
    for i in range(0, len(signals), batch_size):
        chunk = signals[i : i + batch_size]
        x = chunk if torch.is_tensor(chunk) else torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32))
        out.append(frontend(x.float().to(device)).flatten(1).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


__all__ = ["Baseline", "PCABaseline", "FastICABaseline", "BASELINES", "make_baseline", "load_baseline", "input_features"]
