"""Plain text and Markdown: the file's own lines."""

from __future__ import annotations

from . import View
from ._lines import display_lines, split_lines
from ._skip import Skip


def read_text(raw: bytes) -> View:
    if b"\0" in raw[:8192]:
        raise Skip("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Skip(f"not valid UTF-8 (byte {exc.start}); convert it to UTF-8") from None
    return View(display_lines(split_lines(text)))
