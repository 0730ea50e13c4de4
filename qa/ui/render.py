"""HTML for the chat UI: the sources panel, the corpus header, chat text, ingest results.

Everything shown comes from documents, uploads or the user. The HTML is in
``fragments.html.j2``, a Jinja2 macro per fragment, rendered with autoescape: a value is
escaped unless a macro made it; no other module builds HTML. Pure functions of their inputs,
so they are tested without Gradio.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import re
import struct
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Protocol, cast

import jinja2
from markupsafe import Markup

from ..ask.answer.markers import NUMBERED
from ..ingest.documents import PageReader
from ..types import Answer, Citation, Passage
from .pages import PagePicture

CONTEXT = 3  # lines shown around a cited range
FLAG_TITLE = "reads as an instruction to an assistant: never used as support"
UNSURE_TITLE = "read by OCR with low confidence: the quote may be a misreading"


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _template(name: str) -> str:
    """A template's source, its line breaks and the indentation after them taken out."""
    return re.sub(r"\n[ \t]*", "", _asset(name))


class _Fragments(Protocol):
    """The macros of ``fragments.html.j2``, as called here (autoescape: each returns Markup)."""

    def cite(self, card: str, n: str, turn: int) -> Markup: ...
    def status(self, message: str) -> Markup: ...
    def stopped(self, kept: Markup) -> Markup: ...
    def placeholder(self) -> Markup: ...
    def conversation(self, panels: list[Markup]) -> Markup: ...
    def sources(self, turn: int, question: str, rewritten: str, refused: bool,
                closest: list[Markup], cards: list[Markup], uncited: list[Markup]) -> Markup: ...
    def citation(self, card: str, i: int, c: Citation, body: Markup,
                 image: Markup | str, unsure_title: str, changed: str) -> Markup: ...
    def page(self, number: int, lines: str, src: str, alt: str,
             size: tuple[int, int] | None) -> Markup: ...
    def reading(self, turn: int, question: str, cards: list[Markup]) -> Markup: ...
    def passage(self, p: Passage, body: Markup, reading: bool) -> Markup: ...
    def lines(self, rows: list[tuple[int, str]], hit: range, flagged: tuple[int, ...],
              flag_title: str) -> Markup: ...
    def header(self, files: int, chunks: int, when: str, backend: str,
               index_dir: str) -> Markup: ...
    def files(self, sources: list[tuple[str, str]]) -> Markup: ...
    def ingest(self, rows: list[tuple[str, str, str]]) -> Markup: ...
    def notice(self, message: str) -> Markup: ...
    def info(self, message: str) -> Markup: ...


_ENV = jinja2.Environment(loader=jinja2.FunctionLoader(_template), autoescape=True,
                          undefined=jinja2.StrictUndefined)
# cast: a TemplateModule's macros are attributes Jinja sets at run time, unknown to its types
_HTML = cast(_Fragments, _ENV.get_template("fragments.html.j2").module)


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
        out.append(str(_HTML.cite(_card_id(turn, int(n)), n, turn)))
        pos = m.end()
    out.append(_literal(text[pos:]))
    return "".join(out)


def status_html(message: str) -> str:
    """What the answer being made is waiting for, shown in its bubble until it is done."""
    return str(_HTML.status(message))


STATUS = status_html("").removesuffix("</span>")  # how a bubble's status line starts
# A question's bubble while it waits for a free slot: head.html adds its place in line.
WAITING = status_html("Waiting in line…")


def without_status(bubble: str) -> str:
    """A bubble's verified text, its status line taken off."""
    return bubble.split(STATUS, 1)[0].rstrip()


def stopped_html(kept: str) -> str:
    """The bubble of an answer the user stopped: what was verified before, and that."""
    return str(_HTML.stopped(Markup(kept)))


def _card_id(turn: int, n: int) -> str:
    return f"qa-src-{turn}-{n}"


def _literal(text: str) -> str:
    """Markdown shown as written: HTML escaped, Markdown's special characters too."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


# -- sources panel ---------------------------------------------------------------------------
def placeholder_html() -> str:
    return str(_HTML.placeholder())


def conversation_html(panels: list[str]) -> str:
    """Every answer's sources, the latest shown; a marker in an earlier answer shows its own."""
    if not panels:
        return placeholder_html()
    return str(_HTML.conversation([Markup(p) for p in panels]))


