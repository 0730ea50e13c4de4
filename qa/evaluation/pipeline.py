"""One eval run: ingest the corpus, ask every question, score, write the report.

``run`` is the Python entry (``qa.evaluation.run``) and returns the summary; ``cli.main`` is
what ``qa eval`` calls. The index is throw-away unless ``index`` is given, so a run never
mixes its corpus into the user's own index.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import BackendError, InputError
from .dataset import Corpus, Item, check_sources, corpora, load
from .metrics import (
    DEFINITIONS,
    DOCUMENT_METRICS,
    METRICS,
    refusal_reasons,
    refusal_sweep,
    score,
    summarize,
)

SYSTEMS = ("qa", "baseline")


def default_out(dataset: str | os.PathLike) -> Path:
    """eval/reports/<dataset stem>-<YYYYmmdd-HHMMSS>/ under the working directory."""
    return Path("eval", "reports", f"{Path(dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}")


def relative_source(source: str, corpus: Corpus) -> str:
    """The path relative to the corpus folder that holds it, as datasets name files; else
    unchanged."""
    for root in corpora(corpus):
        rel = os.path.relpath(os.path.abspath(source), os.path.abspath(root))
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    return source


def _spans(spans: Iterable[dict], corpus: Corpus) -> list[dict]:
    return [{**s, "source": relative_source(s["source"], corpus)} for s in spans]


def _row(system: str, item: Item, output: dict, corpus: Corpus) -> dict:
    """One results.jsonl line: the question, what the system said, and every metric."""
    output = {
        **output,
        "citations": _spans(output["citations"], corpus),
        "retrieved": _spans(output["retrieved"], corpus),
    }
    if output.get("standalone"):
        alone = output["standalone"]
        output["standalone"] = {**alone, "retrieved": _spans(alone["retrieved"], corpus),
                                "citations": _spans(alone["citations"], corpus)}
    # scored while the passages still have their text (fact recall reads it), and each
    # citation against the file on disk (a source outside the corpus stays absolute)
    scores = score(item, output, locate=lambda source: locate(source, corpus))
    gold: dict[str, Any] = {"source": item.source, "lines": item.lines, "answers": item.answers}
    if item.sources or item.facts or item.type:
        gold.update(sources=item.sources, facts=item.facts, type=item.type,
                    chunk_type=item.chunk_type)
    row = {
        "system": system,
        "id": item.id,
        "question": item.question,
        "answerable": item.answerable,
        "gold": gold,
        "answer": output["answer"],
        "refused": output["refused"],
        "citations": output["citations"],
        # the passages' text is long and already on disk: keep where they came from
        "retrieved": [{k: v for k, v in s.items() if k != "quote"} for s in output["retrieved"]],
        "retrieval_ms": output.get("retrieval_ms"),
        "total_ms": output.get("total_ms"),
    }
    if output.get("support") is not None:
        row["support"] = output["support"]
    if output.get("answerability") is not None:
        row["answerability"] = output["answerability"]
    if output.get("refused_because"):
        row["refused_because"] = output["refused_because"]
    if output.get("refusal"):
        row["refusal"] = str(output["refusal"])
    if output.get("fallback"):  # the answer is the best line, quoted, not the model's
        row["fallback"] = True
    if output.get("model_refused"):  # the backend itself said NOT FOUND
        row["model_refused"] = True
    if output.get("dropped_citations"):
        row["dropped_citations"] = output["dropped_citations"]
    if item.conversation:  # the turns as asked, the rewrite, and the standalone form's run
        row["history"] = output.get("history", [])
        row["query"] = output.get("query")
        if output.get("standalone"):
            row["standalone"] = {k: v for k, v in output["standalone"].items()
                                 if k != "retrieved"}
    if output.get("error"):
        row["error"] = output["error"]
    row.update(scores)
    return row


def locate(source: str, corpus: Corpus) -> Path:
    """The file a dataset's source names: in the first corpus folder that has it."""
    roots = corpora(corpus)
    return next((r / source for r in roots if (r / source).exists()), roots[0] / source)


