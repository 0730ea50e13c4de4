"""HTML reader benchmark: selectolax (qa's reader) against trafilatura on real pages on disk.

    python eval/bench_html.py [DIR ...] [--pages 30]   # pages per DIR

For each page and candidate: (a) time per page; (b) recall: share of the text lines of the
page's content element (<main>, role=main, or a site's known content container) found in the
output; (c) leak: share of the text lines outside it (sidebar, header, nav, footer) found in
the output; (d) determinism: two runs give the same lines; (e) table rows of the content kept
as one line each. Lines are compared as word sequences, so line breaks and separators do not
count, only whether the words are there in order. Ground truth is read with lxml, a parser
neither candidate's own walk uses. Pages are picked evenly across the sub-folders of each
directory (default: the Rust documentation of the stable toolchain).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUST_DOCS = Path.home() / ".rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html"
MIN_BYTES, MAX_BYTES = 4_000, 2_000_000

# the content element: semantic markup first, then the containers of sites without it
CONTENT = (
    "//main",
    '//*[@role="main"]',
    '//*[@id="apicontent"]',  # Node.js API docs (the skip link's target)
    '//section[@id="content"]',  # npm docs
    "/html/body/div[@class='chapter' or @class='book' or @class='article' or @class='set'"
    " or @class='sect1' or @class='appendix' or @class='preface' or @class='part']",  # DocBook
    '//td[@valign="top"][@width="200"]/following-sibling::td[1]',  # libxslt: text column
    "//article",
)
SKIP = {"script", "style", "noscript", "template", "head", "title", "svg", "button", "select",
        "option", "textarea", "input"}
BLOCK = {"address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd",
         "details", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
         "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
         "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
         "ul", "menu"}
WORD = re.compile(r"\w+")


def words(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


# -- picking pages ---------------------------------------------------------------------------
def pick_pages(folder: Path, count: int) -> list[Path]:
    """``count`` pages spread evenly over the top-level sub-folders of ``folder``."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith((".html", ".htm")) or name in ("toc.html", "print.html"):
                continue
            path = Path(dirpath) / name
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if MIN_BYTES <= size <= MAX_BYTES:
                rel = path.relative_to(folder).parts
                groups[rel[0] if len(rel) > 1 else "."].append(path)
    picked: list[Path] = []
    queues = {name: _spread(paths, count) for name, paths in sorted(groups.items())}
    while len(picked) < count and any(queues.values()):
        for queue in queues.values():
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def _spread(paths: list[Path], count: int) -> list[Path]:
    if len(paths) <= count:
        return list(paths)
    step = len(paths) / count
    return [paths[int(i * step + step / 2)] for i in range(count)]


# -- ground truth with lxml ------------------------------------------------------------------
def _text_lines(element, skip=None) -> list[str]:
    """The text of ``element`` as lines broken at block elements, ``skip`` left out."""
    parts: list[str] = []

    def walk(el, top: bool = False) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        if tag is not None and el is not skip and tag not in SKIP:
            if tag in BLOCK:
                parts.append("\n")
            parts.append(el.text or "")
            for child in el:
                walk(child)
            if tag in BLOCK:
                parts.append("\n")
        if el.tail and not top:
            parts.append(el.tail)

    walk(element, top=True)
    return [w for w in (words(line) for line in "".join(parts).split("\n")) if w]


def ground_truth(raw: bytes):
    """(content lines, boilerplate lines, table rows) or None without a known content element."""
    import lxml.html

    from qa.ingest.readers.html import decode

    try:
        text = re.sub(r"^\s*<\?xml[^>]*>", "", decode(raw))  # lxml refuses it in a str
        tree = lxml.html.document_fromstring(text)
    except Exception:
        return None
    for xpath in CONTENT:
        found = tree.xpath(xpath)
        if xpath == "//article" and len(found) != 1:
            continue
        if found:
            content = found[0]
            break
    else:
        return None
    body = tree.find("body")
    main_lines = _text_lines(content)
    main_words = " " + " ".join(main_lines) + " "
    outside = _text_lines(body if body is not None else tree, skip=content)
    # chrome lines that say something the content does not also say
    boiler = [line for line in outside if len(line.split()) >= 2 and f" {line} " not in main_words]
    rows = []
    for tr in content.iter("tr"):
        if tr.find(".//table") is not None:
            continue
        cells = [words(td.text_content()) for td in tr if td.tag in ("td", "th")]
        cells = [c for c in cells if c]
        if len(cells) >= 2:
            rows.append(cells)
    return main_lines, boiler, rows


