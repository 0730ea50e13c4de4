"""Tables on a PDF page, read from where the characters sit: rows, columns and their headers.

A statement row comes out of PDFium as one line, "Total net sales 82,959 81,434 304,182
282,457", and nothing in the text says which figure is which quarter. The page does: each
figure lies under its column's headers ("Three Months Ended" spanning two columns, then
"June 25," and "2022"), and the table's title and unit ("(In millions ...)") lie above. This
module rebuilds that from the words' horizontal extents, page by page, with no vocabulary:

- a body row is a line of a label followed by figures; rows whose figures share right edges
  form a table, and the figures' extents give its columns;
- the header lines are the lines above the first row that lie right of the labels, but for the
  header of the label column ("State / Territory"); each phrase of them heads the columns whose
  zone (up to half-way to the next column) it overlaps;
- above the header, a line that says what the figures count ("in millions", "in thousands")
  is the unit, and the line above the table's head its title;
- a label-only line ("Net sales:") is the section of the rows below it, up to a row level
  with it when its rows are indented.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ...text import CURRENCY, UNIT, dates, month, undated
from ...types import Cell, Row

# A figure as a cell prints it: "82,959", "(10)", "1.20", "26%", "(3)%", "—"; "$" stands alone
# before it on most statements.
_FIGURE = re.compile(r"^\(?-?\d(?:[\d,]*\d)?(?:\.\d+)?\)?%?$|^[—–-]$")
_MARK = re.compile(r"^\(\d{1,2}\)$")  # a footnote's mark after a label, "(1)"
_APART = {"%", "pts", "bps"}  # a figure's unit printed apart: percent, (basis) points
_NOTE = re.compile(r"^\([^\d()]*\)$")  # "(Unaudited)", "(In millions)"
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_CURRENCY = re.compile(rf"^[{re.escape(CURRENCY)}]$")
# header lines read above a table's first row: PDFium gives a head printed two or three words
# deep under each of seven columns as some 18 lines, a word to a line
MAX_HEAD_LINES = 24
VERSION = "7"  # of what this reader finds: a change makes ingest read files again
EDGE = 4.0  # points: right edges this close are one column
MANY_FIGURES = 12  # of a table: enough that a column holds two of them
GAP = 1.2  # a space wider than this many times the words' height starts a new phrase


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    height: float = 8.0


@dataclass
class _Line:
    number: int  # the file's view line number
    words: list[Word]
    label: list[Word]  # the words before the figures
    cells: list[list[Word]]  # each figure, with a "$" before it

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def row(self) -> bool:
        return bool(self.label) and bool(self.cells)


def _split(number: int, words: list[Word]) -> _Line:
    """A line as label words and the figures that end it."""
    cells: list[list[Word]] = []
    i = len(words)
    while i > 0 and not _dated(words, i - 1) and (
            _FIGURE.match(words[i - 1].text) or _unit_apart(words, i - 1)):
        cell = [words[i - 1]]
        i -= 1
        if cell[0].text in _APART:  # "5 %", "1.3 pts": the unit printed apart from its figure
            cell.insert(0, words[i - 1])
            i -= 1
        if i > 0 and _CURRENCY.match(words[i - 1].text):
            cell.insert(0, words[i - 1])
            i -= 1
        cells.insert(0, cell)
    if i > 0 and not any(c.isalpha() for w in words[:i] for c in w.text):
        return _Line(number, words, [], [])  # a line of figures and signs: no label
    return _Line(number, words, words[:i], cells)


def _right(cell: list[Word], digits: bool) -> float:
    """Where a figure's column is: its right edge, or with ``digits`` the right edge of its
    digits, a unit printed apart hanging beyond it ("9 %" aligns its 9 with the "7,442"
    above, while in a column of changes "8 %" ends where "(30)%" does)."""
    return (cell[-2] if digits and len(cell) > 1 and cell[-1].text in _APART
            else cell[-1]).x1


def _unit_apart(words: list[Word], i: int) -> bool:
    """``words[i]`` is a "%", or percentage or basis points, printed apart from the figure
    before it ("64.6 %", "1.3 pts"): a row of rates and their changes is a row."""
    return words[i].text in _APART and i > 0 and bool(_FIGURE.match(words[i - 1].text))


def _dated(words: list[Word], i: int) -> bool:
    """``words[i]`` is the year of a date in a label ("Balances, July 30, 2023")."""
    return i > 0 and bool(_YEAR.match(words[i].text)) and words[i - 1].text.endswith(",")


def structure(lines: list[str], words: Callable[[int], list[Word]], offset: int) -> list[Row]:
    """The table rows (``rows``) and lines of form fields (``forms``) among a page's display
    lines, numbered as the file's lines (``offset`` of them before the page). ``words(i)``
    gives line ``i``'s words with their extents, whoever read them (a text layer, OCR); it is
    asked only of lines near rows and fields: most of a page is prose."""
    from .forms import in_forms, line_fields

    candidates = [n for n, line in enumerate(lines) if ends_in_figure(line)]
    labelled = {n for n, line in enumerate(lines) if ":" in line}
    if len(candidates) < 2:
        candidates = []  # no table on a page without two lines ending in figures
    near = {m for n in candidates for m in range(n - MAX_HEAD_LINES - 4, n + 1)} | labelled
    if not near:
        return []
    page = [(offset + 1 + i, words(i) if i in near else []) for i in range(len(lines))]
    found = rows(page) if candidates else []
    tabled = {r.line for r in found}
    fields = in_forms([f for i in sorted(labelled) if (n := offset + 1 + i) not in tabled
                       and (f := line_fields(n, page[i][1])) is not None])
    return sorted(found + fields, key=lambda r: r.line)


def rows(page: list[tuple[int, list[Word]]]) -> list[Row]:
    """The table rows of one page, each with its cells' column headers, section, title and
    unit. ``page`` is each display line's number and words, in reading order."""
    lines = [_split(n, words) for n, words in page]
    out: list[Row] = []
    last: _Head | None = None
    i = 0
    while i < len(lines):
        # the figures line up on their right edges, or on their digits' (``_right``)
        end, digits = max((_table_end(lines, i, False), False), (_table_end(lines, i, True), True))
        if end > i:
            start = i
            while start > 0 and _section(lines[start - 1], lines[i]):  # "Net sales:" above
                start -= 1
            found, last = _table(lines, start, end, last, digits)
            out += found
            i = end
        else:
            i += 1
    return out


