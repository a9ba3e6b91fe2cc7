"""scikit-learn estimators: source separation and trained encoders as transformers.

- :class:`Unmixer` wraps :mod:`sigvae.unmixing` (PCA, FastICA, AMUSE, SOBI and the
  structured-prior VAEs). Data convention: ``X`` is one multichannel recording laid out as
  scikit-learn wants it, [n_samples, n_features] = [T, C] (time steps × sensors), the
  transpose of ``sigvae.unmixing.separate``'s [C, T]; ``transform`` returns the sources
  [T, K]. Rows are time steps, so their order matters to fitting (AMUSE, SOBI and the VAEs
  use lagged statistics) and, for the VAE methods, to transforming.
- :class:`Encoder` wraps a trained model (a folder or a loaded model): ``transform`` maps
  clips [N, C·T] or [N, C, T] to codes [N, D] (posterior means, through
  :func:`sigvae.inference.encode`) and ``inverse_transform`` decodes codes to clips.
- :func:`mcc_scorer` scores an :class:`Unmixer` against known sources (for ``GridSearchCV``).

Both follow scikit-learn's conventions: the constructor only stores its arguments
(``get_params``/``set_params``/``clone`` work), fitted attributes end with ``_``, and they
run inside ``Pipeline`` and ``GridSearchCV``. See docs/estimators.md, which also lists the
scikit-learn estimator checks that do not apply and why.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .errors import ConfigError, DataError, first_line


def _as_data_error(call, *args, **kwargs):
    """Run scikit-learn's input validation; its ValueError becomes a one-line DataError
    (still a ValueError, as scikit-learn's callers expect), without the array it quotes."""
    try:
        return call(*args, **kwargs)
    except DataError:
        raise
    except ValueError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip() and not ln.strip().startswith("array=")]
        raise DataError(" ".join(lines) or first_line(e)) from None


class _PackedModel(NamedTuple):
    """A sigvae model as pickling holds it: registry name, config, weights and metadata."""

    name: str
    config: Any
    state: dict
    metadata: dict
    device: str

    @classmethod
    def pack(cls, model) -> _PackedModel:
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return cls(model.registry_name, model.config, state, getattr(model, "metadata", {}), str(model.device))

    def unpack(self):
        from .models import build_model

        model = build_model(self.name, self.config)
        model.load_state_dict(self.state, strict=True)
        model.metadata = self.metadata
        return model.to(self.device).eval()


def _is_model(value) -> bool:
    if "torch" not in sys.modules:  # no model can exist yet
        return False
    from .models import SigModel

    return isinstance(value, SigModel)


class _PicklesModels:
    """Pickling (and so joblib's parallel runs) that holds sigvae models as name, config and
    weights: torch refuses to pickle parametrized modules, such as the BSS VAEs' rotation."""

    def __getstate__(self):
        state = super().__getstate__()
        return {k: _PackedModel.pack(v) if _is_model(v) else v for k, v in state.items()}

    def __setstate__(self, state):
        super().__setstate__({k: v.unpack() if isinstance(v, _PackedModel) else v for k, v in state.items()})


# ---------------------------------------------------------------------------- Unmixer


def _method_kind(method: str) -> str:
    """``"baseline"`` (a classical, linear method) or ``"vae"``; ConfigError for an unknown name."""
    from .unmixing import METHODS, parse_method

    name, _ = parse_method(str(method))
    return METHODS.get(name).obj[0]


def _is_linear(self) -> bool:
    try:
        return _method_kind(self.method) == "baseline"
    except ConfigError:
        return False


#: What an Unmixer fitted with a VAE method keeps besides the linear attributes.
_VAE_ATTRIBUTES = ("model_", "whitening_", "source_mean_", "source_scale_")


