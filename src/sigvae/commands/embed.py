"""``sigvae embed RUN INPUT --out FILE.npz``: latent representations of inputs, written to an .npz.

Every model writes ``embedding`` [N, D] (its ``embed``), one row per clip. Models with
subspaces (DecVAE) also write, per subspace, the frame-level posteriors
``frame_mean``/``frame_logvar`` [N, F, S, z_dim], the utterance-level
``utterance_mean``/``utterance_logvar`` [N, S, s_dim], ``frame_valid`` [N, F, C] (False where
a component is missing) and ``subspaces`` (names). Ground-truth factors are included when the
input has them and gives one clip per example (``factors``; for SimVowels also
``frame_vowels`` [N, F]). ``sample_rate`` is the model's.

For files (an audio file, a folder of them, an ``.npz``) each row also says where its clip
came from: ``names`` [N] (the audio file's name; for an ``.npz`` its own ``names`` entry, or
``FILE.npz[i]`` for signal i) and ``start_seconds``/``end_seconds`` [N] (float64: the span of
that input the clip holds; the last clip of an input is zero-padded past its end).

Audio files are embedded whole by default — read block by block, cut into the model's clips
and encoded ``--batch-size`` clips at a time — so an hour-long recording needs memory for one
block, one batch and the latents, not for the recording (``--num-examples`` stops after that
many clips). ``.npz`` files are loaded in memory; a built-in source gives 64 draws by default.
"""

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
    say,
    show_progress,
)

#: Signals drawn from a built-in source when --num-examples is not given.
DEFAULT_DRAWS = 64

KEYS_HELP = """\
what the .npz holds (one row per clip):
  embedding [N, D]           the model's representation of each clip (a VAE's posterior mean)
  names [N]                  the input file each clip was cut from (an .npz: its 'names' entry,
                             or FILE.npz[i]); files only
  start_seconds [N]          where each clip starts and ends in that input, in seconds (the last
  end_seconds [N]            clip of an input is zero-padded past its end); files only
  factors [N, K]             ground-truth factors, where the input has them (one clip per example)
  factor_names, frame_vowels
                             the factors' names and the vowel of every frame (SimVowels)
  frame_mean, frame_logvar, frame_valid, utterance_mean, utterance_logvar, subspaces
                             per-subspace latents of DecVAE models
  sample_rate                the model's sample rate (Hz)

examples:
  sigvae embed runs/vae recording.wav --out z.npz
  sigvae embed runs/vae clips/ --batch-size 64 --out z.npz
  sigvae embed runs/decvae simvowels --split test --num-examples 200 --out latents.npz"""


def add_parser(sub) -> None:
    p = add_command(
        sub, "embed", "write latent representations (per subspace for DecVAE) to an .npz",
        description="Cut the input into the model's clips and write each clip's latent representation to an .npz. "
        "Audio files are read in blocks, so a recording of any length fits in memory. Inputs at another sample "
        "rate are resampled to the model's, and multi-channel inputs are mixed down for a mono model (said in "
        "one line).",
    )
    p.epilog = KEYS_HELP
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("input", help=INPUT_HELP)
    p.add_argument("--out", required=True, help="output .npz file")
    add_num_examples(p, None, "embed at most N clips, in input order", old=("--max-examples",),
                     shown=f"every clip of a file, folder or .npz; {DEFAULT_DRAWS} from a built-in source")
    add_seed(p, 0, "seed for drawing from a built-in source")
    p.add_argument("--split", choices=["train", "val", "test"],
                   help="SimVowels speaker split to draw from (default: the one the model was trained on)")
    add_batch_size(p, 32, "clips encoded at once")
    add_progress_options(p)
    p.set_defaults(func=run_embed)


def run_embed(args: argparse.Namespace) -> int:
    import numpy as np

    from ..errors import DataError
    from ..inference import embed_batches, open_input
    from ..io import output_file, write_npz
    from ..modelfile import load
    from .generate import announce_conversion

    if not args.out.endswith(".npz"):
        raise DataError(f"--out must end in .npz, got {args.out!r}")
    if args.split and args.input != "simvowels":
        # Checked before anything is read, so a recording or file never ignores it silently.
        raise DataError(f"--split applies to simvowels only, not {args.input!r}")
    with output_file(args.out) as out:
        model = load(args.run)
        inp = open_input(args.input, model, max_examples=args.num_examples, seed=args.seed, batch=args.batch_size,
                         draws=DEFAULT_DRAWS, options={"split": args.split} if args.split else None)
        announce_conversion(args, inp.conversion)
        arrays = embed_batches(model, _with_progress(args, inp.batches, inp.count))
        count = len(arrays["embedding"])
        if hasattr(model, "subspace_names"):
            arrays["subspaces"] = np.array(model.subspace_names())
        if inp.factors is not None:
            arrays["factors"] = inp.factors
            if hasattr(inp.source, "frame_vowels"):
                arrays["frame_vowels"] = inp.source.frame_vowels(inp.factors)
                arrays["factor_names"] = np.array(inp.factor_names)
        if inp.names is not None:
            arrays["names"] = np.array(inp.names, dtype=str)
            arrays["start_seconds"] = inp.start_seconds
            arrays["end_seconds"] = inp.end_seconds
        write_npz(out, **arrays, sample_rate=np.int64(model.config.sample_rate))
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrays.items() if k not in ("subspaces", "factor_names"))
    say(args, f"wrote {count} examples to {args.out}: {shapes}")
    return 0


def _with_progress(args: argparse.Namespace, batches, total: int):
    """``batches`` with a progress bar over the clips (on a terminal, unless --no-progress or --quiet)."""
    if not show_progress(args):
        yield from batches
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, unit="clip", desc="embedding", disable=None, leave=False) as bar:
        for batch in batches:
            yield batch
            bar.update(len(batch))
