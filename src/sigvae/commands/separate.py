"""``sigvae separate RUN INPUT --out DIR``: split a recording into one WAV per source.

Training is ``sigvae train separator --data TRACKS_DIR`` (the one training path: the
separator model brings its own data builder, see ``Separator.build_training_data``).
A file at the model's sample rate is streamed (:func:`run_streaming`); any other is
resampled in memory by :meth:`Separator.separate <sigvae.models.separator.Separator.separate>`,
which is also what :func:`sigvae.separate` calls.
"""

from __future__ import annotations

import argparse

from .common import (
    add_batch_size,
    add_progress_options,
    non_negative_float,
    say,
)

EXAMPLES = """examples:
  sigvae separate runs/separator song.wav --out song_parts
      one WAV per source (e.g. song_parts/vocals.wav) at the song's sample rate
  sigvae separate runs/separator long.flac --out parts --chunk-seconds 20 --batch-size 1
      longer chunks, one at a time (memory grows with chunk length × batch size)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "separate", help="separate a recording into one WAV per source with a trained separator",
        description="Separate INPUT (any length: processed in overlapping chunks) with a model trained by\n"
        "'sigvae train separator --data TRACKS_DIR'. Writes OUT/<source>.wav at the input's sample rate\n"
        "and OUT/separation.json (sources, timings, notes). A mono model separates each channel of\n"
        "a multichannel file on its own.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", help="model folder written by 'sigvae train separator'")
    p.add_argument("input", help="audio file (WAV, FLAC, ...) of any length and sample rate")
    p.add_argument("--out", required=True, help="output folder: one <source>.wav per source and separation.json")
    p.add_argument("--chunk-seconds", type=non_negative_float, default=10.0,
                   help="seconds of audio the model sees at once (default: 10)")
    p.add_argument("--overlap-seconds", type=non_negative_float, default=2.0,
                   help="overlap of consecutive chunks in seconds, less than --chunk-seconds (default: 2)")
    add_batch_size(p, 2, "chunks processed at once; memory grows with batch size × chunk length")
    p.add_argument("--no-resample", action="store_true",
                   help="refuse inputs whose sample rate differs from the model's (default: resample them)")
    add_progress_options(p)
    p.set_defaults(func=run_separate)


def channel_layout(channels: int, model_channels: int, path: str) -> str:
    """How a file of ``channels`` meets a model of ``model_channels`` (as :meth:`Separator.separate` arranges it).

    ``"same"``; ``"per-channel"``: a mono model separates every channel on its own;
    ``"downmix"``: a mono file is duplicated for a multichannel model, its estimates
    averaged back to mono. Anything else is refused with a DataError naming ``path``.
    """
    from ..errors import DataError

    if model_channels == channels:
        return "same"
    if model_channels == 1:
        return "per-channel"
    if channels == 1:
        return "downmix"
    raise DataError(f"{path}: {channels} channels, but the model separates {model_channels}-channel audio "
                    f"(mix the file to {model_channels} channels or mono first)")


def _channel_notes(how: str, channels: int, model_channels: int) -> list[str]:
    """What :func:`channel_layout`'s arrangement ``how`` did to a file of ``channels``, for the user."""
    if how == "per-channel" and channels > 1:
        return [f"the model is mono: each of the {channels} channels separated on its own"]
    if how == "downmix":
        return [f"mono input duplicated to the model's {model_channels} channels, estimates mixed back to mono"]
    return []


