"""The document metrics (source files, facts, exact page quotes) and `qa eval` on real 10-Q PDFs.

Fact matching and the metrics run on hand-made rows; the end-to-end test evaluates qa and the
LlamaIndex baseline on one filing of the sec10q benchmark (read from ../shared, never copied
into the repo) with the extractive backend.
"""

import json
import shutil

import pytest

from qa.evaluation.dataset import Item, check_sources, load
from qa.evaluation.metrics import (
    DOCUMENT_METRICS,
    fact_in,
    facts_in_lines,
    numbers,
    quote_exact,
    score,
    source_hit,
    summarize,
)
from qa.ingest.readers import page_lines

from .conftest import ROOT

SEC10Q = ROOT.parent / "shared" / "benchmarks" / "sec10q"
AAPL = "2022 Q3 AAPL.pdf"
needs_sec10q = pytest.mark.skipif(not (SEC10Q / "docs" / AAPL).is_file(),
                                  reason="the sec10q benchmark is not in ../shared")


# -- fact matching ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fact,text,expected",
    [
        ("$82,959 million", "Total net sales 82,959 81,434 304,182 282,457", True),
        ("$82,959 million", "Total net sales 182,9590", False),  # inside a longer number
        ("$82,959 million", "Total net sales 82,9590", False),
        ("$82,959 million", "1,082,959 shares", False),
        ("$82,959 million", "net sales of $82,959.", True),  # sentence end is not a decimal
        ("$82,959 million", "net sales were 82959", True),  # thousands separators ignored
        ("26%", "Services grew 26% year over year", True),
        ("26%", "a rate of (26)", True),  # $, unit words and % are not required
        ("26%", "grew 26.5%", False),
        ("26%", "grew 126%", False),
        ("46.2 million", "46.2 million shares", True),
        ("46.2 million", "46.21 million shares", False),
        ("46.2 million", "46 million shares", False),
        ("$1.945 billion", "1.945", True),
        ("$2.294 billion", "Research and development 2,294 1,945", True),  # a table in millions
        ("$4.28 billion", "Data Center $4,284 million", True),  # rounded as the fact is
        ("$4.28 billion", "Data Center $4,294 million", False),
        ("$1.7 billion", "fiscal 2023", False),  # only numbers with thousands groups
        ("$1.7 billion", "11,700", False),
        ("7.5 million", "7,500 shares", True),
        ("12.5%", "the effective tax rate was 12.5%.", True),
        ("3.600%", "3.600% Notes due 2042", True),
        ("3.600%", "3.6% Notes", False),  # the number as written
        ("Cupertino", "Apple Inc., One Apple Park Way, CUPERTINO", True),  # no digit: text
        ("Apple Park", "apple   park way", True),
        ("Cupertino", "Sunnyvale", False),
    ],
)
def test_fact_in_a_line(fact, text, expected):
    assert fact_in(fact, text) is expected


def test_numbers_are_whole_and_without_separators():
    assert numbers("Products $ 63,355 $ 63,948 (10) 1.20 16,162,945") == [
        "63355", "63948", "10", "1.20", "16162945"]


def test_a_fact_is_found_within_one_line():
    facts = ["$82,959 million", "$117,154 million", "26%"]
    lines = ["Total net sales 82,959 81,434", "", "gross margin 26"]
    assert facts_in_lines(facts, lines) == ["$82,959 million", "26%"]
    assert facts_in_lines(["$1.2 billion"], ["1", ".2 billion"]) == []


# -- source_hit, fact recall, fact accuracy -------------------------------------------------------
def passage(source, quote, page=1, start=1):
    return {"source": source, "page": page, "start_line": start,
            "end_line": start + quote.count("\n"), "quote": quote}


SINGLE = Item("s", "Apple's total net sales in Q3 2022?", sources=[AAPL],
              facts=["$82,959 million", "$63,355 million"], type="Single-Doc Single-Chunk RAG")
MULTI = Item("m", "How did Apple's net sales change?",
             sources=["2023 Q1 AAPL.pdf", "2023 Q2 AAPL.pdf"],
             facts=["$117,154 million", "$94,836 million"], type="Multi-Doc RAG")
NO_FACTS = Item("n", "What drove the gross margin?", sources=["2023 Q3 AAPL.pdf"],
                type="Single-Doc Multi-Chunk RAG")


def test_source_hit_needs_a_named_file_in_the_first_five():
    other = [passage("docs/2023 Q3 NVDA.pdf", "x")] * 5
    assert not source_hit(other, [AAPL])
    assert source_hit([*other[:4], passage(f"docs/{AAPL}", "x")], [AAPL])
    assert not source_hit([*other, passage(AAPL, "x")], [AAPL])  # rank 6 is too late
    assert source_hit([passage("2023 Q2 AAPL.pdf", "x")], MULTI.sources)


