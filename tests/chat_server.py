"""A scripted OpenAI-protocol chat server on 127.0.0.1, for faults a real server won't make.

It speaks the real wire format (JSON, or server-sent events when ``stream`` is true), so the
real ``openai`` client is what talks to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A script gets the request number (0-based) and the request body, and returns
# (status, reply text or raw body, delay seconds).
Script = Callable[[int, dict], tuple[int, str, float]]


def _events(text: str, model: str) -> list[bytes]:
    chunks = []
    for i, word in enumerate(text.split(" ")):
        piece = word if i == 0 else " " + word
        chunks.append({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                       "choices": [{"index": 0, "delta": {"content": piece},
                                    "finish_reason": None}]})
    chunks.append({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def _sse(text: str, model: str) -> bytes:
    return b"".join(_events(text, model))


class ChatServer:
    """``word_delay`` > 0 streams a reply one word every that many seconds, as a model
    writes; ``words_sent`` and ``hung_up`` then tell whether the client stopped reading."""

    def __init__(self, script: Script, *, word_delay: float = 0.0) -> None:
        self.script = script
        self.word_delay = word_delay
        self.requests: list[dict] = []
        self.words_sent = 0
        self.hung_up = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                n = len(server.requests)
                server.requests.append(body)
                status, text, delay = server.script(n, body)
                time.sleep(delay)
                if status != 200:
                    payload = json.dumps({"error": {"message": text, "type": "test"}}).encode()
                    ctype = "application/json"
                elif text.startswith("RAW:") and body.get("stream"):
                    payload, ctype = f"data: {text[4:]}\n\n".encode(), "text/event-stream"
                elif text.startswith("RAW:"):
                    payload, ctype = text[4:].encode(), "application/json"
                elif body.get("stream") and server.word_delay:
                    return self._trickle(_events(text, body.get("model", "m")))
                elif body.get("stream"):
                    payload, ctype = _sse(text, body.get("model", "m")), "text/event-stream"
                else:
                    payload = json.dumps({
                        "id": "c1", "object": "chat.completion", "created": 0,
                        "model": body.get("model", "m"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": text}}],
                    }).encode()
                    ctype = "application/json"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def _trickle(self, events: list[bytes]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for event in events:
                        self.wfile.write(event)
                        self.wfile.flush()
                        server.words_sent += 1
                        time.sleep(server.word_delay)
                except (BrokenPipeError, ConnectionResetError):
                    server.hung_up.set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
