"""The stages a question passes before any answer is written, each one small step.

Each stage reads and extends one ``Ask`` record and says in a line what it did (``Ask.note``);
``Pipeline`` runs them in order and times each. Retrieval finds passages, the page stage
widens a PDF's passage to its page, scoring reads every line against the question, the rerank
orders passages by their best lines, the row lookup adds a page whose table row the question
names, the head stage adds the lines that say what a row's figures are, focus keeps the lines
of the files the question is about, and the decision refuses or lets an answer be written.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

from . import grounding
from .answerability import assess, holder, named_files, passage_text
from .answerability import score as score_answerability
from .cells import described, named_fields
from .figures import (
    Table,
    asked_terms,
    asks_for_figure,
    figures_first,
    labels,
    matching_rows,
    named_rows,
    row_labels,
    table,
    whole_rows,
)
from .spans import spanned
from .support import ScoredLine, rerank, score_lines

if TYPE_CHECKING:
    from ..types import Chunk, Passage
    from .pipeline import Ask, Parts

RERANK_POOL = 3  # with reranking, this many times top_k candidates are read line by line
ROW_PAGES = 3  # most pages added for the rows a question names (one per file): as ROW_LINES
TABLE_FILES = 64  # files whose rows the row lookup keeps read
JUDGE_LINES = 2  # best lines the backend judges (measured: 2 lines beat the 8 of the prompt)


class FileTables:
    """Each file's table rows (``figures.table``) and its chunks, read once per version (of
    the last ``TABLE_FILES`` files read); shared by the stages that read a file's rows."""

    def __init__(self) -> None:
        self._tables: dict[str, tuple[str, Table, list[Chunk]]] = {}
        self._lock = threading.Lock()

    def __call__(self, parts: Parts, source: str) -> tuple[Table, list[Chunk]]:
        sha = parts.manifest.sha256(source)
        if (cached := self._tables.get(source)) is None or cached[0] != sha:
            chunks = parts.manifest.file_chunks(source)
            lines = {(n, line) for c in chunks for n, line in enumerate(c.lines(), c.start_line)}
            rows = table([ScoredLine(source, n, line, 0.0) for n, line in sorted(lines)])
            with self._lock:
                cached = self._tables[source] = sha or "", rows, chunks
                while len(self._tables) > TABLE_FILES:
                    self._tables.pop(next(iter(self._tables)))
        return cached[1], cached[2]


class Retrieve:
    """Hybrid (or dense) retrieval of candidates; passages that name the question's
    identifiers first (``named_first``), each PDF page's context holding the names and codes
    its file's head names (``file_names``)."""

    name = "retrieve"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        found = parts.retriever.retrieve(ask.query, max(parts.settings.candidates * 2, ask.k))
        ask.ids = grounding.identifiers(grounding.without_instructions(ask.query))
        ask.passages = named_first(ask.ids, file_names(parts, ask.ids, found), ask.query)
        ask.note(f"{len(found)} candidates")


class WidenPages:
    """A PDF passage becomes its whole page (a statement's rows with their headers), with the
    table rows and form fields the reader found among its lines."""

    name = "widen pages"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        from .retrieve import whole_pages

        size = ask.k * RERANK_POOL if parts.settings.rerank == "on" else ask.k
        ask.passages = [dataclasses.replace(p, chunk=parts.manifest.with_reading(p.chunk))
                        for p in whole_pages(ask.passages, parts.manifest, size)]
        ask.note(f"{len(ask.passages)} passages")


class ScoreLines:
    """Every line of the passages scored against the question (``support.score_lines``)."""

    name = "score lines"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        ask.scored = score_lines(ask.query, ask.passages, parts.embed_lines, min_words=1)
        ask.ranked = [s for s in ask.scored if len(s.text.split()) >= 3]
        ask.note(f"{len(ask.scored)} lines")


class Figure:
    """Whether the question asks for a figure (``figures.asks_for_figure``): it says so, or it
    names a table row by its whole label, among the passages' rows or else the rows of the
    files they are of ("How have inventory levels changed?": the balance sheet's
    "Inventories", which retrieval may not have found)."""

    name = "asks for a figure"

    def __init__(self, tables: FileTables | None = None) -> None:
        self._tables = tables or FileTables()

    def __call__(self, ask: Ask, parts: Parts) -> None:
        ask.figure = asks_for_figure(ask.query, row_labels(ask.scored)) or asks_for_figure(
            ask.query, self._labels(ask, parts))
        ask.note("yes" if ask.figure else "no")

    def _labels(self, ask: Ask, parts: Parts) -> set[str]:
        sources = sorted({p.chunk.source for p in ask.passages})
        return parts.manifest.labels(sources) | {
            label for source in sources for label in labels(self._tables(parts, source)[0])}


