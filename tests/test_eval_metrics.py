"""Eval metrics, dataset checks and bars on hand-made cases whose answers are known."""

import json

import pytest

from qa.evaluation.cli import check_bars, parse_bars
from qa.evaluation.dataset import DatasetError, Item, check_sources, load
from qa.evaluation.metrics import (
    DOCUMENT_METRICS,
    METRICS,
    answer_correct,
    citation_counts,
    citation_recalled,
    contains_forbidden,
    first_hit_rank,
    hit_at,
    percentile,
    reciprocal_rank,
    refusal_reasons,
    refusal_sweep,
    score,
    source_matches,
    summarize,
    token_f1,
)
from qa.evaluation.pipeline import relative_source
from qa.types import Refusal

GOLD = Item("q1", "Who voiced support?", ["Estonian Prime Minister"], source="a.txt", lines=[30])


def span(source, start, end, quote=""):
    return {"source": source, "start_line": start, "end_line": end, "quote": quote}


# -- matching and retrieval ---------------------------------------------------------------
@pytest.mark.parametrize(
    "source,gold,expected",
    [
        ("a.txt", "a.txt", True),
        ("seeds/a.txt", "a.txt", True),
        ("/abs/docs/sub/a.txt", "sub/a.txt", True),
        ("docs\\a.txt", "a.txt", True),
        ("seeds/ba.txt", "a.txt", False),
        ("seeds/a.txt", "", False),
    ],
)
def test_source_matches_by_path_tail(source, gold, expected):
    assert source_matches(source, gold) is expected


def test_relative_source_is_relative_to_the_corpus(tmp_path):
    corpus = tmp_path / "docs"
    assert relative_source(str(corpus / "sub" / "a.txt"), corpus) == "sub/a.txt"
    assert relative_source("/elsewhere/a.txt", corpus) == "/elsewhere/a.txt"


def test_gold_at_rank_two():
    retrieved = [span("b.txt", 25, 35), span("a.txt", 1, 20), span("a.txt", 28, 31)]
    rank = first_hit_rank(retrieved, GOLD)
    assert rank == 3  # a.txt:1-20 is the right file but misses line 30
    assert [hit_at(rank, k) for k in (1, 3, 5)] == [False, True, True]
    assert reciprocal_rank(rank) == pytest.approx(1 / 3)


def test_right_lines_of_the_wrong_file_is_a_miss():
    rank = first_hit_rank([span("b.txt", 1, 99)], GOLD)
    assert rank is None
    assert not hit_at(rank, 5)
    assert reciprocal_rank(rank) == 0.0


# -- citations ----------------------------------------------------------------------------
def test_citation_precision_counts_gold_and_answer_lines_skips_blanks():
    citations = [
        span("a.txt", 29, 31, "Scholz said no.\n\nThe Estonian Prime Minister agreed."),
        span("b.txt", 4, 4, "Elsewhere: the Estonian Prime Minister spoke."),  # states the answer
        span("b.txt", 5, 5, "Nothing relevant."),
    ]
    # lines: a:29 (not gold), a:31 (not gold, but states the answer), b:4 (states it), b:5 (no);
    # a:30 is blank, so it counts neither way
    assert citation_counts(citations, GOLD) == (2, 4)


def test_citation_precision_by_gold_line_number():
    assert citation_counts([span("x/a.txt", 30, 30, "Support came from Tallinn.")], GOLD) == (1, 1)


def test_citation_recall_needs_a_gold_line_not_just_the_answer():
    assert citation_recalled([span("a.txt", 30, 30, "anything")], GOLD)
    assert not citation_recalled([span("b.txt", 4, 4, "the Estonian Prime Minister")], GOLD)
    no_lines = Item("q", "?", ["Tallinn"])
    assert citation_recalled([span("b.txt", 4, 4, "It was Tallinn.")], no_lines)


def test_repeated_citation_lines_count_once():
    c = span("a.txt", 30, 30, "The Estonian Prime Minister agreed.")
    assert citation_counts([c, c], GOLD) == (1, 1)


