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
CURRENCY = "$€£¥"  # the signs printed before an amount of money ("$3.72", "€ 4.5")
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


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)  # a page's lines are scored question after question
def stem(word: str) -> str:
    """The English Snowball stem, one for every part that compares words: 'supported' and
    'supports' meet 'support', 'inventories' meets 'inventory', 'expenses' meets 'expense'."""
    return _stemmer().stemWord(word)


def content_terms(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in STOPWORDS}


# Words that deny what follows them in their clause ("not", "never", "doesn't"), unless a
# bound follows ("no more than 5%", "not later than June") or "only" ("not only A but B").
NEGATIONS = frozenset("not no never none nor neither cannot without".split())
_NOT_DENIAL = frozenset("""only more less fewer later earlier greater longer shorter higher
    lower sooner""".split())
# A question that asks whether, answered yes or no ("Is the parser case sensitive?").
POLAR = re.compile(r"^\W*(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would"
                   r"|should|shall|may|must)\b", re.I)


def denies(word: str, after: str = "") -> bool:
    """Whether ``word``, followed by the word ``after``, denies what follows it."""
    low = word.lower().replace("’", "'")
    return (low in NEGATIONS or low.endswith("n't")) and after.lower() not in _NOT_DENIAL


_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|how(?:\s+(?:much|many|long|far|old"
                 r"|large|big|high|often))?)\b", re.I)


def question_focus(question: str) -> set[str]:
    """The terms of what a question asks for: the words after its question word, up to the
    next small word ("what cloud ceiling was reported at the airport": cloud, ceiling; "who
    was the registered owner of ...": registered, owner); none when it has no question
    word."""
    if not (m := _WH.search(question)):
        return set()
    focus: list[str] = []
    for w in words(question[m.end():]):
        if w in STOPWORDS:
            if focus:
                break
            continue
        focus.append(w)
    return {stem(w) for w in focus}


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


def month_name(word: str) -> str:
    """The month a capitalised word names, by its full name or its usual abbreviation ("Feb",
    "Sept."), in lower case; "" for any other word ("Marc" is a name, "may" a verb)."""
    w = word.rstrip(".")
    if not w[:1].isupper() or not (n := month(w)):
        return ""
    full = MONTHS[n - 1]
    return full if w.lower() in (full, full[:3], "sept") else ""


_DATE = re.compile(r"\b([A-Z][a-z]{2,8}\.?)\s+(?:(\d{1,2}),?\s+)?((?:19|20)\d\d)\b")


def _month(m: re.Match[str]) -> int:
    """The month a ``_DATE`` match names (1-12), or 0 when its word is no month's name."""
    return month(m[1]) if month_name(m[1]) else 0


def undated(text: str) -> str:
    """``text`` with the dates ``dates`` reads taken out ("As of June 30, 2025": "As of ")."""
    return _DATE.sub(lambda m: "" if _month(m) else m[0], text)


def dates(text: str) -> set[tuple[int, int, int]]:
    """The dates ``text`` writes with their month named: (year, month, day), day 0 for a month
    of a year ("June 25, 2022": (2022, 6, 25); "January 2024": (2024, 1, 0))."""
    return {(int(m[3]), n, int(m[2] or 0)) for m in _DATE.finditer(text) if (n := _month(m))}


# What a table's figures count: the scale line ("(In millions, except per share amounts)"), or
# a header cell ("Change (%)"). Group 1 is the scale's word, when it is one.
UNIT = re.compile(r"\b(?:in\s+)?(millions|thousands|billions)\b|\bper\s+(?:share|cent)\b"
                  r"|\bpercent\b|%", re.I)
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s*m\b\.?", re.I)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_CODE_PLURAL = re.compile(r"\b(\d+-[A-Z]{1,3})s\b")
# a typographic dash or minus between letters and digits, as typesetting writes a code's hyphen
# ("PC–12/47E" for "PC-12/47E"); an em dash stays, as prose puts one between words
_DASH = re.compile(r"(?<=[^\W_])[\u2010\u2011\u2012\u2013\u2212](?=[^\W_])")


def _time(m: re.Match) -> str:
    hour, minute, half = int(m.group(1)), m.group(2) or "00", m.group(3).lower()
    hour = hour % 12 + (12 if half == "p" else 0)
    return f"{hour}:{minute}"


def normalise_numbers(text: str) -> str:
    """Numbers written one way: thousands separators dropped ("82,959" = "82959"), clock times
    as H:MM ("7 am" = "7:00"), a percent sign as the word; a code's plural is the code ("10-Qs"
    names the 10-Q), its typeset dash a hyphen ("PC–12" is "PC-12")."""
    text = _CODE_PLURAL.sub(r"\1", _DASH.sub("-", text))
    return _TIME.sub(_time, _THOUSANDS.sub("", text.replace("%", " percent ")))