@dataclass(frozen=True)
class _Head:
    """What a table's rows read from above them: each column's right edge and headers, the
    unit and title lines as printed, and the lines (first, last) that hold them."""

    edges: tuple[float, ...]
    headers: tuple[tuple[str, ...], ...]
    unit: str
    title: str
    lines: tuple[int, int]
    digits: bool = False  # the columns are where the figures' digits end (``_right``)

    def column(self, cell: list[Word]) -> tuple[str, ...]:
        right = _right(cell, self.digits)
        j = min(range(len(self.edges)), key=lambda k: abs(self.edges[k] - right))
        return self.headers[j] if abs(self.edges[j] - right) <= EDGE else ()


def ends_in_figure(line: str) -> bool:
    """Whether a line could be a table row: its last word is a figure (the reader computes
    character boxes only near such lines); a "%" printed apart ("8 %") ends its figure."""
    words = line.split()
    last = words[-2] if len(words) > 1 and words[-1] == "%" else words[-1] if words else ""
    return bool(_FIGURE.match(last)) and any(c.isdigit() for c in last)


def _table_end(lines: list[_Line], start: int, digits: bool) -> int:
    """The end (exclusive) of a table whose first row is ``lines[start]``, or ``start`` when
    no table starts there: at least two rows whose last figures share a right edge, with
    label-only lines (sections) between them allowed."""
    if not lines[start].row:
        return start
    edge = _right(lines[start].cells[-1], digits)
    end, count, i = start + 1, 1, start + 1
    while i < len(lines):
        line = lines[i]
        if line.row and abs(_right(line.cells[-1], digits) - edge) <= EDGE:
            count += 1
            end = i + 1
        elif line.row or not _section(line, lines[start]):
            break
        i += 1
    body = [line for line in lines[start:end] if line.row]
    # a list of page numbers (a table of contents) is not a table of figures
    figures = count >= 2 and (sum(len(line.cells) for line in body) >= 1.5 * len(body) or any(
        ch in w.text for line in body for c in line.cells for w in c for ch in ",.$%"))
    return end if figures else start


