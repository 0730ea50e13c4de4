"""A figure stated with what it is: the cell of a table row that a question asks for.

A row says "Total net sales 82,959 81,434 304,182 282,457"; the reader gave each figure its
column's headers (``qa.types.Row``). The answer states the cells asked for with what they are,
"Total net sales: 82,959 million, three months ended June 25, 2022", and cites the row and the
lines of its table's head, where verification finds the period and the unit.
"""

from __future__ import annotations

import re

from ..text import CURRENCY, UNIT, content_terms, month, question_focus
from ..types import Cell, Row
from .support import ScoredLine

_EXCEPT = re.compile(r"\bexcept\b(.*)", re.I | re.S)


# wording that asks for a share: only then is a row's percentage cell what it asks for
ASKS_SHARE = re.compile(r"percent|proportion|\bshare\b|\bratio\b|\brates?\b|%", re.I)
# a table head that says its figures are shares ("... as a percentage of revenue"); not "per
# share", which heads amounts
HEADS_SHARES = re.compile(r"percent|%", re.I)


def pick(question: str, row: Row) -> list[Cell]:
    """The cells the question asks for: those whose column headers share the most of its
    words (a number such as a year counts twice), when it shares any; else every cell, as a
    question that names no period ("How have net sales changed?") asks for the whole row.
    A row's percentage cells ("(8)%" under "Change") are left out unless the question asks
    for a share or the row holds nothing else: "how have net sales changed?" asks for the
    amounts, though its word "changed" is the header of the percentages."""
    cells = list(row.cells)
    if not ASKS_SHARE.search(question):
        cells = [c for c in cells if "%" not in c.value] or cells
    asked = content_terms(question)
    best = max((_hit(asked, c) for c in cells), default=0)
    return [c for c in cells if _hit(asked, c) == best] if best else cells


def fit(question: str, row: Row | None) -> int:
    """How much of the question the best column of ``row`` says (0 for no typed row)."""
    asked = content_terms(question)
    return max((_hit(asked, c) for c in row.cells), default=0) if row is not None else 0


def _hit(asked: set[str], cell: Cell) -> int:
    return sum(2 if t.isdigit() else 1 for t in asked & content_terms(cell.column))


def named_fields(question: str, ranked: list[ScoredLine]) -> list[ScoredLine]:
    """The lines of form fields that hold a field the question names by its whole label and
    that has a value ("Who was the operator?": "Operator: Harbor Air Tours"), the most
    specific label first, then by support. A label of one word must also be what the question
    asks for (``question_focus``), when that can be told: "what cloud ceiling was reported at
    the airport?" names the field "Airport" in passing; a label of more words said whole
    ("who is listed as the registered owner?") is named on purpose."""
    filled, _ = _named(question, ranked)
    return [s for *_, s in sorted(filled, key=lambda f: (f[0], f[1]))]


def asks_empty_field(question: str, ranked: list[ScoredLine]) -> bool:
    """Whether the field the question names most fully is one the lines hold empty ("What
    year was it manufactured?": "Year of Manufacture:" printed with no value), no field as
    fully named having a value: the form says it does not know, and no other line answers."""
    filled, empty = _named(question, ranked)
    return bool(empty) and min(f[0] for f in empty) < min((f[0] for f in filled), default=0)


Named = list[tuple[int, int, ScoredLine]]


def _named(question: str, ranked: list[ScoredLine]) -> tuple[Named, Named]:
    """(minus the words of its longest named label, rank, line) of each line of fields with a
    field the question names: of those with a value, and of those printed empty."""
    asked, focus = content_terms(question), question_focus(question)
    filled: Named = []
    empty: Named = []
    for n, s in enumerate(ranked):
        if s.row is None or s.row.label:
            continue
        for out, has_value in ((filled, True), (empty, False)):
            named = [len(terms) for c in s.row.cells
                     if bool(c.value) == has_value and (terms := content_terms(c.column))
                     and terms <= asked and (not focus or len(terms) > 1 or terms & focus)]
            if named:
                out.append((-max(named), n, s))
    return filled, empty


def unit(row: Row) -> str:
    """The unit the table's unit line gives this row's figures ("million"), or "" when it
    gives none, or excepts what the row counts ("... except per share amounts" for a row
    of earnings per share)."""
    m = next((m for m in UNIT.finditer(row.unit) if m[1]), None)
    if not m:
        return ""
    if (exc := _EXCEPT.search(row.unit)) and content_terms(exc[1]) & content_terms(
            f"{row.label} {row.section}"):
        return ""
    return m[1].lower().removesuffix("s")


def statement(row: Row, cells: list[Cell]) -> str:
    """The sentence that states ``cells`` of ``row``: label (with its section when the label
    does not say it), then each figure with its unit and column; for a line of form fields,
    each field asked for that has a value ("Location: Springfield, IL")."""
    if not row.label:
        return "; ".join(f"{c.column}: {c.value}" for c in cells if c.value)
    label = row.label
    if row.section and not content_terms(row.section) <= content_terms(label):
        label = f"{label} ({row.section})"
    size = unit(row)
    said = []
    for cell in cells:
        value = re.sub(rf"([{re.escape(CURRENCY)}])\s+", r"\1", cell.value)
        if size and any(ch.isdigit() for ch in value) and "%" not in value:
            value += f" {size}"
        said.append(f"{value}, {_lower(cell.column)}" if cell.headers else value)
    return f"{label}: {'; '.join(said)}"


def described(row: Row | None, text: str) -> str:
    """A line as a model reads it (the judge and the answer alike): a row's figures each with
    its column, then the unit ("Total net sales: 82,959 (Three Months Ended June 25, 2022);
    81,434 (...)  [In millions ...]"); the line as printed when it is no row or no figure has
    a column."""
    if row is None or not row.label or not any(c.headers for c in row.cells):
        return text
    label = row.label if not row.section else f"{row.label} ({row.section})"
    cells = "; ".join(f"{c.value} ({c.column})" if c.headers else c.value for c in row.cells)
    return f"{label}: {cells}" + (f" [{row.unit.strip('()')}]" if row.unit else "")


def _lower(column: str) -> str:
    """Column headers as running text: "Three Months Ended June 25, 2022" reads "three months
    ended June 25, 2022" (month names and words in capitals keep their case)."""
    return " ".join(w if month(w) or w.isupper() else w.lower() for w in column.split())
