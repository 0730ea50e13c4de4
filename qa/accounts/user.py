"""``User``: an account's name and rights, as read from the accounts file."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    """An account and its rights: collections it may ``read`` and ``write`` (writing implies
    reading), or all of them (``admin``)."""

    name: str
    read: frozenset[str] = field(default_factory=frozenset)
    write: frozenset[str] = field(default_factory=frozenset)
    admin: bool = False
