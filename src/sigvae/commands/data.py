"""``sigvae data``: export generated data sets to files."""

from __future__ import annotations

import argparse

import numpy as np

from .common import finite_float, positive_int, seed_int


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
    # Each data family registers its own `sigvae data NAME` subcommand.
    from ..data.demo_tracks import add_data_parser as add_demo_tracks
    from ..data.simvowels import add_data_parser as add_simvowels
    from ..data.ucr import add_data_parser as add_ucr
    from .unmix import add_mixture_data_parser

    for add in (add_simvowels, add_mixture_data_parser, add_demo_tracks, add_ucr):
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
