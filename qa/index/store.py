"""Chroma (embedded in the index directory, or a server) behind LlamaIndex's ChromaVectorStore."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import StoreError
from ..types import Chunk

# Chroma reports usage unless told not to; nothing here may reach the network.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _client(index_dir: Path, chroma_url: str) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        except Exception as exc:  # chromadb raises bare ValueError/ConnectionError here
            raise StoreError(f"cannot reach the Chroma server at {chroma_url}: {exc}") from None
    return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=settings)


def drop(chroma_url: str, name: str) -> None:
    """Delete collection ``name`` from the Chroma server, if it was ever written to."""
    from chromadb.errors import NotFoundError

    try:
        _client(Path(), chroma_url).delete_collection(name)
    except (NotFoundError, ValueError):  # ValueError: chromadb before 1.0
        pass


def chunk_metadata(chunk: Chunk) -> dict:
    """Provenance as flat Chroma metadata; read back field by field in ``chunk_from_metadata``."""
    return {
        "source": chunk.source,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "sha256": chunk.sha256,
        "page": chunk.page,
        "page_offset": chunk.page_offset,
        "context": chunk.context,
    }


def chunk_from_metadata(meta: dict, text: str) -> Chunk:
    return Chunk(
        source=meta["source"],
        start_line=int(meta["start_line"]),
        end_line=int(meta["end_line"]),
        text=text,
        sha256=meta["sha256"],
        page=int(meta.get("page", 0)),
        page_offset=int(meta.get("page_offset", 0)),
        context=meta.get("context", ""),
    )


class Store:
    """The vector side of the index; the manifest (``manifest.py``) says which ids are live."""

    def __init__(self, index_dir: Path, *, chroma_url: str = "", collection: str,
                 read_only: bool = False) -> None:
        self.url = chroma_url
        self._index_dir = index_dir
        self._name = collection
        self._read_only = read_only
        self._collection: Any = None
        self._vector_store: Any = None

    def _connect(self) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        client = _client(self._index_dir, self.url)
        self._collection = (
            client.get_collection(self._name) if self._read_only else
            client.get_or_create_collection(self._name, metadata={"hnsw:space": "cosine"}))
        self._vector_store = ChromaVectorStore(chroma_collection=self._collection)

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a store operation; reconnect once so a restarted server is picked up again."""
        for attempt in (0, 1):
            try:
                if self._collection is None:
                    self._connect()
                return fn(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                self._collection = self._vector_store = None
                if attempt or not self.url:
                    where = self.url or str(self._index_dir / "chroma")
                    why = _one_line(exc)
                    if not self.url and "readonly database" in why:
                        why += (": the embedded store writes even to answer; make the folder "
                                "writable, or serve it with `chroma run` and set QA_CHROMA_URL")
                    raise StoreError(f"Chroma at {where} failed: {why}") from None
        raise AssertionError("unreachable")

    @property
    def vector_store(self) -> Any:
        if self._vector_store is None:
            self.call(lambda: None)
        return self._vector_store

    def add(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        """Write through LlamaIndex's ChromaVectorStore. Ids derive from content, and Chroma
        keeps the first copy of an id, so writing a chunk twice still leaves one copy."""
        if not chunks:
            return
        from llama_index.core.schema import TextNode

        keys = list(chunk_metadata(chunks[0]))
        nodes = [
            TextNode(
                id_=c.id,
                text=c.text,
                metadata=chunk_metadata(c),
                embedding=vector,
                excluded_embed_metadata_keys=keys,
                excluded_llm_metadata_keys=keys,
            )
            for c, vector in zip(chunks, embeddings)
        ]
        self.call(lambda: self._vector_store.add(nodes))

    def delete(self, ids: list[str]) -> None:
        for b in range(0, len(ids), 5000):
            part = ids[b : b + 5000]
            if part:
                self.call(lambda p=part: self._collection.delete(ids=p))

    def ids_for_source(self, source: str) -> set[str]:
        got = self.call(lambda: self._collection.get(where={"source": source}, include=[]))
        return set(got["ids"])

    def all_sources(self) -> dict[str, list[str]]:
        """source -> ids for every stored chunk (used to sweep orphans after a crash)."""
        got = self.call(lambda: self._collection.get(include=["metadatas"]))
        out: dict[str, list[str]] = {}
        for cid, meta in zip(got["ids"], got["metadatas"]):
            out.setdefault((meta or {}).get("source", ""), []).append(cid)
        return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
