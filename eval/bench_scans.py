"""Scanned copies of documents whose text is known, and how well qa reads them back.

    python eval/bench_scans.py build OUT [--dpi 150,200] [--variants clean,skewed]
                                         [--articles 20] [--filings 12] [--pages 0]
    python eval/bench_scans.py lines OUT [--engines tesseract,rapidocr] [--only AAPL,...]
                                         [--cache QA_CACHE_DIR/ocr]

``build`` writes image-only PDFs (the data is built, never committed): the squad2-dev articles
typeset onto Letter pages (a sentence starts a line; DejaVu Serif 11 pt) and the pages of the
sec10q filings, each drawn at every ``--dpi``, ``clean`` and ``skewed`` (turned 0.4-1.0
degrees, grey noise added, as a flatbed scan is). Beside each set: ``truth.json`` (each page's
true lines: the typeset lines, or the filing's text layer as qa reads it) and, for squad2-dev,
``questions.jsonl`` naming the copies, so that ``qa eval`` runs on them as on the text, and
the typeset lines as text files (``200-clean-text``: the same line breaks, no OCR):

    qa eval OUT/squad2-dev/200-clean/questions.jsonl --corpus OUT/squad2-dev/200-clean ...

``lines`` reads every copy through qa's own reader (``read_view`` with OCR, as ingest does)
(``--cache``: reusing the lines an ingest of the copies read) and prints, per set,
resolution, variant and engine: line accuracy (the share of true lines
some read line equals after folding whitespace and case), word accuracy, and pages a second.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "benchmarks"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
PAGE_INCHES = (8.5, 11.0)
MARGIN_INCHES = 1.0
POINTS = 11


def typeset(lines: list[str], dpi: int) -> list[tuple[object, list[str], list[int]]]:
    """Pages of ``lines`` (one sentence each) wrapped to the text width: (image, the lines
    drawn on it, the source line each drawn line comes from)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), round(POINTS / 72 * dpi))
    width, height = (round(x * dpi) for x in PAGE_INCHES)
    margin = round(MARGIN_INCHES * dpi)
    step = round(POINTS / 72 * dpi * 1.4)
    drawn: list[tuple[str, int]] = []
    for number, line in enumerate(lines, 1):
        words, row = line.split(), ""
        for word in words:
            wider = f"{row} {word}".strip()
            if row and font.getlength(wider) > width - 2 * margin:
                drawn.append((row, number))
                wider = word
            row = wider
        if row:
            drawn.append((row, number))
    per_page = (height - 2 * margin) // step
    pages: list[tuple[object, list[str], list[int]]] = []
    for start in range(0, len(drawn), per_page):
        part = drawn[start:start + per_page]
        image = Image.new("L", (width, height), 255)
        pen = ImageDraw.Draw(image)
        for i, (text, _) in enumerate(part):
            pen.text((margin, margin + i * step), text, font=font, fill=0)
        pages.append((image, [t for t, _ in part], [n for _, n in part]))
    return pages


def skew(image, seed: str):
    """``image`` as a flatbed scan gives it: turned a little, with grey noise."""
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    angle = rng.choice((-1, 1)) * rng.uniform(0.4, 1.0)
    turned = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 12, (turned.height,
                                                                         turned.width))
    return Image.fromarray(np.clip(np.asarray(turned, dtype=np.float32) + noise, 0,
                                   255).astype(np.uint8))


def typeset_text(home: Path, truth: dict[str, list[list[str]]]) -> None:
    """The same typeset lines as text files (``HOME-text``), with the questions: what OCR
    is measured against, so that only reading the pictures differs, not the line breaks."""
    text = home.with_name(home.name + "-text")
    text.mkdir(parents=True, exist_ok=True)
    for name, pages in truth.items():
        (text / Path(name).with_suffix(".txt").name).write_text(
            "".join(f"{line}\n" for page in pages for line in page))
    with (text / "questions.jsonl").open("w") as f:
        for line in (home / "questions.jsonl").read_text().splitlines():
            q = json.loads(line)
            f.write(json.dumps({**q, "source": Path(q["source"]).with_suffix(".txt").name})
                    + "\n")


def save(images: list, path: Path, dpi: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi)


