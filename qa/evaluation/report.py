"""Write what a run measured where people look: a table, a Markdown report, three plots.

Plots are drawn with matplotlib's Agg backend (no display needed, same output in CI) and are
embedded in report.md by relative path, so the report folder can be moved or attached whole.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .metrics import DEFINITIONS, DOCUMENT_METRICS, LOWER_IS_BETTER, METRICS

SHARE_METRICS = tuple(m for m in METRICS if not m.endswith("_ms"))
COLORS = {"qa": "#1f77b4", "baseline": "#ff7f0e"}


def _fmt(metric: str, value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if metric.endswith("_ms") else f"{value:.3f}"


def shown_metrics(summary: dict[str, Any], metrics: Sequence[str] = METRICS) -> list[str]:
    """The metrics some system measured: a dataset without gold lines, facts or unanswerable
    questions gets no rows of n/a (summary.json keeps every metric, None when not measured)."""
    systems = [summary["metrics"], summary.get("baseline") or {}]
    return [m for m in metrics if any(s.get(m) is not None for s in systems)]


def format_table(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table: qa, and baseline with the ratio qa/baseline if run."""
    base, ratio = summary.get("baseline"), summary.get("ratio")
    head = ["metric", f"qa ({summary['backend']})"]
    if base:
        head += ["baseline", "qa / baseline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in shown_metrics(summary):
        cells = [m, _fmt(m, summary["metrics"].get(m))]
        if base:
            r = ratio.get(m) if ratio else None
            cells += [_fmt(m, base.get(m)), "n/a" if r is None else f"{r:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _counts(summary: dict[str, Any]) -> str:
    return (
        f"{summary['questions']} questions ({summary['answerable']} answerable, "
        f"{summary['unanswerable']} unanswerable of which {summary['injection']} injection), "
        f"backend `{summary['backend']}`, top_k {summary['top_k']}"
    )


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metrics(path: Path, summary: dict[str, Any]) -> None:
    """Grouped bars, one group per 0..1 metric, one bar per system."""
    plt = _plt()
    systems = {"qa": summary["metrics"]}
    if summary.get("baseline"):
        systems["baseline"] = summary["baseline"]
    shares = shown_metrics(summary, SHARE_METRICS)
    fig, ax = plt.subplots(figsize=(max(11.0, 0.75 * len(shares)), 4.5))
    width = 0.8 / len(systems)
    for n, (name, metrics) in enumerate(systems.items()):
        xs = [i + (n - (len(systems) - 1) / 2) * width for i in range(len(shares))]
        values = [metrics.get(m) or 0.0 for m in shares]
        bars = ax.bar(xs, values, width, label=name, color=COLORS[name])
        for bar, m in zip(bars, shares):
            label = "n/a" if metrics.get(m) is None else f"{metrics[m]:.2f}"
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.01, label,
                    ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(shares)))
    ax.set_xticklabels(
        [m + (" (↓)" if m in LOWER_IS_BETTER else "") for m in shares],
        rotation=35, ha="right", fontsize=8,
    )
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share (↓: lower is better)")
    ax.set_title(f"{Path(summary['dataset']).name}: metrics per system")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_latency(path: Path, rows: Sequence[dict]) -> None:
    """Histograms of retrieval and whole-answer time per system."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((axes[0], "retrieval_ms", "retrieval"), (axes[1], "total_ms",
                                                                        "whole answer")):
        values = {s: [r[key] for r in rows if r["system"] == s and r.get(key) is not None]
                  for s in COLORS}
        pooled = [v for vs in values.values() for v in vs]
        if not pooled:
            continue
        lo, hi = min(pooled), max(pooled)
        bins: list[float] | int
        if lo > 0 and hi / lo > 20:  # systems an order of magnitude apart: log scale
            bins = [lo * (hi / lo) ** (i / 30) for i in range(31)]
            ax.set_xscale("log")
        else:
            bins = [lo + (hi - lo) * i / 30 for i in range(31)] if hi > lo else 1
        for system, vs in values.items():  # shared bins: the systems' bars line up
            if vs:
                ax.hist(vs, bins=bins, alpha=0.6, label=system, color=COLORS[system])
        ax.set_title(f"{title} latency")
        ax.set_xlabel("ms")
        ax.set_ylabel("questions")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sources(path: Path, rows: Sequence[dict]) -> None:
    """Per source file: answerable questions whose gold passage was retrieved (hit@5) or not;
    on a dataset without gold lines, whose source file was (source_hit@5, a question counted
    under each file it names)."""
    plt = _plt()
    systems = [s for s in COLORS if any(r["system"] == s for r in rows)]
    tally: dict[str, dict[str, list[int]]] = {s: defaultdict(lambda: [0, 0]) for s in systems}
    key = "hit@5" if any(r.get("hit@5") is not None for r in rows) else "source_hit@5"
    for r in rows:
        if r.get(key) is not None:
            names = [r["gold"]["source"]] if key == "hit@5" else r["gold"].get("sources", [])
            for name in names:
                tally[r["system"]][name][0 if r[key] else 1] += 1
    sources = sorted({src for t in tally.values() for src in t})
    fig, axes = plt.subplots(
        1, len(systems), figsize=(5.5 * len(systems), 1.2 + 0.3 * max(len(sources), 1)),
        squeeze=False, sharey=True,
    )
    for ax, system in zip(axes[0], systems):
        hits = [tally[system][s][0] for s in sources]
        misses = [tally[system][s][1] for s in sources]
        ax.barh(sources, hits, color="#2ca02c", label=key)
        ax.barh(sources, misses, left=hits, color="#d62728", label="miss")
        ax.set_title(f"{system}: retrieval hit/miss per source")
        ax.set_xlabel("answerable questions")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=8)
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _is_default(point: dict[str, Any], sweep: dict[str, Any]) -> bool:
    return abs(point["threshold"] - sweep["default_threshold"]) < 1e-9


def plot_refusal(path: Path, sweep: dict[str, Any]) -> None:
    """The refusal trade-off: one point per answerability threshold, the default marked."""
    plt = _plt()
    points = [p for p in sweep["points"] if p["refusal_unanswerable"] is not None
              and p["wrong_refusal_answerable"] is not None]
    fig, ax = plt.subplots(figsize=(6.5, 5))
    xs = [p["wrong_refusal_answerable"] for p in points]
    ys = [p["refusal_unanswerable"] for p in points]
    ax.plot(xs, ys, "o-", color=COLORS["qa"], markersize=4, label="one point per threshold")
    labelled: set[tuple[float, float]] = set()
    for p, x, y in zip(points, xs, ys):
        if round(p["threshold"] * 40) % 4 == 0 and (x, y) not in labelled:  # every 0.1, once
            labelled.add((x, y))
            ax.annotate(f"{p['threshold']:.1f}", (x, y), textcoords="offset points",
                        xytext=(5, -10), fontsize=7)
    default = [p for p in points if _is_default(p, sweep)]
    if default:
        d = default[0]
        ax.plot([d["wrong_refusal_answerable"]], [d["refusal_unanswerable"]], "*", color="red",
                markersize=16, label=f"default QA_MIN_ANSWERABILITY={d['threshold']:g}")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("answerable questions wrongly refused (↓)")
    ax.set_ylabel("unanswerable questions refused (↑)")
    ax.set_title("refusal trade-off over the answerability threshold")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


PLOTS = {
    "metrics.png": "Metrics per system",
    "latency.png": "Latency",
    "sources.png": "Retrieval hit/miss per source file",
    "refusal.png": "Refusal trade-off (answerability threshold sweep)",
}


def _sweep_table(sweep: dict[str, Any]) -> list[str]:
    points = [p for p in sweep["points"] if round(p["threshold"] * 40) % 2 == 0]  # every 0.05
    if not points:
        return []
    lines = [
        "## Refusal threshold sweep",
        "",
        f"Replayed from this run (its threshold {sweep['run_threshold']:g}); the default is "
        f"{sweep['default_threshold']:g}.",
        "",
        "| QA_MIN_ANSWERABILITY | refusal_unanswerable | wrong_refusal_answerable "
        "| answer_accuracy | citation_precision |",
        "|---|---|---|---|---|",
    ]
    for p in points:
        mark = " (default)" if _is_default(p, sweep) else ""
        lines.append(
            f"| {p['threshold']:.2f}{mark} | " + " | ".join(
                _fmt("", p[m]) for m in ("refusal_unanswerable", "wrong_refusal_answerable",
                                         "answer_accuracy", "citation_precision")) + " |"
        )
    return [*lines, ""]


def _types_table(summary: dict[str, Any]) -> list[str]:
    """The document metrics per question type (Single-Doc ..., Multi-Doc ...), per system."""
    by_type = summary.get("by_type") or {}
    if not by_type:
        return []
    metrics = [m for m in DOCUMENT_METRICS if m != "source_hit@5_single_doc"]
    lines = ["## By question type", "",
             "| type | questions | system | " + " | ".join(metrics) + " |",
             "|---|---|---|" + "---|" * len(metrics)]
    for kind, entry in by_type.items():
        for system, values in entry["systems"].items():
            lines.append(f"| {kind} | {entry['questions']} | {system} | "
                         + " | ".join(_fmt(m, values.get(m)) for m in metrics) + " |")
    return [*lines, ""]


def _reasons_table(summary: dict[str, Any]) -> list[str]:
    reasons = summary.get("refusal_reasons") or {}
    if not reasons:
        return []
    lines = ["## Why qa refused", "", f"Of {summary['answerable']} answerable and "
             f"{summary['unanswerable']} unanswerable questions:", "",
             "| decided by | answerable (wrong) | unanswerable (right) |", "|---|---|---|"]
    lines += [f"| {kind} | {n['answerable']} | {n['unanswerable']} |"
              for kind, n in sorted(reasons.items())]
    return [*lines, ""]


def _followups_table(rows: Sequence[dict]) -> list[str]:
    """Each conversation's last turn: how it was asked, and whether its gold line was
    retrieved asked that way and asked standalone."""
    talks = [r for r in rows if r["system"] == "qa" and "query" in r]
    if not talks:
        return []

    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|")

    def hit(value: Any) -> str:
        return "n/a" if value is None else "yes" if value else "**no**"

    lines = ["## Follow-ups", "",
             "| id | earlier turns | last turn | asked as | hit@5 | standalone hit@5 |",
             "|---|---|---|---|---|---|"]
    for r in talks:
        asked = "(as written)" if r["query"] == r["question"] else cell(r["query"])
        lines.append(f"| {r['id']} | {len(r['history'])} | {cell(r['question'])} | {asked} | "
                     f"{hit(r.get('hit@5'))} | {hit(r.get('standalone_hit@5'))} |")
    return [*lines, ""]


def render_markdown(summary: dict[str, Any], rows: Sequence[dict] = ()) -> str:
    parts = [
        f"# Eval: {Path(summary['dataset']).name}",
        "",
        f"{_counts(summary)}; corpus `{summary['corpus']}`; {summary['created']}.",
        "",
        format_table(summary),
        "",
    ]
    if summary.get("baseline"):
        base = summary["systems"]["baseline"]
        parts += [
            "`baseline` is a plain LlamaIndex pipeline on the same files: "
            "`VectorStoreIndex.from_documents` (default `SentenceSplitter`, in-memory store, "
            f"{base['nodes']} nodes), PDFs read as `SimpleDirectoryReader` reads them by default "
            "(pypdf, one document per page), the same embedding model, top_k "
            f"{base['top_k']}, the same answer backend; its citations are its retrieved nodes "
            "(text files: their line ranges; PDFs: the node text on its page), unverified, and "
            "it refuses only when the backend itself does (qa's support gate and citation check "
            "are not applied). Ratio = qa / baseline (for ↓ metrics below 1 is better).",
            "",
        ]
    errors = {s: n for s, n in summary.get("errors", {}).items() if n}
    if errors:
        parts += [f"**Backend errors** (scored as wrong answers): {errors}", ""]
    parts += ["## Metrics", ""]
    parts += [f"- **{m}**{' (↓)' if m in LOWER_IS_BETTER else ''}: {DEFINITIONS[m]}"
              for m in shown_metrics(summary)]
    parts += ["", *_followups_table(rows), *_types_table(summary), *_reasons_table(summary),
              *_sweep_table(summary["refusal_sweep"]),
              "## Plots", ""]
    for name, title in PLOTS.items():
        parts += [f"### {title}", "", f"![{title}]({name})", ""]
    parts += ["Per-question rows (answer, citations, retrieved, every metric, latencies) are in "
              "`results.jsonl`.", ""]
    return "\n".join(parts)


def write_report(out_dir: str | Path, summary: dict[str, Any], rows: Sequence[dict]) -> None:
    """results.jsonl, summary.json, the PNG plots and report.md, in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    plot_metrics(out / "metrics.png", summary)
    plot_latency(out / "latency.png", rows)
    plot_sources(out / "sources.png", rows)
    plot_refusal(out / "refusal.png", summary["refusal_sweep"])
    (out / "report.md").write_text(render_markdown(summary, rows), encoding="utf-8")
