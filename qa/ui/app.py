"""The Gradio app of ``qa serve``: layout and events only.

Every answer comes from ``QA.stream`` and every upload goes through ``QA.ingest``; this module
wires them to components. HTML comes from ``render``, upload handling from ``uploads``. The
per-session conversation lives in ``gr.State``, so each browser tab has its own; the one shared
``QA`` serves them all, with Gradio's queue limiting how many run at once. Each answer is saved
as a turn of the user's conversation (``qa.conversations``; ``saved`` resumes and exports one).
The browser picks a collection by name: ``chosen`` opens it only if ``readable`` lists it, and
every question, upload and source read goes through the ``QA`` it returns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import gradio as gr  # at import, so that Gradio resolves the ``gr.Request`` annotations
from fastapi import HTTPException
from starlette.middleware import Middleware

from ..accounts import signed_in
from ..api import QA
from ..config import Settings
from ..conversations import Conversations, markdown
from ..errors import InputError, NotIndexedError, QAError
from ..ingest.documents import PageReader
from ..ingest.readers.ocr import from_settings
from ..types import Answer, History, Status
from . import guard, render, saved
from .pages import PagePicture, page_picture
from .uploads import forget, ingest_uploads

log = logging.getLogger("qa.ui")

SEED_NAME = "000_9c02e21fc74a5060.txt"
SEED_EXAMPLES = [
    "Which leader voiced support for Macron's stance?",
    "Who opposed the idea, fearing it could sow discord among allies?",
    "Which newspaper reported Macron's confidential discussions?",
]
Chat = list[dict]  # Chatbot messages: {"role": ..., "content": ...}
Panels = list[str]  # each answer's sources, in order: a marker [n] of answer t opens panel t
Step = tuple[str, Chat, History, Panels, str, str]  # textbox, chat, turns, panels, sources, notice
Save = Callable[[str, Answer], str]  # (question, answer) -> why it was not saved, or ""


def respond(
    qa: QA,
    read: PageReader,
    question: str,
    chat: Chat,
    turns: History,
    panels: Panels | None = None,
    picture: PagePicture | None = None,
    save: Save | None = None,
) -> Iterator[Step]:
    """Stream one answer into the chat; then ``save`` it and show its sources. Errors become
    a plain message.

    The bubble shows what is being done (searching, reading, writing, checking citations) and
    the sentences that passed verification so far: nothing shown is taken back. The sources
    panel shows the retrieved passages, marked as being read, as soon as retrieval is done,
    until the answer's own sources replace them. Each step is a new list, so what was yielded
    before is never changed afterwards.
    """
    question = (question or "").strip()
    before, turns, panels = list(chat or []), list(turns or []), list(panels or [])
    if len(before) >= 2 and render.WAITING in _content(before[-1]["content"]):
        before = before[:-2]  # the question as shown while it waited (``waiting``)
    asked = [_msg("user", render.chat_text(question))] if question else []
    turn = len(panels) + 1  # this answer's number: its markers open its own sources

    def step(bubble: str, notice: str = "", box: str = "", reading: str = "") -> Step:
        reply = [_msg("assistant", bubble)] if question else []
        shown = panels + [reading] if reading else panels
        return (box, before + asked + reply, list(turns), list(panels),
                render.conversation_html(shown), notice)

    text, status, answer, reading = "", "Starting…", None, ""
    if question:
        yield step(render.status_html(status))
    try:
        for item in qa.stream(question, history=turns, status=True):
            if isinstance(item, Answer):
                answer = item
                continue
            if isinstance(item, Status):
                status = item.message
                if item.passages:
                    reading = render.reading_html(item.passages, question=question, turn=turn)
            else:
                text += item
            yield step(_working(text, status, turn), reading=reading)
    except NotIndexedError as exc:
        message = f"{exc}, or add documents (text, PDF, Word, HTML) under Documents below"
    except QAError as exc:
        message = str(exc)
    except Exception as exc:  # a bug or an unexpected library error: log it, show one line
        log.exception("answering %r failed", question)
        message = f"unexpected error ({type(exc).__name__}); details are in the server log"
    else:
        assert answer is not None
        turns.append((question, answer.text))
        panels.append(render.sources_html(answer, read, question=question, picture=picture,
                                          turn=turn))
        unsaved = save(question, answer) if save else ""
        yield step(render.chat_text(answer.text, turn=0 if answer.refused else turn),
                   render.notice_html(unsaved))
        return
    if question:  # the reply bubble says why there is no answer
        yield step("⚠️ " + render.chat_text(message))
    else:  # no bubble to put it in
        yield step("", notice=render.notice_html(message))


def waiting(question: str, chat: Chat) -> Chat:
    """The question in the chat at once, before a slot is free to answer it: its bubble says
    it waits in line (and where, from Gradio's queue: head.html)."""
    question = (question or "").strip()
    if not question:
        return list(chat or [])
    return [*(chat or []), _msg("user", render.chat_text(question)),
            _msg("assistant", render.WAITING)]


def _working(text: str, status: str, turn: int) -> str:
    verified = render.chat_text(text, turn=turn)
    return f"{verified} {render.status_html(status)}" if text else render.status_html(status)


def stop(chat: Chat) -> Chat:
    """The Stop button: the answer being made ends where it is, and says so."""
    chat = list(chat or [])
    if chat and chat[-1]["role"] == "assistant":
        bubble = _content(chat[-1]["content"])
        if render.STATUS in bubble:
            chat[-1] = _msg("assistant", render.stopped_html(render.without_status(bubble)))
    return chat


def _content(content: object) -> str:
    """A message's text: the browser sends it back as a list of parts ({"text": ...})."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _msg(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def upload(
    qa: QA, paths: list[str] | None, progress: Callable[..., object] | None = None
) -> tuple[str, str]:
    """Store and ingest uploaded files; (per-file result html, notice html)."""
    files = [(p, Path(p).name) for p in paths or []]
    if not files:
        return "", ""

    def step(done: int, total: int, source: str) -> None:
        if progress is not None and total:
            progress((done, total), desc=f"indexing {Path(source).name}" if source else "done")

    try:
        rows = ingest_uploads(qa, files, progress=step)
    except QAError as exc:
        return "", render.notice_html(str(exc))
    except Exception as exc:
        log.exception("ingesting uploads failed")
        return "", render.notice_html(
            f"unexpected error while indexing ({type(exc).__name__}); details are in the server log"
        )
    finally:
        forget([p for p, _ in files], gr.utils.get_upload_folder())
    return render.ingest_html(rows), ""


def backend_name(qa: QA) -> str:
    try:
        return qa.answerer.name
    except QAError as exc:
        return f"{qa.settings.backend} (unavailable: {exc})"


def page_pictures(qa: QA) -> PagePicture:
    """Draw the page of a citation into a PDF or an image, its lines highlighted, from the file
    ingested."""
    return page_picture(qa.path_of, ocr=from_settings(qa.settings))


def readable(qa: QA, username: str | None) -> list[str]:
    """The collections ``username`` (None: no login) may ask: those their account may read
    (``qa.accounts.signed_in``), or, without accounts, every one of the index (the server's
    own among them even while empty: opening it made it). Every collection the UI touches is
    opened through ``chosen``."""
    return signed_in(qa, username).collections()


def chosen(qa: QA, name: str | None, username: str | None) -> QA:
    """Collection ``name``, as the browser picked it, when ``readable`` lists it for
    ``username``: the browser names a collection, it never gives a path. The ``QA`` returned
    is the user's view, so every question, upload, source and page image it serves is checked
    against their rights again (``QA.manifest``)."""
    if name not in readable(qa, username):
        raise InputError(f"no collection {name!r} to read here")
    return signed_in(qa, username).collection(name)


def saver(store: Conversations, qa: QA, username: str | None, conversation: list) -> Save:
    """Save each answer as the next turn of ``conversation[0]`` (None: start one, named
    after its first question), in ``qa``'s collection; a failure is said, never raised: the
    answer is shown all the same."""

    def save(question: str, answer: Answer) -> str:
        try:
            if conversation[0] is None:
                conversation[0] = store.start(username, qa.settings.collection, question).id
            store.add_turn(conversation[0], username, question, answer)
        except (QAError, sqlite3.Error) as exc:
            log.exception("saving the answer to %r failed", question)
            return f"this answer was not saved: {exc}"
        return ""

    return save


def build(qa: QA) -> gr.Blocks:
    """The Blocks app for one ``QA``; launch it with ``launch``."""
    backend = backend_name(qa)
    stats = qa.stats()
    store = Conversations(qa.settings.index_dir)

    def corpus(c: QA) -> tuple[str, str]:
        info = c.stats()
        return render.header_html(info, backend), render.files_html(info["sources"])

    with gr.Blocks(
        title="qa: ask your documents", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as demo:
        with gr.Row(equal_height=False, elem_id="qa-top"):
            header = gr.HTML(
                render.header_html(stats, backend),
                elem_id="qa-header",
                js_on_load=None,
                elem_classes="qa-flush",
                scale=4,
            )
            # Its choices come with the page, for its user. Any name the browser sends is
            # taken to ``chosen``, the one check of what a person may read (Gradio's own
            # check of the choices would hold only the choices the page was served with).
            collection = gr.Dropdown(
                [qa.settings.collection], value=qa.settings.collection, label="Collection",
                elem_id="qa-collection", scale=0, min_width=240, allow_custom_value=True,
            )
        with gr.Row(equal_height=False, elem_id="qa-main"):
            with gr.Column(scale=3, min_width=360, elem_id="qa-chat-col"):
                chat = gr.Chatbot(
                    elem_id="qa-chat",
                    show_label=False,
                    height=470,
                    buttons=["copy"],
                    latex_delimiters=[],
                    feedback_options=None,
                    autoscroll=True,
                    placeholder="Answers appear here. Each marker, like 1, opens the lines "
                    "it quotes under Sources.",
                )
                with gr.Row(elem_id="qa-ask-row"):
                    question = gr.Textbox(
                        elem_id="qa-question",
                        show_label=False,
                        scale=5,
                        autofocus=True,
                        placeholder="Ask a question about your documents…",
                        max_lines=4,
                        container=False,
                        interactive=False,  # until the page knows the user's collection
                    )
                    ask = gr.Button(
                        "Ask", variant="primary", scale=1, min_width=80, elem_id="qa-ask",
                        interactive=False,
                    )
                    halt = gr.Button(
                        "Stop", variant="stop", scale=1, min_width=80, elem_id="qa-stop",
                        visible=False,
                    )
                notice = gr.HTML("", elem_id="qa-notice", js_on_load=None, elem_classes="qa-flush")
                if any(Path(s).name == SEED_NAME for s in stats["sources"]):
                    gr.Examples(
                        [[q] for q in SEED_EXAMPLES],
                        inputs=[question],
                        label="Try a question about the seed article",
                        elem_id="qa-examples",
                    )
                with gr.Accordion("Conversations", open=False, elem_id="qa-convos") as convos:
                    listed = gr.Radio([], show_label=False, elem_id="qa-conv-list", visible=False)
                    with gr.Row(visible=False, elem_id="qa-conv-tools") as tools:
                        title = gr.Textbox(show_label=False, container=False, scale=3,
                                           elem_id="qa-conv-title", max_lines=1)
                        rename = gr.Button("Rename", size="sm", scale=0, min_width=80,
                                           elem_id="qa-conv-rename")
                        export = gr.HTML("", elem_id="qa-conv-export", js_on_load=None,
                                         elem_classes="qa-flush", min_width=130)
                        delete = gr.Button("Delete", size="sm", variant="stop", scale=0,
                                           min_width=80, elem_id="qa-conv-delete")
                    new = gr.Button("New conversation", size="sm", elem_id="qa-conv-new")
                with gr.Accordion(
                    "Documents: add text, PDF, Word or HTML files, or images",
                    open=not stats["files"],
                    elem_id="qa-docs",
                ):
                    files = gr.File(
                        file_count="multiple",
                        elem_id="qa-upload",
                        height=120,
                        label=f"Drop .txt .md .pdf .docx .html files or images "
                        f"(up to {qa.settings.upload_mb:g} MB each)",
                    )
                    result = gr.HTML(
                        "", elem_id="qa-ingest", js_on_load=None, elem_classes="qa-flush"
                    )
                    indexed = gr.HTML(
                        render.files_html(stats["sources"]),
                        elem_id="qa-files",
                        js_on_load=None,
                        elem_classes="qa-flush",
                    )
            with gr.Column(scale=2, min_width=320, elem_id="qa-sources-col"):
                gr.HTML('<h2 class="qa-h2">Sources</h2>', js_on_load=None, elem_classes="qa-flush")
                sources = gr.HTML(
                    render.placeholder_html(),
                    elem_id="qa-sources",
                    js_on_load=None,
                    elem_classes="qa-flush",
                )
        turns = gr.State([])
        panels = gr.State([])
        current = gr.State(None)  # the id of the saved conversation shown; None: not yet saved

        def listing(user: str | None, id: int | None) -> dict:
            """The user's conversations in the list (those of collections they may read), and
            the tools for the one shown."""
            names = readable(qa, user)
            mine = [c for c in store.list(user) if c.collection in names]
            shown = id if any(c.id == id for c in mine) else None
            return {listed: gr.Radio([(saved.label(c), c.id) for c in mine], value=shown,
                                     visible=bool(mine)),
                    convos: gr.Accordion(f"Conversations ({len(mine)})" if mine else
                                         "Conversations"),
                    tools: gr.Row(visible=shown is not None),
                    title: next((c.title for c in mine if c.id == shown), ""),
                    export: saved.export_link(shown) if shown else ""}

        def fresh(c: QA, user: str | None, message: str = "") -> dict:
            """A new conversation in collection ``c``: nothing asked, nothing saved yet."""
            header_html, files_html = corpus(c)
            return {chat: [], turns: [], panels: [], current: None, notice: message,
                    sources: render.placeholder_html(), header: header_html,
                    indexed: files_html, collection: c.settings.collection,
                    **listing(user, None)}

        def on_load(request: gr.Request) -> dict:
            """The user's collections; only then can they ask: a question asked before would
            go to the server's own collection."""
            names = readable(qa, request.username)
            name = qa.settings.collection if qa.settings.collection in names else names[0]
            return {**fresh(chosen(qa, name, request.username), request.username),
                    collection: gr.Dropdown(names, value=name),
                    question: gr.Textbox(interactive=True), ask: gr.Button(interactive=True)}

        def on_pick(name: str, request: gr.Request) -> dict:
            """Another collection, or the same anew: a new conversation."""
            try:
                return fresh(chosen(qa, name, request.username), request.username)
            except QAError as exc:
                return {notice: render.notice_html(str(exc))}

        def working(busy: bool) -> tuple:
            return gr.Button(visible=not busy), gr.Button(visible=busy)

        def on_ask(q: str, c: Chat, t: History, p: Panels, name: str, id: int | None,
                   request: gr.Request) -> Iterator[tuple]:
            try:
                col = chosen(qa, name, request.username)
            except QAError as exc:
                yield (q, c, t, p, gr.skip(), render.notice_html(str(exc)), id, *working(False))
                return
            conversation = [id]
            save = saver(store, col, request.username, conversation)
            last: tuple = (q, c, t, p, gr.skip(), "")
            for n, (box, *rest) in enumerate(respond(col, col.read, q, c, t, p,
                                                     page_pictures(col), save)):
                # the box is emptied once: what is typed while the answer streams stays
                last = (box if n == 0 else gr.skip(), *rest)
                yield (*last, conversation[0], *working(True))
            yield (gr.skip(), *last[1:], conversation[0], *working(False))  # the answer, done

        def on_saved(id: int | None, request: gr.Request) -> dict:
            return listing(request.username, id)

        def on_resume(id: int, request: gr.Request) -> dict:
            user = request.username
            try:
                convo = store.get(id, user)
                col = chosen(qa, convo.collection, user)
            except QAError as exc:
                return {notice: render.notice_html(str(exc)), **listing(user, None)}
            shown = saved.resume(col, convo, col.read, page_pictures(col))
            return {**fresh(col, user, render.info_html(shown.note)), chat: shown.chat,
                    turns: shown.turns, panels: shown.panels, current: convo.id,
                    sources: render.conversation_html(shown.panels), **listing(user, convo.id)}

        def on_rename(id: int | None, new_title: str, request: gr.Request) -> dict:
            try:
                if id is not None:
                    store.rename(id, request.username, new_title)
            except QAError as exc:
                return {notice: render.notice_html(str(exc))}
            return {notice: "", **listing(request.username, id)}

        def on_delete(id: int | None, name: str, request: gr.Request) -> dict:
            user = request.username
            try:
                if id is not None:
                    store.delete(id, user)
                return fresh(chosen(qa, name, user), user)
            except QAError as exc:
                return {notice: render.notice_html(str(exc))}

        def on_upload(paths: list[str] | None, name: str, request: gr.Request,
                      progress=gr.Progress()) -> tuple:  # noqa: B008
            try:
                col = chosen(qa, name, request.username)
            except QAError as exc:
                return (gr.skip(), render.notice_html(str(exc)), None, gr.skip(), gr.skip())
            table, message = upload(col, paths, progress)
            return (table, message, None, *corpus(col))

        view: list[Any] = [chat, turns, panels, current, notice, sources, header, indexed,
                           collection, listed, convos, tools, title, export]
        # A question sent while an answer is still being made (or is just done) waits for
        # it ("always_last"), its text kept in the box until its turn; Gradio's default,
        # "once", would drop it and leave its bubble waiting in line for good.
        asking = gr.on(
            [question.submit, ask.click], lambda q, c: (*working(True), waiting(q, c)),
            inputs=[question, chat], outputs=[ask, halt, chat], queue=False,
            show_progress="hidden",
        ).then(on_ask, inputs=[question, chat, turns, panels, collection, current],
               outputs=[question, chat, turns, panels, sources, notice, current, ask, halt],
               trigger_mode="always_last")
        asking.then(on_saved, inputs=[current], outputs=[listed, convos, tools, title, export],
                    show_progress="hidden")
        halt.click(  # cancelling the event closes QA.stream, which stops the model; the
            # passages it was reading give way to the sources of the answers before it
            lambda c, p: (stop(c), render.conversation_html(p or []), *working(False)),
            inputs=[chat, panels], outputs=[chat, sources, ask, halt],
            cancels=asking, queue=False,
        )
        chat.clear(on_pick, inputs=[collection], outputs=view)  # the chat's own clear button
        new.click(on_pick, inputs=[collection], outputs=view)
        collection.input(on_pick, inputs=[collection], outputs=view)
        listed.input(on_resume, inputs=[listed], outputs=view)
        rename.click(on_rename, inputs=[current, title], outputs=view)
        title.submit(on_rename, inputs=[current, title], outputs=view)
        delete.click(on_delete, inputs=[current, collection], outputs=view)
        files.upload(on_upload, inputs=[files, collection],
                     outputs=[result, notice, files, header, indexed])
        demo.load(on_load, outputs=[*view, question, ask], show_progress="hidden")
    return demo


def _theme() -> gr.themes.Default:
    """Gradio's default look in IBM Plex Sans, which it ships: no font is fetched online."""
    sans = (gr.themes.LocalFont("IBM Plex Sans"), "ui-sans-serif", "system-ui", "sans-serif")
    return gr.themes.Default(font=sans)


def _warm_up(qa: QA) -> None:
    """Load the embedder and open the store now, so the first question is not the slow one."""
    qa.embed(["warm up"])
    try:
        qa.retrieve("warm up", k=1)
    except QAError:
        pass  # nothing indexed yet: the page says so


def parse_auth(value: str) -> tuple[str, str] | None:
    """``user:password`` (QA_UI_AUTH) -> a Gradio auth pair; empty -> no login."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise InputError("QA_UI_AUTH must look like user:password")
    return user, password


Auth = tuple[str, str] | None | Callable[[str, str], Awaitable[bool]]


def login(settings: Settings) -> tuple[Auth, str]:
    """Gradio's ``auth`` and what the login page says: with accounts (``qa.accounts``), a
    person's name and password, and only those who may read a collection of the index (the
    page opens on one); else QA_UI_AUTH's one pair, or no login, as before accounts.

    A name or client address with too many failed logins in a row is refused with HTTP 429
    and why (``lockout``; head.html shows it on the login page). The hash is checked in a
    thread: Gradio awaits ``auth`` on its event loop, which a 0.1-0.5 s hash would stall."""
    from ..accounts import Accounts, allowed
    from ..accounts.lockout import LockedOut, Lockout
    from ..index import collections

    accounts = Accounts(settings.index_dir)
    if not accounts.configured():
        return parse_auth(settings.ui_auth), "This qa server asks for a login (QA_UI_AUTH)."
    lockout = Lockout(accounts, settings.login_attempts, settings.login_lock_seconds)

    async def check(name: str, password: str) -> bool:
        try:
            user = await asyncio.to_thread(lockout.login, name, password, guard.CLIENT.get())
        except LockedOut as exc:
            raise HTTPException(429, detail=str(exc),
                                headers={"Retry-After": str(exc.seconds)}) from None
        return user is not None and any(allowed(user, c) for c in {
            settings.collection, *collections.names(settings.index_dir)})

    return check, "Log in with your qa account (qa users)."


def exporter(qa: QA) -> guard.Export:
    """A conversation's Markdown for ``guard``'s export route: the user's own, in a collection
    they may still read (else the error of one that does not exist)."""
    store = Conversations(qa.settings.index_dir)

    def export(id: int, user: str | None) -> tuple[str, str]:
        convo = store.get(id, user)
        if convo.collection not in readable(qa, user):
            raise InputError(f"no conversation {id}")
        return saved.file_name(convo), markdown(convo)

    return export


def serve(
    *,
    index_dir: str | None = None,
    chroma_url: str | None = None,
    collection: str | None = None,
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Open the index and serve the UI until interrupted (``qa serve``)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home
    settings = Settings.from_env(index_dir=index_dir, chroma_url=chroma_url,
                                 collection=collection, host=host, port=port)
    auth, auth_message = login(settings)
    with QA(settings=settings) as qa:
        _warm_up(qa)
        demo = build(qa)
        demo.queue(default_concurrency_limit=settings.concurrency)
        try:
            demo.launch(
                server_name=settings.host,
                server_port=settings.port,
                auth=cast(Any, auth),  # Gradio awaits a coroutine function too (routes.login)
                auth_message=auth_message,
                app_kwargs={"middleware": [Middleware(guard.Guard, export=exporter(qa))]},
                # nothing of the index (its collections' uploads among it) is served as a
                # file; Gradio serves no other folder (allowed_paths is empty)
                blocked_paths=[str(settings.index_dir.resolve())],
                max_file_size=f"{settings.upload_mb:g}mb",
                ssr_mode=False,
                show_error=False,
                css=render.CSS,
                head=render.HEAD,
                theme=_theme(),
                footer_links=[],
            )
        except OSError as exc:
            raise QAError(f"cannot serve on {settings.host}:{settings.port}: {exc}") from None
