"""Using a trained model: prepare inputs, reconstruct, sample, traverse latents.

All functions take a loaded :class:`~sigvae.models.SigModel` and NumPy arrays and
return NumPy arrays; waveforms are float32 [N, C, T] at the model's sample rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.signal import resample_poly

from .data import load_signals
from .data.audio import Conversion, open_audio, read_audio_block
from .data.files import npz_names
from .errors import DataError
from .limits import (
    check_allocation,
    check_bytes,
    check_sample_rate,
    resample_filter_bytes,
    resampled_length,
)
from .models import SigModel


def fit_to_model(signals: np.ndarray, sample_rate: int, model: SigModel) -> np.ndarray:
    """Make signals [N, C, T] match the model: resample, mix channels down, cut into clips.

    Each signal is resampled to the model's rate (polyphase), averaged to mono if the
    model is mono, and split into consecutive clips of the model's length (the last one
    zero-padded). Returns [M, C_model, length]; M ≥ N.
    """
    cfg = model.config
    x = np.asarray(signals, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, None, :]
    sample_rate = check_sample_rate(sample_rate, "input")
    out_len = resampled_length(x.shape[-1], sample_rate, cfg.sample_rate)
    check_bytes(f"resampling {sample_rate} Hz → {cfg.sample_rate} Hz", resample_filter_bytes(sample_rate, cfg.sample_rate))
    # float64 resampled, its float32 copy, the mono mix, the zero-padded clips and their reordered copy
    check_allocation(f"{x.shape[0]} input signal(s) cut into the model's clips",
                     (x.shape[0], x.shape[1], -(-out_len // cfg.length) * cfg.length), 24)
    if sample_rate != cfg.sample_rate:
        g = np.gcd(int(sample_rate), int(cfg.sample_rate))
        x = resample_poly(x, cfg.sample_rate // g, sample_rate // g, axis=-1).astype(np.float32)
    if x.shape[1] != cfg.in_channels:
        if cfg.in_channels == 1:
            x = x.mean(axis=1, keepdims=True)
        else:
            raise DataError(f"input has {x.shape[1]} channels; the model expects {cfg.in_channels}")
    length = cfg.length
    n_clips = max(1, int(np.ceil(x.shape[-1] / length)))
    padded = np.zeros((x.shape[0], x.shape[1], n_clips * length), dtype=np.float32)
    padded[..., : x.shape[-1]] = x
    return padded.reshape(x.shape[0], x.shape[1], n_clips, length).transpose(0, 2, 1, 3).reshape(-1, x.shape[1], length)


@dataclass
class InputClips:
    """An input cut into a model's clips, and where each clip came from.

    ``batches`` yields the clips, float32 [b, C, length] at the model's rate, b ≤ the batch
    size; for audio files it reads them as it goes (once: call :meth:`all` or iterate once).
    Per clip (``count`` of them): ``names`` — the input it was cut from (an audio file's
    name; an ``.npz``'s ``names`` entry, else ``FILE.npz[i]``), None for a built-in source;
    ``stems`` — the same without an audio file's suffix, and None where the inputs have no
    names of their own (an ``.npz`` without ``names``); ``part`` / ``parts`` — its index
    among the clips of that input, and how many clips that input gave; ``start_seconds`` / ``end_seconds`` — the span of the input it holds (the last
    clip of an input is zero-padded past its end), None for a built-in source. ``factors``
    [count, K] or None; ``conversion`` counts the inputs resampled or mixed down.
    """

    count: int
    batches: Iterable[np.ndarray]
    channels: int
    length: int
    label: str
    part: np.ndarray
    parts: np.ndarray
    names: list[str] | None = None
    stems: list[str] | None = None
    start_seconds: np.ndarray | None = None
    end_seconds: np.ndarray | None = None
    factors: np.ndarray | None = None
    factor_names: list[str] = field(default_factory=list)
    conversion: Conversion | None = None
    source: object = None

    def all(self) -> np.ndarray:
        """Every clip in one array [count, C, length] (checked against the memory budget first)."""
        check_allocation(f"{self.label}: {self.count} clips", (self.count, self.channels, self.length), 8)
        return np.concatenate(list(self.batches))


def open_input(spec: str, model: SigModel, max_examples: int | None = None, seed: int = 0, batch: int = 32,
               draws: int = 64, options: dict | None = None) -> InputClips:
    """Cut ``spec`` — an audio file, a folder of audio files, an ``.npz``, a built-in source —
    into ``model``'s clips (:class:`InputClips`), at most ``max_examples`` of them (None: all;
    ``draws`` of a built-in source, which draws as many signals as clips are wanted).

    Audio files are read block by block (:func:`iter_audio_clips`), each file of a folder on
    its own: clips never straddle two files, and a short file gives only its own clips. Other
    inputs are loaded whole and cut by :func:`fit_to_model`. ``options`` are a built-in
    source's settings, merged over those the model was trained with.
    """
    path = Path(spec)
    if spec not in _sources() and path.is_dir():
        from .data.files import audio_folder_files, folder_factors

        files, infos = audio_folder_files(path)
        factors, factor_names = folder_factors(path, files)
        return _audio_input(str(path), files, infos, model, max_examples, batch, factors, factor_names)
    if spec not in _sources() and path.is_file() and path.suffix.lower() != ".npz":
        from .data.audio import audio_file_info

        return _audio_input(str(path), [path], [audio_file_info(path)], model, max_examples, batch)
    return _memory_input(spec, model, max_examples, seed, batch, draws, options)


def _sources():
    from .data import SOURCES

    return SOURCES


def _clip_spans(n_samples: int, rate: int, length: int, parts: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (seconds) of the ``parts`` clips cut from ``n_samples`` samples at ``rate`` Hz."""
    starts = np.arange(parts, dtype=np.float64) * length
    return starts / rate, np.minimum(starts + length, n_samples) / rate


