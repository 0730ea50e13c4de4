"""Failed logins: after ``attempts`` wrong passwords in a row for one name (``ADDRESS`` times as
many from one client address, which a whole office may share behind one router), that name
(or address) is locked for ``seconds``, and the person is told so.

A login's password hash slows each guess (``store``), but not a patient guesser: 20 wrong
passwords in a row should not be 20 chances. The count lives in the accounts file (table
``failures``), so every process and replica serving the index sees the same one. While
locked, an attempt is refused without checking the password (no hash is spent on it, so a
flood costs the server little) and without extending the lock; the right password after
the window works and clears the count. Anyone may lock a name for a window by guessing
wrong: that is the price of locking, kept short (``QA_LOGIN_LOCK_SECONDS``).

Tokens are not counted: a token is 32 random bytes, so guessing one takes ~2^255 tries, and
it names no account that a lock could protect (docs/accounts.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ..errors import InputError
from .store import Accounts
from .user import User

ADDRESS = 4  # an address may fail this many times the attempts of one name


class LockedOut(InputError):
    """Too many failed logins for a name or address: ``seconds`` until the next try."""

    def __init__(self, name: str, seconds: float) -> None:
        self.seconds = max(1, math.ceil(seconds))
        super().__init__(f"too many failed logins for {name}: try again in {self.seconds} s")


@dataclass(frozen=True)
class Lockout:
    """``Accounts.login`` with a count of failures per name and per client address."""

    accounts: Accounts
    attempts: int = 5
    seconds: float = 60.0

    def login(self, name: str, password: str, client: str | None = None) -> User | None:
        """The user, or ``None`` for a wrong password; ``LockedOut`` while the name or the
        address is locked, and at the failure that locks it."""
        keys = [f"name:{name}"] + ([f"addr:{client}"] if client else [])
        if (wait := self.wait(keys)) > 0:
            raise LockedOut(name, wait)
        user = self.accounts.login(name, password)
        with self.accounts.transaction() as db:
            if user is not None:
                db.executemany("DELETE FROM failures WHERE key = ?", [(k,) for k in keys])
                return user
            now = time.time()
            db.executemany("INSERT INTO failures VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE"
                           " SET count = count + 1, last = excluded.last",
                           [(k, now) for k in keys])
        if (wait := self.wait(keys)) > 0:
            raise LockedOut(name, wait)
        return None

    def wait(self, keys: list[str]) -> float:
        """Seconds until any of ``keys`` may try again; 0 when none is locked."""
        if not self.accounts.configured():
            return 0.0
        with self.accounts.transaction() as db:
            marks = ",".join("?" * len(keys))
            rows = db.execute(f"SELECT key, count, last FROM failures WHERE key IN ({marks})",
                              keys).fetchall()
        now = time.time()
        return max((last + self.seconds - now for key, count, last in rows
                    if count >= self.attempts * (ADDRESS if key.startswith("addr:") else 1)),
                   default=0.0)
