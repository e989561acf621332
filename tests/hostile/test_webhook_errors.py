"""A failed callback's error text lands in the outbox row and the log: never a password."""

from __future__ import annotations

import pytest

from adapters.webhook import WebhookChannel
from bot.events import Incoming
from bot.markup import Markup
from bot.messages import Accepted, Address, Outgoing, TransientError


async def ignore(event: Incoming) -> Accepted:
    return Accepted()


@pytest.mark.parametrize(
    "url",
    ["http://user:hunter2@127.0.0.1:9/in", "http://user:hunter2@[::1/in"],
)
async def test_a_failed_callback_never_repeats_the_urls_password(url: str) -> None:
    channel = WebhookChannel("lab", "a-secret-of-sixteen", callback_url=url)
    await channel.start(ignore)
    try:
        with pytest.raises(TransientError) as failed:
            await channel.send(
                Address("webhook:lab", "room", False, None), Outgoing(Markup.literal("hi")), "1"
            )
    finally:
        await channel.stop()
    assert "hunter2" not in str(failed.value)
    assert "callback failed" in str(failed.value)
