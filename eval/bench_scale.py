"""Scale benchmark: synthetic corpora of 1k, 10k and 100k chunks, each size in its own process.

    python eval/bench_scale.py [--sizes 1000 10000 100000] [--backend local] [--answers 5]

Per size: full ingest (time, chunks/s), peak RSS of the ingest against the bytes of the
vectors the store must hold, re-ingest after 1% of the files changed (as a share of the full
ingest), retrieval p50/p95 on the default (hybrid) retriever, and answer p50. A fresh process
per size keeps one size's memory out of the next one's peak. Prints a table, writes
summary.json and scale.png to --out.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import make_corpus, retrieval_percentiles

from qa.evaluation.metrics import percentile

PER_FILE = 20  # paragraphs (= chunks) per file, so 1% of files is 1% of chunks
WORDS = 24  # words per paragraph; chunk_words just above it makes every paragraph one chunk
DIMS = 384


def _rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries that over fork and exec, so a
    child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status: this benchmark needs Linux")


def _touch_one_percent(corpus: Path) -> int:
    files = sorted(corpus.iterdir())
    changed = files[:: 100][: max(1, len(files) // 100)]
    for path in changed:
        paras = path.read_text().split("\n\n")
        paras[0] = "Changed " + paras[0]
        path.write_text("\n\n".join(paras))
    return len(changed)


def measure(size: int, work: Path, backend: str, answers: int) -> dict:
    """One size, in this process: what the parent prints for that row."""
    from qa import QA
    from qa.index.embedding import embed_texts

    corpus = work / "corpus"
    make_corpus(corpus, size, per_file=PER_FILE, words=WORDS)
    options = {"chunk_words": WORDS + 6, "backend": backend, "chroma_url": ""}
    with QA(work / "index", **options) as qa:
        qa.embed_model  # noqa: B018 - model load is not ingest
        embed_texts(["warm up"])
        rss_before = _rss_mb()
        started = time.perf_counter()
        full = qa.ingest(corpus)
        full_s = time.perf_counter() - started
        changed_files = _touch_one_percent(corpus)
        started = time.perf_counter()
        again = qa.ingest(corpus)
        re_s = time.perf_counter() - started
        rss_peak = _rss_mb()
        chunks = qa.stats()["chunks"]

        rng = random.Random(7)
        paths = sorted(corpus.iterdir())
        asks = []
        for _ in range(200):
            para = rng.choice(rng.choice(paths).read_text().split("\n\n"))
            asks.append(" ".join(para.split()[2:10]))
        p50, p95 = retrieval_percentiles(qa, asks)
        qa.answerer  # noqa: B018 - loading the model is not answering
        answer_ms = [qa.ask(q).debug["total_ms"] for q in asks[:answers]]
    opened = subprocess.run(  # the store alone: a fresh process that opens the index and asks
        [sys.executable, __file__, "--open", str(work / "index"), "--query", asks[0]],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    return {
        "size": size,
        "chunks": chunks,
        "full_s": full_s,
        "chunks_per_s": full.chunks / full_s,
        "reingest_s": re_s,
        "reingest_chunks": again.chunks,
        "changed_files": changed_files,
        "reingest_ratio": re_s / full_s,
        "rss_before_mb": rss_before,
        "rss_peak_mb": rss_peak,
        "rss_open_mb": float(opened.stdout.strip().splitlines()[-1]),
        "vectors_mb": chunks * DIMS * 4 / 2**20,
        "retrieval_p50_ms": p50,
        "retrieval_p95_ms": p95,
        "answer_p50_ms": percentile(answer_ms, 50),
        "backend": backend,
    }


def open_and_ask(index: Path, query: str) -> float:
    """Peak RSS (MiB) of a process that only opens the index and retrieves once."""
    from qa import QA

    with QA(index, chroma_url="") as qa:
        qa.retrieve(query)
    return _rss_mb()


def plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["chunks"] for r in rows]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    ax = axes[0]
    ax.plot(xs, [r["chunks_per_s"] for r in rows], "o-")
    ax.set_title("ingest throughput")
    ax.set_ylabel("chunks/s")
    ax.set_ylim(bottom=0)
    ax = axes[1]
    ax.plot(xs, [r["rss_peak_mb"] for r in rows], "o-", label="ingest: peak RSS")
    ax.plot(xs, [r["rss_open_mb"] for r in rows], "s--", label="open the index and ask once")
    ax.plot(xs, [r["vectors_mb"] for r in rows], "^:", label="the vectors' own bytes")
    ax.set_title("memory")
    ax.set_ylabel("MiB")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(xs, [r["reingest_ratio"] for r in rows], "o-")
    ax.axhline(0.05, color="red", ls=":", label="target 0.05")
    ax.set_title("re-ingest after 1% changed / full ingest")
    ax.legend(fontsize=8)
    ax.set_ylim(bottom=0)
    ax = axes[3]
    ax.plot(xs, [r["retrieval_p50_ms"] for r in rows], "o-", label="p50")
    ax.plot(xs, [r["retrieval_p95_ms"] for r in rows], "s-", label="p95")
    ax.axhline(100, color="red", ls=":", label="p95 target 100 ms")
    ax.set_title("hybrid retrieval latency")
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)
    ax.set_ylim(bottom=0)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("chunks in the index")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(rows: list[dict]) -> str:
    head = ("chunks", "ingest s", "chunks/s", "ingest peak RSS MiB", "open+ask RSS MiB",
            "vectors MiB",
            "1% re-ingest / full", "retrieval p50 / p95 ms", "answer p50 ms")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        answer = "n/a" if r["answer_p50_ms"] is None else f"{r['answer_p50_ms']:.0f}"
        lines.append(
            f"| {r['chunks']} | {r['full_s']:.1f} | {r['chunks_per_s']:.1f} | "
            f"{r['rss_peak_mb']:.0f} | {r['rss_open_mb']:.0f} | "
            f"{r['vectors_mb']:.0f} | {r['reingest_ratio']:.4f} | "
            f"{r['retrieval_p50_ms']:.1f} / {r['retrieval_p95_ms']:.1f} | {answer} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--backend", default="local", help="answer backend for answer p50")
    parser.add_argument("--answers", type=int, default=5, help="questions timed per size")
    parser.add_argument("--out", type=Path,
                        default=Path("eval", "reports", f"scale-{time.strftime('%Y%m%d-%H%M%S')}"))
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (one size)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--open", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--query", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.open:
        print(open_and_ask(args.open, args.query))
        return
    if args.child:
        with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
            work = args.keep or Path(tmp)
            print(json.dumps(measure(args.child, work, args.backend, args.answers)))
        return
    rows = []
    for size in args.sizes:
        print(f"measuring {size} chunks ...", file=sys.stderr, flush=True)
        keep = ["--keep", str(args.keep / str(size))] if args.keep else []
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--backend", args.backend,
             "--answers", str(args.answers), *keep],
            check=True, stdout=subprocess.PIPE, text=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    plot(args.out / "scale.png", rows)
    print(f"synthetic paragraphs of {WORDS} words, one chunk each; answers on `{args.backend}`")
    print(table(rows))
    print(f"\nplot: {args.out / 'scale.png'}")


if __name__ == "__main__":
    main()
