"""The ingest manifest: which files are indexed, by which hash, as which chunks.

It is the commit point of an ingest, and it holds the keyword (BM25) index too: SQLite's FTS5
updated in the same transaction as the chunk list, so keyword search can never disagree with the
manifest about which chunks exist, even after a kill -9.

A file's new chunks are written to Chroma first, then the manifest switches to them in one
SQLite transaction, then the old chunks are deleted. Retrieval only trusts chunk ids the
manifest lists, so a reader never sees half of a file's update, and a kill -9 at any point
leaves at worst invisible orphans that the next ingest removes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..types import Cell, Chunk, Row, Scanned
from .keywords import BM25_BUDGET, affordable, fts_query, query_terms

ALIGNED = "keywords_rowid_is_chunk_rowid"
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL,
    chunks INTEGER NOT NULL, ingested_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL, sha256 TEXT NOT NULL,
    page INTEGER NOT NULL DEFAULT 0, page_offset INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    source TEXT NOT NULL, line INTEGER NOT NULL, row TEXT NOT NULL, PRIMARY KEY (source, line));
CREATE TABLE IF NOT EXISTS scanned (
    source TEXT NOT NULL, line INTEGER NOT NULL, box TEXT NOT NULL, confidence REAL NOT NULL,
    PRIMARY KEY (source, line));
"""
KEYWORDS = """CREATE VIRTUAL TABLE IF NOT EXISTS keywords USING fts5(
    text, id UNINDEXED, context, tokenize = "porter unicode61 remove_diacritics 2")"""
SCHEMA += KEYWORDS + ";\n"


def _open_read_only(path: Path) -> sqlite3.Connection:
    """Open the manifest without writing to it or its folder; with no index there, an empty
    one in memory. A WAL database wants a ``-shm`` file beside it, which a read-only folder
    cannot get; as nothing can write there either, the file is then read as immutable."""
    if not _exists(path):
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        db.executescript(SCHEMA)
        return db
    uri = path.resolve().as_uri()
    try:
        return _readable(f"{uri}?mode=ro")
    except sqlite3.OperationalError:
        return _readable(f"{uri}?mode=ro&immutable=1")


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; any other error (a file where a folder should be, no
    permission) is raised, where ``Path.exists`` would hide it."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    return True


def _readable(uri: str) -> sqlite3.Connection:
    db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    db.execute("SELECT count(*) FROM files").fetchone()  # sqlite opens lazily: fail here
    return db


@dataclass(frozen=True)
class FileEntry:
    source: str
    path: str
    sha256: str
    chunks: int
    ingested_at: float


