"""qa: answers from your documents, every citation checked against the file.

The names below are imported on first use, so that `qa --help` loads none of them (the settings
alone bring pydantic).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "QA": "api",
    "Answerer": "ask.answer.base",
    "Settings": "config",
    **dict.fromkeys(["BackendError", "InputError", "ModelError", "NotIndexedError", "QAError",
                     "StoreError"], "errors"),
    **dict.fromkeys(["Answer", "Citation", "Draft", "IngestReport", "Passage", "Proposal",
                     "Status"], "types"),
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
