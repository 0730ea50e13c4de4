"""``QA``: the one object the CLI, the UI and the eval all call."""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .ask import grounding
from .ask.answer.base import REFUSAL, Answerer
from .ask.answer.extractive import quoted
from .ask.answer.markers import NOT_FOUND, heading
from .ask.answerability import Evidence, assess, holder, named_files, passage_text
from .ask.answerability import score as score_answerability
from .ask.cells import named_fields
from .ask.condense import rule_condense
from .ask.figures import (
    FIGURE_LINES,
    Table,
    answer_lines,
    asked_terms,
    asks_for_figure,
    figures_first,
    matching_rows,
    named_rows,
    stating,
    table,
    whole_rows,
)
from .ask.gate import Gate, shown_text
from .ask.support import ScoredLine, rerank, score_lines
from .ask.verify import NOT_VERIFIED, REPEATS_QUESTION, Verified, drift, verify
from .config import Settings, embedder_id
from .errors import BackendError, InputError, NotIndexedError
from .index.manifest import Manifest
from .index.store import Store
from .ingest.documents import PageReader, page_reader
from .ingest.ingestor import EMBEDDER, Ingestor, Progress
from .types import Answer, Chunk, Draft, History, IngestReport, Passage, Refusal, Status

log = logging.getLogger("qa")


