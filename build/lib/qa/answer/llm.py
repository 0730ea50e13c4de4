"""Answers written by a chat model: one prompt, one parser, any transport.

A ``ChatModel`` only turns messages into streamed text; the local llama.cpp model and any
OpenAI-compatible endpoint are two such transports, so the prompt, the citation markers and
the refusal rules cannot drift apart between backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from .. import prompts
from ..condense import History, rule_condense
from ..errors import BackendError
from ..support import ScoredLine
from ..types import Draft, Passage
from .base import REFUSAL
from .markers import format_passages, parse_reply


class ChatModel(Protocol):
    """Messages in, streamed text out. A model that can also fills ``signals`` (when given)
    with what it knows about its reply, e.g. ``p_not_found``; others ignore it."""

    name: str

    def chat(
        self, messages: list[dict], *, max_tokens: int, signals: dict | None = None
    ) -> Iterator[str]: ...


class LLMAnswerer:
    """``prompt_lines`` > 0 shows the model only that many best-supported lines of the passages
    (in document order) instead of every line: a small model answers a short, focused prompt
    better and reads it several times faster. Citations are still aligned and verified against
    the whole passages.
    """

    def __init__(self, model: ChatModel, *, max_tokens: int = 256, prompt_lines: int = 0) -> None:
        self.model = model
        self.prompt_lines = prompt_lines
        self.name = model.name
        self.max_tokens = max_tokens

    def messages(
        self, question: str, passages: list[Passage], evidence: list[ScoredLine] | None = None
    ) -> list[dict]:
        # The fixed system prompt comes first so llama.cpp can reuse its cached prefix.
        keep = None
        if self.prompt_lines and evidence:
            keep = {(s.source, s.line) for s in evidence[: self.prompt_lines]}
        user = prompts.render(
            "answer_user", passages=format_passages(passages, keep), question=question
        )
        return [
            {"role": "system", "content": prompts.load("answer_system")},
            {"role": "user", "content": user},
        ]

    def stream(
        self, question: str, passages: list[Passage], *, evidence: list[ScoredLine] | None = None
    ) -> Iterator[str | Draft]:
        if not passages:
            yield Draft(REFUSAL, refused=True)
            return
        pieces: list[str] = []
        signals: dict = {}
        messages = self.messages(question, passages, evidence)
        for piece in self.model.chat(messages, max_tokens=self.max_tokens, signals=signals):
            pieces.append(piece)
            yield piece
        text = "".join(pieces)
        if not text.strip():
            raise BackendError(f"{self.name} returned an empty reply; try again or another model")
        draft = parse_reply(text, passages, question)
        draft.signals.update(signals)
        yield draft

    def condense(self, question: str, history: History) -> str:
        turns = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
        prompt = prompts.render("condense", history=turns, question=question)
        try:
            text = "".join(
                self.model.chat([{"role": "user", "content": prompt}], max_tokens=64)
            ).strip()
        except BackendError:
            text = ""
        text = text.splitlines()[0].strip() if text else ""
        return text or rule_condense(question, history)
