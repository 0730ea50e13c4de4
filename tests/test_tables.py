"""Tables read as tables: each figure knows its row, its column headers, the table's title and
unit, from reading to the answer that states it.

The readers are shown on a real 10-Q statement, on a made statement laid out unlike any filing
(a centred title, a spanning header over two of three columns, a prose paragraph whose lines end
in numbers, a second table), on a Word table with merged header cells and on an HTML table with
colspan and rowspan. Display lines stay as they were: the structure rides beside them. Then the
answer: it states the cell the question asks for with its column and unit, cites the row and
the head lines, and a sentence that gives a figure another column's period is not shown.
"""

from __future__ import annotations

import sqlite3

import pytest

from qa import QA
from qa.ask.verify import verify
from qa.ingest.documents import page_reader
from qa.ingest.readers import read_view
from qa.types import Draft, Proposal

from . import docmaker as dm
from .conftest import index_of


def rows_by_label(view):
    return {r.label: r for r in view.rows}


@pytest.mark.skipif(not dm.AAPL.exists(), reason="needs ../shared/benchmarks/sec10q")
def test_a_filing_statement_row_knows_each_figure_s_period_unit_and_title():
    view = read_view(dm.AAPL.name, dm.AAPL.read_bytes())
    row = next(r for r in view.rows if view.lines[r.line - 1] == dm.AAPL_NET_SALES)
    assert row.label == "Total net sales" and row.section == "Net sales"
    assert [(c.value, c.column) for c in row.cells] == [
        ("82,959", "Three Months Ended June 25, 2022"),
        ("81,434", "Three Months Ended June 26, 2021"),
        ("304,182", "Nine Months Ended June 25, 2022"),
        ("282,457", "Nine Months Ended June 26, 2021")]
    assert row.unit.startswith("(In millions") and "STATEMENTS OF OPERATIONS" in row.title
    # a section ends at a row level with it: operating income is no operating expense
    assert next(r for r in view.rows if r.label == "Operating income").section == ""
    first, last = row.head  # the head's lines hold the title, the unit and every header
    head = "\n".join(view.lines[first - 1:last])
    assert row.title in head and row.unit in head and "Nine Months Ended" in head


def test_a_statement_laid_out_unlike_the_filings_is_read_by_position():
    view = read_view("trust.pdf", dm.statement_pdf())
    rows = rows_by_label(view)
    tickets = rows["Tickets"]
    assert [(c.value, c.column) for c in tickets.cells] == [
        ("1,240", "Year to March 2024"), ("1,105", "Year to March 2023"), ("96", "Budget 2024")]
    assert tickets.section == "Revenue" and tickets.title == "STATEMENT OF ACTIVITIES"
    assert tickets.unit == "(amounts in thousands of euros)"
    assert [c.value for c in rows["Staff costs"].cells] == ["(640)", "(602)", "(51)"]
    # the prose lines end in numbers, yet are no table; the second table has its own head
    assert not any("volunteers" in r.label or "schools" in r.label for r in view.rows)
    assert [(c.value, c.column) for c in rows["Matinees"].cells] == [
        ("6,120", "Spring"), ("7,480", "Autumn")]
    assert rows["Matinees"].title == "Attendance by season" and not rows["Matinees"].unit


def test_a_spanning_header_set_over_one_dated_column_heads_the_dated_columns_beside_it():
    """As a management discussion prints them: the lead-in line gives the unit, and "Quarter
    Ended" sits over the second of two dated columns only; the first dated column is of the
    quarter too, the change column is not; its "5 %" ends where the "(3)%" below it does."""
    items = [(0.08, 0.93, "Visits by region", "left"),
             (0.08, 0.915, "The following table shows visits by region for the quarters ended "
              "May 3, 2025 and May 4, 2024 (visitors in thousands):", "left"),
             (0.66, 0.895, "Quarter Ended", "right"),
             (0.52, 0.88, "May 3,", "right"), (0.66, 0.88, "May 4,", "right"),
             (0.52, 0.865, "2025", "right"), (0.66, 0.865, "2024", "right"),
             (0.76, 0.865, "Change", "right")]
    y = 0.845
    for label, values in [("Coast", ("1,204", "1,150", "5 %")),
                          ("Uplands", ("388", "402", "(3)%"))]:
        items.append((0.08, y, label, "left"))
        items += [(x, y, v, "right") for x, v in zip((0.52, 0.66, 0.76), values)]
        y -= 0.015
    rows = rows_by_label(read_view("visits.pdf", dm.placed_pdf(items)))
    assert [(c.value, c.column) for c in rows["Coast"].cells] == [
        ("1,204", "Quarter Ended May 3, 2025"), ("1,150", "Quarter Ended May 4, 2024"),
        ("5 %", "Change")]
    assert rows["Coast"].unit.endswith("(visitors in thousands):")


