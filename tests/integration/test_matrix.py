"""The Matrix adapter against a real Synapse: rendering, transaction ids, direct rooms, images,
encrypted rooms, malformed events, and a homeserver restart. Plus the pure parts offline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nio import DownloadResponse

from adapters.matrix import MatrixAdapter, MatrixSettings, Notices
from adapters.matrix.parse import Malformed, message, reaction, strip_reply_fallback
from adapters.matrix.render import KEYCAPS, MAX_BYTES, MAX_ENCRYPTED_BYTES, contents, keycap_number
from adapters.matrix.rooms import DirectRooms
from bot.app import configure
from bot.config import ConfigError
from bot.events import Chat, Incoming
from bot.markup import Markup
from bot.messages import Accepted, Address, Choice, Document, Image, Outgoing, Unreachable
from tests.support.matrix import body, matrix_bot, members
from tests.support.synapse import Synapse

UNREAD = Markup.literal("I could not read your message.")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


# -- offline ---------------------------------------------------------------------------------


def test_rendering_escapes_what_users_typed_and_keeps_only_safe_links() -> None:
    text = Markup.format(
        "**Hi** {name}, see [docs]({url}) and [x]({bad}) `{code}`",
        name="<img src=x onerror=alert(1)>",
        url="https://example.org/?a=1&b=2",
        bad="javascript:alert(1)",
        code="<b>",
    ) + Markup.literal("\nline two")
    [content] = contents(Outgoing(text, reply_to="$q"), 30_000)
    html = content["formatted_body"]
    assert html.startswith("<strong>Hi</strong> &lt;img src=x onerror=alert(1)&gt;")
    assert '<a href="https://example.org/?a=1&amp;b=2">docs</a>' in html
    assert html.count("<a ") == 1 and " x (javascript:alert(1)) " in html
    assert "<code>&lt;b&gt;</code>" in html
    assert "<br>line two" in html
    assert content["body"].startswith("Hi <img src=x onerror=alert(1)>, see docs (https://")
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$q"}}


def test_threads_long_texts_and_choices_in_the_content() -> None:
    choices = (Choice("A", "7|a"), Choice("B", "7|b"))
    parts = contents(
        Outgoing(Markup.literal("x" * 50 + "\n" + "y" * 50), thread="$root", numbered=choices),
        270,
    )
    assert [len(p["body"]) for p in parts] == [50, 50]
    assert all(len(json.dumps(p)) <= 270 for p in parts)
    assert all(p["m.relates_to"]["rel_type"] == "m.thread" for p in parts)
    assert parts[0]["m.relates_to"]["is_falling_back"] is True
    assert "org.branchbot.choices" not in parts[0]
    assert parts[1]["org.branchbot.choices"] == ["7|a", "7|b"]


def test_long_texts_are_split_by_their_encoded_size() -> None:
    text = "长" * 30_000
    for limit in (MAX_BYTES, MAX_ENCRYPTED_BYTES):
        parts = contents(Outgoing(Markup.literal(text), reply_to="$q"), limit)
        assert "".join(p["body"] for p in parts) == text
        assert all(len(json.dumps(p)) <= limit for p in parts)
        assert len(parts) > 1


def test_keycaps_and_reply_fallbacks() -> None:
    assert [keycap_number(k) for k in KEYCAPS] == list(range(1, 11))
    assert keycap_number("3\u20e3") == 3 and keycap_number("👍") is None
    assert strip_reply_fallback("> <@a:x> quoted\n> more\n\n2") == "2"
    event = {
        "event_id": "$r",
        "sender": "@a:x",
        "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$m", "key": "🔟"}},
    }
    found = reaction(event)
    assert found is not None and found.number == 10 and found.target == "$m"


def test_malformed_events_are_reported_not_crashing() -> None:
    chat = Chat("!r:x", False)
    with pytest.raises(Malformed):
        message("matrix", chat, {"event_id": "$e", "sender": "@a:x", "content": []}, {})
    with pytest.raises(Malformed):
        message("matrix", chat, {"event_id": "$e", "content": {"msgtype": "m.text", "body": 5}}, {})
    edit = {"m.relates_to": {"rel_type": "m.replace", "event_id": "$o"}}
    event = {"event_id": "$e", "sender": "@a:x", "content": {"msgtype": "m.text", "body": "/x"}}
    assert message("matrix", chat, {**event, "content": {**event["content"], **edit}}, {}) is None
    parsed = message("matrix", chat, event, {"@a:x": "Ann"})
    assert parsed is not None and parsed.command == "x" and parsed.sender.name == "Ann"


def test_direct_rooms_bookkeeping() -> None:
    rooms = DirectRooms()
    rooms.load({"@a:x": ["!1", "!2", 3], "bad": "!9"})
    assert rooms.room_for("@a:x") == "!2" and rooms.is_direct("!1") and not rooms.is_direct("!9")
    assert rooms.add("@b:x", "!3") and not rooms.add("@b:x", "!3")
    rooms.forget("!3")
    assert rooms.content() == {"@a:x": ["!1", "!2"]}


# -- against Synapse -------------------------------------------------------------------------


@dataclass
class Collector:
    events: list[Incoming] = field(default_factory=list)

    async def __call__(self, event: Incoming) -> Accepted:
        self.events.append(event)
        return Accepted()


@dataclass
class Values:
    data: dict[str, str] = field(default_factory=dict)

    async def get(self, name: str) -> str | None:
        return self.data.get(name)

    async def put(self, name: str, value: str) -> None:
        self.data[name] = value


def adapter(
    synapse: Synapse, store: Values | None = None, keys: Path | None = None
) -> MatrixAdapter:
    user = synapse.register()
    settings = MatrixSettings(
        synapse.url,
        user.user_id,
        password=user.password,
        max_backoff=1.0,
        store_path=str(keys) if keys else None,
    )
    notices = Notices(Markup.literal("I cannot read encrypted rooms; leaving."), UNREAD)
    return MatrixAdapter(settings, store or Values(), notices)


async def started(matrix: MatrixAdapter) -> Collector:
    collector = Collector()
    await matrix.start(collector)
    await asyncio.wait_for(matrix.ready.wait(), 10)
    return collector


async def test_a_resent_transaction_id_is_one_message(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    await started(matrix)
    try:
        async with members(synapse, 1) as (mei,):
            room = await mei.room(matrix.settings.user_id, direct=False)
            address = Address("matrix", room)
            outgoing = Outgoing(Markup.literal("only once"))
            first = await matrix.send(address, outgoing, "41")
            again = await matrix.send(address, outgoing, "41")
            other = await matrix.send(address, outgoing, "42")
            assert first.message_id == again.message_id != other.message_id
            await mei.wait(lambda r, e: e.get("event_id") == other.message_id)
            assert [body(e) for e in mei.from_bot(matrix.settings.user_id, room)] == [
                "only once",
                "only once",
            ]
    finally:
        await matrix.stop()


async def test_opens_a_direct_room_once_and_sends_images(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    collector = await started(matrix)
    bot = matrix.settings.user_id
    try:
        async with members(synapse, 1) as (mei,):
            nowhere = Address("matrix", "", direct=True, user_id=mei.id)
            await matrix.send(nowhere, Outgoing(Markup.literal("hello, new member")), "1")
            await matrix.send(
                nowhere, Outgoing(Markup.literal("your code"), image=Image("image/png", PNG)), "2"
            )
            await mei.wait(lambda r, e: body(e) == "your code")
            rooms = {r for r, e in mei.events if e.get("sender") == bot}
            assert len(rooms) == 1
            room = rooms.pop()
            image = next(e for e in mei.from_bot(bot, room) if e["content"]["msgtype"] == "m.image")
            assert image["content"]["url"].startswith("mxc://")
            assert image["content"]["info"]["mimetype"] == "image/png"
            assert matrix.direct.room_for(mei.id) == room

            await mei.say(room, "/me")
            await wait_until(lambda: bool(collector.events))
            assert collector.events[0].chat == Chat(room, True)
    finally:
        await matrix.stop()


async def test_a_document_is_uploaded_and_sent_as_a_file(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    await started(matrix)
    bot = matrix.settings.user_id
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 8
    try:
        async with members(synapse, 1) as (mei,):
            nowhere = Address("matrix", "", direct=True, user_id=mei.id)
            minutes = Document("会议纪要 11.pdf", "application/pdf", pdf)
            await matrix.send(nowhere, Outgoing(Markup.literal("E12"), document=minutes), "1")
            await mei.wait(lambda r, e: body(e) == "E12")
            (file,) = [e for e in mei.from_bot(bot) if e["content"]["msgtype"] == "m.file"]
            content = file["content"]
            assert content["body"] == content["filename"] == "会议纪要 11.pdf"
            assert content["info"] == {"mimetype": "application/pdf", "size": len(pdf)}
            downloaded = await mei.client.download(mxc=content["url"])
            assert isinstance(downloaded, DownloadResponse), downloaded
            assert downloaded.body == pdf
    finally:
        await matrix.stop()


async def test_encrypted_rooms_are_explained_and_left(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    await started(matrix)
    bot = matrix.settings.user_id
    try:
        async with members(synapse, 1) as (mei,):
            encryption = {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
            answer = await mei.client.room_create(invite=[bot], initial_state=[encryption])
            room = answer.room_id
            notice = await mei.wait(lambda r, e: r == room and e.get("sender") == bot and body(e))
            assert notice["content"]["msgtype"] == "m.notice" and "encrypted" in body(notice)
            await mei.wait(
                lambda r, e: (
                    r == room
                    and e.get("state_key") == bot
                    and e["content"].get("membership") == "leave"
                )
            )
    finally:
        await matrix.stop()


async def test_malformed_events_are_dropped_and_sync_goes_on(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    collector = await started(matrix)
    try:
        async with members(synapse, 1) as (mei,):
            room = await mei.room(matrix.settings.user_id, direct=False)
            await mei.send(room, {"msgtype": "m.text", "body": "/me", "m.relates_to": [1]})
            await mei.send(room, {"m.relates_to": "nonsense"}, "m.reaction")
            await mei.say(room, "/help")
            await wait_until(lambda: any(e.command == "help" for e in collector.events))
            assert [e.command for e in collector.events] == ["help"]
    finally:
        await matrix.stop()


async def test_survives_a_homeserver_restart_and_resumes_from_the_stored_token(
    synapse: Synapse, tmp_path: Path
) -> None:
    store = Values()
    matrix = adapter(synapse, store)
    collector = await started(matrix)
    bot = matrix.settings.user_id
    async with members(synapse, 1) as (mei,):
        room = await mei.room(bot, direct=False)
        await mei.say(room, "before")
        await wait_until(lambda: [e.text for e in collector.events] == ["before"])
        synapse.restart()
        await mei.say(room, "after the homeserver restart")
        # The sync loop backs off while the homeserver is down; a loaded machine restarts slowly.
        await wait_until(lambda: len(collector.events) == 2, timeout=45)
        await matrix.stop()

        await mei.say(room, "while the bot was down")
        again = MatrixAdapter(matrix.settings, store, matrix.notices)
        resumed = await started(again)
        try:
            await mei.say(room, "sentinel")
            await wait_until(lambda: any(e.text == "sentinel" for e in resumed.events))
            # ``stop`` may cancel the sync task after the core took a response's events but
            # before their token was stored: that response comes again (at-least-once), and the
            # core drops event ids it has seen. So dedupe as the core does, then nothing may be
            # missing and only what the first adapter already delivered may repeat.
            seen = {e.event_id for e in collector.events}
            assert [e.text for e in resumed.events if e.event_id not in seen] == [
                "while the bot was down",
                "sentinel",
            ]
            assert [e.text for e in resumed.events if e.event_id in seen] in (
                [],
                ["after the homeserver restart"],
            )
            await again.send(Address("matrix", room), Outgoing(Markup.literal("back")), "9")
            await mei.wait(lambda r, e: e.get("sender") == bot and body(e) == "back")
        finally:
            await again.stop()
    assert store.data[f"matrix:{bot}:device_id"]


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll: the collector is filled by the adapter's sync task, which signals nothing."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_the_app_builds_the_adapter_from_the_config(synapse: Synapse, tmp_path: Path) -> None:
    user = synapse.register()
    async with matrix_bot(synapse, user, f"sqlite:///{tmp_path}/b.db") as app:
        matrix = app.deliveries["matrix"].adapter
        assert isinstance(matrix, MatrixAdapter)
        assert not matrix.capabilities.buttons and matrix.capabilities.threads
        assert not app.config.playground_enabled


def test_the_config_needs_a_password_or_a_token(tmp_path: Path) -> None:
    matrix = {"homeserver": "http://127.0.0.1:8008", "user_id": "@bot:example.org"}
    with pytest.raises(ConfigError, match="password"):
        configure(None, matrix=matrix)
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    config = configure(None, matrix={**matrix, "access_token_file": str(token)})
    assert config.matrix is not None
    assert config.matrix.resolved_access_token() == "secret-token"
    assert not config.playground_enabled


async def test_the_first_sync_skips_history_and_a_gap_is_filled_after_a_long_downtime(
    synapse: Synapse, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Values()
    matrix = adapter(synapse, store)
    bot = matrix.settings.user_id
    async with members(synapse, 1) as (mei,):
        room = (await mei.client.room_create(invite=[bot])).room_id  # before the bot ever ran
        await mei.say(room, "/help said before the bot existed")
        collector = await started(matrix)
        await mei.wait(lambda r, e: r == room and e.get("state_key") == bot)
        await mei.say(room, "/me")
        await wait_until(lambda: bool(collector.events))
        await matrix.stop()
        assert [e.text for e in collector.events] == ["/me"]

        # More messages arrive while it is down than one sync timeline holds.
        monkeypatch.setattr("adapters.matrix.adapter.TIMELINE_LIMIT", 2)
        said = [f"message {n}" for n in range(7)]
        for text in said:
            await mei.say(room, text)
        again = MatrixAdapter(matrix.settings, store, matrix.notices)
        resumed = await started(again)
        try:
            await wait_until(lambda: len(resumed.events) >= len(said))
            assert [e.text for e in resumed.events] == said
        finally:
            await again.stop()


async def test_invitations_from_other_servers_are_declined(synapse: Synapse) -> None:
    user = synapse.register()
    settings = MatrixSettings(
        synapse.url, user.user_id, password=user.password, allowed_servers=("example.org",)
    )
    matrix = MatrixAdapter(settings, Values(), Notices(Markup.literal("encrypted"), UNREAD))
    await started(matrix)
    try:
        async with members(synapse, 1) as (mei,):
            answer = await mei.client.room_create(invite=[user.user_id])
            await mei.wait(
                lambda r, e: (
                    r == answer.room_id
                    and e.get("state_key") == user.user_id
                    and e["content"].get("membership") == "leave"
                )
            )
            assert not any(
                e.get("state_key") == user.user_id and e["content"].get("membership") == "join"
                for r, e in mei.events
                if r == answer.room_id
            )
    finally:
        await matrix.stop()


async def test_is_direct_is_not_taken_on_the_inviters_word(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    collector = await started(matrix)
    bot = matrix.settings.user_id
    try:
        async with members(synapse, 2) as (mei, ann):
            # "Direct", but three people read it: a group.
            crowded = await mei.client.room_create(is_direct=True, invite=[bot, ann.id])
            await mei.wait(lambda r, e: r == crowded.room_id and e.get("state_key") == bot)
            await ann.wait(lambda r, e: r == crowded.room_id and e.get("state_key") == ann.id)
            await mei.say(crowded.room_id, "/me")
            await wait_until(lambda: len(collector.events) == 1)
            assert collector.events[0].chat == Chat(crowded.room_id, False)

            # A real direct room stops being one when someone else joins it.
            dm = await mei.room(bot, direct=True)
            await mei.say(dm, "/me")
            await wait_until(lambda: len(collector.events) == 2)
            assert collector.events[1].chat == Chat(dm, True)
            await mei.client.room_invite(dm, ann.id)
            await ann.wait(lambda r, e: r == dm and e.get("state_key") == ann.id)
            await mei.say(dm, "/me")
            await wait_until(lambda: len(collector.events) == 3)
            assert collector.events[2].chat == Chat(dm, False)

            # Nothing private goes there: the bot opens a new direct room.
            private = Outgoing(Markup.literal("your invite code"))
            await matrix.send(Address("matrix", dm, direct=True, user_id=mei.id), private, "1")
            sent = await mei.wait(lambda r, e: body(e) == "your invite code")
            new = next(r for r, e in mei.events if e is sent)
            assert new not in (dm, crowded.room_id) and matrix.direct.room_for(mei.id) == new
            assert not any(body(e) == "your invite code" for _, e in ann.events)
    finally:
        await matrix.stop()


async def test_nobody_else_can_be_invited_to_a_direct_room_the_bot_opens(
    synapse: Synapse,
) -> None:
    matrix = adapter(synapse)
    await started(matrix)
    try:
        async with members(synapse, 2) as (mei, ann):
            person = Address("matrix", "", direct=True, user_id=mei.id)
            await matrix.send(person, Outgoing(Markup.literal("hi")), "1")
            hello = await mei.wait(lambda r, e: body(e) == "hi")
            room = next(r for r, e in mei.events if e is hello)
            answer = await mei.client.room_invite(room, ann.id)
            assert getattr(answer, "status_code", None) == "M_FORBIDDEN", answer
    finally:
        await matrix.stop()


async def test_a_direct_room_the_person_left_is_replaced_by_a_new_one(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    collector = await started(matrix)
    bot = matrix.settings.user_id
    try:
        async with members(synapse, 1) as (mei,):
            person = Address("matrix", "", direct=True, user_id=mei.id)
            await matrix.send(person, Outgoing(Markup.literal("first")), "1")
            first = await mei.wait(lambda r, e: body(e) == "first")
            old = next(r for r, e in mei.events if e is first)
            await mei.client.room_leave(old)
            group = await mei.room(bot, direct=False)
            await mei.say(group, "sentinel")  # once the bot has this, it has seen the leave
            await wait_until(lambda: any(e.text == "sentinel" for e in collector.events))

            stored = Address("matrix", old, direct=True, user_id=mei.id)  # the core's record
            await matrix.send(stored, Outgoing(Markup.literal("second")), "2")
            second = await mei.wait(lambda r, e: body(e) == "second")
            assert next(r for r, e in mei.events if e is second) not in (old, group)

            # The bot itself out of the room (its own leave not synced yet): refused, reopened.
            current = matrix.direct.room_for(mei.id)
            assert current is not None
            await matrix._client().room_leave(current)
            await matrix.send(stored, Outgoing(Markup.literal("third")), "3")
            third = await mei.wait(lambda r, e: body(e) == "third")
            assert next(r for r, e in mei.events if e is third) not in (old, current)
    finally:
        await matrix.stop()


async def test_a_long_chinese_text_arrives_whole(synapse: Synapse) -> None:
    matrix = adapter(synapse)
    await started(matrix)
    bot = matrix.settings.user_id
    try:
        async with members(synapse, 1) as (mei,):
            room = await mei.room(bot, direct=False)
            text = "".join("汉字长消息"[n % 5] for n in range(30_000))
            await matrix.send(Address("matrix", room), Outgoing(Markup.literal(text)), "1")
            await mei.wait(
                lambda r, e: len("".join(body(e) for e in mei.from_bot(bot))) >= len(text),
                timeout=20,
            )
            assert "".join(body(e) for e in mei.from_bot(bot)) == text
    finally:
        await matrix.stop()


async def test_an_unknown_room_is_unreachable_once_synced_with_encryption(
    synapse: Synapse, tmp_path: Path
) -> None:
    matrix = adapter(synapse, keys=tmp_path / "keys")
    await started(matrix)
    try:
        with pytest.raises(Unreachable):
            await matrix.send(
                Address("matrix", "!nowhere:localhost"), Outgoing(Markup.literal("x")), "1"
            )
    finally:
        await matrix.stop()


async def test_an_undecryptable_message_is_answered_once_and_its_key_requested(
    synapse: Synapse, tmp_path: Path
) -> None:
    matrix = adapter(synapse, keys=tmp_path / "keys")
    collector = await started(matrix)
    bot = matrix.settings.user_id
    try:
        async with members(synapse, 1) as (mei,):
            room = await mei.room(bot, direct=False)
            bogus = {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
                "device_id": "PHONE",
                "sender_key": "IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA",
                "session_id": "X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ",
            }
            for _ in range(2):
                await mei.send(room, bogus, "m.room.encrypted")
            await mei.say(room, "sentinel")
            await wait_until(lambda: any(e.text == "sentinel" for e in collector.events))
            await matrix.send(Address("matrix", room), Outgoing(Markup.literal("after")), "1")
            await mei.wait(lambda r, e: body(e) == "after")
            notices = [e for e in mei.from_bot(bot, room) if body(e) == UNREAD.plain()]
            assert len(notices) == 1 and notices[0]["content"]["msgtype"] == "m.notice"
            assert [e.text for e in collector.events] == ["sentinel"]
    finally:
        await matrix.stop()
