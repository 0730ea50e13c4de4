"""squad2-dev with each paragraph printed as one line, as HTML, Word and scraped articles are.

    python eval/paragraphs.py OUT [--squad ../shared/benchmarks/squad2-dev]
    qa eval OUT/questions.jsonl --corpus OUT/docs --sample 200 ...

The shared articles print a sentence a line, paragraphs apart by a blank line; most documents
people ask about print a paragraph a line instead, and a line of eight sentences relates to a
question, and reads to a model, unlike a line of one. This writes the same articles with each
paragraph joined onto one line (``OUT/docs``; one longer than qa's ``MAX_LINE_CHARS`` is cut
in display lines, as qa reads it) and the questions with their gold lines moved to those of
the paragraph (``OUT/questions.jsonl``, ``OUT/questions_full.jsonl``): the same questions and
answers over the other shape of text. The data is built, never committed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "squad2-dev"


def paragraphs(text: str) -> tuple[str, dict[int, list[int]]]:
    """The text with each run of non-blank lines joined onto one, runs a blank line apart,
    and the display lines (as qa numbers them: a line over ``MAX_LINE_CHARS`` is cut in
    several) each old line's paragraph now is."""
    from qa.ingest.readers._lines import numbered_display_lines, split_lines

    runs: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            runs[-1].append((number, line.strip()))
        elif runs[-1]:
            runs.append([])
    runs = [r for r in runs if r]
    joined = "\n\n".join(" ".join(line for _, line in run) for run in runs) + "\n"
    shown, starts = numbered_display_lines(split_lines(joined))
    starts.append(len(shown) + 1)
    moved = {number: list(range(starts[2 * i], starts[2 * i + 1]))
             for i, run in enumerate(runs) for number, _ in run}
    return joined, moved


def build(squad: Path, out: Path) -> None:
    (out / "docs").mkdir(parents=True, exist_ok=True)
    moved = {}
    for doc in sorted((squad / "docs").glob("*.txt")):
        text, moved[doc.name] = paragraphs(doc.read_text(encoding="utf-8"))
        (out / "docs" / doc.name).write_text(text, encoding="utf-8")
    for name in ("questions.jsonl", "questions_full.jsonl"):
        with open(out / name, "w", encoding="utf-8") as fh:
            for line in open(squad / name, encoding="utf-8"):
                q = json.loads(line)
                if q.get("lines"):
                    q["lines"] = sorted({d for n in q["lines"] for d in moved[q["source"]][n]})
                fh.write(json.dumps(q) + "\n")
    print(f"{len(moved)} articles, a paragraph a line: {out / 'docs'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--squad", type=Path, default=SHARED)
    args = ap.parse_args()
    build(args.squad, args.out)


if __name__ == "__main__":
    main()