def test_a_row_of_rates_and_their_changes_in_points_is_a_row_of_its_table():
    """A summary prints a rate's change in percentage points apart from the figure ("2.4 pts",
    "(80) bps"), as it prints "5 %": that line is a row with those cells, and the rows under
    it keep the table's column heads, title and unit, not the rates' line as their unit."""
    items = [(0.08, 0.93, "Second Half Overview", "left"),
             (0.08, 0.915, "(pounds in thousands)", "left"),
             (0.50, 0.90, "Six Months Ended", "center"),
             (0.44, 0.885, "Dec 31, 2025", "right"), (0.56, 0.885, "Dec 31, 2024", "right"),
             (0.70, 0.885, "Change", "right")]
    y = 0.85
    for label, values in [("Bookings", ("£ 9,410", "£ 8,875", "6 %")),
                          ("Occupancy", ("81.5 %", "79.1 %", "2.4 pts")),
                          ("Margin", ("12.0 %", "12.8 %", "(80) bps")),
                          ("Staff costs", ("£ 3,120", "£ 2,990", "4 %")),
                          ("Surplus", ("£ 1,045", "£ 1,162", "(10)%"))]:
        items.append((0.08, y, label, "left"))
        items += [(x, y, v, "right") for x, v in zip((0.44, 0.56, 0.70), values)]
        y -= 0.015
    rows = rows_by_label(read_view("overview.pdf", dm.placed_pdf(items)))
    assert [c.value for c in rows["Occupancy"].cells] == ["81.5 %", "79.1 %", "2.4 pts"]
    assert [c.value for c in rows["Margin"].cells] == ["12.0 %", "12.8 %", "(80) bps"]
    assert [(c.value, c.column) for c in rows["Staff costs"].cells] == [
        ("£ 3,120", "Six Months Ended Dec 31, 2025"), ("£ 2,990", "Six Months Ended Dec 31, 2024"),
        ("4 %", "Change")]
    assert rows["Surplus"].unit == "(pounds in thousands)"
    assert rows["Surplus"].title == "Second Half Overview"


def test_a_column_with_a_period_of_its_own_keeps_it():
    """The second period's header sits a line lower than the first's: its columns are of six
    months, not of the three months the top line spans."""
    items = [(0.08, 0.93, "Net sales (in millions)", "left"),
             (0.43, 0.90, "Three Months Ended", "center"),
             (0.73, 0.885, "Six Months Ended", "center")]
    for x, date in zip((0.40, 0.50, 0.70, 0.80), ("June 30,", "June 30,", "June 30,", "June 30,")):
        items.append((x, 0.87, date, "right"))
    for x, year in zip((0.40, 0.50, 0.70, 0.80), ("2024", "2025", "2024", "2025")):
        items.append((x, 0.855, year, "right"))
    y = 0.835
    for label, values in [("Stores", ("210", "236", "401", "455")),
                          ("Online", ("95", "118", "180", "229"))]:
        items.append((0.08, y, label, "left"))
        items += [(x, y, v, "right") for x, v in zip((0.40, 0.50, 0.70, 0.80), values)]
        y -= 0.015
    rows = rows_by_label(read_view("sales.pdf", dm.placed_pdf(items)))
    assert [c.column for c in rows["Stores"].cells] == [
        "Three Months Ended June 30, 2024", "Three Months Ended June 30, 2025",
        "Six Months Ended June 30, 2024", "Six Months Ended June 30, 2025"]


