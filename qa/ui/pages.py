"""An image of a PDF page with the cited lines highlighted, for the sources panel.

The page is read again from the file on disk: its display lines must still hold the cited
quote, else there is no image, as there is no context for a changed text file. The reader
makes display lines with the position of each character (``readers.pdf.line_spans``), so a
highlight lands exactly on the characters of the lines quoted. A page read by OCR (an image,
a PDF page without text) is marked over each cited line's box, as OCR found it.

pypdfium2 and PIL are imported only when a page is drawn. PDFium is not thread-safe, so
drawing holds a lock; finished PNGs are cached by (file hash, page, lines, width).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ..ingest.documents import inside_corpus
from ..ingest.readers import kind_of
from ..ingest.readers.ocr import Line, Ocr
from ..ingest.readers.pdf import PDFIUM_LOCK
from ..types import Citation

log = logging.getLogger("qa.ui")

WIDTH = 700  # pixels: the panel shows it at most this wide
PAD = 1.5  # points added around the cited characters
FILL = (250, 204, 21, 96)  # translucent yellow, as the cited lines in the panel
EDGE = (202, 138, 4, 255)  # a thin darker outline, to find the lines on a small image
CACHE_SIZE = 32
COLOURS = 64

Box = tuple[int, int, int, int]  # pixels: left, top, right, bottom (exclusive)
# A citation -> the PNG of its page with the cited lines highlighted, or None.
PagePicture = Callable[[Citation], "bytes | None"]


@dataclass(frozen=True)
class PageImage:
    png: bytes
    width: int
    height: int
    scale: float  # pixels per PDF point
    boxes: tuple[Box, ...]  # where the highlight is drawn; nothing else differs from the page
    lines: tuple[str, ...]  # the display lines first..last that were highlighted


_cache: OrderedDict[tuple, PageImage | None] = OrderedDict()
_cache_lock = threading.Lock()


def highlighted_page(
    path: str | Path, page: int, first: int, last: int, quote: str, *, width: int = WIDTH,
    ocr: Ocr | None = None,
) -> bytes | None:
    """The PNG of ``page`` (1-based) of the PDF or image at ``path`` with display lines
    first..last highlighted; None unless those lines of the file now on disk are exactly
    ``quote``. ``ocr`` reads images and PDF pages without text, as ingest did."""
    image = page_image(path, page, first, last, quote, width=width, ocr=ocr)
    return image.png if image else None


def page_image(
    path: str | Path, page: int, first: int, last: int, quote: str, *, width: int = WIDTH,
    ocr: Ocr | None = None,
) -> PageImage | None:
    """``highlighted_page`` with where the highlight was drawn (for tests and callers that
    want the boxes)."""
    if page < 1 or first < 1 or last < first:
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    sha256 = hashlib.sha256(raw).hexdigest()
    key = (sha256, page, first, last, width, ocr)
    with _cache_lock:
        hit = key in _cache
        if hit:
            _cache.move_to_end(key)
            image = _cache[key]
    if not hit:
        try:
            if kind_of(Path(path).name) == "image":
                image = _draw_image(raw, sha256, page, first, last, width, ocr)
            else:
                with PDFIUM_LOCK:
                    image = _draw(raw, sha256, page, first, last, width, ocr)
        except Exception:  # a broken PDF must not break the answer: no image
            log.warning("cannot draw page %d of %s", page, path, exc_info=True)
            image = None
        with _cache_lock:
            _cache[key] = image
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if image is None or list(image.lines) != quote.split("\n"):
        return None
    return image


def page_picture(path_of: Callable[[str], str | None], *, width: int = WIDTH,
                 ocr: Ocr | None = None) -> PagePicture:
    """Pictures for the panel, read from where each source was ingested from (``path_of``);
    like ``documents.page_reader``, a file since replaced by a symlink reads as gone."""

    def picture(c: Citation) -> bytes | None:
        if not c.page:
            return None
        path = inside_corpus(path_of(c.source))
        if path is None or kind_of(path.name) not in ("pdf", "image"):
            return None
        return highlighted_page(path, c.page, c.first, c.last, c.quote, width=width, ocr=ocr)

    return picture


# -- display lines -> PDFium characters ------------------------------------------------------
def _text_to_char(textpage, text: str, indices: list[int]) -> list[int]:
    """PDFium character indices of positions in ``text`` (as ``get_text_range`` decoded it:
    one Python character may be two UTF-16 units, and PDFium counts units)."""
    import pypdfium2.raw as pdfium_c

    units, n = [], 0
    for ch in text:
        units.append(n)
        n += 2 if ord(ch) > 0xFFFF else 1
    out = []
    for i in indices:
        c = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, units[i])
        if c >= 0:
            out.append(c)
    return out


# -- drawing ---------------------------------------------------------------------------------
def _draw(raw: bytes, sha256: str, number: int, first: int, last: int, width: int,
          ocr: Ocr | None) -> PageImage | None:
    import pypdfium2 as pdfium

    from ..ingest.readers.pdf import draw, line_spans

    pdf = pdfium.PdfDocument(raw)
    try:
        if not 1 <= number <= len(pdf):
            return None
        page = pdf[number - 1]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        spans = line_spans(text)
        if ocr is not None and not any(line for line, _ in spans):  # a scanned page
            read = ocr.page(sha256, number, partial(draw, pdf, number - 1, ocr.dpi))
            scale = width / page.get_width()
            return _marked(page.render(scale=scale).to_pil(), read, first, last, scale)
        if last > len(spans):
            return None  # the replay must give the reader's lines, or nothing is drawn
        cited = spans[first - 1 : last]
        rects: list[tuple[float, float, float, float]] = []
        for _, row in cited:
            visible = [i for i in row if not text[i].isspace()]
            rects += _rows(textpage, _text_to_char(textpage, text, visible))
        if not rects:
            return None
        scale = width / page.get_width()
        bitmap = page.render(scale=scale)
        base = bitmap.to_pil().convert("RGBA")
        boxes = tuple(
            box for r in rects if (box := _to_pixels(page, r, base.size)) is not None
        )
    finally:
        pdf.close()  # and with it the page and text page
    return _picture(base, boxes, scale, tuple(line for line, _ in cited))


def _draw_image(raw: bytes, sha256: str, number: int, first: int, last: int, width: int,
                ocr: Ocr | None) -> PageImage | None:
    """An image's page (a frame) at ``width``, its cited OCR lines marked."""
    from PIL import Image

    from ..ingest.readers.image import frame

    if ocr is None:
        return None
    image = Image.open(io.BytesIO(raw))
    if not 1 <= number <= getattr(image, "n_frames", 1):
        return None
    page = frame(image, number - 1)  # upright, as OCR read it
    read = ocr.page(sha256, number, lambda: page)
    scale = width / page.width
    return _marked(page.resize((width, round(page.height * scale))), read, first, last, scale)