class QA:
    """Question answering over a folder of documents, every citation checked against the file.

    ``QA(".qa")`` opens (or creates) the index in that directory; ``read_only=True`` opens an
    existing one without writing anything (what `qa ask` and `qa stats` do, so that they work
    on an index they may not change). Options are keyword-only and override the environment
    (``Settings.from_env``); ``answerer=`` plugs in any object that implements
    ``qa.ask.answer.Answerer`` in place of the configured backend.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike | None = None,
        *,
        settings: Settings | None = None,
        answerer: Answerer | None = None,
        read_only: bool = False,
        **options: Any,
    ) -> None:
        if index_dir is not None:
            options["index_dir"] = Path(index_dir)
        self.settings = (settings or Settings.from_env()).replace(**options)
        self.read_only = read_only
        self._manifest = self._open_manifest()
        self._store = Store(
            self.settings.index_dir,
            chroma_url=self.settings.chroma_url,
            collection=self.settings.collection,
            read_only=read_only,
        )
        self._answerer = answerer
        self._embed_model: Any = None
        self._retriever: Any = None
        self._embed_lines: Any = None
        self._tables: dict[str, tuple[str, Table, list[Chunk]]] = {}
        self._write_lock = threading.Lock()
        self._init_lock = threading.RLock()

    def _open_manifest(self) -> Manifest:
        index = self.settings.index_dir
        path = index / "manifest.sqlite3"
        try:
            if not self.read_only:
                index.mkdir(parents=True, exist_ok=True)
            return Manifest(path, read_only=self.read_only)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the index {index}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None

    # -- parts, built on first use so that opening a QA is cheap --------------------------
    @property
    def embed_model(self) -> Any:
        with self._init_lock:
            if self._embed_model is None:
                from .index.embedding import MiniLMEmbedding, RemoteEmbedding

                s = self.settings
                self._embed_model = (
                    RemoteEmbedding(model_name=s.embed_model, url=s.embed_url,
                                    api_key=s.openai_api_key.get_secret_value(),
                                    embed_batch_size=s.embed_batch)
                    if s.embed_url else
                    MiniLMEmbedding(embed_batch_size=s.embed_batch, threads=s.threads))
        return self._embed_model

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embed_model.get_text_embedding_batch(texts) if texts else []

    @property
    def embed_lines(self):
        """``embed`` with a cache, for the document lines scored question after question."""
        with self._init_lock:
            if self._embed_lines is None:
                from .index.embedding import CachedEmbed

                self._embed_lines = CachedEmbed(self.embed)
        return self._embed_lines

    @property
    def answerer(self) -> Answerer:
        with self._init_lock:
            if self._answerer is None:
                from .ask.answer import make_answerer

                self._answerer = make_answerer(self.settings, self.embed_lines)
        return self._answerer

    @property
    def retriever(self) -> Any:
        with self._init_lock:
            if self._retriever is None:
                from .ask.retrieve import DenseRetriever, HybridRetriever

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
        self._check_writable()
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

    def as_retriever(self, *, k: int | None = None) -> Any:
        """This index as a LlamaIndex ``BaseRetriever``; nodes carry source, page and lines."""
        from .llamaindex import retriever

        return retriever(self, k=k)

    def as_query_engine(self, *, k: int | None = None) -> Any:
        """A LlamaIndex query engine whose ``Response`` is the verified answer, its
        ``source_nodes`` the verified citations (none for a refusal)."""
        from .llamaindex import query_engine

        return query_engine(self, k=k)

    def remove(self, source: str) -> None:
        """Take one ingested source out of the index."""
        self._check_writable()
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
        self,
        question: str,
        *,
        k: int | None = None,
        history: History | None = None,
        status: bool = False,
    ) -> Iterator[str | Status | Answer]:
        """Yield the answer's text as its sentences pass verification, then the ``Answer``.

        A sentence is shown once the model has finished it and its citations hold (with a
        backend that offers ``parse``; any other is verified whole, at the end), so the text
        streamed is always the start of ``Answer.text``: nothing shown is taken back. With
        ``status=True`` a ``Status`` says what is being done before each stage, for a user who
        waits. Closing the generator stops the backend's generation.
        """
        started = time.perf_counter()
        question = self._check_question(question)
        say = _Say(status)
        if history:
            yield from say("condensing", "Reading the conversation…")
        query = self.condense(question, history or [])
        k = k or self.settings.top_k
        yield from say("searching", "Searching the documents…")
        found = self._gather(query, k)
        yield from say("reading", f"Reading {_count(len(found.passages), 'passage')}…")
        case = self._decide(query, found)
        passages = case.passages
        if case.gate:
            answer = Answer(REFUSAL, True, [], passages,
                            {"dropped": [], "proposed": 0, "refused_because": case.gate,
                             "refusal": case.refusal})
        else:
            yield from say("writing", "Writing the answer…")
            check = self._checker(case, query)
            gate = Gate(check, getattr(self.answerer, "parse", None), passages, query)
            # the lines an answer would quote come first: what an LLM is shown of the passages
            evidence = figures_first(query, case.own)
            with closing(self.answerer.stream(query, passages, evidence=evidence)) as pieces:
                for item in pieces:
                    if text := gate.feed(item):
                        yield text
            if gate.draft is None:
                raise BackendError(f"{self.answerer.name} ended its stream without a Draft")
            shown = gate.shown
            yield from say("checking", "Checking the citations…")
            answer = self._finish(gate.draft, case, query, check)
            if answer.text.startswith(shown) and not answer.refused:
                if rest := answer.text[len(shown):]:
                    yield rest
            elif shown:  # never expected: parse and verify agree sentence by sentence
                log.warning("streamed text %r is not the start of the answer %r",
                            shown, answer.text)
        answer.retrieved = self._mark_changed(answer.retrieved)
        answer.debug.update(
            support=round(case.evidence.support, 4),
            answerability=round(case.answerability, 4),
            evidence={k: round(v, 4) for k, v in case.evidence.features().items()},
            gated=bool(case.gate),
            query=query,
            backend=self.answerer.name,
            retrieval_ms=round((found.retrieved_at - started) * 1000, 1),
            total_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        yield answer

    def assess(self, question: str, *, k: int | None = None) -> Evidence:
        """The evidence for answering ``question``, scored before any answer is written."""
        query = self._check_question(question)
        return self._decide(query, self._gather(query, k or self.settings.top_k)).evidence

    def _gather(self, query: str, k: int) -> _Found:
        """Retrieve, and score every line of what was retrieved against the question."""
        rerank_on = self.settings.rerank == "on"
        passages = self.retriever.retrieve(query, max(self.settings.candidates * 2, k))
        ids = grounding.identifiers(grounding.without_instructions(query))
        passages = _named_first(ids, self._file_names(ids, passages), query)
        from .ask.retrieve import whole_pages

        passages = whole_pages(passages, self._manifest, k * RERANK_POOL if rerank_on else k)
        passages = [dataclasses.replace(p, chunk=self._manifest.with_rows(p.chunk))
                    for p in passages]
        retrieved_at = time.perf_counter()
        scored = score_lines(query, passages, self.embed_lines, min_words=1)
        ranked = [s for s in scored if len(s.text.split()) >= 3]
        figure = asks_for_figure(query)
        if rerank_on:  # the named passages stay first: better lines of another company's
            rows = matching_rows(query, ranked) if figure else []
            passages = _named_first(ids, rerank(passages, ranked, rows=rows), query)[:k]
            ranked = [s for s in ranked if holder(passages, s.source, s.line)]
        if figure and (extra := self._row_pages(query, ids, passages, ranked)):
            passages = passages + extra
            more = score_lines(query, extra, self.embed_lines, min_words=1)
            scored = sorted(scored + more, key=lambda s: -s.support)
            ranked = sorted(ranked + [s for s in more if len(s.text.split()) >= 3],
                            key=lambda s: -s.support)
        passages = self._with_heads(passages)
        # "in the Q2 report": the Q1 report's lines answer nothing
        about = [p for p in passages if not ids or not grounding.missing(ids, passage_text(p))]
        if named := _named(passages, query, about):
            ranked = sorted(ranked, key=lambda s: s.source not in named)
        own = _own(ranked, named, about)
        named_lines = named_rows(query, own) if figure else []
        return _Found(passages, scored, ranked, retrieved_at, own,
                      named_lines + [(s, 1.0) for s in named_fields(query, own)])

    def _decide(self, query: str, found: _Found) -> _Case:
        """Decide from the evidence whether to answer at all.

        In order: the question's identifiers must be in a passage; the best line must reach
        ``QA_MIN_SUPPORT``; then the fitted answerability score (with the backend's own
        yes/no judgement of the best lines, when it can give one) must reach
        ``QA_MIN_ANSWERABILITY``. A refusal here costs no answer generation.

        The two scores are of prose (fitted on SQuAD): a bare table row is far from any
        question. So a question that asks for a figure is answered, whatever they say, when a
        passage naming its identifiers holds a row whose label it names; such a row relates
        to the question (for ``QA_MIN_LINE_SUPPORT``) by the share of its label it says. On
        sec10q wrong refusals fell from 20 to 8 of the 74 questions with figures, answers
        stating one rose from 18 to 26; on the squad2-dev sample nothing changed.
        """
        passages, ranked = found.passages, found.ranked
        evidence = assess(query, passages, ranked)
        gate, refusal = "", None
        if evidence.missing:  # "report 999": no passage names what the question is about
            gate = f"no passage found mentions {', '.join(evidence.missing)}"
            refusal = Refusal.IDENTIFIER_MISSING
        elif evidence.support < self.settings.min_support and not found.rows:
            gate = f"support {evidence.support:.2f} below QA_MIN_SUPPORT"  # too weak to ask
            refusal = Refusal.LOW_SUPPORT
        judge = getattr(self.answerer, "judge", None)
        if not gate and judge is not None:
            evidence.judge = judge(query, _in_context(ranked[:JUDGE_LINES], passages))
        answerability = score_answerability(evidence)
        if not gate and answerability < self.settings.min_answerability and not found.rows:
            gate = (f"answerability {answerability:.2f} below QA_MIN_ANSWERABILITY "
                    f"{self.settings.min_answerability:g}")
            refusal = Refusal.LOW_ANSWERABILITY
        support = {(s.source, s.line): s.support for s in found.scored}
        for s, share in found.rows:  # a row relates to the question by its label
            support[s.source, s.line] = max(support[s.source, s.line], share)
        return _Case(passages, ranked, support, evidence, answerability, gate, refusal,
                     found.own)

    def _row_pages(self, query: str, ids: list[str], passages: list[Passage],
                   ranked: list[ScoredLine]) -> list[Passage]:
        """The pages, beyond ``passages``, of the best row whose whole label the question
        says in each file it is about (that it names, else whose passages name its
        identifiers), at most ``ROW_PAGES``.

        "How have Apple's inventory levels changed?" is answered by the balance sheet's
        "Inventories 7,351 4,946", yet a page of numbers is far from the question's words:
        retrieval finds the prose about inventory instead. Only a row that names more than
        a measure ("Inventories", not "Revenues" or "Cash") is looked up, and only when the
        passages of those files hold none.
        """
        about = [p for p in passages if not ids or not grounding.missing(ids, passage_text(p))]
        files = sorted(_named(passages, query, about) or {p.chunk.source for p in about})
        asked = asked_terms(query, ranked)
        held = [s for s in ranked if s.source in files and holder(about, s.source, s.line)]
        if not files or whole_rows(query, asked, [table(held)], specific=True):
            return []
        seeds: list[Passage] = []
        done: set[str] = set()
        for s in whole_rows(query, asked, [self._table(f)[0] for f in files], specific=True):
            if s.source in done:
                continue
            done.add(s.source)
            if holder(passages, s.source, s.line) is None:
                chunks = self._table(s.source)[1]
                seeds.append(Passage(next(c for c in chunks if c.holds(s.source, s.line)), 0.0))
        from .ask.retrieve import whole_pages

        pages = whole_pages(seeds, self._manifest, ROW_PAGES)
        return self._file_names(ids, [dataclasses.replace(p, chunk=self._manifest.with_rows(
            p.chunk)) for p in pages])

    def _with_heads(self, passages: list[Passage]) -> list[Passage]:
        """``passages`` and the chunks that hold the heads (title, unit, column headers) of
        their table rows, where a row's figure is said to be of a period and a unit."""
        held = {(p.chunk.source, n) for p in passages
                for n in range(p.chunk.start_line, p.chunk.end_line + 1)}
        out = list(passages)
        for p in passages:
            c = p.chunk
            wanted = {n for r in c.rows for a, b in r.read_with for n in range(a, b + 1)}
            if not wanted - {n for s, n in held if s == c.source}:
                continue
            for extra in self._manifest.page_chunks(c.source, c.page) if c.page else []:
                lines = set(range(extra.start_line, extra.end_line + 1))
                if lines & wanted and not lines <= {n for s, n in held if s == c.source}:
                    out.append(Passage(self._manifest.with_rows(extra), 0.0))
                    held |= {(c.source, n) for n in lines}
        return out

    def _table(self, source: str) -> tuple[Table, list[Chunk]]:
        """A file's table rows (``figures.table``) and its chunks, read once per version (of
        the last ``TABLE_FILES`` files read)."""
        sha = self._manifest.sha256(source)
        if (cached := self._tables.get(source)) is None or cached[0] != sha:
            chunks = self._manifest.file_chunks(source)
            lines = {(n, line) for c in chunks for n, line in enumerate(c.lines(), c.start_line)}
            rows = table([ScoredLine(source, n, line, 0.0) for n, line in sorted(lines)])
            with self._init_lock:
                cached = self._tables[source] = sha or "", rows, chunks
                while len(self._tables) > TABLE_FILES:
                    self._tables.pop(next(iter(self._tables)))
        return cached[1], cached[2]

    def _file_names(self, names: list[str], passages: list[Passage]) -> list[Passage]:
        """A PDF page's context also holds the names and codes the question asks about that
        its file mentions anywhere: a filing names its company and form ("Amazon.com, Inc.",
        "10-Q") on the cover and a few statement pages, yet every page of it is about them."""
        if not names:
            return passages
        said: dict[str, list[str]] = {}
        out = []
        for p in passages:
            c = p.chunk
            if c.page and c.source not in said:
                said[c.source] = self._manifest.mentions(c.source, names)
            if c.page and said[c.source]:
                context = f"{c.context} | {' '.join(said[c.source])}"
                p = Passage(dataclasses.replace(c, context=context), p.score)
            out.append(p)
        return out

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
        """Release the index and the retriever's worker threads."""
        if self._retriever is not None and hasattr(self._retriever, "close"):
            self._retriever.close()
        self._manifest.close()

    def __enter__(self) -> QA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise InputError(f"the index {self.settings.index_dir} was opened read-only")

    def _check_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise InputError("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise InputError(
                f"the question is too long: {len(question):,} characters over the "
                f"{self.settings.max_question_chars:,} limit (QA_MAX_QUESTION_CHARS)")
        if not self._manifest.stats()["files"]:
            raise NotIndexedError(
                f"nothing is indexed in {self.settings.index_dir}: run `qa ingest PATH` first"
            )
        made_by, asking = self._manifest.get_meta(EMBEDDER), embedder_id(self.settings)
        if made_by and made_by != asking:  # its question vectors would match nothing
            raise InputError(f"this index was embedded by {made_by}, and questions would be "
                             f"embedded by {asking}: set QA_EMBED_URL/QA_EMBED_MODEL as they "
                             "were, or run `qa ingest` again to re-embed")
        return question

    def path_of(self, source: str) -> str | None:
        """The path ``source`` was ingested from, as the index says now; None if not indexed."""
        return self._manifest.path(source)

    def _reader(self) -> PageReader:
        return page_reader(self.path_of)

    def _checker(self, case: _Case, question: str) -> Callable[[Draft], Verified]:
        return partial(verify, passages=case.passages, read=self._reader(), question=question,
                       support=case.support, min_line_support=self.settings.min_line_support)

    def _finish(self, draft: Draft, case: _Case, question: str,
                check: Callable[[Draft], Verified]) -> Answer:
        """Verify the draft; when nothing of it survives, fall back to the best line, quoted."""
        passages = case.passages
        result, text = shown_text(draft, check)
        debug: dict = {"dropped": result.dropped if result else [],
                       "proposed": len(draft.proposals),
                       "model_refused": draft.refused or (not text and bool(
                           any(NOT_FOUND.search(s) for s in draft.sentences)))}
        repeated = result is not None and any(
            d["reason"] == REPEATS_QUESTION for d in result.dropped)
        if not text and self.settings.fallback == "on" \
                and not repeated:  # a reply that only echoes the question found nothing new
            for quoted in _quotes(case, question):
                fallback, said = shown_text(quoted, check)
                if said and fallback is not None:
                    debug["fallback"] = True
                    return Answer(said, False, fallback.citations, passages, debug)
        if not text or result is None:
            debug["refusal"] = Refusal.MODEL_REFUSED
            if result is not None:
                debug["refused_because"], debug["refusal"] = NOT_VERIFIED, Refusal.NOT_VERIFIED
            return Answer(REFUSAL, True, [], passages, debug)
        return Answer(text, False, result.citations, passages, debug)

    def _mark_changed(self, passages: list[Passage]) -> list[Passage]:
        """Retrieved passages whose file no longer holds their lines say so (``changed``)."""
        read = self._reader()
        return [dataclasses.replace(p, changed=drift(p.chunk, read)) for p in passages]