def test_a_word_table_gives_merged_header_cells_to_every_column_they_span():
    raw = dm.word_docx([("p", "Spending by department (in thousands of dollars)"),
                        ("table", [["Department", "Fiscal Year", "", ""],
                                   ["", "2022", "2023", "2024"],
                                   ["Parks", "4,512", "4,730", "5,001"]])])
    import io

    from docx import Document

    doc = Document(io.BytesIO(raw))  # merge the spanning header as Word does
    table = doc.tables[0]
    table.cell(0, 1).merge(table.cell(0, 3)).text = "Fiscal Year"
    buf = io.BytesIO()
    doc.save(buf)
    view = read_view("budget.docx", buf.getvalue())
    assert "Parks | 4,512 | 4,730 | 5,001" in view.lines  # the display line is unchanged
    parks = rows_by_label(view)["Parks"]
    assert [(c.value, c.column) for c in parks.cells] == [
        ("4,512", "Fiscal Year 2022"), ("4,730", "Fiscal Year 2023"), ("5,001", "Fiscal Year 2024")]
    assert "thousands" in parks.unit


def test_an_html_table_reads_colspan_rowspan_and_row_headers():
    html = b"""<main><h1>Transit</h1><table><caption>Weekly riders (in thousands)</caption>
    <thead><tr><th rowspan=2>Line</th><th colspan=2>Weekday</th><th colspan=2>Weekend</th></tr>
    <tr><th>2022</th><th>2023</th><th>2022</th><th>2023</th></tr></thead>
    <tbody><tr><th scope=row>Red</th><td>1,204</td><td>1,310</td><td>402</td><td>455</td></tr>
    </tbody></table></main>"""
    view = read_view("transit.html", html)
    assert "Red | 1,204 | 1,310 | 402 | 455" in view.lines
    red = rows_by_label(view)["Red"]
    assert [c.column for c in red.cells] == ["Weekday 2022", "Weekday 2023", "Weekend 2022",
                                             "Weekend 2023"]
    assert red.unit == "Weekly riders (in thousands)"


def _merged_docx(blocks, merges) -> bytes:
    """``dm.word_docx`` with cells merged as Word merges them: (row, col, row, col) corners."""
    import io

    from docx import Document

    doc = Document(io.BytesIO(dm.word_docx(blocks)))
    table = doc.tables[0]
    for r0, c0, r1, c1 in merges:
        text = table.cell(r0, c0).text
        table.cell(r0, c0).merge(table.cell(r1, c1)).text = text
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _water_docx() -> bytes:
    """A Word table whose head is two rows: "Region" merged down over both, "Year" across
    the three columns of years."""
    return _merged_docx(
        [("p", "Table 4. Water drawn by region"), ("p", "(in millions of litres)"),
         ("table", [["Region", "Year", "", ""],
                    ["", "2019 Actual", "2020 Actual", "2021 Plan"],
                    ["Uplands", "1,250", "1,310", "1,400"],
                    ["Lowlands", "2,075", "2,140", "2,210"]])],
        [(0, 0, 1, 0), (0, 1, 0, 3)])


def test_a_word_table_whose_label_head_is_merged_down_reads_both_head_rows():
    """Word marks no header row; a head of two rows shows by its merged cells: the label
    column's head merged down over both, a spanning head merged across. The unit line alone
    above the table is its unit, and the caption above it its title."""
    raw = _water_docx()
    view = read_view("water.docx", raw)
    assert "Uplands | 1,250 | 1,310 | 1,400" in view.lines  # display lines unchanged
    rows = rows_by_label(view)
    assert set(rows) == {"Uplands", "Lowlands"}  # the second head row is no body row
    assert [(c.value, c.column) for c in rows["Uplands"].cells] == [
        ("1,250", "Year 2019 Actual"), ("1,310", "Year 2020 Actual"), ("1,400", "Year 2021 Plan")]
    assert rows["Uplands"].title == "Table 4. Water drawn by region"
    assert rows["Uplands"].unit == "(in millions of litres)"


def test_an_answer_from_a_word_table_with_a_two_row_head_names_the_column(tmp_path_factory):
    raw = _water_docx()
    ix = index_of(tmp_path_factory, "water", {"water.docx": raw})
    with QA(ix, backend="extractive", read_only=True) as qa:
        answer = qa.ask("How much water are the Lowlands planned to draw in 2021?")
    first = answer.text.split("\n")[0]
    assert "2,210" in first and "2021 plan" in first.lower(), answer.text
    assert "2,075" not in first, answer.text  # the column asked for, not the whole row


