"""qa as an OpenAI-compatible model: ``/v1/models`` and ``/v1/chat/completions``.

Any OpenAI client or chat front end can then ask the index: each collection is a model
(``/v1/models`` lists them; "qa" is the one the server was started on). The reply is qa's verified
answer, with the citations both in the text (a "Sources" list) and as a structured
``citations`` field; a refusal is a normal reply saying the documents don't say. Streaming
sends only verified text, a sentence as soon as its citations hold (``QA.stream``), so a
client never shows a sentence that is later withdrawn. A busy server says so: at most
``QA_CONCURRENCY`` answers are made at once and ``QA_QUEUE`` more wait for them (``Line``);
a request beyond that gets a 503 with ``Retry-After`` at once. With accounts (``qa.accounts``)
a request's bearer token is a user's, and it sees only the collections that user may read: one
they may not is a 404 ``model_not_found``, as one that does not exist.
"""

# No ``from __future__ import annotations``: FastAPI reads the handlers' annotations, and
# ``Request`` is imported inside ``create_app`` (lazily), out of reach of string annotations.
import asyncio
import itertools
import json
import math
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

from .accounts import Accounts, Unauthorized, User, caller
from .errors import BackendError, InputError, QAError
from .types import Answer

MODEL = "qa"
MAX_BODY = 4_000_000  # bytes: a request larger than this is refused before it is parsed


class RequestError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class Busy(Exception):
    """Every place is taken: ``seconds`` is when to try again."""

    def __init__(self, message: str, seconds: int) -> None:
        super().__init__(message)
        self.seconds = seconds


class Line:
    """At most ``running`` answers made at once and ``waiting`` more requests in line for
    them; one beyond that is turned away at once (``Busy``), so that a client learns the
    server is full instead of every request slowing without a word. Used from the event
    loop only."""

    def __init__(self, running: int, waiting: int) -> None:
        self.running, self.waiting = running, waiting
        self._slots = asyncio.Semaphore(running)
        self._admitted = 0  # running or waiting
        self._took: deque[float] = deque(maxlen=20)  # seconds of the latest answers

    async def enter(self) -> float:
        """Wait for a slot; the time it was given (for ``leave``)."""
        if self._admitted >= self.running + self.waiting:
            seconds = self.retry_after()
            raise Busy(f"the server is busy: {self.running} answers are being made and "
                       f"{self.waiting} more wait (QA_CONCURRENCY, QA_QUEUE); try again in "
                       f"{seconds} s", seconds)
        self._admitted += 1
        try:
            await self._slots.acquire()
        except BaseException:
            self._admitted -= 1
            raise
        return time.monotonic()

    def leave(self, entered: float) -> None:
        self._took.append(time.monotonic() - entered)
        self._slots.release()
        self._admitted -= 1

    def retry_after(self) -> int:
        """Seconds until a place is likely free: one of the answers being made ends about
        every (mean answer time / answers at once); 1 before any has ended."""
        mean = sum(self._took) / len(self._took) if self._took else 1.0
        return max(1, math.ceil(mean / self.running))


def parse(body: Any, *, max_chars: int) -> tuple[str, list[tuple[str, str]]]:
    """(question, history) from a chat request, or a ``RequestError`` naming what is wrong.

    The last message must be the user's; earlier user/assistant pairs become the history a
    follow-up is rewritten with. System messages are ignored: qa's own rules decide.
    """
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object", "invalid_request")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "messages must be a non-empty list", "invalid_messages")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise RequestError(400, f"messages[{i}] needs a role of system, user or assistant",
                               "invalid_messages")
        turns.append((m["role"], _text(m.get("content"), i)))
    if turns[-1][0] != "user" or not turns[-1][1].strip():
        raise RequestError(400, "the last message must be a user message with text",
                           "no_user_message")
    question = turns[-1][1].strip()
    if len(question) > max_chars:
        raise RequestError(400, f"the question is too long: {len(question):,} characters over "
                           f"the {max_chars:,} limit (QA_MAX_QUESTION_CHARS)",
                           "question_too_long")
    history, asked = [], None
    for role, text in turns[:-1]:
        if role == "user":
            asked = text
        elif role == "assistant" and asked is not None:
            history.append((asked[:max_chars], text))
            asked = None
    return question, history


def _text(content: Any, i: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return "\n".join(p.get("text", "") for p in content
                         if isinstance(p, dict) and p.get("type") == "text")
    raise RequestError(400, f"messages[{i}].content must be text", "invalid_messages")


def reply_text(answer: Answer) -> str:
    if not answer.citations:
        return answer.text
    sources = "\n".join(f'[{i}] {c.marked} "{c.quote}"' for i, c in enumerate(answer.citations, 1))
    return f"{answer.text}\n\nSources:\n{sources}"


def completion(answer: Answer, model: str) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
        "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": reply_text(answer)}}],
        "citations": [c.to_dict() for c in answer.citations],
        "refused": answer.refused,
    }


