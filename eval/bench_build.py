"""What the first install costs: llama-cpp-python compiled from its source distribution, as
`make setup` builds it (the Makefile's LLAMA_CMAKE_ARGS) and with llama-cpp-python's defaults,
one after the other in one run.

    python eval/bench_build.py [--version 0.3.36] [--only project|default]

Each build runs `pip wheel --no-deps --no-cache-dir` into a throw-away folder (PyPI is the one
place it reads from) and is timed by its wall clock and by the CPU seconds of pip and every
compiler it ran: CPU seconds hardly change with what else the machine is doing, so their ratio
is the one to compare across machines; wall time on an idle machine is about CPU / cores.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_cmake_args() -> str:
    """The CMake options the Makefile builds llama.cpp with (its LLAMA_CMAKE_ARGS)."""
    found = re.search(r"^LLAMA_CMAKE_ARGS\s*\?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    return found[1].strip() if found else ""


def build(version: str, cmake_args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CMAKE_ARGS"}
    if cmake_args:
        env["CMAKE_ARGS"] = cmake_args
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-cache-dir",
                        "-w", out, f"llama-cpp-python=={version}"], env=env, check=True)
        size = sum(p.stat().st_size for p in Path(out).iterdir())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cmake_args": cmake_args or "(none)", "wall_s": round(time.perf_counter() - began, 1),
            "cpu_s": round(cpu, 1), "wheel_mb": round(size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="0.3.36", help="llama-cpp-python to build")
    parser.add_argument("--only", choices=["project", "default"], help="build one of the two")
    args = parser.parse_args()
    builds = {"project": project_cmake_args(), "default": ""}
    rows = {name: build(args.version, cmake) for name, cmake in builds.items()
            if args.only in (None, name)}
    print(f"llama-cpp-python {args.version}, {os.cpu_count()} cores\n")
    print("| build | CMAKE_ARGS | wall s | CPU s | wheel MB |\n|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['cmake_args']} | {r['wall_s']} | {r['cpu_s']} | {r['wheel_mb']} |")
    if len(rows) == 2:
        mine, theirs = rows["project"], rows["default"]
        print(f"\nproject / default: CPU {mine['cpu_s'] / theirs['cpu_s']:.2f}, "
              f"wall {mine['wall_s'] / theirs['wall_s']:.2f}")


if __name__ == "__main__":
    main()
