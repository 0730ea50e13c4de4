"""`make setup`'s installer (tools/install.py): uv is given the package sources pip is
configured with, and llama-cpp-python is built at the version that is installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .conftest import ROOT


def _installer():
    spec = importlib.util.spec_from_file_location("install", ROOT / "tools" / "install.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pairs(options: list[str]) -> list[tuple[str, str]]:
    return list(zip(options[::2], options[1::2], strict=True))


def test_uv_is_given_the_indexes_links_and_constraints_pip_is_configured_with(tmp_path,
                                                                               monkeypatch):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nextra-index-url = file:///a/simple\n    file:///b/simple\n"
                    "find-links = /wheels\n[install]\nconstraint = /etc/c.txt\n"
                    "index-url = https://mirror.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_FIND_LINKS", "/wheels")  # the same place set twice: given once
    options = pairs(_installer().sources())
    for pair in [("--extra-index-url", "file:///a/simple"), ("--extra-index-url", "file:///b/simple"),
                 ("--find-links", "/wheels"), ("--constraint", "/etc/c.txt"),
                 ("--index-url", "https://mirror.example/simple")]:
        assert pair in options
    assert options.count(("--find-links", "/wheels")) == 1
    assert options[-1] == ("--index-strategy", "unsafe-best-match")  # every index, as pip


def test_llama_cpp_is_built_at_the_version_installed():
    """The wheel pip builds (and caches) is the one the install then takes."""
    from importlib.metadata import version

    assert _installer().llama_cpp_pin() == f"llama-cpp-python=={version('llama-cpp-python')}"


def test_the_installed_packages_carry_their_bytecode():
    """uv writes no .pyc unless told; where Python may not write them either
    (PYTHONDONTWRITEBYTECODE), every `qa` process compiled llama-index again: imports 2x slower."""
    import llama_index.core

    source = llama_index.core.__file__
    assert source and Path(importlib.util.cache_from_source(source)).exists()
