"""The no-LLM answerer: quote the retrieved line that best supports the question.

Whether to answer at all is decided before any backend runs (``QA_MIN_SUPPORT``, see
``qa/ask/support.py``); this backend only picks the line.
"""

from __future__ import annotations

from collections.abc import Generator

from ...types import Draft, Embed, Passage, Proposal
from ..support import ScoredLine, score_lines
from .base import REFUSAL


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, embed: Embed) -> None:
        self._embed = embed

    def stream(
        self, question: str, passages: list[Passage], *, evidence: list[ScoredLine] | None = None
    ) -> Generator[str | Draft, None, None]:
        ranked = evidence if evidence is not None else score_lines(question, passages, self._embed)
        if not ranked:
            draft = Draft(REFUSAL, refused=True)
        else:
            best = ranked[0]
            draft = Draft(
                f"{best.text.strip()} [1]",
                [Proposal(best.source, best.line, best.line, best.text, "[1]")],
            )
        yield draft.text
        yield draft
