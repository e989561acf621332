"""Files a person sends the bot in a direct chat, of any type, reach the core with their bytes:
a Telegram ``document`` through the real adapter on the fake Bot API server (``getFile``, then
the download, up to the 20 MiB a bot may download), and a Matrix ``m.file`` on a real Synapse.
Files over the limit, and files in groups, are not fetched."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from nio import UploadResponse

from adapters.matrix import MatrixAdapter, MatrixSettings, Notices
from adapters.telegram import TelegramAdapter
from bot.events import MAX_FILE, MAX_IMAGE, Attachment, Incoming
from bot.markup import Markup
from bot.messages import Accepted
from tests.support.matrix import members
from tests.support.synapse import Synapse
from tests.support.telegram import FakeTelegram

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
"""A PDF's bytes, binary in the middle (every byte value), as minutes from a scanner are."""
GROUP = -1009876543210


@dataclass
class Collector:
    events: list[Incoming] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, event: Incoming) -> Accepted:
        self.events.append(event)
        self.arrived.set()
        return Accepted()

    async def until(self, found: Callable[[Incoming], bool], timeout: float = 15.0) -> Incoming:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if found(event):
                        return event
                self.arrived.clear()
                await self.arrived.wait()


# -- Telegram ---------------------------------------------------------------------------------


@pytest.fixture
async def telegram(fake: FakeTelegram) -> AsyncIterator[Collector]:
    adapter = TelegramAdapter(fake.token, api_url=fake.url, poll_timeout=1)
    collector = Collector()
    await adapter.start(collector)
    try:
        yield collector
    finally:
        await adapter.stop()


async def then_text(fake: FakeTelegram, collector: Collector, user_id: int) -> None:
    """Wait until everything sent before has been read: a text sent after it has arrived."""
    user = fake.users[user_id]
    fake.say(user, "and that was all")
    await collector.until(lambda e: e.text == "and that was all")


def fetched(fake: FakeTelegram) -> list[str]:
    return [str(params["file_id"]) for method, params in fake.calls if method == "getFile"]


async def test_a_pdf_in_a_private_chat_arrives_with_its_bytes_name_and_type(
    fake: FakeTelegram, telegram: Collector
) -> None:
    mei = fake.user(3, "Mei")
    fake.say(mei, "/start")
    fake.send_document(mei, PDF, "minutes-2026-11.pdf", "application/pdf", caption="November")
    event = await telegram.until(lambda e: e.attachment is not None)
    assert event.text == "November" and event.chat.direct
    assert event.attachment == Attachment("minutes-2026-11.pdf", "application/pdf", PDF)
    assert event.attachment.data == PDF

    # No name, no type, no caption: still taken, named after the message.
    sent = fake.send_document(mei, b"PK\x03\x04 xlsx", None, None)
    bare = await telegram.until(lambda e: e.event_id.endswith(f":{sent['message']['message_id']}"))
    assert bare.attachment is not None and bare.text == ""
    assert (bare.attachment.name, bare.attachment.mime, bare.attachment.data) == (
        f"file-{sent['message']['message_id']}",
        "application/octet-stream",
        b"PK\x03\x04 xlsx",
    )


async def test_a_document_up_to_twenty_mib_is_fetched_and_a_larger_one_is_not(
    fake: FakeTelegram, telegram: Collector
) -> None:
    mei = fake.user(3, "Mei")
    fake.say(mei, "/start")
    full = b"%PDF" + b"\x00" * (MAX_FILE - 4)  # over MAX_IMAGE, at the Bot API's limit
    assert MAX_FILE > MAX_IMAGE
    fake.send_document(mei, full, "scan.pdf", "application/pdf")
    event = await telegram.until(lambda e: e.attachment is not None)
    assert event.attachment is not None and event.attachment.data == full

    over = full + b"\x00"
    # The message says it is too big: getFile is not even asked; the caption still goes in.
    told = fake.send_document(mei, over, "big.pdf", "application/pdf", caption="too big")
    # It says nothing of its size: getFile answers 400 "file is too big", nothing is fetched,
    # and without a caption nothing is left to hand in.
    quiet = fake.send_document(mei, over, "big2.pdf", "application/pdf", tell_size=False)
    await then_text(fake, telegram, mei.id)
    captioned = next(e for e in telegram.events if e.text == "too big")
    assert captioned.attachment is None
    told_id = told["message"]["document"]["file_id"]
    quiet_id = quiet["message"]["document"]["file_id"]
    assert told_id not in fetched(fake) and fetched(fake).count(quiet_id) == 1
    assert told_id not in fake.downloaded and quiet_id not in fake.downloaded
    assert ("getFile", None, 400, "Bad Request: file is too big") in fake.rejected
    assert not any(
        e.event_id.endswith(f":{quiet['message']['message_id']}") for e in telegram.events
    )
    assert [e.attachment for e in telegram.events if e.attachment is not None] == [event.attachment]


async def test_a_document_in_a_group_is_not_fetched(
    fake: FakeTelegram, telegram: Collector
) -> None:
    mei = fake.user(3, "Mei")
    group = fake.group(GROUP, "Branch Main")
    fake.send_document(
        mei, PDF, "minutes.pdf", "application/pdf", caption="our minutes", chat=group
    )
    fake.send_document(mei, PDF, "quiet.pdf", "application/pdf", chat=group)
    fake.say(mei, "/start")
    await then_text(fake, telegram, mei.id)
    in_group = [e for e in telegram.events if not e.chat.direct]
    assert [(e.text, e.attachment) for e in in_group] == [("our minutes", None)]
    assert fetched(fake) == [] and fake.downloaded == []


# -- Matrix -----------------------------------------------------------------------------------


@dataclass
class Values:
    data: dict[str, str] = field(default_factory=dict)

    async def get(self, name: str) -> str | None:
        return self.data.get(name)

    async def put(self, name: str, value: str) -> None:
        self.data[name] = value


async def test_a_matrix_file_in_a_direct_chat_arrives_with_its_bytes(synapse: Synapse) -> None:
    user = synapse.register()
    settings = MatrixSettings(synapse.url, user.user_id, password=user.password, max_backoff=1.0)
    notices = Notices(Markup.literal("encrypted"), Markup.literal("unread"))
    matrix = MatrixAdapter(settings, Values(), notices)
    collector = Collector()
    await matrix.start(collector)
    await asyncio.wait_for(matrix.ready.wait(), 10)
    bot = user.user_id
    try:
        async with members(synapse, 1) as (mei,):
            uploaded, _keys = await mei.client.upload(
                io.BytesIO(PDF), content_type="application/pdf", filesize=len(PDF)
            )
            assert isinstance(uploaded, UploadResponse), uploaded
            content = {
                "msgtype": "m.file",
                "body": "minutes-2026-11.pdf",
                "url": uploaded.content_uri,
                "info": {"mimetype": "application/pdf", "size": len(PDF)},
            }
            group = await mei.room(bot, direct=False)
            await mei.send(group, {**content, "body": "not for the bot.pdf"})
            dm = await mei.room(bot, direct=True)
            await mei.send(dm, content)
            event = await collector.until(lambda e: e.attachment is not None)
            assert event.chat.id == dm and event.chat.direct and event.text == ""
            assert event.attachment == Attachment("minutes-2026-11.pdf", "application/pdf", PDF)
            assert event.attachment.data == PDF
            assert all(e.chat.id != group for e in collector.events)
    finally:
        await matrix.stop()