def _section(line: _Line, row: _Line) -> bool:
    """A label-only line of the table whose row is ``row``: words that start where its labels
    start (not a centred title) and end before its figures ("Current assets:", "ASSETS")."""
    if not line.words or line.cells:
        return False
    indent = 4 * max(w.height for w in row.label)
    return line.words[0].x0 <= row.label[0].x0 + indent and \
        line.words[-1].x1 < row.cells[0][0].x0


def _table(lines: list[_Line], start: int, end: int, before: _Head | None,
           digits: bool) -> tuple[list[Row], _Head | None]:
    """The rows of ``lines[start:end]`` and the head they are read under. A table with no
    header lines of its own continues the table before it on the page when that one's columns
    hold all its figures (a statement broken by a line that is not a row)."""
    body = [line for line in lines[start:end] if line.row]
    columns = _columns([c for line in body for c in line.cells], digits)
    left = max(w.x1 for line in lines[start:end] for w in (line.label or line.words))
    head_lines, first = _head(lines, start, left, columns)
    if head_lines:
        zones = _zones(columns, left)
        headers: list[list[str]] = [[] for _ in columns]
        for line in head_lines:
            for phrase in _phrases(line.words):
                for j in _covered(phrase, zones, columns):
                    headers[j].append(" ".join(w.text for w in phrase))
        _spread(_phrases(head_lines[0].words), headers, columns)
        _date_all(head_lines[0], headers)
        unit, title, top = _unit_and_title(lines, first, start)
        head = _Head(tuple(b for _, b in columns), tuple(tuple(h) for h in headers), unit,
                     title, (lines[top].number, lines[start - 1].number), digits)
    elif before is not None and before.digits == digits and all(
            any(abs(b - e) <= EDGE for e in before.edges) for _, b in columns):
        head = before
    else:
        unit, title, _ = _unit_and_title(lines, start, start)
        head = _Head(tuple(b for _, b in columns), tuple(() for _ in columns), unit, title,
                     (0, 0), digits)
    out, section, section_line = [], "", 0
    indent: float | None = None  # the section's left edge, while its rows are indented
    for n, line in enumerate(lines[start:end], start):
        if not line.row:
            section, section_line = line.text.rstrip(":").strip(), line.number
            after = lines[n + 1] if n + 1 < end else line
            indented = after.row and after.label[0].x0 > line.words[0].x0 + EDGE
            indent = line.words[0].x0 if indented else None
            continue
        if indent is not None and line.label[0].x0 <= indent + EDGE:
            section, section_line, indent = "", 0, None  # back at its level: it has ended
        cells = tuple(Cell(" ".join(w.text for w in cell), head.column(cell))
                      for cell in line.cells)
        if len(cells) > 1 and _MARK.match(cells[0].value) and not cells[0].headers and all(
                c.headers for c in cells[1:]):
            cells = cells[1:]  # "Online stores (1) $ 49,942": a footnote's mark, in no column
        out.append(Row(line.number, " ".join(w.text for w in line.label), cells, section,
                       head.title, head.unit, head.lines, section_line))
    return out, head if head.lines[0] else before


def _date_all(top: _Line, headers: list[list[str]]) -> None:
    """A date alone on the head's top line ("December 31, 2022" centred over a table of costs,
    gains, losses and fair values) dates the whole table, not only the column it is centred
    over: each column whose headers name no date takes it."""
    if len(_phrases(top.words)) != 1 or not dates(top.text) or \
            re.search(r"[^\W\d_]{4,}", undated(top.text)):  # "As of" may stand before it
        return
    for column in headers:
        if not any(dates(h) for h in column):
            column.insert(0, top.text)


