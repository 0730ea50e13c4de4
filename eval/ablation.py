"""Ablation: qa's retrieval, reranking and refusal gate switched on and off, side by side.

    python eval/ablation.py DATASET --corpus DIR [--backend extractive] [--sample N]
                            [--variants dense hybrid ...] [--out DIR]

Every variant runs through ``qa.evaluation.run`` in this one process on one shared index (the
variants differ only at question time), so the rows differ by the component alone. Writes
ablation.md and ablation.png, and each variant's full report in a sub-folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from qa.config import Settings
from qa.evaluation import run

GATE = Settings().min_support
VARIANTS = {
    "dense": {"retrieval": "dense", "rerank": "off", "min_support": 0.0},
    "hybrid": {"retrieval": "hybrid", "rerank": "off", "min_support": 0.0},
    "hybrid+rerank": {"retrieval": "hybrid", "rerank": "on", "min_support": 0.0},
    "dense+gate": {"retrieval": "dense", "rerank": "off", "min_support": GATE},
    "hybrid+gate": {"retrieval": "hybrid", "rerank": "off", "min_support": GATE},
    "hybrid+rerank+gate": {"retrieval": "hybrid", "rerank": "on", "min_support": GATE},
}
COLUMNS = ("hit@1", "hit@5", "mrr", "citation_precision", "citation_recall", "answer_accuracy",
           "refusal_unanswerable", "wrong_refusal_answerable", "injection_success",
           "retrieval_p50_ms", "total_p50_ms")


def table(results: dict[str, dict]) -> str:
    lines = ["| variant | " + " | ".join(COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    for name, metrics in results.items():
        cells = []
        for c in COLUMNS:
            v = metrics.get(c)
            cells.append("n/a" if v is None else f"{v:.0f}" if c.endswith("_ms") else f"{v:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(path: Path, results: dict[str, dict], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = [c for c in COLUMNS if not c.endswith("_ms")]
    fig, ax = plt.subplots(figsize=(13, 4.8))
    width = 0.8 / len(results)
    for n, (name, metrics) in enumerate(results.items()):
        xs = [i + (n - (len(results) - 1) / 2) * width for i in range(len(shares))]
        ax.bar(xs, [metrics.get(c) or 0.0 for c in shares], width, label=name)
    ax.set_xticks(range(len(shares)))
    ax.set_xticklabels(shares, rotation=25, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--backend", default=None, help="answer backend (default: QA_BACKEND)")
    parser.add_argument("--sample", type=int, help="N questions drawn with a fixed seed")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path(
        "eval", "reports", f"ablation-{Path(sys.argv[1]).stem if len(sys.argv) > 1 else 'x'}-"
        f"{time.strftime('%Y%m%d-%H%M%S')}"))
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="qa-ablation-") as tmp:
        for name in args.variants:
            print(f"== {name}: {VARIANTS[name]}", file=sys.stderr, flush=True)
            summary = run(args.dataset, corpus=args.corpus, backend=args.backend,
                          index=Path(tmp, "index"), out=args.out / name, sample=args.sample,
                          options={**VARIANTS[name], "chroma_url": ""})
            results[name] = summary["metrics"]
            backend, questions = summary["backend"], summary["questions"]
    name = Path(args.dataset).parent.name or Path(args.dataset).stem
    title = f"{name}: {questions} questions, backend {backend}"
    text = f"# Ablation: {title}\n\ngate = QA_MIN_SUPPORT {GATE:g}; without it 0.\n\n" \
           f"{table(results)}\n\n![ablation](ablation.png)\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.md").write_text(text)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(args.out / "ablation.png", results, title)
    print(text)


if __name__ == "__main__":
    main()
