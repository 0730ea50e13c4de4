"""Saved conversations in the chat UI: how the list names them, a conversation resumed into
the chat and the sources panel, and the link of its Markdown export (served by ``guard``).

Plain Python, like ``render``: ``app`` wires it to Gradio, ``qa.conversations`` stores. A
resumed answer is never answered again: its citations are the ones verified then, each read
again from its file now (``recheck``), and the panel marks those the file no longer holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..conversations import Conversation, recheck
from ..ingest.documents import PageReader
from ..types import History
from . import render
from .guard import EXPORT
from .pages import PagePicture
from .uploads import safe_name

if TYPE_CHECKING:
    from ..api import QA


def label(c: Conversation) -> str:
    """A conversation as the list shows it: title, collection, when it was last asked."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated))
    return f"{c.title} · {c.collection} · {when}"


@dataclass(frozen=True)
class Resumed:
    """What the chat, its history and the sources panel hold for a resumed conversation."""

    chat: list[dict]
    turns: History
    panels: list[str]
    note: str  # what was resumed, and how many citations changed since


def resume(qa: QA, convo: Conversation, read: PageReader, picture: PagePicture) -> Resumed:
    """``convo`` (read with its turns) as the chat showed it, its citations checked again in
    its collection ``qa``; ``read`` and ``picture`` draw the sources panel."""
    turns = recheck(convo.turns, qa)
    chat: list[dict] = []
    panels = []
    for n, t in enumerate(turns, 1):
        chat += [{"role": "user", "content": render.chat_text(t.question)},
                 {"role": "assistant",
                  "content": render.chat_text(t.answer, turn=0 if t.refused else n)}]
        panels.append(render.sources_html(t.as_answer(), read, question=t.question,
                                          picture=picture, turn=n, changed=t.changed))
    changed = sum(bool(why) for t in turns for why in t.changed)
    asked = f"{len(turns)} question{'s' if len(turns) != 1 else ''}"
    note = (f"the file of {changed} citation{'s' if changed != 1 else ''} changed since, "
            "marked ⚠ under Sources" if changed else "every citation still matches its file")
    return Resumed(chat, [(t.question, t.answer) for t in turns], panels,
                   f"Resumed “{convo.title}” ({asked}): {note}.")


def file_name(convo: Conversation) -> str:
    """The name an export downloads as: the conversation's title."""
    return safe_name(f"{convo.title}.md")


def export_link(id: int) -> str:
    """The Export link of conversation ``id``: ``guard`` serves it to its owner alone."""
    return (f'<a class="qa-export" href="{EXPORT.lstrip("/")}{id}" download>'
            "Export Markdown</a>")
