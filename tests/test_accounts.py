"""Accounts and permissions: two users with disjoint collections (alice reads hr, bob reads eng)
each get only their own through the Python API, `qa api` and `qa mcp` (real servers on
loopback, the openai client and the MCP SDK's own client); a collection that is not theirs is
refused exactly as one that does not exist. Passwords and tokens are stored hashed, a revoked
token gets a 401, a removed user cannot log in."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
from fastapi import HTTPException
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from qa import QA
from qa.accounts import Accounts, LockedOut, Lockout, User, signed_in
from qa.cli import main
from qa.config import Settings
from qa.errors import InputError
from qa.ui.app import chosen, login, readable, respond, upload

from .conftest import qa_command, qa_listening, run_qa

HR = "Parental leave at Northwind is 16 weeks for every employee, paid in full.\n"
ENG = "The Northwind build server runs Debian 13 and compiles with GCC 14.\n"
ASK = {"hr": "How long is parental leave at Northwind?",
       "eng": "Which compiler does the Northwind build server use?"}
OWN = {"alice": "hr", "bob": "eng"}
OTHER = {"alice": "eng", "bob": "hr"}
PASSWORD = {"alice": "alice-passw0rd", "bob": "bob-passw0rd", "carol": "carol-passw0rd",
            "dave": "dave-passw0rd"}
ADMIN_KEY = "admin-key-9f3e"
ENV = {"QA_BACKEND": "extractive"}
slow = pytest.mark.slow  # starts `qa` processes


def add_user(index: Path, name: str, *flags: str) -> None:
    done = subprocess.run(qa_command("users", "add", name, "--index", str(index),
                                     "--password-stdin", *flags),
                          input=PASSWORD[name] + "\n", capture_output=True, text=True,
                          env=os.environ, timeout=120)
    assert done.returncode == 0, done.stderr


def token(index: Path, name: str) -> str:
    done = run_qa("users", "token", name, "--index", str(index))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Collections hr and eng; alice reads hr, bob reads eng, carol reads hr (to revoke),
    dave only a collection that is not there."""
    root = tmp_path_factory.mktemp("accounts")
    for name, text in (("hr", HR), ("eng", ENG)):
        (root / name).mkdir()
        (root / name / f"{name}.txt").write_text(text)
    ix = root / "ix"
    with QA(ix, collection="hr", backend="extractive") as qa:
        qa.ingest(root / "hr")
        qa.collection("eng").ingest(root / "eng")
    add_user(ix, "alice", "--read", "hr")  # by `qa users add`; the others as the API does
    for name, read in (("bob", "eng"), ("carol", "hr"), ("dave", "ops")):
        Accounts(ix).add(name, PASSWORD[name], read=[read])
    return ix


@pytest.fixture(scope="module")
def tokens(index: Path) -> dict[str, str]:
    return {"alice": token(index, "alice"), "bob": Accounts(index).issue_token("bob")}


def same_but_name(refused: str, unknown: str, name: str) -> bool:
    """A refusal of ``name`` reads exactly as the refusal of a collection "ops" that does not
    exist: nothing tells the caller that ``name`` is there."""
    return refused.replace(repr(name), "'X'").replace(name, "X") == \
        unknown.replace("'ops'", "'X'").replace("ops", "X")


# -- the accounts file ---------------------------------------------------------------------


def test_passwords_and_tokens_are_stored_only_hashed(tmp_path):
    accounts = Accounts(tmp_path)
    accounts.add("alice", PASSWORD["alice"], read=["hr"])
    issued = accounts.issue_token("alice")
    assert len(issued) > 40 and accounts.by_token(issued) == User("alice", frozenset({"hr"}))
    raw = (tmp_path / "accounts.sqlite3").read_bytes()
    assert PASSWORD["alice"].encode() not in raw and issued.encode() not in raw
    with sqlite3.connect(tmp_path / "accounts.sqlite3") as db:
        [(stored,)] = db.execute("SELECT password FROM users")
        [(digest,)] = db.execute("SELECT digest FROM tokens")
    assert stored.startswith("$argon2id$") and PASSWORD["alice"] not in stored
    assert digest == hashlib.sha256(issued.encode()).hexdigest()
    assert (tmp_path / "accounts.sqlite3").stat().st_mode & 0o777 == 0o600