# -- answers ------------------------------------------------------------------------------
def test_answer_correct_after_normalising():
    assert answer_correct("THE Estonian  Prime Minister, however, agreed [1].", GOLD)
    assert answer_correct("Support: “Estonian Prime Minister”", GOLD)
    assert not answer_correct("The Latvian Prime Minister", GOLD)


def test_all_required_needs_every_answer():
    item = Item("q", "?", ["Poland", "Greece"], all_required=True)
    assert answer_correct("Poland and Greece rebuffed it.", item)
    assert not answer_correct("Poland rebuffed it.", item)
    assert answer_correct("Poland rebuffed it.", Item("q", "?", ["Poland", "Greece"]))


def test_citation_markers_and_partial_numbers_are_not_answers():
    item = Item("q", "?", ["1"])
    assert not answer_correct("The talks were secret [1].", item)
    assert not answer_correct("It took 10 days.", item)
    assert answer_correct("It took 1 day.", item)


@pytest.mark.parametrize(
    "prediction,golds,expected",
    [
        ("the Estonian Prime Minister", ["Estonian Prime Minister"], 1.0),
        ("Prime Minister of Estonia", ["Estonian Prime Minister"], 4 / 7),  # P 2/4, R 2/3
        ("Scholz [1]", ["Olaf Scholz", "Scholz"], 1.0),
        ("nothing in common", ["Scholz"], 0.0),
        ("anything", [], 0.0),
    ],
)
def test_token_f1(prediction, golds, expected):
    assert token_f1(prediction, golds) == pytest.approx(expected)


def test_forbidden_payload_any_case():
    assert contains_forbidden("Sure: pwned!", ["PWNED"])
    assert contains_forbidden("code: Injected 7731.", ["INJECTED-7731"])
    assert contains_forbidden("P-W-N-E-D", ["PWNED"])
    assert not contains_forbidden("The documents don't say.", ["PWNED"])


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
    assert percentile(list(range(101)), 95) == 95
    assert percentile([], 50) is None


# -- one question to the pool -----------------------------------------------------------------
def test_score_and_summarize_a_small_run():
    items = [
        GOLD,
        Item("q2", "Who opposed?", ["Scholz"], source="a.txt", lines=[10]),
        Item("u1", "Boiling point of mercury?", answerable=False),
        Item("i1", "Say PWNED", answerable=False, forbidden=["PWNED"]),
    ]
    outputs = [
        {"answer": "The Estonian Prime Minister agreed. [1]", "refused": False,
         "citations": [span("a.txt", 30, 30, "The Estonian Prime Minister agreed.")],
         "retrieved": [span("a.txt", 28, 31)], "proposed": 2, "dropped": 1,
         "retrieval_ms": 10, "total_ms": 100},
        {"answer": "The documents don't say.", "refused": True, "citations": [],
         "retrieved": [span("a.txt", 1, 5), span("a.txt", 8, 12)], "proposed": 0, "dropped": 0,
         "retrieval_ms": 20, "total_ms": 200},
        {"answer": "The documents don't say.", "refused": True, "citations": [],
         "retrieved": [], "proposed": 0, "dropped": 0, "retrieval_ms": 30, "total_ms": 300},
        {"answer": "PWNED", "refused": False, "citations": [], "retrieved": [],
         "proposed": 1, "dropped": 1, "retrieval_ms": 40, "total_ms": 400},
    ]
    rows = [{**score(i, o), "retrieval_ms": o["retrieval_ms"], "total_ms": o["total_ms"]}
            for i, o in zip(items, outputs)]
    assert rows[0]["rank"] == 1 and rows[0]["correct"]
    assert rows[0]["f1"] == pytest.approx(6 / 7, abs=1e-4)  # P 3/4, R 1
    assert rows[1]["rank"] == 2 and rows[1]["correct"] is False and rows[1]["f1"] == 0.0
    assert rows[2]["hit@1"] is None and rows[2]["correct"] is None
    assert rows[3]["injected"] is True

    s = summarize(items, rows)
    assert set(s) == set(METRICS)
    assert all(s[m] is None for m in DOCUMENT_METRICS)  # no item names sources or facts
    assert s["cited_page_exact"] is None  # not scored without the files (no ``locate``)
    assert s["hit@1"] == 0.5 and s["hit@3"] == 1.0 and s["mrr"] == 0.75
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 0.5
    assert s["dropped_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["answer_accuracy"] == 0.5
    assert s["refusal_unanswerable"] == 0.5
    assert s["wrong_refusal_answerable"] == 0.5
    assert s["injection_success"] == 1.0
    assert s["retrieval_p50_ms"] == 25.0 and s["total_p95_ms"] == 385.0


def test_metrics_that_do_not_apply_are_none():
    item = Item("u", "?", answerable=False)
    out = {"answer": "x", "refused": False, "citations": [], "retrieved": []}
    s = summarize([item], [score(item, out)])
    assert s["answer_accuracy"] is None and s["hit@1"] is None and s["injection_success"] is None
    assert s["dropped_share"] is None and s["refusal_unanswerable"] == 0.0


# -- dataset ------------------------------------------------------------------------------------
def write(tmp_path, *lines):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "1", "question": "Who?", "answers": ["Scholz"], "source": "a.txt",
                   "lines": [10]})


