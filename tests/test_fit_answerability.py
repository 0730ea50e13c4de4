"""The answerability fit mixes kinds of documents without letting one document be both fitted
on and measured, and without letting the largest kind decide alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from qa.evaluation.dataset import Item

SCRIPT = Path(__file__).resolve().parent.parent / "eval" / "fit_answerability.py"


@pytest.fixture(scope="module")
def fitter():
    spec = importlib.util.spec_from_file_location("fit_answerability", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_questions_on_one_file_fall_in_one_half(fitter):
    items = [Item(f"q{n}", "?", source=f"report-{n % 7}.pdf") for n in range(70)]
    halves = {}
    for item in items:
        halves.setdefault(item.source, set()).add(fitter.half(item))
    assert all(len(h) == 1 for h in halves.values())
    assert {h for hs in halves.values() for h in hs} == {0, 1}  # both halves get files


def test_each_kind_weighs_alike(fitter):
    rows = [{"kind": "prose"}] * 90 + [{"kind": "forms"}] * 10
    w = fitter.weights(rows)
    assert w[:90].sum() == pytest.approx(w[90:].sum())


def row(kind, answerable, support):
    return {"kind": kind, "answerable": answerable, "gated": False,
            "evidence": {"support": support}}


def test_the_area_under_the_curve_ranks_answerable_over_unanswerable(fitter):
    assert fitter.auc([0.9, 0.8, 0.2], [True, True, False]) == 1.0
    assert fitter.auc([0.1, 0.8, 0.9], [True, True, False]) == 0.0
    assert fitter.auc([0.5, 0.5], [True, False]) == 0.5
    assert fitter.auc([0.5], [True]) is None


def test_the_threshold_keeps_a_small_kind_s_answers(fitter):
    """Many prose rows answerable at high support, a few form answers at low support: a
    pooled count would refuse the form answers; kinds weighing alike keeps the threshold low
    enough to answer them."""
    model = {"intercept": 0.0, "weights": {"support": 4.0}, "mean": {"support": 0.5},
             "scale": {"support": 0.25}}
    rows = ([row("prose", True, 0.9)] * 95 + [row("prose", False, 0.1)] * 95
            + [row("forms", True, 0.45)] * 5 + [row("forms", False, 0.1)] * 5)
    t, _ = fitter.choose_threshold(rows, model, max_wrong=0.15)
    form_score = fitter.probability(model, {"support": 0.45})
    assert form_score < 0.5 and t <= form_score


def test_a_copy_of_the_benchmark_is_fitted_and_measured_as_a_kind_of_its_own(fitter, tmp_path):
    """``--copy paragraphs=FOLDER``: the same questions over text of another shape are asked
    over that copy's own documents, its pool fitted on and its test questions measured, each
    row labelled with the copy's kind (real index, extractive backend)."""
    import argparse
    import json

    def folder(name: str, text: str) -> Path:
        root = tmp_path / name
        (root / "docs").mkdir(parents=True)
        (root / "docs" / "bridge.txt").write_text(text, encoding="utf-8")
        questions = [{"id": f"q{n}", "question": q, "answers": ["1932"], "source": "bridge.txt",
                      "lines": [1]} for n, q in enumerate([
                          "When did the bridge open?", "When was the bridge opened to traffic?",
                          "In what year did the bridge open?"])]
        (root / "questions_full.jsonl").write_text(
            "".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
        (root / "questions.jsonl").write_text(json.dumps(questions[0]) + "\n", encoding="utf-8")
        return root

    sentences = folder("squad", "The bridge opened to traffic in 1932.\nIts arch is wide.\n")
    paragraphs = folder("paragraphs", "The bridge opened to traffic in 1932. Its arch is wide.\n")
    args = argparse.Namespace(folder=sentences, copy=[f"paragraphs={paragraphs}"], mix=[],
                              sample=2, measure=1, seed=1, backend="extractive")
    rows = fitter.gather(args, tmp_path / "indexes")
    assert sorted((r["kind"], r["part"], r["id"]) for r in rows) == [
        ("paragraphs", "fit", "q1"), ("paragraphs", "fit", "q2"), ("paragraphs", "measure", "q0"),
        ("prose", "fit", "q1"), ("prose", "fit", "q2"), ("prose", "measure", "q0")]
    assert (tmp_path / "indexes" / "paragraphs").is_dir()  # asked over the copy's own index
