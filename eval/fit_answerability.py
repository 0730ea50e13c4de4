"""Fit the answer-or-refuse score (qa/ask/answerability.json) on SQuAD 2.0 questions kept out
of tests and on one half of each check set of another kind of document.

The SQuAD fit set is ``questions_full.jsonl`` minus the questions of ``questions.jsonl`` (same
articles, disjoint questions). Each ``--mix KIND=DATASET:CORPUS`` adds a check set (tables,
forms and reports, filings), split by document: the questions on one half of its files (and
one half of its unanswerable questions) are fitted on, the other half is only measured. For
every question the evidence signals are computed on the chosen backend (``QA.assess``:
retrieval, line support and the model's yes/no judgement; no answer is written), and two
logistic models (with and without the model's judgement) are fitted to "is the question
answerable". The threshold is chosen on the fit rows: the highest one at which all of qa's
refusals together (the identifier rule's included) wrongly refuse at most ``--max-wrong`` of
the answerable ones (default 0.15, the target of the refusal issue).

Each ``--copy KIND=FOLDER`` is the same benchmark over text of another shape
(``eval/paragraphs.py``: a paragraph a line), fitted from its own pool and measured on its
own sample as the folder is.

Printed: the area under the ROC curve and the refusals at the operating point per kind of
document, on the measured halves (SQuAD: a sample of ``questions.jsonl``), for the shipped
model and the new one, side by side.

    python eval/fit_answerability.py ../shared/benchmarks/squad2-dev --sample 400 \
        --mix tables=eval/datasets/tables_check.jsonl:eval/corpora/tables ...
"""

from __future__ import annotations

import argparse
import hashlib
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
from qa.evaluation.dataset import Item, load  # noqa: E402

