"""The no-LLM answerer: quote the retrieved lines that best answer the question.

Whether to answer at all is decided before any backend runs (``QA_MIN_SUPPORT``, see
``qa/ask/support.py``); this backend only picks the lines: the best-supported one, or for a
question that asks for a figure the row and the line that state one (``figures.py``).
"""

from __future__ import annotations

from collections.abc import Generator

from ...types import Draft, Embed, Passage, Proposal
from ..cells import pick, statement
from ..figures import answer_lines
from ..support import ScoredLine, score_lines
from .base import REFUSAL


def quoted(lines: list[ScoredLine], *, marks: bool = False, question: str = "") -> Draft:
    """A draft that states each line, one sentence a line, each citing itself; ``marks``
    puts the line in quotation marks (the fallback of an LLM backend, which says so). A
    table row is stated as the cell the question asks for, with its column and unit
    (``cells.statement``), not quoted."""
    sentences, proposals = [], []
    for n, s in enumerate(lines):
        marker = f"[Q{n + 1}]"
        if s.row is not None and (cells := pick(question, s.row)):
            text = statement(s.row, cells)
            sentences.append(f"{text} {marker}")
        else:
            text = " ".join(s.text.split())
            sentences.append(f"“{text}” {marker}" if marks else f"{text} {marker}")
        proposals.append(Proposal(s.source, s.line, s.last, s.text, marker, text, n))
    return Draft("\n".join(sentences), proposals, sentences=sentences)


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