class Unmixer(_PicklesModels, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Blind source separation of one recording X [T, C] into K sources [T, K].

    Parameters
    ----------
    method : str, default "fastica"
        A method of ``sigvae unmix``: ``pca``, ``fastica``, ``amuse``, ``sobi`` (linear),
        ``vae``, ``gp_vae``, ``skr_vae``, ``arflow_vae``, or ``VAE@BASELINE`` (e.g.
        ``arflow_vae@fastica``: the baseline's rotation, VAE-denoised).
    n_sources : int or None, default None
        K, the number of sources; None: one per channel (C).
    random_state : int, RandomState or None, default 0
        The seed of FastICA and of the VAEs' weights and training (an int is used as the
        seed; a RandomState or None draws one).
    max_iter : int, default 1000
        FastICA's iteration limit (other methods ignore it).
    lag : int, default 1
        AMUSE's lag in samples (other methods ignore it).
    lags : int or list of int, default 20
        SOBI's lags: 1..``lags``, or the given list (other methods ignore it).
    vae : dict or None, default None
        Settings of the VAE methods (:class:`sigvae.unmixing.VAESettings`: ``window``,
        ``hop``, ``epochs``, ``batch_size``, ``lr``, ``model``, ...); None: their defaults.
        A classical method refuses settings.

    Attributes
    ----------
    components_ : ndarray [K, C]
        The unmixing: ``sources = (X - mean_) @ components_.T`` for the linear methods; for
        the VAE methods the least-squares linear map from the centred mixtures to the fitted
        sources (what ``sigvae unmix`` reports), an approximation of ``transform``.
    mixing_ : ndarray [C, K]
        The pseudo-inverse of ``components_`` (used by ``inverse_transform``).
    mean_ : ndarray [C]
        The channel means of the fitted recording.
    info_ : dict
        What the method reports (FastICA: ``converged``, ``iterations``; SOBI: ``sweeps``...).
    n_iter_ : int
        FastICA's iterations, SOBI's Jacobi sweeps, a VAE's training epochs; 1 for the
        closed-form PCA and AMUSE.
    model_ : SigModel
        VAE methods only: the trained sequence VAE (``whitening_`` [K, C], ``source_mean_``
        and ``source_scale_`` [K] turn its posterior means into the unit-variance sources).
    n_features_in_ : int
        C.
    """

    def __init__(self, method: str = "fastica", n_sources: int | None = None, random_state: Any = 0,
                 max_iter: int = 1000, lag: int = 1, lags: int | list[int] = 20, vae: dict | None = None):
        self.method = method
        self.n_sources = n_sources
        self.random_state = random_state
        self.max_iter = max_iter
        self.lag = lag
        self.lags = lags
        self.vae = vae

    def _seed(self) -> int:
        rs = self.random_state
        if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool):
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _k(self, channels: int) -> int:
        k = self.n_sources
        if k is None:
            return channels
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ConfigError(f"n_sources must be an integer or None, got {k!r}")
        return int(k)

    def fit(self, X, y=None) -> Unmixer:
        """Separate the recording X [T, C] (``y`` is ignored)."""
        from .unmixing import parse_method, separate
        from .unmixing.classical import BASELINES
        from .unmixing.methods import check_separation_memory

        for stale in _VAE_ATTRIBUTES:  # a refit with another method must not keep a VAE
            self.__dict__.pop(stale, None)
        X = _as_data_error(validate_data, self, X, dtype=np.float64)
        kind = _method_kind(self.method)
        k, seed, x = self._k(X.shape[1]), self._seed(), X.T
        if kind == "baseline":
            if self.vae:
                raise ConfigError(f"method {self.method!r} takes no VAE settings (vae=...)")
            check_separation_memory(*x.shape)
            name, _ = parse_method(str(self.method))
            options = {"fastica": {"max_iter": self.max_iter}, "amuse": {"lag": self.lag}, "sobi": {"lags": self.lags}}
            sep = BASELINES[name](x, k, seed=seed, **options.get(name, {}))
        else:
            with tempfile.TemporaryDirectory(prefix="sigvae-unmixer-") as tmp:
                sep = separate(x, str(self.method), k, seed=seed, vae=self.vae, run_dir=tmp)
                self._keep_vae(tmp, x, k)
        self.components_ = np.asarray(sep.unmixing, dtype=np.float64)
        self.mixing_ = np.linalg.pinv(self.components_)
        self.mean_ = X.mean(axis=0)
        self.info_ = dict(sep.info or {})
        epochs = self.model_.metadata.get("epochs_completed") if kind == "vae" else None
        self.n_iter_ = int(self.info_.get("iterations") or self.info_.get("sweeps") or epochs or 1)
        return self

    def _keep_vae(self, folder: str, x: np.ndarray, k: int) -> None:
        """Keep the VAE trained in ``folder`` and the scaling of its posterior means on ``x`` [C, T]."""
        from .modelfile import load
        from .unmixing import whitener

        self.model_ = load(folder)
        self.whitening_, _ = whitener(x, k)
        raw = self._encode(x - x.mean(axis=1, keepdims=True))
        self.source_mean_ = raw.mean(axis=1)
        self.source_scale_ = raw.std(axis=1) + 1e-12

    def _encode(self, xc: np.ndarray) -> np.ndarray:
        """The VAE's posterior means [K, T] for centred mixtures ``xc`` [C, T]."""
        import torch

        z = torch.as_tensor(self.whitening_ @ xc, dtype=torch.float32)[None]
        with torch.no_grad():
            return self.model_.eval().encode_sequence(z).mean[0].double().numpy()

    def transform(self, X) -> np.ndarray:
        """Sources [T, K] of the recording X [T, C] (zero mean, unit variance on the fitted recording)."""
        check_is_fitted(self, "components_")
        X = _as_data_error(validate_data, self, X, dtype=np.float64, reset=False)
        xc = (X - self.mean_).T
        if hasattr(self, "model_"):
            return ((self._encode(xc) - self.source_mean_[:, None]) / self.source_scale_[:, None]).T
        return (self.components_ @ xc).T

    @available_if(_is_linear)
    def inverse_transform(self, X) -> np.ndarray:
        """Mixtures [T, C] from sources [T, K] (linear methods only): ``X @ mixing_.T + mean_``."""
        check_is_fitted(self, "components_")
        S = _as_data_error(check_array, X, dtype=np.float64)
        if S.shape[1] != self.components_.shape[0]:
            raise DataError(f"sources have {S.shape[1]} columns; this Unmixer makes {self.components_.shape[0]}")
        return S @ self.mixing_.T + self.mean_

    @property
    def _n_features_out(self) -> int:
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None or isinstance(self.random_state, np.random.RandomState)
        return tags


def mcc_scorer(estimator, X, y) -> float:
    """Scorer for ``GridSearchCV``: the MCC (:func:`sigvae.metrics.mcc`) of
    ``estimator.transform(X)`` [T, K] against the known sources ``y`` [T, S] (or [T])."""
    from .metrics import mcc

    y = np.asarray(y, dtype=np.float64)
    return mcc((y[:, None] if y.ndim == 1 else y).T, np.asarray(estimator.transform(X)).T)


# ---------------------------------------------------------------------------- Encoder


class Encoder(_PicklesModels, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A trained model's encoder: clips [N, C·T] or [N, C, T] → codes [N, D].

    Parameters
    ----------
    model : str, path or SigModel, default None
        A model folder (as ``sigvae.load`` reads it) or a loaded model; required.
    batch_size : int, default 256
        Clips encoded (and codes decoded) at once.
    device : str or None, default None
        Where the model runs (``"cpu"``, ``"cuda"``); None: a folder is loaded onto the CPU
        and a loaded model stays where it is (a model on another device is copied there,
        never moved).

    Clips must be at the model's sample rate and exactly its length T, C = its channels
    (a 2-D X holds each clip's channels one after the other; a mono model takes [N, T]);
    :func:`sigvae.inference.fit_to_model` cuts recordings into such clips.

    Attributes
    ----------
    model_ : SigModel
        The loaded model, in eval mode.
    n_features_in_ : int
        C·T.
    """

    def __init__(self, model: Any = None, batch_size: int = 256, device: str | None = None):
        self.model = model
        self.batch_size = batch_size
        self.device = device

    def _load(self):
        from .modelfile import load
        from .models import SigModel

        if self.device is not None:
            _torch_device(self.device)  # ConfigError for a device torch does not know or cannot reach
        if isinstance(self.model, SigModel):
            if self.device is None or self.model.device == _torch_device(self.device):
                return self.model.eval()
            return copy.deepcopy(self.model).to(self.device).eval()
        if isinstance(self.model, (str, os.PathLike)):
            return load(self.model, map_location=self.device or "cpu")
        raise ConfigError("Encoder needs model=: a model folder or a loaded sigvae model"
                          + ("" if self.model is None else f", got {type(self.model).__name__}"))

    def fit(self, X=None, y=None) -> Encoder:
        """Load (or take) the model and check X against it, if given; nothing is trained."""
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        self.model_ = self._load()
        cfg = self.model_.config
        self.n_features_in_ = int(cfg.in_channels) * int(cfg.length)
        self.input_ndim_ = 2
        if X is not None:
            self.input_ndim_ = self._clips(X).ndim_in
        return self

    def _clips(self, X) -> _Clips:
        """X as float32 clips [N, C, T] for the model; DataError naming the expected shapes."""
        cfg = self.model_.config
        c, t = int(cfg.in_channels), int(cfg.length)
        a = _as_data_error(check_array, X, dtype=np.float32, allow_nd=True, ensure_2d=False)
        shapes = f"[N, {c * t}] or [N, {c}, {t}] (clips of {t} samples, {c} channel{'s' * (c > 1)})"
        if a.ndim == 2 and a.shape[1] == c * t:
            return _Clips(a.reshape(len(a), c, t), 2)
        if a.ndim == 3 and a.shape[1:] == (c, t):
            return _Clips(a, 3)
        raise DataError(f"Encoder: input has shape {a.shape}; the model takes {shapes}")

    def transform(self, X) -> np.ndarray:
        """Codes [N, D] (float32): the model's representation, the posterior mean for VAEs."""
        from .inference import encode

        check_is_fitted(self, "model_")
        return encode(self.model_, self._clips(X).clips, batch_size=int(self.batch_size))

    def inverse_transform(self, X) -> np.ndarray:
        """Clips decoded from codes [N, D]: [N, C·T], or [N, C, T] if fit saw 3-D clips.

        NotSupportedError for a model that cannot decode.
        """
        import torch

        check_is_fitted(self, "model_")
        m = self.model_
        z = _as_data_error(check_array, X, dtype=np.float32)
        if z.shape[1] != m.latent_dim:
            raise DataError(f"codes have {z.shape[1]} columns; the model's latent space has {m.latent_dim}")
        out = []
        with torch.no_grad():
            for i in range(0, len(z), int(self.batch_size)):
                zb = torch.from_numpy(z[i : i + int(self.batch_size)]).to(m.device)
                out.append(m.to_waveform(m.decode(zb)).cpu().numpy())
        clips = np.concatenate(out).astype(np.float32)
        return clips.reshape(len(clips), -1) if self.input_ndim_ == 2 else clips

    @property
    def _n_features_out(self) -> int:
        return int(self.model_.latent_dim) if self.model_.latent_dim else int(self.transform(
            np.zeros((1, self.n_features_in_), np.float32)).shape[1])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class _Clips(NamedTuple):
    """Clips [N, C, T] and the number of dimensions of the input they came from."""

    clips: np.ndarray
    ndim_in: int


def _torch_device(device: str):
    """``device`` as a torch device with its index (``cuda`` → ``cuda:0``); ConfigError if
    torch does not know it or it is a CUDA device this machine lacks."""
    import torch

    try:
        d = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from None
    if d.type == "cuda":
        if not torch.cuda.is_available() or (d.index or 0) >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r} is not available on this machine")
        return d if d.index is not None else torch.device("cuda", torch.cuda.current_device())
    return d


__all__ = ["Unmixer", "Encoder", "mcc_scorer"]
