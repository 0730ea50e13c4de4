"""Embeddings from an OpenAI-compatible /v1/embeddings server on loopback (QA_EMBED_URL).

The server is real HTTP speaking the OpenAI protocol, and its vectors are real: it serves the
packaged MiniLM, as a team would on an embeddings machine.
"""

from __future__ import annotations

import threading
import time

import pytest

from qa import QA, InputError

from .conftest import SEED, free_port

QUESTION = "Which leader voiced support for Macron's stance?"


@pytest.fixture(scope="module")
def embed_url():
    import uvicorn

    from eval.embed_server import create_app

    calls: list[int] = []
    app = create_app(calls=calls)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", calls
    server.should_exit = True
    thread.join(10)


def test_an_index_embedded_by_a_server_answers_and_refuses_to_mix(tmp_path, embed_url):
    url, calls = embed_url
    index = tmp_path / "ix"
    with QA(index, backend="extractive", embed_url=url) as qa:
        assert qa.ingest(SEED).chunks == 5 and sum(calls) >= 5
        answer = qa.ask(QUESTION)
        assert [c.label for c in answer.citations] == [f"{SEED}:L30"]
    with QA(index, backend="extractive") as qa:  # the packaged model would not match its vectors
        with pytest.raises(InputError, match="embedded by all-MiniLM-L6-v2@openai-compatible"):
            qa.ask(QUESTION)
        report = qa.ingest(SEED)  # re-embeds everything with the packaged model
        assert report.added == [str(SEED)] and report.chunks == 5
        assert [c.label for c in qa.ask(QUESTION).citations] == [f"{SEED}:L30"]


def test_an_unreachable_embeddings_server_is_a_one_line_error(tmp_path):
    from qa.errors import QAError

    with QA(tmp_path / "ix", backend="extractive",
            embed_url=f"http://127.0.0.1:{free_port()}/v1") as qa:
        with pytest.raises(QAError, match="embeddings server .* failed"):
            qa.ingest(SEED)


def test_a_text_already_embedded_in_this_process_is_not_sent_again(tmp_path, embed_url):
    """A second collection holding the same file (a team's copy of a shared report) costs the
    embeddings server nothing; only the question and lines it has not seen are sent."""
    url, calls = embed_url
    doc = tmp_path / "minutes.txt"
    doc.write_text("\n".join(f"Item {i}: the board {tmp_path.name} approved budget line {i * 7}."
                             for i in range(60)), encoding="utf-8")
    with QA(tmp_path / "ix", backend="extractive", embed_url=url) as qa:
        first = qa.ingest(doc).chunks
        sent = sum(calls)
        assert first >= 2 and sent >= first
    with QA(tmp_path / "ix", collection="team", backend="extractive", embed_url=url) as qa:
        report = qa.ingest(doc)
        assert report.added == [str(doc)] and report.chunks == first
        assert sum(calls) == sent
        answer = qa.ask("Which budget line did item 12 approve?")
        assert [c.label for c in answer.citations] == [f"{doc}:L13"]
        assert sum(calls) > sent  # the question was embedded, by the server
