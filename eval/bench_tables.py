"""PDF table benchmark: qa's reader (PDFium character boxes) against pdfplumber's table finder.

    PYTHONPATH=. python eval/bench_tables.py [--docs DIR] [--gold FILE]

Gold: the answerable "Table" questions of eval/datasets/sec10q_check.jsonl that cite one filing
and name a "period": each fact is a cell value and the period is its column header text. For
each gold cell and method: (1) found: some table cell's value equals the fact (digits, commas,
dots and parentheses compared, so "$ 8,295" equals "8,295"); (2) period right: among the cells
that equal it, one whose column headers hold every number (day, year) of the gold period and
its month name if it has one, case-insensitively; (3) seconds to read all the PDFs, each
method's whole run timed with time.perf_counter.

pdfplumber: every page's ``extract_tables`` with the text strategies; a table's header rows are
the rows above the first row with a digit in a column other than the first, and a body cell's
headers are the non-empty texts of the header rows in its column (an empty header cell takes
the nearest non-empty one to its left in that row, as spanning headers often sit in one cell).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

try:
    import pdfplumber
except ImportError:
    sys.exit("needs pdfplumber: pip install pdfplumber")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCS = Path("/work/shared/benchmarks/sec10q/docs")
GOLD = ROOT / "eval/datasets/sec10q_check.jsonl"
SETTINGS = {"vertical_strategy": "text", "horizontal_strategy": "text"}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
NUMBER = re.compile(r"\d+")
DIGIT = re.compile(r"\d")
KEEP = re.compile(r"[^0-9,.()]")

# a method's cells of one file: (value, headers) pairs
Cells = list[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Gold:
    id: str
    source: str
    fact: str
    period: str


@dataclass(frozen=True)
class Outcome:
    found: bool
    period_right: bool
    columns: tuple[str, ...]  # the column headers of the cells equal to the fact


def load_gold(path: Path) -> list[Gold]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if not (item.get("answerable") is True and item.get("chunk_type") == "Table"
                and item.get("period") and len(item.get("sources", ())) == 1):
            continue
        for fact in item["facts"]:
            out.append(Gold(item["id"], item["sources"][0], fact, item["period"]))
    return out


def figure(text: str) -> str:
    """The digits, commas, dots and parentheses of a value: "$ 8,295" -> "8,295"."""
    text = text.strip()
    text = text.removeprefix("$").removesuffix(" million").removesuffix("%")
    return KEEP.sub("", text)


def period_matches(period: str, headers: tuple[str, ...]) -> bool:
    """Whether ``headers`` hold every number of ``period`` and its month name, if any."""
    text = " ".join(headers).lower()
    numbers = set(NUMBER.findall(text))
    if not all(n in numbers for n in NUMBER.findall(period)):
        return False
    words = set(re.findall(r"[a-z]+", text))
    return all(m in words for m in re.findall(r"[a-z]+", period.lower()) if m in MONTHS)


def judge(gold: Gold, cells: Cells) -> Outcome:
    want = figure(gold.fact)
    same = [headers for value, headers in cells if want and figure(value) == want]
    right = any(period_matches(gold.period, headers) for headers in same)
    return Outcome(bool(same), right, tuple(dict.fromkeys(" ".join(h) for h in same)))


# -- qa --------------------------------------------------------------------------------------
def qa_cells(path: Path) -> Cells:
    from qa.ingest.readers import read_view

    view = read_view(path.name, path.read_bytes())
    return [(cell.value, cell.headers) for row in view.rows if row.label != ""
            for cell in row.cells]


# -- pdfplumber ------------------------------------------------------------------------------
def _text(cell: str | None) -> str:
    return " ".join((cell or "").split())


def table_cells(table: list[list[str | None]]) -> Cells:
    rows = [[_text(c) for c in row] for row in table]
    first = next((i for i, row in enumerate(rows)
                  if any(DIGIT.search(c) for c in row[1:])), None)
    if first is None:
        return []
    heads = []
    for row in rows[:first]:
        filled, last = [], ""
        for c in row:
            last = c or last
            filled.append(last)
        heads.append(filled)
    out = []
    for row in rows[first:]:
        for j, value in enumerate(row):
            if value:
                headers = tuple(h[j] for h in heads if j < len(h) and h[j])
                out.append((value, headers))
    return out


def plumber_cells(path: Path) -> Cells:
    out: Cells = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables(table_settings=SETTINGS):
                out.extend(table_cells(table))
            page.close()
    return out


# -- running ---------------------------------------------------------------------------------
def run(read, paths: list[Path]) -> tuple[dict[str, Cells], float]:
    start = time.perf_counter()
    cells = {path.name: read(path) for path in paths}
    return cells, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args(argv)

    gold = load_gold(args.gold)
    paths = sorted(args.docs.glob("*.pdf"))
    missing = sorted({g.source for g in gold} - {p.name for p in paths})
    if missing:
        sys.exit(f"gold cites PDFs not in {args.docs}: {', '.join(missing)}")

    methods = {
        f"qa (pypdfium2 {version('pypdfium2')})": qa_cells,
        f"pdfplumber {pdfplumber.__version__} (pdfminer.six {version('pdfminer.six')})":
            plumber_cells,
    }
    results: dict[str, list[Outcome]] = {}
    seconds: dict[str, float] = {}
    for name, read in methods.items():
        cells, seconds[name] = run(read, paths)
        results[name] = [judge(g, cells[g.source]) for g in gold]

    print(f"{len(gold)} gold cells from {args.gold.name}, {len(paths)} PDFs in {args.docs}\n")
    print("| method | gold cells | found | period right | seconds |")
    print("|---|---:|---:|---:|---:|")
    for name, outcomes in results.items():
        found = sum(o.found for o in outcomes)
        right = sum(o.period_right for o in outcomes)
        print(f"| {name} | {len(gold)} | {found} | {right} | {seconds[name]:.2f} |")

    qa_name, plumber_name = methods
    differ = [(g, a, b) for g, a, b in zip(gold, results[qa_name], results[plumber_name])
              if (a.found, a.period_right) != (b.found, b.period_right)]
    print(f"\n{len(differ)} gold cells where the two disagree"
          f"{f'; the first {args.examples}' if len(differ) > args.examples else ''}:")
    for g, a, b in differ[: args.examples]:
        print(f"\n{g.id} {g.source}: {g.fact} under {g.period!r}")
        for label, o in (("qa", a), ("pdfplumber", b)):
            status = "period right" if o.period_right else "found" if o.found else "not found"
            columns = "; ".join(repr(c) for c in o.columns[:3]) or "-"
            print(f"  {label}: {status}; columns of equal cells: {columns}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
