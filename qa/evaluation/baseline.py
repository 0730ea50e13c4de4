"""The comparison system: a plain LlamaIndex pipeline over the same files, same embedder,
same answer backend, nothing of qa's own in between.

It is what a first LlamaIndex tutorial builds: ``VectorStoreIndex.from_documents`` with the
default ``SentenceSplitter`` chunks in the default in-memory store, a top-k retriever, and the
answer written from the retrieved nodes. Like a query engine's ``source_nodes``, its citations
are the retrieved nodes themselves, located in the file by their character offsets, with no
verification step, and it refuses only when the backend itself does (qa's support gate is
qa's own). So the eval shows what qa's chunking, retrieval, gate and verified line citations
buy over the default.
"""

from __future__ import annotations

import bisect
import os
import time
from typing import Any

from .._hashing import sha256_text
from ..answer.base import REFUSAL, Answerer, run
from ..documents import Skip, find_files, read_document
from ..errors import InputError
from ..readers import split_lines
from ..types import Chunk, Passage


class _File:
    """A file's text with its line starts, to turn character offsets into line numbers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = split_lines(text)
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def line_of(self, offset: int) -> int:
        """1-based line holding character ``offset``."""
        return min(bisect.bisect_right(self.starts, max(offset, 0)), len(self.lines))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Lines covering characters start..end (end exclusive), whole lines."""
        return self.line_of(start), self.line_of(max(end - 1, start))


class Baseline:
    """Build the plain index over ``corpus`` once, then answer questions like ``QA.ask``."""

    name = "baseline"

    def __init__(
        self,
        corpus: str | os.PathLike,
        *,
        embed_model: Any,
        answerer: Answerer,
        top_k: int,
        max_file_mb: float = 50.0,
    ) -> None:
        from llama_index.core import Document, VectorStoreIndex

        self._answerer = answerer
        self._files: dict[str, _File] = {}
        documents = []
        for source, path in find_files(corpus):
            try:
                doc = read_document(source, path, max_bytes=int(max_file_mb * 1e6))
            except Skip:
                continue  # qa skips the same files, so both systems see the same corpus
            text = "\n".join(doc.view.lines)
            self._files[source] = _File(text)
            # the metadata SimpleDirectoryReader would attach (embedded by default, as there)
            documents.append(
                Document(
                    text=text,
                    id_=source,
                    metadata={"file_path": source, "file_name": os.path.basename(source)},
                )
            )
        if not documents:
            raise InputError(f"baseline: no readable .txt/.md files in {os.fspath(corpus)}")
        started = time.perf_counter()
        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
        self.build_seconds = round(time.perf_counter() - started, 2)
        self.nodes = len(index.docstore.docs)
        self._retriever = index.as_retriever(similarity_top_k=top_k)
        self.unplaced = 0  # retrieved nodes whose offsets LlamaIndex did not record

    def retrieve(self, question: str) -> list[Passage]:
        """The retrieved nodes as qa Passages spanning the whole lines their characters cover."""
        passages = []
        for hit in self._retriever.retrieve(question):
            node = hit.node
            source = node.metadata.get("file_path") or node.ref_doc_id
            file = self._files.get(source)
            if file is None or node.start_char_idx is None or node.end_char_idx is None:
                self.unplaced += 1
                continue
            start, end = file.span(node.start_char_idx, node.end_char_idx)
            text = "\n".join(file.lines[start - 1 : end])
            chunk = Chunk(source, start, end, text, sha256_text(text))
            passages.append(Passage(chunk, float(hit.score or 0.0)))
        return passages

    def ask(self, question: str) -> dict[str, Any]:
        """``Answer.to_dict`` shape plus timings; the citations are the retrieved nodes."""
        started = time.perf_counter()
        passages = self.retrieve(question)
        retrieved_at = time.perf_counter()
        draft = run(self._answerer, question, passages)
        finished = time.perf_counter()
        spans = [p.to_dict() for p in passages]
        refused = draft.refused or not passages
        return {
            "answer": REFUSAL if refused else draft.text,
            "refused": refused,
            "citations": [] if refused else spans,
            "retrieved": spans,
            "proposed": None,  # no verification step: dropped share does not apply
            "dropped": None,
            "retrieval_ms": round((retrieved_at - started) * 1000, 1),
            "total_ms": round((finished - started) * 1000, 1),
        }
