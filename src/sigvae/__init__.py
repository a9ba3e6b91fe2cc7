"""sigvae: variational decomposition of signals.

The public API (``import sigvae`` imports neither torch nor scipy: each function imports
what it needs when called):

- :func:`train` trains a registered model on a data spec and returns a
  :class:`~sigvae.training.FitResult` (the model with its best weights, its run folder, its history);
- :func:`load` rebuilds a trained model from its folder (safetensors + JSON, no pickle);
- :func:`encode`, :func:`reconstruct`, :func:`sample` and :func:`traverse` use a trained VAE;
- :func:`separate` splits a recording into its sources with a trained separator;
- :func:`unmix` separates a multichannel recording blindly (FastICA, SOBI, ... or a VAE);
- :data:`MODELS` and :data:`SOURCES` are the registries of models and built-in data.

Wherever a function takes a ``model``, it may be a loaded model, the path of a model
folder (as ``sigvae train`` writes it) or what :func:`train` returned. Signals may be NumPy arrays or paths: an audio
file, a folder of audio, an ``.npz`` or a built-in source name. Waveforms are float32
with time on the last axis, in the units of the input (audio: full scale = 1.0).

Example::

    import sigvae

    result = sigvae.train("vae", "syntone", out="runs/vae", train_config={"epochs": 5})
    z = sigvae.encode("runs/vae", "syntone", num_examples=32)  # [32, latent_dim]
    waves = sigvae.sample(result.model, 4)                     # [4, C, T] at the model's rate
    parts = sigvae.separate("runs/separator", "song.wav")      # [K, C, T] at the song's rate
    result = sigvae.unmix("recording.wav", 2, method="sobi")   # result.sources [2, T]
"""

from __future__ import annotations

import os

from .version import __version__


def __getattr__(name: str):
    # Lazy, so `import sigvae` (and the CLI's --help) does not import torch and Lightning.
    if name == "load":
        from .modelfile import load

        return load
    if name == "train":
        from .training import train

        return train
    if name == "MODELS":
        from .models import MODELS

        return MODELS
    if name == "SOURCES":
        from .data import SOURCES

        return SOURCES
    if name in ("Unmixer", "Encoder", "mcc_scorer"):  # scikit-learn estimators
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'sigvae' has no attribute {name!r}")


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


def _model(model, what: str = "model"):
    """``model`` itself if it is a loaded sigvae model, the model of a :func:`train` result, or
    the model folder it names, loaded."""
    from .errors import ConfigError
    from .models import SigModel

    if _is_path(model):
        from .modelfile import load

        return load(model)
    if isinstance(getattr(model, "model", None), SigModel):  # a FitResult
        return model.model
    if not isinstance(model, SigModel):
        raise ConfigError(f"{what} must be a loaded sigvae model or the path of a model folder, got {type(model).__name__}")
    return model


def _array(value, what: str, dtype: str = "float32"):
    """``value`` as a ``dtype`` array of finite real numbers, or a one-line DataError."""
    import numpy as np

    from .errors import DataError

    x = np.asarray(value)
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{what} must hold real numbers, got dtype {x.dtype}")
    if x.size == 0:
        raise DataError(f"{what} is empty (shape {x.shape})")
    x = x.astype(dtype)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{what} contains NaN or inf")
    return x


def _clips(model, signals, sample_rate: int | None, num_examples: int | None, seed: int):
    """``signals`` → the model's clips [M, C, length] at its sample rate (M ≤ ``num_examples``).

    An array [N, C, T], [N, T] (N mono signals) or [T] at ``sample_rate`` Hz (default: the
    model's) is resampled, mixed down and cut into clips by
    :func:`~sigvae.inference.fit_to_model`. A path or source name is read as ``sigvae embed``
    reads it: an audio file block by block (all its clips by default), anything else through
    :func:`~sigvae.inference.read_input` (64 examples by default).
    """
    from .errors import ConfigError, DataError

    if _is_path(signals):
        from pathlib import Path

        import numpy as np

        from .data import SOURCES
        from .inference import iter_audio_clips, read_input

        if sample_rate is not None:
            raise ConfigError("sample_rate applies to arrays; a file or source brings its own")
        spec = os.fspath(signals)
        if spec not in SOURCES and Path(spec).is_file() and Path(spec).suffix.lower() != ".npz":
            return np.concatenate(list(iter_audio_clips(spec, model, max_clips=num_examples)))
        return read_input(spec, model, max_examples=num_examples or 64, seed=seed)[0]
    from .inference import fit_to_model

    x = _array(signals, "signals")
    if x.ndim not in (1, 2, 3):
        raise DataError(f"signals must be [N, C, T], [N, T] or [T], got shape {x.shape}")
    clips = fit_to_model(x[None] if x.ndim == 1 else x, model.config.sample_rate if sample_rate is None else sample_rate, model)
    return clips[:num_examples] if num_examples else clips


