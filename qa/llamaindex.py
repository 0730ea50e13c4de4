"""qa as LlamaIndex parts: a retriever and a query engine, for pipelines, tools and agents.

Nodes carry qa's provenance as metadata (source, page, start/end line as shown, score), so a
LlamaIndex user sees the same citation qa prints. The query engine's answer is qa's verified
answer: its ``source_nodes`` are the citations that passed verification, not the retrieved
chunks, and a refusal is a response with no source nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .types import Citation, Passage

if TYPE_CHECKING:
    from .api import QA


def _node(text: str, meta: dict, score: float) -> Any:
    from llama_index.core.schema import NodeWithScore, TextNode

    # excluded from what an LLM or embedder reads: the text is the document's own lines
    keys = list(meta)
    node = TextNode(text=text, metadata=meta, excluded_llm_metadata_keys=keys,
                    excluded_embed_metadata_keys=keys)
    return NodeWithScore(node=node, score=score)


def passage_node(p: Passage) -> Any:
    d = p.to_dict()
    meta = {k: d[k] for k in ("source", "page", "start_line", "end_line") if d[k] is not None}
    return _node(p.chunk.text, meta, p.score)


def citation_node(c: Citation) -> Any:
    d = c.to_dict()
    meta = {k: d[k] for k in ("source", "page", "start_line", "end_line") if d[k] is not None}
    return _node(c.quote, {**meta, "label": c.label}, c.score)


def retriever(qa: QA, *, k: int | None = None) -> Any:
    from llama_index.core.retrievers import BaseRetriever

    class QARetriever(BaseRetriever):
        """qa's hybrid retrieval (dense + BM25, fused) as a LlamaIndex retriever."""

        def _retrieve(self, query_bundle: Any) -> list:
            return [passage_node(p) for p in qa.retrieve(query_bundle.query_str, k=k)]

    return QARetriever()


def query_engine(qa: QA, *, k: int | None = None) -> Any:
    from llama_index.core.base.response.schema import Response
    from llama_index.core.query_engine import CustomQueryEngine

    class QAQueryEngine(CustomQueryEngine):
        """Answers with qa: verified citations as source nodes, or a refusal."""

        def custom_query(self, query_str: str) -> Response:
            answer = qa.ask(query_str, k=k)
            return Response(
                response=answer.text,
                source_nodes=[citation_node(c) for c in answer.citations],
                metadata={"refused": answer.refused,
                          "citations": [c.label for c in answer.citations]},
            )

    return QAQueryEngine()
