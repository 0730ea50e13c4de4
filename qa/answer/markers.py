"""Line-marked passages for the prompt, and the model's [L#] markers parsed back into proposals.

A small model often names the wrong line of the right passage, or none at all. Each sentence of
the reply is therefore aligned: its marker is kept when the cited lines support the sentence,
and otherwise the retrieved line that best supports it (sentence words first, question words to
break ties) is proposed instead, so citations name the fewest lines that hold the text. Nothing
is trusted here: every proposal still goes through ``verify``.
"""

from __future__ import annotations

import re

from ..text import content_terms
from ..types import Draft, Passage, Proposal
from ..verify import MIN_GROUNDING

_RANGE = r"L\d+(?:\s*[-–]\s*L?\d+)?"
# [L30]  [L12-L14]  [L12-14]  [L3, L5]  [file.txt:L30]
MARKER = re.compile(rf"\[((?:[^\[\]\n]*?:)?\s*{_RANGE}(?:\s*,\s*{_RANGE})*)\]")
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


def _grounding(claim: set[str], text: str) -> float:
    return len(claim & content_terms(text)) / len(claim) if claim else 1.0


def _best_line(claim: set[str], question: set[str], lines: dict) -> tuple[str, int] | None:
    def score(key: tuple[str, int]) -> tuple[int, int]:
        terms = content_terms(lines[key])
        return len(claim & terms), len(question & terms)

    if not lines or not claim:
        return None
    best = max(lines, key=score)
    return best if _grounding(claim, lines[best]) >= MIN_GROUNDING else None


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


def parse_reply(text: str, passages: list[Passage], question: str = "") -> Draft:
    """Turn a model reply into a draft whose proposals cite the lines that hold each sentence."""
    text = text.strip()
    if not text or (NOT_FOUND.search(text) and not MARKER.search(text)):
        return Draft(text, refused=True)
    lines = _lines(passages)
    q_terms = content_terms(question)
    proposals: list[Proposal] = []
    out_text = text
    for n, sentence in enumerate(s for s in SENTENCE_END.split(text) if s.strip()):
        markers = list(MARKER.finditer(sentence))
        claim_text = MARKER.sub("", sentence).strip()
        claim = content_terms(claim_text) - q_terms or content_terms(claim_text)
        cited = []
        for m in markers:
            inner = m.group(1)
            hint = inner.split(":")[0].strip() if ":" in inner else None
            cited += [(m.group(0), span) for span in _cited(inner, lines, hint)]
        quote = "\n".join(
            lines.get((src, k), "") for _, (src, a, b) in cited for k in range(a, b + 1)
        )
        if cited and not claim_text and quote.strip():  # a bare "[L14]": that line is the answer
            claim_text = " ".join(quote.split())
            claim = content_terms(claim_text)
            out_text = out_text.replace(sentence.strip(), f"{claim_text} {sentence.strip()}", 1)
        if cited and _grounding(claim, quote) >= MIN_GROUNDING:
            proposals += [Proposal(src, a, b, None, marker, claim_text) for marker, (src, a, b)
                          in cited]
            continue
        best = _best_line(claim, q_terms, lines)
        if best is None:
            proposals += [Proposal(src, a, b, None, marker, claim_text) for marker, (src, a, b)
                          in cited]  # left for verify to reject, with its reason
            continue
        marker = cited[0][0] if cited else f"[A{n + 1}]"
        if not cited:
            out_text = out_text.replace(sentence.rstrip(), f"{sentence.rstrip()} {marker}", 1)
        proposals.append(Proposal(best[0], best[1], best[1], None, marker, claim_text))
    return Draft(out_text, proposals)


def renumber(draft: Draft, citations: list) -> str:
    """Replace the answerer's markers with [1], [2]... in citation order; drop dead markers."""
    number = {(c.source, c.start_line, c.end_line): i for i, c in enumerate(citations, 1)}
    by_marker: dict[str, list[int]] = {}
    for p in draft.proposals:
        n = number.get((p.source, p.start_line, p.end_line))
        refs = by_marker.setdefault(p.marker, [])
        if n and n not in refs:
            refs.append(n)
    text = draft.text
    for marker, refs in by_marker.items():
        if marker:
            text = text.replace(marker, "".join(f"\x00{n}\x01" for n in refs))
    text = MARKER.sub("", text).replace("\x00", "[").replace("\x01", "]")
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
