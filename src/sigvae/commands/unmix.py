"""``sigvae unmix INPUT --method M --n-sources K --out DIR [--reference REF.npz]``.

INPUT: an ``.npz`` with ``mixtures`` [C, T] (optional ``sources``, ``mixing``,
``sample_rate``), a multichannel audio file, or a built-in mixture spec such as
``periodic``, ``gaussian:noise=0.1,seed=3`` or ``nonlinear:sensors=4`` (which carries its
own ground truth). Writes ``DIR/sources.npz``, WAVs for audio input, ``DIR/metrics.json``
when references are known, and ``DIR/figures/unmix.png`` with ``DIR/report.html``.

Building the parser imports neither torch nor scipy: the method list comes from
:mod:`sigvae.unmixing.catalog`, and the work's modules are imported in the run functions.
"""

from __future__ import annotations

import argparse

from .common import (
    add_progress_options,
    add_seed,
    finite_float,
    positive_int,
    say,
    show_progress,
)

#: The built-in mixture conditions (``sigvae.data.mixtures.CONDITIONS``, which imports scipy:
#: listed here so that ``--help`` stays light; a test checks the two agree).
MIXTURE_CONDITIONS = ("periodic", "gaussian", "nonlinear")

UNMIX_EXAMPLES = """examples:
  sigvae unmix periodic --out unmixed
      separate a generated 3-source mixture with FastICA and score it against its truth
  sigvae unmix recording.wav --method sobi --n-sources 2 --out unmixed
      split a stereo recording into 2 sources with SOBI (WAVs in unmixed/)
  sigvae unmix mix.npz --method arflow_vae@fastica --epochs 20 --out unmixed
      FastICA's separation, each source then denoised by an AR-flow VAE
"""


def add_parser(sub) -> None:
    from ..unmixing.catalog import METHODS

    methods = ", ".join(f"{e.name}" for e in METHODS)
    listing = "\n".join(f"  {e.name:<13} {e.description}" for e in METHODS)
    p = sub.add_parser(
        "unmix", help="blind source separation of a multichannel recording",
        description="Separate mixtures [C, T] (C channels) into K sources without training data.\n\nmethods:\n"
        + listing + "\n  VAE@BASELINE  e.g. arflow_vae@fastica: the baseline's separation, each source then\n"
        "                denoised by the VAE under its prior (better with observation noise)",
        epilog=UNMIX_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="mixtures .npz ('mixtures' [C, T], optional 'sources', 'mixing', 'sample_rate'), "
                   "a multichannel audio file, or a generated mixture: " + ", ".join(MIXTURE_CONDITIONS)
                   + "[:key=value,...], e.g. gaussian:noise=0.1,seed=3")
    p.add_argument("--method", default="fastica", help=f"one of: {methods}, or VAE@BASELINE such as arflow_vae@fastica "
                   "(default: fastica)")
    p.add_argument("--n-sources", type=positive_int, metavar="K",
                   help="number of sources K, at most the channel count (default: the reference's, else the channel count)")
    p.add_argument("--out", required=True, help="output folder: sources.npz, report.html, figures/, WAVs for audio input, "
                   "metrics.json when references are known")
    p.add_argument("--reference", help=".npz with 'sources' [S, T] (and optional 'mixing' [C, S]) to score against "
                   "(default: the input's own, if it has them)")
    add_seed(p, 0, "seed of the method's random start and of VAE training")
    g = p.add_argument_group("VAE methods (vae, gp_vae, skr_vae, arflow_vae and VAE@BASELINE)")
    g.add_argument("--epochs", type=positive_int, help="training epochs (default: 40, or the --config value)")
    g.add_argument("--window", type=positive_int, help="samples per training window (default: 250, or the --config value)")
    g.add_argument("--batch-size", type=positive_int, metavar="N",
                   help="training windows per batch (default: 16, or the --config value)")
    g.add_argument("--config", help="YAML/JSON with VAE settings: window, hop, epochs, batch_size, lr, init, "
                   "train_rotation, model: {...} (default: none, the built-in settings)")
    g.add_argument("--nonlinear", action="store_true", help="MLP encoder and decoder, for nonlinear mixing (default: linear)")
    g.add_argument("--demixing", choices=["auto", "orthogonal", "free"], help="orthogonal = a rotation of the whitened "
                   "mixtures (linear mixing), free = unconstrained encoder and decoder, auto = orthogonal unless "
                   "--nonlinear (default: auto)")
    add_progress_options(p)
    p.set_defaults(func=run_unmix)


