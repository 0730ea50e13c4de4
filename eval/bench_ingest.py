"""PDF ingest benchmark: qa's full ingest against its own parts, measured side by side.

    python eval/bench_ingest.py [DIR]        # default: the sec10q 10-Q PDFs

On the PDFs of DIR, in one process, one after the other:
  (a) extraction alone: ``qa.ingest.readers.read_view`` over every file (pypdfium2, in-process);
  (b) embedding alone: qa's embedder over the chunk texts qa makes of those views;
  (c) ``QA(...).ingest(DIR)`` into a temporary index: extraction in the reader child process,
      chunking, embedding, Chroma and the manifest.
The ratio pages/s of (c) / pages/s of (a)+(b), i.e. (t_a + t_b) / t_c, says how much the
index bookkeeping costs on top of the work that cannot be avoided (target: at least 0.8).
Then the same PDFs through the LlamaIndex baseline of ``qa eval --compare baseline``:
``SimpleDirectoryReader(DIR).load_data()`` (pypdf, one document per page) and
``VectorStoreIndex.from_documents`` with the same embedder.

The embedder is loaded and warmed up before any clock starts: no figure includes model load.
Each step reports wall seconds and CPU seconds (this process's threads plus the reader child
process): on a machine shared with other jobs the wall clock moves with their load, the CPU
time much less, so compare the ratio on both.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DIR = Path("/work/shared/benchmarks/sec10q/docs")


def pdfs_in(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
    if not files:
        raise SystemExit(f"no PDF files in {folder}")
    return files


def cpu() -> float:
    """CPU seconds so far of this process (all threads) and its finished children."""
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result) of ``fn()``."""
    wall, used = time.perf_counter(), cpu()
    result = fn()
    return time.perf_counter() - wall, cpu() - used, result


def extract(files: list[Path]) -> list:
    """(a): every file's view, as qa's readers make it."""
    from qa.ingest.readers import read_view

    return [read_view(f.name, f.read_bytes()) for f in files]


def chunk_texts(files: list[Path], views: list, settings) -> list[str]:
    """The texts qa embeds for these views (chunking is not part of (b)'s clock)."""
    from qa.ingest.chunking import chunk_view

    return [c.search_text for f, v in zip(files, views)
            for c in chunk_view(str(f), v, max_words=settings.chunk_words,
                                page_words=settings.page_chunk_words,
                                overlap=settings.chunk_overlap)]


def ingest(folder: Path, work: Path) -> tuple[float, float, Any]:
    """(c): ``QA.ingest`` into a fresh index (opening the index is not timed)."""
    from qa import QA

    with QA(work / "index", backend="extractive", chroma_url="") as qa:
        qa.embed_model  # noqa: B018 - constructed (and warmed up by the caller) beforehand
        return timed(lambda: qa.ingest(str(folder)))


def line(name: str, pages: int, wall: float, used: float, extra: str = "") -> str:
    rate = pages / wall if wall else float("inf")
    return f"| {name} | {pages} | {wall:.2f} | {used:.2f} | {rate:.1f} | {extra} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR,
                        help=f"folder of PDFs (default {DEFAULT_DIR})")
    parser.add_argument("--no-baseline", action="store_true", help="skip the LlamaIndex rows")
    args = parser.parse_args(argv)

    from qa.config import Settings
    from qa.index.embedding import MiniLMEmbedding

    folder = args.dir
    files = pdfs_in(folder)
    settings = Settings()
    embed_model = MiniLMEmbedding(embed_batch_size=settings.embed_batch)
    embed_model.get_text_embedding_batch(["warm up the model"])  # load time is not ingest

    t_a, c_a, views = timed(lambda: extract(files))
    pages = sum(len(v.pages) for v in views)
    texts = chunk_texts(files, views, settings)
    t_b, c_b, _ = timed(lambda: embed_model.get_text_embedding_batch(texts))
    with tempfile.TemporaryDirectory(prefix="qa-bench-ingest-") as tmp:
        t_c, c_c, report = ingest(folder, Path(tmp))

    print(f"{len(files)} PDFs, {pages} pages, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB"
          f" in {folder}")
    print()
    print("| step | pages | wall s | CPU s | pages/s (wall) | notes |")
    print("|---|---|---|---|---|---|")
    print(line("(a) extraction: read_view (pypdfium2)", pages, t_a, c_a))
    print(line("(b) embedding: qa's chunk texts", pages, t_b, c_b, f"{len(texts)} chunks"))
    print(line("(a)+(b)", pages, t_a + t_b, c_a + c_b))
    print(line("(c) qa ingest (full)", pages, t_c, c_c,
               f"{report.chunks} chunks, {len(report.skipped)} skipped"))
    if not args.no_baseline:
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

        reader = SimpleDirectoryReader(str(folder), required_exts=[".pdf"], recursive=True)
        t_l, c_l, docs = timed(reader.load_data)
        t_i, c_i, index = timed(lambda: VectorStoreIndex.from_documents(
            docs, embed_model=embed_model))
        print(line("baseline: SimpleDirectoryReader load (pypdf)", pages, t_l, c_l,
                   f"{len(docs)} documents"))
        print(line("baseline: VectorStoreIndex build", pages, t_i, c_i,
                   f"{len(index.docstore.docs)} nodes"))
        print(line("baseline: load + build", pages, t_l + t_i, c_l + c_i))
    print()
    for what, parts, whole in (("wall", t_a + t_b, t_c), ("CPU", c_a + c_b, c_c)):
        ratio = parts / whole if whole else float("nan")
        print(f"pages/s (c) / pages/s (a)+(b), {what} time: {ratio:.2f} "
              f"({'meets' if ratio >= 0.8 else 'misses'} the 0.8 target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
