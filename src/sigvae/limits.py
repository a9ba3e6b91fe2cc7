"""The one memory budget every command checks before it allocates what a request sizes,
and the one CPU-thread cap (:func:`thread_limit`) that ``--threads`` sets.

A request — ``--num-examples``, ``--n``, ``--steps``, a generator's options, an audio
file's header, the shapes an ``.npz`` declares, a model's ``config.json`` — sizes arrays
before any of them exists. Each such place computes the bytes it is about to allocate
(the largest array, times the copies made at once where that is known) and calls
:func:`check_allocation` or :func:`check_bytes` first, which refuse anything over
:func:`memory_budget` with one :class:`~sigvae.errors.DataError` line, instead of letting
the kernel's out-of-memory killer end the process (and its neighbours).

The budget, in order of precedence:

1. :func:`set_memory_budget` (the CLI's ``--max-memory SIZE``);
2. the environment variable ``SIGVAE_MAX_MEMORY`` (a size such as ``512M``, ``8G``, ``2GiB``
   or plain bytes; see :func:`parse_size`);
3. the default: half of this machine's physical memory (or of the process's cgroup memory
   limit, if lower). A fixed share rather than half of what is free at that moment, so the
   same command is accepted or refused the same way however busy the machine is.

Sample rates are bounded here too (:func:`check_sample_rate`): a rate sizes resampling
filters and outputs, so a file claiming 2³¹−1 Hz is refused at load.

This is a bottom layer: it imports only the standard library, NumPy and
:mod:`sigvae.errors`.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from contextlib import contextmanager

import numpy as np

from .errors import ConfigError, DataError

#: Environment variable holding the budget (a size, see :func:`parse_size`).
ENV_VAR = "SIGVAE_MAX_MEMORY"
#: Fraction of the physical memory (or cgroup limit) that is the default budget.
DEFAULT_FRACTION = 0.5
#: How to raise the budget, quoted in every refusal.
HOW_TO_RAISE = "--max-memory SIZE or SIGVAE_MAX_MEMORY"
#: The lowest sample rate sigvae accepts, in Hz (inclusive): 1 Hz, which UCR series use.
MIN_SAMPLE_RATE = 1
#: The highest sample rate sigvae accepts, in Hz (inclusive): 1 MHz.
MAX_SAMPLE_RATE = 1_000_000

_budget: int | None = None

_UNITS = {
    "": 1, "B": 1,
    "K": 1 << 10, "KIB": 1 << 10, "KB": 10**3,
    "M": 1 << 20, "MIB": 1 << 20, "MB": 10**6,
    "G": 1 << 30, "GIB": 1 << 30, "GB": 10**9,
    "T": 1 << 40, "TIB": 1 << 40, "TB": 10**12,
}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\s*([A-Za-z]*)\s*$")


def _meminfo_bytes(key: str) -> int | None:
    """``key`` (``MemTotal``, ``MemAvailable``) from Linux's ``/proc/meminfo`` in bytes, or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _sysconf_bytes(pages: str) -> int | None:
    """``pages`` (``SC_PHYS_PAGES``, ``SC_AVPHYS_PAGES``) × the page size, where ``sysconf`` knows it."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf(pages))
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_limit_and_usage() -> tuple[int, int | None] | None:
    """(memory limit, usage or None) of this process's cgroup (v2, else v1); None without a limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file, encoding="ascii") as f:
                limit = f.read().strip()
        except OSError:
            continue
        if not limit.isdigit() or int(limit) >= (1 << 60):  # "max" or a huge number: no limit
            return None
        try:
            with open(usage_file, encoding="ascii") as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            usage = None
        return int(limit), usage
    return None


def available_memory() -> int:
    """Bytes of physical memory available right now: Linux's ``MemAvailable`` (free memory
    plus reclaimable caches), capped by the process's cgroup limit if it has one; else the
    free pages from ``sysconf`` (macOS); 64 GiB if neither is known."""
    avail = _meminfo_bytes("MemAvailable")
    avail = _sysconf_bytes("SC_AVPHYS_PAGES") if avail is None else avail
    if avail is None:
        return 64 << 30
    cgroup = _cgroup_limit_and_usage()
    if cgroup is not None and cgroup[1] is not None:
        avail = min(avail, max(0, cgroup[0] - cgroup[1]))
    return avail


def total_memory() -> int:
    """Bytes of physical memory (``MemTotal``, or ``sysconf`` elsewhere), capped by the process's
    cgroup memory limit if it has one; 64 GiB if unknown."""
    total = _meminfo_bytes("MemTotal")
    total = _sysconf_bytes("SC_PHYS_PAGES") if total is None else total
    if total is None:
        return 64 << 30
    cgroup = _cgroup_limit_and_usage()
    return min(total, cgroup[0]) if cgroup is not None else total


