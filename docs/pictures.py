"""Make the documentation site's pictures (docs/images/*.png) from small runs of sigvae.

    python docs/pictures.py                   # all three (about 15 minutes on 2 CPU cores)
    python docs/pictures.py summary traversal # some of them

Each picture comes from sigvae's own commands, run here in a temporary folder:

- ``report-summary.png``: the summary that opens ``report.html`` of
  ``sigvae benchmark --profile tiny``, drawn from that report's HTML (its data bullets, the
  best-model table and the warnings), since a screenshot would need a browser;
- ``traversal.png``: the figure ``sigvae traverse`` writes, for a ``vae`` trained on SynTone
  (:data:`TRAVERSAL_TRAIN` gives the flags);
- ``separation.png``: spectrograms of a generated demo track (``sigvae data demo-tracks``),
  the stems ``sigvae separate`` wrote for it with a separator trained on the other tracks, and
  the true stems, drawn with sigvae's STFT and ``report.figures.feature_grid``.

Run it after a change that alters what these commands show, and commit the PNGs (each is
kept under 150 KB).
"""

from __future__ import annotations

import argparse
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT / "src"))

#: ``sigvae train`` flags of the model whose traversal is drawn.
TRAVERSAL_TRAIN = ["vae", "--num-examples", "2000", "--duration", "0.25", "--epochs", "20", "--latent-dim", "4"]
#: Demo tracks generated (the last one is held out) and the separator's training flags:
#: 156 optimiser steps (26 per epoch) on half-second crops, about 10 minutes on 2 CPU cores.
TRACKS = ["--num-examples", "17", "--duration", "6", "--sample-rate", "8000"]
SEPARATOR_TRAIN = ["separator", "--epochs", "6", "--num-examples", "480", "--batch-size", "16", "--duration", "0.5"]


def sigvae(*args: str, cwd: Path) -> None:
    """Run ``sigvae ARGS`` in ``cwd`` with this checkout's sources; stop on failure."""
    print("$ sigvae", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "sigvae", *args, "--no-progress"], cwd=cwd, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def save(fig, name: str, dpi: int = 100) -> None:
    """Save ``fig`` as docs/images/NAME (under 150 KB, see :func:`shrink`)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMAGES / name, dpi=dpi)
    shrink(IMAGES / name)


def shrink(path: Path, limit: int = 150_000) -> None:
    """Keep the PNG at ``path`` under ``limit`` bytes: a palette of 256, 128 or 64 colours
    first (spectrograms need few), then smaller sizes, down to half the width."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):
        size = (round(image.width * scale), round(image.height * scale))
        im = image.resize(size, Image.Resampling.LANCZOS) if scale < 1 else image
        for colors in (None, 256, 128, 64):
            (im if colors is None else im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)).save(path, optimize=True)
            if path.stat().st_size < limit:
                print(f"wrote {path.relative_to(ROOT)} ({size[0]} × {size[1]}, {path.stat().st_size // 1000} KB)")
                return
    raise SystemExit(f"{path}: still {path.stat().st_size // 1000} KB at half size and 64 colours")


# ---------------------------------------------------------------------------------------
# the report's summary


class _Summary(html.parser.HTMLParser):
    """The blocks of ``report.html``'s summary section: ("bullets", [...]),
    ("table", caption, header, rows) and ("heading", text), in order."""

    def __init__(self):
        super().__init__()
        self.blocks: list[tuple] = []
        self.inside = False
        self.tag_stack: list[str] = []
        self.text = ""
        self.row: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self.inside = dict(attrs).get("id") == "summary"
        if not self.inside:
            return
        self.tag_stack.append(tag)
        self.text = ""
        if tag == "ul":
            self.blocks.append(("bullets", []))
        elif tag == "table":
            self.blocks.append(("table", "", [], []))
        elif tag == "tr":
            self.row = []

    def handle_endtag(self, tag):
        if not self.inside or not self.tag_stack:
            return
        self.tag_stack.pop()
        text = " ".join(self.text.split())
        kind = self.blocks[-1][0] if self.blocks else None
        if tag == "li" and kind == "bullets":
            self.blocks[-1][1].append(text)
        elif tag == "caption":
            self.blocks[-1] = ("table", text, *self.blocks[-1][2:])
        elif tag in ("th", "td"):
            self.row.append(text)
        elif tag == "tr" and kind == "table":
            self.blocks[-1][3].append(self.row)
        elif tag == "h3":
            self.blocks.append(("heading", text))
        self.text = ""

    def handle_data(self, data):
        if self.inside:
            self.text += data


def summary_blocks(report: Path) -> list[tuple]:
    parser = _Summary()
    parser.feed(report.read_text(encoding="utf-8"))
    for i, block in enumerate(parser.blocks):  # the header row is the table's first row
        if block[0] == "table":
            parser.blocks[i] = ("table", block[1], block[3][0], block[3][1:])
    return parser.blocks


