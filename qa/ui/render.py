"""HTML for the chat UI: the sources panel, the corpus header, chat text, ingest results.

Everything shown comes from documents, uploads or the user, so every string is escaped here;
no other module builds HTML. Pure functions of their inputs, so they are tested without Gradio.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import re
import struct
from collections.abc import Mapping
from pathlib import Path

from ..documents import PageReader
from ..types import Answer, Citation, Passage, location
from .pages import PagePicture

CONTEXT = 3  # lines shown around a cited range
_MARKER = re.compile(r"\[(\d{1,3})\]")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _no_lines(source: str, page: int) -> list[str] | None:
    return None


def _no_picture(c: Citation) -> bytes | None:
    return None


# -- chat text -----------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


def chat_text(text: str, *, links: bool = False) -> str:
    """Answer text for the Chatbot (which renders Markdown): shown literally, markers linked.

    ``links`` turns [1] [2] into anchors that focus their source; the draft streamed before
    verification keeps them plain, since its numbering may still change.
    """
    out = []
    pos = 0
    for m in _MARKER.finditer(text) if links else ():
        out.append(_literal(text[pos : m.start()]))
        n = m.group(1)
        out.append(f'<a class="qa-cite" href="#qa-src-{n}" title="show source {n}">[{n}]</a>')
        pos = m.end()
    out.append(_literal(text[pos:]))
    return "".join(out)


def _literal(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


# -- sources panel ---------------------------------------------------------------------------
def placeholder_html() -> str:
    return (
        '<div class="qa-sources qa-empty"><p>Ask a question: each cited line appears here '
        "inside its document, with the lines around it.</p></div>"
    )


def sources_html(
    answer: Answer,
    read: PageReader | None = None,
    *,
    question: str = "",
    context: int = CONTEXT,
    picture: PagePicture | None = None,
) -> str:
    """The panel beside the chat for one answer.

    Cited lines are highlighted inside ``context`` lines of the file around them; a PDF
    citation also shows its page with the lines highlighted (``picture``: see ``pages``);
    passages that were retrieved but not cited are folded away; the query actually searched
    is shown, which is the point of a rewritten follow-up.
    """
    read = read or _no_lines
    picture = picture or _no_picture
    parts = ['<div class="qa-sources">', _query_html(answer, question)]
    if answer.refused or not answer.citations:
        parts.append('<p class="qa-none">No sources: the documents don\'t say.</p></div>')
        return "".join(parts)
    for i, c in enumerate(answer.citations, 1):
        parts.append(_citation_html(i, c, read, context, picture))
    uncited = [p for p in answer.retrieved if not _is_cited(p, answer.citations)]
    if uncited:
        parts.append(
            f'<details class="qa-more"><summary>Retrieved but not cited ({len(uncited)})</summary>'
        )
        parts.extend(_passage_html(p) for p in uncited)
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def _query_html(answer: Answer, question: str) -> str:
    query = str(answer.debug.get("query") or question)
    if not query:
        return ""
    rewritten = bool(question) and query.strip() != question.strip()
    title = "Follow-up rewritten as" if rewritten else "Searched for"
    cls = "qa-query qa-rewritten" if rewritten else "qa-query"
    return f'<p class="{cls}"><span class="qa-k">{title}</span> <q>{esc(query)}</q></p>'


def _citation_html(
    i: int, c: Citation, read: PageReader, context: int, picture: PagePicture
) -> str:
    quoted = c.quote.split("\n")
    page = read(c.source, c.page) or []
    # The quote was verified against the file; if the file has changed since, show the quote
    # alone rather than context that may no longer belong to it.
    around = {}
    if page[c.first - 1 : c.last] == quoted:
        around = {n: page[n - 1] for n in range(max(1, c.first - context),
                                                min(len(page), c.last + context) + 1)}
    lines = {**around, **{c.first + k: t for k, t in enumerate(quoted)}}
    body = _lines_html(lines, range(c.first, c.last + 1))
    return (
        f'<section class="qa-src" id="qa-src-{i}" tabindex="-1">'
        f'<header><span class="qa-n">[{i}]</span> <code class="qa-label">{esc(c.label)}</code>'
        f'<span class="qa-score" title="retrieval score">score {c.score:.2f}</span></header>'
        f"{body}{_page_html(c, picture(c) if c.page else None)}</section>"
    )


def _page_html(c: Citation, png: bytes | None) -> str:
    """The cited page as an image with the cited lines highlighted, inline (a data: URI)."""
    if not png:
        return ""
    name = Path(c.source).name
    lines = f"line {c.first}" if c.first == c.last else f"lines {c.first}-{c.last}"
    alt = f"Page {c.page} of {name}, {lines} highlighted"
    size = _png_size(png)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<details class="qa-page" open><summary>Page {c.page}, {esc(lines)} highlighted'
        f'</summary><img class="qa-page-img" src="{esc(src)}" alt="{esc(alt)}"{dims} '
        'title="click to enlarge">'
        "</details>"
    )


def _png_size(png: bytes) -> tuple[int, int] | None:
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", png[16:24])


def _passage_html(p: Passage) -> str:
    c = p.chunk
    first = c.start_line - c.page_offset
    label = location(c.source, first, c.end_line - c.page_offset, c.page)
    lines = {first + k: t for k, t in enumerate(c.lines())}
    return (
        f'<section class="qa-passage"><header><code class="qa-label">{esc(label)}</code>'
        f'<span class="qa-score" title="retrieval score">score {p.score:.2f}</span></header>'
        f"{_lines_html(lines, range(0), tuple(n - c.page_offset for n in c.flagged))}</section>"
    )


FLAG_TITLE = "reads as an instruction to an assistant: never used as support"


def _lines_html(lines: Mapping[int, str], hit: range, flagged: tuple[int, ...] = ()) -> str:
    rows = []
    for n in sorted(lines):
        cls = "qa-line qa-hit" if n in hit else "qa-line"
        flag = ""
        if n in flagged:
            cls += " qa-flagged"
            flag = f'<span class="qa-flag" title="{FLAG_TITLE}">⚠ instruction</span>'
        rows.append(
            f'<div class="{cls}"><span class="qa-ln">{n}</span>'
            f'<span class="qa-lt">{esc(lines[n]) or " "}{flag}</span></div>'
        )
    return f'<div class="qa-lines">{"".join(rows)}</div>'


def _is_cited(p: Passage, citations: list[Citation]) -> bool:
    c = p.chunk
    return any(
        x.source == c.source and x.start_line <= c.end_line and x.end_line >= c.start_line
        for x in citations
    )


# -- header and ingest results -------------------------------------------------------------
def header_html(stats: Mapping, backend: str) -> str:
    """What is loaded: files, chunks, last ingest, backend; the first thing a user checks."""
    files, chunks = int(stats.get("files") or 0), int(stats.get("chunks") or 0)
    last = stats.get("last_ingest")
    when = _dt.datetime.fromtimestamp(last).strftime("%Y-%m-%d %H:%M") if last else "never"
    corpus = (
        f"<b>{files}</b> file{'s' if files != 1 else ''} · <b>{chunks}</b> chunks"
        if files
        else "<b>nothing indexed yet</b>: add text, PDF, Word or HTML files below"
    )
    return (
        '<div class="qa-header"><h1>Ask your documents</h1><p class="qa-meta">'
        f"<span>{corpus}</span><span>last ingest {esc(when)}</span>"
        f"<span>backend <b>{esc(backend)}</b></span>"
        f'<span title="index directory">index <code>{esc(stats.get("index_dir", ""))}</code>'
        "</span></p></div>"
    )


def files_html(sources: list[str]) -> str:
    if not sources:
        return '<p class="qa-files qa-empty">No documents yet.</p>'
    items = "".join(f'<li title="{esc(s)}"><code>{esc(Path(s).name)}</code></li>' for s in sources)
    return (
        f'<p class="qa-files-title">Indexed ({len(sources)})</p><ul class="qa-files">{items}</ul>'
    )


def ingest_html(rows: list[tuple[str, str, str]]) -> str:
    """Per-file outcome of an upload: (file name, added|updated|unchanged|skipped, why)."""
    if not rows:
        return ""
    body = "".join(
        f'<tr class="qa-{esc(status)}"><td><code>{esc(name)}</code></td>'
        f"<td>{esc(status)}</td><td>{esc(why)}</td></tr>"
        for name, status, why in rows
    )
    return f'<table class="qa-ingest"><caption>Upload result</caption><tbody>{body}</tbody></table>'


def notice_html(message: str) -> str:
    """A plain one-line message (errors included): never a traceback."""
    return f'<p class="qa-notice" role="alert">{esc(message)}</p>' if message else ""


# -- look ----------------------------------------------------------------------------------
CSS = """
.qa-flush .html-container { padding: 0 !important; }
@media (max-width: 640px) { #qa-chat { height: 360px !important; } }
.qa-header { padding: 0.2rem 0 0.1rem; }
.qa-header h1 { font-size: 1.35rem; font-weight: 600; margin: 0; }
#qa-notice:not(:has(.qa-notice)), #qa-ingest:not(:has(table)) { display: none; }
.qa-meta { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.2rem 1.1rem;
  margin: 0.3rem 0 0;
  font-size: 0.9rem; color: var(--body-text-color-subdued); }
.qa-h2 { font-size: 1.05rem; margin: 0.1rem 0 0.4rem; }
.qa-sources { font-size: 0.92rem; }
.qa-empty, .qa-none { color: var(--body-text-color-subdued); }
.qa-query { margin: 0 0 0.6rem; padding: 0.45rem 0.65rem; border-radius: 6px;
  background: var(--background-fill-secondary); }
.qa-query.qa-rewritten { border-left: 3px solid var(--color-accent); }
.qa-k { display: block; font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--body-text-color-subdued); }
.qa-src, .qa-passage { border: 1px solid var(--border-color-primary); border-radius: 8px;
  margin: 0 0 0.6rem; overflow: hidden; scroll-margin: 1rem; }
