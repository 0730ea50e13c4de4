"""Find the files to ingest and read them, or say exactly why one is skipped."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .readers import Skip, View, kind_of, page_lines, read_view, unsupported_reason
from .readers.ocr import Ocr

Extract = Callable[[str, bytes], View]  # (file name, bytes) -> view; readers.Extractor.view
# (source, page) -> the display lines of that page (page 0: a file without pages) now on disk
PageReader = Callable[[str, int], "list[str] | None"]


@dataclass(frozen=True)
class Document:
    source: str  # the path as given to ingest (joined with the relative path inside a folder)
    path: Path  # absolute, to read the file again when verifying
    view: View  # the display lines that citations address
    sha256: str  # of the raw bytes


def find_files(target: str | os.PathLike) -> Iterator[tuple[str, Path | Skip]]:
    """Yield (source, real path) for every file under ``target``, or (source, Skip) for a file
    that cannot be taken: a type qa does not read, or a symlink leading out of the folder.
    Hidden files and folders (a leading dot) are left out, as git and editors do.

    The corpus has a boundary: a file is indexed only if its real path lies inside the folder
    given, so a link to /etc/passwd is never read. Symlinked folders are not followed, so a
    symlink loop cannot recurse forever.
    """
    given = os.fspath(target)
    path = Path(given)
    if not path.exists():
        raise InputError(f"no such file or folder: {given}")
    if path.is_file():
        yield given, path.resolve() if kind_of(given) else Skip(unsupported_reason(given))
        return
    root = path.resolve()
    for dirpath, dirs, files in os.walk(path, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            source = os.path.join(dirpath, name)
            if not kind_of(name):
                yield source, Skip(unsupported_reason(name))
                continue
            try:
                real = Path(source).resolve()
            except (OSError, RuntimeError) as exc:  # a symlink loop
                yield source, Skip(f"cannot read: {exc}")
                continue
            if not real.is_relative_to(root):
                yield source, Skip(f"symlink to {real}, outside the folder {given}: not indexed")
            else:
                yield source, real


def read_document(
    source: str, path: Path | Skip, *, max_bytes: int, extract: Extract = read_view
) -> Document:
    """Read one file and extract its view; raise ``Skip`` with a reason a user can act on."""
    if isinstance(path, Skip):
        raise path
    if not kind_of(path.name):
        raise Skip(unsupported_reason(path.name))
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
    view = extract(path.name, raw)
    if not any(line.strip() for line in view.lines):
        raise Skip("no text in it")
    return Document(source, path, view, hashlib.sha256(raw).hexdigest())


def inside_corpus(path: str | None) -> Path | None:
    """The ingested file's path, if it still resolves to itself: a file replaced by a symlink
    since ingest (or moved behind one) may point anywhere, so it reads as gone."""
    if not path or os.path.realpath(path) != path:
        return None
    return Path(path)


def page_reader(path_of: Callable[[str], str | None], ocr: Ocr | None = None) -> PageReader:
    """Read a page of an ingested source from where it was ingested from (``path_of`` maps
    source -> real path at ingest), by OCR too as ingest read it. A file since replaced by a
    symlink (or moved behind one) no longer resolves there and reads as gone, so no line
    from outside the corpus is shown."""

    def read(source: str, page: int) -> list[str] | None:
        path = inside_corpus(path_of(source))
        return page_lines(path, page, ocr) if path else None

    return read
