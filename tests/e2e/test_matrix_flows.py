"""Whole flows on a real Synapse: members are matrix-nio clients, the bot is the real app.

These run on the SQLite store only: the store paths they use are the ones every other test
already runs on both databases, and a second pass would double the Matrix time for nothing new.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nio import RoomCreateResponse

from bot.app import BranchBot
from bot.markup import Markup
from bot.messages import Address, Image, Outgoing
from tests.support.chat import code_in
from tests.support.matrix import adapter_of, body, matrix_bot, matrix_config, members
from tests.support.synapse import Synapse

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/branchbot.db"


async def test_onboarding_in_a_direct_room_and_bind_in_a_group_room(
    synapse: Synapse, database_url: str
) -> None:
    bot_user = synapse.register()
    async with members(synapse, 2) as (boss, sam):
        admins = [f"matrix:{boss.id}"]
        async with matrix_bot(synapse, bot_user, database_url, admins=admins):
            bot = bot_user.user_id
            dm = await boss.room(bot, direct=True)
            created = await boss.ask(bot, dm, "/branch add Main Library")
            assert "created" in body(created)
            invite = await boss.ask(bot, dm, "/invite Main Library secretary")
            content = invite["content"]
            assert content["format"] == "org.matrix.custom.html"
            assert "<code>" in content["formatted_body"]
            code = code_in(body(invite))

            sam_dm = await sam.room(bot, direct=True)
            welcome = await sam.ask(bot, sam_dm, f"/join {code}")
            assert "secretary of Main Library" in body(welcome)

            room = await sam.room(bot, direct=False, name="Library staff")
            bound = await sam.ask(bot, room, "/bind Main Library")
            assert "direct chat" not in body(bound) and "Main Library" in body(bound)
            assert "group room" in body(await sam.ask(bot, sam_dm, "/bind Main Library"))
            assert "1 room" in body(await boss.ask(bot, dm, "/branches"))


async def test_numbered_choices_answered_by_number_and_by_reaction(
    synapse: Synapse, database_url: str
) -> None:
    bot_user = synapse.register()
    async with (
        members(synapse, 1) as (boss,),
        matrix_bot(synapse, bot_user, database_url, admins=[f"matrix:{boss.id}"]),
    ):
        bot = bot_user.user_id
        dm = await boss.room(bot, direct=True)
        await boss.ask(bot, dm, "/branch add Archive")
        await boss.ask(bot, dm, "/branch add Library")
        branches = await boss.ask(bot, dm, "/invite")
        assert "1. Archive" in body(branches) and "2. Library" in body(branches)
        assert "Answer with the number" in body(branches)
        roles = await boss.ask(bot, dm, "2")
        assert "1. member" in body(roles) and "2. secretary" in body(roles)

        before = len(boss.from_bot(bot, dm))
        await boss.react(dm, roles["event_id"], "2\ufe0f\u20e3")
        await boss.wait(lambda r, e: len(boss.from_bot(bot, dm)) > before)
        answer = boss.from_bot(bot, dm)[before]
        assert "Library" in body(answer) and "secretary" in body(answer)
        code_in(body(answer))

        # A keycap on a message that offered no choices is not an answer to anything.
        count = len(boss.from_bot(bot, dm))
        await boss.react(dm, answer["event_id"], "1\ufe0f\u20e3")
        assert "2 branches" in body(await boss.ask(bot, dm, "/branches"))
        assert len(boss.from_bot(bot, dm)) == count + 1


async def test_a_command_in_a_thread_is_answered_in_that_thread(
    synapse: Synapse, database_url: str
) -> None:
    bot_user = synapse.register()
    async with members(synapse, 1) as (mei,), matrix_bot(synapse, bot_user, database_url):
        bot = bot_user.user_id
        room = await mei.room(bot, direct=False)
        root = await mei.say(room, "Questions about the bot go here")
        answer = await mei.ask(
            bot,
            room,
            "/help",
            rel_type="m.thread",
            event_id=root,
            is_falling_back=True,
            **{"m.in_reply_to": {"event_id": root}},
        )
        relates = answer["content"]["m.relates_to"]
        assert relates["rel_type"] == "m.thread" and relates["event_id"] == root
        assert "/join" in body(answer)


async def test_a_keycap_answer_to_a_question_in_a_thread_goes_on_in_that_thread(
    synapse: Synapse, database_url: str
) -> None:
    bot_user = synapse.register()
    async with (
        members(synapse, 1) as (boss,),
        matrix_bot(synapse, bot_user, database_url, admins=[f"matrix:{boss.id}"]) as app,
    ):
        bot = bot_user.user_id
        dm = await boss.room(bot, direct=True)
        await boss.ask(bot, dm, "/branch add Archive")
        await boss.ask(bot, dm, "/branch add Library")
        root = (await boss.ask(bot, dm, "/branches"))["event_id"]
        thread = {"rel_type": "m.thread", "event_id": root, "is_falling_back": True}
        branches = await boss.ask(
            bot, dm, "/invite", **thread, **{"m.in_reply_to": {"event_id": root}}
        )
        assert branches["content"]["m.relates_to"]["event_id"] == root

        def next_from_bot(count: int) -> Callable[[str, dict[str, Any]], bool]:
            return lambda r, e: len(boss.from_bot(bot, dm)) > count

        before = len(boss.from_bot(bot, dm))
        await boss.react(dm, branches["event_id"], "2\ufe0f\u20e3")
        await boss.wait(next_from_bot(before))
        roles = boss.from_bot(bot, dm)[before]
        assert "2. secretary" in body(roles)
        assert roles["content"]["m.relates_to"]["rel_type"] == "m.thread"
        assert roles["content"]["m.relates_to"]["event_id"] == root

        # As after a restart: the thread is read back from the question itself.
        adapter_of(app)._choices.clear()
        before = len(boss.from_bot(bot, dm))
        await boss.react(dm, roles["event_id"], "1\ufe0f\u20e3")
        await boss.wait(next_from_bot(before))
        answer = boss.from_bot(bot, dm)[before]
        assert "Library" in body(answer)
        assert answer["content"]["m.relates_to"]["event_id"] == root


async def test_restart_handles_what_was_sent_while_down_exactly_once(
    synapse: Synapse, database_url: str
) -> None:
    bot_user = synapse.register()
    async with members(synapse, 1) as (boss,):
        admins = [f"matrix:{boss.id}"]
        bot = bot_user.user_id
        async with matrix_bot(synapse, bot_user, database_url, admins=admins) as app:
            dm = await boss.room(bot, direct=True)
            assert "no branches" in body(await boss.ask(bot, dm, "/branches"))
            device = adapter_of(app).client.device_id  # type: ignore[union-attr]
        await boss.say(dm, "/branch add Alpha")
        await boss.say(dm, "/branch add Beta")
        before = len(boss.from_bot(bot, dm))
        async with matrix_bot(synapse, bot_user, database_url, admins=admins) as app:
            assert adapter_of(app).client.device_id == device  # type: ignore[union-attr]
            await boss.wait(lambda r, e: len(boss.from_bot(bot, dm)) >= before + 2)
            listing = await boss.ask(bot, dm, "/branches")
            await app.idle()
        answers = [body(e) for e in boss.from_bot(bot, dm)[before:]]
        assert sum("created" in a for a in answers) == 2, answers
        assert "2 branches" in body(listing)
        assert len(answers) == 3, answers  # nothing replayed from before the restart


async def test_a_crash_between_send_and_mark_sent_does_not_duplicate(
    synapse: Synapse, database_url: str
) -> None:
    bot_user = synapse.register()
    bot = bot_user.user_id
    async with members(synapse, 1) as (mei,):
        app = BranchBot(matrix_config(synapse, bot_user, database_url), serve_http=False)
        await app.start()
        delivery = app.deliveries["matrix"]

        async def crash() -> None:  # the outcome is never written, as if the process died
            delivery._results.clear()

        delivery._flush = crash  # type: ignore[method-assign]
        await adapter_of(app).ready.wait()
        dm = await mei.room(bot, direct=True)
        await mei.ask(bot, dm, "/help")
        await app.stop()
        assert len(mei.from_bot(bot, dm)) == 1

        async with matrix_bot(synapse, bot_user, database_url) as again:
            await again.idle()
            assert await mei.ask(bot, dm, "/start")
        answers = [body(e) for e in mei.from_bot(bot, dm)]
        # The /help answer once (resent, deduplicated), then /start's greeting. /start's later
        # replies (the join hint, its own help) reach mei's client as it syncs: counting all
        # the answers raced that sync. The resend came before /start (``idle``), so a
        # duplicate would stand between the two.
        greeting = next((i for i, a in enumerate(answers) if a.startswith("Hello ")), None)
        assert greeting == 1, answers
        assert answers[0].startswith("Commands you can use"), answers


async def test_a_rate_limited_bot_still_delivers_everything(
    synapse: Synapse, database_url: str
) -> None:
    bot_user = synapse.register(limited=True)  # Synapse's default rc_message: 0.2/s, burst 10
    bot = bot_user.user_id
    async with members(synapse, 2) as people:
        async with matrix_bot(
            synapse, bot_user, database_url, matrix_overrides={"messages_per_second": None}
        ) as app:
            rooms = [await person.room(bot, direct=True) for person in people]
            # Two joins and nine answers: one event more than the burst of 10.
            wanted = [5, 4]
            for round_ in range(5):
                for person, room, count in zip(people, rooms, wanted, strict=True):
                    if round_ < count:
                        await person.say(room, f"/lang {'en' if round_ % 2 else 'zh'}")
            for person, room, count in zip(people, rooms, wanted, strict=True):
                await person.wait(
                    lambda r, e, p=person, m=room, n=count: len(p.from_bot(bot, m)) >= n, 40
                )
            limited = app.metrics.retries.labels("matrix", "rate_limited")._value.get()
            assert limited > 0
            await app.idle()
        for person, room, count in zip(people, rooms, wanted, strict=True):
            assert len(person.from_bot(bot, room)) == count


async def test_an_encrypted_direct_chat_works_end_to_end_and_across_a_restart(
    synapse: Synapse, database_url: str, tmp_path: Path
) -> None:
    bot_user = synapse.register()
    bot = bot_user.user_id
    keys = {"store_path": str(tmp_path / "bot-keys")}
    encryption = {
        "type": "m.room.encryption",
        "state_key": "",
        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
    }
    (tmp_path / "member-keys").mkdir()
    async with members(synapse, 1, keys=tmp_path / "member-keys") as (mei,):
        async with matrix_bot(synapse, bot_user, database_url, matrix_overrides=keys) as app:
            dm = await mei.room(bot, direct=True, initial_state=[encryption])
            asked = await mei.ask(bot, dm, "/help")
            assert "/join" in body(asked)
            assert asked["event_id"] in mei.decrypted  # it was encrypted on the wire

            picture = Outgoing(Markup.literal("your QR code"), image=Image("image/png", PNG))
            await adapter_of(app).send(Address("matrix", dm), picture, "qr")
            image = await mei.wait(lambda r, e: e.get("content", {}).get("msgtype") == "m.image")
            assert image["event_id"] in mei.decrypted
            assert image["content"]["file"]["url"].startswith("mxc://")
            assert "url" not in image["content"] and image["content"]["file"]["key"]
            await mei.wait(lambda r, e: body(e) == "your QR code")
            languages = await mei.ask(bot, dm, "/lang")
        async with matrix_bot(synapse, bot_user, database_url, matrix_overrides=keys):
            again = await mei.ask(bot, dm, "/me")
            assert again["event_id"] in mei.decrypted and body(again)
            # The choices of a message from before the restart are read back by decrypting it.
            number = re.search(r"^(\d)\. English$", body(languages), re.MULTILINE)
            assert number, body(languages)
            english = number.group(1)
            before = len(mei.from_bot(bot, dm))
            await mei.react(dm, languages["event_id"], f"{english}\ufe0f\u20e3")
            await mei.wait(lambda r, e: len(mei.from_bot(bot, dm)) > before)
            assert "English" in body(mei.from_bot(bot, dm)[before])


async def test_a_direct_room_from_before_the_first_start_is_still_answered_after_a_second(
    synapse: Synapse, database_url: str
) -> None:
    """The bot's account sat in a direct room (another client joined it and recorded it in
    ``m.direct``, as Element does) before branchbot ever ran; the person later opens a second
    direct room. Both are direct rooms, and each is answered in itself."""
    bot_user = synapse.register()
    bot = bot_user.user_id
    async with members(synapse, 1) as (mei,):
        created = await mei.client.room_create(is_direct=True, invite=[bot])
        assert isinstance(created, RoomCreateResponse), created
        first = created.room_id
        quoted = urllib.parse.quote
        synapse.request(
            "POST", f"/_matrix/client/v3/join/{quoted(first)}", {}, token=bot_user.access_token
        )
        synapse.request(
            "PUT",
            f"/_matrix/client/v3/user/{quoted(bot)}/account_data/m.direct",
            {mei.id: [first]},
            token=bot_user.access_token,
        )
        async with matrix_bot(synapse, bot_user, database_url):
            assert "/join" in body(await mei.ask(bot, first, "/help"))
            second = await mei.room(bot, direct=True)
            assert "/join" in body(await mei.ask(bot, second, "/help"))
            assert "/join" in body(await mei.ask(bot, first, "/help"))
            assert "assistant" in body(await mei.ask(bot, second, "/start"))
            # Answered as the direct room it is: /join is not sent elsewhere.
            joining = body(await mei.ask(bot, first, "/join"))
            assert "direct chat" not in joining and "code" in joining, joining
            await mei.say(first, "/cancel")


async def test_a_room_another_client_of_the_account_records_as_direct_is_answered_as_direct(
    synapse: Synapse, database_url: str
) -> None:
    """Someone marks an existing two-person room as direct from another client of the bot's
    account while branchbot runs: from then on it is a direct room like any other."""
    bot_user = synapse.register()
    bot = bot_user.user_id
    async with members(synapse, 1) as (mei,), matrix_bot(synapse, bot_user, database_url):
        room = await mei.room(bot, direct=False)
        assert "direct chat" in body(await mei.ask(bot, room, "/join"))
        synapse.request(
            "PUT",
            f"/_matrix/client/v3/user/{urllib.parse.quote(bot)}/account_data/m.direct",
            {mei.id: [room]},
            token=bot_user.access_token,
        )
        async with asyncio.timeout(10):
            while True:
                joining = body(await mei.ask(bot, room, "/join"))
                if "direct chat" not in joining:
                    break
                await asyncio.sleep(0.2)
        assert "code" in joining, joining
