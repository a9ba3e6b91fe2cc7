"""Frames per second of the FD / EWT / VMD decompositions on SimVowels frames.

    PYTHONPATH=src python benchmarks/decompose_speed.py [--frames 8000] [--components 3] [--vmd-chunk 256]

Frames are 25 ms (400 samples at 16 kHz) cut with a 20 ms stride from SimVowels
utterances; each method is timed over all frames at once (it is vectorised over frames),
best of ``--repeats`` runs. Also prints the worst relative reconstruction error
max|Σ components − frame| / max|frame|.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sigvae.data.simvowels import SimVowels
from sigvae.decompose import decompose, frame_signal


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=8000)
    p.add_argument("--components", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--vmd-frames", type=int, default=1000, help="VMD is iterative: time it on fewer frames")
    p.add_argument("--vmd-chunk", type=int, help="frames per VMD batch (default: vmd_decompose's)")
    args = p.parse_args()
    src = SimVowels()
    n_utt = int(np.ceil(args.frames / src.frames_per_utterance))
    data = src.signal_set(n_utt, 0)
    frames = frame_signal(data.signals[:, 0], 400, 320).reshape(-1, 400)[: args.frames]
    print(f"{len(frames)} frames of 400 samples (16 kHz), C = {args.components}")
    for method in ("fd", "ewt", "vmd"):
        x = frames[: args.vmd_frames] if method == "vmd" else frames
        best = np.inf
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            opts = {"chunk": args.vmd_chunk} if method == "vmd" and args.vmd_chunk else {}
            comps = decompose(x, method, args.components, 16000, **opts)
            best = min(best, time.perf_counter() - t0)
        err = float(np.max(np.abs(comps.sum(1) - x)) / np.max(np.abs(x)))
        print(f"{method:>4}: {len(x) / best:9.0f} frames/s  ({len(x)} frames in {best:.3f} s)  max relative sum error {err:.2e}")


if __name__ == "__main__":
    main()
