"""OCR: a page image becomes display lines in reading order, each with its box on the page.

Two engines are plugins behind ``Engine`` (``ENGINES``): RapidOCR (PP-OCR models run by
onnxruntime, shipped in its wheel) and Debian's tesseract, run as a command. Each gives pieces
of text with pixel boxes; one rule (``group``) makes lines of them for both, so a table row
stays one line and a two-column page is read column by column. ``eval/bench_ocr.py`` measured
the engines against PDF text layers (docs/reading.md).

Verification reads the page again, so OCR must give the same lines every time: pages are read
at a fixed resolution on one thread, and the lines are cached on disk by the file's sha256,
the page, the engine and its version (``Ocr.cache``). The engines are imported only when a page
is read.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ._lines import CONTROL
from ._skip import Skip
from .forms import split_field
from .layout import Word, structure

if TYPE_CHECKING:
    from PIL.Image import Image

    from ...config import Settings
    from ...types import Row

DPI = 300  # a PDF page is drawn this fine for OCR (bench_ocr: tesseract reads more than at 200)
GROUPING = "10"  # the version of ``group`` and the cached lines: a change reads pages again


class Piece(NamedTuple):
    """Text an engine found, with its box in pixels (left, top, right, bottom) and how sure the
    engine is of its least certain word (0 to 1)."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    confidence: float


@dataclass(frozen=True)
class Line:
    """A display line read by OCR, its box as fractions of the page's width and height, so that
    any drawing of the page can mark it, the confidence of its least certain piece, and each
    word's left and right edge as fractions of the width, from which ``layout`` reads a
    table's columns as it does from a text layer's characters."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float
    words: tuple[tuple[float, float], ...] = ()

    def layout_words(self, width: float, height: float) -> list[Word]:
        """The line's words for ``layout.structure``, on a page ``width`` by ``height``."""
        tall = (self.box[3] - self.box[1]) * height
        return [Word(text, left * width, right * width, tall)
                for text, (left, right) in zip(self.text.split(), self.words)]


class Engine(Protocol):
    name: str

    def version(self) -> str: ...

    def read(self, image: Image) -> list[Piece]: ...


class RapidOCR:
    """PP-OCRv4 detection and recognition (onnxruntime); the models ship in the wheel."""

    name = "rapidocr"

    @functools.cached_property
    def _engine(self):
        try:
            from rapidocr_onnxruntime import RapidOCR as Rapid
        except ImportError as exc:
            raise Skip(f"OCR engine rapidocr is not installed ({exc}): pip install "
                       "rapidocr-onnxruntime, or set QA_OCR=tesseract") from None
        # one thread: the same sums in the same order, so the same text every time
        return Rapid(intra_op_num_threads=1, inter_op_num_threads=1, use_cls=False)

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("rapidocr-onnxruntime")
        except PackageNotFoundError:
            return "missing"

    def read(self, image: Image) -> list[Piece]:
        import numpy as np

        found, _ = self._engine(np.asarray(image.convert("RGB"))[:, :, ::-1])
        out = []
        for points, text, score in found or []:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            out.append(Piece(text, min(xs), min(ys), max(xs), max(ys), float(score)))
        return out


