"""The ask path is a list of named stages: each says what it did in the answer's trace, and a
pipeline composed without one still runs, showing what that stage is for."""

from __future__ import annotations

import pytest

from qa import QA
from qa.ask.pipeline import Pipeline, default_stages
from qa.ask.stages import LookupRows

from .conftest import index_of
from .test_figures import INVENTORY_ROW, inventory_filing

QUESTION = "How much inventory did Acme keep across its supply chain?"


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_of(tmp_path_factory, "pipeline", {"acme-10q.pdf": inventory_filing()})


def test_every_stage_writes_what_it_did_to_the_trace(index):
    with QA(index, backend="extractive", read_only=True) as qa:
        answer = qa.ask(QUESTION)
    stages = [step["stage"] for step in answer.debug["trace"]]
    assert stages == [s.name for s in default_stages()] + ["answer", "verify"]
    notes = {step["stage"]: step["note"] for step in answer.debug["trace"]}
    assert notes["look up rows"] == "1 pages added" and notes["rerank"].startswith("kept")
    assert all(step["ms"] >= 0 for step in answer.debug["trace"])


def test_a_pipeline_without_the_row_lookup_misses_the_row_retrieval_missed(index):
    with QA(index, backend="extractive", read_only=True) as qa:
        full = qa.ask(QUESTION)
        pipeline = Pipeline(qa, [s for s in default_stages() if not isinstance(s, LookupRows)])
        *_, without = pipeline.stream(QUESTION, qa.settings.top_k)
    assert any(INVENTORY_ROW in c.quote for c in full.citations)
    assert not any(INVENTORY_ROW in p.chunk.text for p in without.retrieved)
    assert "look up rows" not in [step["stage"] for step in without.debug["trace"]]


def test_a_question_naming_a_row_s_whole_label_asks_for_its_figure(index):
    """No word of the question says it wants a figure; the balance sheet's row label does."""
    with QA(index, backend="extractive", read_only=True) as qa:
        answer = qa.ask("What were Acme's vendor non-trade receivables?")
        other = qa.ask("Who are Acme's vendors?")
    notes = {step["stage"]: step["note"] for step in answer.debug["trace"]}
    assert notes["asks for a figure"] == "yes"
    assert any("Vendor non-trade receivables 19,637" in c.quote for c in answer.citations)
    assert {s["stage"]: s["note"] for s in other.debug["trace"]}["asks for a figure"] == "no"


def test_the_qa_facade_stays_a_facade():
    """`QA` wires the stages together and holds no answer logic: under 200 lines."""
    from pathlib import Path

    import qa.api

    assert len(Path(qa.api.__file__).read_text().splitlines()) < 200
