"""Outgoing messages as Matrix event contents: plain ``body`` plus sanitized HTML.

The HTML is generated from the markup tree, never from text, so whatever a user typed is
escaped; links keep only web, mail and matrix.to targets. Replies carry ``m.in_reply_to``,
messages in a thread ``m.thread`` (with the reply fallback for clients without threads), and a
message with numbered choices carries their payloads under ``CHOICES_KEY`` so a keycap reaction
can be mapped back to a choice even after a restart.
"""

from __future__ import annotations

import html
import json
from typing import Any

from bot.markup import Bold, Code, Link, Markup, Node, Text, html_text
from bot.messages import Outgoing

CHOICES_KEY = "org.branchbot.choices"
MAX_BYTES = 60_000
"""JSON bytes of one event's content: Synapse refuses events over 65,536 bytes, and the HTML
copy of the text travels in the same event."""
MAX_ENCRYPTED_BYTES = 40_000
"""The same in an encrypted room: the ciphertext is base64, a third bigger than the JSON."""
KEYCAPS = (*(f"{n}\ufe0f\u20e3" for n in range(1, 10)), "\U0001f51f")
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "matrix"})


_NUMBERS = {cap.replace("\ufe0f", ""): number for number, cap in enumerate(KEYCAPS, 1)}


def keycap_number(key: str) -> int | None:
    """1–10 for a keycap emoji (with or without the variation selector), else ``None``."""
    return _NUMBERS.get(key.replace("\ufe0f", ""))


def _html(node: Node) -> str:
    if isinstance(node, Text):
        return html_text(node.value).replace("\n", "<br>")
    if isinstance(node, Code):
        return f"<code>{html_text(node.value)}</code>"
    if isinstance(node, Link):
        return f'<a href="{html.escape(node.url)}">{html_text(node.label)}</a>'
    tag = "strong" if isinstance(node, Bold) else "em"
    inner = "".join(_html(child) for child in node.children)
    return f"<{tag}>{inner}</{tag}>"


def formatted(markup: Markup) -> str:
    """``formatted_body``: links outside ``SAFE_SCHEMES`` are shown as text."""
    return "".join(_html(node) for node in markup.safe(SAFE_SCHEMES).nodes)


def size(content: Any) -> int:
    """Bytes of ``content`` as JSON, a little over what nio sends (it drops the spaces after
    separators); non-ASCII is escaped as ``\\uXXXX``, so a Chinese character weighs six bytes."""
    return len(json.dumps(content))


def _fits(text: str, budget: int) -> int:
    """The longest prefix of ``text`` whose JSON string fits ``budget`` bytes (at least 1)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _chunks(text: str, budget: int) -> list[str]:
    """Split at line ends where possible, so each part's JSON string fits ``budget`` bytes."""
    parts: list[str] = []
    while size(text) > budget:
        limit = _fits(text, budget)
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts


def relation(reply_to: str | None, thread: str | None) -> dict[str, Any] | None:
    if thread:
        return {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread},
        }
    if reply_to:
        return {"m.in_reply_to": {"event_id": reply_to}}
    return None


def contents(message: Outgoing, max_bytes: int, *, msgtype: str = "m.text") -> list[dict[str, Any]]:
    """The ``m.room.message`` contents for one message, each at most ``max_bytes`` of JSON:
    usually one with HTML; if that is too big, plain parts (then only the first is a reply and
    only the last, which shows the choices, carries them)."""
    body = message.text.plain()
    whole: dict[str, Any] = {
        "msgtype": msgtype,
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted(message.text),
    }
    extras: dict[str, Any] = {}
    relates = relation(message.reply_to, message.thread)
    if relates:
        extras["m.relates_to"] = relates
    if message.numbered:
        extras[CHOICES_KEY] = [choice.payload for choice in message.numbered]
    if size({**whole, **extras}) <= max_bytes:
        events = [whole]
    else:
        budget = max_bytes - size({"msgtype": msgtype, "body": "", **extras})
        events = [{"msgtype": msgtype, "body": part} for part in _chunks(body, budget)]
    for index, content in enumerate(events):
        relates = relation(message.reply_to if index == 0 else None, message.thread)
        if relates:
            content["m.relates_to"] = relates
    if message.numbered:
        events[-1][CHOICES_KEY] = [choice.payload for choice in message.numbered]
    return events


def media_content(message: Outgoing, url: str, size: int) -> dict[str, Any]:
    """The ``m.image`` or ``m.file`` event of an uploaded image or document."""
    if message.document is not None:
        kind, name, mime = "m.file", message.document.name, message.document.mime
    else:
        assert message.image is not None
        mime = message.image.mime
        kind, name = "m.image", "image." + mime.rsplit("/", 1)[-1]
    content: dict[str, Any] = {
        "msgtype": kind,
        "body": name,
        "url": url,
        "info": {"mimetype": mime, "size": size},
    }
    if kind == "m.file":
        content["filename"] = name
    relates = relation(None, message.thread)
    if relates:
        content["m.relates_to"] = relates
    return content
