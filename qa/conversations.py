"""Saved conversations: each user's questions and answers, with the citations as verified.

An answer is only worth keeping with its evidence, so a turn stores every citation's typed
fields (source, lines, quote, score, page, OCR confidence) exactly as verification passed them.
Files change after an answer, so a resumed conversation is checked again (``recheck``) with
verification's own test, ``verify.drift``, and each citation whose lines the file no longer
holds says why. SQLite beside the index (``<index>/conversations.sqlite3``, WAL, so readers
never wait for a writer), one transaction per turn: a kill -9 loses at most the turn being
written. A user sees only their own conversations; user None is the single-user mode (no
login), whose conversations no logged-in user sees.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._hashing import sha256_text
from .ask.verify import drift
from .errors import InputError
from .types import Answer, Chunk, Citation

if TYPE_CHECKING:
    from .api import QA

FILE = "conversations.sqlite3"
TITLE_CHARS = 80
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT, collection TEXT NOT NULL,
    title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_of ON conversations(user, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation INTEGER NOT NULL, n INTEGER NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL, refused INTEGER NOT NULL, citations TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (conversation, n));
"""


@dataclass(frozen=True)
class Turn:
    """One question and its answer; ``changed``: after ``recheck``, for each citation why its
    file no longer holds the lines quoted ("" while it does)."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...]
    created: float
    changed: tuple[str, ...] = ()

    def as_answer(self) -> Answer:
        """The turn as the ``Answer`` the UI renders (nothing retrieved is kept)."""
        return Answer(self.answer, self.refused, list(self.citations))


@dataclass(frozen=True)
class Conversation:
    id: int
    user: str | None
    collection: str
    title: str
    created: float  # seconds since the epoch
    updated: float
    turns: tuple[Turn, ...] = ()  # filled by ``get``, not by ``list``


def title_of(question: str) -> str:
    """A conversation's first title: its first question, cut at a word near ``TITLE_CHARS``."""
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text or "Untitled"
    return text[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


class Conversations:
    """The saved conversations of the index in ``index_dir`` (every collection's)."""

    def __init__(self, index_dir: str | Path) -> None:
        self.path = Path(index_dir) / FILE

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction. A connection per call: Gradio answers in many
        threads, and a connection is cheap beside an answer."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """A connection to read; None before anything is saved (reading creates no file)."""
        if not self.path.exists():
            yield None
            return
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def start(self, user: str | None, collection: str, title: str) -> Conversation:
        """A new conversation of ``user`` over ``collection``."""
        now = time.time()
        title = title_of(title)
        with self._write() as db:
            cur = db.execute("INSERT INTO conversations (user, collection, title, created,"
                             " updated) VALUES (?, ?, ?, ?, ?)",
                             (user, collection, title, now, now))
            assert cur.lastrowid is not None
            return Conversation(cur.lastrowid, user, collection, title, now, now)

    def add_turn(self, id: int, user: str | None, question: str, answer: Answer) -> Turn:
        """Save one answered question, its citations as verified, in one transaction."""
        turn = Turn(question, answer.text, answer.refused, tuple(answer.citations), time.time())
        cited = json.dumps([dataclasses.asdict(c) for c in turn.citations], ensure_ascii=False)
        with self._write() as db:
            self._owned(db, id, user)
            (n,) = db.execute("SELECT count(*) FROM turns WHERE conversation = ?",
                              (id,)).fetchone()
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (id, n + 1, question, turn.answer, int(turn.refused), cited, turn.created))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (turn.created, id))
        return turn

    def list(self, user: str | None) -> list[Conversation]:
        """``user``'s conversations, the latest first (without their turns)."""
        with self._read() as db:
            rows = db.execute(f"SELECT {_FIELDS} FROM conversations WHERE user IS ? ORDER BY"
                              " updated DESC, id DESC", (user,)).fetchall() if db else []
        return [Conversation(*row) for row in rows]

    def get(self, id: int, user: str | None) -> Conversation:
        """Conversation ``id`` with its turns, if it is ``user``'s; else a one-line error."""
        with self._read() as db:
            row = self._owned(db, id, user)
            assert db is not None  # else there is no row
            turns = db.execute("SELECT question, answer, refused, citations, created FROM turns"
                               " WHERE conversation = ? ORDER BY n", (id,)).fetchall()
        return dataclasses.replace(row, turns=tuple(
            Turn(q, a, bool(refused), tuple(Citation(**c) for c in json.loads(cited)), created)
            for q, a, refused, cited, created in turns))

    def rename(self, id: int, user: str | None, title: str) -> None:
        if not title.strip():
            raise InputError("a conversation's title cannot be empty")
        with self._write() as db:
            self._owned(db, id, user)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?",
                       (" ".join(title.split()), id))

    def delete(self, id: int, user: str | None) -> None:
        """Forget conversation ``id`` and its turns (the documents are untouched)."""
        with self._write() as db:
            self._owned(db, id, user)
            db.execute("DELETE FROM turns WHERE conversation = ?", (id,))
            db.execute("DELETE FROM conversations WHERE id = ?", (id,))

    def forget_collection(self, collection: str) -> int:
        """Delete every user's conversations of ``collection`` (being deleted), so that none
        can be resumed into it, nor into a new collection given its name; how many."""
        if not self.path.exists():
            return 0
        with self._write() as db:
            ids = [(id,) for (id,) in db.execute(
                "SELECT id FROM conversations WHERE collection = ?", (collection,))]
            db.executemany("DELETE FROM turns WHERE conversation = ?", ids)
            db.executemany("DELETE FROM conversations WHERE id = ?", ids)
        return len(ids)

    def export_markdown(self, id: int, user: str | None) -> str:
        """The conversation as Markdown: each question, its answer, and each citation
        (``file p.N Lx-y``) with its lines quoted as they were verified."""
        return markdown(self.get(id, user))

    @staticmethod
    def _owned(db: sqlite3.Connection | None, id: int, user: str | None) -> Conversation:
        """Conversation ``id`` when it is ``user``'s; the same error when it is someone
        else's as when there is none, so ids reveal nothing."""
        row = db.execute(f"SELECT {_FIELDS} FROM conversations WHERE id = ? AND user IS ?",
                         (id, user)).fetchone() if db else None
        if row is None:
            raise InputError(f"no conversation {id}" + (f" of {user}" if user else ""))
        return Conversation(*row)


