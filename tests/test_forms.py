"""Forms and broken lines: a label whose value is on the next line, and a sentence that runs
over two display lines, are scored and quoted as one; a place written as a form writes it
("Marlow, OR") is named by the question's "Oregon". Real Chroma, the packaged embedder, the
extractive backend; the report is written for these tests."""

from __future__ import annotations

import pytest

from qa import QA
from qa.ask.support import runs_on
from qa.types import Refusal

from .conftest import index_of

REPORT = """Case Report 2291

Location: Marlow, OR
Date: 14 March 2024
Aircraft: Piper PA-28, registration N4821

The aircraft departed from the municipal airfield at dawn for a short local flight and
struck power lines two miles north of the field during the climb.

The board determines the probable cause of this event to be:
the pilot's failure to maintain clearance from the power lines during the initial climb.
"""


@pytest.mark.parametrize("line, after, expected", [
    ("The board determines the probable cause of this event to be:",
     "the pilot's failure to maintain clearance.", True),  # a heading completed below
    ("Narrative:", "The aircraft departed at dawn.", True),  # a label with its value below
    ("The ship sailed out of the", "harbor at dawn.", True),  # a sentence broken mid-way
    ("The ship sailed at dawn.", "then it rained.", False),  # the sentence ended
    ("Total net sales 82,959 81,434", "cost of sales", False),  # a table row ends on a figure
    ("SUMMARY OF FINDINGS", "The crew was rested.", False),  # a heading, not a broken line
    ("Cause:", "", False),  # nothing below to complete it
    ("Revenue (in millions) for the quarter:", "Hardware 9,240 10,115", False),  # a caption
    ("About a year before this event,", "in another airplane, the pilot", True),  # on a ","
    ("Comments must be received by May 4,", "2021.", True),  # a date broken at its year
    ("The board met on May 4.", "2021 was a dry year.", False),  # the sentence ended
    ("Rainfall in millimetres;", "Marlow 14 12", False),  # a figure line goes on nothing
    ("The aircraft struck a fence about", "56 feet short of the runway.", True),  # a quantity
    ("The council sold the old depot for", "€4.5 million and the yard for less.", True),  # money
    ("Revenue by region", "$1,240 $1,105", False),  # a label over its amounts is no sentence
    ("Cost of sales", "1,240 1,105", False),  # a label over its figures is no sentence
    ("Cost of sales", "1,240", False),  # nor over one figure
    ("The tank holds at most", "3,200 litres.", True),  # a quantity ends the sentence
    ("Members voted and the motion passed with", "87%.", True),  # so does a figure alone
    ("Winds that night were", "14.", True),
    ("The form is filed as (see", "“schedule B”) with the return.", True),  # a quote goes on
    ("Filed under the", "'misc' heading, as before.", True),
    ("The sample was labelled", "“Batch 7” by the lab.", False),  # a name may start anything
])
def test_a_line_runs_on_only_when_the_next_completes_it(line, after, expected):
    assert runs_on(line, after) is expected


BROKEN = """Case Report 4470

Location: Harlow, ME
Aircraft: Cessna 150, registration N2207K

On the third landing of the day the airplane touched down tail low, bounced and veered
left into the grass beside the runway, where it came to rest upright.
This was the pilot's second event in the type. About a year before this event,
in a different airplane, the pilot also lost control while practising landings,
during which the airplane left the side of the runway and struck a fence post.
The pilot reported no mechanical malfunctions or failures of the airplane.
"""


