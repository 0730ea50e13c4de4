"""Two people on one `qa serve` with accounts (alice reads and writes hr, bob reads eng),
each logged in to real headless Chromium: each sees only their collection, the other's
question is refused, and nothing of the other collection can be fetched over HTTP by path,
id or guess (a document, a stored upload, Gradio's copy of an upload, a conversation's
export). A name with too many failed logins is locked and the login page says so. A `qa
serve` killed with -9 mid-answer keeps every turn it had shown. Screenshots of the picker,
the conversation list and a refused question, desktop and phone, land in artifacts/."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from .conftest import run_qa
from .test_accounts import PASSWORD, add_user
from .test_ui_browser import (
    ASK_ENG,
    ASK_HR,
    BOT,
    DESKTOP,
    ENG,
    HR,
    PHONE,
    REFUSED,
    SEED_Q,
    Server,
    ask,
    conversations,
    shot,
    sources,
    trickling_chat,
    wait_answer,
)

pytestmark = pytest.mark.browser
LOCK_SECONDS = 4
OWN = {"alice": "hr", "bob": "eng", "carol": "hr"}  # the collection each one opens on


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """`qa serve` over hr and eng with accounts alice (hr, may add files), bob (eng) and
    carol (hr, whose name the lockout test locks); Gradio's uploads in work/gradio."""
    work = tmp_path_factory.mktemp("ui-accounts")
    for name, text in (("hr", HR), ("eng", ENG)):
        (work / name).mkdir()
        (work / name / f"{name}.txt").write_text(text)
        out = run_qa("ingest", str(work / name), "--index", str(work / "index"),
                     "--collection", name)
        assert out.returncode == 0, out.stderr
    add_user(work / "index", "alice", "--read", "hr", "--write", "hr")
    add_user(work / "index", "bob", "--read", "eng")
    add_user(work / "index", "carol", "--read", "hr")
    srv = Server(work / "index", work / "serve.log", QA_COLLECTION="hr",
                 GRADIO_TEMP_DIR=str(work / "gradio"), QA_LOGIN_ATTEMPTS="5",
                 QA_LOGIN_LOCK_SECONDS=str(LOCK_SECONDS))
    yield srv, work
    srv.stop()
    assert "Traceback" not in srv.log.read_text()


def try_login(pg, name: str, password: str) -> int:
    """Log in on the login page; the HTTP status of the answer."""
    pg.locator("input[data-testid=textbox]").fill(name)
    pg.locator("input[type=password]").fill(password)
    with pg.expect_response(lambda r: r.url.endswith("/login")) as sent:
        pg.get_by_role("button", name="Login").click()
    return sent.value.status


def logged_in(browser, srv: Server, name: str, viewport: dict = DESKTOP):
    context = browser.new_context(viewport=viewport)
    pg = context.new_page()
    pg.goto(srv.url)
    pg.wait_for_selector("input[type=password]")
    try_login(pg, name, PASSWORD[name])
    pg.wait_for_selector("#qa-question textarea", timeout=30_000)
    pg.wait_for_function("(document.querySelector('#qa-header')?.innerText || '')"
                         ".includes('1 file')")
    # the page is served with the server's collection; the load names the person's own
    pg.wait_for_function("([own]) => document.querySelector('#qa-collection input')?.value"
                         " === own", arg=[OWN[name]])
    return context, pg


def client(srv: Server, name: str | None) -> httpx.Client:
    """An HTTP client with ``name``'s login cookie (None: logged out)."""
    http = httpx.Client(base_url=srv.url, timeout=30)
    if name:
        assert http.post("login", data={"username": name,
                                        "password": PASSWORD[name]}).status_code == 200
    return http


def fetch(http: httpx.Client, path: str | Path) -> list[int]:
    """The status of each way Gradio serves a file by its path."""
    return [http.get(f"{route}{path}").status_code
            for route in ("gradio_api/file=", "file=", "gradio_api/file/", "file/")]


