"""A self-contained HTML report: figures and audio are embedded, so the file opens from disk."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
from pathlib import Path

import numpy as np

from ..io import safe_name, write_bytes, write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #446;padding-bottom:.2em} h2{margin-top:2em;color:#334}
table{border-collapse:collapse;margin:1em 0;font-size:.92em} th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#eef} td:first-child,th:first-child{text-align:left} .note{color:#555;font-size:.92em}
figure{margin:1em 0} figcaption{color:#555;font-size:.9em} img{max-width:100%}
.audio{display:inline-block;margin:.3em 1em .3em 0;font-size:.85em} .audio audio{display:block;width:220px}
pre{background:#f6f6f8;padding:.6em;overflow-x:auto;font-size:.85em}
"""


class Bold(str):
    """Text to set in bold inside :meth:`Report.paragraph` (escaped like any other text)."""


def _inline(piece: str) -> str:
    text = html.escape(str(piece))
    return f"<b>{text}</b>" if isinstance(piece, Bold) else text


class Report:
    """Builds one HTML page section by section; figures are also saved as PNG files.

    Every piece of text handed to a Report is escaped here, the one escaping path: a name
    read from a user's file (a factor, a source, a data set) can never become markup.
    The only HTML on the page is what these methods generate.

    ``Report(title, out_dir)``; then ``heading``, ``text``, ``table``, ``figure``,
    ``audio``, ``code``, ``paragraph``, ``bullets``; finally ``write()`` → ``out_dir/report.html`` (atomic).
    """

    def __init__(self, title: str, out_dir: str | Path, figures_dir: str = "figures"):
        self.title = title
        self.out_dir = Path(out_dir)
        self.figures_dir = self.out_dir / figures_dir
        self.parts: list[str] = []

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        """A heading; ``anchor`` gives it an id (``report.html#anchor``), made of letters,
        digits and '-' only."""
        ident = ""
        if anchor is not None:
            slug = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in anchor)
            ident = f' id="{slug}"'
        self.parts.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def text(self, text: str, note: bool = False) -> None:
        """A paragraph; ``text`` is escaped (the report takes no raw HTML)."""
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def paragraph(self, *parts: str | Bold, note: bool = False) -> None:
        """A paragraph of text pieces, each escaped; :class:`Bold` pieces are set in bold."""
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{''.join(_inline(p) for p in parts)}</p>")

    def bullets(self, items: list[str]) -> None:
        """An unordered list; each item is escaped."""
        self.parts.append("<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in items) + "</ul>")

    def line_break(self) -> None:
        """A line break between two blocks."""
        self.parts.append("<br>")

    def code(self, text: str) -> None:
        """Preformatted text (a command, a settings dump), escaped."""
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, header: list[str], rows: list[list], caption: str | None = None) -> None:
        """A table with a header row and an optional caption; every cell is escaped, floats
        are shown with three decimals and NaN as ``n/a``."""
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def figure(self, fig, name: str, caption: str = "") -> Path:
        """Embed a matplotlib figure and save it as ``figures/<name>.png``.

        The figures of :mod:`sigvae.report.figures` are plain ``Figure`` objects, not made
        through pyplot, so nothing needs closing and pyplot's state is left as it was.
        """
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        png = buf.getvalue()
        path = write_bytes(self.figures_dir / f"{safe_name(name, 'figure name')}.png", png)
        data = base64.b64encode(png).decode("ascii")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">{cap}</figure>')
        return path

    def audio(self, wave: np.ndarray, sample_rate: int, label: str) -> None:
        """Embed a player for ``wave`` ([T] or [C, T]) as 16-bit WAV."""
        import soundfile as sf

        w = np.asarray(wave, dtype=np.float32)
        w = w.T if w.ndim == 2 else w
        peak = float(np.abs(w).max()) if w.size else 0.0
        if peak > 1:
            w = w / peak
        buf = io.BytesIO()
        sf.write(buf, w, int(sample_rate), format="WAV", subtype="PCM_16")
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        self.parts.append(
            f'<span class="audio">{html.escape(label)}<audio controls preload="metadata" src="data:audio/wav;base64,{data}"></audio></span>'
        )

    def write(self, name: str = "report.html") -> Path:
        """Write the self-contained page (title, date, every block in order) atomically to
        ``name`` in the report's folder → its path."""
        stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        doc = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
            f"<p class='note'>Written by sigvae on {stamp}.</p>{''.join(self.parts)}</body></html>"
        )
        return write_text(self.out_dir / name, doc)


def _fmt(v) -> str:
    if isinstance(v, float):
        return "n/a" if v != v else f"{v:.3f}"
    return str(v)
