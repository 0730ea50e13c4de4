"""PDF with pypdfium2: one view line per line of text PDFium finds, page by page.

pypdfium2 reads a 28-page 10-Q in 0.06 s where pypdf takes 8.7 s for the same lines, and it
also renders pages and gives character boxes, which the sources panel uses to highlight the
cited lines on an image of the page.
"""

from __future__ import annotations

import hashlib
import threading
import time
from functools import partial
from typing import TYPE_CHECKING

from ...types import Row, Scanned
from . import View
from ._lines import CONTROL, MAX_LINE_CHARS
from ._skip import Skip
from .ocr import rows as scanned_rows
from .ocr import too_many

if TYPE_CHECKING:
    from .ocr import Ocr, OnPage

NO_TEXT = "no text layer: scanned pages need OCR, which is off (QA_OCR)"
# PDFium is not thread-safe: every call into it in this process holds this lock (the UI draws
# pages while a question's citations are verified).
PDFIUM_LOCK = threading.RLock()


def _open(raw: bytes):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Skip("password protected: qa cannot open encrypted PDFs") from None
        raise Skip(f"not a readable PDF (corrupt or truncated): {exc}") from None


def _page_text(pdf, index: int, offset: int | None = None) -> tuple[list[str], list[Row]]:
    """A page's display lines; with ``offset`` (the file's lines before the page) also its
    table rows (``layout.rows``), numbered as the file's lines."""
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
            spans = line_spans(text)
            rows = [] if offset is None else _rows(textpage, text, spans, offset)
        finally:
            textpage.close()
    finally:
        page.close()
    return [line for line, _ in spans], rows


def _rows(textpage, text: str, spans: list[tuple[str, list[int]]], offset: int) -> list[Row]:
    """The page's table rows and form fields (``layout.structure``), its words' extents read
    from PDFium's character boxes."""
    from .layout import Word, structure

    def words(i: int) -> list[Word]:
        out: list[Word] = []
        run: list[tuple[str, tuple[float, float, float, float]]] = []
        for k in [*spans[i][1], -1]:
            if k >= 0 and not text[k].isspace():
                run.append((text[k], textpage.get_charbox(k)))
                continue
            if run:
                out.append(Word("".join(ch for ch, _ in run), min(b[0] for _, b in run),
                                max(b[2] for _, b in run),
                                max(b[3] for _, b in run) - min(b[1] for _, b in run)))
                run = []
        return out

    return structure([line for line, _ in spans], words, offset)


def page_text_lines(text: str) -> list[str]:
    """A page's text as display lines: PDFium ends lines with \\r\\n; control characters
    (PDFium's markers for hyphens and unknown glyphs) are dropped, outer spaces trimmed,
    trailing blank lines dropped and long lines cut as ``display_lines`` does."""
    return [line for line, _ in line_spans(text)]


