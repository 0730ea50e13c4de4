"""Content hashes and deterministic chunk ids (re-ingesting the same text yields the same ids,
so an interrupted ingest can be repeated without creating duplicates)."""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike) -> str:
    """The file's sha256, read in 1 MB blocks (a large PDF is never held whole for this)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_id(source: str, start_line: int, end_line: int, text_sha: str) -> str:
    key = f"{source}\0{start_line}\0{end_line}\0{text_sha}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
