"""Every command the README and the tour page show runs and exits 0, so the tour cannot rot.

The commands are read from the ```bash blocks of README.md and docs/tour.md (every
``sigvae ...`` segment, README first) and from the tour's ```python block, and run in a scratch
folder with small sizes: :data:`TINY` lists, per command prefix, the flags appended (argparse
keeps the last value of a repeated flag, so an appended ``--epochs 1`` wins over the page's
``--epochs 20``). The input files the tour names (``some.wav``, ``my_clips/``, ``mix.npz``,
...) are generated first. :data:`SKIPPED` names the commands that cannot run here and why; a
command in neither list runs as written. The README's two commands (install and run the
benchmark; ``python -m pytest``) are also checked to be the ones getting started shows.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Where the tour's commands live (README's first screen only has the install and test lines).
TOUR = ROOT / "docs" / "tour.md"
GETTING_STARTED = ROOT / "docs" / "index.md"

#: Command prefix → flags appended so the command finishes in seconds.
TINY: list[tuple[str, list[str]]] = [
    ("sigvae benchmark ucr", ["--profile", "tiny", "--seeds", "1", "--datasets", "GunPoint", "--no-minirocket"]),
    ("sigvae benchmark separate", ["--profile", "tiny", "--out", "runs/bench-separate"]),
    ("sigvae benchmark decvae", ["--profile", "tiny"]),
    ("sigvae benchmark", ["--profile", "tiny"]),
    ("sigvae data syntone", ["--num-examples", "64"]),
    ("sigvae data demo-tracks", ["--num-examples", "4"]),
    ("sigvae train decvae", ["--num-examples", "12", "--epochs", "1"]),
    ("sigvae train separator", ["--epochs", "1", "--num-examples", "16"]),
    ("sigvae train barlow_vqvae", ["--epochs", "1"]),
    ("sigvae train vae --devices 2", ["--epochs", "1", "--num-examples", "64", "--out", "runs/ddp"]),
    ("sigvae train vae --data my_clips/", ["--out", "runs/clips"]),
    ("sigvae train --init-from", ["--epochs", "1"]),
    ("sigvae train --out runs/fvae --resume", []),
    ("sigvae train", ["--epochs", "1"]),
    ("sigvae embed runs/decvae", ["--num-examples", "8"]),
    ("sigvae unmix", ["--epochs", "1"]),
]

#: Commands shown in the README or the tour that this test does not run, with the reason.
SKIPPED: dict[str, str] = {
    "sigvae benchmark --full": "the paper's profile: 32,000 one-second clips and hours of training",
    "bash benchmarks/syntone_full_parallel.sh": "the same full profile in 16 processes",
}


def page_commands(page: Path) -> list[str]:
    """Every ``sigvae ...`` (and ``bash benchmarks/...``) command in a page's bash blocks, in
    order; installation steps and ``python -m pytest`` are not collected."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            for part in re.split(r"\s*(?:&&|&)\s*", line):
                if part.startswith(("sigvae", "bash benchmarks/")):
                    commands.append(part)
    return commands


def readme_commands() -> list[str]:
    """The commands of the README (its install line runs the benchmark), then the tour's."""
    return page_commands(README) + page_commands(TOUR)


def readme_python() -> str:
    """The tour's Python example."""
    return re.search(r"```python\n(.*?)```", TOUR.read_text(encoding="utf-8"), flags=re.S).group(1)


def _bash_lines(page: Path) -> list[str]:
    return [line.strip() for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
            for line in block.splitlines() if line.strip()]


def test_the_readme_shows_the_two_commands_of_getting_started():
    first = _bash_lines(README)[:2]
    assert first[0].startswith("python3 -m venv .venv && ") and first[0].endswith("&& sigvae benchmark --out runs/benchmark"), first
    assert first[1] == "python -m pytest", first
    started = _bash_lines(GETTING_STARTED)
    assert first[0] in started and first[1] in started, "docs/index.md no longer shows the README's two commands"


