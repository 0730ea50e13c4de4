"""What an answer costs on this machine: the model's own speed, then the tokens of every model
call qa makes per question and the time of each stage, side by side for each variant in one run.

    python eval/bench_answer.py [--sec 12] [--variant NAME:SETTING=VALUE,...]
                                [--against REV] [--json OUT]

First the local model alone: its prompt speed (tokens read per second, a fresh prompt of about
300 tokens) and decode speed (tokens written per second). Then the seed questions and a sample
of sec10q questions, asked on the local backend by each variant (the default settings, and any
``--variant``, e.g. ``--variant two-lines:prompt_lines=2``, and qa as it was at git revision
``--against``, run from a worktree), each in a process of its own, question by question in
turn so that the variants share the machine's state but not llama.cpp's cache. A revision
whose trace does not count the model's calls is counted by llama.cpp's counters over the
whole question (purpose "all"). Each process first reads the fixed system prompts once (the
tokens that took are printed), as a process that serves questions has, so the figures below are
those of every question after its first. For each:
the model calls by purpose (judge, condense, answer) with the prompt tokens read (not
served from llama.cpp's cache), cached and written, each stage's time from the pipeline's
trace, and the model-limited time ``read / prompt speed + written / decode speed``, beside
the measured total. Figures from two machines compare by the model speeds printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import QA  # noqa: E402
from qa.evaluation.dataset import load  # noqa: E402
from qa.evaluation.metrics import percentile  # noqa: E402

SEC = ROOT.parent / "shared" / "benchmarks" / "sec10q"
FILLER = ("The committee met on a grey morning to read the minutes of the previous session, "
          "and each member in turn set out what the harbour works had cost. ")


def model_speed(qa: QA) -> dict[str, float]:
    """Prompt and decode speed of the local model alone, by its own counters."""
    model = qa.answerer.model  # type: ignore[attr-defined]
    stamp = f"Session {time.time_ns()}. "  # a prompt no earlier call left in the cache
    prompt = [{"role": "user", "content": stamp + FILLER * 8 + "Reply with one word."}]
    list(model.chat(prompt, max_tokens=1))
    read = model.last_usage()
    story = [{"role": "user", "content": "Tell a long story about a lighthouse keeper."}]
    list(model.chat(story, max_tokens=64))
    wrote = model.last_usage()
    return {"prompt_tokens": read.prompt_tokens,
            "prompt_tps": round(read.prompt_tokens / (read.prompt_ms / 1000), 1),
            "decode_tps": round(wrote.output_tokens / (wrote.decode_ms / 1000), 1)}


def questions(sec: int) -> list[tuple[str, str, Path]]:
    """(set, question, corpus): the seed set's answerable and unanswerable questions, and a
    fixed sample of sec10q's."""
    out = [("seed", item.question, ROOT / "seeds") for item in
           load(ROOT / "eval" / "datasets" / "seed.jsonl")]
    if sec and (SEC / "questions.jsonl").exists():
        items = load(SEC / "questions.jsonl")
        out += [("sec10q", item.question, SEC / "docs")
                for item in random.Random(7).sample(items, min(sec, len(items)))]
    return out


def measure(qa: QA, question: str) -> dict:
    began = time.perf_counter()
    answer = qa.ask(question)
    total = (time.perf_counter() - began) * 1000
    calls: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    stages: dict[str, float] = {}
    counted = False  # a revision before the trace counted model calls has no "calls"
    for step in answer.debug.get("trace", []):
        stages[step["stage"]] = stages.get(step["stage"], 0.0) + step["ms"]
        counted = counted or "calls" in step
        for call in step.get("calls", ()):
            c, u = calls[str(call["purpose"])], call["usage"]
            c[0] += 1
            c[1] += u["prompt_tokens"]
            c[2] += u["cached_tokens"]
            c[3] += u["output_tokens"]
    return {"total_ms": total, "refused": answer.refused, "calls": dict(calls),
            "stages": stages, "counted": counted}


# Asks questions of qa as it was at another revision (its package imported first, from the
# worktree) with this file's measure(); llama.cpp's counters stand in for a trace without calls.
WORKER = r"""
import json, sys
import llama_cpp
import qa
sys.path.insert(0, sys.argv[1])
from bench_answer import measure
opened = {}
for line in sys.stdin:
    job = json.loads(line)
    asker = opened.get(job["index"]) or opened.setdefault(
        job["index"], qa.QA(job["index"], backend="local", read_only=True))
    if job.get("warm"):  # each fixed system prompt read once, as a serving process reads it
        from qa import prompts
        model, read = asker.answerer.model, 0
        for kind in ("judge_system", "answer_system"):
            said = [{"role": "system", "content": prompts.load(kind)},
                    {"role": "user", "content": "."}]
            if kind == "judge_system":
                model.yes_probability(said)
            else:
                list(model.chat(said, max_tokens=1))
            usage = model.last_usage() if hasattr(model, "last_usage") else None
            read += usage.prompt_tokens if usage else 0
        print(json.dumps({"read": read}), flush=True)
        continue
    # a revision whose model counts its own calls is left alone: asking it for its context
    # here would load a third one, and evict the judge's or the answer's cached prompt
    counts = hasattr(asker.answerer.model, "last_usage")
    if not counts:
        llama, _ = asker.answerer.model._llama()
        llama_cpp.llama_perf_context_reset(llama._ctx.ctx)
    row = measure(asker, job["question"])
    if not counts:
        perf = llama_cpp.llama_perf_context(llama._ctx.ctx)
        if perf.n_p_eval or perf.n_eval:
            row["calls"]["all"] = [1, int(perf.n_p_eval), 0, int(perf.n_eval)]
    print(json.dumps(row), flush=True)
"""


