"""Line-marked passages for the prompt, and the model's [L#] markers parsed back into proposals.

A small model often names the wrong line of the right passage, or none at all. Each sentence of
the reply is therefore aligned: its marker is kept when the cited lines say what the sentence
says, and otherwise the fewest retrieved lines that do are proposed instead. Nothing is trusted
here: every proposal still goes through ``verify``.
"""

from __future__ import annotations

import re

from ...types import Draft, Passage, Proposal
from .. import grounding

# Citation markers: the one grammar of them. A model writes line markers (``MARKER``);
# ``renumber`` turns the verified ones into numbered markers (``NUMBERED``), which the UI links;
# the eval strips either kind, as any system may write them (``ANY_MARKER``), from answers.
_FILE = r"(?:[^\[\]\n]*?:)?"  # an optional "file.txt:" before the lines
_RANGE = r"L\d+(?:\s*[-–]\s*L?\d+)?"
# [L30]  [L12-L14]  [L12-14]  [L3, L5]  [file.txt:L30]
MARKER = re.compile(rf"\[({_FILE}\s*{_RANGE}(?:\s*,\s*{_RANGE})*)\]")
# [1]  [2]: an answer's markers as shown, numbered in citation order
NUMBERED = re.compile(r"\[(\d{1,3})\]")
# [1]  [L30]  [L12-14]  [12-14]  [L3, L5]  [file.txt:L30]: numbered or line markers, leniently
ANY_MARKER = re.compile(rf"\[{_FILE}\s*L?\d+(?:\s*[-–,]\s*L?\d+)*\s*\]")
SPAN = re.compile(r"L(\d+)(?:\s*[-–]\s*L?(\d+))?")
NOT_FOUND = re.compile(r"\bNOT[ _]FOUND\b|\bI don'?t know\b|\bdocuments don'?t say\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?\]])\s+(?=[A-Z])|\n+")


def format_passages(
    passages: list[Passage], keep: set[tuple[str, int]] | None = None
) -> str:
    """Each passage a block of ``[L30] text`` lines; with ``keep``, only those (source, line)."""
    blocks = []
    for p in passages:
        body = [
            f"[L{n}] {line}"
            for n, line in enumerate(p.chunk.lines(), p.chunk.start_line)
            if line.strip() and (keep is None or (p.chunk.source, n) in keep)
        ]
        if body:
            blocks.append("\n".join(body))
    return "\n\n".join(blocks)


def _lines(passages: list[Passage]) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for p in passages:
        for i, line in enumerate(p.chunk.lines()):
            if line.strip():
                out.setdefault((p.chunk.source, p.chunk.start_line + i), line)
    return out


def _cover(claim: str, question: str, named: list[tuple[str, int]], lines: dict,
           q_keys: set[str], context: str = "") -> list[tuple[str, int]] | None:
    """The lines the sentence named if they say all it says, else the fewest retrieved lines
    (at most ``MAX_LINES``, greedily) that do; None when no such set exists."""
    named = [key for key in named if key in lines]

    def unsaid(keys: list[tuple[str, int]]) -> list[str]:
        return grounding.unsupported(claim, "\n".join(lines[k] for k in keys), question, context)

    if named and not unsaid(named):
        return named
    chosen: list[tuple[str, int]] = []
    while len(chosen) < MAX_LINES:
        missing = unsaid(chosen)
        want = grounding.keys(" ".join(missing))
        best = max(
            (k for k in lines if k not in chosen),
            key=lambda k: (len(want & grounding.keys(lines[k])),
                           len(q_keys & grounding.keys(lines[k])), k in named),
            default=None,
        )
        if best is None or not want & grounding.keys(lines[best]):
            return None
        chosen.append(best)
        if not unsaid(chosen):
            return sorted(chosen)
    return None


MAX_LINES = 3  # a sentence may rest on this many lines at most


