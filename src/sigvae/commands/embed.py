"""``sigvae embed RUN INPUT --out FILE.npz``: latent representations of inputs, written to an .npz.

Every model writes ``embedding`` [N, D] (its ``embed``). Models with subspaces (DecVAE)
also write, per subspace, the frame-level posteriors ``frame_mean``/``frame_logvar``
[N, F, S, z_dim], the utterance-level ``utterance_mean``/``utterance_logvar`` [N, S, s_dim],
``frame_valid`` [N, F, C] (False where a component is missing) and ``subspaces`` (names).
Ground-truth factors are included when the input has them (``factors``; for SimVowels also
``frame_vowels`` [N, F]).

A single audio file is embedded whole by default — read block by block, cut into the
model's clips and encoded ``--batch-size`` clips at a time — so an hour-long recording
needs memory for one block, one batch and the latents, not for the recording
(``--max-examples`` stops after that many clips). Other inputs are loaded in memory;
for them ``--max-examples`` defaults to 64.
"""

from __future__ import annotations

import argparse

import numpy as np

from .common import positive_int, seed_int


def add_parser(sub) -> None:
    p = sub.add_parser("embed", help="write latent representations (per subspace for DecVAE) to an .npz")
    p.add_argument("run", help="model folder written by 'sigvae train'")
    p.add_argument("input", help="audio file, folder of audio, .npz, or a built-in source name (simvowels, syntone)")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--max-examples", type=positive_int, default=None,
                   help="at most this many clips (default: every clip of an audio file, read in blocks; 64 for other inputs)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed for drawing from a built-in source")
    p.add_argument("--split", choices=["train", "val", "test"], help="SimVowels speaker split (default: the one trained on)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="clips encoded at once (default 32)")
    p.set_defaults(func=run_embed)


def run_embed(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..data import SOURCES, load_signals
    from ..errors import DataError
    from ..inference import (
        _source_options,
        embed_batches,
        fit_to_model,
        iter_audio_clips,
        read_input,
    )
    from ..io import output_file, write_npz
    from ..modelfile import load

    if not args.out.endswith(".npz"):
        raise DataError(f"--out must end in .npz, got {args.out!r}")
    if args.split and args.input != "simvowels":
        # Checked before anything is read, so a recording or file never ignores it silently.
        raise DataError(f"--split applies to simvowels only, not {args.input!r}")
    with output_file(args.out) as out:
        model = load(args.run)
        extra: dict[str, np.ndarray] = {}
        factors = None
        path = Path(args.input)
        if args.input not in SOURCES and path.is_file() and path.suffix.lower() != ".npz":
            # One recording: streamed, so its length does not bound what can be embedded.
            batches = iter_audio_clips(path, model, max_clips=args.max_examples, batch=args.batch_size)
        else:
            n = args.max_examples or 64
            if args.input in SOURCES:
                options = dict(_source_options(model, args.input) or {})
                if args.split:
                    options["split"] = args.split
                data, source = load_signals(args.input, n=n, seed=args.seed, options=options or None)
                clips = fit_to_model(data.signals, data.sample_rate, model)
                factors = data.factors if len(clips) == len(data) else None
                if factors is not None and hasattr(source, "frame_vowels"):
                    extra["frame_vowels"] = source.frame_vowels(factors)
                    extra["factor_names"] = np.array(data.factor_names)
            else:
                clips, factors = read_input(args.input, model, max_examples=n, seed=args.seed)
            batches = (clips[i : i + args.batch_size] for i in range(0, len(clips), args.batch_size))
        arrays = embed_batches(model, batches)
        count = len(arrays["embedding"])
        if hasattr(model, "subspace_names"):
            arrays["subspaces"] = np.array(model.subspace_names())
        if factors is not None:
            arrays["factors"] = factors
        write_npz(out, **arrays, **extra, sample_rate=np.int64(model.config.sample_rate))
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrays.items() if k != "subspaces")
    print(f"wrote {count} examples to {args.out}: {shapes}")
    return 0
