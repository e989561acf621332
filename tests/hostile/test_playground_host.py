"""The playground page carries an admin's signing secret, so it answers only requests that name
a loopback host exactly. Raw sockets, since an HTTP client would tidy these requests up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.webhook import Lab


@pytest.fixture
def lab_options() -> dict[str, Any]:
    return {"playground": True}


async def status(lab: Lab, head: str) -> int:
    """The status of one raw request ``head`` (its lines, without the blank line)."""
    reader, writer = await asyncio.open_connection(lab.bot.http.host, lab.bot.http.port)
    try:
        writer.write(head.replace("{port}", str(lab.bot.http.port)).encode() + b"\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(5):
            line = await reader.readline()
    finally:
        writer.close()
    return int(line.split()[1])


LOCAL = [
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}",
    "GET / HTTP/1.1\r\nHost: localhost",
    "GET / HTTP/1.1\r\nHost: LOCALHOST:{port}",
    "GET / HTTP/1.1\r\nHost: [::1]:{port}",
    "GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}",
]
FOREIGN = [
    "GET / HTTP/1.1\r\nHost: evil.example",
    "GET / HTTP/1.1\r\nHost: evil@127.0.0.1",
    "GET / HTTP/1.1\r\nHost: evil@127.0.0.1:{port}",
    "GET / HTTP/1.1\r\nHost: 127.0.0.1@evil.example",
    "GET / HTTP/1.1\r\nHost: 127.0.0.1.evil.example",
    "GET / HTTP/1.1\r\nHost: localhost.",
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}:evil",
    "GET / HTTP/1.1\r\nHost: [::1]evil",
    "GET / HTTP/1.1\r\nHost: ",
    "GET http://evil.example/ HTTP/1.1\r\nHost: 127.0.0.1:{port}",
    "GET http://evil@127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}",
    "GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: evil.example",
    "GET / HTTP/1.0",
    "GET /playground/events HTTP/1.0",
    "GET /playground/events HTTP/1.1\r\nHost: evil@localhost",
    "POST /hooks/playground HTTP/1.0\r\nContent-Length: 0",
    "POST /hooks/playground HTTP/1.1\r\nHost: evil@127.0.0.1\r\nContent-Length: 0",
]


async def test_only_an_exact_loopback_host_is_served(lab: Lab) -> None:
    for head in LOCAL:
        assert await status(lab, head) == 200, head
    for head in FOREIGN:
        assert await status(lab, head) in (400, 403), head
    two = "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example"
    assert await status(lab, two) in (400, 403)