def test_an_html_table_with_a_unit_row_in_its_head_and_grouped_row_labels():
    """A ``<td>`` in ``<thead>`` is head, and a head row of one cell across the table says
    what the table counts, not a column; a stub two columns wide gives each row the label
    nearest its figures, under the group it is in (a row group spanning rows, as a section)."""
    html = b"""<main><table><caption>Table 2. Bridge inspections by district</caption>
    <thead><tr><td colspan=6>(inspections completed)</td></tr>
    <tr><th colspan=2 rowspan=2>District</th><th colspan=3>Quarter</th><th rowspan=2>Year</th></tr>
    <tr><th>Q1</th><th>Q2</th><th>Q3</th></tr></thead>
    <tbody><tr><th rowspan=2>Coastal</th><th>Harbor</th>
    <td>12</td><td>15</td><td>9</td><td>36</td></tr>
    <tr><th>Estuary</th><td>7</td><td>4</td><td>11</td><td>22</td></tr>
    <tr><th>Inland</th><th>Ridge</th><td>3</td><td>6</td><td>5</td><td>14</td></tr></tbody>
    <tfoot><tr><th colspan=2>All districts</th><td>22</td><td>25</td><td>25</td><td>72</td></tr>
    </tfoot></table></main>"""
    view = read_view("bridges.html", html)
    assert "Estuary | 7 | 4 | 11 | 22" in view.lines
    rows = rows_by_label(view)
    assert set(rows) == {"Harbor", "Estuary", "Ridge", "All districts"}
    for label, section in [("Harbor", "Coastal"), ("Estuary", "Coastal"), ("Ridge", "Inland"),
                           ("All districts", "")]:
        assert rows[label].section == section
        assert [c.column for c in rows[label].cells] == [
            "Quarter Q1", "Quarter Q2", "Quarter Q3", "Year"], label
    assert [c.value for c in rows["Estuary"].cells] == ["7", "4", "11", "22"]
    assert rows["Estuary"].title == "Table 2. Bridge inspections by district"
    harbor = next(i for i, x in enumerate(view.lines, 1) if x.startswith("Coastal | Harbor"))
    assert rows["Estuary"].section_line == harbor  # where the group's name is printed


def test_a_row_of_a_name_alone_is_the_section_of_the_rows_below_it():
    """A statement's rows "Total" under "Assets" and under "Liabilities" are told apart by
    the row above them that names a group and states no figure, as a PDF's are."""
    html = b"""<main><table><caption>Statement of position (in thousands)</caption>
    <thead><tr><th></th><th>2023</th><th>2024</th></tr></thead>
    <tbody><tr><th colspan=3>Assets</th></tr>
    <tr><th>Cash</th><td>120</td><td>140</td></tr><tr><th>Total</th><td>300</td><td>320</td></tr>
    <tr><th colspan=3>Liabilities</th></tr>
    <tr><th>Loans</th><td>80</td><td>60</td></tr><tr><th>Total</th><td>150</td><td>130</td></tr>
    </tbody></table></main>"""
    view = read_view("position.html", html)
    got = [(r.label, r.section, [c.value for c in r.cells]) for r in view.rows]
    assert got == [("Cash", "Assets", ["120", "140"]), ("Total", "Assets", ["300", "320"]),
                   ("Loans", "Liabilities", ["80", "60"]),
                   ("Total", "Liabilities", ["150", "130"])]
    liabilities = view.lines.index("Liabilities") + 1
    assert [r.section_line for r in view.rows][2:] == [liabilities, liabilities]


@pytest.fixture(scope="module")
def trust_index(tmp_path_factory):
    return index_of(tmp_path_factory, "tables", {"trust.pdf": dm.statement_pdf()}).parent


