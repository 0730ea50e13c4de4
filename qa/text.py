"""Words and numbers: the helpers that retrieval, figures, grounding and the eval share."""

from __future__ import annotations

import re
import string
from functools import lru_cache

STOPWORDS = frozenset(
    """a an the of to in on at by for from with about as into over after before between
    and or but not no nor so than then is are was were be been being am do does did doing
    have has had having what which who whom whose when where why how that this these those
    it its it's he she they them their his her him we us our you your i me my mine
    there here can could would should will shall may might must also any all some such
    very just only own same other more most many much one""".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
# The tokens that name things: a number ("82959", "7:30", "3.5"); a code, letters and digits in
# one token ("AB123C", "B12", "10-Q", "COVID-19"), never split so that "123" inside "AB123C"
# counts as named; a word. Digits followed by lower-case letters are a number and its unit or
# suffix ("5kg", "1990s", "21st"), not a code; a hyphen joins a code only beside a capital
# ("S-8", not "mid-1990s").
TOKEN = re.compile(
    r"""(?:[^\W_]+-)*[^\W_]*?(?:[A-Z]-?\d|[^\W\d_]\d|\d-?[A-Z])[^\W_]*(?:-(?=[^\W_]*[A-Z\d])[^\W_]+)*
    | \d+(?:[.:]\d+)*
    | [^\W\d_]+(?:['’][^\W\d_]+)*
    | [^\W_]+""",
    re.UNICODE | re.X,
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=65536)  # a page's lines are scored question after question
def stem(word: str) -> str:
    """A crude suffix strip: enough for 'supported'/'supports' to meet 'support',
    'inventories' to meet 'inventory' and 'expenses' to meet 'expense'."""
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ingly", "edly", "ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def content_terms(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in STOPWORDS}


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation) | {"‘", "’", "“", "”"})
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")


def month(word: str) -> int:
    """1-12 for a month's name or its abbreviation of three letters or more; 0 otherwise."""
    w = word.lower().rstrip(".")
    return next((n for n, m in enumerate(MONTHS, 1) if len(w) >= 3 and m.startswith(w)), 0)
