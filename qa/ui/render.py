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
from importlib import resources
from pathlib import Path

from ..answer.markers import NUMBERED
from ..documents import PageReader
from ..types import Answer, Citation, Passage
from .pages import PagePicture

CONTEXT = 3  # lines shown around a cited range


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _no_lines(source: str, page: int) -> list[str] | None:
    return None


def _no_picture(c: Citation) -> bytes | None:
    return None


# -- chat text -----------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


def chat_text(text: str, *, turn: int = 0) -> str:
    """Answer text for the Chatbot (which renders Markdown): shown literally, markers linked.

    With ``turn`` (the answer's number in the conversation) [1] [2] become chips that open
    that answer's own sources, so a marker in an earlier answer never opens a later one's.
    """
    out = []
    pos = 0
    for m in NUMBERED.finditer(text) if turn else ():
        out.append(_literal(text[pos : m.start()]))
        n = m.group(1)
        out.append(f'<a class="qa-cite" href="#{_card_id(turn, int(n))}" '
                   f'title="show source {n} of answer {turn}">{n}</a>')
        pos = m.end()
    out.append(_literal(text[pos:]))
    return "".join(out)


STATUS = '<span class="qa-status" role="status">'


def status_html(message: str) -> str:
    """What the answer being made is waiting for, shown in its bubble until it is done."""
    return f"{STATUS}{esc(message)}</span>"


def without_status(bubble: str) -> str:
    """A bubble's verified text, its status line taken off."""
    return bubble.split(STATUS, 1)[0].rstrip()


def stopped_html(kept: str) -> str:
    """The bubble of an answer the user stopped: what was verified before, and that."""
    if kept:
        return f'{kept} <span class="qa-stopped">(stopped)</span>'
    return '<span class="qa-stopped">Stopped before an answer was written.</span>'


def _card_id(turn: int, n: int) -> str:
    return f"qa-src-{turn}-{n}"


def _literal(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


# -- sources panel ---------------------------------------------------------------------------
def placeholder_html() -> str:
    return (
        '<div class="qa-sources qa-empty"><p>Ask a question: each cited line appears here '
        "inside its document, with the lines around it.</p></div>"
    )


def conversation_html(panels: list[str]) -> str:
    """Every answer's sources, the latest shown; a marker in an earlier answer shows its own."""
    if not panels:
        return placeholder_html()
    last = len(panels)
    return "".join(
        f'<div class="qa-turn{" qa-current" if n == last else ""}" data-turn="{n}">{html}</div>'
        for n, html in enumerate(panels, 1)
    )


def sources_html(
    answer: Answer,
    read: PageReader | None = None,
    *,
    question: str = "",
    context: int = CONTEXT,
    picture: PagePicture | None = None,
    turn: int = 1,
) -> str:
    """The panel beside the chat for one answer (``turn``: its number in the conversation).

    Cited lines are highlighted inside ``context`` lines of the file around them; a PDF
    citation also shows its page with the lines highlighted (``picture``: see ``pages``);
    passages that were retrieved but not cited are folded away, and so are the closest
    passages of a refusal, so the reader can judge for themselves; a passage whose file has
    changed since it was ingested says so. The query actually searched is shown, which is the
    point of a rewritten follow-up.
    """
    read = read or _no_lines
    picture = picture or _no_picture
    parts = ['<div class="qa-sources">', _turn_html(turn, question), _query_html(answer, question)]
    if answer.refused or not answer.citations:
        parts.append('<p class="qa-none">No answer: the documents don\'t say.</p>')
        if answer.retrieved:
            parts.append(
                '<details class="qa-more qa-closest"><summary>Closest passages, not enough to '
                f"answer ({len(answer.retrieved)})</summary>"
            )
            parts.extend(_passage_html(p) for p in answer.retrieved)
            parts.append("</details>")
        parts.append("</div>")
        return "".join(parts)
    for i, c in enumerate(answer.citations, 1):
        parts.append(_citation_html(turn, i, c, read, context, picture))
    uncited = [p for p in answer.retrieved if not _is_cited(p, answer.citations)]
    if uncited:
        parts.append(
            f'<details class="qa-more"><summary>Retrieved but not cited ({len(uncited)})</summary>'
        )
        parts.extend(_passage_html(p) for p in uncited)
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def _turn_html(turn: int, question: str) -> str:
    asked = f" <q>{esc(question)}</q>" if question else ""
    return f'<p class="qa-for"><span class="qa-k">Sources of answer {turn}</span>{asked}</p>'


def _query_html(answer: Answer, question: str) -> str:
    query = str(answer.debug.get("query") or question)
    if not question or query.strip() == question.strip():
        return ""  # the question heading the panel is what was searched
    return (f'<p class="qa-query qa-rewritten"><span class="qa-k">Follow-up rewritten as</span>'
            f" <q>{esc(query)}</q></p>")


def _citation_html(
    turn: int, i: int, c: Citation, read: PageReader, context: int, picture: PagePicture
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
        f'<section class="qa-src" id="{_card_id(turn, i)}" tabindex="-1">'
        f'<header><span class="qa-n">{i}</span> {_label_html(c.source, c.where)}'
        f'<span class="qa-score" title="retrieval score">score {c.score:.2f}</span></header>'
        f"{body}{_page_html(c, picture(c) if c.page else None)}</section>"
    )


def _label_html(source: str, where: str) -> str:
    """The file name may wrap anywhere; its page and lines ("p.3 L12-14") never break."""
    return (f'<code class="qa-label"><span class="qa-path">{esc(source)}</span>'
            f'<span class="qa-loc">{esc(where)}</span></code>')


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
    lines = {c.first + k: t for k, t in enumerate(c.lines())}
    changed = (f'<span class="qa-changed" title="the lines below are as ingested">⚠ '
               f"{esc(p.changed)}</span>" if p.changed else "")
    return (
        f'<section class="qa-passage{" qa-stale" if p.changed else ""}"><header>'
        f"{_label_html(c.source, c.where)}{changed}"
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
    """The passage holds a line some citation cites."""
    return any(p.chunk.holds(x.source, n)
               for x in citations for n in range(x.start_line, x.end_line + 1))


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
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


CSS = _asset("style.css")
# Gradio scopes launch(css=) to its content; page margins and the click handlers go in <head>.
HEAD = _asset("head.html")
