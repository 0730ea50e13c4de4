"""How well the retrieved lines support a question: the evidence behind answer-or-refuse.

Each non-blank line of the retrieved passages (a sentence broken over display lines read on to
its end) scores the mean of its embedding similarity to the question and the share of the
question's content words it contains, each word weighed by how rare it is among the lines.
Retrieval scores alone cannot tell "related" from "answers it"; a single line that both means
and says what the question asks is a better signal, and it also picks the extractive answer.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import CURRENCY, content_terms
from ..types import Embed, Passage, Row


@dataclass(frozen=True)
class ScoredLine:
    source: str
    line: int
    text: str
    support: float  # what ranks the line: similarity and the rarity-weighted share, averaged
    similarity: float = 0.0  # cosine of line and question embeddings
    lexical: float = 0.0  # share of the question's content words the line contains
    end: int = 0  # the last line, when the text runs on to the next one; 0: ``line`` alone
    row: Row | None = None  # the table row the line is, as the reader read it

    @property
    def cell_terms(self) -> set[str]:
        """What the row's structure says beside its line: section, title, column headers."""
        if self.row is None:
            return set()
        r = self.row
        return content_terms(" ".join([r.section, r.title, *(c.column for c in r.cells)]))

    @property
    def evidence(self) -> float:
        """Support as the answerability model and QA_MIN_LINE_SUPPORT were fitted on it:
        every word of the question counting alike."""
        return 0.5 * self.similarity + 0.5 * self.lexical

    @property
    def last(self) -> int:
        return self.end or self.line


def score_lines(
    question: str, passages: list[Passage], embed: Embed, *, min_words: int = 3
) -> list[ScoredLine]:
    """Every line of at least ``min_words`` words in the passages, best supported first."""
    candidates: dict[tuple[str, int], tuple[str, int]] = {}  # line -> (its text, its end)
    rows: dict[tuple[str, int], Row] = {}
    context: dict[tuple[str, int], set[str]] = {}
    # a line that a line above reads whole with it (its sentence's start): scored, then read
    # as that line, never quoted alone
    within: dict[tuple[str, int], tuple[str, int]] = {}
    for p in passages:
        terms = content_terms(p.chunk.context)
        lines = p.chunk.lines()
        reach, reader = -1, None  # the furthest line a line so far reads on to, and that line
        for offset, text in enumerate(lines):
            if p.chunk.start_line + offset in p.chunk.running:
                continue  # a page's running header or footer answers nothing
            last = offset  # a sentence broken over display lines is read to its end
            while last + 1 < len(lines) and last - offset < RUN_ON_LINES and runs_on(
                    lines[last], lines[last + 1]) \
                    and p.chunk.start_line + last + 1 not in p.chunk.running \
                    and not _empty_field_ends(p.chunk.row(p.chunk.start_line + last),
                                              p.chunk.row(p.chunk.start_line + last + 1)):
                last += 1
            text = "\n".join(lines[offset:last + 1])
            end = p.chunk.start_line + last if last > offset else 0
            if len(text.split()) >= max(min_words, 1):
                key = (p.chunk.source, p.chunk.start_line + offset)
                candidates.setdefault(key, (text, end))
                context.setdefault(key, terms)
                if (row := p.chunk.row(key[1])) is not None:
                    rows.setdefault(key, row)
                elif last <= reach and reader is not None:
                    within.setdefault(key, reader)
                if last > reach:
                    reach, reader = last, key
    if not candidates:
        return []
    keys = list(candidates)
    # a line of two form fields or more says as many things: each filled one is embedded on
    # its own too, and the line relates to the question as the closest of them, or as a whole
    fields = {k: [f"{c.column}: {c.value}" for c in row.cells if c.value]
              for k, row in rows.items() if not row.label and len(row.cells) > 1}
    texts = [candidates[k][0] for k in keys] + [text for k in fields for text in fields[k]]
    q_vec, *vectors = embed([question] + texts)
    sims = [sum(a * b for a, b in zip(q_vec, vec)) for vec in vectors]
    similarity = dict(zip(keys, sims))
    each = iter(sims[len(keys):])
    for k, filled in fields.items():
        similarity[k] = max([similarity[k], *(next(each) for _ in filled)])
    q_terms = content_terms(question)
    own = {key: content_terms(candidates[key][0]) for key in keys}
    weight = rarity(q_terms, list(own.values()))
    scored = []
    for key in keys:
        sim = similarity[key]
        # a PDF table row says neither whose figures nor which quarter: its page context does
        text, end = candidates[key]
        line = ScoredLine(key[0], key[1], text, 0.0, sim, 0.0, end, rows.get(key))
        # and a row's column headers, section and title say which figures it holds
        said = own[key] | context[key] | line.cell_terms
        rare = sum(weight[t] for t in q_terms & said) / sum(weight.values()) if q_terms else 0.0
        lex = len(q_terms & said) / len(q_terms) if q_terms else 0.0
        scored.append(dataclasses.replace(line, support=0.5 * sim + 0.5 * rare, lexical=lex))
    return sorted(_read_whole(scored, within), key=lambda s: -s.support)