class Worker:
    """qa asked one question at a time in a process of its own: from ``tree`` (a worktree of
    another revision, or this one) with ``env`` (a variant's settings, as ``QA_*``
    variables). Each process has its own llama.cpp contexts, so no variant finds in its
    cache the lines another has just read for the same question."""

    def __init__(self, tree: Path, env: dict[str, str], cleanup: bool = False) -> None:
        import subprocess

        self.tree, self.cleanup = tree, cleanup
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(Path(__file__).parent)],
                                     cwd=self.tree,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, **env, "PYTHONPATH": str(self.tree)})

    @classmethod
    def at(cls, rev: str, where: Path) -> Worker:
        """qa as it was at git revision ``rev``, from a worktree under ``where``."""
        import subprocess

        tree = where / "against"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                        str(tree), rev], check=True)
        return cls(tree, {}, cleanup=True)

    def ask(self, index: Path, question: str) -> dict:
        return self._send({"index": str(index), "question": question})

    def warm(self, index: Path) -> int:
        """Read each fixed system prompt once; the tokens that took."""
        return int(self._send({"index": str(index), "warm": True})["read"])

    def _send(self, job: dict) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        import subprocess

        self.proc.kill()
        self.proc.wait()
        if self.cleanup:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(self.tree)], check=False)


def summarise(rows: list[dict], speed: dict[str, float]) -> dict:
    answered = [r for r in rows if not r["refused"]] or rows
    per = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        for purpose, c in r["calls"].items():
            per[purpose] = [a + b for a, b in zip(per[purpose], c)]
    read = [sum(c[1] for c in r["calls"].values()) for r in answered]
    wrote = [sum(c[3] for c in r["calls"].values()) for r in answered]
    limited = [p / speed["prompt_tps"] + w / speed["decode_tps"] for p, w in zip(read, wrote)]
    stages = sorted({s for r in rows for s in r["stages"]})
    return {
        "questions": len(rows), "answered": sum(not r["refused"] for r in rows),
        "calls_per_question": {k: round(v[0] / len(rows), 2) for k, v in sorted(per.items())},
        "read_per_call": {k: round(v[1] / max(v[0], 1)) for k, v in sorted(per.items())},
        "cached_per_call": {k: round(v[2] / max(v[0], 1)) for k, v in sorted(per.items())},
        "prompt_tokens_read_per_answer": round(statistics.mean(read), 1),
        "output_tokens_per_answer": round(statistics.mean(wrote), 1),
        "model_limited_s_p50": round(statistics.median(limited), 2),
        "total_s_p50": round(statistics.median(r["total_ms"] for r in answered) / 1000, 2),
        "total_s_p95": round(percentile([r["total_ms"] for r in answered], 95) / 1000, 2),
        "stage_ms_p50": {s: round(statistics.median(r["stages"].get(s, 0.0) for r in rows), 1)
                         for s in stages},
    }


def variants(specs: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {"default": {}}
    for spec in specs:
        name, _, settings = spec.partition(":")
        out[name] = dict(kv.split("=", 1) for kv in settings.split(",") if kv)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sec", type=int, default=12, help="sec10q questions sampled (0: none)")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME:SETTING=VALUE,... asked beside the default settings")
    ap.add_argument("--against", help="a git revision asked beside the working tree")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()
    asked = questions(args.sec)
    with tempfile.TemporaryDirectory() as tmp:
        indexes: dict[Path, Path] = {}
        for corpus in sorted({c for _, _, c in asked}):
            index = indexes[corpus] = Path(tmp) / corpus.name
            with QA(index, backend="extractive") as builder:
                builder.ingest(corpus)
        with QA(next(iter(indexes.values())), backend="local", read_only=True) as first:
            speed = model_speed(first)
        print(f"model alone: prompt {speed['prompt_tps']} tokens/s "
              f"(a {speed['prompt_tokens']}-token prompt), decode {speed['decode_tps']} tokens/s")
        workers = {name: Worker(ROOT, {f"QA_{k.upper()}": v for k, v in settings.items()})
                   for name, settings in variants(args.variant).items()}
        if args.against:
            workers[args.against] = Worker.at(args.against, Path(tmp))
        rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
        try:
            for name, worker in workers.items():
                print(f"{name}: fixed system prompts read once per process, "
                      f"{worker.warm(indexes[asked[0][2]])} tokens")
            for n, (kind, question, corpus) in enumerate(asked, 1):
                for name, worker in workers.items():  # in turn: they share the machine's state
                    rows[name, kind].append(worker.ask(indexes[corpus], question))
                print(f"  {n}/{len(asked)} asked", file=sys.stderr, flush=True)
        finally:
            for worker in workers.values():
                worker.close()
    table = {f"{name} / {kind}": summarise(r, speed) for (name, kind), r in rows.items()}
    keys = [k for k in next(iter(table.values())) if not isinstance(
        next(iter(table.values()))[k], dict)]
    print("\n| measure | " + " | ".join(table) + " |")
    print("|---|" + "---|" * len(table))
    for k in keys:
        print(f"| {k} | " + " | ".join(str(t[k]) for t in table.values()) + " |")
    for k in ("calls_per_question", "read_per_call", "cached_per_call", "stage_ms_p50"):
        for sub in sorted({s for t in table.values() for s in t[k]}):
            print(f"| {k}: {sub} | " + " | ".join(str(t[k].get(sub, "")) for t in
                                                 table.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps({"model": speed, "variants": table}, indent=1))


if __name__ == "__main__":
    main()
