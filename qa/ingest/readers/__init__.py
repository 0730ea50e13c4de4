"""One text view per file: every format becomes numbered display lines (with pages for PDF).

Ingest chunks the view, verification re-reads it from the file on disk, and the UI shows it,
so a citation means the same lines everywhere. Extraction is deterministic: the same bytes
always give the same lines. Each reader is imported only when a file of its type is read.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING

from ...types import Row, Scanned
from ._lines import MAX_LINE_CHARS, display_lines, split_lines
from ._skip import Skip

if TYPE_CHECKING:
    from .ocr import Ocr, OnPage

__all__ = ["MAX_LINE_CHARS", "SUFFIXES", "Skip", "View", "display_lines", "page_lines",
           "read_view", "split_lines"]

TEXT = (".txt", ".md")
IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUFFIXES = (*TEXT, ".pdf", ".docx", ".html", ".htm", *IMAGES)
KINDS = ("text (.txt .md), PDF, Word (.docx), HTML (.html .htm) and images (.png .jpg .jpeg "
         ".tif .tiff, by OCR)")


@dataclass(frozen=True)
class View:
    """A file's display lines, numbered from 1 across the file; a line never holds "\\n".

    ``pages`` gives the number of lines on each page (PDF, image); empty for files without
    pages. A citation names page and line within the page, so chunks never cross a page.
    """

    lines: list[str]
    pages: list[int] = field(default_factory=list)
    # The table rows among the lines, read as structure (``qa.types.Row``), in line order.
    rows: tuple[Row, ...] = ()
    # The lines read by OCR, each with its box on the page (``qa.types.Scanned``), in order.
    scanned: tuple[Scanned, ...] = ()

    def segments(self) -> list[tuple[int, int, int]]:
        """(page, offset, count): each page's lines start after ``offset`` lines of the file;
        page 0 is the whole of a file without pages."""
        if not self.pages:
            return [(0, 0, len(self.lines))]
        out, offset = [], 0
        for number, count in enumerate(self.pages, 1):
            out.append((number, offset, count))
            offset += count
        return out

    def where(self, line: int) -> tuple[int, int]:
        """(page, line within the page) of the file's ``line``, as a citation names it."""
        for page, offset, count in self.segments():
            if offset < line <= offset + count:
                return page, line - offset
        raise IndexError(line)

    def page(self, number: int) -> list[str] | None:
        for page, offset, count in self.segments():
            if page == number:
                return self.lines[offset : offset + count]
        return None


def kind_of(name: str) -> str | None:
    """The reader for a file name, or None when qa does not read that type."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix in TEXT:
        return "text"
    if suffix == ".pdf":
        return "pdf"
    if suffix == ".docx":
        return "docx"
    if suffix in (".html", ".htm"):
        return "html"
    if suffix in IMAGES:
        return "image"
    return None


def unsupported_reason(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".doc":
        return "old Word .doc format: save it as .docx to index it"
    what = f"{suffix} files" if suffix else "files without an extension"
    return f"{what} are not read (qa reads {KINDS})"


def read_view(name: str, raw: bytes, *, deadline: float | None = None,
              ocr: Ocr | None = None, on_page: OnPage | None = None) -> View:
    """The view of a file's bytes; ``name`` picks the reader. Raises ``Skip`` with a reason
    a user can act on. ``deadline`` (a ``time.monotonic`` value) bounds readers that loop
    over pages or elements; ``ocr`` reads images and PDF pages without text (None: off),
    telling ``on_page`` of each page it has read (its time is bounded page by page there,
    not by ``deadline``)."""
    kind = kind_of(name)
    if kind == "pdf":
        from .pdf import read_pdf

        return read_pdf(raw, deadline=deadline, ocr=ocr, on_page=on_page)
    if kind == "image":
        from .image import read_image

        return _with_fields(read_image(raw, ocr, on_page=on_page))
    if kind == "text":
        from .text import read_text

        return _with_fields(read_text(raw))
    if kind == "docx":
        from .docx import read_docx

        return _with_fields(read_docx(raw))
    if kind == "html":
        from .html import read_html

        return _with_fields(read_html(raw))
    raise Skip(unsupported_reason(name))


def _with_fields(view: View) -> View:
    """``view`` with its lines of one form field ("Operator: Metro Transit") as rows too (a PDF
    reads its fields by position, in ``read_pdf``)."""
    from .forms import in_forms, text_fields

    tabled = {r.line for r in view.rows}
    fields = in_forms([f for n, line in enumerate(view.lines, 1) if n not in tabled
                       and ":" in line and (f := text_fields(n, line)) is not None])
    if not fields:
        return view
    return replace(view, rows=tuple(sorted((*view.rows, *fields), key=lambda r: r.line)))


# -- re-reading the file on disk -----------------------------------------------------------
_CACHE: OrderedDict[tuple[str, str, int, Ocr | None], list[str] | None] = OrderedDict()
_CACHE_SIZE = 64
_cache_lock = Lock()


def page_lines(path: Path, page: int = 0, ocr: Ocr | None = None) -> list[str] | None:
    """The display lines of one page of the file now on disk (page 0: the whole file without
    pages), or None when it cannot be read or has no such page; ``ocr`` as ``read_view``.

    Cached by the file's hash, so an edited or replaced file is extracted again and a
    citation into it fails exactly as it would for a text file; for a PDF only that page is
    extracted (and read by OCR, from OCR's own cache, when it has no text).
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    key = (hashlib.sha256(raw).hexdigest(), path.suffix.lower(), page, ocr)
    with _cache_lock:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    lines = _extract_page(path.name, raw, page, ocr)
    with _cache_lock:
        _CACHE[key] = lines
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return lines


def _extract_page(name: str, raw: bytes, page: int, ocr: Ocr | None) -> list[str] | None:
    try:
        if kind_of(name) == "pdf":
            from .pdf import read_page

            return read_page(raw, page, ocr)
        view = read_view(name, raw, ocr=ocr)
    except Skip:
        return None
    return view.lines if page == 0 and not view.pages else view.page(page)
