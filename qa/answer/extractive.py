"""The no-LLM answerer: quote the retrieved line that best supports the question.

Each line of the retrieved passages gets a support score: the mean of its embedding similarity
to the question and the share of the question's content words it contains. The best line is the
answer, cited by its line number; below ``min_support`` the answer is a refusal, because a
retrieval score alone cannot tell "related" from "answers it".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..text import content_terms
from ..types import Draft, Passage, Proposal
from .base import REFUSAL

Embed = Callable[[list[str]], list[list[float]]]


@dataclass(frozen=True)
class ScoredLine:
    source: str
    line: int
    text: str
    support: float


def score_lines(question: str, passages: list[Passage], embed: Embed) -> list[ScoredLine]:
    """Every non-blank line of the passages, best supported first."""
    candidates: dict[tuple[str, int], str] = {}
    for p in passages:
        for offset, text in enumerate(p.chunk.lines()):
            if len(text.split()) >= 3:
                candidates.setdefault((p.chunk.source, p.chunk.start_line + offset), text)
    if not candidates:
        return []
    keys = list(candidates)
    vectors = embed([question] + [candidates[k] for k in keys])
    q_vec, line_vecs = vectors[0], vectors[1:]
    q_terms = content_terms(question)
    scored = []
    for key, vec in zip(keys, line_vecs):
        sim = sum(a * b for a, b in zip(q_vec, vec))
        lex = len(q_terms & content_terms(candidates[key])) / len(q_terms) if q_terms else 0.0
        scored.append(ScoredLine(key[0], key[1], candidates[key], 0.5 * sim + 0.5 * lex))
    scored.sort(key=lambda s: -s.support)
    return scored


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, embed: Embed, *, min_support: float = 0.45) -> None:
        self._embed = embed
        self.min_support = min_support

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Draft]:
        ranked = score_lines(question, passages, self._embed)
        if not ranked or ranked[0].support < self.min_support:
            draft = Draft(REFUSAL, refused=True)
        else:
            best = ranked[0]
            draft = Draft(
                f"{best.text.strip()} [1]",
                [Proposal(best.source, best.line, best.line, best.text, "[1]")],
            )
        yield draft.text
        yield draft
