"""``qa eval`` from the command line: run the eval, print its table, check the bars.

The eval itself is ``pipeline.run``; this module only turns arguments into a call and the
summary into output and an exit code (``qa/cli.py`` parses the arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError
from .metrics import METRICS
from .pipeline import run


def parse_bars(specs: Iterable[str], flag: str) -> dict[str, float]:
    """``["answer_accuracy=0.8"]`` -> {"answer_accuracy": 0.8}; unknown names are an error."""
    bars = {}
    for spec in specs:
        name, sep, value = spec.rpartition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"{flag} {spec!r}: expected METRIC=VALUE, e.g. answer_accuracy=0.8")
        if name not in METRICS:
            raise InputError(f"{flag}: unknown metric {name!r}; one of {', '.join(METRICS)}")
        try:
            bars[name] = float(value)
        except ValueError:
            raise InputError(f"{flag} {spec!r}: {value!r} is not a number") from None
    return bars


def check_bars(
    metrics: dict[str, Any], under: dict[str, float], over: dict[str, float]
) -> list[str]:
    """One message per bar the metrics miss; a metric that was not measured misses its bar."""
    failures = []
    for bars, below in ((under, True), (over, False)):
        for name, bar in bars.items():
            value = metrics.get(name)
            if value is None:
                failures.append(f"{name} was not measured (bar {bar:g})")
            elif (value < bar) if below else (value > bar):
                word = "below" if below else "above"
                failures.append(f"{name} = {value:g} is {word} the bar {bar:g}")
    return failures


def main(args: argparse.Namespace) -> int:
    """``qa eval``: run, print the table, exit 3 when a --fail-under/--fail-over bar is missed."""
    from .report import format_table

    under = parse_bars(args.fail_under or [], "--fail-under")
    over = parse_bars(args.fail_over or [], "--fail-over")
    summary = run(args.dataset, corpus=args.corpus, backend=args.backend, top_k=args.k,
                  index=args.index, out=args.out, compare=args.compare, limit=args.limit,
                  sample=args.sample, progress=not args.quiet)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_table(summary))
        print(f"\nreport: {Path(summary['out'], 'report.md')}")
    failures = check_bars(summary["metrics"], under, over)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 3 if failures else 0