def sources_html(
    answer: Answer,
    read: PageReader | None = None,
    *,
    question: str = "",
    context: int = CONTEXT,
    picture: PagePicture | None = None,
    turn: int = 1,
    changed: Sequence[str] = (),
) -> str:
    """The panel beside the chat for one answer (``turn``: its number in the conversation).

    Cited lines are highlighted inside ``context`` lines of the file around them; a PDF
    citation also shows its page with the lines highlighted (``picture``: see ``pages``);
    passages that were retrieved but not cited are folded away, and so are the closest
    passages of a refusal, so the reader can judge for themselves; a passage whose file has
    changed since it was ingested says so. The query actually searched is shown, which is the
    point of a rewritten follow-up. ``changed``: for a saved answer, each citation's reason its
    file no longer holds its lines ("" while it does: ``conversations.recheck``).
    """
    read = read or _no_lines
    picture = picture or _no_picture
    query = str(answer.debug.get("query") or question)
    # the question heading the panel is what was searched, unless a follow-up was rewritten
    rewritten = query if question and query.strip() != question.strip() else ""
    refused = answer.refused or not answer.citations
    why = dict(enumerate(changed, 1))
    cards = [] if refused else [_citation_html(turn, i, c, read, context, picture, why.get(i, ""))
                                for i, c in enumerate(answer.citations, 1)]
    uncited = [] if refused else [p for p in answer.retrieved
                                  if not _is_cited(p, answer.citations)]
    return str(_HTML.sources(
        turn, question, rewritten, refused,
        [_passage_html(p) for p in answer.retrieved] if refused else [],
        cards, [_passage_html(p) for p in uncited]))


def reading_html(passages: Sequence[Passage], *, question: str = "", turn: int = 1) -> str:
    """The panel for an answer still being written: the passages retrieved for it, each
    marked as being read, so the reader sees what the answer will rest on at once; the
    answer's own panel (``sources_html``) replaces it when the answer is done."""
    return str(_HTML.reading(turn, question, [_passage_html(p, reading=True) for p in passages]))


def _citation_html(
    turn: int, i: int, c: Citation, read: PageReader, context: int, picture: PagePicture,
    changed: str = "",
) -> Markup:
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
    return _HTML.citation(_card_id(turn, i), i, c, body,
                          _page_html(c, picture(c) if c.page else None), UNSURE_TITLE, changed)


def _page_html(c: Citation, png: bytes | None) -> Markup | str:
    """The cited page as an image with the cited lines highlighted, inline (a data: URI)."""
    if not png:
        return ""
    name = Path(c.source).name
    lines = f"line {c.first}" if c.first == c.last else f"lines {c.first}-{c.last}"
    alt = f"Page {c.page} of {name}, {lines} highlighted"
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return _HTML.page(c.page, lines, src, alt, _png_size(png))


def _png_size(png: bytes) -> tuple[int, int] | None:
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", png[16:24])


def _passage_html(p: Passage, *, reading: bool = False) -> Markup:
    c = p.chunk
    lines = {c.first + k: t for k, t in enumerate(c.lines())}
    flagged = tuple(n - c.page_offset for n in c.flagged)
    return _HTML.passage(p, _lines_html(lines, range(0), flagged), reading)


def _lines_html(lines: Mapping[int, str], hit: range, flagged: tuple[int, ...] = ()) -> Markup:
    return _HTML.lines([(n, lines[n]) for n in sorted(lines)], hit, flagged, FLAG_TITLE)


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
    return str(_HTML.header(files, chunks, when, backend, stats.get("index_dir", "")))


def files_html(sources: list[str]) -> str:
    return str(_HTML.files([(s, Path(s).name) for s in sources]))


def ingest_html(rows: list[tuple[str, str, str]]) -> str:
    """Per-file outcome of an upload: (file name, added|updated|unchanged|skipped, why)."""
    return str(_HTML.ingest(rows)) if rows else ""


def notice_html(message: str) -> str:
    """A plain one-line message (errors included): never a traceback."""
    return str(_HTML.notice(message)) if message else ""


def info_html(message: str) -> str:
    """A one-line note that is not an error (a conversation resumed, and what changed)."""
    return str(_HTML.info(message)) if message else ""


# -- look ----------------------------------------------------------------------------------
CSS = _asset("style.css")
# Gradio scopes launch(css=) to its content; page margins and the click handlers go in <head>.
HEAD = _asset("head.html")
