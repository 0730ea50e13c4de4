"""Images (.png .jpg .jpeg .tif .tiff): read by OCR, each frame a page (a TIFF may hold many).

A photo or scan is a document of pages like a PDF, so its citations read ``scan.png p.1 L2``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from functools import partial
from typing import TYPE_CHECKING

from ...types import Row, Scanned
from . import View
from ._skip import Skip
from .ocr import rows, too_large, too_many

if TYPE_CHECKING:
    from .ocr import Ocr, OnPage

LETTER_WIDTH = 612.0  # points: an image's tables are read as on a page this wide


def read_image(raw: bytes, ocr: Ocr | None, *, on_page: OnPage | None = None) -> View:
    """The image's view; ``on_page`` hears of each page (frame) OCR has read."""
    if ocr is None:
        raise Skip("an image is read by OCR, which is off (QA_OCR)")
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # QA_OCR_MAX_PIXELS decides, not PIL's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))  # the header only
            _fits(image, ocr)
            image.load()
    except UnidentifiedImageError:
        raise Skip("not a readable image (corrupt, truncated or not an image)") from None
    except Image.DecompressionBombError:  # PIL's own limit, twice its warning's
        raise Skip(too_large(None, ocr)) from None
    except (OSError, ValueError) as exc:
        raise Skip(f"not a readable image (corrupt or truncated): {exc}") from None
    count = getattr(image, "n_frames", 1)
    if count > ocr.max_pages:
        raise Skip(too_many(count, ocr))
    sha256 = hashlib.sha256(raw).hexdigest()
    lines: list[str] = []
    pages: list[int] = []
    scanned: list[Scanned] = []
    found: list[Row] = []
    for number in range(1, count + 1):
        image.seek(number - 1)  # a frame's header: each may be of its own size
        _fits(image, ocr)
        read = ocr.page(sha256, number, partial(frame, image, number - 1))
        if on_page is not None:
            on_page(number, count)
        scanned += [Scanned(n, x.box, x.confidence) for n, x in enumerate(read, len(lines) + 1)]
        width, height = image.size
        found += rows(read, LETTER_WIDTH, LETTER_WIDTH * height / width, len(lines))
        lines += [x.text for x in read]
        pages.append(len(read))
    if not any(lines):
        raise Skip(f"no text found by OCR ({ocr.engine})")
    return View(lines, pages, tuple(found), tuple(scanned))


def _fits(image, ocr: Ocr) -> None:
    """Skip an image (a frame) of more pixels than ``ocr`` decodes, from its header alone."""
    width, height = image.size
    if width * height > ocr.max_pixels:
        raise Skip(too_large((width, height), ocr))


def frame(image, index: int):
    """Frame ``index`` in grey, upright as a camera's orientation tag says and any transparency
    on white (a screenshot's clear background is black pixels underneath); decoded only when
    OCR has not read it before, and for the page picture."""
    from PIL import Image, ImageOps

    image.seek(index)
    upright = ImageOps.exif_transpose(image)
    if "A" in upright.getbands() or "transparency" in upright.info:
        upright = Image.alpha_composite(Image.new("RGBA", upright.size, "white"),
                                        upright.convert("RGBA"))
    return upright.convert("L")
