"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse
import math

TRAINER_FLAGS = ("accelerator", "devices", "strategy", "num_nodes", "precision")


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {v}")
    return v


#: Seeds go to NumPy, torch and Lightning's ``seed_everything``, which takes 32-bit unsigned seeds.
SEED_LIMIT = 2**32


def seed_int(text: str) -> int:
    """A ``--seed``: an integer in [0, 2^32)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed in [0, 2^32), got {text!r}") from None
    if not 0 <= v < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected an integer seed in [0, 2^32), got {v}")
    return v


def finite_float(text: str) -> float:
    """A finite number (``inf`` and ``nan`` are refused: no setting of sigvae means them)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return v


def non_negative_float(text: str) -> float:
    v = finite_float(text)
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return v


def add_trainer_args(p: argparse.ArgumentParser) -> None:
    """Hardware flags passed straight to Lightning's Trainer."""
    g = p.add_argument_group("hardware (handed to Lightning)")
    g.add_argument("--accelerator", help="cpu, gpu, mps or auto (default auto)")
    g.add_argument("--devices", help="number of devices/processes, e.g. 2 (default 1)")
    g.add_argument("--strategy", help="e.g. ddp, ddp_spawn, fsdp (default auto)")
    g.add_argument("--num-nodes", type=positive_int, help="machines taking part (default 1)")
    g.add_argument("--precision", help="32-true, bf16-mixed, 16-mixed (default 32-true)")


def trainer_overrides(args: argparse.Namespace) -> dict:
    out = {}
    for k in TRAINER_FLAGS:
        v = getattr(args, k, None)
        if v is not None:
            out[k] = str(v) if k == "devices" else v
    return out
