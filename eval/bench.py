"""Ingest and retrieval benchmark, every figure measured side by side in one run.

    python eval/bench.py [--paragraphs 2000] [--big 10000]

Compares qa's ingest with the raw embedder on the same texts (the limit) and with a plain
LlamaIndex ``VectorStoreIndex.from_documents`` using the same model (the peer); then re-ingest
of the unchanged corpus, retrieval latency on a larger index, and `qa --help` start-up.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa.evaluation.metrics import percentile

VOCAB_SEED = 11


def make_corpus(folder: Path, paragraphs: int, *, per_file: int = 20, words: int = 41) -> None:
    """Deterministic English-like paragraphs (~41 words, as MODELS.md measured)."""
    rng = random.Random(VOCAB_SEED)
    syllables = ["ka", "lo", "mi", "ter", "so", "van", "du", "rel", "pa", "nor", "gi", "ost"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(3000)]
    common = "the of and to in a is that for on was with as by".split()
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(0, paragraphs, per_file):
        paras = []
        for _ in range(min(per_file, paragraphs - f)):
            text = " ".join(rng.choice(common) if rng.random() < 0.3 else rng.choice(vocab)
                            for _ in range(words))
            paras.append(text.capitalize() + ".")
        (folder / f"doc{f // per_file:05}.txt").write_text("\n\n".join(paras) + "\n")


def bench_ingest(corpus: Path, work: Path) -> dict:
    from qa import QA
    from qa.index.embedding import embed_texts

    with QA(work / "qa-index") as qa:
        qa.embed_model  # noqa: B018 - model load is not ingest throughput
        embed_texts(["warm up"])
        t = time.perf_counter()
        report = qa.ingest(corpus)
        qa_s = time.perf_counter() - t
        t = time.perf_counter()
        again = qa.ingest(corpus)
        re_s = time.perf_counter() - t
        texts = [c for c in _chunk_texts(qa, corpus)]
    assert again.chunks == 0 and len(again.unchanged) == len(report.added)

    t = time.perf_counter()
    embed_texts(texts)
    raw_s = time.perf_counter() - t

    peer_s, peer_nodes = _llamaindex_ingest(corpus)
    n = report.chunks
    return {
        "chunks": n,
        "qa_chunks_per_s": n / qa_s,
        "raw_chunks_per_s": len(texts) / raw_s,
        "peer_s": peer_s,
        "peer_nodes": peer_nodes,
        "qa_s": qa_s,
        "reingest_s": re_s,
    }


def _chunk_texts(qa, corpus: Path) -> list[str]:
    from qa.ingest.chunking import chunk_text

    return [
        c.text
        for path in sorted(corpus.iterdir())
        for c in chunk_text(str(path), path.read_text(), max_words=qa.settings.chunk_words,
                            overlap=qa.settings.chunk_overlap)
    ]


def _llamaindex_ingest(corpus: Path) -> tuple[float, int]:
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

    from qa.index.embedding import MiniLMEmbedding

    model = MiniLMEmbedding()
    t = time.perf_counter()
    docs = SimpleDirectoryReader(str(corpus)).load_data()
    index = VectorStoreIndex.from_documents(docs, embed_model=model)
    return time.perf_counter() - t, len(index.docstore.docs)


def bench_retrieval(corpus: Path, work: Path, queries: int = 200) -> dict:
    """Retrieval latency on one index, dense and hybrid measured in turn on the same queries."""
    from qa import QA

    with QA(work / "big-index", chunk_words=45) as qa:
        report = qa.ingest(corpus)
        stored = qa.stats()["chunks"]
    rng = random.Random(5)
    texts = [p.read_text().split("\n\n") for p in sorted(corpus.iterdir())[:50]]
    asks = [" ".join(rng.choice(rng.choice(texts)).split()[:8]) for _ in range(queries)]
    out = {"index_chunks": stored, "built_in_s": report.seconds}
    for mode in ("dense", "hybrid"):
        with QA(work / "big-index", retrieval=mode) as qa:
            out[mode] = retrieval_percentiles(qa, asks)
    return out


def retrieval_percentiles(qa, asks: list[str]) -> tuple[float, float]:
    """p50 and p95 milliseconds of ``qa.ask.retrieve`` over the questions, after one warm-up."""
    qa.retrieve(asks[0])
    times = []
    for q in asks:
        t = time.perf_counter()
        qa.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
    return percentile(times, 50), percentile(times, 95)


def bench_startup(runs: int = 7) -> float:
    exe = Path(sys.executable).with_name("qa")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([str(exe), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=2000)
    parser.add_argument("--big", type=int, default=10000, help="chunks in the retrieval index")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        work = Path(tmp)
        make_corpus(work / "corpus", args.paragraphs)
        make_corpus(work / "big", args.big)
        ing = bench_ingest(work / "corpus", work)
        ret = bench_retrieval(work / "big", work)
    startup = bench_startup()
    rows = [
        ("raw embedder (limit)", f"{ing['raw_chunks_per_s']:.1f} chunks/s", ""),
        ("qa ingest", f"{ing['qa_chunks_per_s']:.1f} chunks/s",
         f"{ing['qa_chunks_per_s'] / ing['raw_chunks_per_s']:.2f} of limit (target >= 0.9)"),
        ("plain LlamaIndex from_documents", f"{ing['peer_s']:.1f} s ({ing['peer_nodes']} nodes)",
         f"qa is {ing['peer_s'] / ing['qa_s']:.2f}x faster (target > 1)"),
        ("qa full ingest", f"{ing['qa_s']:.1f} s ({ing['chunks']} chunks)", ""),
        ("qa re-ingest, unchanged", f"{ing['reingest_s']:.3f} s",
         f"{ing['reingest_s'] / ing['qa_s']:.4f} of full (target <= 0.02)"),
        *[
            (f"{mode} retrieval at {ret['index_chunks']} chunks", f"p50 {ret[mode][0]:.1f} ms",
             f"p95 {ret[mode][1]:.1f} ms (target p50 < 30 ms)")
            for mode in ("dense", "hybrid")
        ],
        ("qa --help start-up", f"{startup * 1000:.0f} ms", "target < 300 ms"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"corpus: {args.paragraphs} paragraphs of ~41 words; same embedding model everywhere")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:<28} {ratio}")


if __name__ == "__main__":
    main()
