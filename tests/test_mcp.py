"""`qa mcp`, called with the mcp SDK's own client: over stdio (the client starts `qa mcp`) and
over streamable HTTP (`qa mcp --http` on loopback, with a bearer token)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from qa import QA
from qa.cli import main

from .conftest import SEED, qa_command, qa_listening

QUESTION = "Which leader voiced support for Macron's stance?"
UNANSWERABLE = "Who won the 1998 FIFA World Cup?"
TOKEN = "mcp-test-7d2a"
ENV = {"QA_BACKEND": "extractive", "QA_MCP_TOKEN": TOKEN}
slow = pytest.mark.slow  # starts a `qa mcp` process

# Everything the tests ask, in one session per transport; each test reads the replies.
CALLS: dict[str, Callable[[ClientSession], Awaitable[Any]]] = {
    "tools": lambda s: s.list_tools(),
    "search": lambda s: s.call_tool("search", {"query": QUESTION, "k": 3}),
    "ask": lambda s: s.call_tool("ask", {"question": QUESTION}),
    "refused": lambda s: s.call_tool("ask", {"question": UNANSWERABLE, "collection": "default"}),
    "unknown": lambda s: s.call_tool("ask", {"question": QUESTION, "collection": "news"}),
    "empty": lambda s: s.call_tool("ask", {"question": "   "}),
    "k0": lambda s: s.call_tool("search", {"query": QUESTION, "k": 0}),
    "resources": lambda s: s.list_resources(),
    "default": lambda s: s.read_resource("qa://collections/default"),
}


def file_lines(file: str, lines: list[int]) -> str:
    first, last = lines
    return "\n".join(Path(file).read_text().splitlines()[first - 1:last])


async def transcript(session: ClientSession) -> dict[str, Any]:
    await session.initialize()
    return {name: await call(session) for name, call in CALLS.items()}


async def over_stdio(index: Path) -> dict[str, Any]:
    command, *args = qa_command("mcp", "--index", str(index))
    server = StdioServerParameters(command=command, args=args, env={**os.environ, **ENV})
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        return await transcript(session)


async def over_http(url: str, token: str | None = TOKEN) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        return await transcript(session)


@contextlib.contextmanager
def qa_mcp_http(index: Path) -> Iterator[str]:
    """`qa mcp --http` on a free loopback port; yields the endpoint's URL."""
    with qa_listening("mcp", "--http", "--index", str(index), env=ENV, timeout=60) as port:
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "ix"
    with QA(path) as qa:
        qa.ingest(SEED)
    return path


@pytest.fixture(scope="module")
def http_url(index: Path) -> Iterator[str]:
    with qa_mcp_http(index) as url:
        yield url


@pytest.fixture(scope="module", params=["stdio", "http"])
def replies(request: pytest.FixtureRequest, index: Path) -> dict[str, Any]:
    if request.param == "stdio":
        return anyio.run(over_stdio, index)
    return anyio.run(over_http, request.getfixturevalue("http_url"))


@slow
def test_the_tools_are_listed_with_their_schemas(replies):
    tools = {t.name: t for t in replies["tools"].tools}
    assert set(tools) == {"search", "ask"}
    assert set(tools["search"].input_schema["properties"]) == {"query", "collection", "k"}
    assert tools["search"].input_schema["required"] == ["query"]
    assert set(tools["ask"].output_schema["properties"]) == {
        "answer", "refused", "reason", "citations"}
    assert all(t.annotations.read_only_hint for t in tools.values())


@slow
def test_search_returns_passages_that_quote_the_files_lines(replies):
    result = replies["search"]
    assert not result.is_error
    passages = result.structured_content["passages"]
    assert 1 <= len(passages) <= 3
    for p in passages:
        assert p["file"] == str(SEED) and p["page"] is None
        assert p["quote"] == file_lines(p["file"], p["lines"])
    assert any(p["lines"][0] <= 30 <= p["lines"][1] for p in passages)
    assert json.loads(result.content[0].text) == result.structured_content


@slow
def test_ask_returns_the_verified_answer_with_citations_that_quote_the_file(replies):
    result = replies["ask"]
    assert not result.is_error
    out = result.structured_content
    assert "Estonian Prime Minister" in out["answer"]
    assert (out["refused"], out["reason"]) == (False, None)
    [cite] = out["citations"]
    assert (cite["file"], cite["page"], cite["lines"]) == (str(SEED), None, [30, 30])
    assert cite["quote"] == file_lines(cite["file"], cite["lines"])
    assert cite["quote"].startswith("The Estonian Prime Minister")


@slow
def test_an_unanswerable_question_is_refused_as_a_result_not_an_error(replies):
    result = replies["refused"]
    assert not result.is_error
    out = result.structured_content
    assert out["refused"] is True and out["citations"] == []
    assert out["answer"].startswith("The documents don't say") and out["reason"]


@slow
def test_an_unknown_collection_is_a_tool_error_naming_the_known_ones(replies):
    result = replies["unknown"]
    assert result.is_error
    [text] = [c.text for c in result.content]
    assert "no collection 'news'" in text and "default" in text and "\n" not in text


@slow
@pytest.mark.parametrize("call,says", [("empty", "the question is empty"),
                                       ("k0", "k must be from 1 to 50, not 0")])
def test_bad_input_is_a_one_line_tool_error(replies, call, says):
    result = replies[call]
    assert result.is_error
    [text] = [c.text for c in result.content]
    assert says in text and "\n" not in text


@slow
def test_the_collections_are_resources_with_their_stats(replies):
    [resource] = replies["resources"].resources
    assert (str(resource.uri), resource.name) == ("qa://collections/default", "default")
    [content] = replies["default"].contents
    stats = json.loads(content.text)
    assert (stats["name"], stats["files"], stats["sources"]) == ("default", 1, [str(SEED)])
    assert stats["chunks"] > 0


@slow
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_http_without_the_token_or_with_a_wrong_one_is_a_401(http_url, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}}
    reply = httpx.post(http_url, json=hello, timeout=30, headers={
        **headers, "Accept": "application/json, text/event-stream"})
    assert reply.status_code == 401 and "QA_MCP_TOKEN" in reply.json()["error"]
    with pytest.raises(BaseExceptionGroup) as failed:  # the SDK's client gets no session
        anyio.run(over_http, http_url, token)
    assert failed.group_contains(MCPError, match="error response")


@pytest.mark.parametrize("host", [[], ["--host", "0.0.0.0"]])
def test_qa_mcp_http_refuses_to_start_without_a_token(tmp_path, host, monkeypatch, capsys):
    monkeypatch.delenv("QA_MCP_TOKEN", raising=False)
    assert main(["mcp", "--http", "--index", str(tmp_path / "ix"), *host]) == 1
    assert "QA_MCP_TOKEN" in capsys.readouterr().err
