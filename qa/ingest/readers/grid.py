"""Tables whose format states their structure (Word, HTML), as typed rows.

A Word or HTML table says which cells are headers (``<th>``, a Word header row) and how far
a cell spans (``colspan``, ``rowspan``, merged cells): each body row's cells get the headers
of their columns from that, with no guessing from positions as a PDF needs
(``layout.py``). The display lines stay one line per row ("Parks | 4,512 | 4,730"); the rows
ride beside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from ...text import UNIT
from ...types import Cell, Row

VERSION = "3"  # of the rows read here: a change makes ingest read Word and HTML files again


@dataclass(frozen=True)
class GridCell:
    text: str
    header: bool = False  # a <th> or a cell of <thead>, or a cell of a Word header row
    colspan: int = 1
    rowspan: int = 1
    continues: bool = False  # a Word cell merged with the one above: its text is that one's


@dataclass(frozen=True)
class Grid:
    """One table as its format gives it: its rows of cells, the display line of each row
    (0: the row gave no line), and the display lines above it that say what it is (a caption
    or the paragraph before it), each with its line number."""

    rows: list[list[GridCell]]
    lines: list[int]
    above: list[tuple[int, str]]


def lines_above(lines: list[str], starts: list[int], first: int) -> list[tuple[int, str]]:
    """The two lines nearest above a table whose first line is ``lines[first]`` (blank lines
    apart), each with its display number: a caption, a unit line ("(in millions)")."""
    return [(starts[i], lines[i]) for i in range(max(first - 4, 0), first) if lines[i]][-2:]


def grid_rows(grid: Grid) -> list[Row]:
    """The body rows of ``grid`` as ``Row``s: the label columns (the stub: as wide as the
    head's first cell) give the label, the name nearest the figures, and the section: the
    group a cell spanning rows names ("Coastal" over "Harbor" and "Estuary"), else the last
    row above of a name and no figures ("Liabilities" over "Total"); every other cell
    is under the headers of its column (the head rows' cells that span it, top to bottom). A
    head row of one cell across the whole table says what the table counts, not a column."""
    filled = _fill(grid.rows)
    if not filled:
        return []
    width = max(len(r) for r in filled)
    n_head = _head_rows(grid, filled, width)
    if n_head >= len(grid.rows):
        return []
    heads = [slots for slots in filled[:n_head] if not _across(slots, width)]
    stub = _stub(heads[0], width) if heads else 1
    headers: list[list[str]] = [[] for _ in range(width)]
    for slots in heads:
        for j, slot in enumerate(slots[stub:], stub):  # a rowspan repeats its text: once
            if slot.text and (not headers[j] or headers[j][-1] != slot.text):
                headers[j].append(slot.text)
    title, unit, top = _title_and_unit(grid, n_head)
    head_lines = [n for n in grid.lines[:n_head] if n]
    first_line = min([top, *head_lines]) if (top or head_lines) else 0
    last_line = max(head_lines) if head_lines else (top or 0)
    out = []
    heading, heading_line = "", 0  # a row of a name and no figures: the rows below are in it
    for i in range(n_head, len(grid.rows)):
        slots, line = filled[i], grid.lines[i]
        names: list[_Slot] = []  # the stub's names, left to right, each once
        for slot in slots[:stub]:
            if slot.text and (not names or names[-1].text != slot.text):
                names.append(slot)
        if not line or not names:
            continue
        cells = [Cell(slot.text, tuple(headers[j]))
                 for j, slot in enumerate(slots[stub:], stub) if slot.text and slot.first]
        if not cells:
            heading, heading_line = names[-1].text, line
            continue
        group = names[:-1]
        section, section_line = heading, heading_line
        if group:
            section = " ".join(s.text for s in group)
            section_line = grid.lines[group[-1].row] if group[-1].row < i else 0
        out.append(Row(line, names[-1].text, tuple(cells), section, title, unit,
                       (first_line, last_line) if first_line else (0, 0), section_line))
    return out


def _stub(head: list[_Slot], width: int) -> int:
    """How many label columns there are: as many as the head's first cell spans ("Service"
    over "Fixed route | Bus"), leaving one column for figures."""
    stub = 1
    while stub < min(width - 1, len(head)) and not head[stub].first \
            and (head[stub].text, head[stub].row) == (head[0].text, head[0].row):
        stub += 1
    return stub


def _head_rows(grid: Grid, filled: list[list[_Slot]], width: int) -> int:
    """How many leading rows are the head: rows of header cells only (``<th>``, ``<thead>``,
    a Word header row) and rows a head cell spans down into (Word marks no header row, but
    its label column's head is merged down over both head rows), up to a row of one cell
    across the table below them (a section's name: "Assets"); for a table that marks no
    header cell, the first row and those after it whose first cell is empty."""
    marked = any(c.header for row in grid.rows for c in row)
    n = 0
    for i, row in enumerate(grid.rows):
        slots = filled[i]
        if _across(slots, width) and any(not _across(r, width) for r in filled[:i]):
            break  # a name across the table below the column heads: the body's first section
        if (marked and row and all(c.header for c in row)) \
                or (i and any(s.row < i for s in slots)) \
                or (not marked and (i == 0 or (slots and not slots[0].text))):
            n = i + 1
        else:
            break
    return n


def _across(slots: list[_Slot], width: int) -> bool:
    """The row is one cell across the whole table."""
    return len(slots) == width and len({(s.text, s.row) for s in slots}) == 1


class _Slot(NamedTuple):
    """A column of a row, filled by a cell: its text, whether it is the cell's own first slot
    (not a span's repeat, across or down), and the row the cell begins in."""

    text: str
    first: bool
    row: int


def _fill(rows: list[list[GridCell]]) -> list[list[_Slot]]:
    """The table as a full grid of slots: rowspans carry down, colspans across, and a Word
    cell merged with the one above continues that one."""
    out: list[list[_Slot]] = []
    carry: dict[int, tuple[_Slot, int]] = {}  # column -> (slot, rows still spanned)
    for i, row in enumerate(rows):
        slots: list[_Slot] = []
        cells = iter(row)
        j = 0
        while True:
            if j in carry:
                slot, left = carry[j]
                slots.append(slot)
                carry[j] = (slot, left - 1)
                if left - 1 == 0:
                    del carry[j]
                j += 1
                continue
            cell = next(cells, None)
            if cell is None:
                if not any(c > j for c in carry):
                    break
                slots.append(_Slot("", True, i))  # a slot of no cell, before a carried one
                j += 1
                continue
            above = out[-1][j].row if cell.continues and out and j < len(out[-1]) else None
            for k in range(max(cell.colspan, 1)):
                slots.append(_Slot(cell.text, k == 0 and above is None,
                                   i if above is None else above))
                if cell.rowspan > 1:
                    carry[j + k] = (_Slot(cell.text, False, i), cell.rowspan - 1)
            j += max(cell.colspan, 1)
        out.append(slots)
    return out


_PARENS = re.compile(r"\([^)]*\)")  # "(in thousands of dollars)": a unit line, no title


def _title_and_unit(grid: Grid, n_head: int) -> tuple[str, str, int]:
    """The table's title (the nearest line above it), its unit (a line above it, or a header
    cell, that says what the figures count), and the line number where its head begins."""
    title = unit = ""
    top = 0
    for number, text in reversed(grid.above):
        if not unit and UNIT.search(text):
            unit, top = text, number
            if not title and len(_PARENS.sub(" ", UNIT.sub("", text)).split()) >= 3:
                title = text  # "Spending by department (in thousands of dollars)"
            continue
        if not title:
            title, top = text, number
            break
    if not unit:
        unit = next((c.text for row in grid.rows[:n_head] for c in row
                     if UNIT.search(c.text)), "")
    return title, unit, top
