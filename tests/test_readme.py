"""Every ```python block of README.md runs as written, against a copy of the seed.

The blocks run in README order in one namespace (a later block uses the ``qa`` of an earlier
one), in a fresh working directory holding ``seeds/``, on the real default backend. A block
preceded by ``<!-- not run: why -->`` is skipped; an expression whose comment starts with a
double-quoted string (``label  # "seeds/...:L30"``) must evaluate to exactly that string.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import tokenize

import pytest

from .conftest import ROOT, SEED_DIR

pytestmark = pytest.mark.llm  # the default backend: the local model
README = ROOT / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
NOT_RUN = re.compile(r"<!-- not run: .+ -->\s*$")
CLAIM = re.compile(r'#\s*("(?:[^"\\]|\\.)*")')  # a comment that opens with a quoted string


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(first line number, code, run?) of every ```python block."""
    blocks = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        first = text.count("\n", 0, m.start(1)) + 1
        blocks.append((first, m.group(1), not NOT_RUN.search(before)))
    return blocks


def claims(code: str) -> dict[int, str]:
    """Line -> the string its comment says the line's expression evaluates to."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and (m := CLAIM.match(tok.string)):
            said = ast.literal_eval(m.group(1))
            if "..." not in said:  # an elided value is an illustration, not a claim
                out[tok.start[0]] = said
    return out


def run_block(first: int, code: str, namespace: dict) -> int:
    """Execute the block statement by statement; returns how many claims were checked."""
    said = claims(code)
    checked = 0
    for node in ast.parse(code).body:
        ast.increment_lineno(node, first - 1)
        if isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), str(README), "eval"), namespace)
            if (line := node.end_lineno - first + 1) in said:
                assert value == said[line], f"README.md:{node.end_lineno}: {value!r}"
                checked += 1
        else:
            exec(compile(ast.Module([node], []), str(README), "exec"), namespace)
    return checked


def test_readme_python_blocks_run_as_written(tmp_path, monkeypatch):
    blocks = python_blocks(README.read_text())
    assert blocks and all(code.strip() for _, code, _ in blocks)
    shutil.copytree(SEED_DIR, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    checked = sum(run_block(first, code, namespace) for first, code, run in blocks if run)
    assert checked >= 2  # the citation labels the README promises
