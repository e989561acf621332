"""Whole flows through python-telegram-bot and the fake Bot API server, both directions.

Telegram's real one-message-a-second gap per chat makes these flows take seconds each, so the
flows whose store work is the same as on any platform run on SQLite only (``sqlite_url``); the
two that run Telegram-specific store writes (reachability marks, redelivery after a restart)
run on PostgreSQL as well (``database_url``).
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from store.models import Identity, OutboxRow, Room
from tests.support.telegram import (
    BOT_USERNAME,
    FakeTelegram,
    TgChat,
    TgUser,
    telegram_bot,
)

CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{8})\b")
GROUP = -1001234567890


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/branchbot.db"


async def say(fake: FakeTelegram, user: TgUser, text: str, **where: object) -> str:
    """``user`` writes; the bot's answer (text of the first new message in that chat)."""
    chat = where.get("chat")
    chat_id = chat.id if chat is not None else user.id  # type: ignore[attr-defined]
    before = len(fake.to(chat_id))
    fake.say(user, text, **where)  # type: ignore[arg-type]
    return (await fake.reply(chat_id, before)).text


async def test_onboarding_from_an_invite_deep_link(fake: FakeTelegram, sqlite_url: str) -> None:
    boss, mei = fake.user(1, "Boss"), fake.user(2, "Mei")
    async with telegram_bot(sqlite_url, fake):
        assert "created" in await say(fake, boss, "/branch add Main Library")
        invite = await say(fake, boss, "/invite Main Library member")
        link = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=(\w+)", invite)
        assert link, invite
        html = fake.to(boss.id)[-1].raw
        assert f'<a href="https://t.me/{BOT_USERNAME}?start={link.group(1)}">' in html
        # Opening the link sends /start <payload> in the new private chat.
        welcome = await say(fake, mei, f"/start {link.group(1)}")
        assert "Welcome to Main Library" in welcome
        assert "Branch: Main Library" in await say(fake, mei, "/me")


async def test_menus_match_help(fake: FakeTelegram, sqlite_url: str) -> None:
    boss, mei = fake.user(1, "Boss"), fake.user(5, "Mei")
    async with telegram_bot(sqlite_url, fake):
        await say(fake, boss, "/branch add Main Library")
        code = CODE.search(await say(fake, boss, "/invite Main Library member"))
        assert code
        assert "Main Library" in await say(fake, mei, f"/join {code.group(1)}")
        help_text = await say(fake, mei, "/help")
    private = {c["command"] for c in fake.commands[("all_private_chats", "en")]}
    assert {"help", "join", "me", "lang", "cancel"} <= private
    # A member's /help lists every command of the private-chat menu.
    assert [name for name in private if f"/{name}" not in help_text] == []
    assert "bind" not in private and "branch" not in private
    assert "bind" in {c["command"] for c in fake.commands[("all_chat_administrators", "en")]}
    chinese = {c["command"]: c["description"] for c in fake.commands[("all_private_chats", "zh")]}
    assert chinese["help"] != "what I can do for you"
    assert ("all_group_chats", "") in fake.commands
    # The configured admin (telegram:1) had not opened a chat at start: that menu is skipped.
    assert ("chat:1", "en") not in fake.commands


async def test_bind_in_a_group_with_the_bot_name(fake: FakeTelegram, sqlite_url: str) -> None:
    boss, sam = fake.user(1, "Boss"), fake.user(3, "Sam")
    group = fake.group(GROUP, "Library staff")
    async with telegram_bot(sqlite_url, fake) as bot:
        await say(fake, boss, "/branch add Main Library")
        code = CODE.search(await say(fake, boss, "/invite Main Library secretary"))
        assert code
        assert "secretary of" in await say(fake, sam, f"/join {code.group(1)}")
        bound = await say(fake, sam, f"/bind@{BOT_USERNAME} Main Library", chat=group)
        assert "now bound to Main Library" in bound
        # A command for another bot is not ours: nothing comes back, not even an error.
        fake.say(sam, "/help@some_other_bot", chat=group)
        assert "already bound" in await say(fake, sam, "/bind Main Library", chat=group)
        assert all("/help" not in s.text for s in fake.to(GROUP))
        # Removed from the group before answering: the room is marked, its binding kept.
        fake.say(sam, "/bind Main Library", chat=group)
        fake.kicked.add(GROUP)
        await fake.wait(lambda: any(r[1:3] == (GROUP, 403) for r in fake.rejected))
        await bot.idle()
        async with bot.db.session() as session:
            room = await session.scalar(select(Room))
            assert room is not None and "kicked" in (room.unreachable or "")
        fake.kicked.clear()  # added back: the next answer gets through and clears the mark
        assert "already bound" in await say(fake, sam, "/bind Main Library", chat=group)
        await bot.idle()
        async with bot.db.session() as session:
            room = await session.scalar(select(Room))
            assert room is not None and room.unreachable is None

    mei = fake.user(2, "Mei")
    async with telegram_bot(sqlite_url, fake):
        code = CODE.search(await say(fake, sam, "/invite Main Library member"))
        assert code
        # /join needs a private chat the bot cannot open: the group gets a button that opens
        # one and starts /join there. Only the command travels, never the code.
        assert "direct chat" in await say(fake, mei, f"/join {code.group(1)}", chat=group)
        (button,) = fake.to(GROUP)[-1].buttons[0]
        assert button["url"] == f"https://t.me/{BOT_USERNAME}?start=join"
        assert "send me your invite code" in await say(fake, mei, "/start join")
        assert "Welcome to Main Library" in await say(fake, mei, code.group(1))
        # A crafted link cannot run a command that is not direct-only, nor pass arguments.
        assert "not an invite code you can use" in await say(fake, mei, "/start cancel")
        assert "not an invite code you can use" in await say(fake, mei, "/start link-ABCD2345")


