"""Answer or refuse, decided from evidence: one calibrated score from the signals at hand.

The signals are the best line's support, embedding similarity and word overlap with the
question, its margin over the best line of any other passage, the share of the question's
identifiers its passage names, and (from an LLM backend that can give it) the model's own
probability that the best two lines answer the question. A logistic model over them is fitted by
``eval/fit_answerability.py`` on SQuAD 2.0 questions disjoint from the test set; its weights
ship in ``answerability.json`` beside this file.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from ..text import content_terms
from ..types import Passage
from . import grounding
from .support import ScoredLine

WEIGHTS = Path(__file__).with_name("answerability.json")


@dataclass
class Evidence:
    support: float = 0.0
    similarity: float = 0.0
    lexical: float = 0.0
    margin: float = 0.0  # best support minus the best line of any other passage
    identifiers: float = 1.0  # share of the question's identifiers the best passage names
    judge: float | None = None  # the LLM's probability of "Yes, these lines answer it"
    missing: list[str] = field(default_factory=list)  # identifiers no retrieved passage names

    def features(self) -> dict[str, float]:
        d = asdict(self)
        d.pop("missing")
        return {k: float(v) for k, v in d.items() if v is not None}


def passage_text(p: Passage) -> str:
    """What a passage names: its lines, its file's name ("Warsaw.txt" names Warsaw) and, for a
    PDF, its page's header and footer ("Apple Inc. | Q3 2022 Form 10-Q")."""
    stem = Path(p.chunk.source).stem.replace("_", " ").replace("-", " ")
    return f"{stem}\n{p.chunk.context}\n{p.chunk.text}"


def named_files(sources: set[str], question: str) -> set[str]:
    """The files whose names the question says: of those it names by two words or more, the
    ones it names most fully. "In the Q1 2023 report" and "in the first quarter of 2023" name
    `2023 Q1 report.txt` over `2023 Q2 report.txt`; one word is too weak a sign ("Air Force"
    is not `Force.txt`). Naming none, "the latest report" names the file whose name holds the
    newest date, when two names or more hold one."""
    said = said_terms(question)
    count = {}
    for source in sources:
        if (n := len(name_terms(source) & said)) >= 2:
            count[source] = n
    if count:
        return {s for s, n in count.items() if n == max(count.values())}
    dated = {s: d for s in sources if (d := file_date(s))}
    if len(dated) < 2 or not _LATEST.search(question):
        return set()
    return {s for s, d in dated.items() if d == max(dated.values())}


_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4}
_QUARTER = re.compile(rf"\b({'|'.join(_ORDINALS)})\s+(?:fiscal\s+)?quarter\b", re.I)
# "the latest 10-Q", "the most recent quarterly filing": a request for the newest document
_LATEST = re.compile(r"\b(?:latest|most recent|newest)\s+(?:\w+\s+)?(?:reports?|filings?"
                     r"|10-?[QK]|quarters?|documents?|statements?|versions?|releases?|editions?"
                     r"|issues?|years?|months?)\b", re.I)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_FILE_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_FILE_PERIOD = re.compile(rf"\b(?:Q([1-4])|({'|'.join(_MONTHS)})[a-z]*)\b", re.I)


def said_terms(question: str) -> set[str]:
    """The question's terms as a file's name would say them ("the second quarter": Q2)."""
    return content_terms(_QUARTER.sub(lambda m: f"Q{_ORDINALS[m[1].lower()]}", question))


def name_terms(source: str) -> set[str]:
    """The terms of a file's name ("2023 Q3 AAPL.pdf": 2023, q3, aapl)."""
    return content_terms(Path(source).stem.replace("_", " "))


def file_date(source: str) -> tuple[int, int] | None:
    """The year and month a file's name holds ("2023 Q3 AAPL": 2023, 9), or None."""
    stem = Path(source).stem
    if not (year := _FILE_DATE.search(stem)):
        return None
    period = _FILE_PERIOD.search(stem.replace("_", " "))
    month = 0 if not period else int(period[1]) * 3 if period[1] else \
        _MONTHS.index(period[2][:3].lower()) + 1
    return int(year[1]), month


def holder(passages: list[Passage], source: str, line: int) -> Passage | None:
    """The first passage that holds the line."""
    return next((p for p in passages if p.chunk.holds(source, line)), None)


def assess(question: str, passages: list[Passage], ranked: list[ScoredLine]) -> Evidence:
    """The evidence signals of the retrieved passages for ``question``."""
    ids = grounding.identifiers(grounding.without_instructions(question))
    unnamed = [set(grounding.missing(ids, passage_text(p))) for p in passages]
    # An identifier is missing only when no passage names it all together with the others.
    missing = [] if not ids or any(not u for u in unnamed) else sorted(
        set.intersection(*unnamed) if unnamed else set(ids))
    if not ranked:
        return Evidence(identifiers=0.0 if ids else 1.0, missing=missing)
    best = ranked[0]
    home = holder(passages, best.source, best.line)
    others = [s.evidence for s in ranked
              if home is None or holder(passages, s.source, s.line) is not home]
    coverage = 1.0
    if ids and home is not None:
        coverage = 1 - len(grounding.missing(ids, passage_text(home))) / len(ids)
    return Evidence(
        support=best.evidence,
        similarity=best.similarity,
        lexical=best.lexical,
        margin=best.evidence - (others[0] if others else 0.0),
        identifiers=coverage,
        missing=missing,
    )


@cache
def _model() -> dict:
    return json.loads(WEIGHTS.read_text(encoding="utf-8"))


def probability(model: dict, features: dict[str, float], *, shift: float = 0.0) -> float:
    """The logistic model's output for these features; ``shift`` is added to its logit."""
    z = model["intercept"] + shift + sum(
        w * (features[name] - model["mean"][name]) / model["scale"][name]
        for name, w in model["weights"].items()
    )
    return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def score(evidence: Evidence) -> float:
    """How answerable the question is from this evidence, 0..1; 0.5 is the operating point
    chosen on the fit set, so ``QA_MIN_ANSWERABILITY=0.5`` means "as fitted".

    Uses the model with the LLM's signal when the backend gave one, else the evidence-only one.
    """
    model = _model()["with_llm" if evidence.judge is not None else "evidence"]
    t = min(max(model.get("threshold", 0.5), 1e-6), 1 - 1e-6)
    return probability(model, evidence.features(), shift=-math.log(t / (1 - t)))