_FIELDS = "id, user, collection, title, created, updated"


def markdown(conversation: Conversation) -> str:
    """``Conversations.export_markdown`` of a conversation read with its turns."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.created))
    out = [f"# {conversation.title}", "",
           f"Collection `{conversation.collection}`, started {when}. Each citation was checked "
           "against its file when the answer was given; its lines are quoted as they were.", ""]
    for n, turn in enumerate(conversation.turns, 1):
        out += [f"## {n}. {turn.question}", "", turn.answer, ""]
        for i, c in enumerate(turn.citations, 1):
            out += [f"[{i}] `{c.marked}`", "", *(f"> {line}".rstrip() for line in
                                                  c.quote.split("\n")), ""]
    return "\n".join(out)


def recheck(turns: Sequence[Turn], qa: QA) -> list[Turn]:
    """The turns with ``changed`` set: each citation read again from its file as ``qa`` (the
    conversation's collection) reads it now, by verification's own test (``verify.drift``):
    a file edited, removed from the index, or gone says so."""
    read = functools.cache(qa.read)  # a page read once for all the citations on it
    return [dataclasses.replace(t, changed=tuple(drift(_chunk(c), read) for c in t.citations))
            for t in turns]


def _chunk(c: Citation) -> Chunk:
    """A citation as the chunk of exactly its lines, which ``drift`` checks."""
    return Chunk(c.source, c.start_line, c.end_line, c.quote, sha256_text(c.quote), c.page,
                 c.page_offset)
