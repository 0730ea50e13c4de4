"""Read an eval dataset (JSON Lines) and reject it whole at the first malformed line.

Checking every line before any question is asked means a typo on line 290 costs a second,
not a half-finished run whose numbers silently cover fewer questions.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..ingest.readers import display_lines, kind_of, split_lines


class DatasetError(InputError):
    """A dataset line that is not a valid question; the message names file and line."""


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    all_required: bool = False
    source: str = ""  # file name, relative to the corpus folder; "" when not given
    lines: list[int] = field(default_factory=list)  # gold 1-based lines in source
    answerable: bool = True
    forbidden: list[str] = field(default_factory=list)  # strings the answer must not contain
    # Document benchmarks (sec10q): the files that hold the answer (relative to the corpus),
    # the figures a good answer states ("$82,959 million") and the question's type
    # ("Single-Doc Single-Chunk RAG", "Multi-Doc RAG", ...); see ``metrics.fact_in``.
    sources: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    type: str = ""
    chunk_type: str = ""  # where the answer lies: "Table" or "Text"; kept for breakdowns
    # A conversation: the earlier turns' questions (asked and answered first, oldest first),
    # and ``question`` written to stand alone, asked without them for comparison.
    history: list[str] = field(default_factory=list)
    standalone: str = ""
    line: int = field(default=0, compare=False)  # where it is in the dataset file, for errors

    @property
    def injection(self) -> bool:
        return bool(self.forbidden)

    @property
    def single_doc(self) -> bool:
        return self.type.startswith("Single-Doc")

    @property
    def conversation(self) -> bool:
        return bool(self.history)

    def named_sources(self) -> list[str]:
        """Every file the item names, ``source`` first, each once."""
        return list(dict.fromkeys(s for s in (self.source, *self.sources) if s))


# name -> (accepted types, required)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str, int), True),
    "question": ((str,), True),
    "answers": ((list,), False),
    "all_required": ((bool,), False),
    "source": ((str,), False),
    "lines": ((list,), False),
    "answerable": ((bool,), False),
    "forbidden": ((list,), False),
    "sources": ((list,), False),
    "facts": ((list,), False),
    "type": ((str,), False),
    "chunk_type": ((str,), False),
    "reference": ((str,), False),  # the reference answer, whole: checked, not scored
    "history": ((list,), False),
    "standalone": ((str,), False),
}


def parse_item(obj: object, line: int = 0) -> Item:
    """One dataset record as an ``Item``; raises ``ValueError`` saying what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    for name, (types, required) in _FIELDS.items():
        if name not in obj:
            if required:
                raise ValueError(f'missing field "{name}"')
            continue
        value = obj[name]
        # bool is an int subclass: refuse `"id": true` and `"lines": [true]`
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            expected = " or ".join(t.__name__ for t in types)
            raise ValueError(f'field "{name}" must be {expected}, got {json.dumps(value)}')
    question = obj["question"].strip()
    if not question:
        raise ValueError('field "question" is empty')
    answers = obj.get("answers", [])
    forbidden = obj.get("forbidden", [])
    lines = obj.get("lines", [])
    sources = obj.get("sources", [])
    facts = obj.get("facts", [])
    history = obj.get("history", [])
    for name, values in (("answers", answers), ("forbidden", forbidden), ("sources", sources),
                         ("facts", facts), ("history", history)):
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise ValueError(f'field "{name}" must be a list of non-empty strings')
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in lines):
        raise ValueError('field "lines" must be a list of 1-based line numbers')
    answerable = obj.get("answerable", True)
    # An answerable question needs something to grade it by: answer strings, the figures a
    # right answer states, or the files that hold the answer (graded on retrieval alone).
    if answerable and not (answers or facts or sources):
        raise ValueError('an answerable question needs at least one string in "answers" '
                         '(or "facts", or the "sources" that hold the answer)')
    if not answerable and facts:
        raise ValueError('an unanswerable question has no "facts"')
    if lines and not obj.get("source"):
        raise ValueError('field "lines" needs a "source" file name')
    standalone = obj.get("standalone", "").strip()
    if bool(history) != bool(standalone):  # the ratio needs both forms of the last turn
        raise ValueError('a conversation needs both "history" (the earlier questions) and '
                         '"standalone" (the last question written to stand alone)')
    return Item(
        id=str(obj["id"]),
        question=question,
        answers=list(answers),
        all_required=obj.get("all_required", False),
        source=obj.get("source", "").replace(os.sep, "/"),
        lines=sorted(set(lines)),
        answerable=answerable,
        forbidden=list(forbidden),
        sources=list(dict.fromkeys(s.replace(os.sep, "/") for s in sources)),
        facts=list(facts),
        type=obj.get("type", "").strip(),
        chunk_type=obj.get("chunk_type", "").strip(),
        history=[q.strip() for q in history],
        standalone=standalone,
        line=line,
    )