def test_login_needs_the_right_password_and_a_present_account(tmp_path):
    accounts = Accounts(tmp_path)
    accounts.add("alice", PASSWORD["alice"], read=["hr"], write=["hr"])
    assert accounts.login("alice", PASSWORD["alice"]) == User(
        "alice", frozenset({"hr"}), frozenset({"hr"}))
    assert accounts.login("alice", "wrong-password") is None
    assert accounts.login("nobody", PASSWORD["alice"]) is None
    accounts.passwd("alice", "a-new-passw0rd")
    assert accounts.login("alice", PASSWORD["alice"]) is None
    assert accounts.login("alice", "a-new-passw0rd") is not None
    issued = accounts.issue_token("alice")
    accounts.remove("alice")
    assert accounts.login("alice", "a-new-passw0rd") is None
    assert accounts.by_token(issued) is None
    with pytest.raises(InputError, match="too short"):
        accounts.add("bob", "short")


@pytest.mark.slow
def test_twenty_wrong_passwords_lock_the_name_until_the_window_passes(tmp_path):
    accounts = Accounts(tmp_path)
    accounts.add("alice", PASSWORD["alice"], read=["hr"])
    lockout = Lockout(accounts, attempts=5, seconds=2)
    said = []
    for _ in range(20):
        try:
            assert lockout.login("alice", "wrong-password") is None
        except LockedOut as exc:
            said.append(str(exc))
    assert len(said) == 16  # the 5th wrong password locks; each after it is refused
    assert re.fullmatch(r"too many failed logins for alice: try again in [12] s", said[-1])
    with pytest.raises(LockedOut, match="too many failed logins for alice"):
        lockout.login("alice", PASSWORD["alice"])  # the right password, while locked
    # another process sharing the index sees the same count
    assert Lockout(Accounts(tmp_path), 5, 2).wait(["name:alice"]) > 0
    time.sleep(lockout.wait(["name:alice"]) + 0.1)  # the window, from the 5th failure
    assert lockout.login("alice", PASSWORD["alice"]) == User("alice", frozenset({"hr"}))
    for _ in range(4):  # the right password cleared the count
        assert lockout.login("alice", "wrong-password") is None


def test_failed_logins_from_one_address_lock_that_address(tmp_path):
    accounts = Accounts(tmp_path)
    accounts.add("alice", PASSWORD["alice"], read=["hr"])
    lockout = Lockout(accounts, attempts=2, seconds=60)  # an address: 4 times 2 failures
    for n in range(7):  # a different name each time, one address
        assert lockout.login(f"user{n}", "guess-passw0rd", client="10.0.0.9") is None
    with pytest.raises(LockedOut, match="for user7"):
        lockout.login("user7", "guess-passw0rd", client="10.0.0.9")
    with pytest.raises(LockedOut):
        lockout.login("alice", PASSWORD["alice"], client="10.0.0.9")
    assert lockout.login("alice", PASSWORD["alice"], client="10.0.0.7") is not None


def test_the_ui_login_says_a_name_is_locked_with_a_429(tmp_path):
    Accounts(tmp_path).add("alice", PASSWORD["alice"], read=["hr"])
    QA(tmp_path, collection="hr", backend="extractive").close()  # the collection exists
    auth, _ = login(Settings.from_env(index_dir=tmp_path, collection="hr", login_attempts=2,
                                      login_lock_seconds=30))
    assert callable(auth)
    assert asyncio.run(auth("alice", "wrong-password")) is False
    with pytest.raises(HTTPException) as locked:
        asyncio.run(auth("alice", "wrong-password"))
    assert locked.value.status_code == 429 and locked.value.headers == {"Retry-After": "30"}
    assert locked.value.detail == "too many failed logins for alice: try again in 30 s"


def test_issuing_a_token_revokes_the_one_before(tmp_path):
    accounts = Accounts(tmp_path)
    accounts.add("alice", PASSWORD["alice"], read=["hr"])
    first = accounts.issue_token("alice")
    second = accounts.issue_token("alice")
    assert accounts.by_token(first) is None and accounts.by_token(second) is not None
    assert accounts.revoke("alice") and accounts.by_token(second) is None


