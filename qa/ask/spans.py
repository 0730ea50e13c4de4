"""The documents a question asks across, and what was found in each.

"How have Apple's net sales changed over the reported quarters?" wants one row from each of
Apple's filings, not the best row of whichever filing retrieval ranked first. A question spans
documents when it says so: a quantifier over periods or documents ("each reported period",
"across quarters", "in these 10-Qs", "over time"), or names two files or more by their names
("in Q3 2022, Q1 2023 and Q2 2023": all that tells each one's name from the others'). The
documents are those about what the question names ("Apple"): those that name it in as large a
share of their passages, or half as large, as the one that names it most (a competitor's
filing names Apple on one page of fifty), narrowed to the ones whose names hold the question's
years when some do. The answer then states what each of them holds and says where nothing was
found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..text import TOKEN
from .answerability import file_date, name_terms, said_terms

MAX_SPAN = 8  # most documents one question is split over; more reads as no split at all
ABOUT = 0.5  # a document is about a name when its share of passages naming it is at least
# this part of the largest such share
_NOUNS = (r"quarters|periods?|years|filings|reports|10-?[QK]s|documents|editions|versions"
          r"|issues|releases|surveys|audits")
_CUES = r"each|every|across|throughout|these|those|all|over|during|previous|prior|past|last|first"
# a quantifier, then at most three words, then a noun of periods or documents; or "each" or
# "every" before one in the singular
_ACROSS = re.compile(rf"\bover\s+time\b|\b(?:{_CUES})(?:\W+[\w-]+){{0,3}}?\W+(?:{_NOUNS})\b"
                     r"|\b(?:each|every)\s+(?:[\w-]+\s+)?(?:quarter|year|month|filing|report"
                     r"|document|edition|version|issue)\b", re.I)
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def asks_across(question: str, sources: Sequence[str] = ()) -> bool:
    """The question says it asks across periods or documents ("each reported period"), or
    names two of ``sources`` or more."""
    return _ACROSS.search(question) is not None or len(named_among(question, sources)) >= 2


def named_among(question: str, sources: Sequence[str]) -> list[str]:
    """The files of ``sources`` the question names: it says all that tells a file's name from
    the others' ("Q1 2023" of "2023 Q1 AAPL", "2023 Q2 AAPL", ...)."""
    if len(sources) < 2:
        return []
    said = said_terms(question)
    common = set.intersection(*(name_terms(s) for s in sources))
    return [s for s in sources if (own := name_terms(s) - common) and own <= said]


def spanned(question: str, ids: list[str], mentioning: Callable[[list[str]], dict[str, float]]
            ) -> list[str]:
    """The documents ``question`` asks across, oldest first by their names' dates; [] when it
    asks about one (or names nothing a document could be told by). ``mentioning`` gives the
    sources whose passages hold all of some words, with the share of their passages that do
    (``Manifest.mentioning``)."""
    names = [i for i in ids if not any(c.isdigit() for c in i) and TOKEN.fullmatch(i)]
    if not names:
        return []
    if not (shares := mentioning(names)):
        return []
    family = [s for s, n in shares.items() if n >= ABOUT * max(shares.values())]
    if len(family) < 2:
        return []
    said = said_terms(question)
    named = named_among(question, family)
    if len(named) < 2:
        if not asks_across(question):
            return []
        years = {t for t in said if _YEAR.match(t)}
        named = [s for s in family if name_terms(s) & years] or family
    if not 2 <= len(named) <= MAX_SPAN:
        return []
    return sorted(named, key=lambda s: (file_date(s) or (0, 0), s))