def test_source_hit_fact_recall_and_fact_accuracy_on_synthetic_rows():
    outputs = [
        {  # SINGLE: the right file at rank 2, one of two facts retrieved and cited, stated
            "answer": "Total net sales were $82,959 million [L18].", "refused": False,
            "citations": [passage(AAPL, "Total net sales 82,959 81,434", page=4, start=18)],
            "retrieved": [passage("2022 Q3 NVDA.pdf", "Revenue 6,704"),
                          passage(AAPL, "Total net sales 82,959 81,434", page=4, start=18)]},
        {  # MULTI: both facts retrieved (one per file), none cited, refused
            "answer": "The documents don't say.", "refused": True, "citations": [],
            "retrieved": [passage("2023 Q1 AAPL.pdf", "Total net sales 117,154 123,945"),
                          passage("2023 Q2 AAPL.pdf", "Total net sales 94,836 97,278")]},
        {  # NO_FACTS: graded on its source file only, which was missed
            "answer": "Costs rose [1].", "refused": False,
            "citations": [passage("2023 Q3 NVDA.pdf", "Costs rose.")],
            "retrieved": [passage("2023 Q3 NVDA.pdf", "Costs rose.")]},
    ]
    items = [SINGLE, MULTI, NO_FACTS]
    rows = [score(i, o) for i, o in zip(items, outputs)]
    assert [r["source_hit@5"] for r in rows] == [True, True, False]
    assert rows[0]["facts_retrieved@5"] == ["$82,959 million"]
    assert rows[0]["facts_cited"] == ["$82,959 million"] and rows[0]["fact_stated"] is True
    assert rows[1]["facts_retrieved@5"] == MULTI.facts and rows[1]["facts_cited"] == []
    assert rows[1]["fact_stated"] is False  # a refusal states nothing
    assert rows[2]["facts_retrieved@5"] is None and rows[2]["fact_stated"] is None
    for r in rows:  # no answer strings and no gold lines: those metrics do not apply
        assert r["correct"] is None and r["citation_recall"] is None and r["hit@5"] is None

    s = summarize(items, rows)
    assert s["source_hit@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["source_hit@5_single_doc"] == 0.5  # SINGLE hit, NO_FACTS missed
    assert s["fact_recall@5"] == 0.75  # 3 of the 4 facts, pooled over questions
    assert s["fact_recall_cited"] == 0.25
    assert s["fact_accuracy"] == 0.5  # over the two questions with facts
    assert s["answer_accuracy"] is None and s["citation_precision"] is None
    assert s["wrong_refusal_answerable"] == pytest.approx(1 / 3, abs=1e-4)


def test_an_answer_states_a_fact_only_as_a_whole_number_outside_markers():
    item = Item("f", "?", facts=["$18 million"], sources=[AAPL])
    out = {"refused": False, "citations": [], "retrieved": []}
    assert score(item, {**out, "answer": "It repurchased $18 million."})["fact_stated"]
    assert not score(item, {**out, "answer": "It repurchased $18.0 billion."})["fact_stated"]
    assert not score(item, {**out, "answer": "Repurchases rose [18]."})["fact_stated"]



def test_an_answer_across_documents_states_all_facts_only_with_one_from_each():
    out = {"refused": False, "citations": [], "retrieved": []}
    both = "Total net sales: 117,154 million [1]\nTotal net sales: 94,836 million [2]"
    one = "Total net sales: 117,154 million [1]"
    rows = [score(MULTI, {**out, "answer": a}) for a in (both, one)]
    assert [r["facts_all_stated"] for r in rows] == [True, False]
    assert [r["fact_stated"] for r in rows] == [True, True]
    assert summarize([MULTI, MULTI], rows)["fact_all_stated"] == 0.5
    refused = score(MULTI, {**out, "answer": both, "refused": True})
    assert refused["facts_all_stated"] is False

# -- citations quote the file exactly --------------------------------------------------------------
def test_a_text_citation_must_quote_the_file_lines(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("one\ntwo\nthree\n", encoding="utf-8")
    cite = {"source": "a.txt", "page": None, "start_line": 2, "end_line": 3}
    assert quote_exact({**cite, "quote": "two\nthree"}, path)
    assert not quote_exact({**cite, "quote": "two\nthree "}, path)
    assert not quote_exact({**cite, "end_line": 4, "quote": "two\nthree"}, path)
    assert not quote_exact({**cite, "quote": "two\nthree"}, tmp_path / "gone.txt")

    item = Item("q", "?", ["two"], source="a.txt")
    out = {"answer": "two", "refused": False, "retrieved": [],
           "citations": [{**cite, "quote": "two\nthree"}, {**cite, "quote": "2\n3"}]}
    row = score(item, out, locate=lambda source: tmp_path / source)
    assert (row["cited_exact"], row["cited_spans"]) == (1, 2)
    assert summarize([item], [row])["cited_page_exact"] == 0.5


@needs_sec10q
def test_a_pdf_citation_must_quote_its_page_lines():
    path = SEC10Q / "docs" / AAPL
    lines = page_lines(path, 4)
    n = next(i for i, line in enumerate(lines, 1) if line.startswith("Total net sales"))
    cite = {"source": AAPL, "page": 4, "start_line": n, "end_line": n + 1,
            "quote": "\n".join(lines[n - 1 : n + 1])}
    assert "82,959" in cite["quote"]
    assert quote_exact(cite, path)
    assert not quote_exact({**cite, "page": 5}, path)  # the same line numbers, another page
    assert not quote_exact({**cite, "page": 999}, path)
    assert not quote_exact({**cite, "start_line": n + 1, "end_line": n + 2}, path)


# -- the benchmark itself --------------------------------------------------------------------------
@needs_sec10q
def test_the_whole_benchmark_loads_and_its_sources_are_in_the_corpus():
    dataset = SEC10Q / "questions.jsonl"
    items = load(dataset)
    check_sources(items, SEC10Q / "docs", dataset)
    assert len(items) == 116 and all(i.answerable and not i.answers for i in items)
    assert sum(bool(i.facts) for i in items) == 74
    assert all(i.sources and i.type for i in items)
    assert {i.single_doc for i in items} == {True, False}


@pytest.fixture(scope="module")
def sec10q_run(tmp_path_factory):
    """qa and the baseline on one 28-page filing and the two questions about it alone."""
    from qa.evaluation import run

    tmp = tmp_path_factory.mktemp("sec10q")
    corpus = tmp / "docs"
    corpus.mkdir()
    shutil.copy(SEC10Q / "docs" / AAPL, corpus / AAPL)
    rows = [json.loads(line) for line in (SEC10Q / "questions.jsonl").open(encoding="utf-8")]
    picked = [r for r in rows if r["sources"] == [AAPL]]  # cash flow, inventory levels
    assert len(picked) == 2
    dataset = tmp / "subset.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    out = tmp / "out"
    summary = run(dataset, corpus=corpus, backend="extractive", compare="baseline", out=out,
                  progress=False)
    return summary, out


@pytest.mark.slow
@needs_sec10q
def test_eval_on_pdfs_measures_sources_facts_and_exact_page_quotes(sec10q_run):
    summary, out = sec10q_run
    assert summary["questions"] == 2
    for system in ("metrics", "baseline"):
        m = summary[system]
        for metric in DOCUMENT_METRICS:
            assert isinstance(m[metric], float), (system, metric)
        assert m["source_hit@5"] == 1.0  # one file in the corpus
        assert m["answer_accuracy"] is None  # no answer strings in this dataset
    assert summary["metrics"]["cited_page_exact"] == 1.0  # qa quotes the PDF's page lines
    assert summary["systems"]["baseline"]["documents"] == 28  # pypdf: one per page
    by_type = summary["by_type"]
    assert set(by_type) == {"Single-Doc Single-Chunk RAG"}
    assert set(by_type["Single-Doc Single-Chunk RAG"]["systems"]) == {"qa", "baseline"}

    report = (out / "report.md").read_text(encoding="utf-8")
    for metric in ("source_hit@5", "fact_recall@5", "fact_recall_cited", "fact_accuracy",
                   "cited_page_exact"):
        assert f"| {metric} |" in report
    assert "## By question type" in report


@needs_sec10q
@pytest.mark.slow
def test_eval_rows_on_pdfs_name_pages_and_keep_scores_not_passage_text(sec10q_run):
    _, out = sec10q_run
    rows = [json.loads(line) for line in (out / "results.jsonl").open(encoding="utf-8")]
    assert [r["system"] for r in rows] == ["qa"] * 2 + ["baseline"] * 2
    for r in rows:
        assert r["gold"]["sources"] == [AAPL] and r["gold"]["facts"]
        assert isinstance(r["facts_retrieved@5"], list) and isinstance(r["source_hit@5"], bool)
        for p in r["retrieved"]:
            assert p["source"] == AAPL and 1 <= p["page"] <= 28 and "quote" not in p
    cited = [c for r in rows if r["system"] == "qa" for c in r["citations"]]
    assert cited, "qa cited nothing: cited_page_exact was not exercised"
    for c in cited:  # what the metric checks, checked here directly
        lines = page_lines(SEC10Q / "docs" / AAPL, c["page"])
        assert c["quote"] == "\n".join(lines[c["start_line"] - 1 : c["end_line"]])
