"""Every ```python block of README.md and of docs/*.md runs as written, against a copy of the
seed; every relative link of those pages leads somewhere; the README stays short.

The blocks of one page run in page order in one namespace (a later block uses the ``qa`` of an
earlier one), in a fresh working directory holding ``seeds/``, on the real default backend; each
docs page gets its own namespace and directory. A block preceded by ``<!-- not run: why -->`` is
skipped; an expression whose comment starts with a double-quoted string
(``label  # "seeds/...:L30"``) must evaluate to exactly that string.

A relative link (``[text](docs/reading.md#long-lines)``, ``[text](#settings)``) must name a file
that exists and, after ``#``, a heading of that file (GitHub's anchor for it). Links inside code
are not links.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import tokenize
from pathlib import Path
from urllib.parse import unquote

import pytest

from .conftest import ROOT, SEED_DIR

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 250  # a newcomer reads it to the end; the mechanics live in docs/
FLOW = "../README.md#how-it-works"  # every docs page opens with a link back to it

FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
NOT_RUN = re.compile(r"<!-- not run: .+ -->\s*$")
CLAIM = re.compile(r'#\s*("(?:[^"\\]|\\.)*")')  # a comment that opens with a quoted string

ANY_FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).*?\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


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


def run_block(first: int, code: str, namespace: dict, page: Path = README) -> int:
    """Execute the block statement by statement; returns how many claims were checked."""
    said = claims(code)
    checked = 0
    for node in ast.parse(code).body:
        ast.increment_lineno(node, first - 1)
        if isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), str(page), "eval"), namespace)
            if (line := node.end_lineno - first + 1) in said:
                assert value == said[line], f"{rel(page)}:{node.end_lineno}: {value!r}"
                checked += 1
        else:
            exec(compile(ast.Module([node], []), str(page), "exec"), namespace)
    return checked


def run_page(page: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a page's blocks in a fresh directory holding a copy of the seed; claims checked."""
    blocks = python_blocks(page.read_text())
    assert all(code.strip() for _, code, _ in blocks), f"{rel(page)}: an empty ```python block"
    shutil.copytree(SEED_DIR, workdir / "seeds")
    monkeypatch.chdir(workdir)
    namespace: dict = {"__name__": "__readme__"}
    return sum(run_block(first, code, namespace, page) for first, code, run in blocks if run)


@pytest.mark.llm  # the default backend: the local model
def test_readme_python_blocks_run_as_written(tmp_path, monkeypatch):
    assert python_blocks(README.read_text())
    checked = run_page(README, tmp_path, monkeypatch)
    assert checked >= 2  # the citation labels the README promises


DOCS_WITH_CODE = [p for p in PAGES[1:] if any(run for *_, run in python_blocks(p.read_text()))]


@pytest.mark.llm
@pytest.mark.parametrize("page", DOCS_WITH_CODE or [pytest.param(None, marks=pytest.mark.skip(
    reason="no docs/*.md page has a ```python block to run"))], ids=lambda p: p and p.name)
def test_docs_python_blocks_run_as_written(page, tmp_path, monkeypatch):
    run_page(page, tmp_path, monkeypatch)


# ---- links ----------------------------------------------------------------------------------

def prose_lines(text: str, blank_code: bool = True) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks; inline code blanked out unless not."""
    out, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if m := ANY_FENCE.match(line):
            if fence is None:
                fence = m.group(1)
            elif line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
                fence = None
            continue
        if fence is None:
            out.append((number, CODE_SPAN.sub(lambda c: " " * len(c.group()), line)
                                if blank_code else line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page (a repeated heading's get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(page.read_text(), blank_code=False):
        if m := HEADING.match(line):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every relative link and image of a page."""
    found = []
    for number, line in prose_lines(page.read_text()):
        targets = [m.group(1) for m in LINK.finditer(line)]
        if m := REF_DEFINITION.match(line):
            targets.append(m.group(1))
        found += [(number, t) for t in targets if not SCHEME.match(t)]
    return found


def broken(page: Path, target: str) -> str | None:
    """Why a relative link of ``page`` leads nowhere, or None when it leads somewhere."""
    path, _, anchor = target.partition("#")
    dest = (page.parent / unquote(path)).resolve() if path else page
    if not path and not anchor:
        return "empty link"
    if not dest.exists():
        return f"no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}"
    if anchor:
        if dest.is_dir() or dest.suffix.lower() != ".md":
            return f"#{anchor} in a file that is not Markdown"
        if unquote(anchor).lower() not in anchors(dest):
            return f"no heading #{anchor} in {rel(dest)}"
    return None


def test_relative_links_lead_to_files_and_headings_that_exist():
    links = [(page, number, target) for page in PAGES for number, target in relative_links(page)]
    bad = [f"{rel(page)}:{number}: ({target}) {why}" for page, number, target in links
           if (why := broken(page, target))]
    assert not bad, "broken links:\n" + "\n".join(bad)
    assert len(links) > len(PAGES)  # the links were found, not skipped


def test_every_docs_page_is_linked_and_links_back_to_the_flow():
    linked = {(page.parent / unquote(t.partition("#")[0])).resolve()
              for page in PAGES for _, t in relative_links(page) if t.partition("#")[0]}
    for page in PAGES[1:]:
        first = page.read_text().splitlines()[0]
        assert f"]({FLOW})" in first, f"{rel(page)}: line 1 does not link back to {FLOW}"
        assert page.resolve() in linked, f"{rel(page)}: no page links to it"


def test_the_flow_links_each_stage_to_its_page():
    text = README.read_text()
    flow = text[text.index("## How it works"):].split("\n## ", 1)[0]
    stages = re.findall(r"^\d+\. \[\*\*(.+?)\*\*\]\((docs/[^)]+)\)", flow, re.M)
    assert len(stages) >= 10, stages
    assert all(not broken(README, target) for _, target in stages)


def test_readme_stays_under_250_lines():
    lines = len(README.read_text().splitlines())
    assert lines < MAX_README_LINES, f"README.md has {lines} lines; move detail to docs/"


def test_every_setting_is_documented_in_a_settings_table():
    """The README's table and docs/settings.md (the expert ones) together list every setting of
    qa/config.py, and nothing that is not one."""
    from qa.config import Settings, env_name

    text = README.read_text()
    readme_table = text[text.index("## Settings"):].split("\n## ", 1)[0]
    tables = readme_table + (DOCS / "settings.md").read_text()
    documented = {var for row in tables.splitlines() if row.startswith("| `")
                  for var in re.findall(r"`((?:QA|OPENAI)_[A-Z_]+)`", row.split(" | ")[0])}
    settings = {env_name(field) for field in Settings.model_fields}
    assert settings - documented == set(), "undocumented settings"
    assert documented - settings == set(), "documented, but not settings"
