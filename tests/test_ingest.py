"""Re-ingest is incremental and idempotent: unchanged, changed, deleted and renamed files.

Each test runs against embedded Chroma and against a real `chroma run` server.
"""

import pytest

from qa import QA

from .conftest import SEED_DIR, chroma_rows, run_qa


def test_first_ingest_then_unchanged(tmp_path, seed_copy, store_options):
    with QA(tmp_path / "ix", **store_options) as qa:
        first = qa.ingest(seed_copy)
        assert len(first.added) == 1 and first.chunks > 0 and not first.skipped
        before = chroma_rows(tmp_path / "ix", store_options)
        again = qa.ingest(seed_copy)
        assert again.unchanged == first.added and again.chunks == 0 and not again.added
        assert chroma_rows(tmp_path / "ix", store_options) == before
        assert qa.stats()["chunks"] == len(before)


def test_changed_file_replaces_its_chunks(tmp_path, seed_copy, store_options):
    doc = next(seed_copy.iterdir())
    with QA(tmp_path / "ix", backend="extractive", **store_options) as qa:
        qa.ingest(seed_copy)
        doc.write_text(doc.read_text() + "\n\nThe zebra count in Tallinn reached 4,711 in May.\n")
        report = qa.ingest(seed_copy)
        assert report.updated == [str(doc)]
        rows = chroma_rows(tmp_path / "ix", store_options)
        assert len(rows) == len({r[0] for r in rows}) == qa.stats()["chunks"]
        ans = qa.ask("How many zebras were counted in Tallinn?")
        assert not ans.refused and "4,711" in ans.text
        assert ans.citations[0].start_line == 37


def test_deleted_and_renamed_files_leave_the_index(tmp_path, seed_copy, store_options):
    (seed_copy / "extra.md").write_text("# Notes\n\nThe orchard has 31 pear trees.\n")
    with QA(tmp_path / "ix", **store_options) as qa:
        qa.ingest(seed_copy)
        (seed_copy / "extra.md").rename(seed_copy / "renamed.md")
        report = qa.ingest(seed_copy)
        assert report.removed == [str(seed_copy / "extra.md")]
        assert report.added == [str(seed_copy / "renamed.md")]
        sources = {r[1] for r in chroma_rows(tmp_path / "ix", store_options)}
        assert str(seed_copy / "extra.md") not in sources
        (seed_copy / "renamed.md").unlink()
        assert qa.ingest(seed_copy).removed == [str(seed_copy / "renamed.md")]
        rows = chroma_rows(tmp_path / "ix", store_options)
        assert {r[1] for r in rows} == {str(next(seed_copy.iterdir()))}
        assert qa.stats()["files"] == 1


def test_seed_question_answered_on_either_store(tmp_path, store_options):
    with QA(tmp_path / "ix", backend="extractive", **store_options) as qa:
        qa.ingest("seeds")
        ans = qa.ask("Which leader voiced support for Macron's stance?")
    assert [(c.source, c.start_line) for c in ans.citations] == [
        ("seeds/000_9c02e21fc74a5060.txt", 30)]


def test_progress_is_reported(tmp_path, seed_copy):
    seen = []
    with QA(tmp_path / "ix") as qa:
        qa.ingest(seed_copy, progress=lambda done, total, src: seen.append((done, total)))
    assert seen[0] == (0, 1) and seen[-1] == (1, 1)


@pytest.mark.slow
def test_cli_obeys_qa_chroma_url(tmp_path, chroma_server):
    """With QA_CHROMA_URL set and no flag, `qa ingest` writes to the server, not the folder."""
    import chromadb

    collection = "cli_env_url"
    env = {"QA_CHROMA_URL": chroma_server.url, "QA_CHROMA_COLLECTION": collection}
    out = run_qa("ingest", str(SEED_DIR), "--index", str(tmp_path / "ix"), env=env)
    assert out.returncode == 0, out.stderr
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server.port)
    assert client.get_collection(collection).count() == 5  # the seed's chunks
    assert not (tmp_path / "ix" / "chroma").exists()
    stats = run_qa("stats", "--index", str(tmp_path / "ix"), env=env)
    assert stats.returncode == 0 and '"chunks": 5' in stats.stdout
