"""Shared fixtures: the real seed, real Chroma, the real packaged models, no network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def run_qa(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    """Run the installed `qa` command as a user would."""
    return subprocess.run(
        [str(BIN / "qa"), *args],
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
