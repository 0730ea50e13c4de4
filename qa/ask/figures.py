"""Questions that ask for a figure, and the lines that state one.

"How has Apple's total net sales changed?" is answered by the row "Total net sales $ 82,959
$ 81,434 ...", yet that row scores low as support: it is mostly numbers, so its embedding is
far from the question's, and prose about the figure ("higher net sales of iPhone, partially
offset by ...") wins. On sec10q the best-supported line stated a reference figure for 3 of 74
questions. When a question asks for a quantity, the lines quoted are instead the table rows
whose label the question says and, when it says a label only in part, the best-supported
lines that state a figure.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..text import STOPWORDS, TOKEN, content_terms, dates, month, stem, words
from .cells import ASKS_SHARE, HEADS_SHARES, fit, named_fields
from .spans import asks_across
from .support import ScoredLine

# Wording that asks for a quantity: "how much/many", "what percentage", or a measured thing.
_ASKS = re.compile(
    r"\bhow (?:much|many|large|big|high|low)\b"
    r"|\bwhat (?:percentage|proportion|share|portion|amount|number|rate|level|size|value|total)\b"
    r"|\b(?:revenues?|sales|income|expenses?|expenditures?|spen[dt]|spending|margins?|cash"
    r"|costs?|earnings|profits?|loss(?:es)?|debt|prices?|rates?|growth|figures?|inventor(?:y|ies)"
    r"|assets|liabilities|dividends?|repurchases?|buybacks?|population|percent(?:age)?)\b",
    re.I,
)
# a question for a person, place, time or reason, whatever rows its words name
_ASKS_OTHER = re.compile(r"\s*(?:who|whom|whose|where|when|why)\b", re.I)
# A figure as written: a number with a separator, decimals, a currency sign or a percent, or
# of two digits or more; a year ("2023") alone is a date, not a figure.
# ("Q2", "10-Q" and "3rd" name things, not amounts)
_NUMBER = re.compile(r"(?P<cur>[$€£]\s*)?\(?(?<![A-Za-z\d])(?P<num>\d+(?:[.,]\d+)*)"
                     r"(?![A-Za-z]|-[A-Za-z])\)?(?P<pct>\s*%)?")
# a date ("July 1, 2023", "1 July") or a period heading ("Three Months Ended") says when
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November"
          r"|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?")
_DATE = re.compile(rf"\b{_MONTH}\s+\d{{1,2}}\b(?![.,]\d)|\b\d{{1,2}}\s+{_MONTH}"
                   r"|\b\w+\s+months?\s+ended\b", re.I)
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
# an item or exhibit number opening a line ("101 The following financial statements",
# "3.2 Amended and Restated Bylaws"), a contents line's page number closing it ("... 23")
_ITEM = re.compile(r"^\s*\d+(?:\.\d+)*[.)]?\s+(?=[A-Z“\"(])")
_PAGE_NUMBER = re.compile(r"[A-Za-z’'”\"]\s+\d{1,3}\s*$")
_LABEL_END = re.compile(r"[$€£(]?\s*\d")
# "nine nations", "two-thirds", "a million": figures written out ("one", "half", "quarter"
# mostly are not; nor is a unit, "in millions", or a guess, "thousands of")
_NUMBER_WORD = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety|hundred|thousand|million|billion|trillion|dozen)\b", re.I)

ROW_LINES = 3  # most table rows an answer quotes: one per file and label
FIGURE_LINES = 2  # most lines stating a figure quoted beside rows named only in part
# what any row may measure: a label of these words alone says what, not of what
_MODIFIERS = frozenset(stem(w) for w in "total net other amount amounts".split())
_MEASURES = _MODIFIERS | frozenset(stem(w) for w in "revenue revenues sales income earnings"
                                   " profit profits expense expenses cost costs cash loss losses"
                                   " obligations".split())


def asks_for_figure(question: str, labels: Iterable[str] = ()) -> bool:
    """The question asks for a quantity (``_ASKS``: "how much", "what percentage"), or, when
    it asks for no person, place, time or reason, names a row of a table by its whole label
    ("What were NVIDIA's net accounts receivable?": "Accounts receivable, net"), of the
    ``labels`` of the tables at hand."""
    if _ASKS.search(question):
        return True
    if _ASKS_OTHER.match(question):  # "Who ruled out sending troops?" names "Troops 4,000"
        return False
    said = content_terms(question)
    return any((terms := content_terms(label)) and terms <= said for label in labels)


def row_labels(lines: list[ScoredLine]) -> set[str]:
    """The labels of the table rows among ``lines``: those the readers found, and lines that
    read as a row (a label, then two figures or more: ``table``)."""
    return {s.row.label for s in lines if s.row is not None and s.row.label} | labels(
        table(lines))


def figures(text: str) -> list[str]:
    """The figures a line states, as written: numbers, then number words."""
    out = []
    text = _DATE.sub(" ", _ITEM.sub("", text))
    for m in _NUMBER.finditer(text):
        num = m["num"]
        if _YEAR.fullmatch(num) and not (m["cur"] or m["pct"]):
            continue
        if m["cur"] or m["pct"] or len(num.replace(",", "").split(".")[0]) >= 2 \
                or "," in num or "." in num:
            out.append(num)
    if len(out) == 1 and len(text.split()) >= 6 and _PAGE_NUMBER.search(text):
        out = []
    return out + _NUMBER_WORD.findall(text)


def states_figure(text: str, question: str = "") -> bool:
    """Whether ``text`` states a figure in digits ("$14,316 million", "12.5 %") or a code
    ("N3070A"), not only in words ("the first nine months"), and not only those the question
    says: "NVIDIA's Q2 2023 10-Q relates to its expenses by ..." names the filing asked about
    and states nothing."""
    said = {t.casefold() for t in TOKEN.findall(question)} | set(figures(question))
    return any(any(c.isdigit() for c in f) for f in figures(text) if f not in said) or any(
        any(c.isdigit() for c in t) and any(c.isalpha() for c in t)
        for t in TOKEN.findall(text) if t.casefold() not in said)


def bare_figure(text: str) -> bool:
    """An answer (its markers taken out) that is a figure and at most one word more ("98,024",
    "$7.3 billion", "74.0%"): nothing says which period, column or unit it is."""
    return states_figure(text) and len(words(_NUMBER.sub(" ", text))) <= 1


def one_of_several(said: str, line: ScoredLine) -> bool:
    """Whether a figure ``said`` alone is one of several that ``line`` states alike, so that
    the line must say which it is: a table row's cells (one per column), or amounts of money
    or percentages ("$7.3 billion and $11.4 billion for Q3 2021 and Q3 2022, respectively").
    A count in a sentence has its own noun ("427,652 people, 140,079 households")."""
    if not set(figures(said)) & set(figures(line.text)):
        return False
    if line.row is not None and len(line.row.cells) > 1:
        return True
    kinds = {_kind(m) for m in _NUMBER.finditer(said)} - {""}
    return any(sum(_kind(m) == kind for m in _NUMBER.finditer(line.text)) > 1 for kind in kinds)


def _kind(m: re.Match) -> str:
    return "money" if m["cur"] else "share" if m["pct"] else ""


def _label(text: str) -> str:
    """A table row's label: its words before the first figure ("Total net sales")."""
    m = _LABEL_END.search(text)
    return text[: m.start()] if m else text


