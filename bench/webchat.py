"""Benchmark the web direct chat: N open pages (server-sent event streams) receiving one
broadcast.

N members each have a web identity, a session and one open ``/chat/events`` stream; one
broadcast to every member is then written, and the clock runs until every stream got it.
Prints one JSON object: messages/s from the broadcast's row to the last page, and the
process's resident memory per open page (measured before and after the streams opened; the
clients run in the same process, so this is an upper bound for the server's part). The
baseline, measured in the same run, is a bare aiohttp server writing one event to N open
streams (no store, no outbox, no history).

    .venv/bin/python bench/webchat.py [--pages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert

# the tree this script is in, not whichever copy of branchbot is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import FEATURES, BranchBot, configure
from bot.feature import migrations
from store.broadcast_tables import Broadcast
from store.clock import SYSTEM_CLOCK
from store.db import Database
from store.models import Branch, Identity, Member
from store.webchat import WebSession

TEXT = "Meeting tonight"


def rss() -> int:
    """This process's resident memory in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def until(done: Callable[[], bool], seconds: float = 60) -> None:
    """Poll ``done`` until it holds (the servers have no event to wait on for it)."""
    for _ in range(int(seconds * 100)):
        if done():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the streams did not all open")


async def seed(url: str, count: int) -> None:
    db = Database(url, migrations=migrations(FEATURES))
    await db.upgrade()
    now = SYSTEM_CLOCK.now()
    async with db.session() as session:
        branch = Branch(name="Main", key="main", created_at=now)
        session.add(branch)
        await session.flush()
        ids = range(1, count + 1)
        await session.execute(
            insert(Member),
            [
                {"id": i, "display_name": f"m{i}", "branch_id": branch.id, "created_at": now}
                for i in ids
            ],
        )
        await session.execute(
            insert(Identity),
            [
                {
                    "platform": "web",
                    "user_id": f"w{i}",
                    "member_id": i,
                    "display_name": f"m{i}",
                    "direct_chat_id": f"w{i}",
                }
                for i in ids
            ],
        )
        await session.execute(
            insert(WebSession),
            [
                {
                    "token_hash": hashlib.sha256(f"token-{i}".encode()).hexdigest(),
                    "user_id": f"w{i}",
                    "name": f"m{i}",
                    "agent": "bench",
                    "created_at": now,
                    "seen_at": now,
                }
                for i in ids
            ],
        )
    await db.dispose()


async def listen(
    client: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    opened: asyncio.Queue[None],
    received: asyncio.Queue[float],
) -> None:
    async with client.get(url, headers=headers) as response:
        assert response.status == 200, response.status
        opened.put_nowait(None)
        async for line in response.content:
            if line.startswith(b"data: ") and TEXT.encode() in line:
                received.put_nowait(time.monotonic())
                return


async def pages(
    url: str, count: int, cookie: Any, started: asyncio.Event
) -> tuple[list[asyncio.Task[None]], asyncio.Queue[float], aiohttp.ClientSession]:
    client = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
    )
    opened: asyncio.Queue[None] = asyncio.Queue()
    received: asyncio.Queue[float] = asyncio.Queue()
    tasks = []
    for i in range(1, count + 1):
        tasks.append(asyncio.create_task(listen(client, url, cookie(i), opened, received)))
        if i % 200 == 0:
            await asyncio.sleep(0.05)
    for _ in range(count):
        await asyncio.wait_for(opened.get(), 60)
    started.set()
    return tasks, received, client


async def baseline(count: int) -> dict[str, Any]:
    """A bare SSE server: N streams, one event written to each."""
    queues: list[asyncio.Queue[bytes]] = []

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"event: hello\ndata: {}\n\n")
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        queues.append(queue)
        await response.write(await queue.get())
        return response

    app = web.Application()
    app.router.add_get("/events", events)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    started = asyncio.Event()
    tasks, received, client = await pages(
        f"http://127.0.0.1:{port}/events", count, lambda _i: {}, started
    )
    await until(lambda: len(queues) >= count)
    begin = time.monotonic()
    body = json.dumps({"kind": "bot", "text": TEXT}).encode()
    for queue in queues:
        queue.put_nowait(b"data: " + body + b"\n\n")
    last = begin
    for _ in range(count):
        last = await asyncio.wait_for(received.get(), 60)
    await asyncio.gather(*tasks)
    await client.close()
    await runner.cleanup()
    return {
        "what": "bare aiohttp server writing one event to each open stream",
        "messages_per_second": round(count / max(last - begin, 1e-6), 1),
    }


async def webchat(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        await seed(url, count)
        config = configure(
            None,
            database_url=url,
            playground=False,
            http={"host": "127.0.0.1", "port": 0},
            web_chat={"enabled": True},
        )
        bot = BranchBot(config)
        await bot.start()
        assert bot.web_chat is not None
        before = rss()
        started = asyncio.Event()
        tasks, received, client = await pages(
            bot.http.url + "/chat/events",
            count,
            lambda i: {"Cookie": f"branchbot_chat=token-{i}"},
            started,
        )
        chat = bot.web_chat
        await until(lambda: chat.open_pages >= count)
        after = rss()
        begin = time.monotonic()
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
        first = last = 0.0
        for n in range(count):
            last = await asyncio.wait_for(received.get(), count / 50 + 60)
            if n == 0:
                first = last
        await asyncio.gather(*tasks)
        await client.close()
        await bot.stop()
    return {
        "pages": count,
        "seconds_to_last_page": round(last - begin, 2),
        "messages_per_second": round(count / max(last - first, 1e-6), 1),
        "messages_per_second_from_the_row": round(count / max(last - begin, 1e-6), 1),
        "rss_per_open_page_kib": round((after - before) / count / 1024, 1),
        "rss_mib": round(after / 1024 / 1024, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    result = await webchat(args.pages)
    result["baseline"] = await baseline(args.pages)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