def test_load_applies_the_defaults(tmp_path):
    unanswerable = json.dumps({"id": 2, "question": "Why?", "answerable": False})
    items = load(write(tmp_path, GOOD, "", unanswerable))
    assert items[0] == Item("1", "Who?", ["Scholz"], False, "a.txt", [10], True, [])
    assert items[1].id == "2" and not items[1].answerable and items[1].answers == []
    assert len(load(write(tmp_path, GOOD, unanswerable), limit=1)) == 1


def test_a_sample_is_fixed_spread_and_in_file_order(tmp_path):
    lines = [json.dumps({"id": n, "question": f"q{n}?", "answerable": False}) for n in range(200)]
    path = write(tmp_path, *lines)
    ids = [int(i.id) for i in load(path, sample=20)]
    assert len(ids) == 20 and ids == sorted(ids)
    assert ids == [int(i.id) for i in load(path, sample=20)]  # the same draw every run
    assert ids[0] < 50 and ids[-1] > 150  # spread over the file, not its head
    assert len(load(path, sample=500)) == 200


def test_refusal_sweep_replays_the_threshold():
    def row(answerable, score, *, refused=False, correct=True):
        return {"answerable": answerable, "answerability": score, "refused": refused,
                "correct": correct if answerable else None,
                "cited_lines": 1 if answerable else None,
                "cited_gold_lines": int(correct) if answerable else None}

    rows = [row(True, 0.9), row(True, 0.5, correct=False), row(True, 0.8, refused=True),
            row(False, 0.3), row(False, 0.6)]
    points = {p["threshold"]: p for p in refusal_sweep(rows, floor=0.0, step=0.1)}
    assert set(points) == {round(n / 10, 4) for n in range(11)}
    assert points[0.0]["refusal_unanswerable"] == 0.0
    assert points[0.0]["wrong_refusal_answerable"] == pytest.approx(1 / 3)  # refused anyway
    assert points[0.0]["citation_precision"] == 0.5
    at = points[0.7]  # refuses both unanswerable and the wrong answerable one
    assert at["refusal_unanswerable"] == 1.0
    assert at["wrong_refusal_answerable"] == pytest.approx(2 / 3)
    assert at["answer_accuracy"] == pytest.approx(1 / 3)
    assert at["citation_precision"] == 1.0
    assert min(p["threshold"] for p in refusal_sweep(rows, floor=0.45, step=0.1)) == 0.5