def line_spans(text: str, limit: int = MAX_LINE_CHARS) -> list[tuple[str, list[int]]]:
    """Each display line with the indices into ``text`` of its characters, which PDFium maps
    to character boxes (the UI's highlighted page): the one rule for a page's lines."""
    rows: list[list[int]] = []
    start = 0
    while True:  # split on "\r\n" or "\n", keeping positions
        end = text.find("\n", start)
        stop = len(text) if end < 0 else end
        if end > start and text[end - 1] == "\r":
            stop = end - 1
        # a lone "\r" stays in the line, and is dropped as a control character
        kept = [i for i in range(start, stop) if not CONTROL.match(text[i])]
        rows.append(_strip(text, kept))
        if end < 0:
            break
        start = end + 1
    while rows and not rows[-1]:
        rows.pop()
    out: list[tuple[str, list[int]]] = []
    for row in rows:
        while len(row) > limit:  # display_lines, on positions
            line = "".join(text[i] for i in row)
            cut = line.rfind(" ", limit // 2, limit + 1)
            if cut <= 0:
                cut = limit
            out.append(_line(text, _strip(text, row[:cut], left=False)))
            row = _strip(text, row[cut:], right=False, chars=" ")
        out.append(_line(text, row))
    return out


def _strip(text: str, row: list[int], *, left: bool = True, right: bool = True,
           chars: str | None = None) -> list[int]:
    a, b = 0, len(row)
    if left:
        while a < b and _blank(text[row[a]], chars):
            a += 1
    if right:
        while b > a and _blank(text[row[b - 1]], chars):
            b -= 1
    return row[a:b]


def _blank(ch: str, chars: str | None) -> bool:
    return ch in chars if chars is not None else ch.isspace()


def _line(text: str, row: list[int]) -> tuple[str, list[int]]:
    return "".join(text[i] for i in row), row


def read_pdf(raw: bytes, *, deadline: float | None = None, ocr: Ocr | None = None,
             on_page: OnPage | None = None) -> View:
    """The file's view; pages without text are read by ``ocr``, whose time is not counted
    against ``deadline``: ``on_page`` hears of each page it reads, and bounds that."""
    with PDFIUM_LOCK:
        return _read_pdf(raw, deadline, ocr, on_page)


def _read_pdf(raw: bytes, deadline: float | None, ocr: Ocr | None,
              on_page: OnPage | None) -> View:
    pdf = _open(raw)
    sha256 = hashlib.sha256(raw).hexdigest() if ocr else ""
    try:
        # only a file of more pages than the limit can have too many to read: those are
        # counted before any is read; any other file's pages are told apart as they are read
        scans = ({i for i in range(len(pdf)) if _needs_ocr(pdf, i)}
                 if ocr and len(pdf) > ocr.max_pages else None)
        if ocr and scans is not None and len(scans) > ocr.max_pages:
            raise Skip(too_many(len(scans), ocr))
        lines: list[str] = []
        pages: list[int] = []
        rows: list[Row] = []
        scanned: list[Scanned] = []
        for index in range(len(pdf)):
            if deadline is not None and time.monotonic() > deadline:
                raise Skip(f"extraction stopped at page {index + 1} of {len(pdf)}: time limit "
                           "reached (QA_EXTRACT_SECONDS)")
            page, found = _page_text(pdf, index, len(lines))
            if ocr and (index in scans if scans is not None
                        else not any(page) and _draws(pdf, index)):
                began = time.monotonic()
                read = ocr.page(sha256, index + 1, partial(draw, pdf, index, ocr.dpi))
                if deadline is not None:
                    deadline += time.monotonic() - began
                if on_page is not None:
                    on_page(index + 1, len(pdf))
                page = [x.text for x in read]
                found = scanned_rows(read, *_size(pdf, index), len(lines))
                scanned += [Scanned(n, x.box, x.confidence)
                            for n, x in enumerate(read, len(lines) + 1)]
            lines += page
            rows += found
            pages.append(len(page))
    finally:
        pdf.close()
    if not any(line for line in lines):
        if not pages:
            raise Skip("PDF has no pages")
        raise Skip(f"no text layer, and OCR ({ocr.engine}) found no text" if ocr else NO_TEXT)
    return View(lines, pages, tuple(rows), tuple(scanned))


def _needs_ocr(pdf, index: int) -> bool:
    """The page has no text but draws something (an image, paths): a scan, not an empty page."""
    return not any(_page_text(pdf, index)[0]) and _draws(pdf, index)


def _draws(pdf, index: int) -> bool:
    """The page draws something: text, an image or paths."""
    import pypdfium2.raw as pdfium_c

    page = pdf[index]
    try:
        return pdfium_c.FPDFPage_CountObjects(page.raw) > 0
    finally:
        page.close()


def _size(pdf, index: int) -> tuple[float, float]:
    """Page ``index``'s width and height in points."""
    page = pdf[index]
    try:
        return page.get_size()
    finally:
        page.close()


def draw(pdf, index: int, dpi: int):
    """Page ``index`` of an open PDF as a greyscale image, ``dpi`` dots an inch (for OCR)."""
    page = pdf[index]
    try:
        return page.render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        page.close()


def read_page(raw: bytes, number: int, ocr: Ocr | None = None) -> list[str] | None:
    """The display lines of page ``number`` (1-based), or None without such a page; a page
    without text is read by ``ocr`` as ``read_pdf`` reads it."""
    with PDFIUM_LOCK:
        pdf = _open(raw)
        try:
            if not 1 <= number <= len(pdf):
                return None
            lines = _page_text(pdf, number - 1)[0]
            if not ocr or any(lines) or not _needs_ocr(pdf, number - 1):
                return lines
        finally:
            pdf.close()
    sha256 = hashlib.sha256(raw).hexdigest()
    return [x.text for x in ocr.page(sha256, number, partial(_drawn, raw, number - 1, ocr.dpi))]


def _drawn(raw: bytes, index: int, dpi: int):
    """``draw`` for OCR outside the lock: only the drawing holds it, not the reading."""
    with PDFIUM_LOCK:
        pdf = _open(raw)
        try:
            return draw(pdf, index, dpi)
        finally:
            pdf.close()
