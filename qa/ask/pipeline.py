"""The ask path: named stages from the question to a verified answer, each one step.

``Pipeline`` runs the stages of ``stages.py`` in order on one ``Ask`` record (retrieve, widen
pages, score lines, rerank, look up rows, add heads, focus, decide), then, unless the decision
refused, lets the backend write, shows each sentence as it passes verification, and falls back
to the best lines quoted when nothing of the draft survives. Every stage writes what it did and
how long it took to the ``Trace``, which ``Answer.debug["trace"]`` carries to the eval and the
UI. A pipeline is composed by its list of stages: leave one out and the rest still run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import BackendError
from ..types import Answer, Coverage, Draft, History, ModelCall, Passage, Refusal, Status
from . import grounding
from .answer.base import REFUSAL
from .answer.extractive import quoted
from .answer.markers import NOT_FOUND, NUMBERED
from .answerability import Evidence, holder, passage_text
from .cells import asks_empty_field, named_fields
from .condense import rule_condense
from .figures import (
    FIGURE_LINES,
    ROW_LINES,
    answer_lines,
    bare_figure,
    figures,
    named_row_lines,
    one_of_several,
    states_figure,
    stating,
)
from .gate import Gate, shown_text
from .stages import (
    AddHeads,
    Decide,
    Figure,
    FileTables,
    Focus,
    LookupRows,
    Rerank,
    Retrieve,
    ScoreLines,
    Span,
    WidenPages,
    in_context,
)
from .support import ScoredLine
from .verify import NOT_VERIFIED, Drop, Verified, drift, verify

if TYPE_CHECKING:
    from ..config import Settings
    from ..index.manifest import Manifest
    from ..ingest.documents import PageReader
    from .answer.base import Answerer

log = logging.getLogger("qa")
# The model's P(yes), asked of a quote alone, that lets the quote stand in for the model's own
# refusal: when the quote states a figure the question asks for, that is a second sign beside
# the judge's yes; any other quote has only the judge's word, against the model's NOT FOUND.
JUDGE_YES = 0.5
JUDGE_SURE = 0.6
_Shown = tuple[list[ScoredLine], Verified, str]  # a fallback quote's lines, verified, as shown


class Parts(Protocol):
    """What the stages use: the settings, the index and the models (``QA`` is one)."""

    settings: Settings

    @property
    def manifest(self) -> Manifest: ...
    @property
    def retriever(self) -> Any: ...
    @property
    def answerer(self) -> Answerer: ...
    @property
    def embed_lines(self) -> Any: ...
    @property
    def read(self) -> PageReader: ...


@dataclass(frozen=True)
class Step:
    stage: str
    ms: float
    note: str  # what the stage did or dropped, and why
    calls: tuple[ModelCall, ...] = ()  # the model calls it made, as the model counted them


@dataclass
class Trace:
    """What each stage did and how long it took, in order."""

    steps: list[Step] = field(default_factory=list)

    def ms(self, stage: str) -> float:
        return sum(s.ms for s in self.steps if s.stage == stage)

    def as_list(self) -> list[dict]:
        return [dataclasses.asdict(s) for s in self.steps]


@dataclass
class Ask:
    """One question on its way through the stages: each reads and extends it."""

    query: str
    k: int
    ids: list[str] = field(default_factory=list)  # the names and numbers it asks about
    passages: list[Passage] = field(default_factory=list)
    scored: list[ScoredLine] = field(default_factory=list)  # every line, short ones included
    ranked: list[ScoredLine] = field(default_factory=list)  # lines of 3+ words, best first
    own: list[ScoredLine] = field(default_factory=list)  # the lines an answer may state
    # ``own`` as an LLM is given it: the lines an answer would quote first (``Focus``)
    given: list[ScoredLine] = field(default_factory=list)
    # the table rows and form fields among ``own`` the question names, each with the share
    # of its label the question says
    rows: list[tuple[ScoredLine, float]] = field(default_factory=list)
    fields: list[ScoredLine] = field(default_factory=list)  # of ``rows``, the form fields
    evidence: Evidence | None = None
    answerability: float = 0.0
    support: dict[tuple[str, int], float] = field(default_factory=dict)
    figure: bool = False  # it asks for a figure (``figures.asks_for_figure``)
    spans: list[str] = field(default_factory=list)  # the documents it asks across, if any
    refusal: Refusal | None = None  # what decided that no answer will be written
    why: str = ""  # the refusal as the user reads it ("no passage found mentions X")
    trace: Trace = field(default_factory=Trace)
    _notes: list[str] = field(default_factory=list, repr=False)

    def note(self, text: str) -> None:
        self._notes.append(text)

    def refuse(self, refusal: Refusal, why: str) -> None:
        self.refusal, self.why = refusal, why

    @property
    def refused(self) -> bool:
        return self.refusal is not None


def default_stages() -> list[Any]:
    """The stages in order; README's flow diagram lists them."""
    tables = FileTables()  # the files' rows, read once for both stages that read them
    return [Retrieve(), WidenPages(), ScoreLines(), Figure(tables), Rerank(), Span(),
            LookupRows(tables), AddHeads(), Focus(), Decide()]