class Tesseract:
    """Debian's tesseract-ocr (``make ocr``), English; its lines become pieces. The page is
    read as one block of text (``--psm 6``): with page segmentation (3) tesseract drops short
    pieces that stand apart, such as a table's page numbers and item labels, which ``group``
    needs to keep a row whole (``eval/bench_scans.py``)."""

    name = "tesseract"

    def version(self) -> str:
        return _tesseract_version()

    def read(self, image: Image) -> list[Piece]:
        png = io.BytesIO()
        image.save(png, format="PNG")
        done = subprocess.run(
            [_tesseract(), "stdin", "stdout", "-l", "eng", "--psm", "6", "tsv"],
            input=png.getvalue(), capture_output=True, check=False,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
        if done.returncode:
            raise Skip(f"tesseract failed: {done.stderr.decode(errors='replace').strip()[:200]}")
        lines: dict[tuple[str, ...], list[Piece]] = {}
        for row in done.stdout.decode("utf-8", errors="replace").splitlines()[1:]:
            cols = row.split("\t")
            if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
                continue
            left, top, width, height, conf = (float(c) for c in cols[6:11])
            lines.setdefault(tuple(cols[1:5]), []).append(
                Piece(cols[11], left, top, left + width, top + height, conf / 100))
        return [_joined(run) for words in lines.values() for run in _runs(_misread(words))]


# an amount with thousands separators, as a table prints it: "245,241", "(1,055)"
_AMOUNT = re.compile(r"\(?\d{1,3}(?:,\d{3})+\)?")
# a thousands separator read as a semicolon: "(3;732)"
_SEMICOLON = re.compile(r"(?<=\d);(?=\d{3}(?!\d))")


def _misread(words: list[Piece]) -> list[Piece]:
    """What tesseract reads wrongly in tables, put right where the word can only be that:
    a dollar sign read as a section sign ("§$ 245,241", "$§$", "§ 21,744", "§21,744"; one
    before a section's number, "§ 39.13", stays), the dash of a nil figure read as an
    underscore ("_", "_—"; a blank to fill in, "____", stays), and a thousands separator
    read as a semicolon ("(3;732)")."""
    out = []
    for n, word in enumerate(words):
        text = _SEMICOLON.sub(",", word.text)
        after = words[n + 1].text if n + 1 < len(words) else ""
        if "§" in text and "$" in text:
            text = re.sub(r"\$+", "$", text.replace("§", ""))
        elif text.startswith("§") and _AMOUNT.fullmatch(text[1:]):
            text = "$" + text[1:]
        elif text == "§" and _AMOUNT.fullmatch(after):
            text = "$"
        elif text in ("_", "_—", "—_"):
            text = "—"
        out.append(word._replace(text=text))
    return out


def _runs(words: list[Piece]) -> list[list[Piece]]:
    """A line's words in runs, cut where a gap is wider than the words are tall: tesseract may
    run a line across a gutter or between the cells of a table, where RapidOCR finds two."""
    height = statistics.median(w.bottom - w.top for w in words)
    runs = [[words[0]]]
    for word in words[1:]:
        if word.left - runs[-1][-1].right > height:
            runs.append([])
        runs[-1].append(word)
    return runs


def _joined(words: list[Piece]) -> Piece:
    return Piece(" ".join(w.text for w in words), min(w.left for w in words),
                 min(w.top for w in words), max(w.right for w in words),
                 max(w.bottom for w in words), min(w.confidence for w in words))


def _tesseract() -> str:
    found = shutil.which("tesseract")
    if not found:
        raise Skip("OCR engine tesseract is not installed: apt-get install tesseract-ocr "
                   "(make ocr), or set QA_OCR=rapidocr")
    return found


@functools.cache
def _tesseract_version() -> str:
    done = subprocess.run([_tesseract(), "--version"], capture_output=True, check=False)
    return (done.stdout or done.stderr).decode(errors="replace").split("\n")[0].split()[-1]


ENGINES: dict[str, Callable[[], Engine]] = {"rapidocr": RapidOCR, "tesseract": Tesseract}
# (page, pages): OCR has read that page of a file's pages, told as each one is done
OnPage = Callable[[int, int], None]


@functools.cache
def engine(name: str) -> Engine:
    """One engine per process: RapidOCR loads its models once."""
    return ENGINES[name]()


@dataclass(frozen=True)
class Ocr:
    """How pages without text are read: the engine's name, the folder its lines are kept in
    (None: not kept), how finely a PDF page is drawn for it, the most pages of one file it
    reads (a file with more is skipped, saying so, before any is read) and the most pixels of
    an image it decodes (a bigger one would take memory and minutes; skipped the same way)."""

    engine: str
    cache: Path | None = None
    dpi: int = DPI
    max_pages: int = 1000
    max_pixels: int = 100_000_000

    def page(self, sha256: str, number: int, draw: Callable[[], Image]) -> list[Line]:
        """The lines of page ``number`` of the file with that hash; ``draw`` renders the page,
        called only when its lines are not cached."""
        reader = engine(self.engine)
        path = None
        if self.cache is not None:
            path = self.cache / f"{sha256}-p{number}-{reader.name}-{reader.version()}" \
                f"-{self.dpi}-g{GROUPING}.json"
            try:
                return [Line(d["text"], tuple(d["box"]), d["confidence"],
                             tuple(tuple(w) for w in d["words"]))
                        for d in json.loads(path.read_text())]
            except (OSError, ValueError, KeyError, TypeError):
                pass
        image = draw()
        lines = group(reader.read(image), *image.size)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps([{"text": x.text, "box": x.box, "words": x.words,
                                            "confidence": x.confidence} for x in lines]))
                os.replace(tmp, path)
            except OSError:
                pass  # a read-only cache: the page is read again next time, to the same lines
        return lines


