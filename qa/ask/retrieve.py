"""Retrieval: dense (a LlamaIndex retriever over Chroma) and keyword (BM25), fused by rank.

Both lists only ever hold chunks the manifest has committed, so orphans of an interrupted
ingest stay invisible.
"""

from __future__ import annotations

import dataclasses
import math
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .._hashing import sha256_text
from ..config import Settings
from ..errors import InputError
from ..index.manifest import Manifest
from ..index.store import Store, chunk_from_metadata
from ..types import Chunk, Passage
from .support import RRF_K


def whole_pages(passages: list[Passage], manifest: Manifest, limit: int) -> list[Passage]:
    """The first ``limit`` passages, each PDF passage widened to its whole page and a page
    taken once, in the order first retrieved.

    A filing's figures sit in tables whose heading, columns and rows a 200-word chunk splits
    apart, and the income statement answers a dozen questions: a chunk finds the page, the
    page is the passage. Other files keep their chunks.
    """
    out: list[Passage] = []
    seen: set[tuple[str, int]] = set()
    pages: dict[tuple[str, int], list[Chunk]] = {}

    def page(source: str, number: int) -> list[Chunk]:
        if (source, number) not in pages:
            pages[source, number] = manifest.page_chunks(source, number) if number > 0 else []
        return pages[source, number]

    for p in passages:
        if len(out) == limit:
            break
        c = p.chunk
        if c.page and (c.source, c.page) in seen:
            continue
        parts = page(c.source, c.page) if c.page else []
        if parts:
            seen.add((c.source, c.page))
            lines = dict(_numbered(parts))
            first, last = min(lines), max(lines)
            text = "\n".join(lines.get(n, "") for n in range(first, last + 1))  # gaps are blank
            neighbours = [_edges(page(c.source, c.page + d)) for d in (-1, 1)]
            running = tuple(n for n, line in _edges(parts)
                            if any(_masked(line) == _masked(other)
                                   for edges in neighbours for _, other in edges))
            p = dataclasses.replace(p, chunk=dataclasses.replace(
                c, start_line=first, end_line=last, text=text, sha256=sha256_text(text),
                running=running))
        out.append(p)
    return out


def _numbered(parts: list[Chunk]) -> list[tuple[int, str]]:
    """A page's lines from its chunks, by file line number (overlapping lines repeat)."""
    return [(n, line) for part in parts for n, line in enumerate(part.lines(), part.start_line)]


def _edges(parts: list[Chunk]) -> list[tuple[int, str]]:
    """A page's first and last non-blank lines (by file line number), from its chunks."""
    lines = [(n, line) for n, line in _numbered(parts) if line.strip()]
    return lines[:1] + lines[-1:] if len(lines) > 1 else []


def _masked(line: str) -> str:
    """A running header or footer repeats from page to page but for its numbers."""
    return re.sub(r"\d+", "#", line.strip())


class DenseRetriever:
    def __init__(
        self, store: Store, manifest: Manifest, embed_model: Any, *, embed_query: Any
    ) -> None:
        self._store = store
        self._manifest = manifest
        self._embed_model = embed_model
        # A cached embed: the line scorer then finds this question's vector already computed.
        self._embed_query = embed_query
        self._retrievers: dict[tuple[int, int], Any] = {}

    def _retriever(self, k: int) -> Any:
        """One LlamaIndex retriever per store connection and k (a reconnect makes a new one)."""
        from llama_index.core import VectorStoreIndex

        vector_store = self._store.vector_store
        key = (id(vector_store), k)
        if key not in self._retrievers:
            index = VectorStoreIndex.from_vector_store(vector_store, embed_model=self._embed_model)
            self._retrievers = {
                **{kk: r for kk, r in self._retrievers.items() if kk[0] == id(vector_store)},
                key: index.as_retriever(similarity_top_k=k),
            }
        return self._retrievers[key]

    def retrieve(self, question: str, k: int) -> list[Passage]:
        # Extra candidates so that hidden orphans cannot push live chunks out of the top k.
        retriever = self._retriever(k + 4)
        from llama_index.core.schema import QueryBundle

        query = QueryBundle(question, embedding=self._embed_query([question])[0])
        hits = self._store.call(retriever.retrieve, query)
        live = self._manifest.known(h.node.node_id for h in hits)
        # A record deleted and written again by a concurrent ingest can come back from the
        # vector index with its metadata already gone: it is not a passage to read yet.
        passages = [
            Passage(chunk_from_metadata(h.node.metadata, h.node.get_content()), _cosine(h.score))
            for h in hits
            if h.node.node_id in live and "source" in h.node.metadata
        ]
        return passages[:k]


class HybridRetriever:
    """Dense and BM25 candidates fused with reciprocal rank fusion.

    A passage's score is its fused score scaled to [0, 1]: 1.0 means first in both lists.
    """

    def __init__(self, dense: DenseRetriever, manifest: Manifest, *, candidates: int = 20):
        self._dense = dense
        self._manifest = manifest
        self._candidates = candidates
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qa-bm25")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def retrieve(self, question: str, k: int) -> list[Passage]:
        n = max(k, self._candidates)
        # BM25 (SQLite) and the dense search (ONNX + Chroma) both release the GIL: overlap them.
        keyword_future = self._pool.submit(self._manifest.keyword_search, question, n)
        dense = self._dense.retrieve(question, n)
        keyword = keyword_future.result()
        fused: dict[str, float] = {}
        by_id: dict[str, Passage] = {}
        for rank, p in enumerate(dense):
            by_id[p.chunk.id] = p
            fused[p.chunk.id] = fused.get(p.chunk.id, 0.0) + 1 / (RRF_K + rank + 1)
        for rank, (chunk, _bm25) in enumerate(keyword):
            by_id.setdefault(chunk.id, Passage(chunk, 0.0))
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1 / (RRF_K + rank + 1)
        best = 2 / (RRF_K + 1)
        order = sorted(fused, key=lambda cid: -fused[cid])
        return [Passage(by_id[cid].chunk, fused[cid] / best) for cid in order[:k]]


def _cosine(similarity: float | None) -> float:
    """ChromaVectorStore reports exp(-distance); on a cosine collection that is exp(cos - 1)."""
    return 1.0 + math.log(similarity) if similarity else 0.0


def make_retriever(settings: Settings, store: Any, manifest: Any, embed_model: Any,
                   embed_query: Any) -> Any:
    """The configured retriever (``QA_RETRIEVAL``): hybrid (dense and BM25, fused) or dense."""
    dense = DenseRetriever(store, manifest, embed_model, embed_query=embed_query)
    if settings.retrieval == "dense":
        return dense
    if settings.retrieval == "hybrid":
        return HybridRetriever(dense, manifest, candidates=settings.candidates)
    raise InputError(f"unknown retrieval {settings.retrieval!r}: choose hybrid or dense")
