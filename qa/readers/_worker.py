"""Readers of binary formats run in a child process with a time limit.

PDFium and lxml are C code: a hostile or broken file can make them loop, eat memory or crash
the process. In a child, a file that takes longer than the limit is killed and reported, and
a crash costs that file only; the ingest goes on with the next one.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from . import View, kind_of, read_view
from ._skip import Skip


def _serve(conn: Any, seconds: float) -> None:
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        name, raw = job
        try:
            conn.send(("ok", read_view(name, raw, deadline=time.monotonic() + seconds)))
        except Skip as why:
            conn.send(("skip", str(why)))
        except Exception as exc:  # any reader bug is this file's problem, not the ingest's
            conn.send(("skip", f"cannot extract its text: {type(exc).__name__}: {exc}"))


class Extractor:
    """``view(name, raw)`` with a time limit; text files are read in-process (no C parser)."""

    def __init__(self, *, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._proc: Any = None
        self._conn: Any = None

    def view(self, name: str, raw: bytes) -> View:
        if kind_of(name) in ("text", None):
            return read_view(name, raw)
        if self._proc is None or not self._proc.is_alive():
            self._start()
        self._conn.send((name, raw))
        # The reader stops itself between pages at ``seconds``; the margin covers the reply.
        if not self._conn.poll(self.seconds + 5):
            self._stop(kill=True)
            raise Skip(f"extraction took longer than {self.seconds:g} s, the limit "
                       "(QA_EXTRACT_SECONDS)")
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            code = self._proc.exitcode if self._proc else None
            self._stop(kill=True)
            raise Skip(f"the reader crashed on this file (exit code {code})") from None
        if status == "skip":
            raise Skip(value)
        return value

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding threads
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.seconds), daemon=True)
        self._proc.start()
        child.close()

    def _stop(self, *, kill: bool = False) -> None:
        if self._proc is None:
            return
        try:
            if kill:
                self._proc.kill()
            else:
                self._conn.send(None)
            self._proc.join(5)
        except (OSError, ValueError):
            pass
        finally:
            if self._proc.is_alive():
                self._proc.kill()
            self._conn.close()
            self._proc = self._conn = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
