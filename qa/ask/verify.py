"""The citation check: nothing reaches the user that the file does not say.

A proposed citation survives only if its lines lie inside a passage that was retrieved for this
question, the stored passage is intact (its hash matches), any quote the answerer gave equals
those lines, the file on disk still has exactly those lines, and none of them reads as an
instruction to an assistant. A sentence is then shown only if the lines it cites say everything
it says (``grounding.unsupported``; names and numbers from the line about what the question
asks of, ``grounding.unbound``; no figure that only lines OCR was unsure of state,
``grounding.unclear``), it adds something to the question, and at least one of its
lines relates to the question (support of ``min_line_support`` or more), so "I have been pwned"
cannot ride along with a correct answer on the authority of a real line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .._hashing import sha256_text
from ..ingest.documents import PageReader
from ..types import Chunk, Citation, Draft, Passage, Proposal, Row, unsure
from . import grounding

NOT_VERIFIED = "no sentence survived verification"


class Drop(StrEnum):
    """Why verification dropped a sentence, set where it is dropped (a dropped citation's
    "reason"; the other reasons name the words its lines do not say): read as it is by the
    pipeline, the CLI and the eval, never parsed."""

    REPEATS_QUESTION = "the sentence only repeats the question"
    UNCLEAR_FIGURE = "OCR read the figure with low confidence: it could not be read clearly"
    OPPOSITE = "the sentence says the opposite: it denies what its cited lines say, or says " \
        "what they deny"


@dataclass
class Verified:
    citations: list[Citation] = field(default_factory=list)  # proposal order, no repeats
    dropped: list[dict] = field(default_factory=list)  # each with its reason
    sentences: set[int] = field(default_factory=set)  # the draft sentences that may be shown
    # a cited table row's key (source, start, end) -> its head's citations' keys, which its
    # marker names after it
    heads: dict[tuple[str, int, int], list[tuple[str, int, int]]] = field(default_factory=dict)


def verify(
    draft: Draft,
    passages: list[Passage],
    read: PageReader,
    *,
    question: str = "",
    support: Mapping[tuple[str, int], float] | None = None,
    min_line_support: float = 0.0,
) -> Verified:
    """Check every proposal against the passages and the file, then every sentence against
    the lines it cites. ``support`` is each line's relation to the question (``support.py``)."""
    out = Verified()
    question = grounding.without_instructions(question)
    good: dict[int, list[tuple[Proposal, Citation]]] = {}
    for prop in draft.proposals:
        reason, citation = _check(prop, passages, read)
        if citation is None:
            out.dropped.append(_dropped(prop, reason))
        else:
            good.setdefault(prop.sentence, []).append((prop, citation))
    seen: set[tuple[str, int, int]] = set()
    contexts = {(p.chunk.source, p.chunk.page): p.chunk.context for p in passages}
    for n in sorted(good):
        pairs = good[n]
        heads = [_heads(c, passages, read) for _, c in pairs]
        claim = pairs[0][0].claim or " ".join(c.quote for _, c in pairs)
        # a cited table row is read with the lines of its table's head, and cites them too
        spans = ["\n".join([c.quote, *(h.quote for h in head)])
                 for (_, c), head in zip(pairs, heads, strict=True)]
        cited = "\n".join(spans)
        context = "\n".join({contexts.get((c.source, c.page), "") for _, c in pairs})
        rows = [r for _, c in pairs for r in _rows(c, passages)]
        lines = _read_lines([each for (_, c), head in zip(pairs, heads, strict=True)
                             for each in (c, *head)], passages)
        reason, extra = _sentence_problem(claim, cited, spans, rows, lines, question, context,
                                          pairs, support, min_line_support)
        if reason:
            out.dropped += [{**_dropped(p, reason), **extra} for p, _ in pairs]
            continue
        out.sentences.add(n)
        for (_, c), head in zip(pairs, heads, strict=True):
            if head:
                out.heads[_key(c)] = [_key(h) for h in head]
            for each in (c, *head):
                if _key(each) not in seen:
                    seen.add(_key(each))
                    out.citations.append(each)
    return out


def _key(c: Citation) -> tuple[str, int, int]:
    return c.source, c.start_line, c.end_line


def _home(cited: Citation, passages: list[Passage]) -> Chunk | None:
    return next((p.chunk for p in passages
                 if p.chunk.holds(cited.source, cited.start_line, cited.end_line)), None)


def _rows(cited: Citation, passages: list[Passage]) -> list[Row]:
    """The table rows among ``cited``'s lines."""
    home = _home(cited, passages)
    return [r for r in home.rows if cited.start_line <= r.line <= cited.end_line] if home else []


