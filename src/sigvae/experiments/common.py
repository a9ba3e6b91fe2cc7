"""Pieces every benchmark shares: seeds and lists, the machine description, the progress bar (lazily)."""

from __future__ import annotations

from ..errors import ConfigError

#: More seeds than this in ``--seeds N`` is a typo, not a plan (each seed is a run of every model).
MAX_SEEDS = 10_000


def parse_seeds(text: str | int) -> list[int]:
    """``"3"`` → [0, 1, 2]; ``"0,4,7"`` → [0, 4, 7]."""
    s = str(text).strip()
    try:
        if "," in s:
            seeds = [int(x) for x in s.split(",") if x.strip()]
        else:
            count = int(s)
            if count > MAX_SEEDS:
                raise ConfigError(f"--seeds {count}: at most {MAX_SEEDS} seeds, each a run of every model")
            seeds = list(range(count))
    except ValueError:
        raise ConfigError(f"--seeds takes a count (3) or a list (0,4,7), got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds must name at least one seed >= 0, got {text!r}")
    if max(seeds) >= 2**32:
        raise ConfigError(f"--seeds: seeds must be below 2^32 (4294967296), got {max(seeds)}")
    return seeds


def parse_list(text: str | None, allowed: list[str] | None = None, what: str = "value") -> list[str] | None:
    """Comma-separated names, checked against ``allowed`` (None passes through)."""
    if text is None:
        return None
    items = [x.strip() for x in str(text).split(",") if x.strip()]
    if not items:
        raise ConfigError(f"empty list of {what}s")
    if allowed is not None:
        bad = [x for x in items if x not in allowed]
        if bad:
            raise ConfigError(f"unknown {what} {bad[0]!r}; choose from {', '.join(allowed)}")
    return items


def machine_description() -> str:
    """One line naming the machine a benchmark ran on: OS, CPU cores, Python, torch, GPU."""
    import os
    import platform

    import torch

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}"
            + (f", CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))


def __getattr__(name: str):
    # BenchmarkProgress is a Lightning callback: importing it here lazily keeps ``import
    # sigvae.experiments.<task>`` (and so ``sigvae benchmark --help``) free of lightning.
    if name == "BenchmarkProgress":
        from .progress import BenchmarkProgress

        return BenchmarkProgress
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