def _audio_input(label: str, files: list[Path], infos: list, model: SigModel, max_examples: int | None, batch: int,
                 factors: np.ndarray | None = None, factor_names: list[str] | None = None) -> InputClips:
    """:class:`InputClips` of audio ``files`` (with their headers ``infos``), read as they are used."""
    cfg = model.config
    rate, length = int(cfg.sample_rate), int(cfg.length)
    left = np.inf if max_examples is None else int(max_examples)
    conversion = Conversion(rate, int(cfg.in_channels), "file")
    used, counts, names, parts, part, starts, ends = [], [], [], [], [], [], []
    for fp, info in zip(files, infos):
        if left <= 0:
            break
        n_samples = resampled_length(max(1, int(info.frames)), int(info.samplerate), rate)
        total = max(1, -(-n_samples // length))
        n = int(min(total, left))
        left -= n
        used.append(fp)
        counts.append(n)
        conversion.add(info.samplerate, info.channels)
        names += [fp.name] * n
        parts += [total] * n
        part += range(n)
        a, b = _clip_spans(n_samples, rate, length, total)
        starts.append(a[:n])
        ends.append(b[:n])
    count = int(sum(counts))
    one_each = factors is not None and all(total == 1 for total in parts)
    batches = _rebatch((x for fp, n in zip(used, counts) for x in iter_audio_clips(fp, model, max_clips=n, batch=batch)),
                       batch)
    stems = [Path(name).stem for name in names]
    return InputClips(count, batches, int(cfg.in_channels), length, label, np.array(part), np.array(parts), names, stems,
                      np.concatenate(starts), np.concatenate(ends), factors[:count] if one_each else None,
                      list(factor_names or []) if one_each else [], conversion)


def _rebatch(parts: Iterable[np.ndarray], batch: int) -> Iterator[np.ndarray]:
    """The clips of ``parts`` (arrays [b, C, T]) again, in batches of ``batch`` (the last may be smaller)."""
    held: list[np.ndarray] = []
    n = 0
    for x in parts:
        held.append(x)
        n += len(x)
        while n >= batch:
            joined = held[0] if len(held) == 1 else np.concatenate(held)
            yield joined[:batch]
            held = [joined[batch:]] if len(joined) > batch else []
            n = len(joined) - batch
    if n:
        yield held[0] if len(held) == 1 else np.concatenate(held)


def _memory_input(spec: str, model: SigModel, max_examples: int | None, seed: int, batch: int, draws: int,
                  options: dict | None) -> InputClips:
    """:class:`InputClips` of an ``.npz``, a built-in source or a UCR set, loaded whole."""
    cfg = model.config
    builtin = spec in _sources()
    if builtin:  # a source draws as many signals as clips are wanted
        max_examples = int(max_examples or draws)
        options = {**(_source_options(model, spec) or {}), **(options or {})} or None
    data, source = load_signals(spec, n=int(max_examples or draws), seed=seed,
                                options=options if builtin else _source_options(model, spec))
    own = npz_names(spec, len(data)) if not builtin and Path(spec).suffix.lower() == ".npz" else None
    if max_examples is not None:
        data = data.subset(np.arange(min(len(data), int(max_examples))))
    clips = fit_to_model(data.signals, data.sample_rate, model)
    total = len(clips) // len(data)
    keep = len(clips) if max_examples is None else min(len(clips), int(max_examples))
    clips = clips[:keep]
    conversion = Conversion(int(cfg.sample_rate), int(cfg.in_channels), "signal")
    conversion.add(data.sample_rate, data.channels, len(data))
    n_samples = resampled_length(data.length, data.sample_rate, cfg.sample_rate)
    a, b = _clip_spans(n_samples, int(cfg.sample_rate), int(cfg.length), total)
    names = stems = starts = ends = None
    if not builtin:
        label = Path(spec).name
        names = [own[i] if own else f"{label}[{i}]" for i in range(len(data)) for _ in range(total)][:keep]
        stems = names if own else None
        starts, ends = np.tile(a, len(data))[:keep], np.tile(b, len(data))[:keep]
    factors = data.factors if keep == len(data) and total == 1 else None
    return InputClips(keep, (clips[i : i + batch] for i in range(0, keep, batch)), clips.shape[1], clips.shape[2],
                      spec, np.tile(np.arange(total), len(data))[:keep], np.full(keep, total), names, stems, starts, ends,
                      factors, list(data.factor_names) if factors is not None else [], conversion, source)


def read_input(spec: str, model: SigModel, max_examples: int | None = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``spec`` (a built-in source, .npz, audio folder or single audio file) for ``model``.

    The clips of :func:`open_input`, in one array: an audio file is read block by block and
    only until ``max_examples`` clips are cut (None: all); the clips equal those
    :func:`fit_to_model` cuts from the whole file. Returns (clips [M, C, length] at the
    model's rate, M ≤ max_examples; factors [M, K] or None).
    """
    clips = open_input(spec, model, max_examples=max_examples, seed=seed, draws=16)
    return clips.all(), clips.factors


#: Frames of the input file read at once by :func:`iter_audio_clips` (16 s at 16 kHz:
#: 1 MiB per channel as float32), before the resampling margins.
BLOCK_FRAMES = 1 << 18


def _model_rate_blocks(f, sample_rate: int, target: int, block: int) -> Iterator[np.ndarray]:
    """The whole of ``f`` at ``target`` Hz, as consecutive float32 blocks [C, n].

    At the file's own rate the blocks are the file's samples. Otherwise each block of
    ``block`` input frames (rounded up to a multiple of the reduced ``down`` factor) is
    read with a margin on both sides that covers the half-length of ``resample_poly``'s
    default filter, resampled, and trimmed to the outputs that depend on the block alone;
    since every block starts at a multiple of ``down``, the polyphase filter lines up
    with the whole-file resampling and the samples equal ``resample_poly`` of the whole
    file (the same taps summed in the same order).
    """
    total = int(f.frames)
    if sample_rate == target:
        for start in range(0, total, block):
            yield read_audio_block(f, start, min(block, total - start))
        return
    g = int(np.gcd(int(sample_rate), int(target)))
    up, down = int(target) // g, int(sample_rate) // g
    # resample_poly's filter spans ±10·max(up, down) samples of the upsampled signal,
    # i.e. ±10·max(up, down)/up input frames; +2 for the rounding of its delay.
    margin = -(-(10 * max(up, down) // up + 2) // down) * down
    step = -(-block // down) * down
    n_out = -(-total * up // down)  # resample_poly's output length: ceil(T · up / down)
    for start in range(0, total, step):
        stop = min(total, start + step)
        lo, hi = max(0, start - margin), min(total, stop + margin)
        y = resample_poly(read_audio_block(f, lo, hi - lo), up, down, axis=-1)
        first = start * up // down
        last = n_out if stop == total else stop * up // down
        off = first - lo * up // down
        yield y[:, off : off + last - first].astype(np.float32)


def iter_audio_clips(path: str | Path, model: SigModel, max_clips: int | None = None, batch: int = 32,
                     block: int | None = None) -> Iterator[np.ndarray]:
    """Cut the audio file ``path`` into the model's clips, reading it block by block.

    The same clips as :func:`fit_to_model` on the whole file — resampled to the model's
    rate, averaged to mono for a mono model, consecutive clips of ``model.config.length``
    samples, the last zero-padded — but memory holds one block of ``block`` input frames
    (default :data:`BLOCK_FRAMES`; plus resampling margins) and one batch, whatever the
    file's length. Stops reading
    once ``max_clips`` clips (None: all) have been cut.

    Yields float32 batches [b, C_model, length], b ≤ ``batch``. Raises DataError for a
    file that cannot be read, is empty, or has a channel count the model cannot take.
    """
    import soundfile as sf

    cfg = model.config
    length = int(cfg.length)
    block = int(block or BLOCK_FRAMES)
    limit = np.inf if max_clips is None else int(max_clips)
    f = open_audio(path)  # DataError if unreadable, empty, or holding fewer frames than its header declares
    with f:
        rate = check_sample_rate(f.samplerate, str(path))
        check_bytes(f"{path}: resampling {rate} Hz → {cfg.sample_rate} Hz", resample_filter_bytes(rate, cfg.sample_rate))
        # one block with its resampling margins (float32 read, float64 resampled), and one batch of clips
        check_allocation(f"{path}: reading {f.channels} channel(s) in blocks", (f.channels, block + 3 * rate + 2 * length), 24)
        clips = -(-resampled_length(f.frames, rate, cfg.sample_rate) // length)  # the file's clips at most
        check_allocation(f"{path}: a batch of clips", (min(batch, clips, limit), cfg.in_channels, length), 8)
        if f.channels != cfg.in_channels and cfg.in_channels != 1:
            raise DataError(f"{path}: {f.channels} channels; the model expects {cfg.in_channels}")
        pending = np.zeros((cfg.in_channels, 0), np.float32)  # model-rate samples not yet in a clip
        out: list[np.ndarray] = []
        done = 0
        blocks = _model_rate_blocks(f, int(f.samplerate), int(cfg.sample_rate), block)
        try:
            for x in blocks:
                if x.shape[0] != cfg.in_channels:
                    x = x.mean(axis=0, keepdims=True)  # as fit_to_model: resample, then mix down
                pending = np.concatenate([pending, x], axis=1)
                n = min(pending.shape[1] // length, limit - done)
                for i in range(int(n)):
                    out.append(pending[:, i * length : (i + 1) * length])
                    done += 1
                    if len(out) == batch:
                        yield np.stack(out)
                        out = []
                pending = pending[:, int(n) * length :].copy()
                if done >= limit:
                    break
            else:
                if (pending.shape[1] or not done) and done < limit:  # the zero-padded last clip
                    last = np.zeros((cfg.in_channels, length), np.float32)
                    last[:, : pending.shape[1]] = pending
                    out.append(last)
        except sf.LibsndfileError as e:  # a file corrupt past its header
            raise DataError(f"{path}: cannot be read as audio ({str(e).strip().splitlines()[0]})") from None
        finally:
            blocks.close()
        if out:
            yield np.stack(out)


def _source_options(model: SigModel, spec: str) -> dict | None:
    """The options the model was trained with, reused only for a built-in source of the same name.

    A model folder may come from anyone: its ``training.json`` never chooses a file to
    read, so its options are only taken for generated sources, whose options are typed
    settings (checked when the source is built), never paths.
    """
    from .data import SOURCES

    meta = getattr(model, "metadata", {}) or {}
    options = meta.get("data_options")
    return options if spec in SOURCES and meta.get("data") == spec and isinstance(options, dict) else None


@torch.no_grad()
def encode(model: SigModel, clips: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Representation (``model.embed``) of clips [N, C, T] (an array, or a tensor on any
    device) → float32 array [N, D]."""
    model.eval()
    x = clips if torch.is_tensor(clips) else torch.from_numpy(np.ascontiguousarray(clips))
    out = [model.embed(x[i : i + batch_size].to(model.device)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


#: ``model.latents`` keys (DecVAE) → the names ``sigvae embed`` writes them under.
LATENT_NAMES = {"z_mean": "frame_mean", "z_logvar": "frame_logvar", "valid": "frame_valid",
                "u_mean": "utterance_mean", "u_logvar": "utterance_logvar"}


@torch.no_grad()
def embed_batches(model: SigModel, batches: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Encode clip batches [b, C, T] one at a time; returns the arrays ``sigvae embed`` writes.

    ``embedding`` [N, D] (``model.embed``) for every model; models with ``latents``
    (DecVAE) add ``frame_mean``/``frame_logvar`` [N, F, S, z_dim], ``frame_valid``
    [N, F, C] and, with the sequence branch, ``utterance_mean``/``utterance_logvar``
    [N, S, s_dim]. Only one batch of clips is alive at a time (``batches`` may be a
    generator reading a file); the per-clip results are kept, so memory grows with N
    by the size of one clip's latents, not of its samples.
    """
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for clips in batches:
        x = torch.from_numpy(np.ascontiguousarray(clips)).to(model.device)
        parts.setdefault("embedding", []).append(model.embed(x).cpu().numpy())
        if hasattr(model, "latents"):
            lat = model.latents(x)
            for k, name in LATENT_NAMES.items():
                if k in lat:
                    parts.setdefault(name, []).append(lat[k].cpu().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def _check_outputs(what: str, model: SigModel, count: int, one: torch.Tensor, encode_first: bool = False) -> None:
    """Check ``count`` examples' outputs against the memory budget before computing them.

    ``one`` is one example's decoded features (or, with ``encode_first``, one input clip,
    encoded and decoded here). Per example: the features, the waveform, and for a
    reconstruction the input and its features, in float32, each held twice (tensor and
    the list or stack they are gathered into).
    """
    with torch.no_grad():
        numel = 0
        if encode_first:
            numel += one.numel() + model.features(one).numel()
            one = model.decode(model.encode(one).mean)
        numel += one.numel() + model.to_waveform(one).numel()
    check_allocation(what, (int(count), numel), 8)


@torch.no_grad()
def reconstruct(model: SigModel, clips: np.ndarray, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (input features, reconstructed features, reconstructed waveforms [N, C, T]),
    computed ``batch_size`` clips at a time (None: all at once)."""
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(clips))
    _check_outputs(f"reconstructing {len(clips)} clips", model, len(clips), x[:1].to(model.device), encode_first=True)
    step = int(batch_size or max(1, len(x)))
    feats, recs, waves = [], [], []
    for i in range(0, len(x), step):
        xb = x[i : i + step].to(model.device)
        rec = model.decode(model.encode(xb).mean)
        feats.append(model.features(xb).cpu().numpy())
        recs.append(rec.cpu().numpy())
        waves.append(model.to_waveform(rec).cpu().numpy())
    return np.concatenate(feats), np.concatenate(recs), np.concatenate(waves)


@torch.no_grad()
def sample(model: SigModel, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``n`` prior draws (seeded) → (features, waveforms [n, C, T])."""
    model.eval()
    _check_outputs(f"sample --num-examples {n}", model, n, model.sample(1))
    torch.manual_seed(seed)
    feats = model.sample(n)
    return feats.cpu().numpy(), model.to_waveform(feats).cpu().numpy()


@torch.no_grad()
def traverse(model: SigModel, clip: np.ndarray, steps: int = 7, span: float = 2.5, dims: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vary one latent at a time around the posterior mean of ``clip`` [C, T].

    Returns (values [steps], features [D', steps, ...], waveforms [D', steps, C, T]) where
    latent d takes values ``mean_d + linspace(-span, span, steps)`` (prior units).
    """
    model.eval()
    x = torch.from_numpy(np.asarray(clip, dtype=np.float32)[None]).to(model.device)
    mean = model.encode(x).mean[0]
    dims = list(range(model.latent_dim)) if dims is None else dims
    _check_outputs(f"traverse --steps {steps} over {len(dims)} latent(s)", model, len(dims) * steps, model.decode(mean[None]))
    values = np.linspace(-span, span, steps)
    feats, waves = [], []
    for d in dims:
        z = mean.repeat(steps, 1)
        z[:, d] = mean[d] + torch.as_tensor(values, dtype=z.dtype, device=z.device)
        f = model.decode(z)
        feats.append(f.cpu().numpy())
        waves.append(model.to_waveform(f).cpu().numpy())
    return values, np.stack(feats), np.stack(waves)
