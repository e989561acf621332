"""The anonymity attack: an anonymous letter's whole life, then every path an attacker has is
tried — every message anyone but the writer got, every command a secretary and an admin has,
the database row by row (as a copy of it holds it), the log records, the metrics, and the
relay row without its key. None may tell who wrote it (docs/privacy.md#the-secretary-mailbox).
"""

from __future__ import annotations

import hashlib
import logging

import pytest
from prometheus_client import generate_latest
from sqlalchemy import select, text

from dialogs.mailbox.relay import Relay
from dialogs.mailbox.tables import Block, Entry, Letter, LetterFile, Quota
from dialogs.mailbox.tables import Relay as RelayRow
from store.clock import ManualClock, as_utc
from store.models import Identity, OutboxRow, SeenEvent
from tests.support.mailbox import SETTINGS, asking, organisation, write
from tests.support.webhook import Message, button, lab_bot, to, until

SECRET = "Someone in the reading room takes the new books home."


def not_to_writer(messages: list[Message]) -> list[Message]:
    return [m for m in messages if not to("kai")(m)]


async def test_nothing_tells_who_wrote_an_anonymous_letter(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the bot's level; a driver at DEBUG logs every value
    clock = ManualClock()
    async with lab_bot(database_url, clock=clock, **SETTINGS) as lab:
        await organisation(lab)
        before = len(lab.receiver.messages)
        started = clock.advance(seconds=1)
        number = await write(lab, "kai", [SECRET, "It happens on Fridays."], anonymous=True)
        written = clock.now()

        clock.advance(minutes=2)
        posted = await until(lab, lambda m: to("sam")(m) and number in m["text"])
        assert "anonymous writer" in posted["text"] and SECRET in posted["text"]
        await lab.say("sam", f"/reply {number} Thank you; which shelf?")
        await until(lab, lambda m: to("kai")(m) and "which shelf" in m["text"])
        await lab.say("kai", f"/reply {number} The history shelf.")
        clock.advance(minutes=2)
        await until(lab, lambda m: to("sam")(m) and "The history shelf." in m["text"])
        await lab.say("kai", f"/mail rate {number} 5")
        await lab.say("kai", f"/mail close {number}")
        await lab.say("kai", "/mail list")
        await lab.say("kai", f"/mail show {number}")
        clock.advance(minutes=2)
        await until(lab, lambda m: to("sam")(m) and "was closed by its writer" in m["text"])

        # Every command a secretary and an admin has, on this letter.
        for user, command in [
            ("sam", f"/mail show {number}"),
            ("sam", "/inbox"),
            ("sam", "/mail stats"),
            ("sam", f"/mail block {number} 10"),
            ("boss", f"/mail show {number}"),
            ("boss", "/inbox"),
            ("boss", "/mail stats"),
            ("boss", "/mail blocks"),
            ("boss", "/privacy"),
        ]:
            await lab.ask(user, command)
        answers = await lab.ask("sam", f"/mail pass {number} For the admins.")
        if any(a.get("choices") for a in answers):
            await lab.ask("sam", choice=button(asking(answers), "The admins"))

        # 1. No message to anyone else names the writer.
        for message in not_to_writer(lab.receiver.messages[before:]):
            if number in message["text"] or SECRET in message["text"]:
                assert "Kai" not in message["text"] and "kai" not in message["text"], message

        async with lab.bot.db.session() as session:
            kai = await session.scalar(select(Identity.member_id).where(Identity.user_id == "kai"))
            assert kai is not None
            # 2. No column of the mailbox's tables holds the writer's member id.
            for letter in await session.scalars(select(Letter)):
                assert letter.writer_id is None and letter.assignee_id != kai
            for entry in await session.scalars(select(Entry)):
                assert entry.author_id != kai
                if entry.author == "writer":
                    assert entry.author_id is None and entry.at is None
            unkeyed = hashlib.sha256(f"quota\x1f{kai}".encode()).hexdigest()
            key = Relay(bytes.fromhex(SETTINGS["mailbox"]["relay_key"]))
            for block in await session.scalars(select(Block)):
                assert block.by_id != kai  # the sealed member is random bytes: checked by opening
                assert key.open(-block.id, block.sealed) == kai  # only the relay opens it
                assert Relay(bytes(32)).open(-block.id, block.sealed) is None
            for quota in await session.scalars(select(Quota)):
                assert quota.token != unkeyed and f":{kai}" not in quota.token
            for file in await session.scalars(select(LetterFile)):
                assert SECRET.encode() not in file.data
            # 3. The relay row opens only with the key, and no other key opens it.
            sealed = list(await session.execute(select(RelayRow.letter_id, RelayRow.sealed)))
            assert len(sealed) == 1
            assert Relay(bytes(32)).open(sealed[0][0], sealed[0][1]) is None
            assert (
                Relay(bytes.fromhex(SETTINGS["mailbox"]["relay_key"])).open(
                    sealed[0][0] + 1, sealed[0][1]
                )
                is None
            )
            # 4. No message to the writer is left in the outbox since they began to write.
            left = list(
                await session.scalars(
                    select(OutboxRow).where(
                        OutboxRow.chat_id == "dm-kai", OutboxRow.created_at >= started
                    )
                )
            )
            assert left == [], [row.payload for row in left]
            # 4b. No event of the letter being written left its id in seen_events (only the
            # writer's events happened at that moment on this clock).
            stamps = await session.scalars(select(SeenEvent.seen_at))
            assert not [s for s in stamps if as_utc(s) == started]
            # 5. What reached the secretaries is stamped with the release slot, after the
            # writer's last event of the letter, never with the moment of writing.
            about = [
                row
                for row in await session.scalars(
                    select(OutboxRow).where(OutboxRow.chat_id == "dm-sam")
                )
                if number in str(row.payload) and SECRET in str(row.payload)
            ]
            assert about and all(as_utc(row.created_at) > written for row in about)
            # 6. Nothing else in the database mentions the letter beside the writer's account.
            rows = await session.execute(text("SELECT chat_id, payload FROM outbox"))
            for chat_id, payload in rows:
                if number in str(payload):
                    assert chat_id != "dm-kai"
            conversations = await session.execute(text("SELECT user_id, data FROM conversations"))
            for user_id, data in conversations:
                assert SECRET not in str(data), user_id

    # 7. The log records and the metrics name neither the writer beside the case nor the text.
    for record in caplog.records:
        message = record.getMessage()
        assert SECRET not in message
        if number in message:
            assert "kai" not in message.lower(), message
    exposition = generate_latest(lab.bot.metrics.registry).decode()
    assert number not in exposition and "kai" not in exposition


async def test_a_draft_is_sealed_while_it_is_written(database_url: str) -> None:
    """A copy of the database taken while a letter is written shows that a conversation runs,
    not what is in it."""
    async with lab_bot(database_url, **SETTINGS) as lab:
        await organisation(lab)
        answers = await lab.ask("kai", "/mail")
        answers = await lab.ask("kai", choice=button(asking(answers), "Anonymously"))
        answers = await lab.ask("kai", choice=button(asking(answers), "Complaint"))
        await lab.ask("kai", SECRET)
        async with lab.bot.db.session() as session:
            rows = list(await session.execute(text("SELECT data FROM conversations")))
        assert rows and all(
            SECRET not in str(data) and "anonymous" not in str(data) for (data,) in rows
        )
        assert all("complaint" not in str(data) for (data,) in rows)
