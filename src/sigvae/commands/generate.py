"""``sigvae reconstruct``, ``sigvae sample`` and ``sigvae traverse``: listen to and look at a model."""

from __future__ import annotations

import argparse

from .common import (
    INPUT_HELP,
    RUN_HELP,
    add_batch_size,
    add_command,
    add_num_examples,
    add_progress_options,
    add_seed,
    non_negative_float,
    positive_int,
    say,
)

#: Clips drawn from a built-in source when --num-examples is not given.
DEFAULT_DRAWS = 8
#: Clips shown in a command's figure (every clip is written as WAV).
FIGURE_CLIPS = 8



def add_parser(sub) -> None:
    p = add_command(
        sub, "reconstruct", "encode and decode inputs; write WAVs and a figure",
        description="Encode every clip of the input with the model's posterior mean and decode it again. Writes "
        "<name>_original.wav and <name>_reconstruction.wav per clip, named after the input file (with the clip's "
        "number when a file gives several clips; a number for an .npz without 'names' or a built-in source), and "
        f"figures/reconstructions.png of the first {FIGURE_CLIPS} clips. Inputs at another sample rate are "
        "resampled to the model's, and multi-channel inputs are mixed down for a mono model (said in one line).",
        example=("sigvae reconstruct runs/vae recording.wav --out rec",
                 "sigvae reconstruct runs/vae clips/ --num-examples 20 --out rec",
                 "sigvae reconstruct runs/vae syntone --num-examples 4 --seed 1 --out rec"),
    )
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("input", help=INPUT_HELP)
    p.add_argument("--out", required=True, help="output folder (created; must not hold other files)")
    add_num_examples(p, None, "reconstruct at most N clips, in input order", old=("--max-examples",),
                     shown=f"every clip of a file, folder or .npz; {DEFAULT_DRAWS} from a built-in source")
    add_batch_size(p, 32, "clips encoded and decoded at once")
    add_seed(p, 0, "seed for drawing clips from a built-in source")
    add_progress_options(p)
    p.set_defaults(func=run_reconstruct)

    p = add_command(
        sub, "sample", "decode draws from the prior; write WAVs and a figure",
        description="Draw latent codes from the model's prior and decode them. Writes sample_000.wav, "
        f"sample_001.wav, ... and figures/samples.png (the first {FIGURE_CLIPS}).",
        example=("sigvae sample runs/vae --out samples",
                 "sigvae sample runs/vae --num-examples 16 --seed 3 --out samples"),
    )
    p.add_argument("run", help=RUN_HELP)
    add_num_examples(p, DEFAULT_DRAWS, "how many draws to decode", old=("--n",))
    add_seed(p, 0, "seed of the prior draws; the same seed gives the same samples")
    p.add_argument("--out", required=True, help="output folder (created; must not hold other files)")
    add_progress_options(p)
    p.set_defaults(func=run_sample)

    p = add_command(
        sub, "traverse", "vary one latent at a time; write a grid image and WAVs",
        description="Encode a starting clip, then vary each latent in turn over ± --span prior standard deviations "
        "around its posterior mean, in --steps values, and decode. Writes z<latent>_<step>_<value>.wav and "
        "figures/traversal.png (one row per latent).",
        example=("sigvae traverse runs/vae --out traversal",
                 "sigvae traverse runs/vae --input clip.wav --steps 9 --span 3 --out traversal"),
    )
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--input", metavar="CLIP",
                   help="audio file, folder, .npz or built-in source whose first clip to start from (default: a clip "
                   "of the built-in source the model was trained on; for a model trained on files, the prior mean)")
    p.add_argument("--steps", type=positive_int, default=7, metavar="N", help="values per latent (default: 7)")
    p.add_argument("--span", type=non_negative_float, default=2.5, metavar="S",
                   help="vary each latent over its mean ± S prior standard deviations (default: 2.5)")
    add_seed(p, 0, "seed for drawing the starting clip from a built-in source")
    p.add_argument("--out", required=True, help="output folder (created; must not hold other files)")
    add_progress_options(p)
    p.set_defaults(func=run_traverse)


def _load(run: str):
    from ..modelfile import load

    return load(run)


def announce_conversion(args: argparse.Namespace, conversion) -> None:
    """Say in one line what fitting the input to the model changed (resampled, mixed down), if anything."""
    text = conversion.describe() if conversion else None
    if text:
        say(args, f"sigvae: {text}")


