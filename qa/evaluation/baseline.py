"""The comparison system: a plain LlamaIndex pipeline over the same files, same embedder,
same answer backend, nothing of qa's own in between.

It is what a first LlamaIndex tutorial builds: ``VectorStoreIndex.from_documents`` with the
default ``SentenceSplitter`` chunks in the default in-memory store, a top-k retriever, and the
answer written from the retrieved nodes. PDFs are read as ``SimpleDirectoryReader`` reads
them by default (llama-index-readers-file's ``PDFReader``: pypdf, one document per page with
``page_label`` and the file's metadata); text files get the metadata it would attach. Like a
query engine's ``source_nodes``, its citations are the retrieved nodes themselves, with no
verification step: in a text file the whole lines their character offsets cover, in a PDF
the node's own text on its page. It refuses only when the backend itself does (qa's support
gate is qa's own). So the eval shows what qa's reading, chunking, retrieval, gate and
verified line citations buy over the default.
"""

from __future__ import annotations

import bisect
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._hashing import sha256_text
from ..ask.answer.base import REFUSAL, Answerer, run
from ..errors import BackendError, InputError
from ..ingest.documents import Skip, find_files, read_document
from ..ingest.readers import kind_of, split_lines
from ..types import Chunk, Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import Document as LlamaDocument


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
        embed_model: BaseEmbedding,
        answerer: Answerer,
        top_k: int,
        max_file_mb: float = 50.0,
    ) -> None:
        from llama_index.core import VectorStoreIndex

        self._answerer = answerer
        started = time.perf_counter()
        documents = self._load(corpus, max_bytes=int(max_file_mb * 1e6))
        self.load_seconds = round(time.perf_counter() - started, 2)
        if not documents:
            raise InputError(f"baseline: no readable files in {os.fspath(corpus)}")
        self.documents = len(documents)
        started = time.perf_counter()
        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
        self.build_seconds = round(time.perf_counter() - started, 2)
        self.nodes = len(index.docstore.docs)
        self._retriever = index.as_retriever(similarity_top_k=top_k)
        self.unplaced = 0  # retrieved nodes whose offsets LlamaIndex did not record

    def _load(self, corpus: str | os.PathLike, *, max_bytes: int) -> list[LlamaDocument]:
        """The LlamaIndex documents: text files from qa's view with the metadata
        SimpleDirectoryReader would attach, PDFs through SimpleDirectoryReader itself."""
        from llama_index.core import Document, SimpleDirectoryReader

        self._files: dict[str, _File] = {}  # document id -> its text, to place nodes in it
        self._pdf_sources: dict[str, str] = {}  # SimpleDirectoryReader's file_path -> source
        documents = []
        pdfs: list[str] = []
        for source, path in find_files(corpus):
            if isinstance(path, Skip):
                continue  # qa skips the same files, so both systems see the same corpus
            if kind_of(path.name) == "pdf":
                try:
                    too_large = path.stat().st_size > max_bytes
                except OSError:
                    continue
                if not too_large:
                    pdfs.append(source)
                continue
            try:
                doc = read_document(source, path, max_bytes=max_bytes)
            except Skip:
                continue
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
        if pdfs:
            self._pdf_sources = {str(Path(s)): s for s in pdfs}
            for page in SimpleDirectoryReader(input_files=pdfs).load_data(show_progress=False):
                self._files[page.id_] = _File(page.text)
                documents.append(page)
        return documents

    def retrieve(self, question: str) -> list[Passage]:
        """The retrieved nodes as qa Passages: in a text file spanning the whole lines their
        characters cover; in a PDF the node's text, its lines numbered within its page."""
        from llama_index.core.schema import TextNode

        passages = []
        for hit in self._retriever.retrieve(question):
            node = hit.node
            doc_id = node.ref_doc_id or ""
            file_path: str = node.metadata.get("file_path") or doc_id
            pdf_source = self._pdf_sources.get(file_path)
            file = self._files.get(doc_id if pdf_source else file_path)
            if (file is None or not isinstance(node, TextNode)  # a text node has the offsets
                    or node.start_char_idx is None or node.end_char_idx is None):
                self.unplaced += 1
                continue
            start, end = file.span(node.start_char_idx, node.end_char_idx)
            if pdf_source:
                label = str(node.metadata.get("page_label", ""))
                text = node.get_content()
                chunk = Chunk(pdf_source, start, end, text, sha256_text(text),
                              page=int(label) if label.isdigit() else 0)
            else:
                text = "\n".join(file.lines[start - 1 : end])
                chunk = Chunk(file_path, start, end, text, sha256_text(text))
            passages.append(Passage(chunk, float(hit.score or 0.0)))
        return passages

    def ask(self, question: str) -> dict[str, Any]:
        """``Answer.to_dict`` shape plus timings; the citations are the retrieved nodes."""
        started = time.perf_counter()
        passages = self.retrieve(question)
        retrieved_at = time.perf_counter()
        spans = [p.to_dict() for p in passages]
        try:
            draft = run(self._answerer, question, passages)
        except BackendError as exc:  # e.g. five whole pages over the local model's window:
            # a wrong answer, but what was retrieved still counts for the retrieval metrics
            return {"answer": "", "refused": False, "citations": [], "retrieved": spans,
                    "proposed": None, "dropped": None, "error": str(exc),
                    "retrieval_ms": round((retrieved_at - started) * 1000, 1),
                    "total_ms": round((time.perf_counter() - started) * 1000, 1)}
        finished = time.perf_counter()
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
