"""Find the files to ingest and read them, or say exactly why one is skipped."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    source: str  # the path as given to ingest (joined with the relative path inside a folder)
    path: Path  # absolute, to read the file again when verifying
    text: str
    sha256: str  # of the raw bytes


class Skip(Exception):
    """A file that cannot be indexed; the message is the reason shown to the user."""


def find_files(target: str | os.PathLike) -> Iterator[tuple[str, Path | Skip]]:
    """Yield (source, real path) for every .txt/.md file under ``target``, or (source, Skip)
    for a file that cannot be taken, such as a symlink leading out of the folder.

    The corpus has a boundary: a file is indexed only if its real path lies inside the folder
    given, so a link to /etc/passwd is never read. Symlinked folders are not followed, so a
    symlink loop cannot recurse forever.
    """
    given = os.fspath(target)
    path = Path(given)
    if not path.exists():
        raise InputError(f"no such file or folder: {given}")
    if path.is_file():
        yield given, path.resolve()
        return
    root = path.resolve()
    for dirpath, dirs, files in os.walk(path, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            source = os.path.join(dirpath, name)
            try:
                real = Path(source).resolve()
            except (OSError, RuntimeError) as exc:  # a symlink loop
                yield source, Skip(f"cannot read: {exc}")
                continue
            if not real.is_relative_to(root):
                yield source, Skip(f"symlink to {real}, outside the folder {given}: not indexed")
            else:
                yield source, real


def read_document(source: str, path: Path | Skip, *, max_bytes: int) -> Document:
    """Read and decode one file; raise ``Skip`` with a reason a user can act on."""
    if isinstance(path, Skip):
        raise path
    if not path.name.lower().endswith(SUFFIXES):
        raise Skip(f"not a text file (only {', '.join(SUFFIXES)} are indexed)")
    try:
        before = path.stat()
    except OSError as exc:
        raise Skip(f"cannot read: {exc.strerror or exc}") from None
    if before.st_size > max_bytes:
        raise Skip(
            f"too large: {before.st_size / 1e6:.0f} MB over the {max_bytes / 1e6:.0f} MB limit "
            "(QA_MAX_FILE_MB)"
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise Skip(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise Skip("too large: grew past the size limit while being read (QA_MAX_FILE_MB)")
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(
        raw
    ) != after.st_size:
        raise Skip("changed while being read; ingest again once it is written")
    if not raw.strip():
        raise Skip("empty file")
    if b"\0" in raw[:8192]:
        raise Skip("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Skip(f"not valid UTF-8 (byte {exc.start}); convert it to UTF-8") from None
    return Document(source, path, text, hashlib.sha256(raw).hexdigest())


def inside_corpus(path: str | None) -> Path | None:
    """The ingested file's path, if it still resolves to itself: a file replaced by a symlink
    since ingest (or moved behind one) may point anywhere, so it reads as gone."""
    if not path or os.path.realpath(path) != path:
        return None
    return Path(path)


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: split on \\n only, a trailing \\r dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def iter_lines(path: Path, start: int, end: int) -> Iterator[tuple[int, str]]:
    """(number, line) for lines start..end of the file now on disk, as far as it reaches.

    Raises OSError when the file cannot be read; lines are numbered as ``split_lines`` does.
    """
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if number > end:
                return
            if number >= start:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8", "replace")
                yield number, line.rstrip("\n").removesuffix("\r")


def read_lines(path: Path, start: int, end: int) -> list[str] | None:
    """Lines start..end (1-based, inclusive) of the file now on disk, or None if it has fewer."""
    try:
        lines = [line for _, line in iter_lines(path, start, end)]
    except OSError:
        return None
    return lines if len(lines) == end - start + 1 else None