EVIDENCE = ["support", "similarity", "lexical", "margin", "identifiers"]
WITH_LLM = EVIDENCE + ["judge"]


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1.0,
                 steps: int = 50) -> np.ndarray:
    """Newton's method on the weighted, L2-regularised log loss; column 0 is the
    (unpenalised) bias."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (weight * (p - y)) + penalty * w
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def weights(rows: list[dict]) -> np.ndarray:
    """Each kind of document weighs as much as any other, however many rows it has."""
    count: dict[str, int] = {}
    for r in rows:
        count[r["kind"]] = count.get(r["kind"], 0) + 1
    return np.array([len(rows) / (len(count) * count[r["kind"]]) for r in rows])


def fit(rows: list[dict], names: list[str]) -> dict:
    x = np.array([[r["evidence"][n] for n in names] for r in rows], dtype=float)
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    w = fit_logistic(np.hstack([np.ones((len(x), 1)), (x - mean) / scale]), y, weights(rows))
    return {
        "intercept": round(float(w[0]), 6),
        "weights": {n: round(float(v), 6) for n, v in zip(names, w[1:])},
        "mean": {n: round(float(v), 6) for n, v in zip(names, mean)},
        "scale": {n: round(float(v), 6) for n, v in zip(names, scale)},
        "rows": len(rows),
    }


def choose_threshold(rows: list[dict], model: dict, max_wrong: float) -> tuple[float, list]:
    """The highest threshold at which at most ``max_wrong`` of the answerable questions are
    refused, each kind of document weighing alike; a row the identifier rule gated is
    refused at every threshold."""
    scores = [-1.0 if r["gated"] else probability(model, r["evidence"]) for r in rows]
    weight = weights(rows)
    pos = [(s, w) for s, w, r in zip(scores, weight, rows) if r["answerable"]]
    neg = [(s, w) for s, w, r in zip(scores, weight, rows) if not r["answerable"]]
    sweep, best = [], 0.0
    for t in np.round(np.arange(0.0, 1.0001, 0.025), 3):
        wrong = sum(w for s, w in pos if s < t) / sum(w for _, w in pos)
        refused = sum(w for s, w in neg if s < t) / sum(w for _, w in neg)
        sweep.append({"threshold": float(t), "wrong_refusal_answerable": round(wrong, 4),
                      "refusal_unanswerable": round(refused, 4)})
        if wrong <= max_wrong:
            best = float(t)
    return best, sweep


def half(item: Item) -> int:
    """0: fitted on, 1: measured. By the question's file, so that no document is in both;
    an unanswerable question without one by its id."""
    key = item.source or (item.sources[0] if item.sources else "") or item.id
    return hashlib.sha256(Path(key).name.encode()).digest()[0] % 2


def collect(items: list[Item], corpus: Path, index: Path, backend: str | None, kind: str,
            part: str) -> list[dict]:
    """The evidence of each question, asked over ``corpus`` indexed in ``index``."""
    rows = []
    options = {"backend": backend} if backend else {}
    with QA(index, min_support=0.0, **options) as qa:
        qa.ingest(corpus)
        began = time.perf_counter()
        for n, item in enumerate(items, 1):
            evidence = qa.assess(item.question)
            rows.append({"id": item.id, "kind": kind, "part": part,
                         "answerable": item.answerable, "gated": bool(evidence.missing),
                         "evidence": evidence.features()})
            if n % 25 == 0 or n == len(items):
                print(f"{kind} {part}: {n}/{len(items)} asked, "
                      f"{time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    return rows


def benchmark(args: argparse.Namespace, folder: Path, root: Path, kind: str) -> list[dict]:
    """A SQuAD-shaped folder: its pool (``questions_full.jsonl`` minus ``questions.jsonl``)
    sampled and fitted on, a sample of ``questions.jsonl`` measured."""
    test_ids = {i.id for i in load(folder / "questions.jsonl")}
    pool = [i for i in load(folder / "questions_full.jsonl") if i.id not in test_ids]
    fit_items = sorted(random.Random(args.seed).sample(pool, min(args.sample, len(pool))),
                       key=lambda i: pool.index(i))
    rows = collect(fit_items, folder / "docs", root / kind, args.backend, kind, "fit")
    measured = load(folder / "questions.jsonl", sample=args.measure)
    return rows + collect(measured, folder / "docs", root / kind, args.backend, kind, "measure")


def gather(args: argparse.Namespace, root: Path) -> list[dict]:
    rows = benchmark(args, args.folder, root, "prose")
    for spec in args.copy:  # the same questions over text of another shape
        kind, _, folder = spec.partition("=")
        rows += benchmark(args, Path(folder), root, kind)
    for spec in args.mix:
        kind, _, paths = spec.partition("=")
        dataset, _, corpus = paths.partition(":")
        items = load(dataset)
        for part, n in (("fit", 0), ("measure", 1)):
            rows += collect([i for i in items if half(i) == n], Path(corpus), root / kind,
                            args.backend, kind, part)
    return rows


def auc(scores: list[float], labels: list[bool]) -> float | None:
    """The probability that an answerable question scores above an unanswerable one."""
    pos = [s for s, a in zip(scores, labels) if a]
    neg = [s for s, a in zip(scores, labels) if not a]
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def report(rows: list[dict], models: dict[str, dict], name: str) -> None:
    """AUC and refusals per kind on the measured rows, one line per model."""
    print(f"\n{name}: measured halves (AUC; refused of unanswerable / of answerable)")
    for kind in dict.fromkeys(r["kind"] for r in rows):
        part = [r for r in rows if r["kind"] == kind and r["part"] == "measure"
                and (name == "evidence" or "judge" in r["evidence"])]
        if not part:
            continue
        cells = []
        for label, model in models.items():
            scores = [-1.0 if r["gated"] else probability(model, r["evidence"]) for r in part]
            t = model["threshold"]
            labels = [r["answerable"] for r in part]
            refused = [s < t for s in scores]
            pos, neg = max(sum(labels), 1), max(len(labels) - sum(labels), 1)
            area = auc(scores, labels)
            cells.append(f"{label} AUC {'n/a' if area is None else f'{area:.3f}'}, "
                         f"{sum(r for r, a in zip(refused, labels) if not a) / neg:.2f} / "
                         f"{sum(r for r, a in zip(refused, labels) if a) / pos:.2f}")
        answerable = sum(r["answerable"] for r in part)
        print(f"  {kind:8} {len(part):4} ({answerable} answerable): " + " | ".join(cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a benchmark folder with questions_full.jsonl")
    ap.add_argument("--sample", type=int, default=400, help="SQuAD questions fitted on")
    ap.add_argument("--measure", type=int, default=300, help="SQuAD test questions measured")
    ap.add_argument("--mix", action="append", default=[], metavar="KIND=DATASET:CORPUS",
                    help="a check set of another kind of document, split by file")
    ap.add_argument("--copy", action="append", default=[], metavar="KIND=FOLDER",
                    help="the benchmark's questions over text of another shape (e.g. "
                         "eval/paragraphs.py's), fitted and measured as the folder is")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--backend", default=None, help="default: QA_BACKEND (local)")
    ap.add_argument("--max-wrong", type=float, default=0.15)
    ap.add_argument("--index-root", type=Path, help="keep the indexes here (one per kind)")
    ap.add_argument("--rows", type=Path, help="reuse rows saved by an earlier run")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args(argv)
    if args.rows and args.rows.exists():
        rows = [json.loads(line) for line in args.rows.read_text().splitlines()]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = gather(args, args.index_root or Path(tmp))
        if args.rows:
            args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    shipped = json.loads(WEIGHTS.read_text())
    fitting = [r for r in rows if r["part"] == "fit"]
    open_rows = [r for r in fitting if not r["gated"]]
    llm_rows = [r for r in open_rows if "judge" in r["evidence"]]
    kinds = sorted({r["kind"] for r in fitting})
    copies = [spec.partition("=")[0] for spec in args.copy]
    mixed = [k for k in kinds if k != "prose" and k not in copies]
    out = {"fitted_on": f"{args.folder.name}: questions_full.jsonl minus questions.jsonl, "
                        f"seeded sample of {args.sample} (seed {args.seed})"
                        + "".join(f"; the same over the copy '{k}'" for k in copies)
                        + (f"; the fit half (by file) of each of: {', '.join(mixed)}"
                           if mixed else ""),
           "evidence": fit(open_rows, EVIDENCE)}
    out["with_llm"] = fit(llm_rows, WITH_LLM) if llm_rows else shipped["with_llm"]
    gated = [r for r in fitting if r["gated"]]
    for name, model_rows in (("evidence", open_rows), ("with_llm", llm_rows)):
        if not model_rows:
            continue
        t, sweep = choose_threshold(model_rows + gated, out[name], args.max_wrong)
        out[name]["threshold"] = t
        out[name]["sweep"] = sweep
        point = next(p for p in sweep if p["threshold"] == t)
        print(f"{name}: threshold {t:g} -> refusal on unanswerable "
              f"{point['refusal_unanswerable']:.3f}, wrong refusal "
              f"{point['wrong_refusal_answerable']:.3f} (fit rows, {len(model_rows)} + "
              f"{len(gated)} refused by the identifier rule)")
        report(rows, {"shipped": shipped[name], "new": out[name]}, name)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