class Pipeline:
    def __init__(self, parts: Parts, stages: Sequence[Any] | None = None) -> None:
        self.parts = parts
        self.stages = list(default_stages() if stages is None else stages)

    def prepare(self, query: str, k: int) -> Ask:
        """Run every stage on ``query``: the evidence and the decision, before any answer."""
        ask = Ask(query, k)
        for _ in self._run(ask):
            pass
        return ask

    def _run(self, ask: Ask) -> Iterator[Any]:
        """Run the stages on ``ask`` one by one, yielding each before it runs, so that a
        stream can show what is known so far (the passages, before ``Decide`` may ask the
        model whether they answer)."""
        for stage in self.stages:
            yield stage
            began = time.perf_counter()
            stage(ask, self.parts)
            ask.trace.steps.append(Step(stage.name, _ms(began), "; ".join(ask._notes),
                                        self._calls()))
            ask._notes.clear()
        if ask.evidence is None:  # composed without a decision: answer on what was found
            from .answerability import assess

            ask.evidence = assess(ask.query, ask.passages, ask.ranked)

    def assess(self, query: str, k: int) -> Evidence:
        evidence = self.prepare(query, k).evidence
        assert evidence is not None
        return evidence

    def _calls(self) -> tuple[ModelCall, ...]:
        """The model calls made since the last step, when the backend counts them."""
        take = getattr(self.parts.answerer, "take_calls", None)
        return tuple(take()) if take is not None else ()

    def condense(self, question: str, history: History) -> str:
        """The question rewritten to stand alone, by the backend when it can, else by rule."""
        if not history:
            return question
        rewrite = getattr(self.parts.answerer, "condense", None)
        return rewrite(question, history) if rewrite else rule_condense(question, history)

    def stream(self, question: str, k: int, *, history: History | None = None,
               status: bool = False) -> Iterator[str | Status | Answer]:
        """Yield the answer's verified text as it grows, then the ``Answer`` (``QA.stream``):
        a follow-up is rewritten to stand alone first (``condense``)."""
        started = time.perf_counter()
        say = _Say(status)
        if history:
            yield from say("condensing", "Reading the conversation…")
        began = time.perf_counter()
        query = self.condense(question, history or [])
        condensed = Step("condense", _ms(began), "rewritten" if query != question else
                         "as asked", self._calls())
        yield from say("searching", "Searching the documents…")
        ask, decided = Ask(query, k), False

        def reading() -> list[Status]:  # the passages are final: shown while they are read
            return say("reading", f"Reading {_count(len(ask.passages), 'passage')}…",
                       tuple(ask.passages))

        for stage in self._run(ask):
            if isinstance(stage, Decide):  # which may ask the model: seconds, locally
                decided = True
                yield from reading()
        if not decided:  # composed without a decision
            yield from reading()
        if history:
            ask.trace.steps.insert(0, condensed)
        answerer = self.parts.answerer
        if ask.refused:
            answer = Answer(REFUSAL, True, [], ask.passages,
                            {"dropped": [], "proposed": 0, "refused_because": ask.why,
                             "refusal": ask.refusal})
        else:
            yield from say("writing", "Writing the answer…")
            began = time.perf_counter()
            check = self._checker(ask)
            rows = stated_rows(ask)  # their cells are the answer, under their headers
            parse = None if rows else getattr(answerer, "parse", None)
            gate = Gate(check, parse, ask.passages, query)
            if rows:
                for item in _drafted(quoted(rows, question=query)):
                    if text := gate.feed(item):
                        yield text
            else:
                with closing(answerer.stream(query, ask.passages, evidence=ask.given)) as pieces:
                    for item in pieces:
                        if text := gate.feed(item):
                            yield text
            if gate.draft is None:
                raise BackendError(f"{answerer.name} ended its stream without a Draft")
            ask.trace.steps.append(Step("answer", _ms(began), (
                f"stated from {_count(len(rows), 'named row')}" if rows else
                f"{len(gate.draft.proposals)} citations proposed"), self._calls()))
            shown = gate.shown
            yield from say("checking", "Checking the citations…")
            began = time.perf_counter()
            answer = self._finish(gate.draft, ask, check, written=parse is not None)
            ask.trace.steps.append(Step("verify", _ms(began), "fallback" if answer.debug.get(
                "fallback") else f"{len(answer.debug['dropped'])} citations dropped",
                self._calls()))
            if answer.text.startswith(shown) and not answer.refused:
                if rest := answer.text[len(shown):]:
                    yield rest
            elif shown:  # never expected: parse and verify agree sentence by sentence
                log.warning("streamed text %r is not the start of the answer %r",
                            shown, answer.text)
        read = self.parts.read
        answer.retrieved = [dataclasses.replace(p, changed=drift(p.chunk, read))
                            for p in answer.retrieved]
        assert ask.evidence is not None
        answer.debug.update(
            support=round(ask.evidence.support, 4),
            answerability=round(ask.answerability, 4),
            evidence={k: round(v, 4) for k, v in ask.evidence.features().items()},
            gated=ask.refused,
            query=query,
            backend=answerer.name,
            retrieval_ms=round(ask.trace.ms("retrieve") + ask.trace.ms("widen pages"), 1),
            total_ms=_ms(started),
            trace=ask.trace.as_list(),
        )
        yield answer

    def _checker(self, ask: Ask) -> Callable[[Draft], Verified]:
        return partial(verify, passages=ask.passages, read=self.parts.read, question=ask.query,
                       support=ask.support,
                       min_line_support=self.parts.settings.min_line_support)

    def _finish(self, draft: Draft, ask: Ask, check: Callable[[Draft], Verified], *,
                written: bool) -> Answer:
        """Verify the draft; when nothing of it survives, fall back to the best line, quoted.
        ``written``: a model wrote the draft (not the lines quoted, nor rows stated)."""
        passages = ask.passages
        result, text = shown_text(draft, check)
        debug: dict = {"dropped": result.dropped if result else [],
                       "proposed": len(draft.proposals),
                       "model_refused": draft.refused or (not text and bool(
                           any(NOT_FOUND.search(s) for s in draft.sentences)))}
        repeated = result is not None and any(
            d["reason"] == Drop.REPEATS_QUESTION for d in result.dropped)
        if not text and self.parts.settings.fallback == "on" \
                and not repeated:  # a reply that only echoes the question found nothing new
            judging = getattr(self.parts.answerer, "judge", None) is not None
            shown: Iterable[_Shown] = (
                (lines, fallback, said) for lines, quote in
                _quotes(ask, judged=debug["model_refused"] and judging)
                for fallback, said in [shown_text(quote, check)]
                if said and fallback is not None)  # only a quote that verifies is judged
            if debug["model_refused"]:  # the quote the model judges best, of those it accepts
                shown = self._confirmed(ask, list(shown), debug)
            if (first := next(iter(shown), None)) is not None:
                _, fallback, said = first
                debug["fallback"] = True
                return _covered(Answer(said, False, fallback.citations, passages, debug),
                                ask.spans)
        if text and result is not None and ask.figure and written:
            if not states_figure(text, ask.query):
                result, text = self._with_figures(draft, ask, check, result, text, debug)
            else:
                result, text = self._with_lines(draft, ask, check, result, text, debug)
        if not text or result is None:
            debug["refusal"] = Refusal.MODEL_REFUSED
            if result is not None:
                debug["refused_because"], debug["refusal"] = NOT_VERIFIED, Refusal.NOT_VERIFIED
            return Answer(REFUSAL, True, [], passages, debug)
        return _covered(Answer(text, False, result.citations, passages, debug), ask.spans)

    def _with_figures(self, draft: Draft, ask: Ask, check: Callable[[Draft], Verified],
                      result: Verified, text: str, debug: dict) -> tuple[Verified, str]:
        """A question for a figure answered in words alone ("highlighting the increase in
        operating expenses"): the lines an answer would quote that state one follow the
        model's verified text, which stays as it was shown."""
        for _, quote in _quotes(ask):
            more, said = shown_text(_joined(draft, quote), check)
            if more is not None and said.startswith(text) and states_figure(
                    said[len(text):], ask.query):
                debug["figures_added"] = True
                return more, said
        return result, text

    def _with_lines(self, draft: Draft, ask: Ask, check: Callable[[Draft], Verified],
                    result: Verified, text: str, debug: dict) -> tuple[Verified, str]:
        """A figure answered alone ("$7.3 billion [1]"), one of several its line states alike
        (``figures.one_of_several``): that line follows, quoted (a table row as the cells the
        answer stated, with their period and unit), so that the answer says which it is."""
        bare = NUMBERED.sub(" ", text)
        if not bare_figure(bare):
            return result, text
        said = frozenset(figures(bare))
        cited = {(c.source, c.start_line) for c in result.citations}
        lines = [s for s in ask.scored if (s.source, s.line) in cited and one_of_several(bare, s)]
        if lines:
            more, shown = shown_text(_joined(draft, quoted(
                lines[:ROW_LINES], marks=True, question=ask.query, said=said)), check)
            if more is not None and shown.startswith(text) and shown != text:
                debug["figure_lines_added"] = True
                return more, shown
        return result, text

    def _confirmed(self, ask: Ask, quotes: list[_Shown], debug: dict) -> list[_Shown]:
        """The quotes that may stand in for a model that said the lines do not answer: a row
        or field the question names may (a model reads a bare row poorly); any other line
        only when the model, asked of that line alone, says it answers: ``JUDGE_YES`` for a
        quote that states a figure the question asks for, ``JUDGE_SURE`` for any other. The
        named rows and fields come first, then the likeliest answer; but for a question that
        asks for a figure, all that state one come before those that do not. The model is
        asked once of each text it is shown (a page may print a line twice)."""
        named = {(s.source, s.line) for s, _ in ask.rows}
        judge = getattr(self.parts.answerer, "judge", None)
        judged: dict[tuple[str, ...], float | None] = {}
        kept: list[tuple[bool, float, int, _Shown]] = []
        for n, shown in enumerate(quotes):
            lines = shown[0]
            states = ask.figure and any(states_figure(s.text, ask.query) for s in lines)
            if judge is None or all((s.source, s.line) in named for s in lines):
                kept.append((states, 2.0, n, shown))
                continue
            text = tuple(in_context(lines, ask.passages))
            if text not in judged:
                judged[text] = judge(ask.query, list(text))
            p = judged[text]
            debug.setdefault("fallback_judged", []).append(None if p is None else round(p, 4))
            if p is None or p >= (JUDGE_YES if states else JUDGE_SURE):
                kept.append((states, 1.0 if p is None else p, n, shown))
        return [q for *_, q in sorted(kept, key=lambda k: (not k[0], -k[1], k[2]))]


