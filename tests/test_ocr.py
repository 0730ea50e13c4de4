"""Images and scanned PDF pages, read by the real OCR engines (tesseract, RapidOCR): their lines
are cited, verified and re-read like any other file's."""

from __future__ import annotations

import difflib
import io
import json
import time

import pytest
from PIL import Image, ImageDraw, ImageFilter

from qa import QA
from qa.config import Settings
from qa.errors import InputError
from qa.ingest.readers import Skip, page_lines, read_view
from qa.ingest.readers.ocr import Ocr

from . import docmaker as dm

FERRY = "When does the first ferry to Vorsa leave?"
SCAN = ["Harbour notes for the spring season",
        "The first ferry to Vorsa leaves at 7:15 every weekday.",
        "Tickets cost 12 euros at the pier office."]


@pytest.mark.slow
def test_a_scanned_image_is_cited_by_line_and_an_edited_one_fails_verification(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    scan = docs / "scan.png"
    scan.write_bytes(dm.text_image(SCAN))
    buf = io.BytesIO()
    Image.new("L", (800, 600), 255).save(buf, "PNG")
    (docs / "blank.png").write_bytes(buf.getvalue())
    (docs / "notes.txt").write_text("The orchard behind the harbour has 31 pear trees.\n")
    with QA(tmp_path / "ix", backend="extractive", cache_dir=tmp_path / "cache") as qa:
        report = qa.ingest(docs)
        assert report.skipped == [(str(docs / "blank.png"), "no text found by OCR (tesseract)")]
        assert sorted(report.added) == [str(docs / "notes.txt"), str(scan)]
        answer = qa.ask(FERRY)
        assert not answer.refused and "7:15" in answer.text
        cite = answer.citations[0]
        assert cite.label == f"{scan} p.1 L2" and cite.quote == SCAN[1]
        assert answer.to_dict()["citations"][0]["page"] == 1

        edited = Image.open(scan)  # the scan retouched: 7:15 painted over with 8:05
        draw = ImageDraw.Draw(edited)
        draw.rectangle((0, 140, 1400, 200), fill=255)
        draw.text((60, 150), SCAN[1].replace("7:15", "8:05"), fill=0, font=dm.font())
        edited.save(scan)
        again = qa.ask(FERRY)
    assert not any("7:15" in c.quote for c in again.citations) and "7:15" not in again.text
    assert "file changed since it was ingested" in {d["reason"] for d in again.debug["dropped"]}


def test_a_pdf_page_without_text_is_read_by_ocr_and_re_read_from_its_cache(tmp_path):
    path = tmp_path / "mixed.pdf"
    path.write_bytes(dm.text_and_scan_pdf(["Harbour report", "The pier opened in 1911."], SCAN))
    ocr = Ocr("tesseract", tmp_path / "cache")
    view = read_view(path.name, path.read_bytes(), ocr=ocr)
    assert view.page(1) == ["Harbour report", "The pier opened in 1911."]  # its text layer
    assert view.page(2) == SCAN
    assert [s.line for s in view.scanned] == [3, 4, 5]  # the file's numbering, page 2 only
    left, top, right, bottom = view.scanned[1].box  # the second line, drawn at (60, 150) px
    near = {"abs": 0.005}
    assert left == pytest.approx(60 / 1700, **near) and top == pytest.approx(150 / 2200, **near)
    assert bottom - top == pytest.approx(36 / 2200, **near) and 0.5 < right < 0.7
    assert page_lines(path, 2, ocr) == SCAN  # what verification re-reads
    assert page_lines(path, 2) == []  # OCR off: the page has no text
    [kept] = (tmp_path / "cache").iterdir()
    assert [x["text"] for x in json.loads(kept.read_text())] == SCAN


def test_with_ocr_off_an_image_or_a_scan_is_skipped_saying_why():
    with pytest.raises(Skip, match=r"^an image is read by OCR, which is off \(QA_OCR\)$"):
        read_view("scan.png", dm.text_image(SCAN))
    with pytest.raises(Skip, match=r"^no text layer: scanned pages need OCR, which is off"):
        read_view("scan.pdf", dm.scanned_pdf())
    with pytest.raises(InputError, match="QA_OCR='easyocr' is not one of: tesseract, rapidocr"):
        Settings.from_env(ocr="easyocr")


COLUMNS = (
    ["The north pier was rebuilt in the spring by the",
     "harbour's own crews after the storms of the",
     "winter before. Work finished two weeks early",
     "and cost less than the board expected."],
    ["Ferry crossings to Vorsa rose again this year,",
     "with a third boat running through the summer.",
     "Passengers waited less at the pier than in any",
     "year since the harbour began keeping records."],
)
TITLE = "Harbour Authority Annual Review of the Northern Piers and Ferries 2023"
ROW = "Total net sales 82,959 81,434"


def two_columns_and_a_table_row() -> bytes:
    """A title across the page, two columns of four lines, and a table row across both."""
    image = Image.new("L", (2000, 700), 255)
    draw = ImageDraw.Draw(image)
    font = dm.font()
    draw.text((60, 50), TITLE, fill=0, font=font)
    for i, (left, right) in enumerate(zip(*COLUMNS)):
        draw.text((60, 180 + i * 70), left, fill=0, font=font)
        draw.text((1060, 180 + i * 70), right, fill=0, font=font)
    for x, cell in ((60, "Total net sales"), (1300, "82,959"), (1650, "81,434")):
        draw.text((x, 520), cell, fill=0, font=font)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("engine", ["tesseract",
                                    pytest.param("rapidocr", marks=pytest.mark.slow)])
def test_two_columns_are_read_one_after_the_other_and_a_table_row_stays_one_line(engine):
    lines = read_view("review.png", two_columns_and_a_table_row(), ocr=Ocr(engine)).lines
    want = [TITLE, *COLUMNS[0], *COLUMNS[1], ROW]
    if engine == "tesseract":
        assert lines == want
    else:  # RapidOCR's English model drops some spaces: each line is still where it belongs
        assert len(lines) == len(want)
        for got, line in zip(lines, want):
            assert difflib.SequenceMatcher(None, got, line).ratio() > 0.85, (got, line)


def test_a_contents_page_keeps_each_entry_with_its_page_number():
    """A page of contents: entries of many lengths, page numbers at the right margin. The
    numbers leave a wide gap in the middle, yet they are no column of text: each entry is
    one line, its number last (read column by column, the numbers came after all entries)."""
    entries = [("Section 1. Quarterly accounts of the harbour board", "page 3"),
               ("Section 2. Dredging of the channel", "page 9"),
               ("Section 3. Repairs to the north pier and its stair", "page 14"),
               ("Section 4. Tolls and dues of the port", "page 21"),
               ("Section 5. Staff, pensions and the sailing club", "page 26"),
               ("Section 6. Risks", "page 30")]
    image = Image.new("L", (2000, 700), 255)
    draw = ImageDraw.Draw(image)
    for i, (entry, page) in enumerate(entries):
        draw.text((60, 60 + i * 100), entry, fill=0, font=dm.font())
        draw.text((1750, 60 + i * 100), page, fill=0, font=dm.font())
    buf = io.BytesIO()
    image.save(buf, "PNG")
    lines = read_view("contents.png", buf.getvalue(), ocr=Ocr("tesseract")).lines
    assert lines == [" ".join(e) for e in entries]


@pytest.mark.slow
def test_a_scan_is_read_again_when_the_engine_changes_so_its_index_matches_verification(
        tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    scan = docs / "review.png"
    scan.write_bytes(two_columns_and_a_table_row())
    cache = tmp_path / "cache"
    with QA(tmp_path / "ix", backend="extractive", cache_dir=cache) as qa:
        qa.ingest(docs)
    with QA(tmp_path / "ix", backend="extractive", cache_dir=cache, ocr="rapidocr") as qa:
        qa.ingest(docs)  # the file is unchanged, the engine is not
        [passage] = qa.retrieve("Who rebuilt the north pier after the winter storms?", k=1)
        read = qa.read(str(scan), 1)
    assert read != [TITLE, *COLUMNS[0], *COLUMNS[1], ROW]  # RapidOCR reads it otherwise...
    assert passage.chunk.text.split("\n") == read  # ...and the index holds what it reads


@pytest.mark.parametrize("name", ["scan.png", "mixed.pdf"])
def test_the_page_picture_marks_the_cited_ocr_line_over_its_text(tmp_path, name):
    import numpy as np

    from qa.ui.pages import page_image

    path = tmp_path / name
    if name == "scan.png":  # the line is drawn at (60, 150) px of a 1400 x 400 image
        path.write_bytes(dm.text_image(SCAN))
        page, size, line = 1, (1400, 400), 2
    else:  # the same line on page 2, a 1700 x 2200 scan
        path.write_bytes(dm.text_and_scan_pdf(["Harbour report"], SCAN))
        page, size, line = 2, (1700, 2200), 2
    ocr = Ocr("tesseract", tmp_path / "cache")
    assert page_image(path, page, line, line, SCAN[1]) is None  # OCR off: nothing to mark
    assert page_image(path, page, line, line, "The first ferry leaves at 8:05.", ocr=ocr) is None
    image = page_image(path, page, line, line, SCAN[1], ocr=ocr)
    assert image is not None and image.lines == (SCAN[1],) and image.width == 700
    [box] = image.boxes
    scale = 700 / size[0]
    assert abs(box[0] - 60 * scale) < 6 and abs(box[1] - 150 * scale) < 6
    assert 36 * scale < box[3] - box[1] < 2 * 36 * scale
    drawn = np.asarray(Image.open(io.BytesIO(image.png)).convert("RGB")).astype(int)
    tinted = (drawn[..., 0] - drawn[..., 2]) > 50  # white and black turned yellow
    rows = np.flatnonzero(tinted.any(axis=1))
    assert rows.min() >= box[1] and rows.max() < box[3]  # only the cited line is marked


@pytest.mark.slow
def test_a_long_scan_is_read_to_its_end_page_by_page_under_the_time_limit(tmp_path):
    """QA_EXTRACT_SECONDS bounds each page OCR reads, not the scan: the ingest goes on while
    pages are read, and says which page it is at."""
    docs = tmp_path / "docs"
    docs.mkdir()
    pages = [[f"Ledger page {n}", f"The harbour dues for month {n} were {n * 100} euros."]
             for n in range(1, 5)]
    (docs / "ledger.pdf").write_bytes(dm.scan_pdf(pages))
    said: list[str] = []
    with QA(tmp_path / "ix", backend="extractive", cache_dir=tmp_path / "cache",
            extract_seconds=0.2) as qa:
        began = time.monotonic()
        report = qa.ingest(docs, progress=lambda done, total, what: said.append(what))
        took = time.monotonic() - began
        assert report.added == [str(docs / "ledger.pdf")] and not report.skipped
        assert took > 0.2  # longer than the limit, page after page
        assert qa.read(str(docs / "ledger.pdf"), 4) == pages[3]
    assert [w for w in said if "OCR" in w] == [
        f"{docs / 'ledger.pdf'} (OCR: page {n} of 4)" for n in range(1, 5)]


def test_a_screenshot_on_a_clear_background_and_a_photo_taken_sideways_are_read_upright():
    clear = Image.new("RGBA", (1400, 200), (0, 0, 0, 0))  # black text, transparent black around
    ImageDraw.Draw(clear).text((60, 60), SCAN[1], fill=(0, 0, 0, 255), font=dm.font())
    shot = io.BytesIO()
    clear.save(shot, "PNG")
    sideways = Image.open(io.BytesIO(dm.text_image(SCAN[:1]))).rotate(90, expand=True)
    tag = sideways.getexif()
    tag[0x0112] = 6  # the camera's orientation: turn 90 degrees clockwise to view
    photo = io.BytesIO()
    sideways.convert("RGB").save(photo, "JPEG", exif=tag.tobytes(), quality=95)
    ocr = Ocr("tesseract")
    assert read_view("shot.png", shot.getvalue(), ocr=ocr).lines == [SCAN[1]]
    assert read_view("photo.jpg", photo.getvalue(), ocr=ocr).lines == SCAN[:1]


@pytest.mark.slow
def test_a_line_ocr_was_unsure_of_is_named_by_the_ingest(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    page = Image.open(io.BytesIO(dm.text_image([SCAN[0], "", SCAN[2]])))
    rained_on = Image.new("L", (1400, 90), 255)  # line 2, blurred past reading well
    ImageDraw.Draw(rained_on).text((60, 20), "The ferry timetable was smudged by rain", fill=0,
                                   font=dm.font())
    page.paste(rained_on.filter(ImageFilter.GaussianBlur(3.2)), (0, 130))
    scan = docs / "notice.png"
    page.save(scan)
    with QA(tmp_path / "ix", backend="extractive", cache_dir=tmp_path / "cache") as qa:
        report = qa.ingest(docs)
    assert report.added == [str(scan)]
    assert report.unsure == [(str(scan), 1, 2)]  # the clear lines 1 and 3 are not named
    assert "; 1 line read by OCR with low confidence (qa ingest --json lists them)" in \
        report.summary()
    assert report.to_dict()["unsure"] == [{"path": str(scan), "page": 1, "line": 2}]


def test_a_scan_of_more_pages_than_the_limit_is_skipped_before_any_is_read(tmp_path):
    three = dm.scan_pdf([[f"Ledger page {n}"] for n in range(1, 4)])
    ocr = Ocr("tesseract", tmp_path / "cache", max_pages=2)
    began = time.monotonic()
    with pytest.raises(Skip, match=r"^3 pages need OCR, more than QA_OCR_MAX_PAGES \(2\) allows"):
        read_view("ledger.pdf", three, ocr=ocr)
    with pytest.raises(Skip, match=r"^3 pages need OCR"):  # a TIFF of three frames
        frames = [Image.open(io.BytesIO(dm.text_image([f"Ledger page {n}"]))) for n in (1, 2, 3)]
        tiff = io.BytesIO()
        frames[0].save(tiff, "TIFF", save_all=True, append_images=frames[1:])
        read_view("ledger.tif", tiff.getvalue(), ocr=ocr)
    assert time.monotonic() - began < 1 and not (tmp_path / "cache").exists()  # nothing read
    two = dm.text_and_scan_pdf(["Harbour report"], SCAN)  # one page to read: under the limit
    assert read_view("mixed.pdf", two, ocr=ocr).page(2) == SCAN


# A scan torn along its top edge: the last word of lines 2 and 3 lost its upper half, so OCR
# reads those lines with low confidence; the figure 4180 itself is printed clearly.
TORN = ["Harbour notes for the spring season",
        "The ferry timetable is posted at the pier (smudged)",
        "The harbour dues were 4180 euros (smudged)",
        "Dues are paid at the pier office by 14 May."]


def torn_scan() -> bytes:
    page = Image.open(io.BytesIO(dm.text_image(TORN, size=(1400, 500))))
    draw = ImageDraw.Draw(page)
    for n in (1, 2):  # lines are drawn at y = 60 + 90 n, 36 px high
        left = 60 + int(draw.textlength(TORN[n].rsplit("(", 1)[0], font=dm.font()))
        draw.rectangle((left + 12, 60 + 90 * n, left + 200, 60 + 90 * n + 26), fill=255)
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def torn(tmp_path_factory):
    """The torn scan ingested; (its path, the index, the OCR cache)."""
    root = tmp_path_factory.mktemp("torn")
    (root / "docs").mkdir()
    scan = root / "docs" / "dues.png"
    scan.write_bytes(torn_scan())
    with QA(root / "ix", backend="extractive", cache_dir=root / "cache") as qa:
        report = qa.ingest(root / "docs")
    # the premise, as this tesseract reads the scan: lines 2 and 3 unsure, 1 and 4 clear
    assert report.unsure == [(str(scan), 1, 2), (str(scan), 1, 3)], report
    return scan, root / "ix", root / "cache"


def test_a_cited_line_ocr_was_unsure_of_is_marked_with_its_confidence(torn):
    from qa.render import format_answer
    from qa.ui.render import sources_html

    scan, index, cache = torn
    with QA(index, backend="extractive", cache_dir=cache) as qa:
        answer = qa.ask("Where is the ferry timetable posted?")
        clear = qa.ask("By which date are the dues paid at the pier office?")
    assert not answer.refused and "posted at the pier" in answer.text
    [cite] = answer.citations
    assert cite.label == f"{scan} p.1 L2" and cite.confidence is not None
    assert cite.unsure and 0 <= cite.confidence < 0.5
    shown = f"confidence {cite.confidence:.2f}"
    assert f"[1] ~{scan} p.1 L2 ({shown})" in format_answer(answer)
    assert answer.to_dict()["citations"][0]["confidence"] == cite.confidence
    assert answer.to_dict()["citations"][0]["unsure"] is True
    panel = sources_html(answer)
    assert panel.count('class="qa-unsure"') == 2 and ">~</span>" in panel and shown in panel
    # a clear line of the same scan: its confidence is given, and nothing is marked
    assert not clear.refused and "14 May" in clear.text
    [sure] = clear.citations
    assert sure.label == f"{scan} p.1 L4" and sure.confidence is not None and not sure.unsure
    assert f"[1] {scan} p.1 L4  " in format_answer(clear) and "~" not in format_answer(clear)
    assert clear.to_dict()["citations"][0]["confidence"] == sure.confidence
    assert "qa-unsure" not in sources_html(clear)


def test_a_figure_only_an_unsure_line_states_supports_no_answer(torn):
    from qa.ask.verify import NOT_VERIFIED, Drop

    _, index, cache = torn
    with QA(index, backend="extractive", cache_dir=cache) as qa:
        answer = qa.ask("How much were the harbour dues?")
    assert answer.refused and "4180" not in answer.text and not answer.citations
    assert answer.debug["refused_because"] == NOT_VERIFIED  # qa ask gives the reasons
    unclear = [d for d in answer.debug["dropped"] if d["reason"] == Drop.UNCLEAR_FIGURE]
    assert unclear and all(d["unclear"] == ["4180"] and d["start_line"] == 3 for d in unclear)


def test_an_image_too_large_is_skipped_from_its_header_and_the_rest_of_the_folder_indexed(
        tmp_path):
    """QA_OCR_MAX_PIXELS (100 megapixels) is checked before an image is decoded; PIL's own
    limit, at 179 megapixels, gives the same kind of reason rather than a traceback."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "poster.png").write_bytes(dm.blank_png(12_000, 9_000))  # 108 megapixels
    (docs / "mural.png").write_bytes(dm.blank_png(20_000, 20_000))  # over PIL's limit
    (docs / "notes.txt").write_text("The orchard behind the harbour has 31 pear trees.\n")
    assert sum(p.stat().st_size for p in docs.iterdir()) < 200_000
    with QA(tmp_path / "ix", backend="extractive", cache_dir=tmp_path / "cache") as qa:
        report = qa.ingest(docs)
    assert report.added == [str(docs / "notes.txt")]
    assert sorted(report.skipped) == [
        (str(docs / "mural.png"),
         "image too large: more pixels than PIL decodes (cap 100 megapixels, QA_OCR_MAX_PIXELS)"),
        (str(docs / "poster.png"),
         "image too large: 12000x9000 pixels (cap 100 megapixels, QA_OCR_MAX_PIXELS)")]
    album = tmp_path / "album.tif"  # each frame of a TIFF is checked, against the setting
    frames = [Image.new("L", size, 255) for size in ((1000, 1000), (2000, 1500))]
    frames[0].save(album, "TIFF", save_all=True, append_images=frames[1:])
    with QA(tmp_path / "ix", backend="extractive", cache_dir=tmp_path / "cache",
            ocr_max_pixels=2_000_000) as qa:
        assert qa.ingest(album).skipped == [
            (str(album), "image too large: 2000x1500 pixels (cap 2 megapixels, QA_OCR_MAX_PIXELS)")]


def test_a_near_blank_scan_is_skipped_as_no_text_found():
    """Dust and a faint fold on an empty page are no text."""
    page = Image.new("L", (1400, 400), 250)
    draw = ImageDraw.Draw(page)
    for n in range(40):
        x, y = (n * 337) % 1400, (n * 131) % 400
        draw.ellipse((x, y, x + 3, y + 3), fill=120 + n * 2)
    draw.line((0, 380, 1400, 382), fill=225, width=2)
    buf = io.BytesIO()
    page.save(buf, "PNG")
    with pytest.raises(Skip, match=r"^no text found by OCR \(tesseract\)$"):
        read_view("empty.png", buf.getvalue(), ocr=Ocr("tesseract"))


def structure(view) -> list[tuple]:
    return [(r.line, r.label, r.section, r.title, r.unit,
             [(c.value, c.column) for c in r.cells]) for r in view.rows]


def test_a_scanned_statement_and_form_are_read_as_the_rows_and_fields_of_their_text():
    """The same tables and form read from an image-only copy: each figure under its column's
    headers, with the table's title and unit, and each field with its label."""
    from .test_forms import form_pdf

    for name, raw in (("trust.pdf", dm.statement_pdf()), ("case.pdf", form_pdf())):
        text = read_view(name, raw)
        scanned = read_view(name, dm.scan_of(raw), ocr=Ocr("tesseract"))
        assert scanned.lines == text.lines
        assert structure(scanned) == structure(text) and len(text.rows) >= 3


@pytest.fixture(scope="module")
def filing_scan():
    """A real 10-Q's statements of operations and of cash flows (pages 4 and 8), as their text
    layer reads and as tesseract reads a 200 dpi scan of them."""
    pages = dm.filing_excerpt([4, 8])
    return read_view("aapl.pdf", pages), read_view("aapl.pdf", dm.scan_of(pages),
                                                   ocr=Ocr("tesseract"))


@pytest.mark.slow
def test_a_scanned_statement_s_dollar_signs_and_dashes_are_read_as_printed(filing_scan):
    """Tesseract reads many of a statement's dollar signs as section signs ("§$ 245,241",
    "§ 21,744") and its nil dashes as underscores; a scan of a real 10-Q's statements of
    operations and of cash flows reads them as the text layer prints them, and a section's
    number keeps its sign."""
    text, scanned = filing_scan
    rows = [x for x in text.lines if x.startswith(
        ("Products $", "Net income $", "Proceeds from issuance of term debt, net —"))]
    assert len(rows) == 3 and all(x in scanned.lines for x in rows)
    assert not any("§" in x for x in scanned.lines)
    from qa.ingest.readers.ocr import Piece, _misread

    said = ("under", "§", "39.13", "of", "§", "2,306", "$§$", "4,977", "_", "(3;732)", "____")
    words = [Piece(t, 0, 0, 1, 1, 0.9) for t in said]
    assert [w.text for w in _misread(words)] == [
        "under", "§", "39.13", "of", "$", "2,306", "$", "4,977", "—", "(3,732)", "____"]


@pytest.mark.slow
def test_a_scanned_statement_s_column_heads_are_read_cell_by_cell_as_its_text_layer(
        filing_scan):
    """A column head of two lines ("June 25," over "2022") is a cell of its own in the text
    layer, and so in the scan's lines, in the same order; the head spanning two columns and
    the rows of figures stay one line each."""
    text, scanned = filing_scan
    start = text.lines.index("Three Months Ended Nine Months Ended")
    head = text.lines[start:start + 9]
    assert head[1:] == ["June 25,", "2022", "June 26,", "2021"] * 2
    assert any(scanned.lines[n:n + 9] == head for n in range(len(scanned.lines)))
    # side by side on one baseline, fields of a form are one line, as the text layer has them
    from .test_forms import form_pdf

    form = read_view("case.pdf", dm.scan_of(form_pdf()), ocr=Ocr("tesseract"))
    assert form.lines == read_view("case.pdf", form_pdf()).lines


@pytest.mark.slow
def test_rapidocr_reads_a_scanned_statement_s_columns():
    """RapidOCR's English model drops spaces inside words' runs ("Totalrevenue"), so labels
    differ; each figure still lands under its column's headers."""
    rows = read_view("trust.pdf", dm.scan_of(dm.statement_pdf()), ocr=Ocr("rapidocr")).rows
    text = read_view("trust.pdf", dm.statement_pdf()).rows
    assert [[(c.value, c.column) for c in r.cells] for r in rows] == \
        [[(c.value, c.column) for c in r.cells] for r in text]


def test_an_answer_from_a_scanned_statement_names_the_figure_s_column(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "trust.pdf").write_bytes(dm.scan_of(dm.statement_pdf()))
    with QA(tmp_path / "ix", backend="extractive", cache_dir=tmp_path / "cache") as qa:
        qa.ingest(docs)
        answer = qa.ask("How much did the trust earn from tickets in the year to March 2023?")
    first = answer.text.split("\n")[0]
    assert "1,105" in first and "2023" in first and "1,240" not in first, answer.text
    assert any(c.quote.startswith("Tickets 1,240 1,105") and c.page == 1
               for c in answer.citations)


def test_ocr_drops_the_characters_no_display_line_keeps_as_every_reader_does():
    """A soft hyphen, a zero-width space, a control character: dropped by the one rule of
    every reader (``_lines.CONTROL``), so a quote typed from the page finds the line."""
    from qa.ingest.readers.ocr import Piece, group

    read = group([Piece("Har\u00adbour\u200b notes\x07", 10, 10, 300, 40, 0.9)], 400, 100)
    assert [x.text for x in read] == ["Harbour notes"]


def test_a_scanned_table_without_a_head_read_stays_plain_lines():
    """Rows whose figures OCR could not put under column headers are left as plain lines (they
    answered worse so on scanned filings); the text layer keeps them as rows."""
    items = []
    for n, (label, figures) in enumerate((("Ferry tickets", ("1,240", "1,105")),
                                          ("Harbour dues", ("310", "287")),
                                          ("Mooring fees", ("96", "88")))):
        items.append((0.08, 0.9 - 0.02 * n, label, "left"))
        items += [(x, 0.9 - 0.02 * n, figure, "right") for x, figure in zip((0.6, 0.8), figures)]
    raw = dm.placed_pdf(items)
    text = read_view("dues.pdf", raw)
    scanned = read_view("dues.pdf", dm.scan_of(raw), ocr=Ocr("tesseract"))
    assert scanned.lines == text.lines == ["Ferry tickets 1,240 1,105", "Harbour dues 310 287",
                                           "Mooring fees 96 88"]
    assert len(text.rows) == 3 and not any(c.headers for r in text.rows for c in r.cells)
    assert scanned.rows == ()
