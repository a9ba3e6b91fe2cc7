"""``sigvae reconstruct``, ``sigvae sample`` and ``sigvae traverse``: listen to and look at a model."""

from __future__ import annotations

import argparse

from .common import non_negative_float, positive_int, seed_int


def add_parser(sub) -> None:
    p = sub.add_parser("reconstruct", help="encode and decode inputs; write WAVs and a figure")
    p.add_argument("run", help="model folder written by 'sigvae train'")
    p.add_argument("input", help="audio file, folder of audio, .npz, or a built-in source name")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--max-examples", type=positive_int, default=8)
    p.set_defaults(func=run_reconstruct)

    p = sub.add_parser("sample", help="decode draws from the prior; write WAVs and a figure")
    p.add_argument("run")
    p.add_argument("--n", type=positive_int, default=8)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=run_sample)

    p = sub.add_parser("traverse", help="vary one latent at a time; write a grid image and WAVs")
    p.add_argument("run")
    p.add_argument("--input", help="clip to start from (default: the model's training source, or the prior mean)")
    p.add_argument("--steps", type=positive_int, default=7)
    p.add_argument("--span", type=non_negative_float, default=2.5, help="± range in prior standard deviations")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run_traverse)


def _load(run: str):
    from ..modelfile import load

    return load(run)


def run_reconstruct(args: argparse.Namespace) -> int:
    from ..inference import read_input, reconstruct
    from ..io import staged_dir, write_wav
    from ..report.figures import feature_grid
    from ..report.html import Report

    model = _load(args.run)
    clips, _ = read_input(args.input, model, max_examples=args.max_examples)
    feats, rec, waves = reconstruct(model, clips)
    sr = model.config.sample_rate
    with staged_dir(args.out) as out:
        for i in range(len(clips)):
            write_wav(out / f"{i:03d}_original.wav", clips[i], sr)
            write_wav(out / f"{i:03d}_reconstructed.wav", waves[i], sr)
        rep = Report("reconstructions", out)
        rep.figure(feature_grid([feats, rec], ["input", "reconstruction"]), "reconstructions")
    print(f"wrote {2 * len(clips)} WAV files and figures/reconstructions.png to {args.out}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from ..inference import sample
    from ..io import staged_dir, write_wav
    from ..report.figures import feature_grid
    from ..report.html import Report

    model = _load(args.run)
    feats, waves = sample(model, args.n, args.seed)
    with staged_dir(args.out) as out:
        for i, w in enumerate(waves):
            write_wav(out / f"sample_{i:03d}.wav", w, model.config.sample_rate)
        Report("samples", out).figure(feature_grid([feats], ["samples"]), "samples")
    print(f"wrote {len(waves)} samples and figures/samples.png to {args.out}")
    return 0


def run_traverse(args: argparse.Namespace) -> int:
    import torch

    from ..data import SOURCES
    from ..inference import read_input, traverse
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
        print(f"note: {args.run} was trained on files, which a model folder does not choose for sigvae to read: "
              "starting from the prior mean (pass --input CLIP to traverse around a clip)")
    if spec:
        clip = read_input(spec, model, max_examples=1)[0][0]
    else:  # start from the decoded prior mean: a clip whose posterior is near 0
        with torch.no_grad():
            clip = model.to_waveform(model.decode(torch.zeros(1, model.latent_dim)))[0].numpy()
    values, feats, waves = traverse(model, clip, args.steps, args.span)
    with staged_dir(args.out) as out:
        for d in range(waves.shape[0]):
            for j, v in enumerate(values):
                write_wav(out / f"z{d}_{j:02d}_{v:+.2f}.wav", waves[d, j], model.config.sample_rate)
        Report("traversal", out).figure(traversal_grid(values, feats, "latent traversal"), "traversal")
    print(f"wrote a {waves.shape[0]} × {len(values)} traversal (figures/traversal.png and WAVs) to {args.out}")
    return 0


