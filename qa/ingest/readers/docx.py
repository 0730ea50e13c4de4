"""Word .docx with python-docx: paragraphs and tables in reading order.

A paragraph is one line (a manual line break inside it starts a new line) and a table row is
one line with its cells joined by " | "; blocks are separated by a blank line, so the chunker
sees a paragraph as it does in a text file.
"""

from __future__ import annotations

import io
import zipfile

from . import View
from ._lines import display_lines
from ._skip import Skip


def read_docx(raw: bytes) -> View:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise Skip("not a Word document: a .docx is a zip archive and this file is not") from None
    with archive:
        if "word/document.xml" not in archive.namelist():
            raise Skip("not a Word document: the zip archive holds no word/document.xml")
    from docx import Document
    from docx.table import Table

    try:
        document = Document(io.BytesIO(raw))
        blocks: list[list[str]] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [_row(r) for r in item.rows]
                blocks.append([r for r in rows if r])
            else:
                blocks.append([line.strip() for line in item.text.split("\n") if line.strip()])
    except Exception as exc:  # python-docx raises lxml and KeyError variety on broken parts
        raise Skip(f"not a readable Word document: {type(exc).__name__}: {exc}") from None
    lines: list[str] = []
    for block in (b for b in blocks if b):
        if lines:
            lines.append("")
        lines += block
    if not lines:
        raise Skip("empty document: no text in its paragraphs or tables")
    return View(display_lines(lines))


def _row(row) -> str:
    cells: list[str] = []
    last = None
    for cell in row.cells:
        if cell._tc is not last:  # a merged cell repeats in each column it spans
            cells.append(" ".join(cell.text.split()))
        last = cell._tc
    return " | ".join(c for c in cells if c)