class Rerank:
    """Passages ordered by their best lines (and the rows the question names), the top ``k``
    kept; the passages that name the question's identifiers stay first."""

    name = "rerank"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        if parts.settings.rerank != "on":  # the pages were widened to k passages
            ask.note("off (QA_RERANK)")
            return
        rows = matching_rows(ask.query, ask.ranked) if ask.figure else []
        before = len(ask.passages)
        ordered = rerank(ask.passages, ask.ranked, rows=rows)
        ask.passages = named_first(ask.ids, ordered, ask.query)[:ask.k]
        ask.ranked = [s for s in ask.ranked if holder(ask.passages, s.source, s.line)]
        ask.note(f"kept {len(ask.passages)} of {before}")


class Span:
    """For a question that asks for a figure across documents ("over the reported quarters",
    "in Q1, Q2 and Q3 2023"), the documents it spans (``spans.spanned``): each is looked up
    for its row, and the answer says which of them hold one."""

    name = "span documents"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        if ask.figure:
            ask.spans = spanned(ask.query, ask.ids, parts.manifest.mentioning)
        ask.note(f"{len(ask.spans)} documents" if ask.spans else "one document or none")


class LookupRows:
    """For a question that asks for a figure, the pages (beyond the passages) of the best row
    whose whole label the question says in each file it is about, at most ``ROW_PAGES``.

    "How have Apple's inventory levels changed?" is answered by the balance sheet's
    "Inventories 7,351 4,946", yet a page of numbers is far from the question's words:
    retrieval finds the prose about inventory instead. Only a row that names more than a
    measure ("Inventories", not "Revenues" or "Cash") is looked up, and only when the
    passages of those files hold none. A form field the question names by its whole label
    ("Who was the registered owner?": "Registered Owner: ...") is looked up the same way, on
    a form's later page that names neither the case nor the question's other words.
    """

    name = "look up rows"

    def __init__(self, tables: FileTables | None = None) -> None:
        self._tables = tables or FileTables()

    def __call__(self, ask: Ask, parts: Parts) -> None:
        extra = (self._pages(ask, parts) if ask.figure else []) or self._fields(ask, parts)
        if not extra:
            ask.note("none")
            return
        ask.passages = ask.passages + extra
        more = score_lines(ask.query, extra, parts.embed_lines, min_words=1)
        ask.scored = sorted(ask.scored + more, key=lambda s: -s.support)
        ask.ranked = sorted(ask.ranked + [s for s in more if len(s.text.split()) >= 3],
                            key=lambda s: -s.support)
        ask.note(f"{len(extra)} pages added")

    def _fields(self, ask: Ask, parts: Parts) -> list[Passage]:
        """The page of the field the question names most fully (``cells.named_fields``) in
        each file it is about, when the passages do not hold it."""
        from ..types import Passage
        from .retrieve import whole_pages

        seeds: list[Passage] = []
        for f in self._files(ask):
            lines = [ScoredLine(f, r.line, "", 0.0, row=r) for r in parts.manifest.fields(f)]
            found = named_fields(ask.query, lines)
            if found and holder(ask.passages, f, line := found[0].line) is None:
                chunks = self._tables(parts, f)[1]
                seeds.append(Passage(next(c for c in chunks if c.holds(f, line)), 0.0))
        pages = whole_pages(seeds, parts.manifest, ROW_PAGES)
        return file_names(parts, ask.ids, [dataclasses.replace(
            p, chunk=parts.manifest.with_reading(p.chunk)) for p in pages])

    def _files(self, ask: Ask) -> list[str]:
        """The files the question is about: those it spans or names, else those of the
        passages that name its identifiers."""
        about = [p for p in ask.passages
                 if not ask.ids or not grounding.missing(ask.ids, passage_text(p))]
        return ask.spans or sorted(named(ask.passages, ask.query, about)
                                   or {p.chunk.source for p in about})

    def _pages(self, ask: Ask, parts: Parts) -> list[Passage]:
        from ..types import Passage
        from .retrieve import whole_pages

        ids, passages, query = ask.ids, ask.passages, ask.query
        about = [p for p in passages if not ids or not grounding.missing(ids, passage_text(p))]
        files = self._files(ask)
        asked = asked_terms(query, ask.ranked)
        held = [s for s in ask.ranked if s.source in files and holder(about, s.source, s.line)]
        # across documents, each one's row is looked up, whatever its label says
        specific = not ask.spans
        if not files or specific and whole_rows(query, asked, [table(held)], specific=True):
            return []
        seeds: list[Passage] = []
        done: set[str] = set()
        tables = [self._tables(parts, f)[0] for f in files]
        for s in whole_rows(query, asked, tables, specific=specific):
            if s.source in done:
                continue
            done.add(s.source)
            if holder(passages, s.source, s.line) is None:
                chunks = self._tables(parts, s.source)[1]
                seeds.append(Passage(next(c for c in chunks if c.holds(s.source, s.line)), 0.0))
        pages = whole_pages(seeds, parts.manifest, max(ROW_PAGES, len(ask.spans)))
        return file_names(parts, ids, [dataclasses.replace(
            p, chunk=parts.manifest.with_reading(p.chunk)) for p in pages])

