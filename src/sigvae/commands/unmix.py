"""``sigvae unmix INPUT --method M --n-sources K --out DIR [--reference REF.npz]``.

INPUT: an ``.npz`` with ``mixtures`` [C, T] (optional ``sources``, ``mixing``,
``sample_rate``), a multichannel audio file, or a built-in mixture spec such as
``periodic``, ``gaussian:noise=0.1,seed=3`` or ``nonlinear:sensors=4`` (which carries its
own ground truth). Writes ``DIR/sources.npz``, WAVs for audio input, ``DIR/metrics.json``
when references are known, and ``DIR/figures/unmix.png`` with ``DIR/report.html``.
"""

from __future__ import annotations

import argparse

import numpy as np

from .common import finite_float, positive_int, seed_int


def add_parser(sub) -> None:
    from ..unmixing import METHODS

    methods = ", ".join(f"{e.name}" for e in METHODS)
    p = sub.add_parser(
        "unmix", help="blind source separation of a multichannel recording",
        description="Separate mixtures [C, T] into K sources. Methods: " + methods + ". VAE@BASELINE (e.g. arflow_vae@fastica) "
        "keeps the baseline's separation and lets the VAE denoise each source under its prior (better with observation noise).",
    )
    p.add_argument("input", help="mixtures .npz, a multichannel audio file, or a mixture spec (periodic, gaussian, nonlinear[:key=value,...])")
    p.add_argument("--method", default="fastica", help=f"one of: {methods}, or VAE@BASELINE such as arflow_vae@fastica (default fastica)")
    p.add_argument("--n-sources", type=positive_int, help="number of sources K (default: the reference's, else the channel count)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--reference", help=".npz with 'sources' [S, T] (and optional 'mixing') to score against")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--epochs", type=positive_int, help="VAE methods: training epochs (default 40)")
    p.add_argument("--window", type=positive_int, help="VAE methods: samples per training window (default 250)")
    p.add_argument("--config", help="YAML/JSON with VAE settings (window, hop, epochs, batch_size, lr, init, train_rotation, model: {...})")
    p.add_argument("--nonlinear", action="store_true", help="VAE methods: MLP encoder and decoder (nonlinear mixing)")
    p.add_argument("--demixing", choices=["auto", "orthogonal", "free"], help="VAE methods: orthogonal = a rotation of the whitened "
                   "mixtures (linear mixing), free = unconstrained encoder and decoder; auto (default) = orthogonal unless --nonlinear")
    p.add_argument("--no-progress", action="store_true", help="hide the training progress bar")
    p.set_defaults(func=run_unmix)


def run_unmix(args: argparse.Namespace) -> int:
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
        if args.demixing:
            settings.demixing = args.demixing
        settings.progress = not args.no_progress
        vae = settings
    elif args.config or args.epochs or args.window or args.nonlinear or args.demixing:
        raise ConfigError(f"--config/--epochs/--window/--nonlinear/--demixing apply to VAE methods, not {entry.name!r}")
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
    print(line)
    return 0


def add_mixture_data_parser(dsub) -> None:
    """``sigvae data mixture``: write a generated mixture with its truth to an .npz (called by commands/data.py)."""
    from ..data.mixtures import CONDITIONS

    s = dsub.add_parser("mixture", help="export a mixture with its sources and mixing matrix to an .npz")
    s.add_argument("condition", choices=CONDITIONS, help="periodic, gaussian (GP sources) or nonlinear (MLP mixing)")
    s.add_argument("--out", required=True, help="output .npz (mixtures [C, T], sources [S, T], mixing [C, S], sample_rate)")
    s.add_argument("--sources", type=positive_int, default=3)
    s.add_argument("--sensors", type=positive_int, help="channels C >= sources (default: as many as sources)")
    s.add_argument("--length", type=positive_int, default=4000, help="samples (default 4000)")
    s.add_argument("--sample-rate", type=positive_int, default=1000)
    s.add_argument("--noise", type=finite_float, default=0.0, help="observation-noise std relative to each channel's std")
    s.add_argument("--max-condition", type=finite_float, default=10.0, help="bound on cond(mixing)")
    s.add_argument("--seed", type=seed_int, default=0)
    s.set_defaults(func=run_mixture_data)


def run_mixture_data(args: argparse.Namespace) -> int:
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
    print(f"wrote {mix.name}: {mix.channels} channels × {mix.length} samples, {mix.sources.shape[0]} sources, to {args.out}")
    return 0
