"""Form fields read as typed pairs: "Location: Springfield, IL" is the value "Springfield, IL"
of the field "Location".

A form prints a label, a colon and its value, often two fields to a line ("Location:
Springfield, IL   Case Number: N4821"). Read as prose, that line answers "how far from
Springfield did it happen?" with a case number. Read as fields, each value is known with its
label, an empty field ("Age:") is known to be empty, and an answer states the field asked for.
A line of fields is a ``Row`` without a label whose cells are the values, each headed by its
field's label. On a PDF the fields of a line are told apart by the gap between them; in text,
a line holds one field. A line counts as a form's only beside other fields (``in_forms``).
"""

from __future__ import annotations

import re

from ...types import Cell, Row
from .layout import GAP, Word

# "Label:" as forms write one: one to six words, the first capitalised, then a colon; never
# a clock time ("10:30") or a URL ("https://")
_LABEL = re.compile(r"^\s*([A-Z][^:]{0,60}?):(?!//)(?:\s+|$)")
MAX_LABEL_WORDS = 6


def split_field(text: str) -> tuple[str, str] | None:
    """(label, value) of a "Label: value" phrase, or None when it is no field."""
    m = _LABEL.match(text)
    if not m or len(m[1].split()) > MAX_LABEL_WORDS or m[1].rstrip()[-1:].isdigit():
        return None
    return m[1].strip(), text[m.end():].strip()


def line_fields(number: int, words: list[Word]) -> Row | None:
    """The fields of one PDF line, told apart by the gaps between its phrases; None unless
    the line begins with a field."""
    phrases: list[list[Word]] = []
    for w in words:
        if phrases and w.x0 - phrases[-1][-1].x1 <= GAP * max(w.height, 1.0):
            phrases[-1].append(w)
        else:
            phrases.append([w])
    cells: list[Cell] = []
    for phrase in phrases:
        text = " ".join(w.text for w in phrase)
        field = split_field(text)
        if field:
            cells.append(Cell(field[1], (field[0],)))
        elif cells:  # a value with a wide gap inside it
            last = cells[-1]
            cells[-1] = Cell(f"{last.value} {text}".strip(), last.headers)
        else:
            return None
    return _fields(number, cells)


def text_fields(number: int, line: str) -> Row | None:
    """The one field of a text line ("Operator: Metro Transit"), or None."""
    field = split_field(line)
    return _fields(number, [Cell(field[1], (field[0],))]) if field else None


def in_forms(fields: list[Row]) -> list[Row]:
    """The lines of fields that are part of a form: two fields or more on the line, or another
    line of fields within ``NEAR`` lines. A lone "Supply chain: southern partners" among prose
    is a heading, not a form."""
    lines = sorted(f.line for f in fields)
    return [f for f in fields if len(f.cells) >= 2 or any(
        0 < abs(n - f.line) <= NEAR for n in lines)]


NEAR = 2


def _fields(number: int, cells: list[Cell]) -> Row | None:
    return Row(number, "", tuple(cells)) if cells else None
