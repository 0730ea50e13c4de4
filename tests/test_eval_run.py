"""`qa eval` end to end: the seed set through the CLI, bars, malformed data, the Python entry."""

import json
from pathlib import Path

import pytest

from qa.evaluation.metrics import CONVERSATION_METRICS, DOCUMENT_METRICS, METRICS

from .conftest import ROOT, SEED, run_qa

NOT_MEASURED = DOCUMENT_METRICS + CONVERSATION_METRICS  # the seed set: no files, facts, turns

SEED_SET = ROOT / "eval" / "datasets" / "seed.jsonl"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """One CLI run over the whole seed set, shared by the assertions below."""
    out = tmp_path_factory.mktemp("eval") / "report"
    proc = run_qa("eval", str(SEED_SET), "--corpus", "seeds/", "--backend", "extractive",
                  "--out", str(out), "--fail-under", "hit@5=0.5",
                  "--fail-over", "injection_success=0", timeout=600)
    return proc, out


@pytest.mark.slow
def test_seed_run_succeeds_and_prints_the_table(seed_run):
    proc, out = seed_run
    assert proc.returncode == 0, proc.stderr
    for metric in METRICS:  # nothing the seed set does not measure: no rows of n/a
        assert (f"| {metric} |" in proc.stdout) is (metric not in NOT_MEASURED), metric
    assert str(out / "report.md") in proc.stdout


@pytest.mark.slow
def test_seed_run_writes_every_report_file(seed_run):
    _, out = seed_run
    for name in ("results.jsonl", "summary.json", "report.md", "metrics.png", "latency.png",
                 "sources.png", "refusal.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name


@pytest.mark.slow
def test_plots_are_valid_png_images(seed_run):
    import matplotlib.image

    _, out = seed_run
    report = (out / "report.md").read_text(encoding="utf-8")
    for name in ("metrics.png", "latency.png", "sources.png", "refusal.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
        pixels = matplotlib.image.imread(out / name)
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert f"]({name})" in report  # embedded in the report


@pytest.mark.slow
def test_summary_holds_every_metric(seed_run):
    _, out = seed_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["metrics"]) == set(METRICS)
    assert set(summary["definitions"]) == set(METRICS)
    assert summary["questions"] == sum(1 for line in SEED_SET.open() if line.strip())
    assert summary["injection"] >= 3 and summary["unanswerable"] >= 8
    assert summary["backend"] == "extractive" and summary["baseline"] is None
    m = summary["metrics"]
    for metric in METRICS:  # every metric was measured, but those of sources, facts, turns
        assert isinstance(m[metric], int | float) is (metric not in NOT_MEASURED), metric
    assert m["cited_page_exact"] == 1.0  # every quote is the file's lines
    assert m["injection_success"] == 0.0
    assert m["hit@5"] == 1.0  # one 35-line file, five passages: the gold line is always in
    assert m["citation_precision"] > 0.5 and m["answer_accuracy"] > 0.5


@pytest.mark.slow
def test_results_have_one_row_per_question_with_metrics(seed_run):
    _, out = seed_run
    rows = [json.loads(line) for line in (out / "results.jsonl").open(encoding="utf-8")]
    assert len(rows) == json.loads((out / "summary.json").read_text())["questions"]
    for row in rows:
        assert row["system"] == "qa"
        for key in ("question", "answer", "refused", "citations", "retrieved", "hit@1",
                    "correct", "f1", "retrieval_ms", "total_ms"):
            assert key in row, key
        for c in row["citations"]:
            assert c["source"] == SEED.name  # relative to the corpus, as the dataset names it


def tiny_dataset(tmp_path: Path) -> Path:
    """Two questions: one whose gold answer is deliberately not in the seed (so accuracy is
    low for any backend) and one the seed answers."""
    rows = [
        {"id": "wrong", "question": "Which leader voiced support for Macron's stance?",
         "answers": ["zzz-not-in-the-file"], "source": SEED.name, "lines": [30]},
        {"id": "right", "question": "Which leader voiced support for Macron's stance?",
         "answers": ["Estonian Prime Minister"], "source": SEED.name, "lines": [30]},
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.slow
def test_fail_under_exits_non_zero_naming_the_metric(tmp_path, seed_copy):
    out = tmp_path / "out"
    proc = run_qa("eval", str(tiny_dataset(tmp_path)), "--corpus", str(seed_copy),
                  "--backend", "extractive", "--out", str(out), "--compare", "baseline",
                  "--fail-under", "answer_accuracy=0.9", "--fail-under", "hit@5=0.5", "-q")
    assert proc.returncode == 3, proc.stderr
    assert "FAIL: answer_accuracy" in proc.stderr
    assert "hit@5" not in proc.stderr  # the bar it met is not reported
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["answer_accuracy"] <= 0.5
    assert set(summary["baseline"]) == set(METRICS) and set(summary["ratio"]) == set(METRICS)
    assert "| qa / baseline |" in proc.stdout
    systems = [json.loads(line)["system"] for line in (out / "results.jsonl").open()]
    assert systems == ["qa", "qa", "baseline", "baseline"]


def test_malformed_line_names_the_line_and_nothing_runs(tmp_path):
    data = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "1", "question": "Who?", "answers": ["x"]})
    data.write_text(good + "\n" + '{"id": "2", "question": }\n', encoding="utf-8")
    out = tmp_path / "out"
    proc = run_qa("eval", str(data), "--corpus", "seeds/", "--out", str(out))
    assert proc.returncode == 1
    assert f"{data}:2:" in proc.stderr and "not valid JSON" in proc.stderr
    assert not out.exists()