def _read_whole(scored: list[ScoredLine],
                within: dict[tuple[str, int], tuple[str, int]]) -> list[ScoredLine]:
    """Each part of a sentence (``within``) folded into the line that reads the sentence from
    its start: that line scores as the best of its parts. The second half of a sentence
    ("surface is directly proportional to the object's mass.") may mean the question more than
    the whole does, and was quoted without its start."""
    by_key = {(s.source, s.line): s for s in scored}
    for key, holder in within.items():
        part, whole = by_key.get(key), by_key.get(holder)
        if part is None or whole is None:
            continue
        if part.support > whole.support:
            by_key[holder] = dataclasses.replace(
                whole, support=part.support, similarity=part.similarity, lexical=part.lexical)
        del by_key[key]
    return list(by_key.values())


def rarity(terms: set[str], lines: list[set[str]]) -> dict[str, float]:
    """Each term's weight among ``lines``: its inverse line frequency, as BM25 weighs a word by
    the documents it is in (Robertson and Sparck Jones's weight, kept positive). Among the
    lines of an accident report "accident" is said everywhere and tells nothing;
    "jurisdiction" is said once, by the line that answers "which body has jurisdiction?"."""
    n = len(lines)
    df = {t: sum(t in said for said in lines) for t in terms}
    return {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}


_OPEN_END = re.compile(r":\s*$|[^\W\d_]\s*$|[,;]\s*$")  # "... to be:", "... to the", "...,"
_LOWER_START = re.compile(r"\s*[\"“‘'(]?[a-z(]")  # "in lower case", "“quoted” in lower case"
_DIGIT_START = re.compile(r"\s*\d")
_LOWER_END = re.compile(r"(?<![\w.-])[a-z]+\s*$")  # cut after a word in lower case
# "56 feet ...", "$3.72 billion and ...": a quantity read on, not a row of figures; or
# "100.": a figure that ends the sentence ("... and the maximum is" over it)
_QUANTITY_START = re.compile(rf"\s*[{re.escape(CURRENCY)}]?\d[\d,.]*(?:\s+[a-z]|\s*%?\s*\.\s*$)")
RUN_ON_LINES = 3  # display lines a sentence may run on over, past its first
_FIGURE_END = re.compile(r"[\d%)]\s*$")  # a table row ends on its last figure


def _empty_field_ends(row: Row | None, below: Row | None) -> bool:
    """Whether a line of form fields whose last field is empty ("Altimeter Setting:
    Temperature/Dew Point:") ends there: its ":" is the empty field's, not a heading's that the
    next line completes. Only a field alone on its line may have its value printed under it
    ("Held:" over "None"), and not when that line is a field of its own."""
    if row is None or row.label or not row.cells or row.cells[-1].value:
        return False
    return len(row.cells) > 1 or (below is not None and not below.label)


