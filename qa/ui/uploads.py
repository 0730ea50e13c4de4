"""Uploaded files: safe names, a size limit, stored under the collection's ``uploads/`` folder.

A browser sends whatever name the user's file had. It must not choose where the file lands
(``../../etc/passwd``), silently replace another upload, or be a name Windows cannot open
(``CON``), so the stored name is rebuilt from the given one and never trusted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import accounts
from .._hashing import sha256_file
from ..ingest.ingestor import Progress
from ..ingest.readers import KINDS, kind_of

if TYPE_CHECKING:
    from ..api import QA

MAX_NAME_BYTES = 200  # under the usual 255-byte limit, with room for a "-2" suffix
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(10)}


def safe_name(name: str) -> str:
    """A file name that stays inside the uploads folder on any OS; never empty."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = _UNSAFE.sub("_", name).strip(" .")  # no hidden files, no "..", no Windows trailing dot
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem, ext = stem.strip(" ."), ext.strip()
    if not stem:
        stem = "upload"
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    suffix = f".{ext}" if ext else ""
    if len(suffix.encode()) > 16:  # an absurd "extension" is part of the name
        stem, suffix = stem + suffix, ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .") or "upload"
    return stem + suffix


@dataclass(frozen=True)
class Stored:
    """One upload's fate before ingest: ``path`` is set when it was stored."""

    name: str  # as the user gave it
    path: Path | None
    reason: str = ""  # why it was not stored


def check(name: str, size: int, limit_mb: float) -> str:
    """Why this upload is refused, or "" when it may be stored."""
    if not kind_of(name):
        return f"not a document qa reads: it reads {KINDS}"
    if size > limit_mb * 1e6:
        return f"too large: {size / 1e6:.1f} MB over the {limit_mb:g} MB upload limit"
    return ""


def store(src: str | os.PathLike, name: str, folder: Path, *, limit_mb: float) -> Stored:
    """Copy an uploaded temp file into ``folder`` under a safe, unused name.

    A file with the same name and the same bytes is reused, so uploading it again is reported
    "unchanged" by ingest instead of indexing a duplicate; different bytes get ``name-2.txt``.
    """
    src = Path(src)
    reason = check(name, src.stat().st_size, limit_mb)
    if reason:
        return Stored(name, None, reason)
    folder.mkdir(parents=True, exist_ok=True)
    clean = safe_name(name)
    stem, suffix = os.path.splitext(clean)
    digest = sha256_file(src)
    for n in range(1, 10_000):
        target = folder / (clean if n == 1 else f"{stem}-{n}{suffix}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if sha256_file(target) == digest:
                return Stored(name, target)
            continue
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
        return Stored(name, target)
    return Stored(name, None, "too many uploads with this name")


Row = tuple[str, str, str]  # (file name, added|updated|unchanged|skipped, why)


def ingest_uploads(
    qa: QA, files: list[tuple[str, str]], *, progress: Progress | None = None
) -> list[Row]:
    """Store each (temp path, original name) upload and ingest the stored ones like any file.

    Returns one row per upload for the UI. QAError from ingest propagates: the caller shows
    it as a message.
    """
    # the right to add files, before any is stored (``QA.ingest`` checks it again)
    accounts.check(qa.user, qa.settings.index_dir, qa.settings.collection, write=True)
    folder = Path(qa.home) / "uploads"  # the collection's own
    stored = [store(tmp, name, folder, limit_mb=qa.settings.upload_mb) for tmp, name in files]
    rows: dict[int, Row] = {i: (s.name, "skipped", s.reason) for i, s in enumerate(stored)}
    sources = {i: _source(s.path) for i, s in enumerate(stored) if s.path}
    if sources:
        report = qa.ingest(*dict.fromkeys(sources.values()), progress=progress)
        status = {src: kind for kind in _KINDS for src in getattr(report, kind)}
        status.update({src: f"skipped:{why}" for src, why in report.skipped})
        for i, src in sources.items():
            kind, _, why = status.get(src, "unchanged").partition(":")
            stored_as = Path(src).name
            note = why or (f"stored as {stored_as}" if stored_as != stored[i].name else "")
            rows[i] = (stored[i].name, kind, note)
    return [rows[i] for i in sorted(rows)]


_KINDS = ("added", "updated", "unchanged")


def forget(paths: list[str], folder: str | Path) -> None:
    """Delete Gradio's own copies of uploads (those under its upload ``folder``) once they
    are stored or refused: Gradio serves that folder to anyone logged in who has a file's
    URL, and the stored copy (``uploads/`` in the index) is served to no one."""
    root = Path(folder).resolve()
    for given in paths:
        path = Path(given).resolve()
        if path.is_relative_to(root) and path != root:
            path.unlink(missing_ok=True)
            if path.parent != root:
                with contextlib.suppress(OSError):  # its folder, when nothing else is in it
                    path.parent.rmdir()


def _source(path: Path) -> str:
    """The name a citation will show: relative to the server's folder when it is inside it."""
    rel = os.path.relpath(path)
    return str(path.resolve()) if rel.startswith("..") else rel