.qa-src { cursor: pointer; }
.qa-src.qa-focus, .qa-src:focus { outline: 2px solid var(--color-accent); outline-offset: 1px; }
.qa-src header, .qa-passage header { display: flex; flex-wrap: wrap; align-items: baseline;
  gap: 0.2rem 0.5rem; padding: 0.35rem 0.6rem; background: var(--background-fill-secondary); }
.qa-n { font-weight: 700; color: var(--color-accent); }
.qa-label { font-size: 0.82rem; word-break: break-all; background: none; padding: 0; }
.qa-score { margin-left: auto; font-size: 0.78rem; white-space: nowrap;
  color: var(--body-text-color-subdued); }
.qa-lines { font-family: var(--font-mono); font-size: 0.78rem; line-height: 1.5;
  padding: 0.3rem 0; }
.qa-line { display: grid; grid-template-columns: 3.2em 1fr; }
.qa-ln { text-align: right; padding-right: 0.8em; user-select: none;
  color: var(--body-text-color-subdued); }
.qa-lt { white-space: pre-wrap; overflow-wrap: anywhere; padding-right: 0.6rem; }
.qa-hit { background: rgba(250, 204, 21, 0.28); }
.qa-flagged .qa-lt { text-decoration: line-through dotted rgba(220, 38, 38, 0.7); }
.qa-flag { display: inline-block; margin-left: 0.5em; font-size: 0.75em; color: #b91c1c;
  white-space: nowrap; }
