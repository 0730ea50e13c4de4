"""Prompt templates live as text files in ``prompts/`` so they can be read and tuned as text.

The package reaches them as ``qa/_prompts``, a link to ``prompts/`` in a checkout and a copy
inside an installed wheel, through ``importlib.resources`` either way.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    path = files("qa").joinpath("_prompts", f"{name}.txt")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise FileNotFoundError(f"prompt template missing: {path} ({exc.strerror})") from None


def render(name: str, **values: str) -> str:
    """Fill ``{field}`` slots without treating other braces in the values as slots."""
    text = load(name)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text
