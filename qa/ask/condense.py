"""Follow-up questions made to stand alone before retrieval.

**Which questions are rewritten.** A question stands alone, and is asked as written by every
backend (no model call), unless it leans on the conversation in one of three ways:

1. it opens with a connective: and, but, so, also, then, plus, or, what about, how about;
2. it is elliptical: fewer than two content words ("Why?", "Who else?", "When was that?");
3. it points back: he, she, it, they, him, her, them, his, hers, its, their, theirs, this,
   these, those, else, former, latter; "there" unless existential ("are there", "there is");
   "that" only as a pronoun: last word, or after a question word, an auxiliary or a
   preposition ("do that", "after that"), never as a conjunction or relative ("reported that
   Macron ...", "the leader that ...").

**How the rule rewrites.** The history is cleaned first: citation markers are removed and a
refused turn keeps its question but not its answer. A leaning question is asked with the
thread's subject in front: the names, numbers and codes of the thread's first question (the
last earlier question that stood alone), and its other content words that its answer does not
already hold; when the question asks about a person (he, she, his, her), also the names in the
previous answer, if it names at most three. Prepending the whole previous question made the
previous answer's line outrank every other line, so each "and ...?" repeated the previous
answer (eval/datasets/followups.jsonl, extractive: 10 of 40 last turns were answered with the
previous turn's line instead of a gold line; 3 with this rule).
"""

from __future__ import annotations

import re

from ..types import History
from . import grounding
from .answer.base import REFUSAL
from .answer.markers import MARKER

_CONNECTIVE = re.compile(r"^\W*(?:and|but|so|also|then|plus|or|what about|how about)\b", re.I)
_POINTERS = frozenset(
    "he she it they him her them his hers its their theirs this these those else former "
    "latter".split()
)
_PERSON = frozenset("he she him her his hers".split())
_BE = frozenset("is are was were be been being isn't aren't wasn't weren't".split())
# after these words "that" is a pronoun ("what is that", "do that", "after that")
_BEFORE_PRONOUN_THAT = _BE | frozenset(
    """what which who why how when where do does did done doing has have had can could will
    would should may might about after before of for like than with by from to on in at into
    against since despite during""".split()
)
# a verified answer's [1] [2] or any line marker the model writes ([L12], [file.txt:L30])
_MARKER = re.compile(rf"\[\d+(?:\s*[-–,]\s*\d+)*\]|{MARKER.pattern}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def _points_back(words: list[str]) -> bool:
    for n, word in enumerate(words):
        before = words[n - 1] if n else ""
        after = words[n + 1] if n + 1 < len(words) else ""
        if word in _POINTERS:
            return True
        if word == "there" and before not in _BE and after not in _BE:
            return True
        if word == "that" and (not after or before in _BEFORE_PRONOUN_THAT):
            return True
    return False


def stands_alone(question: str) -> bool:
    """True when the question can be asked without the conversation (module docstring)."""
    if _CONNECTIVE.match(question):
        return False
    if len(grounding.tokens(question)) < 2:
        return False
    return not _points_back(_words(question))


def clean(text: str) -> str:
    """Text without citation markers ([1], [L12], [L3-5], [file.txt:L30])."""
    return " ".join(_MARKER.sub(" ", text).split())


def clean_history(history: History) -> History:
    """Markers removed; a refused (or empty) answer becomes "", its question kept."""
    out = []
    for question, answer in history:
        answer = clean(answer)
        if not answer or answer.rstrip(".") == REFUSAL.rstrip("."):
            answer = ""
        out.append((clean(question), answer))
    return out


def subject(question: str, history: History) -> str:
    """What a leaning ``question`` is about, from the cleaned ``history`` (module docstring)."""
    anchor = next((n for n in range(len(history) - 1, -1, -1) if stands_alone(history[n][0])),
                  0)
    asked, answered = history[anchor]
    told = grounding.keys(answered)
    words = [t.text for t in grounding.tokens(asked) if t.identifier or t.key not in told]
    if len(grounding.tokens(question)) < 2 and anchor < len(history) - 1:
        # "And Scholz?": the previous question again, about what this one names
        words += [t.text for t in grounding.tokens(history[-1][0]) if not t.identifier]
    if _PERSON & set(_words(question)):
        names = [t.text for t in grounding.tokens(history[-1][1])
                 if t.identifier or t.text[:1].isupper()]  # "Scholz opposed it."
        words += names if len(names) <= MAX_NAMES else []
    return " ".join(dict.fromkeys(words))


MAX_NAMES = 3  # an answer naming more is a whole passage (extractive), not "who"


def rule_condense(question: str, history: History) -> str:
    """The question as asked when it stands alone, else with the thread's subject in front."""
    history = clean_history(history)
    if not history or stands_alone(question):
        return question
    about = subject(question, history)
    return f"{about} {question.strip()}" if about else question


def trusted(rewrite: str, question: str, history: History) -> bool:
    """A model's rewrite is used only when it is plausibly the same question: one question
    (a question mark ends it, when one ended the question; no second one), no citation marker
    or refusal in it, not wildly longer than the question (at most 3x its words, or 30), every
    name, number and code of the question kept, and not merely an earlier question again (a
    small model sometimes returns one, or an answer, instead of the rewrite)."""
    said = grounding.keys(rewrite)
    return (
        bool(said)
        and rewrite.count("?") <= 1
        and (rewrite.endswith("?") or not question.rstrip().endswith("?"))
        and not _MARKER.search(rewrite)
        and REFUSAL.rstrip(".").lower() not in rewrite.lower()
        and len(rewrite.split()) <= max(30, 3 * len(question.split()))
        and not grounding.missing(grounding.identifiers(question), rewrite)
        and not any(said <= grounding.keys(asked) for asked, _ in history)
    )