def encode(model, signals, sample_rate: int | None = None, *, num_examples: int | None = None,
           batch_size: int = 256, seed: int = 0):
    """The model's representation of ``signals``: float32 [M, D] (posterior means for a VAE).

    ``model``: a loaded model or a model folder. ``signals``: an array [N, C, T], [N, T]
    (N mono signals) or [T] at ``sample_rate`` Hz (default: the model's), or a path / built-in
    source name (an audio file, folder of audio, ``.npz``, ``"syntone"``, ...). Inputs are
    resampled to the model's rate, mixed to its channels and cut into clips of its length
    (the last zero-padded), so M ≥ N when signals are longer than a clip; at most
    ``num_examples`` clips (default: all of an array or audio file, 64 of other inputs).
    ``batch_size`` clips are encoded at once; ``seed`` draws a built-in source's examples.
    The same as ``sigvae embed``'s ``embedding``.
    """
    from .inference import encode as _encode

    m = _model(model)
    return _encode(m, _clips(m, signals, sample_rate, num_examples, seed), batch_size)


def reconstruct(model, signals, sample_rate: int | None = None, *, num_examples: int | None = None, seed: int = 0):
    """Encode and decode ``signals`` with a VAE → reconstructed waveforms, float32 [M, C, length].

    ``model`` and ``signals`` as in :func:`encode`: the inputs are cut into the model's clips
    (at its sample rate, ``model.config.sample_rate`` Hz) and each clip is decoded from its
    posterior mean. :func:`sigvae.inference.fit_to_model` gives the clips themselves.
    """
    from .inference import reconstruct as _reconstruct

    m = _model(model)
    return _reconstruct(m, _clips(m, signals, sample_rate, num_examples, seed))[2]


def sample(model, num_examples: int = 8, *, seed: int = 0):
    """Decode ``num_examples`` draws from a VAE's prior → waveforms, float32 [N, C, length]
    at the model's sample rate; ``seed`` makes the draws repeatable."""
    from .errors import ConfigError
    from .inference import sample as _sample

    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 1:
        raise ConfigError(f"num_examples must be a positive integer, got {num_examples!r}")
    return _sample(_model(model), num_examples, seed)[1]


def traverse(model, signal=None, sample_rate: int | None = None, *, steps: int = 7, span: float = 2.5,
             dims: list[int] | None = None):
    """Vary one latent at a time around ``signal``'s posterior mean → (values [steps], waveforms [D', steps, C, length]).

    ``signal``: one clip as an array [C, T] or [T] at ``sample_rate`` Hz (default: the
    model's), or a path / source name (its first clip is used); default: the decoded prior
    mean. Latent d takes ``mean_d + values`` with ``values = linspace(-span, span, steps)``
    in prior standard deviations; ``dims`` (default: all D latents) chooses which.
    """
    import torch

    from .errors import DataError
    from .inference import traverse as _traverse

    m = _model(model)
    if signal is None:
        with torch.no_grad():
            clip = m.to_waveform(m.decode(torch.zeros(1, m.latent_dim, device=m.device)))[0].cpu().numpy()
    else:
        if not _is_path(signal):
            signal = _array(signal, "signal")
            if signal.ndim not in (1, 2):
                raise DataError(f"signal must be one clip [C, T] or [T], got shape {signal.shape}")
            signal = signal[None] if signal.ndim == 2 else signal[None, None]
        clip = _clips(m, signal, sample_rate, 1, 0)[0]
    values, _, waves = _traverse(m, clip, steps, span, dims)
    return values, waves