def parse_size(text: str | int) -> int:
    """A size in bytes from ``"512M"``, ``"8G"``, ``"2GiB"``, ``"1.5G"``, ``"1e9"`` or ``"4096"``.

    ``K``/``M``/``G``/``T`` and ``KiB``/``MiB``/``GiB``/``TiB`` are powers of 1024;
    ``KB``/``MB``/``GB``/``TB`` powers of 1000; ``B`` or no unit is bytes (case does not
    matter). Raises :class:`ConfigError` for anything else, and for sizes below one byte.
    """
    if isinstance(text, bool):
        raise ConfigError(f"memory size: expected a size such as 512M, 8G or 2GiB, got {text!r}")
    if isinstance(text, numbers.Integral):
        value, unit = float(text), 1
    else:
        m = _SIZE.match(str(text))
        if not m or m.group(3).upper() not in _UNITS:
            raise ConfigError(f"memory size: expected a size such as 512M, 8G, 2GiB or a number of bytes, got {text!r}")
        value = float(m.group(1) + (f"e{m.group(2)}" if m.group(2) else ""))  # "1e999" is inf, refused below
        unit = _UNITS[m.group(3).upper()]
    nbytes = value * unit
    if not math.isfinite(nbytes) or nbytes < 1:
        raise ConfigError(f"memory size must be at least 1 byte, got {text!r}")
    return int(nbytes)


def format_size(nbytes: float) -> str:
    """``1536`` → ``"1.5 KiB"``; binary units, one decimal."""
    n = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover - loop returns


def set_memory_budget(nbytes: int | None) -> None:
    """Set the budget in bytes for this process (``None``: back to the env var or default)."""
    global _budget
    if nbytes is not None and (isinstance(nbytes, bool) or int(nbytes) < 1):
        raise ConfigError(f"memory budget must be at least 1 byte, got {nbytes!r}")
    _budget = None if nbytes is None else int(nbytes)


def _budget_and_source() -> tuple[int, str]:
    if _budget is not None:
        return _budget, "set by --max-memory"
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            return parse_size(env), f"set by {ENV_VAR}"
        except ConfigError as e:
            raise ConfigError(f"{ENV_VAR}={env!r}: {e}") from None
    return int(total_memory() * DEFAULT_FRACTION), "the default: half this machine's memory"


def memory_budget() -> int:
    """The largest allocation, in bytes, that a request may size (see the module docstring)."""
    return _budget_and_source()[0]


def _check(what: str, need: float, detail: str) -> None:
    budget, source = _budget_and_source()
    if not need <= budget:  # also refuses NaN
        raise DataError(f"{what}: {detail}need {format_size(need)}, over the memory budget of {format_size(budget)} "
                        f"({source}); too large: ask for less, or raise the budget with {HOW_TO_RAISE}")


def check_bytes(what: str, nbytes: float) -> None:
    """Raise :class:`DataError` if ``nbytes`` exceed :func:`memory_budget`; ``what`` names the request."""
    _check(what, float(nbytes), "")


def check_allocation(what: str, shape: tuple[int, ...] | list[int], bytes_per_item: float = 8) -> None:
    """Raise :class:`DataError` if an array of ``shape`` (``bytes_per_item`` each) would exceed the budget.

    Generators build float64 intermediates, so the default counts 8 bytes per value;
    callers that hold several copies at once pass the bytes of all of them per value.
    The product is computed in floating point, so absurd shapes cannot overflow.
    """
    dims = [int(v) for v in shape]
    if any(v < 0 for v in dims):
        raise DataError(f"{what}: negative size in shape {tuple(dims)}")
    need = math.prod(float(v) for v in dims) * float(bytes_per_item)
    _check(what, need, " × ".join(str(v) for v in dims) + " values ")


def check_sample_rate(value, what: str) -> int:
    """``value`` as an int if it is a finite, positive, whole number of Hz within
    [:data:`MIN_SAMPLE_RATE`, :data:`MAX_SAMPLE_RATE`]; else one-line :class:`DataError`
    ``"<what>: sample_rate ..."`` (``what`` names the file or source that holds it)."""
    v = value
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise DataError(f"{what}: sample_rate must be one number, got shape {v.shape}")
        v = v.reshape(()).item()
    elif isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise DataError(f"{what}: sample_rate must be a real number of Hz, got {type(v).__name__} {v!r}")
    f = float(v)
    if not math.isfinite(f) or f != math.floor(f):
        raise DataError(f"{what}: sample_rate must be a finite whole number of Hz, got {v!r}")
    if not MIN_SAMPLE_RATE <= f <= MAX_SAMPLE_RATE:
        raise DataError(f"{what}: sample_rate {v!r} Hz is outside the supported "
                        f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE:,} Hz")
    return int(v)


def resampled_length(frames: int, rate: int, target: int) -> int:
    """Samples ``scipy.signal.resample_poly`` returns for ``frames`` at ``rate`` → ``target`` Hz."""
    rate, target = int(rate), int(target)
    if rate == target:
        return int(frames)
    g = math.gcd(rate, target)
    up, down = target // g, rate // g
    return -(-int(frames) * up // down)


def resample_filter_bytes(rate: int, target: int) -> int:
    """Bytes of the float64 filter ``resample_poly`` designs for ``rate`` → ``target`` Hz (0 if equal)."""
    rate, target = int(rate), int(target)
    if rate == target:
        return 0
    g = math.gcd(rate, target)
    return 8 * (20 * max(target // g, rate // g) + 1)


@contextmanager
def thread_limit(threads: int):
    """Cap torch's and the BLAS libraries' CPU threads for the block (0: leave them)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    if not threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


__all__ = [
    "ENV_VAR", "DEFAULT_FRACTION", "HOW_TO_RAISE", "MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE",
    "available_memory", "total_memory", "parse_size", "format_size", "set_memory_budget", "memory_budget",
    "check_bytes", "check_allocation", "check_sample_rate", "resampled_length", "resample_filter_bytes",
    "thread_limit",
]