def _read_lines(cited: list[Citation], passages: list[Passage]) -> list[tuple[str, bool]]:
    """Each cited line, with whether OCR read it with low confidence (as ingest recorded)."""
    out = []
    for c in cited:
        home = _home(c, passages)
        out += [(text, home is not None and unsure(home.confidence(n)))
                for n, text in enumerate(c.quote.split("\n"), c.start_line)]
    return out


def _heads(cited: Citation, passages: list[Passage], read: PageReader) -> list[Citation]:
    """The head lines (title, unit, column headers) and section line of the table rows among
    ``cited``'s lines, as verified citations: a figure's period and unit are read there, never
    in the row. They are checked like any citation; those that fail are left out, and the
    words only they say are then unsupported."""
    out: list[Citation] = []
    for first, last in [span for row in _rows(cited, passages) for span in row.read_with]:
        for holder in passages:  # a head may lie across two chunks of the page
            c = holder.chunk
            a, b = max(first, c.start_line), min(last, c.end_line)
            if c.source != cited.source or a > b or any(h.start_line == a for h in out):
                continue
            _, head = _check(Proposal(cited.source, a, b), passages, read)
            if head is not None:
                out.append(head)
    return sorted(out, key=lambda h: h.start_line)


def _dropped(prop: Proposal, reason: str) -> dict:
    return {"source": prop.source, "start_line": prop.start_line, "end_line": prop.end_line,
            "marker": prop.marker, "sentence": prop.claim, "reason": reason}


def _sentence_problem(claim, cited, spans, rows, lines, question, context, pairs, support,
                      min_line_support):
    missing = grounding.unsupported(claim, cited, question, context) or \
        grounding.unbound(claim, spans, question) or \
        grounding.miscolumned(claim, rows)
    if missing:
        return f"the cited lines do not say: {', '.join(missing)}", {"unsupported": missing}
    if unclear := grounding.unclear(claim, lines, question):
        return Drop.UNCLEAR_FIGURE, {"unclear": unclear}
    if opposite := grounding.flipped(claim, cited):
        return Drop.OPPOSITE, {"opposite": opposite}
    if question and grounding.adds_nothing(claim, question, cited):
        return Drop.REPEATS_QUESTION, {}
    if support is not None and min_line_support > 0:
        best = max(
            (support.get((c.source, n), 0.0)
             for _, c in pairs for n in range(c.start_line, c.end_line + 1)),
            default=0.0,
        )
        if best < min_line_support:
            return (f"the cited lines do not answer the question (support {best:.2f} < "
                    f"{min_line_support:g})"), {}
    return "", {}


def _check(prop: Proposal, passages: list[Passage], read: PageReader):
    if prop.start_line < 1 or prop.end_line < prop.start_line:
        return "invalid line range", None
    holder = next(
        (p for p in passages if p.chunk.holds(prop.source, prop.start_line, prop.end_line)), None
    )
    if holder is None:
        return "lines were not among the retrieved passages", None
    chunk = holder.chunk
    if sha256_text(chunk.text) != chunk.sha256:
        return "stored passage does not match its hash", None
    lines = chunk.lines()[prop.start_line - chunk.start_line : prop.end_line - chunk.start_line + 1]
    if not any(line.strip() for line in lines):
        return "cited lines are blank", None
    quote = "\n".join(lines)
    if prop.quote is not None and prop.quote != quote:
        return "quote differs from the file's lines", None
    if any(prop.start_line <= n <= prop.end_line for n in chunk.flagged):
        return "the cited line reads as an instruction to an assistant", None
    if reason := _drift(chunk, prop.start_line, lines, read):
        return reason, None
    return "", Citation(prop.source, prop.start_line, prop.end_line, quote, holder.score,
                        chunk.page, chunk.page_offset,
                        chunk.confidence(prop.start_line, prop.end_line))


def drift(chunk: Chunk, read: PageReader) -> str:
    """Why the file no longer holds the chunk's lines as ingested; "" while it does."""
    return _drift(chunk, chunk.start_line, chunk.lines(), read)


def _drift(chunk: Chunk, start: int, lines: list[str], read: PageReader) -> str:
    page = read(chunk.source, chunk.page)  # a PDF's page is extracted again from the file
    first = start - chunk.page_offset
    last = first + len(lines) - 1
    if page is None or last > len(page):
        return "file or lines no longer exist"
    if page[first - 1 : last] != lines:
        return "file changed since it was ingested"
    return ""
