"""Faults a user will meet: a Chroma server that goes away, and hostile files in the corpus."""

import os
import subprocess
import sys

import pytest

from qa import QA, StoreError

from .conftest import ChromaServer, run_qa

QUESTION = "Which leader voiced support for Macron's stance?"


@pytest.mark.slow
def test_chroma_server_stopped_mid_session_then_back(tmp_path):
    server = ChromaServer(tmp_path / "data")
    server.start()
    try:
        with QA(tmp_path / "ix", backend="extractive", chroma_url=server.url) as qa:
            qa.ingest("seeds")
            assert not qa.ask(QUESTION).refused
            server.stop()
            with pytest.raises(StoreError, match=f"Chroma server at {server.url}"):
                qa.ask(QUESTION)
            out = run_qa("ask", QUESTION, "--index", str(tmp_path / "ix"),
                         "--chroma-url", server.url, "--backend", "extractive")
            assert out.returncode == 1 and server.url in out.stderr
            assert len(out.stderr.strip().splitlines()) == 1
            server.start()
            assert [c.start_line for c in qa.ask(QUESTION).citations] == [30]
    finally:
        server.stop()


def test_hostile_corpus_each_file_reported_rest_indexed(tmp_path, seed_copy):
    d = seed_copy
    (d / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (d / "zero.txt").write_bytes(b"")
    (d / "bad-utf8.md").write_bytes(b"ok line\n\xff\xfe broken \xc3\x28\n")
    with open(d / "huge.txt", "wb") as fh:  # 200 MB, sparse: refused by size, never read
        fh.truncate(200_000_000)
    os.symlink(d / "self.txt", d / "self.txt")  # a symlink loop
    os.symlink(d, d / "loop")  # a folder loop: not followed
    growing = d / "growing.txt"
    growing.write_text("first line\n" * 1000)
    writer = _append_when_opened(growing, "more text\n" * 200)
    try:
        with QA(tmp_path / "ix") as qa:
            report = qa.ingest(d)
    finally:
        wrote = _finish(writer)
    assert wrote and growing.stat().st_size == 13_000  # it did grow while ingest read it
    reasons = dict(report.skipped)
    assert "binary" in reasons[str(d / "binary.txt")]
    assert "empty" in reasons[str(d / "zero.txt")]
    assert "UTF-8" in reasons[str(d / "bad-utf8.md")]
    assert "too large" in reasons[str(d / "huge.txt")]
    assert "cannot read" in reasons[str(d / "self.txt")]
    assert reasons.get(str(growing)) == "changed while being read; ingest again once it is written"
    assert report.added == [str(d / "000_9c02e21fc74a5060.txt")]


# A writer that appends to a file exactly while ingest reads it, every time: it holds a write
# lease (fcntl F_SETLEASE), so the kernel blocks ingest's open() of the file (after its first
# stat) and signals the writer, which appends and lets the open go on.
_WRITER = """
import fcntl, os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGIO})
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
print("ready", flush=True)
opened = signal.sigtimedwait({signal.SIGIO}, 120) is not None
os.write(fd, sys.argv[2].encode())
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
print("appended" if opened else "never opened", flush=True)
"""


def _append_when_opened(path, text: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), text],
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    return proc


def _finish(proc: subprocess.Popen) -> bool:
    """Whether the writer appended when the file was opened (it is stopped either way)."""
    try:
        out, _ = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out == b"appended\n"


@pytest.mark.slow
def test_unreadable_file_is_reported(tmp_path):
    docs = tmp_path / "corpus"
    docs.mkdir()
    (docs / "open.txt").write_text("Anyone can read this line about the harbour.\n")
    (docs / "secret.txt").write_text("Nobody can read this.\n")
    os.chmod(docs / "secret.txt", 0o000)
    out = run_qa("ingest", str(docs), "--index", str(tmp_path / "ix"), as_user=True,
                 env={"HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "indexed 1 file" in out.stdout
    assert f"skipped {docs / 'secret.txt'}: cannot read: Permission denied" in out.stdout