def _tiny(command: str) -> list[str]:
    argv = shlex.split(command)
    for prefix, extra in TINY:
        if command.startswith(prefix):
            argv = argv + extra
            break
    # Absolute outputs (/tmp/b) go inside the scratch folder.
    return [a.lstrip("/") if i and argv[i - 1] == "--out" else a for i, a in enumerate(argv)]


def _make_inputs(folder: Path) -> None:
    """The files the tour's commands name, small."""
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(folder / "some.wav", tone[:4000], 16000)
    sf.write(folder / "recording.wav", np.tile(tone, 2), 16000)
    sf.write(folder / "song.wav", np.stack([tone, tone[::-1]], 1)[:8000], 8000)
    clips = folder / "my_clips"
    clips.mkdir()
    for i in range(12):
        sf.write(clips / f"clip{i:02d}.wav", (tone[:4000] * (i + 1) / 12 + 0.01 * rng.normal(size=4000)).astype(np.float32), 16000)
    (folder / "cfg.yaml").write_text("training: {epochs: 1, batch_size: 4}\n")
    sources = rng.laplace(size=(3, 2000))
    np.savez(folder / "mix.npz", mixtures=rng.normal(size=(3, 3)) @ sources, sources=sources)


def _new_data_like(exported: Path, new: Path) -> None:
    """``new.npz`` for the fine-tuning line: other clips of the same shape as the exported ones."""
    with np.load(exported) as z:
        signals = z["signals"][::-1][:24] * 0.5
        np.savez(new, signals=signals, sample_rate=z["sample_rate"])


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "sigvae", *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_every_readme_command_is_run_or_skipped_with_a_reason():
    commands = readme_commands()
    assert len(commands) >= 25, commands
    for skipped in SKIPPED:
        assert any(c.startswith(skipped) for c in commands), f"SKIPPED names {skipped!r}, which the tour no longer shows"
    assert all(prefix.startswith("sigvae") for prefix, _ in TINY)


#: Commands that use what an earlier one wrote run after it, in page order, in one chain;
#: the chains run two at a time (CI machines have two cores).
CHAINS = {"fvae": ("runs/fvae", "syntone.npz", "new.npz"), "sep": ("tracks/", "runs/sep"), "decvae": ("decvae",)}


def _chains(commands: list[str]) -> list[list[str]]:
    """The commands grouped into chains that can run beside each other, each in page order."""
    chains: dict[str, list[str]] = {}
    for command in commands:
        key = next((k for k, marks in CHAINS.items() if any(m in command for m in marks)), command)
        chains.setdefault(key, []).append(command)
    return sorted(chains.values(), key=len, reverse=True)  # the longest first: it bounds the wall time


def _run_chain(commands: list[str], folder: Path) -> list[str]:
    """Run one chain; returns a line per failed command (a chain stops at its first failure)."""
    for command in commands:
        argv = _tiny(command)
        done = _run(argv, folder)
        if done.returncode != 0:
            return [f"{shlex.join(argv)} → exit {done.returncode}: {done.stderr.strip()[-400:]}"]
        if argv[:3] == ["sigvae", "data", "syntone"]:
            _new_data_like(folder / argv[argv.index("--out") + 1], folder / "new.npz")
    return []


@pytest.mark.slow
def test_the_readme_tour_runs(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    _make_inputs(tmp_path)
    commands = [c for c in readme_commands() if not any(c.startswith(s) for s in SKIPPED)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [line for lines in pool.map(lambda chain: _run_chain(chain, tmp_path), _chains(commands))
                    for line in lines]
    code = readme_python().replace('"epochs": 10', '"epochs": 1')
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        failures.append(f"the tour's Python example → exit {done.returncode}: {done.stderr.strip()[-400:]}")
    assert not failures, "\n".join(failures)
