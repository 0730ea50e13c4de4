"""Every citation is checked against the file before anyone sees it."""

from collections.abc import Iterator

from qa import QA, Draft, Proposal
from qa.ask.answer.markers import parse_reply
from qa.ask.verify import Drop

from .conftest import SEED

SOURCE = "seeds/000_9c02e21fc74a5060.txt"
LINE30 = SEED.read_text(encoding="utf-8").split("\n")[29]
QUESTION = "Which leader voiced support for Macron's stance?"
TRUE_CLAIM = "The Estonian Prime Minister voiced support"


class ScriptedAnswerer:
    """An answer backend that writes the given sentences, each with its proposals."""

    name = "scripted"

    def __init__(self, *sentences: tuple[str, list[Proposal]]) -> None:
        self.sentences = sentences

    def stream(self, question, passages, *, evidence=None) -> Iterator[str | Draft]:
        texts, proposals = [], []
        for n, (claim, props) in enumerate(self.sentences):
            markers = "".join(dict.fromkeys(p.marker for p in props))
            texts.append(f"{claim} {markers}".strip())
            proposals += [Proposal(p.source, p.start_line, p.end_line, p.quote, p.marker,
                                   claim, n) for p in props]
        yield " ".join(texts)
        yield Draft(" ".join(texts), proposals, sentences=texts)


def ask_with(index, *sentences, question=QUESTION, **options):
    with QA(index, answerer=ScriptedAnswerer(*sentences), fallback="off",
            min_answerability=0.0, **options) as qa:
        return qa.ask(question)


def test_a_true_citation_passes(seeded_index):
    ans = ask_with(seeded_index, (TRUE_CLAIM, [Proposal(SOURCE, 30, 30, LINE30, "[A]")]))
    assert not ans.refused
    assert ans.citations[0].quote == LINE30 and ans.text == f"{TRUE_CLAIM} [1]"


def test_forged_quote_is_dropped_and_answer_refused(seeded_index):
    forged = Proposal(SOURCE, 30, 30, "The Estonian Prime Minister opposed Macron.", "[A]")
    ans = ask_with(seeded_index, (TRUE_CLAIM, [forged]))
    assert ans.refused and ans.citations == []
    assert ans.debug["dropped"][0]["reason"] == "quote differs from the file's lines"


def test_lines_that_do_not_exist_or_were_not_retrieved_are_dropped(seeded_index):
    ans = ask_with(
        seeded_index,
        (TRUE_CLAIM, [Proposal(SOURCE, 30, 30, None, "[A]")]),
        ("Macron met 900 leaders", [Proposal(SOURCE, 900, 901, None, "[B]")]),
        ("Scholz agreed", [Proposal("seeds/other.txt", 1, 1, None, "[C]")]),
    )
    assert [c.start_line for c in ans.citations] == [30]
    assert ans.text == f"{TRUE_CLAIM} [1]", "a sentence whose citation fails is not shown"
    assert len(ans.debug["dropped"]) == 2


def test_a_sentence_saying_more_than_its_lines_is_dropped_with_the_words(seeded_index):
    """Line 30 names no prime minister; a name, a number and a new word are each caught."""
    for claim, extra in [
        ("The Estonian Prime Minister Kaja Kallas voiced support", ["Kaja", "Kallas"]),
        ("The Estonian Prime Minister voiced support on 14 March", ["14", "March"]),
        ("The Estonian Prime Minister voiced fierce opposition", ["fierce", "opposition"]),
    ]:
        ans = ask_with(seeded_index, (claim, [Proposal(SOURCE, 30, 30, None, "[A]")]))
        assert ans.refused, claim
        dropped = ans.debug["dropped"][0]
        assert dropped["unsupported"] == extra and dropped["sentence"] == claim


def test_a_grounded_sentence_cannot_carry_an_ungrounded_one(seeded_index):
    ans = ask_with(
        seeded_index,
        (TRUE_CLAIM, [Proposal(SOURCE, 30, 30, None, "[A]")]),
        ("Also, I have been pwned", [Proposal(SOURCE, 30, 30, None, "[B]")]),
    )
    assert not ans.refused and ans.text == f"{TRUE_CLAIM} [1]"
    assert "pwned" not in ans.text.lower()


def test_an_answer_that_only_repeats_the_question_is_a_refusal(seeded_index):
    ans = ask_with(
        seeded_index, ("Estonian Prime Minister", [Proposal(SOURCE, 30, 30, None, "[A]")]),
        question="What is the name of the Estonian Prime Minister?",
    )
    assert ans.refused
    assert ans.debug["dropped"][0]["reason"] == "the sentence only repeats the question"


LINE25 = SEED.read_text(encoding="utf-8").split("\n")[24]


def test_a_sentence_saying_the_opposite_of_its_line_is_dropped(seeded_index):
    """Line 25: France "wouldn't require NATO or US assistance". Every word of the flipped
    sentence is in the line; only what the line denies tells them apart."""
    assert "wouldn't require" in LINE25
    flipped = "France would require NATO assistance if French troops were attacked"
    ans = ask_with(seeded_index, (flipped, [Proposal(SOURCE, 25, 25, None, "[A]")]),
                   question="Would France need NATO help if its troops were attacked?")
    assert ans.refused
    dropped = ans.debug["dropped"][0]
    assert dropped["reason"] == Drop.OPPOSITE and dropped["opposite"] == [
        "require", "NATO", "assistance"]
    kept = "France wouldn't require NATO assistance if French troops were attacked"
    ans = ask_with(seeded_index, (kept, [Proposal(SOURCE, 25, 25, None, "[A]")]),
                   question="Would France need NATO help if its troops were attacked?")
    assert not ans.refused and ans.text == f"{kept} [1]"


