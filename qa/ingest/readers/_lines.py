"""Display lines: what a citation addresses. Editor lines, with over-long ones cut.

A 5 MB line (minified text, a PDF without line breaks) would be one chunk larger than the
embedder reads and one quote larger than any prompt, so a line longer than ``MAX_LINE_CHARS``
is cut into display lines of at most that length, at a space when there is one. Lines up to
that length (every line of the SQuAD articles, the longest being 738 characters) keep their
editor numbering.
"""

from __future__ import annotations

import re

MAX_LINE_CHARS = 1000
# What no display line keeps, from any reader: control characters (PDFium marks hyphens and
# unknown glyphs with them), the soft hyphen, zero-width and byte-order marks, the
# non-characters PDFium may give, and the Unicode line and paragraph separators that another
# tool would count as line breaks (so line numbers would differ). Tabs and line ends are each
# reader's to handle.
CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b\u2028\u2029\ufeff\ufffe\uffff]")


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: split on \\n only, a trailing \\r dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def display_lines(lines: list[str], limit: int = MAX_LINE_CHARS) -> list[str]:
    return numbered_display_lines(lines, limit)[0]


def numbered_display_lines(lines: list[str],
                           limit: int = MAX_LINE_CHARS) -> tuple[list[str], list[int]]:
    """``display_lines``, and the display line number (1-based) where each line begins."""
    out: list[str] = []
    starts: list[int] = []
    for line in lines:
        starts.append(len(out) + 1)
        while len(line) > limit:
            cut = line.rfind(" ", limit // 2, limit + 1)
            if cut <= 0:
                cut = limit
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip(" ")
        out.append(line)
    return out, starts
