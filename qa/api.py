"""``QA``: the one object the CLI, the UI and the eval all call.

It only wires parts together: the index (manifest and Chroma), the models, ingest, and the
ask path (``qa.ask.pipeline``), which holds every step from a question to a verified answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    """Question answering over a folder of documents, every citation checked against the file.

    ``QA(".qa")`` opens (or creates) the index in that directory, ``collection="hr"`` one of
    its collections; ``read_only=True`` writes nothing (`qa ask`, `qa stats`). Options
    override the environment (``Settings.from_env``); ``answerer=`` plugs in any
    ``qa.ask.answer.Answerer`` in place of the configured backend.
    """

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

    def collection(self, name: str) -> QA:
        """Collection ``name`` of this index folder, sharing this one's models, closed with it."""
        return self._shared.member(name, lambda: QA(
            settings=self.settings.replace(collection=name), read_only=self.read_only,
            _shared=self._shared))

    def collections(self) -> list[str]:
        """The collections of this index folder (``qa.index.collections``)."""
        return collections.names(self.settings.index_dir)

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        return self._shared.part(self.settings.collection, name, build)

    @property
    def embed_model(self) -> Any:
        from .index.embedding import make_embed_model

        return self._part("embed_model", lambda: make_embed_model(self.settings))

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embed_model.get_text_embedding_batch(texts) if texts else []

    @property
    def embed_lines(self) -> Any:
        """``embed`` with a cache, for the document lines scored question after question."""
        from .index.embedding import CachedEmbed

        return self._part("embed_lines", lambda: CachedEmbed(self.embed))

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
        return self._part("pipeline", lambda: Pipeline(self))

    @property
    def manifest(self) -> Manifest:
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
        question = check_question(question, self.settings, self._manifest)
        self.embed_model  # noqa: B018
        return self.retriever.retrieve(question, k or self.settings.top_k)

    def ask(self, question: str, *, k: int | None = None,
            history: History | None = None) -> Answer:
        """Answer with verified citations, or refuse when the documents don't say;
        ``history``: earlier (question, answer) turns (a follow-up is rewritten to stand alone).
        """
        *_, answer = self.stream(question, k=k, history=history)
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str, *, k: int | None = None, history: History | None = None,
               status: bool = False) -> Iterator[str | Status | Answer]:
        """Yield the answer's text as its sentences pass verification (nothing shown is taken
        back), then the ``Answer``; with ``status=True`` a ``Status`` before each stage.
        Closing the generator stops the backend. The stages are in ``answer.debug["trace"]``.
        """
        question = check_question(question, self.settings, self._manifest)
        yield from self.pipeline.stream(question, k or self.settings.top_k, history=history,
                                        status=status)

    def assess(self, question: str, *, k: int | None = None) -> Evidence:
        """The evidence for answering ``question``, scored before any answer is written."""
        question = check_question(question, self.settings, self._manifest)
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
        info = self._manifest.stats()
        info.update(sources=sorted(self._manifest.files()), collection=self.settings.collection,
                    collections=self.collections(), index_dir=str(self.settings.index_dir),
                    backend=self.settings.backend)
        return info

    def path_of(self, source: str) -> str | None:
        """The path ``source`` was ingested from, as the index says now; None if not indexed."""
        return self._manifest.path(source)

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
        if self.read_only:
            raise InputError(f"the index {self.settings.index_dir} was opened read-only")
