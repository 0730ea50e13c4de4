"""PDF, Word and HTML end to end: ingest a mixed folder, ask, cite pages, verify against the file.

Real parts throughout (Chroma, the packaged embedder, the extractive backend); the documents are
made in the tests (``docmaker``), plus pages of one real 10-Q.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa import QA, InputError
from qa.ingest.readers import MAX_LINE_CHARS, page_lines, read_view

from . import docmaker as dm
from .conftest import chroma_rows, run_qa

HARBOUR = [
    ["Harbour report", "The lighthouse keeper counted 412 gulls on Monday."],
    ["Ferry timetable", "The first ferry to Vorsa leaves at 7:15 every weekday.",
     "The last ferry returns at 22:40."],
    ["Budget", "The harbour spent 9,800 kroner on new rope in March."],
]
FERRY = "When does the first ferry to Vorsa leave?"
MINUTES = [
    ("h1", "Board minutes"),
    ("p", "The board met on 3 May in the old customs house."),
    ("h2", "Costs"),
    ("table", [["Item", "Q3 2022", "Q3 2021"],
               ["Pier repairs", "14,250", "9,100"],
               ["Lantern oil", "860", "790"]]),
    ("p", "The meeting closed at noon after a vote on the budget."),
]
READS = ("qa reads text (.txt .md), PDF, Word (.docx), HTML (.html .htm) and images (.png .jpg "
         ".jpeg .tif .tiff, by OCR)")


def stored_chunks(index: Path) -> list[dict]:
    """Every chunk Chroma holds: its metadata and its text."""
    import chromadb

    got = chromadb.PersistentClient(path=str(index / "chroma")).get_collection("qa_chunks").get(
        include=["documents", "metadatas"])
    return [{**m, "text": t} for m, t in zip(got["metadatas"], got["documents"])]


def one_line(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text


# -- one ingest of a mixed folder, shared by the read-only tests ----------------------------
@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    docs = root / "docs"
    docs.mkdir()
    good_pdf = dm.text_pdf(HARBOUR)
    (docs / "aapl.pdf").write_bytes(dm.filing_excerpt())
    (docs / "harbour.pdf").write_bytes(good_pdf)
    (docs / "minutes.docx").write_bytes(dm.word_docx(MINUTES))
    (docs / "notes.txt").write_text("The orchard behind the harbour has 31 pear trees.\n")
    (docs / "locked.pdf").write_bytes(dm.encrypted_pdf(good_pdf))
    (docs / "scan.pdf").write_bytes(dm.scanned_pdf())
    (docs / "half.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    (docs / "blank.pdf").write_bytes(dm.empty_pages_pdf(10_000))
    (docs / "fake.docx").write_bytes(dm.fake_docx())
    (docs / "app.html").write_text(dm.SCRIPT_ONLY_HTML)
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (docs / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    (docs / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    (docs / ".hidden.txt").write_text("The hidden note says the vault code is 9911.\n")
    (docs / ".cache").mkdir()
    (docs / ".cache" / "inside.pdf").write_bytes(good_pdf)
    index = root / "ix"
    with QA(index, backend="extractive") as qa:
        report = qa.ingest(docs)
    return docs, index, report


@pytest.fixture
def mixed_qa(mixed):
    with QA(mixed[1], backend="extractive") as qa:
        yield qa


@pytest.mark.slow
def test_each_bad_document_gets_its_reason_and_the_good_ones_are_indexed(mixed):
    docs, _, report = mixed
    reasons = dict(report.skipped)
    expect = {
        "locked.pdf": "password protected",
        "half.pdf": "not a readable PDF (corrupt or truncated)",
        "blank.pdf": "no text layer",  # 10,000 empty pages: read, found empty, not a stall
        "fake.docx": "not a Word document",
        "app.html": "no text",
        "photo.png": "not a readable image (corrupt, truncated or not an image)",
    }
    for name, reason in expect.items():
        assert reasons[str(docs / name)].startswith(reason), (name, reasons.get(str(docs / name)))
    assert all(one_line(r) for r in reasons.values())
    assert sorted(report.added) == [str(docs / n) for n in
                                    ("aapl.pdf", "harbour.pdf", "minutes.docx", "notes.txt",
                                     "scan.pdf")]
    assert report.chunks > 0 and not report.updated and not report.removed


def test_other_types_are_skipped_naming_what_qa_reads_and_hidden_files_ignored(mixed, mixed_qa):
    docs, _, report = mixed
    reasons = dict(report.skipped)
    assert reasons[str(docs / "sheet.xlsx")] == f".xlsx files are not read ({READS})"
    assert reasons[str(docs / "old.doc")].startswith("old Word .doc format: save it as .docx")
    listed = report.added + report.unchanged + [p for p, _ in report.skipped]
    assert not [p for p in listed if "/." in p]  # .hidden.txt, .cache/inside.pdf
    assert len(report.skipped) == 8
    assert mixed_qa.stats()["sources"] == sorted(report.added)


@pytest.mark.slow
def test_pdf_answer_cites_the_page_and_verifies_against_it(mixed, mixed_qa):
    docs = mixed[0]
    answer = mixed_qa.ask(FERRY)
    assert not answer.refused and "7:15" in answer.text
    [cite] = answer.citations
    assert (cite.source, cite.page, cite.first, cite.last) == (str(docs / "harbour.pdf"), 2, 2, 2)
    assert cite.label == f"{docs / 'harbour.pdf'} p.2 L2"
    assert cite.quote == "The first ferry to Vorsa leaves at 7:15 every weekday."
    assert cite.to_dict()["page"] == 2 and cite.to_dict()["start_line"] == 2
    assert cite.quote.split("\n") == page_lines(docs / "harbour.pdf", 2)[cite.first - 1 : cite.last]
    retrieved = answer.to_dict()["retrieved"]
    assert retrieved and all(r["page"] for r in retrieved if r["source"].endswith(".pdf"))


@pytest.mark.slow
def test_real_10q_answer_cites_a_page_of_the_filing(mixed, mixed_qa):
    path = mixed[0] / "aapl.pdf"
    answer = mixed_qa.ask("What were Apple's total net sales?")
    assert not answer.refused and "Total net sales" in answer.text
    cite = answer.citations[0]
    assert cite.source == str(path) and cite.page >= 1
    # the statement's row ("Total net sales 82,959 ...") or the discussion of it both answer
    assert cite.quote.startswith("Total net sales")
    assert re.fullmatch(re.escape(str(path)) + r" p\.\d+ L\d+(-\d+)?", cite.label)
    assert cite.quote.split("\n") == page_lines(path, cite.page)[cite.first - 1 : cite.last]


def test_chunks_never_cross_a_page_and_hold_the_pages_lines(mixed):
    docs, index, _ = mixed
    chunks = stored_chunks(index)
    assert len(chunks) == len(chroma_rows(index, {}))
    for name in ("aapl.pdf", "harbour.pdf"):
        view = read_view(name, (docs / name).read_bytes())
        mine = [c for c in chunks if c["source"] == str(docs / name)]
        assert {c["page"] for c in mine} == set(range(1, len(view.pages) + 1)), name
        for c in mine:
            offset = sum(view.pages[: c["page"] - 1])
            assert c["page_offset"] == offset
            first, last = c["start_line"] - offset, c["end_line"] - offset
            assert 1 <= first <= last <= view.pages[c["page"] - 1], c
            assert c["text"].split("\n") == view.page(c["page"])[first - 1 : last]
    others = [c for c in chunks if not c["source"].endswith(".pdf")]
    assert others and all(c["page"] == 0 and c["page_offset"] == 0 for c in others)


@pytest.mark.slow
def test_docx_table_row_is_one_cited_line(mixed, mixed_qa):
    path = mixed[0] / "minutes.docx"
    answer = mixed_qa.ask("How much did the pier repairs cost in Q3 2022?")
    assert not answer.refused
    assert answer.text == "Pier repairs: 14,250, Q3 2022 [1][2]"  # the cell of the column asked
    cite, head = answer.citations  # the row, and its table's header row beside it
    assert head.quote == "Costs\n\nItem | Q3 2022 | Q3 2021"  # its title, its header row
    assert cite.source == str(path) and cite.page == 0
    assert cite.quote == "Pier repairs | 14,250 | 9,100"
    assert cite.label == f"{path}:L{cite.first}" and cite.to_dict()["page"] is None
    lines = page_lines(path, 0)
    assert lines[cite.first - 1] == cite.quote
    assert [x for x in lines if x] == [  # paragraphs and table rows in reading order
        "Board minutes", "The board met on 3 May in the old customs house.", "Costs",
        "Item | Q3 2022 | Q3 2021", "Pier repairs | 14,250 | 9,100", "Lantern oil | 860 | 790",
        "The meeting closed at noon after a vote on the budget."]


# -- replaced files, incremental re-ingest ------------------------------------------------
@pytest.mark.parametrize("replacement,reason", [
    # the cited page now says something else
    ([HARBOUR[0], ["Ferry timetable", "The first ferry to Vorsa leaves at 8:05 on weekdays."]],
     "file changed since it was ingested"),
    # the cited page is gone
    ([["Harbour report", "The harbour is closed for the winter."]],
     "file or lines no longer exist"),
], ids=["page-edited", "page-gone"])
def test_a_replaced_pdf_fails_verification_without_reingest(tmp_path, replacement, reason):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = docs / "harbour.pdf"
    pdf.write_bytes(dm.text_pdf(HARBOUR))
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        assert qa.ask(FERRY).citations[0].label.endswith("harbour.pdf p.2 L2")
        pdf.write_bytes(dm.text_pdf(replacement))
        answer = qa.ask(FERRY)
    assert "7:15" not in answer.text
    assert not any("7:15" in c.quote for c in answer.citations)
    assert reason in {d["reason"] for d in answer.debug["dropped"]}


def test_an_edit_to_another_page_leaves_a_pdf_citation_valid(tmp_path):
    """Verification re-reads the cited page only: page 1 changing does not touch page 2."""
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = docs / "harbour.pdf"
    pdf.write_bytes(dm.text_pdf(HARBOUR))
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        pdf.write_bytes(dm.text_pdf([["Harbour report", "The keeper counted 977 gulls.",
                                      "A storm is expected."], *HARBOUR[1:]]))
        answer = qa.ask(FERRY)
    assert [c.label for c in answer.citations] == [f"{pdf} p.2 L2"]


def test_reingest_of_pdf_and_docx_is_incremental(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf, word = docs / "harbour.pdf", docs / "minutes.docx"
    pdf.write_bytes(dm.text_pdf(HARBOUR))
    word.write_bytes(dm.word_docx(MINUTES))
    index = tmp_path / "ix"
    with QA(index, backend="extractive") as qa:
        first = qa.ingest(docs)  # a folder of only PDF and Word files
        assert sorted(first.added) == [str(pdf), str(word)] and not first.skipped
        assert first.summary().startswith("indexed 2 files")
        rows = chroma_rows(index, {})

        pdf.write_bytes(pdf.read_bytes())  # rewritten, same bytes
        again = qa.ingest(docs)
        assert sorted(again.unchanged) == [str(pdf), str(word)]
        assert again.chunks == 0 and not again.added and not again.updated
        assert chroma_rows(index, {}) == rows

        pdf.write_bytes(dm.text_pdf([*HARBOUR, ["Winter", "The harbour freezes in January."]]))
        word.write_bytes(dm.word_docx([*MINUTES, ("p", "A new crane arrives in October.")]))
        changed = qa.ingest(docs)
        assert sorted(changed.updated) == [str(pdf), str(word)] and changed.chunks > 0
        rows = chroma_rows(index, {})
        assert len(rows) == len({r[0] for r in rows}) == qa.stats()["chunks"]
        answer = qa.ask("When does the harbour freeze?")
        assert [c.label for c in answer.citations] == [f"{pdf} p.4 L2"]

        pdf.unlink()
        gone = qa.ingest(docs)
        assert gone.removed == [str(pdf)] and gone.unchanged == [str(word)]
        assert {r[1] for r in chroma_rows(index, {})} == {str(word)}
        assert qa.stats()["files"] == 1


# -- limits: long lines, long questions, slow files ---------------------------------------
CHUNK_CHARS = 4 * MAX_LINE_CHARS  # "a few thousand": far below a megabyte, whatever the input


def _recording_ingest(qa: QA, target: Path) -> list[str]:
    """Ingest, keeping every text handed to the embedder. Vectors are stand-ins: embedding
    5,000 chunks for real takes minutes on this machine; retrieval's keyword half and the line
    scoring, which the extractive answer rests on, stay real."""
    seen: list[str] = []

    def embed(texts: list[str]) -> list[list[float]]:
        seen.extend(texts)
        return [[1.0] + [0.0] * 383 for _ in texts]

    qa.embed = embed  # the instance attribute shadows the method for this ingest only
    try:
        qa.ingest(target)
    finally:
        del qa.embed
    return seen


@pytest.mark.slow
def test_a_five_mb_one_line_file_gives_bounded_chunks_and_a_short_answer(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    log = docs / "quay-log.txt"  # 90,000 sentences and not one line break
    log.write_text(" ".join(f"Locker {i} of the east quay holds crate {i * 7919 % 100000} of tea."
                            for i in range(91_000)))
    assert log.stat().st_size > 5_000_000 and "\n" not in log.read_text()
    with QA(tmp_path / "ix", backend="extractive") as qa:
        embedded = _recording_ingest(qa, docs)
        assert len(embedded) > 5_000 and max(map(len, embedded)) <= CHUNK_CHARS
        answer = qa.ask("Which crate of tea does locker 61234 of the east quay hold?")
    assert not answer.refused
    assert "Locker 61234 of the east quay holds crate 12046 of tea." in answer.text
    assert len(answer.text) < 3000  # one display line, not the 5 MB line
    [cite] = answer.citations
    assert cite.first > 1 and cite.label == f"{log}:L{cite.first}"
    assert page_lines(log, 0)[cite.first - 1] == cite.quote


@pytest.mark.slow
def test_a_five_mb_line_without_spaces_gives_bounded_chunks(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "blob.txt").write_text(("QmFzZTY0" * 700_000)[:5_000_000])
    with QA(tmp_path / "ix", backend="extractive") as qa:
        embedded = _recording_ingest(qa, docs)
    assert max(map(len, embedded)) <= CHUNK_CHARS


def test_an_over_long_question_is_a_one_line_error(tmp_path, mixed):
    question = "What does the harbour report say? " * 600
    assert len(question) > 20_000
    with QA(mixed[1], backend="extractive") as qa:
        with pytest.raises(InputError, match="the question is too long"):
            qa.ask(question)
    out = run_qa("ask", question, "--index", str(tmp_path / "ix"), "--backend", "extractive")
    assert out.returncode != 0 and not out.stdout
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: the question is too long")


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_extraction_time_limit_skips_a_slow_pdf_and_indexes_the_rest(tmp_path, monkeypatch, how):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(dm.AAPL, docs / "aapl.pdf")  # 28 pages cannot be read in a millisecond
    (docs / "notes.txt").write_text("The orchard behind the harbour has 31 pear trees.\n")
    options = {}
    if how == "keyword":
        options["extract_seconds"] = 0.001
    else:
        monkeypatch.setenv("QA_EXTRACT_SECONDS", "0.001")
    with QA(tmp_path / "ix", **options) as qa:
        report = qa.ingest(docs)
    reason = dict(report.skipped)[str(docs / "aapl.pdf")]
    assert one_line(reason) and "QA_EXTRACT_SECONDS" in reason and "limit" in reason
    assert report.added == [str(docs / "notes.txt")]


# -- the command line ---------------------------------------------------------------------
@pytest.mark.slow
def test_cli_lists_skipped_files_and_shows_the_page(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    good = dm.text_pdf(HARBOUR)
    (docs / "harbour.pdf").write_bytes(good)
    (docs / "locked.pdf").write_bytes(dm.encrypted_pdf(good))
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (docs / "notes.txt").write_text("The orchard behind the harbour has 31 pear trees.\n")
    index = str(tmp_path / "ix")
    out = run_qa("ingest", str(docs), "--index", index)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("indexed 2 files") and "(2 skipped," in lines[0]
    assert sorted(lines[1:]) == [
        f"skipped {docs / 'locked.pdf'}: password protected: qa cannot open encrypted PDFs",
        f"skipped {docs / 'photo.png'}: not a readable image (corrupt, truncated or not an image)",
    ]

    out = run_qa("ask", FERRY, "--json", "--backend", "extractive", "--index", index)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert [(c["source"], c["page"], c["start_line"], c["end_line"]) for c in got["citations"]] \
        == [(str(docs / "harbour.pdf"), 2, 2, 2)]
    assert all((r["page"] or 0) >= 1 if r["source"].endswith(".pdf") else r["page"] is None
               for r in got["retrieved"])

    out = run_qa("ask", FERRY, "--backend", "extractive", "--index", index)
    assert out.returncode == 0, out.stderr
    assert f'[1] {docs / "harbour.pdf"} p.2 L2  "The first ferry to Vorsa leaves at 7:15' \
        in out.stdout


@pytest.mark.slow
def test_a_python_script_without_a_main_guard_ingests_a_pdf(tmp_path):
    """The README's three-line script: the reader's child process must not run it again."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.pdf").write_bytes(dm.text_pdf(HARBOUR))
    script = tmp_path / "script.py"
    script.write_text(
        "from qa import QA\n"
        f"qa = QA({str(tmp_path / 'ix')!r}, backend='extractive')\n"
        f"print(qa.ingest({str(docs)!r}).summary())\n"
        f"print(qa.ask({FERRY!r}).citations[0].label)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("indexed 1 file") == 1  # once: the child did not run the script
    assert done.stdout.strip().endswith("harbour.pdf p.2 L2")


def test_files_deleted_from_a_folder_given_through_a_symlink_leave_the_index(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("Apples grow in the orchard.\n")
    (real / "b.txt").write_text("Bees live in the hive.\n")
    (tmp_path / "link").symlink_to(real)
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(tmp_path / "link")
        (real / "b.txt").unlink()
        report = qa.ingest(tmp_path / "link")
        assert report.removed == [str(tmp_path / "link" / "b.txt")]
        assert qa.stats()["sources"] == [str(tmp_path / "link" / "a.txt")]


def test_a_file_that_can_no_longer_be_read_leaves_the_index(tmp_path):
    """Its old chunks would be retrieved for every related question and fail verification."""
    docs = tmp_path / "docs"
    docs.mkdir()
    good = dm.text_pdf(HARBOUR)
    (docs / "harbour.pdf").write_bytes(good)
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        (docs / "harbour.pdf").write_bytes(dm.encrypted_pdf(good))
        report = qa.ingest(docs)
        source = str(docs / "harbour.pdf")
        assert report.skipped == [(source, "password protected: qa cannot open encrypted PDFs")]
        assert report.removed == [source] and qa.stats()["files"] == 0


def test_a_pdf_page_is_about_the_names_its_file_bears(tmp_path):
    """A filing names its company on the cover only; a table row on page 3 still answers a
    question about that company, and the answer may name it (the page context grounds it)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(dm.text_pdf([
        ["Quarterly report of Kestrel Shipping Ltd.", "Prepared for the shareholders."],
        ["Fleet", "Nine vessels sailed in the quarter."],
        ["Costs", "Harbour dues paid 4,310", "Fuel bought 12,775"],
    ]))
    (docs / "other.txt").write_text("Osprey Ferries paid no harbour dues this year.\n")
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        answer = qa.ask("What harbour dues did Kestrel Shipping pay?")
        assert not answer.refused, answer.debug.get("refused_because")
        assert answer.citations[0].label.endswith("report.pdf p.3 L2")
        refused = qa.ask("What harbour dues did Albatross Shipping pay?")
        assert refused.refused and "albatross" in refused.debug["refused_because"]


def test_a_file_named_another_way_is_not_indexed_twice(tmp_path, monkeypatch):
    """Duplicate chunks after re-ingest are a top complaint about RAG tools: "docs",
    "./docs" and the absolute path name the same files."""
    monkeypatch.chdir(tmp_path)
    Path("docs").mkdir()
    Path("docs/a.txt").write_text("Apples grow in the orchard.\n")
    with QA(tmp_path / "ix", backend="extractive") as qa:
        assert qa.ingest("docs").added == ["docs/a.txt"]
        for other in ("./docs", str(tmp_path / "docs"), "docs/../docs"):
            report = qa.ingest(other)
            assert report.unchanged == ["docs/a.txt"] and not report.added, other
        assert qa.stats()["files"] == 1 and qa.stats()["chunks"] == 1
        Path("docs/a.txt").unlink()
        assert qa.ingest("./docs").removed == ["docs/a.txt"]


KESTREL = [["Kestrel Shipping Ltd.", "Prepared for the shareholders."],
           ["Statement of harbour dues (in kroner)",
            *(f"Berth {n} dues paid {n * 37:,}" for n in range(1, 41)),
            "Kestrel Shipping | Q3 | 2"]]
BERTH = "Which harbour dues did Kestrel Shipping pay at berth 33?"


def test_a_pdf_passage_is_its_whole_page_once(tmp_path):
    """A table's heading and its rows land in different chunks of a long page; the passage
    retrieved is the whole page (heading, rows, footer), and a page is retrieved once."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(dm.text_pdf(KESTREL))
    with QA(tmp_path / "ix", backend="extractive", page_chunk_words=40) as qa:
        qa.ingest(docs)
        assert len({(c["start_line"], c["end_line"]) for c in stored_chunks(tmp_path / "ix")
                    if c["page"] == 2}) > 3  # the page is split into several chunks
        answer = qa.ask(BERTH)
    pages_seen = [(p.chunk.source, p.chunk.page) for p in answer.retrieved]
    assert len(pages_seen) == len(set(pages_seen))
    page = next(p.chunk for p in answer.retrieved if p.chunk.page == 2)
    assert page.lines() == page_lines(docs / "report.pdf", 2)
    assert page.start_line == page.page_offset + 1
    assert not answer.refused and answer.citations[0].page == 2


def _unalign_keywords(index: Path) -> None:
    """Make the index as an older qa left it: keyword rows numbered apart from their chunks."""
    import sqlite3

    db = sqlite3.connect(index / "manifest.sqlite3")
    rows = db.execute("SELECT text, id, context FROM keywords ORDER BY rowid DESC").fetchall()
    db.execute("DELETE FROM keywords")
    db.executemany("INSERT INTO keywords (rowid, text, id, context) VALUES (?, ?, ?, ?)",
                   [(n, *r) for n, r in enumerate(rows, 1)])  # in reverse: row 1 is the last
    db.execute("DELETE FROM meta WHERE key = 'keywords_rowid_is_chunk_rowid'")
    db.commit()
    db.close()


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "upgraded"])
def test_an_older_index_still_gives_whole_pages(tmp_path, read_only):
    """Keyword rows now share their chunk's row number (a page is found by lookup, not by
    scanning the table); an index from before is renumbered on open, or, opened read-only,
    joined the old way."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(dm.text_pdf(KESTREL))
    with QA(tmp_path / "ix", backend="extractive", page_chunk_words=40) as qa:
        qa.ingest(docs)
    _unalign_keywords(tmp_path / "ix")
    with QA(tmp_path / "ix", backend="extractive", read_only=read_only) as qa:
        answer = qa.ask(BERTH)
    page = next(p.chunk for p in answer.retrieved if p.chunk.page == 2)
    assert page.lines() == page_lines(docs / "report.pdf", 2)
    assert not answer.refused and answer.citations[0].page == 2


FOOTER = "Kestrel Shipping Ltd. | Q3 2023 Form 10-Q | {}"
FILING = [["Kestrel Shipping Ltd.", "Quarterly report on Form 10-Q",
           "The fleet grew to nine vessels this quarter.", FOOTER.format(1)],
          ["Costs", "Fuel bought in the quarter came to 12,775 tonnes.",
           "Harbour dues paid were 4,310 kroner.", FOOTER.format(2)],
          ["Outlook", "The board expects two new vessels next year.",
           "No dividend was declared.", FOOTER.format(3)]]


@pytest.mark.parametrize("question", [
    "What does Kestrel Shipping's Q3 2023 Form 10-Q say?",
    "What is in Kestrel Shipping's Q3 2023 10-Q?",
    "How much fuel did Kestrel Shipping buy according to its Q3 2023 Form 10-Q?",
])
def test_a_running_footer_is_shown_but_never_the_answer(tmp_path, question):
    """A filing's footer names its company, quarter and form on every page, so it once won
    as the answer to any question naming them (6 of 92 sec10q answers were a footer)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kestrel.pdf").write_bytes(dm.text_pdf(FILING))
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        answer = qa.ask(question)
    assert "| Q3 2023 Form 10-Q |" not in answer.text
    shown = [line for p in answer.retrieved for line in p.chunk.lines()]
    assert FOOTER.format(2) in shown  # still part of its page, as the reader sees it