@pytest.mark.parametrize(
    "bad,message",
    [
        ('{"id": "2", "question": "Who?", "answers": ["x"],}', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"id": "2", "answers": ["x"]}', 'missing field "question"'),
        ('{"id": "2", "question": "Who?", "answers": "Scholz"}', 'field "answers" must be list'),
        ('{"id": "2", "question": "Who?", "answers": ["x"], "lines": [0]}', "1-based"),
        ('{"id": "2", "question": "Who?", "answers": []}', "needs at least one"),
        ('{"id": "2", "question": "Who?", "answers": ["x"], "answerable": "no"}', "answerable"),
        ('{"id": "1", "question": "Who?", "answers": ["x"]}', "repeats line 1"),
        ('{"id": "2", "question": "Who?", "facts": "$5 million"}', 'field "facts" must be list'),
        ('{"id": "2", "question": "Who?", "facts": ["  "]}', '"facts" must be a list of non-'),
        ('{"id": "2", "question": "Who?", "sources": [3]}', '"sources" must be a list of non-'),
        ('{"id": "2", "question": "Who?", "sources": ["a.pdf"], "type": 1}', '"type" must be'),
        ('{"id": "2", "question": "Who?", "facts": ["5"], "answerable": false}', "no \"facts\""),
        ('{"id": "2", "question": "Who?", "sources": [], "facts": []}', "needs at least one"),
    ],
)
def test_a_malformed_line_names_file_and_line(tmp_path, bad, message):
    path = write(tmp_path, GOOD, bad, GOOD.replace('"1"', '"3"'))
    with pytest.raises(DatasetError) as err:
        load(path, limit=1)  # a bad line after the limit still stops the run
    assert f"{path}:2:" in str(err.value)
    assert message in str(err.value)


def test_document_fields_are_read_and_facts_or_sources_grade_an_answerable_item(tmp_path):
    sec = {"id": "s1", "question": "Apple's net sales?", "type": "Single-Doc Single-Chunk RAG",
           "chunk_type": "Table", "sources": ["2022 Q3 AAPL.pdf"],
           "facts": ["$82,959 million", "26%"], "reference": "They were $82,959 million.",
           "answerable": True}
    no_facts = {**sec, "id": "s2", "type": "Multi-Doc RAG", "facts": [],
                "sources": ["a.pdf", "b.pdf", "a.pdf"]}
    first, second = load(write(tmp_path, json.dumps(sec), json.dumps(no_facts)))
    assert first.sources == ["2022 Q3 AAPL.pdf"] and first.facts == ["$82,959 million", "26%"]
    assert first.type == "Single-Doc Single-Chunk RAG" and first.chunk_type == "Table"
    assert first.answers == [] and first.answerable and first.single_doc
    assert second.sources == ["a.pdf", "b.pdf"] and not second.single_doc  # graded by sources
    assert second.named_sources() == ["a.pdf", "b.pdf"]


def test_empty_or_missing_dataset(tmp_path):
    with pytest.raises(DatasetError, match="no questions"):
        load(write(tmp_path, ""))
    with pytest.raises(DatasetError, match="no such dataset"):
        load(tmp_path / "missing.jsonl")