def test_each_person_reads_only_their_collection_and_fetches_nothing_of_the_other(
        browser, teams, tmp_path):
    srv, work = teams
    alice_ctx, alice = logged_in(browser, srv, "alice")
    bob_ctx, bob = logged_in(browser, srv, "bob")
    try:
        for pg, own in ((alice, "hr"), (bob, "eng")):
            assert pg.locator("#qa-collection input").input_value() == own
            pg.locator("#qa-collection input").click()
            options = pg.get_by_role("option")
            assert [o.inner_text().strip(" ✓\n") for o in options.all()] == [own]
            shot(pg, f"desktop_picker_{own}")
            pg.keyboard.press("Escape")
        assert "16 weeks" in ask(alice, ASK_HR) and "hr.txt:L1" in sources(alice)
        assert ask(alice, ASK_ENG).startswith(REFUSED)
        assert "GCC 14" in ask(bob, ASK_ENG)
        assert ask(bob, ASK_HR).startswith(REFUSED) and "hr.txt" not in sources(bob)
        shot(bob, "desktop_refused_other_collection")
        assert "file=" not in alice.locator("#qa-sources").inner_html()  # no file URL shown

        memo = tmp_path / "memo.txt"  # alice uploads into hr
        memo.write_text("The Northwind bonus pool is 4 percent of salary this year.\n")
        alice.locator("#qa-docs button.label-wrap").click()
        with alice.expect_response(lambda r: "/gradio_api/upload?" in r.url
                                   and r.request.method == "POST") as sent:
            alice.locator("#qa-upload input[type=file]").set_input_files([str(memo)])
        [gradio_copy] = sent.value.json()
        assert "memo.txt\tadded" in alice.wait_for_selector("#qa-ingest table").inner_text()
        stored = work / "index" / "collections" / "hr" / "uploads" / "memo.txt"
        assert stored.exists()

        conversations(alice)
        alice.wait_for_selector("#qa-conv-export a")
        link = alice.locator("#qa-conv-export a").get_attribute("href")
        assert link and link.startswith("qa/export/")
        mine = alice_ctx.request.get(srv.url + link)
        assert mine.status == 200 and ASK_HR in mine.text() and "16 weeks" in mine.text()

        as_bob, nobody = client(srv, "bob"), client(srv, None)
        with closing(as_bob), closing(nobody):
            for path in (work / "hr" / "hr.txt", stored, gradio_copy,
                         work / "index" / "collections" / "hr" / "manifest.sqlite3"):
                assert set(fetch(as_bob, path)) <= {403, 404}, path
            assert as_bob.get(link).status_code == 404  # alice's export, by its id
            assert as_bob.get("qa/export/999").status_code == 404  # the same as none
            assert nobody.get(link).status_code == 401
            assert nobody.get("gradio_api/file=" + str(stored)).status_code == 401
        assert not Path(gradio_copy).exists()  # Gradio's copy is gone once stored
    finally:
        alice_ctx.close()
        bob_ctx.close()


def test_screenshots_of_picker_conversations_and_a_refusal_on_a_phone(browser, teams):
    srv, _ = teams
    context, pg = logged_in(browser, srv, "bob", PHONE)
    try:
        assert ask(pg, ASK_HR).startswith(REFUSED)
        shot(pg, "phone_refused_other_collection")
        assert "GCC 14" in ask(pg, ASK_ENG)
        listed(pg, f"{ASK_HR} · eng · ")
        pg.locator("#qa-convos").scroll_into_view_if_needed()
        shot(pg, "phone_conversations")
        pg.locator("#qa-collection input").scroll_into_view_if_needed()
        pg.locator("#qa-collection input").click()
        pg.wait_for_selector("[role=option]")
        shot(pg, "phone_picker")
    finally:
        context.close()
    context, pg = logged_in(browser, srv, "bob")
    try:
        listed(pg, f"{ASK_HR} · eng · ")
        shot(pg, "desktop_conversations_bob", full=True)
    finally:
        context.close()


