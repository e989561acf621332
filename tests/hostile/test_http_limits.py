"""Slow and silent clients on real sockets: the HTTP server closes idle connections, headers
that trickle in and bodies sent a byte at a time, each within its timeout (small ones here),
and keeps answering everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import pytest

from tests.support.webhook import Lab

IDLE = 0.6
BODY = 0.6
BOUND = 3.0
"""Each connection must be closed well within this; without the limits it stays open."""


@pytest.fixture
def lab_options() -> dict[str, Any]:
    return {"http": {"host": "127.0.0.1", "port": 0, "idle_timeout": IDLE, "body_timeout": BODY}}


async def connect(lab: Lab) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(lab.bot.http.host, lab.bot.http.port)


async def trickle(writer: asyncio.StreamWriter, data: bytes, pause: float = 0.1) -> None:
    """Send ``data`` one byte at a time until it is sent or the server hangs up."""
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(pause)


async def until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sent before it closed the connection, and how long that took."""
    start = time.monotonic()
    received = b""
    async with asyncio.timeout(BOUND):
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(4096):
                received += chunk
    return received, time.monotonic() - start


async def test_a_connection_that_sends_nothing_is_closed(lab: Lab) -> None:
    reader, writer = await connect(lab)
    received, took = await until_closed(reader)
    assert received == b"" and took >= IDLE * 0.8
    writer.close()
    assert "/help" in await lab.say("kai", "/help")


async def test_headers_sent_a_byte_at_a_time_are_cut_off(lab: Lab) -> None:
    reader, writer = await connect(lab)
    headers = b"POST /hooks/lab HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"y" * 200
    sending = asyncio.create_task(trickle(writer, headers))
    received, _ = await until_closed(reader)
    assert received == b"" and not sending.done()
    sending.cancel()
    writer.close()
    assert "/help" in await lab.say("kai", "/help")


async def test_a_body_sent_a_byte_at_a_time_gets_408_and_is_closed(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    """And without a traceback in the log: slow clients must not be able to flood it."""
    caplog.set_level(logging.DEBUG)
    reader, writer = await connect(lab)
    body = b'{"id": "slow", "text": "' + b"x" * 500 + b'"}'
    writer.write(
        b"POST /hooks/lab HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    sending = asyncio.create_task(trickle(writer, body))
    received, took = await until_closed(reader)
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b"body not received within 0.6 s" in received and took >= BODY * 0.8
    sending.cancel()
    writer.close()
    assert "/help" in await lab.say("kai", "/help")
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not tracebacks, [(r.name, r.getMessage(), r.exc_info) for r in tracebacks]


async def test_a_kept_alive_connection_is_closed_once_idle(lab: Lab) -> None:
    reader, writer = await connect(lab)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    received, _ = await until_closed(reader)
    assert received.startswith(b"HTTP/1.1 200") and b'"ok"' in received
    writer.close()