def _ask_qa(qa: Any, item: Item) -> dict:
    """One question; a conversation's earlier turns are asked and answered first, and its last
    turn is asked with them (rewritten) and, for comparison, standalone without them."""
    history: list[tuple[str, str]] = []
    for question in item.history:
        history.append((question, qa.ask(question, history=list(history)).text))
    answer = qa.ask(item.question, history=history)
    out = _on_disk(qa, answer.to_dict())
    out.update(
        proposed=answer.debug.get("proposed", 0),
        dropped=len(answer.debug.get("dropped", [])),
        dropped_citations=answer.debug.get("dropped", []),
        support=answer.debug.get("support"),  # the refusal gate's evidence score, to calibrate
        answerability=answer.debug.get("answerability"),
        refused_because=answer.debug.get("refused_because"),
        refusal=answer.debug.get("refusal"),
        fallback=answer.debug.get("fallback"),
        model_refused=answer.debug.get("model_refused"),
        retrieval_ms=answer.debug.get("retrieval_ms"),
        total_ms=answer.debug.get("total_ms"),
    )
    if item.conversation:
        alone = qa.ask(item.standalone)
        out.update(history=[{"question": q, "answer": a} for q, a in history],
                   query=answer.debug.get("query"),
                   standalone={"question": item.standalone, **_on_disk(qa, alone.to_dict())})
    return out


def _on_disk(qa: Any, answer: dict) -> dict:
    """Sources as the files the index read: a source is named as it was given to ingest
    ("../shared/docs/a.pdf"), which means another file from another working directory."""
    def located(spans: list[dict]) -> list[dict]:
        return [{**s, "source": qa.path_of(s["source"]) or s["source"]} for s in spans]

    return {**answer, "citations": located(answer["citations"]),
            "retrieved": located(answer["retrieved"])}


def _failed(exc: Exception, started: float) -> dict:
    """A backend failure scores as a wrong, unrefused answer; the run goes on."""
    return {"answer": "", "refused": False, "citations": [], "retrieved": [],
            "proposed": None, "dropped": None, "error": str(exc),
            "retrieval_ms": None, "total_ms": round((time.perf_counter() - started) * 1000, 1)}


def _ask_all(system: str, ask: Any, items: Sequence[Item], corpus: Corpus,
             progress: bool) -> list[dict]:
    from tqdm import tqdm

    rows = []
    for item in tqdm(items, desc=system, unit="q", file=sys.stderr, disable=not progress,
                     mininterval=0.5, dynamic_ncols=True):
        started = time.perf_counter()
        try:
            output = ask(item)
        except BackendError as exc:
            output = _failed(exc, started)
        rows.append(_row(system, item, output, corpus))
    return rows


def _settings(settings: Any) -> dict[str, Any]:
    """The run's configuration for the summary, without secrets or machine-local paths."""
    hidden = ("key", "auth", "dir", "path", "url", "host", "port")
    return {k: v for k, v in settings.model_dump(mode="json").items()
            if not set(k.split("_")) & set(hidden)}  # by word: "min_support" is not a port


def _ratio(ours: dict, theirs: dict) -> dict[str, float | None]:
    return {m: (round(ours[m] / theirs[m], 3)
                if isinstance(ours.get(m), int | float) and theirs.get(m) else None)
            for m in METRICS}


