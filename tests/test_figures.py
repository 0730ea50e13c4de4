"""A question that asks for a figure is answered with the line that states it.

A table row is mostly numbers: its embedding is far from the question's, so the prose about
the figure is the best-supported line. These tests show that on their own documents (the
prose wins on support) and that the answer still quotes the row; then attack the rule with
wording it was not written on, and with questions that ask for no figure.
"""

import pytest

from qa import QA
from qa.ask.figures import (
    answer_lines,
    asks_for_figure,
    figures,
    named_row_lines,
    states_figure,
)
from qa.ask.support import score_lines

from . import docmaker as dm
from .chat_server import ChatServer
from .conftest import index_of

SALES_ROW = "Total net sales 14,380 14,745"
SERVICES_ROW = "Services 5,140 4,630"
PROSE = ("Total net sales decreased compared with the second quarter of 2022, as lower sales "
         "of hardware were partially offset by higher sales of services.")
SIGNED = "Signed for Acme Corp. by Dana Whitfield, Chief Financial Officer"


def filing() -> bytes:
    footer = "Acme Corp. | Q2 2023 Form 10-Q | {}"
    return dm.text_pdf([
        ["Acme Corp.", "Management's discussion and analysis of results",
         PROSE,
         "Hardware sales fell as customers delayed upgrades; services grew with subscriptions.",
         "The company expects demand for hardware to recover in the second half of the year.",
         SIGNED, footer.format(1)],
        ["Acme Corp.", "CONDENSED STATEMENTS OF OPERATIONS (In millions)",
         "Three Months Ended July 1, 2023 and June 25, 2022",
         "Hardware 9,240 10,115", SERVICES_ROW, SALES_ROW,
         "Cost of sales 8,010 8,402", "Gross margin 6,370 6,343",
         "Research and development 1,215 1,102", footer.format(2)],
    ])


@pytest.fixture(scope="module")
def filing_index(tmp_path_factory):
    return index_of(tmp_path_factory, "figures", {"acme-10q.pdf": filing()})


def ask(index, question, **options):
    with QA(index, backend="extractive", read_only=True, **options) as qa:
        answer = qa.ask(question)
        ranked = score_lines(question, answer.retrieved, qa.embed_lines)
    return answer, ranked


def test_the_row_is_quoted_though_the_prose_is_better_supported(filing_index):
    answer, ranked = ask(filing_index, "What were Acme's total net sales in the quarter?")
    assert ranked[0].text == PROSE  # on support alone, the prose about the figure wins
    assert not answer.refused and "14,380" in answer.text
    # the question says the row's whole label: the row alone is the answer
    assert [(c.page, c.quote) for c in answer.citations] == [(2, SALES_ROW)]


def test_a_row_named_in_part_comes_first(filing_index):
    """"development" names the row in part; a second line may follow, if it states a figure
    and verification finds it related to the question."""
    answer, _ = ask(filing_index, "How much did Acme spend on development?",
                    min_answerability=0.0)
    quotes = [c.quote for c in answer.citations]
    assert quotes[0] == "Research and development 1,215 1,102"
    assert all(figures(q) for q in quotes[1:])


@pytest.mark.parametrize("question, row", [
    # wordings the rule was not written on
    ("How much did Acme bring in from services?", SERVICES_ROW),
    ("Tell me the research and development spending of Acme.",
     "Research and development 1,215 1,102"),
    ("What gross margin did Acme report?", "Gross margin 6,370 6,343"),
])
def test_other_wordings_get_the_row_they_name(filing_index, question, row):
    """Which line is quoted, whatever the refusal gate would say of these (tested elsewhere)."""
    answer, _ = ask(filing_index, question, min_answerability=0.0)
    assert not answer.refused
    assert [c.quote for c in answer.citations][0] == row


def test_a_question_for_no_figure_keeps_the_best_line(filing_index):
    answer, _ = ask(filing_index, "Who signed the report for Acme?")
    assert not asks_for_figure("Who signed the report for Acme?")
    assert [c.quote for c in answer.citations] == [SIGNED]


