"""A question across documents: "How much fare revenue did Larkspur report in each quarter?"
is answered with the row of every one of Larkspur's reports, cited each in its own file, and
the answer says where nothing was found. A question about one report is not split, nor one
that names nothing a document could be told by."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import QA
from qa.ask.pipeline import Pipeline, default_stages
from qa.ask.spans import MAX_SPAN, spanned
from qa.ask.stages import Span

from . import docmaker as dm
from .conftest import index_of

QUARTERS = {"Q1": ("March 31", "4,210", "3,980"), "Q2": ("June 30", "4,655", "4,402"),
            "Q3": ("September 30", None, None)}


def report(company: str, quarter: str, fares: tuple, *, aside: str = "") -> bytes:
    """A quarterly report of a made ferry company: prose on the fleet and a table whose fare
    revenue row the third quarter's report lacks (it reports charters only)."""
    end, this, last = fares
    rows = [["", f"Three months ended {end}, 2024", f"Three months ended {end}, 2023"]]
    if this:
        rows.append(["Fare revenue", this, last])
    rows += [["Charter revenue", "812", "790"], ["Fuel costs", "(1,120)", "(1,045)"]]
    fleet = [("p", f"{company} {what} during the quarter, {where}.")
             for what in ("repainted three hulls", "renewed the engines of its oldest vessel",
                          "trained forty new deck hands", "agreed new berthing terms",
                          "added two sailings a day", "ordered two vessels")
             for where in ("at the yard on Rendle Point, which has served the fleet for "
                           "thirty years and employs sixty people from the islands",
                           "as the harbour board asked in its review of the eastern quay "
                           "and of the night moorings of the whole fleet")]
    return dm.word_docx([
        ("h1", f"{company} quarterly report, {quarter} 2024"),
        *fleet,
        ("p", f"{company} results of operations (in thousands of dollars)"),
        ("table", rows),
        *([("p", aside)] if aside else []),
    ])


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    files = {f"2024 {q} Larkspur.docx": report("Larkspur Ferries", q, v)
             for q, v in QUARTERS.items()}
    # a competitor's report names Larkspur once: it is not one of Larkspur's reports
    files["2024 Q2 Oakmere.docx"] = report(
        "Oakmere Ferries", "Q2", ("June 30", "9,999", "9,001"),
        aside="Larkspur Ferries cut its fares on the northern route in May.")
    return index_of(tmp_path_factory, "spans", files)