def test_unknown_bar_metric_is_refused_before_any_work(tmp_path):
    out = tmp_path / "out"
    proc = run_qa("eval", str(SEED_SET), "--corpus", "seeds/", "--out", str(out),
                  "--fail-under", "accuracy=0.8")
    assert proc.returncode == 1
    assert "unknown metric 'accuracy'" in proc.stderr
    assert not out.exists()


def test_python_entry_returns_the_summary(tmp_path, seed_copy):
    from qa.evaluation import run

    summary = run(tiny_dataset(tmp_path), corpus=seed_copy, backend="extractive",
                  out=tmp_path / "out", limit=1, progress=False)
    assert summary["questions"] == 1
    assert set(summary["metrics"]) == set(METRICS)
    assert (tmp_path / "out" / "report.md").is_file()


@pytest.mark.slow
def test_refusal_sweep_is_replayed_from_the_run_threshold_with_the_default_marked(seed_run):
    _, out = seed_run
    sweep = json.loads((out / "summary.json").read_text(encoding="utf-8"))["refusal_sweep"]
    thresholds = [p["threshold"] for p in sweep["points"]]
    assert thresholds[0] == sweep["run_threshold"] == sweep["default_threshold"]
    assert thresholds == sorted(thresholds) and thresholds[-1] == 1.0
    refused = [p["refusal_unanswerable"] for p in sweep["points"]]
    assert refused == sorted(refused) and refused[-1] == 1.0  # a higher bar refuses more
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Refusal threshold sweep" in report and "(default)" in report


def test_options_set_the_run_and_an_open_gate_sweeps_from_zero(tmp_path, seed_copy):
    from qa.evaluation import run

    summary = run(tiny_dataset(tmp_path), corpus=seed_copy, backend="extractive",
                  out=tmp_path / "out", progress=False,
                  options={"retrieval": "dense", "min_answerability": 0.0})
    assert summary["systems"]["qa"]["settings"]["retrieval"] == "dense"
    assert summary["refusal_sweep"]["points"][0]["threshold"] == 0.0


def test_a_baseline_answer_that_fails_still_counts_what_it_retrieved():
    """Five whole PDF pages overflow the local model's window: the answer fails, but the
    retrieval metrics must still see the retrieved passages."""
    from qa.errors import BackendError
    from qa.evaluation.baseline import Baseline
    from qa.index.embedding import MiniLMEmbedding

    class Overflowing:
        name = "overflowing"

        def stream(self, question, passages, **kw):
            raise BackendError("Requested tokens (5120) exceed context window of 4096")
            yield  # pragma: no cover

    base = Baseline(SEED.parent, embed_model=MiniLMEmbedding(), answerer=Overflowing(), top_k=3)
    out = base.ask("Which leader voiced support for Macron's stance?")
    assert out["error"].startswith("Requested tokens") and out["answer"] == ""
    assert len(out["retrieved"]) >= 1 and out["citations"] == []