@pytest.mark.parametrize("question, figure, column", [
    ("How much did the trust earn from tickets in the year to March 2023?", "1,105", "2023"),
    ("What did the budget set for concessions?", "24", "budget 2024"),
    ("How many people came to matinees in the autumn?", "7,480", "autumn"),
])
def test_a_figure_answer_states_the_cell_with_its_column_and_cites_the_head(
        trust_index, question, figure, column):
    with QA(trust_index / "ix", backend="extractive", read_only=True) as qa:
        answer = qa.ask(question)
    assert not answer.refused, answer.debug
    first = answer.text.split("\n")[0]
    assert figure in first and column in first.lower(), answer.text
    row_line = next(c for c in answer.citations if figure in c.quote)
    head = [c for c in answer.citations if c is not row_line]
    assert head and all(c.first < row_line.first for c in head)  # the head lines, above it
    assert "[1][2]" in answer.text or "[1]" in answer.text


def test_the_judge_reads_a_row_with_each_figure_s_column_and_the_unit(trust_index):
    """The yes/no judgement stands for the answer about to be written, and the answer is given
    a row with each figure's column and the table's unit: so is the judge, which otherwise
    judged "Tickets 1,240 1,105 96" without knowing which figure is which year's."""
    from qa.ask.pipeline import Pipeline
    from qa.ask.stages import in_context

    question = "How much did the trust earn from tickets in the year to March 2023?"
    with QA(trust_index / "ix", backend="extractive", read_only=True) as qa:
        ask = Pipeline(qa).prepare(question, qa.settings.top_k)
    row = next(s for s in ask.given if s.row is not None and "1,105" in s.text)
    judged = in_context([row], ask.passages)[-1]
    assert "1,105 (Year to March 2023)" in judged and "96 (Budget 2024)" in judged, judged
    assert "thousands of euros" in judged, judged


def test_a_figure_given_another_column_s_period_is_not_shown(trust_index):
    with QA(trust_index / "ix", backend="extractive", read_only=True) as qa:
        question = "How much did the trust earn from tickets in the year to March 2023?"
        answer = qa.ask(question)
        row = next(c for c in answer.citations if "1,105" in c.quote)
        read = page_reader(qa.path_of)

        def check(claim):
            draft = Draft(claim + " [1]", [Proposal(row.source, row.start_line, row.end_line,
                                                    row.quote, "[1]", claim, 0)])
            return verify(draft, answer.retrieved, read, question=question)

        assert check("Tickets: 1,105 thousand, year to March 2023").sentences == {0}
        wrong = check("Tickets: 1,240 thousand, year to March 2023")  # 1,240 is 2024's
        assert not wrong.sentences and "2023" in wrong.dropped[0]["reason"]
        assert not check("Tickets: 96 thousand, year to March 2023").sentences  # the budget's


def test_an_index_read_before_rows_gets_them_without_embedding_again(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "trust.pdf").write_bytes(dm.statement_pdf())
    with QA(tmp_path / "ix") as qa:
        qa.ingest(tmp_path / "docs")
    db = sqlite3.connect(tmp_path / "ix" / "manifest.sqlite3")  # as an older qa left it
    with db:
        db.execute("DELETE FROM rows")
        db.execute("DELETE FROM meta WHERE key = 'reader'")
    db.close()
    question = "How much did the trust earn from tickets in the year to March 2023?"
    with QA(tmp_path / "ix", backend="extractive") as qa:
        assert "year to march 2023" not in qa.ask(question).text.lower()  # the row, quoted
        report = qa.ingest(tmp_path / "docs")
        assert report.unchanged and report.chunks == 0  # read again, nothing embedded
        assert "1,105 thousand, year to March 2023" in qa.ask(question).text
        assert qa.ingest(tmp_path / "docs").unchanged  # and once read, left alone


def test_a_model_reads_each_figure_with_its_column_and_its_period_is_verified(trust_index):
    """An OpenAI-protocol model is shown a row the question names in part with each figure's
    column and the unit; its sentence naming the period is verified against the head lines,
    and one that gives the figure another column's period is not shown."""
    import re

    from .chat_server import ChatServer

    question = "How much revenue did the trust take in the year to March 2023?"
    replies = {0: "Revenue was 1,392 thousand euros in the year to March 2023 [{}].",
               1: "Revenue was 1,550 thousand euros in the year to March 2023 [{}]."}

    def reply(text):
        def answer(n, body):  # cite the row's line, as the prompt numbers it
            prompt = body["messages"][1]["content"]
            return 200, text.format(re.search(r"\[(L\d+)\] Total revenue", prompt)[1]), 0.0
        return answer

    for n, text in replies.items():
        with ChatServer(reply(text)) as server, \
                QA(trust_index / "ix", backend="openai", openai_base_url=server.url,
                   model="test-model", timeout=5.0, max_retries=0, fallback="off",
                   read_only=True) as qa:
            answer = qa.ask(question)
        prompt = server.requests[-1]["messages"][1]["content"]
        assert "Total revenue (Revenue): 1,550 (Year to March 2024); 1,392 (Year to March 2023)" \
            in prompt and "amounts in thousands of euros" in prompt
        if n == 0:
            assert not answer.refused and "1,392" in answer.text, answer.debug
            assert len(answer.citations) >= 2  # the row, and its head lines
        else:  # 1,550 is the year to March 2024
            assert answer.refused, answer.text