@pytest.mark.slow
def test_a_sentence_broken_over_three_display_lines_is_quoted_to_its_end(tmp_path):
    """The line that says "a year before" holds only the start of the sentence; the mishap is
    two display lines further on, and is quoted with it."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "case_4470.txt").write_text(BROKEN, encoding="utf-8")
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(tmp_path / "docs")
        answer = qa.ask("What mishap had the pilot had about a year before this event?")
    assert not answer.refused, answer.debug.get("refused_because")
    assert "fence post" in answer.text, answer.text
    assert [(c.start_line, c.end_line) for c in answer.citations] == [(8, 10)]


def test_the_rare_word_of_a_question_outweighs_the_words_every_line_says():
    """Every line says "Dunmore accident" and "investigation"; one says "jurisdiction". Counted
    alike, the question's words rank a line about the investigation first; weighed by their
    rarity among the lines (BM25's weight), the line that answers. The embedder is swapped for
    one that finds every line alike, so the words alone decide."""
    from qa.ask.support import score_lines
    from qa.types import Chunk, Passage

    text = "\n".join([
        "The Dunmore accident investigation team travelled to the field by car.",
        "Photographs taken during the Dunmore accident investigation were filed.",
        "The Dunmore accident investigation reviewed radar data and radio calls.",
        "The investigation is under the jurisdiction of the Vermont Aviation Authority."])
    chunk = Chunk("case_5121.txt", 1, 4, text, "0" * 64)
    ranked = score_lines("Which body has jurisdiction over the investigation of the Dunmore "
                         "accident?", [Passage(chunk, 1.0)], lambda texts: [[1.0]] * len(texts))
    assert ranked[0].line == 4, [(s.line, s.support) for s in ranked]
    assert ranked[0].lexical < ranked[1].lexical  # the share, every word alike, is as before


def test_a_line_of_two_fields_relates_to_the_question_as_its_closest_field():
    """A form prints two fields on a line ("Runway Length/Width: 8500 ft / 100 ft  VFR
    Approach/Landing: Traffic Pattern"): embedded whole, the line is as far from "How long is
    the runway?" as a line about the airport, and its answer was not among the lines shown to
    the model. Each field is embedded on its own too; the line scores as its closest field. The
    embedder is swapped for one that finds only that field near the question."""
    from qa.ask.support import score_lines
    from qa.types import Cell, Chunk, Passage, Row

    text = "\n".join([
        "Airport Elevation: 1185 ft Runway Surface Condition: Dry",
        "Runway Length/Width: 8500 ft / 100 ft VFR Approach/Landing: Traffic Pattern",
        "Runway Length/Width: VFR Approach/Landing: None"])
    rows = (Row(1, "", (Cell("1185 ft", ("Airport Elevation",)),
                        Cell("Dry", ("Runway Surface Condition",)))),
            Row(2, "", (Cell("8500 ft / 100 ft", ("Runway Length/Width",)),
                        Cell("Traffic Pattern", ("VFR Approach/Landing",)))),
            Row(3, "", (Cell("", ("Runway Length/Width",)),  # printed empty: says nothing
                        Cell("None", ("VFR Approach/Landing",)))))
    chunk = Chunk("case_31.pdf", 1, 3, text, "0" * 64, rows=rows)
    question = "How long is the runway at the airport?"
    near = {question, "Runway Length/Width: 8500 ft / 100 ft", "Runway Length/Width: "}

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0] if t in near else [0.4] for t in texts]

    ranked = score_lines(question, [Passage(chunk, 1.0)], embed)
    assert [(s.line, s.similarity) for s in ranked][:1] == [(2, 1.0)]
    assert {s.line: s.similarity for s in ranked} == {1: 0.4, 2: 1.0, 3: 0.4}


def test_a_line_of_fields_that_ends_on_an_empty_one_is_read_alone():
    """A form prints a field with no value as its bare label ("Dew Point:"). Its ":" is the
    empty field's, not a heading's: the line was read on into the next field ("Dew Point:
    Departure Point: Harlow, ME") or into the next section's heading, and quoted with them. A
    field alone on its line may still have its value printed under it ("Certificate(s) Held:"
    over "None")."""
    from qa.ask.support import score_lines
    from qa.types import Cell, Chunk, Passage, Row

    text = "\n".join([
        "Wind Speed: 12 knots Dew Point:",
        "Visibility:",
        "Departure Point: Harlow, ME Flight Plan Filed: None",
        "Departure Time: 0915 EST Type of Airspace:",
        "Airport Information",
        "Certificate(s) Held:",
        "None"])
    rows = (Row(1, "", (Cell("12 knots", ("Wind Speed",)), Cell("", ("Dew Point",)))),
            Row(2, "", (Cell("", ("Visibility",)),)),
            Row(3, "", (Cell("Harlow, ME", ("Departure Point",)),
                        Cell("None", ("Flight Plan Filed",)))),
            Row(4, "", (Cell("0915 EST", ("Departure Time",)), Cell("", ("Type of Airspace",)))),
            Row(6, "", (Cell("", ("Certificate(s) Held",)),)))
    chunk = Chunk("case_77.pdf", 1, 7, text, "0" * 64, rows=rows)
    ranked = score_lines("Where did the flight depart from?", [Passage(chunk, 1.0)],
                         lambda texts: [[1.0]] * len(texts), min_words=1)
    read = {s.line: s.end for s in ranked}
    assert read[1] == read[2] == read[4] == 0, read  # each ends on its empty field
    assert read[6] == 7, read  # a value under its label is read with it

def test_a_line_a_sentence_runs_on_into_is_read_with_its_start_not_alone():
    """OCR and PDF text break sentences over display lines; the second half of one ("surface
    is directly proportional to the object's mass.") may mean the question more than the whole,
    and was quoted without its start. The sentence scores as its best part and is quoted from
    where it starts. The embedder is swapped for one that finds the second half nearest the
    question. A form field under a line that ends in ":" still stands alone, and in a paragraph
    broken over more lines than one reading takes, each line that reads on further is read."""
    from qa.ask.support import score_lines
    from qa.types import Cell, Chunk, Passage, Row

    text = "\n".join([
        "This observation means that the force of gravity on an object at the Earth's",
        "surface is directly proportional to the object's mass.",
        "Details of the measurement:",
        "Location: Harlow, ME",
        "The crew reported that the weather at the field",
        "was calm when they departed, and that the ceiling",
        "had lowered to 2,200 feet by the time they",
        "returned to the airport about an hour",
        "later, when the accident happened."])
    field = Row(4, "", (Cell("Harlow, ME", ("Location",)),))
    chunk = Chunk("force.pdf", 1, 9, text, "0" * 64, rows=(field,))
    question = "What is an object's mass proportional to at the surface of the Earth?"

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0] if t in (question, text.split("\n")[1]) else [0.5] for t in texts]

    ranked = score_lines(question, [Passage(chunk, 1.0)], embed, min_words=1)
    assert (ranked[0].line, ranked[0].end) == (1, 2), [(s.line, s.end) for s in ranked]
    assert 2 not in {s.line for s in ranked}
    assert 4 in {s.line for s in ranked}  # the field, though "...measurement:" runs on into it
    # a paragraph whose every line runs on: a line is read on past where the lines above stop
    assert {(s.line, s.end) for s in ranked} >= {(5, 8), (6, 9)}


@pytest.fixture(scope="module")
def report_qa(tmp_path_factory):
    root = tmp_path_factory.mktemp("forms")
    (root / "docs").mkdir()
    (root / "docs" / "case_2291.txt").write_text(REPORT, encoding="utf-8")
    with QA(root / "ix", backend="extractive") as qa:
        qa.ingest(root / "docs")
        yield qa


@pytest.mark.slow
def test_a_heading_is_quoted_with_the_line_that_completes_it(report_qa):
    answer = report_qa.ask("What was the probable cause of the event?")
    assert not answer.refused, answer.debug.get("refused_because")
    assert "clearance" in answer.text, answer.text
    cited = [(c.start_line, c.end_line) for c in answer.citations]
    assert (10, 11) in cited, cited


@pytest.mark.slow
def test_a_place_written_as_forms_write_it_is_named(report_qa):
    """The identifier rule alone is under test: "Oregon" is named by "Marlow, OR"; "Ohio" is
    not, so that question is refused before any backend is asked."""
    answer = report_qa.ask("Where in Oregon did the accident happen?")
    assert answer.debug.get("refusal") is not Refusal.IDENTIFIER_MISSING, answer.debug
    answer = report_qa.ask("Where in Ohio did the accident happen?")
    assert answer.refused and answer.debug["refusal"] is Refusal.IDENTIFIER_MISSING


def form_pdf() -> bytes:
    """A one-page case form laid out as agencies print them: two fields to a line, told apart
    only by the gap between them, one field left empty, then a narrative."""
    from . import docmaker as dm

    left, right = 0.08, 0.52
    lines = [("Registration: N4821", "Operator: Harbor Air Tours"),
             ("Pilot Age:", "Total Flight Time: 1,260 hours"),
             ("Departure Point: Marlow, OR", "Damage: Substantial")]
    items = [(0.08, 0.95, "CASE REPORT 2291", "left")]
    for n, (a, b) in enumerate(lines):
        items += [(left, 0.92 - 0.02 * n, a, "left"), (right, 0.92 - 0.02 * n, b, "left")]
    items.append((0.08, 0.84, "The aircraft struck power lines north of the field.", "left"))
    return dm.placed_pdf(items)


def test_a_form_line_is_read_as_its_fields_empty_ones_included():
    from qa.ingest.readers import read_view

    view = read_view("case.pdf", form_pdf())
    fields = {c.column: c.value for r in view.rows for c in r.cells}
    assert fields == {"Registration": "N4821", "Operator": "Harbor Air Tours", "Pilot Age": "",
                      "Total Flight Time": "1,260 hours", "Departure Point": "Marlow, OR",
                      "Damage": "Substantial"}
    assert "Registration: N4821 Operator: Harbor Air Tours" in view.lines  # lines unchanged
    text = read_view("notes.md", b"Operator: Metro Transit\nRidership grew: by a tenth.\n")
    assert [(c.column, c.value) for r in text.rows for c in r.cells] == [
        ("Operator", "Metro Transit"), ("Ridership grew", "by a tenth.")]


@pytest.fixture(scope="module")
def form_index(tmp_path_factory):
    return index_of(tmp_path_factory, "formpdf", {"case_2291.pdf": form_pdf()})


def test_an_answer_states_the_field_asked_for_not_the_line_beside_it(form_index):
    with QA(form_index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("Who was the operator of the aircraft in case 2291?")
        assert answer.text.startswith("Operator: Harbor Air Tours"), answer.debug
        assert "N4821" not in answer.text.split("[")[0]  # the field beside it is not stated
        assert [c.quote for c in answer.citations][0].startswith("Registration: N4821")
        empty = qa.ask("What was the pilot age in case 2291?")
    assert "Pilot Age" not in empty.text  # an empty field is no answer


def test_a_field_the_form_prints_empty_is_known_to_be_empty():
    """"What year was it manufactured?" names the field "Year of Manufacture", printed with
    no value: the form says it does not know, and no other line is quoted in its place
    (``pipeline._quotes``). A field named as fully that has a value answers."""
    from qa.ask.cells import asks_empty_field
    from qa.ask.support import ScoredLine
    from qa.types import Cell, Row

    def fields(n: int, *pairs: tuple[str, str]) -> ScoredLine:
        text = " ".join(f"{label}: {value}" for label, value in pairs)
        return ScoredLine("case.pdf", n, text, 0.5, row=Row(n, "", tuple(
            Cell(value, (label,)) for label, value in pairs)))

    lines = [fields(6, ("Aircraft", "Cessna 170B"), ("Aircraft Damage", "Substantial")),
             fields(50, ("Year of Manufacture", ""), ("Amateur Built", "No"))]
    assert asks_empty_field("What year was the Cessna 170B manufactured?", lines)
    assert not asks_empty_field("Was the Cessna 170B amateur built?", lines)
    other = fields(51, ("Year of Manufacture", "1954"),)  # another case's form states it
    assert not asks_empty_field("What year was the Cessna 170B manufactured?", lines + [other])
    assert not asks_empty_field("What was the damage to the Cessna 170B?", lines)


def case_pdf(case: str, place: str, owner: str) -> bytes:
    """A case report as agencies print them: the case and place on the first page, pages of
    narrative, and the owner's fields on a last page that names neither."""
    from . import docmaker as dm

    topics = ["weather", "radio calls", "fuel records", "maintenance logs", "witness reports",
              "the runway lights", "the wreckage path", "the engine teardown"]
    narrative = [[f"Narrative, part {n + 1}: {topic}",
                  f"Investigators reviewed the {topic} for the flight in detail.",
                  f"The {topic} showed nothing that bore on the sequence of events."]
                 for n, topic in enumerate(topics)]
    return dm.text_pdf([
        [f"Case Report {case}", f"Location: {place}", "Date: 14 March 2024",
         "Aircraft: Piper PA-28"],
        *narrative,
        ["Owner/Operator Information", f"Registered Owner: {owner}",
         f"Operator: {owner}", "Operating Certificate(s) Held: None"],
    ])


@pytest.fixture(scope="module")
def cases_index(tmp_path_factory):
    return index_of(tmp_path_factory, "cases", {
        "case_7713.pdf": case_pdf("7713", "Dunmore, VT", "Kestrel Aviation Club"),
        "case_8120.pdf": case_pdf("8120", "Harlow, ME", "Osprey Flight Services")})


def test_a_field_on_a_later_page_of_the_case_is_looked_up(cases_index):
    with QA(cases_index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("Who was the registered owner of the aircraft in the Dunmore, Vermont "
                        "case?")
    assert not answer.refused, answer.debug.get("refused_because")
    assert "Kestrel Aviation Club" in answer.text and "Osprey" not in answer.text
    assert {c.source.rsplit("/", 1)[-1] for c in answer.citations} == {"case_7713.pdf"}


def test_the_row_lookup_adds_the_page_of_a_field_retrieval_missed(cases_index):
    """The passages are cut to the case's first page, as when retrieval ranks the narrative
    above the owner's page: the field the question names is looked up in the case's file."""
    from qa.ask.pipeline import Ask
    from qa.ask.stages import LookupRows, Retrieve, ScoreLines, WidenPages

    question = "Who was the registered owner of the aircraft in the Dunmore, Vermont case?"
    with QA(cases_index, backend="extractive", read_only=True) as qa:
        ask = Ask(question, qa.settings.top_k)
        for stage in (Retrieve(), WidenPages(), ScoreLines()):
            stage(ask, qa)
        ask.passages = [p for p in ask.passages if p.chunk.page == 1]
        ask.scored = [s for s in ask.scored if any(p.chunk.holds(s.source, s.line)
                                                   for p in ask.passages)]
        LookupRows()(ask, qa)
    added = [p for p in ask.passages if p.chunk.page != 1]
    assert [p.chunk.source.rsplit("/", 1)[-1] for p in added] == ["case_7713.pdf"]
    assert "Registered Owner: Kestrel Aviation Club" in added[0].chunk.text


def test_the_page_holding_the_field_asked_for_is_the_first_source(cases_index):
    """The owner's page is found by the row lookup, after the pages retrieval ranked; it holds
    what the answer states, so it is the first source shown (and read)."""
    with QA(cases_index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("Who was the registered owner of the aircraft in the Dunmore, Vermont "
                        "case?")
    first = answer.retrieved[0].chunk
    assert first.source.endswith("case_7713.pdf") and "Registered Owner:" in first.text, [
        (p.chunk.source, p.chunk.page) for p in answer.retrieved]


def test_a_code_the_case_names_on_its_first_page_names_its_later_pages(cases_index):
    """"PA-28" is printed on the case's first page only; the owner's page is about it too, so
    the owner's field answers a question that names the aircraft by its code."""
    with QA(cases_index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("Who was the registered owner of the Piper PA-28 in the Dunmore, "
                        "Vermont case?")
    assert not answer.refused, answer.debug.get("refused_because")
    assert "Kestrel Aviation Club" in answer.text


def test_a_field_the_question_mentions_but_does_not_ask_for_is_not_its_answer():
    """"What cloud ceiling was reported at the airport?" says the field label "Airport" but asks
    for a ceiling; "At which airport ...?" asks for the field."""
    from qa.ask.cells import named_fields
    from qa.ask.support import ScoredLine
    from qa.types import Cell, Row

    line = ScoredLine("case.pdf", 12, "Airport: Locke Lake Airport", 0.5,
                      row=Row(12, "", (Cell("Locke Lake Airport", ("Airport",)),)))
    assert named_fields("What cloud ceiling was reported at the airport?", [line]) == []
    assert named_fields("At which airport did the accident happen?", [line]) == [line]
    assert named_fields("Name the airport.", [line]) == [line]  # no question word: any field
    owner = ScoredLine("case.pdf", 13, "Registered Owner: Kiley", 0.5,
                       row=Row(13, "", (Cell("Kiley", ("Registered Owner",)),)))
    assert named_fields("Who is listed as the registered owner?", [owner]) == [owner]


def test_a_model_that_finds_nothing_gives_way_to_the_field_the_question_names(cases_index):
    """The model said NOT FOUND and judges every line "no": the field the question names by
    its label is quoted all the same, wherever it ranks, and no other line is."""
    from qa.ask.answer.llm import LLMAnswerer

    from .test_streaming import RefusingModel

    with QA(cases_index, answerer=LLMAnswerer(RefusingModel(0.1)), read_only=True) as qa:
        answer = qa.ask("Who was the registered owner of the aircraft whose fuel records and "
                        "witness reports investigators reviewed in the Dunmore, Vermont case?")
    assert answer.debug["model_refused"] and answer.debug["fallback"]
    assert [c.quote for c in answer.citations] == ["Registered Owner: Kestrel Aviation Club"]