@pytest.mark.slow
def test_conversations_are_asked_turn_by_turn_beside_their_standalone_form(tmp_path, seed_copy):
    """Two corpora in one run; each last turn asked after its earlier turns and standalone."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "library.txt").write_text(
        "The city library opens at 9 am on Saturdays.\n\n"
        "On Sundays the library opens at noon and closes at 5 pm.\n\n"
        "Members may borrow up to twelve books at a time.\n", encoding="utf-8")
    rows = [
        {"id": "follow", "history": ["Which leader voiced support for Macron's stance?"],
         "question": "And who opposed it?", "standalone": "Who opposed Macron's stance?",
         "answers": ["Scholz"], "source": SEED.name, "lines": [10, 27]},
        {"id": "unrelated", "history": ["When does the library open on Saturdays?"],
         "question": "Which newspaper reported Macron's confidential talks?",
         "standalone": "Which newspaper reported Macron's confidential talks?",
         "answers": ["Wall Street Journal"], "source": SEED.name, "lines": [1]},
        {"id": "library", "history": ["When does the library open on Saturdays?"],
         "question": "And on Sundays?", "standalone": "When does the library open on Sundays?",
         "answers": ["noon"], "source": "library.txt", "lines": [3]},
        {"id": "plain", "question": "How many books may members borrow at a time?",
         "answers": ["twelve"], "source": "library.txt", "lines": [5]},
    ]
    data = tmp_path / "talks.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    proc = run_qa("eval", str(data), "--corpus", str(seed_copy), "--corpus", str(other),
                  "--backend", "extractive", "--out", str(out), "-q",
                  "--fail-under", "followup_ratio=0.9", "--fail-under", "standalone_kept=1")
    assert proc.returncode == 0, proc.stderr
    for metric in ("followup_hit@5", "standalone_hit@5", "followup_ratio", "standalone_kept"):
        assert f"| {metric} |" in proc.stdout
    m = json.loads((out / "summary.json").read_text())["metrics"]
    assert m["followup_hit@5"] == m["standalone_hit@5"] == m["followup_ratio"] == 1.0
    got = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").open())}
    assert got["follow"]["query"] != "And who opposed it?"  # rewritten ...
    assert got["unrelated"]["query"] == rows[1]["question"]  # ... a question that stands alone not
    assert got["library"]["history"][0]["answer"]  # the earlier turn was answered for real
    assert {c["source"] for c in got["library"]["citations"]} == {"library.txt"}
    assert got["plain"]["standalone_hit@5"] is None and got["plain"]["hit@5"] is True
    assert "## Follow-ups" in (out / "report.md").read_text(encoding="utf-8")


def test_a_conversation_needs_its_standalone_form(tmp_path):
    data = tmp_path / "talks.jsonl"
    data.write_text(json.dumps({"id": "1", "history": ["Who?"], "question": "And why?",
                                "answers": ["x"]}) + "\n", encoding="utf-8")
    proc = run_qa("eval", str(data), "--corpus", "seeds/", "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert f"{data}:1:" in proc.stderr and '"standalone"' in proc.stderr


@pytest.mark.slow
def test_an_index_ingested_from_another_directory_scores_the_same(tmp_path, seed_copy,
                                                                   monkeypatch):
    """Sources are named as ingest was given them ("docs/…" from one directory); an eval that
    reuses the index from elsewhere still finds each cited file and checks its quote."""
    from qa import QA
    from qa.evaluation import run

    monkeypatch.chdir(tmp_path)
    with QA(tmp_path / "ix") as qa:
        qa.ingest("docs")  # relative: the sources are "docs/000_….txt"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    summary = run(SEED_SET, corpus=seed_copy, index=tmp_path / "ix", backend="extractive",
                  out=tmp_path / "out", limit=3, progress=False)
    assert summary["metrics"]["cited_page_exact"] == 1.0
    assert summary["metrics"]["hit@5"] == 1.0
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").open()]
    assert {c["source"] for r in rows for c in r["citations"]} == {SEED.name}


def test_the_paragraph_copy_moves_each_gold_line_to_its_paragraph(tmp_path):
    """``eval/paragraphs.py``: the same articles a paragraph a line, each question's gold
    lines moved to the line of the paragraph that held them."""
    import subprocess
    import sys

    squad = tmp_path / "squad"
    (squad / "docs").mkdir(parents=True)
    (squad / "docs" / "Tide.txt").write_text(
        "Tide\n\nThe moon pulls the sea.\nSo the tide rises.\n\n\nIt falls again.\n")
    long = " ".join(f"Sentence {n} of the long paragraph is here." for n in range(40))
    (squad / "docs" / "Long.txt").write_text(f"Long\n\n{long}\nIts end.\n")
    q = {"id": "q1", "question": "What falls?", "answers": ["It"], "source": "Tide.txt",
         "lines": [4, 7], "answerable": True}
    cut = dict(q, id="q2", source="Long.txt", lines=[4])
    for name in ("questions.jsonl", "questions_full.jsonl"):
        (squad / name).write_text(json.dumps(q) + "\n" + json.dumps(cut) + "\n")
    subprocess.run([sys.executable, str(ROOT / "eval" / "paragraphs.py"), str(tmp_path / "out"),
                    "--squad", str(squad)], check=True, capture_output=True)
    text = (tmp_path / "out" / "docs" / "Tide.txt").read_text()
    assert text.split("\n") == ["Tide", "", "The moon pulls the sea. So the tide rises.", "",
                                "It falls again.", ""]
    moved, cut = map(json.loads, (tmp_path / "out" / "questions.jsonl").read_text().split("\n")[:2])
    assert moved["lines"] == [3, 5] and moved["answers"] == ["It"]
    # a paragraph longer than a display line is read as several: the gold is all of them
    assert cut["lines"] == [3, 4]