@pytest.mark.parametrize("question, labels, expected", [
    ("How much did Acme spend?", [], True),  # says it asks for a quantity
    ("What percentage of its staff work in Europe?", [], True),
    ("What were Acme's net accounts receivable?", ["Accounts receivable, net"], True),
    ("How have Acme's inventory levels changed?", ["Inventories", "Cash"], True),
    # a word of a label is not the label, and prose with no table asks for no figure
    ("Who audited Acme's accounts?", ["Accounts receivable, net"], False),
    ("What did the city's mayor announce?", [], False),
    ("Who approved Acme's accounts payable?", ["Accounts payable"], False),  # a person
])
def test_a_question_asks_for_a_figure_by_its_words_or_by_a_table_s_row(question, labels,
                                                                       expected):
    assert asks_for_figure(question, labels) is expected


def test_a_figure_the_documents_do_not_hold_is_no_table_row(filing_index):
    """Nothing in the filing counts employees: no row of figures may stand in for it."""
    answer, _ = ask(filing_index, "How many employees did Acme have at the end of the quarter?")
    assert answer.refused or not any(figures(c.quote) for c in answer.citations)


def test_years_and_page_numbers_are_no_figures():
    assert figures("Three Months Ended July 1, 2023 and June 25, 2022") == []
    assert figures("Acme Corp. | Q2 2023 Form 10-Q | 2") == []
    assert figures("Total net sales $ 82,959 $ 81,434 2 % $ 304,182") == [
        "82,959", "81,434", "2", "304,182"]
    assert figures("up 279% from a year ago, $14.51 billion") == ["279", "14.51", "billion"]
    assert figures("nine nations share the basin") == ["nine"]


def test_a_question_asking_for_nothing_measured_quotes_one_line():
    from qa.ask.support import ScoredLine

    lines = [ScoredLine("a.txt", 1, "Macron ruled out sending troops in 2024.", 0.9),
             ScoredLine("a.txt", 2, "Troops 4,000 3,500", 0.5)]
    assert answer_lines("Who ruled out sending troops?", lines) == lines[:1]
    assert answer_lines("How many troops were sent?", lines) == [lines[1]]


def test_an_llm_is_shown_the_row_first(filing_index):
    """With two prompt lines, the row the question names is among them although two prose
    lines support the question better."""
    question = "What were Acme's total net sales in the quarter?"
    reply = "Acme's total net sales were 14,380 [L{n}]."
    with QA(filing_index, read_only=True) as qa:
        chunk = next(p.chunk for p in qa.retrieve(question, k=10) if SALES_ROW in p.chunk.lines())
    row_line = chunk.start_line + chunk.lines().index(SALES_ROW)  # the file's numbering
    with ChatServer(lambda i, body: (200, reply.format(n=row_line), 0.0)) as server, \
            QA(filing_index, read_only=True, backend="openai", openai_base_url=server.url,
               model="test-model", timeout=5.0, max_retries=0, prompt_lines=2) as qa:
        answer = qa.ask(question)
    prompt = server.requests[0]["messages"][1]["content"]
    assert f"[L{row_line}] {SALES_ROW}" in prompt
    assert not answer.refused and answer.text.startswith("Acme's total net sales were 14,380")
    assert [c.quote for c in answer.citations] == [SALES_ROW]


def test_item_numbers_and_contents_pages_are_no_figures():
    assert figures("101 The following financial statements from the Quarterly Report") == []
    assert figures("3.2 Amended and Restated Bylaws of Amazon.com, Inc.") == []
    assert figures("Item 2. Management's Discussion and Analysis of Results of Operations 23") \
        == []
    assert figures("Total 842") == ["842"]  # a short row keeps its one figure


def test_an_abbreviation_the_documents_define_asks_for_its_words():
    from qa.ask.figures import expansions, matching_rows
    from qa.ask.support import ScoredLine
    from qa.text import content_terms

    lines = [
        ScoredLine("q.pdf", 1, "The growth in research and development (“R&D”) expense was "
                   "driven by headcount.", 0.6),
        ScoredLine("q.pdf", 2, "Selling, general and administrative 5,973 6,012", 0.3),
        ScoredLine("q.pdf", 3, "Research and development 7,442 6,797", 0.3),
    ]
    assert expansions([s.text for s in lines]) == {"r&d": content_terms("research development")}
    assert matching_rows("How much did Apple spend on R&D?", lines) == [lines[2]]
    # a word that merely holds the letters asks for nothing
    assert matching_rows("How much did the new laws on R and D cost?", lines) == []


