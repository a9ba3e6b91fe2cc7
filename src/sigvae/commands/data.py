"""``sigvae data``: export generated data sets to files."""

from __future__ import annotations

import argparse

import numpy as np

from .common import finite_float, non_negative_float, positive_int, seed_int


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="generate data sets to files")
    dsub = p.add_subparsers(dest="dataset", metavar="DATASET")
    dsub.required = True
    s = dsub.add_parser("syntone", help="export SynTone clips with their factors to an .npz")
    s.add_argument("--out", required=True, help="output .npz file")
    s.add_argument("--n", type=positive_int, default=1000, help="number of clips (default 1000)")
    s.add_argument("--seed", type=seed_int, default=0)
    s.add_argument("--duration", type=finite_float, help="seconds per clip (default 1.0)")
    s.add_argument("--sample-rate", type=positive_int)
    s.set_defaults(func=run_syntone)
    from .unmix import add_mixture_data_parser

    for add in (_add_simvowels, add_mixture_data_parser, _add_demo_tracks, _add_ucr):
        add(dsub)


def run_syntone(args: argparse.Namespace) -> int:
    from ..errors import DataError
    from ..io import output_file

    if not args.out.endswith(".npz"):
        raise DataError(f"--out must end in .npz, got {args.out!r}")
    with output_file(args.out) as out:
        return _export_syntone(args, out)


def _export_syntone(args: argparse.Namespace, out) -> int:
    from ..data import SynTone, SynToneConfig
    from ..io import write_npz

    cfg = SynToneConfig()
    if args.duration is not None:
        cfg.duration = args.duration
    if args.sample_rate is not None:
        cfg.sample_rate = args.sample_rate
        cfg.freq_max = min(cfg.freq_max, 0.95 * cfg.sample_rate / 2)
    from ..config import from_dict, to_dict

    src = SynTone(from_dict(SynToneConfig, to_dict(cfg), where="syntone"))
    data = src.signal_set(args.n, args.seed)
    write_npz(
        out, signals=data.signals, sample_rate=np.int64(data.sample_rate), factors=data.factors,
        factor_names=np.array(data.factor_names), factor_sizes=np.array(data.factor_sizes),
        frequencies_hz=src.frequencies, amplitudes=src.amplitudes, waveforms=np.array(src.config.waveforms),
    )
    print(f"wrote {args.n} clips ({data.signals.shape[-1]} samples at {data.sample_rate} Hz) to {args.out}")
    return 0


# --- ``sigvae data simvowels`` -------------------------------------------------------------


def _add_simvowels(dsub) -> None:
    s = dsub.add_parser("simvowels", help="export SimVowels utterances with speaker, vowels and per-frame vowels to an .npz")
    s.add_argument("--out", required=True, help="output .npz file")
    s.add_argument("--n", type=int, default=200, help="number of utterances (default 200)")
    s.add_argument("--seed", type=seed_int, default=0)
    s.add_argument("--split", choices=["train", "val", "test"], default="train", help="speaker split (disjoint speakers)")
    s.add_argument("--vowels", type=int, help="vowels per utterance (default 8)")
    s.set_defaults(func=run_simvowels)


def run_simvowels(args: argparse.Namespace) -> int:
    from ..config import from_dict
    from ..data.simvowels import VOWELS, SimVowels, SimVowelsConfig
    from ..errors import DataError
    from ..io import output_file, write_npz

    if not args.out.endswith(".npz"):
        raise DataError(f"--out must end in .npz, got {args.out!r}")
    if args.n < 1:
        raise DataError(f"--n must be >= 1, got {args.n}")
    opts = {"split": args.split, **({"vowels_per_utterance": args.vowels} if args.vowels else {})}
    src = SimVowels(from_dict(SimVowelsConfig, opts, where="simvowels"))
    data = src.signal_set(args.n, args.seed)
    with output_file(args.out) as out_path:
        write_npz(
            out_path, signals=data.signals, sample_rate=np.int64(data.sample_rate), factors=data.factors,
            factor_names=np.array(data.factor_names), factor_sizes=np.array(data.factor_sizes),
            frame_vowels=src.frame_vowels(data.factors), speaker_vt=src.speaker_vt, vowels=np.array(VOWELS),
        )
    print(f"wrote {args.n} utterances ({data.length} samples at {data.sample_rate} Hz, {src.config.split} speakers) to {args.out}")
    return 0