def _spread(top: list[list[Word]], headers: list[list[str]],
            columns: list[tuple[float, float]]) -> None:
    """A spanning header set over one of the dated columns it spans ("Three Months Ended"
    printed over "December 25, 2021" only, beside "December 31, 2022") heads the dated columns
    beside it whose headers are only a date, none from the top header line: each takes the
    nearest phrase of that line that is no date itself and heads another dated column. A
    column without a year ("Change"), or with a phrase of its own ("Six Months Ended"), takes
    none."""
    def date_part(text: str) -> bool:
        return any(ch.isdigit() for ch in text) or any(month(w) for w in text.split())

    dated = [any(_YEAR.match(w) for h in hs for w in h.split()) for hs in headers]
    texts = [" ".join(w.text for w in p) for p in top]
    spanning = [(p, t) for p, t in zip(top, texts) if not date_part(t)
                and any(d and t in hs for d, hs in zip(dated, headers))]
    for j, (x0, x1) in enumerate(columns):
        if spanning and dated[j] and all(date_part(h) and h not in texts for h in headers[j]):
            near = min(spanning, key=lambda pt: max(pt[0][0].x0 - x1, x0 - pt[0][-1].x1, 0.0))
            headers[j].insert(0, near[1])


def _columns(cells: list[list[Word]], digits: bool) -> list[tuple[float, float]]:
    """The columns' horizontal extents, left to right: figures whose right edges lie within
    ``EDGE`` of each other are one column (statements align figures on the right)."""
    spans = sorted((c[0].x0, _right(c, digits)) for c in cells)
    columns: list[list[float]] = []  # x0, x1 and how many figures
    for x0, x1 in sorted(spans, key=lambda s: s[1]):
        if columns and x1 - columns[-1][1] <= EDGE:
            columns[-1] = [min(columns[-1][0], x0), max(columns[-1][1], x1), columns[-1][2] + 1]
        else:
            columns.append([x0, x1, 1])
    if len(cells) >= MANY_FIGURES:  # a figure alone in its column is misread: "98 452"
        columns = [c for c in columns if c[2] > 1] or columns
    return [(a, b) for a, b, _ in columns]


def _zones(columns: list[tuple[float, float]], left: float) -> list[tuple[float, float]]:
    """Each column's zone: from half-way to the column before (the labels' right edge for the
    first) to half-way to the next (open for the last)."""
    zones = []
    for j, (x0, x1) in enumerate(columns):
        a = left if j == 0 else (columns[j - 1][1] + x0) / 2
        b = (x1 + columns[j + 1][0]) / 2 if j + 1 < len(columns) else float("inf")
        zones.append((a, b))
    return zones


def _covered(phrase: list[Word], zones: list[tuple[float, float]],
             columns: list[tuple[float, float]]) -> list[int]:
    """The columns a header phrase heads: the run of adjacent columns it is centred over
    (a spanning header, "Three Months Ended", sits centred over its two or three columns),
    among the runs whose zones it overlaps, a run whose end columns it covers first; else
    the columns it covers. It covers a column whose zone holds a fifth of its width or its
    centre: a narrow header ("Long Gun") that grazes its neighbours' zones heads its own
    column, while one a line lower than a spanning header may graze the column it spans."""
    x0, x1 = phrase[0].x0, phrase[-1].x1
    width, centre = max(x1 - x0, 1.0), (x0 + x1) / 2
    touched = [j for j, (a, b) in enumerate(zones) if min(x1, b) > max(x0, a)]
    covers = [j for j, (a, b) in enumerate(zones)
              if min(x1, b) - max(x0, a) >= width / 5 or a <= centre < b]
    edges = [b for _, b in columns]
    pitch = min((b - a for a, b in zip(edges, edges[1:])), default=width)
    runs = [(not (j in covers and m in covers), off, m - j, j, m)
            for j in touched for m in touched
            if m >= j and (off := abs((columns[j][0] + columns[m][1]) / 2 - centre)) <= pitch / 4]
    if runs:
        *_, j, m = min(runs)
        return list(range(j, m + 1))
    return covers