def test_too_many_failed_logins_lock_the_name_and_the_page_says_so(browser, teams):
    srv, _ = teams
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    try:
        pg.goto(srv.url)
        pg.wait_for_selector("input[type=password]")
        for n in range(4):
            assert try_login(pg, "carol", f"wrong-passw0rd-{n}") == 400
            pg.wait_for_selector("text=Incorrect Credentials")
        for password in ("wrong-passw0rd-4", "wrong-passw0rd-5", PASSWORD["carol"]):
            assert try_login(pg, "carol", password) == 429  # the 5th locks; then all
            said = pg.wait_for_selector(".qa-locked").inner_text()
            assert said.startswith("too many failed logins for carol: try again in ")
            assert pg.locator("#qa-question").count() == 0
        pg.wait_for_selector("text=Incorrect Credentials", state="hidden")  # not said as well
        shot(pg, "desktop_login_locked")
        http = client(srv, None)
        with closing(http):
            refused = http.post("login", data={"username": "carol",
                                               "password": PASSWORD["carol"]})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["detail"].startswith("too many failed logins for carol")
        time.sleep(LOCK_SECONDS + 0.5)
        assert try_login(pg, "carol", PASSWORD["carol"]) == 200
        pg.wait_for_selector("#qa-question textarea", timeout=30_000)
    finally:
        context.close()


def test_kill_9_mid_answer_keeps_every_turn_shown(browser, tmp_path):
    gate = threading.Event()
    gate.set()
    with trickling_chat(browser, tmp_path, "The Estonian Prime Minister voiced support for "
                        "Macron's stance [L30].", gate) as (_, srv, pg, n):
        first = wait_answer(pg, n, timeout=120_000)
        assert "Estonian Prime Minister" in first
        db = tmp_path / "index" / "conversations.sqlite3"
        assert turns(db) == [(1, SEED_Q)]  # saved when shown
        gate.clear()  # the next answer never comes
        pg.locator("#qa-question textarea").fill("Who opposed the idea?")
        pg.locator("#qa-question textarea").press("Enter")
        pg.wait_for_selector(f"{BOT} .qa-status")
        srv.proc.kill()  # SIGKILL mid-answer
        srv.proc.wait()
        gate.set()
        again = Server(tmp_path / "index", tmp_path / "serve2.log", QA_BACKEND="extractive")
        try:
            assert turns(db) == [(1, SEED_Q)]
            pg.goto(again.url)
            pg.wait_for_selector("#qa-question textarea")
            pg.wait_for_function("(document.querySelector('#qa-header')?.innerText || '')"
                                 ".includes('1 file')")
            listed(pg, SEED_Q)
            assert len(conversations(pg)) == 1
            pg.locator("#qa-conv-list label").first.click()
            pg.wait_for_function("document.querySelectorAll('#qa-chat [data-testid=bot]')"
                                 ".length == 1")
            assert "Estonian Prime Minister" in pg.locator(BOT).first.inner_text()
        finally:
            again.stop()


def listed(pg, label: str) -> None:
    """Open the conversation list; wait until it shows one starting with ``label``."""
    conversations(pg)
    pg.wait_for_function("([q]) => [...document.querySelectorAll('#qa-conv-list label')]"
                         ".some((el) => el.innerText.startsWith(q))", arg=[label])


def turns(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT n, question FROM turns ORDER BY conversation, n").fetchall()


def test_a_forged_collection_name_over_gradios_api_reads_and_writes_nothing(teams, tmp_path):
    """The picker offers bob only eng, but the page's events take any name: sent straight to
    Gradio's API (its own client, logged in as bob), hr is refused for asking, picking and
    uploading, while eng answers through the same endpoint."""
    from gradio_client import Client, handle_file

    srv, work = teams
    bob = Client(srv.url, auth=("bob", PASSWORD["bob"]), verbose=False)
    bob.predict(api_name="/on_load")
    *_, said = bob.predict(ASK_HR, [], "hr", None, api_name="/on_ask")
    assert "no collection &#39;hr&#39; to read here" in said
    assert "16 weeks" not in str(bob.predict(ASK_HR, [], "hr", None, api_name="/on_ask"))
    assert "GCC 14" in str(bob.predict(ASK_ENG, [], "eng", None, api_name="/on_ask"))
    assert "hr.txt" not in str(bob.predict("hr", api_name="/on_pick"))
    note = tmp_path / "forged.txt"
    note.write_text("Bob wrote this into hr.\n")
    bob.predict([handle_file(str(note))], "hr", api_name="/on_upload")
    assert not list((work / "index").rglob("forged.txt"))