# -- the candidates --------------------------------------------------------------------------
def run_selectolax(raw: bytes) -> list[str]:
    from qa.ingest.readers import Skip
    from qa.ingest.readers.html import read_html

    try:
        return read_html(raw).lines
    except Skip:
        return []


def run_trafilatura(raw: bytes, *, favor_recall: bool) -> list[str]:
    import trafilatura

    from qa.ingest.readers.html import decode

    xml = trafilatura.extract(decode(raw), output_format="xml", include_tables=True,
                              include_comments=False, include_images=False,
                              include_formatting=False, include_links=False, deduplicate=False,
                              favor_recall=favor_recall, with_metadata=False)
    return tei_lines(xml) if xml else []


def tei_lines(xml: str) -> list[str]:
    """trafilatura's XML as display lines with qa's rules: a paragraph or heading per line,
    a list item per line, a table row per line (cells joined by " | "), code lines kept."""
    from lxml import etree

    doc = etree.fromstring(xml.encode("utf-8"))
    main = doc.find("main")
    blocks: list[list[str]] = []
    for el in main if main is not None else []:
        block = _tei_block(el, 0)
        if block:
            blocks.append(block)
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("")
        out += block
    return out


def _flat(el) -> list[str]:
    parts: list[str] = []
    for node in el.iter():
        if node is not el and node.tag == "lb":
            parts.append("\n")
        if node is el:
            parts.append(el.text or "")
        else:
            parts.append((node.text or "") + (node.tail or ""))
    return [" ".join(line.split()) for line in "".join(parts).split("\n") if line.strip()]


def _tei_block(el, depth: int) -> list[str]:
    if el.tag == "code":
        return [line.rstrip() for line in "".join(el.itertext()).split("\n") if line.strip()]
    if el.tag == "list":
        lines = []
        for item in el.iterfind("item"):
            nested = [n for n in item if n.tag == "list"]
            for n in nested:
                item.remove(n)
            lines += ["  " * depth + "- " + line for line in _flat(item)[:1]] + _flat(item)[1:]
            for n in nested:
                lines += _tei_block(n, depth + 1)
        return lines
    if el.tag == "table":
        rows = []
        for row in el.iter("row"):
            cells = [" ".join("".join(c.itertext()).split()) for c in row.iterfind("cell")]
            if any(cells):
                rows.append(" | ".join(c for c in cells if c))
        return rows
    return _flat(el)


CANDIDATES = {"selectolax": run_selectolax}
try:
    import trafilatura  # noqa: F401  - measured only where it is installed (not a qa dependency)
except ImportError:
    print("trafilatura is not installed: measuring selectolax alone", file=sys.stderr)
else:
    CANDIDATES["trafilatura"] = lambda raw: run_trafilatura(raw, favor_recall=False)
    CANDIDATES["trafilatura recall"] = lambda raw: run_trafilatura(raw, favor_recall=True)


# -- measuring -------------------------------------------------------------------------------
WARM_UP = b"<html><body><main><h1>Warm up</h1><p>" + b"Imports and caches. " * 30 + b"</p></main>"


def measure(pages: list[tuple[str, Path]]) -> dict:
    results: dict[str, list[dict]] = {name: [] for name in CANDIDATES}
    for run in CANDIDATES.values():
        run(WARM_UP)  # imports are not part of the time per page
    for group, path in pages:
        raw = path.read_bytes()
        truth = ground_truth(raw)
        for name, run in CANDIDATES.items():
            start = time.perf_counter()
            try:
                lines = run(raw)
                error = None
            except Exception as exc:  # a crash is a result too
                lines, error = [], f"{type(exc).__name__}: {exc}"
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            try:
                again = run(raw)
            except Exception:
                again = None
            # the faster of the two runs: the first of a page may pay for its read from disk
            seconds = min(seconds, time.perf_counter() - start)
            row = {"group": group, "page": path, "seconds": seconds, "error": error,
                   "deterministic": again == lines, "lines": len(lines)}
            if truth is not None:
                row.update(score(lines, *truth))
            results[name].append(row)
    return results