def run(
    dataset: str | os.PathLike,
    *,
    corpus: Corpus,
    backend: str | None = None,
    top_k: int | None = None,
    index: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    compare: str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
    log: Any = None,
) -> dict[str, Any]:
    """Evaluate qa (and with ``compare="baseline"`` the plain LlamaIndex pipeline) on a dataset.

    Writes results.jsonl, summary.json, report.md and PNG plots to ``out`` (default
    eval/reports/<dataset>-<time>/) and returns the summary dict ("metrics" is qa's).
    ``options`` are ``Settings`` fields for this run (``{"retrieval": "dense"}``), over the
    environment, so an ablation runs its variants in one process. ``corpus`` is a folder or a
    list of folders (all are ingested; each source is found in the first that has it).
    """
    from ..api import QA
    from ..ask.answer import resolve_backend
    from .report import write_report

    log = log or sys.stderr
    if compare not in (None, "baseline"):
        raise InputError(f"unknown --compare {compare!r}: the only comparison is 'baseline'")
    for flag, value in (("--limit", limit), ("--sample", sample)):
        if value is not None and value < 1:
            raise InputError(f"{flag} must be at least 1")
    items = load(dataset, limit=limit, sample=sample)  # all is checked before any work starts
    roots = corpora(corpus)
    for root in roots:
        if not root.is_dir():
            raise InputError(f"corpus is not a folder: {root}")
    if compare and len(roots) > 1:
        raise InputError("--compare baseline reads one --corpus folder")
    check_sources(items, roots, dataset)
    out_dir = Path(out) if out else default_out(dataset)

    options = {**(options or {}),
               **{k: v for k, v in (("backend", backend), ("top_k", top_k)) if v}}
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        if index is None:
            options["chroma_url"] = ""  # a throw-away index never goes to a shared server
        with QA(index if index is not None else Path(tmp, "index"), **options) as qa:
            resolve_backend(qa.settings)  # an unknown backend fails before the slow part
            report = qa.ingest(*roots)
            print(f"ingest: {report.summary()}", file=log)
            if not qa.stats()["files"]:
                raise InputError("nothing to evaluate: no file indexed from "
                                 + ", ".join(map(str, roots)))
            answerer = qa.answerer  # load the backend before the clock starts
            rows = _ask_all("qa", lambda item: _ask_qa(qa, item), items, corpus, progress)
            per_system = {"qa": list(rows)}
            systems = {"qa": summarize(items, rows)}
            sweep = refusal_sweep(rows, floor=qa.settings.min_answerability)
            reasons = refusal_reasons(rows)
            info: dict[str, Any] = {"qa": {"backend": answerer.name, "top_k": qa.settings.top_k,
                                           "ingest_seconds": report.seconds,
                                           "settings": _settings(qa.settings)}}
            if compare == "baseline":
                from .baseline import Baseline

                base = Baseline(roots[0], embed_model=qa.embed_model, answerer=answerer,
                                top_k=qa.settings.top_k, max_file_mb=qa.settings.max_file_mb)
                print(f"baseline: {base.documents} documents loaded in {base.load_seconds} s, "
                      f"{base.nodes} nodes built in {base.build_seconds} s", file=log)
                base_rows = _ask_all("baseline", lambda item: base.ask(item.question), items,
                                     corpus, progress)
                per_system["baseline"] = base_rows
                systems["baseline"] = summarize(items, base_rows)
                info["baseline"] = {"backend": answerer.name, "top_k": qa.settings.top_k,
                                    "documents": base.documents, "nodes": base.nodes,
                                    "load_seconds": base.load_seconds,
                                    "build_seconds": base.build_seconds,
                                    "unplaced_nodes": base.unplaced}
                rows += base_rows

    summary: dict[str, Any] = {
        "dataset": os.fspath(dataset),
        "corpus": ", ".join(map(os.fspath, roots)),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "backend": info["qa"]["backend"],
        "top_k": info["qa"]["top_k"],
        "questions": len(items),
        "answerable": sum(i.answerable for i in items),
        "unanswerable": sum(not i.answerable for i in items),
        "injection": sum(i.injection for i in items),
        "errors": {s: sum(1 for r in rows if r["system"] == s and "error" in r) for s in systems},
        "metrics": systems["qa"],
        "baseline": systems.get("baseline"),
        "ratio": _ratio(systems["qa"], systems["baseline"]) if "baseline" in systems else None,
        "systems": info,
        "refusal_sweep": {"run_threshold": info["qa"]["settings"]["min_answerability"],
                          "default_threshold": Settings().min_answerability, "points": sweep},
        "refusal_reasons": reasons,
        "by_type": by_type(items, per_system),
        "definitions": DEFINITIONS,
        "out": os.fspath(out_dir),
    }
    write_report(out_dir, summary, rows)
    return summary


def by_type(items: Sequence[Item], per_system: dict[str, list[dict]]) -> dict[str, Any]:
    """The document metrics (sources, facts) per question type, for datasets with types."""
    kinds = sorted({i.type for i in items if i.type})
    out: dict[str, Any] = {}
    for kind in kinds:
        keep = [n for n, i in enumerate(items) if i.type == kind]
        subset = [items[n] for n in keep]
        out[kind] = {"questions": len(keep), "systems": {
            system: {m: v for m, v in summarize(subset, [rows[n] for n in keep]).items()
                     if m in DOCUMENT_METRICS}
            for system, rows in per_system.items()}}
    return out