def _phrases(words: list[Word]) -> list[list[Word]]:
    """The words of a header line in phrases: a gap wider than ``GAP`` times the text's
    height separates two columns' headers."""
    out: list[list[Word]] = []
    for w in sorted(words, key=lambda w: w.x0):
        if out and w.x0 - out[-1][-1].x1 <= GAP * max(w.height, 1.0):
            out[-1].append(w)
        else:
            out.append([w])
    return out


def _head(lines: list[_Line], start: int, left: float,
          columns: list[tuple[float, float]]) -> tuple[list[_Line], int]:
    """The header lines above a table's first row, read upward, and the index of the topmost
    line read. A header line lies over the columns: right of the labels, and starting no
    further left than half a column's pitch before the first figure (a centred title does
    not). A line wholly in parentheses ("(Unaudited)") or a heading ending ":" ("ASSETS:")
    is passed over, not a header."""
    edges = [b for _, b in columns]
    # the usual distance between columns: one row's misread figure ("98 452") adds a column
    # a few points from its neighbour
    gaps = sorted(b - a for a, b in zip(edges, edges[1:]))
    pitch = gaps[len(gaps) // 2] if gaps else columns[0][1] - columns[0][0]
    from_x = max(left, columns[0][0] - pitch / 2)
    first, head = start, list[_Line]()
    while first > 0 and start - first < MAX_HEAD_LINES:
        line = lines[first - 1]
        passed = _NOTE.match(line.text) or (line.text.endswith(":") and not line.cells)
        over = _over_columns(line, from_x)
        if not line.words or line.row or (over is None and not passed):
            break
        first -= 1
        if not passed and over is not None:
            head.insert(0, over)
    return head, first


def _over_columns(line: _Line, from_x: float) -> _Line | None:
    """A line as a header line: its words over the columns, right of ``from_x``. The header
    of the label column may open it ("State / Territory", "Payroll Period"): a phrase that
    ends before the columns begin, with no figure but years after it ("Gross margin 74.0 %
    70.1 % 3.9 pts" is a row). A line with a word across ``from_x`` (prose, a centred title)
    or none beyond it is no header line; nor is a line of figures that are no years."""
    stub = [w for w in line.words if w.x0 < from_x]
    over = [w for w in line.words if w.x0 >= from_x]
    figures = [w for w in over if _FIGURE.match(w.text) and any(c.isdigit() for c in w.text)
               and not _YEAR.match(w.text)]
    signs = [w for w in over if w.text == "%" or _CURRENCY.match(w.text)]  # "$", "%" head
    if not over or (figures and len(figures) + len(signs) == len(over)) or any(
            w.x1 > from_x for w in stub):
        return None
    if not stub:
        return line
    if figures or len(_phrases(stub)) > 1 or \
            over[0].x0 - stub[-1].x1 <= GAP * max(w.height for w in line.words):
        return None
    return _Line(line.number, over, [], [])


def _unit_and_title(lines: list[_Line], first: int, start: int) -> tuple[str, str, int]:
    """The unit line (among the notes and the lead-in passed over in the head, "(In
    millions)", "The following table shows ... (dollars in millions):", or just above it) and
    the title line just above the head (either may be missing), and the index of the topmost
    line the head then spans."""
    unit = next((line.text for line in lines[first:start]
                 if (_NOTE.match(line.text) or line.text.endswith(":"))
                 and UNIT.search(line.text)), "")
    title, top = "", first
    for i in range(first - 1, max(first - 4, -1), -1):
        line = lines[i]
        if not line.words or line.row:
            break
        text = line.text
        if _NOTE.match(text) and not UNIT.search(text):
            continue  # "(Unaudited)": a note on the title
        if not unit and UNIT.search(text):
            unit, top = text, i
        elif not title and any(c.isalpha() for c in text) and not UNIT.search(text):
            title, top = text, i
            break
    return unit, title, top
