"""What the UI server does before Gradio sees a request: note the client's address (for
``lockout``'s count per address), serve conversation exports only to their owner, and put
``login.html`` (which says why a login is locked) into Gradio's login page.

Gradio serves a file returned by an event (a ``DownloadButton``'s) from its cache to anyone
logged in who has its URL; an export is a person's questions and the lines of their
documents, so it is served here instead, from the conversations store, at ``/qa/export/ID``,
to the person logged in whose conversation it is, in a collection they may still read:
someone else's id is the same 404 as an id that does not exist.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import QAError

# The address of the client whose request is being answered (None: none known).
CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("qa_client", default=None)
EXPORT = "/qa/export/"
LOGIN = (Path(__file__).parent / "login.html").read_bytes()
_EXPORT = re.compile(re.escape(EXPORT) + r"(\d{1,18})")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]
# (conversation id, user) -> (file name, Markdown); a QAError when it is not theirs
Export = Callable[[int, "str | None"], tuple[str, str]]


def session_user(scope: Scope) -> tuple[bool, str | None]:
    """(logged in or no login asked, who): from Gradio's login cookie, as Gradio reads it."""
    app = scope.get("app")
    if getattr(app, "auth", None) is None:
        return True, None
    cookies = dict(part.strip().split("=", 1) for part in _header(scope, b"cookie").split(";")
                   if "=" in part)
    cookie_id = getattr(app, "cookie_id", "")
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
        f"access-token-unsecure-{cookie_id}")
    user = getattr(app, "tokens", {}).get(token)
    return user is not None, user


def _with_login_script(send: Send) -> Send:
    """``send`` of the login page with ``login.html`` before its ``</head>``."""
    start: MutableMapping[str, Any] = {}
    body = bytearray()

    async def sending(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        body.extend(message.get("body", b""))
        if message.get("more_body"):
            return
        page = bytes(body).replace(b"</head>", LOGIN + b"</head>", 1)
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
        await send({"type": "http.response.body", "body": page})

    return sending


def _header(scope: Scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == name), "")


class Guard:
    """ASGI middleware (``launch(app_kwargs={"middleware": [...]})``)."""

    def __init__(self, app: ASGI, export: Export) -> None:
        self.app, self.export = app, export

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = CLIENT.set(client[0] if client else None)
        try:
            wanted = _EXPORT.fullmatch(scope.get("path", ""))
            if wanted and scope.get("method") in ("GET", "HEAD"):
                await self._export(int(wanted[1]), scope, send)
            elif scope.get("method") == "GET" and scope.get("path") == "/" and \
                    not session_user(scope)[0]:
                await self.app(scope, receive, _with_login_script(send))
            else:
                await self.app(scope, receive, send)
        finally:
            CLIENT.reset(token)

    async def _export(self, id: int, scope: Scope, send: Send) -> None:
        known, user = session_user(scope)
        status, body, headers = 401, b"log in first", [(b"content-type", b"text/plain")]
        if known:
            try:
                name, text = self.export(id, user)
            except QAError:
                status, body = 404, b"no such conversation"
            else:
                status, body = 200, text.encode()
                headers = [(b"content-type", b"text/markdown; charset=utf-8"),
                           (b"content-disposition",
                            f"attachment; filename*=UTF-8''{quote(name)}".encode())]
        headers += [(b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"private, no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope.get("method") == "HEAD" else body})
