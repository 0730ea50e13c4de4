"""Bad input gets a clear reason and loses nothing; an interrupted ingest is repaired."""

import os
import random
import signal
import subprocess
import time

import chromadb
import pytest

from qa import QA, InputError, NotIndexedError

from .conftest import BIN, run_qa


def test_broken_files_are_skipped_with_reasons_and_the_rest_indexed(tmp_path, seed_copy):
    (seed_copy / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0IHDR" * 10)
    (seed_copy / "empty.md").write_bytes(b"")
    (seed_copy / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (seed_copy / "image.png").write_bytes(b"\0")  # not a .txt/.md: ignored, not an error
    with QA(tmp_path / "ix") as qa:
        report = qa.ingest(seed_copy)
    reasons = dict(report.skipped)
    assert "binary" in reasons[str(seed_copy / "binary.txt")]
    assert "empty" in reasons[str(seed_copy / "empty.md")]
    assert "UTF-8" in reasons[str(seed_copy / "latin1.txt")]
    assert len(report.added) == 1


def test_api_errors_are_typed(tmp_path):
    with QA(tmp_path / "ix") as qa:
        with pytest.raises(InputError, match="no such file"):
            qa.ingest(tmp_path / "missing")
        with pytest.raises(NotIndexedError, match="nothing is indexed"):
            qa.ask("Who?")
        with pytest.raises(InputError, match="empty"):
            qa.ask("   ")


@pytest.mark.parametrize(
    "args,message",
    [
        (["ingest", "no/such/dir"], "no such file or folder"),
        (["ask", "Who supported Macron?"], "nothing is indexed"),
        (["ask", ""], "the question is empty"),
    ],
)
def test_cli_errors_are_one_line_with_nonzero_exit(tmp_path, args, message):
    out = run_qa(*args, "--index", str(tmp_path / "ix"))
    assert out.returncode != 0
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def _chunks(index):
    client = chromadb.PersistentClient(path=str(index / "chroma"))
    got = client.get_collection("qa_chunks").get(include=["metadatas"])
    return sorted((i, m["sha256"]) for i, m in zip(got["ids"], got["metadatas"]))


def test_kill_9_during_ingest_is_repaired_by_the_next_ingest(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(7)
    for f in range(60):
        paras = [" ".join(f"w{rng.randrange(5000)}" for _ in range(60)) for _ in range(8)]
        (corpus / f"doc{f:03}.txt").write_text("\n\n".join(paras))
    clean = tmp_path / "clean"
    with QA(clean) as qa:
        qa.ingest(corpus)
    want = _chunks(clean)

    crashed = tmp_path / "crashed"
    for delay in (2.5, 4.0, 6.0):
        proc = subprocess.Popen([str(BIN / "qa"), "ingest", str(corpus), "--index", str(crashed)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # the interrupted index stays usable in between
        out = run_qa("ask", "w17 w230", "--index", str(crashed), "--backend", "extractive")
        assert out.returncode in (0, 1) and "Traceback" not in out.stderr
        # change the corpus between crashes: one file deleted, one edited
        (corpus / f"doc{int(delay * 10):03}.txt").unlink(missing_ok=True)
    with QA(crashed) as qa:
        qa.ingest(corpus)
    with QA(clean) as qa:
        qa.ingest(corpus)
    assert _chunks(crashed) == _chunks(clean)
    assert len(_chunks(clean)) < len(want)
