"""Accounts: who may read and write which collections of an index, and the one check of it.

People log in to the UI with a name and password, and `qa api` and `qa mcp --http` take a
user's token; each then sees only the collections their account may read. The accounts live
beside the index (``store.Accounts``, ``<index>/accounts.sqlite3``). Without that file no
accounts are configured and qa is as before: whoever reaches a server (loopback, with
QA_API_KEY, QA_MCP_TOKEN or QA_UI_AUTH if set) may read every collection; ``user`` is then
``None`` everywhere below.

``allowed`` is the rule and ``check`` applies it. ``QA`` calls it in ``manifest``, where every
read starts (retrieving passages, asking, ``path_of`` for each file shown or verified,
``stats``), in ``collection`` and before ingesting or removing files; the servers answer each
request from ``qa.as_user(user)`` (``view``; the UI: ``signed_in``), so no path skips it.
A collection the caller may not read looks exactly like one that does not exist
(``collections.missing``): names of other people's collections never leak.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..index import collections
from .lockout import LockedOut, Lockout
from .store import Accounts
from .user import User

if TYPE_CHECKING:
    from ..api import QA

__all__ = ["Accounts", "LockedOut", "Lockout", "Unauthorized", "User", "allowed", "caller",
           "check", "readable", "signed_in", "view"]


class Unauthorized(Exception):
    """A request's bearer token is neither the server's key nor a user's token."""


def allowed(user: User | None, collection: str, *, write: bool = False) -> bool:
    """May ``user`` read (or ``write``) ``collection``? ``None``: no accounts, or the server's
    own key: everything, as before accounts."""
    if user is None or user.admin:
        return True
    return collection in user.write or (not write and collection in user.read)


def readable(user: User | None, names: Iterable[str]) -> list[str]:
    return [name for name in names if allowed(user, name)]


def check(user: User | None, index_dir: Path, name: str, *, write: bool = False,
          existing: bool = False) -> None:
    """Nothing when ``user`` may read (or ``write``) collection ``name`` (which, ``existing``,
    must be there), else the error of a missing collection, naming only those they may read."""
    if user is None:
        return
    if allowed(user, name, write=write) and not (
            existing and name not in collections.names(index_dir)):
        return
    if write and allowed(user, name):  # they know it is there: say what is wrong
        raise InputError(f"{user.name!r} may read collection {name!r} but not change it")
    raise collections.missing(index_dir, name, readable(user, collections.names(index_dir)))


def caller(given: str, *, key: str, accounts: Accounts) -> User | None:
    """Who sent the bearer token ``given``: ``None`` (no limits) for the server's own ``key``
    (QA_API_KEY, QA_MCP_TOKEN) and, when there are no accounts and no key, for anyone, as
    before accounts; the user whose token it is; else ``Unauthorized``. Looked up on every
    request, so that a revoked token or a removed user is refused at once."""
    if key and secrets.compare_digest(given.encode(), key.encode()):
        return None
    if accounts.configured():
        if given and (user := accounts.by_token(given)) is not None:
            return user
    elif not key:
        return None
    raise Unauthorized


def view(qa: QA, user: User | None) -> QA:
    """``qa`` as ``user`` may see it: the same index and parts, with every read and write
    checked against their rights (``QA.manifest``, ``QA.collection``)."""
    if user == qa.user:
        return qa
    seen = copy.copy(qa)
    seen.user = user
    return seen


def signed_in(qa: QA, name: str | None) -> QA:
    """``qa`` as the person logged in to the UI as ``name`` (Gradio's ``request.username``)
    may see it: ``collections()`` lists what they may read. ``qa`` itself without accounts;
    an account removed since they logged in may read nothing."""
    accounts = Accounts(qa.settings.index_dir)
    if not accounts.configured():
        return qa
    return view(qa, accounts.user(name or "") or User(name or ""))
