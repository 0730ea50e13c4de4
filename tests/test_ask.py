"""Questions about the seed get the right line; questions it cannot answer are refused."""

import pytest

from qa import Answer

from .conftest import SEED

SOURCE = "seeds/000_9c02e21fc74a5060.txt"
LINES = SEED.read_text(encoding="utf-8").split("\n")

FACTS = [
    ("Which leader voiced support for Macron's stance?", 30, "Estonian Prime Minister"),
    ("Who opposed the idea, fearing it could sow discord among allies?", 10, "Scholz"),
    ("Which newspaper reported Macron's confidential discussions?", 1, "Wall Street Journal"),
    ("Which countries politely rebuffed the idea at the summit?", 27, "Poland"),
    ("What did Macron say about troop deployments despite the opposition?", 32, "ruled out"),
    ("Why would France not need NATO assistance if its troops were attacked?", 25, "Africa"),
]


@pytest.mark.parametrize("question,line,words", FACTS)
def test_factual_question_cites_the_right_line(seeded_qa, question, line, words):
    ans = seeded_qa.ask(question)
    assert isinstance(ans, Answer)
    assert not ans.refused, ans.debug
    assert words in ans.text
    cited = {(c.source, n) for c in ans.citations for n in range(c.start_line, c.end_line + 1)}
    assert (SOURCE, line) in cited
    for c in ans.citations:
        assert c.quote == "\n".join(LINES[c.start_line - 1 : c.end_line])


@pytest.mark.parametrize(
    "question",
    [
        "What is the boiling point of mercury?",
        "How do I bake sourdough bread at home?",
        "Who won the 1998 FIFA World Cup final?",
    ],
)
def test_out_of_corpus_question_is_refused(seeded_qa, question):
    ans = seeded_qa.ask(question)
    assert ans.refused
    assert ans.text.startswith("The documents don't say")
    assert ans.citations == []


def test_to_dict_has_the_documented_shape(seeded_qa):
    d = seeded_qa.ask("Which leader voiced support for Macron's stance?").to_dict()
    assert set(d) == {"answer", "refused", "citations", "retrieved"}
    for item in d["citations"]:
        assert set(item) == {"source", "page", "start_line", "end_line", "quote", "score",
                             "confidence", "unsure"}
        assert item["source"] == SOURCE and item["page"] is None
        assert item["confidence"] is None and item["unsure"] is False  # not read by OCR
    for item in d["retrieved"]:
        assert set(item) == {"source", "page", "start_line", "end_line", "quote", "score",
                             "flagged", "changed"}
        assert item["source"] == SOURCE and item["flagged"] == [] and item["changed"] is None
    scores = [r["score"] for r in d["retrieved"]]
    assert scores == sorted(scores, reverse=True)
