"""The no-LLM answerer: quote the retrieved lines that best answer the question.

Whether to answer at all is decided before any backend runs (``QA_MIN_SUPPORT``, see
``qa/ask/support.py``); this backend only picks the lines: the best-supported one, or for a
question that asks for a figure the row and the line that state one (``figures.py``).
"""

from __future__ import annotations

from collections.abc import Generator

from ...types import Draft, Embed, Passage, Proposal
from ..cells import pick, statement
from ..figures import answer_lines, figures
from ..support import ScoredLine, score_lines
from .base import REFUSAL


def quoted(lines: list[ScoredLine], *, marks: bool = False, question: str = "",
           said: frozenset[str] = frozenset()) -> Draft:
    """A draft that states each line, one sentence a line, each citing itself; ``marks``
    puts the line in quotation marks (the fallback of an LLM backend, which says so). A
    table row is stated as the cells the question asks for, with their column and unit, and
    a line of form fields as the fields asked for (``cells.statement``); a line whose fields
    asked for are empty states nothing and is left out. ``said``: the figures an answer
    stated, whose cells a row states instead of those the question asks for."""
    sentences: list[str] = []
    proposals: list[Proposal] = []
    for s in lines:
        marker = f"[Q{len(sentences) + 1}]"
        text = _stated(s, question, said)
        if text == "":
            continue  # the form field asked for is empty: the line states nothing
        if text is not None:
            sentences.append(f"{text} {marker}")
        else:
            text = " ".join(s.text.split())
            sentences.append(f"“{text}” {marker}" if marks else f"{text} {marker}")
        proposals.append(Proposal(s.source, s.line, s.last, s.text, marker, text,
                                  len(sentences) - 1))
    if not sentences:
        return Draft(REFUSAL, refused=True)
    return Draft("\n".join(sentences), proposals, sentences=sentences)


def _stated(s: ScoredLine, question: str, said: frozenset[str]) -> str | None:
    """What a table row or a line of fields states for the question ("" when the fields asked
    for are empty); None for a line that is quoted as it is."""
    if s.row is None or s.end:  # a line run on into the next is quoted whole
        return None
    cells = [c for c in s.row.cells if said & set(figures(c.value))] if said else \
        pick(question, s.row)
    return statement(s.row, cells) if cells else None


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, embed: Embed) -> None:
        self._embed = embed

    def stream(
        self, question: str, passages: list[Passage], *, evidence: list[ScoredLine] | None = None
    ) -> Generator[str | Draft, None, None]:
        ranked = evidence if evidence is not None else score_lines(question, passages, self._embed)
        lines = answer_lines(question, ranked)
        draft = quoted(lines, question=question) if lines else Draft(REFUSAL, refused=True)
        yield draft.text
        yield draft
