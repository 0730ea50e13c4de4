"""OCR engines side by side, on pages whose true text is known: PDF pages with a text layer,
drawn as images and read by each engine (``qa.ingest.readers.ocr``) as a scanned page would be.

    python eval/bench_ocr.py [PDF ...] [--per-file 1] [--dpi 300] [--engines rapidocr,tesseract]

For each engine: character accuracy (1 - edit distance / characters of the page's lines, one
after the other, whitespace runs as one space; and again with no whitespace at all, which
forgives a lost space), word accuracy (share of the page's words that OCR read, in any
order: a text layer runs two columns into one line where OCR reads them apart), line accuracy
(share of the text layer's lines that some OCR line equals), seconds per
page (drawing and reading; the engine's loading apart) and peak memory (RSS of the process
that drew and read the pages, tesseract's own processes counted). Each engine runs in a child
process of its own, one after the other on the same pages, so memory is the engine's alone;
"draw only" is that process drawing the pages without reading them.
Default pages: per file, the first from its fourth page on with 10 lines or more, of
eval/corpora/reports and the shared 10-Q filings.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.ingest.readers.ocr import DPI  # noqa: E402  - the reader's resolution

DEFAULT = [*sorted((ROOT / "eval/corpora/reports").glob("*.pdf")),
           *sorted((ROOT.parent / "shared/benchmarks/sec10q/docs").glob("*.pdf"))]
ENGINES = ("draw only", "rapidocr", "tesseract")


def pick(path: Path, per_file: int) -> list[tuple[int, list[str]]]:
    """(page number, text layer lines) of up to ``per_file`` pages holding 10 lines or more."""
    from qa.ingest.readers import read_view

    view = read_view(path.name, path.read_bytes())
    full = [(n, view.page(n) or []) for n in range(1, len(view.pages) + 1)]
    full = [(n, lines) for n, lines in full if sum(bool(x.strip()) for x in lines) >= 10]
    later = [p for p in full if p[0] >= 4] or full
    return later[:per_file]


def norm(line: str) -> str:
    return " ".join(line.split())


def matched(got: list[str], want: list[str]) -> tuple[int, int]:
    """Of the true lines ``want``, how many a read line in ``got`` equals, and of their words
    how many were read (a line or word counted as often as both hold it)."""
    have = Counter(got)
    lines = sum(min(n, have[x]) for x, n in Counter(want).items())
    have = Counter(" ".join(got).split())
    words = sum(min(n, have[w]) for w, n in Counter(" ".join(want).split()).items())
    return lines, words


def distance(a: str, b: str) -> int:
    """Levenshtein distance, a row at a time in numpy (an insertion is a running minimum)."""
    import numpy as np

    if not a or not b:
        return max(len(a), len(b))
    bs = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    steps = np.arange(len(b) + 1)
    row = steps.copy()
    for i, ch in enumerate(a, 1):
        cost = (bs != ord(ch)).astype(np.int64)
        new = np.empty_like(row)
        new[0] = i
        new[1:] = np.minimum(row[1:] + 1, row[:-1] + cost)
        row = np.minimum.accumulate(new - steps) + steps
    return int(row[-1])


def child(engine: str, dpi: int) -> None:
    """Read the pages given on stdin; print one JSON line per page, then the peak memory."""
    import pypdfium2 as pdfium

    from qa.ingest.readers import ocr
    from qa.ingest.readers.pdf import draw

    pages = json.loads(sys.stdin.read())
    reader = None
    if engine != "draw only":
        began = time.perf_counter()
        reader = ocr.engine(engine)
        getattr(reader, "_engine", None)  # RapidOCR loads its models here
        print(json.dumps({"load": time.perf_counter() - began, "version": reader.version()}))
    for path, number in pages:
        pdf = pdfium.PdfDocument(path)
        began = time.perf_counter()
        image = draw(pdf, number - 1, dpi)
        lines = [] if reader is None else [x.text for x in ocr.group(reader.read(image),
                                                                     *image.size)]
        print(json.dumps({"seconds": time.perf_counter() - began, "lines": lines}), flush=True)
        pdf.close()
    peak = max(resource.getrusage(who).ru_maxrss
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({"peak_mb": peak / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pdfs", nargs="*", type=Path)
    ap.add_argument("--per-file", type=int, default=1)
    ap.add_argument("--dpi", type=int, default=DPI)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--show", action="store_true", help="print each page's worst lines")
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.dpi)
    pages = [(str(p), n, lines)
             for p in args.pdfs or DEFAULT for n, lines in pick(p, args.per_file)]
    print(f"{len(pages)} pages at {args.dpi} dpi from {len({p for p, _, _ in pages})} PDFs")
    rows = []
    for engine in args.engines.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--dpi", str(args.dpi)],
            input=json.dumps([(p, n) for p, n, _ in pages]), capture_output=True, text=True,
            check=True)
        out = [json.loads(x) for x in done.stdout.splitlines()]
        head = out.pop(0) if "load" in out[0] else {}
        peak = out.pop()["peak_mb"]
        edits = spaceless = chars = chars_ns = words = found = total = 0
        for (path, number, truth), page in zip(pages, out):
            if engine == "draw only":
                continue
            want = [norm(x) for x in truth if norm(x)]
            got = [norm(x) for x in page["lines"] if norm(x)]
            a, b = " ".join(got), " ".join(want)
            edits += distance(a, b)
            chars += len(b)
            spaceless += distance(a.replace(" ", ""), b.replace(" ", ""))
            chars_ns += len(b.replace(" ", ""))
            same_lines, same_words = matched(got, want)
            found += same_lines
            words += same_words
            total += len(want)
            if args.show:
                print(f"--- {engine} {Path(path).name} p.{number}")
                print("\n".join([f"  want {w!r}" for w in want if w not in got][:5]))
                print("\n".join([f"   got {g!r}" for g in got if g not in want][:5]))
        count = len(" ".join(norm(x) for _, _, t in pages for x in t).split())
        seconds = [p["seconds"] for p in out]
        rows.append((f"{engine} {head.get('version', '')}".strip(),
                     f"{1 - edits / chars:.3f}" if chars else "-",
                     f"{1 - spaceless / chars_ns:.3f}" if chars_ns else "-",
                     f"{words / count:.3f}" if chars else "-",
                     f"{found / total:.3f}" if total else "-",
                     f"{sum(seconds) / len(seconds):.2f}", f"{max(seconds):.2f}",
                     f"{head.get('load', 0):.2f}", f"{peak:.0f}"))
    head_row = ("engine", "chars", "chars no-space", "words", "lines", "s/page", "max s", "load s",
                "peak MB")
    widths = [max(len(r[i]) for r in [head_row, *rows]) for i in range(len(head_row))]
    for r in [head_row, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")


if __name__ == "__main__":
    main()
