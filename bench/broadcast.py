"""Benchmark a broadcast's fan-out against a receiver that enforces a platform's limits.

10,000 members get one notice through the webhook channel. The receiver allows 30 messages a
second overall and one a second per chat, and answers 429 with ``Retry-After`` beyond that.
The bot is told the same limits (``messages_per_minute = 1800``, ``chat_interval = 1``), as an
operator would configure them. Prints one JSON object: achieved rate as a fraction of the
limit, 429s, lost and duplicated messages. The baseline, measured in the same run against the
same receiver, is a bare client pacing POSTs at exactly the limit (no store, no outbox).

    .venv/bin/python bench/broadcast.py [--recipients 10000] [--baseline 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import defaultdict, deque
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert

from adapters.webhook import signed_headers
from bot.app import BranchBot, configure
from store.broadcast_tables import Broadcast
from store.clock import SYSTEM_CLOCK
from store.db import Database
from store.models import Branch, Identity, Member

SECRET = "bench-secret-0123456789"
RATE = 30
TEXT = "Meeting tonight"


class LimitedReceiver:
    """30 messages in any one second overall, one a second per chat; 429 beyond that."""

    def __init__(self) -> None:
        self.window: deque[float] = deque()
        self.last_in_chat: dict[str, float] = {}
        self.ids: dict[str, int] = defaultdict(int)
        self.chats: set[str] = set()
        self.per_chat: dict[str, int] = defaultdict(int)
        """Notices received per chat: a copy under another id is a duplicate too."""
        self.refused = 0
        self.first: float | None = None
        self.last = 0.0
        self.done = asyncio.Event()
        self.expected = 0

    async def inbox(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = json.loads(await request.read())
        moment = time.monotonic()
        while self.window and self.window[0] <= moment - 1.0:
            self.window.popleft()
        chat = body["chat"]["id"]
        gap = moment - self.last_in_chat.get(chat, -10.0)
        if len(self.window) >= RATE or gap < 1.0:
            self.refused += 1
            wait = max(self.window[0] + 1.0 - moment if len(self.window) >= RATE else 0, 1 - gap)
            return web.Response(status=429, headers={"Retry-After": f"{max(wait, 0.01):.3f}"})
        self.window.append(moment)
        self.last_in_chat[chat] = moment
        if TEXT in body["text"]:
            self.ids[body["id"]] += 1
            self.chats.add(chat)
            self.per_chat[chat] += 1
            self.first = self.first if self.first is not None else moment
            self.last = moment
            if len(self.chats) >= self.expected:
                self.done.set()
        return web.json_response({"ok": True})


async def serve(receiver: LimitedReceiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/inbox", receiver.inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/inbox"


async def baseline(count: int) -> float:
    """A bare client POSTing at exactly the limit: the best the receiver allows."""
    receiver = LimitedReceiver()
    receiver.expected = count
    runner, url = await serve(receiver)
    started = time.monotonic()
    async with aiohttp.ClientSession() as client:

        async def post(i: int) -> None:
            body = json.dumps(
                {"id": str(i), "chat": {"id": f"dm-{i}", "type": "direct"}, "text": TEXT}
            ).encode()
            async with client.post(url, data=body, headers=signed_headers(SECRET, body)):
                pass

        tasks = []
        for i in range(count):
            delay = started + i / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(i)))
        await asyncio.gather(*tasks)
    await runner.cleanup()
    assert receiver.first is not None
    return (count - 1) / (receiver.last - receiver.first) / RATE


async def seed(url: str, count: int) -> None:
    db = Database(url)
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
                for i in range(1, count + 1)
            ],
        )
        await session.execute(
            insert(Identity),
            [
                {
                    "platform": "webhook:bench",
                    "user_id": f"u{i}",
                    "member_id": i,
                    "display_name": f"m{i}",
                    "direct_chat_id": f"dm-u{i}",
                }
                for i in range(1, count + 1)
            ],
        )
    await db.dispose()


async def broadcast(count: int) -> dict[str, Any]:
    receiver = LimitedReceiver()
    receiver.expected = count
    runner, callback = await serve(receiver)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        await seed(url, count)
        config = configure(
            None,
            database_url=url,
            playground=False,
            http={"host": "127.0.0.1", "port": 0},
            webhook={
                "channels": [
                    {
                        "name": "bench",
                        "secret": SECRET,
                        "callback_url": callback,
                        "messages_per_minute": RATE * 60,
                        "chat_interval": 1.0,
                    }
                ]
            },
        )
        bot = BranchBot(config, serve_http=False)
        await bot.start()
        async with bot.db.session() as session:
            session.add(
                Broadcast(
                    report_to={},
                    text=[["t", TEXT]],
                    category="meeting",
                    branch_ids={"all": True},
                    rooms=False,
                    members=True,
                    ack=True,
                    created_at=SYSTEM_CLOCK.now(),
                )
            )
        started = time.monotonic()
        await asyncio.wait_for(receiver.done.wait(), timeout=count / RATE * 2 + 60)
        elapsed = time.monotonic() - started
        await asyncio.sleep(2)
        await bot.stop()
    await runner.cleanup()
    assert receiver.first is not None
    rate = (count - 1) / (receiver.last - receiver.first)
    return {
        "recipients": count,
        "seconds": round(elapsed, 1),
        "rate_per_second": round(rate, 2),
        "rate_fraction_of_limit": round(rate / RATE, 4),
        "http_429": receiver.refused,
        "lost": count - len(receiver.chats),
        "duplicates": sum(n - 1 for n in receiver.ids.values()),
        "duplicates_per_chat": sum(n - 1 for n in receiver.per_chat.values()),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    args = parser.parse_args()
    fraction = await baseline(args.baseline)
    result = await broadcast(args.recipients)
    result["baseline"] = {
        "what": "bare client pacing POSTs at the limit",
        "messages": args.baseline,
        "rate_fraction_of_limit": round(fraction, 4),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
