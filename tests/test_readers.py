"""One text view per file: what each reader makes of a document, and why a bad one is skipped.

No index here: these call the readers as ingest and verification do, on documents made in the
test (and one real 10-Q), so they run in seconds.
"""

from __future__ import annotations

import shutil
import time

import pytest

from qa.ingest.readers import MAX_LINE_CHARS, Skip, page_lines, read_view

from . import docmaker as dm

HARBOUR = [
    ["Harbour report", "The lighthouse keeper counted 412 gulls on Monday."],
    ["Ferry timetable", "The first ferry to Vorsa leaves at 7:15 every weekday.",
     "The last ferry returns at 22:40."],
    ["Budget", "The harbour spent 9,800 kroner on new rope in March."],
]


def test_made_pdf_has_a_text_layer():
    """The documents below are only meaningful if PDFium finds the text we drew."""
    layer = dm.pdf_text_layer(dm.text_pdf(HARBOUR))
    assert [t.replace("\r\n", "\n").splitlines() for t in layer] == HARBOUR


def test_pdf_view_is_numbered_by_page(tmp_path):
    path = tmp_path / "harbour.pdf"
    path.write_bytes(dm.text_pdf(HARBOUR))
    view = read_view(path.name, path.read_bytes())
    assert view.pages == [2, 3, 2]
    assert view.lines == [line for page in HARBOUR for line in page]
    for number, lines in enumerate(HARBOUR, 1):
        assert view.page(number) == lines
        assert page_lines(path, number) == lines  # what verification re-reads
    assert page_lines(path, 4) is None and view.page(4) is None


def test_real_10q_view_matches_each_page_read_again(tmp_path):
    """Ingest reads the whole PDF, verification one page: both must give the same lines, or
    every citation into a real filing would fail."""
    path = tmp_path / "aapl.pdf"
    shutil.copy(dm.AAPL, path)
    view = read_view(path.name, path.read_bytes())
    assert len(view.pages) == 28 and sum(view.pages) == len(view.lines)
    assert page_lines(path, 4)[17] == dm.AAPL_NET_SALES  # p.4 L18
    for number in range(1, 29):
        assert page_lines(path, number) == view.page(number), number
    assert all(len(line) <= MAX_LINE_CHARS and "\n" not in line and "\r" not in line
               for line in view.lines)
    assert read_view(path.name, path.read_bytes()) == view  # same bytes, same lines


def test_replaced_pdf_is_read_again_not_served_from_cache(tmp_path):
    path = tmp_path / "harbour.pdf"
    path.write_bytes(dm.text_pdf(HARBOUR))
    assert page_lines(path, 2)[1].endswith("leaves at 7:15 every weekday.")
    edited = [HARBOUR[0],
              ["Ferry timetable", "The first ferry to Vorsa leaves at 8:05 on weekdays."]]
    path.write_bytes(dm.text_pdf(edited))
    assert page_lines(path, 2) == edited[1]
    assert page_lines(path, 3) is None  # that page is gone
    path.unlink()
    assert page_lines(path, 1) is None


def _reason(name: str, raw: bytes) -> str:
    with pytest.raises(Skip) as caught:
        read_view(name, raw)
    reason = str(caught.value)
    assert reason and "\n" not in reason
    return reason


def test_bad_pdfs_get_a_reason_a_user_can_act_on():
    good = dm.text_pdf(HARBOUR)
    assert _reason("locked.pdf", dm.encrypted_pdf(good)).startswith("password protected")
    assert _reason("scan.pdf", dm.scanned_pdf()) == (
        "no text layer: scanned pages need OCR, which is off (QA_OCR)")
    assert "corrupt or truncated" in _reason("half.pdf", good[: len(good) // 2])
    assert "corrupt or truncated" in _reason("noise.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50)


def test_ten_thousand_empty_pages_are_read_quickly_as_no_text():
    raw = dm.empty_pages_pdf(10_000)
    began = time.monotonic()
    assert _reason("blank.pdf", raw).startswith("no text layer")
    assert time.monotonic() - began < 30


def test_docx_paragraphs_and_table_rows_in_reading_order():
    raw = dm.word_docx([
        ("h1", "Board minutes"),
        ("p", "The board met on 3 May and approved the new pier."),
        ("table", [["Item", "Q3 2022", "Q3 2021"], ["Net sales", "82,959", "81,434"]]),
        ("h2", "Close"),
        ("p", "The meeting closed at noon."),
    ])
    assert read_view("minutes.docx", raw).lines == [
        "Board minutes",
        "",
        "The board met on 3 May and approved the new pier.",
        "",
        "Item | Q3 2022 | Q3 2021",
        "Net sales | 82,959 | 81,434",
        "",
        "Close",
        "",
        "The meeting closed at noon.",
    ]


def test_docx_merged_cell_is_written_once():
    import io

    from docx import Document

    doc = Document()
    table = doc.add_table(rows=2, cols=3)
    for c, text in enumerate(["Region", "North", "South"]):
        table.cell(0, c).text = text
    table.cell(1, 0).merge(table.cell(1, 1)).text = "Total"
    table.cell(1, 2).text = "5,120"
    buf = io.BytesIO()
    doc.save(buf)
    assert read_view("t.docx", buf.getvalue()).lines == ["Region | North | South", "Total | 5,120"]


def test_bad_word_and_html_files_get_reasons():
    assert _reason("fake.docx", dm.fake_docx()) == (
        "not a Word document: the zip archive holds no word/document.xml")
    assert _reason("plain.docx", b"just text, no zip").startswith("not a Word document")
    assert _reason("empty.docx", dm.word_docx([])).startswith("empty document")
    assert "no text" in _reason("app.html", dm.SCRIPT_ONLY_HTML.encode())


@pytest.mark.parametrize("name,reason", [
    ("sheet.xlsx", ".xlsx files are not read (qa reads text (.txt .md), PDF, Word (.docx), "
                   "HTML (.html .htm) and images (.png .jpg .jpeg .tif .tiff, by OCR))"),
    ("old.doc", "old Word .doc format: save it as .docx"),
    ("Makefile", "files without an extension are not read"),
])
def test_unsupported_types_say_what_qa_reads(name, reason):
    assert _reason(name, b"whatever").startswith(reason)


def test_a_five_mb_line_becomes_bounded_display_lines_and_loses_no_text():
    words = [f"w{i % 9973}x" for i in range(740_000)]
    text = " ".join(words)
    assert len(text) > 5_000_000
    lines = read_view("one-line.txt", text.encode()).lines
    assert len(lines) >= len(text) // (MAX_LINE_CHARS + 1)  # a cut drops one space
    assert max(map(len, lines)) <= MAX_LINE_CHARS
    assert " ".join(lines).split() == words  # cut at spaces: no word split or lost

    blob = ("QmFzZTY0" * 700_000)[:5_000_000]  # no space to cut at
    lines = read_view("blob.md", blob.encode()).lines
    assert max(map(len, lines)) <= MAX_LINE_CHARS and "".join(lines) == blob


def test_editor_line_numbers_are_kept_for_ordinary_text():
    raw = b"first\r\nsecond\n\nfourth\n"
    assert read_view("notes.txt", raw).lines == ["first", "second", "", "fourth"]