def run_unmix(args: argparse.Namespace) -> int:
    import numpy as np

    from ..config import from_dict, load_config_file
    from ..data.mixtures import load_mixture, load_reference_npz
    from ..errors import ConfigError, DataError
    from ..io import staged_dir, write_json, write_npz, write_wav
    from ..metrics import unmixing_scores
    from ..report.figures import unmix_figure
    from ..report.html import Report
    from ..unmixing import METHODS, VAESettings, parse_method, separate

    name, init = parse_method(args.method)
    entry = METHODS.get(name)
    method = f"{name}@{init}" if init else name
    from ..data.mixtures import is_mixture_spec, parse_mixture_spec
    from ..unmixing.methods import check_separation_memory

    if is_mixture_spec(args.input):  # its separation is checked before the mixture is generated
        spec = parse_mixture_spec(args.input)
        check_separation_memory(spec.n_sensors, spec.length)
    mix = load_mixture(args.input)
    sources, mixing = mix.sources, mix.mixing
    if args.reference:
        sources, mixing = load_reference_npz(args.reference, mix.length, mix.channels)
    k = args.n_sources or (sources.shape[0] if sources is not None else mix.channels)
    if k > mix.channels:
        raise ConfigError(f"--n-sources {k} exceeds the {mix.channels} mixture channels (need sensors >= sources)")
    vae = None
    if entry.obj[0] == "vae":
        values = load_config_file(args.config) if args.config else {}
        settings = from_dict(VAESettings, values, where=args.config or "vae settings")
        if args.epochs:
            settings.epochs = args.epochs
        if args.window:
            settings.window = args.window
        if args.nonlinear:
            settings.model = {"encoder": "mlp", "decoder": "mlp", **settings.model}
        if args.batch_size:
            settings.batch_size = args.batch_size
        if args.demixing:
            settings.demixing = args.demixing
        settings.progress = show_progress(args)
        vae = settings
    elif args.config or args.epochs or args.window or args.batch_size or args.nonlinear or args.demixing:
        raise ConfigError("--config/--epochs/--window/--batch-size/--nonlinear/--demixing apply to VAE methods, "
                          f"not {entry.name!r}")
    with staged_dir(args.out) as out:
        result = separate(mix.mixtures, method, k, seed=args.seed, vae=vae,
                          run_dir=(out / "model") if vae is not None else None)
        est = result.sources
        arrays = {"sources": est.astype(np.float32), "sample_rate": np.int64(mix.sample_rate)}
        if result.unmixing is not None:
            arrays["unmixing"] = result.unmixing
        write_npz(out / "sources.npz", **arrays)
        if mix.info.get("audio"):
            peak = np.abs(mix.mixtures).max()
            for i, s in enumerate(est):
                write_wav(out / f"source_{i:02d}.wav", s / (np.abs(s).max() + 1e-12) * peak, mix.sample_rate)
        metrics = None
        if sources is not None:
            try:
                metrics = unmixing_scores(sources, est, mix.mixtures, mixing, result.unmixing)
            except DataError as e:
                raise DataError(f"{args.reference or args.input}: {e}") from None
            write_json(out / "metrics.json", {"method": method, "n_sources": k, "input": args.input, **metrics})
        rep = Report(f"sigvae unmix: {method} on {mix.name}", out)
        rep.text(f"{mix.channels} channels, {mix.length} samples at {mix.sample_rate} Hz → {k} sources with {method} (seed {args.seed}).")
        if metrics:
            rep.table(["metric", "value"], [[m, v] for m, v in metrics.items() if isinstance(v, float)])
        rep.figure(unmix_figure(mix.mixtures, est, sources, mix.sample_rate), "unmix", "mixtures, references (matched order and sign) and estimates")
        rep.write()
    line = f"separated {k} sources with {method}; wrote {args.out}/sources.npz"
    if metrics:
        line += f"; MCC {metrics['mcc']:.3f}" + (f", SI-SDR {metrics['si_sdr']:.1f} dB" if "si_sdr" in metrics else "")
        line += f", Amari {metrics['amari']:.3f}" if "amari" in metrics else ""
    say(args, line)
    return 0


