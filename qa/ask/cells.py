"""A figure stated with what it is: the cell of a table row that a question asks for.

A row says "Total net sales 82,959 81,434 304,182 282,457"; the reader gave each figure its
column's headers (``qa.types.Row``). The answer states one cell, "Total net sales: 82,959
million, three months ended June 25, 2022", and cites the row and the lines of its table's
head, where verification finds the period and the unit.
"""

from __future__ import annotations

import re

from ..text import content_terms, latest_date, month
from ..types import Cell, Row

_UNIT = re.compile(r"\b(millions|thousands|billions)\b", re.I)
_EXCEPT = re.compile(r"\bexcept\b(.*)", re.I | re.S)


def pick(question: str, row: Row) -> Cell | None:
    """The cell the question asks for: the one whose column headers share the most of its
    words (a number such as a year counts twice), then the one whose headers name the latest
    date ("the most recent quarter"), then the leftmost; None for a row without cells."""
    if not row.cells:
        return None
    asked = content_terms(question)

    def score(n: int) -> tuple[float, tuple[int, int, int], int]:
        said = content_terms(row.cells[n].column)
        hit = sum(2 if t.isdigit() else 1 for t in asked & said)
        return hit, latest_date(row.cells[n].column), -n

    return row.cells[max(range(len(row.cells)), key=score)]


def unit(row: Row) -> str:
    """The unit the table's unit line gives this row's figures ("million"), or "" when it
    gives none, or excepts what the row counts ("... except per share amounts" for a row
    of earnings per share)."""
    m = _UNIT.search(row.unit)
    if not m:
        return ""
    if (exc := _EXCEPT.search(row.unit)) and content_terms(exc[1]) & content_terms(
            f"{row.label} {row.section}"):
        return ""
    return m[1].lower().removesuffix("s")


def statement(row: Row, cell: Cell) -> str:
    """The sentence that states ``cell`` of ``row``: label (with its section when the label
    does not say it), figure, unit, column."""
    label = row.label
    if row.section and not content_terms(row.section) <= content_terms(label):
        label = f"{label} ({row.section})"
    value = re.sub(r"([$€£¥])\s+", r"\1", cell.value)
    size = unit(row) if any(ch.isdigit() for ch in value) and "%" not in value else ""
    said = f"{label}: {value}" + (f" {size}" if size else "")
    if cell.headers:
        said += f", {_lower(cell.column)}"
    return said


def _lower(column: str) -> str:
    """Column headers as running text: "Three Months Ended June 25, 2022" reads "three months
    ended June 25, 2022" (month names and words in capitals keep their case)."""
    return " ".join(w if month(w) or w.isupper() else w.lower() for w in column.split())