def test_a_question_about_change_is_answered_with_amounts_not_the_change_column():
    """"How have net sales changed?" shares its word with the "Change" column's header, yet
    asks for the amounts; asked for a percentage, the change column is the answer."""
    from qa.ask.cells import pick
    from qa.types import Cell, Row

    row = Row(9, "Total net sales", (
        Cell("$ 82,959", ("Three Months Ended", "June 25,", "2022")),
        Cell("$ 81,434", ("Three Months Ended", "June 26,", "2021")),
        Cell("2 %", ("Change",))))
    assert [c.value for c in pick("How have total net sales changed?", row)] == [
        "$ 82,959", "$ 81,434"]
    assert [c.value for c in pick("By what percentage did net sales change?", row)] == ["2 %"]


def test_rows_of_percentages_whose_sign_hangs_past_the_column_are_rows_of_the_table():
    """Amounts and their share of sales alternate, the "%" printed apart and hanging to the
    right of the figures' column: every line is a row under the same headers."""
    items = [(0.08, 0.93, "Operating expenses (in millions)", "left"),
             (0.52, 0.90, "2025", "right"), (0.66, 0.90, "2024", "right")]
    y = 0.88
    for label, values, pct in [("Research", ("7,442", "6,797"), False),
                               ("Percentage of net sales", ("9", "8"), True),
                               ("Marketing", ("5,973", "6,012"), False),
                               ("Percentage of net sales", ("7", "7"), True)]:
        items.append((0.08, y, label, "left"))
        for x, v in zip((0.52, 0.66), values):  # " %" is about 0.017 of the page wide
            items.append((x + 0.017, y, f"{v} %", "right") if pct else (x, y, v, "right"))
        y -= 0.015
    view = read_view("costs.pdf", dm.placed_pdf(items))
    assert [(r.label, [(c.value, c.column) for c in r.cells]) for r in view.rows] == [
        ("Research", [("7,442", "2025"), ("6,797", "2024")]),
        ("Percentage of net sales", [("9 %", "2025"), ("8 %", "2024")]),
        ("Marketing", [("5,973", "2025"), ("6,012", "2024")]),
        ("Percentage of net sales", [("7 %", "2025"), ("7 %", "2024")])]


def test_a_dense_table_whose_header_names_its_label_column_gives_each_figure_its_header():
    """As a government report prints a count: "State" heads the labels, the figure columns
    stand close under short headers, and one row's figure came out of the PDF as "98 452" (its
    comma lost). Every other row still reads each figure under its own header."""
    x_cols = (0.40, 0.484, 0.572)
    items = [(0.08, 0.93, "Checks by state, November", "left"),
             (0.08, 0.90, "State", "left")]
    # the headers centred over their columns' figures
    items += [(x - 0.036, 0.90, h, "center")
              for x, h in zip(x_cols, ("Permit", "Handgun", "Long Gun"))]
    y = 0.885
    for label, values in [("Ohio", ("1,204", "3,311", "982")), ("Utah", ("418", "1,730", "655")),
                          ("Iowa", ("98 452", "2,045", "1,118")),
                          ("Idaho", ("236", "1,402", "1,377")), ("Maine", ("97", "840", "911"))]:
        items.append((0.08, y, label, "left"))
        items += [(x, y, v, "right") for x, v in zip(x_cols, values)]
        y -= 0.015
    rows = rows_by_label(read_view("checks.pdf", dm.placed_pdf(items)))
    for label in ("Ohio", "Utah", "Idaho", "Maine"):
        assert [c.column for c in rows[label].cells] == ["Permit", "Handgun", "Long Gun"], label
    assert [(c.value, c.column) for c in rows["Maine"].cells][2] == ("911", "Long Gun")


