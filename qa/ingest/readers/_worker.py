"""Readers of binary formats run in a child process with a time limit.

PDFium and lxml are C code: a hostile or broken file can make them loop, eat memory or crash
the process. In a child, a file that takes longer than the limit is killed and reported, and
a crash costs that file only; the ingest goes on with the next one.

The child is a fresh ``python`` running ``child()``, not a multiprocessing child: "spawn" would run
the caller's script again in the child unless it guards itself with ``if __name__ ==
"__main__"``, which a user's three-line script does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import View, kind_of, read_view
from ._skip import Skip

if TYPE_CHECKING:
    from .ocr import Ocr, OnPage


def _serve(jobs: Connection, results: Connection, seconds: float) -> None:
    def page_done(page: int, pages: int) -> None:
        results.send(("page", (page, pages)))

    while True:
        try:
            name, raw, ocr = jobs.recv()
        except EOFError:
            return
        try:
            results.send(("ok", read_view(name, raw, deadline=time.monotonic() + seconds,
                                          ocr=ocr, on_page=page_done)))
        except Skip as why:
            results.send(("skip", str(why)))
        except Exception as exc:  # any reader bug is this file's problem, not the ingest's
            results.send(("skip", f"cannot extract its text: {type(exc).__name__}: {exc}"))


class Extractor:
    """``view(name, raw)`` with a time limit; text files are read in-process (no C parser).
    ``ocr`` reads images and PDF pages without text (``read_view``): each page it reads has
    the time limit afresh, so a long scan is read to its end, a page that hangs is not."""

    def __init__(self, *, seconds: float = 60.0, ocr: Ocr | None = None) -> None:
        self.seconds = seconds
        self.ocr = ocr
        self._proc: Any = None
        self._jobs: Any = None
        self._results: Any = None

    def view(self, name: str, raw: bytes, on_page: OnPage | None = None) -> View:
        """The file's view; ``on_page`` hears of each page OCR has read."""
        if kind_of(name) in ("text", None):
            return read_view(name, raw)
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        try:
            self._jobs.send((name, raw, self.ocr))
        except OSError:
            pass  # the child is gone: recv below reports it
        status = "page"
        while status == "page":  # until the view or the reason; a page read by OCR says so
            try:
                # The reader stops itself between pages at ``seconds``; the margin covers the
                # rest.
                ready = self._results.poll(self.seconds + 5)
            except OSError:
                ready = True  # the child is gone: recv below reports it
            if not ready:
                self._stop()
                raise Skip(f"extraction took longer than {self.seconds:g} s, the limit "
                           "(QA_EXTRACT_SECONDS)")
            try:
                status, value = self._results.recv()
            except (EOFError, OSError):
                self._stop()
                raise Skip("the reader crashed on this file") from None
            if status == "page" and on_page is not None:
                on_page(*value)
        if status == "skip":
            raise Skip(value)
        return value

    def _start(self) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[3])  # the folder holding the qa package
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from qa.ingest.readers._worker import child; child()",
             repr(self.seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self._jobs = Connection(os.dup(self._proc.stdin.fileno()), readable=False)
        self._results = Connection(os.dup(self._proc.stdout.fileno()), writable=False)
        self._proc.stdin.close()
        self._proc.stdout.close()

    def _stop(self) -> None:
        if self._proc is None:
            return
        self._jobs.close()  # the child's recv ends: it exits
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._results.close()
        self._proc = self._jobs = self._results = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def child() -> None:
    """The child's entry. Results go over a private copy of stdout, so anything a library
    prints (to stdout, now stderr) cannot corrupt them."""
    results = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    _serve(Connection(os.dup(0), writable=False), results, float(sys.argv[1]))