def test_a_row_that_fails_verification_gives_way_to_the_next_lines(tmp_path):
    """The row was edited on disk after ingest: quoting it would cite what the file no longer
    says. The answer falls back on lines that still verify instead of refusing."""
    doc = tmp_path / "docs" / "acme.txt"
    doc.parent.mkdir()
    lines = ["Acme Corp. quarterly report.",
             "Hardware sales fell as customers delayed upgrades; services grew.",
             "Revenue (in millions) for the quarter and the year before:",
             "Hardware 9,240 10,115", "Services 5,140 4,630"]
    doc.write_text("\n".join(lines) + "\n")
    question = "How large was Acme's hardware revenue?"
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(doc.parent)
        assert "Hardware 9,240 10,115" in [c.quote for c in qa.ask(question).citations]
        doc.write_text("\n".join(lines).replace("9,240", "9,420") + "\n")
        answer = qa.ask(question)
    assert not answer.refused and answer.citations
    quotes = [c.quote for c in answer.citations]
    assert all(q in lines and "9,240" not in q for q in quotes)


@pytest.mark.parametrize("question, row", [
    # the fitted score (SQuAD prose) refuses each: a bare row is far from the question
    ("How much did Acme spend on development?", "Research and development 1,215 1,102"),
    ("How much did Acme bring in from services?", SERVICES_ROW),
    ("What was Acme's cost of sales?", "Cost of sales 8,010 8,402"),
    ("How large was Acme's hardware revenue?", "Hardware 9,240 10,115"),
])
def test_a_row_the_question_names_is_answered_though_the_fitted_score_refuses(
        filing_index, question, row):
    answer, _ = ask(filing_index, question)
    assert answer.debug["answerability"] < 0.5  # QA_MIN_ANSWERABILITY
    assert not answer.refused and [c.quote for c in answer.citations][0] == row


def test_a_row_of_another_company_answers_nothing(tmp_path):
    """Globex's filing has the row Acme's lacks; the question is about Acme: refused."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "acme-10q.pdf").write_bytes(filing())
    (docs / "globex-10q.txt").write_text(
        "Globex Inc. quarterly report.\nAdvertising 310 250\nHeadcount 1,200 1,150\n")
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        assert qa.ask("How much did Globex spend on advertising?").citations[0].quote == \
            "Advertising 310 250"
        answer = qa.ask("How much did Acme spend on advertising?")
    assert not any("Advertising" in c.quote or "globex" in c.source for c in answer.citations)


@pytest.fixture(scope="module")
def quarterly_index(tmp_path_factory):
    """Three quarterly reports of Acme, each with its sales table and a margin table."""
    root = tmp_path_factory.mktemp("quarters")
    docs = root / "docs"
    docs.mkdir()
    for quarter, sales, services in (("Q1", "14,380 14,745", "5,140 4,630"),
                                     ("Q2", "13,910 14,380", "5,320 5,140"),
                                     ("Q3", "15,020 13,910", "5,610 5,320")):
        (docs / f"2023 {quarter} acme.txt").write_text("\n".join([
            f"Acme Corp. report for {quarter} 2023.",
            "Demand for hardware was uneven while subscriptions kept growing.",
            "Net sales by category (in millions), this quarter and the one before:",
            f"Total net sales {sales}", f"Services {services}",
            "Gross margin percentage by category:", "Services 71.0 % 72.6 %",
            "Hardware 35.2 % 36.1 %"]) + "\n")
    with QA(root / "ix") as qa:
        qa.ingest(docs)
    return root / "ix"


def test_a_question_over_the_quarters_quotes_each_reports_row(quarterly_index):
    answer, _ = ask(quarterly_index, "How have Acme's total net sales changed over the year?")
    rows = {(c.source.rsplit("/", 1)[-1], c.quote) for c in answer.citations}
    assert rows == {("2023 Q1 acme.txt", "Total net sales 14,380 14,745"),
                    ("2023 Q2 acme.txt", "Total net sales 13,910 14,380"),
                    ("2023 Q3 acme.txt", "Total net sales 15,020 13,910")}


@pytest.mark.parametrize("question, first", [
    # an amount is asked for: the row of amounts, not the margin row of the same label
    ("How much did services bring Acme in the Q3 2023 report?", "Services 5,610 5,320"),
    ("What percentage margin did Acme's services earn in its Q1 2023 report?",
     "Services 71.0 % 72.6 %"),
])
def test_the_row_asked_for_by_other_words_and_units(quarterly_index, question, first):
    answer, _ = ask(quarterly_index, question)
    assert not answer.refused and answer.citations[0].quote == first


def test_a_sentence_with_figures_is_no_table_row():
    """Found on squad2-dev: a sentence whose first words the question says read as a row
    ("The plague of" 1576-77 ... 50,000) and was quoted alone, over the sentence that answers.
    A row's values are figures, with no more words than figures."""
    from qa.ask.figures import matching_rows
    from qa.ask.support import ScoredLine

    question = "How many times did plague occur in Venice?"
    prose = [ScoredLine("b.txt", 1, "Plague occurred in Venice 22 times between 1361 and 1528.",
                        0.8),
             ScoredLine("b.txt", 2, "The plague of 1576–77 killed 50,000 in Venice, almost a "
                        "third of the population.", 0.7)]
    assert matching_rows(question, prose) == []
    assert [s.line for s in answer_lines(question, prose)] == [1, 2]
    table = ScoredLine("b.txt", 3, "Plague outbreaks in Venice 22 14 (in 1361-1528, 1600-1700)",
                       0.4)
    assert matching_rows(question, [*prose, table]) == [table]