def build(out: Path, dpis: list[int], variants: list[str], articles: int, filings: int,
          pages: int) -> None:
    import pypdfium2 as pdfium

    from qa.ingest.readers import read_view
    from qa.ingest.readers.pdf import draw

    docs = sorted((SHARED / "squad2-dev" / "docs").glob("*.txt"))[:articles]
    questions = [json.loads(x) for x in
                 (SHARED / "squad2-dev" / "questions.jsonl").read_text().splitlines() if x]
    for dpi in dpis:
        for variant in variants:
            home = out / "squad2-dev" / f"{dpi}-{variant}"
            truth: dict[str, list[list[str]]] = {}
            home.mkdir(parents=True, exist_ok=True)
            where: dict[str, dict[int, list[int]]] = {}  # file -> source line -> drawn lines
            for doc in docs:
                set_pages = typeset(doc.read_text().splitlines(), dpi)
                name = doc.with_suffix(".pdf").name
                images = [im if variant == "clean" else skew(im, f"{name}{n}")
                          for n, (im, _, _) in enumerate(set_pages)]
                save(images, home / name, dpi)
                truth[name] = [lines for _, lines, _ in set_pages]
                seen = 0
                for _, _, sources in set_pages:
                    for source in sources:
                        seen += 1
                        where.setdefault(name, {}).setdefault(source, []).append(seen)
            with (home / "questions.jsonl").open("w") as f:
                for q in questions:
                    name = Path(q["source"]).with_suffix(".pdf").name
                    if name in truth:
                        drawn = [d for n in q.get("lines", []) for d in where[name].get(n, [])]
                        f.write(json.dumps({**q, "source": name, "lines": drawn}) + "\n")
            if truth:
                (home / "truth.json").write_text(json.dumps(truth))
                typeset_text(home, truth)
            print(f"{home}: {len(truth)} articles, {sum(map(len, truth.values()))} pages",
                  flush=True)

            home = out / "sec10q" / f"{dpi}-{variant}"
            home.mkdir(parents=True, exist_ok=True)
            truth = {}
            for path in sorted((SHARED / "sec10q" / "docs").glob("*.pdf"))[:filings]:
                view = read_view(path.name, path.read_bytes())
                pdf = pdfium.PdfDocument(path)
                count = min(len(pdf), pages) if pages else len(pdf)
                images = [draw(pdf, i, dpi) for i in range(count)]
                pdf.close()
                if variant != "clean":
                    images = [skew(im, f"{path.name}{n}") for n, im in enumerate(images)]
                save(images, home / path.name, dpi)
                truth[path.name] = [view.page(n) or [] for n in range(1, count + 1)]
            if truth:
                (home / "truth.json").write_text(json.dumps(truth))
            print(f"{home}: {len(truth)} filings, {sum(map(len, truth.values()))} pages",
                  flush=True)


def fold(line: str) -> str:
    return " ".join(line.split()).casefold()


def lines(out: Path, engines: list[str], only: list[str], cache: Path | None) -> None:
    from bench_ocr import matched

    from qa.ingest.readers import read_view
    from qa.ingest.readers.ocr import Ocr

    print("| set | copy | engine | pages | lines | words | pages/s |")
    print("|---|---|---|---|---|---|---|")
    for truth_file in sorted(out.glob("*/*/truth.json")):
        truth = json.loads(truth_file.read_text())
        for name in engines:
            found = total = words = count = pages = 0
            began = time.perf_counter()
            for file, want_pages in truth.items():
                if only and not any(x in file for x in only):
                    continue
                path = truth_file.parent / file
                view = read_view(file, path.read_bytes(), ocr=Ocr(name, cache))
                for number, want in enumerate(want_pages, 1):
                    got = [fold(x) for x in view.page(number) or [] if fold(x)]
                    want = [fold(x) for x in want if fold(x)]
                    same_lines, same_words = matched(got, want)
                    found += same_lines
                    words += same_words
                    total += len(want)
                    count += len(" ".join(want).split())
                    pages += 1
            took = time.perf_counter() - began
            print(f"| {truth_file.parent.parent.name} | {truth_file.parent.name} | {name} | "
                  f"{pages} | {found / max(total, 1):.3f} | {words / max(count, 1):.3f} | "
                  f"{pages / took:.2f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("build", "lines"))
    ap.add_argument("out", type=Path)
    ap.add_argument("--dpi", default="150,200")
    ap.add_argument("--variants", default="clean,skewed")
    ap.add_argument("--articles", type=int, default=20)
    ap.add_argument("--filings", type=int, default=12)
    ap.add_argument("--pages", type=int, default=0, help="the first N pages of a filing (0: all)")
    ap.add_argument("--engines", default="tesseract")
    ap.add_argument("--cache", type=Path, help="lines: OCR's cache of an ingest "
                    "(QA_CACHE_DIR/ocr), so pages ingested are not read twice")
    ap.add_argument("--only", default="", help="lines: files whose names hold one of these")
    args = ap.parse_args()
    if args.what == "build":
        build(args.out, [int(x) for x in args.dpi.split(",")], args.variants.split(","),
              args.articles, args.filings, args.pages)
    else:
        lines(args.out, args.engines.split(","), [x for x in args.only.split(",") if x],
              args.cache)


if __name__ == "__main__":
    main()