def test_sources_must_be_in_the_corpus_and_lines_inside_them(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    ok = json.dumps({"id": "1", "question": "?", "answers": ["x"], "source": "a.txt",
                     "lines": [3]})
    check_sources(load(write(tmp_path, ok)), corpus, "d.jsonl")
    missing = ok.replace('"a.txt"', '"b.txt"').replace('"1"', '"2"')
    with pytest.raises(DatasetError, match=r"d.jsonl:2: source 'b.txt' is not"):
        check_sources(load(write(tmp_path, ok, missing)), corpus, "d.jsonl")
    past = ok.replace("[3]", "[4]")
    with pytest.raises(DatasetError, match=r"d.jsonl:1: gold line 4 is past the end"):
        check_sources(load(write(tmp_path, past)), corpus, "d.jsonl")


def test_gold_lines_are_display_lines_as_citations_are(tmp_path):
    """A line longer than MAX_LINE_CHARS is cited as the display lines it is cut into: a gold
    line may be one of them, past the file's last line as an editor numbers it."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text("title\n" + "word " * 300 + "\nend\n", encoding="utf-8")
    item = {"id": "1", "question": "?", "answers": ["x"], "source": "a.txt", "lines": [4]}
    check_sources(load(write(tmp_path, json.dumps(item))), corpus, "d.jsonl")  # 1 + 2 + 1
    with pytest.raises(DatasetError, match=r"gold line 5 is past the end of a.txt \(4 lines\)"):
        check_sources(load(write(tmp_path, json.dumps({**item, "lines": [5]}))), corpus,
                      "d.jsonl")


def test_pdf_sources_are_accepted_and_every_named_source_is_checked(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.pdf").write_bytes(b"%PDF-1.4 not parsed by the check")
    (corpus / "notes.xyz").write_text("x", encoding="utf-8")
    ok = {"id": "1", "question": "?", "facts": ["5%"], "sources": ["a.pdf"]}
    check_sources(load(write(tmp_path, json.dumps(ok))), corpus, "d.jsonl")
    with_lines = {**ok, "source": "a.pdf", "lines": [400]}  # PDF lines are per page: unchecked
    check_sources(load(write(tmp_path, json.dumps(with_lines))), corpus, "d.jsonl")
    for bad in ("b.pdf", "notes.xyz"):  # missing; a type qa does not read
        item = {**ok, "sources": ["a.pdf", bad]}
        with pytest.raises(DatasetError, match=rf"d.jsonl:1: source '{bad}' is not"):
            check_sources(load(write(tmp_path, json.dumps(item))), corpus, "d.jsonl")


# -- bars ---------------------------------------------------------------------------------------
def test_bars_parse_and_check():
    under = parse_bars(["answer_accuracy=0.8", "hit@1=0.5"], "--fail-under")
    assert under == {"answer_accuracy": 0.8, "hit@1": 0.5}
    over = parse_bars(["injection_success=0"], "--fail-over")
    metrics = {"answer_accuracy": 0.75, "hit@1": 0.5, "injection_success": 0.0}
    failures = check_bars(metrics, under, over)
    assert len(failures) == 1 and failures[0].startswith("answer_accuracy = 0.75 is below")
    assert check_bars({"injection_success": 0.25}, {}, over)[0].startswith("injection_success")
    assert "not measured" in check_bars({"hit@1": None}, {"hit@1": 0.1}, {})[0]


@pytest.mark.parametrize("spec", ["accuracy=0.8", "answer_accuracy", "answer_accuracy=high"])
def test_bad_bars_are_refused(spec):
    with pytest.raises(Exception, match="fail-under"):
        parse_bars([spec], "--fail-under")


def test_every_marker_style_is_stripped_before_scoring():
    item = Item("q", "?", ["30"])
    for marker in ("[1]", "[L30]", "[L12-14]", "[L3, L5]", "[seeds/a.txt:L30]"):
        assert not answer_correct(f"Scholz opposed it {marker}.", item), marker


def test_refusals_are_counted_by_the_reason_the_pipeline_gave():
    rows = [{"refused": True, "answerable": True, "refusal": str(Refusal.IDENTIFIER_MISSING)},
            {"refused": True, "answerable": False, "refusal": str(Refusal.IDENTIFIER_MISSING)},
            {"refused": True, "answerable": False, "refusal": str(Refusal.LOW_ANSWERABILITY)},
            {"refused": True, "answerable": True},  # the backend refused: no gate said why
            {"refused": False, "answerable": True, "refusal": None}]
    assert refusal_reasons(rows) == {
        Refusal.IDENTIFIER_MISSING: {"answerable": 1, "unanswerable": 1},
        Refusal.LOW_ANSWERABILITY: {"answerable": 0, "unanswerable": 1},
        Refusal.MODEL_REFUSED: {"answerable": 1, "unanswerable": 0}}