INVENTORY_ROW = "Inventories 7,351 4,946"


def inventory_filing() -> bytes:
    """24 pages of prose about inventory and the supply chain, and a balance sheet whose one
    row answers: a page of numbers that retrieval ranks below all of them, beyond the pages
    it reads line by line (``RERANK_POOL`` times ``top_k``)."""
    footer = "Acme Corp. | Q3 2023 Form 10-Q | {}"
    topics = [f"{region} {partner}" for region in ("northern", "southern", "eastern", "western")
              for partner in ("component suppliers", "contract manufacturers", "freight carriers",
                              "logistics partners", "regional warehouses", "retail partners")]
    prose = [["Acme Corp.", f"Supply chain: {topic}",
              f"Inventory levels at our {topic} reflect how the supply chain managed demand.",
              f"The company works with its {topic} to keep inventory levels close to demand.",
              "Supply chain management and inventory planning remain a focus of the company.",
              footer.format(n + 1)] for n, topic in enumerate(topics)]
    sheet = ["Acme Corp.", "CONDENSED BALANCE SHEETS (In millions)",
             "July 1, 2023 and September 24, 2022", "Cash 28,408 23,646",
             "Accounts receivable, net 19,549 28,184", INVENTORY_ROW,
             "Vendor non-trade receivables 19,637 32,748", "Total current assets 122,659 135,405",
             footer.format(len(prose) + 1)]
    return dm.text_pdf([*prose, sheet])


@pytest.fixture(scope="module")
def inventory_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("inventory")
    (root / "docs").mkdir()
    (root / "docs" / "acme-10q.pdf").write_bytes(inventory_filing())
    (root / "docs" / "globex.txt").write_text(
        "Globex Inc. quarterly report.\nInventories 910 870\nPatents 12 10\n")
    with QA(root / "ix") as qa:
        qa.ingest(root / "docs")
    return root / "ix"


@pytest.mark.parametrize("question", [
    "How have Acme's inventory levels changed, and what does it say of its supply chain?",
    "How much inventory did Acme keep across its supply chain?",
])
def test_a_row_the_question_names_is_found_on_a_page_retrieval_missed(inventory_index,
                                                                      question):
    with QA(inventory_index, read_only=True) as qa:
        top = qa.retrieve(question)
    assert not any(INVENTORY_ROW in p.chunk.text for p in top)  # retrieval alone misses it
    answer, _ = ask(inventory_index, question)
    assert not answer.refused and answer.citations[0].quote == INVENTORY_ROW
    assert answer.citations[0].page == 25
    assert any(INVENTORY_ROW in p.chunk.text for p in answer.retrieved)  # among the sources


def test_a_looked_up_row_is_of_the_company_asked_about(inventory_index):
    answer, _ = ask(inventory_index, "How have Globex's inventory levels changed?")
    assert [c.quote for c in answer.citations][:1] == ["Inventories 910 870"]
    acme, _ = ask(inventory_index, "How much inventory did Acme keep across its supply chain?")
    assert all("globex" not in c.source for c in acme.citations)


