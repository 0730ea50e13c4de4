"""Answers written by a chat model: one prompt, one parser, any transport.

A ``ChatModel`` only turns messages into streamed text; the local llama.cpp model and any
OpenAI-compatible endpoint are two such transports, so the prompt, the citation markers and
the refusal rules cannot drift apart between backends.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Protocol

from ... import prompts
from ...errors import BackendError
from ...types import Draft, ModelCall, Passage, Purpose
from ..condense import History, clean_history, rule_condense, stands_alone, trusted
from ..support import ScoredLine
from .base import REFUSAL
from .markers import format_passages, parse_reply


class ChatModel(Protocol):
    """Messages in, streamed text out. A model that can read its own logits may also offer
    ``yes_probability(messages) -> float`` (the local model does; an OpenAI-compatible server
    does not portably), which gives the answerability score the model's judgement, and
    ``last_usage() -> Usage | None``, what its last call in this thread read and wrote."""

    name: str

    def chat(self, messages: list[dict], *, max_tokens: int) -> Iterator[str]: ...


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
        self._calls = threading.local()

    def take_calls(self) -> list[ModelCall]:
        """The model calls this thread made since it last asked, each with what it read and
        wrote, when the model counts them (``ChatModel.last_usage``)."""
        calls, self._calls.made = getattr(self._calls, "made", []), []
        return calls

    def _count(self, purpose: Purpose) -> None:
        last_usage = getattr(self.model, "last_usage", None)
        if last_usage is not None and (usage := last_usage()) is not None:
            self._calls.made = [*getattr(self._calls, "made", []), ModelCall(purpose, usage)]

    def messages(
        self, question: str, passages: list[Passage], evidence: list[ScoredLine] | None = None
    ) -> list[dict]:
        # The fixed system prompt comes first so llama.cpp can reuse its cached prefix.
        keep = None
        if self.prompt_lines and evidence:
            # a sentence run on over display lines is shown whole
            keep = {(s.source, n) for s in evidence[: self.prompt_lines]
                    for n in range(s.line, s.last + 1)}
        user = prompts.render(
            "answer_user", passages=format_passages(passages, keep), question=question
        )
        return [
            {"role": "system", "content": prompts.load("answer_system")},
            {"role": "user", "content": user},
        ]

    def stream(
        self, question: str, passages: list[Passage], *, evidence: list[ScoredLine] | None = None
    ) -> Generator[str | Draft, None, None]:
        if not passages:
            yield Draft(REFUSAL, refused=True)
            return
        pieces: list[str] = []
        messages = self.messages(question, passages, evidence)
        try:
            for piece in self.model.chat(messages, max_tokens=self.max_tokens):
                pieces.append(piece)
                yield piece
        finally:
            self._count(Purpose.ANSWER)
        text = "".join(pieces)
        if not text.strip():
            raise BackendError(f"{self.name} returned an empty reply; try again or another model")
        yield self.parse(text, passages, question)

    def parse(self, text: str, passages: list[Passage], question: str) -> Draft:
        """The draft of a reply or of its first sentences: ``QA.stream`` verifies and shows
        each sentence as soon as the model has finished it."""
        return parse_reply(text, passages, question)

    def judge(self, question: str, lines: list[str]) -> float | None:
        """The model's probability that ``lines`` state the answer to ``question``.

        A short yes/no prompt over the best lines: on squad2-dev questions kept out of the
        tests it separates answerable from unanswerable better than any retrieval signal
        (AUC 0.81 against 0.71 for the best line's similarity) for about a second of 2 cores.
        """
        yes_probability = getattr(self.model, "yes_probability", None)
        if not lines or yes_probability is None:
            return None
        messages = [
            {"role": "system", "content": prompts.load("judge_system")},
            {"role": "user", "content": prompts.render(
                "judge_user", lines="\n".join(lines), question=question)},
        ]
        try:
            return yes_probability(messages)
        finally:
            self._count(Purpose.JUDGE)

    def condense(self, question: str, history: History) -> str:
        """The question rewritten by the model to stand alone; asked as written when it
        already does (no model call). The rule rewrites instead when the model returned the
        question unchanged or a rewrite that is not to be trusted (``condense.trusted``)."""
        if not history or stands_alone(question):
            return question
        turns = "\n".join(f"User: {q}" + (f"\nAssistant: {a}" if a else "")
                          for q, a in clean_history(history)[-3:])
        prompt = prompts.render("condense", history=turns, question=question)
        try:
            text = "".join(self.model.chat([{"role": "user", "content": prompt}], max_tokens=64))
        except BackendError:
            text = ""
        finally:
            self._count(Purpose.CONDENSE)
        rewrite = next((line.strip() for line in text.splitlines() if line.strip()), "")
        rewrite = rewrite.removeprefix("Standalone question:").strip().strip('"')
        if rewrite != question and trusted(rewrite, question, history):
            return rewrite
        return rule_condense(question, history)