def runs_on(line: str, after: str) -> bool:
    """``line`` is completed by the display line ``after``: a sentence broken mid-way (it ends
    on a word, ",", ";" or ":" and the next line goes on in lower case, quoted or not, or
    after a "," with a figure: "... by September 21," over "2020."; or after a word in lower
    case with a quantity, an amount of money or a figure that ends the sentence: "... a fence
    about" over "56 feet prior ...", "... stock for" over "$3.72 billion and ...", "... and
    the maximum is" over "100."), or a heading or label that ends
    in ":" with its value below it. A caption's ":" over a table row is no such pair: the row
    stands alone. Such a pair is scored and quoted as one."""
    if not after.strip() or not (m := _OPEN_END.search(line)):
        return False
    if _LOWER_START.match(after):
        return True
    if m.group(0).startswith(",") and _DIGIT_START.match(after):
        return True  # "... by September 21," over "2020."
    if _LOWER_END.search(line) and _QUANTITY_START.match(after):
        return True  # "... struck a fence about" over "56 feet prior to the threshold."
    return m.group(0).startswith(":") and not _FIGURE_END.search(after)


def rerank(
    passages: list[Passage], ranked: list[ScoredLine], *, rows: Sequence[ScoredLine] = ()
) -> list[Passage]:
    """Passages ordered by their best-supported line; a PDF page by its best line and its
    retrieval rank, fused, and by the best table row it holds of ``rows`` (the rows whose
    label the question says, best first: ``figures.matching_rows``).

    No packaged cross-encoder exists here; line-level support is a second opinion that reads
    each sentence on its own instead of a chunk-wide average. A whole page is another matter:
    the best of its fifty lines is usually prose, and a bare table row ("Total net sales
    82,959 81,434") scores low against a question in words, so its line alone ranks the page
    of commentary above the table that holds the figure. A page's retrieval rank counts twice
    its line rank (reciprocal rank fusion): sec10q facts in the top 5 rose from 0.458 to 0.542
    (both halves of the questions, each company's), while on prose chunks (squad2-dev) the
    line order alone stays better (fused, hit@1 0.845 fell to 0.824). A page that holds a row
    the question names gains twice the reciprocal of that row's rank among the pages: 0.542
    to 0.590.
    """
    line_support = {(s.source, s.line): s.support for s in ranked}
    row_rank: dict[tuple[str, int], int] = {}
    for n, s in enumerate(rows):
        row_rank.setdefault((s.source, s.line), n)

    def lines(p: Passage) -> list[tuple[str, int]]:
        return [(p.chunk.source, n) for n in range(p.chunk.start_line, p.chunk.end_line + 1)]

    def best(p: Passage) -> float:
        return max((line_support.get(key, 0.0) for key in lines(p)), default=0.0)

    def best_row(p: Passage) -> int:  # len(rows): holds none of them
        return min((row_rank[key] for key in lines(p) if key in row_rank), default=len(rows))

    by_line = sorted(range(len(passages)), key=lambda i: -best(passages[i]))  # stable
    holding = [i for i in range(len(passages)) if best_row(passages[i]) < len(rows)]
    by_row = {i: n for n, i in enumerate(sorted(holding, key=lambda i: best_row(passages[i])))}
    score = {}
    for line_rank, i in enumerate(by_line):
        if passages[i].chunk.page:
            row = 2 / (RRF_K + by_row[i]) if i in by_row else 0.0
            score[i] = (2 / (RRF_K + i) + 1 / (RRF_K + line_rank) + row) / 3  # ~ a chunk's
        else:
            score[i] = 1 / (RRF_K + line_rank)
    return [passages[i] for i in sorted(score, key=lambda i: -score[i])]


RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009)