def test_a_row_naming_only_a_measure_is_not_looked_up():
    """"Cash", "Total revenues", "expenses" head rows of many tables: a question about cash
    flows or revenue names none of them in particular."""
    from qa.ask.figures import asked_terms, table, whole_rows
    from qa.ask.support import ScoredLine

    lines = [ScoredLine("a.pdf", n, text, 0.0) for n, text in enumerate(
        ["Cash 28,408 23,646", "Total revenues 1,000 900", "expenses 622 592",
         INVENTORY_ROW, "Research and development 1,215 1,102"])]
    for question, found in [
        ("What cash flows and total revenues and expenses were reported?", []),
        ("How did inventory and cash change?", [INVENTORY_ROW]),
        ("How much went to research and development?", ["Research and development 1,215 1,102"]),
    ]:
        rows = whole_rows(question, asked_terms(question, lines), [table(lines)], specific=True)
        assert [s.text for s in rows] == found


def test_units_and_guesses_are_no_figures():
    assert figures("Net sales information is as follows (in millions):") == []
    assert figures("shares, which are reflected in thousands") == []
    assert figures("Thousands of customers wrote in") == []
    assert figures("a million units shipped") == ["million"]


def test_a_rate_row_without_its_percent_sign_follows_the_amounts():
    """A table prints "%" on its first row only: "AWS 27 12 32 13" is growth."""
    from qa.ask.support import ScoredLine

    growth = ScoredLine("a.pdf", 1, "AWS 27 12 32 13", 0.5)
    amounts = ScoredLine("a.pdf", 2, "AWS 20,538 23,059 58,718 66,553", 0.4)
    assert answer_lines("What was the revenue of the AWS segment?", [growth, amounts])[0] \
        is amounts
    interest = ScoredLine("a.pdf", 3, "Interest income 108 611", 0.5)  # in millions
    assert answer_lines("How much interest income was there?", [interest, amounts]) == \
        [interest]


def test_a_row_named_whole_comes_before_a_total_named_in_part():
    """"The total revenue from its tractor sales" asks for the tractors row: the table's
    "Total net sales" shares two of the question's words, and "tractor" only one, yet the
    question says the tractors row whole and the total only in part. Another table's "Total"
    names only a measure, and is not quoted beside the row that names a thing."""
    from qa.ask.support import ScoredLine

    lines = [ScoredLine("f.pdf", n, text, 0.5) for n, text in enumerate([
        "Tractors $ 1,204 $ 1,150", "Harvesters $ 860 $ 790",
        "Total net sales $ 2,064 $ 1,940", "Total $ 3,310 $ 12 $ (95)",  # another table
        "Total net sales grew 6% on tractor demand.",
        "Tractor sales rose on dealer orders.", "Tractor demand was strong."], 1)]
    question = "What was the total revenue from the company's tractor sales last quarter?"
    assert [s.text.split()[0] for s in answer_lines(question, lines)] == ["Tractors"]
    assert answer_lines("What were total net sales?", lines)[0].text.startswith("Total net")


def test_a_total_of_another_table_is_not_the_total_asked_for():
    """"Total" says what of nothing: under "Warranty claims" it is their total, not the
    total revenue a question asks for, though the question says "total"; nor is a "Total"
    line read without its table. The total of the table headed by what is asked is named
    whole."""
    from qa.ask.support import ScoredLine
    from qa.types import Cell, Row

    def row(file: str, label: str, values: tuple[str, str], title: str, section: str = ""):
        cells = tuple(Cell(v, ("Year Ended", y)) for v, y in zip(values, ("2025", "2024")))
        return ScoredLine(file, 3, f"{label} {' '.join(values)}", 0.5,
                          row=Row(3, label, cells, title=title, section=section))

    claims = row("m.pdf", "Total", ("412", "388"), "Warranty claims by region")
    revenue = row("n.pdf", "Total", ("7,020", "6,400"), "Statements of operations", "Revenue:")
    prose = ScoredLine("m.pdf", 12, "Revenue grew on strong orders for mowers.", 0.6)
    question = "How has the company's total revenue changed from year to year?"
    assert named_row_lines(question, [claims, prose]) == []
    assert named_row_lines(question, [claims, revenue, prose])[0] is revenue
    assert named_row_lines("What were total warranty claims?", [claims, prose]) == [claims]
    bare = ScoredLine("m.pdf", 20, "Total 7,020 6,400", 0.5)
    assert named_row_lines(question, [bare, prose]) == []