def load(
    path: str | os.PathLike, *, limit: int | None = None, sample: int | None = None
) -> list[Item]:
    """Every item of the dataset; ids must be unique.

    ``limit`` keeps the first N; ``sample`` keeps N drawn with a fixed seed, in file order, so
    that a subset spans every article and two runs draw the same questions. The whole file is
    validated either way, so a later bad line is still reported.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"no such dataset: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read dataset {path}: {exc}") from None
    items: list[Item] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = parse_item(json.loads(line), number)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except ValueError as exc:
            raise DatasetError(f"{path}:{number}: {exc}") from None
        if item.id in seen:
            raise DatasetError(f"{path}:{number}: id {item.id!r} repeats line {seen[item.id]}")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: no questions in the dataset")
    if sample and sample < len(items):
        keep = set(random.Random(SAMPLE_SEED).sample(range(len(items)), sample))
        items = [item for n, item in enumerate(items) if n in keep]
    return items[:limit] if limit else items


SAMPLE_SEED = 20261125


Corpus = str | os.PathLike | Sequence[str | os.PathLike]  # one folder, or several


def corpora(corpus: Corpus) -> list[Path]:
    """The corpus folders, in order: a dataset may span several (seeds/ and squad2-dev)."""
    return [Path(corpus)] if isinstance(corpus, str | os.PathLike) else [Path(c) for c in corpus]


def check_sources(items: list[Item], corpus: Corpus, dataset: str | os.PathLike) -> None:
    """Every named source (``source`` and each of ``sources``) is a file qa reads in one of the
    corpus folders, and every gold line is inside it.

    A misspelt file name would otherwise score as a retrieval miss on every question about it.
    Gold lines are checked against text files only: a PDF's lines are numbered per page. They
    are display lines, as citations are: a line longer than ``MAX_LINE_CHARS`` counts as the
    several it is cut into.
    """
    roots = corpora(corpus)
    sizes: dict[str, int | None] = {}  # source -> lines of a text file; -1: no line count
    for item in items:
        where = f"{dataset}:{item.line}" if item.line else f"{dataset}: {item.id}"
        for source in item.named_sources():
            if source not in sizes:
                sizes[source] = next((n for r in roots if (n := _size(r / source)) is not None),
                                     None)
            if sizes[source] is None:
                where_not = ", ".join(map(str, roots))
                raise DatasetError(f"{where}: source {source!r} is not a readable file in "
                                   f"{where_not}")
        count = sizes.get(item.source, -1)
        if item.lines and count is not None and count >= 0 and item.lines[-1] > count:
            raise DatasetError(
                f"{where}: gold line {item.lines[-1]} is past the end of {item.source} "
                f"({count} lines)"
            )


def _size(path: Path) -> int | None:
    """Lines of a text file; -1 for another file qa reads (PDF, Word, HTML); None when it is
    missing, unreadable or of a type qa does not read."""
    kind = kind_of(path.name)
    try:
        if kind == "text":
            return len(display_lines(split_lines(path.read_text(encoding="utf-8-sig"))))
        return -1 if kind and path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None