def draw_summary(blocks: list[tuple]):
    from sigvae.report.figures import subplots

    width = 11.0
    lines = []  # (kind, payload) in drawing order
    for block in blocks:
        if block[0] == "bullets":
            for item in block[1]:
                wrapped = textwrap.wrap(item, 165)
                lines += [("text", "•  " + wrapped[0])] + [("text", "    " + w) for w in wrapped[1:]]
        elif block[0] == "heading":
            lines.append(("heading", block[1]))
        else:
            lines.append(("table", block))
    rows = sum(len(b[3]) + 2 if k == "table" else 1 for k, b in lines)
    fig, ax = subplots(figsize=(width, 0.2 * rows + 0.8))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.97, bottom=0.02)
    ax.set_axis_off()
    y, step = 1.0, 1.0 / (rows + 2)
    ax.text(0, y, "Summary", fontsize=13, weight="bold", va="top", transform=ax.transAxes)
    y -= 1.6 * step
    for kind, payload in lines:
        if kind == "text":
            ax.text(0, y, payload, fontsize=7.5, va="top", transform=ax.transAxes, family="DejaVu Sans")
            y -= step
        elif kind == "heading":
            y -= 0.4 * step
            ax.text(0, y, payload, fontsize=10, weight="bold", va="top", transform=ax.transAxes)
            y -= 1.2 * step
        else:
            _, caption, header, body = payload
            height = step * (len(body) + 1)
            chars = [max(len(str(row[j])) for row in [header, *body]) + 2 for j in range(len(header))]
            table = ax.table(cellText=body, colLabels=header, cellLoc="left", colWidths=chars,
                             bbox=[0, y - height, 1, height])  # columns as wide as their text
            table.auto_set_font_size(False)
            table.set_fontsize(7)
            for (r, _), cell in table.get_celld().items():
                cell.set_edgecolor("#cccccc")
                if r == 0:
                    cell.set_facecolor("#eeeeee")
            y -= height + 0.3 * step
            ax.text(0, y, caption, fontsize=7, style="italic", va="top", transform=ax.transAxes)
            y -= step
    return fig


def summary_picture(work: Path) -> None:
    sigvae("benchmark", "--profile", "tiny", "--out", "bench", cwd=work)
    save(draw_summary(summary_blocks(work / "bench" / "report.html")), "report-summary.png")


# ---------------------------------------------------------------------------------------
# a latent traversal


def traversal_picture(work: Path) -> None:
    sigvae("train", *TRAVERSAL_TRAIN, "--out", "vae", cwd=work)
    sigvae("traverse", "vae", "--out", "trav", cwd=work)
    IMAGES.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work / "trav" / "figures" / "traversal.png", IMAGES / "traversal.png")
    shrink(IMAGES / "traversal.png")


# ---------------------------------------------------------------------------------------
# a separation


def spectrogram(wave: np.ndarray) -> np.ndarray:
    """A mono waveform [T] → its magnitude in dB as [F, N] in [0, 1] (80 dB below full scale = 0)."""
    from sigvae.data.stft import STFT

    stft = STFT(256, 64)
    mag = stft(np.asarray(wave, np.float32)).abs().numpy() / stft.reference
    return np.clip((20 * np.log10(mag + 1e-8) + 80) / 80, 0, 1)


def separation_picture(work: Path) -> None:
    import soundfile as sf

    from sigvae.report.figures import feature_grid

    sigvae("data", "demo-tracks", "--out", "tracks", *TRACKS, cwd=work)
    tracks = sorted(p for p in (work / "tracks").iterdir() if p.is_dir())
    held_out = tracks[-1]
    train = work / "train-tracks"
    train.mkdir()
    for t in tracks[:-1]:
        t.rename(train / t.name)
    sigvae("train", *SEPARATOR_TRAIN, "--data", "train-tracks", "--out", "sep", cwd=work)
    sigvae("separate", "sep", str(held_out / "mixture.wav"), "--out", "stems", cwd=work)
    names = sorted(p.stem for p in (work / "stems").glob("*.wav"))

    def mono(path: Path) -> np.ndarray:
        x, _ = sf.read(path, dtype="float32", always_2d=True)
        return x.mean(axis=1)

    mixture = spectrogram(mono(held_out / "mixture.wav"))
    rows = [[mixture] + [spectrogram(mono(work / "stems" / f"{n}.wav")) for n in names],
            [mixture] + [spectrogram(mono(held_out / f"{n}.wav")) for n in names]]
    fig = feature_grid([np.stack(r) for r in rows], ["sigvae separate", "true stems"], ["mixture", *names],
                       title=f"{held_out.name}: a track the separator did not train on")
    fig.set_size_inches(9, 4.6)
    fig.tight_layout()
    save(fig, "separation.png")


PICTURES = {"summary": summary_picture, "traversal": traversal_picture, "separation": separation_picture}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pictures", nargs="*", metavar="PICTURE",
                        help=f"which pictures: {', '.join(PICTURES)} (default: all)")
    args = parser.parse_args()
    unknown = [n for n in args.pictures if n not in PICTURES]
    if unknown:
        parser.error(f"unknown picture {unknown[0]!r}; choose from {', '.join(PICTURES)}")
    for name in args.pictures or PICTURES:
        with tempfile.TemporaryDirectory(prefix=f"sigvae-docs-{name}-") as work:
            PICTURES[name](Path(work))


if __name__ == "__main__":
    main()