# "research and development (“R&D”)": a document's own definition of an abbreviation
_ABBREVIATION = re.compile(r"\(\s*[“\"']?([A-Z][A-Za-z&]*[A-Z])[”\"']?\s*\)")
_SAYS_ABBREVIATION = re.compile(r"\b[A-Z][A-Za-z&]*[A-Z]\b")


def expansions(lines: list[str]) -> dict[str, set[str]]:
    """Abbreviations the lines define, each with the content words it stands for: the
    shortest run of words before "(“R&D”)" whose initials spell its capitals."""
    out: dict[str, set[str]] = {}
    for line in lines:
        for m in _ABBREVIATION.finditer(line):
            letters = [c.lower() for c in m[1] if c.isupper()]
            before = [w for w in line[: m.start()].split()[-6:] if w.lower() not in STOPWORDS]
            if len(before) >= len(letters) and \
                    [w[0].lower() for w in before[-len(letters):]] == letters:
                out.setdefault(m[1].lower(), content_terms(" ".join(before[-len(letters):])))
    return out


def matching_rows(question: str, ranked: list[ScoredLine]) -> list[ScoredLine]:
    """Table rows (a label, then figures: ``_values``) whose label the question mostly says,
    best first."""
    return [s for s, _ in named_rows(question, ranked)]


def named_rows(question: str, ranked: list[ScoredLine]) -> list[tuple[ScoredLine, float]]:
    """``matching_rows``, each with the share of its label the question says.

    An abbreviation the question uses and the lines define ("R&D") asks for the words it
    stands for. Label words are weighted by how rare they are among the lines read (an
    inverse document frequency), so "iPhone" counts for more than "total" or "net"; a row
    scores the weight of the label words the question says, times their share of the label's
    weight. Rows of percentages follow rows of amounts unless a share is asked for.
    """
    return _best_rows(question, asked_terms(question, ranked), [table(ranked)])


