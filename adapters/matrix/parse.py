"""Matrix timeline events (raw JSON) as ``Incoming`` events, or ``None`` for what is not ours.

Everything is read from the event's source dict defensively: a malformed event is reported as
``Malformed`` (the sync loop logs and drops it), never allowed to raise anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.matrix.render import keycap_number
from bot.events import (
    MAX_FILE,
    MAX_IMAGE,
    Chat,
    Incoming,
    Sender,
    clean_text,
    id_problem,
    parse_command,
)


class Malformed(ValueError):
    """An event whose shape is not what the spec says."""


@dataclass(frozen=True, slots=True)
class Reaction:
    """A keycap reaction: ``number`` on the event ``target``; the adapter finds the choice."""

    event_id: str
    sender: str
    target: str
    number: int


def _str(data: dict[str, Any], key: str) -> str:
    """An id (event, sender, relation target): refused when no store could hold it."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise Malformed(f"{key} is missing or not a string")
    if (problem := id_problem(value)) is not None:
        raise Malformed(f"{key} {problem}")
    return value


def _optional_id(value: Any, key: str) -> str | None:
    if not isinstance(value, str):
        return None
    if (problem := id_problem(value)) is not None:
        raise Malformed(f"{key} {problem}")
    return value


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise Malformed(f"{key} is not an object")
    return value


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@who> quoted`` lines older clients put before a reply's own text."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n")


@dataclass(frozen=True, slots=True)
class Media:
    """An image or a file a message carries, for the adapter to download from ``url`` (an
    ``mxc://``) and, in an encrypted room, decrypt with ``file`` (its key, iv and hashes);
    ``limit`` is the most bytes fetched of it."""

    url: str
    name: str
    mime: str
    size: int | None
    file: dict[str, Any] | None = None
    limit: int = MAX_IMAGE


def attachment(
    platform: str, chat: Chat, event: dict[str, Any], names: dict[str, str]
) -> tuple[Incoming, Media] | None:
    """An ``m.image``, or an ``m.file`` of any type, in a direct chat: the event (its caption
    as the text) and the media to fetch into it. An image is held to ``MAX_IMAGE``, a file
    (an image sent as a file too) to ``MAX_FILE``, as on Telegram. Media in group rooms are
    people talking to each other: never fetched; videos, audio and the rest are not taken."""
    content = _dict(event, "content")
    info = _dict(content, "info")
    mime = info.get("mimetype")
    mime = mime if isinstance(mime, str) else ""
    kind = content.get("msgtype")
    if not chat.direct or kind not in ("m.image", "m.file"):
        return None
    if _dict(content, "m.relates_to").get("rel_type") == "m.replace":
        return None
    body = content.get("body")
    if not isinstance(body, str):
        raise Malformed("body is not a string")
    filename = content.get("filename")
    # With a ``filename`` the body is a caption; without one it is the file's name.
    name = filename if isinstance(filename, str) and filename else body
    encrypted = content.get("file")
    if encrypted is not None and not isinstance(encrypted, dict):
        raise Malformed("file is not an object")
    url = (encrypted or content).get("url")
    if not isinstance(url, str) or not url.startswith("mxc://"):
        raise Malformed("url is not an mxc:// URI")
    size = info.get("size")
    known = size if isinstance(size, int) and not isinstance(size, bool) else None
    if kind == "m.image":
        media = Media(url, name[:255] or "image", mime or "image/jpeg", known, encrypted)
    else:
        mime = mime or "application/octet-stream"
        media = Media(url, name[:255] or "file", mime, known, encrypted, MAX_FILE)
    text_content = {**content, "msgtype": "m.text", "body": body if body != name else ""}
    found = message(platform, chat, {**event, "content": text_content}, names)
    return (found, media) if found is not None else None


def message(
    platform: str, chat: Chat, event: dict[str, Any], names: dict[str, str]
) -> Incoming | None:
    """An ``m.room.message`` with text (``m.text``, ``m.emote``); edits and notices are not
    taken as new messages."""
    content = _dict(event, "content")
    if content.get("msgtype") not in ("m.text", "m.emote"):
        return None
    relates = _dict(content, "m.relates_to")
    if relates.get("rel_type") == "m.replace":
        return None
    body = content.get("body")
    if not isinstance(body, str):
        raise Malformed("body is not a string")
    body = clean_text(body)
    in_reply = _dict(relates, "m.in_reply_to")
    thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
    reply_to = in_reply.get("event_id")
    if relates.get("is_falling_back") and thread:
        reply_to = None
    if reply_to is not None:
        body = strip_reply_fallback(body)
    sender = _str(event, "sender")
    command = parse_command(body)
    return Incoming(
        platform=platform,
        event_id=_str(event, "event_id"),
        chat=chat,
        sender=Sender(sender, names.get(sender, "")),
        text=body,
        command=command[0] if command else None,
        args=command[1] if command else (),
        reply_to=_optional_id(reply_to, "m.in_reply_to.event_id"),
        thread=_optional_id(thread, "m.relates_to.event_id"),
        replied_to=_optional_id(reply_to or thread, "m.relates_to.event_id"),
    )


def reaction(event: dict[str, Any]) -> Reaction | None:
    """An ``m.reaction`` whose key is a keycap number."""
    relates = _dict(_dict(event, "content"), "m.relates_to")
    if relates.get("rel_type") != "m.annotation":
        return None
    key = relates.get("key")
    number = keycap_number(key) if isinstance(key, str) else None
    if number is None:
        return None
    return Reaction(
        _str(event, "event_id"), _str(event, "sender"), _str(relates, "event_id"), number
    )
