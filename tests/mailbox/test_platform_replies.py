"""A platform reply answers a letter: a Telegram reply on the fake Bot API server and a Matrix
reply and thread on a real Synapse. The secretary replies to the letter's message, the writer
of a signed letter replies to the answer, and a reply to anything else is not taken for one.
SQLite only, as the other platform flows (the store work is the same on any platform)."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from nio import UploadResponse

from tests.support.chat import code_in
from tests.support.mailbox import CASE, SETTINGS
from tests.support.matrix import Event, Member, body, matrix_bot, members
from tests.support.synapse import Synapse
from tests.support.telegram import FakeTelegram, Sent, TgUser, pressed, said, telegram_bot

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(200))
"""A photo's bytes as the fake server stores them (the mailbox keeps them as they are)."""


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/branchbot.db"


# -- Telegram ---------------------------------------------------------------------------------


def letter_in(fake: FakeTelegram, user: TgUser, needle: str) -> Sent:
    return next(s for s in reversed(fake.to(user.id)) if needle in s.text)


async def test_a_telegram_reply_answers_the_letter(fake: FakeTelegram, sqlite_url: str) -> None:
    boss, sam, mei = fake.user(1, "Boss"), fake.user(2, "Sam"), fake.user(3, "Mei")
    async with telegram_bot(sqlite_url, fake, **SETTINGS) as bot:
        await said(bot, fake, boss, "/branch add Main")
        for user, role in ((sam, "secretary"), (mei, "member")):
            code = code_in(await said(bot, fake, boss, f"/invite Main {role}"))
            assert "Main" in await said(bot, fake, user, f"/join {code}")
        await said(bot, fake, mei, "/mail")
        await pressed(bot, fake, mei, "With my name")
        await pressed(bot, fake, mei, "Work")
        await said(bot, fake, mei, "The lamp in the reading room is broken.")
        before = len(fake.to(mei.id))
        fake.send_document(mei, b"%PDF-1.7\n%%EOF\n", "minutes.pdf", "application/pdf")
        await fake.wait(lambda: len(fake.to(mei.id)) > before)
        await bot.idle()  # fetched by the adapter, since any file is; refused by the letter
        assert "Only images can go with a letter" in fake.to(mei.id)[-1].text
        before = len(fake.to(mei.id))
        fake.send_photo(mei, PHOTO)  # fetched with getFile by the adapter, into the letter
        await fake.wait(lambda: len(fake.to(mei.id)) > before)
        await bot.idle()
        assert "Image added" in fake.to(mei.id)[-1].text
        assert "images: 1" in await pressed(bot, fake, mei, "Done")
        sent = await pressed(bot, fake, mei, "Send")
        match = CASE.search(sent)
        assert match, sent
        number = match.group(0)
        await fake.wait(lambda: any(number in s.text for s in fake.to(sam.id)))
        letter = letter_in(fake, sam, number)
        await fake.wait(lambda: any(s.photo for s in fake.to(sam.id)))
        photos = [p["file_id"] for f, p in fake.calls if f == "getFile" and "photo" in p["file_id"]]
        assert len(photos) == 1  # the largest size only

        answer = await said(bot, fake, sam, "We fix it tomorrow.", reply_to=letter)
        assert "was sent to its writer" in answer
        await fake.wait(lambda: any("We fix it tomorrow." in s.text for s in fake.to(mei.id)))
        to_mei = letter_in(fake, mei, "We fix it tomorrow.")

        assert "Your follow-up" in await said(bot, fake, mei, "Thank you!", reply_to=to_mei)
        await fake.wait(lambda: any("Thank you!" in s.text for s in fake.to(sam.id)))

        # A reply to another of the bot's messages is no answer to anything.
        help_message = letter_in(fake, sam, "was sent to its writer")
        assert "I only respond to commands" in await said(
            bot, fake, sam, "And this?", reply_to=help_message
        )


# -- Matrix -----------------------------------------------------------------------------------