def _best_rows(question: str, asked: set[str],
               tables: list[Table]) -> list[tuple[ScoredLine, float]]:
    when = dates(question)  # read once: a file's tables may hold thousands of rows
    rows = [r for r in _rows(asked, tables) if of_period(when, r[0])]
    shares = bool(ASKS_SHARE.search(question))
    # "Services 71.0 % 72.6 %" is a margin, not sales; a row the question names whole
    # ("iPhone") before one it names in part ("Total net sales" for "total iPhone sales"),
    # and a "Total" of what is asked before the "Total" of another table
    def order(row: tuple[ScoredLine, float]) -> tuple[tuple[bool, bool], bool, bool]:
        whole = _said_whole(row[0], asked)
        return ((False, False) if shares else _of_shares(row[0]),
                not whole or _label_terms(row[0]) <= _MEASURES, not whole)

    rows.sort(key=order)
    return rows


def of_period(asked: set[tuple[int, int, int]], line: ScoredLine) -> bool:
    """Whether a row can be of the dates a question names (``text.dates``: "the quarter ended
    September 30, 2023", "in January 2024"): a row whose columns, section or title are dated
    holds one of the dates asked (a table of segments in columns dates its rows by their
    section: "Three Months Ended July 30, 2023"); a row with no dates, or a question with
    none, may be of any."""
    if not asked or line.row is None:
        return True
    r = line.row
    held = dates(" ".join([r.title, r.section, *(c.column for c in r.cells)]))
    return not held or any(y == hy and m == hm and (not d or not hd or d == hd)
                           for y, m, d in asked for hy, hm, hd in held)


def _of_shares(line: ScoredLine) -> tuple[bool, bool]:
    """Whether the row's figures are shares: most of them percentages, or its table's title,
    unit or column headers say they are ("... as a percentage of revenue": "Research and
    development 12.7 32.8"); and whether all are bare whole numbers below 100, as rows of
    rates often are: a table prints "%" on its first row only ("AWS 27 12 32 13" under
    "North America 20 % 11 %" is growth), while its amounts read "AWS 20,538 23,059"."""
    row = line.text
    values = row[len(_label(row)):]
    found = [m for m in _NUMBER.finditer(values) if m["num"] in figures(values)]
    head = "" if line.row is None else " ".join(
        [line.row.title, line.row.unit, *(c.column for c in line.row.cells)])
    return (2 * values.count("%") >= len(figures(values)) or bool(HEADS_SHARES.search(head)),
            all(m["num"].isdigit() and int(m["num"]) < 100 and not (m["cur"] or m["pct"])
                for m in found))


def _values(text: str) -> bool:
    """A row's values: two figures or more, and words for at most half of them ("82,959
    81,434 (3)%", not "22 times between 1361 and 1528")."""
    found = figures(text)
    return len(found) >= 2 and 2 * sum(w.isalpha() for w in text.split()) <= len(found)


@dataclass(frozen=True)
class Table:
    """The table rows among some lines, each with its label's words, and in how many of the
    lines each word occurs: what scoring a row needs, kept for a file that is asked of
    again."""

    rows: tuple[tuple[ScoredLine, frozenset[str]], ...]
    df: Counter
    lines: int


def table(lines: list[ScoredLine]) -> Table:
    df: Counter = Counter()
    rows = []
    for s in lines:
        df.update(content_terms(s.text))
        label = _label(s.text)
        if (said := content_terms(label)) and _values(s.text[len(label):]):
            rows.append((s, frozenset(said)))
    return Table(tuple(rows), df, len(lines))


def labels(rows: Table) -> set[str]:
    return {_label(s.text) for s, _ in rows.rows}


def _rows(asked: set[str], tables: list[Table]) -> list[tuple[ScoredLine, float]]:
    df = tables[0].df if len(tables) == 1 else sum((t.df for t in tables), Counter())
    n = sum(t.lines for t in tables)

    def weight(t: str) -> float:
        return math.log(1 + n / (1 + df.get(t, 0)))

    rows = []
    for t in tables:
        for s, said in t.rows:
            if not said & asked:
                continue
            hit = sum(weight(w) for w in said & asked)
            share = hit / sum(weight(w) for w in said)
            if share >= MIN_LABEL_SHARE:
                rows.append((share * hit, share, s))
    rows.sort(key=lambda r: -r[0])
    return [(s, share) for _, share, s in rows]


MIN_LABEL_SHARE = 0.5  # of a row label's weight the question must say


def asked_terms(question: str, ranked: list[ScoredLine]) -> set[str]:
    """What the question asks of a row label: its content words and the words of the
    abbreviations it uses that the lines define (the lines are read for them only when the
    question holds one)."""
    asked = content_terms(question)
    if _SAYS_ABBREVIATION.search(question):
        for short, long in expansions([s.text for s in ranked]).items():
            if re.search(rf"(?<!\w){re.escape(short)}(?!\w)", question, re.I):  # "R&D"
                asked |= long
    return asked