def test_qa_users_list_shows_names_and_rights_never_hashes(index):
    listed = run_qa("users", "list", "--index", str(index))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "alice: read hr; write -", "bob: read eng; write -", "carol: read hr; write -",
        "dave: read ops; write -"]
    as_json = run_qa("users", "list", "--json", "--index", str(index)).stdout
    assert json.loads(as_json)[0] == {"name": "alice", "read": ["hr"], "write": [],
                                      "admin": False}
    for out in (listed.stdout, as_json):
        assert "$argon2" not in out and not any(p in out for p in PASSWORD.values())


def test_qa_users_without_a_terminal_or_a_piped_password_is_a_one_line_error(tmp_path):
    done = run_qa("users", "add", "dave", "--index", str(tmp_path))
    assert done.returncode == 1 and "--password-stdin" in done.stderr
    assert not (tmp_path / "accounts.sqlite3").exists()


# -- the Python API ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_the_python_api_gives_each_user_only_their_collection(index, name):
    user = Accounts(index).user(name)
    with QA(index, collection=OWN[name], backend="extractive", read_only=True) as qa:
        mine = qa.as_user(user)
        assert mine.collections() == [OWN[name]]
        assert not mine.ask(ASK[OWN[name]]).refused
        assert mine.ask(ASK[OTHER[name]]).refused  # only the other collection says it
        with pytest.raises(InputError) as refused:
            mine.collection(OTHER[name])
        with pytest.raises(InputError) as unknown:
            mine.collection("ops")
        assert same_but_name(str(refused.value), str(unknown.value), OTHER[name])
        assert str(refused.value).endswith(f"there are: {OWN[name]}")
        theirs = qa.collection(OTHER[name]).as_user(user)  # opened by someone else: checked
        for read in (lambda: theirs.ask(ASK[OTHER[name]]), lambda: theirs.retrieve("leave"),
                     lambda: theirs.path_of("x"), theirs.stats,
                     lambda: theirs.ingest(index)):
            with pytest.raises(InputError, match=f"no collection '{OTHER[name]}'"):
                read()
        assert not qa.collection(OTHER[name]).ask(ASK[OTHER[name]]).refused  # no user: all


def test_writing_needs_the_right_to_write(tmp_path):
    (tmp_path / "hr.txt").write_text(HR)
    with QA(tmp_path / "ix", collection="hr", backend="extractive") as qa:
        qa.ingest(tmp_path / "hr.txt")
        with pytest.raises(InputError, match="'reader' may read collection 'hr' but not change"):
            qa.as_user(User("reader", frozenset({"hr"}))).ingest(tmp_path / "hr.txt")
        with pytest.raises(InputError, match="no collection 'hr'"):
            qa.as_user(User("stranger", frozenset({"eng"}))).remove(str(tmp_path / "hr.txt"))
        writer = qa.as_user(User("writer", write=frozenset({"hr"})))
        assert len(writer.ingest(tmp_path / "hr.txt").unchanged) == 1
        assert writer.collections() == ["hr"]  # writing implies reading


# -- the UI --------------------------------------------------------------------------------


def test_the_ui_logs_in_accounts_that_may_read_a_collection(index, tmp_path):
    auth, _ = login(Settings.from_env(index_dir=index, collection="hr"))
    assert callable(auth)

    def check(name: str, password: str) -> bool:
        return asyncio.run(auth(name, password))

    assert check("alice", PASSWORD["alice"]) is True
    assert check("bob", PASSWORD["bob"]) is True  # the page opens on eng for him
    assert check("alice", "wrong-password") is False
    assert check("nobody", PASSWORD["alice"]) is False
    assert check("dave", PASSWORD["dave"]) is False  # nothing of this index to read
    plain = login(Settings.from_env(index_dir=tmp_path, ui_auth="u:p"))  # no accounts
    assert plain[0] == ("u", "p")


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_the_ui_picks_uploads_and_shows_only_the_users_collections(index, name):
    with QA(index, collection="hr", backend="extractive") as qa:
        assert readable(qa, name) == [OWN[name]]
        for other in (OTHER[name], "ops"):
            with pytest.raises(InputError, match="no collection"):
                chosen(qa, other, name)
        mine = chosen(qa, OWN[name], name)
        assert mine.user == Accounts(index).user(name)  # the view every event goes through
        [source] = mine.stats()["sources"]
        assert mine.read(source, 0)[0] == (HR if OWN[name] == "hr" else ENG).strip()
        table, notice = upload(mine, [str(index.parent / OWN[name] / f"{OWN[name]}.txt")])
        assert table == "" and "may read collection" in notice  # reading is not writing
        assert not (index / "uploads").exists() and not list(index.rglob("uploads/*"))