def clip_labels(clips) -> list[str]:
    """File-name stems for the clips of ``clips`` (an :class:`~sigvae.inference.InputClips`).

    The input's name (an audio file's stem, an ``.npz``'s ``names`` entry) made safe by
    :func:`sigvae.io.safe_name`, followed by ``_<k>`` (the clip's number in that input) when
    the input gave several clips; ``000``, ``001``, ... where the inputs have no names (a
    built-in source, an ``.npz`` without ``names``) or a name has nothing usable. Names that
    coincide (``a.wav`` and ``a.flac``; case is ignored) get ``_2``, ``_3``, ... in input order.
    """
    from ..errors import DataError
    from ..io import safe_name

    width = max(3, len(str(clips.count - 1)))
    labels, seen = [], set()
    for i in range(clips.count):
        base = f"{i:0{width}d}"
        if clips.stems is not None:
            try:
                base = safe_name(clips.stems[i], "input name")
            except DataError:
                pass
            else:
                parts = int(clips.parts[i])
                if parts > 1:
                    base += f"_{int(clips.part[i]):0{max(3, len(str(parts - 1)))}d}"
        label, k = base, 1
        while label.casefold() in seen:
            k += 1
            label = f"{base}_{k}"
        seen.add(label.casefold())
        labels.append(label)
    return labels


def run_reconstruct(args: argparse.Namespace) -> int:
    from ..inference import open_input, reconstruct
    from ..io import staged_dir, write_wav
    from ..report.figures import feature_grid
    from ..report.html import Report

    model = _load(args.run)
    inp = open_input(args.input, model, max_examples=args.num_examples, seed=args.seed, batch=args.batch_size,
                     draws=DEFAULT_DRAWS)
    clips = inp.all()
    announce_conversion(args, inp.conversion)
    labels = clip_labels(inp)
    feats, rec, waves = reconstruct(model, clips, batch_size=args.batch_size)
    sr = model.config.sample_rate
    shown = min(FIGURE_CLIPS, len(clips))
    with staged_dir(args.out) as out:
        for label, clip, wave in zip(labels, clips, waves):
            write_wav(out / f"{label}_original.wav", clip, sr)
            write_wav(out / f"{label}_reconstruction.wav", wave, sr)
        rep = Report("reconstructions", out)
        rep.figure(feature_grid([feats[:shown], rec[:shown]], ["input", "reconstruction"],
                                [label[:14] for label in labels[:shown]]), "reconstructions")
    first = "" if shown == len(clips) else f" (first {shown} clips)"
    say(args, f"wrote {2 * len(clips)} WAV files (the original and the reconstruction of {len(clips)} clips) "
              f"and figures/reconstructions.png{first} to {args.out}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from ..inference import sample
    from ..io import staged_dir, write_wav
    from ..report.figures import feature_grid
    from ..report.html import Report

    model = _load(args.run)
    feats, waves = sample(model, args.num_examples, args.seed)
    with staged_dir(args.out) as out:
        for i, w in enumerate(waves):
            write_wav(out / f"sample_{i:03d}.wav", w, model.config.sample_rate)
        Report("samples", out).figure(feature_grid([feats[:FIGURE_CLIPS]], ["samples"]), "samples")
    say(args, f"wrote {len(waves)} samples and figures/samples.png to {args.out}")
    return 0


def run_traverse(args: argparse.Namespace) -> int:
    import torch

    from ..data import SOURCES
    from ..inference import open_input, traverse
    from ..io import staged_dir, write_wav
    from ..report.figures import traversal_grid
    from ..report.html import Report

    model = _load(args.run)
    trained_on = (model.metadata or {}).get("data")
    # A model folder never names a file sigvae opens (it may come from anyone): without
    # --input, start from the built-in source it was trained on, or ask for a clip.
    spec = args.input
    if not spec and isinstance(trained_on, str) and trained_on in SOURCES:
        spec = trained_on
    elif not spec and trained_on:
        say(args, f"note: {args.run} was trained on files, which a model folder does not choose for sigvae to read: "
                  "starting from the prior mean (pass --input CLIP to traverse around a clip)")
    if spec:
        inp = open_input(spec, model, max_examples=1, seed=args.seed, draws=1)
        clip = inp.all()[0]
        announce_conversion(args, inp.conversion)
    else:  # start from the decoded prior mean: a clip whose posterior is near 0
        with torch.no_grad():
            clip = model.to_waveform(model.decode(torch.zeros(1, model.latent_dim)))[0].numpy()
    values, feats, waves = traverse(model, clip, args.steps, args.span)
    with staged_dir(args.out) as out:
        for d in range(waves.shape[0]):
            for j, v in enumerate(values):
                write_wav(out / f"z{d}_{j:02d}_{v:+.2f}.wav", waves[d, j], model.config.sample_rate)
        Report("traversal", out).figure(traversal_grid(values, feats, "latent traversal"), "traversal")
    say(args, f"wrote a {waves.shape[0]} × {len(values)} traversal (figures/traversal.png and WAVs) to {args.out}")
    return 0