def whole_rows(question: str, asked: set[str], tables: list[Table], *,
               specific: bool = False) -> list[ScoredLine]:
    """The rows of ``tables`` whose whole label is ``asked`` (``asked_terms``), best first;
    ``specific``: only those whose label says more than a measure ("Cash", "Total
    revenues", "expenses" head many tables), and of amounts unless a share is asked for (a
    row of shares is no answer to "how has research and development changed?", so the row of
    amounts is looked up)."""
    amounts = not ASKS_SHARE.search(question)
    return [s for s, _ in _best_rows(question, asked, tables)
            if _said_whole(s, asked) and not (specific and (
                _label_terms(s) <= _MEASURES or amounts and _of_shares(s)[0]))]


def _label_terms(row: ScoredLine) -> set[str]:
    return content_terms(_label(row.text))


def _said_whole(row: ScoredLine, asked: set[str]) -> bool:
    """The question says the row's whole label; a label of modifiers alone ("Total", "Other,
    net") says what of nothing, and is said only with a thing its section or title measures:
    "total net sales" does not say the "Total" of a table of stock-based compensation, nor
    "total sales in 2023" the "Total" of a table of securities dated 2023."""
    label = _label_terms(row)
    if not label <= asked:
        return False
    if not label <= _MODIFIERS:
        return True
    heading = content_terms(f"{row.row.section} {row.row.title}") if row.row else set()
    # a word of what the table measures: not its date ("April 1, 2023"), not the "s" of
    # "Company’s"
    return any(t in asked and t not in _MODIFIERS and t.isalpha() and len(t) > 1
               and not month(t) for t in heading)


def answer_lines(question: str, ranked: list[ScoredLine]) -> list[ScoredLine]:
    """The lines an answer quotes, best first: the line of a form field the question names
    (``cells.named_fields``); for a question that asks for a figure, the rows it names whole
    (``named_row_lines``), else the rows it names and the best-supported lines that state a
    figure; otherwise, or when no line states one, the best-supported line."""
    if not ranked:
        return []
    if fields := named_fields(question, ranked):  # "Who was the operator?": its field
        return fields[:1]
    if not asks_for_figure(question, row_labels(ranked)):
        return ranked[:1]
    rows, whole = _named_rows(question, ranked)
    if whole:
        return whole
    chosen = rows[:ROW_LINES]
    chosen += [s for s in stating(ranked) if s not in chosen][:FIGURE_LINES]
    return chosen or ranked[:1]


def named_row_lines(question: str, ranked: list[ScoredLine]) -> list[ScoredLine]:
    """For a question whose best row it names by the whole label ("How much did the pier
    repairs cost?": "Pier repairs"), that row in every file (a figure over four quarterly
    reports), then the next rows named whole; else none. Such a row's cells say what the
    answer is, under their headers: an answer is stated from them, not written by a model."""
    return _named_rows(question, ranked)[1] if ranked else []


def _named_rows(question: str, ranked: list[ScoredLine]) -> tuple[list[ScoredLine],
                                                                   list[ScoredLine]]:
    """The rows the question names, best first and one per file and label, and
    ``named_row_lines``."""
    asked = asked_terms(question, ranked)
    rows, seen = [], set()
    for s, _ in _best_rows(question, asked, [table(ranked)]):
        if (key := (s.source, _label(s.text).strip().casefold())) not in seen:
            seen.add(key)
            rows.append(s)
    whole = [s for s in rows if _said_whole(s, asked)]
    if not whole or whole[0] is not rows[0]:
        return rows, []
    label = _label(whole[0].text).strip().casefold()
    same = [s for s in whole if _label(s.text).strip().casefold() == label]
    # beside a row that names a thing ("iPhone"), one that names only a measure ("Total" of
    # another table) adds nothing
    specific = not _label_terms(same[0]) <= _MEASURES
    others = [s for s in whole if s not in same
              and not (specific and _label_terms(s) <= _MEASURES)]
    # "as of June 25, 2022": the files with that column, unless it asks across files
    files = sorted({s.source for s in same})
    if len(files) > 1 and not asks_across(question, files):
        fits = {f: max(fit(question, s.row) for s in same if s.source == f) for f in files}
        same = [s for s in same if fits[s.source] == max(fits.values())]
    return rows, same + others[:max(0, ROW_LINES - len(same))]


def stating(ranked: list[ScoredLine]) -> list[ScoredLine]:
    """The lines that state a figure, in their order."""
    return [s for s in ranked if figures(s.text)]


def figures_first(question: str, ranked: list[ScoredLine]) -> list[ScoredLine]:
    """``ranked`` with the answer lines moved to the front: what an answerer is given."""
    first = answer_lines(question, ranked)
    return first + [s for s in ranked if s not in first]
