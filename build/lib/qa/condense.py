"""Follow-up questions made to stand alone before retrieval.

With an LLM backend that offers ``condense``, the model rewrites the question using the
conversation (prompt: ``prompts/condense.txt``). On the embedded default the rule is simple and
documented: a question that leans on the previous turn (it starts with "and"/"but"/"what about",
or uses a pronoun such as it/they/he/she/this/that) gets the previous question prepended.
"""

from __future__ import annotations

import re

History = list[tuple[str, str]]  # (question, answer) turns, oldest first

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|so|also|what about|how about)\b"
    r"|\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there)\b",
    re.IGNORECASE,
)


def rule_condense(question: str, history: History) -> str:
    if not history or not _FOLLOW_UP.search(question):
        return question
    return f"{history[-1][0].strip()} {question.strip()}"
