"""Peak memory of separating and embedding a one-hour recording (issue 9).

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/long_recording_memory.py [--minutes 60] [--work DIR]

Writes a mono 16-bit WAV of ``--minutes`` at 16 kHz (block by block), trains a tiny
separator on generated demo tracks (one epoch), then runs each measured command in its
own child process and reads that child's peak resident set size from ``os.wait4``
(``ru_maxrss``, KiB on Linux):

- ``sigvae separate`` (streams files at the model's rate: bounded memory);
- ``Separator.separate`` on the whole array in memory (the API path, for comparison);
- ``sigvae embed`` of the whole recording (streamed: every 0.5 s clip, read in blocks,
  encoded 32 at a time);
- ``python -c 'import sigvae.cli, torch'`` (the interpreter + torch baseline).

``--only baseline,embed`` (say) runs a subset. Prints one Markdown table row per command:
peak RSS (MiB), wall time (s) and CPU time (s, user + system, of the child).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SR = 16000
ROOT = Path(__file__).resolve().parents[1]
#: The measured commands, in the order they run (keys for --only).
ROWS = ("baseline", "separate", "in-memory", "embed")


def write_long_wav(path: Path, minutes: float, block_seconds: int = 60) -> None:
    """A chord with a slowly varying level and some noise, written one block at a time."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    total = int(minutes * 60 * SR)
    with sf.SoundFile(str(path), "w", SR, 1, subtype="PCM_16") as f:
        for start in range(0, total, block_seconds * SR):
            t = np.arange(start, min(total, start + block_seconds * SR)) / SR
            x = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 331 * t) * (1 + np.sin(0.1 * t))
            f.write((x + 0.02 * rng.standard_normal(len(t))).astype(np.float32))


def measure(cmd: list[str], env: dict) -> tuple[float, float, float, int]:
    """Run ``cmd`` as a child; return (peak RSS in MiB, wall seconds, CPU seconds, exit status)."""
    start = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()[-500:]
    proc.stderr.close()
    if proc.returncode:
        print(f"  ({' '.join(cmd[:4])}... failed: {err.strip()})", file=sys.stderr)
    return usage.ru_maxrss / 1024, time.time() - start, usage.ru_utime + usage.ru_stime, proc.returncode


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--work", help="folder for the recording and outputs (default: a temporary folder)")
    p.add_argument("--skip-in-memory", action="store_true", help="leave out the whole-array API row")
    p.add_argument("--only", default=",".join(ROWS), help=f"comma-separated rows to run, of {','.join(ROWS)} (default all)")
    args = p.parse_args()
    only = set(args.only.split(","))
    if only - set(ROWS):
        p.error(f"--only: unknown row {sorted(only - set(ROWS))[0]!r}; choose from {','.join(ROWS)}")
    if args.skip_in_memory:
        only.discard("in-memory")
    work = Path(args.work or tempfile.mkdtemp(prefix="sigvae-longrec-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    py = sys.executable
    wav = work / "long.wav"
    if not wav.exists():
        write_long_wav(wav, args.minutes)
    run = work / "separator"
    if not (run / "model.safetensors").exists():
        cfg = work / "sep.yaml"
        cfg.write_text("data: demo-tracks\nnum_examples: 16\ndata_options: {tracks: 2, track_seconds: 1.0, duration: 0.5}\n"
                       "model_config: {channels: [8, 8], latent_channels: 4, dilations: [1, 2]}\n"
                       "training: {epochs: 1, batch_size: 8, accelerator: cpu}\n")
        subprocess.run([py, "-m", "sigvae", "train", "separator", "--config", str(cfg), "--out", str(run), "--no-progress"],
                       env=env, check=True, capture_output=True)
    rows = {
        "baseline": ("python + import sigvae, torch (baseline)", [py, "-c", "import sigvae.cli, torch, lightning"]),
        "separate": (f"`sigvae separate` ({args.minutes:g} min, streamed)",
                     [py, "-m", "sigvae", "separate", str(run), str(wav), "--out", str(work / "sep-out")]),
        "in-memory": (f"`Separator.separate` on the whole array ({args.minutes:g} min, in memory)",
                      [py, "-c", "import sys, soundfile as sf; from sigvae.modelfile import load; "
                       "m = load(sys.argv[1]); x, _ = sf.read(sys.argv[2], dtype='float32', always_2d=True); "
                       "m.separate(x.T)", str(run), str(wav)]),
        "embed": (f"`sigvae embed` (every clip of {args.minutes:g} min, streamed)",
                  [py, "-m", "sigvae", "embed", str(run), str(wav), "--out", str(work / "embed.npz")]),
    }
    mb = wav.stat().st_size / 2**20
    print(f"recording: {args.minutes:g} min mono 16-bit at {SR} Hz ({mb:.0f} MiB on disk, "
          f"{args.minutes * 60 * SR * 4 / 2**20:.0f} MiB as float32)\n")
    print("| command | peak RSS (MiB) | wall (s) | CPU (s) |\n|---|---:|---:|---:|")
    for key in ROWS:
        if key not in only:
            continue
        name, cmd = rows[key]
        rss, secs, cpu, code = measure(cmd, env)
        print(f"| {name} | {rss:.0f} | {secs:.0f}{'' if code == 0 else ' (failed)'} | {cpu:.0f} |", flush=True)
    if "embed" in only and (work / "embed.npz").is_file():
        with np.load(work / "embed.npz") as z:
            print(f"\nembed.npz: embedding {z['embedding'].shape}")


if __name__ == "__main__":
    main()