def test_a_yes_that_its_line_states_answers_a_question_that_asks_whether(seeded_index):
    question = "Did the Estonian Prime Minister voice support for Macron's stance?"
    yes = "Yes, the Estonian Prime Minister voiced support for Macron's stance"
    ans = ask_with(seeded_index, (yes, [Proposal(SOURCE, 30, 30, None, "[A]")]),
                   question=question)
    assert not ans.refused and ans.text == f"{yes} [1]"
    # a yes whose words are the question's, citing a line that names Macron and his allies
    # but says nothing of his support for them, only repeats the question
    assert "Macron assured allies" in LINE25 and "support" not in LINE25
    ans = ask_with(seeded_index, ("Yes, Macron voiced support for his allies",
                                  [Proposal(SOURCE, 25, 25, None, "[A]")]),
                   question="Did Macron voice support for his allies?")
    assert ans.refused and ans.debug["dropped"][0]["reason"] == Drop.REPEATS_QUESTION


def test_a_yes_citing_a_line_that_only_names_its_subject_is_moved_to_the_line_saying_it(
        seeded_index):
    """Line 12 names Macron and nothing of what is asked; line 3 says it. Every word of the
    yes is the question's, so any line naming Macron would 'ground' it."""
    question = "Did Macron advocate strategic ambiguity?"
    with QA(seeded_index) as qa:
        passages = qa.retrieve(question, k=20)
    draft = parse_reply("Yes, Macron advocated strategic ambiguity [L12].", passages, question)
    assert [(p.start_line, p.end_line) for p in draft.proposals] == [(3, 3)]


def test_a_line_unrelated_to_the_question_is_no_support(seeded_index):
    """Line 35 (a reader-feedback footer) is real and says the sentence, but does not answer."""
    line35 = SEED.read_text(encoding="utf-8").split("\n")[34]
    ans = ask_with(seeded_index, ("Press Ctrl + Enter", [Proposal(SOURCE, 35, 35, None, "[A]")]),
                   min_line_support=0.3, top_k=20)
    assert "Ctrl" in line35 and ans.refused
    assert ans.debug["dropped"][0]["reason"].startswith("the cited lines do not answer")


def test_file_changed_after_ingest_fails_verification(tmp_path, seed_copy):
    with QA(tmp_path / "ix") as qa:
        qa.ingest(seed_copy)
    doc = next(seed_copy.iterdir())
    lines = doc.read_text(encoding="utf-8").split("\n")
    lines[29] = "The Estonian Prime Minister opposed everything."
    doc.write_text("\n".join(lines), encoding="utf-8")
    ans = ask_with(tmp_path / "ix", (TRUE_CLAIM, [Proposal(str(doc), 30, 30, None, "[A]")]))
    assert ans.refused
    assert ans.debug["dropped"][0]["reason"] == "file changed since it was ingested"


def test_a_figure_is_supported_by_a_line_ocr_read_clearly_and_never_by_unsure_lines_alone():
    """OCR's confidence in each line is recorded at ingest (``Scanned``, on the chunk): a figure
    that only unsure lines hold is dropped with its reason; one a clear line also holds is not,
    and the citation carries the least confidence of its lines (None for a text file's)."""
    from qa import Passage
    from qa._hashing import sha256_text
    from qa.ask.verify import Drop, verify
    from qa.types import Chunk, Scanned

    lines = ["Harbour dues", "The harbour dues were 4180 euros", "Paid by 14 May, 4180 euros"]
    text = "\n".join(lines)

    def check(confidences, claim, first, last, *, scan=True):
        scanned = tuple(Scanned(n, (0.1, 0.1, 0.9, 0.2), c)
                        for n, c in enumerate(confidences, 1)) if scan else ()
        chunk = Chunk("dues.png", 1, 3, text, sha256_text(text), page=1, scanned=scanned)
        draft = Draft(claim, [Proposal("dues.png", first, last, None, "[A]", claim)])
        return verify(draft, [Passage(chunk, 1.0)], lambda source, page: lines,
                      question="How much were the harbour dues?")

    said = "The harbour dues were 4180 euros"
    unsure = check([0.9, 0.3, 0.9], said, 2, 2)
    assert not unsure.citations and not unsure.sentences
    [dropped] = unsure.dropped
    assert dropped["reason"] == Drop.UNCLEAR_FIGURE and dropped["unclear"] == ["4180"]
    clear = check([0.9, 0.8, 0.9], said, 2, 2)
    assert clear.sentences == {0} and clear.citations[0].confidence == 0.8
    both = check([0.9, 0.3, 0.9], said, 2, 3)  # line 3, read clearly, also says 4180
    assert both.sentences == {0} and both.citations[0].confidence == 0.3
    words = check([0.9, 0.3, 0.9], "The harbour dues are paid by 14 May", 2, 3)
    assert words.sentences == {0}  # 14 is on the clear line 3
    text_file = check([], said, 2, 2, scan=False)
    assert text_file.sentences == {0} and text_file.citations[0].confidence is None
