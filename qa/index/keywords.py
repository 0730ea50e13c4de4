"""BM25 query planning: which of a question's words the keyword search asks for.

FTS5 scores every matching row before it can sort, so on a large index a common word
(matching half of 100k chunks) costs ~100 ms while adding almost nothing to the ranking. When
the words' matches add up to more than the budget, the commonest words are left out; a small
index never reaches the budget and keeps full BM25.
"""

from __future__ import annotations

from collections.abc import Callable

from ..text import STOPWORDS, words

BM25_BUDGET = 20_000  # matching rows one keyword search may score


def query_terms(question: str) -> list[str]:
    """The question's words that are worth searching, each once, in order."""
    return list(dict.fromkeys(t for t in words(question) if t not in STOPWORDS))


def affordable(terms: list[str], matches: Callable[[str], int], budget: int) -> list[str]:
    """The rarest terms whose matches fit the budget (always at least the rarest one);
    ``matches`` counts the rows a term matches. A lone term is never counted."""
    if len(terms) <= 1:
        return terms
    df = {t: matches(t) for t in terms}
    if sum(df.values()) <= budget:
        return terms
    kept: list[str] = []
    total = 0
    for t in sorted(terms, key=df.__getitem__):
        if kept and total + df[t] > budget:
            break
        kept.append(t)
        total += df[t]
    return kept


def fts_query(terms: list[str]) -> str:
    """Any of the terms (OR), each quoted so FTS5 reads it as a word, not as syntax."""
    return " OR ".join(f'"{t}"' for t in terms)