class AddHeads:
    """The chunks that hold the heads (title, unit, column headers) and sections of the
    passages' table rows, where a row's figure is said to be of a period and a unit."""

    name = "add heads"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        from ..types import Passage

        held: dict[str, set[int]] = {}
        for p in ask.passages:
            held.setdefault(p.chunk.source, set()).update(
                range(p.chunk.start_line, p.chunk.end_line + 1))
        out = list(ask.passages)
        for p in ask.passages:
            c = p.chunk
            wanted = {n for r in c.rows for a, b in r.read_with for n in range(a, b + 1)}
            if not wanted - held[c.source]:
                continue
            chunks = (parts.manifest.page_chunks(c.source, c.page) if c.page
                      else parts.manifest.file_chunks(c.source))  # a Word table's head
            for extra in chunks:
                lines = set(range(extra.start_line, extra.end_line + 1))
                if lines & wanted and not lines <= held[c.source]:
                    out.append(Passage(parts.manifest.with_reading(extra), 0.0))
                    held[c.source] |= lines
        ask.note(f"{len(out) - len(ask.passages)} chunks added")
        ask.passages = out


class Focus:
    """The lines an answer may state: those of the files the question names ("in the Q2
    report": the Q1 report's lines answer nothing), else those of the passages that name its
    identifiers; and among them the table rows and form fields the question names."""

    name = "focus"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        ids, passages, query = ask.ids, ask.passages, ask.query
        about = [p for p in passages if not ids or not grounding.missing(ids, passage_text(p))]
        if files := set(ask.spans) or named(passages, query, about):
            ask.ranked = sorted(ask.ranked, key=lambda s: s.source not in files)
        ask.own = own_lines(ask.ranked, files, about)
        ask.given = figures_first(query, ask.own)  # what the judge reads and an LLM is shown
        rows = named_rows(query, ask.own) if ask.figure else []
        ask.fields = named_fields(query, ask.own)
        ask.rows = rows + [(s, 1.0) for s in ask.fields]
        ask.passages = holding_first(ask.passages, [s for s, _ in ask.rows])
        ask.note(f"{len(ask.own)} lines, {len(ask.rows)} named rows or fields")


def holding_first(passages: list[Passage], rows: list[ScoredLine]) -> list[Passage]:
    """The passages that hold a row or field the question names first, by the best such row,
    then the rest as they were: a page the row lookup added holds what the answer states, yet
    it was added after the pages retrieval ranked."""
    def first_row(p: Passage) -> int:
        return min((n for n, s in enumerate(rows) if p.chunk.holds(s.source, s.line)),
                   default=len(rows))

    return sorted(passages, key=first_row)  # stable: the rest keep their order


class Decide:
    """Whether to answer at all, before any answer is written.

    In order: the question's identifiers must be in a passage; the best line must reach
    ``QA_MIN_SUPPORT``; then the fitted answerability score (with the backend's own yes/no
    judgement, when it can give one, of the best lines the answer may state: those it is given
    first) must reach ``QA_MIN_ANSWERABILITY``.

    The two scores are of prose (fitted on SQuAD): a bare table row is far from any
    question. So a question is answered, whatever they say, when a passage naming its
    identifiers holds a row or a form field it names (``Focus``); such a line relates to the
    question (for ``QA_MIN_LINE_SUPPORT``) by the share of its label it says.
    """

    name = "decide"

    def __call__(self, ask: Ask, parts: Parts) -> None:
        from ..types import Refusal

        s = parts.settings
        evidence = ask.evidence = assess(ask.query, ask.passages, ask.ranked)
        if evidence.missing:  # "report 999": no passage names what the question is about
            ask.refuse(Refusal.IDENTIFIER_MISSING,
                       f"no passage found mentions {', '.join(evidence.missing)}")
        elif evidence.support < s.min_support and not ask.rows:
            ask.refuse(Refusal.LOW_SUPPORT,
                       f"support {evidence.support:.2f} below QA_MIN_SUPPORT")
        judge = getattr(parts.answerer, "judge", None)
        if not ask.refused and judge is not None and not ask.rows:  # rows are answered
            best = ask.given[:JUDGE_LINES]  # the lines the answer is given first
            evidence.judge = judge(ask.query, in_context(best, ask.passages))
        ask.answerability = score_answerability(evidence)
        if not ask.refused and ask.answerability < s.min_answerability and not ask.rows:
            ask.refuse(Refusal.LOW_ANSWERABILITY,
                       f"answerability {ask.answerability:.2f} below QA_MIN_ANSWERABILITY "
                       f"{s.min_answerability:g}")
        # what verification's QA_MIN_LINE_SUPPORT was set on: every word counting alike
        ask.support = {(line.source, line.line): line.evidence for line in ask.scored}
        for line in ask.scored:  # a line read with its sentence's start relates as it does
            for n in range(line.line + 1, line.last + 1):
                ask.support.setdefault((line.source, n), line.evidence)
        for row, share in ask.rows:  # a row relates to the question by its label
            ask.support[row.source, row.line] = max(ask.support[row.source, row.line], share)
        ask.note(ask.why or f"answer (answerability {ask.answerability:.2f})")


