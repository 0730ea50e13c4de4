"""Follow-ups: what is rewritten, what is not, and what the rewrite may contain.

The questions here are worded apart from eval/datasets/followups.jsonl, on which the rule was
measured, so they check the rule rather than repeat its tuning.
"""

from __future__ import annotations

import pytest

from qa import QA
from qa.ask.answer.base import REFUSAL
from qa.ask.answer.llm import LLMAnswerer
from qa.ask.condense import clean_history, rule_condense, stands_alone

OPENER = "Which leader voiced support for Macron's stance?"

STANDALONE = [
    "Who said that nothing can be ruled out about troop deployments?",  # "that": a conjunction
    "Are there any French troops in Ukraine?",  # "there": existential
    "What is the name of the newspaper that reported the talks?",  # "that": a relative
    "How many countries rebuffed Macron at the Elysée Palace?",
    "Which official warned that Russia would target French troops?",
    "When did the Estonian Prime Minister speak at the summit?",
]
LEANING = [
    "Why?",  # elliptical
    "And Scholz?",  # a connective, elliptical
    "What did she say about that?",
    "How many soldiers were sent there?",
    "Who else supported him?",
    "What happened after that?",
    "Did they agree with the proposal?",
    "But was the idea rejected?",
]


class Scripted:
    """A chat model that replies from a script and records every prompt it is sent."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def chat(self, messages, *, max_tokens):
        self.prompts.append(messages[-1]["content"])
        yield self.reply


@pytest.mark.parametrize("question", STANDALONE)
def test_a_question_that_stands_alone_is_asked_as_written(question):
    assert stands_alone(question)
    assert rule_condense(question, [(OPENER, "Estonian Prime Minister [1]")]) == question
    model = Scripted("Who opposed Macron's stance?")
    assert LLMAnswerer(model).condense(question, [(OPENER, "Estonian Prime Minister")]) == question
    assert model.prompts == []  # no model call: nothing to rewrite, a second saved


@pytest.mark.parametrize("question", LEANING)
def test_a_question_that_leans_on_the_conversation_is_rewritten(question):
    assert not stands_alone(question)
    rewritten = rule_condense(question, [(OPENER, "Estonian Prime Minister [1]")])
    assert rewritten != question and rewritten.endswith(question) and "Macron" in rewritten


def test_he_and_she_take_the_name_the_previous_answer_gave():
    history = [("Who criticised the plan at the Paris meeting?", "Scholz criticised it [1].")]
    assert "Scholz" in rule_condense("What was he afraid of?", history)
    assert "Scholz" not in rule_condense("When was it announced?", history)


def test_markers_and_refusals_never_reach_the_rewrite():
    history = [
        (OPENER, "The Estonian Prime Minister [1][2] voiced it [L30] [L3-5] [seeds/a.txt:L30]."),
        ("Who wrote the report about Putin?", REFUSAL),
    ]
    cleaned = clean_history(history)
    assert cleaned[0][1] == "The Estonian Prime Minister voiced it ."
    assert cleaned[1] == ("Who wrote the report about Putin?", "")  # the question stays
    for question in ("And when did he say it?", "Why?"):
        assert "[" not in rule_condense(question, history)
        assert "documents" not in rule_condense(question, history)
    model = Scripted("When did the Estonian Prime Minister voice support for Macron's stance?")
    LLMAnswerer(model).condense("And when did he say it?", history)
    (prompt,) = model.prompts
    assert "[" not in prompt.replace("{", "") and REFUSAL not in prompt
    assert "Who wrote the report about Putin?" in prompt  # a refused turn keeps its question


def test_the_models_rewrite_is_used_when_it_can_be_trusted(seeded_index):
    model = Scripted("Who opposed Macron's stance at the summit?")
    with QA(seeded_index, answerer=LLMAnswerer(model)) as qa:
        query = qa.condense("And who was against it?", [(OPENER, "Estonian Prime Minister [1]")])
    assert query == "Who opposed Macron's stance at the summit?"
    assert len(model.prompts) == 1 and "And who was against it?" in model.prompts[0]


@pytest.mark.parametrize("reply", [
    "",  # nothing
    "When did the Estonian Prime Minister [1] voice support for Macron's stance?",  # a marker
    "When did the Estonian Prime Minister [L30] voice support?",
    REFUSAL,
    " ".join(["Macron's stance and the summit in Paris with Biden"] * 8) + "?",  # far too long
    "When did the Prime Minister voice support for the stance?",  # "Estonian" dropped
    "When did the Estonian Prime Minister voice support? And why?",  # two questions
    "The Estonian Prime Minister said it in February.",  # an answer, not a question
])
def test_an_untrustworthy_rewrite_falls_back_to_the_rule(reply):
    history = [(OPENER, "Estonian Prime Minister [1]")]
    question = "When did the Estonian one say it?"
    got = LLMAnswerer(Scripted(reply)).condense(question, history)
    assert got == rule_condense(question, history)


def test_an_earlier_question_returned_as_the_rewrite_is_not_used():
    history = [("Who did Macron hold talks with in February?", "Biden and Scholz [1]")]
    model = Scripted("Who did Macron hold talks with in February?")
    got = LLMAnswerer(model).condense("What did he argue for?", history)
    assert got == rule_condense("What did he argue for?", history) and "argue" in got


def test_and_follow_ups_on_the_extractive_backend_do_not_repeat_the_previous_answer(seeded_qa):
    """The issue's symptom: each "and ...?" got the previous answer again. A follow-up must
    now cite its own gold line whenever its standalone form does, and never repeat a previous
    answer that is not an answer to it."""
    turns = [  # (follow-up, the same written standalone, gold lines)
        ("Who did Macron hold confidential discussions with?", None, {1}),
        ("And what did he argue for in those talks?",
         "What did Macron argue for in his talks with Biden and Scholz?", {3, 5}),
        ("And how did Biden react to it?",
         "How did Biden react to Macron's strategic ambiguity?", {7}),
        ("And Scholz?", "How did Scholz react to Macron's strategic ambiguity?", {10, 12, 27}),
    ]
    history: list[tuple[str, str]] = []
    previous: set[int] = set()
    for question, standalone, gold in turns:
        answer = seeded_qa.ask(question, history=history)
        lines = {c.start_line for c in answer.citations}
        assert lines & gold or lines != previous, (question, answer.debug["query"], lines)
        alone = {c.start_line for c in seeded_qa.ask(standalone or question).citations}
        assert bool(lines & gold) >= bool(alone & gold), (question, answer.debug["query"])
        history.append((question, answer.text))
        previous = lines