def score(lines: list[str], main: list[str], boiler: list[str], rows: list[list[str]]) -> dict:
    line_words = [words(line) for line in lines]
    text = " " + " ".join(w for w in line_words if w) + " "
    out = {"recall": sum(f" {m} " in text for m in main) / len(main) if main else None}
    out["leak"] = sum(f" {b} " in text for b in boiler) / len(boiler) if boiler else None
    if rows:
        padded = [f" {w} " for w in line_words]
        kept = sum(any(f" {' '.join(cells)} " in line for line in padded) for cells in rows)
        out["rows"] = kept / len(rows)
        out["row_count"] = len(rows)
    return out


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def fmt(value: float | None, pct: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if pct else f"{value:.1f}"


def report(results: dict) -> None:
    header = (f"{'candidate':<20}{'pages':>6}{'ms/page':>9}{'p95 ms':>8}{'recall':>8}"
              f"{'min rec':>8}{'leak':>7}{'determ.':>9}{'rows 1 line':>12}{'errors':>7}")
    print(header)
    print("-" * len(header))
    for name, rows in results.items():
        ms = sorted(1000 * r["seconds"] for r in rows)
        recalls = [r["recall"] for r in rows if r.get("recall") is not None]
        table_rows = [(r["rows"], r["row_count"]) for r in rows if "rows" in r]
        kept = (sum(k * n for k, n in table_rows) / sum(n for _, n in table_rows)
                if table_rows else None)
        print(f"{name:<20}{len(rows):>6}{statistics.fmean(ms):>9.1f}"
              f"{ms[min(len(ms) - 1, int(0.95 * len(ms)))]:>8.0f}"
              f"{fmt(mean(recalls)):>8}{fmt(min(recalls) if recalls else None):>8}"
              f"{fmt(mean(r.get('leak') for r in rows)):>7}"
              f"{sum(r['deterministic'] for r in rows):>5}/{len(rows):<3}"
              f"{fmt(kept):>12}{sum(bool(r['error']) for r in rows):>7}")
    groups = sorted({r["group"] for rows in results.values() for r in rows})
    print("\nrecall / leak by source (mean over its pages)")
    print(f"{'source':<34}{'pages':>6}" + "".join(f"{name:>22}" for name in results))
    for group in groups:
        cells = []
        for rows in results.values():
            mine = [r for r in rows if r["group"] == group]
            cells.append(f"{fmt(mean(r.get('recall') for r in mine))} / "
                         f"{fmt(mean(r.get('leak') for r in mine))}")
        count = sum(r["group"] == group for r in next(iter(results.values())))
        print(f"{group[:34]:<34}{count:>6}" + "".join(f"{c:>22}" for c in cells))
    print("\nlowest recall per candidate")
    for name, rows in results.items():
        worst = sorted((r for r in rows if r.get("recall") is not None),
                       key=lambda r: r["recall"])[:3]
        print(f"  {name}: " + ", ".join(f"{r['page'].name} {fmt(r['recall'])}" for r in worst))
    for name, rows in results.items():
        for r in rows:
            if r["error"] or not r["deterministic"]:
                print(f"  {name}: {r['page']}: {r['error'] or 'two runs differ'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="folders of .html pages "
                        f"(default: {RUST_DOCS})")
    parser.add_argument("--pages", type=int, default=30,
                        help="pages per folder, spread over its sub-folders (default 30)")
    args = parser.parse_args()
    dirs = args.dirs or [RUST_DOCS]
    pages: list[tuple[str, Path]] = []
    for folder in dirs:
        if not folder.is_dir():
            print(f"{folder}: not a directory", file=sys.stderr)
            continue
        for path in pick_pages(folder, args.pages):
            rel = path.relative_to(folder).parts
            label = f"{folder.resolve().parent.name}/{folder.resolve().name}"
            group = f"{label}/{rel[0]}" if len(rel) > 1 else label
            pages.append((group, path))
    if not pages:
        print(f"no HTML pages of {MIN_BYTES // 1000} KB to {MAX_BYTES // 1_000_000} MB found in "
              + ", ".join(map(str, dirs)) + ": pass a folder of .html files", file=sys.stderr)
        return 1
    print(f"{len(pages)} pages from {', '.join(map(str, dirs))}\n")
    report(measure(pages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