# -- shared by the stages -------------------------------------------------------------------
def file_names(parts: Parts, names: list[str], passages: list[Passage]) -> list[Passage]:
    """A PDF page's context also holds the names and codes the question asks about that its
    file's head says (its first page: ``head``), in any way grounding accepts ("Dunmore, VT"
    for Vermont): a filing names its company and form ("Amazon.com, Inc.", "10-Q") on the
    cover, yet every page of it is about them. So does a passage of a file with tables or
    forms: a Word report's table never repeats the company its heading names. A name the
    file mentions in passing ("our cloud partner Initech", page 30) is not what it is about."""
    from ..types import Passage

    if not names:
        return passages
    said: dict[str, list[str]] = {}
    out = []
    for p in passages:
        c = p.chunk
        if c.source not in said:
            said[c.source] = []
            if c.page or parts.manifest.labels([c.source]) or parts.manifest.fields(c.source):
                text = "\n".join(passage_text(Passage(h, 0.0)) for h in head(parts, c))
                unnamed = set(grounding.missing(names, text))
                said[c.source] = [n for n in names if n not in unnamed]
        if said[c.source]:
            # a code's key is in lower case ("rv-8"), which reads as two words: written back in
            # capitals it is one token again ("RV-8")
            context = f"{c.context} | " + " ".join(
                n.upper() if any(ch.isdigit() for ch in n) else n for n in said[c.source])
            p = Passage(dataclasses.replace(c, context=context), p.score)
        out.append(p)
    return out


def head(parts: Parts, chunk: Chunk) -> list[Chunk]:
    """Where a file says what it is about: its first page, or its first chunk when it has no
    pages (a filing's cover, a report's title, a form's first fields)."""
    if chunk.page:
        return parts.manifest.page_chunks(chunk.source, 1)
    return parts.manifest.file_chunks(chunk.source, limit=1)


def named_first(ids: list[str], passages: list[Passage], question: str) -> list[Passage]:
    """Passages that name every identifier of the question (in their lines, page context or
    file name) before those that miss one; within each group, passages of a file whose name
    the question says come first; retrieval order otherwise.

    "Amazon's R&D expenses" matched Apple's R&D table best: the words are alike and the
    company is named on a filing's cover, not in its tables. The identifier gate would refuse
    such passages anyway; ranking them last lets the named ones in. People name a document
    as they see it listed: "in the Q1 2023 10-Q" means `2023 Q1 AAPL.pdf`, whose pages never
    print "Q1 2023" where the figures are.
    """
    misses = {id(p): bool(ids) and bool(grounding.missing(ids, passage_text(p)))
              for p in passages}
    files = named(passages, question, [p for p in passages if not misses[id(p)]])
    return sorted(passages, key=lambda p: (misses[id(p)], p.chunk.source not in files))


def named(passages: list[Passage], question: str, about: list[Passage]) -> set[str]:
    """The files the question names, of those of the passages ``about`` what it asks (that
    name its identifiers): "Apple's Q2 2023 10-Q" and "Apple's latest 10-Q" are Apple's, not
    Amazon's of the same quarter."""
    return named_files({p.chunk.source for p in about or passages}, question)


def own_lines(ranked: list[ScoredLine], files: set[str],
              about: list[Passage]) -> list[ScoredLine]:
    """The lines an answer may state: those of the files the question names, else those of
    the passages that name its identifiers, if any. "How much did Acme spend on advertising?"
    is not answered by Globex's advertising row."""
    return [s for s in ranked if s.source in files] or [
        s for s in ranked if holder(about, s.source, s.line)] or ranked


def in_context(lines: list[ScoredLine], passages: list[Passage]) -> list[str]:
    """The lines as the answer is given them: each PDF page's first one after its page's
    context, a table row with each figure's column and the table's unit. The judge reads a
    row as an answer only once it sees whose statement, which quarter and which unit each
    figure is."""
    from .answer.markers import heading

    out: list[str] = []
    for s in lines:
        home = holder(passages, s.source, s.line)
        out.extend(h for h in (heading(home) if home else []) if h not in out)
        out.append(described(s.row, s.text))
    return out
