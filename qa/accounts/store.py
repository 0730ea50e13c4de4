"""The accounts file, ``<index>/accounts.sqlite3``: users, their rights, password hashes and
token digests, one transaction per change.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile:
3 passes over 64 MiB, 4 lanes). Measured on this project's 2-core machine, a hash took 133 ms
and 64 MiB against bcrypt's 196 ms at its default cost 12: Argon2id costs an attacker's GPUs
memory as well as time for less of our time, and takes passwords of any length, where bcrypt
5 refuses more than 72 bytes (docs/accounts.md).

Tokens are not passwords: 32 random bytes nobody chose, so no dictionary or guessing finds
one and a slow hash would only slow every request. The file keeps their SHA-256 digest, so a
copy of it gives no usable token, and a request's token is looked up by its digest.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..index import collections
from .user import User

FILE = "accounts.sqlite3"
MIN_PASSWORD = 8
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password TEXT NOT NULL,
    read TEXT NOT NULL, write TEXT NOT NULL, admin INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, created REAL NOT NULL,
    name TEXT NOT NULL UNIQUE REFERENCES users(name) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL,
    last REAL NOT NULL);
"""


@functools.cache
def _hasher() -> Any:
    from argon2 import PasswordHasher  # only where passwords are set or checked

    return PasswordHasher()


@functools.cache
def _decoy() -> str:
    """A hash to check an unknown name's password against: a login takes as long whether
    the name exists or not, so timing does not tell which names have accounts."""
    return _hasher().hash(secrets.token_hex(16))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: tuple[str, str, str, int]) -> User:
    name, read, write, admin = row
    return User(name, frozenset(filter(None, read.split(","))),
                frozenset(filter(None, write.split(","))), bool(admin))


class Accounts:
    """The accounts of the index in ``index_dir``; there are none until one is added."""

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / FILE

    def configured(self) -> bool:
        """Are there accounts? Then every server asks for one (checked per request)."""
        return self.path.exists()

    @contextlib.contextmanager
    def _db(self, *, change: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection: to ``change``, in one transaction (committed unless it raises), the
        file made on the first change, only its owner may read it; else read-only, so that
        reading never makes the file (which would turn accounts on)."""
        if change and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        where = self.path.resolve().as_uri() + ("" if change else "?mode=ro")
        with contextlib.closing(sqlite3.connect(where, uri=True, timeout=30,
                                                isolation_level=None)) as db, db:
            db.execute("PRAGMA foreign_keys = ON")
            if change:
                db.executescript(_SCHEMA)
                db.execute("BEGIN IMMEDIATE")  # one writer at a time: read, then change
            yield db

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One change of the file, for ``lockout``'s count of failed logins."""
        return self._db(change=True)

    def add(self, name: str, password: str, *, read: Iterable[str] = (),
            write: Iterable[str] = (), admin: bool = False) -> User:
        if not _NAME.fullmatch(name):
            raise InputError(f"bad user name {name!r}: use 1-64 letters, digits, '.', '_', '@'"
                             " or '-', starting with a letter or digit")
        read, write = _names(read), _names(write)
        hashed = _hasher().hash(_strong(password))
        with self._db(change=True) as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise InputError(f"user {name!r} exists: qa users remove {name} first")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                       (name, hashed, ",".join(read), ",".join(write), int(admin)))
        return User(name, frozenset(read), frozenset(write), admin)

    def remove(self, name: str) -> None:
        """Take the account and its token away; the collections are untouched."""
        with self._db(change=True) as db:
            self._known(db, name)
            db.execute("DELETE FROM users WHERE name = ?", (name,))

    def passwd(self, name: str, password: str) -> None:
        hashed = _hasher().hash(_strong(password))
        with self._db(change=True) as db:
            self._known(db, name)
            db.execute("UPDATE users SET password = ? WHERE name = ?", (hashed, name))

    def users(self) -> list[User]:
        if not self.configured():
            return []
        with self._db() as db:
            return [_user(row) for row in db.execute(
                "SELECT name, read, write, admin FROM users ORDER BY name")]

    def user(self, name: str) -> User | None:
        if not self.configured():
            return None
        with self._db() as db:
            row = db.execute("SELECT name, read, write, admin FROM users WHERE name = ?",
                             (name,)).fetchone()
        return _user(row) if row else None

    def issue_token(self, name: str) -> str:
        """A new API token for ``name``, which replaces (revokes) the one they had: returned
        here once, only its digest kept."""
        token = "qa_" + secrets.token_urlsafe(32)
        with self._db(change=True) as db:
            self._known(db, name)
            db.execute("DELETE FROM tokens WHERE name = ?", (name,))
            db.execute("INSERT INTO tokens VALUES (?, ?, ?)", (digest(token), time.time(), name))
        return token

    def revoke(self, name: str) -> bool:
        """Revoke ``name``'s token; whether they had one."""
        with self._db(change=True) as db:
            self._known(db, name)
            return db.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount > 0

    def by_token(self, token: str) -> User | None:
        """The user whose token this is, as their account says now."""
        if not self.configured():
            return None
        with self._db() as db:
            row = db.execute("SELECT u.name, u.read, u.write, u.admin FROM tokens t JOIN users u"
                             " ON u.name = t.name WHERE t.digest = ?", (digest(token),)).fetchone()
        return _user(row) if row else None

    def login(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else ``None`` (a wrong password and an
        unknown name alike, in the same time)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        row = None
        if self.configured():
            with self._db() as db:
                row = db.execute("SELECT password, name, read, write, admin FROM users"
                                 " WHERE name = ?", (name,)).fetchone()
        try:
            _hasher().verify(row[0] if row else _decoy(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher().check_needs_rehash(row[0]):  # the library's defaults have grown
            self.passwd(name, password)
        return _user(row[1:])

    @staticmethod
    def _known(db: sqlite3.Connection, name: str) -> None:
        if not db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise InputError(f"no user {name!r}: qa users list shows them")


def _names(given: Iterable[str]) -> list[str]:
    return sorted({collections.check(n.strip()) for n in given if n.strip()})


def _strong(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    return password
