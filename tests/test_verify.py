"""Every citation is checked against the file before anyone sees it."""

from collections.abc import Iterator

from qa import QA, Draft, Proposal

from .conftest import SEED

SOURCE = "seeds/000_9c02e21fc74a5060.txt"
LINE30 = SEED.read_text(encoding="utf-8").split("\n")[29]


class ScriptedAnswerer:
    """An answer backend that proposes exactly the citations a test gives it."""

    name = "scripted"

    def __init__(self, *proposals: Proposal) -> None:
        self.proposals = list(proposals)

    def stream(self, question, passages, *, evidence=None) -> Iterator[str | Draft]:
        text = " ".join(f"claim {p.marker}" for p in self.proposals)
        yield text
        yield Draft(text, self.proposals)


def ask_with(index, *proposals):
    with QA(index, answerer=ScriptedAnswerer(*proposals)) as qa:
        return qa.ask("Which leader voiced support for Macron's stance?")


def test_a_true_citation_passes(seeded_index):
    ans = ask_with(seeded_index, Proposal(SOURCE, 30, 30, LINE30, "[A]"))
    assert not ans.refused
    assert ans.citations[0].quote == LINE30 and ans.text == "claim [1]"


def test_forged_quote_is_dropped_and_answer_refused(seeded_index):
    forged = Proposal(SOURCE, 30, 30, "The Estonian Prime Minister opposed Macron.", "[A]")
    ans = ask_with(seeded_index, forged)
    assert ans.refused and ans.citations == []
    assert ans.debug["dropped"][0]["reason"] == "quote differs from the file's lines"


def test_lines_that_do_not_exist_or_were_not_retrieved_are_dropped(seeded_index):
    ans = ask_with(
        seeded_index,
        Proposal(SOURCE, 30, 30, None, "[A]"),
        Proposal(SOURCE, 900, 901, None, "[B]"),
        Proposal("seeds/other.txt", 1, 1, None, "[C]"),
    )
    assert [c.start_line for c in ans.citations] == [30]
    assert ans.text == "claim [1] claim claim"
    assert len(ans.debug["dropped"]) == 2


def test_file_changed_after_ingest_fails_verification(tmp_path, seed_copy):
    with QA(tmp_path / "ix") as qa:
        qa.ingest(seed_copy)
    doc = next(seed_copy.iterdir())
    lines = doc.read_text(encoding="utf-8").split("\n")
    lines[29] = "The Estonian Prime Minister opposed everything."
    doc.write_text("\n".join(lines), encoding="utf-8")
    scripted = ScriptedAnswerer(Proposal(str(doc), 30, 30, None, "[A]"))
    with QA(tmp_path / "ix", answerer=scripted) as qa:
        ans = qa.ask("Which leader voiced support for Macron's stance?")
    assert ans.refused
    assert ans.debug["dropped"][0]["reason"] == "file changed since it was ingested"
