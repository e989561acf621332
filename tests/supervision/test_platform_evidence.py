"""Evidence from the platforms that only lend files: a Telegram photo and PDF (file ids,
fetched with getFile) and a Matrix image (an mxc URL on a real Synapse) are downloaded and
kept in the evidence store, and the report holds them; ``/evidence show`` sends them again
(the PDF as a Telegram document). SQLite only, as the other platform flows."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nio import UploadResponse
from sqlalchemy import select

from bot.app import BranchBot
from dialogs.supervision.evidence import FileStore
from dialogs.supervision.indicators import SHIPPED, load
from dialogs.supervision.repository import Supervision
from dialogs.supervision.tables import EvidenceFile, Report
from store.repos import Repositories
from tests.support.chat import code_in
from tests.support.matrix import Member, body, matrix_bot, members
from tests.support.synapse import Synapse
from tests.support.telegram import FakeTelegram, pressed, said, telegram_bot

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 3
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/branchbot.db"


async def theme_day(bot: BranchBot, key: str = "theme-day") -> None:
    """The theme day indicator (or another monthly one), imported today: only this month's
    period is open."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    indicators = [i for i in load(SHIPPED).indicators if i.key == key]
    async with bot.db.session() as session:
        await Repositories(session).get(Supervision).import_indicators(indicators, today)


async def kept(bot: BranchBot, files: Path) -> list[EvidenceFile]:
    async with bot.db.session() as session:
        report = await session.scalar(select(Report))
        assert report is not None and "Our theme day" in report.text
        rows = list(await session.scalars(select(EvidenceFile)))
    for row in rows:
        assert await FileStore(files).read(row.sha256) == (
            PDF if row.name.endswith("pdf") else PHOTO
        )
    return rows


async def test_a_telegram_photo_and_file_are_kept_as_evidence_and_sent_again(
    fake: FakeTelegram, sqlite_url: str, tmp_path: Path
) -> None:
    boss, sam = fake.user(1, "Boss"), fake.user(2, "Sam")
    files = tmp_path / "evidence"
    async with telegram_bot(sqlite_url, fake, supervision={"files_dir": str(files)}) as bot:
        await said(bot, fake, boss, "/branch add Main")
        code = code_in(await said(bot, fake, boss, "/invite Main secretary"))
        await said(bot, fake, sam, f"/join {code}")
        await theme_day(bot, "committee-meeting")  # it takes files too
        await said(bot, fake, sam, "/report")
        assert "Send the evidence" in await pressed(bot, fake, sam, "Branch committee meeting")
        before = len(fake.to(sam.id))
        fake.send_photo(sam, PHOTO, caption="Our theme day at the museum.")
        await fake.wait(lambda: len(fake.to(sam.id)) > before)
        await bot.idle()
        assert "File added" in fake.to(sam.id)[-1].text
        before = len(fake.to(sam.id))
        fake.send_document(sam, PDF, "签到表.pdf", "application/pdf")
        await fake.wait(lambda: len(fake.to(sam.id)) > before)
        await bot.idle()
        assert "File added" in fake.to(sam.id)[-1].text
        assert "Your report" in await pressed(bot, fake, sam, "Done")
        assert "Reported: Branch committee meeting" in await pressed(bot, fake, sam, "Submit")
        rows = sorted(await kept(bot, files), key=lambda row: row.mime)
        assert [(row.mime, row.size) for row in rows] == [
            ("application/pdf", len(PDF)),
            ("image/jpeg", len(PHOTO)),
        ]

        # Found again by the admin: the photo comes back as a photo, the PDF as a file.
        found = await said(bot, fake, boss, "/evidence search museum")
        number = re.search(r"E\d+", found)
        assert number is not None, found
        before = len(fake.to(boss.id))
        await said(bot, fake, boss, f"/evidence show {number.group()}")
        await fake.wait(lambda: any(s.document for s in fake.to(boss.id)[before:]))
        shown = fake.to(boss.id)[before:]
        assert [s.document for s in shown if s.document] == [("签到表.pdf", PDF)]
        assert any(s.photo for s in shown)


async def test_a_matrix_image_is_kept_as_evidence(
    synapse: Synapse, sqlite_url: str, tmp_path: Path
) -> None:
    bot_user = synapse.register()
    files = tmp_path / "evidence"
    async with members(synapse, 2) as (boss, sam):
        options = {"admins": [f"matrix:{boss.id}"], "supervision": {"files_dir": str(files)}}
        async with matrix_bot(synapse, bot_user, sqlite_url, **options) as app:
            bot = bot_user.user_id
            rooms = {m.id: await m.room(bot, direct=True) for m in (boss, sam)}

            async def say(member: Member, text: str) -> str:
                room = rooms[member.id]
                before = len(member.from_bot(bot, room))
                await member.say(room, text)
                await member.wait(lambda r, e: len(member.from_bot(bot, room)) > before)
                async with asyncio.timeout(10):
                    await app.idle()
                await asyncio.sleep(0.2)
                return "\n".join(body(e) for e in member.from_bot(bot, room)[before:])

            def numbered(member: Member, label: str) -> str:
                for event in reversed(member.from_bot(bot, rooms[member.id])):
                    for n, shown in re.findall(r"^\s*(\d+)\. (.+)$", body(event), re.MULTILINE):
                        if label in shown:
                            return str(n)
                raise AssertionError(label)

            await say(boss, "/branch add Main")
            code = code_in(await say(boss, "/invite Main secretary"))
            await say(sam, f"/join {code}")
            await theme_day(app)
            await say(sam, "/report")
            assert "Send the evidence" in await say(sam, numbered(sam, "Theme day"))
            assert "Added" in await say(sam, "Our theme day at the museum.")
            uploaded, _keys = await sam.client.upload(
                io.BytesIO(PHOTO), content_type="image/jpeg", filesize=len(PHOTO)
            )
            assert isinstance(uploaded, UploadResponse), uploaded
            image = {
                "msgtype": "m.image",
                "body": "museum.jpg",
                "url": uploaded.content_uri,
                "info": {"mimetype": "image/jpeg", "size": len(PHOTO)},
            }
            before = len(sam.from_bot(bot, rooms[sam.id]))
            await sam.send(rooms[sam.id], image)
            await sam.wait(lambda r, e: len(sam.from_bot(bot, rooms[sam.id])) > before)
            assert "File added" in body(sam.from_bot(bot, rooms[sam.id])[before])
            assert "Your report" in await say(sam, numbered(sam, "Done"))
            assert "Reported: Theme day" in await say(sam, numbered(sam, "Submit"))
            rows = await kept(app, files)
            assert [r.name for r in rows] == ["museum.jpg"]