def stated_rows(ask: Ask) -> list[ScoredLine]:
    """For a question that asks for a figure and names its table row whole, no form field,
    those rows (``figures.named_row_lines``) when the best was read with its column headers:
    every backend states their cells with their period and unit, as the extractive one does.
    A model shown a row of four figures picks one without saying which column it is, and
    often the wrong one. A line that only reads as a row, its columns unknown, is left to
    the model, which may read them from the lines around it."""
    if not ask.figure or ask.fields:
        return []
    rows = named_row_lines(ask.query, ask.own)
    best = rows[0].row if rows else None
    return rows if best is not None and best.cells and all(c.headers for c in best.cells) \
        else []


def _joined(first: Draft, then: Draft) -> Draft:
    """One draft of two, ``then`` after ``first``: each keeps its sentences and markers."""
    ahead = first.sentences or [first.text]
    return Draft("\n".join([first.text, then.text]),
                 first.proposals + [dataclasses.replace(p, sentence=p.sentence + len(ahead))
                                    for p in then.proposals],
                 sentences=ahead + (then.sentences or [then.text]))


def _drafted(draft: Draft) -> Iterator[str | Draft]:
    yield draft.text
    yield draft


def _covered(answer: Answer, spans: list[str]) -> Answer:
    """An answer across documents says which of them it found something in."""
    if not spans:
        return answer
    cited = {c.source for c in answer.citations}
    answer.coverage = Coverage(tuple(spans), tuple(s for s in spans if s in cited))
    answer.text = f"{answer.text}\n{answer.coverage.sentence()}"
    return answer


