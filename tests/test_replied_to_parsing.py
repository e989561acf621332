"""Each adapter tells which of the bot's messages a message replies to (``replied_to``), and
Matrix which image or file a direct message carries (``attachment``): a
Telegram reply to the bot's own message (not to someone else's, nor a forum topic's implicit
reply to its first message), a Matrix reply or a message in a thread (its root), and the
webhook protocol's ``in_reply_to``, refused with a 400 reason when no store could keep it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import Update

from adapters.matrix.parse import Malformed, Media, attachment
from adapters.matrix.parse import message as matrix_message
from adapters.telegram.updates import to_incoming
from adapters.webhook import BadEvent, parse_event
from bot.events import MAX_FILE, MAX_IMAGE, Chat

BOT = {"id": 9, "is_bot": True, "first_name": "Branch Bot", "username": "branch_bot"}
MEI = {"id": 3, "is_bot": False, "first_name": "Mei"}


def telegram(reply_from: dict[str, Any] | None, **extra: Any) -> str | None:
    chat = {"id": 3, "type": "private"}
    data: dict[str, Any] = {
        "message_id": 5, "date": 0, "chat": chat, "from": MEI, "text": "Thanks", **extra
    }  # fmt: skip
    if reply_from is not None:
        data["reply_to_message"] = {
            "message_id": 4, "date": 0, "chat": chat, "from": reply_from, "text": "x"
        }  # fmt: skip
    event = to_incoming(
        "telegram", Update.de_json({"update_id": 1, "message": data}, None), "branch_bot"
    )
    assert event is not None
    return event.replied_to


def test_telegram_names_only_a_reply_to_the_bots_own_message() -> None:
    assert telegram(BOT) == "4"
    assert telegram(MEI) is None
    assert telegram({**BOT, "username": "other_bot"}) is None
    assert telegram(None) is None
    assert telegram(BOT, message_thread_id=4, is_topic_message=True) is None  # the topic's root


def matrix(relates: dict[str, Any]) -> str | None:
    event = {
        "event_id": "$mine",
        "sender": "@sam:example.org",
        "content": {"msgtype": "m.text", "body": "> quoted\n\nOn it.", "m.relates_to": relates},
    }
    parsed = matrix_message("matrix", Chat("!room", True), event, {})
    assert parsed is not None
    return parsed.replied_to


def test_matrix_names_the_replied_event_or_the_threads_root() -> None:
    assert matrix({"m.in_reply_to": {"event_id": "$letter"}}) == "$letter"
    thread = {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True}
    assert matrix({**thread, "m.in_reply_to": {"event_id": "$last"}}) == "$root"
    assert matrix({}) is None


def webhook(**fields: Any) -> bytes:
    body = {"id": "e1", "chat": {"id": "dm", "type": "direct"}, "sender": {"id": "sam"}}
    return json.dumps({**body, "text": "On it.", **fields}).encode()


def test_the_webhook_takes_in_reply_to_and_refuses_what_no_store_keeps() -> None:
    assert parse_event("webhook:lab", webhook(in_reply_to="17")).replied_to == "17"
    assert parse_event("webhook:lab", webhook(in_reply_to=17)).replied_to == "17"
    assert parse_event("webhook:lab", webhook()).replied_to is None
    for bad, reason in (("x" * 256, "longer than"), ("a\u0000b", "NUL"), ([1], "in_reply_to")):
        with pytest.raises(BadEvent, match=reason):
            parse_event("webhook:lab", webhook(in_reply_to=bad))


def image(content: dict[str, Any], direct: bool = True) -> tuple[Any, Media] | None:
    event = {"event_id": "$i", "sender": "@mei:x", "content": content}
    return attachment("matrix", Chat("!dm", direct), event, {})


def test_a_matrix_image_or_file_in_a_direct_chat_is_taken_with_its_caption() -> None:
    content = {
        "msgtype": "m.image",
        "body": "the broken shelf",
        "filename": "shelf.jpg",
        "url": "mxc://x/abc",
        "info": {"mimetype": "image/jpeg", "size": 1200},
        "m.relates_to": {"m.in_reply_to": {"event_id": "$letter"}},
    }
    found = image(content)
    assert found is not None
    event, media = found
    assert (event.text, event.replied_to) == ("the broken shelf", "$letter")
    assert media == Media("mxc://x/abc", "shelf.jpg", "image/jpeg", 1200)
    assert image(content, direct=False) is None  # a photo in a room is not fetched
    bare = image({"msgtype": "m.image", "body": "IMG_1.png", "url": "mxc://x/a"})
    assert bare is not None and (bare[0].text, bare[1].name, bare[1].size) == (
        "",
        "IMG_1.png",
        None,
    )
    pdf = {
        "msgtype": "m.file",
        "body": "a.pdf",
        "url": "mxc://x/a",
        "info": {"mimetype": "application/pdf"},
    }
    found = image(pdf)  # any file is taken, held to the larger limit of files
    assert found is not None and found[1] == Media(
        "mxc://x/a", "a.pdf", "application/pdf", None, None, MAX_FILE
    )
    assert image(pdf, direct=False) is None
    bare_file = image({"msgtype": "m.file", "body": "", "url": "mxc://x/b"})
    assert bare_file is not None and (bare_file[1].name, bare_file[1].mime) == (
        "file",
        "application/octet-stream",
    )
    assert media.limit == MAX_IMAGE
    assert image({**content, "msgtype": "m.video"}) is None
    with pytest.raises(Malformed, match="mxc"):
        image({**content, "url": "https://example.org/a.png"})