def _named_first(ids: list[str], passages: list[Passage], question: str) -> list[Passage]:
    """Passages that name every identifier of the question (in their lines, page context or
    file name) before those that miss one; within each group, passages of a file whose name
    the question says come first; retrieval order otherwise.

    "Amazon's R&D expenses" matched Apple's R&D table best: the words are alike and the
    company is named on a filing's cover, not in its tables. The identifier gate would refuse
    such passages anyway; ranking them last lets the named ones in. On sec10q the passages
    from a file the question is about rose from 0.85 to 0.97 of questions (single-filing
    questions 0.83 to 0.96); squad2-dev hit@5 held (0.952, 600 answerable questions).

    People name a document as they see it listed: "in the Q1 2023 10-Q" means
    `2023 Q1 AAPL.pdf`, whose pages never print "Q1 2023" where the figures are. On sec10q
    the share of reference figures in the top 5 passages rose from 0.414 to 0.458.
    """
    misses = {id(p): bool(ids) and bool(grounding.missing(ids, passage_text(p)))
              for p in passages}
    named = _named(passages, question, [p for p in passages if not misses[id(p)]])
    return sorted(passages, key=lambda p: (misses[id(p)], p.chunk.source not in named))


def _named(passages: list[Passage], question: str, about: list[Passage]) -> set[str]:
    """The files the question names, of those of the passages ``about`` what it asks (that
    name its identifiers): "Apple's Q2 2023 10-Q" and "Apple's latest 10-Q" are Apple's, not
    Amazon's of the same quarter."""
    return named_files({p.chunk.source for p in about or passages}, question)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class _Say:
    """``Status`` items for ``QA.stream``, or nothing when they were not asked for."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, stage: str, message: str) -> list[Status]:
        return [Status(stage, message)] if self.on else []


def _quotes(case: _Case, question: str) -> Iterator[Draft]:
    """Quotes to fall back on, best first, of the lines that are no instruction and whose
    passage names the question's identifiers: the lines an answer quotes
    (``figures.answer_lines``), then for a question that asks for a figure the best lines
    stating one and the best-supported line, as verification may find a bare row unrelated
    to the question."""
    ids = grounding.identifiers(grounding.without_instructions(question))

    def quotable(s: ScoredLine) -> bool:
        home = holder(case.passages, s.source, s.line)
        return home is not None and s.line not in home.chunk.flagged \
            and not grounding.missing(ids, passage_text(home))

    if not asks_for_figure(question):
        choices = [answer_lines(question, [s for s in case.own[:3] if quotable(s)])]
    else:
        pool = [s for s in case.own if quotable(s)]
        choices = [answer_lines(question, pool), stating(pool)[:FIGURE_LINES], pool[:1]]
    tried: list[list[ScoredLine]] = []
    for lines in choices:
        if lines and lines not in tried:
            tried.append(lines)
            yield quoted(lines, marks=True, question=question)


def _in_context(lines: list[ScoredLine], passages: list[Passage]) -> list[str]:
    """The lines, each PDF page's first one after its page's context: the judge reads a table
    row as an answer only once it sees whose statement and which quarter the row is in."""
    out: list[str] = []
    for s in lines:
        home = holder(passages, s.source, s.line)
        out.extend(h for h in (heading(home) if home else []) if h not in out)
        out.append(s.text)
    return out


TABLE_FILES = 64  # files whose rows a QA keeps read
ROW_PAGES = 3  # most pages added for the rows a question names (one per file): as ROW_LINES
RERANK_POOL = 3  # with reranking, this many times top_k candidates are read line by line
JUDGE_LINES = 2  # best lines the backend judges (measured: 2 lines beat the 8 of the prompt)


@dataclass
class _Found:
    """What retrieval found for one question, every line scored."""

    passages: list[Passage]
    scored: list[ScoredLine]  # every line, short ones included
    ranked: list[ScoredLine]  # lines of 3+ words, best supported first
    retrieved_at: float
    own: list[ScoredLine]  # the lines an answer may state (``_own``)
    # for a question that asks for a figure: the table rows among ``own`` whose label it
    # names, each with the share of its label the question says; for any question, the lines
    # of form fields among ``own`` that hold a field it names with a value (share 1)
    rows: list[tuple[ScoredLine, float]]


@dataclass
class _Case:
    """One question's evidence and the decision taken from it, before any answer is written."""

    passages: list[Passage]
    ranked: list[ScoredLine]  # lines of 3+ words, best supported first
    support: dict[tuple[str, int], float]  # every line's support, short ones included
    evidence: Evidence
    answerability: float
    gate: str  # why no answer will be written; "" to answer
    refusal: Refusal | None  # what decided ``gate``; None to answer
    own: list[ScoredLine]  # the lines an answer may state (``_own``)


def _own(ranked: list[ScoredLine], named: set[str], about: list[Passage]) -> list[ScoredLine]:
    """The lines an answer may state: those of the files the question names, else those of
    the passages that name its identifiers, if any. "How much did Acme spend on advertising?"
    is not answered by Globex's advertising row."""
    return [s for s in ranked if s.source in named] or [
        s for s in ranked if holder(about, s.source, s.line)] or ranked