def separate(model, waveform, sample_rate: int | None = None, *, chunk_seconds: float = 10.0,
             overlap_seconds: float = 2.0, batch_size: int = 2):
    """Split a recording into its sources with a trained separator → float32 [K, C, T].

    ``model``: a separator (``sigvae train separator``), loaded or its folder.
    ``waveform``: an array [C, T] or [T] at ``sample_rate`` Hz (default: the model's), or an
    audio file (read at its own rate). The estimates have the recording's rate, channels and
    T samples, in the order of ``model.config.names``; at the model's rate they add up to the
    recording. Other rates are resampled for the model and back (what lies above the model's
    Nyquist frequency is lost); any length is processed in chunks of
    ``chunk_seconds`` overlapping by ``overlap_seconds``, ``batch_size`` at a time. The
    same estimates as ``sigvae separate`` (which writes them as 16-bit WAVs).
    """
    from .errors import ConfigError, DataError, NotSupportedError

    m = _model(model)
    if not hasattr(m, "separate"):
        raise NotSupportedError(f"model {m.registry_name!r} does not separate sources; "
                                "train one with 'sigvae train separator --data TRACKS_DIR'")
    if _is_path(waveform):
        from pathlib import Path

        from .data.tracks import read_audio

        path = Path(waveform)
        if not path.is_file():
            raise DataError(f"{path}: input file does not exist")
        x, rate = read_audio(path)
        if sample_rate is not None and int(sample_rate) != rate:
            raise ConfigError(f"{path} is at {rate} Hz, not sample_rate={sample_rate}: leave sample_rate out for a file")
    else:
        x, rate = _array(waveform, "waveform"), sample_rate
        if x.ndim not in (1, 2):
            raise DataError(f"waveform must be [C, T] or [T], got shape {x.shape}")
        x = x[None] if x.ndim == 1 else x
    return m.separate(x, rate, chunk_seconds=chunk_seconds, overlap_seconds=overlap_seconds, batch_size=batch_size)


def unmix(mixtures, n_sources: int | None = None, method: str = "fastica", *, seed: int = 0, vae: dict | None = None):
    """Blind source separation of mixtures [C, T] into ``n_sources`` sources → a ``Separation``.

    ``mixtures``: an array [C, T] (C channels, C ≥ ``n_sources``), or a path: an ``.npz``
    with ``mixtures`` (and maybe ``sources``), a multichannel audio file, or a generated
    mixture spec such as ``"periodic"`` or ``"gaussian:noise=0.1,seed=3"``. ``n_sources``
    default: the input's true source count if it has one, else C. ``method``: ``pca``,
    ``fastica``, ``amuse``, ``sobi``, a VAE (``vae``, ``gp_vae``, ``skr_vae``,
    ``arflow_vae``) or ``VAE@BASELINE`` (see ``sigvae unmix --help``); ``vae``: VAE settings
    (:class:`sigvae.unmixing.VAESettings` fields: window, epochs, ...). Returns
    :class:`sigvae.unmixing.Separation`: ``sources`` [K, T] (zero mean, unit variance, in an
    arbitrary order and sign) and ``unmixing`` [K, C] for linear methods
    (``sources = unmixing @ (mixtures - mean)``). The same as ``sigvae unmix``'s ``sources.npz``.
    """
    from .errors import ConfigError, DataError
    from .unmixing import separate as _separate

    if _is_path(mixtures):
        from .data.mixtures import is_mixture_spec, load_mixture, parse_mixture_spec
        from .unmixing.methods import check_separation_memory

        spec = os.fspath(mixtures)
        if is_mixture_spec(spec):  # its separation is checked before the mixture is generated
            cfg = parse_mixture_spec(spec)
            check_separation_memory(cfg.n_sensors, cfg.length)
        mix = load_mixture(spec)
        x, known = mix.mixtures, (mix.sources.shape[0] if mix.sources is not None else None)
    else:
        x, known = _array(mixtures, "mixtures", "float64"), None
        if x.ndim != 2:
            raise DataError(f"mixtures must be [channels, samples], got shape {x.shape}")
    k = n_sources or known or x.shape[0]
    if k > x.shape[0]:
        raise ConfigError(f"n_sources {k} exceeds the {x.shape[0]} mixture channels (need channels >= sources)")
    return _separate(x, method, k, seed=seed, vae=vae)


__all__ = ["__version__", "load", "train", "encode", "reconstruct", "sample", "traverse", "separate", "unmix",
           "MODELS", "SOURCES", "Unmixer", "Encoder", "mcc_scorer"]
