"""Bad input gets a clear reason and loses nothing; an interrupted ingest is repaired."""

import json
import os
import random
import signal
import subprocess
import time

import pytest

from qa import QA, InputError, NotIndexedError

from .conftest import BIN, SEED_DIR, chroma_rows, make_read_only, run_qa


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


def test_an_index_that_cannot_be_created_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for command in (["ingest", str(tmp_path)], ["ask", "Who?"], ["stats"]):
        out = run_qa(*command, "--index", str(blocker / "ix"))
        assert out.returncode == 1, out.stderr
        expected = f"error: cannot open the index {blocker / 'ix'}: Not a directory"
        assert out.stderr.strip() == expected


def test_an_index_whose_folder_may_not_be_created_is_a_one_line_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    out = run_qa("ingest", str(SEED_DIR), "--index", str(locked / "ix"), as_user=True)
    assert (out.returncode, out.stderr) == (
        1, f"error: cannot open the index {locked / 'ix'}: Permission denied\n")


@pytest.mark.slow
@pytest.mark.parametrize("server", [False, True], ids=["embedded", "chroma-server"])
def test_a_read_only_index_is_read_and_never_written(tmp_path, request, server):
    """`qa stats` and `qa ask` only read. Chroma's embedded store writes even to answer, so
    there `qa ask` is a one-line error saying so; with a Chroma server it answers."""
    env = {"QA_CHROMA_URL": request.getfixturevalue("chroma_server").url,
           "QA_CHROMA_COLLECTION": "read_only"} if server else {}
    index = tmp_path / "ro"
    assert run_qa("ingest", str(SEED_DIR), "--index", str(index), env=env).returncode == 0
    before = make_read_only(index)
    stats = run_qa("stats", "--index", str(index), env=env, as_user=True)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["files"] == 1
    ask = run_qa("ask", "Which leader voiced support for Macron's stance?", "--json",
                 "--backend", "extractive", "--index", str(index), env=env, as_user=True)
    if server:
        assert ask.returncode == 0, ask.stderr
        assert [c["start_line"] for c in json.loads(ask.stdout)["citations"]] == [30]
    else:
        assert (ask.returncode, ask.stderr) == (1, (
            f"error: Chroma at {index / 'chroma'} failed: error returned from database: "
            "(code: 8) attempt to write a readonly database: the embedded store writes even "
            "to answer; make the folder writable, or serve it with `chroma run` and set "
            "QA_CHROMA_URL\n"))
    ingest = run_qa("ingest", str(SEED_DIR), "--index", str(index), env=env, as_user=True)
    assert (ingest.returncode, ingest.stderr) == (
        1, f"error: cannot open the index {index}: attempt to write a readonly database\n")
    assert sorted((p, p.stat().st_mtime_ns) for p in index.rglob("*")) == before


