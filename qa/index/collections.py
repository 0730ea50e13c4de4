"""Collections: named sets of documents in one index folder, each its own index.

HR's files and the engineering wiki should not answer each other's questions, yet one server
should serve both. A collection is a whole index (manifest and Chroma collection) of its own:
``default`` is the index folder itself, so an index made before collections existed opens as
it is, without re-embedding; any other lives in ``<index>/collections/<name>/``, and on a
Chroma server under its own collection name. Nothing is shared between two collections but
the models that read them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..errors import InputError

DEFAULT = "default"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # a folder and a Chroma name on every system
_MANIFEST = "manifest.sqlite3"


def check(name: str) -> str:
    """``name`` as a collection's name, or a one-line ``InputError``."""
    if not _NAME.fullmatch(name):
        raise InputError(f"bad collection name {name!r}: use 1-63 lower-case letters, digits,"
                         " '-' or '_', starting with a letter or digit")
    return name


def home(index_dir: Path, name: str, *, existing: bool = False) -> Path:
    """The folder that holds collection ``name``'s index; ``existing``: a one-line
    ``InputError`` when there is no such collection (other than the default one, whose
    folder says so itself)."""
    if existing and name != DEFAULT:
        known(index_dir, name)
    return index_dir if check(name) == DEFAULT else index_dir / "collections" / name


def chroma_name(base: str, name: str) -> str:
    """The Chroma collection of ``name``: ``base`` (``QA_CHROMA_COLLECTION``) for the default
    one, as before collections, and ``base_name`` for the others, apart on a shared server."""
    return base if check(name) == DEFAULT else f"{base}_{name}"


def names(index_dir: Path) -> list[str]:
    """The collections of the index in ``index_dir``: the default one when it holds an index,
    then the others by name."""
    found = [DEFAULT] if (index_dir / _MANIFEST).exists() else []
    folder = index_dir / "collections"
    if folder.is_dir():
        found += sorted(p.name for p in folder.iterdir()
                        if _NAME.fullmatch(p.name) and (p / _MANIFEST).exists())
    return found


def known(index_dir: Path, name: str) -> str:
    """``name`` when the index has that collection, else a one-line ``InputError`` naming
    those it has."""
    have = names(index_dir)
    if check(name) not in have:
        raise missing(index_dir, name, have)
    return name


def missing(index_dir: Path, name: str, have: list[str]) -> InputError:
    """The error for a collection not in ``have``: the one text for a collection that does
    not exist and one the caller may not read (``qa.accounts``), so neither tells the other."""
    return InputError(f"no collection {name!r} in {index_dir}; "
                      + (f"there are: {', '.join(have)}" if have else "nothing is indexed"))


def delete(index_dir: Path, name: str, *, chroma_url: str = "", base: str) -> None:
    """Remove collection ``name`` (not the default one: its folder is the whole index), its
    files' index and vectors; the documents themselves are untouched."""
    if known(index_dir, name) == DEFAULT:
        raise InputError("the default collection is the index itself: delete its folder "
                         f"{index_dir} instead, or remove its files")
    if chroma_url:
        from .store import drop

        drop(chroma_url, chroma_name(base, name))
    shutil.rmtree(home(index_dir, name))
