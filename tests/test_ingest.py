"""Re-ingest is incremental and idempotent: unchanged, changed, deleted and renamed files."""

import chromadb

from qa import QA


def stored(index):
    """(id, source, start, end) of every chunk Chroma holds."""
    client = chromadb.PersistentClient(path=str(index / "chroma"))
    got = client.get_collection("qa_chunks").get(include=["metadatas"])
    return sorted((i, m["source"], m["start_line"], m["end_line"])
                  for i, m in zip(got["ids"], got["metadatas"]))


def test_first_ingest_then_unchanged(tmp_path, seed_copy):
    with QA(tmp_path / "ix") as qa:
        first = qa.ingest(seed_copy)
        assert len(first.added) == 1 and first.chunks > 0 and not first.skipped
        before = stored(tmp_path / "ix")
        again = qa.ingest(seed_copy)
        assert again.unchanged == first.added and again.chunks == 0 and not again.added
        assert stored(tmp_path / "ix") == before
        assert qa.stats()["chunks"] == len(before)


def test_changed_file_replaces_its_chunks(tmp_path, seed_copy):
    doc = next(seed_copy.iterdir())
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(seed_copy)
        doc.write_text(doc.read_text() + "\n\nThe zebra count in Tallinn reached 4,711 in May.\n")
        report = qa.ingest(seed_copy)
        assert report.updated == [str(doc)]
        rows = stored(tmp_path / "ix")
        assert len(rows) == len({r[0] for r in rows}) == qa.stats()["chunks"]
        ans = qa.ask("How many zebras were counted in Tallinn?")
        assert not ans.refused and "4,711" in ans.text
        assert ans.citations[0].start_line == 37


def test_deleted_and_renamed_files_leave_the_index(tmp_path, seed_copy):
    (seed_copy / "extra.md").write_text("# Notes\n\nThe orchard has 31 pear trees.\n")
    with QA(tmp_path / "ix") as qa:
        qa.ingest(seed_copy)
        (seed_copy / "extra.md").rename(seed_copy / "renamed.md")
        report = qa.ingest(seed_copy)
        assert report.removed == [str(seed_copy / "extra.md")]
        assert report.added == [str(seed_copy / "renamed.md")]
        sources = {r[1] for r in stored(tmp_path / "ix")}
        assert str(seed_copy / "extra.md") not in sources
        (seed_copy / "renamed.md").unlink()
        assert qa.ingest(seed_copy).removed == [str(seed_copy / "renamed.md")]
        assert {r[1] for r in stored(tmp_path / "ix")} == {str(next(seed_copy.iterdir()))}
        assert qa.stats()["files"] == 1


def test_progress_is_reported(tmp_path, seed_copy):
    seen = []
    with QA(tmp_path / "ix") as qa:
        qa.ingest(seed_copy, progress=lambda done, total, src: seen.append((done, total)))
    assert seen[0] == (0, 1) and seen[-1] == (1, 1)