def test_asking_where_nothing_was_indexed_creates_no_index(tmp_path):
    out = run_qa("ask", "Who?", cwd=tmp_path)
    assert (out.returncode, out.stderr) == (
        1, "error: nothing is indexed in .qa: run `qa ingest PATH` first\n")
    stats = run_qa("stats", cwd=tmp_path)
    assert stats.returncode == 0 and json.loads(stats.stdout)["files"] == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_kill_9_during_ingest_is_repaired_by_the_next_ingest(tmp_path):
    """10 kills at random points, the corpus changing between them; then one ingest repairs."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(7)
    for f in range(40):
        paras = [" ".join(f"w{rng.randrange(5000)}" for _ in range(60)) for _ in range(8)]
        (corpus / f"doc{f:03}.txt").write_text("\n\n".join(paras))
    crashed = tmp_path / "crashed"
    for round_ in range(10):
        proc = subprocess.Popen([str(BIN / "qa"), "ingest", str(corpus), "--index", str(crashed)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.5, 5.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if round_ % 5 == 4:  # the interrupted index stays usable in between
            out = run_qa("ask", "w17 w230", "--index", str(crashed), "--backend", "extractive")
            assert "Traceback" not in out.stderr, out.stderr
            assert out.returncode == 0 or "nothing is indexed" in out.stderr  # killed early
        victim = corpus / f"doc{rng.randrange(40):03}.txt"
        if rng.random() < 0.5:
            victim.unlink(missing_ok=True)
        elif victim.exists():
            victim.write_text(victim.read_text() + f"\n\nedit {round_} w{round_}\n")
    with QA(crashed) as qa:
        qa.ingest(corpus)
    clean = tmp_path / "clean"
    with QA(clean) as qa:
        qa.ingest(corpus)
    rows = chroma_rows(crashed, {})
    assert rows == chroma_rows(clean, {})  # same ids and hashes: no duplicates, no orphans
    assert len(rows) == len({r[0] for r in rows})
    with QA(crashed) as a, QA(clean) as b:
        assert a.stats()["chunks"] == b.stats()["chunks"] == len(rows)


@pytest.mark.parametrize(
    "var,value,message",
    [
        ("QA_TOP_K", "abc", "QA_TOP_K='abc' is not a whole number"),
        ("QA_MIN_ANSWERABILITY", "high", "QA_MIN_ANSWERABILITY='high' is not a number"),
        ("QA_RERANK", "maybe", "QA_RERANK='maybe' is not one of: on, off"),
        ("QA_BACKEND", "gpt", "QA_BACKEND='gpt' is not one of: auto, openai, local, extractive"),
    ],
)
def test_a_bad_setting_is_a_one_line_error_naming_it(tmp_path, var, value, message):
    out = run_qa("stats", "--index", str(tmp_path / "ix"), env={var: value})
    assert out.returncode == 1
    assert out.stderr.strip() == f"error: {message}"


def test_switches_take_the_usual_boolean_spellings(monkeypatch):
    from qa import Settings

    for spelled, meant in [("true", "on"), ("Yes", "on"), ("1", "on"), ("FALSE", "off"),
                           ("no", "off"), ("0", "off"), ("off", "off")]:
        monkeypatch.setenv("QA_RERANK", spelled)
        monkeypatch.setenv("QA_FALLBACK", spelled)
        settings = Settings.from_env()
        assert (settings.rerank, settings.fallback) == (meant, meant), spelled


def test_api_keys_are_secrets_that_no_repr_or_dump_shows(monkeypatch):
    from qa import Settings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("QA_API_KEY", "sk-also-secret")
    settings = Settings.from_env()
    shown = repr(settings) + str(settings) + json.dumps(settings.model_dump(mode="json"))
    assert "secret" not in shown
    assert settings.openai_api_key.get_secret_value() == "sk-very-secret"


def test_qa_help_loads_neither_pydantic_nor_the_index_code():
    """`qa --help` stays fast: the settings (pydantic) and the QA object load on first use."""
    code = ("import sys, contextlib, io\nfrom qa.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help'])\n"
            "print(sorted(m for m in ('pydantic', 'qa.api', 'qa.config') if m in sys.modules))")
    out = subprocess.run([str(BIN / "python"), "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_qa_config_shows_each_setting_its_origin_and_never_a_secret(tmp_path):
    env = {"QA_TOP_K": "7", "OPENAI_API_KEY": "sk-very-secret", "QA_RERANK": "false"}
    done = run_qa("config", "--json", "--index", str(tmp_path / "ix"), env=env)
    assert done.returncode == 0, done.stderr
    rows = {r["variable"]: r for r in json.loads(done.stdout)}
    assert rows["QA_TOP_K"] == {"name": "top_k", "variable": "QA_TOP_K", "value": "7",
                                "from": "environment"}
    assert rows["QA_RERANK"]["value"] == "off"
    assert rows["QA_INDEX_DIR"]["from"] == "flag" and rows["QA_BACKEND"]["from"] == "default"
    assert rows["OPENAI_API_KEY"]["value"] == "(set)" and "sk-very-secret" not in done.stdout