async def test_a_matrix_reply_and_a_thread_answer_the_letter(
    synapse: Synapse, sqlite_url: str
) -> None:
    bot_user = synapse.register()
    async with members(synapse, 3) as (boss, sam, mei):
        options = {"admins": [f"matrix:{boss.id}"], **SETTINGS}
        async with matrix_bot(synapse, bot_user, sqlite_url, **options) as app:
            bot = bot_user.user_id
            rooms = {m.id: await m.room(bot, direct=True) for m in (boss, sam, mei)}

            async def say(member: Member, text: str, **relates: object) -> str:
                room = rooms[member.id]
                before = len(member.from_bot(bot, room))
                await member.say(room, text, **relates)
                await member.wait(lambda r, e: len(member.from_bot(bot, room)) > before)
                async with asyncio.timeout(10):
                    await app.idle()
                await asyncio.sleep(0.2)
                return "\n".join(body(e) for e in member.from_bot(bot, room)[before:])

            def numbered(member: Member, label: str) -> str:
                events = member.from_bot(bot, rooms[member.id])
                for event in reversed(events):
                    for n, shown in re.findall(r"^\s*(\d+)\. (.+)$", body(event), re.MULTILINE):
                        if label in shown:
                            return str(n)
                raise AssertionError(label)

            await say(boss, "/branch add Main")
            for member, role in ((sam, "secretary"), (mei, "member")):
                code = code_in(await say(boss, f"/invite Main {role}"))
                assert "Main" in await say(member, f"/join {code}")
            await say(mei, "/mail")
            await say(mei, numbered(mei, "With my name"))
            await say(mei, numbered(mei, "Work"))
            await say(mei, "The heating is off in the stacks.")
            uploaded, _keys = await mei.client.upload(
                io.BytesIO(PHOTO), content_type="image/jpeg", filesize=len(PHOTO)
            )
            assert isinstance(uploaded, UploadResponse), uploaded
            image = {
                "msgtype": "m.image",
                "body": "thermometer.jpg",
                "url": uploaded.content_uri,
                "info": {"mimetype": "image/jpeg", "size": len(PHOTO)},
            }
            pdf, _keys = await mei.client.upload(
                io.BytesIO(b"%PDF-1.7\n"), content_type="application/pdf", filesize=9
            )
            assert isinstance(pdf, UploadResponse), pdf
            minutes = {
                "msgtype": "m.file",
                "body": "minutes.pdf",
                "url": pdf.content_uri,
                "info": {"mimetype": "application/pdf", "size": 9},
            }
            before = len(mei.from_bot(bot, rooms[mei.id]))
            await mei.send(rooms[mei.id], minutes)  # fetched, as any file; not for a letter
            await mei.wait(lambda r, e: len(mei.from_bot(bot, rooms[mei.id])) > before)
            refused = body(mei.from_bot(bot, rooms[mei.id])[before])
            assert "Only images can go with a letter" in refused, refused
            before = len(mei.from_bot(bot, rooms[mei.id]))
            await mei.send(rooms[mei.id], image)
            added = await mei.wait(lambda r, e: len(mei.from_bot(bot, rooms[mei.id])) > before)
            assert "Image added" in body(mei.from_bot(bot, rooms[mei.id])[before]), added
            await say(mei, numbered(mei, "Done"))
            sent = await say(mei, numbered(mei, "Send"))
            match = CASE.search(sent)
            assert match, sent
            number = match.group(0)
            letter: Event = await sam.wait(
                lambda r, e: number in body(e) and e.get("sender") == bot
            )

            reply = {"m.in_reply_to": {"event_id": letter["event_id"]}}
            assert "was sent to its writer" in await say(sam, "> quoted\n\nOn it.", **reply)
            await mei.wait(lambda r, e: "On it." in body(e) and e.get("sender") == bot)

            thread = {
                "rel_type": "m.thread",
                "event_id": letter["event_id"],
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": letter["event_id"]},
            }
            assert "was sent to its writer" in await say(sam, "Fixed now.", **thread)
            await mei.wait(lambda r, e: "Fixed now." in body(e) and e.get("sender") == bot)