def test_a_footnote_mark_after_a_label_is_no_figure():
    """"Online stores (1)": the mark points to a note below the table; it stands in no column,
    so the row's figures are the two under the year headers, not three."""
    items = [(0.08, 0.93, "Net sales by group (in millions)", "left"),
             (0.52, 0.90, "2024", "right"), (0.66, 0.90, "2023", "right")]
    y = 0.885
    for label, values in [("Online stores (1)", ("50,855", "52,966")),
                          ("Physical stores (2)", ("4,721", "4,959")),
                          ("Advertising", ("9,548", "12,060"))]:
        items.append((0.08, y, label, "left"))
        items += [(x, y, v, "right") for x, v in zip((0.52, 0.66), values)]
        y -= 0.015
    view = read_view("groups.pdf", dm.placed_pdf(items))
    assert "Online stores (1) 50,855 52,966" in view.lines  # the display line is as printed
    rows = rows_by_label(view)
    assert [(c.value, c.column) for c in rows["Online stores"].cells] == [
        ("50,855", "2024"), ("52,966", "2023")]


def test_a_head_set_a_word_to_a_line_still_heads_its_columns():
    """A fair-value table heads each of five columns with three words set one under another,
    each column's words a little lower than the last's, so the text reads its head as fifteen
    lines of a word each, under a date centred over the table: every figure still gets its
    column's whole header, the date (not only the middle column under it) and the unit of
    the lead-in line above."""
    heads = [("Adjusted", "Purchase", "Cost"), ("Unrealized", "Gains", "Net"),
             ("Unrealized", "Losses", "Net"), ("Fair", "Value", "Total"),
             ("Current", "Marketable", "Securities")]
    xs = (0.36, 0.50, 0.64, 0.78, 0.92)
    items = [(0.08, 0.95, "The following table shows the fund's holdings (in thousands):", "left"),
             (0.62, 0.93, "June 30, 2025", "center")]
    for k, (x, words) in enumerate(zip(xs, heads)):
        for j, word in enumerate(words):
            items.append((x, 0.915 - 0.033 * j - 0.006 * k, word, "right"))
    y = 0.80
    for label, values in [("Cash", ("4,210", "310", "(120)", "4,400", "4,400")),
                          ("Treasury bills", ("1,870", "112", "(103)", "1,879", "1,879")),
                          ("Municipal notes", ("640", "205", "(209)", "636", "636"))]:
        items.append((0.08, y, label, "left"))
        items += [(x, y, v, "right") for x, v in zip(xs, values)]
        y -= 0.015
    view = read_view("fund.pdf", dm.placed_pdf(items))
    assert sum(line in {w for h in heads for w in h} for line in view.lines) == 15
    bills = rows_by_label(view)["Treasury bills"]
    assert [c.column for c in bills.cells] == [f"June 30, 2025 {' '.join(h)}" for h in heads]
    assert bills.unit == "The following table shows the fund's holdings (in thousands):"


def test_a_file_read_by_an_older_table_reader_is_read_again_on_the_next_ingest(tmp_path):
    """The rows a reader finds are stored at ingest: when the readers change (their version
    in the index differs), the next ingest reads every file again, though none changed."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "water.docx").write_bytes(dm.word_docx([
        ("p", "Water drawn by region (in millions of litres)"),
        ("table", [["Region", "2020", "2021"], ["Uplands", "1,310", "1,400"]])]))
    with QA(tmp_path / "ix") as qa:
        qa.ingest(docs)

    def stored(older: bool) -> int:
        db = sqlite3.connect(tmp_path / "ix" / "manifest.sqlite3")
        with db:
            if older:  # as an index written by a reader that found no rows
                db.execute("DELETE FROM rows")
                db.execute("UPDATE meta SET value = 'rows-0' WHERE key = 'reader'")
        count = db.execute("SELECT COUNT(*) FROM rows").fetchone()[0]
        db.close()
        return count

    assert stored(older=False) == 1
    assert stored(older=True) == 0
    with QA(tmp_path / "ix") as qa:
        qa.ingest(docs)
    assert stored(older=False) == 1