def _marked(base, read: list[Line], first: int, last: int, scale: float) -> PageImage | None:
    """``base`` with OCR lines first..last marked over their boxes (fractions of the page)."""
    if last > len(read):
        return None
    w, h = base.size
    pad = PAD * scale
    boxes = tuple((max(0, int(left * w - pad)), max(0, int(top * h - pad)),
                   min(w, int(right * w + pad) + 1), min(h, int(bottom * h + pad) + 1))
                  for x in read[first - 1 : last] for left, top, right, bottom in [x.box])
    return _picture(base.convert("RGBA"), boxes, scale,
                    tuple(x.text for x in read[first - 1 : last]))


def _picture(base, boxes: tuple[Box, ...], scale: float, lines: tuple[str, ...]
             ) -> PageImage | None:
    """The page with ``boxes`` highlighted, as a small PNG."""
    from PIL import Image, ImageDraw

    if not boxes:
        return None
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in boxes:  # overlapping boxes overwrite each other, so alpha never adds up
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=FILL, outline=EDGE)
    out = io.BytesIO()
    drawn = Image.alpha_composite(base, overlay).convert("RGB")
    # 64 colours hold anti-aliased text and the highlight (each pixel within 16 levels of the
    # render) in a quarter of the bytes: the panel carries the image inline.
    drawn.quantize(COLOURS, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
    return PageImage(out.getvalue(), base.size[0], base.size[1], scale, boxes, lines)


def _rows(textpage, chars: list[int]) -> list[tuple[float, float, float, float]]:
    """One rectangle (PDF points: left, bottom, right, top) per run of characters that sit on
    the same row: a table row is one band across its columns, a line that wraps is two."""
    out: list[list[float]] = []
    for c in chars:
        left, bottom, right, top = textpage.get_charbox(c, loose=True)
        if right <= left or top <= bottom:
            continue
        if out:
            r = out[-1]
            overlap = min(top, r[3]) - max(bottom, r[1])
            if overlap >= 0.5 * min(top - bottom, r[3] - r[1]):
                r[0], r[1], r[2], r[3] = min(r[0], left), min(r[1], bottom), max(
                    r[2], right), max(r[3], top)
                continue
        out.append([left, bottom, right, top])
    return [(r[0] - PAD, r[1] - PAD, r[2] + PAD, r[3] + PAD) for r in out]


def _to_pixels(page, rect: tuple[float, float, float, float], size: tuple[int, int]) -> Box | None:
    """PDF points (origin bottom left) -> pixels of the rendered page (origin top left), with
    PDFium's own transform, so rotation and crop boxes are as drawn."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    w, h = size
    xs, ys = [], []
    for px, py in ((rect[0], rect[1]), (rect[2], rect[3])):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        ok = pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, w, h, 0, px, py,
                                         ctypes.byref(dx), ctypes.byref(dy))
        if not ok:
            return None
        xs.append(dx.value)
        ys.append(dy.value)
    left, right = max(0, min(xs)), min(w, max(xs) + 1)
    top, bottom = max(0, min(ys)), min(h, max(ys) + 1)
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom
