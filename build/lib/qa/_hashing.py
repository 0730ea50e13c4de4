"""Content hashes and deterministic chunk ids (re-ingesting the same text yields the same ids,
so an interrupted ingest can be repeated without creating duplicates)."""

from __future__ import annotations

import hashlib


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_id(source: str, start_line: int, end_line: int, text_sha: str) -> str:
    key = f"{source}\0{start_line}\0{end_line}\0{text_sha}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
