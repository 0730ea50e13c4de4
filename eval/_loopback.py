"""A server the benchmarks start in its own process, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment(**settings: str) -> dict[str, str]:
    """This process's environment with only the given qa settings (every run alike), and this
    checkout's qa first on the path."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    path = os.pathsep.join(filter(None, [str(ROOT), keep.get("PYTHONPATH")]))
    return {**keep, "PYTHONPATH": path, **settings}


class Served:
    """``command(port)`` run with ``env`` until the block ends; entering waits (at most
    ``seconds``) until it listens, and says why when it stopped first."""

    def __init__(self, command: Callable[[int], list[str]], env: dict[str, str], *,
                 seconds: float = 120) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.command, self.env, self.seconds = command(self.port), env, seconds

    def __enter__(self) -> Served:
        self.proc = subprocess.Popen(self.command, env=self.env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + self.seconds
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    raise RuntimeError(f"{' '.join(self.command[:3])} did not start: "
                                       f"{self.proc.communicate()[1]}") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=30)