async def test_button_presses_are_answered(fake: FakeTelegram, sqlite_url: str) -> None:
    boss = fake.user(1, "Boss")
    async with telegram_bot(sqlite_url, fake):
        await say(fake, boss, "/branch add Library")
        await say(fake, boss, "/branch add Science")
        await say(fake, boss, "/invite")
        question = fake.to(boss.id)[-1]
        assert "Invite to which branch" in question.text and len(question.payloads()) == 2
        first_payloads = question.payloads()
        before = len(fake.to(boss.id))
        fake.press(boss, question, first_payloads[1])
        # The dialog moves on by rewriting its question, buttons included: no new message.
        await fake.wait(lambda: fake.edits == 1)
        assert len(fake.to(boss.id)) == before
        assert "Invite to Science as a member or a secretary" in question.text
        member = next(p for p in question.payloads() if p.endswith("member"))
        fake.press(boss, question, member)
        assert "Invite to Science as member" in (await fake.reply(boss.id, before)).text
        # A press on the first step's button (from a client that has not seen the edit yet)
        # is answered too, and changes nothing.
        question.buttons = [[{"text": "old", "callback_data": first_payloads[0]}]]
        before = len(fake.to(boss.id))
        fake.press(boss, question, first_payloads[0])
        assert "has already ended" in (await fake.reply(boss.id, before)).text
        await fake.wait(lambda: all(fake.callbacks.values()))
    assert len(fake.callbacks) == 3


async def test_a_command_in_a_forum_topic_is_answered_there(
    fake: FakeTelegram, sqlite_url: str
) -> None:
    mei = fake.user(2, "Mei")
    forum = fake.group(GROUP, "Library forum", forum=True)
    async with telegram_bot(sqlite_url, fake):
        fake.say(mei, "/help", chat=forum, thread=42)
        in_topic = await fake.reply(GROUP, 0)
        fake.say(mei, "/help", chat=forum)  # the forum's General topic has no thread id
        in_general = await fake.reply(GROUP, 1)
    assert in_topic.thread == 42 and "Commands you can use" in in_topic.text
    assert in_general.thread is None


async def test_webhook_mode(fake: FakeTelegram, sqlite_url: str) -> None:
    mei = fake.user(2, "Mei")
    async with telegram_bot(sqlite_url, fake, webhook=True) as bot:
        assert fake.webhook is not None
        url, secret = fake.webhook
        assert url.endswith("/telegram/hook") and secret
        assert "Commands you can use" in await say(fake, mei, "/help")
        assert not any(method == "getUpdates" for method, _ in fake.calls)
        async with aiohttp.ClientSession() as client:
            update = {"update_id": 1, "message": {"message_id": 1, "date": 0}}
            async with client.post(url, json=update) as response:
                assert response.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with client.post(url, json=update, headers=headers) as response:
                assert response.status == 401
            # Malformed but authentic: logged and dropped, answered 200 so it is not retried.
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            async with client.post(url, data=b"{nope", headers=headers) as response:
                assert response.status == 200
        assert "Commands you can use" in await say(fake, mei, "/help")
        assert bot.http.ready


async def test_restart_neither_reprocesses_nor_misses(
    fake: FakeTelegram, database_url: str
) -> None:
    mei = fake.user(2, "Mei")
    async with telegram_bot(database_url, fake):
        first = fake.say(mei, "/help")
        await fake.reply(mei.id, 0)
    assert fake.updates == []  # confirmed to Telegram on stop: a restart will not fetch it
    # Sent while the bot is down: must be answered after the restart.
    fake.say(mei, "/me")
    # A crash before Telegram saw our confirmation would redeliver an update: dropped by id.
    fake.push({"message": first["message"]})
    async with telegram_bot(database_url, fake):
        await fake.reply(mei.id, 1)
        fake.say(mei, "/cancel")
        await fake.reply(mei.id, 2)
    texts = [s.text for s in fake.to(mei.id)]
    assert len(texts) == 3, texts
    assert "Commands you can use" in texts[0]
    assert "Mei" in texts[1] and "nothing to stop" in texts[2]


