"""Word .docx with python-docx: paragraphs and tables in reading order.

A paragraph is one line (a manual line break inside it starts a new line) and a table row is
one line with its cells joined by " | "; blocks are separated by a blank line, so the chunker
sees a paragraph as it does in a text file.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile

from . import View
from ._lines import numbered_display_lines
from ._skip import Skip
from .grid import Grid, GridCell, grid_rows, lines_above


def read_docx(raw: bytes) -> View:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise Skip("not a Word document: a .docx is a zip archive and this file is not") from None
    with archive:
        if "word/document.xml" not in archive.namelist():
            raise Skip("not a Word document: the zip archive holds no word/document.xml")
    from docx import Document
    from docx.oxml.ns import qn
    from docx.table import Table

    try:
        document = Document(io.BytesIO(raw))
        # each block: its lines, and for a table its rows as cells (a row's line: its index)
        blocks: list[tuple[list[str], list[list[GridCell]] | None, list[int]]] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                cells = [_cells(r, qn) for r in item.rows]
                shown: list[str] = []
                at: list[int] = []
                for row in cells:
                    text = " | ".join(c.text for c in row if c.text)
                    at.append(len(shown) if text else -1)
                    if text:
                        shown.append(text)
                blocks.append((shown, cells, at))
            else:
                blocks.append(([line.strip() for line in item.text.split("\n")
                                if line.strip()], None, []))
    except Exception as exc:  # python-docx raises lxml and KeyError variety on broken parts
        raise Skip(f"not a readable Word document: {type(exc).__name__}: {exc}") from None
    lines: list[str] = []
    tables: list[tuple[list[list[GridCell]], list[int], int]] = []  # cells, row lines, start
    for block, grid, at in (b for b in blocks if b[0]):
        if lines:
            lines.append("")
        if grid is not None:
            tables.append((grid, [len(lines) + i if i >= 0 else -1 for i in at], len(lines)))
        lines += block
    if not lines:
        raise Skip("empty document: no text in its paragraphs or tables")
    display, starts = numbered_display_lines(lines)
    rows = []
    for grid, at, start in tables:
        rows += grid_rows(Grid(grid, [starts[i] if i >= 0 else 0 for i in at],
                               lines_above(lines, starts, start)))
    return View(display, rows=tuple(rows))


def _cells(row, qn) -> list[GridCell]:
    """A row's cells, each once with the columns it spans (a merged cell repeats in each); a
    cell merged with the one above gives that one's text and continues it."""
    header = row._tr.trPr is not None and row._tr.trPr.find(qn("w:tblHeader")) is not None
    own = {id(tc) for tc in row._tr.tc_lst}
    out: list[GridCell] = []
    last = None
    for cell in row.cells:
        if cell._tc is last:
            out[-1] = dataclasses.replace(out[-1], colspan=out[-1].colspan + 1)
        else:
            out.append(GridCell(" ".join(cell.text.split()), header,
                                continues=id(cell._tc) not in own))
        last = cell._tc
    return out
