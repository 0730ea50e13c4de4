"""What the collections of one index folder share when they are open together: the models
(built once, on first use, under one lock), and the collections opened, closed together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

MODELS = ("embed_model", "embed_lines", "answerer")  # the parts that read no index


class Shared:
    def __init__(self, answerer: Any = None) -> None:
        self.parts: dict[Any, Any] = {"answerer": answerer} if answerer else {}
        self.lock = threading.RLock()
        self.members: dict[str, Any] = {}  # collection name -> its open ``QA``

    def part(self, collection: str, name: str, build: Callable[[], Any]) -> Any:
        """Part ``name`` of ``collection`` (a model: of all), built on first use."""
        key = name if name in MODELS else (collection, name)
        with self.lock:
            if key not in self.parts:
                self.parts[key] = build()
            return self.parts[key]

    def member(self, name: str, open_: Callable[[], Any]) -> Any:
        with self.lock:
            if name not in self.members:
                self.members[name] = open_()
            return self.members[name]

    def close(self) -> None:
        """Stop the collections' parts that hold threads (the retrievers' workers)."""
        for key, part in list(self.parts.items()):
            if isinstance(key, tuple) and (close := getattr(part, "close", None)):
                close()
