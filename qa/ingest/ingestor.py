"""Incremental, crash-safe ingest (see ``manifest.py`` for the commit protocol).

Files are read one at a time and their new chunks are embedded in batches across files, so
memory holds one batch, not the corpus, and small files still fill the embedder's batches.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from .._hashing import sha256_file
from ..config import Settings, embedder_id
from ..errors import InputError
from ..index.manifest import FileEntry, Manifest
from ..index.store import Store
from ..types import Chunk, Embed, IngestReport
from .chunking import chunk_view
from .documents import Document, Extract, Skip, find_files, read_document
from .readers._worker import Extractor
from .readers.grid import VERSION as GRID
from .readers.html import VERSION as HTML
from .readers.layout import VERSION as LAYOUT
from .readers.ocr import GROUPING, from_settings

# (files done, files total, what is read now: the source, and the page OCR is at in a scan)
Progress = Callable[[int, int, str], None]
DIRTY = "ingest_in_progress"
EMBEDDER = "embedder"
# What the readers give beside the lines (table rows, OCR's confidence in each line), and which
# OCR engine read scans (verifying
# reads them with the engine set now): a file read otherwise before is read again.
READER = "reader"
# tables as ``layout`` and ``grid`` read them; a web page's lines; OCR's lines as ``ocr.group``
# makes them, with confidence
READER_VERSION = f"rows-{LAYOUT}/grid-{GRID}/html-{HTML}/ocr-{GROUPING}"


@dataclass
class _Pending:
    doc: Document
    chunks: list[Chunk]
    new: list[Chunk]  # chunks not already stored under the same id
    old_ids: set[str]
    kind: str  # "added" | "updated"


@dataclass
class _Batch:
    files: list[_Pending] = field(default_factory=list)
    size: int = 0


class Ingestor:
    def __init__(self, settings: Settings, store: Store, manifest: Manifest, embed: Embed):
        self._s = settings
        self._store = store
        self._manifest = manifest
        self._embed = embed

    @staticmethod
    def targets(paths: Sequence[str | os.PathLike]) -> list[str]:
        """The files and folders to ingest, each one that exists; else a one-line error."""
        if not paths:
            raise InputError("nothing to ingest: give a file or a folder")
        targets = [os.fspath(p) for p in paths]
        for t in targets:
            if not os.path.exists(t):
                raise InputError(f"no such file or folder: {t}")
        return targets

    def run(self, targets: list[str], progress: Progress | None = None) -> IngestReport:
        began = time.perf_counter()
        report = IngestReport()
        if self._manifest.get_meta(EMBEDDER) != embedder_id(self._s):
            self.reset()  # vectors of another embedder cannot be mixed with new ones
        if self._manifest.get_meta(DIRTY):
            self.repair()
        self._manifest.set_meta(DIRTY, str(time.time()))
        # files read by an older reader are read again (their vectors are kept)
        reader = f"{READER_VERSION}/{self._s.ocr}"
        self._reread = self._manifest.get_meta(READER) != reader
        known = self._manifest.files()
        found = [pair for target in targets for pair in find_files(target)]
        batch = _Batch()
        seen: set[str] = set()
        with Extractor(seconds=self._s.extract_seconds, ocr=from_settings(self._s)) as extractor:
            # A file is one source however it is named: "docs/a.txt", "./docs/a.txt" and its
            # absolute path would otherwise be indexed three times over.
            named = {entry.path: s for s, entry in known.items()}
            claimed: dict[str, str] = {}  # real path -> the source that took it in this run
            for done, (source, path) in enumerate(found):
                if progress:
                    progress(done, len(found), source)
                if not isinstance(path, Skip):
                    real = str(path)
                    if real in claimed and claimed[real] != source:  # a link to a file in it
                        report.skipped.append(
                            (source, f"the same file as {claimed[real]}: indexed once"))
                        continue
                    source = claimed[real] = named.get(real, source)
                if source in seen:
                    continue
                seen.add(source)
                extract = extractor.view
                if progress:
                    extract = partial(extractor.view, on_page=partial(_page_read, progress, done,
                                                                      len(found), source))
                self._consider(source, path, known.get(source), report, batch, extract)
                if batch.size >= self._s.embed_batch * 4:
                    self._flush(batch, report)
        self._flush(batch, report)
        self._remove_deleted(targets, known, seen, report)
        if not any(source not in seen for source in known):  # every file is read as now
            self._manifest.set_meta(READER, reader)
        self._manifest.mark_ingest()
        self._manifest.set_meta(DIRTY, None)
        if progress:
            progress(len(found), len(found), "")
        report.seconds = time.perf_counter() - began
        return report

    def _consider(self, source: str, path: Path | Skip, entry: FileEntry | None, report, batch,
                  extract: Extract) -> None:
        if entry and not isinstance(path, Skip) and not self._reread and _unchanged(path, entry):
            report.unchanged.append(source)
            return
        try:
            doc = read_document(source, path, max_bytes=int(self._s.max_file_mb * 1e6),
                                extract=extract)
        except Skip as why:
            report.skipped.append((source, str(why)))
            if entry:  # its indexed text is no longer what the file says
                self.remove(source)
                report.removed.append(source)
            return
        if entry and entry.sha256 == doc.sha256 and not self._reread:
            report.unchanged.append(source)
            return
        chunks = chunk_view(
            source,
            doc.view,
            max_words=self._s.chunk_words,
            page_words=self._s.page_chunk_words,
            overlap=self._s.chunk_overlap,
        )
        report.flagged += sorted({(source, n) for c in chunks for n in c.flagged})
        report.unsure += [(source, *doc.view.where(s.line)) for s in doc.view.scanned
                          if s.unsure]
        old_ids = self._manifest.chunk_ids(source) if entry else set()
        new = [c for c in chunks if c.id not in old_ids]
        kind = "added" if not entry else "unchanged" if entry.sha256 == doc.sha256 else "updated"
        batch.files.append(_Pending(doc, chunks, new, old_ids, kind))
        batch.size += len(new)

    def _flush(self, batch: _Batch, report: IngestReport) -> None:
        new = [c for p in batch.files for c in p.new]
        if new:
            vectors = self._embed([c.search_text for c in new])
            self._store.add(new, vectors)
        for p in batch.files:
            ids = [c.id for c in p.chunks]
            self._manifest.commit_file(
                FileEntry(p.doc.source, str(p.doc.path), p.doc.sha256, len(ids), time.time()),
                p.chunks,
            )
            self._store.delete(sorted(p.old_ids - set(ids)))
            getattr(report, p.kind).append(p.doc.source)
            report.chunks += len(p.new)
        batch.files.clear()
        batch.size = 0

    def _remove_deleted(self, targets, known: dict[str, FileEntry], seen: set[str], report) -> None:
        """Files once ingested from a target folder and gone from it now leave the index."""
        # entry.path is the real path: compare with the targets' real paths (a symlinked folder)
        roots = [os.path.realpath(t) + os.sep for t in targets if os.path.isdir(t)]
        files = [os.path.realpath(t) for t in targets if not os.path.isdir(t)]
        for source, entry in known.items():
            if source in seen:
                continue
            inside = any(entry.path.startswith(r) for r in roots) or entry.path in files
            if inside and not os.path.exists(entry.path):
                self.remove(source)
                report.removed.append(source)

    def remove(self, source: str) -> None:
        ids = self._manifest.chunk_ids(source)
        self._manifest.remove_file(source)  # invisible first, then gone
        self._store.delete(sorted(ids) + sorted(self._store.ids_for_source(source) - ids))

    def reset(self) -> None:
        """Forget every file, so the whole corpus is embedded again by the current model."""
        for source in self._manifest.files():
            self.remove(source)
        self._manifest.set_meta(DIRTY, "reset")  # the repair sweep removes anything left
        self.repair()
        self._manifest.set_meta(EMBEDDER, embedder_id(self._s))

    def repair(self) -> None:
        """After an interrupted ingest: delete every stored chunk the manifest does not list."""
        for source, ids in self._store.all_sources().items():
            live = self._manifest.chunk_ids(source)
            self._store.delete([i for i in ids if i not in live])
        self._manifest.set_meta(DIRTY, None)


def _page_read(progress: Progress, done: int, total: int, source: str, page: int,
               pages: int) -> None:
    progress(done, total, f"{source} (OCR: page {page} of {pages})")


def _unchanged(path: Path, entry: FileEntry) -> bool:
    """The file still has the bytes it was indexed with: no need to extract its text again."""
    try:
        return sha256_file(path) == entry.sha256
    except OSError:
        return False