def rows(read: list[Line], width: float, height: float, offset: int) -> list[Row]:
    """The table rows and form fields among a page's OCR lines (``layout.structure``), the
    page ``width`` by ``height`` points (a PDF page's size; an image is taken 8.5 in wide).

    A row is kept only when each of its figures has a column: where OCR did not read a
    table's head whole, its rows without headers answered worse than the plain lines (on
    scanned copies of the shared filings, four figures no longer stated, none gained)."""
    found = structure([x.text for x in read], lambda i: read[i].layout_words(width, height),
                      offset)
    return [r for r in found if not r.label or all(c.headers for c in r.cells)]


def from_settings(settings: Settings) -> Ocr | None:
    """The OCR that ``QA_OCR`` names, its lines kept under ``QA_CACHE_DIR``; None when off."""
    if settings.ocr == "off":
        return None
    return Ocr(settings.ocr, settings.cache_dir / "ocr", max_pages=settings.ocr_max_pages,
               max_pixels=settings.ocr_max_pixels)


def too_many(pages: int, ocr: Ocr) -> str:
    """Why a file with ``pages`` to read by OCR, over the limit, is skipped."""
    return (f"{pages} pages need OCR, more than QA_OCR_MAX_PAGES ({ocr.max_pages}) allows: "
            "raise it to read them")


def too_large(size: tuple[int, int] | None, ocr: Ocr) -> str:
    """Why an image of ``size`` (width, height; None: more pixels than PIL will decode) is
    skipped."""
    cap = f"cap {ocr.max_pixels / 1e6:g} megapixels, QA_OCR_MAX_PIXELS"
    if size is None:
        return f"image too large: more pixels than PIL decodes ({cap})"
    return f"image too large: {size[0]}x{size[1]} pixels ({cap})"


def group(pieces: list[Piece], width: int, height: int) -> list[Line]:
    """The page's lines in reading order: pieces that overlap vertically by half the lower one
    are one line (a table row, however far apart its cells), left to right. A page with a
    gutter (``_gutter``) is read column by column; a row that crosses the gutter, or whose
    text right of it does not start at the right column's edge (a table row), is one line in
    its place between the columns above and below it."""
    pieces = [p._replace(text=CONTROL.sub("", p.text).strip()) for p in pieces]
    pieces = [p for p in pieces if p.text]
    gutter = _gutter(pieces, width)
    if gutter is None:
        ordered = _rows(pieces)
    else:
        edge = statistics.median(p.left for p in pieces if p.left >= gutter)
        ordered = []
        band: list[Piece] = []
        for row in _rows(pieces):
            right = [p.left for p in row if p.left >= gutter]
            if any(p.left < gutter < p.right for p in row) or (
                    right and len(right) < len(row) and min(right) - edge > 0.03 * width):
                ordered += _columns(band, gutter) + [row]
                band = []
            else:
                band += row
        ordered += _columns(band, gutter)
    ordered = _stacked(ordered)
    return [Line(" ".join(p.text for p in row),
                 (round(min(p.left for p in row) / width, 4),
                  round(min(p.top for p in row) / height, 4),
                  round(max(p.right for p in row) / width, 4),
                  round(max(p.bottom for p in row) / height, 4)),
                 round(min(p.confidence for p in row), 3),
                 tuple(w for p in row for w in _spread(p, width))) for row in ordered]


_LETTER = re.compile(r"[^\W\d_]")


