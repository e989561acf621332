"""A real ``branchbot run`` process is SIGKILLed in the middle of a 5,000-recipient broadcast
and started again: every recipient gets the notice, each under exactly one message id (a
resent in-flight message carries the same id, which is the receiver's idempotency key). It is
killed once while sending, and once while the recipients are still being put into the outbox
chunk by chunk (small chunks, killed at the first delivery)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, insert, select

from bot.feature import migrations
from dialogs import FEATURES
from store.broadcast_tables import Broadcast, BroadcastRecipient
from store.clock import SYSTEM_CLOCK
from store.db import Database
from store.models import Branch, Identity, Member
from tests.support.ports import free_port
from tests.support.webhook import SECRET

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 5000


async def seed(url: str) -> None:
    """An organisation of 5,000 members who all talked to the bot, and a confirmed broadcast."""
    db = Database(url, migrations=migrations(FEATURES))
    await db.upgrade()
    async with db.session() as session:
        branch = Branch(name="Main", key="main", created_at=SYSTEM_CLOCK.now())
        session.add(branch)
        await session.flush()
        await session.execute(
            insert(Member),
            [
                {
                    "id": i,
                    "display_name": f"m{i}",
                    "branch_id": branch.id,
                    "created_at": SYSTEM_CLOCK.now(),
                }
                for i in range(1, RECIPIENTS + 1)
            ],
        )
        await session.execute(
            insert(Identity),
            [
                {
                    "platform": "webhook:lab",
                    "user_id": f"u{i}",
                    "member_id": i,
                    "display_name": f"m{i}",
                    "direct_chat_id": f"dm-u{i}",
                }
                for i in range(1, RECIPIENTS + 1)
            ],
        )
        session.add(
            Broadcast(
                report_to={
                    "platform": "webhook:lab",
                    "chat_id": "dm-boss",
                    "direct": True,
                    "user_id": "boss",
                    "locale": "en",
                },
                text=[["t", "Meeting tonight"]],
                category="meeting",
                branch_ids={"all": True},
                rooms=True,
                members=True,
                ack=True,
                created_at=SYSTEM_CLOCK.now(),
            )
        )
    await db.dispose()


async def still_queued(url: str) -> int:
    """Recipients not yet put into the outbox."""
    db = Database(url, migrations=migrations(FEATURES))
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).where(BroadcastRecipient.status == "queued")
        )
    await db.dispose()
    return int(count or 0)


def start(config: Path) -> subprocess.Popen[bytes]:
    """``branchbot run``; its log goes to a file (a pipe nobody reads would fill and block it)."""
    with (config.parent / "bot.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def log_tail(config: Path) -> str:
    return (config.parent / "bot.log").read_text(errors="replace")[-3000:]


@pytest.mark.parametrize(
    ("chunk", "kill_after"),
    [(500, 1500), (10, 1)],
    ids=["while-sending", "while-expanding"],
)
async def test_sigkill_mid_broadcast_then_restart(
    tmp_path: Path, chunk: int, kill_after: int
) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    await seed(url)
    received: dict[str, set[str]] = defaultdict(set)
    deliveries: list[tuple[str, str]] = []
    arrived = asyncio.Event()
    target = asyncio.Event()
    reports: list[str] = []

    async def inbox(request: web.Request) -> web.Response:
        body: dict[str, Any] = json.loads(await request.read())
        chat = body["chat"]["id"]
        if "Meeting tonight" in body["text"]:
            received[chat].add(body["id"])
            deliveries.append((chat, body["id"]))
            if len(deliveries) >= kill_after:
                arrived.set()
        if chat == "dm-boss":
            reports.append(body["text"])
            if "delivered" in body["text"]:
                target.set()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    callback = f"http://127.0.0.1:{runner.addresses[0][1]}/inbox"
    config = tmp_path / "bot.toml"
    config.write_text(
        f"""
database_url = "{url}"
default_locale = "en"
[http]
host = "127.0.0.1"
port = {free_port()}
[broadcast]
chunk = {chunk}
[webhook]
channels = [{{ name = "lab", secret = "{SECRET}", callback_url = "{callback}" }}]
"""
    )
    first = start(config)
    try:
        try:
            async with asyncio.timeout(60):
                await arrived.wait()
        except TimeoutError:
            raise AssertionError(f"the broadcast did not start:\n{log_tail(config)}") from None
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = len(deliveries)
        assert killed_at < RECIPIENTS, "the broadcast finished before the kill"
        if chunk < RECIPIENTS // 10:
            assert await still_queued(url), "the kill came after the last chunk was queued"
        second = start(config)
        try:
            try:
                async with asyncio.timeout(90):
                    await target.wait()
            except TimeoutError:
                raise AssertionError(f"no report after the restart:\n{log_tail(config)}") from None
            assert f"{RECIPIENTS} delivered, 0 unreachable" in reports[-1]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        await runner.cleanup()

    assert len(received) == RECIPIENTS, "somebody was missed"
    twice = [chat for chat, ids in received.items() if len(ids) != 1]
    assert twice == [], "somebody got two different messages"
    # Rows sent whose outcome was not yet flushed when the process died are sent again, under
    # the same id: the receiver's idempotency key makes them harmless, and nobody gets more
    # than that one replay.
    per_chat: defaultdict[str, int] = defaultdict(int)
    for chat, _id in deliveries:
        per_chat[chat] += 1
    assert max(per_chat.values()) <= 2
    db = Database(url, migrations=migrations(FEATURES))
    async with db.session() as session:
        status = await session.scalar(select(Broadcast.status))
    await db.dispose()
    assert status == "done"
