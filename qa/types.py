"""The typed records that carry provenance from chunking to display.

Provenance (source, lines, hash) is born in ``Chunk`` and copied field by field into
``Passage`` and ``Citation``; no later stage re-derives it from character offsets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path

# Texts -> their vectors, in order: ``QA.embed`` or a cached wrapper of it.
Embed = Callable[[list[str]], list[list[float]]]
# A conversation's earlier turns, (question, answer), oldest first.
History = list[tuple[str, str]]


class Refusal(StrEnum):
    """What decided that a question is not answered: set where the refusal is made, read by the
    eval and the debug output as it is (the value is what the eval's report prints)."""

    IDENTIFIER_MISSING = "identifier missing from the evidence"
    LOW_SUPPORT = "support gate (QA_MIN_SUPPORT)"
    LOW_ANSWERABILITY = "answerability score (QA_MIN_ANSWERABILITY)"
    NOT_VERIFIED = "no sentence verified"
    MODEL_REFUSED = "model refused, nothing to fall back on"


class Purpose(StrEnum):
    """Why the pipeline called the model."""

    CONDENSE = "condense"  # a follow-up rewritten to stand alone
    JUDGE = "judge"  # does this text answer the question? (yes/no)
    ANSWER = "answer"


@dataclass(frozen=True)
class Usage:
    """One model call as the model itself counted it: the prompt tokens it read (those its
    cache still held from the call before are not read again), the tokens it wrote, and its
    own time for each. What an answer costs is these tokens at the machine's speed."""

    prompt_tokens: int
    cached_tokens: int
    output_tokens: int
    prompt_ms: float
    decode_ms: float


@dataclass(frozen=True)
class ModelCall:
    purpose: Purpose
    usage: Usage


def lines_hold(start: int, end: int, first: int, last: int | None = None) -> bool:
    """Lines ``start..end`` hold lines ``first..last`` (``last`` None: the one line ``first``).

    The one rule for "this passage holds this line": verification, the sources panel and the
    eval's gold lines all ask it (``Chunk.holds`` adds the source)."""
    return start <= first and (first if last is None else last) <= end


def place(first: int, last: int, page: int = 0) -> str:
    """Where in its file a citation is, as written after the file name: ``:L3-5``, or
    `` p.3 L12-14`` for a page of a PDF (``first``/``last`` numbered within the page)."""
    lines = f"L{first}" if first == last else f"L{first}-{last}"
    return f" p.{page} {lines}" if page else f":{lines}"


def location(source: str, start: int, end: int, page: int = 0) -> str:
    """How a citation is written: ``notes.md:L3-5``, or ``report.pdf p.3 L12-14``."""
    return source + place(start, end, page)


class _Shown:
    """Lines as shown and cited, for a chunk or a citation: a PDF's numbered within its page."""

    source: str
    start_line: int  # the file's view numbering (unique in the file, across pages)
    end_line: int
    page: int
    page_offset: int

    @property
    def first(self) -> int:
        """The first line as shown: within its page for a PDF."""
        return self.start_line - self.page_offset

    @property
    def last(self) -> int:
        return self.end_line - self.page_offset

    @property
    def where(self) -> str:
        """``label`` after the file name: ``:L3-5``, `` p.3 L12-14``."""
        return place(self.first, self.last, self.page)

    @property
    def label(self) -> str:
        return location(self.source, self.first, self.last, self.page)


@dataclass(frozen=True)
class Cell:
    """One figure of a table row as printed ("82,959", "$ 1.20", "(10)"), with the headers of
    its column, outermost first: ("Three Months Ended", "June 25,", "2022")."""

    value: str
    headers: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        """The column's headers as one phrase: "Three Months Ended June 25, 2022"."""
        return " ".join(self.headers)


@dataclass(frozen=True)
class Row:
    """A table row read as structure beside its display line (``line``, the file's view
    numbering): its label, its cells under their column headers, the section it is in ("Net
    sales", on line ``section_line``), the table's title and unit lines as printed, and the
    lines ``head`` (first, last; (0, 0) without) that hold the title, unit and headers. A
    figure's citation names the head and section lines beside the row."""

    line: int
    label: str
    cells: tuple[Cell, ...]
    section: str = ""
    title: str = ""
    unit: str = ""
    head: tuple[int, int] = (0, 0)
    section_line: int = 0

    @property
    def read_with(self) -> list[tuple[int, int]]:
        """The line ranges that say what the row's figures are: its head, its section."""
        out = [self.head] if self.head[0] else []
        if self.section_line and not (out and out[0][0] <= self.section_line <= out[0][1]):
            out.append((self.section_line, self.section_line))
        return out


# A line OCR read with a word below this confidence is unsure: on 23 bench pages 57 of the 65
# tesseract lines below it differ from the text layer (of 834 lines, 123 differ). Ingest names
# such lines, a citation of one is marked ``~``, and a figure only they state supports nothing.
UNSURE = 0.5


def unsure(confidence: float | None) -> bool:
    """OCR read the line with low confidence (None: not read by OCR)."""
    return confidence is not None and confidence < UNSURE


@dataclass(frozen=True)
class Scanned:
    """A display line read by OCR (``line``, the file's view numbering), its box on the page
    image as fractions of the page's width and height (left, top, right, bottom), so any
    drawing of the page can mark the line, and how sure OCR was of its least certain word
    (0 to 1): a citation of an unsure line may quote a misreading."""

    line: int
    box: tuple[float, float, float, float]
    confidence: float

    @property
    def unsure(self) -> bool:
        return unsure(self.confidence)


@dataclass(frozen=True)
class Chunk(_Shown):
    source: str  # the path as given to ingest
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    text: str  # exactly lines start..end of the file joined with "\n"
    sha256: str  # of text
    # PDF: the page (1-based) holding every line of the chunk, and the number of the file's
    # lines before that page; a line is shown as ``line - page_offset`` of its page.
    page: int = 0
    page_offset: int = 0
    # Searched with the text, never shown or cited: what the lines alone do not say, such as
    # which filing a table row is from (a PDF page's running header and footer, file name).
    context: str = field(default="", compare=False)
    # A PDF page's running header or footer ("Apple Inc. | Q3 2023 Form 10-Q | 13"), by file
    # line number: shown and citable, never evidence that the page answers a question.
    running: tuple[int, ...] = field(default=(), compare=False)
    # The table rows among its lines, as the reader found them (``Row``), in line order.
    rows: tuple[Row, ...] = field(default=(), compare=False)
    # Its lines read by OCR (``Scanned``), in line order: how sure OCR was of each.
    scanned: tuple[Scanned, ...] = field(default=(), compare=False)

    @property
    def id(self) -> str:
        from ._hashing import chunk_id

        return chunk_id(self.source, self.start_line, self.end_line, self.sha256)

    def lines(self) -> list[str]:
        return self.text.split("\n")

    def row(self, line: int) -> Row | None:
        """The table row on ``line`` (the file's numbering), if the line is one."""
        return next((r for r in self.rows if r.line == line), None)

    def confidence(self, first: int, last: int | None = None) -> float | None:
        """How sure OCR was of the least certain of lines ``first..last`` (file numbering;
        ``last`` None: the one line ``first``); None when OCR read none of them."""
        return min((s.confidence for s in self.scanned
                    if lines_hold(first, first if last is None else last, s.line)), default=None)

    def holds(self, source: str, first: int, last: int | None = None) -> bool:
        """The chunk is from ``source`` and holds its lines ``first..last`` (file numbering;
        ``last`` None: the one line ``first``)."""
        return source == self.source and lines_hold(self.start_line, self.end_line, first, last)

    @property
    def search_text(self) -> str:
        """What is embedded: the context first, so the embedder's cut never drops it."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @cached_property
    def flagged(self) -> tuple[int, ...]:
        """Lines that read as instructions to an assistant: shown, never support for an answer.

        Computed once per chunk (verification asks for every proposal)."""
        from .ask.grounding import is_instruction

        return tuple(
            n for n, line in enumerate(self.lines(), self.start_line) if is_instruction(line)
        )


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk and how well it matched."""

    chunk: Chunk
    score: float
    # Why the file no longer holds these lines as ingested ("file changed since it was
    # ingested"); "" while it does. Set on an answer's retrieved passages, never cited.
    changed: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        c = self.chunk
        return {
            "source": c.source,
            "page": c.page or None,
            "start_line": c.first,
            "end_line": c.last,
            "quote": c.text,
            "score": round(self.score, 4),
            "flagged": list(c.flagged),
            "changed": self.changed or None,
        }


@dataclass(frozen=True)
class Proposal:
    """A citation an answerer proposes; it becomes a ``Citation`` only once verified."""

    source: str
    start_line: int
    end_line: int
    quote: str | None = None  # None: the answerer named lines only
    marker: str = ""  # the marker as written in the draft text, e.g. "[L30]"
    claim: str = ""  # the sentence the marker ends, without markers; checked against the lines
    sentence: int = 0  # which of ``Draft.sentences`` it supports


@dataclass(frozen=True)
class Citation(_Shown):
    source: str
    start_line: int  # the file's view numbering (unique in the file, across pages)
    end_line: int
    quote: str
    score: float
    page: int = 0  # PDF: the page, else 0
    page_offset: int = 0  # lines of the file before that page
    # OCR's confidence in the least certain cited line, as ingest recorded it (``Scanned``);
    # None when no cited line was read by OCR.
    confidence: float | None = None

    @property
    def unsure(self) -> bool:
        return unsure(self.confidence)

    @property
    def doubt(self) -> str:
        """"confidence 0.41" beside the ``~`` mark of a citation OCR was unsure of; else ""."""
        return f"confidence {self.confidence:.2f}" if self.unsure else ""

    @property
    def marked(self) -> str:
        """``label`` as shown: ``~scan.png p.1 L2 (confidence 0.41)`` when OCR was unsure."""
        return f"~{self.label} ({self.doubt})" if self.unsure else self.label

    def to_dict(self) -> dict:
        return {"source": self.source, "page": self.page or None, "start_line": self.first,
                "end_line": self.last, "quote": self.quote, "score": round(self.score, 4),
                "confidence": self.confidence, "unsure": self.unsure}


@dataclass
class Draft:
    """What an answerer returns before verification."""

    text: str
    proposals: list[Proposal] = field(default_factory=list)
    refused: bool = False
    # The reply cut into sentences (markers kept); a sentence is shown only if it survives
    # verification. Empty: the whole text is one sentence.
    sentences: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Status:
    """Where an answer stands while it is being made, for a user who is waiting."""

    stage: str  # condensing | searching | reading | writing | checking
    message: str  # "Reading 5 passages…"
    # At "reading": the passages retrieved, with their provenance, so that a waiting user
    # sees what the answer will be drawn from seconds before the model has written it.
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class Coverage:
    """Which of the documents a question spans the answer cites, and which hold nothing."""

    spans: tuple[str, ...]
    found: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s for s in self.spans if s not in self.found)

    def sentence(self) -> str:
        """What was found where: "Found in 3 of 4 documents; nothing in 2023 Q3 AAPL.pdf."."""
        said = f"Found in {len(self.found)} of {len(self.spans)} documents"
        if not self.missing:
            return said + "."
        return f"{said}; nothing in {', '.join(Path(s).name for s in self.missing)}."


