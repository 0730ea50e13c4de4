"""The built wheel works on its own: prompts and fitted weights travel inside it."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .conftest import ROOT, SEED_DIR

pytestmark = pytest.mark.slow


def test_wheel_installed_in_a_fresh_venv_answers_from_outside_the_checkout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("qa-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    # The dependencies come from this venv's site-packages, but not its editable qa: a .pth
    # in the new venv adds the folder, whose own .pth files (the editable finder) are not run.
    purelib = Path(subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    work = tmp_path / "elsewhere"
    shutil.copytree(SEED_DIR, work / "docs")
    where = subprocess.run([str(py), "-c", "import qa; print(qa.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(purelib)), where  # the wheel's qa, not the checkout's
    qa = str(env_dir / "bin" / "qa")
    out = subprocess.run([qa, "ingest", "docs"], cwd=work, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([qa, "ask", "Which leader voiced support for Macron's stance?"],
                         cwd=work, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "QA_BACKEND": "local"})
    assert out.returncode == 0, out.stderr
    assert "Estonian Prime Minister" in out.stdout and "L30" in out.stdout
