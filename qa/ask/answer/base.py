"""The one interface every answer backend implements."""

from __future__ import annotations

from collections.abc import Generator
from typing import Protocol, runtime_checkable

from ...types import Draft, Passage
from ..support import ScoredLine

REFUSAL = "The documents don't say."


@runtime_checkable
class Answerer(Protocol):
    """Writes a draft answer from retrieved passages, proposing citations by line.

    ``stream`` yields text pieces as they are produced and, last, exactly one ``Draft``: one
    code path serves the streaming UI and the blocking API. It is a generator: closing it
    (the user pressed Stop) must end generation. Verification happens after,
    outside the backend, so no backend can put an unchecked citation in front of a user.
    ``evidence`` is the passages' lines ranked by support when the caller has scored them
    already (``QA`` always has, for its refusal gate); a backend may use it or ignore it.

    A backend may also offer ``parse(text, passages, question) -> Draft``, the draft of its
    reply so far: ``QA.stream`` then verifies and shows each sentence as soon as it is
    written, instead of the whole reply at the end.
    """

    name: str

    def stream(
        self, question: str, passages: list[Passage], *, evidence: list[ScoredLine] | None = None
    ) -> Generator[str | Draft, None, None]: ...


def run(answerer: Answerer, question: str, passages: list[Passage]) -> Draft:
    """The blocking form of ``stream``."""
    draft = None
    for item in answerer.stream(question, passages):
        if isinstance(item, Draft):
            draft = item
    if draft is None:
        raise RuntimeError(f"answerer {answerer.name!r} ended without a draft")
    return draft
