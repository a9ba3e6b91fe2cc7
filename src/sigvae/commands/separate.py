"""``sigvae separate RUN INPUT --out DIR``: split a recording into one WAV per source.

Training is ``sigvae train separator --data TRACKS_DIR`` (the one training path: the
separator model brings its own data builder, see ``Separator.build_training_data``).
"""

from __future__ import annotations

import argparse

from .common import non_negative_float, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser(
        "separate", help="separate a recording into one WAV per source with a trained separator",
        description="Separate INPUT (any length: processed in overlapping chunks) with a model trained by "
        "'sigvae train separator --data TRACKS_DIR'. Writes OUT/<source>.wav at the input's sample rate "
        "and OUT/separation.json.",
    )
    p.add_argument("run", help="model folder written by 'sigvae train separator'")
    p.add_argument("input", help="audio file (WAV, FLAC, ...)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--chunk-seconds", type=non_negative_float, default=10.0, help="chunk length (default 10 s)")
    p.add_argument("--overlap-seconds", type=non_negative_float, default=2.0, help="overlap of consecutive chunks (default 2 s)")
    p.add_argument("--batch", type=positive_int, default=2, help="chunks processed at once (memory ∝ batch × chunk)")
    p.add_argument("--no-resample", action="store_true", help="refuse inputs whose sample rate differs from the model's")
    p.set_defaults(func=run_separate)


def prepare_channels(audio, model_channels: int, path: str):
    """Arrange input [C, T] for a model with ``model_channels``: returns (batch [B, Cm, T], how to undo).

    A mono model separates every input channel on its own; a stereo model gets a mono
    input duplicated (and its estimates averaged back to mono); anything else is refused.
    """
    from ..errors import DataError

    c = audio.shape[0]
    if model_channels == c:
        return audio[None], "same"
    if model_channels == 1:
        return audio[:, None], "per-channel"
    if c == 1:
        return audio.repeat(model_channels, 0)[None], "downmix"
    raise DataError(f"{path}: {c} channels, but the model separates {model_channels}-channel audio "
                    f"(mix the file to {model_channels} channels or mono first)")


def run_separate(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import numpy as np

    from ..data.tracks import read_audio, resample
    from ..errors import ConfigError, DataError, NotSupportedError
    from ..io import staged_dir, write_json, write_wav
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
    audio, sr = read_audio(path)
    cfg = model.config
    notes = []
    if sr != cfg.sample_rate:
        if args.no_resample:
            raise DataError(f"{path}: sample rate {sr} Hz, but the model was trained at {cfg.sample_rate} Hz "
                            "(drop --no-resample to resample it)")
        audio = resample(audio, sr, cfg.sample_rate)
        notes.append(f"resampled {sr} Hz → {cfg.sample_rate} Hz for the model, estimates written at {sr} Hz")
    batch, how = prepare_channels(audio, cfg.in_channels, str(path))
    if how == "per-channel" and audio.shape[0] > 1:
        notes.append(f"the model is mono: each of the {audio.shape[0]} channels separated on its own")
    if how == "downmix":
        notes.append(f"mono input duplicated to the model's {cfg.in_channels} channels, estimates mixed back to mono")
    start = time.time()
    est = np.stack([model.separate(x, args.chunk_seconds, args.overlap_seconds, args.batch) for x in batch])  # [B, K, Cm, T]
    elapsed = time.time() - start
    if how == "per-channel":
        est = est[:, :, 0].transpose(1, 0, 2)  # [K, C, T]
    elif how == "downmix":
        est = est[0].mean(1, keepdims=True)
    else:
        est = est[0]
    if sr != cfg.sample_rate:
        est = resample(est, cfg.sample_rate, sr)
    n = audio.shape[-1] if sr == cfg.sample_rate else int(round(audio.shape[-1] * sr / cfg.sample_rate))
    est = est[..., :n]
    names = cfg.names
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
        print(f"note: {note}")
    print(f"separated {seconds:.1f} s into {', '.join(f'{n}.wav' for n in names)} in {elapsed:.1f} s "
          f"({seconds / max(elapsed, 1e-9):.1f}× real time); wrote {args.out}")
    return 0
