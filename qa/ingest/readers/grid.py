"""Tables whose format states their structure (Word, HTML), as typed rows.

A Word or HTML table says which cells are headers (``<th>``, a Word header row) and how far
a cell spans (``colspan``, ``rowspan``, merged cells): each body row's cells get the headers
of their columns from that, with no guessing from positions as a PDF needs
(``layout.py``). The display lines stay one line per row ("Parks | 4,512 | 4,730"); the rows
ride beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...text import UNIT
from ...types import Cell, Row


@dataclass(frozen=True)
class GridCell:
    text: str
    header: bool = False  # a <th>, or a cell of a Word table's header row
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class Grid:
    """One table as its format gives it: its rows of cells, the display line of each row
    (0: the row gave no line), and the display lines above it that say what it is (a caption
    or the paragraph before it), each with its line number."""

    rows: list[list[GridCell]]
    lines: list[int]
    above: list[tuple[int, str]]


def grid_rows(grid: Grid) -> list[Row]:
    """The body rows of ``grid`` as ``Row``s: the first cell is the label, every other cell is
    under the headers of its column (the header rows' cells that span it, top to bottom).
    Header rows are the leading rows made only of header cells, or for a table without any,
    the first row and those after it whose first cell is empty (a spanning header's row)."""
    filled = _fill(grid.rows)
    if not filled:
        return []
    marked = any(c.header for row in grid.rows for c in row)
    n_head = 0
    for i, row in enumerate(grid.rows):
        if marked and row and all(c.header for c in row):
            n_head = i + 1
        elif not marked and (i == 0 or (n_head == i and filled[i] and not filled[i][0][0])):
            n_head = i + 1
        else:
            break
    if n_head >= len(grid.rows):
        return []
    width = max(len(r) for r in filled)
    headers: list[list[str]] = [[] for _ in range(width)]
    for slots in filled[:n_head]:
        for j, (text, _) in enumerate(slots[1:], 1):  # a rowspan repeats its text: once
            if text and (not headers[j] or headers[j][-1] != text):
                headers[j].append(text)
    title, unit, top = _title_and_unit(grid, n_head)
    head_lines = [n for n in grid.lines[:n_head] if n]
    first_line = min([top, *head_lines]) if (top or head_lines) else 0
    last_line = max(head_lines) if head_lines else (top or 0)
    out = []
    for i in range(n_head, len(grid.rows)):
        slots, line = filled[i], grid.lines[i]
        if not line or not slots or not slots[0][0]:
            continue
        cells = [Cell(text, tuple(headers[j]))
                 for j, (text, first) in enumerate(slots[1:], 1) if text and first]
        if cells:
            out.append(Row(line, slots[0][0], tuple(cells), "", title, unit,
                           (first_line, last_line) if first_line else (0, 0)))
    return out


def _fill(rows: list[list[GridCell]]) -> list[list[tuple[str, bool]]]:
    """The table as a full grid: each slot holds its cell's text and whether the slot is the
    cell's first (a spanned slot repeats the text); rowspans carry down, colspans across."""
    out: list[list[tuple[str, bool]]] = []
    carry: dict[int, tuple[str, int]] = {}  # column -> (text, rows still spanned)
    for row in rows:
        slots: list[tuple[str, bool]] = []
        cells = iter(row)
        j = 0
        while True:
            if j in carry:
                text, left = carry[j]
                slots.append((text, False))
                carry[j] = (text, left - 1)
                if left - 1 == 0:
                    del carry[j]
                j += 1
                continue
            cell = next(cells, None)
            if cell is None:
                if not any(c > j for c in carry):
                    break
                slots.append(("", True))  # a slot of no cell, before a carried one
                j += 1
                continue
            for k in range(max(cell.colspan, 1)):
                slots.append((cell.text, k == 0))
                if cell.rowspan > 1:
                    carry[j + k] = (cell.text, cell.rowspan - 1)
            j += max(cell.colspan, 1)
        out.append(slots)
    return out


def _title_and_unit(grid: Grid, n_head: int) -> tuple[str, str, int]:
    """The table's title (the nearest line above it), its unit (a line above it, or a header
    cell, that says what the figures count), and the line number where its head begins."""
    title = unit = ""
    top = 0
    for number, text in reversed(grid.above):
        if not unit and UNIT.search(text):
            unit, top = text, number
            if not title and len(UNIT.sub("", text).split()) >= 3:
                title = text  # "Spending by department (in thousands of dollars)"
            continue
        if not title:
            title, top = text, number
            break
    if not unit:
        unit = next((c.text for row in grid.rows[:n_head] for c in row
                     if UNIT.search(c.text)), "")
    return title, unit, top