def _cited(inner: str, lines: dict, source_hint: str | None) -> list[tuple[str, int, int]]:
    spans = []
    for span in SPAN.finditer(inner):
        start = int(span.group(1))
        end = max(start, int(span.group(2) or start))
        for src, n in lines:
            if n == start and (source_hint is None or src.endswith(source_hint)):
                spans.append((src, start, end))
                break
        else:
            spans.append((source_hint or "?", start, end))
    return spans


def _says_not_found(sentence: str) -> bool:
    return bool(NOT_FOUND.search(sentence)) and not MARKER.search(sentence)


def complete(text: str) -> str:
    """The part of a reply being written whose sentences are finished: a sentence ends where
    the next one begins, so the last one is finished only when the reply is."""
    ends = [m.start() for m in SENTENCE_END.finditer(text)]
    return text[: ends[-1]] if ends else ""


def parse_reply(text: str, passages: list[Passage], question: str = "") -> Draft:
    """Turn a model reply into a draft whose proposals cite the lines that hold each sentence.

    A sentence keeps its own marker when the lines it names say everything it says; otherwise
    the fewest retrieved lines that do are proposed. A sentence no lines support keeps what it
    named (or nothing), for ``verify`` to drop with the words that had no source.

    Each sentence is read on its own, and the reply is a refusal when its first sentence says
    NOT FOUND, so the draft of a reply's first sentences agrees with the draft of the whole:
    what was verified and shown while the reply was written is never taken back.
    """
    text = text.strip()
    parts = [s.strip() for s in SENTENCE_END.split(text) if s.strip()]
    if not parts or _says_not_found(parts[0]):
        return Draft(text, refused=True)
    lines = _lines(passages)
    q_keys = grounding.keys(question)
    context = "\n".join(dict.fromkeys(p.chunk.context for p in passages))  # PDF pages
    proposals: list[Proposal] = []
    sentences: list[str] = []
    for sentence in parts:
        n = len(sentences)
        if _says_not_found(sentence):  # "I don't know the rest.": nothing to cite
            sentences.append(sentence)
            continue
        cited = []
        for m in MARKER.finditer(sentence):
            inner = m.group(1)
            hint = inner.split(":")[0].strip() if ":" in inner else None
            cited += [(m.group(0), span) for span in _cited(inner, lines, hint)]
        claim = " ".join(MARKER.sub("", sentence).split())
        named = [(src, k) for _, (src, a, b) in cited for k in range(a, b + 1)]
        if cited and not claim:  # a bare "[L14]": that line is the answer
            claim = " ".join("\n".join(lines.get(k, "") for k in named).split())
            sentence = f"{claim} {sentence}"
        marker = cited[0][0] if cited else f"[A{n + 1}]"
        if not cited:
            sentence = f"{sentence} {marker}"
        sentences.append(sentence)
        cover = _cover(claim, question, named, lines, q_keys, context) if claim else None
        if cover is None:  # left for verify to reject, with its reason
            proposals += [Proposal(src, a, b, None, m, claim, n) for m, (src, a, b) in cited]
            continue
        proposals += [Proposal(src, k, k, None, marker, claim, n) for src, k in cover]
    return Draft(text, proposals, sentences=sentences)


def renumber(draft: Draft, citations: list, kept: set[int]) -> str:
    """The kept sentences, their markers replaced by [1], [2]... in citation order."""
    number = {(c.source, c.start_line, c.end_line): i for i, c in enumerate(citations, 1)}
    refs: dict[tuple[int, str], list[int]] = {}
    for p in draft.proposals:
        got = number.get((p.source, p.start_line, p.end_line))
        bucket = refs.setdefault((p.sentence, p.marker), [])
        if got and got not in bucket:
            bucket.append(got)
    out = []
    for n, sentence in enumerate(draft.sentences or [draft.text]):
        if n not in kept:
            continue
        for (s_n, marker), nums in refs.items():
            if s_n == n and marker:
                sentence = sentence.replace(marker, "".join(f"\x00{k}\x01" for k in nums), 1)
        out.append(MARKER.sub("", sentence).replace("\x00", "[").replace("\x01", "]"))
    text = " ".join(out)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
