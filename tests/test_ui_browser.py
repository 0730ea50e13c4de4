"""The chat UI end to end: a real `qa serve`, driven in Debian's Chromium through Playwright.

The server answers with the extractive backend (fast, no model to download) over the seed.
Screenshots at desktop and phone size land in artifacts/ (git-ignored) for a human to look at;
time to the sources panel's passages, to the first verified sentence and to the whole answer
of the local model land in artifacts/ui_timings.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import BIN, ROOT, free_port, run_qa

ARTIFACTS = ROOT / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SEED_Q = "Which leader voiced support for Macron's stance?"
BOT = "#qa-chat [data-testid=bot]"

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser


# -- set-up: `qa serve` (the browser: conftest.py) -------------------------------------
class Server:
    """A `qa serve` subprocess on a free loopback port, with the tests' socket guard."""

    def __init__(self, index: Path, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(
            [str(BIN / "qa"), "serve", "--index", str(index), "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, "QA_BACKEND": "extractive", **env},
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self._wait()

    def _wait(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"qa serve exited:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise AssertionError(f"qa serve did not answer in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("ui")
    out = run_qa("ingest", "seeds/", "--index", str(work / "index"))
    assert out.returncode == 0, out.stderr
    srv = Server(work / "index", work / "serve.log")
    yield srv
    srv.stop()
    assert "Traceback" not in srv.log.read_text()


@contextlib.contextmanager
def chat_page(browser, url: str, viewport: dict = DESKTOP):
    """A new browser context's page on the chat at ``url``, once its question box is there."""
    context = browser.new_context(viewport=viewport)
    pg = context.new_page()
    pg.goto(url)
    pg.wait_for_selector("#qa-question textarea")
    yield pg
    context.close()


@pytest.fixture
def page(browser, server):
    with chat_page(browser, server.url) as pg:
        yield pg


# -- helpers -------------------------------------------------------------------------------
_ANSWERED = """([n]) => {
  const bots = document.querySelectorAll('#qa-chat [data-testid=bot]');
  if (bots.length < n) return false;
  const last = bots[bots.length - 1];
  return !last.querySelector('.qa-status') && last.innerText.trim() !== '';  // the final reply
}"""
_FIRST_TEXT = """([n]) => {  // the first verified sentence: text beside the status line
  const bots = document.querySelectorAll('#qa-chat [data-testid=bot]');
  if (bots.length < n) return false;
  const last = bots[bots.length - 1];
  const status = last.querySelector('.qa-status');
  const said = last.innerText.replace(status ? status.innerText : '', '').trim();
  return said !== '';
}"""

_SAID = """() => {  // the text of the last answer beside its status line (the status: null)
  const bots = document.querySelectorAll('#qa-chat [data-testid=bot]');
  const last = bots[bots.length - 1];
  const status = last.querySelector('.qa-status');
  return [last.innerText.replace(status ? status.innerText : '', '').trim(),
          status ? status.innerText : null];
}"""


_STATUS = """() => {  // the status line of the answer being made, or ''
  const s = document.querySelectorAll('#qa-chat [data-testid=bot] .qa-status');
  return s.length ? s[s.length - 1].innerText : '';
}"""


_SOURCES = """([n]) => {  // answer n's sources panel shows passages: being read, or cited
  const turn = document.querySelector(`#qa-sources .qa-turn[data-turn="${n}"]`);
  return !!(turn && turn.querySelector('.qa-passage, .qa-src'));
}"""

_READING = """([n]) => {  // answer n's panel of passages being read, with the bubble beside it
  const panel = document.querySelector(`#qa-sources .qa-turn[data-turn="${n}"] .qa-reading`);
  if (!panel) return false;
  const bots = document.querySelectorAll('#qa-chat [data-testid=bot]');
  const last = bots[bots.length - 1];
  return {heading: panel.querySelector('.qa-for .qa-k').textContent,
          labels: [...panel.querySelectorAll('.qa-passage.qa-reading .qa-label')]
            .map((el) => el.textContent),
          marked: panel.querySelectorAll('.qa-passage .qa-reading-tag').length,
          cited: panel.querySelectorAll('.qa-src').length,
          working: !!(bots.length >= n && last.querySelector('.qa-status'))};
}"""


def submit(pg, question: str) -> int:
    """Type and send a question; the number of bot messages to expect once it is answered."""
    n = pg.locator(BOT).count() + 1
    box = pg.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    return n


def wait_answer(pg, n: int, timeout: float = 60_000) -> str:
    try:
        pg.wait_for_function(_ANSWERED, arg=[n], timeout=timeout, polling=20)
    except playwright_api.TimeoutError:  # say what the chat showed instead
        bots = pg.locator(BOT).all_inner_texts()
        box = pg.locator("#qa-question textarea").input_value()
        raise AssertionError(f"no answer {n} in {timeout / 1000:.0f} s; the chat's replies: "
                             f"{bots}; the question box: {box!r}") from None
    return pg.locator(BOT).last.inner_text()


def ask(pg, question: str) -> str:
    return wait_answer(pg, submit(pg, question))


def sources(pg) -> str:
    """The panel's text as written (inner_text would apply CSS upper-casing)."""
    return pg.locator("#qa-sources").text_content()


def shot(pg, name: str, *, full: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"ui_{name}.png"
    pg.screenshot(path=str(path), full_page=full)
    return path


# -- tests ---------------------------------------------------------------------------------
def test_header_says_what_is_loaded(page):
    header = page.locator("#qa-header").inner_text()
    assert re.search(r"\d+ files? · \d+ chunks", header), header
    assert "backend extractive" in header
    examples = page.locator("#qa-examples").inner_text()
    assert SEED_Q in examples  # example questions under the input box
    shot(page, "desktop_empty")


def test_seed_question_streams_an_answer_with_its_cited_line(page):
    answer = ask(page, SEED_Q)
    assert "Estonian Prime Minister" in answer and "[L" not in answer
    chip = page.locator(f"{BOT} a.qa-cite").first
    assert chip.inner_text() == "1"
    style = chip.evaluate("el => [getComputedStyle(el).verticalAlign, getComputedStyle(el)"
                          ".backgroundColor, getComputedStyle(el).cursor]")
    assert style[0] == "super" and style[1] != "rgba(0, 0, 0, 0)" and style[2] == "pointer"
    panel = sources(page)
    assert "000_9c02e21fc74a5060.txt:L30" in panel
    assert "score" in panel and "Sources of answer 1" in panel
    hit = page.locator("#qa-src-1-1 .qa-hit")
    assert "30" in hit.locator(".qa-ln").inner_text()
    assert "Estonian Prime Minister" in hit.inner_text()
    lines = page.locator("#qa-src-1-1 .qa-ln").all_inner_texts()
    assert lines[0] == "27" and lines[-1] == "33"  # three lines of context each side
    assert (
        page.locator("#qa-src-1-1 .qa-lt")
        .first.evaluate("el => getComputedStyle(el.parentElement.parentElement).fontFamily")
        .lower()
        .count("mono")
    )
    assert page.locator("#qa-sources details.qa-more").count() == 1
    page.locator(f"{BOT} a.qa-cite").first.click()  # a marker focuses its source
    page.wait_for_selector("#qa-src-1-1.qa-focus")
    shot(page, "desktop_answer")


def test_phone_width_stacks_sources_under_the_chat(browser, server):
    context = browser.new_context(viewport=PHONE)
    pg = context.new_page()
    pg.goto(server.url)
    pg.wait_for_selector("#qa-question textarea")
    shot(pg, "phone_empty")
    assert "Estonian" in ask(pg, SEED_Q)
    chat, panel = pg.locator("#qa-chat").bounding_box(), pg.locator("#qa-sources").bounding_box()
    assert panel["y"] > chat["y"] + chat["height"]  # stacked, not squeezed side by side
    # ... and right after the chat and its input, before the examples and the upload panel
    assert panel["y"] - (chat["y"] + chat["height"]) < 160
    assert panel["y"] < pg.locator("#qa-examples").bounding_box()["y"]
    assert panel["y"] < pg.locator("#qa-docs").bounding_box()["y"]
    label = pg.locator("#qa-src-1-1 .qa-loc")
    assert label.inner_text() == ":L30" and label.evaluate(
        "el => el.getClientRects().length") == 1  # L30 never wraps in the middle
    assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(pg, "phone_answer")
    pg.locator("#qa-sources").scroll_into_view_if_needed()
    shot(pg, "phone_sources")
    context.close()


def test_desktop_puts_chat_left_and_sources_right(page):
    chat, panel = (
        page.locator("#qa-chat").bounding_box(),
        page.locator("#qa-sources").bounding_box(),
    )
    assert chat["x"] + chat["width"] <= panel["x"]
    assert abs(chat["y"] - panel["y"]) < 80


def test_a_refusal_shows_the_closest_passages_folded(page):
    answer = ask(page, "How do I bake sourdough bread?")
    assert answer.startswith("The documents don't say")
    assert page.locator(f"{BOT} a.qa-cite").count() == 0
    assert "No answer: the documents don't say." in sources(page)
    assert page.locator("#qa-sources .qa-src").count() == 0  # nothing is cited
    closest = page.locator("#qa-sources .qa-current details.qa-closest")
    assert "Closest passages, not enough to answer" in closest.locator("summary").inner_text()
    assert not closest.evaluate("el => el.open")  # folded
    closest.locator("summary").click()
    assert "000_9c02e21fc74a5060.txt" in closest.locator(".qa-passage").first.inner_text()
    shot(page, "desktop_refusal")


def test_follow_up_is_rewritten_and_shown(page):
    ask(page, SEED_Q)
    answer = ask(page, "What did he emphasize?")
    assert "actions rather than limitations" in answer
    rewritten = page.locator("#qa-sources .qa-current .qa-rewritten q").inner_text()
    assert "What did he emphasize?" in rewritten and rewritten != "What did he emphasize?"
    shot(page, "desktop_followup")
    page.locator("#qa-chat button[aria-label='Clear']").click()  # a new conversation
    page.wait_for_function("!document.querySelector('#qa-chat [data-testid=bot]')")
    assert ask(page, "What did he emphasize?").startswith("The documents don't say")


def test_empty_question_is_a_plain_message(page):
    page.locator("#qa-ask").click()
    notice = page.wait_for_selector("#qa-notice .qa-notice")
    assert "the question is empty" in notice.inner_text()
    assert page.locator(BOT).count() == 0


def test_upload_a_text_file_and_ask_about_it(page, tmp_path):
    notes = tmp_path / "lighthouse notes.txt"
    notes.write_text(
        "Harbour log, spring.\n\nThe lighthouse keeper of Port Aubrey is Marguerite Okonkwo.\n"
    )
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    page.locator("#qa-docs button.label-wrap").click()
    page.locator("#qa-upload input[type=file]").set_input_files([str(notes), str(photo)])
    table = page.wait_for_selector("#qa-ingest table", timeout=120_000)
    rows = table.inner_text()
    assert "lighthouse notes.txt\tadded" in rows
    assert "photo.png\tskipped\tnot a readable image" in rows  # OCR reads images; not this one
    page.wait_for_function(
        "document.querySelector('#qa-header').innerText.includes('2 files')", timeout=10_000
    )
    assert "lighthouse notes.txt" in page.locator("#qa-files").inner_text()
    shot(page, "desktop_upload", full=True)
    answer = ask(page, "Who is the lighthouse keeper of Port Aubrey?")
    assert "Marguerite Okonkwo" in answer
    assert "uploads/lighthouse notes.txt:L3" in sources(page)


def test_an_oversized_upload_is_refused_with_a_plain_message(page, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(("word " * 20 + "\n") * 110_000)  # 11 MB, over the 10 MB default
    page.locator("#qa-docs button.label-wrap").click()
    page.locator("#qa-upload input[type=file]").set_input_files([str(big)])
    page.wait_for_selector("text=exceed the maximum allowed size of 10.0 Mb", timeout=30_000)
    assert "Traceback" not in page.locator("body").inner_text()


def test_two_users_at_once_each_get_their_own_answer(browser, server):
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport=DESKTOP)
        pg = context.new_page()
        pg.goto(server.url)
        pg.wait_for_selector("#qa-question textarea")
        pages.append(pg)
    questions = [SEED_Q, "Which newspaper reported Macron's confidential discussions?"]
    expected = ["Estonian Prime Minister", "Wall Street Journal"]
    pending = [submit(pg, q) for pg, q in zip(pages, questions)]
    answers = [wait_answer(pg, n) for pg, n in zip(pages, pending)]
    for i, (pg, answer) in enumerate(zip(pages, answers)):
        assert expected[i] in answer and expected[1 - i] not in answer
        assert questions[1 - i] not in pg.locator("#qa-chat").inner_text()
        assert pg.locator(BOT).count() == 1
    for pg in pages:
        pg.context.close()


def test_markers_of_an_earlier_answer_open_that_answers_sources(page):
    ask(page, SEED_Q)
    ask(page, "Who opposed the idea, fearing it could sow discord among allies?")
    assert "Sources of answer 2" in page.locator("#qa-sources .qa-current").text_content()
    first, second = page.locator(BOT).nth(0), page.locator(BOT).nth(1)
    first.locator("a.qa-cite").first.click()
    page.wait_for_selector("#qa-src-1-1.qa-focus")
    current = page.locator("#qa-sources .qa-current")
    assert current.get_attribute("data-turn") == "1"
    assert "L30" in current.locator(".qa-src").first.inner_text()
    shot(page, "desktop_earlier_marker")
    second.locator("a.qa-cite").first.click()
    page.wait_for_selector("#qa-src-2-1.qa-focus")
    assert page.locator("#qa-sources .qa-current").get_attribute("data-turn") == "2"
    assert "L10" in page.locator("#qa-src-2-1").inner_text()


def test_a_passage_whose_file_changed_since_ingest_is_marked(browser, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "seeds", docs)
    index = tmp_path / "index"
    assert run_qa("ingest", str(docs), "--index", str(index)).returncode == 0
    seed = next(docs.iterdir())
    seed.write_text(seed.read_text().replace("Macron", "Macr0n", 1), encoding="utf-8")  # L1
    srv = Server(index, tmp_path / "serve.log")
    try:
        context = browser.new_context(viewport=DESKTOP)
        pg = context.new_page()
        pg.goto(srv.url)
        pg.wait_for_selector("#qa-question textarea")
        assert "Estonian Prime Minister" in ask(pg, SEED_Q)  # line 30 is as ingested
        pg.locator("#qa-sources .qa-current details.qa-more summary").click()
        stale = pg.locator("#qa-sources .qa-current .qa-passage.qa-stale")
        assert stale.count() == 1 and "L1-" in stale.locator(".qa-label").inner_text()
        assert "file changed since it was ingested" in stale.locator(".qa-changed").inner_text()
        assert pg.locator("#qa-sources .qa-current .qa-src .qa-changed").count() == 0
        shot(pg, "desktop_changed_passage", full=True)
        context.close()
    finally:
        srv.stop()


SLOW_REPLY = " ".join(
    ["The Estonian Prime Minister voiced support for Macron's stance [L30]."] * 40)


@contextmanager
def trickling_chat(browser, tmp_path: Path, reply: str, gate: threading.Event | None = None,
                   word_delay: float = 0.1, **env: str):
    """`qa serve` over the seed on a model that writes ``reply`` a word every ``word_delay``
    seconds (each request held until ``gate`` is set, if given), the seed question asked on a
    desktop page: (model, server, page, turn number)."""
    from .chat_server import ChatServer

    def script(n: int, body: dict) -> tuple[int, str, float]:
        if gate is not None:
            gate.wait(120)
        return 200, reply, 0.0

    index = tmp_path / "index"
    assert run_qa("ingest", "seeds/", "--index", str(index)).returncode == 0
    with ChatServer(script, word_delay=word_delay) as llm:
        srv = Server(index, tmp_path / "serve.log", QA_BACKEND="openai",
                     OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="test", QA_MIN_ANSWERABILITY="0",
                     **env)
        try:
            context = browser.new_context(viewport=DESKTOP)
            pg = context.new_page()
            pg.goto(srv.url)
            pg.wait_for_selector("#qa-question textarea")
            yield llm, srv, pg, submit(pg, SEED_Q)
            context.close()
        finally:
            srv.stop()
    assert "Traceback" not in srv.log.read_text()


def test_stop_cancels_the_answer_on_the_server(browser, tmp_path):
    """A model that writes a word every 0.1 s: the bubble says it is writing, shows the
    first verified sentence before the model is done, and Stop ends the request upstream;
    the passages being read leave the sources panel."""
    with trickling_chat(browser, tmp_path, SLOW_REPLY) as (llm, srv, pg, n):
        pg.wait_for_selector("#qa-stop", state="visible")
        pg.wait_for_function(_FIRST_TEXT, arg=[n], timeout=30_000, polling=20)
        bubble = pg.locator(BOT).last
        assert "Writing the answer" in bubble.locator(".qa-status").inner_text()
        assert "Estonian Prime Minister" in bubble.inner_text()
        assert "[L" not in bubble.inner_text()
        shot(pg, "desktop_writing")
        assert pg.locator("#qa-sources .qa-current .qa-reading .qa-passage").count() > 0
        sent = llm.words_sent
        pg.locator("#qa-stop").click()
        assert llm.hung_up.wait(10), "the model's stream was not closed"
        assert sent < llm.words_sent + 5 < len(SLOW_REPLY.split(" "))
        pg.wait_for_selector(f"{BOT} .qa-stopped")
        assert bubble.locator(".qa-status").count() == 0
        # the passages it was reading give way to the sources before it: none, here
        pg.wait_for_selector("#qa-sources .qa-empty")
        assert pg.locator("#qa-sources .qa-reading").count() == 0
        kept = bubble.inner_text()
        assert kept.startswith("The Estonian Prime Minister")  # kept, not withdrawn
        assert kept.endswith("(stopped)")
        pg.wait_for_selector("#qa-ask", state="visible")
        assert pg.locator("#qa-stop").is_hidden()
        shot(pg, "desktop_stopped")


_WAITING = """() => {  // the status of the last answer once it says its place in line
  const s = document.querySelectorAll('#qa-chat [data-testid=bot] .qa-status');
  const text = s.length ? s[s.length - 1].textContent : '';
  return /^Waiting in line: number \\d+ of \\d+/.test(text) && text;
}"""


def test_a_question_waiting_for_a_free_slot_shows_its_place_in_line(browser, tmp_path):
    """One answer at a time (QA_CONCURRENCY=1), the first held by the model until the test
    lets it go: a second user's question is in the chat at once, its bubble saying it waits
    in line and where; once the first is done it is answered, shown once."""
    gate = threading.Event()
    with trickling_chat(browser, tmp_path, TRICKLED, gate, word_delay=0.02,
                        QA_CONCURRENCY="1") as (llm, srv, first, n):
        while not llm.requests:  # the first answer holds the one slot
            time.sleep(0.05)
        context = browser.new_context(viewport=DESKTOP)
        pg = context.new_page()
        pg.goto(srv.url)
        pg.wait_for_selector("#qa-question textarea")
        mine = submit(pg, SEED_Q)
        place = pg.wait_for_function(_WAITING, timeout=30_000, polling=50).json_value()
        shot(pg, "desktop_waiting")
        assert place == "Waiting in line: number 1 of 1…"
        assert SEED_Q in pg.locator("#qa-chat").inner_text()  # the question, shown at once
        gate.set()
        assert "Estonian Prime Minister" in wait_answer(first, n)
        answer = wait_answer(pg, mine)
        assert answer.startswith("The Estonian Prime Minister voiced support")
        assert pg.locator(BOT).count() == 1  # the waiting bubble became the answer
        assert pg.locator("#qa-chat").inner_text().count(SEED_Q) == 1
        context.close()


def test_a_question_sent_while_an_answer_is_made_is_answered_after_it(browser, tmp_path):
    """A second question sent (Enter) while the first answer is still being made is neither
    dropped nor erased: its text stays in the box while the first answer streams, and once
    that answer is done the second is answered after it, each question shown once."""
    gate = threading.Event()
    second = "Who opposed the idea, fearing it could sow discord among allies?"
    with trickling_chat(browser, tmp_path, TRICKLED, gate, word_delay=0.05) as (
            llm, srv, pg, n):
        while not llm.requests:  # the first answer is at the model
            time.sleep(0.05)
        box = pg.locator("#qa-question textarea")
        mine = submit(pg, second)
        assert mine == n + 1
        gate.set()
        pg.wait_for_function(_FIRST_TEXT, arg=[n], timeout=30_000, polling=20)
        assert box.input_value() == second  # the first answer streams; the box is kept
        assert "Estonian Prime Minister" in wait_answer(pg, mine)
        chat = pg.locator("#qa-chat").inner_text()
        assert chat.count(SEED_Q) == 1 and chat.count(second) == 1, chat
        assert pg.locator(BOT).count() == 2 and box.input_value() == ""


# Four sentences, each verifiable on its own; 46 words and 2 closing events.
TRICKLED = (
    "The Estonian Prime Minister voiced support for Macron's stance [L30]. "
    "He emphasized focusing on actions rather than limitations [L30]. "
    "Scholz and other leaders, including the Netherlands, Poland and Greece, politely rebuffed "
    "the idea [L27]. "
    "Macron maintained that nothing can be ruled out regarding troop deployments [L32].")


def test_time_to_first_verified_sentence_is_before_the_whole_answer(browser, tmp_path):
    """A model that writes a word every 0.1 s (48 events, 4.8 s): its first sentence is on
    screen, verified, while the model is still writing, seconds before the whole answer."""
    events = len(TRICKLED.split(" ")) + 2  # a word each, then the finish and [DONE]
    with trickling_chat(browser, tmp_path, TRICKLED) as (llm, srv, pg, n):
        started = time.perf_counter()
        pg.wait_for_function(_FIRST_TEXT, arg=[n], timeout=30_000, polling=20)
        first, sent = time.perf_counter(), llm.words_sent
        said, status = pg.evaluate(_SAID)
        answer = wait_answer(pg, n)
        done = time.perf_counter()
    timings = {"first_verified_s": round(first - started, 2), "full_s": round(done - started, 2),
               "model_events_at_first": sent, "model_events": events}
    print("trickled answer:", timings)
    assert sent <= events - 20, timings  # the model had 20 or more words still to write ...
    assert done - first >= 1.5, timings  # ... and the whole answer came seconds later
    assert status and "Writing the answer" in status
    assert said.startswith("The Estonian Prime Minister voiced support for Macron")
    assert "[L" not in said and "Macron maintained" not in said  # only what is verified so far
    for sentence in ("He emphasized focusing", "politely rebuffed the idea",
                     "Macron maintained that nothing can be ruled out"):
        assert sentence in answer


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`qa serve` over the seed on the embedded local model."""
    work = tmp_path_factory.mktemp("ui-local")
    assert run_qa("ingest", "seeds/", "--index", str(work / "index")).returncode == 0
    srv = Server(work / "index", work / "serve.log", QA_BACKEND="local")
    yield srv
    srv.stop()
    assert "Traceback" not in srv.log.read_text()


@pytest.mark.llm
def test_local_model_in_the_browser_shows_stages_then_verified_text(browser, local_server):
    """The embedded default, as a user meets it: the status while it works, then only
    verified text. Time to the sources panel's passages, to the first verified sentence and
    to the whole answer, and the desktop and phone screenshots of a two-turn conversation
    (the same page, narrowed to a phone's width), land in artifacts/."""
    timings, stages = [], set()
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    pg.goto(local_server.url)
    pg.wait_for_selector("#qa-question textarea")
    for question in (SEED_Q, "What did he emphasize?"):
        n = submit(pg, question)
        started, sources_at = time.perf_counter(), None
        while not pg.evaluate(_FIRST_TEXT, [n]):
            if status := pg.evaluate(_STATUS):  # read at once: it may vanish any time
                stages.add(status.split(" ")[0])
            if sources_at is None and pg.evaluate(_SOURCES, [n]):
                sources_at = time.perf_counter()
            if pg.evaluate(_ANSWERED, [n]):
                break
            time.sleep(0.02)
        first = time.perf_counter()
        answer = wait_answer(pg, n, timeout=180_000)
        done = time.perf_counter()
        assert "[L" not in answer
        timings.append({"question": question,
                        "sources_s": round((sources_at or first) - started, 2),
                        "first_verified_s": round(first - started, 2),
                        "full_s": round(done - started, 2), "answer": answer})
    assert "Estonian" in pg.locator(BOT).first.inner_text()
    shot(pg, "desktop_two_turns", full=True)
    pg.set_viewport_size(PHONE)
    assert "Estonian" in pg.locator(BOT).first.inner_text()
    shot(pg, "phone_two_turns", full=True)
    context.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ui_timings.json").write_text(json.dumps(timings, indent=2))
    print("browser timings:", json.dumps(timings, indent=2))
    assert {"Reading", "Writing"} <= stages, stages


@pytest.mark.llm
def test_local_model_sources_show_the_passages_being_read_before_the_answer(browser,
                                                                           local_server):
    """While the local model writes, the sources panel already holds the passages retrieved,
    each marked as being read; the verified answer's cited cards replace them."""
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    pg.goto(local_server.url)
    pg.wait_for_selector("#qa-question textarea")
    n = submit(pg, "Who opposed the idea, fearing it could sow discord among allies?")
    seen = pg.wait_for_function(_READING, arg=[n], timeout=60_000, polling=20).json_value()
    shot(pg, "desktop_reading")
    assert seen["working"], seen  # the answer was still being made
    assert seen["heading"] == "Sources of answer 1: reading…"
    assert seen["labels"] and seen["marked"] == len(seen["labels"]) and seen["cited"] == 0
    assert all("000_9c02e21fc74a5060.txt:L" in label for label in seen["labels"])
    answer = wait_answer(pg, n, timeout=180_000)
    assert "Scholz" in answer
    assert pg.locator("#qa-sources .qa-reading").count() == 0
    assert pg.locator("#qa-src-1-1").count() == 1
    assert "Sources of answer 1" in sources(pg) and "reading…" not in sources(pg)
    shot(pg, "desktop_read")
    context.close()


def test_login_is_required_when_configured(browser, tmp_path):
    srv = Server(tmp_path / "empty-index", tmp_path / "serve.log", QA_UI_AUTH="user:s3cret")
    try:
        context = browser.new_context(viewport=DESKTOP)
        pg = context.new_page()
        pg.goto(srv.url)
        pg.wait_for_selector("input[type=password]")
        assert pg.locator("#qa-question").count() == 0
        pg.locator("input[data-testid=textbox]").fill("user")
        pg.locator("input[type=password]").fill("wrong")
        pg.get_by_role("button", name="Login").click()
        pg.wait_for_selector("text=Incorrect Credentials")
        assert pg.locator("#qa-question").count() == 0
        shot(pg, "desktop_login_rejected")
        pg.locator("input[data-testid=textbox]").fill("user")  # the failed try cleared it
        pg.locator("input[type=password]").fill("s3cret")
        pg.get_by_role("button", name="Login").click()
        pg.wait_for_selector("#qa-question textarea", timeout=30_000)
        # nothing is indexed on this server: a plain message, not a stack trace
        assert "nothing indexed" in pg.locator("#qa-header").inner_text()
        reply = ask(pg, "Who supported Macron?")
        assert "nothing is indexed" in reply and "add documents" in reply
        assert "Traceback" not in reply
        shot(pg, "desktop_nothing_indexed")
        context.close()
    finally:
        srv.stop()


# -- collections and saved conversations ----------------------------------------------------
HR = "Parental leave at Northwind is 16 weeks for every employee, paid in full.\n"
DENTAL = "Dental cover at Northwind pays 80 percent of every check-up.\n"
ENG = "The Northwind build server runs Debian 13 and compiles with GCC 14.\n"
ASK_HR = "How long is parental leave at Northwind?"
ASK_DENTAL = "How much of a check-up does dental cover at Northwind pay?"
ASK_ENG = "Which compiler does the Northwind build server use?"
REFUSED = "The documents don't say"


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """`qa serve` over collections hr (two files) and eng (one), started on hr; and the
    folder that holds the documents and the index."""
    work = tmp_path_factory.mktemp("ui-teams")
    for name, files in (("hr", {"hr.txt": HR, "dental.txt": DENTAL}), ("eng", {"eng.txt": ENG})):
        (work / name).mkdir()
        for file, text in files.items():
            (work / name / file).write_text(text)
        out = run_qa("ingest", str(work / name), "--index", str(work / "index"),
                     "--collection", name)
        assert out.returncode == 0, out.stderr
    srv = Server(work / "index", work / "serve.log", QA_COLLECTION="hr")
    yield srv, work
    srv.stop()
    assert "Traceback" not in srv.log.read_text()


@pytest.fixture
def team_page(browser, teams):
    with chat_page(browser, teams[0].url) as pg:
        pg.wait_for_function("document.querySelector('#qa-header').innerText.includes('2 files')")
        yield pg


_PICKED = """([files]) => {  // the collection's header, and a new conversation
  const header = document.querySelector('#qa-header').innerText;
  return header.includes(files) && !document.querySelector('#qa-chat [data-testid=bot]');
}"""


def pick(pg, name: str, files: str) -> None:
    """Choose collection ``name`` in the picker; wait until the header shows its ``files``."""
    pg.locator("#qa-collection input").click()
    pg.get_by_role("option", name=name).click()
    pg.wait_for_function(_PICKED, arg=[files])


def test_a_picked_collection_answers_alone(team_page):
    pg = team_page
    assert pg.locator("#qa-collection input").input_value() == "hr"  # the server's own
    pg.locator("#qa-collection input").click()
    options = pg.get_by_role("option")
    playwright_api.expect(options).to_have_count(2)  # the page's own list, once it is loaded
    assert [o.inner_text().strip(" ✓\n") for o in options.all()] == ["eng", "hr"]
    pg.keyboard.press("Escape")
    assert "16 weeks" in ask(pg, ASK_HR) and "hr.txt:L1" in sources(pg)
    assert ask(pg, ASK_ENG).startswith(REFUSED)  # eng's file is not in hr
    pick(pg, "eng", "1 file")
    assert "GCC 14" in ask(pg, ASK_ENG) and "eng.txt:L1" in sources(pg)
    assert ask(pg, ASK_HR).startswith(REFUSED)
    shot(pg, "desktop_collection_eng")


def test_an_upload_goes_into_the_picked_collection(team_page, teams, tmp_path):
    pg, (_, work) = team_page, teams
    pick(pg, "eng", "1 file")
    wiki = tmp_path / "wiki.txt"
    wiki.write_text("The Northwind wiki runs MediaWiki 1.42 on the intranet.\n")
    pg.locator("#qa-docs button.label-wrap").click()
    pg.locator("#qa-upload input[type=file]").set_input_files([str(wiki)])
    assert "wiki.txt\tadded" in pg.wait_for_selector("#qa-ingest table").inner_text()
    pg.wait_for_function("document.querySelector('#qa-header').innerText.includes('2 files')")
    assert (work / "index" / "collections" / "eng" / "uploads" / "wiki.txt").exists()
    assert not (work / "index" / "collections" / "hr" / "uploads").exists()
    assert "MediaWiki 1.42" in ask(pg, "Which wiki software does Northwind run?")
    pick(pg, "hr", "2 files")
    assert ask(pg, "Which wiki software does Northwind run?").startswith(REFUSED)


def conversations(pg) -> list[str]:
    """The labels of the saved conversations listed (the list opened first)."""
    opener = pg.locator("#qa-convos button.label-wrap")
    if "open" not in (opener.get_attribute("class") or "").split():
        opener.click()
    return pg.locator("#qa-conv-list label").all_inner_texts()


def test_a_conversation_is_saved_resumed_marked_and_exported(team_page, teams):
    pg, (_, work) = team_page, teams
    assert "80 percent" in ask(pg, ASK_DENTAL)
    assert "16 weeks" in ask(pg, ASK_HR)
    conversations(pg)  # opens the list
    pg.wait_for_function("([q]) => [...document.querySelectorAll('#qa-conv-list label')]"
                         ".some((el) => el.innerText.startsWith(q))", arg=[ASK_DENTAL])
    assert conversations(pg)[0].startswith(f"{ASK_DENTAL} · hr · ")  # the latest first
    dental = work / "hr" / "dental.txt"
    dental.write_text(DENTAL.replace("80", "60"))  # the first answer's cited line
    pg.reload()
    pg.wait_for_selector("#qa-question textarea")
    conversations(pg)
    pg.wait_for_function("document.querySelectorAll('#qa-conv-list label').length > 0")
    assert pg.locator(BOT).count() == 0
    pg.locator("#qa-conv-list label", has_text=ASK_DENTAL).first.click()  # resume it
    pg.wait_for_function("document.querySelectorAll('#qa-chat [data-testid=bot]').length == 2")
    chat = pg.locator("#qa-chat").inner_text()
    assert ASK_DENTAL in chat and "80 percent" in chat and "16 weeks" in chat
    note = pg.locator("#qa-notice .qa-info").inner_text()
    assert "the file of 1 citation changed since, marked ⚠ under Sources" in note
    assert "16 weeks" in pg.locator("#qa-src-2-1").inner_text()  # the last answer's sources
    assert pg.locator("#qa-src-2-1 .qa-changed").count() == 0  # hr.txt is as it was
    pg.locator(BOT).first.locator("a.qa-cite").first.click()
    pg.wait_for_selector("#qa-src-1-1.qa-focus")
    mark = pg.locator("#qa-src-1-1 .qa-changed")
    assert mark.inner_text() == "⚠ file changed since this answer"
    assert "80 percent" in pg.locator("#qa-src-1-1 .qa-hit").inner_text()  # as verified then
    shot(pg, "desktop_resumed", full=True)
    assert "Debian" not in ask(pg, "What was the first question about?")  # a third turn
    with pg.expect_download() as got:
        pg.locator("#qa-conv-export a").click()
    exported = Path(got.value.path()).read_text(encoding="utf-8")
    assert got.value.suggested_filename.endswith(".md")
    assert exported.startswith(f"# {ASK_DENTAL}\n") and "## 3. " in exported
    assert "dental.txt:L1`\n\n> Dental cover at Northwind pays 80 percent" in exported
    assert "hr.txt:L1`\n\n> Parental leave at Northwind is 16 weeks" in exported
    pg.locator("#qa-conv-title textarea, #qa-conv-title input").fill("Dental and leave")
    pg.locator("#qa-conv-rename").click()
    pg.wait_for_function("[...document.querySelectorAll('#qa-conv-list label')]"
                         ".some((el) => el.innerText.startsWith('Dental and leave · hr'))")
    pg.locator("#qa-conv-delete").click()
    pg.wait_for_function("![...document.querySelectorAll('#qa-conv-list label')]"
                         ".some((el) => el.innerText.startsWith('Dental and leave'))")
    assert pg.locator(BOT).count() == 0
    shot(pg, "desktop_conversations", full=True)


# -- a PDF: the cited lines on an image of their page --------------------------------------
AAPL = Path("/work/shared/benchmarks/sec10q/docs/2022 Q3 AAPL.pdf")
SCREENSHOTS = ROOT / "eval" / "reports" / "screenshots"


@pytest.fixture(scope="module")
def pdf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`qa serve` over the first five pages of Apple's Q3 2022 10-Q (page 4: the statement of
    operations), copied out of the benchmark folder, which is never written to."""
    if not AAPL.exists():
        pytest.skip("the 10-Q benchmark is not here")
    import pypdfium2 as pdfium

    work = tmp_path_factory.mktemp("ui-pdf")
    (work / "docs").mkdir()
    src, new = pdfium.PdfDocument(AAPL.read_bytes()), pdfium.PdfDocument.new()
    new.import_pages(src, [0, 1, 2, 3, 4])
    new.save(str(work / "docs" / "apple-10q.pdf"))
    new.close()
    src.close()
    out = run_qa("ingest", str(work / "docs"), "--index", str(work / "index"))
    assert out.returncode == 0, out.stderr
    srv = Server(work / "index", work / "serve.log")
    yield srv
    srv.stop()
    assert "Traceback" not in srv.log.read_text()


def test_a_pdf_citation_shows_its_page_with_the_line_highlighted(browser, pdf_server):
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    pg.goto(pdf_server.url)
    pg.wait_for_selector("#qa-question textarea")
    answer = ask(pg, "What were total net sales?")
    # the row's figures with their columns; the row is [1], its table's head lines follow
    assert "Total net sales: 82,959 million, three months ended June 25, 2022" in answer
    assert pg.locator(f"{BOT} a.qa-cite").first.inner_text() == "1"
    assert "apple-10q.pdf p.4 L18" in sources(pg)
    hit = pg.locator("#qa-src-1-1 .qa-hit")
    assert hit.locator(".qa-ln").inner_text() == "18" and "Total net sales" in hit.inner_text()
    img = pg.locator("#qa-src-1-1 details.qa-page[open] img.qa-page-img")
    card_html = re.sub(r"base64,[^\"]+", "base64,…", pg.locator("#qa-src-1-1").inner_html())
    log = pdf_server.log.read_text()
    assert img.count() == 1, f"no page image in the card:\n{card_html}\nserver log:\n{log}"
    img.wait_for(state="visible")
    assert img.get_attribute("alt") == "Page 4 of apple-10q.pdf, line 18 highlighted"
    decoded = img.evaluate("el => el.decode().then(() => [el.naturalWidth, el.naturalHeight])")
    assert decoded == [700, 906]
    box, card = img.bounding_box(), pg.locator("#qa-src-1-1").bounding_box()
    hit_box = hit.bounding_box()
    assert box["y"] > hit_box["y"] + hit_box["height"]  # below the cited lines
    assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 1
    assert abs(box["height"] / box["width"] - 906 / 700) < 0.02  # not stretched
    assert pg.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / "ui_pdf_answer.png"))
    pg.locator("#qa-sources").screenshot(path=str(SCREENSHOTS / "ui_pdf_sources.png"))
    img.click()  # enlarged over the app, whole, to read the column headings
    pg.wait_for_selector("#qa-src-1-1 img.qa-page-img.qa-zoom")
    big = img.bounding_box()
    assert big["height"] > box["height"] * 1.2 and big["y"] >= 0
    assert big["y"] + big["height"] <= DESKTOP["height"] + 1
    assert abs(big["x"] + big["width"] / 2 - DESKTOP["width"] / 2) < 2
    pg.screenshot(path=str(SCREENSHOTS / "ui_pdf_zoom.png"))
    pg.keyboard.press("Escape")
    pg.wait_for_selector("#qa-src-1-1 img.qa-page-img:not(.qa-zoom)")
    pg.locator("#qa-src-1-1 details.qa-page summary").click()  # folds, and is not swallowed
    pg.wait_for_selector("#qa-src-1-1 details.qa-page:not([open])")
    assert not img.is_visible()
    context.close()


def test_the_question_box_waits_for_the_page_to_know_the_user_s_collection(browser, server):
    """Until the page's load has told it which collection is the user's, the question box and
    the Ask button are disabled: a question asked before would go to the server's own."""
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    held: list = []

    def hold(route) -> None:  # the load's call, held back
        held.append(route)

    pg.route("**/gradio_api/queue/join*", hold)
    try:
        pg.goto(server.url)
        pg.wait_for_selector("#qa-question textarea")
        for _ in range(100):  # the handler is called while Playwright waits
            if held:
                break
            pg.wait_for_timeout(100)
        assert held, "the page's load event did not call the queue"
        assert pg.is_disabled("#qa-question textarea") and pg.is_disabled("#qa-ask")
        for route in held:
            route.continue_()
        pg.unroute("**/gradio_api/queue/join*", hold)
        pg.wait_for_function("!document.querySelector('#qa-question textarea').disabled")
        assert pg.is_enabled("#qa-ask")
        assert "Estonian Prime Minister" in ask(pg, SEED_Q)
    finally:
        context.close()
