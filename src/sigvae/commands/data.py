"""``sigvae data``: export generated data sets to files."""

from __future__ import annotations

import argparse

from .common import (
    add_command,
    add_num_examples,
    add_progress_options,
    add_seed,
    finite_float,
    non_negative_float,
    positive_int,
    say,
)


def add_parser(sub) -> None:
    p = add_command(sub, "data", "generate data sets to files",
                    description="Write a generated data set (or a UCR/UEA split) to files that 'sigvae train --data', "
                    "'sigvae embed' and the benchmarks read.",
                    example=("sigvae data syntone --num-examples 500 --out tones.npz",
                             "sigvae data demo-tracks --num-examples 4 --out tracks/",
                             "sigvae data ucr GunPoint --out gunpoint.npz"))
    dsub = p.add_subparsers(dest="dataset", metavar="DATASET")
    dsub.required = True
    s = add_command(dsub, "syntone", "export SynTone clips with their factors to an .npz",
                    description="Export SynTone clips (tones: waveform × frequency × amplitude) with their factor "
                    "labels, frequencies and amplitudes to an .npz.",
                    example=("sigvae data syntone --num-examples 500 --out tones.npz",
                             "sigvae data syntone --duration 0.25 --sample-rate 8000 --out short.npz"))
    s.add_argument("--out", required=True, metavar="FILE.npz", help="output .npz file (required)")
    add_num_examples(s, 1000, "number of clips", old=("--n",))
    add_seed(s, 0, "seed of the drawn clips")
    s.add_argument("--duration", type=finite_float, metavar="SECONDS", help="seconds per clip (default: 1.0)")
    s.add_argument("--sample-rate", type=positive_int, metavar="HZ",
                   help="samples per second; frequencies are kept below 0.95 × its half (default: 16000)")
    add_progress_options(s)
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
    import numpy as np

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
    data = src.signal_set(args.num_examples, args.seed)
    write_npz(
        out, signals=data.signals, sample_rate=np.int64(data.sample_rate), factors=data.factors,
        factor_names=np.array(data.factor_names), factor_sizes=np.array(data.factor_sizes),
        frequencies_hz=src.frequencies, amplitudes=src.amplitudes, waveforms=np.array(src.config.waveforms),
    )
    say(args, f"wrote {args.num_examples} clips ({data.signals.shape[-1]} samples at {data.sample_rate} Hz) to {args.out}")
    return 0


# --- ``sigvae data simvowels`` -------------------------------------------------------------


def _add_simvowels(dsub) -> None:
    s = add_command(dsub, "simvowels", "export SimVowels utterances with speaker, vowels and per-frame vowels to an .npz",
                    description="Export SimVowels utterances (formant-synthesised vowel sequences: speaker × vowel "
                    "per frame) with their factors, per-frame vowels and speakers' vocal-tract scales to an .npz.",
                    example=("sigvae data simvowels --num-examples 200 --out vowels.npz",
                             "sigvae data simvowels --split test --out vowels-test.npz"))
    s.add_argument("--out", required=True, metavar="FILE.npz", help="output .npz file (required)")
    add_num_examples(s, 200, "number of utterances", old=("--n",))
    add_seed(s, 0, "seed of the drawn utterances")
    s.add_argument("--split", choices=["train", "val", "test"], default="train",
                   help="speaker split; the three have disjoint speakers (default: train)")
    s.add_argument("--vowels", type=positive_int, metavar="N", help="vowels per utterance (default: 8)")
    add_progress_options(s)
    s.set_defaults(func=run_simvowels)


def run_simvowels(args: argparse.Namespace) -> int:
    import numpy as np

    from ..config import from_dict
    from ..data.simvowels import VOWELS, SimVowels, SimVowelsConfig
    from ..errors import DataError
    from ..io import output_file, write_npz

    if not args.out.endswith(".npz"):
        raise DataError(f"--out must end in .npz, got {args.out!r}")
    opts = {"split": args.split, **({"vowels_per_utterance": args.vowels} if args.vowels else {})}
    src = SimVowels(from_dict(SimVowelsConfig, opts, where="simvowels"))
    data = src.signal_set(args.num_examples, args.seed)
    with output_file(args.out) as out_path:
        write_npz(
            out_path, signals=data.signals, sample_rate=np.int64(data.sample_rate), factors=data.factors,
            factor_names=np.array(data.factor_names), factor_sizes=np.array(data.factor_sizes),
            frame_vowels=src.frame_vowels(data.factors), speaker_vt=src.speaker_vt, vowels=np.array(VOWELS),
        )
    say(args, f"wrote {args.num_examples} utterances ({data.length} samples at {data.sample_rate} Hz, {src.config.split} speakers) to {args.out}")
    return 0


# --- ``sigvae data demo-tracks`` -----------------------------------------------------------


def _add_demo_tracks(dsub) -> None:
    s = add_command(
        dsub, "demo-tracks", "write demo track folders (mixture + vocals + accompaniment WAVs) for separation",
        description="Write MUSDB-style track folders of a formant-synthesised singing voice over harmonic "
        "notes and drums, one folder per track, for 'sigvae train separator --data DIR'.",
        example=("sigvae data demo-tracks --num-examples 20 --out tracks/",
                 "sigvae train separator --data tracks/ --out runs/separator"),
    )
    s.add_argument("--out", required=True, metavar="DIR", help="output folder, one sub-folder per track (required)")
    add_num_examples(s, 20, "number of tracks", old=("--n",))
    add_seed(s, 0, "seed of the generated tracks")
    s.add_argument("--duration", type=non_negative_float, metavar="SECONDS", help="seconds per track, >= 0.5 (default: 8)")
    s.add_argument("--sample-rate", type=positive_int, metavar="HZ", help="samples per second, >= 8000 (default: 16000)")
    s.add_argument("--three-stems", action="store_true",
                   help="split the accompaniment into harmonic and drums stems (default: one accompaniment stem)")
    add_progress_options(s)
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
    write_demo_tracks(args.out, args.num_examples, args.seed, cfg)
    say(args, f"wrote {args.num_examples} tracks ({cfg.duration:g} s at {cfg.sample_rate} Hz; stems {', '.join(cfg.stem_names)}) to {args.out}")
    return 0


# --- ``sigvae data ucr`` -------------------------------------------------------------------


def _add_ucr(dsub) -> None:
    s = add_command(dsub, "ucr", "list the UCR/UEA sets that ship with aeon, or export one split to an .npz",
                    description="Without NAME: list the UCR/UEA time-series classification sets that ship with "
                    "aeon. With NAME: export one split to an .npz (signals, sample_rate=1, factors=class).",
                    example=("sigvae data ucr", "sigvae data ucr GunPoint --split test --out gunpoint-test.npz",
                             "sigvae data ucr Coffee --data-dir UCRArchive_2018 --out coffee.npz"))
    s.add_argument("name", nargs="?", metavar="NAME", help="data set name (default: none, list the shipped sets)")
    s.add_argument("--split", choices=("train", "test"), default="train", help="which split to export (default: train)")
    s.add_argument("--data-dir", metavar="DIR",
                   help="a UCR archive folder (<dir>/<Name>/<Name>_TRAIN.tsv) (default: the sets shipped with aeon)")
    s.add_argument("--out", metavar="FILE.npz", help="output .npz (required with NAME)")
    add_progress_options(s)
    s.set_defaults(func=run_ucr)


def run_ucr(args: argparse.Namespace) -> int:
    import numpy as np

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
    say(args, f"wrote {d.name} {args.split}: {len(s)} series × {s.channels} channel(s) × {s.length} samples to {args.out}")
    return 0