async def test_a_user_who_blocked_the_bot(fake: FakeTelegram, database_url: str) -> None:
    boss, mei = fake.user(1, "Boss"), fake.user(2, "Mei")
    async with telegram_bot(database_url, fake) as bot:

        async def state() -> tuple[list[tuple[str, str | None]], str | None]:
            async with bot.db.session() as session:
                rows = (await session.execute(select(OutboxRow.status, OutboxRow.error))).all()
                mark = await session.scalar(
                    select(Identity.unreachable).where(Identity.user_id == str(mei.id))
                )
            return [(status, error) for status, error in rows], mark

        await say(fake, boss, "/branch add Main Library")
        code = CODE.search(await say(fake, boss, "/invite Main Library member"))
        assert code
        assert "Welcome" in await say(fake, mei, f"/join {code.group(1)}")
        fake.say(mei, "/me")
        fake.block(mei)  # before the answer goes out
        await fake.wait(lambda: any(code == 403 for _, _, code, _ in fake.rejected))
        await bot.idle()
        rows, mark = await state()
        assert rows[-1][0] == "unreachable" and "blocked" in (rows[-1][1] or "")
        assert mark is not None and "blocked" in mark
        # The membership stays; writing to the bot again unblocks it and clears the mark.
        assert "Branch: Main Library" in await say(fake, mei, "/me")
        await bot.idle()
        rows, mark = await state()
        assert rows[-1] == ("sent", None) and mark is None


async def test_a_group_upgraded_to_a_supergroup_keeps_its_room(
    fake: FakeTelegram, database_url: str
) -> None:
    """Telegram gives an upgraded group a new id: the binding and queued answers follow it."""
    boss, sam = fake.user(1, "Boss"), fake.user(3, "Sam")
    staff, readers = fake.group(-4001, "Library staff"), fake.group(-4002, "Readers")
    async with telegram_bot(database_url, fake) as bot:
        await say(fake, boss, "/branch add Main Library")
        code = CODE.search(await say(fake, boss, "/invite Main Library secretary"))
        assert code
        await say(fake, sam, f"/join {code.group(1)}")
        for group in (staff, readers):
            assert "now bound" in await say(fake, sam, "/bind Main Library", chat=group)
        # 1. The bot sees the service message in the old group: the binding moves at once.
        supergroup = fake.migrate(staff, -1004001, sam)
        assert "already bound" in await say(fake, sam, "/bind Main Library", chat=supergroup)
        # 2. The upgrade happens while an answer is queued (the service message never came):
        # Telegram refuses it with the new id, and it is sent there instead.
        fake.say(sam, "/bind Main Library", chat=readers)
        fake.chats[-1004002] = TgChat(-1004002, "supergroup", "Readers")
        fake.migrated[readers.id] = -1004002
        answer = await fake.reply(-1004002, 0)
        assert "already bound" in answer.text
        await bot.idle()
        async with bot.db.session() as session:
            rooms = set(await session.scalars(select(Room.chat_id)))
            moved = await session.scalar(select(OutboxRow.chat_id).order_by(OutboxRow.id.desc()))
    assert rooms == {"-1004001", "-1004002"} and moved == "-1004002"
    assert [r[1:3] for r in fake.rejected if r[0] == "sendMessage"] == [(readers.id, 400)]
    assert fake.to(readers.id)[-1].text.startswith("This room is now bound")


async def test_a_bank_sent_as_a_document_is_imported(fake: FakeTelegram, sqlite_url: str) -> None:
    """A question bank sent over Telegram as a file (a ``document``, which the adapter fetches
    whatever its type) reaches the bank import, and the bank worker answers in the chat."""
    boss = fake.user(1, "Boss")
    bank = b"id,question,A,B,answer\ncat-1,Which colour are the shelves?,Red,Blue,B\n"
    async with telegram_bot(sqlite_url, fake):
        before = len(fake.to(boss.id))
        fake.send_document(boss, bank, "shelves.csv", "text/csv")
        received = await fake.reply(boss.id, before)
        assert "Received shelves.csv" in received.text, received.text
        imported = await fake.reply(boss.id, before + 1, timeout=60)
        assert "Bank default imported: 1 new question" in imported.text, imported.text
        # Any other file is taken in too, and told apart by the features, not the adapter.
        before = len(fake.to(boss.id))
        fake.send_document(boss, b"%PDF-1.7\n", "minutes.pdf", "application/pdf")
        other = await fake.reply(boss.id, before)
        assert "I don't know what to do with minutes.pdf" in other.text, other.text