def _stacked(ordered: list[list[Piece]]) -> list[list[Piece]]:
    """Rows, with a table's column heads of two lines or more read cell by cell ("June 25,"
    then "2022", then the next column's), as a text layer gives them; a row of a label and
    its figures, a spanning head ("Three Months Ended  Nine Months Ended"), a form's fields
    side by side and prose stay whole."""
    def head(row: list[Piece]) -> bool:
        return len(row) > 1 and not (_LETTER.search(row[0].text) and any(
            not _LETTER.search(p.text) for p in row[1:])) and not any(
            split_field(p.text) for p in row)

    def under(row: list[Piece], below: list[Piece]) -> bool:
        return head(below) and len(below) == len(row) and all(
            p.left < q.right and q.left < p.right for p, q in zip(row, below)) and \
            min(q.top for q in below) - max(p.bottom for p in row) < \
            max(p.bottom - p.top for p in row)

    out: list[list[Piece]] = []
    n = 0
    while n < len(ordered):
        cells = [ordered[n]]
        if head(cells[0]):
            while n + len(cells) < len(ordered) and under(cells[-1], ordered[n + len(cells)]):
                cells.append(ordered[n + len(cells)])
        out += [[p] for column in zip(*cells) for p in column] if len(cells) > 1 else cells
        n += len(cells)
    return out


def _spread(piece: Piece, width: int) -> list[tuple[float, float]]:
    """Each word's left and right edge in a piece, as fractions of the page's width: an
    engine boxes a run of words, so each word is given its share of the run's width by its
    characters. The run's own edges are exact, and in a table they are a figure's right edge
    and a label's left one, which are what columns are read from."""
    words = piece.text.split()
    step = (piece.right - piece.left) / max(len(piece.text), 1)
    out, x = [], piece.left
    for word in words:
        out.append((round(x / width, 4), round((x + len(word) * step) / width, 4)))
        x += (len(word) + 1) * step
    if out:  # the last word ends at the run's right edge, whatever the font's widths
        out[-1] = (out[-1][0], round(piece.right / width, 4))
    return out


def _columns(pieces: list[Piece], gutter: float) -> list[list[Piece]]:
    return _rows([p for p in pieces if p.right <= gutter]) + \
        _rows([p for p in pieces if p.left >= gutter])


def _rows(pieces: list[Piece]) -> list[list[Piece]]:
    rows: list[list[Piece]] = []
    top = bottom = 0.0
    for p in sorted(pieces, key=lambda p: (p.top + p.bottom) / 2):
        shared = min(bottom, p.bottom) - max(top, p.top)
        if rows and shared >= 0.5 * min(bottom - top, p.bottom - p.top):
            rows[-1].append(p)
            top, bottom = min(top, p.top), max(bottom, p.bottom)
        else:
            rows.append([p])
            top, bottom = p.top, p.bottom
    return [sorted(row, key=lambda p: p.left) for row in rows]


def _gutter(pieces: list[Piece], width: int) -> float | None:
    """The x of a gap between two columns of text, or None: the middle of the widest run of
    the middle third that fewest pieces cross (at most one in five), with text filling at
    least half of each side's width on average, from the gap to that side's far edge (prose
    lines; the narrow figures of a table's columns, or a column of page numbers, are no column
    of text)."""
    xs = [width * step / 100 for step in range(34, 67)]
    crossing = [sum(p.left < x < p.right for p in pieces) for x in xs]
    least = min(crossing)
    if least * 5 > len(pieces):
        return None
    runs: list[list[float]] = []
    for x, n in zip(xs, crossing):
        if n == least:
            if runs and runs[-1][-1] == x - width / 100:
                runs[-1].append(x)
            else:
                runs.append([x])
    run = max(runs, key=len)
    x = (run[0] + run[-1]) / 2
    left, right = [p for p in pieces if p.right <= x], [p for p in pieces if p.left >= x]
    if len(left) < 3 or len(right) < 3:
        return None
    # each side's room runs from the gutter to the text's far edge on that side: a column of
    # page numbers or figures at the right margin fills its own span, not its side
    for side, room in ((left, x - min(p.left for p in left)),
                       (right, max(p.right for p in right) - x)):
        if sum(p.right - p.left for p in side) / len(side) < 0.5 * room:
            return None
    return x