def test_a_row_of_a_table_of_shares_follows_the_amounts_and_is_not_found_for_them():
    """A table headed "as a percentage of revenue" prints its shares without "%"; asked how
    research and development changed, the statement's row of amounts answers, and a row of
    shares alone is not found for it, so the lookup reads the file's tables for the amounts.
    "Per share" in a statement's unit line does not make its amounts shares."""
    from qa.ask.figures import asked_terms, table, whole_rows
    from qa.ask.support import ScoredLine
    from qa.types import Cell, Row

    def line(n: int, values: tuple[str, str], title: str, unit: str = "") -> ScoredLine:
        cells = tuple(Cell(v, ("Three Months Ended", year)) for v, year in zip(
            values, ("2025", "2024")))
        return ScoredLine("a.pdf", n, f"Research and development {' '.join(values)}", 0.5,
                          row=Row(n, "Research and development", cells, title=title,
                                  unit=unit))

    shares = line(40, ("12.7", "32.8"), "Operating expenses as a percentage of revenue")
    amounts = line(4, ("2,294", "1,945"), "STATEMENTS OF INCOME",
                   "(In millions, except per share data)")
    question = "How has research and development changed?"
    assert answer_lines(question, [shares, amounts])[0] is amounts
    assert whole_rows(question, asked_terms(question, [shares]), [table([shares])],
                      specific=True) == []
    asked = "What share of revenue went to research and development?"
    assert whole_rows(asked, asked_terms(asked, [shares]), [table([shares])],
                      specific=True) == [shares]


def test_a_row_of_other_dates_is_no_answer_for_the_date_asked():
    """Asked for the quarter ended September 30, 2023, a statement whose columns end April 1,
    2023 holds no such figure; a row of that date, or one with no dates, may answer; a month
    of a year ("in January 2024") asks for any day of it."""
    from qa.ask.figures import named_rows
    from qa.ask.support import ScoredLine
    from qa.types import Cell, Row

    def row(n: int, *ends: str) -> ScoredLine:
        cells = tuple(Cell(f"{90 + i},{100 + n}", ("Three Months Ended", end))
                      for i, end in enumerate(ends))
        text = "Total net sales " + " ".join(c.value for c in cells)
        return ScoredLine("a.pdf", n, text, 0.5, row=Row(n, "Total net sales", cells))

    april = row(1, "April 1, 2023", "March 26, 2022")
    july = row(2, "July 1, 2023", "June 25, 2022")
    bare = ScoredLine("b.pdf", 3, "Total net sales 90,100 80,100", 0.5)
    ask = "What were total net sales for the quarter ended {}?"
    assert [s for s, _ in named_rows(ask.format("September 30, 2023"), [april, july])] == []
    assert [s for s, _ in named_rows(ask.format("July 1, 2023"), [april, july])] == [july]
    assert [s for s, _ in named_rows(ask.format("September 30, 2023"), [bare])] == [bare]
    assert [s for s, _ in named_rows("What were total net sales in July 2023?",
                                     [april, july])] == [july]
    assert len(named_rows("What were total net sales?", [april, july])) == 2
    # segments in columns, periods as sections: the section dates the row
    by_segment = [ScoredLine("c.pdf", n, f"Total net sales {v} 1,200", 0.5, row=Row(
        n, "Total net sales", (Cell(v, ("Hardware",)), Cell("1,200", ("Services",))),
        section=f"Three Months Ended {end}")) for n, v, end in [
            (4, "6,728", "July 30, 2023"), (5, "816", "July 31, 2022")]]
    assert [s.line for s, _ in named_rows(ask.format("July 30, 2023"), by_segment)] == [4]


def test_plurals_in_ies_meet_their_singular():
    from qa.text import content_terms

    assert content_terms("Inventories") == content_terms("inventory")
    assert content_terms("companies") == content_terms("company")


