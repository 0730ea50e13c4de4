"""Saved conversations (qa/conversations.py): real SQLite beside a real index of the seed,
answered by the extractive backend; each citation stored as verified and checked again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from qa import QA
from qa.conversations import FILE, Conversations, recheck, title_of
from qa.errors import InputError

from .conftest import run_qa

SEED_Q = "Which leader voiced support for Macron's stance?"
OTHER_Q = "Which newspaper reported Macron's confidential discussions?"
L30 = "000_9c02e21fc74a5060.txt:L30"


@pytest.fixture
def qa(seed_copy: Path, tmp_path: Path):
    with QA(tmp_path / "index", backend="extractive") as qa:
        qa.ingest(seed_copy)
        yield qa


def test_a_turn_is_saved_with_its_citations_as_verified(qa):
    store = Conversations(qa.settings.index_dir)
    assert store.list(None) == [] and not store.path.exists()  # reading creates nothing
    answer = qa.ask(SEED_Q)
    assert not answer.refused and answer.citations
    convo = store.start(None, "default", SEED_Q)
    store.add_turn(convo.id, None, SEED_Q, answer)
    refusal = qa.ask("How do I bake sourdough bread?")
    store.add_turn(convo.id, None, "How do I bake sourdough bread?", refusal)
    got = store.get(convo.id, None)
    assert got.title == SEED_Q and got.collection == "default"
    first, second = got.turns
    assert first.question == SEED_Q and first.answer == answer.text and not first.refused
    assert list(first.citations) == answer.citations  # every typed field, as verified
    assert first.citations[0].label.endswith(L30)
    assert second.refused and second.citations == ()
    assert [c.id for c in store.list(None)] == [convo.id]
    assert store.path == qa.settings.index_dir / FILE
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_list_rename_delete_latest_first(qa):
    store = Conversations(qa.settings.index_dir)
    one = store.start(None, "default", "first")
    two = store.start(None, "default", "second")
    store.add_turn(one.id, None, SEED_Q, qa.ask(SEED_Q))  # one is now the latest
    assert [c.title for c in store.list(None)] == ["first", "second"]
    store.rename(two.id, None, "  Macron,\n the press  ")
    assert store.get(two.id, None).title == "Macron, the press"
    with pytest.raises(InputError, match="title cannot be empty"):
        store.rename(two.id, None, " ")
    store.delete(one.id, None)
    assert [c.id for c in store.list(None)] == [two.id]
    with pytest.raises(InputError, match=f"no conversation {one.id}"):
        store.get(one.id, None)
    db = sqlite3.connect(store.path)
    assert db.execute("SELECT count(*) FROM turns").fetchone() == (0,)  # its turns went too
    db.close()


def test_two_users_never_see_each_others_conversations(qa):
    store = Conversations(qa.settings.index_dir)
    ann = store.start("ann", "default", SEED_Q)
    store.add_turn(ann.id, "ann", SEED_Q, qa.ask(SEED_Q))
    bob = store.start("bob", "default", OTHER_Q)
    assert [c.id for c in store.list("ann")] == [ann.id]
    assert [c.id for c in store.list("bob")] == [bob.id]
    assert store.list(None) == []  # the single-user mode has none of theirs
    for user in ("bob", None):
        for act in (lambda u: store.get(ann.id, u), lambda u: store.rename(ann.id, u, "x"),
                    lambda u: store.delete(ann.id, u), lambda u: store.export_markdown(ann.id, u),
                    lambda u: store.add_turn(ann.id, u, OTHER_Q, qa.ask(OTHER_Q))):
            with pytest.raises(InputError, match=f"no conversation {ann.id}"):
                act(user)
    assert len(store.get(ann.id, "ann").turns) == 1 and store.get(ann.id, "ann").title == SEED_Q


def test_export_quotes_each_cited_line(qa):
    store = Conversations(qa.settings.index_dir)
    convo = store.start(None, "default", SEED_Q)
    answer = qa.ask(SEED_Q)
    store.add_turn(convo.id, None, SEED_Q, answer)
    text = store.export_markdown(convo.id, None)
    assert text.startswith(f"# {SEED_Q}\n")
    assert f"## 1. {SEED_Q}\n\n{answer.text}\n" in text
    cited = answer.citations[0]
    assert f"[1] `{cited.label}`" in text and cited.label.endswith(L30)
    quoted = "\n".join(f"> {line}" for line in cited.quote.split("\n"))
    assert "Estonian Prime Minister" in quoted and f"\n{quoted}\n" in text


def test_recheck_marks_a_citation_whose_file_changed(qa, seed_copy):
    store = Conversations(qa.settings.index_dir)
    convo = store.start(None, "default", SEED_Q)
    store.add_turn(convo.id, None, SEED_Q, qa.ask(SEED_Q))
    store.add_turn(convo.id, None, OTHER_Q, qa.ask(OTHER_Q))
    turns = store.get(convo.id, None).turns
    assert [t.changed for t in recheck(turns, qa)] == [("",) * len(t.citations) for t in turns]
    seed = next(seed_copy.iterdir())
    lines = seed.read_text(encoding="utf-8").split("\n")
    lines[29] = lines[29].replace("Estonian", "Latvian")  # line 30, the first answer's
    seed.write_text("\n".join(lines), encoding="utf-8")
    first, second = recheck(turns, qa)
    assert first.changed == ("file changed since it was ingested",)
    assert set(second.changed) == {""}  # its lines are as they were
    seed.unlink()
    assert set(recheck(turns, qa)[1].changed) == {"file or lines no longer exist"}


def test_a_conversation_is_rechecked_in_its_own_collection(tmp_path):
    (tmp_path / "hr").mkdir()
    notes = tmp_path / "hr" / "leave.txt"
    notes.write_text("Parental leave at Northwind is 16 weeks for every employee.\n")
    with QA(tmp_path / "ix", backend="extractive") as qa:
        hr = qa.collection("hr")
        hr.ingest(notes)
        store = Conversations(qa.settings.index_dir)
        convo = store.start(None, "hr", "leave")
        store.add_turn(convo.id, None, "How long is parental leave?", hr.ask(
            "How long is parental leave at Northwind?"))
        turns = store.get(convo.id, None).turns
        assert recheck(turns, hr)[0].changed == ("",)
        assert recheck(turns, qa)[0].changed == ("file or lines no longer exist",)  # not its own


def test_title_of_a_long_question_is_cut_at_a_word():
    long = "What did " + "the leaders of Europe say " * 8
    title = title_of(long)
    assert len(title) <= 81 and title.endswith("…") and long.startswith(title[:-1])
    assert title_of("  two\n words ") == "two words"


def test_cli_lists_and_exports(qa):
    store = Conversations(qa.settings.index_dir)
    convo = store.start(None, "default", SEED_Q)
    store.add_turn(convo.id, None, SEED_Q, qa.ask(SEED_Q))
    index = str(qa.settings.index_dir)
    out = run_qa("conversations", "list", "--index", index)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{convo.id}\tdefault\t") and SEED_Q in out.stdout
    out = run_qa("conversations", "export", str(convo.id), "--index", index)
    assert out.returncode == 0, out.stderr
    assert out.stdout == store.export_markdown(convo.id, None) + "\n"
    out = run_qa("conversations", "export", str(convo.id), "--user", "bob", "--index", index)
    assert out.returncode == 1 and out.stderr == f"error: no conversation {convo.id} of bob\n"