.qa-hit .qa-ln { font-weight: 700; color: inherit; box-shadow: inset 3px 0 0 #eab308; }
.qa-page { border-top: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
.qa-page summary { cursor: pointer; padding: 0.3rem 0.6rem; font-size: 0.8rem;
  color: var(--body-text-color-subdued); }
.qa-page[open] { padding-bottom: 0.6rem; }
.qa-page-img { display: block; width: calc(100% - 1.2rem); max-width: 700px; height: auto;
  margin: 0 auto; background: #fff; cursor: zoom-in; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); }
.qa-page-img.qa-zoom { position: fixed; z-index: 1000; top: 50%; left: 50%; width: auto;
  max-width: 96vw; max-height: 96vh; transform: translate(-50%, -50%); cursor: zoom-out;
  box-shadow: 0 0 0 100vmax rgba(0, 0, 0, 0.6); }
.qa-more summary { cursor: pointer; margin: 0.2rem 0 0.5rem;
  color: var(--body-text-color-subdued); }
.qa-cite { text-decoration: none !important; font-weight: 700; cursor: pointer; }
.qa-notice { margin: 0.2rem 0; padding: 0.45rem 0.7rem; border-radius: 6px;
  color: var(--error-text-color); background: var(--error-background-fill);
  border: 1px solid var(--error-border-color); }
.qa-ingest { width: 100%; font-size: 0.85rem; margin: 0.3rem 0 !important;
  border-collapse: collapse; border: none !important; }
.qa-ingest caption { text-align: left; font-weight: 600; padding: 0 0 0.2rem; }
.qa-ingest td { padding: 0.25rem 0.4rem !important; border: none !important;
  border-top: 1px solid var(--border-color-primary) !important; }
.qa-files-title { font-weight: 600; font-size: 0.85rem; margin: 0.4rem 0 0; }
.qa-ingest .qa-added td:nth-child(2), .qa-ingest .qa-updated td:nth-child(2) { color: #15803d; }
.qa-ingest .qa-skipped td:nth-child(2) { color: var(--error-text-color); }
.qa-files { margin: 0.3rem 0 0; padding-left: 1.2rem; font-size: 0.85rem; }
"""

# Gradio scopes launch(css=) to its content; the page margins sit outside it, so they go here.
HEAD = """<style>
@media (max-width: 640px) { .gradio-container .app { padding: 8px 10px !important; } }
</style>
<script>
// Clicking a page image enlarges it over the app; a click or Escape puts it back.
document.addEventListener('click', (event) => {
  const img = event.target.closest && event.target.closest('img.qa-page-img');
  if (!img) return;
  event.preventDefault();
  event.stopImmediatePropagation();  // not a click on the card: it stays where it is
  img.classList.toggle('qa-zoom');
}, true);
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  document.querySelectorAll('img.qa-zoom').forEach((el) => el.classList.remove('qa-zoom'));
});
// Clicking a citation marker in the chat, or a source card, focuses that source.
document.addEventListener('click', (event) => {
  const hit = event.target.closest && event.target.closest('a.qa-cite, .qa-src');
  if (!hit || event.target.closest('summary')) return;  // a summary opens or folds its page
  const id = hit.id || (hit.getAttribute('href') || '').replace('#', '');
  const card = id && document.getElementById(id);
  if (!card) return;
  event.preventDefault();
  event.stopPropagation();
  document.querySelectorAll('.qa-src.qa-focus').forEach((el) => el.classList.remove('qa-focus'));
  card.classList.add('qa-focus');
  card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  card.focus({preventScroll: true});
}, true);
</script>"""
