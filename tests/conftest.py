"""Shared fixtures: the real seed, real Chroma, the real packaged models, no network."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "seeds"
SEED = SEED_DIR / "000_9c02e21fc74a5060.txt"
GUARD = Path(__file__).resolve().parent / "netguard"
BIN = Path(sys.executable).parent

# This process and every child: offline, no telemetry, the loopback-only socket guard.
os.environ.update(
    HF_HUB_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    ANONYMIZED_TELEMETRY="False",
    PYTHONPATH=os.pathsep.join(filter(None, [str(GUARD), os.environ.get("PYTHONPATH")])),
)
for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "QA_BACKEND", "QA_INDEX_DIR", "QA_CHROMA_URL"):
    os.environ.pop(var, None)
sys.path.insert(0, str(GUARD))
import sitecustomize  # noqa: E402,F401  - installs the guard in this process too


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of seeds/ that a test may change."""
    dst = tmp_path / "docs"
    shutil.copytree(SEED_DIR, dst)
    return dst


@pytest.fixture(scope="session")
def seeded_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of seeds/ built once for the read-only tests."""
    from qa import QA

    index = tmp_path_factory.mktemp("seeded") / "index"
    with QA(index, backend="extractive") as qa:
        qa.ingest(os.path.relpath(SEED_DIR))
    return index


@pytest.fixture
def seeded_qa(seeded_index: Path):
    from qa import QA

    with QA(seeded_index, backend="extractive") as qa:
        yield qa


# Root reads and writes any file; without these capabilities it meets file permissions as any
# user does (the venv and the clone stay reachable wherever they are).
WITHOUT_ROOT_POWERS = ["setpriv", "--inh-caps=-all",
                       "--bounding-set=-dac_override,-dac_read_search"]


def qa_command(*args: str, as_user: bool = False) -> list[str]:
    """The installed `qa` command line; ``as_user``: run without root's powers."""
    drop = as_user and os.geteuid() == 0
    if drop and not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop root's powers over file permissions")
    return [*(WITHOUT_ROOT_POWERS if drop else []), str(BIN / "qa"), *args]


def make_read_only(index: Path) -> list[tuple[Path, int]]:
    """Take the write bits off every file and folder of the index; returns each path's mtime,
    to show later that nothing was written."""
    for path in [index, *index.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return sorted((p, p.stat().st_mtime_ns) for p in index.rglob("*"))


def run_qa(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300,
           as_user: bool = False):
    """Run the installed `qa` command as a user would; ``as_user``: without root's powers."""
    return subprocess.run(
        qa_command(*args, as_user=as_user),
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Debian chromium for a module's browser tests. Not for the whole run:
    Playwright's sync API holds an asyncio loop running in this thread while it lives, and a
    later test's ``anyio.run`` in the same process would fail on it, in whatever order the
    tests are spread over processes."""
    if not CHROMIUM.exists():  # `make test` installs it first (`make browser`)
        pytest.skip("Debian's chromium is not installed: run `make browser`")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def qa_listening(*args: str, env: dict[str, str] | None = None,
                 timeout: float = 120) -> Iterator[int]:
    """`qa ARGS --port P` on a free loopback port; yields P once it listens, stops it after."""
    import socket
    import time

    port = free_port()
    proc = subprocess.Popen(qa_command(*args, "--port", str(port)),
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, f"qa {args[0]} did not listen"
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def wait_http(url: str, timeout: float = 60) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class ChromaServer:
    """A real `chroma run` on 127.0.0.1; stop() and start() again on the same data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "chroma"), "run", "--path", str(self.path), "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/api/v2/heartbeat")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "server"])
def store_options(request) -> dict:
    """QA options for each store kind; the same tests run against both."""
    import uuid

    options = {"chroma_collection": f"t{uuid.uuid4().hex[:12]}"}
    if request.param == "server":
        options["chroma_url"] = request.getfixturevalue("chroma_server").url
    return options


def chroma_rows(index: Path, options: dict) -> list[tuple]:
    """(id, source, start, end, sha256) of every chunk the store holds, read with chromadb."""
    import chromadb

    if options.get("chroma_url"):
        port = int(options["chroma_url"].rsplit(":", 1)[1])
        client = chromadb.HttpClient(host="127.0.0.1", port=port)
    else:
        client = chromadb.PersistentClient(path=str(index / "chroma"))
    got = client.get_collection(options.get("chroma_collection", "qa_chunks")).get(
        include=["metadatas"])
    return sorted((i, m["source"], m["start_line"], m["end_line"], m["sha256"])
                  for i, m in zip(got["ids"], got["metadatas"]))


def index_of(tmp_path_factory: pytest.TempPathFactory, name: str,
             files: dict[str, bytes]) -> Path:
    """An index (real Chroma, the packaged embedder) of ``files`` written to a fresh docs/
    folder; returns the index folder, whose parent holds docs/."""
    from qa import QA

    root = tmp_path_factory.mktemp(name)
    (root / "docs").mkdir()
    for file, raw in files.items():
        (root / "docs" / file).write_bytes(raw)
    with QA(root / "ix") as qa:
        qa.ingest(root / "docs")
    return root / "ix"
