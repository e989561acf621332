"""Hostile or unusual HTTP from a webhook platform: refused cleanly, never a 500."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from store.repos import Repositories
from tests.support.webhook import SECRET, Lab


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        ("²", "sha256=00", "bad timestamp"),
        ("9" * 50, "sha256=00", "bad timestamp"),
        ("-5", "sha256=00", "bad timestamp"),
        ("now", "sha256=é€", "bad signature"),
        ("an hour ago", "sha256=00", "timestamp too far off"),
    ],
)
async def test_hostile_signature_headers_get_401(
    lab: Lab, timestamp: str, signature: str, reason: str
) -> None:
    moments = {"now": time.time(), "an hour ago": time.time() - 3600}
    if timestamp in moments:  # taken when the test runs, not when it is collected
        timestamp = str(int(moments[timestamp]))
    body = json.dumps(lab.event("mei", "/me")).encode()
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
    status, answer = await lab.post(body, headers=headers)
    assert (status, answer["error"]) == (401, reason)


async def test_a_body_in_many_chunks_is_read_whole(lab: Lab) -> None:
    body = json.dumps(lab.event("mei", "/me " + "x" * 20_000)).encode()
    headers = signed_headers(SECRET, body) | {"Content-Type": "application/json"}

    async def slowly() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]
            await asyncio.sleep(0)

    async with lab.client.post(lab.hook, data=slowly(), headers=headers) as response:
        assert response.status == 200, await response.text()
    async with asyncio.timeout(5):
        await lab.bot.idle()
    assert len(lab.receiver.messages) == 1


async def test_a_message_the_receiver_refuses_for_good_does_not_block_the_chat(lab: Lab) -> None:
    lab.receiver.plan = [422]
    await lab.send("mei", "/me")
    answers = await lab.ask("mei", "/help")
    assert len(answers) == 1 and "/help" in answers[0]["text"]
    assert lab.receiver.attempts == 2
    async with lab.bot.db.session() as session:
        counts = await Repositories(session).outbox.counts()
    assert counts.get("unreachable") == 1 and counts.get("sent") == 1


async def test_an_event_sent_while_stopping_is_refused_with_503(lab: Lab) -> None:
    await lab.bot.engine.stop()
    status, answer = await lab.post(lab.event("mei", "/me"))
    assert (status, answer["error"]) == (503, "stopping; send it again")
