"""Verified streaming: a sentence reaches the reader only after its citations hold, and what
was shown is never taken back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qa import QA, Answer, Status
from qa.ask.answer.llm import LLMAnswerer
from qa.types import Refusal

from .conftest import run_qa

QUESTION = "Which leader voiced support for Macron's stance?"
TRUE = "The Estonian Prime Minister voiced support for Macron's stance [L30]."
UNSAID = "He also praised the French cuisine of the Elysée [L30]."


class TokenModel:
    """A chat model that writes a fixed reply word by word and counts what it wrote."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.written = 0
        self.closed = False

    def chat(self, messages: list[dict], *, max_tokens: int) -> Iterator[str]:
        try:
            for i, word in enumerate(self.reply.split(" ")):
                self.written += 1
                yield word if i == 0 else " " + word
        finally:
            self.closed = True


def streamed(qa: QA, question: str = QUESTION, **kw) -> tuple[list, Answer]:
    items = list(qa.stream(question, **kw))
    assert isinstance(items[-1], Answer)
    return items[:-1], items[-1]


def open_qa(index, reply: str, **options) -> tuple[QA, TokenModel]:
    model = TokenModel(reply)
    qa = QA(index, answerer=LLMAnswerer(model), fallback="off", min_answerability=0.0,
            **options)
    return qa, model


def test_streamed_text_is_the_start_of_the_answer_and_skips_what_fails(seeded_index):
    qa, _ = open_qa(seeded_index, f"{TRUE} {UNSAID} Macron held the summit [L26].")
    with qa:
        pieces, answer = streamed(qa)
    text = "".join(p for p in pieces if isinstance(p, str))
    assert text == answer.text
    assert "Estonian Prime Minister" in text and "cuisine" not in text
    assert "[L" not in text and "[1]" in text
    assert not any(isinstance(p, Status) for p in pieces)  # only when asked for


def test_a_sentence_is_shown_once_the_next_begins(seeded_index):
    reply = f"{TRUE} " + " ".join(["Macron held the summit [L26]."] * 3)
    qa, model = open_qa(seeded_index, reply)
    with qa:
        stream = qa.stream(QUESTION)
        first = next(p for p in stream if isinstance(p, str))
        written_then = model.written
        rest = list(stream)
    assert first.startswith("The Estonian Prime Minister voiced support")
    assert written_then < len(reply.split(" "))  # before the model finished
    assert isinstance(rest[-1], Answer)


def test_a_reply_that_opens_with_not_found_shows_nothing(seeded_index):
    qa, _ = open_qa(seeded_index, f"NOT FOUND. {TRUE}")
    with qa:
        pieces, answer = streamed(qa)
    assert pieces == [] and answer.refused
    assert answer.debug["model_refused"]


def test_a_later_i_dont_know_is_dropped_and_the_rest_stays(seeded_index):
    qa, _ = open_qa(seeded_index, f"{TRUE} I don't know what Scholz said.")
    with qa:
        pieces, answer = streamed(qa)
    assert "".join(pieces) == answer.text
    assert answer.text.startswith("The Estonian Prime Minister") and "know" not in answer.text


def test_status_says_each_stage_in_order(seeded_index):
    qa, _ = open_qa(seeded_index, TRUE)
    with qa:
        pieces, answer = streamed(qa, status=True, history=[("Who met?", "Leaders [1].")])
    stages = [p.stage for p in pieces if isinstance(p, Status)]
    assert stages == ["condensing", "searching", "reading", "writing", "checking"]
    reading = next(p for p in pieces if isinstance(p, Status) and p.stage == "reading")
    assert reading.message == f"Reading {len(answer.retrieved)} passages…"
    assert not answer.refused


def test_the_reading_status_carries_the_retrieved_passages_before_any_text(seeded_index):
    qa, _ = open_qa(seeded_index, TRUE)
    with qa:
        pieces, answer = streamed(qa, status=True)
    at = next(i for i, p in enumerate(pieces) if isinstance(p, Status) and p.stage == "reading")
    assert not any(isinstance(p, str) for p in pieces[:at])  # before the model wrote
    reading = pieces[at]
    assert [p.chunk for p in reading.passages] == [p.chunk for p in answer.retrieved]
    assert any(p.chunk.holds(answer.citations[0].source, 30) for p in reading.passages)
    assert all(not p.passages for p in pieces if isinstance(p, Status) and p is not reading)


def test_the_passages_are_shown_before_the_model_judges_them(seeded_index):
    """The yes/no judge is a model call (seconds, locally): the passages come before it."""
    said: list = []

    class Judging(TokenModel):
        judged_after: list | None = None

        def yes_probability(self, messages: list[dict]) -> float:
            self.judged_after = list(said)  # what the reader had been given by then
            return 0.9

    model = Judging(TRUE)
    with QA(seeded_index, answerer=LLMAnswerer(model), fallback="off") as qa:
        for item in qa.stream(QUESTION, status=True):
            said.append(item)
    assert model.judged_after is not None, "the model was never asked to judge"
    assert any(isinstance(p, Status) and p.passages for p in model.judged_after)