def test_a_name_the_filing_mentions_in_passing_is_not_what_its_tables_are_about(tmp_path):
    """The cover names the company every page is about; a partner named once on a later page
    is not: asked for the partner's figure, the company's row is no answer."""
    pages = [["Acme Corp.", "Quarterly report on Form 10-Q for the quarter ended July 1, 2023"],
             ["CONDENSED STATEMENTS OF OPERATIONS (In millions)",
              "Three Months Ended July 1, 2023 and June 25, 2022",
              "Hardware 9,240 10,115", "Cost of sales 8,010 8,402",
              "Research and development 1,215 1,102"],
             ["Partners", "We buy cloud capacity from Initech under a three-year agreement.",
              "The agreement can be renewed for two more years at our option."]]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "acme-10q.pdf").write_bytes(dm.text_pdf(pages))
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        acme = qa.ask("What was Acme's cost of sales?")
        other = qa.ask("What was Initech's cost of sales?")
    assert not acme.refused and acme.citations[0].quote == "Cost of sales 8,010 8,402"
    assert other.refused


FREIGHT = [("h1", "Borealis Freight quarterly results (in thousands)"),
           ("table", [["", "Q3 2024", "Q3 2023"], ["Freight revenue", "9,310", "8,774"],
                      ["Fuel surcharge income", "612", "590"],
                      ["Operating income", "4,210", "3,905"]]),
           ("p", "Borealis Freight earned more from fuel surcharges as diesel prices climbed."),
           ("p", "Diesel averaged 4.12 dollars a gallon, against 3.87 a year before.")]
FUEL_QUESTION = "How much did Borealis Freight earn from fuel surcharges?"  # the row in part


@pytest.fixture(scope="module")
def freight_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("freight")
    (root / "docs").mkdir()
    (root / "docs" / "borealis.docx").write_bytes(dm.word_docx(FREIGHT))
    with QA(root / "ix") as qa:
        qa.ingest(root / "docs")
    return root / "ix"


def test_a_figure_question_answered_in_words_alone_gets_the_row_that_states_it(freight_index):
    """The model's verified sentence says Borealis earned more, and no figure: the row the
    question names follows it, stated with its periods and unit. What was shown stays."""
    from qa.ask.answer.llm import LLMAnswerer

    from .test_streaming import TokenModel

    model = TokenModel("Borealis Freight earned more from fuel surcharges as diesel prices "
                       "climbed [L6].")
    with QA(freight_index, answerer=LLMAnswerer(model), min_answerability=0.0,
            read_only=True) as qa:
        items = list(qa.stream(FUEL_QUESTION))
    answer = items[-1]
    assert "".join(i for i in items if isinstance(i, str)) == answer.text  # nothing taken back
    assert answer.text.startswith("Borealis Freight earned more from fuel surcharges")
    assert "Fuel surcharge income: 612 thousand, Q3 2024; 590 thousand, Q3 2023" in answer.text
    assert "Fuel surcharge income | 612 | 590" in [c.quote for c in answer.citations]
    assert answer.debug["figures_added"]


CASH = "Acme's operations brought in $7.3 billion and $11.4 billion in Q3 2021 and Q3 2022."
CENSUS = "At the census, Springfield had 427,652 people, 140,079 households and 97,915 families."