def _quotes(ask: Ask, *, judged: bool = False) -> Iterator[tuple[list[ScoredLine], Draft]]:
    """Quotes to fall back on, best first, of the lines that are no instruction and whose
    passage names the question's identifiers: the form field the question names, or the lines
    an answer quotes (``figures.answer_lines``), then for a question that asks for a figure the
    rows it names alone (which a model that found nothing need not judge), the best lines
    stating one and the best-supported line, as verification may find a bare row unrelated to
    the question. None when the field the question names is printed empty."""
    question = ask.query
    ids = grounding.identifiers(grounding.without_instructions(question))

    def quotable(s: ScoredLine) -> bool:
        home = holder(ask.passages, s.source, s.line)
        return home is not None and s.line not in home.chunk.flagged \
            and not grounding.missing(ids, passage_text(home))

    pool = [s for s in ask.own if quotable(s)]
    if asks_empty_field(question, pool):
        return  # the form holds the field asked for, empty: nothing else answers
    if not ask.figure:  # the field the question names, wherever it ranks; else the best line
        best = [s for s in pool if s in ask.own[:3]]
        choices = [named_fields(question, pool)[:1], answer_lines(question, best)]
        if judged:  # the model judges each of the best lines; the likeliest answer is quoted
            choices += [[s] for s in best]
    else:
        named = [s for s, _ in ask.rows if s in pool][:ROW_LINES]
        choices = [answer_lines(question, pool), named, stating(pool)[:FIGURE_LINES],
                   pool[:1]]
    tried: list[list[ScoredLine]] = []
    for lines in choices:
        if lines and lines not in tried:
            tried.append(lines)
            yield lines, quoted(lines, marks=True, question=question)


