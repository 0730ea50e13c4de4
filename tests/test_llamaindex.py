"""qa inside LlamaIndex: its retriever and query engine, used by LlamaIndex's own tool."""

from __future__ import annotations

import pytest

from qa import QA

from .conftest import SEED


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    with QA(tmp_path_factory.mktemp("li") / "ix", backend="extractive") as qa:
        qa.ingest(SEED)
        yield qa


def test_the_retriever_is_a_llamaindex_retriever_whose_nodes_carry_the_lines(qa):
    from llama_index.core.retrievers import BaseRetriever

    retriever = qa.as_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve("Which leader voiced support for Macron's stance?")
    assert len(nodes) == 3
    lines = SEED.read_text(encoding="utf-8").split("\n")
    for n in nodes:
        meta = n.node.metadata
        assert meta["source"] == str(SEED) and "page" not in meta
        assert n.node.get_content() == "\n".join(lines[meta["start_line"] - 1 : meta["end_line"]])
    assert any("Estonian Prime Minister" in n.node.get_content() for n in nodes)


def test_the_query_engine_works_as_a_llamaindex_tool(qa):
    from llama_index.core.tools import QueryEngineTool

    tool = QueryEngineTool.from_defaults(
        qa.as_query_engine(), name="seed_news", description="Answers about the seed article")
    out = tool.call("Which leader voiced support for Macron's stance?")
    assert "Estonian Prime Minister" in out.content
    response = out.raw_output
    [node] = response.source_nodes
    assert node.node.metadata["label"] == f"{SEED}:L30"
    assert node.node.get_content() == SEED.read_text(encoding="utf-8").split("\n")[29]
    assert response.metadata["refused"] is False

    refused = tool.call("Who won the 1998 FIFA World Cup final?").raw_output
    assert refused.metadata["refused"] is True and refused.source_nodes == []
    assert str(refused).startswith("The documents don't say")