def run_separate(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from ..data.audio import audio_file_info
    from ..data.tracks import read_audio
    from ..errors import ConfigError, DataError, NotSupportedError
    from ..io import safe_names, staged_dir, write_json, write_wav
    from ..modelfile import load

    # Check the chunking before any work: a file shorter than one chunk would otherwise
    # never reach the chunk planner's own check.
    if not args.chunk_seconds > 0:
        raise ConfigError(f"--chunk-seconds must be > 0, got {args.chunk_seconds}")
    if args.overlap_seconds >= args.chunk_seconds:
        raise ConfigError(f"--overlap-seconds ({args.overlap_seconds}) must be less than --chunk-seconds ({args.chunk_seconds})")
    model = load(args.run)
    if not hasattr(model, "separate"):
        raise NotSupportedError(f"{args.run}: model {model.registry_name!r} does not separate sources; "
                                "train one with 'sigvae train separator --data TRACKS_DIR'")
    path = Path(args.input)
    if not path.is_file():
        raise DataError(f"{path}: input file does not exist")
    cfg = model.config
    info = audio_file_info(path)  # DataError if unreadable, empty, cut short or at an absurd rate
    if info.samplerate == cfg.sample_rate and hasattr(model, "_separate_batch") and hasattr(model, "align"):
        return run_streaming(args, model, path, info)
    from ..limits import check_allocation, resampled_length

    # In memory: the input at the model's rate, the estimates of every source (stacked and
    # rearranged: float32, three copies) and the input at its own rate.
    check_allocation(f"{path}: separating {info.frames} frames into {len(cfg.names)} sources in memory",
                     (3 * len(cfg.names) + 2, max(info.channels, cfg.in_channels),
                      max(info.frames, resampled_length(info.frames, info.samplerate, cfg.sample_rate))), 4)
    if info.samplerate != cfg.sample_rate and args.no_resample:
        raise DataError(f"{path}: sample rate {info.samplerate} Hz, but the model was trained at {cfg.sample_rate} Hz "
                        "(drop --no-resample to resample it)")
    how = channel_layout(info.channels, cfg.in_channels, str(path))  # checked before reading
    audio, sr = read_audio(path)
    notes = []
    if sr != cfg.sample_rate:
        notes.append(f"resampled {sr} Hz → {cfg.sample_rate} Hz for the model, estimates written at {sr} Hz")
    notes += _channel_notes(how, audio.shape[0], cfg.in_channels)
    start = time.time()
    est = model.separate(audio, sr, chunk_seconds=args.chunk_seconds, overlap_seconds=args.overlap_seconds,
                         batch_size=args.batch_size)  # [K, C, T] at the file's rate
    elapsed = time.time() - start
    names = safe_names(cfg.names, "source name")
    seconds = est.shape[-1] / sr
    with staged_dir(args.out) as out:
        for k, name in enumerate(names):
            write_wav(out / f"{name}.wav", est[k], sr)
        write_json(out / "separation.json", {
            "input": str(path), "model": str(args.run), "sources": names, "sample_rate": sr, "channels": int(est.shape[1]),
            "seconds": round(seconds, 3), "separation_seconds": round(elapsed, 3),
            "speed_x_realtime": round(seconds / max(elapsed, 1e-9), 2), "chunk_seconds": args.chunk_seconds,
            "overlap_seconds": args.overlap_seconds, "notes": notes,
        })
    for note in notes:
        say(args, f"note: {note}")
    say(args, f"separated {seconds:.1f} s into {', '.join(f'{n}.wav' for n in names)} in {elapsed:.1f} s "
          f"({seconds / max(elapsed, 1e-9):.1f}× real time); wrote {args.out}")
    return 0


def _layout_fn(model, how: str, scale):
    """Chunks in the file's layout [B, C, n] → estimates [B, K, C, n], through the model's layout.

    ``scale`` [C, 1] is each file channel's factor to the model's working RMS (applied to
    the input here; the caller divides the finished output by it).
    """
    import torch

    def fn(pieces: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            x = (pieces * scale).to(model.device)
            b, c, n = x.shape
            if how == "same":
                return model._separate_batch(x).cpu()
            if how == "per-channel":  # a mono model: every file channel separated on its own
                est = model._separate_batch(x.reshape(b * c, 1, n))  # [B·C, K, 1, n]
                return est.reshape(b, c, est.shape[1], n).transpose(1, 2).cpu()
            est = model._separate_batch(x.repeat(1, model.config.in_channels, 1))  # mono file, multichannel model
            return est.mean(2, keepdim=True).cpu()

    return fn


def run_streaming(args: argparse.Namespace, model, path, info) -> int:
    """Separate ``path`` block by block: input read, estimates written, in bounded memory.

    Used when the file's rate is the model's (no resampling). Two passes over the file:
    the first measures the RMS that :meth:`Separator.separate` normalises by, the second
    separates chunks (:func:`~sigvae.separating.chunks.separate_stream`) and appends the
    estimates to raw float32 files in the staging folder; each WAV is then converted to
    16-bit PCM block by block with the same peak normalisation as ``write_wav``, so the
    WAVs equal the in-memory path's, while memory stays at a few chunks whatever the length.
    """
    import time

    import numpy as np
    import soundfile as sf
    import torch

    from ..data.audio import open_audio
    from ..inference import read_audio_block
    from ..io import check_inside, safe_names, staged_dir, write_json
    from ..models.separator import TARGET_RMS
    from ..separating.chunks import separate_stream

    cfg, sr, total, c = model.config, int(info.samplerate), int(info.frames), int(info.channels)
    block = 1 << 20
    from ..limits import check_allocation

    check_allocation(f"{path}: reading {c} channel(s) in blocks of {block} frames", (c, block), 12)  # float32 + float64
    with open_audio(path) as f:
        sumsq = np.zeros(c)
        for begin in range(0, total, block):
            # [n, C] as read; DataError if the file ends before its header says, or holds NaN/inf
            x = read_audio_block(f, begin, min(block, total - begin)).T
            sumsq += np.square(x.astype(np.float64)).sum(0)
    how = channel_layout(c, cfg.in_channels, str(path))
    notes = _channel_notes(how, c, cfg.in_channels)
    if how == "per-channel" and c > 1:
        rms = np.sqrt(sumsq / total)
    else:
        rms = np.full(c, np.sqrt(sumsq.sum() / (total * c)))
    # float32 arithmetic as in Separator.separate (a Python float scale on a float32 tensor).
    scale = torch.tensor([TARGET_RMS / max(float(r), 1e-5) for r in rms], dtype=torch.float32)[:, None]
    chunk = max(model.align, int(round(args.chunk_seconds * sr)) // model.align * model.align)
    overlap = min(int(round(args.overlap_seconds * sr)), chunk - model.align)
    names = safe_names(cfg.names, "source name")
    with staged_dir(args.out) as out, sf.SoundFile(str(path)) as f:
        raws = [open(check_inside(out / f".{name}.f32", out), "wb") for name in names]
        peaks = np.zeros(len(names))

        def read(start: int, stop: int) -> np.ndarray:
            # The embed path's reader: a file that ends before its header says is refused
            # with one line instead of handing separate_stream a short block.
            return read_audio_block(f, start, stop - start)

        def write(est: torch.Tensor) -> None:  # [K, C, n], still at the model's working scale
            for k, raw in enumerate(raws):
                part = (est[k] / scale).numpy().astype(np.float32)
                peaks[k] = max(peaks[k], float(np.max(np.abs(part))) if part.size else 0.0)
                try:
                    raw.write(np.ascontiguousarray(part.T).tobytes())
                except OSError as e:  # name the file: "[Errno 28] No space left on device: '…'"
                    raise OSError(e.errno, e.strerror or str(e), raw.name) from None

        start = time.time()
        try:
            separate_stream(_layout_fn(model, how, scale), read, total, chunk, overlap, write,
                            align=model.align, batch=args.batch_size)
        finally:
            for raw in raws:
                raw.close()
        elapsed = time.time() - start
        for k, name in enumerate(names):
            _raw_to_wav(out / f".{name}.f32", out / f"{name}.wav", c, sr, float(peaks[k]), block)
        seconds = total / sr
        write_json(out / "separation.json", {
            "input": str(path), "model": str(args.run), "sources": names, "sample_rate": sr, "channels": c,
            "seconds": round(seconds, 3), "separation_seconds": round(elapsed, 3),
            "speed_x_realtime": round(seconds / max(elapsed, 1e-9), 2), "chunk_seconds": args.chunk_seconds,
            "overlap_seconds": args.overlap_seconds, "notes": notes, "streamed": True,
        })
    for note in notes:
        say(args, f"note: {note}")
    say(args, f"separated {seconds:.1f} s into {', '.join(f'{n}.wav' for n in names)} in {elapsed:.1f} s "
          f"({seconds / max(elapsed, 1e-9):.1f}× real time); wrote {args.out}")
    return 0


def _raw_to_wav(raw, wav, channels: int, sample_rate: int, peak: float, block: int) -> None:
    """Convert interleaved float32 samples in ``raw`` to a 16-bit WAV, dividing by ``peak`` if > 1 (as write_wav)."""
    import os

    import numpy as np
    import soundfile as sf

    # Plain block reads, not np.memmap: pages of a memory map stay in the process's
    # resident set, which would grow with the recording's length.
    try:
        with open(raw, "rb") as src, sf.SoundFile(str(wav), "w", int(sample_rate), channels, subtype="PCM_16", format="WAV") as out:
            while True:
                part = np.fromfile(src, dtype=np.float32, count=block * channels)
                if not part.size:
                    break
                part = part.reshape(-1, channels)
                out.write(part / peak if peak > 1.0 else part)
    except (OSError, RuntimeError) as e:  # libsndfile reports a full disk as a RuntimeError without the file
        if isinstance(e, OSError) and e.filename:
            raise
        raise OSError(getattr(e, "errno", None) or 5, str(e).strip().splitlines()[0] if str(e).strip() else "write failed",
                      str(wav)) from None
    os.unlink(raw)