class Manifest:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self._lock = threading.RLock()
        if read_only:
            self._db = _open_read_only(path)
            self._join = "k.rowid = c.rowid" if self._aligned() else "k.id = c.id"
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("BEGIN IMMEDIATE")  # fails now, not mid-ingest, when it cannot write
        self._db.execute("ROLLBACK")
        self._db.executescript(SCHEMA)
        self._upgrade()
        self._join = "k.rowid = c.rowid"  # how a chunk finds its keyword row (text, context)

    @classmethod
    def open(cls, index: Path, *, read_only: bool = False) -> Manifest:
        """The manifest of the index in ``index``; a one-line ``InputError`` when it cannot
        be opened (or, for writing, created)."""
        from ..errors import InputError

        try:
            if not read_only:
                index.mkdir(parents=True, exist_ok=True)
            return cls(index / "manifest.sqlite3", read_only=read_only)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the index {index}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None

    def _aligned(self) -> bool:
        """Keyword rows are numbered as their chunks' rows (an index older than that, opened
        read-only, cannot be upgraded: its rows are joined by id, a scan of the table)."""
        return self.get_meta(ALIGNED) is not None

    def _upgrade(self) -> None:
        """Bring an index made before PDFs were read up to this schema, keeping its rows."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(chunks)")}
        for added in ("page", "page_offset"):
            if added not in columns:
                self._db.execute(
                    f"ALTER TABLE chunks ADD COLUMN {added} INTEGER NOT NULL DEFAULT 0")
        if "context" not in {r[1] for r in self._db.execute("PRAGMA table_info(keywords)")}:
            self._db.executescript(
                "BEGIN; ALTER TABLE keywords RENAME TO keywords_old;" + SCHEMA
                + "INSERT INTO keywords (text, id, context) SELECT text, id, '' FROM keywords_old;"
                " DROP TABLE keywords_old; COMMIT;")
        if self.get_meta(ALIGNED) is None:  # number keyword rows as their chunks' rows
            self._db.execute("BEGIN IMMEDIATE")  # another process may be doing it right now
            try:
                if self.get_meta(ALIGNED) is None:
                    self._db.execute("ALTER TABLE keywords RENAME TO keywords_old")
                    self._db.execute(KEYWORDS)
                    self._db.execute(
                        "INSERT INTO keywords (rowid, text, id, context) SELECT c.rowid, k.text,"
                        " k.id, k.context FROM keywords_old k JOIN chunks c ON c.id = k.id")
                    self._db.execute("DROP TABLE keywords_old")
                    self._db.execute("INSERT INTO meta VALUES (?, '1')", (ALIGNED,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._db.close()

    def files(self) -> dict[str, FileEntry]:
        with self._lock:
            rows = self._db.execute("SELECT source, path, sha256, chunks, ingested_at FROM files")
            return {r[0]: FileEntry(*r) for r in rows.fetchall()}

    def path(self, source: str) -> str | None:
        """The path ``source`` was last ingested from; None when it is not in the index."""
        with self._lock:
            row = self._db.execute("SELECT path FROM files WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def sha256(self, source: str) -> str | None:
        """The hash of the version of ``source`` indexed; None when it is not in the index."""
        with self._lock:
            row = self._db.execute("SELECT sha256 FROM files WHERE source = ?",
                                   (source,)).fetchone()
        return row[0] if row else None

    def chunk_ids(self, source: str) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM chunks WHERE source = ?", (source,))
            return {r[0] for r in rows.fetchall()}

    def known(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` that belongs to the committed state."""
        ids = list(ids)
        if not ids:
            return set()
        with self._lock:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", ids)
            return {r[0] for r in rows.fetchall()}

    def commit_file(self, entry: FileEntry, chunks: list[Chunk]) -> None:
        """Atomically make ``chunks`` the file's indexed content (manifest and keywords)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._forget(entry.source)
                self._db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(c.id, entry.source, c.start_line, c.end_line, c.sha256, c.page,
                      c.page_offset) for c in chunks],
                )
                self._db.executemany(  # a keyword row has its chunk's rowid: joins are lookups
                    "INSERT INTO keywords (rowid, text, id, context) "
                    "SELECT rowid, ?, ?, ? FROM chunks WHERE id = ?",
                    [(c.text, c.id, c.context, c.id) for c in chunks],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO rows VALUES (?, ?, ?)",
                    [(entry.source, r.line, _row_json(r)) for c in chunks for r in c.rows])
                self._db.executemany(
                    "INSERT OR REPLACE INTO scanned VALUES (?, ?, ?, ?)",
                    [(entry.source, s.line, json.dumps(s.box), s.confidence)
                     for c in chunks for s in c.scanned])
                self._db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                    (entry.source, entry.path, entry.sha256, entry.chunks, entry.ingested_at),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _forget(self, source: str) -> None:
        self._db.execute(
            "DELETE FROM keywords WHERE rowid IN (SELECT rowid FROM chunks WHERE source = ?)",
            (source,)
        )
        self._db.execute("DELETE FROM chunks WHERE source = ?", (source,))
        self._db.execute("DELETE FROM rows WHERE source = ?", (source,))
        self._db.execute("DELETE FROM scanned WHERE source = ?", (source,))

    def remove_file(self, source: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._forget(source)
            self._db.execute("DELETE FROM files WHERE source = ?", (source,))
            self._db.execute("COMMIT")

    def keyword_search(
        self, question: str, k: int, *, budget: int = BM25_BUDGET
    ) -> list[tuple[Chunk, float]]:
        """BM25 over chunk text; any query word may match (OR), rarer words weigh more. The
        words asked for are planned in ``keywords`` (the commonest left out over ``budget``)."""
        terms = query_terms(question)
        if not terms:
            return []
        with self._lock:
            query = fts_query(affordable(terms, self._matches, budget))
            # Rank first on the FTS index alone (its fast path), then look up the few hits.
            hits = self._db.execute(
                "SELECT rowid, -rank FROM keywords WHERE keywords MATCH ? ORDER BY rank LIMIT ?",
                (query, k),
            ).fetchall()
            if not hits:
                return []
            marks = ",".join("?" * len(hits))
            found = {
                r[0]: r[1:]
                for r in self._db.execute(
                    "SELECT k.rowid, k.text, c.source, c.start_line, c.end_line, c.sha256, "
                    "c.page, c.page_offset, k.context "
                    "FROM keywords k JOIN chunks c ON c.id = k.id "
                    f"JOIN files f ON f.source = c.source WHERE k.rowid IN ({marks})",
                    [h[0] for h in hits],
                )
            }
        rows = [(found[rowid], score) for rowid, score in hits if rowid in found]
        return [(Chunk(r[1], r[2], r[3], r[0], r[4], page=r[5], page_offset=r[6], context=r[7]),
                 score)
                for r, score in rows]

    def with_reading(self, chunk: Chunk) -> Chunk:
        """``chunk`` holding what ingest read beside its lines: table rows, and how sure OCR
        was of each line it read."""
        where = (chunk.source, chunk.start_line, chunk.end_line)
        rows = self._beside("SELECT row FROM rows WHERE source = ? AND line BETWEEN ? AND ? "
                            "ORDER BY line", where)
        scanned = self._beside("SELECT line, box, confidence FROM scanned WHERE source = ? "
                               "AND line BETWEEN ? AND ? ORDER BY line", where)
        return dataclasses.replace(chunk, rows=tuple(_row(r[0]) for r in rows), scanned=tuple(
            Scanned(line, tuple(json.loads(box)), confidence) for line, box, confidence in scanned))

    def _beside(self, query: str, where: tuple) -> list[tuple]:
        try:
            with self._lock:
                return self._db.execute(query, where).fetchall()
        except sqlite3.OperationalError:  # an index older than the table, opened read-only
            return []

    def fields(self, source: str) -> list[Row]:
        """The lines of form fields (rows without a label) that ingest read in ``source``."""
        query = "SELECT row FROM rows WHERE source = ? AND json_extract(row, '$.label') = ''"
        try:
            with self._lock:
                return [_row(r[0]) for r in self._db.execute(query, (source,))]
        except sqlite3.OperationalError:  # an index older than rows, opened read-only
            return []

    def labels(self, sources: list[str]) -> set[str]:
        """The labels of the table rows that ingest read in ``sources``."""
        marks = ",".join("?" * len(sources))
        query = (f"SELECT DISTINCT json_extract(row, '$.label') FROM rows "
                 f"WHERE source IN ({marks})")
        try:
            with self._lock:
                return {r[0] for r in self._db.execute(query, sources) if r[0]}
        except sqlite3.OperationalError:  # an index older than rows, opened read-only
            return set()

    def page_chunks(self, source: str, page: int) -> list[Chunk]:
        """The committed chunks of one page of ``source``, in line order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT k.text, c.start_line, c.end_line, c.sha256, c.page_offset, "
                f"k.context FROM chunks c JOIN keywords k ON {self._join} "
                "JOIN files f ON f.source = c.source WHERE c.source = ? AND c.page = ? "
                "ORDER BY c.start_line", (source, page)).fetchall()
        return [Chunk(source, r[1], r[2], r[0], r[3], page=page, page_offset=r[4], context=r[5])
                for r in rows]

    def file_chunks(self, source: str, *, limit: int = -1) -> list[Chunk]:
        """The committed chunks of ``source`` in line order: every one, or the first ``limit``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT k.text, c.start_line, c.end_line, c.sha256, c.page, c.page_offset, "
                f"k.context FROM chunks c JOIN keywords k ON {self._join} "
                "JOIN files f ON f.source = c.source WHERE c.source = ? "
                "ORDER BY c.start_line LIMIT ?", (source, limit)).fetchall()
        return [Chunk(source, r[1], r[2], r[0], r[3], page=r[4], page_offset=r[5], context=r[6])
                for r in rows]

    def mentioning(self, words: list[str]) -> dict[str, float]:
        """Each source with chunks that hold all of ``words`` (BM25's tokens, stemmed), and
        the share of its chunks that do."""
        query = (f"SELECT c.source, count(*) * 1.0 / max(f.chunks, 1) FROM chunks c "
                 f"JOIN keywords k ON {self._join} JOIN files f ON f.source = c.source "
                 "WHERE keywords MATCH ? GROUP BY c.source")
        with self._lock:
            rows = self._db.execute(query, (" AND ".join(f'"{w}"' for w in words),))
            return dict(rows.fetchall())

    def _matches(self, term: str) -> int:
        count = "SELECT count(*) FROM keywords WHERE keywords MATCH ?"
        return self._db.execute(count, (f'"{term}"',)).fetchone()[0]

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def stats(self) -> dict:
        with self._lock:
            files, chunks = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(chunks), 0) FROM files"
            ).fetchone()
        last = self.get_meta("last_ingest")
        return {"files": files, "chunks": chunks, "last_ingest": float(last) if last else None}

    def mark_ingest(self) -> None:
        self.set_meta("last_ingest", str(time.time()))


def _row_json(row: Row) -> str:
    return json.dumps(dataclasses.asdict(row), ensure_ascii=False, separators=(",", ":"))


def _row(text: str) -> Row:
    d = json.loads(text)
    cells = tuple(Cell(c["value"], tuple(c["headers"])) for c in d.pop("cells"))
    return Row(**{**d, "cells": cells, "head": tuple(d["head"])})
