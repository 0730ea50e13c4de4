"""Many askers at once against one `qa api`: questions per minute and latency with 1, 2 and 4
concurrent askers, side by side in one run, on the local model by default.

    python eval/bench_askers.py [--per-asker 8] [--askers 1,2,4] [--backend local]
                                [--concurrency N] [--queue N] [--json OUT]

The seed corpus (seeds/) is indexed into a throw-away folder and served by one `qa api`
process on a loopback port, started once and warmed with one question (the model's load is no
asker's wait). Then, for each number of askers in turn, each asker is a thread that asks its
``--per-asker`` seed questions (eval/datasets/seed.jsonl, each asker from its own offset, so
that askers ask different questions) one after another, with the openai client and no
retries, as soon as its previous answer came. A request the server turns away (503, the line
full: QA_QUEUE) is counted as busy, not retried. Questions per minute is the answers over the
run's wall time; the latency is each answered request's, from sending to the whole reply. The
server's QA_CONCURRENCY and QA_QUEUE are its defaults unless ``--concurrency``/``--queue``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _loopback import Served, environment  # noqa: E402

from qa.evaluation.dataset import load  # noqa: E402
from qa.evaluation.metrics import percentile  # noqa: E402

SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "eval" / "datasets" / "seed.jsonl"
QA_CLI = "import sys; from qa.cli import main; sys.exit(main())"  # this checkout's qa


def qa(*args: str) -> list[str]:
    return [sys.executable, "-c", QA_CLI, *args]


def api(index: Path, env: dict[str, str]) -> Served:
    """`qa api` over ``index`` in its own process."""
    return Served(lambda port: qa("api", "--index", str(index), "--port", str(port)), env)


def ask(url: str, question: str) -> tuple[str, float]:
    """("answered" | "busy" | "failed", seconds) for one question, no retry."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
    started = time.perf_counter()
    try:
        client.chat.completions.create(model="qa",
                                       messages=[{"role": "user", "content": question}])
        outcome = "answered"
    except openai.APIStatusError as exc:
        outcome = "busy" if exc.status_code == 503 else "failed"
    return outcome, time.perf_counter() - started


def run(url: str, questions: list[str], askers: int, per_asker: int) -> dict:
    """``askers`` threads each asking ``per_asker`` questions in turn, all started at once."""
    results: list[tuple[str, float]] = []
    lock = threading.Lock()
    stride = max(1, len(questions) // askers)

    def asker(i: int) -> None:
        for j in range(per_asker):
            got = ask(url, questions[(i * stride + j) % len(questions)])
            with lock:
                results.append(got)

    threads = [threading.Thread(target=asker, args=(i,)) for i in range(askers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    took = [s for outcome, s in results if outcome == "answered"]
    count = {o: sum(1 for outcome, _ in results if outcome == o)
             for o in ("answered", "busy", "failed")}
    return {"askers": askers, "asked": len(results), **count, "wall_s": round(wall, 1),
            "per_minute": round(len(took) / wall * 60, 1),
            "p50_s": _round(percentile(took, 50)), "p95_s": _round(percentile(took, 95))}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def table(rows: list[dict]) -> str:
    head = ("askers", "asked", "answered", "busy", "failed", "wall s", "q/min", "p50 s",
            "p95 s")
    keys = ("askers", "asked", "answered", "busy", "failed", "wall_s", "per_minute", "p50_s",
            "p95_s")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    lines += [" | ".join("-" if r[k] is None else str(r[k]) for k in keys) for r in rows]
    return "\n".join(f"| {line} |" for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-asker", type=int, default=8, help="questions each asker asks")
    parser.add_argument("--askers", default="1,2,4", help="numbers of concurrent askers")
    parser.add_argument("--backend", default="local", help="QA_BACKEND of the server")
    parser.add_argument("--concurrency", help="QA_CONCURRENCY of the server (its default)")
    parser.add_argument("--queue", help="QA_QUEUE of the server (its default)")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()
    settings = {"QA_BACKEND": args.backend}
    settings.update({k: v for k, v in (("QA_CONCURRENCY", args.concurrency),
                                       ("QA_QUEUE", args.queue)) if v})
    env = environment(**settings)
    questions = [item.question for item in load(QUESTIONS)]
    with tempfile.TemporaryDirectory() as work:
        index = Path(work) / "index"
        subprocess.run(qa("ingest", str(SEEDS), "--index", str(index)), env=env,
                       cwd=ROOT, check=True, capture_output=True)
        with api(index, env) as served:
            outcome, warm = ask(served.url, questions[0])  # the model loads here
            if outcome != "answered":
                raise SystemExit(f"the warm-up question was {outcome}")
            rows = [run(served.url, questions, int(n), args.per_asker)
                    for n in args.askers.split(",")]
    print(f"qa api, backend {args.backend}, {', '.join(f'{k}={v}' for k, v in settings.items())}"
          f"; warm-up answer {warm:.1f} s")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