def test_two_people_asking_at_once_never_see_each_others_sources(index):
    """alice (hr) and bob (eng) ask through the UI's own functions in 8 threads at once."""
    with QA(index, collection="hr", backend="extractive", read_only=True) as qa:
        def ask(name: str) -> list[str]:
            col = chosen(qa, OWN[name], name)
            *_, last = respond(col, col.read, ASK[OWN[name]], [], [])
            return [last[4]]  # the sources panel

        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(ask, ["alice", "bob"] * 8))
    for name, [panel] in zip(["alice", "bob"] * 8, seen, strict=True):
        assert f"{OWN[name]}.txt" in panel and f"{OTHER[name]}.txt" not in panel


def test_the_ui_gets_the_view_of_the_person_logged_in(index, tmp_path):
    with QA(index, collection="hr", backend="extractive", read_only=True) as qa:
        assert signed_in(qa, "bob").collections() == ["eng"]
        assert signed_in(qa, "alice").collections() == ["hr"]
        gone = signed_in(qa, "someone-removed")
        assert gone.collections() == []
        with pytest.raises(InputError, match="no collection 'hr'"):
            gone.path_of(str(index))
    with QA(tmp_path / "ix", collection="hr") as qa:  # no accounts: all, as before
        assert signed_in(qa, None) is qa


# -- `qa api` ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(index: Path) -> Iterator[str]:
    with qa_listening("api", "--index", str(index), "--collection", "hr",
                 env={**ENV, "QA_API_KEY": ADMIN_KEY}) as port:
        yield f"http://127.0.0.1:{port}/v1"


def client(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=60)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(url: str, key: str, model: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/chat/completions", timeout=60, headers=bearer(key), json={
        "model": model, "messages": [{"role": "user", "content": question}]})


@slow
@pytest.mark.parametrize("name", ["alice", "bob"])
def test_qa_api_lists_and_answers_only_the_users_collections(api, tokens, name):
    mine = client(api, tokens[name])
    assert [m.id for m in mine.models.list()] == [OWN[name]]
    done = mine.chat.completions.create(
        model=OWN[name], messages=[{"role": "user", "content": ASK[OWN[name]]}])
    assert done.model_extra["refused"] is False
    refused = chat(api, tokens[name], OTHER[name], ASK[OTHER[name]])
    unknown = chat(api, tokens[name], "ops", ASK[OTHER[name]])
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["error"]["code"] == "model_not_found"
    assert same_but_name(refused.text, unknown.text, OTHER[name])
    with pytest.raises(openai.NotFoundError):
        mine.chat.completions.create(
            model=OTHER[name], messages=[{"role": "user", "content": ASK[OTHER[name]]}])
    qa_model = chat(api, tokens[name], "qa", ASK["hr"])  # "qa" is hr, the collection served
    assert qa_model.status_code == (200 if OWN[name] == "hr" else 404)


@slow
def test_qa_api_takes_the_admin_key_for_everything_and_refuses_other_tokens(api, tokens):
    assert [m.id for m in client(api, ADMIN_KEY).models.list()] == ["eng", "hr"]
    assert chat(api, ADMIN_KEY, "eng", ASK["eng"]).json()["refused"] is False
    for wrong in ({}, bearer("qa_not-a-token"), bearer(tokens["alice"] + "x")):
        assert httpx.get(f"{api}/models", headers=wrong, timeout=30).status_code == 401


@slow
def test_a_revoked_token_or_a_removed_user_gets_a_401_at_once(api, index):
    carol = token(index, "carol")
    assert [m.id for m in client(api, carol).models.list()] == ["hr"]
    assert run_qa("users", "token", "carol", "--revoke", "--index", str(index)).returncode == 0
    with pytest.raises(openai.AuthenticationError):
        client(api, carol).models.list()
    carol = token(index, "carol")
    assert chat(api, carol, "hr", ASK["hr"]).status_code == 200
    assert run_qa("users", "remove", "carol", "--index", str(index)).returncode == 0
    assert chat(api, carol, "hr", ASK["hr"]).status_code == 401
    assert Accounts(index).login("carol", PASSWORD["carol"]) is None