def test_a_figure_across_reports_is_stated_from_each_and_says_where_it_is_missing(index):
    with QA(index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("How much fare revenue did Larkspur Ferries report in each quarter?")
    assert not answer.refused, answer.debug.get("refused_because")
    assert "4,210" in answer.text and "4,655" in answer.text and "9,999" not in answer.text
    cited = {Path(c.source).name for c in answer.citations}
    assert {"2024 Q1 Larkspur.docx", "2024 Q2 Larkspur.docx"} <= cited
    assert "2024 Q2 Oakmere.docx" not in cited
    assert answer.coverage is not None
    assert [Path(s).name for s in answer.coverage.missing] == ["2024 Q3 Larkspur.docx"]
    assert answer.text.endswith("Found in 2 of 3 documents; nothing in 2024 Q3 Larkspur.docx.")
    assert answer.to_dict()["coverage"]["missing"] == list(answer.coverage.missing)


def test_a_question_about_one_report_is_not_split(index):
    with QA(index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("What was Larkspur Ferries' fare revenue in the Q2 2024 report?")
    assert answer.coverage is None and "4,655" in answer.text
    assert {Path(c.source).name for c in answer.citations} == {"2024 Q2 Larkspur.docx"}
    notes = {step["stage"]: step["note"] for step in answer.debug["trace"]}
    assert notes["span documents"] == "one document or none"


def test_a_pipeline_without_the_span_stage_states_one_report_s_row(index):
    question = "How much fare revenue did Larkspur Ferries report in each quarter?"
    with QA(index, backend="extractive", read_only=True) as qa:
        pipeline = Pipeline(qa, [s for s in default_stages() if not isinstance(s, Span)])
        *_, without = pipeline.stream(question, qa.settings.top_k)
    assert without.coverage is None and "Found in" not in without.text


FAMILY = ["2023 Q1 Acme.pdf", "2023 Q2 Acme.pdf", "2022 Q4 Acme.pdf", "2023 Q3 Acme.pdf"]


def by_name(family, share=1.0):
    return lambda names: {s: share for s in family} if names == ["Acme"] else {}


@pytest.mark.parametrize("question, expected", [
    # a quantifier over periods or documents: every document that names the company
    ("How did Acme's revenue change over time?", FAMILY),
    ("What did Acme's quarterly reports say about its debt, across the reported periods?",
     FAMILY),
    ("List Acme's cash for each reported period.", FAMILY),
    # the years it says narrow them to the documents whose names hold them
    ("What was Acme's cash in the first three quarters of 2023?", FAMILY[:2] + FAMILY[3:]),
    # named one by one
    ("Compare Acme's cash in the Q4 2022 and the Q2 2023 reports.", FAMILY[1:3]),
])
def test_the_documents_a_question_spans_are_those_naming_its_subject(question, expected):
    ids = ["Acme", "2023", "2022"]
    order = ["2022 Q4 Acme.pdf", "2023 Q1 Acme.pdf", "2023 Q2 Acme.pdf", "2023 Q3 Acme.pdf"]
    assert spanned(question, ids, by_name(FAMILY)) == [s for s in order if s in expected]


@pytest.mark.parametrize("question, ids, family", [
    ("What was Acme's cash in the Q2 2023 report?", ["Acme", "2023"], FAMILY),  # one named
    ("What was Acme's cash at the end of the first quarter?", ["Acme"], FAMILY),  # one period
    ("How did revenue change over time?", [], FAMILY),  # no name to tell documents by
    ("How did Acme's revenue change over time?", ["Acme"], FAMILY[:1]),  # one document
    ("How did Acme's revenue change over time?", ["Acme"],
     [f"{y} Q{q} Acme.pdf" for y in range(2019, 2024) for q in range(1, 5)][:MAX_SPAN + 1]),
])
def test_a_question_about_one_document_or_too_many_is_not_split(question, ids, family):
    assert spanned(question, ids, by_name(family)) == []


def test_a_document_that_names_the_subject_in_passing_is_not_one_of_its_documents():
    shares = {"2023 Q1 Acme.pdf": 0.9, "2023 Q2 Acme.pdf": 0.6, "2023 Q2 Globex.pdf": 0.04}
    found = spanned("How did Acme's revenue change over time?", ["Acme"],
                    lambda names: shares)
    assert found == ["2023 Q1 Acme.pdf", "2023 Q2 Acme.pdf"]


def test_files_are_named_by_what_tells_their_names_apart():
    """A question says "Q4 2022", never the ticker every one of the company's files holds."""
    family = ["2022 Q4 GBX.pdf", "2023 Q1 GBX.pdf", "2023 Q2 GBX.pdf"]
    found = spanned("Compare Acme's cash in Q4 2022 with Q2 2023.", ["Acme"], by_name(family))
    assert found == ["2022 Q4 GBX.pdf", "2023 Q2 GBX.pdf"]


def test_a_question_for_one_period_states_the_row_of_the_file_with_that_column(index):
    """Every report has a fare revenue row; "in the three months ended June 30, 2024" is the
    second quarter's column alone."""
    with QA(index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("What was Larkspur Ferries' fare revenue in the three months ended "
                        "June 30, 2024?")
    assert "4,655" in answer.text and "4,210" not in answer.text
    assert {Path(c.source).name for c in answer.citations} == {"2024 Q2 Larkspur.docx"}