def check_question(question: str, settings: Settings, manifest: Manifest) -> str:
    """The question, stripped; a one-line ``InputError`` when it cannot be asked: empty, too
    long, nothing indexed, or an index embedded by another model than questions would be."""
    from ..config import embedder_id
    from ..errors import InputError, NotIndexedError
    from ..ingest.ingestor import EMBEDDER

    question = (question or "").strip()
    if not question:
        raise InputError("the question is empty")
    if len(question) > settings.max_question_chars:
        raise InputError(
            f"the question is too long: {len(question):,} characters over the "
            f"{settings.max_question_chars:,} limit (QA_MAX_QUESTION_CHARS)")
    if not manifest.stats()["files"]:
        where, flag = ((f"collection {settings.collection!r} of ", f" --collection "
                        f"{settings.collection}") if settings.collection != "default" else ("", ""))
        raise NotIndexedError(f"nothing is indexed in {where}{settings.index_dir}: run "
                              f"`qa ingest{flag} PATH` first")
    made_by, asking = manifest.get_meta(EMBEDDER), embedder_id(settings)
    if made_by and made_by != asking:  # its question vectors would match nothing
        raise InputError(f"this index was embedded by {made_by}, and questions would be "
                         f"embedded by {asking}: set QA_EMBED_URL/QA_EMBED_MODEL as they "
                         "were, or run `qa ingest` again to re-embed")
    return question


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class _Say:
    """``Status`` items for a stream, or nothing when they were not asked for."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, stage: str, message: str,
                 passages: tuple[Passage, ...] = ()) -> list[Status]:
        return [Status(stage, message, passages)] if self.on else []
