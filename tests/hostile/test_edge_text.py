"""The one rule for text coming in (``bot.events``), and each adapter's parser applying it:
ids that no store can hold are refused, text people read is repaired."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from telegram import Update

from adapters.matrix.parse import Malformed, message, reaction
from adapters.telegram.updates import to_incoming
from adapters.webhook import BadEvent, encode, parse_event
from bot.events import Attachment, Chat, Incoming, InvalidText, Sender, clean_text, id_problem

BROKEN = "Ann\ud800 \x00Lee\udfff"
REPAIRED = "Ann\ufffd Lee\ufffd"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("plain", "plain"),
        ("a\x00b\x00", "ab"),
        ("\ud800", "\ufffd"),
        ("cut \ud83d", "cut \ufffd"),
        ("pair \ud83d\ude00 joined", "pair 😀 joined"),
        (BROKEN, REPAIRED),
        ("你好\x00", "你好"),
    ],
)
def test_clean_text_repairs_surrogates_and_drops_nul(given: str, expected: str) -> None:
    cleaned = clean_text(given)
    assert cleaned == expected
    cleaned.encode()  # valid UTF-8 now


def test_clean_text_returns_valid_text_itself() -> None:
    text = "valid 文字 ✓"
    assert clean_text(text) is text


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ok-id", None),
        ("!room:例子.org", None),
        ("a\x00", "contains NUL"),
        ("a\udc00", "contains a lone surrogate"),
        ("x" * 256, "is longer than 255 characters"),
        ("x" * 255, None),
    ],
)
def test_id_problem(value: str, problem: str | None) -> None:
    assert id_problem(value) == problem


def test_incoming_itself_cleans_text_and_refuses_bad_ids() -> None:
    event = Incoming(
        "memory",
        "e1",
        Chat("c", False, "Room" + BROKEN),
        Sender("u", BROKEN + "x" * 300),
        text="/say " + BROKEN,
        command="say",
        args=("Ann\ud800", "\x00"),
    )
    assert event.text == "/say " + REPAIRED and event.args == ("Ann\ufffd",)
    assert event.chat.title == "Room" + REPAIRED
    assert event.sender.name.startswith(REPAIRED) and len(event.sender.name) == 255
    assert Attachment("f\ud800.csv", "text/csv\x00", b"").name == "f\ufffd.csv"
    for build, reason in [
        (lambda: Incoming("memory", "e\x00", Chat("c", True), Sender("u")), "id contains NUL"),
        (lambda: Chat("c\ud800", True), "chat.id contains a lone surrogate"),
        (lambda: Sender("u" * 256), "sender.id is longer than 255 characters"),
        (
            lambda: Incoming("memory", "e", Chat("c", True), Sender("u"), choice="1\x00"),
            "choice contains NUL",
        ),
        (
            lambda: Incoming("memory", "e", Chat("c", True), Sender("u"), reply_to="\udc00"),
            "reply_to contains a lone surrogate",
        ),
    ]:
        with pytest.raises(InvalidText, match=reason):
            build()


def webhook_event(**fields: Any) -> bytes:
    event = {"id": "e", "chat": {"id": "c", "type": "direct"}, "sender": {"id": "u"}}
    return json.dumps(event | fields).encode()


def test_webhook_file_name_and_mime_are_repaired() -> None:
    data = base64.b64encode(b"q").decode()
    event = parse_event(
        "webhook:lab",
        webhook_event(file={"name": "bank\ud800.csv\x00", "mime": "text/\x00csv", "data": data}),
    )
    assert event.attachment is not None
    assert (event.attachment.name, event.attachment.mime) == ("bank\ufffd.csv", "text/csv")


def test_webhook_message_id_is_refused_when_no_store_can_hold_it() -> None:
    with pytest.raises(BadEvent, match="field message_id contains a lone surrogate"):
        parse_event("webhook:lab", webhook_event(choice="1", message_id="5\ud800"))


def test_a_callback_body_with_a_lone_surrogate_still_encodes() -> None:
    """A row stored before the edge repaired text (or built by a bug) must not raise on every
    delivery attempt."""
    body = encode({"text": "cut \ud83d", "markdown": "ok"})
    assert json.loads(body) == {"text": "cut ?", "markdown": "ok"}


def telegram(update: dict[str, Any]) -> Incoming | None:
    return to_incoming("telegram", Update.de_json({"update_id": 1, **update}, None), "bot")


def test_telegram_names_titles_and_text_are_repaired() -> None:
    event = telegram(
        {
            "message": {
                "message_id": 5,
                "date": 0,
                "chat": {"id": -7, "type": "group", "title": "Room\x00\ud800"},
                "from": {"id": 7, "is_bot": False, "first_name": "Ann\ud800", "last_name": "\x00"},
                "text": "/say hi\ud83d\x00",
            }
        }
    )
    assert event is not None
    assert (event.sender.name, event.chat.title) == ("Ann\ufffd ", "Room\ufffd")
    assert (event.text, event.command, event.args) == ("/say hi\ufffd", "say", ("hi\ufffd",))


def test_telegram_text_that_is_only_nul_is_not_an_event() -> None:
    chat = {"id": 7, "type": "private"}
    sender = {"id": 7, "is_bot": False, "first_name": "Ann"}
    assert (
        telegram(
            {"message": {"message_id": 5, "date": 0, "chat": chat, "from": sender, "text": "\x00"}}
        )
        is None
    )


def test_telegram_button_data_no_button_of_ours_carries_is_dropped() -> None:
    chat = {"id": 7, "type": "private"}
    sender = {"id": 7, "is_bot": False, "first_name": "Ann"}
    query = {
        "id": "q1",
        "from": sender,
        "chat_instance": "x",
        "message": {"message_id": 5, "date": 0, "chat": chat, "text": "?"},
    }
    assert telegram({"callback_query": {**query, "data": "1|\ud800"}}) is None
    pressed = telegram({"callback_query": {**query, "data": "1|yes"}})
    assert pressed is not None and pressed.choice == "1|yes"


CHAT = Chat("!room:x", False)


def matrix_text(body: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": "$e",
        "sender": "@a:x",
        "content": {"msgtype": "m.text", "body": body},
        **extra,
    }


def test_matrix_body_and_display_name_are_repaired() -> None:
    event = message("matrix", CHAT, matrix_text("/say \ud800\x00ok"), {"@a:x": "Ann\x00\udc00"})
    assert event is not None
    assert (event.text, event.args, event.sender.name) == (
        "/say \ufffdok",
        ("\ufffdok",),
        "Ann\ufffd",
    )


@pytest.mark.parametrize(
    "event",
    [
        matrix_text("hi", event_id="$e\x00"),
        matrix_text("hi", sender="@a\ud800:x"),
        {
            "event_id": "$e",
            "sender": "@a:x",
            "content": {
                "msgtype": "m.text",
                "body": "hi",
                "m.relates_to": {"rel_type": "m.thread", "event_id": "$root\x00"},
            },
        },
        {
            "event_id": "$e",
            "sender": "@a:x",
            "content": {
                "msgtype": "m.text",
                "body": "hi",
                "m.relates_to": {"m.in_reply_to": {"event_id": "$" + "r" * 300}},
            },
        },
    ],
)
def test_matrix_ids_no_store_can_hold_are_malformed(event: dict[str, Any]) -> None:
    with pytest.raises(Malformed):
        message("matrix", CHAT, event, {})


def test_matrix_reaction_on_a_bad_target_is_malformed() -> None:
    event = {
        "event_id": "$r",
        "sender": "@a:x",
        "content": {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": "$t\udc00", "key": "1️⃣"}
        },
    }
    with pytest.raises(Malformed):
        reaction(event)
