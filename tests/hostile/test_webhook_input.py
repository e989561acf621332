"""Hostile but signed events through the real webhook HTTP path, on both stores: each one is
refused with a 400 and a reason and changes nothing, or is taken in with its text repaired;
never a 500 (which a sender retries forever), and the bot goes on answering everyone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from store.models import Identity, Member, OutboxRow, Room, SeenEvent
from tests.support.chat import code_in
from tests.support.lab_broadcasts import compose
from tests.support.webhook import Lab, button, to, until

Event = dict[str, Any]


def changed(**fields: Any) -> Callable[[Lab], bytes]:
    """An event from mei with some fields replaced (``chat_id=...`` reaches into ``chat``)."""

    def build(lab: Lab) -> bytes:
        event = lab.event("mei", "/me")
        for key, value in fields.items():
            part, _, inner = key.partition("_")
            if part in ("chat", "sender") and inner:
                event[part][inner] = value
            else:
                event[key] = value
        return json.dumps(event).encode()  # ASCII: "\ud800" and "\u0000" are JSON escapes

    return build


def raw(body: bytes) -> Callable[[Lab], bytes]:
    return lambda _lab: body


def nested_text(depth: int) -> Callable[[Lab], bytes]:
    def build(lab: Lab) -> bytes:
        head = json.dumps(lab.event("mei"))[:-1]
        return f'{head}, "text": {"[" * depth}{"]" * depth}}}'.encode()

    return build


def raw_id(literal: bytes) -> Callable[[Lab], bytes]:
    """An event whose ``id`` is written as these exact bytes."""

    def build(lab: Lab) -> bytes:
        event = lab.event("mei", "/me") | {"id": "ID"}
        return json.dumps(event).encode().replace(b'"ID"', literal)

    return build


REFUSED: list[tuple[str, Callable[[Lab], bytes], str]] = [
    ("deep array", raw(b"[" * 30_000 + b"]" * 30_000), "body is not JSON: nested too deeply"),
    ("deep text", nested_text(30_000), "body is not JSON: nested too deeply"),
    ("5000-digit id", raw_id(b"9" * 5_000), "body is not JSON: a number has too many digits"),
    ("4000-digit id", raw_id(b"9" * 4_000), "field id is longer than 255 characters"),
    ("surrogate in id", changed(id="ev-\ud800"), "field id contains a lone surrogate"),
    ("NUL in id", changed(id="ev-\x00"), "field id contains NUL"),
    ("long id", changed(id="e" * 256), "field id is longer than 255 characters"),
    ("surrogate in chat.id", changed(chat_id="dm-\udfff"), "field chat.id contains a lone"),
    ("NUL in chat.id", changed(chat_id="dm-mei\x00"), "field chat.id contains NUL"),
    ("long chat.id", changed(chat_id="c" * 256), "field chat.id is longer than 255"),
    ("surrogate in sender.id", changed(sender_id="mei\ud800"), "field sender.id contains a lone"),
    ("NUL in sender.id", changed(sender_id="\x00mei"), "field sender.id contains NUL"),
    ("long sender.id", changed(sender_id="m" * 256), "field sender.id is longer than 255"),
    ("long name", changed(sender_name="M" * 256), "field sender.name is longer than 255"),
    ("long title", changed(chat_title="T" * 256), "field chat.title is longer than 255"),
    ("NUL in message_id", changed(message_id="5\x00"), "field message_id contains NUL"),
    ("surrogate in choice", changed(choice="1|\ud800"), "field choice contains a lone"),
    ("only NUL as text", changed(text="\x00\x00"), "an event needs text, choice or file"),
    ("UTF-8 surrogate bytes", raw_id(b'"\xed\xa0\x80"'), "field id contains a lone"),
    ("array body", raw(b"[]"), "body must be a JSON object"),
    ("string body", raw(b'"/me"'), "body must be a JSON object"),
    ("null body", raw(b"null"), "body must be a JSON object"),
    ("chat.type a list", changed(chat_type=["direct"]), 'field chat.type must be "group"'),
    ("chat.type an object", changed(chat_type={}), 'field chat.type must be "group"'),
    ("sender a list", changed(sender=["mei"]), "field sender must be an object"),
    ("text an object", changed(text={"a": 1}), "field text must be a string"),
    ("id a float", changed(id=1e400), "field id must be a string"),
    ("NaN id", raw(b'{"id": NaN}'), "missing field: chat"),
]


async def counts(lab: Lab) -> tuple[int, ...]:
    async with lab.bot.db.session() as session:
        return tuple(
            [
                int(await session.scalar(select(func.count()).select_from(table)) or 0)
                for table in (SeenEvent, Identity, Member, OutboxRow)
            ]
        )


async def test_every_invalid_event_is_a_400_with_its_reason_and_changes_nothing(
    lab: Lab,
) -> None:
    await lab.say("mei", "/me")
    before = await counts(lab)
    for name, build, reason in REFUSED:
        status, answer = await lab.post(build(lab))
        assert status == 400, (name, status, answer)
        assert answer["ok"] is False and answer["error"].startswith(reason), (name, answer)
    assert await counts(lab) == before
    assert "Mei" in await lab.say("mei", "/me")
    assert "/help" in await lab.say("kai", "/help")


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Mei\ud800", "Mei\ufffd"), ("M\x00ei", "Mei"), ("\udc00\x00", "\ufffd")],
)
async def test_a_broken_display_name_is_repaired_stored_and_shown(
    lab: Lab, name: str, shown: str
) -> None:
    await lab.say("boss", "/branch add Main")
    code = code_in(await lab.say("boss", "/invite Main member"))
    assert "Welcome" in await lab.say("mei", f"/join {code}", name=name)
    async with lab.bot.db.session() as session:
        stored = await session.scalar(
            select(Identity.display_name).where(Identity.user_id == "mei")
        )
    assert stored == shown
    answers = await lab.ask("mei", "/me", name=name)
    assert len(answers) == 1 and shown in answers[0]["text"]
    assert "/help" in await lab.say("kai", "/help")


async def test_a_broken_room_title_is_repaired_when_the_room_is_bound(lab: Lab) -> None:
    await lab.say("boss", "/branch add Main")
    event = lab.event("boss", "/bind Main", chat="room-1")
    event["chat"]["title"] = "Room\x00 \ud83d"
    status, _ = await lab.post(event)
    assert status == 200
    await lab.bot.idle()
    async with lab.bot.db.session() as session:
        title = await session.scalar(select(Room.title))
    assert title == "Room \ufffd"


async def test_a_broadcast_text_cut_mid_emoji_is_sent_repaired(lab: Lab) -> None:
    """A secretary's text is stored and sent later: it is repaired as it comes in, so the
    fan-out and the callback encoding of every copy succeed."""
    await lab.say("boss", "/branch add Main")
    sam = code_in(await lab.say("boss", "/invite Main secretary"))
    await lab.say("sam", f"/join {sam}")
    mei = code_in(await lab.say("sam", "/invite Main member"))
    await lab.say("mei", f"/join {mei}")
    answers = await compose(
        lab, "sam", "Meeting\x00 at 3 \ud83d", "Members", "Meeting", "No", "Send now"
    )
    sent = await lab.ask("sam", choice=button(answers[-1], "Send"))
    assert "on its way" in sent[0]["text"]
    notice = await until(lab, lambda m: to("mei")(m) and "Meeting at 3" in m["text"])
    assert "Meeting at 3 \ufffd" in notice["text"]
    report = await until(lab, lambda m: to("sam")(m) and "delivered" in m["text"])
    assert "0 unreachable" in report["text"]
