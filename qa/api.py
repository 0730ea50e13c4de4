"""``QA``: the one object the CLI, the servers, the UI and the eval call. It wires together the
index, the models, ingest, the ask path (``qa.ask.pipeline``) and accounts (``qa.accounts``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import accounts
from ._shared import Shared
from .ask.answer.base import Answerer
from .ask.answerability import Evidence
from .ask.pipeline import Pipeline, check_question
from .config import Settings
from .errors import InputError
from .index import collections
from .index.manifest import Manifest
from .index.store import Store
from .ingest.documents import PageReader, page_reader
from .ingest.ingestor import Ingestor, Progress
from .ingest.readers.ocr import from_settings
from .types import Answer, History, IngestReport, Passage, Status


class QA:
    """Question answering over a folder of documents, every citation checked against the file:
    ``QA(".qa", collection="hr", read_only=True)`` opens that collection of the index in .qa;
    options override the environment; ``answerer=`` replaces the configured backend."""

    def __init__(self, index_dir: str | os.PathLike | None = None, *,
                 settings: Settings | None = None, answerer: Answerer | None = None,
                 read_only: bool = False, _shared: Shared | None = None,
                 **options: Any) -> None:
        if index_dir is not None:
            options["index_dir"] = Path(index_dir)
        self.settings = s = (settings or Settings.from_env()).replace(**options)
        self.read_only = read_only
        self.home = collections.home(s.index_dir, s.collection, existing=read_only)
        self._manifest = Manifest.open(self.home, read_only=read_only)
        self._store = Store(self.home, chroma_url=s.chroma_url, read_only=read_only,
                            collection=collections.chroma_name(s.chroma_collection, s.collection))
        self._shared = _shared or Shared(answerer)  # with the other collections open
        self._shared.members.setdefault(s.collection, self)
        self._write_lock = threading.Lock()
        self.user: accounts.User | None = None  # every read and write is checked against it

    def collection(self, name: str) -> QA:
        """Collection ``name`` of this index folder, sharing this one's models, closed with it."""
        accounts.check(self.user, self.settings.index_dir, name, existing=self.read_only)
        return self._shared.member(name, lambda: QA(
            settings=self.settings.replace(collection=name), read_only=self.read_only,
            _shared=self._shared)).as_user(self.user)

    def collections(self) -> list[str]:
        """The collections of this index folder that ``user`` may read."""
        return accounts.readable(self.user, collections.names(self.settings.index_dir))

    def as_user(self, user: accounts.User | None) -> QA:
        """This collection as ``user`` may see it (``qa.accounts.view``)."""
        return accounts.view(self, user)

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        return self._shared.part(self.settings.collection, name, build)

    @property
    def embed_model(self) -> Any:
        from .index.embedding import make_embed_model

        return self._part("embed_model", lambda: make_embed_model(self.settings))

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embed_lines(texts) if texts else []

    @property
    def embed_lines(self) -> Any:
        """The embedder through the process's cache of its vectors: a text is embedded once."""
        from .index.embedding import cached

        return self._part("embed_lines", lambda: cached(self.settings, self.embed_model))

    @property
    def answerer(self) -> Answerer:
        from .ask.answer import make_answerer

        return self._part("answerer", lambda: make_answerer(self.settings, self.embed_lines))

    @property
    def retriever(self) -> Any:
        from .ask.retrieve import make_retriever

        return self._part("retriever", lambda: make_retriever(
            self.settings, self._store, self._manifest, self.embed_model, self.embed_lines))

    @property
    def pipeline(self) -> Pipeline:
        """The ask path: the stages from question to verified answer (``qa.ask.pipeline``)."""
        return self._part("pipeline", lambda: Pipeline(  # checked by who runs it (``manifest``)
            self._shared.members[self.settings.collection]))

    @property
    def manifest(self) -> Manifest:
        """The collection's index, once ``user`` may read it: every read starts here."""
        accounts.check(self.user, self.settings.index_dir, self.settings.collection)
        return self._manifest

    @property
    def read(self) -> PageReader:
        """A page of an ingested file as it is on disk now (what verification compares)."""
        return page_reader(self.path_of, from_settings(self.settings))

    def ingest(self, *paths: str | os.PathLike, progress: Progress | None = None) -> IngestReport:
        """Index files or folders; unchanged files are skipped, deleted ones leave the index."""
        self._check_writable()
        targets = Ingestor.targets(paths)
        self.embed_model  # noqa: B018 - load before taking the lock
        with self._write_lock:
            return self._ingestor().run(targets, progress)

    def remove(self, source: str) -> None:
        """Take one ingested source out of the index."""
        self._check_writable()
        with self._write_lock:
            self._ingestor().remove(source)

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]:
        question = check_question(question, self.settings, self.manifest)
        self.embed_model  # noqa: B018
        return self.retriever.retrieve(question, k or self.settings.top_k)

    def ask(self, question: str, *, k: int | None = None,
            history: History | None = None) -> Answer:
        """A verified answer, or a refusal when the documents don't say; ``history``: turns."""
        *_, answer = self.stream(question, k=k, history=history)
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str, *, k: int | None = None, history: History | None = None,
               status: bool = False) -> Iterator[str | Status | Answer]:
        """The answer's text as its sentences pass verification, then the ``Answer``; ``status``:
        a ``Status`` before each stage. Closing it stops the backend (trace: ``answer.debug``)."""
        question = check_question(question, self.settings, self.manifest)
        yield from self.pipeline.stream(question, k or self.settings.top_k, history=history,
                                        status=status)

    def assess(self, question: str, *, k: int | None = None) -> Evidence:
        """The evidence for answering ``question``, scored before any answer is written."""
        question = check_question(question, self.settings, self.manifest)
        return self.pipeline.assess(question, k or self.settings.top_k)

    def condense(self, question: str, history: History) -> str:
        """The question rewritten to stand alone, by the backend when it can, else by rule."""
        return self.pipeline.condense(question, history)

    def as_retriever(self, *, k: int | None = None) -> Any:
        """This index as a LlamaIndex ``BaseRetriever``; nodes carry source, page and lines."""
        from .llamaindex import retriever

        return retriever(self, k=k)

    def as_query_engine(self, *, k: int | None = None) -> Any:
        """A LlamaIndex query engine: the verified answer, its citations as source nodes."""
        from .llamaindex import query_engine

        return query_engine(self, k=k)

    def stats(self) -> dict:
        """What is indexed: files, chunks, last ingest time, and the sources."""
        info = self.manifest.stats()
        info.update(sources=sorted(self._manifest.files()), collection=self.settings.collection,
                    collections=self.collections(), index_dir=str(self.settings.index_dir),
                    backend=self.settings.backend)
        return info

    def path_of(self, source: str) -> str | None:
        """Where ``source`` was ingested from (None: not indexed); files are shown from here."""
        return self.manifest.path(source)

    def close(self) -> None:
        """Release the index and the retriever's worker threads, of every collection opened."""
        self._shared.close()
        for qa in list(self._shared.members.values()):
            qa._manifest.close()

    def __enter__(self) -> QA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ingestor(self) -> Ingestor:
        return Ingestor(self.settings, self._store, self._manifest, self.embed)

    def _check_writable(self) -> None:
        accounts.check(self.user, self.settings.index_dir, self.settings.collection, write=True)
        if self.read_only:
            raise InputError(f"the index {self.settings.index_dir} was opened read-only")