MIXTURE_EXAMPLES = """examples:
  sigvae data mixture periodic --out mix.npz
      3 periodic sources in 3 channels, 4000 samples at 1000 Hz
  sigvae data mixture gaussian --sources 2 --sensors 4 --noise 0.1 --out mix.npz
      2 Gaussian-process sources seen by 4 noisy channels; then: sigvae unmix mix.npz --method sobi --out unmixed
"""


def add_mixture_data_parser(dsub) -> None:
    """``sigvae data mixture``: write a generated mixture with its truth to an .npz (called by commands/data.py)."""
    s = dsub.add_parser(
        "mixture", help="export a mixture with its sources and mixing matrix to an .npz",
        description="Generate mixtures of known sources (for 'sigvae unmix' or your own separation method)\n"
        "and write them with their truth to an .npz: mixtures [C, T], sources [S, T],\n"
        "mixing [C, S] (linear conditions only) and sample_rate.",
        epilog=MIXTURE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("condition", choices=MIXTURE_CONDITIONS, help="periodic (periodic waveforms), gaussian (Gaussian-process "
                   "sources) or nonlinear (Laplace sources through a random MLP mixing)")
    s.add_argument("--out", required=True, help="output .npz file")
    s.add_argument("--sources", type=positive_int, default=3, help="number of sources S (default: 3)")
    s.add_argument("--sensors", type=positive_int, help="number of channels C >= S (default: as many as sources)")
    s.add_argument("--length", type=positive_int, default=4000, help="samples per channel (default: 4000)")
    s.add_argument("--sample-rate", type=positive_int, default=1000, help="sample rate in Hz (default: 1000)")
    s.add_argument("--noise", type=finite_float, default=0.0,
                   help="observation-noise standard deviation, relative to each channel's (default: 0)")
    s.add_argument("--max-condition", type=finite_float, default=10.0,
                   help="largest condition number of the mixing matrix (default: 10)")
    add_seed(s, 0, "seed of the sources and the mixing")
    add_progress_options(s)
    s.set_defaults(func=run_mixture_data)


def run_mixture_data(args: argparse.Namespace) -> int:
    import numpy as np

    from ..config import from_dict
    from ..data.mixtures import MixtureConfig, make_mixture
    from ..errors import DataError
    from ..io import output_file, write_npz

    if not args.out.endswith(".npz"):
        raise DataError(f"--out must end in .npz, got {args.out!r}")
    cfg = from_dict(MixtureConfig, {
        "condition": args.condition, "sources": args.sources, "sensors": args.sensors or 0, "length": args.length,
        "sample_rate": args.sample_rate, "noise": args.noise, "max_condition": args.max_condition, "seed": args.seed,
    }, where="sigvae data mixture")
    mix = make_mixture(cfg)
    arrays = {"mixtures": mix.mixtures, "sources": mix.sources, "sample_rate": np.int64(mix.sample_rate)}
    if mix.mixing is not None:
        arrays["mixing"] = mix.mixing
    with output_file(args.out) as out_path:
        write_npz(out_path, **arrays)
    say(args, f"wrote {mix.name}: {mix.channels} channels × {mix.length} samples, {mix.sources.shape[0]} sources, to {args.out}")
    return 0
