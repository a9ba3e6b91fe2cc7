"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

- ``results.md`` is a stub: the results page is ``BENCHMARKS.md`` at the repository root,
  whose text is put in its place at build time (so there is one file to edit, and it stays
  where the README and the repository's history point).
- Links are written for reading the files on GitHub: a guide links ``../BENCHMARKS.md``,
  BENCHMARKS.md links ``docs/guarantees.md``. In the site those become links to the pages
  (``results.md``, ``guarantees.md``); a link to any other file of the repository (a script,
  a test) is not a page, so it becomes its text followed by the path as code.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PAGE = "results.md"
RESULTS_SOURCE = "BENCHMARKS.md"

# [text](target) or [text](target "title"), not images; fenced code is left alone (see below).
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s#]*)(?P<anchor>#[^)\s]*)?(?P<title>\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.M | re.S)


def _rewrite(match: re.Match, source_dir: str, page_dir: str) -> str:
    """One link of a page whose Markdown lives in ``source_dir`` (relative to the repository
    root) and is published as a page in ``page_dir`` (relative to docs/)."""
    target = match["target"]
    if not target or re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
        return match[0]  # an anchor on the same page, a URL, or an absolute path: as written
    path = posixpath.normpath(posixpath.join(source_dir, target))
    if path == RESULTS_SOURCE:
        path = f"docs/{RESULTS_PAGE}"
    if path.startswith("docs/"):
        new = posixpath.relpath(path[len("docs/"):], page_dir or ".")
        return f"[{match['text']}]({new}{match['anchor'] or ''}{match['title'] or ''})"
    text = match["text"]
    return text if f"`{path}`" in text or text == path else f"{text} (`{path}`)"


def _rewrite_links(markdown: str, source_dir: str, page_dir: str) -> str:
    parts, last = [], 0
    for fence in _FENCE.finditer(markdown):
        parts.append(_LINK.sub(lambda m: _rewrite(m, source_dir, page_dir), markdown[last:fence.start()]))
        parts.append(fence[0])
        last = fence.end()
    parts.append(_LINK.sub(lambda m: _rewrite(m, source_dir, page_dir), markdown[last:]))
    return "".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """BENCHMARKS.md's text for the results page; every page's links pointed into the site."""
    page_dir = posixpath.dirname(page.file.src_uri)
    if page.file.src_uri == RESULTS_PAGE:
        return _rewrite_links((ROOT / RESULTS_SOURCE).read_text(encoding="utf-8"), "", page_dir)
    return _rewrite_links(markdown, posixpath.join("docs", page_dir), page_dir)
