"""``QA``: the one object the CLI, the UI and the eval all call."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .answer.base import REFUSAL, Answerer
from .answer.markers import MARKER, renumber
from .condense import History, rule_condense
from .config import Settings
from .errors import InputError, NotIndexedError
from .ingest import Ingestor, Progress
from .manifest import Manifest
from .store import Store
from .support import rerank, score_lines
from .text import content_terms
from .types import Answer, Draft, IngestReport, Passage
from .verify import disk_reader, verify


class QA:
    """Question answering over a folder of documents, every citation checked against the file.

    ``QA(".qa")`` opens (or creates) the index in that directory. Options are keyword-only and
    override the environment (``Settings.from_env``); ``answerer=`` plugs in any object that
    implements ``qa.answer.Answerer`` in place of the configured backend.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike | None = None,
        *,
        settings: Settings | None = None,
        answerer: Answerer | None = None,
        **options: Any,
    ) -> None:
        if index_dir is not None:
            options["index_dir"] = Path(index_dir)
        self.settings = (settings or Settings.from_env()).replace(**options)
        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        self._manifest = Manifest(self.settings.index_dir / "manifest.sqlite3")
        self._store = Store(
            self.settings.index_dir,
            chroma_url=self.settings.chroma_url,
            collection=self.settings.collection,
        )
        self._answerer = answerer
        self._embed_model: Any = None
        self._retriever: Any = None
        self._embed_lines: Any = None
        self._write_lock = threading.Lock()
        self._init_lock = threading.RLock()

    # -- parts, built on first use so that opening a QA is cheap --------------------------
    @property
    def embed_model(self) -> Any:
        with self._init_lock:
            if self._embed_model is None:
                from .embedding import MiniLMEmbedding

                self._embed_model = MiniLMEmbedding(embed_batch_size=self.settings.embed_batch)
        return self._embed_model

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embed_model.get_text_embedding_batch(texts) if texts else []

    @property
    def embed_lines(self):
        """``embed`` with a cache, for the document lines scored question after question."""
        with self._init_lock:
            if self._embed_lines is None:
                from .embedding import CachedEmbed

                self._embed_lines = CachedEmbed(self.embed)
        return self._embed_lines

    @property
    def answerer(self) -> Answerer:
        with self._init_lock:
            if self._answerer is None:
                from .answer import make_answerer

                self._answerer = make_answerer(self.settings, self.embed_lines)
        return self._answerer

    @property
    def retriever(self) -> Any:
        with self._init_lock:
            if self._retriever is None:
                from .retrieve import DenseRetriever, HybridRetriever

                dense = DenseRetriever(self._store, self._manifest, self.embed_model,
                                       embed_query=self.embed_lines)
                if self.settings.retrieval == "dense":
                    self._retriever = dense
                elif self.settings.retrieval == "hybrid":
                    self._retriever = HybridRetriever(
                        dense, self._manifest, candidates=self.settings.candidates
                    )
                else:
                    raise InputError(
                        f"unknown retrieval {self.settings.retrieval!r}: choose hybrid or dense"
                    )
        return self._retriever

    # -- the public verbs -----------------------------------------------------------------
    def ingest(self, *paths: str | os.PathLike, progress: Progress | None = None) -> IngestReport:
        """Index files or folders; unchanged files are skipped, deleted ones leave the index."""
        if not paths:
            raise InputError("nothing to ingest: give a file or a folder")
        targets = [os.fspath(p) for p in paths]
        for t in targets:
            if not os.path.exists(t):
                raise InputError(f"no such file or folder: {t}")
        self.embed_model  # noqa: B018 - load before taking the lock
        with self._write_lock:
            return Ingestor(self.settings, self._store, self._manifest, self.embed).run(
                targets, progress
            )

    def remove(self, source: str) -> None:
        """Take one ingested source out of the index."""
        with self._write_lock:
            Ingestor(self.settings, self._store, self._manifest, self.embed).remove(source)

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]:
        question = self._check_question(question)
        self.embed_model  # noqa: B018
        return self.retriever.retrieve(question, k or self.settings.top_k)

    def ask(
        self, question: str, *, k: int | None = None, history: History | None = None
    ) -> Answer:
        """Answer with verified citations, or refuse when the documents don't say.

        ``history`` holds earlier (question, answer) turns; a follow-up is rewritten to stand
        alone before retrieval and the rewrite is in ``answer.debug["query"]``.
        """
        answer = None
        for item in self.stream(question, k=k, history=history):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(
        self, question: str, *, k: int | None = None, history: History | None = None
    ) -> Iterator[str | Answer]:
        """Yield answer text as it is written, then the verified ``Answer``.

        The streamed text is a draft: the final ``Answer`` may differ (citations renumbered,
        or a refusal when no citation survives verification).
        """
        started = time.perf_counter()
        question = self._check_question(question)
        query = self.condense(question, history or [])
        k = k or self.settings.top_k
        rerank_on = self.settings.rerank == "on"
        passages = self.retriever.retrieve(query, k * RERANK_POOL if rerank_on else k)
        retrieved_at = time.perf_counter()
        ranked = score_lines(query, passages, self.embed_lines)
        if rerank_on:
            passages = rerank(passages, ranked)[:k]
            ranked = [s for s in ranked if any(_holds(p, s) for p in passages)]
        support = ranked[0].support if ranked else 0.0
        draft = None
        gated = support < self.settings.min_support
        if gated:  # the evidence is too weak to ask any backend
            draft = Draft(REFUSAL, refused=True)
        else:
            gate = _Gate(passages)
            for item in self.answerer.stream(query, passages, evidence=ranked):
                if isinstance(item, Draft):
                    draft = item
                elif released := gate.feed(item):
                    yield released
        assert draft is not None, "an answerer must end its stream with a Draft"
        answer = self._finish(draft, passages)
        answer.debug.update(
            support=round(support, 4),
            gated=gated,
            query=query,
            backend=self.answerer.name,
            retrieval_ms=round((retrieved_at - started) * 1000, 1),
            total_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        yield answer

    def condense(self, question: str, history: History) -> str:
        """The question rewritten to stand alone, by the backend when it can, else by rule."""
        if not history:
            return question
        rewrite = getattr(self.answerer, "condense", None)
        return rewrite(question, history) if rewrite else rule_condense(question, history)

    def stats(self) -> dict:
        """What is indexed: files, chunks, last ingest time, and the sources."""
        info = self._manifest.stats()
        info["sources"] = sorted(self._manifest.files())
        info["index_dir"] = str(self.settings.index_dir)
        info["backend"] = self.settings.backend
        return info

    def close(self) -> None:
        self._manifest.close()

    def __enter__(self) -> QA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _check_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise InputError("the question is empty")
        if not self._manifest.stats()["files"]:
            raise NotIndexedError(
                f"nothing is indexed in {self.settings.index_dir}: run `qa ingest PATH` first"
            )
        return question

    def _finish(self, draft: Draft, passages: list[Passage]) -> Answer:
        paths = {s: e.path for s, e in self._manifest.files().items()}
        citations, dropped = verify(draft.proposals, passages, disk_reader(paths))
        debug: dict = {"dropped": dropped, "proposed": len(draft.proposals)}
        if draft.refused or not citations:
            if not draft.refused:
                debug["refused_because"] = "no citation survived verification"
            return Answer(REFUSAL, True, [], passages, debug)
        return Answer(renumber(draft, citations), False, citations, passages, debug)


RERANK_POOL = 3  # with reranking, this many times top_k candidates are read line by line


def _holds(p: Passage, line) -> bool:
    return p.chunk.source == line.source and p.chunk.start_line <= line.line <= p.chunk.end_line


class _Gate:
    """Holds streamed text back until it is visibly about the retrieved passages.

    A reply that the documents do not ground ("PWNED") is never shown, not even for the moment
    before verification refuses it; a grounded reply streams on after its first few words.
    """

    MIN_TERMS = 3

    def __init__(self, passages: list[Passage]) -> None:
        self._corpus = content_terms(" ".join(p.chunk.text for p in passages))
        self._held: list[str] = []
        self._open = False

    def feed(self, piece: str) -> str:
        if self._open:
            return piece
        self._held.append(piece)
        terms = content_terms(MARKER.sub("", "".join(self._held)))
        if len(terms) >= self.MIN_TERMS and len(terms & self._corpus) / len(terms) >= 0.5:
            self._open = True
            return "".join(self._held)
        return ""