@pytest.fixture(scope="module")
def cash_index(freight_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("cash")
    (root / "docs").mkdir()
    (root / "docs" / "borealis.docx").write_bytes(dm.word_docx(FREIGHT))
    (root / "docs" / "acme.txt").write_text(f"{CASH}\n{CENSUS}\n")
    with QA(root / "ix") as qa:
        qa.ingest(root / "docs")
    return root / "ix"


@pytest.mark.parametrize("reply,question,follows,quote", [
    ("612 [borealis.docx:L4].", FUEL_QUESTION, "Fuel surcharge income: 612 thousand, Q3 2024 [",
     "Fuel surcharge income | 612 | 590"),
    ("$11.4 billion [acme.txt:L1].", "How much cash did Acme's operations bring in?",
     f"“{CASH}”", CASH),
])
def test_a_figure_answered_alone_is_followed_by_what_its_line_says_it_is(
        cash_index, reply, question, follows, quote):
    """The model's verified answer is a bare figure, one of several its line states alike:
    which period, column or unit it is follows, the row as the cell the model stated under
    its headers, a sentence quoted. What was shown stays."""
    from qa.ask.answer.llm import LLMAnswerer

    from .test_streaming import TokenModel

    with QA(cash_index, answerer=LLMAnswerer(TokenModel(reply)), min_answerability=0.0,
            read_only=True) as qa:
        items = list(qa.stream(question))
    answer = items[-1]
    assert "".join(i for i in items if isinstance(i, str)) == answer.text
    assert answer.text.startswith(reply.split(" [")[0]) and follows in answer.text
    assert "590 thousand" not in answer.text  # the cell the model did not state
    assert quote in [c.quote for c in answer.citations]
    assert answer.debug["figure_lines_added"]


def test_a_count_answered_alone_from_a_sentence_stands_alone(cash_index):
    """A count in a sentence has its noun beside it: "427,652" answers how many people."""
    from qa.ask.answer.llm import LLMAnswerer

    from .test_streaming import TokenModel

    with QA(cash_index, answerer=LLMAnswerer(TokenModel("427,652 [acme.txt:L2].")),
            min_answerability=0.0, read_only=True) as qa:
        answer = qa.ask("How many people lived in Springfield?")
    assert answer.text == "427,652 [1]." and answer.citations[0].quote == CENSUS, answer.text


def test_a_figure_answered_with_what_it_is_stands_alone(freight_index):
    from qa.ask.answer.llm import LLMAnswerer

    from .test_streaming import TokenModel

    reply = "Fuel surcharge income was 612 thousand in Q3 2024 [L4]."
    with QA(freight_index, answerer=LLMAnswerer(TokenModel(reply)), min_answerability=0.0,
            read_only=True) as qa:
        answer = qa.ask(FUEL_QUESTION)
    assert answer.text.count("612") == 1 and "figure_lines_added" not in answer.debug


def test_a_model_that_finds_nothing_gives_way_to_the_row_the_question_names(freight_index):
    """The model said NOT FOUND and judges every line "no": the row the question names is
    quoted alone all the same (a model reads a bare row poorly), not beside the lines that
    it judged."""
    from qa.ask.answer.llm import LLMAnswerer

    from .test_streaming import RefusingModel

    with QA(freight_index, answerer=LLMAnswerer(RefusingModel(0.1)), min_answerability=0.0,
            min_support=0.0, read_only=True) as qa:
        answer = qa.ask(FUEL_QUESTION)
    assert answer.debug["model_refused"] and answer.debug["fallback"], answer.debug
    assert answer.citations[0].quote == "Fuel surcharge income | 612 | 590"
    assert "Freight revenue" not in answer.text and "Diesel" not in answer.text, answer.text


def test_a_model_that_finds_nothing_falls_back_on_a_line_that_states_a_figure(freight_index):
    """Asked for a figure, the model said NOT FOUND; of the lines it accepts when asked of
    each alone, it likes a line that states no figure best: a line it accepts that states
    one is quoted instead."""
    from qa.ask.answer.llm import LLMAnswerer

    from .test_streaming import PickyModel

    model = PickyModel("as diesel prices climbed")
    with QA(freight_index, answerer=LLMAnswerer(model), min_answerability=0.0,
            min_support=0.0, read_only=True) as qa:
        answer = qa.ask("How much more did diesel cost Borealis Freight?")
    assert answer.debug["model_refused"] and answer.debug["fallback"], answer.debug
    assert "as diesel prices climbed" in "".join(model.judged)  # it was judged, and liked
    assert "prices climbed" not in answer.text and "4.12" in answer.text, answer.text


@pytest.mark.parametrize("text, states", [
    ("Total operating expenses were $14,316 million [1].", True),
    ("The effective tax rate was 12.5 % [2].", True),
    ("The aircraft was registered as N3070A [1].", True),
    ("Sales rose in the first nine months of 2023 [1].", False),  # number words and a year
    ("Expenses grew with compensation and benefits [1][2].", False),
])
def test_a_figure_is_stated_in_digits_or_a_code_not_in_words_or_a_year(text, states):
    assert states_figure(text) is states


@pytest.mark.parametrize("text, states", [
    ("The Q2 2024 filing of Harbour Ltd ties wages to its costs [1].", False),
    ("Form 10-K item 7 says wages drove the costs [1].", False),
    ("In Q2 2024 wages were $48.5 million [1].", True),
    ("The pier crane P7B was idle [1].", True),  # a code the question does not say
])
def test_the_figures_and_codes_a_question_says_are_not_stated_by_repeating_them(text, states):
    question = ("How do Harbour Ltd's wages in its Q2 2024 filing (Form 10-K, item 7) relate "
                "to costs?")
    assert states_figure(text, question) is states