def test_a_refusal_from_the_evidence_never_says_writing(seeded_index):
    with QA(seeded_index, backend="extractive") as qa:
        pieces, answer = streamed(qa, "What is the capital of Australia?", status=True)
    assert answer.refused
    assert "writing" not in [p.stage for p in pieces if isinstance(p, Status)]


@pytest.mark.slow
def test_closing_the_stream_stops_the_model(seeded_index):
    reply = f"{TRUE} " + " ".join(["Macron held the summit [L26]."] * 40)
    qa, model = open_qa(seeded_index, reply)
    with qa:
        stream = qa.stream(QUESTION)
        next(p for p in stream if isinstance(p, str))
        stream.close()  # what the chat's Stop does to the answer being made
        assert model.closed
        assert model.written < 20
        assert qa.ask(QUESTION).text  # the model is free for the next question


def test_a_passage_whose_file_changed_is_marked(tmp_path, seed_copy):
    with QA(tmp_path / "index", backend="extractive") as qa:
        qa.ingest(seed_copy)
        before = qa.ask(QUESTION)
        assert before.citations and all(not p.changed for p in before.retrieved)
        doc = next(seed_copy.iterdir())
        doc.write_text(doc.read_text().replace("Estonian", "Latvian"), encoding="utf-8")
        after = qa.ask(QUESTION)
    marked = {p.changed for p in after.retrieved if p.chunk.start_line <= 30 <= p.chunk.end_line}
    assert marked == {"file changed since it was ingested"}
    assert "Estonian" not in after.text  # the stale line is never cited


@pytest.mark.slow
def test_json_says_which_retrieved_passages_changed(tmp_path, seed_copy):
    env = {"QA_INDEX_DIR": str(tmp_path / "index"), "QA_BACKEND": "extractive"}
    assert run_qa("ingest", str(seed_copy), env=env).returncode == 0
    next(seed_copy.iterdir()).unlink()
    out = run_qa("ask", "--json", QUESTION, env=env)
    import json

    rows = json.loads(out.stdout)["retrieved"]
    assert rows and {r["changed"] for r in rows} == {"file or lines no longer exist"}


@pytest.mark.llm
def test_the_local_model_streams_only_verified_text(seeded_index):
    with QA(seeded_index, backend="local") as qa:
        pieces, answer = streamed(qa, status=True)
    text = "".join(p for p in pieces if isinstance(p, str))
    assert not answer.refused and text == answer.text
    assert "[L" not in text and "▍" not in text


class NoDraft:
    """A broken backend: text, but never the Draft a stream must end with."""

    name = "no-draft"

    def stream(self, question, passages, *, evidence=None):
        yield "The Estonian Prime Minister voiced support [1]."


def test_a_backend_that_never_sends_its_draft_is_a_one_line_error(seeded_index):
    from qa import BackendError

    with QA(seeded_index, answerer=NoDraft(), min_answerability=0.0) as qa:
        with pytest.raises(BackendError, match="no-draft ended its stream without a Draft"):
            qa.ask(QUESTION)


class RefusingModel(TokenModel):
    """A model that finds nothing in the lines it is shown, and judges any lines it is asked
    about with the probability ``p_yes``."""

    def __init__(self, p_yes: float) -> None:
        super().__init__("NOT FOUND")
        self.p_yes = p_yes
        self.judged: list[str] = []

    def yes_probability(self, messages: list[dict]) -> float:
        self.judged.append(messages[-1]["content"])
        return self.p_yes


class PickyModel(RefusingModel):
    """A model that finds nothing in the lines it is shown, and judges "yes" only lines that
    say ``phrase``."""

    def __init__(self, phrase: str) -> None:
        super().__init__(0.0)
        self.phrase = phrase

    def yes_probability(self, messages: list[dict]) -> float:
        self.judged.append(messages[-1]["content"])
        return 0.8 if self.phrase in messages[-1]["content"].split("Question:")[0] else 0.55


def test_the_line_the_model_judges_likeliest_is_quoted_not_merely_the_best_supported(
        seeded_index):
    """The model said NOT FOUND; of the best lines, each of which it would accept, it judges
    one far likelier to answer: that one is quoted, wherever it ranks among them."""
    from qa.ask.pipeline import Pipeline

    with QA(seeded_index, backend="extractive") as qa:
        ask = Pipeline(qa).prepare(QUESTION, qa.settings.top_k)
    third = " ".join(ask.own[2].text.split()[:6])
    with QA(seeded_index, answerer=LLMAnswerer(PickyModel(third)), min_answerability=0.0,
            min_support=0.0) as qa:
        answer = qa.ask(QUESTION)
    assert answer.debug["fallback"] and sorted(answer.debug["fallback_judged"]) == [
        0.55, 0.55, 0.8]
    assert [c.quote for c in answer.citations] == [ask.own[2].text], answer.text


