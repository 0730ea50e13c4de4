"""Dense retrieval: a LlamaIndex retriever over the Chroma store, trimmed to committed chunks."""

from __future__ import annotations

import math
from typing import Any

from .manifest import Manifest
from .store import Store, chunk_from_metadata
from .types import Passage

# Extra candidates fetched so that orphans of an interrupted ingest, which the manifest hides,
# cannot push live chunks out of the top k.
SPARE = 4


class DenseRetriever:
    def __init__(self, store: Store, manifest: Manifest, embed_model: Any) -> None:
        self._store = store
        self._manifest = manifest
        self._embed_model = embed_model

    def retrieve(self, question: str, k: int) -> list[Passage]:
        from llama_index.core import VectorStoreIndex

        index = VectorStoreIndex.from_vector_store(
            self._store.vector_store, embed_model=self._embed_model
        )
        retriever = index.as_retriever(similarity_top_k=k + SPARE)
        hits = self._store.call(retriever.retrieve, question)
        live = self._manifest.known(h.node.node_id for h in hits)
        passages = [
            Passage(chunk_from_metadata(h.node.metadata, h.node.get_content()), _cosine(h.score))
            for h in hits
            if h.node.node_id in live
        ]
        return passages[:k]


def _cosine(similarity: float | None) -> float:
    """ChromaVectorStore reports exp(-distance); on a cosine collection that is exp(cos - 1)."""
    return 1.0 + math.log(similarity) if similarity else 0.0