# --- ``sigvae data demo-tracks`` -----------------------------------------------------------


def _add_demo_tracks(dsub) -> None:
    s = dsub.add_parser(
        "demo-tracks", help="write demo track folders (mixture + vocals + accompaniment WAVs) for separation",
        description="Write MUSDB-style track folders of a formant-synthesised singing voice over harmonic "
        "notes and drums, one folder per track, for 'sigvae train separator --data DIR'.",
    )
    s.add_argument("--out", required=True, help="output folder (one sub-folder per track)")
    s.add_argument("--n", type=positive_int, default=20, help="number of tracks (default 20)")
    s.add_argument("--seed", type=seed_int, default=0)
    s.add_argument("--duration", type=non_negative_float, help="seconds per track (default 8)")
    s.add_argument("--sample-rate", type=positive_int, help="Hz (default 16000)")
    s.add_argument("--three-stems", action="store_true", help="split the accompaniment into harmonic and drums stems")
    s.set_defaults(func=run_demo_tracks)


def run_demo_tracks(args: argparse.Namespace) -> int:
    from ..config import from_dict
    from ..data.demo_tracks import DemoTracksConfig, write_demo_tracks

    opts: dict = {"three_stems": bool(args.three_stems)}
    if args.duration is not None:
        opts["duration"] = args.duration
    if args.sample_rate is not None:
        opts["sample_rate"] = args.sample_rate
    cfg = from_dict(DemoTracksConfig, opts, where="demo-tracks")
    write_demo_tracks(args.out, args.n, args.seed, cfg)
    print(f"wrote {args.n} tracks ({cfg.duration:g} s at {cfg.sample_rate} Hz; stems {', '.join(cfg.stem_names)}) to {args.out}")
    return 0


# --- ``sigvae data ucr`` -------------------------------------------------------------------


def _add_ucr(dsub) -> None:
    s = dsub.add_parser("ucr", help="list the UCR/UEA sets that ship with aeon, or export one split to an .npz")
    s.add_argument("name", nargs="?", help="data set name (omit to list the shipped sets)")
    s.add_argument("--split", choices=("train", "test"), default="train")
    s.add_argument("--data-dir", help="a UCR archive folder (<dir>/<Name>/<Name>_TRAIN.tsv)")
    s.add_argument("--out", help="output .npz (signals, sample_rate=1, factors=class)")
    s.set_defaults(func=run_ucr)


def run_ucr(args: argparse.Namespace) -> int:
    from ..data.ucr import SHIPPED, load_ucr
    from ..errors import DataError
    from ..io import output_file, write_npz

    if not args.name:
        for name in SHIPPED:
            d = load_ucr(name)
            kind = "equal length" if d.equal_length else "unequal lengths, resampled"
            print(f"{name:<22} train {len(d.y_train):>4}  test {len(d.y_test):>5}  channels {d.channels:>2}  "
                  f"length {d.length:>5}  classes {d.n_classes:>2}  ({kind})")
        return 0
    if not args.out or not args.out.endswith(".npz"):
        raise DataError(f"--out must name an .npz file, got {args.out!r}")
    d = load_ucr(args.name, args.data_dir)
    s = d.signal_set(args.split)
    with output_file(args.out) as out_path:
        write_npz(out_path, signals=s.signals, sample_rate=np.int64(1), factors=s.factors,
                  factor_names=np.array(s.factor_names), factor_sizes=np.array(s.factor_sizes),
                  classes=np.array(d.classes), lengths=d.lengths_train if args.split == "train" else d.lengths_test,
                  train_mean=d.mean, train_std=d.std)
    print(f"wrote {d.name} {args.split}: {len(s)} series × {s.channels} channel(s) × {s.length} samples to {args.out}")
    return 0