# -- `qa mcp` ------------------------------------------------------------------------------


async def mcp_transcript(session: ClientSession, own: str, other: str) -> dict[str, Any]:
    """What a user sees of the collections over MCP: the resources listed, reading each, and
    asking and searching their own collection, the other one and one that does not exist."""
    await session.initialize()
    seen: dict[str, Any] = {"listed": sorted(
        str(r.uri) for r in (await session.list_resources()).resources)}
    answered = await session.call_tool("ask", {"question": ASK[own], "collection": own})
    seen["answered"] = answered.structured_content
    for name in (own, other, "ops"):
        try:
            seen[f"read {name}"] = json.loads(
                (await session.read_resource(f"qa://collections/{name}")).contents[0].text)
        except MCPError as exc:
            seen[f"read {name}"] = f"error {exc.error.code}: {exc.error.message}"
        for tool, arguments in (("ask", {"question": ASK[other]}),
                                ("search", {"query": ASK[other]})):
            result = await session.call_tool(tool, {**arguments, "collection": name})
            seen[f"{tool} {name}"] = (result.is_error, result.structured_content
                                      if not result.is_error else result.content[0].text)
    return seen


async def mcp_over_http(url: str, bearer: str, own: str, other: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"},
                                  timeout=60) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        return await mcp_transcript(session, own, other)


def check_mcp(seen: dict[str, Any], own: str, other: str) -> None:
    assert seen["listed"] == [f"qa://collections/{own}"]
    assert seen[f"read {own}"]["name"] == own
    assert seen[f"read {other}"].startswith("error") and seen["read ops"].startswith("error")
    assert same_but_name(seen[f"read {other}"], seen["read ops"], other)
    assert seen["answered"]["refused"] is False and seen["answered"]["citations"]
    error, asked = seen[f"ask {own}"]
    assert not error and asked["refused"] is True  # only the other collection says it
    for tool in ("ask", "search"):
        error, text = seen[f"{tool} {other}"]
        assert error and (True, text.replace(other, "X")) == (
            seen[f"{tool} ops"][0], seen[f"{tool} ops"][1].replace("ops", "X"))
        assert text.endswith(f"the collections are: {own}")


@pytest.fixture(scope="module")
def mcp_url(index: Path) -> Iterator[str]:
    with qa_listening("mcp", "--http", "--index", str(index), env=ENV) as port:  # no QA_MCP_TOKEN
        yield f"http://127.0.0.1:{port}/mcp"


@slow
@pytest.mark.parametrize("name", ["alice", "bob"])
def test_qa_mcp_over_http_shows_each_user_only_their_collection(mcp_url, tokens, name):
    check_mcp(anyio.run(mcp_over_http, mcp_url, tokens[name], OWN[name], OTHER[name]),
              OWN[name], OTHER[name])


@slow
def test_qa_mcp_over_http_refuses_a_wrong_token(mcp_url, tokens):
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}}
    for wrong in ({}, bearer("qa_not-a-token")):
        reply = httpx.post(mcp_url, json=hello, timeout=30, headers={
            **wrong, "Accept": "application/json, text/event-stream"})
        assert reply.status_code == 401 and "a user's token" in reply.json()["error"]


@slow
def test_qa_mcp_over_stdio_serves_the_account_of_its_token(index, tokens):
    async def talk() -> dict[str, Any]:
        command, *args = qa_command("mcp", "--index", str(index))
        server = StdioServerParameters(command=command, args=args, env={
            **os.environ, **ENV, "QA_MCP_TOKEN": tokens["bob"]})
        async with stdio_client(server) as (read, write), ClientSession(read, write) as s:
            return await mcp_transcript(s, "eng", "hr")

    check_mcp(anyio.run(talk), "eng", "hr")


def test_qa_mcp_over_stdio_needs_a_users_token_when_there_are_accounts(index, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("QA_MCP_TOKEN", "qa_not-a-token")
    assert main(["mcp", "--index", str(index)]) == 1
    assert "QA_MCP_TOKEN" in capsys.readouterr().err
