"""Plain-text rendering of an answer for the terminal."""

from __future__ import annotations

from .types import Answer


def _short(quote: str, width: int = 100) -> str:
    flat = " ".join(quote.split())
    return flat if len(flat) <= width else flat[: width - 3].rstrip() + "..."


def format_answer(answer: Answer) -> str:
    lines = [answer.text]
    for i, c in enumerate(answer.citations, 1):
        lines.append(f'[{i}] {c.marked}  "{_short(c.quote)}"')
    return "\n".join(lines)
