"""The stream gate: a reply's text reaches the user only as its sentences pass verification.

A sentence is finished when the next one begins; it is parsed and verified then, and shown
with its markers already renumbered. What is shown is always the start of the final answer,
so nothing is taken back.
"""

from __future__ import annotations

from collections.abc import Callable

from ..types import Draft, Passage
from .answer.markers import complete, renumber
from .verify import Verified

Check = Callable[[Draft], Verified]
Parse = Callable[[str, list[Passage], str], Draft]


def shown_text(draft: Draft, check: Check) -> tuple[Verified | None, str]:
    """The verified draft and the text a user may see of it ("" when nothing survives)."""
    if draft.refused:
        return None, ""
    result = check(draft)
    if not result.citations:
        return result, ""
    return result, renumber(draft, result.citations, result.sentences, result.heads)


class Gate:
    """Feed it a backend's stream item by item; it returns the newly verified text.

    ``parse`` is the backend's reader of a partial reply; without one, nothing is let through
    before the end (the whole reply is verified then, by the caller).
    """

    def __init__(self, check: Check, parse: Parse | None, passages: list[Passage],
                 question: str) -> None:
        self._check, self._parse = check, parse
        self._passages, self._question = passages, question
        self._reply: list[str] = []
        self._done = ""
        self.shown = ""  # the verified text let through so far
        self.draft: Draft | None = None  # the backend's final draft, once it has sent it

    def feed(self, item: str | Draft) -> str:
        if isinstance(item, Draft):
            self.draft = item
            return ""
        self._reply.append(item)
        if self._parse is None or (finished := complete("".join(self._reply))) == self._done:
            return ""
        self._done = finished
        text = shown_text(self._parse(finished, self._passages, self._question), self._check)[1]
        if len(text) > len(self.shown) and text.startswith(self.shown):
            new, self.shown = text[len(self.shown):], text
            return new
        return ""