def chunks(first: Any, rest: Iterator[Any], model: str) -> Iterator[str]:
    """Server-sent events of ``QA.stream``: a role chunk, each verified sentence as it comes,
    then the sources and a last chunk with ``finish_reason`` and the citations. A failure
    after the first byte is an ``error`` event, which the openai client raises."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def event(delta: dict, finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return f"data: {json.dumps({**base, 'choices': [choice], **extra})}\n\n"

    yield event({"role": "assistant", "content": ""})
    shown = ""
    try:
        for item in itertools.chain([first], rest):
            if not isinstance(item, Answer):
                shown += item
                yield event({"content": item})
                continue
            whole = reply_text(item)
            if tail := whole[len(shown):] if whole.startswith(shown) else "":
                yield event({"content": tail})
            yield event({}, "stop", citations=[c.to_dict() for c in item.citations],
                        refused=item.refused)
    except QAError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'backend_error'}})}\n\n"
        return
    yield "data: [DONE]\n\n"


def create_app(qa: Any, *, api_key: str = "", model: str = MODEL) -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.concurrency import run_in_threadpool

    app = FastAPI(title="qa", docs_url=None, redoc_url=None, openapi_url=None)
    accounts = Accounts(qa.settings.index_dir)
    line = Line(qa.settings.concurrency, qa.settings.queue)

    class Held(StreamingResponse):
        """A stream that keeps its slot in ``line`` until it has ended, however it ends
        (the last piece sent, the client gone, or never started)."""

        def __init__(self, pieces: Iterator[str], entered: float) -> None:
            super().__init__(pieces, media_type="text/event-stream")
            self.entered = entered

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            try:
                await super().__call__(scope, receive, send)
            finally:
                line.leave(self.entered)

    def error(status: int, message: str, code: str,
              headers: dict[str, str] | None = None) -> JSONResponse:
        kind = ("authentication_error" if status == 401 else
                "server_error" if status >= 500 else "invalid_request_error")
        return JSONResponse({"error": {"message": message, "type": kind, "code": code}},
                            status_code=status, headers=headers)

    async def seen(request: Request) -> Any:
        """``qa`` as the caller may see it (``QA.as_user``), or the 401 for a wrong token."""
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            user: User | None = await run_in_threadpool(
                caller, given, key=api_key, accounts=accounts)
        except Unauthorized:
            return error(401, "invalid or missing API key (Authorization: Bearer QA_API_KEY"
                         + (" or a user's token)" if accounts.configured() else ")"),
                         "invalid_api_key")
        return qa.as_user(user)

    @app.get("/v1/models")
    async def models(request: Request) -> Any:
        if isinstance(viewer := await seen(request), JSONResponse):
            return viewer
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "qa"}
            for name in await run_in_threadpool(viewer.collections)]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        if isinstance(viewer := await seen(request), JSONResponse):
            return viewer
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return error(413, f"request over {MAX_BODY:,} bytes", "request_too_large")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "the body is not valid JSON", "invalid_json")
        try:
            question, history = parse(body, max_chars=qa.settings.max_question_chars)
        except RequestError as exc:
            return error(exc.status, str(exc), exc.code)
        name = body.get("model") or model
        try:  # a model is a collection; "qa" the one the server was started on
            asked = await run_in_threadpool(
                viewer.collection, qa.settings.collection if name == model else name)
        except InputError as exc:
            return error(404, str(exc), "model_not_found")
        try:
            entered = await line.enter()
        except Busy as exc:
            return error(503, str(exc), "server_busy", {"Retry-After": str(exc.seconds)})
        streaming = False
        try:
            if body.get("stream"):  # errors before the first verified sentence get a status
                items = asked.stream(question, history=history)
                first = await run_in_threadpool(next, items)
                streaming = True  # the stream keeps the slot until it ends
                return Held(chunks(first, items, name), entered)
            answer = await run_in_threadpool(asked.ask, question, history=history)
        except InputError as exc:
            return error(400, str(exc), "invalid_request")
        except BackendError as exc:
            return error(502, str(exc), "backend_error")
        except QAError as exc:
            return error(503, str(exc), "unavailable")
        finally:
            if not streaming:
                line.leave(entered)
        return completion(answer, name)

    return app


def serve(qa: Any, *, host: str, port: int, api_key: str = "") -> None:
    import uvicorn

    uvicorn.run(create_app(qa, api_key=api_key), host=host, port=port, log_level="warning")
