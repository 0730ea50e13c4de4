"""The citation check: nothing reaches the user that the file does not say.

A proposed citation survives only if its lines lie inside a passage that was retrieved for this
question, the stored passage is intact (its hash matches), any quote the answerer gave equals
those lines, the file on disk still has exactly those lines, and the claim it is attached to
shares words with them (so "PWNED [L30]" cannot borrow line 30's authority).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ._hashing import sha256_text
from .documents import read_lines
from .text import content_terms
from .types import Citation, Passage, Proposal

# Share of a claim's content words that must appear in the lines it cites. Low on purpose:
# it stops citations borrowed by unrelated text, not paraphrase.
MIN_GROUNDING = 0.3

LineReader = Callable[[str, int, int], "list[str] | None"]


def disk_reader(paths: dict[str, str]) -> LineReader:
    """Read lines of an ingested source from where it was ingested from."""

    def read(source: str, start: int, end: int) -> list[str] | None:
        path = paths.get(source)
        return read_lines(Path(path), start, end) if path else None

    return read


def verify(
    proposals: list[Proposal], passages: list[Passage], read: LineReader
) -> tuple[list[Citation], list[dict]]:
    """Return (verified citations in proposal order without repeats, dropped with reasons)."""
    kept: list[Citation] = []
    dropped: list[dict] = []
    seen: set[tuple[str, int, int]] = set()
    for prop in proposals:
        reason, citation = _check(prop, passages, read)
        if citation is None:
            dropped.append({"source": prop.source, "start_line": prop.start_line,
                            "end_line": prop.end_line, "marker": prop.marker, "reason": reason})
            continue
        key = (citation.source, citation.start_line, citation.end_line)
        if key not in seen:
            seen.add(key)
            kept.append(citation)
    return kept, dropped


def _check(prop: Proposal, passages: list[Passage], read: LineReader):
    if prop.start_line < 1 or prop.end_line < prop.start_line:
        return "invalid line range", None
    holder = next(
        (
            p
            for p in passages
            if p.chunk.source == prop.source
            and p.chunk.start_line <= prop.start_line
            and prop.end_line <= p.chunk.end_line
        ),
        None,
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
    if prop.claim:
        terms = content_terms(prop.claim)
        if terms and len(terms & content_terms(quote)) / len(terms) < MIN_GROUNDING:
            return "the cited lines do not support the sentence", None
    on_disk = read(prop.source, prop.start_line, prop.end_line)
    if on_disk is None:
        return "file or lines no longer exist", None
    if on_disk != lines:
        return "file changed since it was ingested", None
    return "", Citation(prop.source, prop.start_line, prop.end_line, quote, holder.score)