@dataclass
class Answer:
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    debug: dict = field(default_factory=dict)  # dropped citations, backend, timings
    coverage: Coverage | None = None  # for a question across documents: found where

    def to_dict(self) -> dict:
        out = {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [p.to_dict() for p in self.retrieved],
        }
        if self.coverage is not None:
            out["coverage"] = {"documents": list(self.coverage.spans),
                               "found": list(self.coverage.found),
                               "missing": list(self.coverage.missing)}
        return out


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    flagged: list[tuple[str, int]] = field(default_factory=list)  # lines addressing an assistant
    # (path, page, line within it): lines OCR read with low confidence, which may be misread
    unsure: list[tuple[str, int, int]] = field(default_factory=list)
    chunks: int = 0  # chunks written in this run
    seconds: float = 0.0

    @property
    def indexed(self) -> int:
        return len(self.added) + len(self.updated)

    def summary(self) -> str:
        files = self.indexed
        return (
            f"indexed {files} file{'s' if files != 1 else ''}, {self.chunks} chunks "
            f"({len(self.skipped)} skipped, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed) in {self.seconds:.1f} s"
        ) + (
            f"; {len(self.flagged)} line{'s' if len(self.flagged) != 1 else ''} read as "
            "instructions to an assistant and will never support an answer"
            if self.flagged else ""
        ) + (
            f"; {len(self.unsure)} line{'s' if len(self.unsure) != 1 else ''} read by OCR with "
            "low confidence (qa ingest --json lists them)" if self.unsure else ""
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        d["flagged"] = [{"path": p, "line": n} for p, n in self.flagged]
        d["unsure"] = [{"path": p, "page": page, "line": n} for p, page, n in self.unsure]
        return d
