"""Collections: named sets of documents in one index folder that never answer for each other,
through the command line, the Python API and `qa api`, on embedded Chroma and a Chroma server."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from qa import QA
from qa.conversations import Conversations
from qa.errors import InputError

from .conftest import SEED, run_qa
from .test_openai_server import serving

HR = "Parental leave at Northwind is 16 weeks for every employee, paid in full.\n"
ENG = "The Northwind build server runs Debian 13 and compiles with GCC 14.\n"
ASK_HR = "How long is parental leave at Northwind?"
ASK_ENG = "Which compiler does the Northwind build server use?"


@pytest.fixture
def folders(tmp_path):
    for name, text in (("hr", HR), ("eng", ENG)):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(text)
    return tmp_path


def test_each_collection_answers_only_from_its_own_documents(folders, store_options):
    index = folders / "ix"
    with QA(index, collection="hr", backend="extractive", **store_options) as hr:
        hr.ingest(folders / "hr")
        eng = hr.collection("eng")
        eng.ingest(folders / "eng")
        assert hr.collections() == ["eng", "hr"]
        assert eng.embed_model is hr.embed_model  # one model for all
        got = hr.ask(ASK_HR)
        assert not got.refused and "16 weeks" in got.text
        assert {c.source for c in got.citations} == {str(folders / "hr" / "hr.txt")}
        assert eng.ask(ASK_HR).refused  # only HR's file says it
        assert hr.ask(ASK_ENG).refused
        assert not eng.ask(ASK_ENG).refused
        assert [p.chunk.source for p in eng.retrieve(ASK_HR)] == [str(folders / "eng" / "eng.txt")]


def test_an_index_made_before_collections_opens_as_the_default_one(tmp_path):
    with QA(tmp_path / "ix", backend="extractive") as qa:  # today's layout: the folder itself
        qa.ingest(SEED)
    assert not (tmp_path / "ix" / "collections").exists()
    with QA(tmp_path / "ix", collection="default", backend="extractive", read_only=True) as qa:
        assert qa.home == tmp_path / "ix" and qa.stats()["files"] == 1
        assert qa.collections() == ["default"]
        assert not qa.ask("Which leader voiced support for Macron's stance?").refused


def test_bad_and_unknown_collection_names_are_one_line_errors(tmp_path):
    with QA(tmp_path / "ix", collection="hr") as qa:
        qa.ingest(SEED)
    with pytest.raises(InputError, match="no collection 'eng'.*there are: hr"):
        QA(tmp_path / "ix", collection="eng", read_only=True)
    for bad in ("../etc", "HR", "", "a" * 64, "hr/x"):
        with pytest.raises(InputError, match="QA_COLLECTION"):
            QA(tmp_path / "ix", collection=bad)


@pytest.mark.slow
def test_cli_ingests_asks_lists_and_deletes_collections(folders):
    ix = str(folders / "ix")
    env = {"QA_BACKEND": "extractive"}
    for name in ("hr", "eng"):
        done = run_qa("ingest", "--index", ix, "--collection", name, str(folders / name), env=env)
        assert done.returncode == 0, done.stderr
    listed = run_qa("collections", "--index", ix, "--json")
    assert [(c["collection"], c["files"]) for c in json.loads(listed.stdout)] == [
        ("eng", 1), ("hr", 1)]
    asked = run_qa("ask", "--index", ix, "--collection", "hr", ASK_HR, "--json", env=env)
    assert json.loads(asked.stdout)["refused"] is False
    asked = run_qa("ask", "--index", ix, "--collection", "eng", ASK_HR, "--json", env=env)
    assert json.loads(asked.stdout)["refused"] is True
    gone = run_qa("collections", "delete", "eng", "--index", ix)
    assert gone.returncode == 0 and "deleted collection 'eng'" in gone.stdout
    assert (folders / "eng" / "eng.txt").exists()  # the documents stay
    missing = run_qa("ask", "--index", ix, "--collection", "eng", ASK_ENG, env=env)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: no collection 'eng' in {ix}; there are: hr"


@pytest.mark.slow
def test_deleting_a_collection_removes_its_uploads_and_conversations(folders, tmp_path):
    ix = folders / "ix"
    with QA(ix, collection="hr", backend="extractive") as hr:
        hr.ingest(folders / "hr")
        eng = hr.collection("eng")
        eng.ingest(folders / "eng")
        (eng.home / "uploads").mkdir()
        (eng.home / "uploads" / "wiki.txt").write_text("The wiki runs MediaWiki 1.42.\n")
        eng.ingest(eng.home / "uploads" / "wiki.txt")
        store = Conversations(ix)
        for user, collection in (("bob", "eng"), ("bob", "eng"), ("alice", "hr")):
            c = store.start(user, collection, ASK_ENG)
            store.add_turn(c.id, user, ASK_ENG, eng.ask(ASK_ENG))
    gone = run_qa("collections", "delete", "eng", "--index", str(ix))
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.strip() == ("deleted collection 'eng': 2 files, 2 chunks and their "
                                   "vectors, 1 uploads, 2 conversations (the documents "
                                   "elsewhere are untouched)")
    assert not (ix / "collections" / "eng").exists()
    assert store.list("bob") == [] and [c.collection for c in store.list("alice")] == ["hr"]
    again = run_qa("ingest", "--index", str(ix), "--collection", "eng", str(folders / "eng"),
                   env={"QA_BACKEND": "extractive"})
    assert again.returncode == 0 and store.list("bob") == []  # a new eng has none of them


def test_the_api_serves_each_collection_as_a_model(folders):
    with QA(folders / "ix", collection="hr", backend="extractive") as qa:
        qa.ingest(folders / "hr")
        qa.collection("eng").ingest(folders / "eng")
    with QA(folders / "ix", backend="extractive", read_only=True) as qa, \
            serving(qa, api_key="") as url:
        client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
        assert [m.id for m in client.models.list()] == ["eng", "hr"]

        def ask(model: str, question: str) -> bool:
            done = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": question}])
            return done.model_extra["refused"]

        assert ask("hr", ASK_HR) is False
        assert ask("eng", ASK_HR) is True
        assert ask("eng", ASK_ENG) is False
        unknown = httpx.post(f"{url}/chat/completions", json={
            "model": "finance", "messages": [{"role": "user", "content": ASK_HR}]})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "model_not_found"
        assert "no collection 'finance'" in unknown.json()["error"]["message"]


@pytest.mark.slow  # starts a `qa mcp` process
def test_qa_mcp_serves_each_collection_apart(folders):
    import os

    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    from .conftest import qa_command

    with QA(folders / "ix", collection="hr") as qa:
        qa.ingest(folders / "hr")
        qa.collection("eng").ingest(folders / "eng")

    async def talk() -> tuple[list[str], dict[str, bool]]:
        command, *args = qa_command("mcp", "--index", str(folders / "ix"))
        server = StdioServerParameters(command=command, args=args,
                                       env={**os.environ, "QA_BACKEND": "extractive"})
        async with stdio_client(server) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            listed = [str(r.uri) for r in (await s.list_resources()).resources]
            refused = {}
            for name, question in (("hr", ASK_HR), ("eng", ASK_HR), ("eng", ASK_ENG)):
                got = await s.call_tool("ask", {"question": question, "collection": name})
                refused[f"{name}: {question}"] = got.structured_content["refused"]
            return listed, refused

    listed, refused = anyio.run(talk)
    assert listed == ["qa://collections/eng", "qa://collections/hr"]
    assert refused == {f"hr: {ASK_HR}": False, f"eng: {ASK_HR}": True, f"eng: {ASK_ENG}": False}