class ShownModel(RefusingModel):
    """A model that finds nothing, judges any lines likely to answer, and keeps the prompt it
    was asked to answer from."""

    def __init__(self) -> None:
        super().__init__(0.9)
        self.asked: list[str] = []

    def chat(self, messages: list[dict], *, max_tokens: int) -> Iterator[str]:
        self.asked.append(messages[-1]["content"])
        yield from super().chat(messages, max_tokens=max_tokens)


@pytest.mark.parametrize("question", [
    "Which countries did Scholz fear could be dragged directly into the war?",
    "What did the Estonian Prime Minister emphasize the importance of?",
    "How did Zelensky respond to Biden's slip?",
])
def test_the_judge_is_shown_the_best_lines_the_answer_may_state(seeded_index, question):
    """The yes/no judgement stands for the answer about to be written, so it judges the best
    two of the lines that answer may state (those of the passages naming whom the question is
    about), which lead the answer's prompt, not lines ranked above them that it never states."""
    from qa.ask.pipeline import Pipeline

    with QA(seeded_index, backend="extractive") as qa:
        ask = Pipeline(qa).prepare(question, qa.settings.top_k)
    model = ShownModel()
    with QA(seeded_index, answerer=LLMAnswerer(model), fallback="off",
            min_answerability=0.0) as qa:
        qa.ask(question)
    judged = model.judged[0].split("\n\nQuestion:")[0].splitlines()[1:]
    given = {line.split("] ", 1)[1] for line in model.asked[0].splitlines()
             if line.startswith("[L")}
    assert judged == [s.text for s in ask.own[:2]], (judged, [s.text for s in ask.ranked[:2]])
    assert set(judged) <= given


@pytest.mark.parametrize("p_yes, quoted", [(0.9, True), (0.62, True), (0.55, False),
                                           (0.1, False)])
def test_a_quote_stands_in_for_a_model_that_found_nothing_only_if_it_judges_the_quote(
        seeded_index, p_yes, quoted):
    """The model said NOT FOUND: its best line is quoted only when the model, asked of that
    line alone, is fairly sure it answers (a line that states no figure asked for has only
    that judgement against the model's own NOT FOUND: a coin's toss, 0.55, is not enough);
    otherwise the question is refused, as the model did."""
    model = RefusingModel(p_yes)
    with QA(seeded_index, answerer=LLMAnswerer(model), min_answerability=0.0,
            min_support=0.0) as qa:
        answer = qa.ask(QUESTION)
    assert answer.debug["model_refused"]
    assert len(model.judged) == 4  # the decision's judgement, then each of the best 3 lines'
    assert answer.debug["fallback_judged"] == [p_yes] * 3
    if quoted:
        assert not answer.refused and answer.debug["fallback"] and answer.citations
    else:
        assert answer.refused and answer.debug["refusal"] is Refusal.MODEL_REFUSED


def test_the_model_judges_only_quotes_that_verify_and_each_text_once(seeded_index):
    """The model said NOT FOUND, so the fallback asks it of the best lines one by one: a
    quote that would not verify is never shown, so the model is not asked of it, and a line
    the page prints twice (the headline over a story, again over its photo) is asked once."""
    from qa.ask.gate import shown_text
    from qa.ask.pipeline import Pipeline, _quotes
    from qa.ask.stages import in_context

    question = "Whom did Biden refer to as Trump during the NATO Summit?"
    with QA(seeded_index, backend="extractive") as qa:
        pipeline = Pipeline(qa)
        ask = pipeline.prepare(question, qa.settings.top_k)
        check = pipeline._checker(ask)
        quotes = [in_context(lines, ask.passages) for lines, _ in _quotes(ask, judged=True)]
        verified = [in_context(lines, ask.passages) for lines, quote in
                    _quotes(ask, judged=True) if shown_text(quote, check)[1]]
    model = RefusingModel(0.9)
    with QA(seeded_index, answerer=LLMAnswerer(model), min_answerability=0.0,
            min_support=0.0) as qa:
        answer = qa.ask(question)
    judged = [j.split("\n\nQuestion:")[0].splitlines()[1:] for j in model.judged[1:]]
    assert answer.debug["fallback"] and judged, answer.debug
    assert len(judged) == len({tuple(j) for j in judged}), judged  # each text once
    assert all(j in verified for j in judged), (judged, verified)
    assert len(judged) < len(quotes)  # the case is one where both spare the model a call
