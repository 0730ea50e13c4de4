"""Line-aware chunking of a file's view: paragraphs (blank-line separated) are the unit, a line
is never cut, and a chunk never crosses a page.

Neighbouring short paragraphs are packed together up to ``max_words``; a paragraph longer than
that is split between lines, repeating ``overlap`` lines so a sentence at a boundary is seen by
both chunks. Sizes are in words because the embedder reads ~256 word-pieces and cuts the rest.
"""

from __future__ import annotations

import os

from .._hashing import sha256_text
from ..types import Chunk
from .readers import View, display_lines, split_lines


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) 0-based inclusive line spans of the non-blank runs."""
    spans, start = [], None
    for i, line in enumerate(lines):
        if line.strip():
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i - 1))
            start = None
    if start is not None:
        spans.append((start, len(lines) - 1))
    return spans


def _words(line: str) -> int:
    """Words for sizing: a run without spaces (base64, minified code) counts one per 10
    characters, so such lines are not packed 120 to a chunk; prose averages ~6 per word."""
    return max(len(line.split()), len(line) // 10)


def _split_long(lines: list[str], start: int, end: int, max_words: int, overlap: int):
    """Split one paragraph into line windows of at most ``max_words`` (a single longer line
    stays whole)."""
    i = start
    while i <= end:
        j, words = i, 0
        while j <= end:
            n = _words(lines[j])
            if j > i and words + n > max_words:
                break
            words += n
            j += 1
        yield i, j - 1
        if j > end:
            return
        i = max(j - overlap, i + 1)


def chunk_text(source: str, text: str, **options) -> list[Chunk]:
    """Chunks of a plain text, numbered as the text file's view (see ``readers``)."""
    return chunk_view(source, View(display_lines(split_lines(text))), **options)


def chunk_view(
    source: str,
    view: View,
    *,
    max_words: int = 120,
    page_words: int | None = None,
    overlap: int = 1,
) -> list[Chunk]:
    """``page_words`` sizes the chunks of a page (PDF) instead of ``max_words``: a filing's
    page is mostly short table rows, and a chunk that keeps a table with its heading rows
    finds the figure asked for (sec10q: facts in the top 5 rose from 0.23 at 120 words to
    0.32 at 200)."""
    chunks = []
    for page, offset, count in view.segments():
        lines = view.lines[offset : offset + count]
        context = page_context(source, lines) if page else ""
        size = page_words or max_words if page else max_words
        for start, end in _windows(lines, size, overlap):
            body = "\n".join(lines[start : end + 1])
            first, last = offset + start + 1, offset + end + 1
            chunks.append(Chunk(source, first, last, body, sha256_text(body), page=page,
                                page_offset=offset, context=context,
                                rows=tuple(r for r in view.rows if first <= r.line <= last),
                                scanned=tuple(s for s in view.scanned
                                              if first <= s.line <= last)))
    return chunks


def page_context(source: str, lines: list[str]) -> str:
    """The file name and a page's running header and footer (its first two and last lines).

    A table row such as "Total net sales 82,959 81,434" does not say whose sales or which
    quarter; the page's header ("Apple Inc.", the statement's title) and footer
    ("Apple Inc. | Q3 2022 Form 10-Q | 4") do, so they are searched with every chunk of it.
    """
    name = os.path.splitext(os.path.basename(source))[0].replace("_", " ")
    kept = [line for line in lines if line.strip()]
    edges = kept[:2] + kept[-1:] if len(kept) > 3 else kept
    return " | ".join([name, *(line[:CONTEXT_CHARS] for line in edges)])


CONTEXT_CHARS = 100  # of each header/footer line: the context must leave room for the text


def _windows(lines: list[str], max_words: int, overlap: int) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    pending_words = 0
    for start, end in _paragraphs(lines):
        words = sum(_words(lines[k]) for k in range(start, end + 1))
        if words > max_words:
            if pending and pending_words < max_words // 4:
                start = pending[0]  # a heading leads into the long paragraph, not alone
            elif pending:
                windows.append(pending)
            pending, pending_words = None, 0
            windows.extend(_split_long(lines, start, end, max_words, overlap))
            continue
        if pending and pending_words + words <= max_words:
            pending, pending_words = (pending[0], end), pending_words + words
        else:
            if pending:
                windows.append(pending)
            pending, pending_words = (start, end), words
    if pending:
        windows.append(pending)
    return windows
