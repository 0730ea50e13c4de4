"""Fit the answer-or-refuse score (qa/ask/answerability.json) on SQuAD 2.0 questions kept out
of tests.

The fit set is ``questions_full.jsonl`` minus the questions of ``questions.jsonl`` (same
articles, disjoint questions); for a seeded sample of it the evidence signals are computed on
the chosen backend (``QA.assess``: retrieval, line support and the model's yes/no judgement; no
answer is written), and two logistic models (with and without the model's judgement) are fitted
to "is the question answerable".
The threshold is chosen on the fit set: the highest one at which all of qa's refusals together
(the identifier rule's included) wrongly refuse at most ``--max-wrong`` of its answerable
questions (default 0.15, the target of the refusal issue).

    python eval/fit_answerability.py ../shared/benchmarks/squad2-dev --sample 300
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import QA  # noqa: E402
from qa.ask.answerability import WEIGHTS, probability  # noqa: E402
from qa.evaluation.dataset import load  # noqa: E402

EVIDENCE = ["support", "similarity", "lexical", "margin", "identifiers"]
WITH_LLM = EVIDENCE + ["judge"]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> np.ndarray:
    """Newton's method on the L2-regularised log loss; column 0 is the (unpenalised) bias."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + penalty * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit(rows: list[dict], names: list[str]) -> dict:
    x = np.array([[r["evidence"][n] for n in names] for r in rows], dtype=float)
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    w = fit_logistic(np.hstack([np.ones((len(x), 1)), (x - mean) / scale]), y)
    return {
        "intercept": round(float(w[0]), 6),
        "weights": {n: round(float(v), 6) for n, v in zip(names, w[1:])},
        "mean": {n: round(float(v), 6) for n, v in zip(names, mean)},
        "scale": {n: round(float(v), 6) for n, v in zip(names, scale)},
        "rows": len(rows),
    }


def choose_threshold(rows: list[dict], model: dict, max_wrong: float) -> tuple[float, list]:
    """The highest threshold at which at most ``max_wrong`` of the answerable questions are
    refused; a row the identifier rule gated is refused at every threshold."""
    scores = [(-1.0 if r["gated"] else probability(model, r["evidence"]), r["answerable"])
              for r in rows]
    pos = [s for s, a in scores if a]
    neg = [s for s, a in scores if not a]
    sweep, best = [], 0.0
    for t in np.round(np.arange(0.0, 1.0001, 0.025), 3):
        wrong = sum(s < t for s in pos) / len(pos)
        refused = sum(s < t for s in neg) / len(neg)
        sweep.append({"threshold": float(t), "wrong_refusal_answerable": round(wrong, 4),
                      "refusal_unanswerable": round(refused, 4)})
        if wrong <= max_wrong:
            best = float(t)
    return best, sweep


def collect(folder: Path, sample: int, seed: int, backend: str | None) -> list[dict]:
    test_ids = {i.id for i in load(folder / "questions.jsonl")}
    pool = [i for i in load(folder / "questions_full.jsonl") if i.id not in test_ids]
    items = sorted(random.Random(seed).sample(pool, min(sample, len(pool))),
                   key=lambda i: pool.index(i))
    rows = []
    options = {"backend": backend} if backend else {}
    with tempfile.TemporaryDirectory() as tmp, QA(
        Path(tmp) / "index", min_support=0.0, **options
    ) as qa:
        qa.ingest(folder / "docs")
        began = time.perf_counter()
        for n, item in enumerate(items, 1):
            evidence = qa.assess(item.question)
            rows.append({"id": item.id, "answerable": item.answerable,
                         "gated": bool(evidence.missing), "evidence": evidence.features()})
            if n % 25 == 0 or n == len(items):
                print(f"{n}/{len(items)} asked, {time.perf_counter() - began:.0f} s",
                      file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a benchmark folder with questions_full.jsonl")
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--backend", default=None, help="default: QA_BACKEND (local)")
    ap.add_argument("--max-wrong", type=float, default=0.15)
    ap.add_argument("--rows", type=Path, help="reuse rows saved by an earlier run")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args(argv)
    if args.rows and args.rows.exists():
        rows = [json.loads(line) for line in args.rows.read_text().splitlines()]
    else:
        rows = collect(args.folder, args.sample, args.seed, args.backend)
        if args.rows:
            args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    open_rows = [r for r in rows if not r["gated"]]
    llm_rows = [r for r in open_rows if "judge" in r["evidence"]]
    out = {"fitted_on": f"{args.folder.name}: questions_full.jsonl minus questions.jsonl, "
                        f"seeded sample of {len(rows)} (seed {args.seed})",
           "evidence": fit(open_rows, EVIDENCE)}
    if llm_rows:
        out["with_llm"] = fit(llm_rows, WITH_LLM)
    else:  # a backend without logprobs: keep the shipped LLM model
        out["with_llm"] = json.loads(WEIGHTS.read_text())["with_llm"]
    gated = [r for r in rows if r["gated"]]
    for name, model_rows in (("evidence", open_rows), ("with_llm", llm_rows)):
        if not model_rows:
            continue
        t, sweep = choose_threshold(model_rows + gated, out[name], args.max_wrong)
        out[name]["threshold"] = t
        out[name]["sweep"] = sweep
        point = next(p for p in sweep if p["threshold"] == t)
        print(f"{name}: threshold {t:g} -> refusal on unanswerable "
              f"{point['refusal_unanswerable']:.3f}, wrong refusal "
              f"{point['wrong_refusal_answerable']:.3f} (fit set, {len(model_rows)} rows + "
              f"{len(gated)} refused by the identifier rule)")
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
