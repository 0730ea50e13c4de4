"""Ingest throughput as the embedder scales out, side by side in one run: the packaged model
in process on 1 and 2 threads (QA_THREADS), and the same model behind a loopback
OpenAI-compatible embeddings server (QA_EMBED_URL).

    python eval/bench_threads.py [--paragraphs 800] [--repeat 2]

Every ingest is a real ``QA(index).ingest(corpus)`` of the same synthetic corpus into a fresh
index, in its own process configured by the environment alone, with the model loaded and
warmed before the clock starts; the best of ``--repeat`` runs counts (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _loopback import Served, environment
from bench import make_corpus

HERE = Path(__file__).resolve().parent


def ingest_once(corpus: Path, index: Path) -> dict:
    """One timed ingest, in this process, configured by the environment."""
    from qa import QA

    with QA(index) as qa:
        qa.embed(["warm up"])  # model load (or the server's) is not ingest throughput
        started = time.perf_counter()
        report = qa.ingest(corpus)
        seconds = time.perf_counter() - started
    return {"chunks": report.chunks, "seconds": seconds}


def measure(corpus: Path, work: Path, env: dict[str, str], repeat: int) -> dict:
    """The fastest of ``repeat`` ingests, each in a fresh process and a fresh index."""
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(dir=work) as index:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(corpus), index],
                env=environment(**env), capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])


def embed_server() -> Served:
    """``embed_server.py`` in its own process."""
    return Served(lambda port: [sys.executable, str(HERE / "embed_server.py"), "--port",
                                str(port)], environment(), seconds=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=800)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", nargs=2, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(ingest_once(Path(args.one[0]), Path(args.one[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="qa-bench-threads-") as tmp:
        work = Path(tmp)
        make_corpus(work / "corpus", args.paragraphs)
        rows = [("packaged model in process", "1", measure(
                    work / "corpus", work, {"QA_THREADS": "1"}, args.repeat)),
                ("packaged model in process", "2", measure(
                    work / "corpus", work, {"QA_THREADS": "2"}, args.repeat))]
        with embed_server() as server:
            rows.append(("loopback /v1/embeddings server (QA_EMBED_URL)", "2, in the server",
                         measure(work / "corpus", work, {"QA_EMBED_URL": server.url},
                                 args.repeat)))
    base = rows[0][2]["chunks"] / rows[0][2]["seconds"]
    print(f"{os.cpu_count()} cores; {rows[0][2]['chunks']} chunks from {args.paragraphs} "
          f"paragraphs of ~41 words; best of {args.repeat}\n")
    print("| embedder | threads | ingest | chunks/s | vs 1 thread |")
    print("|---|---|---|---|---|")
    for name, threads, r in rows:
        rate = r["chunks"] / r["seconds"]
        print(f"| {name} | {threads} | {r['seconds']:.1f} s | {rate:.1f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
