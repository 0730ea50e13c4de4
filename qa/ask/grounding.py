"""What a sentence may say: only what the lines it cites say.

A sentence is grounded when every substantive token of it is found in the lines it cites:
identifiers (numbers, names, codes) must be there; other content words may also come from the
question, so "Macron proposed ... [L5]" may repeat the question's own words. Tokens are compared
case-folded and stemmed, numbers normalised ("82,959" = "82959", "7 am" = "7:00").

The same tokens give the question's identifiers ("report 077", "1998", "Tesla"): an answer must
come from lines whose passage names them, or a wrong-entity answer would be verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..text import POLAR, STOPWORDS, TOKEN, denies, month_name, normalise_numbers, stem
from ..types import Row

# Words that frame an answer without stating a fact ("X is called Y", "according to the text").
FRAME_WORDS = frozenset(
    """according document documents text texts line lines passage passages article report
    reports mentioned mention mentions states stated state says said say called named known
    refer refers referred answer yes""".split()
)
_NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NAME_NEXT = re.compile(r"\s+[A-Z][a-z]")


@dataclass(frozen=True)
class Token:
    text: str  # as written
    key: str  # case-folded, stemmed, number-normalised: what is compared
    identifier: bool  # a number, a name or a code: must be found in the cited lines


def tokens(text: str) -> list[Token]:
    """The substantive tokens of ``text``: no stopwords, no frame words, each key once."""
    out: dict[str, Token] = {}
    text = normalise_numbers(text)
    for m in TOKEN.finditer(text):
        raw = m.group(0)
        word = re.sub(r"['’]s$", "", raw).replace("’", "'")
        low = word.lower()
        if low in STOPWORDS or low in FRAME_WORDS:
            continue
        if low in _NUMBER_WORDS:  # "three" = "3", but asks a count rather than naming one
            key, ident = _NUMBER_WORDS[low], False
        elif any(c.isdigit() for c in low):
            key, ident = low.rstrip("."), True
        else:
            key = stem(month_name(word) or low)  # "Feb 24" names February 24
            # A capital inside a sentence marks a name (at its start, only when a capitalised
            # word follows: "Olaf Scholz"); an all-caps word of 2+ letters marks a code.
            ident = (word[:1].isupper() and (not _sentence_start(text, m.start())
                                             or _NAME_NEXT.match(text, m.end()) is not None)) or (
                len(word) > 1 and word.isupper()
            )
        if key and key not in out:
            out[key] = Token(raw, key, ident)
    return list(out.values())


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".!?:\n\"'“‘(["


def keys(text: str) -> set[str]:
    return {t.key for t in tokens(text)}


def unsupported(claim: str, cited: str, question: str = "", context: str = "") -> list[str]:
    """Tokens of ``claim`` that neither the cited lines nor (for plain words) the question hold.

    ``context`` is the cited page's running header and footer (PDF): a name the question asks
    about that the page itself bears ("Apple" on a page of Apple's filing) may be said of its
    table row, which never repeats it.
    """
    line_keys = keys(cited)
    question_keys = keys(question)
    page_keys = keys(context) & question_keys
    return [
        t.text
        for t in tokens(claim)
        if t.key not in line_keys and t.key not in page_keys
        and (t.identifier or t.key not in question_keys)
    ]


def unbound(claim: str, spans: list[str], question: str) -> list[str]:
    """Names and numbers of ``claim`` that are not in the cited span about what it says the
    question asks of. "Tomas Berg carried report 044 [1][2]" cites report 044's line and
    report 042's: every word is cited, but the 044 line names Ayla Demir. When some cited
    spans hold every identifier of the question that the claim states and others do not, the
    claim's other names and numbers must be in the former (or in the question)."""
    said = keys(claim)
    asked = [i for i in identifiers(question) if i in said]
    if len(spans) < 2 or not asked:
        return []
    anchors = [s for s in spans if not missing(asked, s)]
    if not anchors or len(anchors) == len(spans):
        return []
    held = keys("\n".join(anchors)) | keys(question)
    return [t.text for t in tokens(claim) if t.identifier and t.key not in held]


def miscolumned(claim: str, rows: list[Row]) -> list[str]:
    """Words of ``claim`` that head other columns than the cells it states. "Tickets: 1,240,
    year to March 2023" cites a row whose 1,240 stands under "Year to March 2024": every word
    is in the cited lines (the head names both years), yet "2023" is said of the wrong cell.
    A cell is stated when its figure is in the claim; the words its headers and the row's
    label, section, title and unit hold are its own. The question's words are not: "in the
    year to March 2023" asks for one column, and another's figure does not answer it."""
    said = keys(claim)
    rows = [r for r in rows if r.label]  # a line of form fields has no columns
    stated = [c for r in rows for c in r.cells if keys(c.value) & said]
    if not stated:
        return []
    own = keys(" ".join(c.column for c in stated)) | keys(" ".join(
        f"{r.label} {r.section} {r.title} {r.unit}" for r in rows))
    others = keys(" ".join(c.column for r in rows for c in r.cells)) - own
    return [t.text for t in tokens(claim) if t.key in others]


def unclear(claim: str, lines: list[tuple[str, bool]], question: str) -> list[str]:
    """Figures of ``claim`` (tokens with a digit that the question does not say) that only
    unsure lines hold: ``lines`` are the cited lines, each with whether OCR read it with low
    confidence. A blurred "4,180" may be read "416", so such a figure supports nothing alone."""
    asked = keys(question)
    held = [(keys(text), doubtful) for text, doubtful in lines]
    return [t.text for t in tokens(claim)
            if any(c.isdigit() for c in t.key) and t.key not in asked
            and any(t.key in k for k, _ in held) and all(d for k, d in held if t.key in k)]


def adds_nothing(claim: str, question: str, cited: str = "") -> bool:
    """The sentence only repeats the question ("Estonian Prime Minister [1]" to "who is ...").
    To a question that asks whether ("Is the parser case sensitive?"), repeating it is the
    answer, yes or no, when the cited lines themselves say each of its words (``unaffirmed``;
    ``flipped`` has checked that they deny what it denies)."""
    if keys(claim) - keys(question):
        return False
    plain = any(not t.identifier for t in tokens(claim))
    return not (POLAR.match(question) and plain) or bool(unaffirmed(claim, question, cited))


def unaffirmed(claim: str, question: str, cited: str) -> list[str]:
    """To a question that asks whether, a sentence that only repeats it, yes or no: its words
    that ``cited`` does not say itself. Its plain words may not come from the question, as
    any other sentence's may: "Yes, the parser is case sensitive" would be grounded in any
    line that names the parser, such as the heading "2.1 ASN.1 syntax"."""
    said = tokens(claim)
    if not POLAR.match(question) or {t.key for t in said} - keys(question):
        return []
    have = keys(cited)
    return [t.text for t in said if not t.identifier and t.key not in have]


NEGATED_WORDS = 3  # the content words after a negation, in its clause, that it denies
_CLAUSE = re.compile(r"[,;:.!?()\[\]\u2013\u2014]")  # not a line break: lines wrap
_CLAUSE_WORDS = frozenset("but while whereas although though however".split())


def flipped(claim: str, cited: str) -> list[str]:
    """Words of ``claim`` that it and ``cited`` both say, one denying them and the other not:
    "This version handles the REAL type" citing "This version doesn't handle the REAL type"
    says every word its line says, and the opposite. "not" and "no" are no content words, so
    ``unsupported`` cannot see this; a word the text denies in one place and says in another
    is taken as said both ways, and never counts against a sentence."""
    theirs = _polarity(cited)
    return [word for key, (word, denied) in _polarity(claim).items()
            if denied is not None and theirs.get(key, (word, denied))[1] not in (None, denied)]


def _polarity(text: str) -> dict[str, tuple[str, bool | None]]:
    """Each content word's key -> the word as written, and whether ``text`` denies it
    wherever it says it (True), nowhere (False) or in some places only (None). A negation
    (``text.denies``) denies the next ``NEGATED_WORDS`` content words of its clause."""
    text = normalise_numbers(text)
    found = list(TOKEN.finditer(text))
    out: dict[str, tuple[str, bool | None]] = {}
    left, end = 0, 0
    for n, m in enumerate(found):
        raw = m.group(0)
        if _CLAUSE.search(text, end, m.start()) or raw.lower() in _CLAUSE_WORDS:
            left = 0
        end = m.end()
        if denies(raw, found[n + 1].group(0) if n + 1 < len(found) else ""):
            left = NEGATED_WORDS
            continue
        for key in keys(raw):
            denied = left > 0
            left = max(0, left - 1)
            word, was = out.get(key, (raw, denied))
            out[key] = (word, was if was == denied else None)
    return out


def identifiers(question: str) -> list[str]:
    """Numbers, codes and proper names the question asks about."""
    return [t.key for t in tokens(question) if t.identifier]


def missing(ids: list[str], evidence: str) -> list[str]:
    """The identifiers ``evidence`` does not contain. A name also matches its other forms
    ("Saharan" ~ "Sahara", "European" ~ "Europe"): a shared stem of all but three letters;
    the abbreviation a form writes for it, of one word ("IL" for Illinois); the initials of
    two words or more in a row ("NH" for New Hampshire, "NTSB" for National Transportation
    Safety Board); an acronym is named by the words it stands for; and a code of initials and
    a number by those words and that number ("FY2024": "fiscal year 2024")."""
    have = _named_in(evidence)
    short = _abbreviations(evidence)
    initialled = {w for n in range(len(ids)) for size in range(2, _MOST_INITIALS + 1)
                  if n + size <= len(ids)
                  and "".join(w[0] for w in ids[n:n + size]) in short | _capitals(evidence)
                  for w in ids[n:n + size]}  # "New Hampshire" written "NH"
    return [i for i in ids if i not in have and not _related(i, have) and i not in initialled
            and not any(_abbreviates(a, i) for a in short) and i not in _initials(evidence)
            and i not in _spelled(evidence)]


# An abbreviation written the way forms and addresses write one: capitals after a comma or in
# parentheses ("Springfield, IL 62701", "Lyon (FR)"), never a word of an all-caps heading.
_ABBREVIATION = re.compile(r"(?:,\s*|\()([A-Z]{2,3})(?![\w-])")
_CAPITALS = re.compile(r"(?<![\w-])[A-Z]{2,6}(?![\w-])")  # "NTSB", "FAA"
_CAPITALISED = re.compile(r"[A-Z][a-z]+")
_JOINERS = frozenset({"of", "and", "for", "the", "on", "in", "&"})  # "Bureau of Investigation"
_MOST_INITIALS = 6


@lru_cache(maxsize=4096)
def _abbreviations(evidence: str) -> frozenset[str]:
    return frozenset(a.lower() for a in _ABBREVIATION.findall(evidence))


@lru_cache(maxsize=4096)
def _capitals(evidence: str) -> frozenset[str]:
    """The words in capitals that could be initials of several of the question's names."""
    return frozenset(a.lower() for a in _CAPITALS.findall(evidence))


@lru_cache(maxsize=4096)
def _initials(evidence: str) -> frozenset[str]:
    """The initials of each run of two to six capitalised words ("National Transportation
    Safety Board": "ntsb"; "Federal Bureau of Investigation": "fbi")."""
    out: set[str] = set()
    for line in evidence.splitlines():
        run: list[str] = []
        for word in [*line.split(), ""]:
            bare = word.strip(",.;:()\"'“”‘’")
            if _CAPITALISED.fullmatch(bare):
                if not word.startswith(bare):  # "(Maritime": punctuation starts a run
                    out |= _runs(run)
                    run = []
                run.append(bare[0].lower())
                if not word.endswith(bare):  # "Board,": and ends one
                    out |= _runs(run)
                    run = []
            elif bare.lower() in _JOINERS and run:
                continue
            else:
                out |= _runs(run)
                run = []
    return frozenset(out)


_WORD_OR_NUMBER = re.compile(r"[A-Za-z]+|\d+")
_SENTENCE_END = re.compile(r"[.;:!?](?:\s|$)|\n")


@lru_cache(maxsize=4096)
def _spelled(evidence: str) -> frozenset[str]:
    """Codes of two to four initials and a number, each as the words it stands for write it:
    a run of words then the number in one sentence of a line ("fiscal years 2022 and 2023":
    "fy2022")."""
    out: set[str] = set()
    for part in _SENTENCE_END.split(evidence):
        words = _WORD_OR_NUMBER.findall(part)
        for n, number in enumerate(words):
            if number.isdigit():
                for size in range(2, 5):
                    run = words[max(n - size, 0):n]
                    if len(run) == size and all(w.isalpha() for w in run):
                        out.add("".join(w[0] for w in run).lower() + number)
    return frozenset(out)


def _runs(letters: list[str]) -> set[str]:
    return {"".join(letters[a:b]) for a in range(len(letters))
            for b in range(a + 2, min(len(letters), a + _MOST_INITIALS) + 1)}


def _abbreviates(short: str, name: str) -> bool:
    """"il" abbreviates "illinois": the name's first letter, then others of it in order."""
    if len(name) <= len(short) or not name.isalpha() or short[0] != name[0]:
        return False
    rest = iter(name[1:])
    return all(c in rest for c in short[1:])


@lru_cache(maxsize=4096)  # the same pages are checked by several steps of every question
def _named_in(evidence: str) -> frozenset[str]:
    found = TOKEN.findall(normalise_numbers(evidence))
    return frozenset(keys(evidence) | {k.lower() for k in found})


def _related(name: str, have: frozenset[str]) -> bool:
    if any(c.isdigit() for c in name) or len(name) < 5:
        return False
    stem = name[: max(4, len(name) - 3)]
    return any(k.startswith(stem) and abs(len(k) - len(name)) <= 3 for k in have)


_INSTRUCTION = re.compile(
    r"""
    \b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?
        \b(?:instructions?|prompts?|rules|context|guidelines|directions|documents?|above|everything)\b
    | (?:^|[\s"'(\[])(?:system|assistant|developer)\s*(?:override|prompt|message|note)?\s*:
    | (?:^|[.!?:;"'(]\s*|\b(?:you|please|kindly|must|should|shall|will|to|and|then)\s+)
        (?:reply|respond|answer|output|say|print|write|return)\b
        (?:[^.\n]{0,25}?\b(?:only|just|exactly|solely|always)\b[^.\n]{0,15}?\bwith\b
         |\s+(?:only|just|exactly|solely)\b)
    | \b(?:answer|reply\s+to|respond\s+to)\s+(?:every|all|each|any)\s+(?:future\s+|further\s+)?
        (?:questions?|queries|prompts|users?)\b
    | \b(?:end|start|begin|finish)\s+(?:your|each|every|the)\s+(?:answers?|replies|reply|responses?
        |output)\s+with\b
    | \byou\s+(?:are\s+now|are\s+no\s+longer|must\s+now|will\s+now|should\s+now)\b
    | \b(?:as\s+an?|you\s+are\s+an?)\s+(?:ai|assistant|chatbot|language\s+model|llm)\b
    | \b(?:reveal|print|show|repeat|leak)\b[^.\n]{0,20}?\b(?:system\s+prompt|instructions)\b
    | \bnew\s+(?:instructions?|rules|task)\s*:
    | <\|im_start\|>|<\|im_end\|>|\[/?INST\]|<<SYS>>
    | \b(?:to|attention|note\s+to)\s+(?:the\s+)?(?:ai|assistant|chatbot|language\s+model|llm)
        \s*[:,]  # addressed ("Note to the AI:"), not a topic ("related to AI could ...")
    """,
    re.I | re.X,
)


def is_instruction(line: str) -> bool:
    """The line reads as an instruction to an assistant, not as a statement about the world."""
    return bool(_INSTRUCTION.search(line))


_IMPERATIVE = re.compile(
    r"^\W*(?:say|print|write|output|type|repeat|reply|respond|answer|end|start|begin|append|add"
    r"|include|translate|forget|ignore|disregard|reveal|pretend|act|cite|quote|return)\b", re.I)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”|‘[^’]*’")


def without_instructions(question: str) -> str:
    """The question as a source of words: minus its sentences that address the assistant
    (instructions, or an order such as "Say ..." that asks nothing) and minus quoted text, so
    a payload the question carries cannot ground an answer."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", question)
    kept = [p for p in parts if not is_instruction(p)
            and not (_IMPERATIVE.match(p) and not p.rstrip().endswith("?"))]
    return _QUOTED.sub(" ", " ".join(kept))
