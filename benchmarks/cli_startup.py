"""Start-up time of the command line: wall time of ``sigvae --help`` and ``sigvae CMD --help``.

    python benchmarks/cli_startup.py --repeats 5

Each command runs ``--repeats`` times in a fresh interpreter (``python -m sigvae ...``); the
median wall time is printed per command, with the heavy libraries the parser loaded (none is
expected: ``tests/test_cli_surface.py`` checks that too). Results go in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["train", "--help"], ["benchmark", "--help"], ["benchmark", "syntone", "--help"])
HEAVY = ("torch", "scipy", "lightning", "sklearn")
PROBE = ("import sys, runpy; sys.argv = ['sigvae', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('sigvae', run_name='__main__')\nexcept SystemExit:\n    pass\n"
         f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="runs per command (default: 5)")
    args = p.parse_args()
    print(f"{'command':32s} {'median s':>9s}  heavy modules loaded")
    for argv in COMMANDS:
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sigvae", *argv], capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        probe = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True)
        loaded = probe.stderr.strip().splitlines()[-1].removeprefix("LOADED ")
        print(f"{'sigvae ' + ' '.join(argv):32s} {statistics.median(times):9.2f}  {loaded}")


if __name__ == "__main__":
    main()
